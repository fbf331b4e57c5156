/*
 * haproxy.c - the HAProxy agent-check listener on [haproxy] listen, in
 * the event loop.  HAProxy connects every agent-inter, sends what
 * agent-send says (the route name and "\n"), reads one line and expects
 * the connection to close.
 *
 * The answer follows HAProxy's agent-check words (configuration.txt,
 * "agent-check"): "ready", "drain" and "maint" set the administrative
 * state; "down" and "up" the operational one, and only the agent can
 * undo what the agent did.  So every answer names both where it matters:
 *	ready	"up ready"	(undoes an earlier down, drain or maint)
 *	drain	"up drain"
 *	maint	"maint"
 *	down	"down ready" or "down drain" (the operator state stays true)
 *	unknown route or a line that is no route name: "down"
 *
 * Nothing here blocks: sockets are non-blocking, a connection holds a
 * small buffer and a short deadline (HAProxy sends its line at once).  A
 * hostile client cannot starve the real checks: only [haproxy] allow
 * blocks may connect, one address holds at most HA_PER_ADDR connections,
 * and when a limit is reached the oldest waiting connection (of that
 * address, or of all) is closed to make room for the new one, so a fresh
 * check is always heard.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vantaged.h"

#define HA_LINE_MAX	128		/* longer lines are no route name */
#define HA_NAME_MAX	64		/* as config.c allows */
#define HA_TIMEOUT_US	1000000		/* a check that sends nothing */
#define HA_MAX_CONNS	512
#define HA_PER_ADDR	16		/* connections of one address */
#define HA_ACCEPT_BATCH	64
#define HA_PAUSE_US	100000		/* after EMFILE */

struct ha_listener {
	int			 fd;
	char			*addr;
	struct loop_timer	*pause;
};

struct ha_conn {
	struct ha_conn		*next;		/* newer */
	struct ha_conn		*prev;		/* older */
	int			 fd;
	int			 family;
	unsigned char		 addr[16];	/* the peer */
	size_t			 len;
	struct loop_timer	*deadline;
	char			 buf[HA_LINE_MAX + 1];
};

static struct ha_listener	 ha_listeners[CONF_MAX_LISTEN];
static int			 ha_nlisteners;
static struct ha_conn		*ha_conns;	/* oldest first */
static struct ha_conn		*ha_conns_tail;	/* newest */
static int			 ha_nconns;
static int			 ha_max_conns = HA_MAX_CONNS;
/* [haproxy] allow of the running config, parsed */
static char			*ha_allow_src;	/* a copy */
static struct parse_cidr	 ha_allow[PARSE_CIDR_MAX];
static int			 ha_nallow;
/* a reloaded config's sockets, until the reload is known accepted */
static struct config		*ha_pending;
static int			 ha_pending_fds[CONF_MAX_LISTEN];
static int			 ha_npending;

static int
ha_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

int
haproxy_parse_line(const char *buf, size_t len, char *name, size_t namelen)
{
	size_t	i, end, start, n;

	for (end = 0; end < len; end++) {
		if (buf[end] == '\n' || buf[end] == '\r')
			break;
	}
	if (end == len)
		return len > HA_LINE_MAX ? -1 : 0;
	/* the same verdict as when the bytes come one at a time */
	if (end > HA_LINE_MAX)
		return -1;
	/* blanks around the name are forgiven, anything else is not */
	for (start = 0; start < end && (buf[start] == ' ' ||
	    buf[start] == '\t'); start++)
		;
	while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
		end--;
	n = end - start;
	if (n == 0 || n > HA_NAME_MAX || n >= namelen)
		return -1;
	for (i = start; i < end; i++) {
		if (!ha_name_char(buf[i]))
			return -1;
	}
	memcpy(name, buf + start, n);
	name[n] = '\0';
	return 1;
}

static const char *
ha_words(const char *name)
{
	enum route_state	st;
	enum route_effective	eff;

	if (route_get(name, &st, &eff) == -1) {
		log_debug("haproxy: agent-check for unknown route '%s': down",
		    name);
		return "down\n";
	}
	switch (eff) {
	case ROUTE_EFF_READY:
		return "up ready\n";
	case ROUTE_EFF_DRAIN:
		return "up drain\n";
	case ROUTE_EFF_MAINT:
		return "maint\n";
	case ROUTE_EFF_DOWN:
		return st == ROUTE_DRAINING ? "down drain\n" : "down ready\n";
	}
	return "down\n";
}

