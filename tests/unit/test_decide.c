/* test_decide.c - the compiled decision table: the cases docs/enforcement.md
 * describes, and agreement with a plain reference evaluator (the obvious loop
 * over the rules, written here from the documented semantics) on 1,000,000
 * random (rule set, request) pairs. */
#include "decide/entitlements.h"
#include "unit.h"
#include "../tools/logged.h"

#include <strings.h>

static struct pb_catalog *cat;

/* ---- building rule sets in memory ------------------------------------- */

struct rb {
	struct pb_rule r[64];
	const char *vals[64][PB_DIM_COUNT][6];
	size_t n;
};

static struct pb_rule *add(struct rb *b, const char *plan, enum pb_effect eff, const char *sel)
{
	/* sel: "dim=v1,v2 dim=v3"; values may not contain spaces except via '_' */
	struct pb_rule *r = &b->r[b->n];
	memset(r, 0, sizeof(*r));
	r->plan = plan;
	r->case_ref = "C-1";
	r->effect = eff;
	r->from = PB_TIME_OPEN_START;
	r->until = PB_TIME_OPEN_END;
	static char store[64][512];
	char *s = store[b->n];
	snprintf(store[b->n], sizeof(store[0]), "%s", sel);
	for (char *p = s; *p; p++)
		if (*p == '_')
			*p = ' ';
	char *save = NULL;
	for (char *tok = strtok_r(s, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save)) {
		char *eq = strchr(tok, '=');
		*eq = '\0';
		int d = -1;
		for (int i = 0; i < PB_DIM_COUNT; i++)
			if (!strcmp(tok, pb_dim_name(i)))
				d = i;
		if (d < 0) {
			fprintf(stderr, "bad dim %s\n", tok);
			exit(2);
		}
		char *save2 = NULL;
		size_t k = 0;
		for (char *v = strtok_r(eq + 1, ",", &save2); v; v = strtok_r(NULL, ",", &save2))
			b->vals[b->n][d][k++] = v;
		r->values[d] = b->vals[b->n][d];
		r->nvalues[d] = k;
	}
	b->n++;
	return r;
}

/* entitlements from an rb, through a real workspace */
static struct pb_entitlements *publish(struct rb *b, struct pb_ws *ws)
{
	struct pb_error err = { 0 };
	struct pb_entitlements *e = NULL;
	CHECK_OK(pb_test_publish_logged(ws, "test", b->r, b->n, "test", NULL, &err), &err);
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	return e;
}

