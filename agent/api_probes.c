/*
 * api_probes.c - a probe's definition and its history from the store:
 *   GET /v1/probes/NAME                            its keys and options,
 *                                                  and its newest result
 *   GET /v1/probes/NAME/results?since=MS&limit=N   raw results, a cursor
 *   GET /v1/probes/NAME/series?from=MS&to=MS&step=S rollups for graphs
 *
 * Each API thread reads through its own read-only connection (opened on
 * its first request, closed when the thread ends), so readers never
 * queue behind one another or behind the store's writer (WAL).
 *
 * Definitions change only on a reload: the loop thread renders them then,
 * one "NAME<TAB>JSON" line per probe sorted by name, and a request finds
 * its line by bisecting that snapshot.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vantaged.h"

#define RESULTS_LIMIT_DEF	500
#define RESULTS_LIMIT_MAX	5000
#define SERIES_POINTS_MAX	10000
#define SERIES_STEP_MAX		(31 * 86400)
#define TIME_MS_MAX		(INT64_C(1) << 53)	/* JSON-safe */

static int		 probes_on;		/* the API runs */
static struct api_snap	*probes_conf_snap;	/* of api_probes_tick() */
/*
 * The definitions are rendered on demand (a hundred thousand probes make
 * 25 MB of them): the loop keeps the config to describe and a generation,
 * a request that finds the snapshot older asks the loop and waits.
 */
static const struct config *probes_conf;	/* loop thread */
static _Atomic uint64_t	 probes_conf_gen;
static _Atomic int	 probes_conf_wanted;

static void	probes_get(struct api_req *, struct api_reply *);
static void	probes_results(struct api_req *, struct api_reply *);
static void	probes_series(struct api_req *, struct api_reply *);

const struct api_handler api_probes_handlers[] = {
	{ .method = "GET", .pattern = "/v1/probes/*",
	  .role = ROLE_VIEWER, .fn = probes_get },
	{ .method = "GET", .pattern = "/v1/probes/*/results",
	  .role = ROLE_VIEWER, .fn = probes_results },
	{ .method = "GET", .pattern = "/v1/probes/*/series",
	  .role = ROLE_VIEWER, .fn = probes_series },
	{ .method = NULL }
};

void
api_probes_start(void)
{
	probes_on = 1;
}

void
api_probes_stop(void)
{
	probes_on = 0;
	probes_conf = NULL;
	api_snap_set(&probes_conf_snap, NULL);
}

static int
probes_conf_cmp(const void *a, const void *b)
{
	const struct probe_conf *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

void
api_probes_conf(const struct config *c)
{
	if (!probes_on)
		return;		/* no API to answer */
	probes_conf = c;
	probes_conf_gen++;
}

void
api_probes_tick(void)
{
	const struct config	 *c = probes_conf;
	const struct probe_conf	**v;
	struct api_snap		 *snap;
	struct buf		  b;
	int			  i;

	if (!probes_on || c == NULL || !probes_conf_wanted)
		return;
	probes_conf_wanted = 0;
	/* the loop is the only writer of the slot: no reference needed */
	if (probes_conf_snap != NULL && probes_conf_snap->src ==
	    probes_conf_gen)
		return;
	v = xcalloc((size_t)c->n_probes + 1, sizeof(*v));
	for (i = 0; i < c->n_probes; i++)
		v[i] = c->probes[i];
	qsort(v, (size_t)c->n_probes, sizeof(*v), probes_conf_cmp);
	buf_init(&b);
	for (i = 0; i < c->n_probes; i++) {
		buf_adds(&b, v[i]->name);
		buf_addc(&b, '\t');
		config_probe_json(&b, v[i]);
		buf_addc(&b, '\n');
	}
	snap = api_snap_new(&b, 0, 0);
	snap->src = probes_conf_gen;
	api_snap_set(&probes_conf_snap, snap);
	buf_free(&b);
	free(v);
}

/*
 * The JSON of the line for name in a snapshot of sorted "NAME\tJSON\n"
 * lines (names hold no tab or newline), or NULL.
 */
static const char *
probes_conf_find(const struct api_snap *s, const char *name, size_t *len)
{
	size_t		 lo = 0, hi = s->len, mid, start, nlen = strlen(name);
	const char	*d = s->data, *tab, *nl;
	int		 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		start = mid;
		while (start > lo && d[start - 1] != '\n')
			start--;
		if ((tab = memchr(d + start, '\t', s->len - start)) == NULL ||
		    (nl = memchr(tab, '\n', s->len - (size_t)(tab - d))) ==
		    NULL)
			return NULL;	/* not what api_probes_conf wrote */
		c = strncmp(name, d + start, (size_t)(tab - (d + start)));
		if (c == 0 && nlen != (size_t)(tab - (d + start)))
			c = nlen < (size_t)(tab - (d + start)) ? -1 : 1;
		if (c == 0) {
			*len = (size_t)(nl - tab - 1);
			return tab + 1;
		}
		if (c < 0)
			hi = start;
		else
			lo = (size_t)(nl - d) + 1;
	}
	return NULL;
}

