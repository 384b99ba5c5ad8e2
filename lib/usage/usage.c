/* usage.c - the ingest pipeline: read, check, aggregate, store.
 *
 * The calling thread reads the input (decompressing and hashing it once),
 * cuts it into chunks of whole CSV records and queues them; worker threads
 * parse and check the records of a chunk and add each accepted row to their
 * own aggregate table, keyed by the raw bytes of the row's key fields and its
 * day. The reader parses chunks itself when the queue is full, so every thread
 * stays busy whichever side is slower. Results of a chunk (counts, rejected
 * rows) are collected in chunk order, so the rejects file lists rows in file
 * order whatever the threads did.
 *
 * Nothing touches the workspace until the whole input has been read. Then one
 * SQLite transaction maps the aggregates through the catalog (region ->
 * country, service + meter -> capability, unit -> normalised unit), turns
 * customer-chosen names into keyed pseudonyms, and writes the source, its
 * aggregates, warnings, rejects and accounts. A failure or a crash before the
 * commit leaves the workspace as it was; the rejects file and the copy of a
 * piped input are created unnamed (O_TMPFILE) and linked into place only then.
 *
 * Sums are exact: pb_dec, 128-bit integers of 10^-15 units (docs/ingest.md).
 */
#include "probity.h"
#include "usage/catalog.h"
#include "usage/csv.h"
#include "usage/focus.h"
#include "util/hmap.h"
#include "usage/source.h"
#include "store/store.h"
#include "usage/usage.h"
#include "auth/auth.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

#define DEFAULT_MAX_RECORD (1u << 20)
#define DEFAULT_CHUNK (4u << 20)
#define MAX_FIELDS 4096
#define KEY_FIELD_MAX 1024

/* ===================================================================== */
/* aggregate key                                                         */
/* ===================================================================== */

enum kfield {
	K_ACCOUNT, K_ACCOUNT_NAME, K_SUB, K_SUB_NAME, K_PROVIDER, K_CATEGORY, K_SUBCATEGORY,
	K_SERVICE, K_METER, K_REGION, K_REGION_NAME, K_UNIT, K_CHARGE_CATEGORY, K_CURRENCY,
	K_COUNT
};

#define KEY_MAX (4 + K_COUNT * (2 + KEY_FIELD_MAX))

/* Key bytes: int32 day, then per field a uint16 length and the bytes. */
static size_t build_key(char *kb, int32_t day, const struct pb_focus_row *r)
{
	const struct pb_str *f[K_COUNT] = {
		[K_ACCOUNT] = &r->account,     [K_ACCOUNT_NAME] = &r->account_name,
		[K_SUB] = &r->subaccount,      [K_SUB_NAME] = &r->subaccount_name,
		[K_PROVIDER] = &r->provider,   [K_CATEGORY] = &r->category,
		[K_SUBCATEGORY] = &r->subcategory, [K_SERVICE] = &r->service,
		[K_METER] = &r->sku_meter,     [K_REGION] = &r->region,
		[K_REGION_NAME] = &r->region_name, [K_UNIT] = &r->unit,
		[K_CHARGE_CATEGORY] = &r->charge_category, [K_CURRENCY] = &r->currency,
	};
	memcpy(kb, &day, 4);
	size_t o = 4;
	for (int i = 0; i < K_COUNT; i++) {
		uint16_t l = (uint16_t)f[i]->len;
		memcpy(kb + o, &l, 2);
		o += 2;
		if (l)
			memcpy(kb + o, f[i]->ptr, l);
		o += l;
	}
	return o;
}

static void decode_key(const char *k, int32_t *day, struct pb_str out[K_COUNT])
{
	memcpy(day, k, 4);
	size_t o = 4;
	for (int i = 0; i < K_COUNT; i++) {
		uint16_t l;
		memcpy(&l, k + o, 2);
		o += 2;
		out[i] = pb_str_of(l ? k + o : NULL, l);
		o += l;
	}
}

static inline uint64_t hash_key(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return h;
}

/* ===================================================================== */
/* aggregate table                                                       */
/* ===================================================================== */

struct agg {
	uint64_t hash;
	size_t koff;
	uint32_t klen;
	pb_dec q, billed, eff, list;
	uint64_t rows, first, last;
};

struct aggtab {
	struct agg *v;
	size_t n, cap;
	uint32_t *slot;  /* index + 1; 0 = empty */
	size_t nslots;   /* power of two */
	char *keys;
	size_t klen, kcap;
};

static void aggtab_release(struct aggtab *t)
{
	free(t->v);
	free(t->slot);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

static bool aggtab_grow_slots(struct aggtab *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *s = calloc(ns, sizeof(*s));
	if (!s)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = t->v[i].hash & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = s;
	t->nslots = ns;
	return true;
}

/* Finds or adds the aggregate of key kb[0..kl); NULL when out of memory. */
static struct agg *aggtab_get(struct aggtab *t, const char *kb, size_t kl, uint64_t h)
{
	if ((t->n + 1) * 2 > t->nslots && !aggtab_grow_slots(t))
		return NULL;
	size_t mask = t->nslots - 1;
	size_t j = h & mask;
	for (;;) {
		uint32_t s = t->slot[j];
		if (!s)
			break;
		struct agg *a = &t->v[s - 1];
		if (a->hash == h && a->klen == kl && memcmp(t->keys + a->koff, kb, kl) == 0)
			return a;
		j = (j + 1) & mask;
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		struct agg *v = realloc(t->v, nc * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		t->cap = nc;
	}
	if (t->klen + kl > t->kcap) {
		size_t nc = t->kcap ? t->kcap * 2 : 65536;
		while (nc < t->klen + kl)
			nc *= 2;
		char *k = realloc(t->keys, nc);
		if (!k)
			return NULL;
		t->keys = k;
		t->kcap = nc;
	}
	memcpy(t->keys + t->klen, kb, kl);
	struct agg *a = &t->v[t->n];
	memset(a, 0, sizeof(*a));
	a->hash = h;
	a->koff = t->klen;
	a->klen = (uint32_t)kl;
	a->first = UINT64_MAX;
	t->klen += kl;
	t->slot[j] = (uint32_t)++t->n;
	return a;
}

/* Adds src's sums into dst; false on overflow. */
static bool agg_merge(struct agg *dst, const struct agg *src)
{
	struct agg t = *dst;
	if (!pb__dec_add(&t.q, src->q) || !pb__dec_add(&t.billed, src->billed) ||
	    !pb__dec_add(&t.eff, src->eff) || !pb__dec_add(&t.list, src->list))
		return false;
	t.rows += src->rows;
	if (src->first < t.first)
		t.first = src->first;
	if (src->last > t.last)
		t.last = src->last;
	*dst = t;
	return true;
}

/* ===================================================================== */
/* chunks, workers                                                       */
/* ===================================================================== */

struct rej {
	uint64_t line;
	uint32_t field;
	size_t reason_off; /* into chunk->reasons */
};

enum { CH_FREE, CH_FILLING, CH_QUEUED, CH_BUSY, CH_DONE };

struct chunk {
	char *buf;
	size_t cap;
	size_t off, len;   /* records are buf[off..len) */
	uint64_t line0;
	uint64_t seq;
	int state;
	uint64_t rows, accepted, rejected, warned, blank;
	struct pb_buf rej_csv;   /* lines of the rejects file */
	struct pb_buf reasons;   /* NUL-terminated reasons */
	struct rej *rej;
	size_t nrej, caprej;
	bool failed;        /* out of memory */
	uint64_t too_long;  /* line of a record over max_record, or 0 */
};

struct ingest;

struct worker {
	struct ingest *in;
	pthread_t th;
	bool started;
	struct aggtab tab;
	struct pb_focus_ctx fx;
	struct pb_csv_field *fields;
	char *kb;
	uint64_t overflow_rows;
};

struct ingest {
	const struct pb_catalog *cat;
	struct pb_focus_map map;
	char **colnames;
	size_t ncolnames;
	size_t max_record;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;  /* a chunk was queued, or stop */
	pthread_cond_t cv_done;  /* a chunk finished */
	struct chunk *chunks;
	size_t nchunks;
	struct chunk **queue;    /* ring of queued chunks */
	size_t qhead, qlen;
	bool stop;
	struct worker *workers;  /* [0] is the calling thread */
	unsigned nworkers;
	bool oom;
	const char *actor;       /* --as, or NULL for the workspace default */
	/* recompute mode (pb__usage_recompute): no workspace writes */
	pb__usage_agg_fn recompute;
	void *recompute_ctx;
};

static bool rej_add(struct chunk *ch, uint64_t line, uint32_t field, const char *reason,
                    const char *rec, size_t rec_len, const char *colname)
{
	if (ch->nrej == ch->caprej) {
		size_t nc = ch->caprej ? ch->caprej * 2 : 64;
		struct rej *r = realloc(ch->rej, nc * sizeof(*r));
		if (!r)
			return false;
		ch->rej = r;
		ch->caprej = nc;
	}
	struct rej *r = &ch->rej[ch->nrej++];
	r->line = line;
	r->field = field;
	r->reason_off = ch->reasons.len;
	if (pb_buf_add(&ch->reasons, reason, strlen(reason) + 1))
		return false;
	/* rejects file: line,column,reason,record (original bytes, CSV-quoted) */
	while (rec_len && (rec[rec_len - 1] == '\n' || rec[rec_len - 1] == '\r'))
		rec_len--;
	enum pb_status st = pb_buf_printf(&ch->rej_csv, "%llu,", (unsigned long long)line);
	if (!st)
		st = pb_buf_csv_field(&ch->rej_csv, colname, strlen(colname));
	if (!st)
		st = pb_buf_addc(&ch->rej_csv, ',');
	if (!st)
		st = pb_buf_csv_field(&ch->rej_csv, reason, strlen(reason));
	if (!st)
		st = pb_buf_addc(&ch->rej_csv, ',');
	if (!st)
		st = pb_buf_csv_field(&ch->rej_csv, rec, rec_len);
	if (!st)
		st = pb_buf_addc(&ch->rej_csv, '\n');
	return st == PB_OK;
}

static const char *colname_of(const struct ingest *in, uint32_t field)
{
	if (field >= 1 && field <= in->ncolnames)
		return in->colnames[field - 1];
	return "";
}

static void process_chunk(struct worker *w, struct chunk *ch)
{
	struct ingest *in = w->in;
	const char *p = ch->buf + ch->off, *end = ch->buf + ch->len;
	uint64_t line = ch->line0;
	char reason[512];
	struct pb_focus_row row;
	while (p < end) {
		const char *rs = p;
		struct pb_csv_record rec;
		/* a line with nothing on it is not a row */
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			p += *p == '\n' ? 1 : 2;
			ch->blank++;
			line++;
			continue;
		}
		p = pb__csv_parse_record(p, end, w->fields, MAX_FIELDS, &rec);
		size_t rl = (size_t)(p - rs);
		uint64_t this_line = line;
		if (rl > in->max_record) {
			ch->too_long = this_line;
			return;
		}
		line += rec.lines ? rec.lines : 1;
		ch->rows++;
		uint32_t bad = 0;
		bool warned = false;
		if (rec.problem) {
			bad = rec.problem_field;
			snprintf(reason, sizeof(reason), "%s", pb__csv_problem_text(rec.problem));
			goto reject;
		}
		size_t badoff;
		if (!pb_utf8_valid(rs, rl, &badoff)) {
			/* find the field holding the bad byte */
			const char *at = rs + badoff;
			bad = 1;
			for (size_t i = 0; i < rec.nfields; i++)
				if (at >= w->fields[i].ptr)
					bad = (uint32_t)i + 1;
			snprintf(reason, sizeof(reason), "invalid UTF-8 (byte %zu of the record)",
			         badoff + 1);
			goto reject;
		}
		if (!pb__focus_row(&w->fx, w->fields, rec.nfields, this_line, &row, reason,
		                   sizeof(reason), &bad, &warned))
			goto reject;
		{
			const struct pb_str *kf[] = { &row.account, &row.account_name, &row.subaccount,
				                      &row.subaccount_name, &row.provider, &row.service,
				                      &row.sku_meter, &row.region, &row.region_name,
				                      &row.unit, &row.currency };
			for (size_t i = 0; i < PB_ARRAY_LEN(kf); i++)
				if (kf[i]->len > KEY_FIELD_MAX) {
					snprintf(reason, sizeof(reason),
					         "a key field is longer than %d bytes", KEY_FIELD_MAX);
					bad = 0;
					goto reject;
				}
		}
		int32_t day = (int32_t)pb_floordiv(row.start, 86400);
		size_t kl = build_key(w->kb, day, &row);
		uint64_t h = hash_key(w->kb, kl);
		struct agg *a = aggtab_get(&w->tab, w->kb, kl, h);
		if (!a) {
			ch->failed = true;
			return;
		}
		struct agg one = { 0 };
		one.q = row.quantity;
		one.billed = row.billed;
		one.eff = row.effective;
		one.list = row.list;
		one.rows = 1;
		one.first = one.last = this_line;
		if (!agg_merge(a, &one)) {
			snprintf(reason, sizeof(reason), "a sum would leave the range of +-1.7e23");
			bad = 0;
			goto reject;
		}
		ch->accepted++;
		ch->warned += warned;
		continue;
	reject:
		ch->rejected++;
		if (!rej_add(ch, this_line, bad, reason, rs, rl, colname_of(in, bad))) {
			ch->failed = true;
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ingest *in = w->in;
	pthread_mutex_lock(&in->mu);
	for (;;) {
		while (!in->qlen && !in->stop)
			pthread_cond_wait(&in->cv_work, &in->mu);
		if (!in->qlen && in->stop)
			break;
		struct chunk *ch = in->queue[in->qhead];
		in->qhead = (in->qhead + 1) % in->nchunks;
		in->qlen--;
		ch->state = CH_BUSY;
		pthread_mutex_unlock(&in->mu);
		process_chunk(w, ch);
		pthread_mutex_lock(&in->mu);
		ch->state = CH_DONE;
		pthread_cond_broadcast(&in->cv_done);
	}
	pthread_mutex_unlock(&in->mu);
	return NULL;
}

/* ===================================================================== */
/* files created unnamed and linked into place at commit                 */
/* ===================================================================== */

struct tmpf {
	int fd;
	char *dir;
	char *named; /* fallback: a named temporary */
};

static enum pb_status tmpf_open(struct tmpf *t, const char *dir, struct pb_error *err)
{
	t->fd = -1;
	t->named = NULL;
	t->dir = pb__strndup(dir, strlen(dir));
	if (!t->dir)
		return pb__err(err, PB_ENOMEM, "out of memory");
	t->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (t->fd >= 0)
		return PB_OK;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return pb__err(err, pb__errno_status(errno), "cannot create a file in '%s': %s", dir,
		               pb__errno_text(errno));
	size_t n = strlen(dir) + 64;
	t->named = malloc(n);
	if (!t->named)
		return pb__err(err, PB_ENOMEM, "out of memory");
	uint32_t r;
	pb_random(&r, sizeof(r));
	snprintf(t->named, n, "%s/.tmp-%ld-%08x", dir, (long)getpid(), r);
	t->fd = open(t->named, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (t->fd < 0)
		return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", t->named,
		               pb__errno_text(errno));
	return PB_OK;
}

static void tmpf_discard(struct tmpf *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->named)
		unlink(t->named);
	free(t->named);
	free(t->dir);
	t->fd = -1;
	t->named = NULL;
	t->dir = NULL;
}

static enum pb_status tmpf_write(struct tmpf *t, const void *p, size_t n, struct pb_error *err)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(t->fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return pb__err(err, PB_EIO, "cannot write in '%s': %s", t->dir,
			               pb__errno_text(errno));
		}
		c += w;
		n -= (size_t)w;
	}
	return PB_OK;
}

