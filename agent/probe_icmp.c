/*
 * probe_icmp.c - "icmp" probes: one echo request to the target; the
 * latency is the round-trip time (name resolution is in dns_us).
 *
 * Linux ping sockets (SOCK_DGRAM with IPPROTO_ICMP or IPPROTO_ICMPV6) need
 * no privilege when net.ipv4.ping_group_range includes our group; the
 * kernel then fills in the checksum and the echo id.  When they are refused
 * a raw socket is tried, which works with CAP_NET_RAW; with neither, the
 * result says which of the two to grant.
 *
 * The kernel rewrites the id on ping sockets and a raw socket sees every
 * echo reply of the host, so a reply is ours when its sequence number and
 * its payload (a magic word and a per-run cookie) are the ones we sent.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vantaged.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER	1	/* linux/icmp.h: SOL_RAW option, IPv4 */
#endif

#define ICMP_HDR_LEN	8
#define ICMP_MAGIC	"vantaged"
#define ICMP_DATA_LEN	(sizeof(ICMP_MAGIC) - 1 + 8)

struct icmp_run {
	struct probe_run	*run;
	struct resolve_req	*rq;
	int			 fd;
	int			 raw;		/* raw socket, not ping socket */
	int			 v6;
	int			 starting;	/* inside icmp_start() */
	uint16_t		 id;		/* raw sockets only */
	uint16_t		 seq;
	unsigned char		 data[ICMP_DATA_LEN];
	int64_t			 sent_us;
	char			 host[256];
	char			 addr[INET6_ADDRSTRLEN];
};

static uint16_t	icmp_seq_next;
static uint64_t	icmp_cookie_next;

static void
icmp_close(struct icmp_run *t)
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

/* "ping www.example.com (10.0.0.1)" or "ping 10.0.0.1" for messages. */
static void
icmp_what(const struct icmp_run *t, char *out, size_t outlen)
{
	if (strcmp(t->host, t->addr) == 0 || t->addr[0] == '\0')
		snprintf(out, outlen, "ping %s", t->host);
	else
		snprintf(out, outlen, "ping %s (%s)", t->host, t->addr);
}

static void
icmp_fail_errno(struct probe_run *run, const char *op, int e)
{
	struct icmp_run	*t = run->priv;
	char		 what[320], err[400];

	icmp_what(t, what, sizeof(what));
	snprintf(err, sizeof(err), "%s: %s%s", what, op, strerror(e));
	probe_finish(run, PROBE_FAIL, "%s", err);
}

/* RFC 1071; only raw IPv4 needs it (the kernel does the others). */
static uint16_t
icmp_cksum(const unsigned char *p, size_t len)
{
	uint32_t	sum = 0;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len == 1)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Is pkt (ICMP header on) the echo reply to our request? */
static int
icmp_is_ours(const struct icmp_run *t, const unsigned char *pkt, size_t len)
{
	uint8_t		want = t->v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
	uint16_t	id, seq;

	if (len != ICMP_HDR_LEN + ICMP_DATA_LEN || pkt[0] != want ||
	    pkt[1] != 0)
		return 0;
	id = (uint16_t)(pkt[4] << 8 | pkt[5]);
	seq = (uint16_t)(pkt[6] << 8 | pkt[7]);
	if (seq != t->seq || (t->raw && id != t->id))
		return 0;
	return memcmp(pkt + ICMP_HDR_LEN, t->data, ICMP_DATA_LEN) == 0;
}

static void
icmp_on_read(int fd, uint32_t events, void *arg)
{
	struct probe_run	*run = arg;
	struct icmp_run		*t = run->priv;
	unsigned char		 buf[1500];
	const unsigned char	*pkt;
	ssize_t			 n;
	size_t			 len, ihl;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* an ICMP error for our connected socket */
			icmp_fail_errno(run, "", errno);
			return;
		}
		pkt = buf;
		len = (size_t)n;
		if (t->raw && !t->v6) {
			/* raw IPv4 sockets read the IP header too */
			if (len < 20 || (ihl = (size_t)(buf[0] & 0x0f) * 4) <
			    20 || ihl > len)
				continue;
			pkt += ihl;
			len -= ihl;
		}
		if (!icmp_is_ours(t, pkt, len))
			continue;
		run->res.latency_us = clock_mono_us() - t->sent_us;
		probe_finish(run, PROBE_OK, NULL);
		return;
	}
}

/* A ping socket, else a raw one; -1 + err naming what to change. */
static int
icmp_socket(struct icmp_run *t, int family, char *err, size_t errlen)
{
	int	proto = t->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, fd;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd != -1)
		return fd;
	if (errno != EACCES && errno != EPERM) {
		snprintf(err, errlen, "ping socket: %s", strerror(errno));
		return -1;
	}
	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd == -1) {
		if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen, "ping sockets not allowed for "
			    "gid %u: set net.ipv4.ping_group_range (sysctl) "
			    "to include it, or grant CAP_NET_RAW",
			    (unsigned)getegid());
		else
			snprintf(err, errlen, "raw socket: %s",
			    strerror(errno));
		return -1;
	}
	t->raw = 1;
	/* Only echo replies wake us, not every ICMP packet of the host. */
	if (t->v6) {
		struct icmp6_filter	f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f,
		    sizeof(f));
	} else {
		uint32_t	mask = ~(1U << ICMP_ECHOREPLY);

		(void)setsockopt(fd, SOL_RAW, ICMP_FILTER, &mask,
		    sizeof(mask));
	}
	return fd;
}

