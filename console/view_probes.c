/*
 * view_probes.c - every probe of every agent (or of one agent, or one
 * link across agents), sortable.  A probe of an agent that cannot be
 * asked right now keeps its last known state, marked "stale" and dimmed,
 * so old data is never read as current.  The odd probes of an answer
 * (model.c) follow the real ones, marked, and open no detail.
 */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

enum {
	VP_AGENT, VP_PROBE, VP_TYPE, VP_STATE, VP_SINCE, VP_LAST, VP_AVG,
	VP_P95, VP_OK, VP_CERT, VP_ERROR, VP_NCOLS
};

static const struct table_col vp_cols[VP_NCOLS] = {
	[VP_AGENT] = { "AGENT", 6, 20, 0, 0, TABLE_KEEP },
	[VP_PROBE] = { "PROBE", 6, 28, 0, 0, TABLE_KEEP },
	[VP_TYPE] = { "TYPE", 4, 5, 0, 0, 5 },
	[VP_STATE] = { "STATE", 8, 16, 0, 0, TABLE_KEEP },
	[VP_SINCE] = { "SINCE", 6, 10, 0, 0, 6 },
	[VP_LAST] = { "LAST", 6, 0, 0, 1, TABLE_KEEP },
	[VP_AVG] = { "AVG 1H", 6, 0, 0, 1, 3 },
	[VP_P95] = { "P95 1H", 6, 0, 0, 1, 2 },
	[VP_OK] = { "OK+DEG 1H", 9, 0, 0, 1, 4 },
	[VP_CERT] = { "CERT", 4, 0, 0, 1, 1 },
	[VP_ERROR] = { "ERROR / TARGET", 16, 0, 1, 0, TABLE_KEEP },
};

static const char *const vp_sorts[] = {
	"agent", "probe", "state", "latency", "p95", "cert", NULL
};
static const int vp_sort_col[] = {
	VP_AGENT, VP_PROBE, VP_STATE, VP_LAST, VP_P95, VP_CERT
};

static const struct view_help vp_help[] = {
	{ "Enter", "detail of the probe: latency graph, phases, errors" },
	{ NULL, NULL }
};

struct vp_row {
	int	agent;
	int	probe;		/* < 0: odd_probes.v[-1 - probe] */
};

struct view_probes {
	struct view	 v;
	struct table	 t;
	char		*agent;		/* restrict to one agent */
	char		*probe;		/* restrict to one link */
	struct vp_row	*rows;
	int		 n;
	int		 cap;
	int64_t		 now;
	int		 keep_agent;
	char		 keep_probe[257];
};

static const struct model_probe *
vp_probe(struct view_probes *p, int row)
{
	struct fleet	*fl = ui_fleet(p->v.ui);

	if (p->rows[row].probe < 0)
		return NULL;
	return &fl->agents[p->rows[row].agent].status->probes[
	    p->rows[row].probe];
}

static void
vp_add(struct view_probes *p, int agent, int probe)
{
	if (p->n == p->cap) {
		p->cap = p->cap * 2 + 64;
		p->rows = xreallocarray(p->rows, (size_t)p->cap,
		    sizeof(*p->rows));
	}
	p->rows[p->n].agent = agent;
	p->rows[p->n++].probe = probe;
}

static int
vp_rank(enum model_state s)
{
	switch (s) {
	case MODEL_DOWN:
		return 0;
	case MODEL_DEGRADED:
		return 1;
	case MODEL_UNKNOWN:
		return 2;
	case MODEL_UP:
		return 3;
	}
	return 4;
}

static struct view_probes *vp_sorting;

static int64_t
vp_key_num(const struct model_probe *p, int sort)
{
	int64_t	v = VANTAGE_NONE;

	if (sort == 3 && p->has_last)
		v = p->last.latency_us;
	else if (sort == 4)
		v = p->stats.p95_us;
	else if (sort == 5 && p->has_last)
		v = p->last.cert_days;
	return v == VANTAGE_NONE ? INT64_MAX : v;	/* none sorts last */
}

