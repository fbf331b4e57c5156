/*
 * view_matrix.c - links x agents: one row per probe name, one column per
 * agent, and a verdict over all vantage points ("down from 1 of 3"), so
 * a failure seen from one host reads differently from an outage.  Cells
 * of agents that cannot be asked say so ("unr"), never "DOWN".
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
	{ "Enter", "the link's probe on every agent" },
	{ "Left Right h l", "scroll the agent columns" },
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
		return l->text;
	}
	(void)buf;
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

static void
vm_draw(struct view *v, int y, int x, int h, int w)
{
	struct view_matrix	*vm = (struct view_matrix *)v;

	vm_build(vm);
	table_draw(&vm->t, v->ui, y, x, h > 2 ? h - 1 : h, w, vm_cell, vm);
	if (vm->n == 0 && h > 3)
		ui_put(y + 2, x + 2, w - 4, ui_attr(v->ui, UI_C_DIM),
		    vm->m->n_links == 0 ? "no probes known yet" :
		    "no link matches the filter (Esc drops it)");
	if (h > 2)
		ui_put(y + h - 1, x, w, ui_attr(v->ui, UI_C_DIM),
		    " up  DOWN  deg degraded  unk unknown  unr agent "
		    "unreachable (not counted)  .. waiting");
}

static int
vm_key(struct view *v, int key)
{
	struct view_matrix	*vm = (struct view_matrix *)v;
	int			 rc;

	if ((rc = table_key(&vm->t, key)) != 0)
		return rc;
	if (key == '\r' || key == '\n' || key == UI_FKEY(KEY_ENTER)) {
		if (vm->n == 0 || vm->t.sel >= vm->n)
			return VIEW_HANDLED;
		ui_push(v->ui, view_probes_new(v->ui, NULL,
		    vm->m->links[vm->rows[vm->t.sel]].probe));
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
	vm->cols[0] = (struct table_col){ "LINK", 6, 32, 0, 0, 0 };
	vm->cols[1] = (struct table_col){ "VERDICT", 16, 48, 0, 0, 0 };
	for (i = 0; i < fl->n_agents; i++)
		vm->cols[VM_FIXED + i] = (struct table_col){
		    fl->agents[i].conf->name, 4, 12, 0, 0, 0 };
	table_init(&vm->t, vm->cols, fl->n_agents + VM_FIXED);
	vm->t.pinned = VM_FIXED;
	return &vm->v;
}
