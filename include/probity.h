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
	PB_ESTATEMENT, /* the write was stopped to hand out its statement
	                  (pb_sign_opts.statement_only; pb_ws_statement) */
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
	/* The caller's argument the error is about, by its name in this API
	 * ("actor", "reason", "until", "max_record", ...), or "". Messages name
	 * arguments this way too, never a front's word for them (a command-line
	 * flag, a form field): each front maps field to its own word. */
	char field[32];
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
/* Text, times and buffers the fronts share                              */
/* ===================================================================== */
/* Small domain-free helpers the library uses and the fronts (cli/, server/)
 * need for the same job: views, hex, JSON and CSV text, UTC times and days. */

#if defined(__GNUC__)
#define PB_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#else
#define PB_PRINTF_(f, a)
#endif

/* A view of n bytes at s. */
static inline struct pb_str pb_str_of(const char *s, size_t n)
{
	struct pb_str v = { s, n };
	return v;
}

struct pb_str pb_cstr(const char *s);
bool pb_str_eq(struct pb_str a, struct pb_str b);
bool pb_str_eq_cstr(struct pb_str a, const char *s);
bool pb_str_ieq_cstr(struct pb_str a, const char *s);  /* ASCII case-insensitive */
struct pb_str pb_str_trim(struct pb_str s);             /* ASCII spaces and tabs */

/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * On failure *bad (if not NULL) gets the offset of the first bad byte. */
bool pb_utf8_valid(const char *s, size_t n, size_t *bad);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void pb_hex(const uint8_t *in, size_t n, char *out);
/* Parses exactly 2n hex digits into out; false on a bad digit or length. */
bool pb_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n);

/* A byte buffer that refuses to grow past limit (PB_ELIMIT). data is always
 * NUL-terminated after len (the NUL is not counted). */
struct pb_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
};
void pb_buf_init(struct pb_buf *b, size_t limit);
void pb_buf_release(struct pb_buf *b);
void pb_buf_reset(struct pb_buf *b);
enum pb_status pb_buf_reserve(struct pb_buf *b, size_t extra);
enum pb_status pb_buf_add(struct pb_buf *b, const void *p, size_t n);
enum pb_status pb_buf_adds(struct pb_buf *b, const char *s);
enum pb_status pb_buf_addc(struct pb_buf *b, char c);
enum pb_status pb_buf_printf(struct pb_buf *b, const char *fmt, ...) PB_PRINTF_(2, 3);
/* Appends s as a JSON string literal (quoted, escaped as pb_json_escape). */
enum pb_status pb_buf_json_str(struct pb_buf *b, const char *s, size_t n);
/* Escapes s[0..n) as the inside of a JSON string into out (cap bytes, not
 * terminated): '"', '\\' and controls escaped, valid UTF-8 copied, every byte
 * of an invalid UTF-8 sequence written as \ufffd, so the result is always
 * valid JSON. Stops before the first unit that does not fit. Returns the input
 * bytes consumed and sets *outlen to the bytes written. The one JSON string
 * escaper: the CLI's, the server's and the decision log's. */
size_t pb_json_escape(char *out, size_t cap, size_t *outlen, const char *s, size_t n);
/* Appends s as one CSV field (RFC 4180: quoted when needed, quotes doubled). */
enum pb_status pb_buf_csv_field(struct pb_buf *b, const char *s, size_t n);

/* Rounds an exact decimal given as text (as the library gives sums and
 * figures: "49782185.394019266666666", "-0.5") half away from zero to places
 * decimals (at most 15), for display, and writes it with exactly that many
 * ("49782185.39" for 2; "3" for 0) into buf (cap bytes; 64 are always
 * enough). Returns false, writing nothing, when s is not a decimal, places is
 * over 15 or buf is too small. */
bool pb_dec_text_round(const char *s, unsigned places, char *buf, size_t cap);

#define PB_TIME_NONISO 0x1  /* parsed, but not the spec form YYYY-MM-DDTHH:MM:SSZ */
#define PB_TIME_DATEONLY 0x2 /* only a date was given */

/* Parses an ISO 8601 date-time as real exports write it: "2024-09-18T22:00:00Z",
 * "2024-09-18 22:00:00", with fractions of a second, without seconds, with an
 * offset (+02:00, +0200) or none (read as UTC), or a date alone. Fractions are
 * dropped. *flags gets PB_TIME_* bits. Returns false when it does not parse. */
bool pb_time_parse(const char *s, size_t n, int64_t *out, unsigned *flags);
/* "2024-09-18T22:00:00Z" into buf (at least 21 bytes). */
void pb_time_format(int64_t t, char *buf);
/* "2024-09-18" into buf (at least 11 bytes) for a day number. */
void pb_day_format(int64_t day, char *buf);

/* Floor division that works for negatives. */
static inline int64_t pb_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
/* Current time in seconds since 1970 (UTC). */
int64_t pb_now(void);

/* Fills buf with cryptographically secure random bytes. */
void pb_random(void *buf, size_t n);

/* ===================================================================== */
/* Workspace                                                             */
/* ===================================================================== */
/* A workspace is a folder: probity.db (SQLite, WAL), probity.conf (settings,
 * key = value lines), pseudonym.key and signing.key (32 random bytes each,
 * mode 0600; or in a key folder apart, docs/keys.md), plus rejects/ and
 * sources/ folders. */

struct pb_ws;

