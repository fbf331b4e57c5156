/*
 * ui.c - the TUI's screen manager (htop's ScreenManager, k9s's keys).
 *
 * One loop: wait for the network and the keyboard together
 * (fetch_wait() polls stdin beside libcurl's sockets), run finished
 * fetches, read keys, draw.  Views are a stack; the top one gets each key
 * first and answers with VIEW_* flags, then the manager handles the
 * global keys (`:` commands with completion, `/` filter, sorting, `?`
 * help, q/Esc back).  Only this file draws the header, status and prompt
 * lines, and only from ui_draw(), at most every UI_FRAME_MS and at least
 * once a second (for the "3s ago" texts).
 *
 * The terminal is restored on every way out: normal return, exit() from
 * fatal() (atexit), SIGINT/SIGTERM/SIGHUP (flag, clean return) and
 * crashes (handler restores, then re-raises).
 */
#include <ctype.h>
#include <curses.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>
#include <wchar.h>

#include "text.h"
#include "vantage.h"

#define UI_STACK	16
#define UI_FRAME_MS	50
#define UI_MSG_MS	4000
#define UI_MIN_COLS	40
#define UI_MIN_ROWS	10

enum ui_mode {
	UI_NORMAL,
	UI_COMMAND,
	UI_FILTER,
	UI_HELP
};

struct ui {
	struct fleet		*fl;
	struct view		*stack[UI_STACK];
	int			 depth;
	int			 color;
	int			 utf8;
	enum ui_mode		 mode;
	struct ui_input		 line;
	char			 saved_filter[128];
	char			 completions[256];
	char			 msg[512];
	int			 msg_err;
	int64_t			 msg_until;
	int			 dirty;
	int			 help_top;
	int64_t			 last_draw;
	uint64_t		 seen_gen;	/* fleet data drawn */
	int			 keyed;		/* a key was read */
	int			 quit;
	int64_t			*down_since;	/* per agent: first failure
						   seen, wall clock; 0: fine */
};

/*
 * Every view, by its description (struct view_class in its own file):
 * `:` commands and their aliases, hotkeys, `?` help and Tab completion
 * are all read from here.  A new view is one file and one line here;
 * the first is the root view, under every other.
 */
static const struct view_class *const view_table[] = {
	&view_fleet_class,
	&view_matrix_class,
	&view_probes_class,
	&view_routes_class,
	&view_audit_class,
	&view_detail_class,
};
#define N_VIEWS		(int)(sizeof(view_table) / sizeof(view_table[0]))

/* The `:` commands that open no view. */
struct ui_cmd {
	const char	*name;
	const char	*aliases;
	const char	*what;
	void		(*run)(struct ui *);
};

static void	ui_cmd_help(struct ui *);
static void	ui_cmd_refresh(struct ui *);
static void	ui_cmd_quit(struct ui *);

static const struct ui_cmd ui_cmds[] = {
	{ "help", NULL, "every key, view and command", ui_cmd_help },
	{ "refresh", NULL, "poll every agent now", ui_cmd_refresh },
	{ "quit", "q q! exit", "leave vantage", ui_cmd_quit },
};
#define N_UI_CMDS	(int)(sizeof(ui_cmds) / sizeof(ui_cmds[0]))

static const struct view_help ui_help_global[] = {
	{ ":", "a command: a view's name or alias, or one of the "
	    "commands above (Tab completes)" },
	{ "/", "filter the rows (Enter keeps it, Esc drops it)" },
	{ "s  S", "sort by the next column / reverse the order" },
	{ "Up Down j k", "move the cursor" },
	{ "PgUp PgDn ^B ^F", "page up / down" },
	{ "Home End g G", "first / last row" },
	{ "Left Right h l", "scroll the columns" },
	{ "Enter", "open what the cursor is on" },
	{ "r", "poll every agent now (resets their backoff)" },
	{ "^L", "redraw the screen" },
	{ "?", "this help (j/k/PgUp/PgDn scroll it, any other key "
	    "closes it)" },
	{ "q  Esc", "back; q in the fleet view quits; Esc drops a filter "
	    "first" },
	{ "Q  ^C", "quit" },
	{ NULL, NULL }
};

static struct ui		*ui_cur;	/* for atexit and signals */
static volatile sig_atomic_t	 ui_sig;
static int			 ui_curses_on;
static int			 ui_glyph_utf8;
static int			 ui_text_utf8;	/* the locale's, for text */
static char			 ui_fatal_msg[1024];

/* ---- terminal lifetime ---- */

static void
ui_end(void)
{
	if (ui_curses_on) {
		ui_curses_on = 0;
		curs_set(1);
		endwin();
	}
	if (ui_fatal_msg[0] != '\0') {
		fprintf(stderr, "vantage: %s\n", ui_fatal_msg);
		ui_fatal_msg[0] = '\0';
	}
}

static void
ui_on_signal(int sig)
{
	ui_sig = sig;
}

#ifndef __SANITIZE_ADDRESS__
/* A crash must not leave the terminal raw; then die of the signal. */
static void
ui_on_crash(int sig)
{
	if (ui_curses_on)
		endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}
#endif

static void
ui_signals(void)
{
	struct sigaction	sa;
	static const int	quit_sigs[] = { SIGINT, SIGTERM, SIGHUP,
				    SIGQUIT };
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = ui_on_signal;	/* no SA_RESTART: poll returns */
	for (i = 0; i < sizeof(quit_sigs) / sizeof(quit_sigs[0]); i++)
		sigaction(quit_sigs[i], &sa, NULL);
#ifndef __SANITIZE_ADDRESS__
	/* (under ASan its own report is worth more than a clean terminal) */
	{
		static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGFPE,
		    SIGILL, SIGABRT };

		sa.sa_handler = ui_on_crash;
		sa.sa_flags = SA_RESETHAND;
		for (i = 0; i < sizeof(crash_sigs) / sizeof(crash_sigs[0]);
		    i++)
			sigaction(crash_sigs[i], &sa, NULL);
	}
#endif
}

/* Log lines would scribble over the screen: they become messages. */
static void
ui_log_sink(enum log_level lvl, const char *msg)
{
	if (lvl == LOG_LVL_ERR)
		strlcpy_v(ui_fatal_msg, msg, sizeof(ui_fatal_msg));
	if (ui_cur != NULL)
		ui_message(ui_cur, lvl <= LOG_LVL_WARN, "%s", msg);
}

