/* notice.c - the notice to the customer of a plan: what is disabled and from
 * when, what it affects, what continues, why, and how and by when to respond.
 *
 * The notice is built once as a small document (headings, paragraphs, lists)
 * and written out as plain text, Markdown or self-contained HTML, so the
 * three formats always say the same. Issuing a notice (not a draft) is a plan
 * step: its SHA-256, format and respond-by date go into the audit log in the
 * same transaction that reads the plan.
 */
#include "plan/plan.h"
#include "auth/auth.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

#define NOTICE_MAX ((size_t)16 << 20)
#define LIST_MAX 40 /* affected / continuing services listed by name */

/* ---- a tiny document model ---------------------------------------------------- */

enum block_kind { B_TITLE, B_HEAD, B_PARA, B_ITEM, B_FIELD };

struct block {
	enum block_kind kind;
	char *text;  /* heap */
	char *label; /* B_FIELD: "To", "Date" ... */
};

struct doc {
	struct block *b;
	size_t n, cap;
	bool oom;
};

static void add(struct doc *d, enum block_kind k, const char *label, const char *fmt, ...)
	PB_PRINTF(4, 5);

static void add(struct doc *d, enum block_kind k, const char *label, const char *fmt, ...)
{
	if (d->oom)
		return;
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 32;
		struct block *nb = realloc(d->b, nc * sizeof(*nb));
		if (!nb) {
			d->oom = true;
			return;
		}
		d->b = nb;
		d->cap = nc;
	}
	struct pb_buf t;
	pb_buf_init(&t, NOTICE_MAX);
	va_list ap;
	va_start(ap, fmt);
	char small[1024];
	int len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(small)) {
		/* long text: format again into the capped buffer */
		va_start(ap, fmt);
		size_t need = len > 0 ? (size_t)len + 1 : 1;
		if (pb_buf_reserve(&t, need) == PB_OK) {
			vsnprintf(t.data, need, fmt, ap);
			t.len = need - 1;
		} else {
			d->oom = true;
		}
		va_end(ap);
	} else if (pb_buf_add(&t, small, (size_t)len)) {
		d->oom = true;
	}
	struct block *b = &d->b[d->n];
	b->kind = k;
	b->text = t.data ? t.data : pb__strndup("", 0);
	b->label = label ? pb__strndup(label, strlen(label)) : NULL;
	if (!b->text || (label && !b->label)) {
		free(b->text);
		free(b->label);
		d->oom = true;
		return;
	}
	d->n++;
}

static void doc_release(struct doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->b[i].text);
		free(d->b[i].label);
	}
	free(d->b);
}

/* ---- writing it out ------------------------------------------------------------ */

static enum pb_status wrap(struct pb_buf *o, const char *text, const char *first,
                           const char *rest, size_t width)
{
	enum pb_status st = pb_buf_adds(o, first);
	size_t col = strlen(first);
	const char *p = text;
	bool start = true;
	while (*p && !st) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		size_t wl = (size_t)(e - p);
		if (!wl)
			break;
		if (!start && col + 1 + wl > width) {
			st = pb_buf_addc(o, '\n');
			if (!st)
				st = pb_buf_adds(o, rest);
			col = strlen(rest);
		} else if (!start) {
			st = pb_buf_addc(o, ' ');
			col++;
		}
		if (!st)
			st = pb_buf_add(o, p, wl);
		col += wl;
		start = false;
		p = e;
	}
	return st ? st : pb_buf_addc(o, '\n');
}