struct pb_ws_init_options {
	bool keep_names;   /* store customer-chosen names in clear (default: pseudonymise) */
	const char *name;  /* a label for the workspace, or NULL */
	const char *user;  /* the default acting user written to probity.conf (`user =`),
	                      or NULL; the caller then adds it (pb_user_add) */
	const char *log_origin; /* the audit log's origin and key name (`log_origin =`),
	                           or NULL for probity.example/<name>; fixed at the
	                           log's first entry (docs/caselog.md) */
	const char *key_dir; /* a folder outside the workspace for pseudonym.key and
	                        signing.key (created 0700 if missing; it must hold
	                        neither), recorded as `key_dir =`; NULL: in the
	                        workspace folder (docs/keys.md) */
	bool unsigned_actors; /* false (the default): every state change must be
	                         signed by its actor's own SSH key (docs/identity.md);
	                         true: actors are claimed names, said by every
	                         command that reads the workspace. Recorded as
	                         `actors =` and fixed at the log's first entry. */
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
/* The same, with the keys looked for in key_dir instead of where the
 * workspace's `key_dir` setting (or the folder itself) says; key_dir NULL or
 * "" is pb_ws_open. Fronts pass PROBITY_KEY_DIR here. */
enum pb_status pb_ws_open_keys(const char *dir, unsigned flags, const char *key_dir,
                               struct pb_ws **out, struct pb_error *err);
void pb_ws_close(struct pb_ws *ws);

/* The workspace folder, as given to pb_ws_open. */
const char *pb_ws_path(const struct pb_ws *ws);
/* The folder its keys are read from (the workspace folder unless set apart). */
const char *pb_ws_key_dir(const struct pb_ws *ws);
/* The schema version of the open database, and the version this library writes. */
int pb_ws_schema_version(const struct pb_ws *ws);
int pb_schema_version_current(void);

/* Reads a setting from probity.conf; returns NULL when unset. The string is
 * owned by ws. */
const char *pb_ws_setting(const struct pb_ws *ws, const char *key);

/* True when the workspace's actors are signed: every state change carries a
 * signature by its actor's own key (docs/identity.md). The log's first entry
 * decides ("actors":"signed"; a first entry without the member, made before
 * signed actors, is unsigned); before it exists, probity.conf's `actors`
 * (anything but "unsigned" or absent is signed). Fronts say on stderr, once,
 * when it is false: the actors of such a workspace are claimed names. */
bool pb_ws_actors_signed(struct pb_ws *ws);

/* How the writes of a signed workspace are signed (docs/identity.md). Every
 * log entry but a web session's carries an OpenSSH SSHSIG signature by its
 * actor's own key over a canonical statement of what it does and the log
 * it was made against; the library refuses, at write time, a signature that
 * does not verify against a key registered to the actor and valid now, a
 * statement made against another log, or a nonce used before.
 *   identity_file  an unencrypted OpenSSH private key file (as ssh -i), or
 *   agent_socket   an ssh-agent (fronts pass $SSH_AUTH_SOCK): the first of
 *                  its keys registered to the actor signs;
 *   statement_only the detached flow, step 1: the first write that needs a
 *                  signature stops with PB_ESTATEMENT, nothing written, and
 *                  pb_ws_statement() gives the statement to sign elsewhere
 *                  (ssh-keygen -Y sign -n NAMESPACE);
 *   statement, signature  step 3: the statement handed out and its armoured
 *                  signature ("-----BEGIN SSH SIGNATURE-----"): the write
 *                  must be the one the statement says (else PB_EVERIFY), and
 *                  a command that writes more than one signed entry is
 *                  refused (PB_ESTATE).
 * The strings are copied; opts NULL: nothing to sign with. Unsigned
 * workspaces ignore all of it. */
struct pb_sign_opts {
	const char *agent_socket;
	const char *identity_file;
	bool statement_only;
	const char *statement;
	size_t statement_len;
	const char *signature;
	size_t signature_len;
	/* A WebAuthn assertion over the statement (the web app's passkeys,
	 * docs/identity.md): each base64url without padding, as the browser's
	 * PublicKeyCredential gives it; statement must be set. The assertion's
	 * challenge is SHA-256 of the statement (pb_passkey_challenge). */
	const char *webauthn_credential_id;
	const char *webauthn_authenticator_data;
	const char *webauthn_client_data_json;
	const char *webauthn_signature;
};
enum pb_status pb_ws_set_signing(struct pb_ws *ws, const struct pb_sign_opts *opts,
                                 struct pb_error *err);
/* After PB_ESTATEMENT: the statement (text, owned by ws) and the SSHSIG
 * namespace it must be signed in ("probity@v1", "probity-approve@v1");
 * NULL before. */
const char *pb_ws_statement(const struct pb_ws *ws, const char **ns);
/* A detached signature is made between two runs of the same write: the
 * statement step and the signed step. A write whose statement holds the
 * time it is made at (plan apply's "from") must be made at the same time in
 * both: the front reads the time of the first step (pb_now) and sets it on
 * the second with this. t must be at most PB_CLOCK_MAX_AGE seconds ago and
 * not in the future (PB_EINVAL, field "at": "sign again"); 0 clears it. */
#define PB_CLOCK_MAX_AGE 600
enum pb_status pb_ws_set_clock(struct pb_ws *ws, int64_t t, struct pb_error *err);

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
	const char *actor;         /* acting user (analyst or admin); NULL = the workspace default */
	unsigned threads;          /* threads in all (reading + parsing); 0 = one per CPU */
	size_t max_record;         /* longest record in bytes; 0 = 1 MiB */
	size_t chunk_size;         /* bytes handed to a parser at a time; 0 = 4 MiB + 64 KiB */
	size_t tree_chunk;         /* leaf size of the tree hash (64 B to 16 MiB); 0 = 1 MiB */
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

/* A tree hash as text: "mth-sha256:<chunk>:<64 hex>" (docs/ingest.md). */
#define PB_TREE_ID_LEN 96

struct pb_ingest_report {
	char name[256];           /* as given */
	char sha256[65];          /* the source's key: the root of `tree` (file SHA-256 before schema 9) */
	char tree[PB_TREE_ID_LEN];      /* tree hash of the file's bytes: its identity */
	char data_tree[PB_TREE_ID_LEN]; /* tree hash of the decompressed bytes (= tree when plain) */
	uint64_t size;            /* raw bytes */
	char compression[8];      /* none, gzip, zstd, parquet (the file as a whole) */
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
	char sha256[65];          /* the key: the root of tree, or (older sources) the file SHA-256 */
	char tree[PB_TREE_ID_LEN];      /* "" for sources ingested before the tree hash */
	char data_tree[PB_TREE_ID_LEN];
	char file_sha256[65];     /* the plain SHA-256, once computed (pb_usage_source_sha256) */
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
/* Reads source id's file once more for its plain SHA-256 (what sha256sum
 * prints), checks the file still has the recorded tree hash, and stores the
 * SHA-256 with the source (a read-write workspace; PB_EVERIFY when the file
 * has changed). */
enum pb_status pb_usage_source_sha256(struct pb_ws *ws, int64_t id, char out[65],
                                      struct pb_error *err);
/* The tree hash of the file at path (raw bytes) at chunk bytes a leaf (0 =
 * 1 MiB) into id; for a gzip or zstd file also the tree of its decompressed
 * bytes into data_id (else data_id = id). Either may be NULL. */
enum pb_status pb_tree_file(const char *path, size_t chunk, char id[PB_TREE_ID_LEN],
                            char data_id[PB_TREE_ID_LEN], struct pb_error *err);
/* Checks a line-proof bundle (folder dir, written by pb_evidence_prove)
 * against the tree hash root ("mth-sha256:..."), with nothing else: every
 * chunk's inclusion proof, and that each cited line range lies in its
 * chunks. *json (free()) describes what was checked, also on PB_EVERIFY. */
enum pb_status pb_line_proof_check(const char *dir, const char *root, char **json,
                                   struct pb_error *err);
/* The same over the manifest text alone, with chunk files read by fn (for
 * the fuzz target); fn returns false when a chunk is not there. */
typedef bool (*pb_line_proof_chunk_fn)(void *ctx, const char *name, struct pb_buf *out);
enum pb_status pb_line_proof_check_text(const char *manifest, size_t n, const char *root,
                                        pb_line_proof_chunk_fn fn, void *ctx, char **json,
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
/* actor: the acting user (an analyst or admin), NULL for the workspace
 * default. The change and its audit-log entry commit together. */
enum pb_status pb_customer_add(struct pb_ws *ws, const char *actor, const char *name,
                               const char *const *accounts, size_t naccounts,
                               const char *const *subaccounts, size_t nsubaccounts,
                               struct pb_error *err);
/* Removes a customer (PB_ENOENT when unknown). */
enum pb_status pb_customer_remove(struct pb_ws *ws, const char *actor, const char *name,
                                  struct pb_error *err);
/* All customers by name; free *out with free(). */
enum pb_status pb_customer_list(struct pb_ws *ws, struct pb_customer_info **out, size_t *n,
                                struct pb_error *err);
/* One customer and its accounts; free *accounts with free(). */
enum pb_status pb_customer_show(struct pb_ws *ws, const char *name, struct pb_customer_info *info,
                                struct pb_customer_account **accounts, size_t *n,
                                struct pb_error *err);

/* The profile API (pb_profile_*) is declared after the change-detection
 * section below, whose types it uses. */


/* ===================================================================== */
/* Change detection                                                      */
/* ===================================================================== */
/* Level shifts and spikes on one series of (time, value) points, found by a
 * streaming detector that is cheap (O(window) memory, about a microsecond a
 * point at most) and explains itself: every change says when it started, what
 * was expected, what was seen, against which baseline, and how it compares
 * with the largest deviation seen before. docs/detection.md has the method.
 *
 * The method, per point: the expected value is either the median of the last
 * `window` points (level baseline) or, when the series repeats with a period
 * and that predicts it better, the median of the same moment in the last
 * three periods (seasonal baseline). The deviation from it is measured on the
 * point itself and on the means of the last 4, 16 and 64 points (scales), so
 * that a spike, a burst and a small lasting shift are all seen. A point raises
 * a change when, on some scale, its deviation is larger than every earlier
 * deviation on that scale in the last `memory` points (ratio > min_ratio).
 * After a change the detector stays quiet until the series has settled (no
 * repeated alerts for the same shift), unless a change at least
 * escalate_ratio times as large comes. One configuration serves every series;
 * the detector never sees labels. */

/* The detector's settings; pb_detect_config_init sets the defaults given
 * here, which are the ones measured on NAB (docs/detection.md). Counts are in
 * points, not in time, so that one setting fits 5-minute and daily series. */
struct pb_detect_config {
	uint32_t window;       /* points in the level baseline (median), >= 8; 700 */
	uint32_t scales;       /* smoothing scales 1, 4, 16, ...: 1 to 6; 4 (up to 64) */
	uint32_t period;       /* seasonal period in points; 0 = from the time step
	                          (a day for sub-daily series, a week for daily
	                          ones), PB_DETECT_NO_SEASON = none; default 0 */
	double season_gain;    /* the seasonal baseline is used when its typical
	                          error is below this share of the level baseline's; 0.7 */
	uint32_t season_halflife; /* half-life in points of those typical errors; 1000 */
	double noise_floor;    /* deviations under this many interquartile ranges
	                          of the window count as zero; 0.1 */
	double min_ratio;      /* a change needs a deviation above min_ratio times
	                          the largest earlier one on its scale; 1.0 */
	double release_ratio;  /* an open change ends once the ratio stays below
	                          this for `quiet` points ... ; 0.5 */
	uint32_t quiet;        /* ... ; 5 */
	uint32_t hold;         /* and not before `hold` points after it was raised; 25 */
	double escalate_ratio; /* while a change is open, a new record deviation
	                          more than this times the open change's |delta|
	                          closes it and raises a new change (a jump on top
	                          of a ramp); 0 = never; 2.0 */
	uint32_t warmup;       /* deviations a scale must have seen before it may
	                          raise a change; 64 */
	uint32_t memory;       /* "the largest earlier deviation" is the largest of
	                          the last `memory` points (to within memory/8),
	                          0 = of all points; 5000 */
	double spread;         /* a change is also raised when the points of the
	                          longest scale spread around the median more than
	                          their mean explains, by more than this many
	                          interquartile ranges of the window, and more than
	                          ever in `memory` (the series became more variable);
	                          0 = off; 1 */
	double own_bar;        /* a deviation is also a record when it is more than
	                          this many times the largest earlier one in its own
	                          direction (a drop against the earlier drops),
	                          however large the other direction's were; 0 = one
	                          bar for both directions; 10 */
	double renew_ratio;    /* once `hold` points have passed, a record in the open
	                          change's direction more than this times it (its
	                          |delta| and its scale's largest deviation since it
	                          opened) closes it and raises a new one, as
	                          escalate_ratio does before; 0 = escalate_ratio
	                          throughout; 0 */
	uint32_t job_periods;  /* sub-daily series (a period found from the time
	                          step): a record is not news (its ratio is cut to
	                          min(1, min_ratio)) when the scale's mean stood
	                          away from the median in the same direction, by at
	                          least job_share of its distance now, within
	                          job_window points of the same time of day on each
	                          of the last job_periods days (a daily job whose
	                          height creeps up); 0 = off, at most 7; 3 */
	uint32_t job_window;   /* points either side of one period ago; 6 */
	double job_share;      /* (0, 1]; 0.5 */
	uint32_t fast_window;  /* a further record test of the point (and, with
	                          fast_scales 2, the mean of 4) against the median
	                          of the last this many points, whose bar takes an
	                          open change's deviations only if it closes as a
	                          spike (a shift's onset is that median's lag);
	                          it may raise a change, not hold one open;
	                          at most `window` points are used; 0 = off; 64 */
	uint32_t fast_scales;  /* scales the fast_window test looks at, 1 or 2; 1 */
	double min_impact;     /* report a change only when |actual - expected| >=
	                          this, in the series' unit; 0 = no floor */
	double min_pct;        /* ... and when it is >= this percentage of
	                          |expected| (always true when expected is 0); 0 */
	/* pb_detect_regimes (offline segmentation) */
	double regime_penalty; /* a split must raise the log-likelihood by more
	                          than this times ln(n); 8 */
	uint32_t regime_min_len; /* points in the shortest regime, >= 3; 5 */
	double regime_level_share; /* level-or-line regimes need this share of
	                          regime_penalty: a split adds 3 parameters there
	                          (level, variance, place), 4 for AR(1) (a, b,
	                          variance, place); (0, 1], 0.75 */
};
#define PB_DETECT_NO_SEASON UINT32_MAX
#define PB_DETECT_MAX_WINDOW 1000000u
#define PB_DETECT_MAX_PERIOD 100000u

/* Sets cfg to the defaults. */
void pb_detect_config_init(struct pb_detect_config *cfg);
/* Checks a configuration; PB_EINVAL names the first bad field. */
enum pb_status pb_detect_config_check(const struct pb_detect_config *cfg, struct pb_error *err);

/* One point of a series, fed in the order the values were recorded. Values
 * are finite. Times should not decrease; when one does (a clock stepped back,
 * a late row) the point is kept in its place and its time is taken as the
 * previous point's ("keep order, clamp", docs/detection.md); equal times are
 * kept as two points (exports repeat an hour when clocks change). */
struct pb_point {
	int64_t t;  /* seconds since the epoch */
	double v;
};

enum pb_change_kind {
	PB_CHANGE_SPIKE,  /* the series went back within a few points */
	PB_CHANGE_SHIFT,  /* the series stayed at the new level */
	PB_CHANGE_TREND,  /* the series' growth rate changed (a ramp started,
	                     stopped or turned); pb_detect_regimes only */
};

/* One detected change. Indices are point positions in the series as fed. */
struct pb_change {
	size_t start;          /* first point of the change */
	size_t detected;       /* the point that raised it (start <= detected) */
	size_t end;            /* last point still away from the expected value;
	                          provisional (== detected) until the change closes */
	int64_t t_start, t_detected, t_end;
	enum pb_change_kind kind;
	int direction;         /* +1 up, -1 down */
	bool seasonal;         /* expected came from earlier periods, not the window */
	bool closed;           /* false while the detector still follows it */
	uint32_t scale;        /* points averaged by the deviation that fired: 1, 4, 16 ... */
	uint32_t period;       /* the seasonal period in points (0 when none) */
	double expected;       /* baseline at detection */
	double actual;         /* mean of the last `scale` points at detection */
	double delta;          /* actual - expected */
	double pct;            /* 100 delta / |expected|; +-INFINITY when expected is 0 */
	double ratio;          /* |delta| / largest earlier deviation on that scale
	                          (INFINITY when there was none) */
	double score;          /* ratio / (1 + ratio), in [0, 1], the ratio rounded
	                          up to a sixteenth of a doubling (4.4 %) */
	double event_mean;     /* mean value over [start, end] */
	size_t base_from, base_to; /* the points [base_from, base_to) behind expected:
	                          the window, or the same span one period earlier */
	bool own_direction;    /* ratio is against own_bar times the largest earlier
	                          deviation in the change's direction
	                          (pb_detect_config.own_bar), which was lower than
	                          the largest of both directions */
	bool fast;             /* raised by the fast stream: expected is the median
	                          of the last min(fast_window, window) points
	                          (pb_detect_config.fast_window) */
	bool spread;           /* raised by the spread of the last `scale` points
	                          (pb_detect_config.spread), not by their mean:
	                          ratio is spread_dev against the largest earlier */
	double spread_dev;     /* their mean distance from expected, less the
	                          distance of their mean, less `spread`
	                          interquartile ranges */
};

/* The streaming detector: feed points in time order, one at a time. */
struct pb_detector;

/* Creates a detector; cfg NULL means the defaults. Fails with PB_EINVAL for a
 * bad configuration, PB_ENOMEM. Free with pb_detector_free. */
enum pb_status pb_detector_new(const struct pb_detect_config *cfg, struct pb_detector **out,
                               struct pb_error *err);
void pb_detector_free(struct pb_detector *d);

/* What one point did. */
struct pb_detect_step {
	double score;          /* anomaly score in [0, 1]: ratio / (1 + ratio) of the
	                          strongest scale (its ratio rounded up to a
	                          sixteenth of a doubling: records within 4.4 % of
	                          each other score the same), 0 while a change is
	                          open */
	double ratio;          /* the strongest scale's deviation over its largest
	                          earlier one, whatever the state (also while a
	                          change is open, when score stays 0) */
	bool raised;           /* this point raised a new change (in change, which
	                          is left as it was otherwise) */
	bool closed;           /* a change closed at this point (in closed_change,
	                          likewise) */
	bool clamped;          /* the point's time was before the previous point's
	                          and was taken as that one's */
	double expected;       /* the point's expected value (its baseline on scale 1) */
	double lower, upper;   /* expected -/+ the bar of scale 1 for a drop and a
	                          rise (the largest earlier deviation, or own_bar
	                          times the largest in that direction when lower):
	                          a point outside is a record; NAN until the scale
	                          has seen `warmup` deviations */
	struct pb_change change;
	struct pb_change closed_change;
};

/* Feeds the next point. A time before the previous point's is clamped to it
 * (step->clamped). Fails with PB_EINVAL (and changes nothing) when v is not
 * finite. */
enum pb_status pb_detector_push(struct pb_detector *d, int64_t t, double v,
                                struct pb_detect_step *step, struct pb_error *err);
/* Closes the open change, if any, as of the last point fed; returns true and
 * fills *out when there was one. */
bool pb_detector_finish(struct pb_detector *d, struct pb_change *out);

/* Runs a detector over a whole series. *changes gets a new array of the
 * changes found, all closed, in time order (free it with free(); NULL when
 * none), *nchanges their count. scores, when not NULL, must hold n doubles and
 * gets each point's score. cfg NULL means the defaults. */
enum pb_status pb_detect_series(const struct pb_detect_config *cfg, const struct pb_point *pts,
                                size_t n, struct pb_change **changes, size_t *nchanges,
                                double *scores, struct pb_error *err);

/* Driver attribution. A component is one part of the series (a sub-account,
 * service, region, SKU ...): values[i] is its value at point i of the series,
 * for the same n points; components normally sum to the series. */
struct pb_detect_component {
	const char *name;
	const double *values;
};

/* What one component contributed to a change: the mean of its values over
 * the change's baseline points [base_from, base_to) (expected), over the change
 * [start, end] (actual), their difference, and its share of the sum of all
 * components' differences (shares add up to 1 when components sum to the
 * series; a component moving against the change has a negative share). */
struct pb_driver {
	size_t component;      /* index into the components given */
	double expected;
	double actual;
	double delta;
	double share;
};

/* Explains a change by its components: fills out[0..ncomp) with one entry per
 * component, sorted so that out[0] is the driver (the largest contribution in
 * the change's direction), then by decreasing contribution. n is the series
 * length; fails with PB_EINVAL when the change's points are not inside it or a
 * value is not finite. */
enum pb_status pb_detect_drivers(const struct pb_change *ch, const struct pb_detect_component *comps,
                                 size_t ncomp, size_t n, struct pb_driver *out,
                                 struct pb_error *err);

/* Regimes: an offline segmentation of a whole series, for "when did the
 * consumption regime change" over a history (docs/detection.md, "Regimes").
 * Within a regime the series follows y[i] = a + b y[i-1] + noise (a level,
 * or with b near 1 a drift: a ramp; a random walk), with its own a, b and
 * noise variance; a series whose day-to-day differences are anti-correlated
 * (independent noise around a level or a smooth path) has regimes that are
 * each a level or a line in time instead. Binary segmentation: the span is split where the Gaussian
 * log-likelihood gains most, when the gain (twice the log-likelihood ratio)
 * exceeds regime_penalty ln(n); then each side in turn. Scale-free (no unit,
 * no threshold in the series' unit), O(n) per split. */
struct pb_regime_change {
	size_t at;             /* first point of the new regime */
	int64_t t;             /* its time */
	enum pb_change_kind kind; /* PB_CHANGE_SHIFT (the level jumped),
	                          PB_CHANGE_TREND (the step per point changed) or
	                          PB_CHANGE_SPIKE (the first point was far off and
	                          the series came back) */
	double before, after;  /* median of the (up to) 7 points before `at`, and
	                          of the 7 from it */
	double slope_before, slope_after; /* median step per point in the regime
	                          before and in the one after */
	double gain;           /* the statistic: twice the log-likelihood ratio */
	double threshold;      /* what it had to exceed: regime_penalty ln(n)
	                          (times regime_level_share for lines) */
	size_t from, to;       /* the span [from, to) the split was searched in */
	bool lines;            /* the series' regimes are levels or lines in time
	                          (independent noise), not AR(1) */
	double noise_r1;       /* what decided it: the lag-1 autocorrelation of the
	                          series' day-to-day differences (below -0.25: lines) */
};

/* Segments pts[0..n) (times non-decreasing, values finite) into regimes;
 * *changes gets a new array (free()) of the changes between them in time
 * order, NULL when none. cfg NULL means the defaults. PB_EINVAL for a value
 * that is not finite or a bad configuration, PB_ENOMEM. */
enum pb_status pb_detect_regimes(const struct pb_detect_config *cfg, const struct pb_point *pts,
                                 size_t n, struct pb_regime_change **changes, size_t *nchanges,
                                 struct pb_error *err);

/* One point of a segmentation, in the shape cost-anomaly tools use. */
struct pb_regime_band {
	double expected;       /* the regime's one-step forecast a + b y[i-1]; on a
	                          change's first point the forecast of the regime
	                          before (what was expected before the change); NAN
	                          for the first point */
	double lower, upper;   /* expected -/+ PB_REGIME_BAND_SD residual standard
	                          deviations of that regime; NAN with expected */
	size_t change;         /* 1-based number of the change the point belongs to
	                          (its first point; for a spike, its points still
	                          outside the bands of the regime before), else 0 */
};
#define PB_REGIME_BAND_SD 3
/* Fills out[0..n) from the changes rg[0..nrg) that pb_detect_regimes gave for
 * the same points. PB_EINVAL when a change is not inside the series. */
enum pb_status pb_detect_regime_bands(const struct pb_point *pts, size_t n,
                                      const struct pb_regime_change *rg, size_t nrg,
                                      struct pb_regime_band *out, struct pb_error *err);

/* A short name for a change kind: "spike", "shift", "trend". */
const char *pb_change_kind_name(enum pb_change_kind k);

/* A series and its components read from CSV text (RFC 4180, UTF-8, LF or
 * CRLF): a header line, then one row per time. The first column is the time
 * (ISO 8601 as exports write it: "2024-03-01", "2024-03-01T10:00:00Z", ...),
 * every other column one component's value (a decimal number; an empty cell
 * is 0). The series is the row sum. Rows stay in file order: a row whose time
 * is before the previous row's (a clock stepped back, a late row) keeps its
 * place and takes the previous row's time (counted in `clamped`); a row with
 * the same time as the previous one is kept as its own point (`repeated`). A
 * missing time is a gap, not a zero: the series goes on with the next row
 * (`gaps` counts the steps more than 1.5 times the median step). */
struct pb_series_table {
	size_t n;            /* rows */
	size_t ncols;        /* value columns, 1 to PB_SERIES_MAX_COLS */
	char **names;        /* their header names */
	int64_t *times;      /* n times */
	double *values;      /* column-major: values[c * n + i] */
	struct pb_point *total; /* n points: (time, row sum) */
	size_t clamped;      /* rows whose time stepped back, clamped */
	size_t repeated;     /* rows with the same time as the row before (as read) */
	size_t gaps;         /* steps longer than 1.5 times the median step */
	int64_t step;        /* the median step between rows, seconds (0: one row) */
};
#define PB_SERIES_MAX_COLS 64
#define PB_SERIES_MAX_ROWS 10000000u
#define PB_SERIES_MAX_CELLS 20000000u /* rows x value columns */
#define PB_SERIES_MAX_FIELD 256 /* bytes in one field */

/* Parses data[0..len) into *out (released with pb_series_table_release, also
 * after a failure). file names the input in errors, which give its line and
 * column: PB_EFORMAT for bad CSV, a bad time or number, a wrong field count;
 * PB_ELIMIT over the caps above; PB_EINVAL for no rows. */
enum pb_status pb_series_table_parse(const char *data, size_t len, const char *file,
                                     struct pb_series_table *out, struct pb_error *err);
void pb_series_table_release(struct pb_series_table *t);

/* ---- charts ----------------------------------------------------------
 * Self-contained SVG (no scripts, no external fonts or links) sized for an A4
 * page (default 760 x 360 user units, text at least 11 units), with a title,
 * labelled axes with units, and a legend. Times are UTC; the x axis picks
 * day, month or year ticks from the span. */

struct pb_chart_options {
	const char *title;     /* drawn at the top; NULL for none */
	const char *y_label;   /* quantity on the y axis, e.g. "Storage" */
	const char *unit;      /* its unit, e.g. "GB-Months"; shown as "label (unit)" */
	double width, height;  /* 0 = 760 x 360 */
};

/* One stacked or plotted series: values[i] belongs to times[i]. */
struct pb_chart_series {
	const char *name;      /* legend entry */
	const double *values;
};

/* A stacked area chart of nseries series over n shared times (not going
 * backwards): the first series at the bottom of the stack; the legend lists
 * the top band first, like the picture. Negative values are drawn as zero. *svg gets a new NUL-terminated string (free with free()),
 * *len its length. Fails with PB_EINVAL for n < 2, nseries 0 or > 64, times not
 * increasing, or a non-finite value. */
enum pb_status pb_chart_stacked(const int64_t *times, size_t n, const struct pb_chart_series *series,
                                size_t nseries, const struct pb_chart_options *opts, char **svg,
                                size_t *len, struct pb_error *err);

/* A line chart of one series with its detected changes marked: a dashed line
 * at each change's start, the expected level over the change drawn as a dashed
 * segment against the actual values, and a label "expected X, actual Y".
 * pts as given to pb_detect_series; changes may be NULL when nchanges is 0. */
enum pb_status pb_chart_changes(const struct pb_point *pts, size_t n, const char *name,
                                const struct pb_change *changes, size_t nchanges,
                                const struct pb_chart_options *opts, char **svg, size_t *len,
                                struct pb_error *err);

/* Writes an SVG (or any text) to path atomically (mode 0600, whatever the umask). */
enum pb_status pb_chart_save(const char *path, const char *svg, size_t len, struct pb_error *err);

/* ===================================================================== */
/* Customers and profiles (continued): profiles                          */
/* ===================================================================== */
/* What a customer consumes, where, how much, and how it changed: its usage in
 * a period grouped by the dimensions asked for, with exact sums, growth, share
 * of the customer's spend and of everyone's usage of the same thing in the
 * workspace, and the sudden changes of each series with the driver that
 * explains them. docs/profile.md describes the figures. */

/* Dimensions a profile groups by. */
enum pb_profile_dim {
	PB_PROFILE_ACCOUNT = 0, /* billing account */
	PB_PROFILE_SUBACCOUNT,  /* sub-account (subscription, member account) */
	PB_PROFILE_CATEGORY,    /* FOCUS ServiceCategory */
	PB_PROFILE_SUBCATEGORY, /* FOCUS ServiceSubcategory */
	PB_PROFILE_SERVICE,     /* FOCUS ServiceName */
	PB_PROFILE_SKU,         /* FOCUS SkuMeter */
	PB_PROFILE_CAPABILITY,  /* catalog capability: "object-storage", ... */
	PB_PROFILE_REGION,      /* region id */
	PB_PROFILE_COUNTRY,     /* ISO 3166-1 alpha-2 country of the region */
	PB_PROFILE_MONTH,       /* calendar month, "2025-03" */
	PB_PROFILE_DAY,         /* day, "2025-03-01" */
	PB_PROFILE_DIM_COUNT
};
/* "account", "subaccount", "category", "subcategory", "service", "sku",
 * "capability", "region", "country", "month", "day". */
const char *pb_profile_dim_name(enum pb_profile_dim d);

#define PB_PROFILE_DAY_MIN INT64_MIN /* open start */
#define PB_PROFILE_DAY_MAX INT64_MAX /* open end */

struct pb_profile_options {
	int64_t from_day, to_day;  /* inclusive days since 1970-01-01; default open */
	enum pb_profile_dim by[PB_PROFILE_DIM_COUNT]; /* grouping, in display order */
	size_t nby;                /* default: category, service, region */
	const char *unit;          /* only usage in this normalised unit, or NULL */
	bool detect;               /* find sudden changes per series; default true */
	const struct pb_detect_config *detect_cfg; /* NULL = pb_profile_detect_config */
	double min_cost_per_day;   /* report a change only when its size in money a
	                              day is at least this; default 1 */
	double min_pct;            /* ... and at least this percentage of the expected
	                              level (a start from zero always passes); default 10 */
	uint32_t base_days;        /* a change's expected level: the median of the last
	                              this many days of the regime before it; default 28 */
};
/* Sets the defaults above. */
void pb_profile_options_init(struct pb_profile_options *o);
/* The detector settings profiles use by default: pb_detect_config_init's,
 * the one configuration `probity detect` uses too; the profile runs the
 * regimes detector (pb_detect_regimes) on each daily series (docs/profile.md). */
void pb_profile_detect_config(struct pb_detect_config *cfg);
/* Parses a --by list, names separated by commas ("capability,region,month"),
 * into o->by. PB_EINVAL for an unknown or repeated name (the message lists
 * the valid ones), for both month and day, or for an empty list. */
enum pb_status pb_profile_parse_by(const char *spec, struct pb_profile_options *o,
                                   struct pb_error *err);
/* Parses a date "YYYY-MM-DD" or a month "YYYY-MM" into a day number: a month
 * means its first day, or its last when end is true. PB_EINVAL otherwise. */
enum pb_status pb_profile_parse_day(const char *s, bool end, int64_t *day, struct pb_error *err);

/* Exact decimals are given as canonical text (see pb_dec in lib/util.h);
 * ratios as doubles, NAN when undefined. */
#define PB_PROFILE_DEC 48

/* One line of a profile: one value per grouping dimension. */
struct pb_profile_line {
	const char *dims[PB_PROFILE_DIM_COUNT]; /* dims[k] is the value of by[k]; "" when
	                                           the usage has none */
	const char *subaccount_name; /* when by has subaccount: its name as stored, or "" */
	const char *unit;            /* normalised consumed unit ("" when none) */
	const char *currency;        /* billing currency */
	size_t series;               /* the series this line belongs to */
	char quantity[PB_PROFILE_DEC]; /* exact sum, in unit */
	char cost[PB_PROFILE_DEC];     /* exact sum of billed cost, in currency */
	uint64_t rows;               /* daily aggregates summed */
	double share_of_spend;       /* cost / the customer's cost in that currency */
	double growth_prev;          /* quantity a day against the previous period,
	                                as a ratio (0.25 = +25 %); see docs/profile.md */
	double growth_window;        /* ... against the series' first period with usage */
	char first_period[11];       /* that first period: "2025-03" or a day */
	char all_quantity[PB_PROFILE_DEC]; /* everyone's usage of the same dimensions
	                                      (without account and sub-account), unit,
	                                      service, capability and region; "" when
	                                      the line's series mixes several services,
	                                      capabilities or regions */
	bool others;                 /* all_quantity includes other customers' usage */
	double share_of_all;         /* quantity / all_quantity; NAN unless others */
};

/* A series: the daily consumption of one line key without the time
 * dimensions (e.g. object storage in westeurope, GB-Months a day). */
struct pb_profile_series {
	char label[256];             /* "object-storage, westeurope (GB-Months)" */
	char short_label[128];       /* for legends: the dimensions only, a sub-account
	                                by its stored name when it has one */
	const char *dims[PB_PROFILE_DIM_COUNT]; /* as in lines; NULL for month/day */
	const char *unit, *currency;
	size_t n;                    /* days, first_day .. first_day + n - 1 */
	int64_t first_day;
	struct pb_point *points;     /* (time of the day, quantity) */
	double *cost;                /* billed cost per day */
	char quantity[PB_PROFILE_DEC], total_cost[PB_PROFILE_DEC];
};

/* The part of a change one dimension explains best. */
struct pb_profile_driver {
	const char *value;           /* the component ("" when none) */
	const char *name;            /* for a sub-account: its stored name, else "" */
	double share;                /* of the change (1 = all of it) */
	double delta;                /* its own change, units a day */
	size_t ncomponents;          /* distinct values in the series */
};

/* Dimensions a driver is looked for in. */
enum pb_profile_driver_dim {
	PB_DRIVER_SUBACCOUNT = 0,
	PB_DRIVER_SERVICE,
	PB_DRIVER_REGION,
	PB_DRIVER_SKU,
	PB_DRIVER_COUNT
};

/* One sudden change of a series. */
struct pb_profile_change {
	size_t series;
	struct pb_change change;     /* the detector's finding, indices days of the series,
	                                measured by the profile against the pre-change level:
	                                end is the last day away from `expected`, actual the
	                                mean of the change's last 7 days (the level reached),
	                                delta, pct and event_mean follow (docs/profile.md) */
	char start[11], detected[11], end[11]; /* days */
	bool ongoing;                /* still away from the expected level at the end */
	double price;                /* cost per unit over the change */
	double cost_delta;           /* change.delta * price: money a day */
	double excess;               /* sum over the change of (value - expected), units */
	double excess_cost;          /* excess * price */
	double statistic, threshold; /* the regimes' split statistic and what it beat
	                                (pb_regime_change gain and threshold) */
	struct pb_profile_driver drivers[PB_DRIVER_COUNT];
	enum pb_profile_driver_dim driver; /* the dimension that names the driver: the
	                                      one with several values whose leading
	                                      component explains most; sub-account when
	                                      every dimension has one value */
};

/* Totals per currency (unit NULL: the cost of everything) and per unit and
 * currency (unit "" for usage without a unit). */
struct pb_profile_total {
	const char *unit, *currency;
	char quantity[PB_PROFILE_DEC]; /* "" for the per-currency total */
	char cost[PB_PROFILE_DEC];
	uint64_t rows;
};

struct pb_profile {
	char customer[128];
	int64_t from_day, to_day;    /* the period asked (clipped to the usage loaded) */
	int64_t first_day, last_day; /* the customer's first and last day with usage in
	                                it; first_day > last_day when there is none */
	enum pb_profile_dim by[PB_PROFILE_DIM_COUNT];
	size_t nby;
	struct pb_profile_line *lines;   /* by cost, largest first (by time within a series) */
	size_t nlines;
	struct pb_profile_series *series; /* by cost, largest first */
	size_t nseries;
	struct pb_profile_change *changes; /* by |excess_cost|, largest first */
	size_t nchanges;
	struct pb_profile_total *totals;
	size_t ntotals;
	void *internal_;
};

/* Caps (PB_ELIMIT beyond them; narrow the period or the grouping). */
#define PB_PROFILE_MAX_ROWS 5000000u    /* daily aggregates of the customer */
#define PB_PROFILE_MAX_CELLS 20000000u  /* series x days */

/* Builds the profile of customer `name`. PB_ENOENT for an unknown customer,
 * PB_EINVAL for bad options (a period that ends before it starts), PB_ELIMIT,
 * PB_EDB. A period without usage is not an error: the profile has no lines.
 * Free with pb_profile_free. */
enum pb_status pb_profile_build(struct pb_ws *ws, const char *name,
                                const struct pb_profile_options *o, struct pb_profile **out,
                                struct pb_error *err);
void pb_profile_free(struct pb_profile *p);
/* What profiles show changes only together with a log entry usage.ingest,
 * customer.add or customer.remove, in the same transaction. Reads, as one
 * snapshot, the log's size into *size and the index of the last such entry
 * at or after index `from` into *last (-1 when there is none there): a front
 * that caches profiles keys them by that index and next time reads from the
 * size it saw (probity web's profile cache, docs/web.md). PB_EDB. */
enum pb_status pb_profile_data_version(struct pb_ws *ws, uint64_t from, uint64_t *size,
                                       int64_t *last, struct pb_error *err);

/* The index of the series whose label contains `match` (ASCII case folded),
 * preferring the one with the largest change; with match NULL, the series of
 * the largest change, else the largest series. SIZE_MAX when none. */
size_t pb_profile_pick_series(const struct pb_profile *p, const char *match);

/* SVG charts of a profile (through pb_chart_*). The stacked chart shows
 * consumption over time by series (monthly totals, or daily for spans up to
 * 92 days): at most max_series areas (0 = 8; up to 63), the largest ones and
 * the rest summed as "other"; when the series have different units it shows
 * billed cost instead (PB_EINVAL when currencies differ too). Legends name
 * the --by values that differ between the series drawn (a sub-account by its
 * stored name), cut to fit; values common to all go to the title. The series
 * chart shows one series a day with its changes marked. PB_EINVAL for a
 * profile without usage or of a single day or month. *svg is freed with
 * free(). */
enum pb_status pb_profile_chart_stacked(const struct pb_profile *p, size_t max_series,
                                        char **svg, size_t *len, struct pb_error *err);
enum pb_status pb_profile_chart_series(const struct pb_profile *p, size_t series, char **svg,
                                       size_t *len, struct pb_error *err);

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
 * catalog value, unit mismatch, undefined indicator, cycle, 'same:' over
 * parts of another grouping), PB_ELIMIT (over
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
	bool store;            /* record the scan and its findings (needs a writable ws),
	                          with an audit-log entry by actor */
	const char *actor;     /* acting user when storing (analyst or admin); NULL = the
	                          workspace default */
	bool explain;          /* say, for entities no rule matched, how far each
	                          indicator is from firing */
	bool matched_only;     /* results only for the entities a rule matched (the
	                          counts still cover every entity screened) */
};

/* Scans the workspace with policy p. *json (free with free()) gets the result
 * document described in docs/policy.md: per entity, every indicator with its
 * figure, threshold, window and whether it fired; for entities a rule matched,
 * the findings (with ids when stored) and the citations of each fired
 * indicator (source SHA-256, path, line ranges, aggregate keys, per-source
 * sums); a finding of a 'same:' rule names its group and cites its parts'
 * figures in that group. PB_ENOENT for an unknown customer; PB_EPERM when
 * storing into a read-only workspace. */
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
 * fired, severity), as 'probity scan --all'. *out is a heap string (free()).
 * Same as pb_policy_sql_by(p, d, at_day, PB_SQL_BY_ACCOUNT, out, err). */
enum pb_status pb_policy_sql(const struct pb_policy *p, enum pb_sql_dialect d, int64_t at_day,
                             char **out, struct pb_error *err);

/* What the compiled SQL evaluates the indicators for. */
enum pb_sql_entity {
	PB_SQL_BY_ACCOUNT = 0, /* every BillingAccountId of focus_cost_and_usage */
	PB_SQL_BY_CUSTOMER,    /* every customer of the table probity_customer */
};
/* As pb_policy_sql, with entity by: by customer, a usage row belongs to the
 * customer owning its whole billing account, else to the one owning its
 * sub-account (table probity_customer), else to nobody (it then counts only
 * in the totals of share-of-region), as in the native per-customer scan; the
 * entity column holds the customer's name. */
enum pb_status pb_policy_sql_by(const struct pb_policy *p, enum pb_sql_dialect d, int64_t at_day,
                                enum pb_sql_entity by, char **out, struct pb_error *err);

/* Writes, for dialect d, the DDL of the tables the compiled SQL reads and the
 * rows of the catalog tables (regions and their spellings, units, and the
 * capability of each service, meter and category triple seen in ws), and
 * ws's customers as probity_customer rows (one per billing account or
 * sub-account a customer owns); with
 * with_usage, also the workspace's daily aggregates as focus_cost_and_usage
 * rows. Region and unit spellings are read from the catalog files in
 * catalog_dir and resolved through cat. ws may be NULL (then no capability
 * triples, no customers and no usage). */
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
/* The stored finding `finding` (12 or F12) as the JSON document its scan
 * wrote (figures, thresholds, and each fired indicator's citations: source
 * SHA-256, name, line ranges), into *json (free()); viewing it is a log entry
 * "evidence.view" by actor (any role), subject finding/ID: who looked at
 * what, when (*index_out, may be NULL). PB_ENOENT for an unknown finding. */
enum pb_status pb_finding_view(struct pb_ws *ws, const char *actor, const char *finding,
                               char **json, uint64_t *index_out, struct pb_error *err);
/* Writes into folder dir (created; must not exist or be empty) a line-proof
 * bundle for every line range the finding cites: the chunks of the source's
 * decompressed stream that hold it, their inclusion proofs in the tree
 * data_tree and the byte offsets of the lines (docs/ingest.md, "Line
 * proofs"). pb_line_proof_check verifies it. *json (free()) summarises. */
enum pb_status pb_evidence_prove(struct pb_ws *ws, const char *finding, const char *dir,
                                 char **json, struct pb_error *err);

/* ===================================================================== */
/* Tamper-evident log                                                    */
/* ===================================================================== */
/* An RFC 6962 / RFC 9162 SHA-256 Merkle tree log with C2SP formats:
 * signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint),
 * tiles (c2sp.org/tlog-tiles), cosignatures (c2sp.org/tlog-cosignature) and
 * proof documents (c2sp.org/tlog-proof). This layer does not know what an
 * entry means; the workspace audit log (below, "Users, cases") builds on it.
 * docs/caselog.md describes the formats and the auditor's procedure. */

#define PB_TLOG_HASH_SIZE 32
#define PB_TLOG_MAX_PROOF 64          /* proof hashes for any tree of < 2^64 entries */
#define PB_TLOG_TILE_WIDTH 256        /* hashes in a full tile, entries in a full bundle */
#define PB_TLOG_ENTRY_MAX 65535       /* bytes in one entry (uint16 length in bundles) */
#define PB_NOTE_NAME_MAX 256          /* bytes in a key name or checkpoint origin */
#define PB_NOTE_MAX_SIGS 100          /* signature lines accepted in one note */
#define PB_NOTE_MAX_SIZE (1024 * 1024) /* bytes in a whole signed note */

/* Leaf hash SHA-256(0x00 || entry) and node hash SHA-256(0x01 || left || right). */
void pb_tlog_leaf_hash(const void *entry, size_t n, uint8_t out[32]);
void pb_tlog_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

/* A compact range: the roots of the perfect subtrees that make up the first
 * `size` leaves, largest first (one per set bit of size). Appending merges
 * equal neighbours like a binary counter; the root folds them from the right. */
struct pb_tlog_range {
	uint64_t size;
	size_t n;
	uint8_t level[64];
	uint8_t hash[64][32];
};
void pb_tlog_range_init(struct pb_tlog_range *r);
/* Appends one leaf hash. */
void pb_tlog_range_append(struct pb_tlog_range *r, const uint8_t leaf_hash[32]);
/* Appends the root of a perfect subtree of 2^level leaves; the range's size
 * must be a multiple of 2^level (PB_EINVAL otherwise). */
enum pb_status pb_tlog_range_append_subtree(struct pb_tlog_range *r, unsigned level,
                                            const uint8_t hash[32], struct pb_error *err);
/* The Merkle tree hash of the range (SHA-256("") when empty). */
void pb_tlog_range_root(const struct pb_tlog_range *r, uint8_t out[32]);

/* Verifies an inclusion proof (RFC 9162 2.1.3.2): leaf `index` with hash
 * leaf_hash is in the tree of `size` leaves whose root is `root`. PB_EVERIFY
 * (with the reason) when it is not; PB_EINVAL for an index beyond the tree. */
enum pb_status pb_tlog_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[32],
                                        const uint8_t (*proof)[32], size_t nproof,
                                        const uint8_t root[32], struct pb_error *err);