static void
ui_colors(struct ui *ui)
{
	const char	*nc = getenv("NO_COLOR");
	int		 want = ui->fl->conf->color;

	ui->color = 0;
	if (want == 0 || (want == -1 && nc != NULL && nc[0] != '\0'))
		return;
	if (!has_colors() || start_color() == ERR || COLORS < 8)
		return;
	use_default_colors();
	init_pair(UI_C_OK, COLOR_GREEN, -1);
	init_pair(UI_C_WARN, COLOR_YELLOW, -1);
	init_pair(UI_C_BAD, COLOR_RED, -1);
	init_pair(UI_C_DIM, COLOR_BLUE, -1);
	init_pair(UI_C_HEAD, COLOR_CYAN, -1);
	init_pair(UI_C_BAR, COLOR_BLACK, COLOR_CYAN);
	init_pair(UI_C_MARK, COLOR_MAGENTA, -1);
	init_pair(UI_C_GRAPH, COLOR_CYAN, -1);
	ui->color = 1;
}

/* The one colour of each probe state, the same in every view. */
int
ui_state_attr(struct ui *ui, enum model_state s)
{
	switch (s) {
	case MODEL_UP:
		return ui_attr(ui, UI_C_OK);
	case MODEL_DEGRADED:
		return ui_attr(ui, UI_C_WARN);
	case MODEL_DOWN:
		return ui_attr(ui, UI_C_BAD);
	case MODEL_UNKNOWN:
		return ui_attr(ui, UI_C_DIM);
	}
	return 0;
}

int
ui_attr(struct ui *ui, enum ui_color c)
{
	if (ui->color) {
		switch (c) {
		case UI_C_NORMAL:
			return A_NORMAL;
		case UI_C_BAD:
			return (int)(COLOR_PAIR(c) | A_BOLD);
		case UI_C_HEAD:
			return (int)(COLOR_PAIR(c) | A_BOLD);
		case UI_C_DIM:
			return (int)COLOR_PAIR(c);
		case UI_C_MARK:
			return (int)(COLOR_PAIR(c) | A_BOLD);
		case UI_C_OK:
		case UI_C_WARN:
		case UI_C_BAR:
		case UI_C_GRAPH:
			return (int)COLOR_PAIR(c);
		}
		return A_NORMAL;
	}
	/* monochrome: the words carry the meaning, attributes help */
	switch (c) {
	case UI_C_NORMAL:
	case UI_C_OK:
	case UI_C_GRAPH:
		return A_NORMAL;
	case UI_C_WARN:
		return A_UNDERLINE;
	case UI_C_BAD:
		return A_BOLD;
	case UI_C_DIM:
		return A_DIM;
	case UI_C_HEAD:
		return A_BOLD;
	case UI_C_BAR:
		return A_REVERSE;
	case UI_C_MARK:
		return A_BOLD;
	}
	return A_NORMAL;
}

const char *
ui_glyph(struct ui *ui, enum ui_glyph g)
{
	int	u = ui != NULL ? ui->utf8 : ui_glyph_utf8;

	switch (g) {
	case UI_G_VBAR:
		return u ? "\u2502" : "|";
	case UI_G_HBAR:
		return u ? "\u2500" : "-";
	case UI_G_UP:
		return u ? "\u25b2" : "^";
	case UI_G_DOWN:
		return u ? "\u25bc" : "v";
	case UI_G_MARK:
		return u ? "\u25cf" : "*";
	case UI_G_DOT:
		return u ? "\u00b7" : ".";
	case UI_G_ARROW:
		return u ? "\u2192" : "->";
	case UI_G_ELLIPSIS:
		return u ? "\u2026" : "~";
	}
	return "?";
}

struct fleet *
ui_fleet(struct ui *ui)
{
	return ui->fl;
}

int64_t
ui_agent_down_since(struct ui *ui, const struct fleet_agent *a)
{
	return ui->down_since != NULL ? ui->down_since[a->idx] : 0;
}

/* When each failing agent began to fail, as far as this console saw. */
static void
ui_track_down(struct ui *ui)
{
	struct fleet_agent	*a;
	int			 i;

	for (i = 0; i < ui->fl->n_agents; i++) {
		a = &ui->fl->agents[i];
		if (a->fails == 0)
			ui->down_since[i] = 0;
		else if (ui->down_since[i] == 0)
			ui->down_since[i] = a->last_try_ms > 0 ?
			    a->last_try_ms : fetch_now_ms();
	}
}

int
ui_utf8(struct ui *ui)
{
	return ui->utf8;
}

void
ui_message(struct ui *ui, int error, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(ui->msg, sizeof(ui->msg), fmt, ap);
	va_end(ap);
	ui->msg_err = error;
	ui->msg_until = fetch_mono_ms() + UI_MSG_MS;
	ui->dirty = 1;
}

/* ---- text ---- */

/*
 * Walks s as the screen shows it; with out set, draws it (attr: the
 * text's own attributes).  This is the one edge where remote text meets
 * the terminal, so it is escaped here: a control character (C0, DEL, C1,
 * the bidi embeddings, overrides and isolates of text_is_control()) is
 * drawn as its escape ("\x1b", "\u{202e}") in the DIM colour, and so is
 * a byte that is not UTF-8 ("\xff"); an escape is as wide as its text.
 * No code point an agent sends reaches curses unless it is printable.
 */
static int
ui_walk(const char *s, int w, int out, int attr)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), k;
	uint32_t		 cp;
	char			 one[8], esc[16];
	int			 used = 0, cw, dim;

	while (n > 0 && used < w) {
		esc[0] = '\0';
		cw = 1;
		if ((k = text_utf8_next(p, n, &cp)) == 0 ||
		    text_is_control(cp)) {
			if (k == 0)
				k = 1;
			memcpy(one, p, k);
			one[k] = '\0';
			text_escape(one, esc, sizeof(esc));
		} else if (cp >= 0x80 && !ui_text_utf8)
			snprintf(esc, sizeof(esc), "?");
		else if (cp >= 0x80 && (cw = wcwidth((wchar_t)cp)) < 0)
			snprintf(esc, sizeof(esc), "\\u{%04x}",
			    (unsigned)cp);
		if (esc[0] != '\0') {
			cw = (int)strlen(esc);
			if (used + cw > w)
				break;
			if (out) {
				/* the text's own attributes, the DIM colour */
				dim = ui_cur != NULL ? ui_attr(ui_cur,
				    UI_C_DIM) : (int)A_DIM;
				attrset((attr & ~(int)A_COLOR) | dim);
				addstr(esc);
				attrset(attr);
			}
		} else {
			if (used + cw > w)
				break;
			if (out)
				addnstr((const char *)p, (int)k);
		}
		used += cw;
		p += k;
		n -= k;
	}
	return used;
}

