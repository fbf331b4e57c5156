/*
 * test_store.c - store.c against real database files (WAL needs a file,
 * so each test gets its own mkdtemp directory): batching and NULLs,
 * rollups, retention, migrations and refusal of newer schemas, reopening,
 * bad paths, empty and foreign files refused, and commits that fail while
 * another connection holds the write lock (rows must stay queued and be
 * written afterwards; a full queue drops its oldest rows and counts them).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vantaged.h"

#define HOUR_MS		3600000LL
#define MIN_MS		60000LL

struct fx {
	char		 dir[64];
	char		 path[128];
	struct store	*s;
	int64_t		 retention_ms;
};

/* Log lines are kept, not printed: a passing test stays quiet. */
static char	log_text[16384];
static size_t	log_len;

static void
log_capture(enum log_level lvl, const char *msg)
{
	int	n;

	n = snprintf(log_text + log_len, sizeof(log_text) - log_len, "%d %s\n",
	    (int)lvl, msg);
	if (n > 0 && (size_t)n < sizeof(log_text) - log_len)
		log_len += (size_t)n;
}

static int
log_count(const char *needle)
{
	const char	*p = log_text;
	int		 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	struct fx	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/vt-store.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	/* a directory that does not exist yet: store_open makes it */
	snprintf(f->path, sizeof(f->path), "%s/data/sub/vantage.db", f->dir);
	f->retention_ms = 14 * 24 * HOUR_MS;
	log_len = 0;
	log_text[0] = '\0';
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	store_close(f->s);
	chmod(f->dir, 0700);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct store *
open_ok(struct fx *f)
{
	char		 err[512] = "";
	struct store	*s;

	s = store_open(f->path, f->retention_ms, err, sizeof(err));
	if (s == NULL)
		fail_msg("store_open %s: %s", f->path, err);
	return s;
}

static int64_t
probe_id(struct store *s, const char *name, const char *type)
{
	char	err[512] = "";
	int64_t	id = -1;

	if (store_probe_id(s, name, type, &id, err, sizeof(err)) == -1)
		fail_msg("store_probe_id %s: %s", name, err);
	return id;
}

static struct probe_result
res(int64_t t_ms, enum probe_status st, int64_t latency_us)
{
	struct probe_result	r;

	memset(&r, 0, sizeof(r));
	r.t_ms = t_ms;
	r.status = st;
	r.latency_us = latency_us;
	r.dns_us = r.connect_us = r.tls_us = r.ttfb_us = -1;
	return r;
}

static sqlite3 *
reader(struct fx *f, int readonly)
{
	char	 err[512] = "";
	sqlite3	*db;

	if ((db = store_connect(f->s, readonly, err, sizeof(err))) == NULL)
		fail_msg("store_connect: %s", err);
	return db;
}

/* One integer from a query; -12345 stands for SQL NULL. */
static int64_t
q_int(sqlite3 *db, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	char		*sql;
	int64_t		 v;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no row (%s)", sql, sqlite3_errmsg(db));
	v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -12345 :
	    sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return v;
}

static void
q_exec(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static void
q_execf(sqlite3 *db, const char *fmt, ...)
{
	va_list	 ap;
	char	*sql;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	q_exec(db, sql);
	sqlite3_free(sql);
}

static int
newest_version(void)
{
	return schema_migrations[schema_n_migrations - 1].version;
}

/* ---------------------------------------------------------------- */

static void
test_open_creates_dir_and_wal(void **state)
{
	struct fx	*f = *state;
	struct stat	 sb;
	char		 dir[160];
	sqlite3		*db;

	f->s = open_ok(f);
	snprintf(dir, sizeof(dir), "%s/data/sub", f->dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_string_equal(store_path(f->s), f->path);

	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
	assert_int_equal(q_int(db, "PRAGMA user_version"), newest_version());
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('probe', 'result', 'rollup_1m', 'rollup_1h', 'meta')"),
	    5);
	sqlite3_close(db);
}

static void
test_probe_id(void **state)
{
	struct fx	*f = *state;
	int64_t		 a, b;
	sqlite3		*db;

	f->s = open_ok(f);
	a = probe_id(f->s, "api-eu", "http");
	b = probe_id(f->s, "db", "tcp");
	assert_true(a > 0);
	assert_true(b > 0);
	assert_int_not_equal(a, b);
	assert_int_equal(probe_id(f->s, "api-eu", "http"), a);
	/* a changed type keeps the id (and so the history) */
	assert_int_equal(probe_id(f->s, "db", "tls"), b);
	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM probe"), 2);
	assert_int_equal(q_int(db, "SELECT type = 'tls' FROM probe WHERE "
	    "id = %lld", (long long)b), 1);
	assert_true(q_int(db, "SELECT created_ms FROM probe WHERE id = %lld",
	    (long long)a) > 1600000000000LL);
	sqlite3_close(db);
}

static void
test_append_flush_nulls(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	struct store_stats	 ss;
	int64_t			 a, b, base, t;
	sqlite3			*db;
	sqlite3_stmt		*st;
	const int		 n = 500;
	int			 i, nerr = 0;

	f->s = open_ok(f);
	a = probe_id(f->s, "web", "http");
	b = probe_id(f->s, "port", "tcp");
	base = clock_wall_ms() - HOUR_MS;
	for (i = 0; i < n; i++) {
		t = base + i * 1000;
		r = res(t, (enum probe_status)(i % 3), 1000 + i);
		r.dns_us = i == 0 ? 0 : 10 + i;
		r.connect_us = 20 + i;
		r.tls_us = 30 + i;
		r.ttfb_us = 40 + i;
		r.code = 200;
		r.has_cert = 1;
		r.cert_days = 30;
		if (i % 3 == 2) {
			snprintf(r.error, sizeof(r.error), "timeout after 3s");
			nerr++;
		}
		store_append(f->s, a, &r);

		r = res(t, PROBE_OK, 500 + i);
		r.connect_us = 5 + i;
		r.cert_days = 77;	/* ignored: no certificate */
		store_append(f->s, b, &r);
	}
	store_flush(f->s);
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.queued, 0);
	assert_int_equal(ss.written, 2 * n);
	assert_true(ss.batches >= 1);
	assert_int_equal(ss.errors, 0);
	assert_int_equal(ss.dropped, 0);

	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "probe_id = %lld", (long long)a), n);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "probe_id = %lld", (long long)b), n);
	/* a: every phase set, 0 stays 0; errors only where given */
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "probe_id = %lld AND (dns_us IS NULL OR connect_us IS NULL OR "
	    "tls_us IS NULL OR ttfb_us IS NULL OR cert_days IS NULL)",
	    (long long)a), 0);
	assert_int_equal(q_int(db, "SELECT dns_us FROM result WHERE "
	    "probe_id = %lld AND t_ms = %lld", (long long)a, (long long)base),
	    0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "probe_id = %lld AND error IS NOT NULL", (long long)a), nerr);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "probe_id = %lld AND status = 1", (long long)a), (n + 1) / 3);
	/* b: phases below 0 and the certificate are NULL, error NULL */
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "probe_id = %lld AND dns_us IS NULL AND tls_us IS NULL AND "
	    "ttfb_us IS NULL AND cert_days IS NULL AND error IS NULL AND "
	    "connect_us IS NOT NULL", (long long)b), n);

	/* one row, every column */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT status, latency_us, "
	    "dns_us, connect_us, tls_us, ttfb_us, code, cert_days, error "
	    "FROM result WHERE probe_id = ? AND t_ms = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, base + 5 * 1000);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	assert_int_equal(sqlite3_column_int64(st, 1), 1005);
	assert_int_equal(sqlite3_column_int64(st, 2), 15);
	assert_int_equal(sqlite3_column_int64(st, 3), 25);
	assert_int_equal(sqlite3_column_int64(st, 4), 35);
	assert_int_equal(sqlite3_column_int64(st, 5), 45);
	assert_int_equal(sqlite3_column_int(st, 6), 200);
	assert_int_equal(sqlite3_column_int(st, 7), 30);
	assert_string_equal((const char *)sqlite3_column_text(st, 8),
	    "timeout after 3s");
	sqlite3_finalize(st);

	/* the same (probe, time) again is ignored, the first row stays */
	r = res(base, PROBE_FAIL, 999999);
	store_append(f->s, a, &r);
	store_flush(f->s);
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.written, 2 * n);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result"), 2 * n);
	assert_int_equal(q_int(db, "SELECT latency_us FROM result WHERE "
	    "probe_id = %lld AND t_ms = %lld", (long long)a, (long long)base),
	    1000);
	sqlite3_close(db);
}