static struct pb_ws *new_ws(char **dir)
{
	struct pb_error err = { 0 };
	struct pb_ws *ws = NULL;
	*dir = unit_tmpdir();
	char *p = pb__path_join(*dir, "ws");
	CHECK_OK(pb_ws_init(p, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	CHECK_OK(pb_ws_open(p, 0, &ws, &err), &err);
	free(p);
	return ws;
}

static struct pb_str S(const char *s)
{
	return s ? pb_cstr(s) : pb_str_of(NULL, 0);
}

static struct pb_decision ask(struct pb_decider *d, const char *acct, const char *sub,
                              const char *svc, const char *region, const char *cap,
                              const char *meter, int64_t at)
{
	struct pb_decide_request q = { S(acct), S(sub), S(svc), S(region), S(cap), S(meter), at };
	struct pb_decision out;
	pb_decide(d, &q, &out);
	return out;
}

/* The demo plan: storage in the Netherlands and speech/translation off, Security kept. */
static void t_demo_plan(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct rb b = { .n = 0 };
	add(&b, "1", PB_EFFECT_DISABLE, "account=IMOD-1\tcategory=Storage\tcountry=NL");
	add(&b, "1", PB_EFFECT_DISABLE, "account=IMOD-1\tcapability=speech-to-text,translation");
	add(&b, "1", PB_EFFECT_KEEP, "account=IMOD-1\tcategory=Security");
	struct pb_entitlements *e = publish(&b, ws);
	struct pb_decider *d = NULL;
	struct pb_error err = { 0 };
	CHECK_OK(pb_decider_new(e, cat, &d, &err), &err);
	struct pb_decision r;
	r = ask(d, "IMOD-1", NULL, "Storage Accounts", "westeurope", NULL, NULL, 1000);
	CHECK(!r.allow);
	CHECK_INT(r.why, PB_WHY_DISABLED);
	CHECK_INT(r.rule_index, 0);
	CHECK_INT(r.version, 1);
	CHECK_STR(r.rule ? r.rule->plan : NULL, "1");
	/* any spelling the catalog knows; account ids fold case */
	r = ask(d, "imod-1", NULL, "storage accounts", "Amsterdam", NULL, NULL, 1000);
	CHECK(!r.allow);
	r = ask(d, "IMOD-1", NULL, "Storage Accounts", "northeurope", NULL, NULL, 1000);
	CHECK(r.allow);
	CHECK_INT(r.why, PB_WHY_NO_MATCH);
	/* Azure AI Services sells several capabilities: without a capability the
	 * disabled ones may be in use -> fail closed */
	r = ask(d, "IMOD-1", NULL, "Azure AI Services", "eastus", NULL, NULL, 1000);
	CHECK(!r.allow);
	CHECK_INT(r.rule_index, 1);
	CHECK(r.flags & PB_DECIDE_SEVERAL_CAPS);
	r = ask(d, "IMOD-1", NULL, "Azure AI Services", "eastus", "image-analysis", NULL, 1000);
	CHECK(r.allow);
	r = ask(d, "IMOD-1", NULL, "Azure AI Services", "eastus", NULL, "Speech To Text Standard", 1000);
	CHECK(!r.allow);
	r = ask(d, "IMOD-1", NULL, "Azure AI Services", "eastus", NULL, "Computer Vision S1", 1000);
	CHECK(r.allow);
	/* a capability the service does not offer is ignored: fail closed */
	r = ask(d, "IMOD-1", NULL, "Azure AI Services", "eastus", "object-storage", NULL, 1000);
	CHECK(!r.allow);
	CHECK(r.flags & PB_DECIDE_CAP_IGNORED);
	r = ask(d, "IMOD-1", NULL, "Amazon Transcribe", "us-east-1", NULL, NULL, 1000);
	CHECK(!r.allow);
	r = ask(d, "IMOD-1", NULL, "Key Vault", "westeurope", NULL, NULL, 1000);
	CHECK(r.allow);
	CHECK_INT(r.why, PB_WHY_NO_MATCH);
	/* other customers are not touched */
	r = ask(d, "OTHER", NULL, "Storage Accounts", "westeurope", NULL, NULL, 1000);
	CHECK(r.allow);
	CHECK_INT(r.why, PB_WHY_NO_RULES);
	/* unknown region: could be in NL -> the storage disable applies */
	r = ask(d, "IMOD-1", NULL, "Storage Accounts", "mars-north-1", NULL, NULL, 1000);
	CHECK(!r.allow);
	CHECK(r.flags & PB_DECIDE_UNKNOWN_REGION);
	/* unknown service: could be storage or speech -> denied; security kept? no:
	 * a keep must surely apply */
	r = ask(d, "IMOD-1", NULL, "Quantum Widgets", "northeurope", NULL, NULL, 1000);
	CHECK(!r.allow);
	CHECK(r.flags & PB_DECIDE_UNKNOWN_SERVICE);
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_keeps_and_plans(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct rb b = { .n = 0 };
	/* plan 1 cuts all of A's services in NL, keeps Security */
	add(&b, "1", PB_EFFECT_DISABLE, "account=A\tcountry=NL");
	add(&b, "1", PB_EFFECT_KEEP, "account=A\tcategory=Security");
	/* plan 2 (another case) cuts Key Vault everywhere: its keep-less disable is
	 * not cancelled by plan 1's keep */
	add(&b, "2", PB_EFFECT_DISABLE, "account=A\tservice=Key_Vault");
	/* plan 3: time window */
	add(&b, "3", PB_EFFECT_DISABLE, "account=B\tregion=eu-west-1")->from = 100;
	b.r[3].until = 200;
	/* plan 4: sub-account only */
	add(&b, "4", PB_EFFECT_DISABLE, "account=C\tsubaccount=sub-1\tcategory=Compute");
	add(&b, "4", PB_EFFECT_KEEP, "account=C\tsubaccount=sub-9");
	struct pb_entitlements *e = publish(&b, ws);
	struct pb_decider *d = NULL;
	struct pb_error err = { 0 };
	CHECK_OK(pb_decider_new(e, cat, &d, &err), &err);
	struct pb_decision r;
	r = ask(d, "A", NULL, "Microsoft Defender for Cloud", "westeurope", NULL, NULL, 0);
	CHECK(r.allow);
	CHECK_INT(r.why, PB_WHY_KEPT);
	CHECK_INT(r.rule_index, 1);
	r = ask(d, "A", NULL, "Key Vault", "westeurope", NULL, NULL, 0);
	CHECK(!r.allow);
	CHECK_INT(r.rule_index, 2);
	CHECK_STR(r.rule->plan, "2");
	r = ask(d, "A", NULL, "Virtual Machines", "westeurope", NULL, NULL, 0);
	CHECK(!r.allow);
	CHECK_INT(r.rule_index, 0);
	/* time windows: [100, 200) */
	CHECK(ask(d, "B", NULL, "Amazon Simple Storage Service", "eu-west-1", NULL, NULL, 99).allow);
	CHECK_INT(ask(d, "B", NULL, "AmazonS3", "eu-west-1", NULL, NULL, 99).why, PB_WHY_NO_RULES);
	CHECK(!ask(d, "B", NULL, "AmazonS3", "eu-west-1", NULL, NULL, 100).allow);
	CHECK(!ask(d, "B", NULL, "AmazonS3", "EU (Ireland)", NULL, NULL, 199).allow);
	CHECK(ask(d, "B", NULL, "AmazonS3", "eu-west-1", NULL, NULL, 200).allow);
	/* sub-accounts: named -> exact; not named -> fail closed for the disable */
	CHECK(!ask(d, "C", "sub-1", "Virtual Machines", "eastus", NULL, NULL, 0).allow);
	CHECK(ask(d, "C", "sub-2", "Virtual Machines", "eastus", NULL, NULL, 0).allow);
	r = ask(d, "C", NULL, "Virtual Machines", "eastus", NULL, NULL, 0);
	CHECK(!r.allow);
	CHECK(r.flags & PB_DECIDE_NO_SUBACCOUNT);
	/* sub-9's keep surely applies only when the request names sub-9 */
	CHECK(ask(d, "C", "sub-9", "Virtual Machines", "eastus", NULL, NULL, 0).allow);
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_empty_and_missing(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_entitlements *e = NULL;
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	struct pb_decider *d = NULL;
	CHECK_OK(pb_decider_new(e, cat, &d, &err), &err);
	struct pb_decision r = ask(d, "A", NULL, "Storage Accounts", "westeurope", NULL, NULL, 0);
	CHECK(r.allow);
	CHECK_INT(r.version, 0);
	r = ask(d, NULL, NULL, NULL, NULL, NULL, NULL, 0);
	CHECK(r.allow);
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* The decision JSON (CLI, server, decision log) stays valid JSON whatever
 * bytes the caller sent: invalid UTF-8 becomes U+FFFD, and the 256-byte cut
 * of a long value never splits a character. */
static void t_json_bad_utf8(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_entitlements *e = NULL;
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	struct pb_decider *d = NULL;
	CHECK_OK(pb_decider_new(e, cat, &d, &err), &err);
	char longv[301];
	for (size_t i = 0; i < 300; i += 3)
		memcpy(longv + i, "\xe2\x82\xac", 3);
	longv[300] = '\0';
	struct pb_decide_request q = { pb_cstr("A\xff\xfe"), pb_cstr(longv), pb_cstr("Key Vault"),
		                       pb_cstr("west\xc3" "europe"), { 0 }, { 0 }, 0 };
	struct pb_decision r;
	pb_decide(d, &q, &r);
	char j[4096];
	size_t n = pb_decision_json(&r, &q, "id-1", j, sizeof(j));
	CHECK(n > 0);
	CHECK(pb_utf8_valid(j, n, NULL));
	CHECK(strstr(j, "\"account\":\"A\\ufffd\\ufffd\"") != NULL);
	CHECK(strstr(j, "\"region\":\"west\\ufffdeurope\"") != NULL);
	CHECK(strstr(j, "\xe2\x82\xac\xe2\x82\xac\"") != NULL);
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* ---- the reference evaluator -------------------------------------------- */

static bool ieq(const char *a, const char *b)
{
	struct pb_str x = pb_str_trim(pb_cstr(a)), y = pb_str_trim(pb_cstr(b));
	return x.len == y.len && strncasecmp(x.ptr, y.ptr, x.len) == 0;
}

static bool present(const char *s)
{
	return s && pb_str_trim(pb_cstr(s)).len > 0;
}

struct req {
	const char *acct, *sub, *svc, *region, *cap, *meter;
	int64_t at;
};

/* The capabilities a request may exercise: NULL + n = -1 for "cannot tell". */
struct capset {
	const char *v[40];
	int n;
	unsigned flags;
};

static struct capset ref_caps(const struct req *q)
{
	struct capset cs = { .n = 0 };
	const struct pb_service *s = present(q->svc) ? pb_catalog_service(cat, pb_cstr(q->svc)) : NULL;
	const char *named = NULL;
	bool asked = false;
	if (present(q->cap)) {
		asked = true;
		named = q->cap;
	} else if (present(q->meter)) {
		asked = true;
		named = s ? pb_catalog_capability(cat, pb_cstr(q->svc), pb_cstr(q->meter)) : NULL;
	}
	if (named) {
		bool ok = false;
		if (s) {
			for (size_t i = 0; i < s->ncapabilities; i++)
				ok |= ieq(s->capabilities[i], named);
		} else {
			ok = pb_catalog_capability_known(cat, pb_str_trim(pb_cstr(named)));
		}
		if (ok) {
			cs.v[0] = named;
			cs.n = 1;
			return cs;
		}
	}
	if (asked)
		cs.flags |= PB_DECIDE_CAP_IGNORED;
	if (!s) {
		cs.n = -1;
		return cs;
	}
	for (size_t i = 0; i < s->ncapabilities; i++)
		cs.v[cs.n++] = s->capabilities[i];
	if (cs.n > 1)
		cs.flags |= PB_DECIDE_SEVERAL_CAPS;
	return cs;
}

/* 1 = the rule's dimension holds the value, 0 = not, -1 = cannot tell */
static int ref_dim(const struct pb_rule *r, int d, const struct req *q)
{
	const struct pb_service *s = present(q->svc) ? pb_catalog_service(cat, pb_cstr(q->svc)) : NULL;
	const struct pb_region *g = present(q->region) ? pb_catalog_region(cat, pb_cstr(q->region)) : NULL;
	const char *val = NULL;
	switch (d) {
	case PB_DIM_ACCOUNT: val = present(q->acct) ? q->acct : NULL; break;
	case PB_DIM_SUBACCOUNT:
		if (!present(q->sub))
			return -1;
		val = q->sub;
		break;
	case PB_DIM_SERVICE:
		if (!s)
			return -1;
		for (size_t i = 0; i < r->nvalues[d]; i++) {
			const struct pb_service *rs = pb_catalog_service(cat, pb_cstr(r->values[d][i]));
			if (ieq(rs ? rs->name : r->values[d][i], s->name))
				return 1;
		}
		return 0;
	case PB_DIM_CATEGORY: if (!s) return -1; val = s->category; break;
	case PB_DIM_SUBCATEGORY: if (!s) return -1; val = s->subcategory; break;
	case PB_DIM_REGION:
		if (!g)
			return -1;
		for (size_t i = 0; i < r->nvalues[d]; i++) {
			const struct pb_region *rg = pb_catalog_region(cat, pb_cstr(r->values[d][i]));
			if (ieq(rg ? rg->id : r->values[d][i], g->id))
				return 1;
		}
		return 0;
	case PB_DIM_COUNTRY:
		if (!g)
			return -1;
		val = g->country;
		break;
	}
	if (!present(val))
		return 0;
	for (size_t i = 0; i < r->nvalues[d]; i++)
		if (ieq(r->values[d][i], val))
			return 1;
	return 0;
}

static bool ref_applies(const struct pb_rule *r, const struct req *q, bool may)
{
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		if (!r->nvalues[d])
			continue;
		if (d == PB_DIM_CAPABILITY) {
			struct capset cs = ref_caps(q);
			if (cs.n < 0) {
				if (!may)
					return false;
				continue;
			}
			int hits = 0;
			for (int i = 0; i < cs.n; i++)
				for (size_t j = 0; j < r->nvalues[d]; j++)
					if (ieq(cs.v[i], r->values[d][j])) {
						hits++;
						break;
					}
			if (may ? hits == 0 : (cs.n == 0 || hits < cs.n))
				return false;
			continue;
		}
		int m = ref_dim(r, d, q);
		if (m == 0 || (m < 0 && !may))
			return false;
	}
	return true;
}

static bool ref_force(const struct pb_rule *r, int64_t t)
{
	return r->from <= t && t < r->until;
}

static struct pb_decision reference(const struct pb_entitlements *e, const struct req *q)
{
	struct pb_decision out = { .allow = true, .why = PB_WHY_NO_RULES,
	                           .version = pb_entitlements_version(e) };
	size_t n = pb_entitlements_count(e);
	bool named = false;
	size_t kept_dis = SIZE_MAX, kept_keep = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct pb_rule *r = pb_entitlements_rule(e, i);
		if (ref_force(r, q->at) && ref_dim(r, PB_DIM_ACCOUNT, q) == 1)
			named = true;
	}
	if (!named)
		return out;
	struct capset cs = ref_caps(q);
	out.flags = cs.flags;
	if (!present(q->sub))
		out.flags |= PB_DECIDE_NO_SUBACCOUNT;
	if (!present(q->svc) || !pb_catalog_service(cat, pb_cstr(q->svc)))
		out.flags |= PB_DECIDE_UNKNOWN_SERVICE;
	if (!present(q->region) || !pb_catalog_region(cat, pb_cstr(q->region)))
		out.flags |= PB_DECIDE_UNKNOWN_REGION;
	out.why = PB_WHY_NO_MATCH;
	for (size_t i = 0; i < n; i++) {
		const struct pb_rule *r = pb_entitlements_rule(e, i);
		if (r->effect != PB_EFFECT_DISABLE || !ref_force(r, q->at) || !ref_applies(r, q, true))
			continue;
		size_t keep = SIZE_MAX;
		for (size_t k = 0; k < n && keep == SIZE_MAX; k++) {
			const struct pb_rule *kr = pb_entitlements_rule(e, k);
			if (kr->effect == PB_EFFECT_KEEP && ieq(kr->plan, r->plan) &&
			    ref_force(kr, q->at) && ref_applies(kr, q, false))
				keep = k;
		}
		if (keep == SIZE_MAX) {
			out.allow = false;
			out.why = PB_WHY_DISABLED;
			out.rule_index = i;
			out.rule = r;
			return out;
		}
		if (kept_dis == SIZE_MAX) {
			kept_dis = i;
			kept_keep = keep;
		}
	}
	if (kept_keep != SIZE_MAX) {
		out.why = PB_WHY_KEPT;
		out.rule_index = kept_keep;
		out.rule = pb_entitlements_rule(e, kept_keep);
	}
	return out;
}

/* ---- random pairs --------------------------------------------------------- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}
#define PICK(arr) ((arr)[rnd((uint32_t)PB_ARRAY_LEN(arr))])

static const char *const accts[] = { "A1", "a1", "A2", "B-77", " A1 " };
static const char *const subs[] = { "s1", "S1", "s2", "s3" };
static const char *const svcs[] = { "Azure AI Services", "Storage Accounts", "Key Vault",
	"Microsoft Defender for Cloud", "Amazon Simple Storage Service", "AmazonS3",
	"Amazon Transcribe", "translate", "Azure Backup", "Virtual Machines", "Amazon Polly",
	"Azure AI Video Indexer", "Cloud Storage", "Azure Monitor", "Quantum Widgets",
	"azure ai services" };
static const char *const cats[] = { "Storage", "AI and Machine Learning", "Security", "Compute",
	"storage", "Management and Governance", "Networking" };
static const char *const subcats[] = { "Object Storage", "AI Platforms",
	"Natural Language Processing", "Secret Management", "Storage Platforms", "Virtual Machines" };
static const char *const caps[] = { "speech-to-text", "translation", "object-storage",
	"file-storage", "key-management", "text-to-speech", "backup-storage", "image-analysis",
	"security-monitoring", "face-recognition" };
static const char *const regions[] = { "westeurope", "West Europe", "amsterdam", "eu-west-1",
	"europe-west4", "eastus", "northeurope", "us-east-1", "mars-1", "global", "germanywestcentral" };
static const char *const countries[] = { "NL", "IE", "US", "DE", "nl" };
static const char *const meters[] = { "Speech To Text Standard", "Translator Text",
	"Computer Vision S1", "Mystery meter" };
static const int64_t times[] = { 50, 100, 150, 200, 250 };

/* Every request is decided by the engine as it ships (0) and with its
 * internal choices forced (struct pb__decider_tuning): every id tested the
 * general way, no request memo, two-word block entries (1); few ids as mask
 * bits, so that one table mixes fast, wide and general shapes, through the
 * memo's precomputed answers (2); mask bits without the memo, two-word
 * entries (3). All must agree with the reference. */
#define NTUNE 4
static const struct pb__decider_tuning tunings[NTUNE] = {
	{ 62, true, true }, { 0, false, false }, { 4, true, true }, { 62, false, false },
};

/* Do a and b render as the same JSON (the rule as answers show it)? */
static bool json_same(const struct pb_decision *a, const struct pb_decision *b,
                                const struct pb_decide_request *q)
{
	char j1[4096], j2[4096];
	size_t l1 = pb_decision_json(a, q, NULL, j1, sizeof(j1));
	size_t l2 = pb_decision_json(b, q, NULL, j2, sizeof(j2));
	return l1 && l1 == l2 && memcmp(j1, j2, l1) == 0;
}

static void t_random_agreement(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	long pairs = 0, mismatches = 0, denies = 0, kept = 0, renders = 0, json_diffs = 0;
	long file_sets = 0;
	static const char *vals[24][PB_DIM_COUNT][4];
	const size_t sets = 2000, per = 500;
	for (size_t s = 0; s < sets; s++) {
		struct pb_rule rules[24];
		size_t n = 1 + rnd(16);
		for (size_t i = 0; i < n; i++) {
			struct pb_rule *r = &rules[i];
			memset(r, 0, sizeof(*r));
			r->plan = rnd(3) == 0 ? "P1" : rnd(2) ? "P2" : "P3";
			r->case_ref = "C";
			r->effect = rnd(3) == 0 ? PB_EFFECT_KEEP : PB_EFFECT_DISABLE;
			r->from = rnd(3) == 0 ? PICK(times) : PB_TIME_OPEN_START;
			r->until = rnd(3) == 0 ? r->from + 1 + rnd(150) : PB_TIME_OPEN_END;
			if (r->from == PB_TIME_OPEN_START && r->until != PB_TIME_OPEN_END)
				r->until = PICK(times);
			for (int d = 0; d < PB_DIM_COUNT; d++) {
				size_t k = d == PB_DIM_ACCOUNT ? 1 + rnd(2) : (rnd(3) == 0 ? 1 + rnd(3) : 0);
				for (size_t j = 0; j < k; j++) {
					const char *v = "";
					switch (d) {
					case PB_DIM_ACCOUNT: v = PICK(accts); break;
					case PB_DIM_SUBACCOUNT: v = PICK(subs); break;
					case PB_DIM_CATEGORY: v = PICK(cats); break;
					case PB_DIM_SUBCATEGORY: v = PICK(subcats); break;
					case PB_DIM_SERVICE: v = PICK(svcs); break;
					case PB_DIM_CAPABILITY: v = PICK(caps); break;
					case PB_DIM_REGION: v = PICK(regions); break;
					case PB_DIM_COUNTRY: v = PICK(countries); break;
					}
					vals[i][d][j] = v;
				}
				r->values[d] = vals[i][d];
				r->nvalues[d] = k;
			}
		}
		struct pb_entitlements *e = NULL;
		struct pb_decider *decs[NTUNE] = { NULL };
		bool ok = !pb_test_publish_logged(ws, "test", rules, n, "random", NULL, &err) &&
		          !pb_entitlements_load(ws, 0, &e, &err);
		for (int v = 0; ok && v < NTUNE; v++)
			ok = !(v == 0 ? pb_decider_new(e, cat, &decs[v], &err)
			              : pb__decider_new_tuned(e, cat, &tunings[v], &decs[v], &err));
		if (!ok) {
			UNIT_FAIL_("set %zu: %s", s, err.message);
			for (int v = 0; v < NTUNE; v++)
				pb_decider_free(decs[v]);
			pb_entitlements_free(e);
			break;
		}
		/* every tenth set, also the tables as compiled files map them
		 * (etab.c): the shipped engine's and the two-word, memo-less one */
		struct pb_etab *files[2] = { NULL, NULL };
		const struct pb_decider *fdec[2] = { NULL, NULL };
		for (int f = 0; s % 10 == 0 && f < 2; f++) {
			char path[600];
			snprintf(path, sizeof(path), "%s/t%d.etab", dir, f);
			if (pb_etab_write(decs[f], path, 0600, &err) ||
			    pb_etab_open(path, cat, &files[f], &err)) {
				UNIT_FAIL_("set %zu, file %d: %s", s, f, err.message);
				continue;
			}
			fdec[f] = pb_etab_decider(files[f]);
			file_sets += f == 0;
		}
		for (size_t k = 0; k < per; k++) {
			struct req q = { PICK(accts), rnd(2) ? PICK(subs) : NULL, PICK(svcs), PICK(regions),
			                 rnd(4) == 0 ? PICK(caps) : NULL, rnd(4) == 0 ? PICK(meters) : NULL,
			                 PICK(times) + (int64_t)rnd(3) - 1 };
			struct pb_decide_request dq = { S(q.acct), S(q.sub), S(q.svc), S(q.region),
			                                S(q.cap), S(q.meter), q.at };
			struct pb_decision got, want = reference(e, &q);
			pairs++;
			denies += !want.allow;
			kept += want.why == PB_WHY_KEPT;
			if (k % 4 == 0) { /* the server's renderer writes the same text */
				char j1[4096], j2[4096], ts[32];
				pb_decide(decs[0], &dq, &got);
				pb_time_format(dq.at, ts);
				size_t l1 = pb_decision_json(&got, &dq, "id-1", j1, sizeof(j1));
				size_t l2 = pb_decision_json_cached(decs[0], &got, &dq, "id-1", k % 8 ? ts : NULL,
				                                    j2, sizeof(j2));
				if (l1 == 0 || l1 != l2 || memcmp(j1, j2, l1) != 0) {
					if (json_diffs++ < 3)
						UNIT_FAIL_("set %zu: json differs:\n  %s\n  %s", s, j1, j2);
				}
				renders++;
			}
			for (int f = 0; f < 2; f++) {
				if (!fdec[f])
					continue;
				pb_decide(fdec[f], &dq, &got);
				if (got.allow == want.allow && got.why == want.why && got.flags == want.flags &&
				    got.version == want.version &&
				    (!want.rule || (got.rule && got.rule_index == want.rule_index &&
				                    !strcmp(got.rule->plan, want.rule->plan) &&
				                    got.rule->effect == want.rule->effect &&
				                    json_same(&got, &want, &dq))))
					continue;
				if (mismatches++ < 5)
					UNIT_FAIL_("set %zu, file %d: %s/%s/%s/%s at=%lld: got %s/%s #%zu, want "
					           "%s/%s #%zu", s, f, q.acct, q.sub ? q.sub : "-", q.svc,
					           q.region, (long long)q.at, pb_why_name(got.why),
					           got.allow ? "allow" : "deny", got.rule_index,
					           pb_why_name(want.why), want.allow ? "allow" : "deny",
					           want.rule_index);
			}
			for (int v = 0; v < NTUNE; v++) {
				pb_decide(decs[v], &dq, &got);
				if (got.allow == want.allow && got.why == want.why &&
				    got.flags == want.flags && got.version == want.version &&
				    (!want.rule || (got.rule == want.rule && got.rule_index == want.rule_index)))
					continue;
				if (mismatches++ < 5)
					UNIT_FAIL_("set %zu, engine %d: %s/%s/%s/%s cap=%s meter=%s at=%lld: "
					           "got %s/%s #%zu flags %x, want %s/%s #%zu flags %x",
					           s, v, q.acct, q.sub ? q.sub : "-", q.svc, q.region,
					           q.cap ? q.cap : "-", q.meter ? q.meter : "-", (long long)q.at,
					           got.allow ? "allow" : "deny", pb_why_name(got.why),
					           got.rule_index, got.flags, want.allow ? "allow" : "deny",
					           pb_why_name(want.why), want.rule_index, want.flags);
			}
		}
		for (int v = 0; v < NTUNE; v++)
			pb_decider_free(decs[v]);
		pb_etab_free(files[0]);
		pb_etab_free(files[1]);
		pb_entitlements_free(e);
	}
	CHECK_INT(file_sets, (long)(sets / 10));
	CHECK_INT(pairs, (long)(sets * per));
	CHECK_INT(mismatches, 0);
	CHECK_INT(json_diffs, 0);
	CHECK_INT(renders, (long)(sets * per / 4));
	/* the generator must exercise every outcome, or agreement proves little */
	CHECK(denies > pairs / 20);
	CHECK(kept > pairs / 200);
	fprintf(stderr, "random agreement: %ld pairs, %ld denies, %ld kept, %ld mismatches "
	        "(%d engines)\n", pairs, denies, kept, mismatches, NTUNE);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* A compiled file answers as the table it was written from; a damaged,
 * cut or foreign one is refused with what is wrong, and its version is
 * vouched for only by a log that names it. */
static void t_etab_file(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct rb b = { 0 };
	add(&b, "12", PB_EFFECT_DISABLE, "account=A1\tcountry=NL");
	add(&b, "12", PB_EFFECT_KEEP, "account=A1\tcategory=Security");
	struct pb_entitlements *e = publish(&b, ws);
	struct pb_decider *d = NULL;
	struct pb_error err = { 0 };
	CHECK_INT(pb_decider_new(e, cat, &d, &err), PB_OK);
	char path[600], bad[600];
	snprintf(path, sizeof(path), "%s/e.etab", dir);
	snprintf(bad, sizeof(bad), "%s/bad.etab", dir);
	CHECK_INT(pb_etab_write(d, path, 0600, &err), PB_OK);
	struct pb_etab *t = NULL;
	CHECK_INT(pb_etab_open(path, cat, &t, &err), PB_OK);
	if (t) {
		CHECK_INT(pb_etab_version(t), pb_entitlements_version(e));
		CHECK_INT(pb_etab_count(t), 2);
		CHECK_STR(pb_etab_sha256(t), pb_entitlements_sha256(e));
		CHECK_INT(pb_etab_verify(t, ws, &err), PB_OK);
		char *dir2; /* another workspace's log does not vouch for it */
		struct pb_ws *ws2 = new_ws(&dir2);
		CHECK_INT(pb_etab_verify(t, ws2, &err), PB_EVERIFY);
		pb_ws_close(ws2);
		unit_rm_rf(dir2);
		free(dir2);
		struct pb_decision got = ask((struct pb_decider *)pb_etab_decider(t), "a1", NULL,
		                             "Storage Accounts", "westeurope", NULL, NULL, 100);
		CHECK(!got.allow);
		CHECK(got.rule && !strcmp(got.rule->plan, "12") && !strcmp(got.rule->values[0][0], "A1"));
		CHECK(pb_decider_entitlements(pb_etab_decider(t)) == NULL);
		CHECK_INT(pb_etab_write(pb_etab_decider(t), bad, 0600, &err), PB_EINVAL);
		pb_etab_free(t);
	}
	char *data = NULL;
	size_t n = 0;
	CHECK_INT(pb__read_file(path, 1 << 20, &data, &n, &err), PB_OK);
	if (data && n > 400) {
		data[n - 3] ^= 1; /* a damaged byte */
		CHECK_INT(pb__write_file_atomic(bad, data, n, 0600, &err), PB_OK);
		CHECK_INT(pb_etab_open(bad, cat, &t, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "checksum") != NULL);
		data[n - 3] ^= 1;
		CHECK_INT(pb__write_file_atomic(bad, data, n - 8, 0600, &err), PB_OK); /* cut */
		CHECK_INT(pb_etab_open(bad, cat, &t, &err), PB_EVERIFY);
		data[0] = 'X';
		CHECK_INT(pb__write_file_atomic(bad, data, n, 0600, &err), PB_OK);
		CHECK_INT(pb_etab_open(bad, cat, &t, &err), PB_EFORMAT);
	}
	free(data);
	CHECK_INT(pb_etab_open(dir, cat, &t, &err), PB_EIO); /* a folder */
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* A query key given twice is -3 (refused by serve), whatever the values;
 * once, its value is decoded as before. */
static void t_query_repeated(void)
{
	char out[64];
	size_t n;
	struct pb_str q = pb_cstr("account=A%20B&service=x");
	CHECK_INT(pb_http_query_get(q, "account", out, sizeof(out), &n), 1);
	CHECK_STR(out, "A B");
	CHECK_INT(pb_http_query_get(q, "region", out, sizeof(out), &n), 0);
	q = pb_cstr("account=A&service=x&account=B");
	CHECK_INT(pb_http_query_get(q, "account", out, sizeof(out), &n), -3);
	CHECK_INT(pb_http_query_get(q, "service", out, sizeof(out), &n), 1);
	q = pb_cstr("account=A&account=A");
	CHECK_INT(pb_http_query_get(q, "account", out, sizeof(out), &n), -3);
	q = pb_cstr("account&account=B");
	CHECK_INT(pb_http_query_get(q, "account", out, sizeof(out), &n), -3);
	q = pb_cstr("account=A&accounts=B&xaccount=C");
	CHECK_INT(pb_http_query_get(q, "account", out, sizeof(out), &n), 1);
	CHECK_STR(out, "A");
}

int main(void)
{
	struct pb_error err = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &err) != PB_OK) {
		fprintf(stderr, "cannot load the catalog: %s\n", err.message);
		return 1;
	}
	RUN(t_demo_plan);
	RUN(t_keeps_and_plans);
	RUN(t_empty_and_missing);
	RUN(t_json_bad_utf8);
	RUN(t_random_agreement);
	RUN(t_etab_file);
	RUN(t_query_repeated);
	pb_catalog_free(cat);
	return UNIT_END("decide");
}
