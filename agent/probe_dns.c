/*
 * probe_dns.c - "dns" probes: one query of one record type for the target
 * name, sent to the configured resolver (server = ip[:port]) or to the
 * system's, over UDP or TCP (protocol).  OK when the reply's rcode is
 * expect_rcode (NOERROR unless set) and, for NOERROR, it has at least one
 * answer of that type, expect_answer among them and one matching
 * expect_answer_regex.  res.code is the DNS rcode (0 NOERROR, 2 SERVFAIL,
 * 3 NXDOMAIN...).
 *
 * A truncated UDP reply (TC) is asked again over TCP within what is left
 * of the time budget: c-ares is told to hand truncated replies to us
 * (ARES_FLAG_IGNTC) so the result can say the answer came over TCP.  TCP
 * itself (the two-byte length prefix, the non-blocking connect, write and
 * read, matching the reply to the query) is c-ares's, on our loop like UDP.
 *
 * Each run has a c-ares channel of its own, driven by the agent's loop:
 * a probe measures one server with its own timeout, and a slow server of
 * one probe never queues another probe's query.  Channels are made with
 * ARES_FLAG_NOCHECKRESP so that SERVFAIL and REFUSED come back to us as a
 * reply with its rcode instead of c-ares quietly moving on to another
 * server.  Replies are parsed by c-ares's ares_parse_*_reply() where one
 * exists; CNAME and PTR answers by dns_walk_names() on ares_expand_name().
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "text.h"
#include "vantaged.h"

/* The options of one dns probe, described by dns_keys[]. */
struct dns_opts {
	char	*record;		/* A unless set */
	char	*expect_answer;
	char	*server;		/* resolver host[:port] */
	char	*protocol;		/* udp or tcp */
	char	*expect_rcode;		/* a name, or a number 0-15 */
	char	*expect_answer_regex;
	/* dns_check's */
	int	 want_rcode;
	int	 tcp;
	int	 answer_re_ok;
	regex_t	 answer_re;
};

static const struct probe_key dns_keys[] = {
	{ "record", CONF_STR, offsetof(struct dns_opts, record), NULL,
	    "record type to ask for (A unless set)" },
	{ "expect_answer", CONF_STR, offsetof(struct dns_opts, expect_answer),
	    NULL, "a value that must be among the answers" },
	{ "server", CONF_STR, offsetof(struct dns_opts, server), NULL,
	    "resolver to ask (the system's unless set)" },
	{ "protocol", CONF_STR, offsetof(struct dns_opts, protocol), "udp",
	    "udp or tcp (a truncated UDP answer is asked again over TCP)" },
	{ "expect_rcode", CONF_STR, offsetof(struct dns_opts, expect_rcode),
	    "NOERROR", "the rcode the answer must have (NXDOMAIN: the name "
	    "must not exist)" },
	{ "expect_answer_regex", CONF_REGEX, offsetof(struct dns_opts,
	    expect_answer_regex), NULL,
	    "a regex one of the answers' text forms must match" },
	{ NULL }
};

#define DNS_MAX_ADDRS	64	/* A/AAAA answers looked at per reply */
#define DNS_MAX_LIST	160	/* answers listed in an error message */

struct dns_rtype {
	const char	*name;
	int		 qtype;
};

static const struct dns_rtype dns_rtypes[] = {
	{ "A",		ns_t_a },
	{ "AAAA",	ns_t_aaaa },
	{ "CNAME",	ns_t_cname },
	{ "MX",		ns_t_mx },
	{ "NS",		ns_t_ns },
	{ "TXT",	ns_t_txt },
	{ "SOA",	ns_t_soa },
	{ "PTR",	ns_t_ptr },
	{ "SRV",	ns_t_srv },
};
#define DNS_N_RTYPES	(sizeof(dns_rtypes) / sizeof(dns_rtypes[0]))

/*
 * One answer: its text for messages and the part of it expect_answer is
 * compared with (the host of "10 mail.example.com", the whole of others).
 */
struct dns_answer {
	char		*text;
	size_t		 key_off;
	size_t		 key_len;
};

struct dns_answers {
	struct dns_answer	*v;
	int			 n;
};

