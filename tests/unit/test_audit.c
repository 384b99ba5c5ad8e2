/* test_audit.c - users, roles, cases, the audit log in the caller's
 * transaction, checkpoints and proofs, the local check against tampered
 * rows, and crash safety: a process killed (or an I/O call failing) at every
 * write and sync of an append, and processes killed at random moments.
 *
 * Crashes are injected with a SQLite VFS that wraps the default one and
 * counts xWrite / xSync / xTruncate calls: at the k-th it either _exit()s
 * (a kill at exactly that step) or returns SQLITE_IOERR (a failed write).
 */
#include "unit.h"
#include "auth/auth.h"
#include "case/case.h"
#include "util/json.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- fault-injecting VFS ------------------------------------------------ */

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static long fault_at;     /* 0: never */
static long fault_count;
static bool fault_exit;   /* _exit instead of failing */

struct ffile {
	sqlite3_file base;
	sqlite3_file *real;
};

static int fault_hit(void)
{
	if (fault_at && ++fault_count == fault_at) {
		if (fault_exit)
			_exit(9);
		return 1;
	}
	return 0;
}

#define REAL(f) (((struct ffile *)(f))->real)
static int f_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
	return rc;
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (fault_hit())
		return SQLITE_IOERR_WRITE;
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 s)
{
	if (fault_hit())
		return SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), s);
}
static int f_sync(sqlite3_file *f, int fl)
{
	if (fault_hit())
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), fl);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *s)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), s);
}
static int f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int f_check(sqlite3_file *f, int *o)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), o);
}
static int f_fctl(sqlite3_file *f, int op, void *a)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shmmap(sqlite3_file *f, int p, int sz, int e, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), p, sz, e, pp);
}
static int f_shmlock(sqlite3_file *f, int o, int n, int fl)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl);
}
static void f_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shmunmap(sqlite3_file *f, int d)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), d);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
	*pp = NULL; /* no memory-mapped reads: every access goes through us */
	(void)f;
	(void)o;
	(void)n;
	return SQLITE_OK;
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	(void)f;
	(void)o;
	(void)p;
	return SQLITE_OK;
}

static const sqlite3_io_methods fault_io = {
	3,        f_close,  f_read,       f_write,     f_truncate, f_sync,    f_size,
	f_lock,   f_unlock, f_check,      f_fctl,      f_sector,   f_devchar, f_shmmap,
	f_shmlock, f_shmbarrier, f_shmunmap, f_fetch, f_unfetch,
};

static int fv_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)v;
	struct ffile *ff = (struct ffile *)f;
	ff->real = (sqlite3_file *)(ff + 1);
	int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
	f->pMethods = rc == SQLITE_OK ? &fault_io : NULL;
	return rc;
}
static int fv_delete(sqlite3_vfs *v, const char *n, int s)
{
	(void)v;
	return real_vfs->xDelete(real_vfs, n, s);
}
static int fv_access(sqlite3_vfs *v, const char *n, int fl, int *o)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, n, fl, o);
}
static int fv_full(sqlite3_vfs *v, const char *n, int sz, char *o)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, n, sz, o);
}
static int fv_random(sqlite3_vfs *v, int n, char *o)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, o);
}
static int fv_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}
static int fv_time(sqlite3_vfs *v, double *t)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, t);
}
static int fv_lasterr(sqlite3_vfs *v, int n, char *o)
{
	(void)v;
	return real_vfs->xGetLastError(real_vfs, n, o);
}
static int fv_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, t);
}

/* Makes the fault VFS the default (on) or restores the real one (off). */
static void fault_vfs_use(bool on)
{
	if (!real_vfs) {
		real_vfs = sqlite3_vfs_find(NULL);
		fault_vfs = (sqlite3_vfs){ 2, (int)sizeof(struct ffile) + real_vfs->szOsFile,
			                   real_vfs->mxPathname, NULL, "pbfault", NULL,
			                   fv_open, fv_delete, fv_access, fv_full, NULL, NULL, NULL,
			                   NULL, fv_random, fv_sleep, fv_time, fv_lasterr, fv_time64,
			                   NULL, NULL, NULL };
	}
	sqlite3_vfs_register(on ? &fault_vfs : real_vfs, 1);
}

/* ---- fixtures ------------------------------------------------------------ */

static char *make_ws(void)
{
	char *dir = unit_tmpdir();
	char *ws = malloc(strlen(dir) + 8);
	snprintf(ws, strlen(dir) + 8, "%s/ws", dir);
	free(dir);
	struct pb_error err = { 0 };
	struct pb_ws_init_options o = { .unsigned_actors = true, .name = "unit test" };
	if (pb_ws_init(ws, &o, &err) != PB_OK) {
		fprintf(stderr, "init: %s\n", err.message);
		exit(2);
	}
	struct pb_ws *w;
	pb_ws_open(ws, 0, &w, &err);
	pb_user_add(w, NULL, "root", "admin", NULL, &err);
	pb_user_add(w, "root", "alice", "analyst", NULL, &err);
	pb_user_add(w, "root", "bob", "approver", NULL, &err);
	pb_user_add(w, "root", "carol", "auditor", NULL, &err);
	const char *a1[] = { "BA-1" }, *a2[] = { "BA-2" };
	pb_customer_add(w, "root", "Ministry X", a1, 1, NULL, 0, &err);
	pb_customer_add(w, "root", "Other Co", a2, 1, NULL, 0, &err);
	pb_ws_close(w);
	return ws;
}

