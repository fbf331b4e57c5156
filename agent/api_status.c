/*
 * api_status.c - GET /v1/health, GET /v1/status and POST /v1/reload.
 *
 * /v1/status is what every console polls, and an agent may run a hundred
 * thousand probes, so its cost follows the results and the readers, not
 * the number of probes.  On every tick the loop thread folds only the
 * probes with a new result (the engine's dirty list) into their records;
 * each probe's JSON fragment is printed again only when that probe
 * changed.  The document is assembled from the fragments into a snapshot
 * only when a request finds the last one stale (it wakes the loop and
 * waits for the new one), at most every STATUS_GAP_US: an agent nobody
 * asks renders nothing.  The API threads copy the snapshot; only the
 * agent header (clock, uptime, the caller's identity) is written per
 * request, and the routes part is rendered afresh when a drain made the
 * snapshot's copy stale.
 *
 * stats_1h comes from memory, kept here per probe name: counters per
 * five-minute slot (runs by outcome, latency sum; twelve slots, so the
 * hour slides in five-minute steps and ten thousand probes keep under
 * 4 MB of them) for exact counts and mean, and
 * a ring of the last hour's latencies for the 95th percentile (at most
 * STATS_SAMPLES of them, 4 bytes each: a probe faster than every ~7 s
 * gets the p95 of its latest samples, so ten thousand probes cost a few
 * megabytes).  The p95 is recomputed at most every STATS_P95_MS, not on
 * every snapshot.  Counts start when the agent starts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "hash.h"
#include "vantaged.h"

#define STATUS_GAP_US	200000		/* at most 5 builds/s, however asked */
#define STATUS_WAIT_US	1000000		/* a request waits for a build */
#define STATS_SLOTS	12		/* of STATS_SLOT_MS each: one hour */
#define STATS_SLOT_MS	300000
#define STATS_SAMPLES	512
#define STATS_P95_MS	10000
#define HOUR_MS		(3600 * 1000)

/*
 * 20 bytes.  Runs do not overlap and the shortest interval is 10 ms, so
 * a five-minute slot holds at most 30,000 runs (16 bits), and their
 * latencies add up to at most the slot plus one run's timeout (32 bits of
 * microseconds hold 71 minutes); the adds saturate all the same.
 */
struct stats_slot {
	int32_t		 slot;		/* wall ms / STATS_SLOT_MS */
	uint16_t	 runs, ok, degraded, fail;
	uint16_t	 lat_n;
	uint32_t	 lat_sum;	/* ok and degraded runs, us */
};
_Static_assert(sizeof(struct stats_slot) == 20, "stats_slot grew");

static void
stats_add16(uint16_t *c, uint64_t n)
{
	*c = n >= (uint64_t)(UINT16_MAX - *c) ? UINT16_MAX :
	    (uint16_t)(*c + n);
}

/*
 * A latency sample in 4 bytes, so a hundred thousand probes keep their
 * hour in a few megabytes: the wall clock second modulo 2^16 (ages up
 * to 18 hours read exactly; samples are at most an hour old), and the
 * latency on a log scale, STATS_LOG_K steps per factor e: within 0.02%
 * of the measured figure, up to ~71 minutes.
 */
struct stats_sample {
	uint16_t	 t16;		/* wall clock seconds, mod 65536 */
	uint16_t	 lat;		/* stats_lat_enc() */
};
#define STATS_LOG_K	2950.0

static uint16_t
stats_lat_enc(int64_t us)
{
	double	v;

	if (us <= 0)
		return 0;
	v = log1p((double)us) * STATS_LOG_K + 0.5;
	return v >= 65535 ? 65535 : (uint16_t)v;
}

static int64_t
stats_lat_dec(uint16_t v)
{
	return (int64_t)(expm1((double)v / STATS_LOG_K) + 0.5);
}

/* When the sample was taken, from its second modulo 2^16. */
static int64_t
stats_sample_ms(const struct stats_sample *s, int64_t now_ms)
{
	uint16_t age = (uint16_t)((uint32_t)(now_ms / 1000) - s->t16);

	return (now_ms / 1000 - age) * 1000;
}

