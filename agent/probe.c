/*
 * probe.c - the probe engine: the table of probe types, the scheduler
 * (each probe at a fixed rate, first run spread over its interval so a
 * thousand probes never fire at once), the per-run timeout, the single
 * completion path probe_done() and the fall/rise state machine.
 *
 * Everything here runs on the loop thread.  A probe type only starts
 * work and reports back; timeouts, degradation rules (max_latency,
 * cert_min_days), state and storage are decided here, once.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "vantaged.h"

const struct probe_type *const probe_types[] = {
	&probe_http_type,
	&probe_tcp_type,
	&probe_dns_type,
	&probe_icmp_type,
	&probe_tls_type,
	&probe_ssh_type,
	&probe_grpc_type,
	&probe_exec_type,
	NULL
};

static struct probe		**probes;
static int			  n_probes;
static struct probe_engine_stats  engine_stats;
static uint64_t			  engine_gen, engine_state_gen;
static uint64_t			  engine_set_gen;	/* bumped by apply */
/* probes with a result since the last probe_engine_dirty_clear() */
static struct probe		**dirty;
static int			  n_dirty, cap_dirty;
static probe_state_cb		  state_cb;
static struct config		 *applied;	/* owns probes' confs */

static void	probe_due(void *);

const struct probe_type *
probe_type_find(const char *name)
{
	int	i;

	for (i = 0; probe_types[i] != NULL; i++) {
		if (strcmp(probe_types[i]->name, name) == 0)
			return probe_types[i];
	}
	return NULL;
}

const char *
probe_status_str(enum probe_status s)
{
	switch (s) {
	case PROBE_OK:
		return "ok";
	case PROBE_DEGRADED:
		return "degraded";
	case PROBE_FAIL:
		return "fail";
	case PROBE_UNKNOWN:
		return "unknown";
	}
	return "?";
}

const char *
probe_state_str(enum probe_state s)
{
	switch (s) {
	case STATE_UNKNOWN:
		return "unknown";
	case STATE_UP:
		return "up";
	case STATE_DEGRADED:
		return "degraded";
	case STATE_DOWN:
		return "down";
	}
	return "?";
}

void
probe_on_state_change(probe_state_cb cb)
{
	state_cb = cb;
}

