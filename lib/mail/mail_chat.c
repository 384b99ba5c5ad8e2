/* mail_chat.c - Slack workspace exports and Microsoft Teams JSON as messages.
 *
 * Each chat message becomes one pb__mail_msg, with the exact byte range of
 * its JSON object in the file (hashed like an email's bytes): the array is
 * walked element by element with jansson's JSON_DISABLE_EOF_CHECK, which
 * reports how many bytes each element took.
 *
 * Ids: a Slack message is "slack:<channel id>:<ts>" (ts is unique within a
 * channel), a reply's parent is its thread_ts in the same channel. A Teams
 * message is "teams:<channel or chat id>:<Id>", its parent the ReplyToId.
 */
#include "mail/mail.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

/* ---- JSON helpers ------------------------------------------------------ */

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *jpath(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	return json_is_object(v) ? jstr(v, b) : NULL;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

typedef enum pb_status (*elem_fn)(void *ctx, json_t *el, size_t off, size_t len,
                                  struct pb_error *err);

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* Calls fn for each element of the top-level JSON array, with its byte span. */
static enum pb_status array_each(const char *s, size_t n, elem_fn fn, void *ctx,
                                 struct pb_error *err)
{
	size_t i = n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3) ? 3 : 0;
	i = skip_ws(s, n, i);
	if (i >= n || s[i] != '[')
		return pb__err(err, PB_EFORMAT, "expected a JSON array at byte %zu", i);
	i = skip_ws(s, n, i + 1);
	if (i < n && s[i] == ']')
		return PB_OK;
	for (;;) {
		json_error_t je;
		json_t *el = json_loadb(s + i, n - i, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &je);
		if (!el)
			return pb__err(err, PB_EFORMAT, "bad JSON at byte %zu: %s",
			               i + (je.position > 0 ? (size_t)je.position : 0), je.text);
		size_t used = je.position > 0 ? (size_t)je.position : 0;
		enum pb_status st = fn(ctx, el, i, used, err);
		json_decref(el);
		if (st)
			return st;
		i = skip_ws(s, n, i + used);
		if (i < n && s[i] == ',') {
			i = skip_ws(s, n, i + 1);
			continue;
		}
		if (i < n && s[i] == ']')
			return PB_OK;
		return pb__err(err, PB_EFORMAT, "bad JSON at byte %zu: expected ',' or ']'%s", i,
		               i >= n ? " (the file is truncated)" : "");
	}
}

static enum pb_status load_array(const char *json, size_t len, const char *what, json_t **out,
                                 struct pb_error *err)
{
	json_error_t je;
	*out = json_loadb(json, len, 0, &je);
	if (!*out)
		return pb__err_at(err, PB_EFORMAT, what, (uint64_t)(je.line > 0 ? je.line : 0),
		                  (uint32_t)(je.column > 0 ? je.column : 0), "bad JSON: %s", je.text);
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return pb__err(err, PB_EFORMAT, "%s: expected a JSON array", what);
	}
	return PB_OK;
}

/* ---- a sorted id -> value map ---------------------------------------- */

struct kv {
	char *key;
	char *value;
	char *extra; /* channels: members' names, comma separated */
};
struct map {
	struct kv *v;
	size_t n, cap;
	bool sorted;
};

