/* util.c - errors, capped buffers, times, exact decimals, hashes and atomic files. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "util/banned.h"

/* ===================================================================== */
/* errors                                                                */
/* ===================================================================== */

static const char *const status_names[PB_STATUS_COUNT] = {
	[PB_OK] = "ok",
	[PB_EINVAL] = "invalid",
	[PB_ENOENT] = "not-found",
	[PB_EEXIST] = "exists",
	[PB_EIO] = "io",
	[PB_ENOMEM] = "no-memory",
	[PB_ELIMIT] = "limit",
	[PB_EFORMAT] = "format",
	[PB_ESTATE] = "state",
	[PB_EPERM] = "permission",
	[PB_EDB] = "database",
	[PB_EVERIFY] = "verify",
	[PB_EINTR] = "interrupted",
	[PB_ESTATEMENT] = "statement",
};

const char *pb_status_name(enum pb_status s)
{
	if ((unsigned)s >= PB_STATUS_COUNT)
		return "unknown";
	return status_names[s];
}

/* Sets code, message, where (file/line/column, or none) and field. */
static enum pb_status err_vset(struct pb_error *err, enum pb_status code, const char *file,
                               uint64_t line, uint32_t column, const char *field,
                               const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	pb__strlcpy(err->file, file ? file : "", sizeof(err->file));
	err->line = line;
	err->column = column;
	pb__strlcpy(err->field, field ? field : "", sizeof(err->field));
	return code;
}

enum pb_status pb__err(struct pb_error *err, enum pb_status code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, NULL, 0, 0, NULL, fmt, ap);
	va_end(ap);
	return code;
}

enum pb_status pb__err_field(struct pb_error *err, enum pb_status code, const char *field,
                             const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, NULL, 0, 0, field, fmt, ap);
	va_end(ap);
	return code;
}

enum pb_status pb__err_at(struct pb_error *err, enum pb_status code, const char *file,
                          uint64_t line, uint32_t column, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, file, line, column, NULL, fmt, ap);
	va_end(ap);
	return code;
}

void pb__err_prefix(struct pb_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char pre[256];
	char old[sizeof(err->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	snprintf(err->message, sizeof(err->message), "%s: %s", pre, old);
}

char *pb_error_format(const struct pb_error *err, char *buf, size_t cap)
{
	if (!cap)
		return buf;
	buf[0] = '\0';
	if (!err)
		return buf;
	if (err->file[0] && err->line && err->column)
		snprintf(buf, cap, "%s:%llu:%u: %s", err->file, (unsigned long long)err->line,
		         err->column, err->message);
	else if (err->file[0] && err->line)
		snprintf(buf, cap, "%s:%llu: %s", err->file, (unsigned long long)err->line,
		         err->message);
	else if (err->file[0])
		snprintf(buf, cap, "%s: %s", err->file, err->message);
	else
		snprintf(buf, cap, "%s", err->message);
	return buf;
}

enum pb_status pb__errno_status(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return PB_ENOENT;
	case EEXIST:
		return PB_EEXIST;
	case EACCES:
	case EPERM:
	case EROFS:
		return PB_EPERM;
	case ENOMEM:
		return PB_ENOMEM;
	case EINVAL:
		return PB_EINVAL;
	default:
		return PB_EIO;
	}
}

const char *pb__errno_text(int e)
{
	switch (e) {
	case ENOENT:
		return "no such file or folder";
	case ENOTDIR:
		return "not a folder";
	case EISDIR:
		return "is a folder";
	case EACCES:
	case EPERM:
		return "permission denied";
	case EROFS:
		return "read-only file system";
	case ENOSPC:
		return "no space left on device";
	case EDQUOT:
		return "disk quota exceeded";
	case EEXIST:
		return "already exists";
	case ENOMEM:
		return "out of memory";
	case EIO:
		return "input/output error";
	default:
		return strerror(e);
	}
}

/* ===================================================================== */
/* strings                                                               */
/* ===================================================================== */

struct pb_str pb_cstr(const char *s)
{
	return pb_str_of(s, s ? strlen(s) : 0);
}

bool pb_str_eq(struct pb_str a, struct pb_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool pb_str_eq_cstr(struct pb_str a, const char *s)
{
	size_t n = strlen(s);
	return a.len == n && memcmp(a.ptr, s, n) == 0;
}

static inline char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

bool pb_str_ieq_cstr(struct pb_str a, const char *s)
{
	size_t n = strlen(s);
	if (a.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a.ptr[i]) != ascii_lower(s[i]))
			return false;
	return true;
}

struct pb_str pb_str_trim(struct pb_str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	return s;
}

char *pb__strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

bool pb__snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < cap;
}

