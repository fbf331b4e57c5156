/*
 * view_routes.c - every route of every agent; mark several with space,
 * then d (drain), m (maint) or u (undrain).  A form asks for the reason
 * (the audit log keeps it) and a TTL, then a confirmation shows what
 * will change on which agent and what each pool keeps, counted with the
 * agent's own pool guard (shared/pool.c), and says when the agent will
 * refuse (409) unless forced.  Only `y` applies.  Each agent's routes go
 * as one request (action.c), all or nothing; its outcome is shown as it
 * becomes known: applied, not applied (the agent's words), or unknown
 * until the deadline has passed and the agent has been asked.
 */
#include <curses.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

enum vr_mode {
	VR_LIST,
	VR_FORM,
	VR_CONFIRM,
	VR_RESULTS
};

enum vr_action {
	VR_DRAIN,
	VR_MAINT,
	VR_UNDRAIN
};

enum {
	VR_MARKC, VR_AGENT, VR_ROUTE, VR_STATE, VR_EFFECTIVE, VR_PROBE,
	VR_POOL, VR_SINCE, VR_EXPIRES, VR_ACTOR, VR_REASON, VR_NCOLS
};

/* At 80 columns: which route of which agent, its state and what it
 * effectively does (EFFECTIVE), and why. */
static const struct table_col vr_cols[VR_NCOLS] = {
	[VR_MARKC] = { "", 1, 1, 0, 0, TABLE_KEEP },
	[VR_AGENT] = { "AGENT", 6, 20, 0, 0, TABLE_KEEP },
	[VR_ROUTE] = { "ROUTE", 6, 24, 0, 0, TABLE_KEEP },
	[VR_STATE] = { "STATE", 8, 16, 0, 0, TABLE_KEEP },
	[VR_EFFECTIVE] = { "EFFECTIVE", 9, 9, 0, 0, TABLE_KEEP },
	[VR_PROBE] = { "PROBE", 5, 20, 0, 0, 5 },
	[VR_POOL] = { "POOL", 4, 16, 0, 0, 4 },
	[VR_SINCE] = { "SINCE", 6, 10, 0, 0, 2 },
	[VR_EXPIRES] = { "EXPIRES", 7, 10, 0, 0, 1 },
	[VR_ACTOR] = { "ACTOR", 5, 28, 0, 0, 3 },
	[VR_REASON] = { "REASON", 10, 0, 1, 0, TABLE_KEEP },
};

/* The row of an agent never heard from: its routes are unknown. */
#define VR_NOROUTES	INT_MIN

static const char *const vr_sorts[] = {
	"agent", "route", "state", "pool", NULL
};
static const int vr_sort_col[] = { VR_AGENT, VR_ROUTE, VR_STATE, VR_POOL };

static const struct view_help vr_help[] = {
	{ "Enter", "the probe the route follows (PROBE), as its agent "
	    "sees it" },
	{ "Space", "mark or unmark the route under the cursor" },
	{ "a", "mark every route shown (again: unmark them)" },
	{ "d", "drain the marked routes (or the one under the cursor)" },
	{ "m", "put them in maintenance" },
	{ "u", "undrain them" },
	{ "in the form", "Tab/Up/Down move between fields, Enter goes on "
	    "to the confirmation, Esc cancels" },
	{ "confirmation", "y applies (per agent: each agent's routes all or "
	    "none), f applies with force (past pool guards), e edits, n or "
	    "Esc cancels; Enter does nothing" },
	{ NULL, NULL }
};

struct vr_row {
	int	agent;
	int	route;		/* < 0: odd_routes.v[-1 - route] */
};

struct view_routes;

struct vr_target {
	int			 agent;
	char			*route;
	char			*pool;		/* NULL: none */
	enum model_rstate	 from;
	int			 stale;		/* the agent is not answering */
};

/* One agent's part of a change: one request, all or nothing. */
struct vr_group {
	struct view_routes	*vr;
	int			 agent;
	struct action		*act;
	int			 done;
};

struct view_routes {
	struct view		 v;
	struct table		 t;
	struct vr_row		*rows;
	int			 n;
	int			 cap;
	int64_t			 now;
	int			 keep_agent;
	char			 keep_route[257];
	char			**marks;	/* "agent\037route" */
	int			 n_marks;
	enum vr_mode		 mode;
	enum vr_action		 act;
	struct ui_input		 reason;
	struct ui_input		 ttl;
	int			 field;
	char			 form_err[200];
	int64_t			 ttl_ms;	/* -1: none given */
	int			 force;
	struct vr_target	*tg;
	int			 n_tg;
	struct vr_group		*grp;
	int			 n_grp;
	int			 pending;	/* groups without an outcome */
	char			 hint[160];
};

static const char *
vr_act_verb(enum vr_action a)
{
	switch (a) {
	case VR_DRAIN:
		return "drain";
	case VR_MAINT:
		return "maint";
	case VR_UNDRAIN:
		return "undrain";
	}
	return "?";
}

static enum model_rstate
vr_act_to(enum vr_action a)
{
	switch (a) {
	case VR_DRAIN:
		return MODEL_DRAINING;
	case VR_MAINT:
		return MODEL_MAINT;
	case VR_UNDRAIN:
		return MODEL_ACTIVE;
	}
	return MODEL_ACTIVE;
}

