/*
 * net.c - socket helpers the socket-level probes share: target splitting,
 * non-blocking address lookup (numeric and /etc/hosts only; DNS goes
 * through resolve.c), non-blocking sockets, addresses as text, and
 * net_connect(): resolve and connect in the loop, with the dns_us and
 * connect_us phases recorded, for the stream probes (tcp, tls, ssh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ares.h>

#include "vantaged.h"

int
net_split_target(const char *target, char *host, size_t hostlen, int *port,
    int default_port, char *err, size_t errlen)
{
	const char	*colon;

	/* A bare host or a bare IPv6 address takes the default port. */
	colon = strrchr(target, ':');
	if (target[0] != '[' && (colon == NULL ||
	    memchr(target, ':', (size_t)(colon - target)) != NULL)) {
		if (strlen(target) >= hostlen || target[0] == '\0') {
			snprintf(err, errlen, "bad host '%s'", target);
			return -1;
		}
		strlcpy_v(host, target, hostlen);
		*port = default_port;
		return 0;
	}
	if (target[0] == '[' && strchr(target, ']') != NULL &&
	    strchr(target, ']')[1] == '\0') {
		size_t n = strlen(target) - 2;
		if (n == 0 || n >= hostlen) {
			snprintf(err, errlen, "bad host '%s'", target);
			return -1;
		}
		memcpy(host, target + 1, n);
		host[n] = '\0';
		*port = default_port;
		return 0;
	}
	if (parse_hostport(target, host, hostlen, port, err, errlen) == -1)
		return -1;
	if (host[0] == '\0') {
		snprintf(err, errlen, "'%s' has no host", target);
		return -1;
	}
	return 0;
}

/*
 * c-ares 1.18 answers "not found" for hosts-file lookups without a
 * channel, so one channel is kept for them (it reads resolv.conf once and
 * never sends a query).
 */
static ares_channel	net_hosts_ch;
static int		net_hosts_tried;

static ares_channel
net_hosts_channel(void)
{
	if (!net_hosts_tried) {
		net_hosts_tried = 1;
		if (ares_init(&net_hosts_ch) != ARES_SUCCESS)
			net_hosts_ch = NULL;
	}
	return net_hosts_ch;
}

void
net_done(void)
{
	if (net_hosts_ch != NULL)
		ares_destroy(net_hosts_ch);
	net_hosts_ch = NULL;
	net_hosts_tried = 0;
}

int
net_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len, char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct hostent		*he = NULL;
	ares_channel		 ch;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	/* /etc/hosts is a local file: reading it never waits on the net. */
	ch = net_hosts_channel();
	if (ch != NULL && ares_gethostbyname_file(ch, host, AF_INET, &he) ==
	    ARES_SUCCESS && he != NULL && he->h_addr_list[0] != NULL) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, he->h_addr_list[0], sizeof(sin->sin_addr));
		*len = sizeof(*sin);
		ares_free_hostent(he);
		return 0;
	}
	if (he != NULL)
		ares_free_hostent(he);
	he = NULL;
	if (ch != NULL && ares_gethostbyname_file(ch, host, AF_INET6, &he) ==
	    ARES_SUCCESS && he != NULL && he->h_addr_list[0] != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, he->h_addr_list[0],
		    sizeof(sin6->sin6_addr));
		*len = sizeof(*sin6);
		ares_free_hostent(he);
		return 0;
	}
	if (he != NULL)
		ares_free_hostent(he);
	if (host[0] == '\0' || strlen(host) > 253) {
		snprintf(err, errlen, "bad host name '%s'", host);
		return -1;
	}
	return 1;
}

int
net_socket(const struct sockaddr_storage *ss, int type, int proto, char *err,
    size_t errlen)
{
	int	fd;

	fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd == -1)
		snprintf(err, errlen, "socket: %s", strerror(errno));
	return fd;
}

