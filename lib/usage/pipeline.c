/* pipeline.c - reading an ingest's input: the header, then chunks of whole
 * CSV records parsed and checked by worker threads into their own aggregate
 * tables, which also compute the leaves of the input's tree hash.
 *
 * The calling thread reads the input (decompressing and hashing it once),
 * cuts it into chunks of whole CSV records and queues them; worker threads
 * parse and check the records of a chunk and add each accepted row to their
 * own aggregate table, keyed by the raw bytes of the row's key fields and its
 * day (aggtab.c). The reader parses chunks itself when the queue is full, so
 * every thread stays busy whichever side is slower. Results of a chunk
 * (counts, rejected rows) are collected in chunk order, so the rejects file
 * lists rows in file order whatever the threads did. Nothing here touches the
 * workspace but the unnamed rejects file and copy of a piped input.
 *
 * The tree hash (tree.h) cuts the decompressed stream at fixed offsets, k *
 * tree_chunk, which know nothing of records. So the reader fills each chunk
 * buffer only up to such an offset (or the end of the input): the bytes
 * after the last whole record are copied into the next buffer as ever, but
 * the leaves are split by fill, not by cut. A buffer hashes the leaves that
 * start between the previous buffer's fill end and its own, all of which it
 * holds whole; the leaf hashes are collected in chunk order. A buffer holds
 * at least max_record + 2 * tree_chunk bytes, so every fill moves on by at
 * least one leaf whatever the carried-over record. */
#include "usage/usage_internal.h"

#include <stdlib.h>
#include <unistd.h>

#include "util/banned.h"

const char *pb__ingest_colname(const struct pb_ingest *in, uint32_t field)
{
	if (field >= 1 && field <= in->ncolnames)
		return in->colnames[field - 1];
	return "";
}

/* ---- one chunk -------------------------------------------------------- */

bool pb__ingest_rej_add(struct pb_chunk *ch, uint64_t line, uint32_t field, const char *reason,
                    const char *rec, size_t rec_len, const char *colname)
{
	void *grown = pb__grow(ch->rej, &ch->caprej, ch->nrej, sizeof(*ch->rej));
	if (!grown)
		return false;
	ch->rej = grown;
	struct pb_rej *r = &ch->rej[ch->nrej++];
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

enum pb_row_fate pb__ingest_take_row(struct pb_worker *w, const char *rs, size_t rl,
                              const struct pb_csv_record *rec, uint64_t line, char *reason,
                              size_t cap, uint32_t *bad, bool *warned)
{
	if (rec->problem) {
		*bad = rec->problem_field;
		snprintf(reason, cap, "%s", pb__csv_problem_text(rec->problem));
		return ROW_REJECTED;
	}
	size_t badoff;
	if (!pb_utf8_valid(rs, rl, &badoff)) {
		/* find the field holding the bad byte */
		const char *at = rs + badoff;
		*bad = 1;
		for (size_t i = 0; i < rec->nfields; i++)
			if (at >= w->fields[i].ptr)
				*bad = (uint32_t)i + 1;
		snprintf(reason, cap, "invalid UTF-8 (byte %zu of the record)", badoff + 1);
		return ROW_REJECTED;
	}
	struct pb_focus_row row;
	if (!pb__focus_row(&w->fx, w->fields, rec->nfields, line, &row, reason, cap, bad, warned))
		return ROW_REJECTED;
	const struct pb_str *kf[] = { &row.account,  &row.account_name, &row.subaccount,
		                      &row.subaccount_name, &row.provider, &row.service,
		                      &row.sku_meter, &row.region, &row.region_name,
		                      &row.unit,     &row.currency };
	for (size_t i = 0; i < PB_ARRAY_LEN(kf); i++)
		if (kf[i]->len > PB_USAGE_KEY_FIELD_MAX) {
			snprintf(reason, cap, "a key field is longer than %d bytes",
			         PB_USAGE_KEY_FIELD_MAX);
			*bad = 0;
			return ROW_REJECTED;
		}
	int32_t day = (int32_t)pb_floordiv(row.start, 86400);
	size_t kl = pb__usage_key_build(w->kb, day, &row);
	uint64_t h = pb__usage_key_hash(w->kb, kl);
	struct pb_agg *a = pb__aggtab_get(&w->tab, w->kb, kl, h);
	if (!a)
		return ROW_FAILED;
	struct pb_agg one = { 0 };
	one.q = row.quantity;
	one.billed = row.billed;
	one.eff = row.effective;
	one.list = row.list;
	one.rows = 1;
	one.first = one.last = line;
	if (!pb__agg_merge(a, &one)) {
		snprintf(reason, cap, "a sum would leave the range of +-1.7e23");
		*bad = 0;
		return ROW_REJECTED;
	}
	return ROW_ACCEPTED;
}

/* Parses, checks and sums the records of a chunk; rejected rows go to its
 * rejects. Stops at a record over max_record (ch->too_long) or when out of
 * memory (ch->failed). */
static void process_chunk(struct pb_worker *w, struct pb_chunk *ch)
{
	struct pb_ingest *in = w->in;
	if (ch->pq_rg) {
		pb__pq_ingest_rg(w, ch);
		return;
	}
	size_t tn = ch->tree_hi - ch->tree_lo;
	pb__mth_leaves(ch->buf + ch->tree_lo, tn, in->tree_chunk, ch->leaf);
	ch->nleaf = (tn + in->tree_chunk - 1) / in->tree_chunk;
	const char *p = ch->buf + ch->off, *end = ch->buf + ch->len;
	uint64_t line = ch->line0;
	char reason[512];
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
		p = pb__csv_parse_record(p, end, w->fields, PB_USAGE_MAX_FIELDS, &rec);
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
		enum pb_row_fate fate =
			pb__ingest_take_row(w, rs, rl, &rec, this_line, reason, sizeof(reason), &bad, &warned);
		if (fate == ROW_ACCEPTED) {
			ch->accepted++;
			ch->warned += warned;
			continue;
		}
		if (fate == ROW_REJECTED) {
			ch->rejected++;
			if (pb__ingest_rej_add(ch, this_line, bad, reason, rs, rl, pb__ingest_colname(in, bad)))
				continue;
		}
		ch->failed = true;
		return;
	}
}