/* Makes the file durable and gives it its final name (replacing any). */
static enum pb_status tmpf_publish(struct tmpf *t, const char *path, struct pb_error *err)
{
	if (fsync(t->fd) != 0)
		return pb__err(err, PB_EIO, "cannot write '%s': %s", path, pb__errno_text(errno));
	if (t->named) {
		if (rename(t->named, path) != 0)
			return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", path,
			               pb__errno_text(errno));
		free(t->named);
		t->named = NULL;
	} else {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
		unlink(path); /* a leftover from an earlier attempt */
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0)
			return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", path,
			               pb__errno_text(errno));
	}
	return pb__fsync_dir(t->dir, err);
}

/* Removes files in dir named after a SHA-256 that no source has (left by a
 * crash between linking them and the commit), and stale named temporaries. */
static void remove_orphans(struct pb_ws *ws, const char *sub)
{
	char *dir = pb__ws_file(ws, sub);
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d) {
		free(dir);
		return;
	}
	sqlite3_stmt *q = NULL;
	sqlite3_prepare_v2(ws->db, "SELECT 1 FROM source WHERE sha256 = ?1", -1, &q, NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		bool stale = false;
		if (strncmp(n, ".tmp-", 5) == 0) {
			long pid = strtol(n + 5, NULL, 10);
			stale = pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
		} else if (strlen(n) > 64 && q) {
			bool hex = true;
			for (int i = 0; i < 64 && hex; i++)
				hex = (n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f');
			if (hex && n[64] == '.') {
				sqlite3_reset(q);
				sqlite3_bind_text(q, 1, n, 64, SQLITE_STATIC);
				stale = sqlite3_step(q) != SQLITE_ROW;
			}
		}
		if (stale) {
			char *p = pb__path_join(dir, n);
			if (p)
				unlink(p);
			free(p);
		}
	}
	sqlite3_finalize(q);
	closedir(d);
	free(dir);
}

/* ===================================================================== */
/* finalisation: catalog mapping, pseudonyms, the transaction            */
/* ===================================================================== */

static void pseudonym(const uint8_t key[32], const char *column, struct pb_str v, char *out)
{
	/* "ps:" + 16 base32 characters of HMAC-SHA256(key, column NUL value) */
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t mac[32];
	size_t cl = strlen(column);
	char stackbuf[512];
	char *msg = cl + 1 + v.len <= sizeof(stackbuf) ? stackbuf : malloc(cl + 1 + v.len);
	if (!msg) {
		memset(mac, 0, sizeof(mac));
	} else {
		memcpy(msg, column, cl + 1);
		if (v.len)
			memcpy(msg + cl + 1, v.ptr, v.len);
		pb__hmac_sha256(key, msg, cl + 1 + v.len, mac);
		if (msg != stackbuf)
			free(msg);
	}
	/* RFC 4648 base32 (lower case) of the first 10 bytes: 16 characters */
	memcpy(out, "ps:", 3);
	unsigned acc = 0, nbits = 0, o = 3;
	for (int i = 0; i < 10; i++) {
		acc = (acc << 8) | mac[i];
		nbits += 8;
		while (nbits >= 5) {
			out[o++] = b32[(acc >> (nbits - 5)) & 31];
			nbits -= 5;
		}
	}
	out[19] = '\0';
}

struct dimcache {
	struct pb_hmap map;
	sqlite3_stmt *sel, *ins;
	bool virt;        /* recompute mode: ids are local, strings kept here */
	char **strs;
	size_t nstrs, cap;
};

/* The id of a string in the dim table (0 for a null view); -1 on error. */
static int64_t dim_id(struct pb_ws *ws, struct dimcache *dc, struct pb_str v)
{
	if (!v.ptr)
		return 0;
	void *hit = pb__hmap_get(&dc->map, v.ptr, v.len);
	if (hit)
		return (int64_t)(intptr_t)hit;
	int64_t id = -1;
	if (dc->virt) {
		if (dc->nstrs == dc->cap) {
			size_t nc = dc->cap ? 2 * dc->cap : 64;
			char **ns = realloc(dc->strs, nc * sizeof(*ns));
			if (!ns)
				return -1;
			dc->strs = ns;
			dc->cap = nc;
		}
		char *copy = pb__strndup(v.ptr, v.len);
		if (!copy)
			return -1;
		dc->strs[dc->nstrs++] = copy;
		id = (int64_t)dc->nstrs;
		if (pb__hmap_put(&dc->map, v.ptr, v.len, (void *)(intptr_t)id, NULL) == PB_ENOMEM)
			return -1;
		return id;
	}
	sqlite3_reset(dc->sel);
	sqlite3_bind_text(dc->sel, 1, v.ptr, (int)v.len, SQLITE_STATIC);
	int rc = sqlite3_step(dc->sel);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(dc->sel, 0);
	} else if (rc == SQLITE_DONE) {
		sqlite3_reset(dc->ins);
		sqlite3_bind_text(dc->ins, 1, v.ptr, (int)v.len, SQLITE_STATIC);
		if (sqlite3_step(dc->ins) != SQLITE_DONE)
			return -1;
		id = sqlite3_last_insert_rowid(ws->db);
	} else {
		return -1;
	}
	sqlite3_reset(dc->sel);
	if (pb__hmap_put(&dc->map, v.ptr, v.len, (void *)(intptr_t)id, NULL) == PB_ENOMEM)
		return -1;
	return id;
}

