// LINK: agent/starttls.c shared/text.c
/*
 * fuzz_starttls.c - the STARTTLS dialogue parser (agent/starttls.c) on
 * what a hostile server may send: replies split anywhere, overlong,
 * with NULs and escapes.  The parser never reads past in[], what it
 * queues to send is a known command, its error text is clean, and
 * starttls_quote() stays within its buffer.
 *
 * Input: one byte choosing the protocol (and the chunk size of reads),
 * then the server's bytes; a 0xff byte ends a chunk early, as a short
 * read would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vantaged.h"
#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
known_cmd(const struct starttls *st)
{
	static const char *const cmds[] = {
		"STARTTLS\r\n", "a1 STARTTLS\r\n", "STLS\r\n"
	};
	size_t	i;

	if (st->outlen == 0 || st->outlen >= sizeof(st->out))
		return 0;
	if (strncmp(st->out, "EHLO ", 5) == 0)
		return st->out[st->outlen - 1] == '\n';
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strlen(cmds[i]) == st->outlen &&
		    memcmp(st->out, cmds[i], st->outlen) == 0)
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct starttls	 st;
	char			 err[200], q[STARTTLS_QUOTE_LEN];
	size_t			 pos = 1, chunk, n;
	enum starttls_next	 r;

	if (size < 1)
		return 0;
	starttls_init(&st, 1 + data[0] % 3, (data[0] & 0x80) ?
	    "bad name!" : "probe.example");
	chunk = 1 + (data[0] >> 2) % 64;
	starttls_quote((const char *)data + 1, size - 1, q, sizeof(q));
	if (strlen(q) >= sizeof(q) || !text_is_clean(q))
		abort();
	while (pos < size) {
		for (n = 0; n < chunk && pos + n < size && data[pos + n] != 0xff &&
		    st.inlen + n < sizeof(st.in); n++)
			;
		memcpy(st.in + st.inlen, data + pos, n);
		st.inlen += n;
		pos += n;
		if (pos < size && data[pos] == 0xff)
			pos++;
		r = starttls_next(&st, err, sizeof(err));
		if (st.inlen > sizeof(st.in))
			abort();
		switch (r) {
		case STARTTLS_MORE:
			if (st.inlen >= sizeof(st.in))
				abort();	/* a full buffer must end it */
			break;
		case STARTTLS_SEND:
			if (!known_cmd(&st) || st.inlen != 0)
				abort();
			break;
		case STARTTLS_READY:
			if (st.inlen != 0)
				abort();
			return 0;
		case STARTTLS_FAIL:
			if (err[0] == '\0' || !text_is_clean(err))
				abort();
			return 0;
		}
	}
	return 0;
}