/* Verifies a consistency proof (RFC 9162 2.1.4.2) between the tree of size1
 * leaves with root1 and the tree of size2 with root2. Rules beyond the RFC
 * loop: size1 > size2 fails; size1 = size2 needs an empty proof and equal
 * roots; size1 = 0 always fails (as the transparency-dev verifier does: a
 * proof from the empty tree proves nothing; callers treat an empty old tree
 * as trivially consistent without calling this). */
enum pb_status pb_tlog_verify_consistency(uint64_t size1, uint64_t size2,
                                          const uint8_t (*proof)[32], size_t nproof,
                                          const uint8_t root1[32], const uint8_t root2[32],
                                          struct pb_error *err);

/* Where proof generation reads the tree: the hash of the perfect subtree at
 * `level` number `index` (leaves [index * 2^level, (index + 1) * 2^level)). */
typedef enum pb_status (*pb_tlog_hash_fn)(void *ctx, unsigned level, uint64_t index,
                                          uint8_t out[32], struct pb_error *err);
/* The Merkle tree hash of leaves [lo, hi) as it appears in the tree (lo must
 * be a multiple of the smallest power of two >= hi - lo). */
enum pb_status pb_tlog_subtree_hash(uint64_t lo, uint64_t hi, pb_tlog_hash_fn fn, void *ctx,
                                    uint8_t out[32], struct pb_error *err);