/* ---- marks ---- */

static char *
vr_mark_key(const char *agent, const char *route)
{
	char	*k;

	xasprintf(&k, "%s\037%s", agent, route);
	return k;
}

static int
vr_mark_find(struct view_routes *vr, const char *agent, const char *route)
{
	char	*k = vr_mark_key(agent, route);
	int	 i;

	for (i = 0; i < vr->n_marks; i++) {
		if (strcmp(vr->marks[i], k) == 0)
			break;
	}
	free(k);
	return i < vr->n_marks ? i : -1;
}

static void
vr_mark_set(struct view_routes *vr, const char *agent, const char *route,
    int on)
{
	int	i = vr_mark_find(vr, agent, route);

	if (on && i == -1) {
		vr->marks = xreallocarray(vr->marks, (size_t)vr->n_marks + 1,
		    sizeof(*vr->marks));
		vr->marks[vr->n_marks++] = vr_mark_key(agent, route);
	} else if (!on && i != -1) {
		free(vr->marks[i]);
		vr->marks[i] = vr->marks[--vr->n_marks];
	}
}

/* ---- the list ---- */

static const struct model_route *
vr_route(struct view_routes *vr, int row)
{
	const struct model_status *st =
	    ui_fleet(vr->v.ui)->agents[vr->rows[row].agent].status;

	/* an odd route is never a target: nobody knows what it is */
	if (st == NULL || vr->rows[row].route < 0 ||
	    vr->rows[row].route >= st->n_routes)
		return NULL;
	return &st->routes[vr->rows[row].route];
}

static struct view_routes *vr_sorting;

static int
vr_cmp(const void *x, const void *y)
{
	struct view_routes		*vr = vr_sorting;
	struct fleet			*fl = ui_fleet(vr->v.ui);
	const struct vr_row		*ra = x, *rb = y;
	const struct fleet_agent	*aa = &fl->agents[ra->agent];
	const struct fleet_agent	*ab = &fl->agents[rb->agent];
	const struct model_route	*a = &aa->status->routes[ra->route];
	const struct model_route	*b = &ab->status->routes[rb->route];
	int				 d = 0;

	switch (vr->v.sort) {
	case 1:
		d = strcmp(a->name, b->name);
		break;
	case 2:
		d = (int)b->state - (int)a->state;
		break;
	case 3:
		d = strcmp(a->pool != NULL ? a->pool : "",
		    b->pool != NULL ? b->pool : "");
		break;
	}
	if (d == 0)
		d = strcmp(aa->conf->name, ab->conf->name);
	if (d == 0)
		d = strcmp(a->name, b->name);
	return vr->v.sort_desc ? -d : d;
}

static void
vr_build(struct view_routes *vr)
{
	struct fleet	*fl = ui_fleet(vr->v.ui);
	int		 i, k, sel = vr->t.sel;

	if (vr->n > 0 && vr->t.sel < vr->n) {
		const struct model_route *r = vr_route(vr, vr->t.sel);

		vr->keep_agent = vr->rows[vr->t.sel].agent;
		if (r != NULL)
			strlcpy_v(vr->keep_route, r->name, sizeof(vr->keep_route));
	}
	vr->now = fetch_now_ms();
	vr->n = 0;
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		for (k = 0; a->status != NULL && k < a->status->n_routes;
		    k++) {
			const struct model_route *r = &a->status->routes[k];

			if (!ui_match(&vr->v, a->conf->name, r->name,
			    model_rstate_str(r->state), r->pool != NULL ?
			    r->pool : "", r->reason, r->actor, r->operator,
			    NULL))
				continue;
			if (vr->n == vr->cap) {
				vr->cap = vr->cap * 2 + 64;
				vr->rows = xreallocarray(vr->rows,
				    (size_t)vr->cap, sizeof(*vr->rows));
			}
			vr->rows[vr->n].agent = i;
			vr->rows[vr->n++].route = k;
		}
	}
	vr_sorting = vr;
	if (vr->n > 1)
		qsort(vr->rows, (size_t)vr->n, sizeof(*vr->rows), vr_cmp);
	for (i = 0; i < vr->n; i++) {
		if (vr->rows[i].agent == vr->keep_agent &&
		    strcmp(vr_route(vr, i)->name, vr->keep_route) == 0)
			sel = i;
	}
	/* the odd ones last, in the agents' order, marked */
	for (i = 0; i < fl->n_agents; i++) {
		const struct model_odds *o;

		if (fl->agents[i].status == NULL)
			continue;
		o = &fl->agents[i].status->odd_routes;
		for (k = 0; k < o->n; k++) {
			if (!ui_match(&vr->v, fl->agents[i].conf->name,
			    o->v[k].name != NULL ? o->v[k].name : "",
			    o->v[k].reason, NULL))
				continue;
			if (vr->n == vr->cap) {
				vr->cap = vr->cap * 2 + 64;
				vr->rows = xreallocarray(vr->rows,
				    (size_t)vr->cap, sizeof(*vr->rows));
			}
			vr->rows[vr->n].agent = i;
			vr->rows[vr->n++].route = -1 - k;
		}
	}
	/* agents never reached: their routes are unknown, not absent */
	for (i = 0; i < fl->n_agents; i++) {
		struct fleet_agent *a = &fl->agents[i];

		if (a->status != NULL || !ui_match(&vr->v, a->conf->name,
		    "unknown", "agent unreachable", fleet_agent_reason(a),
		    NULL))
			continue;
		if (vr->n == vr->cap) {
			vr->cap = vr->cap * 2 + 64;
			vr->rows = xreallocarray(vr->rows, (size_t)vr->cap,
			    sizeof(*vr->rows));
		}
		vr->rows[vr->n].agent = i;
		vr->rows[vr->n++].route = VR_NOROUTES;
	}
	table_set_rows(&vr->t, vr->n, sel);
	vr->t.sort_col = vr_sort_col[vr->v.sort];
	vr->t.sort_desc = vr->v.sort_desc;
}

