/*
 * view_detail.c - one probe of one agent: state, the last result's phase
 * timings, certificate days left, the hour's statistics, a latency graph
 * over 1h (from the raw /results), 6h, 24h or 7d (from /series; UTF-8
 * block characters, ASCII when the locale is not UTF-8) and the recent
 * errors from /results.  An agent that does not answer is said so, with
 * since when and how old the data shown is.
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

#define VD_KEEP		4000		/* results held: an hour at 1s */
#define VD_RAW_SECS	3600		/* ranges drawn from raw results */
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
	{ "graph", "mean latency of the runs that worked, per column: up to "
	    "1h from each result, longer ranges from the agent's roll-up; "
	    "a column with failures is red (bold), one whose runs all "
	    "failed is a column of x, one that could not check (unknown) "
	    "a ?" },
	{ "/", "filter the recent errors (status or error text)" },
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

/* Ranges up to an hour are drawn from the raw results: they start with
 * the first result and never lag behind the agent's minute roll-up. */
static int
vd_raw(const struct view_detail *d)
{
	return vd_ranges[d->range].secs <= VD_RAW_SECS;
}

/* A result of the recent list passes the `/` filter. */
static int
vd_shown(const struct view_detail *d, const struct model_result *r)
{
	return ui_match(&d->v, model_rstatus_str(r->status), r->error, NULL);
}

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
	if (!vd_raw(d) && d->series_req == NULL && now >= d->series_due)
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

/*
 * One column of the graph: the mean latency of the runs that worked
 * (ok or degraded) and how many did not.  A column whose runs all failed
 * has no latency to draw: it is drawn as a failure ('x' from the floor
 * up, in the BAD colour), never as a short bar; one whose runs could
 * not check anything ("unknown") as '?'.
 */
struct vd_col {
	int64_t	sum_us;
	int64_t	good;		/* ok + degraded */
	int64_t	fail;
	int64_t	unknown;
};

static void
vd_col_add(struct vd_col *cols, int gw, int64_t from, int64_t span,
    int64_t t0, int64_t t1, int64_t good, int64_t sum_us, int64_t fail,
    int64_t unknown)
{
	int	c0, c1, c;

	if (span <= 0 || t1 < from || t0 > from + span)
		return;
	c0 = (int)((t0 - from) * gw / span);
	c1 = (int)((t1 - from) * gw / span);
	if (c1 < c0)
		c1 = c0;
	/* a bucket covers every column of its time span */
	for (c = c0 < 0 ? 0 : c0; c <= c1 && c < gw; c++) {
		cols[c].good += good;
		cols[c].sum_us += sum_us;
		cols[c].fail += fail;
		cols[c].unknown += unknown;
	}
}

