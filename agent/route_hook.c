/*
 * route_hook.c - on_drain / on_undrain: a route leaving or rejoining
 * service queues its hook here (from whichever thread committed the
 * change); the loop thread starts it (hook.c runs it without a shell) and
 * its exit status goes to the audit log through the audit writer, so the
 * loop never waits for the disk.
 *
 * Order.  The hooks of one route run one at a time, in the order of the
 * changes.  While one runs, only the newest transition waits: an older
 * waiting one is skipped (and audited as such), so the last hook to
 * finish always matches the route's final state, and a route flipped 30
 * times runs at most two hooks, not 30 at once.  A waiting hook that is
 * the same as the one that just succeeded is skipped too.  At most
 * ROUTE_HOOK_MAX hooks of all routes run at once; the others wait their
 * turn in the order they came.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vantaged.h"

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

/* One route's hooks, on the loop thread. */
struct route_hook_slot {
	struct route_hook_slot	*next;
	char			*route;
	int			 running;
	struct route_hook_job	*pending;	/* the newest waiting change */
	uint64_t		 pending_seq;	/* when it came (fairness) */
	char			*done_which;	/* the last hook that ended */
	int			 done_ok;
};

#define ROUTE_HOOK_MAX		16	/* hooks of all routes at once */

static pthread_mutex_t	 hookq_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct route_hook_job *hookq;
static int		 hookq_fd = -1;		/* eventfd: wakes the loop */

static struct route_hook_slot *slots;		/* loop thread */
static int		 slots_running;
static uint64_t		 slots_seq;
static int		 slots_pumping, slots_stopping;

void
route_hook_queue(const struct route *r, enum route_state from)
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

static void
route_hook_audit(const char *route, const char *detail, const char *result)
{
	struct audit_entry	ae;

	audit_system(&ae, "agent", "hook", route, detail, result);
	audit_post(&ae);
}

/* A waiting hook that will not run, said in the audit log. */
static void
route_hook_skip(struct route_hook_job *j, const char *why)
{
	struct buf	detail;

	buf_init(&detail);
	buf_printf(&detail, "%s (route %s) not run: %s", j->which, j->state,
	    why);
	log_info("route %s: %s", j->route, detail.data);
	route_hook_audit(j->route, detail.data, "skipped");
	buf_free(&detail);
	route_hook_job_free(j);
}

static struct route_hook_slot *
route_hook_slot(const char *route)
{
	struct route_hook_slot	*sl;

	for (sl = slots; sl != NULL; sl = sl->next) {
		if (strcmp(sl->route, route) == 0)
			return sl;
	}
	sl = xcalloc(1, sizeof(*sl));
	sl->route = xstrdup(route);
	sl->next = slots;
	slots = sl;
	return sl;
}

static void	route_hook_pump(void);

/* Loop thread: a hook finished; its row goes to the audit writer. */
static void
route_hook_done(void *arg, const char *route, const char *which, int ok,
    const char *detail)
{
	struct route_hook_slot	*sl = arg;

	route_hook_audit(route, detail, ok ? "ok" : "failed");
	sl->running = 0;
	slots_running--;
	free(sl->done_which);
	sl->done_which = xstrdup(which);
	sl->done_ok = ok;
	route_hook_pump();
}

static void
route_hook_start_one(struct route_hook_slot *sl)
{
	struct route_hook_job	*j = sl->pending;
	struct hook_spec	 hs;

	sl->pending = NULL;
	if (sl->done_which != NULL && sl->done_ok &&
	    strcmp(sl->done_which, j->which) == 0) {
		route_hook_skip(j, "the same hook just succeeded");
		return;
	}
	memset(&hs, 0, sizeof(hs));
	hs.argv = j->argv;
	hs.which = j->which;
	hs.route = j->route;
	hs.state = j->state;
	hs.actor = j->actor;
	hs.reason = j->reason;
	hs.timeout_ms = j->timeout_ms;
	sl->running = 1;
	slots_running++;
	/* may finish (and re-enter the pump) before it returns */
	hook_run(&hs, route_hook_done, sl);
	route_hook_job_free(j);
}

/* Starts waiting hooks, oldest first, within ROUTE_HOOK_MAX. */
static void
route_hook_pump(void)
{
	struct route_hook_slot	*sl, *best;

	if (slots_pumping || slots_stopping)
		return;
	slots_pumping = 1;
	while (slots_running < ROUTE_HOOK_MAX) {
		best = NULL;
		for (sl = slots; sl != NULL; sl = sl->next) {
			if (sl->pending != NULL && !sl->running &&
			    (best == NULL || sl->pending_seq <
			    best->pending_seq))
				best = sl;
		}
		if (best == NULL)
			break;
		slots_pumping = 0;	/* a synchronous finish pumps itself */
		route_hook_start_one(best);
		slots_pumping = 1;
	}
	slots_pumping = 0;
}

static void
route_hook_event(int fd, uint32_t events, void *arg)
{
	struct route_hook_job	*list, *j;
	struct route_hook_slot	*sl;
	uint64_t		 v;

	if (read(fd, &v, sizeof(v)) != sizeof(v) && errno != EAGAIN)
		log_warn("%s: read", __func__);
	pthread_mutex_lock(&hookq_mtx);
	list = hookq;
	hookq = NULL;
	pthread_mutex_unlock(&hookq_mtx);
	while ((j = list) != NULL) {
		list = j->next;
		j->next = NULL;
		sl = route_hook_slot(j->route);
		if (sl->pending != NULL)
			route_hook_skip(sl->pending, "superseded by a later "
			    "change");
		sl->pending = j;
		sl->pending_seq = ++slots_seq;
	}
	route_hook_pump();
}

int
route_hook_start(char *err, size_t errlen)
{
	slots_stopping = 0;
	if ((hookq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    loop_fd_add(hookq_fd, EPOLLIN, route_hook_event, NULL) == -1) {
		snprintf(err, errlen, "route hooks: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
route_hook_stop(void)
{
	struct route_hook_job	*j;
	struct route_hook_slot	*sl;

	/* killed hooks still report, and their rows reach the audit writer */
	slots_stopping = 1;
	hook_stop_all();
	while ((sl = slots) != NULL) {
		slots = sl->next;
		if (sl->pending != NULL)
			route_hook_skip(sl->pending, "the agent is stopping");
		free(sl->route);
		free(sl->done_which);
		free(sl);
	}
	slots_running = 0;
	if (hookq_fd != -1) {
		loop_fd_del(hookq_fd);
		close(hookq_fd);
		hookq_fd = -1;
	}
	pthread_mutex_lock(&hookq_mtx);
	while ((j = hookq) != NULL) {
		hookq = j->next;
		route_hook_skip(j, "the agent is stopping");
	}
	pthread_mutex_unlock(&hookq_mtx);
}
