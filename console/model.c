/*
 * model.c - agent responses (api-contract.md) into plain structs.
 *
 * An agent is untrusted input: every field goes through the checked
 * getters of shared/json.c (type, range, length).  A response whose
 * envelope breaks the contract (the top-level object, an array itself) is
 * refused as a whole, with the path of the first bad field.  A row of a
 * list whose own fields break it is not: m_list() keeps the others and
 * records the row as odd, with what could be read of it and why
 * ("last: 'latency_us' must be a number"), because one odd row must never
 * hide the rows around it; an agent's audit rows are never deleted, so a
 * refused page would hide every later one too.  Fields the contract does
 * not know are ignored, which lets a newer agent add some.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

#define M_NAME_MAX	256
#define M_TEXT_MAX	4096
#define M_MAX_ITEMS	100000
#define M_MAX_MS	((int64_t)1 << 53)	/* exact in a double */
#define M_MAX_US	((int64_t)1 << 53)

struct mctx {
	char		*err;
	size_t		 errlen;
	char		 path[96];	/* "probes[3].last" */
};

#define M_NULL_OK	2	/* with JSON_OPTIONAL: NULL out when absent */

static void
m_fail(struct mctx *m, const char *msg)
{
	if (m->path[0] != '\0')
		snprintf(m->err, m->errlen, "%s: %s", m->path, msg);
	else
		snprintf(m->err, m->errlen, "%s", msg);
}

/* A string field, copied; absent optional strings become "" (or NULL). */
static int
m_str(struct mctx *m, const cJSON *o, const char *key, int how, size_t max,
    char **out)
{
	const char	*s = NULL;
	char		 e[160];
	int		 rc;

	rc = json_get_str(o, key, how == JSON_REQUIRED, max, &s, e,
	    sizeof(e));
	if (rc == -1) {
		m_fail(m, e);
		return -1;
	}
	if (rc == 0)
		*out = how == M_NULL_OK ? NULL : xstrdup("");
	else
		*out = xstrdup(s);
	return 0;
}

/* A number field; absent or null optional numbers become dflt. */
static int
m_int(struct mctx *m, const cJSON *o, const char *key, int required,
    int64_t min, int64_t max, int64_t dflt, int64_t *out)
{
	char	e[160];
	int	rc;

	*out = dflt;
	rc = json_get_int(o, key, required, min, max, out, e, sizeof(e));
	if (rc == -1) {
		m_fail(m, e);
		return -1;
	}
	return 0;
}

static int
m_bool(struct mctx *m, const cJSON *o, const char *key, int *out)
{
	char	e[160];

	*out = 0;
	if (json_get_bool(o, key, JSON_OPTIONAL, out, e, sizeof(e)) == -1) {
		m_fail(m, e);
		return -1;
	}
	return 0;
}

static int
m_enum(struct mctx *m, const cJSON *o, const char *key,
    const char *const *names, int *out)
{
	const char	*s = NULL;
	char		 e[200];
	int		 i;

	if (json_get_str(o, key, JSON_REQUIRED, 32, &s, e, sizeof(e)) ==
	    -1) {
		m_fail(m, e);
		return -1;
	}
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = i;
			return 0;
		}
	}
	snprintf(e, sizeof(e), "'%s' has an unknown value '%.32s'", key, s);
	m_fail(m, e);
	return -1;
}

/*
 * An array field: returns its size (0 when absent and optional), or -1.
 */
static int
m_array(struct mctx *m, const cJSON *o, const char *key, int required,
    const cJSON **out)
{
	char	e[160];
	int	rc, n;

	*out = NULL;
	rc = json_get_array(o, key, required, out, e, sizeof(e));
	if (rc == -1) {
		m_fail(m, e);
		return -1;
	}
	if (rc == 0)
		return 0;
	n = cJSON_GetArraySize(*out);
	if (n > M_MAX_ITEMS) {
		snprintf(e, sizeof(e), "'%s' has more than %d items", key,
		    M_MAX_ITEMS);
		m_fail(m, e);
		return -1;
	}
	return n;
}

/* An element of a list read all or nothing (series points). */
static int
m_object_item(struct mctx *m, const cJSON *it, const char *key, int i)
{
	snprintf(m->path, sizeof(m->path), "%s[%d]", key, i);
	if (!cJSON_IsObject(it)) {
		m_fail(m, "must be an object");
		return -1;
	}
	return 0;
}

#define M_NO_NAME	((size_t)-1)

/* One item of a list: 0, or -1 with m's error set (item freed by caller). */
typedef int	(*m_item_fn)(struct mctx *, const cJSON *, void *item,
		    int index, void *arg);

/* A list of the contract: how to read, free and tell apart its items. */
struct m_list {
	const char	*key;		/* "probes" */
	size_t		 size;		/* of one item */
	m_item_fn	 parse;
	void		(*free)(void *);
	size_t		 name_off;	/* of a char * that must be unique,
					   or M_NO_NAME */
	void		*arg;
};

struct m_named {
	const char	*name;
	int		 item;
};

void
model_odds_free(struct model_odds *o)
{
	int	i;

	for (i = 0; i < o->n; i++) {
		free(o->v[i].name);
		free(o->v[i].reason);
	}
	free(o->v);
	memset(o, 0, sizeof(*o));
}

const char *
model_odd_text(const char *reason, char *buf, size_t len)
{
	snprintf(buf, len, "! malformed row: %s", reason);
	return buf;
}

