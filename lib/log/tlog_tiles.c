/* tlog_tiles.c - C2SP tlog-tiles: writing a log's tiles and entry bundles,
 * and verifying an exported folder offline.
 *
 * Both directions stream: one entry bundle and one level-0 tile at a time,
 * plus one partly filled tile per higher level (a tile at level l holds the
 * roots of full tiles at level l-1). The tree root comes from a compact range
 * fed with full-tile roots (perfect subtrees of 256 leaves) and, at the end,
 * the leaves of the last partial tile. Memory stays at a few tiles whatever
 * the size of the log.
 */
#include "log/tlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "util/banned.h"

#define W PB_TLOG_TILE_WIDTH
#define MAX_LEVELS 8 /* 256^8 = 2^64 */
#define BUNDLE_MAX ((size_t)W * (2 + PB_TLOG_ENTRY_MAX))

/* ---- files ----------------------------------------------------------- */

static enum pb_status mkdirs(char *path, struct pb_error *err)
{
	/* creates every folder of path up to its last '/' */
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		int rc = mkdir(path, 0700);
		int e = errno;
		*s = '/';
		if (rc != 0 && e != EEXIST)
			return pb__err(err, pb__errno_status(e), "cannot create folder for '%s': %s",
			               path, pb__errno_text(e));
	}
	return PB_OK;
}

static enum pb_status put_file(const char *dir, const char *rel, const void *data, size_t n,
                               struct pb_error *err)
{
	char *p = pb__path_join(dir, rel);
	if (!p)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = mkdirs(p, err);
	if (st)
		goto out;
	char tmp[4200];
	pb__snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		st = pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", tmp,
		             pb__errno_text(errno));
		goto out;
	}
	const char *q = data;
	size_t left = n;
	while (left) {
		ssize_t w = write(fd, q, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			st = pb__err(err, PB_EIO, "cannot write '%s': %s", p, pb__errno_text(e));
			goto out;
		}
		q += w;
		left -= (size_t)w;
	}
	if (close(fd) != 0 || rename(tmp, p) != 0) {
		int e = errno;
		unlink(tmp);
		st = pb__err(err, PB_EIO, "cannot write '%s': %s", p, pb__errno_text(e));
	}
out:
	free(p);
	return st;
}

/* Removes the superseded partial versions of tile `rel` (a path without
 * ".p/W"): all of rel.p/ when keep is 0 (the tile is now full), else every
 * width but keep. */
static void remove_partials(const char *dir, const char *rel, unsigned keep)
{
	char pdir[4200];
	pb__snprintf(pdir, sizeof(pdir), "%s/%s.p", dir, rel);
	DIR *d = opendir(pdir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *end;
		unsigned long w = strtoul(e->d_name, &end, 10);
		if (*end == '\0' && w == keep)
			continue;
		char f[4500];
		pb__snprintf(f, sizeof(f), "%s/%s", pdir, e->d_name);
		unlink(f);
	}
	closedir(d);
	if (keep == 0)
		rmdir(pdir);
}

/* ---- writing --------------------------------------------------------- */

struct level_buf {
	uint8_t hash[W][32];
	size_t count;
	uint64_t full; /* full tiles written at this level */
};

struct writer {
	const char *dir;
	struct pb_sha256 h;
	struct level_buf *lv; /* MAX_LEVELS */
	struct pb_tlog_range range;
};

static enum pb_status write_tile(struct writer *w, int level, uint64_t n, unsigned width,
                                 const void *data, size_t len, struct pb_error *err)
{
	char rel[128], base[128];
	pb_tlog_tile_path(level, n, width, rel, sizeof(rel));
	pb_tlog_tile_path(level, n, W, base, sizeof(base));
	enum pb_status st = put_file(w->dir, rel, data, len, err);
	if (!st)
		remove_partials(w->dir, base, width == W ? 0 : width);
	return st;
}

