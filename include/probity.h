/* probity.h - the public API of libprobity, the library behind the probity tool.
 *
 * probity reviews how a customer uses a cloud provider's services from the
 * provider's own records (billing exports, internal mail), keeps a case file on
 * a tamper-evident log, and enforces precise service cut-offs.
 *
 * This header is the whole public surface; anything not declared here is not
 * part of the API. Its comments are the reference.
 *
 * Conventions, for every function below unless it says otherwise:
 *  - Fallible functions return enum pb_status (PB_OK = 0) and take a
 *    struct pb_error *err last. err may be NULL; when it is not, a failure
 *    fills it with the code, a one-line message and, for parsers of outside
 *    input, the file, line and column.
 *  - The library never prints, never exits, never aborts on input.
 *  - Objects from pb_x_new/pb_x_open are released with pb_x_free/pb_x_close,
 *    which accept NULL. Structs the caller owns use pb_x_init/pb_x_release.
 *  - Views (struct pb_str) point into memory owned by the object that handed
 *    them out and stay valid until the next call on that object, unless the
 *    function says otherwise.
 *  - Strings are UTF-8. Times are UTC, in seconds since the Unix epoch
 *    (int64_t) unless a name says _ms or _day.
 */
#ifndef PROBITY_H
#define PROBITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PB_VERSION "0.1.0"

/* ===================================================================== */
/* Status, errors, views                                                 */
/* ===================================================================== */

enum pb_status {
	PB_OK = 0,
	PB_EINVAL,    /* a bad argument, or input that breaks its grammar */
	PB_ENOENT,    /* a file, workspace or object that does not exist */
	PB_EEXIST,    /* the thing to create is already there */
	PB_EIO,       /* reading or writing failed (includes disk full) */
	PB_ENOMEM,    /* out of memory */
	PB_ELIMIT,    /* input over a size cap */
	PB_EFORMAT,   /* input is not in a format probity reads */
	PB_ESTATE,    /* not allowed in the current state (e.g. not approved) */
	PB_EPERM,     /* the acting user lacks the role, or the OS said no */
	PB_EDB,       /* the workspace database failed */
	PB_EVERIFY,   /* a verification failed: tampering or corruption */
	PB_EINTR,     /* interrupted by the caller (progress callback) */
	PB_STATUS_COUNT
};

/* A short stable name for a status ("ok", "invalid", "not-found", ...). */
const char *pb_status_name(enum pb_status s);

struct pb_error {
	enum pb_status code;
	char message[512];  /* lower case, what failed first: "cannot open 'x': ..." */
	char file[256];     /* input file the error is about, or "" */
	uint64_t line;      /* 1-based line in file, or 0 */
	uint32_t column;    /* 1-based column (field number for CSV), or 0 */
};

/* Formats err as "file:line:column: message" (parts that are unset are left
 * out) into buf of size cap. Returns buf. */
char *pb_error_format(const struct pb_error *err, char *buf, size_t cap);

/* A view of bytes owned by someone else; not NUL-terminated. */
struct pb_str {
	const char *ptr;
	size_t len;
};

/* Progress of a long operation, reported to a pb_progress_fn. */
struct pb_progress {
	uint64_t bytes_done;   /* input bytes consumed so far */
	uint64_t bytes_total;  /* input size, or 0 when unknown (a pipe) */
	uint64_t items_done;   /* rows, messages, entries ... */
	double elapsed;        /* seconds since the operation started */
};
/* Called from the calling thread now and then during long work; return false
 * to stop it (the operation then fails with PB_EINTR and changes nothing). */
typedef bool (*pb_progress_fn)(void *ctx, const struct pb_progress *p);

/* ===================================================================== */
/* Workspace                                                             */
/* ===================================================================== */
/* A workspace is a folder: probity.db (SQLite, WAL), probity.conf (settings,
 * key = value lines), pseudonym.key (32 random bytes, mode 0600), plus
 * rejects/ and sources/ folders. */

struct pb_ws;

struct pb_ws_init_options {
	bool keep_names;   /* store customer-chosen names in clear (default: pseudonymise) */
	const char *name;  /* a label for the workspace, or NULL */
};