/*
 * A result's detail goes through the queue with its error text and lands
 * in the detail column; rows without one have NULL there.
 */
static void
test_detail(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	struct store_stats	 ss;
	int64_t			 a, base;
	sqlite3			*db;
	const int		 n = 300;
	int			 i;
	char			 want[128];

	f->s = open_ok(f);
	a = probe_id(f->s, "plugin", "exec");
	base = clock_wall_ms() - HOUR_MS;
	for (i = 0; i < n; i++) {
		r = res(base + i * 1000, (enum probe_status)(i % 4), 1000 + i);
		switch (i % 4) {
		case 0:		/* detail, no error, each its own */
			probe_result_detail(&r, "\"n\":%d", i);
			break;
		case 1:		/* the same error and detail every time */
			snprintf(r.error, sizeof(r.error), "load high");
			probe_result_detail(&r, "\"perfdata\":[]");
			break;
		case 2:		/* same error, no detail */
			snprintf(r.error, sizeof(r.error), "load high");
			break;
		default:	/* neither; an empty detail is none */
			probe_result_detail(&r, "%s", "");
			break;
		}
		store_append(f->s, a, &r);
		free(r.detail);
	}
	store_flush(f->s);
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.written, n);
	assert_int_equal(ss.dropped, 0);

	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "detail IS NOT NULL"), n / 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "status = 0 AND error IS NULL AND detail = '\"n\":' || "
	    "((t_ms - %lld) / 1000)", (long long)base), n / 4);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "status = 1 AND error = 'load high' AND "
	    "detail = '\"perfdata\":[]'"), n / 4);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "status = 2 AND error = 'load high' AND detail IS NULL"), n / 4);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "status = 3 AND error IS NULL AND detail IS NULL"), n / 4);
	snprintf(want, sizeof(want), "SELECT count(*) FROM result WHERE "
	    "detail = '\"n\":%d'", n - 4);
	assert_int_equal(q_int(db, "%s", want), 1);
	sqlite3_close(db);
}

