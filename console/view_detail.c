/*
 * view_detail.c - one probe of one agent: state, the last result's phase
 * timings, certificate days left, the hour's statistics, a latency graph
 * from /series over 1h, 6h, 24h or 7d (UTF-8 block characters, ASCII
 * when the locale is not UTF-8) and the recent errors from /results.
 *
 * Results are fetched incrementally: the first request asks for the last
 * hour, every later one only for rows after the newest held (`since`).
 */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vantage.h"

#define VD_KEEP		500		/* results held */
#define VD_SERIES_MS	30000		/* series refetch period */
#define VD_LABEL	8		/* y-axis label width */

static const struct vd_range {
	const char	*name;
	int64_t		 secs;
	int64_t		 step;
} vd_ranges[] = {
	{ "1h", 3600, 60 },
	{ "6h", 6 * 3600, 300 },
	{ "24h", 86400, 900 },
	{ "7d", 7 * 86400, 3600 },
};
#define VD_NRANGES	(int)(sizeof(vd_ranges) / sizeof(vd_ranges[0]))

static const struct view_help vd_help[] = {
	{ "t  T", "next / previous graph range: 1h 6h 24h 7d" },
	{ "R", "fetch results and graph again now" },
	{ "graph", "average latency per column (the highest bucket when "
	    "several fall in one); failures in the bucket mark it red" },
	{ NULL, NULL }
};

struct view_detail {
	struct view		 v;
	char			*agent;
	char			*probe;
	int			 aidx;
	/* results, oldest first */
	struct model_result	*res;
	int			 n_res;
	int64_t			 since;		/* agent clock, ms */
	struct fetch_req	*res_req;
	int64_t			 res_due;	/* monotonic */
	char			 res_err[300];
	/* series */
	int			 range;
	struct model_series	 series;
	int			 series_range;	/* -1: none held */
	int64_t			 series_from;
	int64_t			 series_to;
	struct fetch_req	*series_req;
	int			 series_req_range;
	int64_t			 series_due;
	char			 series_err[300];
};

static struct fleet_agent *
vd_agent(struct view_detail *d)
{
	return &ui_fleet(d->v.ui)->agents[d->aidx];
}

/* The agent's clock, which the since/from/to cursors are in. */
static int64_t
vd_agent_now(struct view_detail *d)
{
	struct fleet_agent	*a = vd_agent(d);

	return fetch_now_ms() + (a->has_skew ? a->skew_ms : 0);
}

static const struct model_probe *
vd_probe(struct view_detail *d)
{
	const struct model_status	*st = vd_agent(d)->status;
	int				 i;

	for (i = 0; st != NULL && i < st->n_probes; i++) {
		if (strcmp(st->probes[i].name, d->probe) == 0)
			return &st->probes[i];
	}
	return NULL;
}

static void vd_fetch_results(struct view_detail *);

static void
vd_results_done(struct fleet_agent *a, const struct fetch_resp *r, void *arg)
{
	struct view_detail	*d = arg;
	struct model_results	 mr;
	char			 err[256];
	int			 i, drop, more;

	d->res_req = NULL;
	d->res_due = fetch_mono_ms() + a->fleet->conf->refresh_ms;
	a->fleet->gen++;
	if (r->err != FETCH_OK) {
		snprintf(d->res_err, sizeof(d->res_err), "results: %.250s",
		    r->errmsg);
		return;
	}
	if (model_parse_results(r->body, r->len, &mr, err, sizeof(err)) != 0) {
		snprintf(d->res_err, sizeof(d->res_err), "results: %.250s",
		    err);
		return;
	}
	d->res_err[0] = '\0';
	d->res = xreallocarray(d->res, (size_t)d->n_res + mr.n_results + 1,
	    sizeof(*d->res));
	for (i = 0; i < mr.n_results; i++) {
		if (mr.results[i].t_ms <= d->since) {
			model_result_free(&mr.results[i]);
			continue;	/* the cursor only moves forward */
		}
		d->res[d->n_res++] = mr.results[i];
		d->since = mr.results[i].t_ms;
	}
	free(mr.results);
	more = mr.more && mr.n_results > 0;
	if (d->n_res > VD_KEEP) {
		drop = d->n_res - VD_KEEP;
		for (i = 0; i < drop; i++)
			model_result_free(&d->res[i]);
		memmove(d->res, d->res + drop, VD_KEEP * sizeof(*d->res));
		d->n_res = VD_KEEP;
	}
	if (more)
		vd_fetch_results(d);
}

