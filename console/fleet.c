/*
 * fleet.c - what the console knows about every agent, and keeping it
 * fresh without ever waiting for one.
 *
 * Each agent's /v1/status is polled every refresh period; a failing agent
 * backs off exponentially, and while it fails the status poll is all that
 * is sent to it (a circuit breaker: audit and detail fetches wait until it
 * answers again).  A failure keeps the last good data, which the views
 * then mark stale, never as a down target.  Clock skew comes from the
 * X-Vantage-Time header against the middle of the request.  While a view
 * wants audit rows, the first fetch asks for the newest FLEET_AUDIT_KEEP
 * (the `before` cursor, newest first) instead of reading the whole trail,
 * and later ones fetch what is new with the `after` cursor.
 * Agents behind a bastion get an SSH tunnel, opened in a thread because
 * tunnel_open() blocks for up to seconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "vantage.h"

#define FLEET_AUDIT_PAGE	1000
#define FLEET_LOW_SPEED_BYTES	100
#define FLEET_LOW_SPEED_SECS	3

struct fleet_call {
	struct fleet_agent	*a;
	fleet_done_fn		 cb;
	void			*arg;
};

struct fleet_opener {
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	int			 done;		/* under mu */
	int			 abandoned;	/* under mu: thread frees */
	struct fetch		*fetch;
	char			*ssh;
	char			*host;
	int			 port;
	struct tunnel		*tunnel;	/* result */
	char			 err[256];
};

static void fleet_poll_status(struct fleet_agent *);
static void fleet_audit_next(struct fleet_agent *);

const char *
fleet_state_str(enum fleet_state s)
{
	switch (s) {
	case FLEET_CONNECTING:
		return "connecting";
	case FLEET_OK:
		return "ok";
	case FLEET_SKEW:
		return "skew";
	case FLEET_STALE:
		return "stale";
	case FLEET_UNREACHABLE:
		return "unreachable";
	case FLEET_ERROR:
		return "error";
	}
	return "?";
}

/* $USER@host, restricted to characters that are safe in a header. */
static char *
fleet_operator(void)
{
	const char	*user;
	struct passwd	*pw;
	char		 host[256], *op;
	size_t		 i;

	if ((user = getenv("USER")) == NULL || user[0] == '\0')
		user = getenv("LOGNAME");
	if (user == NULL || user[0] == '\0')
		user = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : "?";
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	xasprintf(&op, "%.64s@%.128s", user, host);
	for (i = 0; op[i] != '\0'; i++) {
		if (!((op[i] >= 'a' && op[i] <= 'z') ||
		    (op[i] >= 'A' && op[i] <= 'Z') ||
		    (op[i] >= '0' && op[i] <= '9') || op[i] == '@' ||
		    op[i] == '.' || op[i] == '-' || op[i] == '_'))
			op[i] = '_';
	}
	return op;
}

struct fleet *
fleet_new(struct conf *c)
{
	struct fleet		*fl;
	struct fetch_limits	 lim;
	int64_t			 now = fetch_mono_ms();
	int			 i;

	fl = xcalloc(1, sizeof(*fl));
	fl->conf = c;
	memset(&lim, 0, sizeof(lim));
	lim.connect_timeout_ms = c->connect_timeout_ms;
	lim.timeout_ms = c->timeout_ms;
	lim.max_body = c->max_body;
	lim.low_speed_bytes = FLEET_LOW_SPEED_BYTES;
	lim.low_speed_secs = FLEET_LOW_SPEED_SECS;
	lim.max_conns = 2L * c->n_agents + 8;
	fl->fetch = fetch_new(&lim);
	fl->operator = fleet_operator();
	fl->n_agents = c->n_agents;
	fl->agents = xcalloc((size_t)c->n_agents + 1, sizeof(*fl->agents));
	for (i = 0; i < c->n_agents; i++) {
		fl->agents[i].conf = c->agents[i];
		fl->agents[i].fleet = fl;
		fl->agents[i].idx = i;
		fl->agents[i].next_mono = now;
		fl->agents[i].verify.bad_id = VANTAGE_NONE;
		if (c->agents[i]->error != NULL) {
			/* a wrong entry is shown as such and never asked */
			fl->agents[i].fails = 1;
			fl->agents[i].err = FETCH_INTERNAL;
			snprintf(fl->agents[i].errmsg,
			    sizeof(fl->agents[i].errmsg), "config error: %s",
			    c->agents[i]->error);
		}
	}
	if (c->stale_ms == 0) {
		/* a slow but working agent is not stale */
		c->stale_ms = 3 * c->refresh_ms;
		if (c->stale_ms < c->refresh_ms + c->timeout_ms + 1000)
			c->stale_ms = c->refresh_ms + c->timeout_ms + 1000;
	}
	return fl;
}