struct stats_rec {
	char			*name;
	struct probe_stats	 seen;		/* engine counts folded */
	struct stats_slot	 min[STATS_SLOTS];
	struct stats_sample	*ring;
	size_t			 cap, head, n;	/* head: next write */
	int			 p95_dirty;
	int64_t			 p95_us;	/* -1: none */
	int64_t			 p95_oldest;	/* t_ms of oldest sample used */
	int64_t			 p95_at;	/* wall ms of the last compute */
	int			 taken;		/* remap bookkeeping */
	/*
	 * The probe's rendered JSON object, reused by every snapshot until
	 * something in it changes: with ten thousand probes only the few
	 * with a new result are printed again, the rest are copied.
	 */
	char			*frag;		/* exactly frag_len bytes */
	size_t			 frag_len;
	int			 frag_valid;
	uint64_t		 frag_runs;
	const struct probe_conf	*frag_conf;
	enum probe_state	 frag_state;
	int64_t			 frag_since;
	int64_t			 frag_p95;
	int32_t			 frag_slot;
	uint64_t		 frag_ack;	/* alert_ack_gen() */
};

static struct api_snap	 *status_snap;
static struct stats_rec	**recs;		/* parallel to the engine's probes */
static int		  n_recs;
static struct probe	**recs_for;	/* the array recs was built for */
static uint64_t		  seen_set_gen = (uint64_t)-1;
static uint64_t		  seen_state_gen = (uint64_t)-1;
static int32_t		  seen_slot;
static uint64_t		  seen_ack_gen;
static uint64_t		  data_gen;	/* bumped when the probes part changes */
static uint64_t		  built_route_gen;
static int64_t		  built_us;
static struct loop_timer *status_timer;
/* what API threads read to know whether the snapshot is stale */
static _Atomic uint64_t	  status_data_gen;
static _Atomic int	  status_wanted;

static void	status_health(struct api_req *, struct api_reply *);
static void	status_get(struct api_req *, struct api_reply *);
static void	status_reload(struct api_req *, struct api_reply *);

const struct api_handler api_status_handlers[] = {
	{ .method = "GET", .pattern = "/v1/health", .role = ROLE_NONE,
	  .fn = status_health },
	{ .method = "GET", .pattern = "/v1/status", .role = ROLE_VIEWER,
	  .fn = status_get },
	{ .method = "POST", .pattern = "/v1/reload", .role = ROLE_ADMIN,
	  .mutating = 1, .fn = status_reload },
	{ .method = NULL }
};

/* ---------------------------------------------------------------- */
/* per-probe statistics (loop thread) */

static size_t
stats_cap(const struct probe *p)
{
	int64_t	n = HOUR_MS / (p->conf->interval_ms > 0 ?
		    p->conf->interval_ms : 1000) + 2;

	return n > STATS_SAMPLES ? STATS_SAMPLES : (size_t)n;
}

static void
stats_rec_free(struct stats_rec *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->ring);
	free(r->frag);
	free(r);
}

/* Keeps the newest samples when a probe's interval changed. */
static void
stats_resize(struct stats_rec *r, size_t cap)
{
	struct stats_sample	*nr;
	size_t			 i, keep;

	if (cap == r->cap || cap == 0)
		return;
	nr = xcalloc(cap, sizeof(*nr));
	keep = r->n < cap ? r->n : cap;
	for (i = 0; i < keep; i++)
		nr[keep - 1 - i] = r->ring[(r->head + r->cap - 1 - i) % r->cap];
	free(r->ring);
	r->ring = nr;
	r->cap = cap;
	r->n = keep;
	r->head = keep % cap;
	r->p95_dirty = 1;
}

