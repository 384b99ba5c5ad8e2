/* entitlements.c - numbered, immutable versions of the enforcement rules in force.
 *
 * A version is a list of rules written once (entitlement_version and
 * entitlement_rule, schema 3; triggers refuse any later change). Each rule's
 * selector is stored as canonical JSON, and the version carries the SHA-256
 * of the canonical JSON of all its rules, which loading checks again: a row
 * edited behind probity's back fails to load with PB_EVERIFY.
 */
#include "decide/entitlements.h"
#include "log/audit.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <jansson.h>

#include "util/banned.h"

static const char *const dim_names[PB_DIM_COUNT] = {
	"account", "subaccount", "category", "subcategory",
	"service", "capability", "region",   "country",
};

const char *pb_dim_name(enum pb_dim d)
{
	return (unsigned)d < PB_DIM_COUNT ? dim_names[d] : "?";
}

/* ---- arena ------------------------------------------------------------ */

struct pb__arena_chunk {
	struct pb__arena_chunk *next;
	size_t used, cap;
	alignas(16) char data[];
};

void *pb__arena_alloc(struct pb__arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct pb__arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

char *pb__arena_strndup(struct pb__arena *a, const char *s, size_t n)
{
	char *p = pb__arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void pb__arena_release(struct pb__arena *a)
{
	struct pb__arena_chunk *c = a->head;
	while (c) {
		struct pb__arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

void pb__ruleset_release(struct pb__ruleset *rs)
{
	if (!rs)
		return;
	free(rs->rules);
	pb__arena_release(&rs->arena);
	memset(rs, 0, sizeof(*rs));
}

/* ---- text ------------------------------------------------------------- */

size_t pb__fold(const char *s, size_t n, char *out, size_t cap)
{
	while (n && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n > cap)
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	return n;
}

static struct pb_str trimmed(const char *s)
{
	return pb_str_trim(pb_cstr(s));
}

/* Appends v to the selector text, quoted when it holds a space, comma or quote. */
static bool sel_value(char *buf, size_t cap, size_t *pos, const char *v)
{
	bool quote = strpbrk(v, " ,'\t") != NULL;
	for (size_t i = 0; v[i] || quote; i++) {
		if (quote && i == 0 && *pos + 1 < cap)
			buf[(*pos)++] = '\'';
		if (!v[i])
			break;
		if (*pos + 1 >= cap)
			return false;
		buf[(*pos)++] = v[i];
	}
	if (quote) {
		if (*pos + 1 >= cap)
			return false;
		buf[(*pos)++] = '\'';
	}
	buf[*pos] = '\0';
	return true;
}

bool pb_rule_selector(const struct pb_rule *r, bool with_accounts, char *buf, size_t cap)
{
	if (!cap)
		return false;
	size_t pos = 0;
	buf[0] = '\0';
	bool ok = true, any = false;
	for (int d = with_accounts ? 0 : 1; d < PB_DIM_COUNT && ok; d++) {
		if (!r->nvalues[d])
			continue;
		/* copied, not formatted: a deny's reason header is written per
		 * request (serve, the nginx module), and vsnprintf was half of it */
		const char *head[3] = { any ? " " : "", dim_names[d], "=" };
		for (int p = 0; p < 3; p++)
			for (const char *h = head[p]; *h && ok; h++) {
				if (pos + 1 >= cap)
					ok = false;
				else
					buf[pos++] = *h;
			}
		buf[pos] = '\0';
		for (size_t i = 0; i < r->nvalues[d] && ok; i++) {
			if (i) {
				if (pos + 1 >= cap) {
					ok = false;
					break;
				}
				buf[pos++] = ',';
				buf[pos] = '\0';
			}
			ok = sel_value(buf, cap, &pos, r->values[d][i]);
		}
		any = true;
	}
	if (ok && !any)
		ok = pb__snprintf(buf, cap, "%s", with_accounts ? "(everything)" : "(all services)");
	if (!ok && cap >= 4) {
		size_t end = pos < cap - 4 ? pos : cap - 4;
		memcpy(buf + end, "...", 4);
	}
	return ok;
}

/* ---- canonical JSON --------------------------------------------------- */

static enum pb_status json_time(struct pb_buf *b, int64_t t, bool open)
{
	if (open)
		return pb_buf_adds(b, "null");
	char ts[32];
	pb_time_format(t, ts);
	return pb_buf_printf(b, "\"%s\"", ts);
}

static enum pb_status selector_json(struct pb_buf *b, const struct pb_rule *r)
{
	enum pb_status st = pb_buf_addc(b, '{');
	bool first = true;
	for (int d = 0; d < PB_DIM_COUNT && !st; d++) {
		if (!r->nvalues[d])
			continue;
		st = pb_buf_printf(b, "%s\"%s\":[", first ? "" : ",", dim_names[d]);
		for (size_t i = 0; i < r->nvalues[d] && !st; i++) {
			struct pb_str v = trimmed(r->values[d][i]);
			if (i)
				st = pb_buf_addc(b, ',');
			if (!st)
				st = pb_buf_json_str(b, v.ptr, v.len);
		}
		if (!st)
			st = pb_buf_addc(b, ']');
		first = false;
	}
	if (!st)
		st = pb_buf_addc(b, '}');
	return st;
}

enum pb_status pb__rule_json(struct pb_buf *b, const struct pb_rule *r)
{
	struct pb_str plan = trimmed(r->plan), cs = trimmed(r->case_ref);
	enum pb_status st = pb_buf_adds(b, "{\"plan\":");
	if (!st)
		st = pb_buf_json_str(b, plan.ptr, plan.len);
	if (!st)
		st = pb_buf_adds(b, ",\"case\":");
	if (!st)
		st = pb_buf_json_str(b, cs.ptr, cs.len);
	if (!st)
		st = pb_buf_printf(b, ",\"effect\":\"%s\",\"from\":",
		                    r->effect == PB_EFFECT_KEEP ? "keep" : "disable");
	if (!st)
		st = json_time(b, r->from, r->from == PB_TIME_OPEN_START);
	if (!st)
		st = pb_buf_adds(b, ",\"until\":");
	if (!st)
		st = json_time(b, r->until, r->until == PB_TIME_OPEN_END);
	if (!st)
		st = pb_buf_adds(b, ",\"selector\":");
	if (!st)
		st = selector_json(b, r);
	if (!st)
		st = pb_buf_addc(b, '}');
	return st;
}

/* ---- checks ----------------------------------------------------------- */

static enum pb_status check_text(const char *s, size_t ri, const char *what,
                                 struct pb_error *err)
{
	if (!s)
		return pb__err(err, PB_EINVAL, "rule %zu: no %s", ri + 1, what);
	struct pb_str v = trimmed(s);
	if (!v.len)
		return pb__err(err, PB_EINVAL, "rule %zu: empty %s", ri + 1, what);
	if (v.len > PB_RULE_VALUE_LEN_MAX)
		return pb__err(err, PB_ELIMIT, "rule %zu: %s longer than %d bytes", ri + 1, what,
		               PB_RULE_VALUE_LEN_MAX);
	if (!pb_utf8_valid(v.ptr, v.len, NULL))
		return pb__err(err, PB_EINVAL, "rule %zu: %s is not valid UTF-8", ri + 1, what);
	for (size_t i = 0; i < v.len; i++)
		if ((unsigned char)v.ptr[i] < 0x20 || v.ptr[i] == 0x7f)
			return pb__err(err, PB_EINVAL, "rule %zu: %s holds a control character",
			               ri + 1, what);
	return PB_OK;
}

static enum pb_status check_rule(const struct pb_rule *r, size_t ri, struct pb_error *err)
{
	enum pb_status st;
	if ((st = check_text(r->plan, ri, "plan id", err)) ||
	    (st = check_text(r->case_ref, ri, "case id", err)))
		return st;
	if (r->effect != PB_EFFECT_DISABLE && r->effect != PB_EFFECT_KEEP)
		return pb__err(err, PB_EINVAL, "rule %zu: effect must be disable or keep", ri + 1);
	if (r->from >= r->until)
		return pb__err(err, PB_EINVAL, "rule %zu: 'from' is not before 'until'", ri + 1);
	if (!r->nvalues[PB_DIM_ACCOUNT])
		return pb__err(err, PB_EINVAL,
		               "rule %zu: names no billing account (a rule must name the accounts "
		               "it applies to)",
		               ri + 1);
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		if (r->nvalues[d] > PB_RULE_VALUES_MAX)
			return pb__err(err, PB_ELIMIT, "rule %zu: more than %d values for '%s'",
			               ri + 1, PB_RULE_VALUES_MAX, dim_names[d]);
		if (r->nvalues[d] && !r->values[d])
			return pb__err(err, PB_EINVAL, "rule %zu: no values for '%s'", ri + 1,
			               dim_names[d]);
		for (size_t i = 0; i < r->nvalues[d]; i++) {
			char what[48];
			pb__snprintf(what, sizeof(what), "'%s' value %zu", dim_names[d], i + 1);
			if ((st = check_text(r->values[d][i], ri, what, err)))
				return st;
		}
	}
	return PB_OK;
}

/* ---- publish ---------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

enum pb_status pb__entitlements_publish(struct pb_ws *ws, const struct pb_rule *rules,
                                        size_t nrules, const char *reason,
                                        int64_t *version_out, struct pb_error *err)
{
	enum pb_status st;
	sqlite3_stmt *ins_v = NULL, *ins_r = NULL, *q = NULL;
	struct pb_buf line, sel;
	struct pb_sha256 h = { 0 };
	bool own_txn = false, have_h = false;
	pb_buf_init(&line, 1u << 24);
	pb_buf_init(&sel, 1u << 24);
	if (!reason || !trimmed(reason).len) {
		st = pb__err(err, PB_EINVAL, "cannot publish entitlements: no reason given");
		goto fail;
	}
	if (nrules > PB_RULES_MAX) {
		st = pb__err(err, PB_ELIMIT, "cannot publish entitlements: more than %d rules",
		             PB_RULES_MAX);
		goto fail;
	}
	if (nrules && !rules) {
		st = pb__err(err, PB_EINVAL, "cannot publish entitlements: no rules array");
		goto fail;
	}
	for (size_t i = 0; i < nrules; i++)
		if ((st = check_rule(&rules[i], i, err))) {
			pb__err_prefix(err, "cannot publish entitlements");
			goto fail;
		}
	if ((st = pb__ws_require_writable(ws, "publish entitlements", err)))
		goto fail;
	if (sqlite3_get_autocommit(ws->db)) {
		if ((st = pb__ws_begin(ws, err)))
			goto fail;
		own_txn = true;
	}
	int64_t version = 1;
	if ((st = pb__db_prepare(ws->db, "SELECT coalesce(max(version), 0) + 1 FROM entitlement_version",
	                         &q, err)))
		goto fail;
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int64(q, 0);
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO entitlement_rule (version, idx, plan, case_ref, effect,"
	                         " valid_from, valid_until, selector) VALUES (?,?,?,?,?,?,?,?)",
	                         &ins_r, err)))
		goto fail;
	/* the hash goes into the version row, which the rules reference: hash first */
	if ((st = pb__sha256_init(&h)) != PB_OK) {
		st = pb__err(err, st, "cannot publish entitlements: no SHA-256");
		goto fail;
	}
	have_h = true;
	for (size_t i = 0; i < nrules; i++) {
		pb_buf_reset(&line);
		if ((st = pb__rule_json(&line, &rules[i])) || (st = pb_buf_addc(&line, '\n'))) {
			st = pb__err(err, st, "cannot publish entitlements: rule %zu too large", i + 1);
			goto fail;
		}
		pb__sha256_update(&h, line.data, line.len);
	}
	uint8_t digest[32];
	char hex[65];
	pb__sha256_final(&h, digest);
	have_h = false;
	pb_hex(digest, 32, hex);
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO entitlement_version (version, created_at, created_ms,"
	                         " reason, nrules, sha256) VALUES (?,?,?,?,?,?)",
	                         &ins_v, err)))
		goto fail;
	int64_t ms = now_ms();
	char ts[32];
	pb_time_format(ms / 1000, ts);
	char tsms[40];
	pb__snprintf(tsms, sizeof(tsms), "%.19s.%03dZ", ts, (int)(ms % 1000));
	sqlite3_bind_int64(ins_v, 1, version);
	sqlite3_bind_text(ins_v, 2, tsms, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(ins_v, 3, ms);
	pb__bind_str(ins_v, 4, trimmed(reason));
	sqlite3_bind_int64(ins_v, 5, (sqlite3_int64)nrules);
	sqlite3_bind_text(ins_v, 6, hex, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(ins_v) != SQLITE_DONE) {
		st = pb__db_err(ws->db, err, "cannot publish entitlements");
		goto fail;
	}
	for (size_t i = 0; i < nrules; i++) {
		const struct pb_rule *r = &rules[i];
		pb_buf_reset(&sel);
		if ((st = selector_json(&sel, r))) {
			st = pb__err(err, st, "cannot publish entitlements: rule %zu too large", i + 1);
			goto fail;
		}
		sqlite3_reset(ins_r);
		sqlite3_bind_int64(ins_r, 1, version);
		sqlite3_bind_int64(ins_r, 2, (sqlite3_int64)i);
		pb__bind_str(ins_r, 3, trimmed(r->plan));
		pb__bind_str(ins_r, 4, trimmed(r->case_ref));
		sqlite3_bind_text(ins_r, 5, r->effect == PB_EFFECT_KEEP ? "keep" : "disable", -1,
		                  SQLITE_STATIC);
		if (r->from == PB_TIME_OPEN_START)
			sqlite3_bind_null(ins_r, 6);
		else
			sqlite3_bind_int64(ins_r, 6, r->from);
		if (r->until == PB_TIME_OPEN_END)
			sqlite3_bind_null(ins_r, 7);
		else
			sqlite3_bind_int64(ins_r, 7, r->until);
		sqlite3_bind_text(ins_r, 8, sel.data, (int)sel.len, SQLITE_TRANSIENT);
		if (sqlite3_step(ins_r) != SQLITE_DONE) {
			st = pb__db_err(ws->db, err, "cannot publish entitlements");
			goto fail;
		}
	}
	if (own_txn && (st = pb__ws_commit(ws, err)))
		goto fail;
	if (version_out)
		*version_out = version;
	sqlite3_finalize(q);
	sqlite3_finalize(ins_v);
	sqlite3_finalize(ins_r);
	pb_buf_release(&line);
	pb_buf_release(&sel);
	return PB_OK;
fail:
	if (have_h)
		pb__sha256_release(&h);
	sqlite3_finalize(q);
	sqlite3_finalize(ins_v);
	sqlite3_finalize(ins_r);
	if (own_txn)
		pb__ws_rollback(ws);
	pb_buf_release(&line);
	pb_buf_release(&sel);
	return st;
}

/* ---- load ------------------------------------------------------------- */

struct pb_entitlements {
	int64_t version;
	int64_t created_ms;
	char *reason;
	char sha256[65];
	struct pb__ruleset rs;
};

void pb_entitlements_free(struct pb_entitlements *e)
{
	if (!e)
		return;
	pb__ruleset_release(&e->rs);
	free(e);
}

int64_t pb_entitlements_version(const struct pb_entitlements *e) { return e->version; }
int64_t pb_entitlements_created_ms(const struct pb_entitlements *e) { return e->created_ms; }
const char *pb_entitlements_reason(const struct pb_entitlements *e) { return e->reason ? e->reason : ""; }
const char *pb_entitlements_sha256(const struct pb_entitlements *e) { return e->sha256; }
size_t pb_entitlements_count(const struct pb_entitlements *e) { return e->rs.n; }

const struct pb_rule *pb_entitlements_rule(const struct pb_entitlements *e, size_t i)
{
	return i < e->rs.n ? &e->rs.rules[i] : NULL;
}

enum pb_status pb_entitlements_latest(struct pb_ws *ws, int64_t *version, struct pb_error *err)
{
	sqlite3_stmt *q = NULL;
	enum pb_status st = pb__db_prepare(ws->db, "SELECT coalesce(max(version), 0) FROM entitlement_version", &q, err);
	if (st)
		return st;
	if (sqlite3_step(q) != SQLITE_ROW) {
		st = pb__db_err(ws->db, err, "cannot read entitlement versions");
		sqlite3_finalize(q);
		return st;
	}
	*version = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return PB_OK;
}

/* Fills the values of one dimension from a JSON array of strings. */
static enum pb_status json_values(struct pb__arena *a, json_t *arr, struct pb_rule *r, int d,
                                  const char *file, size_t ri, struct pb_error *err)
{
	if (!json_is_array(arr))
		return pb__err_at(err, PB_EFORMAT, file, 0, 0,
		                  "rule %zu: '%s' must be an array of strings", ri + 1, dim_names[d]);
	size_t n = json_array_size(arr);
	if (n > PB_RULE_VALUES_MAX)
		return pb__err_at(err, PB_ELIMIT, file, 0, 0, "rule %zu: more than %d values for '%s'",
		                  ri + 1, PB_RULE_VALUES_MAX, dim_names[d]);
	const char **v = pb__arena_alloc(a, (n ? n : 1) * sizeof(char *));
	if (!v)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s))
			return pb__err_at(err, PB_EFORMAT, file, 0, 0,
			                  "rule %zu: '%s' value %zu is not a string", ri + 1,
			                  dim_names[d], i + 1);
		if (!(v[i] = pb__arena_strndup(a, json_string_value(s), json_string_length(s))))
			return pb__err(err, PB_ENOMEM, "out of memory");
	}
	r->values[d] = v;
	r->nvalues[d] = n;
	return PB_OK;
}

