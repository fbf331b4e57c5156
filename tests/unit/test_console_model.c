/*
 * test_console_model.c - agent JSON into the console's model: the
 * contract's documents parse, and every way of breaking it (malformed
 * text, wrong types, unknown enum values, duplicates, out of range) is
 * refused whole with the path of the bad field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vantage.h"

static const char status_ok[] =
    "{\"agent\":{\"name\":\"web-01\",\"version\":\"0.1.0\",\"uptime_s\":12,"
    "\"time_ms\":1763830000000,\"started_ms\":1763829988000,"
    "\"caller\":{\"name\":\"alice\",\"role\":\"operator\"}},"
    "\"probes\":[{\"name\":\"api-eu\",\"type\":\"http\",\"target\":"
    "\"https://api.example.com/\",\"state\":\"down\",\"state_since_ms\":1,"
    "\"interval_ms\":10000,\"last\":{\"t_ms\":5,\"status\":\"fail\","
    "\"latency_us\":1200,\"dns_us\":null,\"connect_us\":100,\"tls_us\":null,"
    "\"ttfb_us\":null,\"code\":503,\"cert_days\":null,\"error\":\"HTTP 503\"},"
    "\"stats_1h\":{\"runs\":10,\"ok\":9,\"degraded\":0,\"fail\":1,"
    "\"avg_us\":null,\"p95_us\":900}},"
    "{\"name\":\"db\",\"type\":\"tcp\",\"target\":\"db:5432\",\"state\":\"up\","
    "\"last\":null}],"
    "\"routes\":[{\"name\":\"web-eu\",\"state\":\"draining\",\"effective\":"
    "\"drain\",\"reason\":\"deploy\",\"actor\":\"alice\",\"operator\":"
    "\"alice@bastion\",\"since_ms\":7,\"expires_ms\":null,\"pool\":\"web\","
    "\"probe\":null,\"forced\":true}],"
    "\"pools\":[{\"name\":\"web\",\"min_active\":2,\"routes\":3,"
    "\"active\":2}],\"extra\":\"ignored\"}";

static void
test_status_ok(void **state)
{
	struct model_status	st;
	char			err[256];

	(void)state;
	assert_int_equal(model_parse_status(status_ok, strlen(status_ok), &st,
	    err, sizeof(err)), 0);
	assert_string_equal(st.agent, "web-01");
	assert_int_equal(st.time_ms, 1763830000000LL);
	assert_string_equal(st.caller, "alice");
	assert_string_equal(st.caller_role, "operator");
	assert_int_equal(st.n_probes, 2);
	assert_int_equal(st.probes[0].state, MODEL_DOWN);
	assert_true(st.probes[0].has_last);
	assert_int_equal(st.probes[0].last.code, 503);
	assert_true(st.probes[0].last.dns_us == VANTAGE_NONE);
	assert_true(st.probes[0].stats.avg_us == VANTAGE_NONE);
	assert_int_equal(st.probes[0].stats.p95_us, 900);
	assert_false(st.probes[1].has_last);
	assert_int_equal(st.n_routes, 1);
	assert_int_equal(st.routes[0].state, MODEL_DRAINING);
	assert_int_equal(st.routes[0].effective, MODEL_EFF_DRAIN);
	assert_string_equal(st.routes[0].pool, "web");
	assert_null(st.routes[0].probe);
	assert_true(st.routes[0].forced);
	assert_true(st.routes[0].expires_ms == VANTAGE_NONE);
	assert_int_equal(st.n_pools, 1);
	assert_int_equal(st.pools[0].min_active, 2);
	model_status_free(&st);
	/* an agent from before `caller`: none, and no error */
	assert_int_equal(model_parse_status("{\"agent\":{\"name\":\"a\"},"
	    "\"probes\":[]}", 34, &st, err, sizeof(err)), 0);
	assert_null(st.caller);
	assert_null(st.caller_role);
	model_status_free(&st);
}

struct bad {
	const char	*json;
	int		 rc;
	const char	*err;		/* substring of the message */
};

