/* store.c - the workspace: creating, opening and migrating it; transactions.
 *
 * A workspace is a folder holding probity.db (SQLite in WAL mode), probity.conf
 * (key = value settings), pseudonym.key and signing.key (32 random bytes
 * each, mode 0600), the keys possibly in a folder apart (key_dir).
 * pb_ws_init builds the whole folder under a temporary name beside the target
 * and renames it into place, so a crash never leaves half a workspace.
 * The schema version is SQLite's user_version; pb_ws_open migrates older
 * databases forward in one transaction.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/banned.h"

#define CONF_LIMIT (64 * 1024)

/* ---- SQL helpers ----------------------------------------------------- */

enum pb_status pb__db_err(sqlite3 *db, struct pb_error *err, const char *what)
{
	int rc = sqlite3_extended_errcode(db);
	enum pb_status st = PB_EDB;
	if ((rc & 0xff) == SQLITE_FULL)
		return pb__err(err, PB_EIO, "%s: no space left on device", what);
	if ((rc & 0xff) == SQLITE_READONLY)
		st = PB_EPERM;
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		st = PB_EVERIFY;
	if ((rc & 0xff) == SQLITE_IOERR)
		st = PB_EIO;
	return pb__err(err, st, "%s: %s", what, sqlite3_errmsg(db));
}

enum pb_status pb__db_exec(sqlite3 *db, const char *sql, struct pb_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		enum pb_status st = pb__db_err(db, err, "database");
		sqlite3_free(msg);
		return st;
	}
	return PB_OK;
}

enum pb_status pb__db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
                              struct pb_error *err)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return pb__db_err(db, err, "database");
	return PB_OK;
}

enum pb_status pb__db_rows(sqlite3 *db, sqlite3_stmt *q, size_t elem, pb__db_row_fn fn,
                           void *ctx, void **rows, size_t *n, const char *what,
                           struct pb_error *err)
{
	size_t cap = 0;
	char *v = NULL;
	enum pb_status st = PB_OK;
	int rc;
	*rows = NULL;
	*n = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		void *grown = pb__grow(v, &cap, *n, elem);
		if (!grown) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		v = grown;
		char *row = v + *n * elem;
		memset(row, 0, elem);
		if ((st = fn(ctx, q, row, err)))
			break;
		(*n)++;
	}
	if (!st && rc != SQLITE_DONE)
		st = pb__db_err(db, err, what);
	if (st) {
		free(v);
		*n = 0;
		return st;
	}
	*rows = v;
	return PB_OK;
}

enum pb_status pb__db_select(sqlite3 *db, const char *sql, size_t elem, pb__db_row_fn fn,
                             void *ctx, void **rows, size_t *n, const char *what,
                             struct pb_error *err)
{
	sqlite3_stmt *q;
	*rows = NULL;
	*n = 0;
	enum pb_status st = pb__db_prepare(db, sql, &q, err);
	if (st)
		return st;
	st = pb__db_rows(db, q, elem, fn, ctx, rows, n, what, err);
	sqlite3_finalize(q);
	return st;
}

static enum pb_status id_row(void *ctx, sqlite3_stmt *q, void *row, struct pb_error *err)
{
	*(int64_t *)row = sqlite3_column_int64(q, 0);
	return PB_OK;
}

enum pb_status pb__db_row_by_id(sqlite3 *db, const char *sql, int64_t id, const char *notfound,
                                const char *what, sqlite3_stmt **q, struct pb_error *err)
{
	enum pb_status st = pb__db_prepare(db, sql, q, err);
	if (st) {
		*q = NULL;
		return st;
	}
	sqlite3_bind_int64(*q, 1, id);
	int rc = sqlite3_step(*q);
	if (rc == SQLITE_ROW)
		return PB_OK;
	if (rc == SQLITE_DONE) {
		st = pb__err(err, PB_ENOENT, notfound, (long long)id);
	} else {
		char what_text[96];
		pb__snprintf(what_text, sizeof(what_text), "cannot read %s", what);
		st = pb__db_err(db, err, what_text);
	}
	sqlite3_finalize(*q);
	*q = NULL;
	return st;
}

enum pb_status pb__db_ids(sqlite3 *db, sqlite3_stmt *q, int64_t **ids, size_t *n,
                          const char *what, struct pb_error *err)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "cannot read %s", what);
	void *rows;
	enum pb_status st = pb__db_rows(db, q, sizeof(**ids), id_row, NULL, &rows, n, msg, err);
	*ids = rows;
	return st;
}

