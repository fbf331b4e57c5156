/*
 * cli.c - the subcommands for scripts: status, probes, routes, audit,
 * drain, undrain and agent add.
 *
 * Each asks every agent at once (the same fetch engine as the TUI), waits
 * until all have answered or failed, and prints a table or, with --json,
 * the stable document vantage(1) describes, or with --csv one RFC 4180
 * table with a header row.  Every refusal or failure
 * says why and exits 1 (relayctl exits non-zero on CTL_FAIL); text from
 * agents has its control characters (C0, C1, bidi) and bad UTF-8 escaped
 * before it reaches a terminal, in tables, lines and JSON alike.  An odd
 * row (model.c) is printed where it belongs, marked, with a warning on
 * stderr, and makes a read exit 1: what was asked is not all there.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "text.h"
#include "vantage.h"

#define CLI_COLS	16

/*
 * The rows of a table as the agents sent them: escaped when printed to a
 * terminal, exact in a CSV written to a file or pipe.
 */
struct cli_table {
	char	**cells;	/* rows * CLI_COLS */
	int	  rows;
	int	  cols;
	int	  width[CLI_COLS];	/* of the escaped cells */
	int	  csv;
};

const char *
cli_safe(const char *s, char *buf, size_t len)
{
	if (len == 0)
		return "";
	return text_escape(s, buf, len);
}

static void
cli_table_row(struct cli_table *t, ...)
{
	va_list		 ap;
	const char	*s;
	char		 safe[1024];
	int		 i;

	t->cells = xreallocarray(t->cells, (size_t)(t->rows + 1) * CLI_COLS,
	    sizeof(*t->cells));
	va_start(ap, t);
	for (i = 0; i < CLI_COLS; i++) {
		s = i < t->cols ? va_arg(ap, const char *) : NULL;
		t->cells[t->rows * CLI_COLS + i] = s != NULL ? xstrdup(s) :
		    NULL;
		if (s != NULL && (int)strlen(cli_safe(s, safe, sizeof(safe))) >
		    t->width[i])
			t->width[i] = (int)strlen(safe);
	}
	va_end(ap);
	t->rows++;
}

/* An odd row of a list: agent, what could be read, the marker last. */
static void
cli_odd_row(struct cli_table *t, const char *agent, const struct model_odd *d)
{
	char	mark[1100], safe[2048];
	int	i;

	cli_table_row(t, agent, d->name != NULL ? d->name : "?", "", "", "",
	    "", "", "", "", "", "", "", "", "", "", "");
	/* the marker goes in the last column, whichever that is: a CSV's
	 * "malformed" column holds the reason alone */
	i = (t->rows - 1) * CLI_COLS + t->cols - 1;
	free(t->cells[i]);
	t->cells[i] = xstrdup(t->csv ? d->reason : model_odd_text(d->reason,
	    mark, sizeof(mark)));
	if ((int)strlen(cli_safe(t->cells[i], safe, sizeof(safe))) >
	    t->width[t->cols - 1])
		t->width[t->cols - 1] = (int)strlen(safe);
}

/*
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
 * line break, quotes doubled.  On a terminal the text is escaped first,
 * like every table; into a file or pipe it goes as the agent sent it.
 */
