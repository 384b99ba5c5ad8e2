/* test_focus.c - header mapping (versions, aliases, missing columns), the JSON
 * object check, and row checks with the shipped catalog. */
#include "unit.h"
#include "usage/focus.h"
#include "usage/catalog.h"

static struct pb_catalog *cat;

static void split(const char *line, struct pb_str *out, size_t *n)
{
	*n = 0;
	const char *p = line;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		out[(*n)++] = pb_str_of(p, l);
		if (!c)
			break;
		p = c + 1;
	}
}

static const char hdr12[] =
	"BilledCost,BillingAccountId,BillingCurrency,ChargeCategory,ChargePeriodEnd,"
	"ChargePeriodStart,ConsumedQuantity,ConsumedUnit,EffectiveCost,ListCost,RegionId,"
	"ServiceCategory,ServiceName,SubAccountId,Tags,InvoiceId,x_Custom,Id";

static void t_header(void)
{
	struct pb_str names[64];
	size_t n;
	struct pb_focus_map m;
	char missing[1024];
	struct pb_error err = { 0 };
	split(hdr12, names, &n);
	CHECK_OK(pb__focus_map_header(names, n, &m, missing, sizeof(missing), &err), &err);
	CHECK_STR(m.version, "1.2"); /* InvoiceId is a 1.2 column */
	CHECK_INT(m.ignored, 2);     /* x_Custom and Id */
	CHECK_INT(m.col[FC_BilledCost], 0);
	CHECK_INT(m.col[FC_Tags], 14);
	CHECK(strstr(missing, "InvoiceIssuerName") != NULL);
	CHECK(strstr(missing, "BilledCost") == NULL);
	/* a 1.3 file: ServiceProviderName stands for ProviderName */
	split("BilledCost,BillingAccountId,ChargeCategory,ChargePeriodEnd,ChargePeriodStart,"
	      "ServiceName,ServiceProviderName,HostProviderName",
	      names, &n);
	CHECK_OK(pb__focus_map_header(names, n, &m, missing, sizeof(missing), &err), &err);
	CHECK_STR(m.version, "1.3");
	CHECK_INT(m.col[FC_ProviderName], 6);
	/* pre-1.0 names, other letter case and spaces are tolerated */
	split(" ChargeType ,BilledCost,BillingAccountId,ChargePeriodEnd,ChargePeriodStart,"
	      "ServiceName,AmortizedCost,skupriceid",
	      names, &n);
	CHECK_OK(pb__focus_map_header(names, n, &m, missing, sizeof(missing), &err), &err);
	CHECK_STR(m.version, "0.5");
	CHECK_INT(m.col[FC_ChargeCategory], 0);
	CHECK_INT(m.col[FC_EffectiveCost], 6);
	CHECK_INT(m.col[FC_SkuPriceId], 7);
	/* the error names every missing required column */
	split("BilledCost,ServiceName,Region", names, &n);
	CHECK_INT(pb__focus_map_header(names, n, &m, missing, sizeof(missing), &err), PB_EFORMAT);
	CHECK(strstr(err.message, "BillingAccountId, ChargePeriodStart, ChargePeriodEnd, "
	                          "ChargeCategory (needed") != NULL);
	/* a duplicate column: the exact name wins over an alias */
	split("BillingCurrency,BilledCurrency,BilledCost,BillingAccountId,ChargeCategory,"
	      "ChargePeriodEnd,ChargePeriodStart,ServiceName",
	      names, &n);
	CHECK_OK(pb__focus_map_header(names, n, &m, missing, sizeof(missing), &err), &err);
	CHECK_INT(m.col[FC_BillingCurrency], 0);
	CHECK_INT(m.ignored, 1);
}

