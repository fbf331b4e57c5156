/*
 * tls_client.c - the TLS client of the tls and tcp probes: handshake,
 * verification verdict, stapled OCSP, record I/O (see tls_client.h).
 *
 * The handshake always runs with SSL_VERIFY_NONE and the verification
 * result is read afterwards: OpenSSL verifies the chain either way, and
 * a handshake that completes gives us the certificates' expiry even when
 * the chain is bad, which is what an operator wants to see next to the
 * verify error.
 *
 * The OpenSSL error queue is per thread and shared with libcurl on the
 * loop thread, so it is cleared before and after every call that may
 * fill it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "vantaged.h"
#include "text.h"

/* Clock skew allowed on a stapled response's thisUpdate/nextUpdate. */
#define OCSP_SKEW_S	300

struct tls_client {
	struct tls_client_conf	 conf;
	int			 fd;
	SSL_CTX			*ctx;		/* own, for conf.ca */
	SSL			*ssl;
	int			 done;		/* handshake completed */
	int64_t			 start_us;
	int64_t			 hs_us;		/* its duration */
};

/* System CAs, shared by every client that does not name its own CA. */
static SSL_CTX	*shared_ctx;

static int
is_ip(const char *s)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

/* The reason of the oldest queued OpenSSL error, or fallback. */
static const char *
ssl_reason(const char *fallback)
{
	unsigned long	 e = ERR_peek_error();
	const char	*r;

	if (e == 0 || (r = ERR_reason_error_string(e)) == NULL)
		return fallback;
	return r;
}

static SSL_CTX *
ctx_new(const char *ca, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", ssl_reason("failed"));
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Each run measures a full handshake: no session resumption. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			snprintf(err, errlen, "ca %s: %s", ca,
			    ssl_reason("cannot load"));
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "system CA store: %s",
		    ssl_reason("cannot load"));
		goto fail;
	}
	ERR_clear_error();
	return ctx;

fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

static const char *
version_name(int v)
{
	switch (v) {
	case TLS1_3_VERSION:
		return "1.3";
	case TLS1_2_VERSION:
		return "1.2";
	case TLS1_1_VERSION:
		return "1.1";
	case TLS1_VERSION:
		return "1.0";
	}
	return "?";
}