/* Inclusion proof for leaf index in the tree of size leaves (RFC 9162 PATH),
 * and consistency proof between sizes size1 and size2 (SUBPROOF, 0 < size1 <=
 * size2). proof needs PB_TLOG_MAX_PROOF rows; *nproof gets the count. */
enum pb_status pb_tlog_prove_inclusion(uint64_t index, uint64_t size, pb_tlog_hash_fn fn,
                                       void *ctx, uint8_t (*proof)[32], size_t *nproof,
                                       struct pb_error *err);
enum pb_status pb_tlog_prove_consistency(uint64_t size1, uint64_t size2, pb_tlog_hash_fn fn,
                                         void *ctx, uint8_t (*proof)[32], size_t *nproof,
                                         struct pb_error *err);

/* The C2SP tile path "tile/<L>/<N>[.p/<W>]", or "tile/entries/<N>[.p/<W>]"
 * when level < 0, for width 1..256 (256 = full). False when cap is too small. */
bool pb_tlog_tile_path(int level, uint64_t n, unsigned width, char *buf, size_t cap);

/* How many full tiles a tree of size leaves has at level (-1: entry
 * bundles, counted like level 0), and the width of its partial tile there
 * (0 when none). */
void pb_tlog_tile_counts(uint64_t size, int level, uint64_t *full, unsigned *partial);

/* A verifier key "name+XXXXXXXX+base64(type || public key)"; type 0x01 is an
 * Ed25519 log key, 0x04 an Ed25519 cosignature (witness) key. */
struct pb_vkey {
	char name[PB_NOTE_NAME_MAX + 1];
	uint32_t key_id;
	uint8_t type;
	uint8_t pub[32];
};
/* Parses a vkey (split at the first two '+'; the base64 may hold more).
 * Checks the name (non-empty, no '+', no spaces or controls), the type, the
 * key length and that the key ID matches. */
enum pb_status pb_vkey_parse(const char *s, size_t n, struct pb_vkey *out, struct pb_error *err);
/* Formats a vkey into buf (at least PB_NOTE_NAME_MAX + 64 bytes). */
void pb_vkey_format(const struct pb_vkey *k, char *buf, size_t cap);
/* True when name is a valid key name / origin for signed notes. */
bool pb_note_name_valid(const char *name, size_t n);

/* A signing key: Ed25519 seed with its name and type (0x01 or 0x04). */
struct pb_signer {
	struct pb_vkey vkey;
	uint8_t sk[64];
};
enum pb_status pb_signer_from_seed(const char *name, uint8_t type, const uint8_t seed[32],
                                   struct pb_signer *out, struct pb_error *err);
/* Parses Go's "PRIVATE+KEY+name+XXXXXXXX+base64(type || seed)" form. */
enum pb_status pb_signer_parse(const char *s, size_t n, struct pb_signer *out,
                               struct pb_error *err);
/* Wipes the secret key. */
void pb_signer_release(struct pb_signer *s);

/* One signature line of a note. */
struct pb_note_sig {
	char name[PB_NOTE_NAME_MAX + 1];
	uint32_t key_id;
	uint8_t sig[128];
	size_t siglen;       /* bytes after the key ID */
	uint64_t timestamp;  /* cosignatures (type 0x04) only, once verified */
	int verified_by;     /* index into the keys given to pb_note_open, or -1 */
};
/* A signed note: text is a view into the message given to pb_note_open. */
struct pb_note {
	struct pb_str text;       /* including its final newline */
	struct pb_note_sig *sigs; /* heap, nsigs entries */
	size_t nsigs;
	size_t nverified;
};
/* Parses a signed note and verifies the signatures of the given keys: a
 * signature line whose (name, key ID) matches a key must verify (else
 * PB_EVERIFY); others are ignored. With nkeys > 0 at least one must verify
 * (else PB_EVERIFY "no signature by a trusted key"); with nkeys = 0 the note is
 * only parsed. Release with pb_note_release. */
enum pb_status pb_note_open(const char *msg, size_t n, const struct pb_vkey *keys, size_t nkeys,
                            struct pb_note *out, struct pb_error *err);
void pb_note_release(struct pb_note *note);
/* One signature line "— name base64\n" over text (which must end in '\n')
 * into line (cap >= PB_NOTE_NAME_MAX + 128). timestamp is used by type 0x04. */
enum pb_status pb_note_signature_line(const struct pb_signer *s, const char *text, size_t n,
                                      uint64_t timestamp, char *line, size_t cap,
                                      struct pb_error *err);

/* A checkpoint's text (c2sp.org/tlog-checkpoint), parsed strictly: origin,
 * size in decimal without leading zeros, a base64 root of exactly 32 bytes,
 * optional non-empty extension lines; '\n' line ends, no other controls. */
struct pb_checkpoint {
	char origin[PB_NOTE_NAME_MAX + 1];
	uint64_t size;
	uint8_t root[32];
	size_t nextensions;
	char extensions[1024]; /* the extension lines, each ending in '\n' */
};
enum pb_status pb_checkpoint_parse(const char *text, size_t n, struct pb_checkpoint *out,
                                   struct pb_error *err);
/* Opens a signed checkpoint: pb_note_open with keys (nkeys >= 1), then the
 * strict parse of its text, then, when origin is not NULL, a check that the
 * checkpoint's origin is exactly that (PB_EVERIFY otherwise). */
enum pb_status pb_checkpoint_open(const char *msg, size_t n, const struct pb_vkey *keys,
                                  size_t nkeys, const char *origin, struct pb_checkpoint *out,
                                  struct pb_error *err);
/* "origin\nsize\nroot\n" (no extensions) into buf; returns the length, or 0
 * when cap is too small. */
size_t pb_checkpoint_format(const struct pb_checkpoint *c, char *buf, size_t cap);

/* Proof documents. An inclusion proof is c2sp.org/tlog-proof@v1: header,
 * optional "extra <base64>", "index <n>", proof hashes in base64 one a line, a
 * blank line, then the signed checkpoint. A consistency proof uses the
 * tlog-witness add-checkpoint body: "old <size>", proof hashes, a blank line,
 * the signed checkpoint of the new size. note is a view into the document. */
struct pb_tlog_proof_doc {
	bool consistency;   /* false: tlog-proof; true: add-checkpoint body */
	uint64_t index;     /* leaf index, or the old size */
	uint8_t proof[PB_TLOG_MAX_PROOF][32];
	size_t nproof;
	uint8_t extra[256];
	size_t extralen;
	struct pb_str note;
};
enum pb_status pb_tlog_proof_doc_parse(const char *doc, size_t n, struct pb_tlog_proof_doc *out,
                                       struct pb_error *err);

/* Writes the tiles and entry bundles of a log of `size` entries into dir
 * (c2sp.org/tlog-tiles layout; only what that tree needs: full tiles and the
 * last partial ones, stale partial tiles removed), syncs them, and gives the
 * root. Entries come in index order from next(). The checkpoint is the
 * caller's to write, after this returns. */
typedef enum pb_status (*pb_tlog_entry_fn)(void *ctx, uint64_t index, struct pb_str *entry,
                                           struct pb_error *err);
enum pb_status pb_tlog_write_tiles(const char *dir, uint64_t size, pb_tlog_entry_fn next,
                                   void *ctx, uint8_t root[32], struct pb_error *err);

/* Offline verification of an exported folder: the checkpoint's signature by
 * one of keys, every entry bundle against the level-0 tiles, every tile
 * against the hashes recomputed from below, the root against the checkpoint,
 * no file that the tree does not hold, and, when since is given (a signed
 * checkpoint kept earlier), that the log extends it: same origin, not smaller,
 * and the first since.size entries hash to its root. check (optional) is
 * called for every entry. On failure err names the first bad object and
 * res->bad_object holds its path (relative to dir). */
struct pb_tlog_verify_options {
	const struct pb_vkey *keys;
	size_t nkeys;
	const char *origin;    /* required origin, or NULL */
	const char *since;     /* an older signed checkpoint (note text), or NULL */
	size_t since_len;
	pb_tlog_entry_fn check;
	void *check_ctx;
	pb_progress_fn progress;
	void *progress_ctx;
};
struct pb_tlog_verify_result {
	struct pb_checkpoint checkpoint;
	uint64_t since_size;
	uint64_t tiles;   /* hash tiles checked */
	uint64_t bundles; /* entry bundles checked */
	char bad_object[512];
};
enum pb_status pb_tlog_verify_dir(const char *dir, const struct pb_tlog_verify_options *opts,
                                  struct pb_tlog_verify_result *res, struct pb_error *err);