static void	probes_row_json(struct buf *, sqlite3_stmt *);
static int	probes_id(sqlite3 *, const char *, int64_t *,
		    struct api_reply *);
static void	probes_db_error(sqlite3 *, struct api_reply *);

/* The columns probes_row_json() reads, in its order. */
#define PROBES_ROW_COLS	"t_ms, status, latency_us, dns_us, connect_us, " \
			"tls_us, ttfb_us, code, cert_days, error, detail"

/*
 * The newest stored result of the probe with store id id as "last", or
 * null: 0, or -1 after a 503.
 */
static int
probes_last(sqlite3 *db, int64_t id, struct buf *b, struct api_reply *rep)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT " PROBES_ROW_COLS " FROM result "
	    "WHERE probe_id = ?1 ORDER BY t_ms DESC LIMIT 1", -1, &st,
	    NULL) != SQLITE_OK) {
		probes_db_error(db, rep);
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	buf_adds(b, ",\"last\":");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		probes_row_json(b, st);
	else
		buf_adds(b, "null");
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		probes_db_error(db, rep);
		return -1;
	}
	return 0;
}

static void
probes_get(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { NULL };
	struct api_snap	*s;
	struct api_reply tmp;
	sqlite3		*db;
	const char	*doc = NULL;
	char		 err[256];
	size_t		 len = 0;
	int64_t		 id;
	int		 rc;

	if (api_query_only(&req->query, keys, err, sizeof(err)) == -1) {
		api_error(rep, 400, "bad_request", "%s", err);
		return;
	}
	s = api_snap_get(&probes_conf_snap);
	if (s == NULL || s->src != probes_conf_gen) {
		struct api_snap *ns;

		probes_conf_wanted = 1;
		api_wake();
		ns = api_snap_wait(&probes_conf_snap, s, 2000000);
		api_snap_put(s);
		s = ns;
	}
	if (s == NULL) {
		rep->retry_after = 1;
		api_error(rep, 503, "unavailable", "the agent is starting");
		return;
	}
	doc = probes_conf_find(s, req->args[0], &len);
	if (doc == NULL || len < 2 || doc[len - 1] != '}') {
		api_error(rep, 404, "not_found", "no probe '%.200s' here",
		    req->args[0]);
		api_snap_put(s);
		return;
	}
	/* The definition without its closing brace, then "last". */
	buf_add(&rep->body, doc, len - 1);
	api_snap_put(s);
	if ((db = api_reader(rep)) == NULL)
		return;
	/* A probe defined but never run has no store row: last is null. */
	memset(&tmp, 0, sizeof(tmp));
	buf_init(&tmp.body);
	rc = probes_id(db, req->args[0], &id, &tmp);
	buf_free(&tmp.body);
	if (rc == -1) {
		buf_reset(&rep->body);
		probes_db_error(db, rep);
		return;
	}
	if (rc == 0)
		buf_adds(&rep->body, ",\"last\":null");
	else if (probes_last(db, id, &rep->body, rep) == -1)
		return;
	buf_addc(&rep->body, '}');
}

