/*
 * vantage.h - the console's private header: every module's types and
 * prototypes under a banner naming its file (relayd.h style).
 *
 * One thread runs everything but the SSH tunnels: the UI loop (ui.c) or a
 * CLI command (cli.c) drives the fetch engine (fetch.c, one libcurl multi
 * handle) and reads the keyboard in the same poll, so a slow agent never
 * blocks the screen.  fleet.c turns fetches into per-agent state; model.c
 * validates every agent response into plain structs the views read.
 */
#ifndef VANTAGE_H
#define VANTAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "log.h"
#include "parse.h"
#include "pool.h"

#define VANTAGE_VERSION		"0.1.0"
#define VANTAGE_SYSCONF		"/etc/vantage/vantage.conf"
#define VANTAGE_NONE		INT64_MIN	/* a JSON null number */

/* ---------------------------------------------------------------- */
/* conf.c */

struct conf_agent {
	char		*name;
	char		*url;		/* base URL, no trailing slash */
	char		*host;		/* of url, for tunnels */
	int		 port;		/* of url, default port filled in */
	char		*token;		/* NULL: no Authorization header */
	char		*ca;
	char		*cert;
	char		*key;
	char		*ssh;		/* user@bastion[:port] or NULL */
	int		 line;		/* of the [agent] header */
	/* where each setting came from, for messages that name the fix */
	char		*file;		/* the config defining it; NULL: --agent */
	int		 url_line;	/* 0: not written in a file */
	int		 token_line;	/* of token or token_file */
	int		 ca_line;
	char		*token_file;	/* the token was read from it */
	int		 token_env;	/* the token is $VANTAGE_TOKEN */
	char		*error;		/* "FILE:LINE: why": the entry is
					   wrong, the agent is never asked */
};

struct conf {
	char			*file;		/* NULL when from --agent only */
	struct conf_agent	**agents;
	int			 n_agents;
	int64_t			 refresh_ms;
	int64_t			 connect_timeout_ms;
	int64_t			 timeout_ms;
	int64_t			 stale_ms;
	int64_t			 max_skew_ms;
	int64_t			 max_backoff_ms;
	uint64_t		 max_body;
	int64_t			 action_timeout_ms; /* a change's deadline */
	int64_t			 settle_ms;	/* asking after it */
	int			 color;		/* -1 auto, 0 never, 1 always */
	int			 unicode;	/* -1 auto, 0 ascii, 1 utf-8 */
};

struct conf	*conf_new(void);
/*
 * Reads path and adds its agents and settings to c; errors name file:line.
 * 0: fine; 1: only agent entries are wrong (err lists every error, each
 * such agent has its first in ->error and the rest of c is usable);
 * -1: the file is wrong and nothing of it was added.
 */
int		 conf_load(struct conf *, const char *path, char *err, size_t);
/* "URL" or "NAME=URL"; the token comes from $VANTAGE_TOKEN. */
int		 conf_add_url(struct conf *, const char *arg, char *err,
		    size_t);
/* --ca FILE ("ca") or --token-file FILE ("token_file") of an --agent,
 * checked as in a config file; the file's token beats $VANTAGE_TOKEN. */
int		 conf_agent_option(struct conf_agent *, const char *key,
		    const char *value, char *err, size_t);
/* Where an agent's "url", "token" or "ca" comes from, for messages:
 * "FILE:LINE", "[agent \"NAME\"] at FILE:LINE" when not written,
 * or the command line's "--agent", "--ca", "--token-file",
 * "$VANTAGE_TOKEN". */
const char	*conf_agent_origin(const struct conf_agent *, const char *key,
		    char *buf, size_t);
/* The first of ~/.config/vantage/vantage.conf, /etc/vantage/... that
 * exists, or NULL. */
char		*conf_default_path(void);
struct conf_agent *conf_find_agent(const struct conf *, const char *name);
void		 conf_free(struct conf *);

/* ---------------------------------------------------------------- */
/* fetch.c: HTTP requests on one libcurl multi handle, never blocking. */

enum fetch_err {
	FETCH_OK,
	FETCH_RESOLVE,		/* name did not resolve */
	FETCH_CONNECT,		/* refused, unreachable, reset */
	FETCH_TIMEOUT,		/* connect or total timeout */
	FETCH_SLOW,		/* below the low-speed limit (slow drip) */
	FETCH_TLS,		/* handshake or verification */
	FETCH_TUNNEL,		/* the SSH tunnel is down */
	FETCH_TOO_BIG,		/* body above the size cap */
	FETCH_CONTENT_TYPE,	/* not application/json */
	FETCH_HTTP,		/* status not 2xx */
	FETCH_BAD_JSON,		/* not a JSON object */
	FETCH_BAD_DATA,		/* JSON that breaks the API contract */
	FETCH_CANCELLED,
	FETCH_INTERNAL		/* libcurl refused the request */
};

