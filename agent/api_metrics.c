/*
 * api_metrics.c - GET /metrics in the Prometheus text format (0.0.4), so
 * a Prometheus can be the fleet-wide store and alerting engine.
 *
 * The probe families are rendered on the loop thread into a snapshot,
 * on demand: a scrape that finds the snapshot stale (results or states
 * changed, or older than METRICS_MAX_AGE_US for the store's figures) and
 * older than METRICS_GAP_US wakes the loop and waits for a new one.  An
 * agent nobody scrapes renders nothing; one scraped every 15 s renders
 * once per scrape.  Build info, uptime, API request counts and the route
 * families are added per scrape.
 *
 * vantage_probe_up is 1 for up or degraded, 0 for down, and absent while
 * the state is unknown (no verdict yet is not "down"); the one-hot
 * vantage_probe_state{state="unknown"} says so explicitly.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vantaged.h"

#define METRICS_GAP_US		1000000
#define METRICS_MAX_AGE_US	10000000
#define METRICS_WAIT_US		2000000		/* a scrape waits for a build */
#define METRICS_TYPE		"text/plain; version=0.0.4; charset=utf-8"

static struct api_snap	 *metrics_snap;
static int64_t		  built_us;
static struct loop_timer *metrics_timer;
/* the loop's data generation, and a scrape's request for a build */
static _Atomic uint64_t	  metrics_data_gen;
static _Atomic int	  metrics_wanted;

static void	metrics_get(struct api_req *, struct api_reply *);

const struct api_handler api_metrics_handlers[] = {
	{ .method = "GET", .pattern = "/metrics", .role = ROLE_VIEWER,
	  .fn = metrics_get },
	{ .method = NULL }
};

static void
metrics_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void
metrics_label(struct buf *b, const char *key, const char *v, int first)
{
	buf_printf(b, "%s%s=\"", first ? "" : ",", key);
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			buf_adds(b, "\\\\");
		else if (*v == '"')
			buf_adds(b, "\\\"");
		else if (*v == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *v);
	}
	buf_addc(b, '"');
}

static void
metrics_probe_sample(struct buf *b, const char *name, const struct probe *p)
{
	buf_printf(b, "%s{", name);
	metrics_label(b, "probe", p->conf->name, 1);
}

static void
metrics_seconds(struct buf *b, int64_t us)
{
	buf_printf(b, "} %.6f\n", (double)us / 1e6);
}

