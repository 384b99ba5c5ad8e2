/* catalog.h - internals of the catalog shared with ingest and decisions. */
#ifndef PB_CATALOG_H
#define PB_CATALOG_H

#include "util/util.h"

/* A unit's factor as an exact fraction: normalised = quantity * num / den. */
struct pb__unit_factor {
	pb_dec num; /* scaled pb_dec */
	int64_t den; /* >= 1 */
};
const struct pb__unit_factor *pb__catalog_unit_factor(const struct pb_unit *u);
/* Applies a factor to a quantity; false on overflow. */
bool pb__unit_apply(const struct pb__unit_factor *f, pb_dec q, pb_dec *out);

/* The normalised units usage of a capability is billed in, '|'-separated
 * (capabilities.csv), or NULL when the catalog does not say. */
const char *pb__catalog_capability_units(const struct pb_catalog *cat, struct pb_str name);
/* True when unit is one of the '|'-separated units. */
bool pb__catalog_unit_in(const char *units, const char *unit);

/* Capability of a usage row: rules on SKU meter and the row's category, then
 * the service's only capability. NULL when it cannot be told. */
const char *pb__catalog_capability_row(const struct pb_catalog *cat, const struct pb_service *svc,
                                       struct pb_str sku_meter, struct pb_str category);

/* Canonical spelling of a FOCUS category / subcategory, matching ASCII case
 * insensitively; NULL when unknown. */
const char *pb__catalog_category(const struct pb_catalog *cat, struct pb_str name);
const char *pb__catalog_subcategory(const struct pb_catalog *cat, struct pb_str name);
/* True for a known ISO 4217 currency code (exact, upper case). */
bool pb__catalog_currency_known(const struct pb_catalog *cat, struct pb_str code);

/* Azure's FOCUS ServiceName for a native cost row: from its ConsumedService
 * and resource type ("microsoft.storage/storageaccounts"), Microsoft's own
 * mapping; NULL when unknown or ambiguous. */
const char *pb__catalog_azure_service(const struct pb_catalog *cat, struct pb_str consumed,
                                      struct pb_str resource_type);

/* Case-insensitive glob match where '*' matches any run of bytes. */
bool pb__glob_match_ci(const char *pattern, struct pb_str text);

#endif