/* Final aggregate, after mapping: dim ids and sums. */
enum { N_DAY, N_ACCOUNT, N_SUB, N_PROVIDER, N_CATEGORY, N_SUBCATEGORY, N_SERVICE, N_METER,
       N_CAPABILITY, N_REGION, N_COUNTRY, N_UNIT, N_CHARGE, N_CURRENCY, N_COUNT };
struct fin {
	int64_t id[N_COUNT];
	struct agg a;
};

struct acct {
	char kind; /* 'b' or 's' */
	struct pb_str id, billing, name, provider;
	int32_t first_day, last_day;
	uint64_t last_line;
};

/* Counted catalog problems, with up to 20 distinct example values each. */
struct unknowns {
	uint64_t count[FW_COUNT];
	uint64_t first[FW_COUNT];
	char examples[FW_COUNT][96];
};

static void note_unknown(struct unknowns *u, enum pb_fwarn w, const struct agg *a, struct pb_str v)
{
	if (u->count[w] == 0 || a->first < u->first[w])
		u->first[w] = a->first;
	u->count[w] += a->rows;
	size_t used = strlen(u->examples[w]);
	if (v.len && used + v.len + 3 < sizeof(u->examples[w])) {
		/* add once */
		char tmp[96];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)v.len, v.ptr);
		if (!strstr(u->examples[w], tmp))
			snprintf(u->examples[w] + used, sizeof(u->examples[w]) - used, "%s%s",
			         used ? ", " : "", tmp);
	}
}

/* ===================================================================== */
/* the whole ingest                                                      */
/* ===================================================================== */

void pb_ingest_report_release(struct pb_ingest_report *r)
{
	if (!r)
		return;
	free(r->warnings);
	r->warnings = NULL;
	r->nwarnings = 0;
}

static enum pb_status add_warning(struct pb_ingest_report *rep, const char *kind,
                                  const char *column, uint64_t count, uint64_t first,
                                  const char *text, const char *example)
{
	struct pb_ingest_warning *w =
		realloc(rep->warnings, (rep->nwarnings + 1) * sizeof(*rep->warnings));
	if (!w)
		return PB_ENOMEM;
	rep->warnings = w;
	struct pb_ingest_warning *x = &w[rep->nwarnings++];
	memset(x, 0, sizeof(*x));
	pb__strlcpy(x->kind, kind, sizeof(x->kind));
	pb__strlcpy(x->column, column, sizeof(x->column));
	x->count = count;
	x->first_line = first;
	pb__strlcpy(x->text, text, sizeof(x->text));
	pb__strlcpy(x->example, example ? example : "", sizeof(x->example));
	return PB_OK;
}

/* Checks the file's SHA-256 against the sources, reading it once more; only
 * used when a source of the same size exists, to skip work on a repeat. */
static bool already_by_size(struct pb_ws *ws, const char *path, char *sha_out)
{
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return false;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(ws->db, "SELECT sha256 FROM source WHERE size = ?1", -1, &q, NULL))
		return false;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)sb.st_size);
	bool any = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	if (!any)
		return false;
	struct pb_source s;
	if (pb__source_open(&s, path, -1, NULL) != PB_OK)
		return false;
	/* hash the raw bytes without decompressing */
	s.comp = PB_COMP_NONE;
	char *buf = malloc(1u << 20);
	bool ok = buf != NULL;
	size_t n;
	while (ok && pb__source_read(&s, buf, 1u << 20, &n, NULL) == PB_OK && n)
		;
	free(buf);
	uint8_t d[32];
	pb__source_digest(&s, d);
	pb__source_close(&s);
	pb_hex(d, 32, sha_out);
	if (sqlite3_prepare_v2(ws->db, "SELECT 1 FROM source WHERE sha256 = ?1", -1, &q, NULL))
		return false;
	sqlite3_bind_text(q, 1, sha_out, 64, SQLITE_STATIC);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

static void fill_report_from_db(struct pb_ws *ws, const char *sha, struct pb_ingest_report *rep)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(ws->db,
	                       "SELECT id, size, compression, format, focus_version, rows_read, "
	                       "rows_accepted, rows_rejected, rows_with_warnings, "
	                       "coalesce(rejects_file, ''), pb_day(first_day), pb_day(last_day), "
	                       "names, columns, columns_ignored FROM source WHERE sha256 = ?1",
	                       -1, &q, NULL))
		return;
	sqlite3_bind_text(q, 1, sha, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		rep->source_id = sqlite3_column_int64(q, 0);
		rep->size = (uint64_t)sqlite3_column_int64(q, 1);
		pb__strlcpy(rep->compression, (const char *)sqlite3_column_text(q, 2),
		            sizeof(rep->compression));
		pb__strlcpy(rep->format, (const char *)sqlite3_column_text(q, 3), sizeof(rep->format));
		const unsigned char *v = sqlite3_column_text(q, 4);
		pb__strlcpy(rep->version, v ? (const char *)v : "", sizeof(rep->version));
		rep->rows_read = (uint64_t)sqlite3_column_int64(q, 5);
		rep->rows_accepted = (uint64_t)sqlite3_column_int64(q, 6);
		rep->rows_rejected = (uint64_t)sqlite3_column_int64(q, 7);
		rep->rows_with_warnings = (uint64_t)sqlite3_column_int64(q, 8);
		pb__strlcpy(rep->rejects_path, (const char *)sqlite3_column_text(q, 9),
		            sizeof(rep->rejects_path));
		v = sqlite3_column_text(q, 10);
		pb__strlcpy(rep->first_day, v ? (const char *)v : "", sizeof(rep->first_day));
		v = sqlite3_column_text(q, 11);
		pb__strlcpy(rep->last_day, v ? (const char *)v : "", sizeof(rep->last_day));
		pb__strlcpy(rep->names, (const char *)sqlite3_column_text(q, 12), sizeof(rep->names));
		rep->columns = (size_t)sqlite3_column_int64(q, 13);
		rep->columns_ignored = (size_t)sqlite3_column_int64(q, 14);
	}
	sqlite3_finalize(q);
}

static enum pb_status report_json(const struct pb_ingest_report *rep, struct pb_buf *b)
{
	pb_buf_printf(b, "{\"name\":");
	pb_buf_json_str(b, rep->name, strlen(rep->name));
	pb_buf_printf(b,
	               ",\"sha256\":\"%s\",\"size\":%llu,\"compression\":\"%s\",\"format\":\"%s\","
	               "\"version\":\"%s\",\"rows_read\":%llu,\"rows_accepted\":%llu,"
	               "\"rows_rejected\":%llu,\"rows_with_warnings\":%llu,\"blank_lines\":%llu,"
	               "\"aggregates\":%llu,\"columns\":%zu,\"columns_ignored\":%zu,"
	               "\"threads\":%u,\"seconds\":%.3f,\"missing_mandatory\":",
	               rep->sha256, (unsigned long long)rep->size, rep->compression, rep->format,
	               rep->version, (unsigned long long)rep->rows_read,
	               (unsigned long long)rep->rows_accepted, (unsigned long long)rep->rows_rejected,
	               (unsigned long long)rep->rows_with_warnings,
	               (unsigned long long)rep->blank_lines, (unsigned long long)rep->aggregates,
	               rep->columns, rep->columns_ignored, rep->threads, rep->seconds);
	pb_buf_json_str(b, rep->missing_mandatory, strlen(rep->missing_mandatory));
	pb_buf_adds(b, ",\"warnings\":[");
	for (size_t i = 0; i < rep->nwarnings; i++) {
		const struct pb_ingest_warning *w = &rep->warnings[i];
		pb_buf_printf(b, "%s{\"kind\":\"%s\",\"column\":\"%s\",\"count\":%llu,\"first_line\":%llu,"
		                  "\"example\":",
		               i ? "," : "", w->kind, w->column, (unsigned long long)w->count,
		               (unsigned long long)w->first_line);
		pb_buf_json_str(b, w->example, strlen(w->example));
		pb_buf_addc(b, '}');
	}
	return pb_buf_adds(b, "]}");
}

static int fin_cmp(const void *x, const void *y)
{
	const struct fin *a = x, *b = y;
	for (int i = 0; i < N_COUNT; i++)
		if (a->id[i] != b->id[i])
			return a->id[i] < b->id[i] ? -1 : 1;
	return 0;
}

/* The acting user may load usage: an analyst or an admin. */
static enum pb_status actor_check(struct pb_ws *ws, const char *as, const char **actor,
                                  struct pb_error *err)
{
	enum pb_status st = pb__acting_user(ws, as, actor, err);
	if (!st)
		st = pb__user_require_role(ws, *actor, "analyst,admin", err);
	return st;
}

static enum pb_status finalize(struct pb_ws *ws, struct ingest *in, struct aggtab *all,
                               struct pb_source *src, const char *sha, const char *path,
                               struct rej **rejs, size_t nrej, struct pb_buf *reasons,
                               struct tmpf *rejf, bool have_rejf, struct tmpf *copy,
                               struct pb_ingest_report *rep, struct pb_focus_ctx *fxsum,
                               struct pb_error *err)
{
	enum pb_status st = PB_OK;
	struct dimcache dc = { 0 };
	struct pb_hmap finmap, acctmap;
	pb__hmap_init(&dc.map);
	pb__hmap_init(&finmap);
	pb__hmap_init(&acctmap);
	struct fin *fins = NULL;
	size_t nfin = 0;
	struct acct *accts = NULL;
	size_t nacct = 0, capacct = 0;
	char **pseudo_strs = NULL;
	size_t npseudo = 0;
	sqlite3_stmt *ins = NULL, *insrc = NULL, *insw = NULL, *insr = NULL, *inacct = NULL;
	struct pb_buf json;
	pb_buf_init(&json, 1u << 24);
	struct unknowns unk;
	memset(&unk, 0, sizeof(unk));
	char rejects_rel[128] = "", rejects_abs[1024] = "", copy_abs[1024] = "";
	const uint8_t *pkey = NULL;
	const char *actor = NULL;
	const char *kn = pb_ws_setting(ws, "keep_names");
	bool keep_names = kn && (strcmp(kn, "true") == 0 || strcmp(kn, "yes") == 0 ||
	                         strcmp(kn, "1") == 0);
	pb__strlcpy(rep->names, keep_names ? "clear" : "pseudonymised", sizeof(rep->names));
	if (!in->recompute && !keep_names && (st = pb__ws_pseudo_key(ws, &pkey, err)))
		return st;
	dc.virt = in->recompute != NULL;
	if (dc.virt)
		goto mapping;

