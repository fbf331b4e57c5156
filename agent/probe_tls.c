/*
 * probe_tls.c - "tls" probes: TCP connect to host:port (default 443), a
 * TLS handshake driven by the loop, chain and host name verification and
 * the days left on the leaf certificate.
 *
 * The handshake always runs with SSL_VERIFY_NONE and the verification
 * result is read afterwards: OpenSSL verifies the chain either way, and
 * a handshake that completes gives us the certificate's expiry even when
 * the chain is bad, which is what an operator wants to see next to the
 * verify error.  No application data is ever sent.
 *
 * The OpenSSL error queue is per thread and shared with libcurl on the
 * loop thread, so it is cleared before and after every call that may
 * fill it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "vantaged.h"

/* The options of one tls probe, described by tls_keys[]. */
struct tls_opts {
	char	*server_name;		/* SNI; the host unless set */
	int	 tls_verify;
	char	*ca;
	int	 cert_min_days;
};

static const struct probe_key tls_keys[] = {
	{ "server_name", CONF_STR, offsetof(struct tls_opts, server_name),
	    NULL, "name for SNI and verification (the host unless set)" },
	PROBE_KEYS_CERT(struct tls_opts),
	{ NULL }
};

#define TLS_DEFAULT_PORT	443
#define TLS_HOST_MAX		256

enum tls_phase {
	TLS_CONNECTING,		/* net_connect() */
	TLS_HANDSHAKING,
	TLS_DONE		/* handshake completed: close_notify is due */
};

struct tls_run {
	struct probe_run	*run;
	enum tls_phase		 phase;
	struct net_conn		*conn;		/* while connecting */
	int			 fd;
	SSL_CTX			*ctx;		/* for conf->ca */
	SSL			*ssl;
	int64_t			 tls_us;	/* handshake start */
	char			 host[TLS_HOST_MAX];
	int			 port;
};

/* System CAs, shared by every run that does not name its own CA file. */
static SSL_CTX	*tls_ctx;

static void	tls_io(int, uint32_t, void *);

static int
tls_is_ip(const char *s)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

/* The reason of the oldest queued OpenSSL error, or fallback. */
static const char *
tls_ssl_reason(const char *fallback)
{
	unsigned long	 e = ERR_peek_error();
	const char	*r;

	if (e == 0 || (r = ERR_reason_error_string(e)) == NULL)
		return fallback;
	return r;
}

static SSL_CTX *
tls_ctx_new(const char *ca, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s",
		    tls_ssl_reason("failed"));
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Each run measures a full handshake: no session resumption. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			snprintf(err, errlen, "ca %s: %s", ca,
			    tls_ssl_reason("cannot load"));
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "system CA store: %s",
		    tls_ssl_reason("cannot load"));
		goto fail;
	}
	ERR_clear_error();
	return ctx;

fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
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
	if (t->ssl != NULL) {
		ERR_clear_error();
		/*
		 * One non-blocking close_notify after a completed handshake;
		 * the peer's is never waited for.
		 */
		if (t->phase == TLS_DONE) {
			net_drain(t->fd);
			(void)SSL_shutdown(t->ssl);
		}
		SSL_free(t->ssl);
		t->ssl = NULL;
		ERR_clear_error();
	}
	if (t->fd != -1) {
		loop_fd_del(t->fd);
		net_drain(t->fd);
		close(t->fd);
		t->fd = -1;
	}
	if (t->ctx != NULL) {
		SSL_CTX_free(t->ctx);
		t->ctx = NULL;
	}
}

/* Whole days until notAfter, rounded down (an expired cert is < 0). */
static int
tls_cert_days(X509 *cert, int *days)
{
	const ASN1_TIME	*na;
	int		 d, s;

	if ((na = X509_get0_notAfter(cert)) == NULL ||
	    ASN1_TIME_diff(&d, &s, NULL, na) != 1)
		return -1;
	if (s < 0)
		d--;
	*days = d;
	return 0;
}

static void
tls_handshake_done(struct tls_run *t)
{
	struct probe_run	*run = t->run;
	const struct probe_conf	*c = run->conf;
	const struct tls_opts	*o = c->opts;
	X509			*cert;
	long			 v;
	int			 days;

	t->phase = TLS_DONE;
	run->res.tls_us = clock_mono_us() - t->tls_us;
	if ((cert = SSL_get1_peer_certificate(t->ssl)) == NULL) {
		probe_finish(t->run, PROBE_FAIL, "server sent no certificate");
		return;
	}
	if (tls_cert_days(cert, &days) == 0) {
		run->res.has_cert = 1;
		run->res.cert_days = days;
	}
	X509_free(cert);
	ERR_clear_error();
	if (o->tls_verify && (v = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
		    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
			probe_finish(t->run, PROBE_FAIL,
			    "certificate verify failed: "
			    "%s (expected %s)",
			    X509_verify_cert_error_string(v),
			    o->server_name != NULL ? o->server_name : t->host);
		else
			probe_finish(t->run, PROBE_FAIL,
			    "certificate verify failed: "
			    "%s",
			    X509_verify_cert_error_string(v));
		return;
	}
	probe_finish(t->run, PROBE_OK, NULL);
}

static void
tls_handshake(struct tls_run *t)
{
	int	rc, saved;

	ERR_clear_error();
	errno = 0;
	rc = SSL_connect(t->ssl);
	saved = errno;
	if (rc == 1) {
		tls_handshake_done(t);
		return;
	}
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		(void)loop_fd_mod(t->fd, EPOLLIN);
		return;
	case SSL_ERROR_WANT_WRITE:
		(void)loop_fd_mod(t->fd, EPOLLOUT);
		return;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() != 0)
			probe_finish(t->run, PROBE_FAIL, "TLS handshake: %s",
			    tls_ssl_reason("failed"));
		else if (saved == 0)
			probe_finish(t->run, PROBE_FAIL,
			    "TLS handshake: connection "
			    "closed by peer");
		else
			probe_finish(t->run, PROBE_FAIL, "TLS handshake: %s",
			    strerror(saved));
		return;
	case SSL_ERROR_ZERO_RETURN:
		probe_finish(t->run, PROBE_FAIL,
		    "TLS handshake: connection closed "
		    "by peer");
		return;
	default:
		probe_finish(t->run, PROBE_FAIL, "TLS handshake: %s",
		    tls_ssl_reason("failed"));
		return;
	}
}

