/*
 * test_console_model.c - agent JSON into the console's model: the
 * contract's documents parse; an envelope that breaks it (malformed
 * text, a missing or mistyped top-level field or array) is refused whole
 * with the path of the bad field, and a row that breaks it (wrong types,
 * unknown enum values, a repeated name, out of range) becomes one odd row
 * among the good ones.
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

/*
 * m_list(): one bad row among good ones leaves the good ones and one odd
 * row with what could be read of it; a repeated name is odd, not a second
 * real probe or route.
 */
struct odd_case {
	const char	*probes;	/* the bad probe, beside "a" and "z" */
	const char	*routes;	/* the bad route, beside "r" */
	const char	*pools;		/* the bad pool, beside "p" */
	const char	*reason;
	const char	*name;		/* read from the odd row, or NULL */
};

#define GOOD_PROBE(n)	"{\"name\":\"" n "\",\"type\":\"tcp\",\"state\":\"up\"}"
#define GOOD_ROUTE(n)	"{\"name\":\"" n "\",\"state\":\"active\"," \
			"\"effective\":\"ready\"}"
#define GOOD_POOL(n)	"{\"name\":\"" n "\",\"min_active\":1}"

static void
test_status_odd_rows(void **state)
{
	static const struct odd_case cases[] = {
		{ "7", NULL, NULL, "must be an object", NULL },
		{ "{\"name\":\"p\",\"type\":\"http\",\"state\":\"sideways\"}",
		    NULL, NULL, "'state' has an unknown value", "p" },
		{ "{\"name\":\"p\",\"type\":\"http\",\"state\":\"up\","
		    "\"last\":{\"t_ms\":1,\"status\":\"ok\",\"latency_us\":"
		    "\"fast\"}}", NULL, NULL,
		    "last: 'latency_us' must be a number", "p" },
		{ "{\"name\":\"p\",\"type\":\"http\",\"state\":\"up\","
		    "\"last\":{\"t_ms\":-1,\"status\":\"ok\"}}", NULL, NULL,
		    "last: 't_ms' must be between", "p" },
		{ "{\"name\":\"\",\"type\":\"x\",\"state\":\"up\"}", NULL,
		    NULL, "'name' is empty", NULL },
		{ GOOD_PROBE("a"), NULL, NULL,
		    "repeats the name 'a' of probes[0]", "a" },
		{ NULL, "{\"name\":\"q\",\"state\":\"active\",\"effective\":"
		    "\"up\"}", NULL, "'effective' has an unknown value", "q" },
		{ NULL, "{\"name\":\"q\",\"state\":\"active\",\"effective\":"
		    "\"ready\",\"forced\":1}", NULL,
		    "'forced' must be true or false", "q" },
		{ NULL, GOOD_ROUTE("r"), NULL,
		    "repeats the name 'r' of routes[0]", "r" },
		{ NULL, NULL, "{\"name\":\"q\",\"min_active\":1.5}",
		    "'min_active' must be a whole number", "q" },
		{ NULL, NULL, GOOD_POOL("p"),
		    "repeats the name 'p' of pools[0]", "p" },
	};
	struct model_status	 st;
	const struct model_odds	*odd;
	char			 doc[2048], err[256];
	size_t			 i;
	int			 rc, ngood;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct odd_case *c = &cases[i];

		snprintf(doc, sizeof(doc), "{\"agent\":{\"name\":\"x\"},"
		    "\"probes\":[" GOOD_PROBE("a") "%s%s," GOOD_PROBE("z")
		    "],\"routes\":[" GOOD_ROUTE("r") "%s%s],\"pools\":["
		    GOOD_POOL("p") "%s%s]}", c->probes != NULL ? "," : "",
		    c->probes != NULL ? c->probes : "",
		    c->routes != NULL ? "," : "",
		    c->routes != NULL ? c->routes : "",
		    c->pools != NULL ? "," : "",
		    c->pools != NULL ? c->pools : "");
		err[0] = '\0';
		rc = model_parse_status(doc, strlen(doc), &st, err,
		    sizeof(err));
		if (rc != 0)
			fail_msg("case %zu (%s): expected 0, got %d '%s'", i,
			    doc, rc, err);
		odd = c->probes != NULL ? &st.odd_probes : c->routes != NULL ?
		    &st.odd_routes : &st.odd_pools;
		ngood = c->probes != NULL ? st.n_probes : c->routes != NULL ?
		    st.n_routes : st.n_pools;
		if (ngood != (c->probes != NULL ? 2 : 1) || odd->n != 1 ||
		    st.odd_probes.n + st.odd_routes.n + st.odd_pools.n != 1 ||
		    odd->v[0].index != 1 ||
		    strstr(odd->v[0].reason, c->reason) == NULL ||
		    (c->name == NULL) != (odd->v[0].name == NULL) ||
		    (c->name != NULL && strcmp(c->name, odd->v[0].name) != 0))
			fail_msg("case %zu (%s): expected %d good and one odd "
			    "row #1 '%s' named %s, got %d good and %d odd, "
			    "the first #%d '%s' named %s", i, doc,
			    c->probes != NULL ? 2 : 1, c->reason,
			    c->name != NULL ? c->name : "(none)", ngood,
			    odd->n, odd->n > 0 ? odd->v[0].index : -1,
			    odd->n > 0 ? odd->v[0].reason : "",
			    odd->n > 0 && odd->v[0].name != NULL ?
			    odd->v[0].name : "(none)");
		/* the real ones keep their order */
		if (c->probes != NULL)
			assert_string_equal(st.probes[1].name, "z");
		assert_string_equal(st.probes[0].name, "a");
		model_status_free(&st);
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
	    err, sizeof(err)), 0);
	assert_int_equal(r.n_results, 0);
	assert_int_equal(r.odd.n, 1);
	assert_int_equal(r.odd.v[0].t_ms, 1);
	assert_non_null(strstr(r.odd.v[0].reason, "'status' is required"));
	model_results_free(&r);
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
	/* a cursor must only move forward: the row that would not is odd */
	assert_int_equal(model_parse_audit(back, strlen(back), &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.n_rows, 2);
	assert_null(p.rows[0].malformed);
	assert_non_null(p.rows[1].malformed);
	assert_non_null(strstr(p.rows[1].malformed, "not increasing"));
	assert_true(p.rows[1].id == VANTAGE_NONE);
	assert_string_equal(p.rows[1].action, "b");
	model_audit_page_free(&p);
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
	    sizeof(err)), 0);
	assert_int_equal(p.n_rows, 3);
	assert_true(p.desc);
	assert_non_null(p.rows[2].malformed);
	assert_non_null(strstr(p.rows[2].malformed,
	    "'id' 5 is not decreasing"));
	model_audit_page_free(&p);
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

