/*
 * route_state.c - what a drain or undrain does, exactly: the state table
 * of vantage-api(7) ("Route state machine"), the pool guard over a whole
 * batch (shared/pool.c, the same code the console previews with),
 * deadlines, idempotency keys, and the one transaction that commits every
 * route of a batch with its audit rows and its stored answer.
 *
 * A change is decided and committed under the writer lock and only then
 * taken into memory, so an agent-check answer never shows a state that
 * is not committed, and a failed commit (disk full) changes nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "pool.h"
#include "vantaged.h"

enum route_decision {
	ROUTE_D_CHANGE,
	ROUTE_D_NOOP,
	ROUTE_D_UPDATE,		/* needs "update": true */
	ROUTE_D_BAD		/* the request cannot apply (400) */
};

/* One route of a request being decided. */
struct route_step {
	struct route		*r;
	enum route_decision	 d;
	struct route_next	 n;
	int			 weakens;	/* takes traffic now, not after */
	int			 tripped;	/* its pool's guard tripped */
	const char		*result;	/* of its audit row */
	struct buf		 detail;	/* for its audit row */
};

void
route_state_apply(struct route *r, const struct route_next *n)
{
	enum route_state	from = r->state;
	enum route_effective	eff = route_eff(r);
	/* copies first: n may point into r itself */
	char	*reason = xstrdup(n->reason);
	char	*actor = xstrdup(n->actor);
	char	*oper = xstrdup(n->operator);
	char	*key = xstrdup(n->key != NULL ? n->key : "");
	char	*batch = xstrdup(n->batch != NULL ? n->batch : "");

	free(r->reason);
	free(r->actor);
	free(r->operator);
	free(r->key);
	free(r->batch);
	r->reason = reason;
	r->actor = actor;
	r->operator = oper;
	r->key = key;
	r->batch = batch;
	r->state = n->state;
	r->since_ms = n->since_ms;
	r->expires_ms = n->expires_ms;
	r->forced = n->forced;
	r->retry_ms = 0;
	if (from != r->state)
		r->changes++;
	if (from != r->state || eff != route_eff(r))
		log_info("route %s: %s -> %s (%s) by %s", r->name,
		    route_state_str(from), route_state_str(r->state),
		    route_effective_str(route_eff(r)), r->actor);
	route_hook_queue(r, from);
	route_bump();
}

static void
route_state_ttl(struct buf *b, int64_t expires_ms, int64_t now)
{
	char	dur[64];

	if (expires_ms > 0)
		buf_printf(b, ", ttl %s", parse_fmt_duration(expires_ms > now ?
		    expires_ms - now : 0, dur, sizeof(dur)));
}

/* The next state of one route, per the table in vantage-api(7). */
static enum route_decision
route_state_decide(const struct route *r, const struct route_request *rq,
    int64_t now, struct route_next *n, char *why, size_t len)
{
	const char	*reason = rq->reason;
	int64_t		 exp_new = rq->has_ttl && rq->ttl_s > 0 ?
			    now + rq->ttl_s * 1000 : 0;

	memset(n, 0, sizeof(*n));
	n->actor = rq->actor;
	n->operator = rq->operator_hdr;
	n->key = rq->key != NULL ? rq->key : "";
	n->since_ms = now;
	if (!rq->drain) {
		if (r->state == ROUTE_ACTIVE)
			return ROUTE_D_NOOP;
		n->state = ROUTE_ACTIVE;
		n->reason = reason != NULL ? reason : "";
		return ROUTE_D_CHANGE;
	}
	n->state = rq->mode;
	if (r->state == ROUTE_ACTIVE) {
		if (reason == NULL) {
			snprintf(why, len, "route %s is active: a drain needs "
			    "a 'reason'", r->name);
			return ROUTE_D_BAD;
		}
		n->reason = reason;
		n->expires_ms = exp_new;
		return ROUTE_D_CHANGE;
	}
	/* out of service already: fields not given keep their values */
	n->reason = reason != NULL ? reason : r->reason;
	n->expires_ms = rq->has_ttl ? exp_new : r->expires_ms;
	if (r->state != rq->mode)
		return ROUTE_D_CHANGE;	/* draining <-> maint */
	if (strcmp(n->reason, r->reason) == 0 &&
	    (!rq->has_ttl || (rq->ttl_s == 0 && r->expires_ms == 0)))
		return ROUTE_D_NOOP;
	if (!rq->update) {
		snprintf(why, len, "route %s is already %s (reason \"%s\"); "
		    "add \"update\":true (vantage drain --update) to change its "
		    "reason or ttl", r->name,
		    route_state_str(r->state), r->reason);
		return ROUTE_D_UPDATE;
	}
	/* an update: the state and what set it stay */
	n->since_ms = r->since_ms;
	n->forced = r->forced;
	return ROUTE_D_CHANGE;
}

