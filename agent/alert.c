/*
 * alert.c - probe state changes, stored as events and sent to [alert]
 * webhooks, at least once.
 *
 * A change becomes one event row (schema/005_events.sql) and one outbox
 * row per webhook (schema/003_outbox.sql), committed together by a small
 * writer thread; the POSTs start only once that commit is done.  A crash
 * therefore loses a change together with its alerts (nothing was stored,
 * so nothing is owed) or keeps both (the outbox rows are sent at the next
 * start).  Events are stored with no [alert] section as well.
 *
 * What counts as a change is decided by the writer against the last
 * stored event of the probe, not against the state in memory: probes
 * start UNKNOWN after a restart (or a reload that changed them), and
 * their first state is compared with the last stored one.  When it
 * differs, the change from the stored state is stored and alerted, so a
 * down -> up lost to a crash is sent after the restart; when it is the
 * same, nothing is stored or sent, so a restart never pages again.  A
 * probe with no stored event that first comes up is no news; one that
 * first comes down or degraded is stored and alerted as from unknown.
 *
 * An [alert] of type alertmanager gets the same outbox rows, with a body
 * for Alertmanager's API v2 and the probe named (schema/008_ack.sql):
 * the probe's newer change deletes its older row in the same
 * transaction, so there is one row per probe and section, the latest
 * word.  A row whose alert fires is not deleted after its 2xx but sent
 * again every repeat, endsAt set a few repeats ahead at each send (the
 * body keeps a mark there), so Alertmanager keeps the alert while the
 * agent lives and resolves it by itself when the sends stop.  The rows
 * still there at start are sent again like any other; a start that finds
 * a probe firing as stored gives a section without a row of it one.
 *
 * An acknowledgement (POST /v1/probes/NAME/ack, api_ack.c) holds the
 * re-sends of the probe's firing rows until it expires or the probe's
 * next stored change, which deletes it in the change's transaction.  It
 * is kept in memory (ack_mtx; the API threads and the loop read it) and
 * in the ack table, written by the writer thread like everything else:
 * the API thread waits for that commit before it answers.
 *
 * Each POST carries an Idempotency-Key that stays the same across every
 * retry and restart, so a receiver that remembers keys sees each change
 * exactly once.  Until a 2xx the POST is retried with exponential backoff
 * (1 s doubling to 5 min); the row goes only after the 2xx, and the rows
 * still there at start are sent again.  A crash between a 2xx and the
 * delete only means one more delivery with the same key.
 *
 * The POSTs run on libcurl's multi socket interface in the agent's loop
 * (curlm.c, with a multi of our own).  Once the agent runs, all SQL here
 * is the writer's, in order, one transaction per batch of jobs, so the
 * loop never waits for the disk; committed alerts come back to the loop
 * through an eventfd.  Only the outbox and ack loads at start read on
 * the main thread, before the loop and the writer run.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "hash.h"
#include "inifile.h"
#include "vantaged.h"

#define ALERT_BACKOFF_MIN_MS	1000
#define ALERT_BACKOFF_MAX_MS	300000
#define ALERT_USER_AGENT	"vantaged/" VANTAGE_VERSION
#define ALERT_KEY_BYTES		16
#define ALERT_BATCH_JOBS	512	/* jobs per transaction, at most */
#define ALERT_TRIES		3	/* a batch's transaction, at most */
#define ALERT_RETRY_MS		200	/* pause before trying it again */
#define ALERT_LAST_BUCKETS	1024
#define ALERT_AM_PATH		"/api/v2/alerts"
#define ALERT_AM_AHEAD		3	/* endsAt: repeats ahead of a send */
#define ALERT_ENDS_MARK		'\001'	/* a firing endsAt, set per send */
#define ALERT_TOKEN_MAX		4096

enum alert_type {
	ALERT_WEBHOOK,
	ALERT_ALERTMANAGER
};

