/*
 * fetch.c - every HTTP request of the console on one libcurl multi handle.
 *
 * The caller's loop (UI or CLI) waits in fetch_wait(), which polls the
 * transfers' sockets and, in the UI, the terminal together; nothing here
 * ever blocks for longer than that wait.  Each request has a connect and
 * a total timeout, a body size cap and a low-speed limit, so an agent
 * that drips one byte per second or sends gigabytes costs a bounded time
 * and memory and ends in an error the fleet can show.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "vantage.h"

struct fetch {
	CURLM			*multi;
	struct fetch_limits	 lim;
	struct fetch_req	*head;		/* every request in flight */
	int			 n;
};

struct fetch_req {
	struct fetch		*f;
	CURL			*easy;
	struct curl_slist	*headers;
	struct curl_slist	*connect_to;
	struct buf		 body;
	fetch_done_fn		 done;
	void			*arg;
	int64_t			 sent_ms;
	int64_t			 agent_time_ms;
	int64_t			 retry_after_s;
	int64_t			 timeout_ms;	/* total, of this request */
	int			 too_big;
	int			 finishing;	/* its callback runs */
	int			 https;		/* the URL's scheme */
	const struct conf_agent	*agent;		/* for hints, or NULL */
	char			 errbuf[CURL_ERROR_SIZE];
	struct fetch_req	*prev;
	struct fetch_req	*next;
};

int64_t
fetch_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fetch_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
fetch_err_str(enum fetch_err e)
{
	switch (e) {
	case FETCH_OK:
		return "ok";
	case FETCH_RESOLVE:
		return "cannot resolve host";
	case FETCH_CONNECT:
		return "cannot connect";
	case FETCH_TIMEOUT:
		return "timed out";
	case FETCH_SLOW:
		return "slow response";
	case FETCH_TLS:
		return "TLS error";
	case FETCH_TUNNEL:
		return "SSH tunnel down";
	case FETCH_TOO_BIG:
		return "response too large";
	case FETCH_CONTENT_TYPE:
		return "wrong content type";
	case FETCH_HTTP:
		return "HTTP error";
	case FETCH_BAD_JSON:
		return "malformed JSON";
	case FETCH_BAD_DATA:
		return "invalid data";
	case FETCH_CANCELLED:
		return "cancelled";
	case FETCH_INTERNAL:
		return "internal error";
	}
	return "?";
}

int
fetch_err_is_transport(enum fetch_err e)
{
	switch (e) {
	case FETCH_RESOLVE:
	case FETCH_CONNECT:
	case FETCH_TIMEOUT:
	case FETCH_SLOW:
	case FETCH_TLS:
	case FETCH_TUNNEL:
		return 1;
	case FETCH_OK:
	case FETCH_TOO_BIG:
	case FETCH_CONTENT_TYPE:
	case FETCH_HTTP:
	case FETCH_BAD_JSON:
	case FETCH_BAD_DATA:
	case FETCH_CANCELLED:
	case FETCH_INTERNAL:
		return 0;
	}
	return 0;
}

struct fetch *
fetch_new(const struct fetch_limits *lim)
{
	struct fetch	*f;
	static int	 inited;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			fatalx("%s: curl_global_init failed", __func__);
		inited = 1;
	}
	f = xcalloc(1, sizeof(*f));
	f->lim = *lim;
	if ((f->multi = curl_multi_init()) == NULL)
		fatalx("%s: curl_multi_init failed", __func__);
	/* keep a connection per agent alive between polls */
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS,
	    (long)(lim->max_conns > 16 ? lim->max_conns : 16));
	return f;
}

static void
fetch_req_free(struct fetch *f, struct fetch_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		f->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	f->n--;
	curl_multi_remove_handle(f->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	curl_slist_free_all(r->connect_to);
	buf_free(&r->body);
	free(r);
}

void
fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	while (f->head != NULL)
		fetch_req_free(f, f->head);
	curl_multi_cleanup(f->multi);
	free(f);
}

