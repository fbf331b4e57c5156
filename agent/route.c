/*
 * route.c - the operator state of routes (active, draining, maint), pool
 * guards, TTL expiry and drain_timeout, and the effective state a load
 * balancer is told (ready, drain, maint, down).
 *
 * Every change is committed to SQLite together with its audit row, in one
 * transaction, before anything changes in memory or anyone is answered:
 * when the commit fails (disk full, read-only, audit refused) the change
 * is refused and nothing changes, so there is never an unaudited drain.
 *
 * Threads.  API threads drain and undrain; the loop thread reads states
 * (HAProxy agent-check), follows the linked probes (route_tick) and runs
 * hooks; a keeper thread of ours does what falls due by itself (ttl
 * expiry, drain_timeout) and audits hook results, so the loop never waits
 * for the disk.  Two locks: route_wmtx orders writers and is held across
 * a commit; route_mtx guards the in-memory state and is only ever held
 * for a moment, so an agent-check answer never waits behind a commit.
 * Lock order: route_wmtx, then route_mtx.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vantaged.h"

#define ROUTE_KEEPER_IDLE_MS	1000	/* longest keeper sleep */
#define ROUTE_RETRY_MS		5000	/* after a failed timed change */

struct route {
	/* from the config (copied: the config is replaced on reload) */
	char			*name;
	char			*pool;		/* NULL: none */
	char			*probe;		/* NULL: none */
	int64_t			 drain_timeout_ms;
	char			**on_drain;
	char			**on_undrain;
	int64_t			 hook_timeout_ms;
	/* operator state, as committed */
	enum route_state	 state;
	char			*reason;
	char			*actor;
	char			*operator;
	int64_t			 since_ms;
	int64_t			 expires_ms;	/* 0: no ttl */
	int			 forced;
	/* the linked probe's state, copied on the loop thread */
	enum probe_state	 probe_state;
	uint64_t		 changes;
	int64_t			 retry_ms;	/* keeper: not before */
};

struct route_pool {
	char	*name;
	int	 min_active;
};

/* The state a change leads to. */
struct route_next {
	enum route_state	 state;
	const char		*reason;
	const char		*actor;
	const char		*operator;
	int64_t			 since_ms;
	int64_t			 expires_ms;
	int			 forced;
};

/* A hook to start on the loop thread. */
struct route_hook_job {
	struct route_hook_job	*next;
	char			**argv;
	char			*which;
	char			*route;
	char			*state;
	char			*actor;
	char			*reason;
	int64_t			 timeout_ms;
};

/* A hook result for the keeper to audit. */
struct route_audit_job {
	struct route_audit_job	*next;
	char			*route;
	char			*detail;
	int			 ok;
};

static pthread_mutex_t	 route_wmtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	 route_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct route	**routes;
static int		  n_routes;
static struct route_pool *pools;
static int		  n_pools;
static sqlite3		 *route_db;		/* under route_wmtx */
static _Atomic uint64_t	  route_genv = 1;

static pthread_mutex_t	 keeper_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 keeper_cond = PTHREAD_COND_INITIALIZER;
static pthread_t	 keeper_thr;
static int		 keeper_started, keeper_run, keeper_kick;
static struct route_audit_job *keeper_jobs;

static pthread_mutex_t	 hookq_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct route_hook_job *hookq;
static int		 hookq_fd = -1;		/* eventfd: wakes the loop */

static struct config	*route_pending;		/* loop thread */
static int		 route_probe_dirty = 1;	/* loop thread */
static uint64_t		 route_probe_gen;	/* loop thread */

const char *
route_state_str(enum route_state s)
{
	switch (s) {
	case ROUTE_ACTIVE:
		return "active";
	case ROUTE_DRAINING:
		return "draining";
	case ROUTE_MAINT:
		return "maint";
	}
	return "?";
}

const char *
route_effective_str(enum route_effective e)
{
	switch (e) {
	case ROUTE_EFF_READY:
		return "ready";
	case ROUTE_EFF_DRAIN:
		return "drain";
	case ROUTE_EFF_MAINT:
		return "maint";
	case ROUTE_EFF_DOWN:
		return "down";
	}
	return "?";
}

static int
route_state_parse(const char *s, enum route_state *out)
{
	if (strcmp(s, "active") == 0)
		*out = ROUTE_ACTIVE;
	else if (strcmp(s, "draining") == 0)
		*out = ROUTE_DRAINING;
	else if (strcmp(s, "maint") == 0)
		*out = ROUTE_MAINT;
	else
		return -1;
	return 0;
}

uint64_t
route_gen(void)
{
	return atomic_load(&route_genv);
}

static void
route_bump(void)
{
	atomic_fetch_add(&route_genv, 1);
}

/* Maint wins over a down probe: the operator took it out already. */
static enum route_effective
route_eff(const struct route *r)
{
	if (r->state == ROUTE_MAINT)
		return ROUTE_EFF_MAINT;
	if (r->probe != NULL && r->probe_state == STATE_DOWN)
		return ROUTE_EFF_DOWN;
	if (r->state == ROUTE_DRAINING)
		return ROUTE_EFF_DRAIN;
	return ROUTE_EFF_READY;
}