struct tls_client *
tls_client_new(int fd, const struct tls_client_conf *conf, char *err,
    size_t errlen)
{
	struct tls_client	*t;
	SSL_CTX			*ctx;
	const char		*name = conf->name;
	int			 rc;

	t = xcalloc(1, sizeof(*t));
	t->conf = *conf;
	t->fd = fd;
	t->start_us = clock_mono_us();
	/* the CA also verifies an OCSP staple, so it counts without verify */
	if (conf->ca != NULL) {
		if ((t->ctx = ctx_new(conf->ca, err, errlen)) == NULL)
			goto fail;
		ctx = t->ctx;
	} else {
		/*
		 * The shared context parses the system CA bundle: done on
		 * the first run that needs it, not at start, so agents
		 * without TLS probes never pay for it and READY comes sooner.
		 */
		if (shared_ctx == NULL &&
		    (shared_ctx = ctx_new(NULL, err, errlen)) == NULL)
			goto fail;
		ctx = shared_ctx;
	}
	ERR_clear_error();
	if ((t->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1) {
		snprintf(err, errlen, "SSL_new: %s", ssl_reason("failed"));
		goto fail;
	}
	/* A server that just closes after its reply ends the reply. */
	SSL_set_options(t->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* RFC 6066: SNI carries host names only, never address literals. */
	if (!is_ip(name) && SSL_set_tlsext_host_name(t->ssl, name) != 1) {
		snprintf(err, errlen, "server name '%s': %s", name,
		    ssl_reason("rejected"));
		goto fail;
	}
	if (conf->verify) {
		if (is_ip(name))
			rc = X509_VERIFY_PARAM_set1_ip_asc(
			    SSL_get0_param(t->ssl), name);
		else
			rc = SSL_set1_host(t->ssl, name);
		if (rc != 1) {
			snprintf(err, errlen, "server name '%s': %s", name,
			    ssl_reason("rejected"));
			goto fail;
		}
	}
	if (conf->min_version != 0 &&
	    SSL_set_min_proto_version(t->ssl, conf->min_version) != 1) {
		snprintf(err, errlen, "min_version %s: %s",
		    version_name(conf->min_version), ssl_reason("refused"));
		goto fail;
	}
	if (conf->ocsp &&
	    SSL_set_tlsext_status_type(t->ssl, TLSEXT_STATUSTYPE_ocsp) != 1) {
		snprintf(err, errlen, "OCSP status request: %s",
		    ssl_reason("refused"));
		goto fail;
	}
	ERR_clear_error();
	return t;

fail:
	ERR_clear_error();
	tls_client_free(t);
	return NULL;
}

/* Whether the queued error says the two sides share no version. */
static int
is_version_error(void)
{
	switch (ERR_GET_REASON(ERR_peek_error())) {
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_WRONG_SSL_VERSION:
		return 1;
	}
	return 0;
}

/*
 * After an SSL call returned rc <= 0: AGAIN with the events it waits
 * for, EOF when the peer closed (reads), or ERR with what + the reason.
 */
static enum tls_client_io
io_result(struct tls_client *t, int rc, int saved, const char *what,
    int reading, uint32_t *events, char *err, size_t errlen)
{
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		*events = EPOLLIN;
		return TLS_CLIENT_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		*events = EPOLLOUT;
		return TLS_CLIENT_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		if (reading)
			return TLS_CLIENT_EOF;
		snprintf(err, errlen, "%s: connection closed by peer", what);
		return TLS_CLIENT_ERR;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() != 0)
			snprintf(err, errlen, "%s: %s", what,
			    ssl_reason("failed"));
		else if (saved == 0 && reading)
			return TLS_CLIENT_EOF;
		else if (saved == 0)
			snprintf(err, errlen, "%s: connection closed by peer",
			    what);
		else
			snprintf(err, errlen, "%s: %s", what, strerror(saved));
		return TLS_CLIENT_ERR;
	default:
		if (!t->done && t->conf.min_version != 0 && is_version_error())
			snprintf(err, errlen, "%s: the server offers no TLS "
			    "%s or later (min_version %s): %s", what,
			    version_name(t->conf.min_version),
			    version_name(t->conf.min_version),
			    ssl_reason("failed"));
		else
			snprintf(err, errlen, "%s: %s", what,
			    ssl_reason("failed"));
		return TLS_CLIENT_ERR;
	}
}

enum tls_client_io
tls_client_handshake(struct tls_client *t, uint32_t *events, char *err,
    size_t errlen)
{
	enum tls_client_io	r;
	int			rc, saved;

	ERR_clear_error();
	errno = 0;
	rc = SSL_connect(t->ssl);
	saved = errno;
	if (rc == 1) {
		t->done = 1;
		t->hs_us = clock_mono_us() - t->start_us;
		ERR_clear_error();
		return TLS_CLIENT_DONE;
	}
	r = io_result(t, rc, saved, "TLS handshake", 0, events, err, errlen);
	ERR_clear_error();
	return r;
}

enum tls_client_io
tls_client_read(struct tls_client *t, void *buf, size_t len, size_t *got,
    uint32_t *events, char *err, size_t errlen)
{
	enum tls_client_io	r;
	int			rc, saved;

	*got = 0;
	ERR_clear_error();
	errno = 0;
	rc = SSL_read_ex(t->ssl, buf, len, got);
	saved = errno;
	if (rc == 1) {
		ERR_clear_error();
		return TLS_CLIENT_DONE;
	}
	r = io_result(t, rc, saved, "TLS read", 1, events, err, errlen);
	ERR_clear_error();
	return r;
}