/* ---- SQL functions every connection gets ------------------------------ */

/* pb_dsum(x): exact sum of decimal text (see pb_dec), returned as text. */
/* SQLite hands out 8-byte aligned aggregate memory, and pb_dec needs 16:
 * the sum is kept as bytes and copied in and out. */
struct dsum_ctx {
	unsigned char acc[sizeof(pb_dec)];
	bool overflow;
	bool bad;
	bool any;
};

static void dsum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct dsum_ctx *d = sqlite3_aggregate_context(ctx, sizeof(*d));
	if (!d)
		return;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	int n = sqlite3_value_bytes(argv[0]);
	pb_dec v;
	if (!s || pb__dec_parse(s, (size_t)n, &v, NULL) != PB_OK) {
		d->bad = true;
		return;
	}
	d->any = true;
	pb_dec acc;
	memcpy(&acc, d->acc, sizeof(acc));
	if (!pb__dec_add(&acc, v))
		d->overflow = true;
	memcpy(d->acc, &acc, sizeof(acc));
}

static void dsum_final(sqlite3_context *ctx)
{
	struct dsum_ctx *d = sqlite3_aggregate_context(ctx, 0);
	if (!d || !d->any) {
		sqlite3_result_text(ctx, "0", 1, SQLITE_STATIC);
		return;
	}
	if (d->bad) {
		sqlite3_result_error(ctx, "pb_dsum: not a decimal number", -1);
		return;
	}
	if (d->overflow) {
		sqlite3_result_error(ctx, "pb_dsum: sum out of range", -1);
		return;
	}
	char buf[PB_DEC_BUFSZ];
	pb_dec acc;
	memcpy(&acc, d->acc, sizeof(acc));
	size_t n = pb__dec_format(acc, buf);
	sqlite3_result_text(ctx, buf, (int)n, SQLITE_TRANSIENT);
}

/* pb_day(n): 'YYYY-MM-DD' of a day number; pb_month(n): 'YYYY-MM'. */
static void day_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	char buf[16];
	pb_day_format(sqlite3_value_int64(argv[0]), buf);
	sqlite3_result_text(ctx, buf, 10, SQLITE_TRANSIENT);
}

static void month_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	char buf[16];
	pb_day_format(sqlite3_value_int64(argv[0]), buf);
	sqlite3_result_text(ctx, buf, 7, SQLITE_TRANSIENT);
}

/* pb_month_no(n): the month number (year * 12 + month - 1) of a day number. */
static void month_no_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	sqlite3_result_int64(ctx, pb__month_of_day(sqlite3_value_int64(argv[0])));
}

static int register_functions(sqlite3 *db)
{
	int rc = sqlite3_create_function(db, "pb_dsum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
	                                 NULL, NULL, dsum_step, dsum_final);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "pb_day", 1,
		                             SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, day_fn,
		                             NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "pb_month_no", 1,
		                             SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, month_no_fn,
		                             NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "pb_month", 1,
		                             SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, month_fn,
		                             NULL, NULL);
	return rc;
}

/* ---- derived tables ---------------------------------------------------- */

static const char rollup_missing_sql[] =
	"SELECT id FROM source s WHERE NOT EXISTS (SELECT 1 FROM usage_month_source m "
	"WHERE m.source_id = s.id) ORDER BY id";

static enum pb_status rollup_one(sqlite3 *db, int64_t source_id, struct pb_error *err)
{
	static const char roll[] =
		"INSERT INTO usage_month(source_id, month, account, subaccount, provider, category, "
		"subcategory, service, capability, region, country, unit, charge_category, currency, "
		"quantity, billed_cost, effective_cost, list_cost, rows) "
		"SELECT source_id, pb_month_no(day), account, subaccount, provider, category, "
		"subcategory, service, capability, region, country, unit, charge_category, currency, "
		"pb_dsum(quantity), pb_dsum(billed_cost), pb_dsum(effective_cost), pb_dsum(list_cost), "
		"sum(rows) FROM usage_day WHERE source_id = ?1 "
		"GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14";
	sqlite3_stmt *ins = NULL, *done = NULL;
	enum pb_status st;
	if ((st = pb__db_prepare(db, roll, &ins, err)) == PB_OK &&
	    (st = pb__db_prepare(db, "INSERT INTO usage_month_source(source_id) VALUES (?1)", &done,
	                         err)) == PB_OK) {
		sqlite3_bind_int64(ins, 1, source_id);
		sqlite3_bind_int64(done, 1, source_id);
		if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_step(done) != SQLITE_DONE)
			st = pb__db_err(db, err, "cannot total usage by month");
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(done);
	return st;
}

