/*
 * store.c - the agent's SQLite database (vantage.db): opening it (the
 * migrations are in store_migrate.c), the queue of results, and the
 * writer thread that commits them in batches and runs the maintenance
 * passes (store_retention.c, store_rollup.c) every STORE_MAINT_US.
 *
 * Threads.  store_append(), store_flush(), store_maintain() and
 * store_get_stats() may be called from any thread; they only touch the
 * queue under s->mu.  The writer thread owns s->db and every statement
 * prepared on it, and runs rollups and retention itself, so results,
 * rollups and deletions never contend for the write lock inside this
 * process.  store_probe_id() has its own connection under s->main_mu.
 * Other threads get connections of their own from store_connect().
 *
 * Durability.  WAL with synchronous=NORMAL: a commit survives a crash of
 * the process; a power cut may lose the last batches.  Route and audit
 * writers use store_connect(), which asks for synchronous=FULL.
 *
 * A disk that cannot be written.  Results wait in a ring of compact rows
 * bounded by queue_max; when it is full the oldest go, counted and said
 * once a minute.  A failed commit is retried every second, and the WAL
 * is checkpointed and truncated after a failed commit on a full disk and
 * every 10 s, so it cannot hold on to the room a small file system needs.
 * Only a missing database file is created (store_check_file).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hash.h"
#define STORE_INTERNAL
#include "vantaged.h"

#define STORE_BUSY_MS		5000	/* busy_timeout of every connection */
#define STORE_BATCH_ROWS	2000	/* rows per transaction, at most */
#define STORE_BATCH_US		100000	/* the oldest queued row waits this */
#define STORE_QUEUE_DEFAULT	200000	/* queue_max until told otherwise */
#define STORE_QUEUE_LIMIT	100000000 /* the largest queue_max taken */
#define STORE_RING_KEEP		8192	/* an empty ring larger is freed */
#define STORE_RETRY_US		1000000	/* pause after a failed commit */
#define STORE_PERM_TRIES	3	/* tries when waiting cannot help */
#define STORE_MAINT_US		10000000 /* rollups and retention this often */
#define STORE_DROP_LOG_US	60000000 /* one "queue full" line a minute */
#define STORE_YIELD_US		2000	/* pause between maintenance chunks */
#define STORE_WAL_PAGES		256	/* auto-checkpoint threshold (1 MB) */
#define STORE_WAL_LIMIT		(1024 * 1024) /* WAL size after reset */
#define STORE_CKPT_BUSY_MS	200	/* a TRUNCATE checkpoint waits this */
#define STORE_NO_US		UINT32_MAX	/* a phase that did not happen */
#define STORE_NO_CERT		INT16_MIN	/* no certificate seen */

/*
 * Retention deletes by (probe_id, t_ms) ranges so each statement walks the
 * primary key and stops after STORE_TRIM_ROWS rows (?3 is that minus 1).
 */
#define STORE_TRIM_SQL(t)						\
	"DELETE FROM " t " WHERE probe_id = ?1 AND t_ms < ?2 AND "	\
	"t_ms <= coalesce((SELECT t_ms FROM " t " WHERE probe_id = ?1 "	\
	"AND t_ms < ?2 ORDER BY t_ms LIMIT 1 OFFSET ?3), ?2)"

#define STORE_ROLL_SQL(t)						\
	"INSERT OR REPLACE INTO " t " (probe_id, t_ms, n, ok, "	\
	"degraded, min_us, avg_us, max_us, p95_us) "			\
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

static const char *const store_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INSERT] = "INSERT OR IGNORE INTO result (probe_id, t_ms, status, "
	    "latency_us, dns_us, connect_us, tls_us, ttfb_us, code, cert_days, "
	    "error, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_IDS] = "SELECT id FROM probe ORDER BY id",
	[ST_FIRST] = "SELECT t_ms FROM result WHERE probe_id = ? AND t_ms >= ? "
	    "ORDER BY t_ms LIMIT 1",
	[ST_RANGE] = "SELECT t_ms, status, latency_us FROM result "
	    "WHERE probe_id = ? AND t_ms >= ? AND t_ms < ? ORDER BY t_ms",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?",
	[ST_META_PUT] = "INSERT OR REPLACE INTO meta (key, value) "
	    "VALUES (?, ?)",
	[ST_ROLL_1M] = STORE_ROLL_SQL("rollup_1m"),
	[ST_ROLL_1H] = STORE_ROLL_SQL("rollup_1h"),
	[ST_FIRST_1M] = "SELECT t_ms FROM rollup_1m WHERE probe_id = ? AND "
	    "t_ms >= ? ORDER BY t_ms LIMIT 1",
	/* hours from minutes: counts, min and max exact, the average
	 * weighted by the latencies behind each minute's, p95 the highest
	 * minute's (no hour has more than 5% of its runs above it) */
	[ST_ROLL_1H_1M] = "INSERT OR REPLACE INTO rollup_1h (probe_id, t_ms, "
	    "n, ok, degraded, min_us, avg_us, max_us, p95_us) "
	    "SELECT probe_id, t_ms - t_ms % 3600000, sum(n), sum(ok), "
	    "sum(degraded), min(min_us), (sum(avg_us * (ok + degraded)) + "
	    "sum(iif(avg_us IS NULL, 0, ok + degraded)) / 2) / "
	    "nullif(sum(iif(avg_us IS NULL, 0, ok + degraded)), 0), "
	    "max(max_us), max(p95_us) FROM rollup_1m WHERE probe_id = ?1 AND "
	    "t_ms >= ?2 AND t_ms < ?3 GROUP BY t_ms - t_ms % 3600000",
	[ST_TRIM_RESULT] = STORE_TRIM_SQL("result"),
	[ST_TRIM_1M] = STORE_TRIM_SQL("rollup_1m"),
	[ST_TRIM_1H] = STORE_TRIM_SQL("rollup_1h"),
	/* events live as long as the hourly rollups; each probe's newest
	 * stays, since alert.c judges a first state after a start by it */
	[ST_TRIM_EVENT] = "DELETE FROM event WHERE id IN (SELECT id FROM event "
	    "WHERE t_ms < ?1 AND id NOT IN (SELECT max(id) FROM event GROUP BY "
	    "probe) ORDER BY id LIMIT ?2)",
};

