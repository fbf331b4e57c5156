// LINK: agent/grpc_health.pb-c.c agent/curlm.c agent/loop.c agent/net.c agent/resolve.c shared/log.c shared/text.c shared/buf.c shared/parse.c
/*
 * fuzz_grpc_reply.c - the grpc probe's reply judgement: the framed body
 * (5-byte prefix, protobuf-c's HealthCheckResponse decoder) and the
 * header and trailer values a server chooses (content-type, grpc-status,
 * percent-encoded grpc-message), as grpc_reply_judge() gets them from
 * curl; and the request encoder with a service name.
 *
 * Input: one byte of choices (bits 0-1 the HTTP status, 2-3 the content
 * type, 4 no grpc-status, 5 no grpc-message, 6 too big, 7 a service),
 * then grpc-status and grpc-message, each ended by a NUL, then the body.
 * probe_grpc.c is included so its static functions are reached directly;
 * the engine symbols it needs are stubs.
 */
#include "probe_grpc.c"

void
probe_done(struct probe_run *run, enum probe_status st, const char *fmt, ...)
{
	(void)run;
	(void)st;
	(void)fmt;
}

void
probe_finish(struct probe_run *run, enum probe_status st, const char *fmt,
    ...)
{
	(void)run;
	(void)st;
	(void)fmt;
}

void
probe_result_detail(struct probe_result *r, const char *fmt, ...)
{
	(void)r;
	(void)fmt;
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long	 codes[] = { 200, 200, 404, 503 };
	static const char *const types[] = { "application/grpc",
	    "application/grpc+proto", NULL, "text/html" };
	struct grpc_reply	 r;
	struct grpc_verdict	 v;
	char			 status[256], message[1024];
	const uint8_t		*p, *end = data + size, *nul;
	uint8_t			*req;
	size_t			 n, reqlen;
	int			 choice;

	if (size < 1 || size > 65536)
		return 0;
	choice = data[0];
	p = data + 1;
	/* grpc-status, then grpc-message, each up to a NUL or the end */
	nul = memchr(p, '\0', (size_t)(end - p));
	n = (size_t)((nul != NULL ? nul : end) - p);
	if (n >= sizeof(status))
		n = sizeof(status) - 1;
	memcpy(status, p, n);
	status[n] = '\0';
	p = nul != NULL ? nul + 1 : end;
	nul = memchr(p, '\0', (size_t)(end - p));
	n = (size_t)((nul != NULL ? nul : end) - p);
	if (n >= sizeof(message))
		n = sizeof(message) - 1;
	memcpy(message, p, n);
	message[n] = '\0';
	p = nul != NULL ? nul + 1 : end;

	memset(&r, 0, sizeof(r));
	r.http_code = codes[choice & 3];
	r.content_type = types[(choice >> 2) & 3];
	r.status = choice & 0x10 ? NULL : status;
	r.message = choice & 0x20 ? NULL : message;
	r.too_big = (choice & 0x40) != 0;
	r.body = p;
	r.len = (size_t)(end - p);
	grpc_reply_judge(&r, choice & 0x80 ? "svc.Name" : NULL, &v);
	if (v.error[0] != '\0' && !text_is_clean(v.error))
		__builtin_trap();	/* remote text must come out escaped */
	if (v.st == PROBE_OK && v.error[0] != '\0')
		__builtin_trap();

	if (text_is_clean(message)) {
		req = grpc_request(message, &reqlen);
		if (reqlen < GRPC_PREFIX_LEN)
			__builtin_trap();
		free(req);
	}
	return 0;
}
