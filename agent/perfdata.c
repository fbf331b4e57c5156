/*
 * perfdata.c - a Nagios plugin's output, as the plugin guidelines define
 * it (https://nagios-plugins.org/doc/guidelines.html#AEN200):
 *
 *	TEXT OUTPUT | OPTIONAL PERFDATA
 *	LONG TEXT LINE 1
 *	LONG TEXT LINE N | PERFDATA LINE 2
 *	PERFDATA LINE 3
 *
 * and each perfdata item: 'label'=value[UOM];[warn];[crit];[min];[max],
 * items separated by blanks, a label with blanks in single quotes ('' for
 * a quote in it).  The bytes come from a child process: nothing here
 * trusts them (tests/fuzz/fuzz_perfdata.c); text kept is escaped
 * (shared/text.h) so it is clean UTF-8 without control characters.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vantaged.h"

/* Copies s[0..n) into out (cut to fit), then escapes it into esc. */
static void
perfdata_keep(const char *s, size_t n, char *esc, size_t esclen)
{
	char	tmp[PERFDATA_TEXT_MAX * 4];

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* a NUL in the output ends the text there */
	text_escape(tmp, esc, esclen);
}

void
perfdata_split(const char *out, size_t len, char *text, size_t textlen,
    struct buf *perf)
{
	const char	*nl, *bar, *end = out + len, *line;
	size_t		 n;

	text[0] = '\0';
	nl = memchr(out, '\n', len);
	n = nl != NULL ? (size_t)(nl - out) : len;
	bar = memchr(out, '|', n);
	if (bar != NULL) {
		buf_add(perf, bar + 1, n - (size_t)(bar + 1 - out));
		buf_addc(perf, ' ');
		n = (size_t)(bar - out);
	}
	/* the text without trailing blanks (and a CR of CRLF) */
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	perfdata_keep(out, n, text, textlen);
	if (nl == NULL)
		return;
	/* long text lines; the first '|' in them starts more perfdata */
	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		n = nl != NULL ? (size_t)(nl - line) : (size_t)(end - line);
		if ((bar = memchr(line, '|', n)) != NULL) {
			buf_add(perf, bar + 1, (size_t)(end - bar - 1));
			buf_addc(perf, ' ');
			return;
		}
		if (nl == NULL)
			break;
	}
}

/* A number as the guidelines write them: [-+]digits[.digits][e[-+]N]. */
static int
perfdata_num(const char *s, size_t n, double *v)
{
	char	tmp[64], *ep;
	size_t	i;
	int	digits = 0;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	for (i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (strchr("+-.eE", s[i]) == NULL)
			return -1;
	}
	if (digits == 0)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*v = strtod(tmp, &ep);
	if (*ep != '\0' || !isfinite(*v))
		return -1;
	return 0;
}

/* The length of the leading number of s (n bytes), 0 when none. */
static size_t
perfdata_numlen(const char *s, size_t n)
{
	size_t	i = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.'))
		i++;
	/* an exponent only when digits follow: "1e3" is a number */
	if (i < n && (s[i] == 'e' || s[i] == 'E') && i + 1 < n &&
	    (isdigit((unsigned char)s[i + 1]) || ((s[i + 1] == '-' ||
	    s[i + 1] == '+') && i + 2 < n &&
	    isdigit((unsigned char)s[i + 2])))) {
		i += 2;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	}
	return i;
}

/* A warn or crit range: the characters a Nagios range uses. */
static int
perfdata_range(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	i;

	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	if (n >= outlen)
		return -1;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    strchr("+-.eE:~@", s[i]) == NULL)
			return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* One item "label=..." in s[0..n); 0 and *pd, or -1 when malformed. */
