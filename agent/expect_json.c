/*
 * expect_json.c - the http probe's expect_json assertions: "PATH OP VALUE"
 * compiled once when the config is loaded, evaluated against each
 * response body parsed with cJSON.
 *
 * PATH walks members and array elements (status, checks[0].status,
 * a.b[2].c); a last step "#" is the length of the array or object it
 * names (items.#).  OP is == != < <= > >= or ~.  VALUE is a JSON literal
 * (a scalar) or, for ~, a POSIX extended regex matched against the
 * string form of what PATH names.  Everything a config can get wrong is
 * refused at compile time, so at run time an assertion can only pass or
 * fail on the body, with the body's value (escaped) in the message.
 */
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "text.h"
#include "vantaged.h"

#define EJ_PATH_MAX	32	/* steps in one PATH */
#define EJ_GOT_MAX	64	/* bytes of the body's value quoted back */
#define EJ_SPEC_SHOW	90	/* bytes of the assertion in a message */

enum ej_step_kind { EJ_MEMBER, EJ_INDEX, EJ_LENGTH };
enum ej_op { EJ_EQ, EJ_NE, EJ_LT, EJ_LE, EJ_GT, EJ_GE, EJ_MATCH };

struct ej_step {
	enum ej_step_kind	 kind;
	char			*name;		/* EJ_MEMBER */
	int			 index;		/* EJ_INDEX */
};

struct expect_json {
	char		*spec;		/* as written, trimmed */
	char		*path;		/* its PATH, for "not found" */
	struct ej_step	 steps[EJ_PATH_MAX];
	int		 nsteps;
	enum ej_op	 op;
	cJSON		*value;		/* the literal; NULL for ~ */
	regex_t		 re;
	int		 re_ok;
};

static const struct {
	const char	*s;
	enum ej_op	 op;
} ej_ops[] = {
	{ "==", EJ_EQ }, { "!=", EJ_NE }, { "<=", EJ_LE }, { ">=", EJ_GE },
	{ "<", EJ_LT }, { ">", EJ_GT }, { "~", EJ_MATCH },
};

static char *
ej_strndup(const char *s, size_t n)
{
	char	*d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int
ej_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * 1 when re stacks repetition operators ("a++", "a*{2}"): undefined in
 * POSIX EREs, and glibc's regcomp copies the tree for each, exponential
 * in memory.  Bracket expressions and escaped characters are skipped.
 */
static int
ej_stacked_repeat(const char *re)
{
	const char	*s;
	int		 prev = 0;

	for (s = re; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			prev = 0;
		} else if (*s == '[') {
			/* to the closing ']' ("[]a]" and "[^]a]" included) */
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s != '\0' && *s != ']')
				s++;
			if (*s == '\0')
				return 0;	/* regcomp refuses it */
			prev = 0;
		} else if (*s == '*' || *s == '+' || *s == '?' || *s == '{') {
			if (prev)
				return 1;
			if (*s == '{') {
				while (*s != '\0' && *s != '}')
					s++;
				if (*s == '\0')
					return 0;
			}
			prev = 1;
		} else
			prev = 0;
	}
	return 0;
}

