/*
 * alert.c - probe state changes to [alert] webhooks, at least once.
 *
 * A change becomes one outbox row per webhook (schema/003_outbox.sql)
 * and a JSON POST carrying an Idempotency-Key that stays the same across
 * every retry and restart, so a receiver that remembers keys sees each
 * change exactly once.  Until a 2xx the POST is retried with exponential
 * backoff (1 s doubling to 5 min); the row goes only after the 2xx, and
 * the rows still there at start are sent again.
 *
 * The POSTs run on libcurl's multi socket interface in the agent's loop
 * (curlm.c, with a multi of our own).  The outbox writes go to
 * a small writer thread in order (insert, then update or delete), so the
 * loop never waits for the disk; a crash between a 2xx and the delete
 * only means one more delivery with the same key.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "vantaged.h"

#define ALERT_BACKOFF_MIN_MS	1000
#define ALERT_BACKOFF_MAX_MS	300000
#define ALERT_USER_AGENT	"vantaged/" VANTAGE_VERSION
#define ALERT_KEY_BYTES		16

struct alert_msg {
	struct alert_msg	*next;
	char			*alert;		/* [alert] section name */
	char			*key;		/* Idempotency-Key */
	char			*body;
	int64_t			 created_ms;
	int			 attempts;
	CURL			*easy;		/* in flight */
	struct curl_slist	*hdrs;
	struct loop_timer	*retry;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* An outbox write for the writer thread. */
enum alert_op {
	ALERT_OP_INSERT,
	ALERT_OP_UPDATE,
	ALERT_OP_DELETE
};

struct alert_job {
	struct alert_job	*next;
	enum alert_op		 op;
	char			*alert;
	char			*key;
	char			*body;
	int64_t			 created_ms;
	int			 attempts;
	int64_t			 next_ms;
	char			*last_error;
};

