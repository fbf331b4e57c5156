/*
 * api_routes.c - /v1/routes: the list, drain and undrain of one route or
 * of a batch, the settled outcome of a request by its Idempotency-Key,
 * and the token-free health endpoint that load balancers and readiness
 * probes poll.  Renders every route document.
 *
 * Bodies are untrusted: every field is checked for type, range and length
 * and unknown fields are refused, so a typo ("ttl": 60) is a 400 rather
 * than a drain without the expiry the operator meant.  The decision, the
 * commit and the audit rows are route_state.c's; this file translates.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "json.h"
#include "vantaged.h"

#define ROUTES_WLOCK_WAIT_MS	3000	/* GET /v1/requests: settle wait */

#define ROUTES_REASON_MAX	500
#define ROUTES_TTL_MAX		2592000		/* 30 days */
#define ROUTES_DEADLINE_MAX	(1LL << 52)	/* ms; larger is garbage */

/* Route names as config.c allows them; anything else cannot exist. */
static int
api_routes_name_ok(const char *s)
{
	size_t	i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

/*
 * A reason is shown on operators' terminals and kept in the audit log:
 * valid UTF-8 without control characters.
 */
static int
api_routes_text_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len, k;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			len = 2;
		else if (*p >= 0xe0 && *p <= 0xef)
			len = 3;
		else if (*p >= 0xf0 && *p <= 0xf4)
			len = 4;
		else
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		}
		if ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] >= 0xa0) ||
		    (p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		p += len;
	}
	return 1;
}


static void
api_routes_nullable(struct buf *b, const char *key, const char *s)
{
	buf_printf(b, ",\"%s\":", key);
	if (s != NULL && *s != '\0')
		buf_add_json_str(b, s);
	else
		buf_adds(b, "null");
}

static void
api_routes_one(struct buf *b, const struct route *r)
{
	buf_adds(b, "{\"name\":");
	buf_add_json_str(b, r->name);
	buf_printf(b, ",\"state\":\"%s\",\"effective\":\"%s\",\"reason\":",
	    route_state_str(r->state), route_effective_str(route_eff(r)));
	buf_add_json_str(b, r->reason);
	buf_adds(b, ",\"actor\":");
	buf_add_json_str(b, r->actor);
	buf_adds(b, ",\"operator\":");
	buf_add_json_str(b, r->operator);
	buf_printf(b, ",\"since_ms\":%" PRId64 ",\"expires_ms\":", r->since_ms);
	if (r->expires_ms > 0)
		buf_printf(b, "%" PRId64, r->expires_ms);
	else
		buf_adds(b, "null");
	api_routes_nullable(b, "pool", r->pool);
	api_routes_nullable(b, "probe", r->probe);
	buf_printf(b, ",\"forced\":%s", r->forced ? "true" : "false");
	api_routes_nullable(b, "key", r->key);
	api_routes_nullable(b, "batch", r->batch);
	buf_addc(b, '}');
}

void
api_routes_json(struct buf *b)
{
	struct route			**rs;
	const struct route_pool		 *ps;
	int				  nr, np, i, j, size, active;

	route_lock();
	rs = route_list(&nr);
	ps = route_pools(&np);
	buf_adds(b, "\"routes\":[");
	for (i = 0; i < nr; i++) {
		if (i > 0)
			buf_addc(b, ',');
		api_routes_one(b, rs[i]);
	}
	buf_adds(b, "],\"pools\":[");
	for (i = 0; i < np; i++) {
		for (size = active = 0, j = 0; j < nr; j++) {
			if (rs[j]->pool == NULL ||
			    strcmp(rs[j]->pool, ps[i].name) != 0)
				continue;
			size++;
			if (route_eff(rs[j]) == ROUTE_EFF_READY)
				active++;
		}
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"name\":");
		buf_add_json_str(b, ps[i].name);
		buf_printf(b, ",\"min_active\":%d,\"routes\":%d,\"active\":%d}",
		    ps[i].min_active, size, active);
	}
	buf_addc(b, ']');
	route_unlock();
}

/*
 * The answer to a drain or undrain; it is stored with the request's key,
 * so it ends in "replayed":false and a repeat is served with true.
 */
