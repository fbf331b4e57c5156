// LINK: agent/auth.c agent/ratelimit.c agent/api_query.c shared/log.c shared/buf.c shared/json.c shared/parse.c shared/hash.c
/*
 * fuzz_body.c - request bodies: api_body_object() (api.c) as every
 * mutating endpoint calls it, then the field checks of the drain,
 * undrain and reload bodies of vantage-api(7) through the checked
 * getters (shared/json.c).  fuzz_route_request.c fuzzes api_routes.c's
 * own reading of the route bodies and headers.
 *
 * Input: one byte choosing the body's endpoint, then the body.  Checked:
 * a refused body leaves a 400 or 413 whose text is the contract's error
 * object (valid JSON, code and message strings), an accepted one is an
 * object with only the allowed keys, and the getters' answers respect
 * the documented ranges.
 */
#include "api.c"
#include "api_stubs.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_error(const struct api_reply *rep)
{
	cJSON		*j, *e, *code, *msg;

	if (rep->status != 400 && rep->status != 413)
		abort();
	if ((j = cJSON_Parse(rep->body.data)) == NULL)
		abort();
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	code = cJSON_GetObjectItemCaseSensitive(e, "code");
	msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (!cJSON_IsString(code) || !cJSON_IsString(msg) ||
	    msg->valuestring[0] == '\0')
		abort();
	cJSON_Delete(j);
}

static void
check_drain(const cJSON *j)
{
	const char	*reason = NULL, *mode = NULL;
	int64_t		 ttl = 0;
	int		 force = 0, rc;
	char		 err[256];

	rc = json_get_str(j, "reason", JSON_REQUIRED, 500, &reason, err,
	    sizeof(err));
	if (rc == 1 && (reason == NULL || strlen(reason) > 500))
		abort();
	if (rc == 0)
		abort();	/* required: never "absent and fine" */
	rc = json_get_int(j, "ttl_s", JSON_OPTIONAL, 0, 2592000, &ttl, err,
	    sizeof(err));
	if (rc == 1 && (ttl < 0 || ttl > 2592000))
		abort();
	rc = json_get_str(j, "mode", JSON_OPTIONAL, 16, &mode, err,
	    sizeof(err));
	if (rc == 1 && strlen(mode) > 16)
		abort();
	rc = json_get_bool(j, "force", JSON_OPTIONAL, &force, err,
	    sizeof(err));
	if (rc == 1 && force != 0 && force != 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const drain[] = { "reason", "ttl_s", "mode",
	    "force", "update", "routes", NULL };
	static const char *const undrain[] = { "reason", "routes", NULL };
	static const char *const none[] = { NULL };
	const char *const	*allowed;
	struct api_req		 req;
	struct api_reply	 rep;
	cJSON			*j;
	const cJSON		*c;
	char			*body;
	size_t			 i;
	int			 which;

	if (size < 1 || size > API_BODY_MAX + 16)
		return 0;
	which = data[0] % 3;
	allowed = which == 0 ? drain : which == 1 ? undrain : none;
	body = xmalloc(size);
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	buf_init(&rep.body);
	req.body = body;
	req.body_len = size - 1;
	j = api_body_object(&req, &rep, allowed, which == 2);
	if (j == NULL)
		check_error(&rep);
	else {
		if (!cJSON_IsObject(j))
			abort();
		for (c = j->child; c != NULL; c = c->next) {
			for (i = 0; allowed[i] != NULL; i++)
				if (strcmp(c->string, allowed[i]) == 0)
					break;
			if (allowed[i] == NULL)
				abort();
		}
		if (which != 2)
			check_drain(j);
		cJSON_Delete(j);
	}
	buf_free(&rep.body);
	free(body);
	return 0;
}
