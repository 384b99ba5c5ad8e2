/* firewall.c - the content firewall at the point of storing: customer-chosen
 * names (billing account and sub-account names) go into the workspace as
 * keyed pseudonyms unless the workspace keeps names (docs/firewall.md).
 *
 * The rest of the firewall is elsewhere: a reject reason never shows a value
 * of a customer-class column (focus_cols.h, focus.c), and the original bytes
 * of rejected rows go to the rejects file, never the database (commit.c). */
#include "usage/usage_internal.h"

#include <stdlib.h>

#include "util/banned.h"

enum pb_status pb__firewall_init(struct pb_firewall *fw, struct pb_ws *ws, bool need_key,
                                 struct pb_error *err)
{
	const char *kn = pb_ws_setting(ws, "keep_names");
	fw->keep_names = kn && (strcmp(kn, "true") == 0 || strcmp(kn, "yes") == 0 ||
	                        strcmp(kn, "1") == 0);
	fw->key = NULL;
	if (need_key && !fw->keep_names)
		return pb__ws_pseudo_key(ws, &fw->key, err);
	return PB_OK;
}

const char *pb__firewall_names(const struct pb_firewall *fw)
{
	return fw->keep_names ? "clear" : "pseudonymised";
}

/* "ps:" + 16 base32 characters of HMAC-SHA256(key, column NUL value): out
 * holds 20 bytes. */
static void pseudonym(const uint8_t key[32], const char *column, struct pb_str v, char *out)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t mac[32];
	size_t cl = strlen(column);
	char stackbuf[512];
	char *msg = cl + 1 + v.len <= sizeof(stackbuf) ? stackbuf : malloc(cl + 1 + v.len);
	if (!msg) {
		memset(mac, 0, sizeof(mac));
	} else {
		memcpy(msg, column, cl + 1);
		if (v.len)
			memcpy(msg + cl + 1, v.ptr, v.len);
		pb__hmac_sha256(key, msg, cl + 1 + v.len, mac);
		if (msg != stackbuf)
			free(msg);
	}
	/* RFC 4648 base32 (lower case) of the first 10 bytes: 16 characters */
	memcpy(out, "ps:", 3);
	unsigned acc = 0, nbits = 0, o = 3;
	for (int i = 0; i < 10; i++) {
		acc = (acc << 8) | mac[i];
		nbits += 8;
		while (nbits >= 5) {
			out[o++] = b32[(acc >> (nbits - 5)) & 31];
			nbits -= 5;
		}
	}
	out[19] = '\0';
}

void pb__firewall_bind_name(const struct pb_firewall *fw, sqlite3_stmt *q, int i,
                            const char *column, struct pb_str v)
{
	if (!v.ptr) {
		sqlite3_bind_null(q, i);
	} else if (fw->keep_names) {
		pb__bind_str(q, i, v);
	} else {
		char ps[24];
		pseudonym(fw->key, column, v, ps);
		sqlite3_bind_text(q, i, ps, -1, SQLITE_TRANSIENT);
	}
}
