/*
 * store_retention.c - retention on the writer thread: each maintenance
 * pass rolls up first, then deletes what is older than its retention, a
 * few thousand rows per statement with commits of queued results in
 * between, so neither the event loop nor the results wait on it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#define STORE_INTERNAL
#include "vantaged.h"

#define STORE_TRIM_ROWS		5000	/* rows per retention DELETE */
#define STORE_MINUTES_PART	10	/* minutes kept a tenth of rollup_ms */
#define STORE_FREE_KEEP		256	/* free pages kept for reuse, at least */
#define STORE_VACUUM_PAGES	256	/* pages per incremental_vacuum */

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

/* Runs a one-row integer pragma on the writer's connection. */
static int
store_pragma_int(struct store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Gives free pages beyond a reserve back to the file system, a chunk per
 * transaction with the writer's turn between chunks.  The reserve, a
 * sixteenth of the file (at least STORE_FREE_KEEP pages), is about what
 * the next passes' results take again, so a steady load keeps the file
 * at one size instead of shrinking and growing it at every pass.  A
 * database made without auto_vacuum = INCREMENTAL (before vantaged set
 * it on new files) reuses its free pages but never shrinks.
 */
static void
store_vacuum(struct store *s)
{
	char	sql[64];
	int64_t	nfree, pages, keep;
	int	rc;

	if (!s->incremental)
		return;
	for (;;) {
		if ((rc = store_pragma_int(s, "PRAGMA freelist_count",
		    &nfree)) != SQLITE_OK ||
		    (rc = store_pragma_int(s, "PRAGMA page_count", &pages)) !=
		    SQLITE_OK)
			goto fail;
		keep = pages / 16 > STORE_FREE_KEEP ? pages / 16 :
		    STORE_FREE_KEEP;
		if (nfree <= keep)
			return;
		snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%lld)",
		    (long long)store_min(nfree - keep, STORE_VACUUM_PAGES));
		if ((rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL)) !=
		    SQLITE_OK)
			goto fail;
		if (s->yield(s))
			return;
	}
fail:
	store_maint_fail(s, "incremental_vacuum", rc);
}

/*
 * Rollups first, then retention, which never deletes rows a rollup still
 * needs: raw rows go once their minute is rolled up (and their hour, when
 * hours are made from raw rows), minute rollups once their hour is, when
 * hours are made from them.  Rollups and events are kept by their own
 * retention: hours and events rollup_ms, minutes a tenth of it.
 */
void
store_maint_run(struct store *s)
{
	int64_t	now = clock_wall_ms(), retention, keep, cut, late;
	int	i, raw_hours;

	pthread_mutex_lock(&s->mu);
	retention = s->retention_ms;
	keep = s->rollup_retention_ms;
	pthread_mutex_unlock(&s->mu);
	raw_hours = store_hours_from_raw(retention);

	/* Late rows committed while this pass yields count for the next. */
	late = s->late_min;
	s->late_min = INT64_MAX;
	for (i = 0; i < STORE_NLEVELS; i++) {
		if (store_rollup(s, i, now, retention, late) != 0) {
			s->late_min = store_min(s->late_min, late);
			return;
		}
	}
	if (retention > 0 && retention < now) {
		cut = store_min(now - retention, s->wm[0]);
		if (raw_hours)
			cut = store_min(cut, s->wm[1]);
		if (cut != INT64_MIN && store_trim(s, ST_TRIM_RESULT, cut) != 0)
			return;
	}
	if (keep > 0 && keep < now) {
		cut = now - keep / STORE_MINUTES_PART;
		if (!raw_hours)
			cut = store_min(cut, s->wm[1]);
		if (cut != INT64_MIN && store_trim(s, ST_TRIM_1M, cut) != 0)
			return;
		cut = now - keep;
		if (store_trim(s, ST_TRIM_1H, cut) != 0)
			return;
		store_trim_events(s, cut);
	}
	store_vacuum(s);
}
