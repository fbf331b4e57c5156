/*
 * inifile.c - line-counting reader for libinih, see inifile.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "inifile.h"

char *
inifile_read(const char *path, size_t max, char *err, size_t errlen)
{
	FILE		*f;
	struct buf	 b;
	char		 chunk[8192];
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > max) {
			snprintf(err, errlen, "%s: file is larger than %zu "
			    "bytes", path, max);
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
		snprintf(err, errlen, "%s: not a text file", path);
		buf_free(&b);
		return NULL;
	}
	return buf_release(&b, NULL);
fail:
	fclose(f);
	buf_free(&b);
	return NULL;
}

char *
inifile_reader(char *str, int num, void *stream)
{
	struct inifile	*in = stream;
	const char	*p = in->text + in->pos, *nl, *rb;
	char		 hdr[256];
	size_t		 len;

	if (*p == '\0')
		return NULL;
	in->lineno++;
	nl = strchr(p, '\n');
	len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
	in->pos += len;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	if (len >= (size_t)num - 1) {
		if (in->on_long_line != NULL)
			in->on_long_line(in->user, in->lineno, num - 2);
		/* a comment keeps inih from reading the rest as a key */
		str[0] = ';';
		str[1] = '\0';
		return str;
	}
	memcpy(str, p, len);
	str[len] = '\0';
	if (str[0] == '[' && (rb = strchr(str, ']')) != NULL &&
	    (size_t)(rb - str - 1) < sizeof(hdr)) {
		len = (size_t)(rb - str - 1);
		memcpy(hdr, str + 1, len);
		hdr[len] = '\0';
		in->section_line = in->lineno;
		if (in->on_section != NULL)
			in->on_section(in->user, hdr);
	}
	return str;
}
