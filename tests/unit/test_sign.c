/* test_sign.c - the write side of signed actors (log/sign.c, auth/keys.c):
 * the mode recorded by the log's first entry, the first admin's entry signed
 * by the key it registers, the key registry's rules, the statement-only
 * stop, and the canonical checker's rule for "actors". Keys are ssh-keygen's
 * test-only ones in tests/data/ident, copied to 0600 files. */
#include "unit.h"
#include "auth/auth.h"
#include "log/audit.h"

#include <jansson.h>
#include <sys/stat.h>

static char *dir;
static char key_alice[4200], key_bob[4200];

static void copy_key(const char *name, char *out)
{
	snprintf(out, 4200, "%s/%s", dir, name);
	char cmd[9000];
	snprintf(cmd, sizeof(cmd), "cp tests/data/ident/%s '%s' && chmod 600 '%s'", name, out, out);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot copy the test key %s\n", name);
}

static char *pub(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "tests/data/ident/%s.pub", name);
	FILE *f = fopen(path, "r");
	char *line = calloc(1, 1024);
	if (f && line && fgets(line, 1024, f))
		line[strcspn(line, "\r\n")] = '\0';
	if (f)
		fclose(f);
	return line;
}

static struct pb_ws *new_ws(const char *name, bool is_unsigned)
{
	struct pb_error err = { 0 };
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct pb_ws_init_options o = { .unsigned_actors = is_unsigned };
	struct pb_ws *ws = NULL;
	CHECK_OK(pb_ws_init(path, &o, &err), &err);
	CHECK_OK(pb_ws_open(path, 0, &ws, &err), &err);
	return ws;
}

static json_t *entry(struct pb_ws *ws, uint64_t idx)
{
	char *data = NULL;
	size_t len = 0;
	struct pb_error err = { 0 };
	CHECK_OK(pb__audit_entry_verified(ws, idx, &data, &len, &err), &err);
	json_t *e = data ? json_loadb(data, len, 0, NULL) : NULL;
	free(data);
	return e;
}

static bool count_key(void *ctx, const struct pb_user_key *k)
{
	(*(int *)ctx)++;
	if (!strcmp(k->user, "bob"))
		CHECK(k->revoked && k->revoke_reason && !strcmp(k->revoke_reason, "laptop lost"));
	return true;
}