/* Creates a new workspace in dir (created if missing; it must be empty or
 * absent). Refuses with PB_EEXIST when dir already holds a workspace or any
 * other file. opts may be NULL for defaults. */
enum pb_status pb_ws_init(const char *dir, const struct pb_ws_init_options *opts,
                          struct pb_error *err);

#define PB_WS_READONLY 0x1  /* open for reading only */

/* Opens the workspace in dir, migrating its schema to the current version
 * when it is older (in one transaction). *out is set on success and must be
 * closed with pb_ws_close. */
enum pb_status pb_ws_open(const char *dir, unsigned flags, struct pb_ws **out,
                          struct pb_error *err);
void pb_ws_close(struct pb_ws *ws);

/* The workspace folder, as given to pb_ws_open. */
const char *pb_ws_path(const struct pb_ws *ws);
/* The schema version of the open database, and the version this library writes. */
int pb_ws_schema_version(const struct pb_ws *ws);
int pb_schema_version_current(void);

/* Reads a setting from probity.conf; returns NULL when unset. The string is
 * owned by ws. */
const char *pb_ws_setting(const struct pb_ws *ws, const char *key);

/* ===================================================================== */
/* Catalog: regions, services, capabilities, units                       */
/* ===================================================================== */
/* The catalog is read at run time from data files (data/catalog/ CSV files, see
 * docs/catalog.md); no table is compiled into the library. Lookups are
 * exact after ASCII case folding and trimming. */

struct pb_catalog;

/* Loads the catalog from the folder dir (normally <data>/catalog). Errors name
 * the file, line and field of a bad entry. */
enum pb_status pb_catalog_load(const char *dir, struct pb_catalog **out, struct pb_error *err);
void pb_catalog_free(struct pb_catalog *cat);
/* Hex SHA-256 over the catalog files, recorded with every source it mapped. */
const char *pb_catalog_sha256(const struct pb_catalog *cat);

struct pb_region {
	const char *id;       /* canonical id: "westeurope", "eu-west-1" */
	const char *name;     /* "West Europe" */
	const char *country;  /* ISO 3166-1 alpha-2: "NL"; "" when not one country (global) */
	const char *provider; /* "Microsoft", "AWS", "Google", "Oracle" */
};
/* Finds a region by any known spelling ("westeurope", "West Europe", "eu west",
 * "amsterdam"); NULL when unknown (callers report it, never guess). */
const struct pb_region *pb_catalog_region(const struct pb_catalog *cat, struct pb_str spelling);

struct pb_service {
	const char *name;        /* FOCUS ServiceName as providers write it */
	const char *provider;
	const char *category;    /* FOCUS ServiceCategory */
	const char *subcategory; /* FOCUS ServiceSubcategory */
	const char *const *capabilities; /* every capability the service offers */
	size_t ncapabilities;
};
/* Finds a service by its ServiceName; NULL when unknown. */
const struct pb_service *pb_catalog_service(const struct pb_catalog *cat, struct pb_str name);
/* The capability a usage row exercises, from its service name and, where the
 * service sells several capabilities (Azure AI Services), its SKU meter.
 * Returns NULL when it cannot be told (unknown service, or a multi-capability
 * service with an unknown or missing meter). */
const char *pb_catalog_capability(const struct pb_catalog *cat, struct pb_str service,
                                  struct pb_str sku_meter);
/* True when name is a capability the catalog defines ("object-storage", ...). */
bool pb_catalog_capability_known(const struct pb_catalog *cat, struct pb_str name);
/* True for a FOCUS ServiceCategory / ServiceSubcategory value (exact spelling
 * after case folding). */
bool pb_catalog_category_known(const struct pb_catalog *cat, struct pb_str name);
bool pb_catalog_subcategory_known(const struct pb_catalog *cat, struct pb_str name);
/* True for an ISO 3166-1 alpha-2 code used by some region in the catalog. */
bool pb_catalog_country_known(const struct pb_catalog *cat, struct pb_str code);

/* A consumed unit mapped to its normalised unit: quantity_in_norm =
 * quantity * factor, with factor an exact decimal string ("1024", "0.001"). */