/* What can still be read of an odd row: name, id and time, if sound. */
static void
m_odd_add(struct model_odds *odd, const cJSON *o, int index,
    const char *reason)
{
	struct model_odd	*d;
	const char		*name = NULL;
	char			 e[160];

	odd->v = xreallocarray(odd->v, (size_t)odd->n + 1, sizeof(*odd->v));
	d = &odd->v[odd->n++];
	d->index = index;
	d->id = d->t_ms = VANTAGE_NONE;
	d->name = NULL;
	d->reason = xstrdup(reason);
	if (!cJSON_IsObject(o))
		return;
	if (json_get_str(o, "name", JSON_OPTIONAL, M_NAME_MAX, &name, e,
	    sizeof(e)) == 1 && name[0] != '\0')
		d->name = xstrdup(name);
	if (json_get_int(o, "id", JSON_OPTIONAL, 0, M_MAX_MS, &d->id, e,
	    sizeof(e)) != 1)
		d->id = VANTAGE_NONE;
	if (json_get_int(o, "t_ms", JSON_OPTIONAL, 0, M_MAX_MS, &d->t_ms, e,
	    sizeof(e)) != 1)
		d->t_ms = VANTAGE_NONE;
}

static int
m_cmp_named(const void *a, const void *b)
{
	const struct m_named	*x = a, *y = b;
	int			 d;

	if ((d = strcmp(x->name, y->name)) != 0)
		return d;
	return x->item - y->item;
}

static int
m_cmp_odd(const void *a, const void *b)
{
	return ((const struct model_odd *)a)->index -
	    ((const struct model_odd *)b)->index;
}

/*
 * The array o[key]: each element parsed on its own.  Those that keep the
 * contract go into *itemsp in order (*wherep, if asked, holds each one's
 * index in the array); the others, and every repeat of a name already
 * seen when names must be unique (the matrix and the actions count by
 * name), go into odd.  Only the array itself can fail: -1, err set.
 */
static int
m_list(struct mctx *m, const cJSON *o, int required, const struct m_list *l,
    void **itemsp, int *np, int **wherep, struct model_odds *odd)
{
	const cJSON	*arr, *it;
	struct m_named	*names;
	struct mctx	 im;
	char		*items, e[M_NAME_MAX + 256], dup[M_NAME_MAX + 64];
	int		*where, *bad, n, i, k, good = 0;

	*itemsp = NULL;
	*np = 0;
	if (wherep != NULL)
		*wherep = NULL;
	m->path[0] = '\0';
	if ((n = m_array(m, o, l->key, required, &arr)) == -1)
		return -1;
	items = xcalloc((size_t)n + 1, l->size);
	where = xcalloc((size_t)n + 1, sizeof(*where));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		char *item = items + (size_t)good * l->size;

		memset(&im, 0, sizeof(im));
		im.err = e;
		im.errlen = sizeof(e);
		e[0] = '\0';
		if (!cJSON_IsObject(it))
			m_odd_add(odd, it, i, "must be an object");
		else if (l->parse(&im, it, item, i, l->arg) == -1) {
			l->free(item);
			memset(item, 0, l->size);
			m_odd_add(odd, it, i, e);
		} else
			where[good++] = i;
		i++;
	}
	if (l->name_off != M_NO_NAME && good > 1) {
		names = xcalloc((size_t)good, sizeof(*names));
		bad = xcalloc((size_t)good, sizeof(*bad));
		for (i = 0; i < good; i++) {
			names[i].name = *(char **)(items + (size_t)i *
			    l->size + l->name_off);
			names[i].item = i;
		}
		qsort(names, (size_t)good, sizeof(*names), m_cmp_named);
		/* the first of a name is the real one, the repeats odd */
		for (i = 1; i < good; i++) {
			if (strcmp(names[i - 1].name, names[i].name) != 0)
				continue;
			k = names[i].item;
			bad[k] = 1;
			snprintf(dup, sizeof(dup), "repeats the name '%.64s' "
			    "of %s[%d]", names[i].name, l->key,
			    where[names[i - 1].item]);
			m_odd_add(odd, cJSON_GetArrayItem(arr, where[k]),
			    where[k], dup);
		}
		for (i = k = 0; i < good; i++) {
			char *item = items + (size_t)i * l->size;

			if (bad[i]) {
				l->free(item);
				continue;
			}
			if (k != i) {
				memcpy(items + (size_t)k * l->size, item,
				    l->size);
				where[k] = where[i];
			}
			k++;
		}
		good = k;
		free(names);
		free(bad);
		if (odd->n > 1)
			qsort(odd->v, (size_t)odd->n, sizeof(*odd->v),
			    m_cmp_odd);
	}
	if (good == 0) {
		free(items);
		items = NULL;
	}
	*itemsp = items;
	*np = good;
	if (wherep != NULL)
		*wherep = where;
	else
		free(where);
	return 0;
}

static const char *const state_names[] = {
	[MODEL_UP] = "up", [MODEL_DEGRADED] = "degraded",
	[MODEL_DOWN] = "down", [MODEL_UNKNOWN] = "unknown", NULL
};
static const char *const rstatus_names[] = {
	[MODEL_R_OK] = "ok", [MODEL_R_DEGRADED] = "degraded",
	[MODEL_R_FAIL] = "fail", [MODEL_R_UNKNOWN] = "unknown", NULL
};
static const char *const rstate_names[] = {
	[MODEL_ACTIVE] = "active", [MODEL_DRAINING] = "draining",
	[MODEL_MAINT] = "maint", NULL
};
static const char *const effective_names[] = {
	[MODEL_EFF_READY] = "ready", [MODEL_EFF_DRAIN] = "drain",
	[MODEL_EFF_MAINT] = "maint", [MODEL_EFF_DOWN] = "down", NULL
};

const char *
model_state_str(enum model_state s)
{
	switch (s) {
	case MODEL_UP:
		return "up";
	case MODEL_DEGRADED:
		return "degraded";
	case MODEL_DOWN:
		return "down";
	case MODEL_UNKNOWN:
		return "unknown";
	}
	return "?";
}

const char *
model_rstatus_str(enum model_rstatus s)
{
	switch (s) {
	case MODEL_R_OK:
		return "ok";
	case MODEL_R_DEGRADED:
		return "degraded";
	case MODEL_R_FAIL:
		return "fail";
	case MODEL_R_UNKNOWN:
		return "unknown";
	}
	return "?";
}

