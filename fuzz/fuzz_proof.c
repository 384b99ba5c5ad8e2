/* fuzz_proof.c - the proof verifiers on arbitrary proofs, indexes and sizes
 * (they must never crash or accept garbage for a tree they did not see), and
 * the generator on trees built from the input (what it proves must verify,
 * and one flipped bit must not). Input: 8-byte index, 8-byte size, 32-byte
 * leaf, 32-byte root, then up to 64 proof hashes. */
#include <stdlib.h>
#include <string.h>

#include "probity.h"

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

struct tree {
	uint8_t (*leaf)[32];
	uint64_t n;
};

static void mth(const struct tree *t, uint64_t lo, uint64_t hi, uint8_t out[32])
{
	if (hi - lo == 1) {
		memcpy(out, t->leaf[lo], 32);
		return;
	}
	uint64_t k = 1;
	while (k * 2 < hi - lo)
		k *= 2;
	uint8_t l[32], r[32];
	mth(t, lo, lo + k, l);
	mth(t, lo + k, hi, r);
	pb_tlog_node_hash(l, r, out);
}

static enum pb_status get(void *ctx, unsigned level, uint64_t index, uint8_t out[32],
                          struct pb_error *err)
{
	(void)err;
	const struct tree *t = ctx;
	uint64_t lo = index << level, hi = lo + (UINT64_C(1) << level);
	if (hi > t->n)
		return PB_EINVAL;
	mth(t, lo, hi, out);
	return PB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 80)
		return 0;
	uint64_t a = be64(data), b = be64(data + 8);
	const uint8_t *leaf = data + 16, *root = data + 48;
	size_t np = (size - 80) / 32;
	if (np > PB_TLOG_MAX_PROOF)
		np = PB_TLOG_MAX_PROOF;
	uint8_t (*proof)[32] = malloc(np ? np * 32 : 1);
	if (!proof)
		return 0;
	memcpy(proof, data + 80, np * 32);
	pb_tlog_verify_inclusion(a, b, leaf, (const uint8_t(*)[32])proof, np, root, NULL);
	pb_tlog_verify_consistency(a, b, (const uint8_t(*)[32])proof, np, leaf, root, NULL);
	free(proof);

	/* a tree of 1..64 leaves from the input */
	struct tree t = { malloc(64 * 32), (size_t)(data[0] % 64) + 1 };
	if (!t.leaf)
		return 0;
	for (uint64_t i = 0; i < t.n; i++)
		pb_tlog_leaf_hash(data + (i % size), size - (i % size), t.leaf[i]);
	uint8_t r[32], p[PB_TLOG_MAX_PROOF][32];
	size_t n;
	mth(&t, 0, t.n, r);
	uint64_t idx = data[1] % t.n, m = (uint64_t)(data[2] % t.n) + 1;
	if (pb_tlog_prove_inclusion(idx, t.n, get, &t, p, &n, NULL) != PB_OK ||
	    pb_tlog_verify_inclusion(idx, t.n, t.leaf[idx], (const uint8_t(*)[32])p, n, r, NULL) != PB_OK)
		abort();
	if (n > 0) {
		p[data[3] % n][data[4] % 32] ^= (uint8_t)(1u << (data[5] % 8));
		if (pb_tlog_verify_inclusion(idx, t.n, t.leaf[idx], (const uint8_t(*)[32])p, n, r,
		                             NULL) == PB_OK)
			abort();
	}
	uint8_t rm[32];
	mth(&t, 0, m, rm);
	if (pb_tlog_prove_consistency(m, t.n, get, &t, p, &n, NULL) != PB_OK ||
	    pb_tlog_verify_consistency(m, t.n, (const uint8_t(*)[32])p, n, rm, r, NULL) != PB_OK)
		abort();
	free(t.leaf);
	return 0;
}
