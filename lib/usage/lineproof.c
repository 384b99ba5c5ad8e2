/* lineproof.c - line proofs: the chunks of a source's decompressed stream that
 * hold cited lines, with their inclusion proofs in the stream's tree hash,
 * and their check with nothing but the bundle and the root (docs/ingest.md,
 * "Line proofs").
 *
 * A bundle is a folder: manifest.json and one file per chunk. The manifest
 * says, per source, its trees, the number of leaves, each chunk's index,
 * file and proof, and each cited range's lines and byte offsets [start, end)
 * in the stream. The check proves the chunks belong to the tree and that each
 * range lies in them, starts at a line start and ends at a line end; it does
 * not prove line numbers (counting lines needs every byte before them). */
#include "usage/usage_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

#define PROOF_FORMAT "probity-line-proof/1"
#define MAX_CHUNK_FILES 100000

/* ===================================================================== */
/* proving                                                               */
/* ===================================================================== */

struct span {
	uint64_t start, end;
};

enum { SEEK_START, SEEK_HI, IN_RECORD, DONE };

/* Pass 1: the byte offsets of each range (sorted, disjoint) in the stream:
 * from the start of line lo to the end of the record that starts on line hi
 * (a quoted field may hold line breaks: the record ends at the first line
 * break after an even number of quotes). */
static enum pb_status find_spans(const char *path, const struct pb__line_range *r, size_t nr,
                                 struct span *sp, struct pb_error *err)
{
	struct pb_source s;
	enum pb_status st = pb__source_open(&s, path, -1, err);
	if (st)
		return st;
	char *buf = malloc(1u << 20);
	if (!buf) {
		pb__source_close(&s);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	uint64_t line = 1, base = 0;
	bool at_start = true, quotes = false;
	size_t i = 0;
	int state = nr ? SEEK_START : DONE;
	while (state != DONE) {
		size_t n;
		if ((st = pb__source_read(&s, buf, 1u << 20, &n, err)))
			break;
		if (n == 0)
			break;
		const char *p = buf, *e = buf + n;
		while (p < e && state != DONE) {
			if (state != IN_RECORD) {
				uint64_t target = state == SEEK_START ? r[i].lo : r[i].hi;
				if (at_start && line >= target) {
					if (state == SEEK_START)
						sp[i].start = base + (uint64_t)(p - buf);
					state = state == SEEK_START && r[i].hi > line ? SEEK_HI : IN_RECORD;
					quotes = false;
					continue;
				}
				const char *nl = memchr(p, '\n', (size_t)(e - p));
				if (!nl) {
					p = e;
					at_start = false;
					break;
				}
				p = nl + 1;
				line++;
				at_start = true;
				continue;
			}
			char c = *p++;
			at_start = false;
			if (c == '"') {
				quotes = !quotes;
			} else if (c == '\n') {
				line++;
				at_start = true;
				if (!quotes) {
					sp[i].end = base + (uint64_t)(p - buf);
					state = ++i < nr ? SEEK_START : DONE;
				}
			}
		}
		base += n;
	}
	free(buf);
	pb__source_close(&s);
	if (st)
		return st;
	if (state == SEEK_HI || state == IN_RECORD) { /* the last line has no line break */
		sp[i].end = base;
		state = ++i < nr ? SEEK_START : DONE;
	}
	if (state != DONE)
		return pb__err(err, PB_EVERIFY,
		               "cited line %llu is beyond the end of '%s' (%llu lines): has it changed?",
		               (unsigned long long)r[i].lo, path, (unsigned long long)line);
	return PB_OK;
}

/* The perfect subtrees of a tree, level by level (level 0: the leaves), so
 * that each proof costs lookups only. */
struct leaves {
	const uint8_t (*l)[32];
	uint64_t n;
	uint8_t (*lv[64])[32];
	unsigned nlv;
};

static enum pb_status levels_build(struct leaves *v)
{
	v->nlv = 0;
	const uint8_t (*below)[32] = v->l;
	for (uint64_t m = v->n / 2; m > 0; m /= 2) {
		uint8_t (*h)[32] = malloc(m * 32);
		if (!h)
			return PB_ENOMEM;
		for (uint64_t i = 0; i < m; i++)
			pb_tlog_node_hash(below[2 * i], below[2 * i + 1], h[i]);
		v->lv[v->nlv++] = h;
		below = (const uint8_t(*)[32])h;
	}
	return PB_OK;
}

static void levels_free(struct leaves *v)
{
	for (unsigned i = 0; i < v->nlv; i++)
		free(v->lv[i]);
	v->nlv = 0;
}

static enum pb_status subtree(void *ctx, unsigned level, uint64_t index, uint8_t out[32],
                              struct pb_error *err)
{
	const struct leaves *v = ctx;
	if (level == 0 && index < v->n) {
		memcpy(out, v->l[index], 32);
		return PB_OK;
	}
	if (level >= 1 && level <= v->nlv && index < (v->n >> level)) {
		memcpy(out, v->lv[level - 1][index], 32);
		return PB_OK;
	}
	return pb__err(err, PB_EINVAL, "internal error: no subtree %u/%llu", level,
	               (unsigned long long)index);
}

/* A new file of the bundle (not synced: the bundle is an export, whose
 * manifest is written last). */
static enum pb_status write_new(const char *path, const void *p, size_t n, struct pb_error *err)
{
	FILE *f = fopen(path, "wbx");
	if (!f)
		return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", path,
		               pb__errno_text(errno));
	bool ok = fwrite(p, 1, n, f) == n;
	if (fclose(f) != 0 || !ok)
		return pb__err(err, PB_EIO, "cannot write '%s'", path);
	return PB_OK;
}

