/*
 * parse.h - the value syntaxes of vantaged.conf and vantage.conf, shared so
 * that agent and console accept exactly the same spellings.
 *
 * Every function returns 0 on success or -1 with a human message in err
 * ("expected a duration like 250ms, 10s, 5m or 14d").
 */
#ifndef VANTAGE_PARSE_H
#define VANTAGE_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct parse_range {
	long	lo;
	long	hi;
};

struct parse_rate {
	double	per_sec;
	long	burst;
};

/* "250ms", "10s", "5m", "2h", "14d", "1w"; a bare number is seconds. */
int	parse_duration_ms(const char *, int64_t *, char *err, size_t);
/* "512", "64k", "64KiB", "10M", "1G" (binary multiples). */
int	parse_size(const char *, uint64_t *, char *err, size_t);
/* "200", "200-299", "2xx"-style is not accepted: one number or lo-hi. */
int	parse_range(const char *, struct parse_range *, char *err, size_t);
/* Decimal integer within [min, max]. */
int	parse_long(const char *, long min, long max, long *, char *err, size_t);
/* yes/no/true/false/on/off/1/0 */
int	parse_bool(const char *, int *, char *err, size_t);
/* "20/s", "20/s burst 40", "600/m burst 100" */
int	parse_rate(const char *, struct parse_rate *, char *err, size_t);
/*
 * "127.0.0.1:7787", "[::1]:7787", "host:port", "*:7787".  host is copied
 * without brackets; an empty host (":7787") means all addresses.
 */
int	parse_hostport(const char *, char *host, size_t hostlen, int *port,
	    char *err, size_t);
/* An address block: "10.0.0.0/8", "2001:db8::/32", "127.0.0.1" (/32). */
struct parse_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network byte order, host bits 0 */
	int		bits;
};

#define PARSE_CIDR_MAX	32		/* blocks in one list */

int	parse_cidr(const char *, struct parse_cidr *, char *err, size_t);
/* Blank-separated blocks into out[max]: the count, or -1 + err. */
int	parse_cidr_list(const char *, struct parse_cidr *, int max, char *err,
	    size_t);
/* 1 when addr (family, 4 or 16 bytes) is inside one of the n blocks;
 * an IPv4-mapped IPv6 address is matched as IPv4. */
int	parse_cidr_match(const struct parse_cidr *, int n, int family,
	    const unsigned char *addr);
/* Writes "1h2m" style text of a millisecond duration into buf. */
const char *parse_fmt_duration(int64_t ms, char *buf, size_t len);

#endif