int
ui_width(const char *s)
{
	return ui_walk(s != NULL ? s : "", 1 << 20, 0, 0);
}

int
ui_put(int y, int x, int w, int attr, const char *s)
{
	int	used, full, i;

	if (w <= 0)
		return 0;
	if (s == NULL)
		s = "";
	move(y, x);
	attrset(attr);
	full = ui_width(s);
	if (full > w && w >= 2) {
		used = ui_walk(s, w - 1, 1, attr);
		addstr(ui_glyph(NULL, UI_G_ELLIPSIS));
		used++;
	} else
		used = ui_walk(s, w, 1, attr);
	for (i = used; i < w; i++)
		addch(' ');
	attrset(A_NORMAL);
	return used;
}

int
ui_putf(int y, int x, int w, int attr, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ui_put(y, x, w, attr, buf);
}

int
ui_match(const struct view *v, ...)
{
	va_list		 ap;
	const char	*s;
	int		 hit = 0;

	if (v->filter[0] == '\0')
		return 1;
	va_start(ap, v);
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (strcasestr(s, v->filter) != NULL) {
			hit = 1;
			break;
		}
	}
	va_end(ap);
	return hit;
}

const char *
ui_clock(int64_t ms, const char *fmt, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t;

	if (ms <= 0 || ms == VANTAGE_NONE)
		return "-";
	t = (time_t)(ms / 1000);
	localtime_r(&t, &tm);
	strftime(buf, len, fmt, &tm);
	return buf;
}

const char *
ui_ago(int64_t ms, int64_t now, char *buf, size_t len)
{
	char	d[32];

	if (ms <= 0 || ms == VANTAGE_NONE)
		return "-";
	if (ms > now)
		snprintf(buf, len, "in %s", parse_fmt_duration(
		    (ms - now + 999) / 1000 * 1000, d, sizeof(d)));
	else if (now - ms < 1000)
		snprintf(buf, len, "now");
	else
		snprintf(buf, len, "%s ago", parse_fmt_duration(
		    (now - ms) / 1000 * 1000, d, sizeof(d)));
	return buf;
}

const char *
ui_us(int64_t us, char *buf, size_t len)
{
	/* milliseconds throughout, with the precision a LAN link needs */
	if (us == VANTAGE_NONE || us < 0)
		snprintf(buf, len, "-");
	else if (us < 10000)
		snprintf(buf, len, "%.2fms", (double)us / 1000);
	else if (us < 100000)
		snprintf(buf, len, "%.1fms", (double)us / 1000);
	else if (us < 10000000)
		snprintf(buf, len, "%dms", (int)(us / 1000));
	else
		snprintf(buf, len, "%.1fs", (double)us / 1000000);
	return buf;
}

/* ---- text fields ---- */

void
ui_input_set(struct ui_input *in, const char *s)
{
	strlcpy_v(in->buf, s, sizeof(in->buf));
	in->len = strlen(in->buf);
}

int
ui_input_key(struct ui_input *in, int key)
{
	char		mb[MB_LEN_MAX];
	mbstate_t	st;
	size_t		n;

	switch (key) {
	case UI_FKEY(KEY_BACKSPACE):
	case 127:
	case 8:
		/* one character, not one byte */
		while (in->len > 0) {
			in->len--;
			if (((unsigned char)in->buf[in->len] & 0xc0) != 0x80)
				break;
		}
		in->buf[in->len] = '\0';
		return 1;
	case UI_CTRL('u'):
		in->len = 0;
		in->buf[0] = '\0';
		return 1;
	case UI_CTRL('w'):
		while (in->len > 0 && in->buf[in->len - 1] == ' ')
			in->len--;
		while (in->len > 0 && in->buf[in->len - 1] != ' ')
			in->len--;
		in->buf[in->len] = '\0';
		return 1;
	}
	if (key < 0x20 || key == 0x7f || key >= 0x110000)
		return 0;
	memset(&st, 0, sizeof(st));
	n = wcrtomb(mb, (wchar_t)key, &st);
	if (n == (size_t)-1 || in->len + n >= sizeof(in->buf))
		return 0;
	memcpy(in->buf + in->len, mb, n);
	in->len += n;
	in->buf[in->len] = '\0';
	return 1;
}

/* ---- the view stack ---- */

void
ui_push(struct ui *ui, struct view *v)
{
	if (ui->depth == UI_STACK) {
		v->cls->free(v);
		ui_message(ui, 1, "too many views open");
		return;
	}
	v->ui = ui;
	ui->stack[ui->depth++] = v;
	ui->dirty = 1;
}

static void
ui_pop(struct ui *ui)
{
	struct view	*v;

	if (ui->depth <= 1)
		return;
	v = ui->stack[--ui->depth];
	v->cls->free(v);
	ui->dirty = 1;
}

static struct view *
ui_top(struct ui *ui)
{
	return ui->stack[ui->depth - 1];
}

/* ---- commands ---- */

/*
 * One word `:` knows: a view's name or alias, or a command's.  Aliases are
 * blank-separated in the descriptions, so a word is a pointer and a
 * length.
 */
struct ui_word {
	const char		*w;
	size_t			 len;
	const struct view_class	*view;		/* or */
	const struct ui_cmd	*cmd;
	int			 alias;
};

#define UI_MAXWORDS	64

static void
ui_words_of(struct ui_word *out, int *n, const char *name,
    const char *aliases, const struct view_class *view,
    const struct ui_cmd *cmd)
{
	const char	*p = aliases;
	size_t		 k;

	if (*n < UI_MAXWORDS)
		out[(*n)++] = (struct ui_word){ name, strlen(name), view, cmd,
		    0 };
	while (p != NULL && *p != '\0' && *n < UI_MAXWORDS) {
		p += strspn(p, " ");
		if ((k = strcspn(p, " ")) == 0)
			break;
		out[(*n)++] = (struct ui_word){ p, k, view, cmd, 1 };
		p += k;
	}
}

static int
ui_words(struct ui_word *out)
{
	int	n = 0, i;

	for (i = 0; i < N_VIEWS; i++)
		ui_words_of(out, &n, view_table[i]->name,
		    view_table[i]->aliases, view_table[i], NULL);
	for (i = 0; i < N_UI_CMDS; i++)
		ui_words_of(out, &n, ui_cmds[i].name, ui_cmds[i].aliases, NULL,
		    &ui_cmds[i]);
	return n;
}

