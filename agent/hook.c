/*
 * hook.c - on_drain / on_undrain hooks, the way relayd's check_script.c
 * runs scripts: no shell (argv straight to posix_spawn), stdin from
 * /dev/null, every inherited descriptor above 2 closed, default signal
 * dispositions and an empty signal mask (the agent blocks HUP/TERM/INT
 * for its signalfd and ignores SIGPIPE; a child must not inherit that),
 * a small fixed environment, its own process group, and a timer that
 * kills the whole group when it overstays hook_timeout.
 *
 * Everything runs on the loop thread.  A hook is reaped through a pidfd
 * in the loop (vantaged.c owns SIGCHLD-free signal handling, so no
 * signalfd here); where pidfd_open is missing, a timer polls waitpid
 * with WNOHANG.  The loop never waits for a hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vantaged.h"

#define HOOK_POLL_US	100000		/* waitpid polling, no pidfd */
#define HOOK_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
			"/usr/bin:/sbin:/bin"

extern char **environ;

struct hook {
	struct hook		*next;
	pid_t			 pid;
	int			 pidfd;		/* -1: polling */
	struct loop_timer	*deadline;
	struct loop_timer	*poll;
	char			*route;
	char			*which;
	int64_t			 timeout_ms;
	int			 killed;	/* by our deadline */
	hook_done_cb		 cb;
	void			*arg;
};

static struct hook	*hooks;

static void	hook_poll(void *);

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
	if (h->pidfd != -1) {
		loop_fd_del(h->pidfd);
		close(h->pidfd);
		h->pidfd = -1;
	}
	if (h->deadline != NULL)
		loop_timer_del(h->deadline);
	if (h->poll != NULL)
		loop_timer_del(h->poll);
	h->cb(h->arg, h->route, h->which, ok, detail);
	free(h->route);
	free(h->which);
	free(h);
}

/* 1 and status when h has ended (reaped now), 0 while it runs. */
static int
hook_reap(struct hook *h, int *status)
{
	pid_t	rc;

	do {
		rc = waitpid(h->pid, status, WNOHANG);
	} while (rc == -1 && errno == EINTR);
	if (rc == 0)
		return 0;
	if (rc == -1) {
		/* someone else reaped it: nothing left to wait for */
		log_warn("route %s: %s: waitpid %ld", h->route, h->which,
		    (long)h->pid);
		*status = 0xff00;	/* reads as "exited 255" */
	}
	return 1;
}

static void
hook_exited(int fd, uint32_t events, void *arg)
{
	struct hook	*h = arg;
	int		 status;

	if (hook_reap(h, &status))
		hook_finish(h, status, NULL);
}

static void
hook_poll(void *arg)
{
	struct hook	*h = arg;
	int		 status;

	h->poll = NULL;
	if (hook_reap(h, &status))
		hook_finish(h, status, NULL);
	else
		h->poll = loop_timer_add(HOOK_POLL_US, hook_poll, h);
}

static void
hook_deadline(void *arg)
{
	struct hook	*h = arg;

	h->deadline = NULL;
	h->killed = 1;
	/* the group: a hook's own children go with it */
	if (kill(-h->pid, SIGKILL) == -1)
		(void)kill(h->pid, SIGKILL);
	/* reaped by hook_exited / hook_poll once it is gone */
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
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, dfl;
	struct hook			*h;
	char				*envp[6], why[300];
	int				 rc, i, fa_ok = 0, attr_ok = 0;

	h = xcalloc(1, sizeof(*h));
	h->pidfd = -1;
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

	why[0] = '\0';
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	fa_ok = 1;
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto fail;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto fail;
	attr_ok = 1;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGALRM);
	sigaddset(&dfl, SIGUSR1);
	sigaddset(&dfl, SIGUSR2);
	if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &dfl)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) != 0)
		goto fail;
	if ((rc = posix_spawn(&h->pid, hs->argv[0], &fa, &attr, hs->argv,
	    envp)) != 0)
		goto fail;

	log_debug("route %s: %s started (pid %ld): %s", h->route, h->which,
	    (long)h->pid, hs->argv[0]);
	h->next = hooks;
	hooks = h;
	h->deadline = loop_timer_add(h->timeout_ms * 1000, hook_deadline, h);
#ifdef SYS_pidfd_open
	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	if (h->pidfd != -1) {
		(void)fcntl(h->pidfd, F_SETFD, FD_CLOEXEC);
		if (loop_fd_add(h->pidfd, EPOLLIN, hook_exited, h) == -1) {
			close(h->pidfd);
			h->pidfd = -1;
		}
	}
#endif
	if (h->pidfd == -1)
		h->poll = loop_timer_add(HOOK_POLL_US, hook_poll, h);
	goto done;
fail:
	snprintf(why, sizeof(why), "could not start %s: %s", hs->argv[0],
	    strerror(rc));
done:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	for (i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	if (why[0] != '\0') {
		/* not linked yet: hook_finish only reports and frees */
		h->next = NULL;
		hook_finish(h, 0, why);
	}
}

void
hook_stop_all(void)
{
	struct hook	*h;
	int		 status, i;

	while ((h = hooks) != NULL) {
		if (kill(-h->pid, SIGKILL) == -1)
			(void)kill(h->pid, SIGKILL);
		/* SIGKILL is prompt; do not hang a shutdown on a D state */
		for (i = 0; i < 100 && !hook_reap(h, &status); i++)
			usleep(10000);
		hook_finish(h, 0, "killed at shutdown");
	}
}
