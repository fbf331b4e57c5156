/*
 * starttls.c - the plaintext dialogue before STARTTLS: the server's
 * greeting, SMTP's EHLO, the upgrade command and its answer, for SMTP
 * (RFC 3207), IMAP (RFC 9051 6.2.1) and POP3 (RFC 2595).  Only parsing
 * lives here; probe_tls.c moves the bytes.
 *
 * The server is untrusted: replies are bounded by in[], lines are taken
 * as bytes (a NUL is just a byte), and what reaches an error message is
 * escaped and cut short.  Lines end at LF; a CR before it is dropped.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vantaged.h"
#include "text.h"


enum { R_MORE, R_DONE, R_FAIL };

int
starttls_proto_parse(const char *s, enum starttls_proto *p)
{
	if (strcmp(s, "smtp") == 0)
		*p = STARTTLS_SMTP;
	else if (strcmp(s, "imap") == 0)
		*p = STARTTLS_IMAP;
	else if (strcmp(s, "pop3") == 0)
		*p = STARTTLS_POP3;
	else
		return -1;
	return 0;
}

const char *
starttls_proto_name(enum starttls_proto p)
{
	switch (p) {
	case STARTTLS_SMTP:
		return "SMTP";
	case STARTTLS_IMAP:
		return "IMAP";
	case STARTTLS_POP3:
		return "POP3";
	case STARTTLS_NONE:
		break;
	}
	return "none";
}

static int
helo_ok(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return 0;
	}
	return 1;
}

void
starttls_init(struct starttls *st, enum starttls_proto proto,
    const char *helo)
{
	memset(st, 0, sizeof(*st));
	st->proto = proto;
	snprintf(st->helo, sizeof(st->helo), "%s",
	    helo != NULL && helo_ok(helo) ? helo : "localhost");
}

/*
 * The n bytes at s, escaped for an error message: at most
 * STARTTLS_QUOTE_MAX bytes of input and STARTTLS_QUOTE_LEN of output, cut at a
 * character boundary, with "..." marking a cut.  A NUL is shown as \x00
 * (the escape itself would stop at one).
 */
void
starttls_quote(const char *s, size_t n, char *out, size_t outlen)
{
	char	seg[STARTTLS_QUOTE_MAX + 1], esc[STARTTLS_QUOTE_MAX * 8 + 1];
	size_t	o = 0, k, i = 0, cut, room;
	int	cutshort;

	if (outlen > STARTTLS_QUOTE_LEN)
		outlen = STARTTLS_QUOTE_LEN;
	if (outlen < 4) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	room = outlen - 3;	/* "..." may follow */
	cut = n > STARTTLS_QUOTE_MAX ? STARTTLS_QUOTE_MAX : n;
	cutshort = n > cut;
	out[0] = '\0';
	while (i < cut) {
		if (s[i] == '\0') {
			if (room - o < 5) {
				cutshort = 1;
				break;
			}
			memcpy(out + o, "\\x00", 5);
			o += 4;
			i++;
			continue;
		}
		for (k = 0; i + k < cut && s[i + k] != '\0'; k++)
			seg[k] = s[i + k];
		seg[k] = '\0';
		text_escape(seg, esc, sizeof(esc));
		if (strlen(esc) < room - o) {
			memcpy(out + o, esc, strlen(esc) + 1);
			o += strlen(esc);
			i += k;
			continue;
		}
		/* the escape cuts at a character boundary */
		text_escape(seg, out + o, room - o);
		o += strlen(out + o);
		cutshort = 1;
		break;
	}
	if (cutshort)
		memcpy(out + o, "...", 4);
}

/* The line at in[pos]: its length without CR LF, the next pos; -1: none. */
static int
line_at(const struct starttls *st, size_t pos, size_t *len, size_t *next)
{
	const char	*nl;

	if (pos >= st->inlen ||
	    (nl = memchr(st->in + pos, '\n', st->inlen - pos)) == NULL)
		return -1;
	*next = (size_t)(nl - st->in) + 1;
	*len = (size_t)(nl - (st->in + pos));
	if (*len > 0 && st->in[pos + *len - 1] == '\r')
		(*len)--;
	return 0;
}

/* A reply that is not complete yet: wait for more unless in[] is full. */
static int
more_or_full(const struct starttls *st, const char *what, char *err,
    size_t errlen)
{
	if (st->inlen < sizeof(st->in))
		return R_MORE;
	snprintf(err, errlen, "%s %s: reply longer than %zu bytes",
	    starttls_proto_name(st->proto), what, sizeof(st->in));
	return R_FAIL;
}