enum pb_status pb__usage_rollup(sqlite3 *db, struct pb_error *err)
{
	/* every source without its totals: usually none, found by an index probe
	 * per source; else all of them in one transaction */
	sqlite3_stmt *find = NULL;
	int64_t *ids = NULL;
	size_t n = 0;
	enum pb_status st = pb__db_prepare(db, rollup_missing_sql, &find, err);
	if (st)
		return st;
	st = pb__db_ids(db, find, &ids, &n, "sources", err);
	sqlite3_finalize(find);
	if (st == PB_OK && n) {
		st = pb__db_exec(db, "BEGIN IMMEDIATE", err);
		for (size_t i = 0; i < n && st == PB_OK; i++)
			st = rollup_one(db, ids[i], err);
		if (st == PB_OK)
			st = pb__db_exec(db, "COMMIT", err);
		else
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	free(ids);
	return st;
}

/* ---- migrations ------------------------------------------------------ */

int pb_schema_version_current(void)
{
	return pb__migrations[pb__migrations_count - 1].version;
}

static int db_user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

enum pb_status pb__ws_migrate(sqlite3 *db, int target, struct pb_error *err)
{
	int have = db_user_version(db);
	if (have < 0)
		return pb__db_err(db, err, "cannot read schema version");
	if (have > pb_schema_version_current())
		return pb__err(err, PB_ESTATE,
		               "workspace schema version %d is newer than this probity "
		               "understands (%d): upgrade probity",
		               have, pb_schema_version_current());
	if (have >= target)
		return PB_OK;
	enum pb_status st = pb__db_exec(db, "BEGIN IMMEDIATE", err);
	if (st)
		return st;
	/* another process may have migrated while we waited for the lock */
	have = db_user_version(db);
	for (size_t i = 0; i < pb__migrations_count; i++) {
		const struct pb__migration *m = &pb__migrations[i];
		if (m->version <= have || m->version > target)
			continue;
		if ((st = pb__db_exec(db, m->sql, err)) != PB_OK) {
			pb__err_prefix(err, "migration to schema %d (%s) failed", m->version,
			               m->what);
			goto fail;
		}
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
		if ((st = pb__db_exec(db, sql, err)) != PB_OK)
			goto fail;
	}
	if ((st = pb__db_exec(db, "COMMIT", err)) != PB_OK)
		goto fail;
	return PB_OK;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

/* ---- settings file ----------------------------------------------------- */

static void settings_free(struct pb_ws *ws)
{
	for (size_t i = 0; i < ws->nsettings; i++) {
		free(ws->settings[i].key);
		free(ws->settings[i].value);
	}
	free(ws->settings);
	ws->settings = NULL;
	ws->nsettings = 0;
}

/* Parses "key = value" lines; '#' starts a comment line. */
static enum pb_status settings_parse(struct pb_ws *ws, const char *path, const char *text,
                                     struct pb_error *err)
{
	uint64_t lineno = 0;
	const char *p = text;
	while (*p) {
		lineno++;
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		struct pb_str line = pb_str_trim(pb_str_of(p, len));
		if (line.len && line.ptr[line.len - 1] == '\r')
			line.len--;
		p += len + (eol ? 1 : 0);
		if (line.len == 0 || line.ptr[0] == '#')
			continue;
		const char *eq = memchr(line.ptr, '=', line.len);
		if (!eq)
			return pb__err_at(err, PB_EFORMAT, path, lineno, 1,
			                  "expected 'key = value'");
		struct pb_str k = pb_str_trim(pb_str_of(line.ptr, (size_t)(eq - line.ptr)));
		struct pb_str v = pb_str_trim(
			pb_str_of(eq + 1, line.len - (size_t)(eq + 1 - line.ptr)));
		if (k.len == 0)
			return pb__err_at(err, PB_EFORMAT, path, lineno, 1, "empty key");
		struct pb_ws_setting *ns =
			realloc(ws->settings, (ws->nsettings + 1) * sizeof(*ns));
		if (!ns)
			return pb__err(err, PB_ENOMEM, "out of memory");
		ws->settings = ns;
		ns[ws->nsettings].key = pb__strndup(k.ptr, k.len);
		ns[ws->nsettings].value = pb__strndup(v.ptr, v.len);
		ws->nsettings++;
		if (!ns[ws->nsettings - 1].key || !ns[ws->nsettings - 1].value)
			return pb__err(err, PB_ENOMEM, "out of memory");
	}
	return PB_OK;
}

const char *pb_ws_setting(const struct pb_ws *ws, const char *key)
{
	/* the last occurrence wins, as in most config files */
	for (size_t i = ws->nsettings; i > 0; i--)
		if (strcmp(ws->settings[i - 1].key, key) == 0)
			return ws->settings[i - 1].value;
	return NULL;
}

/* ---- init ------------------------------------------------------------ */

static bool dir_is_empty(const char *path, int *errn)
{
	DIR *d = opendir(path);
	if (!d) {
		*errn = errno;
		return false;
	}
	struct dirent *e;
	bool empty = true;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	*errn = 0;
	return empty;
}

enum pb_status pb__rm_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return unlink(path) == 0 ? PB_OK : PB_EIO;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = pb__path_join(path, e->d_name);
		if (p) {
			struct stat sb;
			if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
				pb__rm_tree(p);
			else
				unlink(p);
			free(p);
		}
	}
	closedir(d);
	return rmdir(path) == 0 ? PB_OK : PB_EIO;
}