/* Raw results (ranges up to an hour) or the agent's series, by column. */
static struct vd_col *
vd_columns(struct view_detail *d, int gw, int64_t *from, int64_t *span)
{
	const struct vd_range	*rg = &vd_ranges[d->range];
	struct vd_col		*cols = xcalloc((size_t)gw, sizeof(*cols));
	int			 i;

	if (vd_raw(d)) {
		*span = rg->secs * 1000;
		*from = vd_agent_now(d) - *span;
		for (i = 0; i < d->n_res; i++) {
			const struct model_result *r = &d->res[i];
			int ok = r->status == MODEL_R_OK ||
			    r->status == MODEL_R_DEGRADED;

			vd_col_add(cols, gw, *from, *span, r->t_ms, r->t_ms,
			    ok, ok && r->latency_us != VANTAGE_NONE ?
			    r->latency_us : 0, r->status == MODEL_R_FAIL,
			    r->status == MODEL_R_UNKNOWN);
		}
		return cols;
	}
	*from = d->series_from;
	*span = d->series_to - d->series_from;
	for (i = 0; i < d->series.n_points; i++) {
		const struct model_point *p = &d->series.points[i];
		int64_t good = p->ok + p->degraded;

		if (p->n <= 0)
			continue;
		vd_col_add(cols, gw, *from, *span, p->t_ms, p->t_ms +
		    d->series.step_s * 1000 - 1, good, p->avg_us !=
		    VANTAGE_NONE ? p->avg_us * good : 0, p->n - good, 0);
	}
	return cols;
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
	const struct vd_range	*rg = &vd_ranges[d->range];
	int			 gw = w - VD_LABEL - 1, c, r, e;
	int64_t			 ymax = 0, v, from, span;
	struct vd_col		*cols;
	char			 lab[32];

	if (gw < 10 || gh < 1)
		return;
	cols = vd_columns(d, gw, &from, &span);
	for (c = 0; c < gw; c++) {
		if (cols[c].good > 0 && cols[c].sum_us / cols[c].good > ymax)
			ymax = cols[c].sum_us / cols[c].good;
	}
	ymax = vd_nice(ymax > 0 ? ymax : 1000);
	ui_put(y, x, VD_LABEL, ui_attr(ui, UI_C_DIM), ui_us(ymax, lab,
	    sizeof(lab)));
	ui_put(y + gh - 1, x, VD_LABEL, ui_attr(ui, UI_C_DIM), "0");
	for (c = 0; c < gw; c++) {
		const struct vd_col *k = &cols[c];
		int cx = x + VD_LABEL + 1 + c;

		if (k->good == 0 && k->fail > 0) {
			for (r = 0; r < gh; r++)
				ui_put(y + r, cx, 1, ui_attr(ui, UI_C_BAD) |
				    A_BOLD, "x");
			continue;
		}
		if (k->good == 0 && k->unknown > 0) {
			ui_put(y + gh - 1, cx, 1, ui_attr(ui, UI_C_DIM), "?");
			continue;
		}
		if (k->good == 0)
			continue;
		v = k->sum_us / k->good;
		e = (int)((v * gh * 8 + ymax / 2) / ymax);
		if (e < 1)
			e = 1;
		for (r = 0; r < gh; r++) {
			int cell = e - r * 8;

			if (cell <= 0)
				break;
			if (cell > 8)
				cell = 8;
			ui_put(y + gh - 1 - r, cx, 1, ui_attr(ui, k->fail > 0 ?
			    UI_C_BAD : UI_C_GRAPH), glyph[cell]);
		}
	}
	/* the time axis */
	ui_put(y + gh, x + VD_LABEL + 1, gw, ui_attr(ui, UI_C_DIM), "");
	ui_putf(y + gh, x + VD_LABEL + 1, 8, ui_attr(ui, UI_C_DIM), "-%s",
	    rg->name);
	ui_put(y + gh, x + VD_LABEL + 1 + gw - 3, 3, ui_attr(ui, UI_C_DIM),
	    "now");
	free(cols);
}

static int
vd_rstatus_attr(struct ui *ui, enum model_rstatus s)
{
	switch (s) {
	case MODEL_R_OK:
		return ui_attr(ui, UI_C_OK);
	case MODEL_R_DEGRADED:
		return ui_attr(ui, UI_C_WARN);
	case MODEL_R_FAIL:
		return ui_attr(ui, UI_C_BAD);
	case MODEL_R_UNKNOWN:
		return ui_attr(ui, UI_C_DIM);
	}
	return 0;
}

/* "unknown" says what it means: the check did not run, nothing failed. */
static const char *
vd_rstatus_word(enum model_rstatus s)
{
	return s == MODEL_R_UNKNOWN ? "unknown (check could not run)" :
	    model_rstatus_str(s);
}

