// LINK: agent/perfdata.c shared/buf.c shared/text.c shared/log.c
/*
 * fuzz_perfdata.c - a plugin's output (agent/perfdata.c) on arbitrary
 * bytes: splitting never reads past the output, the text always ends
 * within its buffer and is clean, parsing keeps at most max items, each
 * label clean, and the JSON of them is what cJSON reads back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "text.h"
#include "vantaged.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfdata	 v[PERFDATA_MAX];
	struct buf	 perf, j;
	char		*in, text[PROBE_ERR_LEN];
	cJSON		*doc;
	int		 n, bad, i;

	/* exactly size bytes, so ASan sees a read past the output */
	if ((in = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	buf_init(&perf);
	perfdata_split(in, size, text, sizeof(text), &perf);
	if (strlen(text) >= sizeof(text) || !text_is_clean(text))
		abort();
	n = perfdata_parse(perf.data != NULL ? perf.data : "", perf.len, v,
	    PERFDATA_MAX, &bad);
	if (n < 0 || n > PERFDATA_MAX || bad < 0)
		abort();
	for (i = 0; i < n; i++)
		if (!text_is_clean(v[i].label) || v[i].label[0] == '\0')
			abort();
	buf_init(&j);
	perfdata_json(&j, v, n);
	if ((doc = cJSON_ParseWithLength(j.data, j.len)) == NULL ||
	    cJSON_GetArraySize(doc) != n)
		abort();
	cJSON_Delete(doc);
	buf_free(&j);
	buf_free(&perf);
	free(in);
	return 0;
}
