/*
 * api.c - the agent's HTTP API (vantage-api(7)): libmicrohttpd daemons,
 * one per [api] listen address, each with a small pool of threads on
 * epoll; dispatch over the handler tables of api_*.c; TLS and mTLS;
 * limits (headers, body, connections, idle time, per-client rate);
 * authentication (auth.c) and the audit of refused mutating requests.
 *
 * libmicrohttpd's idle timeout restarts on every byte, so a client that
 * drips a header line every few seconds would hold its connection for
 * ever.  Each connection therefore carries its own deadline (struct
 * api_conn): request headers complete within [api] header_timeout of the
 * accept (or of the previous answer, plus the keep-alive time), or a
 * sweeper thread shuts the socket down and libmicrohttpd, seeing EOF,
 * frees the connection in its own thread.
 *
 * Nothing here runs on the probe loop but api_tick() and the wake-up
 * eventfd: the API threads read the probe engine's data only through
 * snapshots (struct api_snap) the loop publishes, so a slow client or a
 * flood never delays a probe, and the loop never waits for a client.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cJSON.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "json.h"
#include "vantaged.h"

#define API_CONN_MEMORY		(32 * 1024)	/* request line + headers */
#define API_CONN_TIMEOUT_S	30		/* idle keep-alive */
#define API_CONN_LIMIT		1000		/* per listener, at most */
/*
 * One address may hold this share of a listener: 1/32, so it takes 32
 * addresses, not 16 (1000 / 64), to fill the listener for the rest.
 */
#define API_PER_IP_SHARE	32
#define API_PER_IP_MIN		4
#define API_POOL_THREADS	2
#define API_RATE_CLIENTS	4096
#define API_ANON_RATE		50	/* requests/s without a valid token */
#define API_ANON_BURST		100
#define API_SWEEP_US		250000		/* header deadline precision */
/*
 * Mozilla "intermediate": forward-secret key exchange and AEAD ciphers
 * only in TLS 1.2 (no CBC, no SHA-1 MACs, no RSA key transport), every
 * TLS 1.3 suite.  DHE is only chosen when DH parameters are set, which
 * libmicrohttpd does not do by default: in practice ECDHE.
 */
#define API_TLS_PRIORITIES	"SECURE128:-VERS-ALL:+VERS-TLS1.3:" \
	"+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:" \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:" \
	"+ECDHE-RSA:+DHE-RSA"
#define API_STATUS_MAX		600
#define API_DROP_MAX		(1024 * 1024)	/* then the connection goes */

/* Every resource file's table; dispatch walks them in this order. */
static const struct api_handler *const api_tables[] = {
	api_status_handlers,
	api_probes_handlers,
	api_routes_handlers,
	api_audit_handlers,
	api_events_handlers,
	api_metrics_handlers,
	api_ack_handlers,
	NULL
};

/* One request, from the URI callback to the completion callback. */
struct api_ctx {
	int		 calls;		/* access handler calls so far */
	int		 done;		/* a response is queued */
	int		 too_large;	/* body over API_BODY_MAX */
	int		 close;		/* answer with Connection: close */
	size_t		 dropped;	/* body bytes dropped since */
	struct buf	 body;
	char		*query;		/* raw query string or NULL */
	char		*scratch;	/* the '*' segments of the path */
};

struct api_tls {
	char		*cert_path, *key_path, *ca_path;
	char		*cert, *key, *ca;	/* PEM text for libmicrohttpd */
	char		*priorities;		/* [api] tls_ciphers */
};

/*
 * One TCP connection, from accept to close (MHD_OPTION_NOTIFY_CONNECTION),
 * on api_conns under api_conns_mtx.  The sweeper reads fd only under the
 * mutex, and libmicrohttpd closes fd only after the CLOSED notice took
 * the entry off the list: a shutdown() never hits a reused descriptor.
 */
struct api_conn {
	struct api_conn	*next, *prev;
	int		 fd;
	int		 in_request;	/* headers complete, not answered yet */
	int		 shut;		/* the sweeper shut it down */
	uint64_t	 deadline_us;	/* headers by then, or shut down */
};

static struct MHD_Daemon	*api_daemons[CONF_MAX_LISTEN];
static char			*api_listen[CONF_MAX_LISTEN];
static int			 api_n_daemons;
static struct api_tls		 api_tls;
static int			 api_wake_fd = -1;
static int			 api_running;
static unsigned int		 api_conn_limit = API_CONN_LIMIT;

static pthread_mutex_t		 api_conns_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 api_sweep_cond = PTHREAD_COND_INITIALIZER;
static struct api_conn		*api_conns;
static pthread_t		 api_sweeper;
static int			 api_sweeping;	/* the thread runs */
static int			 api_sweep_stop;
static uint64_t			 api_header_timeout_us =
				    API_HEADER_TIMEOUT_MS * 1000ULL;
static _Atomic uint64_t		 api_n_header_timeouts;

/* Credentials: read by every request, replaced by a reload. */
static pthread_rwlock_t		 api_auth_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct auth		*api_auth;
static struct ratelimit		*api_rl;
/* each API thread's read-only store connection (api_reader) */
static pthread_key_t		 api_reader_key;
static int			 api_reader_key_ok;
/* every caller without a valid credential, together (API_ANON_RATE) */
static struct ratelimit		*api_rl_anon;

/* Small config values the API threads read (reload may change them). */
static pthread_mutex_t		 api_conf_mtx = PTHREAD_MUTEX_INITIALIZER;
static char			 api_name[256];
static int			 api_metrics_public;
static double			 api_rate_per_sec;
static long			 api_rate_burst;