const char *
model_rstate_str(enum model_rstate s)
{
	switch (s) {
	case MODEL_ACTIVE:
		return "active";
	case MODEL_DRAINING:
		return "draining";
	case MODEL_MAINT:
		return "maint";
	}
	return "?";
}

const char *
model_effective_str(enum model_effective s)
{
	switch (s) {
	case MODEL_EFF_READY:
		return "ready";
	case MODEL_EFF_DRAIN:
		return "drain";
	case MODEL_EFF_MAINT:
		return "maint";
	case MODEL_EFF_DOWN:
		return "down";
	}
	return "?";
}

/* ---- results ---- */

void
model_result_free(struct model_result *r)
{
	free(r->error);
	r->error = NULL;
}

void
model_result_copy(struct model_result *dst, const struct model_result *src)
{
	*dst = *src;
	dst->error = xstrdup(src->error != NULL ? src->error : "");
}

static int
m_result(struct mctx *m, const cJSON *o, struct model_result *r)
{
	int	st;

	memset(r, 0, sizeof(*r));
	if (m_int(m, o, "t_ms", JSON_REQUIRED, 0, M_MAX_MS, 0, &r->t_ms) ==
	    -1 ||
	    m_enum(m, o, "status", rstatus_names, &st) == -1 ||
	    m_int(m, o, "latency_us", JSON_OPTIONAL, 0, M_MAX_US,
	    VANTAGE_NONE, &r->latency_us) == -1 ||
	    m_int(m, o, "dns_us", JSON_OPTIONAL, 0, M_MAX_US, VANTAGE_NONE,
	    &r->dns_us) == -1 ||
	    m_int(m, o, "connect_us", JSON_OPTIONAL, 0, M_MAX_US,
	    VANTAGE_NONE, &r->connect_us) == -1 ||
	    m_int(m, o, "tls_us", JSON_OPTIONAL, 0, M_MAX_US, VANTAGE_NONE,
	    &r->tls_us) == -1 ||
	    m_int(m, o, "ttfb_us", JSON_OPTIONAL, 0, M_MAX_US, VANTAGE_NONE,
	    &r->ttfb_us) == -1 ||
	    m_int(m, o, "code", JSON_OPTIONAL, -1, 999999, VANTAGE_NONE,
	    &r->code) == -1 ||
	    m_int(m, o, "cert_days", JSON_OPTIONAL, -1000000, 1000000,
	    VANTAGE_NONE, &r->cert_days) == -1 ||
	    m_str(m, o, "error", JSON_OPTIONAL, M_TEXT_MAX, &r->error) == -1)
		return -1;
	r->status = (enum model_rstatus)st;
	return 0;
}

/* ---- probes and status ---- */

static void
m_probe_free(struct model_probe *p)
{
	free(p->name);
	free(p->type);
	free(p->target);
	if (p->has_last)
		model_result_free(&p->last);
}

static int
m_stats(struct mctx *m, const cJSON *o, struct model_stats *s)
{
	if (m_int(m, o, "runs", JSON_OPTIONAL, 0, M_MAX_MS, 0, &s->runs) ==
	    -1 ||
	    m_int(m, o, "ok", JSON_OPTIONAL, 0, M_MAX_MS, 0, &s->ok) == -1 ||
	    m_int(m, o, "degraded", JSON_OPTIONAL, 0, M_MAX_MS, 0,
	    &s->degraded) == -1 ||
	    m_int(m, o, "fail", JSON_OPTIONAL, 0, M_MAX_MS, 0, &s->fail) ==
	    -1 ||
	    m_int(m, o, "avg_us", JSON_OPTIONAL, 0, M_MAX_US, VANTAGE_NONE,
	    &s->avg_us) == -1 ||
	    m_int(m, o, "p95_us", JSON_OPTIONAL, 0, M_MAX_US, VANTAGE_NONE,
	    &s->p95_us) == -1)
		return -1;
	return 0;
}

static int
m_probe(struct mctx *m, const cJSON *o, struct model_probe *p)
{
	const cJSON	*last = NULL, *stats = NULL;
	char		 e[160], base[96];
	int		 st;

	if (m_str(m, o, "name", JSON_REQUIRED, M_NAME_MAX, &p->name) == -1 ||
	    m_str(m, o, "type", JSON_REQUIRED, 32, &p->type) == -1 ||
	    m_str(m, o, "target", JSON_OPTIONAL, M_TEXT_MAX, &p->target) ==
	    -1 ||
	    m_enum(m, o, "state", state_names, &st) == -1 ||
	    m_int(m, o, "state_since_ms", JSON_OPTIONAL, 0, M_MAX_MS, 0,
	    &p->state_since_ms) == -1 ||
	    m_int(m, o, "interval_ms", JSON_OPTIONAL, 0, M_MAX_MS, 0,
	    &p->interval_ms) == -1)
		return -1;
	p->state = (enum model_state)st;
	if (p->name[0] == '\0') {
		m_fail(m, "'name' is empty");
		return -1;
	}
	if (json_get_object(o, "last", JSON_OPTIONAL, &last, e, sizeof(e)) ==
	    -1 ||
	    json_get_object(o, "stats_1h", JSON_OPTIONAL, &stats, e,
	    sizeof(e)) == -1) {
		m_fail(m, e);
		return -1;
	}
	strlcpy_v(base, m->path, sizeof(base));
	if (last != NULL) {
		snprintf(m->path, sizeof(m->path), "%.80s%slast", base,
		    base[0] != '\0' ? "." : "");
		if (m_result(m, last, &p->last) == -1) {
			model_result_free(&p->last);
			return -1;
		}
		p->has_last = 1;
	}
	p->stats.avg_us = p->stats.p95_us = VANTAGE_NONE;
	if (stats != NULL) {
		snprintf(m->path, sizeof(m->path), "%.80s%sstats_1h", base,
		    base[0] != '\0' ? "." : "");
		if (m_stats(m, stats, &p->stats) == -1)
			return -1;
	}
	return 0;
}

