/*
 * test_resolve.c - resolve.c: numeric addresses and hosts-file names answer
 * before resolve_start() returns; DNS names go through c-ares on the loop
 * and answer later; a cancelled request never calls back.
 *
 * The DNS cases run against a tiny DNS server inside this process, in
 * private user, mount and network namespaces: /etc/resolv.conf is
 * bind-mounted to name 127.0.0.1, and that loopback is the namespace's
 * own, so no query can leave the machine.  Where namespaces are not
 * allowed those cases are skipped and say why.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>

#include <cmocka.h>

#include "vantaged.h"

struct answer {
	int			 calls;
	int			 sync;		/* called inside resolve_start */
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 err[PROBE_ERR_LEN];
};

static int		 in_start;
static int		 waiting;	/* answers the loop still waits for */
static char		 ns_skip[160];	/* why the DNS cases cannot run */
static int		 dns_fd = -1;
static unsigned		 dns_queries;

static void
on_answer(void *arg, const struct sockaddr_storage *ss, socklen_t len,
    const char *err)
{
	struct answer	*a = arg;

	a->calls++;
	a->sync = in_start;
	if (ss != NULL) {
		a->ss = *ss;
		a->len = len;
	}
	if (err != NULL)
		strlcpy_v(a->err, err, sizeof(a->err));
	if (!in_start && --waiting == 0)
		loop_stop();
}

static struct resolve_req *
start(const char *host, int port, struct answer *a)
{
	struct resolve_req	*rq;

	memset(a, 0, sizeof(*a));
	in_start = 1;
	rq = resolve_start(host, port, on_answer, a);
	in_start = 0;
	return rq;
}

static const char *
addr_text(const struct answer *a, char *buf, size_t len)
{
	const void	*p;

	if (a->ss.ss_family == AF_INET)
		p = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	else
		p = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	return inet_ntop(a->ss.ss_family, p, buf, (socklen_t)len);
}