void
net_addr_str(const struct sockaddr_storage *ss, socklen_t sslen, int port,
    char *out, size_t outlen)
{
	char	a[INET6_ADDRSTRLEN];

	if (getnameinfo((const struct sockaddr *)ss, sslen, a, sizeof(a),
	    NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy_v(a, "?", sizeof(a));
	snprintf(out, outlen, ss->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
	    a, port);
}

/*
 * net_connect(): the first half of every stream probe.  The handle lives
 * from net_connect() until cb runs or net_connect_cancel(); cb runs once,
 * after the handle is gone, so cb may finish (and free) the run.
 */
struct net_conn {
	struct probe_run	*run;
	net_connect_cb		 cb;
	int			 flags;
	int			 port;
	struct resolve_req	*rq;
	int			 fd;
	int			 starting;	/* inside net_connect() */
	int			 answered;	/* cb ran inside net_connect() */
	int64_t			 connect_us;	/* connect() time */
	char			 addr[INET6_ADDRSTRLEN + 8];
};

/* Releases what c holds; safe to repeat. */
static void
net_conn_close(struct net_conn *c)
{
	if (c->rq != NULL) {
		resolve_cancel(c->rq);
		c->rq = NULL;
	}
	if (c->fd != -1) {
		loop_fd_del(c->fd);
		close(c->fd);
		c->fd = -1;
	}
}

/* The one way out: hands the fd (or err) over, then c is gone. */
static void
net_conn_end(struct net_conn *c, const char *err)
{
	struct probe_run	*run = c->run;
	net_connect_cb		 cb = c->cb;
	int			 fd = -1;

	if (err == NULL) {
		loop_fd_del(c->fd);
		fd = c->fd;
		c->fd = -1;
	}
	net_conn_close(c);
	if (c->starting)
		c->answered = 1;	/* net_connect() frees it */
	else
		free(c);
	cb(run, fd, err);
}

static void
net_conn_failed(struct net_conn *c, int e)
{
	char	err[PROBE_ERR_LEN];

	if (c->flags & NET_CONNECT_ERR_ADDR)
		snprintf(err, sizeof(err), "connect %s: %s", c->addr,
		    strerror(e));
	else
		snprintf(err, sizeof(err), "connect: %s", strerror(e));
	net_conn_end(c, err);
}

static void
net_conn_io(int fd, uint32_t events, void *arg)
{
	struct net_conn	*c = arg;
	int		 soerr = 0;
	socklen_t	 len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr == 0 && (events & (EPOLLERR | EPOLLHUP)) != 0)
		soerr = ECONNRESET;
	if (soerr == 0 || (c->flags & NET_CONNECT_FAIL_TIME))
		c->run->res.connect_us = clock_mono_us() - c->connect_us;
	if (soerr != 0) {
		net_conn_failed(c, soerr);
		return;
	}
	net_conn_end(c, NULL);
}

static void
net_conn_resolved(void *arg, const struct sockaddr_storage *ss,
    socklen_t sslen, const char *rerr)
{
	struct net_conn		*c = arg;
	struct probe_run	*run = c->run;
	char			 err[PROBE_ERR_LEN];
	int64_t			 now = clock_mono_us(), dns;

	c->rq = NULL;
	/*
	 * An address known at once (numeric, /etc/hosts) had no DNS phase;
	 * a failed lookup did, however quick.  SLOW_DNS (tcp) goes by the
	 * time taken instead.
	 */
	dns = now - run->start_us;
	if (ss == NULL || ((c->flags & NET_CONNECT_SLOW_DNS) ? dns > 100 :
	    !c->starting))
		run->res.dns_us = dns;
	if (ss == NULL) {
		net_conn_end(c, rerr != NULL ? rerr : "cannot resolve");
		return;
	}
	if (c->flags & NET_CONNECT_ERR_ADDR)
		net_addr_str(ss, sslen, c->port, c->addr, sizeof(c->addr));
	if ((c->fd = net_socket(ss, SOCK_STREAM, 0, err, sizeof(err))) == -1) {
		net_conn_end(c, err);
		return;
	}
	c->connect_us = clock_mono_us();
	if (connect(c->fd, (const struct sockaddr *)ss, sslen) == 0) {
		run->res.connect_us = clock_mono_us() - c->connect_us;
		net_conn_end(c, NULL);
		return;
	}
	if (errno != EINPROGRESS) {
		net_conn_failed(c, errno);
		return;
	}
	if (loop_fd_add(c->fd, EPOLLOUT, net_conn_io, c) == -1) {
		snprintf(err, sizeof(err), "epoll: %s", strerror(errno));
		net_conn_end(c, err);
	}
}

struct net_conn *
net_connect(const char *host, int port, int flags, struct probe_run *run,
    net_connect_cb cb)
{
	struct net_conn		*c;
	struct resolve_req	*rq;

	c = xcalloc(1, sizeof(*c));
	c->run = run;
	c->cb = cb;
	c->flags = flags;
	c->port = port;
	c->fd = -1;
	/* resolve_start() may call back, and cb finish the run, at once. */
	c->starting = 1;
	rq = resolve_start(host, port, net_conn_resolved, c);
	c->starting = 0;
	if (c->answered) {
		free(c);
		return NULL;
	}
	c->rq = rq;
	return c;
}

void
net_connect_cancel(struct net_conn *c)
{
	if (c == NULL)
		return;
	net_conn_close(c);
	free(c);
}

/*
 * Reads whatever the peer sent last (at most 64 KiB, never waiting), so
 * that close() ends the connection with FIN rather than RST and the
 * target logs a clean disconnect.
 */
void
net_drain(int fd)
{
	char	buf[4096];
	int	i;

	for (i = 0; i < 16; i++) {
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
	}
}
