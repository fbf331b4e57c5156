/*
 * action.c - one route change sent to one agent, and what became of it.
 *
 * An answer is the outcome: 2xx applied (or already so), 4xx refused,
 * nothing changed.  Without an answer (a timeout, a reset connection, a
 * 5xx) the change may or may not have been committed, and saying
 * "refused" would be a guess that can be the opposite of the truth.  So
 * every change carries an Idempotency-Key and an X-Vantage-Deadline (the
 * agent's clock: ours plus the measured offset plus the action timeout):
 * the agent commits nothing after the deadline, and once it has passed,
 * GET /v1/requests/KEY?deadline= tells for certain whether the change was
 * applied.  That lookup is repeated through a settle window; an agent
 * silent through all of it leaves the outcome unknown, and the operator
 * is told just that.
 *
 * Nothing here waits: the fetch engine carries the requests and
 * fleet_tick() calls action_tick(), which starts the lookups when due.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "vantage.h"

#define ACTION_CLOCK		"%H:%M:%S"	/* deadlines, local */
#define ACTION_ASK_EVERY_MS	500
#define ACTION_ASK_TIMEOUT_MS	1000
#define ACTION_SLACK_MS		1000	/* the POST's transfer timeout */

const char *
action_outcome_str(enum action_outcome o)
{
	switch (o) {
	case ACTION_PENDING:
		return "pending";
	case ACTION_APPLIED:
		return "applied";
	case ACTION_NOT_APPLIED:
		return "not_applied";
	case ACTION_UNKNOWN:
		return "unknown";
	}
	return "?";
}

