/*
 * view_fleet.c - the root view: one row per agent, saying first whether
 * the console can trust what it knows about it (ok, skew, stale,
 * unreachable, error, connecting) and only then what the agent reports.
 * The counts of an agent that cannot be asked are not shown at all, so a
 * dead agent never reads as a host with failing probes.
 */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

enum {
	VF_NAME, VF_STATE, VF_PROBES, VF_UP, VF_DEGRADED, VF_DOWN, VF_DRAINED,
	VF_LATENCY, VF_SKEW, VF_REFRESHED, VF_URL, VF_NCOLS
};

/* At 80 columns: the agent, whether it can be trusted, its counts of
 * up, degraded and down probes, and why it fails. */
static const struct table_col vf_cols[VF_NCOLS] = {
	[VF_NAME] = { "AGENT", 8, 24, 0, 0, TABLE_KEEP },
	[VF_STATE] = { "STATE", 11, 16, 0, 0, TABLE_KEEP },
	[VF_PROBES] = { "PROBES", 6, 0, 0, 1, 4 },
	[VF_UP] = { "UP", 3, 0, 0, 1, TABLE_KEEP },
	[VF_DEGRADED] = { "DEGRADED", 8, 0, 0, 1, TABLE_KEEP },
	[VF_DOWN] = { "DOWN", 4, 0, 0, 1, TABLE_KEEP },
	[VF_DRAINED] = { "DRAINED", 7, 0, 0, 1, 6 },
	[VF_LATENCY] = { "LATENCY", 7, 0, 0, 1, 5 },
	[VF_SKEW] = { "SKEW", 6, 0, 0, 1, 3 },
	[VF_REFRESHED] = { "REFRESHED", 9, 0, 0, 0, 2 },
	[VF_URL] = { "URL / REASON", 24, 0, 1, 0, TABLE_KEEP },
};

static const char *const vf_sorts[] = {
	"name", "state", "down", "latency", NULL
};

static const struct view_help vf_help[] = {
	{ "Enter", "the probes of the agent under the cursor" },
	{ "R", "poll the agent under the cursor now" },
	{ NULL, NULL }
};

struct view_fleet {
	struct view	 v;
	struct table	 t;
	int		*rows;		/* agent indexes */
	int		 n;
	int64_t		 now;
};

static int
vf_down(const struct fleet_agent *a)
{
	int	i, n = 0;

	for (i = 0; a->status != NULL && i < a->status->n_probes; i++)
		n += a->status->probes[i].state == MODEL_DOWN;
	return n;
}

/* Worst first when sorted by state. */
static int
vf_state_rank(enum fleet_state s)
{
	switch (s) {
	case FLEET_ERROR:
		return 0;
	case FLEET_UNREACHABLE:
		return 1;
	case FLEET_STALE:
		return 2;
	case FLEET_SKEW:
		return 3;
	case FLEET_CONNECTING:
		return 4;
	case FLEET_OK:
		return 5;
	}
	return 6;
}

static struct view_fleet *vf_sorting;	/* qsort has no context */

static int
vf_cmp(const void *x, const void *y)
{
	struct view_fleet	*f = vf_sorting;
	struct fleet		*fl = ui_fleet(f->v.ui);
	const struct fleet_agent *a = &fl->agents[*(const int *)x];
	const struct fleet_agent *b = &fl->agents[*(const int *)y];
	int64_t			 d = 0;

	switch (f->v.sort) {
	case 1:
		d = vf_state_rank(fleet_agent_state(a, f->now)) -
		    vf_state_rank(fleet_agent_state(b, f->now));
		break;
	case 2:
		d = vf_down(b) - vf_down(a);
		break;
	case 3:
		d = a->latency_us - b->latency_us;
		break;
	}
	if (d == 0)
		d = strcmp(a->conf->name, b->conf->name);
	if (f->v.sort_desc)
		d = -d;
	return d < 0 ? -1 : d > 0;
}