/* ===================================================================== */
/* Users, cases                                                          */
/* ===================================================================== */
/* Users have one role each: analyst (opens and builds cases), approver
 * (notes and decisions; approves plans), auditor (reads and verifies),
 * admin (manages users). Every change names its acting user and is checked
 * against the role, then recorded in the workspace audit log (below) in the
 * same transaction. docs/caselog.md has the full matrix. */

#define PB_USER_NAME_MAX 64

/* Adds a user. The first user of a workspace must be an admin and acts for
 * itself (actor may be NULL then); afterwards actor must be an admin.
 * Names: 1-64 characters of [A-Za-z0-9._-]. */
enum pb_status pb_user_add(struct pb_ws *ws, const char *actor, const char *name,
                           const char *role, uint64_t *index_out, struct pb_error *err);
/* pb_user_add, registering an OpenSSH public key for the user in the same
 * log entry (key_line: "ssh-ed25519 AAAA... [comment]" or
 * "sk-ssh-ed25519@openssh.com ..."; NULL: none, which is pb_user_add). The
 * first user of a signed workspace needs one: its entry is signed by the
 * key it registers. A key is one user's, ever (PB_EEXIST "key SHA256:... is
 * already registered to 'bob'"). */
enum pb_status pb_user_add_key(struct pb_ws *ws, const char *actor, const char *name,
                               const char *role, const char *key_line, uint64_t *index_out,
                               struct pb_error *err);
/* Registers another key for user (admin only; valid for the entries after
 * this one). The line's comment is kept. */
enum pb_status pb_user_key_add(struct pb_ws *ws, const char *actor, const char *user,
                               const char *key_line, uint64_t *index_out, struct pb_error *err);
/* Revokes user's key (key: its "SHA256:..." fingerprint or its line) for
 * every entry after this one, which it may itself sign; reason is required.
 * Admin only. */
enum pb_status pb_user_key_revoke(struct pb_ws *ws, const char *actor, const char *user,
                                  const char *key, const char *reason, uint64_t *index_out,
                                  struct pb_error *err);
struct pb_user_key {
	const char *user;
	const char *fp;            /* "SHA256:..." */
	const char *key;           /* "TYPE BASE64" */
	const char *comment;       /* or NULL */
	uint64_t added_idx;        /* the registering log entry */
	bool revoked;
	uint64_t revoked_idx;      /* when revoked: the revoking entry */
	const char *revoke_reason; /* or NULL */
};
/* Calls fn for every key of user (NULL: of every user), by user then log
 * position; views last for the call; fn returns false to stop. */
enum pb_status pb_user_key_list(struct pb_ws *ws, const char *user,
                                bool (*fn)(void *ctx, const struct pb_user_key *k), void *ctx,
                                struct pb_error *err);
/* Changes a user's role, or disables a user (kept for the record). Admin
 * only; the last enabled admin cannot be demoted or disabled. */
enum pb_status pb_user_set_role(struct pb_ws *ws, const char *actor, const char *name,
                                const char *role, uint64_t *index_out, struct pb_error *err);
enum pb_status pb_user_disable(struct pb_ws *ws, const char *actor, const char *name,
                               uint64_t *index_out, struct pb_error *err);
struct pb_user {
	const char *name;
	const char *role;
	const char *created_at;
	const char *created_by;
	bool disabled;
};
/* Calls fn for every user, by name; the views last for the call. fn returns
 * false to stop. */
enum pb_status pb_user_list(struct pb_ws *ws, bool (*fn)(void *ctx, const struct pb_user *u),
                            void *ctx, struct pb_error *err);
/* The acting user: `as` when not NULL, else probity.conf's `user`; it must
 * exist and be enabled. Copies the name into out. */
enum pb_status pb_acting_user(struct pb_ws *ws, const char *as, char out[PB_USER_NAME_MAX + 1],
                              struct pb_error *err);

/* ---- web sign-in: enrolment, passwords, sessions (docs/web.md) ---------
 * Secrets the browser holds (enrolment tokens, session ids) are 256 random
 * bits as 64 hex digits; the workspace stores only their SHA-256. Passwords
 * are stored as Argon2id strings (libsodium crypto_pwhash_str). Sign-in,
 * failed sign-in, sign-out, enrolment and refused access are log entries. */

#define PB_SECRET_HEX 65           /* 64 hex digits and a NUL */
#define PB_PASSWORD_MIN 10         /* bytes */
#define PB_PASSWORD_MAX 1024
#define PB_SIGNIN_FAILS_MAX 10     /* failures per name or address ... */
#define PB_SIGNIN_FAILS_WINDOW 900 /* ... within this many seconds lock sign-in */

/* Creates a one-time enrolment token for the existing user name (admin
 * only), valid for ttl_s seconds; any unused earlier token of that user
 * stops working. The token goes into token_out; log entry "user.invite". */
enum pb_status pb_user_invite(struct pb_ws *ws, const char *actor, const char *name,
                              int64_t ttl_s, char token_out[PB_SECRET_HEX], uint64_t *index_out,
                              struct pb_error *err);
/* A pending invitation (made, unused, unexpired); its token is never kept. */
struct pb_invite {
	const char *user;
	const char *created_by;
	int64_t created_at;       /* seconds since 1970 */
	int64_t expires_at;
};
/* Calls fn for every pending invitation, by user; the views last for the
 * call. fn returns false to stop. */
enum pb_status pb_user_invites(struct pb_ws *ws,
                               bool (*fn)(void *ctx, const struct pb_invite *inv), void *ctx,
                               struct pb_error *err);
/* Voids the pending invitation of user name (admin only): its link no
 * longer enrols. PB_ENOENT (field "name") when there is none; log entry
 * "user.invite-revoke". */
enum pb_status pb_user_invite_revoke(struct pb_ws *ws, const char *actor, const char *name,
                                     uint64_t *index_out, struct pb_error *err);
/* Sets the password of the user an unused, unexpired token was made for
 * (PB_EPERM otherwise), and uses the token up. password: PB_PASSWORD_MIN to
 * PB_PASSWORD_MAX bytes of UTF-8 (field "password"). The user's name goes
 * into name_out; log entry "user.enrol" with that user as actor. */
enum pb_status pb_user_enrol(struct pb_ws *ws, const char *token, const char *password,
                             char name_out[PB_USER_NAME_MAX + 1], uint64_t *index_out,
                             struct pb_error *err);

struct pb_session {
	char id[PB_SECRET_HEX];   /* the secret for the cookie (pb_session_signin only) */
	char csrf[PB_SECRET_HEX]; /* the token every form of this session posts back */
	char user[PB_USER_NAME_MAX + 1];
	char role[16];
	int64_t created_at;       /* seconds since 1970 */
	int64_t last_seen;
};
/* Signs name in with password from address addr (text for the record:
 * "127.0.0.1"). A wrong or unknown name, a disabled user or a user with no
 * password all fail alike with PB_EPERM "wrong user name or password", are
 * counted and logged ("web.signin-fail"); after PB_SIGNIN_FAILS_MAX
 * failures for that name or that address within PB_SIGNIN_FAILS_WINDOW
 * seconds, sign-in fails with PB_EPERM without checking the password.
 * *fails_out (may be NULL) gets the failures counted for the name or address
 * (the larger), so the caller can slow the answer. On success out holds a
 * new session; log entry "web.signin". */
enum pb_status pb_session_signin(struct pb_ws *ws, const char *name, const char *password,
                                 const char *addr, struct pb_session *out, unsigned *fails_out,
                                 struct pb_error *err);
/* The live session whose id is id: PB_ENOENT when it is unknown, signed
 * out, idle for more than idle_s seconds or older than absolute_s, or its
 * user is disabled. Notes the use (last_seen). out->id is left empty. */
enum pb_status pb_session_get(struct pb_ws *ws, const char *id, int64_t idle_s, int64_t absolute_s,
                              struct pb_session *out, struct pb_error *err);
/* Ends the session id, or when everywhere every session of its user; log
 * entry "web.signout". PB_ENOENT when the session is not live. */
enum pb_status pb_session_signout(struct pb_ws *ws, const char *id, bool everywhere,
                                  struct pb_error *err);
/* Records that user was refused `what` (a page or an action, at most 200
 * bytes kept, any bytes): log entry "web.forbidden". */
enum pb_status pb_session_forbidden(struct pb_ws *ws, const char *user, const char *what,
                                    struct pb_error *err);

/* ---- passkeys (WebAuthn; docs/identity.md) -----------------------------
 * A passkey signs a web user's log entries the way an OpenSSH key signs on
 * the command line: the WebAuthn challenge is SHA-256 of the entry's
 * statement. Passkeys are registered in the log ("user.passkey-add",
 * "user.passkey-revoke"), for the origin and RP ID the workspace declares
 * there ("web.origin"). Byte fields are base64url without padding. */

#define PB_PASSKEY_FP_MAX 64      /* "webauthn:" + 43 base64url + NUL, rounded */
#define PB_PASSKEY_ORIGIN_MAX 256

/* Declares the web app's origin ("https://review.example.com",
 * "http://localhost:8080") and WebAuthn RP ID (NULL: the origin's host).
 * Admin only; log entry "web.origin". Passkeys made for another RP ID stop
 * verifying: re-register them. */
enum pb_status pb_passkey_origin_set(struct pb_ws *ws, const char *actor, const char *origin,
                                     const char *rp_id, uint64_t *index_out,
                                     struct pb_error *err);
/* The declared origin and RP ID; PB_ENOENT when none is. */
enum pb_status pb_passkey_origin(struct pb_ws *ws, char origin[PB_PASSKEY_ORIGIN_MAX],
                                 char rp_id[PB_PASSKEY_ORIGIN_MAX], struct pb_error *err);
/* The challenge for a statement: SHA-256 of its text. */
void pb_passkey_challenge(const char *statement, size_t len, uint8_t out[32]);

/* A registration (navigator.credentials.create's answer) as the browser
 * sends it, and what it was made under. */
struct pb_passkey_reg {
	const char *user;               /* whose passkey (the actor registers its own) */
	const char *name;               /* a label ("work laptop"), or NULL */
	const char *attestation_object; /* base64url */
	const char *client_data_json;   /* base64url */
	const uint8_t *challenge;       /* the challenge the server issued for create() */
	size_t challenge_len;
	const char *invite_token;       /* the admin's invitation it is made under (a
	                                 * signed workspace needs one), or NULL */
};
/* Checks a registration against the declared origin and RP ID (user
 * verification required) and records the passkey: log entry
 * "user.passkey-add" (details: user, key_fp, cred_id, key (COSE, base64url),
 * alg, rp_id, origin, fmt, aaguid, attestation, client_data_json, name,
 * invite, token). In a signed workspace the entry is signed by the passkey
 * it registers (pb_ws_set_signing with its assertion) and names the
 * invitation (signed by an admin, unused, unexpired, unrevoked) whose token
 * it uses up. A credential is one user's, ever. The fingerprint goes to
 * fp_out (may be NULL). */
enum pb_status pb_passkey_add(struct pb_ws *ws, const char *actor,
                              const struct pb_passkey_reg *r, char fp_out[PB_PASSKEY_FP_MAX],
                              uint64_t *index_out, struct pb_error *err);
/* Revokes a passkey by its fingerprint ("webauthn:...") for every entry
 * after this one; reason required. An admin, or the passkey's own user;
 * log entry "user.passkey-revoke". */
enum pb_status pb_passkey_revoke(struct pb_ws *ws, const char *actor, const char *user,
                                 const char *fp, const char *reason, uint64_t *index_out,
                                 struct pb_error *err);
struct pb_passkey {
	const char *user;
	const char *fp;              /* "webauthn:..." */
	const char *cred_id;         /* base64url */
	const char *name;            /* or NULL */
	int alg;                     /* COSE: -7 ES256, -8 EdDSA */
	const char *rp_id;
	uint64_t added_idx;
	bool revoked;
	uint64_t revoked_idx;
	const char *revoke_reason;   /* or NULL */
	uint32_t sign_count;         /* the last counter seen */
};
/* Calls fn for every passkey of user (NULL: of everyone), by user then log
 * position; views last for the call; fn returns false to stop. */
enum pb_status pb_passkey_list(struct pb_ws *ws, const char *user,
                               bool (*fn)(void *ctx, const struct pb_passkey *k), void *ctx,
                               struct pb_error *err);
/* An assertion (navigator.credentials.get's answer), base64url. */
struct pb_passkey_assertion {
	const char *credential_id;
	const char *authenticator_data;
	const char *client_data_json;
	const char *signature;
};
/* Signs in with a passkey: the credential must be registered, unrevoked,
 * its user enabled; the assertion must answer challenge (issued by the
 * server for this sign-in, single use) for the declared origin and RP ID
 * with user verification, and its counter must have grown. Failures are
 * counted and logged as pb_session_signin's; success: a new session in
 * out, log entry "web.signin" (details: method "passkey", key_fp,
 * sign_count). */
enum pb_status pb_session_signin_passkey(struct pb_ws *ws, const struct pb_passkey_assertion *a,
                                         const uint8_t *challenge, size_t challenge_len,
                                         const char *addr, struct pb_session *out,
                                         unsigned *fails_out, struct pb_error *err);

struct pb_case_open_options {
	const char *customer;     /* name of an existing customer (required) */
	const char *title;        /* required */
	const char *trigger;      /* what prompted the review (required) */
	const char *trigger_url;  /* or NULL */
	const char *trigger_date; /* YYYY-MM-DD, or NULL */
};
/* Opens a case (analyst). *id_out gets its number. */
enum pb_status pb_case_open(struct pb_ws *ws, const char *actor,
                            const struct pb_case_open_options *o, int64_t *id_out,
                            uint64_t *index_out, struct pb_error *err);
/* Adds a note (analyst, approver): text of 1 byte to 1 MiB, UTF-8. The log
 * entry holds its SHA-256 and, up to 16 KiB, the text itself. */
enum pb_status pb_case_note(struct pb_ws *ws, const char *actor, int64_t id, const char *text,
                            size_t n, uint64_t *index_out, struct pb_error *err);
/* Attaches a document (analyst): the file is copied into the workspace's
 * documents/ folder under its SHA-256 (hex into sha256_hex) and recorded. */
enum pb_status pb_case_attach(struct pb_ws *ws, const char *actor, int64_t id, const char *path,
                              char sha256_hex[65], uint64_t *index_out, struct pb_error *err);
/* Opens document sha256_hex (64 lower-case hex) of case id for reading:
 * *fd (the caller closes it), its size, and the name it was attached under
 * into name. PB_ENOENT when the case has no such document, PB_EINVAL for a
 * malformed hash, PB_EIO (and the like) when the stored file cannot be opened. */
enum pb_status pb_case_document_open(struct pb_ws *ws, int64_t id, const char *sha256_hex,
                                     int *fd, uint64_t *size, char name[256],
                                     struct pb_error *err);