static const char *
vr_cell(void *ctx, int row, int col, char *buf, size_t len, int *attr)
{
	struct view_routes		*vr = ctx;
	struct ui			*ui = vr->v.ui;
	const struct fleet_agent	*a = &ui_fleet(ui)->agents[
					    vr->rows[row].agent];
	const struct model_route	*r = vr_route(vr, row);
	int				 usable = fleet_agent_usable(a, vr->now);
	const struct model_odd		*d;

	if (vr->rows[row].route == VR_NOROUTES) {
		enum fleet_state s = fleet_agent_state(a, vr->now);

		switch (col) {
		case VR_AGENT:
			return a->conf->name;
		case VR_ROUTE:
			return "?";
		case VR_STATE:
		case VR_EFFECTIVE:
			*attr = ui_attr(ui, s == FLEET_CONNECTING ? UI_C_DIM :
			    UI_C_BAD);
			return "unknown";
		case VR_REASON:
			*attr = ui_attr(ui, s == FLEET_CONNECTING ? UI_C_DIM :
			    UI_C_BAD);
			if (s == FLEET_CONNECTING)
				return "routes unknown (waiting for the agent)";
			snprintf(buf, len, "routes unknown (agent %s: %s)",
			    fleet_state_str(s), fleet_agent_reason(a));
			return buf;
		}
		return "";
	}
	if (r == NULL && vr->rows[row].route < 0 && a->status != NULL) {
		d = &a->status->odd_routes.v[-1 - vr->rows[row].route];
		switch (col) {
		case VR_AGENT:
			return a->conf->name;
		case VR_ROUTE:
			return d->name != NULL ? d->name : "?";
		case VR_STATE:
			*attr = ui_attr(ui, UI_C_BAD);
			return "! malformed";
		case VR_REASON:
			*attr = ui_attr(ui, UI_C_BAD);
			return model_odd_text(d->reason, buf, len);
		}
		return "";
	}
	if (r == NULL)
		return "";
	if (!usable && col != VR_MARKC)
		*attr = ui_attr(ui, UI_C_DIM);
	switch (col) {
	case VR_MARKC:
		if (vr_mark_find(vr, a->conf->name, r->name) == -1)
			return "";
		*attr = ui_attr(ui, UI_C_MARK);
		return ui_glyph(ui, UI_G_MARK);
	case VR_AGENT:
		return a->conf->name;
	case VR_ROUTE:
		return r->name;
	case VR_STATE:
		if (!usable) {
			snprintf(buf, len, "stale:%s",
			    model_rstate_str(r->state));
			return buf;
		}
		if (r->state != MODEL_ACTIVE)
			*attr = ui_attr(ui, UI_C_WARN);
		snprintf(buf, len, "%s%s", model_rstate_str(r->state),
		    r->forced ? "!" : "");
		return buf;
	case VR_EFFECTIVE:
		if (usable && r->effective == MODEL_EFF_DOWN)
			*attr = ui_attr(ui, UI_C_BAD);
		else if (usable && r->effective == MODEL_EFF_READY)
			*attr = ui_attr(ui, UI_C_OK);
		return model_effective_str(r->effective);
	case VR_PROBE:
		return r->probe != NULL ? r->probe : "-";
	case VR_POOL:
		return r->pool != NULL ? r->pool : "-";
	case VR_SINCE:
		return ui_ago(r->since_ms, vr->now, buf, len);
	case VR_EXPIRES:
		return r->expires_ms != VANTAGE_NONE ? ui_ago(r->expires_ms,
		    vr->now, buf, len) : "-";
	case VR_ACTOR:
		if (r->actor[0] == '\0')
			return "-";
		if (r->operator[0] != '\0')
			snprintf(buf, len, "%s (%s)", r->actor, r->operator);
		else
			snprintf(buf, len, "%s", r->actor);
		return buf;
	case VR_REASON:
		return r->reason;
	}
	return "";
}

/* ---- actions ---- */

static void
vr_targets_free(struct view_routes *vr)
{
	int	i;

	for (i = 0; i < vr->n_grp; i++)
		action_free(vr->grp[i].act);
	free(vr->grp);
	vr->grp = NULL;
	vr->n_grp = 0;
	for (i = 0; i < vr->n_tg; i++) {
		free(vr->tg[i].route);
		free(vr->tg[i].pool);
	}
	free(vr->tg);
	vr->tg = NULL;
	vr->n_tg = 0;
	vr->pending = 0;
}

