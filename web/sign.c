/* sign.c - the browser signs: passkeys over the statements of a signed
 * workspace (docs/web.md, "Passkeys"; the design is issue 14's).
 *
 * The generic flow, for every form marked data-sign: the page's script
 * posts the form once more with sign_step=statement; web_sign_setup makes
 * the workspace stop the write with PB_ESTATEMENT, the very handler of the
 * form runs, and web_lib_error answers web_sign_statement's JSON (the
 * statement, its challenge, the credentials that may sign it, the RP ID).
 * The script shows the statement, asks the authenticator
 * (navigator.credentials.get, user verification required) and submits the
 * form for real with the assertion in wa_* fields; web_sign_setup hands
 * them to the library, which writes the entry with them or refuses it.
 * Handlers need no change. The script (one, inline, with the answer's CSP
 * nonce: no other script runs) also drives passkey registration and
 * sign-in (passkeys.c).
 */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

/* The script of every page. Forms marked data-sign are signed when the
 * body says the workspace is (data-signed); buttons marked data-passkey
 * register a passkey or sign in with one. */
static const char *const script[] = {
	"(function(){'use strict';",
	"const signed=document.body.dataset.signed==='1';",
	"function b64u(b){const u=new Uint8Array(b);let s='';for(let i=0;i<u.length;i++)s+=String.fromCharCode(u[i]);",
	"return btoa(s).replace(/\\+/g,'-').replace(/\\//g,'_').replace(/=+$/,'');}",
	"function unb64u(s){s=s.replace(/-/g,'+').replace(/_/g,'/');while(s.length%4)s+='=';",
	"const r=atob(s),u=new Uint8Array(r.length);for(let i=0;i<r.length;i++)u[i]=r.charCodeAt(i);return u;}",
	"function say(f,m){let p=document.getElementById('pk-error');",
	"if(!p){p=document.createElement('p');p.id='pk-error';p.className='err';p.setAttribute('role','alert');}",
	"f.parentNode.insertBefore(p,f);p.textContent=m;}",
	"function waMsg(e){if(e&&e.name==='NotAllowedError')return 'the passkey did not answer: cancelled, timed out or refused by the authenticator; nothing was changed ('+e.message+')';",
	"if(e&&e.name==='SecurityError')return 'the browser refused the passkey for this site: the workspace must declare this origin ('+location.origin+') and its RP ID';",
	"if(e&&e.name==='InvalidStateError')return 'this authenticator already holds a passkey of yours here';",
	"return 'the passkey did not answer: '+(e&&e.message?e.message:e);}",
	"async function post(url,data){const r=await fetch(url,{method:'POST',body:data,credentials:'same-origin',",
	"headers:{Accept:'application/json'}});const ct=r.headers.get('content-type')||'';",
	"if(!ct.startsWith('application/json'))return {html:true,status:r.status};",
	"const j=await r.json();j.status=r.status;return j;}",
	"function field(f,n,v){let i=null;for(const e of f.querySelectorAll('input[type=hidden]'))if(e.name===n)i=e;",
	"if(!i){i=document.createElement('input');i.type='hidden';i.name=n;f.appendChild(i);}i.value=v;}",
	"function ask(text){return new Promise(function(res){const d=document.createElement('dialog');",
	"d.id='pk-dialog';d.setAttribute('aria-labelledby','pk-title');",
	"const h=document.createElement('h2');h.id='pk-title';h.textContent='Sign this change with your passkey';",
	"const p=document.createElement('p');p.textContent='Your authenticator signs exactly this statement; it goes into the log with the signature, for anyone to verify.';",
	"const pre=document.createElement('pre');pre.id='pk-statement';",
	"try{pre.textContent=JSON.stringify(JSON.parse(text),null,2);}catch(e){pre.textContent=text;}",
	"const ok=document.createElement('button');ok.type='button';ok.className='go';ok.id='pk-sign';ok.textContent='Sign with my passkey';",
	"const no=document.createElement('button');no.type='button';no.className='go alt';no.id='pk-cancel';no.textContent='Cancel';",
	"d.append(h,p,pre,ok,document.createTextNode(' '),no);document.body.appendChild(d);",
	"let done=false;function end(v){if(done)return;done=true;if(d.open)d.close();d.remove();res(v);}",
	"ok.addEventListener('click',function(){end(true);});no.addEventListener('click',function(){end(false);});",
	"d.addEventListener('cancel',function(){end(false);});d.showModal();ok.focus();});}",
	"async function assert(j){const c=await navigator.credentials.get({publicKey:{challenge:unb64u(j.challenge),",
	"rpId:j.rp_id,userVerification:'required',timeout:120000,",
	"allowCredentials:j.allow.map(function(id){return {type:'public-key',id:unb64u(id)};})}});",
	"return {wa_cred:b64u(c.rawId),wa_authdata:b64u(c.response.authenticatorData),",
	"wa_clientdata:b64u(c.response.clientDataJSON),wa_sig:b64u(c.response.signature)};}",
	/* the statement step, the dialog, the authenticator: true when the
	 * form carries the assertion now */
	"async function sign(f,sub){const fd=new FormData(f);if(sub&&sub.name)fd.set(sub.name,sub.value);",
	"for(const k of ['sign_step','wa_statement','wa_at','wa_cred','wa_authdata','wa_clientdata','wa_sig'])fd.delete(k);",
	"fd.set('sign_step','statement');",
	/* a document upload posts its file in both steps: the statement names its hash */
	"const j=await post(f.action,f.enctype==='multipart/form-data'?fd:new URLSearchParams(fd));",
	"if(j.html)return true;",
	"if(j.error){say(f,j.error);return false;}",
	"if(!(await ask(j.statement))){say(f,'not signed: you cancelled, nothing was changed');return false;}",
	"let a;try{a=await assert(j);}catch(e){say(f,waMsg(e));return false;}",
	"field(f,'wa_statement',j.statement);field(f,'wa_at',String(j.at));for(const k in a)field(f,k,a[k]);",
	"if(sub&&sub.name)field(f,sub.name,sub.value);return true;}",
	"document.addEventListener('submit',function(e){const f=e.target;",
	"if(!signed||!f.hasAttribute('data-sign'))return;e.preventDefault();const sub=e.submitter;",
	"if(!window.PublicKeyCredential){say(f,'this browser has no passkeys (WebAuthn): it cannot sign');return;}",
	"sign(f,sub).then(function(go){if(go){if(sub&&sub.name)field(f,sub.name,sub.value);f.submit();}},",
	"function(x){say(f,'not signed: '+x);});});",
	/* a passkey for this user: create(), then (signed) its own statement */
	"function pre(f){if(f.dataset.csrf)field(f,'csrf',f.dataset.csrf);}",
	"async function register(f){pre(f);const o=await post(f.dataset.options,new URLSearchParams(new FormData(f)));",
	"if(o.html||o.error){say(f,o.error||'the server refused ('+o.status+')');return;}",
	"let c;try{c=await navigator.credentials.create({publicKey:{challenge:unb64u(o.challenge),",
	"rp:{id:o.rp_id,name:'probity'},user:{id:unb64u(o.user_id),name:o.user,displayName:o.user},",
	"pubKeyCredParams:[{type:'public-key',alg:-7},{type:'public-key',alg:-8}],",
	"authenticatorSelection:{residentKey:'required',requireResidentKey:true,userVerification:'required'},",
	"attestation:'none',timeout:120000,",
	"excludeCredentials:o.exclude.map(function(id){return {type:'public-key',id:unb64u(id)};})}});}",
	"catch(e){say(f,waMsg(e));return;}",
	"field(f,'challenge',o.challenge);field(f,'attestation',b64u(c.response.attestationObject));",
	"field(f,'client_data',b64u(c.response.clientDataJSON));field(f,'cred',b64u(c.rawId));",
	"if(signed&&!(await sign(f,null)))return;f.submit();}",
	"async function signin(f){pre(f);const o=await post(f.dataset.options,new URLSearchParams(new FormData(f)));",
	"if(o.html||o.error){say(f,o.error||'the server refused ('+o.status+')');return;}",
	"let a;try{a=await assert({challenge:o.challenge,rp_id:o.rp_id,allow:[]});}catch(e){say(f,waMsg(e));return;}",
	"field(f,'challenge',o.challenge);for(const k in a)field(f,k,a[k]);f.submit();}",
	"document.addEventListener('click',function(e){const b=e.target.closest('button[data-passkey]');if(!b)return;",
	"e.preventDefault();const f=b.form;",
	"if(!window.PublicKeyCredential){say(f,'this browser has no passkeys (WebAuthn)');return;}",
	"(b.dataset.passkey==='register'?register(f):signin(f)).catch(function(x){say(f,'not done: '+x);});});",
	"})();",
};