void pb__strlcpy(char *dst, const char *src, size_t cap)
{
	if (!cap)
		return;
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

size_t pb__utf8_seq(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	/* RFC 3629 table 3.7: no overlong forms, no surrogates, none past U+10FFFF */
	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return 4;
}

bool pb_utf8_valid(const char *str, size_t n, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
#ifdef __SSE2__
		/* fast path over ASCII, 64 bytes at a time */
		while (i + 64 <= n) {
			const __m128i *v = (const __m128i *)(const void *)(s + i);
			__m128i x = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
			                         _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3)));
			if (_mm_movemask_epi8(x))
				break;
			i += 64;
		}
#endif
		/* then 8 bytes at a time */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		size_t k = pb__utf8_seq(str + i, n - i);
		if (!k)
			goto fail;
		i += k;
	}
	return true;
fail:
	if (bad)
		*bad = i;
	return false;
}

void pb_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int pb__hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool pb_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n)
{
	if (hexlen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = pb__hexval(hex[2 * i]), lo = pb__hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* ===================================================================== */
/* buffers                                                               */
/* ===================================================================== */

void *pb__grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap && arr)
		return arr;
	size_t nc = *cap ? *cap * 2 : 16;
	if (nc > SIZE_MAX / elem)
		return NULL;
	void *p = realloc(arr, nc * elem);
	if (p)
		*cap = nc;
	return p;
}

void pb_buf_init(struct pb_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void pb_buf_release(struct pb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void pb_buf_reset(struct pb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

enum pb_status pb_buf_reserve(struct pb_buf *b, size_t extra)
{
	if (extra > b->limit || b->len > b->limit - extra)
		return PB_ELIMIT;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return PB_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->limit + 1)
		cap = b->limit + 1;
	char *p = realloc(b->data, cap);
	if (!p)
		return PB_ENOMEM;
	b->data = p;
	b->cap = cap;
	return PB_OK;
}

enum pb_status pb_buf_add(struct pb_buf *b, const void *p, size_t n)
{
	enum pb_status st = pb_buf_reserve(b, n);
	if (st)
		return st;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PB_OK;
}

enum pb_status pb_buf_adds(struct pb_buf *b, const char *s)
{
	return pb_buf_add(b, s, strlen(s));
}

enum pb_status pb_buf_addc(struct pb_buf *b, char c)
{
	return pb_buf_add(b, &c, 1);
}

enum pb_status pb_buf_printf(struct pb_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PB_EINVAL;
	enum pb_status st = pb_buf_reserve(b, (size_t)n);
	if (st)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return PB_OK;
}

/* Bytes that go into a JSON string as they are: printable ASCII but the quote
 * and the backslash. A table, so that the common all-ASCII input costs one
 * load and one branch a byte. */
static const bool json_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

size_t pb_json_escape(char *out, size_t cap, size_t *outlen, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && json_plain[(unsigned char)s[j]])
			j++;
		size_t run = j - i < cap - o ? j - i : cap - o;
		memcpy(out + o, s + i, run);
		o += run;
		i += run;
		if (i < j || i == n)
			break;
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', (char)c };
		size_t k = 2, used = 1;
		const char *src = esc;
		if (c >= 0x80) {
			/* valid UTF-8 passes through; each byte of anything else
			 * becomes U+FFFD, so the output is always valid JSON */
			if ((used = pb__utf8_seq(s + i, n - i))) {
				src = s + i;
				k = used;
			} else {
				src = "\\ufffd";
				k = 6;
				used = 1;
			}
		} else if (c == '\n') {
			esc[1] = 'n';
		} else if (c == '\r') {
			esc[1] = 'r';
		} else if (c == '\t') {
			esc[1] = 't';
		} else if (c != '"' && c != '\\') {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
		}
		if (k > cap - o)
			break;
		memcpy(out + o, src, k);
		o += k;
		i += used;
	}
	*outlen = o;
	return i;
}

