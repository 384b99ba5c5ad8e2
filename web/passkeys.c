/* passkeys.c - a user's passkeys in the browser (docs/web.md, "Passkeys"):
 * the account page (list, register, revoke), an invitation's passkey on
 * the enrolment page, and "Sign in with a passkey".
 *
 * The challenges the server hands to navigator.credentials.create() and to
 * a sign-in's get() live in memory only: random, 5 minutes, one use, bound
 * to the session that asked (or, before sign-in, to the pb_pre cookie) and
 * to what they are for. A statement's challenge needs none of this: it is
 * SHA-256 of the statement, which the library rebuilds (sign.c). The page
 * script (sign.c) does the browser's part.
 */
#include "web.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

/* ---- server challenges ---------------------------------------------------------- */

#define CHAL_SLOTS 256
#define CHAL_TTL_S 300

struct chal {
	uint8_t bind[32];   /* SHA-256 of what it is for and whose it is */
	uint8_t ch[32];
	int64_t expires;    /* 0: free */
};

static struct chal chals[CHAL_SLOTS];
static pthread_mutex_t chal_mu = PTHREAD_MUTEX_INITIALIZER;

/* What a challenge is bound to: kind ('r' register, 'e' enrol, 's' sign-in)
 * and the session id or the pre-session cookie of this request. */
static bool chal_bind(struct web_ctx *c, char kind, uint8_t out[32])
{
	char who[PB_SECRET_HEX];
	if (c->signed_in)
		memcpy(who, c->cookie_id, sizeof(who));
	else if (pb_http_cookie_get(pb_http_req_header(&c->rq, "cookie"), "pb_pre", who,
	                            sizeof(who)) != 1)
		return false;
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const uint8_t *)&kind, 1);
	crypto_hash_sha256_update(&h, (const uint8_t *)who, strlen(who));
	crypto_hash_sha256_final(&h, out);
	sodium_memzero(who, sizeof(who));
	return true;
}

/* A new challenge (base64url into out); the oldest is dropped when full. */
static bool chal_new(struct web_ctx *c, char kind, char out[64])
{
	uint8_t bind[32];
	if (!chal_bind(c, kind, bind))
		return false;
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&chal_mu);
	size_t pick = 0;
	for (size_t i = 0; i < CHAL_SLOTS; i++) {
		if (chals[i].expires <= now) {
			pick = i;
			break;
		}
		if (chals[i].expires < chals[pick].expires)
			pick = i;
	}
	memcpy(chals[pick].bind, bind, 32);
	pb_random(chals[pick].ch, 32);
	chals[pick].expires = now + CHAL_TTL_S;
	web_b64url(chals[pick].ch, 32, out, 64);
	pthread_mutex_unlock(&chal_mu);
	return true;
}

/* The challenge b64 issued to this request's owner for kind, unexpired:
 * into out, and used up when take. */
