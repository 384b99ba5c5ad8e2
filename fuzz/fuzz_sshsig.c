/* fuzz_sshsig.c - SSHSIG signatures on arbitrary bytes, armoured and binary:
 * decode, then verify over a fixed message in the signature's own namespace
 * (the seeds are ssh-keygen signatures of that message, so verification is
 * reached). Invariants: what parses armours back to text that parses to the
 * same binary; nothing crashes or leaks. */
#include <stdlib.h>
#include <string.h>

#include "ident/ident.h"

#define MSG "probity fuzz message\n"

static void check(const struct pb_sshsig *s)
{
	pb__sshsig_verify(s, NULL, s->ns, MSG, strlen(MSG), NULL);
	pb__sshsig_verify(s, &s->key, "probity@v1", MSG, strlen(MSG), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_sshsig s;
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	if (pb__sshsig_parse((const char *)data, size, &s, &bin, &bin_len, NULL) == PB_OK) {
		check(&s);
		pb__sshsig_release(&s);
		char *arm = pb__sshsig_armour(bin, bin_len);
		uint8_t *bin2 = NULL;
		size_t bin2_len = 0;
		if (!arm || pb__sshsig_parse(arm, strlen(arm), &s, &bin2, &bin2_len, NULL) != PB_OK)
			abort();
		if (bin2_len != bin_len || memcmp(bin, bin2, bin_len) != 0)
			abort();
		pb__sshsig_release(&s);
		free(bin2);
		free(arm);
		free(bin);
	}
	if (pb__sshsig_decode(data, size, &s, NULL) == PB_OK) {
		check(&s);
		pb__sshsig_release(&s);
	}
	return 0;
}
