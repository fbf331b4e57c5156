/*
 * audit.c - the append-only audit log: one SQLite table whose rows form a
 * SHA-256 hash chain, so an edited, deleted or reordered row is found by
 * walking it (audit_verify), and a copy of every row in journald with
 * structured fields, which is out of reach of whoever edits the database.
 *
 * A row's hash is SHA-256 over the previous row's hash (64 lowercase hex
 * characters; 64 '0' for the first row) followed by the row's canonical
 * form: for each of id, t_ms, actor, role, operator, source, action,
 * target, detail, result in this order, the field's length in bytes in
 * decimal, ':', the bytes, '\n'.  id and t_ms are written in decimal.
 * When a row carries an Idempotency-Key or a batch id (a route change
 * asked with them), key and batch follow in the same form; rows without
 * either hash as before those fields existed.
 * Length prefixes keep "ab"+"c" and "a"+"bc" apart; the id inside the
 * hash keeps rows from being renumbered.
 *
 * Appends are serialised by SQLite itself: the chain head is read inside
 * the writer's BEGIN IMMEDIATE transaction, so route.c can commit a state
 * change and its audit row on its own connection, in one transaction,
 * while other threads append here.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <sqlite3.h>
#include <systemd/sd-journal.h>

#include "hash.h"
#include "text.h"
#include "vantaged.h"

#define AUDIT_FIELD_MAX		2048	/* longer fields are cut */
#define AUDIT_NFIELDS		10	/* actor .. result, key, batch */
#define AUDIT_JOURNAL_MAX	2560	/* a field escaped for journald */
#define AUDIT_POST_MAX		10000	/* rows waiting for the poster */
#define AUDIT_PRUNE_ROWS	1000	/* refused rows per prune transaction */
#define AUDIT_PRUNE_MIN_US	1000000
#define AUDIT_PRUNE_MAX_US	600000000	/* 10 min */
#define AUDIT_ZERO_HASH	\
	"0000000000000000000000000000000000000000000000000000000000000000"

/* A row for the poster thread (audit_post): the entry's own copies. */
struct audit_job {
	struct audit_job	*next;
	char			*f[AUDIT_NFIELDS];
};

static pthread_mutex_t	 audit_mtx = PTHREAD_MUTEX_INITIALIZER;
static sqlite3		*audit_db;

static pthread_mutex_t	 post_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 post_cond = PTHREAD_COND_INITIALIZER;
static pthread_t	 post_thr;
static int		 post_started, post_run;
static int64_t		 prune_after_ms;	/* refused rows kept; 0: always */
static int64_t		 prune_next_us;
static struct audit_job	*post_head, **post_tail = &post_head;
static int		 post_len;
/* Highest id known committed; a shorter chain lost its tail. */
static int64_t		 audit_high;

/*
 * Stored text is valid UTF-8 without control characters (C0, C1, bidi
 * controls): the rows end up in JSON, journald and on operators'
 * terminals.  Anything else becomes '?'.
 */