static char *
route_strdup(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

static char **
route_argv_dup(char **argv)
{
	char	**out;
	size_t	  n, i;

	if (argv == NULL)
		return NULL;
	for (n = 0; argv[n] != NULL; n++)
		;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(argv[i]);
	return out;
}

static void
route_free(struct route *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->pool);
	free(r->probe);
	config_free_argv(r->on_drain);
	config_free_argv(r->on_undrain);
	free(r->reason);
	free(r->actor);
	free(r->operator);
	free(r);
}

static struct route *
route_new(const struct route_conf *rc, int64_t now)
{
	struct route	*r = xcalloc(1, sizeof(*r));

	r->name = xstrdup(rc->name);
	r->pool = rc->pool != NULL ? xstrdup(rc->pool) : NULL;
	r->probe = rc->probe != NULL ? xstrdup(rc->probe) : NULL;
	r->drain_timeout_ms = rc->drain_timeout_ms;
	r->on_drain = route_argv_dup(rc->on_drain);
	r->on_undrain = route_argv_dup(rc->on_undrain);
	r->hook_timeout_ms = rc->hook_timeout_ms > 0 ? rc->hook_timeout_ms :
	    10000;
	r->state = ROUTE_ACTIVE;
	r->reason = xstrdup("");
	r->actor = xstrdup("");
	r->operator = xstrdup("");
	r->since_ms = now;
	r->probe_state = STATE_UNKNOWN;
	return r;
}

/* Under route_mtx. */
static struct route *
route_find(const char *name)
{
	int	i;

	for (i = 0; i < n_routes; i++) {
		if (strcmp(routes[i]->name, name) == 0)
			return routes[i];
	}
	return NULL;
}

static const struct route_pool *
route_find_pool(const char *name)
{
	int	i;

	for (i = 0; name != NULL && i < n_pools; i++) {
		if (strcmp(pools[i].name, name) == 0)
			return &pools[i];
	}
	return NULL;
}

/* Routes of a pool taking traffic now (effective ready), but skip. */
static int
route_pool_active(const char *pool, const struct route *skip)
{
	int	i, n = 0;

	for (i = 0; i < n_routes; i++) {
		if (routes[i] != skip && routes[i]->pool != NULL &&
		    strcmp(routes[i]->pool, pool) == 0 &&
		    route_eff(routes[i]) == ROUTE_EFF_READY)
			n++;
	}
	return n;
}

static int
route_pool_size(const char *pool)
{
	int	i, n = 0;

	for (i = 0; i < n_routes; i++) {
		if (routes[i]->pool != NULL && strcmp(routes[i]->pool, pool) == 0)
			n++;
	}
	return n;
}

static void
route_json_one(struct buf *b, const struct route *r)
{
	buf_adds(b, "{\"name\":");
	buf_add_json_str(b, r->name);
	buf_printf(b, ",\"state\":\"%s\",\"effective\":\"%s\",\"reason\":",
	    route_state_str(r->state), route_effective_str(route_eff(r)));
	buf_add_json_str(b, r->reason);
	buf_adds(b, ",\"actor\":");
	buf_add_json_str(b, r->actor);
	buf_adds(b, ",\"operator\":");
	buf_add_json_str(b, r->operator);
	buf_printf(b, ",\"since_ms\":%" PRId64 ",\"expires_ms\":", r->since_ms);
	if (r->expires_ms > 0)
		buf_printf(b, "%" PRId64, r->expires_ms);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"pool\":");
	if (r->pool != NULL)
		buf_add_json_str(b, r->pool);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"probe\":");
	if (r->probe != NULL)
		buf_add_json_str(b, r->probe);
	else
		buf_adds(b, "null");
	buf_printf(b, ",\"forced\":%s}", r->forced ? "true" : "false");
}

void
route_json(struct buf *b)
{
	int	i;

	pthread_mutex_lock(&route_mtx);
	buf_adds(b, "\"routes\":[");
	for (i = 0; i < n_routes; i++) {
		if (i > 0)
			buf_addc(b, ',');
		route_json_one(b, routes[i]);
	}
	buf_adds(b, "],\"pools\":[");
	for (i = 0; i < n_pools; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"name\":");
		buf_add_json_str(b, pools[i].name);
		buf_printf(b, ",\"min_active\":%d,\"routes\":%d,\"active\":%d}",
		    pools[i].min_active, route_pool_size(pools[i].name),
		    route_pool_active(pools[i].name, NULL));
	}
	buf_addc(b, ']');
	pthread_mutex_unlock(&route_mtx);
}