/* ---- the threads ------------------------------------------------------ */

/* With in->mu held and a chunk queued: takes the next one and parses it on
 * this thread (the lock is released meanwhile). */
static void parse_next(struct pb_ingest *in, struct pb_worker *w)
{
	struct pb_chunk *ch = in->queue[in->qhead];
	in->qhead = (in->qhead + 1) % in->nchunks;
	in->qlen--;
	ch->state = CH_BUSY;
	pthread_mutex_unlock(&in->mu);
	process_chunk(w, ch);
	pthread_mutex_lock(&in->mu);
	ch->state = CH_DONE;
}

static void *worker_main(void *arg)
{
	struct pb_worker *w = arg;
	struct pb_ingest *in = w->in;
	pthread_mutex_lock(&in->mu);
	for (;;) {
		while (!in->qlen && !in->stop)
			pthread_cond_wait(&in->cv_work, &in->mu);
		if (!in->qlen && in->stop)
			break;
		parse_next(in, w);
		pthread_cond_broadcast(&in->cv_done);
	}
	pthread_mutex_unlock(&in->mu);
	return NULL;
}

enum pb_status pb__ingest_start_workers(struct pb_ingest *in, struct pb_error *err)
{
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv_work, NULL);
	pthread_cond_init(&in->cv_done, NULL);
	in->mu_init = true;
	for (unsigned i = 0; i < in->threads; i++) {
		struct pb_worker *w = &in->workers[i];
		w->in = in;
		w->fields = calloc(PB_USAGE_MAX_FIELDS, sizeof(*w->fields));
		w->kb = malloc(PB_USAGE_KEY_MAX);
		if (!w->fields || !w->kb ||
		    pb__focus_ctx_init(&w->fx, &in->map, in->cat, in->chunk_size) != PB_OK)
			return pb__err(err, PB_ENOMEM, "out of memory");
	}
	for (unsigned i = 1; i < in->threads; i++) {
		if (pthread_create(&in->workers[i].th, NULL, worker_main, &in->workers[i]) != 0)
			return pb__err(err, PB_ENOMEM, "cannot start a thread");
		in->workers[i].started = true;
	}
	return PB_OK;
}

/* Tells the workers to stop once the queue is empty and waits for them. */
void pb__ingest_stop_workers(struct pb_ingest *in)
{
	if (in->mu_init) {
		pthread_mutex_lock(&in->mu);
		in->stop = true;
		pthread_cond_broadcast(&in->cv_work);
		pthread_mutex_unlock(&in->mu);
	}
	for (unsigned i = 1; in->workers && i < in->threads; i++)
		if (in->workers[i].started) {
			pthread_join(in->workers[i].th, NULL);
			in->workers[i].started = false;
		}
}