/* The engine's probe set changed (reload): records follow by name. */
static void
stats_remap(struct probe **ps, int n)
{
	struct stats_rec	**nr;
	int			 *tab, i, nt;
	uint32_t		  h;

	for (nt = 16; nt < n_recs * 2; nt *= 2)
		;
	tab = xcalloc((size_t)nt, sizeof(*tab));
	for (i = 0; i < nt; i++)
		tab[i] = -1;
	for (i = 0; i < n_recs; i++) {
		recs[i]->taken = 0;
		for (h = hash_fnv1a(recs[i]->name); tab[h & (nt - 1)] != -1;
		    h++)
			;
		tab[h & (nt - 1)] = i;
	}
	nr = xcalloc((size_t)n + 1, sizeof(*nr));
	for (i = 0; i < n; i++) {
		for (h = hash_fnv1a(ps[i]->conf->name); tab[h & (nt - 1)] != -1;
		    h++) {
			struct stats_rec *r = recs[tab[h & (nt - 1)]];

			if (!r->taken && strcmp(r->name, ps[i]->conf->name) ==
			    0) {
				r->taken = 1;
				nr[i] = r;
				break;
			}
		}
		if (nr[i] == NULL) {
			nr[i] = xcalloc(1, sizeof(**nr));
			nr[i]->name = xstrdup(ps[i]->conf->name);
			nr[i]->cap = stats_cap(ps[i]);
			nr[i]->ring = xcalloc(nr[i]->cap,
			    sizeof(*nr[i]->ring));
			nr[i]->p95_us = -1;
		} else
			stats_resize(nr[i], stats_cap(ps[i]));
	}
	for (i = 0; i < n_recs; i++) {
		if (!recs[i]->taken)
			stats_rec_free(recs[i]);
	}
	free(tab);
	free(recs);
	recs = nr;
	n_recs = n;
	recs_for = ps;
}

