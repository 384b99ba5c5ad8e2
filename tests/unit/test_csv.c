/* test_csv.c - the record parsers (bitmap and field-at-a-time agree), cuts
 * between records, the small reader. */
#include "unit.h"
#include "usage/csv.h"

static size_t parse(const char *s, struct pb_csv_field *f, struct pb_csv_record *rec,
                    const char **next)
{
	*next = pb__csv_parse_record(s, s + strlen(s), f, 64, rec);
	return rec->nfields;
}

static const char *field(const struct pb_csv_field *f, char *buf)
{
	size_t n = pb__csv_unescape(f, buf, 256);
	buf[n] = '\0';
	return buf;
}

static void t_records(void)
{
	struct pb_csv_field f[64];
	struct pb_csv_record rec;
	const char *next;
	char b[256];
	const char *in = "a,\"b,c\",\"d\"\"e\",,\"\"\nnext";
	CHECK_INT(parse(in, f, &rec, &next), 5);
	CHECK_INT(rec.problem, PB_CSV_OK);
	CHECK_STR(field(&f[0], b), "a");
	CHECK_STR(field(&f[1], b), "b,c");
	CHECK(f[1].quoted && !f[1].escaped);
	CHECK_STR(field(&f[2], b), "d\"e");
	CHECK(f[2].escaped);
	CHECK_STR(field(&f[3], b), "");
	CHECK_STR(field(&f[4], b), "");
	CHECK(f[4].quoted);
	CHECK_STR(next, "next");
	CHECK_INT(rec.lines, 1);
	/* CRLF, multi-line quoted field, final record without LF */
	in = "x,\"line1\r\nline2\",y\r\nz";
	CHECK_INT(parse(in, f, &rec, &next), 3);
	CHECK_STR(field(&f[1], b), "line1\r\nline2");
	CHECK_STR(field(&f[2], b), "y");
	CHECK_INT(rec.lines, 2);
	CHECK_STR(next, "z");
	CHECK_INT(parse("z", f, &rec, &next), 1);
	CHECK_INT(rec.lines, 0);
	CHECK(*next == '\0');
	/* trailing separator: an empty last field */
	CHECK_INT(parse("a,b,\n", f, &rec, &next), 3);
	CHECK_INT(f[2].len, 0);
	/* a long record crossing many 64-byte blocks */
	char longrec[3000];
	size_t o = 0;
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(longrec + o, sizeof(longrec) - o, "%s\"v%d,\"\"x\"\"\"", i ? "," : "",
		                      i);
	longrec[o++] = '\n';
	longrec[o] = '\0';
	struct pb_csv_field many[256];
	next = pb__csv_parse_record(longrec, longrec + o, many, 256, &rec);
	CHECK_INT(rec.nfields, 200);
	CHECK_INT(rec.problem, PB_CSV_OK);
	CHECK_STR(field(&many[199], b), "v199,\"x\"");
	CHECK(next == longrec + o);
}

static void t_problems(void)
{
	struct pb_csv_field f[64];
	struct pb_csv_record rec;
	const char *next;
	parse("a,\"open\nmore\n", f, &rec, &next);
	CHECK_INT(rec.problem, PB_CSV_UNBALANCED);
	CHECK_INT(rec.problem_field, 2);
	CHECK(*next == '\0');
	parse("a,b\"c,d\nnext\n", f, &rec, &next);
	CHECK_INT(rec.problem, PB_CSV_STRAY_QUOTE);
	CHECK_INT(rec.problem_field, 2);
	parse("\"a\"b,c\nnext\n", f, &rec, &next);
	CHECK_INT(rec.problem, PB_CSV_AFTER_QUOTE);
	CHECK_INT(rec.problem_field, 1);
	/* a bad record is skipped by quote parity: here the next LF is at even parity */
	CHECK_STR(next, "next\n");
	next = pb__csv_parse_record("a,b,c,d\n", "a,b,c,d\n" + 8, f, 3, &rec);
	CHECK_INT(rec.problem, PB_CSV_TOO_MANY);
	CHECK_INT(rec.problem_field, 4);
}