struct alert_target {
	char	*name;
	char	*url;
	int64_t	 timeout_ms;
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

static void	alert_send(struct alert_msg *);

/* ---- the writer thread ---- */

static void
alert_job_free(struct alert_job *j)
{
	free(j->alert);
	free(j->key);
	free(j->body);
	free(j->last_error);
	free(j);
}

static void
alert_job_run(struct alert_job *j)
{
	static const char *const sql[] = {
		[ALERT_OP_INSERT] = "INSERT OR IGNORE INTO outbox (alert, "
		    "idem_key, created_ms, body, attempts, next_ms, "
		    "last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		[ALERT_OP_UPDATE] = "UPDATE outbox SET attempts = ?5, "
		    "next_ms = ?6, last_error = ?7 WHERE alert = ?1 AND "
		    "idem_key = ?2",
		[ALERT_OP_DELETE] = "DELETE FROM outbox WHERE alert = ?1 AND "
		    "idem_key = ?2",
	};
	sqlite3_stmt	*st = NULL;
	int		 tries;

	/* the store's writer may hold the lock: busy_timeout, then again */
	for (tries = 0; tries < 5; tries++) {
		if (sqlite3_prepare_v2(aw_db, sql[j->op], -1, &st, NULL) !=
		    SQLITE_OK)
			break;
		sqlite3_bind_text(st, 1, j->alert, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, j->key, -1, SQLITE_STATIC);
		if (j->op != ALERT_OP_DELETE) {
			sqlite3_bind_int64(st, 5, j->attempts);
			sqlite3_bind_int64(st, 6, j->next_ms);
			sqlite3_bind_text(st, 7, j->last_error != NULL ?
			    j->last_error : "", -1, SQLITE_STATIC);
		}
		if (j->op == ALERT_OP_INSERT) {
			sqlite3_bind_int64(st, 3, j->created_ms);
			sqlite3_bind_text(st, 4, j->body, -1, SQLITE_STATIC);
		}
		if (sqlite3_step(st) == SQLITE_DONE) {
			sqlite3_finalize(st);
			return;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	log_warnx("alert %s: outbox write failed (%s): %s", j->alert, j->key,
	    sqlite3_errmsg(aw_db));
}

static void *
alert_writer(void *arg)
{
	struct alert_job	*list, *j;

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
		while ((j = list) != NULL) {
			list = j->next;
			alert_job_run(j);
			alert_job_free(j);
		}
		pthread_mutex_lock(&aw_mtx);
	}
	pthread_mutex_unlock(&aw_mtx);
	return NULL;
}

static void
alert_queue(enum alert_op op, const struct alert_msg *m, int64_t next_ms,
    const char *last_error)
{
	struct alert_job	*j = xcalloc(1, sizeof(*j));

	j->op = op;
	j->alert = xstrdup(m->alert);
	j->key = xstrdup(m->key);
	j->body = op == ALERT_OP_INSERT ? xstrdup(m->body) : NULL;
	j->created_ms = m->created_ms;
	j->attempts = m->attempts;
	j->next_ms = next_ms;
	j->last_error = xstrdup(last_error != NULL ? last_error : "");
	pthread_mutex_lock(&aw_mtx);
	*aw_tail = j;
	aw_tail = &j->next;
	pthread_cond_signal(&aw_cond);
	pthread_mutex_unlock(&aw_mtx);
}

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
	m->attempts++;
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

static void
alert_send(struct alert_msg *m)
{
	const struct alert_target	*t;
	char				 hdr[128];
	char				 err[128];

	if ((t = alert_target_find(m->alert)) == NULL)
		return;		/* dropped by a reload meanwhile */
	if ((m->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init", __func__);
	m->errbuf[0] = '\0';
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", m->key);
	m->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	m->hdrs = curl_slist_append(m->hdrs, hdr);
	m->hdrs = curl_slist_append(m->hdrs, "Expect:");
	if (m->hdrs == NULL)
		fatalx("%s: curl_slist_append", __func__);
	curl_easy_setopt(m->easy, CURLOPT_URL, t->url);
	curl_easy_setopt(m->easy, CURLOPT_PRIVATE, m);
	curl_easy_setopt(m->easy, CURLOPT_HTTPHEADER, m->hdrs);
	curl_easy_setopt(m->easy, CURLOPT_POSTFIELDS, m->body);
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
		alert_schedule(m, ALERT_BACKOFF_MIN_MS);
	}
}

static struct alert_msg *
alert_msg_new(const char *alert, const char *key, const char *body,
    int64_t created_ms, int attempts)
{
	struct alert_msg	*m = xcalloc(1, sizeof(*m));

	m->alert = xstrdup(alert);
	m->key = xstrdup(key);
	m->body = xstrdup(body);
	m->created_ms = created_ms;
	m->attempts = attempts;
	m->next = alert_msgs;
	alert_msgs = m;
	return m;
}

/* probe_on_state_change: the loop thread, right after the change. */
static void
alert_on_state(const struct probe *p, enum probe_state from,
    enum probe_state to)
{
	unsigned char	 raw[ALERT_KEY_BYTES];
	char		 key[ALERT_KEY_BYTES * 2 + 1];
	struct buf	 b;
	int		 i;
	int64_t		 now = clock_wall_ms();

	/* a fresh agent finding its probes up is no news */
	if (alert_ntargets == 0 || to == STATE_UNKNOWN ||
	    (from == STATE_UNKNOWN && to == STATE_UP))
		return;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		fatalx("%s: RAND_bytes", __func__);
	for (i = 0; i < ALERT_KEY_BYTES; i++)
		snprintf(key + i * 2, 3, "%02x", raw[i]);
	buf_init(&b);
	buf_adds(&b, "{\"agent\":");
	buf_add_json_str(&b, vd != NULL && vd->conf != NULL ? vd->conf->name :
	    "");
	buf_adds(&b, ",\"probe\":");
	buf_add_json_str(&b, p->conf->name);
	buf_printf(&b, ",\"from\":\"%s\",\"to\":\"%s\",\"t_ms\":%" PRId64
	    ",\"error\":", probe_state_str(from), probe_state_str(to), now);
	buf_add_json_str(&b, p->has_last ? p->last.error : "");
	buf_printf(&b, ",\"idempotency_key\":\"%s\"}", key);
	for (i = 0; i < alert_ntargets; i++) {
		struct alert_msg *m = alert_msg_new(alert_targets[i].name, key,
		    b.data, now, 0);

		alert_queue(ALERT_OP_INSERT, m, now, NULL);
		alert_send(m);
	}
	buf_free(&b);
}

static void
alert_set_targets(struct config *conf)
{
	int	i;

	for (i = 0; i < alert_ntargets; i++) {
		free(alert_targets[i].name);
		free(alert_targets[i].url);
	}
	free(alert_targets);
	alert_targets = xcalloc((size_t)conf->n_alerts + 1,
	    sizeof(*alert_targets));
	for (i = 0; i < conf->n_alerts; i++) {
		alert_targets[i].name = xstrdup(conf->alerts[i]->name);
		alert_targets[i].url = xstrdup(conf->alerts[i]->url);
		alert_targets[i].timeout_ms = conf->alerts[i]->timeout_ms > 0 ?
		    conf->alerts[i]->timeout_ms : 10000;
	}
	alert_ntargets = conf->n_alerts;
}

/* Pending rows from before the start; rows of removed webhooks go. */
static int
alert_load(char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 now = clock_wall_ms();
	int		 src, n = 0;

	if (sqlite3_prepare_v2(aw_db, "SELECT alert, idem_key, created_ms, "
	    "body, attempts, next_ms FROM outbox ORDER BY created_ms", -1, &st,
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
		m = alert_msg_new(alert, key, body, sqlite3_column_int64(st, 2),
		    sqlite3_column_int(st, 4));
		if (alert_target_find(alert) == NULL) {
			log_info("alert %s: no longer configured, dropping %s",
			    alert, key);
			alert_queue(ALERT_OP_DELETE, m, 0, NULL);
			alert_unlink(m);
			alert_msg_free(m);
			continue;
		}
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
	/* the writer must run before the load queues deletes */
	aw_run = 1;
	if (pthread_create(&aw_thr, NULL, alert_writer, NULL) != 0) {
		snprintf(err, errlen, "alert writer thread: %s",
		    strerror(errno));
		aw_run = 0;
		goto fail;
	}
	aw_started = 1;
	if (alert_load(err, errlen) == -1)
		goto fail;
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
	/* deliveries for a webhook that is gone are dropped with it */
	for (m = alert_msgs; m != NULL; m = next) {
		next = m->next;
		if (alert_target_find(m->alert) != NULL)
			continue;
		log_info("alert %s: no longer configured, dropping %s",
		    m->alert, m->key);
		alert_queue(ALERT_OP_DELETE, m, 0, NULL);
		alert_unlink(m);
		alert_msg_free(m);
	}
}

void
alert_tick(void)
{
	alert_promote();
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
	int	i;

	probe_on_state_change(NULL);
	alert_pending = NULL;
	/* deliveries in flight stay in the outbox for the next start */
	while (alert_msgs != NULL) {
		struct alert_msg *m = alert_msgs;

		alert_msgs = m->next;
		alert_msg_free(m);
	}
	if (aw_started) {
		pthread_mutex_lock(&aw_mtx);
		aw_run = 0;
		pthread_cond_signal(&aw_cond);
		pthread_mutex_unlock(&aw_mtx);
		pthread_join(aw_thr, NULL);
		aw_started = 0;
	}
	if (aw_db != NULL)
		sqlite3_close(aw_db);
	aw_db = NULL;
	curlm_free(alert_cm);
	alert_cm = NULL;
	for (i = 0; i < alert_ntargets; i++) {
		free(alert_targets[i].name);
		free(alert_targets[i].url);
	}
	free(alert_targets);
	alert_targets = NULL;
	alert_ntargets = 0;
}