static pthread_mutex_t		 api_snap_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 api_snap_cv = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t		 api_count[API_STATUS_MAX];

/* libmicrohttpd's last complaint while starting, for the error text. */
static pthread_mutex_t		 api_log_mtx = PTHREAD_MUTEX_INITIALIZER;
static char			 api_log_last[256];

const char *
api_role_str(enum api_role r)
{
	switch (r) {
	case ROLE_NONE:
		return "none";
	case ROLE_VIEWER:
		return "viewer";
	case ROLE_OPERATOR:
		return "operator";
	case ROLE_ADMIN:
		return "admin";
	}
	return "?";
}

/* ---------------------------------------------------------------- */
/* snapshots */

struct api_snap *
api_snap_new(const struct buf *b, uint64_t tag, size_t split)
{
	struct api_snap	*s;

	s = xmalloc(sizeof(*s) + b->len + 1);
	s->refs = 1;
	s->built_us = clock_mono_us();
	s->tag = tag;
	s->split = split;
	s->len = b->len;
	if (b->len > 0)
		memcpy(s->data, b->data, b->len);
	s->data[b->len] = '\0';
	return s;
}

struct api_snap *
api_snap_get(struct api_snap *const *slot)
{
	struct api_snap	*s;

	pthread_mutex_lock(&api_snap_mtx);
	if ((s = *slot) != NULL)
		s->refs++;
	pthread_mutex_unlock(&api_snap_mtx);
	return s;
}

void
api_snap_put(struct api_snap *s)
{
	int	last;

	if (s == NULL)
		return;
	pthread_mutex_lock(&api_snap_mtx);
	last = --s->refs == 0;
	pthread_mutex_unlock(&api_snap_mtx);
	if (last)
		free(s);
}

void
api_snap_set(struct api_snap **slot, struct api_snap *s)
{
	struct api_snap	*old;

	pthread_mutex_lock(&api_snap_mtx);
	old = *slot;
	*slot = s;
	pthread_cond_broadcast(&api_snap_cv);
	pthread_mutex_unlock(&api_snap_mtx);
	api_snap_put(old);
}

struct api_snap *
api_snap_wait(struct api_snap *const *slot, const struct api_snap *old,
    int64_t timeout_us)
{
	struct api_snap	*s;
	struct timespec	 until;

	clock_wall_after(&until, timeout_us);
	pthread_mutex_lock(&api_snap_mtx);
	while (*slot == old && pthread_cond_timedwait(&api_snap_cv,
	    &api_snap_mtx, &until) == 0)
		;
	if ((s = *slot) != NULL)
		s->refs++;
	pthread_mutex_unlock(&api_snap_mtx);
	return s;
}

/* ---------------------------------------------------------------- */
/* small shared helpers */

void
api_agent_name(char *out, size_t len)
{
	pthread_mutex_lock(&api_conf_mtx);
	strlcpy_v(out, api_name, len);
	pthread_mutex_unlock(&api_conf_mtx);
}

uint64_t
api_requests(int status)
{
	if (status < 0 || status >= API_STATUS_MAX)
		return 0;
	return atomic_load_explicit(&api_count[status], memory_order_relaxed);
}