static int
vp_cmp(const void *x, const void *y)
{
	struct view_probes		*p = vp_sorting;
	struct fleet			*fl = ui_fleet(p->v.ui);
	const struct vp_row		*ra = x, *rb = y;
	const struct fleet_agent	*aa = &fl->agents[ra->agent];
	const struct fleet_agent	*ab = &fl->agents[rb->agent];
	const struct model_probe	*a = &aa->status->probes[ra->probe];
	const struct model_probe	*b = &ab->status->probes[rb->probe];
	int64_t				 d = 0, ka, kb;

	switch (p->v.sort) {
	case 0:
		d = strcmp(aa->conf->name, ab->conf->name);
		break;
	case 1:
		d = strcmp(a->name, b->name);
		break;
	case 2:
		d = vp_rank(a->state) - vp_rank(b->state);
		break;
	default:
		ka = vp_key_num(a, p->v.sort);
		kb = vp_key_num(b, p->v.sort);
		d = ka < kb ? -1 : ka > kb;
		break;
	}
	if (d == 0)
		d = strcmp(aa->conf->name, ab->conf->name);
	if (d == 0)
		d = strcmp(a->name, b->name);
	if (p->v.sort_desc)
		d = -d;
	return d < 0 ? -1 : d > 0;
}

static void
vp_build(struct view_probes *p)
{
	struct fleet	*fl = ui_fleet(p->v.ui);
	int		 i, k, sel = p->t.sel;

	if (p->n > 0 && p->t.sel < p->n) {
		/* rows are from the last draw; the status may be newer */
		const struct vp_row *r = &p->rows[p->t.sel];
		const struct model_status *st = fl->agents[r->agent].status;

		p->keep_agent = r->agent;
		if (st != NULL && r->probe >= 0 && r->probe < st->n_probes)
			strlcpy_v(p->keep_probe, st->probes[r->probe].name, sizeof(p->keep_probe));
	}
	p->now = fetch_now_ms();
	p->n = 0;
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (a->status == NULL || (p->agent != NULL &&
		    strcmp(p->agent, a->conf->name) != 0))
			continue;
		for (k = 0; k < a->status->n_probes; k++) {
			const struct model_probe *pr = &a->status->probes[k];

			if (p->probe != NULL && strcmp(p->probe,
			    pr->name) != 0)
				continue;
			if (!ui_match(&p->v, a->conf->name, pr->name,
			    pr->type, pr->target, model_state_str(pr->state),
			    pr->has_last ? pr->last.error : "", NULL))
				continue;
			vp_add(p, i, k);
		}
	}
	vp_sorting = p;
	if (p->n > 1)
		qsort(p->rows, (size_t)p->n, sizeof(*p->rows), vp_cmp);
	for (i = 0; i < p->n; i++) {
		if (p->rows[i].agent == p->keep_agent &&
		    strcmp(vp_probe(p, i)->name, p->keep_probe) == 0)
			sel = i;
	}
	/* the odd ones last, in the agents' order: no sort key is sound */
	for (i = 0; i < fl->n_agents; i++) {
		const struct model_odds *o;

		if (fl->agents[i].status == NULL || (p->agent != NULL &&
		    strcmp(p->agent, fl->agents[i].conf->name) != 0))
			continue;
		o = &fl->agents[i].status->odd_probes;
		for (k = 0; k < o->n; k++) {
			if (p->probe != NULL && (o->v[k].name == NULL ||
			    strcmp(p->probe, o->v[k].name) != 0))
				continue;
			if (!ui_match(&p->v, fl->agents[i].conf->name,
			    o->v[k].name != NULL ? o->v[k].name : "",
			    o->v[k].reason, NULL))
				continue;
			vp_add(p, i, -1 - k);
		}
	}
	table_set_rows(&p->t, p->n, sel);
	p->t.sort_col = vp_sort_col[p->v.sort];
	p->t.sort_desc = p->v.sort_desc;
}

