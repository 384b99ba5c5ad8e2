/* source.h - opening an input: plain, gzip or zstd, told apart by their first
 * bytes; streaming its decompressed bytes; the SHA-256 of its raw bytes. */
#ifndef PB_SOURCE_H
#define PB_SOURCE_H

#include "usage/tree.h"
#include "util/util.h"

enum pb_compression {
	PB_COMP_NONE = 0,
	PB_COMP_GZIP,
	PB_COMP_ZSTD,
};
const char *pb__compression_name(enum pb_compression c);

struct pb_source {
	int fd;
	bool own_fd;
	char name[256];           /* for messages */
	enum pb_compression comp;
	bool parquet;             /* PAR1: read by pqingest.c (row group by row group) */
	uint64_t size;            /* bytes of a regular file, 0 for a pipe */
	uint64_t raw_bytes;       /* raw bytes read so far */
	uint64_t out_bytes;       /* decompressed bytes handed out */
	struct pb_sha256 sha;      /* plain SHA-256 of the raw bytes, when asked for */
	bool hash_flat;
	struct pb__mth raw_tree;  /* tree hash of the raw bytes of a compressed input */
	bool hash_tree;
	int tee_fd;               /* when >= 0, raw bytes are copied here */
	/* raw input buffer (compressed inputs) */
	uint8_t *raw;
	size_t raw_cap, raw_pos, raw_len;
	bool raw_eof;
	void *gz;                 /* struct inflate_state (ISA-L) */
	bool gz_member_open;      /* inside a gzip member */
	void *zs;                 /* ZSTD_DCtx */
	size_t zs_last;           /* last ZSTD_decompressStream hint; 0 = frame complete */
	bool zs_any;
	bool done;
	/* the first bytes, read ahead to detect the format */
	uint8_t head[8];
	size_t head_len, head_pos;
};
/* What the source is as a file: "parquet" (its pages carry their own
 * codecs), else its compression's name. Shown and stored as its compression. */
const char *pb__source_container(const struct pb_source *s);

/* Opens path ("-" for standard input). Detects the compression from the first
 * bytes (and Parquet) and refuses formats probity cannot read (zip, xz, bzip2) with
 * a message saying what to do. tee_fd >= 0 receives a copy of every raw byte. */
enum pb_status pb__source_open(struct pb_source *s, const char *path, int tee_fd,
                               struct pb_error *err);
/* The same, hashing the raw bytes as they are read: their plain SHA-256 when
 * flat, and, for a compressed input, their tree hash at tree_chunk bytes a
 * leaf (the tree of a plain input is its decompressed stream's, which the
 * ingest threads compute). */
enum pb_status pb__source_open_hashed(struct pb_source *s, const char *path, int tee_fd,
                                      size_t tree_chunk, bool flat, struct pb_error *err);
/* Reads up to cap decompressed bytes; *n = 0 means the end. Fails with
 * PB_EFORMAT on a corrupt or truncated stream, PB_EIO on a read error. */
enum pb_status pb__source_read(struct pb_source *s, char *buf, size_t cap, size_t *n,
                               struct pb_error *err);
/* After a failed read: hashes the raw bytes not read yet, to the end of the
 * input, so that pb__source_digest and pb__source_tree_root cover the whole
 * file even when its contents no longer decode. */
enum pb_status pb__source_hash_rest(struct pb_source *s, struct pb_error *err);
/* After the end: the SHA-256 of all raw bytes (opened with flat). */
void pb__source_digest(struct pb_source *s, uint8_t out[32]);
/* After the end: the tree hash root of the raw bytes of a compressed input. */
enum pb_status pb__source_tree_root(struct pb_source *s, uint8_t out[32]);
void pb__source_close(struct pb_source *s);

#endif