static void map_free(struct map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
		free(m->v[i].extra);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static enum pb_status map_put(struct map *m, const char *k, const char *v, const char *extra)
{
	if (!k || !v)
		return PB_OK;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct kv *nv = realloc(m->v, cap * sizeof(*nv));
		if (!nv)
			return PB_ENOMEM;
		m->v = nv;
		m->cap = cap;
	}
	struct kv *e = &m->v[m->n];
	e->key = pb__strndup(k, strlen(k));
	e->value = pb__strndup(v, strlen(v));
	e->extra = extra ? pb__strndup(extra, strlen(extra)) : NULL;
	if (!e->key || !e->value || (extra && !e->extra)) {
		free(e->key);
		free(e->value);
		free(e->extra);
		return PB_ENOMEM;
	}
	m->n++;
	m->sorted = false;
	return PB_OK;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static const struct kv *map_get(struct map *m, const char *k, size_t n)
{
	if (!m->n)
		return NULL;
	if (!m->sorted) {
		qsort(m->v, m->n, sizeof(*m->v), kv_cmp);
		m->sorted = true;
	}
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(m->v[mid].key, k, n);
		if (c == 0 && m->v[mid].key[n] != '\0')
			c = 1;
		if (c == 0)
			return &m->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- Slack ------------------------------------------------------------ */

struct pb__slack_dir {
	struct map users;    /* U... -> "Real Name <email>" */
	struct map chans;    /* C.../G.../D... -> "#name" or "dm: a, b" (extra: members) */
	struct map by_name;  /* folder name -> channel id */
};

enum pb_status pb__slack_dir_new(struct pb__slack_dir **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? PB_OK : PB_ENOMEM;
}

void pb__slack_dir_free(struct pb__slack_dir *d)
{
	if (!d)
		return;
	map_free(&d->users);
	map_free(&d->chans);
	map_free(&d->by_name);
	free(d);
}

static const char *user_name(void *ctx, const char *id, size_t n)
{
	struct pb__slack_dir *d = ctx;
	const struct kv *e = map_get(&d->users, id, n);
	return e ? e->value : NULL;
}

/* "Real Name <email>" for a users.json entry */
static enum pb_status slack_user(struct pb__slack_dir *d, json_t *u)
{
	const char *id = jstr(u, "id");
	const char *real = nonempty(jstr(u, "real_name"));
	if (!real)
		real = nonempty(jpath(u, "profile", "real_name"));
	if (!real)
		real = nonempty(jpath(u, "profile", "display_name"));
	if (!real)
		real = nonempty(jstr(u, "name"));
	const char *email = nonempty(jpath(u, "profile", "email"));
	char buf[1024];
	if (real && email)
		snprintf(buf, sizeof(buf), "%s <%s>", real, email);
	else
		snprintf(buf, sizeof(buf), "%s", real ? real : email ? email : id ? id : "");
	return map_put(&d->users, id, buf, NULL);
}

static enum pb_status slack_channel(struct pb__slack_dir *d, json_t *c, const char *which)
{
	const char *id = jstr(c, "id");
	const char *name = nonempty(jstr(c, "name"));
	struct pb_buf members;
	pb_buf_init(&members, PB__MAIL_MAX_HEADER / 2);
	json_t *mem = json_object_get(c, "members");
	size_t i;
	json_t *v;
	json_array_foreach(mem, i, v)
	{
		if (!json_is_string(v) || i >= 200)
			continue;
		const char *uid = json_string_value(v);
		const char *un = user_name(d, uid, strlen(uid));
		if (members.len)
			pb_buf_adds(&members, ", ");
		pb_buf_adds(&members, un ? un : uid);
	}
	char label[512];
	if (!strcmp(which, "dms"))
		snprintf(label, sizeof(label), "dm %s", id ? id : "");
	else if (!strcmp(which, "mpims"))
		snprintf(label, sizeof(label), "group dm %s", name ? name : id ? id : "");
	else
		snprintf(label, sizeof(label), "#%s", name ? name : id ? id : "");
	enum pb_status st = map_put(&d->chans, id, label, members.data ? members.data : "");
	if (!st && id)
		st = map_put(&d->by_name, name ? name : id, id, NULL);
	if (!st && id && name)
		st = map_put(&d->by_name, id, id, NULL);
	pb_buf_release(&members);
	return st;
}

enum pb_status pb__slack_dir_load(struct pb__slack_dir *d, const char *which, const char *json,
                                  size_t len, struct pb_error *err)
{
	if (!json)
		return PB_OK;
	json_t *a;
	char what[64];
	snprintf(what, sizeof(what), "%s.json", which);
	enum pb_status st = load_array(json, len, what, &a, err);
	if (st)
		return st;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_object(v))
			continue;
		st = !strcmp(which, "users") ? slack_user(d, v) : slack_channel(d, v, which);
		if (st) {
			st = pb__err(err, st, "out of memory");
			break;
		}
	}
	json_decref(a);
	return st;
}

