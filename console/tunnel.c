/*
 * tunnel.c - the SSH transport: reaches an agent that listens only on
 * loopback behind a bastion (`ssh = user@bastion[:port]` in vantage.conf).
 *
 * tunnel_open() connects, checks the bastion's host key against known_hosts
 * the way OpenSSH does and authenticates with ssh-agent or key files; it
 * blocks, bounded by timeouts.  Then a thread of its own accepts connections
 * on 127.0.0.1:<ephemeral> and forwards each through a direct-tcpip channel
 * of the one SSH session, so libcurl simply talks HTTP to a local port.
 *
 * libssh2 sessions are not thread-safe: once tunnel_open() has started the
 * thread, only the thread touches the session until tunnel_close() has
 * joined it.  The caller only reads the port and the error, which is
 * published once through an atomic flag.
 *
 * Driving several channels of one non-blocking libssh2 1.10 session needs
 * two rules the library does not enforce:
 *  - a call that returns EAGAIN while blocked on *sending* has left half a
 *    packet in the session's single output buffer; nothing else may send
 *    until that same call, with the same arguments, is repeated and
 *    completes (1.10 fails other senders with LIBSSH2_ERROR_BAD_USE).
 *    The loop therefore retries only that "stuck" call until it is done.
 *  - channel opening keeps its state in the session, not the channel, so
 *    only one direct-tcpip open may be in flight; other connections queue.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/evp.h>

#include "buf.h"
#include "log.h"
#include "parse.h"
#include "vantage.h"

#define TUNNEL_CONNECT_MS	5000	/* TCP connect to the bastion */
#define TUNNEL_SSH_MS		10000	/* each blocking setup step */
#define TUNNEL_OPEN_MS		15000	/* an open in flight */
#define TUNNEL_STUCK_MS		30000	/* server reads nothing */
#define TUNNEL_TICK_MS		1000
#define TUNNEL_BUF		32768	/* per direction, per conn */
#define TUNNEL_MAX_CONNS	64
#define TUNNEL_ERR_LEN		512

enum tunnel_conn_state {
	CONN_QUEUED,		/* accepted, waiting for its turn to open */
	CONN_OPENING,		/* the one direct-tcpip open in flight */
	CONN_OPEN,
	CONN_CLOSING		/* local side closed, channel being freed */
};

/* The libssh2 calls that may have to be repeated after EAGAIN. */
enum tunnel_op {
	TUNNEL_OP_OPEN,
	TUNNEL_OP_WRITE,
	TUNNEL_OP_EOF,
	TUNNEL_OP_READ,
	TUNNEL_OP_FREE
};

enum tunnel_res {
	RES_OK,			/* progress (or nothing to do) */
	RES_WAIT,		/* would block; poll decides when to retry */
	RES_STUCK,		/* half a packet sent: retry this op first */
	RES_FAIL,		/* this connection failed, not the session */
	RES_DEAD		/* the session is gone (t->errbuf says why) */
};

struct tunnel_conn {
	struct tunnel_conn	*next;
	enum tunnel_conn_state	 state;
	int			 fd;		/* the local client */
	LIBSSH2_CHANNEL		*ch;
	int64_t			 open_ms;	/* its open began */
	char			*up;		/* local -> remote */
	size_t			 up_len, up_off;
	char			*down;		/* remote -> local */
	size_t			 down_len, down_off;
	int			 local_eof;	/* client sent FIN */
	int			 eof_sent;	/* ... and we EOF */
	int			 remote_eof;
	int			 local_shut;	/* SHUT_WR done on fd */
	short			 events;	/* poll wants on fd */
};

struct tunnel {
	LIBSSH2_SESSION		*session;
	int			 sock;		/* to the bastion */
	int			 listen_fd;
	int			 wake[2];	/* close -> thread */
	int			 local_port;
	/* The target, as the bastion resolves it. */
	char			*host;
	int			 port;
	int			 ssh_up;	/* handshake done */
	pthread_t		 thread;
	int			 thread_started;

	/* Owned by the thread once it runs. */
	struct tunnel_conn	*conns;
	int			 nconns;
	struct tunnel_conn	*opening;
	struct tunnel_conn	*stuck;
	enum tunnel_op		 stuck_op;
	int64_t			 stuck_ms;	/* since, 0: not */
	short			 ssh_events;
	int			 hup_seen;
	int			 accept_pause;
	struct pollfd		 pfd[3 + TUNNEL_MAX_CONNS];

	/* Written once by whoever declares the tunnel dead, then published. */
	char			 errbuf[TUNNEL_ERR_LEN];
	atomic_int		 dead;
};

/* What known_hosts says, loaded for one tunnel_open(). */
struct tunnel_kh {
	LIBSSH2_KNOWNHOSTS	*kh;
	char			 path[1100];
	int			 missing;
	char			**revoked;	/* @revoked keys */
	size_t			 nrevoked;
};

static pthread_once_t	 tunnel_once = PTHREAD_ONCE_INIT;
static int		 tunnel_init_rc;

static void
tunnel_init_lib(void)
{
	/* libssh2_init() is not thread-safe: exactly once per process. */
	tunnel_init_rc = libssh2_init(0);
}

