/* focus.c - FOCUS columns: header mapping by name, and checking one row.
 *
 * A row is rejected only when probity cannot use it: the columns it needs to
 * attribute and measure usage (billing account, charge period, service, charge
 * category, billed cost, and the other costs and the quantity when they do not
 * parse) are missing or malformed. Every other departure from the
 * specification is accepted and counted as a warning by kind and column, so a
 * report can say what the provider's export gets wrong without losing data.
 *
 * Real exports repeat the same values row after row, so each column keeps the
 * last value that passed its check; a repeat costs one memcmp.
 */
#include "usage/focus.h"
#include "usage/catalog.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

const struct pb_fcol_def pb__fcols[FC_COUNT] = {
#define FCOL(id, name, type, level, nullable, since, cls) { name, type, level, nullable, since, cls },
#include "usage/focus_cols.h"
#undef FCOL
};

/* Names used before FOCUS 1.0 (0.5 and 1.0-preview) and 1.3 renames. */
static const struct {
	const char *name;
	enum pb_fcol col;
} aliases[] = {
	{ "ChargeType", FC_ChargeCategory },    { "AmortizedCost", FC_EffectiveCost },
	{ "UsageQuantity", FC_ConsumedQuantity }, { "UsageUnit", FC_ConsumedUnit },
	{ "Region", FC_RegionId },               { "Provider", FC_ProviderName },
	{ "Publisher", FC_PublisherName },       { "InvoiceIssuer", FC_InvoiceIssuerName },
	{ "BilledCurrency", FC_BillingCurrency }, { "ResourceID", FC_ResourceId },
};

int pb__fcol_lookup(struct pb_str name)
{
	for (int i = 0; i < FC_COUNT; i++)
		if (pb_str_eq_cstr(name, pb__fcols[i].name))
			return i;
	return -1;
}

static const char *const warn_names[FW_COUNT] = {
	[FW_NULL_NOT_NULLABLE] = "null-in-non-nullable",
	[FW_ENUM_CASE] = "value-case",
	[FW_ENUM_BAD] = "value-not-allowed",
	[FW_DECIMAL_BAD] = "not-a-number",
	[FW_DECIMAL_FORM] = "number-form",
	[FW_DECIMAL_ROUNDED] = "number-rounded",
	[FW_DATETIME_BAD] = "not-a-datetime",
	[FW_DATETIME_FORM] = "datetime-form",
	[FW_CURRENCY_UNKNOWN] = "unknown-currency",
	[FW_JSON_BAD] = "not-a-json-object",
	[FW_LOOKS_SHIFTED] = "looks-shifted",
	[FW_UNKNOWN_REGION] = "unknown-region",
	[FW_UNKNOWN_SERVICE] = "unknown-service",
	[FW_UNKNOWN_UNIT] = "unknown-unit",
	[FW_UNKNOWN_CAPABILITY] = "unknown-capability",
	[FW_NULL_QUANTITY] = "usage-without-quantity",
	[FW_CATEGORY_FROM_CATALOG] = "category-from-catalog",
};

static const char *const warn_texts[FW_COUNT] = {
	[FW_NULL_NOT_NULLABLE] = "null in a column the specification says is not nullable",
	[FW_ENUM_CASE] = "allowed value written in another letter case; read as the allowed value",
	[FW_ENUM_BAD] = "not one of the allowed values; ignored",
	[FW_DECIMAL_BAD] = "not a decimal number; ignored (probity does not sum this column)",
	[FW_DECIMAL_FORM] = "number in a form the specification does not allow (E+n, +); read",
	[FW_DECIMAL_ROUNDED] = "more than 15 decimal places; rounded half to even",
	[FW_DATETIME_BAD] = "not a date-time; ignored (probity does not use this column)",
	[FW_DATETIME_FORM] = "date-time not in the form YYYY-MM-DDTHH:MM:SSZ; read as UTC",
	[FW_CURRENCY_UNKNOWN] = "not an ISO 4217 currency code (a virtual currency?)",
	[FW_JSON_BAD] = "not a JSON object of key-value pairs; ignored",
	[FW_LOOKS_SHIFTED] = "holds a number where text belongs: the export's columns may be shifted",
	[FW_UNKNOWN_REGION] = "region not in the catalog: no country known",
	[FW_UNKNOWN_SERVICE] = "service not in the catalog: no capability known",
	[FW_UNKNOWN_UNIT] = "unit not in the catalog: kept as written, not normalised",
	[FW_UNKNOWN_CAPABILITY] =
		"the service offers several capabilities and the row does not say which",
	[FW_NULL_QUANTITY] = "a usage row without consumed quantity",
	[FW_CATEGORY_FROM_CATALOG] = "no ServiceCategory column: category taken from the catalog",
};