	if ((st = pb__ws_begin(ws, err)))
		goto out;
	/* the same bytes may have arrived while we read */
	{
		sqlite3_stmt *q;
		if ((st = pb__db_prepare(ws->db, "SELECT 1 FROM source WHERE sha256 = ?1", &q, err)))
			goto fail;
		sqlite3_bind_text(q, 1, sha, 64, SQLITE_STATIC);
		bool dup = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_finalize(q);
		if (dup) {
			pb__ws_rollback(ws);
			rep->already = true;
			fill_report_from_db(ws, sha, rep);
			goto out;
		}
	}
	if ((st = actor_check(ws, in->actor, &actor, err)))
		goto fail;
	if ((st = pb__db_prepare(ws->db, "SELECT id FROM dim WHERE value = ?1", &dc.sel, err)) ||
	    (st = pb__db_prepare(ws->db, "INSERT INTO dim(value) VALUES (?1)", &dc.ins, err)))
		goto fail;

mapping:
	/* map every aggregate through the catalog and into dim ids */
	fins = calloc(all->n ? all->n : 1, sizeof(*fins));
	if (!fins) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	int32_t first_day = INT32_MAX, last_day = INT32_MIN;
	for (size_t i = 0; i < all->n; i++) {
		struct agg *a = &all->v[i];
		int32_t day;
		struct pb_str k[K_COUNT];
		decode_key(all->keys + a->koff, &day, k);
		if (day < first_day)
			first_day = day;
		if (day > last_day)
			last_day = day;
		/* region */
		struct pb_str region = k[K_REGION].ptr ? k[K_REGION] : k[K_REGION_NAME];
		struct pb_str country = { NULL, 0 };
		if (region.ptr) {
			const struct pb_region *r = pb_catalog_region(in->cat, region);
			if (!r && k[K_REGION].ptr && k[K_REGION_NAME].ptr)
				r = pb_catalog_region(in->cat, k[K_REGION_NAME]);
			if (r) {
				region = pb_cstr(r->id);
				if (r->country[0])
					country = pb_cstr(r->country);
			} else {
				note_unknown(&unk, FW_UNKNOWN_REGION, a, region);
			}
		}
		/* service, category, capability */
		const struct pb_service *svc = pb_catalog_service(in->cat, k[K_SERVICE]);
		struct pb_str category = k[K_CATEGORY], subcategory = k[K_SUBCATEGORY];
		if (!svc)
			note_unknown(&unk, FW_UNKNOWN_SERVICE, a, k[K_SERVICE]);
		if (!category.ptr && svc) {
			category = pb_cstr(svc->category);
			if (in->map.kind == PB_FORMAT_FOCUS) /* native exports never have one */
				note_unknown(&unk, FW_CATEGORY_FROM_CATALOG, a, k[K_SERVICE]);
		}
		if (!subcategory.ptr && svc && category.ptr && strcmp(svc->category, category.ptr) == 0 &&
		    in->map.col[FC_ServiceSubcategory] < 0)
			subcategory = pb_cstr(svc->subcategory);
		const char *cap = pb__catalog_capability_row(in->cat, svc, k[K_METER], category);
		if (svc && !cap && svc->ncapabilities > 1)
			note_unknown(&unk, FW_UNKNOWN_CAPABILITY, a, k[K_SERVICE]);
		/* unit */
		struct pb_str unit = k[K_UNIT];
		struct agg norm = *a;
		if (unit.ptr) {
			const struct pb_unit *u = pb_catalog_unit(in->cat, unit);
			if (u) {
				unit = pb_cstr(u->normalised);
				if (!pb__unit_apply(pb__catalog_unit_factor(u), a->q, &norm.q)) {
					st = pb__err(err, PB_ELIMIT,
					             "a quantity is out of range after converting '%.*s' to "
					             "'%s' (first line %llu)",
					             (int)k[K_UNIT].len, k[K_UNIT].ptr, u->normalised,
					             (unsigned long long)a->first);
					goto fail;
				}
			} else {
				note_unknown(&unk, FW_UNKNOWN_UNIT, a, unit);
			}
		}
		struct fin f;
		memset(&f, 0, sizeof(f));
		f.id[N_DAY] = day;
		struct pb_str vals[N_COUNT] = {
			[N_ACCOUNT] = k[K_ACCOUNT], [N_SUB] = k[K_SUB], [N_PROVIDER] = k[K_PROVIDER],
			[N_CATEGORY] = category, [N_SUBCATEGORY] = subcategory,
			[N_SERVICE] = k[K_SERVICE], [N_METER] = k[K_METER], [N_CAPABILITY] = pb_cstr(cap),
			[N_REGION] = region, [N_COUNTRY] = country, [N_UNIT] = unit,
			[N_CHARGE] = k[K_CHARGE_CATEGORY], [N_CURRENCY] = k[K_CURRENCY],
		};
		if (!cap)
			vals[N_CAPABILITY].ptr = NULL;
		for (int j = 1; j < N_COUNT; j++) {
			f.id[j] = dim_id(ws, &dc, vals[j]);
			if (f.id[j] < 0) {
				st = pb__db_err(ws->db, err, "cannot store dimension values");
				goto fail;
			}
		}
		void *hit = pb__hmap_get(&finmap, (const char *)f.id, sizeof(f.id));
		if (hit) {
			if (!agg_merge(&fins[(size_t)(intptr_t)hit - 1].a, &norm)) {
				st = pb__err(err, PB_ELIMIT, "a daily sum is out of range (first line %llu)",
				             (unsigned long long)a->first);
				goto fail;
			}
		} else {
			f.a = norm;
			fins[nfin++] = f;
			if (pb__hmap_put(&finmap, (const char *)f.id, sizeof(f.id),
			                 (void *)(intptr_t)nfin, NULL) == PB_ENOMEM) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				goto fail;
			}
		}
		/* accounts: the name from the latest line wins */
		struct pb_str billing = k[K_ACCOUNT];
		for (int kind = 0; kind < 2; kind++) {
			struct pb_str id = kind ? k[K_SUB] : k[K_ACCOUNT];
			if (!id.ptr)
				continue;
			char keybuf[2 * KEY_FIELD_MAX + 4];
			size_t kl = 0;
			keybuf[kl++] = kind ? 's' : 'b';
			memcpy(keybuf + kl, id.ptr, id.len);
			kl += id.len;
			keybuf[kl++] = '\0';
			if (kind) {
				memcpy(keybuf + kl, billing.ptr, billing.len);
				kl += billing.len;
			}
			void *ah = pb__hmap_get(&acctmap, keybuf, kl);
			struct acct *ac;
			if (ah) {
				ac = &accts[(size_t)(intptr_t)ah - 1];
			} else {
				if (nacct == capacct) {
					size_t nc = capacct ? capacct * 2 : 64;
					struct acct *na = realloc(accts, nc * sizeof(*na));
					if (!na) {
						st = pb__err(err, PB_ENOMEM, "out of memory");
						goto fail;
					}
					accts = na;
					capacct = nc;
				}
				ac = &accts[nacct++];
				memset(ac, 0, sizeof(*ac));
				ac->kind = kind ? 's' : 'b';
				ac->id = id;
				ac->billing = kind ? billing : pb_str_of("", 0);
				ac->first_day = INT32_MAX;
				ac->last_day = INT32_MIN;
				if (pb__hmap_put(&acctmap, keybuf, kl, (void *)(intptr_t)nacct, NULL) ==
				    PB_ENOMEM) {
					st = pb__err(err, PB_ENOMEM, "out of memory");
					goto fail;
				}
			}
			struct pb_str nm = kind ? k[K_SUB_NAME] : k[K_ACCOUNT_NAME];
			if (a->last >= ac->last_line && nm.ptr) {
				ac->name = nm;
				ac->last_line = a->last;
			}
			if (k[K_PROVIDER].ptr)
				ac->provider = k[K_PROVIDER];
			if (day < ac->first_day)
				ac->first_day = day;
			if (day > ac->last_day)
				ac->last_day = day;
		}
	}
	/* a stable order for the rows makes the table easy to compare */
	qsort(fins, nfin, sizeof(*fins), fin_cmp);
	if (dc.virt) {
		/* recompute mode: hand the aggregates out instead of storing them */
		for (size_t i = 0; i < nfin; i++) {
			const struct fin *f = &fins[i];
			struct pb__usage_agg a;
			memset(&a, 0, sizeof(a));
			a.day = f->id[N_DAY];
			struct pb_str *dst[N_COUNT] = {
				[N_ACCOUNT] = &a.account, [N_SUB] = &a.subaccount,
				[N_PROVIDER] = &a.provider, [N_CATEGORY] = &a.category,
				[N_SUBCATEGORY] = &a.subcategory, [N_SERVICE] = &a.service,
				[N_METER] = &a.sku_meter, [N_CAPABILITY] = &a.capability,
				[N_REGION] = &a.region, [N_COUNTRY] = &a.country, [N_UNIT] = &a.unit,
				[N_CHARGE] = &a.charge_category, [N_CURRENCY] = &a.currency,
			};
			for (int j = 1; j < N_COUNT; j++)
				if (f->id[j] > 0)
					*dst[j] = pb_cstr(dc.strs[f->id[j] - 1]);
			a.quantity = f->a.q;
			a.billed = f->a.billed;
			a.effective = f->a.eff;
			a.list = f->a.list;
			a.rows = f->a.rows;
			a.first_line = f->a.first;
			a.last_line = f->a.last;
			if (!in->recompute(in->recompute_ctx, &a)) {
				st = pb__err(err, PB_EINTR, "stopped by the caller");
				break;
			}
		}
		rep->aggregates = nfin;
		goto out;
	}

	/* warnings: from the rows (ctx totals) and from the mapping */
	for (int w = 0; w < FW_COUNT; w++)
		for (int col = 0; col <= FC_COUNT; col++) {
			uint64_t n = fxsum->warn_count[w][col];
			if (!n)
				continue;
			if ((st = add_warning(rep, pb__fwarn_name((enum pb_fwarn)w),
			                      col < FC_COUNT ? pb__fcols[col].name : "", n,
			                      fxsum->warn_line[w][col], pb__fwarn_text((enum pb_fwarn)w),
			                      NULL))) {
				st = pb__err(err, st, "out of memory");
				goto fail;
			}
		}
	static const struct {
		enum pb_fwarn w;
		const char *col;
	} mapw[] = { { FW_UNKNOWN_REGION, "RegionId" },       { FW_UNKNOWN_SERVICE, "ServiceName" },
		     { FW_UNKNOWN_UNIT, "ConsumedUnit" },      { FW_UNKNOWN_CAPABILITY, "SkuMeter" },
		     { FW_CATEGORY_FROM_CATALOG, "ServiceCategory" } };
	for (size_t i = 0; i < PB_ARRAY_LEN(mapw); i++)
		if (unk.count[mapw[i].w] &&
		    (st = add_warning(rep, pb__fwarn_name(mapw[i].w), mapw[i].col, unk.count[mapw[i].w],
		                      unk.first[mapw[i].w], pb__fwarn_text(mapw[i].w),
		                      unk.examples[mapw[i].w]))) {
			st = pb__err(err, st, "out of memory");
			goto fail;
		}

	/* the rejects file and the copy of a pipe get their names now */
	if (have_rejf) {
		snprintf(rejects_rel, sizeof(rejects_rel), "%s/%s.rejects.csv", PB_WS_REJECTS, sha);
		snprintf(rejects_abs, sizeof(rejects_abs), "%s/%s", ws->path, rejects_rel);
		if ((st = tmpf_publish(rejf, rejects_abs, err)))
			goto fail;
		pb__strlcpy(rep->rejects_path, rejects_abs, sizeof(rep->rejects_path));
	}
	if (copy && copy->fd >= 0) {
		const char *ext = src->comp == PB_COMP_GZIP ? ".csv.gz"
		                  : src->comp == PB_COMP_ZSTD ? ".csv.zst"
		                                              : ".csv";
		snprintf(copy_abs, sizeof(copy_abs), "%s/%s/%s%s", ws->path, PB_WS_SOURCES, sha, ext);
		if ((st = tmpf_publish(copy, copy_abs, err)))
			goto fail;
	}

	/* the source */
	rep->aggregates = nfin;
	if (first_day <= last_day) {
		pb_day_format(first_day, rep->first_day);
		pb_day_format(last_day, rep->last_day);
	}
	report_json(rep, &json);
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO source(sha256, size, name, path, compression, format, "
	                         "focus_version, ingested_at, rows_read, rows_accepted, rows_rejected, "
	                         "rows_with_warnings, columns, columns_ignored, names, catalog_sha256, "
	                         "first_day, last_day, rejects_file, report) VALUES (?1, ?2, ?3, ?4, "
	                         "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
	                         "?19, ?20)",
	                         &insrc, err)))
		goto fail;
	{
		char now[24];
		pb_time_format(pb_now(), now);
		char abspath[4096] = "";
		if (copy_abs[0]) {
			if (!realpath(copy_abs, abspath))
				pb__strlcpy(abspath, copy_abs, sizeof(abspath));
		} else if (!realpath(path, abspath))
			pb__strlcpy(abspath, path, sizeof(abspath));
		sqlite3_bind_text(insrc, 1, sha, 64, SQLITE_STATIC);
		sqlite3_bind_int64(insrc, 2, (sqlite3_int64)src->raw_bytes);
		sqlite3_bind_text(insrc, 3, path, -1, SQLITE_STATIC);
		sqlite3_bind_text(insrc, 4, abspath, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(insrc, 5, pb__compression_name(src->comp), -1, SQLITE_STATIC);
		sqlite3_bind_text(insrc, 6, in->map.format, -1, SQLITE_STATIC);
		sqlite3_bind_text(insrc, 7, in->map.version, -1, SQLITE_STATIC);
		sqlite3_bind_text(insrc, 8, now, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(insrc, 9, (sqlite3_int64)rep->rows_read);
		sqlite3_bind_int64(insrc, 10, (sqlite3_int64)rep->rows_accepted);
		sqlite3_bind_int64(insrc, 11, (sqlite3_int64)rep->rows_rejected);
		sqlite3_bind_int64(insrc, 12, (sqlite3_int64)rep->rows_with_warnings);
		sqlite3_bind_int64(insrc, 13, (sqlite3_int64)rep->columns);
		sqlite3_bind_int64(insrc, 14, (sqlite3_int64)rep->columns_ignored);
		sqlite3_bind_text(insrc, 15, rep->names, -1, SQLITE_STATIC);
		sqlite3_bind_text(insrc, 16, pb_catalog_sha256(in->cat), -1, SQLITE_STATIC);
		if (first_day <= last_day) {
			sqlite3_bind_int64(insrc, 17, first_day);
			sqlite3_bind_int64(insrc, 18, last_day);
		}
		if (rejects_rel[0])
			sqlite3_bind_text(insrc, 19, rejects_rel, -1, SQLITE_STATIC);
		sqlite3_bind_text(insrc, 20, json.data ? json.data : "{}", -1, SQLITE_STATIC);
		if (sqlite3_step(insrc) != SQLITE_DONE) {
			st = pb__db_err(ws->db, err, "cannot record the source");
			goto fail;
		}
		rep->source_id = sqlite3_last_insert_rowid(ws->db);
	}
	/* aggregates */
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO usage_day(source_id, day, account, subaccount, provider, "
	                         "category, subcategory, service, sku_meter, capability, region, "
	                         "country, unit, charge_category, currency, quantity, billed_cost, "
	                         "effective_cost, list_cost, rows, first_line, last_line) VALUES (?1, "
	                         "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
	                         "?17, ?18, ?19, ?20, ?21, ?22)",
	                         &ins, err)))
		goto fail;
	for (size_t i = 0; i < nfin; i++) {
		const struct fin *f = &fins[i];
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, rep->source_id);
		for (int j = 0; j < N_COUNT; j++) {
			if (j > 0 && f->id[j] == 0)
				sqlite3_bind_null(ins, 2 + j);
			else
				sqlite3_bind_int64(ins, 2 + j, f->id[j]);
		}
		char buf[PB_DEC_BUFSZ];
		const pb_dec *sums[4] = { &f->a.q, &f->a.billed, &f->a.eff, &f->a.list };
		for (int j = 0; j < 4; j++) {
			size_t n = pb__dec_format(*sums[j], buf);
			sqlite3_bind_text(ins, 16 + j, buf, (int)n, SQLITE_TRANSIENT);
		}
		sqlite3_bind_int64(ins, 20, (sqlite3_int64)f->a.rows);
		sqlite3_bind_int64(ins, 21, (sqlite3_int64)f->a.first);
		sqlite3_bind_int64(ins, 22, (sqlite3_int64)f->a.last);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			st = pb__db_err(ws->db, err, "cannot store aggregates");
			goto fail;
		}
	}
	if ((st = pb__usage_rollup(ws->db, rep->source_id, err)))
		goto fail;
	/* warnings and rejects */
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO source_warning(source_id, kind, column_name, count, "
	                         "first_line, example) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	                         &insw, err)))
		goto fail;
	for (size_t i = 0; i < rep->nwarnings; i++) {
		const struct pb_ingest_warning *w = &rep->warnings[i];
		sqlite3_reset(insw);
		sqlite3_bind_int64(insw, 1, rep->source_id);
		sqlite3_bind_text(insw, 2, w->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(insw, 3, w->column, -1, SQLITE_STATIC);
		sqlite3_bind_int64(insw, 4, (sqlite3_int64)w->count);
		sqlite3_bind_int64(insw, 5, (sqlite3_int64)w->first_line);
		if (w->example[0])
			sqlite3_bind_text(insw, 6, w->example, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(insw, 6);
		if (sqlite3_step(insw) != SQLITE_DONE) {
			st = pb__db_err(ws->db, err, "cannot store warnings");
			goto fail;
		}
	}
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO source_reject(source_id, line, column_name, reason, raw) "
	                         "VALUES (?1, ?2, ?3, ?4, ?5)",
	                         &insr, err)))
		goto fail;
	for (size_t i = 0; i < nrej; i++) {
		const struct rej *r = rejs[i];
		sqlite3_reset(insr);
		sqlite3_bind_int64(insr, 1, rep->source_id);
		sqlite3_bind_int64(insr, 2, (sqlite3_int64)r->line);
		const char *cn = colname_of(in, r->field);
		if (cn[0])
			sqlite3_bind_text(insr, 3, cn, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(insr, 3);
		sqlite3_bind_text(insr, 4, reasons->data + r->reason_off, -1, SQLITE_STATIC);
		/* the original bytes are in the rejects file, not in the database:
		 * they may hold customer-chosen text in clear */
		sqlite3_bind_zeroblob(insr, 5, 0);
		if (sqlite3_step(insr) != SQLITE_DONE) {
			st = pb__db_err(ws->db, err, "cannot store rejected rows");
			goto fail;
		}
	}
	/* accounts */
	if ((st = pb__db_prepare(
		     ws->db,
		     "INSERT INTO account(kind, account_id, billing_account_id, name, provider, "
		     "first_day, last_day) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		     "ON CONFLICT(kind, account_id, billing_account_id) DO UPDATE SET "
		     "name = coalesce(excluded.name, name), provider = coalesce(excluded.provider, "
		     "provider), first_day = min(first_day, excluded.first_day), "
		     "last_day = max(last_day, excluded.last_day)",
		     &inacct, err)))
		goto fail;
	for (size_t i = 0; i < nacct; i++) {
		const struct acct *ac = &accts[i];
		sqlite3_reset(inacct);
		sqlite3_bind_text(inacct, 1, ac->kind == 'b' ? "billing" : "sub", -1, SQLITE_STATIC);
		pb__bind_str(inacct, 2, ac->id);
		pb__bind_str(inacct, 3, ac->billing);
		char ps[24];
		if (!ac->name.ptr)
			sqlite3_bind_null(inacct, 4);
		else if (keep_names)
			pb__bind_str(inacct, 4, ac->name);
		else {
			pseudonym(pkey, ac->kind == 'b' ? "BillingAccountName" : "SubAccountName",
			          ac->name, ps);
			sqlite3_bind_text(inacct, 4, ps, -1, SQLITE_TRANSIENT);
		}
		pb__bind_str(inacct, 5, ac->provider);
		sqlite3_bind_int64(inacct, 6, ac->first_day);
		sqlite3_bind_int64(inacct, 7, ac->last_day);
		if (sqlite3_step(inacct) != SQLITE_DONE) {
			st = pb__db_err(ws->db, err, "cannot store accounts");
			goto fail;
		}
	}
	{
		char details[1024];
		char esc_name[600];
		struct pb_buf nb;
		pb_buf_init(&nb, sizeof(esc_name) - 1);
		pb_buf_json_str(&nb, rep->name, strlen(rep->name) > 500 ? 500 : strlen(rep->name));
		pb__strlcpy(esc_name, nb.data ? nb.data : "\"\"", sizeof(esc_name));
		pb_buf_release(&nb);
		pb__snprintf(details, sizeof(details),
		             "{\"sha256\":\"%s\",\"name\":%s,\"format\":\"%s\",\"version\":\"%s\","
		             "\"rows_read\":%llu,\"rows_accepted\":%llu,\"rows_rejected\":%llu,"
		             "\"aggregates\":%llu,\"names\":\"%s\"}",
		             sha, esc_name, in->map.format, in->map.version,
		             (unsigned long long)rep->rows_read, (unsigned long long)rep->rows_accepted,
		             (unsigned long long)rep->rows_rejected, (unsigned long long)rep->aggregates,
		             rep->names);
		char subject[96];
		pb__snprintf(subject, sizeof(subject), "source/%lld", (long long)rep->source_id);
		if ((st = pb__audit_append(ws, actor, "usage.ingest", 0, subject, details, NULL, err)))
			goto fail;
	}
	if ((st = pb__ws_commit(ws, err)))
		goto fail_after_publish;
	goto out;
fail:
	pb__ws_rollback(ws);
fail_after_publish:
	if (rejects_abs[0])
		unlink(rejects_abs);
	if (copy_abs[0])
		unlink(copy_abs);
	rep->rejects_path[0] = '\0';
out:
	(void)npseudo;
	free(pseudo_strs);
	sqlite3_finalize(ins);
	sqlite3_finalize(insrc);
	sqlite3_finalize(insw);
	sqlite3_finalize(insr);
	sqlite3_finalize(inacct);
	sqlite3_finalize(dc.sel);
	sqlite3_finalize(dc.ins);
	pb__hmap_release(&dc.map);
	for (size_t i = 0; i < dc.nstrs; i++)
		free(dc.strs[i]);
	free(dc.strs);
	pb__hmap_release(&finmap);
	pb__hmap_release(&acctmap);
	free(fins);
	free(accts);
	pb_buf_release(&json);
	return st;
}

