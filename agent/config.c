/*
 * config.c - vantaged.conf: INI parsed by libinih into struct config.
 *
 * Keys are described by one table (section, name, kind, field), so adding
 * a key is one line; a probe type's own keys are in its key table
 * (probe_NAME.c), which drives their parsing, the "does not apply"
 * errors, reload equality, freeing and GET /v1/probes/NAME.  inih does not
 * report line numbers in this Debian build, so config_load() feeds it
 * through shared/inifile.c's reader; every error names file:line.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
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
#include "suggest.h"
#include "vantaged.h"

enum conf_section {
	SEC_AGENT,
	SEC_API,
	SEC_HAPROXY,
	SEC_PROBE,
	SEC_ROUTE,
	SEC_POOL,
	SEC_ALERT,
	SEC_DEFAULTS,
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
	[SEC_DEFAULTS] = "defaults",
};

#define CONF_QUEUE_MIN		1000		/* [agent] queue_max */
#define CONF_QUEUE_MAX		100000000
#define CONF_QUEUE_FLOOR	10000		/* the derived one, at least */
#define CONF_FILE_MAX		(4 * 1024 * 1024)	/* bytes, per file */
#define CONF_INCLUDE_DEPTH	8
#define CONF_FILES_MAX		4096		/* files in all, includes too */

struct conf_key {
	enum conf_section	 sec;
	const char		*name;
	enum conf_kind		 kind;
	size_t			 off;
};

#define AG(k, kind, f)	{ SEC_AGENT, k, kind, offsetof(struct config, f) }
#define AP(k, kind, f)	{ SEC_API, k, kind, offsetof(struct config, f) }
#define HA(k, kind, f)	{ SEC_HAPROXY, k, kind, offsetof(struct config, f) }
#define PR(k, kind, f)	{ SEC_PROBE, k, kind, offsetof(struct probe_conf, f) }
#define RT(k, kind, f)	{ SEC_ROUTE, k, kind, offsetof(struct route_conf, f) }
#define PL(k, kind, f)	{ SEC_POOL, k, kind, offsetof(struct pool_conf, f) }
#define AL(k, kind, f)	{ SEC_ALERT, k, kind, offsetof(struct alert_conf, f) }

static const struct conf_key conf_keys[] = {
	AG("name", CONF_STR, name),
	AG("data_dir", CONF_PATH, data_dir),
	AG("retention", CONF_DUR_POS, retention_ms),
	AG("rollup_retention", CONF_DUR_POS, rollup_retention_ms),
	AG("queue_max", CONF_ROWS, queue_max),
	AG("exec_max", CONF_INT_POS, exec_max),

	AP("listen", CONF_LISTEN, api_listen),
	AP("tls_cert", CONF_PATH, tls_cert),
	AP("tls_key", CONF_PATH, tls_key),
	AP("client_ca", CONF_PATH, client_ca),
	AP("tokens", CONF_PATH, tokens),
	AP("jwt_key", CONF_PATH, jwt_key),
	AP("audit_refused_retention", CONF_DUR_POS, audit_refused_retention_ms),
	AP("rate", CONF_RATE, rate),
	AP("metrics_public", CONF_BOOL, metrics_public),
	AP("header_timeout", CONF_DUR_POS, header_timeout_ms),
	AP("jwt_max_lifetime", CONF_DUR_POS, jwt_max_lifetime_ms),
	AP("tls_ciphers", CONF_TLS_PRIO, tls_ciphers),

	HA("listen", CONF_LISTEN, haproxy_listen),
	HA("allow", CONF_CIDRS, haproxy_allow),

	/* the keys of every type; a type's own are in its key table */
	PR("type", CONF_TYPE, type),
	PR("target", CONF_STR, target),
	PR("interval", CONF_DUR_POS, interval_ms),
	PR("timeout", CONF_DUR_POS, timeout_ms),
	PR("max_latency", CONF_DUR_POS, max_latency_ms),
	PR("fall", CONF_INT_POS, fall),
	PR("rise", CONF_INT_POS, rise),

	RT("probe", CONF_NAME, probe),
	RT("pool", CONF_NAME, pool),
	RT("drain_timeout", CONF_DUR_POS, drain_timeout_ms),
	RT("on_drain", CONF_ARGV, on_drain),
	RT("on_undrain", CONF_ARGV, on_undrain),
	RT("hook_timeout", CONF_DUR_POS, hook_timeout_ms),

	PL("min_active", CONF_INT, min_active),

	AL("type", CONF_STR, type),
	AL("url", CONF_STR, url),
	AL("timeout", CONF_DUR_POS, timeout_ms),
	AL("token_file", CONF_PATH, token_file),
	AL("ca", CONF_PATH, ca),
	AL("repeat", CONF_DUR_POS, repeat_ms),
};
#define N_KEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/* A type key as written, kept until the probe's type is known. */
struct conf_pending {
	const char		*name;		/* in a type's key table */
	char			*value;
	int			 line;
};

/* A [defaults] key: a common probe key (ck) or a type's (tk). */
struct conf_default {
	const struct conf_key	*ck;
	const struct probe_key	*tk;
	char			*value;
	char			*file;
	int			 line;
};