const char *pb__fwarn_name(enum pb_fwarn w)
{
	return (unsigned)w < FW_COUNT ? warn_names[w] : "unknown";
}

const char *pb__fwarn_text(enum pb_fwarn w)
{
	return (unsigned)w < FW_COUNT ? warn_texts[w] : "unknown";
}

/* ---- header ------------------------------------------------------------ */

/* Columns without which a row cannot be attributed or measured. */
static const enum pb_fcol required[] = {
	FC_BillingAccountId, FC_ChargePeriodStart, FC_ChargePeriodEnd,
	FC_ChargeCategory,   FC_ServiceName,       FC_BilledCost,
};

static int version_rank(const char *v)
{
	return (v[2] - '0'); /* "1.x" -> x */
}

enum pb_status pb__focus_map_header(const struct pb_str *names, size_t n, struct pb_focus_map *m,
                                    char *missing_mandatory, size_t cap, struct pb_error *err)
{
	memset(m, 0, sizeof(*m));
	m->kind = PB_FORMAT_FOCUS;
	for (int i = 0; i < FC_COUNT; i++)
		m->col[i] = -1;
	for (int i = 0; i < NC_COUNT; i++)
		m->ncol[i] = -1;
	m->ncols = n;
	pb__strlcpy(m->format, "focus", sizeof(m->format));
	bool old_names = false;
	int rank = 0;
	bool exact[FC_COUNT] = { false };
	for (size_t i = 0; i < n; i++) {
		struct pb_str name = pb_str_trim(names[i]);
		int c = pb__fcol_lookup(name);
		bool is_exact = c >= 0;
		if (c < 0) {
			/* tolerate other letter case (SkuPriceid) and old names */
			for (int k = 0; k < FC_COUNT && c < 0; k++)
				if (pb_str_ieq_cstr(name, pb__fcols[k].name))
					c = k;
			for (size_t k = 0; k < PB_ARRAY_LEN(aliases) && c < 0; k++)
				if (pb_str_eq_cstr(name, aliases[k].name)) {
					c = (int)aliases[k].col;
					old_names = true;
				}
		}
		if (c >= 0 && m->col[c] >= 0 && pb_str_ieq_cstr(name, pb__fcols[c].name) &&
		    pb_str_ieq_cstr(pb_str_trim(names[m->col[c]]), pb__fcols[c].name))
			return pb__err(err, PB_EFORMAT, "column '%s' appears twice: fields %d and %zu",
			               pb__fcols[c].name, m->col[c] + 1, i + 1);
		if (c < 0 || (m->col[c] >= 0 && (exact[c] || !is_exact))) {
			m->ignored++;
			continue;
		}
		m->col[c] = (int)i;
		exact[c] = is_exact;
		int r = version_rank(pb__fcols[c].since);
		if (r > rank)
			rank = r;
	}
	/* 1.3 renames ProviderName to ServiceProviderName: either will do */
	if (m->col[FC_ProviderName] < 0 && m->col[FC_ServiceProviderName] >= 0)
		m->col[FC_ProviderName] = m->col[FC_ServiceProviderName];
	if (old_names) /* names from before 1.0 (ChargeType, AmortizedCost ...) */
		pb__strlcpy(m->version, "0.5", sizeof(m->version));
	else
		snprintf(m->version, sizeof(m->version), "1.%d", rank);

	struct pb_buf miss;
	pb_buf_init(&miss, 4096);
	for (size_t i = 0; i < PB_ARRAY_LEN(required); i++)
		if (m->col[required[i]] < 0)
			pb_buf_printf(&miss, "%s%s", miss.len ? ", " : "", pb__fcols[required[i]].name);
	if (miss.len) {
		struct pb_error nerr = { 0 };
		if (pb__native_map_header(names, n, m, &nerr)) {
			m->ncols = n;
			pb_buf_release(&miss);
			missing_mandatory[0] = '\0';
			return PB_OK;
		}
		if (nerr.code) {
			pb_buf_release(&miss);
			if (err)
				*err = nerr;
			return nerr.code;
		}
		enum pb_status st = pb__err(err, PB_EFORMAT,
		                            "not a FOCUS export probity can use: the header lacks %s "
		                            "(needed to attribute and measure usage)",
		                            miss.data);
		pb_buf_release(&miss);
		return st;
	}
	pb_buf_reset(&miss);
	/* mandatory columns of the detected version that are absent: reported */
	int vr = version_rank(m->version[0] == '0' ? "1.0" : m->version);
	for (int c = 0; c < FC_COUNT; c++) {
		if (pb__fcols[c].level != FL_M || m->col[c] >= 0)
			continue;
		if (version_rank(pb__fcols[c].since) > vr)
			continue;
		if (c == FC_ServiceProviderName || c == FC_HostProviderName)
			continue; /* 1.3 only when the file is 1.3, which has them */
		pb_buf_printf(&miss, "%s%s", miss.len ? ", " : "", pb__fcols[c].name);
	}
	pb__strlcpy(missing_mandatory, miss.data ? miss.data : "", cap);
	pb_buf_release(&miss);
	/* the plan: what to do with each column present, in record order */
	m->nplan = 0;
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < FC_COUNT; c++) {
			if (m->col[c] != (int)i)
				continue;
			if (c == FC_ServiceProviderName && m->col[FC_ProviderName] == (int)i)
				continue; /* read once, as ProviderName */
			enum pb_faction a;
			switch (c) {
			case FC_BillingAccountId: case FC_BillingAccountName: case FC_SubAccountId:
			case FC_SubAccountName: case FC_ProviderName: case FC_ServiceName:
			case FC_SkuMeter: case FC_RegionId: case FC_RegionName: case FC_ConsumedUnit:
				a = FA_KEEP;
				break;
			case FC_BilledCost: case FC_EffectiveCost: case FC_ListCost:
			case FC_ConsumedQuantity:
				a = FA_DEC_SUM;
				break;
			case FC_ChargePeriodStart: case FC_ChargePeriodEnd:
				a = FA_DATE_USED;
				break;
			case FC_AvailabilityZone:
				a = FA_AZ;
				break;
			default:
				switch (pb__fcols[c].type) {
				case FT_ENUM: a = FA_ENUM; break;
				case FT_DECIMAL: a = FA_DEC_CHECK; break;
				case FT_DATETIME: a = FA_DATE_CHECK; break;
				case FT_CURRENCY: a = FA_CURRENCY; break;
				case FT_JSON: a = FA_JSON; break;
				default: a = FA_SKIP; break;
				}
			}
			m->plan[m->nplan++] = (struct pb_focus_step){ (uint16_t)i, (uint8_t)c, (uint8_t)a };
		}
	}
	return PB_OK;
}

