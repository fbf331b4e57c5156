/*
 * probe_tcp.c - "tcp" probes: a non-blocking connect to host:port.  OK
 * when the three-way handshake completes; the error says how it failed
 * (refused, unreachable, timeout is the engine's).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vantaged.h"

struct tcp_run {
	int			 fd;
	struct resolve_req	*rq;
	int64_t			 resolved_us;
};

static void
tcp_close(struct tcp_run *t)
{
	if (t == NULL)
		return;
	if (t->rq != NULL) {
		resolve_cancel(t->rq);
		t->rq = NULL;
	}
	if (t->fd != -1) {
		loop_fd_del(t->fd);
		close(t->fd);
		t->fd = -1;
	}
}

static void
tcp_finish(struct probe_run *run, enum probe_status st, const char *err)
{
	struct tcp_run	*t = run->priv;

	tcp_close(t);
	free(t);
	run->priv = NULL;
	probe_done(run, st, "%s", err != NULL ? err : "");
}

static void
tcp_on_connect(int fd, uint32_t events, void *arg)
{
	struct probe_run	*run = arg;
	struct tcp_run		*t = run->priv;
	int			 soerr = 0;
	socklen_t		 len = sizeof(soerr);
	char			 err[128];

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr == 0 && (events & (EPOLLERR | EPOLLHUP)) != 0)
		soerr = ECONNRESET;
	run->res.connect_us = clock_mono_us() - t->resolved_us;
	if (soerr != 0) {
		snprintf(err, sizeof(err), "connect: %s", strerror(soerr));
		tcp_finish(run, PROBE_FAIL, err);
		return;
	}
	tcp_finish(run, PROBE_OK, NULL);
}

static void
tcp_on_resolved(void *arg, const struct sockaddr_storage *ss, socklen_t len,
    const char *rerr)
{
	struct probe_run	*run = arg;
	struct tcp_run		*t = run->priv;
	char			 err[160];

	t->rq = NULL;
	t->resolved_us = clock_mono_us();
	if (ss == NULL) {
		run->res.dns_us = t->resolved_us - run->start_us;
		tcp_finish(run, PROBE_FAIL, rerr);
		return;
	}
	if (t->resolved_us - run->start_us > 100)
		run->res.dns_us = t->resolved_us - run->start_us;
	if ((t->fd = net_socket(ss, SOCK_STREAM, 0, err, sizeof(err))) == -1) {
		tcp_finish(run, PROBE_FAIL, err);
		return;
	}
	if (connect(t->fd, (const struct sockaddr *)ss, len) == 0) {
		run->res.connect_us = clock_mono_us() - t->resolved_us;
		tcp_finish(run, PROBE_OK, NULL);
		return;
	}
	if (errno != EINPROGRESS) {
		snprintf(err, sizeof(err), "connect: %s", strerror(errno));
		tcp_finish(run, PROBE_FAIL, err);
		return;
	}
	if (loop_fd_add(t->fd, EPOLLOUT, tcp_on_connect, run) == -1) {
		snprintf(err, sizeof(err), "epoll: %s", strerror(errno));
		tcp_finish(run, PROBE_FAIL, err);
	}
}

static void
tcp_start(struct probe_run *run)
{
	struct tcp_run		*t;
	struct resolve_req	*rq;
	char			 host[256], err[160];
	int			 port = -1;

	t = xcalloc(1, sizeof(*t));
	t->fd = -1;
	run->priv = t;
	if (net_split_target(run->conf->target, host, sizeof(host), &port, 0,
	    err, sizeof(err)) == -1 || port == 0) {
		tcp_finish(run, PROBE_FAIL, port == 0 ? "no port" : err);
		return;
	}
	/*
	 * A numeric or /etc/hosts target calls back at once and may finish
	 * (and free) the run before resolve_start returns NULL: touch t only
	 * when the lookup is still pending.
	 */
	if ((rq = resolve_start(host, port, tcp_on_resolved, run)) != NULL)
		t->rq = rq;
}

static void
tcp_abort(struct probe_run *run)
{
	struct tcp_run	*t = run->priv;

	tcp_close(t);
	free(t);
	run->priv = NULL;
}

static int
tcp_check(const struct probe_conf *c, char *err, size_t errlen)
{
	char	host[256];
	int	port;

	if (net_split_target(c->target, host, sizeof(host), &port, 0, err,
	    errlen) == -1)
		return -1;
	if (port == 0) {
		snprintf(err, errlen, "target '%s' needs a port (host:port)",
		    c->target);
		return -1;
	}
	return 0;
}

const struct probe_type probe_tcp_type = {
	.name = "tcp",
	.check = tcp_check,
	.start = tcp_start,
	.abort = tcp_abort,
};
