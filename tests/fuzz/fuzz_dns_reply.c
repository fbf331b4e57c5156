// LINK: agent/loop.c agent/net.c agent/resolve.c shared/log.c shared/text.c shared/buf.c shared/parse.c
/*
 * fuzz_dns_reply.c - the DNS probe's reply handling: c-ares's parsers as
 * probe_dns.c calls them, its own CNAME/PTR walker, answer matching and
 * the answer list of error messages; then the whole verdict on the reply
 * (dns_evaluate: the header's rcode and TC bit, expect_rcode, the answers
 * against expect_answer and expect_answer_regex, the error text with the
 * answers escaped, the detail), with the options the first byte picks.
 *
 * Input: one byte choosing the record type (modulo the types) and the
 * options (the quotient: bit 0 expect_answer, bit 1 expect_answer_regex,
 * bits 2-4 the expected rcode), then the reply as it came off the wire.
 * Over TCP c-ares strips the two-byte length and hands over the message
 * the same way, so the bytes here are what either transport delivers;
 * the run is marked as TCP so a truncated reply is judged, not asked
 * again over the network.
 *
 * probe_dns.c is included so its static functions are reached directly;
 * probe_done(), probe_finish() and probe_result_detail() are the engine
 * symbols it needs.
 */
#include <stdarg.h>

#include "probe_dns.c"

void
probe_done(struct probe_run *run, enum probe_status st, const char *fmt, ...)
{
	(void)run;
	(void)st;
	(void)fmt;
}

/* Formats the error as the engine would (its arguments must be sound). */
void
probe_finish(struct probe_run *run, enum probe_status st, const char *fmt,
    ...)
{
	char	err[PROBE_ERR_LEN];
	va_list	ap;

	(void)run;
	(void)st;
	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
}

void
probe_result_detail(struct probe_result *r, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	(void)r;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const want[] = {
	"10.0.0.1", "::1", "www.vantage.test", "v=spf1 -all"
};
static const char *const regexes[] = {
	"^10\\.0\\.0\\.[12]$", "^fd00:", "^[0-9]+ mail\\.", "spf1",
	"^(a|b)*c$", "vantage\\.test$"
};
#define N_REGEXES	(sizeof(regexes) / sizeof(regexes[0]))

static const int rcodes[] = {
	ns_r_noerror, ns_r_nxdomain, ns_r_servfail, ns_r_refused,
	ns_r_formerr, ns_r_notimpl, 9, 15
};

static regex_t	re[N_REGEXES];

/* The verdict of a whole run on this reply. */
static void
fuzz_evaluate(const struct dns_rtype *rt, unsigned opt,
    const uint8_t *reply, size_t len)
{
	struct dns_opts		 o;
	struct probe_conf	 c;
	struct probe_run	 run;
	struct dns_run		 d;
	unsigned		 ri = opt >> 2 & 7;

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	memset(&run, 0, sizeof(run));
	memset(&d, 0, sizeof(d));
	o.want_rcode = rcodes[ri];
	if (o.want_rcode == ns_r_noerror) {
		if (opt & 1)
			o.expect_answer = (char *)want[opt % 4];
		if (opt & 2) {
			o.expect_answer_regex =
			    (char *)regexes[(opt >> 1) % N_REGEXES];
			o.answer_re = re[(opt >> 1) % N_REGEXES];
			o.answer_re_ok = 1;
		}
	}
	c.name = "fuzz";
	c.timeout_ms = 1000;
	c.opts = &o;
	run.conf = &c;
	d.run = &run;
	d.rt = rt;
	d.tcp = 1;
	d.budget_ms = 950;
	d.status = ARES_SUCCESS;
	strlcpy_v(d.name, "www.vantage.test", sizeof(d.name));
	strlcpy_v(d.server, "127.0.0.1:53", sizeof(d.server));
	if (len > 0) {
		d.abuf = xmalloc(len);
		memcpy(d.abuf, reply, len);
		d.alen = (int)len;
	}
	dns_evaluate(&d);
	free(d.abuf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct dns_answers	 a = { NULL, 0 };
	const struct dns_rtype	*rt;
	char			 err[128], list[DNS_MAX_LIST], name[16];
	int			 rcode, tc;
	size_t			 i;

	if (!ready) {
		for (i = 0; i < N_REGEXES; i++) {
			if (regcomp(&re[i], regexes[i], REG_EXTENDED |
			    REG_NOSUB) != 0)
				abort();
		}
		ready = 1;
	}
	if (size < 1 || size > 65536)
		return 0;
	rt = &dns_rtypes[data[0] % DNS_N_RTYPES];
	if (dns_answers_parse(rt->qtype, data + 1, (int)(size - 1), &a, err,
	    sizeof(err)) == 0) {
		(void)dns_answers_has(&a, rt->qtype, want[data[0] % 4]);
		(void)dns_answers_match(&a, &re[data[0] % N_REGEXES]);
		dns_answers_list(&a, list, sizeof(list));
	}
	dns_answers_free(&a);
	if (dns_reply_header(data + 1, (int)(size - 1), &rcode, &tc) == 0)
		dns_rcode_name(rcode, name, sizeof(name));
	fuzz_evaluate(rt, data[0] / DNS_N_RTYPES, data + 1, size - 1);
	return 0;
}
