/*
 * conf.c - vantage.conf: INI parsed by libinih into struct conf, each
 * section's keys from a table (name, kind, field, limits).
 *
 * Debian's inih does not pass line numbers to the handler, so the text is
 * fed through shared/inifile.c's reader (as the agent's config.c is);
 * every error names file:line.  Tokens are secrets: a file holding one must
 * not be readable by anybody else (relayd's check_file_secrecy()).
 *
 * An error inside an [agent] section marks only that agent (->error) so
 * the console can run the others; any other error refuses the file.  Each
 * agent remembers the lines of its url, token and ca, so that fetch.c can
 * name the setting to change when the agent cannot be reached.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ini.h>

#include "inifile.h"
#include "suggest.h"
#include "vantage.h"

#define CONF_MAX_ERRS	20
#define CONF_NAME_MAX	64
#define CONF_TOKEN_MAX	4096

/*
 * What a key holds.  One table per section names every key with its
 * kind, where it goes and its limits; conf_key_set() parses any of them,
 * and the same code serves the command line's --ca and --token-file.
 */
enum conf_kind {
	CK_DUR,		/* int64_t ms within [min, max] */
	CK_SIZE,	/* uint64_t bytes within [min, max] */
	CK_AUTO,	/* int: auto (-1), yes (1) or no (0) */
	CK_URL,		/* the agent's url (and host, port) */
	CK_TOKEN,	/* char *, the token itself */
	CK_TOKEN_FILE,	/* char *, the token read from a secret file */
	CK_FILE,	/* char *, a readable file ("~/" is $HOME) */
	CK_SECRET_FILE,	/* char *, a file nobody else may read */
	CK_SSH		/* char *, user@host[:port] */
};

#define CONF_NOLINE	((size_t)-1)

struct conf_key {
	const char	*name;
	enum conf_kind	 kind;
	size_t		 off;		/* into struct conf or conf_agent */
	int64_t		 min;		/* durations and sizes */
	int64_t		 max;
	size_t		 line_off;	/* conf_agent's int for the line */
};

#define AK(n, k, f, l)	{ n, k, offsetof(struct conf_agent, f), 0, 0, l }
#define AL(f)		offsetof(struct conf_agent, f)

static const struct conf_key agent_keys[] = {
	AK("url", CK_URL, url, AL(url_line)),
	AK("token", CK_TOKEN, token, AL(token_line)),
	AK("token_file", CK_TOKEN_FILE, token, AL(token_line)),
	AK("ca", CK_FILE, ca, AL(ca_line)),
	AK("cert", CK_FILE, cert, CONF_NOLINE),
	AK("key", CK_SECRET_FILE, key, CONF_NOLINE),
	AK("ssh", CK_SSH, ssh, CONF_NOLINE),
};
#define N_AGENT_KEYS	(sizeof(agent_keys) / sizeof(agent_keys[0]))

#define CK(n, k, f, lo, hi) \
	{ n, k, offsetof(struct conf, f), lo, hi, CONF_NOLINE }

static const struct conf_key console_keys[] = {
	CK("refresh", CK_DUR, refresh_ms, 200, 3600000),
	CK("connect_timeout", CK_DUR, connect_timeout_ms, 100, 60000),
	CK("timeout", CK_DUR, timeout_ms, 200, 300000),
	CK("stale_after", CK_DUR, stale_ms, 1000, 86400000),
	CK("max_skew", CK_DUR, max_skew_ms, 100, 86400000),
	CK("max_backoff", CK_DUR, max_backoff_ms, 1000, 3600000),
	CK("max_body", CK_SIZE, max_body, 4096, 1024LL * 1024 * 1024),
	CK("action_timeout", CK_DUR, action_timeout_ms, 500, 300000),
	CK("settle", CK_DUR, settle_ms, 0, 3600000),
	CK("color", CK_AUTO, color, 0, 0),
	CK("unicode", CK_AUTO, unicode, 0, 0),
};
#define N_CONSOLE_KEYS	(sizeof(console_keys) / sizeof(console_keys[0]))
#define CONSOLE_KEY_CONNECT	1	/* console_keys[1] */

struct conf_section {
	const char		*name;
	const struct conf_key	*keys;
	size_t			 n;
};

