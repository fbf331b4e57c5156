/*
 * table.c - the scrolling table every list view is drawn with: column
 * widths from the content, a cursor row, paging, a sort mark in the
 * heading, and columns dropped by their priority (the lowest first;
 * TABLE_KEEP columns never) or scrolled with h/l when the terminal is
 * narrow, so each view keeps what matters at 80x24.  A view may also
 * move a cell cursor (cur_col) along the cursor row; the table scrolls
 * so that the cell is shown.
 */
#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

#define TABLE_GAP	2
#define TABLE_SCAN	2000	/* rows measured for column widths */
#define TABLE_MEASURE_MS 1000	/* every row measured at most this often */

void
table_init(struct table *t, const struct table_col *cols, int ncols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols < TABLE_MAXCOLS ? ncols : TABLE_MAXCOLS;
	t->sort_col = -1;
	t->pinned = 1;
	t->cur_col = -1;
}

void
table_set_rows(struct table *t, int n, int sel)
{
	t->n = n;
	t->sel = sel;
	if (t->sel >= n)
		t->sel = n - 1;
	if (t->sel < 0)
		t->sel = 0;
	if (t->top > t->sel)
		t->top = t->sel;
	if (t->top < 0)
		t->top = 0;
}

/*
 * Widths of the columns shown; returns how many columns fit after the
 * pinned ones and the t->left scrolled away, and fills show[] with their
 * indexes.
 */
static int
table_layout(struct table *t, int w, table_cell_fn cell, void *ctx,
    int *width, int *show)
{
	char	buf[512], gone[TABLE_MAXCOLS];
	int	*nat = t->nat;
	int	i, r, r0, r1, cw, total, n, attr, flex = -1, full;
	int64_t	now = fetch_mono_ms();

	/*
	 * Measuring thousands of rows on every frame would make each key
	 * wait for it: every row is measured once a second, and a frame in
	 * between measures the rows it shows (a column may widen at once,
	 * it narrows within a second).
	 */
	full = t->measured_ms == 0 || now - t->measured_ms >= TABLE_MEASURE_MS;
	if (full) {
		t->measured_ms = now;
		r0 = 0;
		r1 = t->n < TABLE_SCAN ? t->n : TABLE_SCAN;
	} else {
		r0 = t->top < t->n ? t->top : 0;
		r1 = r0 + (t->page > 0 ? t->page : 1);
		if (r1 > t->n)
			r1 = t->n;
	}
	for (i = 0; i < t->ncols; i++) {
		cw = ui_width(t->cols[i].title) + (i == t->sort_col ? 1 : 0);
		if (full || cw > nat[i])
			nat[i] = cw;
		for (r = r0; r < r1; r++) {
			attr = 0;
			cw = ui_width(cell(ctx, r, i, buf, sizeof(buf),
			    &attr));
			if (cw > nat[i])
				nat[i] = cw;
		}
		if (t->cols[i].max > 0 && nat[i] > t->cols[i].max)
			nat[i] = t->cols[i].max;
		if (nat[i] < t->cols[i].min)
			nat[i] = t->cols[i].min;
	}
	if (t->pinned < 1 || t->pinned > t->ncols)
		t->pinned = t->ncols > 0 ? 1 : 0;
	if (t->left > t->ncols - t->pinned - 1)
		t->left = t->ncols - t->pinned - 1;
	if (t->left < 0)
		t->left = 0;
	/* what must go when narrow: the lowest priority first */
	memset(gone, 0, sizeof(gone));
	total = -TABLE_GAP;
	for (i = 0; i < t->ncols; i++) {
		if (i < t->pinned || i >= t->pinned + t->left)
			total += TABLE_GAP + (t->cols[i].flex ?
			    t->cols[i].min : nat[i]);
	}
	while (total > w) {
		int	victim = -1;

		for (i = t->pinned; i < t->ncols; i++) {
			if (!gone[i] && t->cols[i].prio != TABLE_KEEP &&
			    (victim == -1 ||
			    t->cols[i].prio < t->cols[victim].prio))
				victim = i;
		}
		if (victim == -1)
			break;
		gone[victim] = 1;
		if (victim >= t->pinned + t->left)
			total -= TABLE_GAP + (t->cols[victim].flex ?
			    t->cols[victim].min : nat[victim]);
	}
	n = 0;
	total = -TABLE_GAP;
	for (i = 0; i < t->ncols; i++) {
		if (gone[i] || (i >= t->pinned && i < t->pinned + t->left))
			continue;	/* dropped or scrolled away */
		if (n > 0 && total + TABLE_GAP + t->cols[i].min > w)
			break;
		show[n] = i;
		width[n] = nat[i];
		total += TABLE_GAP + nat[i];
		if (t->cols[i].flex)
			flex = n;
		n++;
	}
	if (total > w) {
		/* shrink the flexible column first, then cut from the right */
		if (flex >= 0 && width[flex] > t->cols[show[flex]].min) {
			int cut = total - w;

			if (cut > width[flex] - t->cols[show[flex]].min)
				cut = width[flex] - t->cols[show[flex]].min;
			width[flex] -= cut;
			total -= cut;
		}
		while (total > w && n > 1) {
			int over = total - w;

			if (width[n - 1] - over >= t->cols[show[n - 1]].min &&
			    width[n - 1] - over > 0) {
				width[n - 1] -= over;
				total = w;
			} else {
				total -= width[n - 1] + TABLE_GAP;
				n--;
			}
		}
		if (total > w)
			width[0] = w;
	} else if (flex >= 0 && (t->cols[show[flex]].max == 0 ||
	    width[flex] + (w - total) <= t->cols[show[flex]].max))
		width[flex] += w - total;
	return n;
}