struct pb_unit {
	const char *unit;       /* as written in exports: "TB-Months", "GB-Mo" */
	const char *normalised; /* "GB-Months" */
	const char *factor;     /* decimal text */
};
const struct pb_unit *pb_catalog_unit(const struct pb_catalog *cat, struct pb_str unit);

/* ===================================================================== */
/* Usage evidence: ingest of billing exports                             */
/* ===================================================================== */
/* Loading billing/usage exports (FOCUS 1.0-1.3 CSV, plain, gzip or zstd) into
 * the workspace. Rows are checked, aggregated per day and key, and cited back
 * to their source file (by SHA-256) and lines. See docs/ingest.md. */

struct pb_ingest_options {
	unsigned threads;          /* threads in all (reading + parsing); 0 = one per CPU */
	size_t max_record;         /* longest record in bytes; 0 = 1 MiB */
	size_t chunk_size;         /* bytes handed to a parser at a time; 0 = 4 MiB */
	pb_progress_fn progress;   /* may be NULL */
	void *progress_ctx;
};

/* One kind of warning seen in a source: rows were accepted, but some value in
 * `column` did not conform. */
struct pb_ingest_warning {
	char kind[32];      /* stable name: "value-case", "unknown-region", ... */
	char column[48];    /* FOCUS column, or "" */
	uint64_t count;     /* rows that drew it */
	uint64_t first_line;
	char text[128];     /* what it means */
	char example[96];   /* an example value (metadata columns only), or "" */
};

struct pb_ingest_report {
	char name[256];           /* as given */
	char sha256[65];
	uint64_t size;            /* raw bytes */
	char compression[8];      /* none, gzip, zstd */
	char format[16];          /* focus */
	char version[8];          /* FOCUS version detected from the header */
	bool already;             /* the same bytes were ingested before: nothing changed */
	int64_t source_id;
	uint64_t rows_read, rows_accepted, rows_rejected, rows_with_warnings;
	uint64_t blank_lines;     /* empty lines, not rows */
	uint64_t aggregates;      /* usage_day rows written */
	size_t columns, columns_ignored;
	char missing_mandatory[1024]; /* FOCUS-mandatory columns absent (accepted anyway) */
	char rejects_path[1024];  /* rejects file in the workspace, or "" when none */
	char first_day[11], last_day[11];
	char names[16];           /* "pseudonymised" or "clear" */
	struct pb_ingest_warning *warnings;
	size_t nwarnings;
	double seconds;
	unsigned threads;
};
void pb_ingest_report_release(struct pb_ingest_report *r);

/* Ingests one usage export at path ("-" = standard input; a copy of what was
 * read is kept in the workspace's sources/ folder, since a pipe cannot be read
 * again). On success *rep describes the outcome (release it with
 * pb_ingest_report_release), including rows rejected, which is not an error.
 * The workspace changes in one transaction: a failure or a crash leaves it as
 * it was. Errors: PB_ENOENT/PB_EPERM/PB_EIO (the file), PB_EFORMAT (not a
 * FOCUS CSV, corrupt or truncated compression, missing required columns: the
 * message names them), PB_ELIMIT (a record over max_record), PB_EPERM (a
 * read-only workspace), PB_EDB. */
enum pb_status pb_usage_ingest(struct pb_ws *ws, const struct pb_catalog *cat, const char *path,
                               const struct pb_ingest_options *opts, struct pb_ingest_report *rep,
                               struct pb_error *err);

/* A loaded source, for listings. */
struct pb_source_info {
	int64_t id;
	char sha256[65];
	uint64_t size;
	char name[256];
	char path[1024];
	char compression[8];
	char format[16];
	char version[8];
	char ingested_at[24];
	uint64_t rows_read, rows_accepted, rows_rejected, rows_with_warnings;
	char first_day[11], last_day[11];
	char names[16];
	char rejects_file[1024];
};
/* All sources in load order; free *out with free(). */
enum pb_status pb_usage_sources(struct pb_ws *ws, struct pb_source_info **out, size_t *n,
                                struct pb_error *err);

