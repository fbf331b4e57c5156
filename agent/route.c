/*
 * route.c - the routes an agent controls: the table built from the config
 * with each route's committed operator state, the pools, the effective
 * state a load balancer is told (ready, drain, maint, down), and the
 * module's lifecycle.
 *
 * The parts: route_state.c decides and commits operator changes,
 * route_sql.c keeps them in SQLite, route_keeper.c does what falls due by
 * itself (ttl expiry, drain_timeout) and swaps reloads in, route_hook.c
 * runs the hooks.  JSON and metrics are rendered by api_routes.c and
 * api_metrics.c from route_list().
 *
 * Threads and locks.  The writer lock orders writers and is held across
 * a commit; the state lock guards the tables in memory and is only ever
 * held for a moment, so an agent-check answer never waits behind a
 * commit.  Order: writer lock, then state lock.  The loop thread takes
 * only the state lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vantaged.h"

static pthread_mutex_t	 route_wmtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t	 route_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct route	**routes;
static int		  n_routes;
static struct route_pool *pools;
static int		  n_pools;
static _Atomic uint64_t	  route_genv = 1;

static struct config	*route_pending;		/* loop thread */
static _Atomic uint64_t	 route_reloads_asked, route_reloads_done;
static _Atomic int	 route_probe_dirty = 1;
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