static enum pb_status write_new_file(const char *path, const void *data, size_t n,
                                     mode_t mode, struct pb_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", path,
		               pb__errno_text(errno));
	const char *p = data;
	size_t left = n;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return pb__err(err, PB_EIO, "cannot write '%s': %s", path, pb__errno_text(e));
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return pb__err(err, PB_EIO, "cannot write '%s': %s", path, pb__errno_text(errno));
	return PB_OK;
}

/* dir may become a workspace: absent, or an empty folder. */
static enum pb_status init_target_ok(const char *dir, struct pb_error *err)
{
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT)
			return pb__err(err, pb__errno_status(errno), "cannot use '%s': %s", dir,
			               pb__errno_text(errno));
		return PB_OK;
	}
	if (!S_ISDIR(sb.st_mode))
		return pb__err(err, PB_EEXIST, "cannot create workspace '%s': a file is in the way",
		               dir);
	char *db = pb__path_join(dir, PB_WS_DB);
	bool is_ws = db && access(db, F_OK) == 0;
	free(db);
	if (is_ws)
		return pb__err(err, PB_EEXIST,
		               "'%s' is already a probity workspace; refusing to overwrite it", dir);
	int e;
	if (!dir_is_empty(dir, &e)) {
		if (e)
			return pb__err(err, pb__errno_status(e), "cannot read folder '%s': %s", dir,
			               pb__errno_text(e));
		return pb__err(err, PB_EEXIST,
		               "cannot create workspace in '%s': the folder is not empty", dir);
	}
	return PB_OK;
}

/* The two keys, new, in the folder dir: pseudonym.key (names into
 * pseudonyms) and signing.key (the log's checkpoints), 32 random bytes each,
 * 0600. Neither may exist there already; a failure leaves neither. */
static enum pb_status init_keys(const char *dir, struct pb_error *err)
{
	static const char *const names[] = { PB_WS_KEY, PB_WS_SIGNING_KEY };
	char *made[PB_ARRAY_LEN(names)] = { NULL, NULL };
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < PB_ARRAY_LEN(names) && !st; i++) {
		uint8_t key[32];
		char *p = pb__path_join(dir, names[i]);
		if (!p) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		pb_random(key, sizeof(key));
		st = write_new_file(p, key, sizeof(key), 0600, err);
		sodium_memzero(key, sizeof(key));
		if (st == PB_EEXIST)
			st = pb__err(err, PB_EEXIST,
			             "key folder '%s' already holds %s; refusing to overwrite it (give "
			             "each workspace a key folder of its own)",
			             dir, names[i]);
		if (st)
			free(p);
		else
			made[i] = p;
	}
	for (size_t i = 0; i < PB_ARRAY_LEN(names); i++) {
		if (st && made[i])
			unlink(made[i]);
		free(made[i]);
	}
	return st;
}

/* The key folder apart from the workspace ws_dir: created 0700 when
 * missing (an existing one is left as its owner made it), returned absolute
 * in *abs (heap), so the setting holds wherever a command runs from. It may
 * not be the workspace or inside it: a copy of the workspace would take it. */