static int
m_probe_item(struct mctx *m, const cJSON *o, void *item, int index,
    void *arg)
{
	(void)index;
	(void)arg;
	return m_probe(m, o, item);
}

static void
m_probe_free_item(void *item)
{
	m_probe_free(item);
}

static const struct m_list m_probes_list = {
	.key = "probes",
	.size = sizeof(struct model_probe),
	.parse = m_probe_item,
	.free = m_probe_free_item,
	.name_off = offsetof(struct model_probe, name),
};

void
model_route_free(struct model_route *r)
{
	free(r->name);
	free(r->reason);
	free(r->actor);
	free(r->operator);
	free(r->pool);
	free(r->probe);
	memset(r, 0, sizeof(*r));
}

static char *
m_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
model_route_copy(struct model_route *dst, const struct model_route *src)
{
	*dst = *src;
	dst->name = m_dup(src->name);
	dst->reason = m_dup(src->reason);
	dst->actor = m_dup(src->actor);
	dst->operator = m_dup(src->operator);
	dst->pool = m_dup(src->pool);
	dst->probe = m_dup(src->probe);
}

static int
m_route(struct mctx *m, const cJSON *o, struct model_route *r)
{
	int	st, eff;

	memset(r, 0, sizeof(*r));
	if (m_str(m, o, "name", JSON_REQUIRED, M_NAME_MAX, &r->name) == -1 ||
	    m_enum(m, o, "state", rstate_names, &st) == -1 ||
	    m_enum(m, o, "effective", effective_names, &eff) == -1 ||
	    m_str(m, o, "reason", JSON_OPTIONAL, M_TEXT_MAX, &r->reason) ==
	    -1 ||
	    m_str(m, o, "actor", JSON_OPTIONAL, M_NAME_MAX, &r->actor) == -1 ||
	    m_str(m, o, "operator", JSON_OPTIONAL, M_NAME_MAX,
	    &r->operator) == -1 ||
	    m_int(m, o, "since_ms", JSON_OPTIONAL, 0, M_MAX_MS, 0,
	    &r->since_ms) == -1 ||
	    m_int(m, o, "expires_ms", JSON_OPTIONAL, 0, M_MAX_MS,
	    VANTAGE_NONE, &r->expires_ms) == -1 ||
	    m_str(m, o, "pool", M_NULL_OK, M_NAME_MAX, &r->pool) == -1 ||
	    m_str(m, o, "probe", M_NULL_OK, M_NAME_MAX, &r->probe) == -1 ||
	    m_bool(m, o, "forced", &r->forced) == -1) {
		model_route_free(r);
		return -1;
	}
	r->state = (enum model_rstate)st;
	r->effective = (enum model_effective)eff;
	if (r->name[0] == '\0') {
		m_fail(m, "'name' is empty");
		model_route_free(r);
		return -1;
	}
	return 0;
}

static int
m_pool(struct mctx *m, const cJSON *o, struct model_pool *p)
{
	if (m_str(m, o, "name", JSON_REQUIRED, M_NAME_MAX, &p->name) == -1)
		return -1;
	if (m_int(m, o, "min_active", JSON_OPTIONAL, 0, 1000000, 0,
	    &p->min_active) == -1 ||
	    m_int(m, o, "routes", JSON_OPTIONAL, 0, 1000000, 0, &p->routes) ==
	    -1 ||
	    m_int(m, o, "active", JSON_OPTIONAL, 0, 1000000, 0, &p->active) ==
	    -1) {
		free(p->name);
		p->name = NULL;
		return -1;
	}
	return 0;
}

static int
m_route_item(struct mctx *m, const cJSON *o, void *item, int index,
    void *arg)
{
	(void)index;
	(void)arg;
	return m_route(m, o, item);
}

static void
m_route_free_item(void *item)
{
	model_route_free(item);
}

static int
m_pool_item(struct mctx *m, const cJSON *o, void *item, int index,
    void *arg)
{
	(void)index;
	(void)arg;
	return m_pool(m, o, item);
}

static void
m_pool_free_item(void *item)
{
	struct model_pool	*p = item;

	free(p->name);
	p->name = NULL;
}

static const struct m_list m_routes_list = {
	.key = "routes",
	.size = sizeof(struct model_route),
	.parse = m_route_item,
	.free = m_route_free_item,
	.name_off = offsetof(struct model_route, name),
};

static const struct m_list m_pools_list = {
	.key = "pools",
	.size = sizeof(struct model_pool),
	.parse = m_pool_item,
	.free = m_pool_free_item,
	.name_off = offsetof(struct model_pool, name),
};

static void
m_routes_free(struct model_route *routes, int nr, struct model_pool *pools,
    int np)
{
	int	i;

	for (i = 0; i < nr; i++)
		model_route_free(&routes[i]);
	free(routes);
	for (i = 0; i < np; i++)
		free(pools[i].name);
	free(pools);
}

/* "routes" and "pools" of /v1/status and /v1/routes. */
static int
m_routes_pools(struct mctx *m, const cJSON *j, int required,
    struct model_route **routesp, int *nrp, struct model_pool **poolsp,
    int *npp, struct model_odds *odd_routes, struct model_odds *odd_pools)
{
	void	*v;

	*poolsp = NULL;
	*npp = 0;
	if (m_list(m, j, required, &m_routes_list, &v, nrp, NULL,
	    odd_routes) == -1)
		return -1;
	*routesp = v;
	if (m_list(m, j, required, &m_pools_list, &v, npp, NULL,
	    odd_pools) == -1) {
		m_routes_free(*routesp, *nrp, NULL, 0);
		*routesp = NULL;
		*nrp = 0;
		model_odds_free(odd_routes);
		return -1;
	}
	*poolsp = v;
	return 0;
}