/*
 * The entry a command word means: an exact name or alias, else the one
 * entry whose words start with it.  0 found, 1 none, 2 ambiguous.
 */
static int
ui_lookup(const char *word, const struct view_class **view,
    const struct ui_cmd **cmd)
{
	struct ui_word	ws[UI_MAXWORDS];
	size_t		len = strlen(word);
	int		n = ui_words(ws), i, hit = -1, amb = 0;

	for (i = 0; i < n; i++) {
		if (ws[i].len == len && strncmp(ws[i].w, word, len) == 0) {
			hit = i;
			amb = 0;
			break;
		}
		if (ws[i].len > len && strncmp(ws[i].w, word, len) == 0) {
			if (hit != -1 && (ws[hit].view != ws[i].view ||
			    ws[hit].cmd != ws[i].cmd))
				amb = 1;
			hit = i;
		}
	}
	if (hit == -1)
		return 1;
	if (amb)
		return 2;
	*view = ws[hit].view;
	*cmd = ws[hit].cmd;
	return 0;
}

static void
ui_cmd_help(struct ui *ui)
{
	ui->mode = UI_HELP;
	ui->help_top = 0;
}

static void
ui_cmd_refresh(struct ui *ui)
{
	fleet_refresh(ui->fl);
	ui_message(ui, 0, "polling %d agent%s now", ui->fl->n_agents,
	    ui->fl->n_agents == 1 ? "" : "s");
}

static void
ui_cmd_quit(struct ui *ui)
{
	ui->quit = 1;
}

/*
 * Opens a view as `:name arg` or its hotkey does: it replaces every view
 * above the root (the root's own view just uncovers the root).  A view
 * that cannot open has said why; the screen is then left as it was.
 */
static void
ui_open(struct ui *ui, const struct view_class *def, const char *arg)
{
	struct view	*v;

	if (arg != NULL && arg[0] == '\0')
		arg = NULL;
	if (arg != NULL && def->arg == UI_ARG_NONE) {
		ui_message(ui, 1, ":%s takes no argument", def->name);
		return;
	}
	if (def == ui->stack[0]->cls && arg == NULL) {
		while (ui->depth > 1)
			ui_pop(ui);
		return;
	}
	if (def->open == NULL || (v = def->open(ui, arg)) == NULL)
		return;
	while (ui->depth > 1)
		ui_pop(ui);
	ui_push(ui, v);
}

static void
ui_command(struct ui *ui, const char *line)
{
	const struct view_class	*view = NULL;
	const struct ui_cmd	*cmd = NULL;
	char			 word[64], arg[256];
	const char		*p = line;
	size_t			 n;
	int			 rc;

	while (*p == ' ')
		p++;
	n = strcspn(p, " ");
	if (n == 0)
		return;
	snprintf(word, sizeof(word), "%.*s", (int)n, p);
	p += n;
	while (*p == ' ')
		p++;
	strlcpy_v(arg, p, sizeof(arg));
	n = strlen(arg);
	while (n > 0 && arg[n - 1] == ' ')
		arg[--n] = '\0';
	if ((rc = ui_lookup(word, &view, &cmd)) != 0) {
		ui_message(ui, 1, "%s command ':%s' (try :help)",
		    rc == 1 ? "unknown" : "ambiguous", word);
		return;
	}
	if (cmd != NULL)
		cmd->run(ui);
	else
		ui_open(ui, view, arg);
}

/*
 * Replaces the token being typed (from `from` in the line) with the
 * longest prefix the candidates share and lists them; one candidate is
 * completed with a blank after it.
 */
static void
ui_complete_from(struct ui *ui, size_t from, const char *const *cand,
    int ncand)
{
	const char	*tok = ui->line.buf + from;
	size_t		 tl = strlen(tok), k, cl = 0;
	char		 common[256], line[sizeof(ui->line.buf)];
	int		 i, n = 0, listed = 0;

	ui->completions[0] = '\0';
	for (i = 0; i < ncand; i++) {
		if (strncmp(cand[i], tok, tl) != 0)
			continue;
		if (n++ == 0) {
			strlcpy_v(common, cand[i], sizeof(common));
			cl = strlen(common);
		} else {
			for (k = 0; k < cl && common[k] == cand[i][k]; k++)
				;
			common[cl = k] = '\0';
		}
		k = strlen(ui->completions);
		if (k + strlen(cand[i]) + 12 < sizeof(ui->completions)) {
			snprintf(ui->completions + k, sizeof(ui->completions) -
			    k, "%s%s", k > 0 ? " " : "", cand[i]);
			listed++;
		}
	}
	if (n == 0) {
		snprintf(ui->completions, sizeof(ui->completions), "no match "
		    "for '%.200s'", tok);
		return;
	}
	if (listed < n) {
		k = strlen(ui->completions);
		snprintf(ui->completions + k, sizeof(ui->completions) - k,
		    " +%d more", n - listed);
	}
	snprintf(line, sizeof(line), "%.*s%s%s", (int)from, ui->line.buf,
	    common, n == 1 ? " " : "");
	ui_input_set(&ui->line, line);
	if (n == 1)
		ui->completions[0] = '\0';
}

/*
 * Tab in the `:` prompt: the command word from the view table and the
 * commands, then its argument as its view says: agent names, or an
 * agent's then one of its probes.
 */