static int dim_by_name(const char *k)
{
	for (int d = 0; d < PB_DIM_COUNT; d++)
		if (!strcmp(k, dim_names[d]))
			return d;
	return -1;
}

static enum pb_status json_time_value(json_t *v, int64_t open, int64_t *out, const char *file,
                                      size_t ri, const char *key, struct pb_error *err)
{
	if (!v || json_is_null(v)) {
		*out = open;
		return PB_OK;
	}
	if (json_is_string(v) && pb_time_parse(json_string_value(v), json_string_length(v), out, NULL))
		return PB_OK;
	return pb__err_at(err, PB_EFORMAT, file, 0, 0,
	                  "rule %zu: '%s' must be an ISO 8601 time or null", ri + 1, key);
}

/* One rule object; selector keys either at the top level (rules files) or
 * inside "selector" (the canonical form). */
static enum pb_status json_rule(struct pb__arena *a, json_t *o, struct pb_rule *r, const char *file,
                                size_t ri, bool canonical, struct pb_error *err)
{
	memset(r, 0, sizeof(*r));
	r->from = PB_TIME_OPEN_START;
	r->until = PB_TIME_OPEN_END;
	if (!json_is_object(o))
		return pb__err_at(err, PB_EFORMAT, file, 0, 0, "rule %zu is not an object", ri + 1);
	const char *k;
	json_t *v;
	enum pb_status st;
	json_object_foreach(o, k, v)
	{
		int d;
		if (!strcmp(k, "plan") || !strcmp(k, "case")) {
			if (!json_is_string(v))
				return pb__err_at(err, PB_EFORMAT, file, 0, 0,
				                  "rule %zu: '%s' must be a string", ri + 1, k);
			char *s = pb__arena_strndup(a, json_string_value(v), json_string_length(v));
			if (!s)
				return pb__err(err, PB_ENOMEM, "out of memory");
			if (k[0] == 'p')
				r->plan = s;
			else
				r->case_ref = s;
		} else if (!strcmp(k, "effect")) {
			const char *e = json_string_value(v);
			if (e && !strcmp(e, "disable"))
				r->effect = PB_EFFECT_DISABLE;
			else if (e && !strcmp(e, "keep"))
				r->effect = PB_EFFECT_KEEP;
			else
				return pb__err_at(err, PB_EFORMAT, file, 0, 0,
				                  "rule %zu: effect must be \"disable\" or \"keep\"", ri + 1);
		} else if (!strcmp(k, "from")) {
			if ((st = json_time_value(v, PB_TIME_OPEN_START, &r->from, file, ri, k, err)))
				return st;
		} else if (!strcmp(k, "until")) {
			if ((st = json_time_value(v, PB_TIME_OPEN_END, &r->until, file, ri, k, err)))
				return st;
		} else if (canonical && !strcmp(k, "selector") && json_is_object(v)) {
			const char *sk;
			json_t *sv;
			json_object_foreach(v, sk, sv)
			{
				if ((d = dim_by_name(sk)) < 0)
					return pb__err_at(err, PB_EFORMAT, file, 0, 0,
					                  "rule %zu: unknown selector key '%s'", ri + 1, sk);
				if ((st = json_values(a, sv, r, d, file, ri, err)))
					return st;
			}
		} else if (!canonical && (d = dim_by_name(k)) >= 0) {
			if ((st = json_values(a, v, r, d, file, ri, err)))
				return st;
		} else {
			return pb__err_at(err, PB_EFORMAT, file, 0, 0,
			                  "rule %zu: unknown key '%s' (keys: plan, case, effect, from, "
			                  "until, account, subaccount, category, subcategory, service, "
			                  "capability, region, country)",
			                  ri + 1, k);
		}
	}
	return PB_OK;
}