int
probe_engine_init(char *err, size_t errlen)
{
	int	i;

	for (i = 0; probe_types[i] != NULL; i++) {
		if (probe_types[i]->init != NULL &&
		    probe_types[i]->init(err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
probe_engine_shutdown(void)
{
	int	i;

	probe_engine_stop_all();
	for (i = 0; probe_types[i] != NULL; i++) {
		if (probe_types[i]->shutdown != NULL)
			probe_types[i]->shutdown();
	}
}

struct probe **
probe_engine_probes(int *n)
{
	*n = n_probes;
	return probes;
}

const struct probe_engine_stats *
probe_engine_stats(void)
{
	return &engine_stats;
}

uint64_t
probe_engine_gen(void)
{
	return engine_gen;
}

uint64_t
probe_engine_state_gen(void)
{
	return engine_state_gen;
}

uint64_t
probe_engine_set_gen(void)
{
	return engine_set_gen;
}

struct probe **
probe_engine_dirty(int *n)
{
	*n = n_dirty;
	return dirty;
}

void
probe_engine_dirty_clear(void)
{
	int	i;

	for (i = 0; i < n_dirty; i++)
		dirty[i]->dirty = 0;
	n_dirty = 0;
}

static void
probe_mark_dirty(struct probe *p)
{
	if (p->dirty)
		return;
	if (n_dirty == cap_dirty) {
		cap_dirty = cap_dirty == 0 ? 256 : cap_dirty * 2;
		dirty = xreallocarray(dirty, (size_t)cap_dirty,
		    sizeof(*dirty));
	}
	p->dirty = 1;
	dirty[n_dirty++] = p;
}

/*
 * Jitter needs spread, not secrecy: xorshift64* seeded once from the
 * system's randomness (RAND_bytes per probe cost 2 us each, 24 ms for
 * ten thousand probes at start).
 */
static uint64_t
probe_random(void)
{
	static uint64_t	state;

	if (state == 0 && (RAND_bytes((unsigned char *)&state,
	    sizeof(state)) != 1 || state == 0))
		state = (uint64_t)clock_mono_us() | 1;
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 2685821657736338717ULL;
}

/* The shared teardown of a run: the type's release of what it holds. */
static void
probe_release(struct probe_run *run)
{
	void	*priv = run->priv;

	run->priv = NULL;
	if (priv != NULL && run->conf->type->release != NULL)
		run->conf->type->release(priv);
}

/* Ends the run in flight without a result (reload, shutdown). */
static void
probe_cancel_run(struct probe *p)
{
	struct probe_run	*run = p->run;

	if (run == NULL)
		return;
	if (run->timeout != NULL)
		loop_timer_del(run->timeout);
	probe_release(run);
	free(run->res.detail);
	free(run);
	p->run = NULL;
}

static void
probe_free(struct probe *p)
{
	probe_cancel_run(p);
	if (p->next != NULL)
		loop_timer_del(p->next);
	free(p->last.detail);
	free(p);
}

void
probe_result_detail(struct probe_result *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("%s", __func__);
	va_end(ap);
	free(r->detail);
	r->detail = s;
}

static void
probe_schedule_first(struct probe *p)
{
	int64_t	offset;

	/* Spread first runs over the interval: no thundering herd. */
	offset = (int64_t)(probe_random() % (uint64_t)(p->conf->interval_ms *
	    1000));
	p->due_us = clock_mono_us() + offset;
	p->next = loop_timer_add(offset, probe_due, p);
}

static void
probe_set_state(struct probe *p, enum probe_state to)
{
	enum probe_state	from = p->state;

	if (from == to)
		return;
	p->state = to;
	p->state_since_ms = clock_wall_ms();
	engine_state_gen++;
	if (to == STATE_UP)
		log_info("probe %s: %s -> %s", p->conf->name,
		    probe_state_str(from), probe_state_str(to));
	else
		log_info("probe %s: %s -> %s (%s)", p->conf->name,
		    probe_state_str(from), probe_state_str(to),
		    p->last.error[0] != '\0' ? p->last.error : "no error");
	if (state_cb != NULL)
		state_cb(p, from, to, &p->last);
}

/* fall/rise: one lost packet never flaps a probe. */
static void
probe_update_state(struct probe *p, enum probe_status st)
{
	const struct probe_conf	*c = p->conf;
	int			 up = p->state == STATE_UP ||
				    p->state == STATE_DEGRADED;

	switch (st) {
	case PROBE_FAIL:
		p->streak_fail++;
		p->streak_up = p->streak_ok = p->streak_degraded = 0;
		if (p->streak_fail >= c->fall)
			probe_set_state(p, STATE_DOWN);
		break;
	case PROBE_DEGRADED:
		p->streak_fail = p->streak_ok = 0;
		p->streak_up++;
		p->streak_degraded++;
		if (!up && p->streak_up >= c->rise)
			probe_set_state(p, STATE_DEGRADED);
		else if (p->state == STATE_UP && p->streak_degraded >= c->fall)
			probe_set_state(p, STATE_DEGRADED);
		break;
	case PROBE_OK:
		p->streak_fail = p->streak_degraded = 0;
		p->streak_up++;
		p->streak_ok++;
		if (!up && p->streak_up >= c->rise)
			probe_set_state(p, STATE_UP);
		else if (p->state == STATE_DEGRADED && p->streak_ok >= c->rise)
			probe_set_state(p, STATE_UP);
		break;
	case PROBE_UNKNOWN:
		/*
		 * No verdict on the target (the check itself could not run):
		 * the streaks start over, and after fall such runs the state
		 * is UNKNOWN rather than a guess either way.
		 */
		p->streak_fail = p->streak_up = p->streak_ok =
		    p->streak_degraded = 0;
		if (++p->streak_unknown >= c->fall)
			probe_set_state(p, STATE_UNKNOWN);
		return;
	}
	p->streak_unknown = 0;
}

void
probe_done(struct probe_run *run, enum probe_status status, const char *fmt,
    ...)
{
	struct probe		*p = run->probe;
	const struct probe_conf	*c = run->conf;
	struct probe_result	*r = &run->res;
	const int		*min_days;
	va_list			 ap;

	if (p->run != run)
		fatalx("%s: probe %s completed twice", __func__, c->name);
	if (run->timeout != NULL) {
		loop_timer_del(run->timeout);
		run->timeout = NULL;
	}
	r->status = status;
	if (fmt != NULL && fmt[0] != '\0') {
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof(r->error), fmt, ap);
		va_end(ap);
	} else
		r->error[0] = '\0';
	if (r->latency_us <= 0)
		r->latency_us = clock_mono_us() - run->start_us;
	if (r->latency_us <= 0)
		r->latency_us = 1;

	/* Degradation rules are the engine's, the same for every type. */
	if (r->status == PROBE_OK && c->max_latency_ms > 0 &&
	    r->latency_us > c->max_latency_ms * 1000) {
		r->status = PROBE_DEGRADED;
		snprintf(r->error, sizeof(r->error), "latency %" PRId64
		    "ms over max_latency %" PRId64 "ms",
		    r->latency_us / 1000, c->max_latency_ms);
	}
	if (r->status == PROBE_OK && r->has_cert &&
	    (min_days = config_probe_opt(c, "cert_min_days")) != NULL &&
	    *min_days > 0 && r->cert_days < *min_days) {
		r->status = PROBE_DEGRADED;
		snprintf(r->error, sizeof(r->error), "certificate expires in "
		    "%d days (cert_min_days %d)", r->cert_days, *min_days);
	}

	free(p->last.detail);
	p->last = *r;
	r->detail = NULL;	/* moved: p->last owns it now */
	p->has_last = 1;
	p->stats.runs++;
	switch (r->status) {
	case PROBE_OK:
		p->stats.ok++;
		break;
	case PROBE_DEGRADED:
		p->stats.degraded++;
		break;
	case PROBE_FAIL:
		p->stats.fail++;
		break;
	case PROBE_UNKNOWN:
		p->stats.unknown++;
		break;
	}
	if (vd != NULL && vd->store != NULL)
		store_append(vd->store, p->id, &p->last);
	probe_update_state(p, r->status);
	engine_stats.finished++;
	engine_gen++;
	probe_mark_dirty(p);
	p->run = NULL;
	free(run);
}

void
probe_finish(struct probe_run *run, enum probe_status status,
    const char *fmt, ...)
{
	char	err[PROBE_ERR_LEN];
	va_list	ap;

	err[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, sizeof(err), fmt, ap);
		va_end(ap);
	}
	if (run->res.latency_us <= 0)
		run->res.latency_us = clock_mono_us() - run->start_us;
	probe_release(run);
	probe_done(run, status, "%s", err);
}

static void
probe_timeout(void *arg)
{
	struct probe_run	*run = arg;

	run->timeout = NULL;
	if (run->conf->type->abort != NULL)
		run->conf->type->abort(run);
	probe_release(run);
	run->res.latency_us = clock_mono_us() - run->start_us;
	probe_done(run, PROBE_FAIL, "timeout after %" PRId64 "ms",
	    run->conf->timeout_ms);
}

static void
probe_due(void *arg)
{
	struct probe		*p = arg;
	struct probe_run	*run;
	int64_t			 now = clock_mono_us(), late, ival;

	p->next = NULL;
	ival = p->conf->interval_ms * 1000;
	late = now - p->due_us;
	/* Fixed rate; after a stall, resume from now rather than burst. */
	p->due_us += ival;
	if (p->due_us <= now)
		p->due_us = now + ival;
	p->next = loop_timer_add(p->due_us - now, probe_due, p);

	if (p->run != NULL) {
		engine_stats.skipped++;
		return;
	}
	if (late > engine_stats.max_late_us)
		engine_stats.max_late_us = late;
	if (late > ival / 10)
		engine_stats.late++;
	engine_stats.started++;

	run = xcalloc(1, sizeof(*run));
	run->probe = p;
	run->conf = p->conf;
	run->start_us = now;
	run->res.t_ms = clock_wall_ms();
	run->res.dns_us = run->res.connect_us = -1;
	run->res.tls_us = run->res.ttfb_us = -1;
	run->res.code = -1;
	p->run = run;
	run->timeout = loop_timer_add(p->conf->timeout_ms * 1000,
	    probe_timeout, run);
	p->conf->type->start(run);
}

static int
probe_cmp_name(const void *a, const void *b)
{
	const struct probe *const *x = a, *const *y = b;

	return strcmp((*x)->conf->name, (*y)->conf->name);
}

/* Index of the running probe named name in the sorted array, or -1. */
static int
probe_find_sorted(struct probe **sorted, int n, const char *name)
{
	int	lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(sorted[mid]->conf->name, name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * Takes over conf's probe set; the caller frees the previous config
 * afterwards.  A probe whose definition did not change keeps its state,
 * its run in flight and its conf object: the two equal objects are
 * swapped between the configs, so pointers that running probes hold stay
 * valid and the new twin is freed with the old config.  A changed probe
 * keeps its history (same store row) but starts over as UNKNOWN.
 */
void
probe_engine_apply(struct config *conf)
{
	struct probe		**np;
	char			 *taken;
	int			  i, j, k;
	char			  err[256];

	/* the set changes: readers of the dirty list start over from it */
	probe_engine_dirty_clear();
	np = xcalloc((size_t)conf->n_probes + 1, sizeof(*np));
	taken = xcalloc((size_t)n_probes + 1, 1);
	if (n_probes > 1)
		qsort(probes, (size_t)n_probes, sizeof(*probes),
		    probe_cmp_name);
	if (vd != NULL && vd->store != NULL)
		store_probe_ids_begin(vd->store);
	for (i = 0; i < conf->n_probes; i++) {
		struct probe_conf	*pc = conf->probes[i];
		struct probe		*p;

		p = NULL;
		if ((j = probe_find_sorted(probes, n_probes, pc->name)) != -1 &&
		    !taken[j]) {
			p = probes[j];
			taken[j] = 1;
		}
		if (p != NULL && applied != NULL &&
		    config_probe_equal(p->conf, pc)) {
			k = p->conf_idx;
			if (k < applied->n_probes &&
			    applied->probes[k] == p->conf) {
				applied->probes[k] = pc;
				conf->probes[i] = p->conf;
			}
			p->conf_idx = i;
			np[i] = p;
			continue;
		}
		if (p != NULL) {
			/* changed: same history, fresh state and schedule */
			probe_cancel_run(p);
			if (p->next != NULL)
				loop_timer_del(p->next);
			p->next = NULL;
			p->state = STATE_UNKNOWN;
			p->state_since_ms = clock_wall_ms();
			p->streak_fail = p->streak_up = p->streak_ok =
			    p->streak_degraded = p->streak_unknown = 0;
			p->has_last = 0;
			free(p->last.detail);
			p->last.detail = NULL;
			log_info("probe %s: changed, restarting", pc->name);
		} else {
			p = xcalloc(1, sizeof(*p));
			p->state = STATE_UNKNOWN;
			p->state_since_ms = clock_wall_ms();
		}
		p->conf = pc;
		p->conf_idx = i;
		p->id = 0;
		if (vd != NULL && vd->store != NULL &&
		    store_probe_id(vd->store, pc->name, pc->type->name, &p->id,
		    err, sizeof(err)) == -1)
			log_warnx("probe %s: %s", pc->name, err);
		probe_schedule_first(p);
		np[i] = p;
	}
	if (vd != NULL && vd->store != NULL)
		store_probe_ids_end(vd->store);
	for (j = 0; j < n_probes; j++) {
		if (!taken[j]) {
			log_info("probe %s: removed", probes[j]->conf->name);
			probe_free(probes[j]);
		}
	}
	free(taken);
	free(probes);
	probes = np;
	n_probes = conf->n_probes;
	applied = conf;
	engine_state_gen++;
	engine_set_gen++;
	engine_gen++;
}

void
probe_engine_stop_all(void)
{
	int	i;

	probe_engine_dirty_clear();
	for (i = 0; i < n_probes; i++)
		probe_free(probes[i]);
	free(probes);
	probes = NULL;
	n_probes = 0;
	applied = NULL;
	free(dirty);
	dirty = NULL;
	cap_dirty = 0;
	engine_set_gen++;
}