void
api_routes_render(const struct route_outcome *oc, struct buf *b)
{
	int	i, any = 0;

	if (oc->status != 200) {
		buf_adds(b, "{\"error\":{\"code\":");
		buf_add_json_str(b, oc->code != NULL ? oc->code : "error");
		buf_adds(b, ",\"message\":");
		buf_add_json_str(b, oc->msg);
		if (oc->status == 412)
			buf_printf(b, ",\"now_ms\":%" PRId64, clock_wall_ms());
		buf_adds(b, "},\"replayed\":false}");
		return;
	}
	for (i = 0; i < oc->n; i++)
		any |= oc->changed[i];
	if (oc->n == 1 && oc->single) {
		buf_adds(b, "{\"route\":");
		api_routes_one(b, oc->after[0]);
		buf_printf(b, ",\"audit_id\":%" PRId64 ",\"changed\":%s,"
		    "\"batch\":\"%s\",\"replayed\":false}", oc->audit_id[0],
		    any ? "true" : "false", oc->batch);
		return;
	}
	buf_printf(b, "{\"batch\":\"%s\",\"changed\":%s,\"audit_ids\":[",
	    oc->batch, any ? "true" : "false");
	for (i = 0; i < oc->n; i++)
		buf_printf(b, "%s%" PRId64, i > 0 ? "," : "", oc->audit_id[i]);
	buf_adds(b, "],\"routes\":[");
	for (i = 0; i < oc->n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		api_routes_one(b, oc->after[i]);
		/* the route object's closing brace becomes a field */
		b->len--;
		buf_printf(b, ",\"changed\":%s}", oc->changed[i] ? "true" :
		    "false");
	}
	buf_adds(b, "],\"replayed\":false}");
}

/* Idempotency-Key: 1 to 64 printable ASCII bytes, no blanks. */
static int
api_routes_key_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	}
	return i > 0 && i <= ROUTE_KEY_MAX;
}

static int
api_routes_deadline(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL) {
		*out = 0;
		return 0;
	}
	if (*s < '0' || *s > '9' || strlen(s) > 16)
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v <= 0 || v > ROUTES_DEADLINE_MAX)
		return -1;
	*out = v;
	return 0;
}

/* Common request fields: who asks, and the key and deadline headers. */
static int
api_routes_request(struct api_req *req, struct api_reply *rep,
    struct route_request *rq, char *fp)
{
	struct buf	b;

	memset(rq, 0, sizeof(*rq));
	rq->actor = req->actor != NULL ? req->actor : "";
	rq->role = api_role_str(req->role);
	rq->operator_hdr = req->operator_hdr != NULL ? req->operator_hdr : "";
	rq->source = req->source != NULL ? req->source : "";
	rq->mode = ROUTE_DRAINING;
	if (req->idem_key != NULL) {
		if (!api_routes_key_ok(req->idem_key)) {
			api_error(rep, 400, "bad_request", "Idempotency-Key: 1 "
			    "to %d printable ASCII characters without blanks",
			    ROUTE_KEY_MAX);
			return -1;
		}
		rq->key = req->idem_key;
	}
	if (api_routes_deadline(req->deadline, &rq->deadline_ms) == -1) {
		api_error(rep, 400, "bad_request", "X-Vantage-Deadline: a time "
		    "in Unix milliseconds (agent clock)");
		return -1;
	}
	/* what makes a repeat the same request */
	buf_init(&b);
	buf_printf(&b, "%s\n%s\n", req->method, req->path);
	buf_add(&b, req->body, req->body_len);
	hash_sha256_hex(b.data, b.len, fp);
	buf_free(&b);
	rq->fingerprint = fp;
	return 0;
}

/*
 * Parses {"reason":...} plus, for a drain, ttl_s, mode, force and
 * update; for a batch also "routes".  Route names are checked here so
 * that nothing but a defined-looking name reaches route_state.c.
 */
