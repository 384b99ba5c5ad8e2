/* web.h - probity web: the review team's web app (docs/web.md).
 *
 * A front like cli/ and server/: it reaches the library only through
 * probity.h. loop.c accepts connections (a thread each, bounded) and reads
 * requests with the library's fuzzed HTTP parser (pb_http_req_parse);
 * page.c builds answers (escaping, the page shell, the security headers on
 * every answer); routes.c signs people in and serves the pages.
 */
#ifndef PB_WEB_H
#define PB_WEB_H

#include "probity.h"

#include <jansson.h>

struct web_options {
	const char *ws_path;
	const char *listen;      /* "127.0.0.1:8443", "[::1]:8443" or "unix:PATH" */
	unsigned max_conns;      /* connection threads at most */
	int64_t idle_s;          /* a session ends after this long unused */
	int64_t absolute_s;      /* ... and this long after sign-in in any case */
	unsigned timeout_s;      /* a slow client's request or a keep-alive wait */
	const char *tls_cert;    /* PEM chain: serve HTTPS (with tls_key), or NULL */
	const char *tls_key;
	const char *trusted_proxy; /* a peer ("127.0.0.1", "unix") whose X-Forwarded-For
	                            * and X-Forwarded-Proto are believed, or NULL */
	bool quiet;
	const struct pb_catalog *cat; /* for scans and evidence checks, or NULL */
	const char *policies_dir;     /* the shipped policies a scan offers, or NULL */
};

/* Serves until SIGTERM or SIGINT. Fails when it cannot listen. */
enum pb_status web_run(const struct web_options *o, struct pb_error *err);

/* ---- one request and its answer (page.c) ------------------------------------- */

struct web_ctx {
	const struct web_options *o;
	struct pb_ws *ws;             /* this connection's, opened on first use */
	struct pb_http_req rq;
	struct pb_str body;
	char addr[64];                /* the client, for the record and the sign-in
	                               * throttle: the peer, or the trusted proxy's
	                               * X-Forwarded-For */
	bool tls;                     /* cookies get Secure, answers HSTS: our TLS,
	                               * or the trusted proxy's X-Forwarded-Proto */
	bool signed_in;
	struct pb_session s;
	char cookie_id[PB_SECRET_HEX]; /* the session id the request carried */
	char nonce[33];               /* CSP nonce of this answer */
	/* the answer */
	int status;
	const char *ctype;
	struct pb_buf head;           /* extra header lines, each ending CRLF */
	struct pb_buf out;            /* the body */
	bool close;
	int send_fd;                  /* a file sent as the body instead of out
	                               * (send_len bytes; loop.c closes it), or -1 */
	uint64_t send_len;
	int upload_fd;                /* an upload's body over PB_HTTP_BODY_MAX, read
	                               * to an unlinked file (upload_len bytes), or -1 */
	size_t upload_len;
	const char *sign_allow;       /* the one credential (base64url) that may sign
	                               * this request's statement (a registration's
	                               * own), or NULL: the user's passkeys (sign.c) */
	bool sign_given;              /* the request carries a passkey's assertion */
	int64_t sign_at;              /* the statement step's clock, handed to the
	                               * script and given back as wa_at */
};

/* Uploads (a case's documents) may be this large: their bodies are read to
 * a temporary file, not held in memory. */
#define WEB_UPLOAD_MAX ((size_t)32 << 20)

/* Appends s[0..n) HTML-escaped (& < > " '), each byte of invalid UTF-8 and
 * each control but tab and newline as U+FFFD. */
void web_esc(struct web_ctx *c, const char *s, size_t n);
void web_escs(struct web_ctx *c, const char *s); /* NULL: nothing */
/* Appends formatted text as is (the caller escapes what comes from outside). */
void web_printf(struct web_ctx *c, const char *fmt, ...) PB_PRINTF_(2, 3);
void web_puts(struct web_ctx *c, const char *s);
/* Appends an extra header line ("Location: /"), CRLF added. */
void web_header(struct web_ctx *c, const char *fmt, ...) PB_PRINTF_(2, 3);

/* Table cells: <td>text</td> for each of n texts, escaped (NULL: empty). */
void web_cells(struct web_ctx *c, size_t n, const char *const *texts);
/* One row of a two-column table: <tr><th scope=row>label</th><td>text</td></tr>. */
void web_row_th(struct web_ctx *c, const char *label, const char *text);

