/*
 * starttls.h - the plaintext dialogue before a STARTTLS upgrade (SMTP,
 * IMAP, POP3), as a parser of the server's replies that knows nothing of
 * sockets: the caller appends what it read to in[], asks what next, and
 * sends out[] when told to.  Every byte from the server is untrusted.
 */
#ifndef VANTAGE_STARTTLS_H
#define VANTAGE_STARTTLS_H

#include <stddef.h>

#define STARTTLS_BUF	4096	/* one reply (an EHLO answer) at most */

enum starttls_proto {
	STARTTLS_NONE,
	STARTTLS_SMTP,
	STARTTLS_IMAP,
	STARTTLS_POP3
};

enum starttls_next {
	STARTTLS_MORE,		/* read more into in[] */
	STARTTLS_SEND,		/* write out[0..outlen), then read */
	STARTTLS_READY,		/* the server said yes: start TLS now */
	STARTTLS_FAIL		/* err says why */
};

struct starttls {
	enum starttls_proto	 proto;
	int			 step;
	char			 in[STARTTLS_BUF];
	size_t			 inlen;
	char			 out[300];
	size_t			 outlen;
	char			 helo[256];	/* the EHLO name */
};

/* "smtp", "imap", "pop3": 0, else -1. */
int		 starttls_proto_parse(const char *, enum starttls_proto *);
const char	*starttls_proto_name(enum starttls_proto);
/* helo: the name for SMTP EHLO; anything but a plain host name is
 * replaced by "localhost". */
void		 starttls_init(struct starttls *, enum starttls_proto,
		    const char *helo);
/*
 * What next, after bytes were appended to in[] (or at the start, with
 * in[] empty).  On SEND and READY the reply was consumed and in[] is
 * empty; a server that sent more than its reply to STARTTLS (bytes the
 * TLS layer would take as the server's, CVE-2011-0411) is a FAIL.  A
 * full in[] without a whole reply is a FAIL too.
 */
enum starttls_next starttls_next(struct starttls *, char *err, size_t);

/*
 * Bytes a server sent, for an error message: the first REPLY_QUOTE_MAX
 * of them escaped (shared/text.h; a NUL is \x00), at most
 * REPLY_QUOTE_LEN - 1 characters so that a message around it fits a
 * result's error whole, "..." when cut.  Also what tcp's expect shows of
 * a reply that did not match.
 */
#define REPLY_QUOTE_MAX	80
#define REPLY_QUOTE_LEN	124
void		 reply_quote(const char *, size_t, char *out, size_t);

#endif