enum pb_status pb_buf_json_str(struct pb_buf *b, const char *s, size_t n)
{
	enum pb_status st = pb_buf_addc(b, '"');
	size_t i = 0;
	while (!st && i < n) {
		/* room for the worst case of a slice (6 bytes out per byte in),
		 * a slice at a time so a long string near the limit still fits */
		size_t want = (n - i < 1024 ? n - i : 1024) * 6, got;
		if (want > b->limit - b->len)
			want = b->limit - b->len;
		if ((st = pb_buf_reserve(b, want)))
			break;
		size_t used = pb_json_escape(b->data + b->len, want, &got, s + i, n - i);
		b->len += got;
		b->data[b->len] = '\0';
		if (!used)
			st = PB_ELIMIT;
		i += used;
	}
	if (!st)
		st = pb_buf_addc(b, '"');
	return st;
}

enum pb_status pb_buf_csv_field(struct pb_buf *b, const char *s, size_t n)
{
	bool quote = false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') {
			quote = true;
			break;
		}
	if (!quote)
		return pb_buf_add(b, s, n);
	enum pb_status st = pb_buf_addc(b, '"');
	for (size_t i = 0; i < n && !st; i++) {
		if (s[i] == '"')
			st = pb_buf_addc(b, '"');
		if (!st)
			st = pb_buf_addc(b, s[i]);
	}
	if (!st)
		st = pb_buf_addc(b, '"');
	return st;
}

/* ===================================================================== */
/* time                                                                  */
/* ===================================================================== */

/* Days from civil date in the proleptic Gregorian calendar, counting eras of
 * 400 years (146097 days) from 0000-03-01 so that leap days fall at the end. */
int64_t pb__days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = pb_floordiv(y, 400);
	int64_t yoe = y - era * 400;                              /* [0, 399] */
	int64_t mp = (m + 9) % 12;                                /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + d - 1;                 /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;      /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void pb__civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = pb_floordiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	unsigned dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (mm <= 2));
	*m = mm;
	*d = dd;
}

int64_t pb__month_of_day(int64_t day)
{
	int y;
	unsigned m, d;
	pb__civil_from_days(day, &y, &m, &d);
	return (int64_t)y * 12 + (int64_t)m - 1;
}

int64_t pb__month_first_day(int64_t month)
{
	int64_t y = pb_floordiv(month, 12);
	return pb__days_from_civil(y, (unsigned)(month - y * 12 + 1), 1);
}