struct slack_ctx {
	struct pb__slack_dir *d;
	bool known;            /* the folder named a channel of the export */
	const char *cid;       /* channel id */
	const char *label;     /* "#general" */
	const char *members;
	pb__chat_fn fn;
	void *fctx;
};

static enum pb_status slack_files(struct pb__mail_msg *m, json_t *files)
{
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		if (!json_is_object(f))
			continue;
		const char *name = nonempty(jstr(f, "name"));
		if (!name)
			name = nonempty(jstr(f, "title"));
		const char *type = nonempty(jstr(f, "mimetype"));
		json_t *sz = json_object_get(f, "size");
		uint64_t size = json_is_integer(sz) && json_integer_value(sz) > 0
		                        ? (uint64_t)json_integer_value(sz)
		                        : 0;
		enum pb_status st = pb__mail_add_att(m, name ? name : "", type ? type : "", NULL,
		                                     size, false);
		if (st)
			return st;
	}
	return PB_OK;
}

static enum pb_status slack_elem(void *vctx, json_t *o, size_t off, size_t len,
                                 struct pb_error *err)
{
	struct slack_ctx *base = vctx;
	struct slack_ctx local = *base;
	struct slack_ctx *c = &local;
	struct pb__mail_msg m;
	pb__mail_msg_init(&m);
	m.kind = "slack";
	enum pb_status st = PB_OK;
	/* a loose file of messages may name its channel in each message */
	char lbl[300];
	const char *cname = json_is_object(o) ? nonempty(jstr(o, "channel_name")) : NULL;
	if (!c->known && cname) {
		const struct kv *bn = map_get(&c->d->by_name, cname, strlen(cname));
		const struct kv *ch = bn ? map_get(&c->d->chans, bn->value, strlen(bn->value)) : NULL;
		snprintf(lbl, sizeof(lbl), "#%s", cname);
		c->cid = bn ? bn->value : cname;
		c->label = ch ? ch->value : lbl;
		c->members = ch && ch->extra ? ch->extra : "";
	}
	const char *ts = NULL;
	char tsbuf[64];
	json_t *tsv = json_object_get(o, "ts");
	if (json_is_string(tsv))
		ts = json_string_value(tsv);
	else if (json_is_number(tsv)) {
		snprintf(tsbuf, sizeof(tsbuf), "%.6f", json_number_value(tsv));
		ts = tsbuf;
	}
	if (!json_is_object(o) || !ts) {
		pb__mail_warn(&m, false, "not-a-message",
		              "a JSON element without a 'ts' is kept as text, not as a message");
	} else {
		char id[256];
		snprintf(id, sizeof(id), "slack:%s:%s", c->cid, ts);
		m.message_id = pb__strndup(id, strlen(id));
		char *end;
		double t = strtod(ts, &end);
		if (end != ts && t > 0 && t < 1e11) {
			m.date = (int64_t)t;
			m.have_date = true;
		} else {
			pb__mail_warn(&m, false, "bad-date", "ts '%.40s' is not a time", ts);
		}
		const char *thread = jstr(o, "thread_ts");
		if (thread && strcmp(thread, ts) != 0) {
			snprintf(id, sizeof(id), "slack:%s:%s", c->cid, thread);
			m.in_reply_to = pb__strndup(id, strlen(id));
			pb__mail_add_ref(&m, id, strlen(id));
		}
		const char *uid = jstr(o, "user");
		const char *from = uid ? user_name(c->d, uid, strlen(uid)) : NULL;
		if (!from)
			from = nonempty(jpath(o, "user_profile", "real_name"));
		if (!from)
			from = nonempty(jstr(o, "username"));
		if (!from)
			from = uid ? uid : nonempty(jstr(o, "bot_id"));
		if (from)
			pb__mail_set_header(&m, &m.from, "user", from, strlen(from));
		pb__mail_set_header(&m, &m.to, "members", c->members, strlen(c->members));
		pb__mail_set_header(&m, &m.channel, "channel", c->label, strlen(c->label));
		const char *text = jstr(o, "text");
		if (text) {
			struct pb_buf tb;
			pb_buf_init(&tb, PB__MAIL_MAX_TEXT);
			pb__mail_mrkdwn_to_text(text, strlen(text), user_name, c->d, &tb);
			pb__mail_add_text(&m, &m.body, tb.data ? tb.data : "", tb.len);
			pb_buf_release(&tb);
		}
		/* link unfurls and bot attachments carry text too */
		json_t *atts = json_object_get(o, "attachments");
		size_t i;
		json_t *a;
		json_array_foreach(atts, i, a)
		{
			const char *keys[] = { "title", "text", "fallback" };
			for (size_t k = 0; k < PB_ARRAY_LEN(keys); k++) {
				const char *s = nonempty(jstr(a, keys[k]));
				if (s)
					pb__mail_add_text(&m, &m.extra, s, strlen(s));
			}
		}
		json_t *files = json_object_get(o, "files");
		if (json_is_array(files))
			st = slack_files(&m, files);
		else if (json_is_object(json_object_get(o, "file"))) {
			json_t *one = json_array();
			json_array_append(one, json_object_get(o, "file"));
			st = slack_files(&m, one);
			json_decref(one);
		}
	}
	if (!m.message_id) {
		/* keep its bytes searchable: nothing found in an export is dropped */
		char *dump = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
		if (dump) {
			pb__mail_add_text(&m, &m.body, dump, strlen(dump));
			free(dump);
		}
		pb__mail_set_header(&m, &m.channel, "channel", c->label, strlen(c->label));
	}
	if (!st)
		st = c->fn(c->fctx, &m, off, len, err);
	else
		st = pb__err(err, st, "out of memory");
	pb__mail_msg_release(&m);
	return st;
}