static void t_json(void)
{
	const char *good[] = { "{}", "{\"a\": \"b\"}", " { \"k\" : 1.5e3 , \"t\" : true, \"n\": null } ",
		               "{\"\\u00e9\\n\": \"x\\\"y\"}", "{\" org\": \"trey\"}" };
	const char *bad[] = { "", "[]", "{", "{\"a\"}", "{\"a\": }", "{a: 1}", "{\"a\": [1]}",
		              "{\"a\": {\"b\": 1}}", "{\"a\": 1,}", "{\"a\": 1} x", "{\"a\": 01x}",
		              "\"env\": \"prod\"", "{\"a\": \"\\q\"}", "{\"a\": tru}" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!pb__json_object_check(good[i], strlen(good[i]), false))
			UNIT_FAIL_("rejected good JSON %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pb__json_object_check(bad[i], strlen(bad[i]), false))
			UNIT_FAIL_("accepted bad JSON %s", bad[i]);
	/* the same verdicts on CSV-escaped text, where every quote is doubled */
	const char *all[sizeof(good) / sizeof(good[0]) + sizeof(bad) / sizeof(bad[0])];
	size_t na = 0;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		all[na++] = good[i];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		all[na++] = bad[i];
	for (size_t i = 0; i < na; i++) {
		char esc[256];
		size_t o = 0;
		for (const char *p = all[i]; *p && o + 2 < sizeof(esc); p++) {
			if (*p == '"')
				esc[o++] = '"';
			esc[o++] = *p;
		}
		bool want = pb__json_object_check(all[i], strlen(all[i]), false);
		if (pb__json_object_check_csv(esc, o, false, true) != want)
			UNIT_FAIL_("escaped form of %s judged differently", all[i]);
	}
	/* nested values only where the column allows them */
	CHECK(pb__json_object_check("{\"Elements\": [{\"a\": 1}]}", 24, true));
	/* deep nesting stops at the cap instead of recursing without end */
	char deep[20000];
	size_t o = 0;
	deep[o++] = '{';
	deep[o++] = '"';
	deep[o++] = 'a';
	deep[o++] = '"';
	deep[o++] = ':';
	for (int i = 0; i < 5000; i++)
		deep[o++] = '[';
	CHECK(!pb__json_object_check(deep, o, true));
}

/* Builds fields for one CSV line (no quotes needed in these tests). */
static size_t fields_of(const char *line, struct pb_csv_field *f)
{
	struct pb_csv_record rec;
	pb__csv_parse_record(line, line + strlen(line), f, 64, &rec);
	return rec.nfields;
}

static void t_rows(void)
{
	struct pb_str names[64];
	size_t n;
	struct pb_focus_map m;
	char missing[1024], reason[256];
	struct pb_error err = { 0 };
	split(hdr12, names, &n);
	CHECK_OK(pb__focus_map_header(names, n, &m, missing, sizeof(missing), &err), &err);
	struct pb_focus_ctx ctx;
	CHECK_OK(pb__focus_ctx_init(&ctx, &m, cat, 4096), &err);
	struct pb_csv_field f[64];
	struct pb_focus_row row;
	uint32_t bad;
	bool warned;
	size_t nf = fields_of("1.5,A1,EUR,usage,2025-01-02T00:00:00Z,2025-01-01T00:00:00Z,10,GB,"
	                      "1.5,2,westeurope,Storage,Storage Accounts,S1,NULL,,x,7\n",
	                      f);
	CHECK(pb__focus_row(&ctx, f, nf, 2, &row, reason, sizeof(reason), &bad, &warned));
	CHECK(warned); /* "usage" for "Usage" */
	CHECK_STR(row.charge_category.ptr, "Usage");
	CHECK(pb_str_eq_cstr(row.account, "A1") && pb_str_eq_cstr(row.region, "westeurope"));
	CHECK_INT(ctx.warn_count[FW_ENUM_CASE][FC_ChargeCategory], 1);
	CHECK_INT(ctx.warn_line[FW_ENUM_CASE][FC_ChargeCategory], 2);
	/* cached the second time: same verdict, counted again */
	CHECK(pb__focus_row(&ctx, f, nf, 3, &row, reason, sizeof(reason), &bad, &warned));
	CHECK_INT(ctx.warn_count[FW_ENUM_CASE][FC_ChargeCategory], 2);
	/* rejected: a required column empty, with its 1-based field */
	nf = fields_of("1.5,,EUR,Usage,2025-01-02T00:00:00Z,2025-01-01T00:00:00Z,10,GB,1.5,2,"
	               "westeurope,Storage,Storage Accounts,S1,NULL,,x,7\n",
	               f);
	CHECK(!pb__focus_row(&ctx, f, nf, 4, &row, reason, sizeof(reason), &bad, &warned));
	CHECK_INT(bad, 2);
	CHECK_STR(reason, "BillingAccountId is empty (it is required)");
	/* a bad Tags value is a warning, not a rejection */
	nf = fields_of("1.5,A1,EUR,Usage,2025-01-02T00:00:00Z,2025-01-01T00:00:00Z,10,GB,1.5,2,"
	               "westeurope,Storage,Storage Accounts,S1,not json,,x,7\n",
	               f);
	CHECK(pb__focus_row(&ctx, f, nf, 5, &row, reason, sizeof(reason), &bad, &warned));
	CHECK_INT(ctx.warn_count[FW_JSON_BAD][FC_Tags], 1);
	/* customer text is never echoed in a reason */
	nf = fields_of("1.5,A1,EUR,Usage,2025-01-02T00:00:00Z,2025-01-01T00:00:00Z,lots,GB,1.5,2,"
	               "westeurope,Storage,Storage Accounts,S1,NULL,,x,7\n",
	               f);
	CHECK(!pb__focus_row(&ctx, f, nf, 6, &row, reason, sizeof(reason), &bad, &warned));
	CHECK_STR(reason, "ConsumedQuantity: expected a decimal number, got 'lots'");
	pb__focus_ctx_release(&ctx);
}

int main(void)
{
	struct pb_error err = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &err) != PB_OK) {
		fprintf(stderr, "catalog: %s\n", err.message);
		printf("unit focus: 0 passed, 1 failed\n");
		return 1;
	}
	RUN(t_header);
	RUN(t_json);
	RUN(t_rows);
	pb_catalog_free(cat);
	return UNIT_END("focus");
}