enum tls_client_io
tls_client_write(struct tls_client *t, const void *buf, size_t len,
    size_t *put, uint32_t *events, char *err, size_t errlen)
{
	enum tls_client_io	r;
	int			rc, saved;

	*put = 0;
	ERR_clear_error();
	errno = 0;
	rc = SSL_write_ex(t->ssl, buf, len, put);
	saved = errno;
	if (rc == 1) {
		ERR_clear_error();
		return TLS_CLIENT_DONE;
	}
	r = io_result(t, rc, saved, "TLS write", 0, events, err, errlen);
	ERR_clear_error();
	return r;
}

/* Whole days until notAfter, rounded down (an expired cert is < 0). */
static int
cert_days(X509 *cert, int *days)
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

/* "CN=name" of the subject, escaped, or its whole one-line form. */
static void
cert_label(X509 *x, char *out, size_t len)
{
	X509_NAME	*n = X509_get_subject_name(x);
	char		 raw[256], esc[100];	/* the message must fit */
	int		 cn;

	raw[0] = '\0';
	if (n != NULL &&
	    X509_NAME_get_text_by_NID(n, NID_commonName, raw, sizeof(raw)) > 0)
		cn = 1;
	else {
		cn = 0;
		if (n != NULL)
			X509_NAME_oneline(n, raw, sizeof(raw));
	}
	text_escape(raw, esc, sizeof(esc));
	snprintf(out, len, "%s%s", cn ? "CN=" : "", esc);
}

/* "2024-05-01 12:00:00Z" */
static void
asn1_time_str(const ASN1_TIME *at, char *out, size_t len)
{
	struct tm	tm;

	if (at == NULL || ASN1_TIME_to_tm(at, &tm) != 1 ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "?");
}

/*
 * The leaf's issuer, with a reference the caller drops: from the chain
 * the verification built, else among what the server sent, else from
 * the trust store.
 */
static X509 *
issuer_of(struct tls_client *t, X509 *leaf)
{
	STACK_OF(X509)	*sk;
	X509_STORE_CTX	*sc;
	X509		*x = NULL;
	int		 i;

	if ((sk = SSL_get0_verified_chain(t->ssl)) != NULL &&
	    sk_X509_num(sk) > 1 &&
	    X509_check_issued(sk_X509_value(sk, 1), leaf) == X509_V_OK) {
		x = sk_X509_value(sk, 1);
		X509_up_ref(x);
		return x;
	}
	if ((sk = SSL_get_peer_cert_chain(t->ssl)) != NULL) {
		for (i = 1; i < sk_X509_num(sk); i++) {
			if (X509_check_issued(sk_X509_value(sk, i), leaf) ==
			    X509_V_OK) {
				x = sk_X509_value(sk, i);
				X509_up_ref(x);
				return x;
			}
		}
	}
	if ((sc = X509_STORE_CTX_new()) == NULL)
		return NULL;
	if (X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(
	    SSL_get_SSL_CTX(t->ssl)), leaf, NULL) != 1 ||
	    X509_STORE_CTX_get1_issuer(&x, sc, leaf) != 1)
		x = NULL;
	X509_STORE_CTX_free(sc);
	return x;
}

/*
 * The stapled OCSP response about leaf: good is OK, revoked FAIL, and
 * a response that is missing, unknown or cannot be trusted (bad
 * signature, stale, about another certificate) DEGRADED.
 */
