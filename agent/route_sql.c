/*
 * route_sql.c - the route tables in SQLite: route_state (the committed
 * operator state of each route), request_key (decided requests by their
 * Idempotency-Key) and the audit rows that go with them, all on one
 * connection of ours so that a change, its audit rows and its stored
 * answer commit in one transaction or not at all.
 *
 * Everything here runs under the route writer lock (route_wlock), held
 * by the API thread or the keeper that is committing; never on the loop.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vantaged.h"

#define ROUTE_SQL_KEY_KEEP_MS	(24 * 3600 * 1000LL)	/* request keys */

static sqlite3	*route_db;

int
route_sql_open(char *err, size_t errlen)
{
	if (vd == NULL || vd->store == NULL) {
		snprintf(err, errlen, "the store is not open");
		return -1;
	}
	if ((route_db = store_connect(vd->store, 0, err, errlen)) == NULL)
		return -1;
	return 0;
}

void
route_sql_close(void)
{
	if (route_db != NULL)
		sqlite3_close(route_db);
	route_db = NULL;
}

static int
route_sql_err(char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", route_db != NULL ?
	    sqlite3_errmsg(route_db) : "no database connection");
	return -1;
}

int
route_sql_begin(char *err, size_t errlen)
{
	if (route_db == NULL ||
	    sqlite3_exec(route_db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return route_sql_err(err, errlen);
	return 0;
}

int
route_sql_commit(char *err, size_t errlen)
{
	if (sqlite3_exec(route_db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		route_sql_err(err, errlen);
		route_sql_rollback();
		return -1;
	}
	return 0;
}

void
route_sql_rollback(void)
{
	if (route_db != NULL && !sqlite3_get_autocommit(route_db))
		(void)sqlite3_exec(route_db, "ROLLBACK", NULL, NULL, NULL);
}

static int
route_sql_step(sqlite3_stmt *st, char *err, size_t errlen)
{
	int	rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return route_sql_err(err, errlen);
	return 0;
}

int
route_sql_put(const char *name, const struct route_next *n, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(route_db, "INSERT OR REPLACE INTO route_state "
	    "(name, state, reason, actor, operator, since_ms, expires_ms, "
	    "forced, request_key, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    -1, &st, NULL) != SQLITE_OK)
		return route_sql_err(err, errlen);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, route_state_str(n->state), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, n->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, n->operator, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, n->since_ms);
	if (n->expires_ms > 0)
		sqlite3_bind_int64(st, 7, n->expires_ms);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_int(st, 8, n->forced);
	sqlite3_bind_text(st, 9, n->key != NULL ? n->key : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 10, n->batch != NULL ? n->batch : "", -1,
	    SQLITE_STATIC);
	return route_sql_step(st, err, errlen);
}

int
route_sql_forget(const char *name, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(route_db, "DELETE FROM route_state WHERE "
	    "name = ?", -1, &st, NULL) != SQLITE_OK)
		return route_sql_err(err, errlen);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return route_sql_step(st, err, errlen);
}

int
route_sql_audit(const struct audit_entry *ae, int64_t *id, char *err,
    size_t errlen)
{
	return audit_insert(route_db, ae, id, err, errlen);
}

int
route_sql_put_request(const char *actor, const char *key,
    const char *fingerprint, int status, const char *body, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(route_db, "INSERT INTO request_key (actor, key, "
	    "t_ms, fingerprint, status, body) VALUES (?, ?, ?, ?, ?, ?)", -1,
	    &st, NULL) != SQLITE_OK)
		return route_sql_err(err, errlen);
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, clock_wall_ms());
	sqlite3_bind_text(st, 4, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, status);
	sqlite3_bind_text(st, 6, body, -1, SQLITE_STATIC);
	return route_sql_step(st, err, errlen);
}

int
route_sql_get_request(const char *actor, const char *key, int *status,
    char **fingerprint, char **body, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if (route_db == NULL || sqlite3_prepare_v2(route_db, "SELECT status, "
	    "fingerprint, body FROM request_key WHERE actor = ? AND key = ? "
	    "AND t_ms >= ?", -1, &st, NULL) != SQLITE_OK)
		return route_sql_err(err, errlen);
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, clock_wall_ms() - ROUTE_SQL_KEY_KEEP_MS);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*status = sqlite3_column_int(st, 0);
		*fingerprint = xstrdup((const char *)sqlite3_column_text(st,
		    1));
		*body = xstrdup((const char *)sqlite3_column_text(st, 2));
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return route_sql_err(err, errlen);
	return 0;
}

