/*
 * test_route.c - route.c on a real store in a temporary directory:
 * drain/undrain replies, the pool guard and force, a refused audit write
 * (503, nothing changes), state across a restart, ttl expiry by the
 * keeper, the JSON and metrics renderings; and the agent-check line
 * reader of haproxy.c.
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
#include <cJSON.h>
#include <sqlite3.h>

#include "vantaged.h"

struct fixture {
	char		 dir[64];
	char		 db[128];
	struct config	*conf;
	struct vantaged	 state;
};

static const char conf_text[] =
    "[route \"a\"]\npool = p\n"
    "[route \"b\"]\npool = p\n"
    "[route \"c\"]\n"
    "[pool \"p\"]\nmin_active = 1\n";

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		 path[160], err[1024];
	FILE		*fp;

	assert_non_null(f);
	loop_init();
	snprintf(f->dir, sizeof(f->dir), "/tmp/vt-test_route.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/v.conf", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[agent]\nname = t\ndata_dir = %s\n%s", f->dir, conf_text);
	fclose(fp);
	f->conf = config_load(path, err, sizeof(err));
	if (f->conf == NULL)
		fail_msg("%s", err);
	snprintf(f->db, sizeof(f->db), "%s/vantage.db", f->dir);
	f->state.conf = f->conf;
	f->state.store = store_open(f->db, 86400000, err, sizeof(err));
	if (f->state.store == NULL)
		fail_msg("%s", err);
	vd = &f->state;
	assert_int_equal(audit_start(f->conf, err, sizeof(err)), 0);
	if (route_start(f->conf, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		 cmd[128];

	route_stop();
	audit_stop();
	store_close(f->state.store);
	config_free(f->conf);
	vd = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int
change(int drain, const char *name, const char *mode, int64_t ttl_s,
    int force, struct buf *out, char *msg, size_t msglen)
{
	struct route_request	rq;
	struct route_outcome	oc;
	int			status;

	memset(&rq, 0, sizeof(rq));
	rq.names = &name;
	rq.n_names = 1;
	rq.single = 1;
	rq.drain = drain;
	rq.reason = "unit test";
	rq.has_ttl = ttl_s > 0;
	rq.ttl_s = ttl_s;
	rq.mode = mode != NULL && strcmp(mode, "maint") == 0 ? ROUTE_MAINT :
	    ROUTE_DRAINING;
	rq.force = force;
	rq.actor = "alice";
	rq.role = "operator";
	rq.operator_hdr = "alice@host";
	rq.source = "127.0.0.1";
	buf_reset(out);
	msg[0] = '\0';
	status = route_change(&rq, api_routes_render, out, &oc);
	if (status != 200)
		strlcpy_v(msg, oc.msg, msglen);
	return status;
}

static enum route_state
state_of(const char *name)
{
	enum route_state	st;

	assert_int_equal(route_get(name, &st, NULL), 0);
	return st;
}

static void
test_drain_undrain(void **state)
{
	struct buf		b;
	char			msg[256];
	enum route_effective	eff;
	uint64_t		gen = route_gen();

	buf_init(&b);
	assert_int_equal(change(1, "a", "drain", 0, 0, &b, msg, sizeof(msg)),
	    200);
	assert_non_null(strstr(b.data, "\"state\":\"draining\""));
	assert_non_null(strstr(b.data, "\"actor\":\"alice\""));
	assert_non_null(strstr(b.data, "\"operator\":\"alice@host\""));
	assert_non_null(strstr(b.data, "\"audit_id\":1,\"changed\":true"));
	assert_true(route_gen() > gen);
	assert_int_equal(route_get_effective("a", &eff), 0);
	assert_int_equal(eff, ROUTE_EFF_DRAIN);
	assert_int_equal(change(1, "c", "maint", 0, 0, &b, msg, sizeof(msg)),
	    200);
	assert_int_equal(route_get_effective("c", &eff), 0);
	assert_int_equal(eff, ROUTE_EFF_MAINT);
	assert_int_equal(change(0, "a", NULL, 0, 0, &b, msg, sizeof(msg)),
	    200);
	assert_int_equal(state_of("a"), ROUTE_ACTIVE);
	assert_int_equal(change(1, "zz", NULL, 0, 0, &b, msg, sizeof(msg)),
	    404);
	assert_string_equal(msg, "route 'zz' is not defined; nothing was changed");
	assert_int_equal(route_get_effective("zz", &eff), -1);
	buf_free(&b);
}

static void
test_pool_guard(void **state)
{
	struct buf	b;
	char		msg[256];

	buf_init(&b);
	assert_int_equal(change(1, "a", NULL, 0, 0, &b, msg, sizeof(msg)), 200);
	assert_int_equal(change(1, "b", NULL, 0, 0, &b, msg, sizeof(msg)), 409);
	assert_string_equal(msg, "pool p would keep 0 of 2 routes taking "
	    "traffic (now 1, min_active 1) (use force); nothing was changed");
	assert_int_equal(state_of("b"), ROUTE_ACTIVE);
	/* a route already out of service weakens nothing: no guard */
	assert_int_equal(change(1, "a", "maint", 0, 0, &b, msg, sizeof(msg)),
	    200);
	assert_int_equal(change(1, "b", NULL, 0, 1, &b, msg, sizeof(msg)), 200);
	assert_non_null(strstr(b.data, "\"forced\":true"));
	buf_reset(&b);
	api_routes_json(&b);
	assert_non_null(strstr(b.data, "{\"name\":\"p\",\"min_active\":1,"
	    "\"routes\":2,\"active\":0}"));
	buf_free(&b);
}