static void
vd_fetch_results(struct view_detail *d)
{
	struct fleet_agent	*a = vd_agent(d);
	char			 q[96], *path;

	if (d->res_req != NULL)
		return;
	if (d->since == 0)
		d->since = vd_agent_now(d) - 3600 * 1000;
	snprintf(q, sizeof(q), "results?since=%" PRId64 "&limit=1000",
	    d->since);
	path = fleet_path("probes", d->probe, q);
	d->res_req = fleet_request(a, path, NULL, vd_results_done, d);
	free(path);
	if (d->res_req == NULL)
		d->res_due = fetch_mono_ms() + a->fleet->conf->refresh_ms;
}

static void
vd_series_done(struct fleet_agent *a, const struct fetch_resp *r, void *arg)
{
	struct view_detail	*d = arg;
	struct model_series	 s;
	char			 err[256];

	d->series_req = NULL;
	a->fleet->gen++;
	if (r->err != FETCH_OK) {
		snprintf(d->series_err, sizeof(d->series_err), "graph: %.250s",
		    r->errmsg);
		return;
	}
	if (model_parse_series(r->body, r->len, &s, err, sizeof(err)) != 0) {
		snprintf(d->series_err, sizeof(d->series_err), "graph: %.250s",
		    err);
		return;
	}
	d->series_err[0] = '\0';
	model_series_free(&d->series);
	d->series = s;
	d->series_range = d->series_req_range;
}

static void
vd_fetch_series(struct view_detail *d)
{
	const struct vd_range	*rg = &vd_ranges[d->range];
	char			 q[128], *path;
	int64_t			 now = vd_agent_now(d);

	fleet_cancel(ui_fleet(d->v.ui), &d->series_req);
	d->series_to = now;
	d->series_from = now - rg->secs * 1000;
	snprintf(q, sizeof(q), "series?from=%" PRId64 "&to=%" PRId64
	    "&step=%" PRId64, d->series_from, d->series_to, rg->step);
	path = fleet_path("probes", d->probe, q);
	d->series_req = fleet_request(vd_agent(d), path, NULL,
	    vd_series_done, d);
	d->series_req_range = d->range;
	d->series_due = fetch_mono_ms() + VD_SERIES_MS;
	free(path);
}

static void
vd_tick(struct view *v)
{
	struct view_detail	*d = (struct view_detail *)v;
	int64_t			 now = fetch_mono_ms();

	/* nothing but status polls to an agent that is failing */
	if (vd_agent(d)->fails > 0)
		return;
	if (d->res_req == NULL && now >= d->res_due)
		vd_fetch_results(d);
	if (d->series_req == NULL && now >= d->series_due)
		vd_fetch_series(d);
}

/* ---- drawing ---- */

/* 1, 2, 5 x 10^k at or above v, so the axis reads well. */
static int64_t
vd_nice(int64_t v)
{
	int64_t	p = 1;

	while (p * 10 <= v)
		p *= 10;
	if (v <= p)
		return p;
	if (v <= 2 * p)
		return 2 * p;
	if (v <= 5 * p)
		return 5 * p;
	return 10 * p;
}

