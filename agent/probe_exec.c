/*
 * probe_exec.c - "exec" probes: a Nagios plugin run without a shell
 * (spawn.c: argv straight to execve, stdin /dev/null, no inherited
 * descriptor, its own process group), with PATH=/usr/bin:/bin and LANG=C
 * and nothing else in its environment, as another user when asked.
 *
 * Exit status 0/1/2/3 is OK/DEGRADED/FAIL/UNKNOWN (the plugin API); any
 * other exit or a signal is UNKNOWN saying so.  The first line of stdout
 * is the result's text, its performance data the result's detail
 * (perfdata.c).  stdout is read on the loop, non-blocking, and kept up
 * to EXEC_OUT_MAX bytes (the rest is read and counted, so the plugin
 * never blocks on a full pipe); stderr goes to /dev/null, as the
 * guidelines want plugins to write their answer on stdout.
 *
 * When the plugin exits, what it left running in its process group is
 * killed.  At the engine's timeout the group gets SIGTERM, then SIGKILL
 * EXEC_GRACE_MS later; the run is over at once (FAIL, the engine's), the
 * child is reaped when it is gone.  At most [agent] exec_max plugins run
 * at once, counting those still dying after a timeout; a run that finds
 * no room is UNKNOWN at once rather than late.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "text.h"
#include "vantaged.h"

#define EXEC_OUT_MAX	4096		/* output bytes kept per run */
#define EXEC_GRACE_MS	500		/* SIGTERM to SIGKILL at timeout */
#define EXEC_MAX_DEF	16		/* [agent] exec_max unset */
#define EXEC_GROUPS_MAX	256

struct exec_opts {
	char		*command;	/* NULL: the target is the command */
	char		*user;
	/* compiled by exec_check */
	char		**argv;
	uid_t		 uid;
	gid_t		 gid;
	gid_t		*groups;
	int		 ngroups;
};

static const struct probe_key exec_keys[] = {
	{ "command", CONF_STR, offsetof(struct exec_opts, command), NULL,
	    "the plugin and its arguments, split like a shell, never run by "
	    "one" },
	{ "user", CONF_STR, offsetof(struct exec_opts, user), NULL,
	    "user the plugin runs as (the agent must be root)" },
	{ NULL }
};

/* A run's child; it outlives the run when the run times out. */
struct exec_run {
	struct exec_run		*next;
	struct probe_run	*run;		/* NULL: detached, dying */
	struct spawn		*child;		/* NULL: reaped */
	int			 fd;		/* its stdout; -1: closed */
	size_t			 len;
	uint64_t		 dropped;	/* bytes past EXEC_OUT_MAX */
	char			 out[EXEC_OUT_MAX];
};

static struct exec_run	*exec_runs;
static int		 exec_children;	/* spawned, not yet reaped */

static char *const exec_env[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };

static void
exec_unlink(struct exec_run *er)
{
	struct exec_run	**pp;

	for (pp = &exec_runs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == er) {
			*pp = er->next;
			return;
		}
	}
}

static void
exec_close(struct exec_run *er)
{
	if (er->fd == -1)
		return;
	loop_fd_del(er->fd);
	close(er->fd);
	er->fd = -1;
}