static enum pb_status out_text(const struct doc *d, struct pb_buf *o)
{
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < d->n && !st; i++) {
		const struct block *b = &d->b[i];
		bool prev_item = i && d->b[i - 1].kind == B_ITEM;
		bool prev_field = i && d->b[i - 1].kind == B_FIELD;
		switch (b->kind) {
		case B_TITLE:
			st = pb_buf_printf(o, "%s\n", b->text);
			for (size_t k = 0, n = strlen(b->text); k < n && !st; k++)
				st = pb_buf_addc(o, '=');
			if (!st)
				st = pb_buf_adds(o, "\n\n");
			break;
		case B_FIELD: {
			char lab[64];
			pb__snprintf(lab, sizeof(lab), "%-18s", b->label);
			st = wrap(o, b->text, lab, "                  ", 78);
			if (!st && (i + 1 == d->n || d->b[i + 1].kind != B_FIELD))
				st = pb_buf_addc(o, '\n');
			break;
		}
		case B_HEAD:
			if (prev_item)
				st = pb_buf_addc(o, '\n');
			if (!st)
				st = pb_buf_printf(o, "%s\n", b->text);
			for (size_t k = 0, n = strlen(b->text); k < n && !st; k++)
				st = pb_buf_addc(o, '-');
			if (!st)
				st = pb_buf_addc(o, '\n');
			break;
		case B_PARA:
			if (prev_item || prev_field)
				st = prev_item ? pb_buf_addc(o, '\n') : PB_OK;
			if (!st)
				st = wrap(o, b->text, "", "", 78);
			if (!st && (i + 1 == d->n || d->b[i + 1].kind != B_ITEM))
				st = pb_buf_addc(o, '\n');
			break;
		case B_ITEM:
			st = wrap(o, b->text, "  - ", "    ", 78);
			if (!st && i + 1 < d->n && d->b[i + 1].kind == B_HEAD)
				st = PB_OK;
			break;
		}
	}
	return st;
}

static enum pb_status md_escaped(struct pb_buf *o, const char *s)
{
	enum pb_status st = PB_OK;
	for (; *s && !st; s++) {
		if (strchr("\\`*_[]<>#|", *s))
			st = pb_buf_addc(o, '\\');
		if (!st)
			st = pb_buf_addc(o, *s);
	}
	return st;
}

static enum pb_status out_markdown(const struct doc *d, struct pb_buf *o)
{
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < d->n && !st; i++) {
		const struct block *b = &d->b[i];
		bool next_same = i + 1 < d->n && d->b[i + 1].kind == b->kind;
		switch (b->kind) {
		case B_TITLE:
			st = pb_buf_adds(o, "# ");
			if (!st)
				st = md_escaped(o, b->text);
			if (!st)
				st = pb_buf_adds(o, "\n\n");
			break;
		case B_HEAD:
			st = pb_buf_adds(o, "## ");
			if (!st)
				st = md_escaped(o, b->text);
			if (!st)
				st = pb_buf_adds(o, "\n\n");
			break;
		case B_FIELD:
			st = pb_buf_adds(o, "**");
			if (!st)
				st = md_escaped(o, b->label);
			if (!st)
				st = pb_buf_adds(o, ":** ");
			if (!st)
				st = md_escaped(o, b->text);
			if (!st)
				st = pb_buf_adds(o, next_same ? "  \n" : "\n\n");
			break;
		case B_PARA:
			st = md_escaped(o, b->text);
			if (!st)
				st = pb_buf_adds(o, "\n\n");
			break;
		case B_ITEM:
			st = pb_buf_adds(o, "- ");
			if (!st)
				st = md_escaped(o, b->text);
			if (!st)
				st = pb_buf_adds(o, next_same ? "\n" : "\n\n");
			break;
		}
	}
	return st;
}

static enum pb_status html_escaped(struct pb_buf *o, const char *s)
{
	enum pb_status st = PB_OK;
	for (; *s && !st; s++) {
		switch (*s) {
		case '&': st = pb_buf_adds(o, "&amp;"); break;
		case '<': st = pb_buf_adds(o, "&lt;"); break;
		case '>': st = pb_buf_adds(o, "&gt;"); break;
		case '"': st = pb_buf_adds(o, "&quot;"); break;
		case '\'': st = pb_buf_adds(o, "&#39;"); break;
		default: st = pb_buf_addc(o, *s);
		}
	}
	return st;
}