/* Without store_flush the writer commits within its batch interval. */
static void
test_batch_timer(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	struct store_stats	 ss;
	int64_t			 a, start;

	f->s = open_ok(f);
	a = probe_id(f->s, "web", "http");
	r = res(clock_wall_ms(), PROBE_OK, 1234);
	start = clock_mono_us();
	store_append(f->s, a, &r);
	do {
		usleep(10000);
		store_get_stats(f->s, &ss);
	} while (ss.written == 0 && clock_mono_us() - start < 3000000);
	assert_int_equal(ss.written, 1);
	assert_int_equal(ss.queued, 0);
	/* ~100 ms, with room for a loaded machine */
	assert_true(clock_mono_us() - start < 2000000);
}

static void
assert_rollup(sqlite3 *db, const char *table, int64_t id, int64_t t,
    int64_t n, int64_t ok, int64_t deg, int64_t min, int64_t avg,
    int64_t max, int64_t p95)
{
	sqlite3_stmt	*st;
	char		 sql[256];
	int64_t		 got[7], want[7] = { n, ok, deg, min, avg, max, p95 };
	const char	*names[7] = { "n", "ok", "degraded", "min_us", "avg_us",
	    "max_us", "p95_us" };
	int		 i;

	snprintf(sql, sizeof(sql), "SELECT n, ok, degraded, min_us, avg_us, "
	    "max_us, p95_us FROM %s WHERE probe_id = ? AND t_ms = ?", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, t);
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no rollup for probe %lld at %lld", table,
		    (long long)id, (long long)t);
	for (i = 0; i < 7; i++)
		got[i] = sqlite3_column_type(st, i) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	for (i = 0; i < 7; i++)
		if (got[i] != want[i])
			fail_msg("%s probe %lld at %lld: %s expected %lld, "
			    "got %lld (-1: NULL)", table, (long long)id,
			    (long long)t, names[i], (long long)want[i],
			    (long long)got[i]);
}

static void
check_rollups(struct fx *f, int64_t a, int64_t b, int64_t base, int late)
{
	sqlite3	*db = reader(f, 1);

	/* minute 0: latencies 1..20 ms (2 degraded), one failure of 5 s */
	assert_rollup(db, "rollup_1m", a, base, 21, 18, 2, 1000, 10500, 20000,
	    19000);
	if (!late)
		assert_rollup(db, "rollup_1m", a, base + MIN_MS, 3, 3, 0, 100,
		    200, 300, 300);
	else
		assert_rollup(db, "rollup_1m", a, base + MIN_MS, 4, 4, 0, 100,
		    250, 400, 400);
	/* minute 2: only failures, no latency figures */
	assert_rollup(db, "rollup_1m", a, base + 2 * MIN_MS, 2, 0, 0, -1, -1,
	    -1, -1);
	assert_rollup(db, "rollup_1m", b, base, 1, 1, 0, 7, 7, 7, 7);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1m"), 4);
	/* the hour: 23 latencies 100, 200, 300, 1000..20000 (+400 late) */
	if (!late)
		assert_rollup(db, "rollup_1h", a, base, 26, 21, 2, 100, 9157,
		    20000, 19000);
	else
		assert_rollup(db, "rollup_1h", a, base, 27, 22, 2, 100, 8792,
		    20000, 19000);
	assert_rollup(db, "rollup_1h", b, base, 1, 1, 0, 7, 7, 7, 7);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1h"), 2);
	/* progress is kept, past the rows and not in the future */
	assert_true(q_int(db, "SELECT value FROM meta WHERE key = "
	    "'rollup_1m_next'") >= base + 3 * MIN_MS);
	assert_true(q_int(db, "SELECT value FROM meta WHERE key = "
	    "'rollup_1m_next'") <= clock_wall_ms());
	assert_true(q_int(db, "SELECT value FROM meta WHERE key = "
	    "'rollup_1h_next'") >= base + HOUR_MS);
	sqlite3_close(db);
}

static void
test_rollups(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	int64_t			 a, b, base;
	int			 i;
	static const int	 m1[3] = { 300, 100, 200 };

	f->s = open_ok(f);
	a = probe_id(f->s, "web", "http");
	b = probe_id(f->s, "port", "tcp");
	/* a complete hour, well before now */
	base = clock_wall_ms() / HOUR_MS * HOUR_MS - 2 * HOUR_MS;
	for (i = 1; i <= 20; i++) {
		r = res(base + i * 1000, i == 3 || i == 7 ? PROBE_DEGRADED :
		    PROBE_OK, i * 1000);
		store_append(f->s, a, &r);
	}
	r = res(base + 21000, PROBE_FAIL, 5000000);
	store_append(f->s, a, &r);
	for (i = 0; i < 3; i++) {
		r = res(base + MIN_MS + (i + 1) * 1000, PROBE_OK, m1[i]);
		store_append(f->s, a, &r);
	}
	for (i = 0; i < 2; i++) {
		r = res(base + 2 * MIN_MS + i * 1000, PROBE_FAIL, 3000000);
		store_append(f->s, a, &r);
	}
	r = res(base + 5000, PROBE_OK, 7);
	store_append(f->s, b, &r);
	/* the minute and hour in progress are not rolled up yet */
	r = res(clock_wall_ms(), PROBE_OK, 8);
	store_append(f->s, b, &r);

	store_maintain(f->s);	/* flushes first */
	check_rollups(f, a, b, base, 0);

	/* again, and after a restart: nothing counted twice */
	store_maintain(f->s);
	check_rollups(f, a, b, base, 0);
	store_close(f->s);
	f->s = open_ok(f);
	store_maintain(f->s);
	check_rollups(f, a, b, base, 0);

	/* a row arriving late for a minute already rolled up */
	r = res(base + MIN_MS + 4000, PROBE_OK, 400);
	store_append(f->s, a, &r);
	store_maintain(f->s);
	check_rollups(f, a, b, base, 1);
}

