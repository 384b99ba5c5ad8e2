/* casepdf.c - the case report as PDF: the page casereport.c writes, laid out
 * on A4 with cairo and pango.
 *
 * The PDF is made from the HTML page itself (before its evidence), so the two
 * cannot show different sections or figures. That page is ours and small: a
 * fixed set of elements (h1-h3, p, div.e, dl, table, pre, one svg; inline b,
 * code and a href="#entry-N"), its text escaped with & < > " only, which is
 * also valid pango markup. Anything else is skipped. The SVG chart is not
 * read: the chart is drawn again with cairo from the data it was made from
 * (pb__profile_stacked), as vectors.
 *
 * Two passes: the first lays everything out on a PDF nobody keeps, to learn
 * the page of every section and the page count; the second writes the PDF
 * with its table of contents (page 1), outline, links and "page X of Y".
 * Fonts are DejaVu (fonts-dejavu-core); cairo embeds the subsets used. A font
 * map of our own is made and freed per report, not pango's global one. */
#include "report/report.h"
#include "profile/profile.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#define PAGE_W 595.276
#define PAGE_H 841.890
#define MARGIN 56.0
#define TEXT_W (PAGE_W - 2 * MARGIN)
#define BOTTOM (PAGE_H - 64.0)
#define MAX_TOC 32
#define MAX_LINKS 64
#define MAX_CELLS 16

static const char *const fonts[] = {
	"DejaVu Serif 10",     /* F_BODY */
	"DejaVu Sans Bold 18", /* F_H1 */
	"DejaVu Sans Bold 13", /* F_H2 */
	"DejaVu Sans Bold 11", /* F_H3 */
	"DejaVu Sans 8.5",     /* F_SMALL: entry headers, tables */
	"DejaVu Sans Mono 7",  /* F_MONO */
	"DejaVu Sans Bold 8.5",/* F_SMALLB: dt, table heads */
};
enum { F_BODY, F_H1, F_H2, F_H3, F_SMALL, F_MONO, F_SMALLB, F_COUNT };

/* the Tableau 10 palette of lib/profile/chart.c, as RGB */
static const double palette[][3] = {
	{ 0x4e / 255., 0x79 / 255., 0xa7 / 255. }, { 0xf2 / 255., 0x8e / 255., 0x2b / 255. },
	{ 0xe1 / 255., 0x57 / 255., 0x59 / 255. }, { 0x76 / 255., 0xb7 / 255., 0xb2 / 255. },
	{ 0x59 / 255., 0xa1 / 255., 0x4f / 255. }, { 0xed / 255., 0xc9 / 255., 0x48 / 255. },
	{ 0xb0 / 255., 0x7a / 255., 0xa1 / 255. }, { 0xff / 255., 0x9d / 255., 0xa7 / 255. },
	{ 0x9c / 255., 0x75 / 255., 0x5f / 255. }, { 0xba / 255., 0xb0 / 255., 0xac / 255. },
};

struct toc {
	char title[128];
	int page;
};

struct pdf {
	cairo_surface_t *surf;
	cairo_t *cr;
	PangoFontMap *fm;
	PangoContext *pc;
	PangoFontDescription *font[F_COUNT];
	const char *title;
	const char *html, *end;        /* the page */
	const struct pb__stacked *chart;
	double y;                      /* where the next block goes */
	int page;                      /* 1-based */
	bool div;                      /* inside an entry block: a bar at its left */
	int outline_h2;                /* the outline item of the current section */
	struct toc toc[MAX_TOC];       /* this pass */
	size_t ntoc;
	const struct toc *known;       /* the first pass's (second pass only) */
	size_t nknown;
	int pages;                     /* the first pass's count (second pass only) */
	bool toc_done;
};

/* Inline markup of one block: pango markup and its links (plain-text byte ranges). */
struct link {
	unsigned start, end;
	unsigned long long entry;
};
struct inl {
	struct pb_buf markup;
	unsigned plain;
	struct link links[MAX_LINKS];
	size_t nlinks;
};

/* Does the page have a row with id="entry-N"? (a link needs its target) */
static bool has_entry(const struct pdf *p, unsigned long long e)
{
	char want[48];
	pb__snprintf(want, sizeof(want), "<tr id=\"entry-%llu\"", e);
	return memmem(p->html, (size_t)(p->end - p->html), want, strlen(want)) != NULL;
}

/* Converts the inline HTML in [s, e) to pango markup: text as it is (its
 * escapes are pango's), b kept, code in a small monospace, links as coloured spans. */
