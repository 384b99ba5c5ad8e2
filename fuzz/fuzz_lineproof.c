/* fuzz_lineproof.c - the line-proof bundle reader (pb_line_proof_check_text)
 * on arbitrary manifests: it must never crash, hang or read a chunk name that
 * leaves the bundle, and must refuse what does not prove. Input: the root
 * ("mth-sha256:C:HEX"), a newline, then manifest.json. A chunk file's bytes
 * are its name (the only names accepted are [A-Za-z0-9._-]), so that a seed
 * can carry a bundle that verifies: fuzz/corpus/lineproof/ holds bundles
 * built that way, with good and broken proofs, and a real manifest written
 * by probity evidence prove. */
#include <stdlib.h>
#include <string.h>

#include "probity.h"

static bool chunk(void *ctx, const char *name, struct pb_buf *out)
{
	(void)ctx;
	if (strchr(name, '/') || !strcmp(name, "..") || !strncmp(name, "missing", 7))
		return false;
	return pb_buf_add(out, name, strlen(name)) == PB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	if (!nl || (size_t)(nl - (const char *)data) > 200)
		return 0;
	char root[256];
	size_t rl = (size_t)(nl - (const char *)data);
	memcpy(root, data, rl);
	root[rl] = '\0';
	char *json = NULL;
	struct pb_error err = { 0 };
	const char *m = nl + 1;
	size_t mn = size - rl - 1;
	enum pb_status st = pb_line_proof_check_text(m, mn, root, chunk, NULL, &json, &err);
	if ((st == PB_OK) != (json != NULL))
		abort();
	free(json);
	return 0;
}
