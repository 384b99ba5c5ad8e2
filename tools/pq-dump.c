/* pq-dump.c - prints the values of a Parquet file in the golden format of
 * tests/data/parquet (tools/parquet-golden.sh makes the same from DuckDB):
 * the column names on one line, then one line per row, values separated by
 * tabs, null as \N, backslash, tab and newline escaped; byte arrays that are
 * not text in hex, timestamps as nanoseconds since 1970 (UTC).
 * usage: pq-dump FILE; exit 1 with the reader's message when it refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage/parquet.h"
#include "util/util.h"

static void put_escaped(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\')
			fputs("\\\\", stdout);
		else if (p[i] == '\t')
			fputs("\\t", stdout);
		else if (p[i] == '\n')
			fputs("\\n", stdout);
		else
			putchar(p[i]);
	}
}

/* nanoseconds since 1970; false when that overflows 64 bits */
static bool to_ns(const struct pb_pq_column *c, const struct pb_pq_value *v, int64_t *out)
{
	static const int64_t mul[] = { 1000000, 1000, 1 };
	if (c->type == PQ_INT96) {
		int64_t ns = 0, jd = 0, day;
		for (int i = 7; i >= 0; i--)
			ns = (int64_t)((uint64_t)ns << 8 | v->u.b.p[i]);
		for (int i = 11; i >= 8; i--)
			jd = jd << 8 | v->u.b.p[i];
		return !__builtin_mul_overflow((int64_t)(int32_t)jd - 2440588, 86400000000000LL, &day) &&
		       !__builtin_add_overflow(day, ns, out);
	}
	return !__builtin_mul_overflow(v->u.i, mul[c->unit], out);
}

static void put_value(const struct pb_pq_column *c, const struct pb_pq_values *vs, size_t i)
{
	char buf[128];
	bool null;
	if (vs->null[i]) {
		fputs("\\N", stdout);
		return;
	}
	const struct pb_pq_value *v = pb__pq_value(vs, i);
	if (c->kind == PQK_TIMESTAMP) {
		int64_t ns;
		if (to_ns(c, v, &ns))
			printf("%lld", (long long)ns);
		else
			fputs("(out of range)", stdout);
		return;
	}
	bool bytes = (c->type == PQ_BYTE_ARRAY || c->type == PQ_FLBA) && c->kind != PQK_STRING &&
	             c->kind != PQK_DECIMAL && c->kind != PQK_FLOAT16;
	if (bytes) {
		for (uint32_t k = 0; k < v->u.b.n; k++)
			printf("%02X", v->u.b.p[k]);
		return;
	}
	struct pb_str s = pb__pq_text(c, vs, i, buf, sizeof(buf), &null);
	put_escaped(s.ptr, s.len);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pq-dump FILE\n");
		return 2;
	}
	size_t len;
	char *data = NULL;
	struct pb_error err = { 0 };
	if (pb__read_file(argv[1], (size_t)1 << 31, &data, &len, &err)) {
		fprintf(stderr, "pq-dump: %s\n", err.message);
		return 1;
	}
	const char *base = strrchr(argv[1], '/');
	base = base ? base + 1 : argv[1];
	struct pb_pq_file f;
	int rc = 0;
	if (pb__pq_open(&f, (const uint8_t *)data, len, base, &err)) {
		fprintf(stderr, "pq-dump: %s\n", err.message);
		free(data);
		return 1;
	}
	for (size_t c = 0; c < f.ncols; c++)
		if (f.cols[c].nested) {
			fprintf(stderr, "pq-dump: cannot read '%s': column '%s' is nested (not supported)\n",
			        base, f.cols[c].name);
			rc = 1;
			goto out;
		}
	for (size_t c = 0; c < f.ncols; c++)
		printf("%s%s", c ? "\t" : "", f.cols[c].name);
	printf("\n");
	struct pb_pq_values *vals = calloc(f.ncols ? f.ncols : 1, sizeof(*vals));
	for (size_t r = 0; vals && r < f.nrgs && !rc; r++) {
		for (size_t c = 0; c < f.ncols; c++)
			if (pb__pq_read(&f, r, c, &vals[c], &err)) {
				fprintf(stderr, "pq-dump: %s\n", err.message);
				rc = 1;
				break;
			}
		for (size_t i = 0; !rc && i < (size_t)f.rgs[r].num_rows; i++) {
			for (size_t c = 0; c < f.ncols; c++) {
				if (c)
					putchar('\t');
				put_value(&f.cols[c], &vals[c], i);
			}
			putchar('\n');
		}
	}
	for (size_t c = 0; vals && c < f.ncols; c++)
		pb__pq_values_release(&vals[c]);
	free(vals);
out:
	pb__pq_release(&f);
	free(data);
	return rc;
}