static void
vr_target_add(struct view_routes *vr, int agent, const struct model_route *r)
{
	struct fleet_agent	*a = &ui_fleet(vr->v.ui)->agents[agent];
	struct vr_target	*t;

	vr->tg = xreallocarray(vr->tg, (size_t)vr->n_tg + 1,
	    sizeof(*vr->tg));
	t = &vr->tg[vr->n_tg++];
	memset(t, 0, sizeof(*t));
	t->agent = agent;
	t->route = xstrdup(r->name);
	t->pool = r->pool != NULL ? xstrdup(r->pool) : NULL;
	t->from = r->state;
	t->stale = !fleet_agent_usable(a, fetch_now_ms());
}

/* The marked routes that still exist, or the one under the cursor. */
static int
vr_collect(struct view_routes *vr)
{
	struct fleet	*fl = ui_fleet(vr->v.ui);
	int		 i, k;

	vr_targets_free(vr);
	for (i = 0; i < fl->n_agents; i++) {
		const struct model_status *st = fl->agents[i].status;

		for (k = 0; st != NULL && k < st->n_routes; k++) {
			if (vr_mark_find(vr, fl->agents[i].conf->name,
			    st->routes[k].name) != -1)
				vr_target_add(vr, i, &st->routes[k]);
		}
	}
	if (vr->n_tg == 0 && vr->n > 0 && vr->t.sel < vr->n &&
	    vr_route(vr, vr->t.sel) != NULL)
		vr_target_add(vr, vr->rows[vr->t.sel].agent,
		    vr_route(vr, vr->t.sel));
	return vr->n_tg;
}

/* The routes of targets of one agent, for a request or the guard. */
static const char **
vr_agent_routes(struct view_routes *vr, int agent, int *np)
{
	const char	**names;
	int		  i, n = 0;

	names = xcalloc((size_t)vr->n_tg + 1, sizeof(*names));
	for (i = 0; i < vr->n_tg; i++) {
		if (vr->tg[i].agent == agent)
			names[n++] = vr->tg[i].route;
	}
	*np = n;
	return names;
}

static void
vr_group_done(struct action *c, void *arg)
{
	struct vr_group		*g = arg;
	struct view_routes	*vr = g->vr;
	struct fleet_agent	*a = &ui_fleet(vr->v.ui)->agents[g->agent];
	char			 out[1024];
	int			 i;

	g->done = 1;
	vr->pending--;
	a->fleet->gen++;
	if (c->outcome == ACTION_APPLIED) {
		for (i = 0; i < vr->n_tg; i++) {
			if (vr->tg[i].agent == g->agent)
				vr_mark_set(vr, a->conf->name,
				    vr->tg[i].route, 0);
		}
	}
	/* said under the status line too, should the view be left */
	ui_message(vr->v.ui, c->outcome != ACTION_APPLIED, "%s: %s: %s",
	    a->conf->name, vr_act_verb(vr->act), action_describe(c, out,
	    sizeof(out)));
	/* show the change (and its audit row) without waiting a period */
	fleet_refresh_agent(a);
}

static void
vr_apply(struct view_routes *vr, int force)
{
	struct fleet		*fl = ui_fleet(vr->v.ui);
	struct fleet_change	 fc;
	struct vr_group		*g;
	const char		**names;
	char			*body, *path;
	const char		*what = vr->act == VR_UNDRAIN ? "undrain" :
				    "drain";
	int			 i, k, n, seen;

	vr->force = force;
	vr->mode = VR_RESULTS;
	vr->pending = 0;
	memset(&fc, 0, sizeof(fc));
	fc.undrain = vr->act == VR_UNDRAIN;
	fc.reason = vr->reason.buf;
	fc.ttl_ms = vr->act == VR_UNDRAIN ? -1 : vr->ttl_ms;
	fc.maint = vr->act == VR_MAINT;
	fc.force = force;
	vr->grp = xcalloc((size_t)vr->n_tg + 1, sizeof(*vr->grp));
	for (i = 0; i < vr->n_tg; i++) {
		for (seen = 0, k = 0; k < vr->n_grp; k++)
			seen |= vr->grp[k].agent == vr->tg[i].agent;
		if (seen)
			continue;
		g = &vr->grp[vr->n_grp++];
		g->vr = vr;
		g->agent = vr->tg[i].agent;
		names = vr_agent_routes(vr, g->agent, &n);
		/* one route: its own endpoint, which every agent has */
		if (n == 1) {
			path = fleet_path("routes", names[0], what);
			body = fleet_change_body(&fc, NULL, 0);
		} else {
			xasprintf(&path, "/v1/routes/%s", what);
			body = fleet_change_body(&fc, names, n);
		}
		free(names);
		vr->pending++;
		g->act = action_start(&fl->agents[g->agent], path, body, NULL,
		    vr_group_done, g);
		free(path);
		free(body);
	}
}

