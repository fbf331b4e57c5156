/*
 * spawn.c - child processes of the loop thread (hooks, exec probes), the
 * way relayd's check_script.c runs scripts: no shell (argv straight to
 * execve), stdin from /dev/null, every inherited descriptor above 2
 * closed, default signal dispositions and an empty signal mask (the agent
 * blocks HUP/TERM/INT for its signalfd and ignores SIGPIPE; a child must
 * not inherit that), the caller's environment only, and its own process
 * group so a kill reaches what the child started.
 *
 * posix_spawn does the work, except when the child must run as another
 * user: glibc's posix_spawn cannot change credentials, so those children
 * are forked and switch with raw setgroups/setresgid/setresuid before
 * execve (raw: the forked child has one thread, and glibc's wrappers
 * would signal the parent's threads).  An execve that fails is reported
 * through a close-on-exec pipe, as posix_spawn reports it.
 *
 * Reaping.  A child is watched through a pidfd in the loop; where
 * pidfd_open is missing, a timer polls waitpid with WNOHANG.  The agent
 * is a child subreaper, so what a child leaves behind (a plugin's
 * background grandchild) is reparented to us instead of to a PID 1 that
 * may never reap it; a sweep (waitid WNOWAIT) reaps such orphans every
 * second and soon after a group is killed.  The loop never waits for a
 * child, and no child stays a zombie.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vantaged.h"

#define SPAWN_POLL_US	100000		/* waitpid polling, no pidfd */
#define SPAWN_SWEEP_US	1000000		/* orphans' sweep, idle */
#define SPAWN_SOON_US	20000		/* sweep after a group kill */

struct spawn {
	struct spawn		*next;
	pid_t			 pid;		/* and its process group */
	int			 pidfd;		/* -1: polling */
	int			 kill_group;	/* SIGKILL leftovers at exit */
	struct loop_timer	*poll;
	struct loop_timer	*grace;		/* SIGKILL when it fires */
	spawn_exit_cb		 cb;		/* NULL: forgotten */
	void			*arg;
};

static struct spawn		*children;
static struct loop_timer	*sweep_timer;
static int			 spawn_inited;

static void	spawn_poll(void *);
static void	spawn_sweep(void *);

int
spawn_running(void)
{
	struct spawn	*c;
	int		 n = 0;

	for (c = children; c != NULL; c = c->next)
		n++;
	return n;
}

pid_t
spawn_pid(const struct spawn *c)
{
	return c->pid;
}

static void
spawn_sweep_soon(int64_t us)
{
	if (sweep_timer != NULL)
		loop_timer_del(sweep_timer);
	sweep_timer = loop_timer_add(us, spawn_sweep, NULL);
}

static void
spawn_unlink(struct spawn *c)
{
	struct spawn	**pp;

	for (pp = &children; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static void
spawn_free(struct spawn *c)
{
	spawn_unlink(c);
	if (c->pidfd != -1) {
		loop_fd_del(c->pidfd);
		close(c->pidfd);
	}
	if (c->poll != NULL)
		loop_timer_del(c->poll);
	if (c->grace != NULL)
		loop_timer_del(c->grace);
	free(c);
}

/*
 * 1 and status when c has ended (reaped now), 0 while it runs.  What the
 * group left behind is killed first, while the zombie leader still holds
 * the group's id.
 */
static int
spawn_reap(struct spawn *c, int *status)
{
	siginfo_t	si;
	pid_t		rc;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid == 0)
		return 0;
	if (c->kill_group) {
		(void)kill(-c->pid, SIGKILL);
		spawn_sweep_soon(SPAWN_SOON_US);
	}
	do {
		rc = waitpid(c->pid, status, WNOHANG);
	} while (rc == -1 && errno == EINTR);
	if (rc == 0)
		return 0;
	if (rc == -1) {
		/* someone else reaped it: nothing left to wait for */
		log_warn("waitpid %ld", (long)c->pid);
		*status = 0xff00;	/* reads as "exited 255" */
	}
	return 1;
}

static void
spawn_ended(struct spawn *c, int status)
{
	spawn_exit_cb	 cb = c->cb;
	void		*arg = c->arg;

	spawn_free(c);
	if (cb != NULL)
		cb(arg, status);
}

static void
spawn_exited(int fd, uint32_t events, void *arg)
{
	struct spawn	*c = arg;
	int		 status;

	if (spawn_reap(c, &status))
		spawn_ended(c, status);
}

static void
spawn_poll(void *arg)
{
	struct spawn	*c = arg;
	int		 status;

	c->poll = NULL;
	if (spawn_reap(c, &status))
		spawn_ended(c, status);
	else
		c->poll = loop_timer_add(SPAWN_POLL_US, spawn_poll, c);
}

/* Reaps every zombie child: ours through their owner, orphans here. */
static void
spawn_sweep(void *arg)
{
	struct spawn	*c;
	siginfo_t	 si;
	int		 status;

	sweep_timer = NULL;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
		    si.si_pid == 0)
			break;
		for (c = children; c != NULL && c->pid != si.si_pid;
		    c = c->next)
			;
		if (c != NULL) {
			if (spawn_reap(c, &status))
				spawn_ended(c, status);
			else
				break;
		} else if (waitpid(si.si_pid, &status, WNOHANG) <= 0)
			break;
	}
	sweep_timer = loop_timer_add(SPAWN_SWEEP_US, spawn_sweep, NULL);
}

