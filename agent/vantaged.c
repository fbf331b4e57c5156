/*
 * vantaged.c - the agent's process: flags, config, logging (stderr or
 * journald), signals through a signalfd in the loop, systemd notify and
 * watchdog, reload (SIGHUP or the API) and an orderly stop that flushes
 * every stored result.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "hash.h"
#include "vantaged.h"

/*
 * The parts started after the store and the probe engine, in order; each
 * is told about a reload and stopped in reverse order.  Adding a part is
 * one line here.
 */
struct subsystem {
	const char	*name;
	int		(*start)(struct config *, char *err, size_t);
	int		(*reconfigure)(struct config *, char *err, size_t);
	void		(*stop)(void);
	void		(*tick)(void);	/* before the loop sleeps */
};

static const struct subsystem subsystems[] = {
	{ "audit", audit_start, NULL, audit_stop, NULL },
	{ "route", route_start, route_reconfigure, route_stop, route_tick },
	{ "haproxy", haproxy_start, haproxy_reconfigure, haproxy_stop,
	    haproxy_tick },
	{ "alert", alert_start, alert_reconfigure, alert_stop, alert_tick },
	{ "api", api_start, api_reconfigure, api_stop, api_tick },
	{ NULL, NULL, NULL, NULL, NULL }
};

static struct vantaged	 vd_state;
struct vantaged		*vd;

static int		 sig_fd = -1;
static int		 reload_fd = -1;	/* eventfd: API asks reload */
static pthread_mutex_t	 reload_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 reload_cond = PTHREAD_COND_INITIALIZER;
static uint64_t		 reload_asked, reload_done;
static int		 reload_rc;
static char		 reload_err[1024];
static int		 sd_enabled;	/* NOTIFY_SOCKET is set */
static uint64_t		 watchdog_us;
static uint64_t		 status_gen = (uint64_t)-1;

/*
 * Descriptors.  The soft RLIMIT_NOFILE goes up to the hard one; a reserve
 * is kept for the probes (a socket and a resolver or TLS descriptor each)
 * and for the agent's own (database and WAL, epoll, eventfds, journald,
 * libmicrohttpd's listen socket and per-thread epoll and eventfd), and the
 * API listeners and the agent-check listener share the rest.  So a flood
 * of connections is refused at the listeners and never makes a probe fail
 * with "Too many open files".
 */
#define FD_RESERVE_AGENT	64
#define FD_PER_PROBE		2
#define FD_PER_API_LISTENER	8
#define FD_BUDGET_MAX		1000000	/* RLIM_INFINITY counts as this */

static int		 fd_probes_reserved;

static void
fd_budget(const struct config *c)
{
	struct rlimit	rl;
	long		cur, was, reserve, avail, ha = 0, api;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	was = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FD_BUDGET_MAX ?
	    FD_BUDGET_MAX : (long)rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("setrlimit RLIMIT_NOFILE to %llu",
			    (unsigned long long)rl.rlim_max);
			rl.rlim_cur = (rlim_t)was;
		}
	}
	cur = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FD_BUDGET_MAX ?
	    FD_BUDGET_MAX : (long)rl.rlim_cur;
	/* a reload may add probes: twice today's count, at least 16 */
	fd_probes_reserved = c->n_probes * 2 < 16 ? 16 : c->n_probes * 2;
	reserve = FD_RESERVE_AGENT + FD_PER_PROBE * fd_probes_reserved +
	    FD_PER_API_LISTENER * c->n_api_listen + c->n_haproxy_listen;
	avail = cur - reserve;
	if (avail < 16) {
		log_warnx("only %ld file descriptors (RLIMIT_NOFILE) for %d "
		    "probes: raise the limit (LimitNOFILE= in the unit)",
		    cur, c->n_probes);
		avail = 16;
	}
	if (c->n_haproxy_listen > 0)
		ha = haproxy_limit_conns((int)(avail / 4));
	api = (avail - ha) / (c->n_api_listen > 0 ? c->n_api_listen : 1);
	api = api_set_conn_limit((unsigned int)(api < INT32_MAX ? api :
	    INT32_MAX));
	log_debug("file descriptors: limit %ld (was %ld), %ld kept for %d "
	    "probes and the agent, at most %ld API connections per listener, "
	    "%ld agent checks", cur, was, reserve, fd_probes_reserved, api,
	    ha);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: vantaged [-f FILE] [-n] [-d] [-v]\n"
	    "       vantaged token NAME ROLE [--append FILE]\n");
	exit(2);
}