static enum pb_status out_html(const struct doc *d, struct pb_buf *o)
{
	const char *title = d->n && d->b[0].kind == B_TITLE ? d->b[0].text : "Notice";
	enum pb_status st = pb_buf_adds(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	                                    "<meta charset=\"utf-8\">\n<title>");
	if (!st)
		st = html_escaped(o, title);
	if (!st)
		st = pb_buf_adds(o,
		                  "</title>\n<style>\nbody{font-family:Georgia,serif;max-width:46em;"
		                  "margin:2em auto;padding:0 1em;line-height:1.45;color:#111}\n"
		                  "h1{font-size:1.5em;border-bottom:2px solid #111}\n"
		                  "h2{font-size:1.15em;margin-top:1.6em}\n"
		                  "table{border-collapse:collapse}th{text-align:left;padding-right:1em;"
		                  "vertical-align:top}\n.draft{color:#b00;font-weight:bold}\n"
		                  "@media print{body{margin:0}}\n</style>\n</head>\n<body>\n");
	for (size_t i = 0; i < d->n && !st; i++) {
		const struct block *b = &d->b[i];
		bool prev_same = i && d->b[i - 1].kind == b->kind;
		bool next_same = i + 1 < d->n && d->b[i + 1].kind == b->kind;
		const char *open = "", *close = "";
		switch (b->kind) {
		case B_TITLE: open = "<h1>"; close = "</h1>\n"; break;
		case B_HEAD: open = "<h2>"; close = "</h2>\n"; break;
		case B_PARA: open = "<p>"; close = "</p>\n"; break;
		case B_ITEM:
			open = prev_same ? "<li>" : "<ul>\n<li>";
			close = next_same ? "</li>\n" : "</li>\n</ul>\n";
			break;
		case B_FIELD:
			if (!prev_same)
				st = pb_buf_adds(o, "<table>\n");
			if (!st)
				st = pb_buf_adds(o, "<tr><th>");
			if (!st)
				st = html_escaped(o, b->label);
			open = "</th><td>";
			close = next_same ? "</td></tr>\n" : "</td></tr>\n</table>\n";
			break;
		}
		if (!st)
			st = pb_buf_adds(o, open);
		if (!st && b->kind == B_PARA && !strncmp(b->text, "DRAFT", 5))
			st = pb_buf_adds(o, "<span class=\"draft\">");
		if (!st)
			st = html_escaped(o, b->text);
		if (!st && b->kind == B_PARA && !strncmp(b->text, "DRAFT", 5))
			st = pb_buf_adds(o, "</span>");
		if (!st)
			st = pb_buf_adds(o, close);
	}
	if (!st)
		st = pb_buf_adds(o, "</body>\n</html>\n");
	return st;
}

/* ---- words --------------------------------------------------------------------- */

/* "a", "a and b", "a, b and c" of the values of one dimension into b. */
static void join(struct pb_buf *b, const char *const *v, size_t n, const char *(*name)(const char *,
                                                                                       void *),
                 void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			pb_buf_adds(b, i + 1 == n ? " and " : ", ");
		pb_buf_adds(b, name ? name(v[i], ctx) : v[i]);
	}
}

static const char *region_name(const char *id, void *ctx)
{
	const struct pb_catalog *cat = ctx;
	const struct pb_region *g = pb_catalog_region(cat, pb_cstr(id));
	return g && g->name && *g->name ? g->name : id;
}