void
api_wake(void)
{
	uint64_t	one = 1;

	/* EAGAIN: the counter is full, the loop is awake anyway */
	if (api_wake_fd != -1 && write(api_wake_fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_debug("api: wake: %s", strerror(errno));
}

static void
api_on_wake(int fd, uint32_t events, void *arg)
{
	uint64_t	v;

	/* api_tick() runs before the loop sleeps again: that is the point */
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_debug("api: wake: %s", strerror(errno));
}

const char *
api_query(struct api_req *req, const char *key)
{
	return api_query_get(&req->query, key);
}

static void
api_reader_close(void *db)
{
	sqlite3_close_v2(db);
}

struct sqlite3 *
api_reader(struct api_reply *rep)
{
	sqlite3	*db;
	char	 err[256];

	if ((db = pthread_getspecific(api_reader_key)) != NULL)
		return db;
	if (vd == NULL || vd->store == NULL ||
	    (db = store_connect(vd->store, 1, err, sizeof(err))) == NULL) {
		rep->retry_after = 5;
		api_error(rep, 503, "unavailable", "store: %s", vd == NULL ||
		    vd->store == NULL ? "not open" : err);
		return NULL;
	}
	if (pthread_setspecific(api_reader_key, db) != 0) {
		sqlite3_close_v2(db);
		api_error(rep, 503, "unavailable", "store: out of memory");
		return NULL;
	}
	return db;
}

void
api_error(struct api_reply *rep, int status, const char *code,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->status = status;
	rep->content_type = NULL;
	buf_reset(&rep->body);
	buf_adds(&rep->body, "{\"error\":{\"code\":");
	buf_add_json_str(&rep->body, code);
	buf_adds(&rep->body, ",\"message\":");
	buf_add_json_str(&rep->body, msg);
	buf_adds(&rep->body, "}}");
}

struct cJSON *
api_body_object(struct api_req *req, struct api_reply *rep,
    const char *const *allowed, int empty_ok)
{
	cJSON	*j;
	char	 err[256];

	if (req->body_len == 0 && empty_ok)
		return cJSON_CreateObject();
	if (req->body_len > API_BODY_MAX) {
		api_error(rep, 413, "too_large", "request body over %d bytes",
		    API_BODY_MAX);
		return NULL;
	}
	if ((j = json_parse_object(req->body, req->body_len, err,
	    sizeof(err))) == NULL) {
		api_error(rep, 400, "bad_request", "%s", err);
		return NULL;
	}
	if (json_only_keys(j, allowed, err, sizeof(err)) == -1) {
		api_error(rep, 400, "bad_request", "%s", err);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* ---------------------------------------------------------------- */
/* dispatch */

/*
 * Matches path against pattern, '*' standing for one non-empty segment;
 * the segments are copied into scratch (as long as path) and args point
 * at them.
 */
static int
api_pattern_match(const char *pat, const char *path, char *scratch,
    const char **args)
{
	size_t	len;
	int	nargs = 0;

	args[0] = args[1] = args[2] = args[3] = NULL;
	for (;;) {
		if (*pat == '*') {
			len = strcspn(path, "/");
			if (len == 0 || nargs == 4)
				return 0;
			memcpy(scratch, path, len);
			scratch[len] = '\0';
			args[nargs++] = scratch;
			scratch += len + 1;
			path += len;
			pat++;
			continue;
		}
		if (*pat == '\0' || *path == '\0')
			return *pat == *path;
		if (*pat++ != *path++)
			return 0;
	}
}

static int
api_method_is(const char *want, const char *method)
{
	/* libmicrohttpd sends no body for HEAD: it is a GET without one */
	return strcmp(want, method) == 0 || (strcmp(method, "HEAD") == 0 &&
	    strcmp(want, "GET") == 0);
}

/* The handler for method+path, or NULL with 404/405 and allow filled. */
static const struct api_handler *
api_match(const char *method, const char *path, char *scratch,
    const char **args, char *allow, size_t allowlen, int *status)
{
	const struct api_handler	*h;
	size_t				 t;

	for (t = 0; api_tables[t] != NULL; t++) {
		for (h = api_tables[t]; h->method != NULL; h++) {
			if (api_method_is(h->method, method) &&
			    api_pattern_match(h->pattern, path, scratch, args))
				return h;
		}
	}
	allow[0] = '\0';
	for (t = 0; api_tables[t] != NULL; t++) {
		for (h = api_tables[t]; h->method != NULL; h++) {
			if (!api_pattern_match(h->pattern, path, scratch, args) ||
			    strstr(allow, h->method) != NULL)
				continue;
			if (allow[0] != '\0')
				strlcpy_v(allow + strlen(allow), ", ",
				    allowlen - strlen(allow));
			strlcpy_v(allow + strlen(allow), h->method,
			    allowlen - strlen(allow));
		}
	}
	args[0] = args[1] = args[2] = args[3] = NULL;
	*status = allow[0] != '\0' ? 405 : 404;
	return NULL;
}

static void
api_peer(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr		*sa;
	socklen_t			 slen;

	strlcpy_v(out, "?", len);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	slen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo(sa, slen, out, (socklen_t)len, NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy_v(out, "?", len);
	/* a dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d */
	if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, ':') == NULL)
		memmove(out, out + 7, strlen(out + 7) + 1);
}

/* mTLS: 0 when the client showed a certificate signed by client_ca. */
static int
api_client_cert(struct MHD_Connection *conn, char *why, size_t len)
{
	const union MHD_ConnectionInfo	*ci;
	gnutls_session_t		 s;
	unsigned int			 status = 0, n = 0;
	int				 rc;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL) {
		strlcpy_v(why, "no TLS session", len);
		return -1;
	}
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_get_peers(s, &n) == NULL || n == 0) {
		strlcpy_v(why, "no client certificate", len);
		return -1;
	}
	if ((rc = gnutls_certificate_verify_peers2(s, &status)) < 0) {
		snprintf(why, len, "client certificate: %s",
		    gnutls_strerror(rc));
		return -1;
	}
	if (status == 0)
		return 0;
	snprintf(why, len, "client certificate %s",
	    (status & GNUTLS_CERT_SIGNER_NOT_FOUND) ? "not signed by client_ca" :
	    (status & GNUTLS_CERT_EXPIRED) ? "expired" :
	    (status & GNUTLS_CERT_NOT_ACTIVATED) ? "not valid yet" :
	    (status & GNUTLS_CERT_REVOKED) ? "revoked" :
	    (status & GNUTLS_CERT_SIGNER_NOT_CA) ? "signed by a non-CA" :
	    "not trusted");
	return -1;
}

/* X-Vantage-Operator: short and printable, or the request is refused. */
static int
api_operator_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	}
	return i > 0 && i <= API_OPERATOR_MAX;
}

/* A refused mutating request, bounded and summed up (audit_refused.c). */
static void
api_audit_refusal(const struct api_req *req, int status, const char *why)
{
	struct audit_refusal	r;

	memset(&r, 0, sizeof(r));
	r.source = req->source;
	r.status = status;
	r.authenticated = req->role > ROLE_NONE;
	r.actor = req->actor != NULL ? req->actor : "";
	r.role = req->role > ROLE_NONE ? api_role_str(req->role) : "";
	r.operator_hdr = req->operator_hdr;
	r.method = req->method;
	r.path = req->path;
	r.target = req->args[0] != NULL ? req->args[0] : "";
	r.why = why;
	audit_refused_note(&r);
}

static void
api_send(struct MHD_Connection *conn, struct api_ctx *ctx,
    struct api_reply *rep)
{
	struct MHD_Response	*resp;
	char			*data, num[32];
	size_t			 len;
	int			 status = rep->status;