/*
 * Probe state changes live as long as the hourly rollups (rollup
 * retention), but each probe keeps its newest one, however old: alert.c
 * judges a probe's first state after a start against it.
 */
static void
test_event_retention(void **state)
{
	struct fx	*f = *state;
	int64_t		 now;
	sqlite3		*db;

	f->retention_ms = HOUR_MS;
	f->s = open_ok(f);
	store_set_rollup_retention(f->s, 10 * HOUR_MS);
	now = clock_wall_ms();
	db = reader(f, 0);
	q_execf(db, "INSERT INTO event (probe, t_ms, from_state, to_state) "
	    "VALUES ('a', %lld, 'unknown', 'down'), ('a', %lld, 'down', 'up'), "
	    "('a', %lld, 'up', 'down'), ('b', %lld, 'unknown', 'down'), "
	    "('a', %lld, 'down', 'up')", (long long)(now - 13 * HOUR_MS),
	    (long long)(now - 12 * HOUR_MS), (long long)(now - 11 * HOUR_MS),
	    (long long)(now - 12 * HOUR_MS), (long long)(now - 9 * HOUR_MS));
	store_maintain(f->s);
	assert_int_equal(q_int(db, "SELECT count(*) FROM event WHERE probe = "
	    "'a'"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM event WHERE probe = "
	    "'a' AND t_ms = %lld", (long long)(now - 9 * HOUR_MS)), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM event WHERE probe = "
	    "'b'"), 1);
	sqlite3_close(db);
}

static void
test_retention(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	struct store_stats	 ss;
	int64_t			 a, now, old;
	sqlite3			*db;
	int			 i;

	f->retention_ms = HOUR_MS;
	f->s = open_ok(f);
	/* hours kept 100 h, minutes a tenth of it */
	store_set_rollup_retention(f->s, 100 * HOUR_MS);
	a = probe_id(f->s, "web", "http");
	now = clock_wall_ms();
	old = now - 3 * HOUR_MS;
	/* more than two retention chunks of old rows */
	for (i = 0; i < 12000; i++) {
		r = res(old + i, PROBE_OK, 1000);
		store_append(f->s, a, &r);
	}
	for (i = 0; i < 10; i++) {
		r = res(now - 30 * MIN_MS + i * 1000, PROBE_OK, 1000);
		store_append(f->s, a, &r);
	}
	store_flush(f->s);

	/* rollups: one older, one younger than their retention */
	db = reader(f, 0);
	q_execf(db, "INSERT INTO rollup_1m VALUES (%lld, %lld, "
	    "1, 1, 0, 1, 1, 1, 1), (%lld, %lld, 1, 1, 0, 1, 1, 1, 1)",
	    (long long)a, (long long)((now - 11 * HOUR_MS) / MIN_MS * MIN_MS),
	    (long long)a, (long long)((now - 9 * HOUR_MS) / MIN_MS * MIN_MS));
	q_execf(db, "INSERT INTO rollup_1h VALUES (%lld, %lld, "
	    "1, 1, 0, 1, 1, 1, 1), (%lld, %lld, 1, 1, 0, 1, 1, 1, 1)",
	    (long long)a, (long long)((now - 101 * HOUR_MS) / HOUR_MS * HOUR_MS),
	    (long long)a, (long long)((now - 99 * HOUR_MS) / HOUR_MS * HOUR_MS));

	store_maintain(f->s);

	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "t_ms < %lld", (long long)(now - HOUR_MS)), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "t_ms >= %lld", (long long)(now - HOUR_MS)), 10);
	/* the deleted rows were rolled up first */
	assert_int_equal(q_int(db, "SELECT sum(n) FROM rollup_1m WHERE "
	    "t_ms >= %lld AND t_ms < %lld", (long long)(old - MIN_MS),
	    (long long)(old + MIN_MS)), 12000);
	assert_int_equal(q_int(db, "SELECT sum(n) FROM rollup_1h WHERE "
	    "t_ms >= %lld AND t_ms < %lld", (long long)(old - HOUR_MS),
	    (long long)(old + HOUR_MS)), 12000);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1m WHERE "
	    "t_ms < %lld", (long long)(now - 10 * HOUR_MS)), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1h WHERE "
	    "t_ms < %lld", (long long)(now - 100 * HOUR_MS)), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1m WHERE "
	    "t_ms < %lld", (long long)(now - 8 * HOUR_MS)), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1h WHERE "
	    "t_ms < %lld", (long long)(now - 98 * HOUR_MS)), 1);
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.trimmed, 12000 + 2);

	/* a shorter rollup retention applies at the next pass: minutes of
	 * 5 h, hours of 50 h; a shorter raw retention leaves rollups be */
	store_set_rollup_retention(f->s, 50 * HOUR_MS);
	store_set_retention(f->s, 30 * MIN_MS);
	store_maintain(f->s);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1m WHERE "
	    "t_ms < %lld", (long long)(now - 5 * HOUR_MS)), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1h WHERE "
	    "t_ms < %lld", (long long)(now - 50 * HOUR_MS)), 0);
	/* the hours of 11 h and 9 h ago, made from those minutes, stay */
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1h WHERE "
	    "t_ms < %lld", (long long)(now - 5 * HOUR_MS)), 2);
	assert_int_equal(q_int(db, "SELECT sum(n) FROM rollup_1m WHERE "
	    "t_ms >= %lld AND t_ms < %lld", (long long)(old - MIN_MS),
	    (long long)(old + MIN_MS)), 12000);
	sqlite3_close(db);
}