static void
vd_graph(struct view_detail *d, int y, int x, int gh, int w)
{
	static const char *const blocks[] = {
		" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585",
		"\u2586", "\u2587", "\u2588"
	};
	static const char *const ascii[] = {
		" ", ".", ".", ".", ":", ":", ":", ":", "#"
	};
	struct ui		*ui = d->v.ui;
	const char *const	*glyph = ui_utf8(ui) ? blocks : ascii;
	const struct vd_range	*rg = &vd_ranges[d->series_range];
	int			 gw = w - VD_LABEL - 1, c, c0, c1, r, i, e;
	int64_t			*val, span, ymax = 0, v;
	char			*bad, lab[32];

	if (gw < 10 || gh < 1)
		return;
	val = xcalloc((size_t)gw, sizeof(*val));
	bad = xcalloc((size_t)gw, 1);
	for (c = 0; c < gw; c++)
		val[c] = -1;
	span = d->series_to - d->series_from;
	for (i = 0; i < d->series.n_points; i++) {
		const struct model_point *p = &d->series.points[i];

		if (p->n <= 0 || p->t_ms < d->series_from - rg->step * 1000 ||
		    p->t_ms > d->series_to)
			continue;
		/* a bucket of failures only has no latency: a red tick */
		v = p->avg_us != VANTAGE_NONE ? p->avg_us : 0;
		/* a bucket covers every column of its time span */
		c0 = span > 0 ? (int)((p->t_ms - d->series_from) * gw /
		    span) : 0;
		c1 = span > 0 ? (int)((p->t_ms + d->series.step_s * 1000 -
		    d->series_from) * gw / span) - 1 : 0;
		if (c1 < c0)
			c1 = c0;
		for (c = c0 < 0 ? 0 : c0; c <= c1 && c < gw; c++) {
			if (v > val[c])
				val[c] = v;
			if (p->n > p->ok + p->degraded)
				bad[c] = 1;
		}
		if (v > ymax)
			ymax = v;
	}
	ymax = vd_nice(ymax > 0 ? ymax : 1000);
	ui_put(y, x, VD_LABEL, ui_attr(ui, UI_C_DIM), ui_us(ymax, lab,
	    sizeof(lab)));
	ui_put(y + gh - 1, x, VD_LABEL, ui_attr(ui, UI_C_DIM), "0");
	for (c = 0; c < gw; c++) {
		if (val[c] < 0)
			continue;
		e = (int)((val[c] * gh * 8 + ymax / 2) / ymax);
		if (e < 1)
			e = 1;
		for (r = 0; r < gh; r++) {
			int cell = e - r * 8;

			if (cell <= 0)
				break;
			if (cell > 8)
				cell = 8;
			ui_put(y + gh - 1 - r, x + VD_LABEL + 1 + c, 1,
			    ui_attr(ui, bad[c] ? UI_C_BAD : UI_C_GRAPH),
			    glyph[cell]);
		}
	}
	/* the time axis */
	ui_put(y + gh, x + VD_LABEL + 1, gw, ui_attr(ui, UI_C_DIM), "");
	ui_putf(y + gh, x + VD_LABEL + 1, 8, ui_attr(ui, UI_C_DIM), "-%s",
	    rg->name);
	ui_put(y + gh, x + VD_LABEL + 1 + gw - 3, 3, ui_attr(ui, UI_C_DIM),
	    "now");
	free(val);
	free(bad);
}