/* ---- the input -------------------------------------------------------- */

static unsigned cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Opens a file linked into place at commit, in the workspace folder sub. */
static enum pb_status open_ws_tmpf(struct pb_ingest *in, struct pb_tmpf *t, const char *sub,
                                   struct pb_error *err)
{
	char *dir = pb__ws_file(in->ws, sub);
	if (!dir)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = pb__tmpf_open(t, dir, err);
	free(dir);
	return st;
}

/* Opens the input (keeping a copy of a pipe), the rejects file, and the
 * chunk buffers: enough for every thread to hold one and the queue to be full. */
enum pb_status pb__ingest_open_input(struct pb_ingest *in, struct pb_error *err)
{
	const struct pb_ingest_options *opts = in->opts;
	in->max_record = opts->max_record ? opts->max_record : PB_USAGE_DEFAULT_MAX_RECORD;
	in->chunk_size = opts->chunk_size ? opts->chunk_size : PB_USAGE_DEFAULT_CHUNK;
	if (in->chunk_size < 2 * in->max_record + 4096)
		in->chunk_size = 2 * in->max_record + 4096;
	if (!in->tree_chunk)
		in->tree_chunk = opts->tree_chunk ? opts->tree_chunk : PB_TREE_CHUNK_DEFAULT;
	if (in->tree_chunk < PB_TREE_CHUNK_MIN || in->tree_chunk > PB_TREE_CHUNK_MAX) {
		pb__err(err, PB_EINVAL, "the tree hash chunk must be from %u to %u bytes, not %zu",
		        PB_TREE_CHUNK_MIN, PB_TREE_CHUNK_MAX, in->tree_chunk);
		if (err)
			pb__strlcpy(err->field, "tree_chunk", sizeof(err->field));
		return PB_EINVAL;
	}
	if (in->chunk_size < in->max_record + 2 * in->tree_chunk + 4096)
		in->chunk_size = in->max_record + 2 * in->tree_chunk + 4096;
	pb__mth_init(&in->data_tree, in->tree_chunk, true);
	in->threads = opts->threads ? opts->threads : cpu_count();
	if (in->threads > 64)
		in->threads = 64;
	in->rep->threads = in->threads;

	enum pb_status st;
	if (strcmp(in->path, "-") == 0 && !in->recompute &&
	    (st = open_ws_tmpf(in, &in->copy, PB_WS_SOURCES, err)))
		return st;
	if ((st = pb__source_open_hashed(&in->src, in->path, in->copy.fd, in->tree_chunk,
	                                 in->want_flat, err)))
		return st;
	in->src_open = true;
	pb__strlcpy(in->rep->compression, pb__source_container(&in->src),
	            sizeof(in->rep->compression));
	if (!in->recompute && (st = open_ws_tmpf(in, &in->rejf, PB_WS_REJECTS, err)))
		return st;

	in->nchunks = 2 * (size_t)in->threads + 2;
	in->chunks = calloc(in->nchunks, sizeof(*in->chunks));
	in->queue = calloc(in->nchunks, sizeof(*in->queue));
	in->workers = calloc(in->threads, sizeof(*in->workers));
	if (!in->chunks || !in->queue || !in->workers)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < in->nchunks; i++) {
		in->chunks[i].cap = in->chunk_size;
		in->chunks[i].buf = malloc(in->chunk_size);
		in->chunks[i].leaf = malloc((in->chunk_size / in->tree_chunk + 2) * 32);
		pb_buf_init(&in->chunks[i].rej_csv, SIZE_MAX / 2);
		pb_buf_init(&in->chunks[i].reasons, SIZE_MAX / 2);
		if (!in->chunks[i].buf || !in->chunks[i].leaf)
			return pb__err(err, PB_ENOMEM, "out of memory");
	}
	return PB_OK;
}

