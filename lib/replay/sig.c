/* sig.c - the signatures of a signed log, replayed (issue 12's read side).
 *
 * Entries are fed in log order (from the workspace's audit_entry, or from an
 * export's tiles as `log verify` reads them). Two worker threads check each
 * entry on its own (pb__entry_sig_check: the SSHSIG against the statement
 * rebuilt from the entry, the namespace, the leaf hash; a passkey's
 * assertion with the key of the registration they met before it, a verdict
 * the feeding thread takes only for the registration and origin in force,
 * verifying it itself otherwise); the feeding thread
 * then takes their results in log order and checks what needs the history:
 * the key registry at each position (user.add with a key, user.key-add,
 * user.key-revoke: a key is valid after the entry that registers it, the
 * first user.add excepted, and up to the entry that revokes it), the root of
 * the log at the size each statement names (from the leaf hashes fed so
 * far, kept as the tree's perfect subtrees), nonces used once, and the
 * two-person rule of every plan.apply and plan.rollback over the signed
 * approvals it names. Every problem is reported with the entry's index.
 *
 * A log whose first entry does not say "actors":"signed" is unsigned:
 * nothing here applies (its actors are claimed names, and the CLI says so).
 */
#include "replay/sig.h"

#include "ident/ident.h"
#include "log/audit.h"
#include "log/tlog.h"
#include "util/hmap.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

#define BATCH 256
#define RING 8
#define WORKERS 2
#define APPROVALS_MAX 16

struct named {           /* an approval a plan.apply / plan.rollback names */
	uint64_t index;
	char actor[PB_USER_NAME_MAX + 1];
	char fp[64];
};

/* what a passkey's entries (user.passkey-add, web.origin, web.signin,
 * user.invite) tell the sequential checks; heap, for those entries only */
struct pk_res {
	bool reg_ok;                   /* user.passkey-add: the registration verifies */
	char why[320];
	struct pb_webauthn_key key;
	uint32_t count;                /* the registration's, or a sign-in's counter */
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
	bool has_invite, has_token;
	int64_t invite, ttl_s, time;
	char token_sha[65];            /* of the token (passkey-add), the invite's token_sha256 */
	bool signin;                   /* web.signin with a passkey */
};

/* A passkey registration as the workers saw it (the first of its
 * credential they met, whether or not the history accepts it): its key and
 * the origin it was made for. Immutable once published. */
struct wkey {
	uint64_t added;
	struct pb_webauthn_key key;
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
};

struct res {
	uint64_t index;
	uint8_t leaf[32];
	struct pb__entry_sig s;
	bool bad;
	char why[320];
	/* what the sequential checks need from the entry */
	char mode[16];                 /* entry 0: its "actors" */
	char name[PB_USER_NAME_MAX + 1]; /* user.add name; user.key-* user */
	char kfp[64];                  /* the key registered or revoked */
	int64_t plan;
	char sha[65];
	int policy;                    /* plan.policy rollback_approvals */
	int needed;                    /* plan.new / plan.edit approvals_needed */
	size_t nnamed;
	bool named_ok;                 /* "approvals" is an array of {index, actor, key_fp} */
	struct named named[APPROVALS_MAX];
	struct pk_res *pk;
	/* a passkey-signed entry whose assertion a worker verified with the
	 * key of registration wa_key, under the origin that one was made for;
	 * NULL when it could not (the feeding thread verifies it) */
	const struct wkey *wa_key;
	uint32_t wa_count;
};

struct batch {
	size_t n;
	uint64_t index[BATCH];
	size_t off[BATCH], len[BATCH];
	char *buf;
	size_t used, cap;
	struct res *r;
	bool done;
};

struct key {
	char user[PB_USER_NAME_MAX + 1];
	uint64_t added, revoked; /* revoked: UINT64_MAX while valid */
};

struct pkey {             /* a passkey the log registered */
	char user[PB_USER_NAME_MAX + 1];
	uint64_t added, revoked; /* revoked: UINT64_MAX while valid */
	struct pb_webauthn_key key;
	uint32_t count;          /* the largest counter seen */
};

struct approval {
	bool rollback;           /* a plan.rollback-request, else a plan.approve */
	int64_t plan;
	char sha[65];
	char actor[PB_USER_NAME_MAX + 1];
	char fp[64];
};

/* The nonces seen: one per signed entry, so a flat open-addressed table
 * (24 bytes a nonce, no allocation of its own); at = entry index + 1, 0 a
 * free slot. Nonces are random: their first 8 bytes are the hash. */
struct nonce {
	uint8_t n[16];
	uint64_t at;
};

struct nonces {
	struct nonce *slot;
	size_t cap, count;
};

static struct nonce *nonce_find(const struct nonces *t, const uint8_t n[16])
{
	uint64_t h;
	memcpy(&h, n, 8);
	for (size_t i = (size_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
		if (!t->slot[i].at || !memcmp(t->slot[i].n, n, 16))
			return &t->slot[i];
}

/* The entry that used n, or UINT64_MAX when none did. */
static uint64_t nonce_used(const struct nonces *t, const uint8_t n[16])
{
	const struct nonce *x = t->cap ? nonce_find(t, n) : NULL;
	return x && x->at ? x->at - 1 : UINT64_MAX;
}

/* Adds n of entry at; false out of memory. */
static bool nonce_add(struct nonces *t, const uint8_t n[16], uint64_t at)
{
	if ((t->count + 1) * 4 > t->cap * 3) {
		size_t ncap = t->cap ? 2 * t->cap : 4096;
		struct nonce *old = t->slot, *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return false;
		size_t ocap = t->cap;
		t->slot = ns;
		t->cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].at)
				*nonce_find(t, old[i].n) = old[i];
		free(old);
	}
	struct nonce *x = nonce_find(t, n);
	memcpy(x->n, n, 16);
	x->at = at + 1;
	t->count++;
	return true;
}