static bool digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
	if (at + count > n)
		return false;
	int v = 0;
	for (size_t i = 0; i < count; i++) {
		char c = s[at + i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return true;
}

static unsigned days_in_month(int y, unsigned m)
{
	static const unsigned dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

bool pb_time_parse(const char *s, size_t n, int64_t *out, unsigned *flags)
{
	int y, mo, d, hh = 0, mi = 0, ss = 0;
	unsigned fl = 0;
	size_t i = 0;
	if (!digits(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || !digits(s, n, 5, 2, &mo) ||
	    s[7] != '-' || !digits(s, n, 8, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
		return false;
	i = 10;
	int64_t offset = 0;
	if (i == n) {
		fl |= PB_TIME_DATEONLY | PB_TIME_NONISO;
		goto done;
	}
	if (s[i] == ' ')
		fl |= PB_TIME_NONISO;
	else if (s[i] != 'T' && s[i] != 't')
		return false;
	i++;
	if (!digits(s, n, i, 2, &hh) || i + 2 >= n || s[i + 2] != ':' ||
	    !digits(s, n, i + 3, 2, &mi))
		return false;
	i += 5;
	if (i < n && s[i] == ':') {
		if (!digits(s, n, i + 1, 2, &ss))
			return false;
		i += 3;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			size_t j = i + 1;
			while (j < n && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j == i + 1)
				return false;
			fl |= PB_TIME_NONISO;
			i = j;
		}
	} else {
		fl |= PB_TIME_NONISO;
	}
	if (hh > 23 || mi > 59 || ss > 60) /* 60: a leap second, folded below */
		return false;
	if (ss == 60)
		ss = 59;
	if (i == n) {
		fl |= PB_TIME_NONISO; /* no zone: read as UTC */
	} else if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		/* the spec form */
	} else if (s[i] == '+' || s[i] == '-') {
		int oh, om;
		int sign = s[i] == '-' ? -1 : 1;
		if (!digits(s, n, i + 1, 2, &oh))
			return false;
		size_t j = i + 3;
		if (j < n && s[j] == ':')
			j++;
		if (!digits(s, n, j, 2, &om) || j + 2 != n || oh > 23 || om > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60);
		if (offset != 0)
			fl |= PB_TIME_NONISO;
	} else if (n - i == 4 && memcmp(s + i, " UTC", 4) == 0) {
		fl |= PB_TIME_NONISO;
	} else {
		return false;
	}
done:
	*out = pb__days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + hh * 3600 + mi * 60 +
	       ss - offset;
	if (flags)
		*flags = fl;
	return true;
}

void pb_time_format(int64_t t, char *buf)
{
	int64_t day = pb_floordiv(t, 86400);
	int64_t sec = t - day * 86400;
	int y;
	unsigned m, d;
	pb__civil_from_days(day, &y, &m, &d);
	snprintf(buf, 21, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(sec / 3600),
	         (int)(sec / 60 % 60), (int)(sec % 60));
}

void pb_day_format(int64_t day, char *buf)
{
	int y;
	unsigned m, d;
	pb__civil_from_days(day, &y, &m, &d);
	snprintf(buf, 11, "%04d-%02u-%02u", y, m, d);
}

int64_t pb_now(void)
{
	return (int64_t)time(NULL);
}

double pb__mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ===================================================================== */
/* exact decimals                                                        */
/* ===================================================================== */

static const pb_dec pow10_small[19] = {
	1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL,
	100000000LL, 1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL,
	10000000000000LL, 100000000000000LL, 1000000000000000LL, 10000000000000000LL,
	100000000000000000LL, 1000000000000000000LL,
};

static const uint64_t pow10_u64[16] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
};

static pb_dec pow10_dec(int e)
{
	pb_dec r = 1;
	while (e >= 18) {
		r *= pow10_small[18];
		e -= 18;
	}
	return r * pow10_small[e];
}

/* Divides by 10^k (k >= 1) rounding half to even; *inexact when a remainder. */
static pb_dec div_pow10_round(pb_dec v, int k, bool *inexact)
{
	if (k > 38) {
		*inexact = v != 0;
		return 0;
	}
	pb_dec p = pow10_dec(k);
	pb_dec q = v / p, r = v % p;
	if (r != 0) {
		*inexact = true;
		pb_dec ar = r < 0 ? -r : r;
		pb_dec half = p / 2;
		if (ar > half || (ar == half && (q & 1)))
			q += v < 0 ? -1 : 1;
	}
	return q;
}

#define DEC_MAX_MANT_DIGITS 37

/* The common case, tried first: [-]digits[.digits] with at most 18 digits
 * in all and at most 15 after the point, summed in 64 bits. */
static bool dec_parse_fast(const char *s, size_t n, pb_dec *out)
{
	size_t i = 0;
	bool neg = n && s[0] == '-';
	i += neg;
	uint64_t m = 0;
	size_t d0 = i;
	while (i < n && (unsigned)(s[i] - '0') < 10)
		m = m * 10 + (uint64_t)(s[i++] - '0');
	size_t nint = i - d0;
	size_t nfrac = 0;
	if (nint == 0)
		return false;
	if (i < n && s[i] == '.') {
		size_t f0 = ++i;
		while (i < n && (unsigned)(s[i] - '0') < 10)
			m = m * 10 + (uint64_t)(s[i++] - '0');
		nfrac = i - f0;
		if (nfrac == 0)
			return false;
	}
	if (i != n || nint + nfrac > 18 || nfrac > PB_DEC_SCALE_DIGITS)
		return false;
	pb_dec v = (pb_dec)m * (pb_dec)pow10_u64[PB_DEC_SCALE_DIGITS - nfrac];
	*out = neg ? -v : v;
	return true;
}

enum pb_status pb__dec_parse(const char *s, size_t n, pb_dec *out, unsigned *flags)
{
	if (dec_parse_fast(s, n, out)) {
		if (flags)
			*flags = 0;
		return PB_OK;
	}
	size_t i = 0;
	bool neg = false;
	unsigned fl = 0;
	if (n == 0)
		return PB_EINVAL;
	if (s[0] == '-') {
		neg = true;
		i++;
	} else if (s[0] == '+') {
		fl |= PB_DEC_TOLERATED;
		i++;
	}
	pb_dec mant = 0;
	int mant_digits = 0; /* significant digits held in mant */
	int exp10 = 0;       /* value = mant * 10^exp10 */
	bool dropped = false; /* nonzero digits dropped beyond mantissa capacity */
	size_t int_start = i;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		int dgt = s[i] - '0';
		if (mant_digits == 0 && dgt == 0)
			continue;
		if (mant_digits < DEC_MAX_MANT_DIGITS) {
			mant = mant * 10 + dgt;
			mant_digits++;
		} else {
			exp10++;
			dropped |= dgt != 0;
		}
	}
	size_t int_digits = i - int_start;
	size_t frac_digits = 0;
	if (i < n && s[i] == '.') {
		i++;
		size_t fs = i;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			int dgt = s[i] - '0';
			if (mant_digits == 0 && dgt == 0) {
				exp10--;
				continue;
			}
			if (mant_digits < DEC_MAX_MANT_DIGITS) {
				mant = mant * 10 + dgt;
				mant_digits++;
				exp10--;
			} else {
				dropped |= dgt != 0;
			}
		}
		frac_digits = i - fs;
		if (frac_digits == 0)
			return PB_EINVAL; /* "5." */
	}
	if (int_digits == 0)
		return PB_EINVAL; /* ".5", "-", "" */
	(void)frac_digits;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		int esign = 1;
		if (i < n && (s[i] == '-' || s[i] == '+')) {
			if (s[i] == '+')
				fl |= PB_DEC_TOLERATED;
			else
				esign = -1;
			i++;
		}
		size_t es = i;
		long e = 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (e < 100000)
				e = e * 10 + (s[i] - '0');
		}
		if (i == es)
			return PB_EINVAL;
		exp10 += (int)(esign * e);
	}
	if (i != n)
		return PB_EINVAL;
	pb_dec v;
	bool inexact = dropped;
	int shift = exp10 + PB_DEC_SCALE_DIGITS;
	if (mant == 0) {
		v = 0;
	} else if (shift >= 0) {
		if (shift + mant_digits > 38)
			return PB_ELIMIT;
		pb_dec p = pow10_dec(shift);
		if (__builtin_mul_overflow(mant, p, &v))
			return PB_ELIMIT;
	} else {
		v = div_pow10_round(mant, -shift, &inexact);
	}
	if (inexact)
		fl |= PB_DEC_ROUNDED;
	*out = neg ? -v : v;
	if (flags)
		*flags = fl;
	return PB_OK;
}

