/* pb-bench-decide.c - the decision-table benchmark (bench/decide/run.sh).
 *
 * Publishes a deterministic set of N plan rules (default 100,000: plans of two
 * disables and a keep, each naming one or two billing accounts) into a fresh
 * workspace, then measures: compiling the version (median of 5), and deciding
 * M prepared requests (default 1,000,000, 80% for accounts under a plan, all
 * with catalog spellings of services and regions) on one thread, best of 5.
 * The floor is the same loop over requests for accounts with no rules (one
 * hash probe and out). Prints one "name: value" line per figure.
 *
 * usage: pb-bench-decide WS CATALOG_DIR [RULES] [REQUESTS]
 */
#include "entitlements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static const char *const cats[] = { "Storage", "AI and Machine Learning", "Compute", "Databases", "Networking" };
static const char *const countries[] = { "NL", "IE", "DE", "US", "FR", "GB" };
static const char *const caps2[] = { "speech-to-text", "translation", "object-storage", "llm", "face-recognition" };
static const char *const svcs[] = { "Storage Accounts", "Azure AI Services", "Key Vault", "Virtual Machines",
	"Amazon Simple Storage Service", "Amazon Transcribe", "Microsoft Defender for Cloud", "Azure Backup",
	"Amazon Translate", "Cloud Storage" };
static const char *const regions[] = { "westeurope", "northeurope", "eastus", "eu-west-1", "us-east-1",
	"europe-west4", "germanywestcentral", "West Europe" };

/* "acct-0001234" (or other-/none- for indices from 10,000,000) into buf,
 * computed rather than copied so that the request's bytes are hot, as they
 * are in a server that has just read them. */