static void fleet_fail(struct fleet_agent *, enum fetch_err, const char *,
    int64_t);

static void
fleet_opener_free(struct fleet_opener *o)
{
	tunnel_close(o->tunnel);
	pthread_mutex_destroy(&o->mu);
	free(o->ssh);
	free(o->host);
	free(o);
}

/*
 * Collects a finished opener.  When the fleet goes away while one still
 * runs (tunnel_open() cannot be interrupted), the thread is handed the
 * opener and frees it itself, touching nothing of the fleet.
 */
static void
fleet_opener_reap(struct fleet_agent *a, int exiting)
{
	struct fleet_opener	*o = a->opener;
	char			 err[512];
	int			 done;

	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	done = o->done;
	if (!done && exiting)
		o->abandoned = 1;
	pthread_mutex_unlock(&o->mu);
	if (!done) {
		if (exiting) {
			pthread_detach(o->thread);
			a->opener = NULL;
		}
		return;
	}
	pthread_join(o->thread, NULL);
	a->opener = NULL;
	if (!exiting) {
		if (o->tunnel != NULL) {
			a->tunnel = o->tunnel;
			o->tunnel = NULL;
		} else {
			snprintf(err, sizeof(err), "ssh %s: %s", a->conf->ssh,
			    o->err);
			fleet_fail(a, FETCH_TUNNEL, err, 0);
		}
		a->fleet->gen++;
	}
	fleet_opener_free(o);
}

void
fleet_free(struct fleet *fl)
{
	int	i;

	if (fl == NULL)
		return;
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		fleet_cancel(fl, &a->status_req);
		fleet_cancel(fl, &a->audit_req);
		fleet_cancel(fl, &a->verify_req);
		fleet_opener_reap(a, 1);
		if (a->status != NULL) {
			model_status_free(a->status);
			free(a->status);
		}
		for (int k = 0; k < a->n_audit; k++)
			model_audit_free(&a->audit[k]);
		free(a->audit);
		model_verify_free(&a->verify);
		tunnel_close(a->tunnel);
		free(a->connect_to);
	}
	while (fl->actions != NULL)
		action_free(fl->actions);
	fetch_free(fl->fetch);
	free(fl->agents);
	free(fl->operator);
	free(fl);
}

struct fleet_agent *
fleet_find(struct fleet *fl, const char *name)
{
	int	i;

	for (i = 0; i < fl->n_agents; i++) {
		if (strcmp(fl->agents[i].conf->name, name) == 0)
			return &fl->agents[i];
	}
	return NULL;
}

enum fleet_state
fleet_agent_state(const struct fleet_agent *a, int64_t now)
{
	int64_t	skew;

	if (a->fails > 0)
		return fetch_err_is_transport(a->err) ? FLEET_UNREACHABLE :
		    FLEET_ERROR;
	if (a->status == NULL)
		return FLEET_CONNECTING;
	if (now - a->last_ok_ms > a->fleet->conf->stale_ms)
		return FLEET_STALE;
	skew = a->skew_ms < 0 ? -a->skew_ms : a->skew_ms;
	if (a->has_skew && skew > a->fleet->conf->max_skew_ms)
		return FLEET_SKEW;
	return FLEET_OK;
}

