/*
 * test_loop.c - the event loop's timer heap and descriptor dispatch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "vantaged.h"

static int	order[64];
static int	norder;

static void
record(void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
	if (norder == 5)
		loop_stop();
}

static void
test_timers_fire_in_order(void **state)
{
	struct loop_timer	*gone;

	loop_init();
	norder = 0;
	(void)loop_timer_add(30000, record, (void *)3);
	(void)loop_timer_add(10000, record, (void *)1);
	gone = loop_timer_add(15000, record, (void *)99);
	(void)loop_timer_add(20000, record, (void *)2);
	(void)loop_timer_add(40000, record, (void *)4);
	(void)loop_timer_add(40000, record, (void *)5);	/* FIFO on ties */
	loop_timer_del(gone);
	loop_run();
	assert_int_equal(norder, 5);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	assert_int_equal(order[3], 4);
	assert_int_equal(order[4], 5);
	loop_done();
}

static void
test_many_timers_with_deletes(void **state)
{
	struct loop_timer	*t[1000];
	int			 i;

	loop_init();
	norder = 0;
	for (i = 0; i < 1000; i++)
		t[i] = loop_timer_add((int64_t)((i * 7919) % 1000) * 1000 +
		    100000, record, (void *)(intptr_t)i);
	for (i = 0; i < 1000; i++) {
		if (i % 200 != 0)
			loop_timer_del(t[i]);
	}
	loop_run();	/* the five kept timers stop the loop */
	assert_int_equal(norder, 5);
	for (i = 1; i < 5; i++) {
		int a = (order[i - 1] * 7919) % 1000;
		int b = (order[i] * 7919) % 1000;
		assert_true(a <= b);
	}
	loop_done();
}

static int	pipe_hits;

static void
on_pipe(int fd, uint32_t events, void *arg)
{
	char	c;

	assert_true((events & EPOLLIN) != 0);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'x');
	pipe_hits++;
	loop_fd_del(fd);
	loop_stop();
}

static void
test_fd_dispatch(void **state)
{
	int	p[2];

	loop_init();
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_fd_add(p[0], EPOLLIN, on_pipe, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	pipe_hits = 0;
	loop_run();
	assert_int_equal(pipe_hits, 1);
	close(p[0]);
	close(p[1]);
	loop_done();
}

/*
 * A callback closes a descriptor whose event is still queued in the same
 * epoll batch, and the number is reused at once: the queued event must
 * not reach the new owner.
 */
static int	reuse_fds[2], reuse_new[2], reuse_first, stale_hits;

static void
on_stale(int fd, uint32_t events, void *arg)
{
	stale_hits++;
}

static void
on_reuse(int fd, uint32_t events, void *arg)
{
	int	other;

	if (reuse_first++ > 0)
		return;
	other = fd == reuse_fds[0] ? reuse_fds[1] : reuse_fds[0];
	loop_fd_del(other);
	close(other);
	assert_int_equal(pipe(reuse_new), 0);
	assert_int_equal(reuse_new[0], other);	/* the number came back */
	assert_int_equal(loop_fd_add(reuse_new[0], EPOLLIN, on_stale, NULL),
	    0);
	loop_stop();
}

static void
test_fd_reuse_in_batch(void **state)
{
	int	a[2], b[2];

	loop_init();
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	reuse_fds[0] = a[0];
	reuse_fds[1] = b[0];
	assert_int_equal(loop_fd_add(a[0], EPOLLIN, on_reuse, NULL), 0);
	assert_int_equal(loop_fd_add(b[0], EPOLLIN, on_reuse, NULL), 0);
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	reuse_first = stale_hits = 0;
	loop_run();
	assert_int_equal(reuse_first, 1);
	assert_int_equal(stale_hits, 0);
	loop_fd_del(reuse_new[0]);
	loop_fd_del(a[0] == reuse_new[0] ? b[0] : a[0]);
	close(reuse_new[0]);
	close(reuse_new[1]);
	close(a[0] == reuse_new[0] ? b[0] : a[0]);
	close(a[1]);
	close(b[1]);
	loop_done();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order),
		cmocka_unit_test(test_many_timers_with_deletes),
		cmocka_unit_test(test_fd_dispatch),
		cmocka_unit_test(test_fd_reuse_in_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