static bool chal_find(struct web_ctx *c, char kind, const char *b64, bool take, uint8_t out[32])
{
	uint8_t bind[32], ch[32];
	size_t n = 0;
	if (!chal_bind(c, kind, bind) ||
	    sodium_base642bin(ch, sizeof(ch), b64, strlen(b64), NULL, &n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    n != 32)
		return false;
	int64_t now = (int64_t)time(NULL);
	bool found = false;
	pthread_mutex_lock(&chal_mu);
	for (size_t i = 0; i < CHAL_SLOTS && !found; i++) {
		struct chal *k = &chals[i];
		if (k->expires > now && !sodium_memcmp(k->bind, bind, 32) &&
		    !sodium_memcmp(k->ch, ch, 32)) {
			found = true;
			memcpy(out, k->ch, 32);
			if (take)
				memset(k, 0, sizeof(*k));
		}
	}
	pthread_mutex_unlock(&chal_mu);
	return found;
}

/* ---- helpers ---------------------------------------------------------------------- */

static void bad_field(struct web_ctx *c, bool json)
{
	if (json)
		web_json_error(c, 400, "a field is malformed, too long or given twice");
	else
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
}

/* The declared RP ID into rp (JSON error answered when there is none). */
static bool rp_of(struct web_ctx *c, char rp[PB_PASSKEY_ORIGIN_MAX])
{
	char origin[PB_PASSKEY_ORIGIN_MAX];
	struct pb_error err = { 0 };
	if (pb_passkey_origin(c->ws, origin, rp, &err) == PB_OK)
		return true;
	web_json_error(c, 409, "this workspace declares no web origin for passkeys yet: an admin "
	                       "declares it (probity user passkey origin WS ORIGIN)");
	return false;
}

/* JSON for create(): challenge, rp_id, user, user_id, exclude. */
static void create_options(struct web_ctx *c, char kind, const char *user)
{
	char rp[PB_PASSKEY_ORIGIN_MAX], ch[64], uid[64];
	if (!user[0]) {
		web_json_error(c, 400, "no user to register a passkey for");
		return;
	}
	if (!rp_of(c, rp))
		return;
	if (!chal_new(c, kind, ch)) {
		web_json_error(c, 403, "no session or sign-in cookie: reload the page");
		return;
	}
	/* the authenticator's user handle: stable per user, not the name itself */
	uint8_t h[32];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)"probity user ", 13);
	crypto_hash_sha256_update(&st, (const uint8_t *)user, strlen(user));
	crypto_hash_sha256_final(&st, h);
	web_b64url(h, 16, uid, sizeof(uid));
	web_json(c, 200, json_pack("{ss ss ss ss so}", "challenge", ch, "rp_id", rp, "user", user,
	                           "user_id", uid, "exclude", web_passkeys_valid(c, user)));
}

/* Answers a registration's failure: the statement's JSON, 403 or the error. */
static void add_failed(struct web_ctx *c, enum pb_status st, const struct pb_error *err)
{
	if (st == PB_EPERM && !err->field[0]) {
		web_page_message(c, 403, "Passkey not registered", err->message);
		return;
	}
	web_lib_error(c, st, err);
}

/* A registration's fields posted by the script, checked against the
 * challenge issued for kind, and pb_passkey_add as actor; a failure is
 * answered (the statement step's JSON too). The challenge is used up
 * unless this was the statement step. */
static enum pb_status add_posted(struct web_ctx *c, char kind, const char *actor,
                                 const char *token, struct pb_error *err)
{
	char ch64[64], cred[1400], label[4 * 64 + 1];
	char *att = malloc(c->body.len + 1), *cdj = malloc(c->body.len + 1);
	enum pb_status st = PB_EINVAL;
	uint8_t ch[32];
	if (!att || !cdj) {
		snprintf(err->message, sizeof(err->message), "out of memory");
		st = PB_ENOMEM;
	} else if (!web_form(c, "challenge", ch64, sizeof(ch64)) ||
	           !web_form(c, "cred", cred, sizeof(cred)) ||
	           !web_form(c, "label", label, sizeof(label)) ||
	           !web_form(c, "attestation", att, c->body.len + 1) ||
	           !web_form(c, "client_data", cdj, c->body.len + 1)) {
		snprintf(err->message, sizeof(err->message),
		         "a field is malformed, too long or given twice");
	} else if (!att[0] || !cdj[0]) {
		snprintf(err->message, sizeof(err->message),
		         "no passkey was made: register with the button (the page's script asks "
		         "your authenticator)");
	} else if (!chal_find(c, kind, ch64, false, ch)) {
		snprintf(err->message, sizeof(err->message),
		         "the registration's challenge is unknown, used or expired: register again");
		st = PB_EPERM;
	} else {
		c->sign_allow = cred; /* the new passkey signs its own registration */
		struct pb_passkey_reg r = { .user = actor, .name = label[0] ? label : NULL,
			                    .attestation_object = att, .client_data_json = cdj,
			                    .challenge = ch, .challenge_len = 32,
			                    .invite_token = token && token[0] ? token : NULL };
		char fp[PB_PASSKEY_FP_MAX];
		st = pb_passkey_add(c->ws, actor, &r, fp, NULL, err);
		if (st != PB_ESTATEMENT)
			chal_find(c, kind, ch64, true, ch);
		else
			web_sign_statement(c); /* while cred, its allow list, is here */
		c->sign_allow = NULL;
	}
	free(att);
	free(cdj);
	if (st && st != PB_ESTATEMENT)
		add_failed(c, st, err);
	return st;
}

/* ---- the account page ------------------------------------------------------------ */