/* Pass 2: the needed chunks (need[k]) of the stream, each checked against
 * its stored leaf hash, written as files and described with their proofs. */
static enum pb_status write_chunks(const char *path, size_t chunk, const struct leaves *lv,
                                   const bool *need, const char *dir, const char *prefix,
                                   json_t *chunks, struct pb_error *err)
{
	uint64_t last = 0;
	for (uint64_t k = 0; k < lv->n; k++)
		if (need[k])
			last = k;
	struct pb_source s;
	enum pb_status st = pb__source_open(&s, path, -1, err);
	if (st)
		return st;
	char *buf = malloc(chunk);
	if (!buf) {
		pb__source_close(&s);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	for (uint64_t k = 0; k <= last && !st; k++) {
		size_t len = 0, n = 1;
		while (len < chunk && n && !(st = pb__source_read(&s, buf + len, chunk - len, &n, err)))
			len += n;
		if (st || !need[k])
			continue;
		uint8_t h[32];
		pb__mth_leaf(buf, len, h);
		if (len == 0 || memcmp(h, lv->l[k], 32) != 0) {
			st = pb__err(err, PB_EVERIFY,
			             "'%s' has changed since it was ingested: chunk %llu differs", path,
			             (unsigned long long)k);
			break;
		}
		char name[96], *file;
		snprintf(name, sizeof(name), "%schunk-%llu.bin", prefix, (unsigned long long)k);
		if (!(file = pb__path_join(dir, name))) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		st = write_new(file, buf, len, err);
		free(file);
		uint8_t proof[PB_TLOG_MAX_PROOF][32];
		size_t np = 0;
		if (st || (st = pb_tlog_prove_inclusion(k, lv->n, subtree, (void *)lv, proof, &np, err)))
			break;
		json_t *pa = json_array();
		for (size_t i = 0; i < np; i++) {
			char hex[65];
			pb_hex(proof[i], 32, hex);
			json_array_append_new(pa, json_string(hex));
		}
		json_array_append_new(chunks, json_pack("{s:I, s:s, s:I, s:o}", "index", (json_int_t)k,
		                                        "file", name, "bytes", (json_int_t)len,
		                                        "proof", pa));
	}
	free(buf);
	pb__source_close(&s);
	return st;
}

enum pb_status pb__usage_prove_lines(struct pb_ws *ws, const char *sha,
                                     const struct pb__line_range *r, size_t nr, const char *dir,
                                     const char *prefix, void *src, struct pb_error *err)
{
	json_t *so = src;
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT coalesce(path, name), name, tree, data_tree, "
	                                   "data_leaves FROM source WHERE sha256 = ?1",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_text(q, 1, sha, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return pb__err(err, PB_ENOENT, "no source %.16s... in the workspace", sha);
	}
	char path[4096], name[256], tree[PB_TREE_ID_LEN], data_tree[PB_TREE_ID_LEN];
	pb__col_text(q, 0, path, sizeof(path));
	pb__col_text(q, 1, name, sizeof(name));
	pb__col_text(q, 2, tree, sizeof(tree));
	pb__col_text(q, 3, data_tree, sizeof(data_tree));
	size_t chunk = 0, nb = (size_t)sqlite3_column_bytes(q, 4);
	uint8_t root[32];
	uint8_t (*lv)[32] = NULL;
	if (!pb__mth_parse_id(data_tree, &chunk, root) || nb % 32 || nb == 0) {
		sqlite3_finalize(q);
		return pb__err(err, PB_EINVAL,
		               "source '%s' has no tree hash (it was ingested before probity "
		               "recorded one): its lines cannot be proven",
		               name);
	}
	lv = malloc(nb);
	if (lv)
		memcpy(lv, sqlite3_column_blob(q, 4), nb);
	sqlite3_finalize(q);
	struct leaves L = { .l = (const uint8_t(*)[32])lv, .n = nb / 32 };
	uint8_t check[32];
	struct span *sp = calloc(nr ? nr : 1, sizeof(*sp));
	bool *need = calloc(L.n, sizeof(*need));
	if (!lv || !sp || !need) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	pb__mth_root(L.l, L.n, check);
	if (memcmp(check, root, 32) != 0) {
		st = pb__err(err, PB_EVERIFY, "source '%s': its stored leaves do not make its tree",
		             name);
		goto out;
	}
	if (levels_build(&L) != PB_OK) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	if ((st = find_spans(path, r, nr, sp, err)))
		goto out;
	json_t *ranges = json_array(), *chunks = json_array();
	json_object_set_new(so, "name", json_string(name));
	json_object_set_new(so, "tree", json_string(tree));
	json_object_set_new(so, "data_tree", json_string(data_tree));
	json_object_set_new(so, "chunk", json_integer((json_int_t)chunk));
	json_object_set_new(so, "leaves", json_integer((json_int_t)L.n));
	json_object_set_new(so, "ranges", ranges);
	json_object_set_new(so, "chunks", chunks);
	for (size_t i = 0; i < nr; i++) {
		char lines[48];
		snprintf(lines, sizeof(lines), "%llu-%llu", (unsigned long long)r[i].lo,
		         (unsigned long long)r[i].hi);
		json_array_append_new(ranges, json_pack("{s:s, s:I, s:I}", "lines", lines, "start",
		                                        (json_int_t)sp[i].start, "end",
		                                        (json_int_t)sp[i].end));
		for (uint64_t k = sp[i].start / chunk; sp[i].end > sp[i].start && k < L.n &&
		                                       k <= (sp[i].end - 1) / chunk;
		     k++)
			need[k] = true;
	}
	st = write_chunks(path, chunk, &L, need, dir, prefix, chunks, err);
out:
	levels_free(&L);
	free(lv);
	free(sp);
	free(need);
	return st;
}

/* ===================================================================== */
/* checking                                                              */
/* ===================================================================== */

/* A file name of the bundle: letters, digits, '.', '-', '_'; not hidden. */
static bool safe_name(const char *s)
{
	if (!s || !*s || *s == '.' || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

static bool get_u64(json_t *o, const char *k, uint64_t *v)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return false;
	*v = (uint64_t)json_integer_value(x);
	return true;
}

static bool unhex32(const char *s, uint8_t out[32])
{
	return s && pb_unhex(s, strlen(s), out, 32);
}

struct got {
	uint64_t k;
	struct pb_buf b;
};

static const struct got *find_chunk(const struct got *g, size_t n, uint64_t k)
{
	for (size_t i = 0; i < n; i++)
		if (g[i].k == k)
			return &g[i];
	return NULL;
}

/* One chunk of source sname: its bytes, their length, its proof to root. */
static enum pb_status check_chunk(json_t *c, const char *sname, size_t chunk, uint64_t n,
                                  const uint8_t root[32], pb_line_proof_chunk_fn fn, void *ctx,
                                  struct got *g, struct pb_error *err)
{
	uint64_t k;
	const char *file = json_string_value(json_object_get(c, "file"));
	json_t *pa = json_object_get(c, "proof");
	if (!get_u64(c, "index", &k) || k >= n || !safe_name(file) || !json_is_array(pa) ||
	    json_array_size(pa) > PB_TLOG_MAX_PROOF)
		return pb__err(err, PB_EFORMAT,
		               "source '%s': a chunk has no valid index (below %llu), file or proof",
		               sname, (unsigned long long)n);
	uint8_t proof[PB_TLOG_MAX_PROOF][32];
	size_t np = json_array_size(pa);
	for (size_t i = 0; i < np; i++)
		if (!unhex32(json_string_value(json_array_get(pa, i)), proof[i]))
			return pb__err(err, PB_EFORMAT,
			               "source '%s', chunk %llu: proof hash %zu is not 64 hex digits",
			               sname, (unsigned long long)k, i + 1);
	g->k = k;
	if (!fn(ctx, file, &g->b))
		return pb__err(err, PB_EVERIFY, "source '%s': chunk %llu ('%s') is not in the bundle",
		               sname, (unsigned long long)k, file);
	size_t len = g->b.len;
	if (len == 0 || len > chunk || (k + 1 < n && len != chunk))
		return pb__err(err, PB_EVERIFY,
		               "source '%s': chunk %llu ('%s') has %zu bytes; a chunk has %zu (the "
		               "last one 1 to %zu)",
		               sname, (unsigned long long)k, file, len, chunk, chunk);
	uint8_t leaf[32];
	pb__mth_leaf(g->b.data, len, leaf);
	struct pb_error e2 = { 0 };
	if (pb_tlog_verify_inclusion(k, n, leaf, (const uint8_t(*)[32])proof, np, root, &e2))
		return pb__err(err, PB_EVERIFY,
		               "source '%s': chunk %llu ('%s') is not in the tree with this root: %s",
		               sname, (unsigned long long)k, file, e2.message);
	return PB_OK;
}

/* One range: inside the chunks given, from a line start to a line end. */
static enum pb_status check_range(json_t *rg, const char *sname, size_t chunk, uint64_t n,
                                  const struct got *g, size_t ng, json_t *out,
                                  struct pb_error *err)
{
	const char *lines = json_string_value(json_object_get(rg, "lines"));
	unsigned long long lo, hi;
	uint64_t start, end;
	int used = 0;
	if (!lines || sscanf(lines, "%llu-%llu%n", &lo, &hi, &used) != 2 || lines[used] ||
	    lo == 0 || hi < lo || !get_u64(rg, "start", &start) || !get_u64(rg, "end", &end) ||
	    end <= start)
		return pb__err(err, PB_EFORMAT,
		               "source '%s': a range has no valid lines (\"A-B\") or offsets "
		               "(start < end)",
		               sname);
	uint64_t lf = 0;
	for (uint64_t k = start / chunk; k <= (end - 1) / chunk; k++) {
		const struct got *c = k < n ? find_chunk(g, ng, k) : NULL;
		if (!c)
			return pb__err(err, PB_EVERIFY,
			               "source '%s': lines %s (bytes %llu-%llu) are outside the chunks of "
			               "the bundle (chunk %llu is not there)",
			               sname, lines, (unsigned long long)start, (unsigned long long)end,
			               (unsigned long long)k);
		uint64_t c0 = k * chunk;
		uint64_t a = start > c0 ? start - c0 : 0, b = end - c0 < c->b.len ? end - c0 : c->b.len;
		if (end - c0 > c->b.len && k + 1 >= n)
			return pb__err(err, PB_EVERIFY,
			               "source '%s': lines %s end at byte %llu, past the end of the stream",
			               sname, lines, (unsigned long long)end);
		for (uint64_t i = a; i < b; i++)
			lf += c->b.data[i] == '\n';
	}
	const struct got *first = find_chunk(g, ng, start / chunk);
	const struct got *prev = start ? find_chunk(g, ng, (start - 1) / chunk) : NULL;
	const struct got *lastc = find_chunk(g, ng, (end - 1) / chunk);
	char before = prev ? prev->b.data[(start - 1) % chunk] : '\n';
	char last = lastc->b.data[(end - 1) % chunk];
	bool stream_end = (end - 1) / chunk + 1 == n && (end - 1) % chunk + 1 == lastc->b.len;
	(void)first;
	if (before != '\n' || (last != '\n' && !stream_end))
		return pb__err(err, PB_EVERIFY,
		               "source '%s': bytes %llu-%llu of lines %s are not whole lines", sname,
		               (unsigned long long)start, (unsigned long long)end, lines);
	if (lf + (last != '\n') < hi - lo + 1)
		return pb__err(err, PB_EVERIFY,
		               "source '%s': bytes %llu-%llu hold %llu lines, fewer than lines %s",
		               sname, (unsigned long long)start, (unsigned long long)end,
		               (unsigned long long)(lf + (last != '\n')), lines);
	json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "lines", lines, "start",
	                                     (json_int_t)start, "end", (json_int_t)end));
	return PB_OK;
}

