// LINK: agent/expect_json.c shared/log.c shared/text.c
/*
 * fuzz_expect_json.c - response bodies against compiled expect_json
 * assertions (agent/expect_json.c), as the http probe runs them: the
 * parse and every path walk stay in bounds whatever the body, and a
 * failure's text is terminated, within its buffer, clean (the body's
 * text escaped: no control character reaches a log or terminal) and
 * names the assertion.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "text.h"
#include "vantaged.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const specs[] = {
	"status == \"ok\"",
	"checks[0].status != \"fail\"",
	"a.b[2].c ~ ^de+p$",
	"items.# >= 2",
	"n < 10",
	"# == 3",
	"[1].x == null",
	"v ~ .",
};
#define NSPECS	(sizeof(specs) / sizeof(specs[0]))

static struct expect_json	*compiled[NSPECS];

static void
check_msg(const char *msg, size_t len)
{
	size_t	n = strnlen(msg, len);

	if (n == len)
		abort();	/* not terminated */
	if (!text_is_clean(msg))
		abort();
	if (strncmp(msg, "expect_json", 11) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 err[256], msg[200], tiny[24];
	size_t	 i;

	if (compiled[0] == NULL) {
		for (i = 0; i < NSPECS; i++) {
			if ((compiled[i] = expect_json_compile(specs[i], err,
			    sizeof(err))) == NULL)
				abort();
		}
	}
	/* all together, as a probe with several lines */
	if (!expect_json_body(compiled, NSPECS, (const char *)data, size, msg,
	    sizeof(msg)))
		check_msg(msg, sizeof(msg));
	/* each alone, and into a buffer too small for the message */
	for (i = 0; i < NSPECS; i++) {
		if (!expect_json_body(&compiled[i], 1, (const char *)data,
		    size, msg, sizeof(msg)))
			check_msg(msg, sizeof(msg));
		if (!expect_json_body(&compiled[i], 1, (const char *)data,
		    size, tiny, sizeof(tiny)))
			check_msg(tiny, sizeof(tiny));
	}
	/* the bytes as an assertion: compiles or is refused, never more */
	if (size < 512) {
		char			*spec = malloc(size + 1);
		struct expect_json	*ej;

		memcpy(spec, data, size);
		spec[size] = '\0';
		if ((ej = expect_json_compile(spec, err, sizeof(err))) != NULL) {
			if (!expect_json_body(&ej, 1, "{\"a\":[1,{\"b\":2}]}",
			    17, msg, sizeof(msg)))
				check_msg(msg, sizeof(msg));
			expect_json_free(ej);
		}
		free(spec);
	}
	return 0;
}
