/* focus.h - the FOCUS cost-and-usage columns (1.0 to 1.3): names, types,
 * allowed values, null conventions, content classes; header mapping by name;
 * checking and reading one row into the fields ingest aggregates. */
#ifndef PB_FOCUS_H
#define PB_FOCUS_H

#include "usage/csv.h"
#include "util/util.h"

#include <string.h>

enum pb_fcol {
#define FCOL(id, name, type, level, nullable, since, cls) FC_##id,
#include "usage/focus_cols.h"
#undef FCOL
	FC_COUNT
};

enum pb_ftype { FT_STRING, FT_DECIMAL, FT_DATETIME, FT_ENUM, FT_CURRENCY, FT_JSON, FT_UNIT };
enum pb_flevel { FL_M, FL_C, FL_R, FL_DEPRECATED };
/* The content class of a column, for the firewall (docs/firewall.md). */
enum pb_fclass {
	FCLASS_METADATA,    /* provider-defined: categories, SKUs, regions, prices, dates */
	FCLASS_IDENTIFIER,  /* provider-assigned ids: accounts, invoices, commitments */
	FCLASS_CUSTOMER,    /* chosen by the customer: names, tags, descriptions */
};

struct pb_fcol_def {
	const char *name;
	enum pb_ftype type;
	enum pb_flevel level;
	bool nullable;
	const char *since; /* "1.0", "1.1", "1.2", "1.3" */
	enum pb_fclass cls;
};
extern const struct pb_fcol_def pb__fcols[FC_COUNT];
/* Index of a FOCUS column by exact name (also 1.3 and pre-1.0 renames, see
 * focus.c), or -1. */
int pb__fcol_lookup(struct pb_str name);

/* Warning kinds: a row is accepted, but something in it did not conform. */
enum pb_fwarn {
	FW_NULL_NOT_NULLABLE, /* null in a column the spec says is not nullable */
	FW_ENUM_CASE,         /* allowed value in another letter case (Usage-based) */
	FW_ENUM_BAD,          /* not an allowed value; ignored */
	FW_DECIMAL_BAD,       /* not a number (in a column probity does not sum); ignored */
	FW_DECIMAL_FORM,      /* a number form outside the spec (1E+3, +5); read */
	FW_DECIMAL_ROUNDED,   /* more than 15 decimal places; rounded */
	FW_DATETIME_BAD,      /* not a date-time (in a column probity does not use); ignored */
	FW_DATETIME_FORM,     /* date-time not in the spec form (no T, no Z, no seconds); read as UTC */
	FW_CURRENCY_UNKNOWN,  /* not an ISO 4217 code (virtual currency?) */
	FW_JSON_BAD,          /* not a JSON object with scalar values */
	FW_LOOKS_SHIFTED,     /* a number where text belongs: columns may be shifted */
	FW_UNKNOWN_REGION,    /* region not in the catalog */
	FW_UNKNOWN_SERVICE,   /* service not in the catalog */
	FW_UNKNOWN_UNIT,      /* unit not in the catalog: kept as written */
	FW_UNKNOWN_CAPABILITY,/* service offers several capabilities; row does not say which */
	FW_NULL_QUANTITY,     /* usage row without consumed quantity */
	FW_CATEGORY_FROM_CATALOG, /* ServiceCategory missing: taken from the catalog */
	FW_COUNT
};
const char *pb__fwarn_name(enum pb_fwarn w);   /* "enum-case", ... (stable) */
const char *pb__fwarn_text(enum pb_fwarn w);   /* one line for reports */

/* How a header maps onto FOCUS: column index per FOCUS column (-1 = absent). */
/* What the row checker does with a column (decided once per header). */
enum pb_faction {
	FA_SKIP,       /* free text nobody stores: only the null rule is checked */
	FA_KEEP,       /* text stored or used: handed to the aggregator */
	FA_ENUM,       /* one of the allowed values */
	FA_DEC_SUM,    /* a decimal probity sums */
	FA_DEC_CHECK,  /* a decimal probity only checks */
	FA_DATE_USED,  /* ChargePeriodStart / End */
	FA_DATE_CHECK, /* other date-times */
	FA_CURRENCY,
	FA_JSON,
	FA_AZ,         /* AvailabilityZone: text that must not look like a number */
};