/* splitmix64 for reproducible random inputs */
static uint64_t seed = 42;
static uint64_t rnd(void)
{
	uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The bitmap parser and the field-at-a-time parser agree on random input
 * made of the characters that matter. */
static void t_parsers_agree(void)
{
	static const char alphabet[] = "ab,,\"\"\n\r x";
	char buf[400];
	struct pb_csv_field f1[64], f2[64];
	int mismatches = 0;
	for (int iter = 0; iter < 200000 && mismatches < 5; iter++) {
		size_t n = rnd() % sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		const char *p1 = buf, *p2 = buf, *end = buf + n;
		while (p1 < end && mismatches < 5) {
			struct pb_csv_record r1, r2;
			const char *n1 = pb__csv_parse_record(p1, end, f1, 64, &r1);
			const char *n2 = pb__csv_parse_record_simple(p2, end, f2, 64, &r2);
			bool same = n1 - buf == n2 - buf && r1.problem == r2.problem &&
			            r1.lines == r2.lines && (r1.problem || r1.nfields == r2.nfields);
			for (size_t k = 0; same && !r1.problem && k < r1.nfields; k++)
				same = f1[k].len == f2[k].len && f1[k].ptr == f2[k].ptr &&
				       f1[k].quoted == f2[k].quoted && f1[k].escaped == f2[k].escaped;
			if (!same) {
				mismatches++;
				UNIT_FAIL_("parsers disagree at offset %td of a %zu-byte input (problems %d/%d)",
				           p1 - buf, n, r1.problem, r2.problem);
			}
			p1 = n1;
			p2 = n2;
		}
	}
}

/* A cut leaves whole records: parsing the prefix ends exactly at the cut, and
 * the LFs it counts are the LFs in the prefix. */
static void t_cut(void)
{
	static const char alphabet[] = "ab,\"\n\n";
	char buf[2000];
	struct pb_csv_field f[256];
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 1 + rnd() % sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		uint64_t lines = 0;
		size_t cut = pb__csv_cut(buf, n, &lines);
		if (cut == 0)
			continue;
		if (buf[cut - 1] != '\n' || lines != pb__csv_count_lf(buf, cut)) {
			UNIT_FAIL_("cut %zu of %zu: not after a LF or wrong line count", cut, n);
			break;
		}
		size_t quotes = 0;
		for (size_t i = 0; i < cut; i++)
			quotes += buf[i] == '"';
		if (quotes % 2) {
			UNIT_FAIL_("cut %zu inside quotes", cut);
			break;
		}
		const char *p = buf;
		while (p < buf + cut) {
			struct pb_csv_record r;
			p = pb__csv_parse_record(p, buf + cut, f, 256, &r);
		}
		if (p != buf + cut) {
			UNIT_FAIL_("records do not end at the cut");
			break;
		}
	}
	uint64_t lines;
	CHECK_INT(pb__csv_cut("a,\"b\nc", 6, &lines), 0);
	CHECK_INT(pb__csv_cut("a\nb,\"c\nd", 8, &lines), 2);
	CHECK_INT(lines, 1);
}

static void t_reader(void)
{
	const char *text = "\xEF\xBB\xBF# a comment\nname,value\n\n\"x,y\",\"1\"\"\"\nlast,2";
	struct pb_csv_reader r;
	struct pb_error err = { 0 };
	CHECK_OK(pb__csv_reader_init(&r, text, strlen(text), "t.csv", 8, true, &err), &err);
	struct pb_str f[8];
	size_t n;
	CHECK_OK(pb__csv_reader_next(&r, f, &n, &err), &err);
	CHECK_INT(n, 2);
	CHECK_INT(r.line, 2);
	CHECK(pb_str_eq_cstr(f[0], "name"));
	CHECK_OK(pb__csv_reader_next(&r, f, &n, &err), &err);
	CHECK_INT(r.line, 4);
	CHECK(pb_str_eq_cstr(f[0], "x,y") && pb_str_eq_cstr(f[1], "1\""));
	CHECK_OK(pb__csv_reader_next(&r, f, &n, &err), &err);
	CHECK(n == 2 && pb_str_eq_cstr(f[0], "last"));
	CHECK_OK(pb__csv_reader_next(&r, f, &n, &err), &err);
	CHECK_INT(n, 0);
	pb__csv_reader_release(&r);
	const char *bad = "a,b\nc,\"d\n";
	CHECK_OK(pb__csv_reader_init(&r, bad, strlen(bad), "bad.csv", 8, false, &err), &err);
	CHECK_OK(pb__csv_reader_next(&r, f, &n, &err), &err);
	CHECK_INT(pb__csv_reader_next(&r, f, &n, &err), PB_EFORMAT);
	CHECK_INT(err.line, 2);
	CHECK_INT(err.column, 2);
	CHECK_STR(err.file, "bad.csv");
	pb__csv_reader_release(&r);
}

int main(void)
{
	RUN(t_records);
	RUN(t_problems);
	RUN(t_parsers_agree);
	RUN(t_cut);
	RUN(t_reader);
	return UNIT_END("csv");
}
