/*
 * test_text.c - shared/text.c: which characters are controls, and the
 * escape that logs and terminals get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void
test_clean(void **state)
{
	assert_true(text_is_clean("kernel upgrade, caf\xc3\xa9 \xd7\xa9"));
	assert_true(text_is_clean(""));
	assert_false(text_is_clean("a\x1b[31m"));
	assert_false(text_is_clean("a\x7f"));
	assert_false(text_is_clean("csi \xc2\x9b" "31m"));	/* U+009B */
	assert_false(text_is_clean("\xe2\x80\xae" "evil"));	/* U+202E */
	assert_false(text_is_clean("\xe2\x81\xa6x"));		/* U+2066 */
	assert_false(text_is_clean("\xc0\xaf"));		/* overlong */
	assert_false(text_is_clean("\xed\xa0\x80"));		/* surrogate */
	assert_false(text_is_clean("\xf4\x90\x80\x80"));	/* > U+10FFFF */
	assert_false(text_is_clean("cut \xe2\x80"));
}

static void
test_escape(void **state)
{
	char	out[64], tiny[7];

	assert_string_equal(text_escape("a\x1b[31m\nb", out, sizeof(out)),
	    "a\\x1b[31m\\x0ab");
	assert_string_equal(text_escape("\xc2\x9b \xe2\x80\xae \xff \\",
	    out, sizeof(out)), "\\x9b \\u{202e} \\xff \\\\");
	assert_string_equal(text_escape("caf\xc3\xa9", out, sizeof(out)),
	    "caf\xc3\xa9");
	/* cut at a whole piece, never inside an escape or a character */
	assert_string_equal(text_escape("abc\x1b" "def", tiny, sizeof(tiny)),
	    "abc");
	assert_string_equal(text_escape("ab\xc3\xa9\xc3\xa9\xc3\xa9", tiny,
	    sizeof(tiny)), "ab\xc3\xa9\xc3\xa9");
	assert_string_equal(text_escape("abcde\xc3\xa9", tiny, sizeof(tiny)),
	    "abcde");
	assert_string_equal(text_escape(NULL, out, sizeof(out)), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