static void inline_markup(const struct pdf *p, const char *s, const char *e, struct inl *o)
{
	pb_buf_init(&o->markup, 16u << 20);
	o->plain = 0;
	o->nlinks = 0;
	bool in_link = false;
	while (s < e) {
		if (*s == '<') {
			const char *gt = memchr(s, '>', (size_t)(e - s));
			if (!gt)
				break;
			size_t len = (size_t)(gt - s + 1);
			unsigned long long entry;
			if ((len == 3 || len == 4) && (s[len - 2] == 'b') && (len == 3 || s[1] == '/'))
				pb_buf_add(&o->markup, s, len);
			else if (len == 6 && !memcmp(s, "<code>", 6))
				pb_buf_adds(&o->markup, "<span font_family=\"DejaVu Sans Mono\" size=\"7168\">");
			else if (len == 7 && !memcmp(s, "</code>", 7))
				pb_buf_adds(&o->markup, "</span>");
			else if (len > 16 && !memcmp(s, "<a href=\"#entry-", 16) &&
			         sscanf(s + 16, "%llu", &entry) == 1) {
				pb_buf_adds(&o->markup, "<span foreground=\"#1f4e8c\">");
				in_link = o->nlinks < MAX_LINKS && has_entry(p, entry);
				if (in_link)
					o->links[o->nlinks] = (struct link){ o->plain, o->plain, entry };
			} else if (len == 4 && !memcmp(s, "</a>", 4)) {
				pb_buf_adds(&o->markup, "</span>");
				if (in_link)
					o->links[o->nlinks++].end = o->plain;
				in_link = false;
			}
			s = gt + 1;
			continue;
		}
		const char *t = s;
		while (t < e && *t != '<')
			t++;
		pb_buf_add(&o->markup, s, (size_t)(t - s));
		for (const char *c = s; c < t; c++) /* each entity is one byte of text */
			if (*c == '&') {
				const char *semi = memchr(c, ';', (size_t)(t - c));
				c = semi ? semi : c;
				o->plain++;
			} else
				o->plain++;
		s = t;
	}
	pb_buf_addc(&o->markup, 0);
}