/* --help: what usage() says, with the options explained, on stdout. */
static void __attribute__((noreturn))
help(void)
{
	printf("usage: vantaged [-f FILE] [-n] [-d] [-v]\n"
	    "       vantaged token NAME ROLE [--append FILE]\n"
	    "\n"
	    "  -f FILE     the configuration (default " VANTAGED_CONF ",\n"
	    "              else a built-in demo config)\n"
	    "  -n          check the configuration, report every error, "
	    "exit\n"
	    "  -d          stay in the foreground and log to stderr\n"
	    "              (else detach and log to the journal)\n"
	    "  -v          log debug messages too\n"
	    "  -h, --help  this text\n"
	    "  token NAME ROLE\n"
	    "              print a new API token and its tokens file line\n"
	    "\n"
	    "See vantaged(8) and vantaged.conf(5).\n");
	exit(0);
}

static void
journal_sink(enum log_level lvl, const char *msg)
{
	int	pri;

	switch (lvl) {
	case LOG_LVL_ERR:
		pri = LOG_ERR;
		break;
	case LOG_LVL_WARN:
		pri = LOG_WARNING;
		break;
	case LOG_LVL_INFO:
		pri = LOG_INFO;
		break;
	case LOG_LVL_DEBUG:
	default:
		pri = LOG_DEBUG;
		break;
	}
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", pri,
	    "SYSLOG_IDENTIFIER=vantaged", NULL);
}

/*
 * The tokens file's lines are "NAME ROLE HASH" with '#' comments: 1 when
 * one of them is NAME's, its line in *line.
 */
