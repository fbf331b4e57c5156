/*
 * api_events.c - GET /v1/events: the probes' stored state changes
 * (schema/005_events.sql, written by alert.c with their alerts), newest
 * first a page at a time, and the incidents they make: a run of states
 * other than UP, from the change that left UP to the one that returned.
 *
 * Answers with the API thread's read-only connection; nothing here
 * writes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vantaged.h"

#define EVENTS_PAGE_DEFAULT	100
#define EVENTS_PAGE_MAX		1000
#define EVENTS_INCIDENTS_MAX	100	/* newest incidents in an answer */
#define EVENTS_SCAN_MAX		100000	/* events walked for incidents */
#define EVENTS_NAME_MAX		128
#define EVENTS_MS_MAX		(INT64_C(1) << 53)

/* An incident being followed while walking one probe's events. */
struct events_incident {
	char	*probe;
	int64_t	 start_ms;
	int64_t	 end_ms;	/* 0: still open */
	int	 worst_down;	/* down, not only degraded */
	char	*cause;		/* of the change that opened it */
};

static void
events_incident_free(struct events_incident *v, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		free(v[i].probe);
		free(v[i].cause);
	}
	free(v);
}

static void
events_str(struct buf *b, const char *key, const unsigned char *v)
{
	buf_printf(b, ",\"%s\":", key);
	buf_add_json_str(b, v != NULL ? (const char *)v : "");
}

static int
events_newest_first(const void *a, const void *b)
{
	const struct events_incident *x = a, *y = b;

	return x->start_ms < y->start_ms ? 1 : x->start_ms > y->start_ms ?
	    -1 : strcmp(x->probe, y->probe);
}

/*
 * The incidents that overlap [since, until] of the probes matched (all
 * when probe is NULL), newest first, appended as "incidents":[...].
 */
static int
events_incidents(sqlite3 *db, const char *probe, int64_t since,
    int64_t until, struct buf *b)
{
	struct events_incident	*v = NULL, *open = NULL;
	sqlite3_stmt		*st = NULL;
	char			*cur = NULL;
	int			 n = 0, cap = 0, i, k, rc, scanned = 0;

	if (sqlite3_prepare_v2(db, "SELECT probe, t_ms, from_state, to_state, "
	    "cause FROM event WHERE (?1 IS NULL OR probe = ?1) AND t_ms <= ?2 "
	    "ORDER BY probe, t_ms, id", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (probe != NULL)
		sqlite3_bind_text(st, 1, probe, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, until);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    scanned++ < EVENTS_SCAN_MAX) {
		const char	*p = (const char *)sqlite3_column_text(st, 0);
		int64_t		 t = sqlite3_column_int64(st, 1);
		const char	*to = (const char *)sqlite3_column_text(st, 3);

		if (p == NULL || to == NULL)
			continue;
		if (cur == NULL || strcmp(cur, p) != 0) {
			free(cur);
			cur = xstrdup(p);
			open = NULL;
		}
		if (strcmp(to, "up") == 0) {
			if (open != NULL)
				open->end_ms = t;
			open = NULL;
			continue;
		}
		if (open == NULL) {
			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				v = xreallocarray(v, (size_t)cap, sizeof(*v));
			}
			open = &v[n++];
			memset(open, 0, sizeof(*open));
			open->probe = xstrdup(p);
			open->start_ms = t;
			open->cause = xstrdup((const char *)
			    sqlite3_column_text(st, 4) != NULL ? (const char *)
			    sqlite3_column_text(st, 4) : "");
		}
		if (strcmp(to, "down") == 0)
			open->worst_down = 1;
	}
	sqlite3_finalize(st);
	free(cur);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		events_incident_free(v, n);
		return -1;
	}
	/* those overlapping the window, newest start first */
	for (i = 0, k = 0; i < n; i++) {
		if (v[i].end_ms == 0 || v[i].end_ms >= since)
			v[k++] = v[i];
		else {
			free(v[i].probe);
			free(v[i].cause);
		}
	}
	n = k;
	if (n > 0)
		qsort(v, (size_t)n, sizeof(*v), events_newest_first);
	buf_adds(b, ",\"incidents\":[");
	for (i = 0; i < n && i < EVENTS_INCIDENTS_MAX; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"probe\":");
		buf_add_json_str(b, v[i].probe);
		buf_printf(b, ",\"start_ms\":%" PRId64 ",\"end_ms\":",
		    v[i].start_ms);
		if (v[i].end_ms != 0)
			buf_printf(b, "%" PRId64 ",\"duration_ms\":%" PRId64
			    ",\"open\":false", v[i].end_ms, v[i].end_ms -
			    v[i].start_ms);
		else
			buf_printf(b, "null,\"duration_ms\":%" PRId64
			    ",\"open\":true", clock_wall_ms() -
			    v[i].start_ms);
		buf_printf(b, ",\"worst\":\"%s\",\"cause\":",
		    v[i].worst_down ? "down" : "degraded");
		buf_add_json_str(b, v[i].cause);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
	events_incident_free(v, n);
	return 0;
}