/* Adds a finding of the policy module (analyst): looked up by id in the
 * `finding` table; "no finding 'X'" (PB_ENOENT) when it or the table is missing. */
enum pb_status pb_case_add_finding(struct pb_ws *ws, const char *actor, int64_t id,
                                   const char *finding, uint64_t *index_out,
                                   struct pb_error *err);
/* Closes a case with a decision (analyst, approver). A closed case takes no
 * more changes (PB_ESTATE). */
enum pb_status pb_case_close(struct pb_ws *ws, const char *actor, int64_t id,
                             const char *decision, uint64_t *index_out, struct pb_error *err);

struct pb_case {
	int64_t id;
	const char *customer;
	const char *title;
	const char *trigger;
	const char *trigger_url;  /* or NULL */
	const char *trigger_date; /* or NULL */
	const char *status;       /* "open", "closed" */
	const char *opened_at;
	const char *opened_by;
	const char *closed_at;    /* or NULL */
	const char *decision;     /* or NULL */
	int64_t evidence;         /* number of evidence items */
};
/* Calls fn for every case (status NULL: all, else "open" or "closed"). */
enum pb_status pb_case_list(struct pb_ws *ws, const char *status,
                            bool (*fn)(void *ctx, const struct pb_case *c), void *ctx,
                            struct pb_error *err);
/* One case; PB_ENOENT when there is none with that id. */
enum pb_status pb_case_get(struct pb_ws *ws, int64_t id,
                           bool (*fn)(void *ctx, const struct pb_case *c), void *ctx,
                           struct pb_error *err);

struct pb_evidence {
	int64_t id;
	const char *kind;    /* finding, search, note, document, plan, ... */
	const char *ref;     /* what it points at (finding id, file name ...), or NULL */
	const char *sha256;  /* hex, or NULL */
	const char *summary; /* JSON object, or NULL */
	const char *added_at;
	const char *added_by;
	uint64_t log_index;
};
enum pb_status pb_case_evidence(struct pb_ws *ws, int64_t id,
                                bool (*fn)(void *ctx, const struct pb_evidence *e), void *ctx,
                                struct pb_error *err);

/* ---- the workspace audit log ------------------------------------------ */

struct pb_audit_entry {
	uint64_t index;
	const char *time;
	const char *actor;
	const char *action;
	int64_t case_id;     /* 0 when none */
	const char *subject; /* or NULL */
	struct pb_str data;  /* the exact entry bytes (canonical JSON) */
};
/* Calls fn for the entries of one case (case_id > 0) or of the whole log
 * (case_id = 0) from index `from`, at most count of them (0: all). */
enum pb_status pb_audit_list(struct pb_ws *ws, int64_t case_id, uint64_t from, uint64_t count,
                             bool (*fn)(void *ctx, const struct pb_audit_entry *e), void *ctx,
                             struct pb_error *err);

struct pb_audit_status {
	char origin[PB_NOTE_NAME_MAX + 1];
	char vkey[PB_NOTE_NAME_MAX + 80];  /* "" before the signing key exists */
	uint64_t size;
	uint8_t root[32];
	uint64_t checkpoint_size;          /* of the latest signed checkpoint */
	uint64_t checkpoints;              /* number signed */
};
/* Pins the log's public key (vkey text, as `log status` prints it) for this
 * handle: every signature check (log check, the entitlements loader of
 * decide, serve and the nginx module) then uses this key only, and the
 * workspace's signing.pub and a readable signing.key must be this key, else
 * PB_EVERIFY. Without a pin the key is taken from signing.key, else from
 * signing.pub in the workspace folder, which whoever can write the folder
 * can replace: a service that enforces should be given the key from outside
 * the workspace (docs/keys.md). */
enum pb_status pb_ws_pin_vkey(struct pb_ws *ws, const char *vkey, struct pb_error *err);
enum pb_status pb_audit_status(struct pb_ws *ws, struct pb_audit_status *out,
                               struct pb_error *err);
/* Signs a checkpoint of the current tree with the workspace key, after
 * checking that the tree is consistent with the last signed checkpoint; if
 * the tree has not grown, returns that one. *note_out is a heap string. */
enum pb_status pb_audit_checkpoint(struct pb_ws *ws, const char *actor, char **note_out,
                                   struct pb_error *err);
/* Proof documents against a signed checkpoint of size `size` (0: the latest;
 * PB_ENOENT when no checkpoint of that size was signed): inclusion as
 * c2sp.org/tlog-proof@v1, consistency from old_size as the tlog-witness
 * add-checkpoint body. Heap strings. */
enum pb_status pb_audit_prove_inclusion(struct pb_ws *ws, uint64_t index, uint64_t size,
                                        char **doc_out, struct pb_error *err);
enum pb_status pb_audit_prove_consistency(struct pb_ws *ws, uint64_t old_size, uint64_t size,
                                          char **doc_out, struct pb_error *err);
/* A copy of entry index (heap, *len bytes). */
enum pb_status pb_audit_entry_data(struct pb_ws *ws, uint64_t index, char **data, size_t *len,
                                   struct pb_error *err);
/* Exports the log at the signed checkpoint of size `size` (0: latest) into
 * dir: tiles, entry bundles, checkpoint, and `vkey` (the verifier key).
 * dir may hold an earlier export of the same log (it is brought forward);
 * exporting an older size over a newer export is refused. */
enum pb_status pb_audit_export(struct pb_ws *ws, const char *dir, uint64_t size,
                               struct pb_checkpoint *exported, struct pb_error *err);
/* Checks the stored log inside the workspace: every entry against its leaf
 * hash, every stored subtree hash, the tree head, every signed checkpoint
 * (signature and root). On failure bad_object names the first bad row. */
enum pb_status pb_audit_check(struct pb_ws *ws, char *bad_object, size_t cap,
                              struct pb_error *err);
/* Signed actors, read from the log (docs/identity.md). The statement entry
 * `index` of a signed workspace was signed over (canonical JSON, heap in
 * *statement), its SSHSIG armoured as `ssh-keygen -Y sign` writes it (heap
 * in *sig_armoured; may be NULL to skip) and the namespace it was signed in:
 * what an auditor hands `ssh-keygen -Y verify` with the file
 * pb_log_keys_allowed_signers writes. PB_ENOENT when the entry carries no
 * signature (an unsigned workspace, or a web session's entry). */
enum pb_status pb_log_statement(struct pb_ws *ws, uint64_t index, char **statement,
                                char **sig_armoured, const char **ns, struct pb_error *err);
/* One key of the registry as the log records it: registered by a user.add
 * or user.key-add entry, revoked by the first user.key-revoke naming it. */
struct pb_log_key {
	const char *user;
	const char *key;        /* "ssh-ed25519 AAAA..." */
	const char *fp;         /* "SHA256:..." */
	uint64_t added_idx;
	const char *added_at;   /* the entry's time, RFC 3339 UTC */
	bool revoked;
	uint64_t revoked_idx;
	const char *revoked_at;
};
/* Calls fn for every key the log registered, by user then position; views
 * last for the call; fn returns false to stop. */
enum pb_status pb_log_keys(struct pb_ws *ws, bool (*fn)(void *ctx, const struct pb_log_key *k),
                           void *ctx, struct pb_error *err);
/* The registry as an OpenSSH allowed_signers file (heap text): one line per
 * key, "USER namespaces=\"probity@v1,probity-approve@v1\",valid-after=
 * \"YYYYMMDDHHMMSSZ\"[,valid-before=\"...Z\"] KEY", the times those of the
 * registering and revoking entries (UTC). */
enum pb_status pb_log_keys_allowed_signers(struct pb_ws *ws, char **out, struct pb_error *err);
/* Checks that an entry is a probity audit entry for position index (canonical
 * JSON object with v, index, time, actor, action); usable as the check
 * callback of pb_tlog_verify_dir (ctx unused). */
enum pb_status pb_audit_entry_check(void *ctx, uint64_t index, struct pb_str *entry,
                                    struct pb_error *err);

/* ---- the tables beside the log (lib/replay; docs/caselog.md) ---------- */

/* One difference between a table and the log: the row `row` of `table` (its
 * key as text, "-" for a row the log records and the table lacks) against
 * entry `entry` (-1 when no entry records the row); `what` says what
 * differs, e.g. "text differs from entry 17". Views valid during the call. */
struct pb_replay_diff {
	const char *table;
	const char *row;
	int64_t entry;
	const char *what;
};
/* Called for each difference; return false to stop reporting (the count
 * goes on). */
typedef bool (*pb_replay_fn)(void *ctx, const struct pb_replay_diff *d);

/* Replays every entry of the workspace log (the entry text, never the
 * copied columns of audit_entry, which it checks against the text) and
 * compares the tables with it: users and roles, and each entry's actor
 * against the users and roles at its position; cases, their evidence
 * (notes, documents, findings) and decisions; findings in cases; plans'
 * bodies against their last plan.new/plan.edit; plan steps and approvals;
 * entitlements versions against the plan.apply/plan.rollback naming them.
 * In a signed log (entry 0 says "actors":"signed") also every entry's
 * signature (docs/identity.md, "Read-time rules"): the SSHSIG over the
 * statement rebuilt from the entry, by a key registered to the actor and
 * valid at that position, in the action's namespace, made against a root
 * this log had, with a nonce used once; and the two-person rule of every
 * plan.apply and plan.rollback over the signed approvals it names. These
 * are table "audit_entry", row the entry's index. The user_key table is
 * compared with the log's key registry.
 * Calls fn (may be NULL) for each difference; *ndiff gets their number.
 * Returns PB_OK when the comparison ran, whatever it found. */
enum pb_status pb_log_replay_check(struct pb_ws *ws, pb_replay_fn fn, void *ctx,
                                   uint64_t *ndiff, struct pb_error *err);
/* Writes dir/tables.db (mode 0600): copies of the tables the replay checks,
 * for `log verify` to compare with the exported entries; size is the
 * exported log size (PB_ESTATE when the log has grown past it: an older
 * checkpoint gets no snapshot, and a stale one in dir is removed). */
enum pb_status pb_log_snapshot_write(struct pb_ws *ws, const char *dir, uint64_t size,
                                     struct pb_error *err);
/* The same replay on an export: open its snapshot (PB_ENOENT when dir has
 * none), pass pb_replay_entry_check as the check callback of
 * pb_tlog_verify_dir with the replay as check_ctx (it also does what
 * pb_audit_entry_check does), then, once the export verified, finish with
 * the checkpoint's size (PB_EVERIFY when the snapshot is of another size). */
struct pb_replay;
enum pb_status pb_replay_open(const char *dir, struct pb_replay **out, struct pb_error *err);
enum pb_status pb_replay_entry_check(void *replay, uint64_t index, struct pb_str *entry,
                                     struct pb_error *err);
enum pb_status pb_replay_finish(struct pb_replay *r, uint64_t size, pb_replay_fn fn, void *ctx,
                                uint64_t *ndiff, struct pb_error *err);
void pb_replay_free(struct pb_replay *r);
/* A replay of the entries alone, for an export without a snapshot: the
 * signatures of a signed log (above) are all it checks. */
enum pb_status pb_replay_new_entries(struct pb_replay **out, struct pb_error *err);
/* After pb_replay_finish: whether the log was a signed one (its entries'
 * signatures were checked), and how many entries carried a signature. */
bool pb_replay_signed(const struct pb_replay *r, uint64_t *nsigned);
/* After pb_replay_finish, for a signed log: the export's checkpoint cp is
 * signed by its actor (dir/checkpoint.actor, written by pb_audit_export
 * from a checkpoint signed on its own), or seals a plan apply, rollback or
 * policy entry. PB_EVERIFY saying why not. */
enum pb_status pb_replay_checkpoint(struct pb_replay *r, const char *dir,
                                   const struct pb_checkpoint *cp, struct pb_error *err);


/* ===================================================================== */
/* Enforcement plans                                                     */
/* ===================================================================== */
/* An enforcement plan cuts a precise set of services for the customer of a
 * review case and keeps others running. It names what to disable and what to
 * keep with selectors, text such as "category=Storage country=NL" or
 * "capability=speech-to-text,translation" (keys: account, subaccount,
 * category, subcategory, service, capability, region, country; docs/plans.md
 * has the grammar). A plan is resolved when it is made: its selectors become
 * the exact rules it would put in force (struct pb_rule, below), for the
 * customer's billing accounts unless a selector names accounts. The plan's
 * body, canonical JSON of those rules and its terms, has a SHA-256; approvals
 * bind to that hash, so a changed plan needs new approvals.
 *
 * Life: draft -> (approvals) -> applied (entitlements version N+1) ->
 * rolled-back (version N+2); a draft may be withdrawn. Every step checks the
 * acting user's role and writes its audit-log entry in the same transaction
 * as the change. Plans may be made on an open or a closed case (closing a
 * case with a decision is often what leads to the plan). */

#define PB_PLAN_SELECTORS_MAX 1000 /* selectors in one plan */
#define PB_PLAN_SELECTOR_LEN_MAX 65536 /* bytes in one selector's text */
#define PB_PLAN_APPROVALS_MIN 2    /* approvals can be raised, never lowered below this */

struct pb_rule;

/* What a plan is made of; used by pb_plan_new and pb_plan_edit. */
struct pb_plan_terms {
	const char *const *disable; /* selectors to cut (pb_plan_new: at least one) */
	size_t ndisable;
	const char *const *keep;    /* carve-outs that win over this plan's disables */
	size_t nkeep;
	const char *effective;      /* ISO 8601 time, or NULL: when applied */
	const char *until;          /* ISO 8601 time, or NULL: open */
	const char *review_by;      /* YYYY-MM-DD by which the plan must be reviewed, or NULL */
	const char *clause;         /* the policy clause invoked, or NULL: probity.conf's
	                             * policy_clause, else "the acceptable-use policy" */
	unsigned approvals;         /* approvals needed; 0: probity.conf's plan_approvals,
	                             * else 2; never below 2 (PB_EINVAL) */
	unsigned appeal_days;       /* days the customer has to respond, counted from the
	                             * notice; 0: probity.conf's appeal_days, else 30 */
};

/* Makes a plan on case case_id for its customer (actor: analyst or approver,
 * who becomes an author and may not approve it). Every selector is checked
 * against the catalog and the customer's accounts; an unknown key or value,
 * or an account that is not the customer's, fails with PB_EINVAL naming the
 * selector, and nothing is written. cat: the catalog (service, region and
 * capability names). *id_out gets the plan number. */
enum pb_status pb_plan_new(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                           int64_t case_id, const struct pb_plan_terms *terms, int64_t *id_out,
                           uint64_t *index_out, struct pb_error *err);
/* Changes a draft plan (analyst or approver, who becomes an author). Only
 * the terms given change: disable/keep lists replace the old ones when
 * ndisable/nkeep > 0 (pass clear_keep to drop every keep), strings when not
 * NULL, numbers when not 0. The hash changes, so earlier approvals and
 * refusals no longer count. PB_ESTATE unless the plan is a draft. */
enum pb_status pb_plan_edit(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                            int64_t id, const struct pb_plan_terms *terms, bool clear_keep,
                            uint64_t *index_out, struct pb_error *err);
