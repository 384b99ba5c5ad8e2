/* test_sor.c - the statement-of-reasons validator: a valid statement passes,
 * and every rule has one failing example that names its field. */
#include "unit.h"

#include <jansson.h>

#include "probity.h"

static json_t *base(void)
{
	json_error_t je;
	return json_loads(
		"{\"decision_provision\":\"DECISION_PROVISION_PARTIAL_SUSPENSION\","
		"\"account_type\":\"ACCOUNT_TYPE_BUSINESS\","
		"\"decision_ground\":\"DECISION_GROUND_INCOMPATIBLE_CONTENT\","
		"\"decision_ground_reference_url\":\"https://example.com/aup\","
		"\"incompatible_content_ground\":\"AUP 3(b)\","
		"\"incompatible_content_explanation\":\"breach shown in case 1\","
		"\"incompatible_content_illegal\":\"No\","
		"\"content_type\":[\"CONTENT_TYPE_OTHER\"],"
		"\"content_type_other\":\"use of cloud services\","
		"\"category\":\"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY\","
		"\"territorial_scope\":[\"NL\",\"DE\"],"
		"\"content_language\":\"EN\","
		"\"content_date\":\"2025-04-01\","
		"\"application_date\":\"2025-09-01\","
		"\"end_date_service_restriction\":null,"
		"\"decision_facts\":\"figures\","
		"\"source_type\":\"SOURCE_VOLUNTARY\","
		"\"automated_detection\":\"No\","
		"\"automated_decision\":\"AUTOMATED_DECISION_NOT_AUTOMATED\","
		"\"puid\":\"probity-plan-1-abc\","
		"\"x_case\":{\"id\":1}}",
		0, &je);
}

/* Validates o; returns the number of violations and the first one's field. */
static size_t run(json_t *o, char field[64])
{
	char *t = json_dumps(o, JSON_COMPACT);
	struct pb_sor_violation v[8];
	size_t n = 99;
	struct pb_error err = { 0 };
	CHECK_OK(pb_sor_validate(t, strlen(t), v, 8, &n, &err), &err);
	field[0] = '\0';
	if (n)
		snprintf(field, 64, "%s", v[0].field);
	free(t);
	json_decref(o);
	return n;
}

#define STR(s) json_string(s)
#define REPEAT(c, n) repeat(c, n)

static json_t *repeat(char c, size_t n)
{
	char *b = malloc(n + 1);
	memset(b, c, n);
	b[n] = '\0';
	json_t *s = json_string(b);
	free(b);
	return s;
}

static json_t *long_url(void)
{
	char b[600];
	snprintf(b, sizeof(b), "https://example.com/");
	memset(b + 20, 'a', 481); /* 501 characters */
	b[501] = '\0';
	return json_string(b);
}

static void t_valid(void)
{
	char f[64];
	CHECK_INT(run(base(), f), 0);
	/* a multi-byte text of exactly the limit is still valid: characters, not bytes */
	json_t *o = base();
	struct pb_buf b;
	pb_buf_init(&b, 1 << 20);
	for (int i = 0; i < 500; i++)
		pb_buf_adds(&b, "\xc3\xa9");
	json_object_set_new(o, "incompatible_content_ground", json_string(b.data));
	pb_buf_release(&b);
	CHECK_INT(run(o, f), 0);
}

static void t_not_object(void)
{
	struct pb_sor_violation v[1];
	size_t n;
	struct pb_error err = { 0 };
	CHECK_INT(pb_sor_validate("[1]", 3, v, 1, &n, &err), PB_EINVAL);
	CHECK_INT(pb_sor_validate("{", 1, v, 1, &n, &err), PB_EINVAL);
}

/* Each case: one change to the valid base, then the field it names. */
#define CASE(change, want)                                      \
	do {                                                    \
		json_t *o = base();                             \
		change;                                         \
		char f_[64];                                    \
		size_t n_ = run(o, f_);                         \
		if (n_ == 0)                                    \
			UNIT_FAIL_("%s: accepted", #change);    \
		else                                            \
			CHECK_STR(f_, want);                    \
	} while (0)
#define SET(k, v) json_object_set_new(o, k, v)
#define DEL(k) json_object_del(o, k)

static void t_required(void)
{
	static const char *const req[] = { "decision_ground", "content_type",     "category",
		                           "content_date",    "application_date", "decision_facts",
		                           "source_type",     "automated_detection",
		                           "automated_decision", "puid" };
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		CASE(DEL(req[i]), req[i]);
		CASE(SET(req[i], json_null()), req[i]);
	}
	/* at least one of the four decisions */
	CASE(DEL("decision_provision"), "decision_provision");
	CASE(SET("content_type", json_array()), "content_type");
	CASE(SET("decision_facts", STR("")), "decision_facts");
}

