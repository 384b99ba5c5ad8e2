/* native.c - providers' own cost exports mapped onto FOCUS rows.
 *
 * Two formats, recognised by their header:
 *  - AWS Cost and Usage Reports: legacy CUR CSV ("lineItem/UsageAccountId")
 *    and CUR 2.0 / Athena names ("line_item_usage_account_id");
 *  - Azure cost details (EA and MCA, actual cost): "SubscriptionId", "Date",
 *    "CostInBillingCurrency" or "Cost".
 * The mapping follows the FinOps Foundation's converter rules as documented
 * (docs/ingest.md has the table): payer account -> BillingAccountId, usage
 * account / subscription -> SubAccountId, line item type / charge type ->
 * ChargeCategory, product name / ConsumedService + resource type ->
 * ServiceName (Microsoft's own table in data/catalog/azure-services.csv), usage
 * type / meter name -> SkuMeter, unblended (or net unblended) cost / cost in
 * billing currency -> BilledCost, public on-demand cost / quantity x PayG price
 * -> ListCost. Categories and capabilities then come from the catalog as for
 * FOCUS rows.
 */
#include "usage/catalog.h"
#include "usage/focus.h"

#include <string.h>

#include "util/banned.h"

struct ncol_def {
	enum pb_ncol col;
	const char *names[2]; /* legacy / alternative */
};

static const struct ncol_def aws_cols[] = {
	{ NC_AWS_PAYER, { "bill/PayerAccountId", "bill_payer_account_id" } },
	{ NC_AWS_PAYER_NAME, { "bill/PayerAccountName", "bill_payer_account_name" } },
	{ NC_AWS_ACCOUNT, { "lineItem/UsageAccountId", "line_item_usage_account_id" } },
	{ NC_AWS_ACCOUNT_NAME, { "lineItem/UsageAccountName", "line_item_usage_account_name" } },
	{ NC_AWS_TYPE, { "lineItem/LineItemType", "line_item_line_item_type" } },
	{ NC_AWS_START, { "lineItem/UsageStartDate", "line_item_usage_start_date" } },
	{ NC_AWS_END, { "lineItem/UsageEndDate", "line_item_usage_end_date" } },
	{ NC_AWS_PRODUCT_NAME, { "product/ProductName", "product_product_name" } },
	{ NC_AWS_PRODUCT_CODE, { "lineItem/ProductCode", "line_item_product_code" } },
	{ NC_AWS_USAGE_TYPE, { "lineItem/UsageType", "line_item_usage_type" } },
	{ NC_AWS_REGION, { "product/region", "product_region_code" } },
	{ NC_AWS_REGION_CODE, { "product/regionCode", "product_region" } },
	{ NC_AWS_UNIT, { "pricing/unit", "pricing_unit" } },
	{ NC_AWS_CURRENCY, { "lineItem/CurrencyCode", "line_item_currency_code" } },
	{ NC_AWS_AMOUNT, { "lineItem/UsageAmount", "line_item_usage_amount" } },
	{ NC_AWS_UNBLENDED, { "lineItem/UnblendedCost", "line_item_unblended_cost" } },
	{ NC_AWS_NET_UNBLENDED, { "lineItem/NetUnblendedCost", "line_item_net_unblended_cost" } },
	{ NC_AWS_PUBLIC_COST, { "pricing/publicOnDemandCost", "pricing_public_on_demand_cost" } },
	{ NC_AWS_RI_EFFECTIVE, { "reservation/EffectiveCost", "reservation_effective_cost" } },
	{ NC_AWS_SP_EFFECTIVE,
	  { "savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost" } },
};