/*
 * retention = 1m: raw rows go once their minute is rolled up, not an
 * hour later; hours are then made from the minutes, with exact counts,
 * minimum and maximum, the average within rounding and p95 the highest
 * minute's (never below the hour's own).
 */
static void
test_retention_minute(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	int64_t			 a, now, h0, lat, sum = 0, n = 0, lats[120];
	int64_t			 avg, p95;
	sqlite3			*db;
	int			 i, j, k;

	f->retention_ms = MIN_MS;
	f->s = open_ok(f);
	a = probe_id(f->s, "web", "http");
	now = clock_wall_ms();
	h0 = now / HOUR_MS * HOUR_MS - 3 * HOUR_MS;
	for (i = 0; i < 120; i++) {
		lat = 1000 + i * 10;
		r = res(h0 + i * 30000, i % 10 == 9 ? PROBE_FAIL :
		    i % 10 == 8 ? PROBE_DEGRADED : PROBE_OK, lat);
		store_append(f->s, a, &r);
		if (i % 10 != 9) {
			sum += lat;
			lats[n++] = lat;
		}
	}
	for (i = 0; i < 10; i++) {
		r = res(now - 10 * MIN_MS + i * 1000, PROBE_OK, 1000);
		store_append(f->s, a, &r);
	}
	for (i = 0; i < 5; i++) {
		r = res(now - 5000 + i * 1000, PROBE_OK, 1000);
		store_append(f->s, a, &r);
	}
	store_flush(f->s);
	store_maintain(f->s);

	db = reader(f, 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "t_ms < %lld", (long long)(now - 3 * MIN_MS)), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result WHERE "
	    "t_ms >= %lld", (long long)(now - 5000)), 5);
	assert_int_equal(q_int(db, "SELECT sum(n) FROM rollup_1m WHERE "
	    "t_ms >= %lld AND t_ms < %lld", (long long)h0,
	    (long long)(h0 + HOUR_MS)), 120);
	assert_int_equal(q_int(db, "SELECT sum(n) FROM rollup_1m WHERE "
	    "t_ms >= %lld", (long long)(now - 11 * MIN_MS)), 10);
	assert_int_equal(q_int(db, "SELECT count(*) FROM rollup_1h WHERE "
	    "t_ms = %lld", (long long)h0), 1);
	assert_int_equal(q_int(db, "SELECT n FROM rollup_1h WHERE t_ms = %lld",
	    (long long)h0), 120);
	assert_int_equal(q_int(db, "SELECT ok FROM rollup_1h WHERE t_ms = "
	    "%lld", (long long)h0), 96);
	assert_int_equal(q_int(db, "SELECT degraded FROM rollup_1h WHERE "
	    "t_ms = %lld", (long long)h0), 12);
	assert_int_equal(q_int(db, "SELECT min_us FROM rollup_1h WHERE "
	    "t_ms = %lld", (long long)h0), 1000);
	assert_int_equal(q_int(db, "SELECT max_us FROM rollup_1h WHERE "
	    "t_ms = %lld", (long long)h0), 1000 + 118 * 10);
	avg = q_int(db, "SELECT avg_us FROM rollup_1h WHERE t_ms = %lld",
	    (long long)h0);
	assert_true(avg >= sum / n - 1 && avg <= sum / n + 1);
	/* the hour's own nearest-rank p95: lats are sorted already */
	for (j = 1; j < n; j++)
		for (k = j; k > 0 && lats[k - 1] > lats[k]; k--) {
			lat = lats[k];
			lats[k] = lats[k - 1];
			lats[k - 1] = lat;
		}
	p95 = q_int(db, "SELECT p95_us FROM rollup_1h WHERE t_ms = %lld",
	    (long long)h0);
	assert_true(p95 >= lats[(95 * n + 99) / 100 - 1]);
	assert_int_equal(p95, q_int(db, "SELECT max(p95_us) FROM rollup_1m "
	    "WHERE t_ms >= %lld AND t_ms < %lld", (long long)h0,
	    (long long)(h0 + HOUR_MS)));
	sqlite3_close(db);
}

