/*
 * test_console_tunnel.c - tunnel_open()'s refusals that need no sshd: bad
 * destinations, a closed port, a peer that does not speak SSH.  Each must
 * come back quickly with a reason and leave nothing behind (ASan).  The
 * real sshd cases are in tests/integration/test_console_ssh.sh.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "vantage.h"

/* A listening socket on 127.0.0.1:<ephemeral>; its port in *port. */
static int
listener(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_bad_destinations(void **state)
{
	static const struct {
		const char	*spec;
		const char	*want;
	} cases[] = {
		{ "", "empty ssh destination" },
		{ "ops@", "bad host" },
		{ "@bastion", "bad user name" },
		{ "ops@bastion:0", "bad port '0'" },
		{ "ops@bastion:70000", "bad port '70000'" },
		{ "ops@bastion:22x", "bad port '22x'" },
		{ "ops@bastion:", "bad port ''" },
		{ "o ps@bastion", "is not user@host[:port]" },
		{ "ops@bastion/x", "is not user@host[:port]" },
		{ "ops@[::1", "is not user@[address]:port" },
		{ "ops@[::1]x", "is not user@[address]:port" },
		{ "ops@[]:22", "bad host" },
	};
	char	err[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_null(tunnel_open(cases[i].spec, "127.0.0.1", 7787, err,
		    sizeof(err)));
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("'%s': expected '%s' in '%s'", cases[i].spec,
			    cases[i].want, err);
	}
	assert_null(tunnel_open("ops@bastion", NULL, 7787, err, sizeof(err)));
	assert_non_null(strstr(err, "bad target"));
	assert_null(tunnel_open("ops@bastion", "127.0.0.1", 0, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "bad target"));
	tunnel_close(NULL);
}

static void
test_closed_port(void **state)
{
	char	spec[64], want[80], err[256];
	int	fd, port;

	(void)state;
	fd = listener(&port);
	close(fd);		/* nothing listens there now */
	snprintf(spec, sizeof(spec), "ops@127.0.0.1:%d", port);
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1 port %d: "
	    "Connection refused", port);
	assert_null(tunnel_open(spec, "127.0.0.1", 7787, err, sizeof(err)));
	assert_string_equal(err, want);

	/* a bare IPv6 address takes port 22 and is not mistaken for one */
	snprintf(spec, sizeof(spec), "ops@[::1]:%d", port);
	assert_null(tunnel_open(spec, "127.0.0.1", 7787, err, sizeof(err)));
	assert_non_null(strstr(err, "::1"));
}

/* Answers one connection with something that is not SSH. */
static void *
not_ssh(void *arg)
{
	int		lfd = *(int *)arg, fd;
	const char	msg[] = "HTTP/1.0 400 Bad Request\r\n\r\n";

	if ((fd = accept(lfd, NULL, NULL)) != -1) {
		if (write(fd, msg, sizeof(msg) - 1) == -1) {
			/* the client is gone already: fine */
		}
		close(fd);
	}
	return NULL;
}

static void
test_not_ssh(void **state)
{
	pthread_t	th;
	char		spec[64], err[256];
	int		lfd, port;

	(void)state;
	lfd = listener(&port);
	assert_int_equal(pthread_create(&th, NULL, not_ssh, &lfd), 0);
	snprintf(spec, sizeof(spec), "ops@127.0.0.1:%d", port);
	assert_null(tunnel_open(spec, "127.0.0.1", 7787, err, sizeof(err)));
	pthread_join(th, NULL);
	close(lfd);
	if (strstr(err, "SSH handshake with [127.0.0.1]:") == NULL)
		fail_msg("expected a handshake failure, got '%s'", err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_destinations),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_not_ssh),
	};

	/* nothing here may read the developer's own keys or known_hosts */
	setenv("VANTAGE_KNOWN_HOSTS", "/nonexistent/known_hosts", 1);
	setenv("VANTAGE_SSH_KEY", "/nonexistent/id", 1);
	unsetenv("SSH_AUTH_SOCK");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
