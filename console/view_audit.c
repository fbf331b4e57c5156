/*
 * view_audit.c - the audit trails of all agents merged, newest first,
 * with each agent's chain verification (/v1/audit/verify) on top.  The
 * fleet first fetches each agent's newest rows (the `before` cursor), then,
 * while the view is open, new rows after every status poll with the
 * `after` cursor, so a drain shows up here within a period.  An odd row
 * (model.c) stays in its place, marked "! malformed row: ..." in the BAD
 * colour, with its id and time when they could be read.
 */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vantage.h"

#define VA_TIME_FMT	"%m-%d %H:%M:%S"

enum {
	VA_TIME, VA_AGENT, VA_ID, VA_ACTOR, VA_OPERATOR, VA_ACTION, VA_TARGET,
	VA_RESULT, VA_DETAIL, VA_NCOLS
};

static const struct table_col va_cols[VA_NCOLS] = {
	[VA_TIME] = { "TIME", 14, 14, 0, 0, TABLE_KEEP },
	[VA_AGENT] = { "AGENT", 6, 20, 0, 0, TABLE_KEEP },
	[VA_ID] = { "ID", 2, 0, 0, 1, 1 },
	[VA_ACTOR] = { "ACTOR", 5, 20, 0, 0, TABLE_KEEP },
	[VA_OPERATOR] = { "OPERATOR", 8, 28, 0, 0, TABLE_KEEP },
	[VA_ACTION] = { "ACTION", 6, 10, 0, 0, TABLE_KEEP },
	[VA_TARGET] = { "TARGET", 6, 20, 0, 0, TABLE_KEEP },
	[VA_RESULT] = { "RESULT", 6, 8, 0, 0, TABLE_KEEP },
	[VA_DETAIL] = { "DETAIL", 10, 0, 1, 0, 2 },
};

static const char *const va_sorts[] = {
	"time", "agent", "actor", "action", NULL
};
static const int va_sort_col[] = { VA_TIME, VA_AGENT, VA_ACTOR, VA_ACTION };

static const struct view_help va_help[] = {
	{ "Enter", "the whole row (detail, source, hash)" },
	{ "v", "verify every agent's hash chain again" },
	{ NULL, NULL }
};

struct va_row {
	int	agent;
	int	idx;
};

struct view_audit {
	struct view		 v;
	struct table		 t;
	struct va_row		*rows;
	int			 n;
	int			 cap;
	int			 keep_agent;
	int64_t			 keep_id;
	int			 showing;	/* the Enter popup is open */
	int			 shown_agent;
	struct model_audit	 shown;
};

static const struct model_audit *
va_audit(struct view_audit *va, int row)
{
	const struct fleet_agent *a =
	    &ui_fleet(va->v.ui)->agents[va->rows[row].agent];

	if (va->rows[row].idx >= a->n_audit)
		return NULL;
	return &a->audit[va->rows[row].idx];
}

static struct view_audit *va_sorting;

static int
va_cmp(const void *x, const void *y)
{
	struct view_audit		*va = va_sorting;
	struct fleet			*fl = ui_fleet(va->v.ui);
	const struct va_row		*ra = x, *rb = y;
	const struct model_audit	*a = &fl->agents[ra->agent].audit[
					    ra->idx];
	const struct model_audit	*b = &fl->agents[rb->agent].audit[
					    rb->idx];
	int64_t				 d = 0;

	switch (va->v.sort) {
	case 1:
		d = strcmp(fl->agents[ra->agent].conf->name,
		    fl->agents[rb->agent].conf->name);
		break;
	case 2:
		d = strcmp(a->actor, b->actor);
		break;
	case 3:
		d = strcmp(a->action, b->action);
		break;
	}
	if (d == 0)
		d = a->t_ms < b->t_ms ? -1 : a->t_ms > b->t_ms;
	if (d == 0)
		d = ra->agent - rb->agent;
	if (d == 0)
		d = a->id < b->id ? -1 : a->id > b->id;
	if (va->v.sort_desc)
		d = -d;
	return d < 0 ? -1 : d > 0;
}