static void
spawn_grace(void *arg)
{
	struct spawn	*c = arg;

	c->grace = NULL;
	if (kill(-c->pid, SIGKILL) == -1)
		(void)kill(c->pid, SIGKILL);
	spawn_sweep_soon(SPAWN_SOON_US);
}

void
spawn_kill(struct spawn *c, int64_t grace_ms)
{
	if (grace_ms <= 0) {
		spawn_grace(c);
		return;
	}
	if (kill(-c->pid, SIGTERM) == -1)
		(void)kill(c->pid, SIGTERM);
	if (c->grace == NULL)
		c->grace = loop_timer_add(grace_ms * 1000, spawn_grace, c);
}

void
spawn_forget(struct spawn *c)
{
	c->cb = NULL;
	c->arg = NULL;
}

/* The signals whose disposition the agent may have changed. */
static void
spawn_sigdef(sigset_t *dfl)
{
	sigemptyset(dfl);
	sigaddset(dfl, SIGPIPE);
	sigaddset(dfl, SIGHUP);
	sigaddset(dfl, SIGTERM);
	sigaddset(dfl, SIGINT);
	sigaddset(dfl, SIGQUIT);
	sigaddset(dfl, SIGCHLD);
	sigaddset(dfl, SIGALRM);
	sigaddset(dfl, SIGUSR1);
	sigaddset(dfl, SIGUSR2);
}

static int
spawn_posix(const struct spawn_spec *sp, pid_t *pid)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, dfl;
	int				 rc, fa_ok = 0, attr_ok = 0;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto done;
	fa_ok = 1;
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) != 0)
		goto done;
	if (sp->out_fd != -1) {
		if ((rc = posix_spawn_file_actions_adddup2(&fa, sp->out_fd,
		    1)) != 0 ||
		    (rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
		    O_WRONLY, 0)) != 0)
			goto done;
	}
	if ((rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto done;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto done;
	attr_ok = 1;
	sigemptyset(&none);
	spawn_sigdef(&dfl);
	if ((rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &dfl)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) != 0)
		goto done;
	rc = posix_spawn(pid, sp->argv[0], &fa, &attr, sp->argv, sp->envp);
done:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	return rc;
}

