/*
 * ratelimit.c - per-client token buckets for the API ([api] rate).
 *
 * Each client address has a bucket of `burst` tokens refilled at
 * `per_sec`; a request takes one or is refused with the time until the
 * next token.  The table is bounded: when it is full the client seen
 * longest ago gives up its slot.  That loses nothing in the common case
 * (an idle client's bucket is full again, the same as a new one) and
 * keeps memory fixed when an attacker cycles through addresses.
 *
 * One mutex: the API threads share the table, and a take is a hash
 * lookup and a few multiplications.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "vantaged.h"

#define RL_KEY_LEN	64	/* an IPv6 address text is at most 46 */

struct rl_entry {
	char		 key[RL_KEY_LEN];
	double		 tokens;
	int64_t		 last_us;
	int		 refused;	/* refused since the last allowed */
	int32_t		 next;		/* chain in the hash bucket, -1 end */
	int		 used;
};

struct ratelimit {
	pthread_mutex_t	 mtx;
	double		 per_sec;
	double		 burst;
	struct rl_entry	*e;
	size_t		 max;		/* entries */
	size_t		 n;		/* in use */
	int32_t		*head;		/* hash buckets */
	size_t		 nhead;		/* power of two */
};

struct ratelimit *
ratelimit_new(double per_sec, double burst, size_t max_clients)
{
	struct ratelimit	*rl;
	size_t			 i;

	rl = xcalloc(1, sizeof(*rl));
	pthread_mutex_init(&rl->mtx, NULL);
	rl->max = max_clients < 1 ? 1 : max_clients;
	rl->e = xcalloc(rl->max, sizeof(*rl->e));
	for (rl->nhead = 16; rl->nhead < rl->max * 2; rl->nhead *= 2)
		;
	rl->head = xcalloc(rl->nhead, sizeof(*rl->head));
	for (i = 0; i < rl->nhead; i++)
		rl->head[i] = -1;
	ratelimit_set(rl, per_sec, burst);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mtx);
	free(rl->e);
	free(rl->head);
	free(rl);
}

void
ratelimit_set(struct ratelimit *rl, double per_sec, double burst)
{
	size_t	i;

	pthread_mutex_lock(&rl->mtx);
	rl->per_sec = per_sec > 0 ? per_sec : 1;
	rl->burst = burst >= 1 ? burst : 1;
	/* a smaller burst applies at once, not after the buckets drain */
	for (i = 0; i < rl->max; i++) {
		if (rl->e[i].used && rl->e[i].tokens > rl->burst)
			rl->e[i].tokens = rl->burst;
	}
	pthread_mutex_unlock(&rl->mtx);
}

static void
rl_unlink(struct ratelimit *rl, int32_t idx)
{
	int32_t	*pp;

	pp = &rl->head[hash_fnv1a(rl->e[idx].key) & (rl->nhead - 1)];
	while (*pp != -1) {
		if (*pp == idx) {
			*pp = rl->e[idx].next;
			break;
		}
		pp = &rl->e[*pp].next;
	}
	rl->e[idx].used = 0;
	rl->n--;
}

/* A slot for a new client: a free one, else the one idle longest. */
static int32_t
rl_slot(struct ratelimit *rl)
{
	size_t	i, old = 0;

	if (rl->n < rl->max) {
		for (i = 0; i < rl->max; i++) {
			if (!rl->e[i].used)
				return (int32_t)i;
		}
	}
	for (i = 1; i < rl->max; i++) {
		if (rl->e[i].last_us < rl->e[old].last_us)
			old = i;
	}
	rl_unlink(rl, (int32_t)old);
	return (int32_t)old;
}

int
ratelimit_take(struct ratelimit *rl, const char *client, int64_t now_us,
    int *retry_s, int *first)
{
	struct rl_entry	*e = NULL;
	uint32_t	 b;
	int32_t		 i;
	double		 need;
	int		 ok;

	*retry_s = 0;
	*first = 0;
	pthread_mutex_lock(&rl->mtx);
	b = hash_fnv1a(client) & (rl->nhead - 1);
	for (i = rl->head[b]; i != -1; i = rl->e[i].next) {
		if (strncmp(rl->e[i].key, client, RL_KEY_LEN - 1) == 0) {
			e = &rl->e[i];
			break;
		}
	}
	if (e == NULL) {
		i = rl_slot(rl);
		e = &rl->e[i];
		memset(e, 0, sizeof(*e));
		strlcpy_v(e->key, client, sizeof(e->key));
		e->tokens = rl->burst;
		e->last_us = now_us;
		e->used = 1;
		b = hash_fnv1a(e->key) & (rl->nhead - 1);
		e->next = rl->head[b];
		rl->head[b] = i;
		rl->n++;
	}
	if (now_us > e->last_us) {
		e->tokens += (double)(now_us - e->last_us) / 1e6 * rl->per_sec;
		if (e->tokens > rl->burst)
			e->tokens = rl->burst;
		e->last_us = now_us;
	}
	if (e->tokens >= 1) {
		e->tokens -= 1;
		e->refused = 0;
		ok = 1;
	} else {
		need = (1 - e->tokens) / rl->per_sec;
		*retry_s = (int)ceil(need);
		if (*retry_s < 1)
			*retry_s = 1;
		*first = !e->refused;
		e->refused = 1;
		ok = 0;
	}
	pthread_mutex_unlock(&rl->mtx);
	return ok;
}

size_t
ratelimit_clients(struct ratelimit *rl)
{
	size_t	n;

	pthread_mutex_lock(&rl->mtx);
	n = rl->n;
	pthread_mutex_unlock(&rl->mtx);
	return n;
}
