// LINK: console/model.c shared/json.c shared/log.c shared/text.c shared/buf.c shared/parse.c
/*
 * fuzz_console_status.c - what an agent sends the console: the parsers of
 * model.c over arbitrary bytes.  The first byte picks the document
 * (status, routes, results, series, audit, verify, action, error); the
 * rest is the body.
 *
 * Checked: no crash or leak; a failure leaves nothing behind and says
 * why; an accepted document holds only what the contract allows (enum
 * values in range, strings present, probe and route names unique and not
 * empty, audit ids strictly increasing or (a `before` page) strictly
 * decreasing, a caller whole or absent, no number is VANTAGE_NONE where
 * the contract requires one) and every odd row says why, with an index
 * into the agent's array and names in order; an odd audit row keeps an
 * id only where it fits the order of the good ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_result(const struct model_result *r)
{
	if ((unsigned)r->status > MODEL_R_FAIL || r->error == NULL ||
	    r->t_ms < 0)
		abort();
}

static void
check_route(const struct model_route *r)
{
	if (r->name == NULL || r->name[0] == '\0' || r->reason == NULL ||
	    r->actor == NULL || r->operator == NULL ||
	    (unsigned)r->state > MODEL_MAINT ||
	    (unsigned)r->effective > MODEL_EFF_DOWN)
		abort();
}

static void
check_odds(const struct model_odds *o)
{
	int	i;

	for (i = 0; i < o->n; i++) {
		if (o->v[i].reason == NULL || o->v[i].reason[0] == '\0' ||
		    o->v[i].index < 0 || (i > 0 && o->v[i].index <=
		    o->v[i - 1].index) || (o->v[i].name != NULL &&
		    o->v[i].name[0] == '\0'))
			abort();
	}
}

static void
check_audit(const struct model_audit_page *au)
{
	const struct model_audit	*r;
	int64_t				 last = VANTAGE_NONE;
	int				 i;

	for (i = 0; i < au->n_rows; i++) {
		r = &au->rows[i];
		if (r->action == NULL || r->target == NULL ||
		    r->detail == NULL || r->actor == NULL ||
		    (r->malformed == NULL && r->id == VANTAGE_NONE))
			abort();
		if (r->id == VANTAGE_NONE)
			continue;
		if (last != VANTAGE_NONE && (au->desc ? r->id >= last :
		    r->id <= last))
			abort();
		last = r->id;
	}
	if (au->desc && au->n_rows < 2)
		abort();
}

static void
fuzz_status(const char *s, size_t n)
{
	struct model_status	st;
	char			err[512];
	int			i, k;

	err[0] = '\0';
	if (model_parse_status(s, n, &st, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || st.probes != NULL || st.agent != NULL ||
		    st.odd_probes.v != NULL || st.odd_routes.v != NULL)
			abort();
		return;
	}
	if (st.agent == NULL || st.version == NULL)
		abort();
	/* caller: absent (an older agent) or whole, with a name */
	if ((st.caller == NULL) != (st.caller_role == NULL) ||
	    (st.caller != NULL && st.caller[0] == '\0'))
		abort();
	for (i = 0; i < st.n_probes; i++) {
		const struct model_probe *p = &st.probes[i];

		if (p->name == NULL || p->name[0] == '\0' || p->type == NULL ||
		    p->target == NULL || (unsigned)p->state > MODEL_UNKNOWN)
			abort();
		if (p->has_last)
			check_result(&p->last);
		for (k = 0; k < i; k++) {
			if (strcmp(st.probes[k].name, p->name) == 0)
				abort();
		}
	}
	for (i = 0; i < st.n_routes; i++) {
		check_route(&st.routes[i]);
		for (k = 0; k < i; k++) {
			if (strcmp(st.routes[k].name, st.routes[i].name) == 0)
				abort();
		}
	}
	for (i = 0; i < st.n_pools; i++) {
		if (st.pools[i].name == NULL || st.pools[i].active < 0)
			abort();
	}
	check_odds(&st.odd_probes);
	check_odds(&st.odd_routes);
	check_odds(&st.odd_pools);
	model_status_free(&st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_routes	r;
	struct model_results	res;
	struct model_series	ser;
	struct model_audit_page	au;
	struct model_verify	v;
	struct model_action	a;
	const char		*s = (const char *)data + 1;
	char			 err[512], code[64], msg[512];
	size_t			 n;
	int			 i;

	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 8) {
	case 0:
		fuzz_status(s, n);
		break;
	case 1:
		if (model_parse_routes(s, n, &r, err, sizeof(err)) == 0) {
			for (i = 0; i < r.n_routes; i++)
				check_route(&r.routes[i]);
			check_odds(&r.odd_routes);
			check_odds(&r.odd_pools);
			model_routes_free(&r);
		}
		break;
	case 2:
		if (model_parse_results(s, n, &res, err, sizeof(err)) == 0) {
			for (i = 0; i < res.n_results; i++)
				check_result(&res.results[i]);
			check_odds(&res.odd);
			model_results_free(&res);
		}
		break;
	case 3:
		if (model_parse_series(s, n, &ser, err, sizeof(err)) == 0) {
			if (ser.step_s < 1)
				abort();
			model_series_free(&ser);
		}
		break;
	case 4:
		if (model_parse_audit(s, n, &au, err, sizeof(err)) == 0) {
			check_audit(&au);
			model_audit_page_free(&au);
		}
		break;
	case 5:
		if (model_parse_verify(s, n, &v, err, sizeof(err)) == 0) {
			if (v.head == NULL || v.message == NULL)
				abort();
			model_verify_free(&v);
		}
		break;
	case 6:
		if (model_parse_action(s, n, &a, err, sizeof(err)) == 0) {
			for (i = 0; i < a.n_routes; i++) {
				check_route(&a.routes[i].route);
				for (int k = 0; k < i; k++) {
					if (strcmp(a.routes[k].route.name,
					    a.routes[i].route.name) == 0)
						abort();
				}
			}
			check_odds(&a.odd);
			if (a.n_routes + a.odd.n < 1 || a.batch == NULL)
				abort();
			model_action_free(&a);
		}
		break;
	case 7:
		if (model_parse_error(s, n, code, sizeof(code), msg,
		    sizeof(msg)) == 0 && (strlen(code) >= sizeof(code) ||
		    strlen(msg) >= sizeof(msg)))
			abort();
		break;
	}
	return 0;
}