static const char *const store_msql[MST_COUNT] = {
	[MST_GET] = "SELECT id, type FROM probe WHERE name = ?",
	[MST_ADD] = "INSERT INTO probe (name, type, created_ms) "
	    "VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
	[MST_TYPE] = "UPDATE probe SET type = ? WHERE id = ?",
};


static void	store_drain_once(struct store *);
static void	store_say_drops(struct store *, int64_t);
static void	store_strs_free(struct store_strs *);
static int	store_yield(struct store *);


/*
 * Error codes that a later retry can cure (disk full, I/O, locks); other
 * codes would fail the same rows forever, so those rows are given up.
 */
static int
store_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_READONLY:
	case SQLITE_INTERRUPT:
		return 1;
	}
	return 0;
}

static int
store_status_code(enum probe_status st)
{
	switch (st) {
	case PROBE_OK:
		return 0;
	case PROBE_DEGRADED:
		return 1;
	case PROBE_FAIL:
		return 2;
	case PROBE_UNKNOWN:
		return 3;
	}
	return 2;
}


static void
store_sleep_us(int64_t us)
{
	struct timespec	ts;

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---------------------------------------------------------------- */
/* Opening: directory, connections, pragmas, migrations. */

/* Creates the missing directories above path (mode 0700), like mkdir -p. */
static int
store_mkparent(const char *path, char *err, size_t errlen)
{
	struct stat	 sb;
	char		*dir, *p;
	int		 rc = -1;

	dir = xstrdup(path);
	if ((p = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (p == dir)
		p[1] = '\0';
	else
		*p = '\0';

	if (stat(dir, &sb) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			goto out;
		}
		for (p = dir + 1; *p != '\0'; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
				snprintf(err, errlen,
				    "cannot create directory %s: %s", dir,
				    strerror(errno));
				goto out;
			}
			*p = '/';
		}
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create directory %s: %s",
			    dir, strerror(errno));
			goto out;
		}
		if (stat(dir, &sb) == -1) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			goto out;
		}
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		goto out;
	}
	/* WAL mode creates -wal and -shm files beside the database. */
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "cannot write in directory %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(dir);
	return rc;
}

static sqlite3 *
store_dbopen(const char *path, int flags, char *err, size_t errlen)
{
	sqlite3	*db = NULL;
	int	 rc;

	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	if (sqlite3_busy_timeout(db, STORE_BUSY_MS) != SQLITE_OK) {
		snprintf(err, errlen, "%s: busy_timeout: %s", path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}


/*
 * Settings that live in the connection, not the file: every connection
 * that writes may be the one that checkpoints and resets the WAL.
 */
static int
store_conn_pragmas(sqlite3 *db, const char *path, const char *synchronous,
    char *err, size_t errlen)
{
	char	sql[160];

	/* Auto-checkpoint on, and the WAL truncated after each reset. */
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s; "
	    "PRAGMA wal_autocheckpoint = %d; PRAGMA journal_size_limit = %d",
	    synchronous, STORE_WAL_PAGES, STORE_WAL_LIMIT);
	return store_exec(db, path, sql, err, errlen);
}

static int
store_pragmas(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char	mode[32];

	if (store_query_text(db, path, "PRAGMA journal_mode = WAL", mode,
	    sizeof(mode), err, errlen) == -1)
		return -1;
	if (strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "database %s: cannot use WAL mode "
		    "(journal_mode stays %s); is it on a local file system?",
		    path, mode);
		return -1;
	}
	return store_conn_pragmas(db, path, "NORMAL", err, errlen);
}


static int
store_prepare(sqlite3 *db, const char *path, const char *const *sql,
    sqlite3_stmt **st, int n, char *err, size_t errlen)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "database %s: %s: %s", path,
			    sql[i], sqlite3_errmsg(db));
			return -1;
		}
	}
	return 0;
}


static void *store_writer(void *);

/*
 * Only a missing database is created.  SQLite takes an empty file for a
 * new database, and one lost to a crashed copy or a full disk would
 * silently become one: every drain forgotten, every route active again.
 * The check reads the main file only: its WAL cannot stand in for the
 * header, and a 0-byte main file is refused whatever lies beside it.
 */
