/* test_policy.c - the policy parser: every kind of bad input gives a clear
 * error at its position; windows and expressions. */
#include "unit.h"

#include "policy/policy.h"

static struct pb_catalog *cat;

static const char head[] = "policy: t\ndescription: d\nclause: c\n";

/* Parses head + body; returns the status and fills err. */
static int parse(const char *body, struct pb_error *err, struct pb_policy **out)
{
	char text[8192];
	snprintf(text, sizeof(text), "%s%s", head, body);
	memset(err, 0, sizeof(*err));
	struct pb_policy *p = NULL;
	int st = pb_policy_parse(text, strlen(text), "t.yaml", cat, &p, err);
	if (out)
		*out = p;
	else
		pb_policy_free(p);
	return st;
}

#define IND(sel, rest)                                                                   \
	"indicators:\n  a:\n    select:\n      " sel "\n" rest                             \
	"rules:\n  r:\n    severity: high\n    when: a\n"

/* Expects failure at line:col with text in the message. */
#define BAD(body, code, ln, col, text)                                                   \
	do {                                                                             \
		struct pb_error e_;                                                      \
		int st_ = parse(body, &e_, NULL);                                        \
		CHECK_INT(st_, code);                                                    \
		if (ln)                                                                  \
			CHECK_INT(e_.line, ln);                                          \
		if (col)                                                                 \
			CHECK_INT(e_.column, col);                                       \
		if (!strstr(e_.message, text))                                           \
			UNIT_FAIL_("message '%s' lacks '%s'", e_.message, text);        \
		CHECK_STR(e_.file, "t.yaml");                                            \
	} while (0)

static void t_valid(void)
{
	struct pb_error e;
	struct pb_policy *p;
	CHECK_OK(parse(IND("capability: object-storage",
	                   "    window: last 3 months\n    aggregate: monthly-max\n"
	                   "    threshold: \">= 1 PB-Months\"\n"),
	               &e, &p),
	         &e);
	if (!p)
		return;
	CHECK_INT(p->nind, 1);
	CHECK_STR(p->ind[0].unit, "GB-Months");
	CHECK(p->ind[0].thr == (pb_dec)1000000 * PB_DEC_ONE); /* 1 PB = 10^6 GB */
	CHECK_INT(p->ind[0].window, PB_WIN_LAST_MONTHS);
	CHECK_INT(p->ind[0].wn, 3);
	CHECK_STR(p->rules[0].severity, "high");
	pb_policy_free(p);
}

static void t_canonical_values(void)
{
	struct pb_error e;
	struct pb_policy *p;
	CHECK_OK(parse(IND("region: West Europe\n      country: nl\n      service: Storage Accounts",
	                   "    window: month 2026-02\n    threshold: \">= 2 TB\"\n"),
	               &e, &p),
	         &e);
	if (!p)
		return;
	CHECK_STR(p->ind[0].values[PB_SEL_REGION][0], "westeurope");
	CHECK_STR(p->ind[0].values[PB_SEL_COUNTRY][0], "NL");
	CHECK_STR(p->ind[0].unit, "GB");
	CHECK(p->ind[0].thr == 2000 * PB_DEC_ONE);
	CHECK_INT(p->ind[0].wn, 2026 * 12 + 1);
	pb_policy_free(p);
}

static void t_growth_and_share_units(void)
{
	struct pb_error e;
	struct pb_policy *p;
	CHECK_OK(parse(IND("capability: llm", "    unit: 1M Tokens\n    window: last 30 days\n"
	                                      "    aggregate: growth\n    threshold: \">= 200%\"\n"),
	               &e, &p),
	         &e);
	if (p) {
		CHECK(p->ind[0].thr == 3 * PB_DEC_ONE); /* +200% = 3x */
		CHECK_STR(p->ind[0].unit, "Tokens");
		pb_policy_free(p);
	}
	CHECK_OK(parse(IND("capability: llm", "    unit: Tokens\n    window: last 30 days\n"
	                                      "    aggregate: share-of-region\n    threshold: \">= 40%\"\n"),
	               &e, &p),
	         &e);
	if (p) {
		CHECK(p->ind[0].thr == PB_DEC_ONE / 10 * 4);
		CHECK_INT(p->ind[0].per, PB_PER_REGION);
		pb_policy_free(p);
	}
}

