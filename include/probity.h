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
/* Checks that an entry is a probity audit entry for position index (canonical
 * JSON object with v, index, time, actor, action); usable as the check
 * callback of pb_tlog_verify_dir (ctx unused). */
enum pb_status pb_audit_entry_check(void *ctx, uint64_t index, struct pb_str *entry,
                                    struct pb_error *err);


/* ===================================================================== */
/* Enforcement plans                                                     */
/* ===================================================================== */

/* ===================================================================== */
/* Decisions                                                             */
/* ===================================================================== */

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