/* In the forked child: async-signal-safe calls and raw syscalls only. */
static void
spawn_child(const struct spawn_spec *sp, int report)
{
	struct sigaction	sa;
	sigset_t		none, dfl;
	int			sig, fd, e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	spawn_sigdef(&dfl);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&dfl, sig) == 1)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (setpgid(0, 0) == -1)
		goto fail;
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		goto fail;
	if (dup2(fd, 0) == -1 || (sp->out_fd != -1 &&
	    (dup2(sp->out_fd, 1) == -1 || dup2(fd, 2) == -1)))
		goto fail;
	if (report < 4 && (report = fcntl(report, F_DUPFD_CLOEXEC, 4)) == -1)
		goto fail;
	/* all but the report pipe, which closes on exec */
	if (syscall(SYS_close_range, 3U, (unsigned)report - 1, 0U) == -1 ||
	    syscall(SYS_close_range, (unsigned)report + 1, ~0U, 0U) == -1)
		for (fd = 3; fd < 65536; fd++)
			if (fd != report)
				(void)close(fd);
	if (syscall(SYS_setgroups, (size_t)sp->ngroups, sp->groups) == -1 ||
	    syscall(SYS_setresgid, sp->gid, sp->gid, sp->gid) == -1 ||
	    syscall(SYS_setresuid, sp->uid, sp->uid, sp->uid) == -1)
		goto fail;
	execve(sp->argv[0], sp->argv, sp->envp);
fail:
	e = errno;
	if (write(report, &e, sizeof(e)) == -1)
		_exit(127);
	_exit(127);
}

static int
spawn_fork(const struct spawn_spec *sp, pid_t *pid)
{
	ssize_t	n;
	int	p[2], e = 0, st;

	if (pipe2(p, O_CLOEXEC) == -1)
		return errno;
	if ((*pid = fork()) == -1) {
		e = errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (*pid == 0) {
		close(p[0]);
		spawn_child(sp, p[1]);
	}
	close(p[1]);
	/* EOF at execve: the child's first moments, as posix_spawn waits */
	while ((n = read(p[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(*pid, &st, 0) == -1 && errno == EINTR)
			;
		return e != 0 ? e : EIO;
	}
	return 0;
}

struct spawn *
spawn_start(const struct spawn_spec *sp, spawn_exit_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct spawn	*c;
	pid_t		 pid;
	int		 rc;

	if (!spawn_inited) {
		spawn_inited = 1;
		/* orphans of our children are ours to reap (see above) */
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
			log_warn("prctl(PR_SET_CHILD_SUBREAPER)");
		sweep_timer = loop_timer_add(SPAWN_SWEEP_US, spawn_sweep, NULL);
	}
	rc = sp->drop ? spawn_fork(sp, &pid) : spawn_posix(sp, &pid);
	if (rc != 0) {
		snprintf(err, errlen, "%s", strerror(rc));
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->pid = pid;
	c->pidfd = -1;
	c->kill_group = sp->kill_group;
	c->cb = cb;
	c->arg = arg;
	c->next = children;
	children = c;
#ifdef SYS_pidfd_open
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->pidfd != -1) {
		(void)fcntl(c->pidfd, F_SETFD, FD_CLOEXEC);
		if (loop_fd_add(c->pidfd, EPOLLIN, spawn_exited, c) == -1) {
			close(c->pidfd);
			c->pidfd = -1;
		}
	}
#endif
	if (c->pidfd == -1)
		c->poll = loop_timer_add(SPAWN_POLL_US, spawn_poll, c);
	return c;
}

int
spawn_stop(struct spawn *c)
{
	int	status = 0, i;

	if (kill(-c->pid, SIGKILL) == -1)
		(void)kill(c->pid, SIGKILL);
	/* SIGKILL is prompt; do not hang a shutdown on a D state */
	for (i = 0; i < 100 && !spawn_reap(c, &status); i++)
		usleep(10000);
	spawn_free(c);
	return status;
}

void
spawn_stop_forgotten(void)
{
	struct spawn	*c, *next;

	for (c = children; c != NULL; c = next) {
		next = c->next;
		if (c->cb == NULL)
			(void)spawn_stop(c);
	}
}

void
spawn_stop_all(void)
{
	struct spawn	*c;

	while ((c = children) != NULL) {
		spawn_exit_cb	 cb = c->cb;
		void		*arg = c->arg;

		spawn_forget(c);
		(void)spawn_stop(c);
		if (cb != NULL)
			cb(arg, -1);
	}
	if (sweep_timer != NULL) {
		loop_timer_del(sweep_timer);
		sweep_timer = NULL;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	spawn_inited = 0;
}