static void t_bad_yaml(void)
{
	BAD("indicators: [a, b\n", PB_EFORMAT, 5, 0, "malformed YAML");
	BAD("indicators:\n  a: &x {}\n  b: *x\n", PB_EFORMAT, 6, 6, "aliases");
	BAD("", PB_EINVAL, 0, 0, "no 'indicators'");
	struct pb_error e;
	memset(&e, 0, sizeof(e));
	struct pb_policy *p = NULL;
	CHECK_INT(pb_policy_parse("", 0, "t.yaml", cat, &p, &e), PB_EFORMAT);
	CHECK(strstr(e.message, "empty") != NULL);
}

static void t_unknown_fields(void)
{
	BAD(IND("capability: object-storage",
	        "    window: last 3 months\n    treshold: \">= 1 PB\"\n"),
	    PB_EINVAL, 9, 5, "did you mean 'threshold'");
	BAD(IND("capabilty: object-storage", "    window: last 3 months\n"), PB_EINVAL, 7, 7,
	    "did you mean 'capability'");
	BAD("polcy: x\n", PB_EINVAL, 4, 1, "did you mean 'policy'");
	BAD(IND("capability: object-storage",
	        "    window: last 3 months\n    window: last 2 months\n"),
	    PB_EINVAL, 9, 5, "appears twice");
}

static void t_wrong_types(void)
{
	BAD("indicators: [a]\nrules: {}\n", PB_EINVAL, 4, 13, "must be a mapping");
	BAD(IND("capability: {a: b}", "    window: last 3 months\n"), PB_EINVAL, 7, 19,
	    "not a mapping");
	BAD(IND("capability: object-storage",
	        "    window: [last, 3]\n    threshold: \">= 1 PB\"\n"),
	    PB_EINVAL, 8, 13, "must be a scalar");
	BAD(IND("capability: object-storage", "    window: last 3 weeks\n    threshold: \">= 1 PB\"\n"),
	    PB_EINVAL, 8, 13, "unknown window");
}

static void t_catalog_values(void)
{
	BAD(IND("capability: mind-reading", "    window: last 3 months\n"), PB_EINVAL, 7, 19,
	    "unknown capability 'mind-reading'");
	BAD(IND("region: atlantis-1", "    window: last 3 months\n"), PB_EINVAL, 7, 15,
	    "unknown region 'atlantis-1'");
	BAD(IND("service: Quantum Teleport", "    window: last 3 months\n"), PB_EINVAL, 7, 16,
	    "unknown service");
	BAD(IND("country: XX", "    window: last 3 months\n"), PB_EINVAL, 7, 16, "unknown country");
	BAD(IND("category: Teleportation", "    window: last 3 months\n"), PB_EINVAL, 7, 17,
	    "unknown service category");
}

static void t_thresholds(void)
{
	BAD(IND("capability: object-storage", "    window: last 3 months\n    threshold: \">= 1000\"\n"),
	    PB_EINVAL, 9, 16, "has no unit");
	BAD(IND("capability: object-storage", "    window: last 3 months\n    threshold: \"1 PB\"\n"),
	    PB_EINVAL, 9, 16, "no comparison");
	BAD(IND("capability: object-storage", "    window: last 3 months\n    threshold: \">= 1 Furlongs\"\n"),
	    PB_EINVAL, 9, 16, "unknown unit 'Furlongs'");
	BAD(IND("capability: object-storage", "    window: last 3 months\n    threshold: \">= 10 EUR\"\n"),
	    PB_EINVAL, 9, 16, "unit mismatch");
	BAD(IND("capability: object-storage",
	        "    measure: billed-cost\n    window: last 3 months\n    threshold: \">= 10 TB\"\n"),
	    PB_EINVAL, 10, 16, "unit mismatch");
	BAD(IND("capability: object-storage\n      unit: Hours",
	        "    window: last 3 months\n    threshold: \">= 10 TB\"\n"),
	    PB_EINVAL, 10, 16, "unit mismatch");
	BAD(IND("capability: object-storage",
	        "    window: last 3 months\n    aggregate: growth\n    threshold: \">= 10 TB\"\n"),
	    PB_EINVAL, 10, 16, "growth threshold is a factor");
	BAD(IND("capability: object-storage",
	        "    unit: TB\n    window: last 3 months\n    threshold: \">= 3x\"\n"),
	    PB_EINVAL, 10, 16, "needs 'aggregate: growth'");
	BAD(IND("capability: object-storage", "    window: last 3 months\n"), PB_EINVAL, 6, 5,
	    "no 'threshold'");
}

/* A unit the selected capability or service is never billed in could never
 * fire: it is refused at the unit, with the units the catalog lists. */
