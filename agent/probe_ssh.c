/*
 * probe_ssh.c - "ssh" probes with libssh2: TCP connect to host[:port]
 * (default 22), the SSH handshake, the host key's SHA256 fingerprint
 * checked against host_key, and optionally public-key authentication as
 * user and one command whose exit status must be expect_exit.
 *
 * The session is non-blocking and its socket sits in the loop: every
 * libssh2 call that returns LIBSSH2_ERROR_EAGAIN is retried from ssh_step()
 * when the socket is ready in the direction libssh2 says it is blocked
 * on (libssh2_session_block_directions).  libssh2 resumes a call it left
 * half done only when the same call is repeated, so each call is its own
 * phase.
 *
 * Teardown never waits for the server: after at most one disconnect
 * message the socket is shut down, which turns every libssh2 send or
 * receive during the frees into an immediate error instead of EAGAIN.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>

#include "vantaged.h"

/* The options of one ssh probe, described by ssh_keys[]. */
struct ssh_opts {
	char	*host_key;		/* "SHA256:base64" */
	char	*user;
	char	*key;			/* private key file */
	char	*command;
	int	 expect_exit;
};

static const struct probe_key ssh_keys[] = {
	{ "host_key", CONF_STR, offsetof(struct ssh_opts, host_key), NULL,
	    "the server's host key fingerprint, SHA256:base64" },
	{ "user", CONF_STR, offsetof(struct ssh_opts, user), NULL,
	    "user to authenticate as" },
	{ "key", CONF_SECRET, offsetof(struct ssh_opts, key), NULL,
	    "private key file to authenticate with" },
	{ "command", CONF_STR, offsetof(struct ssh_opts, command), NULL,
	    "command to run after authenticating" },
	{ "expect_exit", CONF_INT, offsetof(struct ssh_opts, expect_exit),
	    "0", "exit status the command must end with" },
	{ NULL }
};

#define SSH_DEFAULT_PORT 22
#define SSH_HOST_MAX	256
#define SSH_OUTPUT_MAX	512	/* last bytes kept of each stream */
#define SSH_FP_LEN	64	/* "SHA256:", 43 base64, NUL */
#define SSH_READ_SPINS	64	/* empty reads before a wait */

enum ssh_phase {
	SSH_CONNECTING,		/* net_connect() */
	SSH_HANDSHAKE,
	SSH_AUTH,
	SSH_OPEN,
	SSH_EXEC,
	SSH_READ,
	SSH_CLOSE
};

/* The end of what a command printed: the error is usually last. */
struct ssh_output {
	char	 buf[SSH_OUTPUT_MAX];
	size_t	 len;
};

struct ssh_run {
	struct probe_run	*run;
	enum ssh_phase		 phase;
	struct net_conn		*conn;		/* while connecting */
	int			 fd;
	LIBSSH2_SESSION		*session;
	LIBSSH2_CHANNEL		*channel;
	int			 handshaken;	/* a disconnect is due */
	char			 fp[SSH_FP_LEN];
	struct ssh_output	 out;		/* stdout */
	struct ssh_output	 err;		/* stderr */
	char			 host[SSH_HOST_MAX];
	int			 port;
};

static int	ssh_inited;

static void	ssh_io(int, uint32_t, void *);

/* libssh2's last error text for session, or fallback. */
static const char *
ssh_lasterr(LIBSSH2_SESSION *s, const char *fallback)
{
	char	*msg = NULL;

	if (s == NULL || libssh2_session_last_error(s, &msg, NULL, 0) == 0 ||
	    msg == NULL || msg[0] == '\0')
		return fallback;
	return msg;
}

/* Releases everything the run holds; safe to repeat. */
static void
ssh_close(struct ssh_run *t)
{
	int	i;

	if (t == NULL)
		return;
	if (t->conn != NULL) {
		net_connect_cancel(t->conn);
		t->conn = NULL;
	}
	if (t->session != NULL && t->handshaken && t->fd != -1) {
		/* Polite but never waited for: one try, EAGAIN ignored. */
		(void)libssh2_session_disconnect(t->session,
		    "vantaged probe done");
		t->handshaken = 0;
	}
	if (t->fd != -1) {
		loop_fd_del(t->fd);
		net_drain(t->fd);
		(void)shutdown(t->fd, SHUT_RDWR);
	}
	if (t->channel != NULL) {
		(void)libssh2_channel_free(t->channel);
		t->channel = NULL;
	}
	if (t->session != NULL) {
		/* With the socket shut down nothing can be EAGAIN for long. */
		for (i = 0; i < 8; i++) {
			if (libssh2_session_free(t->session) !=
			    LIBSSH2_ERROR_EAGAIN)
				break;
		}
		if (i == 8)
			log_warnx("%s: libssh2_session_free kept blocking",
			    __func__);
		t->session = NULL;
		t->channel = NULL;
	}
	if (t->fd != -1) {
		close(t->fd);
		t->fd = -1;
	}
}