/*
 * One SMTP reply, possibly multi-line ("250-a", "250-b", "250 c"): its
 * code, the bytes it took, whether a line is the STARTTLS extension, and
 * its last line for messages.
 */
static int
smtp_reply(struct starttls *st, const char *what, int *code, size_t *used,
    int *has_starttls, size_t *last, size_t *lastlen, char *err,
    size_t errlen)
{
	char		 q[STARTTLS_QUOTE_LEN];
	const char	*l;
	size_t		 pos = 0, n, next;
	int		 c, first = -1;

	*has_starttls = 0;
	while (line_at(st, pos, &n, &next) == 0) {
		l = st->in + pos;
		if (n < 3 || !isdigit((unsigned char)l[0]) ||
		    !isdigit((unsigned char)l[1]) ||
		    !isdigit((unsigned char)l[2]) ||
		    (n > 3 && l[3] != ' ' && l[3] != '-')) {
			starttls_quote(l, n, q, sizeof(q));
			snprintf(err, errlen, "SMTP %s: not an SMTP reply: "
			    "\"%s\"", what, q);
			return R_FAIL;
		}
		c = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (first == -1)
			first = c;
		else if (c != first) {
			starttls_quote(l, n, q, sizeof(q));
			snprintf(err, errlen, "SMTP %s: reply code changes "
			    "from %d mid-reply: \"%s\"", what, first, q);
			return R_FAIL;
		}
		/* "250-STARTTLS" or "250 STARTTLS", maybe with parameters */
		if (n >= 12 && strncasecmp(l + 4, "STARTTLS", 8) == 0 &&
		    (n == 12 || l[12] == ' '))
			*has_starttls = 1;
		pos = next;
		if (n == 3 || l[3] == ' ') {
			*code = c;
			*used = pos;
			*last = (size_t)(l - st->in);
			*lastlen = n;
			return R_DONE;
		}
	}
	return more_or_full(st, what, err, errlen);
}

/* Queues cmd and drops the reply just handled. */
static enum starttls_next
send_cmd(struct starttls *st, const char *cmd)
{
	int	n;

	n = snprintf(st->out, sizeof(st->out), "%s\r\n", cmd);
	st->outlen = n > 0 && (size_t)n < sizeof(st->out) ? (size_t)n : 0;
	st->inlen = 0;
	st->step++;
	return STARTTLS_SEND;
}

/*
 * The answer to the upgrade command was the last thing the server may
 * send in clear: anything after it would be read as the start of TLS.
 */
static enum starttls_next
ready(struct starttls *st, size_t used, char *err, size_t errlen)
{
	if (used < st->inlen) {
		snprintf(err, errlen, "%s server sent %zu bytes after its "
		    "STARTTLS answer (refused: they would pass as TLS)",
		    starttls_proto_name(st->proto), st->inlen - used);
		return STARTTLS_FAIL;
	}
	st->inlen = 0;
	return STARTTLS_READY;
}

static enum starttls_next
smtp_next(struct starttls *st, char *err, size_t errlen)
{
	static const char *const what[] = { "greeting", "EHLO", "STARTTLS" };
	char	q[STARTTLS_QUOTE_LEN], cmd[300];
	size_t	used, last, lastlen;
	int	code, tls, r;

	if (st->step > 2)
		return STARTTLS_FAIL;
	r = smtp_reply(st, what[st->step], &code, &used, &tls, &last,
	    &lastlen, err, errlen);
	if (r == R_MORE)
		return STARTTLS_MORE;
	if (r == R_FAIL)
		return STARTTLS_FAIL;
	starttls_quote(st->in + last, lastlen, q, sizeof(q));
	switch (st->step) {
	case 0:
		if (code != 220) {
			snprintf(err, errlen, "SMTP greeting: \"%s\"", q);
			return STARTTLS_FAIL;
		}
		/* pipelining before EHLO is a protocol error: must be all */
		if (used < st->inlen) {
			snprintf(err, errlen, "SMTP greeting: more than one "
			    "reply before EHLO");
			return STARTTLS_FAIL;
		}
		snprintf(cmd, sizeof(cmd), "EHLO %s", st->helo);
		return send_cmd(st, cmd);
	case 1:
		if (code != 250) {
			snprintf(err, errlen, "SMTP EHLO: \"%s\"", q);
			return STARTTLS_FAIL;
		}
		if (!tls) {
			snprintf(err, errlen, "SMTP server does not offer "
			    "STARTTLS (not in its EHLO reply)");
			return STARTTLS_FAIL;
		}
		if (used < st->inlen) {
			snprintf(err, errlen, "SMTP EHLO: more than one reply");
			return STARTTLS_FAIL;
		}
		return send_cmd(st, "STARTTLS");
	default:
		if (code != 220) {
			snprintf(err, errlen, "SMTP server refused STARTTLS: "
			    "\"%s\"", q);
			return STARTTLS_FAIL;
		}
		return ready(st, used, err, errlen);
	}
}

