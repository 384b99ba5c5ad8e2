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

/* ===================================================================== */
/* Customers and profiles                                                */
/* ===================================================================== */

/* ===================================================================== */
/* Change detection                                                      */
/* ===================================================================== */

/* ===================================================================== */
/* Policy indicators                                                     */
/* ===================================================================== */

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

/* ===================================================================== */
/* Internal communications                                               */
/* ===================================================================== */
/* The provider's own mail and chat archives (never the customer's content):
 * ingest of mbox files, maildir trees and .eml files (through GMime), Slack
 * workspace exports (folder or zip) and Microsoft Teams JSON exports; search
 * inside a case with a notmuch-like query language over SQLite FTS5; hit
 * reports per term; tags; export of hits with the SHA-256 of each source
 * message and a Concordance load file; offline verification of an export.
 * Every search, export, tag and view is recorded in the case's audit log in
 * the same transaction. docs/mail.md is the guide and the format reference. */

/* Flags of a message (pb_mail_hit.flags). */
#define PB_MAIL_ENCRYPTED 0x01u  /* holds an encrypted part: that part is not indexed */
#define PB_MAIL_SIGNED 0x02u     /* holds a signature or opaque signed data: not verified,
                                  * not indexed (clear-signed text is indexed) */
#define PB_MAIL_EXCEPTION 0x04u  /* read with warnings: see pb_mail_exceptions */
#define PB_MAIL_TRUNCATED 0x08u  /* its text was over the cap: the start is indexed */
#define PB_MAIL_UNPARSED 0x10u   /* too large to parse: only its bytes are registered */
#define PB_MAIL_PARTIAL 0x20u    /* a message/partial fragment (not reassembled) */
#define PB_MAIL_ATTACHMENT 0x40u /* has attachments */
#define PB_MAIL_FLAG_COUNT 7
/* The name of one flag bit ("encrypted", ...), or NULL for an unknown bit. */
const char *pb_mail_flag_name(unsigned bit);

struct pb_mail_ingest_options {
	const char *custodian;   /* whose mailbox or archive this is, or NULL */
	const char *actor;       /* recorded with the batch, or NULL */
	pb_progress_fn progress; /* may be NULL */
	void *progress_ctx;
};

/* Counts of one ingest; they reconcile:
 *   files_seen    = files_ingested + files_skipped + files_failed
 *   messages_seen = messages_new + duplicates */
struct pb_mail_ingest_report {
	int64_t batch_id;
	uint64_t files_seen;
	uint64_t files_ingested;
	uint64_t files_skipped;  /* already ingested: same SHA-256 and custodian */
	uint64_t files_failed;   /* could not be read at all; each is an exception */
	uint64_t messages_seen;  /* every message found, copies included */
	uint64_t messages_new;
	uint64_t duplicates;     /* same Message-ID and body hash as a message held: one
	                          * more location of that message */
	uint64_t exceptions;     /* processing exceptions recorded */
	uint64_t messages_with_exceptions;
	uint64_t bytes;          /* bytes of the files read */
	double seconds;
};

/* Ingests the files and folders in paths (npaths of them) in one transaction:
 * a failure or an interruption leaves the workspace as it was. What cannot be
 * read is not a failure: it is kept as a processing exception and counted.
 * Fails with PB_ENOENT when a path does not exist, PB_EINTR when progress
 * returned false. rep may be NULL. */
enum pb_status pb_mail_ingest(struct pb_ws *ws, const char *const *paths, size_t npaths,
                              const struct pb_mail_ingest_options *opts,
                              struct pb_mail_ingest_report *rep, struct pb_error *err);