static size_t
fetch_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct fetch_req	*r = userdata;
	size_t			 n = size * nmemb;

	if (r->body.len + n > r->f->lim.max_body) {
		r->too_big = 1;
		return 0;	/* aborts with CURLE_WRITE_ERROR */
	}
	buf_add(&r->body, ptr, n);
	return n;
}

/* Parses a non-negative decimal header value; -1 if it is not one. */
static int64_t
fetch_header_num(const char *v, size_t len)
{
	int64_t	n = 0;
	size_t	i = 0;

	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == len || !isdigit((unsigned char)v[i]))
		return -1;
	for (; i < len && isdigit((unsigned char)v[i]); i++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	while (i < len && isspace((unsigned char)v[i]))
		i++;
	return i == len ? n : -1;
}

static size_t
fetch_header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct fetch_req	*r = userdata;
	size_t			 n = size * nitems;
	static const char	 xt[] = "X-Vantage-Time:";
	static const char	 ra[] = "Retry-After:";
	int64_t			 v;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after a 100 Continue): forget the old */
		r->agent_time_ms = VANTAGE_NONE;
		r->retry_after_s = 0;
	} else if (n > sizeof(xt) - 1 &&
	    strncasecmp(buf, xt, sizeof(xt) - 1) == 0) {
		v = fetch_header_num(buf + sizeof(xt) - 1,
		    n - (sizeof(xt) - 1));
		if (v >= 0)
			r->agent_time_ms = v;
	} else if (n > sizeof(ra) - 1 &&
	    strncasecmp(buf, ra, sizeof(ra) - 1) == 0) {
		v = fetch_header_num(buf + sizeof(ra) - 1,
		    n - (sizeof(ra) - 1));
		if (v >= 0)
			r->retry_after_s = v > 3600 ? 3600 : v;
	}
	return n;
}

#define SETOPT(opt, val) do {						\
	if (curl_easy_setopt(r->easy, (opt), (val)) != CURLE_OK)	\
		goto fail;						\
} while (0)

struct fetch_req *
fetch_start(struct fetch *f, const struct fetch_spec *s, fetch_done_fn done,
    void *arg)
{
	struct fetch_req	*r;
	char			*h;
	int			 post;

	r = xcalloc(1, sizeof(*r));
	r->f = f;
	r->done = done;
	r->arg = arg;
	r->agent_time_ms = VANTAGE_NONE;
	r->agent = s->agent;
	r->https = strncasecmp(s->url, "https:", 6) == 0;
	buf_init(&r->body);
	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("%s: curl_easy_init failed", __func__);
	post = s->method != NULL && strcmp(s->method, "POST") == 0;

	SETOPT(CURLOPT_URL, s->url);
	SETOPT(CURLOPT_PRIVATE, r);
	SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)f->lim.connect_timeout_ms);
	r->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : f->lim.timeout_ms;
	SETOPT(CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	/*
	 * A request with a timeout of its own (a route change waits for a
	 * commit, an outcome lookup is short) is bounded by it alone: the
	 * low-speed limit would cut it off before its time.
	 */
	if (s->timeout_ms <= 0) {
		SETOPT(CURLOPT_LOW_SPEED_LIMIT, f->lim.low_speed_bytes);
		SETOPT(CURLOPT_LOW_SPEED_TIME, f->lim.low_speed_secs);
	}
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->lim.max_body);
	SETOPT(CURLOPT_WRITEFUNCTION, fetch_write_cb);
	SETOPT(CURLOPT_WRITEDATA, r);
	SETOPT(CURLOPT_HEADERFUNCTION, fetch_header_cb);
	SETOPT(CURLOPT_HEADERDATA, r);
	SETOPT(CURLOPT_USERAGENT, "vantage/" VANTAGE_VERSION);
	/* older versions are refused by name, not by a cipher mismatch */
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca != NULL)
		SETOPT(CURLOPT_CAINFO, s->ca);
	if (s->cert != NULL)
		SETOPT(CURLOPT_SSLCERT, s->cert);
	if (s->key != NULL)
		SETOPT(CURLOPT_SSLKEY, s->key);
	if (s->connect_to != NULL) {
		r->connect_to = curl_slist_append(NULL, s->connect_to);
		if (r->connect_to == NULL)
			fatalx("%s: out of memory", __func__);
		SETOPT(CURLOPT_CONNECT_TO, r->connect_to);
	}
	r->headers = curl_slist_append(r->headers, "Accept: application/json");
	if (s->token != NULL) {
		xasprintf(&h, "Authorization: Bearer %s", s->token);
		r->headers = curl_slist_append(r->headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	if (post) {
		r->headers = curl_slist_append(r->headers,
		    "Content-Type: application/json");
		if (s->operator != NULL) {
			xasprintf(&h, "X-Vantage-Operator: %s", s->operator);
			r->headers = curl_slist_append(r->headers, h);
			free(h);
		}
		if (s->idem_key != NULL) {
			xasprintf(&h, "Idempotency-Key: %s", s->idem_key);
			r->headers = curl_slist_append(r->headers, h);
			free(h);
		}
		if (s->deadline_ms > 0) {
			xasprintf(&h, "X-Vantage-Deadline: %" PRId64,
			    s->deadline_ms);
			r->headers = curl_slist_append(r->headers, h);
			free(h);
		}
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_COPYPOSTFIELDS, s->body != NULL ? s->body : "");
	}
	if (r->headers == NULL)
		fatalx("%s: out of memory", __func__);
	SETOPT(CURLOPT_HTTPHEADER, r->headers);
	if (curl_multi_add_handle(f->multi, r->easy) != CURLM_OK)
		goto fail;
	r->sent_ms = fetch_now_ms();
	r->next = f->head;
	if (f->head != NULL)
		f->head->prev = r;
	f->head = r;
	f->n++;
	return r;
fail:
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	curl_slist_free_all(r->connect_to);
	buf_free(&r->body);
	free(r);
	return NULL;
}

