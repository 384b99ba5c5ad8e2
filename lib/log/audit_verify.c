/* audit_verify.c - one entry of the log checked on its own, cheaply.
 *
 * What enforcement trusts is an entry that verifies: its leaf hash is
 * recomputed from its bytes, an inclusion proof from the stored subtree
 * hashes ties it to the root of the stored log head, and that head is
 * consistent with the latest signed checkpoint (whose signature is checked
 * with the workspace key). An entry that enforces must also be sealed: its
 * index below the size of that checkpoint, which plan apply and rollback
 * sign in their own transaction (pb__audit_entry_sealed). O(log n) stored
 * hashes and no replay: the full walk is pb_audit_check's (probity log check).
 */
#include "log/audit.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The latest signed checkpoint, opened with the workspace key. */
static enum pb_status latest_checkpoint(struct pb_ws *ws, const struct pb_audit_status *s,
                                        struct pb_checkpoint *cp, struct pb_error *err)
{
	struct pb_vkey vk;
	if (!s->vkey[0])
		return pb__err(err, PB_EVERIFY, "the log has signed checkpoints but the workspace "
		                                "signing key is missing: they cannot be checked");
	enum pb_status rc = pb_vkey_parse(s->vkey, strlen(s->vkey), &vk, err);
	if (rc)
		return rc;
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db,
	                         "SELECT note FROM audit_checkpoint ORDER BY size DESC LIMIT 1", &st,
	                         err)))
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *note = (const char *)sqlite3_column_text(st, 0);
		rc = pb_checkpoint_open(note ? note : "", note ? strlen(note) : 0, &vk, 1, s->origin,
		                        cp, err);
		if (rc)
			pb__err_prefix(err, "the latest signed checkpoint does not open");
	} else {
		rc = pb__db_err(ws->db, err, "cannot read checkpoints");
	}
	sqlite3_finalize(st);
	return rc == PB_OK ? PB_OK : PB_EVERIFY;
}

/* pb__audit_entry_verified, and with sealed the entry must also sit under
 * the latest signed checkpoint (index < its size). */
static enum pb_status entry_verified(struct pb_ws *ws, uint64_t index, bool sealed, char **data,
                                     size_t *len, struct pb_error *err)
{
	*data = NULL;
	*len = 0;
	struct pb_audit_status s;
	enum pb_status rc = pb_audit_status(ws, &s, err);
	if (rc)
		return rc;
	if (index >= s.size)
		return pb__err(err, PB_EVERIFY, "log entry %llu is beyond the log head (%llu entries)",
		               (unsigned long long)index, (unsigned long long)s.size);
	if ((rc = pb_audit_entry_data(ws, index, data, len, err)))
		return rc == PB_ENOENT ? PB_EVERIFY : rc;
	uint8_t leaf[32], proof[PB_TLOG_MAX_PROOF][32];
	size_t np = 0;
	pb_tlog_leaf_hash(*data, *len, leaf);
	struct pb_error e2 = { 0 };
	if (pb_tlog_prove_inclusion(index, s.size, pb__audit_hash, ws, proof, &np, &e2) ||
	    pb_tlog_verify_inclusion(index, s.size, leaf, (const uint8_t(*)[32])proof, np, s.root, &e2)) {
		rc = pb__err(err, PB_EVERIFY, "log entry %llu is not included in the log head: %s",
		             (unsigned long long)index, e2.message);
		goto fail;
	}
	if (sealed && !s.checkpoints) {
		rc = pb__err(err, PB_EVERIFY, "log entry %llu is not covered by a signed checkpoint "
		                              "(none was signed)",
		             (unsigned long long)index);
		goto fail;
	}
	if (s.checkpoints) {
		struct pb_checkpoint cp;
		if ((rc = latest_checkpoint(ws, &s, &cp, err)))
			goto fail;
		if (cp.size > s.size) {
			rc = pb__err(err, PB_EVERIFY, "the log has %llu entries but a checkpoint of %llu "
			                              "was signed: entries were removed",
			             (unsigned long long)s.size, (unsigned long long)cp.size);
			goto fail;
		}
		bool ok = cp.size == s.size ? !memcmp(cp.root, s.root, 32) : true;
		if (cp.size && cp.size < s.size)
			ok = !pb_tlog_prove_consistency(cp.size, s.size, pb__audit_hash, ws, proof, &np,
			                                &e2) &&
			     !pb_tlog_verify_consistency(cp.size, s.size, (const uint8_t(*)[32])proof, np, cp.root, s.root, &e2);
		if (!ok) {
			rc = pb__err(err, PB_EVERIFY, "the log head is not consistent with the checkpoint "
			                              "of size %llu signed earlier",
			             (unsigned long long)cp.size);
			goto fail;
		}
		if (sealed && index >= cp.size) {
			rc = pb__err(err, PB_EVERIFY, "log entry %llu is not covered by a signed "
			                              "checkpoint (the latest covers %llu entries)",
			             (unsigned long long)index, (unsigned long long)cp.size);
			goto fail;
		}
	}
	return PB_OK;
fail:
	free(*data);
	*data = NULL;
	*len = 0;
	return rc;
}

enum pb_status pb__audit_entry_verified(struct pb_ws *ws, uint64_t index, char **data,
                                        size_t *len, struct pb_error *err)
{
	return entry_verified(ws, index, false, data, len, err);
}

enum pb_status pb__audit_entry_sealed(struct pb_ws *ws, uint64_t index, char **data, size_t *len,
                                      struct pb_error *err)
{
	return entry_verified(ws, index, true, data, len, err);
}