static const struct conf_section conf_sections[] = {
	{ "agent", agent_keys, N_AGENT_KEYS },
	{ "console", console_keys, N_CONSOLE_KEYS },
};

enum conf_sec {
	CSEC_AGENT,		/* conf_sections[0] */
	CSEC_CONSOLE,		/* conf_sections[1] */
	CSEC_NONE,
	CSEC_BAD		/* unknown section: its keys are not reported */
};

struct conf_parse {
	struct conf		*conf;
	const char		*file;
	struct inifile		 in;		/* text, line numbers */
	enum conf_sec		 sec;
	struct conf_agent	*agent;		/* of the current section */
	int			 first_agent;	/* index of this file's first */
	int			 token_line;	/* first inline token */
	int			 agent_seen[N_AGENT_KEYS];	/* lines */
	int			 console_seen[N_CONSOLE_KEYS];
	struct buf		 errs;
	int			 nerrs;
	/* errors of one agent entry mark that agent, the rest runs */
	struct conf_agent	*blame;		/* the entry being read */
	int			 agent_nerrs;
};

static void conf_error(struct conf_parse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_parse *cp, int line, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	cp->nerrs++;
	if (cp->nerrs > CONF_MAX_ERRS && cp->blame == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cp->blame != NULL) {
		cp->agent_nerrs++;
		if (cp->blame->error == NULL && line > 0)
			xasprintf(&cp->blame->error, "%s:%d: %s", cp->file,
			    line, msg);
		else if (cp->blame->error == NULL)
			xasprintf(&cp->blame->error, "%s: %s", cp->file, msg);
	}
	if (cp->nerrs > CONF_MAX_ERRS)
		return;
	if (cp->errs.len > 0)
		buf_addc(&cp->errs, '\n');
	if (line > 0)
		buf_printf(&cp->errs, "%s:%d: %s", cp->file, line, msg);
	else
		buf_printf(&cp->errs, "%s: %s", cp->file, msg);
}

struct conf *
conf_new(void)
{
	struct conf	*c;

	c = xcalloc(1, sizeof(*c));
	c->refresh_ms = 2000;
	c->connect_timeout_ms = 2000;
	c->timeout_ms = 5000;
	c->stale_ms = 0;		/* 3 x refresh, see conf_finish() */
	c->max_skew_ms = 5000;
	c->max_backoff_ms = 60000;
	c->max_body = 4 * 1024 * 1024;
	c->action_timeout_ms = 3000;
	c->settle_ms = 10000;
	c->color = -1;
	c->unicode = -1;
	return c;
}

static int
conf_name_ok(const char *s)
{
	size_t	n = 0;

	for (; s[n] != '\0'; n++) {
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' &&
		    s[n] != '_' && s[n] != '.')
			return 0;
	}
	return n > 0 && n <= CONF_NAME_MAX;
}

struct conf_agent *
conf_find_agent(const struct conf *c, const char *name)
{
	int	i;

	for (i = 0; i < c->n_agents; i++) {
		if (strcmp(c->agents[i]->name, name) == 0)
			return c->agents[i];
	}
	return NULL;
}

static struct conf_agent *
conf_agent_add(struct conf *c, const char *file, const char *name, int line)
{
	struct conf_agent	*a;

	a = xcalloc(1, sizeof(*a));
	a->name = xstrdup(name);
	a->line = line;
	a->file = xstrdup(file);
	c->agents = xreallocarray(c->agents, c->n_agents + 1,
	    sizeof(*c->agents));
	c->agents[c->n_agents++] = a;
	return a;
}

static void
conf_agent_free(struct conf_agent *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->url);
	free(a->host);
	if (a->token != NULL) {
		explicit_bzero(a->token, strlen(a->token));
		free(a->token);
	}
	free(a->ca);
	free(a->cert);
	free(a->key);
	free(a->ssh);
	free(a->file);
	free(a->token_file);
	free(a->error);
	free(a);
}

void
conf_free(struct conf *c)
{
	int	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_agents; i++)
		conf_agent_free(c->agents[i]);
	free(c->agents);
	free(c->file);
	free(c);
}

/*
 * Checks url and fills host and port (for SSH tunnels).  libcurl's URL
 * parser decides, so the console accepts exactly what it can fetch.
 */
