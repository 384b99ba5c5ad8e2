/* tree.c - the tree hash of a source (tree.h; docs/ingest.md defines it):
 * RFC 6962 hashing over fixed-size chunks of a byte stream, with the audit
 * log's leaf and node functions. */
#include "usage/tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/tlog.h"

#include "util/banned.h"

void pb__mth_leaf(const void *p, size_t n, uint8_t out[32])
{
	pb__hasher_leaf(NULL, p, n, out);
}

void pb__mth_root(const uint8_t (*leaves)[32], size_t n, uint8_t out[32])
{
	if (n == 0) {
		pb__sha256("", 0, out);
		return;
	}
	struct pb_sha256 h;
	bool ctx = pb__sha256_init(&h) == PB_OK;
	pb__hasher_root(ctx ? &h : NULL, leaves, n, out);
	if (ctx)
		pb__sha256_release(&h);
}

void pb__mth_init(struct pb__mth *m, size_t chunk, bool keep)
{
	memset(m, 0, sizeof(*m));
	m->chunk = chunk ? chunk : PB_TREE_CHUNK_DEFAULT;
	m->keep = keep;
	pb_tlog_range_init(&m->range);
}

void pb__mth_add_leaf(struct pb__mth *m, const uint8_t h[32])
{
	pb_tlog_range_append(&m->range, h);
	if (!m->keep)
		return;
	void *grown = pb__grow(m->leaves, &m->cap, m->nleaves, 32);
	if (!grown) {
		m->failed = true;
		return;
	}
	m->leaves = grown;
	memcpy(m->leaves[m->nleaves++], h, 32);
}

static void close_leaf(struct pb__mth *m)
{
	uint8_t h[32];
	pb__sha256_final(&m->ctx, h);
	m->fill = 0;
	pb__mth_add_leaf(m, h);
}

void pb__mth_update(struct pb__mth *m, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		size_t k = m->chunk - m->fill;
		if (k > n)
			k = n;
		if (m->fill == 0 && k == m->chunk) {
			/* whole leaves at once, two at a time where there are two */
			uint8_t h[2][32];
			if (n >= 2 * k)
				k *= 2;
			pb__mth_leaves(b, k, m->chunk, h);
			for (size_t i = 0; i < k / m->chunk; i++)
				pb__mth_add_leaf(m, h[i]);
		} else {
			if (m->fill == 0) {
				static const uint8_t zero = 0;
				if (pb__sha256_init(&m->ctx) != PB_OK) {
					m->failed = true;
					return;
				}
				pb__sha256_update(&m->ctx, &zero, 1);
			}
			pb__sha256_update(&m->ctx, b, k);
			m->fill += k;
			if (m->fill == m->chunk)
				close_leaf(m);
		}
		b += k;
		n -= k;
	}
}

enum pb_status pb__mth_final(struct pb__mth *m, uint8_t root[32])
{
	if (m->fill)
		close_leaf(m);
	pb_tlog_range_root(&m->range, root);
	return m->failed ? PB_ENOMEM : PB_OK;
}

void pb__mth_release(struct pb__mth *m)
{
	if (m->fill)
		pb__sha256_release(&m->ctx);
	m->fill = 0;
	free(m->leaves);
	m->leaves = NULL;
	m->nleaves = m->cap = 0;
}

void pb__mth_id(size_t chunk, const uint8_t root[32], char *out)
{
	char hex[65];
	pb_hex(root, 32, hex);
	snprintf(out, PB_TREE_ID_LEN, "mth-sha256:%zu:%s", chunk, hex);
}

bool pb__mth_parse_id(const char *id, size_t *chunk, uint8_t root[32])
{
	static const char pre[] = "mth-sha256:";
	if (!id || strncmp(id, pre, sizeof(pre) - 1) != 0)
		return false;
	const char *p = id + sizeof(pre) - 1;
	size_t c = 0, digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
		c = c * 10 + (size_t)(*p - '0');
	if (digits == 0 || *p != ':' || (digits > 1 && id[sizeof(pre) - 1] == '0') ||
	    c < PB_TREE_CHUNK_MIN || c > PB_TREE_CHUNK_MAX)
		return false;
	p++;
	char canon[65];
	if (!pb_unhex(p, strlen(p), root, 32))
		return false;
	pb_hex(root, 32, canon);
	if (strcmp(canon, p) != 0) /* lower case only: one text per root */
		return false;
	*chunk = c;
	return true;
}

enum pb_status pb__file_hashes(const char *path, size_t chunk, uint8_t *root, uint8_t *flat,
                               struct pb_error *err)
{
	int fd;
	uint64_t size;
	const char *what;
	int e = pb__open_regular(path, &fd, &size, &what);
	if (e < 0)
		return pb__err(err, PB_EINVAL, "cannot read '%s': not a regular file (%s)", path, what);
	if (e)
		return pb__err(err, pb__errno_status(e), "cannot open '%s': %s", path,
		               pb__errno_text(e));
	struct pb__mth m;
	struct pb_sha256 sha;
	pb__mth_init(&m, chunk, false);
	enum pb_status st = flat ? pb__sha256_init(&sha) : PB_OK;
	size_t cap = 2 * (chunk > (1u << 20) ? chunk : (1u << 20)); /* leaves in pairs */
	char *buf = st ? NULL : malloc(cap);
	if (!buf && !st) {
		st = PB_ENOMEM;
		if (flat)
			pb__sha256_release(&sha);
	}
	if (st) {
		close(fd);
		return pb__err(err, st, "out of memory");
	}
	for (;;) {
		ssize_t r = read(fd, buf, cap);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = pb__err(err, PB_EIO, "cannot read '%s': %s", path, pb__errno_text(errno));
			break;
		}
		if (r == 0)
			break;
		if (root)
			pb__mth_update(&m, buf, (size_t)r);
		if (flat)
			pb__sha256_update(&sha, buf, (size_t)r);
	}
	free(buf);
	close(fd);
	uint8_t tmp[32];
	if (pb__mth_final(&m, root ? root : tmp) != PB_OK && !st)
		st = pb__err(err, PB_ENOMEM, "out of memory");
	pb__mth_release(&m);
	if (flat) {
		if (st)
			pb__sha256_release(&sha);
		else
			pb__sha256_final(&sha, flat);
	}
	return st;
}