struct fetch_limits {
	int64_t		 connect_timeout_ms;
	int64_t		 timeout_ms;
	uint64_t	 max_body;
	long		 low_speed_bytes;	/* abort below this rate ... */
	long		 low_speed_secs;	/* ... for this long */
	long		 max_conns;		/* kept alive between polls */
};

struct fetch_spec {
	const char	*method;	/* "GET" or "POST" */
	const char	*url;
	const char	*body;		/* POST: JSON, copied */
	const char	*token;
	const char	*operator;	/* X-Vantage-Operator, or NULL */
	const char	*ca;
	const char	*cert;
	const char	*key;
	const char	*connect_to;	/* CURLOPT_CONNECT_TO entry or NULL */
	const char	*idem_key;	/* POST: Idempotency-Key, or NULL */
	int64_t		 deadline_ms;	/* POST: X-Vantage-Deadline, or 0 */
	int64_t		 timeout_ms;	/* total; 0: the fetch's limits */
	/* its settings and where they came from, so that an error can
	 * name what to change (fetch.c); NULL: none */
	const struct conf_agent *agent;
};

struct fetch_resp {
	enum fetch_err	 err;
	const char	*errmsg;	/* why, and what to change */
	const char	*hint;		/* FETCH_HTTP: what to change, or "" */
	long		 status;	/* HTTP status, 0 if none */
	const char	*body;		/* NUL-terminated */
	size_t		 len;
	int64_t		 sent_ms;	/* local wall clock at start */
	int64_t		 elapsed_us;
	int64_t		 agent_time_ms;	/* X-Vantage-Time or VANTAGE_NONE */
	int64_t		 retry_after_s;	/* 429/503 Retry-After, or 0 */
	int		 not_sent;	/* transport error before a byte of
					   the request went out */
};

struct fetch;
struct fetch_req;
struct fleet_opener;
struct tunnel;
typedef void (*fetch_done_fn)(const struct fetch_resp *, void *arg);

struct fetch	*fetch_new(const struct fetch_limits *);
void		 fetch_free(struct fetch *);
/* The callback runs from fetch_dispatch(), exactly once per request
 * unless the request is cancelled first. */
struct fetch_req *fetch_start(struct fetch *, const struct fetch_spec *,
		    fetch_done_fn, void *arg);
/* Drops a request without its callback; returns the callback's arg. */
void		*fetch_cancel(struct fetch *, struct fetch_req *);
/* Makes a fetch_wait() in another thread return now (thread-safe). */
void		 fetch_wakeup(struct fetch *);
int		 fetch_pending(const struct fetch *);
/* Waits up to timeout_ms for network events or fd (-1: none) to become
 * readable; returns 1 when fd is readable. */
int		 fetch_wait(struct fetch *, int timeout_ms, int fd);
/* Drives transfers and runs the callbacks of finished requests. */
void		 fetch_dispatch(struct fetch *);
const char	*fetch_err_str(enum fetch_err);
/* Transport errors make an agent "unreachable", the others "error". */
int		 fetch_err_is_transport(enum fetch_err);
int64_t		 fetch_now_ms(void);		/* wall clock */
int64_t		 fetch_mono_ms(void);		/* monotonic */

/* ---------------------------------------------------------------- */
/* model.c: agent JSON, validated field by field (api-contract.md). */

enum model_state {
	MODEL_UP,
	MODEL_DEGRADED,
	MODEL_DOWN,
	MODEL_UNKNOWN
};

enum model_rstatus {
	MODEL_R_OK,
	MODEL_R_DEGRADED,
	MODEL_R_FAIL,
	MODEL_R_UNKNOWN		/* the check could not run */
};

enum model_rstate {
	MODEL_ACTIVE,
	MODEL_DRAINING,
	MODEL_MAINT
};

enum model_effective {
	MODEL_EFF_READY,
	MODEL_EFF_DRAIN,
	MODEL_EFF_MAINT,
	MODEL_EFF_DOWN
};

/*
 * A row of an agent's list whose own fields break the contract: what
 * could be read of it and why it is not a real one.  The rest of the list
 * is kept; views show such a row marked (vantage(1) "odd rows").
 */
struct model_odd {
	int		 index;		/* in the agent's array */
	char		*name;		/* NULL when unreadable */
	int64_t		 id;		/* VANTAGE_NONE when unreadable */
	int64_t		 t_ms;		/* VANTAGE_NONE when unreadable */
	char		*reason;	/* "'target' is longer than 256 bytes" */
};

struct model_odds {
	struct model_odd	*v;
	int			 n;
};

struct model_result {
	int64_t			 t_ms;
	enum model_rstatus	 status;
	int64_t			 latency_us;
	int64_t			 dns_us;	/* VANTAGE_NONE when null */
	int64_t			 connect_us;
	int64_t			 tls_us;
	int64_t			 ttfb_us;
	int64_t			 code;
	int64_t			 cert_days;
	char			*error;		/* "" when none */
};

