/* logged.h - a test fixture: an entitlements version published together with
 * a plan.apply log entry that names it (version and hash), as `plan apply`
 * writes (and sealed under a signed checkpoint, as plan apply does unless
 * sealed is false), but without a plan or approvals. The entitlements loader enforces a
 * version only when such an entry verifies (lib/decide/entitlements.c), so
 * unit tests, tests/tools/pb-entitle --log-as and the decide benchmark use
 * this. Test and benchmark code only: never part of the library or the
 * installed program. */
#ifndef PB_TEST_LOGGED_H
#define PB_TEST_LOGGED_H

#include "decide/entitlements.h"
#include "log/audit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

static inline enum pb_status pb_test_publish_logged_as(struct pb_ws *ws, const char *actor,
                                                       bool sealed, const struct pb_rule *rules,
                                                       size_t n, const char *reason,
                                                       int64_t *version_out, struct pb_error *err)
{
	int64_t v = 0;
	enum pb_status st = pb__ws_begin(ws, err);
	if (st)
		return st;
	if ((st = pb__entitlements_publish(ws, rules, n, reason, &v, err)))
		goto fail;
	sqlite3_stmt *q = NULL;
	if ((st = pb__db_prepare(ws->db, "SELECT sha256 FROM entitlement_version WHERE version = ?1",
	                         &q, err)))
		goto fail;
	sqlite3_bind_int64(q, 1, v);
	char details[160] = "";
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(details, sizeof(details),
		         "{\"entitlements_sha256\":\"%s\",\"fixture\":true,\"version\":%lld}",
		         (const char *)sqlite3_column_text(q, 0), (long long)v);
	sqlite3_finalize(q);
	if ((st = pb__audit_append(ws, actor, "plan.apply", 0, "plan/0", details, NULL, err)))
		goto fail;
	/* sealed, as plan apply does: the loader enforces only entries under a
	 * signed checkpoint (unsealed: what an append without the key gives) */
	if (sealed) {
		char *note = NULL;
		st = pb__audit_checkpoint_sign(ws, actor, false, &note, err);
		free(note);
		if (st)
			goto fail;
	}
	if ((st = pb__ws_commit(ws, err)))
		goto fail;
	if (version_out)
		*version_out = v;
	return PB_OK;
fail:
	pb__ws_rollback(ws);
	return st;
}

static inline enum pb_status pb_test_publish_logged(struct pb_ws *ws, const char *actor,
                                                    const struct pb_rule *rules, size_t n,
                                                    const char *reason, int64_t *version_out,
                                                    struct pb_error *err)
{
	return pb_test_publish_logged_as(ws, actor, true, rules, n, reason, version_out, err);
}

#endif /* PB_TEST_LOGGED_H */
