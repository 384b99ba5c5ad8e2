/* usage_internal.h - what the files of the ingest pipeline share, and nothing
 * outside lib/usage/ includes.
 *
 * One ingest (or one recomputation of a source for evidence) is one struct
 * pb_ingest, handed from step to step:
 *
 *   usage.c      the entry points and the order of the steps
 *   pipeline.c   reading the input, the header, the parser threads, chunks
 *   aggtab.c     the aggregate key and the per-thread aggregate tables
 *   mapping.c    aggregates through the catalog into dimension ids, accounts
 *   firewall.c   the content firewall: customer-chosen names as keyed pseudonyms
 *   commit.c     the transaction: source, daily aggregates, monthly totals,
 *                warnings, rejects, accounts, audit entry
 *   report.c     the ingest report: warnings, JSON, a repeat's report
 *   tmpfile.c    files created unnamed and linked into place at commit
 *   listing.c    sources and accounts for the listings; tree hashes of files
 *   tree.c       the tree hash (tree.h): leaves, roots, identities
 *   leafhash.c   its leaves two at a time with the SHA instructions
 *   lineproof.c  line proofs: writing a bundle, checking one
 */
#ifndef PB_USAGE_INTERNAL_H
#define PB_USAGE_INTERNAL_H

#include "probity.h"
#include "store/store.h"
#include "usage/catalog.h"
#include "usage/csv.h"
#include "usage/focus.h"
#include "usage/source.h"
#include "usage/tree.h"
#include "usage/usage.h"
#include "util/hmap.h"

#include <pthread.h>
#include <string.h>

#define PB_USAGE_DEFAULT_MAX_RECORD (1u << 20)
/* 4 MiB of new bytes a chunk and room for the record carried over: four
 * whole 1 MiB leaves of the tree hash a fill, hashed in two pairs (leafhash.c) */
#define PB_USAGE_DEFAULT_CHUNK ((4u << 20) + (64u << 10))
#define PB_USAGE_MAX_FIELDS 4096
#define PB_USAGE_KEY_FIELD_MAX 1024

/* ---- aggregate key and table (aggtab.c) ------------------------------ */

/* The fields of a row that make its aggregate, besides the day. */
enum pb_kfield {
	K_ACCOUNT, K_ACCOUNT_NAME, K_SUB, K_SUB_NAME, K_PROVIDER, K_CATEGORY, K_SUBCATEGORY,
	K_SERVICE, K_METER, K_REGION, K_REGION_NAME, K_UNIT, K_CHARGE_CATEGORY, K_CURRENCY,
	K_COUNT
};

#define PB_USAGE_KEY_MAX (4 + K_COUNT * (2 + PB_USAGE_KEY_FIELD_MAX))

/* Writes the key of row r on day into kb (PB_USAGE_KEY_MAX bytes): int32
 * day, then per field a uint16 length and the bytes. Returns its length. */
size_t pb__usage_key_build(char *kb, int32_t day, const struct pb_focus_row *r);
/* The day and fields of a key (views into k). */
void pb__usage_key_decode(const char *k, int32_t *day, struct pb_str out[K_COUNT]);

static inline uint64_t pb__usage_key_hash(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	h = (h ^ pb__tail_le(p, n)) * 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return h;
}

/* The sums of one key. */
struct pb_agg {
	uint64_t hash;
	size_t koff;
	uint32_t klen;
	pb_dec q, billed, eff, list;
	uint64_t rows, first, last;
};

/* Open addressing over the aggregates; keys are kept in one buffer. */
struct pb_aggtab {
	struct pb_agg *v;
	size_t n, cap;
	uint32_t *slot;  /* index + 1; 0 = empty */
	size_t nslots;   /* power of two */
	char *keys;
	size_t klen, kcap;
};

void pb__aggtab_release(struct pb_aggtab *t);
/* Finds or adds the aggregate of key kb[0..kl) with hash h; NULL when out of
 * memory. A new one has zero sums. */
struct pb_agg *pb__aggtab_get(struct pb_aggtab *t, const char *kb, size_t kl, uint64_t h);
/* Removes the aggregates added after the table held n (undoing a batch). */
void pb__aggtab_truncate(struct pb_aggtab *t, size_t n);

/* Adds src's sums into dst; false on overflow (dst unchanged). */
static inline bool pb__agg_merge(struct pb_agg *dst, const struct pb_agg *src)
{
	struct pb_agg t = *dst;
	if (!pb__dec_add(&t.q, src->q) || !pb__dec_add(&t.billed, src->billed) ||
	    !pb__dec_add(&t.eff, src->eff) || !pb__dec_add(&t.list, src->list))
		return false;
	t.rows += src->rows;
	if (src->first < t.first)
		t.first = src->first;
	if (src->last > t.last)
		t.last = src->last;
	*dst = t;
	return true;
}