static void
vf_build(struct view_fleet *f)
{
	struct fleet	*fl = ui_fleet(f->v.ui);
	int		 keep = f->n > 0 ? f->rows[f->t.sel] : -1;
	int		 i, sel = 0;

	f->now = fetch_now_ms();
	f->n = 0;
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (!ui_match(&f->v, a->conf->name, a->conf->url,
		    fleet_state_str(fleet_agent_state(a, f->now)),
		    fleet_agent_reason(a), NULL))
			continue;
		f->rows[f->n++] = i;
	}
	vf_sorting = f;
	qsort(f->rows, (size_t)f->n, sizeof(*f->rows), vf_cmp);
	for (i = 0; i < f->n; i++) {
		if (f->rows[i] == keep)
			sel = i;
	}
	table_set_rows(&f->t, f->n, keep == -1 ? f->t.sel : sel);
	f->t.sort_col = f->v.sort == 0 ? VF_NAME : f->v.sort == 1 ?
	    VF_STATE : f->v.sort == 2 ? VF_DOWN : VF_LATENCY;
	f->t.sort_desc = f->v.sort_desc;
}

static int
vf_state_attr(struct ui *ui, enum fleet_state s)
{
	switch (s) {
	case FLEET_OK:
		return ui_attr(ui, UI_C_OK);
	case FLEET_SKEW:
	case FLEET_STALE:
		return ui_attr(ui, UI_C_WARN);
	case FLEET_UNREACHABLE:
	case FLEET_ERROR:
		return ui_attr(ui, UI_C_BAD);
	case FLEET_CONNECTING:
		return ui_attr(ui, UI_C_DIM);
	}
	return 0;
}

static const char *
vf_cell(void *ctx, int row, int col, char *buf, size_t len, int *attr)
{
	struct view_fleet		*f = ctx;
	struct ui			*ui = f->v.ui;
	const struct fleet_agent	*a = &ui_fleet(ui)->agents[f->rows[row]];
	const struct model_status	*st = a->status;
	enum fleet_state		 s = fleet_agent_state(a, f->now);
	int				 usable = fleet_agent_usable(a, f->now);
	int				 i, n;
	char				 d[32];

	switch (col) {
	case VF_NAME:
		return a->conf->name;
	case VF_STATE:
		*attr = vf_state_attr(ui, s);
		if (s == FLEET_SKEW)
			snprintf(buf, len, "skew %+.1fs",
			    (double)a->skew_ms / 1000);
		else if (s == FLEET_STALE)
			snprintf(buf, len, "stale %s", parse_fmt_duration(
			    (f->now - a->last_ok_ms) / 1000 * 1000, d,
			    sizeof(d)));
		else
			snprintf(buf, len, "%s", fleet_state_str(s));
		return buf;
	case VF_PROBES:
		if (!usable)
			return "-";
		snprintf(buf, len, "%d", st->n_probes);
		return buf;
	case VF_UP:
	case VF_DEGRADED:
	case VF_DOWN:
		if (!usable)
			return "-";
		for (i = n = 0; i < st->n_probes; i++)
			n += st->probes[i].state == (col == VF_UP ? MODEL_UP :
			    col == VF_DEGRADED ? MODEL_DEGRADED : MODEL_DOWN);
		if (col == VF_DOWN && n > 0)
			*attr = ui_attr(ui, UI_C_BAD);
		if (col == VF_DEGRADED && n > 0)
			*attr = ui_attr(ui, UI_C_WARN);
		snprintf(buf, len, "%d", n);
		return buf;
	case VF_DRAINED:
		if (!usable)
			return "-";
		for (i = n = 0; i < st->n_routes; i++)
			n += st->routes[i].state != MODEL_ACTIVE;
		if (n > 0)
			*attr = ui_attr(ui, UI_C_WARN);
		snprintf(buf, len, "%d/%d", n, st->n_routes);
		return buf;
	case VF_LATENCY:
		if (st == NULL)
			return "-";
		if (!usable)
			*attr = ui_attr(ui, UI_C_DIM);
		return ui_us(a->latency_us, buf, len);
	case VF_SKEW:
		if (!a->has_skew)
			return "-";
		if (s == FLEET_SKEW)
			*attr = ui_attr(ui, UI_C_WARN);
		snprintf(buf, len, "%+.1fs", (double)a->skew_ms / 1000);
		return buf;
	case VF_REFRESHED:
		if (st == NULL)
			return "never";
		if (!usable)
			*attr = ui_attr(ui, UI_C_DIM);
		return ui_ago(a->last_ok_ms, f->now, buf, len);
	case VF_URL:
		if (a->fails > 0) {
			int64_t r = fleet_agent_retry_in(a);

			*attr = ui_attr(ui, UI_C_BAD);
			if (r > 0)
				snprintf(buf, len, "%s (retry in %s)",
				    fleet_agent_reason(a), parse_fmt_duration(
				    (r + 999) / 1000 * 1000, d, sizeof(d)));
			else
				snprintf(buf, len, "%s", fleet_agent_reason(a));
			return buf;
		}
		if (st == NULL && a->opener != NULL)
			return fleet_agent_reason(a);
		if (a->conf->ssh != NULL) {
			snprintf(buf, len, "%s via ssh %s", a->conf->url,
			    a->conf->ssh);
			return buf;
		}
		return a->conf->url;
	}
	return "";
}