static void
vd_draw(struct view *v, int y, int x, int h, int w)
{
	struct view_detail		*d = (struct view_detail *)v;
	struct ui			*ui = v->ui;
	struct fleet_agent		*a = vd_agent(d);
	const struct model_probe	*p = vd_probe(d);
	const struct model_result	*l;
	int64_t				 now = fetch_now_ms();
	char				 b[8][48];
	int				 row = y, end = y + h, i, k, gh, nerr;
	int				 dim = ui_attr(ui, UI_C_DIM), xx;

	if (!fleet_agent_usable(a, now))
		ui_putf(row++, x, w, ui_attr(ui, UI_C_BAD), " agent %s %s: "
		    "%s; showing what it last said (%s)", a->conf->name,
		    fleet_state_str(fleet_agent_state(a, now)),
		    fleet_agent_reason(a)[0] != '\0' ? fleet_agent_reason(a) :
		    "no fresh data", a->status != NULL ? ui_ago(a->last_ok_ms,
		    now, b[0], sizeof(b[0])) : "never");
	if (p == NULL) {
		ui_putf(row + 1, x + 1, w - 2, dim, "%s has no probe '%s' "
		    "(any more)", a->conf->name, d->probe);
		return;
	}
	xx = ui_putf(row, x, w, A_BOLD, " %s", p->name);
	xx += ui_putf(row, x + xx, w - xx, dim, "  %s  %s", p->type,
	    p->target);
	row++;
	xx = ui_put(row, x, w, A_NORMAL, " state ");
	xx += ui_put(row, x + xx, w - xx, ui_state_attr(ui, p->state),
	    model_state_str(p->state));
	ui_putf(row++, x + xx, w - xx, A_NORMAL, " since %s, every %s",
	    ui_ago(p->state_since_ms, now, b[0], sizeof(b[0])),
	    parse_fmt_duration(p->interval_ms, b[1], sizeof(b[1])));
	if (p->has_last) {
		l = &p->last;
		xx = ui_putf(row, x, w, A_NORMAL, " last  %s  ", ui_ago(
		    l->t_ms, now, b[0], sizeof(b[0])));
		xx += ui_put(row, x + xx, w - xx, l->status == MODEL_R_OK ?
		    ui_attr(ui, UI_C_OK) : l->status == MODEL_R_DEGRADED ?
		    ui_attr(ui, UI_C_WARN) : ui_attr(ui, UI_C_BAD),
		    model_rstatus_str(l->status));
		if (l->code != VANTAGE_NONE)
			snprintf(b[1], sizeof(b[1]), "  code %" PRId64,
			    l->code);
		else
			b[1][0] = '\0';
		ui_putf(row++, x + xx, w - xx, A_NORMAL, "  %s%s%s%s",
		    ui_us(l->latency_us, b[2], sizeof(b[2])), b[1],
		    l->error[0] != '\0' ? "  error: " : "", l->error);
		ui_putf(row++, x, w, A_NORMAL, " phases  dns %s  connect %s  "
		    "tls %s  first byte %s  total %s", ui_us(l->dns_us, b[0],
		    sizeof(b[0])), ui_us(l->connect_us, b[1], sizeof(b[1])),
		    ui_us(l->tls_us, b[2], sizeof(b[2])), ui_us(l->ttfb_us,
		    b[3], sizeof(b[3])), ui_us(l->latency_us, b[4],
		    sizeof(b[4])));
		if (l->cert_days != VANTAGE_NONE) {
			xx = ui_put(row, x, w, A_NORMAL, " certificate ");
			ui_putf(row++, x + xx, w - xx, l->cert_days < 7 ?
			    ui_attr(ui, UI_C_BAD) : l->cert_days < 14 ?
			    ui_attr(ui, UI_C_WARN) : ui_attr(ui, UI_C_OK),
			    "%" PRId64 " days left", l->cert_days);
		}
	} else
		ui_put(row++, x, w, dim, " no result yet");
	if (p->stats.runs > 0)
		ui_putf(row++, x, w, A_NORMAL, " last hour  %" PRId64 " runs, "
		    "%.1f%% ok, %" PRId64 " degraded, %" PRId64 " failed, "
		    "avg %s, p95 %s", p->stats.runs, 100.0 *
		    (double)p->stats.ok / (double)p->stats.runs,
		    p->stats.degraded, p->stats.fail, ui_us(p->stats.avg_us,
		    b[0], sizeof(b[0])), ui_us(p->stats.p95_us, b[1],
		    sizeof(b[1])));
	row++;
	/* the graph takes what the errors leave, between 3 and 12 rows */
	for (nerr = 0, i = 0; i < d->n_res; i++)
		nerr += d->res[i].status != MODEL_R_OK;
	gh = end - row - 3 - (nerr > 0 ? (nerr < 4 ? nerr : 4) + 1 : 1);
	if (gh > 12)
		gh = 12;
	xx = ui_put(row, x, w, A_BOLD, " latency ");
	for (i = 0; i < VD_NRANGES; i++)
		xx += ui_putf(row, x + xx, w - xx, i == d->range ? (int)A_REVERSE :
		    dim, " %s ", vd_ranges[i].name);
	if (d->series_err[0] != '\0')
		ui_putf(row, x + xx, w - xx, ui_attr(ui, UI_C_BAD), "  %s",
		    d->series_err);
	else
		ui_put(row, x + xx, w - xx, dim, "  (t: next range)");
	row++;
	if (gh >= 3 && row + gh + 1 <= end) {
		if (d->series_range < 0)
			ui_put(row, x + 1, w - 1, dim, "fetching...");
		else if (d->series.n_points == 0)
			ui_put(row, x + 1, w - 1, dim, "no data for this range "
			    "yet (the agent rolls results up every minute)");
		else
			vd_graph(d, row, x, gh, w);
		row += gh + 1;
	}
	if (row >= end)
		return;
	row++;
	if (row >= end)
		return;
	if (d->res_err[0] != '\0') {
		ui_put(row++, x, w, ui_attr(ui, UI_C_BAD), d->res_err);
		if (row >= end)
			return;
	}
	ui_putf(row++, x, w, A_BOLD, " recent errors %s", nerr == 0 ?
	    "(none in the results held)" : "");
	for (k = d->n_res - 1; k >= 0 && row < end; k--) {
		const struct model_result *r = &d->res[k];

		if (r->status == MODEL_R_OK)
			continue;
		ui_putf(row++, x, w, r->status == MODEL_R_FAIL ?
		    ui_attr(ui, UI_C_BAD) : ui_attr(ui, UI_C_WARN),
		    "  %s  %-8s %8s  %s", ui_clock(r->t_ms, "%H:%M:%S", b[0],
		    sizeof(b[0])), model_rstatus_str(r->status),
		    ui_us(r->latency_us, b[1], sizeof(b[1])), r->error);
	}
}