/* ---- files linked into place at commit (tmpfile.c) ------------------- */

struct pb_tmpf {
	int fd;      /* -1 when not open */
	char *dir;
	char *named; /* fallback: a named temporary */
};
#define PB_TMPF_NONE { -1, NULL, NULL }

/* Creates an unnamed file in dir (a named temporary where O_TMPFILE is not
 * supported). */
enum pb_status pb__tmpf_open(struct pb_tmpf *t, const char *dir, struct pb_error *err);
enum pb_status pb__tmpf_write(struct pb_tmpf *t, const void *p, size_t n, struct pb_error *err);
/* Makes the file durable and gives it its final name (replacing any). */
enum pb_status pb__tmpf_publish(struct pb_tmpf *t, const char *path, struct pb_error *err);
/* Closes the file; unnamed or temporary, it is gone. */
void pb__tmpf_discard(struct pb_tmpf *t);
/* Removes files in the workspace folder sub named after a SHA-256 that no
 * source has (left by a crash between linking them and the commit), and
 * stale named temporaries. */
void pb__usage_remove_orphans(struct pb_ws *ws, const char *sub);

/* ---- the content firewall (firewall.c) ------------------------------- */

/* How customer-chosen names are stored: in clear (keep_names) or as keyed
 * pseudonyms "ps:" + 16 base32 characters of HMAC-SHA256(key, column NUL value). */
struct pb_firewall {
	bool keep_names;
	const uint8_t *key; /* the workspace's pseudonym key; NULL when not needed */
};

/* Reads the workspace's names setting, and its key when names are
 * pseudonymised and need_key (nothing is stored when recomputing). */
enum pb_status pb__firewall_init(struct pb_firewall *fw, struct pb_ws *ws, bool need_key,
                                 struct pb_error *err);
/* "clear" or "pseudonymised", for the source record. */
const char *pb__firewall_names(const struct pb_firewall *fw);
/* Binds parameter i of q to value v of customer-chosen column as it may be
 * stored: NULL for a null view, v when names are kept, else its pseudonym. */
void pb__firewall_bind_name(const struct pb_firewall *fw, sqlite3_stmt *q, int i,
                            const char *column, struct pb_str v);

/* ---- chunks and workers (pipeline.c) --------------------------------- */

/* A rejected row of a chunk. */
struct pb_rej {
	uint64_t line;
	uint32_t field;
	size_t reason_off; /* into chunk->reasons, then into pb_ingest.reasons */
};

enum { CH_FREE, CH_FILLING, CH_QUEUED, CH_BUSY, CH_DONE };

struct pb_chunk {
	char *buf;
	size_t cap;
	size_t off, len;   /* records are buf[off..len) */
	uint64_t line0;
	uint64_t seq;
	int state;
	uint64_t rows, accepted, rejected, warned, blank;
	struct pb_buf rej_csv;   /* lines of the rejects file */
	struct pb_buf reasons;   /* NUL-terminated reasons */
	struct pb_rej *rej;
	size_t nrej, caprej;
	bool failed;        /* out of memory */
	uint64_t too_long;  /* line of a record over max_record, or 0 */
	/* the tree hash: the chunk hashes the leaves buf[tree_lo..tree_hi), which
	 * start at multiples of the leaf size in the stream (pipeline.c) */
	size_t tree_lo, tree_hi;
	uint8_t (*leaf)[32];
	size_t nleaf;
	size_t pq_rg;       /* Parquet: the row group (1-based) this chunk stands for, or 0 */
	size_t pq_r0, pq_r1; /* Parquet: its rows [r0, r1) (0-based in the row group) */
	size_t pq_nslices;  /* Parquet: the chunks its row group is cut into */
	bool has_err;       /* Parquet: the row group did not decode (err says why) */
	struct pb_error err;
};

struct pb_ingest;

struct pb_worker {
	struct pb_ingest *in;
	pthread_t th;
	bool started;
	struct pb_aggtab tab;
	struct pb_focus_ctx fx;
	struct pb_csv_field *fields;
	char *kb;
	struct pb_pq_work *pq;  /* Parquet: decoded columns and text scratch */
};

enum pb_row_fate { ROW_ACCEPTED, ROW_REJECTED, ROW_FAILED };