static void
test_status_bad(void **state)
{
	static const struct bad cases[] = {
		{ "", -1, "empty" },
		{ "{\"agent\":", -1, "malformed" },
		{ "[1,2]", -1, "object" },
		{ "{}", -2, "'agent' is required" },
		{ "{\"agent\":{\"name\":5},\"probes\":[]}", -2,
		    "agent: 'name' must be a string" },
		{ "{\"agent\":{\"name\":\"a\"}}", -2, "'probes' is required" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":{}}", -2,
		    "'probes' must be an array" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[7]}", -2,
		    "probes[0]: must be an object" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[{\"name\":\"p\","
		    "\"type\":\"http\",\"state\":\"sideways\"}]}", -2,
		    "probes[0]: 'state' has an unknown value" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[{\"name\":\"p\","
		    "\"type\":\"http\",\"state\":\"up\",\"last\":{\"t_ms\":1,"
		    "\"status\":\"ok\",\"latency_us\":\"fast\"}}]}", -2,
		    "probes[0].last: 'latency_us' must be a number" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[{\"name\":\"p\","
		    "\"type\":\"http\",\"state\":\"up\",\"last\":{\"t_ms\":-1,"
		    "\"status\":\"ok\"}}]}", -2, "'t_ms' must be between" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[{\"name\":\"p\","
		    "\"type\":\"x\",\"state\":\"up\"},{\"name\":\"p\","
		    "\"type\":\"x\",\"state\":\"up\"}]}", -2,
		    "duplicate probe 'p'" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[],\"routes\":[{"
		    "\"name\":\"r\",\"state\":\"active\",\"effective\":\"up\"}]}",
		    -2, "routes[0]: 'effective' has an unknown value" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[],\"routes\":[{"
		    "\"name\":\"r\",\"state\":\"active\",\"effective\":\"ready\","
		    "\"forced\":1}]}", -2, "'forced' must be true or false" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[],\"pools\":[{"
		    "\"name\":\"p\",\"min_active\":1.5}]}", -2,
		    "'min_active' must be a whole number" },
		{ "{\"agent\":{\"name\":\"a\"},\"probes\":[{\"name\":\"\","
		    "\"type\":\"x\",\"state\":\"up\"}]}", -2, "'name' is empty" },
		{ "{\"agent\":{\"name\":\"a\",\"caller\":\"alice\"},"
		    "\"probes\":[]}", -2, "agent: 'caller' must be an object" },
		{ "{\"agent\":{\"name\":\"a\",\"caller\":{\"role\":"
		    "\"viewer\"}},\"probes\":[]}", -2,
		    "agent.caller: 'name' is required" },
		{ "{\"agent\":{\"name\":\"a\",\"caller\":{\"name\":\"\","
		    "\"role\":\"viewer\"}},\"probes\":[]}", -2,
		    "agent.caller: 'name' is empty" },
		{ "{\"agent\":{\"name\":\"a\",\"caller\":{\"name\":\"x\","
		    "\"role\":\"root\"}},\"probes\":[]}", -2,
		    "agent.caller: 'role' has an unknown value 'root'" },
		{ "{\"agent\":{\"name\":\"a\",\"caller\":{\"name\":\"x\"}},"
		    "\"probes\":[]}", -2, "agent.caller: 'role' is required" },
	};
	struct model_status	st;
	char			err[256];
	size_t			i;
	int			rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		rc = model_parse_status(cases[i].json, strlen(cases[i].json),
		    &st, err, sizeof(err));
		if (rc != cases[i].rc || strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu (%s): expected %d '%s', got %d '%s'",
			    i, cases[i].json, cases[i].rc, cases[i].err, rc,
			    err);
		/* nothing is held after a failure */
		assert_null(st.probes);
		assert_null(st.agent);
		assert_null(st.caller);
	}
}

static void
test_deep_nesting(void **state)
{
	struct model_status	 st;
	char			 err[256], *s;
	int			 i, n = 200;

	(void)state;
	s = calloc(1, (size_t)n * 8 + 64);
	strcpy(s, "{\"agent\":");
	for (i = 0; i < n; i++)
		strcat(s, "[");
	for (i = 0; i < n; i++)
		strcat(s, "]");
	strcat(s, "}");
	assert_int_equal(model_parse_status(s, strlen(s), &st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "nested"));
	free(s);
}

static void
test_results_series(void **state)
{
	static const char res[] = "{\"probe\":\"p\",\"results\":[{\"t_ms\":10,"
	    "\"status\":\"degraded\",\"latency_us\":5,\"error\":\"\"},{\"t_ms\":"
	    "11,\"status\":\"ok\"}],\"next\":11,\"more\":true}";
	static const char ser[] = "{\"probe\":\"p\",\"step_s\":60,\"points\":["
	    "{\"t_ms\":0,\"n\":3,\"ok\":2,\"degraded\":0,\"min_us\":1,"
	    "\"avg_us\":2,\"max_us\":3,\"p95_us\":3}]}";
	static const char nostatus[] = "{\"results\":[{\"t_ms\":1}]}";
	struct model_results	r;
	struct model_series	s;
	char			err[256];

	(void)state;
	assert_int_equal(model_parse_results(res, strlen(res), &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.n_results, 2);
	assert_int_equal(r.results[0].status, MODEL_R_DEGRADED);
	assert_int_equal(r.next, 11);
	assert_true(r.more);
	model_results_free(&r);
	assert_int_equal(model_parse_series(ser, strlen(ser), &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.step_s, 60);
	assert_int_equal(s.n_points, 1);
	assert_int_equal(s.points[0].avg_us, 2);
	model_series_free(&s);
	assert_int_equal(model_parse_results(nostatus, strlen(nostatus), &r,
	    err, sizeof(err)), -2);
	assert_non_null(strstr(err, "results[0]: 'status' is required"));
}

static void
test_audit_verify_action_error(void **state)
{
	static const char aud[] = "{\"audit\":[{\"id\":1,\"t_ms\":5,\"actor\":"
	    "\"alice\",\"action\":\"drain\",\"result\":\"ok\"},{\"id\":2,"
	    "\"t_ms\":6,\"action\":\"undrain\"}],\"next\":2,\"more\":false}";
	static const char back[] = "{\"audit\":[{\"id\":2,\"t_ms\":5,"
	    "\"action\":\"a\"},{\"id\":2,\"t_ms\":6,\"action\":\"b\"}]}";
	/* a `before` page: newest first, next is the smallest id */
	static const char desc[] = "{\"audit\":[{\"id\":9,\"t_ms\":7,"
	    "\"action\":\"a\"},{\"id\":4,\"t_ms\":6,\"action\":\"b\"},"
	    "{\"id\":3,\"t_ms\":5,\"action\":\"c\"}],\"next\":3,"
	    "\"more\":true}";
	static const char zigzag[] = "{\"audit\":[{\"id\":9,\"t_ms\":7,"
	    "\"action\":\"a\"},{\"id\":4,\"t_ms\":6,\"action\":\"b\"},"
	    "{\"id\":5,\"t_ms\":5,\"action\":\"c\"}]}";
	static const char ver[] = "{\"ok\":false,\"rows\":20,\"bad_id\":17,"
	    "\"message\":\"row 17: hash mismatch\"}";
	static const char act[] = "{\"route\":{\"name\":\"web\",\"state\":"
	    "\"maint\",\"effective\":\"maint\"},\"audit_id\":9}";
	static const char er[] = "{\"error\":{\"code\":\"pool_guard\","
	    "\"message\":\"pool web would keep 1\"}}";
	struct model_audit_page	p;
	struct model_verify	v;
	struct model_action	a;
	char			err[256], code[64], msg[256];

	(void)state;
	assert_int_equal(model_parse_audit(aud, strlen(aud), &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.n_rows, 2);
	assert_string_equal(p.rows[1].actor, "");
	assert_false(p.more);
	model_audit_page_free(&p);
	/* a cursor must only move forward */
	assert_int_equal(model_parse_audit(back, strlen(back), &p, err,
	    sizeof(err)), -2);
	assert_non_null(strstr(err, "not increasing"));
	assert_int_equal(model_parse_audit(desc, strlen(desc), &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.n_rows, 3);
	assert_true(p.desc);
	assert_int_equal(p.rows[2].id, 3);
	assert_int_equal(p.next, 3);
	assert_true(p.more);
	model_audit_page_free(&p);
	/* one direction per page */
	assert_int_equal(model_parse_audit(zigzag, strlen(zigzag), &p, err,
	    sizeof(err)), -2);
	assert_non_null(strstr(err, "audit[2]: ids are not decreasing"));
	assert_int_equal(model_parse_audit(aud, strlen(aud), &p, err,
	    sizeof(err)), 0);
	assert_false(p.desc);
	model_audit_page_free(&p);
	assert_int_equal(model_parse_verify(ver, strlen(ver), &v, err,
	    sizeof(err)), 0);
	assert_false(v.ok);
	assert_int_equal(v.bad_id, 17);
	model_verify_free(&v);
	assert_int_equal(model_parse_action(act, strlen(act), &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.n_routes, 1);
	assert_int_equal(a.routes[0].route.state, MODEL_MAINT);
	assert_int_equal(a.routes[0].audit_id, 9);
	/* an agent before batches: what it answered, it changed */
	assert_true(a.routes[0].changed);
	model_action_free(&a);
	assert_int_equal(model_parse_error(er, strlen(er), code, sizeof(code),
	    msg, sizeof(msg)), 0);
	assert_string_equal(code, "pool_guard");
	assert_string_equal(msg, "pool web would keep 1");
	assert_int_equal(model_parse_error("<html>", 6, code, sizeof(code),
	    msg, sizeof(msg)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_ok),
		cmocka_unit_test(test_status_bad),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_results_series),
		cmocka_unit_test(test_audit_verify_action_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