static void
ui_complete(struct ui *ui)
{
	struct ui_word		 ws[UI_MAXWORDS];
	const char		*cand[UI_MAXWORDS], **names;
	const struct view_class	*view = NULL;
	const struct ui_cmd	*cmd = NULL;
	const struct fleet_agent *a;
	char			 word[64], agent[256];
	const char		*buf = ui->line.buf, *p;
	size_t			 n, from;
	int			 i, k, nw, nargs;

	n = strcspn(buf, " ");
	if (buf[n] == '\0') {
		/* the command word: the names (aliases are typed whole) */
		nw = ui_words(ws);
		for (i = k = 0; i < nw; i++) {
			if (!ws[i].alias)
				cand[k++] = ws[i].w;
		}
		ui_complete_from(ui, 0, cand, k);
		return;
	}
	snprintf(word, sizeof(word), "%.*s", (int)n, buf);
	if (ui_lookup(word, &view, &cmd) != 0 || view == NULL ||
	    view->arg == UI_ARG_NONE) {
		snprintf(ui->completions, sizeof(ui->completions), "%s",
		    view != NULL || cmd != NULL ? "no argument to complete" :
		    "unknown command");
		return;
	}
	/* which argument the cursor is in: the last, maybe empty, token */
	for (p = buf + n, nargs = 0;;) {
		p += strspn(p, " ");
		if (*p == '\0') {
			from = strlen(buf);
			break;
		}
		k = (int)strcspn(p, " ");
		if (p[k] == '\0') {
			from = (size_t)(p - buf);
			break;
		}
		if (nargs == 0)
			snprintf(agent, sizeof(agent), "%.*s", k, p);
		nargs++;
		p += k;
	}
	if (nargs == 0) {
		names = xcalloc((size_t)ui->fl->n_agents + 1, sizeof(*names));
		for (i = 0; i < ui->fl->n_agents; i++)
			names[i] = ui->fl->agents[i].conf->name;
		ui_complete_from(ui, from, names, ui->fl->n_agents);
		free(names);
		return;
	}
	if (nargs > 1 || view->arg != UI_ARG_AGENT_PROBE) {
		snprintf(ui->completions, sizeof(ui->completions),
		    "usage: :%s %s", view->name, view->usage != NULL ?
		    view->usage : "");
		return;
	}
	if ((a = fleet_find(ui->fl, agent)) == NULL) {
		snprintf(ui->completions, sizeof(ui->completions),
		    "no agent %.200s", agent);
		return;
	}
	if (a->status == NULL) {
		snprintf(ui->completions, sizeof(ui->completions),
		    "%.200s has not answered yet: its probes are unknown",
		    agent);
		return;
	}
	names = xcalloc((size_t)a->status->n_probes + 1, sizeof(*names));
	for (i = 0; i < a->status->n_probes; i++)
		names[i] = a->status->probes[i].name;
	ui_complete_from(ui, from, names, a->status->n_probes);
	free(names);
}

static int
ui_is_backspace(int key)
{
	return key == 127 || key == 8 || key == UI_FKEY(KEY_BACKSPACE);
}

static int
ui_is_enter(int key)
{
	return key == '\r' || key == '\n' || key == UI_FKEY(KEY_ENTER);
}

/* Keys of the `:` and `/` prompts; a filter applies as it is typed. */
static void
ui_prompt_key(struct ui *ui, int key)
{
	struct view	*v = ui_top(ui);
	char		 line[sizeof(ui->line.buf)];

	ui->dirty = 1;
	if (key == UI_ESC || (ui_is_backspace(key) && ui->line.len == 0)) {
		if (ui->mode == UI_FILTER)
			strlcpy_v(v->filter, ui->saved_filter, sizeof(v->filter));
		ui->mode = UI_NORMAL;
		return;
	}
	if (ui_is_enter(key)) {
		ui->completions[0] = '\0';
		if (ui->mode == UI_COMMAND) {
			ui->mode = UI_NORMAL;
			strlcpy_v(line, ui->line.buf, sizeof(line));
			ui_command(ui, line);
		} else
			ui->mode = UI_NORMAL;
		return;
	}
	if (key == '\t' && ui->mode == UI_COMMAND) {
		ui_complete(ui);
		return;
	}
	if (ui_input_key(&ui->line, key)) {
		ui->completions[0] = '\0';
		if (ui->mode == UI_FILTER)
			strlcpy_v(v->filter, ui->line.buf, sizeof(v->filter));
	}
}

/* ---- drawing ---- */

static void
ui_draw_header(struct ui *ui, int cols)
{
	struct view	*v = ui_top(ui);
	char		 path[256], title[128], right[256], keys[128];
	size_t		 n = 0;
	int		 i, k, bar = ui_attr(ui, UI_C_BAR), rw, lw;

	path[0] = '\0';
	for (i = 0; i < ui->depth; i++) {
		if (ui->stack[i]->cls->title != NULL)
			ui->stack[i]->cls->title(ui->stack[i], title,
			    sizeof(title));
		else
			strlcpy_v(title, ui->stack[i]->cls->name, sizeof(title));
		n = strlen(path);
		snprintf(path + n, sizeof(path) - n, "%s%s", i > 0 ? " > " :
		    "", title);
	}
	right[0] = '\0';
	if (v->filter[0] != '\0') {
		n = strlen(right);
		snprintf(right + n, sizeof(right) - n, "/%.40s  ", v->filter);
	}
	if (v->cls->sorts != NULL && v->cls->sorts[0] != NULL) {
		n = strlen(right);
		snprintf(right + n, sizeof(right) - n, "sort:%s%s  ",
		    v->cls->sorts[v->sort], ui_glyph(ui, v->sort_desc ?
		    UI_G_DOWN : UI_G_UP));
	}
	/* the views' hotkeys, whole when they fit beside the path, else
	 * the digits alone, else none */
	lw = ui_width(path) + 12;
	for (k = 0; k < 3; k++) {
		keys[0] = '\0';
		for (i = 0; k < 2 && i < N_VIEWS; i++) {
			if (view_table[i]->hotkey == 0)
				continue;
			n = strlen(keys);
			snprintf(keys + n, sizeof(keys) - n, k == 0 ?
			    "%c:%s " : "%c", view_table[i]->hotkey,
			    view_table[i]->name);
		}
		if (k == 1 && keys[0] != '\0')
			strlcpy_v(keys + strlen(keys), " ", sizeof(keys) -
			    strlen(keys));
		if (lw + ui_width(right) + ui_width(keys) + 7 <= cols)
			break;
	}
	n = strlen(right);
	snprintf(right + n, sizeof(right) - n, "%s?:help ", keys);
	rw = ui_width(right);
	ui_put(0, 0, cols, bar, "");
	ui_putf(0, 0, cols - rw - 1 > 0 ? cols - rw - 1 : 0, bar | A_BOLD,
	    " vantage %s %s", ui_glyph(ui, UI_G_VBAR), path);
	if (rw < cols)
		ui_put(0, cols - rw, rw, bar, right);
}

/*
 * Who the agents take us for: the credential's actor and role from the
 * first agent that said (with a '+' when another agent says otherwise,
 * e.g. a different token per agent), then the X-Vantage-Operator text.
 * The tail is dropped piece by piece when the line is narrow.
 */
