/* pdfattach.c - the case report's evidence as a file attached to its PDF,
 * written as an incremental update after cairo's output, and found again.
 *
 * Why by hand: cairo 1.16 (Debian 12) cannot attach files to a PDF, and a
 * PDF library for four objects is more code to trust than this. An
 * incremental update (PDF 1.7, 7.5.6) appends new objects, a new cross-
 * reference section and a trailer whose /Prev points at the previous one, and
 * leaves the bytes before it untouched; so the PDF cairo wrote (the "body")
 * stays byte for byte what the evidence's body_sha256 names. The update holds:
 *   S     the EmbeddedFile stream (the evidence JSON, uncompressed)
 *   S+1   its Filespec (probity-evidence.json)
 *   S+2   the EmbeddedFiles name tree (one name)
 *   S+3   the catalog's new Names dictionary (cairo's /Dests kept)
 *   R     the catalog again, its /Names now S+3
 * where S is the body's /Size and R its /Root. The writer reads only what
 * cairo writes (its trailer, xref table, catalog and names dictionary forms)
 * and refuses anything else. The verifier does not parse the update in any
 * other way: it reads the body's length and the evidence from it, writes the
 * update again with pb__pdf_attach and compares every byte. */
#include "report/report.h"

#include <string.h>

#define EF_NAME "probity-evidence.json"

static enum pb_status bad_body(struct pb_error *err, const char *what)
{
	return pb__err(err, PB_EFORMAT, "cannot attach the evidence to the PDF: %s", what);
}

/* A decimal at p (before end) into *v; the position after it, or NULL. */
static const char *num(const char *p, const char *end, size_t *v)
{
	size_t x = 0;
	const char *s = p;
	while (p < end && *p >= '0' && *p <= '9' && p - s < 12)
		x = x * 10 + (size_t)(*p++ - '0');
	if (p == s || p - s >= 12)
		return NULL;
	*v = x;
	return p;
}

/* Expects the literal s at p; the position after it, or NULL. */
static const char *lit(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return p && (size_t)(end - p) >= n && !memcmp(p, s, n) ? p + n : NULL;
}

/* "N 0 R" of key (e.g. "/Root ") inside [p, end): its N, or 0. */
static size_t ref_of(const char *p, const char *end, const char *key)
{
	const char *at = memmem(p, (size_t)(end - p), key, strlen(key));
	size_t v = 0;
	if (!at || !(at = num(at + strlen(key), end, &v)) || !lit(at, end, " 0 R"))
		return 0;
	return v;
}

/* The offset of object obj from the xref table at x (one subsection from 0,
 * count entries of 20 bytes), or 0. */
static size_t xref_offset(const char *x, const char *end, size_t count, size_t obj)
{
	size_t off = 0;
	if (obj == 0 || obj >= count || (size_t)(end - x) < count * 20)
		return 0;
	const char *e = x + obj * 20;
	if (!num(e, end, &off) || !lit(e + 10, end, " 00000 n"))
		return 0;
	return off;
}

/* The dictionary of object obj at off in pdf[0..n): [*d, *dend) spans from
 * "<<" to the ">>" before "\nendobj". */
static bool object_dict(const char *pdf, size_t n, size_t off, size_t obj, const char **d,
                        const char **dend)
{
	char head[32];
	pb__snprintf(head, sizeof(head), "%zu 0 obj\n<<", obj);
	const char *end = pdf + n, *p = off < n ? lit(pdf + off, end, head) : NULL;
	if (!p)
		return false;
	const char *e = memmem(p, (size_t)(end - p), ">>\nendobj\n", 10);
	if (!e)
		return false;
	*d = p - 2;
	*dend = e + 2;
	return true;
}

