/*
 * vantaged.h - the agent's private header: every module's types and
 * prototypes under a banner naming its file (relayd.h style).
 *
 * Threads: the probe loop (main thread) owns probes, routes' timers and
 * the HAProxy listener; the store writer thread owns the batch connection;
 * libmicrohttpd's threads answer the API from snapshots and their own
 * read connections.  Anything shared between them says so here.
 */
#ifndef VANTAGED_H
#define VANTAGED_H

#include <regex.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "buf.h"
#include "log.h"
#include "parse.h"

#define VANTAGE_VERSION		"0.1.0"
#define VANTAGED_CONF		"/etc/vantage/vantaged.conf"
#define CONF_MAX_LISTEN		8
#define PROBE_ERR_LEN		200

struct probe;
struct probe_run;
struct store;

/* ---------------------------------------------------------------- */
/* config.c */

struct probe_type;

/*
 * Kinds of values a key takes; probe types name them in their key tables,
 * so one parser, one comparison and one free serve every key.
 */
enum conf_kind {
	CONF_STR,	/* char * */
	CONF_REGEX,	/* char *, a POSIX extended regex (compiled by check) */
	CONF_PATH,	/* char *, must be absolute or relative file */
	CONF_SECRET,	/* char *, a file with a secret: its path only shown */
	CONF_DUR,	/* int64_t ms */
	CONF_DUR_POS,	/* int64_t ms, > 0 */
	CONF_INT,	/* int, 0..1e6 */
	CONF_INT_POS,	/* int, 1..1e6 */
	CONF_ROWS,	/* int64_t, 1000..1e8: a count of results */
	CONF_BOOL,	/* int */
	CONF_RANGE,	/* struct parse_range */
	CONF_RATE,	/* struct parse_rate */
	CONF_LISTEN,	/* char *[CONF_MAX_LISTEN] + count after it */
	CONF_ARGV,	/* char ** */
	CONF_TYPE,	/* const struct probe_type * */
	CONF_NAME,	/* char *, a name of another section */
	CONF_CIDRS,	/* char *, blank-separated address blocks */
	CONF_TLS_PRIO,	/* char *, a GnuTLS priority string */
	CONF_LIST,	/* char **, NULL-terminated: a key that repeats */
	CONF_PCT	/* double, 0..100, "20" or "20%" or "12.5%" */
};
#define CONF_LIST_MAX	64	/* values of one repeatable key */

/* One key of a probe type: the whole of what is known about it. */
struct probe_key {
	const char	*name;
	enum conf_kind	 kind;
	size_t		 off;		/* into the type's options */
	const char	*def;		/* default as written; NULL: unset */
	const char	*doc;		/* one line */
};

/* The keys http and tls share, for options structs with these fields. */
#define PROBE_KEYS_CERT(T)						\
	{ "tls_verify", CONF_BOOL, offsetof(T, tls_verify), "yes",	\
	    "verify the server's certificate" },			\
	{ "ca", CONF_PATH, offsetof(T, ca), NULL,			\
	    "CA bundle to verify against" },				\
	{ "cert_min_days", CONF_INT, offsetof(T, cert_min_days), "14",	\
	    "fewer days before the certificate expires is degraded" }

struct probe_conf {
	char			*name;
	const struct probe_type	*type;
	char			*target;
	int64_t			 interval_ms;
	int64_t			 timeout_ms;
	int64_t			 max_latency_ms;	/* 0: no limit */
	int			 fall;
	int			 rise;
	void			*opts;		/* type->opts_size bytes */
	/* where it was defined, for messages */
	char			*file;
	int			 line;
};

struct route_conf {
	char		*name;
	char		*probe;			/* linked probe or NULL */
	char		*pool;			/* pool name or NULL */
	int64_t		 drain_timeout_ms;	/* 0: none */
	char		**on_drain;		/* argv, NULL-terminated */
	char		**on_undrain;
	int64_t		 hook_timeout_ms;
	char		*file;
	int		 line;
};

struct pool_conf {
	char		*name;
	int		 min_active;
	char		*file;
	int		 line;
};

struct alert_conf {
	char		*name;
	char		*type;			/* "webhook", "alertmanager" */
	char		*url;
	int64_t		 timeout_ms;
	char		*token_file;		/* alertmanager: Bearer */
	char		*ca;			/* alertmanager: https CA */
	int64_t		 repeat_ms;		/* alertmanager: re-send */
	char		*file;
	int		 line;
};

struct config {
	char			*file;		/* NULL: built-in config */
	/* [agent] */
	char			*name;
	char			*data_dir;
	int64_t			 retention_ms;
	int64_t			 rollup_retention_ms;	/* 0: the store's default */
	int64_t			 queue_max;	/* set, or from the probes */
	int			 exec_max;	/* exec children; 0: 16 */
	/* [api] */
	char			*api_listen[CONF_MAX_LISTEN];
	int			 n_api_listen;
	char			*tls_cert;
	char			*tls_key;
	char			*client_ca;
	char			*tokens;
	char			*jwt_key;
	int64_t			 audit_refused_retention_ms;
	struct parse_rate	 rate;
	int			 metrics_public;	/* /metrics without token */
	int64_t			 header_timeout_ms;	/* request headers by then */
	int64_t			 jwt_max_lifetime_ms;
	char			*tls_ciphers;	/* GnuTLS priorities or NULL */
	/* [haproxy] */
	char			*haproxy_listen[CONF_MAX_LISTEN];
	int			 n_haproxy_listen;
	char			*haproxy_allow;		/* CIDRs; NULL: any */

	struct probe_conf	**probes;
	int			 n_probes;
	struct route_conf	**routes;
	int			 n_routes;
	struct pool_conf	**pools;
	int			 n_pools;
	struct alert_conf	**alerts;
	int			 n_alerts;
};

/* Loads path (or the built-in config when path is NULL); NULL + err. */
struct config	*config_load(const char *path, char *err, size_t errlen);
void		 config_free(struct config *);
struct probe_conf *config_find_probe(const struct config *, const char *);
struct pool_conf *config_find_pool(const struct config *, const char *);
/* Same probe definition (reload keeps state and history when equal). */
int		 config_probe_equal(const struct probe_conf *,
		    const struct probe_conf *);
/*
 * The probe's definition as JSON, all from the key tables: its common keys,
 * then "options", every key of its type (durations as KEY_ms, a secret
 * file by its path).
 */
void		 config_probe_json(struct buf *, const struct probe_conf *);
/* 1 for the kinds held as a char * (text, paths, names). */
int		 config_kind_is_text(enum conf_kind);
/* The value of one of the type's keys in p->opts, or NULL. */
const void	*config_probe_opt(const struct probe_conf *, const char *key);
/* "a b c" -> argv; double quotes group words; NULL on bad quoting. */
char		**config_split_argv(const char *);
void		 config_free_argv(char **);

/* defconf.c: the built-in demo config, in vantaged.conf syntax. */
extern const char defconf_text[];
/* Directory for data when no config names one: root or XDG state. */
char		*defconf_data_dir(void);

/* ---------------------------------------------------------------- */
/* loop.c: the one event loop (epoll + a timer heap). */

typedef void	(*loop_fd_cb)(int fd, uint32_t events, void *arg);
typedef void	(*loop_timer_cb)(void *arg);
struct loop_timer;

void		 loop_init(void);
/* events are EPOLLIN/EPOLLOUT...; one callback per fd. */
int		 loop_fd_add(int fd, uint32_t events, loop_fd_cb, void *arg);
int		 loop_fd_mod(int fd, uint32_t events);
void		 loop_fd_del(int fd);
/*
 * Watches fd for events with cb, adding or changing its registration;
 * no events removes it (libraries that report "want read/write/none"
 * per socket, like c-ares, need nothing else).
 */
