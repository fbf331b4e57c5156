/*
 * pool.c - the pool guard shared by the agent (route_state.c) and the
 * console's drain preview (view_routes.c, cli.c).
 */
#include <stdio.h>
#include <string.h>

#include "pool.h"

static int
pool_ready(int active, int probe_down)
{
	return active && !probe_down;
}

void
pool_count(const struct pool_member *m, size_t n, const char *pool,
    int drain, struct pool_outcome *o)
{
	size_t	i;
	int	now, after;

	memset(o, 0, sizeof(*o));
	if (pool == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (m[i].pool == NULL || strcmp(m[i].pool, pool) != 0)
			continue;
		o->size++;
		now = pool_ready(m[i].active, m[i].probe_down);
		after = now;
		if (m[i].selected) {
			o->selected++;
			after = drain ? 0 : pool_ready(1, m[i].probe_down);
		}
		o->before += now;
		o->after += after;
		if (now && !after)
			o->weakened = 1;
	}
}

int
pool_trips(const struct pool_outcome *o, int min_active, int drain)
{
	return drain && o->weakened && o->after < min_active;
}

void
pool_describe(const struct pool_outcome *o, const char *pool,
    int min_active, char *buf, size_t len)
{
	snprintf(buf, len, "pool %s would keep %d of %d route%s taking "
	    "traffic (now %d, min_active %d)", pool, o->after, o->size,
	    o->size == 1 ? "" : "s", o->before, min_active);
}