/* Folds what the engine counted since the last look into the slots. */
static void
stats_fold(const struct probe *p, struct stats_rec *r)
{
	const struct probe_stats	*s = &p->stats;
	struct stats_slot		*m;
	int64_t				 t;
	int32_t				 slot;

	if (s->runs == r->seen.runs)
		return;
	t = p->has_last ? p->last.t_ms : clock_wall_ms();
	slot = (int32_t)(t / STATS_SLOT_MS);
	m = &r->min[slot % STATS_SLOTS];
	if (m->slot != slot) {
		memset(m, 0, sizeof(*m));
		m->slot = slot;
	}
	/* the engine's counters are exact even if two runs came between */
	if (s->runs >= r->seen.runs) {
		stats_add16(&m->runs, s->runs - r->seen.runs);
		stats_add16(&m->ok, s->ok - r->seen.ok);
		stats_add16(&m->degraded, s->degraded - r->seen.degraded);
		stats_add16(&m->fail, s->fail - r->seen.fail);
	}
	r->seen = *s;
	if (!p->has_last || p->last.status == PROBE_FAIL ||
	    p->last.status == PROBE_UNKNOWN)
		return;	/* a timeout's "latency" says nothing of the target */
	m->lat_sum = (uint64_t)m->lat_sum + (uint64_t)p->last.latency_us >
	    UINT32_MAX ? UINT32_MAX : m->lat_sum + (uint32_t)p->last.latency_us;
	stats_add16(&m->lat_n, 1);
	r->ring[r->head].t16 = (uint16_t)(p->last.t_ms / 1000);
	r->ring[r->head].lat = stats_lat_enc(p->last.latency_us);
	r->head = (r->head + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
	r->p95_dirty = 1;
}

static int
stats_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
stats_p95(struct stats_rec *r, int64_t now_ms)
{
	int64_t	*v, oldest = INT64_MAX;
	size_t	 i, n = 0;

	/* unchanged samples and none aged out: the last answer holds */
	if (!r->p95_dirty && (r->p95_oldest == INT64_MAX ||
	    r->p95_oldest >= now_ms - HOUR_MS))
		return;
	/* new samples move a p95 slowly: sorting them is worth doing rarely */
	if (r->p95_us != -1 && now_ms - r->p95_at < STATS_P95_MS)
		return;
	r->p95_at = now_ms;
	v = xcalloc(r->n + 1, sizeof(*v));
	for (i = 0; i < r->n; i++) {
		const struct stats_sample *s = &r->ring[i];

		int64_t t_ms = stats_sample_ms(s, now_ms);

		if (t_ms < now_ms - HOUR_MS)
			continue;
		v[n++] = stats_lat_dec(s->lat);
		if (t_ms < oldest)
			oldest = t_ms;
	}
	if (n == 0)
		r->p95_us = -1;
	else {
		qsort(v, n, sizeof(*v), stats_cmp);
		/* nearest rank: the smallest value >= 95% of the samples */
		r->p95_us = v[(n * 95 + 99) / 100 - 1];
	}
	r->p95_oldest = oldest;
	r->p95_dirty = 0;
	free(v);
}

static void
stats_json(struct buf *b, struct stats_rec *r, int64_t now_ms)
{
	uint64_t	runs = 0, ok = 0, deg = 0, fail = 0, lsum = 0, ln = 0;
	int32_t		now_slot = (int32_t)(now_ms / STATS_SLOT_MS);
	int		i;

	for (i = 0; i < STATS_SLOTS; i++) {
		const struct stats_slot *m = &r->min[i];

		if (m->slot <= now_slot - STATS_SLOTS || m->slot > now_slot)
			continue;
		runs += m->runs;
		ok += m->ok;
		deg += m->degraded;
		fail += m->fail;
		lsum += m->lat_sum;
		ln += m->lat_n;
	}
	stats_p95(r, now_ms);
	buf_printf(b, "{\"runs\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"degraded\":%"
	    PRIu64 ",\"fail\":%" PRIu64 ",\"avg_us\":", runs, ok, deg, fail);
	if (ln > 0)
		buf_printf(b, "%" PRIu64, lsum / ln);
	else
		buf_adds(b, "null");
	if (r->p95_us >= 0)
		buf_printf(b, ",\"p95_us\":%" PRId64 "}", r->p95_us);
	else
		buf_adds(b, ",\"p95_us\":null}");
}

/* ---------------------------------------------------------------- */
/* the snapshot (loop thread) */

static void
status_num_or_null(struct buf *b, const char *key, int64_t v, int valid)
{
	if (valid)
		buf_printf(b, ",\"%s\":%" PRId64, key, v);
	else
		buf_printf(b, ",\"%s\":null", key);
}

static void
status_last_json(struct buf *b, const struct probe_result *r)
{
	buf_printf(b, "{\"t_ms\":%" PRId64 ",\"status\":\"%s\",\"latency_us\":%"
	    PRId64, r->t_ms, probe_status_str(r->status), r->latency_us);
	status_num_or_null(b, "dns_us", r->dns_us, r->dns_us >= 0);
	status_num_or_null(b, "connect_us", r->connect_us, r->connect_us >= 0);
	status_num_or_null(b, "tls_us", r->tls_us, r->tls_us >= 0);
	status_num_or_null(b, "ttfb_us", r->ttfb_us, r->ttfb_us >= 0);
	status_num_or_null(b, "code", r->code, r->code >= 0);
	status_num_or_null(b, "cert_days", r->cert_days, r->has_cert);
	buf_adds(b, ",\"error\":");
	buf_add_json_str(b, r->error);
	buf_addc(b, '}');
}

/* Certificates not verified: said in the status, not only the options. */
static int
status_insecure(const struct probe_conf *c)
{
	const int *insecure = config_probe_opt(c, "tls_insecure");
	const int *verify = config_probe_opt(c, "tls_verify");
	const int *tls = config_probe_opt(c, "tls");

	/* tcp and grpc verify only when they speak TLS at all */
	if (tls != NULL && !*tls)
		return 0;
	return (insecure != NULL && *insecure) || (verify != NULL && !*verify);
}

static void
status_probe_json(struct buf *b, const struct probe *p, struct stats_rec *r,
    int64_t now_ms)
{
	buf_adds(b, "{\"name\":");
	buf_add_json_str(b, p->conf->name);
	buf_adds(b, ",\"type\":");
	buf_add_json_str(b, p->conf->type->name);
	buf_adds(b, ",\"target\":");
	buf_add_json_str(b, p->conf->target);
	buf_printf(b, ",\"state\":\"%s\",\"state_since_ms\":%" PRId64
	    ",\"interval_ms\":%" PRId64,
	    probe_state_str(p->state), p->state_since_ms,
	    p->conf->interval_ms);
	if (status_insecure(p->conf))
		buf_adds(b, ",\"tls_insecure\":true");
	buf_adds(b, ",\"last\":");
	if (p->has_last)
		status_last_json(b, &p->last);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"stats_1h\":");
	stats_json(b, r, now_ms);
	alert_ack_json(b, p->conf->name);
	buf_addc(b, '}');
}