static void
cli_csv_field(const char *s, int tty)
{
	char	*esc = NULL;
	size_t	 len;

	if (tty) {
		/* an escape is at most 10 bytes for each byte of s */
		len = strlen(s) * 10 + 1;
		esc = xmalloc(len);
		s = text_escape(s, esc, len);
	}
	if (strpbrk(s, ",\"\r\n") == NULL)
		fputs(s, stdout);
	else {
		putchar('"');
		for (; *s != '\0'; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	}
	free(esc);
}

/* Prints with two blanks between columns; the last column is not padded. */
static void
cli_table_print(struct cli_table *t)
{
	const char	*c;
	char		 safe[2048];
	int		 r, i, tty = isatty(STDOUT_FILENO);

	for (r = 0; r < t->rows; r++) {
		for (i = 0; i < t->cols; i++) {
			c = t->cells[r * CLI_COLS + i];
			if (c == NULL)
				c = "";
			if (t->csv) {
				cli_csv_field(c, tty);
				fputs(i == t->cols - 1 ? "\r\n" : ",", stdout);
				continue;
			}
			cli_safe(c, safe, sizeof(safe));
			if (i == t->cols - 1)
				printf("%s\n", safe);
			else
				printf("%-*s  ", t->width[i], safe);
		}
	}
	for (r = 0; r < t->rows * CLI_COLS; r++)
		free(t->cells[r]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static const char *
cli_us(int64_t us, char *buf, size_t len)
{
	/* a loopback answer takes well under a millisecond: never "0" */
	if (us == VANTAGE_NONE)
		snprintf(buf, len, "-");
	else if (us < 100)
		snprintf(buf, len, "%.3fms", (double)us / 1000);
	else if (us < 10000)
		snprintf(buf, len, "%.2fms", (double)us / 1000);
	else if (us < 10000000)
		snprintf(buf, len, "%.1fms", (double)us / 1000);
	else
		snprintf(buf, len, "%.1fs", (double)us / 1000000);
	return buf;
}

/* Milliseconds of a microsecond figure, for CSV: "0.423", "" for none. */
static const char *
cli_ms(int64_t us, char *buf, size_t len)
{
	if (us == VANTAGE_NONE)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%.3f", (double)us / 1000);
	return buf;
}

/* A wall clock time for CSV: RFC 3339 in UTC, "" for none. */
static const char *
cli_iso(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t;
	char		s[32];

	if (ms == VANTAGE_NONE || ms <= 0) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", s, (int)(ms % 1000));
	return buf;
}

static const char *
cli_num(int64_t v, char *buf, size_t len)
{
	if (v == VANTAGE_NONE)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%" PRId64, v);
	return buf;
}

/* "500ms", "5m", "30d": a limit of an option, in its largest whole unit. */
static const char *
cli_limit(int64_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
	} u[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
	    { "s", 1000 } };
	size_t	i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (ms > 0 && ms % u[i].ms == 0) {
			snprintf(buf, len, "%" PRId64 "%s", ms / u[i].ms,
			    u[i].unit);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRId64 "ms", ms);
	return buf;
}

int
cli_duration(const char *opt, const char *arg, int64_t lo, int64_t hi,
    int64_t *ms, char *err, size_t len)
{
	char	e[256], l[32], h[32];
	size_t	n = strlen(arg);

	/* a bare number is seconds in the config files, but on a command
	 * line "--ttl 10" is too easily meant as minutes: say which */
	if (n > 0 && isdigit((unsigned char)arg[n - 1])) {
		snprintf(err, len, "%s %.32s: add a unit: %.32ss, %.32sm",
		    opt, arg, arg, arg);
		return -1;
	}
	if (parse_duration_ms(arg, ms, e, sizeof(e)) == -1) {
		snprintf(err, len, "%s '%.32s': expected a duration like "
		    "500ms, 30s, 10m, 2h or 7d", opt, arg);
		return -1;
	}
	if (*ms < lo || *ms > hi) {
		snprintf(err, len, "%s %.32s: expected from %s to %s", opt,
		    arg, cli_limit(lo, l, sizeof(l)), cli_limit(hi, h,
		    sizeof(h)));
		return -1;
	}
	return 0;
}

/*
 * cJSON escapes C0 controls but writes DEL, C1 and the bidi controls as
 * they are, and copies bytes that are not UTF-8: written here as \uNNNN
 * escapes (the same string to a JSON reader) and U+FFFD, so that a JSON
 * document on a terminal is as safe as a table.
 */
static void
cli_json_print(cJSON *root)
{
	const unsigned char	*p;
	char			*s;
	size_t			 n, k;
	uint32_t		 cp;

	if ((s = cJSON_Print(root)) == NULL)
		fatalx("%s: out of memory", __func__);
	p = (const unsigned char *)s;
	n = strlen(s);
	while (n > 0) {
		if ((k = text_utf8_next(p, n, &cp)) == 0) {
			fputs("\\ufffd", stdout);
			k = 1;
		} else if (text_is_control(cp) && cp >= 0x7f)
			printf("\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, k, stdout);
		p += k;
		n -= k;
	}
	putchar('\n');
	free(s);
	cJSON_Delete(root);
}

/* An odd row on stderr: "vantage: web-01: probes[3]: malformed row: ..." */
static void
cli_odd_warn(const char *agent, const char *key, const struct model_odd *d)
{
	char	safe[1024];

	fprintf(stderr, "vantage: %s: %s[%d]: malformed row: %s\n", agent,
	    key, d->index, cli_safe(d->reason, safe, sizeof(safe)));
}

/* The odd rows of one list: warnings, and with root their JSON rows. */
static int
cli_odds(const char *agent, const char *key, const struct model_odds *o,
    cJSON *arr, int json)
{
	cJSON	*ro;
	int	 i;

	for (i = 0; i < o->n; i++) {
		if (!json)
			cli_odd_warn(agent, key, &o->v[i]);
		if (arr == NULL)
			continue;
		ro = cJSON_CreateObject();
		cJSON_AddStringToObject(ro, "agent", agent);
		if (o->v[i].name != NULL)
			cJSON_AddStringToObject(ro, "name", o->v[i].name);
		else
			cJSON_AddNullToObject(ro, "name");
		cJSON_AddNumberToObject(ro, "index", o->v[i].index);
		cJSON_AddStringToObject(ro, "malformed", o->v[i].reason);
		cJSON_AddItemToArray(arr, ro);
	}
	return o->n > 0;
}

static void
cli_json_num(cJSON *o, const char *key, int64_t v)
{
	if (v == VANTAGE_NONE)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, (double)v);
}

static void
cli_json_str(cJSON *o, const char *key, const char *s)
{
	if (s == NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, s);
}

/* Failing agents (of all, or only one): the exit status and the
 * "errors" of --json. */
static int
cli_report_failures_of(struct fleet *fl, const struct fleet_agent *only,
    cJSON *root, int json)
{
	cJSON		*arr = NULL, *o;
	char		 safe[512];
	int64_t		 now = fetch_now_ms();
	int		 i, bad = 0;

	if (root != NULL)
		arr = cJSON_AddArrayToObject(root, "errors");
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (fleet_agent_usable(a, now) || (only != NULL && a != only))
			continue;
		bad = 1;
		if (arr != NULL) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "agent", a->conf->name);
			cJSON_AddStringToObject(o, "state", fleet_state_str(
			    fleet_agent_state(a, now)));
			cJSON_AddStringToObject(o, "reason",
			    fleet_agent_reason(a));
			cJSON_AddItemToArray(arr, o);
		}
		if (!json)
			fprintf(stderr, "vantage: %s: %s: %s\n", a->conf->name,
			    fleet_state_str(fleet_agent_state(a, now)),
			    cli_safe(fleet_agent_reason(a), safe,
			    sizeof(safe)));
	}
	return bad;
}

static int
cli_report_failures(struct fleet *fl, cJSON *root, int json)
{
	return cli_report_failures_of(fl, NULL, root, json);
}

/* ---- status ---- */

static cJSON *
cli_status_agent(const struct fleet_agent *a, int64_t now)
{
	const struct model_status	*st = a->status;
	enum fleet_state		 s = fleet_agent_state(a, now);
	cJSON				*o, *p, *r;
	int64_t				 n[4] = { 0, 0, 0, 0 };
	int64_t				 rs[3] = { 0, 0, 0 };
	int				 i;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", a->conf->name);
	cJSON_AddStringToObject(o, "url", a->conf->url);
	cJSON_AddStringToObject(o, "state", fleet_state_str(s));
	cJSON_AddStringToObject(o, "reason", fleet_agent_reason(a));
	cli_json_str(o, "agent_name", st != NULL ? st->agent : NULL);
	cli_json_str(o, "version", st != NULL ? st->version : NULL);
	cli_json_num(o, "uptime_s", st != NULL ? st->uptime_s : VANTAGE_NONE);
	/* in ms to the microsecond: a loopback answer is well under 1 ms */
	if (st != NULL && a->latency_us != VANTAGE_NONE)
		cJSON_AddNumberToObject(o, "latency_ms",
		    (double)a->latency_us / 1000);
	else
		cJSON_AddNullToObject(o, "latency_ms");
	cli_json_num(o, "skew_ms", a->has_skew ? a->skew_ms : VANTAGE_NONE);
	cli_json_num(o, "last_ok_ms", st != NULL ? a->last_ok_ms :
	    VANTAGE_NONE);
	if (st != NULL) {
		for (i = 0; i < st->n_probes; i++)
			n[st->probes[i].state]++;
		for (i = 0; i < st->n_routes; i++)
			rs[st->routes[i].state]++;
	}
	p = cJSON_AddObjectToObject(o, "probes");
	cJSON_AddNumberToObject(p, "total", st != NULL ? st->n_probes : 0);
	cJSON_AddNumberToObject(p, "up", (double)n[MODEL_UP]);
	cJSON_AddNumberToObject(p, "degraded", (double)n[MODEL_DEGRADED]);
	cJSON_AddNumberToObject(p, "down", (double)n[MODEL_DOWN]);
	cJSON_AddNumberToObject(p, "unknown", (double)n[MODEL_UNKNOWN]);
	cJSON_AddNumberToObject(p, "malformed", st != NULL ?
	    st->odd_probes.n : 0);
	r = cJSON_AddObjectToObject(o, "routes");
	cJSON_AddNumberToObject(r, "total", st != NULL ? st->n_routes : 0);
	cJSON_AddNumberToObject(r, "active", (double)rs[MODEL_ACTIVE]);
	cJSON_AddNumberToObject(r, "draining", (double)rs[MODEL_DRAINING]);
	cJSON_AddNumberToObject(r, "maint", (double)rs[MODEL_MAINT]);
	cJSON_AddNumberToObject(r, "malformed", st != NULL ?
	    st->odd_routes.n : 0);
	return o;
}