struct conf_parse {
	struct config		*conf;
	const char		*file;		/* for messages */
	/* the files being read, outermost first (include loops) */
	char			*stack[CONF_INCLUDE_DEPTH + 1];
	int			 depth;
	int			 nfiles;
	struct conf_default	*defaults;
	int			 n_defaults;
	struct inifile		 in;		/* text, line numbers */
	char			 cur_section[128];
	enum conf_section	 sec;
	void			*obj;		/* current probe/route/... */
	unsigned char		 seen[N_KEYS];	/* keys set in this section */
	int			 seen_line[N_KEYS];
	int			 probe_key_line[N_KEYS];
	struct buf		 errs;
	int			 nerrs;
	/* lines of each probe's common keys */
	int			**probe_lines;
	/* each probe's type keys, applied once its type is known */
	struct conf_pending	**pending;
	int			 *n_pending;
};

static void
conf_error(struct conf_parse *cp, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_verror(struct conf_parse *cp, const char *file, int line,
    const char *fmt, va_list ap)
{
	char	msg[512];

	if (cp->nerrs++ >= 20)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cp->errs.len > 0)
		buf_addc(&cp->errs, '\n');
	if (line > 0)
		buf_printf(&cp->errs, "%s:%d: %s", file, line, msg);
	else
		buf_printf(&cp->errs, "%s: %s", file, msg);
}

static void
conf_error(struct conf_parse *cp, int line, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conf_verror(cp, cp->file, line, fmt, ap);
	va_end(ap);
}

