/* test_casereport.c - the case report's verifier on pages built here: a log
 * of one entry signed with a test key passes; a changed byte of the entry,
 * the evidence JSON or the page, another key, a shown entry without its block, a missing or unclosed block,
 * text after it and a page listing an entry the evidence lacks all fail; the
 * same for a PDF written here with its evidence attached. */
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "probity.h"
#include "log/tlog.h"
#include "report/report.h"
#include "util/util.h"

#define OPEN "<script type=\"application/json\" id=\"probity-evidence\">"
#define ENTRY "{\"action\":\"report.case\",\"case\":1,\"index\":0}"
#define NOTE "{\"action\":\"case.note\",\"case\":1,\"details\":{\"text\":\"hi\"},\"index\":0}"
#define OTHER_CASE "{\"action\":\"case.note\",\"case\":2,\"index\":0}"

static struct pb_signer key, other;

/* The evidence JSON (heap, as jansson writes it) of a log of one entry,
 * logged, signed with key: entry as its bytes, body[0..n) as the body. */
static char *evidence(const char *body, size_t n, const char *entry, const char *logged)
{
	struct pb_error err = { 0 };
	uint8_t h[32], root[32];
	char root64[64], note[1024], line[512], bhex[65];
	pb_tlog_leaf_hash(logged, strlen(logged), root);
	root64[pb__b64_encode(root, 32, root64)] = 0;
	snprintf(note, sizeof(note), "test.example/log\n1\n%s\n", root64);
	if (pb_note_signature_line(&key, note, strlen(note), 0, line, sizeof(line), &err))
		return NULL;
	strcat(note, "\n");
	strcat(note, line);
	pb__sha256(body, n, h);
	pb_hex(h, 32, bhex);
	char *proof = malloc(strlen(note) + 64);
	sprintf(proof, "c2sp.org/tlog-proof@v1\nindex 0\n\n%s", note);
	json_t *ev = json_pack("{s:i, s:i, s:s, s:s, s:[{s:i, s:s, s:s}]}", "v", 1, "case", 1,
	                       "checkpoint", note, "body_sha256", bhex, "entries", "index", 0,
	                       "data", entry, "proof", proof);
	char *js = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	free(proof);
	json_decref(ev);
	return js;
}

/* A page (heap) for one entry: the body shows the entry with leaf (hex) and,
 * when extra, a second entry; the evidence JSON as jansson writes it. */
static char *page(const char *leaf, bool extra, const char *entry, const char *logged)
{
	char body[1024];
	snprintf(body, sizeof(body),
	         "<!DOCTYPE html>\n<html><body>\n<tr data-entry=\"0\" data-leaf=\"%s\"></tr>\n%s", leaf,
	         extra ? "<tr data-entry=\"1\" data-leaf=\"00\"></tr>\n" : "");
	char *js = evidence(body, strlen(body), entry, logged);
	if (!js)
		return NULL;
	char *out = malloc(strlen(body) + strlen(js) + 128);
	sprintf(out, "%s" OPEN "%s</script>\n</body>\n</html>\n", body, js);
	free(js);
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

	/* an entry of another case, proven in the log: not this report's */
	pb_tlog_leaf_hash(OTHER_CASE, strlen(OTHER_CASE), leaf);
	pb_hex(leaf, 32, lhex);
	p = page(lhex, false, OTHER_CASE, OTHER_CASE);
	CHECK_INT(verify(p, &key, msg, sizeof(msg)), PB_EVERIFY);
	CHECK(strstr(msg, "entry 0 is not of case 1") != NULL);
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

/* The PDF: a page laid out by cairo, the evidence attached; verify passes,
 * and a byte flipped anywhere, a truncation, another key, evidence naming
 * another body all fail; a PDF not in cairo's form is refused. */
static void t_pdf(void)
{
	static const char html[] =
		"<body>\n<h1>Case report 1</h1>\n<h2>Trigger</h2>\n<div class=\"e\"><p class=\"h\">"
		"report.case by a at t <a href=\"#entry-0\">entry 0</a></p>\n<dl><dt>k</dt><dd>v &amp; "
		"w</dd></dl></div>\n<h2>Log</h2>\n<pre>a\nb</pre>\n<table>\n<tr><th>entry</th></tr>\n"
		"<tr id=\"entry-0\" data-entry=\"0\"><td>0</td><td><code>ab</code></td></tr>\n</table>\n";
	struct pb_error err = { 0 };
	struct pb_buf pdf, file;
	struct pb_case_report_check out;
	char msg[256];
	CHECK_INT(pb__report_pdf(html, strlen(html), NULL, "Case report 1", 0, &pdf, &err), PB_OK);
	CHECK(pdf.len > 1000 && !memcmp(pdf.data, "%PDF-", 5));
	char *ev = evidence(pdf.data, pdf.len, ENTRY, ENTRY);
	CHECK_INT(pb__pdf_attach(pdf.data, pdf.len, ev, strlen(ev), &file, &err), PB_OK);
	CHECK(file.len > pdf.len + strlen(ev) && !memcmp(file.data, pdf.data, pdf.len));
	CHECK(memmem(file.data + pdf.len, file.len - pdf.len, "/EmbeddedFiles", 14) != NULL);
	CHECK_INT(pb_report_case_verify(file.data, file.len, &key.vkey, &out, &err), PB_OK);
	CHECK_INT(out.entries, 1);
	CHECK_INT(pb_report_case_verify(file.data, file.len, &other.vkey, &out, &err), PB_EVERIFY);

	size_t failed = 0, tried = 0;
	for (size_t i = 0; i < file.len; i += 1 + file.len / 300, tried++) {
		file.data[i] ^= 1;
		/* PB_EVERIFY, or the parser's code for a checkpoint no longer well formed */
		failed += pb_report_case_verify(file.data, file.len, &key.vkey, &out, &err) != PB_OK;
		file.data[i] ^= 1;
	}
	CHECK_INT(failed, tried);
	CHECK_INT(pb_report_case_verify(file.data, file.len - 1, &key.vkey, &out, &err), PB_EVERIFY);
	snprintf(msg, sizeof(msg), "%s", err.message);
	CHECK(strstr(msg, "no attached evidence") != NULL);
	pb_buf_release(&file);

	/* evidence naming another body */
	free(ev);
	ev = evidence("x", 1, ENTRY, ENTRY);
	CHECK_INT(pb__pdf_attach(pdf.data, pdf.len, ev, strlen(ev), &file, &err), PB_OK);
	CHECK_INT(pb_report_case_verify(file.data, file.len, &key.vkey, &out, &err), PB_EVERIFY);
	CHECK(strstr(err.message, "the PDF differs") != NULL);
	pb_buf_release(&file);
	/* not cairo's form: no trailer, or nothing at all */
	static const char odd[] = "%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
	CHECK_INT(pb__pdf_attach(odd, strlen(odd), ev, strlen(ev), &file, &err), PB_EFORMAT);
	CHECK_INT(pb__pdf_attach("", 0, ev, strlen(ev), &file, &err), PB_EFORMAT);
	CHECK_INT(pb_report_case_verify(odd, strlen(odd), &key.vkey, &out, &err), PB_EVERIFY);
	free(ev);
	pb_buf_release(&pdf);
}

int main(void)
{
	struct pb_error err = { 0 };
	uint8_t seed[32] = { 1 }, seed2[32] = { 2 };
	if (pb_signer_from_seed("test.example/log", 1, seed, &key, &err) ||
	    pb_signer_from_seed("test.example/log", 1, seed2, &other, &err))
		return 1;
	RUN(t_verify);
	RUN(t_pdf);
	return UNIT_END("casereport");
}