/*
 * The drain of a 257-byte route name was audited with that name as target:
 * the row is odd, the rows around it stay, in their places, and an odd
 * row's id that does not fit between its neighbours is dropped so that it
 * cannot move the fleet's cursor past them.
 */
static void
test_audit_odd_rows(void **state)
{
	struct model_audit_page	 p;
	char			 doc[4096], t[301], err[256];

	(void)state;
	memset(t, 'x', 300);
	t[300] = '\0';
	snprintf(doc, sizeof(doc), "{\"audit\":[{\"id\":1,\"t_ms\":5,"
	    "\"action\":\"drain\"},{\"id\":2,\"t_ms\":6,\"action\":\"drain\","
	    "\"target\":\"%s\"},{\"id\":3,\"t_ms\":7,\"action\":\"undrain\"},"
	    "{\"id\":99,\"t_ms\":\"late\",\"action\":\"drain\"},"
	    "\"row\",{\"id\":4,\"t_ms\":8,\"action\":\"drain\"}],"
	    "\"more\":false}", t);
	if (model_parse_audit(doc, strlen(doc), &p, err, sizeof(err)) != 0)
		fail_msg("expected the page, got '%s'", err);
	assert_int_equal(p.n_rows, 6);
	assert_false(p.desc);
	assert_null(p.rows[0].malformed);
	assert_non_null(p.rows[1].malformed);
	if (strstr(p.rows[1].malformed, "'target' is longer than 256 bytes") ==
	    NULL)
		fail_msg("expected a target too long, got '%s'",
		    p.rows[1].malformed);
	assert_int_equal(p.rows[1].id, 2);
	assert_int_equal(p.rows[1].t_ms, 6);
	assert_string_equal(p.rows[1].target, "");
	assert_null(p.rows[2].malformed);
	assert_int_equal(p.rows[2].id, 3);
	/* id 99 would jump over 4 */
	assert_non_null(p.rows[3].malformed);
	assert_true(p.rows[3].id == VANTAGE_NONE);
	assert_true(p.rows[3].t_ms == VANTAGE_NONE);
	assert_non_null(strstr(p.rows[4].malformed, "must be an object"));
	assert_null(p.rows[5].malformed);
	assert_int_equal(p.rows[5].id, 4);
	model_audit_page_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_ok),
		cmocka_unit_test(test_status_bad),
		cmocka_unit_test(test_status_odd_rows),
		cmocka_unit_test(test_audit_odd_rows),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_results_series),
		cmocka_unit_test(test_audit_verify_action_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
