/*
 * test_console_matrix.c - the verdict of each link over all vantage
 * points, and the agent states it rests on: an agent that cannot be
 * asked (unreachable, bad answers, stale data) is counted apart and
 * never as seeing the link down; one still connecting is not counted.
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

static struct fleet *
mkfleet(int n)
{
	struct conf	*c = conf_new();
	char		 arg[64], err[256];
	int		 i;

	for (i = 0; i < n; i++) {
		snprintf(arg, sizeof(arg), "a%d=http://127.0.0.1:%d", i + 1,
		    10000 + i);
		assert_int_equal(conf_add_url(c, arg, err, sizeof(err)), 0);
	}
	return fleet_new(c);
}

static void
rmfleet(struct fleet *fl)
{
	struct conf	*c = fl->conf;

	fleet_free(fl);
	conf_free(c);
}

/* Gives agent i a fresh status with "name=state,..." probes. */
static void
answer(struct fleet *fl, int i, const char *probes)
{
	struct fleet_agent	*a = &fl->agents[i];
	struct buf		 b;
	char			 err[256], spec[512], *p, *tok, *save;

	buf_init(&b);
	buf_adds(&b, "{\"agent\":{\"name\":\"x\"},\"probes\":[");
	strlcpy_v(spec, probes, sizeof(spec));
	for (p = spec; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		buf_printf(&b, "%s{\"name\":\"%s\",\"type\":\"tcp\","
		    "\"state\":\"%s\"}", p == NULL ? "," : "", tok, eq + 1);
	}
	buf_adds(&b, "]}");
	if (a->status != NULL) {
		model_status_free(a->status);
		free(a->status);
	}
	a->status = calloc(1, sizeof(*a->status));
	assert_int_equal(model_parse_status(b.data, b.len, a->status, err,
	    sizeof(err)), 0);
	buf_free(&b);
	a->last_ok_ms = fetch_now_ms();
	a->fails = 0;
}

static void
breaks(struct fleet *fl, int i, enum fetch_err e)
{
	fl->agents[i].fails = 1;
	fl->agents[i].err = e;
	strlcpy_v(fl->agents[i].errmsg, "test", sizeof(fl->agents[i].errmsg));
}

static const struct matrix_link *
link_of(const struct matrix *m, const char *probe)
{
	int	i;

	for (i = 0; i < m->n_links; i++) {
		if (strcmp(m->links[i].probe, probe) == 0)
			return &m->links[i];
	}
	fail_msg("no link %s", probe);
	return NULL;
}

static void
test_verdicts(void **state)
{
	struct fleet			*fl = mkfleet(3);
	struct matrix			*m;
	const struct matrix_link	*l;

	(void)state;
	answer(fl, 0, "api=up,db=up,deg=up,unk=unknown");
	answer(fl, 1, "api=up,db=up,deg=degraded,unk=unknown");
	answer(fl, 2, "api=down,db=up,deg=up,only3=down");
	m = matrix_build(fl, fetch_now_ms());
	assert_int_equal(m->n_links, 5);
	l = link_of(m, "api");
	assert_int_equal(l->verdict, MATRIX_V_DOWN);
	assert_int_equal(l->down, 1);
	assert_int_equal(l->of, 3);
	assert_string_equal(l->text, "down from 1 of 3");
	assert_int_equal(l->cells[2], MATRIX_DOWN);
	assert_string_equal(link_of(m, "db")->text, "ok from 3 of 3");
	assert_string_equal(link_of(m, "deg")->text, "degraded from 1 of 3");
	l = link_of(m, "unk");
	assert_string_equal(l->text, "unknown from 2 of 2");
	assert_int_equal(l->cells[2], MATRIX_ABSENT);
	assert_string_equal(link_of(m, "only3")->text, "down from 1 of 1");
	matrix_free(m);
	rmfleet(fl);
}

static void
test_unreachable_apart(void **state)
{
	struct fleet			*fl = mkfleet(6);
	struct matrix			*m;
	const struct matrix_link	*l;
	int64_t				 now;

	(void)state;
	answer(fl, 0, "api=up");
	answer(fl, 1, "api=down");
	/* old data said down, but the agent does not answer now */
	answer(fl, 2, "api=down");
	breaks(fl, 2, FETCH_CONNECT);
	/* answers, but not per the contract */
	answer(fl, 3, "api=down");
	breaks(fl, 3, FETCH_BAD_JSON);
	/* stale: the last answer is too old */
	answer(fl, 4, "api=down");
	fl->agents[4].last_ok_ms -= fl->conf->stale_ms + 1000;
	/* agent 5 has not answered yet */
	now = fetch_now_ms();
	assert_int_equal(fleet_agent_state(&fl->agents[2], now),
	    FLEET_UNREACHABLE);
	assert_int_equal(fleet_agent_state(&fl->agents[3], now), FLEET_ERROR);
	assert_int_equal(fleet_agent_state(&fl->agents[4], now), FLEET_STALE);
	assert_int_equal(fleet_agent_state(&fl->agents[5], now),
	    FLEET_CONNECTING);
	m = matrix_build(fl, now);
	l = link_of(m, "api");
	assert_int_equal(l->down, 1);
	assert_int_equal(l->of, 2);
	assert_int_equal(l->unreachable, 3);
	assert_string_equal(l->text,
	    "down from 1 of 2 reachable (3 unreachable)");
	assert_int_equal(l->cells[2], MATRIX_UNREACHABLE);
	assert_int_equal(l->cells[5], MATRIX_PENDING);
	matrix_free(m);
	/* a link only an unreachable agent knows */
	answer(fl, 0, "api=up");
	answer(fl, 2, "gone=down");
	breaks(fl, 2, FETCH_TIMEOUT);
	m = matrix_build(fl, now);
	l = link_of(m, "gone");
	assert_int_equal(l->verdict, MATRIX_V_UNKNOWN);
	assert_string_equal(l->text, "no data (1 unreachable)");
	matrix_free(m);
	rmfleet(fl);
}