#define RULES_JSON_LIMIT ((size_t)1 << 30)

enum pb_status pb__rules_from_json(const char *text, size_t len, const char *file,
                                   struct pb__ruleset *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	enum pb_status st = PB_OK;
	json_error_t je;
	if (len > RULES_JSON_LIMIT)
		return pb__err_at(err, PB_ELIMIT, file, 0, 0, "rules file larger than 1 GiB");
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return pb__err_at(err, PB_EFORMAT, file, (uint64_t)je.line,
		                  je.column > 0 ? (uint32_t)je.column : 0, "not valid JSON: %s", je.text);
	json_t *arr = root;
	if (json_is_object(root)) {
		const char *k;
		json_t *v;
		json_object_foreach(root, k, v)
		{
			if (strcmp(k, "rules") && strcmp(k, "reason")) {
				st = pb__err_at(err, PB_EFORMAT, file, 0, 0,
				                "unknown key '%s' (expected \"reason\" and \"rules\")", k);
				goto fail;
			}
		}
		arr = json_object_get(root, "rules");
		json_t *reason = json_object_get(root, "reason");
		if (reason && !json_is_string(reason)) {
			st = pb__err_at(err, PB_EFORMAT, file, 0, 0, "\"reason\" must be a string");
			goto fail;
		}
		if (reason && !(out->reason = pb__arena_strndup(&out->arena, json_string_value(reason),
		                                                 json_string_length(reason)))) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (!json_is_array(arr)) {
		st = pb__err_at(err, PB_EFORMAT, file, 0, 0, "expected an array of rules under \"rules\"");
		goto fail;
	}
	size_t n = json_array_size(arr);
	if (n > PB_RULES_MAX) {
		st = pb__err_at(err, PB_ELIMIT, file, 0, 0, "more than %d rules", PB_RULES_MAX);
		goto fail;
	}
	out->rules = calloc(n ? n : 1, sizeof(struct pb_rule));
	if (!out->rules) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if ((st = json_rule(&out->arena, json_array_get(arr, i), &out->rules[i], file, i, false, err)))
			goto fail;
		out->n = i + 1;
	}
	json_decref(root);
	return PB_OK;
fail:
	json_decref(root);
	pb__ruleset_release(out);
	return st;
}