/* The plain text of inline HTML (for the outline and the table of contents). */
static void plain_text(const char *s, const char *e, char *out, size_t cap)
{
	size_t o = 0;
	while (s < e && o + 1 < cap) {
		if (*s == '<') {
			const char *gt = memchr(s, '>', (size_t)(e - s));
			s = gt ? gt + 1 : e;
		} else if (*s == '&') {
			static const char *const ent[][2] = {
				{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" } };
			size_t k;
			for (k = 0; k < 4; k++)
				if ((size_t)(e - s) >= strlen(ent[k][0]) && !memcmp(s, ent[k][0], strlen(ent[k][0])))
					break;
			out[o++] = k < 4 ? ent[k][1][0] : '&';
			s += k < 4 ? strlen(ent[k][0]) : 1;
		} else
			out[o++] = *s++;
	}
	out[o] = 0;
}

static PangoLayout *layout(struct pdf *p, int font, double width, const char *markup)
{
	PangoLayout *l = pango_layout_new(p->pc);
	pango_layout_set_font_description(l, p->font[font]);
	if (width > 0) {
		pango_layout_set_width(l, (int)(width * PANGO_SCALE));
		pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	}
	/* text that is not valid markup (or UTF-8) is shown as text, made valid,
	 * rather than dropped with a GLib warning on stderr */
	PangoAttrList *attrs = NULL;
	char *text = NULL;
	if (pango_parse_markup(markup, -1, 0, &attrs, &text, NULL, NULL)) {
		pango_layout_set_text(l, text, -1);
		pango_layout_set_attributes(l, attrs);
		pango_attr_list_unref(attrs);
		g_free(text);
	} else {
		text = g_utf8_make_valid(markup, -1);
		pango_layout_set_text(l, text, -1);
		g_free(text);
	}
	return l;
}

static double layout_h(PangoLayout *l)
{
	int w, h;
	pango_layout_get_size(l, &w, &h);
	return (double)h / PANGO_SCALE;
}

static double layout_w(PangoLayout *l)
{
	int w, h;
	pango_layout_get_size(l, &w, &h);
	return (double)w / PANGO_SCALE;
}

static void footer(struct pdf *p)
{
	char text[256];
	if (p->pages)
		pb__snprintf(text, sizeof(text), "%s \xc2\xb7 page %d of %d", p->title, p->page, p->pages);
	else
		pb__snprintf(text, sizeof(text), "%s \xc2\xb7 page %d", p->title, p->page);
	PangoLayout *l = pango_layout_new(p->pc);
	pango_layout_set_font_description(l, p->font[F_SMALL]);
	pango_layout_set_text(l, text, -1);
	cairo_set_source_rgb(p->cr, 0.35, 0.35, 0.35);
	cairo_move_to(p->cr, (PAGE_W - layout_w(l)) / 2, PAGE_H - 40);
	pango_cairo_show_layout(p->cr, l);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	g_object_unref(l);
}

static void new_page(struct pdf *p)
{
	footer(p);
	cairo_show_page(p->cr);
	p->page++;
	p->y = MARGIN;
}

static void need(struct pdf *p, double h)
{
	if (p->y + h > BOTTOM && p->y > MARGIN)
		new_page(p);
}

/* The blue bar at the left of an entry block, beside [y0, y1). */
static void bar(struct pdf *p, double y0, double y1)
{
	if (!p->div)
		return;
	cairo_set_source_rgb(p->cr, 0x3b / 255., 0x6e / 255., 0xa5 / 255.);
	cairo_rectangle(p->cr, MARGIN, y0, 2.2, y1 - y0);
	cairo_fill(p->cr);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
}

/* Draws l at x line by line from p->y, breaking pages between lines, with
 * its links (in) as link annotations to the entries' rows. */
static void flow(struct pdf *p, PangoLayout *l, double x, const struct inl *in)
{
	PangoLayoutIter *it = pango_layout_get_iter(l);
	do {
		PangoLayoutLine *line = pango_layout_iter_get_line_readonly(it);
		PangoRectangle lr;
		pango_layout_iter_get_line_extents(it, NULL, &lr);
		double top = (double)lr.y / PANGO_SCALE, h = (double)lr.height / PANGO_SCALE;
		double base = (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE;
		need(p, h);
		double y0 = p->y;
		cairo_move_to(p->cr, x + (double)lr.x / PANGO_SCALE, y0 + base - top);
		pango_cairo_show_layout_line(p->cr, line);
		for (size_t k = 0; in && k < in->nlinks; k++) {
			const struct link *lk = &in->links[k];
			int ls = line->start_index, le = line->start_index + line->length;
			if ((int)lk->start < ls || (int)lk->start >= le)
				continue;
			PangoRectangle a, b;
			pango_layout_index_to_pos(l, (int)lk->start, &a);
			pango_layout_index_to_pos(l, (int)lk->end < le ? (int)lk->end : le, &b);
			double x0 = x + (double)a.x / PANGO_SCALE;
			double x1 = (int)lk->end <= le ? x + (double)b.x / PANGO_SCALE
			                               : x + (double)(lr.x + lr.width) / PANGO_SCALE;
			char attr[160];
			pb__snprintf(attr, sizeof(attr), "dest='entry-%llu' rect=[%.2f %.2f %.2f %.2f]",
			             lk->entry, x0, y0, x1 > x0 ? x1 - x0 : 1, h);
			cairo_tag_begin(p->cr, CAIRO_TAG_LINK, attr);
			cairo_tag_end(p->cr, CAIRO_TAG_LINK);
		}
		bar(p, y0, y0 + h);
		p->y = y0 + h;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
}

/* A paragraph (or pre, or heading) of inline HTML [s, e). */
static void para(struct pdf *p, int font, const char *s, const char *e, double x, double after)
{
	struct inl in;
	inline_markup(p, s, e, &in);
	if (!in.markup.data)
		return;
	PangoLayout *l = layout(p, font, MARGIN + TEXT_W - x, in.markup.data);
	flow(p, l, x, &in);
	g_object_unref(l);
	pb_buf_release(&in.markup);
	bar(p, p->y, p->y + after);
	p->y += after;
}

/* Text as it is (not markup), e.g. the contents and the chart's labels. */
static PangoLayout *text_layout(struct pdf *p, int font, const char *text)
{
	PangoLayout *l = pango_layout_new(p->pc);
	char *valid = g_utf8_make_valid(text, -1);
	pango_layout_set_font_description(l, p->font[font]);
	pango_layout_set_text(l, valid, -1);
	g_free(valid);
	return l;
}

static void show_text(struct pdf *p, int font, const char *text, double x, double y, double align)
{
	PangoLayout *l = text_layout(p, font, text);
	cairo_move_to(p->cr, x - align * layout_w(l), y);
	pango_cairo_show_layout(p->cr, l);
	g_object_unref(l);
}

/* The table of contents on page 1, from the first pass's sections. */
static void contents(struct pdf *p)
{
	p->y += 8;
	show_text(p, F_H2, "Contents", MARGIN, p->y, 0);
	p->y += 26;
	for (size_t i = 0; i < p->nknown; i++) {
		char num[16], attr[64];
		pb__snprintf(num, sizeof(num), "%d", p->known[i].page);
		pb__snprintf(attr, sizeof(attr), "dest='sec-%zu'", i + 1);
		cairo_tag_begin(p->cr, CAIRO_TAG_LINK, attr);
		show_text(p, F_BODY, p->known[i].title, MARGIN + 8, p->y, 0);
		show_text(p, F_BODY, num, MARGIN + TEXT_W, p->y, 1);
		cairo_tag_end(p->cr, CAIRO_TAG_LINK);
		cairo_set_source_rgb(p->cr, 0.7, 0.7, 0.7);
		cairo_set_line_width(p->cr, 0.4);
		cairo_move_to(p->cr, MARGIN + 8, p->y + 15);
		cairo_line_to(p->cr, MARGIN + TEXT_W, p->y + 15);
		cairo_stroke(p->cr);
		cairo_set_source_rgb(p->cr, 0, 0, 0);
		p->y += 19;
	}
}

static void heading(struct pdf *p, int level, const char *s, const char *e)
{
	char text[128];
	plain_text(s, e, text, sizeof(text));
	if (level == 1) {
		para(p, F_H1, s, e, MARGIN, 10);
		return;
	}
	if (level == 2 && !p->toc_done) { /* the contents take page 1 */
		if (p->known)
			contents(p);
		p->toc_done = true;
		new_page(p);
	}
	p->y += level == 2 ? 12 : 6;
	need(p, level == 2 ? 80 : 50);
	char attr[64];
	int parent = CAIRO_PDF_OUTLINE_ROOT;
	bool dest = level == 2 && p->ntoc < MAX_TOC;
	if (dest) {
		p->toc[p->ntoc].page = p->page;
		pb__strlcpy(p->toc[p->ntoc].title, text, sizeof(p->toc[p->ntoc].title));
		p->ntoc++;
		pb__snprintf(attr, sizeof(attr), "name='sec-%zu'", p->ntoc);
		cairo_tag_begin(p->cr, CAIRO_TAG_DEST, attr);
	} else
		parent = p->outline_h2;
	double y0 = p->y;
	para(p, level == 2 ? F_H2 : F_H3, s, e, MARGIN, 6);
	if (dest)
		cairo_tag_end(p->cr, CAIRO_TAG_DEST);
	char at[80];
	pb__snprintf(at, sizeof(at), "page=%d pos=[%.1f %.1f]", p->page, MARGIN, y0);
	int id = cairo_pdf_surface_add_outline(p->surf, parent, text, at, 0);
	if (level == 2)
		p->outline_h2 = id;
}

/* ---- tables and definition lists ---------------------------------------------- */

struct cell {
	const char *s, *e;
	bool head, num;
};

/* The cells of one row <tr ...>...</tr> at s; the position after it. */
static const char *row_cells(const char *s, const char *end, struct cell *c, size_t *n)
{
	const char *close = memmem(s, (size_t)(end - s), "</tr>", 5);
	*n = 0;
	if (!close)
		return end;
	for (const char *q = s; (q = memmem(q, (size_t)(close - q), "<t", 2)) && *n < MAX_CELLS;) {
		bool head = q[2] == 'h';
		if (q[2] != 'h' && q[2] != 'd') {
			q += 2;
			continue;
		}
		const char *gt = memchr(q, '>', (size_t)(close - q));
		const char *ce = gt ? memmem(gt, (size_t)(close - gt), head ? "</th>" : "</td>", 5) : NULL;
		if (!ce)
			break;
		c[*n] = (struct cell){ gt + 1, ce, head, memmem(q, (size_t)(gt - q), "class=\"n\"", 9) };
		(*n)++;
		q = ce + 5;
	}
	return close + 5;
}

static PangoLayout *text_layout(struct pdf *p, int font, const char *text);

/* The width a cell asks for: all of its text on one line; for a head cell,
 * its widest word (heads wrap, figures do not). */
static double cell_natural(struct pdf *p, const struct cell *c)
{
	if (c->head) {
		char text[256];
		double w = 0;
		plain_text(c->s, c->e, text, sizeof(text));
		for (char *word = text, *sp; *word; word = sp + (*sp != 0)) {
			sp = word + strcspn(word, " ");
			char keep = *sp;
			*sp = 0;
			PangoLayout *l = text_layout(p, F_SMALLB, word);
			w = layout_w(l) > w ? layout_w(l) : w;
			g_object_unref(l);
			*sp = keep;
		}
		return w;
	}
	struct inl in;
	inline_markup(p, c->s, c->e, &in);
	PangoLayout *l = layout(p, c->head ? F_SMALLB : F_SMALL, 0, in.markup.data ? in.markup.data : "");
	double w = layout_w(l);
	g_object_unref(l);
	pb_buf_release(&in.markup);
	return w;
}

/* Draws one row with column widths w; a row whose first cell has id="entry-N" is its destination. */
static void draw_row(struct pdf *p, const struct cell *c, size_t n, const double *w, const char *dest)
{
	PangoLayout *l[MAX_CELLS];
	struct inl in[MAX_CELLS];
	double h = 0;
	for (size_t i = 0; i < n; i++) {
		inline_markup(p, c[i].s, c[i].e, &in[i]);
		l[i] = layout(p, c[i].head ? F_SMALLB : F_SMALL, w[i] - 6,
		              in[i].markup.data ? in[i].markup.data : "");
		if (c[i].num)
			pango_layout_set_alignment(l[i], PANGO_ALIGN_RIGHT);
		double lh = layout_h(l[i]);
		h = lh > h ? lh : h;
	}
	h += 5;
	need(p, h);
	if (dest)
		cairo_tag_begin(p->cr, CAIRO_TAG_DEST, dest);
	double x = MARGIN;
	for (size_t i = 0; i < n; i++) {
		if (c[i].head) {
			cairo_set_source_rgb(p->cr, 0.92, 0.93, 0.95);
			cairo_rectangle(p->cr, x, p->y, w[i], h);
			cairo_fill(p->cr);
		}
		cairo_set_source_rgb(p->cr, 0.7, 0.7, 0.7);
		cairo_set_line_width(p->cr, 0.5);
		cairo_rectangle(p->cr, x, p->y, w[i], h);
		cairo_stroke(p->cr);
		cairo_set_source_rgb(p->cr, 0, 0, 0);
		cairo_move_to(p->cr, x + 3, p->y + 2.5);
		pango_cairo_show_layout(p->cr, l[i]);
		x += w[i];
		g_object_unref(l[i]);
		pb_buf_release(&in[i].markup);
	}
	if (dest)
		cairo_tag_end(p->cr, CAIRO_TAG_DEST);
	p->y += h;
}

/* <table> at s to </table>: column widths from the cells' natural widths,
 * shared out when they do not fit; the head row again on each new page. */
static const char *table(struct pdf *p, const char *s)
{
	const char *end = memmem(s, (size_t)(p->end - s), "</table>", 8);
	end = end ? end : p->end;
	double nat[MAX_CELLS] = { 0 }, w[MAX_CELLS];
	size_t ncol = 0, n;
	struct cell c[MAX_CELLS], head[MAX_CELLS];
	size_t nhead = 0;
	for (const char *q = s; (q = memmem(q, (size_t)(end - q), "<tr", 3));) {
		q = row_cells(q, end, c, &n);
		for (size_t i = 0; i < n; i++) {
			double x = cell_natural(p, &c[i]) + 8;
			nat[i] = x > nat[i] ? x : nat[i];
		}
		ncol = n > ncol ? n : ncol;
	}
	if (!ncol)
		return end;
	/* columns that fit a fair share keep their width; the rest share what is left */
	bool fixed[MAX_CELLS] = { false };
	double left = TEXT_W;
	size_t nfree = ncol;
	for (bool changed = true; changed && nfree;) {
		changed = false;
		for (size_t i = 0; i < ncol; i++)
			if (!fixed[i] && nat[i] <= left / (double)nfree) {
				fixed[i] = true;
				left -= nat[i];
				nfree--;
				changed = true;
			}
	}
	for (size_t i = 0; i < ncol; i++)
		w[i] = fixed[i] ? nat[i] : left / (double)nfree;
	p->y += 2;
	for (const char *q = s; (q = memmem(q, (size_t)(end - q), "<tr", 3));) {
		char dest[48] = "";
		unsigned long long e;
		if (!strncmp(q, "<tr id=\"entry-", 14) && sscanf(q + 14, "%llu", &e) == 1)
			pb__snprintf(dest, sizeof(dest), "name='entry-%llu'", e);
		q = row_cells(q, end, c, &n);
		if (n && c[0].head) {
			memcpy(head, c, n * sizeof(*c));
			nhead = n;
		} else if (nhead) { /* the head row again on top of a new page */
			int page = p->page;
			need(p, 20);
			if (p->page != page)
				draw_row(p, head, nhead, w, NULL);
		}
		draw_row(p, c, n, w, dest[0] ? dest : NULL);
	}
	p->y += 8;
	return end + 8 <= p->end ? end + 8 : p->end;
}

/* <dl> at s: a dt in bold at the left, its dd beside it. */
static const char *dlist(struct pdf *p, const char *s)
{
	const char *end = memmem(s, (size_t)(p->end - s), "</dl>", 5);
	end = end ? end : p->end;
	for (const char *q = s; (q = memmem(q, (size_t)(end - q), "<dt>", 4));) {
		const char *te = memmem(q, (size_t)(end - q), "</dt><dd>", 9);
		const char *de = te ? memmem(te, (size_t)(end - te), "</dd>", 5) : NULL;
		if (!de)
			break;
		struct inl in;
		inline_markup(p, q + 4, te, &in);
		PangoLayout *l = layout(p, F_SMALLB, 110, in.markup.data ? in.markup.data : "");
		need(p, 14);
		double y0 = p->y;
		cairo_move_to(p->cr, MARGIN + 10, y0 + 1);
		pango_cairo_show_layout(p->cr, l);
		double h = layout_h(l);
		g_object_unref(l);
		pb_buf_release(&in.markup);
		int page = p->page;
		para(p, F_BODY, te + 9, de, MARGIN + 125, 2);
		if (p->page == page && p->y < y0 + h + 2) {
			bar(p, p->y, y0 + h + 2);
			p->y = y0 + h + 2;
		}
		q = de + 5;
	}
	return end + 5 <= p->end ? end + 5 : p->end;
}

/* ---- the chart ---------------------------------------------------------------- */

static double nice_step(double top)
{
	double raw = top / 5, mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* The stacked chart of the profile: the same series, order, colours, title
 * and legend as the SVG (lib/profile/chart.c), drawn as paths. */
static void chart(struct pdf *p, const struct pb__stacked *c)
{
	const double W = TEXT_W, H = W * 360 / 760, L = 52, R = 150, T = 34, B = 26;
	size_t n = c->n, ns = c->nseries;
	if (n < 2 || !ns)
		return;
	need(p, H + 10);
	double ox = MARGIN, oy = p->y, x0 = ox + L, x1 = ox + W - R, y0 = oy + T, y1 = oy + H - B;
	double top = 0;
	for (size_t i = 0; i < n; i++) {
		double t = 0;
		for (size_t s = 0; s < ns; s++)
			t += c->series[s].values[i] > 0 ? c->series[s].values[i] : 0;
		top = t > top ? t : top;
	}
	double step = top > 0 ? nice_step(top) : 1, vmax = top > 0 ? ceil(top / step) * step : 1;
	double span = (double)(c->times[n - 1] - c->times[0]);
#define X(i) (x0 + (x1 - x0) * (double)(c->times[i] - c->times[0]) / span)
#define Y(v) (y1 - (y1 - y0) * (v) / vmax)
	show_text(p, F_SMALLB, c->title, ox, oy, 0);
	char label[160];
	pb__snprintf(label, sizeof(label), "%s (%s)", c->y_label, c->unit);
	show_text(p, F_SMALL, label, ox, oy + 13, 0);
	cairo_set_line_width(p->cr, 0.4);
	for (double v = 0; v <= vmax * 1.0001; v += step) {
		char t[32];
		pb__snprintf(t, sizeof(t), step >= 1 ? "%.0f" : "%.2f", v);
		cairo_set_source_rgb(p->cr, 0.85, 0.85, 0.85);
		cairo_move_to(p->cr, x0, Y(v));
		cairo_line_to(p->cr, x1, Y(v));
		cairo_stroke(p->cr);
		cairo_set_source_rgb(p->cr, 0.2, 0.2, 0.2);
		show_text(p, F_SMALL, t, x0 - 4, Y(v) - 6, 1);
	}
	/* the bands, bottom first */
	double *cum = calloc(n, sizeof(double)), *prev = calloc(n, sizeof(double));
	for (size_t s = 0; cum && prev && s < ns; s++) {
		memcpy(prev, cum, n * sizeof(double));
		for (size_t i = 0; i < n; i++)
			cum[i] += c->series[s].values[i] > 0 ? c->series[s].values[i] : 0;
		cairo_new_path(p->cr);
		for (size_t i = 0; i < n; i++)
			cairo_line_to(p->cr, X(i), Y(cum[i]));
		for (size_t i = n; i-- > 0;)
			cairo_line_to(p->cr, X(i), Y(prev[i]));
		cairo_close_path(p->cr);
		const double *rgb = palette[s % PB_ARRAY_LEN(palette)];
		cairo_set_source_rgba(p->cr, rgb[0], rgb[1], rgb[2], 0.85);
		cairo_fill_preserve(p->cr);
		cairo_set_source_rgb(p->cr, 1, 1, 1);
		cairo_set_line_width(p->cr, 0.4);
		cairo_stroke(p->cr);
	}
	free(cum);
	free(prev);
	/* axes and time labels: first, last and up to four between */
	cairo_set_source_rgb(p->cr, 0.2, 0.2, 0.2);
	cairo_set_line_width(p->cr, 0.6);
	cairo_move_to(p->cr, x0, y0);
	cairo_line_to(p->cr, x0, y1);
	cairo_line_to(p->cr, x1, y1);
	cairo_stroke(p->cr);
	size_t every = (n + 4) / 5;
	for (size_t i = 0; i < n; i += every ? every : 1) {
		char day[11];
		pb_day_format(c->times[i] / 86400, day);
		if (c->months)
			day[7] = 0;
		show_text(p, F_SMALL, day, X(i), y1 + 4, i ? 0.5 : 0);
	}
	/* the legend lists the top band first, like the stack */
	for (size_t s = ns; s-- > 0;) {
		double ly = y0 + (double)(ns - 1 - s) * 13;
		const double *rgb = palette[s % PB_ARRAY_LEN(palette)];
		cairo_set_source_rgb(p->cr, rgb[0], rgb[1], rgb[2]);
		cairo_rectangle(p->cr, x1 + 12, ly + 2, 8, 8);
		cairo_fill(p->cr);
		cairo_set_source_rgb(p->cr, 0, 0, 0);
		show_text(p, F_SMALL, c->names[s], x1 + 24, ly, 0);
	}
#undef X
#undef Y
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	p->y = oy + H + 10;
}

/* ---- the page ----------------------------------------------------------------- */

static const char *after(const char *s, const char *end, const char *close)
{
	const char *e = memmem(s, (size_t)(end - s), close, strlen(close));
	return e ? e + strlen(close) : end;
}

/* Lays out the page's body: one block element at a time. */
static void body(struct pdf *p)
{
	const char *s = memmem(p->html, (size_t)(p->end - p->html), "<body>", 6);
	s = s ? s + 6 : p->end;
	while (s < p->end) {
		const char *lt = memchr(s, '<', (size_t)(p->end - s));
		if (!lt)
			break;
		s = lt;
		size_t rest = (size_t)(p->end - s);
#define IS(t) (rest >= strlen(t) && !memcmp(s, t, strlen(t)))
		if (IS("<h1>") || IS("<h2>") || IS("<h3>")) {
			int level = s[2] - '0';
			char close[8] = "</h1>";
			close[3] = s[2];
			const char *e = memmem(s, rest, close, 5);
			e = e ? e : p->end;
			heading(p, level, s + 4, e);
			s = after(e, p->end, close);
		} else if (IS("<pre>")) {
			const char *e = memmem(s, rest, "</pre>", 6);
			e = e ? e : p->end;
			para(p, F_MONO, s + 5, e, MARGIN + (p->div ? 10 : 0), 6);
			s = after(e, p->end, "</pre>");
		} else if (IS("<p")) {
			const char *gt = memchr(s, '>', rest), *e;
			if (!gt)
				break;
			bool small = memmem(s, (size_t)(gt - s), "class=\"h\"", 9) != NULL;
			e = memmem(gt, (size_t)(p->end - gt), "</p>", 4);
			e = e ? e : p->end;
			if (!small)
				p->y += 2;
			cairo_set_source_rgb(p->cr, small ? 0.27 : 0, small ? 0.27 : 0, small ? 0.27 : 0);
			para(p, small ? F_SMALL : F_BODY, gt + 1, e, MARGIN + (p->div ? 10 : 0), small ? 3 : 6);
			cairo_set_source_rgb(p->cr, 0, 0, 0);
			s = after(e, p->end, "</p>");
		} else if (IS("<div")) {
			p->div = true;
			s = after(s, p->end, ">");
		} else if (IS("</div>")) {
			p->div = false;
			p->y += 6;
			s += 6;
		} else if (IS("<dl>")) {
			s = dlist(p, s);
		} else if (IS("<table>")) {
			s = table(p, s);
		} else if (IS("<svg")) {
			if (p->chart)
				chart(p, p->chart);
			s = after(s, p->end, "</svg>");
		} else
			s = after(s, p->end, ">");
#undef IS
	}
}

static cairo_status_t write_out(void *closure, const unsigned char *data, unsigned int len)
{
	struct pb_buf *b = closure;
	if (b && pb_buf_add(b, data, len))
		return CAIRO_STATUS_WRITE_ERROR;
	return CAIRO_STATUS_SUCCESS;
}

/* One pass: lays out the page onto a PDF written to out (NULL: nowhere). */
static enum pb_status pass(struct pdf *p, struct pb_buf *out, const char *date,
                           struct pb_error *err)
{
	enum pb_status st = PB_OK;
	p->surf = cairo_pdf_surface_create_for_stream(write_out, out, PAGE_W, PAGE_H);
	p->cr = cairo_create(p->surf);
	cairo_pdf_surface_set_metadata(p->surf, CAIRO_PDF_METADATA_TITLE, p->title);
	cairo_pdf_surface_set_metadata(p->surf, CAIRO_PDF_METADATA_CREATOR, "probity");
	cairo_pdf_surface_set_metadata(p->surf, CAIRO_PDF_METADATA_CREATE_DATE, date);
	pango_cairo_update_context(p->cr, p->pc);
	p->y = MARGIN;
	p->page = 1;
	p->div = false;
	p->ntoc = 0;
	p->toc_done = false;
	p->outline_h2 = CAIRO_PDF_OUTLINE_ROOT;
	body(p);
	footer(p);
	cairo_show_page(p->cr);
	cairo_status_t cs = cairo_status(p->cr);
	cairo_destroy(p->cr);
	cairo_surface_finish(p->surf);
	if (!cs)
		cs = cairo_surface_status(p->surf);
	cairo_surface_destroy(p->surf);
	p->cr = NULL;
	p->surf = NULL;
	if (cs == CAIRO_STATUS_WRITE_ERROR || cs == CAIRO_STATUS_NO_MEMORY)
		st = pb__err(err, out && out->len >= out->cap ? PB_ELIMIT : PB_ENOMEM,
		             "cannot write the case report as PDF: %s", cairo_status_to_string(cs));
	else if (cs)
		st = pb__err(err, PB_EIO, "cannot write the case report as PDF: %s",
		             cairo_status_to_string(cs));
	return st;
}

enum pb_status pb__report_pdf(const char *html, size_t n, const struct pb__stacked *chart_data,
                              const char *title, int64_t now, struct pb_buf *out,
                              struct pb_error *err)
{
	struct pdf p = { 0 };
	struct toc first[MAX_TOC];
	char date[32];
	enum pb_status st;
	pb_buf_init(out, 64u * 1024 * 1024);
	pb_time_format(now, date);
	p.title = title;
	p.html = html;
	p.end = html + n;
	p.chart = chart_data;
	p.fm = pango_cairo_font_map_new();
	p.pc = p.fm ? pango_font_map_create_context(p.fm) : NULL;
	if (!p.pc) {
		if (p.fm)
			g_object_unref(p.fm);
		return pb__err(err, PB_ENOMEM, "cannot write the case report as PDF: no font map");
	}
	/* a PDF's unit is the point: sizes in points are sizes on paper (pango's
	 * cairo contexts assume 96 units an inch otherwise) */
	pango_cairo_context_set_resolution(p.pc, 72);
	for (int i = 0; i < F_COUNT; i++)
		p.font[i] = pango_font_description_from_string(fonts[i]);
	if ((st = pass(&p, NULL, date, err)))
		goto out;
	memcpy(first, p.toc, p.ntoc * sizeof(*first));
	p.known = first;
	p.nknown = p.ntoc;
	p.pages = p.page;
	st = pass(&p, out, date, err);
out:
	for (int i = 0; i < F_COUNT; i++)
		pango_font_description_free(p.font[i]);
	g_object_unref(p.pc);
	g_object_unref(p.fm);
	return st;
}