static struct api_snap *
metrics_build(struct probe **ps, int n)
{
	static const enum probe_state states[] = { STATE_UNKNOWN, STATE_UP,
	    STATE_DEGRADED, STATE_DOWN };
	static const struct {
		const char	*name;
		size_t		 off;
	} phases[] = {
		{ "dns", offsetof(struct probe_result, dns_us) },
		{ "connect", offsetof(struct probe_result, connect_us) },
		{ "tls", offsetof(struct probe_result, tls_us) },
		{ "ttfb", offsetof(struct probe_result, ttfb_us) },
	};
	const struct probe_engine_stats	*es = probe_engine_stats();
	struct store_stats		 ss;
	struct buf			 b;
	struct api_snap			*snap;
	size_t				 k;
	int				 i;

	buf_init(&b);
	metrics_family(&b, "vantage_probe_up", "gauge", "1 when the probe is "
	    "up or degraded, 0 when down; absent while unknown.");
	for (i = 0; i < n; i++) {
		const struct probe *p = ps[i];

		if (p->state == STATE_UNKNOWN)
			continue;
		metrics_probe_sample(&b, "vantage_probe_up", p);
		metrics_label(&b, "type", p->conf->type->name, 0);
		metrics_label(&b, "target", p->conf->target, 0);
		buf_printf(&b, "} %d\n", p->state != STATE_DOWN);
	}
	metrics_family(&b, "vantage_probe_state", "gauge", "The probe's state "
	    "after fall/rise, one-hot.");
	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
			metrics_probe_sample(&b, "vantage_probe_state", ps[i]);
			metrics_label(&b, "state", probe_state_str(states[k]),
			    0);
			buf_printf(&b, "} %d\n", ps[i]->state == states[k]);
		}
	}
	metrics_family(&b, "vantage_probe_latency_seconds", "gauge", "Total "
	    "time of the last run.");
	for (i = 0; i < n; i++) {
		if (!ps[i]->has_last)
			continue;
		metrics_probe_sample(&b, "vantage_probe_latency_seconds", ps[i]);
		metrics_seconds(&b, ps[i]->last.latency_us);
	}
	metrics_family(&b, "vantage_probe_phase_seconds", "gauge", "Phases of "
	    "the last run (dns, connect, tls, ttfb) where the type has them.");
	for (i = 0; i < n; i++) {
		if (!ps[i]->has_last)
			continue;
		for (k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
			int64_t us = *(const int64_t *)(const void *)
			    ((const char *)&ps[i]->last + phases[k].off);

			if (us < 0)
				continue;
			metrics_probe_sample(&b, "vantage_probe_phase_seconds",
			    ps[i]);
			metrics_label(&b, "phase", phases[k].name, 0);
			metrics_seconds(&b, us);
		}
	}
	metrics_family(&b, "vantage_probe_results_total", "counter", "Runs by "
	    "outcome since the agent started.");
	for (i = 0; i < n; i++) {
		const struct probe_stats *s = &ps[i]->stats;

		metrics_probe_sample(&b, "vantage_probe_results_total", ps[i]);
		metrics_label(&b, "outcome", "ok", 0);
		buf_printf(&b, "} %" PRIu64 "\n", s->ok);
		metrics_probe_sample(&b, "vantage_probe_results_total", ps[i]);
		metrics_label(&b, "outcome", "degraded", 0);
		buf_printf(&b, "} %" PRIu64 "\n", s->degraded);
		metrics_probe_sample(&b, "vantage_probe_results_total", ps[i]);
		metrics_label(&b, "outcome", "fail", 0);
		buf_printf(&b, "} %" PRIu64 "\n", s->fail);
		metrics_probe_sample(&b, "vantage_probe_results_total", ps[i]);
		metrics_label(&b, "outcome", "unknown", 0);
		buf_printf(&b, "} %" PRIu64 "\n", s->unknown);
	}
	metrics_family(&b, "vantage_probe_cert_days_left", "gauge", "Days "
	    "until the certificate seen by the last run expires.");
	for (i = 0; i < n; i++) {
		if (!ps[i]->has_last || !ps[i]->last.has_cert)
			continue;
		metrics_probe_sample(&b, "vantage_probe_cert_days_left", ps[i]);
		buf_printf(&b, "} %d\n", ps[i]->last.cert_days);
	}
	probe_exec_metrics(&b, ps, n);
	metrics_family(&b, "vantage_probe_runs_total", "counter", "Probe runs "
	    "started by the scheduler.");
	buf_printf(&b, "vantage_probe_runs_total %" PRIu64 "\n", es->started);
	metrics_family(&b, "vantage_probe_runs_late_total", "counter", "Runs "
	    "started more than 10% of their interval late.");
	buf_printf(&b, "vantage_probe_runs_late_total %" PRIu64 "\n", es->late);
	metrics_family(&b, "vantage_probe_runs_skipped_total", "counter",
	    "Runs skipped because the previous one was still in flight.");
	buf_printf(&b, "vantage_probe_runs_skipped_total %" PRIu64 "\n",
	    es->skipped);
	memset(&ss, 0, sizeof(ss));
	if (vd != NULL && vd->store != NULL)
		store_get_stats(vd->store, &ss);
	metrics_family(&b, "vantage_store_queue_rows", "gauge", "Results "
	    "waiting for the store's writer.");
	buf_printf(&b, "vantage_store_queue_rows %" PRIu64 "\n", ss.queued);
	metrics_family(&b, "vantage_store_queue_max_rows", "gauge", "Results "
	    "the queue holds before it drops the oldest ([agent] queue_max).");
	buf_printf(&b, "vantage_store_queue_max_rows %" PRIu64 "\n",
	    ss.queue_max);
	metrics_family(&b, "vantage_store_rows_written_total", "counter",
	    "Results committed to the database.");
	buf_printf(&b, "vantage_store_rows_written_total %" PRIu64 "\n",
	    ss.written);
	metrics_family(&b, "vantage_store_rows_enqueued_total", "counter",
	    "Results handed to the store.");
	buf_printf(&b, "vantage_store_rows_enqueued_total %" PRIu64 "\n",
	    ss.enqueued);
	/* Two names, one value: dashboards know the first, the issue
	 * tracker and vantaged(8) the second. */
	metrics_family(&b, "vantage_store_rows_dropped_total", "counter",
	    "Results lost (oldest of a full queue, or write given up).");
	buf_printf(&b, "vantage_store_rows_dropped_total %" PRIu64 "\n",
	    ss.dropped);
	metrics_family(&b, "vantage_store_dropped_total", "counter",
	    "Same as vantage_store_rows_dropped_total.");
	buf_printf(&b, "vantage_store_dropped_total %" PRIu64 "\n",
	    ss.dropped);
	snap = api_snap_new(&b, 0, 0);
	buf_free(&b);
	return snap;
}