/* One source of the bundle, proven against root. */
static enum pb_status check_source(json_t *so, size_t chunk, const uint8_t root[32],
                                   pb_line_proof_chunk_fn fn, void *ctx, json_t *out,
                                   struct pb_error *err)
{
	const char *sname = json_string_value(json_object_get(so, "name"));
	json_t *chunks = json_object_get(so, "chunks"), *ranges = json_object_get(so, "ranges");
	uint64_t n;
	if (!sname)
		sname = "?";
	if (!get_u64(so, "leaves", &n) || n == 0 || !json_is_array(chunks) ||
	    !json_is_array(ranges) || json_array_size(chunks) > MAX_CHUNK_FILES)
		return pb__err(err, PB_EFORMAT,
		               "source '%s': the manifest lacks its leaves, chunks or ranges", sname);
	size_t ng = json_array_size(chunks);
	struct got *g = calloc(ng ? ng : 1, sizeof(*g));
	if (!g)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < ng; i++)
		pb_buf_init(&g[i].b, PB_TREE_CHUNK_MAX + 1);
	for (size_t i = 0; i < ng && !st; i++)
		st = check_chunk(json_array_get(chunks, i), sname, chunk, n, root, fn, ctx, &g[i], err);
	json_t *rs = json_array();
	for (size_t i = 0; i < json_array_size(ranges) && !st; i++)
		st = check_range(json_array_get(ranges, i), sname, chunk, n, g, ng, rs, err);
	json_array_append_new(out, json_pack("{s:s, s:I, s:o}", "name", sname, "chunks",
	                                     (json_int_t)ng, "ranges", rs));
	for (size_t i = 0; i < ng; i++)
		pb_buf_release(&g[i].b);
	free(g);
	return st;
}