static cJSON *
cli_status_link(struct fleet *fl, const struct matrix_link *l)
{
	cJSON	*o, *ag;
	int	 j;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "probe", l->probe);
	cJSON_AddStringToObject(o, "verdict", matrix_verdict_str(l->verdict));
	cJSON_AddStringToObject(o, "text", l->text);
	cJSON_AddBoolToObject(o, "partial", l->down > 0 && l->down < l->of);
	cJSON_AddNumberToObject(o, "up", l->up);
	cJSON_AddNumberToObject(o, "degraded", l->degraded);
	cJSON_AddNumberToObject(o, "down", l->down);
	cJSON_AddNumberToObject(o, "unknown", l->unknown);
	cJSON_AddNumberToObject(o, "of", l->of);
	cJSON_AddNumberToObject(o, "unreachable", l->unreachable);
	ag = cJSON_AddObjectToObject(o, "agents");
	for (j = 0; j < fl->n_agents; j++) {
		if (l->cells[j] != MATRIX_ABSENT)
			cJSON_AddStringToObject(ag, fl->agents[j].conf->name,
			    matrix_cell_str(l->cells[j]));
	}
	return o;
}

/* Odd rows of the status answers: counted out of the tables, warned of. */
static int
cli_status_odds(struct fleet *fl, int json)
{
	int64_t	now = fetch_now_ms();
	int	i, odd = 0;

	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (a->status == NULL || !fleet_agent_usable(a, now))
			continue;
		odd += cli_odds(a->conf->name, "probes",
		    &a->status->odd_probes, NULL, json);
		odd += cli_odds(a->conf->name, "routes",
		    &a->status->odd_routes, NULL, json);
		odd += cli_odds(a->conf->name, "pools", &a->status->odd_pools,
		    NULL, json);
	}
	return odd > 0;
}

/* status --csv: one row per agent (the links are in the table and
 * --json). */
static void
cli_status_csv(struct fleet *fl, int64_t now)
{
	struct cli_table	 t;
	char			 b[8][48];
	int			 i, k;

	memset(&t, 0, sizeof(t));
	t.csv = 1;
	t.cols = 13;
	cli_table_row(&t, "agent", "state", "reason", "url", "agent_name",
	    "version", "uptime_s", "latency_ms", "skew_ms", "probes", "down",
	    "routes", "drained");
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];
		const struct model_status *st = a->status;
		int down = 0, drained = 0;

		for (k = 0; st != NULL && k < st->n_probes; k++)
			down += st->probes[k].state == MODEL_DOWN;
		for (k = 0; st != NULL && k < st->n_routes; k++)
			drained += st->routes[k].state != MODEL_ACTIVE;
		cli_table_row(&t, a->conf->name, fleet_state_str(
		    fleet_agent_state(a, now)), fleet_agent_reason(a),
		    a->conf->url, st != NULL ? st->agent : "",
		    st != NULL ? st->version : "",
		    cli_num(st != NULL ? st->uptime_s : VANTAGE_NONE, b[0],
		    sizeof(b[0])),
		    cli_ms(st != NULL ? a->latency_us : VANTAGE_NONE, b[1],
		    sizeof(b[1])),
		    cli_num(a->has_skew ? a->skew_ms : VANTAGE_NONE, b[2],
		    sizeof(b[2])),
		    cli_num(st != NULL ? st->n_probes : VANTAGE_NONE, b[3],
		    sizeof(b[3])),
		    cli_num(st != NULL ? down : VANTAGE_NONE, b[4],
		    sizeof(b[4])),
		    cli_num(st != NULL ? st->n_routes : VANTAGE_NONE, b[5],
		    sizeof(b[5])),
		    cli_num(st != NULL ? drained : VANTAGE_NONE, b[6],
		    sizeof(b[6])));
	}
	cli_table_print(&t);
}

int
cli_status(struct fleet *fl, char *const *args, int n,
    const struct cli_opts *o)
{
	struct cli_table	 t;
	struct matrix		*m;
	cJSON			*root, *arr;
	char			 b1[32], b2[32], b3[32], b4[32], b5[32];
	int64_t			 now;
	int			 i, bad;

	fleet_settle(fl);
	now = fetch_now_ms();
	m = matrix_build(fl, now);
	if (o->json) {
		root = cJSON_CreateObject();
		cJSON_AddNumberToObject(root, "generated_ms", (double)now);
		cJSON_AddStringToObject(root, "operator", fl->operator);
		arr = cJSON_AddArrayToObject(root, "agents");
		for (i = 0; i < fl->n_agents; i++)
			cJSON_AddItemToArray(arr, cli_status_agent(
			    &fl->agents[i], now));
		arr = cJSON_AddArrayToObject(root, "links");
		for (i = 0; i < m->n_links; i++)
			cJSON_AddItemToArray(arr, cli_status_link(fl,
			    &m->links[i]));
		bad = cli_report_failures(fl, NULL, 1);
		bad = cli_status_odds(fl, 1) || bad;
		cli_json_print(root);
		matrix_free(m);
		return bad;
	}
	if (o->csv) {
		cli_status_csv(fl, now);
		matrix_free(m);
		bad = cli_report_failures(fl, NULL, 0);
		return cli_status_odds(fl, 0) || bad;
	}
	memset(&t, 0, sizeof(t));
	t.cols = 8;
	cli_table_row(&t, "AGENT", "STATE", "PROBES", "DOWN", "DRAINED",
	    "LATENCY", "SKEW", "URL / REASON");
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];
		const struct model_status *st = a->status;
		int down = 0, drained = 0, k;

		if (st != NULL) {
			for (k = 0; k < st->n_probes; k++)
				down += st->probes[k].state == MODEL_DOWN;
			for (k = 0; k < st->n_routes; k++)
				drained += st->routes[k].state !=
				    MODEL_ACTIVE;
			snprintf(b1, sizeof(b1), "%d", st->n_probes);
			snprintf(b2, sizeof(b2), "%d", down);
			snprintf(b3, sizeof(b3), "%d/%d", drained,
			    st->n_routes);
		} else
			snprintf(b1, sizeof(b1), "-");
		if (a->has_skew)
			snprintf(b5, sizeof(b5), "%+.1fs",
			    (double)a->skew_ms / 1000);
		cli_table_row(&t, a->conf->name, fleet_state_str(
		    fleet_agent_state(a, now)), b1, st != NULL ? b2 : "-",
		    st != NULL ? b3 : "-", st != NULL ? cli_us(a->latency_us,
		    b4, sizeof(b4)) : "-", a->has_skew ? b5 : "-",
		    a->fails > 0 ? fleet_agent_reason(a) : a->conf->url);
	}
	cli_table_print(&t);
	if (m->n_links > 0) {
		printf("\n");
		t.cols = 3;
		cli_table_row(&t, "LINK", "VERDICT", "DOWN FROM");
		for (i = 0; i < m->n_links; i++) {
			struct matrix_link *l = &m->links[i];
			struct buf	 who;
			int		 j;

			buf_init(&who);
			for (j = 0; j < fl->n_agents; j++) {
				if (l->cells[j] != MATRIX_DOWN)
					continue;
				if (who.len > 0)
					buf_adds(&who, ", ");
				buf_adds(&who, fl->agents[j].conf->name);
			}
			cli_table_row(&t, l->probe, l->text, who.len > 0 ?
			    who.data : "");
			buf_free(&who);
		}
		cli_table_print(&t);
	}
	matrix_free(m);
	bad = cli_report_failures(fl, NULL, 0);
	return cli_status_odds(fl, 0) || bad;
}

