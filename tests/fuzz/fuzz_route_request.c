// LINK: agent/api_query.c shared/log.c shared/buf.c shared/json.c shared/parse.c shared/hash.c
/*
 * fuzz_route_request.c - a drain or undrain as api_routes.c reads it from
 * the wire: the single-route and batch bodies, the Idempotency-Key and
 * X-Vantage-Deadline headers, and GET /v1/requests/KEY with its query.
 *
 * Input: one byte choosing the endpoint, a header block ("key\n" and
 * "deadline\n" lines, up to a NUL) and the body.  route_change() is a stub
 * that checks what reaches it against vantage-api(7): 1 to 256 distinct
 * valid names, a reason of 1 to 500 clean bytes unless an update, ttl_s in
 * 0..2592000, a key of 1 to 64 printable bytes; every refusal is the
 * contract's error object.
 */
#include "api_routes.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	stub_key_known;

const char *
api_role_str(enum api_role r)
{
	return r == ROLE_OPERATOR ? "operator" : "viewer";
}

const char *
api_query(struct api_req *req, const char *key)
{
	return api_query_get(&req->query, key);
}

void
api_error(struct api_reply *rep, int status, const char *code,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->status = status;
	buf_reset(&rep->body);
	buf_adds(&rep->body, "{\"error\":{\"code\":");
	buf_add_json_str(&rep->body, code);
	buf_adds(&rep->body, ",\"message\":");
	buf_add_json_str(&rep->body, msg);
	buf_adds(&rep->body, "}}");
}

int64_t
clock_wall_ms(void)
{
	return 1800000000000LL;
}

const char *
route_state_str(enum route_state s)
{
	return s == ROUTE_ACTIVE ? "active" : "draining";
}

const char *
route_effective_str(enum route_effective e)
{
	return e == ROUTE_EFF_READY ? "ready" : "drain";
}

enum route_effective
route_eff(const struct route *r)
{
	return r->state == ROUTE_ACTIVE ? ROUTE_EFF_READY : ROUTE_EFF_DRAIN;
}

void	route_lock(void) { }
void	route_unlock(void) { }
void	route_wunlock(void) { }

int
route_wlock_timed(int64_t ms)
{
	return 0;
}

struct route **
route_list(int *n)
{
	*n = 0;
	return NULL;
}

const struct route_pool *
route_pools(int *n)
{
	*n = 0;
	return NULL;
}

int
route_get_effective(const char *name, enum route_effective *e)
{
	*e = ROUTE_EFF_READY;
	return strcmp(name, "web") == 0 ? 0 : -1;
}

int
route_sql_get_request(const char *actor, const char *key, int *status,
    char **fp, char **body, char *err, size_t len)
{
	if (!stub_key_known)
		return 0;
	*status = 200;
	*fp = xstrdup("x");
	*body = xstrdup("{\"replayed\":false}");
	return 1;
}

static int
clean_text(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	}
	return 1;
}

int
route_change(const struct route_request *rq, route_render_fn render,
    struct buf *out, struct route_outcome *oc)
{
	static char	rname[] = "web", empty[] = "";
	struct route	r;
	int		i, k;

	if (rq->n_names < 1 || rq->n_names > ROUTE_BATCH_MAX)
		abort();
	for (i = 0; i < rq->n_names; i++) {
		if (!api_routes_name_ok(rq->names[i]))
			abort();
		for (k = 0; k < i; k++)
			if (strcmp(rq->names[i], rq->names[k]) == 0)
				abort();
	}
	if (rq->reason == NULL ? !rq->update : (rq->reason[0] == '\0' ||
	    strlen(rq->reason) > ROUTES_REASON_MAX || !clean_text(rq->reason)))
		abort();
	if (rq->has_ttl && (rq->ttl_s < 0 || rq->ttl_s > ROUTES_TTL_MAX))
		abort();
	if (rq->key != NULL && (!api_routes_key_ok(rq->key) ||
	    strlen(rq->key) > ROUTE_KEY_MAX))
		abort();
	if (rq->deadline_ms < 0 || rq->fingerprint == NULL ||
	    strlen(rq->fingerprint) != HASH_HEX_LEN)
		abort();
	memset(&r, 0, sizeof(r));
	r.name = rname;
	r.reason = r.actor = r.operator = r.key = r.batch = empty;
	memset(oc, 0, sizeof(*oc));
	oc->status = 200;
	oc->single = rq->single;
	oc->n = 1;
	oc->after[0] = &r;
	render(oc, out);
	return 200;
}

static void
check_reply(const struct api_reply *rep)
{
	cJSON	*j, *e;

	if ((j = cJSON_Parse(rep->body.data)) == NULL)
		abort();
	if (rep->status != 200) {
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e,
		    "code")) || !cJSON_IsString(
		    cJSON_GetObjectItemCaseSensitive(e, "message")))
			abort();
	}
	cJSON_Delete(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/v1/routes/web/drain",
	    "/v1/routes/web/undrain", "/v1/routes/drain", "/v1/routes/undrain",
	    "/v1/requests/k" };
	struct api_req		 req;
	struct api_reply	 rep;
	char			*in, *hdr, *body, *line, *next, *qs = NULL;
	int			 which;

	if (size < 1)
		return 0;
	which = data[0] % 5;
	stub_key_known = data[0] & 0x80;
	in = xmalloc(size);
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	hdr = in;
	body = in + strlen(in);	/* empty unless a NUL splits them */
	if ((size_t)(body - in) + 1 < size - 1)
		body++;
	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	buf_init(&rep.body);
	rep.status = 200;
	req.method = which == 4 ? "GET" : "POST";
	req.path = paths[which];
	req.actor = "alice";
	req.role = ROLE_OPERATOR;
	req.source = "127.0.0.1";
	req.body = body;
	req.body_len = strlen(body);
	req.args[0] = which < 2 ? "web" : "k";
	for (line = hdr; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (req.idem_key == NULL)
			req.idem_key = line;
		else if (req.deadline == NULL)
			req.deadline = line;
		else if (qs == NULL)
			qs = line;
	}
	if (which == 4) {
		char	err[256];

		if (qs != NULL && api_query_parse(qs, &req.query, err,
		    sizeof(err)) == -1) {
			buf_free(&rep.body);
			free(in);
			return 0;
		}
		req.args[0] = req.idem_key != NULL ? req.idem_key : "k";
		api_routes_request_get(&req, &rep);
	} else if (which < 2)
		api_routes_change(&req, &rep, which == 0, 0);
	else
		api_routes_change(&req, &rep, which == 2, 1);
	check_reply(&rep);
	buf_free(&rep.body);
	free(in);
	return 0;
}