/*
 * A new file has auto_vacuum = INCREMENTAL: after retention deletes most
 * rows, the free pages beyond the reserve kept for reuse (a sixteenth of
 * the file, at least 256 pages) go back to the file system.
 */
static void
test_vacuum(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	int64_t			 a, now, before, pages, nfree;
	sqlite3			*db;
	int			 i;

	f->retention_ms = HOUR_MS;
	f->s = open_ok(f);
	a = probe_id(f->s, "web", "http");
	now = clock_wall_ms();
	for (i = 0; i < 100000; i++) {
		r = res(now - 3 * HOUR_MS + i, PROBE_FAIL, 1000);
		snprintf(r.error, sizeof(r.error), "%s", i % 2 ?
		    "connect: Connection refused" :
		    "connect: timed out after 1000 ms");
		store_append(f->s, a, &r);
	}
	store_flush(f->s);
	db = reader(f, 0);
	assert_int_equal(q_int(db, "PRAGMA auto_vacuum"), 2);
	before = q_int(db, "PRAGMA page_count");
	assert_true(before > 1000);
	store_maintain(f->s);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result"), 0);
	pages = q_int(db, "PRAGMA page_count");
	nfree = q_int(db, "PRAGMA freelist_count");
	assert_true(pages < before / 2);
	assert_true(nfree <= 256 || nfree <= pages / 16);
	sqlite3_close(db);
}

static void
test_newer_schema_refused(void **state)
{
	struct fx	*f = *state;
	struct store	*s;
	sqlite3		*db;
	char		 err[512] = "", want[256];

	f->s = open_ok(f);
	store_close(f->s);
	f->s = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	q_exec(db, "PRAGMA user_version = 999");
	sqlite3_close(db);

	s = store_open(f->path, f->retention_ms, err, sizeof(err));
	assert_null(s);
	snprintf(want, sizeof(want), "database %s is at schema version 999, "
	    "this vantaged knows up to %d; upgrade vantaged", f->path,
	    newest_version());
	assert_string_equal(err, want);

	/* refused without touching it */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 999);
	sqlite3_close(db);
}

static void
test_reopen_keeps_data(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	int64_t			 a, t;
	sqlite3			*db;
	int			 i;

	f->s = open_ok(f);
	a = probe_id(f->s, "web", "http");
	t = clock_wall_ms() - 10 * MIN_MS;
	for (i = 0; i < 100; i++) {
		r = res(t + i, PROBE_OK, 100 + i);
		store_append(f->s, a, &r);
	}
	/* store_close flushes: no store_flush here on purpose */
	store_close(f->s);
	f->s = open_ok(f);
	assert_int_equal(probe_id(f->s, "web", "http"), a);
	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result"), 100);
	assert_int_equal(q_int(db, "SELECT sum(latency_us) FROM result"),
	    100 * 100 + 99 * 100 / 2);
	assert_int_equal(q_int(db, "PRAGMA user_version"), newest_version());
	sqlite3_close(db);
	/* a clean close leaves no WAL behind */
	store_close(f->s);
	f->s = NULL;
	{
		char		wal[160];
		struct stat	sb;

		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		assert_int_equal(stat(wal, &sb), -1);
	}
}

static void
test_close_without_appends(void **state)
{
	struct fx		*f = *state;
	struct store_stats	 ss;
	struct stat		 sb;

	f->s = open_ok(f);
	store_flush(f->s);
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.written, 0);
	assert_int_equal(ss.batches, 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(stat(f->path, &sb), 0);
	store_close(NULL);
	store_flush(NULL);
}

