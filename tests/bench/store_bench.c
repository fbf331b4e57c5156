/*
 * store_bench.c - figures for store.c, driven by bench_store.sh:
 * rows/s through store_append + store_flush, bytes per stored result,
 * WAL size, time to open a large database (cleanly closed and after an
 * unclean exit), and the first rollup pass over the whole history.
 *
 *   store_bench DIR [ROWS [PROBES]]
 *
 * Prints "name: value" lines; it measures, it does not judge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vantaged.h"

#define CHUNK		50000	/* rows appended between flushes */
#define INTERVAL_MS	10000	/* each probe runs every 10 s */

static uint64_t	rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static long long
file_size(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static struct store *
open_or_die(const char *path)
{
	char		 err[512];
	struct store	*s;

	if ((s = store_open(path, 3650LL * 86400000, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		exit(1);
	}
	return s;
}

/* A plausible result: probes alternate between HTTPS-like and TCP-like. */
static void
make_result(struct probe_result *r, int probe, int64_t t_ms)
{
	memset(r, 0, sizeof(*r));
	r->t_ms = t_ms;
	r->latency_us = 800 + (int64_t)(rnd() % 60000);
	r->status = rnd() % 100 == 0 ? PROBE_FAIL : PROBE_OK;
	if (probe % 2 == 0) {
		r->dns_us = 50 + (int64_t)(rnd() % 2000);
		r->connect_us = 200 + (int64_t)(rnd() % 5000);
		r->tls_us = 1000 + (int64_t)(rnd() % 20000);
		r->ttfb_us = r->latency_us - 100;
		r->code = 200;
		r->has_cert = 1;
		r->cert_days = 60;
	} else {
		r->dns_us = r->tls_us = r->ttfb_us = -1;
		r->connect_us = r->latency_us;
	}
	if (r->status == PROBE_FAIL) {
		r->code = 0;
		snprintf(r->error, sizeof(r->error), "connect: timed out");
	}
}

/* Appends rows [from, from + n) round-robin over the probes. */
static void
fill(struct store *s, const int64_t *ids, int nprobes, int64_t base, long from,
    long n, long long *wal_peak, const char *wal, double *append_s)
{
	struct probe_result	r;
	long			i, j;
	int64_t			t0;

	for (i = from; i < from + n; i += CHUNK) {
		t0 = clock_mono_us();
		for (j = i; j < from + n && j < i + CHUNK; j++) {
			make_result(&r, (int)(j % nprobes),
			    base + (j / nprobes) * INTERVAL_MS);
			store_append(s, ids[j % nprobes], &r);
		}
		*append_s += (clock_mono_us() - t0) / 1e6;
		store_flush(s);
		if (wal_peak != NULL && file_size(wal) > *wal_peak)
			*wal_peak = file_size(wal);
	}
}

static long long
query_ll(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	long long	 v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
main(int argc, char **argv)
{
	struct store		*s;
	struct store_stats	 ss;
	sqlite3			*db;
	char			 path[512], wal[520], name[32], err[256];
	int64_t			*ids, base, t0;
	long			 rows, extra;
	long long		 wal_peak = 0, bytes;
	double			 secs, append_s = 0, dummy = 0;
	int			 nprobes, i, status;
	pid_t			 pid;

	if (argc < 2) {
		fprintf(stderr, "usage: store_bench DIR [ROWS [PROBES]]\n");
		return 2;
	}
	rows = argc > 2 ? atol(argv[2]) : 1000000;
	nprobes = argc > 3 ? atoi(argv[3]) : 20;
	snprintf(path, sizeof(path), "%s/vantage.db", argv[1]);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	log_init("store_bench", 0);

	s = open_or_die(path);
	ids = calloc(nprobes, sizeof(*ids));
	for (i = 0; i < nprobes; i++) {
		snprintf(name, sizeof(name), "probe-%d", i);
		if (store_probe_id(s, name, i % 2 ? "tcp" : "http", &ids[i],
		    err, sizeof(err)) == -1) {
			fprintf(stderr, "store_probe_id: %s\n", err);
			return 1;
		}
	}
	/* history ending now, so rollups have whole days to chew on */
	base = clock_wall_ms() - (int64_t)(rows / nprobes + 1) * INTERVAL_MS;

	t0 = clock_mono_us();
	fill(s, ids, nprobes, base, 0, rows, &wal_peak, wal, &append_s);
	secs = (clock_mono_us() - t0) / 1e6;
	store_get_stats(s, &ss);
	printf("rows: %ld over %d probes (flush every %d rows)\n", rows,
	    nprobes, CHUNK);
	printf("append+flush rate: %.0f rows/s (%.2f s)\n", rows / secs, secs);
	printf("store_append cost: %.0f ns/row (caller side)\n",
	    append_s * 1e9 / rows);
	printf("transactions: %llu (%.0f rows each), dropped: %llu, "
	    "errors: %llu\n", (unsigned long long)ss.batches,
	    (double)ss.written / (ss.batches ? ss.batches : 1),
	    (unsigned long long)ss.dropped, (unsigned long long)ss.errors);
	printf("WAL peak during run: %lld bytes\n", wal_peak);
	printf("WAL after run: %lld bytes\n", file_size(wal));
	printf("db file before close: %lld bytes (%.1f B/row)\n",
	    file_size(path), (double)file_size(path) / rows);

	t0 = clock_mono_us();
	store_maintain(s);
	printf("first rollup pass over the whole history: %.2f s\n",
	    (clock_mono_us() - t0) / 1e6);

	t0 = clock_mono_us();
	store_close(s);
	printf("store_close: %.1f ms\n", (clock_mono_us() - t0) / 1e3);
	printf("WAL after close: %lld bytes\n", file_size(wal));

	/* size: the raw table and its key only, as a fresh copy would be */
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 1;
	bytes = query_ll(db, "SELECT sum(pgsize) FROM dbstat WHERE "
	    "name = 'result'");
	if (bytes > 0)
		printf("result table incl. key, before VACUUM: %.1f B/row\n",
		    (double)bytes / rows);
	sqlite3_exec(db, "DELETE FROM rollup_1m; DELETE FROM rollup_1h; "
	    "VACUUM", NULL, NULL, NULL);
	bytes = query_ll(db, "PRAGMA page_count") *
	    query_ll(db, "PRAGMA page_size");
	printf("bytes per result after VACUUM (whole file, incl. indexes): "
	    "%.1f\n", (double)bytes / rows);
	sqlite3_close(db);

	/* open a database of `rows` rows, cleanly closed */
	t0 = clock_mono_us();
	s = open_or_die(path);
	printf("store_open, %ld-row database: %.1f ms\n", rows,
	    (clock_mono_us() - t0) / 1e3);
	store_close(s);

	/* a child writes more and exits without closing: WAL left behind */
	extra = rows / 5;
	if ((pid = fork()) == 0) {
		s = open_or_die(path);
		fill(s, ids, nprobes, base + (rows / nprobes + 2) *
		    INTERVAL_MS, 0, extra, NULL, wal, &dummy);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	printf("WAL after unclean exit (+%ld rows): %lld bytes\n", extra,
	    file_size(wal));
	t0 = clock_mono_us();
	s = open_or_die(path);
	printf("store_open after unclean exit: %.1f ms\n",
	    (clock_mono_us() - t0) / 1e3);
	store_close(s);
	free(ids);
	return 0;
}
