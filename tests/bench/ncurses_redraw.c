/*
 * ncurses_redraw.c - the baseline of bench_console_keys.sh: a bare
 * ncurses program that draws a screen like the console's fleet view (a
 * header naming the sort key, a table of ROWS rows of which a screenful
 * is shown, a status line) and, on `s`, moves to the next sort key and
 * redraws all of it, as the console does.  What it costs from key to
 * frame is the floor set by curses and the terminal, not by vantage.
 *
 *	ncurses_redraw [ROWS]	(q quits)
 */
#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sorts[] = { "name", "state", "down", "latency" };

static void
draw(int sort, int nrows)
{
	int	rows, cols, r;

	getmaxyx(stdscr, rows, cols);
	erase();
	attrset(A_REVERSE);
	mvprintw(0, 0, "%-*s", cols, " vantage | fleet");
	mvprintw(0, cols - 40, "sort:%s  1:fleet 2:matrix ?:help", sorts[sort]);
	attrset(A_BOLD);
	mvprintw(1, 0, "%-*s", cols, "AGENT     STATE   PROBES  UP  "
	    "DEGRADED  DOWN  DRAINED  LATENCY  URL / REASON");
	attrset(A_NORMAL);
	for (r = 0; r < rows - 4 && r < nrows; r++) {
		int a = sort % 2 == 0 ? r : nrows - 1 - r;

		if (r == 0)
			attrset(A_REVERSE);
		mvprintw(2 + r, 0, "a%-8d ok          20  19         1     0"
		    "      0/1   0.42ms  http://127.0.0.1:%d", a, 20000 + a);
		attrset(A_NORMAL);
	}
	attrset(A_REVERSE);
	mvprintw(rows - 2, 0, "%-*s", cols, " refreshed now | 1000 agents: "
	    "1000 ok, 0 failing");
	attrset(A_NORMAL);
	mvprintw(rows - 1, 0, "sorted by %s", sorts[sort]);
	refresh();
}

int
main(int argc, char *argv[])
{
	int	sort = 0, nrows = argc > 1 ? atoi(argv[1]) : 1000, ch;

	setlocale(LC_ALL, "");
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	draw(sort, nrows);
	while ((ch = getch()) != 'q' && ch != 'Q') {
		if (ch == 's')
			sort = (sort + 1) % 4;
		draw(sort, nrows);
	}
	endwin();
	return 0;
}
