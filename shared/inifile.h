/*
 * inifile.h - reading INI files for libinih with line numbers, shared by
 * vantaged.conf and vantage.conf.
 *
 * Debian's libinih reports no line numbers to handlers, so both configs
 * feed it through inifile_reader(), which counts lines, strips leading
 * blanks (indented keys are keys, never inih "continuation" lines),
 * reports lines too long for inih, and announces each section header so
 * that a section without keys is still checked.
 */
#ifndef VANTAGE_INIFILE_H
#define VANTAGE_INIFILE_H

#include <stddef.h>

struct inifile {
	const char	*text;
	size_t		 pos;
	int		 lineno;	/* of the line inih is looking at */
	int		 section_line;	/* of the latest [section] header */
	void		*user;
	/* a [header] line was read (header without brackets) */
	void		(*on_section)(void *user, const char *header);
	/* a line too long for inih was read and skipped */
	void		(*on_long_line)(void *user, int line, int max);
};

/* Reads a whole text file of at most max bytes; NULL + err otherwise. */
char	*inifile_read(const char *path, size_t max, char *err, size_t);
/* The ini_reader to pass to ini_parse_stream() with a struct inifile. */
char	*inifile_reader(char *str, int num, void *stream);

#endif
