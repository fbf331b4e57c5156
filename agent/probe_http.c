/*
 * probe_http.c - HTTP and HTTPS probes through libcurl's multi socket
 * interface, driven from the agent's one epoll loop by curlm.c, which
 * hands every finished transfer to http_done().  No threads of our own;
 * curl's threaded resolver keeps name lookups off the loop.
 *
 * Each probe opens a fresh connection, without TLS session resumption or
 * a cached DNS answer, so the phase timings it records (DNS, connect,
 * TLS, first byte) describe what a new client would see.  The engine
 * owns the timeout; curl's own timeout is only a safety net behind it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "vantaged.h"

#define HTTP_BODY_KEEP		(64 * 1024)	/* kept for expect_body */
#define HTTP_POOL_MAX		64		/* idle easy handles kept */
#define HTTP_TIMEOUT_MARGIN_MS	1000		/* curl's net behind ours */
#define HTTP_USER_AGENT		"vantaged/" VANTAGE_VERSION

struct http_run {
	struct probe_run	*run;
	CURL			*easy;
	struct buf		 body;		/* first HTTP_BODY_KEEP bytes */
	int			 keep_body;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* The options of one http probe, described by http_keys[]. */
struct http_opts {
	struct parse_range	 expect_status;
	char			*expect_body;		/* substring */
	char			*expect_body_regex;
	char			*method;		/* GET unless set */
	int			 tls_verify;
	char			*ca;
	int			 cert_min_days;
	regex_t			 body_re;		/* http_check's */
	int			 body_re_ok;
};

static const struct probe_key http_keys[] = {
	{ "expect_status", CONF_RANGE, offsetof(struct http_opts,
	    expect_status), "200-399", "status codes that pass" },
	{ "expect_body", CONF_STR, offsetof(struct http_opts, expect_body),
	    NULL, "text the body must contain" },
	{ "expect_body_regex", CONF_REGEX, offsetof(struct http_opts,
	    expect_body_regex), NULL, "regex the body must match" },
	{ "method", CONF_STR, offsetof(struct http_opts, method), NULL,
	    "GET or HEAD" },
	PROBE_KEYS_CERT(struct http_opts),
	{ NULL }
};

static struct curlm		*http_cm;
static CURL			*http_pool[HTTP_POOL_MAX];
static int			 http_npool;
static int			 http_global;	/* curl_global_init done */

static int
http_check(struct probe_conf *conf, const char **key, char *err,
    size_t errlen)
{
	struct http_opts *o = conf->opts;
	CURLU		*u;
	CURLUcode	 uc;
	char		*scheme = NULL, *host = NULL;
	int		 rc = -1;

	if ((u = curl_url()) == NULL)
		fatalx("%s: curl_url", __func__);
	if ((uc = curl_url_set(u, CURLUPART_URL, conf->target, 0)) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "bad URL '%s': %s", conf->target,
		    curl_url_strerror(uc));
		goto fail;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "target must be an http:// or https:// "
		    "URL, not '%s'", conf->target);
		goto fail;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		snprintf(err, errlen, "target '%s' has no host", conf->target);
		goto fail;
	}
	if (o->method != NULL && strcmp(o->method, "GET") != 0 &&
	    strcmp(o->method, "HEAD") != 0) {
		snprintf(err, errlen, "method must be GET or HEAD, not '%s'",
		    o->method);
		*key = "method";
		goto fail;
	}
	/* A HEAD answer has no body to match: the probe could never pass. */
	if (o->method != NULL && strcmp(o->method, "HEAD") == 0 &&
	    (o->expect_body != NULL || o->expect_body_regex != NULL)) {
		snprintf(err, errlen, "expect_body needs method GET, not HEAD");
		*key = "method";
		goto fail;
	}
	if (o->expect_body != NULL && o->expect_body_regex != NULL) {
		snprintf(err, errlen, "use expect_body or expect_body_regex, "
		    "not both");
		*key = "expect_body_regex";
		goto fail;
	}
	if (o->expect_body_regex != NULL) {
		int	rerr;
		char	msg[128];

		if ((rerr = regcomp(&o->body_re, o->expect_body_regex,
		    REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rerr, &o->body_re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regex: %s", msg);
			*key = "expect_body_regex";
			goto fail;
		}
		o->body_re_ok = 1;
	}
	rc = 0;
fail:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static void
http_free_opts(void *opts)
{
	struct http_opts *o = opts;

	if (o->body_re_ok)
		regfree(&o->body_re);
	o->body_re_ok = 0;
}

static size_t
http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_run	*h = arg;
	size_t		 len = size * n, room;

	/* Past the cap the body is read and dropped, never refused. */
	if (h->keep_body && h->body.len < HTTP_BODY_KEEP) {
		room = HTTP_BODY_KEEP - h->body.len;
		buf_add(&h->body, data, len < room ? len : room);
	}
	return len;
}

/* Whole days from now to t, rounded down (an expired cert is < 0). */
static int
http_days_left(const ASN1_TIME *t, int *days)
{
	int	day, sec;
	int64_t	total;

	if (ASN1_TIME_diff(&day, &sec, NULL, t) != 1)
		return -1;
	total = (int64_t)day * 86400 + sec;
	if (total < 0)
		*days = (int)((total - 86399) / 86400);
	else
		*days = (int)(total / 86400);
	return 0;
}

/*
 * CURLOPT_PREREQFUNCTION: the connection (and TLS) is up, the request not
 * yet sent.  The peer certificate is read here because with FORBID_REUSE
 * the connection, and the SSL object with it, is gone once the transfer
 * completes.  With tls_verify = no an unverifiable certificate still
 * gets here and its expiry is reported all the same.
 */
static int
http_prereq_cb(void *arg, char *pip, char *lip, int pport, int lport)
{
	struct http_run			*h = arg;
	const struct curl_tlssessioninfo *ti = NULL;
	X509				*cert;

	if (curl_easy_getinfo(h->easy, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK ||
	    ti == NULL || ti->backend != CURLSSLBACKEND_OPENSSL ||
	    ti->internals == NULL)
		return CURL_PREREQFUNC_OK;
	if ((cert = SSL_get1_peer_certificate(ti->internals)) == NULL)
		return CURL_PREREQFUNC_OK;
	if (http_days_left(X509_get0_notAfter(cert),
	    &h->run->res.cert_days) == 0)
		h->run->res.has_cert = 1;
	X509_free(cert);
	return CURL_PREREQFUNC_OK;
}

/* Everything a run holds, its easy handle back to the pool. */
static void
http_release(void *priv)
{
	struct http_run	*h = priv;

	if (h == NULL)
		return;
	if (h->easy != NULL) {
		curlm_remove(http_cm, h->easy);
		if (http_npool < HTTP_POOL_MAX) {
			curl_easy_reset(h->easy);
			http_pool[http_npool++] = h->easy;
		} else
			curl_easy_cleanup(h->easy);
		h->easy = NULL;
	}
	buf_free(&h->body);
	free(h);
}

#define SETOPT(e, o, v) do {						\
	if (curl_easy_setopt((e), (o), (v)) != CURLE_OK)		\
		goto fail;						\
} while (0)

static int
http_setup(struct http_run *h, const struct probe_conf *c)
{
	const struct http_opts	*o = c->opts;
	CURL			*e = h->easy;
	int			 head = o->method != NULL &&
				    strcmp(o->method, "HEAD") == 0;

	SETOPT(e, CURLOPT_URL, c->target);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_PRIVATE, h);
	SETOPT(e, CURLOPT_ERRORBUFFER, h->errbuf);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_NOBODY, head ? 1L : 0L);
	SETOPT(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	/* Each probe measures a real connect, handshake and lookup. */
	SETOPT(e, CURLOPT_FRESH_CONNECT, 1L);
	SETOPT(e, CURLOPT_FORBID_REUSE, 1L);
	SETOPT(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	SETOPT(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	/*
	 * Without it, removing a transfer whose name lookup is still running
	 * (our timeout, a reload) joins curl's resolver thread: the whole
	 * loop would stall until getaddrinfo() gives up.  With it the
	 * thread is detached and frees itself when the lookup returns.
	 */
	(void)curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	SETOPT(e, CURLOPT_TIMEOUT_MS,
	    (long)(c->timeout_ms + HTTP_TIMEOUT_MARGIN_MS));
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
	/*
	 * Parsing the system CA bundle costs ~20 ms of CPU on the loop.
	 * curl (7.87+) caches the parsed store per multi handle, but only
	 * when no CA directory is set, and Debian's libcurl sets
	 * /etc/ssl/certs by default: without this every verified probe
	 * would parse the whole bundle.  The bundle holds the same CAs.
	 */
	SETOPT(e, CURLOPT_CAPATH, NULL);
	if (o->ca != NULL) {
		SETOPT(e, CURLOPT_CAINFO, o->ca);
		/*
		 * The cache holds one store and is rebuilt whenever the
		 * file differs: a custom ca would evict the system bundle
		 * at each switch.  Such probes build their own small store.
		 */
		(void)curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
	}
	SETOPT(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	SETOPT(e, CURLOPT_WRITEDATA, h);
	if (strncasecmp(c->target, "https:", 6) == 0) {
		SETOPT(e, CURLOPT_PREREQFUNCTION, http_prereq_cb);
		SETOPT(e, CURLOPT_PREREQDATA, h);
	}
	return 0;
fail:
	return -1;
}

#undef SETOPT

static void
http_start(struct probe_run *run)
{
	const struct http_opts	*o = run->conf->opts;
	struct http_run		*h;
	char			 err[PROBE_ERR_LEN];

	h = xcalloc(1, sizeof(*h));
	h->run = run;
	buf_init(&h->body);
	h->keep_body = o->expect_body != NULL ||
	    o->expect_body_regex != NULL;
	if (http_npool > 0)
		h->easy = http_pool[--http_npool];
	else if ((h->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init", __func__);
	if (http_setup(h, run->conf) == -1) {
		http_release(h);
		probe_done(run, PROBE_FAIL, "libcurl refused an option");
		return;
	}
	if (curlm_add(http_cm, h->easy, err, sizeof(err)) == -1) {
		/* Not pooled: a handle the multi refused may be unusable. */
		curl_easy_cleanup(h->easy);
		h->easy = NULL;
		http_release(h);
		probe_done(run, PROBE_FAIL, "%s", err);
		return;
	}
	run->priv = h;
}

/* Names the failure the way an operator searches for it. */
static void
http_error(CURL *e, CURLcode rc, const char *errbuf, char *out, size_t len)
{
	static const char	 vague[] = ": Couldn't connect to server";
	long			 oserr = 0;
	size_t			 n;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		/*
		 * 7.88 ends with the vague "Couldn't connect to server";
		 * say why instead ("... port 1 after 0 ms: Connection
		 * refused"), as older curl did.
		 */
		(void)curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
		n = strlen(errbuf);
		if (oserr == 0 || n < sizeof(vague) - 1 ||
		    strcmp(errbuf + n - (sizeof(vague) - 1), vague) != 0) {
			strlcpy_v(out, errbuf, len);
			return;
		}
		snprintf(out, len, "%.*s: %s",
		    (int)(n - (sizeof(vague) - 1) > 150 ? 150 :
		    n - (sizeof(vague) - 1)), errbuf, strerror((int)oserr));
		return;
	case CURLE_OPERATION_TIMEDOUT:
		/* Only curl's safety net: the engine's timeout comes first. */
		snprintf(out, len, "timeout (%.150s)", errbuf);
		return;
	default:
		strlcpy_v(out, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc), len);
		return;
	}
}

/* Phase durations from curl's cumulative timestamps (-1: not reached). */
static void
http_timings(CURL *e, struct probe_result *r)
{
	curl_off_t	nl = 0, ct = 0, ac = 0, st = 0, tot = 0, base;

	(void)curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &nl);
	(void)curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &ct);
	(void)curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &ac);
	(void)curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &st);
	(void)curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &tot);
	if (ct > 0) {
		r->dns_us = nl;
		r->connect_us = ct - nl;
	} else if (nl > 0)
		r->dns_us = nl;
	if (ac > 0 && ct > 0)
		r->tls_us = ac - ct;
	base = ac > ct ? ac : ct;
	if (st > 0 && base > 0)
		r->ttfb_us = st - base;
	if (tot > 0)
		r->latency_us = tot;
}