/* agent.caller: optional (older agents), complete when present. */
static int
m_caller(struct mctx *m, const cJSON *ag, struct model_status *s)
{
	static const char *const roles[] = { "viewer", "operator", "admin",
	    NULL };
	const cJSON	*c = NULL;
	char		 e[160];
	int		 role;

	if (json_get_object(ag, "caller", JSON_OPTIONAL, &c, e, sizeof(e)) ==
	    -1) {
		m_fail(m, e);
		return -1;
	}
	if (c == NULL)
		return 0;
	snprintf(m->path, sizeof(m->path), "agent.caller");
	if (m_str(m, c, "name", JSON_REQUIRED, M_NAME_MAX, &s->caller) == -1 ||
	    m_enum(m, c, "role", roles, &role) == -1)
		return -1;
	if (s->caller[0] == '\0') {
		m_fail(m, "'name' is empty");
		return -1;
	}
	s->caller_role = xstrdup(roles[role]);
	snprintf(m->path, sizeof(m->path), "agent");
	return 0;
}

void
model_status_free(struct model_status *s)
{
	int	i;

	if (s == NULL)
		return;
	free(s->agent);
	free(s->version);
	free(s->caller);
	free(s->caller_role);
	for (i = 0; i < s->n_probes; i++)
		m_probe_free(&s->probes[i]);
	free(s->probes);
	m_routes_free(s->routes, s->n_routes, s->pools, s->n_pools);
	model_odds_free(&s->odd_probes);
	model_odds_free(&s->odd_routes);
	model_odds_free(&s->odd_pools);
	memset(s, 0, sizeof(*s));
}

int
model_parse_status(const char *text, size_t len, struct model_status *s,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	const cJSON	*ag = NULL;
	char		 e[160];
	void		*v;

	memset(s, 0, sizeof(*s));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if (json_get_object(j, "agent", JSON_REQUIRED, &ag, e, sizeof(e)) ==
	    -1) {
		m_fail(&m, e);
		goto fail;
	}
	snprintf(m.path, sizeof(m.path), "agent");
	if (m_str(&m, ag, "name", JSON_REQUIRED, M_NAME_MAX, &s->agent) ==
	    -1 ||
	    m_str(&m, ag, "version", JSON_OPTIONAL, 64, &s->version) == -1 ||
	    m_int(&m, ag, "uptime_s", JSON_OPTIONAL, 0, M_MAX_MS, 0,
	    &s->uptime_s) == -1 ||
	    m_int(&m, ag, "time_ms", JSON_OPTIONAL, 0, M_MAX_MS, 0,
	    &s->time_ms) == -1 ||
	    m_int(&m, ag, "started_ms", JSON_OPTIONAL, 0, M_MAX_MS, 0,
	    &s->started_ms) == -1 ||
	    m_caller(&m, ag, s) == -1)
		goto fail;
	if (m_list(&m, j, JSON_REQUIRED, &m_probes_list, &v, &s->n_probes,
	    NULL, &s->odd_probes) == -1)
		goto fail;
	s->probes = v;
	if (m_routes_pools(&m, j, JSON_OPTIONAL, &s->routes, &s->n_routes,
	    &s->pools, &s->n_pools, &s->odd_routes, &s->odd_pools) == -1)
		goto fail;
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	model_status_free(s);
	return -2;
}

void
model_routes_free(struct model_routes *r)
{
	m_routes_free(r->routes, r->n_routes, r->pools, r->n_pools);
	model_odds_free(&r->odd_routes);
	model_odds_free(&r->odd_pools);
	memset(r, 0, sizeof(*r));
}

int
model_parse_routes(const char *text, size_t len, struct model_routes *r,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	int		 rc;

	memset(r, 0, sizeof(*r));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	rc = m_routes_pools(&m, j, JSON_REQUIRED, &r->routes, &r->n_routes,
	    &r->pools, &r->n_pools, &r->odd_routes, &r->odd_pools);
	cJSON_Delete(j);
	return rc == 0 ? 0 : -2;
}

/* ---- results, series ---- */

void
model_results_free(struct model_results *r)
{
	int	i;

	for (i = 0; i < r->n_results; i++)
		model_result_free(&r->results[i]);
	free(r->results);
	model_odds_free(&r->odd);
	memset(r, 0, sizeof(*r));
}

static int
m_result_item(struct mctx *m, const cJSON *o, void *item, int index,
    void *arg)
{
	(void)index;
	(void)arg;
	return m_result(m, o, item);
}

static void
m_result_free_item(void *item)
{
	model_result_free(item);
}

static const struct m_list m_results_list = {
	.key = "results",
	.size = sizeof(struct model_result),
	.parse = m_result_item,
	.free = m_result_free_item,
	.name_off = M_NO_NAME,
};

int
model_parse_results(const char *text, size_t len, struct model_results *r,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	void		*v;

	memset(r, 0, sizeof(*r));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if (m_int(&m, j, "next", JSON_OPTIONAL, 0, M_MAX_MS, VANTAGE_NONE,
	    &r->next) == -1 ||
	    m_bool(&m, j, "more", &r->more) == -1 ||
	    m_list(&m, j, JSON_REQUIRED, &m_results_list, &v, &r->n_results,
	    NULL, &r->odd) == -1)
		goto fail;
	r->results = v;
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	model_results_free(r);
	return -2;
}

void
model_series_free(struct model_series *s)
{
	free(s->points);
	memset(s, 0, sizeof(*s));
}

