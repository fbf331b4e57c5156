/*
 * conf_edit.c - changes to vantage.conf made by `vantage agent add`, so
 * that an operator needs no editor for the common case.
 *
 * The file is the operator's: every byte of it, comments and blank lines
 * included, stays as it was, and the new section is appended.  The new
 * text goes to a temporary file in the same directory (so rename(2) is
 * atomic), is checked by the same loader `vantage` uses, fsync'd, and
 * renamed over the old one: a crash or a refusal leaves the old file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vantage.h"

#define CONF_EDIT_MAX	(1024 * 1024)	/* the loader's limit */

/*
 * A value written after "key = ": one line that inih gives back as it
 * is: no controls, no blanks (inih trims them at the ends, and " ;"
 * starts a comment), no ';' or '#'.
 */
static int
conf_edit_value_ok(const char *what, const char *v, char *err, size_t errlen)
{
	const unsigned char	*p;

	if (v[0] == '\0') {
		snprintf(err, errlen, "%s is empty", what);
		return -1;
	}
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == ';' || *p == '#') {
			snprintf(err, errlen, "%s: a blank, control "
			    "character, ';' or '#' cannot be written in "
			    "vantage.conf", what);
			return -1;
		}
	}
	return 0;
}

/* The whole file, or NULL (ENOENT: *len = 0, no error) + err. */
static char *
conf_edit_read(int fd, const char *path, size_t *len, char *err,
    size_t errlen)
{
	char	*text;
	size_t	 cap = 8192;
	ssize_t	 n;

	*len = 0;
	text = xmalloc(cap);
	for (;;) {
		if (*len == cap) {
			if (cap > CONF_EDIT_MAX) {
				snprintf(err, errlen, "%s: larger than %d "
				    "bytes", path, CONF_EDIT_MAX);
				free(text);
				return NULL;
			}
			cap *= 2;
			text = xreallocarray(text, cap, 1);
		}
		n = read(fd, text + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(text);
			return NULL;
		}
		if (n == 0)
			return text;
		*len += (size_t)n;
	}
}

static int
conf_edit_write_all(int fd, const char *s, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Makes the directory of a new file (and its parents) private: 0700. */
static int
conf_edit_mkdirs(const char *path, char *err, size_t errlen)
{
	char	*d, *p;

	d = xstrdup(path);
	if ((p = strrchr(d, '/')) == NULL || p == d) {
		free(d);
		return 0;
	}
	*p = '\0';
	for (p = d + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(d, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", d, strerror(errno));
			free(d);
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(d);
	return 0;
}

/* The loader's message about the temporary file, told of the real one. */
static void
conf_edit_rename_err(char *err, size_t errlen, const char *tmp,
    const char *path)
{
	char	 buf[4096];
	size_t	 n = strlen(tmp);

	if (strncmp(err, tmp, n) != 0)
		return;
	snprintf(buf, sizeof(buf), "%s (with the new agent)%s", path,
	    err + n);
	strlcpy_v(err, buf, errlen);
}

int
conf_edit_add_agent(const char *file, const struct conf_edit_agent *ag,
    char *err, size_t errlen)
{
	struct conf	*c;
	struct stat	 sb;
	struct buf	 b;
	char		*text = NULL, *tmp = NULL, *path = NULL, *dir, *d;
	char		 e[4096];
	size_t		 len = 0;
	mode_t		 mode = 0600;
	int		 fd = -1, dfd = -1, exists, rc = -1;

	buf_init(&b);
	if (conf_edit_value_ok("the URL", ag->url, err, errlen) == -1 ||
	    conf_edit_value_ok("--token-file", ag->token_file, err,
	    errlen) == -1 || (ag->ca != NULL &&
	    conf_edit_value_ok("--ca", ag->ca, err, errlen) == -1))
		return -1;
	/* the name and URL as the loader sees them, before any writing */
	c = conf_new();
	snprintf(e, sizeof(e), "%s=%s", ag->name, ag->url);
	if (conf_add_url(c, e, err, errlen) == -1) {
		conf_free(c);
		/* "--agent X: why" is about a flag this command has not */
		if ((d = strstr(err, ": ")) != NULL)
			memmove(err, d + 2, strlen(d + 2) + 1);
		return -1;
	}
	conf_free(c);

	/* a symlink stays one: its target is the file edited */
	if ((path = realpath(file, NULL)) == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", file, strerror(errno));
			return -1;
		}
		path = xstrdup(file);
	}
	exists = stat(path, &sb) == 0;
	if (exists) {
		if (!S_ISREG(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			goto done;
		}
		mode = sb.st_mode & 07777;
		/* as it is now: a file the console refuses is fixed first */
		c = conf_new();
		if (conf_load(c, path, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s; fix it first", e);
			conf_free(c);
			goto done;
		}
		if (conf_find_agent(c, ag->name) != NULL) {
			snprintf(err, errlen, "%s: agent '%s' is already "
			    "there (line %d)", path, ag->name,
			    conf_find_agent(c, ag->name)->line);
			conf_free(c);
			goto done;
		}
		conf_free(c);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto done;
		}
		text = conf_edit_read(fd, path, &len, err, errlen);
		close(fd);
		fd = -1;
		if (text == NULL)
			goto done;
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	} else if (conf_edit_mkdirs(path, err, errlen) == -1)
		goto done;

	if (len > 0) {
		buf_add(&b, text, len);
		if (text[len - 1] != '\n')
			buf_addc(&b, '\n');
		buf_addc(&b, '\n');
	}
	buf_printf(&b, "[agent \"%s\"]\nurl = %s\ntoken_file = %s\n",
	    ag->name, ag->url, ag->token_file);
	if (ag->ca != NULL)
		buf_printf(&b, "ca = %s\n", ag->ca);

	d = xstrdup(path);
	dir = dirname(d);
	xasprintf(&tmp, "%s/.%s.XXXXXX", dir, strrchr(path, '/') != NULL ?
	    strrchr(path, '/') + 1 : path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (dfd == -1) {
		snprintf(err, errlen, "%s: directory: %s", path,
		    strerror(errno));
		goto done;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	/* the old file's owner and mode (mkostemp made it 0600) */
	if ((exists && sb.st_uid != geteuid() &&
	    fchown(fd, sb.st_uid, sb.st_gid) == -1) ||
	    fchmod(fd, mode) == -1 ||
	    conf_edit_write_all(fd, b.data, b.len) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	/* what `vantage` will read: checked by the same loader */
	c = conf_new();
	err[0] = '\0';
	if (conf_load(c, tmp, err, errlen) == -1 ||
	    conf_find_agent(c, ag->name) == NULL ||
	    conf_find_agent(c, ag->name)->error != NULL) {
		/* the new entry itself must load without error */
		if (conf_find_agent(c, ag->name) != NULL &&
		    conf_find_agent(c, ag->name)->error != NULL)
			snprintf(err, errlen, "%s",
			    conf_find_agent(c, ag->name)->error);
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: the new agent did not "
			    "load", tmp);
		conf_edit_rename_err(err, errlen, tmp, path);
		conf_free(c);
		goto done;
	}
	conf_free(c);
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	/* the rename itself is durable once the directory is */
	(void)fsync(dfd);
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	if (dfd != -1)
		close(dfd);
	buf_free(&b);
	free(text);
	free(path);
	return rc;
}