static void
route_state_detail(struct route_step *s, const struct route_request *rq,
    const char *guard, int64_t now)
{
	struct buf	*b = &s->detail;
	const char	*reason = s->n.reason != NULL ? s->n.reason :
			    s->r->reason;

	if (s->d == ROUTE_D_NOOP) {
		if (rq->drain)
			buf_printf(b, "already %s, unchanged",
			    route_state_str(s->r->state));
		else
			buf_adds(b, "already active, unchanged");
	} else if (!rq->drain)
		buf_printf(b, "active (was %s)", route_state_str(s->r->state));
	else if (s->r->state == s->n.state)
		buf_printf(b, "%s, updated", route_state_str(s->n.state));
	else
		buf_adds(b, route_state_str(s->n.state));
	if (rq->drain && s->d != ROUTE_D_NOOP)
		route_state_ttl(b, s->n.expires_ms, now);
	if (guard != NULL)
		buf_printf(b, ", forced: %s", guard);
	buf_printf(b, ": %s", rq->reason != NULL ? rq->reason : reason);
}

static void
route_state_audit_entry(struct audit_entry *ae, const struct route_request *rq,
    const struct route_step *s, const char *batch, const char *result)
{
	memset(ae, 0, sizeof(*ae));
	ae->actor = rq->actor;
	ae->role = rq->role;
	ae->operator_hdr = rq->operator_hdr;
	ae->source = rq->source;
	ae->action = rq->drain ? "drain" : "undrain";
	ae->target = s->r->name;
	ae->detail = s->detail.data;
	ae->result = result;
	ae->key = rq->key;
	ae->batch = batch;
}

