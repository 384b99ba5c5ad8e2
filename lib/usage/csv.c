/* csv.c - RFC 4180 reading: record parsing into views, cuts between records.
 *
 * This is the innermost loop of ingest, so it is written by hand: the search for
 * the next separator, quote or line end looks at 16 bytes at a time (SSE2, part
 * of every x86-64 CPU) with a byte loop for the tail and for other CPUs. No
 * field is copied; quoted fields with doubled quotes are unescaped only on
 * demand.
 */
#include "usage/csv.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif

#include "util/banned.h"

const char *pb__csv_problem_text(enum pb_csv_problem p)
{
	switch (p) {
	case PB_CSV_OK:
		return "ok";
	case PB_CSV_UNBALANCED:
		return "unbalanced quote: a quoted field is not closed before the end of the file";
	case PB_CSV_STRAY_QUOTE:
		return "a '\"' inside an unquoted field (quote the whole field and double the quote)";
	case PB_CSV_AFTER_QUOTE:
		return "text after the closing quote of a field";
	case PB_CSV_TOO_MANY:
		return "more fields than the header has";
	}
	return "unknown problem";
}

/* First byte in [p, end) equal to a, b or c, or end. */
static inline const char *find3(const char *p, const char *end, char a, char b, char c)
{
#ifdef HAVE_SSE2
	const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
		                         _mm_cmpeq_epi8(x, vc));
		int mask = _mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#endif
	for (; p < end; p++)
		if (*p == a || *p == b || *p == c)
			return p;
	return end;
}

static inline const char *find2(const char *p, const char *end, char a, char b)
{
#ifdef HAVE_SSE2
	const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb));
		int mask = _mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#endif
	for (; p < end; p++)
		if (*p == a || *p == b)
			return p;
	return end;
}

/* Counts '"' and LF bytes. This pass runs over every byte the reader thread
 * hands out, so it uses AVX2 when the CPU has it (checked once at run time)
 * and SSE2 otherwise; both count with byte-wise compares summed by PSADBW, no
 * popcount needed. */
static void count_q_lf_scalar(const char *p, const char *end, uint64_t *q, uint64_t *l)
{
	for (; p < end; p++) {
		*q += *p == '"';
		*l += *p == '\n';
	}
}

#ifdef HAVE_SSE2
#include <immintrin.h>

__attribute__((target("avx2"))) static void count_q_lf_avx2(const char *p, size_t n,
                                                            uint64_t *quotes, uint64_t *lfs)
{
	const char *end = p + n;
	const __m256i vq = _mm256_set1_epi8('"'), vl = _mm256_set1_epi8('\n');
	const __m256i zero = _mm256_setzero_si256();
	__m256i tq = zero, tl = zero; /* 64-bit lane totals */
	while (end - p >= 32) {
		__m256i aq = zero, al = zero; /* byte counters, at most 255 steps */
		int steps = 0;
		while (end - p >= 32 && steps < 255) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
			aq = _mm256_sub_epi8(aq, _mm256_cmpeq_epi8(x, vq));
			al = _mm256_sub_epi8(al, _mm256_cmpeq_epi8(x, vl));
			p += 32;
			steps++;
		}
		tq = _mm256_add_epi64(tq, _mm256_sad_epu8(aq, zero));
		tl = _mm256_add_epi64(tl, _mm256_sad_epu8(al, zero));
	}
	uint64_t bq[4], bl[4];
	_mm256_storeu_si256((__m256i *)(void *)bq, tq);
	_mm256_storeu_si256((__m256i *)(void *)bl, tl);
	uint64_t q = bq[0] + bq[1] + bq[2] + bq[3], l = bl[0] + bl[1] + bl[2] + bl[3];
	count_q_lf_scalar(p, end, &q, &l);
	*quotes = q;
	*lfs = l;
}

