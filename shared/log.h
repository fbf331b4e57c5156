/*
 * log.h - logging shared by vantaged and vantage.
 *
 * Messages go to stderr by default; vantaged switches to journald when
 * systemd runs it (log_set_sink).  fatal()/fatalx() are for broken
 * invariants and out of memory only: a failing target is data, not a crash.
 */
#ifndef VANTAGE_LOG_H
#define VANTAGE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

typedef void (*log_sink_fn)(enum log_level, const char *msg);

void	log_init(const char *progname, int verbosity);
void	log_set_sink(log_sink_fn);
int	log_verbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Allocation wrappers that never return NULL (out of memory is fatal). */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* strlcpy-like copy that always terminates; returns strlen(src). */
size_t	 strlcpy_v(char *, const char *, size_t);

#endif