/* ---- probes ---- */

static cJSON *
cli_json_result(const struct model_result *r)
{
	cJSON	*o = cJSON_CreateObject();

	cli_json_num(o, "t_ms", r->t_ms);
	cJSON_AddStringToObject(o, "status", model_rstatus_str(r->status));
	cli_json_num(o, "latency_us", r->latency_us);
	cli_json_num(o, "dns_us", r->dns_us);
	cli_json_num(o, "connect_us", r->connect_us);
	cli_json_num(o, "tls_us", r->tls_us);
	cli_json_num(o, "ttfb_us", r->ttfb_us);
	cli_json_num(o, "code", r->code);
	cli_json_num(o, "cert_days", r->cert_days);
	cJSON_AddStringToObject(o, "error", r->error != NULL ? r->error : "");
	return o;
}

/* "vantage: no agent 'x' in the configuration", exit 2. */
static struct fleet_agent *
cli_agent_arg(struct fleet *fl, const char *name)
{
	struct fleet_agent	*a;
	char			 safe[800];

	if ((a = fleet_find(fl, name)) == NULL)
		fprintf(stderr, "vantage: no agent '%s' in the configuration\n",
		    cli_safe(name, safe, sizeof(safe)));
	return a;
}

/*
 * Runs fetches until one agent has answered or failed once: the others
 * are asked too (the same engine), but a slow one is not waited for.
 */
static void
cli_settle_one(struct fleet *fl, struct fleet_agent *a)
{
	int64_t	wait;

	for (;;) {
		wait = fleet_tick(fl);
		if (a->status_req == NULL && a->opener == NULL &&
		    (a->status != NULL || a->fails > 0))
			return;
		fetch_wait(fl->fetch, (int)(wait > 100 ? 100 : wait), -1);
		fetch_dispatch(fl->fetch);
	}
}

int
cli_probes(struct fleet *fl, char *const *args, int n,
    const struct cli_opts *o)
{
	struct cli_table	 t;
	struct fleet_agent	*only = NULL;
	cJSON			*root = NULL, *arr = NULL, *po, *s;
	char			 b1[32], b2[32], b3[32], b4[32], b5[32], b6[48];
	int64_t			 now;
	int			 i, k, bad, odd = 0;

	if (n > 0) {
		if ((only = cli_agent_arg(fl, args[0])) == NULL)
			return 2;
		cli_settle_one(fl, only);
	} else
		fleet_settle(fl);
	now = fetch_now_ms();
	memset(&t, 0, sizeof(t));
	t.cols = 10;
	if (o->json) {
		root = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(root, "probes");
	} else if (o->csv) {
		t.csv = 1;
		t.cols = 14;
		cli_table_row(&t, "agent", "probe", "type", "target", "state",
		    "since", "interval_ms", "last_status", "last_latency_ms",
		    "avg_1h_ms", "p95_1h_ms", "cert_days", "error",
		    "malformed");
	} else
		cli_table_row(&t, "AGENT", "PROBE", "TYPE", "STATE", "SINCE",
		    "LAST", "AVG 1H", "P95 1H", "CERT", "ERROR");
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (only != NULL && a != only)
			continue;
		if (a->status == NULL || !fleet_agent_usable(a, now))
			continue;
		for (k = 0; k < a->status->n_probes; k++) {
			const struct model_probe *p = &a->status->probes[k];

			if (o->json) {
				po = cJSON_CreateObject();
				cJSON_AddStringToObject(po, "agent",
				    a->conf->name);
				cJSON_AddStringToObject(po, "name", p->name);
				cJSON_AddStringToObject(po, "type", p->type);
				cJSON_AddStringToObject(po, "target",
				    p->target);
				cJSON_AddStringToObject(po, "state",
				    model_state_str(p->state));
				cli_json_num(po, "state_since_ms",
				    p->state_since_ms);
				cli_json_num(po, "interval_ms",
				    p->interval_ms);
				if (p->has_last)
					cJSON_AddItemToObject(po, "last",
					    cli_json_result(&p->last));
				else
					cJSON_AddNullToObject(po, "last");
				s = cJSON_AddObjectToObject(po, "stats_1h");
				cli_json_num(s, "runs", p->stats.runs);
				cli_json_num(s, "ok", p->stats.ok);
				cli_json_num(s, "degraded",
				    p->stats.degraded);
				cli_json_num(s, "fail", p->stats.fail);
				cli_json_num(s, "avg_us", p->stats.avg_us);
				cli_json_num(s, "p95_us", p->stats.p95_us);
				cJSON_AddItemToArray(arr, po);
				continue;
			}
			if (o->csv) {
				cli_table_row(&t, a->conf->name, p->name,
				    p->type, p->target, model_state_str(
				    p->state), cli_iso(p->state_since_ms, b6,
				    sizeof(b6)), cli_num(p->interval_ms, b1,
				    sizeof(b1)), p->has_last ?
				    model_rstatus_str(p->last.status) : "",
				    cli_ms(p->has_last ? p->last.latency_us :
				    VANTAGE_NONE, b2, sizeof(b2)),
				    cli_ms(p->stats.avg_us, b3, sizeof(b3)),
				    cli_ms(p->stats.p95_us, b4, sizeof(b4)),
				    cli_num(p->has_last ? p->last.cert_days :
				    VANTAGE_NONE, b5, sizeof(b5)),
				    p->has_last && p->last.error != NULL ?
				    p->last.error : "", "");
				continue;
			}
			if (p->has_last && p->last.cert_days != VANTAGE_NONE)
				snprintf(b5, sizeof(b5), "%" PRId64 "d",
				    p->last.cert_days);
			else
				snprintf(b5, sizeof(b5), "-");
			cli_table_row(&t, a->conf->name, p->name, p->type,
			    model_state_str(p->state), ui_ago(
			    p->state_since_ms, now, b6, sizeof(b6)),
			    p->has_last ? cli_us(p->last.latency_us, b1,
			    sizeof(b1)) : "-", cli_us(p->stats.avg_us, b2,
			    sizeof(b2)), cli_us(p->stats.p95_us, b3,
			    sizeof(b3)), b5, p->has_last ? p->last.error :
			    "");
		}
		odd += cli_odds(a->conf->name, "probes", &a->status->odd_probes,
		    arr, o->json);
		for (k = 0; !o->json && k < a->status->odd_probes.n; k++)
			cli_odd_row(&t, a->conf->name,
			    &a->status->odd_probes.v[k]);
	}
	bad = cli_report_failures_of(fl, only, root, o->json) || odd > 0;
	if (o->json)
		cli_json_print(root);
	else
		cli_table_print(&t);
	return bad;
}