static int
conf_set_url(struct conf_agent *a, const char *url, char *err, size_t errlen)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL, *port = NULL;
	char		*query = NULL, *frag = NULL;
	size_t		 n;
	int		 rc = -1;

	if ((u = curl_url()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "'%s' is not a URL (expected e.g. "
		    "https://web-01.example.com:7787)", url);
		goto done;
	}
	if (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0) {
		snprintf(err, errlen, "'%s': only http:// and https:// URLs "
		    "are supported", url);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
		snprintf(err, errlen, "'%s': a base URL takes no query or "
		    "fragment", url);
		goto done;
	}
	if (strchr(url, '@') != NULL) {
		snprintf(err, errlen, "'%s': put credentials in token or "
		    "token_file, not in the URL", url);
		goto done;
	}
	free(a->url);
	free(a->host);
	a->url = xstrdup(url);
	n = strlen(a->url);
	while (n > 0 && a->url[n - 1] == '/')
		a->url[--n] = '\0';
	/* brackets of an IPv6 literal are not part of the host */
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		a->host = xstrdup(host + 1);
	} else
		a->host = xstrdup(host);
	a->port = atoi(port);
	rc = 0;
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return rc;
}

/* "~/x" is relative to $HOME, as in the example config. */
static char *
conf_path(const char *v)
{
	const char	*home;
	struct passwd	*pw;
	char		*p;

	if (strncmp(v, "~/", 2) != 0)
		return xstrdup(v);
	if ((home = getenv("HOME")) == NULL || home[0] == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			return xstrdup(v);
		home = pw->pw_dir;
	}
	xasprintf(&p, "%s/%s", home, v + 2);
	return p;
}

/*
 * A secret must be a regular file of ours (or root's) that nobody else
 * can read.  Returns 0, or -1 with the fix in err.
 */
static int
conf_secrecy(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat	sb;

	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_uid != getuid() && sb.st_uid != 0) {
		snprintf(err, errlen, "%s: %s is owned by uid %u, not by you",
		    path, what, (unsigned)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s: %s is readable by others (mode "
		    "%03o); run chmod 600 %s", path, what,
		    (unsigned)(sb.st_mode & 0777), path);
		return -1;
	}
	return 0;
}

/* The first line of a token file, blanks trimmed. */
static char *
conf_read_token(const char *path, char *err, size_t errlen)
{
	FILE	*f;
	char	 line[CONF_TOKEN_MAX + 2];
	size_t	 n;
	char	*s;

	if (conf_secrecy(path, "token file", err, errlen) == -1)
		return NULL;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL) {
		snprintf(err, errlen, "%s: empty token file", path);
		fclose(f);
		return NULL;
	}
	fclose(f);
	n = strlen(line);
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	s = line;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || strlen(s) > CONF_TOKEN_MAX) {
		snprintf(err, errlen, "%s: no token on the first line", path);
		explicit_bzero(line, sizeof(line));
		return NULL;
	}
	for (n = 0; s[n] != '\0'; n++) {
		if (!isgraph((unsigned char)s[n])) {
			snprintf(err, errlen, "%s: the token holds a blank "
			    "or control character", path);
			explicit_bzero(line, sizeof(line));
			return NULL;
		}
	}
	s = xstrdup(s);
	explicit_bzero(line, sizeof(line));
	return s;
}

static int
conf_valid_ssh(const char *v)
{
	size_t	i;

	if (v[0] == '\0' || v[0] == '-')
		return 0;
	for (i = 0; v[i] != '\0'; i++) {
		if (!isgraph((unsigned char)v[i]))
			return 0;
	}
	return 1;
}