/* Checks one record (rs, rl bytes, parsed into w->fields as rec) on line and
 * adds it to the worker's table; a rejected row gets a reason and the field
 * at fault (1-based, 0 for the row). ROW_FAILED when out of memory. */
enum pb_row_fate pb__ingest_take_row(struct pb_worker *w, const char *rs, size_t rl,
                                     const struct pb_csv_record *rec, uint64_t line,
                                     char *reason, size_t cap, uint32_t *bad, bool *warned);
/* Adds a rejected row to the chunk's rejects; false when out of memory. */
bool pb__ingest_rej_add(struct pb_chunk *ch, uint64_t line, uint32_t field, const char *reason,
                        const char *rec, size_t rec_len, const char *colname);

/* ---- mapped aggregates and accounts (mapping.c) ---------------------- */

/* Dimension ids of a stored aggregate (N_DAY holds the day). */
enum { N_DAY, N_ACCOUNT, N_SUB, N_PROVIDER, N_CATEGORY, N_SUBCATEGORY, N_SERVICE, N_METER,
       N_CAPABILITY, N_REGION, N_COUNTRY, N_UNIT, N_CHARGE, N_CURRENCY, N_COUNT };

/* An aggregate after mapping: dim ids and sums. */
struct pb_fin {
	int64_t id[N_COUNT];
	struct pb_agg a;
};

/* Strings and their ids in the dim table; in recompute mode the ids are
 * local and the strings kept here. */
struct pb_dimcache {
	struct pb_hmap map;
	sqlite3_stmt *sel, *ins;
	bool virt;
	char **strs;
	size_t nstrs, cap;
};

/* A billing account ('b') or sub-account ('s') seen in the aggregates. */
struct pb_acct {
	char kind;
	struct pb_str id, billing, name, provider;
	int32_t first_day, last_day;
	uint64_t last_line;
};

/* Counted catalog problems, with up to 20 distinct example values each. */
struct pb_unknowns {
	uint64_t count[FW_COUNT];
	uint64_t first[FW_COUNT];
	char examples[FW_COUNT][96];
};

/* ---- one ingest ------------------------------------------------------ */

struct pb_ingest {
	/* the call */
	struct pb_ws *ws;
	const struct pb_catalog *cat;
	const char *path;
	const struct pb_ingest_options *opts;
	struct pb_ingest_report *rep;
	const char *actor;           /* opts->actor, or NULL for the workspace default */
	pb__usage_agg_fn recompute;  /* recompute mode: no workspace writes */
	void *recompute_ctx;
	const char *expect_sha;      /* recompute: the source key the evidence cites, or NULL */
	bool want_flat;              /* the key is the file's SHA-256 (a source from before the
	                                tree hash): compute it too */
	double t0;

	/* the input (pipeline.c) */
	struct pb_source src;
	bool src_open;
	struct pb_tmpf copy;         /* of a piped input, open when reading "-" */
	struct pb_tmpf rejf;         /* the rejects file, open unless recomputing */
	bool have_rejf;              /* something was written to it */
	struct pb_focus_map map;
	char **colnames;
	size_t ncolnames;
	char *hdr_scratch;
	size_t max_record, chunk_size;
	unsigned threads;
	bool eof;
	size_t tree_chunk;           /* leaf size of the tree hash */
	uint64_t tree_done;          /* stream bytes given to chunks to hash */
	struct pb__mth data_tree;    /* over the decompressed stream; keeps the leaves */
	char flat_sha[65];           /* with want_flat */
	struct pb_pq_file *pq;       /* a Parquet input (pqingest.c), or NULL */
	uint8_t *pq_data;            /* its bytes, when read whole */
	uint8_t *pq_tail;            /* else (streamed): its footer, length and magic, read first */
	size_t pq_tail_len;
	uint64_t pq_pos;             /* streamed: the bytes read front to back so far */
	int *pq_leaf;                /* per header field: the leaf column read (a MAP's key), or -1 */
	int *pq_mapval;              /* per header field: a MAP's value column, or -1 */
	bool *pq_skipped;            /* per header field: a nested column not read (warned) */
	struct pb_pq_groups *pq_groups; /* row groups decoded, shared by the workers */

	/* the threads (pipeline.c) */
	pthread_mutex_t mu;
	pthread_cond_t cv_work;      /* a chunk was queued, or stop */
	pthread_cond_t cv_done;      /* a chunk finished */
	bool mu_init;
	struct pb_chunk *chunks;
	size_t nchunks;
	struct pb_chunk **queue;     /* ring of queued chunks */
	size_t qhead, qlen;
	bool stop;
	struct pb_worker *workers;   /* [0] is the calling thread */
	uint64_t seq, next_collect;  /* chunks cut, chunks collected */