static enum pb_status init_key_dir(const char *dir, const char *ws_dir, char **abs,
                                   struct pb_error *err)
{
	*abs = NULL;
	bool made = mkdir(dir, 0700) == 0;
	if (!made && errno != EEXIST)
		return pb__err(err, pb__errno_status(errno), "cannot create key folder '%s': %s",
		               dir, pb__errno_text(errno));
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return pb__err(err, PB_EINVAL, "key folder '%s' is not a folder", dir);
	char *r = realpath(dir, NULL);
	char *w = realpath(ws_dir, NULL); /* NULL while the workspace folder is absent */
	enum pb_status st = PB_OK;
	size_t wl = w ? strlen(w) : 0;
	if (!r)
		st = pb__err(err, pb__errno_status(errno), "cannot use key folder '%s': %s", dir,
		             pb__errno_text(errno));
	else if (strpbrk(r, "\r\n"))
		st = pb__err(err, PB_EINVAL, "key folder '%s' has a line break in its path", dir);
	else if (w && strncmp(r, w, wl) == 0 && (r[wl] == '\0' || r[wl] == '/'))
		st = pb__err(err, PB_EINVAL,
		             "key folder '%s' is inside the workspace '%s': keep it apart, so a "
		             "copy of the workspace holds no key",
		             dir, ws_dir);
	free(w);
	if (st) {
		free(r);
		if (made)
			rmdir(dir);
		return st;
	}
	*abs = r;
	return PB_OK;
}

/* The settings file in the folder tmp; key_dir the absolute key folder or
 * NULL. */
static enum pb_status init_conf(const char *tmp, const struct pb_ws_init_options *opts,
                                const char *key_dir, struct pb_error *err)
{
	char created[24];
	pb_time_format(pb_now(), created);
	struct pb_buf conf;
	pb_buf_init(&conf, CONF_LIMIT);
	pb_buf_printf(&conf,
	              "# probity workspace settings: key = value, one a line.\n"
	              "# Changing keep_names applies to later ingests only; each source\n"
	              "# records which choice it was loaded under.\n"
	              "name = %s\n"
	              "created = %s\n"
	              "# keep_names = true stores customer-chosen names (account,\n"
	              "# sub-account) in clear instead of keyed pseudonyms.\n"
	              "keep_names = %s\n",
	              opts->name ? opts->name : "workspace", created,
	              opts->keep_names ? "true" : "false");
	if (opts->user)
		pb_buf_printf(&conf,
		              "# the acting user when a command is given no --as\n"
		              "user = %s\n",
		              opts->user);
	if (opts->log_origin)
		pb_buf_printf(&conf,
		              "# the audit log's origin, also its signing key's name; fixed\n"
		              "# at the log's first entry\n"
		              "log_origin = %s\n",
		              opts->log_origin);
	pb_buf_printf(&conf,
	              "# signed: every change is signed by its actor's SSH key;\n"
	              "# unsigned: actors are claimed names. Fixed at the log's first entry\n"
	              "actors = %s\n",
	              opts->unsigned_actors ? "unsigned" : "signed");
	if (key_dir)
		pb_buf_printf(&conf,
		              "# where pseudonym.key and signing.key are: kept apart from the\n"
		              "# workspace (docs/keys.md); PROBITY_KEY_DIR overrides it\n"
		              "key_dir = %s\n",
		              key_dir);
	char *p = pb__path_join(tmp, PB_WS_CONF);
	enum pb_status st = !p || !conf.data ? pb__err(err, PB_ENOMEM, "out of memory")
	                                     : write_new_file(p, conf.data, conf.len, 0600, err);
	pb_buf_release(&conf);
	free(p);
	return st;
}

/* The database in the folder tmp: schema, the first setting, checkpointed
 * so the folder holds one self-contained database file. */
static enum pb_status init_db(const char *tmp, const struct pb_ws_init_options *opts,
                              struct pb_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	enum pb_status st;
	char *p = pb__path_join(tmp, PB_WS_DB);
	if (!p)
		return pb__err(err, PB_ENOMEM, "out of memory");
	/* created here 0600 first: SQLite would make it 0644 less the umask, and
	 * its -wal and -shm files take the database file's mode */
	if ((st = write_new_file(p, "", 0, 0600, err)))
		goto out;
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		st = pb__db_err(db, err, "cannot create workspace database");
		goto out;
	}
	if ((st = pb__db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err)) ||
	    (st = pb__ws_migrate(db, pb_schema_version_current(), err)))
		goto out;
	if ((st = pb__db_prepare(db,
	                         "INSERT INTO setting_change(at, key, value, actor) "
	                         "VALUES (?1, 'keep_names', ?2, 'init')",
	                         &ins, err)))
		goto out;
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_text(ins, 1, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 2, opts->keep_names ? "true" : "false", -1, SQLITE_STATIC);
	int rc = sqlite3_step(ins);
	sqlite3_finalize(ins);
	if (rc != SQLITE_DONE) {
		st = pb__db_err(db, err, "cannot record settings");
		goto out;
	}
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (sqlite3_close(db) != SQLITE_OK)
		st = pb__err(err, PB_EDB, "cannot close the new database");
	db = NULL;