void pb__ingest_release_input(struct pb_ingest *in)
{
	pb__ingest_stop_workers(in);
	pb__pq_ingest_release(in);
	for (unsigned i = 0; in->workers && i < in->threads; i++) {
		struct pb_worker *w = &in->workers[i];
		pb__aggtab_release(&w->tab);
		if (w->fx.scratch)
			pb__focus_ctx_release(&w->fx);
		free(w->fields);
		free(w->kb);
	}
	free(in->workers);
	if (in->mu_init) {
		pthread_mutex_destroy(&in->mu);
		pthread_cond_destroy(&in->cv_work);
		pthread_cond_destroy(&in->cv_done);
	}
	for (size_t i = 0; in->chunks && i < in->nchunks; i++) {
		free(in->chunks[i].buf);
		free(in->chunks[i].leaf);
		free(in->chunks[i].rej);
		pb_buf_release(&in->chunks[i].rej_csv);
		pb_buf_release(&in->chunks[i].reasons);
	}
	free(in->chunks);
	free(in->queue);
	for (size_t i = 0; in->colnames && i < in->ncolnames; i++)
		free(in->colnames[i]);
	free(in->colnames);
	free(in->hdr_scratch);
	for (size_t i = 0; i < in->nrej; i++)
		free(in->rejs[i]);
	free(in->rejs);
	pb_buf_release(&in->reasons);
	pb__aggtab_release(&in->all);
	pb__mth_release(&in->data_tree);
	if (in->fxsum_init)
		pb__focus_ctx_release(&in->fxsum);
	if (in->src_open)
		pb__source_close(&in->src);
	pb__tmpf_discard(&in->rejf);
	pb__tmpf_discard(&in->copy);
}

/* When checking evidence (expect_sha), a compressed source that no longer
 * decodes is reported as changed if its bytes are not the cited ones (the
 * read error goes with it); else the read error stands. */
static enum pb_status read_failed(struct pb_ingest *in, enum pb_status st, struct pb_error *err)
{
	struct pb_error e2 = { 0 };
	if (!in->expect_sha || (!in->want_flat && in->src.comp == PB_COMP_NONE) ||
	    pb__source_hash_rest(&in->src, &e2) != PB_OK)
		return st;
	uint8_t d[32];
	char hex[65];
	if (in->want_flat)
		pb__source_digest(&in->src, d);
	else if (pb__source_tree_root(&in->src, d) != PB_OK)
		return st;
	pb_hex(d, 32, hex);
	if (strcmp(hex, in->expect_sha) == 0)
		return st;
	char was[sizeof(err->message)];
	pb__strlcpy(was, err ? err->message : "", sizeof(was));
	return pb__err(err, PB_EVERIFY,
	               "'%s' has changed: the file's %s is %s, not the cited %s (reading it: %s)",
	               in->path, in->want_flat ? "SHA-256" : "tree hash root", hex, in->expect_sha,
	               was);
}

/* Reads until ch holds its capacity rounded down to a leaf boundary of the
 * stream, or the input ends (in->eof); then gives ch the leaves to hash. */
static enum pb_status fill(struct pb_ingest *in, struct pb_chunk *ch, struct pb_error *err)
{
	uint64_t base = in->src.out_bytes - ch->len; /* stream offset of buf[0] */
	size_t want = (size_t)((base + ch->cap) / in->tree_chunk * in->tree_chunk - base);
	while (ch->len < want) {
		size_t n;
		enum pb_status st = pb__source_read(&in->src, ch->buf + ch->len, want - ch->len, &n,
		                                    err);
		if (st)
			return read_failed(in, st, err);
		if (n == 0) {
			in->eof = true;
			break;
		}
		ch->len += n;
	}
	ch->tree_lo = (size_t)(in->tree_done - base);
	ch->tree_hi = ch->len;
	in->tree_done = base + ch->len;
	return PB_OK;
}

/* A record over the limit: the error names the argument that raises it. */
static enum pb_status too_long(struct pb_ingest *in, uint64_t line, struct pb_error *err)
{
	pb__err_at(err, PB_ELIMIT, in->src.name, line, 0,
	           "a record is longer than %zu bytes (an unbalanced quote?); raise 'max_record'",
	           in->max_record);
	if (err)
		pb__strlcpy(err->field, "max_record", sizeof(err->field));
	return PB_ELIMIT;
}

/* ---- the header ------------------------------------------------------- */

/* The start of the input is text: not empty, no NUL byte. */
static enum pb_status check_text(struct pb_ingest *in, const struct pb_chunk *ch, size_t off,
                                 struct pb_error *err)
{
	if (ch->len == off)
		return pb__err_at(err, PB_EFORMAT, in->src.name, 1, 0,
		                  "the file is empty: expected a CSV header line");
	size_t n = ch->len - off < 4096 ? ch->len - off : 4096;
	const char *nul = memchr(ch->buf + off, '\0', n);
	if (nul)
		return pb__err_at(err, PB_EFORMAT, in->src.name, 1, 0,
		                  "not a text file: a NUL byte at offset %zu; expected a CSV usage "
		                  "export",
		                  (size_t)(nul - ch->buf));
	return PB_OK;
}