bool pb__dec_mul(pb_dec a, pb_dec b, pb_dec *out)
{
	/* a*b / 10^15 without intermediate overflow: split b into whole and
	 * fractional parts so each partial product stays in range. */
	pb_dec bw = b / PB_DEC_ONE, bf = b % PB_DEC_ONE;
	pb_dec hi, lo;
	if (__builtin_mul_overflow(a, bw, &hi))
		return false;
	bool inexact = false;
	pb_dec af = a / PB_DEC_ONE, ar = a % PB_DEC_ONE;
	/* a*bf/10^15 = af*bf + ar*bf/10^15 */
	pb_dec t1;
	if (__builtin_mul_overflow(af, bf, &t1))
		return false;
	lo = t1 + div_pow10_round(ar * bf, PB_DEC_SCALE_DIGITS, &inexact);
	if (__builtin_add_overflow(hi, lo, out))
		return false;
	return true;
}

size_t pb__dec_format(pb_dec v, char *buf)
{
	char tmp[PB_DEC_BUFSZ];
	size_t n = 0;
	bool neg = v < 0;
	pb_udec u = neg ? (pb_udec)(-(v + 1)) + 1 : (pb_udec)v;
	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	while (n <= PB_DEC_SCALE_DIGITS)
		tmp[n++] = '0';
	/* tmp holds digits reversed; the lowest 15 are the fraction */
	size_t frac_len = PB_DEC_SCALE_DIGITS;
	size_t skip = 0;
	while (skip < frac_len && tmp[skip] == '0')
		skip++;
	size_t o = 0;
	if (neg)
		buf[o++] = '-';
	for (size_t k = n; k > frac_len; k--)
		buf[o++] = tmp[k - 1];
	if (skip < frac_len) {
		buf[o++] = '.';
		for (size_t k = frac_len; k > skip; k--)
			buf[o++] = tmp[k - 1];
	}
	buf[o] = '\0';
	if (o == 2 && buf[0] == '-' && buf[1] == '0') { /* never "-0" */
		buf[0] = '0';
		buf[1] = '\0';
		o = 1;
	}
	return o;
}