void web_script(struct web_ctx *c)
{
	web_printf(c, "<script nonce=\"%s\">", c->nonce);
	for (size_t i = 0; i < sizeof(script) / sizeof(script[0]); i++)
		web_puts(c, script[i]);
	web_puts(c, "</script>");
}

bool web_ws_signed(struct web_ctx *c)
{
	return c->ws && pb_ws_actors_signed(c->ws);
}

/* ---- the request's signing ------------------------------------------------------ */

/* Where the signing fields are: the url-encoded body, or the parts of a
 * multipart one (a document upload: the statement names the file's hash,
 * so both steps send the file; a large body is in c->upload_fd). */
struct sign_src {
	struct web_ctx *c;
	bool multipart;
	char boundary[80];
	struct pb_str body;
	void *map;
};

static bool src_open(struct sign_src *s, struct web_ctx *c)
{
	*s = (struct sign_src){ .c = c, .body = c->body };
	struct pb_str ct = pb_http_req_header(&c->rq, "content-type");
	if (!(ct.len >= 10 && !strncasecmp(ct.ptr, "multipart/", 10)))
		return true;
	s->multipart = true;
	return pb_http_multipart_boundary(ct, s->boundary, sizeof(s->boundary)) &&
	       web_body(c, &s->body, &s->map);
}