out:
	if (db)
		sqlite3_close(db);
	free(p);
	return st;
}

void pb__fsync_parent(const char *path)
{
	char *parent = pb__strndup(path, strlen(path));
	char *slash = parent ? strrchr(parent, '/') : NULL;
	if (parent) {
		if (slash)
			*(slash == parent ? slash + 1 : slash) = '\0';
		else
			parent[0] = '.', parent[1] = '\0';
		pb__fsync_dir(parent, NULL);
	}
	free(parent);
}

enum pb_status pb_ws_init(const char *dir, const struct pb_ws_init_options *opts,
                          struct pb_error *err)
{
	struct pb_ws_init_options defaults = { 0 };
	if (!opts)
		opts = &defaults;
	if (!dir || !*dir)
		return pb__err(err, PB_EINVAL, "no workspace folder given");
	if (opts->log_origin && !pb_note_name_valid(opts->log_origin, strlen(opts->log_origin)))
		return pb__err(err, PB_EINVAL,
		               "log origin '%s' is not a valid key name: 1 to %d bytes, no '+', no "
		               "spaces or control characters (e.g. review.provider.example/case-7)",
		               opts->log_origin, PB_NOTE_NAME_MAX);
	enum pb_status st = init_target_ok(dir, err);
	if (st)
		return st;

	/* Build everything in a sibling temporary folder, then rename. */
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	char *clean = pb__strndup(dir, dl);
	char *tmp = malloc(dl + 48);
	char *p = NULL, *key_dir = NULL;
	bool keys_made = false;
	if (!clean || !tmp) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out_noclean;
	}
	snprintf(tmp, dl + 48, "%s.init-%ld.tmp", clean, (long)getpid());
	if (mkdir(tmp, 0700) != 0) {
		st = pb__err(err, pb__errno_status(errno), "cannot create workspace '%s': %s", dir,
		             pb__errno_text(errno));
		goto out_noclean;
	}
	const char *subdirs[] = { PB_WS_REJECTS, PB_WS_SOURCES };
	for (size_t i = 0; i < PB_ARRAY_LEN(subdirs); i++) {
		p = pb__path_join(tmp, subdirs[i]);
		if (!p || mkdir(p, 0700) != 0) {
			st = pb__err(err, PB_EIO, "cannot create '%s': %s", p ? p : subdirs[i],
			             pb__errno_text(errno));
			goto out;
		}
		free(p);
		p = NULL;
	}
	if (opts->key_dir && *opts->key_dir) {
		if ((st = init_key_dir(opts->key_dir, clean, &key_dir, err)) ||
		    (st = init_keys(key_dir, err)) || (st = pb__fsync_dir(key_dir, err)))
			goto out;
		keys_made = true;
	} else if ((st = init_keys(tmp, err))) {
		goto out;
	}
	if ((st = init_conf(tmp, opts, key_dir, err)) || (st = init_db(tmp, opts, err)) ||
	    (st = pb__fsync_dir(tmp, err)))
		goto out;
	if (rename(tmp, clean) != 0) {
		st = pb__err(err, pb__errno_status(errno), "cannot create workspace '%s': %s", dir,
		             pb__errno_text(errno));
		goto out;
	}
	pb__fsync_parent(clean);
out:
	if (st)
		pb__rm_tree(tmp);
	for (int i = 0; st && keys_made && i < 2; i++) {
		free(p);
		p = pb__path_join(key_dir, i ? PB_WS_SIGNING_KEY : PB_WS_KEY);
		if (p)
			unlink(p);
	}
out_noclean:
	free(key_dir);
	free(p);
	free(tmp);
	free(clean);
	return st;
}

/* ---- open / close ------------------------------------------------------ */

/* Where the keys are: key_dir given (PROBITY_KEY_DIR), else the key_dir
 * setting (relative to the workspace folder), else the folder itself. */
static enum pb_status key_dir_resolve(struct pb_ws *ws, const char *given,
                                      struct pb_error *err)
{
	const char *set = pb_ws_setting(ws, "key_dir");
	const char *d = given && *given ? given : set && *set ? set : NULL;
	if (!d)
		ws->key_dir = pb__strndup(ws->path, strlen(ws->path));
	else if (d[0] == '/' || d == given)
		ws->key_dir = pb__strndup(d, strlen(d));
	else
		ws->key_dir = pb__path_join(ws->path, d);
	if (!ws->key_dir)
		return pb__err(err, PB_ENOMEM, "out of memory");
	ws->key_dir_apart = d != NULL;
	return PB_OK;
}