/* The page shell: opens the document with title (escaped) and the
 * navigation for the signed-in user's role; web_page_end closes it. */
void web_page_begin(struct web_ctx *c, const char *title);
void web_page_end(struct web_ctx *c);
/* A whole small page with a status: title and a message (both escaped). */
void web_page_message(struct web_ctx *c, int status, const char *title, const char *msg);
/* A 303 to path (a local path, not escaped: the caller's own). */
void web_redirect(struct web_ctx *c, const char *path);
/* The hidden CSRF field of the session, for a form. */
void web_csrf_field(struct web_ctx *c);

/* The serialised answer: status line, security headers, extra headers and
 * body into buf. */
void web_answer(struct web_ctx *c, struct pb_buf *buf);

/* Appends text (a case note) as a small, safe Markdown: escaped first, then
 * paragraphs, lists, `code`, **strong**, *em* and http(s) links (md.c). */
void web_markdown(struct web_ctx *c, const char *text, size_t n);

/* ---- the profile page cache (pcache.c) ------------------------------------- */

/* The data version of profiles now (pb_profile_data_version, read from the
 * log size seen last time). */
enum pb_status web_pcache_version(struct pb_ws *ws, int64_t *version, struct pb_error *err);
/* Appends the page body stored for key at version to c->out: true. Else
 * false, and the caller holds the build lock (one build at a time) until it
 * calls web_pcache_put with the body it built, or web_pcache_done. */
bool web_pcache_get(struct web_ctx *c, int64_t version, const char *key);
void web_pcache_put(int64_t version, const char *key, const char *body, size_t len);
void web_pcache_done(void);

/* A template for mkostemp or mkdtemp: "$TMPDIR/prefix-XXXXXX" (else /tmp):
 * uploads and exports pass through there. */
void web_tmp_template(char *out, size_t cap, const char *prefix);

/* Writes folder dir, as name/ and everything in it, as a ustar archive
 * (with its end blocks) to fd (tar.c). */
enum pb_status web_tar_dir(const char *dir, const char *name, int fd, struct pb_error *err);

/* ---- req.c: request values, roles, errors ------------------------------------ */

#define WEB_ROLE_ANY "analyst,approver,auditor,admin"

/* Is the signed-in user's role one of roles ("analyst,approver")? */
bool web_role_in(const struct web_ctx *c, const char *roles);
/* A form field (POST body) or query value into out; "" when absent. False
 * when it is malformed, too long or given twice. */
bool web_form(struct web_ctx *c, const char *key, char *out, size_t cap);
bool web_query(struct web_ctx *c, const char *key, char *out, size_t cap);
/* The whole request body in *body: c->body, or an upload spooled to
 * c->upload_fd, mapped (*map, web_body_release unmaps it). False when it
 * cannot be mapped. */
bool web_body(struct web_ctx *c, struct pb_str *body, void **map);
void web_body_release(struct web_ctx *c, void *map);
/* Appends s percent-encoded for a path segment or a query value. */
void web_url_enc(struct web_ctx *c, const char *s);
/* Decodes a path segment (percent-encoding) into out; false when bad. */
bool web_seg_dec(struct pb_str s, char *out, size_t cap);
/* A decimal id > 0 from text; 0 when not one. */
int64_t web_parse_id(const char *s, size_t n);
/* A string member of a JSON object, "" when absent. */
const char *web_jstr(json_t *o, const char *k);
/* 403, and a log entry naming what was refused. */
void web_forbid(struct web_ctx *c, const char *why);
/* The answer for a library error (status by its code). */
void web_lib_error(struct web_ctx *c, enum pb_status st, const struct pb_error *err);
/* A path "PREFIX<id>" or "PREFIX<id>/...": the id (0 when there is none)
 * and in *rest what follows it ("" or "/..."). */
int64_t web_path_id(struct pb_str path, const char *prefix, struct pb_str *rest);
bool web_path_is(struct web_ctx *c, const char *p);

/* ---- sign.c: passkeys sign in the browser ---------------------------------------- */

/* Is the workspace's every change signed (pb_ws_actors_signed)? */
bool web_ws_signed(struct web_ctx *c);
/* Before any handler of a POST: the workspace's signing for this request
 * from the form (sign_step=statement: stop at the statement; wa_*: a
 * passkey's assertion over wa_statement). False when it answered an error. */