static int
token_has_name(const char *text, const char *name, int *line)
{
	const char	*p = text, *nl, *w;
	size_t		 n = strlen(name), k;

	for (*line = 1; *p != '\0'; (*line)++) {
		nl = strchr(p, '\n');
		w = p + strspn(p, " \t");
		k = strcspn(w, " \t\r\n#");
		if (k == n && strncmp(w, name, n) == 0)
			return 1;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}

/*
 * Appends "NAME ROLE HASH" to the tokens file at file the way a crash
 * cannot break it: a temporary file in the same directory with the old
 * text, the new line, fsync, rename over the old one, fsync of the
 * directory.  A new file is 0600; an existing one keeps its mode and
 * owner, and is refused if group or others may access it (the agent
 * would refuse it) or already has NAME.  Prints why and returns 1.
 */
static int
token_append(const char *file, const char *name, const char *role,
    const char *hex, char **pathp)
{
	struct stat	 sb;
	char		*path, *tmp = NULL, *text = NULL, *d, *dir, *base;
	size_t		 len = 0, cap = 0;
	ssize_t		 r;
	mode_t		 mode = 0600;
	int		 fd = -1, dfd = -1, exists, line, rc = 1;

	if ((path = realpath(file, NULL)) == NULL) {
		if (errno != ENOENT) {
			fprintf(stderr, "vantaged: %s: %s\n", file,
			    strerror(errno));
			return 1;
		}
		/* a new file: named absolutely, for the message */
		d = xstrdup(file);
		base = xstrdup(file);
		if ((dir = realpath(dirname(d), NULL)) != NULL)
			xasprintf(&path, "%s/%s", dir, basename(base));
		else
			path = xstrdup(file);
		free(dir);
		free(d);
		free(base);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 &&
	    errno != ENOENT) {
		fprintf(stderr, "vantaged: %s: %s\n", path, strerror(errno));
		goto done;
	}
	exists = fd != -1;
	if (exists) {
		if (fstat(fd, &sb) == -1) {
			fprintf(stderr, "vantaged: %s: %s\n", path,
			    strerror(errno));
			goto done;
		}
		if (!S_ISREG(sb.st_mode)) {
			fprintf(stderr, "vantaged: %s: not a regular file\n",
			    path);
			goto done;
		}
		if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
			fprintf(stderr, "vantaged: %s: group or others can "
			    "access it (mode %03o); it holds token hashes: "
			    "chmod 600 %s first\n", path,
			    (unsigned)(sb.st_mode & 0777), path);
			goto done;
		}
		mode = sb.st_mode & 07777;
		for (;;) {
			if (cap - len < 4096) {
				cap = cap * 2 + 8192;
				if (cap > 16 * 1024 * 1024) {
					fprintf(stderr, "vantaged: %s: too "
					    "large for a tokens file\n", path);
					goto done;
				}
				text = xreallocarray(text, cap, 1);
			}
			r = read(fd, text + len, cap - len - 1);
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1) {
				fprintf(stderr, "vantaged: %s: %s\n", path,
				    strerror(errno));
				goto done;
			}
			if (r == 0)
				break;
			len += (size_t)r;
		}
		text[len] = '\0';
		close(fd);
		fd = -1;
		if (token_has_name(text, name, &line)) {
			fprintf(stderr, "vantaged: %s:%d: token name '%s' is "
			    "already there: remove that line to replace it\n",
			    path, line, name);
			goto done;
		}
	}
	d = xstrdup(path);
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	dir = dirname(d);
	xasprintf(&tmp, "%s/.%s.XXXXXX", dir, base);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (dfd == -1 || (fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		fprintf(stderr, "vantaged: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if ((exists && sb.st_uid != geteuid() &&
	    fchown(fd, sb.st_uid, sb.st_gid) == -1) ||
	    fchmod(fd, mode) == -1 ||
	    (len > 0 && write(fd, text, len) != (ssize_t)len) ||
	    (len > 0 && text[len - 1] != '\n' && write(fd, "\n", 1) != 1) ||
	    dprintf(fd, "%s %s %s\n", name, role, hex) < 0 ||
	    fsync(fd) == -1) {
		fprintf(stderr, "vantaged: %s: %s\n", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) == -1) {
		fd = -1;
		fprintf(stderr, "vantaged: %s: %s\n", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "vantaged: rename %s to %s: %s\n", tmp, path,
		    strerror(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	(void)fsync(dfd);
	*pathp = path;
	path = NULL;
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(text);
	free(path);
	return rc;
}

/* Where the token went when stdout is a file (the console reads it). */
static char *
token_stdout_path(void)
{
	char	buf[PATH_MAX];
	ssize_t	n;

	if ((n = readlink("/proc/self/fd/1", buf, sizeof(buf) - 1)) <= 0 ||
	    buf[0] != '/')
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static int
cmd_token(int argc, char **argv)
{
	struct stat	 sb;
	char		 tok[64], hex[HASH_HEX_LEN + 1], host[256];
	char		*path = NULL, *out = NULL;
	const char	*append = NULL;
	size_t		 i;

	if (argc == 5 && strcmp(argv[3], "--append") == 0)
		append = argv[4];
	else if (argc != 3)
		usage();
	for (i = 0; argv[1][i] != '\0'; i++) {
		char c = argv[1][i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '@'))
			break;
	}
	if (argv[1][0] == '\0' || argv[1][i] != '\0' || i > 64) {
		fprintf(stderr, "vantaged: token name '%s': use letters, "
		    "digits, '.', '-', '_', '@' (at most 64)\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[2], "viewer") != 0 && strcmp(argv[2], "operator") != 0
	    && strcmp(argv[2], "admin") != 0) {
		fprintf(stderr, "vantaged: role '%s': expected viewer, "
		    "operator or admin\n", argv[2]);
		return 2;
	}
	/* the token itself goes to stdout: a file there must be private */
	if (append != NULL && fstat(STDOUT_FILENO, &sb) == 0 &&
	    S_ISREG(sb.st_mode)) {
		if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
			fprintf(stderr, "vantaged: standard output is a file "
			    "group or others can access (mode %03o): the "
			    "token would be readable; use umask 077 or chmod "
			    "600 it first\n", (unsigned)(sb.st_mode & 0777));
			return 1;
		}
		out = token_stdout_path();
	}
	if (hash_random_token(tok, sizeof(tok)) == -1) {
		fprintf(stderr, "vantaged: no randomness available\n");
		free(out);
		return 1;
	}
	hash_sha256_hex(tok, strlen(tok), hex);
	if (append == NULL) {
		printf("token: %s\n", tok);
		printf("tokens file line: %s %s %s\n", argv[1], argv[2], hex);
		explicit_bzero(tok, sizeof(tok));
		return 0;
	}
	if (token_append(append, argv[1], argv[2], hex, &path) != 0) {
		explicit_bzero(tok, sizeof(tok));
		free(out);
		return 1;
	}
	/* stdout: the token alone, once; stderr: what to do with it */
	printf("%s\n", tok);
	explicit_bzero(tok, sizeof(tok));
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "vantaged: writing the token: %s\n",
		    strerror(errno));
		free(path);
		free(out);
		return 1;
	}
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[strcspn(host, ".")] = '\0';
	fprintf(stderr, "vantaged: added token '%s' (%s) to %s; a running "
	    "vantaged reads it on reload (SIGHUP)\n", argv[1], argv[2], path);
	if (out != NULL)
		fprintf(stderr, "vantaged: the token is in %s; for the console "
		    "(vantage.conf):\n", out);
	else
		fprintf(stderr, "vantaged: the token is printed once, above: "
		    "keep it in a file only you can read, e.g. "
		    "~/.config/vantage/%s.token (chmod 600); for the console "
		    "(vantage.conf):\n", host);
	fprintf(stderr, "[agent \"%s\"]\n"
	    "url = http://%s:7787        ; this agent's [api] listen address\n"
	    "token_file = %s%s%s\n",
	    host, host, out != NULL ? out : "~/.config/vantage/",
	    out != NULL ? "" : host, out != NULL ? "" : ".token");
	fprintf(stderr, "or: vantage agent add %s http://%s:7787 --token-file "
	    "%s%s%s\n", host, host, out != NULL ? out : "~/.config/vantage/",
	    out != NULL ? "" : host, out != NULL ? "" : ".token");
	free(path);
	free(out);
	return 0;
}

void
vantaged_notify_status(void)
{
	struct probe	**ps;
	int		  n, i, up = 0, down = 0, deg = 0, unk = 0;

	if (!sd_enabled)
		return;
	ps = probe_engine_probes(&n);
	for (i = 0; i < n; i++) {
		switch (ps[i]->state) {
		case STATE_UP:
			up++;
			break;
		case STATE_DOWN:
			down++;
			break;
		case STATE_DEGRADED:
			deg++;
			break;
		case STATE_UNKNOWN:
			unk++;
			break;
		}
	}
	sd_notifyf(0, "STATUS=%d probes: %d up, %d degraded, %d down, "
	    "%d unknown", n, up, deg, down, unk);
}

/* A multi-line message (config errors) as one log line per line. */
static void
vantaged_log_lines(const char *head, const char *text)
{
	const char	*p, *nl;

	log_warnx("%s", head);
	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (nl > p)
			log_warnx("  %.*s", (int)(nl - p), p);
		if (*nl == '\0')
			break;
	}
}

