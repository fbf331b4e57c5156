/*
 * probe_grpc.c - "grpc" probes: one grpc.health.v1.Health/Check call, the
 * standard gRPC health checking protocol, over libcurl's HTTP/2 on the
 * agent's loop (curlm.c), as probe_http.c runs its transfers.
 *
 * A unary gRPC call is an HTTP/2 POST: the request body is one message
 * behind the 5-byte gRPC prefix (a compressed flag and a big-endian
 * length), the reply the same, and the call's outcome comes in the
 * trailers (grpc-status, grpc-message), or in the headers alone when the
 * server answers without a message ("trailers-only").  That is all of
 * gRPC this needs, so no gRPC library: protobuf-c encodes the request
 * and decodes the reply from grpc_health.proto's generated code.
 *
 * With tls = yes the connection negotiates h2 by ALPN; with tls = no it
 * speaks cleartext h2 with prior knowledge (h2c, no Upgrade), which is
 * what gRPC servers expect.  Each run opens a new connection, as http
 * probes do, so the phase timings describe a new client.
 *
 * The reply's judgement (grpc_reply_judge) only sees bytes and header
 * values, never curl, so tests/fuzz/fuzz_grpc_reply.c reaches it alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "grpc_health.pb-c.h"
#include "text.h"
#include "vantaged.h"

#define GRPC_REPLY_MAX		16384	/* a health reply: 7 bytes */
#define GRPC_PREFIX_LEN		5	/* flag, BE32 length */
#define GRPC_SERVICE_MAX	512
#define GRPC_HOST_MAX		256
#define GRPC_TIMEOUT_MARGIN_MS	1000	/* curl's net behind ours */
#define GRPC_PATH		"/grpc.health.v1.Health/Check"
#define GRPC_USER_AGENT		"vantaged/" VANTAGE_VERSION

typedef Grpc__Health__V1__HealthCheckRequest	hc_request;
typedef Grpc__Health__V1__HealthCheckResponse	hc_response;
#define HC_SERVING \
	GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING

/* The options of one grpc probe, described by grpc_keys[]. */
struct grpc_opts {
	char	*service;		/* NULL or "": the whole server */
	int	 tls;
	char	*authority;		/* :authority and TLS name */
	int	 tls_verify;
	char	*ca;
	int	 cert_min_days;
};

static const struct probe_key grpc_keys[] = {
	{ "service", CONF_STR, offsetof(struct grpc_opts, service), NULL,
	    "service to ask about (unset or empty: the whole server)" },
	{ "tls", CONF_BOOL, offsetof(struct grpc_opts, tls), "no",
	    "h2 over TLS (ALPN); no: cleartext h2 with prior knowledge" },
	{ "authority", CONF_STR, offsetof(struct grpc_opts, authority), NULL,
	    ":authority and TLS server name (the target's host unless set)" },
	PROBE_KEYS_CERT(struct grpc_opts),
	{ NULL }
};

/* What came back, as grpc_reply_judge() reads it. */
struct grpc_reply {
	long		 http_code;
	const char	*content_type;	/* NULL: none */
	const char	*status;	/* grpc-status (trailers/headers) */
	const char	*message;	/* grpc-message or NULL */
	const uint8_t	*body;
	size_t		 len;
	int		 too_big;	/* more than GRPC_REPLY_MAX came */
};

struct grpc_verdict {
	enum probe_status st;
	int		 grpc_status;	/* -1: none read */
	int		 serving;	/* ServingStatus; -1: no message */
	char		 error[PROBE_ERR_LEN];
};

struct grpc_run {
	struct probe_run	*run;
	CURL			*easy;
	struct curl_slist	*headers;
	struct curl_slist	*connect;	/* CONNECT_TO for authority */
	uint8_t			*req;		/* framed request */
	size_t			 req_len;
	struct buf		 body;
	int			 too_big;
	int			 added;		/* to grpc_cm */
	char			 url[GRPC_HOST_MAX * 2 + 64];
	char			 connect_to[GRPC_HOST_MAX * 2 + 32];
	char			 errbuf[CURL_ERROR_SIZE];
};

static struct curlm	*grpc_cm;
static int		 grpc_global;	/* curl_global_init done */

/* The canonical names of the gRPC status codes (grpc/status.h). */
static const char *const grpc_codes[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
	"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
};
#define GRPC_N_CODES	(sizeof(grpc_codes) / sizeof(grpc_codes[0]))