static void count_q_lf_sse2(const char *p, size_t n, uint64_t *quotes, uint64_t *lfs)
{
	const char *end = p + n;
	const __m128i vq = _mm_set1_epi8('"'), vl = _mm_set1_epi8('\n');
	const __m128i zero = _mm_setzero_si128();
	__m128i tq = zero, tl = zero;
	while (end - p >= 16) {
		__m128i aq = zero, al = zero;
		int steps = 0;
		while (end - p >= 16 && steps < 255) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			aq = _mm_sub_epi8(aq, _mm_cmpeq_epi8(x, vq));
			al = _mm_sub_epi8(al, _mm_cmpeq_epi8(x, vl));
			p += 16;
			steps++;
		}
		tq = _mm_add_epi64(tq, _mm_sad_epu8(aq, zero));
		tl = _mm_add_epi64(tl, _mm_sad_epu8(al, zero));
	}
	uint64_t bq[2], bl[2];
	_mm_storeu_si128((__m128i *)(void *)bq, tq);
	_mm_storeu_si128((__m128i *)(void *)bl, tl);
	uint64_t q = bq[0] + bq[1], l = bl[0] + bl[1];
	count_q_lf_scalar(p, end, &q, &l);
	*quotes = q;
	*lfs = l;
}

static void count_q_lf(const char *p, size_t n, uint64_t *quotes, uint64_t *lfs)
{
	static int have_avx2 = -1; /* benign race: every thread computes the same */
	if (have_avx2 < 0)
		have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
	if (have_avx2)
		count_q_lf_avx2(p, n, quotes, lfs);
	else
		count_q_lf_sse2(p, n, quotes, lfs);
}
#else
static void count_q_lf(const char *p, size_t n, uint64_t *quotes, uint64_t *lfs)
{
	uint64_t q = 0, l = 0;
	count_q_lf_scalar(p, p + n, &q, &l);
	*quotes = q;
	*lfs = l;
}
#endif

uint64_t pb__csv_count_lf(const char *buf, size_t len)
{
	uint64_t q, l;
	count_q_lf(buf, len, &q, &l);
	return l;
}

/* Skips a record by quote parity: returns the byte after the first LF at even
 * parity, or end. Counts the LFs passed. */
static const char *skip_by_parity(const char *p, const char *end, uint32_t *lines)
{
	bool inq = false;
	uint32_t n = 0;
	for (;;) {
		p = find2(p, end, '"', '\n');
		if (p == end)
			break;
		if (*p == '"') {
			inq = !inq;
			p++;
			continue;
		}
		n++;
		p++;
		if (!inq)
			break;
	}
	*lines = n;
	return p;
}

/* The field-at-a-time parser: portable, and the reference the bitmap parser
 * below is tested against (tests/unit/test_csv.c). */
const char *pb__csv_parse_record_simple(const char *rec_start, const char *end,
                                        struct pb_csv_field *fields, size_t cap,
                                        struct pb_csv_record *rec)
{
	const char *p = rec_start;
	size_t nf = 0;
	uint32_t lines = 0;
	rec->problem = PB_CSV_OK;
	rec->problem_field = 0;
	for (;;) {
		if (nf == cap) {
			rec->problem = PB_CSV_TOO_MANY;
			rec->problem_field = (uint32_t)nf + 1;
			goto bad;
		}
		struct pb_csv_field *f = &fields[nf++];
		if (p < end && *p == '"') {
			const char *q = p + 1;
			bool esc = false;
			for (;;) {
				q = find2(q, end, '"', '\n');
				if (q == end) {
					rec->problem = PB_CSV_UNBALANCED;
					rec->problem_field = (uint32_t)nf;
					goto bad;
				}
				if (*q == '\n') {
					lines++;
					q++;
					continue;
				}
				if (q + 1 < end && q[1] == '"') {
					esc = true;
					q += 2;
					continue;
				}
				break;
			}
			f->ptr = p + 1;
			f->len = (uint32_t)(q - (p + 1));
			f->quoted = 1;
			f->escaped = esc;
			p = q + 1;
			if (p == end)
				break;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p == '\n') {
				p++;
				lines++;
				break;
			}
			if (*p == '\r' && (p + 1 == end || p[1] == '\n')) {
				p += p + 1 == end ? 1 : 2;
				lines += p[-1] == '\n';
				break;
			}
			rec->problem = PB_CSV_AFTER_QUOTE;
			rec->problem_field = (uint32_t)nf;
			goto bad;
		} else {
			const char *q = find3(p, end, ',', '\n', '"');
			if (q < end && *q == '"') {
				rec->problem = PB_CSV_STRAY_QUOTE;
				rec->problem_field = (uint32_t)nf;
				goto bad;
			}
			size_t len = (size_t)(q - p);
			if ((q == end || *q == '\n') && len && p[len - 1] == '\r')
				len--;
			f->ptr = p;
			f->len = (uint32_t)len;
			f->quoted = 0;
			f->escaped = 0;
			if (q == end) {
				p = end;
				break;
			}
			p = q + 1;
			if (*q == '\n') {
				lines++;
				break;
			}
		}
	}
	rec->nfields = nf;
	rec->lines = lines;
	return p;
