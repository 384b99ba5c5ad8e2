/* audit.c - the workspace audit log: canonical JSON entries appended inside
 * the caller's SQLite transaction, the stored Merkle tree, signed
 * checkpoints, proofs, export to C2SP tiles, and a local integrity check.
 *
 * Storage (schema v2): audit_entry holds each leaf and its hash, audit_node
 * every perfect-subtree hash of level >= 1, audit_state the tree head and
 * compact range, audit_checkpoint every checkpoint ever signed. An append
 * reads the compact range, merges like a binary counter (one new audit_node
 * row per merge) and writes the new head, all in the caller's transaction,
 * so SQLite's atomic commit makes "the change and its entry" one event: after
 * a crash the log is at the old size or the new one. A checkpoint is signed
 * only over committed entries, after checking consistency with the last one,
 * and stored before it is handed out; Ed25519 is deterministic, so re-signing
 * the same tree head gives the same bytes.
 */
#include "log/audit.h"
#include "log/tlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "util/banned.h"

#define SIGNING_KEY PB_WS_SIGNING_KEY

/* ---- small SQL helpers -------------------------------------------------- */

static enum pb_status prep(struct pb_ws *ws, const char *sql, sqlite3_stmt **st,
                           struct pb_error *err)
{
	return pb__db_prepare(ws->db, sql, st, err);
}

static enum pb_status step_done(struct pb_ws *ws, sqlite3_stmt *st, const char *what,
                                struct pb_error *err)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, what);
	return PB_OK;
}

/* ---- origin and key ------------------------------------------------------ */

static void default_origin(struct pb_ws *ws, char out[PB_NOTE_NAME_MAX + 1])
{
	const char *name = pb_ws_setting(ws, "name");
	if (!name || !*name) {
		const char *slash = strrchr(ws->path, '/');
		name = slash && slash[1] ? slash + 1 : ws->path;
	}
	size_t o = (size_t)snprintf(out, PB_NOTE_NAME_MAX + 1, "probity.example/");
	for (const char *p = name; *p && o < PB_NOTE_NAME_MAX; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          c == '-' || c == '.' || c == '_' || c == '~';
		out[o++] = ok ? c : '-';
	}
	out[o] = '\0';
}

static enum pb_status stored_origin(struct pb_ws *ws, char out[PB_NOTE_NAME_MAX + 1], bool *found,
                                    struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status s = prep(ws, "SELECT origin FROM audit_state WHERE id = 1", &st, err);
	if (s)
		return s;
	*found = false;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		pb__strlcpy(out, (const char *)sqlite3_column_text(st, 0), PB_NOTE_NAME_MAX + 1);
		*found = true;
	} else if (rc != SQLITE_DONE) {
		s = pb__db_err(ws->db, err, "cannot read the audit log");
	}
	sqlite3_finalize(st);
	return s;
}

enum pb_status pb__audit_origin(struct pb_ws *ws, char out[PB_NOTE_NAME_MAX + 1],
                                struct pb_error *err)
{
	bool found;
	enum pb_status st = stored_origin(ws, out, &found, err);
	if (st)
		return st;
	const char *conf = pb_ws_setting(ws, "log_origin");
	if (found) {
		if (conf && *conf && strcmp(conf, out) != 0)
			return pb__err(err, PB_ESTATE,
			               "probity.conf sets log_origin = %s, but this log's origin was fixed "
			               "as '%s' at its first entry; restore the setting",
			               conf, out);
		return PB_OK;
	}
	if (conf && *conf) {
		if (!pb_note_name_valid(conf, strlen(conf)))
			return pb__err(err, PB_EINVAL,
			               "probity.conf: log_origin '%s' is not a valid key name (non-empty, "
			               "at most %d bytes, no '+', no spaces)",
			               conf, PB_NOTE_NAME_MAX);
		pb__strlcpy(out, conf, PB_NOTE_NAME_MAX + 1);
		return PB_OK;
	}
	default_origin(ws, out);
	return PB_OK;
}

/* Reads signing.key, or creates it (32 random bytes, 0600) when missing and
 * create is set (workspaces made before init made it). A new key is linked
 * into place only if none exists, so two processes racing here end up with
 * the same key. A key folder apart from the workspace is never written: a
 * key missing there is an error naming it (an unmounted device, another
 * machine), never a reason to make a new one. */
static enum pb_status load_seed(struct pb_ws *ws, bool create, uint8_t seed[32], bool *found,
                                struct pb_error *err)
{
	char *path = pb__ws_key_file(ws, SIGNING_KEY);
	if (!path)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = PB_OK;
	*found = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t r = read(fd, seed, 32);
			char extra;
			ssize_t r2 = read(fd, &extra, 1);
			close(fd);
			if (r != 32 || r2 != 0)
				st = pb__err(err, PB_EVERIFY, "'%s' is not a 32-byte signing key", path);
			else
				*found = true;
			goto out;
		}
		if (errno != ENOENT || ws->key_dir_apart) {
			st = pb__err(err, pb__errno_status(errno),
			             "cannot read the signing key '%s': %s%s", path,
			             pb__errno_text(errno),
			             ws->key_dir_apart ? " (the key folder is set by key_dir in "
			                                 "probity.conf or PROBITY_KEY_DIR)"
			                               : "");
			goto out;
		}
		if (!create)
			goto out;
		char tmp[4200];
		pb__snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid());
		uint8_t fresh[32];
		pb_random(fresh, sizeof(fresh));
		st = pb__write_file_atomic(tmp, fresh, sizeof(fresh), 0600, err);
		sodium_memzero(fresh, sizeof(fresh));
		if (st)
			goto out;
		int rc = link(tmp, path);
		int e = errno;
		unlink(tmp);
		if (rc != 0 && e != EEXIST) {
			st = pb__err(err, pb__errno_status(e), "cannot create '%s': %s", path,
			             pb__errno_text(e));
			goto out;
		}
		pb__fsync_dir(pb_ws_key_dir(ws), NULL);
	}
out:
	free(path);
	return st;
}

/* signing.pub in the workspace folder: the log's public key (vkey text), so
 * that what only checks (log check, serve, decide, the nginx module, an
 * auditor's copy) needs no access to a key folder kept apart. Written by the
 * first signature; when signing.key is readable too, the two must agree. */
#define SIGNING_PUB "signing.pub"

static enum pb_status read_pub(struct pb_ws *ws, struct pb_vkey *vk, bool *found,
                               struct pb_error *err)
{
	*found = false;
	char *path = pb__path_join(ws->path, SIGNING_PUB);
	if (!path)
		return pb__err(err, PB_ENOMEM, "out of memory");
	char *text = NULL;
	size_t len = 0;
	struct pb_error e2 = { 0 };
	enum pb_status st = pb__read_file(path, 4096, &text, &len, &e2);
	if (st == PB_ENOENT) {
		st = PB_OK;
	} else if (st) {
		*err = e2;
	} else {
		while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			len--;
		if ((st = pb_vkey_parse(text, len, vk, err)) == PB_OK)
			*found = true;
		else
			pb__err_prefix(err, "'%s'", path);
	}
	free(text);
	free(path);
	return st;
}

enum pb_status pb_ws_pin_vkey(struct pb_ws *ws, const char *vkey, struct pb_error *err)
{
	struct pb_vkey vk;
	struct pb_error e2 = { 0 };
	if (pb_vkey_parse(vkey, strlen(vkey), &vk, &e2) != PB_OK)
		return pb__err_field(err, PB_EINVAL, "vkey", "the pinned log key is not a verifier key: %s",
		                     e2.message);
	char *copy = strdup(vkey);
	if (!copy)
		return pb__err(err, PB_ENOMEM, "out of memory");
	free(ws->pinned_vkey);
	ws->pinned_vkey = copy;
	return PB_OK;
}