struct model_stats {
	int64_t		 runs;
	int64_t		 ok;
	int64_t		 degraded;
	int64_t		 fail;
	int64_t		 avg_us;		/* VANTAGE_NONE when null */
	int64_t		 p95_us;
};

struct model_probe {
	char			*name;
	char			*type;
	char			*target;
	enum model_state	 state;
	int64_t			 state_since_ms;
	int64_t			 interval_ms;
	int			 has_last;
	struct model_result	 last;
	struct model_stats	 stats;
};

struct model_route {
	char			*name;
	enum model_rstate	 state;
	enum model_effective	 effective;
	char			*reason;
	char			*actor;
	char			*operator;
	int64_t			 since_ms;
	int64_t			 expires_ms;	/* VANTAGE_NONE: no expiry */
	char			*pool;		/* NULL: none */
	char			*probe;		/* NULL: none */
	int			 forced;
};

struct model_pool {
	char		*name;
	int64_t		 min_active;
	int64_t		 routes;
	int64_t		 active;
};

struct model_status {
	char			*agent;
	char			*version;
	int64_t			 uptime_s;
	int64_t			 time_ms;
	int64_t			 started_ms;
	char			*caller;	/* credential's actor, or NULL
						   from an older agent */
	char			*caller_role;	/* viewer|operator|admin */
	struct model_probe	*probes;
	int			 n_probes;
	struct model_route	*routes;
	int			 n_routes;
	struct model_pool	*pools;
	int			 n_pools;
	struct model_odds	 odd_probes;	/* never in probes[] */
	struct model_odds	 odd_routes;
	struct model_odds	 odd_pools;
};

struct model_routes {
	struct model_route	*routes;
	int			 n_routes;
	struct model_pool	*pools;
	int			 n_pools;
	struct model_odds	 odd_routes;
	struct model_odds	 odd_pools;
};

struct model_results {
	struct model_result	*results;
	int			 n_results;
	struct model_odds	 odd;
	int64_t			 next;		/* VANTAGE_NONE when null */
	int			 more;
};

struct model_point {
	int64_t		 t_ms;
	int64_t		 n;
	int64_t		 ok;
	int64_t		 degraded;
	int64_t		 min_us;
	int64_t		 avg_us;
	int64_t		 max_us;
	int64_t		 p95_us;
};

struct model_series {
	int64_t			 step_s;
	struct model_point	*points;
	int			 n_points;
};

struct model_audit {
	int64_t		 id;
	int64_t		 t_ms;
	char		*actor;
	char		*role;
	char		*operator;
	char		*source;
	char		*action;
	char		*target;
	char		*detail;
	char		*result;
	char		*hash;
	/* An odd row, kept in its place: why; id and t_ms may then be
	 * VANTAGE_NONE and the strings "".  NULL for a good row. */
	char		*malformed;
};

struct model_audit_page {
	struct model_audit	*rows;
	int			 n_rows;
	int64_t			 next;
	int			 more;
	int			 desc;		/* ids decrease (a `before`
						   page, newest first) */
};

struct model_verify {
	int		 ok;
	int64_t		 rows;
	int64_t		 bad_id;	/* VANTAGE_NONE when ok */
	char		*head;		/* "" when not ok */
	char		*message;	/* "" when ok */
};

/* One route of a mutating request's answer. */
struct model_action_route {
	struct model_route	 route;
	int			 changed;	/* 0: it already was so */
	int64_t			 audit_id;
};

/*
 * A mutating request's answer, of one route {"route":ROUTE,"audit_id":N,
 * "changed":B} or of a batch {"batch","changed","audit_ids","routes"}.
 */
struct model_action {
	struct model_action_route *routes;
	int			 n_routes;
	int			 changed;	/* any route changed */
	int			 replayed;	/* a stored first outcome */
	char			*batch;		/* "" when none */
	struct model_odds	 odd;		/* routes that could not be
						   read: changed, state unknown */
};

/* GET /v1/requests/KEY: how the request with that key was decided. */
struct model_request {
	int64_t			 status;	/* 200 applied, 409 refused */
	int			 applied;
	struct model_action	 action;	/* when applied */
	char			 code[64];	/* when refused */
	char			 message[1024];
};

/* Every parser returns 0, -1 when the text is not a JSON object, or -2
 * when it breaks the contract; err says why (naming the bad field), and
 * out is zeroed first and holds nothing to free after a failure.  Only
 * the envelope (the top-level object, the arrays themselves) can fail a
 * document: a row of a list that breaks it becomes an odd row. */
int	 model_parse_status(const char *, size_t, struct model_status *,
	    char *err, size_t);
int	 model_parse_routes(const char *, size_t, struct model_routes *,
	    char *err, size_t);
int	 model_parse_results(const char *, size_t, struct model_results *,
	    char *err, size_t);
int	 model_parse_series(const char *, size_t, struct model_series *,
	    char *err, size_t);
int	 model_parse_audit(const char *, size_t, struct model_audit_page *,
	    char *err, size_t);
