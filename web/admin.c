/* admin.c - the admin's pages (docs/web.md): users and their roles,
 * invitations, SSH keys, everyone's passkeys and the web origin the
 * workspace declares for them. Every change is a library write checked
 * against the admin role and, in a signed workspace, signed by the admin's
 * passkey through the page's generic flow (sign.c: the forms carry
 * data-sign). Anyone else gets 403 and a log entry.
 */
#include "web.h"

#include <stdio.h>
#include <string.h>

static void admin_nav(struct web_ctx *c)
{
	web_puts(c, "<nav aria-label=\"admin\"><p><a href=\"/admin/users\">Users</a> · "
	            "<a href=\"/admin/keys\">SSH keys</a> · <a href=\"/admin/passkeys\">Passkeys</a> · "
	            "<a href=\"/admin/origin\">Web origin</a></p></nav>");
}

static bool user_row(void *ctx, const struct pb_user *u)
{
	struct web_ctx *c = ctx;
	web_puts(c, "<tr>");
	web_cells(c, 5, (const char *const[]){ u->name, u->role, u->disabled ? "disabled" : "active",
	                                       u->created_at, u->created_by });
	web_puts(c, "</tr>");
	return true;
}

/* A pending invitation: who, made by whom and when, until when, and a
 * form to revoke it (never the token: the workspace keeps only its hash). */
static bool invite_row(void *ctx, const struct pb_invite *inv)
{
	struct web_ctx *c = ((void **)ctx)[0];
	size_t *n = ((void **)ctx)[1];
	if (!(*n)++)
		web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table id=\"invites\"><thead><tr>"
		            "<th scope=\"col\">Name</th><th scope=\"col\">Made by</th>"
		            "<th scope=\"col\">Made</th><th scope=\"col\">Expires</th>"
		            "<th scope=\"col\">Link</th></tr></thead><tbody>");
	char made[24], until[24];
	pb_time_format(inv->created_at, made);
	pb_time_format(inv->expires_at, until);
	web_puts(c, "<tr>");
	web_cells(c, 4, (const char *const[]){ inv->user, inv->created_by, made, until });
	web_puts(c, "<td><form method=\"post\" action=\"/admin/invite-revoke\" data-sign>");
	web_csrf_field(c);
	web_puts(c, "<input type=\"hidden\" name=\"name\" value=\"");
	web_escs(c, inv->user);
	web_puts(c, "\"><button class=\"go\" type=\"submit\" aria-label=\"Revoke the invitation of ");
	web_escs(c, inv->user);
	web_puts(c, "\">Revoke</button></form></td></tr>");
	return true;
}

static void page_users(struct web_ctx *c, const char *invite_link)
{
	web_page_begin(c, "Users");
	admin_nav(c);
	if (invite_link) {
		web_puts(c, "<p class=\"ok\">One-time enrolment link (shown once): <code id=\"invite\">");
		web_escs(c, invite_link);
		web_puts(c, "</code></p>");
	}
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Role</th>"
	            "<th scope=\"col\">Status</th><th scope=\"col\">Created</th><th scope=\"col\">By</th>"
	            "</tr></thead><tbody>");
	struct pb_error err = { 0 };
	pb_user_list(c->ws, user_row, c, &err);
	web_puts(c, "</tbody></table></div><h2>Invitations</h2>");
	size_t invites = 0;
	pb_user_invites(c->ws, invite_row, (void *[]){ c, &invites }, &err);
	web_puts(c, invites ? "</tbody></table></div>"
	                    : "<p id=\"no-invites\">No pending invitations.</p>");
	web_puts(c, "<h2>Add a user</h2>"
	            "<form class=\"box\" method=\"post\" action=\"/admin/users\" data-sign>");
	web_csrf_field(c);
	web_puts(c, "<label for=\"uname\">Name</label><input type=\"text\" id=\"uname\" name=\"name\" required>"
	            "<label for=\"role\">Role</label><select id=\"role\" name=\"role\"><option>analyst</option>"
	            "<option>approver</option><option>auditor</option><option>admin</option></select>"
	            "<button class=\"go\" type=\"submit\">Add and invite</button></form>"
	            "<h2>Invite again, change a role or disable</h2><form class=\"box\" method=\"post\" "
	            "action=\"/admin/invite\" data-sign>");
	web_csrf_field(c);
	web_puts(c, "<label for=\"iname\">Name</label><input type=\"text\" id=\"iname\" name=\"name\" required>"
	            "<label for=\"nrole\">New role</label><select id=\"nrole\" name=\"role\"><option>analyst</option>"
	            "<option>approver</option><option>auditor</option><option>admin</option></select>"
	            "<button class=\"go\" type=\"submit\" name=\"do\" value=\"invite\">New enrolment link</button> "
	            "<button class=\"go\" type=\"submit\" name=\"do\" value=\"role\">Change the role</button> "
	            "<button class=\"go\" type=\"submit\" name=\"do\" value=\"disable\">Disable</button></form>");
	web_page_end(c);
}