static void t_capability_units(void)
{
	BAD(IND("capability: object-storage", "    window: last 3 months\n    threshold: \">= 1 Hours\"\n"),
	    PB_EINVAL, 9, 16, "capability 'object-storage' is never billed in");
	BAD(IND("capability: object-storage", "    window: last 3 months\n    threshold: \">= 1 Hours\"\n"),
	    PB_EINVAL, 9, 16, "(hint: capability 'object-storage' uses GB-Months, GB");
	/* through unit: (growth) the error is at unit: */
	BAD(IND("capability: speech-to-text",
	        "    unit: GB-Months\n    aggregate: growth\n    window: last 3 months\n"
	        "    threshold: \">= 3x\"\n"),
	    PB_EINVAL, 8, 11, "speech-to-text");
	/* a service: the units of its capabilities */
	BAD(IND("service: Storage Accounts", "    window: last 3 months\n    threshold: \">= 1 Characters\"\n"),
	    PB_EINVAL, 9, 16, "service 'Storage Accounts' is never billed in");
	/* units the capability is billed in, and capabilities the catalog says nothing of */
	struct pb_error e;
	CHECK_INT(parse(IND("capability: object-storage",
	                    "    window: last 3 months\n    threshold: \">= 1 PB-Months\"\n"),
	                &e, NULL),
	          PB_OK);
	/* alternatives: one that is billed in the unit is enough */
	CHECK_INT(parse(IND("capability: [object-storage, speech-to-text]",
	                    "    window: last 3 months\n    threshold: \">= 1 Hours\"\n"),
	                &e, NULL),
	          PB_OK);
	CHECK_INT(parse(IND("capability: virtual-machines",
	                    "    window: last 3 months\n    threshold: \">= 1 Characters\"\n"),
	                &e, NULL),
	          PB_OK);
}

static void t_references(void)
{
	BAD("indicators:\n  a:\n    when: b\nrules:\n  r:\n    severity: high\n    when: a\n",
	    PB_EINVAL, 6, 11, "undefined indicator 'b'");
	BAD("indicators:\n  abc:\n    when: abd\nrules:\n  r:\n    severity: high\n    when: abc\n",
	    PB_EINVAL, 6, 11, "did you mean 'abc'");
	BAD("indicators:\n  a:\n    when: {all: [b]}\n  b:\n    when: {not: a}\n"
	    "rules:\n  r:\n    severity: high\n    when: a\n",
	    PB_EINVAL, 5, 3, "cycle: a -> b -> a");
	BAD("indicators:\n  a:\n    when: a\nrules:\n  r:\n    severity: high\n    when: a\n",
	    PB_EINVAL, 5, 3, "cycle");
	BAD(IND("capability: llm", "    unit: Tokens\n    window: last 3 months\n    threshold: \">= 1 Tokens\"\n")
	    "  s:\n    severity: urgent\n    when: a\n",
	    PB_EINVAL, 16, 15, "unknown severity");
}

static void t_limits(void)
{
	/* nesting deeper than the cap: an error, not a stack overflow */
	char deep[4096] = "indicators:\n  a: ";
	for (int i = 0; i < 200; i++)
		strcat(deep, "[");
	BAD(deep, PB_ELIMIT, 0, 0, "deeper than");
	size_t n = PB_POLICY_MAX_BYTES + 10;
	char *big = malloc(n);
	memset(big, '#', n);
	struct pb_error e;
	memset(&e, 0, sizeof(e));
	struct pb_policy *p = NULL;
	CHECK_INT(pb_policy_parse(big, n, "big.yaml", cat, &p, &e), PB_ELIMIT);
	CHECK(strstr(e.message, "over") != NULL);
	free(big);
	CHECK_INT(pb_policy_load("tests/data/policy/nope.yaml", cat, &p, &e), PB_ENOENT);
}

/* Each of these errors names what was expected and gives a hint, at the
 * position where there is one. */
