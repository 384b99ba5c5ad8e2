/* report.h - internals shared by the report area's files (sor.c: statements
 * of reasons; sor_check.c: their validator; appeal.c: appeals on the log;
 * transparency.c: the transparency report; casereport.c: the case report
 * and its verifier). */
#ifndef PB_REPORT_H
#define PB_REPORT_H

#include "auth/auth.h"
#include "plan/plan.h"
#include "store/store.h"
#include "util/util.h"

#include <jansson.h>

/* The EU member states and the EEA (ISO 3166-1 alpha-2; Greece is GR), in
 * the database's order, then NULL: the codes a territorial_scope may hold. */
#define PB__EEA_N 30
extern const char *const pb__eea[PB__EEA_N + 1];

/* Publishes a report: one log entry `action` whose details are details
 * (borrowed) plus the name, SHA-256 and size of every file, written as actor
 * (analyst, approver or auditor) in its own transaction. */
enum pb_status pb__report_publish(struct pb_ws *ws, const char *actor, const char *action,
                                  json_t *details, const struct pb_report_file *f, size_t n,
                                  uint64_t *index_out, struct pb_error *err);

/* Appends s to o with & < > " escaped for HTML text and attribute values. */
enum pb_status pb__report_html_text(struct pb_buf *o, const char *s);

struct pb__stacked;

/* casepdf.c: lays out the case report's page html[0..n) (what casereport.c
 * writes before the evidence: its fixed, small set of elements) as an A4 PDF
 * with cairo and pango: embedded font subsets (DejaVu), page numbers, a table
 * of contents with links and an outline, links from "entry N" to the entry's
 * row, and the profile chart drawn as vectors from chart (may be NULL) where
 * the page has its SVG. title is the document's title, now its date. *out
 * (pb_buf_release) gets the PDF. */
enum pb_status pb__report_pdf(const char *html, size_t n, const struct pb__stacked *chart,
                              const char *title, int64_t now, struct pb_buf *out,
                              struct pb_error *err);

/* pdfattach.c: pdf[0..n) (as cairo writes it) with ev[0..evlen) attached as
 * the file probity-evidence.json by an incremental update, into *out
 * (pb_buf_release). PB_EFORMAT for a PDF not in cairo's form. */
enum pb_status pb__pdf_attach(const char *pdf, size_t n, const char *ev, size_t evlen,
                              struct pb_buf *out, struct pb_error *err);
/* Finds what pb__pdf_attach appended: the length of the PDF before it and a
 * view of the attached evidence. PB_EVERIFY when there is none. The caller
 * checks the rest by writing the update again and comparing. */
enum pb_status pb__pdf_attached(const char *pdf, size_t n, size_t *body_len, const char **ev,
                                size_t *evlen, struct pb_error *err);

#endif /* PB_REPORT_H */