int		 loop_fd_want(int fd, uint32_t events, loop_fd_cb, void *arg);
/* One-shot timer; the handle is invalid once it fired or was deleted. */
struct loop_timer *loop_timer_add(int64_t after_us, loop_timer_cb, void *arg);
void		 loop_timer_del(struct loop_timer *);
/* Called once per iteration before sleeping (batching, snapshots). */
void		 loop_on_before_sleep(void (*)(void));
void		 loop_run(void);
void		 loop_stop(void);
void		 loop_done(void);
int64_t		 loop_now_us(void);	/* monotonic, cached per iteration */
int64_t		 clock_mono_us(void);	/* monotonic, fresh */
int64_t		 clock_wall_ms(void);
struct timespec;
/* *ts = CLOCK_REALTIME after_us from now: the pthread timed waits' form. */
void		 clock_wall_after(struct timespec *, int64_t after_us);

/* ---------------------------------------------------------------- */
/* curlm.c: a libcurl multi handle driven by the loop. */

/* One finished transfer (result is curl's); the easy is still added. */
typedef void	(*curlm_done_cb)(CURL *easy, CURLcode result, void *arg);
struct curlm;

/* NULL + err when curl refuses. */
struct curlm	*curlm_new(curlm_done_cb, void *arg, char *err, size_t);
/* -1 + err (curl's reason) when the multi refuses the handle. */
int		 curlm_add(struct curlm *, CURL *, char *err, size_t);
void		 curlm_remove(struct curlm *, CURL *);
/* After every transfer was removed; NULL is a no-op. */
void		 curlm_free(struct curlm *);
struct probe_result;
/* For probes over curl: phase timings, and the peer certificate's days. */
void		 curlm_timings(CURL *, struct probe_result *);
void		 curlm_peer_cert(CURL *, struct probe_result *);

/* ---------------------------------------------------------------- */
/* expect_json.c: the http probe's "PATH OP VALUE" body assertions. */

struct expect_json;
struct cJSON;
/* Compiles one assertion; NULL + err (without the key name) when bad. */
struct expect_json *expect_json_compile(const char *spec, char *err, size_t);
void		 expect_json_free(struct expect_json *);
const char	*expect_json_spec(const struct expect_json *);
/* 1 when doc passes; 0 with "expect_json SPEC: got ..." in msg. */
int		 expect_json_eval(const struct expect_json *,
		    const struct cJSON *doc, char *msg, size_t);
/* Parses body once and runs the n assertions: 1, or 0 + the first why. */
int		 expect_json_body(struct expect_json *const *, size_t n,
		    const char *body, size_t blen, char *msg, size_t);
/* Drops a UTF-8 character a truncation cut in two at the end of s. */
void		 expect_json_fix_end(char *s);

/* ---------------------------------------------------------------- */
/* probe.c: the engine: type table, scheduler, fall/rise, completion. */

enum probe_status {
	PROBE_OK,
	PROBE_DEGRADED,
	PROBE_FAIL,
	PROBE_UNKNOWN	/* could not run: no verdict on the target */
};

enum probe_state {
	STATE_UNKNOWN,
	STATE_UP,
	STATE_DEGRADED,
	STATE_DOWN
};

struct probe_result {
	int64_t			 t_ms;		/* wall clock at start */
	enum probe_status	 status;
	int64_t			 latency_us;	/* total; 0: engine fills */
	int64_t			 dns_us;	/* phases: -1 when n/a */
	int64_t			 connect_us;
	int64_t			 tls_us;
	int64_t			 ttfb_us;
	int			 code;		/* HTTP status, exit, rcode */
	int			 has_cert;
	int			 cert_days;	/* days until notAfter */
	char			 error[PROBE_ERR_LEN];
	/*
	 * What the type measured beyond the common fields, as the members
	 * of a JSON object ("\"loss_pct\":20,..."), or NULL.  Heap-owned
	 * by the result: set with probe_result_detail(); probe_done() moves
	 * it into the probe's last result.
	 */
	char			*detail;
};

struct probe_type {
	const char		*name;
	size_t			 opts_size;	/* its options struct */
	const struct probe_key	*keys;		/* ends with a NULL name */
	/* optional: the key whose value is the target when none is set */
	const char		*target_from;
	/*
	 * Checks the options together and compiles what runs need (a
	 * regex); fills err (no file:line) and *key, the key to blame or
	 * NULL for the target, on -1.
	 */
	int		(*check)(struct probe_conf *, const char **key,
			    char *err, size_t);
	/* Frees what check compiled into opts; the strings go generically. */
	void		(*free_opts)(void *opts);
	/*
	 * Optional: 0 when two checked option sets whose keys are equal
	 * still differ in what check read from files (a reload must then
	 * restart the probe, e.g. for a rotated credential).
	 */
	int		(*same_loaded)(const void *a, const void *b);
	/* Optional process-wide setup/teardown (curl multi, c-ares). */
	int		(*init)(char *err, size_t);
	void		(*shutdown)(void);
	/*
	 * Begins a run.  Every path ends in exactly one probe_done(run, ...),
	 * possibly from a callback later, possibly before start returns.
	 */
	void		(*start)(struct probe_run *);
	/*
	 * Releases everything a run's priv holds (fds, timers, handles) and
	 * priv itself, without calling probe_done.  The engine calls it once
	 * when a run that still holds a priv ends: probe_finish(), timeout,
	 * cancel (reload, shutdown).
	 */
	void		(*release)(void *priv);
	/*
	 * Optional: the engine's timeout fired; before the release, leave
	 * what the run got to in run->res (code, phase timings), so a
	 * timed-out row still shows which phase was slow.
	 */
	void		(*abort)(struct probe_run *);
};

struct probe_run {
	struct probe		*probe;
	const struct probe_conf	*conf;
	int64_t			 start_us;	/* monotonic */
	struct probe_result	 res;
	struct loop_timer	*timeout;
	void			*priv;		/* the type's own state */
};

struct probe_stats {		/* per probe, in memory, last hour */
	uint64_t	 runs;
	uint64_t	 ok;
	uint64_t	 degraded;
	uint64_t	 fail;
	uint64_t	 unknown;
};

struct probe {
	struct probe_conf	*conf;		/* owned by the live config */
	int			 conf_idx;	/* its index in that config */
	int64_t			 id;		/* store id */
	enum probe_state	 state;
	int64_t			 state_since_ms;
	int			 streak_fail;	/* consecutive FAIL */
	int			 streak_up;	/* consecutive OK or DEGRADED */
	int			 streak_ok;	/* consecutive OK */
	int			 streak_degraded; /* consecutive DEGRADED */
	int			 streak_unknown; /* consecutive UNKNOWN */
	int			 has_last;
	struct probe_result	 last;
	struct probe_stats	 stats;
	struct probe_run	*run;		/* in flight or NULL */
	struct loop_timer	*next;
	int64_t			 due_us;	/* when the next run is due */
	int			 dirty;		/* in the engine's dirty list */
};

/* Engine-wide figures for STATUS, /metrics and the benchmarks. */
struct probe_engine_stats {
	uint64_t	 started;
	uint64_t	 finished;
	uint64_t	 late;		/* started > 10% of interval late */
	uint64_t	 skipped;	/* previous run still in flight */
	int64_t		 max_late_us;
};

extern const struct probe_type *const probe_types[];
const struct probe_type *probe_type_find(const char *);
int		 probe_engine_init(char *err, size_t);
void		 probe_engine_shutdown(void);
/* Replaces the running probe set; unchanged probes keep their state. */
void		 probe_engine_apply(struct config *);
void		 probe_engine_stop_all(void);
struct probe	**probe_engine_probes(int *n);
const struct probe_engine_stats *probe_engine_stats(void);
/* Bumped on every stored result; state_gen on every state change. */
uint64_t	 probe_engine_gen(void);
uint64_t	 probe_engine_state_gen(void);
/* Bumped when probe_engine_apply() replaced the set (a reload). */
uint64_t	 probe_engine_set_gen(void);
/*
 * The probes with a new result since the last clear (each once), so a
 * reader's cost follows the results, not the number of probes.  Cleared
 * by its one reader (the status snapshot) and by apply.
 */