static void
action_new_key(char *key, size_t len)
{
	unsigned char	 r[ACTION_KEY_LEN / 2];
	size_t		 i, got = 0;
	ssize_t		 n;

	while (got < sizeof(r)) {
		if ((n = getrandom(r + got, sizeof(r) - got, 0)) == -1)
			fatal("%s: getrandom", __func__);
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(key + 2 * i, 3, "%02x", r[i]);
}

static struct fleet_agent *
action_agent(const struct action *c)
{
	return &c->fl->agents[c->agent];
}

static void
action_finish(struct action *c, enum action_outcome o)
{
	c->outcome = o;
	c->phase = ACTION_DONE;
	c->fl->gen++;
	c->notify = 1;
}

/* An HTTP error answer into "HTTP 409 pool_guard: words" and its code. */
static void
action_http_why(struct action *c, const struct fetch_resp *r)
{
	char	code[64], msg[512];

	if (model_parse_error(r->body, r->len, code, sizeof(code), msg,
	    sizeof(msg)) == 0) {
		snprintf(c->code, sizeof(c->code), "%s", code);
		snprintf(c->why, sizeof(c->why), "HTTP %ld %s: %s", r->status,
		    code, msg);
	} else {
		c->code[0] = '\0';
		snprintf(c->why, sizeof(c->why), "HTTP %ld (no error details)",
		    r->status);
	}
}

static void
action_applied(struct action *c, const char *body, size_t len)
{
	char	err[300];

	if (model_parse_action(body, len, &c->result, err, sizeof(err)) ==
	    0)
		c->has_result = 1;
	else
		snprintf(c->why, sizeof(c->why), "the agent's answer is not "
		    "valid: %s", err);
	action_finish(c, ACTION_APPLIED);
}

/* No answer yet: the outcome waits for the deadline and the lookups. */
static void
action_undecided(struct action *c, const char *why)
{
	int64_t	now = fetch_mono_ms();

	strlcpy_v(c->why, why, sizeof(c->why));
	if (c->silent_since_ms == 0)
		c->silent_since_ms = c->sent_ms;
	if (now >= c->settle_mono) {
		action_finish(c, ACTION_UNKNOWN);
		return;
	}
	c->phase = ACTION_WAIT;
	if (c->next_mono < c->due_mono)
		c->next_mono = c->due_mono;
	c->fl->gen++;
}

static void
action_post_done(struct fleet_agent *a, const struct fetch_resp *r,
    void *arg)
{
	struct action	*c = arg;

	(void)a;
	c->req = NULL;
	c->status = r->status;
	if (r->status >= 200 && r->status <= 299)
		action_applied(c, r->body, r->len);
	else if (r->status >= 400 && r->status <= 499) {
		/* an answer: the agent decided, and changed nothing */
		action_http_why(c, r);
		c->refused = 1;
		action_finish(c, ACTION_NOT_APPLIED);
	} else if (r->err != FETCH_OK && r->status == 0 && r->not_sent) {
		snprintf(c->why, sizeof(c->why), "not sent: %s", r->errmsg);
		action_finish(c, ACTION_NOT_APPLIED);
	} else if (r->status >= 500) {
		char why[768];

		action_http_why(c, r);
		strlcpy_v(why, c->why, sizeof(why));
		action_undecided(c, why);
	} else
		action_undecided(c, r->errmsg);
}

static void
action_ask_done(struct fleet_agent *a, const struct fetch_resp *r,
    void *arg)
{
	struct action		*c = arg;
	struct model_request	 q;
	char			 err[300], code[64], msg[512], prev[768];

	(void)a;
	c->req = NULL;
	c->lookups++;
	if (r->status == 200 && r->err == FETCH_OK) {
		if (model_parse_request(r->body, r->len, &q, err,
		    sizeof(err)) != 0) {
			snprintf(c->why, sizeof(c->why), "the outcome lookup's "
			    "answer is not valid: %s", err);
			c->cannot_tell = 1;
			action_finish(c, ACTION_UNKNOWN);
			return;
		}
		c->status = q.status;
		c->settled = 1;
		if (q.applied) {
			c->result = q.action;
			memset(&q.action, 0, sizeof(q.action));
			c->has_result = 1;
			action_finish(c, ACTION_APPLIED);
		} else {
			snprintf(c->code, sizeof(c->code), "%s", q.code);
			snprintf(c->why, sizeof(c->why), "HTTP %" PRId64 " %s: %.600s",
			    q.status, q.code, q.message);
			c->refused = 1;
			action_finish(c, ACTION_NOT_APPLIED);
		}
		model_request_free(&q);
		return;
	}
	if (model_parse_error(r->body, r->len, code, sizeof(code), msg,
	    sizeof(msg)) != 0)
		code[0] = msg[0] = '\0';
	if (r->status == 404 && strcmp(code, "not_applied") == 0) {
		c->settled = 1;
		snprintf(c->code, sizeof(c->code), "%s", code);
		strlcpy_v(prev, c->why, sizeof(prev));
		snprintf(c->why, sizeof(c->why), "the agent did not apply it "
		    "before its deadline; the request had %.400s", prev);
		action_finish(c, ACTION_NOT_APPLIED);
		return;
	}
	if (r->status == 425 || r->status >= 500 || r->status == 0 ||
	    r->status == 429) {
		/* not decided yet, or the agent still away: ask again */
		if (r->status != 425 && r->status != 0)
			action_http_why(c, r);
		else if (r->status == 0)
			strlcpy_v(c->why, r->errmsg, sizeof(c->why));
		if (fetch_mono_ms() >= c->settle_mono)
			action_finish(c, ACTION_UNKNOWN);
		else
			c->phase = ACTION_WAIT;
		c->fl->gen++;
		return;
	}
	/* 404 without the lookup (an older agent), 401, 403: no way to know */
	action_http_why(c, r);
	strlcpy_v(prev, c->why, sizeof(prev));
	snprintf(c->why, sizeof(c->why), "the agent cannot tell (outcome "
	    "lookup: %.600s)", prev);
	c->cannot_tell = 1;
	action_finish(c, ACTION_UNKNOWN);
}

static void
action_ask(struct action *c)
{
	struct fleet_reqopt	 o;
	char			*esc, *path;

	if ((esc = curl_easy_escape(NULL, c->key, 0)) == NULL)
		fatalx("%s: out of memory", __func__);
	xasprintf(&path, "/v1/requests/%s?deadline=%" PRId64, esc,
	    c->deadline_ms);
	curl_free(esc);
	memset(&o, 0, sizeof(o));
	o.timeout_ms = ACTION_ASK_TIMEOUT_MS;
	c->next_mono = fetch_mono_ms() + ACTION_ASK_EVERY_MS;
	c->req = fleet_request_opt(action_agent(c), path, NULL, &o,
	    action_ask_done, c);
	free(path);
	if (c->req != NULL)
		c->phase = ACTION_ASK;
}

struct action *
action_start(struct fleet_agent *a, const char *path, const char *body,
    const struct action_opts *ao, action_done_fn done, void *arg)
{
	struct fleet		*fl = a->fleet;
	struct action		*c;
	struct fleet_reqopt	 o;
	int64_t			 now = fetch_now_ms(), mono = fetch_mono_ms();

	c = xcalloc(1, sizeof(*c));
	c->fl = fl;
	c->agent = a->idx;
	c->done = done;
	c->arg = arg;
	c->timeout_ms = ao != NULL && ao->timeout_ms > 0 ? ao->timeout_ms :
	    fl->conf->action_timeout_ms;
	c->settle_ms = ao != NULL && ao->settle_ms >= 0 ? ao->settle_ms :
	    fl->conf->settle_ms;
	action_new_key(c->key, sizeof(c->key));
	c->sent_ms = now;
	c->deadline_local_ms = now + c->timeout_ms;
	c->deadline_ms = c->deadline_local_ms + (a->has_skew ? a->skew_ms : 0);
	c->due_mono = mono + c->timeout_ms;
	c->settle_mono = c->due_mono + c->settle_ms;
	c->next = fl->actions;
	fl->actions = c;
	memset(&o, 0, sizeof(o));
	o.idem_key = c->key;
	o.deadline_ms = c->deadline_ms;
	/* past the deadline the agent commits nothing: wait a little more */
	o.timeout_ms = c->timeout_ms + ACTION_SLACK_MS;
	c->phase = ACTION_SENT;
	c->req = fleet_request_opt(a, path, body, &o, action_post_done, c);
	if (c->req == NULL) {
		snprintf(c->why, sizeof(c->why), "not sent: %s",
		    fleet_agent_reason(a)[0] != '\0' ? fleet_agent_reason(a) :
		    "the agent is not connected");
		action_finish(c, ACTION_NOT_APPLIED);
	}
	return c;
}

int64_t
action_tick(struct fleet *fl)
{
	struct action	*c;
	int64_t		 now, wait;
	int		 ready;

again:
	wait = INT64_MAX;
	for (c = fl->actions; c != NULL; c = c->next) {
		now = fetch_mono_ms();
		if (c->phase == ACTION_WAIT && now >= c->next_mono) {
			ready = fleet_agent_ready(action_agent(c));
			/* asked at least once after the deadline, if at all
			 * possible */
			if (now >= c->settle_mono && (c->lookups > 0 || !ready))
				action_finish(c, ACTION_UNKNOWN);
			else if (ready)
				action_ask(c);
			else
				c->next_mono = now + ACTION_ASK_EVERY_MS;
		}
		if (c->phase == ACTION_WAIT && c->next_mono - now < wait)
			wait = c->next_mono - now;
		if (c->notify) {
			/* the callback may free any action: start over */
			c->notify = 0;
			if (c->done != NULL)
				c->done(c, c->arg);
			goto again;
		}
	}
	return wait < 0 ? 0 : wait;
}

void
action_free(struct action *c)
{
	struct action	**pp;

	if (c == NULL)
		return;
	for (pp = &c->fl->actions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	fleet_cancel(c->fl, &c->req);
	if (c->has_result)
		model_action_free(&c->result);
	free(c);
}

const char *
action_describe(const struct action *c, char *buf, size_t len)
{
	char	t1[16], t2[16];

	switch (c->outcome) {
	case ACTION_PENDING:
		if (c->phase == ACTION_SENT)
			snprintf(buf, len, "waiting for the answer: outcome "
			    "unknown until the deadline %s", ui_clock(
			    c->deadline_local_ms, ACTION_CLOCK, t1,
			    sizeof(t1)));
		else if (fetch_now_ms() <= c->deadline_local_ms)
			snprintf(buf, len, "outcome unknown until the deadline "
			    "%s (%s)", ui_clock(c->deadline_local_ms,
			    ACTION_CLOCK, t1, sizeof(t1)), c->why);
		else
			snprintf(buf, len, "outcome unknown: asking %s until "
			    "%s (%s)", action_agent(c)->conf->name,
			    ui_clock(c->deadline_local_ms + c->settle_ms,
			    ACTION_CLOCK, t1, sizeof(t1)), c->why);
		break;
	case ACTION_APPLIED:
		if (c->has_result)
			snprintf(buf, len, "applied");
		else
			snprintf(buf, len, "applied (%s)", c->why);
		break;
	case ACTION_NOT_APPLIED:
		snprintf(buf, len, "not applied (%s%s)", c->refused ?
		    "refused: " : "", c->why);
		break;
	case ACTION_UNKNOWN:
		if (c->cannot_tell)
			snprintf(buf, len, "outcome unknown: %s", c->why);
		else
			snprintf(buf, len, "outcome unknown: %s unreachable "
			    "since %s (%s; asked until %s)",
			    action_agent(c)->conf->name, ui_clock(
			    c->silent_since_ms, ACTION_CLOCK, t1, sizeof(t1)),
			    c->why, ui_clock(c->deadline_local_ms +
			    c->settle_ms, ACTION_CLOCK, t2, sizeof(t2)));
		break;
	}
	return buf;
}