enum pb_status pb__slack_day(struct pb__slack_dir *d, const char *folder, const char *json,
                             size_t len, pb__chat_fn fn, void *ctx, struct pb_error *err)
{
	const struct kv *byname = map_get(&d->by_name, folder, strlen(folder));
	const char *cid = byname ? byname->value : folder;
	const struct kv *ch = map_get(&d->chans, cid, strlen(cid));
	char label[300];
	snprintf(label, sizeof(label), "#%s", folder);
	struct slack_ctx c = { d, ch != NULL, cid, ch ? ch->value : label,
		               ch && ch->extra ? ch->extra : "", fn, ctx };
	return array_each(json, len, slack_elem, &c, err);
}

/* ---- Teams ------------------------------------------------------------- */

struct pb__teams_dir {
	struct map users;    /* Id -> "Name <mail>" */
	struct map teams;    /* GroupsId -> team name */
	struct map channels; /* channel Id -> channel name */
};

enum pb_status pb__teams_dir_new(struct pb__teams_dir **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? PB_OK : PB_ENOMEM;
}

void pb__teams_dir_free(struct pb__teams_dir *d)
{
	if (!d)
		return;
	map_free(&d->users);
	map_free(&d->teams);
	map_free(&d->channels);
	free(d);
}

enum pb_status pb__teams_dir_load(struct pb__teams_dir *d, const char *which, const char *json,
                                  size_t len, struct pb_error *err)
{
	json_t *a;
	enum pb_status st = load_array(json, len, which, &a, err);
	if (st)
		return st;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_object(v))
			continue;
		if (!strcmp(which, "usersList")) {
			const char *name = nonempty(jstr(v, "DisplayName"));
			const char *mail = nonempty(jstr(v, "Mail"));
			if (!mail)
				mail = nonempty(jstr(v, "UserPrincipalName"));
			char buf[1024];
			if (name && mail)
				snprintf(buf, sizeof(buf), "%s <%s>", name, mail);
			else
				snprintf(buf, sizeof(buf), "%s", name ? name : mail ? mail : "");
			st = map_put(&d->users, jstr(v, "Id"), buf, NULL);
		} else if (!strcmp(which, "teamsList")) {
			st = map_put(&d->teams, jstr(v, "GroupsId"), jstr(v, "Name"), NULL);
		} else {
			st = map_put(&d->channels, jstr(v, "Id"), jstr(v, "DisplayName"), NULL);
		}
		if (st) {
			st = pb__err(err, st, "out of memory");
			break;
		}
	}
	json_decref(a);
	return st;
}