int
model_parse_series(const char *text, size_t len, struct model_series *s,
    char *err, size_t errlen)
{
	struct mctx		 m = { err, errlen, "" };
	cJSON			*j;
	const cJSON		*arr, *it;
	struct model_point	*p;
	int			 n, i;

	memset(s, 0, sizeof(*s));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if (m_int(&m, j, "step_s", JSON_OPTIONAL, 1, 86400 * 366, 60,
	    &s->step_s) == -1 ||
	    (n = m_array(&m, j, "points", JSON_REQUIRED, &arr)) == -1)
		goto fail;
	if (n > 0)
		s->points = xcalloc((size_t)n, sizeof(*s->points));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (m_object_item(&m, it, "points", i) == -1)
			goto fail;
		p = &s->points[i];
		if (m_int(&m, it, "t_ms", JSON_REQUIRED, 0, M_MAX_MS, 0,
		    &p->t_ms) == -1 ||
		    m_int(&m, it, "n", JSON_OPTIONAL, 0, M_MAX_MS, 0,
		    &p->n) == -1 ||
		    m_int(&m, it, "ok", JSON_OPTIONAL, 0, M_MAX_MS, 0,
		    &p->ok) == -1 ||
		    m_int(&m, it, "degraded", JSON_OPTIONAL, 0, M_MAX_MS, 0,
		    &p->degraded) == -1 ||
		    m_int(&m, it, "min_us", JSON_OPTIONAL, 0, M_MAX_US,
		    VANTAGE_NONE, &p->min_us) == -1 ||
		    m_int(&m, it, "avg_us", JSON_OPTIONAL, 0, M_MAX_US,
		    VANTAGE_NONE, &p->avg_us) == -1 ||
		    m_int(&m, it, "max_us", JSON_OPTIONAL, 0, M_MAX_US,
		    VANTAGE_NONE, &p->max_us) == -1 ||
		    m_int(&m, it, "p95_us", JSON_OPTIONAL, 0, M_MAX_US,
		    VANTAGE_NONE, &p->p95_us) == -1)
			goto fail;
		s->n_points = ++i;
	}
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	model_series_free(s);
	return -2;
}

/* ---- audit ---- */

void
model_audit_free(struct model_audit *a)
{
	free(a->actor);
	free(a->role);
	free(a->operator);
	free(a->source);
	free(a->action);
	free(a->target);
	free(a->detail);
	free(a->result);
	free(a->hash);
	free(a->malformed);
	memset(a, 0, sizeof(*a));
}

void
model_audit_copy(struct model_audit *dst, const struct model_audit *src)
{
	*dst = *src;
	dst->actor = m_dup(src->actor);
	dst->role = m_dup(src->role);
	dst->operator = m_dup(src->operator);
	dst->source = m_dup(src->source);
	dst->action = m_dup(src->action);
	dst->target = m_dup(src->target);
	dst->detail = m_dup(src->detail);
	dst->result = m_dup(src->result);
	dst->hash = m_dup(src->hash);
	dst->malformed = m_dup(src->malformed);
}

static int
m_audit(struct mctx *m, const cJSON *o, struct model_audit *a)
{
	memset(a, 0, sizeof(*a));
	if (m_int(m, o, "id", JSON_REQUIRED, 0, M_MAX_MS, 0, &a->id) == -1 ||
	    m_int(m, o, "t_ms", JSON_REQUIRED, 0, M_MAX_MS, 0, &a->t_ms) ==
	    -1 ||
	    m_str(m, o, "actor", JSON_OPTIONAL, M_NAME_MAX, &a->actor) == -1 ||
	    m_str(m, o, "role", JSON_OPTIONAL, 32, &a->role) == -1 ||
	    m_str(m, o, "operator", JSON_OPTIONAL, M_NAME_MAX,
	    &a->operator) == -1 ||
	    m_str(m, o, "source", JSON_OPTIONAL, M_NAME_MAX, &a->source) ==
	    -1 ||
	    m_str(m, o, "action", JSON_REQUIRED, 64, &a->action) == -1 ||
	    m_str(m, o, "target", JSON_OPTIONAL, M_NAME_MAX, &a->target) ==
	    -1 ||
	    m_str(m, o, "detail", JSON_OPTIONAL, M_TEXT_MAX, &a->detail) ==
	    -1 ||
	    m_str(m, o, "result", JSON_OPTIONAL, 32, &a->result) == -1 ||
	    m_str(m, o, "hash", JSON_OPTIONAL, 128, &a->hash) == -1) {
		model_audit_free(a);
		return -1;
	}
	return 0;
}

void
model_audit_page_free(struct model_audit_page *p)
{
	int	i;

	for (i = 0; i < p->n_rows; i++)
		model_audit_free(&p->rows[i]);
	free(p->rows);
	memset(p, 0, sizeof(*p));
}

static int
m_audit_item(struct mctx *m, const cJSON *o, void *item, int index,
    void *arg)
{
	(void)index;
	(void)arg;
	return m_audit(m, o, item);
}

static void
m_audit_free_item(void *item)
{
	model_audit_free(item);
}

static const struct m_list m_audit_list = {
	.key = "audit",
	.size = sizeof(struct model_audit),
	.parse = m_audit_item,
	.free = m_audit_free_item,
	.name_off = M_NO_NAME,
};

/* An odd audit row in its place, with its id and time if they were sound. */
static void
m_audit_odd(struct model_audit *a, const struct model_odd *d)
{
	memset(a, 0, sizeof(*a));
	a->id = d->id;
	a->t_ms = d->t_ms;
	a->actor = xstrdup("");
	a->role = xstrdup("");
	a->operator = xstrdup("");
	a->source = xstrdup("");
	a->action = xstrdup("");
	a->target = xstrdup("");
	a->detail = xstrdup("");
	a->result = xstrdup("");
	a->hash = xstrdup("");
	a->malformed = xstrdup(d->reason);
}

static int
m_audit_before(int desc, int64_t a, int64_t b)
{
	return desc ? a > b : a < b;
}

/*
 * Oldest first (`after`) or newest first (`before`), the first two good
 * rows tell; either way strictly, so a cursor only ever moves one way.  A
 * good row out of that order becomes odd, and an odd row keeps its id
 * only where it fits between its neighbours: the fleet's cursor follows
 * the ids, and one wild id must not make it skip the rows after it.
 */