/* PATH into steps; -1 + err. */
static int
ej_parse_path(struct expect_json *ej, const char *p, char *err, size_t len)
{
	const char	*s = p, *e;
	char		*end;
	long		 v;

	if (*s == '\0') {
		snprintf(err, len, "empty PATH");
		return -1;
	}
	while (*s != '\0') {
		if (ej->nsteps == EJ_PATH_MAX) {
			snprintf(err, len, "PATH has more than %d steps",
			    EJ_PATH_MAX);
			return -1;
		}
		if (ej->nsteps > 0 && ej->steps[ej->nsteps - 1].kind ==
		    EJ_LENGTH) {
			snprintf(err, len, "'#' must be the last step of PATH "
			    "'%.60s'", p);
			return -1;
		}
		if (*s == '[') {
			if (s[1] < '0' || s[1] > '9') {
				snprintf(err, len, "bad index in PATH '%.60s' "
				    "(expected [N], N >= 0)", p);
				return -1;
			}
			v = strtol(s + 1, &end, 10);
			if (*end != ']' || v > 1000000) {
				snprintf(err, len, "bad index in PATH '%.60s' "
				    "(expected [N], N >= 0)", p);
				return -1;
			}
			ej->steps[ej->nsteps].kind = EJ_INDEX;
			ej->steps[ej->nsteps++].index = (int)v;
			s = end + 1;
		} else {
			/* a member, "#", after the start or a '.' */
			if (ej->nsteps > 0) {
				if (*s != '.') {
					snprintf(err, len, "expected '.' or "
					    "'[' in PATH '%.60s'", p);
					return -1;
				}
				s++;
			}
			for (e = s; *e != '\0' && *e != '.' && *e != '[' &&
			    *e != ']'; e++)
				;
			if (e == s) {
				snprintf(err, len, "empty member name in PATH "
				    "'%.60s'", p);
				return -1;
			}
			if (e - s == 1 && *s == '#')
				ej->steps[ej->nsteps++].kind = EJ_LENGTH;
			else {
				ej->steps[ej->nsteps].kind = EJ_MEMBER;
				ej->steps[ej->nsteps++].name = ej_strndup(s,
				    (size_t)(e - s));
			}
			s = e;
			if (*s == ']') {
				snprintf(err, len, "stray ']' in PATH '%.60s'",
				    p);
				return -1;
			}
		}
	}
	return 0;
}

struct expect_json *
expect_json_compile(const char *spec, char *err, size_t len)
{
	struct expect_json	*ej = xcalloc(1, sizeof(*ej));
	const char		*s, *p0, *p1, *o0, *o1, *v;
	const char		*pend = NULL;
	size_t			 i, n;
	char			*path;
	int			 rerr;

	for (s = spec; ej_space(*s); s++)
		;
	n = strlen(s);
	while (n > 0 && ej_space(s[n - 1]))
		n--;
	ej->spec = ej_strndup(s, n);
	/* quoted back in every failure: it must be safe to show as it is */
	if (!text_is_clean(ej->spec)) {
		snprintf(err, len, "control character or malformed UTF-8 in "
		    "the assertion");
		goto fail;
	}
	p0 = ej->spec;
	for (p1 = p0; *p1 != '\0' && !ej_space(*p1); p1++)
		;
	for (o0 = p1; ej_space(*o0); o0++)
		;
	for (o1 = o0; *o1 != '\0' && !ej_space(*o1); o1++)
		;
	for (v = o1; ej_space(*v); v++)
		;
	if (*o0 == '\0' || *v == '\0') {
		snprintf(err, len, "'%.80s' is not PATH OP VALUE "
		    "(like: status == \"ok\")", ej->spec);
		goto fail;
	}
	for (i = 0; i < sizeof(ej_ops) / sizeof(ej_ops[0]); i++) {
		if (strlen(ej_ops[i].s) == (size_t)(o1 - o0) &&
		    strncmp(ej_ops[i].s, o0, (size_t)(o1 - o0)) == 0)
			break;
	}
	if (i == sizeof(ej_ops) / sizeof(ej_ops[0])) {
		snprintf(err, len, "'%.*s' is not an operator (== != < <= > "
		    ">= ~) in '%.80s'", (int)(o1 - o0 > 10 ? 10 : o1 - o0), o0,
		    ej->spec);
		goto fail;
	}
	ej->op = ej_ops[i].op;
	ej->path = path = ej_strndup(p0, (size_t)(p1 - p0));
	if (ej_parse_path(ej, path, err, len) == -1)
		goto fail;
	if (ej->op == EJ_MATCH) {
		char msg[128];

		if (ej_stacked_repeat(v)) {
			snprintf(err, len, "bad regex '%.60s': a repetition "
			    "operator repeated (like a++ or a*{2})", v);
			goto fail;
		}

		if ((rerr = regcomp(&ej->re, v, REG_EXTENDED | REG_NOSUB)) !=
		    0) {
			regerror(rerr, &ej->re, msg, sizeof(msg));
			snprintf(err, len, "bad regex '%.60s': %s", v, msg);
			goto fail;
		}
		ej->re_ok = 1;
		return ej;
	}
	ej->value = cJSON_ParseWithOpts(v, &pend, 1);
	if (ej->value == NULL || !(cJSON_IsString(ej->value) ||
	    cJSON_IsNumber(ej->value) || cJSON_IsBool(ej->value) ||
	    cJSON_IsNull(ej->value))) {
		snprintf(err, len, "VALUE '%.60s' is not a JSON literal (a "
		    "string in double quotes, a number, true, false or null)",
		    v);
		goto fail;
	}
	if (ej->op != EJ_EQ && ej->op != EJ_NE &&
	    !cJSON_IsNumber(ej->value)) {
		snprintf(err, len, "'%.*s' compares numbers: '%.60s' is not a "
		    "number", (int)(o1 - o0), o0, v);
		goto fail;
	}
	return ej;
fail:
	expect_json_free(ej);
	return NULL;
}