static void
exec_sql(const char *db, const char *sql)
{
	sqlite3	*h;
	char	*err = NULL;

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static void
test_audit_refused(void **state)
{
	struct fixture	*f = *state;
	struct buf	 b;
	char		 msg[256];
	uint64_t	 gen;

	buf_init(&b);
	exec_sql(f->db, "CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN "
	    "SELECT RAISE(ABORT, 'disk full'); END");
	gen = route_gen();
	assert_int_equal(change(1, "a", NULL, 0, 0, &b, msg, sizeof(msg)), 503);
	assert_non_null(strstr(msg, "nothing was changed"));
	assert_non_null(strstr(msg, "disk full"));
	assert_int_equal(state_of("a"), ROUTE_ACTIVE);
	assert_int_equal(route_gen(), gen);
	exec_sql(f->db, "DROP TRIGGER refuse");
	assert_int_equal(change(1, "a", NULL, 0, 0, &b, msg, sizeof(msg)), 200);
	buf_free(&b);
}

static void
test_restart_keeps_state(void **state)
{
	struct fixture	*f = *state;
	struct buf	 b;
	char		 msg[256], err[256];

	buf_init(&b);
	assert_int_equal(change(1, "a", NULL, 3600, 0, &b, msg, sizeof(msg)),
	    200);
	assert_int_equal(change(1, "c", "maint", 0, 0, &b, msg, sizeof(msg)),
	    200);
	route_stop();
	assert_int_equal(route_start(f->conf, err, sizeof(err)), 0);
	assert_int_equal(state_of("a"), ROUTE_DRAINING);
	assert_int_equal(state_of("c"), ROUTE_MAINT);
	assert_int_equal(state_of("b"), ROUTE_ACTIVE);
	buf_reset(&b);
	api_routes_json(&b);
	/* reason, actor, operator and the ttl came back from the database */
	{
		struct buf	 j;
		cJSON		*root, *r;

		buf_init(&j);
		buf_printf(&j, "{%s}", b.data);
		assert_non_null(root = cJSON_Parse(j.data));
		r = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "routes"), 0);
		assert_string_equal(cJSON_GetObjectItem(r, "name")->valuestring,
		    "a");
		assert_string_equal(cJSON_GetObjectItem(r, "reason")->valuestring,
		    "unit test");
		assert_string_equal(cJSON_GetObjectItem(r, "actor")->valuestring,
		    "alice");
		assert_string_equal(cJSON_GetObjectItem(r,
		    "operator")->valuestring, "alice@host");
		assert_true(cJSON_IsNumber(cJSON_GetObjectItem(r,
		    "expires_ms")));
		assert_true(cJSON_GetObjectItem(r, "expires_ms")->valuedouble >
		    cJSON_GetObjectItem(r, "since_ms")->valuedouble + 3599000);
		cJSON_Delete(root);
		buf_free(&j);
	}
	buf_free(&b);
}

