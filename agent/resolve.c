/*
 * resolve.c - non-blocking name resolution for the probes that connect to
 * a host by name (tcp, tls, ssh, icmp).
 *
 * Numeric addresses answer at once (net_sockaddr()), and so do /etc/hosts
 * names: c-ares looks at the file first and calls back from inside
 * ares_getaddrinfo().  Other names go to DNS on one shared c-ares channel
 * whose sockets and timeouts are driven by the agent's epoll loop: c-ares
 * tells us which sockets to watch through its socket-state callback, and
 * one loop timer follows ares_timeout().
 *
 * The channel is made on first use and destroyed once it has been idle for
 * RESOLVE_IDLE_US: c-ares 1.18 reads /etc/resolv.conf only when a channel
 * is made, so this is how a changed resolver config reaches a long-running
 * agent without a restart.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "vantaged.h"

#define RESOLVE_IDLE_US		(30 * 1000000LL)

struct resolve_req {
	resolve_cb	 cb;
	void		*arg;
	int		 port;
	int		 cancelled;	/* the caller no longer wants it */
	int		 starting;	/* inside resolve_start() */
	int		 answered;	/* called back inside resolve_start() */
	char		 host[256];
};

static ares_channel		 resolve_channel;
static int			 resolve_inited;	/* ares_library_init */
static int			 resolve_pending;	/* queries c-ares holds */
static struct loop_timer	*resolve_timer;		/* ares_timeout() */
static struct loop_timer	*resolve_idle;		/* channel teardown */

static void	resolve_rearm(void);

static void
resolve_fd_cb(int fd, uint32_t events, void *arg)
{
	ares_socket_t	rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	if (resolve_channel == NULL)
		return;
	/* An error is reported to c-ares as readiness: its read sees it. */
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rfd = fd;
	if (events & (EPOLLOUT | EPOLLERR))
		wfd = fd;
	ares_process_fd(resolve_channel, rfd, wfd);
	resolve_rearm();
}

static void
resolve_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	uint32_t	ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	/* no interest: c-ares is about to close fd */
	if (loop_fd_want(fd, ev, resolve_fd_cb, NULL) == -1)
		log_warn("%s: epoll fd %d", __func__, (int)fd);
}

static void
resolve_timer_cb(void *arg)
{
	resolve_timer = NULL;
	if (resolve_channel == NULL)
		return;
	/* No descriptor: c-ares only expires queries that timed out. */
	ares_process_fd(resolve_channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolve_rearm();
}

static void
resolve_idle_cb(void *arg)
{
	resolve_idle = NULL;
	if (resolve_pending > 0 || resolve_channel == NULL)
		return;
	ares_destroy(resolve_channel);
	resolve_channel = NULL;
}

/* Follows c-ares's next deadline; starts the idle clock when none. */
static void
resolve_rearm(void)
{
	struct timeval	tv, *tvp;

	if (resolve_timer != NULL) {
		loop_timer_del(resolve_timer);
		resolve_timer = NULL;
	}
	if (resolve_channel == NULL)
		return;
	if (resolve_pending == 0) {
		if (resolve_idle == NULL)
			resolve_idle = loop_timer_add(RESOLVE_IDLE_US,
			    resolve_idle_cb, NULL);
		return;
	}
	if ((tvp = ares_timeout(resolve_channel, NULL, &tv)) == NULL)
		return;
	resolve_timer = loop_timer_add((int64_t)tvp->tv_sec * 1000000 +
	    tvp->tv_usec, resolve_timer_cb, NULL);
}

static int
resolve_channel_get(char *err, size_t errlen)
{
	struct ares_options	opts;
	int			rc;

	if (resolve_idle != NULL) {
		loop_timer_del(resolve_idle);
		resolve_idle = NULL;
	}
	if (resolve_channel != NULL)
		return 0;
	if (!resolve_inited) {
		if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) !=
		    ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
			return -1;
		}
		resolve_inited = 1;
	}
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = resolve_sock_state;
	opts.sock_state_cb_data = NULL;
	/*
	 * Hosts file first, then DNS.  net_sockaddr() has looked at the
	 * file already, but c-ares's own look-up answers inside
	 * ares_getaddrinfo() too, so a hosts name never waits either way.
	 */
	opts.lookups = (char *)"fb";
	rc = ares_init_options(&resolve_channel, &opts,
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS);
	if (rc != ARES_SUCCESS) {
		resolve_channel = NULL;
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return -1;
	}
	return 0;
}

