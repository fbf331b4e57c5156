/*
 * buf.h - a growable byte buffer (response bodies, pre-rendered JSON,
 * metrics text).  Always NUL-terminated so it can be used as a string.
 */
#ifndef VANTAGE_BUF_H
#define VANTAGE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	buf_init(struct buf *);
void	buf_free(struct buf *);
void	buf_reset(struct buf *);
void	buf_add(struct buf *, const void *, size_t);
void	buf_adds(struct buf *, const char *);
void	buf_addc(struct buf *, char);
void	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void	buf_add_json_str(struct buf *, const char *);
/* Hands the storage to the caller; the buf is left empty. */
char	*buf_release(struct buf *, size_t *lenp);

#endif