static const char *
tunnel_ssh_err(LIBSSH2_SESSION *s)
{
	char	*msg = NULL;

	if (s != NULL)
		libssh2_session_last_error(s, &msg, NULL, 0);
	return msg != NULL && msg[0] != '\0' ? msg : "unknown error";
}

/*
 * The password database entry of the caller; getpwuid_r() because the
 * console may open several tunnels at once from threads.
 */
static int
tunnel_pw(char *user, size_t ulen, char *home, size_t hlen)
{
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];

	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		return -1;
	if (user != NULL)
		strlcpy_v(user, pw.pw_name, ulen);
	if (home != NULL)
		strlcpy_v(home, pw.pw_dir, hlen);
	return 0;
}

static void
tunnel_home(char *buf, size_t len)
{
	const char	*h = getenv("HOME");

	if (h != NULL && h[0] != '\0')
		strlcpy_v(buf, h, len);
	else if (tunnel_pw(NULL, 0, buf, len) == -1)
		strlcpy_v(buf, "/", len);
}

static int64_t
tunnel_mono_ms(void)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * "user@host[:port]", "host", "[v6]:port"; a bare IPv6 address takes port
 * 22.  The user defaults to $USER, then to the password database.
 */
static int
tunnel_parse_spec(const char *spec, char *user, size_t ulen, char *host,
    size_t hlen, int *port, char *err, size_t errlen)
{
	const char	*at, *hp, *rest = NULL, *p;
	size_t		 n;
	long		 l;

	if (spec == NULL || spec[0] == '\0') {
		snprintf(err, errlen, "empty ssh destination");
		return -1;
	}
	for (p = spec; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == '/') {
			snprintf(err, errlen, "'%s' is not user@host[:port]",
			    spec);
			return -1;
		}
	}
	if ((at = strrchr(spec, '@')) != NULL) {
		n = (size_t)(at - spec);
		if (n == 0 || n >= ulen) {
			snprintf(err, errlen, "bad user name in '%s'", spec);
			return -1;
		}
		memcpy(user, spec, n);
		user[n] = '\0';
		hp = at + 1;
	} else {
		const char *u = getenv("USER");

		if (u != NULL && u[0] != '\0')
			n = strlcpy_v(user, u, ulen);
		else if (tunnel_pw(user, ulen, NULL, 0) == 0)
			n = strlen(user);
		else
			n = 0;
		if (n == 0 || n >= ulen) {
			snprintf(err, errlen, "no user in '%s' and none for "
			    "uid %u", spec, (unsigned)getuid());
			return -1;
		}
		hp = spec;
	}

	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');

		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':')) {
			snprintf(err, errlen, "'%s' is not user@[address]:port",
			    spec);
			return -1;
		}
		n = (size_t)(rb - hp - 1);
		hp++;
		if (rb[1] == ':')
			rest = rb + 2;
	} else {
		const char *colon = strchr(hp, ':');

		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			n = (size_t)(colon - hp);
			rest = colon + 1;
		} else
			n = strlen(hp);	/* no port, or bare IPv6 */
	}
	if (n == 0 || n >= hlen) {
		snprintf(err, errlen, "bad host in '%s'", spec);
		return -1;
	}
	memcpy(host, hp, n);
	host[n] = '\0';
	*port = 22;
	if (rest != NULL) {
		if (parse_long(rest, 1, 65535, &l, NULL, 0) == -1) {
			snprintf(err, errlen, "bad port '%s' in '%s' (1-65535)",
			    rest, spec);
			return -1;
		}
		*port = (int)l;
	}
	return 0;
}

/* One address; -1 with why set when it does not answer by deadline. */
static int
tunnel_connect_one(const struct addrinfo *ai, int64_t deadline,
    const char **why)
{
	struct pollfd	pfd;
	socklen_t	sl;
	int64_t		left;
	int		fd, rc, soerr;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*why = strerror(errno);
		goto fail;
	}
	if ((left = deadline - tunnel_mono_ms()) < 0)
		left = 0;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		rc = poll(&pfd, 1, (int)left);
	} while (rc == -1 && errno == EINTR);
	if (rc == 0) {
		*why = "timed out after 5 s";
		goto fail;
	}
	sl = sizeof(soerr);
	if (rc == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr == 0)
		return fd;
	*why = strerror(soerr);
fail:
	close(fd);
	return -1;
}