/* GET /v1/events?since=&until=&probe=&cursor=&limit= */
static void
events_list(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { "since", "until", "probe",
	    "cursor", "limit", NULL };
	sqlite3		*db;
	sqlite3_stmt	*st = NULL;
	const char	*probe;
	char		 err[256];
	int64_t		 since, until, cursor, limit, last = 0;
	int		 n = 0, more = 0, src;

	if (api_query_only(&req->query, keys, err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "since", 0, EVENTS_MS_MAX, 0, &since,
	    err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "until", 0, EVENTS_MS_MAX,
	    EVENTS_MS_MAX, &until, err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "cursor", 1, INT64_MAX, INT64_MAX,
	    &cursor, err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "limit", 1, EVENTS_PAGE_MAX,
	    EVENTS_PAGE_DEFAULT, &limit, err, sizeof(err)) == -1) {
		api_error(rep, 400, "bad_request", "%s", err);
		return;
	}
	probe = api_query(req, "probe");
	if (probe != NULL && (probe[0] == '\0' ||
	    strlen(probe) > EVENTS_NAME_MAX)) {
		api_error(rep, 400, "bad_request", "'probe' must be a probe "
		    "name of 1 to %d characters", EVENTS_NAME_MAX);
		return;
	}
	if (since > until) {
		api_error(rep, 400, "bad_request", "'since' is after 'until'");
		return;
	}
	if ((db = api_reader(rep)) == NULL)
		return;
	/* one read transaction: the page and its incidents agree */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	if (sqlite3_prepare_v2(db, "SELECT id, probe, t_ms, from_state, "
	    "to_state, cause, result_t_ms FROM event WHERE id < ?1 AND "
	    "t_ms >= ?2 AND t_ms <= ?3 AND (?4 IS NULL OR probe = ?4) "
	    "ORDER BY id DESC LIMIT ?5", -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, cursor);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, until);
	if (probe != NULL)
		sqlite3_bind_text(st, 4, probe, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, limit + 1);
	buf_adds(&rep->body, "{\"events\":[");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = 1;
			break;
		}
		last = sqlite3_column_int64(st, 0);
		if (n++ > 0)
			buf_addc(&rep->body, ',');
		buf_printf(&rep->body, "{\"id\":%" PRId64, last);
		events_str(&rep->body, "probe", sqlite3_column_text(st, 1));
		buf_printf(&rep->body, ",\"t_ms\":%" PRId64,
		    (int64_t)sqlite3_column_int64(st, 2));
		events_str(&rep->body, "from", sqlite3_column_text(st, 3));
		events_str(&rep->body, "to", sqlite3_column_text(st, 4));
		events_str(&rep->body, "cause", sqlite3_column_text(st, 5));
		buf_adds(&rep->body, ",\"result_t_ms\":");
		if (sqlite3_column_type(st, 6) == SQLITE_NULL)
			buf_adds(&rep->body, "null");
		else
			buf_printf(&rep->body, "%" PRId64,
			    (int64_t)sqlite3_column_int64(st, 6));
		buf_addc(&rep->body, '}');
	}
	if (!more && src != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	buf_adds(&rep->body, "],\"next\":");
	if (more)
		buf_printf(&rep->body, "%" PRId64, last);
	else
		buf_adds(&rep->body, "null");
	buf_printf(&rep->body, ",\"more\":%s", more ? "true" : "false");
	if (events_incidents(db, probe, since, until, &rep->body) == -1)
		goto dberr;
	buf_addc(&rep->body, '}');
	(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return;
dberr:
	buf_reset(&rep->body);
	rep->retry_after = 1;
	api_error(rep, 503, "unavailable", "events: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

const struct api_handler api_events_handlers[] = {
	{ "GET", "/v1/events", ROLE_VIEWER, 0, events_list },
	{ NULL, NULL, ROLE_NONE, 0, NULL }
};