static void
test_skew_counts(void **state)
{
	struct fleet	*fl = mkfleet(2);
	struct matrix	*m;
	int64_t		 now = fetch_now_ms();

	(void)state;
	answer(fl, 0, "api=down");
	answer(fl, 1, "api=down");
	fl->agents[1].has_skew = 1;
	fl->agents[1].skew_ms = -9000;
	assert_int_equal(fleet_agent_state(&fl->agents[1], now), FLEET_SKEW);
	fl->agents[0].has_skew = 1;
	fl->agents[0].skew_ms = 4000;
	assert_int_equal(fleet_agent_state(&fl->agents[0], now), FLEET_OK);
	m = matrix_build(fl, now);
	assert_string_equal(m->links[0].text, "down from 2 of 2");
	matrix_free(m);
	rmfleet(fl);
}

/* The VERDICT column's form: at most 20 columns, even for 1000 agents. */
static void
test_brief(void **state)
{
	struct fleet			*fl = mkfleet(1000);
	struct matrix			*m;
	const struct matrix_link	*l;
	int				 i;

	(void)state;
	answer(fl, 0, "api=down,db=up,deg=degraded,unk=unknown");
	answer(fl, 1, "api=up,db=up,deg=up,unk=unknown");
	for (i = 2; i < 1000; i++)
		breaks(fl, i, FETCH_CONNECT);
	m = matrix_build(fl, fetch_now_ms());
	l = link_of(m, "api");
	assert_string_equal(l->brief, "DOWN 1/2 +998 unr");
	assert_string_equal(l->text,
	    "down from 1 of 2 reachable (998 unreachable)");
	assert_string_equal(link_of(m, "db")->brief, "ok 2/2 +998 unr");
	assert_string_equal(link_of(m, "deg")->brief, "deg 1/2 +998 unr");
	assert_string_equal(link_of(m, "unk")->brief, "unk 2/2 +998 unr");
	for (i = 0; i < m->n_links; i++)
		assert_true(strlen(m->links[i].brief) <= 20);
	matrix_free(m);
	/* so many that the count does not fit: the mark alone */
	for (i = 1; i < 1000; i++) {
		fl->agents[i].fails = 0;
		answer(fl, i, "api=down");
	}
	breaks(fl, 1, FETCH_CONNECT);
	m = matrix_build(fl, fetch_now_ms());
	l = link_of(m, "api");
	assert_string_equal(l->brief, "DOWN 999/999 +1 unr");
	assert_true(strlen(l->brief) <= 20);
	matrix_free(m);
	rmfleet(fl);
}

static void
test_bodies(void **state)
{
	char	*s;

	(void)state;
	static const char *const two[] = { "web-a", "web \"b\"" };
	struct fleet_change	 fc;

	memset(&fc, 0, sizeof(fc));
	fc.reason = "deploy \"42\"\n";
	fc.ttl_ms = 90 * 60000;
	fc.force = 1;
	s = fleet_change_body(&fc, NULL, 0);
	assert_string_equal(s, "{\"reason\":\"deploy \\\"42\\\"\\n\","
	    "\"ttl_s\":5400,\"mode\":\"drain\",\"force\":true}");
	free(s);
	/* no ttl given: absent; --no-ttl: 0 (removes an expiry) */
	memset(&fc, 0, sizeof(fc));
	fc.reason = "x";
	fc.ttl_ms = -1;
	fc.maint = 1;
	s = fleet_change_body(&fc, NULL, 0);
	assert_string_equal(s, "{\"reason\":\"x\",\"mode\":\"maint\","
	    "\"force\":false}");
	free(s);
	fc.ttl_ms = 0;
	fc.maint = 0;
	fc.update = 1;
	s = fleet_change_body(&fc, two, 2);
	assert_string_equal(s, "{\"routes\":[\"web-a\",\"web \\\"b\\\"\"],"
	    "\"reason\":\"x\",\"ttl_s\":0,\"mode\":\"drain\",\"force\":false,"
	    "\"update\":true}");
	free(s);
	/* an update may keep the reason */
	fc.reason = NULL;
	fc.ttl_ms = 60000;
	s = fleet_change_body(&fc, NULL, 0);
	assert_string_equal(s, "{\"update\":true,\"ttl_s\":60,\"mode\":"
	    "\"drain\",\"force\":false}");
	free(s);
	memset(&fc, 0, sizeof(fc));
	fc.undrain = 1;
	fc.reason = "done";
	fc.ttl_ms = -1;
	s = fleet_change_body(&fc, two, 1);
	assert_string_equal(s, "{\"routes\":[\"web-a\"],\"reason\":\"done\"}");
	free(s);
	s = fleet_path("routes", "web eu/1", "drain");
	assert_string_equal(s, "/v1/routes/web%20eu%2F1/drain");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_unreachable_apart),
		cmocka_unit_test(test_skew_counts),
		cmocka_unit_test(test_brief),
		cmocka_unit_test(test_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