int
vantaged_reload(char *err, size_t errlen)
{
	struct config	*nc, *old = vd->conf;
	size_t		 i;

	if (sd_enabled)
		sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		    (uint64_t)clock_mono_us());
	nc = config_load(vd->conf_path, err, errlen);
	if (nc == NULL) {
		vantaged_log_lines("reload refused, keeping the running "
		    "config:", err);
		if (sd_enabled)
			sd_notify(0, "READY=1");
		return -1;
	}
	/* the listeners' caps were set at start: more probes eat the margin */
	if (nc->n_probes > fd_probes_reserved)
		log_warnx("%d probes, file descriptors were set aside for %d: "
		    "restart vantaged so API connections cannot starve them",
		    nc->n_probes, fd_probes_reserved);
	for (i = 0; subsystems[i].name != NULL; i++) {
		if (subsystems[i].reconfigure != NULL &&
		    subsystems[i].reconfigure(nc, err, errlen) == -1) {
			log_warnx("reload refused by %s: %s", subsystems[i].name,
			    err);
			config_free(nc);
			if (sd_enabled)
				sd_notify(0, "READY=1");
			return -1;
		}
	}
	probe_engine_apply(nc);
	api_probes_conf(nc);
	if (vd->store != NULL) {
		store_set_retention(vd->store, nc->retention_ms);
		store_set_rollup_retention(vd->store, nc->rollup_retention_ms);
		store_set_queue_max(vd->store, (size_t)nc->queue_max);
		audit_set_refused_retention(nc->audit_refused_retention_ms);
	}
	vd->conf = nc;
	config_free(old);
	/* parsing left freed pages behind: give them back (10^5 probes) */
	(void)malloc_trim(0);
	log_info("reloaded %s: %d probes, %d routes",
	    vd->conf_path != NULL ? vd->conf_path : "built-in config",
	    nc->n_probes, nc->n_routes);
	if (sd_enabled)
		sd_notify(0, "READY=1");
	return 0;
}

