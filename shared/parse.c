/*
 * parse.c - value syntaxes shared by both config files (see parse.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

#define ERR(...) do { if (err != NULL) snprintf(err, errlen, __VA_ARGS__); \
	return -1; } while (0)

int
parse_duration_ms(const char *s, int64_t *out, char *err, size_t errlen)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 }, { "w", 7 * 86400000LL }, { "", 1000 },
	};
	const char	*p = s;
	int64_t		 total = 0;
	int		 parts = 0;

	while (*p != '\0') {
		char		*end;
		unsigned long long v;
		size_t		 i, ulen;

		if (!isdigit((unsigned char)*p))
			break;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno != 0 || v > 1000000000ULL)
			break;
		ulen = 0;
		while (isalpha((unsigned char)end[ulen]))
			ulen++;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].unit) == ulen &&
			    strncmp(units[i].unit, end, ulen) == 0)
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			break;
		if (ulen == 0 && (parts > 0 || end[0] != '\0'))
			break;
		total += (int64_t)v * units[i].ms;
		if (total > 10LL * 365 * 86400000LL)
			break;
		parts++;
		p = end + ulen;
	}
	if (parts == 0 || *p != '\0')
		ERR("'%s' is not a duration (expected e.g. 250ms, 10s, 5m, "
		    "2h or 14d)", s);
	*out = total;
	return 0;
}

int
parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	char			*end;
	unsigned long long	 v;
	uint64_t		 mul = 1;

	if (!isdigit((unsigned char)s[0]))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto bad;
	if (*end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K': mul = 1024ULL; break;
		case 'M': mul = 1024ULL * 1024; break;
		case 'G': mul = 1024ULL * 1024 * 1024; break;
		case 'B': mul = 1; end--; break;
		default: goto bad;
		}
		end++;
		if (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0)
			end += strlen(end);
		if (*end != '\0')
			goto bad;
	}
	if (v > UINT64_MAX / mul)
		goto bad;
	*out = v * mul;
	return 0;
bad:
	ERR("'%s' is not a size (expected e.g. 512, 64k, 10M or 1G)", s);
}

int
parse_long(const char *s, long min, long max, long *out, char *err,
    size_t errlen)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0)
		ERR("'%s' is not a number", s);
	if (v < min || v > max)
		ERR("%ld is out of range (%ld-%ld)", v, min, max);
	*out = v;
	return 0;
}

int
parse_range(const char *s, struct parse_range *r, char *err, size_t errlen)
{
	char		 buf[64];
	char		*dash;

	if (strlen(s) >= sizeof(buf))
		ERR("'%s' is not a range (expected e.g. 200 or 200-299)", s);
	strcpy(buf, s);
	if ((dash = strchr(buf, '-')) != NULL)
		*dash++ = '\0';
	if (parse_long(buf, 0, INT_MAX, &r->lo, NULL, 0) == -1)
		ERR("'%s' is not a range (expected e.g. 200 or 200-299)", s);
	r->hi = r->lo;
	if (dash != NULL &&
	    parse_long(dash, 0, INT_MAX, &r->hi, NULL, 0) == -1)
		ERR("'%s' is not a range (expected e.g. 200 or 200-299)", s);
	if (r->hi < r->lo)
		ERR("range '%s' ends before it starts", s);
	return 0;
}

int
parse_bool(const char *s, int *out, char *err, size_t errlen)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0) {
		*out = 1;
		return 0;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	ERR("'%s' is not yes or no", s);
}

int
parse_rate(const char *s, struct parse_rate *r, char *err, size_t errlen)
{
	char	 unit[8], word[8], extra;
	long	 n, burst = 0;
	int	 k;
	double	 per;

	k = sscanf(s, "%ld/%7s %7s %ld %c", &n, unit, word, &burst, &extra);
	if (k != 2 && k != 4)
		goto bad;
	if (k == 4 && strcmp(word, "burst") != 0)
		goto bad;
	if (strcmp(unit, "s") == 0)
		per = 1;
	else if (strcmp(unit, "m") == 0)
		per = 60;
	else if (strcmp(unit, "h") == 0)
		per = 3600;
	else
		goto bad;
	if (n <= 0 || n > 1000000 || (k == 4 && (burst <= 0 ||
	    burst > 1000000)))
		goto bad;
	r->per_sec = (double)n / per;
	r->burst = k == 4 ? burst : (n > 1 ? n : 1);
	return 0;
bad:
	ERR("'%s' is not a rate (expected e.g. 20/s or 20/s burst 40)", s);
}

int
parse_hostport(const char *s, char *host, size_t hostlen, int *port,
    char *err, size_t errlen)
{
	const char	*colon, *h = s;
	size_t		 hl;
	long		 p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			ERR("'%s' is not host:port (IPv6 as [::1]:7787)", s);
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			ERR("'%s' is not host:port (IPv6 as [::1]:7787)", s);
		hl = (size_t)(colon - s);
	}
	if (hl >= hostlen)
		ERR("host in '%s' is too long", s);
	if (parse_long(colon + 1, 1, 65535, &p, NULL, 0) == -1)
		ERR("'%s' has no valid port (1-65535)", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (strcmp(host, "*") == 0)
		host[0] = '\0';
	*port = (int)p;
	return 0;
}

const char *
parse_fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, len, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%" PRId64 "s", ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", ms / 60000,
		    (ms / 1000) % 60);
	else if (ms < 86400000)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", ms / 3600000,
		    (ms / 60000) % 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", ms / 86400000,
		    (ms / 3600000) % 24);
	return buf;
}

int
parse_cidr(const char *s, struct parse_cidr *c, char *err, size_t errlen)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash = strchr(s, '/');
	size_t		 n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	long		 bits;
	int		 i, max;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		goto bad;
	bits = max;
	if (slash != NULL && parse_long(slash + 1, 0, max, &bits, err,
	    errlen) == -1)
		goto bad;
	c->bits = (int)bits;
	for (i = 0; i < max / 8; i++) {
		int keep = c->bits - i * 8;

		if (keep >= 8)
			continue;
		c->addr[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 -
		    keep));
	}
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not an address block (expected e.g. "
	    "10.0.0.0/8, 192.0.2.7 or 2001:db8::/32)", s);
	return -1;
}

int
parse_cidr_list(const char *s, struct parse_cidr *out, int max, char *err,
    size_t errlen)
{
	char	 word[128];
	size_t	 n;
	int	 count = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			break;
		for (n = 0; s[n] != '\0' && s[n] != ' ' && s[n] != '\t' &&
		    s[n] != ','; n++)
			;
		if (n >= sizeof(word)) {
			snprintf(err, errlen, "'%.*s...' is not an address "
			    "block", 32, s);
			return -1;
		}
		if (count >= max) {
			snprintf(err, errlen, "at most %d address blocks", max);
			return -1;
		}
		memcpy(word, s, n);
		word[n] = '\0';
		if (parse_cidr(word, &out[count], err, errlen) == -1)
			return -1;
		count++;
		s += n;
	}
	if (count == 0) {
		snprintf(err, errlen, "expected one or more address blocks");
		return -1;
	}
	return count;
}

int
parse_cidr_match(const struct parse_cidr *c, int n, int family,
    const unsigned char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	int	i, k, full, rest;

	if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += 12;
	}
	for (i = 0; i < n; i++) {
		if (c[i].family != family)
			continue;
		full = c[i].bits / 8;
		rest = c[i].bits % 8;
		if (memcmp(c[i].addr, addr, (size_t)full) != 0)
			continue;
		k = rest == 0 || ((addr[full] & (0xff << (8 - rest))) & 0xff) ==
		    c[i].addr[full];
		if (k)
			return 1;
	}
	return 0;
}