int
fleet_agent_usable(const struct fleet_agent *a, int64_t now)
{
	enum fleet_state	s = fleet_agent_state(a, now);

	return s == FLEET_OK || s == FLEET_SKEW;
}

const char *
fleet_agent_reason(const struct fleet_agent *a)
{
	if (a->fails > 0)
		return a->errmsg;
	if (a->status == NULL)
		return a->opener != NULL ? "opening SSH tunnel" : "waiting "
		    "for the first answer";
	return "";
}

int64_t
fleet_agent_retry_in(const struct fleet_agent *a)
{
	int64_t	d;

	if (a->fails == 0 || a->status_req != NULL || a->opener != NULL ||
	    a->conf->error != NULL)
		return 0;
	d = a->next_mono - fetch_mono_ms();
	return d > 0 ? d : 0;
}

/* ---- requests ---- */

static void
fleet_call_done(const struct fetch_resp *resp, void *p)
{
	struct fleet_call	*c = p;
	struct fetch_resp	 r = *resp;
	char			 code[64], msg[512], full[1200];

	if (r.err == FETCH_HTTP) {
		/* the agent's own words say more than the status code */
		if (model_parse_error(r.body, r.len, code, sizeof(code), msg,
		    sizeof(msg)) == 0)
			snprintf(full, sizeof(full), "HTTP %ld %s: %s%s%s",
			    r.status, code, msg, r.hint[0] ? "; " : "", r.hint);
		else
			snprintf(full, sizeof(full), "HTTP %ld (no error "
			    "details)%s%s", r.status, r.hint[0] ? "; " : "",
			    r.hint);
		r.errmsg = full;
	}
	c->cb(c->a, &r, c->arg);
	free(c);
}

struct fetch_req *
fleet_request(struct fleet_agent *a, const char *path, const char *body,
    fleet_done_fn cb, void *arg)
{
	return fleet_request_opt(a, path, body, NULL, cb, arg);
}

struct fetch_req *
fleet_request_opt(struct fleet_agent *a, const char *path, const char *body,
    const struct fleet_reqopt *o, fleet_done_fn cb, void *arg)
{
	struct fleet		*fl = a->fleet;
	struct fleet_call	*c;
	struct fetch_spec	 s;
	struct fetch_req	*req;
	char			*url;

	if (a->conf->error != NULL ||
	    (a->conf->ssh != NULL && a->tunnel == NULL))
		return NULL;
	memset(&s, 0, sizeof(s));
	xasprintf(&url, "%s%s", a->conf->url, path);
	s.method = body != NULL ? "POST" : "GET";
	s.url = url;
	s.body = body;
	s.token = a->conf->token;
	s.operator = body != NULL ? fl->operator : NULL;
	s.ca = a->conf->ca;
	s.cert = a->conf->cert;
	s.key = a->conf->key;
	s.connect_to = a->connect_to;
	s.agent = a->conf;
	if (o != NULL) {
		s.idem_key = o->idem_key;
		s.deadline_ms = o->deadline_ms;
		s.timeout_ms = o->timeout_ms;
	}
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->cb = cb;
	c->arg = arg;
	req = fetch_start(fl->fetch, &s, fleet_call_done, c);
	free(url);
	if (req == NULL)
		free(c);
	return req;
}

void
fleet_cancel(struct fleet *fl, struct fetch_req **reqp)
{
	if (*reqp != NULL)
		free(fetch_cancel(fl->fetch, *reqp));
	*reqp = NULL;
}

/* ---- status polling ---- */

static int64_t
fleet_backoff_ms(const struct fleet_agent *a, int64_t retry_after_s)
{
	const struct conf	*c = a->fleet->conf;
	int64_t			 d = c->refresh_ms;
	int			 i;

	for (i = 1; i < a->fails && d < c->max_backoff_ms; i++)
		d *= 2;
	if (d > c->max_backoff_ms)
		d = c->max_backoff_ms;
	/* up to 10% jitter keeps a fleet of failures from moving as one */
	d += (int64_t)(random() % (d / 10 + 1));
	if (retry_after_s * 1000 > d)
		d = retry_after_s * 1000;
	return d;
}

