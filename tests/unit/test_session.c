/* test_session.c - web sign-in in the library: invitations, enrolment,
 * sign-in and its failures and lock, sessions and their expiry, sign-out,
 * and the log entries of each; the HTTP cookie reader probity web uses. */
#include "unit.h"
#include "probity.h"

#include <sqlite3.h>
#include <sodium.h>
#include <string.h>

static struct pb_ws *ws;
static char *dir;

static void setup(void)
{
	struct pb_error err = { 0 };
	dir = unit_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/ws", dir);
	CHECK_OK(pb_ws_init(path, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	CHECK_OK(pb_ws_open(path, 0, &ws, &err), &err);
	CHECK_OK(pb_user_add(ws, NULL, "root", "admin", NULL, &err), &err);
	CHECK_OK(pb_user_add(ws, "root", "alice", "analyst", NULL, &err), &err);
}

static void teardown(void)
{
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static bool last_action(void *ctx, const struct pb_audit_entry *e)
{
	snprintf(ctx, 64, "%s %s", e->action, e->actor);
	return true;
}

static void last_entry(char out[64])
{
	struct pb_audit_status st;
	struct pb_error err = { 0 };
	out[0] = '\0';
	if (pb_audit_status(ws, &st, &err) == PB_OK && st.size)
		pb_audit_list(ws, 0, st.size - 1, 1, last_action, out, &err);
}

static void test_invite_enrol_signin(void)
{
	struct pb_error err = { 0 };
	char token[PB_SECRET_HEX], token2[PB_SECRET_HEX], name[PB_USER_NAME_MAX + 1], last[64];
	CHECK_INT(pb_user_invite(ws, "alice", "alice", 3600, token, NULL, &err), PB_EPERM);
	CHECK_INT(pb_user_invite(ws, "root", "nobody", 3600, token, NULL, &err), PB_EPERM);
	CHECK_OK(pb_user_invite(ws, "root", "alice", 3600, token, NULL, &err), &err);
	CHECK_INT((int)strlen(token), 64);
	last_entry(last);
	CHECK_STR(last, "user.invite root");
	/* a second invitation replaces the first */
	CHECK_OK(pb_user_invite(ws, "root", "alice", 3600, token2, NULL, &err), &err);
	CHECK_INT(pb_user_enrol(ws, token, "long enough pw", name, NULL, &err), PB_EPERM);
	CHECK_INT(pb_user_enrol(ws, token2, "short", name, NULL, &err), PB_EINVAL);
	CHECK_STR(err.field, "password");
	CHECK_INT(pb_user_enrol(ws, token2, "bad \xff utf-8 pw", name, NULL, &err), PB_EINVAL);
	CHECK_OK(pb_user_enrol(ws, token2, "long enough pw", name, NULL, &err), &err);
	CHECK_STR(name, "alice");
	last_entry(last);
	CHECK_STR(last, "user.enrol alice");
	/* used once only */
	CHECK_INT(pb_user_enrol(ws, token2, "another long pw", name, NULL, &err), PB_EPERM);
	CHECK_INT(pb_user_enrol(ws, "zz", "another long pw", name, NULL, &err), PB_EPERM);

	struct pb_session s, g;
	unsigned fails = 0;
	CHECK_INT(pb_session_signin(ws, "alice", "wrong password", "10.0.0.1", &s, &fails, &err),
	          PB_EPERM);
	CHECK_STR(err.message, "wrong user name or password");
	CHECK_INT(fails, 1);
	last_entry(last);
	CHECK_STR(last, "web.signin-fail alice");
	CHECK_INT(pb_session_signin(ws, "<script>\xff", "x", "10.0.0.1", &s, &fails, &err), PB_EPERM);
	CHECK_INT(fails, 2);
	last_entry(last);
	CHECK_STR(last, "web.signin-fail -");
	CHECK_OK(pb_session_signin(ws, "alice", "long enough pw", "10.0.0.1", &s, &fails, &err), &err);
	CHECK_STR(s.user, "alice");
	CHECK_STR(s.role, "analyst");
	CHECK_INT((int)strlen(s.id), 64);
	CHECK(strcmp(s.id, s.csrf) != 0);
	last_entry(last);
	CHECK_STR(last, "web.signin alice");

	CHECK_OK(pb_session_get(ws, s.id, 600, 3600, &g, &err), &err);
	CHECK_STR(g.user, "alice");
	CHECK_STR(g.csrf, s.csrf);
	CHECK_INT(pb_session_get(ws, "00", 600, 3600, &g, &err), PB_ENOENT);
	/* absolute expiry: a session older than absolute_s is gone */
	CHECK_INT(pb_session_get(ws, s.id, 600, -1, &g, &err), PB_ENOENT);
	CHECK_OK(pb_session_signout(ws, s.id, false, &err), &err);
	last_entry(last);
	CHECK_STR(last, "web.signout alice");
	CHECK_INT(pb_session_get(ws, s.id, 600, 3600, &g, &err), PB_ENOENT);
	CHECK_INT(pb_session_signout(ws, s.id, false, &err), PB_ENOENT);

	/* a disabled user's sessions end */
	CHECK_OK(pb_session_signin(ws, "alice", "long enough pw", "10.0.0.2", &s, &fails, &err), &err);
	CHECK_OK(pb_user_disable(ws, "root", "alice", NULL, &err), &err);
	CHECK_INT(pb_session_get(ws, s.id, 600, 3600, &g, &err), PB_ENOENT);
	CHECK_INT(pb_session_signin(ws, "alice", "long enough pw", "10.0.0.2", &s, &fails, &err),
	          PB_EPERM);

	CHECK_OK(pb_session_forbidden(ws, "root", "GET /admin <b>", &err), &err);
	last_entry(last);
	CHECK_STR(last, "web.forbidden root");
	char bad[64];
	CHECK_OK(pb_audit_check(ws, bad, sizeof(bad), &err), &err);
}

static bool replay_diff(void *ctx, const struct pb_replay_diff *d)
{
	(void)ctx;
	printf("replay: %s\n", d->what);
	return true;
}

static bool count_invite(void *ctx, const struct pb_invite *inv)
{
	char *out = ctx;
	size_t n = strlen(out);
	snprintf(out + n, 128 - n, "%s by %s%s;", inv->user, inv->created_by,
	         inv->expires_at > inv->created_at ? "" : " expired");
	return true;
}

/* Pending invitations are listed without their tokens and can be voided. */
static void test_invite_revoke(void)
{
	struct pb_error err = { 0 };
	char token[PB_SECRET_HEX], name[PB_USER_NAME_MAX + 1], last[64], list[128] = "";
	CHECK_OK(pb_user_invite(ws, "root", "alice", 3600, token, NULL, &err), &err);
	CHECK_OK(pb_user_invites(ws, count_invite, list, &err), &err);
	CHECK_STR(list, "alice by root;");
	CHECK_INT(pb_user_invite_revoke(ws, "alice", "alice", NULL, &err), PB_EPERM);
	CHECK_OK(pb_user_invite_revoke(ws, "root", "alice", NULL, &err), &err);
	last_entry(last);
	CHECK_STR(last, "user.invite-revoke root");
	list[0] = '\0';
	CHECK_OK(pb_user_invites(ws, count_invite, list, &err), &err);
	CHECK_STR(list, "");
	CHECK_INT(pb_user_enrol(ws, token, "long enough pw", name, NULL, &err), PB_EPERM);
	/* nothing left to revoke */
	CHECK_INT(pb_user_invite_revoke(ws, "root", "alice", NULL, &err), PB_ENOENT);
	CHECK_STR(err.field, "name");
	CHECK_INT(pb_user_invite_revoke(ws, "root", "", NULL, &err), PB_EINVAL);
	char bad[64];
	CHECK_OK(pb_audit_check(ws, bad, sizeof(bad), &err), &err);
	uint64_t diffs = 0;
	CHECK_OK(pb_log_replay_check(ws, replay_diff, NULL, &diffs, &err), &err);
	CHECK_INT((int)diffs, 0);
}

static void sql(const char *q)
{
	char path[4200];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/ws/probity.db", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	CHECK_INT(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static bool find_diff(void *ctx, const struct pb_replay_diff *d)
{
	char *out = ctx;
	size_t n = strlen(out);
	snprintf(out + n, 512 - n, "%s %s: %s;", d->table, d->row, d->what);
	return true;
}

/* An invitation row written beside the log sets a password the web app
 * accepts; log check names it, and still names the enrolment once the row
 * is gone: the user.enrol entry records the token it used. */
static void test_forged_invite(void)
{
	struct pb_error err = { 0 };
	char token[PB_SECRET_HEX], name[PB_USER_NAME_MAX + 1], q[512], diffs[512] = "";
	memset(token, 'a', 64);
	token[64] = '\0';
	uint8_t h[32];
	char hex[65];
	crypto_hash_sha256(h, (const unsigned char *)token, 64);
	pb_hex(h, 32, hex);
	snprintf(q, sizeof(q),
	         "INSERT INTO web_invite(token_sha256, user, created_at, created_by, expires_at)"
	         " VALUES ('%s', 'alice', 1, 'root', 4102444800)",
	         hex);
	sql(q);
	CHECK_OK(pb_user_enrol(ws, token, "long enough pw", name, NULL, &err), &err);
	uint64_t n = 0;
	CHECK_OK(pb_log_replay_check(ws, find_diff, diffs, &n, &err), &err);
	CHECK(strstr(diffs, "no user.invite entry issued this invitation") != NULL);
	sql("DELETE FROM web_invite");
	diffs[0] = '\0';
	CHECK_OK(pb_log_replay_check(ws, find_diff, diffs, &n, &err), &err);
	CHECK(strstr(diffs, "enrolled with a token no earlier user.invite issued to this user") != NULL);
	/* an honest invitation and enrolment check clean */
	CHECK_OK(pb_user_invite(ws, "root", "root", 3600, token, NULL, &err), &err);
	CHECK_OK(pb_user_enrol(ws, token, "long enough pw", name, NULL, &err), &err);
	diffs[0] = '\0';
	CHECK_OK(pb_log_replay_check(ws, find_diff, diffs, &n, &err), &err);
	CHECK(strstr(diffs, "web_invite alice: entry") != NULL);
	CHECK(strstr(diffs, " root:") == NULL);
}

static void test_lockout(void)
{
	struct pb_error err = { 0 };
	struct pb_session s;
	unsigned fails = 0;
	for (int i = 0; i < PB_SIGNIN_FAILS_MAX; i++)
		CHECK_INT(pb_session_signin(ws, "root", "nope", "10.9.9.9", &s, &fails, &err), PB_EPERM);
	CHECK_INT(fails, PB_SIGNIN_FAILS_MAX);
	/* locked for that address, even with another name */
	CHECK_INT(pb_session_signin(ws, "alice", "nope", "10.9.9.9", &s, &fails, &err), PB_EPERM);
	CHECK(strstr(err.message, "too many") != NULL);
}

static void test_cookie(void)
{
	char out[PB_SECRET_HEX];
	const char *h = "a=1; pb_session=abc ; b=\"q\"";
	CHECK_INT(pb_http_cookie_get(pb_cstr(h), "pb_session", out, sizeof(out)), 1);
	CHECK_STR(out, "abc");
	CHECK_INT(pb_http_cookie_get(pb_cstr(h), "b", out, sizeof(out)), 1);
	CHECK_STR(out, "q");
	CHECK_INT(pb_http_cookie_get(pb_cstr(h), "pb", out, sizeof(out)), 0);
	CHECK_INT(pb_http_cookie_get(pb_cstr("x=1;x=2"), "x", out, sizeof(out)), -3);
	CHECK_INT(pb_http_cookie_get(pb_cstr("x=123456"), "x", out, 4), -2);
}

int main(void)
{
	setup();
	RUN(test_invite_enrol_signin);
	teardown();
	setup();
	RUN(test_lockout);
	teardown();
	setup();
	RUN(test_invite_revoke);
	teardown();
	setup();
	RUN(test_forged_invite);
	teardown();
	RUN(test_cookie);
	return UNIT_END("session");
}