static void test_signed_first_admin(void)
{
	struct pb_ws *ws = new_ws("s", false);
	struct pb_error err = { 0 };
	char *alice = pub("alice"), *bob = pub("bob");
	CHECK(pb_ws_actors_signed(ws));
	/* no key: the first admin of a signed workspace needs one */
	CHECK_INT(pb_user_add(ws, NULL, "alice", "admin", NULL, &err), PB_EPERM);
	CHECK_STR(err.field, "key");
	/* a key but nothing to sign with */
	CHECK_INT(pb_user_add_key(ws, NULL, "alice", "admin", alice, NULL, &err), PB_EPERM);
	CHECK_STR(err.field, "identity");
	/* signed with another key than the one it registers */
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_bob }, &err),
	         &err);
	CHECK_INT(pb_user_add_key(ws, NULL, "alice", "admin", alice, NULL, &err), PB_EPERM);
	CHECK(strstr(err.message, "must sign with the key it registers") != NULL);
	/* the statement only: stops before writing, hands it out */
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .statement_only = true }, &err),
	         &err);
	CHECK(pb_ws_statement(ws, NULL) == NULL);
	CHECK_INT(pb_user_add_key(ws, NULL, "alice", "admin", alice, NULL, &err), PB_ESTATEMENT);
	CHECK_STR(pb_status_name(PB_ESTATEMENT), "statement");
	const char *ns = NULL;
	const char *st = pb_ws_statement(ws, &ns);
	CHECK(st && strstr(st, "\"action\":\"user.add\"") && strstr(st, "\"size\":0"));
	CHECK_STR(ns, "probity@v1");
	uint64_t size = 1;
	CHECK_OK(pb__audit_size(ws, &size, &err), &err);
	CHECK_INT(size, 0);
	/* with its own key: written, entry 0 says signed and carries the sig */
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_alice }, &err),
	         &err);
	uint64_t idx = 9;
	CHECK_OK(pb_user_add_key(ws, NULL, "alice", "admin", alice, &idx, &err), &err);
	CHECK_INT(idx, 0);
	json_t *e = entry(ws, 0);
	CHECK_STR(json_string_value(json_object_get(e, "actors")), "signed");
	json_t *sig = json_object_get(e, "sig");
	CHECK_STR(json_string_value(json_object_get(sig, "ns")), "probity@v1");
	CHECK_STR(json_string_value(json_object_get(sig, "key_fp")),
	          json_string_value(json_object_get(json_object_get(e, "details"), "key_fp")));
	CHECK(json_integer_value(json_object_get(json_object_get(sig, "log"), "size")) == 0);
	json_decref(e);
	/* one key, one user */
	CHECK_INT(pb_user_add_key(ws, "alice", "bob", "approver", alice, NULL, &err), PB_EEXIST);
	CHECK(strstr(err.message, "is already registered to 'alice'") != NULL);
	CHECK_OK(pb_user_add_key(ws, "alice", "bob", "approver", bob, &idx, &err), &err);
	CHECK_INT(idx, 1);
	/* bob's key signs for bob only, and bob may not manage keys */
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_bob }, &err),
	         &err);
	CHECK_INT(pb_user_add(ws, "alice", "carol", "analyst", NULL, &err), PB_EPERM);
	CHECK(strstr(err.message, "registered to 'bob', not to 'alice'") != NULL);
	CHECK_INT(pb_user_key_revoke(ws, "bob", "bob", bob, "lost", NULL, &err), PB_EPERM);
	/* revoke (reason required), then the key signs nothing more */
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_alice }, &err),
	         &err);
	CHECK_INT(pb_user_key_revoke(ws, "alice", "bob", bob, "", NULL, &err), PB_EINVAL);
	CHECK_STR(err.field, "reason");
	CHECK_OK(pb_user_key_revoke(ws, "alice", "bob", bob, "laptop lost", &idx, &err), &err);
	CHECK_INT(pb_user_key_revoke(ws, "alice", "bob", bob, "again", NULL, &err), PB_ESTATE);
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_bob }, &err),
	         &err);
	CHECK_INT(pb_user_set_role(ws, "bob", "bob", "admin", NULL, &err), PB_EPERM);
	/* a revoked key cannot come back, to anyone */
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_alice }, &err),
	         &err);
	CHECK_INT(pb_user_key_add(ws, "alice", "bob", bob, NULL, &err), PB_EEXIST);
	int n = 0;
	CHECK_OK(pb_user_key_list(ws, NULL, count_key, &n, &err), &err);
	CHECK_INT(n, 2);
	/* web sessions sign nothing: with no signer at all, an invited user
	 * enrols, signs in and out (exempt entries); a change still needs a key */
	char token[PB_SECRET_HEX], name[PB_USER_NAME_MAX + 1];
	CHECK_OK(pb_user_invite(ws, "alice", "alice", 3600, token, NULL, &err), &err);
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ 0 }, &err), &err);
	CHECK_OK(pb_user_enrol(ws, token, "long enough pw", name, NULL, &err), &err);
	struct pb_session sess;
	unsigned fails = 0;
	CHECK_OK(pb_session_signin(ws, "alice", "long enough pw", "127.0.0.1", &sess, &fails, &err),
	         &err);
	CHECK_OK(pb_session_signout(ws, sess.id, false, &err), &err);
	CHECK_INT(pb_user_disable(ws, "alice", "bob", NULL, &err), PB_EPERM);
	CHECK_STR(err.field, "identity");
	free(alice);
	free(bob);
	pb_ws_close(ws);
}

static void test_unsigned_mode(void)
{
	struct pb_ws *ws = new_ws("u", true);
	struct pb_error err = { 0 };
	CHECK(!pb_ws_actors_signed(ws));
	CHECK_OK(pb_user_add(ws, NULL, "root", "admin", NULL, &err), &err);
	json_t *e = entry(ws, 0);
	CHECK_STR(json_string_value(json_object_get(e, "actors")), "unsigned");
	CHECK(json_object_get(e, "sig") == NULL);
	json_decref(e);
	CHECK(!pb_ws_actors_signed(ws));
	/* "actors" belongs to entry 0 only */
	const char *bad = "{\"action\":\"x\",\"actor\":\"a\",\"actors\":\"signed\",\"index\":1,"
	                  "\"time\":\"2026-01-01T00:00:00Z\",\"v\":1}";
	struct pb_str s = { bad, strlen(bad) };
	CHECK_INT(pb_audit_entry_check(NULL, 1, &s, &err), PB_EFORMAT);
	const char *good = "{\"action\":\"x\",\"actor\":\"a\",\"actors\":\"signed\",\"index\":0,"
	                   "\"time\":\"2026-01-01T00:00:00Z\",\"v\":1}";
	CHECK_OK(pb_audit_entry_check(NULL, 0, &(struct pb_str){ good, strlen(good) }, &err), &err);
	const char *odd = "{\"action\":\"x\",\"actor\":\"a\",\"actors\":\"maybe\",\"index\":0,"
	                  "\"time\":\"2026-01-01T00:00:00Z\",\"v\":1}";
	CHECK_INT(pb_audit_entry_check(NULL, 0, &(struct pb_str){ odd, strlen(odd) }, &err),
	          PB_EFORMAT);
	pb_ws_close(ws);
}

int main(void)
{
	dir = unit_tmpdir();
	copy_key("alice", key_alice);
	copy_key("bob", key_bob);
	RUN(test_signed_first_admin);
	RUN(test_unsigned_mode);
	unit_rm_rf(dir);
	free(dir);
	return UNIT_END("sign");
}
