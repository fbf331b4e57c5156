/*
 * store_rollup.c - rollups per minute and per hour of the raw results,
 * on the writer thread: complete buckets (STORE_GRACE_MS after their end)
 * in transactions of a few buckets, each recording its progress in meta
 * with the rows it adds, and buckets redone when late rows reach them.
 * Also the maintenance helpers retention shares (probe ids, failures).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define STORE_INTERNAL
#include "vantaged.h"

#define STORE_GRACE_MS		60000	/* a bucket rolls up this long after */
/*
 * Raw rows kept at least this long cover an hour until it is rolled up
 * (the hour, the grace, a maintenance period, room for a slow pass);
 * under a shorter retention hours are made from the minute rollups.
 */
#define STORE_HOUR_RAW_MS	(2 * 3600000)

/* The rollup levels; progress is the first bucket not yet rolled up. */
static const struct store_level {
	const char	*meta_key;
	enum store_st	 put;
	int64_t		 size_ms;	/* bucket */
	int64_t		 step_ms;	/* buckets per transaction */
} store_levels[] = {
	{ "rollup_1m_next", ST_ROLL_1M, 60000, 600000 },
	{ "rollup_1h_next", ST_ROLL_1H, 3600000, 3600000 },
};
_Static_assert(sizeof(store_levels) / sizeof(store_levels[0]) ==
    STORE_NLEVELS, "STORE_NLEVELS");