static void
ha_conn_close(struct ha_conn *c)
{
	if (c->deadline != NULL)
		loop_timer_del(c->deadline);
	if (c->fd != -1) {
		loop_fd_del(c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ha_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		ha_conns_tail = c->prev;
	ha_nconns--;
	free(c);
}

/* The peer's address as 4 or 16 bytes; 0 when it is neither family. */
static int
ha_peer(const struct sockaddr_storage *ss, unsigned char *addr)
{
	if (ss->ss_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return AF_INET;
	}
	if (ss->ss_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr,
		    16);
		return AF_INET6;
	}
	return 0;
}

static int
ha_same_peer(const struct ha_conn *c, int family, const unsigned char *a)
{
	return c->family == family && memcmp(c->addr, a, family == AF_INET ?
	    4 : 16) == 0;
}

/* Whether [haproxy] allow lets this peer in (no allow: everyone). */
static int
ha_allowed(int family, const unsigned char *addr)
{
	const char	*src = vd != NULL && vd->conf != NULL ?
			    vd->conf->haproxy_allow : NULL;
	char		 err[256];

	if (src == NULL)
		return 1;
	if (ha_allow_src == NULL || strcmp(src, ha_allow_src) != 0) {
		/* checked at config load: this cannot fail */
		ha_nallow = parse_cidr_list(src, ha_allow, PARSE_CIDR_MAX, err,
		    sizeof(err));
		if (ha_nallow < 0)
			ha_nallow = 0;
		free(ha_allow_src);
		ha_allow_src = xstrdup(src);
	}
	return parse_cidr_match(ha_allow, ha_nallow, family, addr);
}

/*
 * Makes room for a new connection of this peer: past HA_PER_ADDR of its
 * own, or past the global limit, the oldest one still waiting goes.  A
 * real check answers within milliseconds, so what is old is idle.
 */
static void
ha_make_room(int family, const unsigned char *addr)
{
	struct ha_conn	*c, *oldest = NULL;
	int		 mine = 0;

	for (c = ha_conns; c != NULL; c = c->next) {
		if (ha_same_peer(c, family, addr)) {
			if (oldest == NULL)
				oldest = c;
			mine++;
		}
	}
	if (mine >= HA_PER_ADDR) {
		log_debug("haproxy: %d checks open from one address, closing "
		    "its oldest", mine);
		ha_conn_close(oldest);
	}
	if (ha_nconns >= ha_max_conns && ha_conns != NULL) {
		log_debug("haproxy: %d checks open, closing the oldest",
		    ha_nconns);
		ha_conn_close(ha_conns);
	}
}

static void
ha_answer(struct ha_conn *c, const char *words)
{
	/* a dozen bytes into a fresh socket: never short in practice */
	if (send(c->fd, words, strlen(words), MSG_NOSIGNAL | MSG_DONTWAIT) ==
	    -1)
		log_debug("haproxy: send: %s", strerror(errno));
	ha_conn_close(c);
}

static void
ha_conn_timeout(void *arg)
{
	struct ha_conn	*c = arg;

	c->deadline = NULL;
	log_debug("haproxy: agent-check sent no route name in time");
	ha_conn_close(c);
}

static void
ha_conn_event(int fd, uint32_t events, void *arg)
{
	struct ha_conn	*c = arg;
	char		 name[HA_NAME_MAX + 1];
	ssize_t		 n;
	int		 eof = 0, rc;

	for (;;) {
		if (c->len >= HA_LINE_MAX) {
			/* full: whatever comes next cannot save the line */
			break;
		}
		n = read(fd, c->buf + c->len, HA_LINE_MAX - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0)
			eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			ha_conn_close(c);
			return;
		}
		break;
	}
	/* a peer that sent its name and shut its side needs no newline */
	if (eof && c->len > 0 && memchr(c->buf, '\n', c->len) == NULL &&
	    memchr(c->buf, '\r', c->len) == NULL && c->len < HA_LINE_MAX)
		c->buf[c->len++] = '\n';
	rc = haproxy_parse_line(c->buf, c->len, name, sizeof(name));
	if (rc == 0 && c->len >= HA_LINE_MAX)
		rc = -1;
	if (rc == 1) {
		ha_answer(c, ha_words(name));
		return;
	}
	if (rc == -1) {
		log_debug("haproxy: agent-check sent no route name");
		ha_answer(c, "down\n");
		return;
	}
	if (eof)
		ha_conn_close(c);
}