static void
va_build(struct view_audit *va)
{
	struct fleet	*fl = ui_fleet(va->v.ui);
	int		 i, k, sel = va->t.sel;

	if (va->n > 0 && va->t.sel < va->n) {
		const struct model_audit *r = va_audit(va, va->t.sel);

		va->keep_agent = va->rows[va->t.sel].agent;
		va->keep_id = r != NULL ? r->id : -1;
	}
	va->n = 0;
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		for (k = 0; k < a->n_audit; k++) {
			const struct model_audit *r = &a->audit[k];

			if (!ui_match(&va->v, a->conf->name, r->actor,
			    r->operator, r->source, r->action, r->target,
			    r->detail, r->result, r->malformed != NULL ?
			    r->malformed : "", NULL))
				continue;
			if (va->n == va->cap) {
				va->cap = va->cap * 2 + 256;
				va->rows = xreallocarray(va->rows,
				    (size_t)va->cap, sizeof(*va->rows));
			}
			va->rows[va->n].agent = i;
			va->rows[va->n++].idx = k;
		}
	}
	va_sorting = va;
	if (va->n > 1)
		qsort(va->rows, (size_t)va->n, sizeof(*va->rows), va_cmp);
	for (i = 0; i < va->n; i++) {
		if (va->rows[i].agent == va->keep_agent &&
		    va_audit(va, i)->id == va->keep_id)
			sel = i;
	}
	table_set_rows(&va->t, va->n, sel);
	va->t.sort_col = va_sort_col[va->v.sort];
	va->t.sort_desc = va->v.sort_desc;
}

static const char *
va_cell(void *ctx, int row, int col, char *buf, size_t len, int *attr)
{
	struct view_audit		*va = ctx;
	struct ui			*ui = va->v.ui;
	const struct model_audit	*r = va_audit(va, row);

	if (r == NULL)
		return "";
	/* the marker where every width shows it, the reason in DETAIL */
	if (r->malformed != NULL && col == VA_ACTOR) {
		*attr = ui_attr(ui, UI_C_BAD);
		return "! malformed row";
	}
	switch (col) {
	case VA_TIME:
		return ui_clock(r->t_ms, VA_TIME_FMT, buf, len);
	case VA_AGENT:
		return ui_fleet(ui)->agents[va->rows[row].agent].conf->name;
	case VA_ID:
		if (r->id == VANTAGE_NONE)
			return "-";
		snprintf(buf, len, "%" PRId64, r->id);
		return buf;
	case VA_ACTOR:
		return r->actor;
	case VA_OPERATOR:
		return r->operator;
	case VA_ACTION:
		return r->action;
	case VA_TARGET:
		return r->target;
	case VA_RESULT:
		if (strcmp(r->result, "ok") == 0)
			*attr = ui_attr(ui, UI_C_OK);
		else if (strcmp(r->result, "forced") == 0)
			*attr = ui_attr(ui, UI_C_WARN);
		else if (r->result[0] != '\0')
			*attr = ui_attr(ui, UI_C_BAD);
		return r->result;
	case VA_DETAIL:
		if (r->malformed != NULL) {
			*attr = ui_attr(ui, UI_C_BAD);
			return model_odd_text(r->malformed, buf, len);
		}
		return r->detail;
	}
	return "";
}

/* One line: how many chains verify, and which do not. */
static void
va_draw_verify(struct view_audit *va, int y, int x, int w)
{
	struct ui	*ui = va->v.ui;
	struct fleet	*fl = ui_fleet(ui);
	struct buf	 bad;
	int		 ok = 0, broken = 0, unknown = 0, busy = 0, i, xx;

	buf_init(&bad);
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (a->verify_req != NULL)
			busy++;
		if (a->has_verify && a->verify.ok)
			ok++;
		else if (a->has_verify) {
			broken++;
			buf_printf(&bad, "%s%s at #%" PRId64 " (%s)",
			    bad.len > 0 ? ", " : "", a->conf->name,
			    a->verify.bad_id, a->verify.message);
		} else
			unknown++;
	}
	xx = ui_putf(y, x, w, A_BOLD, " chains:");
	xx += ui_putf(y, x + xx, w - xx, ok > 0 ? ui_attr(ui, UI_C_OK) :
	    (int)A_NORMAL, " %d ok", ok);
	if (broken > 0)
		xx += ui_putf(y, x + xx, w - xx, ui_attr(ui, UI_C_BAD),
		    ", %d BROKEN: %s", broken, bad.data);
	if (unknown > 0)
		xx += ui_putf(y, x + xx, w - xx, ui_attr(ui, UI_C_DIM),
		    ", %d not verified%s", unknown, busy > 0 ?
		    " (verifying...)" : "");
	buf_free(&bad);
	/* the first agent whose audit could not be fetched, if any */
	for (i = 0; i < fl->n_agents; i++) {
		if (fl->agents[i].audit_err[0] != '\0') {
			ui_putf(y, x + xx, w - xx, ui_attr(ui, UI_C_BAD),
			    "  %s: %s", fl->agents[i].conf->name,
			    fl->agents[i].audit_err);
			break;
		}
	}
}