struct pb_account_info {
	char kind[8];               /* "billing" or "sub" */
	char account_id[128];
	char billing_account_id[128]; /* for a sub-account */
	char name[128];             /* pseudonym (ps:...) or clear */
	char provider[64];
	char first_day[11], last_day[11];
	char billed_cost[48];       /* exact decimal sum over all sources */
	char currency[8];           /* when one currency; "" when mixed or none */
	uint64_t rows;
	char customer[128];         /* the customer it belongs to, or "" */
};
/* Billing accounts and sub-accounts seen in the exports; free *out with free(). */
enum pb_status pb_usage_accounts(struct pb_ws *ws, struct pb_account_info **out, size_t *n,
                                 struct pb_error *err);

/* ===================================================================== */
/* Customers and profiles                                                */
/* ===================================================================== */
/* A customer is a named set of billing accounts and sub-accounts. An account
 * or a sub-account belongs to at most one customer, directly or through its
 * billing account. */

struct pb_customer_info {
	int64_t id;
	char name[128];
	char created_at[24];
	size_t naccounts;     /* billing accounts */
	size_t nsubaccounts;  /* sub-accounts named on their own */
	char billed_cost[48]; /* exact sum over the loaded usage */
	char currency[8];     /* "" when mixed or none */
	char first_day[11], last_day[11];
};

struct pb_customer_account {
	char kind[8];          /* "billing" or "sub" */
	char account_id[128];
	char name[128];        /* as stored: pseudonym or clear */
	bool seen;             /* appears in the loaded usage */
};

/* Adds customer `name` owning the given billing accounts and sub-accounts (at
 * least one in all). Fails with PB_EEXIST when the name is taken or when an
 * account is already another customer's (the message names both), PB_EINVAL
 * for an empty name or list. Accounts not yet seen in usage are accepted. */
enum pb_status pb_customer_add(struct pb_ws *ws, const char *name, const char *const *accounts,
                               size_t naccounts, const char *const *subaccounts,
                               size_t nsubaccounts, struct pb_error *err);
/* Removes a customer (PB_ENOENT when unknown). */
enum pb_status pb_customer_remove(struct pb_ws *ws, const char *name, struct pb_error *err);
/* All customers by name; free *out with free(). */
enum pb_status pb_customer_list(struct pb_ws *ws, struct pb_customer_info **out, size_t *n,
                                struct pb_error *err);
/* One customer and its accounts; free *accounts with free(). */
enum pb_status pb_customer_show(struct pb_ws *ws, const char *name, struct pb_customer_info *info,
                                struct pb_customer_account **accounts, size_t *n,
                                struct pb_error *err);


/* ===================================================================== */
/* Change detection                                                      */
/* ===================================================================== */

/* ===================================================================== */
/* Policy indicators                                                     */
/* ===================================================================== */
/* A policy file (YAML, docs/policy.md) names indicators - which usage, over
 * which window, aggregated how, against which threshold - and rules that
 * combine indicators into findings with a severity. A scan evaluates it over
 * the workspace's daily aggregates; the same policy compiles to SQL for other
 * engines, which give the same findings. */

struct pb_policy;

/* Parses and checks a policy against the catalog (capabilities, regions,
 * services, units). Errors carry file, line and column and a hint:
 * PB_EFORMAT (malformed YAML), PB_EINVAL (unknown field, wrong type, unknown
 * catalog value, unit mismatch, undefined indicator, cycle), PB_ELIMIT (over
 * 1 MiB, nested deeper than 32, too many nodes). file names the input in
 * messages (may be NULL). */
enum pb_status pb_policy_parse(const char *text, size_t len, const char *file,
                               const struct pb_catalog *cat, struct pb_policy **out,
                               struct pb_error *err);
/* Reads the file at path and parses it. */
enum pb_status pb_policy_load(const char *path, const struct pb_catalog *cat,
                              struct pb_policy **out, struct pb_error *err);
void pb_policy_free(struct pb_policy *p);
const char *pb_policy_name(const struct pb_policy *p);
const char *pb_policy_sha256(const struct pb_policy *p); /* of the file's bytes */
size_t pb_policy_indicator_count(const struct pb_policy *p);
size_t pb_policy_rule_count(const struct pb_policy *p);

enum pb_scan_scope {
	PB_SCAN_CUSTOMERS = 0, /* every customer defined in the workspace */
	PB_SCAN_CUSTOMER,      /* one customer (options.customer) */
	PB_SCAN_ACCOUNTS       /* every billing account seen in the usage */
};