void
route_metrics(struct buf *b)
{
	static const enum route_state states[] = { ROUTE_ACTIVE,
	    ROUTE_DRAINING, ROUTE_MAINT };
	static const enum route_effective effs[] = { ROUTE_EFF_READY,
	    ROUTE_EFF_DRAIN, ROUTE_EFF_MAINT, ROUTE_EFF_DOWN };
	size_t	k;
	int	i;

	/* Route and pool names are [A-Za-z0-9._-]: no label escaping. */
	pthread_mutex_lock(&route_mtx);
	buf_adds(b, "# HELP vantage_route_state Operator state of the route "
	    "(1 for the current state).\n# TYPE vantage_route_state gauge\n");
	for (i = 0; i < n_routes; i++) {
		for (k = 0; k < sizeof(states) / sizeof(states[0]); k++)
			buf_printf(b, "vantage_route_state{route=\"%s\","
			    "state=\"%s\"} %d\n", routes[i]->name,
			    route_state_str(states[k]),
			    routes[i]->state == states[k]);
	}
	buf_adds(b, "# HELP vantage_route_effective What load balancers are "
	    "told about the route (1 for the current answer).\n"
	    "# TYPE vantage_route_effective gauge\n");
	for (i = 0; i < n_routes; i++) {
		enum route_effective e = route_eff(routes[i]);

		for (k = 0; k < sizeof(effs) / sizeof(effs[0]); k++)
			buf_printf(b, "vantage_route_effective{route=\"%s\","
			    "effective=\"%s\"} %d\n", routes[i]->name,
			    route_effective_str(effs[k]), e == effs[k]);
	}
	buf_adds(b, "# HELP vantage_pool_active_routes Routes of the pool "
	    "taking traffic (effective ready).\n"
	    "# TYPE vantage_pool_active_routes gauge\n");
	for (i = 0; i < n_pools; i++)
		buf_printf(b, "vantage_pool_active_routes{pool=\"%s\"} %d\n",
		    pools[i].name, route_pool_active(pools[i].name, NULL));
	buf_adds(b, "# HELP vantage_route_changes_total Operator state "
	    "changes of the route since the agent started.\n"
	    "# TYPE vantage_route_changes_total counter\n");
	for (i = 0; i < n_routes; i++)
		buf_printf(b, "vantage_route_changes_total{route=\"%s\"} %"
		    PRIu64 "\n", routes[i]->name, routes[i]->changes);
	pthread_mutex_unlock(&route_mtx);
}

int
route_get(const char *name, enum route_state *st, enum route_effective *eff)
{
	struct route	*r;
	int		 rc = -1;

	pthread_mutex_lock(&route_mtx);
	if ((r = route_find(name)) != NULL) {
		if (st != NULL)
			*st = r->state;
		if (eff != NULL)
			*eff = route_eff(r);
		rc = 0;
	}
	pthread_mutex_unlock(&route_mtx);
	return rc;
}

int
route_get_effective(const char *name, enum route_effective *eff)
{
	return route_get(name, NULL, eff);
}

static void
keeper_wake(void)
{
	pthread_mutex_lock(&keeper_mtx);
	keeper_kick = 1;
	pthread_cond_signal(&keeper_cond);
	pthread_mutex_unlock(&keeper_mtx);
}

