/*
 * audit_refused.c - refused API requests in the audit log, bounded.
 *
 * Every refused mutating request (401, 403, 429, mTLS) is worth knowing
 * about, but an anonymous flood must not fill the disk or make one odd
 * row out of whatever an attacker sent.  So:
 *  - what a refused request named (its route, its path) is recorded in a
 *    bounded, escaped form: the first AR_NAME_KEEP bytes, with its length
 *    and the start of its SHA-256 when it was longer or not clean text;
 *  - a caller with a valid credential (a 403) always gets its row; an
 *    unauthenticated source gets AR_BURST full rows a minute, and all of
 *    them together AR_ANON_ROWS; beyond that the refusals are counted,
 *    and one summary row per source and minute says how many ("refused
 *    401 x 2314 from 127.0.0.5");
 *  - an X-Vantage-Operator header is recorded as the operator only for
 *    an authenticated caller; otherwise it is a claim, kept in the detail.
 * Summary rows go through the audit writer (audit_post), so neither the
 * API threads nor the loop wait for them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "text.h"
#include "vantaged.h"

#define AR_NAME_KEEP	64	/* bytes of a name kept as is */
#define AR_PATH_KEEP	128	/* bytes of a path kept as is */
#define AR_BURST	5	/* anonymous full rows per source and minute */
#define AR_ANON_ROWS	50	/* full rows per minute, all anonymous */
#define AR_SOURCES	4096	/* sources counted at once */
#define AR_MINUTE_MS	60000

struct ar_source {
	char		 addr[64];
	int64_t		 minute;	/* start of its window, ms */
	int		 rows;		/* full rows written in it */
	uint64_t	 counted[4];	/* 401, 403, 429, other beyond them */
	int		 used;
};

static pthread_mutex_t	 ar_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct ar_source	*ar_src;
static int64_t		 ar_anon_minute;
static int		 ar_anon_rows;
static uint64_t		 ar_aggregated;	/* refusals counted, not rowed */

static void	ar_flush_one(struct ar_source *);

static int
ar_slot(int status)
{
	switch (status) {
	case 401:
		return 0;
	case 403:
		return 1;
	case 429:
		return 2;
	default:
		return 3;
	}
}

/*
 * s in a bounded, clean form: as it is when short and clean, else its
 * first keep bytes escaped and "[N bytes, sha256 HHHHHHHHHHHHHHHH]".
 */
void
audit_refused_name(const char *s, size_t keep, char *out, size_t len)
{
	char	 cut[AR_PATH_KEEP + 1], esc[AR_PATH_KEEP * 8 + 1];
	char	 hex[HASH_HEX_LEN + 1];
	size_t	 n = s != NULL ? strlen(s) : 0;

	if (s == NULL) {
		snprintf(out, len, "%s", "");
		return;
	}
	if (keep > AR_PATH_KEEP)
		keep = AR_PATH_KEEP;
	if (n <= keep && text_is_clean(s)) {
		snprintf(out, len, "%s", s);
		return;
	}
	memcpy(cut, s, n < keep ? n : keep);
	cut[n < keep ? n : keep] = '\0';
	text_escape(cut, esc, sizeof(esc));
	hash_sha256_hex(s, n, hex);
	snprintf(out, len, "%s [%zu bytes, sha256 %.16s]", esc, n, hex);
}

static struct ar_source *
ar_find(const char *addr, int64_t minute)
{
	struct ar_source	*s, *free_slot = NULL, *oldest = NULL;
	uint32_t		 h = hash_fnv1a(addr);
	int			 i, k;

	if (ar_src == NULL)
		ar_src = xcalloc(AR_SOURCES, sizeof(*ar_src));
	/* a short open-addressed probe sequence; full: the oldest goes */
	for (k = 0; k < 16; k++) {
		i = (int)((h + (uint32_t)k) % AR_SOURCES);
		s = &ar_src[i];
		if (!s->used) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (strcmp(s->addr, addr) == 0)
			return s;
		if (oldest == NULL || s->minute < oldest->minute)
			oldest = s;
	}
	s = free_slot != NULL ? free_slot : oldest;
	if (s->used && s != free_slot)
		ar_flush_one(s);
	memset(s, 0, sizeof(*s));
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->minute = minute;
	s->used = 1;
	return s;
}