static const struct ncol_def azure_cols[] = {
	{ NC_AZ_ACCOUNT, { "BillingAccountId", NULL } },
	{ NC_AZ_ACCOUNT_NAME, { "BillingAccountName", NULL } },
	{ NC_AZ_SUB, { "SubscriptionId", "SubscriptionGuid" } },
	{ NC_AZ_SUB_NAME, { "SubscriptionName", NULL } },
	{ NC_AZ_DATE, { "Date", "UsageDate" } },
	{ NC_AZ_CHARGE_TYPE, { "ChargeType", NULL } },
	{ NC_AZ_CONSUMED, { "ConsumedService", NULL } },
	{ NC_AZ_RESOURCE_ID, { "ResourceId", "InstanceId" } },
	{ NC_AZ_METER_CATEGORY, { "MeterCategory", NULL } },
	{ NC_AZ_METER_NAME, { "MeterName", NULL } },
	{ NC_AZ_LOCATION, { "ResourceLocation", NULL } },
	{ NC_AZ_METER_REGION, { "MeterRegion", NULL } },
	{ NC_AZ_UNIT, { "UnitOfMeasure", NULL } },
	{ NC_AZ_QUANTITY, { "Quantity", NULL } },
	{ NC_AZ_COST, { "CostInBillingCurrency", "Cost" } },
	{ NC_AZ_PAYG_PRICE, { "PayGPrice", NULL } },
	{ NC_AZ_CURRENCY, { "BillingCurrencyCode", "BillingCurrency" } },
};

/* The first column of one of the names, or -1; a second column of the
 * same name goes to *dup (the first one found) for the caller to refuse. */
struct dup_col {
	const char *name;
	size_t first, second;
};

static int find_col(const struct pb_str *names, size_t n, const char *const alts[2],
                    struct dup_col *dup)
{
	for (int a = 0; a < 2; a++) {
		if (!alts[a])
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!pb_str_eq_cstr(pb_str_trim(names[i]), alts[a]))
				continue;
			for (size_t j = i + 1; j < n && dup && !dup->name; j++)
				if (pb_str_eq_cstr(pb_str_trim(names[j]), alts[a]))
					*dup = (struct dup_col){ alts[a], i + 1, j + 1 };
			return (int)i;
		}
	}
	return -1;
}

static bool dup_refused(const struct dup_col *dup, struct pb_error *err)
{
	if (!dup->name)
		return false;
	pb__err(err, PB_EFORMAT, "column '%s' appears twice: fields %zu and %zu", dup->name,
	        dup->first, dup->second);
	return true;
}

bool pb__native_map_header(const struct pb_str *names, size_t n, struct pb_focus_map *m,
                           struct pb_error *err)
{
	for (int i = 0; i < NC_COUNT; i++)
		m->ncol[i] = -1;
	size_t used = 0;
	struct dup_col dup = { 0 };
	for (size_t i = 0; i < PB_ARRAY_LEN(aws_cols); i++)
		if ((m->ncol[aws_cols[i].col] = find_col(names, n, aws_cols[i].names, &dup)) >= 0)
			used++;
	if (m->ncol[NC_AWS_START] >= 0 && m->ncol[NC_AWS_UNBLENDED] >= 0 &&
	    (m->ncol[NC_AWS_PAYER] >= 0 || m->ncol[NC_AWS_ACCOUNT] >= 0)) {
		m->kind = PB_FORMAT_AWS_CUR;
		pb__strlcpy(m->format, "aws-cur", sizeof(m->format));
		bool v2 = find_col(names, n, (const char *const[2]){ "line_item_usage_start_date", NULL },
		                   NULL) >= 0;
		if (dup_refused(&dup, err))
			return false;
		pb__strlcpy(m->version, v2 ? "2.0" : "legacy", sizeof(m->version));
		const char *missing = m->ncol[NC_AWS_END] < 0 ? "lineItem/UsageEndDate"
		                      : m->ncol[NC_AWS_PRODUCT_NAME] < 0 && m->ncol[NC_AWS_PRODUCT_CODE] < 0
		                              ? "product/ProductName or lineItem/ProductCode"
		                              : NULL;
		if (missing) {
			pb__err(err, PB_EFORMAT, "an AWS cost and usage report without %s", missing);
			return false;
		}
		m->ignored = n - used;
		return true;
	}
	for (int i = 0; i < NC_COUNT; i++)
		m->ncol[i] = -1;
	used = 0;
	dup = (struct dup_col){ 0 };
	for (size_t i = 0; i < PB_ARRAY_LEN(azure_cols); i++)
		if ((m->ncol[azure_cols[i].col] = find_col(names, n, azure_cols[i].names, &dup)) >= 0)
			used++;
	if (m->ncol[NC_AZ_SUB] >= 0 && m->ncol[NC_AZ_DATE] >= 0 && m->ncol[NC_AZ_COST] >= 0 &&
	    (m->ncol[NC_AZ_METER_CATEGORY] >= 0 || m->ncol[NC_AZ_CONSUMED] >= 0)) {
		m->kind = PB_FORMAT_AZURE;
		pb__strlcpy(m->format, "azure-cost", sizeof(m->format));
		pb__strlcpy(m->version, "ea/mca", sizeof(m->version));
		if (dup_refused(&dup, err))
			return false;
		if (m->ncol[NC_AZ_ACCOUNT] < 0) {
			pb__err(err, PB_EFORMAT, "an Azure cost export without BillingAccountId");
			return false;
		}
		m->ignored = n - used;
		return true;
	}
	return false;
}

