/* bench_tlog.c - helpers for bench/tlog/run.sh.
 *
 *   bench_tlog append WS N BATCH   N audit appends into workspace WS, BATCH per
 *                                  transaction (durable: WAL, synchronous=FULL);
 *                                  prints "<appends per second>"
 *   bench_tlog sqlite DB N BATCH   the peer: the same entries inserted into a
 *                                  plain SQLite table, same settings, no tree
 *   bench_tlog gen DIR N           an exported log of N audit-like entries
 *                                  (tiles, bundles, signed checkpoint, vkey)
 *   bench_tlog proofsizes          proof lengths for a few tree sizes
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/audit.h"
#include "log/tlog.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char details[] = "{\"bytes\":120,\"kind\":\"note\",\"sha256\":\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"}";

static int append(const char *path, long n, long batch)
{
	struct pb_error err = { 0 };
	struct pb_ws *ws;
	if (pb_ws_init(path, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err) || pb_ws_open(path, 0, &ws, &err) ||
	    pb_user_add(ws, NULL, "root", "admin", NULL, &err)) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	double t0 = now();
	for (long i = 0; i < n;) {
		struct pb__audit_batch *b;
		if (pb__ws_begin(ws, &err) || pb__audit_batch_begin(ws, &b, &err))
			break;
		for (long j = 0; j < batch && i < n; j++, i++)
			if (pb__audit_batch_append(b, "root", "case.note", 1, "case/1", details, NULL,
			                           &err)) {
				fprintf(stderr, "%s\n", err.message);
				return 1;
			}
		if (pb__audit_batch_end(b, &err) || pb__ws_commit(ws, &err)) {
			fprintf(stderr, "%s\n", err.message);
			return 1;
		}
	}
	double dt = now() - t0;
	char bad[64];
	if (pb_audit_check(ws, bad, sizeof(bad), &err)) {
		fprintf(stderr, "check: %s\n", err.message);
		return 1;
	}
	pb_ws_close(ws);
	printf("%.0f\n", (double)n / dt);
	return 0;
}

static int peer(const char *path, long n, long batch)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return 1;
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                 "CREATE TABLE e (idx INTEGER PRIMARY KEY, data BLOB, at TEXT)", NULL, NULL, NULL);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "INSERT INTO e(idx, data, at) VALUES (?1, ?2, ?3)", -1, &st, NULL);
	char entry[512];
	double t0 = now();
	for (long i = 0; i < n;) {
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		for (long j = 0; j < batch && i < n; j++, i++) {
			int len = snprintf(entry, sizeof(entry),
			                   "{\"action\":\"case.note\",\"actor\":\"root\",\"case\":1,"
			                   "\"details\":%s,\"index\":%ld,\"subject\":\"case/1\","
			                   "\"time\":\"2025-01-01T00:00:00Z\",\"v\":1}", details, i);
			sqlite3_bind_int64(st, 1, i);
			sqlite3_bind_blob(st, 2, entry, len, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, "2025-01-01T00:00:00Z", -1, SQLITE_STATIC);
			sqlite3_step(st);
			sqlite3_reset(st);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			return 1;
	}
	double dt = now() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("%.0f\n", (double)n / dt);
	return 0;
}

static enum pb_status gen_next(void *ctx, uint64_t i, struct pb_str *e, struct pb_error *err)
{
	(void)err;
	char *buf = ctx;
	int len = snprintf(buf, 512,
	                   "{\"action\":\"case.note\",\"actor\":\"alice\",\"case\":%llu,"
	                   "\"details\":%s,\"index\":%llu,\"subject\":\"case/%llu\","
	                   "\"time\":\"2025-01-01T00:00:00Z\",\"v\":1}",
	                   (unsigned long long)(i / 1000 + 1), details, (unsigned long long)i,
	                   (unsigned long long)(i / 1000 + 1));
	*e = pb_str_of(buf, (size_t)len);
	return PB_OK;
}

static int gen(const char *dir, uint64_t n)
{
	struct pb_error err = { 0 };
	char buf[512], text[512], line[600], note[1200], path[4200], vk[400];
	uint8_t root[32], seed[32];
	pb__sha256("probity bench key", 17, seed);
	struct pb_signer sg;
	if (pb_signer_from_seed("probity.example/bench", 1, seed, &sg, &err) ||
	    pb_tlog_write_tiles(dir, n, gen_next, buf, root, &err)) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	struct pb_checkpoint c = { .size = n };
	snprintf(c.origin, sizeof(c.origin), "probity.example/bench");
	memcpy(c.root, root, 32);
	size_t tl = pb_checkpoint_format(&c, text, sizeof(text));
	pb_note_signature_line(&sg, text, tl, 0, line, sizeof(line), &err);
	snprintf(note, sizeof(note), "%s\n%s", text, line);
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	pb__write_file_atomic(path, note, strlen(note), 0644, &err);
	pb_vkey_format(&sg.vkey, vk, sizeof(vk));
	snprintf(path, sizeof(path), "%s/vkey", dir);
	strcat(vk, "\n");
	pb__write_file_atomic(path, vk, strlen(vk), 0644, &err);
	return 0;
}

static enum pb_status zero_hash(void *ctx, unsigned level, uint64_t index, uint8_t out[32],
                                struct pb_error *err)
{
	(void)ctx;
	(void)level;
	(void)index;
	(void)err;
	memset(out, 0, 32);
	return PB_OK;
}

static int proofsizes(void)
{
	uint64_t sizes[] = { 1000, 1000000, 1000000000ULL, 1000000000000ULL };
	for (size_t i = 0; i < 4; i++) {
		uint8_t p[PB_TLOG_MAX_PROOF][32];
		size_t ni, nc;
		pb_tlog_prove_inclusion(sizes[i] / 3, sizes[i], zero_hash, NULL, p, &ni, NULL);
		pb_tlog_prove_consistency(sizes[i] / 2 + 1, sizes[i], zero_hash, NULL, p, &nc, NULL);
		printf("proof size at %llu entries: inclusion %zu hashes (%zu bytes), consistency %zu "
		       "hashes (%zu bytes)\n",
		       (unsigned long long)sizes[i], ni, ni * 32, nc, nc * 32);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "append"))
		return append(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "sqlite"))
		return peer(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc >= 4 && !strcmp(argv[1], "gen"))
		return gen(argv[2], strtoull(argv[3], NULL, 10));
	if (argc >= 2 && !strcmp(argv[1], "proofsizes"))
		return proofsizes();
	fprintf(stderr, "usage: bench_tlog append WS N BATCH | sqlite DB N BATCH | gen DIR N | proofsizes\n");
	return 2;
}
