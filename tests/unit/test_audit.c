/*
 * test_audit.c - the audit hash chain on an in-memory database: rows
 * chain, verify passes, and an edited row, a deleted row, a cut tail and
 * a rewritten link are each named by audit_verify().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "hash.h"
#include "vantaged.h"


static sqlite3 *
open_db(void)
{
	sqlite3	*db;
	int	 i;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (i = 0; i < schema_n_migrations; i++)
		assert_int_equal(sqlite3_exec(db, schema_migrations[i].sql,
		    NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static void
append(sqlite3 *db, const char *action, const char *detail, int64_t want)
{
	struct audit_entry	e = { "alice", "operator", "alice@bastion",
	    "127.0.0.1", action, "web-eu", detail, "ok", NULL, NULL };
	char			err[256];
	int64_t			id = 0;

	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(audit_insert(db, &e, &id, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(id, want);
}

static void
exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void
verify(sqlite3 *db, struct audit_verify *v)
{
	char	err[256];

	assert_int_equal(audit_verify(db, v, err, sizeof(err)), 0);
}

static sqlite3 *
five_rows(void)
{
	sqlite3	*db = open_db();
	int	 i;

	for (i = 1; i <= 5; i++)
		append(db, i % 2 ? "drain" : "undrain", "reason", i);
	/* what a tamperer does first */
	exec(db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete");
	return db;
}

static void
test_chain_ok(void **state)
{
	sqlite3			*db = five_rows();
	struct audit_verify	 v;
	char			 h[65];
	sqlite3_stmt		*st;

	verify(db, &v);
	assert_true(v.ok);
	assert_int_equal(v.rows, 5);
	/* the head is row 5's hash, and row 1 starts from zeros */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM audit "
	    "WHERE id = 5", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(h, sizeof(h), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_string_equal(v.head, h);
	sqlite3_close(db);
}

/* The documented canonical form, computed here independently. */
static void
test_canonical_form(void **state)
{
	sqlite3		*db = open_db();
	sqlite3_stmt	*st;
	char		 canon[1024], hex[65];
	int64_t		 t_ms;

	append(db, "drain", "kernel upgrade", 1);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT t_ms, hash, prev_hash "
	    "FROM audit WHERE id = 1", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	t_ms = sqlite3_column_int64(st, 0);
	assert_string_equal((const char *)sqlite3_column_text(st, 2),
	    "0000000000000000000000000000000000000000000000000000000000000000");
	snprintf(canon, sizeof(canon),
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "1:1\n%d:%lld\n5:alice\n8:operator\n13:alice@bastion\n"
	    "9:127.0.0.1\n5:drain\n6:web-eu\n14:kernel upgrade\n2:ok\n",
	    (int)snprintf(NULL, 0, "%lld", (long long)t_ms),
	    (long long)t_ms);
	hash_sha256_hex(canon, strlen(canon), hex);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), hex);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_edited_row(void **state)
{
	sqlite3			*db = five_rows();
	struct audit_verify	 v;

	exec(db, "UPDATE audit SET detail = 'nothing to see' WHERE id = 3");
	verify(db, &v);
	assert_false(v.ok);
	assert_int_equal(v.bad_id, 3);
	assert_int_equal(v.rows, 2);
	assert_non_null(strstr(v.message, "edited"));
	sqlite3_close(db);
}

/* The canonical hash of row id as stored now (documented form). */
static void
rehash(sqlite3 *db, int64_t id)
{
	sqlite3_stmt	*st;
	char		 canon[4096], hex[65], sql[128];
	size_t		 off;
	int		 i;

	snprintf(sql, sizeof(sql), "SELECT prev_hash, id, t_ms, actor, role, "
	    "operator, source, action, target, detail, result FROM audit "
	    "WHERE id = %lld", (long long)id);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	off = (size_t)snprintf(canon, sizeof(canon), "%s",
	    sqlite3_column_text(st, 0));
	for (i = 1; i <= 10; i++) {
		const char *f = (const char *)sqlite3_column_text(st, i);

		off += (size_t)snprintf(canon + off, sizeof(canon) - off,
		    "%zu:%s\n", strlen(f), f);
	}
	sqlite3_finalize(st);
	hash_sha256_hex(canon, off, hex);
	snprintf(sql, sizeof(sql), "UPDATE audit SET hash = '%s' WHERE id = "
	    "%lld", hex, (long long)id);
	exec(db, sql);
}