static void t_hints(void)
{
	BAD(IND("capability: llm", "    window: last 0 days\n    threshold: \">= 1 Tokens\"\n"),
	    PB_EINVAL, 8, 13, "from 1 to 3660 (hint: e.g. 'last 90 days')");
	BAD(IND("capability: llm", "    window: month 2026-13\n    threshold: \">= 1 Tokens\"\n"),
	    PB_EINVAL, 8, 13, "there is no month 13 (hint: a month from 01 to 12");
	BAD(IND("capability: llm", "    window: month 26-1\n    threshold: \">= 1 Tokens\"\n"),
	    PB_EINVAL, 8, 13, "YYYY-MM, a year from 1970 to 9999 (hint:");
	BAD(IND("capability: llm", "    window: last 3 days\n    threshold: \">= Tokens\"\n"),
	    PB_EINVAL, 9, 16, "no number after the comparison (hint: OP NUMBER UNIT");
	BAD(IND("capability: llm", "    window: last 3 days\n    threshold: \">= 1 Tokens\"\n")
	    "  s:\n    severity: [high]\n    when: a\n",
	    PB_EINVAL, 15, 15, "must be one word, not a list (hint: 'severity: high'; one of low");
	BAD(IND("capability: llm", "    description: [a]\n    window: last 3 days\n"
	        "    threshold: \">= 1 Tokens\"\n"),
	    PB_EINVAL, 8, 18, "must be a scalar, not a list (hint:");
	BAD("indicators: [a]\nrules: {}\n", PB_EINVAL, 4, 13, "(hint: indented 'key: value' lines");
	char deep[4096] = "indicators:\n  a: ";
	for (int i = 0; i < 200; i++)
		strcat(deep, "[");
	BAD(deep, PB_ELIMIT, 5, 0, "deeper than 32 levels (hint:");
	size_t n = PB_POLICY_MAX_BYTES + 10;
	char *big = malloc(n);
	memset(big, '#', n);
	struct pb_error e;
	memset(&e, 0, sizeof(e));
	struct pb_policy *p = NULL;
	CHECK_INT(pb_policy_parse(big, n, "big.yaml", cat, &p, &e), PB_ELIMIT);
	CHECK(strstr(e.message, "over 1048576 bytes (hint:") != NULL);
	CHECK_STR(e.file, "big.yaml");
	free(big);
}

static void t_windows(void)
{
	struct pb__indicator ind = { 0 };
	int64_t at = pb__days_from_civil(2026, 3, 1);
	ind.window = PB_WIN_LAST_MONTHS;
	ind.wn = 2;
	ind.agg = PB_AGG_GROWTH;
	struct pb__span s = pb__window_span(&ind, at);
	CHECK_INT(s.lo, pb__days_from_civil(2026, 1, 1));
	CHECK_INT(s.hi, at);
	CHECK_INT(s.plo, pb__days_from_civil(2025, 11, 1));
	CHECK_INT(s.phi, s.lo);
	ind.window = PB_WIN_LAST_DAYS;
	ind.wn = 30;
	ind.agg = PB_AGG_SUM;
	s = pb__window_span(&ind, at);
	CHECK_INT(s.hi - s.lo, 30);
	CHECK_INT(s.plo, s.lo);
	ind.window = PB_WIN_MONTH;
	ind.wn = 2024 * 12 + 1; /* February of a leap year */
	s = pb__window_span(&ind, at);
	CHECK_INT(pb__span_days(&s), 29);
	CHECK_INT(pb__month_of_day(pb__days_from_civil(2025, 12, 31)), 2025 * 12 + 11);
	CHECK_INT(pb__month_first_day(2026 * 12), pb__days_from_civil(2026, 1, 1));
}

static void t_expressions(void)
{
	struct pb_error e;
	struct pb_policy *p;
	CHECK_OK(parse("indicators:\n"
	               "  a: {select: {capability: llm}, unit: Tokens, window: last 3 days, threshold: '>= 1 Tokens'}\n"
	               "  b: {select: {capability: llm}, unit: Tokens, window: last 3 days, threshold: '>= 2 Tokens'}\n"
	               "  c: {select: {capability: llm}, unit: Tokens, window: last 3 days, threshold: '>= 3 Tokens'}\n"
	               "  two: {when: {at-least: 2, of: [a, b, c]}}\n"
	               "rules:\n  r: {severity: low, when: {all: [two, {not: c}]}}\n",
	               &e, &p),
	         &e);
	if (!p)
		return;
	bool f[4] = { true, true, false, false };
	f[3] = pb__expr_eval(p->ind[3].when, f);
	CHECK(f[3]);
	CHECK(pb__expr_eval(p->rules[0].when, f));
	f[2] = true;
	CHECK(!pb__expr_eval(p->rules[0].when, f));
	f[0] = f[1] = false;
	f[3] = pb__expr_eval(p->ind[3].when, f);
	CHECK(!f[3]);
	/* composites come after what they refer to */
	CHECK_INT(p->order[p->nind - 1], 3);
	pb_policy_free(p);
}