static void src_close(struct sign_src *s)
{
	web_body_release(s->c, s->map);
}

/* A field of any length: malloc'd ("" when absent), NULL when malformed or
 * given twice (or the multipart body is malformed). */
static char *src_dup(struct sign_src *s, const char *key)
{
	if (!s->multipart) {
		char *v = malloc(s->body.len + 1);
		if (v && !web_form(s->c, key, v, s->body.len + 1)) {
			free(v);
			v = NULL;
		}
		return v;
	}
	struct pb_http_part p, found = { 0 };
	size_t pos = 0, n = 0;
	int r;
	while ((r = pb_http_multipart_next(s->body, s->boundary, &pos, &p)) == 1)
		if (pb_str_eq_cstr(p.name, key)) {
			found = p;
			n++;
		}
	if (r < 0 || n > 1 || (n && found.filename.ptr))
		return NULL;
	char *v = malloc(found.data.len + 1);
	if (v) {
		if (found.data.len)
			memcpy(v, found.data.ptr, found.data.len);
		v[found.data.len] = '\0';
		if (strlen(v) != found.data.len) { /* a NUL inside */
			free(v);
			v = NULL;
		}
	}
	return v;
}

bool web_sign_setup(struct web_ctx *c)
{
	struct pb_error err = { 0 };
	c->sign_allow = NULL;
	c->sign_given = false;
	c->sign_at = 0;
	if (!c->ws)
		return true;
	/* the connection's workspace keeps what it was given: nothing by default */
	pb_ws_set_signing(c->ws, NULL, NULL);
	pb_ws_set_clock(c->ws, 0, NULL);
	if (!pb_str_eq_cstr(c->rq.method, "POST") || !pb_ws_actors_signed(c->ws))
		return true;
	struct sign_src src;
	char *step = NULL;
	if (!src_open(&src, c) || !(step = src_dup(&src, "sign_step")) || strlen(step) > 15) {
		free(step);
		src_close(&src);
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return false;
	}
	struct pb_sign_opts o = { 0 };
	if (!strcmp(step, "statement")) {
		free(step);
		src_close(&src);
		o.statement_only = true;
		/* both steps write at this time (plan apply's "from" is signed) */
		if (pb_ws_set_signing(c->ws, &o, &err) ||
		    pb_ws_set_clock(c->ws, c->sign_at = pb_now(), &err)) {
			web_lib_error(c, err.code, &err);
			return false;
		}
		return true;
	}
	free(step);
	const char *keys[] = { "wa_statement", "wa_cred", "wa_authdata", "wa_clientdata", "wa_sig",
		               "wa_at" };
	char *v[6] = { 0 };
	bool bad = false;
	for (size_t i = 0; i < 6; i++)
		bad |= !(v[i] = src_dup(&src, keys[i]));
	src_close(&src);
	enum pb_status st = PB_OK;
	if (bad) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
	} else if (v[0][0]) {
		o.statement = v[0];
		o.statement_len = strlen(v[0]);
		o.webauthn_credential_id = v[1];
		o.webauthn_authenticator_data = v[2];
		o.webauthn_client_data_json = v[3];
		o.webauthn_signature = v[4];
		int64_t t = 0;
		if (v[5][0] && !(t = web_parse_id(v[5], strlen(v[5])))) {
			st = err.code = PB_EINVAL;
			snprintf(err.message, sizeof(err.message),
			         "the statement's time is not a number of seconds: sign again");
		}
		if (!st && (st = pb_ws_set_signing(c->ws, &o, &err)) == PB_OK && t)
			st = pb_ws_set_clock(c->ws, t, &err);
		if (st)
			web_lib_error(c, st, &err);
		c->sign_given = true;
	}
	for (size_t i = 0; i < 6; i++)
		free(v[i]);
	return !bad && !st;
}