static void
metrics_timer_fired(void *arg)
{
	/* api_tick() runs before the loop sleeps again */
	metrics_timer = NULL;
}

void
api_metrics_tick(void)
{
	struct probe	**ps;
	struct api_snap	 *snap;
	int		  n;
	uint64_t	  gen = probe_engine_gen() + probe_engine_state_gen();
	int64_t		  now = clock_mono_us();

	metrics_data_gen = gen;
	/* nobody scraped since the last build (or ever): nothing to build */
	if (!metrics_wanted)
		return;
	if (metrics_snap != NULL) {
		if (metrics_snap->src == gen &&
		    now - built_us < METRICS_MAX_AGE_US) {
			metrics_wanted = 0;
			return;
		}
		if (now - built_us < METRICS_GAP_US) {
			if (metrics_timer == NULL)
				metrics_timer = loop_timer_add(METRICS_GAP_US -
				    (now - built_us), metrics_timer_fired, NULL);
			return;
		}
		metrics_wanted = 0;
	}
	ps = probe_engine_probes(&n);
	snap = metrics_build(ps, n);
	snap->src = gen;
	api_snap_set(&metrics_snap, snap);
	built_us = now;
}

void
api_metrics_stop(void)
{
	if (metrics_timer != NULL) {
		loop_timer_del(metrics_timer);
		metrics_timer = NULL;
	}
	api_snap_set(&metrics_snap, NULL);
	metrics_wanted = 0;
}