static int
vr_form_check(struct view_routes *vr)
{
	char	err[160];

	vr->form_err[0] = '\0';
	if (vr->reason.len == 0) {
		snprintf(vr->form_err, sizeof(vr->form_err), "a reason is "
		    "required: the audit log keeps it");
		vr->field = 0;
		return -1;
	}
	if (vr->reason.len > 500) {
		snprintf(vr->form_err, sizeof(vr->form_err), "the reason is "
		    "longer than 500 bytes");
		return -1;
	}
	vr->ttl_ms = -1;
	if (vr->act != VR_UNDRAIN && vr->ttl.len > 0) {
		if (parse_duration_ms(vr->ttl.buf, &vr->ttl_ms, err,
		    sizeof(err)) == -1 || vr->ttl_ms < 1000 ||
		    vr->ttl_ms > 30LL * 86400000) {
			snprintf(vr->form_err, sizeof(vr->form_err), "TTL: "
			    "a duration from 1s to 30d, like 30m or 2h, or "
			    "empty for none");
			vr->field = 1;
			return -1;
		}
	}
	return 0;
}

/* A change still waiting for answers owns the targets. */
static int
vr_pending_guard(struct view_routes *vr)
{
	if (vr->pending == 0)
		return 0;
	ui_message(vr->v.ui, 1, "the last change still waits for %d "
	    "agent%s", vr->pending, vr->pending == 1 ? "" : "s");
	return 1;
}

/* ---- forms ---- */

static int
vr_is_enter(int key)
{
	return key == '\r' || key == '\n' || key == UI_FKEY(KEY_ENTER);
}

