/*
 * probe_tcp.c - "tcp" probes: a non-blocking connect to host:port, then
 * optionally TLS over it (tls_client.c, verified like the tls type),
 * bytes sent (send) and what comes back matched against a regex
 * (expect).  Without any of them a completed connect is success; the
 * error says how it failed (refused, unreachable; a timeout is the
 * engine's).
 *
 * What comes back is untrusted: at most TCP_EXPECT_MAX bytes are kept,
 * the regex runs on them as bytes (REG_STARTEND, a NUL is a byte), and
 * a reply that does not match is shown escaped and cut short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vantaged.h"

#define TCP_EXPECT_MAX	4096	/* bytes read for expect */
#define TCP_SEND_MAX	4096	/* decoded bytes of send */

/* The options of one tcp probe, described by tcp_keys[]. */
struct tcp_opts {
	char	*send;			/* as written, with escapes */
	char	*expect;
	int	 tls;
	char	*sni;
	int	 tls_verify;
	char	*ca;
	int	 cert_min_days;
	/* tcp_check's */
	char	*send_buf;		/* decoded */
	size_t	 send_len;
	regex_t	 expect_re;
	int	 expect_re_ok;
};

static const struct probe_key tcp_keys[] = {
	{ "send", CONF_STR, offsetof(struct tcp_opts, send), NULL,
	    "bytes to send once connected (\\r \\n \\t \\\\ \\xHH escapes)" },
	{ "expect", CONF_REGEX, offsetof(struct tcp_opts, expect), NULL,
	    "regex what the server sends back must match" },
	{ "tls", CONF_BOOL, offsetof(struct tcp_opts, tls), "no",
	    "TLS over the connection before send and expect" },
	{ "sni", CONF_STR, offsetof(struct tcp_opts, sni), NULL,
	    "with tls: name for SNI and verification (the host unless set)" },
	PROBE_KEYS_CERT(struct tcp_opts),
	{ NULL }
};

enum tcp_phase {
	TCP_CONNECTING,
	TCP_HANDSHAKING,
	TCP_SENDING,
	TCP_EXPECTING
};

struct tcp_run {
	struct probe_run	*run;
	enum tcp_phase		 phase;
	struct net_conn		*conn;		/* while connecting */
	int			 fd;
	char			 host[256];
	struct tls_client	*tc;		/* with tls */
	int			 verdict;	/* the TLS verdict */
	char			 verdict_err[PROBE_ERR_LEN];
	size_t			 sent;
	int64_t			 wait_us;	/* expect began */
	char			 in[TCP_EXPECT_MAX + 1];
	size_t			 inlen;
};

static void	tcp_io(int, uint32_t, void *);
static void	tcp_next(struct tcp_run *);

static void
tcp_close(struct tcp_run *t)
{
	if (t->conn != NULL) {
		net_connect_cancel(t->conn);
		t->conn = NULL;
	}
	tls_client_free(t->tc);
	t->tc = NULL;
	if (t->fd != -1) {
		loop_fd_del(t->fd);
		net_drain(t->fd);
		close(t->fd);
		t->fd = -1;
	}
}

/* The end of a run that got through: the TLS verdict stands. */
static void
tcp_ok(struct tcp_run *t)
{
	probe_finish(t->run, t->verdict, "%s", t->verdict_err);
}

static void
tcp_handshake(struct tcp_run *t)
{
	char		err[PROBE_ERR_LEN];
	uint32_t	ev = 0;

	switch (tls_client_handshake(t->tc, &ev, err, sizeof(err))) {
	case TLS_CLIENT_AGAIN:
		(void)loop_fd_mod(t->fd, ev);
		return;
	case TLS_CLIENT_DONE:
		t->verdict = tls_client_verdict(t->tc, &t->run->res,
		    t->verdict_err, sizeof(t->verdict_err));
		if (t->verdict == PROBE_FAIL) {
			probe_finish(t->run, PROBE_FAIL, "%s", t->verdict_err);
			return;
		}
		tcp_next(t);
		return;
	default:
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
}

static void
tcp_send(struct tcp_run *t)
{
	const struct tcp_opts	*o = t->run->conf->opts;
	char			 err[PROBE_ERR_LEN];
	uint32_t		 ev = EPOLLOUT;
	size_t			 put;
	ssize_t			 n;

	while (t->sent < o->send_len) {
		if (t->tc != NULL) {
			switch (tls_client_write(t->tc, o->send_buf + t->sent,
			    o->send_len - t->sent, &put, &ev, err,
			    sizeof(err))) {
			case TLS_CLIENT_DONE:
				t->sent += put;
				continue;
			case TLS_CLIENT_AGAIN:
				(void)loop_fd_mod(t->fd, ev);
				return;
			default:
				probe_finish(t->run, PROBE_FAIL, "send: %s",
				    err);
				return;
			}
		}
		n = write(t->fd, o->send_buf + t->sent, o->send_len - t->sent);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			(void)loop_fd_mod(t->fd, EPOLLOUT);
			return;
		}
		if (n == -1) {
			probe_finish(t->run, PROBE_FAIL, "send: %s",
			    strerror(errno));
			return;
		}
		t->sent += (size_t)n;
	}
	tcp_next(t);
}