/* ---- rows -------------------------------------------------------------- */

static bool text(struct pb_focus_ctx *c, const struct pb_csv_field *f, int idx,
                 struct pb_str *out)
{
	*out = pb_str_of(NULL, 0);
	if (idx < 0)
		return true;
	struct pb_str v;
	if (!pb__focus_field_text(c, &f[idx], &v))
		return false;
	if (!pb__focus_is_null(v.ptr, v.len))
		*out = v;
	return true;
}

/* Dates in Azure exports: MM/DD/YYYY (or M/D/YYYY), or ISO. */
static bool us_date(struct pb_str s, int64_t *day)
{
	int mdy[3] = { 0, 0, 0 }, k = 0;
	size_t i = 0;
	for (; i < s.len && k < 3; k++) {
		size_t st = i;
		while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
			mdy[k] = mdy[k] * 10 + (s.ptr[i++] - '0');
		if (i == st || i - st > 4)
			return false;
		if (k < 2) {
			if (i >= s.len || s.ptr[i] != '/')
				return false;
			i++;
		}
	}
	if (k != 3 || i != s.len || mdy[0] < 1 || mdy[0] > 12 || mdy[1] < 1 || mdy[1] > 31 ||
	    mdy[2] < 1970 || mdy[2] > 9999)
		return false;
	int64_t d = pb__days_from_civil(mdy[2], (unsigned)mdy[0], (unsigned)mdy[1]);
	int y;
	unsigned mm, dd;
	pb__civil_from_days(d, &y, &mm, &dd);
	if ((int)mm != mdy[0]) /* 2/30 */
		return false;
	*day = d;
	return true;
}

/* The resource type of an Azure resource id: "/subscriptions/s/resourceGroups/g/
 * providers/Microsoft.Storage/storageAccounts/x/blobServices/y" ->
 * "microsoft.storage/storageaccounts/blobservices" (as a view into buf). */
static struct pb_str resource_type(struct pb_str id, char *buf, size_t cap)
{
	const char *key = "/providers/";
	const char *p = NULL;
	for (size_t i = 0; i + 11 <= id.len; i++)
		if (strncasecmp(id.ptr + i, key, 11) == 0)
			p = id.ptr + i + 11;
	if (!p)
		return pb_str_of(NULL, 0);
	const char *end = id.ptr + id.len;
	size_t o = 0;
	int seg = 0;
	while (p < end && o + 1 < cap) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t l = slash ? (size_t)(slash - p) : (size_t)(end - p);
		/* namespace, type, name, type, name ...: keep namespace and types */
		if (seg == 0 || seg % 2 == 1) {
			if (o && o + 1 < cap)
				buf[o++] = '/';
			for (size_t k = 0; k < l && o + 1 < cap; k++)
				buf[o++] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
		}
		seg++;
		if (!slash)
			break;
		p = slash + 1;
	}
	return seg >= 2 ? pb_str_of(buf, o) : pb_str_of(NULL, 0);
}

#define NREJECT(idx, ...)                                                  \
	do {                                                               \
		snprintf(reason, cap, __VA_ARGS__);                        \
		*bad_field = (idx) >= 0 ? (uint32_t)(idx) + 1 : 0;         \
		return false;                                              \
	} while (0)

