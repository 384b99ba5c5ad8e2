/* fuzz_report.c - the case report's offline verifier (pb_report_case_verify)
 * on arbitrary pages: a report is handed to an auditor and comes back from
 * anywhere, so the verifier must never crash, hang or read outside the page,
 * and must refuse what does not verify. The key is fixed (the signer of a
 * zero seed, origin test.example/log): a page signed with another key gets as
 * far as the signature; fuzz/corpus/report/ holds a real report written by
 * `probity report case` on the plans demo and pieces of it, and a PDF with
 * its evidence attached signed with the target's key (signed.pdf, verifies),
 * truncated and with an entry byte edited: the verifier reads a PDF's
 * cross-reference and attachment, pdfattach.c. */
#include <stdlib.h>
#include <string.h>

#include "probity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_vkey key;
	static bool have;
	if (!have) {
		uint8_t seed[32] = { 0 };
		struct pb_signer sg;
		if (pb_signer_from_seed("test.example/log", 0x01, seed, &sg, NULL) != PB_OK)
			abort();
		key = sg.vkey;
		pb_signer_release(&sg);
		have = true;
	}
	struct pb_error err = { 0 };
	struct pb_case_report_check out;
	enum pb_status st = pb_report_case_verify((const char *)data, size, &key, &out, &err);
	if (st != PB_OK && !err.message[0])
		abort(); /* a refusal says why */
	return 0;
}
