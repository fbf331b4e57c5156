/*
 * matrix.c - every link (a probe name) as seen from every agent, with a
 * verdict over all vantage points.
 *
 * The point of the matrix is to tell a failure seen from one host apart
 * from a real outage, so an agent that cannot be asked is never counted
 * as seeing the link down: it is counted apart ("down from 1 of 2
 * reachable (1 unreachable)").  Agents still connecting are left out of
 * both counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

const char *
matrix_cell_str(enum matrix_cell c)
{
	switch (c) {
	case MATRIX_UP:
		return "up";
	case MATRIX_DEGRADED:
		return "degraded";
	case MATRIX_DOWN:
		return "down";
	case MATRIX_UNKNOWN:
		return "unknown";
	case MATRIX_UNREACHABLE:
		return "unreachable";
	case MATRIX_PENDING:
		return "pending";
	case MATRIX_ABSENT:
		return "absent";
	}
	return "?";
}

const char *
matrix_verdict_str(enum matrix_verdict v)
{
	switch (v) {
	case MATRIX_V_OK:
		return "ok";
	case MATRIX_V_DEGRADED:
		return "degraded";
	case MATRIX_V_DOWN:
		return "down";
	case MATRIX_V_UNKNOWN:
		return "unknown";
	}
	return "?";
}

static int
matrix_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
matrix_cmp_probe(const void *a, const void *b)
{
	const struct model_probe *const *pa = a, *const *pb = b;

	return strcmp((*pa)->name, (*pb)->name);
}

static const struct model_probe *
matrix_lookup(const struct model_probe **idx, int n, const char *name)
{
	struct model_probe		 key;
	const struct model_probe	*kp = &key, **hit;

	if (idx == NULL || n == 0)
		return NULL;
	key.name = (char *)name;
	hit = bsearch(&kp, idx, (size_t)n, sizeof(*idx), matrix_cmp_probe);
	return hit != NULL ? *hit : NULL;
}

static void
matrix_verdict(struct matrix_link *l)
{
	const char	*word;
	int		 count;
	size_t		 n;

	if (l->down > 0) {
		l->verdict = MATRIX_V_DOWN;
		count = l->down;
	} else if (l->degraded > 0) {
		l->verdict = MATRIX_V_DEGRADED;
		count = l->degraded;
	} else if (l->up > 0) {
		l->verdict = MATRIX_V_OK;
		count = l->up;
	} else {
		l->verdict = MATRIX_V_UNKNOWN;
		count = l->unknown;
	}
	word = matrix_verdict_str(l->verdict);
	if (l->of == 0)
		snprintf(l->text, sizeof(l->text), "no data");
	else if (l->unreachable == 0)
		snprintf(l->text, sizeof(l->text), "%s from %d of %d", word,
		    count, l->of);
	else
		snprintf(l->text, sizeof(l->text), "%s from %d of %d reachable",
		    word, count, l->of);
	if (l->unreachable > 0) {
		n = strlen(l->text);
		snprintf(l->text + n, sizeof(l->text) - n, " (%d unreachable)",
		    l->unreachable);
	}
	/* the same in at most 20 columns, for narrow terminals */
	if (l->of == 0)
		snprintf(l->brief, sizeof(l->brief), "no data%s",
		    l->unreachable > 0 ? " (unr)" : "");
	else
		snprintf(l->brief, sizeof(l->brief), "%s %d/%d",
		    l->verdict == MATRIX_V_DOWN ? "DOWN" :
		    l->verdict == MATRIX_V_DEGRADED ? "deg" :
		    l->verdict == MATRIX_V_OK ? "ok" : "unk", count, l->of);
	if (l->of > 0 && l->unreachable > 0) {
		n = strlen(l->brief);
		snprintf(l->brief + n, sizeof(l->brief) - n, " +%d unr",
		    l->unreachable);
		if (strlen(l->brief) > 20) {
			/* thousands of agents: the mark alone */
			l->brief[n] = '\0';
			snprintf(l->brief + n, sizeof(l->brief) - n, "+");
		}
	}
}

struct matrix *
matrix_build(struct fleet *fl, int64_t now)
{
	struct matrix			 *m;
	const struct model_probe	***idx;
	const struct model_probe	 *p;
	struct fleet_agent		 *a;
	struct matrix_link		 *l;
	char				**names;
	int				 n = 0, i, k, j, usable;

	m = xcalloc(1, sizeof(*m));
	m->n_agents = fl->n_agents;
	idx = xcalloc((size_t)fl->n_agents + 1, sizeof(*idx));
	for (i = 0; i < fl->n_agents; i++) {
		if (fl->agents[i].status != NULL)
			n += fl->agents[i].status->n_probes;
	}
	names = xcalloc((size_t)n + 1, sizeof(*names));
	n = 0;
	for (i = 0; i < fl->n_agents; i++) {
		const struct model_status *st = fl->agents[i].status;

		if (st == NULL)
			continue;
		idx[i] = xcalloc((size_t)st->n_probes + 1, sizeof(**idx));
		for (k = 0; k < st->n_probes; k++) {
			idx[i][k] = &st->probes[k];
			names[n++] = st->probes[k].name;
		}
		qsort(idx[i], (size_t)st->n_probes, sizeof(**idx),
		    matrix_cmp_probe);
	}
	qsort(names, (size_t)n, sizeof(*names), matrix_cmp_str);
	m->links = xcalloc((size_t)n + 1, sizeof(*m->links));
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		l = &m->links[m->n_links++];
		l->probe = xstrdup(names[i]);
		l->cells = xcalloc((size_t)fl->n_agents + 1,
		    sizeof(*l->cells));
		for (j = 0; j < fl->n_agents; j++) {
			a = &fl->agents[j];
			usable = fleet_agent_usable(a, now);
			p = a->status != NULL ? matrix_lookup(idx[j],
			    a->status->n_probes, l->probe) : NULL;
			if (!usable) {
				if (fleet_agent_state(a, now) ==
				    FLEET_CONNECTING)
					l->cells[j] = MATRIX_PENDING;
				else if (p != NULL || a->status == NULL) {
					/* had it, or might have it */
					l->cells[j] = MATRIX_UNREACHABLE;
					l->unreachable++;
				} else
					l->cells[j] = MATRIX_ABSENT;
				continue;
			}
			if (p == NULL) {
				l->cells[j] = MATRIX_ABSENT;
				continue;
			}
			l->of++;
			switch (p->state) {
			case MODEL_UP:
				l->cells[j] = MATRIX_UP;
				l->up++;
				break;
			case MODEL_DEGRADED:
				l->cells[j] = MATRIX_DEGRADED;
				l->degraded++;
				break;
			case MODEL_DOWN:
				l->cells[j] = MATRIX_DOWN;
				l->down++;
				break;
			case MODEL_UNKNOWN:
				l->cells[j] = MATRIX_UNKNOWN;
				l->unknown++;
				break;
			}
		}
		matrix_verdict(l);
	}
	for (i = 0; i < fl->n_agents; i++)
		free(idx[i]);
	free(idx);
	free(names);
	return m;
}

void
matrix_free(struct matrix *m)
{
	int	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_links; i++) {
		free(m->links[i].probe);
		free(m->links[i].cells);
	}
	free(m->links);
	free(m);
}