static void
route_state_batch_id(char *out, size_t len)
{
	unsigned char	rnd[8];
	size_t		i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("%s: no randomness", __func__);
	for (i = 0; i < sizeof(rnd) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

/* The pool guard over the whole request; 1 and guard text when tripped. */
static int
route_state_guard(struct route_step *steps, int n, const struct route_request
    *rq, char *guard, size_t len)
{
	struct route		**rs;
	struct pool_member	 *m;
	const struct route_pool	 *pool;
	struct pool_outcome	  o;
	int			  nr, i, j, tripped = 0;

	rs = route_list(&nr);
	m = xcalloc((size_t)nr + 1, sizeof(*m));
	for (i = 0; i < nr; i++) {
		m[i].pool = rs[i]->pool;
		m[i].active = rs[i]->state == ROUTE_ACTIVE;
		m[i].probe_down = rs[i]->probe != NULL &&
		    rs[i]->probe_state == STATE_DOWN;
		for (j = 0; j < n; j++) {
			if (steps[j].r == rs[i] && steps[j].d ==
			    ROUTE_D_CHANGE && steps[j].n.state !=
			    rs[i]->state)
				m[i].selected = 1;
		}
	}
	for (j = 0; j < n; j++) {
		steps[j].weakens = route_eff(steps[j].r) == ROUTE_EFF_READY &&
		    rq->drain && steps[j].d == ROUTE_D_CHANGE;
		if ((pool = route_find_pool(steps[j].r->pool)) == NULL)
			continue;
		pool_count(m, (size_t)nr, pool->name, rq->drain, &o);
		if (pool_trips(&o, pool->min_active, rq->drain)) {
			steps[j].tripped = 1;
			if (!tripped)
				pool_describe(&o, pool->name, pool->min_active,
				    guard, len);
			tripped = 1;
		}
	}
	free(m);
	return tripped;
}

/* Stores the outcome under the request's key, inside the transaction. */
static int
route_state_store(const struct route_request *rq, route_render_fn render,
    struct route_outcome *oc, struct buf *out, char *err, size_t errlen)
{
	buf_reset(out);
	render(oc, out);
	if (rq->key == NULL)
		return 0;
	return route_sql_put_request(rq->actor, rq->key, rq->fingerprint,
	    oc->status, out->data != NULL ? out->data : "", err, errlen);
}

/* A request that came too late: nothing changes, the refusal is kept. */
static void
route_state_late(struct route_step *steps, int n,
    const struct route_request *rq, int64_t now, struct route_outcome *oc)
{
	struct audit_entry	ae;
	char			err[256];
	int			i;

	oc->status = 412;
	oc->code = "deadline_passed";
	snprintf(oc->msg, sizeof(oc->msg), "the request's deadline %" PRId64
	    " passed %" PRId64 " ms before the agent reached it (agent time %"
	    PRId64 "): nothing was changed", rq->deadline_ms, now -
	    rq->deadline_ms, now);
	if (route_sql_begin(err, sizeof(err)) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		buf_reset(&steps[i].detail);
		buf_printf(&steps[i].detail, "deadline passed %" PRId64 " ms "
		    "before the agent reached it, nothing changed: %s",
		    now - rq->deadline_ms, rq->reason != NULL ? rq->reason :
		    "");
		route_state_audit_entry(&ae, rq, &steps[i], oc->batch,
		    "refused");
		if (route_sql_audit(&ae, &oc->audit_id[i], err,
		    sizeof(err)) == -1) {
			route_sql_rollback();
			goto fail;
		}
	}
	if (route_sql_commit(err, sizeof(err)) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		route_state_audit_entry(&ae, rq, &steps[i], oc->batch,
		    "refused");
		audit_committed(&ae, oc->audit_id[i]);
	}
	return;
fail:
	log_warnx("routes: late request by %s not audited: %s", rq->actor,
	    err);
}

int
route_change(const struct route_request *rq, route_render_fn render,
    struct buf *out, struct route_outcome *oc)
{
	struct route_step	*steps;
	struct route		 after[ROUTE_BATCH_MAX];
	struct audit_entry	 ae;
	char			 guard[256], why[512], err[512], *fp = NULL;
	char			*stored = NULL;
	int64_t			 now = clock_wall_ms();
	int			 i, n = rq->n_names, tripped, st, committed = 0;

	memset(oc, 0, sizeof(*oc));
	oc->status = 200;
	oc->single = rq->single;
	route_state_batch_id(oc->batch, sizeof(oc->batch));
	if (n < 1 || n > ROUTE_BATCH_MAX) {
		oc->status = 400;
		oc->code = "bad_request";
		snprintf(oc->msg, sizeof(oc->msg), "between 1 and %d routes",
		    ROUTE_BATCH_MAX);
		buf_reset(out);
		render(oc, out);
		return oc->status;
	}
	steps = xcalloc((size_t)n, sizeof(*steps));
	for (i = 0; i < n; i++)
		buf_init(&steps[i].detail);
	guard[0] = why[0] = err[0] = '\0';

	route_wlock();
	/* A repeat gets the first answer and changes nothing. */
	if (rq->key != NULL) {
		st = route_sql_get_request(rq->actor, rq->key, &oc->status,
		    &fp, &stored, err, sizeof(err));
		if (st == 1 && strcmp(fp, rq->fingerprint) != 0) {
			oc->status = 422;
			oc->code = "idempotency_mismatch";
			snprintf(oc->msg, sizeof(oc->msg), "Idempotency-Key %s "
			    "was used for a different request", rq->key);
			goto render;
		}
		if (st == 1) {
			oc->replayed = 1;
			buf_reset(out);
			buf_adds(out, stored);
			goto done;
		}
		if (st == -1) {
			oc->status = 503;
			oc->code = "unavailable";
			snprintf(oc->msg, sizeof(oc->msg), "cannot read the "
			    "request keys: %s", err);
			goto render;
		}
	}

	route_lock();
	for (i = 0; i < n; i++) {
		if ((steps[i].r = route_find(rq->names[i])) == NULL) {
			route_unlock();
			oc->status = 404;
			oc->code = "not_found";
			snprintf(oc->msg, sizeof(oc->msg), "route '%s' is not "
			    "defined; nothing was changed", rq->names[i]);
			goto render;
		}
	}
	for (i = 0; i < n; i++) {
		steps[i].d = route_state_decide(steps[i].r, rq, now,
		    &steps[i].n, why, sizeof(why));
		steps[i].n.batch = oc->batch;
		if (steps[i].d == ROUTE_D_BAD && oc->status == 200) {
			oc->status = 400;
			oc->code = "bad_request";
		} else if (steps[i].d == ROUTE_D_UPDATE && oc->status == 200) {
			oc->status = 409;
			oc->code = "needs_update";
		} else
			continue;
		snprintf(oc->msg, sizeof(oc->msg), "%s; nothing was changed",
		    why);
	}
	tripped = oc->status == 200 && route_state_guard(steps, n, rq, guard,
	    sizeof(guard));
	if (tripped && !rq->force) {
		oc->status = 409;
		oc->code = "pool_guard";
		snprintf(oc->msg, sizeof(oc->msg), "%s (use force); nothing was "
		    "changed", guard);
	}
	for (i = 0; i < n; i++) {
		struct route_step *s = &steps[i];

		if (s->d == ROUTE_D_CHANGE && s->r->state != s->n.state)
			s->n.forced = s->tripped && s->weakens;
		route_state_detail(s, rq, s->n.forced && s->weakens ? guard :
		    NULL, now);
	}
	route_unlock();
	if (oc->status == 400)
		goto render;

	/* Checked under the writer lock, so the commit below is the only
	 * one that can still happen before the deadline. */
	if (rq->deadline_ms > 0 && (now = clock_wall_ms()) > rq->deadline_ms) {
		route_state_late(steps, n, rq, now, oc);
		goto render;
	}
	if (route_sql_begin(err, sizeof(err)) == -1)
		goto unavailable;
	for (i = 0; i < n; i++) {
		struct route_step *s = &steps[i];

		if (oc->status != 200) {
			s->result = "refused";
			buf_reset(&s->detail);
			buf_printf(&s->detail, "%s: %s", oc->code != NULL &&
			    strcmp(oc->code, "pool_guard") == 0 ? guard : why,
			    rq->reason != NULL ? rq->reason : s->r->reason);
		} else if (s->d == ROUTE_D_NOOP)
			s->result = "unchanged";
		else
			s->result = s->n.forced && s->weakens ? "forced" : "ok";
		if (oc->status == 200 && s->d == ROUTE_D_CHANGE &&
		    route_sql_put(s->r->name, &s->n, err, sizeof(err)) == -1)
			goto rollback;
		route_state_audit_entry(&ae, rq, s, oc->batch, s->result);
		if (route_sql_audit(&ae, &oc->audit_id[i], err,
		    sizeof(err)) == -1)
			goto rollback;
		/* the state the answer shows: this route as it will be */
		after[i] = *s->r;
		if (oc->status == 200 && s->d == ROUTE_D_CHANGE) {
			after[i].state = s->n.state;
			after[i].reason = (char *)s->n.reason;
			after[i].actor = (char *)s->n.actor;
			after[i].operator = (char *)s->n.operator;
			after[i].key = (char *)s->n.key;
			after[i].batch = (char *)s->n.batch;
			after[i].since_ms = s->n.since_ms;
			after[i].expires_ms = s->n.expires_ms;
			after[i].forced = s->n.forced;
			oc->changed[i] = 1;
		}
		oc->after[i] = &after[i];
	}
	oc->n = n;
	if (route_state_store(rq, render, oc, out, err, sizeof(err)) == -1)
		goto rollback;
	if (rq->deadline_ms > 0 && (now = clock_wall_ms()) > rq->deadline_ms) {
		route_sql_rollback();
		route_state_late(steps, n, rq, now, oc);
		oc->n = 0;
		goto render;
	}
	if (route_sql_commit(err, sizeof(err)) == -1)
		goto unavailable;
	committed = 1;
	for (i = 0; i < n; i++) {
		route_state_audit_entry(&ae, rq, &steps[i], oc->batch,
		    steps[i].result);
		audit_committed(&ae, oc->audit_id[i]);
	}
	if (oc->status == 200) {
		route_lock();
		for (i = 0; i < n; i++) {
			if (steps[i].d == ROUTE_D_CHANGE)
				route_state_apply(steps[i].r, &steps[i].n);
		}
		route_unlock();
		route_keeper_wake();
	}
	goto done;
rollback:
	route_sql_rollback();
unavailable:
	oc->n = 0;
	oc->status = 503;
	oc->code = "unavailable";
	snprintf(oc->msg, sizeof(oc->msg), "the change could not be recorded, "
	    "nothing was changed: %s", err);
	log_warnx("routes: %s by %s refused: %s", rq->drain ? "drain" :
	    "undrain", rq->actor, err);
render:
	if (!committed) {
		oc->n = 0;
		buf_reset(out);
		render(oc, out);
	}
done:
	route_wunlock();
	for (i = 0; i < n; i++)
		buf_free(&steps[i].detail);
	free(steps);
	free(fp);
	free(stored);
	return oc->status;
}