	if (status < 100 || status >= API_STATUS_MAX)
		status = 500;
	data = buf_release(&rep->body, &len);
	resp = MHD_create_response_from_buffer(len, data,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(data);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    rep->content_type != NULL ? rep->content_type :
	    "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	snprintf(num, sizeof(num), "%lld", (long long)clock_wall_ms());
	MHD_add_response_header(resp, "X-Vantage-Time", num);
	if (rep->retry_after > 0) {
		snprintf(num, sizeof(num), "%d", rep->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (rep->www_authenticate != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    rep->www_authenticate);
	if (status == 405 && rep->allow[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    rep->allow);
	/*
	 * libmicrohttpd closes after a response that says so.  A 400 to a
	 * request with a body too: a body that is not what it claims to be
	 * leaves in doubt where the next request starts.
	 */
	if (ctx->close || (status == 400 && ctx->body.len > 0))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	if (MHD_queue_response(conn, (unsigned int)status, resp) != MHD_YES)
		log_debug("api: cannot queue a %d response", status);
	MHD_destroy_response(resp);
	ctx->done = 1;
	atomic_fetch_add_explicit(&api_count[status], 1, memory_order_relaxed);
}

static void
api_serve(struct MHD_Connection *conn, struct api_ctx *ctx, const char *url,
    const char *method)
{
	const struct api_handler	*h;
	struct api_req			 req;
	struct api_reply		 rep;
	struct auth_who			 who;
	enum auth_result		 ar = AUTH_MISSING;
	enum api_role			 need;
	const char			*authz, *op;
	char				 src[INET6_ADDRSTRLEN + 8], why[256];
	int				 status = 0, retry, first, bad_op = 0;
	int				 pub;
	double				 per_sec;
	long				 burst;

	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	buf_init(&rep.body);
	rep.status = 200;
	api_peer(conn, src, sizeof(src));
	req.method = method;
	req.path = url;
	req.conn = conn;
	req.source = src;
	req.actor = "";
	req.body = ctx->body.data != NULL ? ctx->body.data : "";
	req.body_len = ctx->body.len;
	free(ctx->scratch);
	ctx->scratch = xstrdup(url);

	h = api_match(method, url, ctx->scratch, req.args, rep.allow,
	    sizeof(rep.allow), &status);
	op = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-Vantage-Operator");
	if (op != NULL && !api_operator_ok(op))
		bad_op = 1;
	else
		req.operator_hdr = op;
	/* checked by the handlers that take them (api_routes.c) */
	req.idem_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Idempotency-Key");
	req.deadline = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "X-Vantage-Deadline");

	pthread_mutex_lock(&api_conf_mtx);
	pub = api_metrics_public;
	per_sec = api_rate_per_sec;
	burst = api_rate_burst;
	pthread_mutex_unlock(&api_conf_mtx);

	/*
	 * First, so a flood costs as little as possible.  The token-free
	 * health checks are exempt: load balancers poll them for many routes
	 * from one address, and a 429 there would read as "down".
	 */
	if ((h == NULL || h->role > ROLE_NONE) && !ratelimit_take(api_rl, src,
	    clock_mono_us(), &retry, &first)) {
		rep.retry_after = retry;
		api_error(&rep, 429, "rate_limited", "over %g requests/s "
		    "(burst %ld) from %s; retry in %d s", per_sec, burst, src,
		    retry);
		/* a row for the first of a burst, the rest are counted */
		if (h != NULL && h->mutating && first)
			api_audit_refusal(&req, 429, "rate limited");
		else if (h != NULL && h->mutating)
			audit_refused_count(src, 429);
		goto send;
	}
	if (api_tls.ca != NULL && api_client_cert(conn, why, sizeof(why)) ==
	    -1) {
		rep.www_authenticate = "Bearer realm=\"vantaged\"";
		api_error(&rep, 401, "unauthorized", "mTLS: %s (a certificate "
		    "signed by the agent's client_ca is required)", why);
		if (h != NULL && h->mutating)
			api_audit_refusal(&req, 401, why);
		goto send;
	}
	if (h == NULL) {
		if (status == 405)
			api_error(&rep, 405, "method_not_allowed", "%s is not "
			    "allowed on %s (allowed: %s)", method, url,
			    rep.allow);
		else
			api_error(&rep, 404, "not_found", "no such endpoint: "
			    "%s", url);
		goto send;
	}
	if (bad_op) {
		api_error(&rep, 400, "bad_request", "X-Vantage-Operator: at "
		    "most %d printable ASCII characters", API_OPERATOR_MAX);
		goto send;
	}
	if (api_query_parse(ctx->query, &req.query, why, sizeof(why)) == -1) {
		api_error(&rep, 400, "bad_request", "%s", why);
		goto send;
	}

	need = h->role;
	/* the one endpoint whose role is configuration: [api] metrics_public */
	if (pub && strcmp(h->pattern, "/metrics") == 0)
		need = ROLE_NONE;
	authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (need > ROLE_NONE || authz != NULL) {
		pthread_rwlock_rdlock(&api_auth_lock);
		ar = auth_check(api_auth, authz, clock_wall_ms() / 1000, &who);
		pthread_rwlock_unlock(&api_auth_lock);
		if (ar == AUTH_OK) {
			req.role = who.role;
			req.actor = who.actor;
		}
	}
	/*
	 * Callers without a valid credential share one bucket on top of
	 * their own, so many addresses together cannot crowd out operators.
	 */
	if (need > ROLE_NONE && ar != AUTH_OK && !ratelimit_take(api_rl_anon,
	    "anonymous", clock_mono_us(), &retry, &first)) {
		rep.retry_after = retry;
		api_error(&rep, 429, "rate_limited", "over %d unauthenticated "
		    "requests/s from all addresses together; retry in %d s",
		    API_ANON_RATE, retry);
		if (h->mutating)
			api_audit_refusal(&req, 429, "unauthenticated, over the "
			    "shared rate");
		goto send;
	}
	if (need > ROLE_NONE && ar != AUTH_OK) {
		rep.www_authenticate = ar == AUTH_MISSING ?
		    "Bearer realm=\"vantaged\"" :
		    "Bearer realm=\"vantaged\", error=\"invalid_token\"";
		api_error(&rep, 401, "unauthorized", "%s", auth_result_str(ar));
		if (h->mutating)
			api_audit_refusal(&req, 401, auth_result_str(ar));
		goto send;
	}
	if (req.role < need) {
		snprintf(why, sizeof(why), "role %s of %s, %s needed",
		    api_role_str(req.role), req.actor, api_role_str(need));
		api_error(&rep, 403, "forbidden", "%s", why);
		if (h->mutating)
			api_audit_refusal(&req, 403, why);
		goto send;
	}
	h->fn(&req, &rep);
send:
	api_send(conn, ctx, &rep);
	buf_free(&rep.body);
}

/* ---------------------------------------------------------------- */
/* connection deadlines */

static struct api_conn *
api_conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void
api_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_ctx,
    enum MHD_ConnectionNotificationCode what)
{
	const union MHD_ConnectionInfo	*ci;
	struct api_conn			*c;

	switch (what) {
	case MHD_CONNECTION_NOTIFY_STARTED:
		c = xcalloc(1, sizeof(*c));
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		c->fd = ci != NULL ? ci->connect_fd : -1;
		pthread_mutex_lock(&api_conns_mtx);
		c->deadline_us = clock_mono_us() + api_header_timeout_us;
		c->next = api_conns;
		if (api_conns != NULL)
			api_conns->prev = c;
		api_conns = c;
		pthread_mutex_unlock(&api_conns_mtx);
		*socket_ctx = c;
		break;
	case MHD_CONNECTION_NOTIFY_CLOSED:
		if ((c = *socket_ctx) == NULL)
			break;
		pthread_mutex_lock(&api_conns_mtx);
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			api_conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		pthread_mutex_unlock(&api_conns_mtx);
		free(c);
		*socket_ctx = NULL;
		break;
	}
}

/*
 * The request line is in: a kept-alive connection's next request gets
 * header_timeout from here, or what is left of its idle time if less.
 */
static void
api_conn_request_line(struct MHD_Connection *conn)
{
	struct api_conn	*c;
	uint64_t	 d;

	if ((c = api_conn_of(conn)) == NULL)
		return;
	pthread_mutex_lock(&api_conns_mtx);
	d = clock_mono_us() + api_header_timeout_us;
	if (d < c->deadline_us)
		c->deadline_us = d;
	pthread_mutex_unlock(&api_conns_mtx);
}

/* Headers complete (first access handler call) or the answer is out. */
static void
api_conn_in_request(struct MHD_Connection *conn, int in)
{
	struct api_conn	*c;

	if ((c = api_conn_of(conn)) == NULL)
		return;
	pthread_mutex_lock(&api_conns_mtx);
	c->in_request = in;
	if (!in)
		c->deadline_us = clock_mono_us() + API_CONN_TIMEOUT_S *
		    1000000ULL;
	pthread_mutex_unlock(&api_conns_mtx);
}

/*
 * libmicrohttpd 0.9.75 cannot close a connection from another thread,
 * but shutdown() makes its next read see EOF, and it cleans up as for a
 * client that went away.
 */
static void *
api_sweep(void *arg)
{
	struct api_conn	*c;
	struct timespec	 ts;
	uint64_t	 now;
	unsigned int	 n;

	pthread_mutex_lock(&api_conns_mtx);
	while (!api_sweep_stop) {
		now = clock_mono_us();
		n = 0;
		for (c = api_conns; c != NULL; c = c->next) {
			if (c->in_request || c->shut || c->fd == -1 ||
			    now < c->deadline_us)
				continue;
			(void)shutdown(c->fd, SHUT_RDWR);
			c->shut = 1;
			n++;
		}
		if (n > 0) {
			atomic_fetch_add_explicit(&api_n_header_timeouts, n,
			    memory_order_relaxed);
			log_debug("api: closed %u connections without request "
			    "headers after %llu ms", n, (unsigned long long)
			    (api_header_timeout_us / 1000));
		}
		clock_wall_after(&ts, API_SWEEP_US);
		pthread_cond_timedwait(&api_sweep_cond, &api_conns_mtx, &ts);
	}
	pthread_mutex_unlock(&api_conns_mtx);
	return NULL;
}

uint64_t
api_header_timeouts(void)
{
	return atomic_load_explicit(&api_n_header_timeouts,
	    memory_order_relaxed);
}

/* ---------------------------------------------------------------- */
/* framing */

struct api_framing {
	int		 n_len, n_te, n_host;
	const char	*len, *te;
};

static enum MHD_Result
api_framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct api_framing	*f = cls;

	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->n_len++;
		f->len = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->n_te++;
		f->te = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		f->n_host++;
	return MHD_YES;
}

/*
 * libmicrohttpd 0.9.75 takes the first Content-Length, lets
 * Transfer-Encoding win over it, reads an unknown coding until EOF and
 * has no Host check but a strict mode that answers in HTML.  Any framing
 * two parsers could read differently (a proxy in front, a log behind) is
 * refused here, and the connection closed, since where the next request
 * starts is unknown.
 */
static int
api_framing_bad(struct MHD_Connection *conn, const char *version, char *why,
    size_t len)
{
	struct api_framing	 f;
	size_t			 i;

	memset(&f, 0, sizeof(f));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, api_framing_header,
	    &f);
	if (f.n_len > 0 && f.n_te > 0)
		snprintf(why, len, "both Content-Length and "
		    "Transfer-Encoding");
	else if (f.n_len > 1)
		snprintf(why, len, "more than one Content-Length");
	else if (f.n_te > 1 || (f.n_te == 1 && strcasecmp(f.te, "chunked") !=
	    0))
		snprintf(why, len, "Transfer-Encoding other than \"chunked\"");
	else if (f.n_host > 1)
		snprintf(why, len, "more than one Host");
	else if (f.n_host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)
		snprintf(why, len, "no Host header (required in HTTP/1.1)");
	else if (f.n_len == 1) {
		for (i = 0; f.len[i] != '\0'; i++) {
			if (f.len[i] < '0' || f.len[i] > '9')
				break;
		}
		if (i == 0 || f.len[i] != '\0') {
			snprintf(why, len, "Content-Length is not a number");
			return 1;
		}
		return 0;
	} else
		return 0;
	return 1;
}