static void
fleet_fail(struct fleet_agent *a, enum fetch_err err, const char *msg,
    int64_t retry_after_s)
{
	a->fails++;
	a->err = err;
	strlcpy_v(a->errmsg, msg, sizeof(a->errmsg));
	a->next_mono = fetch_mono_ms() + fleet_backoff_ms(a, retry_after_s);
	if (err == FETCH_TUNNEL || (a->tunnel != NULL &&
	    tunnel_error(a->tunnel) != NULL)) {
		tunnel_close(a->tunnel);
		a->tunnel = NULL;
	}
}

static void
fleet_status_done(struct fleet_agent *a, const struct fetch_resp *r,
    void *arg)
{
	struct fleet		*fl = a->fleet;
	struct model_status	*st;
	char			 err[512];
	int64_t			 mid;
	int			 rc;

	(void)arg;
	a->status_req = NULL;
	a->last_try_ms = r->sent_ms;
	fl->gen++;
	if (r->err != FETCH_OK) {
		if (a->tunnel != NULL && tunnel_error(a->tunnel) != NULL) {
			snprintf(err, sizeof(err), "ssh %s: %s", a->conf->ssh,
			    tunnel_error(a->tunnel));
			fleet_fail(a, FETCH_TUNNEL, err, 0);
		} else
			fleet_fail(a, r->err, r->errmsg, r->retry_after_s);
		return;
	}
	st = xcalloc(1, sizeof(*st));
	rc = model_parse_status(r->body, r->len, st, err, sizeof(err));
	if (rc != 0) {
		free(st);
		fleet_fail(a, rc == -1 ? FETCH_BAD_JSON : FETCH_BAD_DATA, err,
		    0);
		return;
	}
	if (a->status != NULL) {
		model_status_free(a->status);
		free(a->status);
	}
	a->status = st;
	a->fails = 0;
	a->err = FETCH_OK;
	a->errmsg[0] = '\0';
	a->last_ok_ms = fetch_now_ms();
	a->latency_us = r->elapsed_us;
	mid = r->sent_ms + r->elapsed_us / 2000;
	if (r->agent_time_ms != VANTAGE_NONE) {
		a->skew_ms = r->agent_time_ms - mid;
		a->has_skew = 1;
	} else if (st->time_ms > 0) {
		a->skew_ms = st->time_ms - mid;
		a->has_skew = 1;
	} else
		a->has_skew = 0;
	fl->last_refresh_ms = a->last_ok_ms;
	if (fl->want_audit && a->audit_req == NULL)
		fleet_audit_next(a);
}

#define FLEET_SLOT	64	/* agents polled together */

static void
fleet_poll_status(struct fleet_agent *a)
{
	int64_t	now = fetch_mono_ms(), per = a->fleet->conf->refresh_ms, d;

	if (a->status_req != NULL)
		return;
	/* fixed rate: the next poll is due one period after this one, in
	 * the slot of the period of the agent's group of FLEET_SLOT, so a
	 * thousand answers do not all arrive (and keep the keyboard
	 * waiting) at once, and a small fleet still wakes up once */
	a->next_mono = now + per;
	d = ((int64_t)(a->idx / FLEET_SLOT) * per / ((a->fleet->n_agents +
	    FLEET_SLOT - 1) / FLEET_SLOT) - a->next_mono) % per;
	d = d < 0 ? d + per : d;
	a->next_mono += d > per / 2 ? d - per : d;
	a->status_req = fleet_request(a, "/v1/status", NULL,
	    fleet_status_done, NULL);
	if (a->status_req == NULL && a->conf->ssh == NULL)
		fleet_fail(a, FETCH_INTERNAL, "libcurl refused the request",
		    0);
}