static void
va_draw_shown(struct view_audit *va, int y, int x, int h, int w)
{
	struct ui			*ui = va->v.ui;
	const struct model_audit	*r = &va->shown;
	char				 t[48];
	int				 row = y, i;
	const char			*lines[][2] = {
		{ "agent", ui_fleet(ui)->agents[va->shown_agent].conf->name },
		{ "time", ui_clock(r->t_ms, VA_TIME_FMT, t, sizeof(t)) },
		{ "actor", r->actor }, { "role", r->role },
		{ "operator", r->operator }, { "source", r->source },
		{ "action", r->action }, { "target", r->target },
		{ "result", r->result }, { "detail", r->detail },
		{ "hash", r->hash },
		{ "malformed", r->malformed != NULL ? r->malformed : "" },
	};

	ui_putf(row++, x, w, ui_attr(ui, UI_C_BAR), " audit row #%" PRId64,
	    r->id);
	for (i = 0; i < (int)(sizeof(lines) / sizeof(lines[0])) &&
	    row < y + h - 1; i++) {
		ui_put(row, x + 1, 10, A_BOLD, lines[i][0]);
		ui_put(row++, x + 12, w - 13, A_NORMAL, lines[i][1]);
	}
	ui_put(y + h - 1, x, w, ui_attr(ui, UI_C_DIM),
	    " any key: back to the list");
}

static void
va_draw(struct view *v, int y, int x, int h, int w)
{
	struct view_audit	*va = (struct view_audit *)v;
	struct fleet		*fl = ui_fleet(v->ui);
	int			 i, waiting = 0;

	if (va->showing) {
		va_draw_shown(va, y, x, h, w);
		return;
	}
	va_build(va);
	va_draw_verify(va, y, x, w);
	table_draw(&va->t, v->ui, y + 1, x, h - 1, w, va_cell, va);
	for (i = 0; i < fl->n_agents; i++)
		waiting += !fl->agents[i].audit_done &&
		    fleet_agent_usable(&fl->agents[i], fetch_now_ms());
	if (va->n == 0 && h > 4)
		ui_put(y + 3, x + 2, w - 4, ui_attr(v->ui, UI_C_DIM),
		    v->filter[0] != '\0' ? "no row matches the filter (Esc "
		    "drops it)" : waiting > 0 ? "fetching the audit trails..." :
		    "no audit rows");
}

static int
va_key(struct view *v, int key)
{
	struct view_audit		*va = (struct view_audit *)v;
	const struct model_audit	*r;
	int				 rc;

	if (va->showing) {
		va->showing = 0;
		model_audit_free(&va->shown);
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	if ((rc = table_key(&va->t, key)) != 0)
		return rc;
	switch (key) {
	case 'v':
		fleet_verify(ui_fleet(v->ui));
		ui_message(v->ui, 0, "verifying the audit chains");
		return VIEW_HANDLED | VIEW_REDRAW;
	case '\r':
	case '\n':
	case UI_FKEY(KEY_ENTER):
		if (va->n == 0 || va->t.sel >= va->n ||
		    (r = va_audit(va, va->t.sel)) == NULL)
			return VIEW_HANDLED;
		model_audit_copy(&va->shown, r);
		va->shown_agent = va->rows[va->t.sel].agent;
		va->showing = 1;
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	return 0;
}

static void
va_free(struct view *v)
{
	struct view_audit	*va = (struct view_audit *)v;
	struct fleet		*fl = ui_fleet(v->ui);

	if (fl->want_audit > 0)
		fl->want_audit--;
	if (va->showing)
		model_audit_free(&va->shown);
	free(va->rows);
	free(va);
}

static struct view *
va_open(struct ui *ui, const char *arg)
{
	(void)arg;
	return view_audit_new(ui);
}

const struct view_class view_audit_class = {
	.name = "audit",
	.aliases = "log",
	.hotkey = '5',
	.what = "merged audit trail, chain verification",
	.usage = NULL,
	.arg = UI_ARG_NONE,
	.open = va_open,
	.draw = va_draw,
	.key = va_key,
	.free = va_free,
	.help = va_help,
	.sorts = va_sorts,
	.filterable = 1,
};

struct view *
view_audit_new(struct ui *ui)
{
	struct view_audit	*va;
	struct fleet		*fl = ui_fleet(ui);

	va = xcalloc(1, sizeof(*va));
	va->v.cls = &view_audit_class;
	va->v.ui = ui;
	va->v.sort_desc = 1;		/* newest first */
	va->keep_agent = -1;
	table_init(&va->t, va_cols, VA_NCOLS);
	va->t.pinned = 1;
	fl->want_audit++;
	fleet_audit_poll(fl);
	fleet_verify(fl);
	return &va->v;
}
