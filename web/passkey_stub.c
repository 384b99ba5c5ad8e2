/* passkey_stub.c - TEMPORARY: weak stand-ins for the library's passkey API
 * (probity.h "passkeys"), declared on main and implemented by the
 * passkey-write branch (lib/auth/passkeys.c). They let probity web link and
 * its pages be built before that lands; each answers that passkeys are not
 * in this build. Deleted when passkey-write is merged.
 */
#include "web.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define WEAK __attribute__((weak))

static enum pb_status stub(struct pb_error *err)
{
	if (err) {
		memset(err, 0, sizeof(*err));
		err->code = PB_ESTATE;
		snprintf(err->message, sizeof(err->message), "passkeys are not in this build yet");
	}
	return PB_ESTATE;
}

WEAK enum pb_status pb_passkey_origin_set(struct pb_ws *ws, const char *actor, const char *origin,
                                          const char *rp_id, uint64_t *index_out,
                                          struct pb_error *err)
{
	(void)ws, (void)actor, (void)origin, (void)rp_id, (void)index_out;
	return stub(err);
}

WEAK enum pb_status pb_passkey_origin(struct pb_ws *ws, char origin[PB_PASSKEY_ORIGIN_MAX],
                                      char rp_id[PB_PASSKEY_ORIGIN_MAX], struct pb_error *err)
{
	(void)ws;
	origin[0] = rp_id[0] = '\0';
	return stub(err);
}

WEAK void pb_passkey_challenge(const char *statement, size_t len, uint8_t out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)statement, len);
}

WEAK enum pb_status pb_passkey_add(struct pb_ws *ws, const char *actor,
                                   const struct pb_passkey_reg *r, char fp_out[PB_PASSKEY_FP_MAX],
                                   uint64_t *index_out, struct pb_error *err)
{
	(void)ws, (void)actor, (void)r, (void)fp_out, (void)index_out;
	return stub(err);
}

WEAK enum pb_status pb_passkey_revoke(struct pb_ws *ws, const char *actor, const char *user,
                                      const char *fp, const char *reason, uint64_t *index_out,
                                      struct pb_error *err)
{
	(void)ws, (void)actor, (void)user, (void)fp, (void)reason, (void)index_out;
	return stub(err);
}

WEAK enum pb_status pb_passkey_list(struct pb_ws *ws, const char *user,
                                    bool (*fn)(void *ctx, const struct pb_passkey *k), void *ctx,
                                    struct pb_error *err)
{
	(void)ws, (void)user, (void)fn, (void)ctx, (void)err;
	return PB_OK;
}

WEAK enum pb_status pb_session_signin_passkey(struct pb_ws *ws, const struct pb_passkey_assertion *a,
                                              const uint8_t *challenge, size_t challenge_len,
                                              const char *addr, struct pb_session *out,
                                              unsigned *fails_out, struct pb_error *err)
{
	(void)ws, (void)a, (void)challenge, (void)challenge_len, (void)addr, (void)out;
	if (fails_out)
		*fails_out = 0;
	return stub(err);
}
