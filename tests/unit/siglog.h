/* siglog.h - for the unit tests of the signature replay (test_sig.c,
 * test_passkey_verify.c): a signed log built by hand in memory (the entry
 * texts and the tree whose roots statements name), replayed through
 * lib/replay/sig.c with every problem kept. Include after unit.h. */
#ifndef PB_TEST_SIGLOG_H
#define PB_TEST_SIGLOG_H

#include "replay/sig.h"

struct log {
	char *e[64];
	size_t n;
	struct pb_tlog_range r;
};

/* appends text (heap; NULL is a failed check) */
static void add(struct log *l, char *text)
{
	CHECK(text != NULL);
	if (!text)
		return;
	l->e[l->n++] = text;
	uint8_t h[32];
	pb_tlog_leaf_hash(text, strlen(text), h);
	pb_tlog_range_append(&l->r, h);
}

struct found {
	int n;
	uint64_t index;  /* of the first problem */
	char what[400];
	char all[4000];  /* every problem, "[index] what" a line */
};

static void keep(void *ctx, uint64_t index, const char *what)
{
	struct found *f = ctx;
	if (f->n++ == 0) {
		f->index = index;
		snprintf(f->what, sizeof(f->what), "%s", what);
	}
	size_t o = strlen(f->all);
	snprintf(f->all + o, sizeof(f->all) - o, "[%llu] %s\n", (unsigned long long)index, what);
}

/* replays l; returns the problems (the first in *f) */
static int replay(struct log *l, struct found *f)
{
	memset(f, 0, sizeof(*f));
	struct pb__rsig *s = NULL;
	struct pb_error err = { 0 };
	CHECK_OK(pb__rsig_new(keep, f, &s, &err), &err);
	for (size_t i = 0; i < l->n; i++)
		CHECK_OK(pb__rsig_feed(s, i, l->e[i], strlen(l->e[i]), &err), &err);
	uint64_t nbad = 0;
	CHECK_OK(pb__rsig_finish(s, &nbad, &err), &err);
	CHECK_INT(nbad, (uint64_t)f->n);
	pb__rsig_free(s);
	return f->n;
}

static void release(struct log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i]);
	l->n = 0;
}

/* whether the first problem says s (else all of them go to stderr) */
static bool has(const struct found *f, const char *s)
{
	if (strstr(f->what, s))
		return true;
	fprintf(stderr, "  expected '%s' in:\n%s", s, f->all);
	return false;
}

#endif