struct probe	**probe_engine_dirty(int *n);
void		 probe_engine_dirty_clear(void);
void		 probe_done(struct probe_run *, enum probe_status,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * The one way out of a run that holds run->priv: the latency so far, the
 * type's release, then exactly one probe_done.
 */
void		 probe_finish(struct probe_run *, enum probe_status,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets res->detail (JSON object members), replacing what was there. */
void		 probe_result_detail(struct probe_result *, const char *fmt,
		    ...) __attribute__((format(printf, 2, 3)));
const char	*probe_status_str(enum probe_status);
const char	*probe_state_str(enum probe_state);
/*
 * Callback for state changes (alerts); set by the alert module.  why is
 * the result that tipped the change: its error text is the cause.
 */
typedef void	(*probe_state_cb)(const struct probe *,
		    enum probe_state from, enum probe_state to,
		    const struct probe_result *why);
void		 probe_on_state_change(probe_state_cb);

/* The probe types (one file each). */
extern const struct probe_type probe_http_type;		/* probe_http.c */
extern const struct probe_type probe_tcp_type;		/* probe_tcp.c */
extern const struct probe_type probe_dns_type;		/* probe_dns.c */
extern const struct probe_type probe_icmp_type;		/* probe_icmp.c */
extern const struct probe_type probe_tls_type;		/* probe_tls.c */
extern const struct probe_type probe_ssh_type;		/* probe_ssh.c */
extern const struct probe_type probe_grpc_type;		/* probe_grpc.c */
extern const struct probe_type probe_exec_type;		/* probe_exec.c */
/* vantage_probe_perfdata lines of the exec probes among ps (/metrics). */
void		 probe_exec_metrics(struct buf *, struct probe **ps, int n);

/* net.c: helpers the socket-level probes share. */
/* Splits "host:port" / "[v6]:port" / "host" (default port). */
int		 net_split_target(const char *, char *host, size_t,
		    int *port, int default_port, char *err, size_t);
/*
 * Fills a sockaddr for host:port without blocking: numeric addresses and
 * names from /etc/hosts.  Other names go through resolve_start().
 * Returns 0, 1 (needs DNS), or -1 + err.
 */
int		 net_sockaddr(const char *host, int port,
		    struct sockaddr_storage *, socklen_t *, char *err, size_t);
/* Reads what the peer sent last without waiting, so close() sends FIN. */
void		 net_drain(int fd);
/* Frees what net_sockaddr keeps for hosts-file lookups (at exit). */
void		 net_done(void);
/* Non-blocking socket of the family of sa, CLOEXEC. */
int		 net_socket(const struct sockaddr_storage *, int type,
		    int proto, char *err, size_t);
/* "a.b.c.d:port" or "[v6]:port" for messages ("?" when unprintable). */
void		 net_addr_str(const struct sockaddr_storage *, socklen_t,
		    int port, char *, size_t);
/*
 * Resolves host (resolve_start) and connects a non-blocking TCP socket in
 * the loop, filling run->res.dns_us and connect_us, then calls cb exactly
 * once: with the connected fd (the caller's now, not in the loop) and
 * err NULL, or with fd -1 and err ("resolve ...", "socket: ...",
 * "connect: ...").  When the outcome is known at once cb runs before
 * net_connect returns, and net_connect returns NULL; so the run may be
 * finished and freed by then.  The handle is dead once cb runs.
 */
#define NET_CONNECT_ERR_ADDR	0x01	/* "connect 10.0.0.1:443: ..." */
#define NET_CONNECT_SLOW_DNS	0x02	/* dns_us: any answer over 100 us */
#define NET_CONNECT_FAIL_TIME	0x04	/* connect_us of a failed connect */
struct net_conn;
typedef void	(*net_connect_cb)(struct probe_run *, int fd, const char *err);
struct net_conn	*net_connect(const char *host, int port, int flags,
		    struct probe_run *, net_connect_cb);
/* Drops a pending connect: closes its fd, cb will not be called. */
void		 net_connect_cancel(struct net_conn *);

/*
 * starttls.c: the plaintext dialogue before a STARTTLS upgrade (SMTP,
 * IMAP, POP3), as a parser of the server's replies that knows nothing of
 * sockets: the caller appends what it read to in[], asks what next, and
 * sends out[] when told to.  Every byte from the server is untrusted.
 */
#define STARTTLS_BUF	4096	/* one reply (an EHLO answer) at most */

enum starttls_proto {
	STARTTLS_NONE,
	STARTTLS_SMTP,
	STARTTLS_IMAP,
	STARTTLS_POP3
};

enum starttls_next {
	STARTTLS_MORE,		/* read more into in[] */
	STARTTLS_SEND,		/* write out[0..outlen), then read */
	STARTTLS_READY,		/* the server said yes: start TLS now */
	STARTTLS_FAIL		/* err says why */
};

struct starttls {
	enum starttls_proto	 proto;
	int			 step;
	char			 in[STARTTLS_BUF];
	size_t			 inlen;
	char			 out[300];
	size_t			 outlen;
	char			 helo[256];	/* the EHLO name */
};

/* "smtp", "imap", "pop3": 0, else -1. */
int		 starttls_proto_parse(const char *, enum starttls_proto *);
const char	*starttls_proto_name(enum starttls_proto);
/* helo: SMTP's EHLO name ("localhost" unless a plain host name). */
void		 starttls_init(struct starttls *, enum starttls_proto,
		    const char *helo);
/*
 * What next, after bytes were appended to in[] (or at the start, with
 * in[] empty).  On SEND and READY the reply was consumed and in[] is
 * empty; a server that sent more than its reply to STARTTLS (bytes the
 * TLS layer would take as the server's, CVE-2011-0411) is a FAIL.  A
 * full in[] without a whole reply is a FAIL too.
 */
enum starttls_next starttls_next(struct starttls *, char *err, size_t);

/*
 * Bytes a server sent, for an error message: the first STARTTLS_QUOTE_MAX
 * of them escaped (shared/text.h; a NUL is \x00), at most
 * STARTTLS_QUOTE_LEN - 1 characters so that a message around it fits a
 * result's error whole, "..." when cut.  Also what tcp's expect shows of
 * a reply that did not match.
 */
#define STARTTLS_QUOTE_MAX	80
#define STARTTLS_QUOTE_LEN	124
void		 starttls_quote(const char *, size_t, char *out, size_t);

/*
 * tls_client.c: the TLS client the tls and tcp probes share (OpenSSL): a
 * handshake over a connected non-blocking socket that the caller drives
 * from the loop, the verdict on what the server showed (chain and name
 * verification, the earliest expiry in the chain, a stapled OCSP
 * response), and record I/O for what comes after the handshake.  The
 * caller owns the socket and its loop registration: calls that would
 * block return TLS_CLIENT_AGAIN with the epoll events to wait for.
 */
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

/* resolve.c: non-blocking name resolution (c-ares on the loop). */
struct resolve_req;
typedef void	(*resolve_cb)(void *arg, const struct sockaddr_storage *,
		    socklen_t, const char *err);
/*
 * Resolves host (numeric, /etc/hosts, then DNS) and calls cb exactly
 * once, with sa or with err.  When the answer is known at once cb runs
 * before resolve_start returns, and resolve_start returns NULL.
 */
struct resolve_req *resolve_start(const char *host, int port, resolve_cb,
		    void *arg);
/* Drops a pending request; cb will not be called. */
void		 resolve_cancel(struct resolve_req *);

/* ---------------------------------------------------------------- */
/* store*.c: SQLite, the writer thread, migrations, retention, rollups. */

struct store_stats {
	uint64_t	 enqueued;	/* rows appended, ever */
	uint64_t	 queued;	/* rows waiting for the writer */
	uint64_t	 queue_max;	/* store_set_queue_max() */
	uint64_t	 written;
	uint64_t	 batches;	/* committed transactions */
	uint64_t	 errors;	/* failed transactions (logged once) */
	uint64_t	 dropped;	/* rows lost: oldest of a full queue,
					 * or given up */
	uint64_t	 trimmed;	/* rows deleted by retention */
};

struct store	*store_open(const char *path, int64_t retention_ms,
		    char *err, size_t);
void		 store_close(struct store *);	/* flushes first */
/* Probe row id by name (created when new); main thread. */
int		 store_probe_id(struct store *, const char *name,
		    const char *type, int64_t *id, char *err, size_t);
/* One transaction around many store_probe_id() calls (start, reload). */
void		 store_probe_ids_begin(struct store *);
void		 store_probe_ids_end(struct store *);
/* Queues one result for the writer thread; never blocks on disk. */
void		 store_append(struct store *, int64_t probe_id,
		    const struct probe_result *);
/* Waits until everything queued so far is committed. */
void		 store_flush(struct store *);
void		 store_get_stats(struct store *, struct store_stats *);
/* How long raw results are kept; 0: for ever.  Applies at once. */
void		 store_set_retention(struct store *, int64_t retention_ms);
/*
 * How long hourly rollups and probe state changes are kept; minute
 * rollups a tenth of it; 0: STORE_ROLLUP_DEFAULT_MS.  Applies at once.
 */
#define STORE_ROLLUP_DEFAULT_MS	(400LL * 86400000)
void		 store_set_rollup_retention(struct store *, int64_t ms);
/* Results held in memory at most; beyond, the oldest are dropped. */
void		 store_set_queue_max(struct store *, size_t);
/* Runs rollups and retention now (tests; the writer does it by itself). */
void		 store_maintain(struct store *);
/*
 * A new connection to the same database for another thread (API
 * readers, synchronous route/audit writes): WAL, busy timeout set.
 */
struct sqlite3	*store_connect(struct store *, int readonly, char *err, size_t);
const char	*store_path(struct store *);

/*
 * Store internals, for agent/store*.c only (they define STORE_INTERNAL
 * and include <pthread.h> and <sqlite3.h> first).  store.c opens the
 * database and runs the queue and the writer thread; it calls
 * store_migrate.c at open and store_retention.c's maintenance pass,
 * which calls store_rollup.c.  Maintenance gives the writer its turn
 * through s->yield, so no file calls back into one that calls it.
 */
#ifdef STORE_INTERNAL

#define STORE_NLEVELS	2	/* rollup levels: minute, hour */

/* Statements on the writer's connection, prepared once at open. */
enum store_st {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT,
	ST_IDS,
	ST_FIRST,
	ST_RANGE,
	ST_META_GET,
	ST_META_PUT,
	ST_ROLL_1M,
	ST_ROLL_1H,
	ST_FIRST_1M,
	ST_ROLL_1H_1M,
	ST_TRIM_RESULT,
	ST_TRIM_1M,
	ST_TRIM_1H,
	ST_TRIM_EVENT,
	ST_COUNT
};

/* Statements on the main connection (store_probe_id). */
enum store_mst {
	MST_GET,
	MST_ADD,
	MST_TYPE,
	MST_COUNT
};

/* What a failure happened during; warnings are given once per op+code. */
enum store_op {
	OP_WRITE,
	OP_MAINT,
	OP_COUNT
};

/*
 * A queued result: 40 bytes, where struct probe_result takes 300, so a
 * long outage can queue minutes of results in little memory.  Durations
 * are 32-bit microseconds, clamped to 71 minutes (no run lasts that long:
 * timeouts are at most the interval, and the stored figure is only ever
 * shown); code and cert_days are clamped to 16 bits (HTTP status, exit
 * status and rcode fit; certificates past 89 years show as 89 years).
 * The error text is an index into the refcounted strings (store_strs):
 * a failing probe repeats the same error at every run.  A result's detail
 * (probe_result_detail) is interned with its error text, as one string
 * "error\0detail": a row without detail costs nothing more, a row with
 * detail costs its share of one store_str slot (24 bytes) and one heap
 * block of strlen(error) + strlen(detail) + 2 bytes (plus malloc's
 * overhead), shared by the rows whose error and detail are both equal.
 */
struct store_row {
	int64_t		 t_ms;
	uint32_t	 probe_id;	/* checked by store_probe_id() */
	uint32_t	 latency_us;
	uint32_t	 phase_us[4];	/* dns, connect, tls, ttfb; STORE_NO_US */
	uint32_t	 err : 30;	/* store_strs index; 0: no error, no detail */
	uint32_t	 status : 2;	/* store_status_code() */
	int16_t		 code;		/* < 0: none */
	int16_t		 cert_days;	/* STORE_NO_CERT: none */
};
_Static_assert(sizeof(struct store_row) == 40, "store_row grew");

/*
 * The queue: a ring, so dropping the oldest result when it is full costs
 * as little as appending.  It grows by doubling up to queue_max and is
 * freed when it empties after an outage.
 */
struct store_ring {
	struct store_row	*v;
	size_t			 cap;
	size_t			 head;		/* the oldest row */
	size_t			 len;
};

/*
 * Error texts of queued rows, each held once with a count of the rows
 * that use it.  Indices fit the rows' 30-bit field: every live string
 * belongs to a queued row, and the queue holds at most STORE_QUEUE_LIMIT
 * plus one batch; freed slots are reused first.
 */
struct store_str {
	char		*s;		/* NULL: a free slot */
	uint32_t	 hash;
	uint32_t	 refs;
	uint32_t	 next;		/* bucket chain, or free list; 0: end */
	uint32_t	 dpos;		/* detail at s + dpos; 0: none */
};
_Static_assert(sizeof(struct store_str) <= 24, "store_str grew");

struct store_strs {
	struct store_str	*v;		/* [0] unused: 0 is "none" */
	uint32_t		 n;		/* slots used, with [0] */
	uint32_t		 cap;
	uint32_t		 free;		/* a free slot, 0: none */
	uint32_t		 live;
	uint32_t		*bkt;
	uint32_t		 nbkt;		/* 0 or a power of two */
};

/* A probe row as cached by store_probe_ids_begin(). */
struct store_idc {
	char		*name;
	char		*type;
	int64_t		 id;
};

struct store {
	char			*path;
	int64_t			 retention_ms;		/* under mu */
	int64_t			 rollup_retention_ms;	/* under mu */
	int			 incremental;	/* auto_vacuum = INCREMENTAL */

	/* main connection, for store_probe_id() */
	pthread_mutex_t		 main_mu;
	sqlite3			*db_main;
	struct store_idc	*idc;		/* probe ids, between begin/end */
	size_t			 n_idc;
	sqlite3_stmt		*mst[MST_COUNT];

	/* writer connection: the writer thread's once it runs */
	sqlite3			*db;
	sqlite3_stmt		*st[ST_COUNT];

	pthread_t		 thread;
	int			 thread_started;
	int			 sync_init;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv_writer;	/* wakes the writer */
	pthread_cond_t		 cv_done;	/* wakes flush/maintain */

	/* under mu */
	struct store_ring	 ring;		/* appended, not yet taken */
	struct store_strs	 strs;		/* error texts of queued rows */
	size_t			 queue_max;	/* ring + batch, at most */
	size_t			 batch_n;	/* taken, not yet committed */
	int64_t			 in_first_us;	/* when ring became non-empty */
	uint64_t		 enq;		/* rows accepted, ever */
	uint64_t		 done;		/* rows committed or given up */
	unsigned		 flush_waiters;
	uint64_t		 fail_gen;	/* bumped per failed commit */
	int			 failing;
	int			 retry_now;	/* a waiter wants a retry now */
	int64_t			 retry_at_us;
	uint64_t		 maint_req;
	uint64_t		 maint_done;
	int			 stop;
	int			 running;	/* the writer thread is alive */
	int64_t			 next_maint_us;
	uint64_t		 drop_unsaid;	/* dropped since the last line */
	size_t			 drop_queued;	/* queued at the last drop */
	int64_t			 drop_say_us;	/* next "queue full" line */
	struct store_stats	 stats;
	uint64_t		 warned[OP_COUNT][4];	/* primary codes */

	/* writer only: batch_n rows taken from the ring's head */
	struct store_row	*batch;		/* STORE_BATCH_ROWS */
	const char		**batch_err;	/* their error texts */
	const char		**batch_detail;	/* and details, or NULL */
	int			 perm_tries;
	int64_t			 wm[STORE_NLEVELS];	/* INT64_MIN: none */
	int64_t			 late_min;	/* earliest row behind a wm */
	int64_t			*ids;
	size_t			 n_ids;
	size_t			 cap_ids;
	int64_t			*lat;
	size_t			 cap_lat;
	/* commits what is due between maintenance chunks (store.c) */
	int			(*yield)(struct store *);
};

static inline int64_t
store_floor(int64_t t, int64_t size)
{
	int64_t	r = t % size;

	return r < 0 ? t - r - size : t - r;
}

static inline int64_t
store_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * A full disk fails every batch until it is cured: say so once per kind,
 * not ten times a second.  Called with mu held.
 */
static inline int
store_first_warning(struct store *s, enum store_op op, int rc)
{
	unsigned	 code = (unsigned)rc & 0xff;
	uint64_t	 bit = (uint64_t)1 << (code % 64);

	if (s->warned[op][code / 64] & bit)
		return 0;
	s->warned[op][code / 64] |= bit;
	return 1;
}

/* Steps a statement that returns no rows and resets it. */
static inline int
store_run(sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static inline void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_run(s->st[ST_ROLLBACK]);
}

/* store_migrate.c: the schema version and the migrations (open only). */
int		 store_exec(sqlite3 *, const char *path, const char *sql,
		    char *err, size_t);
int		 store_query_text(sqlite3 *, const char *path, const char *sql,
		    char *out, size_t outlen, char *err, size_t);
int		 store_user_version(sqlite3 *, const char *path, int *v,
		    char *err, size_t);
/* Refuses a database newer than this vantaged. */
int		 store_check_version(const char *path, int cur, char *err,
		    size_t);
int		 store_migrate(sqlite3 *, const char *path, char *err, size_t);
/* Sets auto_vacuum = INCREMENTAL on a new file; *on: whether it is. */
int		 store_auto_vacuum(sqlite3 *, const char *path, int *on,
		    char *err, size_t);

/* store_rollup.c: minute and hour rollups (writer thread). */
int		 store_meta_load(struct store *, int lvl, char *err, size_t);
int		 store_load_ids(struct store *);
void		 store_maint_fail(struct store *, const char *what, int rc);
/* 0 done, 1 interrupted by close, -1 error (said). */
int		 store_rollup(struct store *, int lvl, int64_t now,
		    int64_t retention, int64_t late);
/* Whether hours are rolled up from raw rows (else from minutes). */
int		 store_hours_from_raw(int64_t retention);

/* store_retention.c: a maintenance pass, rollups then retention. */
void		 store_maint_run(struct store *);

#endif /* STORE_INTERNAL */

/* schema.c (generated from schema/NNN_*.sql by the Makefile) */
struct schema_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};
extern const struct schema_migration schema_migrations[];
extern const int schema_n_migrations;

/* ---------------------------------------------------------------- */
/* api.c: the HTTP server (libmicrohttpd, its own threads), auth, limits. */

enum api_role {
	ROLE_NONE,		/* endpoint needs no token */
	ROLE_VIEWER,
	ROLE_OPERATOR,
	ROLE_ADMIN
};

struct MHD_Connection;

#define API_BODY_MAX		(64 * 1024)	/* larger bodies: 413 */
#define API_QUERY_MAX		16		/* parameters per request */
#define API_OPERATOR_MAX	128		/* X-Vantage-Operator bytes */
#define API_HEADER_TIMEOUT_MS	10000		/* [api] header_timeout default */

/* A decoded query string; keys and values point into the request. */
struct api_query {
	int		 n;
	const char	*key[API_QUERY_MAX];
	const char	*val[API_QUERY_MAX];
};

struct api_req {
	const char		*method;
	const char		*path;		/* without query string */
	const char		*args[4];	/* the '*' segments of pattern */
	const char		*body;		/* NUL-terminated, may be "" */
	size_t			 body_len;
	enum api_role		 role;		/* of the caller's credential */
	const char		*actor;		/* token name or JWT sub */
	const char		*operator_hdr;	/* X-Vantage-Operator or NULL */
	const char		*idem_key;	/* Idempotency-Key or NULL */
	const char		*deadline;	/* X-Vantage-Deadline or NULL */
	const char		*source;	/* peer address text */
	struct MHD_Connection	*conn;
	struct api_query	 query;
};

struct api_reply {
	int			 status;	/* 200 unless set */
	struct buf		 body;		/* JSON unless content_type */
	const char		*content_type;
	int			 retry_after;	/* seconds, for 429/503 */
	/* set by the dispatcher only */
	const char		*www_authenticate;
	char			 allow[64];	/* 405: methods of the path */
};

struct api_handler {
	const char	*method;
	const char	*pattern;	/* "/v1/routes/ * /drain" w/o blanks */
	enum api_role	 role;		/* least role allowed */
	int		 mutating;	/* refusals of it are audited */
	void		(*fn)(struct api_req *, struct api_reply *);
};

/*
 * Pre-rendered bytes built on the loop thread and served by the API
 * threads: immutable once made, refcounted, swapped under one mutex, so
 * a reader never waits for a rebuild and the loop never waits for a
 * reader.
 */
struct api_snap {
	int		 refs;		/* under the api.c snap mutex */
	int64_t		 built_us;	/* monotonic */
	uint64_t	 tag;		/* what it was built from (a gen) */
	uint64_t	 src;		/* the builder's own data generation */
	size_t		 split;		/* caller's own offset into data */
	size_t		 len;
	char		 data[];	/* NUL-terminated */
};

int		 api_start(struct config *, char *err, size_t);
/* For vantaged -n: tokens, JWT key and TLS files load and are private. */
int		 api_check(const struct config *, char *err, size_t);
void		 api_stop(void);
/* Config reload: new tokens, rate, keys (listen changes need restart). */
int		 api_reconfigure(struct config *, char *err, size_t);
/* [api] tls_ciphers: 0 when GnuTLS takes the priority string. */
int		 api_tls_priority_check(const char *, char *err, size_t);
/* Before api_start(): connections each listener may hold (fd budget). */
unsigned int	 api_set_conn_limit(unsigned int);
/* Loop-thread hook: rebuild snapshots when the engine's gens moved. */
void		 api_tick(void);
/*
 * This API thread's read-only store connection, opened on first use and
 * closed when the thread ends; NULL with a 503 reply set.
 */
struct sqlite3	*api_reader(struct api_reply *);
/* Query-string argument or NULL. */
const char	*api_query(struct api_req *, const char *key);
/* Sets an {"error":{"code":..,"message":..}} reply. */
void		 api_error(struct api_reply *, int status, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const char	*api_role_str(enum api_role);
/*
 * The body as a JSON object whose keys are all in allowed; NULL with a
 * 400 (or 413) reply set otherwise.  An empty body is {} when
 * empty_ok.  The caller cJSON_Delete()s it.
 */
struct cJSON	*api_body_object(struct api_req *, struct api_reply *,
		    const char *const *allowed, int empty_ok);
/* Any thread: the loop runs api_tick() soon (a snapshot is stale). */
void		 api_wake(void);
/* Responses sent with this HTTP status since start (/metrics). */
uint64_t	 api_requests(int status);
/* Connections shut down for not sending their headers in time. */
uint64_t	 api_header_timeouts(void);
/* The agent's name as configured now (any thread). */
void		 api_agent_name(char *, size_t);
struct api_snap	*api_snap_new(const struct buf *, uint64_t tag, size_t split);
/* A new reference to what *slot holds now (NULL when nothing yet). */
struct api_snap	*api_snap_get(struct api_snap *const *slot);
void		 api_snap_put(struct api_snap *);
/* Publishes s in *slot and drops the reference to the old one. */
void		 api_snap_set(struct api_snap **slot, struct api_snap *s);
/*
 * Waits up to timeout_us for the slot to hold another snapshot than old
 * (which the caller holds a reference to, or NULL); returns the slot's
 * snapshot then, referenced, or NULL.  For readers whose snapshot is
 * built on demand: they wake the loop, then wait here.
 */
struct api_snap	*api_snap_wait(struct api_snap *const *slot,
		    const struct api_snap *old, int64_t timeout_us);

/* The resources (one file each), tables ending with a NULL method. */
extern const struct api_handler api_status_handlers[];	/* api_status.c */
extern const struct api_handler api_probes_handlers[];	/* api_probes.c */
extern const struct api_handler api_routes_handlers[];	/* api_routes.c */
extern const struct api_handler api_audit_handlers[];	/* api_audit.c */
extern const struct api_handler api_metrics_handlers[];	/* api_metrics.c */
extern const struct api_handler api_events_handlers[];	/* api_events.c */
extern const struct api_handler api_ack_handlers[];	/* api_ack.c */

/* api_query.c: query strings (untrusted input; fuzzed). */

/*
 * Splits qs ("a=1&b=x%20y") in place and decodes it into q: 0, or -1 and
 * err on bad escapes, control characters, empty or repeated keys, or
 * more than API_QUERY_MAX parameters.
 */
int		 api_query_parse(char *qs, struct api_query *, char *err,
		    size_t);
const char	*api_query_get(const struct api_query *, const char *key);
/* -1 + err when a key is not in allowed (NULL-terminated). */
int		 api_query_only(const struct api_query *,
		    const char *const *allowed, char *err, size_t);
/*
 * A decimal integer in [min, max]: 1 and *out, 0 when absent (*out =
 * def), -1 and err when malformed or out of range.
 */
int		 api_query_int(const struct api_query *, const char *key,
		    int64_t min, int64_t max, int64_t def, int64_t *out,
		    char *err, size_t);

struct route_outcome;
/* api_routes.c: appends `"routes":[...],"pools":[...]` (no braces). */
void		 api_routes_json(struct buf *);
/* The reply to a drain or undrain (route_change's render). */
void		 api_routes_render(const struct route_outcome *, struct buf *);

/* api_status.c: health, status snapshot with 1 h statistics, reload. */
void		 api_status_tick(void);		/* loop thread */
void		 api_status_stop(void);

/* api_probes.c: results and series from the store, per-thread readers. */
/* The API starts and stops serving GET /v1/probes/NAME. */
void		 api_probes_start(void);
void		 api_probes_stop(void);
/*
 * Loop thread, after the probes were (re)applied: the config GET
 * /v1/probes/NAME describes, rendered by api_probes_tick() when asked.
 */
void		 api_probes_conf(const struct config *);
void		 api_probes_tick(void);		/* loop thread */

/* api_metrics.c: the Prometheus text snapshot. */
/* Appends the route and pool families (read under the route lock). */
void		 api_metrics_routes(struct buf *);
void		 api_metrics_tick(void);	/* loop thread */
void		 api_metrics_stop(void);

/* auth.c: static tokens and JWTs (any thread once loaded). */

#define AUTH_ACTOR_MAX	64		/* token name or JWT sub */
#define AUTH_CRED_MAX	8192		/* longest credential looked at */

enum auth_result {
	AUTH_OK,
	AUTH_MISSING,		/* no Authorization header */
	AUTH_MALFORMED,		/* not "Bearer CREDENTIAL" */
	AUTH_NO_CREDENTIALS,	/* neither tokens nor jwt_key configured */
	AUTH_UNKNOWN_TOKEN,
	AUTH_JWT_DISABLED,	/* a JWT, but no jwt_key */
	AUTH_JWT_MALFORMED,
	AUTH_JWT_ALG,		/* none, or not the key's algorithm */
	AUTH_JWT_SIGNATURE,
	AUTH_JWT_NO_EXP,
	AUTH_JWT_EXPIRED,
	AUTH_JWT_NOT_YET,	/* nbf in the future */
	AUTH_JWT_SUB,		/* sub missing or not a clean name */
	AUTH_JWT_ROLE,		/* role missing or unknown */
	AUTH_JWT_DUPLICATE,	/* a key twice in the header or claims */
	AUTH_JWT_LIFETIME	/* exp beyond now + jwt_max_lifetime */
};

struct auth;

struct auth_who {
	enum api_role	 role;
	char		 actor[AUTH_ACTOR_MAX + 1];
};

#define AUTH_LEEWAY_S	60		/* clock skew allowed for exp/nbf */
#define AUTH_MAX_LIFETIME_S	86400	/* [api] jwt_max_lifetime default */

struct auth	*auth_new(void);
void		 auth_free(struct auth *);
void		 auth_set_max_lifetime(struct auth *, int64_t seconds);
/* The tokens file: refused when group or others can read it. */
int		 auth_load_tokens(struct auth *, const char *path, char *err,
		    size_t);
/* Lines "NAME ROLE SHA256HEX", '#' comments; errors say fname:line. */
int		 auth_parse_tokens(struct auth *, const char *text, size_t,
		    const char *fname, char *err, size_t);
/* The JWT key file: a PEM public key (RS256, ES256) or a secret. */
int		 auth_load_jwt_key(struct auth *, const char *path, char *err,
		    size_t);
int		 auth_set_jwt_key(struct auth *, const void *, size_t,
		    const char *fname, char *err, size_t);
/* authorization: the header's value or NULL; now in Unix seconds. */
enum auth_result auth_check(const struct auth *, const char *authorization,
		    int64_t now_s, struct auth_who *);
const char	*auth_result_str(enum auth_result);
int		 auth_role_parse(const char *, enum api_role *);
size_t		 auth_n_tokens(const struct auth *);
const char	*auth_jwt_alg(const struct auth *);	/* NULL: no key */
/*
 * Reads a whole file (NUL-terminated); a secret one is refused when it
 * is not owned by us or root, or group or others may read it.
 */
char		*auth_read_file(const char *path, int secret, size_t *len,
		    char *err, size_t);
/* The same rule for a secret file read later (a probe's key, auth_file). */
int		 auth_check_secret(const char *path, char *err, size_t);

/* ratelimit.c: per-client token buckets in a bounded table (any thread). */

struct ratelimit;

struct ratelimit *ratelimit_new(double per_sec, double burst,
		    size_t max_clients);
void		 ratelimit_free(struct ratelimit *);
void		 ratelimit_set(struct ratelimit *, double per_sec,
		    double burst);
/*
 * Takes one token from client's bucket: 1 when allowed; 0 when refused,
 * with *retry_s (>= 1) until a token is back and *first set for the
 * first refusal since the client's last allowed request.
 */
int		 ratelimit_take(struct ratelimit *, const char *client,
		    int64_t now_us, int *retry_s, int *first);
size_t		 ratelimit_clients(struct ratelimit *);

/* ---------------------------------------------------------------- */
/* route.c: the routes (active, draining, maint), their pools, the
 * effective state a load balancer is told, and the route lifecycle.
 * route_state.c decides and commits changes, route_sql.c keeps them in
 * SQLite, route_keeper.c does what falls due by itself and takes reloads,
 * route_hook.c runs on_drain / on_undrain.
 *
 * Threads: API threads change routes, the loop reads them (agent-check,
 * route_tick) and never takes the writer lock, the keeper thread commits
 * what is due.  Two locks: the writer lock (route_wlock) orders writers
 * and is held across a commit; the state lock (route_lock) guards memory
 * and is held only for a moment.  Order: writer lock, then state lock. */

enum route_state {
	ROUTE_ACTIVE,
	ROUTE_DRAINING,
	ROUTE_MAINT
};

/* What a load balancer is told (HAProxy agent-check words). */
enum route_effective {
	ROUTE_EFF_READY,
	ROUTE_EFF_DRAIN,
	ROUTE_EFF_MAINT,
	ROUTE_EFF_DOWN
};

struct audit_entry;

struct route {
	/* from the config (copied: the config is replaced on reload) */
	char			*name;
	char			*pool;		/* NULL: none */
	char			*probe;		/* NULL: none */
	int64_t			 drain_timeout_ms;
	char			**on_drain;
	char			**on_undrain;
	int64_t			 hook_timeout_ms;
	/* operator state, as committed */
	enum route_state	 state;
	char			*reason;
	char			*actor;
	char			*operator;
	char			*key;		/* Idempotency-Key that set it */
	char			*batch;		/* batch id that set it */
	int64_t			 since_ms;
	int64_t			 expires_ms;	/* 0: no ttl */
	int			 forced;
	/* the linked probe's state, copied on the loop thread */
	enum probe_state	 probe_state;
	uint64_t		 changes;
	int64_t			 retry_ms;	/* keeper: not before */
};

struct route_pool {
	char	*name;
	int	 min_active;
};

/* The state a change leads to (strings borrowed). */
struct route_next {
	enum route_state	 state;
	const char		*reason;
	const char		*actor;
	const char		*operator;
	const char		*key;
	const char		*batch;
	int64_t			 since_ms;
	int64_t			 expires_ms;
	int			 forced;
};

#define ROUTE_BATCH_MAX		256	/* routes in one request */
#define ROUTE_KEY_MAX		64	/* Idempotency-Key bytes */

/* A drain or undrain of one or more routes, as the API parsed it. */
struct route_request {
	const char *const	*names;
	int			 n_names;
	int			 drain;		/* 0: undrain */
	int			 single;	/* /v1/routes/NAME/...: reply shape */
	const char		*reason;	/* NULL: keep (update only) */
	int			 has_ttl;
	int64_t			 ttl_s;		/* with has_ttl; 0: no expiry */
	enum route_state	 mode;		/* DRAINING or MAINT for drain */
	int			 force;
	int			 update;
	const char		*actor;
	const char		*role;
	const char		*operator_hdr;
	const char		*source;
	const char		*key;		/* Idempotency-Key or NULL */
	const char		*fingerprint;	/* of method, path and body */
	int64_t			 deadline_ms;	/* agent wall clock; 0: none */
};

/* What a change did, for the reply (route_state.c -> api_routes.c). */
struct route_outcome {
	int			 status;	/* HTTP status */
	int			 replayed;	/* the stored answer of a repeat */
	int			 single;	/* /v1/routes/NAME/...: its shape */
	const char		*code;		/* error code when not 200 */
	char			 msg[600];
	char			 batch[40];
	int			 n;
	const struct route	*after[ROUTE_BATCH_MAX];  /* the new states */
	int			 changed[ROUTE_BATCH_MAX];
	int64_t			 audit_id[ROUTE_BATCH_MAX];
};
/* Renders an outcome as the reply body (the stored one for replays). */
typedef void	(*route_render_fn)(const struct route_outcome *, struct buf *);

int		 route_start(struct config *, char *err, size_t);
int		 route_reconfigure(struct config *, char *err, size_t);
void		 route_stop(void);
/* Every accepted reload's routes are in place (API reload waits). */
int		 route_settled(void);
/* A reload's routes were swapped in or dropped (route_keeper.c). */
void		 route_promoted(void);
/* Loop thread, before sleeping: follows linked probes, hands reloads over. */
void		 route_tick(void);
const char	*route_state_str(enum route_state);
int		 route_state_parse(const char *, enum route_state *);
const char	*route_effective_str(enum route_effective);
enum route_effective route_eff(const struct route *);
/* Bumped on every route change (snapshots rebuild on it). */
uint64_t	 route_gen(void);
void		 route_bump(void);
/* Operator and effective state in one look; -1 when not defined. */
int		 route_get(const char *name, enum route_state *,
		    enum route_effective *);
int		 route_get_effective(const char *name, enum route_effective *);
void		 route_lock(void);
void		 route_unlock(void);
void		 route_wlock(void);
/* The writer lock within timeout_ms; -1 when it did not come. */
int		 route_wlock_timed(int64_t timeout_ms);
void		 route_wunlock(void);
/* Under route_lock. */
struct route	*route_find(const char *name);
const struct route_pool *route_find_pool(const char *name);
struct route	**route_list(int *n);
const struct route_pool *route_pools(int *n);
/* Routes built from conf, carrying the committed state of old ones. */
struct route	**route_build(struct config *, struct route **old, int n_old);
struct route_pool *route_build_pools(struct config *, int *n);
/* Under route_lock: r takes o's committed state (a reload keeps it). */
void		 route_take_state(struct route *r, const struct route *o);
/* Under both locks: replaces the tables; returns the old ones. */
void		 route_swap(struct route ***, int *, struct route_pool **, int *);
void		 route_free(struct route *);
void		 route_free_pools(struct route_pool *, int);
char		**route_argv_dup(char **);

/* route_state.c: the state machine (exact semantics, pool guard). */
int		 route_change(const struct route_request *, route_render_fn,
		    struct buf *out, struct route_outcome *);
/* Under route_lock: takes a committed next state into memory. */
void		 route_state_apply(struct route *, const struct route_next *);

/* route_sql.c: route state, request keys and their audit rows. */
int		 route_sql_open(char *err, size_t);
void		 route_sql_close(void);
/* Under the writer lock. */
int		 route_sql_begin(char *err, size_t);
int		 route_sql_put(const char *name, const struct route_next *,
		    char *err, size_t);
int		 route_sql_forget(const char *name, char *err, size_t);
int		 route_sql_audit(const struct audit_entry *, int64_t *id,
		    char *err, size_t);
int		 route_sql_put_request(const char *actor, const char *key,
		    const char *fingerprint, int status, const char *body,
		    char *err, size_t);
int		 route_sql_commit(char *err, size_t);
void		 route_sql_rollback(void);
/*
 * A decided request: 1 with its status, fingerprint and body (the
 * caller frees), 0 when none is kept, -1 + err.
 */
int		 route_sql_get_request(const char *actor, const char *key,
		    int *status, char **fingerprint, char **body, char *err,
		    size_t);
#define ROUTE_SQL_TRIM_ROWS	1000	/* request keys per DELETE */
/* Forgets up to ROUTE_SQL_TRIM_ROWS request keys older than 24 h: the
 * rows deleted, or -1. */
int		 route_sql_trim_requests(int64_t now_ms);
/* Reads the committed states into the routes; rows of routes gone are
 * returned as "name\0state\0reason\0"... in gone. */
int		 route_sql_load(struct buf *gone, char *err, size_t);
/* Forgets the state of a route that left the config; audited unless it
 * was active (a re-add puts a drained backend back in service). */
void		 route_sql_forget_route(const char *name, enum route_state,
		    const char *reason);
/* Commits a change made by the agent itself with its audit row. */
int		 route_sql_system(const char *name, const struct route_next *,
		    int forget, const struct audit_entry *, char *msg, size_t);

/* route_keeper.c: ttl expiry, drain_timeout, reloads, off the loop. */
int		 route_keeper_start(char *err, size_t);
void		 route_keeper_stop(void);
void		 route_keeper_wake(void);
/* Loop thread: routes built from an accepted config, for the keeper to
 * merge and swap in (it takes the writer lock, the loop never does). */
void		 route_keeper_promote(struct route **, int n,
		    struct route_pool *, int n_pools);
/* The promotions handed over so far were swapped in (tests, stop). */
int		 route_keeper_idle(void);

/* route_hook.c: on_drain / on_undrain from state changes. */
int		 route_hook_start(char *err, size_t);
void		 route_hook_stop(void);
/* Under route_lock: queues r's hook for the loop thread, if it has one. */
void		 route_hook_queue(const struct route *, enum route_state from);

/* audit.c: the append-only hash chain. */
struct audit_entry {
	const char	*actor;
	const char	*role;
	const char	*operator_hdr;
	const char	*source;
	const char	*action;	/* drain undrain expire hook reload ... */
	const char	*target;
	const char	*detail;
	const char	*result;	/* ok refused failed forced unchanged */
	const char	*key;		/* Idempotency-Key or NULL */
	const char	*batch;		/* batch id or NULL */
};

/* Commits one row synchronously (any thread): 0 + id, or -1 + err. */
int		 audit_append(const struct audit_entry *, int64_t *id,
		    char *err, size_t);
/* Refused requests' rows older than this are pruned (tombstoned). */
void		 audit_set_refused_retention(int64_t ms);
/* Fills e for a row of the agent's own doing (actor and role "system"). */
void		 audit_system(struct audit_entry *, const char *source,
		    const char *action, const char *target, const char *detail,
		    const char *result);
/* Queues one row for the audit writer thread (the loop's way: it never
 * waits for the disk); a row that cannot be written is logged. */
void		 audit_post(const struct audit_entry *);

/* audit_refused.c: refused API requests, bounded and summed up. */
struct audit_refusal {
	const char	*source;	/* peer address */
	int		 status;	/* 401, 403, 429 */
	int		 authenticated;	/* actor, role, operator are true */
	const char	*actor;
	const char	*role;
	const char	*operator_hdr;
	const char	*method;
	const char	*path;
	const char	*target;	/* what the request named, raw */
	const char	*why;
};
/* Any thread: a full row (synchronous) or a count for the summary. */
void		 audit_refused_note(const struct audit_refusal *);
/* Any thread: a refusal only counted for its source's summary row. */
void		 audit_refused_count(const char *source, int status);
/* Posts the summaries of closed minutes (all: every minute, at stop). */
void		 audit_refused_flush(int64_t now_ms, int all);
/* Refusals summed up instead of written as rows, since start. */
uint64_t	 audit_refused_aggregated(void);
/* s bounded to keep bytes and escaped, with its length and hash. */
void		 audit_refused_name(const char *s, size_t keep, char *out,
		    size_t len);
void		 audit_refused_stop(void);

struct sqlite3;

/* What a walk over the chain found (GET /v1/audit/verify). */
struct audit_verify {
	int		 ok;
	int64_t		 rows;		/* rows checked */
	int64_t		 pruned;	/* tombstones of pruned rows passed */
	int64_t		 bad_id;	/* first bad row when !ok */
	char		 head[65];	/* hash of the last good row */
	char		 message[256];	/* why the chain is broken */
};

/* Opens the audit connection (after store_open). */
int		 audit_start(struct config *, char *err, size_t);
void		 audit_stop(void);
/*
 * Inserts one row inside a write transaction the caller opened on db
 * (BEGIN IMMEDIATE), so a state change and its audit row commit
 * together; after COMMIT the caller calls audit_committed().
 */
int		 audit_insert(struct sqlite3 *db, const struct audit_entry *,
		    int64_t *id, char *err, size_t);
/* The row is durable: journald copy, highest id known. */
void		 audit_committed(const struct audit_entry *, int64_t id);
/* Walks the chain on db (any connection, read-only is enough). */
int		 audit_verify(struct sqlite3 *db, struct audit_verify *,
		    char *err, size_t);

/* ---------------------------------------------------------------- */
/* haproxy.c: the HAProxy agent-check listener, in the loop. */

int		 haproxy_start(struct config *, char *err, size_t);
/* Binds new addresses now; takes them when the reload is accepted. */
int		 haproxy_reconfigure(struct config *, char *err, size_t);
void		 haproxy_tick(void);
void		 haproxy_stop(void);
/* Before haproxy_start(): at most n checks open; returns the limit set. */
int		 haproxy_limit_conns(int n);
/*
 * Reads the route name from what an agent-check sent so far: 1 and the
 * name in name (NUL-terminated) when a whole line is there, 0 when more
 * is needed, -1 when it can never be a route name.
 */
int		 haproxy_parse_line(const char *buf, size_t len, char *name,
		    size_t namelen);

/* ---------------------------------------------------------------- */
/* hook.c: on_drain / on_undrain, run without a shell, on the loop. */

struct hook_spec {
	char *const	*argv;		/* argv[0] is an absolute path */
	const char	*which;		/* "on_drain", "on_undrain" */
	const char	*route;
	const char	*state;		/* the route's new state */
	const char	*actor;
	const char	*reason;
	int64_t		 timeout_ms;
};
/* Called once per hook: ok when it exited 0; detail for the audit row. */
typedef void	(*hook_done_cb)(void *arg, const char *route,
		    const char *which, int ok, const char *detail);

/* Starts a hook; cb runs exactly once, maybe before this returns. */
void		 hook_run(const struct hook_spec *, hook_done_cb, void *arg);
/* Kills the hooks still running and reports them (shutdown). */
void		 hook_stop_all(void);
int		 hook_running(void);

/* ---------------------------------------------------------------- */
/* perfdata.c: Nagios plugin output (text, performance data). */

#define PERFDATA_TEXT_MAX	128	/* a label's bytes, escaped */
#define PERFDATA_MAX		64	/* items kept per result */

struct perfdata {
	char		 label[PERFDATA_TEXT_MAX];
	double		 value;
	int		 has_value;	/* 0: "U", the plugin could not tell */
	char		 uom[16];	/* "" when none */
	char		 warn[48];	/* ranges as written; "" when none */
	char		 crit[48];
	double		 min;
	double		 max;
	int		 has_min;
	int		 has_max;
};

/*
 * Splits output (len bytes, not terminated) as the guidelines say: the
 * first line's text before '|', escaped into text; the perfdata after
 * that '|' and after the first '|' of a later line (with the lines after
 * it) appended to perf, blank-separated.
 */
void		 perfdata_split(const char *out, size_t len, char *text,
		    size_t textlen, struct buf *perf);
/* Items of s into v (at most max): how many; *bad counts those skipped. */
int		 perfdata_parse(const char *s, size_t len, struct perfdata *v,
		    int max, int *bad);
/* v as a JSON array of {"label","value","uom","warn","crit","min","max"}. */
void		 perfdata_json(struct buf *, const struct perfdata *, int n);

/* ---------------------------------------------------------------- */
/* spawn.c: child processes of the loop thread (hooks, exec probes). */

struct spawn_spec {
	char *const	*argv;		/* argv[0] is an absolute path */
	char *const	*envp;		/* the whole environment */
	int		 out_fd;	/* its stdout (stderr /dev/null); -1:
					 * both inherited */
	int		 kill_group;	/* SIGKILL its group when it exits */
	int		 drop;		/* run as uid/gid/groups below */
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;
	int		 ngroups;
};
struct spawn;
/* status is waitpid's; -1 when it was killed at shutdown. */
typedef void	(*spawn_exit_cb)(void *arg, int status);

/* NULL + err (strerror's reason) when it could not start. */
struct spawn	*spawn_start(const struct spawn_spec *, spawn_exit_cb,
		    void *arg, char *err, size_t);
/* SIGTERM to its group, SIGKILL after grace_ms (0: SIGKILL now). */
void		 spawn_kill(struct spawn *, int64_t grace_ms);
/* No callback any more; it is still killed (if asked) and reaped. */
void		 spawn_forget(struct spawn *);
/* SIGKILL, reaped within a second at most, freed: its status. */
int		 spawn_stop(struct spawn *);
/* Every child killed and reaped, callbacks with -1 (shutdown). */
void		 spawn_stop_all(void);
/* The forgotten ones only (their owners are gone). */
void		 spawn_stop_forgotten(void);
int		 spawn_running(void);
pid_t		 spawn_pid(const struct spawn *);

/* ---------------------------------------------------------------- */
/* alert.c: probe state changes to webhooks through a durable outbox. */

int		 alert_start(struct config *, char *err, size_t);
/* Takes the new webhooks on the tick after the reload is accepted. */
int		 alert_reconfigure(struct config *, char *err, size_t);
void		 alert_tick(void);
void		 alert_stop(void);
/*
 * Acknowledgements (any thread; they wait for the store): 0, or an HTTP
 * status (404, 409, 503) with the reason in err.
 */
int		 alert_ack_set(const char *probe, const char *by,
		    const char *reason, int64_t ttl_ms, int64_t *until,
		    char *err, size_t);
int		 alert_ack_del(const char *probe, char *err, size_t);
/* Appends ,"ack":{...} when the probe is acknowledged. */
void		 alert_ack_json(struct buf *, const char *probe);
/* Bumped by every ack change (the status snapshot's cache). */
uint64_t	 alert_ack_gen(void);

/* ---------------------------------------------------------------- */
/* vantaged.c: process lifecycle. */

struct vantaged {
	struct config	*conf;
	struct store	*store;
	const char	*conf_path;	/* NULL: built-in */
	int64_t		 started_ms;
	int64_t		 started_us;
};
extern struct vantaged *vd;

/*
 * Asks the loop thread to reload the config (POST /v1/reload) and waits
 * for the outcome: 0, or -1 with the config error in err.
 */
int		 vantaged_request_reload(char *err, size_t);
/* Reload on the loop thread (SIGHUP path). */
int		 vantaged_reload(char *err, size_t);
/* sd_notify STATUS= with probe counts, when systemd runs us. */
void		 vantaged_notify_status(void);

#endif