int	 model_parse_verify(const char *, size_t, struct model_verify *,
	    char *err, size_t);
int	 model_parse_action(const char *, size_t, struct model_action *,
	    char *err, size_t);
int	 model_parse_request(const char *, size_t, struct model_request *,
	    char *err, size_t);
/* {"error":{"code","message"}} into "message (code)"; 0 or -1. */
int	 model_parse_error(const char *, size_t, char *code, size_t,
	    char *msg, size_t);
void	 model_status_free(struct model_status *);
void	 model_routes_free(struct model_routes *);
void	 model_results_free(struct model_results *);
void	 model_result_free(struct model_result *);
void	 model_result_copy(struct model_result *, const struct model_result *);
void	 model_series_free(struct model_series *);
void	 model_audit_free(struct model_audit *);
void	 model_audit_copy(struct model_audit *, const struct model_audit *);
void	 model_audit_page_free(struct model_audit_page *);
void	 model_verify_free(struct model_verify *);
void	 model_action_free(struct model_action *);
void	 model_request_free(struct model_request *);
/*
 * The pool guard's view of st's routes (shared/pool.h), one member per
 * route in st's order, the routes named in sel selected: what the agent
 * counts when it decides.  Members point into st; free() the array.
 */
struct pool_member *model_pool_members(const struct model_status *,
		    const char *const *sel, int nsel);
void	 model_odds_free(struct model_odds *);
/* "'target' is longer than 256 bytes" into "! malformed row: ..." */
const char *model_odd_text(const char *reason, char *, size_t);
void	 model_route_free(struct model_route *);
void	 model_route_copy(struct model_route *, const struct model_route *);
const char *model_state_str(enum model_state);
const char *model_rstatus_str(enum model_rstatus);
const char *model_rstate_str(enum model_rstate);
const char *model_effective_str(enum model_effective);

/* ---------------------------------------------------------------- */
/* fleet.c: every agent's state, polling, backoff, audit, actions. */

enum fleet_state {
	FLEET_CONNECTING,	/* no answer yet */
	FLEET_OK,
	FLEET_SKEW,		/* data fine, clock off by > max_skew */
	FLEET_STALE,		/* last good data older than stale_ms */
	FLEET_UNREACHABLE,	/* transport failure */
	FLEET_ERROR		/* answered, but not per the contract */
};

#define FLEET_AUDIT_KEEP	500	/* newest audit rows kept per agent */

struct fleet_agent {
	struct conf_agent	*conf;
	struct fleet		*fleet;
	int			 idx;
	/* status polling */
	struct model_status	*status;	/* last good, or NULL */
	int64_t			 last_ok_ms;	/* wall clock of it */
	int64_t			 last_try_ms;	/* wall clock */
	int64_t			 latency_us;	/* of the last good fetch */
	int64_t			 skew_ms;	/* agent - local */
	int			 has_skew;
	int			 fails;		/* consecutive */
	enum fetch_err		 err;		/* of the last failure */
	char			 errmsg[512];
	int64_t			 next_mono;	/* next poll, monotonic */
	struct fetch_req	*status_req;
	/* audit, polled while wanted */
	struct model_audit	*audit;		/* oldest first */
	int			 n_audit;
	int64_t			 audit_after;
	int			 audit_done;	/* caught up at least once */
	int			 audit_newest;	/* audit_req asks `before` */
	struct fetch_req	*audit_req;
	char			 audit_err[256];
	struct model_verify	 verify;
	int			 has_verify;
	struct fetch_req	*verify_req;
	char			 verify_err[256];
	/* ssh */
	struct tunnel		*tunnel;
	struct fleet_opener	*opener;	/* opening a tunnel */
	char			*connect_to;	/* host:port:127.0.0.1:local */
};

struct fleet {
	struct conf		*conf;
	struct fetch		*fetch;
	struct fleet_agent	*agents;
	int			 n_agents;
	char			*operator;	/* $USER@host */
	int			 want_audit;	/* poll audit with status */
	const char		*audit_action;	/* asked of the agents, or NULL */
	uint64_t		 gen;		/* bumped on every change: redraw */
	struct action		*actions;	/* route changes in flight */
	int64_t			 last_refresh_ms; /* wall clock */
};

typedef void (*fleet_done_fn)(struct fleet_agent *, const struct fetch_resp *,
    void *arg);

struct fleet	*fleet_new(struct conf *);
void		 fleet_free(struct fleet *);
/* Tunnel upkeep: 1 when requests can be sent to the agent now, 0 while
 * its SSH tunnel opens or after it failed (a->fails says which). */
int		 fleet_agent_ready(struct fleet_agent *);
/* Starts due polls; returns ms until the next one is due. */
int64_t		 fleet_tick(struct fleet *);
/* Polls every agent now, resetting backoff. */
void		 fleet_refresh(struct fleet *);
void		 fleet_refresh_agent(struct fleet_agent *);
/* Runs fetches until every agent has answered or failed once (CLI). */
void		 fleet_settle(struct fleet *);
/* An API request to one agent; path starts with "/v1/".  NULL body is a
 * GET, else a POST carrying X-Vantage-Operator. */