struct list_ctx {
	struct web_ctx *c;
	bool admin_view; /* everyone's, with the user's name and the admin's revoke */
	size_t n;
};

void web_key_cells(struct web_ctx *c, uint64_t added, bool revoked, uint64_t revoked_idx,
                   const char *reason, const char *action, const char *user,
                   const char *field, const char *value, size_t n)
{
	web_printf(c, "<td>entry <a href=\"/log/%llu\">%llu</a></td>", (unsigned long long)added,
	           (unsigned long long)added);
	if (revoked) {
		web_printf(c, "<td>revoked at entry <a href=\"/log/%llu\">%llu</a>: ",
		           (unsigned long long)revoked_idx, (unsigned long long)revoked_idx);
		web_escs(c, reason);
		web_puts(c, "</td><td></td></tr>");
		return;
	}
	web_printf(c, "<td>active</td><td><form method=\"post\" action=\"%s\" data-sign>", action);
	web_csrf_field(c);
	web_puts(c, "<input type=\"hidden\" name=\"user\" value=\"");
	web_escs(c, user);
	web_printf(c, "\"><input type=\"hidden\" name=\"%s\" value=\"", field);
	web_escs(c, value);
	web_printf(c, "\"><label for=\"reason-%zu\">Reason</label><input type=\"text\" "
	              "id=\"reason-%zu\" name=\"reason\" required>"
	              "<button class=\"go\" type=\"submit\">Revoke</button></form></td></tr>",
	           n, n);
}

static bool key_row(void *ctx, const struct pb_passkey *k)
{
	struct list_ctx *l = ctx;
	struct web_ctx *c = l->c;
	if (!l->n++)
		web_printf(c, "<div class=\"scroll\" tabindex=\"0\"><table id=\"passkeys\"><thead><tr>%s"
		              "<th scope=\"col\">Name</th><th scope=\"col\">Fingerprint</th>"
		              "<th scope=\"col\">Last counter</th><th scope=\"col\">Added</th>"
		              "<th scope=\"col\">Status</th><th scope=\"col\">Revoke</th></tr></thead><tbody>",
		           l->admin_view ? "<th scope=\"col\">User</th>" : "");
	web_puts(c, "<tr>");
	if (l->admin_view)
		web_cells(c, 1, (const char *const[]){ k->user });
	web_cells(c, 1, (const char *const[]){ k->name ? k->name : "" });
	web_puts(c, "<td><code>");
	web_escs(c, k->fp);
	web_printf(c, "</code></td><td class=\"num\">%u</td>", (unsigned)k->sign_count);
	web_key_cells(c, k->added_idx, k->revoked, k->revoked_idx, k->revoke_reason,
	              l->admin_view ? "/admin/passkey-revoke" : "/account/passkey-revoke", k->user,
	              "fp", k->fp, l->n);
	return true;
}

void web_passkey_table(struct web_ctx *c, const char *user)
{
	struct list_ctx l = { .c = c, .admin_view = user == NULL };
	struct pb_error err = { 0 };
	enum pb_status st = pb_passkey_list(c->ws, user, key_row, &l, &err);
	if (l.n)
		web_puts(c, "</tbody></table></div>");
	else if (!st)
		web_puts(c, "<p id=\"no-passkeys\">No passkeys.</p>");
	if (st) {
		web_puts(c, "<p class=\"err\">");
		web_escs(c, err.message);
		web_puts(c, "</p>");
	}
}

/* The registration form, opened (data-options: where the script gets
 * create()'s options) for the caller's hidden fields, then closed. */
static void register_open(struct web_ctx *c, const char *action, const char *options,
                          const char *pre)
{
	web_printf(c, "<form id=\"pk-register\" class=\"box\" method=\"post\" action=\"%s\" "
	              "data-options=\"%s\"",
	           action, options);
	if (pre) /* the pre-session token, which the script posts as csrf */
		web_printf(c, " data-csrf=\"%s\"", pre);
	web_puts(c, ">");
}