static int
store_check_file(const char *path, char *err, size_t errlen)
{
	static const char	 magic[16] = "SQLite format 3";
	struct stat		 sb;
	char			 head[16];
	ssize_t			 n;
	int			 fd;

	/* O_NONBLOCK: a FIFO in its place must not hang the start. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open database %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "database %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto fail;
	}
	if (sb.st_size == 0) {
		snprintf(err, errlen, "database %s is empty (0 bytes), not a "
		    "vantage database: move it away to start with a new one "
		    "(routes would come back active)", path);
		goto fail;
	}
	while ((n = pread(fd, head, sizeof(head), 0)) == -1 && errno == EINTR)
		;
	if (n == -1) {
		snprintf(err, errlen, "cannot read database %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (n < (ssize_t)sizeof(head) || memcmp(head, magic,
	    sizeof(magic)) != 0) {
		snprintf(err, errlen, "database %s has no SQLite header, not a "
		    "vantage database: move it away to start with a new one "
		    "(routes would come back active)", path);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

struct store *
store_open(const char *path, int64_t retention_ms, char *err, size_t errlen)
{
	struct store		*s = NULL;
	pthread_condattr_t	 ca;
	int			 i, cur, rc, flags;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no database path");
		goto fail;
	}
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->retention_ms = retention_ms;
	s->rollup_retention_ms = STORE_ROLLUP_DEFAULT_MS;
	s->queue_max = STORE_QUEUE_DEFAULT;
	s->batch = xreallocarray(NULL, STORE_BATCH_ROWS, sizeof(*s->batch));
	s->batch_err = xreallocarray(NULL, STORE_BATCH_ROWS,
	    sizeof(*s->batch_err));
	s->batch_detail = xreallocarray(NULL, STORE_BATCH_ROWS,
	    sizeof(*s->batch_detail));
	s->late_min = INT64_MAX;
	for (i = 0; i < STORE_NLEVELS; i++)
		s->wm[i] = INT64_MIN;
	s->yield = store_yield;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0)
		fatalx("%s: pthread_condattr", __func__);
	if (pthread_mutex_init(&s->mu, NULL) != 0 ||
	    pthread_mutex_init(&s->main_mu, NULL) != 0 ||
	    pthread_cond_init(&s->cv_writer, &ca) != 0 ||
	    pthread_cond_init(&s->cv_done, &ca) != 0)
		fatalx("%s: pthread init", __func__);
	pthread_condattr_destroy(&ca);
	s->sync_init = 1;

	if (store_mkparent(path, err, errlen) == -1)
		goto fail;
	if (store_check_file(path, err, errlen) == -1)
		goto fail;
	/* Each connection is used by one thread at a time. */
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX;
	if ((s->db = store_dbopen(path, flags, err, errlen)) == NULL)
		goto fail;
	/* Refuse a newer database before changing anything in it. */
	if (store_user_version(s->db, path, &cur, err, errlen) == -1 ||
	    store_check_version(path, cur, err, errlen) == -1)
		goto fail;
	if (store_auto_vacuum(s->db, path, &s->incremental, err,
	    errlen) == -1 ||
	    store_pragmas(s->db, path, err, errlen) == -1)
		goto fail;
	if (store_migrate(s->db, path, err, errlen) == -1)
		goto fail;
	if (store_prepare(s->db, path, store_sql, s->st, ST_COUNT, err,
	    errlen) == -1)
		goto fail;
	for (i = 0; i < STORE_NLEVELS; i++)
		if (store_meta_load(s, i, err, errlen) == -1)
			goto fail;

	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if ((s->db_main = store_dbopen(path, flags, err, errlen)) == NULL ||
	    store_conn_pragmas(s->db_main, path, "NORMAL", err, errlen) == -1)
		goto fail;
	if (store_prepare(s->db_main, path, store_msql, s->mst, MST_COUNT, err,
	    errlen) == -1)
		goto fail;

	s->next_maint_us = clock_mono_us() + STORE_MAINT_US;
	s->running = 1;
	if ((rc = pthread_create(&s->thread, NULL, store_writer, s)) != 0) {
		s->running = 0;
		snprintf(err, errlen, "database %s: cannot start the writer "
		    "thread: %s", path, strerror(rc));
		goto fail;
	}
	s->thread_started = 1;
	return s;
fail:
	store_close(s);
	return NULL;
}

static void
store_finalize(sqlite3_stmt **st, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		sqlite3_finalize(st[i]);
		st[i] = NULL;
	}
}

void
store_close(struct store *s)
{
	size_t	left;

	if (s == NULL)
		return;
	if (s->thread_started) {
		store_flush(s);
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cv_writer);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		s->thread_started = 0;
	}
	if (s->sync_init) {
		s->drop_say_us = 0;	/* the last minute's drops, now */
		store_say_drops(s, clock_mono_us());
	}
	left = s->ring.len + s->batch_n;
	if (left > 0)
		log_warnx("database %s: %zu results could not be written and "
		    "are lost", s->path, left);
	free(s->ring.v);
	store_strs_free(&s->strs);
	free(s->batch);
	free(s->batch_err);
	free(s->batch_detail);

	store_finalize(s->st, ST_COUNT);
	store_finalize(s->mst, MST_COUNT);
	/* The last connection to close checkpoints and removes the WAL. */
	if (s->db_main != NULL && sqlite3_close(s->db_main) != SQLITE_OK)
		log_warnx("database %s: close: %s", s->path,
		    sqlite3_errmsg(s->db_main));
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("database %s: close: %s", s->path,
		    sqlite3_errmsg(s->db));
	if (s->sync_init) {
		pthread_mutex_destroy(&s->mu);
		pthread_mutex_destroy(&s->main_mu);
		pthread_cond_destroy(&s->cv_writer);
		pthread_cond_destroy(&s->cv_done);
	}
	free(s->ids);
	free(s->lat);
	free(s->path);
	free(s);
}

const char *
store_path(struct store *s)
{
	return s->path;
}