static void
resolve_answer(void *arg, int status, int timeouts,
    struct ares_addrinfo *ai)
{
	struct resolve_req	*rq = arg;
	struct ares_addrinfo_node *n = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 len = 0;
	char			 err[512];	/* cut to PROBE_ERR_LEN later */

	resolve_pending--;
	if (rq->cancelled)
		goto done;
	memset(&ss, 0, sizeof(ss));
	if (status == ARES_SUCCESS && ai != NULL) {
		/* c-ares sorts the nodes (RFC 6724): take the first usable. */
		for (n = ai->nodes; n != NULL; n = n->ai_next) {
			if ((n->ai_family == AF_INET ||
			    n->ai_family == AF_INET6) &&
			    (size_t)n->ai_addrlen <= sizeof(ss))
				break;
		}
	}
	if (n != NULL) {
		memcpy(&ss, n->ai_addr, (size_t)n->ai_addrlen);
		len = (socklen_t)n->ai_addrlen;
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port =
			    htons((uint16_t)rq->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons((uint16_t)rq->port);
		rq->cb(rq->arg, &ss, len, NULL);
	} else {
		if (status == ARES_SUCCESS)
			snprintf(err, sizeof(err), "resolve %s: no address",
			    rq->host);
		else
			snprintf(err, sizeof(err), "resolve %s: %s", rq->host,
			    ares_strerror(status));
		rq->cb(rq->arg, NULL, 0, err);
	}
 done:
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	if (rq->starting)
		rq->answered = 1;	/* resolve_start() frees it */
	else
		free(rq);
}

struct resolve_req *
resolve_start(const char *host, int port, resolve_cb cb, void *arg)
{
	struct resolve_req		*rq;
	struct ares_addrinfo_hints	 hints;
	struct sockaddr_storage		 ss;
	socklen_t			 len;
	char				 err[512], e[160];

	switch (net_sockaddr(host, port, &ss, &len, e, sizeof(e))) {
	case 0:
		cb(arg, &ss, len, NULL);
		return NULL;
	case 1:
		break;
	default:
		snprintf(err, sizeof(err), "resolve %s", e);
		cb(arg, NULL, 0, err);
		return NULL;
	}
	if (resolve_channel_get(e, sizeof(e)) == -1) {
		snprintf(err, sizeof(err), "resolve %s: %s", host, e);
		cb(arg, NULL, 0, err);
		return NULL;
	}
	rq = xcalloc(1, sizeof(*rq));
	rq->cb = cb;
	rq->arg = arg;
	rq->port = port;
	strlcpy_v(rq->host, host, sizeof(rq->host));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;

	/* c-ares may answer inside ares_getaddrinfo() (bad name, no mem). */
	rq->starting = 1;
	resolve_pending++;
	ares_getaddrinfo(resolve_channel, host, NULL, &hints, resolve_answer,
	    rq);
	rq->starting = 0;
	resolve_rearm();
	if (rq->answered) {
		free(rq);
		return NULL;
	}
	return rq;
}

void
resolve_cancel(struct resolve_req *rq)
{
	/*
	 * c-ares offers no way to cancel one query of a shared channel:
	 * the request stays until c-ares answers or times it out, then is
	 * freed without calling back.
	 */
	if (rq != NULL)
		rq->cancelled = 1;
}