static void
conf_begin_section(struct conf_parse *cp, const char *hdr)
{
	char		 kind[32], name[CONF_NAME_MAX * 2];
	struct suggest	 sg;
	const char	*p, *q;
	size_t		 n;
	int		 i;

	cp->agent = NULL;
	memset(cp->agent_seen, 0, sizeof(cp->agent_seen));
	n = strcspn(hdr, " \t\"");
	if (n == 0 || n >= sizeof(kind)) {
		conf_error(cp, cp->in.section_line, "bad section header [%s]",
		    hdr);
		cp->sec = CSEC_BAD;
		return;
	}
	memcpy(kind, hdr, n);
	kind[n] = '\0';
	p = hdr + n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strcmp(kind, "console") == 0) {
		if (*p != '\0') {
			conf_error(cp, cp->in.section_line, "[console] takes no "
			    "name");
			cp->sec = CSEC_BAD;
			return;
		}
		cp->sec = CSEC_CONSOLE;
		return;
	}
	if (strcmp(kind, "agent") != 0) {
		suggest_init(&sg, kind);
		for (i = 0; i < (int)(sizeof(conf_sections) /
		    sizeof(conf_sections[0])); i++)
			suggest_try(&sg, conf_sections[i].name);
		if (suggest_best(&sg) != NULL)
			conf_error(cp, cp->in.section_line, "unknown section "
			    "[%s]: did you mean [%s]?", hdr, suggest_best(&sg));
		else
			conf_error(cp, cp->in.section_line, "unknown section "
			    "[%s] (expected [agent \"NAME\"] or [console])",
			    hdr);
		cp->sec = CSEC_BAD;
		return;
	}
	cp->sec = CSEC_BAD;
	if (*p != '"' || (q = strchr(p + 1, '"')) == NULL || q[1] != '\0') {
		conf_error(cp, cp->in.section_line, "[agent] needs a quoted "
		    "name: [agent \"web-01\"]");
		return;
	}
	n = (size_t)(q - p - 1);
	if (n >= sizeof(name)) {
		conf_error(cp, cp->in.section_line, "agent name is too long");
		return;
	}
	memcpy(name, p + 1, n);
	name[n] = '\0';
	if (!conf_name_ok(name)) {
		conf_error(cp, cp->in.section_line, "bad agent name '%s' "
		    "(letters, digits, '.', '-', '_'; at most %d)", name,
		    CONF_NAME_MAX);
		return;
	}
	for (i = 0; i < cp->conf->n_agents; i++) {
		if (strcmp(cp->conf->agents[i]->name, name) == 0) {
			conf_error(cp, cp->in.section_line, "duplicate agent "
			    "'%s' (first defined at line %d)", name,
			    cp->conf->agents[i]->line);
			return;
		}
	}
	cp->sec = CSEC_AGENT;
	cp->agent = conf_agent_add(cp->conf, cp->file, name,
	    cp->in.section_line);
}

static int
conf_auto(const char *v, int *out)
{
	int	b;

	if (strcasecmp(v, "auto") == 0) {
		*out = -1;
		return 0;
	}
	if (parse_bool(v, &b, NULL, 0) == -1)
		return -1;
	*out = b;
	return 0;
}

/*
 * Parses value as key k into base (a struct conf or conf_agent); -1 with
 * the whole message in err.  Nothing of base changes on an error.
 */
