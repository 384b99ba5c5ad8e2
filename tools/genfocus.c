/* genfocus.c - a deterministic generator of synthetic FOCUS 1.2 usage exports.
 *
 *   genfocus demo [--months N] [--end YYYY-MM] [--seed N] > export.csv
 *       A provider's export for a few dozen customers over N months (24 by
 *       default), daily rows per sub-account, service, meter and region. One
 *       government customer's object storage in westeurope grows to petabytes
 *       from a new sub-account while its speech-to-text and translation usage
 *       grows to industrial scale; a media company stores a lot without any
 *       speech; a hospital runs moderate speech-to-text; the rest are ordinary
 *       (steady growth, noise, some services starting mid-way: no other
 *       change). --seed N draws other ordinary customers (0: the demo's).
 *   genfocus bench --size BYTES [--seed N] > export.csv
 *       The benchmark file of BENCH.md: ~750-byte rows of 57 columns, every row
 *       with quoted fields holding commas and doubled quotes, JSON tags, 20
 *       regions, a few hundred sub-accounts, one month of hourly rows.
 *
 * Same arguments, same bytes: the random numbers come from a fixed-seed
 * splitmix64, and nothing depends on the clock or the locale.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static uint64_t rng_state = 0x5eed;
static uint64_t demo_seed; /* demo --seed: other ordinary customers */

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double urand(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* Approximately normal noise (sum of uniforms), mean 0, sd 1. */
static double nrand(void)
{
	double s = 0;
	for (int i = 0; i < 12; i++)
		s += urand();
	return s - 6.0;
}

static const char *const columns[] = {
	"AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName",
	"BillingAccountType", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
	"CapacityReservationId", "CapacityReservationStatus", "ChargeCategory", "ChargeClass",
	"ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
	"CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
	"CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
	"CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
	"ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost",
	"ListUnitPrice", "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
	"PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "PricingQuantity",
	"PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
	"ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "ServiceSubcategory",
	"SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName",
	"SubAccountType", "Tags",
};

/* One billed product: service, meter, unit and price per unit. */
struct product {
	const char *service, *category, *subcategory, *meter, *unit, *rtype, *provider_ns;
	double price; /* per unit */
	const char *sku;
};

static const struct product products[] = {
	{ "Storage Accounts", "Storage", "Object Storage", "Hot LRS Data Stored", "GB-Months",
	  "storageAccounts", "Microsoft.Storage", 0.0184, "DZH318Z0BNVX" },
	{ "Storage Accounts", "Storage", "Object Storage", "Cool LRS Data Stored", "GB-Months",
	  "storageAccounts", "Microsoft.Storage", 0.01, "DZH318Z0BNVW" },
	{ "Azure AI Services", "AI and Machine Learning", "AI Platforms", "Speech to Text Standard",
	  "Audio Hours", "accounts", "Microsoft.CognitiveServices", 1.0, "DZH318Z0BQ4M" },
	{ "Azure AI Services", "AI and Machine Learning", "AI Platforms", "S1 Translator Text",
	  "1M Characters", "accounts", "Microsoft.CognitiveServices", 10.0, "DZH318Z0BQ5A" },
	{ "Virtual Machines", "Compute", "Virtual Machines", "D4s v5", "Hours", "virtualMachines",
	  "Microsoft.Compute", 0.192, "DZH318Z0BQPS" },
	{ "Azure SQL Database", "Databases", "Relational Databases", "vCore", "Hours", "servers",
	  "Microsoft.Sql", 0.505, "DZH318Z0BQ8K" },
	{ "Azure Kubernetes Service", "Compute", "Containers", "Standard Uptime SLA", "Hours",
	  "managedClusters", "Microsoft.ContainerService", 0.1, "DZH318Z0BQ9C" },
	{ "Key Vault", "Security", "Secret Management", "Operations", "10K Transactions", "vaults",
	  "Microsoft.KeyVault", 0.03, "DZH318Z0BQ7X" },
	{ "Microsoft Defender for Cloud", "Security", "Security Posture Management",
	  "Standard Node", "Hours", "pricings", "Microsoft.Security", 0.02, "DZH318Z0BQ2D" },
	{ "Azure Media Services", "Media", "Media Streaming", "Standard Encoding Output Minutes",
	  "Minutes", "mediaservices", "Microsoft.Media", 0.015, "DZH318Z0BQ3E" },
	{ "Content Delivery Network", "Networking", "Content Delivery", "Standard Data Transfer",
	  "GB", "profiles", "Microsoft.Cdn", 0.081, "DZH318Z0BQ1F" },
	{ "Functions", "Compute", "Serverless Compute", "Execution Time", "GB-Seconds", "sites",
	  "Microsoft.Web", 0.000016, "DZH318Z0BQ0G" },
};
enum { P_HOT, P_COOL, P_STT, P_TRANSLATE, P_VM, P_SQL, P_AKS, P_KV, P_DEFENDER, P_MEDIA, P_CDN,
       P_FUNC, P_COUNT };

static const struct {
	const char *id, *name;
} regions[] = {
	{ "westeurope", "West Europe" },       { "northeurope", "North Europe" },
	{ "germanywestcentral", "Germany West Central" }, { "francecentral", "France Central" },
	{ "uksouth", "UK South" },             { "swedencentral", "Sweden Central" },
	{ "eastus", "East US" },               { "eastus2", "East US 2" },
	{ "westus2", "West US 2" },            { "centralus", "Central US" },
	{ "canadacentral", "Canada Central" }, { "brazilsouth", "Brazil South" },
	{ "japaneast", "Japan East" },         { "southeastasia", "Southeast Asia" },
	{ "australiaeast", "Australia East" }, { "centralindia", "Central India" },
	{ "koreacentral", "Korea Central" },   { "southafricanorth", "South Africa North" },
	{ "uaenorth", "UAE North" },           { "switzerlandnorth", "Switzerland North" },
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

/* ---- CSV output ------------------------------------------------------- */

static char *obuf;
static size_t olen, ocap;
static uint64_t total_out;

static void out_raw(const char *s, size_t n)
{
	total_out += n;
	if (olen + n > ocap) {
		fwrite(obuf, 1, olen, stdout);
		olen = 0;
	}
	memcpy(obuf + olen, s, n);
	olen += n;
}

static void out_field(const char *s, int first)
{
	if (!first)
		out_raw(",", 1);
	if (!s) /* null */
		return;
	bool q = strpbrk(s, ",\"\n\r") != NULL;
	if (!q) {
		out_raw(s, strlen(s));
		return;
	}
	out_raw("\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			out_raw("\"", 1);
		out_raw(p, 1);
	}
	out_raw("\"", 1);
}

static void out_header(void)
{
	for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
		out_field(columns[i], i == 0);
	out_raw("\n", 1);
}

struct row {
	const char *account, *account_name, *sub, *sub_name, *region, *region_name;
	const struct product *p;
	char resource_id[256], resource_name[96], tags[256], desc[160];
	int64_t start, end; /* seconds */
	double quantity;
	double discount; /* 0..1 off list */
};

static void fmt_num(char *buf, size_t cap, double v, int places)
{
	snprintf(buf, cap, "%.*f", places, v);
}

static void out_row(const struct row *r)
{
	char billed[40], list[40], qty[40], unit_price[40], eff_price[40], t0[24], t1[24], bp0[24],
		bp1[24], sku_price[64], inv[32], price_details[96];
	double list_cost = r->quantity * r->p->price;
	double billed_cost = list_cost * (1.0 - r->discount);
	fmt_num(billed, sizeof(billed), billed_cost, 10);
	fmt_num(list, sizeof(list), list_cost, 10);
	fmt_num(qty, sizeof(qty), r->quantity, 6);
	fmt_num(unit_price, sizeof(unit_price), r->p->price, 6);
	fmt_num(eff_price, sizeof(eff_price), r->p->price * (1.0 - r->discount), 6);
	pb_time_format(r->start, t0);
	pb_time_format(r->end, t1);
	int y;
	unsigned m, d;
	pb__civil_from_days(pb_floordiv(r->start, 86400), &y, &m, &d);
	int64_t mstart = pb__days_from_civil(y, m, 1) * 86400;
	int64_t mend = pb__days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400;
	pb_time_format(mstart, bp0);
	pb_time_format(mend, bp1);
	snprintf(sku_price, sizeof(sku_price), "%s/%s", r->p->sku, r->region);
	snprintf(inv, sizeof(inv), "G%04d%02u-%s", y, m, r->account);
	snprintf(price_details, sizeof(price_details), "{\"x_MeterUnit\": \"%s\", \"x_Tier\": \"%s\"}",
	         r->p->unit, r->discount > 0 ? "committed" : "standard");
	const char *f[] = {
		NULL,                       /* AvailabilityZone */
		billed,                     /* BilledCost */
		r->account, r->account_name, "Billing Account", "EUR", bp1, bp0,
		NULL, NULL,                 /* CapacityReservation */
		"Usage", NULL, r->desc, "Usage-Based", t1, t0,
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, /* CommitmentDiscount* */
		qty, r->p->unit, billed, eff_price, billed, inv, "Microsoft", list, unit_price,
		r->discount > 0 ? "Committed" : "Standard", "EUR", eff_price, billed, unit_price, qty,
		r->p->unit, "Microsoft", "Microsoft", r->region, r->region_name, r->resource_id,
		r->resource_name, r->p->rtype, r->p->category, r->p->service, r->p->subcategory,
		r->p->sku, r->p->meter, price_details, sku_price, r->sub, r->sub_name, "Subscription",
		r->tags,
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		out_field(f[i], i == 0);
	out_raw("\n", 1);
}

static void fill_resource(struct row *r, const char *rg, unsigned n)
{
	snprintf(r->resource_name, sizeof(r->resource_name), "%s-%s-%02u", rg,
	         r->p->rtype[0] == 's' ? "store" : r->p->rtype, n);
	snprintf(r->resource_id, sizeof(r->resource_id),
	         "/subscriptions/%s/resourceGroups/%s/providers/%s/%s/%s", r->sub, rg,
	         r->p->provider_ns, r->p->rtype, r->resource_name);
	snprintf(r->desc, sizeof(r->desc), "%s, %s (\"%s\" tier), per %s", r->p->service, r->p->meter,
	         r->discount > 0 ? "committed" : "standard", r->p->unit);
}

/* ---- demo ------------------------------------------------------------------ */

/* A customer's sub-account and the daily level of one product in one region. */
struct usage_line {
	const char *sub, *sub_name;
	int product;
	int region;
	double level;      /* units per day at the start */
	double growth;     /* monthly growth factor (1.0 = flat) */
	int start_month;   /* first month with usage (0 = from the start) */
	double target;     /* when > 0: grow smoothly from level to target by the last month */
	double weekly;     /* weekday swing (0..1) */
	double noise;      /* relative noise */
};

struct customer {
	const char *account, *name;
	struct usage_line lines[8];
	size_t nlines;
};

/* Builds ordinary customers deterministically. */
static void ordinary(struct customer *c, int i)
{
	static char ids[64][24], names[64][48], subs[64][3][24], subnames[64][3][32];
	static const char *const firms[] = {
		"Alder Logistics", "Birchwood Retail", "Cobalt Games", "Delta Freight", "Elm Street Bank",
		"Fjord Shipping", "Granite Insurance", "Harbor Analytics", "Iris Travel", "Juniper Foods",
		"Kestrel Airlines", "Larch Pharma", "Maple Energy", "Nimbus Software", "Oak Legal",
		"Pine Telecom", "Quartz Mining", "Rowan Schools", "Spruce Motors", "Teak Furniture",
		"Umber Textiles", "Vale Water", "Willow Clinics", "Xenon Labs", "Yarrow Farms",
		"Zephyr Wind", "Acacia Hotels", "Beacon News", "Cedar Realty", "Dune Solar",
	};
	const char *firm = firms[i % 30];
	snprintf(ids[i], sizeof(ids[i]), "EA-%06d", 100100 + i * 37);
	snprintf(names[i], sizeof(names[i]), "%s", firm);
	c->account = ids[i];
	c->name = names[i];
	c->nlines = 0;
	int nsubs = 1 + (int)(rnd() % 3);
	for (int s = 0; s < nsubs; s++) {
		snprintf(subs[i][s], sizeof(subs[i][s]), "%08x-%04x-4%03x-a%03x-%012llx",
		         (unsigned)(rnd() & 0xffffffff), (unsigned)(rnd() & 0xffff),
		         (unsigned)(rnd() & 0xfff), (unsigned)(rnd() & 0xfff),
		         (unsigned long long)(rnd() & 0xffffffffffffULL));
		static const char *const envs[] = { "production", "staging", "data" };
		snprintf(subnames[i][s], sizeof(subnames[i][s]), "%.14s %s", firm, envs[s]);
	}
	int home = (int)(rnd() % NREGIONS);
	static const int pick[] = { P_VM, P_HOT, P_SQL, P_AKS, P_KV, P_FUNC, P_COOL, P_CDN };
	int n = 3 + (int)(rnd() % 4);
	for (int k = 0; k < n && c->nlines < 8; k++) {
		int s = (int)(rnd() % (unsigned)nsubs);
		struct usage_line *u = &c->lines[c->nlines++];
		u->sub = subs[i][s];
		u->sub_name = subnames[i][s];
		u->product = pick[(k + i) % 8];
		u->region = rnd() % 4 == 0 ? (int)(rnd() % NREGIONS) : home;
		switch (u->product) {
		case P_VM:
			u->level = 24.0 * (2 + (double)(rnd() % 40));
			break;
		case P_HOT:
		case P_COOL:
			u->level = 1000.0 * (1 + (double)(rnd() % 200)) / 30.0; /* GB-Months a day */
			break;
		case P_SQL:
		case P_AKS:
			u->level = 24.0 * (1 + (double)(rnd() % 8));
			break;
		case P_KV:
			u->level = 1 + (double)(rnd() % 50);
			break;
		case P_FUNC:
			u->level = 50000 + (double)(rnd() % 500000);
			break;
		default:
			u->level = 100 + (double)(rnd() % 5000);
		}
		u->growth = 1.0 + ((double)(rnd() % 40) - 10.0) / 1000.0; /* -1%..+3% a month */
		u->start_month = rnd() % 5 == 0 ? (int)(rnd() % 12) : 0;
		u->target = 0;
		u->weekly = u->product == P_VM || u->product == P_FUNC ? 0.3 : 0.0;
		u->noise = 0.05;
	}
}

static int demo(int months, int end_year, int end_month)
{
	/* the period: `months` whole months ending with end_year-end_month */
	int y0 = end_year, m0 = end_month - months + 1;
	while (m0 <= 0) {
		m0 += 12;
		y0--;
	}
	int64_t day0 = pb__days_from_civil(y0, (unsigned)m0, 1);
	int64_t day_end = pb__days_from_civil(end_month == 12 ? end_year + 1 : end_year,
	                                      end_month == 12 ? 1 : (unsigned)end_month + 1, 1);

	struct customer cs[40];
	size_t nc = 0;
	/* The flagged customer: a government interior ministry. Its object storage in
	 * West Europe (Netherlands) takes off from a new sub-account in month 5, to
	 * about 3 PB stored; speech-to-text and translation follow from month 6 to
	 * industrial scale; its security services run steadily throughout. */
	cs[nc++] = (struct customer){
		"EA-880412", "Republic of Varnia, Ministry of the Interior",
		{
			{ "3f8a2c41-7d10-4e2b-9a51-0c6e1f2d7a90", "varnia-records", P_HOT, 0, 40000.0 / 30,
			  1.01, 0, 0, 0, 0.03 },
			{ "b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316", "varnia-intercept-1", P_HOT, 0,
			  20000.0 / 30, 1.0, 4, 3.0e6 / 30, 0, 0.02 },
			{ "b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316", "varnia-intercept-1", P_STT, 0, 40, 1.0,
			  5, 150000, 0.1, 0.05 },
			{ "b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316", "varnia-intercept-1", P_TRANSLATE, 0, 2,
			  1.0, 5, 4000, 0.1, 0.05 },
			{ "3f8a2c41-7d10-4e2b-9a51-0c6e1f2d7a90", "varnia-records", P_VM, 0, 24 * 12, 1.0,
			  0, 0, 0.2, 0.05 },
			{ "c7d4e8a2-19b6-4c0f-b3e5-5a8d2f9c1e47", "varnia-secops", P_DEFENDER, 0, 24 * 40,
			  1.0, 0, 0, 0, 0.02 },
			{ "c7d4e8a2-19b6-4c0f-b3e5-5a8d2f9c1e47", "varnia-secops", P_KV, 0, 30, 1.0, 0, 0,
			  0.1, 0.1 },
		},
		7,
	};
	/* A media company: petabyte-scale storage, no speech. */
	cs[nc++] = (struct customer){
		"EA-771203", "Lumen Media Group",
		{
			{ "9e1c7b35-2a84-4d6f-8c01-e4b9a7d3f562", "lumen-archive", P_COOL, 1, 1.2e6 / 30,
			  1.015, 0, 0, 0, 0.02 },
			{ "9e1c7b35-2a84-4d6f-8c01-e4b9a7d3f562", "lumen-archive", P_HOT, 0, 3.0e5 / 30,
			  1.02, 0, 0, 0, 0.03 },
			{ "5d2f8a16-c3e7-4b9a-a6d1-0f7e3c8b2a94", "lumen-streaming", P_MEDIA, 0, 90000, 1.01,
			  0, 0, 0.25, 0.08 },
			{ "5d2f8a16-c3e7-4b9a-a6d1-0f7e3c8b2a94", "lumen-streaming", P_CDN, 0, 60000, 1.02,
			  0, 0, 0.25, 0.08 },
			{ "5d2f8a16-c3e7-4b9a-a6d1-0f7e3c8b2a94", "lumen-streaming", P_VM, 0, 24 * 60, 1.0,
			  0, 0, 0.1, 0.05 },
		},
		5,
	};
	/* A hospital: moderate speech-to-text for clinical dictation. */
	cs[nc++] = (struct customer){
		"EA-662918", "St. Anne's University Hospital",
		{
			{ "e6a3d9f2-8b14-4c7e-9f05-2d1b7a4c8e63", "stanne-clinical", P_STT, 0, 180, 1.005, 0,
			  0, 0.5, 0.06 },
			{ "e6a3d9f2-8b14-4c7e-9f05-2d1b7a4c8e63", "stanne-clinical", P_HOT, 0, 50000.0 / 30,
			  1.01, 0, 0, 0, 0.02 },
			{ "e6a3d9f2-8b14-4c7e-9f05-2d1b7a4c8e63", "stanne-clinical", P_VM, 0, 24 * 16, 1.0,
			  0, 0, 0.3, 0.05 },
			{ "e6a3d9f2-8b14-4c7e-9f05-2d1b7a4c8e63", "stanne-clinical", P_SQL, 0, 24 * 4, 1.0,
			  0, 0, 0.2, 0.05 },
		},
		4,
	};
	rng_state = 0xdec0de + demo_seed;
	for (int i = 0; i < 30; i++)
		ordinary(&cs[nc++], i);

	out_header();
	for (int64_t day = day0; day < day_end; day++) {
		int y;
		unsigned m, d;
		pb__civil_from_days(day, &y, &m, &d);
		int month = (y - y0) * 12 + ((int)m - m0);
		double mfrac = month + (d - 1) / 30.0;
		int wd = (int)((day + 4) % 7); /* 0 = Sunday */
		for (size_t c = 0; c < nc; c++) {
			for (size_t l = 0; l < cs[c].nlines; l++) {
				const struct usage_line *u = &cs[c].lines[l];
				if (month < u->start_month)
					continue;
				double v;
				if (u->target > 0) {
					/* smooth S-curve from level to target over the remaining months */
					double span = months - u->start_month;
					double x = (mfrac - u->start_month) / span;
					double s = 1.0 / (1.0 + exp(-10.0 * (x - 0.45)));
					v = u->level + (u->target - u->level) * s;
				} else {
					v = u->level * pow(u->growth, mfrac - u->start_month);
				}
				if (wd == 0 || wd == 6)
					v *= 1.0 - u->weekly;
				v *= 1.0 + u->noise * nrand();
				if (v < 0)
					v = 0;
				struct row r;
				memset(&r, 0, sizeof(r));
				r.account = cs[c].account;
				r.account_name = cs[c].name;
				r.sub = u->sub;
				r.sub_name = u->sub_name;
				r.p = &products[u->product];
				r.region = regions[u->region].id;
				r.region_name = regions[u->region].name;
				r.start = day * 86400;
				r.end = r.start + 86400;
				r.quantity = v;
				r.discount = c % 3 == 0 ? 0.12 : 0.0;
				fill_resource(&r, u->sub_name, (unsigned)l);
				snprintf(r.tags, sizeof(r.tags),
				         "{\"cost-center\": \"CC-%02zu\", \"owner\": \"%s\", \"env\": \"%s\"}",
				         c, u->sub_name, l % 2 ? "prod" : "shared, internal");
				out_row(&r);
			}
		}
	}
	fwrite(obuf, 1, olen, stdout);
	return 0;
}

/* ---- bench ----------------------------------------------------------------- */

static int bench(uint64_t size)
{
	enum { NSUB = 300 };
	static char subs[NSUB][40], subnames[NSUB][48], accts[NSUB][16], acctnames[NSUB][48];
	static int sub_products[NSUB][4], sub_regions[NSUB][2];
	for (int i = 0; i < NSUB; i++) {
		snprintf(subs[i], sizeof(subs[i]), "%08x-%04x-4%03x-b%03x-%012llx",
		         (unsigned)(rnd() & 0xffffffff), (unsigned)(rnd() & 0xffff),
		         (unsigned)(rnd() & 0xfff), (unsigned)(rnd() & 0xfff),
		         (unsigned long long)(rnd() & 0xffffffffffffULL));
		snprintf(subnames[i], sizeof(subnames[i]), "team %d, \"unit\" %d", i, i % 17);
		snprintf(accts[i], sizeof(accts[i]), "BA-%05d", 1000 + i / 6);
		snprintf(acctnames[i], sizeof(acctnames[i]), "Customer %d, Inc.", i / 6);
		for (int k = 0; k < 4; k++)
			sub_products[i][k] = (int)(rnd() % P_COUNT);
		for (int k = 0; k < 2; k++)
			sub_regions[i][k] = (int)(rnd() % NREGIONS);
	}
	out_header();
	int64_t day0 = pb__days_from_civil(2025, 9, 1);
	uint64_t n = 0;
	while (total_out < size) {
		/* hourly rows for one month, then wrap around */
		uint64_t hour = (n / (NSUB * 8)) % (30 * 24);
		int s = (int)(n % NSUB);
		int k = (int)((n / NSUB) % 8);
		struct row r;
		memset(&r, 0, sizeof(r));
		r.account = accts[s];
		r.account_name = acctnames[s];
		r.sub = subs[s];
		r.sub_name = subnames[s];
		r.p = &products[sub_products[s][k % 4]];
		int reg = sub_regions[s][k / 4];
		r.region = regions[reg].id;
		r.region_name = regions[reg].name;
		r.start = day0 * 86400 + (int64_t)hour * 3600;
		r.end = r.start + 3600;
		r.quantity = 1.0 + urand() * 100.0;
		r.discount = s % 4 == 0 ? 0.1 : 0.0;
		fill_resource(&r, subnames[s], (unsigned)k);
		snprintf(r.tags, sizeof(r.tags),
		         "{\"cost-center\": \"CC-%03d\", \"project\": \"alpha, beta\", \"note\": "
		         "\"it's \\\"%s\\\"\"}",
		         s, k % 2 ? "prod" : "test");
		out_row(&r);
		n++;
	}
	fwrite(obuf, 1, olen, stdout);
	fprintf(stderr, "genfocus: %llu rows\n", (unsigned long long)n);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: genfocus demo [--months N] [--end YYYY-MM] [--seed N] > file.csv\n"
	                "       genfocus bench --size BYTES [--seed N] > file.csv\n");
}

int main(int argc, char **argv)
{
	ocap = 1u << 20;
	obuf = malloc(ocap);
	if (!obuf)
		return 1;
	if (argc < 2) {
		usage();
		return 2;
	}
	int months = 24, end_year = 2026, end_month = 10;
	uint64_t size = 100000000;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--months") && i + 1 < argc)
			months = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--end") && i + 1 < argc) {
			char *e;
			end_year = (int)strtol(argv[++i], &e, 10);
			end_month = *e == '-' ? (int)strtol(e + 1, NULL, 10) : 0;
		} else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng_state = demo_seed = strtoull(argv[++i], NULL, 10);
		else {
			usage();
			return 2;
		}
	}
	if (months < 1 || months > 120 || end_month < 1 || end_month > 12) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "demo"))
		return demo(months, end_year, end_month);
	if (!strcmp(argv[1], "bench"))
		return bench(size);
	usage();
	return 2;
}