static void register_close(struct web_ctx *c, bool token_field)
{
	if (token_field)
		web_puts(c, "<label for=\"token\">Invitation token (the end of your enrolment link: "
		            "a signed workspace registers a passkey under an admin's invitation)</label>"
		            "<input type=\"text\" id=\"token\" name=\"token\" autocomplete=\"off\">");
	web_puts(c, "<label for=\"label\">A name for it (\"work laptop\")</label>"
	            "<input type=\"text\" id=\"label\" name=\"label\" maxlength=\"64\">"
	            "<button class=\"go\" type=\"button\" data-passkey=\"register\">Register a "
	            "passkey</button></form>");
}

static void page_account(struct web_ctx *c)
{
	web_page_begin(c, "Your account");
	web_puts(c, "<p>Signed in as <strong>");
	web_escs(c, c->s.user);
	web_printf(c, "</strong> (%s).</p><h2>Your passkeys</h2>", c->s.role);
	web_passkey_table(c, c->s.user);
	web_puts(c, "<h2>Register a passkey</h2><p>A passkey (this device's authenticator or a "
	            "security key) signs you in and, in a signed workspace, signs each change you "
	            "make: the log keeps its signature for anyone to verify.</p>");
	register_open(c, "/account/passkey", "/account/passkey/options", NULL);
	web_csrf_field(c);
	register_close(c, web_ws_signed(c));
	web_page_end(c);
}

void web_passkey_revoke(struct web_ctx *c, bool admin)
{
	char user[PB_USER_NAME_MAX * 4 + 1], fp[PB_PASSKEY_FP_MAX * 2], reason[2048];
	if (!web_form(c, "user", user, sizeof(user)) || !web_form(c, "fp", fp, sizeof(fp)) ||
	    !web_form(c, "reason", reason, sizeof(reason))) {
		bad_field(c, false);
		return;
	}
	struct pb_error err = { 0 };
	enum pb_status st = pb_passkey_revoke(c->ws, c->s.user, admin ? user : c->s.user, fp, reason,
	                                      NULL, &err);
	if (st)
		web_lib_error(c, st, &err);
	else
		web_redirect(c, admin ? "/admin/passkeys" : "/account");
}

/* ---- before sign-in: the enrolment's passkey, sign-in with one ------------------- */

void web_passkey_enrol_offer(struct web_ctx *c, const char *user, const char *token)
{
	char tok[PB_SECRET_HEX];
	web_pre_token(c, tok);
	if (!web_ws_signed(c)) {
		web_puts(c, "<p>Once signed in, you may register a passkey on your account page.</p>");
		return;
	}
	web_puts(c, "<h2>Register a passkey</h2><p>This workspace is signed: every change you make "
	            "is signed by your passkey. Register one now, under this invitation.</p>");
	register_open(c, "/enrol/passkey", "/enrol/passkey/options", tok);
	web_puts(c, "<input type=\"hidden\" name=\"token\" value=\"");
	web_escs(c, token);
	web_puts(c, "\"><input type=\"hidden\" name=\"user\" value=\"");
	web_escs(c, user);
	web_puts(c, "\">");
	register_close(c, false);
}

void web_passkey_signin_offer(struct web_ctx *c, const char *pre)
{
	web_printf(c, "<h2>Or with a passkey</h2><form id=\"pk-signin\" class=\"box\" method=\"post\" "
	              "action=\"/signin/passkey\" data-options=\"/signin/passkey/options\" "
	              "data-csrf=\"%s\">"
	              "<button class=\"go\" type=\"button\" data-passkey=\"signin\">Sign in with a "
	              "passkey</button></form>",
	           pre);
}

static void post_signin_passkey(struct web_ctx *c)
{
	char ch64[64], cred[1400], ad[1400], sig[600], *cdj = malloc(c->body.len + 1);
	uint8_t ch[32];
	struct pb_error err = { 0 };
	enum pb_status st = PB_EPERM;
	unsigned fails = 0;
	struct pb_session s;
	if (!cdj || !web_form(c, "challenge", ch64, sizeof(ch64)) ||
	    !web_form(c, "wa_cred", cred, sizeof(cred)) || !web_form(c, "wa_authdata", ad, sizeof(ad)) ||
	    !web_form(c, "wa_sig", sig, sizeof(sig)) ||
	    !web_form(c, "wa_clientdata", cdj, c->body.len + 1))
		snprintf(err.message, sizeof(err.message), "a field is malformed, too long or given twice");
	else if (!chal_find(c, 's', ch64, true, ch))
		snprintf(err.message, sizeof(err.message),
		         "the sign-in's challenge is unknown, used or expired: try again");
	else {
		struct pb_passkey_assertion a = { .credential_id = cred, .authenticator_data = ad,
			                          .client_data_json = cdj, .signature = sig };
		st = pb_session_signin_passkey(c->ws, &a, ch, 32, c->addr, &s, &fails, &err);
	}
	free(cdj);
	if (st) {
		web_signin_throttle(fails);
		web_page_message(c, fails >= PB_SIGNIN_FAILS_MAX ? 429 : 403, "Sign in",
		                 err.message[0] ? err.message : "the passkey did not sign you in");
		return;
	}
	web_session_cookie(c, s.id);
	sodium_memzero(&s, sizeof(s));
	web_redirect(c, "/");
}