	/* what the rows gave */
	struct pb_rej **rejs;
	size_t nrej, caprej;
	struct pb_buf reasons;
	struct pb_aggtab all;        /* the workers' tables merged */
	struct pb_focus_ctx fxsum;   /* their warning counts merged */
	bool fxsum_init;

	/* finalisation (mapping.c, commit.c) */
	struct pb_firewall fw;
	const char *acting;          /* the checked acting user */
	struct pb_dimcache dc;
	struct pb_hmap finmap, acctmap;
	struct pb_fin *fins;
	size_t nfin;
	struct pb_acct *accts;
	size_t nacct, capacct;
	struct pb_unknowns unk;
	int32_t first_day, last_day;
	char rejects_rel[128], rejects_abs[1024], copy_abs[1024];
};

/* pipeline.c */
enum pb_status pb__ingest_open_input(struct pb_ingest *in, struct pb_error *err);
enum pb_status pb__ingest_read_header(struct pb_ingest *in, struct pb_error *err);
enum pb_status pb__ingest_start_workers(struct pb_ingest *in, struct pb_error *err);
enum pb_status pb__ingest_read_rows(struct pb_ingest *in, struct pb_error *err);
enum pb_status pb__ingest_merge_workers(struct pb_ingest *in, struct pb_error *err);
void pb__ingest_stop_workers(struct pb_ingest *in);
void pb__ingest_release_input(struct pb_ingest *in);
/* The column name of field (1-based), or "". */
const char *pb__ingest_colname(const struct pb_ingest *in, uint32_t field);
/* Maps the header's column names (kept in in->colnames) onto FOCUS. */
enum pb_status pb__ingest_map_names(struct pb_ingest *in, const struct pb_str *names, size_t nf,
                                    struct pb_error *err);

/* pqingest.c: a Parquet input, its footer first and then, front to back,
 * the bytes of each row group as the reader reaches it (or read whole when
 * that cannot be: a pipe, groups out of order), hashed on the way; its
 * schema as the header; then each row group becomes a chunk (or slices of
 * its rows, pq_r0..pq_r1) the workers check over one shared decoded copy. */
struct pb_pq_file;
struct pb_pq_work;
struct pb_pq_groups;
enum pb_status pb__pq_ingest_open(struct pb_ingest *in, struct pb_error *err);
size_t pb__pq_ingest_ngroups(const struct pb_ingest *in);
uint64_t pb__pq_ingest_group_rows(const struct pb_ingest *in, size_t rg);
void pb__pq_ingest_rg(struct pb_worker *w, struct pb_chunk *ch);
/* Streamed: reads the file on to the end of row group rg's bytes (hashing
 * every byte), before its chunks are queued; nothing when read whole. */
enum pb_status pb__pq_ingest_span(struct pb_ingest *in, size_t rg, struct pb_error *err);
/* The row groups whose bytes are held (read, not yet done with). */
size_t pb__pq_ingest_spans_live(struct pb_ingest *in);
/* Streamed: reads the rest of the file, which must end with the footer
 * read first, at the size it had when opened. */
enum pb_status pb__pq_ingest_finish(struct pb_ingest *in, struct pb_error *err);
void pb__pq_ingest_release(struct pb_ingest *in);

/* mapping.c */
void pb__ingest_mapping_init(struct pb_ingest *in);
enum pb_status pb__ingest_map_aggregates(struct pb_ingest *in, struct pb_error *err);
enum pb_status pb__ingest_hand_out(struct pb_ingest *in, struct pb_error *err);
void pb__ingest_mapping_release(struct pb_ingest *in);

/* commit.c */
enum pb_status pb__ingest_begin(struct pb_ingest *in, bool *already, struct pb_error *err);
enum pb_status pb__ingest_write(struct pb_ingest *in, struct pb_error *err);
void pb__ingest_unpublish(struct pb_ingest *in);

/* report.c */
enum pb_status pb__ingest_report_warnings(struct pb_ingest *in, struct pb_error *err);
enum pb_status pb__ingest_report_json(const struct pb_ingest_report *rep, struct pb_buf *b);
/* A file already loaded: its SHA-256 in sha_out (65 bytes) when a source of
 * the same size has the same hash. */
bool pb__ingest_already(struct pb_ws *ws, const char *path, char *sha_out);
void pb__ingest_report_from_db(struct pb_ws *ws, const char *sha, struct pb_ingest_report *rep);

#endif /* PB_USAGE_INTERNAL_H */