struct pb_scan_options {
	enum pb_scan_scope scope;
	const char *customer;  /* PB_SCAN_CUSTOMER */
	int64_t at_day;        /* windows end the day before; INT64_MIN = the day after
	                          the last day of usage */
	bool store;            /* record the scan and its findings (needs a writable ws) */
	bool explain;          /* say, for entities no rule matched, how far each
	                          indicator is from firing */
};

/* Scans the workspace with policy p. *json (free with free()) gets the result
 * document described in docs/policy.md: per entity, every indicator with its
 * figure, threshold, window and whether it fired; for entities a rule matched,
 * the findings (with ids when stored) and the citations of each fired
 * indicator (source SHA-256, path, line ranges, aggregate keys, per-source
 * sums). PB_ENOENT for an unknown customer; PB_EPERM when storing into a
 * read-only workspace. */
enum pb_status pb_policy_scan(struct pb_ws *ws, const struct pb_policy *p,
                              const struct pb_scan_options *o, char **json,
                              struct pb_error *err);

/* SQL dialects the indicators compile to. */
enum pb_sql_dialect {
	PB_SQL_SQLITE = 0,
	PB_SQL_POSTGRESQL,
	PB_SQL_DUCKDB,
	PB_SQL_TRINO,
	PB_SQL_SPARK,
	PB_SQL_DIALECT_COUNT
};
/* "sqlite", "postgresql" (or "postgres"), "duckdb", "trino", "spark"; false
 * when unknown. */
bool pb_sql_dialect_parse(const char *name, enum pb_sql_dialect *out);
const char *pb_sql_dialect_name(enum pb_sql_dialect d);

/* Compiles p into one SQL query for dialect d over the table
 * focus_cost_and_usage and the catalog tables (docs/policy.md), for a scan at
 * day at_day. The query returns one row per billing account and indicator,
 * and one per matched rule: (entity, kind, name, period, figure, infinite,
 * fired, severity). *out is a heap string (free()). */
enum pb_status pb_policy_sql(const struct pb_policy *p, enum pb_sql_dialect d, int64_t at_day,
                             char **out, struct pb_error *err);

/* Writes, for dialect d, the DDL of the tables the compiled SQL reads and the
 * rows of the catalog tables (regions and their spellings, units, and the
 * capability of each service, meter and category triple seen in ws); with
 * with_usage, also the workspace's daily aggregates as focus_cost_and_usage
 * rows. Region and unit spellings are read from the catalog files in
 * catalog_dir and resolved through cat. ws may be NULL (then no capability
 * triples and no usage). */
enum pb_status pb_policy_sql_tables(struct pb_ws *ws, const struct pb_catalog *cat,
                                    const char *catalog_dir, enum pb_sql_dialect d,
                                    bool with_usage, FILE *f, struct pb_error *err);

/* Re-reads the sources a stored finding cites (by their SHA-256) and
 * recomputes every cited figure. *json (free()) gets the report: per
 * indicator and source, the cited and recomputed sums. Returns PB_OK when all
 * match, PB_EVERIFY when a source is missing or changed or a figure differs
 * (the report says which), PB_ENOENT for an unknown finding. cat should be
 * the catalog the sources were loaded with. */
enum pb_status pb_evidence_verify(struct pb_ws *ws, const struct pb_catalog *cat,
                                  const char *finding, char **json, struct pb_error *err);

/* ===================================================================== */
/* Tamper-evident log                                                    */
/* ===================================================================== */

/* ===================================================================== */
/* Users, cases                                                          */
/* ===================================================================== */

/* ===================================================================== */
/* Enforcement plans                                                     */
/* ===================================================================== */

/* ===================================================================== */
/* Decisions                                                             */
/* ===================================================================== */
/* Entitlements are the set of enforcement rules in force, kept in the
 * workspace as numbered versions. A version is immutable once written; the
 * plan module writes version N+1 when a plan is applied or rolled back (see
 * lib/entitlements.h, pb__entitlements_publish). The decision engine compiles
 * one version into an in-memory table and answers allow/deny for a request.
 * The semantics are in docs/enforcement.md; in short: a request is denied when
 * some plan has an in-force disable that may apply to it and no in-force keep
 * of the same plan that surely applies to it. */