static unsigned cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Reads until buf holds cap bytes or the input ends. */
static enum pb_status fill(struct pb_source *s, char *buf, size_t cap, size_t *len, bool *eof,
                           struct pb_error *err)
{
	while (*len < cap) {
		size_t n;
		enum pb_status st = pb__source_read(s, buf + *len, cap - *len, &n, err);
		if (st)
			return st;
		if (n == 0) {
			*eof = true;
			break;
		}
		*len += n;
	}
	return PB_OK;
}

/* When checking evidence (expect_sha), a source that no longer reads to its
 * end is reported as changed if its bytes are not the cited ones (the read
 * error goes with it); else the read error stands. */
static enum pb_status read_failed(struct pb_source *src, const char *path,
                                  const char *expect_sha, enum pb_status st,
                                  struct pb_error *err)
{
	struct pb_error e2 = { 0 };
	if (!expect_sha || pb__source_hash_rest(src, &e2) != PB_OK)
		return st;
	uint8_t d[32];
	char hex[65];
	pb__source_digest(src, d);
	pb_hex(d, 32, hex);
	if (strcmp(hex, expect_sha) == 0)
		return st;
	char was[sizeof(err->message)];
	pb__strlcpy(was, err->message, sizeof(was));
	return pb__err(err, PB_EVERIFY,
	               "'%s' has changed: the file's SHA-256 is %s, not the cited %s (reading it: %s)",
	               path, hex, expect_sha, was);
}