static bool same_key(const struct pb_vkey *a, const struct pb_vkey *b)
{
	return a->key_id == b->key_id && memcmp(a->pub, b->pub, 32) == 0;
}

/* The log's public key: the pinned one when the caller gave it, else from
 * signing.key when this process can read it, else from signing.pub. found
 * is false when none exists (no key yet). The keys that exist must agree. */
static enum pb_status load_vkey(struct pb_ws *ws, const char *origin, struct pb_vkey *vk,
                                bool *found, struct pb_error *err)
{
	*found = false;
	/* the three places a key can come from, each when present */
	struct pb_vkey pin, pub, own;
	bool have_pin = ws->pinned_vkey != NULL, have_pub = false, have_own = false;
	enum pb_status st = PB_OK;
	if (have_pin && (st = pb_vkey_parse(ws->pinned_vkey, strlen(ws->pinned_vkey), &pin, err)))
		return st;
	if ((st = read_pub(ws, &pub, &have_pub, err)))
		return st;
	uint8_t seed[32];
	struct pb_error seed_err = { 0 };
	enum pb_status seed_st = load_seed(ws, false, seed, &have_own, &seed_err);
	if (seed_st == PB_OK && have_own) {
		struct pb_signer sg;
		st = pb_signer_from_seed(origin, 0x01, seed, &sg, err);
		sodium_memzero(seed, sizeof(seed));
		if (st)
			return st;
		own = sg.vkey;
		pb_signer_release(&sg);
	} else {
		have_own = false;
	}
	/* the pin, else the signing key, else signing.pub; the others must agree */
	const struct pb_vkey *use = have_pin ? &pin : have_own ? &own : have_pub ? &pub : NULL;
	if (!use) {
		if (seed_st != PB_OK)
			*err = seed_err;
		return seed_st;
	}
	if (have_pin && have_own && !same_key(&own, use))
		return pb__err(err, PB_EVERIFY, "the workspace signing key is not the pinned log key");
	if (have_pub && !same_key(&pub, use))
		return pb__err(err, PB_EVERIFY, "'%s' in workspace '%s' is not %s", SIGNING_PUB,
		               ws->path,
		               have_pin ? "the pinned log key" : "the public key of the signing key");
	*vk = *use;
	*found = true;
	return PB_OK;
}

/* Writes signing.pub when it is missing (a signer is at hand). */
static enum pb_status save_pub(struct pb_ws *ws, const struct pb_vkey *vk, struct pb_error *err)
{
	struct pb_vkey old;
	bool have;
	enum pb_status st = read_pub(ws, &old, &have, err);
	if (st || have)
		return st;
	char text[PB_NOTE_NAME_MAX + 80];
	pb_vkey_format(vk, text, sizeof(text) - 1);
	size_t n = strlen(text);
	text[n++] = '\n';
	char *path = pb__path_join(ws->path, SIGNING_PUB);
	if (!path)
		return pb__err(err, PB_ENOMEM, "out of memory");
	st = pb__write_file_atomic(path, text, n, 0600, err);
	free(path);
	return st;
}

enum pb_status pb__audit_signer(struct pb_ws *ws, struct pb_signer *out, struct pb_error *err)
{
	char origin[PB_NOTE_NAME_MAX + 1];
	uint8_t seed[32];
	bool found;
	enum pb_status st = pb__audit_origin(ws, origin, err);
	if (st)
		return st;
	if ((st = load_seed(ws, !(ws->flags & PB_WS_READONLY), seed, &found, err)))
		return st;
	if (!found)
		return pb__err(err, PB_ENOENT, "workspace '%s' has no signing key yet", ws->path);
	st = pb_signer_from_seed(origin, 0x01, seed, out, err);
	sodium_memzero(seed, sizeof(seed));
	if (st == PB_OK && !(ws->flags & PB_WS_READONLY) && (st = save_pub(ws, &out->vkey, err)))
		pb_signer_release(out);
	return st;
}

/* ---- tree state ---------------------------------------------------------- */

struct state {
	bool exists;
	char origin[PB_NOTE_NAME_MAX + 1];
	struct pb_tlog_range range;
	uint8_t root[32];
};

static enum pb_status state_load(struct pb_ws *ws, struct state *s, struct pb_error *err)
{
	memset(s, 0, sizeof(*s));
	pb_tlog_range_init(&s->range);
	pb_tlog_range_root(&s->range, s->root);
	sqlite3_stmt *st;
	enum pb_status rc = prep(ws, "SELECT origin, size, root, range FROM audit_state WHERE id = 1",
	                         &st, err);
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		s->exists = true;
		pb__strlcpy(s->origin, (const char *)sqlite3_column_text(st, 0), sizeof(s->origin));
		s->range.size = (uint64_t)sqlite3_column_int64(st, 1);
		const void *root = sqlite3_column_blob(st, 2);
		const uint8_t *rg = sqlite3_column_blob(st, 3);
		size_t rl = (size_t)sqlite3_column_bytes(st, 3);
		if (!root || sqlite3_column_bytes(st, 2) != 32 || rl % 33 != 0 || rl / 33 > 64) {
			rc = pb__err(err, PB_EVERIFY, "audit_state: stored tree head is malformed");
		} else {
			memcpy(s->root, root, 32);
			s->range.n = rl / 33;
			for (size_t i = 0; i < s->range.n; i++) {
				s->range.level[i] = rg[i * 33];
				memcpy(s->range.hash[i], rg + i * 33 + 1, 32);
			}
		}
	} else if (r != SQLITE_DONE) {
		rc = pb__db_err(ws->db, err, "cannot read the audit log");
	}
	sqlite3_finalize(st);
	return rc;
}

static enum pb_status state_save(struct pb_ws *ws, const struct state *s, struct pb_error *err)
{
	uint8_t rg[64 * 33];
	for (size_t i = 0; i < s->range.n; i++) {
		rg[i * 33] = s->range.level[i];
		memcpy(rg + i * 33 + 1, s->range.hash[i], 32);
	}
	sqlite3_stmt *st;
	enum pb_status rc = prep(ws,
	                         "INSERT INTO audit_state(id, origin, size, root, range) "
	                         "VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE SET "
	                         "size = excluded.size, root = excluded.root, range = excluded.range",
	                         &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, s->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)s->range.size);
	sqlite3_bind_blob(st, 3, s->root, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, rg, (int)(s->range.n * 33), SQLITE_STATIC);
	return step_done(ws, st, "cannot update the audit log head", err);
}

enum pb_status pb__audit_size(struct pb_ws *ws, uint64_t *size, struct pb_error *err)
{
	struct state s;
	enum pb_status st = state_load(ws, &s, err);
	*size = s.range.size;
	return st;
}

enum pb_status pb__audit_hash(void *ctx, unsigned level, uint64_t index, uint8_t out[32],
                              struct pb_error *err)
{
	struct pb_ws *ws = ctx;
	sqlite3_stmt *st;
	enum pb_status rc;
	if (level == 0)
		rc = prep(ws, "SELECT leaf_hash FROM audit_entry WHERE idx = ?1", &st, err);
	else
		rc = prep(ws, "SELECT hash FROM audit_node WHERE level = ?2 AND idx = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	if (level)
		sqlite3_bind_int(st, 2, (int)level);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32)
		memcpy(out, sqlite3_column_blob(st, 0), 32);
	else if (r == SQLITE_ROW)
		rc = pb__err(err, PB_EVERIFY, "stored hash at level %u index %llu is not 32 bytes",
		             level, (unsigned long long)index);
	else if (r == SQLITE_DONE)
		rc = pb__err(err, PB_EVERIFY, "stored hash at level %u index %llu is missing", level,
		             (unsigned long long)index);
	else
		rc = pb__db_err(ws->db, err, "cannot read the audit log");
	sqlite3_finalize(st);
	return rc;
}