/* Every address of host in turn, all within 5 s. */
static int
tunnel_connect(struct tunnel *t, const char *host, int port, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 portstr[16];
	int		 fd = -1, rc, one = 1;
	int64_t		 deadline;
	const char	*why = "no address";

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		return -1;
	}
	deadline = tunnel_mono_ms() + TUNNEL_CONNECT_MS;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = tunnel_connect_one(ai, deadline, &why);
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "cannot connect to %s port %d: %s", host,
		    port, why);
		return -1;
	}

	/*
	 * SSH packets are written whole, so Nagle only adds latency.  TCP
	 * keepalive notices a bastion that vanished while the tunnel idles
	 * (poll then reports an error), without sending SSH traffic that
	 * would have to be interleaved with the channels.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	rc = 30;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &rc, sizeof(rc));
	rc = 10;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &rc, sizeof(rc));
	rc = 3;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &rc, sizeof(rc));
	t->sock = fd;
	return 0;
}

static char *
tunnel_base64(const unsigned char *p, size_t len, int strip)
{
	char	*out;
	int	 n;

	out = xmalloc(4 * ((len + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	if (strip)
		while (n > 0 && out[n - 1] == '=')
			n--;
	out[n] = '\0';
	return out;
}

static void
tunnel_kh_free(struct tunnel_kh *k)
{
	size_t	i;

	if (k->kh != NULL)
		libssh2_knownhost_free(k->kh);
	k->kh = NULL;
	for (i = 0; i < k->nrevoked; i++)
		free(k->revoked[i]);
	free(k->revoked);
	k->revoked = NULL;
	k->nrevoked = 0;
}

/*
 * Loads known_hosts line by line rather than with knownhost_readfile():
 * libssh2 1.10's reader drops the whole file at one line longer than 4 KB
 * and takes @revoked and @cert-authority markers for host names.  Lines
 * it cannot parse are skipped.  A @revoked key is refused for any host;
 * @cert-authority lines are ignored (vantage accepts no host certificates).
 */
static int
tunnel_kh_load(LIBSSH2_SESSION *s, struct tunnel_kh *k, char *err,
    size_t errlen)
{
	const char	*env;
	FILE		*f;
	char		*line = NULL, *p, *q, home[1024];
	size_t		 cap = 0, n;
	ssize_t		 len;
	int		 i;

	if ((env = getenv("VANTAGE_KNOWN_HOSTS")) != NULL && env[0] != '\0')
		strlcpy_v(k->path, env, sizeof(k->path));
	else {
		tunnel_home(home, sizeof(home));
		snprintf(k->path, sizeof(k->path), "%s/.ssh/known_hosts",
		    home);
	}
	if ((k->kh = libssh2_knownhost_init(s)) == NULL) {
		snprintf(err, errlen, "known_hosts: %s", tunnel_ssh_err(s));
		return -1;
	}
	if ((f = fopen(k->path, "re")) == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", k->path,
			    strerror(errno));
			return -1;
		}
		k->missing = 1;
		return 0;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "@revoked", 8) == 0) {
			/* @revoked hosts keytype base64 [comment] */
			for (i = 0; i < 3; i++) {
				p += strcspn(p, " \t");
				p += strspn(p, " \t");
			}
			if (*p == '\0')
				continue;
			n = strcspn(p, " \t");
			q = xmalloc(n + 1);
			memcpy(q, p, n);
			q[n] = '\0';
			k->revoked = xreallocarray(k->revoked,
			    k->nrevoked + 1, sizeof(*k->revoked));
			k->revoked[k->nrevoked++] = q;
			continue;
		}
		if (*p == '@')
			continue;
		(void)libssh2_knownhost_readline(k->kh, p, strlen(p),
		    LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	}
	free(line);
	fclose(f);
	return 0;
}

static int
tunnel_alg_keytype(const char *alg)
{
	static const struct {
		const char	*alg;
		int		 type;
	} map[] = {
		{ "ssh-ed25519",	LIBSSH2_KNOWNHOST_KEY_ED25519 },
		{ "ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256 },
		{ "ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384 },
		{ "ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521 },
		{ "ssh-rsa",		LIBSSH2_KNOWNHOST_KEY_SSHRSA },
		{ "rsa-sha2-256",	LIBSSH2_KNOWNHOST_KEY_SSHRSA },
		{ "rsa-sha2-512",	LIBSSH2_KNOWNHOST_KEY_SSHRSA },
		{ "ssh-dss",		LIBSSH2_KNOWNHOST_KEY_SSHDSS },
	};
	size_t	i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(alg, map[i].alg) == 0)
			return map[i].type;
	return 0;
}

/* Does known_hosts hold any key of this type for name? */
static int
tunnel_kh_has_type(struct tunnel_kh *k, const char *name, int keytype)
{
	/* A one-byte dummy key never matches, so any entry of the type
	 * for this host shows up as a mismatch. */
	return libssh2_knownhost_checkp(k->kh, name, -1, "?", 1,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    keytype, NULL) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
}

/*
 * Like OpenSSH, ask first for the host key types known_hosts already has
 * for this host: otherwise a server that also has, say, an ECDSA key would
 * present that one and look unknown although its ED25519 key is known.
 */
static void
tunnel_hostkey_prefs(LIBSSH2_SESSION *s, struct tunnel_kh *k,
    const char *name)
{
	const char	**algs = NULL;
	struct buf	  known, rest;
	int		  n, i, type;

	if ((n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_HOSTKEY,
	    &algs)) <= 0)
		return;
	buf_init(&known);
	buf_init(&rest);
	for (i = 0; i < n; i++) {
		type = tunnel_alg_keytype(algs[i]);
		if (type != 0 && tunnel_kh_has_type(k, name, type)) {
			if (known.len > 0)
				buf_addc(&known, ',');
			buf_adds(&known, algs[i]);
		} else {
			if (rest.len > 0)
				buf_addc(&rest, ',');
			buf_adds(&rest, algs[i]);
		}
	}
	if (known.len > 0) {
		if (rest.len > 0) {
			buf_addc(&known, ',');
			buf_adds(&known, rest.data);
		}
		(void)libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY,
		    known.data);
	}
	buf_free(&known);
	buf_free(&rest);
	libssh2_free(s, algs);
}