static void *
fleet_opener_main(void *p)
{
	struct fleet_opener	*o = p;

	int			 abandoned;

	o->tunnel = tunnel_open(o->ssh, o->host, o->port, o->err,
	    sizeof(o->err));
	pthread_mutex_lock(&o->mu);
	o->done = 1;
	abandoned = o->abandoned;
	if (!abandoned)
		fetch_wakeup(o->fetch);
	pthread_mutex_unlock(&o->mu);
	if (abandoned)
		fleet_opener_free(o);
	return NULL;
}

static void
fleet_open_tunnel(struct fleet_agent *a)
{
	struct fleet_opener	*o;

	o = xcalloc(1, sizeof(*o));
	o->fetch = a->fleet->fetch;
	o->ssh = xstrdup(a->conf->ssh);
	o->host = xstrdup(a->conf->host);
	o->port = a->conf->port;
	pthread_mutex_init(&o->mu, NULL);
	if (pthread_create(&o->thread, NULL, fleet_opener_main, o) != 0) {
		fleet_opener_free(o);
		fleet_fail(a, FETCH_TUNNEL, "cannot start a thread for the "
		    "SSH tunnel", 0);
		return;
	}
	a->opener = o;
}

int
fleet_agent_ready(struct fleet_agent *a)
{
	char	err[512];

	if (a->conf->error != NULL)
		return 0;
	if (a->conf->ssh == NULL)
		return 1;
	if (a->opener != NULL) {
		fleet_opener_reap(a, 0);
		if (a->opener != NULL || a->tunnel == NULL)
			return 0;	/* still opening, or failed */
		free(a->connect_to);
		if (strchr(a->conf->host, ':') != NULL)
			xasprintf(&a->connect_to, "[%s]:%d:127.0.0.1:%d",
			    a->conf->host, a->conf->port,
			    tunnel_local_port(a->tunnel));
		else
			xasprintf(&a->connect_to, "%s:%d:127.0.0.1:%d",
			    a->conf->host, a->conf->port,
			    tunnel_local_port(a->tunnel));
		return 1;
	}
	if (a->tunnel != NULL && tunnel_error(a->tunnel) != NULL) {
		snprintf(err, sizeof(err), "ssh %s: %s", a->conf->ssh,
		    tunnel_error(a->tunnel));
		fleet_fail(a, FETCH_TUNNEL, err, 0);
		a->fleet->gen++;
		return 0;
	}
	if (a->tunnel == NULL) {
		if (fetch_mono_ms() >= a->next_mono)
			fleet_open_tunnel(a);
		return 0;
	}
	return 1;
}

int64_t
fleet_tick(struct fleet *fl)
{
	struct fleet_agent	*a;
	int64_t			 now, wait = fl->conf->refresh_ms;
	int			 i;

	for (i = 0; i < fl->n_agents; i++) {
		a = &fl->agents[i];
		if (!fleet_agent_ready(a))
			continue;
		now = fetch_mono_ms();
		if (a->status_req == NULL && now >= a->next_mono)
			fleet_poll_status(a);
		if (a->status_req == NULL && a->next_mono - now < wait)
			wait = a->next_mono - now;
	}
	for (i = 0; i < fl->n_agents; i++) {
		if (fl->agents[i].opener != NULL && wait > 100)
			wait = 100;
	}
	now = action_tick(fl);
	if (now < wait)
		wait = now;
	return wait < 0 ? 0 : wait;
}

void
fleet_refresh_agent(struct fleet_agent *a)
{
	a->next_mono = fetch_mono_ms();
	/* still failing (the state stays), but the backoff starts over */
	if (a->fails > 1)
		a->fails = 1;
}

void
fleet_refresh(struct fleet *fl)
{
	int	i;

	for (i = 0; i < fl->n_agents; i++)
		fleet_refresh_agent(&fl->agents[i]);
	fleet_tick(fl);
}

void
fleet_settle(struct fleet *fl)
{
	int	i, busy;
	int64_t	wait;

	for (;;) {
		wait = fleet_tick(fl);
		busy = 0;
		for (i = 0; i < fl->n_agents; i++) {
			struct fleet_agent *a = &fl->agents[i];

			if (a->status_req != NULL || a->opener != NULL ||
			    a->audit_req != NULL || a->verify_req != NULL ||
			    (a->status == NULL && a->fails == 0))
				busy = 1;
		}
		if (!busy)
			return;
		fetch_wait(fl->fetch, (int)(wait > 100 ? 100 : wait), -1);
		fetch_dispatch(fl->fetch);
	}
}

