/* parquet.h - a Parquet reader for flat columns: the footer, the column
 * chunks of a row group decoded into values, and their text.
 *
 * The whole file is in memory (the caller reads it, hashing it on the way),
 * or its footer and then the bytes of one row group at a time (spans).
 * Everything read from it is checked before use: lengths, offsets, counts,
 * bit widths and the sizes that pages claim; a file that lies gets
 * PB_EFORMAT naming the column and what is wrong, a feature not read here
 * (nested columns, BROTLI, ...) PB_EUNSUPPORTED naming it. */
#ifndef PB_PARQUET_H
#define PB_PARQUET_H

#include "probity.h"
#include "util/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* physical types */
enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FLBA };

/* what the values mean (from the logical or legacy converted type) */
enum pb_pq_kind {
	PQK_PLAIN,     /* the physical type as it is */
	PQK_STRING,    /* UTF-8 text (STRING, ENUM, JSON, UTF8) */
	PQK_DECIMAL,   /* unscaled integer, scale digits */
	PQK_DATE,      /* days since 1970-01-01 */
	PQK_TIMESTAMP, /* unit since 1970-01-01 (INT96: legacy nanoseconds) */
	PQK_TIME,      /* unit since midnight */
	PQK_UINT,      /* unsigned INT32/INT64 */
	PQK_INT8,      /* INT32 holding an 8-bit integer */
	PQK_INT16,
	PQK_UINT8,
	PQK_UINT16,
	PQK_FLOAT16,   /* FLBA(2) */
	PQK_OTHER,     /* unknown annotation: read as the physical type */
};

/* a leaf column */
struct pb_pq_column {
	char name[256];       /* its path, '.'-separated */
	int type, type_length;
	enum pb_pq_kind kind;
	int scale, precision;
	int unit;             /* timestamps, times: 0 ms, 1 us, 2 ns */
	bool utc;             /* timestamps: isAdjustedToUTC */
	int max_def, max_rep;
	bool nested;          /* under a group, or repeated */
	bool optional;        /* the leaf itself may be null */
	int top;              /* index of its top-level field */
};

struct pb_pq_chunk {
	int codec;
	int64_t num_values;
	int64_t data_off, dict_off, size;  /* size: total_compressed_size */
	bool has_meta;
};

struct pb_pq_rowgroup {
	int64_t num_rows;
	struct pb_pq_chunk *chunks; /* one per column */
	/* when the file is not held whole (pb__pq_open_tail): the bytes of its
	 * column chunks, file offsets [span_lo, span_hi) (pb__pq_spans), once
	 * the reader has them; NULL when not (then it is not read) */
	int64_t span_lo, span_hi;
	const uint8_t *span;
};

struct pb_pq_file {
	const uint8_t *data;        /* the whole file, or NULL: its row groups' spans */
	size_t len;                 /* its size */
	char name[256];
	struct pb_pq_column *cols;
	size_t ncols;
	char (*tops)[256];          /* top-level field names */
	bool *top_nested;           /* a group or repeated at top level */
	int *top_group;             /* converted type of a top-level group (1 MAP, 3 LIST), or -1 */
	size_t ntops;
	struct pb_pq_rowgroup *rgs;
	size_t nrgs;
	int64_t num_rows;
};

/* one value: ints, floats and bools in i/d, bytes (BYTE_ARRAY, FLBA, INT96)
 * as a view */
struct pb_pq_value {
	union {
		int64_t i;
		double d;
		struct {
			const uint8_t *p;
			uint32_t n;
		} b;
	} u;
};

#define PB_PQ_NODICT UINT32_MAX

/* the values of one column chunk */
struct pb_pq_values {
	size_t n;
	uint8_t *null;                /* 1 when the value is null */
	uint8_t *def, *rep;           /* a repeated column's levels per entry, else NULL */
	struct pb_pq_value *v;        /* NULL while every value is null or in dix: read
	                                 them with pb__pq_value */
	uint32_t *dix;                /* per value, its entry in the chunk's dictionary
	                                 (PB_PQ_NODICT: null, or a page not dictionary-
	                                 encoded); NULL when the chunk has no dictionary */
	struct pb_pq_value *dict;     /* that dictionary (with dix) */
	size_t ndict;                 /* its entries */
	bool dict_only;               /* pb__pq_read_dict: n rows, the dictionary and
	                                 nothing else (no null, dix or v) */
	void **bufs;                  /* what views point into */
	size_t nbufs, capbufs;
};