bool pb_dec_text_round(const char *s, unsigned places, char *buf, size_t cap)
{
	pb_dec v;
	char out[PB_DEC_BUFSZ + PB_DEC_SCALE_DIGITS + 2];
	if (places > PB_DEC_SCALE_DIGITS || pb__dec_parse(s, strlen(s), &v, NULL) != PB_OK)
		return false;
	pb_dec unit = PB_DEC_ONE;
	for (unsigned i = 0; i < places; i++)
		unit /= 10;
	pb_dec half = unit / 2;
	if (unit > 1)
		v = (v >= 0 ? v + half : v - half) / unit * unit;
	size_t n = pb__dec_format(v, out);
	char *dot = strchr(out, '.');
	size_t have = dot ? n - (size_t)(dot - out) - 1 : 0;
	if (!dot && places)
		out[n++] = '.';
	while (have++ < places)
		out[n++] = '0';
	out[n] = '\0';
	if (n >= cap)
		return false;
	memcpy(buf, out, n + 1);
	return true;
}

double pb__dec_to_double(pb_dec v)
{
	pb_dec w = v / PB_DEC_ONE, f = v % PB_DEC_ONE;
	return (double)w + (double)f / 1e15;
}

/* ===================================================================== */
/* hashes                                                                */
/* ===================================================================== */

/* Every SHA-256 in probity goes through here. Measured on this machine's
 * CPU (SHA extensions; bench/tlog's verify and a micro-benchmark of the
 * three ways): an EVP context with an explicitly fetched digest is the
 * fastest at every size when it is reused; a one-shot EVP call with the
 * implicitly fetched EVP_sha256() pays about 200 ns for the fetch, which
 * makes it slower than libsodium below about 64 bytes (300 against 200 ns
 * for 33 bytes) and faster above (450 against 800 ns for 200 bytes; 5x on
 * bulk). So one-shots of small inputs use libsodium, everything else EVP
 * (and libsodium stays the fallback when OpenSSL cannot allocate). Keeping a
 * process-wide fetched digest would make small one-shots faster still, at
 * the price of global state. */
#define SHA256_SMALL 64

enum pb_status pb__sha256_init(struct pb_sha256 *h)
{
	h->ctx = EVP_MD_CTX_new();
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!h->ctx || !h->md || EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1) {
		pb__sha256_release(h);
		return PB_ENOMEM;
	}
	return PB_OK;
}