struct pb__rsig {
	pthread_t th[WORKERS];
	size_t nth;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	bool quit;
	pthread_mutex_t wmu;       /* guards wkeys */
	struct pb_hmap wkeys;      /* fp -> struct wkey, published by the workers */
	struct batch ring[RING];
	uint64_t head, tail, next; /* consume, fill, hand to a worker */
	bool started, decided, is_signed;
	uint64_t fed;
	/* the sequential state */
	struct pb_hmap keys;       /* fp -> struct key */
	struct nonces nonces;      /* every statement's nonce, with its entry */
	struct pb_hmap approvals;  /* entry index (8 bytes) -> struct approval */
	struct pb_hmap authors;    /* "plan\0actor" -> 1 */
	struct pb_hmap bodies;     /* "plan:sha" -> approvals_needed + 1, by plan.new / plan.edit */
	unsigned policy;           /* rollback approvals the log says */
	struct pb_hmap passkeys;   /* fp -> struct pkey */
	struct pb_hmap invites;    /* entry index (8 bytes) -> struct pb__invite */
	struct pb_hmap invite_last; /* user -> last user.invite or user.invite-revoke + 1 */
	bool has_origin;           /* a web.origin entry checked: the origin in force */
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
	struct pb_sha256 h;        /* the feeding thread's (h.ctx NULL: one-shots) */
	uint8_t *nodes[64];        /* perfect subtree hashes by level */
	uint64_t nnodes[64], capnodes[64];
	pb__rsig_report_fn report;
	void *ctx;
	uint64_t nbad;
	uint64_t nsigned;          /* entries whose signature checked */
	char last_action[65];      /* of the last entry fed */
};

/* ---- the entry on its own (a worker) -------------------------------------------- */

static void copy_str(char *dst, size_t cap, json_t *v)
{
	const char *s = json_string_value(v);
	pb__strlcpy(dst, s ? s : "", cap);
}

/* The parts of a passkey's entries (e, details d) the history needs; the
 * registration re-checked here, on a worker, for the origin and RP ID the
 * entry names (the feeding thread compares them with the ones in force). */
static void passkey_parts(json_t *e, json_t *d, struct res *r)
{
	const char *a = r->s.action;
	bool signin = !strcmp(a, "web.signin");
	const char *method = json_string_value(json_object_get(d, "method"));
	if (signin && (!method || strcmp(method, "passkey")))
		return;
	struct pk_res *pk = r->pk = calloc(1, sizeof(*pk));
	if (!pk)
		return; /* the feeding thread says out of memory */
	const char *t = json_string_value(json_object_get(e, "time"));
	if (t)
		pb_time_parse(t, strlen(t), &pk->time, NULL);
	bool invite = !strncmp(a, "user.invite", 11);
	copy_str(r->name, sizeof(r->name), json_object_get(d, invite ? "name" : "user"));
	copy_str(r->kfp, sizeof(r->kfp), json_object_get(d, "key_fp"));
	copy_str(pk->origin, sizeof(pk->origin), json_object_get(d, "origin"));
	copy_str(pk->rp_id, sizeof(pk->rp_id), json_object_get(d, "rp_id"));
	if (signin) {
		pk->signin = true;
		pk->count = (uint32_t)json_integer_value(json_object_get(d, "sign_count"));
	} else if (!strcmp(a, "user.invite")) {
		copy_str(pk->token_sha, sizeof(pk->token_sha), json_object_get(d, "token_sha256"));
		pk->ttl_s = json_integer_value(json_object_get(d, "ttl_s"));
	} else if (!strcmp(a, "user.passkey-add")) {
		struct pb_error err = { 0 };
		pk->reg_ok = !pb__passkey_reg_check(d, r->index, pk->origin, pk->rp_id, &pk->key,
		                                    &pk->count, &err);
		if (!pk->reg_ok) {
			const char *m = err.message, *c = strstr(m, ": ");
			pb__strlcpy(pk->why, !strncmp(m, "entry ", 6) && c ? c + 2 : m, sizeof(pk->why));
		}
		json_t *inv = json_object_get(d, "invite");
		const char *token = json_string_value(json_object_get(d, "token"));
		pk->has_invite = json_is_integer(inv);
		pk->invite = json_integer_value(inv);
		if ((pk->has_token = token != NULL)) {
			uint8_t h[32];
			pb__sha256(token, strlen(token), h);
			pb_hex(h, 32, pk->token_sha);
		}
	}
}

/* A registration that verified, for the workers to check its passkey's
 * entries with; the first one of a credential stays (the history decides
 * which, if any, holds: the feeding thread takes a worker's verdict only
 * when it used the registration in force). Out of memory: not published. */
static void publish(struct pb__rsig *s, const struct res *r)
{
	const struct pk_res *pk = r->pk;
	size_t fl = strlen(r->kfp);
	pthread_mutex_lock(&s->wmu);
	struct wkey *w = pb__hmap_get(&s->wkeys, r->kfp, fl) ? NULL : calloc(1, sizeof(*w));
	if (w) {
		w->added = r->index;
		w->key = pk->key;
		w->key.cose = pk->key.cose_len ? malloc(pk->key.cose_len) : NULL;
		if (w->key.cose)
			memcpy(w->key.cose, pk->key.cose, pk->key.cose_len);
		memcpy(w->origin, pk->origin, sizeof(w->origin));
		memcpy(w->rp_id, pk->rp_id, sizeof(w->rp_id));
		if ((pk->key.cose_len && !w->key.cose) ||
		    pb__hmap_put(&s->wkeys, r->kfp, fl, w, NULL) != PB_OK) {
			pb__webauthn_key_release(&w->key);
			free(w);
		}
	}
	pthread_mutex_unlock(&s->wmu);
}

/* A passkey-signed entry's assertion, verified on the worker with the key
 * of a registration before it, when one was published. */
static void passkey_verify(struct pb__rsig *s, struct res *r)
{
	const char *fp = r->s.key_fp;
	pthread_mutex_lock(&s->wmu);
	const struct wkey *w = pb__hmap_get(&s->wkeys, fp, strlen(fp));
	pthread_mutex_unlock(&s->wmu);
	uint32_t now = 0;
	struct pb_error e2 = { 0 };
	if (w && w->added < r->index &&
	    pb__entry_webauthn_verify(&r->s, r->index, &w->key, w->origin, w->rp_id, &now, &e2) ==
	            PB_OK) {
		r->wa_key = w;
		r->wa_count = now;
	}
}

