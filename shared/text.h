/*
 * text.h - remote text at the edges where it leaves us: what counts as a
 * control character (C0, DEL, C1, and the bidi embeddings, overrides and
 * isolates that can reorder what a terminal shows), a check for text the
 * agent accepts, and an escape for logs and terminals that makes every
 * such character visible instead of acting on it.
 */
#ifndef VANTAGE_TEXT_H
#define VANTAGE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the UTF-8 character at s (n bytes left, n > 0): its length and
 * *cp, or 0 when the bytes are not well-formed UTF-8 (overlong,
 * surrogate, above U+10FFFF, cut short).
 */
size_t	text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* C0 controls, DEL, C1 controls, U+202A..U+202E and U+2066..U+2069. */
int	text_is_control(uint32_t cp);
/* 1 when s is well-formed UTF-8 without control characters. */
int	text_is_clean(const char *s);
/*
 * Copies s into out (len > 0, always terminated, cut at a character
 * boundary) with every control character written as \xNN (below U+0100)
 * or \u{NNNN}, every malformed byte as \xNN, and a backslash as \\.
 * Returns out.
 */
char	*text_escape(const char *s, char *out, size_t len);

#endif
