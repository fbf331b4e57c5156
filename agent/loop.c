/*
 * loop.c - the agent's one event loop: epoll for descriptors, a binary
 * heap of one-shot timers, and a before-sleep hook (redis ae.c style).
 *
 * Only the main thread touches the loop.  Timers have microsecond
 * deadlines; epoll_wait sleeps in milliseconds, rounded up so a timer
 * never fires early.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vantaged.h"

/*
 * gen counts the registrations of a descriptor number and travels in the
 * epoll data with it: when a callback closes fd N and something opens
 * and adds a new N within the same epoll_wait batch, an event still
 * queued for the old N is dropped instead of reaching the new owner (a
 * connecting socket would take a stale EPOLLOUT for "connected").
 */
struct loop_fd {
	loop_fd_cb	 cb;
	void		*arg;
	uint32_t	 events;
	uint32_t	 gen;
	int		 used;
};

struct loop_timer {
	int64_t		 when_us;
	uint64_t	 seq;		/* FIFO among equal deadlines */
	size_t		 idx;		/* position in the heap */
	loop_timer_cb	 cb;
	void		*arg;
};

static int			 loop_epfd = -1;
static struct loop_fd		*loop_fds;
static size_t			 loop_nfds;
static struct loop_timer	**loop_heap;
static size_t			 loop_nheap, loop_capheap;
static uint64_t			 loop_seq;
static int			 loop_running;
static int64_t			 loop_now;
static void			(*loop_before)(void);