void pb__sha256_update(struct pb_sha256 *h, const void *p, size_t n)
{
	EVP_DigestUpdate((EVP_MD_CTX *)h->ctx, p, n);
}

void pb__sha256_final(struct pb_sha256 *h, uint8_t out[32])
{
	unsigned len = 32;
	EVP_DigestFinal_ex((EVP_MD_CTX *)h->ctx, out, &len);
	pb__sha256_release(h);
}

void pb__sha256_release(struct pb_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	h->ctx = NULL;
	h->md = NULL;
}

static void sodium_pair(const void *a, size_t na, const void *b, size_t nb, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, a, na);
	crypto_hash_sha256_update(&st, b, nb);
	crypto_hash_sha256_final(&st, out);
}

void pb__sha256_pair(struct pb_sha256 *h, const void *a, size_t na, const void *b, size_t nb,
                     uint8_t out[32])
{
	if (!h) {
		if (na + nb < SHA256_SMALL) {
			sodium_pair(a, na, b, nb, out);
			return;
		}
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		unsigned len = 32;
		if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(c, a, na) != 1 || (nb && EVP_DigestUpdate(c, b, nb) != 1) ||
		    EVP_DigestFinal_ex(c, out, &len) != 1)
			sodium_pair(a, na, b, nb, out);
		EVP_MD_CTX_free(c);
		return;
	}
	unsigned len = 32;
	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, a, na) != 1 ||
	    (nb && EVP_DigestUpdate(h->ctx, b, nb) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &len) != 1)
		sodium_pair(a, na, b, nb, out); /* OpenSSL fails here only without memory */
}

void pb__sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;
	if (n < SHA256_SMALL || EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		crypto_hash_sha256(out, p, n);
}

void pb__hmac_sha256(const uint8_t key[32], const void *p, size_t n, uint8_t out[32])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, p, n);
	crypto_auth_hmacsha256_final(&st, out);
}

void pb_random(void *buf, size_t n)
{
	if (sodium_init() < 0) /* idempotent and thread-safe; < 0 only without entropy */
		abort();
	randombytes_buf(buf, n);
}

/* ===================================================================== */
/* files                                                                 */
/* ===================================================================== */

char *pb__path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	bool slash = la && a[la - 1] == '/';
	char *p = malloc(la + lb + 2);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	size_t o = la;
	if (!slash)
		p[o++] = '/';
	memcpy(p + o, b, lb + 1);
	return p;
}

static enum pb_status write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return PB_EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return PB_OK;
}

enum pb_status pb__fsync_dir(const char *dir, struct pb_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pb__err(err, pb__errno_status(errno), "cannot open folder '%s': %s", dir,
		               pb__errno_text(errno));
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	if (rc != 0 && e != EINVAL)
		return pb__err(err, PB_EIO, "cannot sync folder '%s': %s", dir, pb__errno_text(e));
	return PB_OK;
}

enum pb_status pb__write_file_atomic(const char *path, const void *data, size_t n,
                                     unsigned mode, struct pb_error *err)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 32);
	char *dir = pb__strndup(path, pl);
	if (!tmp || !dir) {
		free(tmp);
		free(dir);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	snprintf(tmp, pl + 32, "%s.tmp.%ld", path, (long)getpid());
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		dir[0] = '.', dir[1] = '\0';
	enum pb_status st = PB_OK;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		st = pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", tmp,
		             pb__errno_text(errno));
		goto out;
	}
	if (fchmod(fd, mode) != 0) { /* mode as asked, whatever the umask */
		int e = errno;
		close(fd);
		unlink(tmp);
		st = pb__err(err, pb__errno_status(e), "cannot set the mode of '%s': %s", tmp,
		             pb__errno_text(e));
		goto out;
	}
	if (write_all(fd, data, n) != PB_OK || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		st = pb__err(err, PB_EIO, "cannot write '%s': %s", path, pb__errno_text(e));
		goto out;
	}
	if (close(fd) != 0) {
		int e = errno;
		unlink(tmp);
		st = pb__err(err, PB_EIO, "cannot write '%s': %s", path, pb__errno_text(e));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		st = pb__err(err, pb__errno_status(e), "cannot rename '%s': %s", tmp,
		             pb__errno_text(e));
		goto out;
	}
	st = pb__fsync_dir(dir, err);