static enum MHD_Result
api_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct api_ctx		*ctx = *con_cls;
	struct api_reply	 rep;
	const char		*cl;
	char			 why[128];
	int			 big = 0;

	if (ctx == NULL) {
		ctx = xcalloc(1, sizeof(*ctx));
		*con_cls = ctx;
	}
	if (ctx->calls++ == 0) {
		api_conn_in_request(conn, 1);
		if (api_framing_bad(conn, version, why, sizeof(why))) {
			memset(&rep, 0, sizeof(rep));
			buf_init(&rep.body);
			api_error(&rep, 400, "bad_request", "%s", why);
			ctx->close = 1;
			api_send(conn, ctx, &rep);
			buf_free(&rep.body);
			return MHD_YES;
		}
		/*
		 * Answer on a later call even when the answer is known:
		 * libmicrohttpd 0.9.75 closes the connection after a response
		 * queued on the first call, which halves keep-alive
		 * throughput.  A body announced too large is the exception:
		 * closing is what we want then.
		 */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && (strlen(cl) > 9 || strtoul(cl, NULL, 10) >
		    API_BODY_MAX))
			big = 1;
		if (!big)
			return MHD_YES;
	} else if (*upload_size > 0) {
		/*
		 * Past the limit the rest is read and dropped, and the 413
		 * goes out when the body ends: libmicrohttpd 0.9.75 sends
		 * nothing for a response queued in the middle of a chunked
		 * upload.  A client that keeps sending gets cut off.
		 */
		if (ctx->done || ctx->body.len + *upload_size > API_BODY_MAX)
			ctx->too_large = 1;
		if (!ctx->too_large)
			buf_add(&ctx->body, upload, *upload_size);
		else if ((ctx->dropped += *upload_size) > API_DROP_MAX)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	big = big || ctx->too_large;
	if (ctx->done)
		return MHD_YES;
	if (big) {
		memset(&rep, 0, sizeof(rep));
		buf_init(&rep.body);
		api_error(&rep, 413, "too_large", "request body over %d bytes",
		    API_BODY_MAX);
		api_send(conn, ctx, &rep);
		buf_free(&rep.body);
		return MHD_YES;
	}
	api_serve(conn, ctx, url, method);
	return MHD_YES;
}