/* The column names of the header record (hl bytes at h, parsed into hf),
 * unescaped and trimmed, into names and in->colnames; then their mapping. */
static enum pb_status map_header(struct pb_ingest *in, const char *h, size_t hl,
                                 const struct pb_csv_field *hf, size_t nf, struct pb_str *names,
                                 struct pb_error *err)
{
	size_t bad;
	if (!pb_utf8_valid(h, hl, &bad))
		return pb__err_at(err, PB_EFORMAT, in->src.name, 1, 0,
		                  "the header line is not valid UTF-8 (byte %zu): not a CSV usage "
		                  "export",
		                  bad + 1);
	in->hdr_scratch = malloc(hl + 1);
	in->colnames = calloc(nf, sizeof(char *));
	if (!in->hdr_scratch || !in->colnames)
		return pb__err(err, PB_ENOMEM, "out of memory");
	size_t so = 0;
	for (size_t i = 0; i < nf; i++) {
		size_t n = pb__csv_unescape(&hf[i], in->hdr_scratch + so, hl + 1 - so);
		names[i] = pb_str_trim(pb_str_of(in->hdr_scratch + so, n));
		in->colnames[i] = pb__strndup(names[i].ptr, names[i].len);
		so += n;
	}
	in->ncolnames = nf;
	return pb__ingest_map_names(in, names, nf, err);
}

enum pb_status pb__ingest_map_names(struct pb_ingest *in, const struct pb_str *names, size_t nf,
                                    struct pb_error *err)
{
	char missing[1024] = "";
	enum pb_status st =
		pb__focus_map_header(names, nf, &in->map, missing, sizeof(missing), err);
	if (st) {
		if (err) {
			err->line = 1;
			pb__strlcpy(err->file, in->src.name, sizeof(err->file));
		}
		return st;
	}
	struct pb_ingest_report *rep = in->rep;
	pb__strlcpy(rep->missing_mandatory, missing, sizeof(rep->missing_mandatory));
	pb__strlcpy(rep->format, in->map.format, sizeof(rep->format));
	pb__strlcpy(rep->version, in->map.version, sizeof(rep->version));
	rep->columns = in->map.ncols;
	rep->columns_ignored = in->map.ignored;
	return PB_OK;
}

/* Reads the first chunk and its header line; the rows start in chunks[0]
 * after it. */
enum pb_status pb__ingest_read_header(struct pb_ingest *in, struct pb_error *err)
{
	if (in->src.parquet)
		return pb__pq_ingest_open(in, err);
	struct pb_chunk *cur = &in->chunks[0];
	cur->len = 0;
	enum pb_status st = fill(in, cur, err);
	if (st)
		return st;
	size_t off = 0;
	if (cur->len >= 3 && memcmp(cur->buf, "\xEF\xBB\xBF", 3) == 0)
		off = 3;
	if ((st = check_text(in, cur, off, err)))
		return st;
	struct pb_csv_field *hf = calloc(PB_USAGE_MAX_FIELDS, sizeof(*hf));
	struct pb_str *names = calloc(PB_USAGE_MAX_FIELDS, sizeof(*names));
	if (!hf || !names) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	struct pb_csv_record hrec;
	const char *hend = pb__csv_parse_record(cur->buf + off, cur->buf + cur->len, hf,
	                                        PB_USAGE_MAX_FIELDS, &hrec);
	size_t hl = (size_t)(hend - (cur->buf + off));
	if (hrec.problem || (!in->eof && hrec.lines == 0) || hl > in->max_record) {
		st = pb__err_at(err, PB_EFORMAT, in->src.name, 1, hrec.problem_field,
		                "cannot read the header line: %s",
		                hrec.problem ? pb__csv_problem_text(hrec.problem)
		                             : "it is longer than the record limit");
		goto out;
	}
	if ((st = map_header(in, cur->buf + off, hl, hf, hrec.nfields, names, err)))
		goto out;
	cur->off = off + hl;
	cur->line0 = 1 + (hrec.lines ? hrec.lines : 1);
out:
	free(hf);
	free(names);
	return st;
}

/* ---- collecting finished chunks in order ------------------------------- */

