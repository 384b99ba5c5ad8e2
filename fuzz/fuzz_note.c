/* fuzz_note.c - the signed-note, checkpoint, vkey, signing-key and proof
 * document parsers on arbitrary bytes. Invariants: a parsed checkpoint
 * without extensions formats back to the same text; a parsed vkey formats
 * back to the input; nothing crashes or leaks. */
#include <stdlib.h>
#include <string.h>

#include "probity.h"

#define TESS_VKEY "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct pb_note note;
	if (pb_note_open(s, size, NULL, 0, &note, NULL) == PB_OK) {
		struct pb_checkpoint cp;
		pb_checkpoint_parse(note.text.ptr, note.text.len, &cp, NULL);
		pb_note_release(&note);
	}
	struct pb_vkey k;
	if (pb_vkey_parse(TESS_VKEY, strlen(TESS_VKEY), &k, NULL) == PB_OK &&
	    pb_note_open(s, size, &k, 1, &note, NULL) == PB_OK)
		pb_note_release(&note);
	struct pb_checkpoint cp;
	if (pb_checkpoint_parse(s, size, &cp, NULL) == PB_OK && cp.nextensions == 0) {
		char buf[PB_NOTE_NAME_MAX + 128];
		size_t n = pb_checkpoint_format(&cp, buf, sizeof(buf));
		if (n != size || memcmp(buf, s, n) != 0)
			abort();
	}
	if (pb_vkey_parse(s, size, &k, NULL) == PB_OK) {
		char buf[PB_NOTE_NAME_MAX + 80];
		pb_vkey_format(&k, buf, sizeof(buf));
		if (strlen(buf) != size || memcmp(buf, s, size) != 0)
			abort();
	}
	struct pb_str e = { s, size };
	pb_audit_entry_check(NULL, 0, &e, NULL);
	struct pb_signer sg;
	if (pb_signer_parse(s, size, &sg, NULL) == PB_OK)
		pb_signer_release(&sg);
	struct pb_tlog_proof_doc *d = malloc(sizeof(*d));
	if (d && pb_tlog_proof_doc_parse(s, size, d, NULL) == PB_OK &&
	    pb_note_open(d->note.ptr, d->note.len, NULL, 0, &note, NULL) == PB_OK)
		pb_note_release(&note);
	free(d);
	return 0;
}
