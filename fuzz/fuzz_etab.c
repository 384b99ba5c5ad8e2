/* fuzz_etab.c - compiled entitlements files (lib/decide/etab.c) on arbitrary
 * bytes, without the hash checks a fuzzer cannot forge, so that every bounds
 * check behind them is reached. Invariant: a file that opens answers every
 * request without reading outside itself, and a rule a decision names is
 * one of its rules. Needs data/catalog (run from the repository root). */
#include <stdlib.h>
#include <string.h>

#include "decide/decider.h"

static struct pb_catalog *cat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cat && pb_catalog_load("data/catalog", &cat, NULL))
		abort();
	struct pb_etab *t = NULL;
	if (pb__etab_open_mem(data, size, cat, &t, NULL) != PB_OK)
		return 0;
	static const char *const accts[] = { "IMOD-7F3A", "imod-7f3a", "A1", "acct-0000001", "x" };
	static const char *const svcs[] = { "Storage Accounts", "Azure AI Services", "Key Vault", "?" };
	static const char *const regs[] = { "westeurope", "eastus", "northeurope", "?" };
	for (size_t i = 0; i < 5 * 4 * 4; i++) {
		struct pb_decide_request q = { pb_cstr(accts[i % 5]), pb_str_of(NULL, 0),
			                       pb_cstr(svcs[i / 5 % 4]), pb_cstr(regs[i / 20 % 4]),
			                       pb_str_of(NULL, 0), pb_str_of(NULL, 0), 1700000000 };
		if (i % 7 == 0)
			q.subaccount = pb_cstr("s1");
		struct pb_decision d;
		pb_decide(pb_etab_decider(t), &q, &d);
		if (d.rule && d.rule_index >= pb_etab_count(t))
			abort();
		char buf[8192];
		pb_decision_json_cached(pb_etab_decider(t), &d, &q, "f", NULL, buf, sizeof(buf));
	}
	pb_etab_free(t);
	return 0;
}