static void check_one(struct pb__rsig *s, struct pb_sha256 *h, const char *text, size_t len,
                      uint64_t index, struct res *r)
{
	memset(r, 0, sizeof(*r));
	r->index = index;
	pb__hasher_leaf(h, text, len, r->leaf);
	json_t *e = NULL, *dd = NULL;
	struct pb_error err = { 0 };
	/* the details matter only to entry 0 and the registry's and plans'
	 * entries (the passkeys' want the entry's time too); the rest take the
	 * path that builds no JSON tree, and the registry's and plans' a tree of
	 * their details alone */
	static const char user[] = "{\"action\":\"user.", plan[] = "{\"action\":\"plan.",
	                  web[] = "{\"action\":\"web.", pk[] = "{\"action\":\"user.passkey-",
	                  inv[] = "{\"action\":\"user.invite";
#define PREFIX(p) (len >= sizeof(p) && !memcmp(text, p, sizeof(p) - 1))
	bool full = index == 0 || PREFIX(web) || PREFIX(pk) || PREFIX(inv);
	bool details = !full && (PREFIX(user) || PREFIX(plan));
#undef PREFIX
	if (pb__entry_sig_check(text, len, index, &r->s, full ? &e : NULL, &err)) {
		r->bad = true;
		const char *m = err.message, *c = strstr(m, ": "); /* "entry N: " said by the report */
		pb__strlcpy(r->why, !strncmp(m, "entry ", 6) && c ? c + 2 : m, sizeof(r->why));
	} else if (r->s.webauthn) {
		passkey_verify(s, r);
	}
	struct pb_str ds;
	json_error_t je;
	if (details && pb__entry_member(text, len, "details", &ds))
		dd = json_loadb(ds.ptr, ds.len, 0, &je);
	if (!e && !dd)
		return;
	json_t *d = e ? json_object_get(e, "details") : dd;
	if (index == 0)
		copy_str(r->mode, sizeof(r->mode), json_object_get(e, "actors"));
	const char *a = r->s.action;
	if (!strcmp(a, "user.add")) {
		copy_str(r->name, sizeof(r->name), json_object_get(d, "name"));
		copy_str(r->kfp, sizeof(r->kfp), json_object_get(d, "key_fp"));
	} else if (!strcmp(a, "user.key-add") || !strcmp(a, "user.key-revoke")) {
		copy_str(r->name, sizeof(r->name), json_object_get(d, "user"));
		copy_str(r->kfp, sizeof(r->kfp), json_object_get(d, "key_fp"));
	} else if (!strncmp(a, "user.passkey-", 13) || !strncmp(a, "user.invite", 11) ||
	           !strcmp(a, "web.origin") || !strcmp(a, "web.signin")) {
		if (e)
			passkey_parts(e, d, r);
		if (r->pk && r->pk->reg_ok && !strcmp(a, "user.passkey-add") && !r->bad)
			publish(s, r);
	} else if (!strcmp(a, "plan.policy")) {
		r->policy = (int)json_integer_value(json_object_get(d, "rollback_approvals"));
	} else if (!strncmp(a, "plan.", 5)) {
		r->plan = json_integer_value(json_object_get(d, "plan"));
		copy_str(r->sha, sizeof(r->sha), json_object_get(d, "sha256"));
		r->needed = (int)json_integer_value(json_object_get(d, "approvals_needed"));
		json_t *ap = json_object_get(d, "approvals"), *v;
		size_t i;
		r->named_ok = json_is_array(ap) && json_array_size(ap) <= APPROVALS_MAX;
		json_array_foreach(ap, i, v) {
			json_t *ix = json_object_get(v, "index");
			if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
			    !json_is_string(json_object_get(v, "actor")) ||
			    !json_is_string(json_object_get(v, "key_fp")) || i >= APPROVALS_MAX) {
				r->named_ok = false;
				break;
			}
			struct named *n = &r->named[r->nnamed++];
			n->index = (uint64_t)json_integer_value(ix);
			copy_str(n->actor, sizeof(n->actor), json_object_get(v, "actor"));
			copy_str(n->fp, sizeof(n->fp), json_object_get(v, "key_fp"));
		}
	}
	json_decref(e);
	json_decref(dd);
}

static void *worker(void *arg)
{
	struct pb__rsig *s = arg;
	/* a hasher of its own: a one-shot SHA-256 fetches the digest each time
	 * (a lock shared by the threads), a third of the hashing's cost */
	struct pb_sha256 h = { 0 }, *hp = pb__sha256_init(&h) == PB_OK ? &h : NULL;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->quit && s->next == s->tail)
			pthread_cond_wait(&s->work, &s->mu);
		if (s->next == s->tail && s->quit)
			break;
		struct batch *b = &s->ring[s->next++ % RING];
		pthread_mutex_unlock(&s->mu);
		for (size_t i = 0; i < b->n; i++)
			check_one(s, hp, b->buf + b->off[i], b->len[i], b->index[i], &b->r[i]);
		pthread_mutex_lock(&s->mu);
		b->done = true;
		pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->mu);
	pb__sha256_release(&h);
	return NULL;
}

/* ---- the history (the feeding thread, in log order) -------------------------------- */

static void problem(struct pb__rsig *s, uint64_t index, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct pb__rsig *s, uint64_t index, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	s->nbad++;
	if (s->report)
		s->report(s->ctx, index, what);
}

static struct pb_sha256 *feeder_hasher(struct pb__rsig *s)
{
	return s->h.ctx ? &s->h : NULL;
}

static bool node_push(struct pb__rsig *s, unsigned level, const uint8_t h[32])
{
	if (s->nnodes[level] == s->capnodes[level]) {
		uint64_t cap = s->capnodes[level] ? 2 * s->capnodes[level] : 1024;
		uint8_t *p = realloc(s->nodes[level], cap * 32);
		if (!p)
			return false;
		s->nodes[level] = p;
		s->capnodes[level] = cap;
	}
	memcpy(s->nodes[level] + 32 * s->nnodes[level]++, h, 32);
	return true;
}

/* Appends a leaf; every pair it completes makes a node one level up. */
static bool tree_append(struct pb__rsig *s, const uint8_t leaf[32])
{
	uint8_t h[32];
	memcpy(h, leaf, 32);
	for (unsigned l = 0; l < 63; l++) {
		if (!node_push(s, l, h))
			return false;
		if (s->nnodes[l] % 2)
			return true;
		pb__hasher_node(feeder_hasher(s), s->nodes[l] + 32 * (s->nnodes[l] - 2), h, h);
	}
	return true;
}

/* The root of the log's first size entries (size <= the leaves appended):
 * RFC 6962's, the hash of its perfect subtrees (one per bit of size, the
 * largest leftmost) folded from the right. */