/* What came back did not match: say what it was. */
static void
tcp_mismatch(struct tcp_run *t, const char *why)
{
	char	q[STARTTLS_QUOTE_LEN];

	if (t->inlen == 0) {
		probe_finish(t->run, PROBE_FAIL, "expect: connection closed "
		    "with nothing received");
		return;
	}
	starttls_quote(t->in, t->inlen, q, sizeof(q));
	probe_finish(t->run, PROBE_FAIL, "expect did not match (%s): got "
	    "\"%s\"", why, q);
}

static void
tcp_expect(struct tcp_run *t)
{
	const struct tcp_opts	*o = t->run->conf->opts;
	char			 err[PROBE_ERR_LEN];
	regmatch_t		 m;
	uint32_t		 ev = EPOLLIN;
	size_t			 got;
	ssize_t			 n;
	int			 eof = 0;

	/* drain what is there: TLS may hold records the socket does not */
	while (t->inlen < TCP_EXPECT_MAX) {
		if (t->tc != NULL) {
			switch (tls_client_read(t->tc, t->in + t->inlen,
			    TCP_EXPECT_MAX - t->inlen, &got, &ev, err,
			    sizeof(err))) {
			case TLS_CLIENT_DONE:
				n = (ssize_t)got;
				break;
			case TLS_CLIENT_EOF:
				n = 0;
				break;
			case TLS_CLIENT_AGAIN:
				(void)loop_fd_mod(t->fd, ev);
				n = -1;
				errno = EAGAIN;
				break;
			default:
				probe_finish(t->run, PROBE_FAIL, "expect: %s",
				    err);
				return;
			}
		} else
			n = read(t->fd, t->in + t->inlen,
			    TCP_EXPECT_MAX - t->inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n == -1) {
			probe_finish(t->run, PROBE_FAIL, "expect: read: %s",
			    strerror(errno));
			return;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		if (t->inlen == 0)
			t->run->res.ttfb_us = clock_mono_us() - t->wait_us;
		t->inlen += (size_t)n;
	}
	t->in[t->inlen] = '\0';
	m.rm_so = 0;
	m.rm_eo = (regoff_t)t->inlen;
	if (t->inlen > 0 &&
	    regexec(&o->expect_re, t->in, 1, &m, REG_STARTEND) == 0) {
		tcp_ok(t);
		return;
	}
	if (eof)
		tcp_mismatch(t, "connection closed");
	else if (t->inlen >= TCP_EXPECT_MAX)
		tcp_mismatch(t, "4096 bytes read");
}

/* After connect, handshake or send: the next step of the run. */
static void
tcp_next(struct tcp_run *t)
{
	const struct tcp_opts	*o = t->run->conf->opts;

	if (t->phase < TCP_SENDING && o->send_len > 0) {
		t->phase = TCP_SENDING;
		(void)loop_fd_mod(t->fd, EPOLLOUT);
		tcp_send(t);
		return;
	}
	if (t->phase < TCP_EXPECTING && o->expect_re_ok) {
		t->phase = TCP_EXPECTING;
		t->wait_us = clock_mono_us();
		(void)loop_fd_mod(t->fd, EPOLLIN);
		tcp_expect(t);
		return;
	}
	tcp_ok(t);
}

static void
tcp_io(int fd, uint32_t events, void *arg)
{
	struct tcp_run	*t = arg;

	switch (t->phase) {
	case TCP_HANDSHAKING:
		tcp_handshake(t);
		break;
	case TCP_SENDING:
		tcp_send(t);
		break;
	case TCP_EXPECTING:
		tcp_expect(t);
		break;
	case TCP_CONNECTING:
		break;
	}
}

static void
tcp_connected(struct probe_run *run, int fd, const char *err)
{
	struct tcp_run		*t = run->priv;
	const struct tcp_opts	*o = run->conf->opts;
	struct tls_client_conf	 tc = {
		.name = o->sni != NULL ? o->sni : t->host,
		.verify = o->tls_verify,
		.ca = o->ca,
		.cert_min_days = o->cert_min_days
	};
	char			 e[PROBE_ERR_LEN];

	t->conn = NULL;
	if (fd == -1) {
		probe_finish(run, PROBE_FAIL, "%s", err);
		return;
	}
	t->fd = fd;
	if (!o->tls && o->send_len == 0 && !o->expect_re_ok) {
		probe_finish(run, PROBE_OK, NULL);
		return;
	}
	if (loop_fd_add(fd, EPOLLOUT, tcp_io, t) == -1) {
		probe_finish(run, PROBE_FAIL, "epoll: %s", strerror(errno));
		return;
	}
	if (!o->tls) {
		tcp_next(t);
		return;
	}
	if ((t->tc = tls_client_new(fd, &tc, e, sizeof(e))) == NULL) {
		probe_finish(run, PROBE_FAIL, "%s", e);
		return;
	}
	t->phase = TCP_HANDSHAKING;
	tcp_handshake(t);
}

static void
tcp_start(struct probe_run *run)
{
	struct tcp_run	*t;
	struct net_conn	*c;
	char		 err[160];
	int		 port = -1;

	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->fd = -1;
	t->phase = TCP_CONNECTING;
	t->verdict = PROBE_OK;
	run->priv = t;
	if (net_split_target(run->conf->target, t->host, sizeof(t->host),
	    &port, 0, err, sizeof(err)) == -1 || port == 0) {
		probe_finish(run, PROBE_FAIL, "%s",
		    port == 0 ? "no port" : err);
		return;
	}
	/*
	 * tcp's own phase rules, kept from before net_connect(): a quick
	 * answer over 100 us counts as DNS, a failed connect as connect time.
	 * The run may be finished and freed when NULL comes back.
	 */
	if ((c = net_connect(t->host, port, NET_CONNECT_SLOW_DNS |
	    NET_CONNECT_FAIL_TIME, run, tcp_connected)) != NULL)
		t->conn = c;
}

static void
tcp_release(void *priv)
{
	tcp_close(priv);
	free(priv);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* send's escapes into o->send_buf; -1 + err on a bad one. */
static int
tcp_decode_send(struct tcp_opts *o, char *err, size_t errlen)
{
	const char	*s = o->send;
	char		*d;
	int		 hi, lo;

	o->send_buf = d = xcalloc(1, strlen(s) + 1);
	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			*d++ = *s;
			continue;
		}
		switch (*++s) {
		case 'r':
			*d++ = '\r';
			break;
		case 'n':
			*d++ = '\n';
			break;
		case 't':
			*d++ = '\t';
			break;
		case '\\':
			*d++ = '\\';
			break;
		case 'x':
			if ((hi = hexval((unsigned char)s[1])) == -1 ||
			    (lo = hexval((unsigned char)s[2])) == -1) {
				snprintf(err, errlen, "send: \\x needs two hex "
				    "digits");
				return -1;
			}
			*d++ = (char)(hi * 16 + lo);
			s += 2;
			break;
		case '\0':
			snprintf(err, errlen, "send: a lone \\ at the end "
			    "(write \\\\)");
			return -1;
		default:
			snprintf(err, errlen, "send: unknown escape \\%c "
			    "(\\r \\n \\t \\\\ \\xHH)", *s > ' ' && *s < 0x7f ?
			    *s : '?');
			return -1;
		}
	}
	o->send_len = (size_t)(d - o->send_buf);
	if (o->send_len == 0 || o->send_len > TCP_SEND_MAX) {
		snprintf(err, errlen, "send: %zu bytes (1 to %d)",
		    o->send_len, TCP_SEND_MAX);
		return -1;
	}
	return 0;
}