static const char *const grpc_serving[] = {
	"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"
};
#define GRPC_N_SERVING	(sizeof(grpc_serving) / sizeof(grpc_serving[0]))

static int
grpc_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * grpc-message is percent-encoded UTF-8 (the gRPC HTTP/2 spec): decoded,
 * then escaped like any remote text, since a server can put anything in
 * it.  A '%' not followed by two hex digits is kept as it came.
 */
static void
grpc_message_text(const char *m, char *out, size_t len)
{
	char	dec[256];
	size_t	i = 0;
	int	hi, lo;

	while (*m != '\0' && i < sizeof(dec) - 1) {
		if (m[0] == '%' &&
		    (hi = grpc_hexval((unsigned char)m[1])) >= 0 &&
		    (lo = grpc_hexval((unsigned char)m[2])) >= 0) {
			dec[i++] = (char)(hi << 4 | lo);
			m += 3;
		} else
			dec[i++] = *m++;
	}
	dec[i] = '\0';
	text_escape(dec, out, len);
}

/* "application/grpc", alone or with "+proto" or parameters after it. */
static int
grpc_content_type_ok(const char *ct)
{
	static const char	want[] = "application/grpc";
	size_t			n = sizeof(want) - 1;

	return strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == '+' || ct[n] == ';');
}

/*
 * Decides a run from what came back: the HTTP status and content type say
 * whether a gRPC server answered at all, grpc-status whether the call
 * succeeded, and the one framed HealthCheckResponse what the server says
 * of the service.  v->error says exactly what was wrong.
 */
static void
grpc_reply_judge(const struct grpc_reply *r, const char *service,
    struct grpc_verdict *v)
{
	char		 esc[128], svc[sizeof(esc) + 16] = "";
	size_t		 used;
	const uint8_t	*b = r->body;
	hc_response	*hr;
	uint32_t	 mlen;
	char		*end;
	long		 code;

	v->st = PROBE_FAIL;
	v->grpc_status = -1;
	v->serving = -1;
	v->error[0] = '\0';
	if (service != NULL && service[0] != '\0') {
		text_escape(service, esc, 100);
		snprintf(svc, sizeof(svc), "service '%s': ", esc);
	}

	if (r->too_big) {
		snprintf(v->error, sizeof(v->error), "reply larger than %d "
		    "bytes", GRPC_REPLY_MAX);
		return;
	}
	if (r->http_code != 200) {
		snprintf(v->error, sizeof(v->error), "HTTP status %ld, "
		    "not a gRPC answer", r->http_code);
		return;
	}
	if (r->content_type == NULL) {
		snprintf(v->error, sizeof(v->error), "not a gRPC answer: no "
		    "content-type");
		return;
	}
	if (!grpc_content_type_ok(r->content_type)) {
		text_escape(r->content_type, esc, 80);
		snprintf(v->error, sizeof(v->error), "not a gRPC answer: "
		    "content-type '%s'", esc);
		return;
	}
	if (r->status == NULL) {
		snprintf(v->error, sizeof(v->error), "no grpc-status in the "
		    "reply (no trailers)");
		return;
	}
	errno = 0;
	code = strtol(r->status, &end, 10);
	if (r->status[0] < '0' || r->status[0] > '9' || *end != '\0' ||
	    errno != 0 || code > 999) {
		text_escape(r->status, esc, 40);
		snprintf(v->error, sizeof(v->error), "bad grpc-status '%s'",
		    esc);
		return;
	}
	v->grpc_status = (int)code;
	if (code != 0) {
		snprintf(v->error, sizeof(v->error), "%sgrpc-status %ld %s",
		    svc, code, (size_t)code < GRPC_N_CODES ? grpc_codes[code] :
		    "(unknown code)");
		/* The message in what room is left, cut between characters. */
		used = strlen(v->error);
		if (r->message != NULL && r->message[0] != '\0' &&
		    used + 3 < sizeof(v->error)) {
			memcpy(v->error + used, ": ", 3);
			grpc_message_text(r->message, v->error + used + 2,
			    sizeof(v->error) - used - 2);
		}
		return;
	}