/* ---- value checks -------------------------------------------------------- */

static const char *const e_charge_category[] = { "Usage", "Purchase", "Tax", "Credit",
	                                         "Adjustment", NULL };
static const char *const e_charge_class[] = { "Correction", NULL };
static const char *const e_charge_frequency[] = { "One-Time", "Recurring", "Usage-Based", NULL };
static const char *const e_cd_category[] = { "Spend", "Usage", NULL };
static const char *const e_used_unused[] = { "Used", "Unused", NULL };
static const char *const e_pricing_category[] = { "Standard", "Dynamic", "Committed", "Other",
	                                          NULL };

static const char *const *enum_values(enum pb_fcol c)
{
	switch (c) {
	case FC_ChargeCategory:
		return e_charge_category;
	case FC_ChargeClass:
		return e_charge_class;
	case FC_ChargeFrequency:
		return e_charge_frequency;
	case FC_CommitmentDiscountCategory:
		return e_cd_category;
	case FC_CommitmentDiscountStatus:
	case FC_CapacityReservationStatus:
		return e_used_unused;
	case FC_PricingCategory:
		return e_pricing_category;
	default:
		return NULL;
	}
}

/* Returns the canonical value and sets *w to FW_COUNT (exact), FW_ENUM_CASE or
 * FW_ENUM_BAD (returning NULL). */