static int
port_of(const struct answer *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static void
stop_cb(void *arg)
{
	*(int *)arg = 1;
	loop_stop();
}

/* Runs the loop until every awaited answer is in, or ms pass. */
static void
run_loop(int64_t ms)
{
	struct loop_timer	*t;
	int			 fired = 0;

	t = loop_timer_add(ms * 1000, stop_cb, &fired);
	if (waiting > 0)
		loop_run();
	if (!fired)
		loop_timer_del(t);
}

static void
test_numeric_v4(void **state)
{
	struct answer	a;
	char		buf[64];

	assert_null(start("127.0.0.1", 8080, &a));
	assert_int_equal(a.calls, 1);
	assert_true(a.sync);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_string_equal(addr_text(&a, buf, sizeof(buf)), "127.0.0.1");
	assert_int_equal(port_of(&a), 8080);
}

static void
test_numeric_v6(void **state)
{
	struct answer	a;
	char		buf[64];

	assert_null(start("::1", 443, &a));
	assert_int_equal(a.calls, 1);
	assert_true(a.sync);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_string_equal(addr_text(&a, buf, sizeof(buf)), "::1");
	assert_int_equal(port_of(&a), 443);
}

static void
test_bad_name(void **state)
{
	struct answer	a;
	char		name[300];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_null(start(name, 80, &a));
	assert_int_equal(a.calls, 1);
	assert_true(a.sync);
	assert_true(a.err[0] != '\0');
	assert_null(start("", 80, &a));
	assert_int_equal(a.calls, 1);
	assert_true(a.err[0] != '\0');
}

static void	dns_needed(void);

/* A name from /etc/hosts (ours, bind-mounted) answers at once. */
static void
test_hosts_file(void **state)
{
	struct resolve_req	*rq;
	struct answer		 a;
	char			 buf[64];
	unsigned		 before = dns_queries;

	dns_needed();
	if ((rq = start("vantage-unit.test", 22, &a)) != NULL) {
		resolve_cancel(rq);	/* a must not be written later */
		fail_msg("hosts name not answered at once");
	}
	assert_int_equal(a.calls, 1);
	assert_true(a.sync);
	assert_string_equal(a.err, "");
	assert_string_equal(addr_text(&a, buf, sizeof(buf)), "10.9.8.7");
	assert_int_equal(port_of(&a), 22);
	assert_int_equal(dns_queries, before);
}

/* ---- the DNS cases ---- */

struct delayed {
	unsigned char		 pkt[512];
	size_t			 len;
	struct sockaddr_in	 to;
};

static void
dns_send_later(void *arg)
{
	struct delayed	*d = arg;

	(void)sendto(dns_fd, d->pkt, d->len, 0, (struct sockaddr *)&d->to,
	    sizeof(d->to));
	free(d);
}

/*
 * www.unit.test: A 10.1.2.3; slow.unit.test: the same, 200ms late;
 * anything else NXDOMAIN.  AAAA questions get no answer records.
 */
static void
dns_serve(int fd, uint32_t events, void *arg)
{
	struct delayed		*d;
	unsigned char		 q[512], *r;
	char			 name[256];
	struct sockaddr_in	 from;
	socklen_t		 fl = sizeof(from);
	ssize_t			 n;
	size_t			 off = 12, nl = 0, rl;
	int			 qtype, slow;

	while ((n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from,
	    &fl)) > 12) {
		dns_queries++;
		off = 12;
		nl = 0;
		while (off < (size_t)n && q[off] != 0 && nl < 200) {
			size_t l = q[off++];
			if (off + l > (size_t)n)
				return;
			if (nl > 0)
				name[nl++] = '.';
			memcpy(name + nl, q + off, l);
			nl += l;
			off += l;
		}
		name[nl] = '\0';
		if (off + 5 > (size_t)n)
			return;
		qtype = q[off + 1] << 8 | q[off + 2];
		off += 5;	/* root label, type, class */

		d = xcalloc(1, sizeof(*d));
		r = d->pkt;
		memcpy(r, q, off);
		r[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD as asked */
		r[3] = 0x80;			/* RA, NOERROR */
		r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
		rl = off;
		slow = strcmp(name, "slow.unit.test") == 0;
		if (strcmp(name, "www.unit.test") != 0 && !slow)
			r[3] |= 3;		/* NXDOMAIN */
		else if (qtype == 1) {
			static const unsigned char rr[] = {
				0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
				10, 1, 2, 3
			};
			r[7] = 1;
			memcpy(r + rl, rr, sizeof(rr));
			rl += sizeof(rr);
		}
		d->len = rl;
		d->to = from;
		if (slow)
			(void)loop_timer_add(200000, dns_send_later, d);
		else
			dns_send_later(d);
		fl = sizeof(from);
	}
}

static int
write_file(const char *path, const char *text)
{
	int	fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* Bind-mounts a temporary file with text over path; -1 + ns_skip. */
static int
mount_file(const char *path, const char *text)
{
	char	tmp[] = "/tmp/vt-test-resolve.XXXXXX";
	int	fd;

	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "mkstemp: %s",
		    strerror(errno));
		return -1;
	}
	close(fd);
	if (write_file(tmp, text) == -1 ||
	    mount(tmp, path, "none", MS_BIND, NULL) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "bind mount on %s: %s",
		    path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	unlink(tmp);	/* the mount keeps it */
	return 0;
}

/*
 * Private namespaces with our own resolv.conf and hosts file and an up
 * loopback; fills ns_skip with the reason when that is not possible here.
 */
static void
dns_setup_ns(void)
{
	char			 map[64];
	struct ifreq		 ifr;
	struct sockaddr_in	 sin;
	uid_t			 uid = getuid();
	gid_t			 gid = getgid();
	int			 s;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "unshare: %s",
		    strerror(errno));
		return;
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	(void)write_file("/proc/self/setgroups", "deny");
	if (write_file("/proc/self/uid_map", map) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "uid_map: %s",
		    strerror(errno));
		return;
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	(void)write_file("/proc/self/gid_map", map);
	if (mount(NULL, "/", "none", MS_REC | MS_PRIVATE, NULL) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "private mounts: %s",
		    strerror(errno));
		return;
	}
	if (mount_file("/etc/resolv.conf", "nameserver 127.0.0.1\n"
	    "options timeout:1 attempts:1\n") == -1 ||
	    mount_file("/etc/hosts", "127.0.0.1 localhost\n"
	    "10.9.8.7 vantage-unit.test\n") == -1)
		return;

	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "socket: %s",
		    strerror(errno));
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	strlcpy_v(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr)) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "loopback up: %s",
		    strerror(errno));
		close(s);
		return;
	}
	close(s);

	dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (dns_fd == -1 ||
	    bind(dns_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		snprintf(ns_skip, sizeof(ns_skip), "bind 127.0.0.1:53: %s",
		    strerror(errno));
		return;
	}
}

