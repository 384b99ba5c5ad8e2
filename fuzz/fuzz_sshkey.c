/* fuzz_sshkey.c - OpenSSH key lines, key blobs and openssh-key-v1 private
 * key files on arbitrary bytes. Invariants: a parsed line prints back to a
 * line that parses to the same key; a parsed blob is kept byte for byte;
 * nothing crashes or leaks. */
#include <stdlib.h>
#include <string.h>

#include "ident/ident_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_sshkey k, k2;
	char *comment = NULL;
	char fp[PB_SSHKEY_FP_MAX];
	if (pb__sshkey_parse((const char *)data, size, &k, &comment, NULL) == PB_OK) {
		pb__sshkey_fingerprint(&k, fp);
		char *line = pb__sshkey_line(&k);
		if (!line || pb__sshkey_parse(line, strlen(line), &k2, NULL, NULL) != PB_OK ||
		    !pb__sshkey_equal(&k, &k2))
			abort();
		pb__sshkey_release(&k2);
		free(line);
		free(comment);
		pb__sshkey_release(&k);
	}
	if (pb__sshkey_from_blob(data, size, &k, NULL) == PB_OK) {
		if (k.blob_len != size || memcmp(k.blob, data, size) != 0)
			abort();
		pb__sshkey_fingerprint(&k, fp);
		pb__sshkey_release(&k);
	}
	uint8_t sk[64];
	if (pb__sshkey_private_parse((const char *)data, size, "fuzz", &k, sk, NULL) == PB_OK)
		pb__sshkey_release(&k);
	return 0;
}