static const char *enum_check(const struct pb_focus_ctx *c, enum pb_fcol col, struct pb_str v,
                              enum pb_fwarn *w)
{
	const char *canon = NULL;
	if (col == FC_ServiceCategory)
		canon = pb__catalog_category(c->cat, v);
	else if (col == FC_ServiceSubcategory)
		canon = pb__catalog_subcategory(c->cat, v);
	else {
		const char *const *vals = enum_values(col);
		for (size_t i = 0; vals && vals[i] && !canon; i++)
			if (pb_str_ieq_cstr(v, vals[i]))
				canon = vals[i];
	}
	if (!canon)
		*w = FW_ENUM_BAD;
	else
		*w = pb_str_eq_cstr(v, canon) ? FW_COUNT : FW_ENUM_CASE;
	return canon;
}

/* Decimal syntax only: 0 = spec form, 1 = tolerated form, -1 = not a number. */
static int dec_syntax(const char *s, size_t n)
{
	size_t i = 0;
	int tol = 0;
	if (n && (s[0] == '-' || s[0] == '+')) {
		tol = s[0] == '+';
		i++;
	}
	size_t d0 = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == d0)
		return -1;
	if (i < n && s[i] == '.') {
		size_t f0 = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f0)
			return -1;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+')) {
			tol |= s[i] == '+';
			i++;
		}
		size_t e0 = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == e0)
			return -1;
	}
	return i == n ? tol : -1;
}

/* ---- JSON object check ------------------------------------------------- */

struct jp {
	const char *p, *end;
	int depth;
	bool dq; /* the text is still CSV-escaped: every JSON quote is written "" */
};

/* Consumes one JSON quote ("" in CSV-escaped text). */
static inline bool jquote(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	if (j->dq && (j->p + 1 >= j->end || j->p[1] != '"'))
		return false;
	j->p += j->dq ? 2 : 1;
	return true;
}

static void jws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool jstring(struct jp *j)
{
	if (!jquote(j))
		return false;
	while (j->p < j->end) {
		if (*j->p == '"')
			return jquote(j);
		unsigned char ch = (unsigned char)*j->p++;
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			if (j->p >= j->end)
				return false;
			if (*j->p == '"') { /* \" */
				if (!jquote(j))
					return false;
				continue;
			}
			char e = *j->p++;
			if (e == 'u') {
				for (int k = 0; k < 4; k++, j->p++)
					if (j->p >= j->end || !((*j->p >= '0' && *j->p <= '9') ||
					                        (*j->p >= 'a' && *j->p <= 'f') ||
					                        (*j->p >= 'A' && *j->p <= 'F')))
						return false;
			} else if (!strchr("\\/bfnrt", e) || e == '\0') {
				return false;
			}
		}
	}
	return false;
}

static bool jvalue(struct jp *j, bool nested);

static bool jnumber(struct jp *j)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	const char *d = j->p;
	while (j->p < j->end && ((*j->p >= '0' && *j->p <= '9') || *j->p == '.' || *j->p == 'e' ||
	                         *j->p == 'E' || *j->p == '+' || *j->p == '-'))
		j->p++;
	return j->p > d && dec_syntax(s, (size_t)(j->p - s)) >= 0;
}

static bool jlit(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool jcontainer(struct jp *j, bool nested, bool object)
{
	if (++j->depth > 32)
		return false;
	j->p++; /* { or [ */
	jws(j);
	char close = object ? '}' : ']';
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		jws(j);
		if (object) {
			if (!jstring(j))
				return false;
			jws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
			jws(j);
		}
		if (!jvalue(j, nested))
			return false;
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		return false;
	}
}

static bool jvalue(struct jp *j, bool nested)
{
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"':
		return jstring(j);
	case 't':
		return jlit(j, "true");
	case 'f':
		return jlit(j, "false");
	case 'n':
		return jlit(j, "null");
	case '{':
		return nested && jcontainer(j, nested, true);
	case '[':
		return nested && jcontainer(j, nested, false);
	default:
		return jnumber(j);
	}
}

