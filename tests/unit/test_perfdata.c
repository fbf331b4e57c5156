/*
 * test_perfdata.c - Nagios plugin output as perfdata.c reads it: the
 * first line's text, perfdata after its '|' and after the first '|' of a
 * later line, quoted labels, units, ranges, empty fields, 'U', and items
 * that are not perfdata counted and skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vantaged.h"

static int
parse(const char *out, char *text, size_t textlen, struct perfdata *v,
    int max, int *bad)
{
	struct buf	perf;
	int		n;

	buf_init(&perf);
	perfdata_split(out, strlen(out), text, textlen, &perf);
	n = perfdata_parse(perf.data != NULL ? perf.data : "", perf.len, v,
	    max, bad);
	buf_free(&perf);
	return n;
}

static void
test_split(void **state)
{
	struct perfdata	v[8];
	char		text[64];
	int		n, bad;

	(void)state;
	n = parse("TCP OK - 0.001 second response time | time=0.001s;;;0.0;10"
	    "\r\n", text, sizeof(text), v, 8, &bad);
	assert_string_equal(text, "TCP OK - 0.001 second response time");
	assert_int_equal(n, 1);
	assert_int_equal(bad, 0);
	assert_string_equal(v[0].label, "time");
	assert_true(v[0].has_value && v[0].value == 0.001);
	assert_string_equal(v[0].uom, "s");
	assert_string_equal(v[0].warn, "");
	assert_string_equal(v[0].crit, "");
	assert_true(v[0].has_min && v[0].min == 0);
	assert_true(v[0].has_max && v[0].max == 10);

	/* long text lines; the first '|' of one starts more perfdata,
	 * which goes on over the following lines */
	n = parse("DISK OK\nlong 1\nlong 2 | '/ usage'=81%;80;90\n"
	    "'it''s'=-1.5e2KB;@10:20;~:5 U=U\n", text, sizeof(text), v, 8,
	    &bad);
	assert_string_equal(text, "DISK OK");
	assert_int_equal(n, 3);
	assert_int_equal(bad, 0);
	assert_string_equal(v[0].label, "/ usage");
	assert_true(v[0].value == 81);
	assert_string_equal(v[0].uom, "%");
	assert_string_equal(v[0].warn, "80");
	assert_string_equal(v[0].crit, "90");
	assert_false(v[0].has_min);
	assert_string_equal(v[1].label, "it's");
	assert_true(v[1].value == -150);
	assert_string_equal(v[1].uom, "KB");
	assert_string_equal(v[1].warn, "@10:20");
	assert_string_equal(v[1].crit, "~:5");
	assert_string_equal(v[2].label, "U");
	assert_false(v[2].has_value);

	/* no perfdata, no newline; a '|' in long text without one first */
	n = parse("OK", text, sizeof(text), v, 8, &bad);
	assert_string_equal(text, "OK");
	assert_int_equal(n, 0);
	n = parse("", text, sizeof(text), v, 8, &bad);
	assert_string_equal(text, "");
	assert_int_equal(n, 0);
}

static void
test_bad_items(void **state)
{
	struct perfdata	v[2];
	char		text[64];
	int		n, bad;

	(void)state;
	/* no '=', no value, a bad unit, a bad number, an empty label,
	 * inf, nan; then more than max, and an unterminated quote that
	 * takes the rest */
	n = parse("X | a b= c=1s2 d=1..x;; =1 f=inf g=nan h=1 i=2 j=3 'e=1 k=1",
	    text, sizeof(text), v, 2, &bad);
	assert_string_equal(text, "X");
	assert_int_equal(n, 2);
	assert_string_equal(v[0].label, "h");
	assert_string_equal(v[1].label, "i");
	assert_int_equal(bad, 9);
}

static void
test_escaped(void **state)
{
	struct perfdata	v[2];
	struct buf	b;
	char		text[64];
	int		n, bad;

	(void)state;
	n = parse("OK \x1b[31mred\x1b[0m | 'a\"\\b'=1", text, sizeof(text), v,
	    2, &bad);
	assert_string_equal(text, "OK \\x1b[31mred\\x1b[0m");
	assert_int_equal(n, 1);
	assert_string_equal(v[0].label, "a\"\\\\b");
	buf_init(&b);
	perfdata_json(&b, v, n);
	buf_addc(&b, '\0');
	assert_string_equal(b.data, "[{\"label\":\"a\\\"\\\\\\\\b\",\"value\":1,"
	    "\"uom\":\"\",\"warn\":null,\"crit\":null,\"min\":null,"
	    "\"max\":null}]");
	buf_free(&b);
	/* the text is cut to fit */
	parse("0123456789abcdef", text, 8, v, 2, &bad);
	assert_string_equal(text, "0123456");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_bad_items),
		cmocka_unit_test(test_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