static void t_values(void)
{
	CASE(SET("decision_provision", STR("DECISION_PROVISION_SOME")), "decision_provision");
	CASE(SET("decision_account", STR("DECISION_ACCOUNT_FROZEN")), "decision_account");
	CASE(SET("decision_monetary", STR("DECISION_MONETARY_FINE")), "decision_monetary");
	CASE(SET("decision_visibility", json_pack("[s]", "DECISION_VISIBILITY_HIDDEN")),
	     "decision_visibility");
	CASE(SET("account_type", STR("ACCOUNT_TYPE_GOVERNMENT")), "account_type");
	CASE(SET("decision_ground", STR("DECISION_GROUND_OTHER")), "decision_ground");
	CASE(SET("incompatible_content_illegal", STR("yes")), "incompatible_content_illegal");
	CASE(SET("content_type", json_pack("[s]", "CONTENT_TYPE_VM")), "content_type");
	CASE(SET("content_type", json_pack("[s,s]", "CONTENT_TYPE_OTHER", "CONTENT_TYPE_OTHER")),
	     "content_type");
	CASE(SET("category", STR("STATEMENT_CATEGORY_SURVEILLANCE")), "category");
	CASE(SET("category", json_integer(3)), "category");
	CASE(SET("category_addition", json_pack("[s]", "STATEMENT_CATEGORY_NOPE")),
	     "category_addition");
	CASE(SET("category_addition", json_pack("[s]", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY")),
	     "category_addition");
	CASE(SET("category_specification", json_pack("[s]", "surveillance")),
	     "category_specification");
	CASE(SET("territorial_scope", json_pack("[s]", "US")), "territorial_scope");
	CASE(SET("territorial_scope", STR("NL")), "territorial_scope");
	CASE(SET("content_language", STR("english")), "content_language");
	CASE(SET("source_type", STR("SOURCE_PRESS")), "source_type");
	CASE(SET("automated_detection", STR("Maybe")), "automated_detection");
	CASE(SET("automated_decision", STR("AUTOMATED_DECISION_SOMEWHAT")), "automated_decision");
	CASE(SET("puid", STR("plan 1")), "puid");
	CASE(SET("decision_ground_reference_url", STR("ftp://example.com/aup")),
	     "decision_ground_reference_url");
	CASE(SET("decision_ground_reference_url", STR("https://example.com/a b")),
	     "decision_ground_reference_url");
	CASE(SET("probity_case", json_integer(1)), "probity_case");
}

static void t_lengths(void)
{
	CASE(SET("incompatible_content_ground", REPEAT('a', 501)), "incompatible_content_ground");
	CASE(SET("incompatible_content_explanation", REPEAT('a', 2001)),
	     "incompatible_content_explanation");
	CASE(SET("content_type_other", REPEAT('a', 501)), "content_type_other");
	CASE(SET("decision_facts", REPEAT('a', 5001)), "decision_facts");
	CASE(SET("puid", REPEAT('a', 501)), "puid");
	CASE(SET("decision_ground_reference_url", long_url()), "decision_ground_reference_url");
	{
		json_t *o = base();
		SET("decision_ground", STR("DECISION_GROUND_ILLEGAL_CONTENT"));
		DEL("incompatible_content_ground");
		DEL("incompatible_content_explanation");
		DEL("incompatible_content_illegal");
		SET("illegal_content_legal_ground", REPEAT('a', 501));
		SET("illegal_content_explanation", STR("why"));
		char f[64];
		CHECK_INT(run(o, f), 1);
		CHECK_STR(f, "illegal_content_legal_ground");
		o = base();
		SET("decision_ground", STR("DECISION_GROUND_ILLEGAL_CONTENT"));
		DEL("incompatible_content_ground");
		DEL("incompatible_content_explanation");
		DEL("incompatible_content_illegal");
		SET("illegal_content_legal_ground", STR("law"));
		SET("illegal_content_explanation", REPEAT('a', 2001));
		CHECK_INT(run(o, f), 1);
		CHECK_STR(f, "illegal_content_explanation");
	}
	CASE(SET("source_type", STR("SOURCE_ARTICLE_16")); SET("source_identity", REPEAT('a', 501)),
	     "source_identity");
	CASE(SET("decision_visibility", json_pack("[s]", "DECISION_VISIBILITY_OTHER"));
	     SET("decision_visibility_other", REPEAT('a', 501)), "decision_visibility_other");
	CASE(SET("decision_monetary", STR("DECISION_MONETARY_OTHER"));
	     SET("decision_monetary_other", REPEAT('a', 501)), "decision_monetary_other");
	CASE(SET("category_specification", json_pack("[s]", "KEYWORD_OTHER"));
	     SET("category_specification_other", REPEAT('a', 501)), "category_specification_other");
}

static void t_dates(void)
{
	CASE(SET("content_date", STR("2025-4-1")), "content_date");
	CASE(SET("content_date", STR("2025-02-30")), "content_date");
	CASE(SET("content_date", STR("1999-12-31")), "content_date");
	CASE(SET("application_date", STR("2019-12-31")), "application_date");
	CASE(SET("application_date", STR("2038-01-02")), "application_date");
	CASE(SET("application_date", STR("2025-03-01")), "application_date"); /* before content */
	CASE(SET("end_date_service_restriction", STR("2025-13-01")), "end_date_service_restriction");
	CASE(SET("end_date_service_restriction", STR("2025-08-31")), "end_date_service_restriction");
	CASE(SET("end_date_account_restriction", STR("2025-08-31")), "end_date_account_restriction");
	CASE(SET("end_date_visibility_restriction", STR("2025-08-31")),
	     "end_date_visibility_restriction");
	CASE(SET("end_date_monetary_restriction", STR("2025-08-31")),
	     "end_date_monetary_restriction");
	char f[64];
	json_t *o = base();
	SET("end_date_service_restriction", STR("2025-09-01")); /* same day is fine */
	CHECK_INT(run(o, f), 0);
}

static void t_conditional(void)
{
	/* a ground's fields iff that ground */
	CASE(DEL("incompatible_content_ground"), "incompatible_content_ground");
	CASE(DEL("incompatible_content_explanation"), "incompatible_content_explanation");
	CASE(SET("illegal_content_legal_ground", STR("law")), "illegal_content_legal_ground");
	CASE(SET("illegal_content_explanation", STR("why")), "illegal_content_explanation");
	CASE(SET("decision_ground", STR("DECISION_GROUND_ILLEGAL_CONTENT"));
	     DEL("incompatible_content_ground"); DEL("incompatible_content_explanation");
	     DEL("incompatible_content_illegal"); SET("illegal_content_explanation", STR("why")),
	     "illegal_content_legal_ground");
	CASE(SET("decision_ground", STR("DECISION_GROUND_ILLEGAL_CONTENT"));
	     DEL("incompatible_content_ground"); DEL("incompatible_content_explanation");
	     SET("illegal_content_legal_ground", STR("law"));
	     SET("illegal_content_explanation", STR("why")), "incompatible_content_illegal");
	/* *_other iff OTHER */
	CASE(DEL("content_type_other"), "content_type_other");
	CASE(SET("content_type", json_pack("[s]", "CONTENT_TYPE_TEXT")), "content_type_other");
	CASE(SET("decision_visibility", json_pack("[s]", "DECISION_VISIBILITY_OTHER")),
	     "decision_visibility_other");
	CASE(SET("decision_visibility_other", STR("x")), "decision_visibility_other");
	CASE(SET("decision_monetary", STR("DECISION_MONETARY_OTHER")), "decision_monetary_other");
	CASE(SET("decision_monetary_other", STR("x")), "decision_monetary_other");
	CASE(SET("category_specification", json_pack("[s]", "KEYWORD_OTHER")),
	     "category_specification_other");
	CASE(SET("category_specification_other", STR("x")), "category_specification_other");
	/* voluntary: no source identity */
	CASE(SET("source_identity", STR("a newspaper")), "source_identity");
	char f[64];
	json_t *o = base();
	SET("source_type", STR("SOURCE_TRUSTED_FLAGGER"));
	SET("source_identity", STR("flagger 7"));
	SET("decision_account", STR("DECISION_ACCOUNT_SUSPENDED"));
	DEL("decision_provision");
	CHECK_INT(run(o, f), 0);
}

int main(void)
{
	RUN(t_valid);
	RUN(t_not_object);
	RUN(t_required);
	RUN(t_values);
	RUN(t_lengths);
	RUN(t_dates);
	RUN(t_conditional);
	return UNIT_END("sor");
}
