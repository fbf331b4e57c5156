/*
 * view_matrix.c - links x agents: one row per probe name, one column per
 * agent, and a verdict over all vantage points ("down from 1 of 3"), so
 * a failure seen from one host reads differently from an outage.  Cells
 * of agents that cannot be asked say so ("unr"), never "DOWN".  The
 * VERDICT column is the short form (<= 20 columns, "DOWN 1/3 +1 unr");
 * the line under the table has the long one of the row under the cursor
 * and what the cell cursor is on: Left/Right move it across the agents,
 * Enter opens the probe as that agent sees it.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

#define VM_FIXED	2	/* LINK, VERDICT; then one column per agent */

static const char *const vm_sorts[] = {
	"link", "verdict", "down", NULL
};

static const struct view_help vm_help[] = {
	{ "Left Right h l", "move the cell cursor across the agents (the "
	    "leftmost stop is the link itself)" },
	{ "Enter", "on an agent's cell: that probe as that agent sees it; "
	    "on the link: the link's probe on every agent" },
	{ "cells", "up, DOWN, deg(raded), unk(nown); unr: the agent is "
	    "unreachable (not counted), ..: waiting for it" },
	{ NULL, NULL }
};

struct view_matrix {
	struct view		 v;
	struct table		 t;
	struct table_col	*cols;
	struct matrix		*m;
	int			*rows;		/* link indexes */
	int			 n;
	char			 keep[257];	/* probe under the cursor */
	int			 col;		/* agent of the cell cursor;
						   -1: the link itself */
};

static int
vm_rank(const struct matrix_link *l)
{
	switch (l->verdict) {
	case MATRIX_V_DOWN:
		return 0;
	case MATRIX_V_DEGRADED:
		return 1;
	case MATRIX_V_UNKNOWN:
		return 2;
	case MATRIX_V_OK:
		return 3;
	}
	return 4;
}

static struct view_matrix *vm_sorting;

static int
vm_cmp(const void *x, const void *y)
{
	struct view_matrix	*vm = vm_sorting;
	const struct matrix_link *a = &vm->m->links[*(const int *)x];
	const struct matrix_link *b = &vm->m->links[*(const int *)y];
	int			 d = 0;

	if (vm->v.sort == 1)
		d = vm_rank(a) - vm_rank(b);
	else if (vm->v.sort == 2)
		d = b->down - a->down;
	if (d == 0)
		d = strcmp(a->probe, b->probe);
	return vm->v.sort_desc ? -d : d;
}

static void
vm_build(struct view_matrix *vm)
{
	int	i, sel = vm->t.sel;

	if (vm->n > 0 && vm->t.sel < vm->n)
		strlcpy_v(vm->keep, vm->m->links[vm->rows[vm->t.sel]].probe, sizeof(vm->keep));
	matrix_free(vm->m);
	vm->m = matrix_build(ui_fleet(vm->v.ui), fetch_now_ms());
	free(vm->rows);
	vm->rows = xcalloc((size_t)vm->m->n_links + 1, sizeof(*vm->rows));
	vm->n = 0;
	for (i = 0; i < vm->m->n_links; i++) {
		if (ui_match(&vm->v, vm->m->links[i].probe,
		    vm->m->links[i].text, NULL))
			vm->rows[vm->n++] = i;
	}
	vm_sorting = vm;
	qsort(vm->rows, (size_t)vm->n, sizeof(*vm->rows), vm_cmp);
	for (i = 0; i < vm->n; i++) {
		if (strcmp(vm->m->links[vm->rows[i]].probe, vm->keep) == 0)
			sel = i;
	}
	table_set_rows(&vm->t, vm->n, sel);
	vm->t.sort_col = vm->v.sort == 0 ? 0 : 1;
	vm->t.sort_desc = vm->v.sort_desc;
}

static const char *
vm_cell(void *ctx, int row, int col, char *buf, size_t len, int *attr)
{
	struct view_matrix		*vm = ctx;
	struct ui			*ui = vm->v.ui;
	const struct matrix_link	*l = &vm->m->links[vm->rows[row]];

	if (col == 0)
		return l->probe;
	if (col == 1) {
		(void)buf;
		switch (l->verdict) {
		case MATRIX_V_DOWN:
			*attr = ui_attr(ui, UI_C_BAD);
			break;
		case MATRIX_V_DEGRADED:
			*attr = ui_attr(ui, UI_C_WARN);
			break;
		case MATRIX_V_OK:
			*attr = ui_attr(ui, UI_C_OK);
			break;
		case MATRIX_V_UNKNOWN:
			*attr = ui_attr(ui, UI_C_DIM);
			break;
		}
		return l->brief;
	}
	(void)len;
	switch (l->cells[col - VM_FIXED]) {
	case MATRIX_UP:
		*attr = ui_attr(ui, UI_C_OK);
		return "up";
	case MATRIX_DEGRADED:
		*attr = ui_attr(ui, UI_C_WARN);
		return "deg";
	case MATRIX_DOWN:
		*attr = ui_attr(ui, UI_C_BAD);
		return "DOWN";
	case MATRIX_UNKNOWN:
		*attr = ui_attr(ui, UI_C_DIM);
		return "unk";
	case MATRIX_UNREACHABLE:
		*attr = ui_attr(ui, UI_C_DIM);
		return "unr";
	case MATRIX_PENDING:
		*attr = ui_attr(ui, UI_C_DIM);
		return "..";
	case MATRIX_ABSENT:
		return "";
	}
	return "";
}