static void
tls_handshake_begin(struct tls_run *t)
{
	const struct probe_conf	*c = t->run->conf;
	const struct tls_opts	*o = c->opts;
	SSL_CTX			*ctx = tls_ctx;
	const char		*name;
	char			 err[PROBE_ERR_LEN];

	if (o->tls_verify && o->ca != NULL) {
		if ((t->ctx = tls_ctx_new(o->ca, err, sizeof(err))) == NULL) {
			probe_finish(t->run, PROBE_FAIL, "%s", err);
			return;
		}
		ctx = t->ctx;
	}
	if (ctx == NULL) {
		/*
		 * The shared context parses the system CA bundle: done on
		 * the first tls probe, not at start, so agents without tls
		 * probes never pay for it and READY comes sooner.
		 */
		if ((tls_ctx = tls_ctx_new(NULL, err, sizeof(err))) == NULL) {
			probe_finish(t->run, PROBE_FAIL, "%s", err);
			return;
		}
		ctx = tls_ctx;
	}
	ERR_clear_error();
	if ((t->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(t->ssl, t->fd) != 1) {
		probe_finish(t->run, PROBE_FAIL, "SSL_new: %s",
		    tls_ssl_reason("failed"));
		return;
	}
	name = o->server_name != NULL ? o->server_name : t->host;
	/* RFC 6066: SNI carries host names only, never address literals. */
	if (!tls_is_ip(name) && SSL_set_tlsext_host_name(t->ssl, name) != 1) {
		probe_finish(t->run, PROBE_FAIL, "server name '%s': %s", name,
		    tls_ssl_reason("rejected"));
		return;
	}
	if (o->tls_verify) {
		int rc;

		if (tls_is_ip(name))
			rc = X509_VERIFY_PARAM_set1_ip_asc(
			    SSL_get0_param(t->ssl), name);
		else
			rc = SSL_set1_host(t->ssl, name);
		if (rc != 1) {
			probe_finish(t->run, PROBE_FAIL, "server name '%s': %s",
			    name, tls_ssl_reason("rejected"));
			return;
		}
	}
	t->phase = TLS_HANDSHAKING;
	t->tls_us = clock_mono_us();
	tls_handshake(t);
}

static void
tls_io(int fd, uint32_t events, void *arg)
{
	struct tls_run	*t = arg;

	switch (t->phase) {
	case TLS_HANDSHAKING:
		tls_handshake(t);
		break;
	case TLS_CONNECTING:
	case TLS_DONE:
		/* not registered in these phases */
		break;
	}
}

static void
tls_connected(struct probe_run *run, int fd, const char *err)
{
	struct tls_run	*t = run->priv;

	t->conn = NULL;
	if (fd == -1) {
		probe_finish(t->run, PROBE_FAIL, "%s", err);
		return;
	}
	t->fd = fd;
	if (loop_fd_add(t->fd, EPOLLOUT, tls_io, t) == -1) {
		probe_finish(t->run, PROBE_FAIL, "epoll: %s", strerror(errno));
		return;
	}
	tls_handshake_begin(t);
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
	const struct tls_opts	*o = c->opts;
	char		 host[TLS_HOST_MAX];
	int		 port;
	X509_STORE	*st = NULL;
	const char	*p;

	(void)key;	/* the target line, as for every check */

	if (net_split_target(c->target, host, sizeof(host), &port,
	    TLS_DEFAULT_PORT, err, errlen) == -1)
		return -1;
	if (o->server_name != NULL) {
		if (o->server_name[0] == '\0' ||
		    strlen(o->server_name) > 253) {
			snprintf(err, errlen, "bad server_name '%s'",
			    o->server_name);
			return -1;
		}
		for (p = o->server_name; *p != '\0'; p++) {
			if (*p <= ' ' || *p == '/' || *p >= 0x7f) {
				snprintf(err, errlen, "bad server_name '%s'",
				    o->server_name);
				return -1;
			}
		}
	}
	if (o->ca != NULL) {
		if (access(o->ca, R_OK) == -1) {
			snprintf(err, errlen, "ca %s: %s", o->ca,
			    strerror(errno));
			return -1;
		}
		ERR_clear_error();
		if ((st = X509_STORE_new()) == NULL ||
		    X509_STORE_load_file(st, o->ca) != 1) {
			snprintf(err, errlen, "ca %s: %s", o->ca,
			    tls_ssl_reason("no certificates in it"));
			goto fail;
		}
		X509_STORE_free(st);
		ERR_clear_error();
	}
	return 0;

fail:
	X509_STORE_free(st);
	ERR_clear_error();
	return -1;
}

static void
tls_shutdown(void)
{
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
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
