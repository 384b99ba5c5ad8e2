/* test_util.c - decimals, times, UTF-8, buffers, hashes, atomic files. */
#include "unit.h"
#include "util/util.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dec_text(pb_dec v)
{
	static char buf[PB_DEC_BUFSZ];
	pb__dec_format(v, buf);
	return buf;
}

static void t_dec_parse_forms(void)
{
	pb_dec v;
	unsigned fl;
	CHECK_INT(pb__dec_parse("0.00500000000", 13, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "0.005");
	CHECK_INT(fl, 0);
	CHECK_INT(pb__dec_parse("35.2E-7", 7, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "0.00000352");
	CHECK_INT(pb__dec_parse("-12", 3, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "-12");
	CHECK_INT(pb__dec_parse("1e3", 3, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "1000");
	CHECK_INT(pb__dec_parse("1E+3", 4, &v, &fl), PB_OK);
	CHECK(fl & PB_DEC_TOLERATED);
	CHECK_INT(pb__dec_parse("0", 1, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "0");
	CHECK_INT(pb__dec_parse("-0.0", 4, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "0");
	/* 16 fractional digits: rounded half to even, and said so */
	CHECK_INT(pb__dec_parse("0.0000000000000015", 18, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "0.000000000000002");
	CHECK(fl & PB_DEC_ROUNDED);
	CHECK_INT(pb__dec_parse("0.0000000000000025", 18, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "0.000000000000002");
	CHECK_INT(pb__dec_parse("123456789012345678901.5", 23, &v, &fl), PB_OK);
	CHECK_STR(dec_text(v), "123456789012345678901.5");
}

/* The fast path (plain digits) and the general path (forced by writing the
 * same number with an exponent) agree. */
static void t_dec_paths_agree(void)
{
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int intd = (int)(x % 10), fracd = (int)((x >> 8) % 17);
		char a[64], b[80];
		size_t o = 0;
		if (x & 0x10000)
			a[o++] = '-';
		uint64_t y = x;
		for (int k = 0; k <= intd; k++, y /= 7)
			a[o++] = (char)('0' + y % 10);
		char digits[40];
		size_t nd = 0;
		for (size_t k = (a[0] == '-'); k < o; k++)
			digits[nd++] = a[k];
		if (fracd) {
			a[o++] = '.';
			for (int k = 0; k < fracd; k++, y /= 3) {
				a[o++] = (char)('0' + y % 10);
				digits[nd++] = a[o - 1];
			}
		}
		a[o] = '\0';
		digits[nd] = '\0';
		snprintf(b, sizeof(b), "%s%se-%d", a[0] == '-' ? "-" : "", digits, fracd);
		pb_dec va, vb;
		unsigned fa, fb;
		if (pb__dec_parse(a, o, &va, &fa) != PB_OK ||
		    pb__dec_parse(b, strlen(b), &vb, &fb) != PB_OK || va != vb ||
		    (fa & PB_DEC_ROUNDED) != (fb & PB_DEC_ROUNDED)) {
			UNIT_FAIL_("'%s' and '%s' parse differently", a, b);
			break;
		}
	}
}

static void t_dec_parse_bad(void)
{
	pb_dec v;
	const char *bad[] = { "", "-", ".5", "5.", "1,000", "$10", "1e", "1.2.3", "NULL",
	                      " 1", "1 ", "0x10", "1e-", "--1", "nan", "inf" };
	for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
		if (pb__dec_parse(bad[i], strlen(bad[i]), &v, NULL) != PB_EINVAL)
			UNIT_FAIL_("'%s' parsed but should not", bad[i]);
	}
	CHECK_INT(pb__dec_parse("1e30", 4, &v, NULL), PB_ELIMIT);
	CHECK_INT(pb__dec_parse("999999999999999999999999", 24, &v, NULL), PB_ELIMIT);
}

static void t_dec_sum_exact(void)
{
	/* 0.1 added ten million times is exactly one million */
	pb_dec one_tenth, acc = 0;
	CHECK_INT(pb__dec_parse("0.1", 3, &one_tenth, NULL), PB_OK);
	for (int i = 0; i < 10000000; i++)
		CHECK(pb__dec_add(&acc, one_tenth));
	CHECK_STR(dec_text(acc), "1000000");
	pb_dec big = (pb_dec)1 << 126;
	pb_dec a = big;
	CHECK(!pb__dec_add(&a, big));
	CHECK(a == big);
}

static void t_dec_mul(void)
{
	pb_dec a, b, r;
	pb__dec_parse("1.5", 3, &a, NULL);
	pb__dec_parse("1024", 4, &b, NULL);
	CHECK(pb__dec_mul(a, b, &r));
	CHECK_STR(dec_text(r), "1536");
	pb__dec_parse("0.001", 5, &b, NULL);
	CHECK(pb__dec_mul(a, b, &r));
	CHECK_STR(dec_text(r), "0.0015");
	pb__dec_parse("-2.5", 4, &a, NULL);
	pb__dec_parse("0.000976562500000", 17, &b, NULL);
	CHECK(pb__dec_mul(a, b, &r));
	CHECK_STR(dec_text(r), "-0.00244140625");
}

/* The display rounding the CLI's tables use: half away from zero, on the
 * exact decimal, with exactly the places asked. */
static void t_dec_text_round(void)
{
	char b[64];
	CHECK(pb_dec_text_round("49782185.394019266666666", 2, b, sizeof(b)));
	CHECK_STR(b, "49782185.39");
	CHECK(pb_dec_text_round("0.125", 2, b, sizeof(b)));
	CHECK_STR(b, "0.13");
	CHECK(pb_dec_text_round("-0.125", 2, b, sizeof(b)));
	CHECK_STR(b, "-0.13");
	CHECK(pb_dec_text_round("-0.001", 2, b, sizeof(b)));
	CHECK_STR(b, "0.00");
	CHECK(pb_dec_text_round("12", 2, b, sizeof(b)));
	CHECK_STR(b, "12.00");
	CHECK(pb_dec_text_round("2.5", 0, b, sizeof(b)));
	CHECK_STR(b, "3");
	CHECK(!pb_dec_text_round("abc", 2, b, sizeof(b)));
	CHECK(!pb_dec_text_round("1", 16, b, sizeof(b)));
	CHECK(!pb_dec_text_round("123456.5", 2, b, 6));
}

static void t_time_forms(void)
{
	int64_t t;
	unsigned fl;
	char buf[32];
	CHECK(pb_time_parse("2024-09-18T22:00:00Z", 20, &t, &fl));
	pb_time_format(t, buf);
	CHECK_STR(buf, "2024-09-18T22:00:00Z");
	CHECK_INT(fl, 0);
	CHECK(pb_time_parse("2024-09-18 22:00:00", 19, &t, &fl));
	pb_time_format(t, buf);
	CHECK_STR(buf, "2024-09-18T22:00:00Z");
	CHECK(fl & PB_TIME_NONISO);
	CHECK(pb_time_parse("2023-11-01T00:00:00.000Z", 24, &t, &fl));
	pb_time_format(t, buf);
	CHECK_STR(buf, "2023-11-01T00:00:00Z");
	CHECK(pb_time_parse("2023-11-13T10:00Z", 17, &t, &fl));
	pb_time_format(t, buf);
	CHECK_STR(buf, "2023-11-13T10:00:00Z");
	CHECK(pb_time_parse("2024-01-01T01:30:00+02:00", 25, &t, &fl));
	pb_time_format(t, buf);
	CHECK_STR(buf, "2023-12-31T23:30:00Z");
	CHECK(pb_time_parse("2024-02-29", 10, &t, &fl));
	CHECK(fl & PB_TIME_DATEONLY);
	CHECK(!pb_time_parse("2023-02-29", 10, &t, &fl));
	CHECK(!pb_time_parse("5/1/25", 6, &t, &fl));
	CHECK(!pb_time_parse("2024-13-01T00:00:00Z", 20, &t, &fl));
	CHECK(!pb_time_parse("2024-01-01T24:00:00Z", 20, &t, &fl));
	CHECK(!pb_time_parse("2024-01-01T00:00:00Zjunk", 24, &t, &fl));
	CHECK(!pb_time_parse("", 0, &t, &fl));
	CHECK(pb_time_parse("1969-12-31T23:59:59Z", 20, &t, &fl));
	CHECK_INT(t, -1);
}

static void t_civil_roundtrip(void)
{
	for (int64_t d = -800000; d < 800000; d += 7) {
		int y;
		unsigned m, dd;
		pb__civil_from_days(d, &y, &m, &dd);
		if (pb__days_from_civil(y, m, dd) != d) {
			UNIT_FAIL_("day %lld round trip", (long long)d);
			break;
		}
	}
	CHECK_INT(pb__days_from_civil(1970, 1, 1), 0);
	CHECK_INT(pb__days_from_civil(2000, 3, 1), 11017);
}

static void t_utf8(void)
{
	size_t bad = 99;
	CHECK(pb_utf8_valid("plain ascii text, long enough", 29, NULL));
	CHECK(pb_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, NULL));
	CHECK(!pb_utf8_valid("abc\xff", 4, &bad));
	CHECK_INT(bad, 3);
	CHECK(!pb_utf8_valid("\xc0\xaf", 2, NULL));          /* overlong */
	CHECK(!pb_utf8_valid("\xed\xa0\x80", 3, NULL));      /* surrogate */
	CHECK(!pb_utf8_valid("ab\xe2\x82", 4, &bad));        /* cut short */
	CHECK_INT(bad, 2);
	CHECK(!pb_utf8_valid("\xf4\x90\x80\x80", 4, NULL));  /* > U+10FFFF */
}

static void t_buf_limit(void)
{
	struct pb_buf b;
	pb_buf_init(&b, 10);
	CHECK_INT(pb_buf_adds(&b, "0123456789"), PB_OK);
	CHECK_INT(pb_buf_addc(&b, 'x'), PB_ELIMIT);
	CHECK_INT(b.len, 10);
	pb_buf_reset(&b);
	CHECK_INT(pb_buf_csv_field(&b, "a,\"b", 4), PB_OK);
	CHECK_STR(b.data, "\"a,\"\"b\"");
	pb_buf_release(&b);
	pb_buf_init(&b, 100);
	pb_buf_json_str(&b, "a\"\n\x01", 4);
	CHECK_STR(b.data, "\"a\\\"\\n\\u0001\"");
	pb_buf_release(&b);
}

/* Invalid UTF-8 must never reach JSON output: each bad byte becomes U+FFFD,
 * valid UTF-8 passes through, and a cut buffer stops between units. */
static void t_json_utf8(void)
{
	struct pb_buf b;
	pb_buf_init(&b, 1000);
	CHECK_INT(pb_buf_json_str(&b, "a\xff\xfe", 3), PB_OK);
	CHECK_STR(b.data, "\"a\\ufffd\\ufffd\"");
	pb_buf_reset(&b);
	CHECK_INT(pb_buf_json_str(&b, "caf\xc3\xa9 \xf0\x9f\x98\x80\x7f", 11), PB_OK);
	CHECK_STR(b.data, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\\u007f\"");
	pb_buf_reset(&b);
	/* overlong, surrogate, past U+10FFFF, cut short before a quote */
	CHECK_INT(pb_buf_json_str(&b, "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82\"", 12), PB_OK);
	CHECK_STR(b.data, "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
	                  "\\ufffd\\ufffd\\\"\"");
	pb_buf_release(&b);
	/* a long string crosses the escaper's slices without splitting a character */
	char big[3001];
	for (size_t i = 0; i < 3000; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	pb_buf_init(&b, 10000);
	CHECK_INT(pb_buf_json_str(&b, big, 3000), PB_OK);
	CHECK_INT(b.len, 3002);
	CHECK(pb_utf8_valid(b.data, b.len, NULL));
	pb_buf_release(&b);
	pb_buf_init(&b, 8);
	CHECK_INT(pb_buf_json_str(&b, "abcdefghij", 10), PB_ELIMIT);
	pb_buf_release(&b);
	char out[8];
	size_t got;
	CHECK_INT(pb_json_escape(out, 7, &got, "ab\xff\xe2\x82\xac", 6), 2);
	CHECK_INT(got, 2);
	CHECK_INT(pb_json_escape(out, 8, &got, "ab\xff\xe2\x82\xac", 6), 3);
	CHECK_INT(got, 8);
}

static void t_sha256(void)
{
	uint8_t h[32];
	char hex[65];
	struct pb_sha256 s;
	CHECK_INT(pb__sha256_init(&s), PB_OK);
	pb__sha256_update(&s, "ab", 2);
	pb__sha256_update(&s, "c", 1);
	pb__sha256_final(&s, h);
	pb_hex(h, 32, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	pb__sha256("abc", 3, h);
	pb_hex(h, 32, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	uint8_t back[32];
	CHECK(pb_unhex(hex, 64, back, 32));
	CHECK(memcmp(back, h, 32) == 0);
	CHECK(!pb_unhex("zz", 2, back, 1));
}

static void t_atomic_write(void)
{
	char *dir = unit_tmpdir();
	char *p = pb__path_join(dir, "f.txt");
	struct pb_error err = { 0 };
	CHECK_OK(pb__write_file_atomic(p, "one", 3, 0600, &err), &err);
	CHECK_OK(pb__write_file_atomic(p, "two!", 4, 0600, &err), &err);
	char *text = NULL;
	size_t n = 0;
	CHECK_OK(pb__read_file(p, 100, &text, &n, &err), &err);
	CHECK_STR(text, "two!");
	free(text);
	struct stat sb;
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CHECK_INT(pb__read_file(p, 3, &text, &n, &err), PB_ELIMIT);
	char *missing = pb__path_join(dir, "nope/f.txt");
	CHECK_INT(pb__write_file_atomic(missing, "x", 1, 0600, &err), PB_ENOENT);
	CHECK(strstr(err.message, "no such file") != NULL);
	free(missing);
	free(p);
	unit_rm_rf(dir);
	free(dir);
}

/* Only regular files are opened; a named pipe is refused without blocking. */
static void t_open_regular(void)
{
	char *dir = unit_tmpdir();
	char *f = pb__path_join(dir, "f.txt"), *fifo = pb__path_join(dir, "pipe"),
	     *link = pb__path_join(dir, "link");
	struct pb_error err = { 0 };
	CHECK_OK(pb__write_file_atomic(f, "four", 4, 0600, &err), &err);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(symlink(fifo, link) == 0);
	int fd;
	uint64_t size;
	const char *what;
	CHECK_INT(pb__open_regular(f, &fd, &size, &what), 0);
	CHECK(fd >= 0);
	CHECK_INT(size, 4);
	if (fd >= 0)
		close(fd);
	CHECK_INT(pb__open_regular(fifo, &fd, &size, &what), -1);
	CHECK_INT(fd, -1);
	CHECK_STR(what, "a named pipe");
	CHECK_INT(pb__open_regular(link, &fd, &size, &what), -1); /* links are followed */
	CHECK_INT(pb__open_regular(dir, &fd, &size, &what), EISDIR);
	CHECK_INT(pb__open_regular("/dev/null", &fd, &size, &what), -1);
	CHECK_STR(what, "a character device");
	char *text = NULL;
	size_t n = 0;
	CHECK_INT(pb__read_regular_file(fifo, 100, &text, &n, &err), PB_EINVAL);
	CHECK(strstr(err.message, "not a regular file (a named pipe)") != NULL);
	CHECK_OK(pb__read_regular_file(f, 100, &text, &n, &err), &err);
	CHECK_STR(text, "four");
	free(text);
	free(f);
	free(fifo);
	free(link);
	unit_rm_rf(dir);
	free(dir);
}

static void t_error_format(void)
{
	struct pb_error err = { 0 };
	char buf[600];
	pb__err_at(&err, PB_EFORMAT, "x.csv", 12, 3, "bad '%s'", "v");
	CHECK_STR(pb_error_format(&err, buf, sizeof(buf)), "x.csv:12:3: bad 'v'");
	pb__err(&err, PB_EIO, "cannot read");
	pb__err_prefix(&err, "ingest");
	CHECK_STR(pb_error_format(&err, buf, sizeof(buf)), "ingest: cannot read");
	CHECK_STR(pb_status_name(PB_ELIMIT), "limit");
	CHECK_STR(pb_status_name((enum pb_status)999), "unknown");
}

/* pb__tail_le is the little-endian integer of the bytes, at every length
 * and offset. */
static void t_tail_le(void)
{
	const char bytes[] = "\x01\x82\x03\xf4\x05\x06\x97\x08\x09";
	for (size_t off = 0; off < 2; off++)
		for (size_t n = 0; n < 8; n++) {
			uint64_t want = 0;
			for (size_t i = 0; i < n; i++)
				want |= (uint64_t)(unsigned char)bytes[off + i] << (8 * i);
			CHECK(pb__tail_le(bytes + off, n) == want);
		}
}

int main(void)
{
	RUN(t_dec_parse_forms);
	RUN(t_dec_paths_agree);
	RUN(t_dec_parse_bad);
	RUN(t_dec_sum_exact);
	RUN(t_dec_mul);
	RUN(t_dec_text_round);
	RUN(t_time_forms);
	RUN(t_civil_roundtrip);
	RUN(t_utf8);
	RUN(t_buf_limit);
	RUN(t_json_utf8);
	RUN(t_sha256);
	RUN(t_atomic_write);
	RUN(t_open_regular);
	RUN(t_error_format);
	RUN(t_tail_le);
	return UNIT_END("util");
}
