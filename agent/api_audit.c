/*
 * api_audit.c - /v1/audit (the log a page at a time: oldest first from
 * the `after` cursor, or newest first below the `before` cursor, which is
 * how a console shows the latest rows without reading the whole trail)
 * and /v1/audit/verify (a walk over the hash chain, see audit.c).
 *
 * Reads go through the API thread's own read-only connection
 * (api_reader), so a long verify never holds up a writer and no two
 * threads share a connection.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vantaged.h"

#define AUDIT_PAGE_DEFAULT	500
#define AUDIT_PAGE_MAX		5000
#define AUDIT_FILTER_MAX	128

/* A non-negative integer query argument within [min, max], or -1. */
static int
api_audit_num(struct api_req *req, struct api_reply *rep, const char *key,
    long min, long max, long *out)
{
	const char	*v = api_query(req, key);
	char		 err[128];

	if (v == NULL)
		return 0;
	if (parse_long(v, min, max, out, err, sizeof(err)) == -1) {
		api_error(rep, 400, "bad_request", "'%s' must be a whole "
		    "number from %ld to %ld", key, min, max);
		return -1;
	}
	return 1;
}

static int
api_audit_filter(struct api_req *req, struct api_reply *rep,
    const char *key, const char **out)
{
	const char	*v = api_query(req, key);
	size_t		 i;

	*out = NULL;
	if (v == NULL || v[0] == '\0')
		return 0;
	for (i = 0; v[i] != '\0'; i++) {
		if ((unsigned char)v[i] < 0x20 || i >= AUDIT_FILTER_MAX) {
			api_error(rep, 400, "bad_request", "'%s' must be at "
			    "most %d printable characters", key,
			    AUDIT_FILTER_MAX);
			return -1;
		}
	}
	*out = v;
	return 1;
}

static void
api_audit_str(struct buf *b, const char *key, sqlite3_stmt *st, int col)
{
	const char	*v = (const char *)sqlite3_column_text(st, col);

	buf_printf(b, ",\"%s\":", key);
	buf_add_json_str(b, v != NULL ? v : "");
}

static void
api_audit_list(struct api_req *req, struct api_reply *rep)
{
	sqlite3		*db;
	sqlite3_stmt	*st = NULL;
	const char	*actor, *action;
	struct buf	 q;
	long		 after = 0, before = 0, limit = AUDIT_PAGE_DEFAULT;
	long		 n = 0;
	int64_t		 last = 0;
	int		 src, more = 0, i, has_after, has_before;

	buf_init(&q);
	if ((has_after = api_audit_num(req, rep, "after", 0, INT64_MAX,
	    &after)) == -1 ||
	    (has_before = api_audit_num(req, rep, "before", 1, INT64_MAX,
	    &before)) == -1 ||
	    api_audit_num(req, rep, "limit", 1, AUDIT_PAGE_MAX, &limit) == -1 ||
	    api_audit_filter(req, rep, "actor", &actor) == -1 ||
	    api_audit_filter(req, rep, "action", &action) == -1)
		return;
	if (has_after && has_before) {
		/* two cursors would need a direction and a range: one page */
		api_error(rep, 400, "bad_request", "'after' and 'before' "
		    "cannot be used together");
		return;
	}
	if ((db = api_reader(rep)) == NULL)
		return;
	buf_adds(&q, "SELECT id, t_ms, actor, role, operator, source, action, "
	    "target, detail, result, hash, request_key, batch FROM audit "
	    "WHERE ");
	buf_adds(&q, has_before ? "id < ?1" : "id > ?1");
	if (actor != NULL)
		buf_adds(&q, " AND actor = ?2");
	if (action != NULL)
		buf_adds(&q, " AND action = ?3");
	buf_adds(&q, has_before ? " ORDER BY id DESC LIMIT ?4" :
	    " ORDER BY id LIMIT ?4");
	if (sqlite3_prepare_v2(db, q.data, -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, has_before ? before : after);
	if (actor != NULL)
		sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	if (action != NULL)
		sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	/* one more than asked: tells whether there is a next page */
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit + 1);
	buf_adds(&rep->body, "{\"audit\":[");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = 1;
			break;
		}
		last = sqlite3_column_int64(st, 0);
		if (n++ > 0)
			buf_addc(&rep->body, ',');
		buf_printf(&rep->body, "{\"id\":%" PRId64 ",\"t_ms\":%" PRId64,
		    last, (int64_t)sqlite3_column_int64(st, 1));
		{
			static const char *const keys[] = { "actor", "role",
			    "operator", "source", "action", "target", "detail",
			    "result", "hash", "key", "batch" };

			for (i = 0; i < 11; i++)
				api_audit_str(&rep->body, keys[i], st, 2 + i);
		}
		buf_addc(&rep->body, '}');
	}
	if (!more && src != SQLITE_DONE)
		goto dberr;
	buf_adds(&rep->body, "],\"next\":");
	if (n > 0)
		buf_printf(&rep->body, "%" PRId64, last);
	else
		buf_adds(&rep->body, "null");
	buf_printf(&rep->body, ",\"more\":%s}", more ? "true" : "false");
	goto done;
dberr:
	buf_reset(&rep->body);
	rep->retry_after = 5;
	api_error(rep, 503, "unavailable", "audit log: %s",
	    sqlite3_errmsg(db));
done:
	sqlite3_finalize(st);
	buf_free(&q);
}

static void
api_audit_verify(struct api_req *req, struct api_reply *rep)
{
	struct audit_verify	 v;
	sqlite3			*db;
	char			 err[256];

	if ((db = api_reader(rep)) == NULL)
		return;
	if (audit_verify(db, &v, err, sizeof(err)) == -1) {
		rep->retry_after = 5;
		api_error(rep, 503, "unavailable", "%s", err);
		return;
	}
	if (v.ok) {
		buf_printf(&rep->body, "{\"ok\":true,\"rows\":%" PRId64
		    ",\"pruned\":%" PRId64 ",\"head\":\"%s\"}", v.rows,
		    v.pruned, v.head);
		return;
	}
	buf_printf(&rep->body, "{\"ok\":false,\"rows\":%" PRId64 ",\"pruned\":%"
	    PRId64 ",\"bad_id\":%" PRId64 ",\"message\":", v.rows, v.pruned,
	    v.bad_id);
	buf_add_json_str(&rep->body, v.message);
	buf_adds(&rep->body, ",\"head\":");
	buf_add_json_str(&rep->body, v.head);
	buf_addc(&rep->body, '}');
}

const struct api_handler api_audit_handlers[] = {
	{ "GET", "/v1/audit", ROLE_VIEWER, 0, api_audit_list },
	{ "GET", "/v1/audit/verify", ROLE_VIEWER, 0, api_audit_verify },
	{ NULL, NULL, ROLE_NONE, 0, NULL }
};
