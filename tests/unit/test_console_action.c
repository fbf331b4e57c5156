/*
 * test_console_action.c - what the console makes of a route change: the
 * answers of one route and of a batch, the outcome lookup's answers, and
 * the pool guard's members built from an agent's status, so that the
 * preview counts what the agent will count (a route whose probe is down
 * takes no traffic now and is not taken away twice).
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

#define ROUTE(n, st, eff, pool, probe)					\
	"{\"name\":\"" n "\",\"state\":\"" st "\",\"effective\":\"" eff	\
	"\",\"pool\":" pool ",\"probe\":" probe "}"

static void
test_action_answers(void **state)
{
	static const char one[] = "{\"route\":" ROUTE("a", "draining",
	    "drain", "\"web\"", "null") ",\"audit_id\":4,\"changed\":false,"
	    "\"replayed\":true,\"batch\":\"b7\"}";
	static const char batch[] = "{\"batch\":\"b8\",\"changed\":true,"
	    "\"replayed\":false,\"audit_ids\":[10,11],\"routes\":["
	    "{\"name\":\"a\",\"state\":\"draining\",\"effective\":\"drain\","
	    "\"changed\":true},{\"name\":\"b\",\"state\":\"draining\","
	    "\"effective\":\"drain\",\"changed\":false}]}";
	static const char empty[] = "{\"batch\":\"b\",\"routes\":[]}";
	static const char badid[] = "{\"audit_ids\":[\"x\"],\"routes\":["
	    "{\"name\":\"a\",\"state\":\"active\",\"effective\":\"ready\"}]}";
	static const char badchg[] = "{\"routes\":[{\"name\":\"a\",\"state\":"
	    "\"active\",\"effective\":\"ready\",\"changed\":1}]}";
	struct model_action	a;
	char			err[256];

	(void)state;
	assert_int_equal(model_parse_action(one, strlen(one), &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.n_routes, 1);
	assert_false(a.routes[0].changed);
	assert_false(a.changed);
	assert_true(a.replayed);
	assert_string_equal(a.batch, "b7");
	assert_int_equal(a.routes[0].audit_id, 4);
	model_action_free(&a);
	assert_int_equal(model_parse_action(batch, strlen(batch), &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.n_routes, 2);
	assert_true(a.changed);
	assert_true(a.routes[0].changed);
	assert_false(a.routes[1].changed);
	assert_int_equal(a.routes[1].audit_id, 11);
	assert_string_equal(a.routes[1].route.name, "b");
	model_action_free(&a);
	assert_int_equal(model_parse_action(empty, strlen(empty), &a, err,
	    sizeof(err)), -2);
	assert_non_null(strstr(err, "'routes' is empty"));
	assert_int_equal(model_parse_action(badid, strlen(badid), &a, err,
	    sizeof(err)), -2);
	/* a route of a batch that breaks the contract is odd, not fatal */
	assert_int_equal(model_parse_action(badchg, strlen(badchg), &a, err,
	    sizeof(err)), 0);
	assert_int_equal(a.n_routes, 0);
	assert_int_equal(a.odd.n, 1);
	assert_string_equal(a.odd.v[0].name, "a");
	assert_non_null(strstr(a.odd.v[0].reason, "changed"));
	model_action_free(&a);
}

static void
test_request_lookup(void **state)
{
	static const char applied[] = "{\"key\":\"k\",\"status\":200,"
	    "\"outcome\":{\"batch\":\"b1\",\"changed\":true,\"routes\":["
	    "{\"name\":\"a\",\"state\":\"maint\",\"effective\":\"maint\"}]}}";
	static const char refused[] = "{\"key\":\"k\",\"status\":409,"
	    "\"outcome\":{\"error\":{\"code\":\"pool_guard\",\"message\":"
	    "\"pool web would keep 0 of 2\"}}}";
	static const char nostatus[] = "{\"key\":\"k\",\"outcome\":{}}";
	static const char badout[] = "{\"status\":200,\"outcome\":{}}";
	struct model_request	q;
	char			err[256];

	(void)state;
	assert_int_equal(model_parse_request(applied, strlen(applied), &q,
	    err, sizeof(err)), 0);
	assert_true(q.applied);
	assert_int_equal(q.action.n_routes, 1);
	assert_int_equal(q.action.routes[0].route.state, MODEL_MAINT);
	model_request_free(&q);
	assert_int_equal(model_parse_request(refused, strlen(refused), &q,
	    err, sizeof(err)), 0);
	assert_false(q.applied);
	assert_int_equal(q.status, 409);
	assert_string_equal(q.code, "pool_guard");
	assert_string_equal(q.message, "pool web would keep 0 of 2");
	model_request_free(&q);
	assert_int_equal(model_parse_request(nostatus, strlen(nostatus), &q,
	    err, sizeof(err)), -2);
	assert_int_equal(model_parse_request(badout, strlen(badout), &q,
	    err, sizeof(err)), -2);
	assert_non_null(strstr(err, "outcome"));
}