/* Approves (or refuses, with a reason) a draft plan as it is now. actor must
 * have the approver role (PB_EPERM), must not be an author of the plan
 * (PB_EPERM) and may vote once on one version of the plan (PB_EEXIST).
 * sha256: the hash the approver reviewed (from pb_plan_get or 'plan show');
 * when not NULL and not the plan's current hash, PB_ESTATE ("stale") and
 * nothing is recorded. A refusal blocks apply until the plan is changed.
 * *have_out (may be NULL) gets the approvals of the current hash. */
enum pb_status pb_plan_approve(struct pb_ws *ws, const char *actor, int64_t id,
                               const char *sha256, const char *comment, unsigned *have_out,
                               uint64_t *index_out, struct pb_error *err);
enum pb_status pb_plan_refuse(struct pb_ws *ws, const char *actor, int64_t id,
                              const char *sha256, const char *reason, uint64_t *index_out,
                              struct pb_error *err);
/* Applies an approved draft (actor: analyst or approver): publishes
 * entitlements version N+1 = the rules of version N plus the plan's rules, in
 * force from the plan's effective time (or now, when that is unset or already
 * past: nothing is backdated) until its end. PB_ESTATE when approvals are
 * missing, a refusal stands, the plan is not a draft, or its end has passed.
 * *version_out gets N+1. */
enum pb_status pb_plan_apply(struct pb_ws *ws, const char *actor, int64_t id,
                             int64_t *version_out, uint64_t *index_out, struct pb_error *err);
/* Rolls back an applied plan (actor: approver, with a reason): publishes the
 * latest rules without the plan's. PB_PLAN_ROLLBACK_APPROVALS distinct
 * approvers must ask, or the number the last plan.policy log entry set
 * (pb_plan_set_rollback_approvals; probity.conf's rollback_approvals can
 * only raise it); until the last one does, the request is recorded and
 * *version_out is 0. PB_ESTATE when the plan is not in force. */
enum pb_status pb_plan_rollback(struct pb_ws *ws, const char *actor, int64_t id,
                                const char *reason, int64_t *version_out, unsigned *have_out,
                                unsigned *need_out, uint64_t *index_out, struct pb_error *err);
/* Withdraws a draft (analyst or approver, with a reason); it can no longer be
 * approved or applied. */
enum pb_status pb_plan_withdraw(struct pb_ws *ws, const char *actor, int64_t id,
                                const char *reason, uint64_t *index_out, struct pb_error *err);
/* Sets how many distinct approvers a rollback needs in this workspace (1 to
 * 100; actor: admin), as a plan.policy log entry: the choice is on the
 * record, and rollback reads it from the log. */
#define PB_PLAN_ROLLBACK_APPROVALS 2 /* the default, until a plan.policy entry says otherwise */
enum pb_status pb_plan_set_rollback_approvals(struct pb_ws *ws, const char *actor, unsigned n,
                                              uint64_t *index_out, struct pb_error *err);
/* The rollback policy in force. A plan.policy entry counts once it is
 * sealed (under a signed checkpoint; pb_plan_set_rollback_approvals seals
 * it), like an apply: a later entry no checkpoint covers yet is reported
 * as pending and changes nothing. */
struct pb_plan_rollback_policy {
	unsigned need;          /* distinct approvers a rollback needs now */
	unsigned logged;        /* what the log says: the default or the entry's */
	bool from_entry;        /* a sealed plan.policy entry set `logged` ... */
	uint64_t index;         /* ... this one */
	unsigned conf;          /* probity.conf rollback_approvals (1 when unset): raises only */
	bool pending;           /* a later plan.policy entry is not sealed yet ... */
	uint64_t pending_index; /* ... this one */
};
enum pb_status pb_plan_rollback_policy(struct pb_ws *ws, struct pb_plan_rollback_policy *out,
                                       struct pb_error *err);

/* One selector of a plan. */
struct pb_plan_selector {
	bool keep;          /* a keep, else a disable */
	unsigned number;    /* 1-based among the plan's disables or keeps */
	const char *text;   /* canonical text: "category=Storage country=NL" */
};

/* One step in a plan's history. */
struct pb_plan_event {
	const char *kind;   /* new, edit, approve, refuse, apply, rollback-approve,
	                     * rollback, withdraw, notice */
	const char *actor;
	const char *at;     /* ISO 8601 */
	const char *sha256; /* the plan hash it bound to */
	const char *text;   /* comment or reason, or NULL */
	int64_t version;    /* entitlements version written, or 0 */
	uint64_t log_index; /* its audit-log entry */
	bool current;       /* binds to the plan as it is now */
};

struct pb_plan {
	int64_t id;
	int64_t case_id;
	const char *customer;    /* the customer's name as given to 'customer add' */
	const char *status;      /* draft, applied, rolled-back, withdrawn */
	const char *state;       /* a line for people: "draft: 1 of 2 approvals", ... */
	const char *sha256;      /* of body */
	const char *body;        /* canonical JSON: what approvals bind to */
	int revision;            /* 1, then +1 per edit */
	const char *created_at, *created_by;
	int64_t effective;       /* INT64_MIN: when applied */
	int64_t until;           /* INT64_MAX: open */
	const char *review_by;   /* YYYY-MM-DD or NULL */
	const char *clause;
	unsigned appeal_days;
	unsigned approvals_needed, approvals, refusals; /* of the current hash */
	unsigned rollback_needed, rollback_asked;
	int64_t applied_version, in_force_from, end_version; /* 0 when not */
	const struct pb_plan_selector *selectors; /* disables first, then keeps */
	size_t nselectors;
	const struct pb_rule *rules; /* what it puts in force (from = effective) */
	size_t nrules;
	const size_t *rule_selector; /* per rule: its index in selectors */
	const struct pb_plan_event *events;
	size_t nevents;
};
/* Reads plan id (PB_ENOENT when none). Free with pb_plan_free; every string
 * lives as long as the plan. */
enum pb_status pb_plan_get(struct pb_ws *ws, int64_t id, struct pb_plan **out,
                           struct pb_error *err);
void pb_plan_free(struct pb_plan *p);
/* The plan terms would make on case case_id, resolved and checked exactly as
 * pb_plan_new does (the same errors, err->field naming the term), without
 * writing anything: id 0, no history, state "not saved: a preview". Its dry
 * run (pb_plan_dryrun) is what the plan would cut. Free with pb_plan_free. */
enum pb_status pb_plan_preview(struct pb_ws *ws, const struct pb_catalog *cat, int64_t case_id,
                               const struct pb_plan_terms *terms, struct pb_plan **out,
                               struct pb_error *err);
/* Calls fn for every plan (case_id 0) or the plans of one case, by id. */
enum pb_status pb_plan_list(struct pb_ws *ws, int64_t case_id,
                            bool (*fn)(void *ctx, const struct pb_plan *p), void *ctx,
                            struct pb_error *err);

/* ---- dry run ------------------------------------------------------------ */

/* One (account, sub-account, service, capability, region, unit) of the
 * customer's usage, and what the plan does to it. Figures are exact decimal
 * text for the month of the dry run ("0" when unused that month). */
struct pb_plan_usage {
	const char *account, *subaccount;   /* subaccount may be "" */
	const char *service, *capability;   /* capability "" when the catalog cannot tell */
	const char *region, *country;       /* country "" when unknown */
	const char *unit, *currency;
	const char *quantity, *cost;
	double share;            /* of the customer's spend that month in that currency, 0..1 */
	const char *last_day;    /* last day it was used (YYYY-MM-DD) */
	bool cut;                /* the plan denies it while in force */
	long by;                 /* cut: the disable (index in selectors); else the disable
	                          * a keep cancelled, or -1 */
	long kept_by;            /* the keep that won (index in selectors), or -1 */
	unsigned flags;          /* PB_DECIDE_* the row needed (unknown service, region ...) */
};
/* Spend of one currency in the dry run's month. */
struct pb_plan_spend {
	const char *currency;
	const char *total, *cut, *kept;   /* kept: what a keep saved from a disable */
	double cut_share;
};
struct pb_plan_dryrun {
	char month[8];                    /* YYYY-MM: the last full month of usage */
	char first_day[11], last_day[11]; /* of the customer's usage ("" when none) */
	const struct pb_plan_usage *rows; /* cut first, by cost, then what stays on */
	size_t nrows, ncut;
	const struct pb_plan_spend *spend;
	size_t nspend;
	const size_t *matches;  /* per selector: usage rows it applies to */
	/* disables that some keep cancels on every row they match (index pairs
	 * into selectors), and whether the keep covers it whatever the usage */
	const size_t (*cancels)[2];
	const bool *cancels_always;
	size_t ncancels;
	const char *const *notes; /* warnings for people (partly cut services ...) */
	size_t nnotes;
};
/* Computes what plan p would cut from the usage of its customer: every usage
 * key with its quantity and cost in `month` (YYYY-MM; NULL: the last month
 * the workspace's usage covers in full), the share of the customer's spend,
 * what stays on, selectors that match nothing, keeps that cancel a disable.
 * It evaluates the plan's rules as the decision service will (requests
 * naming the row's service, region, sub-account and SKU meter), ignoring the
 * plan's time window. Free with pb_plan_dryrun_free. */
enum pb_status pb_plan_dryrun(struct pb_ws *ws, const struct pb_catalog *cat,
                              const struct pb_plan *p, const char *month,
                              struct pb_plan_dryrun **out, struct pb_error *err);
void pb_plan_dryrun_free(struct pb_plan_dryrun *d);
/* The plan and (if d is not NULL) its dry run as one JSON object, heap
 * string in *out (free()). */
enum pb_status pb_plan_json(const struct pb_plan *p, const struct pb_plan_dryrun *d, char **out,
                            struct pb_error *err);

/* ---- notice to the customer --------------------------------------------- */

enum pb_notice_format { PB_NOTICE_TEXT = 0, PB_NOTICE_MARKDOWN, PB_NOTICE_HTML };

struct pb_notice_options {
	enum pb_notice_format format;
	bool draft;         /* a preview marked DRAFT: any plan, nothing recorded */
	int64_t now;        /* the notice's date (0: the current time) */
};
/* Writes the notice of plan id to its customer: what is disabled and from
 * when (and until when), which of the customer's services this affects (from
 * the dry run), what continues, the policy clause, the case reference, and
 * how and by when to respond or appeal (probity.conf: provider_name,
 * appeal_contact; the plan's appeal_days). The customer is named as in the
 * customer record, never from usage. Unless draft, the plan must be approved
 * or applied (or rolled back: the notice then says the services are
 * restored), actor must be an analyst or approver, and the notice is recorded
 * (its SHA-256, format and respond-by date) in the audit log before it is
 * returned. *text_out: heap string (free()). */
enum pb_status pb_notice_make(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                              int64_t id, const struct pb_notice_options *o, char **text_out,
                              uint64_t *index_out, struct pb_error *err);


/* ===================================================================== */
/* Reports                                                               */
/* ===================================================================== */
/* What the world reads of a decision (lib/report/, docs/reports.md): the
 * statement of reasons in the EU DSA Transparency Database's shape, appeals,
 * the transparency report and the case report. Writing one is a log entry
 * holding its SHA-256, so a published document can be proven to be the one
 * probity produced. */

/* ---- statements of reasons ------------------------------------------------ */

/* One rule a statement breaks: the field (the database's name) and why. */
struct pb_sor_violation {
	char field[64];
	char message[240];
};
/* Checks a statement of reasons (JSON text, len bytes) against the rules of
 * the DSA Transparency Database's API version 1: required fields, allowed
 * values, lengths in characters, date formats and ranges, the conditional
 * rules (a ground's fields iff that ground, *_other iff OTHER, no
 * source_identity when voluntary, dates in order), and no field the database
 * does not know except probity's "x_" additions. Stores the first cap
 * violations in out and their total in *n_out (0: valid). PB_EINVAL only when
 * the text is not a JSON object. */
enum pb_status pb_sor_validate(const char *json, size_t len, struct pb_sor_violation *out,
                               size_t cap, size_t *n_out, struct pb_error *err);

struct pb_sor_options {
	bool draft;           /* a preview: any plan, nothing recorded, x_draft true */
	int64_t now;          /* the statement's date (0: the current time) */
	const char *category; /* STATEMENT_CATEGORY_* (the prefix may be left out); NULL:
	                       * probity.conf's sor_category, else OTHER_VIOLATION_TC */
};
/* Writes the decision of plan id as a statement of reasons (JSON, API v1
 * field names; docs/reports.md maps each field to its source): a partial
 * suspension of services unless the plan cuts everything, the plan's clause
 * as the incompatible-content ground, the countries cut as territorial scope
 * (EU/EEA only), dates from the plan's window, facts from the case's evidence
 * and the dry run's figures (never customer content nor the customer's
 * name), and in x_ fields the services restricted and kept, the case, the
 * approvals, and (when applied) a signed checkpoint with the inclusion proof
 * of the apply entry (a checkpoint is signed first when none covers it).
 * The statement is checked with pb_sor_validate and refused (PB_EINVAL naming
 * the first violation) when invalid. Unless draft, the same rules as
 * pb_notice_make hold and the statement is recorded as a notice of the plan
 * (format sor-json, its SHA-256). *json_out: heap string (free()). */
enum pb_status pb_sor_make(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                           int64_t id, const struct pb_sor_options *o, char **json_out,
                           uint64_t *index_out, struct pb_error *err);

/* ---- appeals --------------------------------------------------------------- */

/* A customer's appeal against a plan's decision lives on the audit log only
 * (entries appeal.open, appeal.note, appeal.decide on subject "plan/N"): it
 * is as tamper-evident as the decision. One appeal of a plan is open at a
 * time; they are numbered 1, 2 ... per plan. */
struct pb_appeal {
	int64_t plan, case_id;
	unsigned number;          /* 1-based among the plan's appeals */
	const char *received;     /* YYYY-MM-DD: when the customer appealed */
	const char *opened_at, *opened_by;
	uint64_t open_index;      /* its appeal.open entry */
	size_t notes;
	const char *outcome;      /* "upheld", "partly-upheld", "rejected"; NULL while open */
	const char *decided_at, *decided_by;
	int64_t new_plan;         /* the plan that lifts or narrows the cut-off, or 0 */
	uint64_t decide_index;    /* its appeal.decide entry, or 0 */
};
/* Records the appeal of plan id (actor: analyst or approver, who records
 * what the customer sent): received is the day it came in (YYYY-MM-DD; NULL:
 * today), summary a staff-written line (may be NULL; kept in the log, never
 * printed in reports). PB_ESTATE when the plan was never approved or was
 * withdrawn, or an appeal of it is open. *number_out gets its number. */
enum pb_status pb_appeal_open(struct pb_ws *ws, const char *actor, int64_t id,
                              const char *received, const char *summary, unsigned *number_out,
                              uint64_t *index_out, struct pb_error *err);
/* Adds a note to the open appeal of plan id (analyst or approver). */
enum pb_status pb_appeal_note(struct pb_ws *ws, const char *actor, int64_t id, const char *text,
                              uint64_t *index_out, struct pb_error *err);
/* Decides the open appeal of plan id: outcome "upheld", "partly-upheld" or
 * "rejected", with a reason. actor must be an approver who neither wrote nor
 * approved the plan (an appeal is reviewed by people who did not take the
 * decision; PB_EPERM). new_plan (0: none) links the plan that lifts or
 * narrows the cut-off, made and approved as any plan: it must be another
 * plan of the same case and is refused with "rejected". */