bad:
	rec->nfields = nf;
	return skip_by_parity(rec_start, end, &rec->lines);
}

size_t pb__csv_cut(const char *buf, size_t len, uint64_t *lines)
{
	uint64_t q, lf;
	count_q_lf(buf, len, &q, &lf);
	size_t pos = len;
	for (;;) {
		const char *nl = memrchr(buf, '\n', pos);
		if (!nl)
			return 0;
		size_t at = (size_t)(nl - buf);
		uint64_t tq, tl;
		count_q_lf(nl, pos - at, &tq, &tl);
		q -= tq;
		lf -= tl;
		/* q now counts quotes before the LF at `at` */
		if ((q & 1) == 0) {
			*lines = lf + 1;
			return at + 1;
		}
		pos = at;
	}
}

size_t pb__csv_unescape(const struct pb_csv_field *f, char *out, size_t cap)
{
	if (f->len > cap)
		return SIZE_MAX;
	if (!f->escaped) {
		memcpy(out, f->ptr, f->len);
		return f->len;
	}
	/* copy runs between quotes; each "" becomes one " */
	const char *p = f->ptr, *end = f->ptr + f->len;
	size_t o = 0;
	while (p < end) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		size_t run = q ? (size_t)(q - p) + 1 : (size_t)(end - p);
		memcpy(out + o, p, run);
		o += run;
		p += run;
		if (q && p < end && *p == '"')
			p++; /* the second quote of a pair */
	}
	return o;
}

/* ---- the small reader -------------------------------------------------- */

enum pb_status pb__csv_reader_init(struct pb_csv_reader *r, const char *data, size_t len,
                                   const char *name, size_t max_fields, bool allow_comments,
                                   struct pb_error *err)
{
	memset(r, 0, sizeof(*r));
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	r->p = data;
	r->end = data + len;
	r->name = name;
	r->next_line = 1;
	r->allow_comments = allow_comments;
	r->cap = max_fields;
	r->fields = calloc(max_fields, sizeof(*r->fields));
	r->scratch_cap = len + 1;
	r->scratch = malloc(r->scratch_cap);
	if (!r->fields || !r->scratch) {
		pb__csv_reader_release(r);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	return PB_OK;
}

void pb__csv_reader_release(struct pb_csv_reader *r)
{
	free(r->fields);
	free(r->scratch);
	r->fields = NULL;
	r->scratch = NULL;
}

enum pb_status pb__csv_reader_next(struct pb_csv_reader *r, struct pb_str *out, size_t *n,
                                   struct pb_error *err)
{
	*n = 0;
	for (;;) {
		if (r->p >= r->end)
			return PB_OK;
		if (r->allow_comments && r->p[0] == '#') {
			const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
			r->p = nl ? nl + 1 : r->end;
			r->next_line++;
			continue;
		}
		if (r->p[0] == '\n' || (r->p[0] == '\r' && r->p + 1 < r->end && r->p[1] == '\n')) {
			r->p += r->p[0] == '\n' ? 1 : 2; /* blank line */
			r->next_line++;
			continue;
		}
		break;
	}
	struct pb_csv_record rec;
	r->line = r->next_line;
	r->p = pb__csv_parse_record(r->p, r->end, r->fields, r->cap, &rec);
	r->next_line += rec.lines;
	if (rec.problem)
		return pb__err_at(err, PB_EFORMAT, r->name, r->line, rec.problem_field, "%s",
		                  pb__csv_problem_text(rec.problem));
	size_t so = 0;
	for (size_t i = 0; i < rec.nfields; i++) {
		const struct pb_csv_field *f = &r->fields[i];
		if (f->escaped) {
			size_t m = pb__csv_unescape(f, r->scratch + so, r->scratch_cap - so);
			if (m == SIZE_MAX)
				return pb__err(err, PB_ELIMIT, "field too long");
			out[i] = pb_str_of(r->scratch + so, m);
			so += m;
		} else {
			out[i] = pb_str_of(f->ptr, f->len);
		}
	}
	*n = rec.nfields;
	return PB_OK;
}

/* ---- the bitmap parser ---------------------------------------------------
 *
 * Looks at 64 bytes at a time: one bit per byte for quotes, commas and LFs;
 * the bytes inside quotes are the prefix-XOR of the quote bits (carried from
 * block to block); separators are commas and LFs outside quotes. Each field
 * is then the run between two separator bits, and a running count of quotes
 * tells whether a field holds quotes (doubled, or stray). About four times
 * fewer instructions per record than the field-at-a-time parser on the
 * benchmark export. Needs POPCNT, checked at run time. */
#ifdef HAVE_SSE2
static inline uint64_t eqmask16(__m128i x, __m128i v)
{
	return (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, v));
}

