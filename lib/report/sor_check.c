/* sor_check.c - the validator of statements of reasons: every field of a
 * statement checked against the EU DSA Transparency Database's published
 * rules for API version 1 (required fields, allowed values, lengths, dates,
 * the conditional rules), each violation named by its field.
 *
 * The rules are a table of fields with their kind (value from a list, list of
 * values, text, date, Yes/No) and limits, then the conditional rules in code.
 * Lengths are in characters (UTF-8 code points), as the database counts them.
 * Fields probity adds start with "x_" and are not checked here; any other
 * field the database does not know is a violation, so an addition cannot
 * slip in under a name the database might later give a meaning.
 */
#include "report/report.h"

#include <stdarg.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

#define LIST_END NULL

static const char *const provisions[] = { "DECISION_PROVISION_PARTIAL_SUSPENSION",
	                                  "DECISION_PROVISION_TOTAL_SUSPENSION",
	                                  "DECISION_PROVISION_PARTIAL_TERMINATION",
	                                  "DECISION_PROVISION_TOTAL_TERMINATION", LIST_END };
static const char *const accounts[] = { "DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED",
	                                LIST_END };
static const char *const visibilities[] = {
	"DECISION_VISIBILITY_CONTENT_REMOVED",        "DECISION_VISIBILITY_CONTENT_DISABLED",
	"DECISION_VISIBILITY_CONTENT_DEMOTED",        "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
	"DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED",
	"DECISION_VISIBILITY_OTHER",                  LIST_END
};
static const char *const monetaries[] = { "DECISION_MONETARY_SUSPENSION",
	                                  "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER",
	                                  LIST_END };
static const char *const account_types[] = { "ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE",
	                                     LIST_END };
static const char *const grounds[] = { "DECISION_GROUND_ILLEGAL_CONTENT",
	                               "DECISION_GROUND_INCOMPATIBLE_CONTENT", LIST_END };
static const char *const content_types[] = {
	"CONTENT_TYPE_APP",   "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_PRODUCT",
	"CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO",
	"CONTENT_TYPE_OTHER", LIST_END
};
static const char *const categories[] = {
	"STATEMENT_CATEGORY_ANIMAL_WELFARE",
	"STATEMENT_CATEGORY_CONSUMER_INFORMATION",
	"STATEMENT_CATEGORY_CYBER_VIOLENCE",
	"STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
	"STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
	"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
	"STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
	"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
	"STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
	"STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
	"STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
	"STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
	"STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
	"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
	"STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
	"STATEMENT_CATEGORY_SELF_HARM",
	"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
	"STATEMENT_CATEGORY_VIOLENCE",
	LIST_END
};
static const char *const sources[] = { "SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER",
	                               "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY",
	                               LIST_END };
static const char *const yes_no[] = { "Yes", "No", LIST_END };
static const char *const automated[] = { "AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY",
	                                  "AUTOMATED_DECISION_NOT_AUTOMATED", LIST_END };
const char *const pb__eea[PB__EEA_N + 1] = { "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR",
	                           "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL",
	                           "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
	                           LIST_END };

enum kind { K_ONE, K_MANY, K_TEXT, K_DATE, K_URL, K_PUID, K_LANG, K_KEYWORDS };

struct field {
	const char *name;
	enum kind kind;
	bool required;
	const char *const *values; /* K_ONE, K_MANY */
	size_t max;                /* K_TEXT, K_URL, K_PUID: characters */
	const char *lo, *hi;       /* K_DATE: inclusive range */
};