struct teams_ctx {
	struct pb__teams_dir *d;
	pb__chat_fn fn;
	void *fctx;
};

static enum pb_status teams_elem(void *vctx, json_t *o, size_t off, size_t len,
                                 struct pb_error *err)
{
	struct teams_ctx *c = vctx;
	struct pb__mail_msg m;
	pb__mail_msg_init(&m);
	m.kind = "teams";
	enum pb_status st = PB_OK;
	const char *id = json_is_object(o) ? jstr(o, "Id") : NULL;
	if (!id) {
		pb__mail_warn(&m, false, "not-a-message",
		              "a JSON element without an 'Id' is kept as text, not as a message");
		char *dump = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
		if (dump) {
			pb__mail_add_text(&m, &m.body, dump, strlen(dump));
			free(dump);
		}
		goto emit;
	}
	const char *team = jpath(o, "ChannelIdentity", "TeamId");
	const char *chan = jpath(o, "ChannelIdentity", "ChannelId");
	const char *chat = nonempty(jstr(o, "ChatId"));
	const char *conv = chan ? chan : chat ? chat : "";
	char buf[600];
	snprintf(buf, sizeof(buf), "teams:%s:%s", conv, id);
	m.message_id = pb__strndup(buf, strlen(buf));
	const char *parent = nonempty(jstr(o, "ReplyToId"));
	if (parent && strcmp(parent, id) != 0) {
		snprintf(buf, sizeof(buf), "teams:%s:%s", conv, parent);
		m.in_reply_to = pb__strndup(buf, strlen(buf));
		pb__mail_add_ref(&m, buf, strlen(buf));
	}
	const char *created = jstr(o, "CreatedDateTime");
	if (created && pb_time_parse(created, strlen(created), &m.date, NULL))
		m.have_date = true;
	else
		pb__mail_warn(&m, false, "bad-date", "CreatedDateTime '%.60s' is not a time",
		              created ? created : "");
	if (created)
		pb__mail_set_header(&m, &m.date_header, "date", created, strlen(created));
	const char *uid = jpath(json_object_get(o, "From"), "User", "Id");
	const struct kv *u = uid ? map_get(&c->d->users, uid, strlen(uid)) : NULL;
	const char *from = u ? u->value : jpath(json_object_get(o, "From"), "User", "DisplayName");
	if (!from)
		from = jpath(json_object_get(o, "From"), "Application", "DisplayName");
	if (from)
		pb__mail_set_header(&m, &m.from, "From", from, strlen(from));
	const char *subject = nonempty(jstr(o, "Subject"));
	if (subject)
		pb__mail_set_header(&m, &m.subject, "Subject", subject, strlen(subject));
	const struct kv *tn = team ? map_get(&c->d->teams, team, strlen(team)) : NULL;
	const struct kv *cn = chan ? map_get(&c->d->channels, chan, strlen(chan)) : NULL;
	if (tn || cn)
		snprintf(buf, sizeof(buf), "%s%s%s", tn ? tn->value : "", tn && cn ? " / " : "",
		         cn ? cn->value : "");
	else if (chat)
		snprintf(buf, sizeof(buf), "chat %s", chat);
	else
		snprintf(buf, sizeof(buf), "%s", conv);
	pb__mail_set_header(&m, &m.channel, "channel", buf, strlen(buf));
	json_t *body = json_object_get(o, "Body");
	const char *content = jstr(body, "Content");
	const char *ctype = jstr(body, "ContentType");
	if (content) {
		struct pb_buf t;
		pb_buf_init(&t, PB__MAIL_MAX_TEXT);
		if (ctype && !strcasecmp(ctype, "html"))
			pb__mail_html_to_text(content, strlen(content), &t);
		else
			pb_buf_add(&t, content, strlen(content));
		pb__mail_add_text(&m, &m.body, t.data ? t.data : "", t.len);
		pb_buf_release(&t);
	}
	json_t *atts = json_object_get(o, "Attachments");
	size_t i;
	json_t *a;
	json_array_foreach(atts, i, a)
	{
		const char *name = nonempty(jstr(a, "Name"));
		const char *type = nonempty(jstr(a, "ContentType"));
		if ((st = pb__mail_add_att(&m, name ? name : "", type ? type : "", NULL, 0, false)))
			break;
	}
emit:
	if (!st)
		st = c->fn(c->fctx, &m, off, len, err);
	else
		st = pb__err(err, st, "out of memory");
	pb__mail_msg_release(&m);
	return st;
}