/* Reads a level's rollup progress from meta (INT64_MIN when none). */
int
store_meta_load(struct store *s, int lvl, char *err, size_t errlen)
{
	sqlite3_stmt	*st = s->st[ST_META_GET];
	int		 rc;

	s->wm[lvl] = INT64_MIN;
	sqlite3_bind_text(st, 1, store_levels[lvl].meta_key, -1,
	    SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s->wm[lvl] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errlen, "database %s: reading meta: %s", s->path,
		    sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

void
store_maint_fail(struct store *s, const char *what, int rc)
{
	int	warn;

	pthread_mutex_lock(&s->mu);
	s->stats.errors++;
	warn = store_first_warning(s, OP_MAINT, rc);
	pthread_mutex_unlock(&s->mu);
	if (warn)
		log_warnx("database %s: %s: %s", s->path, what,
		    sqlite3_errmsg(s->db));
}

int
store_load_ids(struct store *s)
{
	sqlite3_stmt	*st = s->st[ST_IDS];
	int		 rc;

	s->n_ids = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n_ids == s->cap_ids) {
			s->cap_ids = s->cap_ids == 0 ? 64 : s->cap_ids * 2;
			s->ids = xreallocarray(s->ids, s->cap_ids,
			    sizeof(*s->ids));
		}
		s->ids[s->n_ids++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
store_hours_from_raw(int64_t retention)
{
	return retention <= 0 || retention >= STORE_HOUR_RAW_MS;
}

/* The earliest source row at or after from, over all probes. */
static int
store_first_row(struct store *s, enum store_st which, int64_t from,
    int64_t *first, int *found)
{
	sqlite3_stmt	*st = s->st[which];
	size_t		 i;
	int		 rc;

	*found = 0;
	for (i = 0; i < s->n_ids; i++) {
		sqlite3_bind_int64(st, 1, s->ids[i]);
		sqlite3_bind_int64(st, 2, from);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW &&
		    (!*found || sqlite3_column_int64(st, 0) < *first)) {
			*first = sqlite3_column_int64(st, 0);
			*found = 1;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return rc;
	}
	return SQLITE_OK;
}

static int
store_cmp_i64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

struct store_bucket {
	int64_t		 t_ms;
	int64_t		 n;
	int64_t		 ok;
	int64_t		 degraded;
	size_t		 nlat;		/* latencies of non-failed runs */
};

/*
 * Writes one bucket.  Latency figures cover runs that did not fail (a
 * failure's latency is mostly its timeout); NULL when all failed.  p95 is
 * the nearest rank: the ceil(0.95 n)-th smallest.
 */
static int
store_bucket_put(struct store *s, sqlite3_stmt *st, int64_t id,
    const struct store_bucket *b)
{
	int64_t	sum = 0, n = (int64_t)b->nlat;
	size_t	i;
	int	k;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, b->t_ms);
	sqlite3_bind_int64(st, 3, b->n);
	sqlite3_bind_int64(st, 4, b->ok);
	sqlite3_bind_int64(st, 5, b->degraded);
	if (n == 0) {
		for (k = 6; k <= 9; k++)
			sqlite3_bind_null(st, k);
	} else {
		qsort(s->lat, b->nlat, sizeof(*s->lat), store_cmp_i64);
		for (i = 0; i < b->nlat; i++)
			sum += s->lat[i];
		sqlite3_bind_int64(st, 6, s->lat[0]);
		sqlite3_bind_int64(st, 7, (sum + n / 2) / n);
		sqlite3_bind_int64(st, 8, s->lat[n - 1]);
		sqlite3_bind_int64(st, 9, s->lat[(95 * n + 99) / 100 - 1]);
	}
	return store_run(st);
}

/* Rolls up [from, to) of every probe into a level's table; no txn. */
static int
store_roll_range(struct store *s, int lvl, int64_t from, int64_t to)
{
	const struct store_level	*lv = &store_levels[lvl];
	sqlite3_stmt			*st = s->st[ST_RANGE];
	sqlite3_stmt			*put = s->st[lv->put];
	struct store_bucket		 b;
	int64_t				 t, bt;
	size_t				 i;
	int				 rc, status;

	for (i = 0; i < s->n_ids; i++) {
		memset(&b, 0, sizeof(b));
		sqlite3_bind_int64(st, 1, s->ids[i]);
		sqlite3_bind_int64(st, 2, from);
		sqlite3_bind_int64(st, 3, to);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			t = sqlite3_column_int64(st, 0);
			bt = store_floor(t, lv->size_ms);
			if (b.n > 0 && bt != b.t_ms) {
				if ((rc = store_bucket_put(s, put, s->ids[i],
				    &b)) != SQLITE_OK)
					goto fail;
				memset(&b, 0, sizeof(b));
			}
			status = sqlite3_column_int(st, 1);
			if (status == 3)
				continue;	/* unknown: no verdict to count */
			b.t_ms = bt;
			b.n++;
			if (status == 0)
				b.ok++;
			else if (status == 1)
				b.degraded++;
			if (status == 2)
				continue;
			if (b.nlat == s->cap_lat) {
				s->cap_lat = s->cap_lat == 0 ? 1024 :
				    s->cap_lat * 2;
				s->lat = xreallocarray(s->lat, s->cap_lat,
				    sizeof(*s->lat));
			}
			s->lat[b.nlat++] = sqlite3_column_int64(st, 2);
		}
		if (rc != SQLITE_DONE)
			goto fail;
		sqlite3_reset(st);
		if (b.n > 0 && (rc = store_bucket_put(s, put, s->ids[i],
		    &b)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
fail:
	sqlite3_reset(st);
	return rc;
}

/* Rolls up [from, to) of every probe's minutes into hours; no txn. */
static int
store_roll_minutes(struct store *s, int64_t from, int64_t to)
{
	sqlite3_stmt	*st = s->st[ST_ROLL_1H_1M];
	size_t		 i;
	int		 rc;

	for (i = 0; i < s->n_ids; i++) {
		sqlite3_bind_int64(st, 1, s->ids[i]);
		sqlite3_bind_int64(st, 2, from);
		sqlite3_bind_int64(st, 3, to);
		if ((rc = store_run(st)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/*
 * One transaction: roll up [from, to) and, when advance is set, record
 * `to` as the level's progress with it, so a restart resumes exactly
 * there (no bucket skipped, none counted twice).
 */
static int
store_roll_step(struct store *s, int lvl, int64_t from, int64_t to,
    int advance, int minutes)
{
	sqlite3_stmt	*st = s->st[ST_META_PUT];
	int		 rc;

	if ((rc = store_run(s->st[ST_BEGIN])) != SQLITE_OK)
		goto fail;
	/* Inside the transaction: every row it sees has its probe row. */
	if ((rc = store_load_ids(s)) != SQLITE_OK ||
	    (rc = minutes ? store_roll_minutes(s, from, to) :
	    store_roll_range(s, lvl, from, to)) != SQLITE_OK)
		goto fail;
	if (advance) {
		sqlite3_bind_text(st, 1, store_levels[lvl].meta_key, -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, to);
		if ((rc = store_run(st)) != SQLITE_OK)
			goto fail;
	}
	if ((rc = store_run(s->st[ST_COMMIT])) != SQLITE_OK)
		goto fail;
	if (advance)
		s->wm[lvl] = to;
	return 0;
fail:
	store_maint_fail(s, "rollup", rc);
	store_rollback(s);
	return -1;
}

/*
 * Rolls up the level's complete buckets, after redoing those that late
 * rows (t_ms at or after `late`) changed.  Hours come from the raw rows,
 * or from the minutes (rolled up first, in the same pass) when retention
 * may remove raw rows before their hour is complete.  Returns 0 done, 1
 * interrupted by close, -1 error.
 */
int
store_rollup(struct store *s, int lvl, int64_t now, int64_t retention,
    int64_t late)
{
	const struct store_level	*lv = &store_levels[lvl];
	int64_t				 end, from, to, first, lo;
	int				 rc, found, minutes;

	minutes = lvl > 0 && !store_hours_from_raw(retention);
	end = store_floor(now - STORE_GRACE_MS, lv->size_ms);
	if (minutes) {
		if (s->wm[0] == INT64_MIN)
			return 0;	/* no minute rolled up yet */
		end = store_min(end, store_floor(s->wm[0], lv->size_ms));
	}

	/* Buckets already rolled up that gained rows since: redo them,
	 * unless retention already removed part of their raw rows (the
	 * minutes an hour is made of stay). */
	if (late < s->wm[lvl]) {
		from = store_floor(late, lv->size_ms);
		if (retention > 0 && !minutes) {
			lo = store_floor(now - retention, lv->size_ms) +
			    lv->size_ms;
			if (from < lo)
				from = lo;
		}
		for (; from < s->wm[lvl]; from = to) {
			to = store_min(from + lv->step_ms, s->wm[lvl]);
			if (store_roll_step(s, lvl, from, to, 0, minutes) ==
			    -1)
				return -1;
			if (s->yield(s))
				return 1;
		}
	}

	from = s->wm[lvl];
	for (;;) {
		if ((rc = store_load_ids(s)) != SQLITE_OK ||
		    (rc = store_first_row(s, minutes ? ST_FIRST_1M : ST_FIRST,
		    from, &first, &found)) != SQLITE_OK) {
			store_maint_fail(s, "rollup", rc);
			return -1;
		}
		if (!found)
			break;
		/* Skip stretches without rows (agent down, first start). */
		if (store_floor(first, lv->size_ms) > from)
			from = store_floor(first, lv->size_ms);
		if (from >= end)
			break;
		to = store_min(from + lv->step_ms, end);
		if (store_roll_step(s, lvl, from, to, 1, minutes) == -1)
			return -1;
		from = to;
		if (s->yield(s))
			return 1;
	}
	return 0;
}