static const struct field fields[] = {
	{ "decision_visibility", K_MANY, false, visibilities, 0, NULL, NULL },
	{ "decision_visibility_other", K_TEXT, false, NULL, 500, NULL, NULL },
	{ "decision_monetary", K_ONE, false, monetaries, 0, NULL, NULL },
	{ "decision_monetary_other", K_TEXT, false, NULL, 500, NULL, NULL },
	{ "decision_provision", K_ONE, false, provisions, 0, NULL, NULL },
	{ "decision_account", K_ONE, false, accounts, 0, NULL, NULL },
	{ "account_type", K_ONE, false, account_types, 0, NULL, NULL },
	{ "decision_ground", K_ONE, true, grounds, 0, NULL, NULL },
	{ "decision_ground_reference_url", K_URL, false, NULL, 500, NULL, NULL },
	{ "illegal_content_legal_ground", K_TEXT, false, NULL, 500, NULL, NULL },
	{ "illegal_content_explanation", K_TEXT, false, NULL, 2000, NULL, NULL },
	{ "incompatible_content_ground", K_TEXT, false, NULL, 500, NULL, NULL },
	{ "incompatible_content_explanation", K_TEXT, false, NULL, 2000, NULL, NULL },
	{ "incompatible_content_illegal", K_ONE, false, yes_no, 0, NULL, NULL },
	{ "content_type", K_MANY, true, content_types, 0, NULL, NULL },
	{ "content_type_other", K_TEXT, false, NULL, 500, NULL, NULL },
	{ "category", K_ONE, true, categories, 0, NULL, NULL },
	{ "category_addition", K_MANY, false, categories, 0, NULL, NULL },
	{ "category_specification", K_KEYWORDS, false, NULL, 0, NULL, NULL },
	{ "category_specification_other", K_TEXT, false, NULL, 500, NULL, NULL },
	{ "territorial_scope", K_MANY, false, pb__eea, 0, NULL, NULL },
	{ "content_language", K_LANG, false, NULL, 0, NULL, NULL },
	{ "content_date", K_DATE, true, NULL, 0, "2000-01-01", "2038-01-01" },
	{ "application_date", K_DATE, true, NULL, 0, "2020-01-01", "2038-01-01" },
	{ "end_date_visibility_restriction", K_DATE, false, NULL, 0, "2020-01-01", "2038-01-01" },
	{ "end_date_monetary_restriction", K_DATE, false, NULL, 0, "2020-01-01", "2038-01-01" },
	{ "end_date_service_restriction", K_DATE, false, NULL, 0, "2020-01-01", "2038-01-01" },
	{ "end_date_account_restriction", K_DATE, false, NULL, 0, "2020-01-01", "2038-01-01" },
	{ "decision_facts", K_TEXT, true, NULL, 5000, NULL, NULL },
	{ "source_type", K_ONE, true, sources, 0, NULL, NULL },
	{ "source_identity", K_TEXT, false, NULL, 500, NULL, NULL },
	{ "automated_detection", K_ONE, true, yes_no, 0, NULL, NULL },
	{ "automated_decision", K_ONE, true, automated, 0, NULL, NULL },
	{ "puid", K_PUID, true, NULL, 500, NULL, NULL },
};

struct found {
	struct pb_sor_violation *v;
	size_t cap, n;
};

static void viol(struct found *f, const char *field, const char *fmt, ...) PB_PRINTF(3, 4);

static void viol(struct found *f, const char *field, const char *fmt, ...)
{
	if (f->n < f->cap) {
		struct pb_sor_violation *v = &f->v[f->n];
		pb__snprintf(v->field, sizeof(v->field), "%s", field);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->message, sizeof(v->message), fmt, ap);
		va_end(ap);
	}
	f->n++;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Characters of UTF-8 text (continuation bytes not counted). */
static size_t chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A set value: present and not JSON null. */
static json_t *val(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return v && !json_is_null(v) ? v : NULL;
}

static const char *str(json_t *o, const char *name)
{
	return json_string_value(val(o, name));
}

static bool has(json_t *o, const char *name, const char *value)
{
	json_t *v = val(o, name);
	if (json_is_string(v))
		return !strcmp(json_string_value(v), value);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) if (json_is_string(e) && !strcmp(json_string_value(e), value))
		return true;
	return false;
}

static bool is_date(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int64_t t;
	unsigned fl;
	char back[11];
	if (!pb_time_parse(s, 10, &t, &fl))
		return false;
	pb_day_format(pb_floordiv(t, 86400), back);
	return !strcmp(back, s); /* 2025-02-30 does not come back the same */
}