/* A selector in words: "services in the category Storage, in NL". */
static char *selector_words(const struct pb_catalog *cat, const struct pb_rule *r)
{
	struct pb_buf b;
	pb_buf_init(&b, NOTICE_MAX);
	bool what = false;
	if (r->nvalues[PB_DIM_CAPABILITY]) {
		pb_buf_adds(&b, "the ");
		join(&b, r->values[PB_DIM_CAPABILITY], r->nvalues[PB_DIM_CAPABILITY], NULL, NULL);
		pb_buf_printf(&b, " capabilit%s", r->nvalues[PB_DIM_CAPABILITY] > 1 ? "ies" : "y");
		what = true;
	}
	if (r->nvalues[PB_DIM_SERVICE]) {
		pb_buf_adds(&b, what ? " of " : "");
		pb_buf_printf(&b, "the service%s ", r->nvalues[PB_DIM_SERVICE] > 1 ? "s" : "");
		join(&b, r->values[PB_DIM_SERVICE], r->nvalues[PB_DIM_SERVICE], NULL, NULL);
		what = true;
	}
	if (r->nvalues[PB_DIM_CATEGORY] || r->nvalues[PB_DIM_SUBCATEGORY]) {
		pb_buf_adds(&b, what ? ", among " : "");
		pb_buf_adds(&b, "services in the ");
		if (r->nvalues[PB_DIM_CATEGORY]) {
			pb_buf_printf(&b, "categor%s ", r->nvalues[PB_DIM_CATEGORY] > 1 ? "ies" : "y");
			join(&b, r->values[PB_DIM_CATEGORY], r->nvalues[PB_DIM_CATEGORY], NULL, NULL);
		}
		if (r->nvalues[PB_DIM_SUBCATEGORY]) {
			pb_buf_adds(&b, r->nvalues[PB_DIM_CATEGORY] ? ", subcategor" : "subcategor");
			pb_buf_printf(&b, "%s ", r->nvalues[PB_DIM_SUBCATEGORY] > 1 ? "ies" : "y");
			join(&b, r->values[PB_DIM_SUBCATEGORY], r->nvalues[PB_DIM_SUBCATEGORY], NULL, NULL);
		}
		what = true;
	}
	if (!what)
		pb_buf_adds(&b, "all services");
	if (r->nvalues[PB_DIM_REGION]) {
		pb_buf_printf(&b, ", in the region%s ", r->nvalues[PB_DIM_REGION] > 1 ? "s" : "");
		for (size_t i = 0; i < r->nvalues[PB_DIM_REGION]; i++) {
			if (i)
				pb_buf_adds(&b, i + 1 == r->nvalues[PB_DIM_REGION] ? " and " : ", ");
			const char *nm = region_name(r->values[PB_DIM_REGION][i], (void *)cat);
			pb_buf_adds(&b, r->values[PB_DIM_REGION][i]);
			if (strcmp(nm, r->values[PB_DIM_REGION][i]))
				pb_buf_printf(&b, " (%s)", nm);
		}
	}
	if (r->nvalues[PB_DIM_COUNTRY]) {
		pb_buf_printf(&b, ", in region%s located in ",
		               r->nvalues[PB_DIM_REGION] ? "s among these" : "s");
		join(&b, r->values[PB_DIM_COUNTRY], r->nvalues[PB_DIM_COUNTRY], NULL, NULL);
	}
	if (!r->nvalues[PB_DIM_REGION] && !r->nvalues[PB_DIM_COUNTRY])
		pb_buf_adds(&b, ", in every region");
	if (r->nvalues[PB_DIM_SUBACCOUNT]) {
		pb_buf_printf(&b, ", for the sub-account%s ",
		               r->nvalues[PB_DIM_SUBACCOUNT] > 1 ? "s" : "");
		join(&b, r->values[PB_DIM_SUBACCOUNT], r->nvalues[PB_DIM_SUBACCOUNT], NULL, NULL);
	}
	return b.data ? b.data : pb__strndup("", 0);
}

/* The first rule of selector s: the selector's terms, whatever its accounts. */
static const struct pb_rule *sel_rule(const struct pb_plan *p, size_t s)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rule_selector[i] == s)
			return &p->rules[i];
	return NULL;
}

static void day_text(int64_t t, char out[11])
{
	pb_day_format(pb_floordiv(t, 86400), out);
}

static void when_text(int64_t t, char out[40])
{
	char ts[24];
	pb_time_format(t, ts);
	pb__snprintf(out, 40, "%.10s %.5s UTC", ts, ts + 11);
}

/* The accounts the plan names, deduplicated, into b. */
static void plan_accounts(const struct pb_plan *p, int dim, struct pb_buf *b)
{
	size_t shown = 0;
	for (size_t i = 0; i < p->nrules; i++)
		for (size_t j = 0; j < p->rules[i].nvalues[dim]; j++) {
			const char *v = p->rules[i].values[dim][j];
			bool dup = false;
			for (size_t k = 0; k <= i && !dup; k++)
				for (size_t m = 0; m < p->rules[k].nvalues[dim] && !dup; m++) {
					if (k == i && m >= j)
						break;
					dup = pb__ieq(p->rules[k].values[dim][m], v);
				}
			if (dup)
				continue;
			pb_buf_printf(b, "%s%s", shown ? ", " : "", v);
			shown++;
		}
}