/* An error in another file than the one being read (checks at the end). */
static void
conf_error_at(struct conf_parse *cp, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
conf_error_at(struct conf_parse *cp, const char *file, int line,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conf_verror(cp, file != NULL ? file : cp->file, line, fmt, ap);
	va_end(ap);
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

/*
 * ": did you mean X?" for a misspelt key of section sec (a probe's also
 * the keys of every type), or for a section name when sec is SEC_NONE;
 * "" when nothing is close.
 */
static const char *
conf_suggest(enum conf_section sec, const char *word, char *buf, size_t len)
{
	struct suggest	 sg;
	size_t		 i, j;

	suggest_init(&sg, word);
	if (sec == SEC_NONE) {
		for (i = 0; i < SEC_NONE; i++)
			suggest_try(&sg, section_names[i]);
	} else {
		for (i = 0; i < N_KEYS; i++) {
			if (conf_keys[i].sec == sec || (sec == SEC_DEFAULTS &&
			    conf_keys[i].sec == SEC_PROBE))
				suggest_try(&sg, conf_keys[i].name);
		}
		for (i = 0; (sec == SEC_PROBE || sec == SEC_DEFAULTS) &&
		    probe_types[i] != NULL; i++) {
			for (j = 0; probe_types[i]->keys[j].name != NULL; j++)
				suggest_try(&sg, probe_types[i]->keys[j].name);
		}
	}
	if (suggest_best(&sg) == NULL)
		buf[0] = '\0';
	else
		snprintf(buf, len, sec == SEC_NONE ? ": did you mean [%s]?" :
		    ": did you mean %s?", suggest_best(&sg));
	return buf;
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
		char	sug[96];

		if (conf_suggest(SEC_NONE, kind, sug, sizeof(sug))[0] != '\0')
			conf_error(cp, cp->in.section_line, "unknown section "
			    "[%s]%s", section, sug);
		else
			conf_error(cp, cp->in.section_line, "unknown section "
			    "[%s] (expected agent, api, haproxy, defaults, "
			    "probe, route, pool or alert)", section);
		return -1;
	}
	cp->sec = (enum conf_section)i;
	if (cp->sec == SEC_AGENT || cp->sec == SEC_API ||
	    cp->sec == SEC_HAPROXY || cp->sec == SEC_DEFAULTS) {
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
		c->probes = xreallocarray(c->probes, c->n_probes + 1,
		    sizeof(*c->probes));
		c->probes[c->n_probes++] = p;
		cp->probe_lines = xreallocarray(cp->probe_lines, c->n_probes,
		    sizeof(*cp->probe_lines));
		cp->probe_lines[c->n_probes - 1] = xcalloc(N_KEYS, sizeof(int));
		cp->pending = xreallocarray(cp->pending, c->n_probes,
		    sizeof(*cp->pending));
		cp->n_pending = xreallocarray(cp->n_pending, c->n_probes,
		    sizeof(*cp->n_pending));
		cp->pending[c->n_probes - 1] = NULL;
		cp->n_pending[c->n_probes - 1] = 0;
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
		p->file = xstrdup(cp->file);
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
		a->file = xstrdup(cp->file);
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

/* "http, tcp, ... or ssh": the names in probe_types[], for messages. */
static void
conf_type_names(char *out, size_t len)
{
	size_t	i, n = 0;

	out[0] = '\0';
	for (i = 0; probe_types[i] != NULL; i++)
		n++;
	for (i = 0; i < n; i++)
		(void)snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ",
		    probe_types[i]->name);
}

/*
 * Parses value as kind into dst.  On -1 err is the whole message; on -2
 * it follows "name: ".
 */
static int
conf_value(const char *name, enum conf_kind kind, const char *value,
    void *dst, char *err, size_t errlen)
{
	err[0] = '\0';
	switch (kind) {
	case CONF_TLS_PRIO:
		/* a typo must show at -n, not as a failed start */
		if (api_tls_priority_check(value, err, errlen) == -1)
			break;
		/* FALLTHROUGH */
	case CONF_STR:
	case CONF_REGEX:
	case CONF_PATH:
	case CONF_SECRET:
	case CONF_NAME:
	case CONF_CIDRS: {
		char			**s = dst;
		struct parse_cidr	  blocks[PARSE_CIDR_MAX];

		if (strlen(value) > 4096) {
			snprintf(err, errlen, "'%s' is too long", name);
			return -1;
		}
		if (kind == CONF_NAME && !conf_valid_name(value)) {
			snprintf(
			    err, errlen, "'%.200s' is not a valid name", value);
			return -1;
		}
		if (kind == CONF_CIDRS && parse_cidr_list(value, blocks,
		    PARSE_CIDR_MAX, err, errlen) == -1)
			break;
		free(*s);
		*s = xstrdup(value);
		break;
	}
	case CONF_DUR:
	case CONF_DUR_POS: {
		int64_t v;

		if (parse_duration_ms(value, &v, err, errlen) == -1)
			break;
		if (kind == CONF_DUR_POS && v <= 0) {
			snprintf(err, errlen, "'%s' must be more than 0", name);
			break;
		}
		*(int64_t *)dst = v;
		break;
	}
	case CONF_INT:
	case CONF_INT_POS: {
		long v;

		if (parse_long(value, kind == CONF_INT_POS ? 1 : 0, 1000000,
		    &v, err, errlen) == 0)
			*(int *)dst = (int)v;
		break;
	}
	case CONF_ROWS: {
		long v;

		if (parse_long(value, CONF_QUEUE_MIN, CONF_QUEUE_MAX, &v, err,
		    errlen) == 0)
			*(int64_t *)dst = v;
		break;
	}
	case CONF_BOOL:
		(void)parse_bool(value, dst, err, errlen);
		break;
	case CONF_RANGE:
		(void)parse_range(value, dst, err, errlen);
		break;
	case CONF_RATE:
		(void)parse_rate(value, dst, err, errlen);
		break;
	case CONF_LISTEN: {
		char	**arr = dst;
		int	 *n = (int *)(arr + CONF_MAX_LISTEN);
		char	  host[256];
		int	  port;

		if (parse_hostport(value, host, sizeof(host), &port, err,
		    errlen) == -1)
			break;
		if (*n >= CONF_MAX_LISTEN) {
			snprintf(err, errlen, "at most %d listen addresses",
			    CONF_MAX_LISTEN);
			break;
		}
		arr[(*n)++] = xstrdup(value);
		break;
	}
	case CONF_ARGV: {
		char ***a = dst;
		char  **argv = config_split_argv(value);

		if (argv == NULL) {
			snprintf(err, errlen, "'%s' is not a command "
			    "(unbalanced quotes?)", value);
			break;
		}
		if (argv[0][0] != '/') {
			snprintf(err, errlen, "hook '%s' must be an "
			    "absolute path (hooks run without a shell)",
			    argv[0]);
			config_free_argv(argv);
			break;
		}
		config_free_argv(*a);
		*a = argv;
		break;
	}
	case CONF_LIST: {
		char	***a = dst;
		size_t	   n = 0;

		if (strlen(value) > 4096) {
			snprintf(err, errlen, "'%s' is too long", name);
			return -1;
		}
		while (*a != NULL && (*a)[n] != NULL)
			n++;
		if (n >= CONF_LIST_MAX) {
			snprintf(err, errlen, "at most %d '%s' lines",
			    CONF_LIST_MAX, name);
			return -1;
		}
		*a = xreallocarray(*a, n + 2, sizeof(**a));
		(*a)[n] = xstrdup(value);
		(*a)[n + 1] = NULL;
		break;
	}
	case CONF_PCT: {
		char	*end;
		double	 v;

		errno = 0;
		v = strtod(value, &end);
		if (end != value && *end == '%')
			end++;
		if (end == value || *end != '\0' || errno != 0 ||
		    !(v >= 0 && v <= 100)) {
			snprintf(err, errlen, "'%.60s' is not a percentage "
			    "(0 to 100, like 20 or 12.5%%)", value);
			break;
		}
		*(double *)dst = v;
		break;
	}
	case CONF_TYPE: {
		const struct probe_type *t = probe_type_find(value);

		char types[64];

		if (t == NULL) {
			conf_type_names(types, sizeof(types));
			snprintf(err, errlen, "unknown probe type '%.60s' "
			    "(expected %s)", value, types);
			break;
		}
		*(const struct probe_type **)dst = t;
		break;
	}
	}
	return err[0] != '\0' ? -2 : 0;
}

int
config_kind_is_text(enum conf_kind kind)
{
	switch (kind) {
	case CONF_STR:
	case CONF_REGEX:
	case CONF_PATH:
	case CONF_SECRET:
	case CONF_NAME:
	case CONF_CIDRS:
	case CONF_TLS_PRIO:
		return 1;
	case CONF_DUR:
	case CONF_DUR_POS:
	case CONF_INT:
	case CONF_INT_POS:
	case CONF_ROWS:
	case CONF_BOOL:
	case CONF_RANGE:
	case CONF_RATE:
	case CONF_LISTEN:
	case CONF_ARGV:
	case CONF_TYPE:
	case CONF_LIST:
	case CONF_PCT:
		break;
	}
	return 0;
}

/* Frees what conf_value() put at p (the kinds a type key can be). */
static void
conf_value_free(enum conf_kind kind, void *p)
{
	if (config_kind_is_text(kind))
		free(*(char **)p);
	else if (kind == CONF_ARGV || kind == CONF_LIST)
		config_free_argv(*(char ***)p);
}

/* Two NULL-terminated string lists, element by element. */
static int
strv_eq(char *const *a, char *const *b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return (a == NULL || a[0] == NULL) && (b == NULL || b[0] == NULL);
	for (i = 0; a[i] != NULL && b[i] != NULL; i++) {
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	}
	return a[i] == NULL && b[i] == NULL;
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The kinds a type key can be; the others are fatal. */
static int
conf_value_equal(enum conf_kind kind, const void *a, const void *b)
{
	if (config_kind_is_text(kind))
		return str_eq(*(char *const *)a, *(char *const *)b);
	switch (kind) {
	case CONF_DUR:
	case CONF_DUR_POS:
	case CONF_ROWS:
		return *(const int64_t *)a == *(const int64_t *)b;
	case CONF_INT:
	case CONF_INT_POS:
	case CONF_BOOL:
		return *(const int *)a == *(const int *)b;
	case CONF_RANGE: {
		const struct parse_range *x = a, *y = b;

		return x->lo == y->lo && x->hi == y->hi;
	}
	case CONF_RATE:
		return memcmp(a, b, sizeof(struct parse_rate)) == 0;
	case CONF_TYPE:
		return *(const void *const *)a == *(const void *const *)b;
	case CONF_ARGV:
	case CONF_LIST:
		return strv_eq(*(char *const *const *)a,
		    *(char *const *const *)b);
	case CONF_PCT:
		return *(const double *)a == *(const double *)b;
	default:
		break;
	}
	fatalx("%s: kind %d is not a probe key's", __func__, (int)kind);
}

static const struct probe_key *
conf_type_key(const struct probe_type *t, const char *name)
{
	const struct probe_key	*k;

	for (k = t->keys; k != NULL && k->name != NULL; k++) {
		if (strcmp(k->name, name) == 0)
			return k;
	}
	return NULL;
}

/* The key of that name in any type's table. */
static const struct probe_key *
conf_any_type_key(const char *name)
{
	const struct probe_key	*k;
	size_t			 i;

	for (i = 0; probe_types[i] != NULL; i++) {
		if ((k = conf_type_key(probe_types[i], name)) != NULL)
			return k;
	}
	return NULL;
}

/*
 * A type key before the type may be known: its value is checked now, so
 * the error is where it was before, and applied in conf_check_probe().
 */
static void
conf_probe_pending(struct conf_parse *cp, const struct probe_key *k,
    const char *value, int line)
{
	struct conf_pending	**v = &cp->pending[cp->conf->n_probes - 1];
	int			 *n = &cp->n_pending[cp->conf->n_probes - 1];
	union {
		char			*s;
		int64_t			 d;
		int			 i;
		struct parse_range	 r;
		struct parse_rate	 rt;
		char			**argv;
	}			  scratch;
	char			  err[256];
	int			  i, rc;

	for (i = 0; k->kind != CONF_LIST && i < *n; i++) {
		if (strcmp((*v)[i].name, k->name) == 0) {
			conf_error(cp, line, "duplicate key '%s' (first set "
			    "at line %d)", k->name, (*v)[i].line);
			return;
		}
	}
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].name = k->name;
	(*v)[*n].value = xstrdup(value);
	(*v)[*n].line = line;
	(*n)++;
	if (value[0] == '\0') {
		conf_error(cp, line, "'%s' has no value", k->name);
		return;
	}
	memset(&scratch, 0, sizeof(scratch));
	rc = conf_value(k->name, k->kind, value, &scratch, err, sizeof(err));
	conf_value_free(k->kind, &scratch);
	if (rc == -1)
		conf_error(cp, line, "%s", err);
	else if (rc == -2)
		conf_error(cp, line, "%s: %s", k->name, err);
}

static void	conf_include(struct conf_parse *, const char *, int);

/*
 * A [defaults] key: any probe key but target, checked where it is written
 * and applied at the end to every probe that does not set it.
 */
static void
conf_default(struct conf_parse *cp, const char *name, const char *value,
    int line)
{
	const struct conf_key	*ck = NULL;
	const struct probe_key	*tk = NULL;
	struct conf_default	*d;
	union {
		char			*s;
		int64_t			 d;
		int			 i;
		double			 f;
		struct parse_range	 r;
		struct parse_rate	 rt;
		char			**argv;
		const void		*p;
	}			 scratch;
	char			 err[256];
	size_t			 i;
	int			 rc, j;

	for (i = 0; i < N_KEYS; i++) {
		if (conf_keys[i].sec == SEC_PROBE &&
		    strcmp(conf_keys[i].name, name) == 0)
			ck = &conf_keys[i];
	}
	if (ck == NULL && (tk = conf_any_type_key(name)) == NULL) {
		char	sug[96];

		if (conf_suggest(SEC_DEFAULTS, name, sug, sizeof(sug))[0] !=
		    '\0')
			conf_error(cp, line, "unknown key '%s' in [defaults]%s",
			    name, sug);
		else
			conf_error(cp, line, "unknown key '%s' in [defaults] "
			    "(it takes the keys of probes)", name);
		return;
	}
	if (ck != NULL && strcmp(name, "target") == 0) {
		conf_error(cp, line, "'target' cannot have a default: each "
		    "probe names its own");
		return;
	}
	for (j = 0; j < cp->n_defaults; j++) {
		d = &cp->defaults[j];
		if ((tk == NULL || tk->kind != CONF_LIST) &&
		    strcmp(d->ck != NULL ? d->ck->name : d->tk->name,
		    name) == 0) {
			conf_error(cp, line, "duplicate default '%s' (first set "
			    "at %s:%d)", name, d->file, d->line);
			return;
		}
	}
	if (value[0] == '\0') {
		conf_error(cp, line, "'%s' has no value", name);
		return;
	}
	memset(&scratch, 0, sizeof(scratch));
	rc = conf_value(name, ck != NULL ? ck->kind : tk->kind, value,
	    &scratch, err, sizeof(err));
	conf_value_free(ck != NULL ? ck->kind : tk->kind, &scratch);
	if (rc == -1) {
		conf_error(cp, line, "%s", err);
		return;
	} else if (rc == -2) {
		conf_error(cp, line, "%s: %s", name, err);
		return;
	}
	cp->defaults = xreallocarray(cp->defaults, cp->n_defaults + 1,
	    sizeof(*cp->defaults));
	d = &cp->defaults[cp->n_defaults++];
	d->ck = ck;
	d->tk = tk;
	d->value = xstrdup(value);
	d->file = xstrdup(cp->file);
	d->line = line;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse	*cp = user;
	const struct conf_key	*k = NULL;
	const struct probe_key	*tk;
	char			 err[256];
	size_t			 i;
	void			*base;
	int			 line = cp->in.lineno, rc;

	/* no section has a key "include": it is the directive, anywhere */
	if (strcmp(name, "include") == 0) {
		conf_include(cp, value, line);
		return 1;
	}
	if (strcmp(section, cp->cur_section) != 0 || cp->cur_section[0] == 0)
		(void)conf_begin_section(cp, section);
	if (section[0] == '\0') {
		conf_error(cp, line, "'%s' is outside any section", name);
		return 1;
	}
	if (cp->sec == SEC_NONE)
		return 1;	/* the section header was already reported */
	if (cp->sec == SEC_DEFAULTS) {
		conf_default(cp, name, value, line);
		return 1;
	}
	for (i = 0; i < N_KEYS; i++) {
		if (conf_keys[i].sec == cp->sec &&
		    strcmp(conf_keys[i].name, name) == 0) {
			k = &conf_keys[i];
			break;
		}
	}
	if (k == NULL && cp->sec == SEC_PROBE &&
	    (tk = conf_any_type_key(name)) != NULL) {
		conf_probe_pending(cp, tk, value, line);
		return 1;
	}
	if (k == NULL) {
		conf_error(cp, line, "unknown key '%s' in [%s]%s", name,
		    section_names[cp->sec], conf_suggest(cp->sec, name, err,
		    sizeof(err)));
		return 1;
	}
	if (cp->seen[i] && k->kind != CONF_LISTEN) {
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
	rc = conf_value(name, k->kind, value, (char *)base + k->off, err,
	    sizeof(err));
	if (rc == -1)
		conf_error(cp, line, "%s", err);
	else if (rc == -2)
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

/*
 * The probe's options: the type's defaults, then its keys as written, then
 * the type's own check of them together.
 */
static void
conf_check_probe(struct conf_parse *cp, struct probe_conf *p, int *lines,
    const struct conf_pending *pend, int npend)
{
	const struct probe_type	*t;
	const struct probe_key	*k;
	const char		*bad;
	char			 err[256];
	int			 i, j, rc, rl, set, bad_secret = 0;

	/* [defaults]: the common keys this probe does not set */
	for (j = 0; j < cp->n_defaults; j++) {
		const struct conf_default *d = &cp->defaults[j];

		if (d->ck == NULL || lines[d->ck - conf_keys] != 0)
			continue;
		if (conf_value(d->ck->name, d->ck->kind, d->value,
		    (char *)p + d->ck->off, err, sizeof(err)) != 0)
			conf_error_at(cp, d->file, d->line, "%s", err);
	}
	t = p->type;
	if (t == NULL) {
		conf_type_names(err, sizeof(err));
		conf_error(cp, p->line, "probe '%s' has no type (%s)", p->name,
		    err);
		return;
	}
	for (i = 0; p->target == NULL && t->target_from != NULL && i < npend;
	    i++) {
		if (strcmp(pend[i].name, t->target_from) == 0)
			p->target = xstrdup(pend[i].value);
	}
	if (p->target == NULL) {
		if (t->target_from != NULL)
			conf_error(cp, p->line, "probe '%s' has no target and "
			    "no %s", p->name, t->target_from);
		else
			conf_error(cp, p->line, "probe '%s' has no target",
			    p->name);
		return;
	}
	p->opts = xcalloc(1, t->opts_size > 0 ? t->opts_size : 1);
	for (k = t->keys; k != NULL && k->name != NULL; k++) {
		if (k->def != NULL && conf_value(k->name, k->kind, k->def,
		    (char *)p->opts + k->off, err, sizeof(err)) != 0)
			fatalx("%s: %s default '%s': %s", __func__, k->name,
			    k->def, err);
	}
	/* [defaults]: the keys of this type the probe does not set */
	for (j = 0; j < cp->n_defaults; j++) {
		const struct conf_default *d = &cp->defaults[j];

		if (d->tk == NULL || (k = conf_type_key(t, d->tk->name)) ==
		    NULL)
			continue;
		for (i = 0, set = 0; i < npend && !set; i++)
			set = strcmp(pend[i].name, k->name) == 0;
		if (set)
			continue;
		if (conf_value(k->name, k->kind, d->value,
		    (char *)p->opts + k->off, err, sizeof(err)) != 0)
			conf_error_at(cp, d->file, d->line, "%s", err);
	}
	for (i = 0; i < npend; i++) {
		if ((k = conf_type_key(t, pend[i].name)) == NULL) {
			conf_error(cp, pend[i].line, "'%s' does not apply to "
			    "%s probes", pend[i].name, t->name);
			continue;
		}
		rc = conf_value(k->name, k->kind, pend[i].value,
		    (char *)p->opts + k->off, err, sizeof(err));
		if (rc != 0)
			conf_error(cp, pend[i].line, "%s", err);
	}
	/* a secret file anyone else may read is refused, by its path */
	for (k = t->keys; k != NULL && k->name != NULL; k++) {
		const char *path;
		int	    kl = 0;

		if (k->kind != CONF_SECRET)
			continue;
		path = *(char **)((char *)p->opts + k->off);
		if (path == NULL || auth_check_secret(path, err,
		    sizeof(err)) == 0)
			continue;
		for (i = 0; i < npend; i++) {
			if (strcmp(pend[i].name, k->name) == 0)
				kl = pend[i].line;
		}
		conf_error(cp, kl ? kl : p->line, "%s: %s", k->name, err);
		bad_secret = 1;
	}
	if (bad_secret)
		return;		/* the type's check would read the file */
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
	if (t->check == NULL)
		return;
	err[0] = '\0';
	bad = NULL;
	if (t->check(p, &bad, err, sizeof(err)) == -1) {
		rl = lines[conf_key_index("target")];
		for (i = 0; bad != NULL && i < npend; i++) {
			if (strcmp(pend[i].name, bad) == 0)
				rl = pend[i].line;
		}
		conf_error(cp, rl ? rl : p->line, "probe '%s': %s", p->name,
		    err);
	}
}

struct conf_named {
	const char	*name;
	const char	*file;
	int		 line;
	int		 idx;		/* order of definition */
};

static int
conf_named_cmp(const void *a, const void *b)
{
	const struct conf_named	*x = a, *y = b;
	int			 c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
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
		if (strcmp(v[i].name, v[i - 1].name) != 0)
			continue;
		if (strcmp(v[i].file, v[i - 1].file) == 0)
			conf_error_at(cp, v[i].file, v[i].line, "duplicate %s "
			    "'%s' (first defined at line %d)", what, v[i].name,
			    v[i - 1].line);
		else
			conf_error_at(cp, v[i].file, v[i].line, "duplicate %s "
			    "'%s' (first defined at %s:%d)", what, v[i].name,
			    v[i - 1].file, v[i - 1].line);
	}
}

#define CONF_DUPS(cp, what, arr, n) do {				\
	struct conf_named *v_ = xcalloc((size_t)(n) + 1, sizeof(*v_));	\
	int i_;								\
	for (i_ = 0; i_ < (n); i_++) {					\
		v_[i_].name = (arr)[i_]->name;				\
		v_[i_].file = (arr)[i_]->file != NULL ?			\
		    (arr)[i_]->file : (cp)->file;				\
		v_[i_].line = (arr)[i_]->line;				\
		v_[i_].idx = i_;					\
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
	char		 host[256], err[256];
	int		 i, j, port;

	const char	*top = cp->file;

	/* the checks below speak of the file each section came from */
	for (i = 0; i < c->n_probes; i++) {
		cp->file = c->probes[i]->file;
		conf_check_probe(cp, c->probes[i], cp->probe_lines[i],
		    cp->pending[i], cp->n_pending[i]);
	}
	for (i = 0; i < c->n_routes; i++) {
		struct route_conf *r = c->routes[i];

		cp->file = r->file;
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

		cp->file = a->file;
		if (a->type == NULL || (strcmp(a->type, "webhook") != 0 &&
		    strcmp(a->type, "alertmanager") != 0))
			conf_error(cp, a->line, "alert '%s': type must be "
			    "webhook or alertmanager", a->name);
		else if (a->url == NULL || (strncmp(a->url, "http://", 7) != 0
		    && strncmp(a->url, "https://", 8) != 0))
			conf_error(cp, a->line, "alert '%s': url must be an "
			    "http:// or https:// URL", a->name);
		else if (strcmp(a->type, "webhook") == 0 && (a->token_file !=
		    NULL || a->ca != NULL || a->repeat_ms != 0))
			conf_error(cp, a->line, "alert '%s': token_file, ca and "
			    "repeat are for type = alertmanager", a->name);
		else if (a->token_file != NULL && auth_check_secret(
		    a->token_file, err, sizeof(err)) == -1)
			conf_error(cp, a->line, "alert '%s': token_file: %s",
			    a->name, err);
	}
	cp->file = top;
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

/*
 * Reads one file's text into the config being built.  The section state
 * is the file's own: an included file holds its own sections, and the
 * section its include line is in goes on after it.
 */
static void
conf_parse_text(struct conf_parse *cp, const char *file, const char *text)
{
	struct inifile	 in = cp->in;
	const char	*ofile = cp->file;
	char		 osec[sizeof(cp->cur_section)];
	enum conf_section sec = cp->sec;
	void		*obj = cp->obj;
	unsigned char	 seen[N_KEYS];
	int		 seen_line[N_KEYS], rc;

	memcpy(osec, cp->cur_section, sizeof(osec));
	memcpy(seen, cp->seen, sizeof(seen));
	memcpy(seen_line, cp->seen_line, sizeof(seen_line));

	cp->file = file;
	memset(&cp->in, 0, sizeof(cp->in));
	cp->in.text = text;
	cp->in.user = cp;
	cp->in.on_section = conf_on_section;
	cp->in.on_long_line = conf_on_long_line;
	cp->cur_section[0] = '\0';
	cp->sec = SEC_NONE;
	cp->obj = NULL;
	memset(cp->seen, 0, sizeof(cp->seen));
	rc = ini_parse_stream(inifile_reader, &cp->in, conf_handler, cp);
	if (rc > 0)
		conf_error(cp, rc, "syntax error (expected [section] or "
		    "key = value)");
	else if (rc < 0)
		conf_error(cp, 0, "cannot parse (out of memory)");

	cp->in = in;
	cp->file = ofile;
	memcpy(cp->cur_section, osec, sizeof(osec));
	cp->sec = sec;
	cp->obj = obj;
	memcpy(cp->seen, seen, sizeof(seen));
	memcpy(cp->seen_line, seen_line, sizeof(seen_line));
}

/*
 * include = GLOB: the files it matches, in sorted order, read where the
 * line is.  A relative pattern is relative to the including file's
 * directory.  A pattern without wildcards must match a file; a file that
 * is being read already is a loop.
 */
/* glob(3) errors: a directory that is not there matches nothing. */
static int	conf_glob_errno;
static char	conf_glob_path[256];

static int
conf_glob_err(const char *path, int e)
{
	if (e != ENOENT && e != ENOTDIR && conf_glob_errno == 0) {
		conf_glob_errno = e;
		strlcpy_v(conf_glob_path, path, sizeof(conf_glob_path));
	}
	return 0;
}

static void
conf_include(struct conf_parse *cp, const char *pattern, int line)
{
	glob_t	 g;
	char	*full, *dir, *text, rp[PATH_MAX], err[512];
	size_t	 i;
	int	 k, rc, loop;

	if (pattern[0] == '\0') {
		conf_error(cp, line, "'include' has no value");
		return;
	}
	if (cp->depth >= CONF_INCLUDE_DEPTH) {
		conf_error(cp, line, "include: nested deeper than %d files",
		    CONF_INCLUDE_DEPTH);
		return;
	}
	if (pattern[0] != '/' && strchr(cp->file, '/') != NULL) {
		char *copy = xstrdup(cp->file);

		dir = dirname(copy);
		xasprintf(&full, "%s/%s", dir, pattern);
		free(copy);
	} else
		full = xstrdup(pattern);
	memset(&g, 0, sizeof(g));
	conf_glob_errno = 0;
	rc = glob(full, 0, conf_glob_err, &g);
	if (conf_glob_errno != 0)
		conf_error(cp, line, "include %s: %s: %s", full,
		    conf_glob_path, strerror(conf_glob_errno));
	if (rc == GLOB_NOMATCH) {
		if (strpbrk(pattern, "*?[") == NULL)
			conf_error(cp, line, "include %s: no such file", full);
		goto done;
	}
	if (rc != 0) {
		if (conf_glob_errno == 0)
			conf_error(cp, line, "include %s: %s", full,
			    rc == GLOB_NOSPACE ? "out of memory" :
			    "cannot read the directory");
		goto done;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		const char *f = g.gl_pathv[i];

		if (realpath(f, rp) == NULL) {
			conf_error(cp, line, "include %s: %s", f,
			    strerror(errno));
			continue;
		}
		for (k = 0, loop = 0; k <= cp->depth && !loop; k++)
			loop = cp->stack[k] != NULL &&
			    strcmp(cp->stack[k], rp) == 0;
		if (loop) {
			conf_error(cp, line, "include loop: %s is already "
			    "being read", f);
			continue;
		}
		if (++cp->nfiles > CONF_FILES_MAX) {
			conf_error(cp, line, "include: more than %d files",
			    CONF_FILES_MAX);
			break;
		}
		if ((text = inifile_read(f, CONF_FILE_MAX, err,
		    sizeof(err))) == NULL) {
			conf_error(cp, line, "include: %s", err);
			continue;
		}
		cp->stack[++cp->depth] = xstrdup(rp);
		conf_parse_text(cp, f, text);
		free(cp->stack[cp->depth]);
		cp->stack[cp->depth--] = NULL;
		free(text);
	}
done:
	globfree(&g);
	free(full);
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct conf_parse	 cp;
	struct config		*c;
	char			*text;
	int			 i;

	if (path != NULL) {
		if ((text = inifile_read(path, CONF_FILE_MAX, err,
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
	cp.sec = SEC_NONE;
	buf_init(&cp.errs);
	if (path != NULL) {
		char rp[PATH_MAX];

		cp.stack[0] = xstrdup(realpath(path, rp) != NULL ? rp : path);
	}
	cp.nfiles = 1;
	conf_parse_text(&cp, cp.file, text);
	free(cp.stack[0]);
	CONF_DUPS(&cp, "probe", c->probes, c->n_probes);
	CONF_DUPS(&cp, "route", c->routes, c->n_routes);
	CONF_DUPS(&cp, "pool", c->pools, c->n_pools);
	CONF_DUPS(&cp, "alert", c->alerts, c->n_alerts);
	if (cp.nerrs == 0)
		conf_finish(&cp);
	for (i = 0; i < c->n_probes; i++) {
		int j;

		free(cp.probe_lines[i]);
		for (j = 0; j < cp.n_pending[i]; j++)
			free(cp.pending[i][j].value);
		free(cp.pending[i]);
	}
	free(cp.probe_lines);
	free(cp.pending);
	free(cp.n_pending);
	for (i = 0; i < cp.n_defaults; i++) {
		free(cp.defaults[i].value);
		free(cp.defaults[i].file);
	}
	free(cp.defaults);
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
	const struct probe_key	*k;

	if (p->opts != NULL) {
		for (k = p->type->keys; k != NULL && k->name != NULL; k++)
			conf_value_free(k->kind, (char *)p->opts + k->off);
		if (p->type->free_opts != NULL)
			p->type->free_opts(p->opts);
		free(p->opts);
	}
	free(p->name);
	free(p->target);
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
		free(c->pools[i]->file);
		free(c->pools[i]);
	}
	free(c->pools);
	for (i = 0; i < c->n_alerts; i++) {
		free(c->alerts[i]->name);
		free(c->alerts[i]->type);
		free(c->alerts[i]->url);
		free(c->alerts[i]->token_file);
		free(c->alerts[i]->ca);
		free(c->alerts[i]->file);
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

/* The common keys, then every key of the type's table. */
int
config_probe_equal(const struct probe_conf *a, const struct probe_conf *b)
{
	const struct probe_key	*k;

	if (!str_eq(a->name, b->name) || a->type != b->type ||
	    !str_eq(a->target, b->target) || a->interval_ms != b->interval_ms ||
	    a->timeout_ms != b->timeout_ms ||
	    a->max_latency_ms != b->max_latency_ms || a->fall != b->fall ||
	    a->rise != b->rise)
		return 0;
	if (a->opts == NULL || b->opts == NULL)
		return a->opts == b->opts;
	for (k = a->type->keys; k != NULL && k->name != NULL; k++) {
		if (!conf_value_equal(k->kind, (char *)a->opts + k->off,
		    (char *)b->opts + k->off))
			return 0;
	}
	if (a->type->same_loaded != NULL &&
	    !a->type->same_loaded(a->opts, b->opts))
		return 0;
	return 1;
}

const void *
config_probe_opt(const struct probe_conf *p, const char *key)
{
	const struct probe_key	*k;

	if (p->type == NULL || p->opts == NULL ||
	    (k = conf_type_key(p->type, key)) == NULL)
		return NULL;
	return (const char *)p->opts + k->off;
}

/* One value as JSON, under its key (a duration as KEY_ms, in ms). */
static void
conf_value_json(struct buf *b, const char *name, enum conf_kind kind,
    const void *p)
{
	/* a secret file by its path: the file is never read here */
	if (config_kind_is_text(kind)) {
		const char *v = *(char *const *)p;

		buf_printf(b, "\"%s\":", name);
		if (v == NULL)
			buf_adds(b, "null");
		else
			buf_add_json_str(b, v);
		return;
	}
	switch (kind) {
	case CONF_DUR:
	case CONF_DUR_POS:
		buf_printf(b, "\"%s_ms\":%lld", name,
		    (long long)*(const int64_t *)p);
		return;
	case CONF_ROWS:
		buf_printf(b, "\"%s\":%lld", name,
		    (long long)*(const int64_t *)p);
		return;
	case CONF_INT:
	case CONF_INT_POS:
		buf_printf(b, "\"%s\":%d", name, *(const int *)p);
		return;
	case CONF_BOOL:
		buf_printf(b, "\"%s\":%s", name, *(const int *)p ? "true" :
		    "false");
		return;
	case CONF_RANGE: {
		const struct parse_range *r = p;

		if (r->lo == r->hi)
			buf_printf(b, "\"%s\":\"%ld\"", name, r->lo);
		else
			buf_printf(b, "\"%s\":\"%ld-%ld\"", name, r->lo,
			    r->hi);
		return;
	}
	case CONF_ARGV:
	case CONF_LIST: {
		char *const	*v = *(char *const *const *)p;
		size_t		 i;

		buf_printf(b, "\"%s\":[", name);
		for (i = 0; v != NULL && v[i] != NULL; i++) {
			if (i > 0)
				buf_addc(b, ',');
			buf_add_json_str(b, v[i]);
		}
		buf_addc(b, ']');
		return;
	}
	case CONF_PCT:
		buf_printf(b, "\"%s\":%g", name, *(const double *)p);
		return;
	case CONF_TYPE: {
		const struct probe_type *t = *(const struct probe_type *const *)p;

		buf_printf(b, "\"%s\":", name);
		buf_add_json_str(b, t != NULL ? t->name : "");
		return;
	}
	default:
		break;
	}
	fatalx("%s: kind %d is not a probe key's", __func__, (int)kind);
}

void
config_probe_json(struct buf *b, const struct probe_conf *p)
{
	const struct probe_key	*k;
	size_t			 i;

	buf_adds(b, "{\"name\":");
	buf_add_json_str(b, p->name);
	for (i = 0; i < N_KEYS; i++) {
		if (conf_keys[i].sec != SEC_PROBE)
			continue;
		buf_addc(b, ',');
		conf_value_json(b, conf_keys[i].name, conf_keys[i].kind,
		    (const char *)p + conf_keys[i].off);
	}
	buf_adds(b, ",\"options\":{");
	for (k = p->type->keys; k != NULL && k->name != NULL; k++) {
		if (k != p->type->keys)
			buf_addc(b, ',');
		conf_value_json(b, k->name, k->kind,
		    (const char *)p->opts + k->off);
	}
	buf_adds(b, "}}");
}
