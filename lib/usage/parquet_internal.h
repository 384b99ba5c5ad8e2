/* parquet_internal.h - what the files of the Parquet reader share:
 * parquet_thrift.c (footer, page headers), parquet_enc.c (encodings),
 * parquet.c (schema, pages, codecs, values and their text). */
#ifndef PB_PARQUET_INTERNAL_H
#define PB_PARQUET_INTERNAL_H

#include "usage/parquet.h"
#include "util/util.h"

/* a compact-protocol reader over p[0..end); bad once anything failed */
struct pq_thrift {
	const uint8_t *p, *end;
	bool bad;
	bool external; /* a column chunk lives in another file */
};

struct pq_schema_el {
	char name[128];
	int type, type_length, repetition; /* 0 required, 1 optional, 2 repeated */
	int num_children;
	bool has_children;
	int converted;
	int scale, precision;
	int logical;                       /* LogicalType union field id, 0 = none */
	int unit;                          /* -1 none, 0 ms, 1 us, 2 ns */
	bool utc;
	int int_bits;
	bool int_signed;
};

struct pq_meta {
	struct pq_schema_el *schema;
	size_t nschema, nleaves;
	int64_t num_rows;
	struct pb_pq_rowgroup *rgs;
	size_t nrgs;
};

struct pq_page {
	int type;            /* 0 data, 2 dictionary, 3 data v2 */
	int64_t usize, csize;
	int64_t num_values, num_nulls, num_rows;
	int encoding, def_encoding, rep_encoding;
	int64_t def_len, rep_len;
	bool v2_compressed;
};

/* PB_EFORMAT without a message when the footer is malformed (the caller
 * says so); the message on PB_ENOMEM. */
enum pb_status pb__pq_read_meta(struct pq_thrift *t, struct pq_meta *m, struct pb_error *err);
bool pb__pq_read_page_header(struct pq_thrift *t, struct pq_page *pg);

/* ---- encodings (parquet_enc.c) ----------------------------------------- */

/* RLE / bit-packed hybrid of bit width w (0..32) over p[0..n): decodes count
 * values into out; false when the data ends early or is malformed. */
bool pb__pq_rle(const uint8_t *p, size_t n, int w, uint32_t *out, size_t count);

/* DELTA_BINARY_PACKED: up to cap values into out (*count set from the
 * header); *used gets the bytes consumed. false when malformed. */
bool pb__pq_delta(const uint8_t *p, size_t n, int64_t *out, size_t cap, size_t *count,
                  size_t *used);

#endif