void *
fetch_cancel(struct fetch *f, struct fetch_req *r)
{
	void	*arg;

	/* a callback cancelling its own request is a no-op */
	if (r == NULL || r->finishing)
		return NULL;
	arg = r->arg;
	fetch_req_free(f, r);
	return arg;
}

void
fetch_wakeup(struct fetch *f)
{
	curl_multi_wakeup(f->multi);
}

int
fetch_pending(const struct fetch *f)
{
	return f->n;
}

int
fetch_wait(struct fetch *f, int timeout_ms, int fd)
{
	struct curl_waitfd	 wfd;
	int			 numfds = 0;

	if (timeout_ms < 0)
		timeout_ms = 0;
	memset(&wfd, 0, sizeof(wfd));
	wfd.fd = fd;
	wfd.events = CURL_WAIT_POLLIN;
	if (curl_multi_poll(f->multi, fd >= 0 ? &wfd : NULL, fd >= 0 ? 1 : 0,
	    timeout_ms, &numfds) != CURLM_OK)
		return 0;
	if (fd >= 0 && wfd.revents != 0)
		return (wfd.revents & CURL_WAIT_POLLIN) ? 1 : -1;
	return 0;
}

/*
 * Where the agent's setting key comes from, " (FILE:LINE)" and the like,
 * for a message that names what to change; "" without an agent.
 */
static const char *
fetch_where(const struct fetch_req *r, const char *key, char *buf,
    size_t len)
{
	char	o[320];

	if (r->agent == NULL) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len, " (%s)", conf_agent_origin(r->agent, key, o,
	    sizeof(o)));
	return buf;
}

static int
fetch_has(const char *s, const char *word)
{
	return strcasestr(s, word) != NULL;
}