bool web_passkeys_public(struct web_ctx *c, bool get, bool post)
{
	(void)get;
	bool opt_s = web_path_is(c, "/signin/passkey/options"), in = web_path_is(c, "/signin/passkey");
	bool opt_e = web_path_is(c, "/enrol/passkey/options"), en = web_path_is(c, "/enrol/passkey");
	if (!opt_s && !in && !opt_e && !en)
		return false;
	if (!post) {
		web_header(c, "Allow: POST");
		web_page_message(c, 405, "Not allowed", "only POST");
		return true;
	}
	if (!web_pre_ok(c)) {
		if (opt_s || opt_e)
			web_json_error(c, 403, "the form's token does not match: reload the page");
		else
			web_page_message(c, 403, "Forbidden", "the form's token does not match: reload the page");
		return true;
	}
	char rp[PB_PASSKEY_ORIGIN_MAX], ch[64];
	if (opt_s) {
		if (!rp_of(c, rp))
			return true;
		if (!chal_new(c, 's', ch))
			web_json_error(c, 403, "no sign-in cookie: reload the page");
		else
			web_json(c, 200, json_pack("{ss ss}", "challenge", ch, "rp_id", rp));
		return true;
	}
	if (in) {
		post_signin_passkey(c);
		return true;
	}
	char user[PB_USER_NAME_MAX * 4 + 1], token[PB_SECRET_HEX * 2];
	if (!web_form(c, "user", user, sizeof(user)) || !web_form(c, "token", token, sizeof(token))) {
		bad_field(c, opt_e);
		return true;
	}
	/* before sign-in only the invitation speaks for the user: the library
	 * checks the token is theirs (a signed workspace's rule) */
	if (!web_ws_signed(c) || !token[0]) {
		if (opt_e)
			web_json_error(c, 403, "an invitation's passkey is for a signed workspace: sign in "
			                       "and register it on your account page");
		else
			web_page_message(c, 403, "Passkey not registered",
			                 "an invitation's passkey is for a signed workspace: sign in and "
			                 "register it on your account page");
		return true;
	}
	if (opt_e) {
		create_options(c, 'e', user);
		return true;
	}
	struct pb_error err = { 0 };
	if (add_posted(c, 'e', user, token, &err))
		return true;
	web_page_begin(c, "Passkey registered");
	web_puts(c, "<p class=\"ok\">Your passkey is registered: sign in with it.</p>"
	            "<p><a href=\"/signin\">Sign in</a></p>");
	web_page_end(c);
	return true;
}

/* ---- the page file ---------------------------------------------------------------- */

bool web_passkey_pages(struct web_ctx *c, bool get, bool post)
{
	if (get && web_path_is(c, "/account")) {
		page_account(c);
		return true;
	}
	if (post && web_path_is(c, "/account/passkey/options")) {
		create_options(c, 'r', c->s.user);
		return true;
	}
	if (post && web_path_is(c, "/account/passkey")) {
		char token[PB_SECRET_HEX * 2];
		if (!web_form(c, "token", token, sizeof(token))) {
			bad_field(c, false);
			return true;
		}
		struct pb_error err = { 0 };
		if (!add_posted(c, 'r', c->s.user, token, &err))
			web_redirect(c, "/account");
		return true;
	}
	if (post && web_path_is(c, "/account/passkey-revoke")) {
		web_passkey_revoke(c, false);
		return true;
	}
	return false;
}