static void
ui_draw_identity(struct ui *ui, int y, int x, int cols)
{
	struct fleet			*fl = ui->fl;
	const struct model_status	*first = NULL, *st;
	const char			*vbar = ui_glyph(ui, UI_G_VBAR);
	char				 d[32], who[160], line[512];
	int				 i, differ = 0, k;

	for (i = 0; i < fl->n_agents; i++) {
		if ((st = fl->agents[i].status) == NULL || st->caller == NULL)
			continue;
		if (first == NULL)
			first = st;
		else if (strcmp(st->caller, first->caller) != 0 ||
		    strcmp(st->caller_role, first->caller_role) != 0)
			differ = 1;
	}
	parse_fmt_duration(fl->conf->refresh_ms, d, sizeof(d));
	if (first == NULL) {
		/* no agent said (yet, or too old to): the header we send */
		ui_putf(y, x, cols - x, ui_attr(ui, UI_C_BAR),
		    " %s operator %s %s every %s", vbar, fl->operator, vbar, d);
		return;
	}
	snprintf(who, sizeof(who), "%.64s%s (%s)", first->caller,
	    differ ? "+" : "", first->caller_role);
	for (k = 0; k < 3; k++) {
		if (k == 0)
			snprintf(line, sizeof(line), " %s %s as %s %s every %s",
			    vbar, who, fl->operator, vbar, d);
		else if (k == 1)
			snprintf(line, sizeof(line), " %s %s as %s", vbar, who,
			    fl->operator);
		else
			snprintf(line, sizeof(line), " %s %s", vbar, who);
		if (ui_width(line) <= cols - x)
			break;
	}
	ui_put(y, x, cols - x, ui_attr(ui, UI_C_BAR), line);
}

static void
ui_draw_status(struct ui *ui, int y, int cols)
{
	struct fleet	*fl = ui->fl;
	char		 ago[32];
	const char	*vbar = ui_glyph(ui, UI_G_VBAR);
	int64_t		 now = fetch_now_ms();
	int		 ok = 0, failing = 0, stale = 0, waiting = 0, i, x;
	int		 bar = ui_attr(ui, UI_C_BAR);

	for (i = 0; i < fl->n_agents; i++) {
		switch (fleet_agent_state(&fl->agents[i], now)) {
		case FLEET_OK:
		case FLEET_SKEW:
			ok++;
			break;
		case FLEET_STALE:
			stale++;
			break;
		case FLEET_UNREACHABLE:
		case FLEET_ERROR:
			failing++;
			break;
		case FLEET_CONNECTING:
			waiting++;
			break;
		}
	}
	x = ui_putf(y, 0, cols, bar, " refreshed %s %s %d agent%s: %d ok, ",
	    fl->last_refresh_ms > 0 ? ui_ago(fl->last_refresh_ms, now, ago,
	    sizeof(ago)) : "never", vbar, fl->n_agents,
	    fl->n_agents == 1 ? "" : "s", ok);
	/* the failing count is what an operator must not miss */
	x += ui_putf(y, x, cols - x, failing > 0 ? bar | (int)A_BOLD : bar,
	    "%d failing", failing);
	if (stale > 0)
		x += ui_putf(y, x, cols - x, bar, ", %d stale", stale);
	if (waiting > 0)
		x += ui_putf(y, x, cols - x, bar, ", %d waiting", waiting);
	ui_draw_identity(ui, y, x, cols);
}

static void
ui_draw_prompt(struct ui *ui, int y, int cols)
{
	struct view	*v;
	const char	*hint;
	int		 x;

	if (ui->mode == UI_COMMAND || ui->mode == UI_FILTER) {
		x = ui_putf(y, 0, cols, A_BOLD, "%c%s_", ui->mode ==
		    UI_COMMAND ? ':' : '/', ui->line.buf);
		if (ui->completions[0] != '\0' && x + 3 < cols)
			ui_put(y, x + 2, cols - x - 2, ui_attr(ui, UI_C_DIM),
			    ui->completions);
		return;
	}
	if (ui->msg[0] != '\0' && fetch_mono_ms() < ui->msg_until) {
		ui_put(y, 0, cols, ui->msg_err ? ui_attr(ui, UI_C_BAD) :
		    (int)A_NORMAL, ui->msg);
		return;
	}
	ui->msg[0] = '\0';
	v = ui_top(ui);
	if (v->cls->hint != NULL && (hint = v->cls->hint(v)) != NULL) {
		ui_put(y, 0, cols, ui_attr(ui, UI_C_DIM), hint);
		return;
	}
	ui_put(y, 0, cols, ui_attr(ui, UI_C_DIM), ui->depth > 1 ?
	    " <enter> open  <:> command  </> filter  <s> sort  <?> help  "
	    "<q> back" :
	    " <enter> open  <:> command  </> filter  <s> sort  <?> help  "
	    "<q> quit");
}

/*
 * The `?` help as lines of the screen's width: the view's own keys, the
 * keys that work everywhere, the views (hotkey, `:` name, aliases) and
 * the commands, each text wrapped at blanks under its key, so nothing is
 * cut at 80 columns; the whole scrolls.
 */
struct ui_hline {
	char	key[40];
	char	text[256];
	int	head;
};

static void
ui_help_add(struct ui_hline **l, int *n, int *cap, const char *key,
    const char *text, int head, int tw)
{
	const char	*p = text;
	size_t		 len, cut;
	int		 first = 1;

	do {
		if (*n == *cap) {
			*cap = *cap * 2 + 64;
			*l = xreallocarray(*l, (size_t)*cap, sizeof(**l));
		}
		len = strlen(p);
		cut = len;
		if (!head && tw > 8 && ui_width(p) > tw) {
			/* the last blank that leaves the line within tw */
			for (cut = 0; p[cut] != '\0'; ) {
				size_t	next = cut + 1 + strcspn(p + cut + 1,
				    " ");
				char	tmp[256];

				snprintf(tmp, sizeof(tmp), "%.*s", (int)next, p);
				if (ui_width(tmp) > tw)
					break;
				cut = next;
			}
			if (cut == 0)
				cut = (size_t)tw;	/* one long word */
		}
		snprintf((*l)[*n].key, sizeof((*l)[*n].key), "%s", first &&
		    key != NULL ? key : "");
		snprintf((*l)[*n].text, sizeof((*l)[*n].text), "%.*s",
		    (int)cut, p);
		(*l)[*n].head = head;
		(*n)++;
		p += cut;
		while (*p == ' ')
			p++;
		first = 0;
	} while (*p != '\0');
}