static void
open_fails(const char *path, const char *needle)
{
	char		 err[512] = "";
	struct store	*s;

	s = store_open(path, HOUR_MS, err, sizeof(err));
	if (s != NULL) {
		store_close(s);
		fail_msg("store_open %s: expected an error with \"%s\", it "
		    "opened", path, needle);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("store_open %s: expected an error with \"%s\", got "
		    "\"%s\"", path, needle, err);
}

static void
test_bad_paths(void **state)
{
	struct fx	*f = *state;
	const char	*junk = "this is not a database, not at all\n";
	char		 p[192], q[256];
	int		 fd;

	open_fails("", "no database path");

	snprintf(p, sizeof(p), "%s/file", f->dir);
	assert_true((fd = open(p, O_WRONLY | O_CREAT, 0600)) >= 0);
	assert_int_equal(write(fd, junk, strlen(junk)), (ssize_t)strlen(junk));
	close(fd);
	snprintf(q, sizeof(q), "%s/vantage.db", p);
	open_fails(q, "is not a directory");
	open_fails(p, "has no SQLite header");
	open_fails(f->dir, "not a regular file");

	/* an unwritable directory (root writes anywhere: not testable) */
	if (geteuid() != 0) {
		snprintf(p, sizeof(p), "%s/ro", f->dir);
		assert_int_equal(mkdir(p, 0500), 0);
		snprintf(q, sizeof(q), "%s/ro/vantage.db", f->dir);
		open_fails(q, "cannot write in directory");
	}
}

static void
test_connect(void **state)
{
	struct fx	*f = *state;
	sqlite3		*ro, *rw;

	f->s = open_ok(f);
	ro = reader(f, 1);
	rw = reader(f, 0);
	assert_int_not_equal(sqlite3_exec(ro, "INSERT INTO meta VALUES "
	    "('x', '1')", NULL, NULL, NULL), SQLITE_OK);
	q_exec(rw, "INSERT INTO meta VALUES ('x', '1')");
	assert_int_equal(q_int(ro, "SELECT value FROM meta WHERE key = 'x'"),
	    1);
	assert_int_equal(q_int(rw, "PRAGMA synchronous"), 2);
	sqlite3_close(ro);
	sqlite3_close(rw);
}

/*
 * Another connection holds the write lock past the busy timeout: the
 * commit fails, is logged once, the rows stay queued (bounded), flush
 * returns instead of hanging, and once the lock is gone everything
 * queued is written.  Then the same while closing.
 */
static void
test_failed_commits_kept(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	struct store_stats	 ss;
	int64_t			 a, t, start;
	sqlite3			*hold, *db;
	const int		 n = 250000;
	int			 i;

	f->s = open_ok(f);
	a = probe_id(f->s, "web", "http");
	hold = reader(f, 0);
	q_exec(hold, "BEGIN IMMEDIATE");

	t = clock_wall_ms() - HOUR_MS;
	for (i = 0; i < n; i++) {
		r = res(t + i, PROBE_OK, 1000);
		store_append(f->s, a, &r);
	}
	store_flush(f->s);	/* returns after the failed attempt */
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.written, 0);
	assert_int_equal(ss.errors, 1);
	assert_true(ss.dropped > 0);	/* the queue is bounded */
	assert_int_equal(ss.queued + ss.dropped, n);
	assert_int_equal(log_count("cannot write results"), 1);

	q_exec(hold, "ROLLBACK");
	store_flush(f->s);
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.queued, 0);
	assert_int_equal(ss.written + ss.dropped, n);
	assert_int_equal(log_count("cannot write results"), 1);
	assert_int_equal(log_count("writing again"), 1);
	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result"), ss.written);
	sqlite3_close(db);

	/* closing on a database that cannot be written does not hang */
	q_exec(hold, "BEGIN IMMEDIATE");
	for (i = 0; i < 5; i++) {
		r = res(t - 1000 - i, PROBE_OK, 1000);
		store_append(f->s, a, &r);
	}
	start = clock_mono_us();
	store_close(f->s);
	f->s = NULL;
	assert_true(clock_mono_us() - start < 30 * 1000000LL);
	assert_int_equal(log_count("5 results could not be written"), 1);
	q_exec(hold, "ROLLBACK");
	sqlite3_close(hold);
}

/*
 * A full queue drops its oldest results, one per new one, and counts
 * each: queue_max 100, 1,000 appended while another connection holds the
 * write lock.  The 100 kept are committed afterwards with their error
 * texts (three distinct ones, shared by many rows), the drops are said
 * in one line, and nothing is left allocated (the ASan build checks).
 */
static void
test_queue_drops_oldest(void **state)
{
	static const char	*errs[3] = { "connect: refused",
				    "timeout after 3s", "" };
	struct fx		*f = *state;
	struct probe_result	 r;
	struct store_stats	 ss;
	int64_t			 a, t, k;
	sqlite3			*hold, *db;
	sqlite3_stmt		*st;
	const int		 n = 1000, qmax = 100;
	char			 want[256];
	int			 i, rows;

	f->s = open_ok(f);
	store_set_queue_max(f->s, qmax);
	a = probe_id(f->s, "web", "http");
	hold = reader(f, 0);
	q_exec(hold, "BEGIN IMMEDIATE");

	t = clock_wall_ms() - HOUR_MS;
	for (i = 0; i < n; i++) {
		r = res(t + i, PROBE_FAIL, 1000 + i);
		snprintf(r.error, sizeof(r.error), "%s", errs[i % 3]);
		store_append(f->s, a, &r);
	}
	store_get_stats(f->s, &ss);
	if (ss.enqueued != (uint64_t)n || ss.queued != (uint64_t)qmax ||
	    ss.dropped != (uint64_t)(n - qmax) || ss.written != 0)
		fail_msg("while blocked: expected enqueued %d queued %d "
		    "dropped %d written 0, got %llu %llu %llu %llu", n, qmax,
		    n - qmax, (unsigned long long)ss.enqueued,
		    (unsigned long long)ss.queued,
		    (unsigned long long)ss.dropped,
		    (unsigned long long)ss.written);

	q_exec(hold, "ROLLBACK");
	sqlite3_close(hold);
	store_flush(f->s);
	store_get_stats(f->s, &ss);
	assert_int_equal(ss.queued, 0);
	assert_int_equal(ss.written, qmax);
	assert_int_equal(ss.dropped, n - qmax);
	assert_int_equal(ss.enqueued, ss.written + ss.dropped);

	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result"), qmax);
	/* the writer's first batch (the oldest, at most qmax / 2) was in
	 * hand when the queue filled; every later row kept is the newest */
	k = q_int(db, "SELECT count(*) FROM result WHERE t_ms >= %lld",
	    (long long)(t + n - qmax / 2));
	if (k != qmax / 2)
		fail_msg("newest %d rows: expected all stored, got %lld",
		    qmax / 2, (long long)k);
	assert_int_equal(q_int(db, "SELECT max(t_ms) FROM result"), t + n - 1);
	/* each kept row has its own error text, or none */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT t_ms, error, "
	    "latency_us FROM result ORDER BY t_ms", -1, &st, NULL), SQLITE_OK);
	rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char	*e = (const char *)sqlite3_column_text(st, 1);
		int64_t		 tm = sqlite3_column_int64(st, 0);

		i = (int)(tm - t);
		if (strcmp(e != NULL ? e : "", errs[i % 3]) != 0)
			fail_msg("row %d: expected error \"%s\", got \"%s\"", i,
			    errs[i % 3], e != NULL ? e : "(null)");
		assert_int_equal(sqlite3_column_int64(st, 2), 1000 + i);
		rows++;
	}
	sqlite3_finalize(st);
	assert_int_equal(rows, qmax);
	sqlite3_close(db);

	store_close(f->s);
	f->s = NULL;
	snprintf(want, sizeof(want), "database %s: queue full (%d results), "
	    "dropped %d oldest results in the last minute", f->path, qmax,
	    n - qmax);
	if (log_count(want) != 1)
		fail_msg("expected one line \"%s\", got:\n%s", want, log_text);
	assert_int_equal(log_count("queue full"), 1);
}

