/* policy.h - internals of the policy module shared by its files (parser,
 * native scan, SQL compiler, evidence), and what the case module needs:
 * pb__finding_get to look a stored finding up by the id a user types.
 *
 * A policy is parsed once into the structs below; names and values are
 * canonical (catalog spellings, normalised units, thresholds as exact
 * decimals in the unit the aggregates are stored in). docs/policy.md is the
 * reference of the file format and of the semantics both engines follow.
 */
#ifndef PB_POLICY_H
#define PB_POLICY_H

#include "store/store.h"
#include "util/util.h"

/* Caps on outside input (PB_ELIMIT beyond them). */
#define PB_POLICY_MAX_BYTES (1u << 20)  /* policy file size */
#define PB_POLICY_MAX_DEPTH 32          /* YAML nesting */
#define PB_POLICY_MAX_NODES 20000       /* YAML nodes */
#define PB_POLICY_MAX_INDICATORS 256
#define PB_POLICY_MAX_RULES 64
#define PB_POLICY_MAX_VALUES 256        /* values of one selector key */
#define PB_POLICY_MAX_EXPR 1024         /* nodes in one when: expression */

/* Selector keys, in the order the usage table has them. */
enum pb__sel {
	PB_SEL_ACCOUNT = 0,
	PB_SEL_SUBACCOUNT,
	PB_SEL_PROVIDER,
	PB_SEL_CATEGORY,
	PB_SEL_SUBCATEGORY,
	PB_SEL_SERVICE,
	PB_SEL_CAPABILITY,
	PB_SEL_REGION,
	PB_SEL_COUNTRY,
	PB_SEL_CHARGE_CATEGORY,
	PB_SEL_UNIT,
	PB_SEL_COUNT
};
/* "account", "subaccount", ..., as written in policy files. */
const char *pb__sel_key(enum pb__sel s);

enum pb__measure { PB_MEAS_QUANTITY, PB_MEAS_BILLED, PB_MEAS_EFFECTIVE, PB_MEAS_LIST };
enum pb__window { PB_WIN_LAST_DAYS, PB_WIN_LAST_MONTHS, PB_WIN_MONTH, PB_WIN_EVERY_MONTH };
enum pb__agg { PB_AGG_SUM, PB_AGG_DAILY_AVG, PB_AGG_MONTHLY_MAX, PB_AGG_GROWTH, PB_AGG_SHARE };
enum pb__op { PB_OP_GE, PB_OP_GT, PB_OP_LE, PB_OP_LT };
/* What a threshold's number is: an amount in the indicator's unit or
 * currency, a growth factor (3x; 200% is stored as 3), or a share (40% = 0.4). */
enum pb__thr { PB_THR_AMOUNT, PB_THR_FACTOR, PB_THR_SHARE };
/* Grouping for per: and share. */
enum pb__per { PB_PER_NONE, PB_PER_REGION, PB_PER_COUNTRY };

/* A when: expression over indicators. */
enum pb__expr_kind { PB_EX_REF, PB_EX_ALL, PB_EX_ANY, PB_EX_NOT, PB_EX_ATLEAST };
struct pb__expr {
	enum pb__expr_kind kind;
	size_t ref;              /* PB_EX_REF: indicator index */
	size_t atleast;          /* PB_EX_ATLEAST: N */
	/* PB_EX_ALL, PB_EX_ATLEAST with 'same: country|region': the kids that
	 * are measuring indicators per that grouping must fire in one and the
	 * same group; other kids count as usual. PB_PER_NONE otherwise. */
	enum pb__per same;
	struct pb__expr **kids;
	size_t nkids;
	uint32_t line, col;
};

struct pb__indicator {
	char *name;
	char *description;
	uint32_t line, col;
	struct pb__expr *when;       /* composite indicator; NULL for a measuring one */
	/* measuring indicator: */
	char **values[PB_SEL_COUNT]; /* canonical selector values; nvalues 0 = any */
	size_t nvalues[PB_SEL_COUNT];
	enum pb__measure measure;
	char *unit;                  /* normalised unit (quantity) */
	char *currency;              /* currency (costs) */
	enum pb__window window;
	int64_t wn;                  /* N of last N days/months; month number (y*12+m-1) of month */
	enum pb__agg agg;
	enum pb__per per;
	enum pb__op op;
	enum pb__thr thr_kind;
	pb_dec thr;                  /* in the stored unit; factor or share as a plain number */
	char *thr_text;              /* as written */
	bool same_part;              /* a direct part of some 'same:' expression */
};

struct pb__rule {
	char *name;
	char *description;
	char *severity;              /* low, medium, high, critical */
	struct pb__expr *when;
	uint32_t line, col;
};

struct pb_policy {
	char *file;                  /* as given, for messages */
	char *name, *title, *description, *clause;
	char sha256[65];             /* of the file's bytes */
	char *text;                  /* the file's bytes (kept with each scan) */
	size_t text_len;
	struct pb__indicator *ind;
	size_t nind;
	size_t *order;               /* indicators in dependency order (refs first) */
	struct pb__rule *rules;
	size_t nrules;
};

/* ---- windows: the days an indicator reads, for a scan at day `at` ----- */

/* A window [lo, hi) of day numbers and, for growth, the one before it. */
struct pb__span {
	int64_t lo, hi;
	int64_t plo, phi;            /* previous window (growth), else plo = phi = lo */
	int64_t month;               /* every month: the month number; else -1 */
};
/* The single window of a non-every-month indicator at day `at`. */
struct pb__span pb__window_span(const struct pb__indicator *ind, int64_t at);
/* The window of month m of an every-month indicator. */
struct pb__span pb__month_span(const struct pb__indicator *ind, int64_t m);
/* Days in a window (for daily-average). */
int64_t pb__span_days(const struct pb__span *s);

/* Evaluates a when: expression over fired flags (one per indicator). A
 * 'same:' expression counts here as its plain all or at-least: the groups
 * its parts fired in are the native scan's (policy_scan.c ex_eval). */
bool pb__expr_eval(const struct pb__expr *e, const bool *fired);

/* ---- findings ---------------------------------------------------------- */

/* A stored finding, as the case module attaches it. */
struct pb__finding {
	int64_t id;
	int64_t scan_id;
	char policy[128];
	char policy_sha256[65];
	char rule[128];
	char severity[16];
	char entity_kind[16];        /* "customer" or "account" */
	char entity[256];
	char at[11];                 /* the scan's day, YYYY-MM-DD */
	char created_at[24];
	char *detail;                /* JSON document (heap; free() it) */
};
/* Looks a finding up by the id a user types: "12" or "F12" (case-insensitive).
 * Fills *out (free out->detail with free()); PB_ENOENT when there is none,
 * PB_EINVAL for a reference that is not of that form. */
enum pb_status pb__finding_get(struct pb_ws *ws, const char *ref, struct pb__finding *out,
                               struct pb_error *err);

#endif
