/*
 * suggest.c - the closest name to a misspelt one (see suggest.h).
 */
#include <ctype.h>
#include <string.h>

#include "suggest.h"

int
suggest_distance(const char *a, const char *b)
{
	int	d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j;
	int	cost, v;

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return -1;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]);
			v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			/* "toekn": two neighbours swapped is one slip */
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) ==
			    tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

void
suggest_init(struct suggest *s, const char *word)
{
	s->word = word;
	s->best = NULL;
	s->dist = -1;
}

void
suggest_try(struct suggest *s, const char *cand)
{
	size_t	n = strlen(s->word);
	int	d, max;

	if (cand == NULL || cand[0] == '\0')
		return;
	if ((d = suggest_distance(s->word, cand)) <= 0)
		return;		/* too long, or the word itself */
	max = n <= 4 ? 1 : n <= 8 ? 2 : 3;
	if (d > max || (size_t)d * 2 >= n + (n == 1))
		return;
	/* ties go to the first candidate: tables list common keys first */
	if (s->best == NULL || d < s->dist) {
		s->best = cand;
		s->dist = d;
	}
}

const char *
suggest_best(const struct suggest *s)
{
	return s->best;
}