/* Posts the summary of s's minute, if anything was counted, and resets. */
static void
ar_flush_one(struct ar_source *s)
{
	static const char *const codes[4] = { "401", "403", "429", "other" };
	struct audit_entry	 e;
	struct buf		 d;
	uint64_t		 total = 0;
	char			 t[32];
	int			 i;

	for (i = 0; i < 4; i++)
		total += s->counted[i];
	if (total == 0)
		return;
	buf_init(&d);
	buf_adds(&d, "refused");
	for (i = 0; i < 4; i++) {
		if (s->counted[i] > 0)
			buf_printf(&d, " %s x %" PRIu64, codes[i],
			    s->counted[i]);
	}
	snprintf(t, sizeof(t), "%" PRId64, s->minute);
	buf_printf(&d, " from %s in the minute from %s (beyond %d rows a "
	    "minute, summed up)", s->addr, t, AR_BURST);
	audit_system(&e, s->addr, "refused", "", d.data, "refused");
	e.actor = "";
	e.role = "";
	audit_post(&e);
	buf_free(&d);
	memset(s->counted, 0, sizeof(s->counted));
}

void
audit_refused_flush(int64_t now_ms, int all)
{
	int	i;

	pthread_mutex_lock(&ar_mtx);
	for (i = 0; ar_src != NULL && i < AR_SOURCES; i++) {
		struct ar_source *s = &ar_src[i];

		if (s->used && (all || now_ms - s->minute >= AR_MINUTE_MS)) {
			ar_flush_one(s);
			if (now_ms - s->minute >= AR_MINUTE_MS)
				s->used = 0;
		}
	}
	pthread_mutex_unlock(&ar_mtx);
}

uint64_t
audit_refused_aggregated(void)
{
	uint64_t	n;

	pthread_mutex_lock(&ar_mtx);
	n = ar_aggregated;
	pthread_mutex_unlock(&ar_mtx);
	return n;
}

void
audit_refused_count(const char *source, int status)
{
	struct ar_source	*s;
	int64_t			 now = clock_wall_ms(), minute;

	minute = now - now % AR_MINUTE_MS;
	pthread_mutex_lock(&ar_mtx);
	s = ar_find(source, minute);
	if (s->minute != minute) {
		ar_flush_one(s);
		s->minute = minute;
		s->rows = 0;
	}
	s->counted[ar_slot(status)]++;
	ar_aggregated++;
	pthread_mutex_unlock(&ar_mtx);
}

void
audit_refused_note(const struct audit_refusal *r)
{
	struct ar_source	*s;
	struct audit_entry	 e;
	char			 target[AR_NAME_KEEP * 8 + 64];
	char			 path[AR_PATH_KEEP * 8 + 64], op[300];
	char			 detail[2048], err[256];
	int64_t			 now = clock_wall_ms(), minute, id;
	int			 full;

	minute = now - now % AR_MINUTE_MS;
	pthread_mutex_lock(&ar_mtx);
	s = ar_find(r->source, minute);
	if (s->minute != minute) {
		ar_flush_one(s);
		s->minute = minute;
		s->rows = 0;
	}
	if (ar_anon_minute != minute) {
		ar_anon_minute = minute;
		ar_anon_rows = 0;
	}
	full = r->authenticated || (s->rows < AR_BURST &&
	    ar_anon_rows < AR_ANON_ROWS);
	if (full && !r->authenticated) {
		s->rows++;
		ar_anon_rows++;
	} else if (!full) {
		s->counted[ar_slot(r->status)]++;
		ar_aggregated++;
	}
	pthread_mutex_unlock(&ar_mtx);
	if (!full)
		return;

	audit_refused_name(r->target, AR_NAME_KEEP, target, sizeof(target));
	audit_refused_name(r->path, AR_PATH_KEEP, path, sizeof(path));
	op[0] = '\0';
	if (!r->authenticated && r->operator_hdr != NULL &&
	    r->operator_hdr[0] != '\0') {
		char claim[200];

		audit_refused_name(r->operator_hdr, AR_NAME_KEEP, claim,
		    sizeof(claim));
		snprintf(op, sizeof(op), " (unauthenticated, claims operator "
		    "\"%s\")", claim);
	}
	snprintf(detail, sizeof(detail), "%s %s: %d %s%s", r->method, path,
	    r->status, r->why, op);
	memset(&e, 0, sizeof(e));
	e.actor = r->authenticated ? r->actor : "";
	e.role = r->authenticated ? r->role : "";
	e.operator_hdr = r->authenticated && r->operator_hdr != NULL ?
	    r->operator_hdr : "";
	e.source = r->source;
	e.action = "refused";
	e.target = target;
	e.detail = detail;
	e.result = "refused";
	if (audit_append(&e, &id, err, sizeof(err)) == -1)
		log_warnx("api: refused %s from %s not audited: %s", path,
		    r->source, err);
}

void
audit_refused_stop(void)
{
	audit_refused_flush(clock_wall_ms(), 1);
	pthread_mutex_lock(&ar_mtx);
	free(ar_src);
	ar_src = NULL;
	ar_aggregated = 0;
	pthread_mutex_unlock(&ar_mtx);
}
