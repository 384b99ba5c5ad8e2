/* source.c - opening an input and streaming its decompressed bytes.
 *
 * gzip goes through ISA-L's inflate, which decompresses about 2.5 times faster
 * than zlib on this kind of machine (BENCH.md: ~1.5 GB/s against ~580 MB/s) and
 * so decides the gzip ingest rate; zstd through libzstd's streaming API. Both
 * accept concatenated members/frames. The raw bytes of a compressed input pass
 * through the tree hash as they are read (a plain input's tree is its
 * decompressed stream's, hashed by the ingest threads), and through the plain
 * SHA-256 only when asked for, so a file is read exactly once.
 */
#include "usage/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include "util/banned.h"

#define RAW_CAP (1u << 20)

const char *pb__compression_name(enum pb_compression c)
{
	switch (c) {
	case PB_COMP_GZIP:
		return "gzip";
	case PB_COMP_ZSTD:
		return "zstd";
	default:
		return "none";
	}
}

const char *pb__source_container(const struct pb_source *s)
{
	return s->parquet ? "parquet" : pb__compression_name(s->comp);
}

static enum pb_status read_raw(struct pb_source *s, void *buf, size_t cap, size_t *n,
                               struct pb_error *err)
{
	for (;;) {
		ssize_t r = read(s->fd, buf, cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return pb__err(err, PB_EIO, "cannot read '%s': %s", s->name,
			               pb__errno_text(errno));
		}
		*n = (size_t)r;
		if (r > 0) {
			if (s->hash_flat)
				pb__sha256_update(&s->sha, buf, (size_t)r);
			if (s->hash_tree)
				pb__mth_update(&s->raw_tree, buf, (size_t)r);
			s->raw_bytes += (uint64_t)r;
			if (s->tee_fd >= 0) {
				const char *p = buf;
				size_t left = (size_t)r;
				while (left) {
					ssize_t w = write(s->tee_fd, p, left);
					if (w < 0) {
						if (errno == EINTR)
							continue;
						return pb__err(err, PB_EIO, "cannot keep a copy of '%s': %s",
						               s->name, pb__errno_text(errno));
					}
					p += w;
					left -= (size_t)w;
				}
			}
		}
		return PB_OK;
	}
}

enum pb_status pb__source_open(struct pb_source *s, const char *path, int tee_fd,
                               struct pb_error *err)
{
	return pb__source_open_hashed(s, path, tee_fd, 0, false, err);
}

enum pb_status pb__source_open_hashed(struct pb_source *s, const char *path, int tee_fd,
                                      size_t tree_chunk, bool flat, struct pb_error *err)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->tee_fd = tee_fd;
	bool is_stdin = strcmp(path, "-") == 0;
	pb__strlcpy(s->name, is_stdin ? "(standard input)" : path, sizeof(s->name));
	if (is_stdin) {
		s->fd = STDIN_FILENO;
		struct stat sb;
		if (fstat(s->fd, &sb) == 0 && S_ISREG(sb.st_mode))
			s->size = (uint64_t)sb.st_size;
	} else {
		/* a named pipe would wait for a writer and a device may never end:
		 * only regular files are opened; a pipe is read as "-" */
		const char *what;
		int e = pb__open_regular(path, &s->fd, &s->size, &what);
		if (e == EISDIR)
			return pb__err(err, PB_EINVAL, "cannot read '%s': it is a folder", path);
		if (e < 0)
			return pb__err(err, PB_EINVAL,
			               "cannot read '%s': not a regular file (%s); not opened "
			               "(a pipe is read as '-', from standard input)",
			               path, what);
		if (e)
			return pb__err(err, pb__errno_status(e), "cannot open '%s': %s", path,
			               pb__errno_text(e));
		s->own_fd = true;
	}
