/*
 * model.c - agent responses (api-contract.md) into plain structs.
 *
 * An agent is untrusted input: every field goes through the checked
 * getters of shared/json.c (type, range, length) and a response that
 * breaks the contract is refused as a whole, with the path of the first
 * bad field ("probes[3].last.latency_us must be a number"), so a view
 * never shows half of a broken answer.  Fields the contract does not know
 * are ignored, which lets a newer agent add some.
 */
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

static int
m_object_item(struct mctx *m, const cJSON *it, const char *key, int i)
{
	char	e[160];

	snprintf(m->path, sizeof(m->path), "%s[%d]", key, i);
	if (!cJSON_IsObject(it)) {
		snprintf(e, sizeof(e), "must be an object");
		m_fail(m, e);
		return -1;
	}
	return 0;
}

static const char *const state_names[] = {
	[MODEL_UP] = "up", [MODEL_DEGRADED] = "degraded",
	[MODEL_DOWN] = "down", [MODEL_UNKNOWN] = "unknown", NULL
};
static const char *const rstatus_names[] = {
	[MODEL_R_OK] = "ok", [MODEL_R_DEGRADED] = "degraded",
	[MODEL_R_FAIL] = "fail", NULL
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
		snprintf(m->path, sizeof(m->path), "%.80s.last", base);
		if (m_result(m, last, &p->last) == -1) {
			model_result_free(&p->last);
			return -1;
		}
		p->has_last = 1;
	}
	p->stats.avg_us = p->stats.p95_us = VANTAGE_NONE;
	if (stats != NULL) {
		snprintf(m->path, sizeof(m->path), "%.80s.stats_1h", base);
		if (m_stats(m, stats, &p->stats) == -1)
			return -1;
	}
	return 0;
}

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
m_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names within one list must be unique: the matrix counts by name. */
static int
m_unique(struct mctx *m, const char *what, char **names, int n)
{
	char	e[M_NAME_MAX + 64];
	int	i;

	qsort(names, (size_t)n, sizeof(*names), m_cmp_str);
	for (i = 1; i < n; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			m->path[0] = '\0';
			snprintf(e, sizeof(e), "duplicate %s '%.64s'", what,
			    names[i]);
			m_fail(m, e);
			return -1;
		}
	}
	return 0;
}

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
    int *npp)
{
	const cJSON		*arr, *it;
	struct model_route	*routes = NULL;
	struct model_pool	*pools = NULL;
	char			**names;
	int			 n, i, nr = 0, np = 0;

	m->path[0] = '\0';
	if ((n = m_array(m, j, "routes", required, &arr)) == -1)
		return -1;
	if (n > 0)
		routes = xcalloc((size_t)n, sizeof(*routes));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (m_object_item(m, it, "routes", i) == -1 ||
		    m_route(m, it, &routes[i]) == -1)
			goto fail;
		nr = ++i;
	}
	m->path[0] = '\0';
	if ((n = m_array(m, j, "pools", required, &arr)) == -1)
		goto fail;
	if (n > 0)
		pools = xcalloc((size_t)n, sizeof(*pools));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (m_object_item(m, it, "pools", i) == -1 ||
		    m_pool(m, it, &pools[i]) == -1)
			goto fail;
		np = ++i;
	}
	names = xcalloc((size_t)nr + 1, sizeof(*names));
	for (i = 0; i < nr; i++)
		names[i] = routes[i].name;
	i = m_unique(m, "route", names, nr);
	free(names);
	if (i == -1)
		goto fail;
	*routesp = routes;
	*nrp = nr;
	*poolsp = pools;
	*npp = np;
	return 0;
fail:
	m_routes_free(routes, nr, pools, np);
	return -1;
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
	memset(s, 0, sizeof(*s));
}