/* Appends the rejects of a chunk to the rejects file and the ingest's list. */
static enum pb_status keep_rejects(struct pb_ingest *in, const struct pb_chunk *ch,
                                   struct pb_error *err)
{
	enum pb_status st;
	if (!in->have_rejf) {
		in->have_rejf = true;
		static const char head[] = "line,column,reason,record\n";
		if ((st = pb__tmpf_write(&in->rejf, head, sizeof(head) - 1, err)))
			return st;
	}
	if ((st = pb__tmpf_write(&in->rejf, ch->rej_csv.data, ch->rej_csv.len, err)))
		return st;
	size_t base = in->reasons.len;
	if (pb_buf_add(&in->reasons, ch->reasons.data, ch->reasons.len))
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < ch->nrej; i++) {
		void *grown = pb__grow(in->rejs, &in->caprej, in->nrej, sizeof(*in->rejs));
		struct pb_rej *r = grown ? malloc(sizeof(*r)) : NULL;
		if (grown)
			in->rejs = grown;
		if (!r)
			return pb__err(err, PB_ENOMEM, "out of memory");
		*r = ch->rej[i];
		r->reason_off += base;
		in->rejs[in->nrej++] = r;
	}
	return PB_OK;
}

/* With in->mu held: collects the finished chunks that are next in order,
 * adding their counts to the report and freeing them for reuse. */
static enum pb_status collect(struct pb_ingest *in, struct pb_error *err)
{
	struct pb_ingest_report *rep = in->rep;
	for (;;) {
		struct pb_chunk *ch = NULL;
		for (size_t i = 0; i < in->nchunks; i++)
			if (in->chunks[i].state == CH_DONE && in->chunks[i].seq == in->next_collect)
				ch = &in->chunks[i];
		if (!ch)
			return PB_OK;
		if (ch->failed)
			return pb__err(err, PB_ENOMEM, "out of memory while ingesting");
		if (ch->has_err) {
			if (err)
				*err = ch->err;
			return ch->err.code;
		}
		if (ch->too_long)
			return too_long(in, ch->too_long, err);
		rep->rows_read += ch->rows;
		rep->rows_accepted += ch->accepted;
		rep->rows_rejected += ch->rejected;
		rep->rows_with_warnings += ch->warned;
		rep->blank_lines += ch->blank;
		for (size_t i = 0; i < ch->nleaf; i++)
			pb__mth_add_leaf(&in->data_tree, ch->leaf[i]);
		ch->nleaf = 0;
		enum pb_status st;
		if (ch->nrej && in->rejf.fd >= 0 && (st = keep_rejects(in, ch, err)))
			return st;
		ch->rows = ch->accepted = ch->rejected = ch->warned = ch->blank = 0;
		ch->nrej = 0;
		pb_buf_reset(&ch->rej_csv);
		pb_buf_reset(&ch->reasons);
		ch->state = CH_FREE;
		in->next_collect++;
	}
}

/* ---- the read loop ---------------------------------------------------- */

/* A free chunk buffer for the rest of the input, collecting finished chunks
 * and parsing queued ones on this thread while none is free. */
static enum pb_status next_free(struct pb_ingest *in, struct pb_chunk **next,
                                struct pb_error *err)
{
	*next = NULL;
	pthread_mutex_lock(&in->mu);
	for (;;) {
		enum pb_status st = collect(in, err);
		if (st) {
			pthread_mutex_unlock(&in->mu);
			return st;
		}
		for (size_t i = 0; i < in->nchunks && !*next; i++)
			if (in->chunks[i].state == CH_FREE)
				*next = &in->chunks[i];
		if (*next)
			break;
		if (in->qlen)
			parse_next(in, &in->workers[0]); /* all buffers busy: help */
		else
			pthread_cond_wait(&in->cv_done, &in->mu);
	}
	(*next)->state = CH_FILLING;
	pthread_mutex_unlock(&in->mu);
	return PB_OK;
}

/* Queues a cut chunk, or parses it here when there are no workers. */
static void submit(struct pb_ingest *in, struct pb_chunk *ch)
{
	pthread_mutex_lock(&in->mu);
	if (in->threads == 1) {
		ch->state = CH_BUSY;
		pthread_mutex_unlock(&in->mu);
		process_chunk(&in->workers[0], ch);
		pthread_mutex_lock(&in->mu);
		ch->state = CH_DONE;
	} else {
		in->queue[(in->qhead + in->qlen) % in->nchunks] = ch;
		in->qlen++;
		ch->state = CH_QUEUED;
		pthread_cond_signal(&in->cv_work);
	}
	pthread_mutex_unlock(&in->mu);
}