int
route_sql_trim_requests(int64_t now_ms)
{
	sqlite3_stmt	*st = NULL;
	int		 n = -1;

	if (route_db == NULL || sqlite3_prepare_v2(route_db, "DELETE FROM "
	    "request_key WHERE (actor, key) IN (SELECT actor, key FROM "
	    "request_key WHERE t_ms < ? LIMIT ?)", -1, &st, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_int64(st, 1, now_ms - ROUTE_SQL_KEY_KEEP_MS);
	sqlite3_bind_int(st, 2, ROUTE_SQL_TRIM_ROWS);
	if (sqlite3_step(st) == SQLITE_DONE)
		n = sqlite3_changes(route_db);
	sqlite3_finalize(st);
	return n;
}

static char *
route_sql_text(sqlite3_stmt *st, int col)
{
	const char	*s = (const char *)sqlite3_column_text(st, col);

	return xstrdup(s != NULL ? s : "");
}

int
route_sql_load(struct buf *gone, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 src;

	if (sqlite3_prepare_v2(route_db, "SELECT name, state, reason, actor, "
	    "operator, since_ms, expires_ms, forced, request_key, batch FROM "
	    "route_state", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "route state: %s",
		    sqlite3_errmsg(route_db));
		return -1;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char	*name = (const char *)sqlite3_column_text(st, 0);
		const char	*state = (const char *)sqlite3_column_text(st, 1);
		const char	*reason = (const char *)sqlite3_column_text(st, 2);
		enum route_state s;
		struct route	*r;

		if (name == NULL || state == NULL ||
		    route_state_parse(state, &s) == -1)
			continue;
		if (reason == NULL)
			reason = "";
		route_lock();
		if ((r = route_find(name)) == NULL) {
			route_unlock();
			buf_add(gone, name, strlen(name) + 1);
			buf_add(gone, state, strlen(state) + 1);
			buf_add(gone, reason, strlen(reason) + 1);
			continue;
		}
		r->state = s;
		free(r->reason);
		free(r->actor);
		free(r->operator);
		free(r->key);
		free(r->batch);
		r->reason = xstrdup(reason);
		r->actor = route_sql_text(st, 3);
		r->operator = route_sql_text(st, 4);
		r->since_ms = sqlite3_column_int64(st, 5);
		r->expires_ms = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 :
		    sqlite3_column_int64(st, 6);
		r->forced = sqlite3_column_int(st, 7) != 0;
		r->key = route_sql_text(st, 8);
		r->batch = route_sql_text(st, 9);
		if (s != ROUTE_ACTIVE)
			log_info("route %s: %s since %" PRId64 " (kept across "
			    "restart): %s", r->name, state, r->since_ms,
			    r->reason);
		route_unlock();
	}
	sqlite3_finalize(st);
	if (src != SQLITE_DONE) {
		snprintf(err, errlen, "route state: %s",
		    sqlite3_errmsg(route_db));
		return -1;
	}
	return 0;
}

int
route_sql_system(const char *name, const struct route_next *n, int forget,
    const struct audit_entry *ae, char *msg, size_t len)
{
	char	err[512];
	int64_t	id = 0;

	err[0] = '\0';
	if (route_sql_begin(err, sizeof(err)) == -1)
		goto fail;
	if ((forget ? route_sql_forget(name, err, sizeof(err)) :
	    route_sql_put(name, n, err, sizeof(err))) == -1 ||
	    (ae != NULL && route_sql_audit(ae, &id, err, sizeof(err)) == -1)) {
		route_sql_rollback();
		goto fail;
	}
	if (route_sql_commit(err, sizeof(err)) == -1)
		goto fail;
	if (ae != NULL)
		audit_committed(ae, id);
	return 0;
fail:
	snprintf(msg, len, "the change could not be recorded, nothing was "
	    "changed: %s", err);
	log_warnx("route %s: %s refused: %s", name, ae != NULL ? ae->action :
	    "forget", err);
	return -1;
}

void
route_sql_forget_route(const char *name, enum route_state state,
    const char *reason)
{
	struct audit_entry	 ae;
	struct route_next	 none;
	struct buf		 detail;
	char			 msg[512];

	memset(&none, 0, sizeof(none));
	buf_init(&detail);
	buf_printf(&detail, "removed from the config while %s: %s",
	    route_state_str(state), reason);
	audit_system(&ae, "agent", "forget", name, detail.data, "ok");
	if (route_sql_system(name, &none, 1, state == ROUTE_ACTIVE ? NULL :
	    &ae, msg, sizeof(msg)) == -1)
		log_warnx("route %s: %s", name, msg);
	buf_free(&detail);
}
