/*
 * config.c - vantaged.conf: INI parsed by libinih into struct config.
 *
 * Keys are described by one table (section, name, parser, field, which
 * probe types they apply to), so adding a key is one line.  inih does not
 * report line numbers in this Debian build, so config_load() feeds it
 * through shared/inifile.c's reader; every error names file:line.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "inifile.h"
#include "vantaged.h"

enum conf_section {
	SEC_AGENT,
	SEC_API,
	SEC_HAPROXY,
	SEC_PROBE,
	SEC_ROUTE,
	SEC_POOL,
	SEC_ALERT,
	SEC_NONE
};

static const char *const section_names[] = {
	[SEC_AGENT] = "agent",
	[SEC_API] = "api",
	[SEC_HAPROXY] = "haproxy",
	[SEC_PROBE] = "probe",
	[SEC_ROUTE] = "route",
	[SEC_POOL] = "pool",
	[SEC_ALERT] = "alert",
};

enum key_kind {
	K_STR,		/* char * */
	K_PATH,		/* char *, must be absolute or relative file */
	K_DUR,		/* int64_t ms */
	K_DUR_POS,	/* int64_t ms, > 0 */
	K_INT,		/* int, 0..1e6 */
	K_INT_POS,	/* int, 1..1e6 */
	K_ROWS,		/* int64_t, 1000..1e8: a count of results */
	K_BOOL,		/* int */
	K_RANGE,	/* struct parse_range */
	K_RATE,		/* struct parse_rate */
	K_LISTEN,	/* char *[CONF_MAX_LISTEN] + count after it */
	K_ARGV,		/* char ** */
	K_TYPE,		/* const struct probe_type * */
	K_NAME,		/* char *, a name of another section */
	K_CIDRS,	/* char *, blank-separated address blocks */
	K_TLS_PRIO	/* char *, a GnuTLS priority string */
};

#define CONF_QUEUE_MIN		1000		/* [agent] queue_max */
#define CONF_QUEUE_MAX		100000000
#define CONF_QUEUE_FLOOR	10000		/* the derived one, at least */

struct conf_key {
	enum conf_section	 sec;
	const char		*name;
	enum key_kind		 kind;
	size_t			 off;
	const char		*types;	/* probe keys: types they apply to */
};

#define AG(k, kind, f)	{ SEC_AGENT, k, kind, offsetof(struct config, f), NULL }
#define AP(k, kind, f)	{ SEC_API, k, kind, offsetof(struct config, f), NULL }
#define HA(k, kind, f)	{ SEC_HAPROXY, k, kind, offsetof(struct config, f), NULL }
#define PR(k, kind, f, t) { SEC_PROBE, k, kind, \
	offsetof(struct probe_conf, f), t }
#define RT(k, kind, f)	{ SEC_ROUTE, k, kind, offsetof(struct route_conf, f), NULL }
#define PL(k, kind, f)	{ SEC_POOL, k, kind, offsetof(struct pool_conf, f), NULL }
#define AL(k, kind, f)	{ SEC_ALERT, k, kind, offsetof(struct alert_conf, f), NULL }