/* Reads pseudonym.key if it can; pb__ws_pseudo_key tells why not when it
 * is needed (only ingest is). */
static void pseudo_key_load(struct pb_ws *ws)
{
	char *keyp = pb__ws_key_file(ws, PB_WS_KEY);
	int fd = keyp ? open(keyp, O_RDONLY | O_CLOEXEC) : -1;
	ws->key_errno = fd < 0 ? (keyp ? errno : ENOMEM) : 0;
	if (fd >= 0) {
		ssize_t r = read(fd, ws->pseudo_key, sizeof(ws->pseudo_key));
		ws->have_key = r == (ssize_t)sizeof(ws->pseudo_key);
		close(fd);
	}
	free(keyp);
}

enum pb_status pb_ws_open(const char *dir, unsigned flags, struct pb_ws **out,
                          struct pb_error *err)
{
	return pb_ws_open_keys(dir, flags, NULL, out, err);
}

enum pb_status pb_ws_open_keys(const char *dir, unsigned flags, const char *key_dir,
                               struct pb_ws **out, struct pb_error *err)
{
	*out = NULL;
	struct stat sb;
	if (!dir || stat(dir, &sb) != 0)
		return pb__err(err, PB_ENOENT, "no workspace at '%s': %s", dir ? dir : "",
		               pb__errno_text(errno));
	if (!S_ISDIR(sb.st_mode))
		return pb__err(err, PB_ENOENT, "'%s' is not a probity workspace (not a folder)", dir);
	struct pb_ws *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return pb__err(err, PB_ENOMEM, "out of memory");
	ws->flags = flags;
	enum pb_status st = PB_OK;
	char *dbp = NULL, *confp = NULL, *conf = NULL;
	ws->path = pb__strndup(dir, strlen(dir));
	dbp = pb__path_join(dir, PB_WS_DB);
	confp = pb__path_join(dir, PB_WS_CONF);
	if (!ws->path || !dbp || !confp) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	if (access(dbp, F_OK) != 0 || access(confp, F_OK) != 0) {
		st = pb__err(err, PB_ENOENT,
		             "'%s' is not a probity workspace (no %s); create one with 'probity init'",
		             dir, access(dbp, F_OK) != 0 ? PB_WS_DB : PB_WS_CONF);
		goto fail;
	}
	size_t conflen;
	if ((st = pb__read_file(confp, CONF_LIMIT, &conf, &conflen, err)))
		goto fail;
	if ((st = settings_parse(ws, confp, conf, err)) ||
	    (st = key_dir_resolve(ws, key_dir, err)))
		goto fail;
	pseudo_key_load(ws);

	bool ro = flags & PB_WS_READONLY;
	bool dir_writable = access(dir, W_OK) == 0 && access(dbp, W_OK) == 0;
	int oflags = ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	oflags |= SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
	char *uri = NULL;
	{
		/* A read-only folder cannot hold WAL's shared-memory file; open the
		 * database as immutable then (nothing else can be writing it). */
		char *enc = sqlite3_mprintf("file:%s%s", dbp,
		                            ro && !dir_writable ? "?immutable=1" : "");
		uri = enc ? pb__strndup(enc, strlen(enc)) : NULL;
		sqlite3_free(enc);
	}
	if (!uri) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	int rc = sqlite3_open_v2(uri, &ws->db, oflags, NULL);
	free(uri);
	if (rc != SQLITE_OK) {
		st = pb__db_err(ws->db, err, "cannot open workspace database");
		goto fail;
	}
	sqlite3_busy_timeout(ws->db, 10000);
	sqlite3_extended_result_codes(ws->db, 1);
	if (register_functions(ws->db) != SQLITE_OK) {
		st = pb__db_err(ws->db, err, "cannot register SQL functions");
		goto fail;
	}
	if (!ro) {
		if (!dir_writable) {
			st = pb__err(err, PB_EPERM, "workspace '%s' is read-only", dir);
			goto fail;
		}
		if ((st = pb__db_exec(ws->db,
		                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
		                      "PRAGMA foreign_keys=ON;",
		                      err)))
			goto fail;
		if ((st = pb__ws_migrate(ws->db, pb_schema_version_current(), err)))
			goto fail;
		if ((st = pb__usage_rollup(ws->db, err)))
			goto fail;
	} else {
		int v = db_user_version(ws->db);
		if (v < 0) {
			st = pb__db_err(ws->db, err, "cannot read workspace database");
			goto fail;
		}
		if (v != pb_schema_version_current()) {
			st = pb__err(err, PB_ESTATE,
			             "workspace '%s' has schema version %d; this probity reads %d "
			             "(open it once read-write to migrate)",
			             dir, v, pb_schema_version_current());
			goto fail;
		}
	}
	ws->schema_version = db_user_version(ws->db);
	free(dbp);
	free(confp);
	free(conf);
	*out = ws;
	return PB_OK;
fail:
	free(dbp);
	free(confp);
	free(conf);
	pb_ws_close(ws);
	return st;
}