static void
vf_draw(struct view *v, int y, int x, int h, int w)
{
	struct view_fleet	*f = (struct view_fleet *)v;

	vf_build(f);
	table_draw(&f->t, v->ui, y, x, h, w, vf_cell, f);
	if (f->n == 0 && h > 2)
		ui_put(y + 2, x + 2, w - 4, ui_attr(v->ui, UI_C_DIM),
		    "no agent matches the filter (Esc drops it)");
}

static int
vf_key(struct view *v, int key)
{
	struct view_fleet	*f = (struct view_fleet *)v;
	struct fleet		*fl = ui_fleet(v->ui);
	struct fleet_agent	*a;
	int			 rc;

	if ((rc = table_key(&f->t, key)) != 0)
		return rc;
	if (f->n == 0 || f->t.sel >= f->n)
		return 0;
	a = &fl->agents[f->rows[f->t.sel]];
	switch (key) {
	case '\r':
	case '\n':
	case UI_FKEY(KEY_ENTER):
		ui_push(v->ui, view_probes_new(v->ui, a->conf->name, NULL));
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'R':
		fleet_refresh_agent(a);
		ui_message(v->ui, 0, "polling %s now", a->conf->name);
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	return 0;
}

static void
vf_free(struct view *v)
{
	struct view_fleet	*f = (struct view_fleet *)v;

	free(f->rows);
	free(f);
}

static struct view *
vf_open(struct ui *ui, const char *arg)
{
	(void)arg;
	return view_fleet_new(ui);
}

const struct view_class view_fleet_class = {
	.name = "fleet",
	.aliases = "agents",
	.hotkey = '1',
	.what = "one row per agent",
	.usage = NULL,
	.arg = UI_ARG_NONE,
	.open = vf_open,
	.draw = vf_draw,
	.key = vf_key,
	.free = vf_free,
	.help = vf_help,
	.sorts = vf_sorts,
	.filterable = 1,
};

struct view *
view_fleet_new(struct ui *ui)
{
	struct view_fleet	*f;

	f = xcalloc(1, sizeof(*f));
	f->v.cls = &view_fleet_class;
	f->v.ui = ui;
	f->rows = xcalloc((size_t)ui_fleet(ui)->n_agents + 1,
	    sizeof(*f->rows));
	table_init(&f->t, vf_cols, VF_NCOLS);
	return &f->v;
}