struct fetch_req *fleet_request(struct fleet_agent *, const char *path,
		    const char *body, fleet_done_fn, void *arg);
/* The same with the headers and timeout of a route change (action.c). */
struct fleet_reqopt {
	const char	*idem_key;
	int64_t		 deadline_ms;	/* the agent's clock; 0: none */
	int64_t		 timeout_ms;	/* 0: the configured one */
};
struct fetch_req *fleet_request_opt(struct fleet_agent *, const char *path,
		    const char *body, const struct fleet_reqopt *,
		    fleet_done_fn, void *arg);
void		 fleet_cancel(struct fleet *, struct fetch_req **);
/* Loads the newest FLEET_AUDIT_KEEP audit rows of every agent, then
 * (UI) polls for new ones. */
void		 fleet_audit_poll(struct fleet *);
void		 fleet_verify(struct fleet *);
enum fleet_state fleet_agent_state(const struct fleet_agent *, int64_t now);
/* Fresh data that views may count (ok or skew). */
int		 fleet_agent_usable(const struct fleet_agent *, int64_t now);
struct fleet_agent *fleet_find(struct fleet *, const char *name);
const char	*fleet_state_str(enum fleet_state);
/* "connection refused", "HTTP 401: bad token", ... for the last failure. */
const char	*fleet_agent_reason(const struct fleet_agent *);
/* ms until the next attempt of a failing agent, or 0. */
int64_t		 fleet_agent_retry_in(const struct fleet_agent *);
/* "/v1/KIND/NAME/REST" with NAME escaped ("routes", "web-eu", "drain"). */
char		*fleet_path(const char *kind, const char *name,
		    const char *rest);
/* What a drain or undrain asks for (contract9.md). */
struct fleet_change {
	int		 undrain;
	const char	*reason;	/* NULL: keep it (update only) */
	int64_t		 ttl_ms;	/* -1: none given, 0: no expiry */
	int		 maint;
	int		 force;
	int		 update;	/* change a route already drained */
};
/* The body of POST /v1/routes/NAME/(un)drain (routes NULL) or of the
 * batch POST /v1/routes/(un)drain naming n routes. */
char		*fleet_change_body(const struct fleet_change *,
		    const char *const *routes, int n);

/* ---------------------------------------------------------------- */
/* action.c: a route change to one agent and its outcome, settled by its
 * Idempotency-Key and deadline when no answer comes (contract9.md). */

#define ACTION_KEY_LEN	32		/* hex digits */

enum action_outcome {
	ACTION_PENDING,
	ACTION_APPLIED,		/* 2xx: changed, or already so */
	ACTION_NOT_APPLIED,	/* refused, or settled as never applied */
	ACTION_UNKNOWN		/* no answer, not even after the deadline */
};

enum action_phase {
	ACTION_SENT,		/* the request is out */
	ACTION_WAIT,		/* no answer: next lookup at next_mono */
	ACTION_ASK,		/* a lookup is out */
	ACTION_DONE
};

struct action_opts {
	int64_t		 timeout_ms;	/* 0: the configured one */
	int64_t		 settle_ms;	/* -1: the configured one */
};

struct action;
typedef void (*action_done_fn)(struct action *, void *arg);

struct action {
	struct fleet		*fl;
	int			 agent;		/* index in fl->agents */
	char			 key[ACTION_KEY_LEN + 1];
	int64_t			 timeout_ms;
	int64_t			 settle_ms;
	int64_t			 deadline_ms;	/* the agent's clock */
	int64_t			 deadline_local_ms; /* ours */
	int64_t			 sent_ms;	/* wall clock */
	int64_t			 silent_since_ms; /* the last answer missed */
	int64_t			 due_mono;	/* the deadline, monotonic */
	int64_t			 settle_mono;	/* the last lookup */
	int64_t			 next_mono;
	struct fetch_req	*req;
	enum action_phase	 phase;
	enum action_outcome	 outcome;
	long			 status;	/* of the deciding answer */
	int			 refused;	/* the agent said no */
	int			 settled;	/* decided by a lookup */
	int			 cannot_tell;	/* unknown, but not silent */
	int			 lookups;
	char			 code[64];	/* the agent's error code */
	char			 why[768];	/* its words, or the failure */
	struct model_action	 result;	/* applied: each route */
	int			 has_result;
	int			 notify;
	action_done_fn		 done;
	void			*arg;
	struct action		*next;		/* fl->actions */
};

/*
 * POSTs body to path with a fresh key and deadline.  done runs from
 * fleet_tick() once the outcome is known (never from here), after which
 * the caller frees the action; freeing it earlier abandons it.
 */
struct action	*action_start(struct fleet_agent *, const char *path,
		    const char *body, const struct action_opts *,
		    action_done_fn, void *arg);
