/*
 * text.c - control characters in remote text: the agent refuses them in
 * what it accepts (api_routes.c), and logs, journald fields and the
 * console's terminal get them escaped (log.c, cli.c, ui.c).
 */
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t
text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t		len, k;
	uint32_t	c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[k] & 0x3f);
	}
	/* overlong 3/4-byte forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && c < 0x800) || (c >= 0xd800 && c <= 0xdfff) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

int
text_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int
text_is_clean(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), k;
	uint32_t		 cp;

	while (n > 0) {
		if ((k = text_utf8_next(p, n, &cp)) == 0 ||
		    text_is_control(cp))
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

char *
text_escape(const char *s, char *out, size_t len)
{
	const unsigned char	*p = (const unsigned char *)(s != NULL ? s : "");
	size_t			 n = strlen((const char *)p), o = 0, k;
	uint32_t		 cp;
	char			 esc[16];
	const char		*piece;
	size_t			 plen;

	if (len == 0)
		return out;
	while (n > 0) {
		k = text_utf8_next(p, n, &cp);
		if (k == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", p[0]);
			k = 1;
			piece = esc;
		} else if (text_is_control(cp)) {
			if (cp < 0x100)
				snprintf(esc, sizeof(esc), "\\x%02x",
				    (unsigned)cp);
			else
				snprintf(esc, sizeof(esc), "\\u{%04x}",
				    (unsigned)cp);
			piece = esc;
		} else if (cp == '\\') {
			piece = "\\\\";
		} else {
			piece = (const char *)p;
		}
		plen = piece == (const char *)p ? k : strlen(piece);
		if (o + plen + 1 > len)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		p += k;
		n -= k;
	}
	out[o] = '\0';
	return out;
}