/* Before the request is parsed: the only place the raw query is seen. */
static void *
api_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_ctx	*ctx;
	const char	*q;

	api_conn_request_line(conn);
	ctx = xcalloc(1, sizeof(*ctx));
	if ((q = strchr(uri, '?')) != NULL)
		ctx->query = xstrdup(q + 1);
	return ctx;
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_ctx	*ctx = *con_cls;

	api_conn_in_request(conn, 0);
	if (ctx == NULL)
		return;
	buf_free(&ctx->body);
	free(ctx->query);
	free(ctx->scratch);
	free(ctx);
	*con_cls = NULL;
}

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	msg[256];
	size_t	n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	pthread_mutex_lock(&api_log_mtx);
	strlcpy_v(api_log_last, msg, sizeof(api_log_last));
	pthread_mutex_unlock(&api_log_mtx);
	/* mostly clients' mistakes (TLS handshakes, resets): debug only */
	log_debug("api: libmicrohttpd: %s", msg);
}

/* ---------------------------------------------------------------- */
/* lifecycle */

/* One libmicrohttpd daemon on addr with the agent's limits. */
static unsigned int
api_per_ip_limit(void)
{
	unsigned int	n = api_conn_limit / API_PER_IP_SHARE;

	return n < API_PER_IP_MIN ? API_PER_IP_MIN : n;
}

static struct MHD_Daemon *
api_mhd_start(unsigned int flags, const struct sockaddr *addr,
    struct MHD_OptionItem *tls)
{
	return MHD_start_daemon(flags, 0, NULL, NULL, api_access, NULL,
	    MHD_OPTION_SOCK_ADDR, addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)API_POOL_THREADS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONN_TIMEOUT_S,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, api_per_ip_limit(),
	    MHD_OPTION_CONNECTION_LIMIT, api_conn_limit,
	    MHD_OPTION_URI_LOG_CALLBACK, api_uri, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, api_notify_conn, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
}

