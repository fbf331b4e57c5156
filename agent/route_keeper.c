/*
 * route_keeper.c - the thread that changes routes by itself: a ttl that
 * ran out returns its route to active, a drain_timeout turns draining
 * into maint, a reload's new route table is merged and swapped in (a
 * removed drained route is forgotten and audited), and request keys
 * older than 24 hours are forgotten.  All of it commits, so none of it
 * runs on the loop: the loop hands reloads over with
 * route_keeper_promote() and sees the outcome as a new route_gen().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vantaged.h"

#define ROUTE_KEEPER_IDLE_MS	1000	/* longest keeper sleep */
#define ROUTE_RETRY_MS		5000	/* after a failed timed change */
#define ROUTE_TRIM_MS		600000	/* request keys trimmed this often */

/* A route table built from an accepted reload. */
struct route_promo {
	struct route_promo	*next;
	struct route		**routes;
	int			  n;
	struct route_pool	 *pools;
	int			  n_pools;
};

static pthread_mutex_t	 keeper_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 keeper_cond = PTHREAD_COND_INITIALIZER;
static pthread_t	 keeper_thr;
static int		 keeper_started, keeper_run, keeper_kick;
static struct route_promo *keeper_promos;
static int64_t		 keeper_trim_ms;

void
route_keeper_wake(void)
{
	pthread_mutex_lock(&keeper_mtx);
	keeper_kick = 1;
	pthread_cond_signal(&keeper_cond);
	pthread_mutex_unlock(&keeper_mtx);
}

void
route_keeper_promote(struct route **rs, int n, struct route_pool *ps,
    int n_pools)
{
	struct route_promo	*p, **pp;

	p = xcalloc(1, sizeof(*p));
	p->routes = rs;
	p->n = n;
	p->pools = ps;
	p->n_pools = n_pools;
	pthread_mutex_lock(&keeper_mtx);
	for (pp = &keeper_promos; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	keeper_kick = 1;
	pthread_cond_signal(&keeper_cond);
	pthread_mutex_unlock(&keeper_mtx);
}

int
route_keeper_idle(void)
{
	int	idle;

	pthread_mutex_lock(&keeper_mtx);
	idle = keeper_promos == NULL;
	pthread_mutex_unlock(&keeper_mtx);
	return idle;
}

static void
route_promo_free(struct route_promo *p)
{
	int	i;

	for (i = 0; i < p->n; i++)
		route_free(p->routes[i]);
	free(p->routes);
	route_free_pools(p->pools, p->n_pools);
	free(p);
}

/* Merges a reload's routes with the committed states and swaps them in. */
static void
route_keeper_swap(struct route_promo *p)
{
	struct route	**old;
	int		  n_old, i, j, found;

	route_wlock();
	route_lock();
	old = route_list(&n_old);
	for (i = 0; i < p->n; i++) {
		for (j = 0; j < n_old; j++) {
			if (strcmp(old[j]->name, p->routes[i]->name) == 0) {
				route_take_state(p->routes[i], old[j]);
				break;
			}
		}
	}
	route_swap(&p->routes, &p->n, &p->pools, &p->n_pools);
	route_unlock();
	/* p holds the old table now; nothing changes it under the wlock */
	for (i = 0; i < p->n; i++) {
		route_lock();
		found = route_find(p->routes[i]->name) != NULL;
		route_unlock();
		if (!found)
			route_sql_forget_route(p->routes[i]->name,
			    p->routes[i]->state, p->routes[i]->reason);
	}
	route_wunlock();
	route_bump();
	log_debug("routes: reload taken (%d routes)", n_old);
	route_promo_free(p);
	route_promoted();
}

/*
 * Performs the ttl expiries and drain_timeouts that are due and returns
 * when the next one falls due (wall clock ms).
 */
static int64_t
route_keeper_due(void)
{
	struct route		*r, **rs;
	struct route_next	 n;
	struct audit_entry	 ae;
	struct buf		 detail;
	char			 msg[512], dur[64], *name = NULL;
	char			*reason = NULL;
	const char		*action;
	int64_t			 now, next;
	int			 i, nr, expire;

	buf_init(&detail);
	route_wlock();
	for (;;) {
		now = clock_wall_ms();
		next = now + ROUTE_KEEPER_IDLE_MS;
		r = NULL;
		expire = 0;
		route_lock();
		rs = route_list(&nr);
		for (i = 0; i < nr; i++) {
			struct route	*c = rs[i];
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
			route_unlock();
			break;
		}
		free(name);
		free(reason);
		name = xstrdup(r->name);
		reason = xstrdup(r->reason);
		memset(&n, 0, sizeof(n));
		buf_reset(&detail);
		n.actor = "system";
		n.operator = "";
		n.key = "";
		n.batch = "";
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
			action = "expire";
		} else {
			n.state = ROUTE_MAINT;
			n.reason = reason;
			n.expires_ms = r->expires_ms;
			n.forced = r->forced;
			buf_printf(&detail, "draining for %s (drain_timeout), "
			    "now maint: %s", parse_fmt_duration(
			    r->drain_timeout_ms, dur, sizeof(dur)), r->reason);
			action = "drain_timeout";
		}
		route_unlock();

		audit_system(&ae, "agent", action, name, detail.data, "ok");
		if (route_sql_system(name, &n, 0, &ae, msg, sizeof(msg)) ==
		    -1) {
			route_lock();
			/* still there: a reload may have dropped it */
			if ((r = route_find(name)) != NULL)
				r->retry_ms = now + ROUTE_RETRY_MS;
			route_unlock();
			continue;
		}
		route_lock();
		if ((r = route_find(name)) != NULL)
			route_state_apply(r, &n);
		route_unlock();
	}
	route_wunlock();
	buf_free(&detail);
	free(name);
	free(reason);
	return next;
}