static int
perfdata_item(const char *s, size_t n, struct perfdata *pd)
{
	const char	*f[5], *eq, *p, *end = s + n;
	char		 label[PERFDATA_TEXT_MAX];
	size_t		 flen[5], ll = 0, vl;
	int		 nf = 0, i;

	memset(pd, 0, sizeof(*pd));
	/* the label: quoted ('' is a quote) or up to the first '=' */
	if (s[0] == '\'') {
		for (p = s + 1; p < end; p++) {
			if (*p == '\'') {
				if (p + 1 < end && p[1] == '\'') {
					p++;
				} else
					break;
			}
			if (ll < sizeof(label) - 1)
				label[ll++] = *p;
		}
		if (p >= end || p + 1 >= end || p[1] != '=')
			return -1;
		eq = p + 1;
	} else {
		if ((eq = memchr(s, '=', n)) == NULL || eq == s)
			return -1;
		ll = (size_t)(eq - s);
		if (ll > sizeof(label) - 1)
			ll = sizeof(label) - 1;
		memcpy(label, s, ll);
	}
	if (ll == 0)
		return -1;
	perfdata_keep(label, ll, pd->label, sizeof(pd->label));
	if (pd->label[0] == '\0')
		return -1;	/* it began with a NUL */

	/* value[UOM];warn;crit;min;max */
	for (p = eq + 1; nf < 5; nf++) {
		const char *semi = memchr(p, ';', (size_t)(end - p));

		f[nf] = p;
		flen[nf] = semi != NULL ? (size_t)(semi - p) : (size_t)(end - p);
		if (semi == NULL) {
			nf++;
			break;
		}
		p = semi + 1;
	}
	if (flen[0] == 0)
		return -1;
	if (flen[0] == 1 && f[0][0] == 'U') {
		pd->has_value = 0;	/* the plugin could not tell */
	} else {
		vl = perfdata_numlen(f[0], flen[0]);
		if (perfdata_num(f[0], vl, &pd->value) == -1)
			return -1;
		pd->has_value = 1;
		if (flen[0] - vl >= sizeof(pd->uom))
			return -1;
		for (i = 0; (size_t)i < flen[0] - vl; i++) {
			unsigned char c = (unsigned char)f[0][vl + (size_t)i];

			if (!isalpha(c) && c != '%')
				return -1;
			pd->uom[i] = (char)c;
		}
		pd->uom[i] = '\0';
	}
	if (nf > 1 && perfdata_range(f[1], flen[1], pd->warn,
	    sizeof(pd->warn)) == -1)
		return -1;
	if (nf > 2 && perfdata_range(f[2], flen[2], pd->crit,
	    sizeof(pd->crit)) == -1)
		return -1;
	if (nf > 3 && flen[3] > 0) {
		if (perfdata_num(f[3], flen[3], &pd->min) == -1)
			return -1;
		pd->has_min = 1;
	}
	if (nf > 4 && flen[4] > 0) {
		if (perfdata_num(f[4], flen[4], &pd->max) == -1)
			return -1;
		pd->has_max = 1;
	}
	return 0;
}

int
perfdata_parse(const char *s, size_t len, struct perfdata *v, int max,
    int *bad)
{
	const char	*end = s + len, *p = s, *start;
	int		 n = 0, inq;

	*bad = 0;
	for (;;) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end)
			break;
		start = p;
		inq = 0;
		/* an item ends at a blank outside its quoted label */
		for (; p < end; p++) {
			if (*p == '\'' && (p == start || inq)) {
				if (inq && p + 1 < end && p[1] == '\'')
					p++;
				else
					inq = !inq;
			} else if (!inq && isspace((unsigned char)*p))
				break;
		}
		if (n < max && perfdata_item(start, (size_t)(p - start),
		    &v[n]) == 0)
			n++;
		else
			(*bad)++;
	}
	return n;
}

static void
perfdata_jnum(struct buf *b, const char *key, double v, int has)
{
	if (has)
		buf_printf(b, ",\"%s\":%.15g", key, v);
	else
		buf_printf(b, ",\"%s\":null", key);
}

static void
perfdata_jstr(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, ",\"%s\":", key);
	if (v[0] == '\0')
		buf_adds(b, "null");
	else
		buf_add_json_str(b, v);
}

void
perfdata_json(struct buf *b, const struct perfdata *v, int n)
{
	int	i;

	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"label\":");
		buf_add_json_str(b, v[i].label);
		perfdata_jnum(b, "value", v[i].value, v[i].has_value);
		buf_adds(b, ",\"uom\":");
		buf_add_json_str(b, v[i].uom);
		perfdata_jstr(b, "warn", v[i].warn);
		perfdata_jstr(b, "crit", v[i].crit);
		perfdata_jnum(b, "min", v[i].min, v[i].has_min);
		perfdata_jnum(b, "max", v[i].max, v[i].has_max);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}