static const struct conf_key conf_keys[] = {
	AG("name", K_STR, name),
	AG("data_dir", K_PATH, data_dir),
	AG("retention", K_DUR_POS, retention_ms),
	AG("queue_max", K_ROWS, queue_max),

	AP("listen", K_LISTEN, api_listen),
	AP("tls_cert", K_PATH, tls_cert),
	AP("tls_key", K_PATH, tls_key),
	AP("client_ca", K_PATH, client_ca),
	AP("tokens", K_PATH, tokens),
	AP("jwt_key", K_PATH, jwt_key),
	AP("audit_refused_retention", K_DUR_POS, audit_refused_retention_ms),
	AP("rate", K_RATE, rate),
	AP("metrics_public", K_BOOL, metrics_public),
	AP("header_timeout", K_DUR_POS, header_timeout_ms),
	AP("jwt_max_lifetime", K_DUR_POS, jwt_max_lifetime_ms),
	AP("tls_ciphers", K_TLS_PRIO, tls_ciphers),

	HA("listen", K_LISTEN, haproxy_listen),
	HA("allow", K_CIDRS, haproxy_allow),

	PR("type", K_TYPE, type, NULL),
	PR("target", K_STR, target, NULL),
	PR("interval", K_DUR_POS, interval_ms, NULL),
	PR("timeout", K_DUR_POS, timeout_ms, NULL),
	PR("max_latency", K_DUR_POS, max_latency_ms, NULL),
	PR("cert_min_days", K_INT, cert_min_days, "http tls"),
	PR("fall", K_INT_POS, fall, NULL),
	PR("rise", K_INT_POS, rise, NULL),
	PR("expect_status", K_RANGE, expect_status, "http"),
	PR("expect_body", K_STR, expect_body, "http"),
	PR("expect_body_regex", K_STR, expect_body, "http"),
	PR("method", K_STR, method, "http"),
	PR("tls_verify", K_BOOL, tls_verify, "http tls"),
	PR("ca", K_PATH, ca, "http tls"),
	PR("server_name", K_STR, server_name, "tls"),
	PR("record", K_STR, record, "dns"),
	PR("expect_answer", K_STR, expect_answer, "dns"),
	PR("server", K_STR, server, "dns"),
	PR("host_key", K_STR, host_key, "ssh"),
	PR("user", K_STR, user, "ssh"),
	PR("key", K_PATH, key, "ssh"),
	PR("command", K_STR, command, "ssh"),
	PR("expect_exit", K_INT, expect_exit, "ssh"),

	RT("probe", K_NAME, probe),
	RT("pool", K_NAME, pool),
	RT("drain_timeout", K_DUR_POS, drain_timeout_ms),
	RT("on_drain", K_ARGV, on_drain),
	RT("on_undrain", K_ARGV, on_undrain),
	RT("hook_timeout", K_DUR_POS, hook_timeout_ms),

	PL("min_active", K_INT, min_active),

	AL("type", K_STR, type),
	AL("url", K_STR, url),
	AL("timeout", K_DUR_POS, timeout_ms),
};
#define N_KEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

struct conf_parse {
	struct config		*conf;
	const char		*file;		/* for messages */
	struct inifile		 in;		/* text, line numbers */
	char			 cur_section[128];
	enum conf_section	 sec;
	void			*obj;		/* current probe/route/... */
	unsigned char		 seen[N_KEYS];	/* keys set in this section */
	int			 seen_line[N_KEYS];
	int			 probe_key_line[N_KEYS];
	struct buf		 errs;
	int			 nerrs;
	/* key lines of each probe, for type-applicability checks */
	int			**probe_lines;
};

static void
conf_error(struct conf_parse *cp, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_parse *cp, int line, const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	if (cp->nerrs++ >= 20)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cp->errs.len > 0)
		buf_addc(&cp->errs, '\n');
	if (line > 0)
		buf_printf(&cp->errs, "%s:%d: %s", cp->file, line, msg);
	else
		buf_printf(&cp->errs, "%s: %s", cp->file, msg);
}

static int
conf_valid_name(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	}
	return 1;
}

char **
config_split_argv(const char *s)
{
	char	**argv = NULL;
	size_t	 n = 0;
	struct buf word;

	buf_init(&word);
	while (*s != '\0') {
		int	inq = 0, have = 0;

		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		buf_reset(&word);
		while (*s != '\0' && (inq || !isspace((unsigned char)*s))) {
			if (*s == '"') {
				inq = !inq;
				have = 1;
			} else if (*s == '\\' && inq && s[1] != '\0') {
				s++;
				buf_addc(&word, *s);
			} else
				buf_addc(&word, *s);
			s++;
		}
		if (inq) {
			buf_free(&word);
			config_free_argv(argv);
			return NULL;
		}
		if (word.len == 0 && !have)
			continue;
		argv = xreallocarray(argv, n + 2, sizeof(*argv));
		argv[n++] = xstrdup(word.data != NULL ? word.data : "");
		argv[n] = NULL;
	}
	buf_free(&word);
	if (argv == NULL)
		return NULL;
	return argv;
}