/* ---- routes ---- */

static cJSON *
cli_json_route(const struct model_route *r)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "state", model_rstate_str(r->state));
	cJSON_AddStringToObject(o, "effective",
	    model_effective_str(r->effective));
	cJSON_AddStringToObject(o, "reason", r->reason);
	cJSON_AddStringToObject(o, "actor", r->actor);
	cJSON_AddStringToObject(o, "operator", r->operator);
	cli_json_num(o, "since_ms", r->since_ms);
	cli_json_num(o, "expires_ms", r->expires_ms);
	cli_json_str(o, "pool", r->pool);
	cli_json_str(o, "probe", r->probe);
	cJSON_AddBoolToObject(o, "forced", r->forced);
	return o;
}

int
cli_routes(struct fleet *fl, char *const *args, int n,
    const struct cli_opts *o)
{
	struct cli_table	 t;
	cJSON			*root = NULL, *arr = NULL, *parr = NULL, *ro;
	char			 b1[48], b2[48], b3[300];
	int64_t			 now;
	int			 i, k, bad, npools = 0, odd = 0;

	fleet_settle(fl);
	now = fetch_now_ms();
	memset(&t, 0, sizeof(t));
	t.cols = 9;
	if (o->json) {
		root = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(root, "routes");
		parr = cJSON_AddArrayToObject(root, "pools");
	} else if (o->csv) {
		t.csv = 1;
		t.cols = 13;
		cli_table_row(&t, "agent", "route", "state", "effective",
		    "pool", "probe", "since", "expires", "actor", "operator",
		    "reason", "forced", "malformed");
	} else
		cli_table_row(&t, "AGENT", "ROUTE", "STATE", "EFFECTIVE",
		    "POOL", "SINCE", "EXPIRES", "ACTOR", "REASON");
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (a->status == NULL || !fleet_agent_usable(a, now))
			continue;
		for (k = 0; k < a->status->n_routes; k++) {
			const struct model_route *r = &a->status->routes[k];

			if (o->json) {
				ro = cli_json_route(r);
				cJSON_AddStringToObject(ro, "agent",
				    a->conf->name);
				cJSON_AddItemToArray(arr, ro);
				continue;
			}
			if (o->csv) {
				cli_table_row(&t, a->conf->name, r->name,
				    model_rstate_str(r->state),
				    model_effective_str(r->effective),
				    r->pool != NULL ? r->pool : "",
				    r->probe != NULL ? r->probe : "",
				    cli_iso(r->since_ms, b1, sizeof(b1)),
				    cli_iso(r->expires_ms, b2, sizeof(b2)),
				    r->actor, r->operator, r->reason,
				    r->forced ? "true" : "false", "");
				continue;
			}
			if (r->operator[0] != '\0')
				snprintf(b3, sizeof(b3), "%.100s (%.100s)",
				    r->actor, r->operator);
			else
				snprintf(b3, sizeof(b3), "%.100s", r->actor);
			cli_table_row(&t, a->conf->name, r->name,
			    model_rstate_str(r->state),
			    model_effective_str(r->effective),
			    r->pool != NULL ? r->pool : "-", ui_ago(
			    r->since_ms, now, b1, sizeof(b1)),
			    r->expires_ms != VANTAGE_NONE ? ui_ago(
			    r->expires_ms, now, b2, sizeof(b2)) : "-",
			    r->actor[0] != '\0' ? b3 : "-", r->reason);
		}
		odd += cli_odds(a->conf->name, "routes", &a->status->odd_routes,
		    arr, o->json);
		odd += cli_odds(a->conf->name, "pools", &a->status->odd_pools,
		    parr, o->json);
		for (k = 0; !o->json && k < a->status->odd_routes.n; k++)
			cli_odd_row(&t, a->conf->name,
			    &a->status->odd_routes.v[k]);
		npools += a->status->n_pools + a->status->odd_pools.n;
		if (o->json) {
			for (k = 0; k < a->status->n_pools; k++) {
				const struct model_pool *p =
				    &a->status->pools[k];

				ro = cJSON_CreateObject();
				cJSON_AddStringToObject(ro, "agent",
				    a->conf->name);
				cJSON_AddStringToObject(ro, "name", p->name);
				cJSON_AddNumberToObject(ro, "min_active",
				    (double)p->min_active);
				cJSON_AddNumberToObject(ro, "routes",
				    (double)p->routes);
				cJSON_AddNumberToObject(ro, "active",
				    (double)p->active);
				cJSON_AddItemToArray(parr, ro);
			}
		}
	}
	bad = cli_report_failures(fl, root, o->json) || odd > 0;
	if (o->json) {
		cli_json_print(root);
		return bad;
	}
	cli_table_print(&t);
	/* one table in a CSV: the pools are in the table and --json */
	if (npools > 0 && !o->csv) {
		printf("\n");
		t.cols = 5;
		cli_table_row(&t, "AGENT", "POOL", "ACTIVE", "ROUTES",
		    "MIN_ACTIVE");
		for (i = 0; i < fl->n_agents; i++) {
			struct fleet_agent *a = &fl->agents[i];

			if (a->status == NULL || !fleet_agent_usable(a, now))
				continue;
			for (k = 0; k < a->status->n_pools; k++) {
				const struct model_pool *p =
				    &a->status->pools[k];

				snprintf(b1, sizeof(b1), "%" PRId64,
				    p->active);
				snprintf(b2, sizeof(b2), "%" PRId64,
				    p->routes);
				snprintf(b3, sizeof(b3), "%" PRId64,
				    p->min_active);
				cli_table_row(&t, a->conf->name, p->name, b1,
				    b2, b3);
			}
			for (k = 0; k < a->status->odd_pools.n; k++)
				cli_odd_row(&t, a->conf->name,
				    &a->status->odd_pools.v[k]);
		}
		cli_table_print(&t);
	}
	return bad;
}