static void root_at(struct pb__rsig *s, uint64_t size, uint8_t out[32])
{
	bool have = false;
	for (unsigned l = 0; l < 64; l++) {
		if (!(size >> l & 1))
			continue;
		const uint8_t *node = s->nodes[l] + 32 * ((size >> l) - 1);
		if (have)
			pb__hasher_node(feeder_hasher(s), node, out, out);
		else
			memcpy(out, node, 32);
		have = true;
	}
	if (!have)
		pb__sha256("", 0, out);
}

static bool register_key(struct pb__rsig *s, const struct res *r)
{
	struct key *k = pb__hmap_get(&s->keys, r->kfp, strlen(r->kfp));
	if (k) {
		problem(s, r->index, "key %s is already registered to '%s' (entry %llu)", r->kfp,
		        k->user, (unsigned long long)k->added);
		return true;
	}
	if (!(k = calloc(1, sizeof(*k))))
		return false;
	pb__strlcpy(k->user, r->name, sizeof(k->user));
	k->added = r->index;
	k->revoked = UINT64_MAX;
	if (pb__hmap_put(&s->keys, r->kfp, strlen(r->kfp), k, NULL) != PB_OK) {
		free(k);
		return false;
	}
	return true;
}

static bool author_key(char *buf, size_t cap, int64_t plan, const char *actor, size_t *len)
{
	if (!pb__snprintf(buf, cap, "%lld", (long long)plan))
		return false;
	size_t n = strlen(buf), al = strlen(actor);
	if (n + 1 + al >= cap)
		return false;
	memcpy(buf + n + 1, actor, al);
	*len = n + 1 + al;
	return true;
}

static bool is_author(struct pb__rsig *s, int64_t plan, const char *actor)
{
	char k[128];
	size_t len;
	return author_key(k, sizeof(k), plan, actor, &len) && pb__hmap_get(&s->authors, k, len);
}

/* The two-person rule of a plan.apply or plan.rollback (entry r): the
 * approvals it names are signed entries of this log that verified, of this
 * plan (and, for apply, of the hash it applies), by distinct users with
 * distinct keys, none an author of the plan; at least two for apply, the
 * rollback policy's number (the rollback's own actor counting) for it. */
static void two_person(struct pb__rsig *s, const struct res *r)
{
	bool apply = !strcmp(r->s.action, "plan.apply");
	if (!r->named_ok) {
		problem(s, r->index, "%s of plan %lld names no signed approvals (details.approvals of "
		                     "{index, actor, key_fp})",
		        r->s.action, (long long)r->plan);
		return;
	}
	const char *actors[APPROVALS_MAX + 1], *fps[APPROVALS_MAX + 1];
	size_t n = 0;
	if (!apply) { /* the last approver of a rollback is its own actor */
		actors[n] = r->s.actor;
		fps[n++] = r->s.key_fp;
	}
	for (size_t i = 0; i < r->nnamed; i++) {
		const struct named *nm = &r->named[i];
		uint64_t key = nm->index;
		const struct approval *a = nm->index < r->index
		                                   ? pb__hmap_get(&s->approvals, (const char *)&key, 8)
		                                   : NULL;
		const char *want = apply ? "plan.approve" : "plan.rollback-request";
		if (!a || a->rollback == apply) {
			problem(s, r->index, "%s of plan %lld names entry %llu as an approval: it is no "
			                     "signed %s that verified",
			        r->s.action, (long long)r->plan, (unsigned long long)nm->index, want);
			continue;
		}
		if (a->plan != r->plan || (apply && strcmp(a->sha, r->sha))) {
			problem(s, r->index, "%s of plan %lld names entry %llu, an approval of plan %lld "
			                     "hash %.16s, not of this plan%s",
			        r->s.action, (long long)r->plan, (unsigned long long)nm->index,
			        (long long)a->plan, a->sha, apply ? " and hash" : "");
			continue;
		}
		if (strcmp(a->actor, nm->actor) || strcmp(a->fp, nm->fp)) {
			problem(s, r->index, "%s names entry %llu as approved by '%s' with %s; it was '%s' "
			                     "with %s",
			        r->s.action, (unsigned long long)nm->index, nm->actor, nm->fp, a->actor,
			        a->fp);
			continue;
		}
		if (apply && is_author(s, r->plan, a->actor)) {
			problem(s, r->index, "plan.apply of plan %lld counts the approval of '%s' (entry "
			                     "%llu), an author of the plan",
			        (long long)r->plan, a->actor, (unsigned long long)nm->index);
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < n; j++)
			if (!strcmp(actors[j], a->actor) || !strcmp(fps[j], a->fp)) {
				problem(s, r->index, "%s of plan %lld counts '%s' (%s) twice: approvers must be "
				                     "distinct users with distinct keys",
				        r->s.action, (long long)r->plan, a->actor, a->fp);
				dup = true;
				break;
			}
		if (!dup) {
			actors[n] = a->actor;
			fps[n++] = a->fp;
		}
	}
	size_t need = apply ? 2 : s->policy;
	if (apply) { /* the plan body's own count, when higher */
		char k[96];
		pb__snprintf(k, sizeof(k), "%lld:%s", (long long)r->plan, r->sha);
		uintptr_t b = (uintptr_t)pb__hmap_get(&s->bodies, k, strlen(k));
		if (!b)
			problem(s, r->index, "plan.apply of plan %lld applies hash %.16s, which no plan.new "
			                     "or plan.edit before it made",
			        (long long)r->plan, r->sha);
		else if (b - 1 > need)
			need = b - 1;
	}
	if (n < need)
		problem(s, r->index, "%s of plan %lld has %zu distinct signed approval%s; it needs %zu",
		        r->s.action, (long long)r->plan, n, n == 1 ? "" : "s", need);
}

/* A passkey-signed entry r: the passkey registered to its actor before it
 * (a user.passkey-add by the passkey it registers: at it), not revoked, the
 * assertion verified under the origin in force, its counter above every
 * earlier one of the credential. -1: out of memory; 0: reported; 1: good. */