struct alert_msg {
	struct alert_msg	*next;
	char			*alert;		/* [alert] section name */
	char			*key;		/* Idempotency-Key */
	char			*body;
	char			*probe;		/* alertmanager rows only */
	int			 firing;	/* body holds ALERT_ENDS_MARK */
	int64_t			 created_ms;
	int			 attempts;
	CURL			*easy;		/* in flight */
	char			*sent;		/* the body as POSTed */
	struct curl_slist	*hdrs;
	struct loop_timer	*retry;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* Work for the writer thread. */
enum alert_op {
	ALERT_OP_CHANGE,	/* a state change: event + outbox rows */
	ALERT_OP_UPDATE,	/* an outbox row after a failed attempt */
	ALERT_OP_DELETE,	/* an outbox row after a 2xx */
	ALERT_OP_ACK_SET,	/* an ack row, stored or replaced */
	ALERT_OP_ACK_DEL	/* an ack row removed or expired */
};

/* An API thread waiting for its job's commit. */
struct alert_wait {
	int	done;
	int	ok;
};

/* A probe's acknowledgement; under ack_mtx. */
struct alert_ack {
	char	*by;
	char	*reason;
	int64_t	 created_ms;
	int64_t	 until_ms;
};

/* What API threads may know of a probe; under ack_mtx. */
struct alert_seen {
	struct alert_seen	*next;		/* hash chain */
	char			*probe;
	enum probe_state	 state;		/* as the loop saw it last */
	struct alert_ack	*ack;		/* NULL: none */
};

/* What the writer made of a change. */
enum alert_outcome {
	ALERT_AS_STORED,	/* the state stored last: no news */
	ALERT_NEW_UP,		/* nothing stored, found up: no news */
	ALERT_STORED,
	ALERT_FAILED
};

/* The last stored state of a probe; the writer's alone. */
struct alert_last {
	struct alert_last	*next;		/* hash chain */
	char			*probe;
	enum probe_state	 state;		/* committed; UNKNOWN: none */
	enum probe_state	 pending;	/* in the open transaction */
	int64_t			 since, pending_since;	/* its t_ms */
};

struct alert_job {
	struct alert_job	*next;
	enum alert_op		 op;
	/* UPDATE, DELETE: one outbox row */
	char			*alert;
	char			*key;
	int			 attempts;
	int64_t			 next_ms;
	char			*last_error;
	/* CHANGE, as the loop saw it */
	char			*probe;
	char			*agent;
	enum probe_state	 from, to;
	int64_t			 t_ms;
	int64_t			 result_t_ms;
	char			*cause;
	char			*target;	/* the probe's */
	char			*gen_url;	/* the probe in the agent's API */
	char			**alerts;	/* the webhooks at the change */
	enum alert_type		*types;		/* theirs */
	int			 nalerts;
	/* CHANGE, the writer's */
	struct alert_last	*last;
	enum probe_state	 ev_from;	/* from as stored */
	enum alert_outcome	 outcome;
	/* ACK_SET, ACK_DEL: probe, agent (who), cause (reason), t_ms
	 * (created), next_ms (until) */
	struct alert_wait	*wait;		/* NULL: nobody waits */
	int			 failed;
};

/* Committed alerts on their way from the writer to the loop. */
struct alert_list {
	struct alert_msg	*head;
	struct alert_msg	**tail;
};

struct alert_target {
	char		*name;
	enum alert_type	 type;
	char		*url;		/* where the POSTs go */
	char		*auth;		/* Authorization header or NULL */
	char		*ca;
	int64_t		 timeout_ms;
	int64_t		 repeat_ms;
};

/* The writer's prepared statements. */
enum alert_st {
	AST_LAST,
	AST_EVENT,
	AST_OUTBOX,
	AST_UPDATE,
	AST_DELETE,
	AST_SUPERSEDE,
	AST_ACK_SET,
	AST_ACK_DEL,
	AST_ACK_CLEAR,
	AST_HAS,
	AST_N
};

static struct curlm		*alert_cm;
static struct alert_msg		*alert_msgs;
static struct alert_target	*alert_targets;
static int			 alert_ntargets;
static struct config		*alert_pending;	/* reload not yet taken */

static pthread_mutex_t		 aw_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 aw_cond = PTHREAD_COND_INITIALIZER;
static pthread_t		 aw_thr;
static int			 aw_started, aw_run;
static struct alert_job		*aw_jobs, **aw_tail = &aw_jobs;
static sqlite3			*aw_db;
static sqlite3_stmt		*aw_st[AST_N];
static struct alert_last	*aw_last[ALERT_LAST_BUCKETS];

static pthread_cond_t		 aw_done = PTHREAD_COND_INITIALIZER;

static pthread_mutex_t		 ack_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t		 ack_api_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct alert_seen	*ack_seen[ALERT_LAST_BUCKETS];
static _Atomic uint64_t		 ack_gen;

static pthread_mutex_t		 aq_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct alert_list	 aq = { NULL, &aq.head };
static int			 aq_fd = -1;	/* eventfd: wakes the loop */

static void	alert_send(struct alert_msg *);
static int	alert_ack_load(char *, size_t);
static void	alert_seen_free(void);

/* ---- the writer thread ---- */

static void
alert_job_free(struct alert_job *j)
{
	int	i;

	free(j->alert);
	free(j->key);
	free(j->last_error);
	free(j->probe);
	free(j->agent);
	free(j->cause);
	free(j->target);
	free(j->gen_url);
	for (i = 0; i < j->nalerts; i++)
		free(j->alerts[i]);
	free(j->alerts);
	free(j->types);
	free(j);
}

static struct alert_msg *
alert_msg_alloc(const char *alert, const char *key, const char *body,
    const char *probe, int64_t created_ms, int attempts)
{
	struct alert_msg	*m = xcalloc(1, sizeof(*m));

	m->alert = xstrdup(alert);
	m->key = xstrdup(key);
	m->body = xstrdup(body);
	m->probe = probe != NULL ? xstrdup(probe) : NULL;
	m->firing = strchr(body, ALERT_ENDS_MARK) != NULL;
	m->created_ms = created_ms;
	m->attempts = attempts;
	return m;
}

static void
alert_list_free(struct alert_list *l)
{
	struct alert_msg	*m;

	while ((m = l->head) != NULL) {
		l->head = m->next;
		free(m->alert);
		free(m->key);
		free(m->body);
		free(m->probe);
		free(m);
	}
	l->tail = &l->head;
}

/* A statement of the writer's connection, reset and unbound. */
static sqlite3_stmt *
alert_stmt(enum alert_st which)
{
	static const char *const sql[AST_N] = {
		/* the last stored, by id: the wall clock may step back */
		[AST_LAST] = "SELECT to_state, t_ms FROM event WHERE id = "
		    "(SELECT max(id) FROM event WHERE probe = ?1)",
		[AST_EVENT] = "INSERT INTO event (probe, t_ms, from_state, "
		    "to_state, cause, result_t_ms) VALUES (?1, ?2, ?3, ?4, "
		    "?5, ?6)",
		[AST_OUTBOX] = "INSERT OR IGNORE INTO outbox (alert, "
		    "idem_key, created_ms, body, attempts, next_ms, "
		    "last_error, probe) VALUES (?1, ?2, ?3, ?4, 0, ?3, '', "
		    "?5)",
		[AST_UPDATE] = "UPDATE outbox SET attempts = ?3, "
		    "next_ms = ?4, last_error = ?5 WHERE alert = ?1 AND "
		    "idem_key = ?2",
		[AST_DELETE] = "DELETE FROM outbox WHERE alert = ?1 AND "
		    "idem_key = ?2",
		[AST_SUPERSEDE] = "DELETE FROM outbox WHERE alert = ?1 AND "
		    "probe = ?2",
		[AST_ACK_SET] = "INSERT OR REPLACE INTO ack (probe, acked_by, "
		    "reason, created_ms, until_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
		[AST_ACK_DEL] = "DELETE FROM ack WHERE probe = ?1 AND "
		    "created_ms = ?2",
		[AST_ACK_CLEAR] = "DELETE FROM ack WHERE probe = ?1 AND "
		    "created_ms <= ?2",
		[AST_HAS] = "SELECT 1 FROM outbox WHERE alert = ?1 AND "
		    "probe = ?2",
	};

	if (aw_st[which] == NULL) {
		if (sqlite3_prepare_v3(aw_db, sql[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &aw_st[which], NULL) !=
		    SQLITE_OK)
			return NULL;
	} else {
		sqlite3_reset(aw_st[which]);
		sqlite3_clear_bindings(aw_st[which]);
	}
	return aw_st[which];
}

/* Runs a statement that returns no rows; -1 leaves sqlite3_errmsg. */
static int
alert_step_done(sqlite3_stmt *st)
{
	int	rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
alert_exec(const char *sql)
{
	return sqlite3_exec(aw_db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    -1;
}

static enum probe_state
alert_state_parse(const char *s)
{
	static const enum probe_state all[] = {
		STATE_UP, STATE_DEGRADED, STATE_DOWN
	};
	size_t	i;

	for (i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, probe_state_str(all[i])) == 0)
			return all[i];
	}
	return STATE_UNKNOWN;
}

/*
 * The probe's last stored state, read from the event table on its first
 * change since the start and kept from then on (only this thread writes
 * events).  NULL when the read failed.
 */
static struct alert_last *
alert_last_get(const char *probe)
{
	struct alert_last	*l;
	sqlite3_stmt		*st;
	uint32_t		 h = hash_fnv1a(probe) % ALERT_LAST_BUCKETS;
	enum probe_state	 state = STATE_UNKNOWN;
	int64_t			 since = 0;
	int			 rc;

	for (l = aw_last[h]; l != NULL; l = l->next) {
		if (strcmp(l->probe, probe) == 0)
			return l;
	}
	if ((st = alert_stmt(AST_LAST)) == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, probe, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		state = alert_state_parse((const char *)
		    sqlite3_column_text(st, 0));
		since = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->probe = xstrdup(probe);
	l->state = l->pending = state;
	l->since = l->pending_since = since;
	l->next = aw_last[h];
	aw_last[h] = l;
	return l;
}

static void
alert_last_free(void)
{
	struct alert_last	*l;
	int			 i;

	for (i = 0; i < ALERT_LAST_BUCKETS; i++) {
		while ((l = aw_last[i]) != NULL) {
			aw_last[i] = l->next;
			free(l->probe);
			free(l);
		}
	}
}

static char *
alert_body(const struct alert_job *j, const char *key)
{
	struct buf	b;

	buf_init(&b);
	buf_adds(&b, "{\"agent\":");
	buf_add_json_str(&b, j->agent);
	buf_adds(&b, ",\"probe\":");
	buf_add_json_str(&b, j->probe);
	buf_printf(&b, ",\"from\":\"%s\",\"to\":\"%s\",\"t_ms\":%" PRId64
	    ",\"error\":", probe_state_str(j->ev_from),
	    probe_state_str(j->to), j->t_ms);
	buf_add_json_str(&b, j->cause);
	buf_printf(&b, ",\"idempotency_key\":\"%s\"}", key);
	return buf_release(&b, NULL);
}

/* Unix ms as RFC 3339 in UTC, as Alertmanager's API wants its times. */
static void
alert_rfc3339(char *out, size_t len, int64_t ms)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);
	char		s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03dZ", s, (int)(ms % 1000));
}

static int
alert_state_fires(enum probe_state s)
{
	return s == STATE_DOWN || s == STATE_DEGRADED;
}

/*
 * One Alertmanager alert of the probe in state s.  Its labels are what
 * Alertmanager tells alerts apart by, so they must stay the same for
 * every send of it, restarts included: nothing that changes while the
 * alert fires goes there (the error text is an annotation).  A firing
 * alert's endsAt is the mark, replaced at each send (alert_render).
 */
static void
alert_am_one(struct buf *b, const struct alert_job *j, enum probe_state s,
    int64_t starts_ms, int64_t ends_ms, const char *error)
{
	struct buf	sum;
	char		t[40];

	buf_printf(b, "{\"labels\":{\"alertname\":\"%s\",\"agent\":",
	    s == STATE_DOWN ? "VantageProbeDown" : "VantageProbeDegraded");
	buf_add_json_str(b, j->agent);
	buf_adds(b, ",\"probe\":");
	buf_add_json_str(b, j->probe);
	buf_adds(b, ",\"target\":");
	buf_add_json_str(b, j->target);
	buf_printf(b, ",\"severity\":\"%s\"},\"annotations\":{"
	    "\"summary\":", s == STATE_DOWN ? "critical" : "warning");
	buf_init(&sum);
	buf_printf(&sum, "probe %s on %s is %s", j->probe, j->agent,
	    probe_state_str(s));
	buf_add_json_str(b, sum.data);
	buf_free(&sum);
	buf_adds(b, ",\"error\":");
	buf_add_json_str(b, error);
	alert_rfc3339(t, sizeof(t), starts_ms);
	buf_printf(b, "},\"startsAt\":\"%s\",\"endsAt\":\"", t);
	if (ends_ms < 0)
		buf_addc(b, ALERT_ENDS_MARK);
	else {
		alert_rfc3339(t, sizeof(t), ends_ms);
		buf_adds(b, t);
	}
	buf_adds(b, "\",\"generatorURL\":");
	buf_add_json_str(b, j->gen_url);
	buf_addc(b, '}');
}

/*
 * The POST body of a change for Alertmanager: the alert of the state
 * left, resolved at the change, and the alert of the state entered while
 * it fires (down and degraded are two alerts: their severity differs).
 */
static char *
alert_am_body(const struct alert_job *j, int64_t from_since)
{
	struct buf	b;
	int		n = 0;

	buf_init(&b);
	buf_addc(&b, '[');
	if (alert_state_fires(j->ev_from) && j->ev_from != j->to) {
		alert_am_one(&b, j, j->ev_from, from_since > 0 &&
		    from_since <= j->t_ms ? from_since : j->t_ms, j->t_ms, "");
		n++;
	}
	if (alert_state_fires(j->to)) {
		if (n > 0)
			buf_addc(&b, ',');
		alert_am_one(&b, j, j->to, j->t_ms, -1, j->cause);
	}
	buf_addc(&b, ']');
	return buf_release(&b, NULL);
}

/* The event and its outbox rows; -1 leaves sqlite3_errmsg. */
static int
alert_change_write(const struct alert_job *j, const char *key,
    const char *body, const char *am_body)
{
	sqlite3_stmt	*st;
	int		 i;

	if ((st = alert_stmt(AST_EVENT)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, j->probe, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, j->t_ms);
	sqlite3_bind_text(st, 3, probe_state_str(j->ev_from), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 4, probe_state_str(j->to), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, j->cause, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, j->result_t_ms);
	if (alert_step_done(st) == -1)
		return -1;
	/* an ack holds until the state changes */
	if ((st = alert_stmt(AST_ACK_CLEAR)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, j->probe, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, j->t_ms);
	if (alert_step_done(st) == -1)
		return -1;
	for (i = 0; i < j->nalerts; i++) {
		int am = j->types[i] == ALERT_ALERTMANAGER;

		/* the probe's older alert for it: this one says it all */
		if (am) {
			if ((st = alert_stmt(AST_SUPERSEDE)) == NULL)
				return -1;
			sqlite3_bind_text(st, 1, j->alerts[i], -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(st, 2, j->probe, -1, SQLITE_STATIC);
			if (alert_step_done(st) == -1)
				return -1;
		}
		if ((st = alert_stmt(AST_OUTBOX)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, j->alerts[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, j->t_ms);
		sqlite3_bind_text(st, 4, am ? am_body : body, -1,
		    SQLITE_STATIC);
		if (am)
			sqlite3_bind_text(st, 5, j->probe, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		if (alert_step_done(st) == -1)
			return -1;
	}
	return 0;
}

static void
alert_new_key(char *key)
{
	unsigned char	raw[ALERT_KEY_BYTES];
	int		i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		fatalx("%s: RAND_bytes", __func__);
	for (i = 0; i < ALERT_KEY_BYTES; i++)
		snprintf(key + i * 2, 3, "%02x", raw[i]);
}

/*
 * A restart found the probe firing as stored: an Alertmanager with no
 * row of the probe (its [alert] section is new, or was not there at the
 * change) gets the alert now, as firing since the stored change.  One
 * that has a row is sent it already.  -1 leaves sqlite3_errmsg.
 */
static int
alert_refire(const struct alert_job *j, struct alert_list *sent)
{
	struct alert_job	 k = *j;
	struct alert_msg	*m;
	sqlite3_stmt		*st;
	char			 key[ALERT_KEY_BYTES * 2 + 1];
	char			*body;
	int			 i, rc;

	k.ev_from = STATE_UNKNOWN;
	k.t_ms = j->last->pending_since > 0 ? j->last->pending_since : j->t_ms;
	for (i = 0; i < j->nalerts; i++) {
		if (j->types[i] != ALERT_ALERTMANAGER)
			continue;
		if ((st = alert_stmt(AST_HAS)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, j->alerts[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, j->probe, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_ROW)
			continue;
		if (rc != SQLITE_DONE)
			return -1;
		alert_new_key(key);
		body = alert_am_body(&k, 0);
		if ((st = alert_stmt(AST_OUTBOX)) == NULL) {
			free(body);
			return -1;
		}
		sqlite3_bind_text(st, 1, j->alerts[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, j->t_ms);
		sqlite3_bind_text(st, 4, body, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, j->probe, -1, SQLITE_STATIC);
		if (alert_step_done(st) == -1) {
			free(body);
			return -1;
		}
		log_info("alert %s: probe %s %s as stored, sending its alert",
		    j->alerts[i], j->probe, probe_state_str(j->to));
		m = alert_msg_alloc(j->alerts[i], key, body, j->probe, j->t_ms,
		    0);
		*sent->tail = m;
		sent->tail = &m->next;
		free(body);
	}
	return 0;
}

/*
 * A state change inside the batch's transaction: decided against the
 * last stored state (pending: earlier changes of this batch count), then
 * written under a savepoint, so a row that fails takes the whole change
 * with it and never leaves an event without its alerts.  The alerts to
 * send go on sent, for after the commit.  -1 with the reason in why.
 */
static int
alert_change_run(struct alert_job *j, struct alert_list *sent, char *why,
    size_t whylen)
{
	char		 key[ALERT_KEY_BYTES * 2 + 1];
	char		*body, *am_body;
	enum probe_state before;
	int64_t		 from_since;
	int		 i;

	j->outcome = ALERT_FAILED;
	j->ev_from = j->from;
	if ((j->last = alert_last_get(j->probe)) == NULL) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		return -1;
	}
	before = j->last->pending;
	from_since = j->last->pending_since;
	if (before != STATE_UNKNOWN) {
		/* already stored (a restart's first state): no news */
		if (j->to == before) {
			j->outcome = ALERT_AS_STORED;
			if (alert_state_fires(before) &&
			    alert_refire(j, sent) == -1) {
				snprintf(why, whylen, "%s",
				    sqlite3_errmsg(aw_db));
				return -1;
			}
			return 0;
		}
		j->ev_from = before;
	} else if (j->from == STATE_UNKNOWN && j->to == STATE_UP) {
		/* nothing stored yet: a probe found up is no news */
		j->outcome = ALERT_NEW_UP;
		return 0;
	}
	alert_new_key(key);
	body = alert_body(j, key);
	am_body = alert_am_body(j, from_since);
	if (alert_exec("SAVEPOINT alert_change") == -1) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		free(body);
		free(am_body);
		return -1;
	}
	if (alert_change_write(j, key, body, am_body) == -1) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		alert_exec("ROLLBACK TO alert_change");
		alert_exec("RELEASE alert_change");
		free(body);
		free(am_body);
		return -1;
	}
	alert_exec("RELEASE alert_change");
	j->last->pending = j->to;
	j->last->pending_since = j->t_ms;
	j->outcome = ALERT_STORED;
	for (i = 0; i < j->nalerts; i++) {
		int am = j->types[i] == ALERT_ALERTMANAGER;
		struct alert_msg *m = alert_msg_alloc(j->alerts[i], key,
		    am ? am_body : body, am ? j->probe : NULL, j->t_ms, 0);

		*sent->tail = m;
		sent->tail = &m->next;
	}
	free(body);
	free(am_body);
	return 0;
}

/* An outbox update or delete; -1 with the reason in why. */
static int
alert_outbox_run(const struct alert_job *j, char *why, size_t whylen)
{
	sqlite3_stmt	*st;

	if ((st = alert_stmt(j->op == ALERT_OP_DELETE ? AST_DELETE :
	    AST_UPDATE)) == NULL) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		return -1;
	}
	sqlite3_bind_text(st, 1, j->alert, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->key, -1, SQLITE_STATIC);
	if (j->op == ALERT_OP_UPDATE) {
		sqlite3_bind_int64(st, 3, j->attempts);
		sqlite3_bind_int64(st, 4, j->next_ms);
		sqlite3_bind_text(st, 5, j->last_error, -1, SQLITE_STATIC);
	}
	if (alert_step_done(st) == -1) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		return -1;
	}
	return 0;
}

/* An ack row stored or removed; -1 with the reason in why. */
static int
alert_ack_run(const struct alert_job *j, char *why, size_t whylen)
{
	sqlite3_stmt	*st;

	if ((st = alert_stmt(j->op == ALERT_OP_ACK_SET ? AST_ACK_SET :
	    AST_ACK_DEL)) == NULL) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		return -1;
	}
	sqlite3_bind_text(st, 1, j->probe, -1, SQLITE_STATIC);
	if (j->op == ALERT_OP_ACK_SET) {
		sqlite3_bind_text(st, 2, j->agent, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, j->cause, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, j->t_ms);
		sqlite3_bind_int64(st, 5, j->next_ms);
	} else
		sqlite3_bind_int64(st, 2, j->t_ms);
	if (alert_step_done(st) == -1) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		return -1;
	}
	return 0;
}

/* One transaction for jobs up to end; -1 with the reason in why. */
static int
alert_batch_try(struct alert_job *list, struct alert_job *end,
    struct alert_list *sent, char *why, size_t whylen)
{
	struct alert_job	*j;
	int			 rc = 0;

	if (alert_exec("BEGIN IMMEDIATE") == -1) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		goto fail;
	}
	for (j = list; j != end; j = j->next) {
		switch (j->op) {
		case ALERT_OP_CHANGE:
			rc = alert_change_run(j, sent, why, whylen);
			break;
		case ALERT_OP_UPDATE:
		case ALERT_OP_DELETE:
			rc = alert_outbox_run(j, why, whylen);
			break;
		case ALERT_OP_ACK_SET:
		case ALERT_OP_ACK_DEL:
			rc = alert_ack_run(j, why, whylen);
			break;
		}
		j->failed = rc != 0;
		if (rc == 0)
			continue;
		/*
		 * Some errors (disk full, I/O) roll the whole transaction
		 * back: the batch is tried again, never with the rest of it
		 * committed statement by statement.
		 */
		if (sqlite3_get_autocommit(aw_db))
			goto fail;
		if (j->op == ALERT_OP_CHANGE)
			log_warnx("probe %s: %s -> %s not stored, no alert: %s",
			    j->probe, probe_state_str(j->ev_from),
			    probe_state_str(j->to), why);
		else if (j->op == ALERT_OP_ACK_SET || j->op == ALERT_OP_ACK_DEL)
			log_warnx("probe %s: ack not stored: %s", j->probe,
			    why);
		else
			log_warnx("alert %s: outbox write failed (%s): %s",
			    j->alert, j->key, why);
	}
	if (alert_exec("COMMIT") == -1) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(aw_db));
		goto fail;
	}
	return 0;
fail:
	alert_exec("ROLLBACK");
	return -1;
}