static int
ocsp_verdict(struct tls_client *t, X509 *leaf, char *err, size_t errlen)
{
	const unsigned char	*p = NULL;
	OCSP_RESPONSE		*resp = NULL;
	OCSP_BASICRESP		*bs = NULL;
	OCSP_CERTID		*id = NULL;
	X509			*issuer = NULL;
	ASN1_GENERALIZEDTIME	*rev = NULL, *thisupd = NULL, *nextupd = NULL;
	char			 when[32];
	long			 len;
	int			 st, reason = -1, status, verdict = PROBE_DEGRADED;

	len = SSL_get_tlsext_status_ocsp_resp(t->ssl, &p);
	if (len <= 0 || p == NULL) {
		snprintf(err, errlen, "OCSP: the server stapled no response "
		    "(expect_ocsp good)");
		goto done;
	}
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, len)) == NULL) {
		snprintf(err, errlen, "OCSP: the stapled response does not "
		    "parse");
		goto done;
	}
	if ((st = OCSP_response_status(resp)) !=
	    OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(err, errlen, "OCSP: the stapled response says %s",
		    OCSP_response_status_str(st));
		goto done;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		snprintf(err, errlen, "OCSP: the stapled response is not a "
		    "basic response");
		goto done;
	}
	if ((issuer = issuer_of(t, leaf)) == NULL) {
		snprintf(err, errlen, "OCSP: the certificate's issuer is "
		    "unknown: the stapled response cannot be checked");
		goto done;
	}
	/* signed by the issuer or a responder it delegated to, trusted */
	ERR_clear_error();
	if (OCSP_basic_verify(bs, SSL_get_peer_cert_chain(t->ssl),
	    SSL_CTX_get_cert_store(SSL_get_SSL_CTX(t->ssl)), 0) != 1) {
		const char	*why = NULL;
		int		 flags = 0;

		/* the reason's detail names the chain error, if any */
		if (ERR_peek_error_data(&why, &flags) == 0 ||
		    (flags & ERR_TXT_STRING) == 0)
			why = NULL;
		snprintf(err, errlen, "OCSP: the stapled response's signature "
		    "does not verify: %s%s%s%s", ssl_reason("failed"),
		    why != NULL ? " (" : "", why != NULL ? why : "",
		    why != NULL ? ")" : "");
		goto done;
	}
	if ((id = OCSP_cert_to_id(NULL, leaf, issuer)) == NULL ||
	    OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd,
	    &nextupd) != 1) {
		snprintf(err, errlen, "OCSP: the stapled response is not "
		    "about this certificate");
		goto done;
	}
	ERR_clear_error();
	if (OCSP_check_validity(thisupd, nextupd, OCSP_SKEW_S, -1) != 1) {
		if (nextupd != NULL) {
			asn1_time_str(nextupd, when, sizeof(when));
			snprintf(err, errlen, "OCSP: the stapled response is "
			    "not current (%s, next update %s)",
			    ssl_reason("invalid"), when);
		} else
			snprintf(err, errlen, "OCSP: the stapled response is "
			    "not current (%s)", ssl_reason("invalid"));
		goto done;
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		verdict = PROBE_OK;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		verdict = PROBE_FAIL;
		asn1_time_str(rev, when, sizeof(when));
		if (reason >= 0)
			snprintf(err, errlen, "OCSP: certificate revoked at "
			    "%s (%s)", when, OCSP_crl_reason_str(reason));
		else
			snprintf(err, errlen, "OCSP: certificate revoked at "
			    "%s", when);
		break;
	default:
		snprintf(err, errlen, "OCSP: the responder does not know the "
		    "certificate (status unknown)");
		break;
	}

done:
	OCSP_CERTID_free(id);
	X509_free(issuer);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
	return verdict;
}