static int passkey_signed(struct pb__rsig *s, struct res *r)
{
	const char *a = r->s.action, *fp = r->s.key_fp;
	struct pkey *k = pb__hmap_get(&s->passkeys, fp, strlen(fp));
	const struct pb_webauthn_key *key = k ? &k->key : NULL;
	uint32_t last = k ? k->count : 0, now = 0;
	bool self = !k && !strcmp(a, "user.passkey-add") && !strcmp(r->kfp, fp) && r->pk;
	if (self) {
		if (!r->pk->reg_ok) {
			problem(s, r->index, "%s", r->pk->why);
			return 0;
		}
		key = &r->pk->key;
		last = r->pk->count;
	} else if (!k) {
		problem(s, r->index, "%s by '%s' is signed with passkey %s, which no entry before it "
		                     "registered",
		        a, r->s.actor, fp);
		return 0;
	} else if (strcmp(k->user, r->s.actor)) {
		problem(s, r->index, "%s by '%s' is signed with passkey %s, registered to '%s'", a,
		        r->s.actor, fp, k->user);
		return 0;
	} else if (!(k->added < r->index && k->added < r->s.log_size)) {
		problem(s, r->index, "%s by '%s' is signed with passkey %s, registered only at entry "
		                     "%llu",
		        a, r->s.actor, fp, (unsigned long long)k->added);
		return 0;
	} else if (r->index > k->revoked) {
		problem(s, r->index, "%s by '%s' is signed with passkey %s, revoked at entry %llu", a,
		        r->s.actor, fp, (unsigned long long)k->revoked);
		return 0;
	}
	struct pb_error e2 = { 0 };
	/* a worker's verdict holds when it used the registration in force and
	 * the origin in force: then it is this very check, made earlier */
	const struct wkey *w = r->wa_key;
	if (!self && w && w->added == k->added && s->has_origin && !strcmp(w->origin, s->origin) &&
	    !strcmp(w->rp_id, s->rp_id)) {
		now = r->wa_count;
	} else if (pb__entry_webauthn_verify(&r->s, r->index, key, s->has_origin ? s->origin : NULL,
	                                     s->rp_id, &now, &e2)) {
		if (e2.code == PB_ENOMEM)
			return -1;
		const char *m = e2.message, *c = strstr(m, ": ");
		problem(s, r->index, "%s", !strncmp(m, "entry ", 6) && c ? c + 2 : m);
		return 0;
	}
	if (!pb__webauthn_counter_ok(last, now)) {
		problem(s, r->index, "%s by '%s': passkey %s signed with counter %lu, not above %lu "
		                     "seen before it (a replayed assertion or a cloned authenticator)",
		        a, r->s.actor, fp, (unsigned long)now, (unsigned long)last);
		return 0;
	}
	if (k)
		k->count = now;
	else
		r->pk->count = now; /* taken by the registration below */
	return 1;
}

/* The invitation a user.passkey-add of a signed log uses: a user.invite of
 * this user that checked, not revoked or replaced since, its token's hash,
 * within its ttl, used once. False when reported. */
static bool invitation_ok(struct pb__rsig *s, const struct res *r)
{
	const struct pk_res *pk = r->pk;
	if (!pk->has_invite || !pk->has_token) {
		problem(s, r->index, "user.passkey-add of '%s' in a signed log names no invitation "
		                     "(invite and token)",
		        r->name);
		return false;
	}
	uint64_t ik = (uint64_t)pk->invite;
	struct pb__invite *inv = pk->invite >= 0 && ik < r->index
	                             ? pb__hmap_get(&s->invites, (const char *)&ik, 8)
	                             : NULL;
	uint64_t *last = pb__hmap_get(&s->invite_last, r->name, strlen(r->name));
	char buf[160];
	const char *why = pb__passkey_invite_why(inv, ik, r->name, pk->token_sha, pk->time,
	                                         last ? *last : 0, buf);
	if (why) {
		problem(s, r->index, "user.passkey-add of '%s' names entry %lld as its invitation: %s",
		        r->name, (long long)pk->invite, why);
		return false;
	}
	inv->used = r->index + 1;
	return true;
}

/* The passkey registry's and the origin's changes, from entries that
 * checked. false: out of memory. */
static bool passkey_history(struct pb__rsig *s, struct res *r)
{
	const char *a = r->s.action;
	struct pk_res *pk = r->pk;
	if (!pk)
		return false;
	if (!strcmp(a, "web.origin")) {
		s->has_origin = true;
		memcpy(s->origin, pk->origin, sizeof(s->origin));
		memcpy(s->rp_id, pk->rp_id, sizeof(s->rp_id));
	} else if (!strcmp(a, "user.invite") || !strcmp(a, "user.invite-revoke")) {
		uint64_t *at = malloc(sizeof(*at)), *old = NULL;
		if (!at)
			return false;
		*at = r->index + 1;
		enum pb_status ps =
			pb__hmap_put(&s->invite_last, r->name, strlen(r->name), at, (void **)&old);
		if (ps != PB_OK)
			free(at);
		if (ps == PB_ENOMEM)
			return false;
		if (ps == PB_EEXIST)
			*old = r->index + 1;
		if (!strcmp(a, "user.invite")) {
			struct pb__invite *inv = calloc(1, sizeof(*inv));
			uint64_t key = r->index;
			if (!inv)
				return false;
			pb__strlcpy(inv->user, r->name, sizeof(inv->user));
			memcpy(inv->token_sha, pk->token_sha, sizeof(inv->token_sha));
			inv->time = pk->time;
			inv->ttl_s = pk->ttl_s;
			if (pb__hmap_put(&s->invites, (const char *)&key, 8, inv, NULL) != PB_OK) {
				free(inv);
				return false;
			}
		}
	} else if (!strcmp(a, "web.signin")) {
		struct pkey *k = pb__hmap_get(&s->passkeys, r->kfp, strlen(r->kfp));
		if (!k)
			problem(s, r->index, "a sign-in of '%s' with passkey %s, which the log never "
			                     "registered",
			        r->s.actor, r->kfp);
		else if (!pb__webauthn_counter_ok(k->count, pk->count))
			problem(s, r->index, "a sign-in of '%s' with passkey %s shows counter %lu, not "
			                     "above %lu seen before it",
			        r->s.actor, r->kfp, (unsigned long)pk->count, (unsigned long)k->count);
		else
			k->count = pk->count;
	} else if (!strcmp(a, "user.passkey-revoke")) {
		struct pkey *k = pb__hmap_get(&s->passkeys, r->kfp, strlen(r->kfp));
		if (!k || strcmp(k->user, r->name))
			problem(s, r->index, "revokes passkey %s of '%s', which is not theirs", r->kfp,
			        r->name);
		else if (k->revoked == UINT64_MAX)
			k->revoked = r->index;
	} else if (!strcmp(a, "user.passkey-add")) {
		struct pkey *k = pb__hmap_get(&s->passkeys, r->kfp, strlen(r->kfp));
		if (!pk->reg_ok) {
			problem(s, r->index, "%s", pk->why);
			return true;
		}
		if (k) {
			problem(s, r->index, "passkey %s is already registered to '%s' (entry %llu): a "
			                     "credential is one user's, ever",
			        r->kfp, k->user, (unsigned long long)k->added);
			return true;
		}
		if (!s->has_origin || strcmp(pk->origin, s->origin) || strcmp(pk->rp_id, s->rp_id)) {
			problem(s, r->index, "user.passkey-add is for %s (RP ID %s), but the origin in "
			                     "force is %s (RP ID %s)",
			        pk->origin, pk->rp_id, s->has_origin ? s->origin : "none",
			        s->has_origin ? s->rp_id : "none");
			return true;
		}
		if (strcmp(r->s.key_fp, r->kfp)) {
			problem(s, r->index, "user.passkey-add of %s is signed by %s, not by the passkey "
			                     "it registers",
			        r->kfp, r->s.key_fp);
			return true;
		}
		if (!invitation_ok(s, r))
			return true;
		if (!(k = calloc(1, sizeof(*k))))
			return false;
		pb__strlcpy(k->user, r->name, sizeof(k->user));
		k->added = r->index;
		k->revoked = UINT64_MAX;
		k->key = pk->key; /* moved */
		memset(&pk->key, 0, sizeof(pk->key));
		k->count = pk->count;
		if (pb__hmap_put(&s->passkeys, r->kfp, strlen(r->kfp), k, NULL) != PB_OK) {
			pb__webauthn_key_release(&k->key);
			free(k);
			return false;
		}
	}
	return true;
}