/* Waits for the socket in the directions libssh2 is blocked on. */
static void
ssh_wait(struct ssh_run *t)
{
	int		dir;
	uint32_t	ev = 0;

	dir = libssh2_session_block_directions(t->session);
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		ev |= EPOLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		ev |= EPOLLOUT;
	if (ev == 0)
		ev = EPOLLIN;
	(void)loop_fd_mod(t->fd, ev);
}

/* "SHA256:" and unpadded base64, as ssh-keygen -l prints it. */
static int
ssh_fingerprint(LIBSSH2_SESSION *s, char *fp, size_t fplen)
{
	const unsigned char	*h;
	unsigned char		 b64[48];
	int			 n;

	if ((h = (const unsigned char *)libssh2_hostkey_hash(s,
	    LIBSSH2_HOSTKEY_HASH_SHA256)) == NULL)
		return -1;
	n = EVP_EncodeBlock(b64, h, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	snprintf(fp, fplen, "SHA256:%s", (const char *)b64);
	return 0;
}

/* Length of fp without base64 padding, for comparison. */
static size_t
ssh_fp_len(const char *fp)
{
	size_t	n = strlen(fp);

	while (n > 0 && fp[n - 1] == '=')
		n--;
	return n;
}

static void
ssh_keep_output(struct ssh_output *o, const char *buf, size_t n)
{
	size_t	cap = sizeof(o->buf) - 1;

	if (n >= cap) {
		buf += n - cap;
		n = cap;
	}
	if (o->len + n > cap) {
		memmove(o->buf, o->buf + (o->len + n - cap), cap - n);
		o->len = cap - n;
	}
	memcpy(o->buf + o->len, buf, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* The last non-empty line kept, control characters blanked; or NULL. */
static const char *
ssh_output_tail(struct ssh_output *o)
{
	char	*p, *e;

	o->buf[o->len] = '\0';
	e = o->buf + o->len;
	while (e > o->buf && (e[-1] == '\n' || e[-1] == '\r' ||
	    e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (e == o->buf)
		return NULL;
	p = e;
	while (p > o->buf && p[-1] != '\n')
		p--;
	for (e = p; *e != '\0'; e++) {
		if ((unsigned char)*e < ' ' || (unsigned char)*e == 0x7f)
			*e = ' ';
	}
	return p;
}

static void
ssh_command_done(struct ssh_run *t)
{
	struct probe_run	*run = t->run;
	const struct probe_conf	*c = run->conf;
	const struct ssh_opts	*o = c->opts;
	char			*sig = NULL;
	char			 signame[32];
	const char		*tail;
	int			 status;

	(void)libssh2_channel_get_exit_signal(t->channel, &sig, NULL, NULL,
	    NULL, NULL, NULL);
	signame[0] = '\0';
	if (sig != NULL) {
		strlcpy_v(signame, sig, sizeof(signame));
		libssh2_free(t->session, sig);
	}
	status = libssh2_channel_get_exit_status(t->channel);
	/* stderr explains a failure better than stdout, when there is any */
	if ((tail = ssh_output_tail(&t->err)) == NULL)
		tail = ssh_output_tail(&t->out);
	if (signame[0] != '\0') {
		probe_finish(t->run, PROBE_FAIL,
		    "command killed by signal %s%s%s", signame,
		    tail != NULL ? ": " : "", tail != NULL ? tail : "");
		return;
	}
	run->res.code = status;
	if (status != o->expect_exit) {
		probe_finish(t->run, PROBE_FAIL,
		    "command exited %d, expected %d%s%s", status,
		    o->expect_exit, tail != NULL ? ": " : "",
		    tail != NULL ? tail : "");
		return;
	}
	probe_finish(t->run, PROBE_OK, NULL);
}

/*
 * Reads stdout and stderr until EOF.  Returns 1 at EOF, 0 when it has
 * to wait, -1 after finishing the run with an error.
 */
static int
ssh_read(struct ssh_run *t)
{
	char	buf[4096];
	ssize_t	n, m;
	int	spins = 0;

	for (;;) {
		n = libssh2_channel_read(t->channel, buf, sizeof(buf));
		if (n > 0) {
			ssh_keep_output(&t->out, buf, (size_t)n);
			spins = 0;
			continue;
		}
		m = libssh2_channel_read_stderr(t->channel, buf, sizeof(buf));
		if (m > 0) {
			ssh_keep_output(&t->err, buf, (size_t)m);
			spins = 0;
			continue;
		}
		if ((n < 0 && n != LIBSSH2_ERROR_EAGAIN) ||
		    (m < 0 && m != LIBSSH2_ERROR_EAGAIN)) {
			probe_finish(t->run, PROBE_FAIL,
			    "reading command output: %s",
			    ssh_lasterr(t->session, "failed"));
			return -1;
		}
		if (libssh2_channel_eof(t->channel))
			return 1;
		if (n == LIBSSH2_ERROR_EAGAIN || m == LIBSSH2_ERROR_EAGAIN ||
		    ++spins >= SSH_READ_SPINS)
			return 0;
	}
}

/* Runs the session forward until it blocks or the run is finished. */
static void
ssh_step(struct ssh_run *t)
{
	struct probe_run	*run = t->run;
	const struct probe_conf	*c = run->conf;
	const struct ssh_opts	*o = c->opts;
	int			 rc;

	for (;;) {
		switch (t->phase) {
		case SSH_CONNECTING:
			/* not driven from here */
			return;
		case SSH_HANDSHAKE:
			rc = libssh2_session_handshake(t->session, t->fd);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				goto wait;
			if (rc != 0) {
				probe_finish(t->run, PROBE_FAIL,
				    "SSH handshake: %s",
				    ssh_lasterr(t->session, "failed"));
				return;
			}
			t->handshaken = 1;
			if (ssh_fingerprint(t->session, t->fp,
			    sizeof(t->fp)) == -1) {
				probe_finish(
				    t->run, PROBE_FAIL, "no host key hash");
				return;
			}
			log_debug("probe %s: host key %s", c->name, t->fp);
			if (o->host_key != NULL && (ssh_fp_len(o->host_key) !=
			    strlen(t->fp) || strncmp(o->host_key, t->fp,
			    strlen(t->fp)) != 0)) {
				probe_finish(t->run, PROBE_FAIL,
				    "host key mismatch: "
				    "got %s, expected %s",
				    t->fp, o->host_key);
				return;
			}
			if (o->user == NULL) {
				probe_finish(t->run, PROBE_OK, NULL);
				return;
			}
			t->phase = SSH_AUTH;
			break;
		case SSH_AUTH:
			rc = libssh2_userauth_publickey_fromfile_ex(t->session,
			    o->user, (unsigned int)strlen(o->user), NULL,
			    o->key, NULL);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				goto wait;
			if (rc != 0) {
				probe_finish(t->run, PROBE_FAIL,
				    "authentication "
				    "as %s failed: %s (host key %s)",
				    o->user, ssh_lasterr(t->session, "refused"),
				    t->fp);
				return;
			}
			if (o->command == NULL) {
				probe_finish(t->run, PROBE_OK, NULL);
				return;
			}
			t->phase = SSH_OPEN;
			break;
		case SSH_OPEN:
			t->channel = libssh2_channel_open_session(t->session);
			if (t->channel == NULL) {
				if (libssh2_session_last_errno(t->session) ==
				    LIBSSH2_ERROR_EAGAIN)
					goto wait;
				probe_finish(t->run, PROBE_FAIL, "opening a "
				    "channel: %s",
				    ssh_lasterr(t->session, "refused"));
				return;
			}
			t->phase = SSH_EXEC;
			break;
		case SSH_EXEC:
			rc = libssh2_channel_exec(t->channel, o->command);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				goto wait;
			if (rc != 0) {
				probe_finish(t->run, PROBE_FAIL, "exec: %s",
				    ssh_lasterr(t->session, "refused"));
				return;
			}
			t->phase = SSH_READ;
			break;
		case SSH_READ:
			if ((rc = ssh_read(t)) == -1)
				return;
			if (rc == 0)
				goto wait;
			t->phase = SSH_CLOSE;
			break;
		case SSH_CLOSE:
			/* Waits for the server's close (after exit-status). */
			rc = libssh2_channel_close(t->channel);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				goto wait;
			if (rc != 0) {
				probe_finish(t->run, PROBE_FAIL, "closing the "
				    "channel: %s",
				    ssh_lasterr(t->session, "failed"));
				return;
			}
			ssh_command_done(t);
			return;
		}
	}

wait:
	ssh_wait(t);
}

static void
ssh_io(int fd, uint32_t events, void *arg)
{
	ssh_step(arg);
}

static void
ssh_connected(struct probe_run *run, int fd, const char *err)
{
	struct ssh_run	*t = run->priv;

	t->conn = NULL;
	if (fd == -1) {
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
	t->fd = fd;
	if (loop_fd_add(t->fd, EPOLLOUT, ssh_io, t) == -1) {
		probe_finish(t->run, PROBE_FAIL, "epoll: %s", strerror(errno));
		return;
	}
	if ((t->session = libssh2_session_init_ex(NULL, NULL, NULL,
	    NULL)) == NULL) {
		probe_finish(t->run, PROBE_FAIL, "libssh2_session_init failed");
		return;
	}
	libssh2_session_set_blocking(t->session, 0);
	t->phase = SSH_HANDSHAKE;
	ssh_step(t);
}

static void
ssh_start(struct probe_run *run)
{
	struct ssh_run		*t;
	struct net_conn		*c;
	char			 err[PROBE_ERR_LEN];

	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->fd = -1;
	t->phase = SSH_CONNECTING;
	run->priv = t;
	if (!ssh_inited) {
		probe_finish(t->run, PROBE_FAIL, "libssh2 is not initialised");
		return;
	}
	if (net_split_target(run->conf->target, t->host, sizeof(t->host),
	    &t->port, SSH_DEFAULT_PORT, err, sizeof(err)) == -1) {
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
	/*
	 * The callback may run (and finish the run, freeing t) before
	 * net_connect returns; t is only touched again when it did not.
	 */
	if ((c = net_connect(t->host, t->port, NET_CONNECT_ERR_ADDR, run,
	    ssh_connected)) != NULL)
		t->conn = c;
}

static void
ssh_release(void *priv)
{
	ssh_close(priv);
	free(priv);
}

/* "SHA256:" then 43 base64 characters (32 bytes), padding optional. */
static int
ssh_valid_fp(const char *fp)
{
	const char	*p;
	size_t		 n;

	if (strncmp(fp, "SHA256:", 7) != 0)
		return 0;
	p = fp + 7;
	n = ssh_fp_len(p);
	if (n != 43 || strlen(p) > 44)
		return 0;
	for (; n > 0; n--, p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '+' || *p == '/'))
			return 0;
	}
	return 1;
}

static int
ssh_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	const struct ssh_opts	*o = c->opts;
	char		host[SSH_HOST_MAX];
	int		port;

	(void)key;	/* the target line, as for every check */

	if (net_split_target(c->target, host, sizeof(host), &port,
	    SSH_DEFAULT_PORT, err, errlen) == -1)
		return -1;
	if (o->host_key != NULL && !ssh_valid_fp(o->host_key)) {
		snprintf(err, errlen, "host_key '%s' is not a SHA256 "
		    "fingerprint (SHA256:base64, as ssh-keygen -l prints)",
		    o->host_key);
		return -1;
	}
	if ((o->user == NULL) != (o->key == NULL)) {
		snprintf(err, errlen, "user and key go together (public-key "
		    "authentication)");
		return -1;
	}
	if (o->command != NULL && o->user == NULL) {
		snprintf(err, errlen, "command needs user and key");
		return -1;
	}
	if (o->user != NULL && (o->user[0] == '\0' || strlen(o->user) > 255)) {
		snprintf(err, errlen, "bad user '%s'", o->user);
		return -1;
	}
	if (o->command != NULL && o->command[0] == '\0') {
		snprintf(err, errlen, "command is empty");
		return -1;
	}
	if (o->expect_exit < 0 || o->expect_exit > 255) {
		snprintf(err, errlen, "expect_exit %d is not 0-255",
		    o->expect_exit);
		return -1;
	}
	/* the key file's secrecy is checked by the config, as a CONF_SECRET */
	return 0;
}

static int
ssh_init(char *err, size_t errlen)
{
	if (ssh_inited)
		return 0;
	if (libssh2_init(0) != 0) {
		snprintf(err, errlen, "libssh2_init failed");
		return -1;
	}
	ssh_inited = 1;
	return 0;
}

static void
ssh_shutdown(void)
{
	if (!ssh_inited)
		return;
	libssh2_exit();
	ssh_inited = 0;
}

const struct probe_type probe_ssh_type = {
	.name = "ssh",
	.opts_size = sizeof(struct ssh_opts),
	.keys = ssh_keys,
	.check = ssh_check,
	.init = ssh_init,
	.shutdown = ssh_shutdown,
	.start = ssh_start,
	.release = ssh_release,
};