#ifdef POSIX_FADV_SEQUENTIAL
	if (s->size)
		posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	enum pb_status st;
	/* read ahead the first bytes to recognise the format */
	while (s->head_len < sizeof(s->head)) {
		size_t n;
		if ((st = read_raw(s, s->head + s->head_len, sizeof(s->head) - s->head_len, &n,
		                   err))) {
			pb__source_close(s);
			return st;
		}
		if (n == 0)
			break;
		s->head_len += n;
	}
	const uint8_t *h = s->head;
	size_t hl = s->head_len;
	const char *refuse = NULL;
	if (hl >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		s->comp = PB_COMP_GZIP;
	else if (hl >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
		s->comp = PB_COMP_ZSTD;
	else if (hl >= 4 && memcmp(h, "PAR1", 4) == 0)
		s->parquet = true;
	else if (hl >= 4 && memcmp(h, "PK\x03\x04", 4) == 0)
		refuse = "is a zip archive; unzip it and ingest the CSV files inside";
	else if (hl >= 6 && memcmp(h, "\xfd" "7zXZ\x00", 6) == 0)
		refuse = "is xz-compressed; decompress it or recompress with gzip or zstd";
	else if (hl >= 3 && memcmp(h, "BZh", 3) == 0)
		refuse = "is bzip2-compressed; decompress it or recompress with gzip or zstd";
	if (refuse) {
		st = pb__err(err, PB_EFORMAT, "'%s' %s", s->name, refuse);
		pb__source_close(s);
		return st;
	}
	if (flat) {
		if (pb__sha256_init(&s->sha) != PB_OK)
			goto nomem;
		s->hash_flat = true;
		pb__sha256_update(&s->sha, s->head, s->head_len);
	}
	if (s->comp != PB_COMP_NONE) {
		pb__mth_init(&s->raw_tree, tree_chunk, false);
		s->hash_tree = true;
		pb__mth_update(&s->raw_tree, s->head, s->head_len);
		s->raw_cap = RAW_CAP;
		s->raw = malloc(s->raw_cap);
		if (!s->raw)
			goto nomem;
		memcpy(s->raw, s->head, s->head_len);
		s->raw_len = s->head_len;
		s->head_pos = s->head_len; /* consumed into raw */
	}
	if (s->comp == PB_COMP_GZIP) {
		struct inflate_state *g = malloc(sizeof(*g));
		if (!g)
			goto nomem;
		isal_inflate_init(g);
		g->crc_flag = ISAL_GZIP;
		s->gz = g;
	} else if (s->comp == PB_COMP_ZSTD) {
		s->zs = ZSTD_createDCtx();
		if (!s->zs)
			goto nomem;
	}
	return PB_OK;
nomem:
	pb__source_close(s);
	return pb__err(err, PB_ENOMEM, "out of memory");
}

/* Tops up the raw buffer; sets raw_eof at the end of the input. */
static enum pb_status fill_raw(struct pb_source *s, struct pb_error *err)
{
	if (s->raw_pos > 0 && s->raw_pos == s->raw_len)
		s->raw_pos = s->raw_len = 0;
	if (s->raw_pos > 0) {
		memmove(s->raw, s->raw + s->raw_pos, s->raw_len - s->raw_pos);
		s->raw_len -= s->raw_pos;
		s->raw_pos = 0;
	}
	if (s->raw_eof || s->raw_len == s->raw_cap)
		return PB_OK;
	size_t n;
	enum pb_status st = read_raw(s, s->raw + s->raw_len, s->raw_cap - s->raw_len, &n, err);
	if (st)
		return st;
	if (n == 0)
		s->raw_eof = true;
	s->raw_len += n;
	return PB_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static enum pb_status read_gzip(struct pb_source *s, char *buf, size_t cap, size_t *n,
                                struct pb_error *err)
{
	struct inflate_state *g = s->gz;
	*n = 0;
	while (*n == 0) {
		if (s->raw_pos == s->raw_len && !s->raw_eof) {
			enum pb_status st = fill_raw(s, err);
			if (st)
				return st;
		}
		if (g->block_state == ISAL_BLOCK_FINISH) {
			/* end of a member: another member may follow */
			if (s->raw_pos == s->raw_len) {
				if (s->raw_eof) {
					s->done = true;
					return PB_OK;
				}
				continue;
			}
			if (s->raw_eof && all_zero(s->raw + s->raw_pos, s->raw_len - s->raw_pos)) {
				s->raw_pos = s->raw_len; /* zero padding after the last member */
				continue;
			}
			isal_inflate_reset(g);
			g->crc_flag = ISAL_GZIP;
		}
		if (s->raw_pos == s->raw_len && s->raw_eof) {
			return pb__err(err, PB_EFORMAT,
			               "truncated gzip stream: '%s' ends inside compressed data "
			               "(after %llu bytes)",
			               s->name, (unsigned long long)s->raw_bytes);
		}
		g->next_in = s->raw + s->raw_pos;
		g->avail_in = (uint32_t)(s->raw_len - s->raw_pos);
		g->next_out = (uint8_t *)buf;
		g->avail_out = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
		int rc = isal_inflate(g);
		size_t used = (size_t)(g->next_in - (s->raw + s->raw_pos));
		s->raw_pos += used;
		*n = (size_t)((char *)g->next_out - buf);
		if (rc < 0) {
			const char *why = rc == ISAL_INCORRECT_CHECKSUM ? "CRC mismatch"
			                  : rc == ISAL_INVALID_WRAPPER  ? "bad gzip header"
			                                                : "corrupt deflate data";
			return pb__err(err, PB_EFORMAT, "corrupt gzip stream in '%s': %s (near byte %llu)",
			               s->name, why,
			               (unsigned long long)(s->raw_bytes - (s->raw_len - s->raw_pos)));
		}
		if (*n == 0 && used == 0 && g->block_state != ISAL_BLOCK_FINISH) {
			/* needs more input */
			if (s->raw_eof)
				return pb__err(err, PB_EFORMAT,
				               "truncated gzip stream: '%s' ends inside compressed data "
				               "(after %llu bytes)",
				               s->name, (unsigned long long)s->raw_bytes);
			enum pb_status st = fill_raw(s, err);
			if (st)
				return st;
		}
	}
	return PB_OK;
}

static enum pb_status read_zstd(struct pb_source *s, char *buf, size_t cap, size_t *n,
                                struct pb_error *err)
{
	*n = 0;
	while (*n == 0) {
		if (s->raw_pos == s->raw_len) {
			enum pb_status st = fill_raw(s, err);
			if (st)
				return st;
			if (s->raw_pos == s->raw_len && s->raw_eof) {
				if (s->zs_last != 0 || !s->zs_any)
					return pb__err(err, PB_EFORMAT,
					               "truncated zstd stream: '%s' ends inside a frame "
					               "(after %llu bytes)",
					               s->name, (unsigned long long)s->raw_bytes);
				s->done = true;
				return PB_OK;
			}
		}
		ZSTD_inBuffer in = { s->raw + s->raw_pos, s->raw_len - s->raw_pos, 0 };
		ZSTD_outBuffer out = { buf, cap, 0 };
		size_t r = ZSTD_decompressStream(s->zs, &out, &in);
		s->raw_pos += in.pos;
		*n = out.pos;
		if (ZSTD_isError(r))
			return pb__err(err, PB_EFORMAT, "corrupt zstd stream in '%s': %s", s->name,
			               ZSTD_getErrorName(r));
		s->zs_last = r;
		s->zs_any = true;
	}
	return PB_OK;
}

enum pb_status pb__source_read(struct pb_source *s, char *buf, size_t cap, size_t *n,
                               struct pb_error *err)
{
	*n = 0;
	if (s->done || cap == 0)
		return PB_OK;
	enum pb_status st = PB_OK;
	switch (s->comp) {
	case PB_COMP_NONE:
		if (s->head_pos < s->head_len) {
			size_t k = s->head_len - s->head_pos;
			if (k > cap)
				k = cap;
			memcpy(buf, s->head + s->head_pos, k);
			s->head_pos += k;
			*n = k;
			break;
		}
		st = read_raw(s, buf, cap, n, err);
		if (!st && *n == 0)
			s->done = true;
		break;
	case PB_COMP_GZIP:
		st = read_gzip(s, buf, cap, n, err);
		break;
	case PB_COMP_ZSTD:
		st = read_zstd(s, buf, cap, n, err);
		break;
	}
	s->out_bytes += *n;
	return st;
}

enum pb_status pb__source_hash_rest(struct pb_source *s, struct pb_error *err)
{
	char buf[65536];
	size_t n;
	enum pb_status st;
	do
		st = read_raw(s, buf, sizeof(buf), &n, err);
	while (st == PB_OK && n > 0);
	return st;
}

void pb__source_digest(struct pb_source *s, uint8_t out[32])
{
	pb__sha256_final(&s->sha, out);
	s->hash_flat = false;
}

enum pb_status pb__source_tree_root(struct pb_source *s, uint8_t out[32])
{
	return pb__mth_final(&s->raw_tree, out);
}

void pb__source_close(struct pb_source *s)
{
	if (s->own_fd && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	pb__sha256_release(&s->sha);
	pb__mth_release(&s->raw_tree);
	free(s->raw);
	s->raw = NULL;
	free(s->gz);
	s->gz = NULL;
	if (s->zs)
		ZSTD_freeDCtx(s->zs);
	s->zs = NULL;
}