static void
status_build(struct probe **ps, int n)
{
	struct buf	 b;
	struct api_snap	*snap;
	size_t		 split, k;
	int64_t		 now_ms = clock_wall_ms();
	uint64_t	 ack_gen = alert_ack_gen();
	int		 i;

	buf_init(&b);
	buf_adds(&b, "\"probes\":[");
	for (i = 0; i < n; i++) {
		const struct probe	*p = ps[i];
		struct stats_rec	*r = recs[i];
		int32_t			 now_slot;

		if (i > 0)
			buf_addc(&b, ',');
		now_slot = (int32_t)(now_ms / STATS_SLOT_MS);
		stats_p95(r, now_ms);
		if (r->frag_valid && r->frag_runs == p->stats.runs &&
		    r->frag_conf == p->conf && r->frag_state == p->state &&
		    r->frag_since == p->state_since_ms &&
		    r->frag_slot == now_slot && r->frag_p95 == r->p95_us &&
		    r->frag_ack == ack_gen) {
			buf_add(&b, r->frag, r->frag_len);
			continue;
		}
		/* printed where it goes, kept at its exact size */
		k = b.len;
		status_probe_json(&b, p, r, now_ms);
		free(r->frag);
		r->frag_len = b.len - k;
		r->frag = xmalloc(r->frag_len);
		memcpy(r->frag, b.data + k, r->frag_len);
		r->frag_valid = 1;
		r->frag_runs = p->stats.runs;
		r->frag_conf = p->conf;
		r->frag_state = p->state;
		r->frag_since = p->state_since_ms;
		r->frag_slot = now_slot;
		r->frag_p95 = r->p95_us;
		r->frag_ack = ack_gen;
	}
	buf_addc(&b, ']');
	split = b.len;
	built_route_gen = route_gen();
	buf_addc(&b, ',');
	api_routes_json(&b);
	snap = api_snap_new(&b, built_route_gen, split);
	snap->src = data_gen;
	api_snap_set(&status_snap, snap);
	buf_free(&b);
}

static void
status_timer_fired(void *arg)
{
	/* nothing to do here: api_tick() runs before the loop sleeps */
	status_timer = NULL;
}

void
api_status_tick(void)
{
	struct probe	**ps, **d;
	int		  n, nd, i, k;
	uint64_t	  sgen = probe_engine_state_gen();
	uint64_t	  set_gen = probe_engine_set_gen();
	int64_t		  now = clock_mono_us();
	int32_t		  slot = (int32_t)(clock_wall_ms() / STATS_SLOT_MS);
	uint64_t	  ack_gen = alert_ack_gen();

	ps = probe_engine_probes(&n);
	if (set_gen != seen_set_gen || ps != recs_for || n != n_recs) {
		stats_remap(ps, n);
		for (i = 0; i < n; i++)
			stats_fold(ps[i], recs[i]);
		seen_set_gen = set_gen;
		data_gen++;
	}
	/* only the probes with a new result since the last tick */
	d = probe_engine_dirty(&nd);
	for (k = 0; k < nd; k++) {
		i = d[k]->conf_idx;
		if (i >= 0 && i < n && ps[i] == d[k])
			stats_fold(d[k], recs[i]);
	}
	probe_engine_dirty_clear();
	if (nd > 0 || sgen != seen_state_gen || slot != seen_slot ||
	    ack_gen != seen_ack_gen)
		data_gen++;
	seen_ack_gen = ack_gen;
	seen_state_gen = sgen;
	seen_slot = slot;
	status_data_gen = data_gen;

	/* nobody asked since the last build (or ever): nothing to build */
	if (!status_wanted)
		return;
	if (status_snap != NULL) {
		if (status_snap->src == data_gen &&
		    status_snap->tag == route_gen()) {
			status_wanted = 0;
			return;
		}
		if (now - built_us < STATUS_GAP_US) {
			if (status_timer == NULL)
				status_timer = loop_timer_add(STATUS_GAP_US -
				    (now - built_us), status_timer_fired, NULL);
			return;
		}
		status_wanted = 0;
	}
	status_build(ps, n);
	built_us = now;
}

void
api_status_stop(void)
{
	int	i;

	if (status_timer != NULL) {
		loop_timer_del(status_timer);
		status_timer = NULL;
	}
	api_snap_set(&status_snap, NULL);
	for (i = 0; i < n_recs; i++)
		stats_rec_free(recs[i]);
	free(recs);
	recs = NULL;
	n_recs = 0;
	recs_for = NULL;
	seen_set_gen = seen_state_gen = (uint64_t)-1;
	status_wanted = 0;
}