void pb_ws_close(struct pb_ws *ws)
{
	if (!ws)
		return;
	if (ws->db)
		sqlite3_close_v2(ws->db);
	settings_free(ws);
	if (ws->signing && ws->signing_free)
		ws->signing_free(ws->signing);
	sodium_memzero(ws->pseudo_key, sizeof(ws->pseudo_key));
	free(ws->key_dir);
	free(ws->pinned_vkey);
	free(ws->path);
	free(ws);
}

enum pb_status pb_ws_set_clock(struct pb_ws *ws, int64_t t, struct pb_error *err)
{
	int64_t now = pb_now();
	if (t && (t > now || now - t > PB_CLOCK_MAX_AGE))
		return pb__err_field(err, PB_EINVAL, "at",
		                     "the statement was made %s (more than %d minutes ago, or in "
		                     "the future): sign again",
		                     t > now ? "later than now" : "too long ago",
		                     PB_CLOCK_MAX_AGE / 60);
	ws->clock = t;
	return PB_OK;
}

int64_t pb__ws_now(const struct pb_ws *ws)
{
	return ws && ws->clock ? ws->clock : pb_now();
}

const char *pb_ws_path(const struct pb_ws *ws)
{
	return ws->path;
}

int pb_ws_schema_version(const struct pb_ws *ws)
{
	return ws->schema_version;
}

const char *pb_ws_key_dir(const struct pb_ws *ws)
{
	return ws->key_dir;
}

char *pb__ws_file(const struct pb_ws *ws, const char *name)
{
	return pb__path_join(ws->path, name);
}

char *pb__ws_key_file(const struct pb_ws *ws, const char *name)
{
	return pb__path_join(ws->key_dir, name);
}

enum pb_status pb__ws_require_writable(struct pb_ws *ws, const char *doing,
                                       struct pb_error *err)
{
	if (ws->flags & PB_WS_READONLY)
		return pb__err(err, PB_EPERM, "cannot %s: workspace '%s' was opened read-only", doing,
		               ws->path);
	if (access(ws->path, W_OK) != 0)
		return pb__err(err, PB_EPERM, "cannot %s: workspace '%s' is read-only", doing,
		               ws->path);
	return PB_OK;
}

enum pb_status pb__ws_pseudo_key(struct pb_ws *ws, const uint8_t **key, struct pb_error *err)
{
	if (!ws->have_key) {
		char *p = pb__ws_key_file(ws, PB_WS_KEY);
		enum pb_status st =
			ws->key_errno
				? pb__err(err, pb__errno_status(ws->key_errno),
				          "cannot read the pseudonym key '%s': %s%s",
				          p ? p : PB_WS_KEY, pb__errno_text(ws->key_errno),
				          ws->key_dir_apart ? " (the key folder is set by key_dir in "
				                              "probity.conf or PROBITY_KEY_DIR)"
				                            : "")
				: pb__err(err, PB_EFORMAT, "'%s' is not a 32-byte pseudonym key",
				          p ? p : PB_WS_KEY);
		free(p);
		return st;
	}
	*key = ws->pseudo_key;
	return PB_OK;
}

enum pb_status pb__ws_begin(struct pb_ws *ws, struct pb_error *err)
{
	if (sqlite3_exec(ws->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return pb__db_err(ws->db, err, "cannot start a transaction");
	return PB_OK;
}

enum pb_status pb__ws_commit(struct pb_ws *ws, struct pb_error *err)
{
	if (sqlite3_exec(ws->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		enum pb_status st = pb__db_err(ws->db, err, "cannot commit");
		sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
		return st;
	}
	return PB_OK;
}

void pb__ws_rollback(struct pb_ws *ws)
{
	if (!sqlite3_get_autocommit(ws->db))
		sqlite3_exec(ws->db, "ROLLBACK", NULL, NULL, NULL);
}