/* A failed TLS handshake or verification, by what OpenSSL said. */
static void
fetch_tls_msg(struct fetch_req *r, CURLcode cc, char *msg, size_t msglen)
{
	const char	*e = r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc);
	const struct conf_agent *a = r->agent;
	char		 w[360], hint[400];

	if (fetch_has(e, "wrong version number") ||
	    fetch_has(e, "packet length too long") ||
	    fetch_has(e, "http request")) {
		/* the first bytes back were not TLS: plain HTTP there */
		snprintf(msg, msglen, "TLS handshake failed: the agent answers "
		    "without TLS on this port: use http:// in url%s, or give "
		    "the agent tls_cert and tls_key in [api]",
		    fetch_where(r, "url", w, sizeof(w)));
	} else if (fetch_has(e, "SSL_ERROR_SYSCALL") ||
	    fetch_has(e, "unexpected eof")) {
		/* a plain HTTP server may just hang up on a ClientHello */
		snprintf(msg, msglen, "TLS handshake failed: the agent closed "
		    "the connection: if it serves plain HTTP on this port, "
		    "use http:// in url%s, else see the agent's log",
		    fetch_where(r, "url", w, sizeof(w)));
	} else if (fetch_has(e, "alert protocol version") ||
	    fetch_has(e, "unsupported protocol") ||
	    fetch_has(e, "no protocols available") ||
	    fetch_has(e, "version too low")) {
		snprintf(msg, msglen, "TLS handshake failed: the agent offers "
		    "only TLS versions older than 1.2, which the console "
		    "refuses: let it use TLS 1.2 or 1.3 (vantaged: [api] "
		    "tls_ciphers)");
	} else if (cc == CURLE_PEER_FAILED_VERIFICATION &&
	    (fetch_has(e, "local issuer") || fetch_has(e, "self-signed") ||
	    fetch_has(e, "self signed") || fetch_has(e, "unknown ca") ||
	    fetch_has(e, "unable to get issuer"))) {
		if (a != NULL && a->ca != NULL)
			snprintf(hint, sizeof(hint), "not signed by the CA in "
			    "ca = %s%s: set ca to the CA that signed it", a->ca,
			    fetch_where(r, "ca", w, sizeof(w)));
		else if (a != NULL && a->file != NULL)
			snprintf(hint, sizeof(hint), "not signed by a CA this "
			    "system trusts: add ca = FILE (the CA that signed "
			    "it) to [agent \"%s\"] at %s:%d", a->name, a->file,
			    a->line);
		else if (a != NULL)
			snprintf(hint, sizeof(hint), "not signed by a CA this "
			    "system trusts: give --ca FILE (the CA that "
			    "signed it) after --agent");
		else
			snprintf(hint, sizeof(hint), "not signed by a CA this "
			    "system trusts");
		snprintf(msg, msglen, "TLS: unknown CA: the agent's "
		    "certificate is %s", hint);
	} else if (cc == CURLE_PEER_FAILED_VERIFICATION &&
	    (fetch_has(e, "subject name") || fetch_has(e, "hostname") ||
	    fetch_has(e, "host name"))) {
		snprintf(msg, msglen, "TLS: the agent's certificate is not for "
		    "'%s': use a name the certificate holds in url%s",
		    a != NULL ? a->host : "this host",
		    fetch_where(r, "url", w, sizeof(w)));
	} else if (fetch_has(e, "expired")) {
		snprintf(msg, msglen, "TLS: the agent's certificate has "
		    "expired: renew it on the agent ([api] tls_cert)");
	} else if (cc == CURLE_SSL_CACERT_BADFILE) {
		snprintf(msg, msglen, "TLS: cannot use ca = %s%s as a CA "
		    "bundle (PEM certificates expected): %s",
		    a != NULL && a->ca != NULL ? a->ca : "?",
		    fetch_where(r, "ca", w, sizeof(w)), e);
	} else
		snprintf(msg, msglen, "TLS: %s", e);
}