/* Reads what the pipe holds now; the excess is counted and dropped. */
static void
exec_drain(struct exec_run *er)
{
	char	scratch[4096];
	ssize_t	n;
	size_t	room;

	while (er->fd != -1) {
		room = sizeof(er->out) - er->len;
		if (room > 0)
			n = read(er->fd, er->out + er->len, room);
		else
			n = read(er->fd, scratch, sizeof(scratch));
		if (n > 0) {
			if (room > 0)
				er->len += (size_t)n;
			else
				er->dropped += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		exec_close(er);		/* EOF or an error: nothing more */
	}
}

static void
exec_readable(int fd, uint32_t events, void *arg)
{
	exec_drain(arg);
}

/* The result of a plugin that ended with waitpid status st. */
static void
exec_result(struct exec_run *er, int st)
{
	struct probe_run	*run = er->run;
	struct perfdata		 pd[PERFDATA_MAX];
	enum probe_status	 status = PROBE_UNKNOWN;
	struct buf		 perf, d;
	char			 text[PROBE_ERR_LEN], msg[PROBE_ERR_LEN];
	int			 n, bad, sig;

	exec_drain(er);
	buf_init(&perf);
	perfdata_split(er->out, er->len, text, sizeof(text), &perf);
	n = perfdata_parse(perf.data != NULL ? perf.data : "", perf.len, pd,
	    PERFDATA_MAX, &bad);
	buf_init(&d);
	buf_adds(&d, "\"perfdata\":");
	perfdata_json(&d, pd, n);
	if (bad > 0)
		buf_printf(&d, ",\"perfdata_bad\":%d", bad);
	buf_printf(&d, ",\"output_dropped\":%llu",
	    (unsigned long long)er->dropped);
	probe_result_detail(&run->res, "%s", d.data);
	buf_free(&d);
	buf_free(&perf);

	if (WIFEXITED(st)) {
		run->res.code = WEXITSTATUS(st);
		switch (WEXITSTATUS(st)) {
		case 0:
			status = PROBE_OK;
			break;
		case 1:
			status = PROBE_DEGRADED;
			break;
		case 2:
			status = PROBE_FAIL;
			break;
		case 3:
			status = PROBE_UNKNOWN;
			break;
		default:
			snprintf(msg, sizeof(msg), "exit status %d (a plugin "
			    "exits 0-3)%s%.150s", WEXITSTATUS(st),
			    text[0] != '\0' ? ": " : "", text);
			strlcpy_v(text, msg, sizeof(text));
			break;
		}
	} else if (WIFSIGNALED(st)) {
		sig = WTERMSIG(st);
		snprintf(msg, sizeof(msg), "killed by signal %d (%.20s)%s%.150s", sig,
		    strsignal(sig), text[0] != '\0' ? ": " : "", text);
		strlcpy_v(text, msg, sizeof(text));
	}
	if (text[0] == '\0' && status != PROBE_OK)
		strlcpy_v(text, "no output", sizeof(text));
	/* release frees er: nothing of it is used after this */
	probe_finish(run, status, "%s", text);
}

static void
exec_exited(void *arg, int status)
{
	struct exec_run	*er = arg;

	er->child = NULL;
	exec_children--;
	if (er->run == NULL || status == -1) {
		exec_close(er);
		exec_unlink(er);
		free(er);
		return;
	}
	exec_result(er, status);
}

static int
exec_max(void)
{
	if (vd != NULL && vd->conf != NULL && vd->conf->exec_max > 0)
		return vd->conf->exec_max;
	return EXEC_MAX_DEF;
}

static void
exec_start(struct probe_run *run)
{
	const struct exec_opts	*o = run->conf->opts;
	struct spawn_spec	 sp;
	struct exec_run		*er;
	struct stat		 sb;
	char			 err[160];
	int			 p[2];

	run->priv = NULL;
	if (exec_children >= exec_max()) {
		probe_done(run, PROBE_UNKNOWN, "exec_max: %d plugins already "
		    "running", exec_max());
		return;
	}
	/* the plugin may have gone since the config was checked */
	if (stat(o->argv[0], &sb) == -1) {
		probe_done(run, PROBE_UNKNOWN, "cannot run %s: %s", o->argv[0],
		    strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		probe_done(run, PROBE_UNKNOWN, "cannot run %s: not a regular "
		    "file", o->argv[0]);
		return;
	}
	memset(&sp, 0, sizeof(sp));
	if (o->user != NULL) {
		if (geteuid() == 0) {
			sp.drop = 1;
			sp.uid = o->uid;
			sp.gid = o->gid;
			sp.groups = o->groups;
			sp.ngroups = o->ngroups;
		} else if (geteuid() != o->uid) {
			probe_done(run, PROBE_UNKNOWN, "user %s: the agent runs "
			    "as uid %ld, not root, and cannot switch users",
			    o->user, (long)geteuid());
			return;
		}
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		probe_done(run, PROBE_UNKNOWN, "pipe: %s", strerror(errno));
		return;
	}
	(void)fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	sp.argv = o->argv;
	sp.envp = exec_env;
	sp.out_fd = p[1];
	sp.kill_group = 1;
	er = xcalloc(1, sizeof(*er));
	er->run = run;
	er->fd = p[0];
	er->child = spawn_start(&sp, exec_exited, er, err, sizeof(err));
	close(p[1]);
	if (er->child == NULL) {
		close(p[0]);
		free(er);
		probe_done(run, PROBE_UNKNOWN, "cannot run %s: %s", o->argv[0],
		    err);
		return;
	}
	exec_children++;
	er->next = exec_runs;
	exec_runs = er;
	run->priv = er;
	if (loop_fd_add(er->fd, EPOLLIN, exec_readable, er) == -1) {
		/* not watched: read once it exits */
		log_warnx("probe %s: cannot watch the plugin's output",
		    run->conf->name);
	}
}

static void
exec_release(void *priv)
{
	struct exec_run	*er = priv;

	exec_close(er);
	if (er->child != NULL) {
		/* timeout or cancel: the group goes, reaped when gone */
		er->run = NULL;
		spawn_kill(er->child, EXEC_GRACE_MS);
		return;
	}
	exec_unlink(er);
	free(er);
}

static void
exec_shutdown(void)
{
	struct exec_run	*er;

	while ((er = exec_runs) != NULL) {
		exec_runs = er->next;
		if (er->child != NULL) {
			(void)spawn_stop(er->child);
			exec_children--;
		}
		exec_close(er);
		free(er);
	}
}

static int
exec_check(struct probe_conf *c, const char **key, char *err, size_t errlen)
{
	struct exec_opts	*o = c->opts;
	struct passwd		*pw;
	struct stat		 sb;
	const char		*cmd = o->command != NULL ? o->command :
				    c->target;
	const char		*what = o->command != NULL ? "command" :
				    "target (the command)";
	gid_t			 groups[EXEC_GROUPS_MAX];
	int			 ng = EXEC_GROUPS_MAX;

	*key = o->command != NULL ? "command" : NULL;
	if ((o->argv = config_split_argv(cmd)) == NULL) {
		snprintf(err, errlen, "%s: '%s' is not a command (unbalanced "
		    "quotes?)", what, cmd);
		return -1;
	}
	if (o->argv[0] == NULL) {
		snprintf(err, errlen, "%s is empty", what);
		return -1;
	}
	if (o->argv[0][0] != '/') {
		snprintf(err, errlen, "%s: '%s' must be an absolute path "
		    "(plugins run without a shell)", what, o->argv[0]);
		return -1;
	}
	if (stat(o->argv[0], &sb) == -1) {
		snprintf(err, errlen, "%s: %s: %s", what, o->argv[0],
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 0111) == 0) {
		snprintf(err, errlen, "%s: %s is not an executable file", what,
		    o->argv[0]);
		return -1;
	}
	if (o->user == NULL)
		return 0;
	*key = "user";
	errno = 0;
	if ((pw = getpwnam(o->user)) == NULL) {
		snprintf(err, errlen, "user: no user '%s' on this system%s%s",
		    o->user, errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
		return -1;
	}
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) == -1) {
		snprintf(err, errlen, "user: '%s' is in more than %d groups",
		    o->user, EXEC_GROUPS_MAX);
		return -1;
	}
	o->groups = xreallocarray(NULL, (size_t)ng + 1, sizeof(gid_t));
	memcpy(o->groups, groups, (size_t)ng * sizeof(gid_t));
	o->ngroups = ng;
	return 0;
}

static void
exec_free_opts(void *opts)
{
	struct exec_opts	*o = opts;

	config_free_argv(o->argv);
	o->argv = NULL;
	free(o->groups);
	o->groups = NULL;
}

const struct probe_type probe_exec_type = {
	.name = "exec",
	.opts_size = sizeof(struct exec_opts),
	.keys = exec_keys,
	.target_from = "command",
	.check = exec_check,
	.free_opts = exec_free_opts,
	.shutdown = exec_shutdown,
	.start = exec_start,
	.release = exec_release,
};

/* ---------------------------------------------------------------- */
/* /metrics: vantage_probe_perfdata from each exec probe's last result. */

static void
exec_metric_label(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, "%s=\"", key);
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			buf_adds(b, "\\\\");
		else if (*v == '"')
			buf_adds(b, "\\\"");
		else if (*v == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *v);
	}
	buf_addc(b, '"');
}

