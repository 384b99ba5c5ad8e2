/* statement.c - the canonical statement an actor signs for one log entry.
 *
 * One builder both sides call: the writer (pb__audit_batch_append) signs
 * the text this returns; the verifiers (log check/verify, the entitlements
 * loader) rebuild it from the entry and check the SSHSIG over it. Canonical
 * JSON exactly as audit.c serialises entries (jansson, JSON_COMPACT |
 * JSON_SORT_KEYS), so the same inputs give the same bytes everywhere:
 *
 *   {"action":A,"actor":U,"case":C?,"details":{...}?,
 *    "log":{"root":"<64 hex>","size":S},"nonce":"<32 hex>",
 *    "subject":X?,"type":"probity statement","v":1}
 *
 * The entry's index and time are not in it: the signer does not know them
 * (a detached statement is signed elsewhere, later); log.size/log.root bind
 * it to the log it was made against and the nonce makes it single-use.
 */
#include "log/audit.h"

#include <string.h>

#include <jansson.h>

#include "util/banned.h"

/* Entries the server records about a session rather than a decision: they
 * carry no signature (the browser signs later, issue 14). Records of
 * reading (a finding's citations, a message) are witnessed the same way by
 * the front that served them: they change nothing, and a reviewer who may
 * read must be able to read in a signed workspace from the browser too. */
static const char *const exempt_actions[] = {
	"web.signin", "web.signin-fail", "web.signout", "web.forbidden", "user.enrol",
	"evidence.view", "mail.view",
};

/* Actions whose signatures count toward the two-person rule: their own
 * namespace, so no other signature can be presented as one of them. */
static const char *const approve_actions[] = {
	"plan.approve", "plan.refuse", "plan.apply", "plan.rollback",
};

static bool in_list(const char *a, const char *const *list, size_t n)
{
	if (!a)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a, list[i]) == 0)
			return true;
	return false;
}

bool pb__statement_exempt(const char *action)
{
	return in_list(action, exempt_actions, sizeof(exempt_actions) / sizeof(exempt_actions[0]));
}

const char *pb__statement_ns(const char *action)
{
	return in_list(action, approve_actions, sizeof(approve_actions) / sizeof(approve_actions[0]))
	               ? PB_STATEMENT_NS_APPROVE
	               : PB_STATEMENT_NS;
}

static bool is_hex32(const char *s)
{
	for (size_t i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[32] == '\0';
}

enum pb_status pb__statement_text(const char *action, const char *actor, int64_t case_id,
                                  const char *subject, const json_t *details, uint64_t log_size,
                                  const uint8_t log_root[32], const char nonce_hex[33],
                                  char **out, struct pb_error *err)
{
	enum pb_status rc = PB_OK;
	*out = NULL;
	if (!action || !*action || !actor || !*actor)
		return pb__err(err, PB_EINVAL, "a statement needs an action and an actor");
	if (!nonce_hex || !is_hex32(nonce_hex))
		return pb__err(err, PB_EINVAL, "statement nonce must be 32 lower-case hex digits");
	if (details && !json_is_object(details))
		return pb__err(err, PB_EINVAL, "statement details are not a JSON object");
	if (log_size > (uint64_t)INT64_MAX)
		return pb__err(err, PB_EINVAL, "statement log size is out of range");
	char root[65];
	pb_hex(log_root, 32, root);
	json_t *log = json_pack("{s:s,s:I}", "root", root, "size", (json_int_t)log_size);
	json_t *st = json_object();
	if (!log || !st || json_object_set_new(st, "v", json_integer(1)) ||
	    json_object_set_new(st, "type", json_string("probity statement")) ||
	    json_object_set_new(st, "action", json_string(action)) ||
	    json_object_set_new(st, "actor", json_string(actor)) ||
	    json_object_set_new(st, "nonce", json_string(nonce_hex)) ||
	    json_object_set(st, "log", log) ||
	    (case_id > 0 && json_object_set_new(st, "case", json_integer(case_id))) ||
	    (subject && json_object_set_new(st, "subject", json_string(subject))) ||
	    (details && json_object_set(st, "details", (json_t *)details))) {
		rc = pb__err(err, PB_EINVAL,
		             "cannot build the statement (invalid UTF-8 in a field?)");
		goto out;
	}
	*out = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	if (!*out)
		rc = pb__err(err, PB_ENOMEM, "out of memory");
out:
	json_decref(log);
	json_decref(st);
	return rc;
}

json_t *pb__checkpoint_details(const char *origin, uint64_t size, const uint8_t root[32])
{
	char hex[65];
	pb_hex(root, 32, hex);
	if (size > (uint64_t)INT64_MAX)
		return NULL;
	return json_pack("{s:s,s:s,s:I}", "origin", origin, "root", hex, "size", (json_int_t)size);
}