/* With in->mu held: collects finished chunks until done(in), parsing queued
 * ones on this thread meanwhile, or waiting for one to finish. */
static enum pb_status help_until(struct pb_ingest *in, bool (*done)(struct pb_ingest *),
                                 struct pb_error *err)
{
	enum pb_status st;
	while (!(st = collect(in, err)) && !done(in)) {
		if (in->qlen)
			parse_next(in, &in->workers[0]);
		else
			pthread_cond_wait(&in->cv_done, &in->mu);
	}
	return st;
}

static bool all_collected(struct pb_ingest *in)
{
	return in->next_collect == in->seq;
}

/* After the last chunk: helps with what is queued, collects everything. */
static enum pb_status drain(struct pb_ingest *in, struct pb_error *err)
{
	pthread_mutex_lock(&in->mu);
	in->stop = true;
	pthread_cond_broadcast(&in->cv_work);
	enum pb_status st = help_until(in, all_collected, err);
	pthread_mutex_unlock(&in->mu);
	return st;
}

/* Cuts chunk cur after its last whole record, carrying the partial record
 * over into a free chunk (*next, NULL at the end of the input). */
static enum pb_status cut(struct pb_ingest *in, struct pb_chunk *cur, uint64_t *line,
                          struct pb_chunk **next, struct pb_error *err)
{
	uint64_t lines = 0;
	size_t avail = cur->len - cur->off, n;
	*next = NULL;
	if (in->eof) {
		n = avail;
		lines = pb__csv_count_lf(cur->buf + cur->off, avail);
	} else {
		n = pb__csv_cut(cur->buf + cur->off, avail, &lines);
		if (n == 0 || avail - n > in->max_record)
			return too_long(in, *line + lines, err);
		enum pb_status st = next_free(in, next, err);
		if (st)
			return st;
		size_t rest = avail - n;
		memcpy((*next)->buf, cur->buf + cur->off + n, rest);
		(*next)->off = 0;
		(*next)->len = rest;
	}
	cur->len = cur->off + n;
	cur->seq = in->seq++;
	cur->line0 = *line;
	*line += lines;
	return PB_OK;
}

/* Tells the caller's progress callback how far the input is read; it may
 * stop the ingest. */
static enum pb_status progress(struct pb_ingest *in, struct pb_error *err)
{
	const struct pb_ingest_options *o = in->opts;
	if (!o->progress)
		return PB_OK;
	struct pb_progress pr = { in->src.raw_bytes, in->src.size, in->rep->rows_read,
		                  pb__mono() - in->t0 };
	if (!o->progress(o->progress_ctx, &pr))
		return pb__err(err, PB_EINTR, "ingest of '%s' interrupted", in->src.name);
	return PB_OK;
}

static bool no_span(struct pb_ingest *in)
{
	return pb__pq_ingest_spans_live(in) == 0;
}

/* Waits, collecting finished chunks and parsing queued ones on this thread,
 * until no row group holds its bytes (pqingest.c): a streamed file is read
 * and decoded one group at a time, every thread on its slices. */
static enum pb_status span_room(struct pb_ingest *in, struct pb_error *err)
{
	pthread_mutex_lock(&in->mu);
	enum pb_status st = help_until(in, no_span, err);
	pthread_mutex_unlock(&in->mu);
	return st;
}

/* A Parquet input: chunks of rows of a row group, decoded by the workers.
 * With fewer than two row groups a thread, each is cut into slices of rows
 * so that every thread has work (over one decoded copy of the group that
 * the workers share: pqingest.c). A streamed file's bytes are read group by
 * group as they are reached, then its footer again; each group is cut into
 * a slice a thread, and the next read when it is done, so that one group's
 * bytes and decoded values are held at a time, whatever the threads (two
 * groups decoded at once held 20 MB more at two threads on the 1 GB bench
 * file, for the same CPU time). */