/* Under route_mtx: queues r's hook for the loop thread, if it has one. */
static void
route_queue_hook(const struct route *r, enum route_state from)
{
	struct route_hook_job	*j, **pp;
	char			**argv;
	const char		 *which;
	uint64_t		  one = 1;

	/* Hooks mark leaving and rejoining service, not every change. */
	if (from == ROUTE_ACTIVE && r->state != ROUTE_ACTIVE) {
		argv = r->on_drain;
		which = "on_drain";
	} else if (from != ROUTE_ACTIVE && r->state == ROUTE_ACTIVE) {
		argv = r->on_undrain;
		which = "on_undrain";
	} else
		return;
	if (argv == NULL || hookq_fd == -1)
		return;
	j = xcalloc(1, sizeof(*j));
	j->argv = route_argv_dup(argv);
	j->which = xstrdup(which);
	j->route = xstrdup(r->name);
	j->state = xstrdup(route_state_str(r->state));
	j->actor = xstrdup(r->actor);
	j->reason = xstrdup(r->reason);
	j->timeout_ms = r->hook_timeout_ms;
	pthread_mutex_lock(&hookq_mtx);
	for (pp = &hookq; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = j;
	pthread_mutex_unlock(&hookq_mtx);
	if (write(hookq_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("route %s: cannot wake the loop for %s", r->name,
		    which);
}

static void
route_hook_job_free(struct route_hook_job *j)
{
	config_free_argv(j->argv);
	free(j->which);
	free(j->route);
	free(j->state);
	free(j->actor);
	free(j->reason);
	free(j);
}

/* Loop thread: a hook finished; the keeper audits it off the loop. */
static void
route_hook_done(void *arg, const char *route, const char *which, int ok,
    const char *detail)
{
	struct route_audit_job	*j, **pp;

	j = xcalloc(1, sizeof(*j));
	j->route = xstrdup(route);
	j->detail = xstrdup(detail);
	j->ok = ok;
	pthread_mutex_lock(&keeper_mtx);
	for (pp = &keeper_jobs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = j;
	keeper_kick = 1;
	pthread_cond_signal(&keeper_cond);
	pthread_mutex_unlock(&keeper_mtx);
}

static void
route_hookq_event(int fd, uint32_t events, void *arg)
{
	struct route_hook_job	*list, *j;
	struct hook_spec	 hs;
	uint64_t		 v;

	if (read(fd, &v, sizeof(v)) != sizeof(v) && errno != EAGAIN)
		log_warn("%s: read", __func__);
	pthread_mutex_lock(&hookq_mtx);
	list = hookq;
	hookq = NULL;
	pthread_mutex_unlock(&hookq_mtx);
	while ((j = list) != NULL) {
		list = j->next;
		memset(&hs, 0, sizeof(hs));
		hs.argv = j->argv;
		hs.which = j->which;
		hs.route = j->route;
		hs.state = j->state;
		hs.actor = j->actor;
		hs.reason = j->reason;
		hs.timeout_ms = j->timeout_ms;
		hook_run(&hs, route_hook_done, NULL);
		route_hook_job_free(j);
	}
}

/*
 * Commits r's next state (or forgets the route) with its audit row in one
 * transaction on route_db.  Under route_wmtx, not route_mtx.
 */
static int
route_commit(const char *name, const struct route_next *n, int forget,
    const struct audit_entry *ae, int64_t *audit_id, char *msg, size_t len)
{
	sqlite3_stmt	*st = NULL;
	char		 err[512];
	int64_t		 id = 0;
	int		 rc = -1, intx = 0;

	err[0] = '\0';
	if (route_db == NULL) {
		snprintf(err, sizeof(err), "no database connection");
		goto fail;
	}
	if (sqlite3_exec(route_db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto dberr;
	intx = 1;
	if (forget) {
		if (sqlite3_prepare_v2(route_db, "DELETE FROM route_state "
		    "WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
			goto dberr;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	} else {
		if (sqlite3_prepare_v2(route_db, "INSERT OR REPLACE INTO "
		    "route_state (name, state, reason, actor, operator, "
		    "since_ms, expires_ms, forced) VALUES (?, ?, ?, ?, ?, ?, "
		    "?, ?)", -1, &st, NULL) != SQLITE_OK)
			goto dberr;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, route_state_str(n->state), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 3, n->reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, n->actor, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, n->operator, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, n->since_ms);
		if (n->expires_ms > 0)
			sqlite3_bind_int64(st, 7, n->expires_ms);
		else
			sqlite3_bind_null(st, 7);
		sqlite3_bind_int(st, 8, n->forced);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (audit_insert(route_db, ae, &id, err, sizeof(err)) == -1)
		goto fail;
	if (sqlite3_exec(route_db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto dberr;
	intx = 0;
	rc = 0;
	goto done;
dberr:
	snprintf(err, sizeof(err), "%s", sqlite3_errmsg(route_db));
fail:
	snprintf(msg, len, "the change could not be recorded, nothing was "
	    "changed: %s", err);
	log_warnx("route %s: %s %s refused: %s", name, ae->action,
	    forget ? "(forget)" : route_state_str(n->state), err);
done:
	sqlite3_finalize(st);
	if (intx)
		(void)sqlite3_exec(route_db, "ROLLBACK", NULL, NULL, NULL);
	if (rc == 0) {
		audit_committed(ae, id);
		if (audit_id != NULL)
			*audit_id = id;
	}
	return rc;
}

/* Under route_mtx: takes the committed state into memory. */
static void
route_apply(struct route *r, const struct route_next *n)
{
	enum route_state	from = r->state;
	enum route_effective	eff = route_eff(r);

	/* copies first: n may point into r itself */
	char	*reason = xstrdup(n->reason);
	char	*actor = xstrdup(n->actor);
	char	*oper = xstrdup(n->operator);

	free(r->reason);
	free(r->actor);
	free(r->operator);
	r->reason = reason;
	r->actor = actor;
	r->operator = oper;
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
	route_queue_hook(r, from);
	route_bump();
}

static void
route_detail(struct buf *b, enum route_state to, int64_t ttl_s,
    const char *forced, const char *reason)
{
	char	dur[64];

	buf_adds(b, route_state_str(to));
	if (ttl_s > 0)
		buf_printf(b, ", ttl %s", parse_fmt_duration(ttl_s * 1000, dur,
		    sizeof(dur)));
	if (forced != NULL)
		buf_printf(b, ", forced: %s", forced);
	buf_printf(b, ": %s", reason);
}

static int
route_change(const char *name, const struct route_request *rq, int drain,
    struct buf *out, char *msg, size_t msglen)
{
	struct route		*r;
	const struct route_pool	*pool;
	struct route_next	 n;
	struct audit_entry	 ae;
	struct buf		 detail;
	char			 guard[256], err[256];
	int64_t			 now = clock_wall_ms(), audit_id = 0;
	int			 status = 200, tripped = 0;

	buf_init(&detail);
	guard[0] = '\0';
	memset(&ae, 0, sizeof(ae));
	ae.actor = rq->actor;
	ae.role = rq->role;
	ae.operator_hdr = rq->operator_hdr;
	ae.source = rq->source;
	ae.action = drain ? "drain" : "undrain";
	ae.target = name;

	pthread_mutex_lock(&route_wmtx);
	pthread_mutex_lock(&route_mtx);
	if ((r = route_find(name)) == NULL) {
		pthread_mutex_unlock(&route_mtx);
		snprintf(msg, msglen, "route '%s' is not defined", name);
		status = 404;
		goto done;
	}
	memset(&n, 0, sizeof(n));
	n.reason = rq->reason != NULL ? rq->reason : "";
	n.actor = rq->actor != NULL ? rq->actor : "";
	n.operator = rq->operator_hdr != NULL ? rq->operator_hdr : "";
	if (drain) {
		n.state = rq->mode == ROUTE_MAINT ? ROUTE_MAINT :
		    ROUTE_DRAINING;
		n.expires_ms = rq->ttl_s > 0 ? now + rq->ttl_s * 1000 : 0;
		/* Only a route taking traffic now can weaken its pool. */
		pool = route_find_pool(r->pool);
		if (pool != NULL && route_eff(r) == ROUTE_EFF_READY) {
			int left = route_pool_active(pool->name, r);

			if (left < pool->min_active) {
				tripped = 1;
				snprintf(guard, sizeof(guard), "pool %s would "
				    "keep %d active route%s, min_active is %d",
				    pool->name, left, left == 1 ? "" : "s",
				    pool->min_active);
			}
		}
		n.forced = (tripped && rq->force) ||
		    (r->state != ROUTE_ACTIVE && r->forced);
	} else {
		n.state = ROUTE_ACTIVE;
		n.expires_ms = 0;
		n.forced = 0;
	}
	/* A new reason or ttl for the same state keeps its start time. */
	n.since_ms = r->state == n.state ? r->since_ms : now;
	pthread_mutex_unlock(&route_mtx);

	if (tripped && !rq->force) {
		snprintf(msg, msglen, "%s (use force)", guard);
		buf_printf(&detail, "%s: %s", guard, n.reason);
		ae.detail = detail.data;
		ae.result = "refused";
		(void)audit_append(&ae, NULL, err, sizeof(err));
		status = 409;
		goto done;
	}
	if (drain)
		route_detail(&detail, n.state, rq->ttl_s, tripped ? guard :
		    NULL, n.reason);
	else {
		if (r->state == ROUTE_ACTIVE)
			buf_adds(&detail, "already active");
		else
			buf_printf(&detail, "active (was %s)",
			    route_state_str(r->state));
		buf_printf(&detail, ": %s", n.reason);
	}
	ae.detail = detail.data;
	ae.result = tripped ? "forced" : "ok";
	if (route_commit(name, &n, 0, &ae, &audit_id, msg, msglen) == -1) {
		status = 503;
		goto done;
	}
	pthread_mutex_lock(&route_mtx);
	route_apply(r, &n);
	buf_adds(out, "{\"route\":");
	route_json_one(out, r);
	buf_printf(out, ",\"audit_id\":%" PRId64 "}", audit_id);
	pthread_mutex_unlock(&route_mtx);
	keeper_wake();
done:
	pthread_mutex_unlock(&route_wmtx);
	buf_free(&detail);
	return status;
}

int
route_drain(const char *name, const struct route_request *rq,
    struct buf *out, char *msg, size_t msglen)
{
	return route_change(name, rq, 1, out, msg, msglen);
}

int
route_undrain(const char *name, const struct route_request *rq,
    struct buf *out, char *msg, size_t msglen)
{
	return route_change(name, rq, 0, out, msg, msglen);
}

/*
 * Keeper: performs the ttl expiries and drain_timeouts that are due and
 * returns when the next one falls due (wall clock ms).
 */
static int64_t
route_run_due(void)
{
	struct route		*r;
	struct route_next	 n;
	struct audit_entry	 ae;
	struct buf		 detail;
	char			 msg[512], dur[64], *name = NULL;
	char			*reason = NULL;
	int64_t			 now, next;
	int			 i, expire;

	buf_init(&detail);
	pthread_mutex_lock(&route_wmtx);
	for (;;) {
		now = clock_wall_ms();
		next = now + ROUTE_KEEPER_IDLE_MS;
		r = NULL;
		expire = 0;
		pthread_mutex_lock(&route_mtx);
		for (i = 0; i < n_routes; i++) {
			struct route	*c = routes[i];
			int64_t		 due_t = 0, due_e = 0, due;

			if (c->expires_ms > 0)
				due_e = c->expires_ms;
			if (c->state == ROUTE_DRAINING &&
			    c->drain_timeout_ms > 0)
				due_t = c->since_ms + c->drain_timeout_ms;
			if (due_e == 0 && due_t == 0)
				continue;
			/* the earlier of the two; expiry on a tie */
			due = due_e != 0 && (due_t == 0 || due_e <= due_t) ?
			    due_e : due_t;
			if (c->retry_ms > due)
				due = c->retry_ms;
			if (due <= now && r == NULL) {
				r = c;
				expire = due_e != 0 && (due_t == 0 ||
				    due_e <= due_t);
			} else if (due > now && due < next)
				next = due;
		}
		if (r == NULL) {
			pthread_mutex_unlock(&route_mtx);
			break;
		}
		free(name);
		free(reason);
		name = xstrdup(r->name);
		reason = xstrdup(r->reason);
		memset(&n, 0, sizeof(n));
		memset(&ae, 0, sizeof(ae));
		buf_reset(&detail);
		n.actor = "system";
		n.operator = "";
		n.since_ms = now;
		if (expire) {
			n.state = ROUTE_ACTIVE;
			n.reason = "ttl expired";
			n.expires_ms = 0;
			n.forced = 0;
			buf_printf(&detail, "ttl ended, active (was %s since "
			    "%s ago: %s)", route_state_str(r->state),
			    parse_fmt_duration(now - r->since_ms, dur,
			    sizeof(dur)), r->reason);
			ae.action = "expire";
		} else {
			n.state = ROUTE_MAINT;
			n.reason = reason;
			n.expires_ms = r->expires_ms;
			n.forced = r->forced;
			buf_printf(&detail, "draining for %s (drain_timeout), "
			    "now maint: %s", parse_fmt_duration(
			    r->drain_timeout_ms, dur, sizeof(dur)), r->reason);
			ae.action = "drain_timeout";
		}
		pthread_mutex_unlock(&route_mtx);

		ae.actor = "system";
		ae.role = "system";
		ae.operator_hdr = "";
		ae.source = "agent";
		ae.target = name;
		ae.detail = detail.data;
		ae.result = "ok";
		if (route_commit(name, &n, 0, &ae, NULL, msg,
		    sizeof(msg)) == -1) {
			pthread_mutex_lock(&route_mtx);
			/* still there: a reload may have dropped it */
			if ((r = route_find(name)) != NULL)
				r->retry_ms = now + ROUTE_RETRY_MS;
			pthread_mutex_unlock(&route_mtx);
			continue;
		}
		pthread_mutex_lock(&route_mtx);
		if ((r = route_find(name)) != NULL)
			route_apply(r, &n);
		pthread_mutex_unlock(&route_mtx);
	}
	pthread_mutex_unlock(&route_wmtx);
	buf_free(&detail);
	free(name);
	free(reason);
	return next;
}

static void
route_audit_hook(struct route_audit_job *j)
{
	struct audit_entry	ae;
	char			err[256];

	memset(&ae, 0, sizeof(ae));
	ae.actor = "system";
	ae.role = "system";
	ae.operator_hdr = "";
	ae.source = "agent";
	ae.action = "hook";
	ae.target = j->route;
	ae.detail = j->detail;
	ae.result = j->ok ? "ok" : "failed";
	(void)audit_append(&ae, NULL, err, sizeof(err));
}

static void
route_audit_jobs(void)
{
	struct route_audit_job	*list, *j;

	pthread_mutex_lock(&keeper_mtx);
	list = keeper_jobs;
	keeper_jobs = NULL;
	pthread_mutex_unlock(&keeper_mtx);
	while ((j = list) != NULL) {
		list = j->next;
		route_audit_hook(j);
		free(j->route);
		free(j->detail);
		free(j);
	}
}

static void *
route_keeper(void *arg)
{
	struct timespec	ts;
	int64_t		next;

	for (;;) {
		route_audit_jobs();
		next = route_run_due();
		pthread_mutex_lock(&keeper_mtx);
		if (!keeper_run) {
			pthread_mutex_unlock(&keeper_mtx);
			break;
		}
		if (!keeper_kick && keeper_jobs == NULL) {
			ts.tv_sec = next / 1000;
			ts.tv_nsec = (next % 1000) * 1000000;
			(void)pthread_cond_timedwait(&keeper_cond, &keeper_mtx,
			    &ts);
		}
		keeper_kick = 0;
		pthread_mutex_unlock(&keeper_mtx);
	}
	/* hooks killed at shutdown still get their rows */
	route_audit_jobs();
	return NULL;
}

/* Builds the route list of conf, keeping the state of routes in old. */
static struct route **
route_build(struct config *conf, struct route **old, int n_old)
{
	struct route	**nr;
	int		  i, j;
	int64_t		  now = clock_wall_ms();

	nr = xcalloc((size_t)conf->n_routes + 1, sizeof(*nr));
	for (i = 0; i < conf->n_routes; i++) {
		struct route *r = route_new(conf->routes[i], now);

		for (j = 0; j < n_old; j++) {
			struct route *o = old[j];

			if (o == NULL || strcmp(o->name, r->name) != 0)
				continue;
			r->state = o->state;
			free(r->reason);
			free(r->actor);
			free(r->operator);
			r->reason = xstrdup(o->reason);
			r->actor = xstrdup(o->actor);
			r->operator = xstrdup(o->operator);
			r->since_ms = o->since_ms;
			r->expires_ms = o->expires_ms;
			r->forced = o->forced;
			r->changes = o->changes;
			/* same probe: keep its state until the next tick */
			if (r->probe != NULL && o->probe != NULL &&
			    strcmp(r->probe, o->probe) == 0)
				r->probe_state = o->probe_state;
			break;
		}
		nr[i] = r;
	}
	return nr;
}

static void
route_set_pools(struct config *conf)
{
	int	i;

	for (i = 0; i < n_pools; i++)
		free(pools[i].name);
	free(pools);
	pools = xcalloc((size_t)conf->n_pools + 1, sizeof(*pools));
	for (i = 0; i < conf->n_pools; i++) {
		pools[i].name = xstrdup(conf->pools[i]->name);
		pools[i].min_active = conf->pools[i]->min_active;
	}
	n_pools = conf->n_pools;
}

/*
 * A route that left the config is forgotten, so a later re-add starts
 * active.  Forgetting a drained route puts its backend back in service
 * on such a re-add, so that is audited; an active one carries nothing
 * worth a row.  Under route_wmtx, not route_mtx.
 */
static void
route_forget(const char *name, const char *state, const char *reason)
{
	struct audit_entry	 ae;
	struct buf		 detail;
	sqlite3_stmt		*st = NULL;
	char			 msg[512];

	if (strcmp(state, "active") == 0) {
		if (sqlite3_prepare_v2(route_db, "DELETE FROM route_state "
		    "WHERE name = ?", -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) !=
		    SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
			log_warnx("route %s: cannot forget: %s", name,
			    sqlite3_errmsg(route_db));
		sqlite3_finalize(st);
		return;
	}
	buf_init(&detail);
	buf_printf(&detail, "removed from the config while %s: %s", state,
	    reason);
	memset(&ae, 0, sizeof(ae));
	ae.actor = "system";
	ae.role = "system";
	ae.operator_hdr = "";
	ae.source = "agent";
	ae.action = "forget";
	ae.target = name;
	ae.detail = detail.data;
	ae.result = "ok";
	if (route_commit(name, NULL, 1, &ae, NULL, msg, sizeof(msg)) == -1)
		log_warnx("route %s: %s", name, msg);
	buf_free(&detail);
}

/* Reads the committed states; rows of routes no longer defined go. */
static int
route_load(char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	struct buf	 gone;		/* "name\0state\0reason\0"... */
	size_t		 off;
	int		 src, rc = -1;

	buf_init(&gone);
	if (sqlite3_prepare_v2(route_db, "SELECT name, state, reason, actor, "
	    "operator, since_ms, expires_ms, forced FROM route_state", -1, &st,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "route state: %s",
		    sqlite3_errmsg(route_db));
		goto fail;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char	*name = (const char *)sqlite3_column_text(st, 0);
		const char	*state = (const char *)sqlite3_column_text(st, 1);
		const char	*reason = (const char *)sqlite3_column_text(st, 2);
		enum route_state s;
		struct route	*r;

		if (name == NULL || state == NULL ||
		    route_state_parse(state, &s) == -1)
			continue;
		if (reason == NULL)
			reason = "";
		if ((r = route_find(name)) == NULL) {
			buf_add(&gone, name, strlen(name) + 1);
			buf_add(&gone, state, strlen(state) + 1);
			buf_add(&gone, reason, strlen(reason) + 1);
			continue;
		}
		r->state = s;
		free(r->reason);
		free(r->actor);
		free(r->operator);
		r->reason = xstrdup(reason);
		r->actor = route_strdup((const char *)sqlite3_column_text(st,
		    3));
		r->operator = route_strdup((const char *)sqlite3_column_text(
		    st, 4));
		r->since_ms = sqlite3_column_int64(st, 5);
		r->expires_ms = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 :
		    sqlite3_column_int64(st, 6);
		r->forced = sqlite3_column_int(st, 7) != 0;
		if (s != ROUTE_ACTIVE)
			log_info("route %s: %s since %" PRId64 " (kept across "
			    "restart): %s", r->name, state, r->since_ms,
			    r->reason);
	}
	if (src != SQLITE_DONE) {
		snprintf(err, errlen, "route state: %s",
		    sqlite3_errmsg(route_db));
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (off = 0; off < gone.len;) {
		const char *name = gone.data + off;
		const char *state = name + strlen(name) + 1;
		const char *reason = state + strlen(state) + 1;

		route_forget(name, state, reason);
		off = (size_t)(reason + strlen(reason) + 1 - gone.data);
	}
	rc = 0;
fail:
	sqlite3_finalize(st);
	buf_free(&gone);
	return rc;
}

int
route_start(struct config *conf, char *err, size_t errlen)
{
	if (vd == NULL || vd->store == NULL) {
		snprintf(err, errlen, "the store is not open");
		return -1;
	}
	if ((route_db = store_connect(vd->store, 0, err, errlen)) == NULL)
		return -1;
	pthread_mutex_lock(&route_wmtx);
	pthread_mutex_lock(&route_mtx);
	routes = route_build(conf, NULL, 0);
	n_routes = conf->n_routes;
	route_set_pools(conf);
	pthread_mutex_unlock(&route_mtx);
	if (route_load(err, errlen) == -1) {
		pthread_mutex_unlock(&route_wmtx);
		route_stop();
		return -1;
	}
	pthread_mutex_unlock(&route_wmtx);

	if ((hookq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    loop_fd_add(hookq_fd, EPOLLIN, route_hookq_event, NULL) == -1) {
		snprintf(err, errlen, "route hooks: %s", strerror(errno));
		route_stop();
		return -1;
	}
	keeper_run = 1;
	if (pthread_create(&keeper_thr, NULL, route_keeper, NULL) != 0) {
		snprintf(err, errlen, "route keeper thread: %s",
		    strerror(errno));
		keeper_run = 0;
		route_stop();
		return -1;
	}
	keeper_started = 1;
	route_probe_dirty = 1;
	route_bump();
	return 0;
}

/*
 * A reload takes effect in two steps: route_reconfigure() notes the new
 * config, and the next tick applies it once vantaged.c has made it the
 * current one (every part accepted the reload), or drops it.  So a
 * reload that another part refuses never changes the routes.  Loop
 * thread.
 */
static void
route_promote(void)
{
	struct config	 *conf = route_pending;
	struct route	**nr, **old;
	int		  n_old, i;

	if (conf == NULL)
		return;
	route_pending = NULL;
	if (vd == NULL || vd->conf != conf)
		return;		/* refused: it is freed already */
	pthread_mutex_lock(&route_wmtx);
	pthread_mutex_lock(&route_mtx);
	nr = route_build(conf, routes, n_routes);
	old = routes;
	n_old = n_routes;
	routes = nr;
	n_routes = conf->n_routes;
	route_set_pools(conf);
	pthread_mutex_unlock(&route_mtx);
	/* old is ours now; nr cannot change while we hold route_wmtx */
	for (i = 0; i < n_old; i++) {
		struct route *o = old[i];

		if (route_find(o->name) == NULL)
			route_forget(o->name, route_state_str(o->state),
			    o->reason);
		route_free(o);
	}
	free(old);
	pthread_mutex_unlock(&route_wmtx);
	route_probe_dirty = 1;
	route_bump();
	keeper_wake();
}

int
route_reconfigure(struct config *conf, char *err, size_t errlen)
{
	route_promote();	/* an earlier reload in this same turn */
	route_pending = conf;
	return 0;
}

void
route_stop(void)
{
	struct route_hook_job	*j;
	int			 i;

	route_pending = NULL;
	/* hooks first: their results go to the keeper, which audits them */
	hook_stop_all();
	if (keeper_started) {
		pthread_mutex_lock(&keeper_mtx);
		keeper_run = 0;
		keeper_kick = 1;
		pthread_cond_signal(&keeper_cond);
		pthread_mutex_unlock(&keeper_mtx);
		pthread_join(keeper_thr, NULL);
		keeper_started = 0;
	}
	if (hookq_fd != -1) {
		loop_fd_del(hookq_fd);
		close(hookq_fd);
		hookq_fd = -1;
	}
	pthread_mutex_lock(&hookq_mtx);
	while ((j = hookq) != NULL) {
		hookq = j->next;
		route_hook_job_free(j);
	}
	pthread_mutex_unlock(&hookq_mtx);
	pthread_mutex_lock(&route_wmtx);
	pthread_mutex_lock(&route_mtx);
	for (i = 0; i < n_routes; i++)
		route_free(routes[i]);
	free(routes);
	routes = NULL;
	n_routes = 0;
	for (i = 0; i < n_pools; i++)
		free(pools[i].name);
	free(pools);
	pools = NULL;
	n_pools = 0;
	pthread_mutex_unlock(&route_mtx);
	if (route_db != NULL)
		sqlite3_close(route_db);
	route_db = NULL;
	pthread_mutex_unlock(&route_wmtx);
}

void
route_tick(void)
{
	struct probe	**ps;
	int		  n, i, j, changed = 0;

	route_promote();
	if (!route_probe_dirty && probe_engine_state_gen() == route_probe_gen)
		return;
	route_probe_dirty = 0;
	route_probe_gen = probe_engine_state_gen();
	ps = probe_engine_probes(&n);
	pthread_mutex_lock(&route_mtx);
	for (i = 0; i < n_routes; i++) {
		struct route		*r = routes[i];
		enum probe_state	 st = STATE_UNKNOWN;
		enum route_effective	 before;

		if (r->probe == NULL)
			continue;
		for (j = 0; j < n; j++) {
			if (ps[j] != NULL &&
			    strcmp(ps[j]->conf->name, r->probe) == 0) {
				st = ps[j]->state;
				break;
			}
		}
		if (st == r->probe_state)
			continue;
		before = route_eff(r);
		r->probe_state = st;
		if (before != route_eff(r)) {
			log_info("route %s: %s -> %s (probe %s is %s)",
			    r->name, route_effective_str(before),
			    route_effective_str(route_eff(r)), r->probe,
			    probe_state_str(st));
			changed = 1;
		}
	}
	pthread_mutex_unlock(&route_mtx);
	if (changed)
		route_bump();
}