enum pb_status pb_appeal_decide(struct pb_ws *ws, const char *actor, int64_t id,
                                const char *outcome, const char *reason, int64_t new_plan,
                                uint64_t *index_out, struct pb_error *err);
/* Calls fn for every appeal (id 0) or the appeals of plan id, in the order
 * they were opened. The strings live until fn returns. */
enum pb_status pb_appeal_list(struct pb_ws *ws, int64_t id,
                              bool (*fn)(void *ctx, const struct pb_appeal *a), void *ctx,
                              struct pb_error *err);

/* ---- transparency report -------------------------------------------------- */

enum pb_report_format { PB_REPORT_CSV = 0, PB_REPORT_JSON, PB_REPORT_HTML };

/* One file of a report: its name (no folder) and bytes. */
struct pb_report_file {
	char name[80];
	char *data;
	size_t len;
};
void pb_report_files_free(struct pb_report_file *f, size_t n);

struct pb_transparency_options {
	const char *period;        /* "2025", "2025H2", "2025-Q3" */
	enum pb_report_format format;
	bool band;                 /* write counts from band_lo to band_hi as "lo-hi" */
	unsigned band_lo, band_hi;
	bool draft;                /* nothing recorded, no role needed */
};
/* The transparency report of a period (docs/reports.md defines each table):
 * reviews opened by trigger type, closed by outcome, restrictions by what
 * and by country, customers affected (a count), median and 90th-percentile
 * days from trigger to decision and decision to enforcement, appeals and
 * their outcomes, rollbacks. CSV: one file per table and README.md; JSON
 * and HTML (with SVG charts): one file. Unless draft, actor (analyst,
 * approver or auditor) publishes it: a log entry report.transparency holds
 * the SHA-256 of every file. Free *files_out with pb_report_files_free. */
enum pb_status pb_report_transparency(struct pb_ws *ws, const char *actor,
                                      const struct pb_transparency_options *o,
                                      struct pb_report_file **files_out, size_t *nfiles_out,
                                      uint64_t *index_out, struct pb_error *err);

/* ---- case report ---------------------------------------------------------- */

struct pb_case_report_options {
	bool include_hits;         /* run the case's mail searches again (each run is
	                              logged) and list their hits with excerpts; by
	                              default only queries, counts and hashes */
	bool pdf;                  /* write the report as PDF (cairo, pango): the
	                              same page laid out on A4 with a table of
	                              contents, page numbers and the chart as
	                              vectors, the evidence JSON attached as the
	                              file probity-evidence.json */
};
/* The case report of case id: one self-contained HTML page (inline CSS and
 * SVG, no script needed) with the trigger, scope and method, the customer's
 * profile, each finding with the result of pb_evidence_verify, mail searches,
 * notes, decision, plans with their dry run now, approvals, enforcement with its entitlements
 * version, notices and appeals, each citing its log entry; at the end a
 * checkpoint signed now and the case's entries with their inclusion proofs,
 * embedded as JSON (script element "probity-evidence"). actor (analyst,
 * approver or auditor) publishes it: a log entry report.case holds its
 * SHA-256. With o->pdf the page is written as PDF (docs/reports.md) and the
 * evidence, whose body_sha256 is then the PDF's before the attachment, is an
 * attached file. *file_out (one file) is freed with pb_report_files_free(f, 1). */
enum pb_status pb_report_case(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                              int64_t id, const struct pb_case_report_options *o,
                              struct pb_report_file **file_out, uint64_t *index_out,
                              struct pb_error *err);
struct pb_case_report_check {
	int64_t case_id;
	uint64_t checkpoint_size;
	size_t entries;            /* entries proven */
	char sha256[65];           /* of the whole file: look for its report.case entry */
};
/* Verifies a case report offline: the checkpoint's signature by key, the
 * inclusion proof of every embedded entry against it, that the page shows
 * each entry with its leaf hash and no other, that the embedded JSON is in
 * its canonical form and that the page is the one it was written with.
 * A PDF (starting "%PDF-") is checked the same way for its attached
 * evidence, that the PDF before the attachment is the one the evidence
 * names and that the attachment is byte for byte the one probity writes;
 * what its pages show of each entry is not read back (docs/reports.md).
 * PB_EVERIFY saying what failed. */
enum pb_status pb_report_case_verify(const char *html, size_t n, const struct pb_vkey *key,
                                     struct pb_case_report_check *out, struct pb_error *err);
/* Finds the report.case entry of ws holding sha256 (hex): a published report.
 * PB_EVERIFY when none does. */
enum pb_status pb_report_case_logged(struct pb_ws *ws, const char *sha256, uint64_t *index_out,
                                     struct pb_error *err);


/* ===================================================================== */
/* Decisions                                                             */
/* ===================================================================== */
/* Entitlements are the set of enforcement rules in force, kept in the
 * workspace as numbered versions. A version is immutable once written; the
 * plan module writes version N+1 when a plan is applied or rolled back (see
 * lib/decide/entitlements.h, pb__entitlements_publish). The decision engine compiles
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
/* Loads the version that was in force at time t (seconds since the epoch):
 * the newest version published at or before t, by its publication time
 * (pb_entitlements_created_ms; times are whole seconds, so a version
 * published during the second t names counts). When no version had been
 * published by t, the empty version 0 (everything allowed). Free with
 * pb_entitlements_free. */
enum pb_status pb_entitlements_load_at(struct pb_ws *ws, int64_t t,
                                       struct pb_entitlements **out, struct pb_error *err);
/* *ms gets the publication time (ms since the epoch) of version+1, the one
 * that ended version's time in force; 0 when version is the latest. For
 * version 0 that is when the first version was published. */
enum pb_status pb_entitlements_superseded_ms(struct pb_ws *ws, int64_t version, int64_t *ms,
                                             struct pb_error *err);
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
/* The version d was compiled from; NULL for one read from a compiled file
 * (pb_etab_decider). */
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
/* pb_decision_json for a server: the same text, faster. dec (may be NULL) is
 * the decider that decided d: the "reason" of each rule is rendered once per
 * decider and kept for its lifetime (thread-safe, so workers share dec). ts
 * (may be NULL) is req->at as pb_time_format writes it, which a server
 * formats once a second instead of once a request. */
size_t pb_decision_json_cached(const struct pb_decider *dec, const struct pb_decision *d,
                               const struct pb_decide_request *req, const char *id,
                               const char *ts, char *buf, size_t cap);

/* ---- compiled entitlements files ------------------------------------------ */
/* One version's decision table written to a file that any number of
 * processes map read-only, so that a machine holds one copy of a large table
 * however many processes decide (the nginx module's workers,
 * docs/gateways.md). The layout (docs/enforcement.md, "Compiled entitlements
 * files") holds offsets, never pointers, so it means the same wherever it is
 * mapped; it is for the byte order and struct layout that wrote it (checked).
 * A file is replaced by renaming a new one over it, never rewritten in
 * place: a process that maps the old one keeps reading it. */
struct pb_etab;

/* Writes dec's table (built by pb_decider_new) with its version's rules,
 * number, SHA-256 and reason to path, atomically (a temporary file renamed
 * over path), with file mode mode. PB_EINVAL for a decider that came from a
 * file; PB_EIO, PB_ENOMEM. */
enum pb_status pb_etab_write(const struct pb_decider *dec, const char *path, unsigned mode,
                             struct pb_error *err);
/* Maps a compiled file read-only and checks it: its checksum, every offset
 * and index, and that its rules hash to the version's SHA-256 it names.
 * PB_EFORMAT for another format, probity or machine; PB_EVERIFY naming what
 * is wrong; PB_ENOENT, PB_EIO. The file alone does not say that its version
 * is one the log vouches for: pb_etab_verify does. cat is the catalog to
 * resolve requests with (the one the file was compiled with, for the same
 * answers). The decider (pb_etab_decider) lives as long as t; its
 * pb_decider_entitlements is NULL; a rule a decision names is built from the
 * file the first time (once per process). Free with pb_etab_free. */
enum pb_status pb_etab_open(const char *path, const struct pb_catalog *cat, struct pb_etab **out,
                            struct pb_error *err);
/* Whether ws's log names t's version and SHA-256 in a plan.apply or
 * plan.rollback entry that verifies and is sealed under a signed checkpoint,
 * the check pb_entitlements_load makes (with the key pinned by
 * pb_ws_pin_vkey, if any): PB_EVERIFY when not. */
enum pb_status pb_etab_verify(const struct pb_etab *t, struct pb_ws *ws, struct pb_error *err);
void pb_etab_free(struct pb_etab *t);
const struct pb_decider *pb_etab_decider(const struct pb_etab *t);
int64_t pb_etab_version(const struct pb_etab *t);
int64_t pb_etab_created_ms(const struct pb_etab *t);
const char *pb_etab_sha256(const struct pb_etab *t); /* hex */
const char *pb_etab_reason(const struct pb_etab *t);
size_t pb_etab_count(const struct pb_etab *t);

/* ---- decision requests over HTTP ---------------------------------------- */
/* The request side of HTTP/1.1 for a decision service (probity serve):
 * parsing a request head, percent-decoding a query string, reading an
 * OPA-style JSON input. Pure functions over bytes, no I/O, fuzzed
 * (fuzz/fuzz_http.c); every view points into the caller's buffer, which must
 * outlive it. A server keeps the socket loop and calls these. */

#define PB_HTTP_LINE_MAX 8192   /* request line; longer -> 414 */
#define PB_HTTP_HEAD_MAX 16384  /* request line + headers; longer -> 431 */
#define PB_HTTP_HEADERS_MAX 64  /* header fields; more -> 431 */
#define PB_HTTP_BODY_MAX 65536  /* request body; larger -> 413 */

struct pb_http_header {
	struct pb_str name, value; /* value trimmed of spaces and tabs */
};

/* A parsed request head. */
struct pb_http_req {
	struct pb_str method, target, path, query; /* query without '?', may be empty */
	int minor;                                  /* HTTP/1.minor: 0 or 1 */
	struct pb_http_header headers[PB_HTTP_HEADERS_MAX];
	size_t nheaders;
	size_t head_len;        /* bytes of the head, through the blank line */
	size_t content_length;  /* 0 when absent */
	bool keep_alive;        /* after this request (HTTP/1.1 default, Connection header) */
	bool expect_continue;   /* Expect: 100-continue */
};

/* Parses the request head at buf[0..len) into req. Returns the head length
 * (> 0) when complete, 0 when more bytes are needed, or a negative HTTP
 * status for a request to refuse: -400 (malformed), -413 (body over
 * PB_HTTP_BODY_MAX), -414 (request line too long), -431 (head too large or
 * too many headers), -501 (chunked or other transfer codings), -505 (not
 * HTTP/1.x). Bare LF line ends are accepted; obsolete line folding is
 * refused. The body, content_length bytes, follows the head in buf. */
int pb_http_req_parse(const char *buf, size_t len, struct pb_http_req *req);

/* The value of header name in req (ASCII case-insensitive; the first of
 * several), or {NULL, 0} when absent. */
struct pb_str pb_http_req_header(const struct pb_http_req *req, const char *name);

/* Finds key in an application/x-www-form-urlencoded query and percent-decodes
 * its value ('+' is a space) into out (cap bytes, NUL-terminated). Returns 1
 * when found, 0 when absent, -1 for bad percent-encoding, -2 when the decoded
 * value does not fit or holds a NUL, -3 when key is given more than once
 * (whatever the values: a decision service refuses it rather than pick one).
 * *outlen gets the decoded length. */
int pb_http_query_get(struct pb_str query, const char *key, char *out, size_t cap,
                      size_t *outlen);

/* Finds cookie name in a Cookie header value ("a=1; b=2") and copies its
 * value, unquoted, into out (cap bytes, NUL-terminated). Returns 1 when found,
 * 0 when absent, -2 when the value does not fit or holds a NUL, -3 when the
 * name is given more than once (a planted cookie: refuse rather than pick). */
int pb_http_cookie_get(struct pb_str header, const char *name, char *out, size_t cap);

/* multipart/form-data bodies (RFC 7578, probity web's uploads). A part, as
 * views into the body: the form field's name and filename (Content-
 * Disposition; filename {NULL, 0} when absent) and its bytes. */
struct pb_http_part {
	struct pb_str name, filename, data;
};
/* The boundary of a Content-Type "multipart/form-data; boundary=B" (quoted
 * or not) into out (cap bytes, NUL-terminated): false when it is not that
 * type or the boundary is empty, over 70 bytes or does not fit. */
bool pb_http_multipart_boundary(struct pb_str content_type, char *out, size_t cap);
/* Reads the part of body at *pos (0 for the first) into *part and moves
 * *pos past it: 1 for a part, 0 at the closing delimiter, -1 for a body
 * that is malformed there (no delimiter where one must be, a head line over
 * 4 KiB or more than 16 of them, a part without a name, no closing
 * delimiter). */
int pb_http_multipart_next(struct pb_str body, const char *boundary, size_t *pos,
                           struct pb_http_part *part);

/* Decision inputs as OPA's data API sends them: {"input": {"account": ..,
 * "subaccount": .., "service": .., "region": .., "capability": ..,
 * "sku_meter": ..}}, read by pb_opa_input_parse into a flat store of
 * NUL-terminated strings; off[k] is the offset of field k (in the order
 * above) in store, or -1 when absent. */
struct pb_opa_input {
	int off[6]; /* account, subaccount, service, region, capability, sku_meter */
	char store[2048];
};

/* Reads body[0..len) into out. Non-string values, strings holding a NUL or
 * not fitting the store, and other keys in "input" are left absent (the
 * caller reports what it requires). Returns PB_OK; PB_ELIMIT for a body over
 * PB_HTTP_BODY_MAX; PB_EEXIST for JSON with a key given twice in one object
 * (a decision service refuses it rather than pick one); PB_EFORMAT with a
 * short reason for other bad JSON or JSON that is not an object with an
 * "input" object. */
enum pb_status pb_opa_input_parse(const char *body, size_t len, struct pb_opa_input *out,
                                  struct pb_error *err);

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

/* An attachment of a hit, as listed at ingest. */
struct pb_mail_hit_attachment {
	const char *name, *type;
	uint64_t size;           /* decoded bytes */
	const char *sha256;      /* of the decoded bytes; "" for chat files (not exported) */
};
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
	const char *bcc;
	const char *in_reply_to; /* "" when none */
	const char *references;  /* Message-IDs, one a line; "" when none */
	size_t nattach;
	struct pb_mail_hit_attachment *attach;
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

/* A message hit by a term of a hit report. */
struct pb_mail_term_message {
	int64_t id;              /* the message number in this workspace */
	char *message_id;
};
/* Hit report of one term (one query) among a list. */
struct pb_mail_term_report {
	char *query;
	uint64_t hits;           /* messages the query hits */
	uint64_t unique_hits;    /* hit by this query and by no other of the list */
	uint64_t with_family;    /* hits plus every other message of their threads */
	char result_sha256[65];
	size_t nmessages;        /* = hits: every message hit, oldest first (as a search) */
	struct pb_mail_term_message *messages;
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