enum pb_status pb__teams_messages(struct pb__teams_dir *d, const char *json, size_t len,
                                  pb__chat_fn fn, void *ctx, struct pb_error *err)
{
	struct teams_ctx c = { d, fn, ctx };
	return array_each(json, len, teams_elem, &c, err);
}

/* ---- what a JSON file is ------------------------------------------------- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

enum pb__json_kind pb__mail_json_kind(const char *name, const char *json, size_t len)
{
	const char *b = base_name(name);
	static const char *const slack_meta[] = { "channels.json", "users.json", "groups.json",
		                                  "dms.json", "mpims.json", "integration_logs.json",
		                                  "canvases.json", "org_users.json" };
	for (size_t i = 0; i < PB_ARRAY_LEN(slack_meta); i++)
		if (!strcmp(b, slack_meta[i]))
			return PB__JSON_SLACK_META;
	if (!strcmp(b, "teamsList.json") || !strcmp(b, "usersList.json") ||
	    !strncmp(b, "channels_", 9) || !strncmp(b, "teamMembers_", 12) ||
	    !strncmp(b, "teamInstalledApps_", 18))
		return PB__JSON_TEAMS_META;
	/* look at the first element only */
	size_t i = len >= 3 && !memcmp(json, "\xEF\xBB\xBF", 3) ? 3 : 0;
	i = skip_ws(json, len, i);
	if (i >= len || json[i] != '[')
		return PB__JSON_UNKNOWN;
	i = skip_ws(json, len, i + 1);
	if (i < len && json[i] == ']')
		return PB__JSON_SLACK_MESSAGES; /* an empty day: harmless either way */
	json_error_t je;
	json_t *el = json_loadb(json + i, len - i, JSON_DISABLE_EOF_CHECK, &je);
	enum pb__json_kind k = PB__JSON_UNKNOWN;
	if (json_is_object(el)) {
		if (json_object_get(el, "ts") || json_object_get(el, "thread_ts"))
			k = PB__JSON_SLACK_MESSAGES;
		else if (json_object_get(el, "Id") &&
		         (json_object_get(el, "Body") || json_object_get(el, "CreatedDateTime")))
			k = PB__JSON_TEAMS_MESSAGES;
	}
	json_decref(el);
	return k;
}