static cJSON *
api_routes_body(struct api_req *req, struct api_reply *rep, int drain,
    int batch, struct route_request *rq, const char **names)
{
	static const char *const drain_keys[] = { "reason", "ttl_s", "mode",
	    "force", "update", "routes", NULL };
	static const char *const undrain_keys[] = { "reason", "routes", NULL };
	cJSON		*j, *arr, *it;
	const char	*mode = NULL;
	char		 err[256];
	int64_t		 ttl = 0;
	int		 force = 0, update = 0, n = 0, k, has;

	if ((j = json_parse_object(req->body, req->body_len, err,
	    sizeof(err))) == NULL) {
		api_error(rep, 400, "bad_request", "%s", err);
		return NULL;
	}
	if (json_only_keys(j, drain ? drain_keys : undrain_keys, err,
	    sizeof(err)) == -1)
		goto bad;
	arr = cJSON_GetObjectItemCaseSensitive(j, "routes");
	if (!batch && arr != NULL) {
		snprintf(err, sizeof(err), "'routes' belongs to POST "
		    "/v1/routes/%s (this path names its route)", drain ?
		    "drain" : "undrain");
		goto bad;
	}
	if (batch) {
		if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
		    cJSON_GetArraySize(arr) > ROUTE_BATCH_MAX) {
			snprintf(err, sizeof(err), "'routes' must be an array "
			    "of 1 to %d route names", ROUTE_BATCH_MAX);
			goto bad;
		}
		cJSON_ArrayForEach(it, arr) {
			if (!cJSON_IsString(it) ||
			    !api_routes_name_ok(it->valuestring)) {
				snprintf(err, sizeof(err), "'routes' holds "
				    "route names (letters, digits, '.', '-', "
				    "'_'; at most 64)");
				goto bad;
			}
			for (k = 0; k < n; k++) {
				if (strcmp(names[k], it->valuestring) == 0) {
					snprintf(err, sizeof(err), "route '%s' "
					    "is named twice", it->valuestring);
					goto bad;
				}
			}
			names[n++] = it->valuestring;
		}
		rq->n_names = n;
	}
	if (drain && json_get_bool(j, "update", JSON_OPTIONAL, &update, err,
	    sizeof(err)) == -1)
		goto bad;
	rq->update = update;
	if ((has = json_get_str(j, "reason", update ? JSON_OPTIONAL :
	    JSON_REQUIRED, ROUTES_REASON_MAX, &rq->reason, err,
	    sizeof(err))) == -1)
		goto bad;
	if (has == 0)
		rq->reason = NULL;
	if (rq->reason != NULL && rq->reason[0] == '\0') {
		snprintf(err, sizeof(err), "'reason' must not be empty");
		goto bad;
	}
	if (rq->reason != NULL && !api_routes_text_ok(rq->reason)) {
		snprintf(err, sizeof(err), "'reason' must be UTF-8 text "
		    "without control characters");
		goto bad;
	}
	if (drain) {
		if ((has = json_get_int(j, "ttl_s", JSON_OPTIONAL, 0,
		    ROUTES_TTL_MAX, &ttl, err, sizeof(err))) == -1 ||
		    json_get_str(j, "mode", JSON_OPTIONAL, 16, &mode, err,
		    sizeof(err)) == -1 ||
		    json_get_bool(j, "force", JSON_OPTIONAL, &force, err,
		    sizeof(err)) == -1)
			goto bad;
		if (mode == NULL || strcmp(mode, "drain") == 0)
			rq->mode = ROUTE_DRAINING;
		else if (strcmp(mode, "maint") == 0)
			rq->mode = ROUTE_MAINT;
		else {
			snprintf(err, sizeof(err), "'mode' must be \"drain\" "
			    "or \"maint\"");
			goto bad;
		}
		rq->has_ttl = has == 1;
		rq->ttl_s = ttl;
		rq->force = force;
	}
	return j;
bad:
	api_error(rep, 400, "bad_request", "%s", err);
	cJSON_Delete(j);
	return NULL;
}

/* A stored answer served again: the same, with "replayed":true. */
static void
api_routes_replayed(struct buf *b)
{
	static const char	tail[] = "\"replayed\":false}";
	size_t			n = sizeof(tail) - 1;

	if (b->len >= n && memcmp(b->data + b->len - n, tail, n) == 0) {
		b->len -= n;
		buf_adds(b, "\"replayed\":true}");
	}
}

static void
api_routes_change(struct api_req *req, struct api_reply *rep, int drain,
    int batch)
{
	struct route_request	 rq;
	struct route_outcome	*oc;
	const char		*names[ROUTE_BATCH_MAX];
	char			 fp[HASH_HEX_LEN + 1];
	cJSON			*j;

	if (!batch && !api_routes_name_ok(req->args[0])) {
		api_error(rep, 404, "not_found", "no such route");
		return;
	}
	if (api_routes_request(req, rep, &rq, fp) == -1)
		return;
	rq.drain = drain;
	if ((j = api_routes_body(req, rep, drain, batch, &rq, names)) == NULL)
		return;
	if (!batch) {
		names[0] = req->args[0];
		rq.n_names = 1;
		rq.single = 1;
	}
	rq.names = names;
	oc = xcalloc(1, sizeof(*oc));
	oc->single = rq.single;
	buf_reset(&rep->body);
	rep->status = route_change(&rq, api_routes_render, &rep->body, oc);
	if (oc->replayed)
		api_routes_replayed(&rep->body);
	if (rep->status == 503)
		rep->retry_after = 5;
	cJSON_Delete(j);
	free(oc);
}

static void
api_routes_list(struct api_req *req, struct api_reply *rep)
{
	buf_addc(&rep->body, '{');
	api_routes_json(&rep->body);
	buf_addc(&rep->body, '}');
}

static void
api_routes_drain(struct api_req *req, struct api_reply *rep)
{
	api_routes_change(req, rep, 1, 0);
}

