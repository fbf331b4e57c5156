/*
 * test_suggest.c - shared/suggest.c: the "did you mean" of both configs
 * offers a close name and stays silent when nothing is close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "suggest.h"

static const char *
best(const char *word, const char *const *cands)
{
	struct suggest	sg;

	suggest_init(&sg, word);
	for (; *cands != NULL; cands++)
		suggest_try(&sg, *cands);
	return suggest_best(&sg);
}

static void
test_distance(void **state)
{
	assert_int_equal(suggest_distance("token", "token"), 0);
	assert_int_equal(suggest_distance("toekn", "token"), 1);
	assert_int_equal(suggest_distance("tokn", "token"), 1);
	assert_int_equal(suggest_distance("Token", "token"), 0);
	assert_int_equal(suggest_distance("", "abc"), 3);
	assert_int_equal(suggest_distance("kitten", "sitting"), 3);
}

static void
test_best(void **state)
{
	static const char *const keys[] = { "url", "token", "token_file",
	    "ca", "cert", "key", "ssh", NULL };
	static const char *const secs[] = { "agent", "console", NULL };
	char	 longw[200];

	assert_string_equal(best("toekn", keys), "token");
	assert_string_equal(best("token_flie", keys), "token_file");
	assert_string_equal(best("crt", keys), "cert");
	assert_string_equal(best("consle", secs), "console");
	assert_string_equal(best("agnet", secs), "agent");
	assert_null(best("bogus", keys));
	assert_null(best("zz", keys));		/* "ca" is too far for 2 */
	assert_null(best("token", keys));	/* itself: not a typo */
	memset(longw, 'a', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	assert_null(best(longw, keys));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_best),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
