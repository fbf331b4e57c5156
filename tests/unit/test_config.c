/*
 * test_config.c - vantaged.conf parsing: values, defaults, and that every
 * mistake is reported with file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vantaged.h"



static char conf_path[] = "/tmp/vt-test-config.XXXXXX";

static struct config *
load(const char *text, char *err, size_t errlen)
{
	FILE		*f;
	int		 fd;
	struct config	*c;

	strcpy(conf_path, "/tmp/vt-test-config.XXXXXX");
	fd = mkstemp(conf_path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	c = config_load(conf_path, err, errlen);
	unlink(conf_path);
	return c;
}

/* Asserts that text is refused and the message holds ":LINE: " + what. */
static void
expect_error(const char *text, int line, const char *what)
{
	char		 err[2048], needle[64];
	struct config	*c;

	c = load(text, err, sizeof(err));
	if (c != NULL) {
		config_free(c);
		fail_msg("config accepted, expected an error at line %d: %s",
		    line, what);
	}
	snprintf(needle, sizeof(needle), ":%d: ", line);
	if (strstr(err, needle) == NULL || strstr(err, what) == NULL)
		fail_msg("expected line %d and '%s' in: %s", line, what, err);
}

static void
test_full_config(void **state)
{
	char		 err[2048];
	struct config	*c;
	struct probe_conf *p;
	const struct parse_range *r;

	c = load("[agent]\n"
	    "name = web-01\n"
	    "data_dir = /tmp/x\n"
	    "retention = 14d\n"
	    "[api]\n"
	    "listen = 127.0.0.1:7787\n"
	    "listen = [::1]:7787\n"
	    "rate = 20/s burst 40\n"
	    "[haproxy]\n"
	    "listen = 127.0.0.1:7788\n"
	    "[probe \"api-eu\"]\n"
	    "  type = http   ; indented keys are keys\n"
	    "  target = https://api.example.com/healthz\n"
	    "  interval = 10s\n"
	    "  timeout = 3s\n"
	    "  expect_status = 200-299\n"
	    "  expect_body = ok\n"
	    "  max_latency = 500ms\n"
	    "  cert_min_days = 14\n"
	    "  fall = 3\n"
	    "  rise = 2\n"
	    "[probe \"db\"]\n"
	    "type = tcp\n"
	    "target = 10.0.0.5:5432\n"
	    "[pool \"web\"]\n"
	    "min_active = 2\n"
	    "[route \"web-eu\"]\n"
	    "probe = api-eu\n"
	    "pool = web\n"
	    "drain_timeout = 15m\n"
	    "on_drain = /usr/local/libexec/withdraw web-eu \"two words\"\n"
	    "[alert \"ops\"]\n"
	    "type = webhook\n"
	    "url = https://hooks.example.com/vantage\n", err, sizeof(err));
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_string_equal(c->name, "web-01");
	assert_int_equal(c->retention_ms, 14LL * 86400000);
	assert_int_equal(c->n_api_listen, 2);
	assert_string_equal(c->api_listen[1], "[::1]:7787");
	assert_true(c->rate.per_sec == 20 && c->rate.burst == 40);
	assert_int_equal(c->n_probes, 2);
	p = config_find_probe(c, "api-eu");
	assert_non_null(p);
	assert_string_equal(p->type->name, "http");
	assert_int_equal(p->interval_ms, 10000);
	assert_int_equal(p->timeout_ms, 3000);
	r = config_probe_opt(p, "expect_status");
	assert_non_null(r);
	assert_int_equal(r->lo, 200);
	assert_int_equal(r->hi, 299);
	assert_int_equal(p->max_latency_ms, 500);
	p = config_find_probe(c, "db");
	assert_int_equal(p->fall, 3);		/* defaults */
	assert_int_equal(p->rise, 2);
	assert_int_equal(p->timeout_ms, 5000);
	assert_int_equal(c->routes[0]->drain_timeout_ms, 15 * 60000);
	assert_string_equal(c->routes[0]->on_drain[0],
	    "/usr/local/libexec/withdraw");
	assert_string_equal(c->routes[0]->on_drain[2], "two words");
	assert_null(c->routes[0]->on_drain[3]);
	assert_int_equal(c->pools[0]->min_active, 2);
	/* no queue_max: 2 x (6 + 2 results a minute), at least 10000 */
	assert_int_equal(c->queue_max, 10000);
	config_free(c);
}

/* [agent] queue_max: explicit, derived from the probes, and refused. */
static void
test_queue_max(void **state)
{
	char		 err[2048];
	struct config	*c;
	struct buf	 b;
	int		 i;

	c = load("[agent]\nqueue_max = 5000\n", err, sizeof(err));
	if (c == NULL)
		fail_msg("refused: %s", err);
	assert_int_equal(c->queue_max, 5000);
	config_free(c);

	/* 2,000 probes at 1 s and 10 at 100 ms: 2 x (120000 + 6000) */
	buf_init(&b);
	for (i = 0; i < 2010; i++)
		buf_printf(&b, "[probe \"p%d\"]\ntype = tcp\ntarget = h:1\n"
		    "interval = %s\n", i, i < 2000 ? "1s" : "100ms");
	c = load(b.data, err, sizeof(err));
	buf_free(&b);
	if (c == NULL)
		fail_msg("refused: %s", err);
	if (c->queue_max != 252000)
		fail_msg("derived queue_max: expected 252000, got %lld",
		    (long long)c->queue_max);
	config_free(c);

	expect_error("[agent]\nname = a\nqueue_max = 999\n", 3, "queue_max");
	expect_error("[agent]\nqueue_max = 100000001\n", 2, "queue_max");
	expect_error("[agent]\nqueue_max = lots\n", 2, "queue_max");
}