static void
m_audit_order(struct model_audit_page *p)
{
	struct model_audit	*r;
	char			 e[128];
	int64_t			 last = VANTAGE_NONE, *next;
	int			 i, first = -1;

	for (i = 0; i < p->n_rows; i++) {
		if (p->rows[i].malformed != NULL)
			continue;
		if (first == -1)
			first = i;
		else {
			p->desc = p->rows[i].id < p->rows[first].id;
			break;
		}
	}
	for (i = 0; i < p->n_rows; i++) {
		r = &p->rows[i];
		if (r->malformed != NULL)
			continue;
		if (last != VANTAGE_NONE && !m_audit_before(p->desc, last,
		    r->id)) {
			snprintf(e, sizeof(e), "'id' %" PRId64 " is not %s",
			    r->id, p->desc ? "decreasing" : "increasing");
			r->malformed = xstrdup(e);
			r->id = VANTAGE_NONE;
			continue;
		}
		last = r->id;
	}
	next = xcalloc((size_t)p->n_rows + 1, sizeof(*next));
	next[p->n_rows] = VANTAGE_NONE;
	for (i = p->n_rows - 1; i >= 0; i--)
		next[i] = p->rows[i].malformed == NULL ? p->rows[i].id :
		    next[i + 1];
	last = VANTAGE_NONE;
	for (i = 0; i < p->n_rows; i++) {
		r = &p->rows[i];
		if (r->id == VANTAGE_NONE)
			continue;
		if (r->malformed != NULL && ((last != VANTAGE_NONE &&
		    !m_audit_before(p->desc, last, r->id)) ||
		    (next[i + 1] != VANTAGE_NONE &&
		    !m_audit_before(p->desc, r->id, next[i + 1]))))
			r->id = VANTAGE_NONE;
		else
			last = r->id;
	}
	free(next);
}

int
model_parse_audit(const char *text, size_t len, struct model_audit_page *p,
    char *err, size_t errlen)
{
	struct mctx		 m = { err, errlen, "" };
	struct model_odds	 odd = { NULL, 0 };
	struct model_audit	*good;
	cJSON			*j;
	void			*v;
	int			*where = NULL, ngood, i, g, k;

	memset(p, 0, sizeof(*p));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if (m_int(&m, j, "next", JSON_OPTIONAL, 0, M_MAX_MS, VANTAGE_NONE,
	    &p->next) == -1 ||
	    m_bool(&m, j, "more", &p->more) == -1 ||
	    m_list(&m, j, JSON_REQUIRED, &m_audit_list, &v, &ngood, &where,
	    &odd) == -1) {
		cJSON_Delete(j);
		return -2;
	}
	cJSON_Delete(j);
	good = v;
	/* odd rows back in their places: the trail is read in order */
	p->rows = xcalloc((size_t)(ngood + odd.n) + 1, sizeof(*p->rows));
	for (i = g = k = 0; g < ngood || k < odd.n; i++) {
		if (k < odd.n && (g == ngood || odd.v[k].index < where[g]))
			m_audit_odd(&p->rows[i], &odd.v[k++]);
		else
			p->rows[i] = good[g++];
	}
	p->n_rows = i;
	free(good);
	free(where);
	model_odds_free(&odd);
	m_audit_order(p);
	return 0;
}

void
model_verify_free(struct model_verify *v)
{
	free(v->head);
	free(v->message);
	memset(v, 0, sizeof(*v));
}

int
model_parse_verify(const char *text, size_t len, struct model_verify *v,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	char		 e[160];

	memset(v, 0, sizeof(*v));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if (json_get_bool(j, "ok", JSON_REQUIRED, &v->ok, e, sizeof(e)) ==
	    -1) {
		m_fail(&m, e);
		goto fail;
	}
	if (m_int(&m, j, "rows", JSON_OPTIONAL, 0, M_MAX_MS, 0, &v->rows) ==
	    -1 ||
	    m_int(&m, j, "bad_id", JSON_OPTIONAL, 0, M_MAX_MS, VANTAGE_NONE,
	    &v->bad_id) == -1 ||
	    m_str(&m, j, "head", JSON_OPTIONAL, 128, &v->head) == -1 ||
	    m_str(&m, j, "message", JSON_OPTIONAL, M_TEXT_MAX,
	    &v->message) == -1)
		goto fail;
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	model_verify_free(v);
	return -2;
}

void
model_action_free(struct model_action *a)
{
	int	i;

	for (i = 0; i < a->n_routes; i++)
		model_route_free(&a->routes[i].route);
	free(a->routes);
	free(a->batch);
	model_odds_free(&a->odd);
	memset(a, 0, sizeof(*a));
}

/* "changed" of an older agent, which always changed what it was asked. */
static int
m_changed(struct mctx *m, const cJSON *o, int *out)
{
	char	e[160];

	*out = 1;
	if (json_get_bool(o, "changed", JSON_OPTIONAL, out, e, sizeof(e)) ==
	    -1) {
		m_fail(m, e);
		return -1;
	}
	return 0;
}

/* A route of a batch answer; arg: the audit ids, one per route or 0s. */
static int
m_action_item(struct mctx *m, const cJSON *o, void *item, int index,
    void *arg)
{
	struct model_action_route	*ar = item;
	const int64_t			*aids = arg;

	if (m_route(m, o, &ar->route) == -1 ||
	    m_changed(m, o, &ar->changed) == -1)
		return -1;
	ar->audit_id = aids[index];
	return 0;
}

static void
m_action_free_item(void *item)
{
	model_route_free(&((struct model_action_route *)item)->route);
}

static const struct m_list m_action_list = {
	.key = "routes",
	.size = sizeof(struct model_action_route),
	.parse = m_action_item,
	.free = m_action_free_item,
	.name_off = offsetof(struct model_action_route, route.name),
};