/* ---- audit ---- */

struct cli_arow {
	const struct fleet_agent	*a;
	const struct model_audit	*r;
};

static int
cli_arow_cmp(const void *x, const void *y)
{
	const struct cli_arow	*a = x, *b = y;

	/* newest first; ties by agent and id keep the order stable */
	if (a->r->t_ms != b->r->t_ms)
		return a->r->t_ms < b->r->t_ms ? 1 : -1;
	if (a->a->idx != b->a->idx)
		return a->a->idx - b->a->idx;
	return a->r->id < b->r->id ? 1 : a->r->id > b->r->id ? -1 : 0;
}

static int
cli_verify_report(struct fleet *fl, cJSON *root, int json)
{
	cJSON	*arr = NULL, *o;
	char	 safe[512];
	int	 i, bad = 0;

	if (root != NULL)
		arr = cJSON_AddArrayToObject(root, "verify");
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];
		const struct model_verify *v = &a->verify;

		if (!a->has_verify || !v->ok)
			bad = 1;
		if (arr != NULL) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "agent", a->conf->name);
			if (a->has_verify) {
				cJSON_AddBoolToObject(o, "ok", v->ok);
				cJSON_AddNumberToObject(o, "rows",
				    (double)v->rows);
				cJSON_AddStringToObject(o, "head", v->head);
				cli_json_num(o, "bad_id", v->bad_id);
				cJSON_AddStringToObject(o, "message",
				    v->message);
			} else {
				cJSON_AddNullToObject(o, "ok");
				cJSON_AddStringToObject(o, "message",
				    a->verify_err);
			}
			cJSON_AddItemToArray(arr, o);
		}
		if (json)
			continue;
		if (!a->has_verify)
			printf("%s: chain not verified: %s\n", a->conf->name,
			    cli_safe(a->verify_err, safe, sizeof(safe)));
		else if (v->ok)
			printf("%s: chain ok, %" PRId64 " rows, head %.16s\n",
			    a->conf->name, v->rows, cli_safe(v->head, safe,
			    sizeof(safe)));
		else
			printf("%s: chain BROKEN at row %" PRId64 ": %s\n",
			    a->conf->name, v->bad_id, cli_safe(v->message,
			    safe, sizeof(safe)));
	}
	return bad;
}

/*
 * The filters of audit: --actor matches the token's name or the person
 * (operator "carol@bastion", or its "carol"), --action and --route
 * (the target) exactly, --since the row's time.  A malformed row is kept
 * when what could be read of it does not rule it out.
 */
static int
cli_audit_match(const struct model_audit *r, const struct cli_opts *o,
    int64_t now)
{
	size_t	n;
	int	odd = r->malformed != NULL;

	if (o->actor != NULL && strcmp(r->actor, o->actor) != 0 &&
	    strcmp(r->operator, o->actor) != 0 && !(odd &&
	    r->actor[0] == '\0')) {
		n = strlen(o->actor);
		if (strncmp(r->operator, o->actor, n) != 0 ||
		    r->operator[n] != '@')
			return 0;
	}
	if (o->action != NULL && strcmp(r->action, o->action) != 0 &&
	    !(odd && r->action[0] == '\0'))
		return 0;
	if (o->route != NULL && strcmp(r->target, o->route) != 0 &&
	    !(odd && r->target[0] == '\0'))
		return 0;
	if (o->since_ms > 0 && r->t_ms != VANTAGE_NONE &&
	    r->t_ms < now - o->since_ms)
		return 0;
	return 1;
}

