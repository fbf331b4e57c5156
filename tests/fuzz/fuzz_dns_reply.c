// LINK: agent/loop.c agent/net.c agent/resolve.c shared/log.c shared/text.c shared/buf.c shared/parse.c
/*
 * fuzz_dns_reply.c - the DNS probe's reply handling: c-ares's parsers as
 * probe_dns.c calls them, its own CNAME/PTR walker, answer matching and
 * the answer list of error messages.
 *
 * Input: one byte choosing the record type, then the reply as it came off
 * the wire.  probe_dns.c is included so its static functions are reached
 * directly; probe_done() and probe_finish() are the engine symbols it
 * needs.
 */
#include "probe_dns.c"

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

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const want[] = {
		"10.0.0.1", "::1", "www.vantage.test", "v=spf1 -all"
	};
	struct dns_answers	 a = { NULL, 0 };
	const struct dns_rtype	*rt;
	char			 err[128], list[DNS_MAX_LIST];

	if (size < 1 || size > 65536)
		return 0;
	rt = &dns_rtypes[data[0] % DNS_N_RTYPES];
	if (dns_answers_parse(rt->qtype, data + 1, (int)(size - 1), &a, err,
	    sizeof(err)) == 0) {
		(void)dns_answers_has(&a, rt->qtype, want[data[0] % 4]);
		dns_answers_list(&a, list, sizeof(list));
	}
	dns_answers_free(&a);
	return 0;
}