static const char *
vp_cell(void *ctx, int row, int col, char *buf, size_t len, int *attr)
{
	struct view_probes		*p = ctx;
	struct ui			*ui = p->v.ui;
	const struct fleet_agent	*a = &ui_fleet(ui)->agents[
					    p->rows[row].agent];
	const struct model_probe	*pr = vp_probe(p, row);
	int				 usable = fleet_agent_usable(a, p->now);
	int				 dim = ui_attr(ui, UI_C_DIM);
	const struct model_odd		*d;
	double				 pct;

	if (pr == NULL) {
		d = &a->status->odd_probes.v[-1 - p->rows[row].probe];
		switch (col) {
		case VP_AGENT:
			return a->conf->name;
		case VP_PROBE:
			return d->name != NULL ? d->name : "?";
		case VP_STATE:
			/* shown at every width, unlike the reason */
			*attr = ui_attr(ui, UI_C_BAD);
			return "! malformed";
		case VP_ERROR:
			*attr = ui_attr(ui, UI_C_BAD);
			return model_odd_text(d->reason, buf, len);
		}
		return "";
	}

	/* the last known data of an agent that does not answer */
	if (!usable && col != VP_AGENT && col != VP_PROBE)
		*attr = dim;
	switch (col) {
	case VP_AGENT:
		return a->conf->name;
	case VP_PROBE:
		return pr->name;
	case VP_TYPE:
		return pr->type;
	case VP_STATE:
		if (!usable) {
			snprintf(buf, len, "stale:%s",
			    model_state_str(pr->state));
			return buf;
		}
		*attr = ui_state_attr(ui, pr->state);
		return model_state_str(pr->state);
	case VP_SINCE:
		return ui_ago(pr->state_since_ms, p->now, buf, len);
	case VP_LAST:
		return pr->has_last ? ui_us(pr->last.latency_us, buf, len) :
		    "-";
	case VP_AVG:
		return ui_us(pr->stats.avg_us, buf, len);
	case VP_P95:
		return ui_us(pr->stats.p95_us, buf, len);
	case VP_OK:
		/* the runs that worked, ok or degraded, and how many of
		 * them were degraded: a degraded probe is never "0.0%" */
		if (pr->stats.runs <= 0)
			return "-";
		snprintf(buf, len, "%.1f%%", 100.0 * (double)(pr->stats.ok +
		    pr->stats.degraded) / (double)pr->stats.runs);
		pct = 100.0 * (double)pr->stats.degraded /
		    (double)pr->stats.runs;
		if (pr->stats.degraded > 0)
			snprintf(buf + strlen(buf), len - strlen(buf),
			    pct < 1 ? " (<1%% deg)" : " (%.0f%% deg)", pct);
		if (usable && pr->stats.fail > 0)
			*attr = ui_attr(ui, UI_C_BAD);
		else if (usable && pr->stats.degraded > 0)
			*attr = ui_attr(ui, UI_C_WARN);
		return buf;
	case VP_CERT:
		if (!pr->has_last || pr->last.cert_days == VANTAGE_NONE)
			return "-";
		if (usable && pr->last.cert_days < 14)
			*attr = ui_attr(ui, pr->last.cert_days < 7 ?
			    UI_C_BAD : UI_C_WARN);
		snprintf(buf, len, "%" PRId64 "d", pr->last.cert_days);
		return buf;
	case VP_ERROR:
		if (!usable) {
			snprintf(buf, len, "agent %s: %s",
			    fleet_state_str(fleet_agent_state(a, p->now)),
			    fleet_agent_reason(a)[0] != '\0' ?
			    fleet_agent_reason(a) : "data is old");
			return buf;
		}
		if (pr->has_last && pr->last.status == MODEL_R_UNKNOWN) {
			*attr = ui_attr(ui, UI_C_DIM);
			snprintf(buf, len, "check not run%s%s",
			    pr->last.error[0] != '\0' ? ": " : "",
			    pr->last.error);
			return buf;
		}
		if (pr->has_last && pr->last.error[0] != '\0') {
			if (pr->state != MODEL_UP)
				*attr = ui_attr(ui, UI_C_BAD);
			return pr->last.error;
		}
		return pr->target;
	}
	return "";
}