/* Starts due lookups, runs done callbacks; ms until the next is due. */
int64_t		 action_tick(struct fleet *);
void		 action_free(struct action *);
const char	*action_outcome_str(enum action_outcome);
/* "applied", "not applied (refused: ...)", "outcome unknown: ..." */
const char	*action_describe(const struct action *, char *, size_t);

/* ---------------------------------------------------------------- */
/* matrix.c: each link (probe name) as seen from every agent. */

enum matrix_cell {
	MATRIX_UP,
	MATRIX_DEGRADED,
	MATRIX_DOWN,
	MATRIX_UNKNOWN,
	MATRIX_UNREACHABLE,	/* the agent, not the link */
	MATRIX_PENDING,		/* the agent has not answered yet */
	MATRIX_ABSENT		/* the agent has no such probe */
};

enum matrix_verdict {
	MATRIX_V_OK,
	MATRIX_V_DEGRADED,
	MATRIX_V_DOWN,
	MATRIX_V_UNKNOWN
};

struct matrix_link {
	char			*probe;
	enum matrix_cell	*cells;		/* one per agent */
	int			 up;
	int			 degraded;
	int			 down;
	int			 unknown;
	int			 of;		/* reachable agents with it */
	int			 unreachable;
	enum matrix_verdict	 verdict;
	char			 text[64];	/* "down from 1 of 3" */
	char			 brief[24];	/* "DOWN 1/3 +1 unr": the
						   VERDICT column, <= 20 */
};

struct matrix {
	struct matrix_link	*links;
	int			 n_links;
	int			 n_agents;
};

struct matrix	*matrix_build(struct fleet *, int64_t now);
void		 matrix_free(struct matrix *);
const char	*matrix_cell_str(enum matrix_cell);
const char	*matrix_verdict_str(enum matrix_verdict);

/* ---------------------------------------------------------------- */
/* cli.c: the subcommands for scripts. */

struct cli_opts {
	int		 json;
	int		 csv;		/* RFC 4180, a header row first */
	const char	*reason;
	int64_t		 ttl_ms;	/* -1: none given, 0: --no-ttl */
	int		 maint;
	int		 force;
	int		 update;
	int64_t		 timeout_ms;	/* 0: the configured one */
	int64_t		 settle_ms;	/* -1: the configured one */
	int		 verify;
	long		 limit;
	/* audit filters: NULL / 0 when not given */
	const char	*actor;
	const char	*action;
	const char	*route;
	int64_t		 since_ms;	/* rows of the last since_ms */
	/* agent add */
	const char	*token_file;
	const char	*ca;
};

/*
 * Each returns the exit status: 0 done (a change: applied), 1 refused or
 * failed (not applied), 2 usage, 3 (a change) outcome unknown.  args are
 * the words after the command's name: probes [AGENT], drain AGENT
 * ROUTE..., agent add NAME URL.
 */
int	cli_status(struct fleet *, char *const *args, int n,
	    const struct cli_opts *);
int	cli_probes(struct fleet *, char *const *args, int n,
	    const struct cli_opts *);
int	cli_routes(struct fleet *, char *const *args, int n,
	    const struct cli_opts *);
int	cli_audit(struct fleet *, char *const *args, int n,
	    const struct cli_opts *);
/* n - 1 routes of one agent, as one request: all or nothing. */
int	cli_drain(struct fleet *, char *const *args, int n,
	    const struct cli_opts *);
int	cli_undrain(struct fleet *, char *const *args, int n,
	    const struct cli_opts *);
/* Edits the configuration file (file: -c, or NULL for the default). */
int	cli_agent_add(const char *file, char *const *args, int n,
	    const struct cli_opts *);
/*
 * A duration option's value: a number with a unit ("10" is refused with
 * "add a unit: 10s, 10m"), within [lo, hi] ms.  0, or -1 with a message
 * naming the option in err.
 */
int	cli_duration(const char *opt, const char *arg, int64_t lo, int64_t hi,
	    int64_t *ms, char *err, size_t);
const char *cli_safe(const char *s, char *buf, size_t len);

/* ---------------------------------------------------------------- */
/* conf_edit.c: changes to vantage.conf written in place of an editor. */

struct conf_edit_agent {
	const char	*name;
	const char	*url;
	const char	*token_file;	/* absolute */
	const char	*ca;		/* absolute, or NULL */
};

/*
 * Appends an [agent "NAME"] section to the file at path, every existing
 * byte kept: a temporary file in the same directory, fsync, rename, so a
 * crash leaves the old file or the new one.  The file keeps its mode (a
 * new one is 0600, its directory made 0700).  Refuses a name the file
 * already has and a result conf_load() would not accept.  0, or -1 with
 * the reason in err.
 */
int	conf_edit_add_agent(const char *path, const struct conf_edit_agent *,
	    char *err, size_t);