#define SAME_INDS                                                                        \
	"indicators:\n"                                                                  \
	"  c1: {select: {capability: object-storage}, per: country, window: last 3 days, "   \
	"threshold: '>= 1 GB-Months'}\n"                                                   \
	"  c2: {select: {capability: object-storage}, per: country, window: last 9 days, "   \
	"threshold: '>= 1 GB-Months'}\n"                                                   \
	"  r1: {select: {capability: object-storage}, per: region, window: last 3 days, "    \
	"threshold: '>= 1 GB-Months'}\n"                                                   \
	"  n1: {select: {capability: llm}, unit: Tokens, window: last 3 days, threshold: "   \
	"'>= 1 Tokens'}\n"                                                                 \
	"rules:\n  r:\n    severity: high\n"

/* 'same:' asks the parts per a grouping to fire in one group: only with all
 * or at-least, only naming the grouping of its per-group parts */
static void t_same(void)
{
	struct pb_error e;
	struct pb_policy *p;
	CHECK_OK(parse(SAME_INDS "    when: {at-least: 2, of: [c1, c2, n1], same: country}\n", &e, &p),
	         &e);
	if (p) {
		CHECK_INT(p->rules[0].when->same, PB_PER_COUNTRY);
		CHECK_INT(p->rules[0].when->kind, PB_EX_ATLEAST);
		CHECK(p->ind[0].same_part && p->ind[1].same_part);
		CHECK(!p->ind[2].same_part && !p->ind[3].same_part);
		pb_policy_free(p);
	}
	CHECK_OK(parse(SAME_INDS "    when:\n      same: country\n      all: [c1, c2, n1]\n", &e, &p),
	         &e);
	if (p) {
		CHECK_INT(p->rules[0].when->kind, PB_EX_ALL);
		pb_policy_free(p);
	}
	BAD(SAME_INDS "    when: {any: [c1, c2], same: country}\n", PB_EINVAL, 12, 33,
	    "'same' goes with 'all' or 'at-least: N' (hint:");
	BAD(SAME_INDS "    when: {not: c1, same: country}\n", PB_EINVAL, 12, 0, "'same' goes with");
	BAD(SAME_INDS "    when: {all: [c1, c2], same: continent}\n", PB_EINVAL, 12, 33,
	    "'same' takes a grouping, country or region (hint:");
	BAD(SAME_INDS "    when: {all: [c1, c2], same: [country]}\n", PB_EINVAL, 12, 0,
	    "'same' takes a grouping");
	BAD(SAME_INDS "    when: {all: [c1, r1], same: country}\n", PB_EINVAL, 12, 22,
	    "'r1' is evaluated per region, but 'same: country' asks for one country (hint:");
	BAD(SAME_INDS "    when: {all: [c1, n1], same: country}\n", PB_EINVAL, 12, 33,
	    "'same: country' needs at least two parts with 'per: country', this one has 1 (hint:");
	BAD(SAME_INDS "    when: {all: [c1, c2], same: region}\n", PB_EINVAL, 12, 18,
	    "'c1' is evaluated per country");
	BAD(SAME_INDS "    when: {same: country}\n", PB_EINVAL, 12, 11, "exactly one of all");
	BAD(SAME_INDS "    when: {of: [c1, c2], same: country}\n", PB_EINVAL, 12, 11,
	    "'of' goes with 'at-least: N'");
}

static void t_shipped_policies(void)
{
	static const char *const files[] = { "policies/no-mass-surveillance.yaml",
		                             "policies/no-cryptomining.yaml",
		                             "policies/sanctioned-regions.yaml" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pb_error e = { 0 };
		struct pb_policy *p = NULL;
		CHECK_OK(pb_policy_load(files[i], cat, &p, &e), &e);
		CHECK(p && p->nrules >= 2);
		pb_policy_free(p);
	}
}

int main(void)
{
	struct pb_error e = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &e)) {
		fprintf(stderr, "catalog: %s\n", e.message);
		return 2;
	}
	RUN(t_valid);
	RUN(t_canonical_values);
	RUN(t_growth_and_share_units);
	RUN(t_bad_yaml);
	RUN(t_unknown_fields);
	RUN(t_wrong_types);
	RUN(t_catalog_values);
	RUN(t_thresholds);
	RUN(t_capability_units);
	RUN(t_hints);
	RUN(t_references);
	RUN(t_limits);
	RUN(t_windows);
	RUN(t_expressions);
	RUN(t_same);
	RUN(t_shipped_policies);
	pb_catalog_free(cat);
	return UNIT_END("policy");
}
