/*
 * api_routes.c - /v1/routes: list, drain, undrain and the token-free
 * health endpoint that load balancers and readiness probes poll.
 *
 * Bodies are untrusted: every field is checked for type, range and length
 * and unknown fields are refused, so a typo ("ttl": 60) is a 400 rather
 * than a drain without the expiry the operator meant.  The work and the
 * audit row are route.c's; this file only translates.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "vantaged.h"

#define ROUTES_REASON_MAX	500
#define ROUTES_TTL_MAX		2592000		/* 30 days */

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
api_routes_request(struct api_req *req, struct route_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->actor = req->actor != NULL ? req->actor : "";
	rq->role = api_role_str(req->role);
	rq->operator_hdr = req->operator_hdr != NULL ? req->operator_hdr : "";
	rq->source = req->source != NULL ? req->source : "";
	rq->mode = ROUTE_DRAINING;
}

/* Parses {"reason":...} plus, for a drain, ttl_s, mode and force. */
static cJSON *
api_routes_body(struct api_req *req, struct api_reply *rep, int drain,
    struct route_request *rq)
{
	static const char *const drain_keys[] = { "reason", "ttl_s", "mode",
	    "force", NULL };
	static const char *const undrain_keys[] = { "reason", NULL };
	cJSON		*j;
	const char	*mode = NULL;
	char		 err[256];
	int64_t		 ttl = 0;
	int		 force = 0;

	if ((j = json_parse_object(req->body, req->body_len, err,
	    sizeof(err))) == NULL) {
		api_error(rep, 400, "bad_request", "%s", err);
		return NULL;
	}
	if (json_only_keys(j, drain ? drain_keys : undrain_keys, err,
	    sizeof(err)) == -1 ||
	    json_get_str(j, "reason", JSON_REQUIRED, ROUTES_REASON_MAX,
	    &rq->reason, err, sizeof(err)) == -1)
		goto bad;
	if (rq->reason[0] == '\0') {
		snprintf(err, sizeof(err), "'reason' must not be empty");
		goto bad;
	}
	if (!api_routes_text_ok(rq->reason)) {
		snprintf(err, sizeof(err), "'reason' must be UTF-8 text "
		    "without control characters");
		goto bad;
	}
	if (drain) {
		if (json_get_int(j, "ttl_s", JSON_OPTIONAL, 1, ROUTES_TTL_MAX,
		    &ttl, err, sizeof(err)) == -1 ||
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
		rq->ttl_s = ttl;
		rq->force = force;
	}
	return j;
bad:
	api_error(rep, 400, "bad_request", "%s", err);
	cJSON_Delete(j);
	return NULL;
}

static const char *
api_routes_code(int status)
{
	switch (status) {
	case 404:
		return "not_found";
	case 409:
		return "pool_guard";
	case 503:
		return "unavailable";
	default:
		return "bad_request";
	}
}

static void
api_routes_change(struct api_req *req, struct api_reply *rep, int drain)
{
	struct route_request	 rq;
	cJSON			*j;
	char			 msg[600];
	const char		*name = req->args[0];
	int			 status;

	if (!api_routes_name_ok(name)) {
		api_error(rep, 404, "not_found", "no such route");
		return;
	}
	api_routes_request(req, &rq);
	if ((j = api_routes_body(req, rep, drain, &rq)) == NULL)
		return;
	msg[0] = '\0';
	buf_reset(&rep->body);
	status = drain ? route_drain(name, &rq, &rep->body, msg, sizeof(msg)) :
	    route_undrain(name, &rq, &rep->body, msg, sizeof(msg));
	cJSON_Delete(j);
	if (status == 200) {
		rep->status = 200;
		return;
	}
	buf_reset(&rep->body);
	if (status == 503)
		rep->retry_after = 5;
	api_error(rep, status, api_routes_code(status), "%s", msg);
}

static void
api_routes_list(struct api_req *req, struct api_reply *rep)
{
	buf_addc(&rep->body, '{');
	route_json(&rep->body);
	buf_addc(&rep->body, '}');
}

static void
api_routes_drain(struct api_req *req, struct api_reply *rep)
{
	api_routes_change(req, rep, 1);
}

static void
api_routes_undrain(struct api_req *req, struct api_reply *rep)
{
	api_routes_change(req, rep, 0);
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
	{ "POST", "/v1/routes/*/drain", ROLE_OPERATOR, 1, api_routes_drain },
	{ "POST", "/v1/routes/*/undrain", ROLE_OPERATOR, 1,
	    api_routes_undrain },
	{ "GET", "/v1/routes/*/health", ROLE_NONE, 0, api_routes_health },
	{ NULL, NULL, ROLE_NONE, 0, NULL }
};