/* One processing exception. Views valid during the callback only. */
struct pb_mail_exception {
	int64_t id;
	int64_t batch_id;
	int64_t msg_id;        /* the message kept with this warning, or 0 (nothing kept) */
	const char *path;      /* the file */
	const char *member;    /* path inside a zip export, or "" */
	uint64_t offset;       /* where in the file (or member) */
	uint64_t length;
	const char *severity;  /* "warning": the message is kept; "error": not readable */
	const char *kind;      /* "unreadable-file", "invalid-charset", "encrypted", ... */
	const char *detail;
};
/* Calls fn for each exception of batch_id (0: all), in order; fn returns false
 * to stop. */
typedef bool (*pb_mail_exception_fn)(void *ctx, const struct pb_mail_exception *e);
enum pb_status pb_mail_exceptions(struct pb_ws *ws, int64_t batch_id, pb_mail_exception_fn fn,
                                  void *ctx, struct pb_error *err);

struct pb_mail_stats {
	uint64_t batches, files, messages, locations, threads, attachments, exceptions;
	uint64_t email, slack, teams;  /* messages by kind */
	int64_t first_date, last_date; /* 0 when no dated message */
};
enum pb_status pb_mail_stats_get(struct pb_ws *ws, struct pb_mail_stats *out,
                                 struct pb_error *err);

/* One hit of a search. Strings are owned by the pb_mail_result. */
struct pb_mail_hit {
	int64_t id;              /* the message number in this workspace */
	const char *message_id;
	const char *kind;        /* "email", "slack", "teams" */
	int64_t date;            /* 0 with has_date false when the message has no date */
	bool has_date;
	const char *from, *to, *cc, *subject;
	const char *channel;     /* chat only, else "" */
	const char *custodians;  /* of every location, comma separated */
	const char *tags;        /* this case's tags, comma separated */
	const char *snippet;     /* an excerpt; hits between hl_open and hl_close */
	int64_t thread;
	uint32_t thread_size;    /* messages held in the thread */
	uint32_t locations;
	unsigned flags;          /* PB_MAIL_* */
	const char *body_sha256; /* with message_id, the dedupe key */
	const char *raw_sha256;  /* of the source bytes of its first location */
};

struct pb_mail_result {
	char *query;
	int64_t case_id;
	uint64_t total;          /* every hit */
	size_t nhits;            /* hits described here: total, or the limit */
	struct pb_mail_hit *hits;
	uint64_t threads;        /* distinct threads among all hits */
	char result_sha256[65];  /* see docs/mail.md: over all hits, not only those listed */
	void *priv;
};

struct pb_mail_search_options {
	const char *actor;       /* recorded in the log; required */
	size_t limit;            /* hits described (0: all) */
	bool newest_first;       /* default: oldest first */
	const char *hl_open;     /* default "[" */
	const char *hl_close;    /* default "]" */
	bool ids_only;           /* hits carry id, message_id, thread and body_sha256
	                          * only: the other strings are NULL, kind is "", no
	                          * snippets (fast, for --ids) */
};

/* Runs query inside the case case_ref and records the search (actor, query,
 * time, hit count, result hash) in the case's log in the same transaction.
 * Query errors are PB_EINVAL with the column in err->column. */
enum pb_status pb_mail_search(struct pb_ws *ws, const char *case_ref, const char *query,
                              const struct pb_mail_search_options *opts,
                              struct pb_mail_result **out, struct pb_error *err);
void pb_mail_result_free(struct pb_mail_result *r);

/* Checks a query's syntax; *canonical (may be NULL) gets the parsed tree as
 * text (free with free()). */
enum pb_status pb_mail_query_check(const char *query, char **canonical, struct pb_error *err);

/* Hit report of one term (one query) among a list. */
struct pb_mail_term_report {
	char *query;
	uint64_t hits;           /* messages the query hits */
	uint64_t unique_hits;    /* hit by this query and by no other of the list */
	uint64_t with_family;    /* hits plus every other message of their threads */
	char result_sha256[65];
};
struct pb_mail_hit_report {
	size_t nterms;
	struct pb_mail_term_report *terms;
	uint64_t total_hits;     /* distinct messages hit by any term */
	uint64_t total_family;   /* those with their threads */
	int64_t case_id;
};
/* Runs each query (one search each in the log) in one transaction. A bad
 * query fails the whole report with err->line set to its 1-based index. */