/* ---- audit and verification ---- */

static void
fleet_audit_add(struct fleet_agent *a, struct model_audit_page *p)
{
	int	i, last, drop;

	if (p->n_rows == 0)
		return;
	a->audit = xreallocarray(a->audit, (size_t)a->n_audit + p->n_rows,
	    sizeof(*a->audit));
	/*
	 * An odd row whose id could not be read has no place of its own
	 * for the cursor: it is kept once a later row with an id moves the
	 * cursor past it, and asked for again until then, so it is neither
	 * lost nor shown twice.
	 */
	for (last = p->n_rows - 1; last >= 0; last--) {
		if (p->rows[last].id != VANTAGE_NONE)
			break;
	}
	for (i = 0; i < p->n_rows; i++) {
		if (p->rows[i].id == VANTAGE_NONE ? i > last :
		    p->rows[i].id <= a->audit_after) {
			model_audit_free(&p->rows[i]);
			continue;	/* a cursor never moves back */
		}
		a->audit[a->n_audit++] = p->rows[i];
		if (p->rows[i].id != VANTAGE_NONE)
			a->audit_after = p->rows[i].id;
	}
	free(p->rows);
	p->rows = NULL;
	p->n_rows = 0;
	if (a->n_audit > FLEET_AUDIT_KEEP) {
		drop = a->n_audit - FLEET_AUDIT_KEEP;
		for (i = 0; i < drop; i++)
			model_audit_free(&a->audit[i]);
		memmove(a->audit, a->audit + drop,
		    (size_t)FLEET_AUDIT_KEEP * sizeof(*a->audit));
		a->n_audit = FLEET_AUDIT_KEEP;
	}
}

static void
fleet_audit_done(struct fleet_agent *a, const struct fetch_resp *r,
    void *arg)
{
	struct model_audit_page	 p;
	struct model_audit	 t;
	char			 err[512];
	int64_t			 after;
	int			 more, desc, i;

	(void)arg;
	a->audit_req = NULL;
	a->fleet->gen++;
	if (r->err != FETCH_OK) {
		strlcpy_v(a->audit_err, r->errmsg, sizeof(a->audit_err));
		return;
	}
	if (model_parse_audit(r->body, r->len, &p, err, sizeof(err)) != 0) {
		snprintf(a->audit_err, sizeof(a->audit_err), "audit: %.240s",
		    err);
		return;
	}
	if (p.desc && !a->audit_newest) {
		snprintf(a->audit_err, sizeof(a->audit_err), "audit: rows "
		    "newest first in answer to 'after'");
		model_audit_page_free(&p);
		return;
	}
	a->audit_err[0] = '\0';
	more = p.more && p.n_rows > 0;
	desc = p.desc;
	for (i = 0; desc && i < p.n_rows / 2; i++) {
		t = p.rows[i];
		p.rows[i] = p.rows[p.n_rows - 1 - i];
		p.rows[p.n_rows - 1 - i] = t;
	}
	after = a->audit_after;
	fleet_audit_add(a, &p);
	model_audit_page_free(&p);
	/* a page of odd rows without ids would be asked for forever */
	more = more && a->audit_after > after;
	/*
	 * The newest rows are all that is kept: older ones are never
	 * fetched.  An agent that predates `before` answers oldest first,
	 * and is then read forward page by page as it always was.
	 */
	if (more && !desc)
		fleet_audit_next(a);
	else
		a->audit_done = 1;
}