/* An agent that does not answer: since when, and how old what is shown. */
static int
vd_draw_agent(struct view_detail *d, int row, int x, int w, int64_t now)
{
	struct ui		*ui = d->v.ui;
	struct fleet_agent	*a = vd_agent(d);
	enum fleet_state	 s = fleet_agent_state(a, now);
	int64_t			 since = ui_agent_down_since(ui, a);
	char			 t1[32], t2[32], a1[32], a2[32];

	if (fleet_agent_usable(a, now))
		return row;
	if (s == FLEET_CONNECTING) {
		ui_putf(row++, x, w, ui_attr(ui, UI_C_DIM), " agent %s: "
		    "waiting for its first answer", a->conf->name);
		return row;
	}
	if (since > 0)
		ui_putf(row++, x, w, ui_attr(ui, UI_C_BAD), " agent %s %s "
		    "since %s (%s), last data from %s (%s): %s",
		    a->conf->name, fleet_state_str(s), ui_clock(since,
		    "%H:%M:%S", t1, sizeof(t1)), ui_ago(since, now, a1,
		    sizeof(a1)), a->status != NULL ? ui_clock(a->last_ok_ms,
		    "%H:%M:%S", t2, sizeof(t2)) : "never", a->status != NULL ?
		    ui_ago(a->last_ok_ms, now, a2, sizeof(a2)) : "-",
		    fleet_agent_reason(a)[0] != '\0' ? fleet_agent_reason(a) :
		    "no answer");
	else
		ui_putf(row++, x, w, ui_attr(ui, UI_C_WARN), " agent %s %s, "
		    "last data from %s (%s)", a->conf->name,
		    fleet_state_str(s), ui_clock(a->last_ok_ms, "%H:%M:%S", t2,
		    sizeof(t2)), ui_ago(a->last_ok_ms, now, a2, sizeof(a2)));
	return row;
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
	int				 dim = ui_attr(ui, UI_C_DIM), xx, usable;

	usable = fleet_agent_usable(a, now);
	row = vd_draw_agent(d, row, x, w, now);
	if (p == NULL) {
		if (a->status == NULL)
			ui_putf(row + 1, x + 1, w - 2, dim, "no data from %s "
			    "yet: its probes are unknown", a->conf->name);
		else
			ui_putf(row + 1, x + 1, w - 2, dim, "%s has no probe "
			    "'%s' (any more)", a->conf->name, d->probe);
		return;
	}
	xx = ui_putf(row, x, w, A_BOLD, " %s", p->name);
	xx += ui_putf(row, x + xx, w - xx, dim, "  %s  %s", p->type,
	    p->target);
	row++;
	xx = ui_put(row, x, w, A_NORMAL, " state ");
	xx += ui_put(row, x + xx, w - xx, ui_state_attr(ui, p->state),
	    model_state_str(p->state));
	ui_putf(row++, x + xx, w - xx, A_NORMAL, " since %s, every %s%s",
	    ui_ago(p->state_since_ms, now, b[0], sizeof(b[0])),
	    parse_fmt_duration(p->interval_ms, b[1], sizeof(b[1])),
	    usable ? "" : " (as last reported)");
	if (p->has_last) {
		l = &p->last;
		xx = ui_putf(row, x, w, A_NORMAL, " last  %s  ", ui_ago(
		    l->t_ms, now, b[0], sizeof(b[0])));
		xx += ui_put(row, x + xx, w - xx, vd_rstatus_attr(ui,
		    l->status), vd_rstatus_word(l->status));
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
		nerr += d->res[i].status != MODEL_R_OK && vd_shown(d,
		    &d->res[i]);
	gh = end - row - 3 - (nerr > 0 ? (nerr < 4 ? nerr : 4) + 1 : 1);
	if (gh > 12)
		gh = 12;
	xx = ui_put(row, x, w, A_BOLD, " latency ");
	for (i = 0; i < VD_NRANGES; i++)
		xx += ui_putf(row, x + xx, w - xx, i == d->range ? (int)A_REVERSE :
		    dim, " %s ", vd_ranges[i].name);
	if (!vd_raw(d) && d->series_err[0] != '\0')
		ui_putf(row, x + xx, w - xx, ui_attr(ui, UI_C_BAD), "  %s",
		    d->series_err);
	else
		ui_putf(row, x + xx, w - xx, dim, "  %s (t: next range)",
		    vd_raw(d) ? "from each result" : "rolled up by the agent");
	row++;
	if (gh >= 3 && row + gh + 1 <= end) {
		const char *why = NULL;

		if (vd_raw(d) ? d->n_res == 0 : d->series_range != d->range) {
			/* nothing held: say why, never "fetching" forever */
			if (!usable)
				why = a->status == NULL ? "no graph: the agent "
				    "has not answered yet" : "no graph: the "
				    "agent does not answer (see above)";
			else if (vd_raw(d) ? d->res_req != NULL :
			    d->series_req != NULL)
				why = "fetching...";
			else if (vd_raw(d) && d->res_err[0] != '\0')
				why = d->res_err;
			else if (!vd_raw(d) && d->series_err[0] != '\0')
				why = d->series_err;
			else if (vd_raw(d))
				why = "no result in the last hour";
			else
				why = "fetching...";
		} else if (!vd_raw(d) && d->series.n_points == 0)
			why = "no data for this range yet (the agent rolls "
			    "results up every minute)";
		if (why != NULL)
			ui_put(row, x + 1, w - 1, dim, why);
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
	ui_putf(row++, x, w, A_BOLD, " recent errors%s %s", v->filter[0] !=
	    '\0' ? " matching the filter" : "", nerr == 0 ?
	    "(none in the results held)" : "");
	for (k = d->n_res - 1; k >= 0 && row < end; k--) {
		const struct model_result *r = &d->res[k];

		if (r->status == MODEL_R_OK || !vd_shown(d, r))
			continue;
		ui_putf(row++, x, w, vd_rstatus_attr(ui, r->status),
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
		if (!vd_raw(d) && vd_agent(d)->fails == 0)
			vd_fetch_series(d);
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'T':
		d->range = (d->range + VD_NRANGES - 1) % VD_NRANGES;
		if (!vd_raw(d) && vd_agent(d)->fails == 0)
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
	.filterable = 1,
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