static void
probes_db_error(sqlite3 *db, struct api_reply *rep)
{
	rep->retry_after = 1;
	api_error(rep, 503, "unavailable", "store: %s", sqlite3_errmsg(db));
}

/* The probe's store id: 1, 0 with a 404, -1 with a 503. */
static int
probes_id(sqlite3 *db, const char *name, int64_t *id, struct api_reply *rep)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT id FROM probe WHERE name = ?1", -1,
	    &st, NULL) != SQLITE_OK) {
		probes_db_error(db, rep);
		return -1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		api_error(rep, 404, "not_found", "probe '%.200s' has no history "
		    "here", name);
	else
		probes_db_error(db, rep);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* A number or null; negative counts as "not measured" (-1 in a row). */
static void
probes_col(struct buf *b, sqlite3_stmt *st, int col, const char *key)
{
	buf_printf(b, ",\"%s\":", key);
	if (sqlite3_column_type(st, col) == SQLITE_NULL ||
	    sqlite3_column_int64(st, col) < 0)
		buf_adds(b, "null");
	else
		buf_printf(b, "%lld", (long long)sqlite3_column_int64(st, col));
}

static const char *
probes_status_word(int s)
{
	switch (s) {
	case 0:
		return "ok";
	case 1:
		return "degraded";
	case 3:
		return "unknown";
	default:
		return "fail";
	}
}

/*
 * One result row (PROBES_ROW_COLS) as JSON.  detail holds the members of
 * an object as the probe type wrote them (probe_result_detail).
 */
static void
probes_row_json(struct buf *b, sqlite3_stmt *st)
{
	const char	*text;

	buf_printf(b, "{\"t_ms\":%" PRId64 ",\"status\":\"%s\"",
	    (int64_t)sqlite3_column_int64(st, 0),
	    probes_status_word(sqlite3_column_int(st, 1)));
	probes_col(b, st, 2, "latency_us");
	probes_col(b, st, 3, "dns_us");
	probes_col(b, st, 4, "connect_us");
	probes_col(b, st, 5, "tls_us");
	probes_col(b, st, 6, "ttfb_us");
	probes_col(b, st, 7, "code");
	probes_col(b, st, 8, "cert_days");
	text = (const char *)sqlite3_column_text(st, 9);
	buf_adds(b, ",\"error\":");
	buf_add_json_str(b, text != NULL ? text : "");
	text = (const char *)sqlite3_column_text(st, 10);
	buf_adds(b, ",\"detail\":");
	if (text != NULL && text[0] != '\0') {
		buf_addc(b, '{');
		buf_adds(b, text);
		buf_addc(b, '}');
	} else
		buf_adds(b, "null");
	buf_addc(b, '}');
}

static void
probes_results(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { "since", "limit", NULL };
	sqlite3		*db;
	sqlite3_stmt	*st = NULL;
	int64_t		 since, limit, id, last = -1, n = 0;
	char		 err[256];
	int		 rc, more = 0;

	if (api_query_only(&req->query, keys, err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "since", 0, TIME_MS_MAX, 0, &since,
	    err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "limit", 1, RESULTS_LIMIT_MAX,
	    RESULTS_LIMIT_DEF, &limit, err, sizeof(err)) == -1) {
		api_error(rep, 400, "bad_request", "%s", err);
		return;
	}
	if ((db = api_reader(rep)) == NULL || probes_id(db, req->args[0], &id,
	    rep) != 1)
		return;
	if (sqlite3_prepare_v2(db, "SELECT " PROBES_ROW_COLS " FROM result "
	    "WHERE probe_id = ?1 AND t_ms > ?2 ORDER BY t_ms LIMIT ?3", -1,
	    &st, NULL) != SQLITE_OK) {
		probes_db_error(db, rep);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, limit + 1);	/* one more: is there more? */
	buf_adds(&rep->body, "{\"probe\":");
	buf_add_json_str(&rep->body, req->args[0]);
	buf_adds(&rep->body, ",\"results\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			more = 1;
			break;
		}
		if (n++ > 0)
			buf_addc(&rep->body, ',');
		last = sqlite3_column_int64(st, 0);
		probes_row_json(&rep->body, st);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		probes_db_error(db, rep);
		goto done;
	}
	buf_adds(&rep->body, "],\"next\":");
	if (last >= 0)
		buf_printf(&rep->body, "%" PRId64, last);
	else
		buf_adds(&rep->body, "null");
	buf_printf(&rep->body, ",\"more\":%s}", more ? "true" : "false");
done:
	sqlite3_finalize(st);
}