struct dns_run {
	struct probe_run	*run;
	ares_channel		 ch;
	struct loop_timer	*timer;		/* c-ares's next timeout */
	struct loop_timer	*deadline;	/* end of our time budget */
	int64_t			 budget_ms;
	const struct dns_rtype	*rt;
	int			 closing;	/* ignore c-ares callbacks */
	int			 tcp;		/* this channel asks over TCP */
	int			 fallback;	/* ... because UDP was cut */
	int			 answered;
	int			 status;	/* ares status of the answer */
	unsigned char		*abuf;		/* copy of the reply */
	int			 alen;
	char			 name[256];	/* what we ask for */
	char			 server[80];	/* for messages */
};

/* System resolvers seen by the last channel: splits the time budget. */
static int	dns_n_sys_servers = 1;

static const struct dns_rtype *
dns_rtype_find(const char *name)
{
	size_t	i;

	if (name == NULL)
		return &dns_rtypes[0];
	for (i = 0; i < DNS_N_RTYPES; i++) {
		if (strcasecmp(dns_rtypes[i].name, name) == 0)
			return &dns_rtypes[i];
	}
	return NULL;
}

/* The rcodes of a DNS header (RFC 1035, 2136), as dig(1) names them. */
static const char *const dns_rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"
};
#define DNS_N_RCODES	(sizeof(dns_rcodes) / sizeof(dns_rcodes[0]))

static const char *
dns_rcode_str(int rcode)
{
	if (rcode >= 0 && (size_t)rcode < DNS_N_RCODES)
		return dns_rcodes[rcode];
	return NULL;
}

/* "NXDOMAIN" (any case) or "3" -> 3; "NOTIMPL" for NOTIMP; -1 if neither. */
static int
dns_rcode_parse(const char *s)
{
	char	*end;
	long	 v;
	size_t	 i;

	for (i = 0; i < DNS_N_RCODES; i++) {
		if (strcasecmp(s, dns_rcodes[i]) == 0)
			return (int)i;
	}
	if (strcasecmp(s, "NOTIMPL") == 0)
		return ns_r_notimpl;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > 15)
		return -1;
	return (int)v;
}

/* "rcode NXDOMAIN" or "rcode 12" for messages. */
static void
dns_rcode_name(int rcode, char *out, size_t outlen)
{
	const char	*s = dns_rcode_str(rcode);

	if (s != NULL)
		snprintf(out, outlen, "%s", s);
	else
		snprintf(out, outlen, "%d", rcode);
}

/*
 * What the fixed header of a reply says: its rcode and whether it was
 * truncated (TC); -1 when there is no whole header.
 */
static int
dns_reply_header(const unsigned char *abuf, int alen, int *rcode, int *tc)
{
	if (abuf == NULL || alen < NS_HFIXEDSZ)
		return -1;
	*tc = (abuf[2] & 0x02) != 0;
	*rcode = abuf[3] & 0x0f;
	return 0;
}

/*
 * "ip", "ip:port", "[v6]:port" or a bare v6 address -> the "ip:port" /
 * "[v6]:port" form ares_set_servers_ports_csv() takes.  A name is refused:
 * resolving the resolver would need a resolver.
 */