static void
ha_resume(void *arg)
{
	struct ha_listener	*l = arg;

	l->pause = NULL;
	(void)loop_fd_mod(l->fd, EPOLLIN);
}

static void
ha_accept(int fd, uint32_t events, void *arg)
{
	struct ha_listener	*l = arg;
	struct ha_conn		*c;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	unsigned char		 addr[16];
	int			 i, cfd, family;

	for (i = 0; i < HA_ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* level-triggered: pause or spin */
				log_warn("haproxy: accept on %s", l->addr);
				if (l->pause == NULL &&
				    loop_fd_mod(fd, 0) == 0)
					l->pause = loop_timer_add(HA_PAUSE_US,
					    ha_resume, l);
			}
			return;
		}
		memset(addr, 0, sizeof(addr));
		if ((family = ha_peer(&ss, addr)) == 0 ||
		    !ha_allowed(family, addr)) {
			log_debug("haproxy: agent-check from an address not in "
			    "[haproxy] allow, closed");
			close(cfd);
			continue;
		}
		ha_make_room(family, addr);
		c = xcalloc(1, sizeof(*c));
		c->fd = cfd;
		c->family = family;
		memcpy(c->addr, addr, sizeof(addr));
		if (loop_fd_add(cfd, EPOLLIN | EPOLLRDHUP, ha_conn_event, c) ==
		    -1) {
			log_warn("haproxy: loop_fd_add");
			close(cfd);
			free(c);
			continue;
		}
		/* newest at the tail: the head is the oldest */
		c->prev = ha_conns_tail;
		if (ha_conns_tail != NULL)
			ha_conns_tail->next = c;
		else
			ha_conns = c;
		ha_conns_tail = c;
		ha_nconns++;
		c->deadline = loop_timer_add(HA_TIMEOUT_US, ha_conn_timeout, c);
	}
}

/* A lower cap when descriptors are scarce (vantaged.c's fd budget). */
int
haproxy_limit_conns(int n)
{
	ha_max_conns = n < 1 ? 1 : n < HA_MAX_CONNS ? n : HA_MAX_CONNS;
	return ha_max_conns;
}

/* A bound, listening, non-blocking socket for addr, or -1 + err. */
static int
ha_listen(const char *addr, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[256], port_s[16], perr[256];
	int		 port, fd = -1, one = 1, gai;

	if (parse_hostport(addr, host, sizeof(host), &port, perr,
	    sizeof(perr)) == -1) {
		snprintf(err, errlen, "[haproxy] listen: %s", perr);
		return -1;
	}
	snprintf(port_s, sizeof(port_s), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host[0] != '\0' ? host : NULL, port_s, &hints,
	    &res)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    gai_strerror(gai));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	strlcpy_v(perr, strerror(errno), sizeof(perr));
	if (isupper((unsigned char)perr[0]) && islower((unsigned char)perr[1]))
		perr[0] = (char)tolower((unsigned char)perr[0]);
	snprintf(err, errlen, "cannot listen on %s: %s", addr, perr);
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

static void
ha_close_listeners(void)
{
	int	i;

	for (i = 0; i < ha_nlisteners; i++) {
		struct ha_listener *l = &ha_listeners[i];

		if (l->pause != NULL)
			loop_timer_del(l->pause);
		loop_fd_del(l->fd);
		close(l->fd);
		free(l->addr);
		memset(l, 0, sizeof(*l));
	}
	ha_nlisteners = 0;
}

