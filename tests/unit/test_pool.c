/*
 * test_pool.c - the pool guard the agent enforces and the console
 * previews: down probes, maint and draining routes, mixed pools, batches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pool.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* Two routes, both with a down probe: nothing takes traffic, so a drain
 * weakens nothing (the console once showed "keeps -1 of 2"). */
static void
test_down_probes(void **state)
{
	struct pool_member	m[] = {
		{ "web", 1, 1, 1 },
		{ "web", 1, 1, 0 },
	};
	struct pool_outcome	o;
	char			buf[200];

	pool_count(m, N(m), "web", 1, &o);
	assert_int_equal(o.size, 2);
	assert_int_equal(o.before, 0);
	assert_int_equal(o.after, 0);
	assert_int_equal(o.weakened, 0);
	assert_int_equal(pool_trips(&o, 1, 1), 0);
	pool_describe(&o, "web", 1, buf, sizeof(buf));
	assert_string_equal(buf, "pool web would keep 0 of 2 routes taking "
	    "traffic (now 0, min_active 1)");
	/* undrain of a route whose probe is down brings nothing back */
	pool_count(m, N(m), "web", 0, &o);
	assert_int_equal(o.after, 0);
}

static void
test_mixed(void **state)
{
	struct pool_member	m[] = {
		{ "web", 1, 0, 1 },	/* ready, drained now */
		{ "web", 0, 0, 0 },	/* draining already */
		{ "web", 0, 1, 0 },	/* maint with a down probe */
		{ "web", 1, 0, 0 },	/* ready, stays */
		{ "db", 1, 0, 1 },	/* other pool */
		{ NULL, 1, 0, 1 },	/* no pool */
	};
	struct pool_outcome	o;

	pool_count(m, N(m), "web", 1, &o);
	assert_int_equal(o.size, 4);
	assert_int_equal(o.before, 2);
	assert_int_equal(o.after, 1);
	assert_int_equal(o.selected, 1);
	assert_int_equal(o.weakened, 1);
	assert_int_equal(pool_trips(&o, 1, 1), 0);
	assert_int_equal(pool_trips(&o, 2, 1), 1);
	pool_count(m, N(m), "db", 1, &o);
	assert_int_equal(o.size, 1);
	assert_int_equal(o.after, 0);
	assert_int_equal(pool_trips(&o, 1, 1), 1);
	pool_count(m, N(m), NULL, 1, &o);
	assert_int_equal(o.size, 0);
}

/* A batch: each drain alone keeps min_active, both together do not. */
static void
test_batch(void **state)
{
	struct pool_member	m[] = {
		{ "web", 1, 0, 1 },
		{ "web", 1, 0, 1 },
	};
	struct pool_outcome	o;

	pool_count(m, N(m), "web", 1, &o);
	assert_int_equal(o.after, 0);
	assert_int_equal(pool_trips(&o, 1, 1), 1);
	m[1].selected = 0;
	pool_count(m, N(m), "web", 1, &o);
	assert_int_equal(o.after, 1);
	assert_int_equal(pool_trips(&o, 1, 1), 0);
}

/* Draining a route that takes no traffic never trips; undrain never. */
static void
test_no_weakening(void **state)
{
	struct pool_member	m[] = {
		{ "web", 0, 0, 1 },	/* draining -> maint */
		{ "web", 1, 1, 0 },
	};
	struct pool_outcome	o;

	pool_count(m, N(m), "web", 1, &o);
	assert_int_equal(o.before, 0);
	assert_int_equal(pool_trips(&o, 2, 1), 0);
	pool_count(m, N(m), "web", 0, &o);
	assert_int_equal(o.after, 1);
	assert_int_equal(pool_trips(&o, 2, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_probes),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_no_weakening),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