/* ---- append ---------------------------------------------------------------- */

static bool action_valid(const char *a)
{
	size_t n = strlen(a);
	if (n == 0 || n > 64 || a[0] == '.' || a[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9') || a[i] == '.' ||
		      a[i] == '_' || a[i] == '-'))
			return false;
	return true;
}

/* ---- the workspace's mode: signed or unsigned actors ------------------------ */

/* probity.conf's choice, which the log's first entry records: anything but
 * "unsigned" (or no setting, a workspace made before signed actors) signs. */
static bool conf_signed(const struct pb_ws *ws)
{
	const char *a = pb_ws_setting(ws, "actors");
	return a && strcmp(a, "unsigned") != 0;
}

bool pb_ws_actors_signed(struct pb_ws *ws)
{
	if (ws->actors)
		return ws->actors == 2;
	sqlite3_stmt *st = NULL;
	if (prep(ws, "SELECT data FROM audit_entry WHERE idx = 0", &st, NULL))
		return true; /* cannot tell: the strict answer */
	int r = sqlite3_step(st);
	bool is_signed = true;
	if (r == SQLITE_DONE) {
		is_signed = conf_signed(ws); /* no entry yet: not fixed, not cached */
	} else if (r == SQLITE_ROW) {
		json_t *e = json_loadb(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		                       0, NULL);
		json_t *a = json_object_get(e, "actors");
		/* a first entry without the member predates signed actors */
		is_signed = a && !(json_is_string(a) && !strcmp(json_string_value(a), "unsigned"));
		if (e)
			ws->actors = is_signed ? 2 : 1;
		json_decref(e);
	}
	sqlite3_finalize(st);
	return is_signed;
}

struct pb__audit_batch {
	struct pb_ws *ws;
	struct state s;
	sqlite3_stmt *ins_entry;
	sqlite3_stmt *ins_node;
	uint64_t start;
};

static void batch_free(struct pb__audit_batch *b)
{
	sqlite3_finalize(b->ins_entry);
	sqlite3_finalize(b->ins_node);
	free(b);
}

