/*
 * log.c - leveled logging to stderr or a sink (journald in vantaged),
 * and the allocation wrappers every module uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "text.h"

static const char	*log_prog = "vantage";
static int		 log_level = LOG_LVL_INFO;
static log_sink_fn	 log_sink;

void
log_init(const char *progname, int verbosity)
{
	log_prog = progname;
	log_level = LOG_LVL_INFO + verbosity;
	if (log_level > LOG_LVL_DEBUG)
		log_level = LOG_LVL_DEBUG;
}

void
log_set_sink(log_sink_fn fn)
{
	log_sink = fn;
}

int
log_verbose(void)
{
	return log_level >= LOG_LVL_DEBUG;
}

static void
log_emit(enum log_level lvl, int with_errno, int saved_errno, const char *fmt,
    va_list ap)
{
	char	raw[1024], msg[2048];
	size_t	len;

	if ((int)lvl > log_level)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	if (with_errno) {
		len = strlen(raw);
		snprintf(raw + len, sizeof(raw) - len, ": %s",
		    strerror(saved_errno));
	}
	/* one line each, whatever a peer put into the text */
	text_escape(raw, msg, sizeof(msg));
	if (log_sink != NULL) {
		log_sink(lvl, msg);
		return;
	}
	fprintf(stderr, "%s: %s\n", log_prog, msg);
	fflush(stderr);
}

#define LOG_BODY(lvl, with_errno) do {					\
	int	 saved = errno;						\
	va_list	 ap;							\
	va_start(ap, fmt);						\
	log_emit(lvl, with_errno, saved, fmt, ap);			\
	va_end(ap);							\
	errno = saved;							\
} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, 0); }

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 0);
	exit(1);
}

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatalx("%s: out of memory (%zu bytes)", __func__, n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		fatalx("%s: out of memory", __func__);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (size != 0 && nmemb > ((size_t)-1) / size)
		fatalx("%s: overflow", __func__);
	if ((p = realloc(ptr, nmemb * size == 0 ? 1 : nmemb * size)) == NULL)
		fatalx("%s: out of memory", __func__);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatalx("%s: out of memory", __func__);
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("%s: out of memory", __func__);
	return n;
}

size_t
strlcpy_v(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size > 0) {
		size_t n = len >= size ? size - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