void
expect_json_free(struct expect_json *ej)
{
	int	i;

	if (ej == NULL)
		return;
	for (i = 0; i < ej->nsteps; i++)
		free(ej->steps[i].name);
	if (ej->re_ok)
		regfree(&ej->re);
	cJSON_Delete(ej->value);
	free(ej->path);
	free(ej->spec);
	free(ej);
}

const char *
expect_json_spec(const struct expect_json *ej)
{
	return ej->spec;
}

/* A number as JSON writes it: integers without a fraction. */
static void
ej_number(double d, char *out, size_t len)
{
	if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
		snprintf(out, len, "%.0f", d);
	else
		snprintf(out, len, "%.17g", d);
}

/* The string form ~ matches: a string's own text, others as JSON. */
static char *
ej_string_form(const cJSON *it)
{
	char	num[64];

	if (cJSON_IsString(it))
		return xstrdup(it->valuestring);
	if (cJSON_IsNumber(it)) {
		ej_number(it->valuedouble, num, sizeof(num));
		return xstrdup(num);
	}
	if (cJSON_IsTrue(it))
		return xstrdup("true");
	if (cJSON_IsFalse(it))
		return xstrdup("false");
	if (cJSON_IsNull(it))
		return xstrdup("null");
	return cJSON_PrintUnformatted(it);
}

/* "got" text: the value as JSON, cut and escaped (it is remote text). */
static void
ej_got(const cJSON *it, double length, int is_len, char *out, size_t len)
{
	char	raw[EJ_GOT_MAX + 4], *js = NULL;
	size_t	n;

	if (is_len)
		ej_number(length, raw, sizeof(raw));
	else if (cJSON_IsNumber(it))
		ej_number(it->valuedouble, raw, sizeof(raw));
	else {
		js = cJSON_PrintUnformatted(it);
		if (js == NULL)
			fatalx("%s: cJSON_PrintUnformatted", __func__);
		n = strlen(js);
		if (n > EJ_GOT_MAX) {
			memcpy(raw, js, EJ_GOT_MAX);
			memcpy(raw + EJ_GOT_MAX, "...", 4);
		} else
			memcpy(raw, js, n + 1);
		free(js);
	}
	text_escape(raw, out, len);
}

/* Cuts s short of a character a truncation split in two at its end. */
void
expect_json_fix_end(char *s)
{
	size_t		n = strlen(s), i = n;
	uint32_t	cp;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && n - i < 4)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0x80 &&
	    text_utf8_next((const unsigned char *)s + i - 1, n - i + 1, &cp) !=
	    n - i + 1)
		s[i - 1] = '\0';
}

static int
ej_fail(const struct expect_json *ej, char *msg, size_t len, const char *fmt,
    const char *arg)
{
	char	why[400], spec[EJ_SPEC_SHOW + 1];

	strlcpy_v(spec, ej->spec, sizeof(spec));
	expect_json_fix_end(spec);
	snprintf(why, sizeof(why), fmt, arg);
	snprintf(msg, len, "expect_json %s: %s", spec, why);
	expect_json_fix_end(msg);
	return 0;
}

