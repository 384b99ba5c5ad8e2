/* util.h - errors, capped buffers, times, exact decimals, hashes and atomic files.
 *
 * Everything here is domain-free: no module above util may be needed to use it.
 */
#ifndef PB_UTIL_H
#define PB_UTIL_H

#include "probity.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PB_STR(lit) ((struct pb_str){ (lit), sizeof(lit) - 1 })

#if defined(__GNUC__)
#define PB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PB_LIKELY(x) __builtin_expect(!!(x), 1)
#define PB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PB_PRINTF(f, a)
#define PB_LIKELY(x) (x)
#define PB_UNLIKELY(x) (x)
#endif

/* ---- errors ---------------------------------------------------------- */

/* Fills err (if not NULL) with code and a formatted message; clears file,
 * line and column. Returns code, so callers can `return pb__err(...)`. */
enum pb_status pb__err(struct pb_error *err, enum pb_status code, const char *fmt, ...)
	PB_PRINTF(3, 4);
/* Same, naming the caller's argument the error is about (err->field), by
 * its API name: "actor", "reason", "until". The message names it the same
 * way ('until' must be after 'effective'), never by a command-line flag. */
enum pb_status pb__err_field(struct pb_error *err, enum pb_status code, const char *field,
                             const char *fmt, ...) PB_PRINTF(4, 5);
/* Same, with the position in an input file. */
enum pb_status pb__err_at(struct pb_error *err, enum pb_status code, const char *file,
                          uint64_t line, uint32_t column, const char *fmt, ...)
	PB_PRINTF(6, 7);
/* Prefixes err->message with "prefix: " (for adding context on the way up). */
void pb__err_prefix(struct pb_error *err, const char *fmt, ...) PB_PRINTF(2, 3);
/* Maps an errno value to a status and a short lower-case reason. */
enum pb_status pb__errno_status(int e);
const char *pb__errno_text(int e);

/* ---- strings and views ---------------------------------------------- */

/* Copies a view into a new NUL-terminated heap string (NULL on ENOMEM). */
char *pb__strndup(const char *s, size_t n);
/* snprintf that never overflows and always terminates; returns false when cut. */
bool pb__snprintf(char *buf, size_t cap, const char *fmt, ...) PB_PRINTF(3, 4);
/* Copies src into dst of size cap, cutting if needed; always terminates. */
void pb__strlcpy(char *dst, const char *src, size_t cap);



/* The value of one hex digit (either case), or -1. */
int pb__hexval(char c);

/* Makes room for one more element in arr (*cap elements of size elem, n
 * used), doubling as needed; returns the (maybe moved) array, or NULL when
 * out of memory (arr is then still valid and must still be freed). */
void *pb__grow(void *arr, size_t *cap, size_t n, size_t elem);


/* The length (1 to 4) of the well-formed UTF-8 sequence at s[0..n), n > 0,
 * or 0 when s does not start one (RFC 3629). */
size_t pb__utf8_seq(const char *s, size_t n);

/* ---- time ----------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t pb__days_from_civil(int64_t y, unsigned m, unsigned d);
void pb__civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
/* Month numbers: year * 12 + month - 1. */
int64_t pb__month_of_day(int64_t day);
int64_t pb__month_first_day(int64_t month); /* the day number of its first day */


/* A monotonic clock in seconds. */
double pb__mono(void);

/* ---- exact decimals -------------------------------------------------- */

/* A decimal number held exactly as an integer count of 10^-15 units in a
 * signed 128-bit integer: range about +-1.7e23, 15 fractional digits. Sums of
 * these never drift. Values with more than 15 significant fractional digits are
 * rounded half-to-even when parsed, and the parser says so. */
__extension__ typedef __int128 pb_dec;
__extension__ typedef unsigned __int128 pb_udec;
#define PB_DEC_SCALE_DIGITS 15
#define PB_DEC_ONE ((pb_dec)1000000000000000LL)

#define PB_DEC_ROUNDED 0x1  /* digits beyond 10^-15 were rounded away */
#define PB_DEC_TOLERATED 0x2 /* accepted a form outside the FOCUS grammar (E+n, leading +) */

/* Parses [-]digits[.digits][(e|E)[-]digits]. Returns PB_OK, PB_EINVAL for a
 * bad form or PB_ELIMIT when out of range. *flags gets PB_DEC_* bits. */
enum pb_status pb__dec_parse(const char *s, size_t n, pb_dec *out, unsigned *flags);
/* Adds with an overflow check; false on overflow (then *acc is unchanged). */
static inline bool pb__dec_add(pb_dec *acc, pb_dec v)
{
	pb_dec r;
	if (__builtin_add_overflow(*acc, v, &r))
		return false;
	*acc = r;
	return true;
}
/* Multiplies by a factor given as a decimal (both scaled); rounds half-even.
 * False on overflow. */