/* ---------------------------------------------------------------- */
/* ui.c: the screen manager of the TUI (htop's ScreenManager): it owns the
 * terminal, the view stack, the header, status and prompt lines, `:`
 * commands, `/` filters, sorting and help; views only draw their body and
 * answer keys. */

/* What a view's key handler returns. */
#define VIEW_HANDLED	0x01
#define VIEW_REDRAW	0x02
#define VIEW_BACK	0x04	/* pop this view */
#define VIEW_QUIT	0x08

/* Keys as views see them: characters are Unicode code points, curses
 * function keys are UI_FKEY(KEY_UP) and so on. */
#define UI_FKEY(k)	(0x200000 | (k))
#define UI_CTRL(c)	((c) & 0x1f)
#define UI_ESC		27

enum ui_color {
	UI_C_NORMAL,
	UI_C_OK,	/* up, active, chain ok */
	UI_C_WARN,	/* degraded, draining, skew, stale */
	UI_C_BAD,	/* down, unreachable, refused */
	UI_C_DIM,	/* old data, absent, hints */
	UI_C_HEAD,	/* table headings */
	UI_C_BAR,	/* header and status line */
	UI_C_MARK,	/* marked rows */
	UI_C_GRAPH
};

enum ui_glyph {
	UI_G_VBAR,	/* │ | */
	UI_G_HBAR,	/* ─ - */
	UI_G_UP,	/* ▲ ^ (sort ascending) */
	UI_G_DOWN,	/* ▼ v */
	UI_G_MARK,	/* ● * */
	UI_G_DOT,	/* · . */
	UI_G_ARROW,	/* → -> */
	UI_G_ELLIPSIS	/* … .. */
};

struct ui;
struct view;

struct view_help {
	const char	*key;
	const char	*what;
};

/* What Tab completes after a command word. */
enum ui_arg {
	UI_ARG_NONE,
	UI_ARG_AGENT,		/* an agent's name */
	UI_ARG_AGENT_PROBE	/* an agent's name, then one of its probes */
};

/*
 * A view's complete description, one per view file, listed once in
 * ui.c's view_table[]: the `:` command (name and aliases), its hotkey,
 * its lines of `?` help, what Tab completes after it, and how it draws,
 * answers keys and filters.  Nothing else in ui.c names a view.
 */
struct view_class {
	const char		*name;		/* as in `:name` */
	const char		*aliases;	/* more `:` words, blank-separated;
						   NULL: none */
	int			 hotkey;	/* opens it from any view; 0: none */
	const char		*what;		/* one line for `?` and Tab */
	const char		*usage;		/* the argument: "[AGENT]" */
	enum ui_arg		 arg;
	/* Opens the view for `:name ARG` or the hotkey (arg NULL); NULL
	 * when arg names nothing (the message is set with ui_message). */
	struct view		*(*open)(struct ui *, const char *arg);
	void			(*title)(struct view *, char *, size_t);
	void			(*draw)(struct view *, int y, int x, int h,
				    int w);
	int			(*key)(struct view *, int key);
	/* Called every loop while on top (optional): start fetches. */
	void			(*tick)(struct view *);
	/* The key hints of the bottom line now (optional). */
	const char		*(*hint)(struct view *);
	void			(*free)(struct view *);
	const struct view_help	*help;		/* {NULL, NULL} ends it */
	const char *const	*sorts;		/* sort keys, NULL ends */
	int			 filterable;
};

/* Every view starts with this (views embed it as their first member). */
struct view {
	const struct view_class	*cls;
	struct ui		*ui;
	char			 filter[128];
	int			 sort;		/* index into cls->sorts */
	int			 sort_desc;
};

/* Runs the TUI until the operator quits; returns the exit status. */
int		 ui_run(struct fleet *);
struct fleet	*ui_fleet(struct ui *);
int		 ui_utf8(struct ui *);
/* Since when the agent fails (wall clock, the first failed poll this
 * console saw); 0 while it answers. */