int
cli_audit(struct fleet *fl, char *const *args, int n_args,
    const struct cli_opts *o)
{
	struct cli_table	 t;
	struct cli_arow		*rows;
	cJSON			*root = NULL, *arr = NULL, *ro;
	char			 b1[48], b2[32], mark[1100], safe[2048];
	int64_t			 now;
	int			 i, k, n = 0, bad, limit, odd = 0;

	fleet_settle(fl);
	fl->want_audit = 1;
	fl->audit_action = o->action;
	fleet_audit_poll(fl);
	if (o->verify)
		fleet_verify(fl);
	fleet_settle(fl);
	for (i = 0; i < fl->n_agents; i++)
		n += fl->agents[i].n_audit;
	rows = xcalloc((size_t)n + 1, sizeof(*rows));
	n = 0;
	now = fetch_now_ms();
	for (i = 0; i < fl->n_agents; i++) {
		for (k = 0; k < fl->agents[i].n_audit; k++) {
			if (!cli_audit_match(&fl->agents[i].audit[k], o, now))
				continue;
			rows[n].a = &fl->agents[i];
			rows[n++].r = &fl->agents[i].audit[k];
		}
	}
	qsort(rows, (size_t)n, sizeof(*rows), cli_arow_cmp);
	limit = o->limit > 0 && o->limit < n ? (int)o->limit : n;
	memset(&t, 0, sizeof(t));
	t.cols = 9;
	if (o->json) {
		root = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(root, "audit");
	} else if (o->csv) {
		t.csv = 1;
		t.cols = 13;
		cli_table_row(&t, "time", "agent", "id", "actor", "role",
		    "operator", "source", "action", "target", "result",
		    "detail", "hash", "malformed");
	} else
		cli_table_row(&t, "TIME", "AGENT", "ID", "ACTOR", "OPERATOR",
		    "ACTION", "TARGET", "RESULT", "DETAIL");
	for (i = 0; i < limit; i++) {
		const struct model_audit *r = rows[i].r;

		if (o->json) {
			ro = cJSON_CreateObject();
			cJSON_AddStringToObject(ro, "agent",
			    rows[i].a->conf->name);
			cli_json_num(ro, "id", r->id);
			cli_json_num(ro, "t_ms", r->t_ms);
			cJSON_AddStringToObject(ro, "actor", r->actor);
			cJSON_AddStringToObject(ro, "role", r->role);
			cJSON_AddStringToObject(ro, "operator", r->operator);
			cJSON_AddStringToObject(ro, "source", r->source);
			cJSON_AddStringToObject(ro, "action", r->action);
			cJSON_AddStringToObject(ro, "target", r->target);
			cJSON_AddStringToObject(ro, "detail", r->detail);
			cJSON_AddStringToObject(ro, "result", r->result);
			cJSON_AddStringToObject(ro, "hash", r->hash);
			if (r->malformed != NULL)
				cJSON_AddStringToObject(ro, "malformed",
				    r->malformed);
			cJSON_AddItemToArray(arr, ro);
			odd += r->malformed != NULL;
			continue;
		}
		if (r->id != VANTAGE_NONE)
			snprintf(b2, sizeof(b2), "%" PRId64, r->id);
		else
			snprintf(b2, sizeof(b2), "-");
		if (r->malformed != NULL) {
			odd++;
			fprintf(stderr, "vantage: %s: audit row %s: malformed "
			    "row: %s\n", rows[i].a->conf->name, b2,
			    cli_safe(r->malformed, safe, sizeof(safe)));
		}
		if (o->csv) {
			cli_table_row(&t, cli_iso(r->t_ms, b1, sizeof(b1)),
			    rows[i].a->conf->name, r->id != VANTAGE_NONE ?
			    b2 : "", r->actor, r->role, r->operator,
			    r->source, r->action, r->target, r->result,
			    r->detail, r->hash, r->malformed != NULL ?
			    r->malformed : "");
			continue;
		}
		cli_table_row(&t, ui_clock(r->t_ms, "%Y-%m-%d %H:%M:%S", b1,
		    sizeof(b1)),
		    rows[i].a->conf->name, b2, r->actor, r->operator,
		    r->action, r->target, r->result, r->malformed != NULL ?
		    model_odd_text(r->malformed, mark, sizeof(mark)) :
		    r->detail);
	}
	free(rows);
	bad = cli_report_failures(fl, root, o->json) || odd > 0;
	for (i = 0; i < fl->n_agents; i++) {
		if (fl->agents[i].audit_err[0] == '\0')
			continue;
		bad = 1;
		if (!o->json)
			fprintf(stderr, "vantage: %s: %s\n",
			    fl->agents[i].conf->name, cli_safe(
			    fl->agents[i].audit_err, safe, sizeof(safe)));
	}
	if (!o->json)
		cli_table_print(&t);
	if (o->verify) {
		if (!o->json)
			printf("\n");
		if (cli_verify_report(fl, root, o->json))
			bad = 1;
	}
	if (o->json)
		cli_json_print(root);
	return bad;
}

/* ---- drain, undrain ---- */

/* One line per route of what the agent did, or did not do. */
static void
cli_change_text(const struct action *c, const char *agent, const char *what,
    char *const *routes, int n)
{
	const struct model_action_route	*ar;
	char				 out[1024], s1[300], s2[900];
	int				 i;

	if (c->outcome == ACTION_APPLIED && c->has_result) {
		for (i = 0; i < c->result.n_routes; i++) {
			ar = &c->result.routes[i];
			cli_safe(ar->route.name, s1, sizeof(s1));
			if (ar->changed)
				printf("%s: applied: route %s is now %s "
				    "(effective %s%s)", agent, s1,
				    model_rstate_str(ar->route.state),
				    model_effective_str(ar->route.effective),
				    ar->route.forced ? ", forced" : "");
			else
				printf("%s: applied (no change): route %s is "
				    "already %s (effective %s)", agent, s1,
				    model_rstate_str(ar->route.state),
				    model_effective_str(ar->route.effective));
			if (ar->audit_id > 0)
				printf(", audit #%" PRId64, ar->audit_id);
			printf("\n");
		}
		/* applied, but what became of these the answer cannot say */
		for (i = 0; i < c->result.odd.n; i++) {
			const struct model_odd *d = &c->result.odd.v[i];

			printf("%s: applied: route %s: %s\n", agent,
			    cli_safe(d->name != NULL ? d->name : "?", s1,
			    sizeof(s1)), cli_safe(model_odd_text(d->reason,
			    out, sizeof(out)), s2, sizeof(s2)));
			cli_odd_warn(agent, "routes", d);
		}
		return;
	}
	action_describe(c, out, sizeof(out));
	cli_safe(out, s2, sizeof(s2));
	for (i = 0; i < n; i++) {
		cli_safe(routes[i], s1, sizeof(s1));
		if (c->outcome == ACTION_APPLIED)
			printf("%s: %s: route %s\n", agent, s2, s1);
		else
			fprintf(stderr, "vantage: %s: %s %s: %s\n", agent, what,
			    s1, s2);
	}
}

static void
cli_change_json(const struct action *c, const char *agent, const char *what,
    char *const *routes, int n)
{
	const struct model_action_route	*ar;
	cJSON				*root, *arr, *o;
	char				 out[1024];
	int				 i;

	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "agent", agent);
	cJSON_AddStringToObject(root, "action", what);
	cJSON_AddStringToObject(root, "outcome",
	    action_outcome_str(c->outcome));
	cJSON_AddStringToObject(root, "message", action_describe(c, out,
	    sizeof(out)));
	cJSON_AddStringToObject(root, "key", c->key);
	cli_json_num(root, "deadline_ms", c->deadline_ms);
	cJSON_AddBoolToObject(root, "settled", c->settled);
	if (c->code[0] != '\0')
		cJSON_AddStringToObject(root, "code", c->code);
	if (c->has_result) {
		cJSON_AddStringToObject(root, "batch", c->result.batch);
		cJSON_AddBoolToObject(root, "replayed", c->result.replayed);
	}
	arr = cJSON_AddArrayToObject(root, "routes");
	if (c->outcome == ACTION_APPLIED && c->has_result) {
		for (i = 0; i < c->result.n_routes; i++) {
			ar = &c->result.routes[i];
			o = cli_json_route(&ar->route);
			cJSON_AddStringToObject(o, "outcome", "applied");
			cJSON_AddBoolToObject(o, "changed", ar->changed);
			cli_json_num(o, "audit_id", ar->audit_id > 0 ?
			    ar->audit_id : VANTAGE_NONE);
			cJSON_AddItemToArray(arr, o);
		}
		for (i = 0; i < c->result.odd.n; i++) {
			const struct model_odd *d = &c->result.odd.v[i];

			o = cJSON_CreateObject();
			cli_json_str(o, "name", d->name);
			cJSON_AddStringToObject(o, "outcome", "applied");
			cJSON_AddStringToObject(o, "malformed", d->reason);
			cJSON_AddItemToArray(arr, o);
		}
	} else {
		for (i = 0; i < n; i++) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", routes[i]);
			cJSON_AddStringToObject(o, "outcome",
			    action_outcome_str(c->outcome));
			/* unknown: nobody can say whether it changed */
			if (c->outcome == ACTION_NOT_APPLIED)
				cJSON_AddBoolToObject(o, "changed", 0);
			else
				cJSON_AddNullToObject(o, "changed");
			cJSON_AddItemToArray(arr, o);
		}
	}
	cli_json_print(root);
}

