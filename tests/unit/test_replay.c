/* test_replay.c - the replay of the log against the tables beside it: a
 * clean workspace agrees; rows edited, inserted or deleted beside the log are
 * each one difference naming table, row and entry; an actor acting with a
 * role it did not hold is one too; and an export's table snapshot is checked
 * the same way against the exported entries.
 */
#include "unit.h"
#include "auth/auth.h"
#include "case/case.h"

#include <unistd.h>

struct seen {
	int n;
	char table[32], row[32], what[256];
	int64_t entry;
};

static bool keep_first(void *ctx, const struct pb_replay_diff *d)
{
	struct seen *s = ctx;
	if (s->n++ == 0) {
		snprintf(s->table, sizeof(s->table), "%s", d->table);
		snprintf(s->row, sizeof(s->row), "%s", d->row);
		snprintf(s->what, sizeof(s->what), "%s", d->what);
		s->entry = d->entry;
	}
	return false; /* stop reporting: the count goes on */
}

static uint64_t replay(struct pb_ws *w, struct seen *s)
{
	struct pb_error err = { 0 };
	uint64_t n = 99;
	memset(s, 0, sizeof(*s));
	CHECK_OK(pb_log_replay_check(w, keep_first, s, &n, &err), &err);
	return n;
}

static void sql(struct pb_ws *w, const char *q)
{
	struct pb_error err = { 0 };
	CHECK_OK(pb__db_exec(w->db, q, &err), &err);
}

static struct pb_ws *make_ws(char **dir_out, uint64_t *note_index)
{
	char *dir = unit_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/ws", dir);
	*dir_out = dir;
	struct pb_error err = { 0 };
	struct pb_ws *w = NULL;
	CHECK_OK(pb_ws_init(path, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	CHECK_OK(pb_ws_open(path, 0, &w, &err), &err);
	CHECK_OK(pb_user_add(w, NULL, "root", "admin", NULL, &err), &err);
	CHECK_OK(pb_user_add(w, "root", "alice", "analyst", NULL, &err), &err);
	const char *acct[] = { "BA-1" };
	CHECK_OK(pb_customer_add(w, "alice", "Ministry X", acct, 1, NULL, 0, &err), &err);
	struct pb_case_open_options o = { "Ministry X", "Report", "Press report", NULL, NULL };
	int64_t id = 0;
	CHECK_OK(pb_case_open(w, "alice", &o, &id, NULL, &err), &err);
	CHECK_OK(pb_case_note(w, "alice", id, "storage grew", 12, note_index, &err), &err);
	return w;
}

static void t_workspace(void)
{
	char *dir;
	uint64_t note;
	struct pb_ws *w = make_ws(&dir, &note);
	struct seen s;
	CHECK_INT(replay(w, &s), 0);
	CHECK_INT(s.n, 0);

	/* a note's text changed beside its entry */
	sql(w, "UPDATE case_evidence SET summary = json_set(summary, '$.text', 'nothing') "
	       "WHERE kind = 'note'");
	CHECK_INT(replay(w, &s), 1);
	CHECK_STR(s.table, "case_evidence");
	CHECK_INT(s.entry, (int64_t)note);
	CHECK(strstr(s.what, "text differs from entry") != NULL);

	/* the note deleted: the entry has no row */
	sql(w, "DELETE FROM case_evidence WHERE kind = 'note'");
	CHECK_INT(replay(w, &s), 1);
	CHECK_STR(s.row, "-");
	CHECK(strstr(s.what, "row missing") != NULL);

	/* a user inserted, then acting: two differences, the fn stopped at one */
	sql(w, "INSERT INTO app_user(name, role, created_at, created_by) "
	       "VALUES ('eve', 'analyst', 'now', 'root')");
	struct pb_error err = { 0 };
	struct pb_case_open_options o = { "Ministry X", "Planted", "x", NULL, NULL };
	CHECK_OK(pb_case_open(w, "eve", &o, NULL, NULL, &err), &err);
	CHECK_INT(replay(w, &s), 3);
	CHECK_INT(s.n, 1); /* reporting stopped at the first */
	pb_ws_close(w);
	unit_rm_rf(dir);
	free(dir);
}

static void t_export(void)
{
	char *dir;
	uint64_t note;
	struct pb_ws *w = make_ws(&dir, &note);
	struct pb_error err = { 0 };
	char out[4200];
	snprintf(out, sizeof(out), "%s/export", dir);
	char *ck = NULL;
	CHECK_OK(pb_audit_checkpoint(w, "alice", &ck, &err), &err);
	free(ck);
	struct pb_checkpoint cp;
	CHECK_OK(pb_audit_export(w, out, 0, &cp, &err), &err);
	sql(w, "UPDATE review_case SET title = 'Routine'");
	CHECK_OK(pb_log_snapshot_write(w, out, cp.size, &err), &err);
	/* an older size gets no snapshot */
	CHECK_INT(pb_log_snapshot_write(w, out, cp.size - 1, &err), PB_ESTATE);
	struct pb_replay *r = NULL;
	CHECK_INT(pb_replay_open(out, &r, &err), PB_ENOENT);
	CHECK_OK(pb_log_snapshot_write(w, out, cp.size, &err), &err);
	CHECK_OK(pb_replay_open(out, &r, &err), &err);

	struct pb_signer sg;
	CHECK_OK(pb__audit_signer(w, &sg, &err), &err);
	struct pb_tlog_verify_options o = { .keys = &sg.vkey, .nkeys = 1,
		                            .check = pb_replay_entry_check, .check_ctx = r };
	struct pb_tlog_verify_result res;
	CHECK_OK(pb_tlog_verify_dir(out, &o, &res, &err), &err);
	struct seen s = { 0 };
	uint64_t n = 0;
	CHECK_OK(pb_replay_finish(r, res.checkpoint.size, keep_first, &s, &n, &err), &err);
	CHECK_INT(n, 1);
	CHECK_STR(s.table, "review_case");
	CHECK(strstr(s.what, "title differs from entry") != NULL);
	CHECK_INT(pb_replay_finish(r, res.checkpoint.size + 1, NULL, NULL, &n, &err), PB_EVERIFY);
	pb_replay_free(r);
	pb_signer_release(&sg);
	pb_ws_close(w);
	unit_rm_rf(dir);
	free(dir);
}

int main(void)
{
	RUN(t_workspace);
	RUN(t_export);
	return UNIT_END("replay");
}