/* "Storage Accounts (object-storage) in westeurope (West Europe)", once per
 * service, capability and region among rows with cut == want. */
static void usage_items(struct doc *doc, const struct pb_catalog *cat,
                        const struct pb_plan_dryrun *d, bool want, bool kept_only)
{
	size_t listed = 0, more = 0;
	for (size_t i = 0; i < d->nrows; i++) {
		const struct pb_plan_usage *u = &d->rows[i];
		if (u->cut != want || (kept_only && u->kept_by < 0))
			continue;
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++) {
			const struct pb_plan_usage *v = &d->rows[j];
			dup = v->cut == want && (!kept_only || v->kept_by >= 0) &&
			      !strcmp(v->service, u->service) && !strcmp(v->capability, u->capability) &&
			      !strcmp(v->region, u->region);
		}
		if (dup)
			continue;
		if (listed >= LIST_MAX) {
			more++;
			continue;
		}
		const char *rn = u->region[0] ? region_name(u->region, (void *)cat) : "";
		char reg[300] = "";
		if (u->region[0])
			pb__snprintf(reg, sizeof(reg), " in %s%s%s%s%s", u->region,
			             strcmp(rn, u->region) ? " (" : "", strcmp(rn, u->region) ? rn : "",
			             u->country[0] ? (strcmp(rn, u->region) ? ", " : " (") : "",
			             u->country[0] ? u->country : "");
		bool paren = u->region[0] && (strcmp(rn, u->region) || u->country[0]);
		add(doc, B_ITEM, NULL, "%s%s%s%s%s%s", u->service, u->capability[0] ? " (" : "",
		    u->capability, u->capability[0] ? ")" : "", reg, paren ? ")" : "");
		listed++;
	}
	if (more)
		add(doc, B_ITEM, NULL, "and %zu more", more);
}

static enum pb_status build_doc(struct pb_ws *ws, const struct pb_catalog *cat,
                                const struct pb_plan *p, const struct pb_plan_dryrun *d,
                                const struct pb_notice_options *o, int64_t now, char respond[11],
                                struct doc *doc)
{
	const char *provider = pb_ws_setting(ws, "provider_name");
	const char *contact = pb_ws_setting(ws, "appeal_contact");
	if (!provider || !*provider)
		provider = "(provider_name is not set in probity.conf)";
	if (!contact || !*contact)
		contact = "your account team";
	bool lifted = !strcmp(p->status, "rolled-back");
	char today[11], from[40], until[40] = "", ref[96];
	day_text(now, today);
	day_text(now + (int64_t)p->appeal_days * 86400, respond);
	pb__snprintf(ref, sizeof(ref), "case %lld, plan %lld (%.12s)", (long long)p->case_id,
	             (long long)p->id, p->sha256);
	if (p->until != PB_TIME_OPEN_END)
		when_text(p->until, until);
	add(doc, B_TITLE, NULL, "%s", lifted ? "Notice: service restriction lifted"
	                                     : "Notice of service restriction");
	if (o->draft)
		add(doc, B_PARA, NULL, "DRAFT - not issued; for review only.");
	struct pb_buf acc;
	pb_buf_init(&acc, NOTICE_MAX);
	plan_accounts(p, PB_DIM_ACCOUNT, &acc);
	add(doc, B_FIELD, "To", "%s", p->customer);
	add(doc, B_FIELD, "Billing accounts", "%s", acc.data ? acc.data : "");
	pb_buf_reset(&acc);
	plan_accounts(p, PB_DIM_SUBACCOUNT, &acc);
	if (acc.len)
		add(doc, B_FIELD, "Sub-accounts", "%s", acc.data);
	pb_buf_release(&acc);
	add(doc, B_FIELD, "From", "%s", provider);
	add(doc, B_FIELD, "Date", "%s", today);
	add(doc, B_FIELD, "Reference", "%s", ref);