static int
ui_help_lines(struct ui *ui, int tw, struct ui_hline **out)
{
	struct view	*v = ui_top(ui);
	struct ui_hline	*l = NULL;
	char		 title[128], key[40], text[256];
	int		 n = 0, cap = 0, i;
	const struct view_help *h;

	if (v->cls->title != NULL)
		v->cls->title(v, title, sizeof(title));
	else
		strlcpy_v(title, v->cls->name, sizeof(title));
	snprintf(text, sizeof(text), "Keys: %s", title);
	ui_help_add(&l, &n, &cap, NULL, text, 1, tw);
	for (h = v->cls->help; h != NULL && h->key != NULL; h++)
		ui_help_add(&l, &n, &cap, h->key, h->what, 0, tw);
	ui_help_add(&l, &n, &cap, NULL, "", 1, tw);
	ui_help_add(&l, &n, &cap, NULL, "Keys: everywhere", 1, tw);
	for (h = ui_help_global; h->key != NULL; h++)
		ui_help_add(&l, &n, &cap, h->key, h->what, 0, tw);
	ui_help_add(&l, &n, &cap, NULL, "", 1, tw);
	ui_help_add(&l, &n, &cap, NULL, "Views: the hotkey, or :name "
	    "(Tab completes names, agents and probes)", 1, tw);
	for (i = 0; i < N_VIEWS; i++) {
		const struct view_class *c = view_table[i];

		if (c->hotkey != 0)
			snprintf(key, sizeof(key), "%c  :%s", c->hotkey,
			    c->name);
		else
			snprintf(key, sizeof(key), "   :%s", c->name);
		snprintf(text, sizeof(text), "%s%s%s%s%s%s", c->usage != NULL ?
		    c->usage : "", c->usage != NULL ? ": " : "", c->what,
		    c->aliases != NULL ? " (also :" : "", c->aliases != NULL ?
		    c->aliases : "", c->aliases != NULL ? ")" : "");
		ui_help_add(&l, &n, &cap, key, text, 0, tw);
	}
	ui_help_add(&l, &n, &cap, NULL, "", 1, tw);
	ui_help_add(&l, &n, &cap, NULL, "Commands", 1, tw);
	for (i = 0; i < N_UI_CMDS; i++) {
		snprintf(key, sizeof(key), "   :%s", ui_cmds[i].name);
		snprintf(text, sizeof(text), "%s%s%s%s", ui_cmds[i].what,
		    ui_cmds[i].aliases != NULL ? " (also :" : "",
		    ui_cmds[i].aliases != NULL ? ui_cmds[i].aliases : "",
		    ui_cmds[i].aliases != NULL ? ")" : "");
		ui_help_add(&l, &n, &cap, key, text, 0, tw);
	}
	*out = l;
	return n;
}

static int
ui_help_kw(int cols)
{
	return cols >= 100 ? 18 : 15;
}

static void
ui_draw_help(struct ui *ui, int y0, int h, int cols)
{
	struct ui_hline	*l;
	int		 kw = ui_help_kw(cols), tw = cols - kw - 5, n, i, body;

	n = ui_help_lines(ui, tw, &l);
	body = h - 1;
	if (ui->help_top > n - body)
		ui->help_top = n - body > 0 ? n - body : 0;
	if (ui->help_top < 0)
		ui->help_top = 0;
	for (i = 0; i < h; i++)
		ui_put(y0 + i, 0, cols, A_NORMAL, "");
	for (i = 0; i < body && ui->help_top + i < n; i++) {
		const struct ui_hline *e = &l[ui->help_top + i];

		if (e->head) {
			ui_put(y0 + i, 1, cols - 2, ui_attr(ui, UI_C_HEAD),
			    e->text);
			continue;
		}
		ui_put(y0 + i, 3, kw, A_BOLD, e->key);
		ui_put(y0 + i, 3 + kw + 1, tw, A_NORMAL, e->text);
	}
	ui_putf(y0 + h - 1, 1, cols - 2, ui_attr(ui, UI_C_DIM), "lines %d-%d "
	    "of %d  %s", n > 0 ? ui->help_top + 1 : 0, ui->help_top + i, n,
	    ui->help_top + i < n ? "j/k/PgDn/PgUp scroll, any other key "
	    "closes" : "(end) k/PgUp scroll back, any other key closes");
	free(l);
}

/* Keys while the help is open: scrolling, or it closes. */
static void
ui_help_key(struct ui *ui, int key)
{
	int	rows, cols, page;

	getmaxyx(stdscr, rows, cols);
	(void)cols;
	page = rows - 4 > 1 ? rows - 4 : 1;
	switch (key) {
	case 'j':
	case UI_FKEY(KEY_DOWN):
		ui->help_top++;
		break;
	case 'k':
	case UI_FKEY(KEY_UP):
		ui->help_top--;
		break;
	case ' ':
	case UI_CTRL('f'):
	case UI_FKEY(KEY_NPAGE):
		ui->help_top += page;
		break;
	case UI_CTRL('b'):
	case UI_FKEY(KEY_PPAGE):
		ui->help_top -= page;
		break;
	case 'g':
	case UI_FKEY(KEY_HOME):
		ui->help_top = 0;
		break;
	case 'G':
	case UI_FKEY(KEY_END):
		ui->help_top = 1 << 20;		/* clamped when drawn */
		break;
	default:
		ui->mode = UI_NORMAL;
		break;
	}
	if (ui->help_top < 0)
		ui->help_top = 0;
	ui->dirty = 1;
}

static void
ui_draw(struct ui *ui)
{
	struct view	*v = ui_top(ui);
	int		 rows, cols;

	getmaxyx(stdscr, rows, cols);
	ui_track_down(ui);
	erase();
	if (cols < UI_MIN_COLS || rows < UI_MIN_ROWS) {
		mvprintw(0, 0, "terminal too small (%dx%d), vantage needs "
		    "%dx%d", cols, rows, UI_MIN_COLS, UI_MIN_ROWS);
		refresh();
		return;
	}
	ui_draw_header(ui, cols);
	if (ui->mode == UI_HELP)
		ui_draw_help(ui, 1, rows - 3, cols);
	else
		v->cls->draw(v, 1, 0, rows - 3, cols);
	ui_draw_status(ui, rows - 2, cols);
	ui_draw_prompt(ui, rows - 1, cols);
	refresh();
	ui->last_draw = fetch_mono_ms();
	ui->dirty = 0;
	ui->keyed = 0;
}

/* ---- keys ---- */