/* A status with the routes given and probes "up" (up) and "dn" (down). */
static void
status_of(struct model_status *st, const char *routes)
{
	char	*doc, err[256];

	xasprintf(&doc, "{\"agent\":{\"name\":\"h1\"},\"probes\":["
	    "{\"name\":\"up\",\"type\":\"tcp\",\"target\":\"x:1\","
	    "\"state\":\"up\"},{\"name\":\"dn\",\"type\":\"tcp\",\"target\":"
	    "\"x:2\",\"state\":\"down\"}],\"routes\":[%s],\"pools\":["
	    "{\"name\":\"web\",\"min_active\":1,\"routes\":2,\"active\":2}]}",
	    routes);
	if (model_parse_status(doc, strlen(doc), st, err, sizeof(err)) != 0)
		fail_msg("status: %s", err);
	free(doc);
}

static void
test_pool_members(void **state)
{
	static const char *const a[] = { "a" };
	static const char *const ab[] = { "a", "b" };
	struct model_status	 st;
	struct pool_member	*m;
	struct pool_outcome	 o;
	char			 d[200];

	(void)state;
	/* both routes active but their probes down: the preview used to
	 * subtract them twice ("keeps -1 of 2") */
	status_of(&st, ROUTE("a", "active", "down", "\"web\"", "\"dn\"") ","
	    ROUTE("b", "active", "down", "\"web\"", "\"dn\""));
	m = model_pool_members(&st, a, 1);
	assert_true(m[0].active && m[0].probe_down && m[0].selected);
	assert_false(m[1].selected);
	pool_count(m, (size_t)st.n_routes, "web", 1, &o);
	assert_int_equal(o.before, 0);
	assert_int_equal(o.after, 0);
	assert_int_equal(o.size, 2);
	/* nothing that takes traffic is taken away: no refusal */
	assert_false(pool_trips(&o, 1, 1));
	pool_describe(&o, "web", 1, d, sizeof(d));
	assert_string_equal(d, "pool web would keep 0 of 2 routes taking "
	    "traffic (now 0, min_active 1)");
	free(m);
	model_status_free(&st);

	/* two healthy routes drained together: one request, refused whole */
	status_of(&st, ROUTE("a", "active", "ready", "\"web\"", "\"up\"") ","
	    ROUTE("b", "active", "ready", "\"web\"", "\"up\""));
	m = model_pool_members(&st, ab, 2);
	pool_count(m, (size_t)st.n_routes, "web", 1, &o);
	assert_int_equal(o.before, 2);
	assert_int_equal(o.after, 0);
	assert_true(pool_trips(&o, 1, 1));
	free(m);
	m = model_pool_members(&st, a, 1);
	pool_count(m, (size_t)st.n_routes, "web", 1, &o);
	assert_int_equal(o.after, 1);
	assert_false(pool_trips(&o, 1, 1));
	free(m);
	model_status_free(&st);

	/* a draining route's effective state hides its probe: the probe
	 * list tells whether an undrain brings it back */
	status_of(&st, ROUTE("a", "draining", "drain", "\"web\"", "\"dn\"")
	    "," ROUTE("b", "maint", "maint", "\"web\"", "\"up\"") ","
	    ROUTE("c", "draining", "drain", "null", "null"));
	m = model_pool_members(&st, ab, 2);
	assert_true(m[0].probe_down);
	assert_false(m[1].probe_down);
	assert_null(m[2].pool);
	pool_count(m, (size_t)st.n_routes, "web", 0, &o);
	assert_int_equal(o.before, 0);
	assert_int_equal(o.after, 1);
	free(m);
	model_status_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_answers),
		cmocka_unit_test(test_request_lookup),
		cmocka_unit_test(test_pool_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