bool pb__dec_mul(pb_dec a, pb_dec b, pb_dec *out);
/* Canonical text: no trailing zeros, no exponent ("12.5", "-0.000001", "0").
 * buf needs PB_DEC_BUFSZ bytes. Returns the length. */
#define PB_DEC_BUFSZ 48
size_t pb__dec_format(pb_dec v, char *buf);
/* Nearest double, for display and charts only. */
double pb__dec_to_double(pb_dec v);

/* ---- hashes and keys ------------------------------------------------- */

/* The last n < 8 bytes of a key as an integer, the same a memcpy into a
 * zeroed uint64_t gives on a little-endian CPU, by two fixed-size loads: the
 * ingest's row hashes end with it, and a memcpy of a variable length there
 * is a call and a stalled load that cost more than the whole hash before it. */
static inline uint64_t pb__tail_le(const char *p, size_t n)
{
	if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		return a | (uint64_t)b << (8 * (n - 4));
	}
	if (n == 0)
		return 0;
	const unsigned char *u = (const unsigned char *)p;
	return u[0] | (uint64_t)u[n / 2] << (8 * (n / 2)) | (uint64_t)u[n - 1] << (8 * (n - 1));
}

/* SHA-256: the one implementation in probity (util.c picks the library).
 * A context holds OpenSSL's EVP digest, fetched once per context, which uses
 * the CPU's SHA extensions: measured here, about 1.8 GB/s on bulk input
 * against about 0.4 GB/s for libsodium's portable code, and about 130 ns for
 * a 65-byte Merkle node with a reused context against about 400 ns. */
struct pb_sha256 {
	void *ctx; /* EVP_MD_CTX */
	void *md;  /* EVP_MD */
};
/* Streaming: init (PB_ENOMEM on failure), update, then final, which also
 * releases; release alone drops an unfinished hash. */
enum pb_status pb__sha256_init(struct pb_sha256 *h);
void pb__sha256_update(struct pb_sha256 *h, const void *p, size_t n);
void pb__sha256_final(struct pb_sha256 *h, uint8_t out[32]); /* also releases */
void pb__sha256_release(struct pb_sha256 *h);
/* Many small hashes on one context (Merkle leaves and nodes): the hash of
 * a || b (nb may be 0); h, from pb__sha256_init, stays set up for the next
 * one and is released with pb__sha256_release. With h NULL, a one-shot. */
void pb__sha256_pair(struct pb_sha256 *h, const void *a, size_t na, const void *b, size_t nb,
                     uint8_t out[32]);
/* One-shot SHA-256 of p[0..n). */
void pb__sha256(const void *p, size_t n, uint8_t out[32]);
/* HMAC-SHA256 (libsodium). */
void pb__hmac_sha256(const uint8_t key[32], const void *p, size_t n, uint8_t out[32]);

/* ---- files ---------------------------------------------------------- */

/* "a" + "/" + "b" into a new heap string. */
char *pb__path_join(const char *a, const char *b);
/* Writes data to path atomically: a temporary file in the same folder,
 * fsync, rename over path, fsync of the folder. mode is the file mode. */
enum pb_status pb__write_file_atomic(const char *path, const void *data, size_t n,
                                     unsigned mode, struct pb_error *err);
/* Reads a whole file of at most limit bytes into a new heap buffer (NUL-terminated). */
enum pb_status pb__read_file(const char *path, size_t limit, char **out, size_t *len,
                             struct pb_error *err);
/* Opens a file for reading only if it is a regular file (symbolic links
 * followed), never blocking: a named pipe, socket or device is refused before
 * it is opened (opening a pipe waits for a writer; opening a device can act on
 * it) and again on the open descriptor, in case the path changed between.
 * Returns 0 with *fd and *size; an errno value (EISDIR for a folder); or -1
 * when it is another kind of file, with *what naming it ("a named pipe"). */
int pb__open_regular(const char *path, int *fd, uint64_t *size, const char **what);
/* pb__open_regular that never follows a symbolic link in the last part of
 * the path (O_NOFOLLOW): a link is ELOOP, refused before and at the open.
 * For files found inside a folder that must not be read outside itself. */
int pb__open_regular_nofollow(const char *path, int *fd, uint64_t *size, const char **what);
/* pb__read_file of a regular file only (pb__open_regular): a pipe or device
 * is an error, never waited on. For paths that must name stored files. */
enum pb_status pb__read_regular_file(const char *path, size_t limit, char **out, size_t *len,
                                     struct pb_error *err);
/* fsync of a folder, so a rename or create in it is durable. */
enum pb_status pb__fsync_dir(const char *dir, struct pb_error *err);

#endif /* PB_UTIL_H */