static void
vp_draw(struct view *v, int y, int x, int h, int w)
{
	struct view_probes	*p = (struct view_probes *)v;

	const struct fleet_agent *a;
	char			 buf[700];

	vp_build(p);
	table_draw(&p->t, v->ui, y, x, h, w, vp_cell, p);
	if (p->n != 0 || h <= 2)
		return;
	/* one agent's view with nothing to list: say why, if it is the agent */
	a = p->agent != NULL ? fleet_find(ui_fleet(v->ui), p->agent) : NULL;
	if (v->filter[0] == '\0' && a != NULL &&
	    fleet_agent_state(a, p->now) != FLEET_OK &&
	    fleet_agent_reason(a)[0] != '\0') {
		snprintf(buf, sizeof(buf), "agent %s %s: %s", p->agent,
		    fleet_state_str(fleet_agent_state(a, p->now)),
		    fleet_agent_reason(a));
		ui_put(y + 2, x + 2, w - 4, ui_attr(v->ui, UI_C_BAD), buf);
		return;
	}
	ui_put(y + 2, x + 2, w - 4, ui_attr(v->ui, UI_C_DIM),
	    v->filter[0] != '\0' ? "no probe matches the filter "
	    "(Esc drops it)" : "no probes known (yet)");
}

static int
vp_key(struct view *v, int key)
{
	struct view_probes		*p = (struct view_probes *)v;
	struct fleet			*fl = ui_fleet(v->ui);
	const struct fleet_agent	*a;
	int				 rc;

	if ((rc = table_key(&p->t, key)) != 0)
		return rc;
	if (key != '\r' && key != '\n' && key != UI_FKEY(KEY_ENTER))
		return 0;
	if (p->n == 0 || p->t.sel >= p->n)
		return VIEW_HANDLED;
	/* the rows are from the last draw: check they still exist */
	a = &fl->agents[p->rows[p->t.sel].agent];
	if (a->status == NULL || p->rows[p->t.sel].probe < 0 ||
	    p->rows[p->t.sel].probe >= a->status->n_probes)
		return VIEW_HANDLED | VIEW_REDRAW;
	ui_push(v->ui, view_detail_new(v->ui, a->conf->name,
	    a->status->probes[p->rows[p->t.sel].probe].name));
	return VIEW_HANDLED | VIEW_REDRAW;
}

static void
vp_title(struct view *v, char *buf, size_t len)
{
	struct view_probes	*p = (struct view_probes *)v;

	if (p->agent != NULL)
		snprintf(buf, len, "probes @%s", p->agent);
	else if (p->probe != NULL)
		snprintf(buf, len, "probes %s", p->probe);
	else
		snprintf(buf, len, "probes");
}

static void
vp_free(struct view *v)
{
	struct view_probes	*p = (struct view_probes *)v;

	free(p->agent);
	free(p->probe);
	free(p->rows);
	free(p);
}

/* `:probes [AGENT]`: a name that is no agent is said, not shown empty. */
static struct view *
vp_open(struct ui *ui, const char *arg)
{
	if (arg != NULL && arg[0] != '\0' &&
	    fleet_find(ui_fleet(ui), arg) == NULL) {
		ui_message(ui, 1, "no agent %s", arg);
		return NULL;
	}
	return view_probes_new(ui, arg != NULL && arg[0] != '\0' ? arg : NULL,
	    NULL);
}

const struct view_class view_probes_class = {
	.name = "probes",
	.aliases = "pr",
	.hotkey = '3',
	.what = "every probe of every agent, or of AGENT",
	.usage = "[AGENT]",
	.arg = UI_ARG_AGENT,
	.open = vp_open,
	.title = vp_title,
	.draw = vp_draw,
	.key = vp_key,
	.free = vp_free,
	.help = vp_help,
	.sorts = vp_sorts,
	.filterable = 1,
};

struct view *
view_probes_new(struct ui *ui, const char *agent, const char *probe)
{
	struct view_probes	*p;

	p = xcalloc(1, sizeof(*p));
	p->v.cls = &view_probes_class;
	p->v.ui = ui;
	p->agent = agent != NULL ? xstrdup(agent) : NULL;
	p->probe = probe != NULL ? xstrdup(probe) : NULL;
	p->keep_agent = -1;
	table_init(&p->t, vp_cols, VP_NCOLS);
	p->t.pinned = 2;
	return &p->v;
}