static void
table_put(int y, int x, int w, int attr, int right, const char *s)
{
	int	pad = right ? w - ui_width(s) : 0;

	if (pad > 0) {
		ui_put(y, x, pad, attr, "");
		ui_put(y, x + pad, w - pad, attr, s);
	} else
		ui_put(y, x, w, attr, s);
}

void
table_draw(struct table *t, struct ui *ui, int y, int x, int h, int w,
    table_cell_fn cell, void *ctx)
{
	char		 buf[512], title[128];
	int		 width[TABLE_MAXCOLS], show[TABLE_MAXCOLS];
	int		 n, i, r, cx, attr, rowattr, head;
	const char	*s;

	if (h < 1 || w < 1)
		return;
	n = table_layout(t, w, cell, ctx, width, show);
	/* scroll until the cell cursor's column is shown */
	if (t->cur_col >= t->pinned && t->cur_col < t->ncols) {
		if (t->cur_col < t->pinned + t->left) {
			t->left = t->cur_col - t->pinned;
			n = table_layout(t, w, cell, ctx, width, show);
		}
		while (n > 0 && show[n - 1] < t->cur_col &&
		    t->left < t->ncols - t->pinned - 1) {
			t->left++;
			n = table_layout(t, w, cell, ctx, width, show);
		}
	}
	t->shown_first = n > t->pinned ? show[t->pinned < n ? t->pinned :
	    n - 1] : -1;
	t->shown_last = n > 0 ? show[n - 1] : -1;
	head = ui_attr(ui, UI_C_HEAD);
	cx = x;
	move(y, x);
	for (i = 0; i < w; i++)
		addch(' ' | head);
	for (i = 0; i < n; i++) {
		const struct table_col *c = &t->cols[show[i]];

		if (show[i] == t->sort_col)
			snprintf(title, sizeof(title), "%s%s", c->title,
			    ui_glyph(ui, t->sort_desc ? UI_G_DOWN : UI_G_UP));
		else
			strlcpy_v(title, c->title, sizeof(title));
		table_put(y, cx, width[i], head, c->right, title);
		cx += width[i] + TABLE_GAP;
	}
	if (t->left > 0 || show[n - 1] < t->ncols - 1) {
		/* say that columns are hidden and which way they are */
		ui_put(y, x + w - 1, 1, head, show[n - 1] < t->ncols - 1 ?
		    ">" : "<");
	}
	t->page = h - 1;
	if (t->page < 1)
		t->page = 1;
	if (t->sel >= t->n)
		t->sel = t->n - 1;
	if (t->sel < 0)
		t->sel = 0;
	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + t->page)
		t->top = t->sel - t->page + 1;
	if (t->top > t->n - t->page)
		t->top = t->n - t->page > 0 ? t->n - t->page : 0;
	for (r = 0; r < t->page; r++) {
		int row = t->top + r;

		move(y + 1 + r, x);
		rowattr = row == t->sel && t->n > 0 ? A_REVERSE : 0;
		for (i = 0; i < w; i++)
			addch(' ' | rowattr);
		if (row >= t->n)
			continue;
		cx = x;
		for (i = 0; i < n; i++) {
			attr = 0;
			s = cell(ctx, row, show[i], buf, sizeof(buf), &attr);
			/* the cell cursor: the one cell not reversed, bold */
			table_put(y + 1 + r, cx, width[i], rowattr != 0 &&
			    show[i] == t->cur_col ? (attr & ~(int)A_REVERSE) |
			    (int)(A_BOLD | A_UNDERLINE) : attr | rowattr,
			    t->cols[show[i]].right, s);
			if (i + 1 < n)
				ui_put(y + 1 + r, cx + width[i], TABLE_GAP,
				    rowattr, "");
			cx += width[i] + TABLE_GAP;
		}
	}
}

int
table_key(struct table *t, int key)
{
	int	old = t->sel, oldleft = t->left;

	switch (key) {
	case UI_FKEY(KEY_UP):
	case 'k':
		t->sel--;
		break;
	case UI_FKEY(KEY_DOWN):
	case 'j':
		t->sel++;
		break;
	case UI_FKEY(KEY_PPAGE):
	case UI_CTRL('b'):
		t->sel -= t->page;
		break;
	case UI_FKEY(KEY_NPAGE):
	case UI_CTRL('f'):
		t->sel += t->page;
		break;
	case UI_FKEY(KEY_HOME):
	case 'g':
		t->sel = 0;
		break;
	case UI_FKEY(KEY_END):
	case 'G':
		t->sel = t->n - 1;
		break;
	case UI_FKEY(KEY_LEFT):
	case 'h':
		if (t->left > 0)
			t->left--;
		break;
	case UI_FKEY(KEY_RIGHT):
	case 'l':
		if (t->left < t->ncols - t->pinned - 1)
			t->left++;
		break;
	default:
		return 0;
	}
	if (t->sel >= t->n)
		t->sel = t->n - 1;
	if (t->sel < 0)
		t->sel = 0;
	if (t->sel != old || t->left != oldleft)
		return VIEW_HANDLED | VIEW_REDRAW;
	return VIEW_HANDLED;
}