enum pb_status pb_line_proof_check_text(const char *manifest, size_t len, const char *root_id,
                                        pb_line_proof_chunk_fn fn, void *ctx, char **json,
                                        struct pb_error *err)
{
	*json = NULL;
	size_t chunk;
	uint8_t root[32];
	if (!pb__mth_parse_id(root_id, &chunk, root)) {
		pb__err(err, PB_EINVAL, "'%s' is not a tree hash root (mth-sha256:CHUNK:HEX)",
		        root_id ? root_id : "");
		if (err)
			pb__strlcpy(err->field, "source_root", sizeof(err->field));
		return PB_EINVAL;
	}
	json_error_t je;
	json_t *doc = json_loadb(manifest, len, JSON_REJECT_DUPLICATES, &je);
	json_t *sources = json_object_get(doc, "sources");
	const char *fmt = json_string_value(json_object_get(doc, "format"));
	if (!doc || !fmt || strcmp(fmt, PROOF_FORMAT) != 0 || !json_is_array(sources)) {
		json_decref(doc);
		return pb__err(err, PB_EFORMAT, "not a line-proof bundle (%s): %s", PROOF_FORMAT,
		               doc ? "no format or sources" : je.text);
	}
	json_t *out = json_array(), *trees = json_array();
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < json_array_size(sources) && !st; i++) {
		json_t *so = json_array_get(sources, i);
		const char *t = json_string_value(json_object_get(so, "data_tree"));
		if (t && !strcmp(t, root_id))
			st = check_source(so, chunk, root, fn, ctx, out, err);
		else
			json_array_append_new(trees, json_string(t ? t : "?"));
	}
	if (!st && json_array_size(out) == 0) {
		char *ts = json_dumps(trees, JSON_COMPACT);
		st = pb__err(err, PB_EVERIFY,
		             "the bundle proves nothing against '%s': its sources have the trees %s",
		             root_id, ts ? ts : "?");
		free(ts);
	}
	if (!st) {
		json_t *rep = json_pack("{s:s, s:O, s:b}", "root", root_id, "sources", out,
		                        "verified", 1);
		*json = json_dumps(rep, JSON_COMPACT);
		json_decref(rep);
		if (!*json)
			st = pb__err(err, PB_ENOMEM, "out of memory");
	}
	json_decref(out);
	json_decref(trees);
	json_decref(doc);
	return st;
}

struct dirctx {
	const char *dir;
	size_t limit;
};

static bool read_chunk(void *ctx, const char *name, struct pb_buf *out)
{
	const struct dirctx *d = ctx;
	char *p = pb__path_join(d->dir, name), *data = NULL;
	size_t n = 0;
	bool ok = p && pb__read_regular_file(p, d->limit, &data, &n, NULL) == PB_OK &&
	          pb_buf_add(out, data, n) == PB_OK;
	free(p);
	free(data);
	return ok;
}

enum pb_status pb_line_proof_check(const char *dir, const char *root, char **json,
                                   struct pb_error *err)
{
	*json = NULL;
	char *mp = pb__path_join(dir, "manifest.json"), *text = NULL;
	size_t n = 0;
	if (!mp)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = pb__read_regular_file(mp, 64u << 20, &text, &n, err);
	free(mp);
	if (st)
		return st;
	struct dirctx d = { dir, PB_TREE_CHUNK_MAX };
	st = pb_line_proof_check_text(text, n, root, read_chunk, &d, json, err);
	free(text);
	return st;
}