int
expect_json_eval(const struct expect_json *ej, const cJSON *doc, char *msg,
    size_t len)
{
	const cJSON	*it = doc;
	char		 got[EJ_GOT_MAX * 4 + 16], where[96], *form;
	double		 x = 0, y;
	int		 i, j, is_len = 0, ok = 0;

	for (i = 0; i < ej->nsteps; i++) {
		const struct ej_step *st = &ej->steps[i];

		switch (st->kind) {
		case EJ_MEMBER:
			it = cJSON_IsObject(it) ?
			    cJSON_GetObjectItemCaseSensitive(it, st->name) :
			    NULL;
			break;
		case EJ_INDEX:
			it = cJSON_IsArray(it) ?
			    cJSON_GetArrayItem(it, st->index) : NULL;
			break;
		case EJ_LENGTH:
			if (!cJSON_IsArray(it) && !cJSON_IsObject(it)) {
				ej_got(it, 0, 0, got, sizeof(got));
				return ej_fail(ej, msg, len, "got %s, not an "
				    "array or object", got);
			}
			x = cJSON_GetArraySize(it);
			is_len = 1;
			break;
		}
		if (it == NULL) {
			/* the path up to the step that found nothing */
			where[0] = '\0';
			for (j = 0; j <= i; j++) {
				size_t	w = strlen(where);

				if (ej->steps[j].kind == EJ_INDEX)
					snprintf(where + w, sizeof(where) - w,
					    "[%d]", ej->steps[j].index);
				else
					snprintf(where + w, sizeof(where) - w,
					    "%s%s", j > 0 ? "." : "",
					    ej->steps[j].name);
			}
			return ej_fail(ej, msg, len, "%s not found", where);
		}
	}
	if (!is_len && cJSON_IsNumber(it))
		x = it->valuedouble;
	ej_got(it, x, is_len, got, sizeof(got));
	if (ej->op == EJ_MATCH) {
		form = is_len ? NULL : ej_string_form(it);
		if (is_len) {
			char num[64];

			ej_number(x, num, sizeof(num));
			form = xstrdup(num);
		}
		ok = form != NULL && regexec(&ej->re, form, 0, NULL, 0) == 0;
		free(form);
		return ok ? 1 : ej_fail(ej, msg, len, "got %s", got);
	}
	if (ej->op == EJ_EQ || ej->op == EJ_NE) {
		if (is_len)
			ok = cJSON_IsNumber(ej->value) &&
			    ej->value->valuedouble == x;
		else
			ok = cJSON_Compare(it, ej->value, 1);
		if (ej->op == EJ_NE)
			ok = !ok;
		return ok ? 1 : ej_fail(ej, msg, len, "got %s", got);
	}
	if (!is_len && !cJSON_IsNumber(it))
		return ej_fail(ej, msg, len, "got %s, not a number", got);
	y = ej->value->valuedouble;
	switch (ej->op) {
	case EJ_LT:
		ok = x < y;
		break;
	case EJ_LE:
		ok = x <= y;
		break;
	case EJ_GT:
		ok = x > y;
		break;
	case EJ_GE:
		ok = x >= y;
		break;
	default:
		break;
	}
	return ok ? 1 : ej_fail(ej, msg, len, "got %s", got);
}

int
expect_json_body(struct expect_json *const *list, size_t n, const char *body,
    size_t blen, char *msg, size_t len)
{
	cJSON		*doc;
	const char	*end = NULL;
	size_t		 i;
	int		 ok = 1;

	if (n == 0)
		return 1;
	if ((doc = cJSON_ParseWithLengthOpts(body, blen, &end, 0)) == NULL) {
		snprintf(msg, len, "expect_json: body is not JSON (at byte "
		    "%zu of %zu)", end != NULL && end >= body ?
		    (size_t)(end - body) : 0, blen);
		return 0;
	}
	/* trailing bytes other than white space: not one JSON text */
	while (end != NULL && end < body + blen && (*end == ' ' ||
	    *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end != NULL && end < body + blen && *end != '\0') {
		snprintf(msg, len, "expect_json: body is not JSON (data after "
		    "the value at byte %zu of %zu)", (size_t)(end - body), blen);
		cJSON_Delete(doc);
		return 0;
	}
	for (i = 0; i < n && ok; i++)
		ok = expect_json_eval(list[i], doc, msg, len);
	cJSON_Delete(doc);
	return ok;
}