int64_t		 ui_agent_down_since(struct ui *, const struct fleet_agent *);
/* Pushes a view (the manager owns it from now on). */
void		 ui_push(struct ui *, struct view *);
/* A one-line message under the status line, kept for a few seconds. */
void		 ui_message(struct ui *, int error, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 ui_attr(struct ui *, enum ui_color);
int		 ui_state_attr(struct ui *, enum model_state);
const char	*ui_glyph(struct ui *, enum ui_glyph);
/* Writes s at y,x in exactly w columns (cut or padded), control
 * characters (C0, C1, bidi) and invalid UTF-8 shown escaped ("\x1b",
 * "\u{202e}") in the DIM colour, never passed to curses.  Returns
 * columns used by the text itself. */
int		 ui_put(int y, int x, int w, int attr, const char *s);
int		 ui_putf(int y, int x, int w, int attr, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
/* Display width of s as ui_put() would show it. */
int		 ui_width(const char *s);
/* Case-insensitive match of the view's filter against any of the
 * strings (NULL-terminated); an empty filter matches everything. */
int		 ui_match(const struct view *, ...);
/* "3s", "5m" ago; "-" for none. */
const char	*ui_ago(int64_t ms, int64_t now, char *, size_t);
/* ms as local time in strftime's fmt; "-" when there is none. */
const char	*ui_clock(int64_t ms, const char *fmt, char *, size_t);
/* "0.42ms", "3.25ms", "12.3ms", "850ms", "12.5s"; "-" for VANTAGE_NONE. */
const char	*ui_us(int64_t us, char *, size_t);

/* A one-line text field (forms, `:` and `/` prompts). */
struct ui_input {
	char	buf[512];
	size_t	len;
};
/* 1 when the key edited the field. */
int		 ui_input_key(struct ui_input *, int key);
void		 ui_input_set(struct ui_input *, const char *);

/* ---------------------------------------------------------------- */
/* table.c: a scrolling table with a cursor, shared by the views. */

#define TABLE_MAXCOLS	1024	/* the matrix has one per agent */

struct table_col {
	const char	*title;
	int		 min;		/* narrower: the column is dropped */
	int		 max;		/* 0: no limit */
	int		 flex;		/* takes the remaining width */
	int		 right;		/* right-aligned */
	/* What the column is worth when the terminal is narrow: of the
	 * columns that do not fit, the lowest priority is dropped first
	 * (1 before 2 ...); TABLE_KEEP (0) columns are never dropped, only
	 * narrowed or cut at the right edge. */
	int		 prio;
};
#define TABLE_KEEP	0

/* Text of one cell into buf (or a constant); *attr may be set. */
typedef const char *(*table_cell_fn)(void *ctx, int row, int col,
    char *buf, size_t len, int *attr);

struct table {
	const struct table_col	*cols;
	int			 ncols;
	int			 n;		/* rows */
	int			 sel;
	int			 top;
	int			 page;		/* rows shown by the last draw */
	int			 sort_col;	/* -1: none */
	int			 sort_desc;
	int			 pinned;	/* columns never scrolled away */
	int			 left;		/* columns scrolled away */
	int			 cur_col;	/* the cell cursor's column in the
						   cursor row; -1: none */
	int			 shown_first;	/* of the last draw: first and */
	int			 shown_last;	/* last unpinned column shown */
	/* natural widths over every row, measured at most every
	 * TABLE_MEASURE_MS (monotonic); in between only the rows shown
	 * are measured, and may only widen a column */
	int64_t			 measured_ms;
	int			 nat[TABLE_MAXCOLS];
};

void	table_init(struct table *, const struct table_col *, int ncols);
/* New row count; the cursor stays on row sel (clamped). */
void	table_set_rows(struct table *, int n, int sel);
void	table_draw(struct table *, struct ui *, int y, int x, int h, int w,
	    table_cell_fn, void *ctx);
/* Cursor and scroll keys; returns VIEW_* flags or 0. */
int	table_key(struct table *, int key);

/* ---------------------------------------------------------------- */
/* view_*.c: one file per view, each with its description. */

extern const struct view_class view_fleet_class;
extern const struct view_class view_matrix_class;
extern const struct view_class view_probes_class;
extern const struct view_class view_routes_class;
extern const struct view_class view_audit_class;
extern const struct view_class view_detail_class;

struct view	*view_fleet_new(struct ui *);
struct view	*view_matrix_new(struct ui *);
/* agent or probe restrict the list; NULL for all. */
struct view	*view_probes_new(struct ui *, const char *agent,
		    const char *probe);
struct view	*view_detail_new(struct ui *, const char *agent,
		    const char *probe);
struct view	*view_routes_new(struct ui *);
struct view	*view_audit_new(struct ui *);

/* ---------------------------------------------------------------- */
/* tunnel.c: an SSH session to a bastion forwarding a local port. */

struct tunnel;

/*
 * ssh_spec "user@host[:port]" (user defaults to $USER, port 22); forwards a
 * local 127.0.0.1 ephemeral port to host:port as seen from the SSH server
 * (direct-tcpip).  Connects, checks the host key against known_hosts
 * ($VANTAGE_KNOWN_HOSTS or ~/.ssh/known_hosts) and authenticates (ssh-agent,
 * then $VANTAGE_SSH_KEY or ~/.ssh/id_{ed25519,ecdsa,rsa}) before returning:
 * this blocks, up to 5 s for TCP and 10 s per SSH step.  Afterwards a
 * thread of the tunnel's own does the forwarding; nothing blocks the
 * caller again.  NULL with err filled on failure.
 */
struct tunnel	*tunnel_open(const char *ssh_spec, const char *host, int port,
		    char *err, size_t errlen);
int		 tunnel_local_port(const struct tunnel *);
/* NULL while healthy, else why the tunnel died (the console shows it);
 * a dead tunnel stays dead: close it and open a new one. */
const char	*tunnel_error(const struct tunnel *);
/* Stops the thread and frees everything; NULL is fine. */
void		 tunnel_close(struct tunnel *);

#endif
