/*
 * probe_icmp.c - "icmp" probes: count echo requests to the target,
 * packet_interval apart; the result carries the loss and the round-trip
 * times (min/avg/max and mdev, as ping(8) prints them) and its latency is
 * the average RTT (name resolution is in dns_us).  No reply at all fails;
 * a loss above max_loss is degraded.
 *
 * Linux ping sockets (SOCK_DGRAM with IPPROTO_ICMP or IPPROTO_ICMPV6) need
 * no privilege when net.ipv4.ping_group_range includes our group; the
 * kernel then fills in the checksum and the echo id.  When they are refused
 * a raw socket is tried, which works with CAP_NET_RAW; with neither, the
 * check cannot run here at all: the result is UNKNOWN, naming both.
 *
 * The kernel rewrites the id on ping sockets and a raw socket sees every
 * echo reply of the host, so a reply is ours when its sequence number is
 * one of this run's, its payload (a magic word and a per-run cookie) the
 * one we sent, and (raw sockets) its id ours.  Everything runs on the
 * loop: a timer sends the next request, another ends the wait a little
 * before the engine's timeout so the result can say what was lost.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stddef.h>
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
#define ICMP_COUNT_MAX	1000	/* echo requests per run */
#define ICMP_IVAL_MIN	10	/* ms between them, at least */
#define ICMP_IVAL_MAX	60000

/* The options of one icmp probe, described by icmp_keys[]. */
struct icmp_opts {
	int	 count;
	int64_t	 packet_interval_ms;
	double	 max_loss;
};

static const struct probe_key icmp_keys[] = {
	{ "count", CONF_INT_POS, offsetof(struct icmp_opts, count), "1",
	    "echo requests per run" },
	{ "packet_interval", CONF_DUR_POS, offsetof(struct icmp_opts,
	    packet_interval_ms), "200ms",
	    "time between the echo requests of a run" },
	{ "max_loss", CONF_PCT, offsetof(struct icmp_opts, max_loss), "0",
	    "more loss (percent) is degraded; no reply at all is a failure" },
	{ NULL }
};