enum pb_status pb_mail_hit_report(struct pb_ws *ws, const char *case_ref,
                                  const char *const *queries, size_t n, const char *actor,
                                  struct pb_mail_hit_report **out, struct pb_error *err);
void pb_mail_hit_report_free(struct pb_mail_hit_report *r);

struct pb_mail_export_options {
	const char *actor;       /* required */
	const char *prefix;      /* document number prefix, default "PB" (PB000001) */
};
struct pb_mail_export_report {
	uint64_t documents;
	uint64_t bytes;          /* bytes of natives written */
	char result_sha256[65];
	char manifest_sha256[65];
};
/* Exports every hit of query to the folder dir (absent or empty): natives/
 * (original bytes), text/ (extracted text), manifest.csv, export.dat
 * (Concordance, UTF-8 with BOM), export.json and SHA256SUMS. The source bytes
 * of each hit are re-read and checked against their recorded SHA-256 first;
 * a changed archive fails with PB_EVERIFY and writes nothing. The export is
 * recorded in the case's log; the folder appears only when that commits. */
enum pb_status pb_mail_export(struct pb_ws *ws, const char *case_ref, const char *query,
                              const char *dir, const struct pb_mail_export_options *opts,
                              struct pb_mail_export_report *rep, struct pb_error *err);

struct pb_mail_verify_options {
	bool skip_archive;        /* check the export's own files only */
	const char *archive_root; /* re-root recorded source paths that moved, or NULL */
	const char *archive_from; /* ... the recorded prefix to replace by archive_root */
};
struct pb_mail_verify_report {
	uint64_t documents;
	uint64_t files_checked;   /* export files hashed */
	uint64_t archive_checked; /* source messages re-read from the archive */
	uint64_t problems;
};
/* Called for each problem found: doc is the document number or a file name. */
typedef void (*pb_mail_verify_fn)(void *ctx, const char *doc, const char *problem);
/* Re-hashes every file of an export against its manifest and SHA256SUMS and,
 * unless skip_archive, re-reads each message from the archive at its recorded
 * place and compares. Needs no workspace. Any mismatch: PB_EVERIFY. */
enum pb_status pb_mail_export_verify(const char *dir, const struct pb_mail_verify_options *opts,
                                     pb_mail_verify_fn fn, void *ctx,
                                     struct pb_mail_verify_report *rep, struct pb_error *err);

/* Tags (or with remove, untags) the message msg_ref ("123" or a Message-ID)
 * within the case; a change is recorded in the log, a no-op is not and sets
 * *changed (may be NULL) to false. Tags: 1-64 bytes of letters, digits and
 * - _ . / + : (no spaces). */
enum pb_status pb_mail_tag(struct pb_ws *ws, const char *case_ref, const char *msg_ref,
                           const char *tag, bool remove, const char *actor, bool *changed,
                           struct pb_error *err);
/* Tags every hit of query; *count gets the number of messages changed. */
enum pb_status pb_mail_tag_query(struct pb_ws *ws, const char *case_ref, const char *query,
                                 const char *tag, bool remove, const char *actor,
                                 uint64_t *count, struct pb_error *err);

/* One message as JSON (metadata, flags, locations with hashes, attachments,
 * exceptions, this case's tags, and its text unless no_text), recorded in the
 * case's log as a view. *json is a heap string. */
enum pb_status pb_mail_show(struct pb_ws *ws, const char *case_ref, const char *msg_ref,
                            const char *actor, bool no_text, char **json,
                            struct pb_error *err);


/* ===================================================================== */
/* Reports                                                               */
/* ===================================================================== */

#ifdef __cplusplus
}
#endif
#endif /* PROBITY_H */
