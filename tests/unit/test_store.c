/* test_store.c - workspaces: creation, refusal to overwrite, settings, and
 * migration of a database written at schema version 1 to the current one. */
#include "unit.h"
#include "probity.h"
#include "store/store.h"

#include <sys/stat.h>
#include <unistd.h>

static void t_init_open(void)
{
	char *dir = unit_tmpdir();
	char *ws_dir = pb__path_join(dir, "ws");
	struct pb_error err = { 0 };
	struct pb_ws_init_options o = { .unsigned_actors = true, .keep_names = true, .name = "t" };
	CHECK_OK(pb_ws_init(ws_dir, &o, &err), &err);
	CHECK_INT(pb_ws_init(ws_dir, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), PB_EEXIST);
	struct pb_ws *ws;
	CHECK_OK(pb_ws_open(ws_dir, 0, &ws, &err), &err);
	CHECK_STR(pb_ws_setting(ws, "keep_names"), "true");
	CHECK_STR(pb_ws_setting(ws, "name"), "t");
	CHECK(pb_ws_setting(ws, "nope") == NULL);
	CHECK_INT(pb_ws_schema_version(ws), pb_schema_version_current());
	pb_ws_close(ws);
	/* no leftovers of the build folder */
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v '^ws$')\"", dir);
	CHECK(system(cmd) == 0);
	/* not a workspace */
	CHECK_INT(pb_ws_open(dir, 0, &ws, &err), PB_ENOENT);
	CHECK(strstr(err.message, "is not a probity workspace") != NULL);
	/* a bad settings file names its line */
	char *conf = pb__path_join(ws_dir, "probity.conf");
	FILE *f = fopen(conf, "a");
	fputs("this line has no equals sign\n", f);
	fclose(f);
	CHECK_INT(pb_ws_open(ws_dir, 0, &ws, &err), PB_EFORMAT);
	CHECK(err.line > 3 && strstr(err.file, "probity.conf"));
	free(conf);
	unit_rm_rf(dir);
	free(ws_dir);
	free(dir);
}

/* init --key-dir: both keys in the folder apart (0700, 0600), none in the
 * workspace, the folder recorded; open finds them there or where key_dir
 * says; a folder that holds keys already is refused and nothing is left. */
static void t_key_dir(void)
{
	char *dir = unit_tmpdir();
	char *ws_dir = pb__path_join(dir, "ws");
	char *keys = pb__path_join(dir, "keys");
	char *pk = pb__path_join(keys, PB_WS_KEY);
	char *sk = pb__path_join(keys, PB_WS_SIGNING_KEY);
	char *wpk = pb__path_join(ws_dir, PB_WS_KEY);
	struct pb_error err = { 0 };
	struct pb_ws_init_options o = { .unsigned_actors = true, .name = "t", .key_dir = keys };
	CHECK_OK(pb_ws_init(ws_dir, &o, &err), &err);
	struct stat sb;
	CHECK(stat(keys, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK(stat(pk, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 32);
	CHECK(stat(sk, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 32);
	CHECK(access(wpk, F_OK) != 0);
	struct pb_ws *ws;
	const uint8_t *key;
	CHECK_OK(pb_ws_open(ws_dir, 0, &ws, &err), &err);
	CHECK(pb_ws_setting(ws, "key_dir") && pb_ws_setting(ws, "key_dir")[0] == '/');
	CHECK_OK(pb__ws_pseudo_key(ws, &key, &err), &err);
	pb_ws_close(ws);
	/* another folder given: the key is looked for there, and its absence named */
	CHECK_OK(pb_ws_open_keys(ws_dir, 0, dir, &ws, &err), &err);
	CHECK_STR(pb_ws_key_dir(ws), dir);
	CHECK_INT(pb__ws_pseudo_key(ws, &key, &err), PB_ENOENT);
	CHECK(strstr(err.message, dir) && strstr(err.message, PB_WS_KEY));
	pb_ws_close(ws);
	/* a folder with keys already */
	char *ws2 = pb__path_join(dir, "ws2");
	CHECK_INT(pb_ws_init(ws2, &o, &err), PB_EEXIST);
	CHECK(strstr(err.message, "already holds") != NULL);
	CHECK(access(ws2, F_OK) != 0);
	CHECK(stat(pk, &sb) == 0); /* the first workspace's keys are untouched */
	/* without --key-dir both keys are made in the workspace */
	char *ws3 = pb__path_join(dir, "ws3");
	char *ws3sk = pb__path_join(ws3, PB_WS_SIGNING_KEY);
	CHECK_OK(pb_ws_init(ws3, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	CHECK(stat(ws3sk, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 32);
	unit_rm_rf(dir);
	free(ws3sk);
	free(ws3);
	free(ws2);
	free(wpk);
	free(sk);
	free(pk);
	free(keys);
	free(ws_dir);
	free(dir);
}

static void t_migrate_from_v1(void)
{
	char *dir = unit_tmpdir();
	char *ws_dir = pb__path_join(dir, "ws");
	struct pb_error err = { 0 };
	CHECK_OK(pb_ws_init(ws_dir, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	/* replace the database with one written at version 1, holding a source */
	char *dbp = pb__path_join(ws_dir, PB_WS_DB);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s-wal' '%s-shm'", dbp, dbp, dbp);
	CHECK(system(cmd) == 0);
	sqlite3 *db;
	CHECK(sqlite3_open(dbp, &db) == SQLITE_OK);
	sqlite3_create_function(db, "pb_day", 1, SQLITE_UTF8, NULL, NULL, NULL, NULL);
	CHECK_OK(pb__ws_migrate(db, 1, &err), &err);
	CHECK_OK(pb__db_exec(db,
	                     "INSERT INTO source(sha256, size, name, compression, format, "
	                     "ingested_at, rows_read, rows_accepted, rows_rejected, "
	                     "rows_with_warnings, columns, columns_ignored, names, catalog_sha256, "
	                     "report) VALUES ('ab', 1, 'old.csv', 'none', 'focus', 'then', 2, 2, 0, "
	                     "0, 3, 0, 'pseudonymised', 'c', '{}')",
	                     &err),
	         &err);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
	CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 1);
	sqlite3_finalize(q);
	sqlite3_close(db);
	/* opening migrates every step, keeping the data */
	struct pb_ws *ws;
	CHECK_OK(pb_ws_open(ws_dir, 0, &ws, &err), &err);
	CHECK_INT(pb_ws_schema_version(ws), pb_schema_version_current());
	struct pb_source_info *v;
	size_t n;
	CHECK_OK(pb_usage_sources(ws, &v, &n, &err), &err);
	CHECK(n == 1 && strcmp(v[0].name, "old.csv") == 0);
	free(v);
	pb_ws_close(ws);
	/* a database newer than this program is refused, not damaged */
	CHECK(sqlite3_open(dbp, &db) == SQLITE_OK);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", pb_schema_version_current() + 1);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	CHECK_INT(pb_ws_open(ws_dir, 0, &ws, &err), PB_ESTATE);
	CHECK(strstr(err.message, "upgrade probity") != NULL);
	free(dbp);
	unit_rm_rf(dir);
	free(ws_dir);
	free(dir);
}

int main(void)
{
	RUN(t_init_open);
	RUN(t_key_dir);
	RUN(t_migrate_from_v1);
	return UNIT_END("store");
}