static void
test_ttl_expiry(void **state)
{
	struct buf	b;
	char		msg[256];
	int		i;

	buf_init(&b);
	assert_int_equal(change(1, "c", NULL, 1, 0, &b, msg, sizeof(msg)), 200);
	assert_int_equal(state_of("c"), ROUTE_DRAINING);
	for (i = 0; i < 300 && state_of("c") != ROUTE_ACTIVE; i++)
		usleep(10000);
	assert_int_equal(state_of("c"), ROUTE_ACTIVE);
	buf_reset(&b);
	api_routes_json(&b);
	assert_non_null(strstr(b.data, "\"name\":\"c\",\"state\":\"active\","
	    "\"effective\":\"ready\",\"reason\":\"ttl expired\","
	    "\"actor\":\"system\""));
	buf_free(&b);
}

/* Request keys older than 24 h go, a chunk at a time; newer ones stay. */
static void
test_request_keys_trimmed(void **state)
{
	struct fixture	*f = *state;
	char		 sql[512];
	int64_t		 now = clock_wall_ms();
	int		 n;
	sqlite3		*h;
	sqlite3_stmt	*st;

	snprintf(sql, sizeof(sql), "WITH RECURSIVE k(i) AS (SELECT 1 UNION "
	    "ALL SELECT i + 1 FROM k WHERE i < 2500) INSERT INTO request_key "
	    "(actor, key, t_ms, fingerprint, status, body) SELECT 'alice', "
	    "'old' || i, %lld, 'f', 200, '{}' FROM k", (long long)(now -
	    25 * 3600 * 1000LL));
	exec_sql(f->db, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO request_key (actor, key, "
	    "t_ms, fingerprint, status, body) VALUES ('alice', 'fresh', %lld, "
	    "'f', 200, '{}')", (long long)now);
	exec_sql(f->db, sql);
	/* the keeper may take some first: it trims when it starts */
	do {
		route_wlock();
		n = route_sql_trim_requests(now);
		route_wunlock();
		assert_true(n >= 0 && n <= ROUTE_SQL_TRIM_ROWS);
	} while (n == ROUTE_SQL_TRIM_ROWS);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT group_concat(key) FROM "
	    "request_key", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "fresh");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void
test_metrics(void **state)
{
	struct buf	b;
	char		msg[256];

	buf_init(&b);
	assert_int_equal(change(1, "a", NULL, 0, 0, &b, msg, sizeof(msg)), 200);
	buf_reset(&b);
	api_metrics_routes(&b);
	assert_non_null(strstr(b.data,
	    "vantage_route_state{route=\"a\",state=\"draining\"} 1\n"));
	assert_non_null(strstr(b.data,
	    "vantage_route_state{route=\"a\",state=\"active\"} 0\n"));
	assert_non_null(strstr(b.data,
	    "vantage_route_effective{route=\"a\",effective=\"drain\"} 1\n"));
	assert_non_null(strstr(b.data,
	    "vantage_pool_active_routes{pool=\"p\"} 1\n"));
	assert_non_null(strstr(b.data,
	    "vantage_route_changes_total{route=\"a\"} 1\n"));
	assert_non_null(strstr(b.data,
	    "# TYPE vantage_route_changes_total counter\n"));
	buf_free(&b);
}

static void
test_agentcheck_line(void **state)
{
	char	name[65];

	assert_int_equal(haproxy_parse_line("web-eu\n", 7, name, sizeof(name)),
	    1);
	assert_string_equal(name, "web-eu");
	assert_int_equal(haproxy_parse_line(" web.eu_1\t\r\n", 12, name,
	    sizeof(name)), 1);
	assert_string_equal(name, "web.eu_1");
	assert_int_equal(haproxy_parse_line("web-eu", 6, name, sizeof(name)),
	    0);
	assert_int_equal(haproxy_parse_line("web eu\n", 7, name, sizeof(name)),
	    -1);
	assert_int_equal(haproxy_parse_line("\n", 1, name, sizeof(name)), -1);
	assert_int_equal(haproxy_parse_line("we\0b\n", 5, name, sizeof(name)),
	    -1);
	assert_int_equal(haproxy_parse_line("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 66, name, sizeof(name)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drain_undrain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pool_guard, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_keeps_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ttl_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_request_keys_trimmed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test(test_agentcheck_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