static inline void masks64(const char *p, uint64_t *q, uint64_t *c, uint64_t *n)
{
	const __m128i vq = _mm_set1_epi8('"'), vc = _mm_set1_epi8(','), vn = _mm_set1_epi8('\n');
	__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	__m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
	__m128i e = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
	*q = eqmask16(a, vq) | eqmask16(b, vq) << 16 | eqmask16(d, vq) << 32 | eqmask16(e, vq) << 48;
	*c = eqmask16(a, vc) | eqmask16(b, vc) << 16 | eqmask16(d, vc) << 32 | eqmask16(e, vc) << 48;
	*n = eqmask16(a, vn) | eqmask16(b, vn) << 16 | eqmask16(d, vn) << 32 | eqmask16(e, vn) << 48;
}

static inline uint64_t prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

/* Fills a field from its bytes [fstart, fend) holding nq quotes; false when
 * its quotes are wrong (the caller then lets the field-at-a-time parser say
 * how). clean: no byte outside the quotes that is not a quote. */
static inline bool fill_field(struct pb_csv_field *f, const char *fstart, const char *fend,
                              uint64_t nq, bool clean)
{
	if (nq == 0) {
		f->ptr = fstart;
		f->len = (uint32_t)(fend - fstart);
		f->quoted = 0;
		f->escaped = 0;
		return true;
	}
	if (*fstart != '"' || fend - fstart < 2 || fend[-1] != '"' || !clean)
		return false;
	f->ptr = fstart + 1;
	f->len = (uint32_t)(fend - fstart - 2);
	f->quoted = 1;
	f->escaped = nq > 2;
	return true;
}

__attribute__((target("avx2"))) static inline void masks64_avx2(const char *p, uint64_t *q,
                                                               uint64_t *c, uint64_t *n)
{
	const __m256i vq = _mm256_set1_epi8('"'), vc = _mm256_set1_epi8(','),
		      vn = _mm256_set1_epi8('\n');
	__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
	*q = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, vq)) |
	     (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, vq)) << 32;
	*c = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, vc)) |
	     (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, vc)) << 32;
	*n = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, vn)) |
	     (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, vn)) << 32;
}

#define PB_BITMAP_NAME parse_bitmap_sse2
#define PB_BITMAP_ATTR __attribute__((target("popcnt")))
#define PB_BITMAP_MASKS masks64
#include "usage/csv_bitmap.h"
#undef PB_BITMAP_NAME
#undef PB_BITMAP_ATTR
#undef PB_BITMAP_MASKS

#define PB_BITMAP_NAME parse_bitmap_avx2
#define PB_BITMAP_ATTR __attribute__((target("avx2,popcnt")))
#define PB_BITMAP_MASKS masks64_avx2
#include "usage/csv_bitmap.h"
#undef PB_BITMAP_NAME
#undef PB_BITMAP_ATTR
#undef PB_BITMAP_MASKS
#endif

const char *pb__csv_parse_record(const char *rec_start, const char *end,
                                 struct pb_csv_field *fields, size_t cap,
                                 struct pb_csv_record *rec)
{
#ifdef HAVE_SSE2
	/* 0 = plain, 1 = SSE2 + POPCNT, 2 = AVX2 + POPCNT; a benign race: every
	 * thread computes the same */
	static int level = -1;
	if (level < 0)
		level = !__builtin_cpu_supports("popcnt") ? 0 : __builtin_cpu_supports("avx2") ? 2 : 1;
	if (level == 2)
		return parse_bitmap_avx2(rec_start, end, fields, cap, rec);
	if (level == 1)
		return parse_bitmap_sse2(rec_start, end, fields, cap, rec);
#endif
	return pb__csv_parse_record_simple(rec_start, end, fields, cap, rec);
}