static bool decimal(struct pb_focus_ctx *c, const struct pb_csv_field *f, int idx,
                    const char *name, pb_dec *out, bool *present, char *reason, size_t cap,
                    uint32_t *bad_field)
{
	*out = 0;
	*present = false;
	if (idx < 0)
		return true;
	struct pb_str v = pb_str_of(f[idx].ptr, f[idx].len);
	if (pb__focus_is_null(v.ptr, v.len))
		return true;
	unsigned fl;
	enum pb_status st = pb__dec_parse(v.ptr, v.len, out, &fl);
	if (st) {
		size_t n = v.len > 40 ? 40 : v.len;
		NREJECT(idx, "%s: %s, got '%.*s'", name,
		        st == PB_ELIMIT ? "number out of range" : "expected a decimal number", (int)n,
		        v.ptr);
	}
	if (fl & PB_DEC_ROUNDED)
		pb__focus_warn(c, FW_DECIMAL_ROUNDED, -1, c->line);
	*present = true;
	return true;
}

static const char *aws_charge_category(struct pb_str t)
{
	static const struct {
		const char *type, *cat;
	} map[] = {
		{ "Usage", "Usage" },
		{ "DiscountedUsage", "Usage" },
		{ "SavingsPlanCoveredUsage", "Usage" },
		{ "SavingsPlanNegation", "Usage" },
		{ "BundledDiscount", "Usage" },
		{ "EdpDiscount", "Usage" },
		{ "PrivateRateDiscount", "Usage" },
		{ "Discount", "Usage" },
		{ "DistributorDiscount", "Usage" },
		{ "Tax", "Tax" },
		{ "Fee", "Purchase" },
		{ "RIFee", "Purchase" },
		{ "SavingsPlanUpfrontFee", "Purchase" },
		{ "SavingsPlanRecurringFee", "Purchase" },
		{ "Credit", "Credit" },
		{ "Refund", "Credit" },
	};
	for (size_t i = 0; i < PB_ARRAY_LEN(map); i++)
		if (pb_str_eq_cstr(t, map[i].type))
			return map[i].cat;
	return NULL;
}

static const char *azure_charge_category(struct pb_str t)
{
	static const struct {
		const char *type, *cat;
	} map[] = {
		{ "Usage", "Usage" },
		{ "Purchase", "Purchase" },
		{ "Refund", "Credit" },
		{ "UnusedReservation", "Usage" },
		{ "UnusedSavingsPlan", "Usage" },
		{ "RoundingAdjustment", "Adjustment" },
		{ "Tax", "Tax" },
	};
	for (size_t i = 0; i < PB_ARRAY_LEN(map); i++)
		if (pb_str_ieq_cstr(t, map[i].type))
			return map[i].cat;
	return NULL;
}