/* The actors of a plan's plan.new and plan.edit entries: its authors, who
 * may not approve it. *yes when actor is one. */
static enum pb_status is_author(struct pb_ws *ws, json_int_t plan, const char *actor, bool *yes,
                                struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"SELECT 1 FROM audit_entry WHERE action IN ('plan.new', 'plan.edit') AND "
		"json_extract(CAST(data AS TEXT), '$.details.plan') = ?1 AND "
		"json_extract(CAST(data AS TEXT), '$.actor') = ?2 LIMIT 1",
		&q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, plan);
	sqlite3_bind_text(q, 2, actor, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	*yes = rc == SQLITE_ROW;
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PB_OK
	                                             : pb__db_err(ws->db, err, "cannot read the log");
}

/* The approvals the plan body applied asks for, by the log: the
 * approvals_needed of the last plan.new or plan.edit of plan with hash sha
 * before idx (0 when it says none); PB_EVERIFY when no such entry made it. */
static enum pb_status plan_needs(struct pb_ws *ws, json_int_t plan, const char *sha, uint64_t idx,
                                 size_t *need, struct pb_error *err)
{
	json_t *o;
	uint64_t at;
	*need = 0;
	enum pb_status st = pb__log_last_entry(
		ws, "'plan.new', 'plan.edit'",
		"json_extract(CAST(data AS TEXT), '$.details.sha256') = ?1 AND "
		"json_extract(CAST(data AS TEXT), '$.details.plan') = ?2",
		sha, (int64_t)plan, idx, &at, &o, err);
	if (st)
		return st;
	if (!o)
		return pb__err(err, PB_EVERIFY, "entry %llu applies plan %lld with hash %.12s..., which "
		                                 "no plan.new or plan.edit entry before it made",
		               (unsigned long long)idx, (long long)plan, sha);
	json_int_t n = json_integer_value(
		json_object_get(json_object_get(o, "details"), "approvals_needed"));
	*need = n > 0 ? (size_t)n : 0;
	json_decref(o);
	return PB_OK;
}