static void
probes_series(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { "from", "to", "step", NULL };
	sqlite3		*db;
	sqlite3_stmt	*st = NULL;
	int64_t		 from, to, step, id, now = clock_wall_ms(), n = 0;
	char		 err[256], sql[512];
	int		 rc;

	if (api_query_only(&req->query, keys, err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "to", 0, TIME_MS_MAX, now, &to, err,
	    sizeof(err)) == -1 ||
	    api_query_int(&req->query, "from", 0, TIME_MS_MAX, to > 3600000 ?
	    to - 3600000 : 0, &from, err, sizeof(err)) == -1 ||
	    api_query_int(&req->query, "step", 60, SERIES_STEP_MAX, 60, &step,
	    err, sizeof(err)) == -1) {
		api_error(rep, 400, "bad_request", "%s", err);
		return;
	}
	if (step % 60 != 0) {
		api_error(rep, 400, "bad_request", "'step' must be a multiple "
		    "of 60 seconds (the finest rollup)");
		return;
	}
	if (from >= to) {
		api_error(rep, 400, "bad_request", "'from' must be before 'to'");
		return;
	}
	if ((to - from) / (step * 1000) > SERIES_POINTS_MAX) {
		api_error(rep, 400, "bad_request", "more than %d points: raise "
		    "'step' or narrow 'from'..'to'", SERIES_POINTS_MAX);
		return;
	}
	if ((db = api_reader(rep)) == NULL || probes_id(db, req->args[0], &id,
	    rep) != 1)
		return;
	/*
	 * Steps that are whole hours read the hourly rollup, others the
	 * minute one; buckets of a coarser step merge: counts add up, the
	 * mean is weighted, p95 is the highest of the parts (an upper bound).
	 */
	snprintf(sql, sizeof(sql), "SELECT (t_ms / ?4) * ?4 AS b, SUM(n), "
	    "SUM(ok), SUM(degraded), MIN(min_us), SUM(avg_us * n) / "
	    "SUM(CASE WHEN avg_us IS NOT NULL THEN n END), MAX(max_us), "
	    "MAX(p95_us) FROM %s WHERE probe_id = ?1 AND t_ms >= ?2 AND "
	    "t_ms < ?3 GROUP BY b ORDER BY b",
	    step % 3600 == 0 ? "rollup_1h" : "rollup_1m");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		probes_db_error(db, rep);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, step * 1000);
	buf_adds(&rep->body, "{\"probe\":");
	buf_add_json_str(&rep->body, req->args[0]);
	buf_printf(&rep->body, ",\"step_s\":%" PRId64 ",\"points\":[", step);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ > 0)
			buf_addc(&rep->body, ',');
		buf_printf(&rep->body, "{\"t_ms\":%lld",
		    (long long)sqlite3_column_int64(st, 0));
		probes_col(&rep->body, st, 1, "n");
		probes_col(&rep->body, st, 2, "ok");
		probes_col(&rep->body, st, 3, "degraded");
		probes_col(&rep->body, st, 4, "min_us");
		probes_col(&rep->body, st, 5, "avg_us");
		probes_col(&rep->body, st, 6, "max_us");
		probes_col(&rep->body, st, 7, "p95_us");
		buf_addc(&rep->body, '}');
	}
	if (rc != SQLITE_DONE)
		probes_db_error(db, rep);
	else
		buf_adds(&rep->body, "]}");
	sqlite3_finalize(st);
}