static void check_one(struct found *f, const struct field *d, json_t *v)
{
	const char *s = json_string_value(v);
	switch (d->kind) {
	case K_ONE:
		if (!s)
			viol(f, d->name, "must be a string");
		else if (!in_list(d->values, s))
			viol(f, d->name, "'%.80s' is not an allowed value", s);
		break;
	case K_MANY:
	case K_KEYWORDS: {
		if (!json_is_array(v)) {
			viol(f, d->name, "must be an array");
			break;
		}
		if (json_array_size(v) == 0 && d->required)
			viol(f, d->name, "must name at least one value");
		size_t i, j;
		json_t *e;
		json_array_foreach(v, i, e) {
			const char *es = json_string_value(e);
			bool ok = es && (d->kind == K_MANY ? in_list(d->values, es)
			                                   : !strncmp(es, "KEYWORD_", 8) && es[8]);
			for (const char *c = es ? es : ""; ok && d->kind == K_KEYWORDS && *c; c++)
				ok = (*c >= 'A' && *c <= 'Z') || *c == '_';
			if (!ok) {
				viol(f, d->name, "'%.80s' is not an allowed value", es ? es : "(not a string)");
				continue;
			}
			for (j = 0; j < i; j++)
				if (!strcmp(json_string_value(json_array_get(v, j)), es))
					break;
			if (j < i)
				viol(f, d->name, "'%.80s' is given twice", es);
		}
		break;
	}
	case K_TEXT:
	case K_URL:
	case K_PUID:
		if (!s) {
			viol(f, d->name, "must be a string");
			break;
		}
		if (d->required && !*s)
			viol(f, d->name, "is required and empty");
		if (chars(s) > d->max)
			viol(f, d->name, "is %zu characters; at most %zu are allowed", chars(s), d->max);
		if (d->kind == K_URL) {
			bool ok = !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7);
			for (const char *c = s; ok && *c; c++)
				ok = (unsigned char)*c > ' ' && *c != 0x7f;
			if (!ok)
				viol(f, d->name, "'%.80s' is not a URL (http or https, no spaces)", s);
		}
		if (d->kind == K_PUID) {
			bool ok = *s != '\0';
			for (const char *c = s; ok && *c; c++)
				ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				     (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
			if (!ok)
				viol(f, d->name, "may hold only letters, digits, '-' and '_'");
		}
		break;
	case K_DATE:
		if (!s || !is_date(s))
			viol(f, d->name, "must be a date YYYY-MM-DD");
		else if (strcmp(s, d->lo) < 0 || strcmp(s, d->hi) > 0)
			viol(f, d->name, "%s is outside %s..%s", s, d->lo, d->hi);
		break;
	case K_LANG:
		if (!s || strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
			viol(f, d->name, "must be an ISO 639-1 code in capitals (\"EN\")");
		break;
	}
}

/* "x" required when "field" holds "value"; and only then. */
static void when(struct found *f, json_t *o, const char *field, const char *value,
                 const char *other)
{
	bool need = has(o, field, value);
	const char *s = str(o, other);
	if (need && (!s || !*s))
		viol(f, other, "is required when %s is %s", field, value);
	else if (!need && val(o, other))
		viol(f, other, "is allowed only when %s is %s", field, value);
}

static void conditional(struct found *f, json_t *o)
{
	if (!val(o, "decision_visibility") && !val(o, "decision_monetary") &&
	    !val(o, "decision_provision") && !val(o, "decision_account"))
		viol(f, "decision_provision",
		     "one of decision_visibility, decision_monetary, decision_provision and "
		     "decision_account is required");
	when(f, o, "decision_visibility", "DECISION_VISIBILITY_OTHER", "decision_visibility_other");
	when(f, o, "decision_monetary", "DECISION_MONETARY_OTHER", "decision_monetary_other");
	when(f, o, "content_type", "CONTENT_TYPE_OTHER", "content_type_other");
	when(f, o, "category_specification", "KEYWORD_OTHER", "category_specification_other");
	static const char *const illegal[] = { "illegal_content_legal_ground",
		                               "illegal_content_explanation" };
	static const char *const incompatible[] = { "incompatible_content_ground",
		                                    "incompatible_content_explanation" };
	for (int i = 0; i < 2; i++) {
		when(f, o, "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT", illegal[i]);
		when(f, o, "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT", incompatible[i]);
	}
	if (val(o, "incompatible_content_illegal") &&
	    !has(o, "decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"))
		viol(f, "incompatible_content_illegal",
		     "is allowed only when decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT");
	if (has(o, "source_type", "SOURCE_VOLUNTARY") && val(o, "source_identity"))
		viol(f, "source_identity", "must be left out when source_type is SOURCE_VOLUNTARY");
	const char *cat = str(o, "category");
	if (cat && has(o, "category_addition", cat))
		viol(f, "category_addition", "repeats the category '%.80s'", cat);
	/* the dates in order: content, then application, then each end */
	const char *content = str(o, "content_date"), *app = str(o, "application_date");
	if (content && app && is_date(content) && is_date(app) && strcmp(app, content) < 0)
		viol(f, "application_date", "%s is before content_date %s", app, content);
	static const char *const ends[] = { "end_date_visibility_restriction",
		                            "end_date_monetary_restriction",
		                            "end_date_service_restriction",
		                            "end_date_account_restriction" };
	for (int i = 0; i < 4; i++) {
		const char *e = str(o, ends[i]);
		if (e && app && is_date(e) && is_date(app) && strcmp(e, app) < 0)
			viol(f, ends[i], "%s is before application_date %s", e, app);
	}
}

enum pb_status pb_sor_validate(const char *json, size_t len, struct pb_sor_violation *out,
                               size_t cap, size_t *n_out, struct pb_error *err)
{
	*n_out = 0;
	json_error_t je;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return pb__err(err, PB_EINVAL, "cannot read the statement: %s",
		               o ? "not a JSON object" : je.text);
	}
	struct found f = { out, cap, 0 };
	const size_t nf = sizeof(fields) / sizeof(fields[0]);
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		if (!strncmp(key, "x_", 2))
			continue;
		size_t i = 0;
		while (i < nf && strcmp(fields[i].name, key))
			i++;
		if (i == nf)
			viol(&f, key, "is not a field of the statement of reasons (additions start with x_)");
	}
	for (size_t i = 0; i < nf; i++) {
		json_t *fv = val(o, fields[i].name);
		if (!fv) {
			if (fields[i].required)
				viol(&f, fields[i].name, "is required");
			continue;
		}
		check_one(&f, &fields[i], fv);
	}
	conditional(&f, o);
	json_decref(o);
	*n_out = f.n;
	return PB_OK;
}