/*
 * The engine's timeout ends the run.  What the transfer
 * got to (status code, phases up to the slow one) is left in run->res:
 * the engine stores it with its timeout error, so an operator sees which
 * phase was slow.  The engine sets the latency itself.
 */
static void
http_abort(struct probe_run *run)
{
	struct http_run	*h = run->priv;
	long		 code = 0;

	if (h == NULL)
		return;
	http_timings(h->easy, &run->res);
	if (curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code) ==
	    CURLE_OK && code > 0)
		run->res.code = (int)code;
}

static void
http_finish(struct http_run *h, CURLcode rc)
{
	struct probe_run	*run = h->run;
	const struct http_opts	*o = run->conf->opts;
	struct probe_result	*r = &run->res;
	enum probe_status	 st = PROBE_FAIL;
	char			 msg[PROBE_ERR_LEN] = "";
	long			 code = 0;

	http_timings(h->easy, r);
	(void)curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code > 0)
		r->code = (int)code;
	if (rc != CURLE_OK) {
		http_error(h->easy, rc, h->errbuf, msg, sizeof(msg));
		goto done;
	}
	if (code < o->expect_status.lo || code > o->expect_status.hi) {
		if (o->expect_status.lo == o->expect_status.hi)
			snprintf(msg, sizeof(msg), "status %ld, expected %ld",
			    code, o->expect_status.lo);
		else
			snprintf(msg, sizeof(msg), "status %ld, expected "
			    "%ld-%ld", code, o->expect_status.lo,
			    o->expect_status.hi);
		goto done;
	}
	if (o->body_re_ok) {
		const char *body = h->body.data != NULL ? h->body.data : "";

		if (regexec(&o->body_re, body, 0, NULL, 0) != 0) {
			snprintf(msg, sizeof(msg), "body does not match "
			    "/%.80s/", o->expect_body_regex);
			goto done;
		}
	} else if (o->expect_body != NULL) {
		const char *body = h->body.data != NULL ? h->body.data : "";

		if (memmem(body, h->body.len, o->expect_body,
		    strlen(o->expect_body)) == NULL) {
			snprintf(msg, sizeof(msg), "body does not contain "
			    "'%.80s'", o->expect_body);
			goto done;
		}
	}
	st = PROBE_OK;