static void rm_ws(char *ws)
{
	char *slash = strrchr(ws, '/');
	*slash = '\0';
	unit_rm_rf(ws);
	free(ws);
}

static struct pb_ws *open_ws(const char *path)
{
	struct pb_ws *w = NULL;
	struct pb_error err = { 0 };
	if (pb_ws_open(path, 0, &w, &err) != PB_OK)
		UNIT_FAIL_("open: %s", err.message);
	return w;
}

static uint64_t log_size(struct pb_ws *w)
{
	struct pb_audit_status s;
	pb_audit_status(w, &s, NULL);
	return s.size;
}

static int64_t open_case(struct pb_ws *w)
{
	struct pb_error err = { 0 };
	struct pb_case_open_options o = { "Ministry X", "Report", "Press report", NULL, "2025-08-06" };
	int64_t id = 0;
	CHECK_OK(pb_case_open(w, "alice", &o, &id, NULL, &err), &err);
	return id;
}

/* ---- users and roles -------------------------------------------------------- */

static void t_users_roles(void)
{
	char *dir = unit_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/ws", dir);
	struct pb_error err = { 0 };
	CHECK_OK(pb_ws_init(path, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	struct pb_ws *w = open_ws(path);
	/* bootstrap: the first user must be an admin */
	CHECK_INT(pb_user_add(w, NULL, "alice", "analyst", NULL, &err), PB_EPERM);
	CHECK_INT(log_size(w), 0);
	uint64_t idx = 99;
	CHECK_OK(pb_user_add(w, NULL, "root", "admin", &idx, &err), &err);
	CHECK_INT(idx, 0);
	CHECK_INT(pb_user_add(w, NULL, "alice", "analyst", NULL, &err), PB_EPERM);
	CHECK_OK(pb_user_add(w, "root", "alice", "analyst", NULL, &err), &err);
	CHECK_INT(pb_user_add(w, "root", "alice", "analyst", NULL, &err), PB_EEXIST);
	CHECK_INT(pb_user_add(w, "alice", "eve", "admin", NULL, &err), PB_EPERM);
	CHECK(strstr(err.message, "needs the role admin") != NULL);
	CHECK_INT(pb_user_add(w, "root", "bad name", "analyst", NULL, &err), PB_EINVAL);
	CHECK_INT(pb_user_add(w, "root", "x", "boss", NULL, &err), PB_EINVAL);
	/* the last admin stays */
	CHECK_INT(pb_user_set_role(w, "root", "root", "analyst", NULL, &err), PB_ESTATE);
	CHECK_INT(pb_user_disable(w, "root", "root", NULL, &err), PB_ESTATE);
	CHECK_OK(pb_user_set_role(w, "root", "alice", "auditor", NULL, &err), &err);
	CHECK_INT(pb__user_require_role(w, "alice", "analyst", &err), PB_EPERM);
	CHECK_OK(pb__user_require_role(w, "alice", "analyst,auditor", &err), &err);
	CHECK_OK(pb_user_disable(w, "root", "alice", NULL, &err), &err);
	CHECK_INT(pb__user_require_role(w, "alice", "auditor", &err), PB_EPERM);
	CHECK(strstr(err.message, "disabled") != NULL);
	const char *who;
	CHECK_INT(pb__acting_user(w, NULL, &who, &err), PB_EINVAL);
	CHECK_INT(pb__acting_user(w, "nobody", &who, &err), PB_EPERM);
	CHECK_OK(pb__acting_user(w, "root", &who, &err), &err);
	CHECK_STR(who, "root");
	/* 5 changes, 5 entries, in order */
	CHECK_INT(log_size(w), 4);
	pb_ws_close(w);
	/* the default acting user comes from probity.conf */
	char conf[4300];
	snprintf(conf, sizeof(conf), "%s/probity.conf", path);
	FILE *f = fopen(conf, "a");
	fputs("user = root\n", f);
	fclose(f);
	w = open_ws(path);
	CHECK_OK(pb__acting_user(w, NULL, &who, &err), &err);
	CHECK_STR(who, "root");
	char bad[128];
	CHECK_OK(pb_audit_check(w, bad, sizeof(bad), &err), &err);
	pb_ws_close(w);
	unit_rm_rf(dir);
	free(dir);
}

/* ---- cases and evidence ------------------------------------------------------ */

static bool count_ev(void *ctx, const struct pb_evidence *e)
{
	(void)e;
	(*(int *)ctx)++;
	return true;
}

static bool grab_entry(void *ctx, const struct pb_audit_entry *e)
{
	char *out = ctx;
	snprintf(out, 70000, "%.*s", (int)e->data.len, e->data.ptr);
	return true;
}

static void t_case_flow(void)
{
	char *path = make_ws();
	struct pb_ws *w = open_ws(path);
	struct pb_error err = { 0 };
	struct pb_case_open_options o = { "Nobody Inc", "T", "trigger", NULL, NULL };
	int64_t id;
	uint64_t before = log_size(w);
	CHECK_INT(pb_case_open(w, "alice", &o, &id, NULL, &err), PB_ENOENT);
	CHECK(strstr(err.message, "no customer 'Nobody Inc'") != NULL);
	o.customer = "Ministry X";
	CHECK_INT(pb_case_open(w, "carol", &o, &id, NULL, &err), PB_EPERM);
	o.trigger_date = "06/08/2025";
	CHECK_INT(pb_case_open(w, "alice", &o, &id, NULL, &err), PB_EINVAL);
	CHECK_INT(log_size(w), before); /* nothing refused reached the log */
	id = open_case(w);
	CHECK(id > 0);
	uint64_t idx;
	CHECK_OK(pb_case_note(w, "bob", id, "looks bad", 9, &idx, &err), &err);
	char *entry = malloc(70000);
	pb_audit_list(w, 0, idx, 1, grab_entry, entry, &err);
	CHECK(strstr(entry, "\"action\":\"case.note\"") != NULL);
	CHECK(strstr(entry, "\"text\":\"looks bad\"") != NULL);
	CHECK(strstr(entry, "\"sha256\":\"") != NULL);
	CHECK_INT(pb_case_note(w, "carol", id, "x", 1, NULL, &err), PB_EPERM);
	CHECK_INT(pb_case_note(w, "alice", id, "", 0, NULL, &err), PB_EINVAL);
	CHECK_INT(pb_case_note(w, "alice", id, "\xff\xfe", 2, NULL, &err), PB_EINVAL);
	CHECK_INT(pb_case_note(w, "alice", 999, "x", 1, NULL, &err), PB_ENOENT);
	/* a long note is logged by hash only */
	char *big = malloc(20000);
	memset(big, 'a', 20000);
	CHECK_OK(pb_case_note(w, "alice", id, big, 20000, &idx, &err), &err);
	pb_audit_list(w, 0, idx, 1, grab_entry, entry, &err);
	CHECK(strstr(entry, "\"text\"") == NULL && strstr(entry, "\"bytes\":20000") != NULL);
	free(big);
	/* a document is kept by its hash */
	char docp[4300];
	snprintf(docp, sizeof(docp), "%s/../memo.txt", path);
	FILE *f = fopen(docp, "w");
	fputs("hello\n", f);
	fclose(f);
	char hex[65];
	CHECK_OK(pb_case_attach(w, "alice", id, docp, hex, NULL, &err), &err);
	CHECK_STR(hex, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	char stored[4400];
	snprintf(stored, sizeof(stored), "%s/documents/%s", path, hex);
	CHECK(access(stored, R_OK) == 0);
	CHECK_INT(pb_case_attach(w, "alice", id, "/nonexistent/file", hex, NULL, &err), PB_ENOENT);
	/* ... and opened by that hash, for this case only, under its name */
	int dfd;
	uint64_t dsize = 0;
	char dname[256];
	CHECK_OK(pb_case_document_open(w, id, hex, &dfd, &dsize, dname, &err), &err);
	char dbuf[16] = { 0 };
	CHECK_INT(read(dfd, dbuf, sizeof(dbuf)), 6);
	close(dfd);
	CHECK_STR(dbuf, "hello\n");
	CHECK_INT(dsize, 6);
	CHECK_STR(dname, "memo.txt");
	CHECK_INT(pb_case_document_open(w, id + 1, hex, &dfd, &dsize, dname, &err), PB_ENOENT);
	CHECK_INT(dfd, -1);
	CHECK_INT(pb_case_document_open(w, id, "../../etc/passwd", &dfd, &dsize, dname, &err), PB_EINVAL);
	CHECK_STR(err.field, "sha256");
	/* findings: the policy module is not there yet */
	uint64_t sz = log_size(w);
	CHECK_INT(pb_case_add_finding(w, "alice", id, "F-1", NULL, &err), PB_ENOENT);
	CHECK(strstr(err.message, "no finding 'F-1'") != NULL);
	/* a finding as the policy module stores it (schema 5: policy_scan, finding) */
	pb__db_exec(w->db,
	            "INSERT INTO policy_scan VALUES (1, 'p', 'h', 'text', 20000, 'customers', 'now', 1, 1);"
	            "INSERT INTO finding VALUES (1, 1, 'p', 'h', 'storage-growth', 'high', 'customer', "
	            "'c', 20000, 'now', '{}')",
	            &err);
	CHECK_INT(pb_case_add_finding(w, "alice", id, "2", NULL, &err), PB_ENOENT);
	CHECK_INT(log_size(w), sz);
	CHECK_OK(pb_case_add_finding(w, "alice", id, "1", &idx, &err), &err);
	/* viewing a finding's evidence is an entry of the viewer, any role */
	char *fj = NULL;
	uint64_t vidx;
	CHECK_OK(pb_finding_view(w, "carol", "F1", &fj, &vidx, &err), &err);
	CHECK_STR(fj, "{}");
	free(fj);
	pb_audit_list(w, 0, vidx, 1, grab_entry, entry, &err);
	CHECK(strstr(entry, "\"action\":\"evidence.view\"") != NULL);
	CHECK(strstr(entry, "\"actor\":\"carol\"") != NULL);
	CHECK(strstr(entry, "finding/1") != NULL);
	sz = log_size(w);
	CHECK_INT(pb_finding_view(w, "carol", "F9", &fj, NULL, &err), PB_ENOENT);
	CHECK(fj == NULL);
	CHECK_INT(pb_finding_view(w, "nobody", "F1", &fj, NULL, &err), PB_EPERM);
	CHECK_INT(log_size(w), sz);
	pb_audit_list(w, 0, idx, 1, grab_entry, entry, &err);
	CHECK(strstr(entry, "\"action\":\"case.finding\"") != NULL);
	CHECK(strstr(entry, "\"ref\":\"1\"") != NULL);
	/* another module's evidence, in its own transaction */
	CHECK_INT(pb__case_add_evidence(w, id, "search", "q1", NULL, "{\"hits\":3}", "alice", &err),
	          PB_ESTATE);
	CHECK_OK(pb__ws_begin(w, &err), &err);
	CHECK_OK(pb__case_add_evidence(w, id, "search", "q1",
	                               "0000000000000000000000000000000000000000000000000000000000000000",
	                               "{\"hits\":3}", "alice", &err),
	         &err);
	CHECK_INT(pb__case_add_evidence(w, id, "Bad Kind", NULL, NULL, NULL, "alice", &err), PB_EINVAL);
	CHECK_INT(pb__case_add_evidence(w, id, "search", NULL, "XYZ", NULL, "alice", &err), PB_EINVAL);
	CHECK_INT(pb__case_add_evidence(w, id, "search", NULL, NULL, "[1]", "alice", &err), PB_EINVAL);
	CHECK_OK(pb__ws_commit(w, &err), &err);
	int nev = 0;
	pb_case_evidence(w, id, count_ev, &nev, &err);
	CHECK_INT(nev, 5); /* 2 notes, document, finding, search; nothing refused */
	/* close, then nothing more */
	CHECK_INT(pb_case_close(w, "carol", id, "done", NULL, &err), PB_EPERM);
	CHECK_OK(pb_case_close(w, "bob", id, "disable storage", NULL, &err), &err);
	CHECK_INT(pb_case_close(w, "bob", id, "again", NULL, &err), PB_ESTATE);
	CHECK_INT(pb_case_note(w, "alice", id, "late", 4, NULL, &err), PB_ESTATE);
	CHECK_OK(pb__ws_begin(w, &err), &err);
	CHECK_INT(pb__case_add_evidence(w, id, "plan", NULL, NULL, NULL, "alice", &err), PB_ESTATE);
	pb__ws_rollback(w);
	char bad[128];
	CHECK_OK(pb_audit_check(w, bad, sizeof(bad), &err), &err);
	free(entry);
	pb_ws_close(w);
	rm_ws(path);
}

/* ---- the append contract ---------------------------------------------------- */

/* pb__audit_entry_verified: one entry against the head and the latest signed
 * checkpoint, as the entitlements loader uses it. */
static void append_one(struct pb_ws *w, const char *details)
{
	struct pb_error err = { 0 };
	CHECK_OK(pb__ws_begin(w, &err), &err);
	CHECK_OK(pb__audit_append(w, "alice", "t.entry", 0, NULL, details, NULL, &err), &err);
	CHECK_OK(pb__ws_commit(w, &err), &err);
}

static enum pb_status verified(struct pb_ws *w, uint64_t idx, struct pb_error *err)
{
	char *data = NULL;
	size_t len = 0;
	enum pb_status st = pb__audit_entry_verified(w, idx, &data, &len, err);
	CHECK(st ? data == NULL : data != NULL && len > 0);
	free(data);
	return st;
}

static void t_entry_verified(void)
{
	char *path = make_ws();
	struct pb_ws *w = open_ws(path);
	struct pb_error err = { 0 };
	append_one(w, "{\"n\":1}");
	uint64_t n = log_size(w);
	for (uint64_t i = 0; i < n; i++)
		CHECK_OK(verified(w, i, &err), &err);
	CHECK_INT(verified(w, n, &err), PB_EVERIFY);
	CHECK(strstr(err.message, "beyond the log head") != NULL);
	char *note = NULL;
	CHECK_OK(pb_audit_checkpoint(w, "alice", &note, &err), &err);
	free(note);
	append_one(w, "{\"n\":2}");
	CHECK_OK(verified(w, n - 1, &err), &err); /* head consistent with the checkpoint */
	CHECK_OK(verified(w, n, &err), &err);     /* after it, in the head */
	append_one(w, "{\"n\":3}");
	CHECK_OK(verified(w, n + 1, &err), &err);
	/* an entry's bytes edited in place */
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "DROP TRIGGER audit_entry_append_only; UPDATE audit_entry SET data = "
	         "CAST(replace(CAST(data AS TEXT), '\"n\":2', '\"n\":9') AS BLOB) WHERE idx = %llu",
	         (unsigned long long)n);
	CHECK(sqlite3_exec(w->db, sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK_INT(verified(w, n, &err), PB_EVERIFY);
	CHECK(strstr(err.message, "is not included in the log head") != NULL);
	/* ... and the whole log rebuilt from scratch, as an attacker with the
	 * database would: a tree consistent in itself (the same actions
	 * re-appended, then a forged one), not with the signed checkpoint */
	pb_ws_close(w);
	w = open_ws(path);
	CHECK(sqlite3_exec(w->db,
	                   "DROP TRIGGER audit_entry_no_delete; DROP TRIGGER audit_node_no_delete;"
	                   "CREATE TABLE keep AS SELECT actor, action FROM audit_entry ORDER BY idx;"
	                   "DELETE FROM audit_entry; DELETE FROM audit_node; DELETE FROM audit_state;",
	                   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_stmt *q;
	CHECK(sqlite3_prepare_v2(w->db, "SELECT actor, action FROM keep", -1, &q, NULL) ==
	      SQLITE_OK);
	CHECK_OK(pb__ws_begin(w, &err), &err);
	while (sqlite3_step(q) == SQLITE_ROW)
		CHECK_OK(pb__audit_append(w, (const char *)sqlite3_column_text(q, 0),
		                          (const char *)sqlite3_column_text(q, 1), 0, NULL, NULL, NULL,
		                          &err),
		         &err);
	sqlite3_finalize(q);
	CHECK_OK(pb__audit_append(w, "mallory", "t.entry", 0, NULL, "{\"forged\":1}", NULL, &err),
	         &err);
	CHECK_OK(pb__ws_commit(w, &err), &err);
	CHECK_INT(verified(w, 0, &err), PB_EVERIFY);
	CHECK(strstr(err.message, "not consistent with the checkpoint") != NULL);
	pb_ws_close(w);
	rm_ws(path);
}

static void t_append_in_txn(void)
{
	char *path = make_ws();
	struct pb_ws *w = open_ws(path);
	struct pb_error err = { 0 };
	uint64_t n0 = log_size(w), idx;
	CHECK_INT(pb__audit_append(w, "alice", "x.y", 0, NULL, NULL, &idx, &err), PB_ESTATE);
	/* a rolled-back change leaves no entry, and the entry no change */
	CHECK_OK(pb__ws_begin(w, &err), &err);
	pb__db_exec(w->db, "INSERT INTO customer(name, created_at) VALUES ('Z', 'now')", &err);
	CHECK_OK(pb__audit_append(w, "alice", "customer.add", 0, "customer/Z", "{\"name\":\"Z\"}",
	                          &idx, &err),
	         &err);
	CHECK_INT(idx, n0);
	pb__ws_rollback(w);
	CHECK_INT(log_size(w), n0);
	char bad[128];
	CHECK_OK(pb_audit_check(w, bad, sizeof(bad), &err), &err);
	/* bad arguments */
	CHECK_OK(pb__ws_begin(w, &err), &err);
	CHECK_INT(pb__audit_append(w, "alice", "Bad Action", 0, NULL, NULL, NULL, &err), PB_EINVAL);
	CHECK_INT(pb__audit_append(w, "", "a.b", 0, NULL, NULL, NULL, &err), PB_EINVAL);
	CHECK_INT(pb__audit_append(w, "alice", "a.b", 0, NULL, "{\"a\":1,\"a\":2}", NULL, &err),
	          PB_EINVAL);
	CHECK_INT(pb__audit_append(w, "alice", "a.b", 0, NULL, "not json", NULL, &err), PB_EINVAL);
	char *huge = malloc(PB_AUDIT_DETAILS_MAX + 100);
	memset(huge, ' ', PB_AUDIT_DETAILS_MAX + 99);
	huge[PB_AUDIT_DETAILS_MAX + 99] = '\0';
	CHECK_INT(pb__audit_append(w, "alice", "a.b", 0, NULL, huge, NULL, &err), PB_ELIMIT);
	free(huge);
	/* canonical form: keys sorted whatever the caller's order */
	CHECK_OK(pb__audit_append(w, "alice", "a.b", 7, "thing/1", "{\"z\":1,\"a\":{\"y\":2,\"b\":3}}",
	                          &idx, &err),
	         &err);
	CHECK_OK(pb__ws_commit(w, &err), &err);
	char *entry = malloc(70000);
	pb_audit_list(w, 0, idx, 1, grab_entry, entry, &err);
	CHECK(strstr(entry, "\"details\":{\"a\":{\"b\":3,\"y\":2},\"z\":1}") != NULL);
	static const char head[] = "{\"action\":\"a.b\",\"actor\":\"alice\",\"case\":7,\"details\"";
	CHECK(strncmp(entry, head, sizeof(head) - 1) == 0);
	struct pb_str e = pb_cstr(entry);
	CHECK_OK(pb_audit_entry_check(NULL, idx, &e, &err), &err);
	CHECK_INT(pb_audit_entry_check(NULL, idx + 1, &e, &err), PB_EFORMAT);
	free(entry);
	/* the canonical-form checker: what is accepted and refused */
	static const char *good[] = {
		"{\"action\":\"a\",\"actor\":\"b\",\"index\":5,\"time\":\"t\",\"v\":1}",
		"{\"action\":\"a\",\"actor\":\"b\",\"details\":{\"a\":[1,-2,3.5,true,null,\"x\\n\\u001f\"],\"b\":{}},"
		"\"index\":5,\"time\":\"t\",\"v\":1}",
	};
	static const char *badj[] = {
		"{\"action\":\"a\", \"actor\":\"b\",\"index\":5,\"time\":\"t\",\"v\":1}",
		"{\"actor\":\"b\",\"action\":\"a\",\"index\":5,\"time\":\"t\",\"v\":1}",
		"{\"action\":\"a\",\"action\":\"a\",\"actor\":\"b\",\"index\":5,\"time\":\"t\",\"v\":1}",
		"{\"action\":\"a\",\"actor\":\"b\",\"index\":05,\"time\":\"t\",\"v\":1}",
		"{\"action\":\"a\",\"actor\":\"b\",\"index\":5,\"time\":\"t\",\"v\":2}",
		"{\"action\":\"a\",\"actor\":\"b\",\"index\":5,\"time\":\"t\",\"v\":1}x",
		"{\"action\":\"a\",\"actor\":\"b\",\"details\":\"\\/\",\"index\":5,\"time\":\"t\",\"v\":1}",
		"{\"action\":\"a\",\"actor\":\"b\",\"index\":5,\"time\":\"t\"}",
		"{\"action\":\"a\",\"actor\":\"b\",\"index\":5,\"time\":\"t\",\"v\":1",
		"[1]", "", "{}",
	};
	for (size_t i = 0; i < PB_ARRAY_LEN(good); i++) {
		struct pb_str g = pb_cstr(good[i]);
		if (pb_audit_entry_check(NULL, 5, &g, &err) != PB_OK)
			UNIT_FAIL_("good %zu refused: %s", i, err.message);
	}
	for (size_t i = 0; i < PB_ARRAY_LEN(badj); i++) {
		struct pb_str g = pb_cstr(badj[i]);
		if (pb_audit_entry_check(NULL, 5, &g, &err) == PB_OK)
			UNIT_FAIL_("bad %zu accepted", i);
	}
	pb_ws_close(w);
	rm_ws(path);
}

/* ---- checkpoints, proofs, tampering ---------------------------------------------- */

static void t_checkpoints_and_proofs(void)
{
	char *path = make_ws();
	struct pb_ws *w = open_ws(path);
	struct pb_error err = { 0 };
	int64_t id = open_case(w);
	char *c1 = NULL, *c1b = NULL, *c2 = NULL, *doc = NULL;
	CHECK_INT(pb_audit_checkpoint(w, "nobody", &c1, &err), PB_EPERM);
	CHECK_OK(pb_audit_checkpoint(w, "carol", &c1, &err), &err);
	CHECK_OK(pb_audit_checkpoint(w, "carol", &c1b, &err), &err);
	CHECK(c1 && c1b && strcmp(c1, c1b) == 0); /* same tree, same checkpoint */
	for (int i = 0; i < 40; i++) {
		char t[32];
		snprintf(t, sizeof(t), "note %d", i);
		CHECK_OK(pb_case_note(w, "alice", id, t, strlen(t), NULL, &err), &err);
	}
	CHECK_OK(pb_audit_checkpoint(w, "carol", &c2, &err), &err);
	struct pb_audit_status s;
	CHECK_OK(pb_audit_status(w, &s, &err), &err);
	CHECK_STR(s.origin, "probity.example/unit-test");
	struct pb_vkey vk;
	CHECK_OK(pb_vkey_parse(s.vkey, strlen(s.vkey), &vk, &err), &err);
	struct pb_checkpoint k1, k2;
	CHECK_OK(pb_checkpoint_open(c1, strlen(c1), &vk, 1, s.origin, &k1, &err), &err);
	CHECK_OK(pb_checkpoint_open(c2, strlen(c2), &vk, 1, s.origin, &k2, &err), &err);
	CHECK_INT(k2.size, s.size);
	/* inclusion proofs of every entry verify against the checkpoint */
	for (uint64_t i = 0; i < k2.size; i++) {
		CHECK_OK(pb_audit_prove_inclusion(w, i, 0, &doc, &err), &err);
		struct pb_tlog_proof_doc d;
		CHECK_OK(pb_tlog_proof_doc_parse(doc, strlen(doc), &d, &err), &err);
		char *data;
		size_t len;
		CHECK_OK(pb_audit_entry_data(w, i, &data, &len, &err), &err);
		uint8_t leaf[32];
		pb_tlog_leaf_hash(data, len, leaf);
		CHECK_OK(pb_tlog_verify_inclusion(d.index, k2.size, leaf, (const uint8_t(*)[32])d.proof,
		                                  d.nproof, k2.root, &err),
		         &err);
		free(data);
		free(doc);
		doc = NULL;
	}
	CHECK_INT(pb_audit_prove_inclusion(w, k2.size, 0, &doc, &err), PB_EINVAL);
	CHECK_INT(pb_audit_prove_inclusion(w, 0, 3, &doc, &err), PB_ENOENT);
	/* consistency between the two checkpoints */
	CHECK_OK(pb_audit_prove_consistency(w, k1.size, k2.size, &doc, &err), &err);
	struct pb_tlog_proof_doc d;
	CHECK_OK(pb_tlog_proof_doc_parse(doc, strlen(doc), &d, &err), &err);
	CHECK(d.consistency);
	CHECK_OK(pb_tlog_verify_consistency(k1.size, k2.size, (const uint8_t(*)[32])d.proof, d.nproof,
	                                    k1.root, k2.root, &err),
	         &err);
	free(doc);
	doc = NULL;
	CHECK_INT(pb_audit_prove_consistency(w, k2.size + 1, 0, &doc, &err), PB_EINVAL);
	/* tampering with a stored row is found and named */
	char bad[128];
	CHECK_OK(pb_audit_check(w, bad, sizeof(bad), &err), &err);
	CHECK_INT(pb__db_exec(w->db, "UPDATE audit_entry SET data = 'x' WHERE idx = 3", &err), PB_EDB);
	CHECK(strstr(err.message, "append-only") != NULL);
	pb__db_exec(w->db, "DROP TRIGGER audit_node_append_only", &err);
	pb__db_exec(w->db, "UPDATE audit_node SET hash = zeroblob(32) WHERE level = 2 AND idx = 1",
	            &err);
	CHECK_INT(pb_audit_check(w, bad, sizeof(bad), &err), PB_EVERIFY);
	CHECK_STR(bad, "audit_node level 2 index 1");
	/* no proof built on it is handed out (each is verified first) */
	CHECK_INT(pb_audit_prove_inclusion(w, 0, 0, &doc, &err), PB_EVERIFY);
	CHECK(doc == NULL);
	/* the signed head comes from the entries, not from that row: a new
	 * checkpoint is still honest and consistent */
	char *c3 = NULL;
	CHECK_OK(pb_case_note(w, "alice", id, "after", 5, NULL, &err), &err);
	CHECK_OK(pb_audit_checkpoint(w, "carol", &c3, &err), &err);
	free(c1);
	free(c1b);
	free(c2);
	free(c3);
	pb_ws_close(w);
	rm_ws(path);
}

static void t_export(void)
{
	char *path = make_ws();
	struct pb_ws *w = open_ws(path);
	struct pb_error err = { 0 };
	int64_t id = open_case(w);
	for (int i = 0; i < 300; i++)
		CHECK_OK(pb_case_note(w, "alice", id, "n", 1, NULL, &err), &err);
	char *c1 = NULL, *c2 = NULL;
	CHECK_OK(pb_audit_checkpoint(w, "alice", &c1, &err), &err);
	char dir[4300];
	snprintf(dir, sizeof(dir), "%s/../export", path);
	struct pb_checkpoint cp;
	CHECK_OK(pb_audit_export(w, dir, 0, &cp, &err), &err);
	struct pb_audit_status s;
	pb_audit_status(w, &s, &err);
	struct pb_vkey vk;
	pb_vkey_parse(s.vkey, strlen(s.vkey), &vk, &err);
	struct pb_tlog_verify_options o = { .keys = &vk, .nkeys = 1, .check = pb_audit_entry_check };
	struct pb_tlog_verify_result res;
	CHECK_OK(pb_tlog_verify_dir(dir, &o, &res, &err), &err);
	CHECK_INT(res.checkpoint.size, s.size);
	/* grow, export again over it, verify with --since the first */
	CHECK_OK(pb_case_note(w, "alice", id, "more", 4, NULL, &err), &err);
	CHECK_OK(pb_audit_checkpoint(w, "alice", &c2, &err), &err);
	CHECK_OK(pb_audit_export(w, dir, 0, &cp, &err), &err);
	o.since = c1;
	o.since_len = strlen(c1);
	CHECK_OK(pb_tlog_verify_dir(dir, &o, &res, &err), &err);
	/* an older export over a newer one is refused */
	CHECK_INT(pb_audit_export(w, dir, s.size, &cp, &err), PB_ESTATE);
	/* a folder with other files is refused */
	char other[4300];
	snprintf(other, sizeof(other), "%s/documents", path);
	mkdir(other, 0755);
	CHECK_INT(pb_audit_export(w, path, 0, &cp, &err), PB_EEXIST);
	free(c1);
	free(c2);
	pb_ws_close(w);
	rm_ws(path);
}

/* ---- crashes ---------------------------------------------------------------------- */

/* After a crash: the workspace opens, the log checks, its size is old or
 * new (new if acknowledged), and the next checkpoint is consistent with the
 * last one published. */
static void after_crash(const char *path, uint64_t old, bool acked, const char *last_ckpt,
                        long k)
{
	struct pb_error err = { 0 };
	struct pb_ws *w = NULL;
	if (pb_ws_open(path, 0, &w, &err) != PB_OK) {
		UNIT_FAIL_("k=%ld: workspace does not open: %s", k, err.message);
		return;
	}
	char bad[128];
	if (pb_audit_check(w, bad, sizeof(bad), &err) != PB_OK)
		UNIT_FAIL_("k=%ld: log check: %s", k, err.message);
	uint64_t n = log_size(w);
	if (n != old && n != old + 1)
		UNIT_FAIL_("k=%ld: size %llu, expected %llu or %llu", k, (unsigned long long)n,
		           (unsigned long long)old, (unsigned long long)old + 1);
	if (acked && n != old + 1)
		UNIT_FAIL_("k=%ld: an acknowledged entry is missing", k);
	char *c = NULL;
	if (pb_audit_checkpoint(w, "carol", &c, &err) != PB_OK) {
		UNIT_FAIL_("k=%ld: checkpoint: %s", k, err.message);
	} else {
		struct pb_audit_status s;
		pb_audit_status(w, &s, &err);
		struct pb_vkey vk;
		pb_vkey_parse(s.vkey, strlen(s.vkey), &vk, &err);
		struct pb_checkpoint a, b;
		char *doc = NULL;
		if (pb_checkpoint_open(last_ckpt, strlen(last_ckpt), &vk, 1, NULL, &a, &err) ||
		    pb_checkpoint_open(c, strlen(c), &vk, 1, NULL, &b, &err) ||
		    pb_audit_prove_consistency(w, a.size, b.size, &doc, &err))
			UNIT_FAIL_("k=%ld: %s", k, err.message);
		else if (a.size < b.size) {
			struct pb_tlog_proof_doc d;
			pb_tlog_proof_doc_parse(doc, strlen(doc), &d, &err);
			if (pb_tlog_verify_consistency(a.size, b.size, (const uint8_t(*)[32])d.proof, d.nproof,
			                               a.root, b.root, &err))
				UNIT_FAIL_("k=%ld: not consistent with the last checkpoint: %s", k, err.message);
		}
		free(doc);
	}
	free(c);
	pb_ws_close(w);
}

/* Kills (fault_exit) or fails the k-th write/sync of one note's append, for
 * every k until an append completes without reaching k. */
static void crash_at_every_step(bool kill)
{
	char *path = make_ws();
	struct pb_ws *w = open_ws(path);
	struct pb_error err = { 0 };
	int64_t id = open_case(w);
	char *ckpt = NULL;
	pb_audit_checkpoint(w, "carol", &ckpt, &err);
	pb_ws_close(w);
	long k;
	for (k = 1; k < 200; k++) {
		w = open_ws(path);
		uint64_t old = log_size(w);
		pb_ws_close(w);
		bool acked = false, reached = false;
		if (kill) {
			int fds[2];
			if (pipe(fds) != 0)
				break;
			pid_t pid = fork();
			if (pid == 0) {
				close(fds[0]);
				fault_vfs_use(true);
				fault_at = k;
				fault_count = 0;
				fault_exit = true;
				struct pb_ws *cw;
				if (pb_ws_open(path, 0, &cw, NULL) == PB_OK &&
				    pb_case_note(cw, "alice", id, "crash test", 10, NULL, NULL) == PB_OK) {
					char a = 'A';
					if (write(fds[1], &a, 1) != 1)
						_exit(3);
				}
				char r = fault_count >= k ? 'R' : 'N';
				if (write(fds[1], &r, 1) != 1)
					_exit(3);
				_exit(0);
			}
			close(fds[1]);
			char buf[4];
			ssize_t got = read(fds[0], buf, sizeof(buf));
			if (got > 0 && buf[0] == 'A')
				got += read(fds[0], buf + 1, sizeof(buf) - 1);
			close(fds[0]);
			int status;
			waitpid(pid, &status, 0);
			acked = got > 0 && buf[0] == 'A';
			/* killed at step k (exit 9), or finished without reaching it */
			reached = WIFEXITED(status) && WEXITSTATUS(status) == 9;
		} else {
			fault_vfs_use(true);
			fault_at = k;
			fault_count = 0;
			fault_exit = false;
			struct pb_ws *cw;
			if (pb_ws_open(path, 0, &cw, NULL) == PB_OK) {
				acked = pb_case_note(cw, "alice", id, "fault test", 10, NULL, NULL) == PB_OK;
				pb_ws_close(cw);
			}
			reached = fault_count >= k;
			fault_at = 0;
			fault_vfs_use(false);
		}
		after_crash(path, old, acked, ckpt, k);
		if (!reached)
			break; /* an append needs fewer than k writes and syncs */
	}
	CHECK(k > 3 && k < 200);
	fprintf(stderr, "%s at every step: %ld steps of one append\n", kill ? "kill" : "fail", k - 1);
	free(ckpt);
	rm_ws(path);
}

static void t_kill_at_every_step(void)
{
	crash_at_every_step(true);
}

static void t_fail_at_every_step(void)
{
	crash_at_every_step(false);
}

/* A child appends notes as fast as it can, reporting each acknowledged
 * index; it is SIGKILLed at a random moment. Repeated. */
static void t_kill_at_random(void)
{
	char *path = make_ws();
	struct pb_ws *w = open_ws(path);
	struct pb_error err = { 0 };
	int64_t id = open_case(w);
	char *ckpt = NULL;
	pb_audit_checkpoint(w, "carol", &ckpt, &err);
	pb_ws_close(w);
	srand((unsigned)time(NULL));
	for (int round = 0; round < 12; round++) {
		int fds[2];
		if (pipe(fds) != 0)
			break;
		pid_t pid = fork();
		if (pid == 0) {
			close(fds[0]);
			struct pb_ws *cw;
			if (pb_ws_open(path, 0, &cw, NULL) != PB_OK)
				_exit(2);
			for (int i = 0; i < 100000; i++) {
				char t[48];
				uint64_t idx;
				snprintf(t, sizeof(t), "round %d note %d", round, i);
				if (pb_case_note(cw, "alice", id, t, strlen(t), &idx, NULL) != PB_OK)
					_exit(4);
				if (write(fds[1], &idx, sizeof(idx)) != sizeof(idx))
					_exit(3);
				if (i % 7 == 6) { /* checkpoints too, so a kill can land in one */
					char *c = NULL;
					pb_audit_checkpoint(cw, "carol", &c, NULL);
					free(c);
				}
			}
			_exit(0);
		}
		close(fds[1]);
		struct timespec ts = { 0, (long)(5 + rand() % 60) * 1000000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		uint64_t last = 0, idx;
		bool any = false;
		while (read(fds[0], &idx, sizeof(idx)) == sizeof(idx)) {
			last = idx;
			any = true;
		}
		close(fds[0]);
		waitpid(pid, NULL, 0);
		struct pb_ws *cw = open_ws(path);
		if (!cw)
			continue;
		char bad[128];
		if (pb_audit_check(cw, bad, sizeof(bad), &err) != PB_OK)
			UNIT_FAIL_("round %d: %s", round, err.message);
		uint64_t n = log_size(cw);
		if (any && n <= last)
			UNIT_FAIL_("round %d: acknowledged entry %llu missing (size %llu)", round,
			           (unsigned long long)last, (unsigned long long)n);
		if (any && n > last + 2)
			UNIT_FAIL_("round %d: size %llu after last ack %llu", round, (unsigned long long)n,
			           (unsigned long long)last);
		char *c = NULL;
		if (pb_audit_checkpoint(cw, "carol", &c, &err) != PB_OK)
			UNIT_FAIL_("round %d: checkpoint after the kill: %s", round, err.message);
		free(c);
		pb_ws_close(cw);
	}
	free(ckpt);
	rm_ws(path);
}

int main(void)
{
	RUN(t_users_roles);
	RUN(t_case_flow);
	RUN(t_append_in_txn);
	RUN(t_entry_verified);
	RUN(t_checkpoints_and_proofs);
	RUN(t_export);
	RUN(t_kill_at_every_step);
	RUN(t_fail_at_every_step);
	RUN(t_kill_at_random);
	return UNIT_END("audit");
}