static bool consume_one(struct pb__rsig *s, struct res *r)
{
	if (r->index == 0) {
		s->decided = true;
		s->is_signed = !strcmp(r->mode, "signed");
	}
	/* the root at the statement's size, before this entry's leaf */
	bool root_ok = true;
	if (s->is_signed && r->s.has_sig && !r->bad) {
		uint8_t root[32];
		/* log_size <= index: the entry's check says so; kept here too */
		root_ok = r->s.log_size <= s->nnodes[0] &&
		          (root_at(s, r->s.log_size, root), !memcmp(root, r->s.log_root, 32));
	}
	if (!tree_append(s, r->leaf))
		return false;
	pb__strlcpy(s->last_action, r->s.action, sizeof(s->last_action));
	if (!s->is_signed)
		return true;
	if (r->bad) {
		problem(s, r->index, "%s", r->why);
		return true;
	}
	if (!root_ok) {
		problem(s, r->index, "its statement was made against a log of %llu entries whose root "
		                     "is not this log's",
		        (unsigned long long)r->s.log_size);
		return true;
	}
	const char *a = r->s.action;
	/* the first admin's key is registered by the entry it signs */
	if (r->index == 0 && !strcmp(a, "user.add") && r->kfp[0] && !register_key(s, r))
		return false;
	if (r->s.has_sig && r->s.webauthn) {
		int ok = passkey_signed(s, r);
		if (ok < 0)
			return false;
		if (ok == 0)
			return true;
		goto signed_ok;
	}
	if (r->s.has_sig) {
		struct key *k = pb__hmap_get(&s->keys, r->s.key_fp, strlen(r->s.key_fp));
		if (!k)
			problem(s, r->index, "%s by '%s' is signed with key %s, which no entry before it "
			                     "registered",
			        a, r->s.actor, r->s.key_fp);
		else if (strcmp(k->user, r->s.actor))
			problem(s, r->index, "%s by '%s' is signed with key %s, registered to '%s'", a,
			        r->s.actor, r->s.key_fp, k->user);
		else if (!(k->added < r->index || (r->index == 0 && k->added == 0)))
			problem(s, r->index, "%s by '%s' is signed with key %s, registered only at entry "
			                     "%llu",
			        a, r->s.actor, r->s.key_fp, (unsigned long long)k->added);
		else if (r->index > k->revoked)
			problem(s, r->index, "%s by '%s' is signed with key %s, revoked at entry %llu", a,
			        r->s.actor, r->s.key_fp, (unsigned long long)k->revoked);
		else
			goto signed_ok;
		return true;
	signed_ok:;
		s->nsigned++;
		uint64_t old = nonce_used(&s->nonces, r->s.nonce);
		if (old != UINT64_MAX) {
			problem(s, r->index, "its nonce %s was used already by entry %llu", r->s.nonce_hex,
			        (unsigned long long)old);
			return true;
		}
		if (!nonce_add(&s->nonces, r->s.nonce, r->index))
			return false;
	}
	/* the registry and the plans, from entries that checked */
	if ((!strcmp(a, "user.add") && r->index > 0 && r->kfp[0]) || !strcmp(a, "user.key-add")) {
		if (!register_key(s, r))
			return false;
	} else if (!strcmp(a, "user.key-revoke")) {
		struct key *k = pb__hmap_get(&s->keys, r->kfp, strlen(r->kfp));
		if (!k || strcmp(k->user, r->name))
			problem(s, r->index, "revokes key %s of '%s', which is not theirs", r->kfp, r->name);
		else if (k->revoked == UINT64_MAX)
			k->revoked = r->index;
	} else if (!strncmp(a, "user.passkey-", 13) || !strncmp(a, "user.invite", 11) ||
	           !strcmp(a, "web.origin") || (!strcmp(a, "web.signin") && r->pk)) {
		if (!passkey_history(s, r))
			return false;
	} else if (!strcmp(a, "plan.policy")) {
		if (r->policy >= 1)
			s->policy = (unsigned)r->policy;
	} else if (!strcmp(a, "plan.new") || !strcmp(a, "plan.edit")) {
		char k[128];
		size_t len;
		if (author_key(k, sizeof(k), r->plan, r->s.actor, &len) &&
		    pb__hmap_put(&s->authors, k, len, (void *)1, NULL) == PB_ENOMEM)
			return false;
		char b[96];
		pb__snprintf(b, sizeof(b), "%lld:%s", (long long)r->plan, r->sha);
		uintptr_t v = (uintptr_t)(r->needed > 0 ? r->needed : 0) + 1;
		if (pb__hmap_put(&s->bodies, b, strlen(b), (void *)v, NULL) == PB_ENOMEM)
			return false;
	} else if (!strcmp(a, "plan.approve") || !strcmp(a, "plan.rollback-request")) {
		/* the writer refuses an author's approval: one in the log was forced in */
		if (!strcmp(a, "plan.approve") && is_author(s, r->plan, r->s.actor))
			problem(s, r->index, "plan.approve of plan %lld by '%s', an author of the plan: "
			                     "authors do not approve",
			        (long long)r->plan, r->s.actor);
		struct approval *ap = calloc(1, sizeof(*ap));
		uint64_t key = r->index;
		if (!ap)
			return false;
		ap->rollback = !strcmp(a, "plan.rollback-request");
		ap->plan = r->plan;
		memcpy(ap->sha, r->sha, sizeof(ap->sha));
		memcpy(ap->actor, r->s.actor, sizeof(ap->actor));
		memcpy(ap->fp, r->s.key_fp, sizeof(ap->fp));
		if (pb__hmap_put(&s->approvals, (const char *)&key, 8, ap, NULL) != PB_OK) {
			free(ap);
			return false;
		}
	} else if (!strcmp(a, "plan.apply") || !strcmp(a, "plan.rollback")) {
		two_person(s, r);
	}
	return true;
}