/* Whether user was an enabled approver at idx, by the log: the role of the
 * last user.add or user.role naming them before idx, and no user.disable
 * before idx (pb__log_role_at). PB_EVERIFY saying why not. */
static enum pb_status approver_at(struct pb_ws *ws, const char *user, uint64_t idx,
                                  struct pb_error *err)
{
	char role[16];
	uint64_t off;
	enum pb_status st = pb__log_role_at(ws, user, idx, role, &off, err);
	if (st)
		return st;
	if (strcmp(role, "approver"))
		return pb__err(err, PB_EVERIFY, "entry %llu counts the approval of '%s', who was %s%s "
		                                "there by the log, not an approver",
		               (unsigned long long)idx, user, role[0] ? "an " : "",
		               role[0] ? role : "no user");
	if (off)
		return pb__err(err, PB_EVERIFY, "entry %llu counts the approval of '%s', who was "
		                                "disabled before it by the log (entry %llu)",
		               (unsigned long long)idx, user, (unsigned long long)(off - 1));
	return PB_OK;
}

/* One signed entry at idx (text data) checked on its own and against the
 * key registry: the signature, and the key (an OpenSSH key or a passkey)
 * the actor's at idx. The caller releases sig (pb__entry_sig_release). */
static enum pb_status signed_entry(struct pb_ws *ws, uint64_t idx, const char *data, size_t len,
                                   struct pb__entry_sig *sig, json_t **o, struct pb_error *err)
{
	enum pb_status st = pb__entry_sig_check(data, len, idx, sig, o, err);
	if (!st && !sig->has_sig)
		st = pb__err(err, PB_EVERIFY, "entry %llu: %s carries no signature",
		             (unsigned long long)idx, sig->action);
	if (!st)
		st = pb__entry_sig_valid(ws, sig, idx, err);
	return st;
}

/* Apply carries its approvals (signed workspaces; docs/identity.md): the
 * plan.apply or plan.rollback entry at idx (parsed: o) must be signed by
 * its actor's key, and each approval it names must be a sealed, signed
 * entry of this log, by the actor and key named, a plan.approve of the
 * plan and hash applied (for a rollback: a plan.rollback-request of the
 * plan), by distinct users with distinct keys; an apply needs two such
 * approvals from non-authors, a rollback the number its entry counted
 * (the rollback's own actor included), at least one. */
