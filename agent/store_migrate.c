/*
 * store_migrate.c - the schema of vantage.db: the version it is at,
 * refusal of a database newer than this vantaged, and the migrations
 * (schema/NNN_*.sql, embedded as schema_migrations[]) applied at open,
 * all or none.  Also the small SQL helpers opening uses.  Called by
 * store_open() only, before the writer thread starts.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define STORE_INTERNAL
#include "vantaged.h"

int
store_exec(sqlite3 *db, const char *path, const char *sql, char *err,
    size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s: %s", path, sql,
		    msg != NULL ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Runs a one-row pragma or query and returns its first column as text. */
int
store_query_text(sqlite3 *db, const char *path, const char *sql, char *out,
    size_t outlen, char *err, size_t errlen)
{
	sqlite3_stmt		*st = NULL;
	const unsigned char	*txt;
	int			 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	txt = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	strlcpy_v(out, txt != NULL ? (const char *)txt : "", outlen);
	sqlite3_finalize(st);
	return 0;
fail:
	snprintf(err, errlen, "cannot read database %s: %s", path,
	    sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return -1;
}

int
store_user_version(sqlite3 *db, const char *path, int *v, char *err,
    size_t errlen)
{
	char	buf[32];

	if (store_query_text(db, path, "PRAGMA user_version", buf, sizeof(buf),
	    err, errlen) == -1)
		return -1;
	*v = atoi(buf);
	return 0;
}

static int
store_newest_version(void)
{
	if (schema_n_migrations == 0)
		return 0;
	return schema_migrations[schema_n_migrations - 1].version;
}

int
store_check_version(const char *path, int cur, char *err, size_t errlen)
{
	int	newest = store_newest_version();

	if (cur > newest) {
		snprintf(err, errlen, "database %s is at schema version %d, "
		    "this vantaged knows up to %d; upgrade vantaged", path,
		    cur, newest);
		return -1;
	}
	return 0;
}

/* Applies every migration newer than the database, all or none. */
int
store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	const struct schema_migration	*m;
	char				 sql[64];
	int				 i, cur, prev = 0, newest, applied = 0;

	for (i = 0; i < schema_n_migrations; i++) {
		if (schema_migrations[i].version <= prev) {
			snprintf(err, errlen, "schema migration %s is out of "
			    "order", schema_migrations[i].name);
			return -1;
		}
		prev = schema_migrations[i].version;
	}
	newest = store_newest_version();
	if (store_exec(db, path, "BEGIN IMMEDIATE", err, errlen) == -1)
		return -1;
	/* Again inside the transaction: another process may have migrated. */
	if (store_user_version(db, path, &cur, err, errlen) == -1 ||
	    store_check_version(path, cur, err, errlen) == -1)
		goto fail;
	for (i = 0; i < schema_n_migrations; i++) {
		m = &schema_migrations[i];
		if (m->version <= cur)
			continue;
		if (store_exec(db, path, m->sql, err, errlen) == -1) {
			snprintf(err, errlen, "database %s: migration %s "
			    "failed: %s", path, m->name, sqlite3_errmsg(db));
			goto fail;
		}
		applied++;
	}
	if (applied > 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newest);
		if (store_exec(db, path, sql, err, errlen) == -1)
			goto fail;
	}
	if (store_exec(db, path, "COMMIT", err, errlen) == -1)
		goto fail;
	if (applied > 0)
		log_info("database %s: schema version %d -> %d", path, cur,
		    newest);
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Freed pages go back to the file system only with auto_vacuum, which
 * SQLite sets on a file before its first table, or with a VACUUM that
 * rewrites the whole file: that needs as much free room again and holds
 * the write lock for as long as it takes (minutes for gigabytes), so an
 * older file is left as it is and only reuses its free pages.
 */
int
store_auto_vacuum(sqlite3 *db, const char *path, int *on, char *err,
    size_t errlen)
{
	char	buf[32];

	if (store_query_text(db, path, "PRAGMA page_count", buf, sizeof(buf),
	    err, errlen) == -1)
		return -1;
	if (atoi(buf) == 0 && store_exec(db, path,
	    "PRAGMA auto_vacuum = INCREMENTAL", err, errlen) == -1)
		return -1;
	if (store_query_text(db, path, "PRAGMA auto_vacuum", buf, sizeof(buf),
	    err, errlen) == -1)
		return -1;
	*on = atoi(buf) == 2;
	if (!*on)
		log_info("database %s: made without auto_vacuum, so it reuses "
		    "the room retention frees but does not shrink; see "
		    "vantaged(8)", path);
	return 0;
}