/* Collects finished chunks in order; returns false when a chunk failed. */
static bool collect(struct ingest *in, uint64_t *next_seq, struct pb_ingest_report *rep,
                    struct tmpf *rejf, bool *have_rejf, struct rej ***rejs, size_t *nrej,
                    size_t *caprej, struct pb_buf *reasons, struct pb_error *err, bool *io_fail)
{
	for (;;) {
		struct chunk *ch = NULL;
		for (size_t i = 0; i < in->nchunks; i++)
			if (in->chunks[i].state == CH_DONE && in->chunks[i].seq == *next_seq)
				ch = &in->chunks[i];
		if (!ch)
			return true;
		if (ch->failed) {
			pb__err(err, PB_ENOMEM, "out of memory while ingesting");
			return false;
		}
		if (ch->too_long) {
			pb__err(err, PB_ELIMIT,
			        "a record is longer than %zu bytes (an unbalanced quote?); raise the "
			        "limit with --max-record",
			        in->max_record);
			if (err)
				err->line = ch->too_long;
			return false;
		}
		rep->rows_read += ch->rows;
		rep->rows_accepted += ch->accepted;
		rep->rows_rejected += ch->rejected;
		rep->rows_with_warnings += ch->warned;
		rep->blank_lines += ch->blank;
		if (ch->nrej && rejf->fd >= 0) {
			if (!*have_rejf) {
				*have_rejf = true;
				static const char head[] = "line,column,reason,record\n";
				if (tmpf_write(rejf, head, sizeof(head) - 1, err)) {
					*io_fail = true;
					return false;
				}
			}
			if (tmpf_write(rejf, ch->rej_csv.data, ch->rej_csv.len, err)) {
				*io_fail = true;
				return false;
			}
			size_t base = reasons->len;
			if (pb_buf_add(reasons, ch->reasons.data, ch->reasons.len)) {
				pb__err(err, PB_ENOMEM, "out of memory");
				return false;
			}
			for (size_t i = 0; i < ch->nrej; i++) {
				if (*nrej == *caprej) {
					size_t nc = *caprej ? *caprej * 2 : 256;
					struct rej **nr = realloc(*rejs, nc * sizeof(*nr));
					if (!nr) {
						pb__err(err, PB_ENOMEM, "out of memory");
						return false;
					}
					*rejs = nr;
					*caprej = nc;
				}
				struct rej *r = malloc(sizeof(*r));
				if (!r) {
					pb__err(err, PB_ENOMEM, "out of memory");
					return false;
				}
				*r = ch->rej[i];
				r->reason_off += base;
				(*rejs)[(*nrej)++] = r;
			}
		}
		ch->rows = ch->accepted = ch->rejected = ch->warned = ch->blank = 0;
		ch->nrej = 0;
		pb_buf_reset(&ch->rej_csv);
		pb_buf_reset(&ch->reasons);
		ch->state = CH_FREE;
		(*next_seq)++;
	}
}