/* Takes the sockets in fds (one per address) as the running set. */
static void
ha_install(struct config *conf, const int *fds)
{
	int	i;

	for (i = 0; i < conf->n_haproxy_listen; i++) {
		struct ha_listener *l = &ha_listeners[i];

		memset(l, 0, sizeof(*l));
		l->fd = fds[i];
		l->addr = xstrdup(conf->haproxy_listen[i]);
		if (loop_fd_add(l->fd, EPOLLIN, ha_accept, l) == -1)
			fatal("%s: loop_fd_add", __func__);
		log_debug("haproxy: agent-check listener on %s", l->addr);
	}
	ha_nlisteners = conf->n_haproxy_listen;
}

int
haproxy_start(struct config *conf, char *err, size_t errlen)
{
	int	fds[CONF_MAX_LISTEN], i, j;

	for (i = 0; i < conf->n_haproxy_listen; i++) {
		if ((fds[i] = ha_listen(conf->haproxy_listen[i], err,
		    errlen)) == -1) {
			for (j = 0; j < i; j++)
				close(fds[j]);
			return -1;
		}
	}
	ha_install(conf, fds);
	return 0;
}

/* 1 when fd is one of the running listeners. */
static int
ha_running_fd(int fd)
{
	int	k;

	for (k = 0; k < ha_nlisteners; k++) {
		if (ha_listeners[k].fd == fd)
			return 1;
	}
	return 0;
}

/*
 * A reload is applied in two steps.  haproxy_reconfigure() binds what is
 * new (or refuses the reload) and leaves it pending; the next tick takes
 * it once vantaged.c made that config current, or closes it when another
 * part refused the reload, so a refused reload never moves the listener.
 */
static void
ha_promote(void)
{
	int	i, j;

	if (ha_pending == NULL)
		return;
	if (vd == NULL || vd->conf != ha_pending) {
		for (i = 0; i < ha_npending; i++) {
			if (!ha_running_fd(ha_pending_fds[i]))
				close(ha_pending_fds[i]);
		}
		ha_pending = NULL;
		return;
	}
	for (j = 0; j < ha_nlisteners; j++) {
		struct ha_listener *l = &ha_listeners[j];
		int keep = 0;

		for (i = 0; i < ha_npending; i++)
			keep |= ha_pending_fds[i] == l->fd;
		if (l->pause != NULL)
			loop_timer_del(l->pause);
		loop_fd_del(l->fd);
		if (!keep)
			close(l->fd);
		free(l->addr);
		memset(l, 0, sizeof(*l));
	}
	ha_install(ha_pending, ha_pending_fds);
	ha_pending = NULL;
}

void
haproxy_tick(void)
{
	ha_promote();
}

/* An address in both configs keeps its socket (it cannot be bound twice). */
int
haproxy_reconfigure(struct config *conf, char *err, size_t errlen)
{
	int	fds[CONF_MAX_LISTEN], i, j, same;

	ha_promote();		/* an earlier reload in this same turn */
	same = conf->n_haproxy_listen == ha_nlisteners;
	for (i = 0; same && i < ha_nlisteners; i++)
		same = strcmp(conf->haproxy_listen[i], ha_listeners[i].addr) ==
		    0;
	if (same)
		return 0;
	for (i = 0; i < conf->n_haproxy_listen; i++) {
		fds[i] = -1;
		for (j = 0; j < ha_nlisteners; j++) {
			if (strcmp(ha_listeners[j].addr,
			    conf->haproxy_listen[i]) == 0) {
				fds[i] = ha_listeners[j].fd;
				break;
			}
		}
		if (fds[i] == -1 && (fds[i] = ha_listen(conf->haproxy_listen[i],
		    err, errlen)) == -1) {
			for (j = 0; j < i; j++) {
				if (!ha_running_fd(fds[j]))
					close(fds[j]);
			}
			return -1;
		}
	}
	memcpy(ha_pending_fds, fds, sizeof(fds));
	ha_npending = conf->n_haproxy_listen;
	ha_pending = conf;
	return 0;
}

void
haproxy_stop(void)
{
	while (ha_conns != NULL)
		ha_conn_close(ha_conns);
	free(ha_allow_src);
	ha_allow_src = NULL;
	ha_nallow = 0;
	ha_promote();
	ha_close_listeners();
}
