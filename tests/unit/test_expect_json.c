/*
 * test_expect_json.c - expect_json assertions (agent/expect_json.c):
 * what compiles and what is refused with which message, and the verdict
 * and the failure text against bodies, the way an operator reads them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vantaged.h"

static const char body[] =
    "{\"status\":\"ok\",\"n\":3,\"ratio\":0.5,\"up\":true,\"none\":null,"
    "\"checks\":[{\"status\":\"fail\",\"name\":\"db\"},"
    "{\"status\":\"ok\",\"name\":\"cache\"}],"
    "\"a\":{\"b\":[1,2,{\"c\":\"deep\"}]},\"items\":[1,2,3,4],"
    "\"obj\":{\"x\":1,\"y\":2},\"version\":\"1.2.3\","
    "\"evil\":\"\\u001b[31mred\\u202e\"}";

/* Evaluates spec on b: 1 pass, 0 fail with the text in msg. */
static int
run(const char *spec, const char *b, char *msg, size_t len)
{
	struct expect_json	*ej;
	char			 err[256];
	int			 ok;

	msg[0] = '\0';
	if ((ej = expect_json_compile(spec, err, sizeof(err))) == NULL)
		fail_msg("'%s' refused: %s", spec, err);
	ok = expect_json_body(&ej, 1, b, strlen(b), msg, len);
	expect_json_free(ej);
	return ok;
}

static void
pass(const char *spec)
{
	char	msg[256];

	if (!run(spec, body, msg, sizeof(msg)))
		fail_msg("'%s' failed: %s", spec, msg);
}

static void
fails(const char *spec, const char *want)
{
	char	msg[256];

	if (run(spec, body, msg, sizeof(msg)))
		fail_msg("'%s' passed, expected: %s", spec, want);
	assert_string_equal(msg, want);
}

static void
refused(const char *spec, const char *want)
{
	struct expect_json	*ej;
	char			 err[256];

	if ((ej = expect_json_compile(spec, err, sizeof(err))) != NULL) {
		expect_json_free(ej);
		fail_msg("'%s' compiled, expected: %s", spec, want);
	}
	if (strstr(err, want) == NULL)
		fail_msg("'%s': expected '%s' in '%s'", spec, want, err);
}

static void
test_passes(void **state)
{
	(void)state;
	pass("status == \"ok\"");
	pass("  status   ==   \"ok\"  ");
	pass("status != \"fail\"");
	pass("checks[0].status == \"fail\"");
	pass("checks[1].name == \"cache\"");
	pass("a.b[2].c == \"deep\"");
	pass("a.b[0] == 1");
	pass("n == 3");
	pass("n == 3.0");
	pass("n < 4");
	pass("n <= 3");
	pass("n > 2.5");
	pass("n >= 3");
	pass("ratio < 1");
	pass("up == true");
	pass("none == null");
	pass("items.# == 4");
	pass("items.# >= 4");
	pass("checks.# == 2");
	pass("obj.# == 2");
	pass("# == 11");
	pass("version ~ ^1\\.[0-9]+\\.[0-9]+$");
	pass("n ~ ^3$");
	pass("up ~ true");
	pass("items ~ ^\\[1,2,3,4\\]$");
	pass("items.# ~ ^4$");
	pass("status ~ o k|ok");
	pass("status ~ ^[+*]*ok$");
	pass("version ~ ^1\\.[0-9]{1,2}\\.[0-9]+$");
	pass("status ~ (ok)+$");
}