static int
dns_server_csv(const char *server, char *csv, size_t csvlen, char *err,
    size_t errlen)
{
	struct in6_addr	a6;
	struct in_addr	a4;
	char		host[INET6_ADDRSTRLEN + 8], e[160];
	int		port;

	if (net_split_target(server, host, sizeof(host), &port, NS_DEFAULTPORT,
	    e, sizeof(e)) == -1) {
		snprintf(err, errlen, "server: %s", e);
		return -1;
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		snprintf(csv, csvlen, "%s:%d", host, port);
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		snprintf(csv, csvlen, "[%s]:%d", host, port);
	else {
		snprintf(err, errlen, "server '%s' is not an IP address with "
		    "an optional port (127.0.0.1:53, [::1]:53)", server);
		return -1;
	}
	return 0;
}

/* A host name as DNS allows it: labels of 1-63 letters, digits, - or _. */
static int
dns_name_ok(const char *name)
{
	size_t	len = strlen(name), label = 0, i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* PTR of an address: the in-addr.arpa / ip6.arpa name to ask for. */
static int
dns_reverse_name(const char *addr, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 b[16];
	size_t			 off = 0;
	int			 i;

	if (inet_pton(AF_INET, addr, b) == 1) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
		    b[1], b[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, b) != 1 || outlen < 64 + 9)
		return -1;
	for (i = 15; i >= 0; i--) {
		out[off++] = hex[b[i] & 0xf];
		out[off++] = '.';
		out[off++] = hex[b[i] >> 4];
		out[off++] = '.';
	}
	memcpy(out + off, "ip6.arpa", 9);
	return 0;
}

/* Takes text; its key is key_len bytes at key_off (to the end: -1). */
static void
dns_answers_add(struct dns_answers *a, char *text, size_t key_off,
    size_t key_len)
{
	size_t	len = strlen(text);

	if (key_off > len)
		key_off = len;
	if (key_len > len - key_off)
		key_len = len - key_off;
	a->v = xreallocarray(a->v, (size_t)a->n + 1, sizeof(*a->v));
	a->v[a->n].text = text;
	a->v[a->n].key_off = key_off;
	a->v[a->n].key_len = key_len;
	a->n++;
}

static void
dns_answers_free(struct dns_answers *a)
{
	int	i;

	for (i = 0; i < a->n; i++)
		free(a->v[i].text);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/*
 * Answers of type qtype whose data is one domain name (CNAME, PTR): walks
 * the reply's sections with ares_expand_name(), which handles compression
 * and its loops.  Offsets, not pointers, so nothing points past abuf.
 */
static int
dns_walk_names(int qtype, const unsigned char *abuf, int alen,
    struct dns_answers *a, char *err, size_t errlen)
{
	size_t	off = NS_HFIXEDSZ, end = (size_t)alen;
	char	*name;
	long	 enc;
	int	 qd, an, i, type, klass, rdlen;

	if (alen < NS_HFIXEDSZ)
		goto bad;
	qd = abuf[4] << 8 | abuf[5];
	an = abuf[6] << 8 | abuf[7];
	for (i = 0; i < qd; i++) {
		if (off >= end || ares_expand_name(abuf + off, abuf, alen,
		    &name, &enc) != ARES_SUCCESS)
			goto bad;
		ares_free_string(name);
		off += (size_t)enc;
		if (end - off < NS_QFIXEDSZ)
			goto bad;
		off += NS_QFIXEDSZ;
	}
	for (i = 0; i < an; i++) {
		if (off >= end || ares_expand_name(abuf + off, abuf, alen,
		    &name, &enc) != ARES_SUCCESS)
			goto bad;
		ares_free_string(name);
		off += (size_t)enc;
		if (end - off < NS_RRFIXEDSZ)
			goto bad;
		type = abuf[off] << 8 | abuf[off + 1];
		klass = abuf[off + 2] << 8 | abuf[off + 3];
		rdlen = abuf[off + 8] << 8 | abuf[off + 9];
		off += NS_RRFIXEDSZ;
		if (end - off < (size_t)rdlen)
			goto bad;
		if (type == qtype && klass == ns_c_in) {
			if (rdlen == 0 || ares_expand_name(abuf + off, abuf,
			    alen, &name, &enc) != ARES_SUCCESS)
				goto bad;
			if (enc > rdlen) {
				ares_free_string(name);
				goto bad;
			}
			dns_answers_add(a, xstrdup(name), 0, SIZE_MAX);
			ares_free_string(name);
		}
		off += (size_t)rdlen;
	}
	return 0;
 bad:
	snprintf(err, errlen, "malformed reply");
	return -1;
}

/* TXT strings of one record, joined; bytes that are not text become '?'. */
static char *
dns_txt_text(struct ares_txt_ext **tp)
{
	struct ares_txt_ext	*t = *tp;
	struct buf		 b;
	size_t			 i;

	buf_init(&b);
	do {
		for (i = 0; i < t->length; i++) {
			unsigned char ch = t->txt[i];

			buf_addc(&b, isprint(ch) ? (char)ch : '?');
		}
		t = t->next;
	} while (t != NULL && !t->record_start);
	*tp = t;
	if (b.data == NULL)
		return xstrdup("");
	return buf_release(&b, NULL);
}

/*
 * The answers of type qtype in a reply, as text.  0 with a->n == 0 when
 * the reply holds none; -1 + err when it does not parse.
 */
static int
dns_answers_parse(int qtype, const unsigned char *abuf, int alen,
    struct dns_answers *a, char *err, size_t errlen)
{
	struct ares_addrttl	 a4[DNS_MAX_ADDRS];
	struct ares_addr6ttl	 a6[DNS_MAX_ADDRS];
	struct ares_mx_reply	*mx = NULL, *m;
	struct ares_srv_reply	*srv = NULL, *s;
	struct ares_txt_ext	*txt = NULL, *t;
	struct ares_soa_reply	*soa = NULL;
	struct hostent		*he = NULL;
	char			 addr[INET6_ADDRSTRLEN], *text;
	int			 rc = ARES_SUCCESS, n, i;

	if (alen < NS_HFIXEDSZ) {
		snprintf(err, errlen, "short reply");
		return -1;
	}
	/* No answer at all (NODATA): some parsers would call it malformed. */
	if ((abuf[6] << 8 | abuf[7]) == 0)
		return 0;
	switch (qtype) {
	case ns_t_a:
		n = DNS_MAX_ADDRS;
		if ((rc = ares_parse_a_reply(abuf, alen, NULL, a4, &n)) !=
		    ARES_SUCCESS)
			break;
		for (i = 0; i < n; i++) {
			inet_ntop(AF_INET, &a4[i].ipaddr, addr, sizeof(addr));
			dns_answers_add(a, xstrdup(addr), 0, SIZE_MAX);
		}
		break;
	case ns_t_aaaa:
		n = DNS_MAX_ADDRS;
		if ((rc = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n)) !=
		    ARES_SUCCESS)
			break;
		for (i = 0; i < n; i++) {
			inet_ntop(AF_INET6, &a6[i].ip6addr, addr, sizeof(addr));
			dns_answers_add(a, xstrdup(addr), 0, SIZE_MAX);
		}
		break;
	case ns_t_mx:
		if ((rc = ares_parse_mx_reply(abuf, alen, &mx)) != ARES_SUCCESS)
			break;
		for (m = mx; m != NULL; m = m->next) {
			xasprintf(&text, "%u %s", m->priority, m->host);
			dns_answers_add(a, text, strcspn(text, " ") + 1,
			    SIZE_MAX);
		}
		break;
	case ns_t_srv:
		if ((rc = ares_parse_srv_reply(abuf, alen, &srv)) !=
		    ARES_SUCCESS)
			break;
		for (s = srv; s != NULL; s = s->next) {
			xasprintf(&text, "%u %u %u %s", s->priority, s->weight,
			    s->port, s->host);
			dns_answers_add(a, text, (size_t)(strrchr(text, ' ') -
			    text) + 1, SIZE_MAX);
		}
		break;
	case ns_t_ns:
		if ((rc = ares_parse_ns_reply(abuf, alen, &he)) != ARES_SUCCESS)
			break;
		for (i = 0; he->h_aliases != NULL && he->h_aliases[i] != NULL;
		    i++)
			dns_answers_add(a, xstrdup(he->h_aliases[i]), 0,
			    SIZE_MAX);
		break;
	case ns_t_txt:
		if ((rc = ares_parse_txt_reply_ext(abuf, alen, &txt)) !=
		    ARES_SUCCESS)
			break;
		for (t = txt; t != NULL; )
			dns_answers_add(a, dns_txt_text(&t), 0, SIZE_MAX);
		break;
	case ns_t_soa:
		if ((rc = ares_parse_soa_reply(abuf, alen, &soa)) !=
		    ARES_SUCCESS)
			break;
		xasprintf(&text, "%s %s %u", soa->nsname, soa->hostmaster,
		    soa->serial);
		/* the key is the primary name server, the first word */
		dns_answers_add(a, text, 0, strlen(soa->nsname));
		break;
	case ns_t_cname:
	case ns_t_ptr:
		return dns_walk_names(qtype, abuf, alen, a, err, errlen);
	default:
		snprintf(err, errlen, "record type %d not supported", qtype);
		return -1;
	}
	if (mx != NULL)
		ares_free_data(mx);
	if (srv != NULL)
		ares_free_data(srv);
	if (txt != NULL)
		ares_free_data(txt);
	if (soa != NULL)
		ares_free_data(soa);
	if (he != NULL)
		ares_free_hostent(he);
	if (rc == ARES_SUCCESS || rc == ARES_ENODATA)
		return 0;
	snprintf(err, errlen, "malformed reply (%s)", ares_strerror(rc));
	return -1;
}

/* Names compare without case and without a final dot. */
static int
dns_name_eq(const char *a, size_t la, const char *b)
{
	size_t	lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static int
dns_answers_has(const struct dns_answers *a, int qtype, const char *want)
{
	unsigned char	bin[16];
	char		canon[INET6_ADDRSTRLEN];
	int		i, af;

	/* Addresses compare as addresses: "::1" is "0:0::1". */
	if (qtype == ns_t_a || qtype == ns_t_aaaa) {
		af = qtype == ns_t_a ? AF_INET : AF_INET6;
		if (inet_pton(af, want, bin) == 1 &&
		    inet_ntop(af, bin, canon, sizeof(canon)) != NULL)
			want = canon;
	}
	for (i = 0; i < a->n; i++) {
		const struct dns_answer *v = &a->v[i];

		if (qtype == ns_t_txt) {
			if (strcmp(v->text, want) == 0)
				return 1;
		} else if (dns_name_eq(v->text + v->key_off, v->key_len,
		    want) || dns_name_eq(v->text, strlen(v->text), want))
			return 1;
	}
	return 0;
}

/* Does one answer's text form match re?  (Each is a whole string.) */
static int
dns_answers_match(const struct dns_answers *a, const regex_t *re)
{
	int	i;

	for (i = 0; i < a->n; i++) {
		if (regexec(re, a->v[i].text, 0, NULL, 0) == 0)
			return 1;
	}
	return 0;
}

/* "a, b, c" for messages, remote text escaped, cut with "...". */
static void
dns_answers_list(const struct dns_answers *a, char *out, size_t outlen)
{
	char	esc[DNS_MAX_LIST];
	size_t	off = 0;
	int	i, w;

	out[0] = '\0';
	for (i = 0; i < a->n && off < outlen; i++) {
		text_escape(a->v[i].text, esc, sizeof(esc));
		w = snprintf(out + off, outlen - off, "%s%s", i > 0 ? ", " : "",
		    esc);
		if (w < 0 || (size_t)w >= outlen - off) {
			/* cut: say so rather than end in a half answer */
			if (outlen > 4)
				memcpy(out + outlen - 4, "...", 4);
			break;
		}
		off += (size_t)w;
	}
}

/* Ends the channel and forgets its answer (the deadline stays). */
static void
dns_channel_drop(struct dns_run *d)
{
	d->closing = 1;
	if (d->timer != NULL) {
		loop_timer_del(d->timer);
		d->timer = NULL;
	}
	if (d->ch != NULL) {
		/* calls dns_answer (ignored) and dns_sock_state(fd, 0, 0) */
		ares_destroy(d->ch);
		d->ch = NULL;
	}
	free(d->abuf);
	d->abuf = NULL;
	d->alen = 0;
	d->answered = 0;
	d->closing = 0;
}

static void
dns_close(struct dns_run *d)
{
	if (d == NULL)
		return;
	dns_channel_drop(d);
	if (d->deadline != NULL) {
		loop_timer_del(d->deadline);
		d->deadline = NULL;
	}
	free(d);
}

static int	dns_ask(struct dns_run *, int tcp, char *err, size_t);

static void
dns_evaluate(struct dns_run *d)
{
	struct probe_run	*run = d->run;
	const struct dns_opts	*o = run->conf->opts;
	const char		*want = o->expect_answer, *over;
	struct dns_answers	 a = { NULL, 0 };
	char			 msg[800], list[DNS_MAX_LIST], err[256];
	char			 got[16], exp[16];
	enum probe_status	 st = PROBE_FAIL;
	int			 rcode = -1, tc = 0;

	over = d->tcp ? " over tcp" : "";
	if (dns_reply_header(d->abuf, d->alen, &rcode, &tc) == -1) {
		switch (d->status) {
		case ARES_ETIMEOUT:
			snprintf(msg, sizeof(msg), "timeout: no answer from "
			    "%s%s within %" PRId64 "ms", d->server, over,
			    d->budget_ms);
			break;
		case ARES_ECONNREFUSED:
			snprintf(msg, sizeof(msg), "%s refused the query%s "
			    "(nothing listening?)", d->server, over);
			break;
		default:
			snprintf(msg, sizeof(msg), "%s %s%s: %s", d->rt->name,
			    d->name, over, ares_strerror(d->status));
			break;
		}
		goto done;
	}
	/* Cut short over UDP: ask again over TCP with the time left. */
	if (tc && !d->tcp) {
		d->fallback = 1;
		dns_channel_drop(d);
		if (dns_ask(d, 1, err, sizeof(err)) == -1) {
			snprintf(msg, sizeof(msg), "%s", err);
			goto done;
		}
		return;
	}
	run->res.code = rcode;
	if (rcode != o->want_rcode) {
		dns_rcode_name(rcode, got, sizeof(got));
		dns_rcode_name(o->want_rcode, exp, sizeof(exp));
		snprintf(msg, sizeof(msg), "rcode %s, expected %s (%s %s)",
		    got, exp, d->rt->name, d->name);
		goto done;
	}
	if (rcode != ns_r_noerror) {
		/* what was expected: NXDOMAIN for a name that must be gone */
		st = PROBE_OK;
		msg[0] = '\0';
		goto done;
	}
	if (dns_answers_parse(d->rt->qtype, d->abuf, d->alen, &a, err,
	    sizeof(err)) == -1) {
		snprintf(msg, sizeof(msg), "%s %s: %s from %s", d->rt->name,
		    d->name, err, d->server);
		goto done;
	}
	if (a.n == 0) {
		snprintf(msg, sizeof(msg), "no %s record for %s", d->rt->name,
		    d->name);
		goto done;
	}
	if (want != NULL && !dns_answers_has(&a, d->rt->qtype, want)) {
		dns_answers_list(&a, list, sizeof(list));
		snprintf(msg, sizeof(msg), "answer %s not among %s", want,
		    list);
		goto done;
	}
	if (o->answer_re_ok && !dns_answers_match(&a, &o->answer_re)) {
		dns_answers_list(&a, list, sizeof(list));
		/* the regex is the operator's own: shown as written */
		snprintf(msg, sizeof(msg), "no answer matches /%.80s/: got %s",
		    o->expect_answer_regex, list);
		goto done;
	}
	st = PROBE_OK;
	msg[0] = '\0';
 done:
	if (rcode != -1)
		probe_result_detail(&run->res, "\"protocol\":\"%s\","
		    "\"tcp_fallback\":%s,\"rcode\":%d,\"answers\":%d",
		    d->tcp ? "tcp" : "udp", d->fallback ? "true" : "false",
		    rcode, a.n);
	dns_answers_free(&a);
	probe_finish(d->run, st, "%s", msg);
}

static void
dns_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_run	*d = arg;

	if (d->closing || d->answered)
		return;
	d->answered = 1;
	d->status = status;
	d->run->res.latency_us = clock_mono_us() - d->run->start_us;
	if (abuf != NULL && alen >= NS_HFIXEDSZ) {
		d->abuf = xmalloc((size_t)alen);
		memcpy(d->abuf, abuf, (size_t)alen);
		d->alen = alen;
	}
}

static void	dns_rearm(struct dns_run *);

/*
 * After c-ares ran: finish when the answer is in (never inside c-ares's
 * own callback: the channel is destroyed on the way out), else follow its
 * next timeout.
 */
static void
dns_after(struct dns_run *d)
{
	if (d->answered)
		dns_evaluate(d);
	else
		dns_rearm(d);
}

static void
dns_fd_cb(int fd, uint32_t events, void *arg)
{
	struct dns_run	*d = arg;
	ares_socket_t	 rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rfd = fd;
	if (events & (EPOLLOUT | EPOLLERR))
		wfd = fd;
	ares_process_fd(d->ch, rfd, wfd);
	dns_after(d);
}

static void
dns_timer_cb(void *arg)
{
	struct dns_run	*d = arg;

	d->timer = NULL;
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_after(d);
}

static void
dns_deadline_cb(void *arg)
{
	struct dns_run	*d = arg;

	d->deadline = NULL;
	d->answered = 1;
	d->status = ARES_ETIMEOUT;
	d->run->res.latency_us = clock_mono_us() - d->run->start_us;
	dns_evaluate(d);
}

static void
dns_rearm(struct dns_run *d)
{
	struct timeval	tv, *tvp;

	if (d->timer != NULL) {
		loop_timer_del(d->timer);
		d->timer = NULL;
	}
	if ((tvp = ares_timeout(d->ch, NULL, &tv)) != NULL)
		d->timer = loop_timer_add((int64_t)tvp->tv_sec * 1000000 +
		    tvp->tv_usec, dns_timer_cb, d);
}

static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_run	*d = data;
	uint32_t	 ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	/* no interest: c-ares is about to close fd */
	if (loop_fd_want(fd, ev, dns_fd_cb, d) == -1)
		log_warn("%s: epoll fd %d", __func__, (int)fd);
}