static void
tunnel_kh_name(char *name, size_t len, const char *host, int port)
{
	/* OpenSSH's own spelling: plain host for 22, else [host]:port, and
	 * a plain entry does not vouch for other ports. */
	if (port == 22)
		snprintf(name, len, "%s", host);
	else
		snprintf(name, len, "[%s]:%d", host, port);
}

static int
tunnel_check_hostkey(LIBSSH2_SESSION *s, struct tunnel_kh *k,
    const char *name, char *err, size_t errlen)
{
	const char	*key, *hash, *tname;
	char		*fp = NULL, *b64 = NULL;
	size_t		 keylen, i;
	int		 keytype, mask, rc = -1;

	if ((key = libssh2_session_hostkey(s, &keylen, &keytype)) == NULL ||
	    (hash = libssh2_hostkey_hash(s, LIBSSH2_HOSTKEY_HASH_SHA256)) ==
	    NULL) {
		snprintf(err, errlen, "host %s sent no usable host key: %s",
		    name, tunnel_ssh_err(s));
		return -1;
	}
	switch (keytype) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		mask = LIBSSH2_KNOWNHOST_KEY_SSHRSA;
		tname = "RSA";
		break;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		mask = LIBSSH2_KNOWNHOST_KEY_SSHDSS;
		tname = "DSA";
		break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
		tname = "ECDSA";
		break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
		tname = "ECDSA";
		break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
		tname = "ECDSA";
		break;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		mask = LIBSSH2_KNOWNHOST_KEY_ED25519;
		tname = "ED25519";
		break;
	default:
		/* never matches: the host stays unknown */
		mask = LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
		tname = "unknown-type";
		break;
	}
	fp = tunnel_base64((const unsigned char *)hash, 32, 1);
	b64 = tunnel_base64((const unsigned char *)key, keylen, 0);
	for (i = 0; i < k->nrevoked; i++) {
		if (strcmp(k->revoked[i], b64) == 0) {
			snprintf(err, errlen, "host key for %s is REVOKED in "
			    "%s (%s SHA256:%s)", name, k->path, tname, fp);
			goto done;
		}
	}
	switch (libssh2_knownhost_checkp(k->kh, name, -1, key, keylen,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
	    NULL)) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		rc = 0;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		snprintf(err, errlen, "host key for %s CHANGED: got %s "
		    "SHA256:%s, known_hosts has another key - possible "
		    "man-in-the-middle (%s)", name, tname, fp, k->path);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		snprintf(err, errlen, "host key for %s is not in known_hosts "
		    "(%s SHA256:%s; %s%s)", name, tname, fp, k->path,
		    k->missing ? " does not exist" : "");
		break;
	default:
		snprintf(err, errlen, "cannot check the host key of %s: %s",
		    name, tunnel_ssh_err(s));
		break;
	}
done:
	free(fp);
	free(b64);
	return rc;
}

static int
tunnel_auth_agent(LIBSSH2_SESSION *s, const char *user, struct buf *why)
{
	LIBSSH2_AGENT			*agent;
	struct libssh2_agent_publickey	*id = NULL, *prev = NULL;
	int				 rc = -1, tried = 0;

	if ((agent = libssh2_agent_init(s)) == NULL) {
		buf_printf(why, "ssh-agent: %s", tunnel_ssh_err(s));
		return -1;
	}
	if (libssh2_agent_connect(agent) != 0)
		buf_printf(why, "ssh-agent: cannot connect (%s)",
		    tunnel_ssh_err(s));
	else if (libssh2_agent_list_identities(agent) != 0)
		buf_printf(why, "ssh-agent: cannot list keys (%s)",
		    tunnel_ssh_err(s));
	else {
		while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
			tried++;
			if (libssh2_agent_userauth(agent, user, id) == 0) {
				rc = 0;
				break;
			}
			prev = id;
		}
		if (rc == -1)
			buf_printf(why, "ssh-agent: %s", tried == 0 ?
			    "no keys" : "no key accepted");
	}
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return rc;
}