static enum pb_status ingest(struct pb_ws *ws, const struct pb_catalog *cat, const char *path,
                             const struct pb_ingest_options *opts, struct pb_ingest_report *rep,
                             pb__usage_agg_fn recompute, void *recompute_ctx,
                             const char *expect_sha, struct pb_error *err)
{
	struct pb_ingest_options defaults = { 0 };
	if (!opts)
		opts = &defaults;
	memset(rep, 0, sizeof(*rep));
	pb__strlcpy(rep->name, path, sizeof(rep->name));
	double t0 = pb__mono();
	enum pb_status st = PB_OK;
	char sha[65] = "";
	if (recompute)
		goto go;
	if ((st = pb__ws_require_writable(ws, "ingest", err)))
		return st;
	remove_orphans(ws, PB_WS_REJECTS);
	remove_orphans(ws, PB_WS_SOURCES);

	/* a repeat of a file already loaded costs one hash, not a parse */
	if (already_by_size(ws, path, sha)) {
		rep->already = true;
		pb__strlcpy(rep->sha256, sha, sizeof(rep->sha256));
		fill_report_from_db(ws, sha, rep);
		rep->seconds = pb__mono() - t0;
		return PB_OK;
	}
go:;
	struct ingest in;
	memset(&in, 0, sizeof(in));
	in.cat = cat;
	in.recompute = recompute;
	in.recompute_ctx = recompute_ctx;
	in.actor = opts->actor;
	in.max_record = opts->max_record ? opts->max_record : DEFAULT_MAX_RECORD;
	size_t chunk_size = opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK;
	if (chunk_size < 2 * in.max_record + 4096)
		chunk_size = 2 * in.max_record + 4096;
	unsigned threads = opts->threads ? opts->threads : cpu_count();
	if (threads > 64)
		threads = 64;
	rep->threads = threads;

	struct pb_source src;
	bool src_open = false;
	struct tmpf copy = { -1, NULL, NULL }, rejf = { -1, NULL, NULL };
	bool have_copy = false, have_rejf = false;
	struct rej **rejs = NULL;
	size_t nrej = 0, caprej = 0;
	struct pb_buf reasons;
	pb_buf_init(&reasons, SIZE_MAX / 2);
	struct aggtab all;
	memset(&all, 0, sizeof(all));
	struct pb_focus_ctx fxsum;
	bool fxsum_init = false;
	bool mu_init = false;
	char missing[1024] = "";
	char *hdr_scratch = NULL;

	if (strcmp(path, "-") == 0 && !recompute) {
		char *dir = pb__ws_file(ws, PB_WS_SOURCES);
		if (!dir) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		st = tmpf_open(&copy, dir, err);
		free(dir);
		if (st)
			goto out;
		have_copy = true;
	}
	if ((st = pb__source_open(&src, path, have_copy ? copy.fd : -1, err)))
		goto out;
	src_open = true;
	pb__strlcpy(rep->compression, pb__compression_name(src.comp), sizeof(rep->compression));
	if (!recompute) {
		char *dir = pb__ws_file(ws, PB_WS_REJECTS);
		if (!dir) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		st = tmpf_open(&rejf, dir, err);
		free(dir);
		if (st)
			goto out;
	}

	/* chunk buffers: enough for every thread to hold one and the queue to be full */
	in.nchunks = 2 * (size_t)threads + 2;
	in.chunks = calloc(in.nchunks, sizeof(*in.chunks));
	in.queue = calloc(in.nchunks, sizeof(*in.queue));
	in.workers = calloc(threads, sizeof(*in.workers));
	if (!in.chunks || !in.queue || !in.workers) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < in.nchunks; i++) {
		in.chunks[i].cap = chunk_size;
		in.chunks[i].buf = malloc(chunk_size);
		pb_buf_init(&in.chunks[i].rej_csv, SIZE_MAX / 2);
		pb_buf_init(&in.chunks[i].reasons, SIZE_MAX / 2);
		if (!in.chunks[i].buf) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
	}

	/* the header */
	struct chunk *cur = &in.chunks[0];
	bool eof = false;
	cur->len = 0;
	if ((st = fill(&src, cur->buf, cur->cap, &cur->len, &eof, err))) {
		st = read_failed(&src, path, expect_sha, st, err);
		goto out;
	}
	{
		size_t off = 0;
		if (cur->len >= 3 && memcmp(cur->buf, "\xEF\xBB\xBF", 3) == 0)
			off = 3;
		if (cur->len == off) {
			st = pb__err_at(err, PB_EFORMAT, src.name, 1, 0,
			                "the file is empty: expected a CSV header line");
			goto out;
		}
		const char *nul = memchr(cur->buf + off, '\0', cur->len - off < 4096 ? cur->len - off : 4096);
		if (nul) {
			st = pb__err_at(err, PB_EFORMAT, src.name, 1, 0,
			                "not a text file: a NUL byte at offset %zu; expected a CSV "
			                "usage export",
			                (size_t)(nul - cur->buf));
			goto out;
		}
		struct pb_csv_field *hf = calloc(MAX_FIELDS, sizeof(*hf));
		struct pb_str *names = calloc(MAX_FIELDS, sizeof(*names));
		if (!hf || !names) {
			free(hf);
			free(names);
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		struct pb_csv_record hrec;
		const char *hend = pb__csv_parse_record(cur->buf + off, cur->buf + cur->len, hf,
		                                        MAX_FIELDS, &hrec);
		size_t hl = (size_t)(hend - (cur->buf + off));
		if (hrec.problem || (!eof && hrec.lines == 0) || hl > in.max_record) {
			st = pb__err_at(err, PB_EFORMAT, src.name, 1, hrec.problem_field,
			                "cannot read the header line: %s",
			                hrec.problem ? pb__csv_problem_text(hrec.problem)
			                             : "it is longer than the record limit");
			free(hf);
			free(names);
			goto out;
		}
		size_t bad;
		if (!pb_utf8_valid(cur->buf + off, hl, &bad)) {
			st = pb__err_at(err, PB_EFORMAT, src.name, 1, 0,
			                "the header line is not valid UTF-8 (byte %zu): not a CSV usage "
			                "export",
			                bad + 1);
			free(hf);
			free(names);
			goto out;
		}
		hdr_scratch = malloc(hl + 1);
		in.colnames = calloc(hrec.nfields, sizeof(char *));
		if (!hdr_scratch || !in.colnames) {
			free(hf);
			free(names);
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		size_t so = 0;
		for (size_t i = 0; i < hrec.nfields; i++) {
			size_t n = pb__csv_unescape(&hf[i], hdr_scratch + so, hl + 1 - so);
			names[i] = pb_str_trim(pb_str_of(hdr_scratch + so, n));
			in.colnames[i] = pb__strndup(names[i].ptr, names[i].len);
			so += n;
		}
		in.ncolnames = hrec.nfields;
		st = pb__focus_map_header(names, hrec.nfields, &in.map, missing, sizeof(missing), err);
		free(hf);
		free(names);
		if (st) {
			err->line = 1;
			pb__strlcpy(err->file, src.name, sizeof(err->file));
			goto out;
		}
		cur->off = off + hl;
		cur->line0 = 1 + (hrec.lines ? hrec.lines : 1);
	}
	pb__strlcpy(rep->missing_mandatory, missing, sizeof(rep->missing_mandatory));
	pb__strlcpy(rep->format, in.map.format, sizeof(rep->format));
	pb__strlcpy(rep->version, in.map.version, sizeof(rep->version));
	rep->columns = in.map.ncols;
	rep->columns_ignored = in.map.ignored;

	/* workers */
	pthread_mutex_init(&in.mu, NULL);
	pthread_cond_init(&in.cv_work, NULL);
	pthread_cond_init(&in.cv_done, NULL);
	mu_init = true;
	in.nworkers = threads;
	for (unsigned i = 0; i < threads; i++) {
		struct worker *w = &in.workers[i];
		w->in = &in;
		w->fields = calloc(MAX_FIELDS, sizeof(*w->fields));
		w->kb = malloc(KEY_MAX);
		if (!w->fields || !w->kb ||
		    pb__focus_ctx_init(&w->fx, &in.map, cat, chunk_size) != PB_OK) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (unsigned i = 1; i < threads; i++) {
		if (pthread_create(&in.workers[i].th, NULL, worker_main, &in.workers[i]) != 0) {
			st = pb__err(err, PB_ENOMEM, "cannot start a thread");
			goto out;
		}
		in.workers[i].started = true;
	}

	/* the read loop: cut, queue, help, collect */
	uint64_t seq = 0, next_collect = 0, line = cur->line0;
	bool io_fail = false;
	cur->state = CH_FILLING;
	for (;;) {
		/* cur holds [off, len) of fresh bytes, full unless at the end of the
		 * input; cut after the last whole record */
		uint64_t lines = 0;
		size_t avail = cur->len - cur->off;
		size_t cut;
		if (eof) {
			cut = avail;
			lines = pb__csv_count_lf(cur->buf + cur->off, avail);
		} else {
			cut = pb__csv_cut(cur->buf + cur->off, avail, &lines);
			if (cut == 0 || avail - cut > in.max_record) {
				st = pb__err_at(err, PB_ELIMIT, src.name, line + lines, 0,
				                "a record is longer than %zu bytes (an unbalanced quote?); "
				                "raise the limit with --max-record",
				                in.max_record);
				goto out;
			}
		}
		struct chunk *next = NULL;
		if (!eof) {
			/* find a free buffer for the rest, helping or waiting meanwhile */
			pthread_mutex_lock(&in.mu);
			for (;;) {
				if (!collect(&in, &next_collect, rep, &rejf, &have_rejf, &rejs, &nrej, &caprej,
				             &reasons, err, &io_fail)) {
					pthread_mutex_unlock(&in.mu);
					st = err ? err->code : PB_EIO;
					if (err && err->line)
						pb__strlcpy(err->file, src.name, sizeof(err->file));
					goto out;
				}
				for (size_t i = 0; i < in.nchunks && !next; i++)
					if (in.chunks[i].state == CH_FREE)
						next = &in.chunks[i];
				if (next)
					break;
				if (in.qlen) {
					/* all buffers busy: parse one ourselves */
					struct chunk *h = in.queue[in.qhead];
					in.qhead = (in.qhead + 1) % in.nchunks;
					in.qlen--;
					h->state = CH_BUSY;
					pthread_mutex_unlock(&in.mu);
					process_chunk(&in.workers[0], h);
					pthread_mutex_lock(&in.mu);
					h->state = CH_DONE;
					continue;
				}
				pthread_cond_wait(&in.cv_done, &in.mu);
			}
			next->state = CH_FILLING;
			pthread_mutex_unlock(&in.mu);
			/* carry the partial record over */
			size_t rest = avail - cut;
			memcpy(next->buf, cur->buf + cur->off + cut, rest);
			next->off = 0;
			next->len = rest;
		}
		cur->len = cur->off + cut;
		cur->seq = seq++;
		cur->line0 = line;
		line += lines;
		/* queue it, or parse it here when there are no workers */
		pthread_mutex_lock(&in.mu);
		if (threads == 1) {
			cur->state = CH_BUSY;
			pthread_mutex_unlock(&in.mu);
			process_chunk(&in.workers[0], cur);
			pthread_mutex_lock(&in.mu);
			cur->state = CH_DONE;
		} else {
			in.queue[(in.qhead + in.qlen) % in.nchunks] = cur;
			in.qlen++;
			cur->state = CH_QUEUED;
			pthread_cond_signal(&in.cv_work);
		}
		pthread_mutex_unlock(&in.mu);
		if (opts->progress) {
			struct pb_progress pr = { src.raw_bytes, src.size, rep->rows_read,
				                  pb__mono() - t0 };
			if (!opts->progress(opts->progress_ctx, &pr)) {
				st = pb__err(err, PB_EINTR, "ingest of '%s' interrupted", src.name);
				goto out;
			}
		}
		if (eof)
			break;
		cur = next;
		if ((st = fill(&src, cur->buf, cur->cap, &cur->len, &eof, err))) {
			st = read_failed(&src, path, expect_sha, st, err);
			goto out;
		}
	}
	/* drain: help with what is queued, then wait for the rest */
	pthread_mutex_lock(&in.mu);
	in.stop = true;
	pthread_cond_broadcast(&in.cv_work);
	for (;;) {
		if (!collect(&in, &next_collect, rep, &rejf, &have_rejf, &rejs, &nrej, &caprej, &reasons,
		             err, &io_fail)) {
			pthread_mutex_unlock(&in.mu);
			st = err ? err->code : PB_EIO;
			if (err && err->line)
				pb__strlcpy(err->file, src.name, sizeof(err->file));
			goto out;
		}
		if (next_collect == seq)
			break;
		if (in.qlen) {
			struct chunk *h = in.queue[in.qhead];
			in.qhead = (in.qhead + 1) % in.nchunks;
			in.qlen--;
			h->state = CH_BUSY;
			pthread_mutex_unlock(&in.mu);
			process_chunk(&in.workers[0], h);
			pthread_mutex_lock(&in.mu);
			h->state = CH_DONE;
			continue;
		}
		pthread_cond_wait(&in.cv_done, &in.mu);
	}
	pthread_mutex_unlock(&in.mu);
	for (unsigned i = 1; i < threads; i++)
		if (in.workers[i].started) {
			pthread_join(in.workers[i].th, NULL);
			in.workers[i].started = false;
		}

	/* hash and compare */
	uint8_t digest[32];
	pb__source_digest(&src, digest);
	pb_hex(digest, 32, rep->sha256);
	rep->size = src.raw_bytes;

	/* merge the workers' tables and warning counts */
	if ((st = pb__focus_ctx_init(&fxsum, &in.map, cat, 16)) != PB_OK) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	fxsum_init = true;
	for (unsigned i = 0; i < threads; i++) {
		struct worker *w = &in.workers[i];
		for (size_t j = 0; j < w->tab.n; j++) {
			struct agg *a = &w->tab.v[j];
			struct agg *d = aggtab_get(&all, w->tab.keys + a->koff, a->klen, a->hash);
			if (!d) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				goto out;
			}
			if (!agg_merge(d, a)) {
				st = pb__err(err, PB_ELIMIT, "a daily sum is out of range (near line %llu)",
				             (unsigned long long)a->first);
				goto out;
			}
		}
		aggtab_release(&w->tab);
		for (int k = 0; k < FW_COUNT; k++)
			for (int c = 0; c <= FC_COUNT; c++) {
				uint64_t n = w->fx.warn_count[k][c];
				if (!n)
					continue;
				uint64_t l = w->fx.warn_line[k][c];
				if (fxsum.warn_count[k][c] == 0 || l < fxsum.warn_line[k][c])
					fxsum.warn_line[k][c] = l;
				fxsum.warn_count[k][c] += n;
			}
	}
	if (rep->rows_read != rep->rows_accepted + rep->rows_rejected) {
		st = pb__err(err, PB_EINVAL, "internal error: counts do not reconcile");
		goto out;
	}
	if (expect_sha && strcmp(expect_sha, rep->sha256) != 0) {
		st = pb__err(err, PB_EVERIFY,
		             "'%s' has changed: its SHA-256 is %s, the evidence cites %s", path,
		             rep->sha256, expect_sha);
		goto out;
	}
	st = finalize(ws, &in, &all, &src, rep->sha256, path, rejs, nrej, &reasons, &rejf, have_rejf,
	              have_copy ? &copy : NULL, rep, &fxsum, err);
	rep->seconds = pb__mono() - t0;
out:
	if (mu_init) {
		pthread_mutex_lock(&in.mu);
		in.stop = true;
		pthread_cond_broadcast(&in.cv_work);
		pthread_mutex_unlock(&in.mu);
	}
	if (in.workers) {
		for (unsigned i = 0; i < threads; i++) {
			struct worker *w = &in.workers[i];
			if (w->started)
				pthread_join(w->th, NULL);
			aggtab_release(&w->tab);
			if (w->fx.scratch)
				pb__focus_ctx_release(&w->fx);
			free(w->fields);
			free(w->kb);
		}
		free(in.workers);
	}
	if (mu_init) {
		pthread_mutex_destroy(&in.mu);
		pthread_cond_destroy(&in.cv_work);
		pthread_cond_destroy(&in.cv_done);
	}
	for (size_t i = 0; in.chunks && i < in.nchunks; i++) {
		free(in.chunks[i].buf);
		free(in.chunks[i].rej);
		pb_buf_release(&in.chunks[i].rej_csv);
		pb_buf_release(&in.chunks[i].reasons);
	}
	free(in.chunks);
	free(in.queue);
	for (size_t i = 0; in.colnames && i < in.ncolnames; i++)
		free(in.colnames[i]);
	free(in.colnames);
	free(hdr_scratch);
	for (size_t i = 0; i < nrej; i++)
		free(rejs[i]);
	free(rejs);
	pb_buf_release(&reasons);
	aggtab_release(&all);
	if (fxsum_init)
		pb__focus_ctx_release(&fxsum);
	if (src_open)
		pb__source_close(&src);
	tmpf_discard(&rejf);
	tmpf_discard(&copy);
	return st;
}

enum pb_status pb_usage_ingest(struct pb_ws *ws, const struct pb_catalog *cat, const char *path,
                               const struct pb_ingest_options *opts, struct pb_ingest_report *rep,
                               struct pb_error *err)
{
	return ingest(ws, cat, path, opts, rep, NULL, NULL, NULL, err);
}

enum pb_status pb__usage_recompute(struct pb_ws *ws, const struct pb_catalog *cat,
                                   const char *path, const char *expect_sha,
                                   pb__usage_agg_fn fn, void *ctx, struct pb_error *err)
{
	struct pb_ingest_report rep;
	struct pb_ingest_options o = { 0 };
	enum pb_status st = ingest(ws, cat, path, &o, &rep, fn, ctx, expect_sha, err);
	pb_ingest_report_release(&rep);
	return st;
}

/* ===================================================================== */
/* listings                                                              */
/* ===================================================================== */

enum pb_status pb_usage_sources(struct pb_ws *ws, struct pb_source_info **out, size_t *n,
                                struct pb_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"SELECT id, sha256, size, name, coalesce(path, ''), compression, format, "
		"coalesce(focus_version, ''), ingested_at, rows_read, rows_accepted, rows_rejected, "
		"rows_with_warnings, coalesce(pb_day(first_day), ''), coalesce(pb_day(last_day), ''), "
		"names, coalesce(rejects_file, '') FROM source ORDER BY id",
		&q, err);
	if (st)
		return st;
	size_t cap = 0;
	struct pb_source_info *v = NULL;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		void *grown = pb__grow(v, &cap, *n, sizeof(*v));
		if (grown)
			v = grown;
		else {
			free(v);
			sqlite3_finalize(q);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		struct pb_source_info *s = &v[(*n)++];
		memset(s, 0, sizeof(*s));
		s->id = sqlite3_column_int64(q, 0);
		pb__col_text(q, 1, s->sha256, sizeof(s->sha256));
		s->size = (uint64_t)sqlite3_column_int64(q, 2);
		pb__col_text(q, 3, s->name, sizeof(s->name));
		pb__col_text(q, 4, s->path, sizeof(s->path));
		pb__col_text(q, 5, s->compression, sizeof(s->compression));
		pb__col_text(q, 6, s->format, sizeof(s->format));
		pb__col_text(q, 7, s->version, sizeof(s->version));
		pb__col_text(q, 8, s->ingested_at, sizeof(s->ingested_at));
		s->rows_read = (uint64_t)sqlite3_column_int64(q, 9);
		s->rows_accepted = (uint64_t)sqlite3_column_int64(q, 10);
		s->rows_rejected = (uint64_t)sqlite3_column_int64(q, 11);
		s->rows_with_warnings = (uint64_t)sqlite3_column_int64(q, 12);
		pb__col_text(q, 13, s->first_day, sizeof(s->first_day));
		pb__col_text(q, 14, s->last_day, sizeof(s->last_day));
		pb__col_text(q, 15, s->names, sizeof(s->names));
		pb__col_text(q, 16, s->rejects_file, sizeof(s->rejects_file));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free(v);
		*n = 0;
		return pb__db_err(ws->db, err, "cannot list sources");
	}
	*out = v;
	return PB_OK;
}

