/*
 * api_query.c - query strings of API requests.  They come from anyone
 * who can reach the port, so they are decoded here, once, strictly: a
 * bad escape, a control character, an empty or repeated key is a 400
 * with the reason, never a guess.  Fuzzed by tests/fuzz/fuzz_query.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantaged.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s in place ('+' is a space, %XX a byte); -1 on bad input. */
static int
api_query_decode(char *s, char *err, size_t errlen)
{
	char	*r = s, *w = s;
	int	 hi, lo;

	while (*r != '\0') {
		if (*r == '%') {
			if ((hi = hexval((unsigned char)r[1])) == -1 ||
			    (lo = hexval((unsigned char)r[2])) == -1) {
				snprintf(err, errlen, "bad %%-escape in the "
				    "query string");
				return -1;
			}
			*w = (char)(hi * 16 + lo);
			r += 3;
		} else if (*r == '+') {
			*w = ' ';
			r++;
		} else
			*w = *r++;
		/* NUL and control bytes have no business in a parameter */
		if ((unsigned char)*w < 0x20 || *w == 0x7f) {
			snprintf(err, errlen, "control character in the query "
			    "string");
			return -1;
		}
		w++;
	}
	*w = '\0';
	return 0;
}

int
api_query_parse(char *qs, struct api_query *q, char *err, size_t errlen)
{
	char	*p, *next, *eq;
	int	 i;

	q->n = 0;
	if (qs == NULL)
		return 0;
	for (p = qs; p != NULL; p = next) {
		if ((next = strchr(p, '&')) != NULL)
			*next++ = '\0';
		if (*p == '\0')
			continue;	/* "a=1&&b=2", a trailing '&' */
		if (q->n == API_QUERY_MAX) {
			snprintf(err, errlen, "more than %d query parameters",
			    API_QUERY_MAX);
			return -1;
		}
		if ((eq = strchr(p, '=')) != NULL)
			*eq++ = '\0';
		else
			eq = p + strlen(p);	/* "flag": empty value */
		if (api_query_decode(p, err, errlen) == -1 ||
		    api_query_decode(eq, err, errlen) == -1)
			return -1;
		if (*p == '\0') {
			snprintf(err, errlen, "empty query parameter name");
			return -1;
		}
		for (i = 0; i < q->n; i++) {
			if (strcmp(q->key[i], p) == 0) {
				snprintf(err, errlen, "query parameter '%.40s' "
				    "given twice", p);
				return -1;
			}
		}
		q->key[q->n] = p;
		q->val[q->n] = eq;
		q->n++;
	}
	return 0;
}

const char *
api_query_get(const struct api_query *q, const char *key)
{
	int	i;

	for (i = 0; i < q->n; i++) {
		if (strcmp(q->key[i], key) == 0)
			return q->val[i];
	}
	return NULL;
}

int
api_query_only(const struct api_query *q, const char *const *allowed,
    char *err, size_t errlen)
{
	int	i;
	size_t	j;

	for (i = 0; i < q->n; i++) {
		for (j = 0; allowed[j] != NULL; j++) {
			if (strcmp(q->key[i], allowed[j]) == 0)
				break;
		}
		if (allowed[j] == NULL) {
			snprintf(err, errlen, "unknown query parameter "
			    "'%.40s'", q->key[i]);
			return -1;
		}
	}
	return 0;
}

int
api_query_int(const struct api_query *q, const char *key, int64_t min,
    int64_t max, int64_t def, int64_t *out, char *err, size_t errlen)
{
	const char	*v;
	char		*end;
	long long	 n;

	if ((v = api_query_get(q, key)) == NULL) {
		*out = def;
		return 0;
	}
	/* digits only: strtoll alone would take " 12", "+12" and "0x1" */
	if (v[0] == '\0' || strspn(v + (v[0] == '-'), "0123456789") !=
	    strlen(v + (v[0] == '-')) || v[v[0] == '-'] == '\0') {
		snprintf(err, errlen, "'%s' must be a whole number", key);
		return -1;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max) {
		snprintf(err, errlen, "'%s' must be between %lld and %lld",
		    key, (long long)min, (long long)max);
		return -1;
	}
	*out = (int64_t)n;
	return 1;
}