struct icmp_run {
	struct probe_run	*run;
	struct resolve_req	*rq;
	struct loop_timer	*next;		/* the next echo request */
	struct loop_timer	*deadline;	/* end of the wait */
	int			 fd;
	int			 raw;		/* raw socket, not ping socket */
	int			 v6;
	int			 starting;	/* inside icmp_start() */
	int			 count;
	int64_t			 ival_us;
	uint16_t		 id;		/* raw sockets only */
	uint16_t		 seq0;		/* the first request's */
	unsigned char		 pkt[ICMP_HDR_LEN + ICMP_DATA_LEN];
	int64_t			 first_us;	/* first request sent */
	int64_t			*sent_us;	/* per request; 0: not yet */
	unsigned char		*got;		/* per request: answered */
	int			 sent;
	int			 received;
	int			 last_errno;	/* an ICMP error or send's */
	int64_t			 rtt_min, rtt_max;
	int64_t			 rtt_sum, rtt_sum2;	/* us, us^2 */
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
	if (t->next != NULL) {
		loop_timer_del(t->next);
		t->next = NULL;
	}
	if (t->deadline != NULL) {
		loop_timer_del(t->deadline);
		t->deadline = NULL;
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

/* 12.5 -> "12.5", 20.0 -> "20": percentages as an operator writes them. */
static void
icmp_pct_str(double v, char *out, size_t outlen)
{
	size_t	n;

	snprintf(out, outlen, "%.1f", v);
	n = strlen(out);
	if (n > 2 && strcmp(out + n - 2, ".0") == 0)
		out[n - 2] = '\0';
}

/*
 * Loss and RTT statistics into run->res: the detail, the latency (the
 * average RTT), and the status with its error text.
 */
static enum probe_status
icmp_tally(struct probe_run *run, char *err, size_t errlen)
{
	const struct icmp_opts	*o = run->conf->opts;
	struct icmp_run		*t = run->priv;
	struct probe_result	*r = &run->res;
	double			 loss, mean, var, mdev = 0;
	int64_t			 avg = 0;
	int			 lost = t->sent - t->received;
	char			 lp[16], mp[16], what[320];

	err[0] = '\0';
	loss = t->sent > 0 ? 100.0 * lost / t->sent : 100;
	icmp_pct_str(loss, lp, sizeof(lp));
	icmp_pct_str(o->max_loss, mp, sizeof(mp));
	if (t->received > 0) {
		/* iputils ping's mdev: sqrt(mean(rtt^2) - mean(rtt)^2) */
		mean = (double)t->rtt_sum / t->received;
		var = (double)t->rtt_sum2 / t->received - mean * mean;
		mdev = var > 0 ? sqrt(var) : 0;
		avg = (int64_t)llround(mean);
		r->latency_us = avg > 0 ? avg : 1;
		probe_result_detail(r, "\"sent\":%d,\"received\":%d,"
		    "\"loss_pct\":%s,\"rtt_min_us\":%" PRId64 ","
		    "\"rtt_avg_us\":%" PRId64 ",\"rtt_max_us\":%" PRId64 ","
		    "\"rtt_mdev_us\":%" PRId64, t->sent, t->received, lp,
		    t->rtt_min, avg, t->rtt_max, (int64_t)llround(mdev));
	} else
		probe_result_detail(r, "\"sent\":%d,\"received\":0,"
		    "\"loss_pct\":100,\"rtt_min_us\":null,"
		    "\"rtt_avg_us\":null,\"rtt_max_us\":null,"
		    "\"rtt_mdev_us\":null", t->sent);
	if (t->received == 0) {
		icmp_what(t, what, sizeof(what));
		snprintf(err, errlen, "loss 100%% (%d of %d): %.120s: %.40s", lost,
		    t->sent, what, t->last_errno != 0 ?
		    strerror(t->last_errno) : "no reply");
		return PROBE_FAIL;
	}
	if (loss > o->max_loss) {
		snprintf(err, errlen, "loss %s%% (%d of %d) over max_loss %s%%",
		    lp, lost, t->sent, mp);
		return PROBE_DEGRADED;
	}
	return PROBE_OK;
}

static void
icmp_end(struct probe_run *run)
{
	enum probe_status	st;
	char			err[PROBE_ERR_LEN];

	st = icmp_tally(run, err, sizeof(err));
	probe_finish(run, st, "%s", err);
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

/*
 * Is pkt (ICMP header on) the echo reply to one of our requests?  Its
 * index among them, or -1.
 */
static int
icmp_match(const struct icmp_run *t, const unsigned char *pkt, size_t len)
{
	uint8_t		want = t->v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
	uint16_t	id, seq, i;

	if (len != ICMP_HDR_LEN + ICMP_DATA_LEN || pkt[0] != want ||
	    pkt[1] != 0)
		return -1;
	id = (uint16_t)(pkt[4] << 8 | pkt[5]);
	seq = (uint16_t)(pkt[6] << 8 | pkt[7]);
	i = (uint16_t)(seq - t->seq0);		/* wraps like the sequence */
	if (i >= t->count || t->sent_us[i] == 0 || (t->raw && id != t->id))
		return -1;
	if (memcmp(pkt + ICMP_HDR_LEN, t->pkt + ICMP_HDR_LEN,
	    ICMP_DATA_LEN) != 0)
		return -1;
	return i;
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
	int64_t			 rtt;
	int			 i;

	(void)events;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/*
			 * An ICMP error for our connected socket (unreachable,
			 * TTL exceeded): that request is lost, not the run.
			 */
			t->last_errno = errno;
			continue;
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
		if ((i = icmp_match(t, pkt, len)) == -1 || t->got[i])
			continue;	/* not ours, or a duplicate */
		rtt = clock_mono_us() - t->sent_us[i];
		if (rtt < 1)
			rtt = 1;
		t->got[i] = 1;
		if (t->received == 0 || rtt < t->rtt_min)
			t->rtt_min = rtt;
		if (rtt > t->rtt_max)
			t->rtt_max = rtt;
		t->rtt_sum += rtt;
		t->rtt_sum2 += rtt * rtt;
		if (++t->received == t->count) {
			icmp_end(run);
			return;
		}
	}
}

/*
 * A ping socket, else a raw one; -1 + err naming what to change (and
 * t->raw -1 when neither is allowed).
 */
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
		if (errno == EACCES || errno == EPERM) {
			t->raw = -1;	/* no permission: the check cannot run */
			snprintf(err, errlen, "ping sockets not allowed for "
			    "gid %u: set net.ipv4.ping_group_range (sysctl) "
			    "to include it, or grant CAP_NET_RAW",
			    (unsigned)getegid());
		} else
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

/* Sends request number t->sent; a failed send is a lost request. */
static void
icmp_send_next(void *arg)
{
	struct probe_run	*run = arg;
	struct icmp_run		*t = run->priv;
	uint16_t		 seq = (uint16_t)(t->seq0 + t->sent);
	int64_t			 now, due;

	t->next = NULL;
	t->pkt[2] = t->pkt[3] = 0;
	t->pkt[6] = (unsigned char)(seq >> 8);
	t->pkt[7] = (unsigned char)seq;
	if (t->raw && !t->v6) {
		uint16_t sum = icmp_cksum(t->pkt, sizeof(t->pkt));
		memcpy(t->pkt + 2, &sum, sizeof(sum));
	}
	now = clock_mono_us();
	if (t->sent == 0)
		t->first_us = now;
	t->sent_us[t->sent] = now;
	if (send(t->fd, t->pkt, sizeof(t->pkt), 0) == -1) {
		/* never answered: make sure no reply can count for it */
		t->last_errno = errno;
		t->got[t->sent] = 1;
	}
	t->sent++;
	if (t->sent < t->count) {
		/* on the first request's clock: no drift over the run */
		due = t->first_us + t->sent * t->ival_us;
		t->next = loop_timer_add(due > now ? due - now : 0,
		    icmp_send_next, run);
	}
}

static void
icmp_deadline(void *arg)
{
	struct probe_run	*run = arg;
	struct icmp_run		*t = run->priv;

	t->deadline = NULL;
	icmp_end(run);
}

static void
icmp_on_resolved(void *arg, const struct sockaddr_storage *ss, socklen_t len,
    const char *rerr)
{
	struct probe_run	*run = arg;
	struct icmp_run		*t = run->priv;
	const struct icmp_opts	*o = run->conf->opts;
	char			 err[300];
	int64_t			 now = clock_mono_us(), margin, end;
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
		/* not allowed to ping from here: no verdict on the target */
		probe_finish(run, t->raw == -1 ? PROBE_UNKNOWN : PROBE_FAIL,
		    "%s", err);
		return;
	}
	/* Connected: ICMP errors about the target come back as recv errors. */
	if (connect(t->fd, (const struct sockaddr *)ss, len) == -1) {
		icmp_fail_errno(run, "connect: ", errno);
		return;
	}
	if (loop_fd_add(t->fd, EPOLLIN, icmp_on_read, run) == -1) {
		icmp_fail_errno(run, "epoll: ", errno);
		return;
	}

	t->count = o->count;
	t->ival_us = o->packet_interval_ms * 1000;
	t->sent_us = xcalloc((size_t)t->count, sizeof(*t->sent_us));
	t->got = xcalloc((size_t)t->count, 1);
	t->seq0 = (uint16_t)(icmp_seq_next + 1);
	icmp_seq_next = (uint16_t)(icmp_seq_next + t->count);
	cookie = ++icmp_cookie_next ^ (uint64_t)now;
	t->id = (uint16_t)(cookie >> 16 ^ (uint64_t)getpid());
	memset(t->pkt, 0, sizeof(t->pkt));
	t->pkt[0] = t->v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	t->pkt[4] = (unsigned char)(t->id >> 8);
	t->pkt[5] = (unsigned char)t->id;
	memcpy(t->pkt + ICMP_HDR_LEN, ICMP_MAGIC, sizeof(ICMP_MAGIC) - 1);
	memcpy(t->pkt + ICMP_HDR_LEN + sizeof(ICMP_MAGIC) - 1, &cookie,
	    sizeof(cookie));

	/*
	 * Stop waiting a little before the engine's timeout, so the result
	 * says how many replies came rather than just "timeout".
	 */
	margin = run->conf->timeout_ms * 1000 / 10;
	if (margin > 50000)
		margin = 50000;
	end = run->start_us + run->conf->timeout_ms * 1000 - margin;
	t->deadline = loop_timer_add(end > now ? end - now : 0, icmp_deadline,
	    run);
	icmp_send_next(run);
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

/* The engine's timeout came first: leave what was counted so far. */
static void
icmp_abort(struct probe_run *run)
{
	struct icmp_run	*t = run->priv;
	char		 err[PROBE_ERR_LEN];

	if (t != NULL && t->sent > 0)
		(void)icmp_tally(run, err, sizeof(err));
}

static void
icmp_release(void *priv)
{
	struct icmp_run	*t = priv;

	icmp_close(t);
	if (t != NULL) {
		free(t->sent_us);
		free(t->got);
	}
	free(t);
}

static int
icmp_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	const struct icmp_opts	*o = c->opts;
	unsigned char		 bin[16];
	char			 host[256];
	size_t			 i;
	int			 port;

	if (o->count > ICMP_COUNT_MAX) {
		snprintf(err, errlen, "count %d: at most %d echo requests per "
		    "run", o->count, ICMP_COUNT_MAX);
		*key = "count";
		return -1;
	}
	if (o->packet_interval_ms < ICMP_IVAL_MIN ||
	    o->packet_interval_ms > ICMP_IVAL_MAX) {
		snprintf(err, errlen, "packet_interval %" PRId64 "ms: must be "
		    "%dms to %ds", o->packet_interval_ms, ICMP_IVAL_MIN,
		    ICMP_IVAL_MAX / 1000);
		*key = "packet_interval";
		return -1;
	}
	/* The last request needs a packet_interval to come back, too. */
	if (o->count > 1 &&
	    o->count * o->packet_interval_ms >= c->timeout_ms) {
		snprintf(err, errlen, "count %d x packet_interval %" PRId64
		    "ms = %" PRId64 "ms does not fit in timeout %" PRId64 "ms",
		    o->count, o->packet_interval_ms,
		    o->count * o->packet_interval_ms, c->timeout_ms);
		*key = "count";
		return -1;
	}

	*key = NULL;	/* from here on the target is to blame */
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
	.opts_size = sizeof(struct icmp_opts),
	.keys = icmp_keys,
	.check = icmp_check,
	.init = NULL,
	.shutdown = NULL,
	.start = icmp_start,
	.release = icmp_release,
	.abort = icmp_abort,
};