static void
fetch_classify(struct fetch_req *r, CURLcode cc, struct fetch_resp *resp,
    char *msg, size_t msglen)
{
	const struct conf_agent *a = r->agent;
	long		 oserr = 0, sent = 0;
	curl_off_t	 conn = 0;
	char		 w[360], hp[300];

	curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
	if (a != NULL)
		snprintf(hp, sizeof(hp), strchr(a->host, ':') != NULL ?
		    "[%s]:%d" : "%s:%d", a->host, a->port);
	else
		snprintf(hp, sizeof(hp), "the agent");
	/* a request that never left cannot have been acted on */
	resp->not_sent = cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_COULDNT_CONNECT ||
	    sent == 0;
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		resp->err = FETCH_RESOLVE;
		if (a != NULL)
			snprintf(msg, msglen, "cannot resolve host '%s': check "
			    "the host name in url%s", a->host,
			    fetch_where(r, "url", w, sizeof(w)));
		else
			snprintf(msg, msglen, "%s", r->errbuf[0] ? r->errbuf :
			    "cannot resolve host");
		break;
	case CURLE_COULDNT_CONNECT:
		resp->err = FETCH_CONNECT;
		if (oserr == ECONNREFUSED)
			snprintf(msg, msglen, "connection refused by %s: "
			    "nothing listens there; start vantaged, or make "
			    "url%s match its [api] listen", hp,
			    fetch_where(r, "url", w, sizeof(w)));
		else if (oserr != 0)
			snprintf(msg, msglen, "connect to %s: %s: check url%s "
			    "and the network", hp, strerror((int)oserr),
			    fetch_where(r, "url", w, sizeof(w)));
		else
			snprintf(msg, msglen, "%s", r->errbuf);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (strstr(r->errbuf, "Resolving timed out") != NULL) {
			/* no DNS answer at all: the name or the resolver */
			resp->err = FETCH_RESOLVE;
			resp->not_sent = 1;
			snprintf(msg, msglen, "no DNS answer for '%s' within %"
			    PRId64 " ms: check the host name in url%s and the "
			    "resolver (/etc/resolv.conf)", a != NULL ? a->host :
			    "the host", r->f->lim.connect_timeout_ms,
			    fetch_where(r, "url", w, sizeof(w)));
		} else if (strstr(r->errbuf, "too slow") != NULL &&
		    r->body.len == 0) {
			resp->err = FETCH_TIMEOUT;
			snprintf(msg, msglen, "no answer for %ld s",
			    r->f->lim.low_speed_secs);
		} else if (strstr(r->errbuf, "too slow") != NULL) {
			resp->err = FETCH_SLOW;
			snprintf(msg, msglen, "slow response: under %ld "
			    "bytes/s for %ld s (%zu bytes received)",
			    r->f->lim.low_speed_bytes,
			    r->f->lim.low_speed_secs, r->body.len);
		} else if (conn == 0) {
			resp->err = FETCH_TIMEOUT;
			snprintf(msg, msglen, "no connection within %" PRId64
			    " ms", r->f->lim.connect_timeout_ms);
		} else {
			resp->err = FETCH_TIMEOUT;
			snprintf(msg, msglen, "no complete answer within %"
			    PRId64 " ms (%zu bytes received)",
			    r->timeout_ms, r->body.len);
		}
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_USE_SSL_FAILED:
		resp->err = FETCH_TLS;
		fetch_tls_msg(r, cc, msg, msglen);
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (r->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
			resp->err = FETCH_TOO_BIG;
			if (r->f->lim.max_body % (1024 * 1024) == 0)
				snprintf(msg, msglen, "response larger than %"
				    PRIu64 " MiB (aborted)",
				    (uint64_t)r->f->lim.max_body >> 20);
			else
				snprintf(msg, msglen, "response larger than %"
				    PRIu64 " bytes (aborted)",
				    (uint64_t)r->f->lim.max_body);
			break;
		}
		resp->err = FETCH_INTERNAL;
		snprintf(msg, msglen, "%s", curl_easy_strerror(cc));
		break;
	case CURLE_GOT_NOTHING:
		resp->err = FETCH_CONNECT;
		/* a TLS listener drops a plain request without a word */
		if (!r->https && a != NULL)
			snprintf(msg, msglen, "connection closed without an "
			    "answer: if the agent serves HTTPS on this port, "
			    "use https:// in url%s",
			    fetch_where(r, "url", w, sizeof(w)));
		else
			snprintf(msg, msglen, "connection closed without an "
			    "answer");
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		resp->err = FETCH_CONNECT;
		snprintf(msg, msglen, "%s", r->errbuf[0] ? r->errbuf :
		    curl_easy_strerror(cc));
		break;
	default:
		/* anything else is the server not speaking HTTP to us */
		resp->err = FETCH_CONNECT;
		snprintf(msg, msglen, "%s", r->errbuf[0] ? r->errbuf :
		    curl_easy_strerror(cc));
		break;
	}
}