/* ---------------------------------------------------------------- */
/* handlers (API threads) */

static int64_t
status_uptime_s(void)
{
	return (clock_mono_us() - vd->started_us) / 1000000;
}

static void
status_health(struct api_req *req, struct api_reply *rep)
{
	char	name[256];

	api_agent_name(name, sizeof(name));
	buf_adds(&rep->body, "{\"status\":\"ok\",\"agent\":");
	buf_add_json_str(&rep->body, name);
	buf_printf(&rep->body, ",\"version\":\"%s\",\"uptime_s\":%" PRId64
	    ",\"time_ms\":%" PRId64 "}", VANTAGE_VERSION, status_uptime_s(),
	    clock_wall_ms());
}

static void
status_get(struct api_req *req, struct api_reply *rep)
{
	struct api_snap	*s;
	char		 name[256];

	s = api_snap_get(&status_snap);
	/* stale and not just built: ask the loop for a new one and wait */
	if (s == NULL || (s->src != status_data_gen &&
	    clock_mono_us() - s->built_us >= STATUS_GAP_US)) {
		struct api_snap *ns;

		status_wanted = 1;
		api_wake();
		ns = api_snap_wait(&status_snap, s, STATUS_WAIT_US);
		api_snap_put(s);
		s = ns;
	}
	if (s == NULL) {
		rep->retry_after = 1;
		api_error(rep, 503, "unavailable", "the agent is starting");
		return;
	}
	api_agent_name(name, sizeof(name));
	buf_adds(&rep->body, "{\"agent\":{\"name\":");
	buf_add_json_str(&rep->body, name);
	buf_printf(&rep->body, ",\"version\":\"%s\",\"uptime_s\":%" PRId64
	    ",\"time_ms\":%" PRId64 ",\"started_ms\":%" PRId64,
	    VANTAGE_VERSION, status_uptime_s(), clock_wall_ms(),
	    vd->started_ms);
	/* who the credential says the caller is: consoles show it */
	buf_adds(&rep->body, ",\"caller\":{\"name\":");
	buf_add_json_str(&rep->body, req->actor != NULL ? req->actor : "");
	buf_printf(&rep->body, ",\"role\":\"%s\"}},",
	    api_role_str(req->role));
	buf_add(&rep->body, s->data, s->split);
	if (s->tag == route_gen())
		buf_add(&rep->body, s->data + s->split, s->len - s->split);
	else {
		/* a drain since the snapshot: never show the old state */
		buf_addc(&rep->body, ',');
		api_routes_json(&rep->body);
		api_wake();
	}
	buf_addc(&rep->body, '}');
	api_snap_put(s);
}

static void
status_reload(struct api_req *req, struct api_reply *rep)
{
	static const char *const keys[] = { NULL };
	struct audit_entry	 e;
	cJSON			*j;
	char			 err[1024], aerr[256];
	int64_t			 id;
	int			 rc, i;

	if ((j = api_body_object(req, rep, keys, 1)) == NULL)
		return;
	cJSON_Delete(j);
	err[0] = '\0';
	rc = vantaged_request_reload(err, sizeof(err));
	/* the answer comes once the new routes are in place */
	for (i = 0; rc == 0 && i < 300 && !route_settled(); i++)
		usleep(10000);
	memset(&e, 0, sizeof(e));
	e.actor = req->actor;
	e.role = api_role_str(req->role);
	e.operator_hdr = req->operator_hdr != NULL ? req->operator_hdr : "";
	e.source = req->source;
	e.action = "reload";
	e.target = "";
	e.detail = rc == 0 ? "configuration reloaded" : err;
	e.result = rc == 0 ? "ok" : "failed";
	if (audit_append(&e, &id, aerr, sizeof(aerr)) == -1)
		log_warnx("api: reload by %s not audited: %s", req->actor,
		    aerr);
	if (rc == 0) {
		log_info("api: configuration reloaded by %s from %s",
		    req->actor, req->source);
		buf_adds(&rep->body, "{\"ok\":true}");
	} else
		api_error(rep, 400, "bad_config", "%s", err);
}