/* Editing a row and fixing its hash still breaks the next link. */
static void
test_rehashed_row(void **state)
{
	sqlite3			*db = five_rows();
	struct audit_verify	 v;

	exec(db, "UPDATE audit SET detail = 'nothing to see' WHERE id = 3");
	rehash(db, 3);
	verify(db, &v);
	assert_false(v.ok);
	assert_int_equal(v.bad_id, 4);
	assert_non_null(strstr(v.message, "chain broken"));
	sqlite3_close(db);
}

/* The test's own hash agrees with audit.c on an untouched row. */
static void
test_rehash_agrees(void **state)
{
	sqlite3			*db = five_rows();
	struct audit_verify	 v;

	rehash(db, 3);
	verify(db, &v);
	assert_true(v.ok);
	sqlite3_close(db);
}

static void
test_deleted_row(void **state)
{
	sqlite3			*db = five_rows();
	struct audit_verify	 v;

	exec(db, "DELETE FROM audit WHERE id = 3");
	verify(db, &v);
	assert_false(v.ok);
	assert_int_equal(v.bad_id, 3);
	assert_non_null(strstr(v.message, "missing"));
	sqlite3_close(db);
}

static void
test_deleted_first_rows(void **state)
{
	sqlite3			*db = five_rows();
	struct audit_verify	 v;

	exec(db, "DELETE FROM audit WHERE id <= 2");
	verify(db, &v);
	assert_false(v.ok);
	assert_int_equal(v.bad_id, 1);
	sqlite3_close(db);
}

static void
test_cut_tail(void **state)
{
	sqlite3			*db = five_rows();
	struct audit_verify	 v;

	exec(db, "DELETE FROM audit WHERE id = 5");
	verify(db, &v);
	assert_false(v.ok);
	assert_int_equal(v.bad_id, 5);
	/* and the next row does not reuse id 5 */
	exec(db, "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
	    "BEGIN SELECT RAISE(ABORT, 'x'); END");
	append(db, "drain", "after the cut", 6);
	verify(db, &v);
	assert_false(v.ok);
	assert_int_equal(v.bad_id, 5);
	sqlite3_close(db);
}

static void
test_append_only(void **state)
{
	sqlite3	*db = open_db();

	append(db, "drain", "x", 1);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET detail = 'y'",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Control characters and broken UTF-8 never reach JSON or terminals. */
static void
test_cleaned_text(void **state)
{
	sqlite3			*db = open_db();
	struct audit_entry	 e = { "eve\x1b[31m", "operator", "\xff\xfe",
	    "127.0.0.1", "drain", "web-eu", "caf\xc3\xa9\n", "ok", NULL, NULL };
	struct audit_verify	 v;
	sqlite3_stmt		*st;
	char			 err[256];
	int64_t			 id;

	exec(db, "BEGIN IMMEDIATE");
	assert_int_equal(audit_insert(db, &e, &id, err, sizeof(err)), 0);
	exec(db, "COMMIT");
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT actor, operator, "
	    "detail FROM audit", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0),
	    "eve?[31m");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "??");
	assert_string_equal((const char *)sqlite3_column_text(st, 2),
	    "caf\xc3\xa9?");
	sqlite3_finalize(st);
	verify(db, &v);
	assert_true(v.ok);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_ok),
		cmocka_unit_test(test_canonical_form),
		cmocka_unit_test(test_edited_row),
		cmocka_unit_test(test_rehashed_row),
		cmocka_unit_test(test_rehash_agrees),
		cmocka_unit_test(test_deleted_row),
		cmocka_unit_test(test_deleted_first_rows),
		cmocka_unit_test(test_cut_tail),
		cmocka_unit_test(test_append_only),
		cmocka_unit_test(test_cleaned_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