/* Selector dimensions of a rule. An empty set means "any". */
enum pb_dim {
	PB_DIM_ACCOUNT = 0, /* billing accounts (never empty: a rule names its accounts) */
	PB_DIM_SUBACCOUNT,  /* sub-accounts (subscriptions, member accounts) */
	PB_DIM_CATEGORY,    /* FOCUS ServiceCategory */
	PB_DIM_SUBCATEGORY, /* FOCUS ServiceSubcategory */
	PB_DIM_SERVICE,     /* FOCUS ServiceName (aliases resolved by the catalog) */
	PB_DIM_CAPABILITY,  /* catalog capability: "speech-to-text", ... */
	PB_DIM_REGION,      /* region id (any spelling the catalog knows) */
	PB_DIM_COUNTRY,     /* ISO 3166-1 alpha-2 country of the region */
	PB_DIM_COUNT
};
/* The selector key of a dimension: "account", "subaccount", "category",
 * "subcategory", "service", "capability", "region", "country". */
const char *pb_dim_name(enum pb_dim d);

enum pb_effect {
	PB_EFFECT_DISABLE = 1, /* cut what the selector names */
	PB_EFFECT_KEEP = 2     /* carve-out: wins over disables of the same plan */
};

#define PB_TIME_OPEN_START INT64_MIN /* rule in force since always */
#define PB_TIME_OPEN_END INT64_MAX   /* rule in force for ever */

/* One enforcement rule. Values are compared after trimming and ASCII case
 * folding. A rule is in force at time t when from <= t < until. */
struct pb_rule {
	const char *plan;     /* plan id, e.g. "12" */
	const char *case_ref; /* case id, e.g. "2025-007" */
	enum pb_effect effect;
	int64_t from;         /* PB_TIME_OPEN_START for an open start */
	int64_t until;        /* PB_TIME_OPEN_END for an open end */
	const char *const *values[PB_DIM_COUNT]; /* per dimension, nvalues[d] strings */
	size_t nvalues[PB_DIM_COUNT];
};

/* Caps that publishing enforces (PB_ELIMIT beyond them). */
#define PB_RULES_MAX 1000000       /* rules in one version */
#define PB_RULE_VALUES_MAX 10000   /* values in one dimension of one rule */
#define PB_RULE_VALUE_LEN_MAX 256  /* bytes in one value, plan or case id */

/* Renders the selector of r as text, "subaccount=s1 category=Storage
 * country=NL" (dimensions in enum order, values joined by ',', quoted with ''
 * when they hold a space, comma or quote); the account dimension is left out
 * unless with_accounts. Always terminates buf; returns false when cut. */
bool pb_rule_selector(const struct pb_rule *r, bool with_accounts, char *buf, size_t cap);

/* One loaded version. */
struct pb_entitlements;

/* Loads version `version` of the workspace's entitlements, or the latest
 * when version is 0. A workspace where nothing was ever published has the
 * empty version 0 (everything allowed); asking for a version that does not
 * exist fails with PB_ENOENT. Free with pb_entitlements_free. */
enum pb_status pb_entitlements_load(struct pb_ws *ws, int64_t version,
                                    struct pb_entitlements **out, struct pb_error *err);
void pb_entitlements_free(struct pb_entitlements *e);
/* The latest version number (0 when none); a cheap query for reloaders. */
enum pb_status pb_entitlements_latest(struct pb_ws *ws, int64_t *version,
                                      struct pb_error *err);
int64_t pb_entitlements_version(const struct pb_entitlements *e);
int64_t pb_entitlements_created_ms(const struct pb_entitlements *e); /* 0 for version 0 */
const char *pb_entitlements_reason(const struct pb_entitlements *e); /* "" for version 0 */
/* Hex SHA-256 of the version's canonical JSON (rules in order). */
const char *pb_entitlements_sha256(const struct pb_entitlements *e);
size_t pb_entitlements_count(const struct pb_entitlements *e);
/* Rule i (0-based, in the version's order); the pointer lives as long as e. */
const struct pb_rule *pb_entitlements_rule(const struct pb_entitlements *e, size_t i);

