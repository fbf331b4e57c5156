/*
 * pool.h - the pool guard: how many routes of a pool take traffic now
 * and after a drain or undrain of some of them.  The agent refuses a
 * drain with it (409) and the console previews the same change with it,
 * so a preview can never disagree with the agent's answer.
 */
#ifndef VANTAGE_POOL_H
#define VANTAGE_POOL_H

#include <stddef.h>

/* One route as the guard sees it. */
struct pool_member {
	const char	*pool;		/* NULL: in no pool */
	int		 active;	/* operator state is active */
	int		 probe_down;	/* its linked probe is DOWN */
	int		 selected;	/* part of the change */
};

struct pool_outcome {
	int	 size;		/* routes in the pool */
	int	 before;	/* taking traffic now */
	int	 after;		/* taking traffic after the change */
	int	 selected;	/* routes of the pool in the change */
	int	 weakened;	/* the change takes a route out of service */
};

/*
 * A route takes traffic when its operator state is active and its probe
 * is not DOWN (maint and draining never do).  Counts pool's members now
 * and after draining (drain = 1) or undraining (drain = 0) the selected
 * ones.
 */
void	pool_count(const struct pool_member *, size_t n, const char *pool,
	    int drain, struct pool_outcome *);
/*
 * The guard: 1 when a drain takes a route out of service and leaves
 * fewer than min_active routes taking traffic.  Draining routes that
 * take no traffic now never trips it, nor does an undrain.
 */
int	pool_trips(const struct pool_outcome *, int min_active, int drain);
/*
 * "pool web would keep 1 of 3 routes taking traffic (now 2, min_active
 * 2)": the words both the agent's refusal and the console's preview use.
 */
void	pool_describe(const struct pool_outcome *, const char *pool,
	    int min_active, char *buf, size_t len);

#endif
