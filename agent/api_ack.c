/*
 * api_ack.c - acknowledging a firing probe: POST and DELETE
 * /v1/probes/NAME/ack.  While acknowledged, the probe's firing alerts
 * are not sent again (alert.c keeps the ack, in memory and the store);
 * GET /v1/status shows it on the probe.  Both are audited, like route
 * changes, refusals of them included.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "text.h"
#include "vantaged.h"

#define ACK_REASON_MAX		500
#define ACK_TTL_DEFAULT		3600		/* s */
#define ACK_TTL_MAX		604800		/* 7 days */
#define ACK_NAME_MAX		128

static int
api_ack_name_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n <= ACK_NAME_MAX && text_is_clean(s);
}

static void
api_ack_audit(struct api_req *req, const char *action, const char *detail,
    const char *result)
{
	struct audit_entry	e;
	char			aerr[256];
	int64_t			id;

	memset(&e, 0, sizeof(e));
	e.actor = req->actor != NULL ? req->actor : "";
	e.role = api_role_str(req->role);
	e.operator_hdr = req->operator_hdr != NULL ? req->operator_hdr : "";
	e.source = req->source != NULL ? req->source : "";
	e.action = action;
	e.target = req->args[0];
	e.detail = detail;
	e.result = result;
	if (audit_append(&e, &id, aerr, sizeof(aerr)) == -1)
		log_warnx("api: %s of probe %s by %s not audited: %s", action,
		    req->args[0], e.actor, aerr);
}

static const char *
api_ack_code(int status)
{
	switch (status) {
	case 404:
		return "not_found";
	case 409:
		return "not_firing";
	default:
		return "unavailable";
	}
}

static void
api_ack_post(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { "reason", "ttl_s", NULL };
	const char	*reason = NULL;
	const char	*by = req->actor != NULL ? req->actor : "";
	char		 err[512], detail[ACK_REASON_MAX + 64];
	int64_t		 ttl = ACK_TTL_DEFAULT, until = 0;
	cJSON		*j;
	int		 rc;

	if (!api_ack_name_ok(req->args[0])) {
		api_error(rep, 404, "not_found", "no such probe");
		return;
	}
	if ((j = api_body_object(req, rep, keys, 0)) == NULL)
		return;
	if (json_get_str(j, "reason", JSON_REQUIRED, ACK_REASON_MAX, &reason,
	    err, sizeof(err)) == -1 || json_get_int(j, "ttl_s", JSON_OPTIONAL,
	    1, ACK_TTL_MAX, &ttl, err, sizeof(err)) == -1)
		goto bad;
	if (reason[0] == '\0') {
		snprintf(err, sizeof(err), "'reason' must not be empty");
		goto bad;
	}
	if (!text_is_clean(reason)) {
		snprintf(err, sizeof(err), "'reason' must be UTF-8 text "
		    "without control characters (C0, C1, bidi controls)");
		goto bad;
	}
	rc = alert_ack_set(req->args[0], by, reason, ttl * 1000, &until, err,
	    sizeof(err));
	snprintf(detail, sizeof(detail), "%s (for %" PRId64 "s)", reason, ttl);
	api_ack_audit(req, "ack", rc == 0 ? detail : err, rc == 0 ? "ok" :
	    rc == 503 ? "failed" : "refused");
	if (rc != 0) {
		if (rc == 503)
			rep->retry_after = 5;
		api_error(rep, rc, api_ack_code(rc), "%s", err);
		cJSON_Delete(j);
		return;
	}
	buf_adds(&rep->body, "{\"probe\":");
	buf_add_json_str(&rep->body, req->args[0]);
	buf_adds(&rep->body, ",\"ack\":{\"by\":");
	buf_add_json_str(&rep->body, by);
	buf_adds(&rep->body, ",\"reason\":");
	buf_add_json_str(&rep->body, reason);
	buf_printf(&rep->body, ",\"until_ms\":%" PRId64 "}}", until);
	cJSON_Delete(j);
	return;
bad:
	api_error(rep, 400, "bad_request", "%s", err);
	cJSON_Delete(j);
}

static void
api_ack_delete(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { NULL };
	char	 err[512];
	cJSON	*j;
	int	 rc;

	if (!api_ack_name_ok(req->args[0])) {
		api_error(rep, 404, "not_found", "no such probe");
		return;
	}
	if ((j = api_body_object(req, rep, keys, 1)) == NULL)
		return;
	cJSON_Delete(j);
	rc = alert_ack_del(req->args[0], err, sizeof(err));
	api_ack_audit(req, "unack", rc == 0 ? "acknowledgement removed" : err,
	    rc == 0 ? "ok" : rc == 503 ? "failed" : "refused");
	if (rc != 0) {
		if (rc == 503)
			rep->retry_after = 5;
		api_error(rep, rc, api_ack_code(rc), "%s", err);
		return;
	}
	buf_adds(&rep->body, "{\"probe\":");
	buf_add_json_str(&rep->body, req->args[0]);
	buf_adds(&rep->body, ",\"ack\":null}");
}

const struct api_handler api_ack_handlers[] = {
	{ "POST", "/v1/probes/*/ack", ROLE_OPERATOR, 1, api_ack_post },
	{ "DELETE", "/v1/probes/*/ack", ROLE_OPERATOR, 1, api_ack_delete },
	{ NULL, NULL, ROLE_NONE, 0, NULL }
};