void
config_free_argv(char **argv)
{
	size_t	i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* Starts a new section from its header text (e.g. `probe "api-eu"`). */
static int
conf_begin_section(struct conf_parse *cp, const char *section)
{
	struct config	*c = cp->conf;
	char		 kind[32], name[128];
	const char	*q;
	size_t		 i, klen;

	memset(cp->seen, 0, sizeof(cp->seen));
	strlcpy_v(cp->cur_section, section, sizeof(cp->cur_section));
	cp->sec = SEC_NONE;
	cp->obj = NULL;

	q = strchr(section, ' ');
	klen = q != NULL ? (size_t)(q - section) : strlen(section);
	if (klen >= sizeof(kind)) {
		conf_error(cp, cp->in.section_line, "unknown section [%s]",
		    section);
		return -1;
	}
	memcpy(kind, section, klen);
	kind[klen] = '\0';
	for (i = 0; i < SEC_NONE; i++) {
		if (strcmp(kind, section_names[i]) == 0)
			break;
	}
	if (i == SEC_NONE) {
		conf_error(cp, cp->in.section_line, "unknown section [%s] "
		    "(expected agent, api, haproxy, probe, route, pool or "
		    "alert)", section);
		return -1;
	}
	cp->sec = (enum conf_section)i;
	if (cp->sec == SEC_AGENT || cp->sec == SEC_API ||
	    cp->sec == SEC_HAPROXY) {
		if (q != NULL) {
			conf_error(cp, cp->in.section_line, "[%s] takes no name",
			    kind);
			cp->sec = SEC_NONE;
			return -1;
		}
		return 0;
	}
	/* named section: kind "name" */
	{
		size_t	n;

		if (q == NULL || q[1] != '"' || (n = strlen(q + 2)) < 2 ||
		    q[2 + n - 1] != '"' || n - 1 >= sizeof(name)) {
			conf_error(cp, cp->in.section_line, "[%s] needs a name: "
			    "[%s \"NAME\"]", section, kind);
			cp->sec = SEC_NONE;
			return -1;
		}
		memcpy(name, q + 2, n - 1);
		name[n - 1] = '\0';
	}
	if (!conf_valid_name(name)) {
		conf_error(cp, cp->in.section_line, "bad %s name '%s' (letters, "
		    "digits, '.', '-', '_'; at most 64)", kind, name);
		cp->sec = SEC_NONE;
		return -1;
	}
	switch (cp->sec) {
	case SEC_PROBE: {
		struct probe_conf *p;

		p = xcalloc(1, sizeof(*p));
		p->name = xstrdup(name);
		p->line = cp->in.section_line;
		p->file = xstrdup(cp->file);
		p->interval_ms = 30000;
		p->timeout_ms = -1;
		p->fall = 3;
		p->rise = 2;
		p->cert_min_days = 14;
		p->tls_verify = 1;
		p->expect_status.lo = 200;
		p->expect_status.hi = 399;
		c->probes = xreallocarray(c->probes, c->n_probes + 1,
		    sizeof(*c->probes));
		c->probes[c->n_probes++] = p;
		cp->probe_lines = xreallocarray(cp->probe_lines, c->n_probes,
		    sizeof(*cp->probe_lines));
		cp->probe_lines[c->n_probes - 1] = xcalloc(N_KEYS, sizeof(int));
		cp->obj = p;
		break;
	}
	case SEC_ROUTE: {
		struct route_conf *r;

		r = xcalloc(1, sizeof(*r));
		r->name = xstrdup(name);
		r->line = cp->in.section_line;
		r->file = xstrdup(cp->file);
		r->hook_timeout_ms = 10000;
		c->routes = xreallocarray(c->routes, c->n_routes + 1,
		    sizeof(*c->routes));
		c->routes[c->n_routes++] = r;
		cp->obj = r;
		break;
	}
	case SEC_POOL: {
		struct pool_conf *p;

		p = xcalloc(1, sizeof(*p));
		p->name = xstrdup(name);
		p->line = cp->in.section_line;
		c->pools = xreallocarray(c->pools, c->n_pools + 1,
		    sizeof(*c->pools));
		c->pools[c->n_pools++] = p;
		cp->obj = p;
		break;
	}
	case SEC_ALERT: {
		struct alert_conf *a;

		a = xcalloc(1, sizeof(*a));
		a->name = xstrdup(name);
		a->line = cp->in.section_line;
		a->timeout_ms = 10000;
		c->alerts = xreallocarray(c->alerts, c->n_alerts + 1,
		    sizeof(*c->alerts));
		c->alerts[c->n_alerts++] = a;
		cp->obj = a;
		break;
	}
	default:
		break;
	}
	return 0;
}

static void *
conf_target(struct conf_parse *cp)
{
	switch (cp->sec) {
	case SEC_AGENT:
	case SEC_API:
	case SEC_HAPROXY:
		return cp->conf;
	default:
		return cp->obj;
	}
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse	*cp = user;
	const struct conf_key	*k = NULL;
	char			 err[256];
	size_t			 i;
	void			*base;
	int			 line = cp->in.lineno;

	if (strcmp(section, cp->cur_section) != 0 || cp->cur_section[0] == 0)
		(void)conf_begin_section(cp, section);
	if (section[0] == '\0') {
		conf_error(cp, line, "'%s' is outside any section", name);
		return 1;
	}
	if (cp->sec == SEC_NONE)
		return 1;	/* the section header was already reported */
	for (i = 0; i < N_KEYS; i++) {
		if (conf_keys[i].sec == cp->sec &&
		    strcmp(conf_keys[i].name, name) == 0) {
			k = &conf_keys[i];
			break;
		}
	}
	if (k == NULL) {
		conf_error(cp, line, "unknown key '%s' in [%s]", name,
		    section_names[cp->sec]);
		return 1;
	}
	if (cp->seen[i] && k->kind != K_LISTEN) {
		conf_error(cp, line, "duplicate key '%s' (first set at line "
		    "%d)", name, cp->seen_line[i]);
		return 1;
	}
	cp->seen[i] = 1;
	cp->seen_line[i] = line;
	if (cp->sec == SEC_PROBE)
		cp->probe_lines[cp->conf->n_probes - 1][i] = line;
	base = conf_target(cp);
	if (value[0] == '\0') {
		conf_error(cp, line, "'%s' has no value", name);
		return 1;
	}
	err[0] = '\0';
	switch (k->kind) {
	case K_TLS_PRIO:
		/* a typo must show at -n, not as a failed start */
		if (api_tls_priority_check(value, err, sizeof(err)) == -1)
			break;
		/* FALLTHROUGH */
	case K_STR:
	case K_PATH:
	case K_NAME:
	case K_CIDRS: {
		char			**dst = (char **)((char *)base + k->off);
		struct parse_cidr	  blocks[PARSE_CIDR_MAX];

		if (strlen(value) > 4096) {
			conf_error(cp, line, "'%s' is too long", name);
			return 1;
		}
		if (k->kind == K_NAME && !conf_valid_name(value)) {
			conf_error(cp, line, "'%s' is not a valid name", value);
			return 1;
		}
		if (k->kind == K_CIDRS && parse_cidr_list(value, blocks,
		    PARSE_CIDR_MAX, err, sizeof(err)) == -1)
			break;
		free(*dst);
		*dst = xstrdup(value);
		if (cp->sec == SEC_PROBE &&
		    strcmp(name, "expect_body_regex") == 0)
			((struct probe_conf *)base)->expect_body_is_regex = 1;
		break;
	}
	case K_DUR:
	case K_DUR_POS: {
		int64_t v;

		if (parse_duration_ms(value, &v, err, sizeof(err)) == -1)
			break;
		if (k->kind == K_DUR_POS && v <= 0) {
			snprintf(err, sizeof(err), "'%s' must be more than 0",
			    name);
			break;
		}
		*(int64_t *)((char *)base + k->off) = v;
		break;
	}
	case K_INT:
	case K_INT_POS: {
		long v;

		if (parse_long(value, k->kind == K_INT_POS ? 1 : 0, 1000000,
		    &v, err, sizeof(err)) == 0)
			*(int *)((char *)base + k->off) = (int)v;
		break;
	}
	case K_ROWS: {
		long v;

		if (parse_long(value, CONF_QUEUE_MIN, CONF_QUEUE_MAX, &v, err,
		    sizeof(err)) == 0)
			*(int64_t *)((char *)base + k->off) = v;
		break;
	}
	case K_BOOL:
		(void)parse_bool(value, (int *)((char *)base + k->off), err,
		    sizeof(err));
		break;
	case K_RANGE:
		(void)parse_range(value,
		    (struct parse_range *)((char *)base + k->off), err,
		    sizeof(err));
		break;
	case K_RATE:
		(void)parse_rate(value,
		    (struct parse_rate *)((char *)base + k->off), err,
		    sizeof(err));
		break;
	case K_LISTEN: {
		char	**arr = (char **)((char *)base + k->off);
		int	 *n = (int *)(arr + CONF_MAX_LISTEN);
		char	  host[256];
		int	  port;

		if (parse_hostport(value, host, sizeof(host), &port, err,
		    sizeof(err)) == -1)
			break;
		if (*n >= CONF_MAX_LISTEN) {
			snprintf(err, sizeof(err), "at most %d listen "
			    "addresses", CONF_MAX_LISTEN);
			break;
		}
		arr[(*n)++] = xstrdup(value);
		break;
	}
	case K_ARGV: {
		char ***dst = (char ***)((char *)base + k->off);
		char  **argv = config_split_argv(value);

		if (argv == NULL) {
			snprintf(err, sizeof(err), "'%s' is not a command "
			    "(unbalanced quotes?)", value);
			break;
		}
		if (argv[0][0] != '/') {
			snprintf(err, sizeof(err), "hook '%s' must be an "
			    "absolute path (hooks run without a shell)",
			    argv[0]);
			config_free_argv(argv);
			break;
		}
		config_free_argv(*dst);
		*dst = argv;
		break;
	}
	case K_TYPE: {
		const struct probe_type *t = probe_type_find(value);

		if (t == NULL) {
			snprintf(err, sizeof(err), "unknown probe type '%s' "
			    "(expected http, tcp, dns, icmp, tls or ssh)",
			    value);
			break;
		}
		*(const struct probe_type **)((char *)base + k->off) = t;
		break;
	}
	}
	if (err[0] != '\0')
		conf_error(cp, line, "%s: %s", name, err);
	return 1;
}

static void
conf_on_section(void *user, const char *header)
{
	(void)conf_begin_section(user, header);
}

static void
conf_on_long_line(void *user, int line, int max)
{
	conf_error(user, line, "line is too long (at most %d characters)",
	    max);
}

static int
conf_key_index(const char *name)
{
	size_t	i;

	for (i = 0; i < N_KEYS; i++) {
		if (conf_keys[i].sec == SEC_PROBE &&
		    strcmp(conf_keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static int
conf_type_in(const char *types, const char *t)
{
	size_t		 n = strlen(t);
	const char	*p = types;

	while ((p = strstr(p, t)) != NULL) {
		if ((p == types || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

static void
conf_check_probe(struct conf_parse *cp, struct probe_conf *p, int *lines)
{
	char	err[256];
	size_t	i;
	int	rl;

	if (p->type == NULL) {
		conf_error(cp, p->line, "probe '%s' has no type (http, tcp, "
		    "dns, icmp, tls or ssh)", p->name);
		return;
	}
	if (p->target == NULL) {
		conf_error(cp, p->line, "probe '%s' has no target", p->name);
		return;
	}
	for (i = 0; i < N_KEYS; i++) {
		if (lines[i] != 0 && conf_keys[i].types != NULL &&
		    !conf_type_in(conf_keys[i].types, p->type->name))
			conf_error(cp, lines[i], "'%s' does not apply to %s "
			    "probes", conf_keys[i].name, p->type->name);
	}
	if (p->timeout_ms == -1)
		p->timeout_ms = p->interval_ms < 5000 ? p->interval_ms : 5000;
	if (p->timeout_ms > p->interval_ms)
		conf_error(cp, lines[conf_key_index("timeout")] ?
		    lines[conf_key_index("timeout")] : p->line,
		    "timeout (%lldms) is longer than interval (%lldms)",
		    (long long)p->timeout_ms, (long long)p->interval_ms);
	if (p->interval_ms < 10)
		conf_error(cp, lines[conf_key_index("interval")],
		    "interval must be at least 10ms");
	if (lines[conf_key_index("expect_body")] &&
	    lines[conf_key_index("expect_body_regex")])
		conf_error(cp, lines[conf_key_index("expect_body_regex")],
		    "use expect_body or expect_body_regex, not both");
	if (p->expect_body_is_regex) {
		int rc = regcomp(&p->body_re, p->expect_body,
		    REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &p->body_re, err, sizeof(err));
			conf_error(cp, lines[conf_key_index(
			    "expect_body_regex")], "bad regex: %s", err);
			p->expect_body_is_regex = 0;	/* nothing to free */
		} else
			p->expect_body_is_regex = 2;	/* compiled */
	}
	err[0] = '\0';
	if (p->type->check != NULL &&
	    p->type->check(p, err, sizeof(err)) == -1) {
		rl = lines[conf_key_index("target")];
		conf_error(cp, rl ? rl : p->line, "probe '%s': %s", p->name,
		    err);
	}
}

struct conf_named {
	const char	*name;
	int		 line;
};

static int
conf_named_cmp(const void *a, const void *b)
{
	const struct conf_named	*x = a, *y = b;
	int			 c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * Duplicate names, found by sorting (a fleet config may hold ten thousand
 * probes; comparing each with all before it would cost seconds).
 */
static void
conf_check_dups(struct conf_parse *cp, const char *what,
    struct conf_named *v, int n)
{
	int	i;

	qsort(v, (size_t)n, sizeof(*v), conf_named_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[i - 1].name) == 0)
			conf_error(cp, v[i].line, "duplicate %s '%s' (first "
			    "defined at line %d)", what, v[i].name,
			    v[i - 1].line);
	}
}

#define CONF_DUPS(cp, what, arr, n) do {				\
	struct conf_named *v_ = xcalloc((size_t)(n) + 1, sizeof(*v_));	\
	int i_;								\
	for (i_ = 0; i_ < (n); i_++) {					\
		v_[i_].name = (arr)[i_]->name;				\
		v_[i_].line = (arr)[i_]->line;				\
	}								\
	conf_check_dups(cp, what, v_, n);				\
	free(v_);							\
} while (0)

/*
 * Without queue_max: room for twice the results all probes produce in 60
 * seconds, at least CONF_QUEUE_FLOOR, so the store rides out a minute
 * of a full or stalled disk before it drops any.  vantaged.conf(5) says
 * the same.
 */
static int64_t
conf_queue_default(const struct config *c)
{
	double	per_min = 0;
	int	i;

	for (i = 0; i < c->n_probes; i++)
		per_min += 60000.0 / (double)c->probes[i]->interval_ms;
	per_min = ceil(2 * per_min);
	if (per_min < CONF_QUEUE_FLOOR)
		return CONF_QUEUE_FLOOR;
	return per_min > CONF_QUEUE_MAX ? CONF_QUEUE_MAX : (int64_t)per_min;
}

static void
conf_finish(struct conf_parse *cp)
{
	struct config	*c = cp->conf;
	char		 host[256];
	int		 i, j, port;

	for (i = 0; i < c->n_probes; i++)
		conf_check_probe(cp, c->probes[i], cp->probe_lines[i]);
	for (i = 0; i < c->n_routes; i++) {
		struct route_conf *r = c->routes[i];

		if (r->probe != NULL && config_find_probe(c, r->probe) == NULL)
			conf_error(cp, r->line, "route '%s': probe '%s' is "
			    "not defined", r->name, r->probe);
		if (r->pool != NULL && config_find_pool(c, r->pool) == NULL)
			conf_error(cp, r->line, "route '%s': pool '%s' is not "
			    "defined (add [pool \"%s\"])", r->name, r->pool,
			    r->pool);
	}
	for (i = 0; i < c->n_alerts; i++) {
		struct alert_conf *a = c->alerts[i];

		if (a->type == NULL || strcmp(a->type, "webhook") != 0)
			conf_error(cp, a->line, "alert '%s': type must be "
			    "webhook", a->name);
		else if (a->url == NULL || (strncmp(a->url, "http://", 7) != 0
		    && strncmp(a->url, "https://", 8) != 0))
			conf_error(cp, a->line, "alert '%s': url must be an "
			    "http:// or https:// URL", a->name);
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		conf_error(cp, 0, "[api] tls_cert and tls_key go together");
	if (c->client_ca != NULL && c->tls_cert == NULL)
		conf_error(cp, 0, "[api] client_ca needs tls_cert and tls_key");
	if (c->n_api_listen == 0)
		c->api_listen[c->n_api_listen++] = xstrdup("127.0.0.1:7787");
	for (i = 0; i < c->n_api_listen; i++) {
		for (j = 0; j < c->n_haproxy_listen; j++) {
			if (strcmp(c->api_listen[i], c->haproxy_listen[j]) == 0)
				conf_error(cp, 0, "%s is both an [api] and a "
				    "[haproxy] listen address",
				    c->api_listen[i]);
		}
	}
	(void)host;
	(void)port;
	if (c->queue_max == 0)
		c->queue_max = conf_queue_default(c);
	if (c->name == NULL) {
		char hn[256];

		if (gethostname(hn, sizeof(hn)) == -1)
			strlcpy_v(hn, "localhost", sizeof(hn));
		hn[sizeof(hn) - 1] = '\0';
		c->name = xstrdup(hn);
	}
	if (c->data_dir == NULL)
		c->data_dir = defconf_data_dir();
	/*
	 * The built-in config has no secrets of its own: it takes the tokens
	 * in DATA_DIR/tokens when an operator put some there (make demo).
	 */
	if (c->file == NULL && c->tokens == NULL) {
		char		*path;
		struct stat	 st;

		xasprintf(&path, "%s/tokens", c->data_dir);
		if (stat(path, &st) == 0)
			c->tokens = path;
		else
			free(path);
	}
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct conf_parse	 cp;
	struct config		*c;
	char			*text;
	int			 rc, i;

	if (path != NULL) {
		if ((text = inifile_read(path, 4 * 1024 * 1024, err,
		    errlen)) == NULL)
			return NULL;
	} else
		text = xstrdup(defconf_text);

	c = xcalloc(1, sizeof(*c));
	c->file = path != NULL ? xstrdup(path) : NULL;
	c->retention_ms = 14LL * 86400000;
	c->audit_refused_retention_ms = 30LL * 86400000;
	c->rate.per_sec = 20;
	c->rate.burst = 40;
	c->header_timeout_ms = API_HEADER_TIMEOUT_MS;
	c->jwt_max_lifetime_ms = AUTH_MAX_LIFETIME_S * 1000LL;

	memset(&cp, 0, sizeof(cp));
	cp.conf = c;
	cp.file = path != NULL ? path : "(built-in config)";
	cp.in.text = text;
	cp.in.user = &cp;
	cp.in.on_section = conf_on_section;
	cp.in.on_long_line = conf_on_long_line;
	cp.sec = SEC_NONE;
	buf_init(&cp.errs);

	rc = ini_parse_stream(inifile_reader, &cp.in, conf_handler, &cp);
	if (rc > 0)
		conf_error(&cp, rc, "syntax error (expected [section] or "
		    "key = value)");
	else if (rc < 0)
		conf_error(&cp, 0, "cannot parse (out of memory)");
	CONF_DUPS(&cp, "probe", c->probes, c->n_probes);
	CONF_DUPS(&cp, "route", c->routes, c->n_routes);
	CONF_DUPS(&cp, "pool", c->pools, c->n_pools);
	CONF_DUPS(&cp, "alert", c->alerts, c->n_alerts);
	if (cp.nerrs == 0)
		conf_finish(&cp);
	for (i = 0; i < c->n_probes; i++)
		free(cp.probe_lines[i]);
	free(cp.probe_lines);
	free(text);
	if (cp.nerrs > 0) {
		if (cp.nerrs > 20)
			buf_printf(&cp.errs, "\n%s: %d more errors", cp.file,
			    cp.nerrs - 20);
		snprintf(err, errlen, "%s", cp.errs.data);
		buf_free(&cp.errs);
		config_free(c);
		return NULL;
	}
	buf_free(&cp.errs);
	return c;
}

static void
probe_conf_free(struct probe_conf *p)
{
	if (p->expect_body_is_regex == 2)
		regfree(&p->body_re);
	free(p->name);
	free(p->target);
	free(p->expect_body);
	free(p->method);
	free(p->ca);
	free(p->server_name);
	free(p->record);
	free(p->expect_answer);
	free(p->server);
	free(p->host_key);
	free(p->user);
	free(p->key);
	free(p->command);
	free(p->file);
	free(p);
}

void
config_free(struct config *c)
{
	int	i;

	if (c == NULL)
		return;
	free(c->file);
	free(c->name);
	free(c->data_dir);
	for (i = 0; i < c->n_api_listen; i++)
		free(c->api_listen[i]);
	free(c->haproxy_allow);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->client_ca);
	free(c->tokens);
	free(c->jwt_key);
	free(c->tls_ciphers);
	for (i = 0; i < c->n_haproxy_listen; i++)
		free(c->haproxy_listen[i]);
	for (i = 0; i < c->n_probes; i++)
		probe_conf_free(c->probes[i]);
	free(c->probes);
	for (i = 0; i < c->n_routes; i++) {
		struct route_conf *r = c->routes[i];
		free(r->name);
		free(r->probe);
		free(r->pool);
		config_free_argv(r->on_drain);
		config_free_argv(r->on_undrain);
		free(r->file);
		free(r);
	}
	free(c->routes);
	for (i = 0; i < c->n_pools; i++) {
		free(c->pools[i]->name);
		free(c->pools[i]);
	}
	free(c->pools);
	for (i = 0; i < c->n_alerts; i++) {
		free(c->alerts[i]->name);
		free(c->alerts[i]->type);
		free(c->alerts[i]->url);
		free(c->alerts[i]);
	}
	free(c->alerts);
	free(c);
}

struct probe_conf *
config_find_probe(const struct config *c, const char *name)
{
	int	i;

	for (i = 0; i < c->n_probes; i++) {
		if (strcmp(c->probes[i]->name, name) == 0)
			return c->probes[i];
	}
	return NULL;
}

struct pool_conf *
config_find_pool(const struct config *c, const char *name)
{
	int	i;

	for (i = 0; i < c->n_pools; i++) {
		if (strcmp(c->pools[i]->name, name) == 0)
			return c->pools[i];
	}
	return NULL;
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
config_probe_equal(const struct probe_conf *a, const struct probe_conf *b)
{
	return str_eq(a->name, b->name) && a->type == b->type &&
	    str_eq(a->target, b->target) && a->interval_ms == b->interval_ms &&
	    a->timeout_ms == b->timeout_ms &&
	    a->max_latency_ms == b->max_latency_ms &&
	    a->cert_min_days == b->cert_min_days && a->fall == b->fall &&
	    a->rise == b->rise && a->expect_status.lo == b->expect_status.lo &&
	    a->expect_status.hi == b->expect_status.hi &&
	    str_eq(a->expect_body, b->expect_body) &&
	    a->expect_body_is_regex == b->expect_body_is_regex &&
	    str_eq(a->method, b->method) && a->tls_verify == b->tls_verify &&
	    str_eq(a->ca, b->ca) && str_eq(a->server_name, b->server_name) &&
	    str_eq(a->record, b->record) &&
	    str_eq(a->expect_answer, b->expect_answer) &&
	    str_eq(a->server, b->server) && str_eq(a->host_key, b->host_key) &&
	    str_eq(a->user, b->user) && str_eq(a->key, b->key) &&
	    str_eq(a->command, b->command) && a->expect_exit == b->expect_exit;
}