enum pb_status pb__pdf_attach(const char *pdf, size_t n, const char *ev, size_t evlen,
                              struct pb_buf *out, struct pb_error *err)
{
	const char *end = pdf + n, *p;
	size_t prev = 0, size = 0, first = 0, root, info, names = 0, dests = 0;
	pb_buf_init(out, 0);
	/* the tail cairo writes: "startxref\nP\n%%EOF\n" */
	size_t tail = n < 40 ? n : 40;
	const char *sx = NULL;
	for (const char *q = end - tail; (q = memmem(q, (size_t)(end - q), "\nstartxref\n", 11)); q++)
		sx = q;
	if (!sx || !(p = num(sx + 11, end, &prev)) || p != end - 7 || !lit(p, end, "\n%%EOF\n"))
		return bad_body(err, "no startxref at its end");
	/* the xref table, one subsection from object 0, then the trailer */
	const char *x = prev < n ? lit(pdf + prev, end, "xref\n") : NULL;
	if (!x || !(x = num(x, end, &first)) || first || !(x = lit(x, end, " ")) ||
	    !(x = num(x, end, &size)) || !(x = lit(x, end, "\n")) || size < 2 || size > 10000000)
		return bad_body(err, "not a cross-reference table cairo writes");
	const char *tr = (size_t)(end - x) >= size * 20 ? lit(x + size * 20, end, "trailer\n<<") : NULL;
	const char *trend = tr ? memmem(tr, (size_t)(end - tr), ">>\nstartxref\n", 13) : NULL;
	size_t tsize = 0;
	const char *ts = tr ? memmem(tr, (size_t)(trend ? trend - tr : 0), "/Size ", 6) : NULL;
	if (!trend || trend != sx - 2 || !ts || !num(ts + 6, trend, &tsize) || tsize != size)
		return bad_body(err, "not a trailer cairo writes");
	root = ref_of(tr, trend, "/Root ");
	info = ref_of(tr, trend, "/Info ");
	const char *cat, *catend, *nd, *ndend;
	if (!root || root >= size ||
	    !object_dict(pdf, n, xref_offset(x, end, size, root), root, &cat, &catend) ||
	    !memmem(cat, (size_t)(catend - cat), "/Type /Catalog", 14))
		return bad_body(err, "no catalog");
	/* cairo's catalog has one key a line; its /Names (named destinations) is
	 * "<< /Dests D 0 R >>", kept in the new names dictionary */
	const char *nl = memmem(cat, (size_t)(catend - cat), "\n   /Names ", 11);
	if (nl) {
		char want[64];
		names = ref_of(nl, catend, "/Names ");
		dests = names < size && object_dict(pdf, n, xref_offset(x, end, size, names), names,
		                                    &nd, &ndend) ? ref_of(nd, ndend, "<< /Dests ") : 0;
		pb__snprintf(want, sizeof(want), "<< /Dests %zu 0 R >>", dests);
		if (!names || !dests || (size_t)(ndend - nd) != strlen(want) ||
		    memcmp(nd, want, strlen(want)))
			return bad_body(err, "a names dictionary cairo does not write");
	}
	if (memmem(cat, (size_t)(catend - cat), "/AF ", 4))
		return bad_body(err, "the catalog has associated files already");