static int
dns_group_setup(void **state)
{
	if (ns_skip[0] == '\0' && dns_fd != -1 &&
	    loop_fd_add(dns_fd, EPOLLIN, dns_serve, NULL) == -1)
		snprintf(ns_skip, sizeof(ns_skip), "epoll: %s",
		    strerror(errno));
	return 0;
}

static void
dns_needed(void)
{
	if (ns_skip[0] != '\0') {
		fprintf(stderr, "skipping DNS cases: %s\n", ns_skip);
		skip();
	}
}

static void
test_dns_answer(void **state)
{
	struct answer	a;
	char		buf[64];

	dns_needed();
	assert_non_null(start("www.unit.test", 443, &a));
	assert_int_equal(a.calls, 0);	/* later, from the loop */
	waiting = 1;
	run_loop(3000);
	assert_int_equal(a.calls, 1);
	assert_false(a.sync);
	assert_string_equal(a.err, "");
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_string_equal(addr_text(&a, buf, sizeof(buf)), "10.1.2.3");
	assert_int_equal(port_of(&a), 443);
}

static void
test_dns_nxdomain(void **state)
{
	struct answer	a;

	dns_needed();
	assert_non_null(start("nx.unit.test", 80, &a));
	waiting = 1;
	run_loop(3000);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.ss.ss_family, 0);
	assert_true(strstr(a.err, "nx.unit.test") != NULL);
}

static void
test_dns_cancel(void **state)
{
	struct answer		 slow, www;
	struct resolve_req	*rq;

	dns_needed();
	rq = start("slow.unit.test", 80, &slow);
	assert_non_null(rq);
	resolve_cancel(rq);
	/* another query on the same channel still answers */
	assert_non_null(start("www.unit.test", 80, &www));
	waiting = 1;
	run_loop(3000);
	assert_int_equal(www.calls, 1);
	/* let the slow answer arrive: it must not call back */
	waiting = 1;
	run_loop(400);
	assert_int_equal(slow.calls, 0);
	waiting = 0;
}

int
main(void)
{
	const struct CMUnitTest local[] = {
		cmocka_unit_test(test_numeric_v4),
		cmocka_unit_test(test_numeric_v6),
		cmocka_unit_test(test_bad_name),
	};
	const struct CMUnitTest dns[] = {
		cmocka_unit_test(test_hosts_file),
		cmocka_unit_test(test_dns_answer),
		cmocka_unit_test(test_dns_nxdomain),
		cmocka_unit_test(test_dns_cancel),
	};
	int	rc;

	log_init("test_resolve", 0);
	/* Before anything resolves: all DNS stays in our namespace. */
	dns_setup_ns();
	loop_init();
	rc = cmocka_run_group_tests_name("resolve", local, NULL, NULL);
	rc += cmocka_run_group_tests_name("resolve_dns", dns,
	    dns_group_setup, NULL);
	if (dns_fd != -1) {
		loop_fd_del(dns_fd);
		close(dns_fd);
	}
	loop_done();
	return rc;
}