enum pb_status pb_usage_accounts(struct pb_ws *ws, struct pb_account_info **out, size_t *n,
                                 struct pb_error *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *q;
	/* sums per account from the aggregates; names and days from account */
	enum pb_status st = pb__db_prepare(
		ws->db,
		"WITH s AS (SELECT 'billing' AS kind, a.value AS id, '' AS billing, "
		"  pb_dsum(u.billed_cost) AS billed, count(DISTINCT u.currency) AS ncur, "
		"  max(cu.value) AS cur, sum(u.rows) AS rows FROM usage_day u JOIN dim a ON a.id = "
		"  u.account LEFT JOIN dim cu ON cu.id = u.currency GROUP BY u.account "
		" UNION ALL SELECT 'sub', s.value, a.value, pb_dsum(u.billed_cost), "
		"  count(DISTINCT u.currency), max(cu.value), sum(u.rows) FROM usage_day u "
		"  JOIN dim s ON s.id = u.subaccount JOIN dim a ON a.id = u.account "
		"  LEFT JOIN dim cu ON cu.id = u.currency GROUP BY u.subaccount, u.account) "
		"SELECT ac.kind, ac.account_id, ac.billing_account_id, coalesce(ac.name, ''), "
		" coalesce(ac.provider, ''), pb_day(ac.first_day), pb_day(ac.last_day), "
		" coalesce(s.billed, '0'), CASE WHEN s.ncur = 1 THEN s.cur ELSE '' END, "
		" coalesce(s.rows, 0), coalesce((SELECT c.name FROM customer_account ca JOIN customer c "
		"  ON c.id = ca.customer_id WHERE ca.account_id = ac.account_id AND ca.kind = ac.kind), "
		"  (SELECT c.name FROM customer_account ca JOIN customer c ON c.id = ca.customer_id "
		"  WHERE ac.kind = 'sub' AND ca.kind = 'billing' AND ca.account_id = "
		"  ac.billing_account_id), '') "
		"FROM account ac LEFT JOIN s ON s.kind = ac.kind AND s.id = ac.account_id AND "
		" s.billing = ac.billing_account_id "
		"ORDER BY ac.kind, ac.billing_account_id, ac.account_id",
		&q, err);
	if (st)
		return st;
	size_t cap = 0;
	struct pb_account_info *v = NULL;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		void *grown = pb__grow(v, &cap, *n, sizeof(*v));
		if (grown)
			v = grown;
		else {
			free(v);
			sqlite3_finalize(q);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		struct pb_account_info *a = &v[(*n)++];
		memset(a, 0, sizeof(*a));
		pb__col_text(q, 0, a->kind, sizeof(a->kind));
		pb__col_text(q, 1, a->account_id, sizeof(a->account_id));
		pb__col_text(q, 2, a->billing_account_id, sizeof(a->billing_account_id));
		pb__col_text(q, 3, a->name, sizeof(a->name));
		pb__col_text(q, 4, a->provider, sizeof(a->provider));
		pb__col_text(q, 5, a->first_day, sizeof(a->first_day));
		pb__col_text(q, 6, a->last_day, sizeof(a->last_day));
		pb__col_text(q, 7, a->billed_cost, sizeof(a->billed_cost));
		pb__col_text(q, 8, a->currency, sizeof(a->currency));
		a->rows = (uint64_t)sqlite3_column_int64(q, 9);
		pb__col_text(q, 10, a->customer, sizeof(a->customer));
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		free(v);
		*n = 0;
		return pb__db_err(ws->db, err, "cannot list accounts");
	}
	*out = v;
	return PB_OK;
}