/*
 * What to change after an HTTP error status, or "": the token for 401,
 * the scheme when a web server says plain HTTP reached its HTTPS port.
 */
static void
fetch_http_hint(struct fetch_req *r, long status, char *hint, size_t len)
{
	const struct conf_agent *a = r->agent;
	char			 w[360];

	hint[0] = '\0';
	if (a == NULL)
		return;
	if (status == 401) {
		fetch_where(r, "token", w, sizeof(w));
		if (a->token == NULL && a->file != NULL)
			snprintf(hint, len, "no token is set for this agent: "
			    "add token_file = FILE to [agent \"%s\"] at %s:%d",
			    a->name, a->file, a->line);
		else if (a->token == NULL)
			snprintf(hint, len, "no token is set for this agent: "
			    "give --token-file FILE after --agent or set "
			    "$VANTAGE_TOKEN");
		else if (a->token_file != NULL)
			snprintf(hint, len, "the agent does not accept the "
			    "token in token_file %s%s: put there a token the "
			    "agent's tokens file lists (vantaged token NAME "
			    "ROLE makes one)", a->token_file, w);
		else if (a->token_env)
			snprintf(hint, len, "the agent does not accept "
			    "$VANTAGE_TOKEN: set it to a token the agent's "
			    "tokens file lists, or give --token-file FILE");
		else
			snprintf(hint, len, "the agent does not accept the "
			    "token%s: set one the agent's tokens file lists "
			    "(vantaged token NAME ROLE makes one)", w);
	} else if (status == 400 && !r->https && r->body.data != NULL &&
	    strstr(r->body.data, "HTTP request was sent to HTTPS port") !=
	    NULL)
		snprintf(hint, len, "the server speaks HTTPS on this port: "
		    "use https:// in url%s", fetch_where(r, "url", w,
		    sizeof(w)));
}

static int
fetch_is_json(const char *ct)
{
	size_t	n = strlen("application/json");

	if (ct == NULL)
		return 0;
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static void
fetch_finish(struct fetch *f, struct fetch_req *r, CURLcode cc)
{
	struct fetch_resp	 resp;
	char			 msg[CURL_ERROR_SIZE + 640], hint[640];
	char			*ct = NULL;
	curl_off_t		 total = 0;
	fetch_done_fn		 done = r->done;
	void			*arg = r->arg;

	memset(&resp, 0, sizeof(resp));
	msg[0] = '\0';
	hint[0] = '\0';
	resp.hint = "";
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
	resp.sent_ms = r->sent_ms;
	resp.elapsed_us = (int64_t)total;
	resp.agent_time_ms = r->agent_time_ms;
	resp.retry_after_s = r->retry_after_s;
	resp.body = r->body.data != NULL ? r->body.data : "";
	resp.len = r->body.len;
	if (cc != CURLE_OK)
		fetch_classify(r, cc, &resp, msg, sizeof(msg));
	else if (resp.status < 200 || resp.status > 299) {
		resp.err = FETCH_HTTP;
		fetch_http_hint(r, resp.status, hint, sizeof(hint));
		resp.hint = hint;
		if (hint[0] != '\0')
			snprintf(msg, sizeof(msg), "HTTP %ld: %s", resp.status,
			    hint);
		else
			snprintf(msg, sizeof(msg), "HTTP %ld", resp.status);
	} else if (!fetch_is_json(ct)) {
		resp.err = FETCH_CONTENT_TYPE;
		snprintf(msg, sizeof(msg), "wrong content type '%.60s' "
		    "(expected application/json)", ct != NULL ? ct : "none");
	}
	resp.errmsg = msg;
	/* unlink first: the callback may start or cancel requests */
	curl_multi_remove_handle(f->multi, r->easy);
	r->done = NULL;
	r->finishing = 1;
	if (done != NULL)
		done(&resp, arg);
	fetch_req_free(f, r);
}

void
fetch_dispatch(struct fetch *f)
{
	CURLMsg			*m;
	struct fetch_req	*r;
	int			 running, left;

	curl_multi_perform(f->multi, &running);
	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		if (r != NULL)
			fetch_finish(f, r, m->data.result);
	}
}
