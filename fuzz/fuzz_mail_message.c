/* fuzz_mail_message.c - the message ingest path: kind sniffing, mbox
 * splitting, GMime parsing into a record, HTML to text. Invariants: every
 * split range lies inside the input, and every text kept is valid UTF-8. */
#include "mail/mail.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const struct pb__mail_msg *m)
{
	if (!pb_utf8_valid(m->body.data ? m->body.data : "", m->body.len, NULL) ||
	    !pb_utf8_valid(m->extra.data ? m->extra.data : "", m->extra.len, NULL) ||
	    (m->subject && !pb_utf8_valid(m->subject, strlen(m->subject), NULL)) ||
	    (m->from && !pb_utf8_valid(m->from, strlen(m->from), NULL)))
		abort();
}

static void one(const char *d, size_t n)
{
	struct pb__mail_msg m;
	pb__mail_msg_init(&m);
	if (pb__mail_parse_email(d, n, &m, NULL) == PB_OK &&
	    pb__mail_msg_finish(&m, d, n) == PB_OK)
		check_msg(&m);
	pb__mail_msg_release(&m);
}

struct ctx {
	const char *d;
	size_t n;
};

static enum pb_status on_msg(void *vctx, const struct pb__mbox_msg *mm, struct pb_error *err)
{
	(void)err;
	struct ctx *c = vctx;
	if (mm->offset > c->n || mm->length > c->n - mm->offset)
		abort();
	one(c->d + mm->offset, (size_t)mm->length);
	return PB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	if (pb__mail_sniff(d, size) == PB__KIND_MBOX) {
		struct ctx c = { d, size };
		pb__mail_mbox_split(d, size, on_msg, &c, NULL);
	} else {
		one(d, size);
	}
	struct pb_buf t;
	pb_buf_init(&t, 1u << 20);
	pb__mail_html_to_text(d, size, &t);
	pb_buf_release(&t);
	return 0;
}
