/*
 * route_hook.c - on_drain / on_undrain: a route leaving or rejoining
 * service queues its hook here (from whichever thread committed the
 * change); the loop thread starts it (hook.c runs it without a shell) and
 * its exit status goes to the audit log through the audit writer, so the
 * loop never waits for the disk.
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

static pthread_mutex_t	 hookq_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct route_hook_job *hookq;
static int		 hookq_fd = -1;		/* eventfd: wakes the loop */

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

/* Loop thread: a hook finished; its row goes to the audit writer. */
static void
route_hook_done(void *arg, const char *route, const char *which, int ok,
    const char *detail)
{
	struct audit_entry	ae;

	audit_system(&ae, "agent", "hook", route, detail, ok ? "ok" : "failed");
	audit_post(&ae);
}

static void
route_hook_event(int fd, uint32_t events, void *arg)
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

int
route_hook_start(char *err, size_t errlen)
{
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

	/* killed hooks still report, and their rows reach the audit writer */
	hook_stop_all();
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
}