static void
ui_key(struct ui *ui, int key)
{
	struct view	*v = ui_top(ui);
	int		 flags, nsorts, i;

	if (key == UI_FKEY(KEY_RESIZE)) {
		ui->dirty = 1;
		return;
	}
	if (ui->mode == UI_HELP) {
		ui_help_key(ui, key);
		return;
	}
	/* a message is read by the time the next key comes */
	if (ui->msg[0] != '\0') {
		ui->msg[0] = '\0';
		ui->dirty = 1;
	}
	if (ui->mode == UI_COMMAND || ui->mode == UI_FILTER) {
		ui_prompt_key(ui, key);
		return;
	}
	flags = v->cls->key(v, key);
	if (flags & VIEW_REDRAW)
		ui->dirty = 1;
	if (flags & VIEW_QUIT) {
		ui->quit = 1;
		return;
	}
	if (flags & VIEW_BACK) {
		ui_pop(ui);
		return;
	}
	if (flags & VIEW_HANDLED)
		return;
	ui->dirty = 1;
	for (i = 0; i < N_VIEWS; i++) {
		if (view_table[i]->hotkey != 0 && view_table[i]->hotkey ==
		    key) {
			ui_open(ui, view_table[i], NULL);
			return;
		}
	}
	switch (key) {
	case ':':
		ui->mode = UI_COMMAND;
		ui_input_set(&ui->line, "");
		ui->completions[0] = '\0';
		break;
	case '/':
		if (!v->cls->filterable) {
			ui_message(ui, 0, "this view has no filter");
			break;
		}
		ui->mode = UI_FILTER;
		strlcpy_v(ui->saved_filter, v->filter, sizeof(ui->saved_filter));
		ui_input_set(&ui->line, v->filter);
		break;
	case '?':
		ui_cmd_help(ui);
		break;
	case 's':
	case 'S':
		for (nsorts = 0; v->cls->sorts != NULL &&
		    v->cls->sorts[nsorts] != NULL; nsorts++)
			;
		if (nsorts == 0)
			break;
		if (key == 's')
			v->sort = (v->sort + 1) % nsorts;
		else
			v->sort_desc = !v->sort_desc;
		ui_message(ui, 0, "sorted by %s, %s", v->cls->sorts[v->sort],
		    v->sort_desc ? "descending" : "ascending");
		break;
	case UI_ESC:
		if (v->filter[0] != '\0')
			v->filter[0] = '\0';
		else
			ui_pop(ui);
		break;
	case 'q':
		if (ui->depth > 1)
			ui_pop(ui);
		else
			ui->quit = 1;
		break;
	case 'Q':
		ui->quit = 1;
		break;
	case 'r':
	case UI_CTRL('r'):
		ui_cmd_refresh(ui);
		break;
	case UI_CTRL('l'):
		clearok(curscr, TRUE);
		break;
	default:
		break;
	}
}

/* ---- the loop ---- */

int
ui_run(struct fleet *fl)
{
	struct ui	 ui;
	SCREEN		*scr;
	const char	*cs;
	wint_t		 wch;
	int64_t		 wait, now, next_sec;
	int		 rc, r;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "vantage: the console needs a terminal; for "
		    "scripts use vantage status, probes, routes or audit\n");
		return 1;
	}
	memset(&ui, 0, sizeof(ui));
	ui.fl = fl;
	ui.down_since = xcalloc((size_t)fl->n_agents + 1,
	    sizeof(*ui.down_since));
	cs = nl_langinfo(CODESET);
	ui.utf8 = fl->conf->unicode == -1 ? (cs != NULL &&
	    strcasecmp(cs, "UTF-8") == 0) : fl->conf->unicode;
	ui_glyph_utf8 = ui.utf8;
	ui_text_utf8 = cs != NULL && strcasecmp(cs, "UTF-8") == 0;
	atexit(ui_end);
	ui_signals();
	set_escdelay(25);
	if ((scr = newterm(NULL, stdout, stdin)) == NULL) {
		fprintf(stderr, "vantage: cannot use terminal type '%s'\n",
		    getenv("TERM") != NULL ? getenv("TERM") : "(unset)");
		return 1;
	}
	ui_curses_on = 1;
	ui_cur = &ui;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	ui_colors(&ui);
	log_set_sink(ui_log_sink);

	/* the first view of the table is the root: never popped */
	ui_push(&ui, view_table[0]->open(&ui, NULL));
	fleet_tick(fl);
	ui_draw(&ui);
	next_sec = fetch_mono_ms() + 1000;
	while (!ui.quit && ui_sig == 0) {
		wait = fleet_tick(fl);
		if (ui_top(&ui)->cls->tick != NULL)
			ui_top(&ui)->cls->tick(ui_top(&ui));
		now = fetch_mono_ms();
		if (now >= next_sec) {
			ui.dirty = 1;
			next_sec = now + 1000;
		}
		if (ui.seen_gen != fl->gen) {
			ui.seen_gen = fl->gen;
			ui.dirty = 1;
		}
		/* a message goes when its time is up, not a second later */
		if (ui.msg[0] != '\0' && ui.mode == UI_NORMAL) {
			if (now >= ui.msg_until)
				ui.dirty = 1;
			else if (wait > ui.msg_until - now)
				wait = ui.msg_until - now;
		}
		if (ui.dirty) {
			/* keys are answered at once, data at a frame rate */
			if (ui.keyed || now - ui.last_draw >= UI_FRAME_MS)
				ui_draw(&ui);
			else if (wait > UI_FRAME_MS - (now - ui.last_draw))
				wait = UI_FRAME_MS - (now - ui.last_draw);
		}
		if (wait > next_sec - now)
			wait = next_sec - now;
		r = fetch_wait(fl->fetch, (int)wait, STDIN_FILENO);
		fetch_dispatch(fl->fetch);
		if (r == -1) {
			/* the terminal went away */
			break;
		}
		while ((rc = wget_wch(stdscr, &wch)) != ERR) {
			ui.keyed = 1;
			ui_key(&ui, rc == KEY_CODE_YES ? UI_FKEY((int)wch) :
			    (int)wch);
			if (ui.quit)
				break;
		}
	}
	while (ui.depth > 0) {
		ui.depth--;
		ui.stack[ui.depth]->cls->free(ui.stack[ui.depth]);
	}
	log_set_sink(NULL);
	ui_cur = NULL;
	free(ui.down_since);
	ui_end();
	delscreen(scr);
	return 0;
}