static enum pb_status read_row_groups(struct pb_ingest *in, struct pb_error *err)
{
	uint64_t before = 0;
	size_t ng = pb__pq_ingest_ngroups(in), slices = 1;
	if (in->threads > 1 && ng > 0 && ng < 2 * (size_t)in->threads)
		slices = (2 * (size_t)in->threads + ng - 1) / ng;
	if (in->pq_tail && slices < in->threads)
		slices = in->threads;
	for (size_t rg = 0; rg < ng; rg++) {
		enum pb_status st;
		if ((st = span_room(in, err)) || (st = pb__pq_ingest_span(in, rg, err)))
			return st;
		size_t rows = (size_t)pb__pq_ingest_group_rows(in, rg);
		size_t per = rows / slices + 1 > 512 ? rows / slices + 1 : 512;
		for (size_t r0 = 0; r0 < rows || (rows == 0 && r0 == 0); r0 += per) {
			struct pb_chunk *ch;
			st = next_free(in, &ch, err);
			if (st)
				return st;
			ch->off = ch->len = 0;
			ch->pq_rg = rg + 1;
			ch->pq_r0 = r0;
			ch->pq_r1 = rows - r0 < per ? rows : r0 + per;
			ch->pq_nslices = rows ? (rows + per - 1) / per : 1;
			ch->line0 = before + r0 + 1;
			ch->seq = in->seq++;
			submit(in, ch);
		}
		before += rows;
		if ((st = progress(in, err)))
			return st;
	}
	enum pb_status st = pb__pq_ingest_finish(in, err);
	if (st)
		return st;
	in->eof = true;
	return drain(in, err);
}

/* Reads the rows after the header: cut, queue, help, collect; then waits
 * for every chunk to be parsed and collected. */
enum pb_status pb__ingest_read_rows(struct pb_ingest *in, struct pb_error *err)
{
	if (in->pq)
		return read_row_groups(in, err);
	struct pb_chunk *cur = &in->chunks[0], *next;
	uint64_t line = cur->line0;
	enum pb_status st;
	cur->state = CH_FILLING;
	for (;;) {
		if ((st = cut(in, cur, &line, &next, err)))
			return st;
		submit(in, cur);
		if ((st = progress(in, err)))
			return st;
		if (in->eof)
			break;
		cur = next;
		if ((st = fill(in, cur, err)))
			return st;
	}
	return drain(in, err);
}

/* The tree hashes of the input (and its SHA-256 when wanted) into the
 * report: the raw bytes' root is the source's key. */
static enum pb_status finish_hashes(struct pb_ingest *in, struct pb_error *err)
{
	uint8_t data[32], raw[32];
	if (pb__mth_final(&in->data_tree, data) != PB_OK)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (in->src.comp == PB_COMP_NONE)
		memcpy(raw, data, 32);
	else if (pb__source_tree_root(&in->src, raw) != PB_OK)
		return pb__err(err, PB_ENOMEM, "out of memory");
	pb__mth_id(in->tree_chunk, raw, in->rep->tree);
	pb__mth_id(in->tree_chunk, data, in->rep->data_tree);
	pb_hex(raw, 32, in->rep->sha256);
	if (in->want_flat) {
		uint8_t d[32];
		pb__source_digest(&in->src, d);
		pb_hex(d, 32, in->flat_sha);
	}
	return PB_OK;
}

/* Joins the workers, then merges their tables and warning counts; the
 * hashes and size of the input go to the report. */
enum pb_status pb__ingest_merge_workers(struct pb_ingest *in, struct pb_error *err)
{
	pb__ingest_stop_workers(in);
	enum pb_status st = finish_hashes(in, err);
	if (st)
		return st;
	in->rep->size = in->src.raw_bytes;
	if (pb__focus_ctx_init(&in->fxsum, &in->map, in->cat, 16) != PB_OK)
		return pb__err(err, PB_ENOMEM, "out of memory");
	in->fxsum_init = true;
	struct pb_focus_ctx *sum = &in->fxsum;
	for (unsigned i = 0; i < in->threads; i++) {
		struct pb_worker *w = &in->workers[i];
		for (size_t j = 0; j < w->tab.n; j++) {
			struct pb_agg *a = &w->tab.v[j];
			struct pb_agg *d = pb__aggtab_get(&in->all, w->tab.keys + a->koff, a->klen, a->hash);
			if (!d)
				return pb__err(err, PB_ENOMEM, "out of memory");
			if (!pb__agg_merge(d, a))
				return pb__err(err, PB_ELIMIT, "a daily sum is out of range (near line %llu)",
				               (unsigned long long)a->first);
		}
		pb__aggtab_release(&w->tab);
		for (int k = 0; k < FW_COUNT; k++)
			for (int c = 0; c <= FC_COUNT; c++) {
				uint64_t n = w->fx.warn_count[k][c];
				if (!n)
					continue;
				uint64_t l = w->fx.warn_line[k][c];
				if (sum->warn_count[k][c] == 0 || l < sum->warn_line[k][c])
					sum->warn_line[k][c] = l;
				sum->warn_count[k][c] += n;
			}
	}
	return PB_OK;
}