/* Value i of vs (zero for a null). */
static inline const struct pb_pq_value *pb__pq_value(const struct pb_pq_values *vs, size_t i)
{
	static const struct pb_pq_value none;
	if (vs->v)
		return &vs->v[i];
	return !vs->dix || vs->dix[i] == PB_PQ_NODICT ? &none : &vs->dict[vs->dix[i]];
}

/* Reads the footer of the file data[0..len) (kept, not copied); name is for
 * messages. */
enum pb_status pb__pq_open(struct pb_pq_file *f, const uint8_t *data, size_t len,
                           const char *name, struct pb_error *err);
void pb__pq_release(struct pb_pq_file *f);
/* The same when the file (len bytes) is not in memory: tail holds its last
 * tlen bytes, at least the footer, its length and the magic (nothing is
 * kept). The column chunks of row group r are then read from
 * f->rgs[r].span, which the caller sets to the bytes [span_lo, span_hi)
 * of the file (pb__pq_spans) before reading it. */
enum pb_status pb__pq_open_tail(struct pb_pq_file *f, const uint8_t *tail, size_t tlen,
                                uint64_t len, const char *name, struct pb_error *err);
/* The footer length from the last 8 bytes of a file of len bytes, when they
 * end in the magic and it fits (else 0). */
uint32_t pb__pq_footer_len(const uint8_t last8[8], uint64_t len);
/* Sets each row group's span (span_lo, span_hi: from its first column
 * chunk's start to its last one's end; 0, 0 for a group of no rows) and
 * says whether they are in file order, apart, and inside [4, end): only
 * then can the file be read span by span, front to back. */
bool pb__pq_spans(struct pb_pq_file *f, uint64_t end);

/* Decodes column col of row group rg into out (released first). A repeated
 * column (max_rep > 0) gives one entry per level pair, with def and rep. */
enum pb_status pb__pq_read(const struct pb_pq_file *f, size_t rg, size_t col,
                           struct pb_pq_values *out, struct pb_error *err);
void pb__pq_values_release(struct pb_pq_values *v);
/* Reads only the dictionary of a flat column chunk whose data pages are all
 * dictionary-encoded (by their headers, which also count its rows; the
 * pages themselves are neither decompressed nor checked), for a reader to
 * whom every entry and null is as good as any: *only set, out->dict_only.
 * Otherwise *only is false and out empty (pb__pq_read says what is wrong,
 * if anything); an error only when out of memory. */
enum pb_status pb__pq_read_dict(const struct pb_pq_file *f, size_t rg, size_t col,
                                struct pb_pq_values *out, bool *only, struct pb_error *err);

/* Reads the MAP whose key and value leaves are columns kcol and vcol in row
 * group rg into out: one value a row, the map as the JSON object text a CSV
 * export's Tags holds ({"key":"value",...}; a null value as null), null
 * where the map is null. */
enum pb_status pb__pq_map_json(const struct pb_pq_file *f, size_t rg, size_t kcol, size_t vcol,
                               struct pb_pq_values *out, struct pb_error *err);

/* The text of value i of column c: the text a CSV export would hold (ISO
 * dates and times in UTC, exact decimals, shortest round-trip floats; bytes
 * as they are). Null gives len 0 and *is_null. The text is in buf (cap
 * bytes, at least 64) or a view into the value. */
struct pb_str pb__pq_text(const struct pb_pq_column *c, const struct pb_pq_values *v, size_t i,
                          char *buf, size_t cap, bool *is_null);
/* When pb__pq_text gives a DOUBLE d as a plain decimal of at most 15
 * fractional digits (the common cost or quantity, or zero), true with *out
 * the value pb__dec_parse reads from that text (exactly, with no flags);
 * else false. */
bool pb__pq_double_dec(double d, pb_dec *out);
/* Does pb__pq_text give a DOUBLE d as a plain decimal (digits, a point,
 * digits; no exponent, not nan or inf)? Some that are give false. */
bool pb__pq_double_plain(double d);
/* When pb__pq_text gives timestamp v of column c as YYYY-MM-DDTHH:MM:SSZ
 * (whole seconds, years 0 to 9999), true with *secs what pb_time_parse reads
 * from that text (with no flags); else false. */
bool pb__pq_timestamp_secs(const struct pb_pq_column *c, int64_t v, int64_t *secs);

/* Is data[0..len) a Parquet file by its magic bytes (PAR1 at both ends)? */
bool pb__pq_is_parquet(const uint8_t *data, size_t len);

#endif
