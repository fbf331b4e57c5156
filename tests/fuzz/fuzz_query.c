// LINK: agent/auth.c agent/ratelimit.c agent/api_query.c shared/log.c shared/text.c shared/buf.c shared/json.c shared/parse.c shared/hash.c
/*
 * fuzz_query.c - what an API request line can carry: the path matched
 * against the handler tables (api.c's dispatch, '*' segments into args)
 * and the query string decoded and validated (api_query.c).
 *
 * Input: "PATH?QUERY" as a client would send it.  Checked: a match fills
 * only non-empty, slash-free segments and really matches its pattern; a
 * miss is 404 or 405 with Allow exactly when some method fits; a decoded
 * query holds distinct, non-empty, control-free keys and values, and the
 * integer getter never accepts anything out of range.
 *
 * api.c is included to reach its static dispatch functions; the rest of
 * the agent is stubbed in api_stubs.h.
 */
#include "api.c"
#include "api_stubs.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_path(const char *path)
{
	static const char *const methods[] = { "GET", "POST", "HEAD",
	    "DELETE", NULL };
	const struct api_handler	*h;
	const char			*args[4];
	char				*scratch, *again, allow[64];
	int				 i, k, status;

	scratch = xmalloc(strlen(path) + 1);
	again = xmalloc(strlen(path) + 1);
	for (i = 0; methods[i] != NULL; i++) {
		status = 0;
		h = api_match(methods[i], path, scratch, args, allow,
		    sizeof(allow), &status);
		if (h != NULL) {
			const char *a2[4];

			for (k = 0; k < 4 && args[k] != NULL; k++) {
				if (args[k][0] == '\0' || strchr(args[k], '/'))
					abort();
			}
			if (!api_pattern_match(h->pattern, path, again, a2) ||
			    !api_method_is(h->method, methods[i]))
				abort();
		} else {
			if (status != 404 && status != 405)
				abort();
			if ((status == 405) != (allow[0] != '\0'))
				abort();
			if (args[0] != NULL)
				abort();
		}
	}
	free(scratch);
	free(again);
}

static void
check_query(char *qs)
{
	static const char *const only[] = { "since", "limit", "from", "to",
	    "step", NULL };
	struct api_query	 q;
	char			 err[256];
	int64_t			 v;
	int			 i, j, rc;

	if (api_query_parse(qs, &q, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (q.n < 0 || q.n > API_QUERY_MAX)
		abort();
	for (i = 0; i < q.n; i++) {
		const unsigned char *p;

		if (q.key[i][0] == '\0')
			abort();
		for (p = (const unsigned char *)q.key[i]; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				abort();
		for (p = (const unsigned char *)q.val[i]; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				abort();
		for (j = 0; j < i; j++)
			if (strcmp(q.key[i], q.key[j]) == 0)
				abort();
		if (api_query_get(&q, q.key[i]) != q.val[i])
			abort();
		rc = api_query_int(&q, q.key[i], -1000, 5000, 7, &v, err,
		    sizeof(err));
		if (rc == 1 && (v < -1000 || v > 5000))
			abort();
		if (rc == 0)
			abort();	/* the key is there */
		rc = api_query_int(&q, q.key[i], INT64_MIN, INT64_MAX, 7, &v,
		    err, sizeof(err));
		if (rc == 1 && strtoll(q.val[i], NULL, 10) != v)
			abort();
	}
	(void)api_query_only(&q, only, err, sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, *q;

	if (size > 8192)
		return 0;
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if ((q = strchr(s, '?')) != NULL)
		*q++ = '\0';
	check_path(s);
	if (q != NULL)
		check_query(q);
	free(s);
	return 0;
}