	/* One message: the 5-byte prefix, then exactly that many bytes. */
	if (r->len == 0) {
		snprintf(v->error, sizeof(v->error), "grpc-status 0 without "
		    "a reply message");
		return;
	}
	if (r->len < GRPC_PREFIX_LEN) {
		snprintf(v->error, sizeof(v->error), "reply frame cut short "
		    "(%zu bytes)", r->len);
		return;
	}
	if (b[0] == 1) {
		snprintf(v->error, sizeof(v->error), "compressed reply "
		    "message (no compression was offered)");
		return;
	}
	if (b[0] != 0) {
		snprintf(v->error, sizeof(v->error), "bad reply frame flag "
		    "0x%02x", b[0]);
		return;
	}
	mlen = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 8 | b[4];
	if (mlen > r->len - GRPC_PREFIX_LEN) {
		snprintf(v->error, sizeof(v->error), "reply message cut short "
		    "(%zu of %u bytes)", r->len - GRPC_PREFIX_LEN, mlen);
		return;
	}
	if (mlen < r->len - GRPC_PREFIX_LEN) {
		snprintf(v->error, sizeof(v->error), "%zu bytes after the "
		    "reply message", r->len - GRPC_PREFIX_LEN - mlen);
		return;
	}
	if ((hr = grpc__health__v1__health_check_response__unpack(NULL, mlen,
	    b + GRPC_PREFIX_LEN)) == NULL) {
		snprintf(v->error, sizeof(v->error), "reply is not a "
		    "HealthCheckResponse");
		return;
	}
	v->serving = (int)hr->status;
	grpc__health__v1__health_check_response__free_unpacked(hr, NULL);
	if (v->serving == HC_SERVING) {
		v->st = PROBE_OK;
		return;
	}
	if (v->serving >= 0 && (size_t)v->serving < GRPC_N_SERVING)
		snprintf(v->error, sizeof(v->error), "%s%s", svc,
		    grpc_serving[v->serving]);
	else
		snprintf(v->error, sizeof(v->error), "%sunknown serving "
		    "status %d", svc, v->serving);
}

/* The 5-byte prefix and a HealthCheckRequest for service; heap-owned. */
static uint8_t *
grpc_request(const char *service, size_t *lenp)
{
	hc_request	 rq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	uint8_t		*out;
	size_t		 n;

	rq.service = (char *)(service != NULL ? service : "");
	n = grpc__health__v1__health_check_request__get_packed_size(&rq);
	out = xmalloc(GRPC_PREFIX_LEN + n);
	out[0] = 0;			/* not compressed */
	out[1] = (uint8_t)(n >> 24);
	out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
	(void)grpc__health__v1__health_check_request__pack(&rq,
	    out + GRPC_PREFIX_LEN);
	*lenp = GRPC_PREFIX_LEN + n;
	return out;
}

static int
grpc_bad_name(const char *s)
{
	const char	*p;

	if (s[0] == '\0' || strlen(s) > 253)
		return 1;
	for (p = s; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || strchr("/:[]@?#%\\", *p) != NULL)
			return 1;
	}
	return 0;
}

static int
grpc_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	const struct grpc_opts		*o = c->opts;
	const curl_version_info_data	*vi;
	char				 host[GRPC_HOST_MAX];
	int				 port;
	X509_STORE			*st = NULL;

	if (net_split_target(c->target, host, sizeof(host), &port, -1, err,
	    errlen) == -1)
		return -1;
	if (port == -1) {
		snprintf(err, errlen, "target must be HOST:PORT, '%s' has no "
		    "port", c->target);
		return -1;
	}
	vi = curl_version_info(CURLVERSION_NOW);
	if (!(vi->features & CURL_VERSION_HTTP2)) {
		snprintf(err, errlen, "libcurl %s has no HTTP/2", vi->version);
		return -1;
	}
	if (o->service != NULL && (strlen(o->service) > GRPC_SERVICE_MAX ||
	    !text_is_clean(o->service))) {
		snprintf(err, errlen, "bad service name (control characters, "
		    "bad UTF-8 or over %d bytes)", GRPC_SERVICE_MAX);
		*key = "service";
		return -1;
	}
	if (o->authority != NULL && grpc_bad_name(o->authority)) {
		snprintf(err, errlen, "bad authority '%s' (a host name, "
		    "without port)", o->authority);
		*key = "authority";
		return -1;
	}
	if (o->ca != NULL) {
		if (!o->tls) {
			snprintf(err, errlen, "ca needs tls = yes");
			*key = "ca";
			return -1;
		}
		if (access(o->ca, R_OK) == -1) {
			snprintf(err, errlen, "ca %s: %s", o->ca,
			    strerror(errno));
			*key = "ca";
			return -1;
		}
		ERR_clear_error();
		if ((st = X509_STORE_new()) == NULL ||
		    X509_STORE_load_file(st, o->ca) != 1) {
			snprintf(err, errlen, "ca %s: no certificates in it",
			    o->ca);
			X509_STORE_free(st);
			ERR_clear_error();
			*key = "ca";
			return -1;
		}
		X509_STORE_free(st);
		ERR_clear_error();
	}
	return 0;
}