static void
icmp_on_resolved(void *arg, const struct sockaddr_storage *ss, socklen_t len,
    const char *rerr)
{
	struct probe_run	*run = arg;
	struct icmp_run		*t = run->priv;
	unsigned char		 pkt[ICMP_HDR_LEN + ICMP_DATA_LEN];
	char			 err[300];
	int64_t			 now = clock_mono_us();
	uint64_t		 cookie;

	t->rq = NULL;
	/* Only a look-up that had to wait is a DNS phase. */
	if (!t->starting)
		run->res.dns_us = now - run->start_us;
	if (ss == NULL) {
		probe_finish(run, PROBE_FAIL, "%s", rerr != NULL ? rerr : "");
		return;
	}
	t->v6 = ss->ss_family == AF_INET6;
	if (t->v6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    t->addr, sizeof(t->addr));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    t->addr, sizeof(t->addr));
	if ((t->fd = icmp_socket(t, ss->ss_family, err, sizeof(err))) == -1) {
		probe_finish(run, PROBE_FAIL, "%s", err);
		return;
	}
	/* Connected: ICMP errors about the target come back as recv errors. */
	if (connect(t->fd, (const struct sockaddr *)ss, len) == -1) {
		icmp_fail_errno(run, "connect: ", errno);
		return;
	}

	t->seq = ++icmp_seq_next;
	cookie = ++icmp_cookie_next ^ (uint64_t)now;
	t->id = (uint16_t)(cookie >> 16 ^ (uint64_t)getpid());
	memcpy(t->data, ICMP_MAGIC, sizeof(ICMP_MAGIC) - 1);
	memcpy(t->data + sizeof(ICMP_MAGIC) - 1, &cookie, sizeof(cookie));
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = t->v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	pkt[4] = (unsigned char)(t->id >> 8);
	pkt[5] = (unsigned char)t->id;
	pkt[6] = (unsigned char)(t->seq >> 8);
	pkt[7] = (unsigned char)t->seq;
	memcpy(pkt + ICMP_HDR_LEN, t->data, ICMP_DATA_LEN);
	if (t->raw && !t->v6) {
		uint16_t sum = icmp_cksum(pkt, sizeof(pkt));
		memcpy(pkt + 2, &sum, sizeof(sum));
	}

	if (loop_fd_add(t->fd, EPOLLIN, icmp_on_read, run) == -1) {
		icmp_fail_errno(run, "epoll: ", errno);
		return;
	}
	t->sent_us = clock_mono_us();
	if (send(t->fd, pkt, sizeof(pkt), 0) == -1)
		icmp_fail_errno(run, "send: ", errno);
}

static void
icmp_start(struct probe_run *run)
{
	struct icmp_run		*t;
	struct resolve_req	*rq;
	char			 err[300];
	int			 port;

	t = xcalloc(1, sizeof(*t));
	t->fd = -1;
	t->run = run;
	run->priv = t;
	if (net_split_target(run->conf->target, t->host, sizeof(t->host),
	    &port, 0, err, sizeof(err)) == -1) {
		probe_finish(run, PROBE_FAIL, "%s", err);
		return;
	}
	/*
	 * May call back (and finish the run, freeing t) before it returns;
	 * only a request still pending may be stored.
	 */
	t->starting = 1;
	if ((rq = resolve_start(t->host, 0, icmp_on_resolved, run)) != NULL) {
		t->starting = 0;
		t->rq = rq;
	}
}

static void
icmp_release(void *priv)
{
	icmp_close(priv);
	free(priv);
}

static int
icmp_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	unsigned char	bin[16];
	char		host[256];
	size_t		i;
	int		port;

	(void)key;	/* the target is to blame */

	if (net_split_target(c->target, host, sizeof(host), &port, 0, err,
	    errlen) == -1)
		return -1;
	if (port != 0) {
		snprintf(err, errlen, "target '%s': icmp takes a host, not "
		    "host:port", c->target);
		return -1;
	}
	if (inet_pton(AF_INET, host, bin) == 1 ||
	    inet_pton(AF_INET6, host, bin) == 1)
		return 0;
	for (i = 0; host[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '_') {
			snprintf(err, errlen, "target '%s' is not an address "
			    "or host name", c->target);
			return -1;
		}
	}
	return 0;
}

const struct probe_type probe_icmp_type = {
	.name = "icmp",
	.check = icmp_check,
	.init = NULL,
	.shutdown = NULL,
	.start = icmp_start,
	.release = icmp_release,
};