static void res_release(struct res *r)
{
	pb__entry_sig_release(&r->s);
	if (r->pk)
		pb__webauthn_key_release(&r->pk->key);
	free(r->pk);
	r->pk = NULL;
}

static bool consume(struct pb__rsig *s, struct res *r)
{
	bool ok = consume_one(s, r);
	res_release(r);
	return ok;
}

/* ---- the pipeline --------------------------------------------------------------------- */

enum pb_status pb__rsig_new(pb__rsig_report_fn report, void *ctx, struct pb__rsig **out,
                            struct pb_error *err)
{
	struct pb__rsig *s = calloc(1, sizeof(*s));
	if (!s)
		return pb__err(err, PB_ENOMEM, "out of memory");
	s->report = report;
	s->ctx = ctx;
	s->policy = 2; /* PB_PLAN_ROLLBACK_APPROVALS, until a plan.policy entry */
	pb__hmap_init(&s->keys);
	pb__hmap_init(&s->approvals);
	pb__hmap_init(&s->authors);
	pb__hmap_init(&s->bodies);
	pb__hmap_init(&s->passkeys);
	pb__hmap_init(&s->invites);
	pb__hmap_init(&s->invite_last);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	pb__hmap_init(&s->wkeys);
	if (pb__sha256_init(&s->h) != PB_OK)
		memset(&s->h, 0, sizeof(s->h)); /* one-shots, then */
	for (size_t i = 0; i < RING; i++)
		if (!(s->ring[i].r = malloc(BATCH * sizeof(struct res)))) {
			pb__rsig_free(s);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
	*out = s;
	return PB_OK;
}

static enum pb_status start(struct pb__rsig *s, struct pb_error *err)
{
	s->started = true;
	for (; s->nth < WORKERS; s->nth++)
		if (pthread_create(&s->th[s->nth], NULL, worker, s) != 0)
			break;
	if (!s->nth)
		return pb__err(err, PB_ENOMEM, "cannot start the signature checkers");
	return PB_OK;
}

/* Takes the oldest batch once a worker has checked it. */
static enum pb_status consume_head(struct pb__rsig *s, struct pb_error *err)
{
	struct batch *b = &s->ring[s->head % RING];
	pthread_mutex_lock(&s->mu);
	while (!b->done)
		pthread_cond_wait(&s->done, &s->mu);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < b->n; i++)
		if (!consume(s, &b->r[i]))
			return pb__err(err, PB_ENOMEM, "out of memory");
	b->n = 0;
	b->used = 0;
	b->done = false;
	s->head++;
	return PB_OK;
}

static enum pb_status submit(struct pb__rsig *s, struct pb_error *err)
{
	pthread_mutex_lock(&s->mu);
	s->tail++;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	if (s->tail - s->head == RING)
		return consume_head(s, err);
	return PB_OK;
}

enum pb_status pb__rsig_feed(struct pb__rsig *s, uint64_t index, const char *text, size_t len,
                             struct pb_error *err)
{
	if (index < s->fed)
		return PB_OK; /* seen already (an entry read twice) */
	if (index != s->fed)
		return pb__err(err, PB_EINVAL, "entries must come in order (%llu, expected %llu)",
		               (unsigned long long)index, (unsigned long long)s->fed);
	s->fed++;
	if (s->decided && !s->is_signed)
		return PB_OK; /* an unsigned log: nothing to check */
	if (index == 0) { /* entry 0 decides whether the rest is worth the threads */
		struct res *r = &s->ring[0].r[0];
		check_one(s, feeder_hasher(s), text, len, 0, r);
		if (!consume(s, r))
			return pb__err(err, PB_ENOMEM, "out of memory");
		return PB_OK;
	}
	enum pb_status rc;
	if (!s->started && (rc = start(s, err)))
		return rc;
	struct batch *b = &s->ring[s->tail % RING];
	if (b->used + len > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 18;
		while (cap < b->used + len)
			cap *= 2;
		char *p = realloc(b->buf, cap);
		if (!p)
			return pb__err(err, PB_ENOMEM, "out of memory");
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->used, text, len);
	b->index[b->n] = index;
	b->off[b->n] = b->used;
	b->len[b->n++] = len;
	b->used += len;
	return b->n == BATCH ? submit(s, err) : PB_OK;
}

enum pb_status pb__rsig_finish(struct pb__rsig *s, uint64_t *nbad, struct pb_error *err)
{
	enum pb_status rc = PB_OK;
	if (s->started) {
		if (s->ring[s->tail % RING].n && (rc = submit(s, err)))
			return rc;
		while (s->head < s->tail)
			if ((rc = consume_head(s, err)))
				return rc;
	}
	if (nbad)
		*nbad = s->nbad;
	return rc;
}

/* A checkpoint signed with a passkey (cs, of a log of size entries, all
 * fed): registered to its actor before size, not revoked, the assertion
 * verified under the origin in force, its counter above the credential's
 * last. why gets what is wrong, or stays empty. */