	if (lifted) {
		const char *at = NULL;
		for (size_t i = 0; i < p->nevents; i++)
			if (!strcmp(p->events[i].kind, "rollback"))
				at = p->events[i].at;
		add(doc, B_HEAD, NULL, "What has changed");
		add(doc, B_PARA, NULL,
		    "The restriction announced under the reference above was lifted on %.10s. The "
		    "following services are available again to the accounts above:",
		    at ? at : today);
	} else {
		char start[80];
		if (p->in_force_from) {
			when_text(p->in_force_from, from);
			pb__snprintf(start, sizeof(start), "from %s", from);
		} else if (p->effective != PB_TIME_OPEN_START) {
			when_text(p->effective, from);
			pb__snprintf(start, sizeof(start), "from %s", from);
		} else {
			pb__snprintf(start, sizeof(start), "from the day it is applied, on or after %s",
			             today);
		}
		add(doc, B_HEAD, NULL, "What we are doing");
		add(doc, B_PARA, NULL,
		    "We %s the following services for the accounts above, %s%s%s:",
		    strcmp(p->status, "applied") ? "will disable" : "have disabled", start,
		    until[0] ? " until " : " until further notice", until);
	}
	size_t ndis = 0;
	for (size_t s = 0; s < p->nselectors; s++) {
		if (p->selectors[s].keep)
			continue;
		const struct pb_rule *r = sel_rule(p, s);
		if (!r)
			continue;
		char *w = selector_words(cat, r);
		add(doc, B_ITEM, NULL, "%s", w ? w : "");
		free(w);
		ndis++;
	}
	if (d && d->ncut) {
		add(doc, B_PARA, NULL, "From your usage%s%s, this %s:", d->month[0] ? " in " : "",
		    d->month, lifted ? "concerned" : "affects");
		usage_items(doc, cat, d, true, false);
	}
	if (!lifted) {
		add(doc, B_HEAD, NULL, "What continues");
		bool keeps = false;
		for (size_t s = 0; s < p->nselectors; s++)
			keeps |= p->selectors[s].keep;
		if (keeps) {
			add(doc, B_PARA, NULL,
			    "The following remain available, even where a restriction above would "
			    "otherwise apply:");
			for (size_t s = 0; s < p->nselectors; s++) {
				if (!p->selectors[s].keep)
					continue;
				const struct pb_rule *r = sel_rule(p, s);
				char *w = r ? selector_words(cat, r) : NULL;
				add(doc, B_ITEM, NULL, "%s", w ? w : p->selectors[s].text);
				free(w);
			}
		}
		bool on = false;
		for (size_t i = 0; d && i < d->nrows; i++)
			on |= !d->rows[i].cut;
		if (on) {
			add(doc, B_PARA, NULL,
			    "All other services continue unchanged; from your usage%s%s, these include:",
			    d->month[0] ? " in " : "", d->month);
			usage_items(doc, cat, d, false, false);
		} else {
			add(doc, B_PARA, NULL, "All other services continue unchanged.");
		}
	}
	add(doc, B_HEAD, NULL, "Why");
	add(doc, B_PARA, NULL,
	    "%s under %s, following a review of our own business records (billing and usage "
	    "records and internal communications), recorded as case %lld. The review did not "
	    "access the content you store or process with our services. The decision was "
	    "approved by %u reviewers.",
	    lifted ? "The restriction had been imposed" : "This action is taken", p->clause,
	    (long long)p->case_id,
	    p->approvals > p->approvals_needed ? p->approvals : p->approvals_needed);
	add(doc, B_HEAD, NULL, "How to respond or appeal");
	add(doc, B_PARA, NULL,
	    "You may respond to this notice or appeal the decision until %s (%u days from the "
	    "date of this notice) by contacting %s, quoting the reference \"case %lld, plan "
	    "%lld\". An appeal is reviewed by people who did not take the decision.",
	    respond, p->appeal_days, contact, (long long)p->case_id, (long long)p->id);
	if (!lifted && p->review_by)
		add(doc, B_PARA, NULL,
		    "Whatever the outcome of any appeal, the restriction will be reviewed by %s at "
		    "the latest.",
		    p->review_by);
	(void)ndis;
	return doc->oom ? PB_ENOMEM : PB_OK;
}