int
model_parse_status(const char *text, size_t len, struct model_status *s,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	const cJSON	*ag = NULL, *arr, *it;
	char		 e[160];
	char		**names;
	int		 n, i, rc;

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
	m.path[0] = '\0';
	if ((n = m_array(&m, j, "probes", JSON_REQUIRED, &arr)) == -1)
		goto fail;
	if (n > 0)
		s->probes = xcalloc((size_t)n, sizeof(*s->probes));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (m_object_item(&m, it, "probes", i) == -1)
			goto fail;
		rc = m_probe(&m, it, &s->probes[i]);
		s->n_probes = ++i;	/* freed with the rest on failure */
		if (rc == -1)
			goto fail;
	}
	names = xcalloc((size_t)s->n_probes + 1, sizeof(*names));
	for (i = 0; i < s->n_probes; i++)
		names[i] = s->probes[i].name;
	rc = m_unique(&m, "probe", names, s->n_probes);
	free(names);
	if (rc == -1)
		goto fail;
	if (m_routes_pools(&m, j, JSON_OPTIONAL, &s->routes, &s->n_routes,
	    &s->pools, &s->n_pools) == -1)
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
	    &r->pools, &r->n_pools);
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
	memset(r, 0, sizeof(*r));
}

int
model_parse_results(const char *text, size_t len, struct model_results *r,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	const cJSON	*arr, *it;
	int		 n, i;

	memset(r, 0, sizeof(*r));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if ((n = m_array(&m, j, "results", JSON_REQUIRED, &arr)) == -1 ||
	    m_int(&m, j, "next", JSON_OPTIONAL, 0, M_MAX_MS, VANTAGE_NONE,
	    &r->next) == -1 ||
	    m_bool(&m, j, "more", &r->more) == -1)
		goto fail;
	if (n > 0)
		r->results = xcalloc((size_t)n, sizeof(*r->results));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (m_object_item(&m, it, "results", i) == -1)
			goto fail;
		if (m_result(&m, it, &r->results[i]) == -1) {
			model_result_free(&r->results[i]);
			goto fail;
		}
		r->n_results = ++i;
	}
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

int
model_parse_audit(const char *text, size_t len, struct model_audit_page *p,
    char *err, size_t errlen)
{
	struct mctx	 m = { err, errlen, "" };
	cJSON		*j;
	const cJSON	*arr, *it;
	int		 n, i;

	memset(p, 0, sizeof(*p));
	if ((j = json_parse_object(text, len, err, errlen)) == NULL)
		return -1;
	if ((n = m_array(&m, j, "audit", JSON_REQUIRED, &arr)) == -1 ||
	    m_int(&m, j, "next", JSON_OPTIONAL, 0, M_MAX_MS, VANTAGE_NONE,
	    &p->next) == -1 ||
	    m_bool(&m, j, "more", &p->more) == -1)
		goto fail;
	if (n > 0)
		p->rows = xcalloc((size_t)n, sizeof(*p->rows));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (m_object_item(&m, it, "audit", i) == -1 ||
		    m_audit(&m, it, &p->rows[i]) == -1)
			goto fail;
		/*
		 * Oldest first (`after`) or newest first (`before`), the
		 * first two rows tell; either way strictly, so a cursor only
		 * ever moves one way.
		 */
		if (i == 1)
			p->desc = p->rows[1].id < p->rows[0].id;
		if (i > 0 && (p->desc ? p->rows[i].id >= p->rows[i - 1].id :
		    p->rows[i].id <= p->rows[i - 1].id)) {
			m_fail(&m, p->desc ? "ids are not decreasing" :
			    "ids are not increasing");
			model_audit_free(&p->rows[i]);
			goto fail;
		}
		p->n_rows = ++i;
	}
	cJSON_Delete(j);
	return 0;
fail:
	cJSON_Delete(j);
	model_audit_page_free(p);
	return -2;
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

static int
m_action(struct mctx *m, const cJSON *j, struct model_action *a)
{
	const cJSON	*r = NULL, *arr, *ids, *it;
	char		 e[160];
	int		 n, nids, i, replayed = 0;

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
	a->routes = xcalloc((size_t)n, sizeof(*a->routes));
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (m_object_item(m, it, "routes", i) == -1 ||
		    m_route(m, it, &a->routes[i].route) == -1)
			return -1;
		a->n_routes = ++i;	/* freed with the rest on failure */
		if (m_changed(m, it, &a->routes[i - 1].changed) == -1)
			return -1;
	}
	/* one audit row per route, in the order of the routes */
	i = 0;
	cJSON_ArrayForEach(it, ids) {
		if (nids != n)
			break;
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 ||
		    it->valuedouble > (double)M_MAX_MS) {
			m_fail(m, "'audit_ids' holds a non-id");
			return -1;
		}
		a->routes[i++].audit_id = (int64_t)it->valuedouble;
	}
	return 0;
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