int
route_state_parse(const char *s, enum route_state *out)
{
	static const enum route_state all[] = { ROUTE_ACTIVE, ROUTE_DRAINING,
	    ROUTE_MAINT };
	size_t	i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, route_state_str(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

uint64_t
route_gen(void)
{
	return atomic_load(&route_genv);
}

void
route_bump(void)
{
	atomic_fetch_add(&route_genv, 1);
	/* a swapped-in table needs the probes' states copied again */
	atomic_store(&route_probe_dirty, 1);
}

/* Maint wins over a down probe: the operator took it out already. */
enum route_effective
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

void
route_lock(void)
{
	pthread_mutex_lock(&route_mtx);
}

void
route_unlock(void)
{
	pthread_mutex_unlock(&route_mtx);
}

void
route_wlock(void)
{
	pthread_mutex_lock(&route_wmtx);
}

int
route_wlock_timed(int64_t timeout_ms)
{
	struct timespec	ts;

	clock_wall_after(&ts, timeout_ms * 1000);
	return pthread_mutex_timedlock(&route_wmtx, &ts) == 0 ? 0 : -1;
}

void
route_wunlock(void)
{
	pthread_mutex_unlock(&route_wmtx);
}

char **
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

void
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
	free(r->key);
	free(r->batch);
	free(r);
}

void
route_free_pools(struct route_pool *p, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		free(p[i].name);
	free(p);
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
	r->key = xstrdup("");
	r->batch = xstrdup("");
	r->since_ms = now;
	r->probe_state = STATE_UNKNOWN;
	return r;
}

struct route *
route_find(const char *name)
{
	int	i;

	for (i = 0; i < n_routes; i++) {
		if (strcmp(routes[i]->name, name) == 0)
			return routes[i];
	}
	return NULL;
}

const struct route_pool *
route_find_pool(const char *name)
{
	int	i;

	for (i = 0; name != NULL && i < n_pools; i++) {
		if (strcmp(pools[i].name, name) == 0)
			return &pools[i];
	}
	return NULL;
}

struct route **
route_list(int *n)
{
	*n = n_routes;
	return routes;
}

const struct route_pool *
route_pools(int *n)
{
	*n = n_pools;
	return pools;
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

void
route_take_state(struct route *r, const struct route *o)
{
	r->state = o->state;
	free(r->reason);
	free(r->actor);
	free(r->operator);
	free(r->key);
	free(r->batch);
	r->reason = xstrdup(o->reason);
	r->actor = xstrdup(o->actor);
	r->operator = xstrdup(o->operator);
	r->key = xstrdup(o->key);
	r->batch = xstrdup(o->batch);
	r->since_ms = o->since_ms;
	r->expires_ms = o->expires_ms;
	r->forced = o->forced;
	r->changes = o->changes;
	/* same probe: keep its state until the next tick */
	if (r->probe != NULL && o->probe != NULL &&
	    strcmp(r->probe, o->probe) == 0)
		r->probe_state = o->probe_state;
}

struct route **
route_build(struct config *conf, struct route **old, int n_old)
{
	struct route	**nr;
	int		  i, j;
	int64_t		  now = clock_wall_ms();

	nr = xcalloc((size_t)conf->n_routes + 1, sizeof(*nr));
	for (i = 0; i < conf->n_routes; i++) {
		nr[i] = route_new(conf->routes[i], now);
		for (j = 0; j < n_old; j++) {
			if (old[j] != NULL &&
			    strcmp(old[j]->name, nr[i]->name) == 0) {
				route_take_state(nr[i], old[j]);
				break;
			}
		}
	}
	return nr;
}

struct route_pool *
route_build_pools(struct config *conf, int *n)
{
	struct route_pool	*p;
	int			 i;

	p = xcalloc((size_t)conf->n_pools + 1, sizeof(*p));
	for (i = 0; i < conf->n_pools; i++) {
		p[i].name = xstrdup(conf->pools[i]->name);
		p[i].min_active = conf->pools[i]->min_active;
	}
	*n = conf->n_pools;
	return p;
}

void
route_swap(struct route ***rs, int *nr, struct route_pool **ps, int *np)
{
	struct route		**ro = routes;
	struct route_pool	 *po = pools;
	int			  nro = n_routes, npo = n_pools;

	routes = *rs;
	n_routes = *nr;
	pools = *ps;
	n_pools = *np;
	*rs = ro;
	*nr = nro;
	*ps = po;
	*np = npo;
}

/* Forgets the states of routes no longer defined (start only). */
static void
route_forget_gone(struct buf *gone)
{
	enum route_state	st;
	size_t			off;

	for (off = 0; off < gone->len;) {
		const char *name = gone->data + off;
		const char *state = name + strlen(name) + 1;
		const char *reason = state + strlen(state) + 1;

		off = (size_t)(reason + strlen(reason) + 1 - gone->data);
		if (route_state_parse(state, &st) == 0)
			route_sql_forget_route(name, st, reason);
	}
}

int
route_start(struct config *conf, char *err, size_t errlen)
{
	struct buf	gone;
	int		rc;

	if (route_sql_open(err, errlen) == -1)
		return -1;
	buf_init(&gone);
	pthread_mutex_lock(&route_wmtx);
	pthread_mutex_lock(&route_mtx);
	routes = route_build(conf, NULL, 0);
	n_routes = conf->n_routes;
	pools = route_build_pools(conf, &n_pools);
	pthread_mutex_unlock(&route_mtx);
	if ((rc = route_sql_load(&gone, err, errlen)) == 0)
		route_forget_gone(&gone);
	pthread_mutex_unlock(&route_wmtx);
	buf_free(&gone);
	if (rc == -1 || route_hook_start(err, errlen) == -1 ||
	    route_keeper_start(err, errlen) == -1) {
		route_stop();
		return -1;
	}
	route_bump();
	return 0;
}

/*
 * A reload takes effect in two steps: route_reconfigure() notes the new
 * config, and the next tick hands routes built from it to the keeper
 * once vantaged.c has made it the current one (every part accepted the
 * reload), or drops it.  So a reload that another part refuses never
 * changes the routes, and the loop never waits for the commit that
 * forgets a removed route.  Loop thread.
 */
static void
route_promote(void)
{
	struct config		 *conf = route_pending;
	struct route		**nr;
	struct route_pool	 *np;
	int			  n_np;

	if (conf == NULL)
		return;
	route_pending = NULL;
	if (vd == NULL || vd->conf != conf) {
		/* refused: it is freed already */
		route_promoted();
		return;
	}
	nr = route_build(conf, NULL, 0);
	np = route_build_pools(conf, &n_np);
	route_keeper_promote(nr, conf->n_routes, np, n_np);
}

int
route_reconfigure(struct config *conf, char *err, size_t errlen)
{
	route_promote();	/* an earlier reload in this same turn */
	route_pending = conf;
	atomic_fetch_add(&route_reloads_asked, 1);
	return 0;
}

void
route_promoted(void)
{
	atomic_fetch_add(&route_reloads_done, 1);
}

int
route_settled(void)
{
	return atomic_load(&route_reloads_done) >=
	    atomic_load(&route_reloads_asked);
}

void
route_stop(void)
{
	int	i;

	route_pending = NULL;
	/* hooks first: their results are audited before the audit stops */
	route_hook_stop();
	route_keeper_stop();
	pthread_mutex_lock(&route_wmtx);
	pthread_mutex_lock(&route_mtx);
	for (i = 0; i < n_routes; i++)
		route_free(routes[i]);
	free(routes);
	routes = NULL;
	n_routes = 0;
	route_free_pools(pools, n_pools);
	pools = NULL;
	n_pools = 0;
	pthread_mutex_unlock(&route_mtx);
	route_sql_close();
	pthread_mutex_unlock(&route_wmtx);
}

void
route_tick(void)
{
	struct probe	**ps;
	int		  n, i, j, changed = 0;

	route_promote();
	if (!atomic_exchange(&route_probe_dirty, 0) &&
	    probe_engine_state_gen() == route_probe_gen)
		return;
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
		atomic_fetch_add(&route_genv, 1);
}