static int
m_action(struct mctx *m, const cJSON *j, struct model_action *a)
{
	const cJSON	*r = NULL, *arr, *ids, *it;
	struct m_list	 l;
	int64_t		*aids;
	void		*v;
	char		 e[160];
	int		 n, nids, i, rc, replayed = 0;

	if (m_bool(m, j, "replayed", &replayed) == -1 ||
	    m_str(m, j, "batch", JSON_OPTIONAL, M_NAME_MAX, &a->batch) == -1)
		return -1;
	a->replayed = replayed;
	if ((n = m_array(m, j, "routes", JSON_OPTIONAL, &arr)) == -1)
		return -1;
	if (arr == NULL) {
		/* one route: {"route":ROUTE,"audit_id":N,"changed":B} */
		if (json_get_object(j, "route", JSON_REQUIRED, &r, e,
		    sizeof(e)) == -1) {
			m_fail(m, e);
			return -1;
		}
		a->routes = xcalloc(1, sizeof(*a->routes));
		if (m_int(m, j, "audit_id", JSON_OPTIONAL, 0, M_MAX_MS, 0,
		    &a->routes[0].audit_id) == -1 ||
		    m_changed(m, j, &a->routes[0].changed) == -1)
			return -1;
		snprintf(m->path, sizeof(m->path), "route");
		if (m_route(m, r, &a->routes[0].route) == -1)
			return -1;
		a->n_routes = 1;
		a->changed = a->routes[0].changed;
		return 0;
	}
	if (n == 0) {
		m_fail(m, "'routes' is empty");
		return -1;
	}
	if ((nids = m_array(m, j, "audit_ids", JSON_OPTIONAL, &ids)) == -1)
		return -1;
	if (m_changed(m, j, &a->changed) == -1)
		return -1;
	/* one audit row per route, in the order of the routes */
	aids = xcalloc((size_t)n, sizeof(*aids));
	i = 0;
	cJSON_ArrayForEach(it, ids) {
		if (nids != n)
			break;
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 ||
		    it->valuedouble > (double)M_MAX_MS) {
			m_fail(m, "'audit_ids' holds a non-id");
			free(aids);
			return -1;
		}
		aids[i++] = (int64_t)it->valuedouble;
	}
	l = m_action_list;
	l.arg = aids;
	rc = m_list(m, j, JSON_OPTIONAL, &l, &v, &a->n_routes, NULL, &a->odd);
	a->routes = v;
	free(aids);
	return rc;
}

int
model_parse_action(const char *text, size_t len, struct model_action *a,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	int		 rc;

	memset(a, 0, sizeof(*a));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	rc = m_action(&m, j, a);
	cJSON_Delete(j);
	if (rc == -1) {
		model_action_free(a);
		return -2;
	}
	return 0;
}

void
model_request_free(struct model_request *q)
{
	model_action_free(&q->action);
	memset(q, 0, sizeof(*q));
}

struct pool_member *
model_pool_members(const struct model_status *st, const char *const *sel,
    int nsel)
{
	struct pool_member		*m;
	const struct model_route	*r;
	int				 i, k;

	m = xcalloc((size_t)st->n_routes + 1, sizeof(*m));
	for (i = 0; i < st->n_routes; i++) {
		r = &st->routes[i];
		m[i].pool = r->pool;
		m[i].active = r->state == MODEL_ACTIVE;
		/*
		 * A draining route's effective state says drain, not whether
		 * its probe is down: the probe list does, and an undrain
		 * brings back only a route whose probe is not DOWN.
		 */
		m[i].probe_down = r->effective == MODEL_EFF_DOWN;
		for (k = 0; !m[i].probe_down && r->state != MODEL_ACTIVE &&
		    r->probe != NULL && k < st->n_probes; k++) {
			if (strcmp(st->probes[k].name, r->probe) == 0 &&
			    st->probes[k].state == MODEL_DOWN)
				m[i].probe_down = 1;
		}
		for (k = 0; k < nsel; k++) {
			if (strcmp(sel[k], r->name) == 0)
				m[i].selected = 1;
		}
	}
	return m;
}

int
model_parse_request(const char *text, size_t len, struct model_request *q,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	const cJSON	*o = NULL, *e;
	char		 ebuf[160];
	const char	*s;

	memset(q, 0, sizeof(*q));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if (m_int(&m, j, "status", JSON_REQUIRED, 100, 599, 0,
	    &q->status) == -1)
		goto fail;
	if (json_get_object(j, "outcome", JSON_REQUIRED, &o, ebuf,
	    sizeof(ebuf)) == -1) {
		m_fail(&m, ebuf);
		goto fail;
	}
	if (q->status >= 200 && q->status <= 299) {
		snprintf(m.path, sizeof(m.path), "outcome");
		if (m_action(&m, o, &q->action) == -1) {
			model_action_free(&q->action);
			goto fail;
		}
		q->applied = 1;
	} else {
		/* a stored refusal: {"error":{"code","message"}} */
		e = cJSON_GetObjectItemCaseSensitive(o, "error");
		s = cJSON_IsObject(e) ? cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(e, "code")) : NULL;
		snprintf(q->code, sizeof(q->code), "%s", s != NULL ? s : "");
		s = cJSON_IsObject(e) ? cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(e, "message")) : NULL;
		snprintf(q->message, sizeof(q->message), "%s", s != NULL ? s :
		    "");
	}
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	return -2;
}

int
model_parse_error(const char *text, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	cJSON		*j;
	const cJSON	*e = NULL;
	const char	*c = NULL, *mm = NULL;
	char		 err[160];
	int		 rc = -1;

	if ((j = json_parse_object(text, len, err, sizeof(err))) == NULL)
		return -1;
	if (json_get_object(j, "error", JSON_REQUIRED, &e, err,
	    sizeof(err)) == 1 &&
	    json_get_str(e, "code", JSON_REQUIRED, 64, &c, err,
	    sizeof(err)) == 1 &&
	    json_get_str(e, "message", JSON_OPTIONAL, 1024, &mm, err,
	    sizeof(err)) != -1) {
		snprintf(code, codelen, "%s", c);
		snprintf(msg, msglen, "%s", mm != NULL ? mm : "");
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}