/* A lower queue_max applies at once, the oldest going first. */
static void
test_queue_max_lowered(void **state)
{
	struct fx		*f = *state;
	struct probe_result	 r;
	struct store_stats	 ss;
	int64_t			 a, t;
	sqlite3			*hold, *db;
	int			 i;

	f->s = open_ok(f);
	store_set_queue_max(f->s, 5000);
	a = probe_id(f->s, "web", "http");
	hold = reader(f, 0);
	q_exec(hold, "BEGIN IMMEDIATE");
	t = clock_wall_ms() - HOUR_MS;
	for (i = 0; i < 3000; i++) {
		r = res(t + i, PROBE_OK, 10);
		store_append(f->s, a, &r);
	}
	store_set_queue_max(f->s, 1000);
	store_get_stats(f->s, &ss);
	if (ss.queued > 1000 + 2000 || ss.queued + ss.dropped != 3000)
		fail_msg("after lowering: expected queued <= 1000 plus the "
		    "batch in hand and queued + dropped = 3000, got %llu + %llu",
		    (unsigned long long)ss.queued,
		    (unsigned long long)ss.dropped);
	q_exec(hold, "ROLLBACK");
	sqlite3_close(hold);
	store_flush(f->s);
	db = reader(f, 1);
	assert_int_equal(q_int(db, "SELECT max(t_ms) FROM result"), t + 2999);
	assert_int_equal(q_int(db, "SELECT count(*) FROM result"),
	    3000 - (int64_t)ss.dropped);
	sqlite3_close(db);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
open_refused(const char *path, const char *want)
{
	char		 err[512] = "";
	struct store	*s;

	s = store_open(path, HOUR_MS, err, sizeof(err));
	if (s != NULL) {
		store_close(s);
		fail_msg("store_open %s: expected \"%s\", it opened", path,
		    want);
	}
	if (strcmp(err, want) != 0)
		fail_msg("store_open %s:\nexpected \"%s\"\ngot      \"%s\"",
		    path, want, err);
}

/*
 * Only a missing database is created.  An empty file (even with a WAL
 * beside it), a short one and one with another header are refused and
 * left as they are.
 */
static void
test_empty_or_foreign_refused(void **state)
{
	struct fx	*f = *state;
	struct stat	 sb;
	char		 dir[160], wal[160], want[512], head[16];
	int		 fd;

	snprintf(dir, sizeof(dir), "%s/data", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/data/sub", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);

	write_file(f->path, "", 0);
	snprintf(want, sizeof(want), "database %s is empty (0 bytes), not a "
	    "vantage database: move it away to start with a new one (routes "
	    "would come back active)", f->path);
	open_refused(f->path, want);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	write_file(wal, "0123456789abcdef0123456789abcdef", 32);
	open_refused(f->path, want);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(unlink(wal), 0);

	snprintf(want, sizeof(want), "database %s has no SQLite header, not a "
	    "vantage database: move it away to start with a new one (routes "
	    "would come back active)", f->path);
	write_file(f->path, "SQLite format", 13);
	open_refused(f->path, want);
	write_file(f->path, "SQLite format 2\0 and then some pages", 36);
	open_refused(f->path, want);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_size, 36);

	/* missing: created, with the header */
	assert_int_equal(unlink(f->path), 0);
	f->s = open_ok(f);
	store_close(f->s);
	f->s = NULL;
	assert_true((fd = open(f->path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, head, sizeof(head)), (ssize_t)sizeof(head));
	close(fd);
	assert_memory_equal(head, "SQLite format 3", 16);
	f->s = open_ok(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_dir_and_wal,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_append_flush_nulls, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_timer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_detail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_minute, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_vacuum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_without_appends,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_retention, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failed_commits_kept,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_drops_oldest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_max_lowered,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_or_foreign_refused,
		    setup, teardown),
	};

	log_init("test_store", 0);
	log_set_sink(log_capture);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