done:
	probe_finish(run, st, "%s", msg);
}

/* curlm.c: a transfer curl has finished. */
static void
http_done(CURL *easy, CURLcode rc, void *arg)
{
	struct http_run	*h = NULL;

	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &h) != CURLE_OK ||
	    h == NULL)
		fatalx("%s: transfer without a run", __func__);
	http_finish(h, rc);
}

static int
http_init(char *err, size_t errlen)
{
	const curl_version_info_data	*vi;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	http_global = 1;
	vi = curl_version_info(CURLVERSION_NOW);
	if (vi->version_num < 0x075000) {	/* PREREQFUNCTION, _STR */
		snprintf(err, errlen, "libcurl %s is too old (need 7.80)",
		    vi->version);
		goto fail;
	}
	if ((http_cm = curlm_new(http_done, NULL, err, errlen)) == NULL)
		goto fail;
	return 0;
fail:
	curl_global_cleanup();
	http_global = 0;
	return -1;
}

/* The engine has released every run first: only idle handles remain. */
static void
http_shutdown(void)
{
	while (http_npool > 0)
		curl_easy_cleanup(http_pool[--http_npool]);
	curlm_free(http_cm);
	http_cm = NULL;
	if (http_global)
		curl_global_cleanup();
	http_global = 0;
}

const struct probe_type probe_http_type = {
	.name = "http",
	.opts_size = sizeof(struct http_opts),
	.keys = http_keys,
	.check = http_check,
	.free_opts = http_free_opts,
	.init = http_init,
	.shutdown = http_shutdown,
	.start = http_start,
	.release = http_release,
	.abort = http_abort,
};
