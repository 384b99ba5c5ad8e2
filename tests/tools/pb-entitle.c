/* pb-entitle.c - test only: write entitlement versions from JSON rules files,
 * beside the plan module.
 *
 * Not built by `make`, never installed: the tests that need it build it
 * (make test-tools; tests/run-suites.sh does). Without --log-as it writes a
 * version the way an attacker with write access to the database would, with
 * no log entry, and decide, serve and the nginx module refuse that version
 * (tests/e2e/scripts/enforce-log.sh shows it). With --log-as USER it also
 * appends a plan.apply log entry naming the version (tests/tools/logged.h): a
 * fixture for tests that need rules in force without making and approving
 * plans; the entry is on the record, not a way around it, and it is sealed
 * under a signed checkpoint as plan apply does (so it needs the signing key).
 * --log-unsealed USER appends the same entry without signing: what an
 * attacker with write access to the workspace but not to a key folder apart
 * can do, and what the loader refuses.
 *
 * usage: pb-entitle [--log-as|--log-unsealed USER] WS publish FILE [REASON]
 *                                      new version = the rules in FILE
 *        pb-entitle [--log-as USER] WS add FILE [REASON]
 *                                      new version = latest + FILE's rules
 *        pb-entitle [--log-as USER] WS remove PLAN [REASON]
 *                                      new version = latest without PLAN's
 *                                      rules (what a rollback publishes)
 *        pb-entitle WS show [VERSION]  print a version as a rules file
 *        pb-entitle --log-as|--log-unsealed USER WS policy N
 *                                      a plan.policy entry (rollback needs N
 *                                      approvers), sealed or not
 * Prints "version N" for the version written. FILE may be '-' for stdin.
 */
#include "decide/entitlements.h"
#include "logged.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const struct pb_error *err)
{
	char buf[1024];
	fprintf(stderr, "pb-entitle: %s\n", pb_error_format(err, buf, sizeof(buf)));
	return 1;
}

static int read_rules(const char *file, struct pb__ruleset *rs, struct pb_error *err)
{
	char *text = NULL;
	size_t len = 0;
	if (!strcmp(file, "-")) {
		size_t cap = 0;
		for (;;) {
			if (len + 65536 > cap) {
				cap = cap ? cap * 2 : 1 << 20;
				char *t = realloc(text, cap + 1);
				if (!t)
					return pb__err(err, PB_ENOMEM, "out of memory");
				text = t;
			}
			size_t got = fread(text + len, 1, cap - len, stdin);
			len += got;
			if (!got)
				break;
		}
	} else if (pb__read_file(file, (size_t)1 << 30, &text, &len, err)) {
		return err->code;
	}
	enum pb_status st = pb__rules_from_json(text ? text : "", len, file, rs, err);
	free(text);
	return st;
}

static void print_version(const struct pb_entitlements *e)
{
	struct pb_buf b;
	pb_buf_init(&b, (size_t)1 << 30);
	printf("{\"version\": %lld, \"reason\": ", (long long)pb_entitlements_version(e));
	pb_buf_json_str(&b, pb_entitlements_reason(e), strlen(pb_entitlements_reason(e)));
	printf("%s, \"sha256\": \"%s\", \"rules\": [\n", b.data ? b.data : "\"\"",
	       pb_entitlements_sha256(e));
	for (size_t i = 0; i < pb_entitlements_count(e); i++) {
		pb_buf_reset(&b);
		pb__rule_json(&b, pb_entitlements_rule(e, i));
		printf("  %s%s\n", b.data, i + 1 < pb_entitlements_count(e) ? "," : "");
	}
	printf("]}\n");
	pb_buf_release(&b);
}