/* A row of an AWS Cost and Usage Report. */
static bool aws_row(struct pb_focus_ctx *c, const struct pb_csv_field *f,
                    struct pb_focus_row *row, char *reason, size_t cap, uint32_t *bad_field)
{
	const int *nc = c->map->ncol;
	bool have;
	struct pb_str type, name, code, start, end;
	if (!text(c, f, nc[NC_AWS_PAYER], &row->account) ||
	    !text(c, f, nc[NC_AWS_PAYER_NAME], &row->account_name) ||
	    !text(c, f, nc[NC_AWS_ACCOUNT], &row->subaccount) ||
	    !text(c, f, nc[NC_AWS_ACCOUNT_NAME], &row->subaccount_name) ||
	    !text(c, f, nc[NC_AWS_TYPE], &type) || !text(c, f, nc[NC_AWS_PRODUCT_NAME], &name) ||
	    !text(c, f, nc[NC_AWS_PRODUCT_CODE], &code) ||
	    !text(c, f, nc[NC_AWS_USAGE_TYPE], &row->sku_meter) ||
	    !text(c, f, nc[NC_AWS_REGION], &row->region) ||
	    !text(c, f, nc[NC_AWS_UNIT], &row->unit) ||
	    !text(c, f, nc[NC_AWS_CURRENCY], &row->currency) ||
	    !text(c, f, nc[NC_AWS_START], &start) || !text(c, f, nc[NC_AWS_END], &end))
		NREJECT(-1, "a field is too long");
	if (!row->region.ptr)
		text(c, f, nc[NC_AWS_REGION_CODE], &row->region);
	if (!row->account.ptr)
		row->account = row->subaccount; /* a linked-account-only report */
	if (!row->account.ptr)
		NREJECT(nc[NC_AWS_PAYER], "bill/PayerAccountId is empty (it is required)");
	row->provider = PB_STR("AWS");
	row->service = name.ptr ? name : code;
	if (!row->service.ptr)
		NREJECT(nc[NC_AWS_PRODUCT_NAME], "product/ProductName is empty (it is required)");
	const char *cat = type.ptr ? aws_charge_category(type) : "Usage";
	if (!cat)
		NREJECT(nc[NC_AWS_TYPE], "lineItem/LineItemType: '%.*s' is not a known type",
		        (int)(type.len > 40 ? 40 : type.len), type.ptr);
	row->charge_category = pb_cstr(cat);
	unsigned fl;
	if (!start.ptr || !pb_time_parse(start.ptr, start.len, &row->start, &fl))
		NREJECT(nc[NC_AWS_START], "lineItem/UsageStartDate: expected a date-time");
	if (!end.ptr || !pb_time_parse(end.ptr, end.len, &row->end, &fl))
		NREJECT(nc[NC_AWS_END], "lineItem/UsageEndDate: expected a date-time");
	pb_dec net;
	bool have_net;
	if (!decimal(c, f, nc[NC_AWS_UNBLENDED], "lineItem/UnblendedCost", &row->billed, &have,
	             reason, cap, bad_field) ||
	    !decimal(c, f, nc[NC_AWS_NET_UNBLENDED], "lineItem/NetUnblendedCost", &net,
	             &have_net, reason, cap, bad_field) ||
	    !decimal(c, f, nc[NC_AWS_AMOUNT], "lineItem/UsageAmount", &row->quantity,
	             &row->has_quantity, reason, cap, bad_field) ||
	    !decimal(c, f, nc[NC_AWS_PUBLIC_COST], "pricing/publicOnDemandCost", &row->list, &have,
	             reason, cap, bad_field))
		return false;
	if (have_net)
		row->billed = net;
	if (!have)
		row->list = row->billed;
	/* effective cost: what a commitment made the usage cost */
	row->effective = row->billed;
	pb_dec e;
	bool he;
	if (pb_str_eq_cstr(type, "DiscountedUsage")) {
		if (!decimal(c, f, nc[NC_AWS_RI_EFFECTIVE], "reservation/EffectiveCost", &e, &he,
		             reason, cap, bad_field))
			return false;
		if (he)
			row->effective = e;
	} else if (pb_str_eq_cstr(type, "SavingsPlanCoveredUsage")) {
		if (!decimal(c, f, nc[NC_AWS_SP_EFFECTIVE], "savingsPlan/SavingsPlanEffectiveCost",
		             &e, &he, reason, cap, bad_field))
			return false;
		if (he)
			row->effective = e;
	} else if (pb_str_eq_cstr(type, "SavingsPlanNegation")) {
		row->effective = 0;
	}
	return true;
}