static int
tunnel_auth_file(LIBSSH2_SESSION *s, const char *user, const char *path,
    int explicit, struct buf *why)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		if (explicit || errno != ENOENT) {
			if (why->len > 0)
				buf_adds(why, "; ");
			buf_printf(why, "%s: %s", path, strerror(errno));
		}
		return -1;
	}
	if (why->len > 0)
		buf_adds(why, "; ");
	/* Like ssh(1): a private key others can read is not a secret. */
	if ((st.st_mode & 077) != 0) {
		buf_printf(why, "%s: permissions %04o are too open, key not "
		    "used", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	/*
	 * An empty passphrase rather than NULL: the OpenSSL backend would
	 * otherwise prompt on the terminal the console is drawing on.
	 * Encrypted keys belong in ssh-agent.
	 */
	if (libssh2_userauth_publickey_fromfile_ex(s, user,
	    (unsigned int)strlen(user), NULL, path, "") == 0)
		return 0;
	buf_printf(why, "%s: %s", path, tunnel_ssh_err(s));
	return -1;
}

static int
tunnel_auth(struct tunnel *t, const char *user, char *err, size_t errlen)
{
	static const char *const keys[] = { "id_ed25519", "id_ecdsa",
	    "id_rsa" };
	LIBSSH2_SESSION	*s = t->session;
	const char	*list, *env;
	struct buf	 why;
	char		 path[1100], home[1024];
	size_t		 i;
	int		 rc = -1;

	list = libssh2_userauth_list(s, user, (unsigned int)strlen(user));
	if (list == NULL) {
		if (libssh2_userauth_authenticated(s))
			return 0;
		snprintf(err, errlen, "cannot ask for auth methods: %s",
		    tunnel_ssh_err(s));
		return -1;
	}
	if (strstr(list, "publickey") == NULL) {
		snprintf(err, errlen, "server offers only %s; vantage "
		    "authenticates with keys", list);
		return -1;
	}
	buf_init(&why);
	if ((env = getenv("SSH_AUTH_SOCK")) != NULL && env[0] != '\0' &&
	    tunnel_auth_agent(s, user, &why) == 0) {
		rc = 0;
		goto done;
	}
	if ((env = getenv("VANTAGE_SSH_KEY")) != NULL && env[0] != '\0') {
		if (tunnel_auth_file(s, user, env, 1, &why) == 0)
			rc = 0;
		goto done;
	}
	tunnel_home(home, sizeof(home));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s/.ssh/%s", home, keys[i]);
		if (tunnel_auth_file(s, user, path, 0, &why) == 0) {
			rc = 0;
			goto done;
		}
	}
done:
	if (rc == -1)
		snprintf(err, errlen, "no key accepted for user %s (%s)", user,
		    why.len > 0 ? why.data : "no ssh-agent, no key files in "
		    "~/.ssh");
	buf_free(&why);
	return rc;
}

static int
tunnel_listen(struct tunnel *t, char *err, size_t errlen)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);

	t->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (t->listen_fd == -1)
		goto fail;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(t->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(t->listen_fd, 64) == -1 ||
	    getsockname(t->listen_fd, (struct sockaddr *)&sin, &sl) == -1)
		goto fail;
	t->local_port = ntohs(sin.sin_port);
	return 0;
fail:
	snprintf(err, errlen, "tunnel listener on 127.0.0.1: %s",
	    strerror(errno));
	return -1;
}

/* ------------------------------------------------------------------ */
/* The tunnel thread. */