static char *
audit_clean(const char *s)
{
	const unsigned char	*p = (const unsigned char *)(s != NULL ? s : "");
	size_t			 n = strlen((const char *)p), i = 0, o = 0, k;
	uint32_t		 cp;
	char			*out;

	if (n > AUDIT_FIELD_MAX)
		n = AUDIT_FIELD_MAX;
	out = xmalloc(n + 1);
	while (i < n) {
		k = text_utf8_next(p + i, n - i, &cp);
		if (k == 0 || text_is_control(cp)) {
			out[o++] = '?';
			i += k == 0 ? 1 : k;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

static void
audit_canon_field(struct buf *b, const char *s)
{
	buf_printf(b, "%zu:", strlen(s));
	buf_adds(b, s);
	buf_addc(b, '\n');
}

/* The documented hash of one row; hex holds HASH_HEX_LEN + 1. */
static void
audit_hash(const char *prev, int64_t id, int64_t t_ms,
    const char *const f[AUDIT_NFIELDS], char *hex)
{
	struct buf	b;
	char		num[32];
	int		i;

	buf_init(&b);
	buf_adds(&b, prev);
	snprintf(num, sizeof(num), "%" PRId64, id);
	audit_canon_field(&b, num);
	snprintf(num, sizeof(num), "%" PRId64, t_ms);
	audit_canon_field(&b, num);
	for (i = 0; i < 8; i++)
		audit_canon_field(&b, f[i]);
	if (f[8][0] != '\0' || f[9][0] != '\0') {
		audit_canon_field(&b, f[8]);
		audit_canon_field(&b, f[9]);
	}
	hash_sha256_hex(b.data, b.len, hex);
	buf_free(&b);
}

/* The entry's fields in canonical order: actor .. result, key, batch. */
static void
audit_fields(const struct audit_entry *e, const char *f[AUDIT_NFIELDS])
{
	f[0] = e->actor;
	f[1] = e->role;
	f[2] = e->operator_hdr;
	f[3] = e->source;
	f[4] = e->action;
	f[5] = e->target;
	f[6] = e->detail;
	f[7] = e->result;
	f[8] = e->key;
	f[9] = e->batch;
}

static void
audit_job_free(struct audit_job *j)
{
	int	i;

	for (i = 0; i < AUDIT_NFIELDS; i++)
		free(j->f[i]);
	free(j);
}

static void
audit_job_run(struct audit_job *j)
{
	struct audit_entry	e;
	char			err[256];

	memset(&e, 0, sizeof(e));
	e.actor = j->f[0];
	e.role = j->f[1];
	e.operator_hdr = j->f[2];
	e.source = j->f[3];
	e.action = j->f[4];
	e.target = j->f[5];
	e.detail = j->f[6];
	e.result = j->f[7];
	e.key = j->f[8];
	e.batch = j->f[9];
	/* audit_append logs a row it could not write */
	(void)audit_append(&e, NULL, err, sizeof(err));
}

/* How often refused rows are pruned: a tenth of their retention. */
static int64_t
audit_prune_every_us(int64_t keep_ms)
{
	int64_t	us = keep_ms * 100;	/* keep_ms / 10, in us */

	if (us < AUDIT_PRUNE_MIN_US)
		us = AUDIT_PRUNE_MIN_US;
	if (us > AUDIT_PRUNE_MAX_US)
		us = AUDIT_PRUNE_MAX_US;
	return us;
}

/* Under post_mtx: sleeps until woken, or until until_us (monotonic). */
static void
audit_timedwait(int64_t until_us)
{
	struct timespec	ts;
	int64_t		wait_us;

	if (until_us == 0) {
		pthread_cond_wait(&post_cond, &post_mtx);
		return;
	}
	/* the condition variable counts in CLOCK_REALTIME */
	wait_us = until_us - clock_mono_us();
	if (wait_us <= 0)
		return;
	clock_wall_after(&ts, wait_us);
	(void)pthread_cond_timedwait(&post_cond, &post_mtx, &ts);
}

/*
 * Deletes refused requests' rows older than cut_ms, leaving tombstones
 * (id, hash) that keep the chain verifiable; the newest row is never
 * pruned, since the next row links to it.  Chunks of AUDIT_PRUNE_ROWS in
 * their own transactions, so route changes are not held up.
 */
static void
audit_prune(int64_t cut_ms)
{
	sqlite3_stmt	*st = NULL;
	char		 sql[512];
	int		 n, total = 0, rc;

	snprintf(sql, sizeof(sql), "INSERT INTO audit_pruned (id, hash, t_ms) "
	    "SELECT id, hash, t_ms FROM audit WHERE action = 'refused' AND "
	    "result = 'refused' AND t_ms < ?1 AND id < (SELECT max(id) FROM "
	    "audit) ORDER BY id LIMIT %d", AUDIT_PRUNE_ROWS);
	for (;;) {
		pthread_mutex_lock(&audit_mtx);
		if (audit_db == NULL) {
			pthread_mutex_unlock(&audit_mtx);
			return;
		}
		rc = sqlite3_exec(audit_db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v2(audit_db, sql, -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, cut_ms);
			rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK :
			    SQLITE_ERROR;
		}
		sqlite3_finalize(st);
		st = NULL;
		n = rc == SQLITE_OK ? sqlite3_changes(audit_db) : 0;
		if (rc == SQLITE_OK && n > 0)
			rc = sqlite3_exec(audit_db, "DELETE FROM audit WHERE id "
			    "IN (SELECT p.id FROM audit_pruned p JOIN audit a "
			    "ON a.id = p.id)", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(audit_db, "COMMIT", NULL, NULL,
			    NULL);
		if (rc != SQLITE_OK) {
			log_warnx("audit: cannot prune refused rows: %s",
			    sqlite3_errmsg(audit_db));
			(void)sqlite3_exec(audit_db, "ROLLBACK", NULL, NULL,
			    NULL);
			pthread_mutex_unlock(&audit_mtx);
			return;
		}
		pthread_mutex_unlock(&audit_mtx);
		total += n;
		if (n < AUDIT_PRUNE_ROWS)
			break;
	}
	if (total > 0)
		log_info("audit: pruned %d refused requests' rows older than "
		    "audit_refused_retention", total);
}

void
audit_set_refused_retention(int64_t ms)
{
	pthread_mutex_lock(&post_mtx);
	prune_after_ms = ms;
	prune_next_us = clock_mono_us();
	pthread_cond_signal(&post_cond);
	pthread_mutex_unlock(&post_mtx);
}

/* The poster: rows the loop thread asked for, committed in order. */
static void *
audit_poster(void *arg)
{
	struct audit_job	*j;

	pthread_mutex_lock(&post_mtx);
	for (;;) {
		while ((j = post_head) != NULL) {
			if ((post_head = j->next) == NULL)
				post_tail = &post_head;
			post_len--;
			pthread_mutex_unlock(&post_mtx);
			audit_job_run(j);
			audit_job_free(j);
			pthread_mutex_lock(&post_mtx);
		}
		if (!post_run)
			break;
		if (prune_after_ms > 0 && clock_mono_us() >= prune_next_us) {
			int64_t keep = prune_after_ms;

			prune_next_us = clock_mono_us() + audit_prune_every_us(
			    keep);
			pthread_mutex_unlock(&post_mtx);
			audit_prune(clock_wall_ms() - keep);
			pthread_mutex_lock(&post_mtx);
			continue;
		}
		audit_timedwait(prune_after_ms > 0 ? prune_next_us : 0);
	}
	pthread_mutex_unlock(&post_mtx);
	return NULL;
}

void
audit_system(struct audit_entry *e, const char *source, const char *action,
    const char *target, const char *detail, const char *result)
{
	memset(e, 0, sizeof(*e));
	e->actor = "system";
	e->role = "system";
	e->operator_hdr = "";
	e->source = source;
	e->action = action;
	e->target = target;
	e->detail = detail;
	e->result = result;
}

void
audit_post(const struct audit_entry *e)
{
	struct audit_job	*j;
	const char		*src[AUDIT_NFIELDS];
	int			 i;

	audit_fields(e, src);
	pthread_mutex_lock(&post_mtx);
	if (!post_started || post_len >= AUDIT_POST_MAX) {
		pthread_mutex_unlock(&post_mtx);
		log_warnx("audit: %s %s by %s not recorded: the audit writer "
		    "is %s", e->action != NULL ? e->action : "",
		    e->target != NULL ? e->target : "",
		    e->actor != NULL ? e->actor : "", post_started ?
		    "too far behind" : "not running");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	for (i = 0; i < AUDIT_NFIELDS; i++)
		j->f[i] = xstrdup(src[i] != NULL ? src[i] : "");
	*post_tail = j;
	post_tail = &j->next;
	post_len++;
	pthread_cond_signal(&post_cond);
	pthread_mutex_unlock(&post_mtx);
}

int
audit_start(struct config *conf, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	if (vd == NULL || vd->store == NULL) {
		snprintf(err, errlen, "the store is not open");
		return -1;
	}
	if ((audit_db = store_connect(vd->store, 0, err, errlen)) == NULL)
		return -1;
	if (sqlite3_prepare_v2(audit_db, "SELECT max(COALESCE((SELECT seq "
	    "FROM sqlite_sequence WHERE name = 'audit'), 0), "
	    "COALESCE((SELECT max(id) FROM audit), 0))", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "audit: %s", sqlite3_errmsg(audit_db));
		goto fail;
	}
	pthread_mutex_lock(&audit_mtx);
	audit_high = sqlite3_column_int64(st, 0);
	pthread_mutex_unlock(&audit_mtx);
	post_run = 1;
	prune_after_ms = conf->audit_refused_retention_ms;
	prune_next_us = clock_mono_us();
	if (pthread_create(&post_thr, NULL, audit_poster, NULL) != 0) {
		snprintf(err, errlen, "audit writer thread: %s",
		    strerror(errno));
		post_run = 0;
		goto fail;
	}
	post_started = 1;
	rc = 0;
fail:
	sqlite3_finalize(st);
	if (rc == -1) {
		sqlite3_close(audit_db);
		audit_db = NULL;
	}
	return rc;
}

void
audit_stop(void)
{
	/* what was posted before the stop is still written */
	pthread_mutex_lock(&post_mtx);
	post_run = 0;
	pthread_cond_signal(&post_cond);
	pthread_mutex_unlock(&post_mtx);
	if (post_started) {
		pthread_join(post_thr, NULL);
		pthread_mutex_lock(&post_mtx);
		post_started = 0;
		pthread_mutex_unlock(&post_mtx);
	}
	pthread_mutex_lock(&audit_mtx);
	if (audit_db != NULL)
		sqlite3_close(audit_db);
	audit_db = NULL;
	pthread_mutex_unlock(&audit_mtx);
}

int
audit_insert(sqlite3 *db, const struct audit_entry *e, int64_t *idp,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	const char	*raw[AUDIT_NFIELDS];
	char		*f[AUDIT_NFIELDS], prev[HASH_HEX_LEN + 1];
	char		 hex[HASH_HEX_LEN + 1];
	int64_t		 id = 0, t_ms = clock_wall_ms();
	int		 i, rc = -1;

	audit_fields(e, raw);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		f[i] = audit_clean(raw[i]);

	/* The next id never reuses one a deleted row had (AUTOINCREMENT). */
	if (sqlite3_prepare_v2(db, "SELECT max(COALESCE((SELECT seq FROM "
	    "sqlite_sequence WHERE name = 'audit'), 0), COALESCE((SELECT "
	    "max(id) FROM audit), 0)), (SELECT hash FROM audit ORDER BY id "
	    "DESC LIMIT 1)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto dberr;
	id = sqlite3_column_int64(st, 0) + 1;
	if (sqlite3_column_type(st, 1) == SQLITE_TEXT &&
	    sqlite3_column_bytes(st, 1) == HASH_HEX_LEN)
		strlcpy_v(prev, (const char *)sqlite3_column_text(st, 1),
		    sizeof(prev));
	else
		strlcpy_v(prev, AUDIT_ZERO_HASH, sizeof(prev));
	sqlite3_finalize(st);
	st = NULL;

	audit_hash(prev, id, t_ms, (const char *const *)f, hex);
	if (sqlite3_prepare_v2(db, "INSERT INTO audit (id, t_ms, actor, role, "
	    "operator, source, action, target, detail, result, request_key, "
	    "batch, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, t_ms);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		sqlite3_bind_text(st, 3 + i, f[i], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, hex, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	*idp = id;
	rc = 0;
	goto done;
dberr:
	snprintf(err, errlen, "audit log not writable: %s",
	    sqlite3_errmsg(db));
done:
	sqlite3_finalize(st);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		free(f[i]);
	return rc;
}

void
audit_committed(const struct audit_entry *e, int64_t id)
{
	const char	*src[AUDIT_NFIELDS];
	char		 f[AUDIT_NFIELDS][AUDIT_JOURNAL_MAX];
	int		 i;

	pthread_mutex_lock(&audit_mtx);
	if (id > audit_high)
		audit_high = id;
	pthread_mutex_unlock(&audit_mtx);
	/* the journal gets the fields escaped, like every log line */
	audit_fields(e, src);
	for (i = 0; i < AUDIT_NFIELDS; i++)
		text_escape(src[i], f[i], sizeof(f[i]));
	/* journald keeps its own copy; a failure there is not ours to fix */
	(void)sd_journal_send("MESSAGE=audit %" PRId64 ": %s %s by %s: %s "
	    "(%s)", id, f[4], f[5], f[0], f[7], f[6],
	    "PRIORITY=%d", LOG_NOTICE,
	    "SYSLOG_IDENTIFIER=vantaged",
	    "VANTAGE_AUDIT_ID=%" PRId64, id,
	    "VANTAGE_ACTION=%s", f[4],
	    "VANTAGE_ACTOR=%s", f[0],
	    "VANTAGE_ROLE=%s", f[1],
	    "VANTAGE_OPERATOR=%s", f[2],
	    "VANTAGE_SOURCE=%s", f[3],
	    "VANTAGE_TARGET=%s", f[5],
	    "VANTAGE_DETAIL=%s", f[6],
	    "VANTAGE_RESULT=%s", f[7],
	    "VANTAGE_REQUEST_KEY=%s", f[8],
	    "VANTAGE_BATCH=%s", f[9],
	    NULL);
	log_debug("audit %" PRId64 ": %s %s by %s (%s, %s): %s: %s", id,
	    f[4], f[5], f[0], f[1], f[3], f[7], f[6]);
}

int
audit_append(const struct audit_entry *e, int64_t *idp, char *err,
    size_t errlen)
{
	int64_t	id = 0;
	int	rc = -1;

	pthread_mutex_lock(&audit_mtx);
	if (audit_db == NULL) {
		snprintf(err, errlen, "audit log is not open");
		goto fail;
	}
	if (sqlite3_exec(audit_db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "audit log not writable: %s",
		    sqlite3_errmsg(audit_db));
		goto fail;
	}
	if (audit_insert(audit_db, e, &id, err, errlen) == -1 ||
	    sqlite3_exec(audit_db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		if (id != 0 || err[0] == '\0')
			snprintf(err, errlen, "audit log not writable: %s",
			    sqlite3_errmsg(audit_db));
		(void)sqlite3_exec(audit_db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	rc = 0;
fail:
	pthread_mutex_unlock(&audit_mtx);
	if (rc == 0) {
		audit_committed(e, id);
		if (idp != NULL)
			*idp = id;
	} else
		log_warnx("audit: %s %s by %s not recorded: %s",
		    e->action != NULL ? e->action : "",
		    e->target != NULL ? e->target : "",
		    e->actor != NULL ? e->actor : "", err);
	return rc;
}

/*
 * Walks the tombstones of pruned rows from *expect up to (not including)
 * id while they are contiguous: *expect ends at the first id that has
 * neither a row nor a tombstone (or at id), prev holds the hash of the
 * last tombstone passed; returns how many were passed.
 */
static int64_t
audit_tombstones(sqlite3 *db, int64_t *expect, int64_t id, char *prev,
    size_t len)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 n = 0;

	if (sqlite3_prepare_v2(db, "SELECT id, hash FROM audit_pruned WHERE "
	    "id >= ?1 AND id < ?2 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, *expect);
	sqlite3_bind_int64(st, 2, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) != *expect ||
		    sqlite3_column_type(st, 1) != SQLITE_TEXT ||
		    sqlite3_column_bytes(st, 1) != HASH_HEX_LEN)
			break;
		strlcpy_v(prev, (const char *)sqlite3_column_text(st, 1), len);
		(*expect)++;
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static void
audit_bad(struct audit_verify *v, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
audit_bad(struct audit_verify *v, int64_t id, const char *fmt, ...)
{
	va_list	ap;

	v->ok = 0;
	v->bad_id = id;
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof(v->message), fmt, ap);
	va_end(ap);
}

int
audit_verify(sqlite3 *db, struct audit_verify *v, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	char		 prev[HASH_HEX_LEN + 1], hex[HASH_HEX_LEN + 1];
	const char	*f[AUDIT_NFIELDS];
	int64_t		 expect = 1, id, t_ms, seq = 0, high;
	int		 i, src, rc = -1, intx = 0;

	memset(v, 0, sizeof(*v));
	v->ok = 1;
	strlcpy_v(prev, AUDIT_ZERO_HASH, sizeof(prev));
	strlcpy_v(v->head, AUDIT_ZERO_HASH, sizeof(v->head));
	/* read before the snapshot starts, so every row up to it is in it */
	pthread_mutex_lock(&audit_mtx);
	high = audit_high;
	pthread_mutex_unlock(&audit_mtx);
	/* one read transaction: a consistent snapshot while others append */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	intx = 1;
	if (sqlite3_prepare_v2(db, "SELECT id, t_ms, actor, role, operator, "
	    "source, action, target, detail, result, request_key, batch, "
	    "prev_hash, hash FROM audit ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK)
		goto dberr;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ph, *h;

		id = sqlite3_column_int64(st, 0);
		t_ms = sqlite3_column_int64(st, 1);
		for (i = 0; i < AUDIT_NFIELDS; i++) {
			f[i] = (const char *)sqlite3_column_text(st, 2 + i);
			if (f[i] == NULL)
				f[i] = "";
		}
		ph = (const char *)sqlite3_column_text(st, 12);
		h = (const char *)sqlite3_column_text(st, 13);
		if (ph == NULL)
			ph = "";
		if (h == NULL)
			h = "";
		/* pruned refused rows: their tombstones carry the link */
		if (id > expect)
			v->pruned += audit_tombstones(db, &expect, id, prev,
			    sizeof(prev));
		if (id != expect) {
			if (id > expect && expect == id - 1)
				audit_bad(v, expect, "row %" PRId64 " is "
				    "missing (deleted): the chain goes from "
				    "row %" PRId64 " to row %" PRId64, expect,
				    expect - 1, id);
			else if (id > expect)
				audit_bad(v, expect, "rows %" PRId64 " to %"
				    PRId64 " are missing (deleted): the chain "
				    "goes from row %" PRId64 " to row %" PRId64,
				    expect, id - 1, expect - 1, id);
			else
				audit_bad(v, id, "row %" PRId64 " is out of "
				    "order", id);
			break;
		}
		if (strcmp(ph, prev) != 0) {
			audit_bad(v, id, "row %" PRId64 ": prev_hash does not "
			    "match the hash of row %" PRId64 " (chain broken)",
			    id, id - 1);
			break;
		}
		audit_hash(prev, id, t_ms, f, hex);
		if (strcmp(hex, h) != 0) {
			audit_bad(v, id, "row %" PRId64 ": content does not "
			    "match its hash (row edited)", id);
			break;
		}
		strlcpy_v(prev, h, sizeof(prev));
		strlcpy_v(v->head, h, sizeof(v->head));
		v->rows++;
		expect = id + 1;
	}
	if (v->ok && src != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (v->ok) {
		/* A cut tail leaves no gap; the sequence and memory remember. */
		if (sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence "
		    "WHERE name = 'audit'", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			seq = sqlite3_column_int64(st, 0);
		if (seq > high)
			high = seq;
		if (high > expect - 1)
			audit_bad(v, expect, "rows after %" PRId64 " are "
			    "missing (deleted): the log reached row %" PRId64,
			    expect - 1, high);
	}
	rc = 0;
	goto done;
dberr:
	snprintf(err, errlen, "cannot read the audit log: %s",
	    sqlite3_errmsg(db));
done:
	sqlite3_finalize(st);
	if (intx)
		(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return rc;
}