static void
fleet_audit_next(struct fleet_agent *a)
{
	char	path[192], filter[64] = "";

	if (a->audit_req != NULL)
		return;
	/* the agent filters by action: older matches are found too */
	if (a->fleet->audit_action != NULL &&
	    strspn(a->fleet->audit_action, "abcdefghijklmnopqrstuvwxyz_") ==
	    strlen(a->fleet->audit_action) &&
	    strlen(a->fleet->audit_action) < 40)
		snprintf(filter, sizeof(filter), "&action=%s",
		    a->fleet->audit_action);
	/* first load: the newest rows, not the whole trail from id 1 */
	a->audit_newest = !a->audit_done && a->audit_after == 0;
	if (a->audit_newest)
		snprintf(path, sizeof(path), "/v1/audit?before=%" PRId64
		    "&limit=%d%s", INT64_MAX, FLEET_AUDIT_KEEP, filter);
	else
		snprintf(path, sizeof(path), "/v1/audit?after=%" PRId64
		    "&limit=%d%s", a->audit_after, FLEET_AUDIT_PAGE, filter);
	a->audit_req = fleet_request(a, path, NULL, fleet_audit_done, NULL);
}

void
fleet_audit_poll(struct fleet *fl)
{
	int64_t	now = fetch_now_ms();
	int	i;

	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		/* the breaker: nothing but status polls to a failing agent */
		if (fleet_agent_usable(a, now) && a->fails == 0)
			fleet_audit_next(a);
	}
}

static void
fleet_verify_done(struct fleet_agent *a, const struct fetch_resp *r,
    void *arg)
{
	char	err[512];

	(void)arg;
	a->verify_req = NULL;
	a->fleet->gen++;
	if (r->err != FETCH_OK) {
		strlcpy_v(a->verify_err, r->errmsg, sizeof(a->verify_err));
		return;
	}
	model_verify_free(&a->verify);
	a->has_verify = 0;
	if (model_parse_verify(r->body, r->len, &a->verify, err,
	    sizeof(err)) != 0) {
		snprintf(a->verify_err, sizeof(a->verify_err), "verify: %.240s",
		    err);
		return;
	}
	a->verify_err[0] = '\0';
	a->has_verify = 1;
}

void
fleet_verify(struct fleet *fl)
{
	int64_t	now = fetch_now_ms();
	int	i;

	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (a->verify_req != NULL)
			continue;
		if (!fleet_agent_usable(a, now)) {
			snprintf(a->verify_err, sizeof(a->verify_err),
			    "not verified: %s", fleet_state_str(
			    fleet_agent_state(a, now)));
			continue;
		}
		a->verify_req = fleet_request(a, "/v1/audit/verify", NULL,
		    fleet_verify_done, NULL);
	}
}

/* ---- route changes ---- */

char *
fleet_path(const char *kind, const char *name, const char *rest)
{
	char	*esc, *p;

	if ((esc = curl_easy_escape(NULL, name, 0)) == NULL)
		fatalx("%s: out of memory", __func__);
	xasprintf(&p, "/v1/%s/%s/%s", kind, esc, rest);
	curl_free(esc);
	return p;
}

char *
fleet_change_body(const struct fleet_change *c, const char *const *routes,
    int n)
{
	struct buf	b;
	int		i;

	buf_init(&b);
	buf_adds(&b, "{");
	if (routes != NULL) {
		buf_adds(&b, "\"routes\":[");
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(&b, ',');
			buf_add_json_str(&b, routes[i]);
		}
		buf_adds(&b, "],");
	}
	if (c->reason != NULL) {
		buf_adds(&b, "\"reason\":");
		buf_add_json_str(&b, c->reason);
	} else
		buf_adds(&b, "\"update\":true");	/* only with update */
	if (!c->undrain) {
		/* ttl_s 0 removes an expiry; absent keeps or sets none */
		if (c->ttl_ms >= 0)
			buf_printf(&b, ",\"ttl_s\":%" PRId64,
			    (c->ttl_ms + 999) / 1000);
		buf_printf(&b, ",\"mode\":\"%s\",\"force\":%s",
		    c->maint ? "maint" : "drain", c->force ? "true" : "false");
		if (c->update && c->reason != NULL)
			buf_adds(&b, ",\"update\":true");
	}
	buf_adds(&b, "}");
	return buf_release(&b, NULL);
}
