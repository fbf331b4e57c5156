/*
 * json.h - checked getters over cJSON for untrusted JSON (API request
 * bodies in the agent, agent responses in the console).  Every getter
 * checks type, range and length and says what was wrong.
 *
 * Getters return 1 when the key is present and valid, 0 when it is
 * absent and not required (out untouched), -1 with err filled otherwise.
 */
#ifndef VANTAGE_JSON_H
#define VANTAGE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#define JSON_REQUIRED	1
#define JSON_OPTIONAL	0

/*
 * Parses text (not necessarily NUL-terminated) that must be one object,
 * with nothing but white space after it.
 */
cJSON	*json_parse_object(const char *text, size_t len, char *err, size_t);
int	 json_get_str(const cJSON *, const char *key, int required,
	    size_t maxlen, const char **out, char *err, size_t);
int	 json_get_int(const cJSON *, const char *key, int required,
	    int64_t min, int64_t max, int64_t *out, char *err, size_t);
int	 json_get_bool(const cJSON *, const char *key, int required,
	    int *out, char *err, size_t);
int	 json_get_array(const cJSON *, const char *key, int required,
	    const cJSON **out, char *err, size_t);
int	 json_get_object(const cJSON *, const char *key, int required,
	    const cJSON **out, char *err, size_t);
/* Refuses a key repeated in any object, at any depth. */
int	 json_unique_keys(const cJSON *, char *err, size_t);
/* Refuses keys not in allowed (NULL-terminated) and repeated keys. */
int	 json_only_keys(const cJSON *, const char *const *allowed, char *err,
	    size_t);

#endif
