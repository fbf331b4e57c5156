/*
 * test_probe_types.c - every probe type's key table against the rest:
 * each key is documented under its type in vantaged.conf(5), and a change
 * to any one key makes the probe a different one on reload, and GET
 * /v1/probes/NAME shows every key as valid JSON.  Walks
 * probe_types[], so a new type or key is covered without a new test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cJSON.h>

#include "vantaged.h"

#define MAN_PAGE	"man/vantaged.conf.5"	/* tests run from the top */

/* A target each type accepts; a type missing here fails the test. */
static const struct {
	const char	*type;
	const char	*target;
} targets[] = {
	{ "http", "http://127.0.0.1:1/" },
	{ "tcp", "127.0.0.1:1" },
	{ "dns", "example.com" },
	{ "icmp", "127.0.0.1" },
	{ "tls", "127.0.0.1:443" },
	{ "ssh", "127.0.0.1:22" },
	{ "grpc", "127.0.0.1:50051" },
	{ "exec", "/bin/true" },
};

static char conf_path[] = "/tmp/vt-test-probe-types.XXXXXX";

static const char *
types_target(const char *type)
{
	size_t	i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (strcmp(targets[i].type, type) == 0)
			return targets[i].target;
	}
	fail_msg("no test target for probe type %s: add one to targets[]",
	    type);
	return NULL;
}

static struct config *
types_load(const struct probe_type *t)
{
	char		 err[2048];
	struct config	*c;
	FILE		*f;
	int		 fd;

	strlcpy_v(conf_path, "/tmp/vt-test-probe-types.XXXXXX",
	    sizeof(conf_path));
	if ((fd = mkstemp(conf_path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		fail_msg("mkstemp: %s", strerror(errno));
	fprintf(f, "[probe \"p\"]\ntype = %s\ntarget = %s\n", t->name,
	    types_target(t->name));
	fclose(f);
	c = config_load(conf_path, err, sizeof(err));
	unlink(conf_path);
	if (c == NULL)
		fail_msg("%s probe refused: %s", t->name, err);
	return c;
}

/*
 * The keys documented under each type: from a ".Cm TYPE :" paragraph of
 * PROBES to the next one or the next section, each ".It Ic KEY".
 */
static int
types_documented(const char *type, const char *key)
{
	FILE	*f;
	char	 line[512], cur[64] = "", want[128];
	int	 in_probes = 0, found = 0;
	size_t	 n;

	if ((f = fopen(MAN_PAGE, "r")) == NULL)
		fail_msg("%s: %s (run from the top of the tree)", MAN_PAGE,
		    strerror(errno));
	snprintf(want, sizeof(want), ".It Ic %s ", key);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, ".Sh ", 4) == 0) {
			in_probes = strcmp(line, ".Sh PROBES\n") == 0;
			cur[0] = '\0';
			continue;
		}
		if (!in_probes)
			continue;
		n = strlen(line);
		if (strncmp(line, ".Cm ", 4) == 0 && n > 7 &&
		    strcmp(line + n - 3, " :\n") == 0 && n - 7 < sizeof(cur)) {
			memcpy(cur, line + 4, n - 7);
			cur[n - 7] = '\0';
			continue;
		}
		if (strcmp(cur, type) == 0 &&
		    strncmp(line, want, strlen(want)) == 0)
			found = 1;
	}
	fclose(f);
	return found;
}

static void
test_keys_documented(void **state)
{
	const struct probe_key	*k;
	size_t			 i;
	int			 nerr = 0;

	(void)state;
	for (i = 0; probe_types[i] != NULL; i++) {
		for (k = probe_types[i]->keys; k != NULL && k->name != NULL;
		    k++) {
			if (k->doc == NULL || k->doc[0] == '\0') {
				print_error("%s key %s has no doc line\n",
				    probe_types[i]->name, k->name);
				nerr++;
			}
			if (!types_documented(probe_types[i]->name, k->name)) {
				print_error("%s: expected '.It Ic %s' under "
				    "'.Cm %s :' in PROBES\n", MAN_PAGE, k->name,
				    probe_types[i]->name);
				nerr++;
			}
		}
	}
	assert_int_equal(nerr, 0);
}