out:
	free(tmp);
	free(dir);
	return st;
}

static const char *file_type(mode_t m)
{
	return S_ISFIFO(m)  ? "a named pipe"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	                     : "not a regular file";
}

static int open_regular(const char *path, bool nofollow, int *fd, uint64_t *size,
                        const char **what)
{
	*fd = -1;
	*size = 0;
	*what = NULL;
	struct stat sb;
	if ((nofollow ? lstat(path, &sb) : stat(path, &sb)) != 0)
		return errno;
	if (S_ISLNK(sb.st_mode))
		return ELOOP;
	if (S_ISDIR(sb.st_mode))
		return EISDIR;
	if (!S_ISREG(sb.st_mode)) {
		*what = file_type(sb.st_mode);
		return -1;
	}
	int f = open(path,
	             O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (f < 0)
		return errno;
	if (fstat(f, &sb) != 0) {
		int e = errno;
		close(f);
		return e;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(f);
		if (S_ISDIR(sb.st_mode))
			return EISDIR;
		*what = file_type(sb.st_mode);
		return -1;
	}
	*fd = f;
	*size = (uint64_t)sb.st_size;
	return 0;
}

int pb__open_regular(const char *path, int *fd, uint64_t *size, const char **what)
{
	return open_regular(path, false, fd, size, what);
}

int pb__open_regular_nofollow(const char *path, int *fd, uint64_t *size, const char **what)
{
	return open_regular(path, true, fd, size, what);
}

/* Reads fd to its end into a new heap buffer, and closes it. */
static enum pb_status read_all(int fd, const char *path, size_t limit, char **out, size_t *len,
                               struct pb_error *err)
{
	struct pb_buf b;
	pb_buf_init(&b, limit);
	enum pb_status st = PB_OK;
	for (;;) {
		if (b.len >= limit) {
			/* at the cap: fine only if the file ends here */
			char c;
			ssize_t r = read(fd, &c, 1);
			if (r == 0)
				break;
			st = pb__err(err, PB_ELIMIT, "'%s' is larger than the limit of %zu bytes",
			             path, limit);
			goto fail;
		}
		size_t want = limit - b.len < 65536 ? limit - b.len : 65536;
		if ((st = pb_buf_reserve(&b, want)) != PB_OK) {
			pb__err(err, st, "out of memory reading '%s'", path);
			goto fail;
		}
		ssize_t r = read(fd, b.data + b.len, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			st = pb__err(err, PB_EIO, "cannot read '%s': %s", path, pb__errno_text(errno));
			goto fail;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
		b.data[b.len] = '\0';
	}
	close(fd);
	if (!b.data && pb_buf_reserve(&b, 0) != PB_OK) {
		pb_buf_release(&b);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	b.data[b.len] = '\0';
	*out = b.data;
	if (len)
		*len = b.len;
	return PB_OK;
fail:
	close(fd);
	pb_buf_release(&b);
	return st;
}

enum pb_status pb__read_file(const char *path, size_t limit, char **out, size_t *len,
                             struct pb_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pb__err(err, pb__errno_status(errno), "cannot open '%s': %s", path,
		               pb__errno_text(errno));
	return read_all(fd, path, limit, out, len, err);
}

enum pb_status pb__read_regular_file(const char *path, size_t limit, char **out, size_t *len,
                                     struct pb_error *err)
{
	int fd;
	uint64_t size;
	const char *what;
	int e = pb__open_regular(path, &fd, &size, &what);
	if (e < 0)
		return pb__err(err, PB_EINVAL, "cannot open '%s': not a regular file (%s)", path,
		               what);
	if (e)
		return pb__err(err, pb__errno_status(e), "cannot open '%s': %s", path,
		               pb__errno_text(e));
	return read_all(fd, path, limit, out, len, err);
}