static enum pb_status approvals_verify(struct pb_ws *ws, uint64_t idx, const char *data,
                                       size_t len, struct pb_error *err)
{
	struct pb__entry_sig sig;
	json_t *o = NULL;
	enum pb_status st = signed_entry(ws, idx, data, len, &sig, &o, err);
	if (st) {
		pb__entry_sig_release(&sig);
		json_decref(o);
		return st == PB_ENOMEM ? st : PB_EVERIFY;
	}
	json_t *d = json_object_get(o, "details");
	bool apply = !strcmp(sig.action, "plan.apply");
	json_int_t plan = json_integer_value(json_object_get(d, "plan"));
	const char *sha = json_string_value(json_object_get(d, "sha256"));
	json_t *named = json_object_get(d, "approvals"), *v;
	char actors[17][PB_USER_NAME_MAX + 1], fps[17][64];
	size_t n = 0, i;
	if (!apply) {
		pb__strlcpy(actors[n], sig.actor, sizeof(actors[n]));
		pb__strlcpy(fps[n++], sig.key_fp, sizeof(fps[n]));
	}
	if (!json_is_array(named) || json_array_size(named) > 16 || !sha) {
		st = pb__err(err, PB_EVERIFY, "entry %llu: %s names no signed approvals",
		             (unsigned long long)idx, sig.action);
		goto out;
	}
	json_array_foreach(named, i, v) {
		json_t *ix = json_object_get(v, "index");
		const char *na = json_string_value(json_object_get(v, "actor"));
		const char *nf = json_string_value(json_object_get(v, "key_fp"));
		if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
		    (uint64_t)json_integer_value(ix) >= idx || !na || !nf) {
			st = pb__err(err, PB_EVERIFY, "entry %llu: approval %zu is not an earlier entry "
			                              "with an actor and a key",
			             (unsigned long long)idx, i + 1);
			goto out;
		}
		uint64_t ai = (uint64_t)json_integer_value(ix);
		char *ad = NULL;
		size_t al = 0;
		struct pb__entry_sig as;
		json_t *ao = NULL;
		memset(&as, 0, sizeof(as));
		if ((st = pb__audit_entry_sealed(ws, ai, &ad, &al, err)) ||
		    (st = signed_entry(ws, ai, ad, al, &as, &ao, err))) {
			pb__entry_sig_release(&as);
			free(ad);
			json_decref(ao);
			pb__err_prefix(err, "entry %llu names approval %llu", (unsigned long long)idx,
			               (unsigned long long)ai);
			st = st == PB_ENOMEM ? st : PB_EVERIFY;
			goto out;
		}
		free(ad);
		pb__entry_sig_release(&as);
		json_t *ad2 = json_object_get(ao, "details");
		const char *asha = json_string_value(json_object_get(ad2, "sha256"));
		bool kind = !strcmp(as.action, apply ? "plan.approve" : "plan.rollback-request");
		bool same = json_integer_value(json_object_get(ad2, "plan")) == plan &&
		            (!apply || (asha && !strcmp(asha, sha)));
		bool who = !strcmp(as.actor, na) && !strcmp(as.key_fp, nf);
		json_decref(ao);
		if (!kind || !same || !who) {
			st = pb__err(err, PB_EVERIFY, "entry %llu names entry %llu as an approval: it is %s",
			             (unsigned long long)idx, (unsigned long long)ai,
			             !kind ? "of another kind"
			             : !same ? "of another plan or hash"
			                     : "by another actor or key than named");
			goto out;
		}
		bool author = false;
		if (apply && (st = is_author(ws, plan, as.actor, &author, err)))
			goto out;
		if ((st = approver_at(ws, as.actor, idx, err)))
			goto out;
		if (author) {
			st = pb__err(err, PB_EVERIFY, "entry %llu counts the approval of '%s', an author "
			                              "of plan %lld",
			             (unsigned long long)idx, as.actor, (long long)plan);
			goto out;
		}
		for (size_t j = 0; j < n; j++)
			if (!strcmp(actors[j], as.actor) || !strcmp(fps[j], as.key_fp)) {
				st = pb__err(err, PB_EVERIFY, "entry %llu counts '%s' twice: approvers must "
				                              "be distinct users with distinct keys",
				             (unsigned long long)idx, as.actor);
				goto out;
			}
		pb__strlcpy(actors[n], as.actor, sizeof(actors[n]));
		pb__strlcpy(fps[n++], as.key_fp, sizeof(fps[n]));
	}
	json_int_t counted = json_integer_value(json_object_get(d, "rollback_approvals"));
	size_t need = apply ? 2 : (counted > 1 ? (size_t)counted : 1), body_need = 0;
	if (apply && (st = plan_needs(ws, plan, sha, idx, &body_need, err)))
		goto out;
	if (body_need > need)
		need = body_need;
	if (n < need)
		st = pb__err(err, PB_EVERIFY, "entry %llu: %s of plan %lld has %zu distinct signed "
		                              "approvals; it needs %zu",
		             (unsigned long long)idx, sig.action, (long long)plan, n, need);
out:
	pb__entry_sig_release(&sig);
	json_decref(o);
	return st;
}

/* Whether the log names version (with hash sha) in a plan.apply or
 * plan.rollback entry that verifies and is sealed under a signed checkpoint
 * (pb__audit_entry_sealed): the only versions enforced are those the log
 * recorded and the signing key vouched for. Candidates come from the
 * index audit_entry_enforce; the copied action column only finds them, the
 * entry's own bytes decide. Version 0 (nothing published) needs no entry. */
