/* fuzz_mail_chat.c - Slack and Teams JSON: every reported span lies inside
 * the input and starts where a JSON value starts. */
#include "mail/mail.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	const char *d;
	size_t n;
};

static enum pb_status on_msg(void *vctx, struct pb__mail_msg *m, uint64_t off, uint64_t len,
                             struct pb_error *err)
{
	(void)err;
	struct ctx *c = vctx;
	if (off > c->n || len > c->n - off || len == 0)
		abort();
	if (m->body.len && !pb_utf8_valid(m->body.data, m->body.len, NULL))
		abort();
	return pb__mail_msg_finish(m, c->d + off, (size_t)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct ctx c = { d, size };
	struct pb__slack_dir *s;
	if (pb__slack_dir_new(&s) == PB_OK) {
		pb__slack_dir_load(s, "users", d, size, NULL);
		pb__slack_dir_load(s, "channels", d, size, NULL);
		pb__slack_day(s, "general", d, size, on_msg, &c, NULL);
		pb__slack_dir_free(s);
	}
	struct pb__teams_dir *t;
	if (pb__teams_dir_new(&t) == PB_OK) {
		pb__teams_dir_load(t, "usersList", d, size, NULL);
		pb__teams_messages(t, d, size, on_msg, &c, NULL);
		pb__teams_dir_free(t);
	}
	pb__mail_json_kind("x.json", d, size);
	return 0;
}