struct pb_focus_step {
	uint16_t field;  /* index in the record */
	uint8_t col;     /* enum pb_fcol */
	uint8_t action;  /* enum pb_faction */
};

/* Columns of the providers' own exports (lib/native.c). */
enum pb_ncol {
	NC_AWS_PAYER, NC_AWS_PAYER_NAME, NC_AWS_ACCOUNT, NC_AWS_ACCOUNT_NAME, NC_AWS_TYPE,
	NC_AWS_START, NC_AWS_END, NC_AWS_PRODUCT_NAME, NC_AWS_PRODUCT_CODE, NC_AWS_USAGE_TYPE,
	NC_AWS_REGION, NC_AWS_REGION_CODE, NC_AWS_UNIT, NC_AWS_CURRENCY, NC_AWS_AMOUNT,
	NC_AWS_UNBLENDED, NC_AWS_NET_UNBLENDED, NC_AWS_PUBLIC_COST, NC_AWS_RI_EFFECTIVE,
	NC_AWS_SP_EFFECTIVE,
	NC_AZ_ACCOUNT, NC_AZ_ACCOUNT_NAME, NC_AZ_SUB, NC_AZ_SUB_NAME, NC_AZ_DATE, NC_AZ_CHARGE_TYPE,
	NC_AZ_CONSUMED, NC_AZ_RESOURCE_ID, NC_AZ_METER_CATEGORY, NC_AZ_METER_NAME, NC_AZ_LOCATION,
	NC_AZ_METER_REGION, NC_AZ_UNIT, NC_AZ_QUANTITY, NC_AZ_COST, NC_AZ_PAYG_PRICE, NC_AZ_CURRENCY,
	NC_COUNT
};

enum pb_format_kind { PB_FORMAT_FOCUS, PB_FORMAT_AWS_CUR, PB_FORMAT_AZURE };

struct pb_focus_map {
	enum pb_format_kind kind;
	int ncol[NC_COUNT];       /* native exports: column index, or -1 */
	int col[FC_COUNT];
	size_t ncols;             /* fields in the header */
	size_t ignored;           /* columns that are not FOCUS (x_ and others) */
	char version[8];          /* "1.0" .. "1.3" */
	char format[16];          /* "focus" */
	struct pb_focus_step plan[FC_COUNT];
	size_t nplan;
};

/* Maps a header row. Fails (PB_EFORMAT) when a column probity cannot do
 * without is absent, naming every one missing; the message goes to err. Fills
 * *missing_recommended with a comma-separated list of other absent FOCUS
 * columns that the detected version makes mandatory (cap bytes). */
enum pb_status pb__focus_map_header(const struct pb_str *names, size_t n, struct pb_focus_map *m,
                                    char *missing_mandatory, size_t cap, struct pb_error *err);

/* One row, read and checked. Views point into the input (or into the
 * per-worker scratch for quoted fields with doubled quotes). */
struct pb_focus_row {
	struct pb_str account, account_name, subaccount, subaccount_name;
	struct pb_str provider, category, subcategory, service, sku_meter;
	struct pb_str region, region_name, unit, charge_category, currency;
	int64_t start, end;      /* ChargePeriodStart/End, seconds UTC */
	pb_dec quantity, billed, effective, list;
	bool has_quantity;
};

#define PB_FOCUS_CACHE 32

/* The verdict of a checked value (an enum, currency, JSON, date-time or
 * zone) kept with the value by the caller (a Parquet dictionary entry's), so
 * that a value many rows repeat is checked once. Zeroed: not checked yet. */
struct pb_focus_memo {
	const char *canon;
	uint16_t warn;
	bool done;
};

/* Per-worker state for row checks: caches of the last value seen in each
 * column (rows repeat values, so most checks become one memcmp), warning
 * counts, and scratch for unescaping. */