bool pb__json_object_check_csv(const char *s, size_t n, bool nested, bool escaped)
{
	struct jp j = { s, s + n, 0, escaped };
	jws(&j);
	if (j.p >= j.end || *j.p != '{')
		return false;
	if (!jcontainer(&j, nested, true))
		return false;
	jws(&j);
	return j.p == j.end;
}

bool pb__json_object_check(const char *s, size_t n, bool nested)
{
	return pb__json_object_check_csv(s, n, nested, false);
}

/* ---- rows ---------------------------------------------------------------- */

enum pb_status pb__focus_ctx_init(struct pb_focus_ctx *c, const struct pb_focus_map *m,
                                  const struct pb_catalog *cat, size_t max_record)
{
	memset(c, 0, sizeof(*c));
	c->map = m;
	c->cat = cat;
	c->scratch_cap = max_record + 16;
	c->scratch = malloc(c->scratch_cap);
	if (!c->scratch)
		return PB_ENOMEM;
	return PB_OK;
}

void pb__focus_ctx_release(struct pb_focus_ctx *c)
{
	for (int i = 0; i < FC_COUNT; i++)
		for (int k = 0; k < PB_FOCUS_CACHE; k++)
			free(c->cache[i][k].val);
	free(c->scratch);
	c->scratch = NULL;
}

/* The text of a field: the view itself, or an unescaped copy in scratch. */
bool pb__focus_field_text(struct pb_focus_ctx *c, const struct pb_csv_field *f,
                          struct pb_str *out)
{
	if (!f->escaped) {
		*out = pb_str_of(f->ptr, f->len);
		return true;
	}
	/* the scratch holds a whole record (pb__focus_ctx_init), so the fields of
	 * one row always fit */
	if (c->scratch_cap - c->scratch_len < f->len)
		return false;
	size_t n = pb__csv_unescape(f, c->scratch + c->scratch_len, c->scratch_cap - c->scratch_len);
	if (n == SIZE_MAX)
		return false;
	*out = pb_str_of(c->scratch + c->scratch_len, n);
	c->scratch_len += n;
	return true;
}