/*
 * Forgets request keys older than 24 h, a chunk per transaction with the
 * writer lock let go between chunks, so drains never wait long behind it.
 */
static void
route_keeper_trim(void)
{
	int64_t	now = clock_wall_ms();
	int	n, total = 0;

	if (now < keeper_trim_ms)
		return;
	keeper_trim_ms = now + ROUTE_TRIM_MS;
	do {
		route_wlock();
		n = route_sql_trim_requests(now);
		route_wunlock();
		if (n > 0)
			total += n;
	} while (n == ROUTE_SQL_TRIM_ROWS);
	if (n == -1)
		log_warnx("routes: cannot forget old request keys");
	else if (total > 0)
		log_debug("routes: forgot %d request keys older than 24 h",
		    total);
}

static void *
route_keeper(void *arg)
{
	struct route_promo	*p;
	struct timespec		 ts;
	int64_t			 next;

	for (;;) {
		pthread_mutex_lock(&keeper_mtx);
		while ((p = keeper_promos) != NULL) {
			keeper_promos = p->next;
			pthread_mutex_unlock(&keeper_mtx);
			route_keeper_swap(p);
			pthread_mutex_lock(&keeper_mtx);
		}
		pthread_mutex_unlock(&keeper_mtx);
		next = route_keeper_due();
		route_keeper_trim();
		pthread_mutex_lock(&keeper_mtx);
		if (!keeper_run) {
			pthread_mutex_unlock(&keeper_mtx);
			break;
		}
		if (!keeper_kick && keeper_promos == NULL) {
			ts.tv_sec = next / 1000;
			ts.tv_nsec = (next % 1000) * 1000000;
			(void)pthread_cond_timedwait(&keeper_cond, &keeper_mtx,
			    &ts);
		}
		keeper_kick = 0;
		pthread_mutex_unlock(&keeper_mtx);
	}
	return NULL;
}

int
route_keeper_start(char *err, size_t errlen)
{
	keeper_run = 1;
	keeper_trim_ms = 0;
	if (pthread_create(&keeper_thr, NULL, route_keeper, NULL) != 0) {
		snprintf(err, errlen, "route keeper thread: %s",
		    strerror(errno));
		keeper_run = 0;
		return -1;
	}
	keeper_started = 1;
	return 0;
}

void
route_keeper_stop(void)
{
	struct route_promo	*p;

	if (keeper_started) {
		pthread_mutex_lock(&keeper_mtx);
		keeper_run = 0;
		keeper_kick = 1;
		pthread_cond_signal(&keeper_cond);
		pthread_mutex_unlock(&keeper_mtx);
		pthread_join(keeper_thr, NULL);
		keeper_started = 0;
	}
	pthread_mutex_lock(&keeper_mtx);
	while ((p = keeper_promos) != NULL) {
		keeper_promos = p->next;
		route_promo_free(p);
		route_promoted();
	}
	pthread_mutex_unlock(&keeper_mtx);
}
