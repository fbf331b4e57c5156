// LINK: shared/text.c
/*
 * fuzz_text.c - shared/text.c on arbitrary bytes: the UTF-8 decoder never
 * reads past its input, text_escape() always terminates within its
 * buffer and what it writes is clean (no control character or malformed
 * byte survives), and clean input is copied unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*in, out[512], small[7];
	size_t	 lim;

	in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	text_escape(in, out, sizeof(out));
	if (strlen(out) >= sizeof(out) || !text_is_clean(out))
		abort();
	text_escape(in, small, sizeof(small));
	if (strlen(small) >= sizeof(small) || !text_is_clean(small))
		abort();
	lim = strlen(in);
	if (text_is_clean(in) && strchr(in, '\\') == NULL &&
	    lim < sizeof(out) && strcmp(in, out) != 0)
		abort();
	free(in);
	return 0;
}
