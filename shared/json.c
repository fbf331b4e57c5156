/*
 * json.c - checked getters over cJSON, see json.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH	32

static int
json_depth_ok(const cJSON *j, int depth)
{
	const cJSON	*c;

	if (depth > JSON_MAX_DEPTH)
		return 0;
	for (c = j->child; c != NULL; c = c->next) {
		if (!json_depth_ok(c, depth + 1))
			return 0;
	}
	return 1;
}

/*
 * cJSON turns "\u0000" into a NUL byte inside its C string, which would
 * silently cut the value ("x\u0000y" read as "x"): refuse such text.
 */
static int
json_has_nul_escape(const char *text, size_t len)
{
	size_t	i;
	int	instr = 0;

	for (i = 0; i < len; i++) {
		if (text[i] == '\0')
			return 1;
		if (!instr) {
			if (text[i] == '"')
				instr = 1;
			continue;
		}
		if (text[i] == '"')
			instr = 0;
		else if (text[i] == '\\' && i + 1 < len) {
			if (text[i + 1] == 'u' && i + 5 < len &&
			    strncmp(text + i + 2, "0000", 4) == 0)
				return 1;
			i++;	/* skip the escaped character */
		}
	}
	return 0;
}

cJSON *
json_parse_object(const char *text, size_t len, char *err, size_t errlen)
{
	cJSON		*j;
	const char	*end = NULL;

	if (len > 0 && json_has_nul_escape(text, len)) {
		snprintf(err, errlen, "JSON strings must not contain NUL "
		    "(\\u0000)");
		return NULL;
	}
	if (len == 0) {
		snprintf(err, errlen, "empty body, expected a JSON object");
		return NULL;
	}
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (j == NULL) {
		snprintf(err, errlen, "malformed JSON");
		return NULL;
	}
	/*
	 * cJSON stops after the first value: '{"a":1}{"a":2}' or '{} x'
	 * would be taken for its first object while a proxy or a log reads
	 * the whole body.
	 */
	for (; end < text + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\n' &&
		    *end != '\r') {
			snprintf(err, errlen, "unexpected data after the JSON "
			    "object");
			cJSON_Delete(j);
			return NULL;
		}
	}
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "expected a JSON object");
		cJSON_Delete(j);
		return NULL;
	}
	if (!json_depth_ok(j, 0)) {
		snprintf(err, errlen, "JSON nested too deeply");
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static const cJSON *
json_item(const cJSON *obj, const char *key, int required, int *rc, char *err,
    size_t errlen)
{
	const cJSON	*it;

	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it)) {
		if (required) {
			snprintf(err, errlen, "'%s' is required", key);
			*rc = -1;
		} else
			*rc = 0;
		return NULL;
	}
	*rc = 1;
	return it;
}

int
json_get_str(const cJSON *obj, const char *key, int required, size_t maxlen,
    const char **out, char *err, size_t errlen)
{
	const cJSON	*it;
	int		 rc;

	if ((it = json_item(obj, key, required, &rc, err, errlen)) == NULL)
		return rc;
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		snprintf(err, errlen, "'%s' must be a string", key);
		return -1;
	}
	if (strlen(it->valuestring) > maxlen) {
		snprintf(err, errlen, "'%s' is longer than %zu bytes", key,
		    maxlen);
		return -1;
	}
	*out = it->valuestring;
	return 1;
}

int
json_get_int(const cJSON *obj, const char *key, int required, int64_t min,
    int64_t max, int64_t *out, char *err, size_t errlen)
{
	const cJSON	*it;
	double		 d;
	int		 rc;

	if ((it = json_item(obj, key, required, &rc, err, errlen)) == NULL)
		return rc;
	if (!cJSON_IsNumber(it)) {
		snprintf(err, errlen, "'%s' must be a number", key);
		return -1;
	}
	d = it->valuedouble;
	if (!isfinite(d) || d != floor(d)) {
		snprintf(err, errlen, "'%s' must be a whole number", key);
		return -1;
	}
	if (d < (double)min || d > (double)max) {
		snprintf(err, errlen, "'%s' must be between %lld and %lld",
		    key, (long long)min, (long long)max);
		return -1;
	}
	*out = (int64_t)d;
	return 1;
}

int
json_get_bool(const cJSON *obj, const char *key, int required, int *out,
    char *err, size_t errlen)
{
	const cJSON	*it;
	int		 rc;

	if ((it = json_item(obj, key, required, &rc, err, errlen)) == NULL)
		return rc;
	if (!cJSON_IsBool(it)) {
		snprintf(err, errlen, "'%s' must be true or false", key);
		return -1;
	}
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return 1;
}

int
json_get_array(const cJSON *obj, const char *key, int required,
    const cJSON **out, char *err, size_t errlen)
{
	const cJSON	*it;
	int		 rc;

	if ((it = json_item(obj, key, required, &rc, err, errlen)) == NULL)
		return rc;
	if (!cJSON_IsArray(it)) {
		snprintf(err, errlen, "'%s' must be an array", key);
		return -1;
	}
	*out = it;
	return 1;
}

int
json_get_object(const cJSON *obj, const char *key, int required,
    const cJSON **out, char *err, size_t errlen)
{
	const cJSON	*it;
	int		 rc;

	if ((it = json_item(obj, key, required, &rc, err, errlen)) == NULL)
		return rc;
	if (!cJSON_IsObject(it)) {
		snprintf(err, errlen, "'%s' must be an object", key);
		return -1;
	}
	*out = it;
	return 1;
}

/*
 * cJSON keeps every copy of a repeated key and its getters return the
 * first, while other parsers (jansson in libjwt, most proxies) take the
 * last: {"reason":"a","reason":"b"} means two things at once.
 */
static const char *
json_dup_in(const cJSON *obj, int depth)
{
	const cJSON	*c, *d;
	const char	*k;

	if (depth > JSON_MAX_DEPTH)
		return "(nested too deeply)";
	for (c = obj->child; c != NULL; c = c->next) {
		if (cJSON_IsObject(obj) && c->string != NULL) {
			for (d = obj->child; d != c; d = d->next) {
				if (d->string != NULL &&
				    strcmp(c->string, d->string) == 0)
					return c->string;
			}
		}
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
		    (k = json_dup_in(c, depth + 1)) != NULL)
			return k;
	}
	return NULL;
}

int
json_unique_keys(const cJSON *j, char *err, size_t errlen)
{
	const char	*k;

	if ((k = json_dup_in(j, 0)) == NULL)
		return 0;
	snprintf(err, errlen, "duplicate field '%.64s'", k);
	return -1;
}

int
json_only_keys(const cJSON *obj, const char *const *allowed, char *err,
    size_t errlen)
{
	const cJSON	*c;
	size_t		 i;

	if (json_unique_keys(obj, err, errlen) == -1)
		return -1;
	for (c = obj->child; c != NULL; c = c->next) {
		for (i = 0; allowed[i] != NULL; i++) {
			if (c->string != NULL && strcmp(c->string,
			    allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL) {
			snprintf(err, errlen, "unknown field '%s'",
			    c->string != NULL ? c->string : "?");
			return -1;
		}
	}
	return 0;
}
