/*
 * suggest.h - "did you mean" for names in configs: the candidate closest
 * to a misspelt word, shared by vantaged.conf and vantage.conf checks.
 *
 * Feed every candidate through suggest_try(); suggest_best() is the
 * closest by edit distance (a swap of two neighbours counts as one), and
 * only when it is close enough to be a slip of the fingers: at most one
 * edit for words of up to four letters, two up to eight, three beyond,
 * and never half the word or more.
 */
#ifndef VANTAGE_SUGGEST_H
#define VANTAGE_SUGGEST_H

#define SUGGEST_MAX	64	/* longer words get no suggestion */

struct suggest {
	const char	*word;
	const char	*best;
	int		 dist;
};

void		 suggest_init(struct suggest *, const char *word);
void		 suggest_try(struct suggest *, const char *candidate);
/* The closest candidate, or NULL when none is close. */
const char	*suggest_best(const struct suggest *);
/* Edit distance (optimal string alignment), case-insensitive; -1 when a
 * word is longer than SUGGEST_MAX. */
int		 suggest_distance(const char *, const char *);

#endif