/* A row of an Azure cost details export (one day per row). */
static bool azure_row(struct pb_focus_ctx *c, const struct pb_csv_field *f,
                      struct pb_focus_row *row, char *reason, size_t cap, uint32_t *bad_field)
{
	const int *nc = c->map->ncol;
	bool have;
	struct pb_str date, ctype, consumed, rid, mcat, loc, mregion;
	if (!text(c, f, nc[NC_AZ_ACCOUNT], &row->account) ||
	    !text(c, f, nc[NC_AZ_ACCOUNT_NAME], &row->account_name) ||
	    !text(c, f, nc[NC_AZ_SUB], &row->subaccount) ||
	    !text(c, f, nc[NC_AZ_SUB_NAME], &row->subaccount_name) ||
	    !text(c, f, nc[NC_AZ_DATE], &date) || !text(c, f, nc[NC_AZ_CHARGE_TYPE], &ctype) ||
	    !text(c, f, nc[NC_AZ_CONSUMED], &consumed) ||
	    !text(c, f, nc[NC_AZ_RESOURCE_ID], &rid) ||
	    !text(c, f, nc[NC_AZ_METER_CATEGORY], &mcat) ||
	    !text(c, f, nc[NC_AZ_METER_NAME], &row->sku_meter) ||
	    !text(c, f, nc[NC_AZ_LOCATION], &loc) || !text(c, f, nc[NC_AZ_METER_REGION], &mregion) ||
	    !text(c, f, nc[NC_AZ_UNIT], &row->unit) ||
	    !text(c, f, nc[NC_AZ_CURRENCY], &row->currency))
		NREJECT(-1, "a field is too long");
	if (!row->account.ptr)
		NREJECT(nc[NC_AZ_ACCOUNT], "BillingAccountId is empty (it is required)");
	row->provider = PB_STR("Microsoft");
	int64_t day;
	unsigned fl;
	if (date.ptr && us_date(date, &day)) {
		row->start = day * 86400;
	} else if (date.ptr && pb_time_parse(date.ptr, date.len, &row->start, &fl)) {
		row->start = pb_floordiv(row->start, 86400) * 86400;
	} else {
		NREJECT(nc[NC_AZ_DATE], "Date: expected MM/DD/YYYY or YYYY-MM-DD, got '%.*s'",
		        (int)(date.len > 40 ? 40 : date.len), date.ptr ? date.ptr : "");
	}
	row->end = row->start + 86400;
	const char *cat = ctype.ptr ? azure_charge_category(ctype) : "Usage";
	if (!cat)
		NREJECT(nc[NC_AZ_CHARGE_TYPE], "ChargeType: '%.*s' is not a known type",
		        (int)(ctype.len > 40 ? 40 : ctype.len), ctype.ptr);
	row->charge_category = pb_cstr(cat);
	/* the service: Microsoft's table, else the meter category */
	char tbuf[256];
	struct pb_str rtype = rid.ptr ? resource_type(rid, tbuf, sizeof(tbuf)) : pb_str_of(NULL, 0);
	const char *svc = pb__catalog_azure_service(c->cat, consumed, rtype);
	row->service = svc ? pb_cstr(svc) : mcat.ptr ? mcat : consumed;
	if (!row->service.ptr)
		NREJECT(nc[NC_AZ_METER_CATEGORY], "no ConsumedService or MeterCategory to name the "
		                                  "service");
	row->region = loc.ptr ? loc : mregion;
	bool have_q, have_p;
	pb_dec price;
	if (!decimal(c, f, nc[NC_AZ_COST], "Cost", &row->billed, &have, reason, cap, bad_field) ||
	    !decimal(c, f, nc[NC_AZ_QUANTITY], "Quantity", &row->quantity, &have_q, reason, cap,
	             bad_field) ||
	    !decimal(c, f, nc[NC_AZ_PAYG_PRICE], "PayGPrice", &price, &have_p, reason, cap,
	             bad_field))
		return false;
	if (!have)
		NREJECT(nc[NC_AZ_COST], "the cost is empty (it is required)");
	row->has_quantity = have_q;
	row->effective = row->billed;
	row->list = row->billed;
	if (have_p && have_q && !pb__dec_mul(row->quantity, price, &row->list))
		NREJECT(nc[NC_AZ_PAYG_PRICE], "PayGPrice x Quantity is out of range");
	return true;
}

bool pb__native_row(struct pb_focus_ctx *c, const struct pb_csv_field *f, size_t nf,
                    uint64_t line, struct pb_focus_row *row, char *reason, size_t cap,
                    uint32_t *bad_field, bool *warned)
{
	const struct pb_focus_map *m = c->map;
	*warned = false;
	c->line = line;
	if (nf != m->ncols) {
		snprintf(reason, cap, "expected %zu fields as in the header, found %zu", m->ncols, nf);
		*bad_field = (uint32_t)(nf < m->ncols ? nf : m->ncols + 1);
		return false;
	}
	c->scratch_len = 0;
	memset(row, 0, sizeof(*row));
	bool ok = m->kind == PB_FORMAT_AWS_CUR ? aws_row(c, f, row, reason, cap, bad_field)
	                                        : azure_row(c, f, row, reason, cap, bad_field);
	if (!ok)
		return false;
	if (row->end < row->start)
		NREJECT(-1, "the usage ends before it starts");
	return true;
}