/*
 * A fresh channel: our loop, our timeout, one try per server; over TCP
 * only, or over UDP with truncated replies handed to us.
 */
static int
dns_channel(struct dns_run *d, const char *csv, int64_t per_try_ms, int tcp,
    char *err, size_t errlen)
{
	struct ares_options		 opts;
	struct ares_addr_port_node	*servers = NULL, *s;
	int				 rc, n = 0;

	memset(&opts, 0, sizeof(opts));
	opts.flags = ARES_FLAG_NOCHECKRESP |
	    (tcp ? ARES_FLAG_USEVC : ARES_FLAG_IGNTC);
	opts.timeout = per_try_ms > INT32_MAX ? INT32_MAX : (int)per_try_ms;
	opts.tries = 1;
	opts.sock_state_cb = dns_sock_state;
	opts.sock_state_cb_data = d;
	rc = ares_init_options(&d->ch, &opts, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
	if (rc != ARES_SUCCESS) {
		d->ch = NULL;
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return -1;
	}
	if (csv != NULL) {
		if ((rc = ares_set_servers_ports_csv(d->ch, csv)) !=
		    ARES_SUCCESS) {
			snprintf(err, errlen, "server %s: %s", csv,
			    ares_strerror(rc));
			return -1;
		}
		return 0;
	}
	/* Remember how many system resolvers share the next budget. */
	if (ares_get_servers_ports(d->ch, &servers) == ARES_SUCCESS) {
		for (s = servers; s != NULL; s = s->next)
			n++;
		ares_free_data(servers);
	}
	dns_n_sys_servers = n > 0 ? n : 1;
	return 0;
}

/*
 * Sends the query on a new channel (over TCP when tcp), its tries within
 * what is left of the budget; the answer comes to dns_after().
 */
static int
dns_ask(struct dns_run *d, int tcp, char *err, size_t errlen)
{
	const struct dns_opts	*o = d->run->conf->opts;
	char			 csv[INET6_ADDRSTRLEN + 16];
	int64_t			 left;
	int			 nserv = 1;

	if (o->server != NULL) {
		if (dns_server_csv(o->server, csv, sizeof(csv), err,
		    errlen) == -1)
			return -1;
	} else
		nserv = dns_n_sys_servers;
	left = d->budget_ms - (clock_mono_us() - d->run->start_us) / 1000;
	if (left < 1)
		left = 1;
	d->tcp = tcp;
	if (dns_channel(d, o->server != NULL ? csv : NULL,
	    left / nserv > 0 ? left / nserv : 1, tcp, err, errlen) == -1)
		return -1;
	ares_query(d->ch, d->name, ns_c_in, d->rt->qtype, dns_answer, d);
	/* c-ares may have answered already (a name it refuses to send). */
	dns_after(d);
	return 0;
}

static void
dns_start(struct probe_run *run)
{
	const struct probe_conf	*c = run->conf;
	const struct dns_opts	*o = c->opts;
	struct dns_run		*d;
	char			 csv[INET6_ADDRSTRLEN + 16], err[256];
	int64_t			 margin;

	d = xcalloc(1, sizeof(*d));
	d->run = run;
	run->priv = d;
	if ((d->rt = dns_rtype_find(o->record)) == NULL) {
		snprintf(err, sizeof(err), "unknown record type %s", o->record);
		goto fail;
	}
	if (d->rt->qtype == ns_t_ptr &&
	    dns_reverse_name(c->target, d->name, sizeof(d->name)) == 0)
		;	/* an address: ask for its reverse name */
	else
		strlcpy_v(d->name, c->target, sizeof(d->name));
	if (o->server != NULL) {
		if (dns_server_csv(o->server, csv, sizeof(csv), err,
		    sizeof(err)) == -1)
			goto fail;
		strlcpy_v(d->server, csv, sizeof(d->server));
	} else
		strlcpy_v(d->server, "the system resolvers", sizeof(d->server));
	/*
	 * End a little before the engine's timeout so the result says which
	 * server did not answer; c-ares gets one try per server within it.
	 */
	margin = c->timeout_ms / 10;
	if (margin > 50)
		margin = 50;
	if (margin < 1)
		margin = 1;
	d->budget_ms = c->timeout_ms > margin ? c->timeout_ms - margin : 1;
	d->deadline = loop_timer_add(d->budget_ms * 1000, dns_deadline_cb, d);
	/* may finish the run (and free d) before it returns */
	if (dns_ask(d, o->tcp, err, sizeof(err)) == -1)
		goto fail;
	return;
 fail:
	probe_finish(d->run, PROBE_FAIL, "%s", err);
}

static void
dns_release(void *priv)
{
	dns_close(priv);
}

static int
dns_check(struct probe_conf *c, const char **key, char *err,
    size_t errlen)
{
	struct dns_opts		*o = c->opts;
	const struct dns_rtype	*rt;
	unsigned char		 bin[16];
	char			 csv[INET6_ADDRSTRLEN + 16], rev[256];
	size_t			 i, off = 0;
	int			 w;

	if ((rt = dns_rtype_find(o->record)) == NULL) {
		off = (size_t)snprintf(err, errlen, "record '%s' is not one of",
		    o->record);
		for (i = 0; i < DNS_N_RTYPES && off < errlen; i++) {
			w = snprintf(err + off, errlen - off, " %s",
			    dns_rtypes[i].name);
			if (w < 0)
				break;
			off += (size_t)w;
		}
		*key = "record";
		return -1;
	}
	if (o->server != NULL &&
	    dns_server_csv(o->server, csv, sizeof(csv), err, errlen) == -1) {
		*key = "server";
		return -1;
	}
	if (!(rt->qtype == ns_t_ptr &&
	    dns_reverse_name(c->target, rev, sizeof(rev)) == 0) &&
	    !dns_name_ok(c->target)) {
		snprintf(err, errlen, "target '%s' is not a DNS name",
		    c->target);
		return -1;
	}
	if (o->protocol != NULL && strcasecmp(o->protocol, "udp") != 0 &&
	    strcasecmp(o->protocol, "tcp") != 0) {
		snprintf(err, errlen, "protocol must be udp or tcp, not '%s'",
		    o->protocol);
		*key = "protocol";
		return -1;
	}
	o->tcp = o->protocol != NULL && strcasecmp(o->protocol, "tcp") == 0;
	o->want_rcode = ns_r_noerror;
	if (o->expect_rcode != NULL &&
	    (o->want_rcode = dns_rcode_parse(o->expect_rcode)) == -1) {
		snprintf(err, errlen, "expect_rcode '%s' is not an rcode "
		    "(NOERROR, NXDOMAIN, SERVFAIL, REFUSED..., or 0 to 15)",
		    o->expect_rcode);
		*key = "expect_rcode";
		return -1;
	}
	/* Only a NOERROR reply has answers to look at. */
	if (o->want_rcode != ns_r_noerror && (o->expect_answer != NULL ||
	    o->expect_answer_regex != NULL)) {
		snprintf(err, errlen, "%s needs expect_rcode NOERROR, not %s",
		    o->expect_answer != NULL ? "expect_answer" :
		    "expect_answer_regex", o->expect_rcode);
		*key = "expect_rcode";
		return -1;
	}
	if (o->expect_answer_regex != NULL) {
		char	msg[128];
		int	rerr;

		if ((rerr = regcomp(&o->answer_re, o->expect_answer_regex,
		    REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rerr, &o->answer_re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regex: %s", msg);
			*key = "expect_answer_regex";
			return -1;
		}
		o->answer_re_ok = 1;
	}
	if (o->expect_answer != NULL && (rt->qtype == ns_t_a ||
	    rt->qtype == ns_t_aaaa) && inet_pton(rt->qtype == ns_t_a ?
	    AF_INET : AF_INET6, o->expect_answer, bin) != 1) {
		snprintf(err, errlen, "expect_answer '%s' is not an %s address",
		    o->expect_answer, rt->qtype == ns_t_a ? "IPv4" : "IPv6");
		*key = "expect_answer";
		return -1;
	}
	return 0;
}

static void
dns_free_opts(void *opts)
{
	struct dns_opts	*o = opts;

	if (o->answer_re_ok)
		regfree(&o->answer_re);
	o->answer_re_ok = 0;
}

static int
dns_init(char *err, size_t errlen)
{
	int	rc;

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return -1;
	}
	return 0;
}

const struct probe_type probe_dns_type = {
	.name = "dns",
	.opts_size = sizeof(struct dns_opts),
	.keys = dns_keys,
	.check = dns_check,
	.free_opts = dns_free_opts,
	.init = dns_init,
	.shutdown = NULL,
	.start = dns_start,
	.release = dns_release,
};