int64_t
clock_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
clock_wall_after(struct timespec *ts, int64_t after_us)
{
	if (after_us < 0)
		after_us = 0;
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += after_us / 1000000;
	ts->tv_nsec += (after_us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int64_t
loop_now_us(void)
{
	return loop_now != 0 ? loop_now : clock_mono_us();
}

void
loop_init(void)
{
	if (loop_epfd != -1)
		return;
	if ((loop_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("%s: epoll_create1", __func__);
	loop_now = clock_mono_us();
}

static uint64_t
loop_fd_key(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

int
loop_fd_add(int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event	ev;

	if (fd < 0)
		return -1;
	if ((size_t)fd >= loop_nfds) {
		size_t n = loop_nfds == 0 ? 64 : loop_nfds;
		while (n <= (size_t)fd)
			n *= 2;
		loop_fds = xreallocarray(loop_fds, n, sizeof(*loop_fds));
		memset(loop_fds + loop_nfds, 0,
		    (n - loop_nfds) * sizeof(*loop_fds));
		loop_nfds = n;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = loop_fd_key(fd, loop_fds[fd].gen + 1);
	if (epoll_ctl(loop_epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	loop_fds[fd].gen++;
	loop_fds[fd].cb = cb;
	loop_fds[fd].arg = arg;
	loop_fds[fd].events = events;
	loop_fds[fd].used = 1;
	return 0;
}

int
loop_fd_mod(int fd, uint32_t events)
{
	struct epoll_event	ev;

	if (fd < 0 || (size_t)fd >= loop_nfds || !loop_fds[fd].used)
		return -1;
	if (loop_fds[fd].events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = loop_fd_key(fd, loop_fds[fd].gen);
	if (epoll_ctl(loop_epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return -1;
	loop_fds[fd].events = events;
	return 0;
}

int
loop_fd_want(int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	if (events == 0) {
		loop_fd_del(fd);
		return 0;
	}
	if (fd >= 0 && (size_t)fd < loop_nfds && loop_fds[fd].used) {
		loop_fds[fd].cb = cb;
		loop_fds[fd].arg = arg;
		return loop_fd_mod(fd, events);
	}
	return loop_fd_add(fd, events, cb, arg);
}

void
loop_fd_del(int fd)
{
	if (fd < 0 || (size_t)fd >= loop_nfds || !loop_fds[fd].used)
		return;
	(void)epoll_ctl(loop_epfd, EPOLL_CTL_DEL, fd, NULL);
	loop_fds[fd].cb = NULL;
	loop_fds[fd].arg = NULL;
	loop_fds[fd].events = 0;
	loop_fds[fd].used = 0;	/* gen stays: it tells registrations apart */
}

static int
timer_less(const struct loop_timer *a, const struct loop_timer *b)
{
	if (a->when_us != b->when_us)
		return a->when_us < b->when_us;
	return a->seq < b->seq;
}

static void
heap_set(size_t i, struct loop_timer *t)
{
	loop_heap[i] = t;
	t->idx = i;
}

static void
heap_up(size_t i)
{
	struct loop_timer	*t = loop_heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!timer_less(t, loop_heap[p]))
			break;
		heap_set(i, loop_heap[p]);
		i = p;
	}
	heap_set(i, t);
}

static void
heap_down(size_t i)
{
	struct loop_timer	*t = loop_heap[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct loop_timer *best = t;

		if (l < loop_nheap && timer_less(loop_heap[l], best)) {
			m = l;
			best = loop_heap[l];
		}
		if (r < loop_nheap && timer_less(loop_heap[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(i, loop_heap[m]);
		i = m;
	}
	heap_set(i, t);
}

struct loop_timer *
loop_timer_add(int64_t after_us, loop_timer_cb cb, void *arg)
{
	struct loop_timer	*t;

	if (loop_nheap == loop_capheap) {
		loop_capheap = loop_capheap == 0 ? 64 : loop_capheap * 2;
		loop_heap = xreallocarray(loop_heap, loop_capheap,
		    sizeof(*loop_heap));
	}
	t = xcalloc(1, sizeof(*t));
	t->when_us = clock_mono_us() + (after_us > 0 ? after_us : 0);
	t->seq = loop_seq++;
	t->cb = cb;
	t->arg = arg;
	heap_set(loop_nheap++, t);
	heap_up(t->idx);
	return t;
}

static void
heap_remove(struct loop_timer *t)
{
	size_t	i = t->idx;

	if (i >= loop_nheap || loop_heap[i] != t)
		fatalx("%s: timer not in heap", __func__);
	loop_nheap--;
	if (i != loop_nheap) {
		heap_set(i, loop_heap[loop_nheap]);
		heap_down(i);
		heap_up(loop_heap[i]->idx);
	}
}

void
loop_timer_del(struct loop_timer *t)
{
	if (t == NULL)
		return;
	heap_remove(t);
	free(t);
}

void
loop_on_before_sleep(void (*fn)(void))
{
	loop_before = fn;
}

static void
loop_run_timers(void)
{
	int64_t	now = clock_mono_us();
	int	budget = 100000;	/* never starve descriptors */

	while (loop_nheap > 0 && loop_heap[0]->when_us <= now && budget-- > 0) {
		struct loop_timer	*t = loop_heap[0];
		loop_timer_cb		 cb = t->cb;
		void			*arg = t->arg;

		heap_remove(t);
		free(t);
		loop_now = now;
		cb(arg);
	}
}

void
loop_run(void)
{
	struct epoll_event	evs[256];
	int			n, i, timeout;

	loop_running = 1;
	while (loop_running) {
		if (loop_before != NULL)
			loop_before();
		if (!loop_running)
			break;
		if (loop_nheap > 0) {
			int64_t d = loop_heap[0]->when_us - clock_mono_us();
			timeout = d <= 0 ? 0 : (int)((d + 999) / 1000);
			if (timeout > 1000)
				timeout = 1000;
		} else
			timeout = 1000;
		n = epoll_wait(loop_epfd, evs, 256, timeout);
		if (n == -1 && errno != EINTR)
			fatal("%s: epoll_wait", __func__);
		loop_now = clock_mono_us();
		for (i = 0; i < n; i++) {
			int	 fd = (int)(evs[i].data.u64 & 0xffffffffu);
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);

			if ((size_t)fd >= loop_nfds || !loop_fds[fd].used ||
			    loop_fds[fd].gen != gen)
				continue;
			loop_fds[fd].cb(fd, evs[i].events, loop_fds[fd].arg);
		}
		loop_run_timers();
	}
}

void
loop_stop(void)
{
	loop_running = 0;
}

void
loop_done(void)
{
	while (loop_nheap > 0) {
		struct loop_timer *t = loop_heap[--loop_nheap];
		free(t);
	}
	free(loop_heap);
	loop_heap = NULL;
	loop_capheap = 0;
	free(loop_fds);
	loop_fds = NULL;
	loop_nfds = 0;
	if (loop_epfd != -1)
		close(loop_epfd);
	loop_epfd = -1;
}