static enum pb_status named_by_log(struct pb_ws *ws, int64_t version, const char *sha,
                                   struct pb_error *err)
{
	char needle[96];
	pb__snprintf(needle, sizeof(needle), "\"entitlements_sha256\":\"%s\"", sha);
	sqlite3_stmt *q = NULL;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT idx FROM audit_entry WHERE action IN "
	                                   "('plan.apply', 'plan.rollback', 'plan.policy') AND "
	                                   "action IN ('plan.apply', 'plan.rollback') AND "
	                                   "instr(CAST(data AS TEXT), ?1) > 0 ORDER BY idx DESC",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_text(q, 1, needle, -1, SQLITE_STATIC);
	int rc;
	bool found = false;
	while (!found && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t idx = (uint64_t)sqlite3_column_int64(q, 0);
		char *data = NULL;
		size_t len = 0;
		struct pb_error e2 = { 0 };
		if (pb__audit_entry_sealed(ws, idx, &data, &len, &e2)) {
			st = pb__err(err, PB_EVERIFY, "entitlements version %lld is not enforced: %s",
			             (long long)version, e2.message);
			break;
		}
		json_error_t je;
		json_t *o = json_loadb(data, len, 0, &je);
		json_t *d = json_object_get(o, "details");
		const char *action = json_string_value(json_object_get(o, "action"));
		const char *esha = json_string_value(json_object_get(d, "entitlements_sha256"));
		json_t *v = json_object_get(d, "version");
		found = action && (!strcmp(action, "plan.apply") || !strcmp(action, "plan.rollback")) &&
		        esha && !strcmp(esha, sha) && json_is_integer(v) &&
		        json_integer_value(v) == version;
		json_decref(o);
		/* a signed workspace enforces only what two signed approvals carried */
		if (found && pb_ws_actors_signed(ws) &&
		    (st = approvals_verify(ws, idx, data, len, &e2))) {
			st = pb__err(err, st, "entitlements version %lld is not enforced: %s",
			             (long long)version, e2.message);
			free(data);
			break;
		}
		free(data);
	}
	if (!st && !found && rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read the audit log");
	else if (!st && !found)
		st = pb__err(err, PB_EVERIFY,
		             "entitlements version %lld is not named by any plan.apply or plan.rollback "
		             "entry of the log: it was written outside probity and is not enforced",
		             (long long)version);
	sqlite3_finalize(q);
	return st;
}

enum pb_status pb__entitlements_named(struct pb_ws *ws, int64_t version, const char *sha,
                                      struct pb_error *err)
{
	return version == 0 ? PB_OK : named_by_log(ws, version, sha, err);
}

/* pb_entitlements_load, where version 0 is the latest when zero_is_latest and
 * the empty version 0 otherwise (pb_entitlements_load_at before the first). */
static enum pb_status load_version(struct pb_ws *ws, int64_t version, bool zero_is_latest,
                                   bool by_log, struct pb_entitlements **out,
                                   struct pb_error *err)
{
	*out = NULL;
	enum pb_status st = PB_OK;
	sqlite3_stmt *qv = NULL, *qr = NULL;
	struct pb_buf line;
	struct pb_sha256 h = { 0 };
	bool have_h = false;
	pb_buf_init(&line, 1u << 24);
	struct pb_entitlements *e = calloc(1, sizeof(*e));
	if (!e)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (version < 0) {
		st = pb__err(err, PB_EINVAL, "entitlements version %lld: must be 0 (latest) or more",
		             (long long)version);
		goto fail;
	}
	if (version == 0 && zero_is_latest && (st = pb_entitlements_latest(ws, &version, err)))
		goto fail;
	if (version == 0) { /* nothing ever published: the empty version 0 */
		pb_hex((const uint8_t *)"\xe3\xb0\xc4\x42\x98\xfc\x1c\x14\x9a\xfb\xf4\xc8\x99\x6f\xb9\x24"
		                         "\x27\xae\x41\xe4\x64\x9b\x93\x4c\xa4\x95\x99\x1b\x78\x52\xb8\x55",
		        32, e->sha256); /* SHA-256 of no bytes */
		*out = e;
		pb_buf_release(&line);
		return PB_OK;
	}
	if ((st = pb__db_prepare(ws->db,
	                         "SELECT created_ms, reason, nrules, sha256 FROM entitlement_version"
	                         " WHERE version = ?",
	                         &qv, err)))
		goto fail;
	sqlite3_bind_int64(qv, 1, version);
	int rc = sqlite3_step(qv);
	if (rc != SQLITE_ROW) {
		st = rc == SQLITE_DONE ? pb__err(err, PB_ENOENT, "no entitlements version %lld",
		                                 (long long)version)
		                       : pb__db_err(ws->db, err, "cannot read entitlements");
		goto fail;
	}
	e->version = version;
	e->created_ms = sqlite3_column_int64(qv, 0);
	const char *reason = (const char *)sqlite3_column_text(qv, 1);
	int64_t nrules = sqlite3_column_int64(qv, 2);
	const char *sha = (const char *)sqlite3_column_text(qv, 3);
	if (nrules < 0 || nrules > PB_RULES_MAX || !sha || strlen(sha) != 64) {
		st = pb__err(err, PB_EVERIFY, "entitlements version %lld: bad version row",
		             (long long)version);
		goto fail;
	}
	memcpy(e->sha256, sha, 65);
	if (by_log && (st = named_by_log(ws, version, e->sha256, err)))
		goto fail;
	if (!(e->reason = pb__arena_strndup(&e->rs.arena, reason ? reason : "",
	                                     reason ? strlen(reason) : 0)) ||
	    !(e->rs.rules = calloc(nrules ? (size_t)nrules : 1, sizeof(struct pb_rule)))) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	if ((st = pb__db_prepare(ws->db,
	                         "SELECT idx, plan, case_ref, effect, valid_from, valid_until, selector"
	                         " FROM entitlement_rule WHERE version = ? ORDER BY idx",
	                         &qr, err)))
		goto fail;
	sqlite3_bind_int64(qr, 1, version);
	if ((st = pb__sha256_init(&h))) {
		st = pb__err(err, st, "no SHA-256");
		goto fail;
	}
	have_h = true;
	size_t n = 0;
	while ((rc = sqlite3_step(qr)) == SQLITE_ROW) {
		if ((int64_t)n >= nrules || sqlite3_column_int64(qr, 0) != (int64_t)n) {
			st = pb__err(err, PB_EVERIFY, "entitlements version %lld: rules do not match the "
			             "version row (rows added or removed)", (long long)version);
			goto fail;
		}
		struct pb_rule *r = &e->rs.rules[n];
		const char *sel = (const char *)sqlite3_column_text(qr, 6);
		json_error_t je;
		json_t *o = json_pack("{s:s?, s:s?, s:s?}", "plan", (const char *)sqlite3_column_text(qr, 1),
		                      "case", (const char *)sqlite3_column_text(qr, 2), "effect",
		                      (const char *)sqlite3_column_text(qr, 3));
		json_t *so = sel ? json_loads(sel, JSON_REJECT_DUPLICATES, &je) : NULL;
		if (!o || !so) {
			json_decref(o);
			json_decref(so);
			st = pb__err(err, PB_EVERIFY, "entitlements version %lld: rule %zu is unreadable",
			             (long long)version, n + 1);
			goto fail;
		}
		json_object_set_new(o, "selector", so);
		st = json_rule(&e->rs.arena, o, r, "entitlements", n, true, err);
		json_decref(o);
		if (st)
			goto fail;
		r->from = sqlite3_column_type(qr, 4) == SQLITE_NULL ? PB_TIME_OPEN_START : sqlite3_column_int64(qr, 4);
		r->until = sqlite3_column_type(qr, 5) == SQLITE_NULL ? PB_TIME_OPEN_END : sqlite3_column_int64(qr, 5);
		pb_buf_reset(&line);
		if ((st = pb__rule_json(&line, r)) || (st = pb_buf_addc(&line, '\n'))) {
			st = pb__err(err, st, "entitlements version %lld: rule %zu too large",
			             (long long)version, n + 1);
			goto fail;
		}
		pb__sha256_update(&h, line.data, line.len);
		n++;
		e->rs.n = n;
	}
	if (rc != SQLITE_DONE) {
		st = pb__db_err(ws->db, err, "cannot read entitlements");
		goto fail;
	}
	uint8_t digest[32];
	char hex[65];
	pb__sha256_final(&h, digest);
	have_h = false;
	pb_hex(digest, 32, hex);
	if ((int64_t)n != nrules || strcmp(hex, e->sha256) != 0) {
		st = pb__err(err, PB_EVERIFY,
		             "entitlements version %lld does not match its hash: the rules were "
		             "changed outside probity",
		             (long long)version);
		goto fail;
	}
	sqlite3_finalize(qv);
	sqlite3_finalize(qr);
	pb_buf_release(&line);
	*out = e;
	return PB_OK;
fail:
	if (have_h)
		pb__sha256_release(&h);
	sqlite3_finalize(qv);
	sqlite3_finalize(qr);
	pb_buf_release(&line);
	pb_entitlements_free(e);
	return st;
}

enum pb_status pb_entitlements_load(struct pb_ws *ws, int64_t version,
                                    struct pb_entitlements **out, struct pb_error *err)
{
	return load_version(ws, version, true, true, out, err);
}

/* The first ms after the second t: a version published during the second t
 * names counts as published at t (times are whole seconds everywhere else). */
static int64_t second_end_ms(int64_t t)
{
	if (t >= INT64_MAX / 1000 - 1)
		return INT64_MAX;
	if (t <= INT64_MIN / 1000 + 1)
		return INT64_MIN;
	return (t + 1) * 1000;
}

enum pb_status pb_entitlements_load_at(struct pb_ws *ws, int64_t t, struct pb_entitlements **out,
                                       struct pb_error *err)
{
	*out = NULL;
	sqlite3_stmt *q = NULL;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT coalesce(max(version), 0) FROM entitlement_version"
	                                   " WHERE created_ms < ?",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, second_end_ms(t));
	if (sqlite3_step(q) != SQLITE_ROW) {
		st = pb__db_err(ws->db, err, "cannot read entitlement versions");
		sqlite3_finalize(q);
		return st;
	}
	int64_t version = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return load_version(ws, version, false, true, out, err);
}

enum pb_status pb_entitlements_superseded_ms(struct pb_ws *ws, int64_t version, int64_t *ms,
                                             struct pb_error *err)
{
	*ms = 0;
	sqlite3_stmt *q = NULL;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT created_ms FROM entitlement_version WHERE version = ?",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, version + 1);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*ms = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read entitlement versions");
	sqlite3_finalize(q);
	return st;
}

enum pb_status pb__entitlements_rules_check(struct pb_ws *ws, int64_t version,
                                            struct pb_error *err)
{
	struct pb_entitlements *e = NULL;
	enum pb_status st = load_version(ws, version, false, false, &e, err);
	pb_entitlements_free(e);
	return st;
}
