/*
 * net.c - socket helpers the socket-level probes share: target splitting,
 * non-blocking address lookup (numeric and /etc/hosts only; DNS goes
 * through resolve.c), non-blocking sockets and addresses as text.
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