static int
conf_value(const struct conf_key *k, const char *value, char *base,
    char *err, size_t errlen)
{
	struct conf_agent	*a = (struct conf_agent *)base;
	char			 e[512], lo[32], hi[32];
	char			**sp = (char **)(base + k->off);
	char			*path, *tok;
	int64_t			 ms;
	uint64_t		 sz;
	int			 v;

	switch (k->kind) {
	case CK_DUR:
		if (parse_duration_ms(value, &ms, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s: %s", k->name, e);
			return -1;
		}
		if (ms < k->min || ms > k->max) {
			snprintf(err, errlen, "%s must be between %s and %s",
			    k->name, parse_fmt_duration(k->min, lo, sizeof(lo)),
			    parse_fmt_duration(k->max, hi, sizeof(hi)));
			return -1;
		}
		*(int64_t *)(base + k->off) = ms;
		return 0;
	case CK_SIZE:
		if (parse_size(value, &sz, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s: %s", k->name, e);
			return -1;
		}
		if (sz < (uint64_t)k->min || sz > (uint64_t)k->max) {
			snprintf(err, errlen, "%s must be between 4k and 1G",
			    k->name);
			return -1;
		}
		*(uint64_t *)(base + k->off) = sz;
		return 0;
	case CK_AUTO:
		if (conf_auto(value, &v) == -1) {
			snprintf(err, errlen, "%s: expected auto, yes or no",
			    k->name);
			return -1;
		}
		*(int *)(base + k->off) = v;
		return 0;
	case CK_URL:
		return conf_set_url(a, value, err, errlen);
	case CK_TOKEN:
	case CK_TOKEN_FILE:
		if (*sp != NULL) {
			snprintf(err, errlen, "use token or token_file, not "
			    "both");
			return -1;
		}
		if (k->kind == CK_TOKEN) {
			if (strlen(value) > CONF_TOKEN_MAX) {
				snprintf(err, errlen, "token is too long");
				return -1;
			}
			*sp = xstrdup(value);
			return 0;
		}
		path = conf_path(value);
		if ((tok = conf_read_token(path, e, sizeof(e))) == NULL) {
			snprintf(err, errlen, "%s: %s", k->name, e);
			free(path);
			return -1;
		}
		*sp = tok;
		free(a->token_file);
		a->token_file = path;
		return 0;
	case CK_FILE:
		path = conf_path(value);
		if (access(path, R_OK) == -1) {
			snprintf(err, errlen, "%s: %s: %s", k->name, path,
			    strerror(errno));
			free(path);
			return -1;
		}
		free(*sp);
		*sp = path;
		return 0;
	case CK_SECRET_FILE:
		path = conf_path(value);
		if (conf_secrecy(path, "private key", e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s: %s", k->name, e);
			free(path);
			return -1;
		}
		free(*sp);
		*sp = path;
		return 0;
	case CK_SSH:
		if (!conf_valid_ssh(value)) {
			snprintf(err, errlen, "%s: '%s' is not "
			    "user@host[:port]", k->name, value);
			return -1;
		}
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	return -1;
}

/* "url, token, ..." of a section, for messages. */
static void
conf_key_names(const struct conf_section *sec, char *buf, size_t len)
{
	size_t	i;
	size_t	n = 0;

	buf[0] = '\0';
	for (i = 0; i < sec->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i > 0 ? ", " :
		    "", sec->keys[i].name);
}

/* One key = value line of the current section, from its table. */
static void
conf_key_set(struct conf_parse *cp, const char *name, const char *value)
{
	const struct conf_section	*sec = &conf_sections[cp->sec];
	const struct conf_key		*k = NULL;
	struct suggest			 sg;
	char				 err[768], names[256], where[96];
	char				*base;
	int				*seen;
	size_t				 i;
	int				 line = cp->in.lineno;

	if (cp->sec == CSEC_AGENT) {
		cp->blame = cp->agent;
		base = (char *)cp->agent;
		seen = cp->agent_seen;
		snprintf(where, sizeof(where), "[agent \"%s\"]",
		    cp->agent->name);
	} else {
		base = (char *)cp->conf;
		seen = cp->console_seen;
		snprintf(where, sizeof(where), "[console]");
	}
	for (i = 0; i < sec->n; i++) {
		if (strcmp(sec->keys[i].name, name) == 0) {
			k = &sec->keys[i];
			break;
		}
	}
	if (k == NULL) {
		suggest_init(&sg, name);
		for (i = 0; i < sec->n; i++)
			suggest_try(&sg, sec->keys[i].name);
		if (suggest_best(&sg) != NULL) {
			conf_error(cp, line, "unknown key '%s' in %s: did you "
			    "mean %s?", name, where, suggest_best(&sg));
			return;
		}
		conf_key_names(sec, names, sizeof(names));
		conf_error(cp, line, "unknown key '%s' in %s (%s)", name,
		    where, names);
		return;
	}
	if (seen[i] != 0) {
		conf_error(cp, line, "duplicate key '%s' (first set at line "
		    "%d)", name, seen[i]);
		return;
	}
	seen[i] = line;
	if (value[0] == '\0') {
		conf_error(cp, line, "'%s' has no value", name);
		return;
	}
	if (conf_value(k, value, base, err, sizeof(err)) == -1) {
		conf_error(cp, line, "%s", err);
		return;
	}
	if (k->line_off != CONF_NOLINE)
		*(int *)(base + k->line_off) = line;
	if (k->kind == CK_TOKEN && cp->token_line == 0)
		cp->token_line = line;
}

static void
conf_key(struct conf_parse *cp, const char *name, const char *value)
{
	conf_key_set(cp, name, value);
	cp->blame = NULL;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse	*cp = user;

	(void)section;
	switch (cp->sec) {
	case CSEC_NONE:
		conf_error(cp, cp->in.lineno, "'%s' is outside any section",
		    name);
		break;
	case CSEC_BAD:
		break;
	case CSEC_AGENT:
	case CSEC_CONSOLE:
		conf_key(cp, name, value);
		break;
	}
	return 1;
}

static void
conf_on_section(void *user, const char *header)
{
	conf_begin_section(user, header);
}

static void
conf_on_long_line(void *user, int line, int max)
{
	conf_error(user, line, "line is too long (at most %d characters)",
	    max);
}

static void
conf_finish(struct conf_parse *cp)
{
	struct conf	*c = cp->conf;
	char		 err[512];
	int		 i;

	for (i = cp->first_agent; i < c->n_agents; i++) {
		struct conf_agent *a = c->agents[i];

		cp->blame = a;
		if (a->url == NULL && a->error == NULL)
			conf_error(cp, a->line, "agent '%s' has no url",
			    a->name);
		if ((a->cert == NULL) != (a->key == NULL))
			conf_error(cp, a->line, "agent '%s': cert and key go "
			    "together", a->name);
		cp->blame = NULL;
		/* a marked agent is shown, never asked: give it a url */
		if (a->url == NULL) {
			a->url = xstrdup("");
			a->host = xstrdup("");
		}
	}
	if (c->connect_timeout_ms > c->timeout_ms)
		conf_error(cp, cp->console_seen[CONSOLE_KEY_CONNECT],
		    "connect_timeout is longer than timeout");
	if (cp->token_line != 0 &&
	    conf_secrecy(cp->file, "a config holding a token", err,
	    sizeof(err)) == -1)
		conf_error(cp, cp->token_line, "%s", err);
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct conf_parse	 cp;
	char			*text;
	int			 rc, i;

	if ((text = inifile_read(path, 1024 * 1024, err, errlen)) == NULL)
		return -1;
	memset(&cp, 0, sizeof(cp));
	cp.conf = c;
	cp.file = path;
	cp.in.text = text;
	cp.in.user = &cp;
	cp.in.on_section = conf_on_section;
	cp.in.on_long_line = conf_on_long_line;
	cp.sec = CSEC_NONE;
	cp.first_agent = c->n_agents;
	buf_init(&cp.errs);

	rc = ini_parse_stream(inifile_reader, &cp.in, conf_handler, &cp);
	if (rc > 0)
		conf_error(&cp, rc, "syntax error (expected [section] or "
		    "key = value)");
	else if (rc < 0)
		conf_error(&cp, 0, "cannot parse (out of memory)");
	conf_finish(&cp);
	explicit_bzero(text, strlen(text));
	free(text);
	if (cp.nerrs > 0) {
		if (cp.nerrs > CONF_MAX_ERRS)
			buf_printf(&cp.errs, "\n%s: %d more errors", path,
			    cp.nerrs - CONF_MAX_ERRS);
		snprintf(err, errlen, "%s", cp.errs.data);
		buf_free(&cp.errs);
		if (cp.nerrs == cp.agent_nerrs) {
			/* only agent entries are wrong: they are marked */
			free(c->file);
			c->file = xstrdup(path);
			return 1;
		}
		/* drop this file's agents: nothing half-loaded survives */
		for (i = cp.first_agent; i < c->n_agents; i++)
			conf_agent_free(c->agents[i]);
		c->n_agents = cp.first_agent;
		return -1;
	}
	buf_free(&cp.errs);
	free(c->file);
	c->file = xstrdup(path);
	return 0;
}

int
conf_add_url(struct conf *c, const char *arg, char *err, size_t errlen)
{
	struct conf_agent	*a;
	const char		*eq, *url = arg, *tok;
	char			 name[CONF_NAME_MAX + 1];
	char			 base[CONF_NAME_MAX + 1];
	char			 uerr[256];
	size_t			 n;
	int			 k;

	eq = strchr(arg, '=');
	if (eq != NULL && (strstr(arg, "://") == NULL ||
	    eq < strstr(arg, "://"))) {
		n = (size_t)(eq - arg);
		if (n == 0 || n > CONF_NAME_MAX) {
			snprintf(err, errlen, "--agent %s: bad name", arg);
			return -1;
		}
		memcpy(name, arg, n);
		name[n] = '\0';
		if (!conf_name_ok(name)) {
			snprintf(err, errlen, "--agent %s: bad name '%s' "
			    "(letters, digits, '.', '-', '_')", arg, name);
			return -1;
		}
		url = eq + 1;
	} else
		name[0] = '\0';
	a = xcalloc(1, sizeof(*a));
	if (conf_set_url(a, url, uerr, sizeof(uerr)) == -1) {
		snprintf(err, errlen, "--agent: %s", uerr);
		conf_agent_free(a);
		return -1;
	}
	if (name[0] == '\0') {
		/* host:port names the agent; a second one gets a suffix */
		if (strchr(a->host, ':') != NULL)
			snprintf(name, sizeof(name), "[%s]:%d", a->host,
			    a->port);
		else
			snprintf(name, sizeof(name), "%s:%d", a->host,
			    a->port);
		strlcpy_v(base, name, sizeof(base));
		for (k = 2; conf_find_agent(c, name) != NULL && k < 1000;
		    k++)
			snprintf(name, sizeof(name), "%.50s#%d", base, k);
	}
	if (conf_find_agent(c, name) != NULL) {
		snprintf(err, errlen, "--agent %s: agent '%s' is defined "
		    "twice", arg, name);
		conf_agent_free(a);
		return -1;
	}
	a->name = xstrdup(name);
	if ((tok = getenv("VANTAGE_TOKEN")) != NULL && tok[0] != '\0') {
		a->token = xstrdup(tok);
		a->token_env = 1;
	}
	c->agents = xreallocarray(c->agents, c->n_agents + 1,
	    sizeof(*c->agents));
	c->agents[c->n_agents++] = a;
	return 0;
}

int
conf_agent_option(struct conf_agent *a, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct conf_key	*k = NULL;
	char			 e[768];
	size_t			 i;

	for (i = 0; i < N_AGENT_KEYS; i++) {
		if (strcmp(agent_keys[i].name, key) == 0)
			k = &agent_keys[i];
	}
	if (k == NULL || (k->kind != CK_FILE && k->kind != CK_TOKEN_FILE))
		fatalx("%s: %s", __func__, key);
	if ((k->kind == CK_FILE && *(char **)((char *)a + k->off) != NULL) ||
	    (k->kind == CK_TOKEN_FILE && a->token_file != NULL)) {
		snprintf(err, errlen, "--agent %s: --%s is given twice",
		    a->name, k->kind == CK_FILE ? key : "token-file");
		return -1;
	}
	if (k->kind == CK_TOKEN_FILE && a->token_env) {
		/* the file named for this agent beats $VANTAGE_TOKEN */
		explicit_bzero(a->token, strlen(a->token));
		free(a->token);
		a->token = NULL;
		a->token_env = 0;
	}
	if (value[0] == '\0') {
		snprintf(err, errlen, "--agent %s: --%s needs a file", a->name,
		    k->kind == CK_FILE ? key : "token-file");
		return -1;
	}
	if (conf_value(k, value, (char *)a, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "--agent %s: %s", a->name, e);
		return -1;
	}
	return 0;
}

const char *
conf_agent_origin(const struct conf_agent *a, const char *key, char *buf,
    size_t len)
{
	int	line = 0;

	if (strcmp(key, "url") == 0)
		line = a->url_line;
	else if (strcmp(key, "token") == 0)
		line = a->token_line;
	else if (strcmp(key, "ca") == 0)
		line = a->ca_line;
	if (a->file != NULL && line > 0)
		snprintf(buf, len, "%s:%d", a->file, line);
	else if (a->file != NULL)
		snprintf(buf, len, "[agent \"%s\"] at %s:%d", a->name,
		    a->file, a->line);
	else if (strcmp(key, "ca") == 0)
		snprintf(buf, len, "--ca");
	else if (strcmp(key, "token") == 0)
		snprintf(buf, len, "%s", a->token_env ? "$VANTAGE_TOKEN" :
		    "--token-file");
	else
		snprintf(buf, len, "--agent");
	return buf;
}

char *
conf_default_path(void)
{
	const char	*home, *xdg;
	char		*p;

	if ((xdg = getenv("XDG_CONFIG_HOME")) != NULL && xdg[0] == '/') {
		xasprintf(&p, "%s/vantage/vantage.conf", xdg);
		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	if ((home = getenv("HOME")) != NULL && home[0] != '\0') {
		xasprintf(&p, "%s/.config/vantage/vantage.conf", home);
		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	if (access(VANTAGE_SYSCONF, F_OK) == 0)
		return xstrdup(VANTAGE_SYSCONF);
	return NULL;
}