struct sqlite3 *
store_connect(struct store *s, int readonly, char *err, size_t errlen)
{
	sqlite3	*db;
	int	 rc;

	/* The database exists: store_open made it, in WAL mode for good. */
	if ((db = store_dbopen(s->path, SQLITE_OPEN_READWRITE, err,
	    errlen)) == NULL)
		return NULL;
	/*
	 * Writers on other connections commit route and audit rows, which
	 * must survive a power cut too: FULL syncs the WAL on each commit.
	 */
	if (readonly)
		rc = store_exec(db, s->path, "PRAGMA query_only = 1", err,
		    errlen);
	else
		rc = store_conn_pragmas(db, s->path, "FULL", err, errlen);
	if (rc == -1) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int
store_idc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_idc *)a)->name,
	    ((const struct store_idc *)b)->name);
}

int
store_probe_id(struct store *s, const char *name, const char *type,
    int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt	*get = s->mst[MST_GET];
	sqlite3_stmt	*st;
	const char	*cur;
	int		 rc, tries, same = 1;

	pthread_mutex_lock(&s->main_mu);
	if (s->idc != NULL) {
		struct store_idc	 key, *hit;

		key.name = (char *)name;
		hit = bsearch(&key, s->idc, s->n_idc, sizeof(*s->idc),
		    store_idc_cmp);
		if (hit != NULL && strcmp(hit->type, type) == 0 &&
		    hit->id > 0 && hit->id <= UINT32_MAX) {
			*id = hit->id;
			pthread_mutex_unlock(&s->main_mu);
			return 0;
		}
	}
	for (tries = 0; tries < 2; tries++) {
		sqlite3_bind_text(get, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(get);
		if (rc == SQLITE_ROW) {
			*id = sqlite3_column_int64(get, 0);
			cur = (const char *)sqlite3_column_text(get, 1);
			same = cur != NULL && strcmp(cur, type) == 0;
		}
		sqlite3_reset(get);
		if (rc == SQLITE_ROW)
			break;
		if (rc != SQLITE_DONE)
			goto fail;
		/* Not there: add it, then read it back (keeps one path). */
		st = s->mst[MST_ADD];
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, clock_wall_ms());
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	if (tries == 2) {
		snprintf(err, errlen, "database %s: probe %s vanished after "
		    "insertion", s->path, name);
		goto fail_msg;
	}
	/* Queued rows keep the id in 32 bits (struct store_row). */
	if (*id <= 0 || *id > UINT32_MAX) {
		snprintf(err, errlen, "database %s: probe %s has id %" PRId64
		    ", out of range 1..%" PRIu32, s->path, name, *id,
		    UINT32_MAX);
		*id = 0;
		goto fail_msg;
	}
	/* A probe whose type changed keeps its history under its name. */
	if (!same) {
		st = s->mst[MST_TYPE];
		sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, *id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	pthread_mutex_unlock(&s->main_mu);
	return 0;
fail:
	snprintf(err, errlen, "database %s: probe %s: %s", s->path, name,
	    sqlite3_errmsg(s->db_main));
fail_msg:
	pthread_mutex_unlock(&s->main_mu);
	return -1;
}

/*
 * Brackets many store_probe_id() calls in one transaction: ten thousand
 * probes at start cost one commit instead of ten thousand.
 */
void
store_probe_ids_begin(struct store *s)
{
	sqlite3_stmt	*st = NULL;
	size_t		 cap = 0;

	pthread_mutex_lock(&s->main_mu);
	if (sqlite3_exec(s->db_main, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		log_warnx("database %s: %s", s->path,
		    sqlite3_errmsg(s->db_main));
	/*
	 * Known probes in one query, looked up in memory afterwards: ten
	 * thousand indexed SELECTs would cost tens of milliseconds at start.
	 */
	if (sqlite3_prepare_v2(s->db_main, "SELECT name, type, id FROM probe",
	    -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *n = (const char *)sqlite3_column_text(st, 0);
			const char *t = (const char *)sqlite3_column_text(st, 1);

			if (n == NULL || t == NULL)
				continue;
			if (s->n_idc == cap) {
				cap = cap == 0 ? 256 : cap * 2;
				s->idc = xreallocarray(s->idc, cap,
				    sizeof(*s->idc));
			}
			s->idc[s->n_idc].name = xstrdup(n);
			s->idc[s->n_idc].type = xstrdup(t);
			s->idc[s->n_idc].id = sqlite3_column_int64(st, 2);
			s->n_idc++;
		}
	}
	sqlite3_finalize(st);
	if (s->n_idc > 1)
		qsort(s->idc, s->n_idc, sizeof(*s->idc), store_idc_cmp);
	pthread_mutex_unlock(&s->main_mu);
}

void
store_probe_ids_end(struct store *s)
{
	size_t	i;

	pthread_mutex_lock(&s->main_mu);
	for (i = 0; i < s->n_idc; i++) {
		free(s->idc[i].name);
		free(s->idc[i].type);
	}
	free(s->idc);
	s->idc = NULL;
	s->n_idc = 0;
	if (sqlite3_get_autocommit(s->db_main) == 0 &&
	    sqlite3_exec(s->db_main, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("database %s: %s", s->path,
		    sqlite3_errmsg(s->db_main));
		(void)sqlite3_exec(s->db_main, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&s->main_mu);
}

/* ---------------------------------------------------------------- */
/* The queue: appenders on any thread, the writer drains it. */

/* Grows the bucket array so chains stay about one string long. */
static void
store_strs_rehash(struct store_strs *t)
{
	uint32_t	 i, b, nb = t->nbkt == 0 ? 64 : t->nbkt * 2;

	free(t->bkt);
	t->bkt = xcalloc(nb, sizeof(*t->bkt));
	t->nbkt = nb;
	for (i = 1; i < t->n; i++) {
		if (t->v[i].s == NULL)
			continue;
		b = t->v[i].hash & (nb - 1);
		t->v[i].next = t->bkt[b];
		t->bkt[b] = i;
	}
}

/*
 * A reference to the error text and detail (NULL: none) hashed to h,
 * added when new.  Called with mu held.
 */
static uint32_t
store_str_ref(struct store_strs *t, const char *text, const char *detail,
    uint32_t h)
{
	struct store_str	*e;
	size_t			 elen = strlen(text), dlen;
	uint32_t		 i;

	if (t->nbkt > 0) {
		for (i = t->bkt[h & (t->nbkt - 1)]; i != 0; i = t->v[i].next) {
			e = &t->v[i];
			if (e->hash == h && strcmp(e->s, text) == 0 &&
			    (detail == NULL ? e->dpos == 0 : e->dpos != 0 &&
			    strcmp(e->s + e->dpos, detail) == 0)) {
				e->refs++;
				return i;
			}
		}
	}
	if (t->live >= t->nbkt)
		store_strs_rehash(t);
	if (t->free != 0) {
		i = t->free;
		t->free = t->v[i].next;
	} else {
		if (t->n == 0)
			t->n = 1;	/* [0] means no error */
		if (t->n >= t->cap) {
			t->cap = t->cap == 0 ? 64 : t->cap * 2;
			t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
		}
		i = t->n++;
	}
	if (detail == NULL) {
		t->v[i].s = xstrdup(text);
		t->v[i].dpos = 0;
	} else {
		dlen = strlen(detail);
		t->v[i].s = xmalloc(elen + 1 + dlen + 1);
		memcpy(t->v[i].s, text, elen + 1);
		memcpy(t->v[i].s + elen + 1, detail, dlen + 1);
		t->v[i].dpos = (uint32_t)(elen + 1);
	}
	t->v[i].hash = h;
	t->v[i].refs = 1;
	t->v[i].next = t->bkt[h & (t->nbkt - 1)];
	t->bkt[h & (t->nbkt - 1)] = i;
	t->live++;
	return i;
}

/* Drops one reference; the last one frees the text.  With mu held. */
static void
store_str_unref(struct store_strs *t, uint32_t i)
{
	uint32_t	*pp;

	if (i == 0 || --t->v[i].refs > 0)
		return;
	for (pp = &t->bkt[t->v[i].hash & (t->nbkt - 1)]; *pp != i;
	    pp = &t->v[*pp].next)
		;
	*pp = t->v[i].next;
	free(t->v[i].s);
	t->v[i].s = NULL;
	t->v[i].next = t->free;
	t->free = i;
	t->live--;
}

static void
store_strs_free(struct store_strs *t)
{
	uint32_t	i;

	for (i = 1; i < t->n; i++)
		free(t->v[i].s);
	free(t->v);
	free(t->bkt);
	memset(t, 0, sizeof(*t));
}

static struct store_row *
store_ring_at(struct store_ring *q, size_t k)
{
	size_t	i = q->head + k;

	return &q->v[i >= q->cap ? i - q->cap : i];
}

/*
 * Room for one more row.  The rows from head to the old end move to the
 * new end, so a wrapped ring stays in order.  Called with mu held.
 */
static void
store_ring_grow(struct store_ring *q, size_t max)
{
	size_t	ncap, tail;

	ncap = q->cap == 0 ? 256 : q->cap * 2;
	if (ncap > max)
		ncap = max;
	if (ncap <= q->cap)
		ncap = q->cap + 1;	/* queue_max lowered below a batch */
	q->v = xreallocarray(q->v, ncap, sizeof(*q->v));
	if (q->head + q->len > q->cap) {
		tail = q->cap - q->head;
		memmove(q->v + ncap - tail, q->v + q->head,
		    tail * sizeof(*q->v));
		q->head = ncap - tail;
	}
	q->cap = ncap;
}

/* Drops the oldest queued row, for the newest.  Called with mu held. */
static void
store_drop_oldest(struct store *s)
{
	struct store_ring	*q = &s->ring;

	store_str_unref(&s->strs, q->v[q->head].err);
	if (++q->head == q->cap)
		q->head = 0;
	q->len--;
	s->done++;
	s->stats.dropped++;
	s->drop_unsaid++;
	s->drop_queued = q->len + 1 + s->batch_n;	/* with the new one */
}

/*
 * Rows the writer takes at once: at most half of queue_max, so that a
 * full queue always has a row in the ring to drop for a new one.
 */
static size_t
store_batch_max(const struct store *s)
{
	size_t	n = s->queue_max / 2;

	return n < STORE_BATCH_ROWS ? (n > 0 ? n : 1) : STORE_BATCH_ROWS;
}

/*
 * Moves the oldest rows into the writer's batch, with their error texts
 * resolved now: the strings table may be reallocated by an append while
 * the writer binds, the strings themselves stay until released.  Called
 * with mu held.
 */
static void
store_take(struct store *s)
{
	struct store_ring	*q = &s->ring;
	size_t			 n, k, first;

	n = q->len < store_batch_max(s) ? q->len : store_batch_max(s);
	first = q->cap - q->head < n ? q->cap - q->head : n;
	memcpy(s->batch, q->v + q->head, first * sizeof(*s->batch));
	memcpy(s->batch + first, q->v, (n - first) * sizeof(*s->batch));
	for (k = 0; k < n; k++) {
		const struct store_str	*e = &s->strs.v[s->batch[k].err];

		s->batch_err[k] = s->batch_detail[k] = NULL;
		if (s->batch[k].err == 0)
			continue;
		if (e->s[0] != '\0')
			s->batch_err[k] = e->s;
		if (e->dpos != 0)
			s->batch_detail[k] = e->s + e->dpos;
	}
	q->head += n;
	if (q->head >= q->cap)
		q->head -= q->cap;
	q->len -= n;
	s->batch_n = n;
	if (q->len == 0) {
		q->head = 0;
		/* An outage's worth of memory goes back once it is over. */
		if (q->cap > STORE_RING_KEEP) {
			free(q->v);
			q->v = NULL;
			q->cap = 0;
		}
	}
}

/* The batch is committed or given up.  Called with mu held. */
static void
store_release_batch(struct store *s)
{
	size_t	k;

	for (k = 0; k < s->batch_n; k++)
		store_str_unref(&s->strs, s->batch[k].err);
	s->done += s->batch_n;
	s->batch_n = 0;
}

static uint32_t
store_clamp_us(int64_t us)
{
	if (us < 0)
		return STORE_NO_US;
	return us < STORE_NO_US ? (uint32_t)us : STORE_NO_US - 1;
}

static int16_t
store_clamp16(int v, int lo)
{
	return v < lo ? (int16_t)lo : v > INT16_MAX ? INT16_MAX : (int16_t)v;
}

void
store_append(struct store *s, int64_t probe_id, const struct probe_result *r)
{
	struct store_row	 row;
	char			 etext[PROBE_ERR_LEN + 1];
	uint32_t		 h = 0;
	const char		*detail;
	size_t			 elen;
	int			 k;
	const int64_t		 ph[4] = { r->dns_us, r->connect_us, r->tls_us,
				    r->ttfb_us };

	if (s == NULL)
		return;
	memset(&row, 0, sizeof(row));
	row.probe_id = (uint32_t)probe_id;
	row.t_ms = r->t_ms;
	row.latency_us = store_clamp_us(r->latency_us < 0 ? 0 : r->latency_us);
	for (k = 0; k < 4; k++)
		row.phase_us[k] = store_clamp_us(ph[k]);
	row.status = (uint32_t)store_status_code(r->status);
	row.code = r->code < 0 ? -1 : store_clamp16(r->code, 0);
	row.cert_days = r->has_cert ? store_clamp16(r->cert_days,
	    INT16_MIN + 1) : STORE_NO_CERT;
	/* Hashed outside the lock, and only when there is an error. */
	elen = strnlen(r->error, sizeof(r->error));
	memcpy(etext, r->error, elen);
	etext[elen] = '\0';
	detail = r->detail != NULL && r->detail[0] != '\0' ? r->detail : NULL;
	if (elen > 0 || detail != NULL) {
		h = hash_fnv1a(etext);
		if (detail != NULL)
			h = (h * 16777619u) ^ hash_fnv1a(detail);
	}

	pthread_mutex_lock(&s->mu);
	s->enq++;
	/* Ids past 32 bits are refused by store_probe_id(), this is 0. */
	if (s->stop || probe_id < 0 || probe_id > UINT32_MAX) {
		s->done++;
		s->stats.dropped++;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	/* Full: the oldest result goes, the newest says more. */
	if (s->ring.len > 0 && s->ring.len + s->batch_n >= s->queue_max)
		store_drop_oldest(s);
	if (s->ring.len == s->ring.cap)
		store_ring_grow(&s->ring, s->queue_max);
	if (elen > 0 || detail != NULL)
		row.err = store_str_ref(&s->strs, etext, detail, h);
	s->ring.len++;
	*store_ring_at(&s->ring, s->ring.len - 1) = row;
	/* Wake the writer to arm its 100 ms timer, or for a full batch. */
	if (s->ring.len == 1) {
		s->in_first_us = clock_mono_us();
		pthread_cond_signal(&s->cv_writer);
	} else if (s->ring.len == store_batch_max(s))
		pthread_cond_signal(&s->cv_writer);
	pthread_mutex_unlock(&s->mu);
}

void
store_flush(struct store *s)
{
	uint64_t	target, gen;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	target = s->enq;
	gen = s->fail_gen;
	if (s->done < target && s->running) {
		s->flush_waiters++;
		/* After a failure, try once more now rather than later. */
		if (s->failing)
			s->retry_now = 1;
		pthread_cond_signal(&s->cv_writer);
		/* Returns early when a commit fails: the caller must not hang
		 * on a full disk (SIGTERM path). */
		while (s->done < target && s->fail_gen == gen && s->running)
			pthread_cond_wait(&s->cv_done, &s->mu);
		s->flush_waiters--;
	}
	pthread_mutex_unlock(&s->mu);
}

void
store_maintain(struct store *s)
{
	uint64_t	req;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->running) {
		req = ++s->maint_req;
		if (s->failing)
			s->retry_now = 1;
		pthread_cond_signal(&s->cv_writer);
		while (s->maint_done < req && s->running)
			pthread_cond_wait(&s->cv_done, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
}

void
store_get_stats(struct store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->stats;
	out->enqueued = s->enq;
	out->queued = s->ring.len + s->batch_n;
	out->queue_max = s->queue_max;
	pthread_mutex_unlock(&s->mu);
}

/*
 * A changed retention (a reload) applies now: the writer starts a
 * maintenance pass at once rather than at its next tick.  The caller
 * (the loop thread) only sets it and wakes the writer.
 */
void
store_set_retention(struct store *s, int64_t retention_ms)
{
	pthread_mutex_lock(&s->mu);
	if (s->retention_ms != retention_ms) {
		s->retention_ms = retention_ms;
		s->next_maint_us = 0;
		pthread_cond_signal(&s->cv_writer);
	}
	pthread_mutex_unlock(&s->mu);
}

void
store_set_rollup_retention(struct store *s, int64_t ms)
{
	if (ms <= 0)
		ms = STORE_ROLLUP_DEFAULT_MS;
	pthread_mutex_lock(&s->mu);
	if (s->rollup_retention_ms != ms) {
		s->rollup_retention_ms = ms;
		s->next_maint_us = 0;
		pthread_cond_signal(&s->cv_writer);
	}
	pthread_mutex_unlock(&s->mu);
}

/*
 * A lower bound applies at once: the oldest rows in the ring beyond it
 * are dropped and counted.  A batch in the writer's hand taken under the
 * old bound may be larger than the new one; the ring then keeps half the
 * bound, so the newest results stay, until that batch is done.
 */
void
store_set_queue_max(struct store *s, size_t n)
{
	size_t	keep;

	if (n < 2)
		n = 2;		/* one row being written, one to drop */
	if (n > STORE_QUEUE_LIMIT)
		n = STORE_QUEUE_LIMIT;
	pthread_mutex_lock(&s->mu);
	s->queue_max = n;
	keep = n > s->batch_n ? n - s->batch_n : n / 2;
	if (s->ring.len > keep) {
		while (s->ring.len > keep)
			store_drop_oldest(s);
		s->drop_queued = s->ring.len + s->batch_n;
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- */
/* The writer thread. */

/*
 * Commits the batch in one transaction.  On failure the transaction is
 * rolled back and msg says why; the batch stays for a retry.
 */
static int
store_commit(struct store *s, uint64_t *added, char *msg, size_t msglen)
{
	sqlite3_stmt		*st = s->st[ST_INSERT];
	const struct store_row	*r;
	int64_t			 late = INT64_MAX, wm;
	size_t			 i;
	int			 k, rc;

	*added = 0;
	wm = s->wm[0] > s->wm[1] ? s->wm[0] : s->wm[1];
	if ((rc = store_run(s->st[ST_BEGIN])) != SQLITE_OK)
		goto fail;
	for (i = 0; i < s->batch_n; i++) {
		r = &s->batch[i];
		sqlite3_bind_int64(st, 1, r->probe_id);
		sqlite3_bind_int64(st, 2, r->t_ms);
		sqlite3_bind_int(st, 3, r->status);
		sqlite3_bind_int64(st, 4, r->latency_us);
		for (k = 0; k < 4; k++) {
			if (r->phase_us[k] == STORE_NO_US)
				sqlite3_bind_null(st, 5 + k);
			else
				sqlite3_bind_int64(st, 5 + k, r->phase_us[k]);
		}
		if (r->code < 0)	/* the probe got no code at all */
			sqlite3_bind_null(st, 9);
		else
			sqlite3_bind_int(st, 9, r->code);
		if (r->cert_days != STORE_NO_CERT)
			sqlite3_bind_int(st, 10, r->cert_days);
		else
			sqlite3_bind_null(st, 10);
		if (s->batch_err[i] != NULL)
			sqlite3_bind_text(st, 11, s->batch_err[i], -1,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 11);
		if (s->batch_detail[i] != NULL)
			sqlite3_bind_text(st, 12, s->batch_detail[i], -1,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 12);
		if ((rc = store_run(st)) != SQLITE_OK)
			goto fail;
		if (sqlite3_changes(s->db) > 0) {
			(*added)++;
			if (r->t_ms < wm && r->t_ms < late)
				late = r->t_ms;
		}
	}
	sqlite3_clear_bindings(st);
	if ((rc = store_run(s->st[ST_COMMIT])) != SQLITE_OK)
		goto fail;
	/* Rows behind the rollup progress: those buckets are redone. */
	if (late < s->late_min)
		s->late_min = late;
	return SQLITE_OK;
fail:
	snprintf(msg, msglen, "%s", sqlite3_errmsg(s->db));
	sqlite3_clear_bindings(st);
	store_rollback(s);
	*added = 0;
	return rc;
}

/*
 * Checkpoints the whole WAL into the database and truncates it to zero
 * bytes.  The auto-checkpoint runs only after a commit takes the WAL past
 * STORE_WAL_PAGES: on a file system with less room than that no commit
 * gets there, and the WAL would keep what it holds until the disk is
 * full for good.  Readers are waited for briefly; when one stays, the
 * checkpoint does what it can (a later one finishes).  Writer only.
 */
static void
store_wal_truncate(struct store *s)
{
	int	rc;

	sqlite3_busy_timeout(s->db, STORE_CKPT_BUSY_MS);
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_debug("database %s: wal_checkpoint(TRUNCATE): %s",
		    s->path, sqlite3_errmsg(s->db));
}

/* Whether queued rows should be committed now.  Called with mu held. */
static int
store_due(struct store *s, int64_t now)
{
	if (s->batch_n == 0 && s->ring.len == 0)
		return 0;
	/* Closing after a failed flush: no more waiting on a broken disk. */
	if (s->failing)
		return s->retry_now || (!s->stop && now >= s->retry_at_us);
	if (s->batch_n > 0 || s->stop || s->flush_waiters > 0 ||
	    s->maint_req != s->maint_done)
		return 1;
	return s->ring.len >= store_batch_max(s) ||
	    now - s->in_first_us >= STORE_BATCH_US;
}

/*
 * Says how many results a full queue dropped, once a minute at most and
 * within a minute of the drops.  Writer only; takes mu.
 */
static void
store_say_drops(struct store *s, int64_t now)
{
	uint64_t	n;
	size_t		queued;

	pthread_mutex_lock(&s->mu);
	if (s->drop_unsaid == 0 || now < s->drop_say_us) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	n = s->drop_unsaid;
	queued = s->drop_queued;
	s->drop_unsaid = 0;
	s->drop_say_us = now + STORE_DROP_LOG_US;
	pthread_mutex_unlock(&s->mu);
	log_warnx("database %s: queue full (%zu results), dropped %" PRIu64
	    " oldest results in the last minute", s->path, queued, n);
}

/*
 * Commits queued rows in batches of at most STORE_BATCH_ROWS taken from
 * the ring's head.  Stops after the first failure; the batch in hand
 * stays for a retry in STORE_RETRY_US, newer rows wait in the ring.
 */
static void
store_drain_once(struct store *s)
{
	char			 msg[256];
	uint64_t		 added;
	int			 rc, warn, transient, dropped, full;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->batch_n == 0) {
			if (s->ring.len == 0)
				break;
			store_take(s);
		}
		pthread_mutex_unlock(&s->mu);

		rc = store_commit(s, &added, msg, sizeof(msg));

		pthread_mutex_lock(&s->mu);
		if (rc == SQLITE_OK) {
			s->stats.written += added;
			s->stats.batches++;
			store_release_batch(s);
			s->perm_tries = 0;
			if (s->failing) {
				log_info("database %s: writing again after "
				    "%" PRIu64 " failed commits", s->path,
				    s->stats.errors);
				s->failing = 0;
				memset(s->warned[OP_WRITE], 0,
				    sizeof(s->warned[OP_WRITE]));
			}
			pthread_cond_broadcast(&s->cv_done);
			continue;
		}

		s->stats.errors++;
		s->fail_gen++;
		s->failing = 1;
		s->retry_now = 0;
		s->retry_at_us = clock_mono_us() + STORE_RETRY_US;
		warn = store_first_warning(s, OP_WRITE, rc);
		transient = store_transient(rc);
		full = (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR;
		dropped = 0;
		if (!transient && ++s->perm_tries >= STORE_PERM_TRIES) {
			s->stats.dropped += s->batch_n;
			dropped = s->batch_n;
			store_release_batch(s);
			s->perm_tries = 0;
		}
		/* Said before waking flushers, so they return to a log that
		 * already tells why. */
		if (warn)
			log_warnx("database %s: cannot write results: %s%s",
			    s->path, msg, transient ? "; keeping them queued "
			    "and retrying" : "");
		if (dropped)
			log_warnx("database %s: gave up %d results after %d "
			    "failed commits: %s", s->path, dropped,
			    STORE_PERM_TRIES, msg);
		pthread_cond_broadcast(&s->cv_done);
		pthread_mutex_unlock(&s->mu);
		/* A WAL that filled the disk gives its room back once the
		 * database can take its pages (see store_wal_truncate). */
		if (full)
			store_wal_truncate(s);
		return;
	}
	pthread_mutex_unlock(&s->mu);
}

/*
 * Between maintenance chunks: commit what is due, then pause so other
 * connections (route and audit writes) get the write lock.  Returns 1
 * when the store is closing and maintenance should stop.
 */
static int
store_yield(struct store *s)
{
	int	due, stop;

	pthread_mutex_lock(&s->mu);
	due = store_due(s, clock_mono_us());
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	if (due)
		store_drain_once(s);
	if (stop)
		return 1;
	store_sleep_us(STORE_YIELD_US);
	return 0;
}


static void
store_timedwait(struct store *s, int64_t until_us)
{
	struct timespec	ts;

	ts.tv_sec = until_us / 1000000;
	ts.tv_nsec = (until_us % 1000000) * 1000;
	pthread_cond_timedwait(&s->cv_writer, &s->mu, &ts);
}

static void *
store_writer(void *arg)
{
	struct store	*s = arg;
	int64_t		 now, wake;
	uint64_t	 req;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (store_due(s, clock_mono_us())) {
			pthread_mutex_unlock(&s->mu);
			store_drain_once(s);
			pthread_mutex_lock(&s->mu);
		}
		if (s->drop_unsaid > 0 && clock_mono_us() >= s->drop_say_us) {
			pthread_mutex_unlock(&s->mu);
			store_say_drops(s, clock_mono_us());
			pthread_mutex_lock(&s->mu);
		}
		if (s->maint_req != s->maint_done) {
			req = s->maint_req;
			pthread_mutex_unlock(&s->mu);
			store_maint_run(s);
			pthread_mutex_lock(&s->mu);
			s->maint_done = req;
			s->next_maint_us = clock_mono_us() + STORE_MAINT_US;
			pthread_cond_broadcast(&s->cv_done);
			continue;
		}
		now = clock_mono_us();
		if (store_due(s, now))
			continue;
		/* Not due while stopping: empty, or failing and waiting. */
		if (s->stop)
			break;
		if (now >= s->next_maint_us) {
			pthread_mutex_unlock(&s->mu);
			store_maint_run(s);
			/* The WAL stays small even when no auto-checkpoint
			 * completes (long readers, a nearly full disk). */
			store_wal_truncate(s);
			pthread_mutex_lock(&s->mu);
			s->next_maint_us = clock_mono_us() + STORE_MAINT_US;
			continue;
		}
		wake = s->next_maint_us;
		if (s->failing && (s->ring.len > 0 || s->batch_n > 0))
			wake = store_min(wake, s->retry_at_us);
		else if (s->ring.len > 0)
			wake = store_min(wake, s->in_first_us + STORE_BATCH_US);
		if (s->drop_unsaid > 0)
			wake = store_min(wake, s->drop_say_us);
		store_timedwait(s, wake);
	}
	s->running = 0;
	pthread_cond_broadcast(&s->cv_done);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}
