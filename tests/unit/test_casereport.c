/* test_casereport.c - the case report's verifier on pages built here: a log
 * of one entry signed with a test key passes; a changed byte of the entry,
 * the evidence JSON or the page, another key, a shown entry without its block, a missing or unclosed block,
 * text after it and a page listing an entry the evidence lacks all fail. */
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "probity.h"
#include "log/tlog.h"
#include "util/util.h"

#define OPEN "<script type=\"application/json\" id=\"probity-evidence\">"
#define ENTRY "{\"action\":\"report.case\",\"index\":0}"
#define NOTE "{\"action\":\"case.note\",\"details\":{\"text\":\"hi\"},\"index\":0}"

static struct pb_signer key, other;

/* A page (heap) for one entry: the body shows the entry with leaf (hex) and,
 * when extra, a second entry; the evidence JSON as jansson writes it. */
static char *page(const char *leaf, bool extra, const char *entry, const char *logged)
{
	struct pb_error err = { 0 };
	uint8_t h[32], root[32];
	char root64[64], note[1024], line[512], body[1024], bhex[65];
	pb_tlog_leaf_hash(logged, strlen(logged), root);
	root64[pb__b64_encode(root, 32, root64)] = 0;
	snprintf(note, sizeof(note), "test.example/log\n1\n%s\n", root64);
	if (pb_note_signature_line(&key, note, strlen(note), 0, line, sizeof(line), &err))
		return NULL;
	strcat(note, "\n");
	strcat(note, line);
	snprintf(body, sizeof(body),
	         "<!DOCTYPE html>\n<html><body>\n<tr data-entry=\"0\" data-leaf=\"%s\"></tr>\n%s", leaf,
	         extra ? "<tr data-entry=\"1\" data-leaf=\"00\"></tr>\n" : "");
	pb__sha256(body, strlen(body), h);
	pb_hex(h, 32, bhex);
	char *proof = malloc(strlen(note) + 64);
	sprintf(proof, "c2sp.org/tlog-proof@v1\nindex 0\n\n%s", note);
	json_t *ev = json_pack("{s:i, s:i, s:s, s:s, s:[{s:i, s:s, s:s}]}", "v", 1, "case", 1,
	                       "checkpoint", note, "body_sha256", bhex, "entries", "index", 0,
	                       "data", entry, "proof", proof);
	char *js = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	char *out = malloc(strlen(body) + strlen(js) + 128);
	sprintf(out, "%s" OPEN "%s</script>\n</body>\n</html>\n", body, js);
	free(js);
	free(proof);
	json_decref(ev);
	return out;
}

static enum pb_status verify(const char *html, const struct pb_signer *k, char *msg, size_t cap)
{
	struct pb_error err = { 0 };
	struct pb_case_report_check out;
	enum pb_status st = pb_report_case_verify(html, strlen(html), &k->vkey, &out, &err);
	snprintf(msg, cap, "%s", err.message);
	return st;
}

static void t_verify(void)
{
	uint8_t leaf[32];
	char lhex[65], msg[256];
	pb_tlog_leaf_hash(ENTRY, strlen(ENTRY), leaf);
	pb_hex(leaf, 32, lhex);

	char *good = page(lhex, false, ENTRY, ENTRY);
	CHECK(good != NULL);
	CHECK_INT(verify(good, &key, msg, sizeof(msg)), PB_OK);
	CHECK_INT(verify(good, &other, msg, sizeof(msg)), PB_EVERIFY);

	char *p = page(lhex, false, "{\"action\":\"report.case\",\"index\":1}", ENTRY);
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "entry 0 is not in the log") != NULL);
	free(p);

	p = page("00", false, ENTRY, ENTRY);
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "does not show entry 0") != NULL);
	free(p);

	p = page(lhex, true, ENTRY, ENTRY);
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "entries the evidence does not hold") != NULL);
	free(p);

	/* an entry a section shows (a note) whose block the page lacks */
	pb_tlog_leaf_hash(NOTE, strlen(NOTE), leaf);
	pb_hex(leaf, 32, lhex);
	p = page(lhex, false, NOTE, NOTE);
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "what the page shows of entry 0 is not what the entry holds") != NULL);
	free(p);

	/* a byte of the page, of the JSON's form, text after, no block, unclosed */
	p = strdup(good);
	p[2] = 'd';
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "page differs") != NULL);
	free(p);
	p = malloc(strlen(good) + 2); /* room for the byte put in */
	memcpy(p, good, strlen(good) + 1);
	char *at = strstr(p, OPEN) + strlen(OPEN);
	memmove(at + 1, at, strlen(at) + 1);
	*at = ' ';
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "canonical form") != NULL);
	free(p);
	p = malloc(strlen(good) + 8);
	sprintf(p, "%s<p>", good);
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "text after") != NULL);
	free(p);
	CHECK_INT(verify("<html></html>", &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "no embedded evidence") != NULL);
	CHECK_INT(verify("<html>" OPEN "{}", &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "not closed") != NULL);
	free(good);
}

int main(void)
{
	struct pb_error err = { 0 };
	uint8_t seed[32] = { 1 }, seed2[32] = { 2 };
	if (pb_signer_from_seed("test.example/log", 1, seed, &key, &err) ||
	    pb_signer_from_seed("test.example/log", 1, seed2, &other, &err))
		return 1;
	RUN(t_verify);
	return UNIT_END("casereport");
}