static int
cli_change(struct fleet *fl, const char *agent, char *const *routes, int n,
    const struct cli_opts *o, const struct fleet_change *fc)
{
	const char		*what = fc->undrain ? "undrain" : "drain";
	struct fleet_agent	*a;
	struct action		*c;
	struct action_opts	 ao;
	char			*path, *body, safe[800], out[1024];
	int			 rc = 3, told = 0;

	if ((a = cli_agent_arg(fl, agent)) == NULL)
		return 2;
	/* an SSH agent first needs its tunnel */
	while (!fleet_agent_ready(a)) {
		if (a->opener == NULL && a->fails > 0) {
			fprintf(stderr, "vantage: %s: %s not applied (not "
			    "sent: %s)\n", agent, what, cli_safe(a->errmsg,
			    safe, sizeof(safe)));
			return 1;
		}
		fetch_wait(fl->fetch, 100, -1);
		fetch_dispatch(fl->fetch);
	}
	/* one route: the route's own endpoint, which every agent has */
	if (n == 1) {
		path = fleet_path("routes", routes[0], what);
		body = fleet_change_body(fc, NULL, 0);
	} else {
		xasprintf(&path, "/v1/routes/%s", what);
		body = fleet_change_body(fc, (const char *const *)routes, n);
	}
	ao.timeout_ms = o->timeout_ms;
	ao.settle_ms = o->settle_ms;
	c = action_start(a, path, body, &ao, NULL, NULL);
	free(path);
	free(body);
	while (c->outcome == ACTION_PENDING) {
		int64_t wait = action_tick(fl);

		if (c->outcome == ACTION_PENDING && c->phase != ACTION_SENT &&
		    !told && !o->json) {
			/* say so at once: the lookups may take a while */
			fprintf(stderr, "vantage: %s: %s: no answer: %s\n",
			    agent, what, cli_safe(action_describe(c, out,
			    sizeof(out)), safe, sizeof(safe)));
			told = 1;
		}
		if (c->outcome != ACTION_PENDING)
			break;
		fetch_wait(fl->fetch, (int)(wait < 200 ? wait : 200), -1);
		fetch_dispatch(fl->fetch);
	}
	if (o->json)
		cli_change_json(c, agent, what, routes, n);
	else
		cli_change_text(c, agent, what, routes, n);
	switch (c->outcome) {
	case ACTION_APPLIED:
		rc = 0;
		break;
	case ACTION_NOT_APPLIED:
		rc = 1;
		break;
	case ACTION_PENDING:
	case ACTION_UNKNOWN:
		rc = 3;
		break;
	}
	action_free(c);
	return rc;
}

int
cli_drain(struct fleet *fl, char *const *args, int n,
    const struct cli_opts *o)
{
	struct fleet_change	fc;

	memset(&fc, 0, sizeof(fc));
	fc.reason = o->reason;
	fc.ttl_ms = o->ttl_ms;
	fc.maint = o->maint;
	fc.force = o->force;
	fc.update = o->update;
	return cli_change(fl, args[0], args + 1, n - 1, o, &fc);
}

int
cli_undrain(struct fleet *fl, char *const *args, int n,
    const struct cli_opts *o)
{
	struct fleet_change	fc;

	memset(&fc, 0, sizeof(fc));
	fc.undrain = 1;
	fc.reason = o->reason;
	fc.ttl_ms = -1;
	return cli_change(fl, args[0], args + 1, n - 1, o, &fc);
}

/* ---- agent add ---- */

/* The file `vantage` reads, or the per-user one a first agent creates. */
static char *
cli_conf_path(const char *file)
{
	const char	*home, *xdg;
	char		*p;

	if (file != NULL)
		return xstrdup(file);
	if ((p = conf_default_path()) != NULL)
		return p;
	if ((xdg = getenv("XDG_CONFIG_HOME")) != NULL && xdg[0] == '/')
		xasprintf(&p, "%s/vantage/vantage.conf", xdg);
	else if ((home = getenv("HOME")) != NULL && home[0] != '\0')
		xasprintf(&p, "%s/.config/vantage/vantage.conf", home);
	return p;
}

/* An option's file, absolute (the config may be read from elsewhere). */
static char *
cli_abs_file(const char *opt, const char *f)
{
	char	*p, safe[800];

	if ((p = realpath(f, NULL)) == NULL)
		fprintf(stderr, "vantage: %s %s: %s\n", opt,
		    cli_safe(f, safe, sizeof(safe)), strerror(errno));
	return p;
}

int
cli_agent_add(const char *file, char *const *args, int n,
    const struct cli_opts *o)
{
	struct conf_edit_agent	 ag;
	char			*path, *tf = NULL, *ca = NULL;
	char			 err[4096], safe[4096];
	int			 rc = 1;

	if (o->token_file == NULL) {
		fprintf(stderr, "vantage: agent add: --token-file is required "
		    "(a file holding the agent's token: vantaged token NAME "
		    "ROLE prints one)\n");
		return 2;
	}
	if ((path = cli_conf_path(file)) == NULL) {
		fprintf(stderr, "vantage: agent add: no configuration file: "
		    "use -c FILE (HOME is not set)\n");
		return 1;
	}
	if ((tf = cli_abs_file("--token-file", o->token_file)) == NULL ||
	    (o->ca != NULL && (ca = cli_abs_file("--ca", o->ca)) == NULL))
		goto done;
	memset(&ag, 0, sizeof(ag));
	ag.name = args[0];
	ag.url = args[1];
	ag.token_file = tf;
	ag.ca = ca;
	if (conf_edit_add_agent(path, &ag, err, sizeof(err)) == -1) {
		fprintf(stderr, "vantage: agent add: %s\n", cli_safe(err, safe,
		    sizeof(safe)));
		goto done;
	}
	printf("added agent '%s' (%s) to %s\n", ag.name, cli_safe(ag.url,
	    safe, sizeof(safe)), cli_safe(path, err, sizeof(err)));
	rc = 0;
done:
	free(tf);
	free(ca);
	free(path);
	return rc;
}