static struct MHD_Daemon *
api_daemon_start(const char *spec, char *err, size_t errlen)
{
	struct MHD_OptionItem	 tls[5];
	struct MHD_Daemon	*d = NULL;
	struct addrinfo		 hints, *res = NULL;
	char			 host[256], port[16];
	unsigned int		 flags;
	int			 p, rc, n = 0, any;

	if (parse_hostport(spec, host, sizeof(host), &p, err, errlen) == -1)
		return NULL;
	snprintf(port, sizeof(port), "%d", p);
	any = host[0] == '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* "*:port": one dual-stack socket for IPv6 and IPv4 */
	hints.ai_family = any ? AF_INET6 : AF_UNSPEC;
	if ((rc = getaddrinfo(any ? NULL : host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
		    gai_strerror(rc));
		return NULL;
	}
	if (api_tls.cert != NULL) {
		tls[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
		    0, api_tls.cert };
		tls[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
		    0, api_tls.key };
		tls[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES,
		    0, api_tls.priorities };
		if (api_tls.ca != NULL)
			tls[n++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, api_tls.ca };
	}
	tls[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (res->ai_family == AF_INET6)
		flags |= any ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	if (api_tls.cert != NULL)
		flags |= MHD_USE_TLS;
	/* other daemons' threads may be logging already */
	pthread_mutex_lock(&api_log_mtx);
	api_log_last[0] = '\0';
	pthread_mutex_unlock(&api_log_mtx);
	d = api_mhd_start(flags, res->ai_addr, tls);
	if (d == NULL && any) {
		/* no IPv6 on this host: all IPv4 addresses then */
		freeaddrinfo(res);
		res = NULL;
		hints.ai_family = AF_INET;
		if (getaddrinfo(NULL, port, &hints, &res) == 0)
			d = api_mhd_start(flags &
			    ~(unsigned int)MHD_USE_DUAL_STACK, res->ai_addr,
			    tls);
	}
	if (res != NULL)
		freeaddrinfo(res);
	if (d == NULL) {
		char		 why[256];
		const char	*w;

		/* "Failed to bind to port 0: Address already in use": the
		 * cause is the part after the last colon */
		pthread_mutex_lock(&api_log_mtx);
		w = strrchr(api_log_last, ':');
		w = w != NULL && w[1] == ' ' ? w + 2 : api_log_last;
		strlcpy_v(why, w[0] != '\0' ? w : "cannot start the HTTP "
		    "server", sizeof(why));
		pthread_mutex_unlock(&api_log_mtx);
		why[strcspn(why, "\r\n")] = '\0';
		if (isupper((unsigned char)why[0]) &&
		    islower((unsigned char)why[1]))
			why[0] = (char)tolower((unsigned char)why[0]);
		snprintf(err, errlen, "cannot listen on %s: %s", spec, why);
	}
	return d;
}

/* The credentials a config names, loaded and checked. */
static struct auth *
api_auth_load(const struct config *c, char *err, size_t errlen)
{
	struct auth	*a = auth_new();

	auth_set_max_lifetime(a, c->jwt_max_lifetime_ms / 1000);
	if (c->tokens != NULL && auth_load_tokens(a, c->tokens, err,
	    errlen) == -1)
		goto fail;
	if (c->jwt_key != NULL && auth_load_jwt_key(a, c->jwt_key, err,
	    errlen) == -1)
		goto fail;
	if (c->tokens == NULL && c->jwt_key == NULL)
		log_warnx("api: no [api] tokens or jwt_key: every endpoint "
		    "but the health checks answers 401");
	return a;
fail:
	auth_free(a);
	return NULL;
}

static void
api_tls_free(void)
{
	free(api_tls.cert_path);
	free(api_tls.key_path);
	free(api_tls.ca_path);
	free(api_tls.cert);
	if (api_tls.key != NULL)
		explicit_bzero(api_tls.key, strlen(api_tls.key));
	free(api_tls.key);
	free(api_tls.ca);
	free(api_tls.priorities);
	memset(&api_tls, 0, sizeof(api_tls));
}

static int
api_tls_load(const struct config *c, char *err, size_t errlen)
{
	size_t	len;

	if (c->tls_cert == NULL)
		return 0;
	api_tls.cert_path = xstrdup(c->tls_cert);
	api_tls.key_path = xstrdup(c->tls_key);
	api_tls.priorities = xstrdup(c->tls_ciphers != NULL ? c->tls_ciphers :
	    API_TLS_PRIORITIES);
	if ((api_tls.cert = auth_read_file(c->tls_cert, 0, &len, err,
	    errlen)) == NULL)
		return -1;
	if ((api_tls.key = auth_read_file(c->tls_key, 1, &len, err,
	    errlen)) == NULL)
		return -1;
	if (c->client_ca != NULL) {
		api_tls.ca_path = xstrdup(c->client_ca);
		if ((api_tls.ca = auth_read_file(c->client_ca, 0, &len, err,
		    errlen)) == NULL)
			return -1;
	}
	return 0;
}

static void
api_conf_set(const struct config *c)
{
	pthread_mutex_lock(&api_conf_mtx);
	strlcpy_v(api_name, c->name != NULL ? c->name : "", sizeof(api_name));
	api_metrics_public = c->metrics_public;
	api_rate_per_sec = c->rate.per_sec;
	api_rate_burst = c->rate.burst;
	pthread_mutex_unlock(&api_conf_mtx);
	pthread_mutex_lock(&api_conns_mtx);
	api_header_timeout_us = (uint64_t)c->header_timeout_ms * 1000;
	pthread_mutex_unlock(&api_conns_mtx);
}

int
api_tls_priority_check(const char *s, char *err, size_t errlen)
{
	gnutls_priority_t	 p;
	const char		*pos = NULL;
	int			 rc;

	if ((rc = gnutls_priority_init(&p, s, &pos)) < 0) {
		if (pos != NULL && rc == GNUTLS_E_INVALID_REQUEST)
			snprintf(err, errlen, "GnuTLS does not take '%.40s'",
			    pos);
		else
			snprintf(err, errlen, "%s", gnutls_strerror(rc));
		return -1;
	}
	gnutls_priority_deinit(p);
	return 0;
}

unsigned int
api_set_conn_limit(unsigned int n)
{
	api_conn_limit = n < API_CONN_LIMIT ? n : API_CONN_LIMIT;
	if (api_conn_limit < API_PER_IP_MIN)
		api_conn_limit = API_PER_IP_MIN;
	return api_conn_limit;
}

/*
 * vantaged -n: the files [api] names must be readable, private where
 * they hold secrets, and well-formed, so a typo shows before a restart.
 */
int
api_check(const struct config *c, char *err, size_t errlen)
{
	struct auth	*a;
	int		 rc = 0;

	if ((a = api_auth_load(c, err, errlen)) == NULL)
		return -1;
	auth_free(a);
	if (api_tls_load(c, err, errlen) == -1)
		rc = -1;
	api_tls_free();
	return rc;
}

int
api_start(struct config *c, char *err, size_t errlen)
{
	int	i;

	api_conf_set(c);
	if ((api_auth = api_auth_load(c, err, errlen)) == NULL)
		goto fail;
	api_rl = ratelimit_new(c->rate.per_sec, (double)c->rate.burst,
	    API_RATE_CLIENTS);
	api_rl_anon = ratelimit_new(API_ANON_RATE, API_ANON_BURST, 1);
	if (api_tls_load(c, err, errlen) == -1)
		goto fail;
	if ((api_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (loop_fd_add(api_wake_fd, EPOLLIN, api_on_wake, NULL) == -1) {
		snprintf(err, errlen, "cannot watch the wake-up eventfd");
		goto fail;
	}
	if (pthread_key_create(&api_reader_key, api_reader_close) != 0) {
		snprintf(err, errlen, "pthread_key_create failed");
		goto fail;
	}
	api_reader_key_ok = 1;
	api_probes_start();
	api_running = 1;
	api_sweep_stop = 0;
	if ((errno = pthread_create(&api_sweeper, NULL, api_sweep, NULL)) !=
	    0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	api_sweeping = 1;
	log_debug("api: %u connections per listener, %u per address, "
	    "headers within %lld ms", api_conn_limit, api_per_ip_limit(),
	    (long long)c->header_timeout_ms);
	for (i = 0; i < c->n_api_listen; i++) {
		api_daemons[i] = api_daemon_start(c->api_listen[i], err,
		    errlen);
		if (api_daemons[i] == NULL)
			goto fail;
		api_listen[i] = xstrdup(c->api_listen[i]);
		api_n_daemons = i + 1;
		log_info("api: listening on %s%s", c->api_listen[i],
		    api_tls.ca != NULL ? " (https, client certificates "
		    "required)" : api_tls.cert != NULL ? " (https)" : "");
	}
	return 0;
fail:
	api_stop();
	return -1;
}

void
api_stop(void)
{
	int	i;

	/* joins the API threads: after this no request is in flight */
	for (i = 0; i < api_n_daemons; i++) {
		MHD_stop_daemon(api_daemons[i]);
		api_daemons[i] = NULL;
		free(api_listen[i]);
		api_listen[i] = NULL;
	}
	api_n_daemons = 0;
	if (api_sweeping) {
		pthread_mutex_lock(&api_conns_mtx);
		api_sweep_stop = 1;
		pthread_cond_signal(&api_sweep_cond);
		pthread_mutex_unlock(&api_conns_mtx);
		pthread_join(api_sweeper, NULL);
		api_sweeping = 0;
	}
	if (api_running) {
		/* the API threads are gone: their readers closed with them */
		if (api_reader_key_ok)
			pthread_key_delete(api_reader_key);
		api_reader_key_ok = 0;
		api_probes_stop();
		api_status_stop();
		api_metrics_stop();
		api_running = 0;
	}
	if (api_wake_fd != -1) {
		loop_fd_del(api_wake_fd);
		close(api_wake_fd);
		api_wake_fd = -1;
	}
	api_tls_free();
	auth_free(api_auth);
	api_auth = NULL;
	ratelimit_free(api_rl);
	api_rl = NULL;
	ratelimit_free(api_rl_anon);
	api_rl_anon = NULL;
	/* the last minute's summaries, while the audit writer still runs */
	audit_refused_stop();
}

static int
api_same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
api_reconfigure(struct config *c, char *err, size_t errlen)
{
	struct auth	*a, *old;
	int		 i, same;

	if ((a = api_auth_load(c, err, errlen)) == NULL)
		return -1;
	pthread_rwlock_wrlock(&api_auth_lock);
	old = api_auth;
	api_auth = a;
	pthread_rwlock_unlock(&api_auth_lock);
	auth_free(old);
	ratelimit_set(api_rl, c->rate.per_sec, (double)c->rate.burst);
	api_conf_set(c);

	same = c->n_api_listen == api_n_daemons;
	for (i = 0; same && i < api_n_daemons; i++)
		same = strcmp(c->api_listen[i], api_listen[i]) == 0;
	if (!same || !api_same_str(c->tls_cert, api_tls.cert_path) ||
	    !api_same_str(c->tls_key, api_tls.key_path) ||
	    !api_same_str(c->client_ca, api_tls.ca_path) ||
	    (api_tls.cert != NULL && !api_same_str(c->tls_ciphers != NULL ?
	    c->tls_ciphers : API_TLS_PRIORITIES, api_tls.priorities)))
		log_warnx("api: [api] listen, tls_cert, tls_key, client_ca or "
		    "tls_ciphers changed: restart vantaged to apply them");
	return 0;
}

void
api_tick(void)
{
	static int64_t	next_flush_us;
	int64_t		now = loop_now_us();

	api_status_tick();
	api_metrics_tick();
	api_probes_tick();
	if (now >= next_flush_us) {
		next_flush_us = now + 1000000;
		audit_refused_flush(clock_wall_ms(), 0);
	}
}