/* ---- the statement's answer ----------------------------------------------------- */

static bool allow_fn(void *ctx, const struct pb_passkey *k)
{
	if (!k->revoked)
		json_array_append_new(ctx, json_string(k->cred_id));
	return true;
}

json_t *web_passkeys_valid(struct web_ctx *c, const char *user)
{
	json_t *a = json_array();
	struct pb_error err = { 0 };
	if (a && user && user[0])
		pb_passkey_list(c->ws, user, allow_fn, a, &err);
	return a;
}

void web_json(struct web_ctx *c, int status, json_t *j)
{
	pb_buf_reset(&c->out);
	c->status = status;
	c->ctype = "application/json";
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	web_puts(c, s ? s : "{\"error\":\"out of memory\"}");
	free(s);
	json_decref(j);
}

void web_json_error(struct web_ctx *c, int status, const char *msg)
{
	web_json(c, status, json_pack("{ss}", "error", msg));
}

void web_b64url(const uint8_t *b, size_t n, char *out, size_t cap)
{
	if (cap < sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
		out[0] = '\0';
		return;
	}
	sodium_bin2base64(out, cap, b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void web_sign_statement(struct web_ctx *c)
{
	const char *ns = NULL;
	const char *text = pb_ws_statement(c->ws, &ns);
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
	struct pb_error err = { 0 };
	if (!text) {
		web_json_error(c, 500, "no statement to sign");
		return;
	}
	if (pb_passkey_origin(c->ws, origin, rp_id, &err)) {
		web_json_error(c, 409, "this workspace declares no web origin for passkeys yet: an "
		                       "admin declares it (probity user passkey origin)");
		return;
	}
	json_t *allow = json_array();
	if (c->sign_allow)
		json_array_append_new(allow, json_string(c->sign_allow));
	else
		json_decref(allow), allow = web_passkeys_valid(c, c->signed_in ? c->s.user : NULL);
	if (!json_array_size(allow)) {
		json_decref(allow);
		web_json_error(c, 403, "register a passkey on your account page (/account) first: in "
		                       "this signed workspace every change is signed by its author's "
		                       "passkey");
		return;
	}
	uint8_t ch[32];
	char chb[64];
	pb_passkey_challenge(text, strlen(text), ch);
	web_b64url(ch, sizeof(ch), chb, sizeof(chb));
	web_json(c, 200, json_pack("{ss ss ss so ss sI}", "statement", text, "challenge", chb, "ns",
	                           ns ? ns : "", "allow", allow, "rp_id", rp_id, "at",
	                           (json_int_t)c->sign_at));
}