static inline uint64_t vhash(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		p += 8;
		n -= 8;
	}
	h = (h ^ pb__tail_le(p, n)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

/* The cached verdict for raw field bytes, or NULL. */
static inline struct pb_focus_cached *cache_find(struct pb_focus_ctx *c, int col,
                                                 const char *p, size_t n, uint64_t h)
{
	struct pb_focus_cached *e = &c->cache[col][h & (PB_FOCUS_CACHE - 1)];
	if (e->val && e->hash == h && e->len == n && memcmp(e->val, p, n) == 0)
		return e;
	return NULL;
}

static void cache_put(struct pb_focus_ctx *c, int col, const char *p, size_t n, uint64_t h,
                      enum pb_fwarn w, const char *canon)
{
	if (n > 512)
		return;
	struct pb_focus_cached *e = &c->cache[col][h & (PB_FOCUS_CACHE - 1)];
	if (e->cap < n + 1) {
		char *v = realloc(e->val, n + 1);
		if (!v)
			return;
		e->val = v;
		e->cap = (uint32_t)n + 1;
	}
	memcpy(e->val, p, n);
	e->len = (uint32_t)n;
	e->hash = h;
	e->warn = (uint16_t)w;
	e->canon = canon;
}

static bool is_required(int col)
{
	for (size_t i = 0; i < PB_ARRAY_LEN(required); i++)
		if ((int)required[i] == col)
			return true;
	return false;
}

/* The value as it may appear in a message: metadata is shown (cut to 40
 * bytes); identifiers and customer text never are. */
static void show_value(int col, struct pb_str v, char *buf, size_t cap)
{
	if (pb__fcols[col].cls == FCLASS_CUSTOMER) {
		pb__strlcpy(buf, "(customer text not shown)", cap);
		return;
	}
	size_t n = v.len > 40 ? 40 : v.len;
	snprintf(buf, cap, "'%.*s'%s", (int)n, v.ptr, v.len > 40 ? "..." : "");
}

#define REJECT(which, ...)                                                 \
	do {                                                               \
		snprintf(reason, cap, __VA_ARGS__);                        \
		*bad_field = (uint32_t)c->map->col[which] + 1;             \
		return false;                                              \
	} while (0)

/* The checks below are the per-field work of every row: helpers called once
 * each, which the compiler inlines into pb__focus_row's loop. Each returns
 * false with a reason for a rejected row, else sets *w (FW_COUNT: no
 * warning). */

static void put_time(int col, int64_t t, struct pb_focus_row *row)
{
	if (col == FC_ChargePeriodStart)
		row->start = t;
	else
		row->end = t;
}

/* ChargePeriodStart or ChargePeriodEnd, into the row. */
static bool take_date(struct pb_focus_ctx *c, int col, const struct pb_csv_field *fld,
                      struct pb_focus_row *row, enum pb_fwarn *w, char *reason, size_t cap,
                      uint32_t *bad_field)
{
	unsigned fl;
	int64_t t;
	if (!pb_time_parse(fld->ptr, fld->len, &t, &fl)) {
		char shown[64];
		show_value(col, pb_str_of(fld->ptr, fld->len), shown, sizeof(shown));
		REJECT(col, "%s: expected a date-time like 2024-09-18T22:00:00Z, got %s",
		       pb__fcols[col].name, shown);
	}
	if (fl & PB_TIME_NONISO)
		*w = FW_DATETIME_FORM;
	put_time(col, t, row);
	return true;
}

/* The value of a decimal probity sums into the row. */
static void put_decimal(int col, pb_dec val, struct pb_focus_row *row)
{
	if (col == FC_BilledCost)
		row->billed = val;
	else if (col == FC_EffectiveCost)
		row->effective = val;
	else if (col == FC_ListCost)
		row->list = val;
	else {
		row->quantity = val;
		row->has_quantity = true;
	}
}

/* A decimal probity sums (costs, quantity), into the row. */
static bool take_decimal(struct pb_focus_ctx *c, int col, const struct pb_csv_field *fld,
                         struct pb_focus_row *row, enum pb_fwarn *w, char *reason, size_t cap,
                         uint32_t *bad_field)
{
	pb_dec val;
	unsigned fl = 0;
	enum pb_status ps = pb__dec_parse(fld->ptr, fld->len, &val, &fl);
	if (ps) {
		char shown[64];
		show_value(col, pb_str_of(fld->ptr, fld->len), shown, sizeof(shown));
		REJECT(col, "%s: %s, got %s", pb__fcols[col].name,
		       ps == PB_ELIMIT ? "number out of range (|x| < 1.7e23)"
		                       : "expected a decimal number",
		       shown);
	}
	if (fl & PB_DEC_ROUNDED)
		*w = FW_DECIMAL_ROUNDED;
	else if (fl & PB_DEC_TOLERATED)
		*w = FW_DECIMAL_FORM;
	put_decimal(col, val, row);
	return true;
}

/* The uncached check of an enum, currency, JSON, other date-time or
 * availability zone (text v, or the raw field for JSON): its warning and
 * canonical value. */
static const char *check_value(struct pb_focus_ctx *c, int col, int action, struct pb_str v,
                               enum pb_fwarn *w)
{
	const char *canon = NULL;
	switch (action) {
	case FA_ENUM:
		canon = enum_check(c, (enum pb_fcol)col, v, w);
		break;
	case FA_CURRENCY:
		*w = pb__catalog_currency_known(c->cat, v) ? FW_COUNT : FW_CURRENCY_UNKNOWN;
		canon = pb__catalog_currency_known(c->cat, v) ? "" : NULL;
		break;
	case FA_JSON:
		*w = pb__json_object_check(v.ptr, v.len,
		                           col == FC_AllocatedMethodDetails || col == FC_ContractApplied)
		             ? FW_COUNT
		             : FW_JSON_BAD;
		break;
	case FA_DATE_CHECK: {
		unsigned fl;
		int64_t t;
		if (!pb_time_parse(v.ptr, v.len, &t, &fl))
			*w = FW_DATETIME_BAD;
		else if (fl & PB_TIME_NONISO)
			*w = FW_DATETIME_FORM;
		break;
	}
	case FA_AZ:
		*w = dec_syntax(v.ptr, v.len) >= 0 ? FW_LOOKS_SHIFTED : FW_COUNT;
		break;
	default:
		break;
	}
	return canon;
}

/* Cached checks: enums, currencies, JSON, other dates, AZ; the category,
 * sub-category, charge category and currency go into the row. */
static bool take_checked(struct pb_focus_ctx *c, int col, int action,
                         const struct pb_csv_field *fld, struct pb_focus_memo *memo,
                         struct pb_focus_row *row, enum pb_fwarn *w, char *reason, size_t cap,
                         uint32_t *bad_field)
{
	const char *name = pb__fcols[col].name;
	bool known = memo && memo->done;
	uint64_t h = known ? 0 : vhash(fld->ptr, fld->len);
	struct pb_focus_cached *e = known ? NULL : cache_find(c, col, fld->ptr, fld->len, h);
	const char *canon = NULL;
	struct pb_str v;
	if (known) {
		*w = (enum pb_fwarn)memo->warn;
		canon = memo->canon;
	} else if (e) {
		*w = (enum pb_fwarn)e->warn;
		canon = e->canon;
	} else if (action == FA_JSON) {
		/* checked on the raw field: no copy to undo doubled quotes */
		*w = pb__json_object_check_csv(fld->ptr, fld->len,
		                               col == FC_AllocatedMethodDetails ||
		                                       col == FC_ContractApplied,
		                               fld->escaped)
		             ? FW_COUNT
		             : FW_JSON_BAD;
		cache_put(c, col, fld->ptr, fld->len, h, *w, NULL);
	} else {
		if (!pb__focus_field_text(c, fld, &v))
			REJECT(col, "%s: field too long", name);
		canon = check_value(c, col, action, v, w);
		cache_put(c, col, fld->ptr, fld->len, h, *w, canon);
	}
	if (memo && !memo->done) {
		memo->warn = (uint16_t)*w;
		memo->canon = canon;
		memo->done = true;
	}
	if (action == FA_ENUM) {
		if (!canon && (col == FC_ChargeCategory || col == FC_ServiceCategory)) {
			char shown[64];
			show_value(col, pb_str_of(fld->ptr, fld->len), shown, sizeof(shown));
			REJECT(col, "%s: %s is not an allowed value", name, shown);
		}
		if (col == FC_ChargeCategory)
			row->charge_category = pb_cstr(canon);
		else if (col == FC_ServiceCategory)
			row->category = pb_cstr(canon);
		else if (col == FC_ServiceSubcategory && canon)
			row->subcategory = pb_cstr(canon);
	} else if (col == FC_BillingCurrency) {
		if (!pb__focus_field_text(c, fld, &v))
			REJECT(col, "%s: field too long", name);
		row->currency = v;
	}
	return true;
}

/* Where an FA_KEEP column goes in the row. */
static struct pb_str *keep_slot(int col, struct pb_focus_row *row)
{
	switch (col) {
	case FC_BillingAccountId: return &row->account;
	case FC_BillingAccountName: return &row->account_name;
	case FC_SubAccountId: return &row->subaccount;
	case FC_SubAccountName: return &row->subaccount_name;
	case FC_ProviderName: return &row->provider;
	case FC_ServiceName: return &row->service;
	case FC_SkuMeter: return &row->sku_meter;
	case FC_RegionId: return &row->region;
	case FC_RegionName: return &row->region_name;
	default: return &row->unit; /* FC_ConsumedUnit */
	}
}

/* Step st of the plan on its field fld (tnum, tdec: the field's typed value
 * as pb_focus_ctx has them; memo: its verdict, or NULL): false when the row
 * must be rejected (reason, *bad_field), else *w the warning it draws
 * (FW_COUNT: none) and what it reads put into the row. Inlined into
 * pb__focus_row's loop, as it was written there (a CSV row runs it for
 * every column). */
__attribute__((always_inline)) static inline bool run_step(struct pb_focus_ctx *c, const struct pb_focus_step *st,
                            const struct pb_csv_field *fld, uint8_t tnum, pb_dec tdec,
                            struct pb_focus_memo *memo, struct pb_focus_row *row,
                            enum pb_fwarn *w, char *reason, size_t cap, uint32_t *bad_field)
{
	const int col = st->col;
	const struct pb_fcol_def *d = &pb__fcols[col];
	*w = FW_COUNT;
	if (tnum) { /* a number or a time, read already */
		assert(st->action == FA_SKIP ||
		       (tnum == 1 && (st->action == FA_DEC_CHECK || st->action == FA_DEC_SUM)) ||
		       (tnum == 2 && (st->action == FA_DATE_CHECK || st->action == FA_DATE_USED)));
		if (st->action == FA_DEC_SUM)
			put_decimal(col, tdec, row);
		else if (st->action == FA_DATE_USED)
			put_time(col, (int64_t)tdec, row);
		return true;
	}
	/* nulls: empty, NULL or null, quoted or not */
	if (pb__focus_is_null(fld->ptr, fld->len)) {
		if (!d->nullable) {
			if (is_required(col))
				REJECT(col, "%s is empty (it is required)", d->name);
			*w = FW_NULL_NOT_NULLABLE;
		}
		return true;
	}
	switch (st->action) {
	case FA_SKIP:
		return true;
	case FA_KEEP:
		if (!pb__focus_field_text(c, fld, keep_slot(col, row)))
			REJECT(col, "%s: field too long", d->name);
		return true;
	case FA_DATE_USED:
		return take_date(c, col, fld, row, w, reason, cap, bad_field);
	case FA_DEC_SUM:
		return take_decimal(c, col, fld, row, w, reason, cap, bad_field);
	case FA_DEC_CHECK: {
		int r = dec_syntax(fld->ptr, fld->len);
		*w = r < 0 ? FW_DECIMAL_BAD : r > 0 ? FW_DECIMAL_FORM : FW_COUNT;
		return true;
	}
	default:
		return take_checked(c, col, st->action, fld, memo, row, w, reason, cap, bad_field);
	}
}

bool pb__focus_row(struct pb_focus_ctx *c, const struct pb_csv_field *f, size_t nf,
                   uint64_t line, struct pb_focus_row *row, char *reason, size_t cap,
                   uint32_t *bad_field, bool *warned)
{
	const struct pb_focus_map *m = c->map;
	if (m->kind != PB_FORMAT_FOCUS)
		return pb__native_row(c, f, nf, line, row, reason, cap, bad_field, warned);
	*warned = false;
	if (nf != m->ncols) {
		snprintf(reason, cap, "expected %zu fields as in the header, found %zu", m->ncols, nf);
		*bad_field = (uint32_t)(nf < m->ncols ? nf : m->ncols + 1);
		return false;
	}
	c->scratch_len = 0;
	memset(row, 0, sizeof(*row));
	unsigned nwarn = 0;
	for (size_t s = 0; s < m->nplan; s++) {
		const struct pb_focus_step *st = &m->plan[s];
		enum pb_fwarn w;
		uint8_t tn = c->tnum ? c->tnum[st->field] : 0;
		if (!run_step(c, st, &f[st->field], tn, tn ? c->tdec[st->field] : 0,
		              c->tmemo ? c->tmemo[st->field] : NULL, row, &w, reason, cap, bad_field))
			return false;
		if (w != FW_COUNT) {
			pb__focus_warn(c, w, st->col, line);
			nwarn++;
		}
	}
	/* the rules that tie columns together (a caller that proves rows clean
	 * column by column, pqingest.c, checks these per row) */
	if (row->end < row->start) {
		*bad_field = (uint32_t)m->col[FC_ChargePeriodEnd] + 1;
		snprintf(reason, cap, "ChargePeriodEnd is before ChargePeriodStart");
		return false;
	}
	if (!row->has_quantity && row->charge_category.ptr &&
	    strcmp(row->charge_category.ptr, "Usage") == 0) {
		pb__focus_warn(c, FW_NULL_QUANTITY, FC_ConsumedQuantity, line);
		nwarn++;
	}
	*warned = nwarn > 0;
	return true;
}

bool pb__focus_step_clean(struct pb_focus_ctx *c, size_t s, const struct pb_csv_field *fld,
                          uint8_t tnum, pb_dec tdec, struct pb_focus_memo *memo,
                          struct pb_focus_row *row)
{
	char reason[8];
	uint32_t bad;
	enum pb_fwarn w;
	c->scratch_len = 0;
	return run_step(c, &c->map->plan[s], fld, tnum, tdec, memo, row, &w, reason, sizeof(reason),
	                &bad) &&
	       w == FW_COUNT;
}
