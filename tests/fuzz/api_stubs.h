/*
 * api_stubs.h - what agent/api.c needs from the rest of the agent, for
 * the fuzz targets that include api.c to reach its static functions
 * (dispatch, body checks).  The handler tables mirror the real patterns
 * so that path matching is fuzzed against the shapes the agent serves.
 */
#ifndef FUZZ_API_STUBS_H
#define FUZZ_API_STUBS_H

static void
stub_handler(struct api_req *req, struct api_reply *rep)
{
	(void)req;
	buf_adds(&rep->body, "{}");
}

const struct api_handler api_status_handlers[] = {
	{ .method = "GET", .pattern = "/v1/health", .fn = stub_handler },
	{ .method = "GET", .pattern = "/v1/status", .role = ROLE_VIEWER,
	  .fn = stub_handler },
	{ .method = "POST", .pattern = "/v1/reload", .role = ROLE_ADMIN,
	  .mutating = 1, .fn = stub_handler },
	{ .method = NULL }
};
const struct api_handler api_probes_handlers[] = {
	{ .method = "GET", .pattern = "/v1/probes/*",
	  .role = ROLE_VIEWER, .fn = stub_handler },
	{ .method = "GET", .pattern = "/v1/probes/*/results",
	  .role = ROLE_VIEWER, .fn = stub_handler },
	{ .method = "GET", .pattern = "/v1/probes/*/series",
	  .role = ROLE_VIEWER, .fn = stub_handler },
	{ .method = NULL }
};
const struct api_handler api_routes_handlers[] = {
	{ .method = "GET", .pattern = "/v1/routes", .role = ROLE_VIEWER,
	  .fn = stub_handler },
	{ .method = "POST", .pattern = "/v1/routes/drain",
	  .role = ROLE_OPERATOR, .mutating = 1, .fn = stub_handler },
	{ .method = "POST", .pattern = "/v1/routes/undrain",
	  .role = ROLE_OPERATOR, .mutating = 1, .fn = stub_handler },
	{ .method = "POST", .pattern = "/v1/routes/*/drain",
	  .role = ROLE_OPERATOR, .mutating = 1, .fn = stub_handler },
	{ .method = "POST", .pattern = "/v1/routes/*/undrain",
	  .role = ROLE_OPERATOR, .mutating = 1, .fn = stub_handler },
	{ .method = "GET", .pattern = "/v1/routes/*/health",
	  .fn = stub_handler },
	{ .method = "GET", .pattern = "/v1/requests/*",
	  .role = ROLE_OPERATOR, .fn = stub_handler },
	{ .method = NULL }
};
const struct api_handler api_audit_handlers[] = {
	{ .method = "GET", .pattern = "/v1/audit", .role = ROLE_VIEWER,
	  .fn = stub_handler },
	{ .method = "GET", .pattern = "/v1/audit/verify", .role = ROLE_VIEWER,
	  .fn = stub_handler },
	{ .method = NULL }
};
const struct api_handler api_events_handlers[] = {
	{ .method = "GET", .pattern = "/v1/events", .role = ROLE_VIEWER,
	  .fn = stub_handler },
	{ .method = NULL }
};
const struct api_handler api_metrics_handlers[] = {
	{ .method = "GET", .pattern = "/metrics", .role = ROLE_VIEWER,
	  .fn = stub_handler },
	{ .method = NULL }
};
const struct api_handler api_ack_handlers[] = {
	{ .method = "POST", .pattern = "/v1/probes/*/ack",
	  .role = ROLE_OPERATOR, .mutating = 1, .fn = stub_handler },
	{ .method = "DELETE", .pattern = "/v1/probes/*/ack",
	  .role = ROLE_OPERATOR, .mutating = 1, .fn = stub_handler },
	{ .method = NULL }
};

int
audit_append(const struct audit_entry *e, int64_t *id, char *err, size_t len)
{
	(void)e;
	*id = 1;
	(void)err;
	(void)len;
	return 0;
}

struct vantaged	*vd;

struct sqlite3 *
store_connect(struct store *s, int readonly, char *err, size_t len)
{
	(void)s;
	(void)readonly;
	snprintf(err, len, "no store in the fuzzer");
	return NULL;
}

void
audit_refused_note(const struct audit_refusal *r)
{
	(void)r;
}

void
audit_refused_flush(int64_t now_ms, int all)
{
	(void)now_ms;
	(void)all;
}

void	audit_refused_stop(void) {}

void
audit_refused_count(const char *source, int status)
{
	(void)source;
	(void)status;
}

int64_t
loop_now_us(void)
{
	return 0;
}

int
loop_fd_add(int fd, uint32_t ev, loop_fd_cb cb, void *arg)
{
	(void)fd;
	(void)ev;
	(void)cb;
	(void)arg;
	return -1;
}

void
loop_fd_del(int fd)
{
	(void)fd;
}

int64_t
clock_mono_us(void)
{
	return 0;
}

int64_t
clock_wall_ms(void)
{
	return 0;
}

void
clock_wall_after(struct timespec *ts, int64_t after_us)
{
	(void)after_us;
	ts->tv_sec = 0;
	ts->tv_nsec = 0;
}

void	api_status_tick(void) {}
void	api_status_stop(void) {}
void	api_metrics_tick(void) {}
void	api_probes_tick(void) {}
void	api_metrics_stop(void) {}

#endif