/* Whether the n bytes at l are word (any case), alone or before a blank. */
static int
word_is(const char *l, size_t n, const char *word)
{
	size_t	w = strlen(word);

	return n >= w && strncasecmp(l, word, w) == 0 &&
	    (n == w || l[w] == ' ');
}

static enum starttls_next
imap_next(struct starttls *st, char *err, size_t errlen)
{
	char		 q[STARTTLS_QUOTE_LEN];
	const char	*l;
	size_t		 pos = 0, n, next;

	while (line_at(st, pos, &n, &next) == 0) {
		l = st->in + pos;
		starttls_quote(l, n, q, sizeof(q));
		if (st->step == 0) {
			if (word_is(l, n, "* OK")) {
				if (next < st->inlen) {
					snprintf(err, errlen, "IMAP greeting: "
					    "more than one line");
					return STARTTLS_FAIL;
				}
				return send_cmd(st, "a1 STARTTLS");
			}
			if (word_is(l, n, "* PREAUTH"))
				snprintf(err, errlen, "IMAP greeting is "
				    "PREAUTH (no STARTTLS after it): \"%s\"",
				    q);
			else
				snprintf(err, errlen, "IMAP greeting: \"%s\"",
				    q);
			return STARTTLS_FAIL;
		}
		/* untagged data ("* CAPABILITY ...") may come first */
		if (n >= 2 && l[0] == '*' && l[1] == ' ') {
			pos = next;
			continue;
		}
		if (word_is(l, n, "a1 OK"))
			return ready(st, next, err, errlen);
		if (word_is(l, n, "a1 NO") || word_is(l, n, "a1 BAD"))
			snprintf(err, errlen, "IMAP server does not offer "
			    "STARTTLS: \"%s\"", q);
		else
			snprintf(err, errlen, "IMAP STARTTLS: not an answer: "
			    "\"%s\"", q);
		return STARTTLS_FAIL;
	}
	return more_or_full(st, st->step == 0 ? "greeting" : "STARTTLS", err,
	    errlen) == R_MORE ? STARTTLS_MORE : STARTTLS_FAIL;
}

static enum starttls_next
pop3_next(struct starttls *st, char *err, size_t errlen)
{
	char		 q[STARTTLS_QUOTE_LEN];
	const char	*l;
	size_t		 n, next;

	if (line_at(st, 0, &n, &next) == -1)
		return more_or_full(st, st->step == 0 ? "greeting" : "STLS",
		    err, errlen) == R_MORE ? STARTTLS_MORE : STARTTLS_FAIL;
	l = st->in;
	starttls_quote(l, n, q, sizeof(q));
	if (st->step == 0) {
		if (!word_is(l, n, "+OK")) {
			snprintf(err, errlen, "POP3 greeting: \"%s\"", q);
			return STARTTLS_FAIL;
		}
		if (next < st->inlen) {
			snprintf(err, errlen, "POP3 greeting: more than one "
			    "line");
			return STARTTLS_FAIL;
		}
		return send_cmd(st, "STLS");
	}
	if (word_is(l, n, "+OK"))
		return ready(st, next, err, errlen);
	if (word_is(l, n, "-ERR"))
		snprintf(err, errlen, "POP3 server does not offer STLS: "
		    "\"%s\"", q);
	else
		snprintf(err, errlen, "POP3 STLS: not an answer: \"%s\"", q);
	return STARTTLS_FAIL;
}

enum starttls_next
starttls_next(struct starttls *st, char *err, size_t errlen)
{
	err[0] = '\0';
	st->outlen = 0;
	switch (st->proto) {
	case STARTTLS_SMTP:
		return smtp_next(st, err, errlen);
	case STARTTLS_IMAP:
		return imap_next(st, err, errlen);
	case STARTTLS_POP3:
		return pop3_next(st, err, errlen);
	case STARTTLS_NONE:
		break;
	}
	snprintf(err, errlen, "no STARTTLS protocol");
	return STARTTLS_FAIL;
}
