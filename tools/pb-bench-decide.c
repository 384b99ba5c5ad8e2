/* pb-bench-decide.c - the decision-table benchmark (bench/decide/run.sh).
 *
 * Publishes a deterministic set of N plan rules (default 100,000: plans of two
 * disables and a keep, each naming one or two billing accounts) into a fresh
 * workspace, then measures: compiling the version (median of 5), and deciding
 * M prepared requests (default 1,000,000, 80% for accounts under a plan, all
 * with catalog spellings of services and regions) on one thread, best of 5.
 * The floor is the same loop over requests for accounts with no rules (one
 * hash probe and out). Times of the decision loops are the thread's CPU
 * time (best of ROUNDS), so that a busy shared machine counts less. Prints
 * one "name: value" line per figure.
 *
 * usage: pb-bench-decide WS CATALOG_DIR [RULES] [REQUESTS] [ROUNDS]
 */
#include "decide/entitlements.h"
#include "../tests/tools/logged.h" /* versions are enforced only when logged */

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

/* CPU time of this thread: on a shared machine, the time others take the
 * core is not ours (their cache pollution still is). */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* "0000".."9999", for writing account ids quickly. */
static char digits4[10000][4];

/* "acct-0001234" (or other-/none- for indices from 10,000,000) into buf,
 * computed rather than copied so that the request's bytes are hot, as they
 * are in a server that has just read them. */
static inline size_t account_text(char *buf, uint32_t idx, const char *a, size_t alen,
                                  const char *b, size_t blen)
{
	const char *pre = a;
	size_t n = alen;
	if (idx >= 10000000) {
		pre = b;
		n = blen;
		idx -= 10000000;
	}
	memcpy(buf, pre, 8); /* prefixes are 8-byte arrays (pfx()); buf has room */
	memcpy(buf + n, digits4[idx / 10000] + 1, 3);
	memcpy(buf + n + 3, digits4[idx % 10000], 4);
	return n + 7;
}

/* Account id prefixes, padded to 8 bytes so that one word copies them. */
struct pfx {
	char s[8];
	size_t n;
};
static const struct pfx P_ACCT = { "acct-", 5 }, P_OTHER = { "other-", 6 }, P_NONE = { "none-", 5 };

/* One request of the benchmark: indices into the account population and
 * the service and region spellings. */
struct breq {
	uint32_t acct;
	uint8_t svc, reg;
};

static size_t svclen[PB_ARRAY_LEN(svcs)], reglen[PB_ARRAY_LEN(regions)];

/* A server decides on bytes it has just read: each loop copies a request's
 * strings into a hot buffer first, as the server's input struct does, so
 * that the figure is not the cache misses of a 1M-request array. The loops
 * are functions of their own so that an instruction count can be read per
 * loop (valgrind --tool=callgrind; see bench/decide/run.sh). */
/* A ring of request buffers: request i's account id is written AHEAD
 * iterations before it is decided, as a server's bytes arrive before it
 * reads them (deciding on bytes stored a few instructions earlier would
 * measure the store-forwarding stalls of the benchmark's own writes). */
#define RING 16u
#define AHEAD 8u
static char ring[RING][32];

/* Writes request i's account id into its ring slot; returns its length.
 * Not inlined, so that every loop pays the same for it. */
static __attribute__((noinline)) size_t prepare(const struct breq *r, size_t i,
                                                const struct pfx *a, const struct pfx *b)
{
	return account_text(ring[i % RING], r[i].acct, a->s, a->n, b->s, b->n);
}

static inline struct pb_decide_request request(const struct breq *r, size_t i, size_t alen)
{
	struct pb_decide_request h = { { ring[i % RING], alen }, { NULL, 0 },
		                       { svcs[r[i].svc], svclen[r[i].svc] },
		                       { regions[r[i].reg], reglen[r[i].reg] }, { NULL, 0 },
		                       { NULL, 0 }, 1760000000 };
	return h;
}

static inline __attribute__((always_inline)) size_t run(const struct pb_decider *d,
                                                        const struct breq *r, size_t nreq,
                                                        const struct pfx *a, const struct pfx *b)
{
	struct pb_decision out;
	size_t dn = 0, len[RING];
	for (size_t i = 0; i < AHEAD && i < nreq; i++)
		len[i % RING] = prepare(r, i, a, b);
	for (size_t i = 0; i < nreq; i++) {
		if (i + AHEAD < nreq)
			len[(i + AHEAD) % RING] = prepare(r, i + AHEAD, a, b);
		struct pb_decide_request h = request(r, i, len[i % RING]);
		pb_decide(d, &h, &out);
		dn += !out.allow;
	}
	return dn;
}

/* The mix: 80% for accounts under rules. */
static __attribute__((noinline)) size_t loop_decide(const struct pb_decider *d,
                                                    const struct breq *r, size_t nreq)
{
	return run(d, r, nreq, &P_ACCT, &P_OTHER);
}