int
tls_client_verdict(struct tls_client *t, struct probe_result *res, char *err,
    size_t errlen)
{
	STACK_OF(X509)	*chain;
	X509		*leaf, *x, *soonest = NULL;
	char		 label[300];
	long		 v;
	int		 i, d, days = 0, verdict = PROBE_OK, ov;

	err[0] = '\0';
	res->tls_us = t->hs_us;
	probe_result_detail(res, "\"tls_version\":\"%s\"",
	    SSL_get_version(t->ssl));
	if ((leaf = SSL_get0_peer_certificate(t->ssl)) == NULL) {
		snprintf(err, errlen, "server sent no certificate");
		return PROBE_FAIL;
	}
	if (cert_days(leaf, &days) == 0) {
		res->has_cert = 1;
		res->cert_days = days;
	}
	/*
	 * The chain expires with its first certificate.  A self-signed one
	 * after the leaf is a root sent along: the trust store's copy is the
	 * one that counts, so it is left out.
	 */
	chain = SSL_get_peer_cert_chain(t->ssl);
	for (i = 1; res->has_cert && chain != NULL &&
	    i < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		if ((X509_get_extension_flags(x) & EXFLAG_SS) != 0 ||
		    cert_days(x, &d) == -1)
			continue;
		if (d < res->cert_days) {
			res->cert_days = d;
			soonest = x;
		}
	}
	ERR_clear_error();
	if (t->conf.verify &&
	    (v = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
		    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
			snprintf(err, errlen, "certificate verify failed: "
			    "%s (expected %s)",
			    X509_verify_cert_error_string(v), t->conf.name);
		else
			snprintf(err, errlen, "certificate verify failed: %s",
			    X509_verify_cert_error_string(v));
		return PROBE_FAIL;
	}
	if (t->conf.ocsp) {
		ov = ocsp_verdict(t, leaf, err, errlen);
		probe_result_detail(res, "\"tls_version\":\"%s\",\"ocsp\":"
		    "\"%s\"", SSL_get_version(t->ssl), ov == PROBE_OK ?
		    "good" : ov == PROBE_FAIL ? "revoked" : "unusable");
		if (ov != PROBE_OK)
			return ov;
	}
	/* the leaf's own expiry is the engine's rule, the same for http */
	if (soonest != NULL && t->conf.cert_min_days > 0 &&
	    res->cert_days < t->conf.cert_min_days) {
		cert_label(soonest, label, sizeof(label));
		if (res->cert_days >= 0)
			snprintf(err, errlen, "intermediate %s expires in %d "
			    "days (cert_min_days %d)", label, res->cert_days,
			    t->conf.cert_min_days);
		else
			snprintf(err, errlen, "intermediate %s expired %d "
			    "days ago", label, -res->cert_days);
		verdict = PROBE_DEGRADED;
	}
	return verdict;
}

void
tls_client_free(struct tls_client *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL) {
		ERR_clear_error();
		/*
		 * One non-blocking close_notify after a completed handshake;
		 * the peer's is never waited for.
		 */
		if (t->done) {
			net_drain(t->fd);
			(void)SSL_shutdown(t->ssl);
		}
		SSL_free(t->ssl);
		ERR_clear_error();
	}
	SSL_CTX_free(t->ctx);
	free(t);
}

int
tls_client_check_name(const char *key, const char *name, char *err,
    size_t errlen)
{
	const char	*p;

	if (name[0] == '\0' || strlen(name) > 253)
		goto bad;
	for (p = name; *p != '\0'; p++) {
		if (*p <= ' ' || *p == '/' || *p >= 0x7f)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad %s '%s'", key, name);
	return -1;
}

int
tls_client_check_ca(const char *ca, char *err, size_t errlen)
{
	X509_STORE	*st;
	int		 rc = 0;

	if (access(ca, R_OK) == -1) {
		snprintf(err, errlen, "ca %s: %s", ca, strerror(errno));
		return -1;
	}
	ERR_clear_error();
	if ((st = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(st, ca) != 1) {
		snprintf(err, errlen, "ca %s: %s", ca,
		    ssl_reason("no certificates in it"));
		rc = -1;
	}
	X509_STORE_free(st);
	ERR_clear_error();
	return rc;
}

void
tls_client_shutdown(void)
{
	SSL_CTX_free(shared_ctx);
	shared_ctx = NULL;
}