static int
tcp_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	struct tcp_opts	*o = c->opts;
	char		 host[256], msg[128];
	int		 port, rerr;

	if (net_split_target(c->target, host, sizeof(host), &port, 0, err,
	    errlen) == -1)
		return -1;
	if (port == 0) {
		snprintf(err, errlen, "target '%s' needs a port (host:port)",
		    c->target);
		return -1;
	}
	if (!o->tls && (o->sni != NULL || o->ca != NULL)) {
		snprintf(err, errlen, "%s needs tls = yes",
		    o->sni != NULL ? "sni" : "ca");
		*key = o->sni != NULL ? "sni" : "ca";
		return -1;
	}
	if (o->sni != NULL &&
	    tls_client_check_name("sni", o->sni, err, errlen) == -1) {
		*key = "sni";
		return -1;
	}
	if (o->ca != NULL && tls_client_check_ca(o->ca, err, errlen) == -1) {
		*key = "ca";
		return -1;
	}
	if (o->send != NULL && tcp_decode_send(o, err, errlen) == -1) {
		*key = "send";
		return -1;
	}
	if (o->expect != NULL) {
		if ((rerr = regcomp(&o->expect_re, o->expect,
		    REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rerr, &o->expect_re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regex: %s", msg);
			*key = "expect";
			return -1;
		}
		o->expect_re_ok = 1;
	}
	return 0;
}

static void
tcp_free_opts(void *opts)
{
	struct tcp_opts	*o = opts;

	free(o->send_buf);
	o->send_buf = NULL;
	if (o->expect_re_ok)
		regfree(&o->expect_re);
	o->expect_re_ok = 0;
}

static void
tcp_shutdown(void)
{
	tls_client_shutdown();
}

const struct probe_type probe_tcp_type = {
	.name = "tcp",
	.opts_size = sizeof(struct tcp_opts),
	.keys = tcp_keys,
	.check = tcp_check,
	.free_opts = tcp_free_opts,
	.shutdown = tcp_shutdown,
	.start = tcp_start,
	.release = tcp_release,
};