static size_t
grpc_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct grpc_run	*g = arg;
	size_t		 len = size * n;

	/* A health reply is tiny: more is no health reply, stop reading. */
	if (g->body.len + len > GRPC_REPLY_MAX) {
		g->too_big = 1;
		return 0;
	}
	buf_add(&g->body, data, len);
	return len;
}

/*
 * CURLOPT_PREREQFUNCTION: TLS is up, the request not yet sent; the peer
 * certificate is read now because with FORBID_REUSE the SSL object is
 * gone once the transfer completes (as in probe_http.c).
 */
static int
grpc_prereq_cb(void *arg, char *pip, char *lip, int pport, int lport)
{
	struct grpc_run	*g = arg;

	curlm_peer_cert(g->easy, &g->run->res);
	return CURL_PREREQFUNC_OK;
}

static void
grpc_release(void *priv)
{
	struct grpc_run	*g = priv;

	if (g == NULL)
		return;
	if (g->easy != NULL) {
		if (g->added)
			curlm_remove(grpc_cm, g->easy);
		curl_easy_cleanup(g->easy);
	}
	curl_slist_free_all(g->headers);
	curl_slist_free_all(g->connect);
	buf_free(&g->body);
	free(g->req);
	free(g);
}

/* "host" for a URL or CONNECT_TO: an IPv6 literal goes in brackets. */
static void
grpc_url_host(const char *host, char *out, size_t len)
{
	if (strchr(host, ':') != NULL)
		snprintf(out, len, "[%s]", host);
	else
		snprintf(out, len, "%s", host);
}

#define SETOPT(e, o, v) do {						\
	if (curl_easy_setopt((e), (o), (v)) != CURLE_OK)		\
		goto fail;						\
} while (0)

