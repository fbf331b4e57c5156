/*
 * probe_tls.c - "tls" probes: TCP connect to host:port (default 443),
 * optionally the plaintext STARTTLS dialogue of SMTP, IMAP or POP3, then
 * a TLS handshake driven by the loop and the verdict of tls_client.c:
 * chain and host name verification, the days left on the chain, the
 * version negotiated, a stapled OCSP response.  No application data is
 * ever sent over TLS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "vantaged.h"

/* The options of one tls probe, described by tls_keys[]. */
struct tls_opts {
	char			*server_name;	/* the same as sni */
	char			*sni;		/* the host unless set */
	int			 tls_verify;
	char			*ca;
	int			 cert_min_days;
	char			*starttls;
	char			*min_version;
	char			*expect_ocsp;
	/* tls_check's */
	enum starttls_proto	 proto;
	int			 min_ver;
};

static const struct probe_key tls_keys[] = {
	{ "sni", CONF_STR, offsetof(struct tls_opts, sni), NULL,
	    "name for SNI and verification (the host unless set)" },
	{ "server_name", CONF_STR, offsetof(struct tls_opts, server_name),
	    NULL, "the older name of sni" },
	PROBE_KEYS_CERT(struct tls_opts),
	{ "starttls", CONF_STR, offsetof(struct tls_opts, starttls), NULL,
	    "smtp, imap or pop3: upgrade a plaintext session" },
	{ "min_version", CONF_STR, offsetof(struct tls_opts, min_version),
	    NULL, "1.2 or 1.3: refuse older TLS versions" },
	{ "expect_ocsp", CONF_STR, offsetof(struct tls_opts, expect_ocsp),
	    NULL, "good: check the server's stapled OCSP response" },
	{ NULL }
};

#define TLS_DEFAULT_PORT	443
#define TLS_HOST_MAX		256

enum tls_phase {
	TLS_CONNECTING,		/* net_connect() */
	TLS_PLAIN,		/* the STARTTLS dialogue */
	TLS_HANDSHAKING
};

struct tls_run {
	struct probe_run	*run;
	enum tls_phase		 phase;
	struct net_conn		*conn;		/* while connecting */
	int			 fd;
	struct tls_client	*tc;
	struct starttls		*st;		/* with starttls */
	size_t			 sent;		/* of st->out */
	char			 host[TLS_HOST_MAX];
	int			 port;
};

static void	tls_io(int, uint32_t, void *);

/* The name for SNI and verification. */
static const char *
tls_name(const struct tls_opts *o, const char *host)
{
	if (o->sni != NULL)
		return o->sni;
	if (o->server_name != NULL)
		return o->server_name;
	return host;
}

/* Releases everything the run holds; safe to repeat. */
static void
tls_close(struct tls_run *t)
{
	if (t == NULL)
		return;
	if (t->conn != NULL) {
		net_connect_cancel(t->conn);
		t->conn = NULL;
	}
	tls_client_free(t->tc);
	t->tc = NULL;
	free(t->st);
	t->st = NULL;
	if (t->fd != -1) {
		loop_fd_del(t->fd);
		net_drain(t->fd);
		close(t->fd);
		t->fd = -1;
	}
}