	struct pb_buf b;
	size_t off[5];
	pb_buf_init(&b, n + evlen + 4096);
	pb_buf_add(&b, pdf, n);
	off[0] = b.len;
	pb_buf_printf(&b, "%zu 0 obj\n<< /Type /EmbeddedFile\n   /Subtype /application#2Fjson\n"
	                  "   /Length %zu\n>>\nstream\n", size, evlen);
	pb_buf_add(&b, ev, evlen);
	pb_buf_adds(&b, "\nendstream\nendobj\n");
	off[1] = b.len;
	pb_buf_printf(&b, "%zu 0 obj\n<< /Type /Filespec\n   /F (" EF_NAME ")\n   /UF (" EF_NAME ")\n"
	                  "   /Desc (the case report's evidence: log entries, inclusion proofs, "
	                  "signed checkpoint)\n   /AFRelationship /Data\n   /EF << /F %zu 0 R /UF %zu "
	                  "0 R >>\n>>\nendobj\n", size + 1, size, size);
	off[2] = b.len;
	pb_buf_printf(&b, "%zu 0 obj\n<< /Names [ (" EF_NAME ") %zu 0 R ] >>\nendobj\n", size + 2,
	              size + 1);
	off[3] = b.len;
	pb_buf_printf(&b, "%zu 0 obj\n<< ", size + 3);
	if (dests)
		pb_buf_printf(&b, "/Dests %zu 0 R ", dests);
	pb_buf_printf(&b, "/EmbeddedFiles %zu 0 R >>\nendobj\n", size + 2);
	off[4] = b.len;
	/* the catalog: every line of cairo's but /Names, then ours */
	pb_buf_printf(&b, "%zu 0 obj\n", root);
	for (const char *l = cat; l < catend - 2;) {
		const char *le = memchr(l, '\n', (size_t)(catend - 2 - l));
		le = le ? le + 1 : catend - 2;
		if (!(le - l > 10 && !memcmp(l, "   /Names ", 10)))
			pb_buf_add(&b, l, (size_t)(le - l));
		l = le;
	}
	pb_buf_printf(&b, "   /Names %zu 0 R\n   /AF [ %zu 0 R ]\n>>\nendobj\n", size + 3, size + 1);
	size_t xref = b.len;
	pb_buf_printf(&b, "xref\n%zu 1\n%010zu 00000 n \n%zu 4\n", root, off[4], size);
	for (int i = 0; i < 4; i++)
		pb_buf_printf(&b, "%010zu 00000 n \n", off[i]);
	pb_buf_printf(&b, "trailer\n<< /Size %zu\n   /Root %zu 0 R\n", size + 4, root);
	if (info)
		pb_buf_printf(&b, "   /Info %zu 0 R\n", info);
	pb_buf_printf(&b, "   /Prev %zu\n>>\nstartxref\n%zu\n%%%%EOF\n", prev, xref);
	if (!b.data)
		return pb__err(err, PB_ENOMEM, "cannot attach the evidence to the PDF: out of memory");
	*out = b;
	return PB_OK;
}

enum pb_status pb__pdf_attached(const char *pdf, size_t n, size_t *body_len, const char **ev,
                                size_t *evlen, struct pb_error *err)
{
	const char *end = pdf + n, *p, *sx = NULL;
	size_t xref = 0, root = 0, size = 0, body = 0, len = 0;
	size_t tail = n < 40 ? n : 40;
	for (const char *q = end - tail; (q = memmem(q, (size_t)(end - q), "\nstartxref\n", 11)); q++)
		sx = q;
	/* the update's xref: "xref\nR 1\n<catalog>S 4\n<S = the body's length>..." */
	const char *x = sx && (p = num(sx + 11, end, &xref)) && p == end - 7 && xref < n
	                ? lit(pdf + xref, end, "xref\n") : NULL;
	if (x && (x = num(x, end, &root)) && (x = lit(x, end, " 1\n")) && (size_t)(end - x) > 20 &&
	    (x = num(x + 20, end, &size)) && (x = lit(x, end, " 4\n")))
		x = num(x, end, &body);
	if (!x || body >= xref)
		return pb__err(err, PB_EVERIFY, "the case report does not verify: no attached "
		                                "evidence (" EF_NAME ")");
	char head[96];
	pb__snprintf(head, sizeof(head), "%zu 0 obj\n<< /Type /EmbeddedFile\n   /Subtype "
	                                 "/application#2Fjson\n   /Length ", size);
	const char *s = lit(pdf + body, end, head);
	if (!s || !(s = num(s, end, &len)) || !(s = lit(s, end, "\n>>\nstream\n")) ||
	    len > (size_t)(end - s))
		return pb__err(err, PB_EVERIFY, "the case report does not verify: the attached "
		                                "evidence is not where its cross-reference says");
	*body_len = body;
	*ev = s;
	*evlen = len;
	return PB_OK;
}