/* The long verdict of the link under the cursor and the cell's agent. */
static void
vm_draw_line(struct view_matrix *vm, int y, int x, int w)
{
	struct ui			*ui = vm->v.ui;
	const struct matrix_link	*l;
	int				 xx;

	if (vm->n == 0 || vm->t.sel >= vm->n) {
		ui_put(y, x, w, A_NORMAL, "");
		return;
	}
	l = &vm->m->links[vm->rows[vm->t.sel]];
	xx = ui_putf(y, x, w, A_BOLD, " %s: ", l->probe);
	xx += ui_put(y, x + xx, w - xx, A_NORMAL, l->text);
	if (vm->col >= 0 && vm->col < vm->m->n_agents)
		ui_putf(y, x + xx, w - xx, A_NORMAL, "  %s %s: %s (Enter "
		    "opens it)", ui_glyph(ui, UI_G_VBAR),
		    ui_fleet(ui)->agents[vm->col].conf->name,
		    matrix_cell_str(l->cells[vm->col]));
	else
		ui_put(y, x + xx, w - xx, ui_attr(ui, UI_C_DIM),
		    "  (Right: pick an agent)");
}

static void
vm_draw(struct view *v, int y, int x, int h, int w)
{
	struct view_matrix	*vm = (struct view_matrix *)v;
	int			 foot = h > 4 ? 2 : h > 2 ? 1 : 0;

	vm_build(vm);
	if (vm->col >= vm->m->n_agents)
		vm->col = vm->m->n_agents - 1;
	vm->t.cur_col = vm->col >= 0 ? VM_FIXED + vm->col : -1;
	table_draw(&vm->t, v->ui, y, x, h - foot, w, vm_cell, vm);
	if (vm->n == 0 && h > 3)
		ui_put(y + 2, x + 2, w - 4, ui_attr(v->ui, UI_C_DIM),
		    vm->m->n_links == 0 ? "no probes known yet" :
		    "no link matches the filter (Esc drops it)");
	if (foot == 2)
		vm_draw_line(vm, y + h - 2, x, w);
	if (foot > 0)
		ui_put(y + h - 1, x, w, ui_attr(v->ui, UI_C_DIM),
		    " up  DOWN  deg degraded  unk unknown  unr agent "
		    "unreachable (not counted)  .. waiting");
}

static int
vm_key(struct view *v, int key)
{
	struct view_matrix	*vm = (struct view_matrix *)v;
	const struct matrix_link *l;
	int			 rc;

	switch (key) {
	case UI_FKEY(KEY_LEFT):
	case 'h':
		if (vm->col >= 0)
			vm->col--;
		if (vm->col < 0)
			vm->t.left = 0;
		return VIEW_HANDLED | VIEW_REDRAW;
	case UI_FKEY(KEY_RIGHT):
	case 'l':
		if (vm->m != NULL && vm->col < vm->m->n_agents - 1)
			vm->col++;
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	if ((rc = table_key(&vm->t, key)) != 0)
		return rc;
	if (key == '\r' || key == '\n' || key == UI_FKEY(KEY_ENTER)) {
		if (vm->n == 0 || vm->t.sel >= vm->n)
			return VIEW_HANDLED;
		l = &vm->m->links[vm->rows[vm->t.sel]];
		if (vm->col < 0) {
			ui_push(v->ui, view_probes_new(v->ui, NULL, l->probe));
			return VIEW_HANDLED | VIEW_REDRAW;
		}
		if (l->cells[vm->col] == MATRIX_ABSENT) {
			ui_message(v->ui, 0, "%s has no probe %s",
			    ui_fleet(v->ui)->agents[vm->col].conf->name,
			    l->probe);
			return VIEW_HANDLED | VIEW_REDRAW;
		}
		ui_push(v->ui, view_detail_new(v->ui,
		    ui_fleet(v->ui)->agents[vm->col].conf->name, l->probe));
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	return 0;
}

static void
vm_free(struct view *v)
{
	struct view_matrix	*vm = (struct view_matrix *)v;

	matrix_free(vm->m);
	free(vm->rows);
	free(vm->cols);
	free(vm);
}

static struct view *
vm_open(struct ui *ui, const char *arg)
{
	(void)arg;
	return view_matrix_new(ui);
}

const struct view_class view_matrix_class = {
	.name = "matrix",
	.aliases = "links mx",
	.hotkey = '2',
	.what = "links x agents, a verdict per link",
	.usage = NULL,
	.arg = UI_ARG_NONE,
	.open = vm_open,
	.draw = vm_draw,
	.key = vm_key,
	.free = vm_free,
	.help = vm_help,
	.sorts = vm_sorts,
	.filterable = 1,
};

struct view *
view_matrix_new(struct ui *ui)
{
	struct view_matrix	*vm;
	struct fleet		*fl = ui_fleet(ui);
	int			 i;

	vm = xcalloc(1, sizeof(*vm));
	vm->v.cls = &view_matrix_class;
	vm->v.ui = ui;
	vm->cols = xcalloc((size_t)fl->n_agents + VM_FIXED, sizeof(*vm->cols));
	vm->cols[0] = (struct table_col){ "LINK", 6, 32, 0, 0, TABLE_KEEP };
	vm->cols[1] = (struct table_col){ "VERDICT", 7, 20, 0, 0,
	    TABLE_KEEP };
	for (i = 0; i < fl->n_agents; i++)
		vm->cols[VM_FIXED + i] = (struct table_col){
		    fl->agents[i].conf->name, 4, 12, 0, 0, 0 };
	table_init(&vm->t, vm->cols, fl->n_agents + VM_FIXED);
	vm->t.pinned = VM_FIXED;
	vm->col = -1;
	return &vm->v;
}