static size_t account_text(char *buf, uint32_t idx, const char *a, const char *b)
{
	const char *pre = idx >= 10000000 ? b : a;
	size_t n = strlen(pre);
	memcpy(buf, pre, n);
	if (idx >= 10000000)
		idx -= 10000000;
	for (int k = 6; k >= 0; k--) {
		buf[n + (size_t)k] = (char)('0' + idx % 10);
		idx /= 10;
	}
	return n + 7;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pb-bench-decide WS CATALOG_DIR [RULES] [REQUESTS]\n");
		return 2;
	}
	size_t nrules = argc > 3 ? strtoul(argv[3], NULL, 10) : 100000;
	size_t nreq = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000000;
	struct pb_error err = { 0 };
	struct pb_ws *ws = NULL;
	struct pb_catalog *cat = NULL;
	if (pb_ws_init(argv[1], NULL, &err) || pb_ws_open(argv[1], 0, &ws, &err) ||
	    pb_catalog_load(argv[2], &cat, &err)) {
		fprintf(stderr, "pb-bench-decide: %s\n", err.message);
		return 1;
	}
	size_t nplans = (nrules + 2) / 3;
	struct pb_rule *rules = calloc(nrules, sizeof(*rules));
	char (*acct)[24] = calloc(nplans * 2 + 1, sizeof(*acct));
	const char **accp = calloc(nplans * 2 + 1, sizeof(char *));
	char (*plan)[16] = calloc(nplans, sizeof(*plan));
	static const char *const security[] = { "Security" };
	const char **vals = calloc(nrules * 4, sizeof(char *));
	size_t naccts = 0;
	for (size_t p = 0, r = 0; p < nplans && r < nrules; p++) {
		snprintf(plan[p], sizeof(plan[p]), "%zu", p + 1);
		size_t na = 1 + rnd(2);
		size_t a0 = naccts;
		for (size_t k = 0; k < na; k++) {
			snprintf(acct[naccts], sizeof(acct[0]), "acct-%07zu", naccts);
			accp[naccts] = acct[naccts];
			naccts++;
		}
		for (int j = 0; j < 3 && r < nrules; j++, r++) {
			struct pb_rule *x = &rules[r];
			x->plan = plan[p];
			x->case_ref = "bench";
			x->from = PB_TIME_OPEN_START;
			x->until = PB_TIME_OPEN_END;
			x->values[PB_DIM_ACCOUNT] = &accp[a0];
			x->nvalues[PB_DIM_ACCOUNT] = na;
			const char **v = &vals[r * 4];
			if (j == 0) {
				x->effect = PB_EFFECT_DISABLE;
				v[0] = cats[rnd(5)];
				v[1] = countries[rnd(6)];
				x->values[PB_DIM_CATEGORY] = &v[0];
				x->nvalues[PB_DIM_CATEGORY] = 1;
				x->values[PB_DIM_COUNTRY] = &v[1];
				x->nvalues[PB_DIM_COUNTRY] = 1;
			} else if (j == 1) {
				x->effect = PB_EFFECT_DISABLE;
				v[0] = caps2[rnd(5)];
				v[1] = caps2[rnd(5)];
				x->values[PB_DIM_CAPABILITY] = &v[0];
				x->nvalues[PB_DIM_CAPABILITY] = 2;
				if (rnd(4) == 0)
					x->from = 1700000000; /* some with effective times */
			} else {
				x->effect = PB_EFFECT_KEEP;
				x->values[PB_DIM_CATEGORY] = security;
				x->nvalues[PB_DIM_CATEGORY] = 1;
			}
		}
	}
	double t0 = now();
	if (pb__entitlements_publish(ws, rules, nrules, "benchmark", NULL, &err)) {
		fprintf(stderr, "pb-bench-decide: %s\n", err.message);
		return 1;
	}
	double t_pub = now() - t0;
	struct pb_entitlements *e = NULL;
	t0 = now();
	if (pb_entitlements_load(ws, 0, &e, &err)) {
		fprintf(stderr, "pb-bench-decide: %s\n", err.message);
		return 1;
	}
	double t_load = now() - t0;
	double comp[5];
	struct pb_decider *d = NULL;
	for (int i = 0; i < 5; i++) {
		pb_decider_free(d);
		t0 = now();
		if (pb_decider_new(e, cat, &d, &err)) {
			fprintf(stderr, "pb-bench-decide: %s\n", err.message);
			return 1;
		}
		comp[i] = now() - t0;
	}
	qsort(comp, 5, sizeof(double), cmpd);
	/* requests */
	struct pb_decide_request *q = calloc(nreq, sizeof(*q)), *qf = calloc(nreq, sizeof(*qf));
	/* strings live in pools the size of a real account population, not one
	 * cold copy per request */
	const size_t npool = 65536;
	char (*other)[24] = calloc(npool, sizeof(*other)), (*none)[24] = calloc(npool, sizeof(*none));
	for (size_t i = 0; i < npool; i++) {
		snprintf(other[i], sizeof(other[i]), "other-%07zu", i);
		snprintf(none[i], sizeof(none[i]), "none-%07zu", i);
	}
	uint32_t *aidx = calloc(nreq, sizeof(uint32_t)), *fidx = calloc(nreq, sizeof(uint32_t));
	for (size_t i = 0; i < nreq; i++) {
		const char *a;
		if (rnd(10) < 8) {
			aidx[i] = rnd((uint32_t)naccts);
			a = acct[aidx[i]];
		} else {
			aidx[i] = 10000000 + rnd((uint32_t)npool);
			a = other[aidx[i] - 10000000];
		}
		const char *s = svcs[rnd(10)], *g = regions[rnd(8)];
		q[i] = (struct pb_decide_request){ pb__cstr(a), { NULL, 0 }, pb__cstr(s), pb__cstr(g),
			                           { NULL, 0 }, { NULL, 0 }, 1760000000 };
		qf[i] = q[i];
		fidx[i] = rnd((uint32_t)npool);
		qf[i].account = pb__cstr(none[fidx[i]]);
	}
	struct pb_decision out;
	size_t denies = 0;
	/* A server decides on bytes it has just read: copy each request's strings
	 * into a hot buffer first, as the server's input struct does, so that the
	 * figure is not the cache misses of a 1M-request array. */
	char hot[3][64];
	double best = 1e9, bestf = 1e9;
	for (int round = 0; round < 6; round++) { /* round 0 warms the memo */
		size_t dn = 0;
		t0 = now();
		for (size_t i = 0; i < nreq; i++) {
			struct pb_decide_request h = q[i];
			h.account.len = account_text(hot[0], aidx[i], "acct-", "other-");
			memcpy(hot[1], h.service.ptr, h.service.len);
			memcpy(hot[2], h.region.ptr, h.region.len);
			h.account.ptr = hot[0];
			h.service.ptr = hot[1];
			h.region.ptr = hot[2];
			pb_decide(d, &h, &out);
			dn += !out.allow;
		}
		double t = now() - t0;
		if (round && t < best)
			best = t;
		denies = dn;
		t0 = now();
		for (size_t i = 0; i < nreq; i++) {
			struct pb_decide_request h = qf[i];
			h.account.len = account_text(hot[0], 10000000 + fidx[i], "acct-", "none-");
			memcpy(hot[1], h.service.ptr, h.service.len);
			memcpy(hot[2], h.region.ptr, h.region.len);
			h.account.ptr = hot[0];
			h.service.ptr = hot[1];
			h.region.ptr = hot[2];
			pb_decide(d, &h, &out);
			dn += !out.allow;
		}
		t = now() - t0;
		if (round && t < bestf)
			bestf = t;
	}
	printf("rules: %zu (%zu plans, %zu accounts)\n", nrules, nplans, naccts);
	printf("publish: %.3f s\n", t_pub);
	printf("load: %.3f s\n", t_load);
	printf("compile: %.3f s (median of 5; min %.3f, max %.3f)\n", comp[2], comp[0], comp[4]);
	printf("decide: %.1f ns/decision, %.1f M decisions/s (best of 5, %zu requests, %.0f%% deny)\n",
	       best / (double)nreq * 1e9, (double)nreq / best / 1e6, nreq, 100.0 * (double)denies / (double)nreq);
	printf("floor (account under no plan): %.1f ns/decision\n", bestf / (double)nreq * 1e9);
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_catalog_free(cat);
	pb_ws_close(ws);
	free(rules); free(acct); free(accp); free(plan); free(vals); free(q); free(qf); free(other); free(none); free(aidx); free(fidx);
	return 0;
}