static void
test_failures(void **state)
{
	(void)state;
	fails("checks[0].status == \"ok\"",
	    "expect_json checks[0].status == \"ok\": got \"fail\"");
	fails("status != \"ok\"", "expect_json status != \"ok\": got \"ok\"");
	fails("n > 3", "expect_json n > 3: got 3");
	fails("n == \"3\"", "expect_json n == \"3\": got 3");
	fails("items.# == 3", "expect_json items.# == 3: got 4");
	fails("ratio >= 0.75", "expect_json ratio >= 0.75: got 0.5");
	fails("checks[5].status == \"ok\"",
	    "expect_json checks[5].status == \"ok\": checks[5] not found");
	fails("a.x.y == 1", "expect_json a.x.y == 1: a.x not found");
	fails("status.x == 1", "expect_json status.x == 1: status.x not found");
	fails("status < 1", "expect_json status < 1: got \"ok\", not a number");
	fails("status.# == 1",
	    "expect_json status.# == 1: got \"ok\", not an array or object");
	fails("checks[0] == 1",
	    "expect_json checks[0] == 1: got {\"status\":\"fail\",\"name\":"
	    "\"db\"}");
	fails("version ~ ^2", "expect_json version ~ ^2: got \"1.2.3\"");
	/* remote text comes back escaped: no escape sequence, no bidi */
	fails("evil == \"x\"",
	    "expect_json evil == \"x\": got \"\\\\u001b[31mred\\u{202e}\"");
}

static void
test_bodies(void **state)
{
	char			 msg[256];
	struct expect_json	*ej[2];
	char			 err[128];
	char			 big[200];

	(void)state;
	assert_int_equal(run("a == 1", "not json", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "expect_json: body is not JSON (at byte 0 "
	    "of 8)");
	assert_int_equal(run("a == 1", "{\"a\":1} x", msg, sizeof(msg)), 0);
	assert_string_equal(msg, "expect_json: body is not JSON (data after "
	    "the value at byte 8 of 9)");
	assert_int_equal(run("a == 1", "{\"a\":1}\r\n", msg, sizeof(msg)), 1);
	assert_int_equal(run("a == 1", "", msg, sizeof(msg)), 0);
	assert_int_equal(run("[1] == 2", "[1,2]", msg, sizeof(msg)), 1);
	assert_int_equal(run("# == 0", "[]", msg, sizeof(msg)), 1);
	/* a long value is cut, and the whole stays within the buffer */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"s\":\"", 6);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	assert_int_equal(run("s == \"y\"", big, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "xxx..."));
	assert_true(strlen(msg) < 120);
	/* the first failing of several is the one reported */
	ej[0] = expect_json_compile("n == 3", err, sizeof(err));
	ej[1] = expect_json_compile("status == \"down\"", err, sizeof(err));
	assert_non_null(ej[0]);
	assert_non_null(ej[1]);
	assert_int_equal(expect_json_body(ej, 2, body, strlen(body), msg,
	    sizeof(msg)), 0);
	assert_string_equal(msg, "expect_json status == \"down\": got \"ok\"");
	assert_string_equal(expect_json_spec(ej[1]), "status == \"down\"");
	expect_json_free(ej[0]);
	expect_json_free(ej[1]);
}

static void
test_refused(void **state)
{
	(void)state;
	refused("status", "is not PATH OP VALUE");
	refused("status ==", "is not PATH OP VALUE");
	refused("status = \"ok\"", "'=' is not an operator");
	refused("status === \"ok\"", "'===' is not an operator");
	refused("status == ok", "VALUE 'ok' is not a JSON literal");
	refused("status == \"ok", "is not a JSON literal");
	refused("status == [1]", "is not a JSON literal");
	refused("status == {}", "is not a JSON literal");
	refused("status == 1 2", "is not a JSON literal");
	refused("n < \"3\"", "'<' compares numbers: '\"3\"' is not a number");
	refused("n >= true", "is not a number");
	refused("a..b == 1", "empty member name in PATH 'a..b'");
	refused(".a == 1", "empty member name");
	refused("a. == 1", "empty member name");
	refused("a[x] == 1", "bad index in PATH 'a[x]'");
	refused("a[-1] == 1", "bad index");
	refused("a[1 == 1", "bad index");
	refused("a] == 1", "stray ']'");
	refused("a[0]b == 1", "expected '.' or '['");
	refused("items.#.x == 1", "'#' must be the last step");
	refused("s ~ (", "bad regex '('");
	refused("s ~ ad++++", "a repetition operator repeated");
	refused("s ~ a*{2}", "a repetition operator repeated");
	refused("s ~ (a+)?+", "a repetition operator repeated");
	refused("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c."
	    "d.e.f.g == 1", "more than 32 steps");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passes),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
