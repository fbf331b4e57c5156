/*
 * tls_client.h - the TLS client the tls and tcp probes share (OpenSSL):
 * a handshake over a connected non-blocking socket that the caller drives
 * from the loop, the verdict on what the server showed (chain and name
 * verification, the earliest expiry in the chain, a stapled OCSP
 * response), and record I/O for what comes after the handshake.
 *
 * The caller owns the socket and its loop registration: calls that would
 * block return TLS_CLIENT_AGAIN with the epoll events to wait for.
 */
#ifndef VANTAGE_TLS_CLIENT_H
#define VANTAGE_TLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct probe_result;

struct tls_client_conf {
	const char	*name;		/* SNI and verification */
	int		 verify;	/* tls_verify */
	const char	*ca;		/* NULL: the system's CA store */
	int		 cert_min_days;	/* for the chain's intermediates */
	int		 min_version;	/* 0 or a TLS1_x_VERSION */
	int		 ocsp;		/* expect_ocsp = good */
};

enum tls_client_io {
	TLS_CLIENT_DONE,	/* handshake complete, or bytes moved */
	TLS_CLIENT_AGAIN,	/* call again when *events are ready */
	TLS_CLIENT_EOF,		/* reads: the peer closed */
	TLS_CLIENT_ERR		/* err says what failed */
};

struct tls_client;

/* A client over fd (the caller's; never closed here); NULL + err. */
struct tls_client *tls_client_new(int fd, const struct tls_client_conf *,
		    char *err, size_t);
/* Errors read "TLS handshake: ...". */
enum tls_client_io tls_client_handshake(struct tls_client *,
		    uint32_t *events, char *err, size_t);
/*
 * After the handshake: fills res's tls_us, has_cert, cert_days (the
 * earliest notAfter among the certificates the server sent, leaf and
 * intermediates) and detail (the version negotiated), and judges:
 * PROBE_FAIL on a verification failure or a revoked certificate,
 * PROBE_DEGRADED on an intermediate expiring within cert_min_days or an
 * OCSP staple that is missing, unknown or unusable, else PROBE_OK (the
 * leaf's own cert_min_days is the engine's).  err says why.
 */
int		 tls_client_verdict(struct tls_client *, struct probe_result *,
		    char *err, size_t);
enum tls_client_io tls_client_read(struct tls_client *, void *, size_t,
		    size_t *got, uint32_t *events, char *err, size_t);
enum tls_client_io tls_client_write(struct tls_client *, const void *,
		    size_t, size_t *put, uint32_t *events, char *err, size_t);
/* One close_notify after a completed handshake, never waited for. */
void		 tls_client_free(struct tls_client *);

/* Config checks: a name fit for SNI (key names it), a loadable CA file. */
int		 tls_client_check_name(const char *key, const char *name,
		    char *err, size_t);
int		 tls_client_check_ca(const char *ca, char *err, size_t);
/* Frees the shared system-CA context (at exit). */
void		 tls_client_shutdown(void);

#endif