int
vantaged_request_reload(char *err, size_t errlen)
{
	uint64_t	one = 1, ticket;
	struct timespec	ts;
	int		rc = -1;

	pthread_mutex_lock(&reload_mtx);
	ticket = ++reload_asked;
	if (write(reload_fd, &one, sizeof(one)) != sizeof(one)) {
		snprintf(err, errlen, "cannot reach the probe loop");
		pthread_mutex_unlock(&reload_mtx);
		return -1;
	}
	clock_wall_after(&ts, 10 * 1000000);
	while (reload_done < ticket) {
		if (pthread_cond_timedwait(&reload_cond, &reload_mtx, &ts) ==
		    ETIMEDOUT)
			break;
	}
	if (reload_done >= ticket) {
		rc = reload_rc;
		snprintf(err, errlen, "%s", reload_err);
	} else
		snprintf(err, errlen, "reload did not finish in 10 s");
	pthread_mutex_unlock(&reload_mtx);
	return rc;
}

static void
on_reload_request(int fd, uint32_t events, void *arg)
{
	uint64_t	v;
	char		err[1024];
	int		rc;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	err[0] = '\0';
	rc = vantaged_reload(err, sizeof(err));
	pthread_mutex_lock(&reload_mtx);
	reload_rc = rc;
	snprintf(reload_err, sizeof(reload_err), "%s", err);
	reload_done = reload_asked;
	pthread_cond_broadcast(&reload_cond);
	pthread_mutex_unlock(&reload_mtx);
}

/*
 * A reload by signal is audited like one through the API; the row goes to
 * the audit writer, so the loop does not wait for the commit.
 */
static void
vantaged_audit_reload(const struct signalfd_siginfo *si, int rc,
    const char *err)
{
	struct audit_entry	 e;
	struct buf		 detail;

	buf_init(&detail);
	buf_printf(&detail, "SIGHUP from pid %u (uid %u): ",
	    (unsigned)si->ssi_pid, (unsigned)si->ssi_uid);
	if (rc == 0)
		buf_printf(&detail, "configuration reloaded: %d probes, %d "
		    "routes", vd->conf->n_probes, vd->conf->n_routes);
	else
		buf_printf(&detail, "reload refused: %s", err);
	audit_system(&e, "signal", "reload", "", detail.data, rc == 0 ? "ok" :
	    "failed");
	audit_post(&e);
	buf_free(&detail);
}

static void
on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo	si;
	char			err[1024];

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP from pid %u: reloading",
			    (unsigned)si.ssi_pid);
			vantaged_audit_reload(&si, vantaged_reload(err,
			    sizeof(err)), err);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("%s: stopping", strsignal((int)si.ssi_signo));
			loop_stop();
			break;
		default:
			break;
		}
	}
}

static void
on_watchdog(void *arg)
{
	sd_notify(0, "WATCHDOG=1");
	(void)loop_timer_add((int64_t)watchdog_us / 2, on_watchdog, NULL);
}

static void
before_sleep(void)
{
	size_t	i;

	for (i = 0; subsystems[i].name != NULL; i++) {
		if (subsystems[i].tick != NULL)
			subsystems[i].tick();
	}
	if (probe_engine_state_gen() != status_gen) {
		status_gen = probe_engine_state_gen();
		vantaged_notify_status();
	}
}

