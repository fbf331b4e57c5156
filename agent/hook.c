/*
 * hook.c - on_drain / on_undrain hooks: spawn.c runs them without a shell
 * (argv straight to execve), stdin from /dev/null, no inherited
 * descriptor above 2, default signals, a small fixed environment, its own
 * process group; a timer kills the whole group when it overstays
 * hook_timeout.  Whatever a hook leaves running when it exits is its own
 * business (it is not killed).
 *
 * Everything runs on the loop thread; the loop never waits for a hook.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vantaged.h"

#define HOOK_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
			"/usr/bin:/sbin:/bin"

struct hook {
	struct hook		*next;
	struct spawn		*child;
	struct loop_timer	*deadline;
	char			*route;
	char			*which;
	int64_t			 timeout_ms;
	int			 killed;	/* by our deadline */
	hook_done_cb		 cb;
	void			*arg;
};

static struct hook	*hooks;

int
hook_running(void)
{
	struct hook	*h;
	int		 n = 0;

	for (h = hooks; h != NULL; h = h->next)
		n++;
	return n;
}

static void
hook_unlink(struct hook *h)
{
	struct hook	**pp;

	for (pp = &hooks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			return;
		}
	}
}

/* Reports and releases h; status is waitpid's. */
static void
hook_finish(struct hook *h, int status, const char *why)
{
	char	detail[256], dur[64];
	int	ok = 0;

	if (why != NULL)
		snprintf(detail, sizeof(detail), "%s %s", h->which, why);
	else if (h->killed)
		snprintf(detail, sizeof(detail), "%s killed after %s",
		    h->which, parse_fmt_duration(h->timeout_ms, dur,
		    sizeof(dur)));
	else if (WIFEXITED(status)) {
		snprintf(detail, sizeof(detail), "%s exited %d", h->which,
		    WEXITSTATUS(status));
		ok = WEXITSTATUS(status) == 0;
	} else if (WIFSIGNALED(status))
		snprintf(detail, sizeof(detail), "%s killed by signal %d (%s)",
		    h->which, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(detail, sizeof(detail), "%s ended with status %d",
		    h->which, status);
	if (ok)
		log_info("route %s: %s", h->route, detail);
	else
		log_warnx("route %s: %s", h->route, detail);

	hook_unlink(h);
	h->child = NULL;
	if (h->deadline != NULL)
		loop_timer_del(h->deadline);
	h->cb(h->arg, h->route, h->which, ok, detail);
	free(h->route);
	free(h->which);
	free(h);
}

static void
hook_exited(void *arg, int status)
{
	struct hook	*h = arg;

	if (status == -1)
		hook_finish(h, 0, "killed at shutdown");
	else
		hook_finish(h, status, NULL);
}

static void
hook_deadline(void *arg)
{
	struct hook	*h = arg;

	h->deadline = NULL;
	h->killed = 1;
	/* the group: a hook's own children go with it; reaped by spawn.c */
	spawn_kill(h->child, 0);
}

static char *
hook_env(const char *name, const char *value)
{
	char	*s;

	xasprintf(&s, "%s=%s", name, value != NULL ? value : "");
	return s;
}

void
hook_run(const struct hook_spec *hs, hook_done_cb cb, void *arg)
{
	struct spawn_spec	 sp;
	struct hook		*h;
	char			*envp[6], why[300], err[200];
	int			 i;

	h = xcalloc(1, sizeof(*h));
	h->route = xstrdup(hs->route);
	h->which = xstrdup(hs->which);
	h->timeout_ms = hs->timeout_ms > 0 ? hs->timeout_ms : 10000;
	h->cb = cb;
	h->arg = arg;

	envp[0] = hook_env("VANTAGE_ROUTE", hs->route);
	envp[1] = hook_env("VANTAGE_STATE", hs->state);
	envp[2] = hook_env("VANTAGE_ACTOR", hs->actor);
	envp[3] = hook_env("VANTAGE_REASON", hs->reason);
	envp[4] = xstrdup(HOOK_PATH);
	envp[5] = NULL;

	memset(&sp, 0, sizeof(sp));
	sp.argv = hs->argv;
	sp.envp = envp;
	sp.out_fd = -1;		/* the agent's stdout and stderr */
	why[0] = '\0';
	/* linked first: spawn_start never calls back before it returns */
	h->next = hooks;
	hooks = h;
	if ((h->child = spawn_start(&sp, hook_exited, h, err,
	    sizeof(err))) != NULL) {
		log_debug("route %s: %s started (pid %ld): %s", h->route,
		    h->which, (long)spawn_pid(h->child), hs->argv[0]);
		h->deadline = loop_timer_add(h->timeout_ms * 1000,
		    hook_deadline, h);
	}
	for (i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	if (h->child == NULL) {
		snprintf(why, sizeof(why), "could not start %s: %s",
		    hs->argv[0], err);
		hook_finish(h, 0, why);
	}
}

void
hook_stop_all(void)
{
	struct hook	*h;

	while ((h = hooks) != NULL) {
		spawn_forget(h->child);
		(void)spawn_stop(h->child);
		hook_finish(h, 0, "killed at shutdown");
	}
	/* the last user of children at shutdown: whatever is left goes */
	spawn_stop_all();
}