static int
vr_form_key(struct view_routes *vr, int key)
{
	int	nfields = vr->act == VR_UNDRAIN ? 1 : 2;

	if (key == UI_ESC) {
		vr->mode = VR_LIST;
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	if (key == '\t' || key == UI_FKEY(KEY_DOWN)) {
		vr->field = (vr->field + 1) % nfields;
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	if (key == UI_FKEY(KEY_BTAB) || key == UI_FKEY(KEY_UP)) {
		vr->field = (vr->field + nfields - 1) % nfields;
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	if (vr_is_enter(key)) {
		if (vr_form_check(vr) == 0)
			vr->mode = VR_CONFIRM;
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	ui_input_key(vr->field == 0 ? &vr->reason : &vr->ttl, key);
	return VIEW_HANDLED | VIEW_REDRAW;
}

static int
vr_confirm_key(struct view_routes *vr, int key)
{
	if (vr_is_enter(key)) {
		/* a change this size is applied by a deliberate key only */
		ui_message(vr->v.ui, 0, "press y to apply, Esc to cancel");
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	switch (key) {
	case 'y':
	case 'Y':
		vr_apply(vr, 0);
		break;
	case 'f':
	case 'F':
		if (vr->act != VR_UNDRAIN)
			vr_apply(vr, 1);
		break;
	case 'e':
		vr->mode = VR_FORM;
		break;
	case 'n':
	case 'N':
	case 'q':
	case UI_ESC:
		vr->mode = VR_LIST;
		break;
	}
	return VIEW_HANDLED | VIEW_REDRAW;
}

static void
vr_draw_form(struct view_routes *vr, int y, int x, int h, int w)
{
	struct ui	*ui = vr->v.ui;
	const char	*what;
	int		 row = y, bold = A_BOLD, sel;

	what = vr->act == VR_DRAIN ? "Drain" : vr->act == VR_MAINT ?
	    "Put in maintenance" : "Undrain";
	ui_put(row++, x, w, ui_attr(ui, UI_C_HEAD), "");
	ui_putf(row - 1, x, w, ui_attr(ui, UI_C_BAR), " %s %d route%s", what,
	    vr->n_tg, vr->n_tg == 1 ? "" : "s");
	sel = vr->field == 0 ? A_REVERSE : A_NORMAL;
	ui_put(row, x + 1, 8, bold, "Reason:");
	ui_putf(row++, x + 10, w - 11, sel, "%s%s", vr->reason.buf,
	    vr->field == 0 ? "_" : "");
	if (vr->act != VR_UNDRAIN && row < y + h) {
		sel = vr->field == 1 ? A_REVERSE : A_NORMAL;
		ui_put(row, x + 1, 8, bold, "TTL:");
		ui_putf(row, x + 10, 20, sel, "%s%s", vr->ttl.buf,
		    vr->field == 1 ? "_" : "");
		ui_put(row++, x + 31, w - 32, ui_attr(ui, UI_C_DIM),
		    "e.g. 30m, 2h; empty: until undrained");
	}
	if (row < y + h)
		ui_put(row++, x + 1, w - 2, ui_attr(ui, UI_C_BAD),
		    vr->form_err);
	if (row < y + h)
		ui_put(row, x + 1, w - 2, ui_attr(ui, UI_C_DIM),
		    "Tab next field   Enter continue   Esc cancel");
}

/* Bytes of s that fill cols columns (the agent text is mostly ASCII). */
static size_t
vr_bytes(const char *s, int cols)
{
	size_t	i = 0;
	int	c = 0;

	while (s[i] != '\0' && c < cols) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		c++;
	}
	return i;
}

/* Draws m from column ind on, on up to 3 lines: the agent's words whole. */
static void
vr_draw_wrapped(int *rowp, int x, int ind, int w, int end, int attr,
    const char *m)
{
	int	n, k, lines = 0;

	do {
		n = lines < 2 ? (int)vr_bytes(m, w - ind) : (int)strlen(m);
		/* break after a blank, not inside a word, when one fits */
		if (m[n] != '\0' && lines < 2) {
			for (k = n; k > 0 && m[k - 1] != ' '; k--)
				;
			if (k > 0)
				n = k;
		}
		ui_putf((*rowp)++, x + ind, w - ind, attr, "%.*s", n, m);
		m += n;
	} while (*m != '\0' && *rowp < end && ++lines < 3 && w - ind > 10);
}

/*
 * What each (agent, pool) keeps after the change, counted as the agent
 * will count it when it decides (shared/pool.c) from its last status.
 */
static void
vr_draw_pools(struct view_routes *vr, int *rowp, int x, int end, int w)
{
	struct ui			*ui = vr->v.ui;
	struct fleet			*fl = ui_fleet(ui);
	const struct model_pool		*p;
	struct pool_member		*m;
	struct pool_outcome		 po;
	const char			**names;
	char				 d[300];
	int				 i, k, j, n, seen, drain, trips;

	drain = vr->act != VR_UNDRAIN;
	for (i = 0; i < vr->n_tg && *rowp < end; i++) {
		const struct vr_target *t = &vr->tg[i];
		const struct fleet_agent *a = &fl->agents[t->agent];
		const struct model_status *st = a->status;

		if (t->pool == NULL)
			continue;
		for (seen = 0, j = 0; j < i; j++) {
			if (vr->tg[j].agent == t->agent &&
			    vr->tg[j].pool != NULL &&
			    strcmp(vr->tg[j].pool, t->pool) == 0)
				seen = 1;
		}
		if (seen)
			continue;
		for (p = NULL, k = 0; st != NULL && k < st->n_pools; k++) {
			if (strcmp(st->pools[k].name, t->pool) == 0)
				p = &st->pools[k];
		}
		if (p == NULL) {
			ui_putf((*rowp)++, x, w, A_NORMAL, "  %-16s pool %s: "
			    "not reported by the agent", a->conf->name,
			    t->pool);
			continue;
		}
		names = vr_agent_routes(vr, t->agent, &n);
		m = model_pool_members(st, names, n);
		pool_count(m, (size_t)st->n_routes, p->name, drain, &po);
		trips = pool_trips(&po, (int)p->min_active, drain);
		pool_describe(&po, p->name, (int)p->min_active, d, sizeof(d));
		free(m);
		free(names);
		if (trips)
			snprintf(d + strlen(d), sizeof(d) - strlen(d),
			    ": REFUSED (409) unless forced");
		/* wrapped, not cut: the refusal is at the end of the words */
		ui_putf(*rowp, x, w, trips ? ui_attr(ui, UI_C_BAD) :
		    (int)A_NORMAL, "  %-16s", a->conf->name);
		vr_draw_wrapped(rowp, x, 19, w, end, trips ? ui_attr(ui,
		    UI_C_BAD) : (int)A_NORMAL, d);
	}
}

static void
vr_draw_confirm(struct view_routes *vr, int y, int x, int h, int w)
{
	struct ui	*ui = vr->v.ui;
	struct fleet	*fl = ui_fleet(ui);
	char		 d[32], ttl[64];
	int		 row = y, end = y + h - 1, i, nagents = 0, j, dup;
	enum model_rstate to = vr_act_to(vr->act);

	for (i = 0; i < vr->n_tg; i++) {
		for (dup = 0, j = 0; j < i; j++)
			dup |= vr->tg[j].agent == vr->tg[i].agent;
		nagents += !dup;
	}
	ttl[0] = '\0';
	if (vr->ttl_ms > 0 && vr->act != VR_UNDRAIN)
		snprintf(ttl, sizeof(ttl), ", for %s", parse_fmt_duration(
		    vr->ttl_ms, d, sizeof(d)));
	ui_putf(row++, x, w, ui_attr(ui, UI_C_BAR), " %s %d route%s on %d "
	    "agent%s%s, reason \"%s\"", vr_act_verb(vr->act), vr->n_tg,
	    vr->n_tg == 1 ? "" : "s", nagents, nagents == 1 ? "" : "s", ttl,
	    vr->reason.buf);
	ui_put(row++, x, w, ui_attr(ui, UI_C_DIM), " applied per agent: each "
	    "agent's routes all or none");
	for (i = 0; i < vr->n_tg && row < end - 2; i++) {
		const struct vr_target *t = &vr->tg[i];

		if (row == end - 3 && i < vr->n_tg - 1) {
			ui_putf(row++, x, w, A_NORMAL, "  ... and %d more",
			    vr->n_tg - i);
			break;
		}
		ui_putf(row++, x, w, t->stale ? ui_attr(ui, UI_C_BAD) :
		    (int)A_NORMAL, "  %-16s %-20s %-12s %s %s %s%s",
		    fl->agents[t->agent].conf->name, t->route, t->pool !=
		    NULL ? t->pool : "(no pool)", model_rstate_str(t->from),
		    ui_glyph(ui, UI_G_ARROW), model_rstate_str(to),
		    t->stale ? "  (agent not answering: will likely fail)" :
		    t->from == to ? "  (no change but the reason)" : "");
	}
	if (row < end) {
		ui_put(row++, x, w, A_BOLD, " pools afterwards:");
		i = row;
		vr_draw_pools(vr, &row, x, end, w);
		if (row == i && row < end)
			ui_put(row++, x, w, ui_attr(ui, UI_C_DIM),
			    "  (no route in a pool)");
	}
	ui_put(y + h - 1, x, w, A_BOLD, vr->act == VR_UNDRAIN ?
	    " y apply   e edit   n/Esc cancel" :
	    " y apply   f apply with force   e edit   n/Esc cancel");
}

static void
vr_draw_results(struct view_routes *vr, int y, int x, int h, int w)
{
	struct ui	*ui = vr->v.ui;
	struct fleet	*fl = ui_fleet(ui);
	char		 out[1024], line[300];
	int		 row = y, end = y + h - 1, i, k, attr, napplied = 0;

	for (i = 0; i < vr->n_grp; i++)
		napplied += vr->grp[i].act->outcome == ACTION_APPLIED;
	ui_putf(row++, x, w, ui_attr(ui, UI_C_BAR), " %s%s: %d of %d agent%s "
	    "answered for, %d applied; each agent's routes all or none",
	    vr_act_verb(vr->act), vr->force ? " (forced)" : "",
	    vr->n_grp - vr->pending, vr->n_grp, vr->n_grp == 1 ? "" : "s",
	    napplied);
	for (i = 0; i < vr->n_grp && row < end; i++) {
		const struct vr_group *g = &vr->grp[i];
		const struct action *c = g->act;

		attr = c->outcome == ACTION_APPLIED ? ui_attr(ui, UI_C_OK) :
		    c->outcome == ACTION_PENDING ? ui_attr(ui, UI_C_WARN) :
		    ui_attr(ui, UI_C_BAD);
		ui_putf(row, x, w, attr | A_BOLD, "  %s:",
		    fl->agents[g->agent].conf->name);
		vr_draw_wrapped(&row, x, 4 + ui_width(
		    fl->agents[g->agent].conf->name), w, end, attr,
		    action_describe(c, out, sizeof(out)));
		for (k = 0; k < vr->n_tg && row < end; k++) {
			const struct vr_target *t = &vr->tg[k];
			const struct model_action_route *ar = NULL;
			int j;

			if (t->agent != g->agent)
				continue;
			for (j = 0; c->has_result && j < c->result.n_routes;
			    j++) {
				if (strcmp(c->result.routes[j].route.name,
				    t->route) == 0)
					ar = &c->result.routes[j];
			}
			if (ar != NULL && ar->changed)
				snprintf(line, sizeof(line), "applied: now %s, "
				    "effective %s%s", model_rstate_str(
				    ar->route.state), model_effective_str(
				    ar->route.effective), ar->route.forced ?
				    ", forced" : "");
			else if (ar != NULL)
				snprintf(line, sizeof(line), "applied (no "
				    "change): already %s", model_rstate_str(
				    ar->route.state));
			else if (c->outcome == ACTION_NOT_APPLIED)
				snprintf(line, sizeof(line), "not applied");
			else if (c->outcome == ACTION_APPLIED)
				snprintf(line, sizeof(line), "applied");
			else
				snprintf(line, sizeof(line), "outcome unknown");
			if (ar != NULL && ar->audit_id > 0)
				snprintf(line + strlen(line), sizeof(line) -
				    strlen(line), ", audit #%" PRId64,
				    ar->audit_id);
			ui_putf(row++, x, w, attr, "    %-16s %-20s %s",
			    fl->agents[t->agent].conf->name, t->route, line);
		}
	}
	ui_put(y + h - 1, x, w, A_BOLD, vr->pending > 0 ?
	    " waiting for the agents ... (Esc: back to the list; the "
	    "outcome is still told)" : " any key: back to the routes");
}

static void
vr_draw(struct view *v, int y, int x, int h, int w)
{
	struct view_routes	*vr = (struct view_routes *)v;
	int			 fh = vr->act == VR_UNDRAIN ? 5 : 6;

	vr_build(vr);
	switch (vr->mode) {
	case VR_LIST:
		table_draw(&vr->t, v->ui, y, x, h, w, vr_cell, vr);
		if (vr->n == 0 && h > 3)
			ui_put(y + 2, x + 2, w - 4, ui_attr(v->ui, UI_C_DIM),
			    v->filter[0] != '\0' ? "no route matches the "
			    "filter (Esc drops it)" : "no routes known (yet)");
		break;
	case VR_FORM:
		if (h > fh + 3) {
			table_draw(&vr->t, v->ui, y, x, h - fh, w, vr_cell,
			    vr);
			vr_draw_form(vr, y + h - fh, x, fh, w);
		} else
			vr_draw_form(vr, y, x, h, w);
		break;
	case VR_CONFIRM:
		vr_draw_confirm(vr, y, x, h, w);
		break;
	case VR_RESULTS:
		vr_draw_results(vr, y, x, h, w);
		break;
	}
}

static int
vr_key(struct view *v, int key)
{
	struct view_routes		*vr = (struct view_routes *)v;
	struct fleet			*fl = ui_fleet(v->ui);
	const struct model_route	*r;
	int				 rc, i, all;

	switch (vr->mode) {
	case VR_FORM:
		return vr_form_key(vr, key);
	case VR_CONFIRM:
		return vr_confirm_key(vr, key);
	case VR_RESULTS:
		/* while outcomes are awaited, the other keys stay global */
		if (vr->pending > 0 && key != UI_ESC)
			return 0;
		vr->mode = VR_LIST;
		if (vr->pending == 0)
			vr_targets_free(vr);
		return VIEW_HANDLED | VIEW_REDRAW;
	case VR_LIST:
		break;
	}
	if (key != ' ' && (rc = table_key(&vr->t, key)) != 0)
		return rc;
	switch (key) {
	case '\r':
	case '\n':
	case UI_FKEY(KEY_ENTER):
		if (vr->n == 0 || (r = vr_route(vr, vr->t.sel)) == NULL)
			return VIEW_HANDLED;
		if (r->probe == NULL) {
			ui_message(v->ui, 0, "route %s follows no probe",
			    r->name);
			return VIEW_HANDLED | VIEW_REDRAW;
		}
		i = vr->rows[vr->t.sel].agent;
		ui_push(v->ui, view_detail_new(v->ui, fl->agents[i].conf->name,
		    r->probe));
		return VIEW_HANDLED | VIEW_REDRAW;
	case ' ':
		if (vr->n == 0 || (r = vr_route(vr, vr->t.sel)) == NULL)
			return VIEW_HANDLED;
		i = vr->rows[vr->t.sel].agent;
		vr_mark_set(vr, fl->agents[i].conf->name, r->name,
		    vr_mark_find(vr, fl->agents[i].conf->name, r->name) ==
		    -1);
		if (vr->t.sel < vr->n - 1)
			vr->t.sel++;
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'a':
		for (all = 1, i = 0; i < vr->n; i++) {
			if ((r = vr_route(vr, i)) != NULL &&
			    vr_mark_find(vr, fl->agents[vr->rows[i].agent].
			    conf->name, r->name) == -1)
				all = 0;
		}
		for (i = 0; i < vr->n; i++) {
			if ((r = vr_route(vr, i)) != NULL)
				vr_mark_set(vr, fl->agents[vr->rows[i].agent].
				    conf->name, r->name, !all);
		}
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'd':
	case 'm':
	case 'u':
		if (vr_pending_guard(vr))
			return VIEW_HANDLED | VIEW_REDRAW;
		vr->act = key == 'd' ? VR_DRAIN : key == 'm' ? VR_MAINT :
		    VR_UNDRAIN;
		if (vr_collect(vr) == 0) {
			ui_message(v->ui, 1, "no route to %s", vr_act_verb(
			    vr->act));
			return VIEW_HANDLED | VIEW_REDRAW;
		}
		/* a fresh form each time: no reason carried over by mistake */
		ui_input_set(&vr->reason, "");
		ui_input_set(&vr->ttl, "");
		vr->ttl_ms = -1;
		vr->field = 0;
		vr->form_err[0] = '\0';
		vr->mode = VR_FORM;
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	return 0;
}

static const char *
vr_hint(struct view *v)
{
	struct view_routes	*vr = (struct view_routes *)v;

	switch (vr->mode) {
	case VR_LIST:
		snprintf(vr->hint, sizeof(vr->hint), " %d marked  <space> "
		    "mark  <a> all  <d> drain  <m> maint  <u> undrain  "
		    "<enter> probe  <?> help  <q> back", vr->n_marks);
		return vr->hint;
	case VR_FORM:
		return " <tab> next field  <enter> continue  <esc> cancel";
	case VR_CONFIRM:
		return " <y> apply  <f> force  <e> edit  <esc> cancel";
	case VR_RESULTS:
		return vr->pending > 0 ? " waiting for the agents  <esc> "
		    "back to the list" : " any key: back to the list";
	}
	return NULL;
}

static void
vr_free(struct view *v)
{
	struct view_routes	*vr = (struct view_routes *)v;
	int			 i;

	vr_targets_free(vr);
	for (i = 0; i < vr->n_marks; i++)
		free(vr->marks[i]);
	free(vr->marks);
	free(vr->rows);
	free(vr);
}

static struct view *
vr_open(struct ui *ui, const char *arg)
{
	(void)arg;
	return view_routes_new(ui);
}

const struct view_class view_routes_class = {
	.name = "routes",
	.aliases = "rt",
	.hotkey = '4',
	.what = "routes: drain, maint, undrain",
	.usage = NULL,
	.arg = UI_ARG_NONE,
	.open = vr_open,
	.draw = vr_draw,
	.key = vr_key,
	.free = vr_free,
	.hint = vr_hint,
	.help = vr_help,
	.sorts = vr_sorts,
	.filterable = 1,
};

struct view *
view_routes_new(struct ui *ui)
{
	struct view_routes	*vr;

	vr = xcalloc(1, sizeof(*vr));
	vr->v.cls = &view_routes_class;
	vr->v.ui = ui;
	vr->keep_agent = -1;
	table_init(&vr->t, vr_cols, VR_NCOLS);
	vr->t.pinned = 3;
	return &vr->v;
}
