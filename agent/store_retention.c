/*
 * store_retention.c - retention on the writer thread: each maintenance
 * pass rolls up first, then deletes what is older than its retention, a
 * few thousand rows per statement with commits of queued results in
 * between, so neither the event loop nor the results wait on it.
 */
#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>

#define STORE_INTERNAL
#include "vantaged.h"

#define STORE_TRIM_ROWS		5000	/* rows per retention DELETE */
#define STORE_ROLLUP_KEEP	10	/* rollups outlive raw rows 10 times */

/* Deletes rows of table older than cut, a few thousand per statement. */
static int
store_trim(struct store *s, enum store_st which, int64_t cut)
{
	sqlite3_stmt	*st = s->st[which];
	size_t		 i;
	int		 rc, n;

	if ((rc = store_load_ids(s)) != SQLITE_OK)
		goto fail;
	for (i = 0; i < s->n_ids; i++) {
		do {
			sqlite3_bind_int64(st, 1, s->ids[i]);
			sqlite3_bind_int64(st, 2, cut);
			sqlite3_bind_int(st, 3, STORE_TRIM_ROWS - 1);
			if ((rc = store_run(st)) != SQLITE_OK)
				goto fail;
			n = sqlite3_changes(s->db);
			pthread_mutex_lock(&s->mu);
			s->stats.trimmed += n;
			pthread_mutex_unlock(&s->mu);
			if (n > 0 && s->yield(s))
				return 1;
		} while (n >= STORE_TRIM_ROWS);
	}
	return 0;
fail:
	store_maint_fail(s, "retention", rc);
	return -1;
}

/* Probe state changes older than cut, a chunk at a time. */
static void
store_trim_events(struct store *s, int64_t cut)
{
	sqlite3_stmt	*st = s->st[ST_TRIM_EVENT];
	int		 rc, n;

	do {
		sqlite3_bind_int64(st, 1, cut);
		sqlite3_bind_int(st, 2, STORE_TRIM_ROWS);
		if ((rc = store_run(st)) != SQLITE_OK) {
			store_maint_fail(s, "retention", rc);
			return;
		}
		n = sqlite3_changes(s->db);
		pthread_mutex_lock(&s->mu);
		s->stats.trimmed += n;
		pthread_mutex_unlock(&s->mu);
		if (n > 0 && s->yield(s))
			return;
	} while (n >= STORE_TRIM_ROWS);
}

/* Rollups first, then retention, which never deletes unrolled rows. */
void
store_maint_run(struct store *s)
{
	int64_t	now = clock_wall_ms(), retention, cut, late;
	int	i;

	pthread_mutex_lock(&s->mu);
	retention = s->retention_ms;
	pthread_mutex_unlock(&s->mu);

	/* Late rows committed while this pass yields count for the next. */
	late = s->late_min;
	s->late_min = INT64_MAX;
	for (i = 0; i < STORE_NLEVELS; i++) {
		if (store_rollup(s, i, now, retention, late) != 0) {
			s->late_min = store_min(s->late_min, late);
			return;
		}
	}
	if (retention <= 0)
		return;
	cut = store_min(now - retention, store_min(s->wm[0], s->wm[1]));
	if (cut != INT64_MIN && store_trim(s, ST_TRIM_RESULT, cut) != 0)
		return;
	if (retention > INT64_MAX / STORE_ROLLUP_KEEP)
		return;
	cut = now - retention * STORE_ROLLUP_KEEP;
	if (store_trim(s, ST_TRIM_1M, cut) != 0 ||
	    store_trim(s, ST_TRIM_1H, cut) != 0)
		return;
	store_trim_events(s, cut);
}