static void tunnel_die(struct tunnel *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
tunnel_die(struct tunnel *t, const char *fmt, ...)
{
	va_list	ap;

	if (atomic_load(&t->dead))
		return;
	va_start(ap, fmt);
	vsnprintf(t->errbuf, sizeof(t->errbuf), fmt, ap);
	va_end(ap);
	atomic_store_explicit(&t->dead, 1, memory_order_release);
}

static void
tunnel_conn_close_fd(struct tunnel_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static void
tunnel_conn_unlink(struct tunnel *t, struct tunnel_conn *c)
{
	struct tunnel_conn	**pp;

	for (pp = &t->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	t->nconns--;
	tunnel_conn_close_fd(c);
	free(c->up);
	free(c->down);
	free(c);
}

/* Runs one libssh2 call of c; classifies what came back. */
static enum tunnel_res
tunnel_op(struct tunnel *t, struct tunnel_conn *c, enum tunnel_op op)
{
	ssize_t	n;
	int	rc = 0;

	switch (op) {
	case TUNNEL_OP_OPEN:
		c->ch = libssh2_channel_direct_tcpip_ex(t->session, t->host,
		    t->port, "127.0.0.1", t->local_port);
		if (c->ch != NULL) {
			t->opening = NULL;
			c->state = CONN_OPEN;
			return RES_OK;
		}
		rc = libssh2_session_last_errno(t->session);
		break;
	case TUNNEL_OP_WRITE:
		n = libssh2_channel_write(c->ch, c->up + c->up_off,
		    c->up_len - c->up_off);
		if (n == 0) {
			/* the server's window is shut; its adjust comes in */
			t->ssh_events |= POLLIN;
			return RES_WAIT;
		}
		if (n > 0) {
			c->up_off += (size_t)n;
			if (c->up_off == c->up_len)
				c->up_off = c->up_len = 0;
			return RES_OK;
		}
		rc = (int)n;
		break;
	case TUNNEL_OP_EOF:
		if ((rc = libssh2_channel_send_eof(c->ch)) == 0) {
			c->eof_sent = 1;
			return RES_OK;
		}
		break;
	case TUNNEL_OP_READ:
		n = libssh2_channel_read(c->ch, c->down, TUNNEL_BUF);
		if (n > 0) {
			c->down_len = (size_t)n;
			c->down_off = 0;
			return RES_OK;
		}
		if (n == 0) {
			/* 0 is also returned with nothing read yet, not only
			 * at end of stream: only trust the EOF flag. */
			if (libssh2_channel_eof(c->ch)) {
				c->remote_eof = 1;
				return RES_OK;
			}
			t->ssh_events |= POLLIN;
			return RES_WAIT;
		}
		rc = (int)n;
		break;
	case TUNNEL_OP_FREE:
		if ((rc = libssh2_channel_free(c->ch)) == 0) {
			c->ch = NULL;
			return RES_OK;
		}
		/* Failed for good: libssh2_session_free() frees it. */
		if (rc != LIBSSH2_ERROR_EAGAIN)
			c->ch = NULL;
		break;
	}

	if (rc == LIBSSH2_ERROR_EAGAIN) {
		if (libssh2_session_block_directions(t->session) &
		    LIBSSH2_SESSION_BLOCK_OUTBOUND) {
			if (t->stuck_ms == 0)
				t->stuck_ms = tunnel_mono_ms();
			t->stuck = c;
			t->stuck_op = op;
			t->ssh_events = POLLOUT;
			return RES_STUCK;
		}
		t->ssh_events |= POLLIN;
		return RES_WAIT;
	}
	switch (rc) {
	case LIBSSH2_ERROR_CHANNEL_OUTOFORDER:
	case LIBSSH2_ERROR_CHANNEL_FAILURE:
	case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
	case LIBSSH2_ERROR_CHANNEL_UNKNOWN:
	case LIBSSH2_ERROR_CHANNEL_WINDOW_EXCEEDED:
	case LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED:
	case LIBSSH2_ERROR_CHANNEL_CLOSED:
	case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
		if (op == TUNNEL_OP_OPEN) {
			const char *msg = tunnel_ssh_err(t->session);

			t->opening = NULL;
			/* Forwarding switched off is not going to heal:
			 * say so instead of failing every fetch alike. */
			if (strstr(msg, "prohibited") != NULL) {
				tunnel_die(t, "forwarding to %s:%d refused "
				    "(%s; AllowTcpForwarding/PermitOpen?)",
				    t->host, t->port, msg);
				return RES_DEAD;
			}
		}
		return RES_FAIL;
	default:
		if (op == TUNNEL_OP_OPEN)
			t->opening = NULL;
		tunnel_die(t, "connection lost: %s",
		    tunnel_ssh_err(t->session));
		return RES_DEAD;
	}
}

/* Connection c is over: the client goes at once, the channel in turn. */
static void
tunnel_conn_end(struct tunnel_conn *c)
{
	tunnel_conn_close_fd(c);
	c->state = CONN_CLOSING;
	c->events = 0;
}

/* Moves bytes both ways until something would block. */
static enum tunnel_res
tunnel_pump(struct tunnel *t, struct tunnel_conn *c)
{
	enum tunnel_res	r;
	ssize_t		n;

	/* remote -> local */
	for (;;) {
		if (c->down_off < c->down_len) {
			n = send(c->fd, c->down + c->down_off,
			    c->down_len - c->down_off, MSG_NOSIGNAL);
			if (n > 0) {
				c->down_off += (size_t)n;
				if (c->down_off == c->down_len)
					c->down_off = c->down_len = 0;
				continue;
			}
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				c->events |= POLLOUT;
				break;
			}
			tunnel_conn_end(c);	/* the client went away */
			return RES_OK;
		}
		if (c->remote_eof) {
			if (!c->local_shut)
				shutdown(c->fd, SHUT_WR);
			c->local_shut = 1;
			break;
		}
		if ((r = tunnel_op(t, c, TUNNEL_OP_READ)) == RES_WAIT)
			break;
		if (r == RES_FAIL) {
			tunnel_conn_end(c);
			return RES_OK;
		}
		if (r != RES_OK)
			return r;
	}

	/* local -> remote */
	for (;;) {
		if (c->up_off < c->up_len) {
			if ((r = tunnel_op(t, c, TUNNEL_OP_WRITE)) == RES_WAIT)
				break;
			if (r == RES_FAIL) {
				tunnel_conn_end(c);
				return RES_OK;
			}
			if (r != RES_OK)
				return r;
			continue;
		}
		if (c->local_eof) {
			if (c->eof_sent)
				break;
			if ((r = tunnel_op(t, c, TUNNEL_OP_EOF)) == RES_WAIT)
				break;
			if (r == RES_FAIL) {
				tunnel_conn_end(c);
				return RES_OK;
			}
			if (r != RES_OK)
				return r;
			continue;
		}
		n = recv(c->fd, c->up, TUNNEL_BUF, 0);
		if (n > 0) {
			c->up_len = (size_t)n;
			c->up_off = 0;
			continue;
		}
		if (n == 0) {
			c->local_eof = 1;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR) {
			c->events |= POLLIN;
			break;
		}
		tunnel_conn_end(c);	/* reset by the client */
		return RES_OK;
	}

	if (c->eof_sent && c->remote_eof && c->down_len == 0)
		tunnel_conn_end(c);
	return RES_OK;
}

static enum tunnel_res
tunnel_conn_step(struct tunnel *t, struct tunnel_conn *c)
{
	enum tunnel_res	r;

	c->events = 0;
	switch (c->state) {
	case CONN_QUEUED:
		if (t->opening != NULL)
			return RES_OK;
		t->opening = c;
		c->state = CONN_OPENING;
		c->open_ms = tunnel_mono_ms();
		/* FALLTHROUGH */
	case CONN_OPENING:
		r = tunnel_op(t, c, TUNNEL_OP_OPEN);
		if (r == RES_FAIL) {
			tunnel_conn_end(c);
			return RES_OK;
		}
		if (r != RES_OK)
			return r == RES_WAIT ? RES_OK : r;
		/* FALLTHROUGH */
	case CONN_OPEN:
		r = tunnel_pump(t, c);
		if (r != RES_OK || c->state != CONN_CLOSING)
			return r;
		/* FALLTHROUGH */
	case CONN_CLOSING:
		if (c->ch == NULL)
			return RES_OK;
		r = tunnel_op(t, c, TUNNEL_OP_FREE);
		return r == RES_WAIT || r == RES_FAIL ? RES_OK : r;
	}
	return RES_OK;
}

static void
tunnel_accept(struct tunnel *t)
{
	struct tunnel_conn	*c, **pp;
	int			 fd;

	while (t->nconns < TUNNEL_MAX_CONNS) {
		fd = accept4(t->listen_fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		if (fd == -1) {
			/* Out of descriptors: do not spin on the listener. */
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				t->accept_pause = 1;
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->state = CONN_QUEUED;
		c->up = xmalloc(TUNNEL_BUF);
		c->down = xmalloc(TUNNEL_BUF);
		/* append: connections open in the order they came */
		for (pp = &t->conns; *pp != NULL; pp = &(*pp)->next)
			;
		*pp = c;
		t->nconns++;
	}
}

/* One pass over everything; -1 once the session is dead. */
static int
tunnel_run(struct tunnel *t)
{
	struct tunnel_conn	*c, *next;
	enum tunnel_res		 r;

	t->ssh_events = 0;
	if (t->stuck != NULL) {
		c = t->stuck;
		t->stuck = NULL;
		r = tunnel_op(t, c, t->stuck_op);
		if (r == RES_STUCK)
			return 0;
		t->stuck_ms = 0;
		if (r == RES_DEAD)
			return -1;
		if (r == RES_FAIL && c->state != CONN_CLOSING)
			tunnel_conn_end(c);
		t->ssh_events = 0;
	}
	t->accept_pause = 0;
	tunnel_accept(t);
	for (c = t->conns; c != NULL; c = next) {
		next = c->next;
		r = tunnel_conn_step(t, c);
		if (r == RES_DEAD)
			return -1;
		if (r == RES_STUCK)
			return 0;
		if (c->state == CONN_CLOSING && c->ch == NULL)
			tunnel_conn_unlink(t, c);
	}
	return 0;
}

static int
tunnel_pollset(struct tunnel *t, int *timeout)
{
	struct tunnel_conn	*c;
	int			 n = 3;
	int64_t			 left;

	*timeout = TUNNEL_TICK_MS;
	t->pfd[0].fd = t->wake[0];
	t->pfd[0].events = POLLIN;
	t->pfd[1].fd = t->listen_fd;
	t->pfd[1].events = POLLIN;
	t->pfd[2].fd = t->sock;
	/* RDHUP: the bastion hung up even while no channel reads. */
	t->pfd[2].events = t->ssh_events | POLLRDHUP;
	if (t->stuck != NULL || t->nconns >= TUNNEL_MAX_CONNS ||
	    t->accept_pause) {
		t->pfd[1].fd = -1;
		if (t->accept_pause)
			*timeout = 100;
	}
	if (t->stuck != NULL)
		return n;	/* nothing else may run until it is done */
	for (c = t->conns; c != NULL; c = c->next) {
		if (c->events == 0 || c->fd == -1)
			continue;
		t->pfd[n].fd = c->fd;
		t->pfd[n].events = c->events;
		n++;
	}
	if (t->opening != NULL) {
		left = t->opening->open_ms + TUNNEL_OPEN_MS - tunnel_mono_ms();
		if (left < *timeout)
			*timeout = left < 0 ? 0 : (int)left;
	}
	return n;
}

/* The clients learn at once that the tunnel is gone. */
static void
tunnel_drop_clients(struct tunnel *t)
{
	struct tunnel_conn	*c;

	for (c = t->conns; c != NULL; c = c->next)
		tunnel_conn_close_fd(c);
	if (t->listen_fd != -1)
		close(t->listen_fd);
	t->listen_fd = -1;
}

static void *
tunnel_main(void *arg)
{
	struct tunnel	*t = arg;
	int		 n, timeout, soerr;
	socklen_t	 sl;

	for (;;) {
		if (tunnel_run(t) == -1)
			break;
		n = tunnel_pollset(t, &timeout);
		if (poll(t->pfd, (nfds_t)n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			tunnel_die(t, "poll: %s", strerror(errno));
			break;
		}
		if (t->pfd[0].revents != 0)
			return NULL;		/* tunnel_close() */
		if (t->pfd[2].revents & (POLLHUP | POLLERR | POLLRDHUP)) {
			/*
			 * Channels that read get libssh2's own account of
			 * the end on the next pass; if none does, say it.
			 */
			if (++t->hup_seen > 2) {
				sl = sizeof(soerr);
				if (getsockopt(t->sock, SOL_SOCKET, SO_ERROR,
				    &soerr, &sl) == -1 || soerr == 0)
					tunnel_die(t, "connection closed by "
					    "the server");
				else
					tunnel_die(t, "connection lost: %s",
					    strerror(soerr));
				break;
			}
		}
		if (t->stuck != NULL &&
		    tunnel_mono_ms() - t->stuck_ms >= TUNNEL_STUCK_MS) {
			tunnel_die(t, "the server has not read for %d s",
			    TUNNEL_STUCK_MS / 1000);
			break;
		}
		if (t->stuck == NULL && t->opening != NULL &&
		    tunnel_mono_ms() - t->opening->open_ms >= TUNNEL_OPEN_MS) {
			tunnel_die(t, "no answer to the forwarding request for "
			    "%s:%d within %d s", t->host, t->port,
			    TUNNEL_OPEN_MS / 1000);
			break;
		}
	}
	tunnel_drop_clients(t);
	return NULL;
}

/* ------------------------------------------------------------------ */

static void
tunnel_free(struct tunnel *t)
{
	struct tunnel_conn	*c;
	int			 i, saved = errno;

	if (t == NULL)
		return;
	while ((c = t->conns) != NULL)
		tunnel_conn_unlink(t, c);	/* channels go with session */
	if (t->session != NULL) {
		libssh2_session_set_blocking(t->session, 0);
		if (t->ssh_up && !atomic_load(&t->dead))
			(void)libssh2_session_disconnect(t->session,
			    "vantage: tunnel closed");
		/* A dead socket makes every remaining close fail at once
		 * instead of waiting for answers that will not come. */
		if (t->sock != -1)
			shutdown(t->sock, SHUT_RDWR);
		for (i = 0; i < 100; i++)
			if (libssh2_session_free(t->session) !=
			    LIBSSH2_ERROR_EAGAIN)
				break;
	}
	if (t->sock != -1)
		close(t->sock);
	if (t->listen_fd != -1)
		close(t->listen_fd);
	if (t->wake[0] != -1)
		close(t->wake[0]);
	if (t->wake[1] != -1)
		close(t->wake[1]);
	free(t->host);
	free(t);
	errno = saved;
}

struct tunnel *
tunnel_open(const char *ssh_spec, const char *host, int port, char *err,
    size_t errlen)
{
	struct tunnel	*t = NULL;
	struct tunnel_kh k;
	char		 user[128], sshhost[256], name[300];
	int		 sshport, rc;
	sigset_t	 all, old;

	memset(&k, 0, sizeof(k));
	pthread_once(&tunnel_once, tunnel_init_lib);
	if (tunnel_init_rc != 0) {
		snprintf(err, errlen, "libssh2_init failed");
		return NULL;
	}
	if (tunnel_parse_spec(ssh_spec, user, sizeof(user), sshhost,
	    sizeof(sshhost), &sshport, err, errlen) == -1)
		return NULL;
	if (host == NULL || host[0] == '\0' || port < 1 || port > 65535) {
		snprintf(err, errlen, "bad target %s:%d for the tunnel",
		    host != NULL ? host : "(null)", port);
		return NULL;
	}

	t = xcalloc(1, sizeof(*t));
	t->sock = t->listen_fd = t->wake[0] = t->wake[1] = -1;
	t->host = xstrdup(host);
	t->port = port;
	atomic_init(&t->dead, 0);
	tunnel_kh_name(name, sizeof(name), sshhost, sshport);

	if (tunnel_connect(t, sshhost, sshport, err, errlen) == -1)
		goto fail;
	if ((t->session = libssh2_session_init()) == NULL) {
		snprintf(err, errlen, "cannot create an SSH session");
		goto fail;
	}
	/* Setup is blocking but bounded: each step waits at most this. */
	libssh2_session_set_blocking(t->session, 1);
	libssh2_session_set_timeout(t->session, TUNNEL_SSH_MS);
	if (tunnel_kh_load(t->session, &k, err, errlen) == -1)
		goto fail;
	tunnel_hostkey_prefs(t->session, &k, name);
	if (libssh2_session_handshake(t->session, t->sock) != 0) {
		snprintf(err, errlen, "SSH handshake with %s failed: %s", name,
		    tunnel_ssh_err(t->session));
		goto fail;
	}
	t->ssh_up = 1;
	if (tunnel_check_hostkey(t->session, &k, name, err, errlen) == -1)
		goto fail;
	tunnel_kh_free(&k);
	if (tunnel_auth(t, user, err, errlen) == -1)
		goto fail;
	if (tunnel_listen(t, err, errlen) == -1)
		goto fail;
	if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	libssh2_session_set_blocking(t->session, 0);

	/* The console's signals (SIGWINCH, SIGINT, ...) stay with it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, tunnel_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(rc));
		goto fail;
	}
	t->thread_started = 1;
	return t;
fail:
	tunnel_kh_free(&k);
	tunnel_free(t);
	return NULL;
}

int
tunnel_local_port(const struct tunnel *t)
{
	return t->local_port;
}

const char *
tunnel_error(const struct tunnel *t)
{
	if (atomic_load_explicit(&((struct tunnel *)t)->dead,
	    memory_order_acquire))
		return t->errbuf;
	return NULL;
}

void
tunnel_close(struct tunnel *t)
{
	if (t == NULL)
		return;
	if (t->thread_started) {
		if (write(t->wake[1], "x", 1) == -1) {
			/* EAGAIN: a wake-up is already pending */
		}
		pthread_join(t->thread, NULL);
	}
	tunnel_free(t);
}
