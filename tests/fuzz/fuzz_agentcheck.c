/*
 * fuzz_agentcheck.c - libFuzzer target for the HAProxy agent-check line
 * reader (haproxy_parse_line): whatever arrives, it never reads past len,
 * a name it accepts is a valid route name, and feeding the input a byte at
 * a time (as a slow client would) gives the same answer as all at once.
 */
// LINK: agent/haproxy.c shared/log.c shared/text.c shared/parse.c shared/buf.c
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vantaged.h"

/* haproxy.c's other dependencies, never reached from the parser */
struct vantaged *vd;

int
route_get(const char *name, enum route_state *st, enum route_effective *e)
{
	return -1;
}

int
loop_fd_add(int fd, uint32_t ev, loop_fd_cb cb, void *arg)
{
	return -1;
}

int
loop_fd_mod(int fd, uint32_t ev)
{
	return -1;
}

void
loop_fd_del(int fd)
{
}

struct loop_timer *
loop_timer_add(int64_t after_us, loop_timer_cb cb, void *arg)
{
	return NULL;
}

void
loop_timer_del(struct loop_timer *t)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*copy, name[65], name2[65];
	size_t	 i, n;
	int	 rc, rc2 = 0;

	/* an exact-size heap copy: ASan catches any read past len */
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, len);
	rc = haproxy_parse_line(copy, len, name, sizeof(name));
	if (rc == 1) {
		n = strlen(name);
		if (n == 0 || n > 64)
			abort();
		for (i = 0; i < n; i++) {
			char c = name[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			    c == '.'))
				abort();
		}
	}
	/* byte by byte: the first complete answer must be the same */
	for (i = 1; i <= len; i++) {
		rc2 = haproxy_parse_line(copy, i, name2, sizeof(name2));
		if (rc2 != 0)
			break;
	}
	if (rc != 0 && (rc2 != rc || (rc == 1 && strcmp(name, name2) != 0)))
		abort();
	free(copy);
	return 0;
}