void
probe_exec_metrics(struct buf *b, struct probe **ps, int n)
{
	cJSON		*doc, *arr, *it, *lab, *uom, *val, *prev;
	struct buf	 t;
	int		 i, j, k, dup;

	buf_init(&t);
	buf_adds(b, "# HELP vantage_probe_perfdata Performance data of the "
	    "last run of an exec probe (Nagios plugin), per label.\n"
	    "# TYPE vantage_probe_perfdata gauge\n");
	for (i = 0; i < n; i++) {
		if (ps[i]->conf->type != &probe_exec_type ||
		    !ps[i]->has_last || ps[i]->last.detail == NULL)
			continue;
		buf_reset(&t);
		buf_addc(&t, '{');
		buf_adds(&t, ps[i]->last.detail);
		buf_addc(&t, '}');
		doc = cJSON_ParseWithLength(t.data, t.len);
		if (doc == NULL)
			continue;
		arr = cJSON_GetObjectItem(doc, "perfdata");
		k = 0;
		cJSON_ArrayForEach(it, arr) {
			lab = cJSON_GetObjectItem(it, "label");
			uom = cJSON_GetObjectItem(it, "uom");
			val = cJSON_GetObjectItem(it, "value");
			if (!cJSON_IsString(lab) || !cJSON_IsString(uom) ||
			    !cJSON_IsNumber(val))
				goto next;
			/* one series per label: a repeated label keeps the
			 * first (Prometheus refuses duplicates) */
			dup = 0;
			j = 0;
			cJSON_ArrayForEach(prev, arr) {
				cJSON *pl;

				if (j++ >= k)
					break;
				pl = cJSON_GetObjectItem(prev, "label");
				if (cJSON_IsString(pl) && strcmp(pl->valuestring,
				    lab->valuestring) == 0)
					dup = 1;
			}
			if (dup)
				goto next;
			buf_adds(b, "vantage_probe_perfdata{");
			exec_metric_label(b, "probe", ps[i]->conf->name);
			buf_addc(b, ',');
			exec_metric_label(b, "label", lab->valuestring);
			buf_addc(b, ',');
			exec_metric_label(b, "uom", uom->valuestring);
			buf_printf(b, "} %.15g\n", val->valuedouble);
next:
			k++;
		}
		cJSON_Delete(doc);
	}
	buf_free(&t);
}