/* The compiled decision table of one version. Read-only once built: any
 * number of threads may call pb_decide on it at once. */
struct pb_decider;

/* Compiles e with the catalog cat (service -> category, subcategory and
 * capabilities; region -> country). e and cat must outlive the decider.
 * Compiling does not touch the workspace, so a server builds the next table
 * beside the one that is serving and swaps a pointer. */
enum pb_status pb_decider_new(const struct pb_entitlements *e, const struct pb_catalog *cat,
                              struct pb_decider **out, struct pb_error *err);
void pb_decider_free(struct pb_decider *d);
const struct pb_entitlements *pb_decider_entitlements(const struct pb_decider *d);

/* A question. Absent fields have ptr == NULL (or len 0). */
struct pb_decide_request {
	struct pb_str account;    /* billing account id (required) */
	struct pb_str subaccount;
	struct pb_str service;    /* ServiceName or an alias (required) */
	struct pb_str region;     /* any spelling the catalog knows (required) */
	struct pb_str capability; /* the capability the call exercises, when the caller knows */
	struct pb_str sku_meter;  /* SKU meter, to tell capabilities of one service apart */
	int64_t at;               /* the time of the request */
};

enum pb_why {
	PB_WHY_NO_RULES = 0, /* allow: no rule in force names the account */
	PB_WHY_NO_MATCH,     /* allow: rules name the account, none applies */
	PB_WHY_KEPT,         /* allow: a disable applied, a keep of its plan won */
	PB_WHY_DISABLED      /* deny: a disable applied and no keep of its plan did */
};
const char *pb_why_name(enum pb_why w); /* "no-rules", "no-match", "kept", "disabled" */

/* What the decision could not tell from the request, and so treated as
 * "could be anything" (fail closed: a disable may apply, a keep may not). */
#define PB_DECIDE_UNKNOWN_SERVICE 0x01    /* service not in the catalog */
#define PB_DECIDE_UNKNOWN_REGION 0x02     /* region not in the catalog */
#define PB_DECIDE_SEVERAL_CAPS 0x04       /* service offers several capabilities, none named */
#define PB_DECIDE_NO_SUBACCOUNT 0x08      /* a rule names sub-accounts, the request none */
#define PB_DECIDE_CAP_IGNORED 0x10        /* named capability/meter not offered by the service */

struct pb_decision {
	bool allow;
	enum pb_why why;
	int64_t version;            /* entitlements version that decided */
	const struct pb_rule *rule; /* DISABLED: the disable; KEPT: the keep; else NULL */
	size_t rule_index;          /* index of rule in its version */
	unsigned flags;             /* PB_DECIDE_* that mattered for the rules consulted */
};

/* Decides req against d. Never fails: missing or unknown inputs are handled
 * as docs/enforcement.md says. Takes well under a microsecond. */
void pb_decide(const struct pb_decider *d, const struct pb_decide_request *req,
               struct pb_decision *out);

/* The names of the PB_DECIDE_* bits set in flags, joined by sep
 * ("no-subaccount,several-capabilities"), into buf; returns buf. */
const char *pb_decide_flags(unsigned flags, const char *sep, char *buf, size_t cap);

/* Writes the decision as one JSON object (no newline) into buf:
 * {"decision_id":ID,"result":"allow"|"deny","allow":B,"version":N,"at":TIME,
 *  "reason":{"why":..,"plan":..,"case":..,"effect":..,"rule":I,"selector":..},
 *  (rule: the 1-based position of the rule in its version)
 *  "unknown":[..],"input":{..}}. decision_id is left out when id is NULL.
 * Input strings are escaped and cut at 256 bytes. Returns the length written,
 * or 0 when cap is too small (then buf holds an empty string). */
size_t pb_decision_json(const struct pb_decision *d, const struct pb_decide_request *req,
                        const char *id, char *buf, size_t cap);

/* ===================================================================== */
/* Internal communications                                               */
/* ===================================================================== */

/* ===================================================================== */
/* Reports                                                               */
/* ===================================================================== */

#ifdef __cplusplus
}
#endif
#endif /* PROBITY_H */