/* Tells the loop about alerts whose rows are committed. */
static void
alert_handoff(struct alert_list *sent)
{
	uint64_t	one = 1;

	if (sent->head == NULL)
		return;
	pthread_mutex_lock(&aq_mtx);
	*aq.tail = sent->head;
	aq.tail = sent->tail;
	pthread_mutex_unlock(&aq_mtx);
	sent->head = NULL;
	sent->tail = &sent->head;
	if (write(aq_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("alert: cannot wake the loop");
}

static struct alert_seen *
alert_seen_find(const char *probe, int add)
{
	struct alert_seen	*s;
	uint32_t		 h = hash_fnv1a(probe) % ALERT_LAST_BUCKETS;

	for (s = ack_seen[h]; s != NULL; s = s->next) {
		if (strcmp(s->probe, probe) == 0)
			return s;
	}
	if (!add)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->probe = xstrdup(probe);
	s->next = ack_seen[h];
	ack_seen[h] = s;
	return s;
}

static void
alert_ack_free(struct alert_ack *a)
{
	if (a == NULL)
		return;
	free(a->by);
	free(a->reason);
	free(a);
}

/* A stored change ends the probe's ack made before it. */
static void
alert_ack_forget(const char *probe, int64_t t_ms)
{
	struct alert_seen	*s;

	pthread_mutex_lock(&ack_mtx);
	if ((s = alert_seen_find(probe, 0)) != NULL && s->ack != NULL &&
	    s->ack->created_ms <= t_ms) {
		log_info("probe %s: acknowledgement by %s ends with the state "
		    "change", probe, s->ack->by);
		alert_ack_free(s->ack);
		s->ack = NULL;
		ack_gen++;
		api_wake();
	}
	pthread_mutex_unlock(&ack_mtx);
}

/* Jobs an API thread waits for: their commit is done (or failed). */
static void
alert_waiters(struct alert_job *list, struct alert_job *end)
{
	struct alert_job	*j;
	int			 any = 0;

	pthread_mutex_lock(&aw_mtx);
	for (j = list; j != end; j = j->next) {
		if (j->wait == NULL)
			continue;
		j->wait->ok = !j->failed;
		j->wait->done = 1;
		j->wait = NULL;
		any = 1;
	}
	if (any)
		pthread_cond_broadcast(&aw_done);
	pthread_mutex_unlock(&aw_mtx);
}

/*
 * Jobs from list up to end in one transaction, tried again after a pause
 * when it fails as a whole (the lock stayed busy, the disk failed).  The
 * pending states are reset before each try and become the stored ones
 * only with the commit.
 */
static void
alert_batch(struct alert_job *list, struct alert_job *end)
{
	struct alert_list	 sent = { NULL, &sent.head };
	struct alert_job	*j;
	struct timespec		 ts;
	char			 why[256];
	int			 tries;

	for (tries = 1;; tries++) {
		for (j = list; j != end; j = j->next) {
			if (j->last != NULL) {
				j->last->pending = j->last->state;
				j->last->pending_since = j->last->since;
			}
		}
		if (alert_batch_try(list, end, &sent, why, sizeof(why)) == 0)
			break;
		alert_list_free(&sent);
		if (tries == ALERT_TRIES) {
			for (j = list; j != end; j = j->next) {
				if (j->last != NULL)
					j->last->pending = j->last->state;
				if (j->op == ALERT_OP_CHANGE &&
				    (j->outcome == ALERT_STORED ||
				    j->outcome == ALERT_FAILED))
					log_warnx("probe %s: %s -> %s not "
					    "stored, no alert: %s", j->probe,
					    probe_state_str(j->ev_from),
					    probe_state_str(j->to), why);
			}
			log_warnx("alert: gave up a transaction after %d "
			    "tries: %s", tries, why);
			for (j = list; j != end; j = j->next)
				j->failed = 1;
			alert_waiters(list, end);
			return;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)ALERT_RETRY_MS * 1000000L * tries;
		nanosleep(&ts, NULL);
	}
	for (j = list; j != end; j = j->next) {
		if (j->last != NULL) {
			j->last->state = j->last->pending;
			j->last->since = j->last->pending_since;
		}
		if (j->op != ALERT_OP_CHANGE)
			continue;
		if (j->outcome == ALERT_STORED && j->ev_from != j->from)
			log_info("probe %s: %s -> %s from the last stored "
			    "state", j->probe, probe_state_str(j->ev_from),
			    probe_state_str(j->to));
		else if (j->outcome == ALERT_AS_STORED)
			log_debug("probe %s: %s as last stored, no alert",
			    j->probe, probe_state_str(j->to));
		else if (j->outcome == ALERT_NEW_UP)
			log_debug("probe %s: up with no stored state, no alert",
			    j->probe);
		if (j->outcome == ALERT_STORED)
			alert_ack_forget(j->probe, j->t_ms);
	}
	alert_waiters(list, end);
	alert_handoff(&sent);
}

static void *
alert_writer(void *arg)
{
	struct alert_job	*list, *end, *j;
	int			 n;

	pthread_mutex_lock(&aw_mtx);
	for (;;) {
		while (aw_jobs == NULL && aw_run)
			pthread_cond_wait(&aw_cond, &aw_mtx);
		if (aw_jobs == NULL && !aw_run)
			break;
		list = aw_jobs;
		aw_jobs = NULL;
		aw_tail = &aw_jobs;
		pthread_mutex_unlock(&aw_mtx);
		while (list != NULL) {
			for (end = list, n = 0; end != NULL &&
			    n < ALERT_BATCH_JOBS; end = end->next)
				n++;
			alert_batch(list, end);
			while ((j = list) != end) {
				list = j->next;
				alert_job_free(j);
			}
		}
		pthread_mutex_lock(&aw_mtx);
	}
	pthread_mutex_unlock(&aw_mtx);
	return NULL;
}

static void
alert_push(struct alert_job *j)
{
	pthread_mutex_lock(&aw_mtx);
	*aw_tail = j;
	aw_tail = &j->next;
	pthread_cond_signal(&aw_cond);
	pthread_mutex_unlock(&aw_mtx);
}

/* An outbox row's update (after a failed attempt) or delete. */
static void
alert_queue(enum alert_op op, const struct alert_msg *m, int64_t next_ms,
    const char *last_error)
{
	struct alert_job	*j = xcalloc(1, sizeof(*j));

	j->op = op;
	j->alert = xstrdup(m->alert);
	j->key = xstrdup(m->key);
	j->attempts = m->attempts;
	j->next_ms = next_ms;
	j->last_error = xstrdup(last_error != NULL ? last_error : "");
	alert_push(j);
}

/* ---- the loop thread ---- */

static size_t
alert_discard(char *data, size_t size, size_t n, void *arg)
{
	return size * n;
}

static const struct alert_target *
alert_target_find(const char *name)
{
	int	i;

	for (i = 0; i < alert_ntargets; i++) {
		if (strcmp(alert_targets[i].name, name) == 0)
			return &alert_targets[i];
	}
	return NULL;
}

static void
alert_unlink(struct alert_msg *m)
{
	struct alert_msg	**pp;

	for (pp = &alert_msgs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			return;
		}
	}
}

static void
alert_msg_free(struct alert_msg *m)
{
	if (m->easy != NULL) {
		curlm_remove(alert_cm, m->easy);
		curl_easy_cleanup(m->easy);
	}
	curl_slist_free_all(m->hdrs);
	if (m->retry != NULL)
		loop_timer_del(m->retry);
	free(m->alert);
	free(m->key);
	free(m->body);
	free(m->probe);
	free(m->sent);
	free(m);
}

static void
alert_retry_fire(void *arg)
{
	struct alert_msg	*m = arg;

	m->retry = NULL;
	alert_send(m);
}

static void
alert_schedule(struct alert_msg *m, int64_t delay_ms)
{
	if (m->retry != NULL)
		loop_timer_del(m->retry);
	m->retry = loop_timer_add(delay_ms > 0 ? delay_ms * 1000 : 0,
	    alert_retry_fire, m);
}

/* A transfer ended: 2xx deletes the row, anything else backs off. */
static void
alert_finished(struct alert_msg *m, CURLcode cc)
{
	long	code = 0;
	int64_t	backoff;
	char	why[CURL_ERROR_SIZE + 64];
	int	i;

	if (cc == CURLE_OK)
		curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &code);
	curlm_remove(alert_cm, m->easy);
	curl_easy_cleanup(m->easy);
	m->easy = NULL;
	curl_slist_free_all(m->hdrs);
	m->hdrs = NULL;
	free(m->sent);
	m->sent = NULL;
	m->attempts++;
	if (cc == CURLE_OK && code >= 200 && code <= 299 && m->firing) {
		const struct alert_target *t = alert_target_find(m->alert);
		int64_t	repeat = t != NULL ? t->repeat_ms : 60000;

		/* it fires until a newer change replaces the row */
		log_info("alert %s: delivered %s (attempt %d, HTTP %ld), "
		    "again in %" PRId64 "s while probe %s fires", m->alert,
		    m->key, m->attempts, code, repeat / 1000, m->probe);
		m->attempts = 0;
		alert_queue(ALERT_OP_UPDATE, m, clock_wall_ms() + repeat, "");
		alert_schedule(m, repeat);
		return;
	}
	if (cc == CURLE_OK && code >= 200 && code <= 299) {
		log_info("alert %s: delivered %s (attempt %d, HTTP %ld)",
		    m->alert, m->key, m->attempts, code);
		alert_queue(ALERT_OP_DELETE, m, 0, NULL);
		alert_unlink(m);
		alert_msg_free(m);
		return;
	}
	if (cc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", m->errbuf[0] != '\0' ?
		    m->errbuf : curl_easy_strerror(cc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", code);
	backoff = ALERT_BACKOFF_MIN_MS;
	for (i = 1; i < m->attempts && backoff < ALERT_BACKOFF_MAX_MS; i++)
		backoff *= 2;
	if (backoff > ALERT_BACKOFF_MAX_MS)
		backoff = ALERT_BACKOFF_MAX_MS;
	log_warnx("alert %s: %s not accepted (attempt %d: %s), retry in "
	    "%" PRId64 "s", m->alert, m->key, m->attempts, why,
	    backoff / 1000);
	alert_queue(ALERT_OP_UPDATE, m, clock_wall_ms() + backoff, why);
	alert_schedule(m, backoff);
}

/* curlm.c: a transfer curl has finished. */
static void
alert_done(CURL *easy, CURLcode cc, void *arg)
{
	struct alert_msg	*m = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&m);
	if (m != NULL)
		alert_finished(m, cc);
}

/*
 * The body to POST: a firing alert's endsAt is a few repeats from now,
 * so that Alertmanager resolves it by itself once the sends stop (the
 * agent died, the alert was removed) and keeps it while they go on.
 */
static char *
alert_render(const struct alert_msg *m, const struct alert_target *t)
{
	struct buf	 b;
	const char	*p;
	char		 ends[40];

	if (!m->firing)
		return xstrdup(m->body);
	alert_rfc3339(ends, sizeof(ends), clock_wall_ms() + ALERT_AM_AHEAD *
	    t->repeat_ms + t->timeout_ms);
	buf_init(&b);
	for (p = m->body; *p != '\0'; p++) {
		if (*p == ALERT_ENDS_MARK)
			buf_adds(&b, ends);
		else
			buf_addc(&b, *p);
	}
	return buf_release(&b, NULL);
}

/* How long the probe's ack holds yet, in ms; 0: none. */
static int64_t
alert_acked(const char *probe)
{
	struct alert_seen	*s;
	int64_t			 left = 0;

	pthread_mutex_lock(&ack_mtx);
	if ((s = alert_seen_find(probe, 0)) != NULL && s->ack != NULL)
		left = s->ack->until_ms - clock_wall_ms();
	pthread_mutex_unlock(&ack_mtx);
	return left > 0 ? left : 0;
}

static void
alert_send(struct alert_msg *m)
{
	const struct alert_target	*t;
	char				 hdr[128];
	char				 err[128];
	int64_t				 acked;

	if ((t = alert_target_find(m->alert)) == NULL)
		return;		/* dropped by a reload meanwhile */
	/* a reload changed its type: the body is for the other kind */
	if ((m->probe != NULL) != (t->type == ALERT_ALERTMANAGER)) {
		log_warnx("alert %s: type changed, dropping %s", m->alert,
		    m->key);
		alert_queue(ALERT_OP_DELETE, m, 0, NULL);
		alert_unlink(m);
		alert_msg_free(m);
		return;
	}
	/* acknowledged: not sent again until the ack ends or the state
	 * changes (a change replaces this delivery with its own) */
	if (m->firing && m->probe != NULL &&
	    (acked = alert_acked(m->probe)) > 0) {
		log_debug("alert %s: probe %s acknowledged, %s not sent",
		    m->alert, m->probe, m->key);
		alert_schedule(m, acked < t->repeat_ms ? acked : t->repeat_ms);
		return;
	}
	if ((m->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init", __func__);
	m->errbuf[0] = '\0';
	free(m->sent);
	m->sent = alert_render(m, t);
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", m->key);
	m->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	m->hdrs = curl_slist_append(m->hdrs, hdr);
	m->hdrs = curl_slist_append(m->hdrs, "Expect:");
	if (t->auth != NULL)
		m->hdrs = curl_slist_append(m->hdrs, t->auth);
	if (m->hdrs == NULL)
		fatalx("%s: curl_slist_append", __func__);
	curl_easy_setopt(m->easy, CURLOPT_URL, t->url);
	if (t->ca != NULL)
		curl_easy_setopt(m->easy, CURLOPT_CAINFO, t->ca);
	curl_easy_setopt(m->easy, CURLOPT_PRIVATE, m);
	curl_easy_setopt(m->easy, CURLOPT_HTTPHEADER, m->hdrs);
	curl_easy_setopt(m->easy, CURLOPT_POSTFIELDS, m->sent);
	curl_easy_setopt(m->easy, CURLOPT_USERAGENT, ALERT_USER_AGENT);
	curl_easy_setopt(m->easy, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(m->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->easy, CURLOPT_ERRORBUFFER, m->errbuf);
	curl_easy_setopt(m->easy, CURLOPT_WRITEFUNCTION, alert_discard);
	curl_easy_setopt(m->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(m->easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (curlm_add(alert_cm, m->easy, err, sizeof(err)) == -1) {
		log_warnx("alert %s: %s", m->alert, err);
		curl_easy_cleanup(m->easy);
		m->easy = NULL;
		curl_slist_free_all(m->hdrs);
		m->hdrs = NULL;
		free(m->sent);
		m->sent = NULL;
		alert_schedule(m, ALERT_BACKOFF_MIN_MS);
	}
}

static void
alert_msg_link(struct alert_msg *m)
{
	m->next = alert_msgs;
	alert_msgs = m;
}

/* A webhook (or probe) removed by a reload takes its deliveries along. */
static void
alert_drop(struct alert_msg *m)
{
	if (alert_target_find(m->alert) != NULL && m->probe != NULL)
		log_info("alert %s: probe %s no longer configured, dropping "
		    "%s", m->alert, m->probe, m->key);
	else
		log_info("alert %s: no longer configured, dropping %s",
		    m->alert, m->key);
	alert_queue(ALERT_OP_DELETE, m, 0, NULL);
	alert_msg_free(m);
}

/*
 * The probe's older Alertmanager delivery goes, in flight or waiting:
 * the writer deleted its row with the commit of the newer one.
 */
static void
alert_supersede(const struct alert_msg *n)
{
	struct alert_msg	*m, *next;

	for (m = alert_msgs; m != NULL; m = next) {
		next = m->next;
		if (m->probe == NULL || strcmp(m->probe, n->probe) != 0 ||
		    strcmp(m->alert, n->alert) != 0)
			continue;
		alert_unlink(m);
		alert_msg_free(m);
	}
}

/* The writer committed changes: their POSTs may start now. */
static void
alert_committed(int fd, uint32_t events, void *arg)
{
	struct alert_msg	*list, *m;
	uint64_t		 v;

	if (read(fd, &v, sizeof(v)) != sizeof(v) && errno != EAGAIN)
		log_warn("%s: read", __func__);
	pthread_mutex_lock(&aq_mtx);
	list = aq.head;
	aq.head = NULL;
	aq.tail = &aq.head;
	pthread_mutex_unlock(&aq_mtx);
	while ((m = list) != NULL) {
		list = m->next;
		m->next = NULL;
		if (alert_target_find(m->alert) == NULL) {
			alert_drop(m);
			continue;
		}
		if (m->probe != NULL)
			alert_supersede(m);
		alert_msg_link(m);
		alert_send(m);
	}
}

/* The probe in the agent's API, for an operator reading the alert. */
static char *
alert_generator_url(const char *probe)
{
	const struct config	*c = vd != NULL ? vd->conf : NULL;
	struct buf		 b;

	buf_init(&b);
	if (c != NULL && c->n_api_listen > 0) {
		buf_printf(&b, "%s://%s/v1/probes/%s", c->tls_cert != NULL ?
		    "https" : "http", c->api_listen[0], probe);
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_release(&b, NULL);
}

/*
 * probe_on_state_change: the loop thread, right after the change.  The
 * writer decides whether it is news (see the top of the file), stores it
 * and only then hands its alerts back for sending.
 */
static void
alert_on_state(const struct probe *p, enum probe_state from,
    enum probe_state to, const struct probe_result *why)
{
	struct alert_job	*j;
	int			 i;

	if (to == STATE_UNKNOWN)
		return;
	pthread_mutex_lock(&ack_mtx);
	alert_seen_find(p->conf->name, 1)->state = to;
	pthread_mutex_unlock(&ack_mtx);
	j = xcalloc(1, sizeof(*j));
	j->op = ALERT_OP_CHANGE;
	j->probe = xstrdup(p->conf->name);
	j->agent = xstrdup(vd != NULL && vd->conf != NULL ? vd->conf->name :
	    "");
	j->from = j->ev_from = from;
	j->to = to;
	j->t_ms = p->state_since_ms;
	j->result_t_ms = why->t_ms;
	/* an OK result tipping the change has no cause, whatever it said */
	j->cause = xstrdup(why->status == PROBE_OK ? "" : why->error);
	j->target = xstrdup(p->conf->target != NULL ? p->conf->target : "");
	j->gen_url = alert_generator_url(p->conf->name);
	j->alerts = xcalloc((size_t)alert_ntargets + 1, sizeof(*j->alerts));
	j->types = xcalloc((size_t)alert_ntargets + 1, sizeof(*j->types));
	for (i = 0; i < alert_ntargets; i++) {
		j->alerts[i] = xstrdup(alert_targets[i].name);
		j->types[i] = alert_targets[i].type;
	}
	j->nalerts = alert_ntargets;
	j->outcome = ALERT_FAILED;
	alert_push(j);
}

static void
alert_targets_free(void)
{
	int	i;

	for (i = 0; i < alert_ntargets; i++) {
		free(alert_targets[i].name);
		free(alert_targets[i].url);
		free(alert_targets[i].auth);
		free(alert_targets[i].ca);
	}
	free(alert_targets);
	alert_targets = NULL;
	alert_ntargets = 0;
}

/*
 * "Authorization: Bearer <first line of token_file>", or NULL with the
 * reason logged: the alerts are sent without it, and Alertmanager (or
 * the proxy before it) says 401, which the log shows as well.
 */
static char *
alert_bearer(const struct alert_conf *a)
{
	char	 err[256], *text, *nl;
	char	*hdr;

	if (a->token_file == NULL)
		return NULL;
	if (auth_check_secret(a->token_file, err, sizeof(err)) == -1 ||
	    (text = inifile_read(a->token_file, ALERT_TOKEN_MAX, err,
	    sizeof(err))) == NULL) {
		log_warnx("alert %s: token_file %s: %s", a->name,
		    a->token_file, err);
		return NULL;
	}
	if ((nl = strpbrk(text, "\r\n")) != NULL)
		*nl = '\0';
	if (text[0] == '\0') {
		log_warnx("alert %s: token_file %s is empty", a->name,
		    a->token_file);
		free(text);
		return NULL;
	}
	if (asprintf(&hdr, "Authorization: Bearer %s", text) == -1)
		fatalx("%s: asprintf", __func__);
	explicit_bzero(text, strlen(text));
	free(text);
	return hdr;
}

static void
alert_set_targets(struct config *conf)
{
	int	i;

	alert_targets_free();
	alert_targets = xcalloc((size_t)conf->n_alerts + 1,
	    sizeof(*alert_targets));
	for (i = 0; i < conf->n_alerts; i++) {
		const struct alert_conf	*a = conf->alerts[i];
		struct alert_target	*t = &alert_targets[i];

		t->name = xstrdup(a->name);
		t->type = a->type != NULL && strcmp(a->type,
		    "alertmanager") == 0 ? ALERT_ALERTMANAGER : ALERT_WEBHOOK;
		if (t->type == ALERT_ALERTMANAGER) {
			size_t n = strlen(a->url);

			/* the base URL, as Alertmanager's own --web.external-url */
			while (n > 0 && a->url[n - 1] == '/')
				n--;
			if (asprintf(&t->url, "%.*s%s", (int)n, a->url,
			    ALERT_AM_PATH) == -1)
				fatalx("%s: asprintf", __func__);
			t->auth = alert_bearer(a);
			t->ca = a->ca != NULL ? xstrdup(a->ca) : NULL;
		} else
			t->url = xstrdup(a->url);
		t->timeout_ms = a->timeout_ms > 0 ? a->timeout_ms : 10000;
		t->repeat_ms = a->repeat_ms > 0 ? a->repeat_ms : 60000;
	}
	alert_ntargets = conf->n_alerts;
}

/*
 * A firing alert of a probe no longer configured would be re-sent for
 * ever: it goes, and Alertmanager resolves it once its endsAt passes.
 */
static int
alert_probe_kept(const struct config *conf, const struct alert_msg *m)
{
	return !m->firing || m->probe == NULL ||
	    config_find_probe(conf, m->probe) != NULL;
}

/*
 * Pending rows from before the start, each sent when its backoff ends;
 * rows of removed webhooks go.  Runs before the writer and the loop do.
 */
static int
alert_load(const struct config *conf, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 now = clock_wall_ms();
	int		 src, n = 0;

	if (sqlite3_prepare_v2(aw_db, "SELECT alert, idem_key, created_ms, "
	    "body, attempts, next_ms, probe FROM outbox ORDER BY created_ms",
	    -1, &st,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "outbox: %s", sqlite3_errmsg(aw_db));
		return -1;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char	*alert = (const char *)sqlite3_column_text(st, 0);
		const char	*key = (const char *)sqlite3_column_text(st, 1);
		const char	*body = (const char *)sqlite3_column_text(st, 3);
		struct alert_msg *m;
		int64_t		 next_ms = sqlite3_column_int64(st, 5);

		if (alert == NULL || key == NULL || body == NULL)
			continue;
		/* firing Alertmanager rows too: re-sent at their next_ms */
		m = alert_msg_alloc(alert, key, body, (const char *)
		    sqlite3_column_text(st, 6), sqlite3_column_int64(st, 2),
		    sqlite3_column_int(st, 4));
		if (alert_target_find(alert) == NULL ||
		    !alert_probe_kept(conf, m)) {
			alert_drop(m);
			continue;
		}
		alert_msg_link(m);
		alert_schedule(m, next_ms - now);
		n++;
	}
	if (src != SQLITE_DONE) {
		snprintf(err, errlen, "outbox: %s", sqlite3_errmsg(aw_db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	if (n > 0)
		log_info("alert: %d pending from before the start", n);
	return 0;
}

int
alert_start(struct config *conf, char *err, size_t errlen)
{
	if (vd == NULL || vd->store == NULL) {
		snprintf(err, errlen, "the store is not open");
		return -1;
	}
	if ((alert_cm = curlm_new(alert_done, NULL, err, errlen)) == NULL)
		return -1;
	if ((aw_db = store_connect(vd->store, 0, err, errlen)) == NULL)
		goto fail;
	alert_set_targets(conf);
	if ((aq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "alert eventfd: %s", strerror(errno));
		goto fail;
	}
	if (loop_fd_add(aq_fd, EPOLLIN, alert_committed, NULL) == -1) {
		snprintf(err, errlen, "cannot watch the alert eventfd");
		close(aq_fd);
		aq_fd = -1;
		goto fail;
	}
	/* the deletes it queues wait for the writer */
	if (alert_load(conf, err, errlen) == -1 ||
	    alert_ack_load(err, errlen) == -1)
		goto fail;
	aw_run = 1;
	if (pthread_create(&aw_thr, NULL, alert_writer, NULL) != 0) {
		snprintf(err, errlen, "alert writer thread: %s",
		    strerror(errno));
		aw_run = 0;
		goto fail;
	}
	aw_started = 1;
	probe_on_state_change(alert_on_state);
	return 0;
fail:
	alert_stop();
	return -1;
}

/*
 * Like route.c: the new webhooks are taken on the tick after the reload,
 * once vantaged.c made that config current; a refused reload changes
 * nothing here.
 */
static void
alert_promote(void)
{
	struct config		*conf = alert_pending;
	struct alert_msg	*m, *next;

	if (conf == NULL)
		return;
	alert_pending = NULL;
	if (vd == NULL || vd->conf != conf)
		return;
	alert_set_targets(conf);
	for (m = alert_msgs; m != NULL; m = next) {
		next = m->next;
		if (alert_target_find(m->alert) != NULL &&
		    alert_probe_kept(conf, m))
			continue;
		alert_unlink(m);
		alert_drop(m);
	}
}

/* Acks whose time is up go, from memory and the store. */
static void
alert_ack_expire(void)
{
	static int64_t		 last;
	struct alert_seen	*s;
	struct alert_job	*j;
	int64_t			 now = clock_wall_ms();
	int			 i;

	if (now - last < 1000 && now >= last)
		return;
	last = now;
	pthread_mutex_lock(&ack_mtx);
	for (i = 0; i < ALERT_LAST_BUCKETS; i++) {
		for (s = ack_seen[i]; s != NULL; s = s->next) {
			if (s->ack == NULL || s->ack->until_ms > now)
				continue;
			log_info("probe %s: acknowledgement by %s expired",
			    s->probe, s->ack->by);
			j = xcalloc(1, sizeof(*j));
			j->op = ALERT_OP_ACK_DEL;
			j->probe = xstrdup(s->probe);
			j->t_ms = s->ack->created_ms;
			alert_push(j);
			alert_ack_free(s->ack);
			s->ack = NULL;
			ack_gen++;
			api_wake();
		}
	}
	pthread_mutex_unlock(&ack_mtx);
}

void
alert_tick(void)
{
	alert_promote();
	if (aw_started)
		alert_ack_expire();
}

/* Queues j for the writer and waits for its commit: 0, or -1. */
static int
alert_push_wait(struct alert_job *j)
{
	struct alert_wait	w = { 0, 0 };

	j->wait = &w;
	pthread_mutex_lock(&aw_mtx);
	if (!aw_run) {
		pthread_mutex_unlock(&aw_mtx);
		alert_job_free(j);
		return -1;
	}
	*aw_tail = j;
	aw_tail = &j->next;
	pthread_cond_signal(&aw_cond);
	while (!w.done)
		pthread_cond_wait(&aw_done, &aw_mtx);
	pthread_mutex_unlock(&aw_mtx);
	return w.ok ? 0 : -1;
}

int
alert_ack_set(const char *probe, const char *by, const char *reason,
    int64_t ttl_ms, int64_t *until, char *err, size_t errlen)
{
	struct alert_seen	*s;
	struct alert_job	*j;
	struct alert_ack	*a;
	enum probe_state	 state = STATE_UNKNOWN;
	int64_t			 now, prev = 0;
	int			 found, rc = 0;

	pthread_mutex_lock(&ack_api_mtx);
	pthread_mutex_lock(&ack_mtx);
	if ((found = (s = alert_seen_find(probe, 0)) != NULL)) {
		state = s->state;
		prev = s->ack != NULL ? s->ack->created_ms : 0;
	}
	pthread_mutex_unlock(&ack_mtx);
	if (!found) {
		snprintf(err, errlen, "no such probe");
		rc = 404;
		goto out;
	}
	if (!alert_state_fires(state)) {
		snprintf(err, errlen, "probe %s is %s: nothing to acknowledge",
		    probe, probe_state_str(state));
		rc = 409;
		goto out;
	}
	/* created_ms tells acks apart: a newer one is always later */
	now = clock_wall_ms();
	if (now <= prev)
		now = prev + 1;
	j = xcalloc(1, sizeof(*j));
	j->op = ALERT_OP_ACK_SET;
	j->probe = xstrdup(probe);
	j->agent = xstrdup(by);
	j->cause = xstrdup(reason);
	j->t_ms = now;
	j->next_ms = *until = now + ttl_ms;
	if (alert_push_wait(j) == -1) {
		snprintf(err, errlen, "the acknowledgement could not be "
		    "stored (see the agent's log)");
		rc = 503;
		goto out;
	}
	a = xcalloc(1, sizeof(*a));
	a->by = xstrdup(by);
	a->reason = xstrdup(reason);
	a->created_ms = now;
	a->until_ms = *until;
	pthread_mutex_lock(&ack_mtx);
	s = alert_seen_find(probe, 1);
	alert_ack_free(s->ack);
	s->ack = a;
	ack_gen++;
	pthread_mutex_unlock(&ack_mtx);
	api_wake();
	log_info("probe %s: acknowledged by %s for %" PRId64 "s: %s", probe,
	    by, ttl_ms / 1000, reason);
out:
	pthread_mutex_unlock(&ack_api_mtx);
	return rc;
}

int
alert_ack_del(const char *probe, char *err, size_t errlen)
{
	struct alert_seen	*s;
	struct alert_job	*j;
	int64_t			 created = -1;
	int			 rc = 0;

	pthread_mutex_lock(&ack_api_mtx);
	pthread_mutex_lock(&ack_mtx);
	if ((s = alert_seen_find(probe, 0)) != NULL && s->ack != NULL)
		created = s->ack->created_ms;
	pthread_mutex_unlock(&ack_mtx);
	if (created == -1) {
		snprintf(err, errlen, "probe %s is not acknowledged", probe);
		rc = 404;
		goto out;
	}
	j = xcalloc(1, sizeof(*j));
	j->op = ALERT_OP_ACK_DEL;
	j->probe = xstrdup(probe);
	j->t_ms = created;
	if (alert_push_wait(j) == -1) {
		snprintf(err, errlen, "the acknowledgement could not be "
		    "removed (see the agent's log)");
		rc = 503;
		goto out;
	}
	pthread_mutex_lock(&ack_mtx);
	if ((s = alert_seen_find(probe, 0)) != NULL && s->ack != NULL &&
	    s->ack->created_ms == created) {
		alert_ack_free(s->ack);
		s->ack = NULL;
		ack_gen++;
	}
	pthread_mutex_unlock(&ack_mtx);
	api_wake();
	log_info("probe %s: acknowledgement removed", probe);
out:
	pthread_mutex_unlock(&ack_api_mtx);
	return rc;
}

void
alert_ack_json(struct buf *b, const char *probe)
{
	struct alert_seen	*s;

	pthread_mutex_lock(&ack_mtx);
	if ((s = alert_seen_find(probe, 0)) != NULL && s->ack != NULL) {
		buf_adds(b, ",\"ack\":{\"by\":");
		buf_add_json_str(b, s->ack->by);
		buf_adds(b, ",\"reason\":");
		buf_add_json_str(b, s->ack->reason);
		buf_printf(b, ",\"until_ms\":%" PRId64 "}", s->ack->until_ms);
	}
	pthread_mutex_unlock(&ack_mtx);
}

uint64_t
alert_ack_gen(void)
{
	return ack_gen;
}

/* The acks stored before the start; runs before the writer does. */
static int
alert_ack_load(char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, n = 0;

	if (sqlite3_prepare_v2(aw_db, "SELECT probe, acked_by, reason, "
	    "created_ms, until_ms FROM ack", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "ack: %s", sqlite3_errmsg(aw_db));
		return -1;
	}
	pthread_mutex_lock(&ack_mtx);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char	 *probe = (const char *)sqlite3_column_text(st, 0);
		const char	 *by = (const char *)sqlite3_column_text(st, 1);
		const char	 *why = (const char *)sqlite3_column_text(st, 2);
		struct alert_seen *s;
		struct alert_ack *a;

		if (probe == NULL || by == NULL || why == NULL)
			continue;
		a = xcalloc(1, sizeof(*a));
		a->by = xstrdup(by);
		a->reason = xstrdup(why);
		a->created_ms = sqlite3_column_int64(st, 3);
		a->until_ms = sqlite3_column_int64(st, 4);
		s = alert_seen_find(probe, 1);
		alert_ack_free(s->ack);
		s->ack = a;
		n++;
	}
	ack_gen++;
	pthread_mutex_unlock(&ack_mtx);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "ack: %s", sqlite3_errmsg(aw_db));
		return -1;
	}
	if (n > 0)
		log_info("alert: %d acknowledged probe%s from before the start",
		    n, n == 1 ? "" : "s");
	return 0;
}

static void
alert_seen_free(void)
{
	struct alert_seen	*s;
	int			 i;

	pthread_mutex_lock(&ack_mtx);
	for (i = 0; i < ALERT_LAST_BUCKETS; i++) {
		while ((s = ack_seen[i]) != NULL) {
			ack_seen[i] = s->next;
			alert_ack_free(s->ack);
			free(s->probe);
			free(s);
		}
	}
	ack_gen++;
	pthread_mutex_unlock(&ack_mtx);
}

int
alert_reconfigure(struct config *conf, char *err, size_t errlen)
{
	alert_promote();	/* an earlier reload in this same turn */
	alert_pending = conf;
	return 0;
}

void
alert_stop(void)
{
	struct alert_job	*j;
	int			 i;

	probe_on_state_change(NULL);
	alert_pending = NULL;
	/* deliveries in flight stay in the outbox for the next start */
	while (alert_msgs != NULL) {
		struct alert_msg *m = alert_msgs;

		alert_msgs = m->next;
		alert_msg_free(m);
	}
	/* the writer commits what is queued, changes included, then ends */
	if (aw_started) {
		pthread_mutex_lock(&aw_mtx);
		aw_run = 0;
		pthread_cond_signal(&aw_cond);
		pthread_mutex_unlock(&aw_mtx);
		pthread_join(aw_thr, NULL);
		aw_started = 0;
	}
	/* jobs of a start that failed before the writer ran */
	while ((j = aw_jobs) != NULL) {
		aw_jobs = j->next;
		alert_job_free(j);
	}
	aw_tail = &aw_jobs;
	/* committed but not sent: their rows wait for the next start */
	pthread_mutex_lock(&aq_mtx);
	alert_list_free(&aq);
	pthread_mutex_unlock(&aq_mtx);
	if (aq_fd != -1) {
		loop_fd_del(aq_fd);
		close(aq_fd);
		aq_fd = -1;
	}
	for (i = 0; i < AST_N; i++) {
		sqlite3_finalize(aw_st[i]);
		aw_st[i] = NULL;
	}
	alert_last_free();
	alert_seen_free();
	if (aw_db != NULL)
		sqlite3_close(aw_db);
	aw_db = NULL;
	curlm_free(alert_cm);
	alert_cm = NULL;
	alert_targets_free();
}