/* Changes the value at p (of kind) to another valid one of that kind. */
static void
types_mutate(const struct probe_key *k, void *p)
{
	if (config_kind_is_text(k->kind)) {
		char **s = p, *old = *s;

		xasprintf(s, "%s-changed", old != NULL ? old : k->name);
		free(old);
		return;
	}
	switch (k->kind) {
	case CONF_DUR:
	case CONF_DUR_POS:
	case CONF_ROWS:
		*(int64_t *)p += 1;
		break;
	case CONF_INT:
	case CONF_INT_POS:
		*(int *)p += 1;
		break;
	case CONF_BOOL:
		*(int *)p = !*(int *)p;
		break;
	case CONF_RANGE:
		((struct parse_range *)p)->lo += 1;
		break;
	case CONF_RATE:
		((struct parse_rate *)p)->burst += 1;
		break;
	case CONF_PCT:
		*(double *)p = *(double *)p < 50 ? *(double *)p + 1 : 1;
		break;
	case CONF_ARGV:
	case CONF_LIST: {
		char	***v = p;
		size_t	   n = 0;

		while (*v != NULL && (*v)[n] != NULL)
			n++;
		*v = xreallocarray(*v, n + 2, sizeof(**v));
		(*v)[n] = xstrdup("changed");
		(*v)[n + 1] = NULL;
		break;
	}
	default:
		fail_msg("key %s: kind %d cannot be a probe type's", k->name,
		    (int)k->kind);
	}
}

static void
test_every_key_changes_the_probe(void **state)
{
	const struct probe_type	*t;
	const struct probe_key	*k;
	struct config		*a, *b;
	size_t			 i;

	(void)state;
	for (i = 0; probe_types[i] != NULL; i++) {
		t = probe_types[i];
		a = types_load(t);
		b = types_load(t);
		assert_ptr_equal(a->probes[0]->type, t);
		if (!config_probe_equal(a->probes[0], b->probes[0]))
			fail_msg("%s: the same config twice is not equal",
			    t->name);
		config_free(b);
		for (k = t->keys; k != NULL && k->name != NULL; k++) {
			b = types_load(t);
			types_mutate(k, (char *)b->probes[0]->opts + k->off);
			if (config_probe_equal(a->probes[0], b->probes[0]))
				fail_msg("%s: a changed '%s' compares equal: "
				    "a reload would not restart the probe",
				    t->name, k->name);
			if (config_probe_opt(b->probes[0], k->name) !=
			    (char *)b->probes[0]->opts + k->off)
				fail_msg("%s: config_probe_opt(%s) is not its "
				    "table's offset", t->name, k->name);
			config_free(b);
		}
		config_free(a);
	}
}

static void
test_every_key_shown(void **state)
{
	const struct probe_type	*t;
	const struct probe_key	*k;
	struct config		*c;
	struct buf		 b;
	cJSON			*doc, *opts;
	char			 name[128];
	size_t			 i;

	(void)state;
	for (i = 0; probe_types[i] != NULL; i++) {
		t = probe_types[i];
		c = types_load(t);
		buf_init(&b);
		config_probe_json(&b, c->probes[0]);
		if ((doc = cJSON_ParseWithLength(b.data, b.len)) == NULL)
			fail_msg("%s: not JSON: %s", t->name, b.data);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		    doc, "type")), t->name);
		opts = cJSON_GetObjectItem(doc, "options");
		assert_true(cJSON_IsObject(opts));
		for (k = t->keys; k != NULL && k->name != NULL; k++) {
			snprintf(name, sizeof(name), "%s%s", k->name,
			    k->kind == CONF_DUR || k->kind == CONF_DUR_POS ?
			    "_ms" : "");
			if (!cJSON_HasObjectItem(opts, name))
				fail_msg("%s: options lack %s: %s", t->name,
				    name, b.data);
		}
		cJSON_Delete(doc);
		buf_free(&b);
		config_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_documented),
		cmocka_unit_test(test_every_key_changes_the_probe),
		cmocka_unit_test(test_every_key_shown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