enum pb_status pb__plan_require_decided(const struct pb_plan *p, const char *verb,
                                        const char *purpose, struct pb_error *err)
{
	bool approved = !strcmp(p->status, "draft") && p->approvals >= p->approvals_needed &&
	                !p->refusals;
	if (!strcmp(p->status, "withdrawn"))
		return pb__err(err, PB_ESTATE, "plan %lld was withdrawn; there is nothing to %s",
		               (long long)p->id, verb);
	if (!strcmp(p->status, "draft") && !approved)
		return pb__err_field(err, PB_ESTATE, "draft",
		                     "plan %lld is not approved (%s); %s; a draft previews one without "
		                     "issuing it",
		                     (long long)p->id, p->state, purpose);
	return PB_OK;
}

enum pb_status pb_notice_make(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                              int64_t id, const struct pb_notice_options *o, char **text_out,
                              uint64_t *index_out, struct pb_error *err)
{
	struct pb_notice_options def = { PB_NOTICE_TEXT, false, 0 };
	struct pb_plan *p = NULL;
	struct pb_plan_dryrun *d = NULL;
	struct doc doc = { 0 };
	struct pb_buf out;
	bool txn = false;
	enum pb_status st;
	*text_out = NULL;
	if (!o)
		o = &def;
	if ((unsigned)o->format > PB_NOTICE_HTML)
		return pb__err(err, PB_EINVAL, "unknown notice format");
	pb_buf_init(&out, NOTICE_MAX);
	if (!o->draft) {
		if ((st = pb__ws_require_writable(ws, "issue a notice", err)))
			return st;
		if ((st = pb__ws_begin(ws, err)))
			return st;
		txn = true;
		if ((st = pb__user_may(ws, actor, "plan.notice", err)))
			goto out;
	}
	if ((st = pb_plan_get(ws, id, &p, err)))
		goto out;
	if (!o->draft && (st = pb__plan_require_decided(p, "notify",
	                                                "a notice announces an approved plan", err)))
		goto out;
	if ((st = pb_plan_dryrun(ws, cat, p, NULL, &d, err)))
		goto out;
	int64_t now = o->now ? o->now : pb_now();
	char respond[11];
	if ((st = build_doc(ws, cat, p, d, o, now, respond, &doc))) {
		st = pb__err(err, st, "cannot write the notice: out of memory");
		goto out;
	}
	st = o->format == PB_NOTICE_HTML       ? out_html(&doc, &out)
	     : o->format == PB_NOTICE_MARKDOWN ? out_markdown(&doc, &out)
	                                       : out_text(&doc, &out);
	if (st) {
		st = pb__err(err, st, "cannot write the notice: %s",
		             st == PB_ELIMIT ? "too large" : "out of memory");
		goto out;
	}
	if (!o->draft) {
		static const char *const names[] = { "text", "markdown", "html" };
		uint8_t h[32];
		char hex[65];
		pb__sha256(out.data, out.len, h);
		pb_hex(h, 32, hex);
		char *dj = NULL;
		json_t *dt = json_pack("{s:s, s:s, s:s, s:I, s:s}", "format", names[o->format],
		                       "notice_sha256", hex, "respond_by", respond, "bytes",
		                       (json_int_t)out.len, "customer", p->customer);
		if (dt)
			dj = json_dumps(dt, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(dt);
		if (!dj) {
			st = pb__err(err, PB_EINVAL, "cannot record the notice");
			goto out;
		}
		st = pb__plan_record(ws, actor, id, p->case_id, "notice", "plan.notice", p->sha256,
		                     NULL, dj, index_out, err);
		free(dj);
		if (st)
			goto out;
		txn = false;
		if ((st = pb__ws_commit(ws, err)))
			goto out;
	}
	*text_out = out.data;
	out.data = NULL;
out:
	if (txn)
		pb__ws_rollback(ws);
	pb_buf_release(&out);
	doc_release(&doc);
	pb_plan_dryrun_free(d);
	pb_plan_free(p);
	return st;
}