/* Adds a hash at level l; writes the tile when it fills and carries its root up. */
static enum pb_status level_push(struct writer *w, unsigned l, const uint8_t hash[32],
                                 struct pb_error *err)
{
	if (l >= MAX_LEVELS)
		return PB_OK; /* the root of a full 2^64 tree needs no tile */
	struct level_buf *b = &w->lv[l];
	memcpy(b->hash[b->count++], hash, 32);
	if (b->count < W)
		return PB_OK;
	enum pb_status st = write_tile(w, (int)l, b->full, W, b->hash, sizeof(b->hash), err);
	if (st)
		return st;
	uint8_t root[32];
	pb__hasher_root(&w->h, (const uint8_t(*)[32])b->hash, W, root);
	b->count = 0;
	b->full++;
	if (l == 0 && (st = pb_tlog_range_append_subtree(&w->range, 8, root, err)))
		return st;
	return level_push(w, l + 1, root, err);
}

enum pb_status pb_tlog_write_tiles(const char *dir, uint64_t size, pb_tlog_entry_fn next,
                                   void *ctx, uint8_t root[32], struct pb_error *err)
{
	struct writer w = { .dir = dir };
	struct pb_buf bundle;
	pb_buf_init(&bundle, BUNDLE_MAX);
	pb_tlog_range_init(&w.range);
	enum pb_status st = pb__sha256_init(&w.h);
	if (st) {
		pb__err(err, st, "cannot set up SHA-256");
		goto out;
	}
	w.lv = calloc(MAX_LEVELS, sizeof(*w.lv));
	if (!w.lv) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		st = pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", dir,
		             pb__errno_text(errno));
		goto out;
	}
	uint64_t nbundles = 0;
	for (uint64_t i = 0; i < size; i++) {
		struct pb_str e = { 0 };
		if ((st = next(ctx, i, &e, err)))
			goto out;
		if (e.len > PB_TLOG_ENTRY_MAX) {
			st = pb__err(err, PB_ELIMIT, "entry %llu is %zu bytes; the limit is %d",
			             (unsigned long long)i, e.len, PB_TLOG_ENTRY_MAX);
			goto out;
		}
		uint8_t lenb[2] = { (uint8_t)(e.len >> 8), (uint8_t)e.len };
		if ((st = pb_buf_add(&bundle, lenb, 2)) || (st = pb_buf_add(&bundle, e.ptr, e.len))) {
			pb__err(err, st, "out of memory");
			goto out;
		}
		uint8_t lh[32];
		pb__hasher_leaf(&w.h, e.ptr, e.len, lh);
		if ((st = level_push(&w, 0, lh, err)))
			goto out;
		if (w.lv[0].count == 0) { /* a level-0 tile just filled: its bundle too */
			if ((st = write_tile(&w, -1, nbundles++, W, bundle.data, bundle.len, err)))
				goto out;
			pb_buf_reset(&bundle);
		}
	}
	/* the last partial tiles */
	if (w.lv[0].count) {
		if ((st = write_tile(&w, -1, nbundles, (unsigned)w.lv[0].count, bundle.data,
		                     bundle.len, err)))
			goto out;
		for (size_t i = 0; i < w.lv[0].count; i++)
			pb_tlog_range_append(&w.range, w.lv[0].hash[i]);
	}
	for (unsigned l = 0; l < MAX_LEVELS; l++) {
		struct level_buf *b = &w.lv[l];
		if (b->count &&
		    (st = write_tile(&w, (int)l, b->full, (unsigned)b->count, b->hash, b->count * 32, err)))
			goto out;
	}
	pb_tlog_range_root(&w.range, root);
	{
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) != 0) {
			st = pb__err(err, PB_EIO, "cannot sync '%s': %s", dir, pb__errno_text(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
	}
out:
	pb_buf_release(&bundle);
	pb__sha256_release(&w.h);
	free(w.lv);
	return st;
}

/* ---- verifying ------------------------------------------------------- */

struct verifier {
	const char *dir;
	const struct pb_tlog_verify_options *o;
	struct pb_tlog_verify_result *res;
	struct pb_sha256 h;
	struct level_buf *lv;
	uint64_t size;
	/* the first level-0 tile that disagreed with its entry bundle */
	bool pending;
	char pending_tile[128], pending_bundle[128];
	uint64_t pending_index;
	struct pb_error *err;
};

static enum pb_status bad(struct verifier *v, const char *object, enum pb_status code,
                          struct pb_error *err, const char *fmt, ...) PB_PRINTF(5, 6);
static enum pb_status bad(struct verifier *v, const char *object, enum pb_status code,
                          struct pb_error *err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pb__strlcpy(v->res->bad_object, object, sizeof(v->res->bad_object));
	return pb__err(err, code, "%s: %s", object, msg);
}

/* A later failure after a level-0 mismatch: the tile that disagreed with its
 * entries did not agree with the tree either, so it is the first bad object. */
static enum pb_status pending_or(struct verifier *v, enum pb_status st)
{
	if (!st || !v->pending)
		return st;
	return bad(v, v->pending_tile, PB_EVERIFY, v->err,
	           "hash %llu does not match its entry, nor the tree above it",
	           (unsigned long long)(v->pending_index % W));
}

static enum pb_status read_obj(struct verifier *v, const char *rel, size_t limit, char **data,
                               size_t *len, struct pb_error *err)
{
	char *p = pb__path_join(v->dir, rel);
	if (!p)
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct pb_error e2 = { 0 };
	enum pb_status st = pb__read_file(p, limit, data, len, &e2);
	free(p);
	if (st == PB_ENOENT)
		return bad(v, rel, PB_EVERIFY, err, "missing (the tree of size %llu needs it)",
		           (unsigned long long)v->size);
	if (st == PB_ELIMIT)
		return bad(v, rel, PB_EVERIFY, err, "larger than any valid tile or bundle");
	if (st)
		return bad(v, rel, st, err, "%s", e2.message);
	return PB_OK;
}

/* Checks a hash tile file against the hashes we computed. At level 0 a
 * mismatch may be the entry bundle's fault as well as the tile's: the tile's
 * own hashes are then taken (copied into hashes) and the verdict waits for
 * the levels above and the signed root (see pending in struct verifier). */
static enum pb_status check_tile(struct verifier *v, unsigned level, uint64_t n,
                                 uint8_t (*hashes)[32], size_t count, struct pb_error *err)
{
	char rel[128];
	pb_tlog_tile_path((int)level, n, (unsigned)count, rel, sizeof(rel));
	char *data = NULL;
	size_t len = 0;
	enum pb_status st = read_obj(v, rel, W * 32, &data, &len, err);
	if (st)
		return st;
	if (len != count * 32) {
		st = bad(v, rel, PB_EVERIFY, err, "%zu bytes, expected %zu (%zu hashes)", len,
		         count * 32, count);
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		if (memcmp(data + i * 32, hashes[i], 32) != 0) {
			if (level == 0 && !v->pending) {
				v->pending = true;
				pb__strlcpy(v->pending_tile, rel, sizeof(v->pending_tile));
				pb_tlog_tile_path(-1, n, (unsigned)count, v->pending_bundle,
				                  sizeof(v->pending_bundle));
				v->pending_index = n * W + i;
				memcpy(hashes, data, count * 32);
				break;
			}
			st = pending_or(v, bad(v, rel, PB_EVERIFY, err,
			                       level == 0 ? "hash %zu does not match its entry"
			                                  : "hash %zu does not match the tiles below it",
			                       i));
			goto out;
		}
	v->res->tiles++;
out:
	free(data);
	return st;
}

static enum pb_status vlevel_push(struct verifier *v, unsigned l, const uint8_t hash[32],
                                  struct pb_error *err)
{
	if (l >= MAX_LEVELS)
		return PB_OK;
	struct level_buf *b = &v->lv[l];
	memcpy(b->hash[b->count++], hash, 32);
	if (b->count < W)
		return PB_OK;
	enum pb_status st = check_tile(v, l, b->full, b->hash, W, err);
	if (st)
		return st;
	uint8_t root[32];
	pb__hasher_root(&v->h, (const uint8_t(*)[32])b->hash, W, root);
	b->count = 0;
	b->full++;
	return vlevel_push(v, l + 1, root, err);
}

/* Parses a path under tile/ into (level or -1, n, width); false if it is not
 * a tile path. */
static bool parse_tile_rel(const char *rel, int *level, uint64_t *n, unsigned *width)
{
	const char *p = rel;
	if (strncmp(p, "entries/", 8) == 0) {
		*level = -1;
		p += 8;
	} else {
		if (*p < '0' || *p > '9')
			return false;
		char *end;
		long l = strtol(p, &end, 10);
		if (*end != '/' || l < 0 || l > 63 || (end - p > 1 && *p == '0'))
			return false;
		*level = (int)l;
		p = end + 1;
	}
	uint64_t v = 0;
	for (;;) {
		bool x = *p == 'x';
		if (x)
			p++;
		for (int i = 0; i < 3; i++, p++) {
			if (*p < '0' || *p > '9')
				return false;
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (x) {
			if (*p != '/')
				return false;
			p++;
			continue;
		}
		break;
	}
	*n = v;
	*width = W;
	if (*p == '\0')
		return true;
	if (strncmp(p, ".p/", 3) != 0)
		return false;
	p += 3;
	char *end;
	long w = strtol(p, &end, 10);
	if (*end || w < 1 || w > 255 || *p == '0')
		return false;
	*width = (unsigned)w;
	return true;
}

/* Every file under tile/ must be a tile of this tree or a superseded partial
 * version of one (C2SP allows those to linger). */
static enum pb_status check_files(struct verifier *v, const char *sub, struct pb_error *err)
{
	char *p = pb__path_join(v->dir, sub);
	if (!p)
		return pb__err(err, PB_ENOMEM, "out of memory");
	DIR *d = opendir(p);
	free(p);
	if (!d)
		return PB_OK; /* no tile folder: fine for an empty tree, else caught earlier */
	enum pb_status st = PB_OK;
	struct dirent *e;
	while (!st && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char rel[1024];
		if (!pb__snprintf(rel, sizeof(rel), "%s/%s", sub, e->d_name)) {
			st = bad(v, sub, PB_EVERIFY, err, "unexpected file with a very long name");
			break;
		}
		char *full = pb__path_join(v->dir, rel);
		struct stat sb;
		bool isdir = full && lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode);
		bool isreg = full && lstat(full, &sb) == 0 && S_ISREG(sb.st_mode);
		free(full);
		if (isdir) {
			st = check_files(v, rel, err);
			continue;
		}
		int level;
		uint64_t n;
		unsigned width;
		if (!isreg || !parse_tile_rel(rel + 5, &level, &n, &width)) {
			st = bad(v, rel, PB_EVERIFY, err, "unexpected file (not a tile of this log)");
			break;
		}
		uint64_t full_count;
		unsigned partial;
		pb_tlog_tile_counts(v->size, level, &full_count, &partial);
		bool ok = (width == W && n < full_count) ||
		          (width < W && n == full_count && width <= partial) ||
		          (width < W && n < full_count);
		if (!ok) {
			st = bad(v, rel, PB_EVERIFY, err,
			         "unexpected file: a tree of size %llu has no such tile",
			         (unsigned long long)v->size);
			break;
		}
	}
	closedir(d);
	return st;
}

/* Parses one entry bundle of exactly count entries; calls back for each. */
static enum pb_status check_bundle(struct verifier *v, uint64_t t, size_t count,
                                   uint8_t (*leaves)[32], struct pb_error *err)
{
	char rel[128];
	pb_tlog_tile_path(-1, t, (unsigned)count, rel, sizeof(rel));
	char *data = NULL;
	size_t len = 0;
	enum pb_status st = read_obj(v, rel, BUNDLE_MAX, &data, &len, err);
	if (st)
		return st;
	size_t off = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t index = t * W + i;
		if (len - off < 2) {
			st = bad(v, rel, PB_EVERIFY, err, "ends after %zu of %zu entries", i, count);
			goto out;
		}
		size_t el = (size_t)((uint8_t)data[off]) << 8 | (uint8_t)data[off + 1];
		off += 2;
		if (len - off < el) {
			st = bad(v, rel, PB_EVERIFY, err, "entry %llu is cut short",
			         (unsigned long long)index);
			goto out;
		}
		pb__hasher_leaf(&v->h, data + off, el, leaves[i]);
		if (v->o->check) {
			struct pb_str e = { data + off, el };
			struct pb_error e2 = { 0 };
			if ((st = v->o->check(v->o->check_ctx, index, &e, &e2)) != PB_OK) {
				st = bad(v, rel, PB_EVERIFY, err, "entry %llu: %s", (unsigned long long)index,
				         e2.message);
				goto out;
			}
		}
		off += el;
	}
	if (off != len) {
		st = bad(v, rel, PB_EVERIFY, err, "%zu bytes after the last of its %zu entries",
		         len - off, count);
		goto out;
	}
	v->res->bundles++;
out:
	free(data);
	return st;
}

static enum pb_status open_checkpoint(struct verifier *v, const char *obj, const char *msg,
                                      size_t len, struct pb_checkpoint *c, struct pb_error *err)
{
	struct pb_error e2 = { 0 };
	if (pb_checkpoint_open(msg, len, v->o->keys, v->o->nkeys, NULL, c, &e2) != PB_OK)
		return bad(v, obj, PB_EVERIFY, err, "%s", e2.message);
	return PB_OK;
}

enum pb_status pb_tlog_verify_dir(const char *dir, const struct pb_tlog_verify_options *opts,
                                  struct pb_tlog_verify_result *res, struct pb_error *err)
{
	memset(res, 0, sizeof(*res));
	struct verifier v = { .dir = dir, .o = opts, .res = res, .err = err };
	char *cp = NULL;
	uint8_t (*leaves)[32] = NULL;
	size_t cplen;
	enum pb_status st;
	if (!opts || opts->nkeys == 0)
		return pb__err(err, PB_EINVAL, "no verifier key given");
	if ((st = pb__sha256_init(&v.h)))
		return pb__err(err, st, "cannot set up SHA-256");
	v.lv = calloc(MAX_LEVELS, sizeof(*v.lv));
	leaves = malloc(W * 32);
	if (!v.lv || !leaves) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	v.size = 0;
	{
		struct stat sb;
		if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			st = pb__err(err, PB_ENOENT, "'%s' is not a folder", dir);
			goto out;
		}
	}
	if ((st = read_obj(&v, "checkpoint", PB_NOTE_MAX_SIZE, &cp, &cplen, err)))
		goto out;
	struct pb_checkpoint *c = &res->checkpoint;
	if ((st = open_checkpoint(&v, "checkpoint", cp, cplen, c, err)))
		goto out;
	if (opts->origin && strcmp(opts->origin, c->origin) != 0) {
		st = bad(&v, "checkpoint", PB_EVERIFY, err, "origin is '%s', expected '%s'", c->origin,
		         opts->origin);
		goto out;
	}
	v.size = c->size;
	struct pb_checkpoint old = { 0 };
	bool have_old = opts->since != NULL;
	if (have_old) {
		if ((st = open_checkpoint(&v, "earlier checkpoint", opts->since, opts->since_len, &old,
		                          err))) {
			if (err) /* the caller's argument: opts->since */
				pb__strlcpy(err->field, "since", sizeof(err->field));
			goto out;
		}
		res->since_size = old.size;
		if (strcmp(old.origin, c->origin) != 0) {
			st = bad(&v, "checkpoint", PB_EVERIFY, err,
			         "origin '%s' differs from the earlier checkpoint's '%s'", c->origin,
			         old.origin);
			goto out;
		}
		if (old.size > c->size) {
			st = bad(&v, "checkpoint", PB_EVERIFY, err,
			         "size %llu is smaller than the earlier checkpoint's %llu: the log was "
			         "rolled back or this is an old copy",
			         (unsigned long long)c->size, (unsigned long long)old.size);
			goto out;
		}
	}
	struct pb_tlog_range range, since_range;
	pb_tlog_range_init(&range);
	pb_tlog_range_init(&since_range);
	uint64_t ntiles = c->size / W + (c->size % W ? 1 : 0);
	double t0 = pb__mono();
	for (uint64_t t = 0; t < ntiles; t++) {
		size_t count = (size_t)(c->size - t * W < W ? c->size - t * W : W);
		if ((st = check_bundle(&v, t, count, leaves, err)))
			goto out;
		if ((st = check_tile(&v, 0, t, leaves, count, err)))
			goto out;
		uint64_t lo = t * W;
		if (count == W) {
			uint8_t root[32];
			pb__hasher_root(&v.h, (const uint8_t(*)[32])leaves, W, root);
			if ((st = pb_tlog_range_append_subtree(&range, 8, root, err)))
				goto out;
			if (have_old && lo + W <= old.size &&
			    (st = pb_tlog_range_append_subtree(&since_range, 8, root, err)))
				goto out;
			if ((st = vlevel_push(&v, 1, root, err)))
				goto out;
		} else {
			for (size_t i = 0; i < count; i++)
				pb_tlog_range_append(&range, leaves[i]);
		}
		if (have_old && lo < old.size && lo + W > old.size)
			for (size_t i = 0; lo + i < old.size && i < count; i++)
				pb_tlog_range_append(&since_range, leaves[i]);
		if (opts->progress && (t & 63) == 63) {
			struct pb_progress pr = { .items_done = (t + 1) * W,
			                          .elapsed = pb__mono() - t0 };
			if (!opts->progress(opts->progress_ctx, &pr)) {
				st = pb__err(err, PB_EINTR, "verification interrupted");
				goto out;
			}
		}
	}
	for (unsigned l = 1; l < MAX_LEVELS; l++)
		if (v.lv[l].count &&
		    (st = check_tile(&v, l, v.lv[l].full, v.lv[l].hash, v.lv[l].count, err)))
			goto out;
	uint8_t root[32];
	pb_tlog_range_root(&range, root);
	if (memcmp(root, c->root, 32) != 0) {
		if (v.pending) {
			st = pending_or(&v, PB_EVERIFY);
			goto out;
		}
		st = bad(&v, "checkpoint", PB_EVERIFY, err,
		         "root hash does not match the %llu entries in the tiles",
		         (unsigned long long)c->size);
		goto out;
	}
	if (have_old) {
		pb_tlog_range_root(&since_range, root);
		if (memcmp(root, old.root, 32) != 0) {
			st = bad(&v, "checkpoint", PB_EVERIFY, err,
			         "not consistent with the earlier checkpoint: the first %llu entries "
			         "hash to a different root (a forked or rewritten log)",
			         (unsigned long long)old.size);
			goto out;
		}
	}
	if (v.pending) {
		/* the tiles agree with the signed root: the entry is what changed */
		st = bad(&v, v.pending_bundle, PB_EVERIFY, err,
		         "entry %llu does not match the log (its hash differs from %s, which the "
		         "signed root confirms)",
		         (unsigned long long)v.pending_index, v.pending_tile);
		goto out;
	}
	if ((st = check_files(&v, "tile", err)))
		goto out;
out:
	free(cp);
	free(leaves);
	free(v.lv);
	pb__sha256_release(&v.h);
	return st;
}