static int
vd_key(struct view *v, int key)
{
	struct view_detail	*d = (struct view_detail *)v;

	switch (key) {
	case 't':
		d->range = (d->range + 1) % VD_NRANGES;
		vd_fetch_series(d);
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'T':
		d->range = (d->range + VD_NRANGES - 1) % VD_NRANGES;
		vd_fetch_series(d);
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'R':
		d->res_due = 0;
		d->series_due = 0;
		fleet_refresh_agent(vd_agent(d));
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	return 0;
}

static void
vd_title(struct view *v, char *buf, size_t len)
{
	struct view_detail	*d = (struct view_detail *)v;

	snprintf(buf, len, "%s@%s", d->probe, d->agent);
}

static void
vd_free(struct view *v)
{
	struct view_detail	*d = (struct view_detail *)v;
	struct fleet		*fl = ui_fleet(v->ui);
	int			 i;

	fleet_cancel(fl, &d->res_req);
	fleet_cancel(fl, &d->series_req);
	for (i = 0; i < d->n_res; i++)
		model_result_free(&d->res[i]);
	free(d->res);
	model_series_free(&d->series);
	free(d->agent);
	free(d->probe);
	free(d);
}

/* `:detail AGENT PROBE` */
static struct view *
vd_open(struct ui *ui, const char *arg)
{
	const struct fleet_agent	*a;
	const struct model_status	*st;
	char				 agent[256];
	const char			*probe;
	size_t				 n;
	int				 i;

	if (arg == NULL || (n = strcspn(arg, " ")) == 0 || arg[n] == '\0') {
		ui_message(ui, 1, "usage: :detail AGENT PROBE");
		return NULL;
	}
	snprintf(agent, sizeof(agent), "%.*s", (int)n, arg);
	for (probe = arg + n; *probe == ' '; probe++)
		;
	if ((a = fleet_find(ui_fleet(ui), agent)) == NULL) {
		ui_message(ui, 1, "no agent %s", agent);
		return NULL;
	}
	/* an agent not heard from yet may have it: open and see */
	if ((st = a->status) != NULL) {
		for (i = 0; i < st->n_probes; i++) {
			if (strcmp(st->probes[i].name, probe) == 0)
				break;
		}
		if (i == st->n_probes) {
			ui_message(ui, 1, "agent %s has no probe %s", agent,
			    probe);
			return NULL;
		}
	}
	return view_detail_new(ui, agent, probe);
}

const struct view_class view_detail_class = {
	.name = "detail",
	.aliases = "show",
	.hotkey = 0,
	.what = "one probe as one agent sees it: graph, phases, errors",
	.usage = "AGENT PROBE",
	.arg = UI_ARG_AGENT_PROBE,
	.open = vd_open,
	.title = vd_title,
	.draw = vd_draw,
	.key = vd_key,
	.tick = vd_tick,
	.free = vd_free,
	.help = vd_help,
};

struct view *
view_detail_new(struct ui *ui, const char *agent, const char *probe)
{
	struct view_detail	*d;
	struct fleet_agent	*a;

	d = xcalloc(1, sizeof(*d));
	d->v.cls = &view_detail_class;
	d->v.ui = ui;
	d->agent = xstrdup(agent);
	d->probe = xstrdup(probe);
	a = fleet_find(ui_fleet(ui), agent);
	d->aidx = a != NULL ? a->idx : 0;
	d->series_range = -1;
	return &d->v;
}
