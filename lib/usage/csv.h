/* csv.h - RFC 4180 reading: records split into field views, quote-aware cuts
 * between records, and a small reader over a memory buffer.
 *
 * Grammar: fields separated by ',', records by LF or CRLF; a field that starts
 * with '"' is quoted, may hold ',', CR, LF and doubled quotes, and must be
 * followed by a separator, a record end or the end of input. A '"' anywhere else
 * is an error. Record boundaries are found by quote parity (a LF after an even
 * number of quotes since the record began ends it), so a parser of whole
 * records and a splitter of big buffers always agree, even on malformed input:
 * a bad record is skipped up to the next LF at even parity.
 */
#ifndef PB_CSV_H
#define PB_CSV_H

#include "util/util.h"

/* One field of a record. ptr/len view the input: for a quoted field, the text
 * between the quotes, still holding doubled quotes when escaped is set (use
 * pb__csv_unescape). */
struct pb_csv_field {
	const char *ptr;
	uint32_t len;
	uint8_t quoted;
	uint8_t escaped;
};

enum pb_csv_problem {
	PB_CSV_OK = 0,
	PB_CSV_UNBALANCED,     /* a quoted field with no closing quote before the end */
	PB_CSV_STRAY_QUOTE,    /* '"' inside an unquoted field */
	PB_CSV_AFTER_QUOTE,    /* text after a closing quote */
	PB_CSV_TOO_MANY,       /* more fields than the caller allows */
};
const char *pb__csv_problem_text(enum pb_csv_problem p);

/* The outcome of parsing one record. */
struct pb_csv_record {
	size_t nfields;
	uint32_t lines;            /* LFs the record spans (1 for a normal line; 0 at a
	                              final record without LF) */
	enum pb_csv_problem problem;
	uint32_t problem_field;    /* 1-based field where the problem was seen */
};

/* Parses the record that starts at p (p < end). Fills up to cap fields and
 * *rec, and returns the start of the next record (end when none). On a problem
 * the returned pointer skips the whole bad record by quote parity. */
const char *pb__csv_parse_record(const char *p, const char *end, struct pb_csv_field *fields,
                                 size_t cap, struct pb_csv_record *rec);

/* The same, one field at a time, without SIMD bitmaps: the reference. */
const char *pb__csv_parse_record_simple(const char *p, const char *end,
                                        struct pb_csv_field *fields, size_t cap,
                                        struct pb_csv_record *rec);

/* Given buf[0..len) that begins at a record start, returns the length of the
 * longest prefix made of whole records (ending with LF), or 0 when there is
 * none yet. *lines gets the number of LFs in that prefix. */
size_t pb__csv_cut(const char *buf, size_t len, uint64_t *lines);

/* Counts LF bytes in buf[0..len). */
uint64_t pb__csv_count_lf(const char *buf, size_t len);

/* Copies a field's text into out (cap bytes), undoing doubled quotes;
 * returns its length, or SIZE_MAX when it does not fit. */
size_t pb__csv_unescape(const struct pb_csv_field *f, char *out, size_t cap);

/* A reader over a whole buffer held in memory, for small files (catalogs,
 * test fixtures). Skips a UTF-8 BOM. Lines starting with '#' before the header
 * are comments when allow_comments is set. */
struct pb_csv_reader {
	const char *p, *end;
	const char *name;     /* file name for errors */
	uint64_t line;        /* line of the record last returned */
	uint64_t next_line;
	bool allow_comments;
	struct pb_csv_field *fields;
	size_t cap;
	char *scratch;        /* unescaped copies live here until the next call */
	size_t scratch_cap;
};
enum pb_status pb__csv_reader_init(struct pb_csv_reader *r, const char *data, size_t len,
                                   const char *name, size_t max_fields, bool allow_comments,
                                   struct pb_error *err);
void pb__csv_reader_release(struct pb_csv_reader *r);
/* Next record as fields with unescaped text; *n = 0 and PB_OK at the end.
 * Views stay valid until the next call. */
enum pb_status pb__csv_reader_next(struct pb_csv_reader *r, struct pb_str *out, size_t *n,
                                   struct pb_error *err);

#endif /* PB_CSV_H */