static void passkey_checkpoint(struct pb__rsig *s, const struct pb__entry_sig *cs, uint64_t size,
                               char *why, size_t cap)
{
	const char *fp = cs->key_fp;
	struct pkey *k = pb__hmap_get(&s->passkeys, fp, strlen(fp));
	uint32_t now = 0;
	struct pb_error e2 = { 0 };
	if (!k)
		pb__snprintf(why, cap, "passkey %s is registered to nobody in the log", fp);
	else if (strcmp(k->user, cs->actor))
		pb__snprintf(why, cap, "passkey %s is registered to '%s', not '%s'", fp, k->user,
		             cs->actor);
	else if (!(k->added < size))
		pb__snprintf(why, cap, "passkey %s was registered only at entry %llu", fp,
		             (unsigned long long)k->added);
	else if (size > k->revoked)
		pb__snprintf(why, cap, "passkey %s was revoked at entry %llu", fp,
		             (unsigned long long)k->revoked);
	else if (pb__entry_webauthn_verify(cs, size, &k->key, s->has_origin ? s->origin : NULL,
	                                   s->rp_id, &now, &e2))
		pb__snprintf(why, cap, "%s", e2.message);
	else if (!pb__webauthn_counter_ok(k->count, now))
		pb__snprintf(why, cap, "passkey %s signed with counter %lu, not above %lu", fp,
		             (unsigned long)now, (unsigned long)k->count);
}

enum pb_status pb__rsig_checkpoint(struct pb__rsig *s, const char *origin, uint64_t size,
                                   const uint8_t root[32], const char *actor_json, size_t len,
                                   struct pb_error *err)
{
	if (!s->is_signed)
		return PB_OK;
	if (!actor_json) {
		const char *a = s->last_action;
		if (size == 0 || !strcmp(a, "plan.apply") || !strcmp(a, "plan.rollback") ||
		    !strcmp(a, "plan.policy"))
			return PB_OK;
		return pb__err(err, PB_EVERIFY,
		               "checkpoint: the log is signed, but the checkpoint carries no signature "
		               "by its actor (checkpoint.actor) and seals no plan apply, rollback or "
		               "policy entry");
	}
	json_error_t je;
	json_t *j = json_loadb(actor_json, len, 0, &je);
	const char *actor = json_string_value(json_object_get(j, "actor"));
	char why[400];
	struct pb__entry_sig cs = { 0 };
	enum pb_status rc;
	if (!actor) {
		rc = pb__err(err, PB_EVERIFY, "checkpoint.actor: not an object with \"actor\" and "
		                              "\"sig\"");
		goto out;
	}
	if ((rc = pb__checkpoint_sig_parts(actor, origin, size, root, json_object_get(j, "sig"), &cs,
	                                   err))) {
		pb__err_prefix(err, "checkpoint.actor");
		goto out;
	}
	const char *fp = cs.key_fp;
	uint64_t used = nonce_used(&s->nonces, cs.nonce);
	why[0] = '\0';
	if (cs.webauthn) {
		passkey_checkpoint(s, &cs, size, why, sizeof(why));
		if (!why[0] && used != UINT64_MAX)
			pb__snprintf(why, sizeof(why), "its nonce was used by entry %llu",
			             (unsigned long long)used);
		goto said;
	}
	struct key *k = pb__hmap_get(&s->keys, fp, strlen(fp));
	if (!k)
		pb__snprintf(why, sizeof(why), "key %s is registered to nobody in the log", fp);
	else if (strcmp(k->user, actor))
		pb__snprintf(why, sizeof(why), "key %s is registered to '%s', not '%s'", fp, k->user,
		             actor);
	else if (!(k->added < size))
		pb__snprintf(why, sizeof(why), "key %s of '%s' was registered only at entry %llu", fp,
		             actor, (unsigned long long)k->added);
	else if (size > k->revoked)
		pb__snprintf(why, sizeof(why), "key %s of '%s' was revoked at entry %llu", fp, actor,
		             (unsigned long long)k->revoked);
	else if (used != UINT64_MAX)
		pb__snprintf(why, sizeof(why), "its nonce was used by entry %llu",
		             (unsigned long long)used);
said:
	if (why[0])
		rc = pb__err(err, PB_EVERIFY, "checkpoint.actor: the signature of '%s': %s", actor, why);
out:
	pb__entry_sig_release(&cs);
	json_decref(j);
	return rc;
}

bool pb__rsig_signed(const struct pb__rsig *s, uint64_t *nsigned)
{
	if (nsigned)
		*nsigned = s->nsigned;
	return s->is_signed;
}

void pb__rsig_passkeys(const struct pb__rsig *s,
                       bool (*fn)(void *ctx, const char *fp, uint32_t count), void *ctx)
{
	for (size_t i = 0; s->passkeys.slots && i < s->passkeys.cap; i++) {
		const struct pb_hmap_slot *sl = &s->passkeys.slots[i];
		char fp[PB_WEBAUTHN_FP_MAX];
		if (!sl->key || sl->len >= sizeof(fp))
			continue;
		memcpy(fp, sl->key, sl->len);
		fp[sl->len] = '\0';
		if (!fn(ctx, fp, ((const struct pkey *)sl->value)->count))
			return;
	}
}

static void free_values(struct pb_hmap *m, bool heap)
{
	for (size_t i = 0; heap && m->slots && i < m->cap; i++)
		if (m->slots[i].key)
			free(m->slots[i].value);
	pb__hmap_release(m);
}

void pb__rsig_free(struct pb__rsig *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->quit = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < s->nth; i++)
		pthread_join(s->th[i], NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->done);
	for (size_t i = 0; i < RING; i++) {
		free(s->ring[i].buf);
		free(s->ring[i].r);
	}
	for (size_t l = 0; l < 64; l++)
		free(s->nodes[l]);
	pb__sha256_release(&s->h);
	free_values(&s->keys, true);
	free(s->nonces.slot);
	free_values(&s->approvals, true);
	free_values(&s->authors, false);
	free_values(&s->bodies, false);
	for (size_t i = 0; s->passkeys.slots && i < s->passkeys.cap; i++)
		if (s->passkeys.slots[i].key)
			pb__webauthn_key_release(&((struct pkey *)s->passkeys.slots[i].value)->key);
	free_values(&s->passkeys, true);
	for (size_t i = 0; s->wkeys.slots && i < s->wkeys.cap; i++)
		if (s->wkeys.slots[i].key)
			pb__webauthn_key_release(&((struct wkey *)s->wkeys.slots[i].value)->key);
	free_values(&s->wkeys, true);
	pthread_mutex_destroy(&s->wmu);
	free_values(&s->invites, true);
	free_values(&s->invite_last, true);
	free(s);
}