static void
api_routes_undrain(struct api_req *req, struct api_reply *rep)
{
	api_routes_change(req, rep, 0, 0);
}

static void
api_routes_drain_batch(struct api_req *req, struct api_reply *rep)
{
	api_routes_change(req, rep, 1, 1);
}

static void
api_routes_undrain_batch(struct api_req *req, struct api_reply *rep)
{
	api_routes_change(req, rep, 0, 1);
}

/*
 * GET /v1/requests/KEY?deadline=MS: what became of the caller's request
 * with that key.  Taken under the writer lock, so no request is half-way
 * through its commit: "not applied" after the deadline is final, since
 * any later arrival is refused by that same deadline.
 */
static void
api_routes_request_get(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { "deadline", NULL };
	const char	*key = req->args[0], *dl;
	char		 err[256], *fp = NULL, *body = NULL;
	int64_t		 deadline = 0, now;
	int		 status = 0, rc;

	if (api_query_only(&req->query, keys, err, sizeof(err)) == -1) {
		api_error(rep, 400, "bad_request", "%s", err);
		return;
	}
	if (!api_routes_key_ok(key)) {
		api_error(rep, 400, "bad_request", "Idempotency-Key: 1 to %d "
		    "printable ASCII characters without blanks",
		    ROUTE_KEY_MAX);
		return;
	}
	dl = api_query(req, "deadline");
	if (dl != NULL && api_routes_deadline(dl, &deadline) == -1) {
		api_error(rep, 400, "bad_request", "'deadline': a time in Unix "
		    "milliseconds (agent clock)");
		return;
	}
	if (route_wlock_timed(ROUTES_WLOCK_WAIT_MS) == -1) {
		rep->retry_after = 1;
		api_error(rep, 503, "busy", "a route change is still being "
		    "committed; ask again");
		return;
	}
	rc = route_sql_get_request(req->actor, key, &status, &fp, &body, err,
	    sizeof(err));
	now = clock_wall_ms();
	route_wunlock();
	if (rc == -1) {
		rep->retry_after = 5;
		api_error(rep, 503, "unavailable", "%s", err);
	} else if (rc == 1) {
		buf_adds(&rep->body, "{\"key\":");
		buf_add_json_str(&rep->body, key);
		buf_printf(&rep->body, ",\"status\":%d,\"outcome\":%s}", status,
		    body);
	} else if (deadline > 0 && now > deadline) {
		api_error(rep, 404, "not_applied", "no request with this key "
		    "was applied, and none can be: its deadline passed %"
		    PRId64 " ms ago (agent time %" PRId64 ")", now - deadline,
		    now);
	} else {
		rep->retry_after = deadline > now && deadline - now < 5000 ?
		    (int)((deadline - now) / 1000 + 1) : deadline > now ? 5 : 1;
		api_error(rep, 425, "deadline_pending", "no request with this "
		    "key was decided yet, and its deadline has not passed "
		    "(agent time %" PRId64 ")", now);
	}
	free(fp);
	free(body);
}

/* No token: load balancers and kubelets poll it.  200 only when ready. */
static void
api_routes_health(struct api_req *req, struct api_reply *rep)
{
	enum route_effective	 eff;
	const char		*name = req->args[0];

	if (!api_routes_name_ok(name)) {
		api_error(rep, 404, "not_found", "no such route");
		return;
	}
	if (route_get_effective(name, &eff) == -1) {
		api_error(rep, 404, "not_found", "route '%s' is not defined",
		    name);
		return;
	}
	rep->status = eff == ROUTE_EFF_READY ? 200 : 503;
	buf_adds(&rep->body, "{\"route\":");
	buf_add_json_str(&rep->body, name);
	buf_printf(&rep->body, ",\"effective\":\"%s\"}",
	    route_effective_str(eff));
}

const struct api_handler api_routes_handlers[] = {
	{ "GET", "/v1/routes", ROLE_VIEWER, 0, api_routes_list },
	{ "POST", "/v1/routes/drain", ROLE_OPERATOR, 1,
	    api_routes_drain_batch },
	{ "POST", "/v1/routes/undrain", ROLE_OPERATOR, 1,
	    api_routes_undrain_batch },
	{ "POST", "/v1/routes/*/drain", ROLE_OPERATOR, 1, api_routes_drain },
	{ "POST", "/v1/routes/*/undrain", ROLE_OPERATOR, 1,
	    api_routes_undrain },
	{ "GET", "/v1/routes/*/health", ROLE_NONE, 0, api_routes_health },
	{ "GET", "/v1/requests/*", ROLE_OPERATOR, 0, api_routes_request_get },
	{ NULL, NULL, ROLE_NONE, 0, NULL }
};