bool web_sign_setup(struct web_ctx *c);
/* The answer to PB_ESTATEMENT: JSON {statement, challenge, ns, allow, rp_id}
 * (web_lib_error calls it). */
void web_sign_statement(struct web_ctx *c);
/* The page's one script (with the answer's nonce): signs data-sign forms,
 * registers passkeys, signs in with one (web_page_end calls it). */
void web_script(struct web_ctx *c);
/* The credential ids (base64url) of user's unrevoked passkeys: a new array. */
json_t *web_passkeys_valid(struct web_ctx *c, const char *user);
/* A JSON answer: j (its reference is taken), or {"error": msg}. */
void web_json(struct web_ctx *c, int status, json_t *j);
void web_json_error(struct web_ctx *c, int status, const char *msg);
/* b[0..n) as base64url without padding into out ("" when cap is short). */
void web_b64url(const uint8_t *b, size_t n, char *out, size_t cap);

/* Passkey sign-in and an invitation's passkey (passkeys.c): the requests of
 * no session it owns (true) or not (false); web_route asks it before
 * sign-in. */
bool web_passkeys_public(struct web_ctx *c, bool get, bool post);
/* The page file of /account (passkeys.c). */
bool web_passkey_pages(struct web_ctx *c, bool get, bool post);
/* The table of user's passkeys (NULL: everyone's, for an admin), each
 * unrevoked one with a form to revoke it with a reason. */
void web_passkey_table(struct web_ctx *c, const char *user);
/* POST of that form: the user's own passkey, or (admin) anyone's. */
void web_passkey_revoke(struct web_ctx *c, bool admin);
/* The last cells of a key's row (an SSH key or a passkey), closing it:
 * added at entry, its status (active, or revoked at entry: reason) and,
 * when active, a data-sign form posting user, field=value and a reason to
 * action; n numbers the row's ids. */
void web_key_cells(struct web_ctx *c, uint64_t added, bool revoked, uint64_t revoked_idx,
                   const char *reason, const char *action, const char *user,
                   const char *field, const char *value, size_t n);
/* The page file of /admin and below (admin.c): admins only (403 and a log entry). */
bool web_admin_pages(struct web_ctx *c, bool get, bool post);
/* On the sign-in page: "Sign in with a passkey" (pre: the pre-session
 * token); after an enrolment: register a passkey under the invitation. */
void web_passkey_signin_offer(struct web_ctx *c, const char *pre);
void web_passkey_enrol_offer(struct web_ctx *c, const char *user, const char *token);

/* ---- page files ------------------------------------------------------------- */
/* Each file of pages beyond routes.c answers the requests it owns (returns
 * true) and leaves the others (false). web_route calls them in turn for a
 * signed-in user, after the Origin and CSRF checks; a page checks its own
 * roles (web_role_in, web_forbid). */
typedef bool web_pages_fn(struct web_ctx *c, bool get, bool post);

/* ---- plans.c: enforcement plans -------------------------------------------- */

/* /plans, /plans/N[/...], /cases/N/plans/{new,check} (a page file). */
bool web_plans_pages(struct web_ctx *c, bool get, bool post);
/* The "Plans" part of case case_id's page: its plans, and a link to draft one. */
void web_plans_of_case(struct web_ctx *c, int64_t case_id);

/* ---- routes.c ---------------------------------------------------------------- */

/* Handles the request in c (c->status and c->out set on return). */
void web_route(struct web_ctx *c);
/* May the request in c, whose body is over PB_HTTP_BODY_MAX, send it? Only
 * an upload to a route that takes one, from a signed-in user whose role may
 * make it, from our own origin: loop.c then reads the body to a file. */
bool web_upload_accept(struct web_ctx *c);

/* The pre-session token: the pb_pre cookie, set when absent; does the
 * form's csrf field carry it (a form posted before sign-in)? */
void web_pre_token(struct web_ctx *c, char out[PB_SECRET_HEX]);
bool web_pre_ok(struct web_ctx *c);
/* Sets the session cookie to id, or clears it (NULL). */
void web_session_cookie(struct web_ctx *c, const char *id);
/* After a failed sign-in (fails recent failures): slows the next guess. */
void web_signin_throttle(unsigned fails);

#endif /* PB_WEB_H */
