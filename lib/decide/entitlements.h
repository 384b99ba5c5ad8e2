/* entitlements.h - the internal side of the entitlements data model: writing a
 * new version, reading rules from JSON, and a string arena the rule sets share.
 *
 * The plan module (apply, rollback) calls pb__entitlements_publish inside its
 * own transaction, so that the new version and the plan's audit-log entry
 * commit together. Rollback is publishing a version without the plan's rules.
 */
#ifndef PB_ENTITLEMENTS_H
#define PB_ENTITLEMENTS_H

#include "store/store.h"

/* A bump allocator: many small strings and arrays freed at once. */
struct pb__arena {
	struct pb__arena_chunk *head;
};
void *pb__arena_alloc(struct pb__arena *a, size_t n); /* 16-byte aligned; NULL on ENOMEM */
char *pb__arena_strndup(struct pb__arena *a, const char *s, size_t n);
void pb__arena_release(struct pb__arena *a);

/* A set of rules that owns its strings (what the JSON reader returns). */
struct pb__ruleset {
	struct pb_rule *rules;
	size_t n;
	char *reason;  /* the file's "reason", or NULL */
	struct pb__arena arena;
};
void pb__ruleset_release(struct pb__ruleset *rs);

/* Writes version latest+1 holding rules[0..nrules) in that order, with reason
 * (required: why this version exists, e.g. "apply plan 12"). Every rule is
 * checked first (PB_EINVAL / PB_ELIMIT naming the rule and field; nothing is
 * written then): plan and case ids present, an effect, from < until, at least
 * one billing account, values non-empty after trimming, valid UTF-8 and within
 * the PB_RULE_* caps. Values are stored trimmed; duplicates are kept as given.
 *
 * When the caller has a transaction open on ws (pb__ws_begin), the version is
 * written inside it and commits or rolls back with it; otherwise publish opens
 * and commits its own. *version_out (may be NULL) gets the new number. The
 * workspace must be open read-write (PB_EPERM otherwise). */
enum pb_status pb__entitlements_publish(struct pb_ws *ws, const struct pb_rule *rules,
                                        size_t nrules, const char *reason,
                                        int64_t *version_out, struct pb_error *err);

/* Reads rules from JSON text (the format of docs/enforcement.md, "Rules
 * files"): {"reason": "...", "rules": [{"plan": "12", "case": "2025-007",
 * "effect": "disable", "account": ["A"], "category": ["Storage"],
 * "country": ["NL"], "from": "2025-09-25T00:00:00Z", "until": null}, ...]}.
 * A bare array of rules is accepted too. Errors name file and the rule number.
 * Unknown keys are refused. */
enum pb_status pb__rules_from_json(const char *text, size_t len, const char *file,
                                   struct pb__ruleset *out, struct pb_error *err);

/* Appends the canonical JSON of rule r (one line, no newline) to b: keys in a
 * fixed order, empty dimensions left out, times as ISO 8601 or null. */
enum pb_status pb__rule_json(struct pb_buf *b, const struct pb_rule *r);
/* The rules of one stored version against the version row's count and hash
 * (what every load checks, without asking the log who named it): PB_EVERIFY
 * when rule rows were added, removed or changed beside probity. For the
 * replay of `log check` (lib/replay). */
enum pb_status pb__entitlements_rules_check(struct pb_ws *ws, int64_t version,
                                            struct pb_error *err);

/* Whether the log names version (with hex SHA-256 sha) in a plan.apply or
 * plan.rollback entry that verifies and is sealed, the check every load
 * makes (version 0 needs none): PB_EVERIFY when not. For the compiled
 * entitlements files (etab.c). */
enum pb_status pb__entitlements_named(struct pb_ws *ws, int64_t version, const char *sha,
                                      struct pb_error *err);

/* ASCII case folding plus trimming of spaces and tabs, into out (cap bytes);
 * returns the folded length, or SIZE_MAX when it does not fit. */
size_t pb__fold(const char *s, size_t n, char *out, size_t cap);

/* pb_decider_new with the engine's internal choices forced, so that tests
 * can check every path against the same reference: fast_max: ids above it
 * (at most 62) are tested the general way instead of as mask bits; memo:
 * false turns the memo of whole requests off; pack: false stores block
 * entries as two words. pb_decider_new is (62, true, true). */
struct pb__decider_tuning {
	uint32_t fast_max;
	bool memo;
	bool pack;
};
enum pb_status pb__decider_new_tuned(const struct pb_entitlements *e, const struct pb_catalog *cat,
                                     const struct pb__decider_tuning *t, struct pb_decider **out,
                                     struct pb_error *err);

#endif /* PB_ENTITLEMENTS_H */