struct pb_focus_ctx {
	const struct pb_focus_map *map;
	const struct pb_catalog *cat;
	/* per column, a small direct-mapped cache of values already checked, keyed
	 * by the raw bytes of the field */
	struct pb_focus_cached {
		char *val;
		uint32_t len, cap;
		uint64_t hash;
		uint16_t warn;      /* warning it produced (FW_COUNT = none) */
		const char *canon;  /* canonical spelling for enums */
	} cache[FC_COUNT][PB_FOCUS_CACHE];
	uint64_t warn_count[FW_COUNT][FC_COUNT + 1]; /* [kind][column]; FC_COUNT = no column */
	uint64_t warn_line[FW_COUNT][FC_COUNT + 1];  /* first line */
	char *scratch;
	size_t scratch_cap, scratch_len;
	uint64_t line; /* of the row being read */
	/* A typed input's numbers and times (Parquet doubles and timestamps),
	 * and timestamps), set for the row being read, else NULL: where
	 * tnum[field] is 1 the field is a number that is not null, whose text is
	 * a plain decimal (no warning) and, for FA_DEC_SUM, reads as tdec[field];
	 * where it is 2, a time whose text is the spec form and reads as
	 * tdec[field] seconds; the field's text is not made. Only for fields
	 * whose step is FA_SKIP or, for a number, FA_DEC_CHECK or FA_DEC_SUM, for
	 * a time, FA_DATE_CHECK or FA_DATE_USED. */
	const uint8_t *tnum;
	const pb_dec *tdec;
	/* Set by such an input for the row, else NULL: per field, the memo of
	 * its value or NULL. Only for fields with one step. */
	struct pb_focus_memo *const *tmemo;
};
/* max_record: the longest record the caller will pass (the scratch holds one). */
enum pb_status pb__focus_ctx_init(struct pb_focus_ctx *c, const struct pb_focus_map *m,
                                  const struct pb_catalog *cat, size_t max_record);
void pb__focus_ctx_release(struct pb_focus_ctx *c);
static inline void pb__focus_warn(struct pb_focus_ctx *c, enum pb_fwarn w, int col, uint64_t line)
{
	unsigned ci = col < 0 ? FC_COUNT : (unsigned)col;
	if (c->warn_count[w][ci]++ == 0 || line < c->warn_line[w][ci])
		c->warn_line[w][ci] = line;
}

/* Checks and reads a record. Returns true when the row is usable (*row
 * filled, warnings counted in ctx); false when it must be rejected, with the
 * reason in reason (cap bytes) and the 1-based field in *bad_field. *warned is
 * set when the row drew any warning. */
bool pb__focus_row(struct pb_focus_ctx *c, const struct pb_csv_field *f, size_t nf,
                   uint64_t line, struct pb_focus_row *row, char *reason, size_t cap,
                   uint32_t *bad_field, bool *warned);

/* Step s of the map's plan alone on one value fld (tnum, tdec and memo as
 * pb_focus_ctx's tnum, tdec and tmemo give them for a row): true when the
 * value passes it with no warning (a null where the column may be null
 * does), with what the step reads put into *row; counts nothing. A caller
 * that proves rows clean value by value (a Parquet dictionary entry once)
 * must still check the rules that tie columns together per row (the end of
 * pb__focus_row). */
bool pb__focus_step_clean(struct pb_focus_ctx *c, size_t s, const struct pb_csv_field *fld,
                          uint8_t tnum, pb_dec tdec, struct pb_focus_memo *memo,
                          struct pb_focus_row *row);

/* Native exports: recognise a header (filling m->kind, ncol, format, version,
 * ignored); false when it is not one (err set when it is one but unusable). */
bool pb__native_map_header(const struct pb_str *names, size_t n, struct pb_focus_map *m,
                           struct pb_error *err);
/* Reads a native row into a FOCUS row; the same contract as pb__focus_row. */
bool pb__native_row(struct pb_focus_ctx *c, const struct pb_csv_field *f, size_t nf,
                    uint64_t line, struct pb_focus_row *row, char *reason, size_t cap,
                    uint32_t *bad_field, bool *warned);
/* A field's text, unescaped into the row scratch when needed. */
bool pb__focus_field_text(struct pb_focus_ctx *c, const struct pb_csv_field *f,
                          struct pb_str *out);

/* Is s a FOCUS null (empty, NULL or null)? */
static inline bool pb__focus_is_null(const char *p, size_t n)
{
	return n == 0 || (n == 4 && (memcmp(p, "NULL", 4) == 0 || memcmp(p, "null", 4) == 0));
}

/* Checks that s is a JSON object whose values are scalars (nested values
 * allowed when nested is true), with a depth and size cap. */
bool pb__json_object_check(const char *s, size_t n, bool nested);
/* The same on a CSV field's raw bytes: when escaped, every quote of the JSON
 * text is written as two. */
bool pb__json_object_check_csv(const char *s, size_t n, bool nested, bool escaped);

#endif