/* The floor: requests for accounts under no plan (one probe and out). */
static __attribute__((noinline)) size_t loop_floor(const struct pb_decider *d,
                                                   const struct breq *r, size_t nreq)
{
	return run(d, r, nreq, &P_ACCT, &P_NONE);
}

/* The loop's own work without the decision (to tell the two apart). */
static __attribute__((noinline)) size_t loop_prep(const struct breq *r, size_t nreq)
{
	size_t x = 0, len[RING];
	for (size_t i = 0; i < AHEAD && i < nreq; i++)
		len[i % RING] = prepare(r, i, &P_ACCT, &P_OTHER);
	for (size_t i = 0; i < nreq; i++) {
		if (i + AHEAD < nreq)
			len[(i + AHEAD) % RING] = prepare(r, i + AHEAD, &P_ACCT, &P_OTHER);
		struct pb_decide_request h = request(r, i, len[i % RING]);
		__asm__ volatile("" : : "r"(&h) : "memory");
		x += h.account.len;
	}
	return x;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: pb-bench-decide WS CATALOG_DIR [RULES] [REQUESTS] [ROUNDS]\n");
		return 2;
	}
	size_t nrules = argc > 3 ? strtoul(argv[3], NULL, 10) : 100000;
	size_t nreq = argc > 4 ? strtoul(argv[4], NULL, 10) : 1000000;
	int rounds = argc > 5 ? atoi(argv[5]) : 5;
	if (rounds < 1)
		rounds = 1;
	struct pb_error err = { 0 };
	struct pb_ws *ws = NULL;
	struct pb_catalog *cat = NULL;
	if (pb_ws_init(argv[1], &(struct pb_ws_init_options){ .unsigned_actors = true }, &err) || pb_ws_open(argv[1], 0, &ws, &err) ||
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
	if (pb_test_publish_logged(ws, "benchmark", rules, nrules, "benchmark", NULL, &err)) {
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
	/* requests: 80% for accounts under a plan, 20% for other accounts; the
	 * floor's all for accounts under none */
	for (int i = 0; i < 10000; i++)
		for (int k = 0, v = i; k < 4; k++, v /= 10)
			digits4[i][3 - k] = (char)('0' + v % 10);
	for (size_t i = 0; i < PB_ARRAY_LEN(svcs); i++)
		svclen[i] = strlen(svcs[i]);
	for (size_t i = 0; i < PB_ARRAY_LEN(regions); i++)
		reglen[i] = strlen(regions[i]);
	const uint32_t npool = 65536;
	struct breq *q = calloc(nreq, sizeof(*q)), *qf = calloc(nreq, sizeof(*qf));
	for (size_t i = 0; i < nreq; i++) {
		if (rnd(10) < 8)
			q[i].acct = rnd((uint32_t)naccts);
		else
			q[i].acct = 10000000 + rnd(npool);
		q[i].svc = (uint8_t)rnd(10);
		q[i].reg = (uint8_t)rnd(8);
		qf[i] = q[i];
		qf[i].acct = 10000000 + rnd(npool);
	}
	size_t denies = 0;
	double best = 1e9, bestf = 1e9, bestp = 1e9;
	for (int round = 0; round <= rounds; round++) { /* round 0 warms the memo */
		t0 = cpu_now();
		size_t dn = loop_decide(d, q, nreq);
		double t = cpu_now() - t0;
		if (round && t < best)
			best = t;
		denies = dn;
		t0 = cpu_now();
		loop_floor(d, qf, nreq);
		t = cpu_now() - t0;
		if (round && t < bestf)
			bestf = t;
		t0 = cpu_now();
		loop_prep(q, nreq);
		t = cpu_now() - t0;
		if (round && t < bestp)
			bestp = t;
	}
	printf("rules: %zu (%zu plans, %zu accounts)\n", nrules, nplans, naccts);
	printf("publish: %.3f s\n", t_pub);
	printf("load: %.3f s\n", t_load);
	printf("compile: %.3f s (median of 5; min %.3f, max %.3f)\n", comp[2], comp[0], comp[4]);
	printf("decide: %.1f ns/decision, %.1f M decisions/s (best of %d, %zu requests, %.0f%% deny)\n",
	       best / (double)nreq * 1e9, (double)nreq / best / 1e6, rounds, nreq, 100.0 * (double)denies / (double)nreq);
	printf("floor (account under no plan): %.1f ns/decision\n", bestf / (double)nreq * 1e9);
	printf("loop overhead (no decision): %.1f ns/request\n", bestp / (double)nreq * 1e9);
	printf("denies: %zu of %zu\n", denies, nreq);
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_catalog_free(cat);
	pb_ws_close(ws);
	free(rules); free(acct); free(accp); free(plan); free(vals); free(q); free(qf);
	return 0;
}
