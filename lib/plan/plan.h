/* plan.h - internals shared by the plan module's files (plan.c: plans and
 * their steps; plan_sel.c: selectors and the evaluator; plan_dry.c: the dry
 * run; notice.c: notices to the customer). */
#ifndef PB_PLAN_H
#define PB_PLAN_H

#include "store/store.h"
#include "decide/entitlements.h"

/* One parsed selector. Values are canonical: services by their catalog name,
 * regions by id, countries upper case; other values trimmed as given. */
struct pb__sel {
	bool keep;
	unsigned number;                      /* 1-based among its kind */
	char *text;                           /* canonical text (arena) */
	const char **values[PB_DIM_COUNT];    /* arena */
	size_t n[PB_DIM_COUNT];
};

/* Parses selector text (grammar in docs/plans.md): "all", or key=value[,value]
 * terms separated by spaces; values may be quoted with '...' ('' inside
 * for a quote) or "...". Keys and catalog values are checked (account and
 * subaccount values are not: the caller checks them against the customer).
 * what names the selector in messages ("disable selector 2"). Strings go into a. */
enum pb_status pb__sel_parse(struct pb__arena *a, const struct pb_catalog *cat, const char *text,
                             size_t len, const char *what, struct pb__sel *out,
                             struct pb_error *err);

/* Canonical text of the dimensions of a selector into a (NULL on ENOMEM). */
char *pb__sel_text(struct pb__arena *a, const char *const *const values[PB_DIM_COUNT],
                   const size_t n[PB_DIM_COUNT]);

/* A request as the evaluator sees it (absent fields: ptr NULL). */
struct pb__req {
	struct pb_str account, subaccount, service, region, capability, sku_meter;
};

/* What the catalog tells about a request: service, region and the
 * capabilities it may exercise. */
struct pb__req_facts {
	const struct pb_service *service; /* NULL: unknown */
	const struct pb_region *region;   /* NULL: unknown */
	const char *caps[64];             /* capabilities it may exercise */
	int ncaps;                        /* -1: cannot tell (unknown service); -2: the
	                                   * capability the request names (q->capability) */
	unsigned flags;                   /* PB_DECIDE_* */
};
void pb__req_facts(const struct pb_catalog *cat, const struct pb__req *q, struct pb__req_facts *f);

/* Whether rule r applies to the request: may = true asks "may it apply"
 * (values the request leaves unknown count as matching: how a disable is
 * read), may = false asks "does it surely apply" (how a keep is read).
 * Time windows are not looked at. docs/enforcement.md has the semantics. */
bool pb__rule_applies(const struct pb_rule *r, const struct pb_catalog *cat,
                      const struct pb__req *q, const struct pb__req_facts *f, bool may);

/* True when keep k surely applies wherever disable d may apply, for every
 * value the catalog knows: each dimension k constrains, d constrains too with
 * values k holds (or, for category, subcategory, capability and country,
 * with services or regions whose values k holds). */
bool pb__keep_covers(const struct pb_catalog *cat, const struct pb_rule *k, const struct pb_rule *d);

/* ASCII case-insensitive equality after trimming. */
bool pb__ieq(const char *a, const char *b);

/* Loads probity.conf's unsigned setting key (def when unset); PB_EINVAL when
 * it is not a whole number from lo to hi. */
enum pb_status pb__plan_setting_uint(struct pb_ws *ws, const char *key, unsigned def, unsigned lo,
                                     unsigned hi, unsigned *out, struct pb_error *err);

/* PB_OK when plan p's decision may be announced (approved, applied or rolled
 * back); else PB_ESTATE: "plan N was withdrawn; there is nothing to <verb>" or
 * "plan N is not approved (...); <purpose>; a draft previews one without
 * issuing it" (field "draft"). */
enum pb_status pb__plan_require_decided(const struct pb_plan *p, const char *verb,
                                        const char *purpose, struct pb_error *err);

/* Records a plan step done elsewhere (notice.c): its audit entry (action,
 * with details_json plus plan, sha256 and text) and its plan_event row,
 * inside the caller's transaction. */
enum pb_status pb__plan_record(struct pb_ws *ws, const char *actor, int64_t id, int64_t case_id,
                               const char *kind, const char *action, const char *sha,
                               const char *text, const char *details_json, uint64_t *index_out,
                               struct pb_error *err);

#endif /* PB_PLAN_H */