/* The route families, read under the route state lock. */
void
api_metrics_routes(struct buf *b)
{
	static const enum route_state states[] = { ROUTE_ACTIVE,
	    ROUTE_DRAINING, ROUTE_MAINT };
	static const enum route_effective effs[] = { ROUTE_EFF_READY,
	    ROUTE_EFF_DRAIN, ROUTE_EFF_MAINT, ROUTE_EFF_DOWN };
	struct route		**routes;
	const struct route_pool	 *pools;
	size_t			  k;
	int			  i, j, n_routes, n_pools, active;

	/* Route and pool names are [A-Za-z0-9._-]: no label escaping. */
	route_lock();
	routes = route_list(&n_routes);
	pools = route_pools(&n_pools);
	buf_adds(b, "# HELP vantage_route_state Operator state of the route "
	    "(1 for the current state).\n# TYPE vantage_route_state gauge\n");
	for (i = 0; i < n_routes; i++) {
		for (k = 0; k < sizeof(states) / sizeof(states[0]); k++)
			buf_printf(b, "vantage_route_state{route=\"%s\","
			    "state=\"%s\"} %d\n", routes[i]->name,
			    route_state_str(states[k]),
			    routes[i]->state == states[k]);
	}
	buf_adds(b, "# HELP vantage_route_effective What load balancers are "
	    "told about the route (1 for the current answer).\n"
	    "# TYPE vantage_route_effective gauge\n");
	for (i = 0; i < n_routes; i++) {
		enum route_effective e = route_eff(routes[i]);

		for (k = 0; k < sizeof(effs) / sizeof(effs[0]); k++)
			buf_printf(b, "vantage_route_effective{route=\"%s\","
			    "effective=\"%s\"} %d\n", routes[i]->name,
			    route_effective_str(effs[k]), e == effs[k]);
	}
	buf_adds(b, "# HELP vantage_pool_active_routes Routes of the pool "
	    "taking traffic (effective ready).\n"
	    "# TYPE vantage_pool_active_routes gauge\n");
	for (i = 0; i < n_pools; i++) {
		for (active = 0, j = 0; j < n_routes; j++) {
			if (routes[j]->pool != NULL &&
			    strcmp(routes[j]->pool, pools[i].name) == 0 &&
			    route_eff(routes[j]) == ROUTE_EFF_READY)
				active++;
		}
		buf_printf(b, "vantage_pool_active_routes{pool=\"%s\"} %d\n",
		    pools[i].name, active);
	}
	buf_adds(b, "# HELP vantage_route_changes_total Operator state "
	    "changes of the route since the agent started.\n"
	    "# TYPE vantage_route_changes_total counter\n");
	for (i = 0; i < n_routes; i++)
		buf_printf(b, "vantage_route_changes_total{route=\"%s\"} %"
		    PRIu64 "\n", routes[i]->name, routes[i]->changes);
	route_unlock();
}


static void
metrics_get(struct api_req *req, struct api_reply *rep)
{
	struct api_snap	*s;
	struct buf	*b = &rep->body;
	int		 code;
	uint64_t	 c;

	s = api_snap_get(&metrics_snap);
	/* stale and not just built: ask the loop for a new one and wait */
	if (s == NULL || ((s->src != metrics_data_gen ||
	    clock_mono_us() - s->built_us >= METRICS_MAX_AGE_US) &&
	    clock_mono_us() - s->built_us >= METRICS_GAP_US)) {
		struct api_snap *ns;

		metrics_wanted = 1;
		api_wake();
		ns = api_snap_wait(&metrics_snap, s, METRICS_WAIT_US);
		api_snap_put(s);
		s = ns;
	}
	if (s == NULL) {
		rep->retry_after = 1;
		api_error(rep, 503, "unavailable", "the agent is starting");
		return;
	}
	rep->content_type = METRICS_TYPE;
	metrics_family(b, "vantage_build_info", "gauge", "Always 1; the "
	    "agent's version as a label.");
	buf_printf(b, "vantage_build_info{version=\"%s\"} 1\n",
	    VANTAGE_VERSION);
	metrics_family(b, "vantage_agent_uptime_seconds", "gauge", "Seconds "
	    "since the agent started.");
	buf_printf(b, "vantage_agent_uptime_seconds %.3f\n",
	    (double)(clock_mono_us() - vd->started_us) / 1e6);
	buf_add(b, s->data, s->len);
	metrics_family(b, "vantage_api_requests_total", "counter", "API "
	    "responses by HTTP status code.");
	for (code = 100; code < 600; code++) {
		if ((c = api_requests(code)) > 0)
			buf_printf(b, "vantage_api_requests_total{code=\"%d\"} %"
			    PRIu64 "\n", code, c);
	}
	api_metrics_routes(b);
	api_snap_put(s);
}
