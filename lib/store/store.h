/* store.h - the workspace: one SQLite database, its schema versions, transactions. */
#ifndef PB_STORE_H
#define PB_STORE_H

#include "util/util.h"

#include <sqlite3.h>

#define PB_WS_DB "probity.db"
#define PB_WS_CONF "probity.conf"
#define PB_WS_KEY "pseudonym.key"
#define PB_WS_SIGNING_KEY "signing.key"
#define PB_WS_REJECTS "rejects"
#define PB_WS_SOURCES "sources"

struct pb_ws_setting {
	char *key;
	char *value;
};

struct pb_ws {
	char *path;      /* folder as given */
	sqlite3 *db;
	unsigned flags;  /* PB_WS_* */
	int schema_version;
	char *key_dir;   /* where the keys are: the folder, or key_dir / PROBITY_KEY_DIR */
	bool key_dir_apart; /* key_dir is not the workspace folder: keys are never made here */
	uint8_t pseudo_key[32];
	bool have_key;
	int key_errno;   /* why pseudonym.key could not be read (0: it was, or is short) */
	char *pinned_vkey; /* the log's public key as the caller knows it (pb_ws_pin_vkey), or NULL */
	struct pb_ws_setting *settings;
	size_t nsettings;
	int actors;      /* 0: not read yet; 1: unsigned; 2: signed (pb_ws_actors_signed) */
	void *signing;   /* what pb_ws_set_signing set, or NULL (log/sign.c) */
	void (*signing_free)(void *signing); /* how pb_ws_close releases it */
	int64_t clock;   /* the time writes are made at (pb_ws_set_clock), or 0: now */
};

/* The time a write is made at: the clock a detached signature's two steps
 * share (pb_ws_set_clock), else the real time. */
int64_t pb__ws_now(const struct pb_ws *ws);

/* One step of the schema history: applying sql to a database at version-1
 * gives version. Steps are never edited once released; new ones are added. */
struct pb__migration {
	int version;
	const char *what;
	const char *sql;
};
extern const struct pb__migration pb__migrations[];
extern const size_t pb__migrations_count;

/* Applies migrations up to `target` (<= current) in one transaction. Used by
 * pb_ws_open with the current version, and by tests to build old databases. */
enum pb_status pb__ws_migrate(sqlite3 *db, int target, struct pb_error *err);

/* Fills usage_month (monthly totals of usage_day; see schema.c) for every
 * source without them, from its stored days, in a transaction of its own
 * (pb_ws_open does this; an ingest writes a new source's totals itself). */
enum pb_status pb__usage_rollup(sqlite3 *db, struct pb_error *err);

/* Fills err from the database's last error: "<what>: <sqlite message>". */
enum pb_status pb__db_err(sqlite3 *db, struct pb_error *err, const char *what);
/* Runs SQL without results. */
enum pb_status pb__db_exec(sqlite3 *db, const char *sql, struct pb_error *err);
/* Prepares one statement; on failure fills err. */
enum pb_status pb__db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
                              struct pb_error *err);
/* Fills row (zeroed, of the size given to pb__db_rows) from the current row
 * of q; ctx is the caller's. A failure stops the collection. */
typedef enum pb_status (*pb__db_row_fn)(void *ctx, sqlite3_stmt *q, void *row,
                                        struct pb_error *err);
/* Steps a prepared (and bound) statement to its end, growing an array of
 * elem-byte rows, each filled by fn. Does not finalize q. On success *rows
 * (heap, *n of them; free it) may be NULL when there were none. On failure
 * (fn's error, out of memory, or the database's, as "<what>: <sqlite
 * message>") *rows is NULL and *n 0. */
enum pb_status pb__db_rows(sqlite3 *db, sqlite3_stmt *q, size_t elem, pb__db_row_fn fn,
                           void *ctx, void **rows, size_t *n, const char *what,
                           struct pb_error *err);
/* Prepares sql (without parameters) and collects its rows as pb__db_rows. */
enum pb_status pb__db_select(sqlite3 *db, const char *sql, size_t elem, pb__db_row_fn fn,
                             void *ctx, void **rows, size_t *n, const char *what,
                             struct pb_error *err);
/* Steps a prepared (and bound) statement to its end, collecting column 0 of
 * each row as an integer into *ids (heap, *n of them; free it). Does not
 * finalize q. On failure fills err ("cannot read <what>") and frees *ids. */
/* Prepares sql (one parameter ?1, bound to id) and steps to its first row.
 * PB_OK: *q is on that row; the caller reads it and finalizes *q.
 * PB_ENOENT: no row; err says notfound, a format with one %lld for id
 * ("no plan %lld (see 'probity plan list')"). Else a database error
 * "cannot read <what>". *q is NULL unless PB_OK. */
enum pb_status pb__db_row_by_id(sqlite3 *db, const char *sql, int64_t id, const char *notfound,
                                const char *what, sqlite3_stmt **q, struct pb_error *err);
enum pb_status pb__db_ids(sqlite3 *db, sqlite3_stmt *q, int64_t **ids, size_t *n,
                          const char *what, struct pb_error *err);

/* Transactions. begin takes the write lock at once (BEGIN IMMEDIATE). */
enum pb_status pb__ws_begin(struct pb_ws *ws, struct pb_error *err);
enum pb_status pb__ws_commit(struct pb_ws *ws, struct pb_error *err);
void pb__ws_rollback(struct pb_ws *ws);

/* Fails with PB_EPERM when the workspace was opened read-only or its folder
 * or database cannot be written; `doing` names the operation for the message. */
enum pb_status pb__ws_require_writable(struct pb_ws *ws, const char *doing,
                                       struct pb_error *err);

/* The workspace's pseudonym key; fails when the key file is missing. */
enum pb_status pb__ws_pseudo_key(struct pb_ws *ws, const uint8_t **key, struct pb_error *err);

/* A path inside the workspace folder (heap string). */
char *pb__ws_file(const struct pb_ws *ws, const char *name);
/* A path inside the workspace's key folder (heap string). */
char *pb__ws_key_file(const struct pb_ws *ws, const char *name);

/* Removes path and, for a folder, everything below it (links are removed,
 * never followed); PB_EIO when path itself is left. For folders built aside
 * (a new workspace, an export) that a failure must not leave behind. */
enum pb_status pb__rm_tree(const char *path);

/* Syncs the folder that holds path, so a rename into it is durable; errors
 * are ignored (the rename itself has succeeded). */
void pb__fsync_parent(const char *path);

/* Copies a text column into out (cap bytes, cut if longer; "" for NULL). */
static inline void pb__col_text(sqlite3_stmt *q, int i, char *out, size_t cap)
{
	const unsigned char *v = sqlite3_column_text(q, i);
	pb__strlcpy(out, v ? (const char *)v : "", cap);
}

/* Bind helpers for views. */
static inline int pb__bind_str(sqlite3_stmt *st, int i, struct pb_str s)
{
	if (!s.ptr)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s.ptr, (int)s.len, SQLITE_TRANSIENT);
}

#endif /* PB_STORE_H */