static void post_users(struct web_ctx *c, bool add)
{
	char name[PB_USER_NAME_MAX * 4 + 1], role[32], act[16];
	if (!web_form(c, "name", name, sizeof(name)) || !web_form(c, "role", role, sizeof(role)) ||
	    !web_form(c, "do", act, sizeof(act))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	struct pb_error err = { 0 };
	enum pb_status st = PB_OK;
	if (add)
		st = pb_user_add(c->ws, c->s.user, name, role, NULL, &err);
	if (!st && !add && (!strcmp(act, "disable") || !strcmp(act, "role"))) {
		st = act[0] == 'd' ? pb_user_disable(c->ws, c->s.user, name, NULL, &err)
		                   : pb_user_set_role(c->ws, c->s.user, name, role, NULL, &err);
		if (st) {
			web_lib_error(c, st, &err);
			return;
		}
		web_redirect(c, "/admin/users");
		return;
	}
	if (!st && add && web_ws_signed(c)) {
		/* each change is signed by its own statement: the invitation is
		 * the next one (New enrolment link) */
		web_redirect(c, "/admin/users");
		return;
	}
	char token[PB_SECRET_HEX];
	if (!st)
		st = pb_user_invite(c->ws, c->s.user, name, 72 * 3600, token, NULL, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	struct pb_str host = pb_http_req_header(&c->rq, "host");
	char link[512];
	snprintf(link, sizeof(link), "%s://%.*s/enrol?token=%s", c->tls ? "https" : "http",
	         (int)(host.len > 200 ? 0 : host.len), host.ptr ? host.ptr : "", token);
	page_users(c, link);
}

/* POST /admin/invite-revoke: the user's pending enrolment link stops
 * working (user.invite-revoke in the log). */
static void post_invite_revoke(struct web_ctx *c)
{
	char name[PB_USER_NAME_MAX * 4 + 1];
	if (!web_form(c, "name", name, sizeof(name))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	struct pb_error err = { 0 };
	enum pb_status st = pb_user_invite_revoke(c->ws, c->s.user, name, NULL, &err);
	if (st)
		web_lib_error(c, st, &err);
	else
		web_redirect(c, "/admin/users");
}

/* ---- SSH keys ----------------------------------------------------------------------- */

static bool key_row(void *ctx, const struct pb_user_key *k)
{
	struct web_ctx *c = ((void **)ctx)[0];
	size_t *n = ((void **)ctx)[1];
	if (!(*n)++)
		web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table id=\"keys\"><thead><tr>"
		            "<th scope=\"col\">User</th><th scope=\"col\">Fingerprint</th>"
		            "<th scope=\"col\">Comment</th><th scope=\"col\">Added</th>"
		            "<th scope=\"col\">Status</th><th scope=\"col\">Revoke</th></tr></thead><tbody>");
	web_puts(c, "<tr>");
	web_cells(c, 1, (const char *const[]){ k->user });
	web_puts(c, "<td><code>");
	web_escs(c, k->fp);
	web_puts(c, "</code></td>");
	web_cells(c, 1, (const char *const[]){ k->comment });
	web_key_cells(c, k->added_idx, k->revoked, k->revoked_idx, k->revoke_reason,
	              "/admin/key-revoke", k->user, "key", k->fp, *n);
	return true;
}

static void page_keys(struct web_ctx *c)
{
	web_page_begin(c, "SSH keys");
	admin_nav(c);
	size_t n = 0;
	struct pb_error err = { 0 };
	enum pb_status st = pb_user_key_list(c->ws, NULL, key_row, (void *[]){ c, &n }, &err);
	if (n)
		web_puts(c, "</tbody></table></div>");
	else if (!st)
		web_puts(c, "<p id=\"no-keys\">No SSH keys.</p>");
	if (st) {
		web_puts(c, "<p class=\"err\">");
		web_escs(c, err.message);
		web_puts(c, "</p>");
	}
	web_puts(c, "<h2>Add a key</h2><form class=\"box\" method=\"post\" action=\"/admin/keys\" "
	            "data-sign>");
	web_csrf_field(c);
	web_puts(c, "<label for=\"kuser\">User</label><input type=\"text\" id=\"kuser\" name=\"user\" "
	            "required><label for=\"kline\">Public key (one line of a .pub file: "
	            "<code>ssh-ed25519 AAAA... comment</code>)</label><textarea id=\"kline\" "
	            "name=\"key\" required></textarea>"
	            "<button class=\"go\" type=\"submit\">Add the key</button></form>");
	web_page_end(c);
}

static void post_key(struct web_ctx *c, bool revoke)
{
	char user[PB_USER_NAME_MAX * 4 + 1], key[16384], reason[2048];
	if (!web_form(c, "user", user, sizeof(user)) || !web_form(c, "key", key, sizeof(key)) ||
	    !web_form(c, "reason", reason, sizeof(reason))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	/* a pasted line: one line, its trailing newline dropped */
	size_t n = strlen(key);
	while (n && (key[n - 1] == '\n' || key[n - 1] == '\r' || key[n - 1] == ' '))
		key[--n] = '\0';
	struct pb_error err = { 0 };
	enum pb_status st = revoke ? pb_user_key_revoke(c->ws, c->s.user, user, key, reason, NULL, &err)
	                           : pb_user_key_add(c->ws, c->s.user, user, key, NULL, &err);
	if (st)
		web_lib_error(c, st, &err);
	else
		web_redirect(c, "/admin/keys");
}

/* ---- the web origin ------------------------------------------------------------------ */

static void page_origin(struct web_ctx *c)
{
	char origin[PB_PASSKEY_ORIGIN_MAX], rp[PB_PASSKEY_ORIGIN_MAX];
	struct pb_error err = { 0 };
	enum pb_status st = pb_passkey_origin(c->ws, origin, rp, &err);
	web_page_begin(c, "Web origin");
	admin_nav(c);
	web_puts(c, "<p>Passkeys are made for one origin and RP ID, which the workspace declares "
	            "in its log (<code>web.origin</code>): every passkey signature is checked "
	            "against the declaration in force. Declaring another RP ID stops the passkeys "
	            "made for the old one.</p>");
	if (st == PB_OK) {
		web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table id=\"origin\"><tbody>");
		web_row_th(c, "Origin", origin);
		web_row_th(c, "RP ID", rp);
		web_puts(c, "</tbody></table></div>");
	} else {
		web_puts(c, "<p id=\"no-origin\">No origin is declared: passkeys cannot be registered "
		            "or used yet.</p>");
	}
	web_puts(c, "<h2>Declare the origin</h2><form class=\"box\" method=\"post\" "
	            "action=\"/admin/origin\" data-sign>");
	web_csrf_field(c);
	web_puts(c, "<label for=\"worigin\">Origin (<code>https://host[:port]</code>, or "
	            "<code>http://localhost:PORT</code>)</label><input type=\"text\" id=\"worigin\" "
	            "name=\"origin\" required><label for=\"rpid\">RP ID (empty: the origin's "
	            "host)</label><input type=\"text\" id=\"rpid\" name=\"rp_id\">"
	            "<button class=\"go\" type=\"submit\">Declare</button></form>");
	web_page_end(c);
}

static void post_origin(struct web_ctx *c)
{
	char origin[PB_PASSKEY_ORIGIN_MAX], rp[PB_PASSKEY_ORIGIN_MAX];
	if (!web_form(c, "origin", origin, sizeof(origin)) || !web_form(c, "rp_id", rp, sizeof(rp))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	struct pb_error err = { 0 };
	enum pb_status st = pb_passkey_origin_set(c->ws, c->s.user, origin, rp[0] ? rp : NULL, NULL,
	                                          &err);
	if (st)
		web_lib_error(c, st, &err);
	else
		web_redirect(c, "/admin/origin");
}

/* ---- the page file ------------------------------------------------------------------- */

bool web_admin_pages(struct web_ctx *c, bool get, bool post)
{
	struct pb_str path = c->rq.path;
	if (path.len < 6 || memcmp(path.ptr, "/admin", 6) || (path.len > 6 && path.ptr[6] != '/'))
		return false;
	if (!web_role_in(c, "admin")) {
		web_forbid(c, "only an admin may manage users");
		return true;
	}
	if (web_path_is(c, "/admin/users")) {
		if (get)
			page_users(c, NULL);
		else
			post_users(c, true);
	} else if (post && web_path_is(c, "/admin/invite-revoke")) {
		post_invite_revoke(c);
	} else if (post && web_path_is(c, "/admin/invite")) {
		post_users(c, false);
	} else if (web_path_is(c, "/admin/keys")) {
		if (get)
			page_keys(c);
		else
			post_key(c, false);
	} else if (post && web_path_is(c, "/admin/key-revoke")) {
		post_key(c, true);
	} else if (get && web_path_is(c, "/admin/passkeys")) {
		web_page_begin(c, "Passkeys");
		admin_nav(c);
		web_puts(c, "<p>Every user's passkeys. Revoking one (with a reason) is a log entry, "
		            "valid for every entry after it.</p>");
		web_passkey_table(c, NULL);
		web_page_end(c);
	} else if (post && web_path_is(c, "/admin/passkey-revoke")) {
		web_passkey_revoke(c, true);
	} else if (web_path_is(c, "/admin/origin")) {
		if (get)
			page_origin(c);
		else
			post_origin(c);
	} else {
		return false;
	}
	return true;
}
