/* unit.h - the tiny unit-test runner: checks that print file:line and both
 * values, one line per failed check, and a last line "unit <name>: N passed, N failed".
 *
 * A test is a function `static void t_name(void)`; main() calls RUN(t_name)
 * for each and returns UNIT_END("module"). A test passes when none of its
 * checks failed. Tests run from the repository root (data in tests/data/).
 */
#ifndef PB_UNIT_H
#define PB_UNIT_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_passed, unit_failed, unit_cur_failed;
static const char *unit_cur_name;

#define UNIT_FAIL_(...)                                                            \
	do {                                                                       \
		unit_cur_failed++;                                                 \
		fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, unit_cur_name); \
		fprintf(stderr, __VA_ARGS__);                                      \
		fputc('\n', stderr);                                               \
	} while (0)

#define CHECK(cond)                                                \
	do {                                                       \
		if (!(cond))                                       \
			UNIT_FAIL_("check failed: %s", #cond);     \
	} while (0)

#define CHECK_INT(a, b)                                                               \
	do {                                                                          \
		long long a_ = (long long)(a), b_ = (long long)(b);                   \
		if (a_ != b_)                                                         \
			UNIT_FAIL_("%s == %s: got %lld, expected %lld", #a, #b, a_, b_); \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *a_ = (a), *b_ = (b);                                       \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
			UNIT_FAIL_("%s == %s: got \"%s\", expected \"%s\"", #a, #b,    \
			           a_ ? a_ : "(null)", b_ ? b_ : "(null)");            \
	} while (0)

/* Checks that two doubles are within tol of each other (tol 0: equal); NaN
 * never is. */
#define CHECK_NEAR(a, b, tol)                                                           \
	do {                                                                            \
		double a_ = (a), b_ = (b);                                              \
		if (!(fabs(a_ - b_) <= (tol)))                                          \
			UNIT_FAIL_("%s == %s: got %.17g, expected %.17g", #a, #b, a_, b_); \
	} while (0)

/* Checks that a pb_status call succeeded; prints the error message if not. */
#define CHECK_OK(call, errp)                                                        \
	do {                                                                        \
		int st_ = (int)(call);                                              \
		if (st_ != 0)                                                       \
			UNIT_FAIL_("%s: status %d: %s", #call, st_, (errp)->message); \
	} while (0)

#define RUN(fn)                                                       \
	do {                                                          \
		unit_cur_name = #fn;                                  \
		unit_cur_failed = 0;                                  \
		fn();                                                 \
		if (unit_cur_failed)                                  \
			unit_failed++;                                \
		else                                                  \
			unit_passed++;                                \
	} while (0)

#define UNIT_END(module)                                                            \
	(printf("unit %s: %d passed, %d failed\n", (module), unit_passed, unit_failed), \
	 unit_failed ? 1 : 0)

/* A fresh temporary folder for a test (under $TMPDIR or /tmp); heap string. */
static inline char *unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(4096);
	snprintf(p, 4096, "%s/pbunit.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(p)) {
		perror("mkdtemp");
		exit(2);
	}
	return p;
}

static inline void unit_rm_rf(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

#endif