static void
tls_handshake(struct tls_run *t)
{
	char		err[PROBE_ERR_LEN];
	uint32_t	ev = 0;
	int		verdict;

	switch (tls_client_handshake(t->tc, &ev, err, sizeof(err))) {
	case TLS_CLIENT_AGAIN:
		(void)loop_fd_mod(t->fd, ev);
		return;
	case TLS_CLIENT_DONE:
		verdict = tls_client_verdict(t->tc, &t->run->res, err,
		    sizeof(err));
		probe_finish(t->run, verdict, "%s", err);
		return;
	default:
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
}

static void
tls_handshake_begin(struct tls_run *t)
{
	const struct tls_opts	*o = t->run->conf->opts;
	struct tls_client_conf	 tc = {
		.name = tls_name(o, t->host),
		.verify = o->tls_verify,
		.ca = o->ca,
		.cert_min_days = o->cert_min_days,
		.min_version = o->min_ver,
		.ocsp = o->expect_ocsp != NULL
	};
	char			 err[PROBE_ERR_LEN];

	if ((t->tc = tls_client_new(t->fd, &tc, err, sizeof(err))) == NULL) {
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
	t->phase = TLS_HANDSHAKING;
	(void)loop_fd_mod(t->fd, EPOLLOUT);
	tls_handshake(t);
}

/*
 * The STARTTLS dialogue: write what the parser queued, else read what
 * the server says and let the parser decide.  Reads are bounded by the
 * parser's buffer; the engine's timeout bounds a server that stalls.
 */
static void
tls_plain(struct tls_run *t)
{
	struct starttls	*st = t->st;
	const char	*proto = starttls_proto_name(st->proto);
	char		 err[PROBE_ERR_LEN];
	ssize_t		 n;

	if (t->sent < st->outlen) {
		n = write(t->fd, st->out + t->sent, st->outlen - t->sent);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			(void)loop_fd_mod(t->fd, EPOLLOUT);
			return;
		}
		if (n == -1) {
			probe_finish(t->run, PROBE_FAIL, "%s: write: %s",
			    proto, strerror(errno));
			return;
		}
		t->sent += (size_t)n;
		if (t->sent < st->outlen) {
			(void)loop_fd_mod(t->fd, EPOLLOUT);
			return;
		}
		(void)loop_fd_mod(t->fd, EPOLLIN);
		return;
	}
	n = read(t->fd, st->in + st->inlen, sizeof(st->in) - st->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		probe_finish(t->run, PROBE_FAIL, "%s: read: %s", proto,
		    strerror(errno));
		return;
	}
	if (n == 0) {
		probe_finish(t->run, PROBE_FAIL, "%s: connection closed by "
		    "the server before STARTTLS", proto);
		return;
	}
	st->inlen += (size_t)n;
	switch (starttls_next(st, err, sizeof(err))) {
	case STARTTLS_MORE:
		return;
	case STARTTLS_SEND:
		t->sent = 0;
		tls_plain(t);	/* writes at once: the socket is idle */
		return;
	case STARTTLS_READY:
		tls_handshake_begin(t);
		return;
	case STARTTLS_FAIL:
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
}

static void
tls_io(int fd, uint32_t events, void *arg)
{
	struct tls_run	*t = arg;

	switch (t->phase) {
	case TLS_PLAIN:
		tls_plain(t);
		break;
	case TLS_HANDSHAKING:
		tls_handshake(t);
		break;
	case TLS_CONNECTING:
		/* not registered */
		break;
	}
}

static void
tls_connected(struct probe_run *run, int fd, const char *err)
{
	struct tls_run		*t = run->priv;
	const struct tls_opts	*o = run->conf->opts;
	char			 helo[256];

	t->conn = NULL;
	if (fd == -1) {
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
	t->fd = fd;
	if (o->proto == STARTTLS_NONE) {
		if (loop_fd_add(t->fd, EPOLLOUT, tls_io, t) == -1) {
			probe_finish(t->run, PROBE_FAIL, "epoll: %s",
			    strerror(errno));
			return;
		}
		tls_handshake_begin(t);
		return;
	}
	/* the server speaks first in all three */
	if (gethostname(helo, sizeof(helo)) == -1)
		helo[0] = '\0';
	helo[sizeof(helo) - 1] = '\0';
	t->st = xcalloc(1, sizeof(*t->st));
	starttls_init(t->st, o->proto, helo);
	t->phase = TLS_PLAIN;
	if (loop_fd_add(t->fd, EPOLLIN, tls_io, t) == -1)
		probe_finish(t->run, PROBE_FAIL, "epoll: %s", strerror(errno));
}

static void
tls_start(struct probe_run *run)
{
	struct tls_run		*t;
	struct net_conn		*c;
	char			 err[PROBE_ERR_LEN];

	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->fd = -1;
	t->phase = TLS_CONNECTING;
	run->priv = t;
	if (net_split_target(run->conf->target, t->host, sizeof(t->host),
	    &t->port, TLS_DEFAULT_PORT, err, sizeof(err)) == -1) {
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
	/*
	 * The callback may run (and finish the run, freeing t) before
	 * net_connect returns; t is only touched again when it did not.
	 */
	if ((c = net_connect(t->host, t->port, NET_CONNECT_ERR_ADDR, run,
	    tls_connected)) != NULL)
		t->conn = c;
}

static void
tls_release(void *priv)
{
	tls_close(priv);
	free(priv);
}

static int
tls_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	struct tls_opts	*o = c->opts;
	char		 host[TLS_HOST_MAX];
	int		 port;

	if (net_split_target(c->target, host, sizeof(host), &port,
	    TLS_DEFAULT_PORT, err, errlen) == -1)
		return -1;
	if (o->sni != NULL && o->server_name != NULL &&
	    strcmp(o->sni, o->server_name) != 0) {
		snprintf(err, errlen, "sni and server_name are the same "
		    "key: give one");
		*key = "server_name";
		return -1;
	}
	if (o->sni != NULL &&
	    tls_client_check_name("sni", o->sni, err, errlen) == -1) {
		*key = "sni";
		return -1;
	}
	if (o->server_name != NULL && tls_client_check_name("server_name",
	    o->server_name, err, errlen) == -1) {
		*key = "server_name";
		return -1;
	}
	if (o->ca != NULL && tls_client_check_ca(o->ca, err, errlen) == -1) {
		*key = "ca";
		return -1;
	}
	o->proto = STARTTLS_NONE;
	if (o->starttls != NULL &&
	    starttls_proto_parse(o->starttls, &o->proto) == -1) {
		snprintf(err, errlen, "starttls must be smtp, imap or pop3, "
		    "not '%s'", o->starttls);
		*key = "starttls";
		return -1;
	}
	o->min_ver = 0;
	if (o->min_version != NULL) {
		if (strcmp(o->min_version, "1.2") == 0)
			o->min_ver = TLS1_2_VERSION;
		else if (strcmp(o->min_version, "1.3") == 0)
			o->min_ver = TLS1_3_VERSION;
		else {
			snprintf(err, errlen, "min_version must be 1.2 or "
			    "1.3, not '%s'", o->min_version);
			*key = "min_version";
			return -1;
		}
	}
	if (o->expect_ocsp != NULL && strcmp(o->expect_ocsp, "good") != 0) {
		snprintf(err, errlen, "expect_ocsp must be good, not '%s'",
		    o->expect_ocsp);
		*key = "expect_ocsp";
		return -1;
	}
	return 0;
}

static void
tls_shutdown(void)
{
	tls_client_shutdown();
}

const struct probe_type probe_tls_type = {
	.name = "tls",
	.opts_size = sizeof(struct tls_opts),
	.keys = tls_keys,
	.check = tls_check,
	.init = NULL,
	.shutdown = tls_shutdown,
	.start = tls_start,
	.release = tls_release,
};