int main(int argc, char **argv)
{
	const char *log_as = NULL;
	bool sealed = true;
	if (argc > 2 && (!strcmp(argv[1], "--log-as") || !strcmp(argv[1], "--log-unsealed"))) {
		sealed = !strcmp(argv[1], "--log-as");
		log_as = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: pb-entitle [--log-as USER] WS publish|add FILE [REASON]\n"
		                "       pb-entitle [--log-as USER] WS remove PLAN [REASON]\n"
		                "       pb-entitle WS show [VERSION]\n");
		return 2;
	}
	const char *cmd = argv[2];
	struct pb_error err = { 0 };
	struct pb_ws *ws = NULL;
	struct pb_entitlements *e = NULL;
	struct pb__ruleset rs = { 0 };
	struct pb_rule *all = NULL;
	int rc = 1;
	bool show = !strcmp(cmd, "show");
	if (pb_ws_open(argv[1], show ? PB_WS_READONLY : 0, &ws, &err))
		return fail(&err);
	if (show) {
		int64_t v = argc > 3 ? strtoll(argv[3], NULL, 10) : 0;
		if (pb_entitlements_load(ws, v, &e, &err)) {
			rc = fail(&err);
			goto out;
		}
		print_version(e);
		rc = 0;
		goto out;
	}
	if (!strcmp(cmd, "policy") && log_as && argc > 3) {
		/* as pb_plan_set_rollback_approvals writes it, sealed or not */
		char d[64];
		snprintf(d, sizeof(d), "{\"rollback_approvals\":%ld}", strtol(argv[3], NULL, 10));
		char *note = NULL;
		if (pb__ws_begin(ws, &err) ||
		    pb__audit_append(ws, log_as, "plan.policy", 0, "plans", d, NULL, &err) ||
		    (sealed && pb__audit_checkpoint_sign(ws, log_as, false, &note, &err)) ||
		    pb__ws_commit(ws, &err)) {
			pb__ws_rollback(ws);
			rc = fail(&err);
		} else {
			rc = 0;
		}
		free(note);
		goto out;
	}
	if (argc < 4 || (strcmp(cmd, "publish") && strcmp(cmd, "add") && strcmp(cmd, "remove"))) {
		fprintf(stderr, "pb-entitle: unknown command or missing argument\n");
		rc = 2;
		goto out;
	}
	char reason[512];
	snprintf(reason, sizeof(reason), "%s", argc > 4 ? argv[4] : "");
	size_t n = 0;
	if (strcmp(cmd, "publish") && pb_entitlements_load(ws, 0, &e, &err)) {
		rc = fail(&err);
		goto out;
	}
	if (strcmp(cmd, "remove") && read_rules(argv[3], &rs, &err)) {
		rc = fail(&err);
		goto out;
	}
	size_t have = e ? pb_entitlements_count(e) : 0;
	all = calloc(have + rs.n + 1, sizeof(*all));
	if (!all) {
		fprintf(stderr, "pb-entitle: out of memory\n");
		goto out;
	}
	size_t removed = 0;
	for (size_t i = 0; i < have; i++) {
		const struct pb_rule *r = pb_entitlements_rule(e, i);
		if (!strcmp(cmd, "remove") && !strcmp(r->plan, argv[3])) {
			removed++;
			continue;
		}
		all[n++] = *r;
	}
	for (size_t i = 0; i < rs.n; i++)
		all[n++] = rs.rules[i];
	if (!strcmp(cmd, "remove") && !removed) {
		fprintf(stderr, "pb-entitle: plan '%s' has no rules in the latest version\n", argv[3]);
		goto out;
	}
	if (!reason[0])
		snprintf(reason, sizeof(reason), "%s",
		         rs.reason ? rs.reason
		         : !strcmp(cmd, "remove") ? "pb-entitle remove (rollback)" : "pb-entitle");
	int64_t v = 0;
	if (log_as ? pb_test_publish_logged_as(ws, log_as, sealed, all, n, reason, &v, &err)
	           : pb__entitlements_publish(ws, all, n, reason, &v, &err)) {
		rc = fail(&err);
		goto out;
	}
	printf("version %lld (%zu rules)\n", (long long)v, n);
	rc = 0;
out:
	free(all);
	pb__ruleset_release(&rs);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	return rc;
}