enum pb_status pb__audit_batch_begin(struct pb_ws *ws, struct pb__audit_batch **out,
                                     struct pb_error *err)
{
	*out = NULL;
	if (sqlite3_get_autocommit(ws->db))
		return pb__err(err, PB_ESTATE,
		               "audit append must run inside the caller's transaction (pb__ws_begin)");
	struct pb__audit_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return pb__err(err, PB_ENOMEM, "out of memory");
	b->ws = ws;
	enum pb_status rc = state_load(ws, &b->s, err);
	if (!rc && !b->s.exists)
		rc = pb__audit_origin(ws, b->s.origin, err);
	if (!rc)
		rc = prep(ws,
		          "INSERT INTO audit_entry(idx, data, leaf_hash, at, actor, action, case_id, "
		          "subject) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		          &b->ins_entry, err);
	if (!rc)
		rc = prep(ws, "INSERT INTO audit_node(level, idx, hash) VALUES (?1, ?2, ?3)",
		          &b->ins_node, err);
	if (rc) {
		batch_free(b);
		return rc;
	}
	b->start = b->s.range.size;
	*out = b;
	return PB_OK;
}

enum pb_status pb__audit_batch_end(struct pb__audit_batch *b, struct pb_error *err)
{
	enum pb_status rc = PB_OK;
	if (!b)
		return PB_OK;
	if (b->s.range.size != b->start)
		rc = state_save(b->ws, &b->s, err);
	batch_free(b);
	return rc;
}

void pb__audit_batch_abort(struct pb__audit_batch *b)
{
	if (b)
		batch_free(b);
}

static bool step_reset(sqlite3_stmt *st)
{
	int r = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r == SQLITE_DONE;
}

enum pb_status pb__audit_batch_append(struct pb__audit_batch *b, const char *actor,
                                      const char *action, int64_t case_id, const char *subject,
                                      const char *details_json, uint64_t *index_out,
                                      struct pb_error *err)
{
	struct pb_ws *ws = b->ws;
	enum pb_status rc = PB_OK;
	json_t *entry = NULL, *details = NULL;
	char *text = NULL;
	if (!actor || !*actor || strlen(actor) > PB_USER_NAME_MAX)
		return pb__err(err, PB_EINVAL, "audit entry needs an actor");
	if (!action || !action_valid(action))
		return pb__err(err, PB_EINVAL,
		               "audit action '%s' must be 1-64 characters of a-z, 0-9, '.', '_', '-'",
		               action ? action : "");
	if (subject && strlen(subject) > 1024)
		return pb__err(err, PB_ELIMIT, "audit subject is longer than 1024 bytes");
	if (details_json) {
		size_t dl = strlen(details_json);
		if (dl > PB_AUDIT_DETAILS_MAX)
			return pb__err(err, PB_ELIMIT, "audit details are larger than %d bytes",
			               PB_AUDIT_DETAILS_MAX);
		json_error_t je;
		details = json_loadb(details_json, dl, JSON_REJECT_DUPLICATES, &je);
		if (!details || !json_is_object(details)) {
			json_decref(details);
			return pb__err(err, PB_EINVAL, "audit details are not a JSON object: %s",
			               details ? "not an object" : je.text);
		}
	}
	struct state *s = &b->s;
	uint64_t index = s->range.size;
	json_t *sig = NULL;
	if ((rc = pb__sign_entry(ws, index, s->root, actor, action, case_id, subject, details, &sig,
	                         err))) {
		json_decref(details);
		return rc;
	}
	char now[24];
	pb_time_format(pb_now(), now);
	entry = json_object();
	if (!entry || json_object_set_new(entry, "v", json_integer(1)) ||
	    json_object_set_new(entry, "index", json_integer((json_int_t)index)) ||
	    json_object_set_new(entry, "time", json_string(now)) ||
	    json_object_set_new(entry, "actor", json_string(actor)) ||
	    json_object_set_new(entry, "action", json_string(action)) ||
	    (case_id > 0 && json_object_set_new(entry, "case", json_integer(case_id))) ||
	    (subject && json_object_set_new(entry, "subject", json_string(subject))) ||
	    (details && json_object_set(entry, "details", details)) ||
	    (sig && json_object_set(entry, "sig", sig)) ||
	    (index == 0 && json_object_set_new(entry, "actors",
	                                       json_string(conf_signed(ws) ? "signed" : "unsigned")))) {
		rc = pb__err(err, PB_EINVAL, "cannot build the audit entry (invalid UTF-8 in a field?)");
		goto out;
	}
	text = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	size_t len = strlen(text);
	if (len > PB_TLOG_ENTRY_MAX) {
		rc = pb__err(err, PB_ELIMIT, "audit entry is %zu bytes; the limit is %d", len,
		             PB_TLOG_ENTRY_MAX);
		goto out;
	}
	uint8_t leaf[32];
	pb_tlog_leaf_hash(text, len, leaf);
	sqlite3_stmt *st = b->ins_entry;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	sqlite3_bind_blob(st, 2, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, leaf, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, action, -1, SQLITE_STATIC);
	if (case_id > 0)
		sqlite3_bind_int64(st, 7, case_id);
	if (subject)
		sqlite3_bind_text(st, 8, subject, -1, SQLITE_STATIC);
	if (!step_reset(st)) {
		rc = pb__db_err(ws->db, err, "cannot append to the audit log");
		goto out;
	}
	/* merge like a binary counter; every merge is a new perfect subtree.
	 * The in-memory range changes only once all rows are written. */
	struct pb_tlog_range r = s->range;
	uint8_t h[32];
	memcpy(h, leaf, 32);
	unsigned level = 0;
	while (r.n > 0 && r.level[r.n - 1] == level) {
		pb_tlog_node_hash(r.hash[r.n - 1], h, h);
		r.n--;
		level++;
		sqlite3_bind_int(b->ins_node, 1, (int)level);
		sqlite3_bind_int64(b->ins_node, 2, (sqlite3_int64)(index >> level));
		sqlite3_bind_blob(b->ins_node, 3, h, 32, SQLITE_STATIC);
		if (!step_reset(b->ins_node)) {
			rc = pb__db_err(ws->db, err, "cannot append to the audit log");
			goto out;
		}
	}
	r.level[r.n] = (uint8_t)level;
	memcpy(r.hash[r.n], h, 32);
	r.n++;
	r.size++;
	s->range = r;
	pb_tlog_range_root(&s->range, s->root);
	if (index_out)
		*index_out = index;
out:
	free(text);
	json_decref(entry);
	json_decref(details);
	json_decref(sig);
	return rc;
}

enum pb_status pb__audit_append(struct pb_ws *ws, const char *actor, const char *action,
                                int64_t case_id, const char *subject, const char *details_json,
                                uint64_t *index_out, struct pb_error *err)
{
	struct pb__audit_batch *b;
	enum pb_status rc = pb__audit_batch_begin(ws, &b, err);
	if (rc)
		return rc;
	rc = pb__audit_batch_append(b, actor, action, case_id, subject, details_json, index_out, err);
	if (rc) {
		pb__audit_batch_abort(b);
		return rc;
	}
	return pb__audit_batch_end(b, err);
}

/* ---- listing ---------------------------------------------------------------- */

enum pb_status pb_audit_list(struct pb_ws *ws, int64_t case_id, uint64_t from, uint64_t count,
                             bool (*fn)(void *ctx, const struct pb_audit_entry *e), void *ctx,
                             struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = prep(ws,
	                         "SELECT idx, at, actor, action, case_id, subject, data "
	                         "FROM audit_entry WHERE (?1 = 0 OR case_id = ?1) AND idx >= ?2 "
	                         "ORDER BY idx LIMIT ?3",
	                         &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)from);
	sqlite3_bind_int64(st, 3, count ? (sqlite3_int64)count : -1);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct pb_audit_entry e = {
			.index = (uint64_t)sqlite3_column_int64(st, 0),
			.time = (const char *)sqlite3_column_text(st, 1),
			.actor = (const char *)sqlite3_column_text(st, 2),
			.action = (const char *)sqlite3_column_text(st, 3),
			.case_id = sqlite3_column_int64(st, 4),
			.subject = (const char *)sqlite3_column_text(st, 5),
		};
		e.data = pb_str_of(sqlite3_column_blob(st, 6), (size_t)sqlite3_column_bytes(st, 6));
		if (!fn(ctx, &e))
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read the audit log");
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_audit_entry_data(struct pb_ws *ws, uint64_t index, char **data, size_t *len,
                                   struct pb_error *err)
{
	sqlite3_stmt *st;
	*data = NULL;
	enum pb_status rc = prep(ws, "SELECT data FROM audit_entry WHERE idx = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		*data = pb__strndup(sqlite3_column_blob(st, 0), *len);
		if (!*data)
			rc = pb__err(err, PB_ENOMEM, "out of memory");
	} else if (r == SQLITE_DONE) {
		uint64_t size = 0;
		pb__audit_size(ws, &size, NULL);
		rc = pb__err(err, PB_ENOENT, "no entry %llu: the log has %llu entries",
		             (unsigned long long)index, (unsigned long long)size);
	} else {
		rc = pb__db_err(ws->db, err, "cannot read the audit log");
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- checkpoints -------------------------------------------------------------- */

struct ckpt {
	bool found;
	uint64_t size;
	uint8_t root[32];
	char *note;
};

/* The signed checkpoint of size (or the latest when size == 0 && latest). */
static enum pb_status ckpt_get(struct pb_ws *ws, uint64_t size, bool latest, struct ckpt *c,
                               struct pb_error *err)
{
	memset(c, 0, sizeof(*c));
	sqlite3_stmt *st;
	enum pb_status rc =
		prep(ws,
		     latest ? "SELECT size, root, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1"
		            : "SELECT size, root, note FROM audit_checkpoint WHERE size = ?1",
		     &st, err);
	if (rc)
		return rc;
	if (!latest)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		c->found = true;
		c->size = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == 32)
			memcpy(c->root, sqlite3_column_blob(st, 1), 32);
		const char *n = (const char *)sqlite3_column_text(st, 2);
		c->note = pb__strndup(n, strlen(n));
		if (!c->note)
			rc = pb__err(err, PB_ENOMEM, "out of memory");
	} else if (r != SQLITE_DONE) {
		rc = pb__db_err(ws->db, err, "cannot read checkpoints");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The root of the first size entries of the stored tree. */
static enum pb_status root_at(struct pb_ws *ws, uint64_t size, uint8_t out[32],
                              struct pb_error *err)
{
	if (size == 0) {
		struct pb_tlog_range r;
		pb_tlog_range_init(&r);
		pb_tlog_range_root(&r, out);
		return PB_OK;
	}
	return pb_tlog_subtree_hash(0, size, pb__audit_hash, ws, out, err);
}

/* Public entry point: pb_audit_checkpoint in lib/auth/auth.c, which checks
 * the actor's role around this (the log knows entries, not users). */
enum pb_status pb__audit_checkpoint_sign(struct pb_ws *ws, const char *actor, bool actor_signs,
                                         char **note_out, struct pb_error *err)
{
	char *actor_sig = NULL;
	*note_out = NULL;
	if (sqlite3_get_autocommit(ws->db))
		return pb__err(err, PB_ESTATE, "a checkpoint is signed inside the caller's transaction");
	struct pb_signer sg;
	struct ckpt last = { 0 };
	memset(&sg, 0, sizeof(sg));
	enum pb_status rc;
	struct state s;
	if ((rc = state_load(ws, &s, err)))
		goto out;
	if (!s.exists) {
		if ((rc = pb__audit_origin(ws, s.origin, err)))
			goto out;
		/* fix the origin now: the key name is signed into every checkpoint */
		if ((rc = state_save(ws, &s, err)))
			goto out;
	}
	if ((rc = pb__audit_signer(ws, &sg, err)))
		goto out;
	if ((rc = ckpt_get(ws, 0, true, &last, err)))
		goto out;
	if (last.found) {
		if (last.size > s.range.size) {
			rc = pb__err(err, PB_EVERIFY,
			             "the log has %llu entries but a checkpoint of size %llu was signed: "
			             "entries were removed",
			             (unsigned long long)s.range.size, (unsigned long long)last.size);
			goto out;
		}
		uint8_t r[32];
		if ((rc = root_at(ws, last.size, r, err)))
			goto out;
		if (memcmp(r, last.root, 32) != 0) {
			rc = pb__err(err, PB_EVERIFY,
			             "the stored log is not consistent with the checkpoint of size %llu "
			             "signed earlier; refusing to sign (run 'probity log check')",
			             (unsigned long long)last.size);
			goto out;
		}
		if (last.size == s.range.size) {
			*note_out = last.note;
			last.note = NULL;
			goto out;
		}
	}
	struct pb_checkpoint c = { .size = s.range.size };
	pb__strlcpy(c.origin, s.origin, sizeof(c.origin));
	memcpy(c.root, s.root, 32);
	char text[PB_NOTE_NAME_MAX + 128], line[PB_NOTE_NAME_MAX + 160];
	size_t tl = pb_checkpoint_format(&c, text, sizeof(text));
	if ((rc = pb_note_signature_line(&sg, text, tl, 0, line, sizeof(line), err)))
		goto out;
	if (actor_signs && actor && pb_ws_actors_signed(ws)) {
		/* the actor's own signature over what it attests (docs/identity.md) */
		json_t *d = pb__checkpoint_details(c.origin, c.size, c.root), *sig = NULL;
		rc = d ? pb__sign_entry(ws, c.size, c.root, actor, "log.checkpoint", 0, NULL, d, &sig,
		                        err)
		       : pb__err(err, PB_ENOMEM, "out of memory");
		json_decref(d);
		if (!rc && sig && !(actor_sig = json_dumps(sig, JSON_COMPACT | JSON_SORT_KEYS)))
			rc = pb__err(err, PB_ENOMEM, "out of memory");
		json_decref(sig);
		if (rc)
			goto out;
	}
	struct pb_buf note;
	pb_buf_init(&note, sizeof(text) + sizeof(line) + 4);
	if (pb_buf_printf(&note, "%s\n%s", text, line)) {
		pb_buf_release(&note);
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	sqlite3_stmt *st;
	if ((rc = prep(ws,
	               "INSERT INTO audit_checkpoint(size, root, note, signed_at, signed_by, "
	               "actor_sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	               &st, err))) {
		pb_buf_release(&note);
		goto out;
	}
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)c.size);
	sqlite3_bind_blob(st, 2, c.root, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, note.data, (int)note.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, actor ? actor : "", -1, SQLITE_STATIC);
	if (actor_sig)
		sqlite3_bind_text(st, 6, actor_sig, -1, SQLITE_STATIC);
	if ((rc = step_done(ws, st, "cannot store the checkpoint", err))) {
		pb_buf_release(&note);
		goto out;
	}
	*note_out = note.data;
out:
	free(actor_sig);
	free(last.note);
	pb_signer_release(&sg);
	return rc;
}

enum pb_status pb_audit_status(struct pb_ws *ws, struct pb_audit_status *out,
                               struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	struct state s;
	enum pb_status rc = state_load(ws, &s, err);
	if (rc)
		return rc;
	out->size = s.range.size;
	memcpy(out->root, s.root, 32);
	if (s.exists)
		pb__strlcpy(out->origin, s.origin, sizeof(out->origin));
	else if ((rc = pb__audit_origin(ws, out->origin, err)))
		return rc;
	struct pb_vkey vk;
	bool found;
	if ((rc = load_vkey(ws, out->origin, &vk, &found, err)))
		return rc;
	if (found)
		pb_vkey_format(&vk, out->vkey, sizeof(out->vkey));
	sqlite3_stmt *st;
	if ((rc = prep(ws, "SELECT count(*), coalesce(max(size), 0) FROM audit_checkpoint", &st, err)))
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->checkpoints = (uint64_t)sqlite3_column_int64(st, 0);
		out->checkpoint_size = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return PB_OK;
}

/* ---- proofs ------------------------------------------------------------------ */

static enum pb_status need_ckpt(struct pb_ws *ws, uint64_t size, struct ckpt *c,
                                struct pb_error *err)
{
	enum pb_status rc = ckpt_get(ws, size, size == 0, c, err);
	if (rc)
		return rc;
	if (!c->found) {
		if (size == 0)
			return pb__err(err, PB_ENOENT,
			               "no checkpoint has been signed yet; run 'probity log checkpoint'");
		return pb__err(err, PB_ENOENT,
		               "no checkpoint of size %llu was signed; proofs are made against signed "
		               "checkpoints ('probity log checkpoint', 'probity log status')",
		               (unsigned long long)size);
	}
	return PB_OK;
}

static enum pb_status proof_doc(struct pb_buf *b, const char *head, const uint8_t (*proof)[32],
                                size_t n, const char *note)
{
	enum pb_status rc = pb_buf_adds(b, head);
	for (size_t i = 0; !rc && i < n; i++) {
		char b64[PB_B64_LEN(32) + 1];
		pb__b64_encode(proof[i], 32, b64);
		rc = pb_buf_printf(b, "%s\n", b64);
	}
	if (!rc)
		rc = pb_buf_printf(b, "\n%s", note);
	return rc;
}

/* The proof document (head, proof lines, checkpoint note) as a new heap text. */
static enum pb_status proof_text(const char *head, const uint8_t (*proof)[32], size_t np,
                                 const char *note, char **doc_out, struct pb_error *err)
{
	struct pb_buf b;
	pb_buf_init(&b, PB_NOTE_MAX_SIZE + 8192);
	if (proof_doc(&b, head, proof, np, note)) {
		pb_buf_release(&b);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	*doc_out = b.data;
	return PB_OK;
}

enum pb_status pb_audit_prove_inclusion(struct pb_ws *ws, uint64_t index, uint64_t size,
                                        char **doc_out, struct pb_error *err)
{
	*doc_out = NULL;
	struct ckpt c;
	enum pb_status rc = need_ckpt(ws, size, &c, err);
	if (rc)
		goto out;
	if (index >= c.size) {
		rc = pb__err(err, PB_EINVAL, "index %llu is beyond the checkpoint of size %llu",
		             (unsigned long long)index, (unsigned long long)c.size);
		goto out;
	}
	uint8_t proof[PB_TLOG_MAX_PROOF][32];
	size_t np;
	if ((rc = pb_tlog_prove_inclusion(index, c.size, pb__audit_hash, ws, proof, &np, err)))
		goto out;
	/* never hand out a proof that does not verify */
	uint8_t leaf[32];
	if ((rc = pb__audit_hash(ws, 0, index, leaf, err)) ||
	    (rc = pb_tlog_verify_inclusion(index, c.size, leaf, (const uint8_t(*)[32])proof, np,
	                                   c.root, err)))
		goto out;
	char head[96];
	pb__snprintf(head, sizeof(head), "c2sp.org/tlog-proof@v1\nindex %llu\n",
	             (unsigned long long)index);
	rc = proof_text(head, (const uint8_t(*)[32])proof, np, c.note, doc_out, err);
out:
	free(c.note);
	return rc;
}

enum pb_status pb_audit_prove_consistency(struct pb_ws *ws, uint64_t old_size, uint64_t size,
                                          char **doc_out, struct pb_error *err)
{
	*doc_out = NULL;
	if (size > 0 && old_size > size)
		return pb__err(err, PB_EINVAL,
		               "old size %llu is larger than new size %llu: a consistency proof shows "
		               "that a later tree extends an earlier one (OLD <= NEW)",
		               (unsigned long long)old_size, (unsigned long long)size);
	struct ckpt c;
	enum pb_status rc = need_ckpt(ws, size, &c, err);
	if (rc)
		goto out;
	if (old_size > c.size) {
		rc = pb__err(err, PB_EINVAL, "old size %llu is beyond the checkpoint of size %llu",
		             (unsigned long long)old_size, (unsigned long long)c.size);
		goto out;
	}
	uint8_t proof[PB_TLOG_MAX_PROOF][32];
	size_t np = 0;
	if (old_size > 0 && old_size < c.size) {
		if ((rc = pb_tlog_prove_consistency(old_size, c.size, pb__audit_hash, ws, proof, &np,
		                                    err)))
			goto out;
		uint8_t r1[32];
		if ((rc = root_at(ws, old_size, r1, err)) ||
		    (rc = pb_tlog_verify_consistency(old_size, c.size, (const uint8_t(*)[32])proof, np,
		                                     r1, c.root, err)))
			goto out;
	}
	char head[64];
	pb__snprintf(head, sizeof(head), "old %llu\n", (unsigned long long)old_size);
	rc = proof_text(head, (const uint8_t(*)[32])proof, np, c.note, doc_out, err);
out:
	free(c.note);
	return rc;
}

/* ---- export --------------------------------------------------------------------- */

struct export_ctx {
	struct pb_ws *ws;
	sqlite3_stmt *st;
};

static enum pb_status export_next(void *ctx, uint64_t index, struct pb_str *e,
                                  struct pb_error *err)
{
	struct export_ctx *x = ctx;
	int r = sqlite3_step(x->st);
	if (r != SQLITE_ROW)
		return r == SQLITE_DONE
		               ? pb__err(err, PB_EVERIFY, "audit_entry %llu is missing",
		                         (unsigned long long)index)
		               : pb__db_err(x->ws->db, err, "cannot read the audit log");
	if ((uint64_t)sqlite3_column_int64(x->st, 0) != index)
		return pb__err(err, PB_EVERIFY, "audit_entry %llu is missing", (unsigned long long)index);
	*e = pb_str_of(sqlite3_column_blob(x->st, 1), (size_t)sqlite3_column_bytes(x->st, 1));
	return PB_OK;
}

/* checkpoint.actor: the actor's signature of the checkpoint of size, when
 * it carries one ({"actor":U,"sig":{...}}), else none (an older one goes). */
static enum pb_status export_actor_sig(struct pb_ws *ws, const char *dir, uint64_t size,
                                       struct pb_error *err)
{
	char *path = pb__path_join(dir, "checkpoint.actor"), *text = NULL;
	sqlite3_stmt *st = NULL;
	json_t *j = NULL;
	enum pb_status rc = path ? prep(ws,
	                                "SELECT signed_by, actor_sig FROM audit_checkpoint"
	                                " WHERE size = ?1 AND actor_sig IS NOT NULL",
	                                &st, err)
	                         : pb__err(err, PB_ENOMEM, "out of memory");
	if (rc)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	int q = sqlite3_step(st);
	if (q == SQLITE_DONE) {
		if (unlink(path) != 0 && errno != ENOENT)
			rc = pb__err(err, pb__errno_status(errno), "cannot remove '%s': %s", path,
			             pb__errno_text(errno));
		goto out;
	}
	if (q != SQLITE_ROW) {
		rc = pb__db_err(ws->db, err, "cannot read checkpoints");
		goto out;
	}
	json_error_t je;
	j = json_pack("{s:s,s:o}", "actor", (const char *)sqlite3_column_text(st, 0), "sig",
	              json_loads((const char *)sqlite3_column_text(st, 1), 0, &je));
	if (!j || !(text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
		rc = pb__err(err, PB_EVERIFY, "audit_checkpoint %llu: its actor_sig is not JSON",
		             (unsigned long long)size);
		goto out;
	}
	size_t tl = strlen(text);
	rc = pb__write_file_atomic(path, text, tl, 0600, err);
out:
	if (st)
		sqlite3_finalize(st);
	json_decref(j);
	free(text);
	free(path);
	return rc;
}

enum pb_status pb_audit_export(struct pb_ws *ws, const char *dir, uint64_t size,
                               struct pb_checkpoint *exported, struct pb_error *err)
{
	struct ckpt c;
	struct export_ctx x = { ws, NULL };
	char *cpath = NULL, *old = NULL;
	struct pb_signer sg;
	memset(&sg, 0, sizeof(sg));
	enum pb_status rc = need_ckpt(ws, size, &c, err);
	if (rc)
		goto out;
	if ((rc = pb__audit_signer(ws, &sg, err)))
		goto out;
	struct pb_checkpoint cp;
	if ((rc = pb_checkpoint_open(c.note, strlen(c.note), &sg.vkey, 1, NULL, &cp, err))) {
		pb__err_prefix(err, "stored checkpoint of size %llu", (unsigned long long)c.size);
		goto out;
	}
	cpath = pb__path_join(dir, "checkpoint");
	if (!cpath) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	/* an earlier export in dir: same log, not newer */
	size_t ol;
	struct pb_error e2 = { 0 };
	if (pb__read_file(cpath, PB_NOTE_MAX_SIZE, &old, &ol, &e2) == PB_OK) {
		struct pb_checkpoint prev;
		if (pb_checkpoint_open(old, ol, &sg.vkey, 1, cp.origin, &prev, &e2) != PB_OK) {
			rc = pb__err(err, PB_EEXIST,
			             "'%s' holds a checkpoint that is not this log's (%s); export into an "
			             "empty folder",
			             dir, e2.message);
			goto out;
		}
		if (prev.size > cp.size) {
			rc = pb__err(err, PB_ESTATE,
			             "'%s' holds a newer export (size %llu) than the checkpoint asked for "
			             "(size %llu); refusing to roll it back",
			             dir, (unsigned long long)prev.size, (unsigned long long)cp.size);
			goto out;
		}
	} else {
		DIR *d = opendir(dir);
		if (d) {
			struct dirent *de;
			bool empty = true;
			while ((de = readdir(d)) != NULL)
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					empty = false;
			closedir(d);
			if (!empty) {
				rc = pb__err(err, PB_EEXIST,
				             "'%s' is not empty and holds no export of this log; export into "
				             "an empty or new folder",
				             dir);
				goto out;
			}
		}
	}
	if ((rc = prep(ws, "SELECT idx, data FROM audit_entry WHERE idx < ?1 ORDER BY idx", &x.st,
	               err)))
		goto out;
	sqlite3_bind_int64(x.st, 1, (sqlite3_int64)cp.size);
	uint8_t root[32];
	if ((rc = pb_tlog_write_tiles(dir, cp.size, export_next, &x, root, err)))
		goto out;
	if (memcmp(root, cp.root, 32) != 0) {
		rc = pb__err(err, PB_EVERIFY,
		             "the stored entries do not hash to the signed root of size %llu; the "
		             "workspace was altered (run 'probity log check')",
		             (unsigned long long)cp.size);
		goto out;
	}
	char vk[PB_NOTE_NAME_MAX + 80];
	pb_vkey_format(&sg.vkey, vk, sizeof(vk));
	size_t vl = strlen(vk);
	vk[vl++] = '\n';
	char *vpath = pb__path_join(dir, "vkey");
	rc = vpath ? pb__write_file_atomic(vpath, vk, vl, 0600, err)
	           : pb__err(err, PB_ENOMEM, "out of memory");
	free(vpath);
	if (rc || (rc = export_actor_sig(ws, dir, cp.size, err)))
		goto out;
	/* the checkpoint last: it is what makes the new tiles part of the export */
	if ((rc = pb__write_file_atomic(cpath, c.note, strlen(c.note), 0600, err)))
		goto out;
	if (exported)
		*exported = cp;
out:
	if (x.st)
		sqlite3_finalize(x.st);
	pb_signer_release(&sg);
	free(c.note);
	free(cpath);
	free(old);
	return rc;
}

/* ---- local check -------------------------------------------------------------------- */

static enum pb_status blame(char *bad, size_t cap, struct pb_error *err, const char *obj,
                            const char *msg)
{
	if (bad)
		pb__strlcpy(bad, obj, cap);
	return pb__err(err, PB_EVERIFY, "%s: %s", obj, msg);
}

/* pb_audit_check, step 1: every entry (index, leaf hash, form) and the
 * tree rebuilt from them against the stored head. */
static enum pb_status check_entries(struct pb_ws *ws, const struct state *s, char *bad_object,
                                    size_t cap, struct pb_error *err)
{
	sqlite3_stmt *st = NULL;
	char obj[128];
	enum pb_status rc;
	int q;
	struct pb_tlog_range r;
	pb_tlog_range_init(&r);
	if ((rc = prep(ws, "SELECT idx, data, leaf_hash FROM audit_entry ORDER BY idx", &st, err)))
		return rc;
	uint64_t expect = 0;
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
		pb__snprintf(obj, sizeof(obj), "audit_entry %llu", (unsigned long long)idx);
		if (idx != expect) {
			pb__snprintf(obj, sizeof(obj), "audit_entry %llu", (unsigned long long)expect);
			rc = blame(bad_object, cap, err, obj, "missing");
			goto out;
		}
		uint8_t h[32];
		struct pb_str d = { sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1) };
		pb_tlog_leaf_hash(d.ptr, d.len, h);
		if (sqlite3_column_bytes(st, 2) != 32 || memcmp(h, sqlite3_column_blob(st, 2), 32)) {
			rc = blame(bad_object, cap, err, obj, "stored leaf hash does not match the entry");
			goto out;
		}
		struct pb_error e2 = { 0 };
		if (pb_audit_entry_check(NULL, idx, &d, &e2) != PB_OK) {
			rc = blame(bad_object, cap, err, obj, e2.message);
			goto out;
		}
		pb_tlog_range_append(&r, h);
		expect++;
	}
	if (q != SQLITE_DONE) {
		rc = pb__db_err(ws->db, err, "cannot read the audit log");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (expect != s->range.size) {
		rc = blame(bad_object, cap, err, "audit_state",
		           "tree size does not match the number of entries");
		goto out;
	}
	uint8_t root[32];
	pb_tlog_range_root(&r, root);
	if (memcmp(root, s->root, 32) != 0 || r.n != s->range.n ||
	    memcmp(r.hash, s->range.hash, r.n * 32) != 0) {
		rc = blame(bad_object, cap, err, "audit_state", "tree head does not match the entries");
		goto out;
	}
	rc = PB_OK;
out:
	if (st)
		sqlite3_finalize(st);
	return rc;
}

/* Step 2: every stored subtree hash against its two children. */
static enum pb_status check_nodes(struct pb_ws *ws, const struct state *s, char *bad_object,
                                  size_t cap, struct pb_error *err)
{
	sqlite3_stmt *st = NULL;
	char obj[128];
	enum pb_status rc;
	int q;
	if ((rc = prep(ws, "SELECT level, idx, hash FROM audit_node ORDER BY level, idx", &st, err)))
		return rc;
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned level = (unsigned)sqlite3_column_int(st, 0);
		uint64_t idx = (uint64_t)sqlite3_column_int64(st, 1);
		pb__snprintf(obj, sizeof(obj), "audit_node level %u index %llu", level,
		             (unsigned long long)idx);
		uint8_t l[32], rr[32], h[32];
		if (level < 1 || level > 63 || ((idx + 1) << level) > s->range.size) {
			rc = blame(bad_object, cap, err, obj, "not a subtree of this tree");
			goto out;
		}
		if ((rc = pb__audit_hash(ws, level - 1, 2 * idx, l, err)) ||
		    (rc = pb__audit_hash(ws, level - 1, 2 * idx + 1, rr, err))) {
			pb__err_prefix(err, "%s", obj);
			if (bad_object)
				pb__strlcpy(bad_object, obj, cap);
			goto out;
		}
		pb_tlog_node_hash(l, rr, h);
		if (sqlite3_column_bytes(st, 2) != 32 || memcmp(h, sqlite3_column_blob(st, 2), 32)) {
			rc = blame(bad_object, cap, err, obj, "stored hash does not match its children");
			goto out;
		}
	}
	rc = q == SQLITE_DONE ? PB_OK : pb__db_err(ws->db, err, "cannot read the audit log");
out:
	if (st)
		sqlite3_finalize(st);
	return rc;
}

/* Step 3: every signed checkpoint: our signature, and the root at its size. */
static enum pb_status check_checkpoints(struct pb_ws *ws, const struct state *s,
                                        char *bad_object, size_t cap, struct pb_error *err)
{
	sqlite3_stmt *st = NULL;
	char obj[128];
	enum pb_status rc;
	int q;
	struct pb_vkey vk;
	memset(&vk, 0, sizeof(vk));
	bool have_key = false;
	if ((rc = load_vkey(ws, s->exists ? s->origin : "x", &vk, &have_key, err)))
		goto out;
	bool actors_signed = pb_ws_actors_signed(ws);
	if ((rc = prep(ws,
	               "SELECT c.size, c.root, c.note, c.signed_by, c.actor_sig,"
	               " json_extract(CAST(e.data AS TEXT), '$.action') IN ('plan.apply',"
	               "  'plan.rollback', 'plan.policy')"
	               " AND json_extract(CAST(e.data AS TEXT), '$.actor') IS c.signed_by"
	               " FROM audit_checkpoint c LEFT JOIN audit_entry e ON e.idx = c.size - 1"
	               " ORDER BY c.size",
	               &st, err)))
		goto out;
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t size = (uint64_t)sqlite3_column_int64(st, 0);
		pb__snprintf(obj, sizeof(obj), "audit_checkpoint %llu", (unsigned long long)size);
		const char *note = (const char *)sqlite3_column_text(st, 2);
		struct pb_checkpoint cp;
		struct pb_error e2 = { 0 };
		if (!have_key) {
			rc = blame(bad_object, cap, err, obj, "signed, but the signing key is missing");
			goto out;
		}
		if (pb_checkpoint_open(note, strlen(note), &vk, 1, s->origin, &cp, &e2) != PB_OK) {
			rc = blame(bad_object, cap, err, obj, e2.message);
			goto out;
		}
		uint8_t rt[32];
		if (cp.size != size || sqlite3_column_bytes(st, 1) != 32 ||
		    memcmp(cp.root, sqlite3_column_blob(st, 1), 32) != 0) {
			rc = blame(bad_object, cap, err, obj, "stored size or root differs from the note");
			goto out;
		}
		if (size > s->range.size) {
			rc = blame(bad_object, cap, err, obj, "larger than the log: entries were removed");
			goto out;
		}
		if ((rc = root_at(ws, size, rt, err)))
			goto out;
		if (memcmp(rt, cp.root, 32) != 0) {
			rc = blame(bad_object, cap, err, obj,
			           "the log is not consistent with this signed checkpoint");
			goto out;
		}
		if (!actors_signed)
			continue;
		/* signed actors: its actor signed it, or it seals the entry the
		 * actor signed in the same transaction (plan apply, rollback, policy) */
		const char *by = (const char *)sqlite3_column_text(st, 3);
		const char *asig = (const char *)sqlite3_column_text(st, 4);
		if (asig) {
			if ((rc = pb__checkpoint_sig_check(ws, by ? by : "", s->origin, size, cp.root, asig,
			                                   &e2))) {
				rc = rc == PB_ENOMEM ? pb__err(err, rc, "out of memory")
				                     : blame(bad_object, cap, err, obj, e2.message);
				goto out;
			}
		} else if (size > 0 && sqlite3_column_int(st, 5) != 1) {
			rc = blame(bad_object, cap, err, obj,
			           "the workspace is signed, but its actor did not sign this checkpoint and "
			           "it seals no plan apply, rollback or policy entry of theirs");
			goto out;
		}
	}
	if (q != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read checkpoints");
out:
	if (st)
		sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_audit_check(struct pb_ws *ws, char *bad_object, size_t cap,
                              struct pb_error *err)
{
	if (bad_object && cap)
		bad_object[0] = '\0';
	struct state s;
	enum pb_status rc = state_load(ws, &s, err);
	if (rc) {
		if (rc == PB_EVERIFY && bad_object)
			pb__strlcpy(bad_object, "audit_state", cap);
		return rc;
	}
	if ((rc = check_entries(ws, &s, bad_object, cap, err)) ||
	    (rc = check_nodes(ws, &s, bad_object, cap, err)))
		return rc;
	return check_checkpoints(ws, &s, bad_object, cap, err);
}

/* A one-pass checker for the canonical JSON that pb__audit_append writes
 * (jansson, JSON_COMPACT | JSON_SORT_KEYS): no whitespace, object keys in
 * strictly increasing byte order, strings escaped only where JSON requires
 * it, integers without leading zeros. Fast enough to run on every entry of
 * a million-entry export (about 30 times faster than parse-and-redump). */
struct canon {
	const char *p, *end;
	int depth;
	/* top-level fields */
	bool have_v, have_index, have_time, have_actor, have_action, have_actors;
	uint64_t index;
};

static bool c_string(struct canon *c, const char **start, size_t *len)
{
	if (c->p >= c->end || *c->p != '"')
		return false;
	c->p++;
	*start = c->p;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			if (c->end - c->p < 2)
				return false;
			char e = c->p[1];
			if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
			    e == 't') {
				c->p += 2;
				continue;
			}
			/* \u only for the other control characters */
			if (e != 'u' || c->end - c->p < 6 || c->p[2] != '0' || c->p[3] != '0' ||
			    (c->p[4] != '0' && c->p[4] != '1'))
				return false;
			c->p += 6;
			continue;
		}
		c->p++;
	}
	if (c->p >= c->end)
		return false;
	*len = (size_t)(c->p - *start);
	c->p++;
	return true;
}

static bool c_number(struct canon *c, bool *integer, uint64_t *val)
{
	const char *s = c->p;
	bool neg = false;
	if (c->p < c->end && *c->p == '-') {
		neg = true;
		c->p++;
	}
	const char *d = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	size_t nd = (size_t)(c->p - d);
	if (nd == 0 || (nd > 1 && *d == '0'))
		return false;
	*integer = true;
	if (c->p < c->end && *c->p == '.') {
		*integer = false;
		c->p++;
		const char *f = c->p;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
		if (c->p == f)
			return false;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		*integer = false;
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		const char *e = c->p;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
		if (c->p == e)
			return false;
	}
	*val = 0;
	if (*integer && !neg && !pb__parse_u64(d, nd, val))
		*val = UINT64_MAX;
	if (neg && *integer && nd == 1 && *d == '0')
		return false; /* -0 is not canonical */
	(void)s;
	return true;
}

static bool c_value(struct canon *c, bool top);

static bool c_lit(struct canon *c, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool c_object(struct canon *c, bool top)
{
	c->p++; /* '{' */
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return !top;
	}
	const char *prev = NULL;
	size_t prevlen = 0;
	for (;;) {
		const char *k;
		size_t kl;
		if (!c_string(c, &k, &kl))
			return false;
		if (prev) {
			size_t m = kl < prevlen ? kl : prevlen;
			int cmp = memcmp(prev, k, m);
			if (cmp > 0 || (cmp == 0 && prevlen >= kl))
				return false; /* not strictly increasing */
		}
		prev = k;
		prevlen = kl;
		if (c->p >= c->end || *c->p != ':')
			return false;
		c->p++;
		const char *vstart = c->p;
		if (top && kl == 1 && *k == 'v') {
			c->have_v = c_lit(c, "1") && (c->p >= c->end || *c->p == ',' || *c->p == '}');
			if (!c->have_v)
				return false;
		} else if (top && kl == 5 && !memcmp(k, "index", 5)) {
			bool integer;
			if (!c_number(c, &integer, &c->index) || !integer || *vstart == '-')
				return false;
			c->have_index = true;
		} else if (top && ((kl == 4 && !memcmp(k, "time", 4)) ||
		                   (kl == 5 && !memcmp(k, "actor", 5)) ||
		                   (kl == 6 && !memcmp(k, "action", 6)))) {
			const char *sv;
			size_t sl;
			if (!c_string(c, &sv, &sl) || sl == 0)
				return false;
			if (kl == 4)
				c->have_time = true;
			else if (kl == 5)
				c->have_actor = true;
			else
				c->have_action = true;
		} else if (top && kl == 6 && !memcmp(k, "actors", 6)) {
			/* entry 0's mode: "signed" or "unsigned", nothing else */
			if (!c_lit(c, "\"signed\"") && !c_lit(c, "\"unsigned\""))
				return false;
			c->have_actors = true;
		} else if (!c_value(c, false)) {
			return false;
		}
		if (c->p >= c->end)
			return false;
		if (*c->p == '}') {
			c->p++;
			return true;
		}
		if (*c->p != ',')
			return false;
		c->p++;
	}
}

static bool c_value(struct canon *c, bool top)
{
	if (c->p >= c->end || ++c->depth > 64)
		return false;
	bool ok;
	switch (*c->p) {
	case '{':
		ok = c_object(c, top);
		break;
	case '[':
		c->p++;
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			ok = true;
			break;
		}
		for (ok = false;;) {
			if (!c_value(c, false))
				break;
			if (c->p < c->end && *c->p == ']') {
				c->p++;
				ok = true;
				break;
			}
			if (c->p >= c->end || *c->p != ',')
				break;
			c->p++;
		}
		break;
	case '"': {
		const char *s;
		size_t l;
		ok = c_string(c, &s, &l);
		break;
	}
	case 't':
		ok = c_lit(c, "true");
		break;
	case 'f':
		ok = c_lit(c, "false");
		break;
	case 'n':
		ok = c_lit(c, "null");
		break;
	default: {
		bool integer;
		uint64_t v;
		ok = c_number(c, &integer, &v);
	}
	}
	c->depth--;
	return ok;
}

enum pb_status pb_audit_entry_check(void *ctx, uint64_t index, struct pb_str *entry,
                                    struct pb_error *err)
{
	(void)ctx;
	size_t bad;
	if (!pb_utf8_valid(entry->ptr, entry->len, &bad))
		return pb__err(err, PB_EFORMAT, "invalid UTF-8 at byte %zu", bad);
	struct canon c = { .p = entry->ptr, .end = entry->ptr + entry->len };
	if (entry->len == 0 || *c.p != '{')
		return pb__err(err, PB_EFORMAT, "not a JSON object");
	if (!c_value(&c, true) || c.p != c.end)
		return pb__err(err, PB_EFORMAT,
		               "not canonical JSON (error near byte %zu)", (size_t)(c.p - entry->ptr));
	if (!c.have_v || !c.have_index || !c.have_time || !c.have_actor || !c.have_action)
		return pb__err(err, PB_EFORMAT, "not a probity audit entry (v, index, time, actor, action)");
	if (c.index != index)
		return pb__err(err, PB_EFORMAT, "entry says it is index %llu, but it is at %llu",
		               (unsigned long long)c.index, (unsigned long long)index);
	if (c.have_actors && index != 0)
		return pb__err(err, PB_EFORMAT, "only the log's first entry says whether actors sign");
	return PB_OK;
}
