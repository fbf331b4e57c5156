/*
 * test_json.c - the checked getters refuse what an attacker would try:
 * wrong types, out-of-range numbers, NUL bytes, duplicate and unknown keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static cJSON *
parse(const char *s, char *err, size_t len)
{
	err[0] = '\0';
	return json_parse_object(s, strlen(s), err, len);
}

static void
test_refusals(void **state)
{
	static const char *const allowed[] = { "reason", "ttl_s", NULL };
	char		 err[256];
	cJSON		*j;
	const char	*str;
	int64_t		 n;

	assert_null(parse("", err, sizeof(err)));
	assert_null(parse("[1]", err, sizeof(err)));
	assert_string_equal(err, "expected a JSON object");
	assert_null(parse("{\"reason\":", err, sizeof(err)));
	assert_string_equal(err, "malformed JSON");
	assert_null(parse("{\"reason\":\"x\\u0000y\"}", err, sizeof(err)));
	assert_non_null(strstr(err, "NUL"));
	assert_null(parse("{\"reason\\u0000junk\":\"x\"}", err, sizeof(err)));
	/* an escaped backslash before u0000 is plain text, not a NUL */
	j = parse("{\"reason\":\"a\\\\u0000\"}", err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_get_str(j, "reason", JSON_REQUIRED, 100, &str,
	    err, sizeof(err)), 1);
	assert_string_equal(str, "a\\u0000");
	cJSON_Delete(j);

	j = parse("{\"reason\":\"a\",\"reason\":\"b\"}", err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_only_keys(j, allowed, err, sizeof(err)), -1);
	assert_string_equal(err, "duplicate field 'reason'");
	cJSON_Delete(j);
	/* at any depth */
	j = parse("{\"reason\":{\"a\":[{\"k\":1,\"k\":2}]}}", err,
	    sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_unique_keys(j, err, sizeof(err)), -1);
	assert_string_equal(err, "duplicate field 'k'");
	cJSON_Delete(j);

	/* cJSON stops after one value: the rest must be white space */
	assert_null(parse("{\"reason\":\"a\"}{\"reason\":\"b\"}", err,
	    sizeof(err)));
	assert_string_equal(err, "unexpected data after the JSON object");
	assert_null(parse("{} x", err, sizeof(err)));
	assert_string_equal(err, "unexpected data after the JSON object");
	j = parse("{\"reason\":\"a\"} \r\n\t", err, sizeof(err));
	assert_non_null(j);
	cJSON_Delete(j);

	j = parse("{\"reason\":5,\"ttl_s\":1.5,\"x\":1}", err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_only_keys(j, allowed, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown field 'x'");
	assert_int_equal(json_get_str(j, "reason", JSON_REQUIRED, 100, &str,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "'reason' must be a string");
	assert_int_equal(json_get_int(j, "ttl_s", JSON_OPTIONAL, 1, 10, &n,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "'ttl_s' must be a whole number");
	assert_int_equal(json_get_int(j, "absent", JSON_OPTIONAL, 1, 10, &n,
	    err, sizeof(err)), 0);
	assert_int_equal(json_get_int(j, "absent", JSON_REQUIRED, 1, 10, &n,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "'absent' is required");
	cJSON_Delete(j);

	j = parse("{\"ttl_s\":99999999999}", err, sizeof(err));
	assert_int_equal(json_get_int(j, "ttl_s", JSON_OPTIONAL, 1, 10, &n,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "'ttl_s' must be between 1 and 10");
	cJSON_Delete(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
