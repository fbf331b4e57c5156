/*
 * probe_tcp.c - "tcp" probes: a non-blocking connect to host:port.  OK
 * when the three-way handshake completes; the error says how it failed
 * (refused, unreachable, timeout is the engine's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vantaged.h"

/* run->priv is the pending net_connect() handle. */

static void
tcp_connected(struct probe_run *run, int fd, const char *err)
{
	run->priv = NULL;	/* the handle is gone */
	if (fd == -1) {
		probe_done(run, PROBE_FAIL, "%s", err);
		return;
	}
	close(fd);
	probe_done(run, PROBE_OK, NULL);
}

static void
tcp_start(struct probe_run *run)
{
	struct net_conn	*c;
	char		 host[256], err[160];
	int		 port = -1;

	run->priv = NULL;
	if (net_split_target(run->conf->target, host, sizeof(host), &port, 0,
	    err, sizeof(err)) == -1 || port == 0) {
		probe_done(run, PROBE_FAIL, "%s", port == 0 ? "no port" : err);
		return;
	}
	/*
	 * tcp's own phase rules, kept from before net_connect(): a quick
	 * answer over 100 us counts as DNS, a failed connect as connect time.
	 * The run may be finished and freed when NULL comes back.
	 */
	if ((c = net_connect(host, port, NET_CONNECT_SLOW_DNS |
	    NET_CONNECT_FAIL_TIME, run, tcp_connected)) != NULL)
		run->priv = c;
}

static void
tcp_release(void *priv)
{
	net_connect_cancel(priv);
}

static int
tcp_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	char	host[256];
	int	port;

	(void)key;	/* the target is to blame */

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
	.release = tcp_release,
};