static void
test_errors_name_lines(void **state)
{
	expect_error("[agent]\nname = a\nbogus = 1\n", 3, "unknown key 'bogus'");
	expect_error("[agent]\n[probez \"x\"]\ntype = tcp\n", 2,
	    "unknown section");
	expect_error("[probe \"a\"]\ntype = tcp\ntarget = h:1\n"
	    "interval = 10 parsecs\n", 4, "not a duration");
	expect_error("[probe \"a\"]\ntype = tcp\ntarget = h:1\n"
	    "[probe \"a\"]\ntype = tcp\ntarget = h:2\n", 4,
	    "duplicate probe 'a'");
	expect_error("[probe \"a\"]\ntype = tcp\ntype = http\ntarget = h:1\n",
	    3, "duplicate key 'type'");
	expect_error("[probe \"a\"]\ntype = gopher\ntarget = h:1\n", 2,
	    "unknown probe type");
	expect_error("[probe \"a\"]\ntype = tcp\n", 1, "has no target");
	expect_error("[probe \"a\"]\ntype = tcp\ntarget = h:1\n"
	    "record = MX\n", 4, "does not apply to tcp");
	expect_error("[probe \"a\"]\ntype = tcp\ntarget = h:1\n"
	    "interval = 1s\ntimeout = 2s\n", 5, "longer than interval");
	expect_error("[probe \"a\"]\ntype = http\ntarget = http://h/\n"
	    "expect_status = 299-200\n", 4, "ends before");
	expect_error("[route \"r\"]\nprobe = nope\n", 1,
	    "probe 'nope' is not defined");
	expect_error("[route \"r\"]\non_drain = withdraw now\n", 2,
	    "absolute path");
	expect_error("[api]\nrate = lots\n", 2, "not a rate");
	expect_error("[api]\nlisten = 127.0.0.1\n", 2, "host:port");
	expect_error("[agent]\nname\n", 2, "syntax error");
	expect_error("name = x\n", 1, "outside any section");
}

static void
test_builtin_config(void **state)
{
	char		 err[2048];
	struct config	*c;

	c = config_load(NULL, err, sizeof(err));
	if (c == NULL)
		fail_msg("built-in config refused: %s", err);
	assert_true(c->n_probes >= 3);
	assert_int_equal(c->n_routes, 1);
	assert_non_null(c->data_dir);
	config_free(c);
}

static void
test_durations_and_sizes(void **state)
{
	int64_t			ms;
	uint64_t		sz;
	struct parse_range	r;
	struct parse_rate	rt;
	char			err[256];

	assert_int_equal(parse_duration_ms("250ms", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(parse_duration_ms("1h30m", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(parse_duration_ms("10", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(parse_duration_ms("5x", &ms, err, sizeof(err)), -1);
	assert_int_equal(parse_duration_ms("", &ms, err, sizeof(err)), -1);
	assert_int_equal(parse_duration_ms("-5s", &ms, err, sizeof(err)), -1);
	assert_int_equal(parse_size("64KiB", &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 65536);
	assert_int_equal(parse_size("10M", &sz, err, sizeof(err)), 0);
	assert_int_equal(sz, 10 * 1048576);
	assert_int_equal(parse_size("10Q", &sz, err, sizeof(err)), -1);
	assert_int_equal(parse_range("200-299", &r, err, sizeof(err)), 0);
	assert_true(r.lo == 200 && r.hi == 299);
	assert_int_equal(parse_range("204", &r, err, sizeof(err)), 0);
	assert_true(r.lo == 204 && r.hi == 204);
	assert_int_equal(parse_range("2xx", &r, err, sizeof(err)), -1);
	assert_int_equal(parse_rate("600/m burst 100", &rt, err, sizeof(err)),
	    0);
	assert_true(rt.per_sec == 10 && rt.burst == 100);
	assert_int_equal(parse_rate("5/s extra", &rt, err, sizeof(err)), -1);
}

static void
test_split_argv(void **state)
{
	char	**a;

	a = config_split_argv("/bin/x  a \"b c\" \"\" d");
	assert_non_null(a);
	assert_string_equal(a[0], "/bin/x");
	assert_string_equal(a[1], "a");
	assert_string_equal(a[2], "b c");
	assert_string_equal(a[3], "");
	assert_string_equal(a[4], "d");
	assert_null(a[5]);
	config_free_argv(a);
	assert_null(config_split_argv("/bin/x \"open"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_errors_name_lines),
		cmocka_unit_test(test_queue_max),
		cmocka_unit_test(test_builtin_config),
		cmocka_unit_test(test_durations_and_sizes),
		cmocka_unit_test(test_split_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