static int
grpc_setup(struct grpc_run *g, const struct probe_conf *c, char *err,
    size_t errlen)
{
	const struct grpc_opts	*o = c->opts;
	CURL			*e = g->easy;
	char			 host[GRPC_HOST_MAX];
	char			 uhost[GRPC_HOST_MAX + 2];
	char			 ahost[GRPC_HOST_MAX + 2];
	struct curl_slist	*l;
	int			 port;

	if (net_split_target(c->target, host, sizeof(host), &port, -1, err,
	    errlen) == -1)
		return -1;
	grpc_url_host(host, uhost, sizeof(uhost));
	/*
	 * The authority goes in the URL, so curl uses it for :authority,
	 * SNI and certificate verification alike, and CONNECT_TO sends
	 * the connection to the target all the same.
	 */
	if (o->authority != NULL) {
		grpc_url_host(o->authority, ahost, sizeof(ahost));
		snprintf(g->connect_to, sizeof(g->connect_to), "%s:%d:%s:%d",
		    ahost, port, uhost, port);
		if ((g->connect = curl_slist_append(NULL, g->connect_to)) ==
		    NULL)
			goto fail;
	} else
		snprintf(ahost, sizeof(ahost), "%s", uhost);
	snprintf(g->url, sizeof(g->url), "%s://%s:%d" GRPC_PATH,
	    o->tls ? "https" : "http", ahost, port);

	SETOPT(e, CURLOPT_URL, g->url);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_PRIVATE, g);
	SETOPT(e, CURLOPT_ERRORBUFFER, g->errbuf);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_USERAGENT, GRPC_USER_AGENT);
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_HTTP_VERSION, o->tls ? (long)CURL_HTTP_VERSION_2TLS :
	    (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(e, CURLOPT_FORBID_REUSE, 1L);
	SETOPT(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	SETOPT(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	/* See probe_http.c: never join a resolver thread on the loop. */
	(void)curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	SETOPT(e, CURLOPT_TIMEOUT_MS,
	    (long)(c->timeout_ms + GRPC_TIMEOUT_MARGIN_MS));
	if (g->connect != NULL)
		SETOPT(e, CURLOPT_CONNECT_TO, g->connect);
	if ((l = curl_slist_append(NULL, "Content-Type: application/grpc")) ==
	    NULL)
		goto fail;
	g->headers = l;
	if (curl_slist_append(l, "TE: trailers") == NULL ||
	    curl_slist_append(l, "Accept:") == NULL ||
	    curl_slist_append(l, "Expect:") == NULL)
		goto fail;
	SETOPT(e, CURLOPT_HTTPHEADER, g->headers);
	SETOPT(e, CURLOPT_POST, 1L);
	SETOPT(e, CURLOPT_POSTFIELDS, g->req);
	SETOPT(e, CURLOPT_POSTFIELDSIZE, (long)g->req_len);
	SETOPT(e, CURLOPT_WRITEFUNCTION, grpc_write_cb);
	SETOPT(e, CURLOPT_WRITEDATA, g);
	if (o->tls) {
		SETOPT(e, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
		SETOPT(e, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
		/* The system bundle alone: curl caches it (probe_http.c). */
		SETOPT(e, CURLOPT_CAPATH, NULL);
		if (o->ca != NULL) {
			SETOPT(e, CURLOPT_CAINFO, o->ca);
			(void)curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
		}
		SETOPT(e, CURLOPT_PREREQFUNCTION, grpc_prereq_cb);
		SETOPT(e, CURLOPT_PREREQDATA, g);
	}
	return 0;
fail:
	snprintf(err, errlen, "libcurl refused an option");
	return -1;
}

#undef SETOPT

static void
grpc_start(struct probe_run *run)
{
	const struct grpc_opts	*o = run->conf->opts;
	struct grpc_run		*g;
	char			 err[PROBE_ERR_LEN];

	g = xcalloc(1, sizeof(*g));
	g->run = run;
	buf_init(&g->body);
	g->req = grpc_request(o->service, &g->req_len);
	if ((g->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init", __func__);
	if (grpc_setup(g, run->conf, err, sizeof(err)) == -1) {
		grpc_release(g);
		probe_done(run, PROBE_FAIL, "%s", err);
		return;
	}
	if (curlm_add(grpc_cm, g->easy, err, sizeof(err)) == -1) {
		grpc_release(g);
		probe_done(run, PROBE_FAIL, "%s", err);
		return;
	}
	g->added = 1;
	run->priv = g;
}

/* Names a transfer's failure the way an operator searches for it. */
static void
grpc_error(CURL *e, CURLcode rc, const char *errbuf, int tls, char *out,
    size_t len)
{
	static const char	 vague[] = ": Couldn't connect to server";
	const char		*why = errbuf[0] != '\0' ? errbuf :
				    curl_easy_strerror(rc);
	long			 oserr = 0;
	size_t			 n;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		/* 7.88 says only "Couldn't connect"; say why (probe_http.c). */
		(void)curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
		n = strlen(errbuf);
		if (oserr == 0 || n < sizeof(vague) - 1 ||
		    strcmp(errbuf + n - (sizeof(vague) - 1), vague) != 0) {
			strlcpy_v(out, why, len);
			return;
		}
		snprintf(out, len, "%.*s: %s",
		    (int)(n - (sizeof(vague) - 1) > 150 ? 150 :
		    n - (sizeof(vague) - 1)), errbuf, strerror((int)oserr));
		return;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(out, len, "timeout (%.150s)", why);
		return;
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_PARTIAL_FILE:
		/*
		 * Cleartext h2 to a TLS port (or to something that is no
		 * HTTP/2 server) ends in one of these: say which side it is.
		 */
		if (!tls) {
			snprintf(out, len, "no HTTP/2 answer to cleartext h2c "
			    "(tls = no): %.140s", why);
			return;
		}
		strlcpy_v(out, why, len);
		return;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(out, len, "TLS handshake: %.180s", why);
		return;
	default:
		strlcpy_v(out, why, len);
		return;
	}
}

/*
 * The last value of a response header, from the trailers when they have
 * it, else from the headers (a trailers-only reply has no trailers).
 */
static const char *
grpc_header(CURL *e, const char *name)
{
	static const unsigned int	 origins[] = { CURLH_TRAILER,
					    CURLH_HEADER };
	struct curl_header		*h;
	size_t				 i;

	for (i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
		if (curl_easy_header(e, name, 0, origins[i], -1, &h) !=
		    CURLHE_OK)
			continue;
		if (h->amount > 1 && curl_easy_header(e, name, h->amount - 1,
		    origins[i], -1, &h) != CURLHE_OK)
			continue;
		return h->value;
	}
	return NULL;
}

static void
grpc_abort(struct probe_run *run)
{
	struct grpc_run	*g = run->priv;
	long		 code = 0;

	if (g == NULL)
		return;
	curlm_timings(g->easy, &run->res);
	if (curl_easy_getinfo(g->easy, CURLINFO_RESPONSE_CODE, &code) ==
	    CURLE_OK && code > 0)
		run->res.code = (int)code;
}

static void
grpc_finish(struct grpc_run *g, CURLcode rc)
{
	struct probe_run	*run = g->run;
	const struct grpc_opts	*o = run->conf->opts;
	struct probe_result	*r = &run->res;
	struct grpc_reply	 rep;
	struct grpc_verdict	 v;
	long			 code = 0, ver = 0;

	curlm_timings(g->easy, r);
	(void)curl_easy_getinfo(g->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code > 0)
		r->code = (int)code;
	if (rc != CURLE_OK && !g->too_big) {
		grpc_error(g->easy, rc, g->errbuf, o->tls, v.error,
		    sizeof(v.error));
		probe_finish(run, PROBE_FAIL, "%s", v.error);
		return;
	}
	(void)curl_easy_getinfo(g->easy, CURLINFO_HTTP_VERSION, &ver);
	if (!g->too_big && ver != CURL_HTTP_VERSION_2_0) {
		probe_finish(run, PROBE_FAIL, "server answered in HTTP/1.x, "
		    "not HTTP/2%s", o->tls ? " (ALPN)" : "");
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.http_code = code;
	rep.content_type = grpc_header(g->easy, "content-type");
	rep.status = grpc_header(g->easy, "grpc-status");
	rep.message = grpc_header(g->easy, "grpc-message");
	rep.body = (const uint8_t *)g->body.data;
	rep.len = g->body.len;
	rep.too_big = g->too_big;
	grpc_reply_judge(&rep, o->service, &v);
	if (v.grpc_status >= 0 && v.serving >= 0 &&
	    (size_t)v.serving < GRPC_N_SERVING)
		probe_result_detail(r, "\"grpc_status\":%d,\"serving_status\":"
		    "\"%s\"", v.grpc_status, grpc_serving[v.serving]);
	else if (v.grpc_status >= 0 && v.serving >= 0)
		probe_result_detail(r, "\"grpc_status\":%d,\"serving_status\":"
		    "%d", v.grpc_status, v.serving);
	else if (v.grpc_status >= 0)
		probe_result_detail(r, "\"grpc_status\":%d", v.grpc_status);
	probe_finish(run, v.st, "%s", v.error);
}

/* curlm.c: a transfer curl has finished. */
static void
grpc_done(CURL *easy, CURLcode rc, void *arg)
{
	struct grpc_run	*g = NULL;

	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &g) != CURLE_OK ||
	    g == NULL)
		fatalx("%s: transfer without a run", __func__);
	grpc_finish(g, rc);
}

static int
grpc_init(char *err, size_t errlen)
{
	const curl_version_info_data	*vi;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	grpc_global = 1;
	vi = curl_version_info(CURLVERSION_NOW);
	/* curl_easy_header(), with the trailers */
	if (vi->version_num < 0x075400) {
		snprintf(err, errlen, "libcurl %s is too old (need 7.84)",
		    vi->version);
		goto fail;
	}
	if ((grpc_cm = curlm_new(grpc_done, NULL, err, errlen)) == NULL)
		goto fail;
	return 0;
fail:
	curl_global_cleanup();
	grpc_global = 0;
	return -1;
}

static void
grpc_shutdown(void)
{
	curlm_free(grpc_cm);
	grpc_cm = NULL;
	if (grpc_global)
		curl_global_cleanup();
	grpc_global = 0;
}

const struct probe_type probe_grpc_type = {
	.name = "grpc",
	.opts_size = sizeof(struct grpc_opts),
	.keys = grpc_keys,
	.check = grpc_check,
	.init = grpc_init,
	.shutdown = grpc_shutdown,
	.start = grpc_start,
	.release = grpc_release,
	.abort = grpc_abort,
};