static int
setup_signals(void)
{
	sigset_t	set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* blocked before any thread starts, so every thread inherits it */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return sig_fd == -1 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	const char	*path = NULL;
	int		 ch, check_only = 0, foreground = 0, verbose = 0;
	int		 explicit_path = 0, i;
	size_t		 s, started = 0;
	char		 err[4096], *dbpath;
	struct stat	 st;
	int64_t		 t_start, t_conf, t_store = 0, t_subsys = 0, t_probes = 0;

	if (argc >= 2 && strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0)
			help();
	}
	while ((ch = getopt(argc, argv, "f:ndvh")) != -1) {
		switch (ch) {
		case 'h':
			help();
		case 'f':
			path = optarg;
			explicit_path = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("vantaged", verbose);
	if (!explicit_path && stat(VANTAGED_CONF, &st) == 0)
		path = VANTAGED_CONF;

	vd = &vd_state;
	vd->conf_path = path;
	t_start = clock_mono_us();
	vd->conf = config_load(path, err, sizeof(err));
	t_conf = clock_mono_us();
	if (vd->conf == NULL) {
		fprintf(stderr, "%s\n", err);
		if (check_only)
			fprintf(stderr, "vantaged: configuration invalid\n");
		return 1;
	}
	if (check_only && api_check(vd->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "vantaged: %s\nvantaged: configuration "
		    "invalid\n", err);
		config_free(vd->conf);
		return 1;
	}
	if (check_only) {
		printf("vantaged: %s: configuration OK (%d probes, %d routes)\n",
		    path != NULL ? path : "built-in config",
		    vd->conf->n_probes, vd->conf->n_routes);
		config_free(vd->conf);
		return 0;
	}

	sd_enabled = getenv("NOTIFY_SOCKET") != NULL;
	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_set_sink(journal_sink);
	} else if (getenv("JOURNAL_STREAM") != NULL)
		log_set_sink(journal_sink);	/* systemd: structured */

	if (setup_signals() == -1)
		fatal("signals");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	loop_init();
	vd->started_ms = clock_wall_ms();
	vd->started_us = clock_mono_us();

	xasprintf(&dbpath, "%s/vantage.db", vd->conf->data_dir);
	vd->store = store_open(dbpath, vd->conf->retention_ms, err,
	    sizeof(err));
	free(dbpath);
	if (vd->store == NULL)
		fatalx("%s", err);
	store_set_rollup_retention(vd->store, vd->conf->rollup_retention_ms);
	store_set_queue_max(vd->store, (size_t)vd->conf->queue_max);
	t_store = clock_mono_us();
	if (probe_engine_init(err, sizeof(err)) == -1)
		fatalx("%s", err);
	fd_budget(vd->conf);
	for (s = 0; subsystems[s].name != NULL; s++) {
		int64_t t0 = clock_mono_us();

		if (subsystems[s].start != NULL &&
		    subsystems[s].start(vd->conf, err, sizeof(err)) == -1)
			fatalx("%s: %s", subsystems[s].name, err);
		started = s + 1;
		log_debug("%s started in %" PRId64 " us", subsystems[s].name,
		    clock_mono_us() - t0);
	}
	if ((reload_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	loop_fd_add(sig_fd, EPOLLIN, on_signal, NULL);
	loop_fd_add(reload_fd, EPOLLIN, on_reload_request, NULL);
	loop_on_before_sleep(before_sleep);
	t_subsys = clock_mono_us();
	probe_engine_apply(vd->conf);
	api_probes_conf(vd->conf);
	(void)malloc_trim(0);	/* what parsing freed, as on reload */
	t_probes = clock_mono_us();

	if (sd_enabled) {
		sd_notify(0, "READY=1");
		if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0)
			(void)loop_timer_add((int64_t)watchdog_us / 2,
			    on_watchdog, NULL);
	}
	log_info("vantaged %s ready: agent %s, %d probes, %d routes, data in %s",
	    VANTAGE_VERSION, vd->conf->name, vd->conf->n_probes,
	    vd->conf->n_routes, vd->conf->data_dir);
	log_debug("start took %" PRId64 " ms: config %" PRId64 ", store %"
	    PRId64 ", parts %" PRId64 ", probes %" PRId64,
	    (t_probes - t_start) / 1000, (t_conf - t_start) / 1000,
	    (t_store - t_conf) / 1000, (t_subsys - t_store) / 1000,
	    (t_probes - t_subsys) / 1000);

	loop_run();

	if (sd_enabled)
		sd_notify(0, "STOPPING=1");
	probe_engine_shutdown();
	for (i = (int)started - 1; i >= 0; i--) {
		if (subsystems[i].stop != NULL)
			subsystems[i].stop();
	}
	store_close(vd->store);
	vd->store = NULL;
	{
		const struct probe_engine_stats *es = probe_engine_stats();
		log_info("stopped: %" PRIu64 " probe runs, %" PRIu64 " late, "
		    "%" PRIu64 " skipped, max start delay %" PRId64 "us",
		    es->started, es->late, es->skipped, es->max_late_us);
	}
	loop_done();
	net_done();
	close(reload_fd);
	close(sig_fd);
	config_free(vd->conf);
	curl_global_cleanup();
	return 0;
}
