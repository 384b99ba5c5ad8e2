/* mail.h - internals of the mail module shared by its files.
 *
 * The module reads the provider's own mail and chat archives and makes them
 * searchable inside a case:
 *   mail_text.c    UTF-8 repair, line-ending normalisation, HTML and Slack
 *                  mrkdwn to text
 *   mail_mime.c    one RFC 5322 message through GMime into a pb__mail_msg
 *   mail_mbox.c    mbox splitting with byte offsets; file kind detection
 *   mail_zip.c     a small capped zip reader (Slack exports come zipped)
 *   mail_chat.c    Slack workspace exports and Teams JSON into pb__mail_msg
 *   mail_ingest.c  walking paths, dedupe, threads, the FTS5 index, exceptions
 *   mail_query.c   the query language: parse into a tree, compile to SQL
 *   mail_search.c  search, hit reports, tags, show, stats, exceptions
 *   mail_export.c  export of hits with hashes and a Concordance DAT; verify
 *   mail_case.c    the boundary with the case and audit modules
 */
#ifndef PB_MAIL_H
#define PB_MAIL_H

#include "store/store.h"

/* ---- caps on outside input (each overrun is PB_ELIMIT or an exception) ---- */
#define PB__MAIL_MAX_MESSAGE (64u << 20)    /* bytes of one message we parse */
#define PB__MAIL_MAX_TEXT (8u << 20)        /* bytes of text per column we index */
#define PB__MAIL_MAX_HEADER (64u << 10)     /* bytes of one header value we keep */
#define PB__MAIL_MAX_PARTS 10000u           /* MIME parts walked per message */
#define PB__MAIL_MAX_DEPTH 64u              /* MIME nesting we follow */
#define PB__MAIL_MAX_ATTACH 1000u           /* attachments listed per message */
#define PB__MAIL_MAX_WARN 50u               /* warnings kept per message */
#define PB__MAIL_MAX_REFS 500u              /* References kept per message */
#define PB__MAIL_MAX_JSON (256u << 20)      /* one chat JSON file */
#define PB__MAIL_MAX_MEMBER (256u << 20)    /* one zip member, inflated */
#define PB__MAIL_MAX_ZIP_TOTAL (4ull << 30) /* all members of one zip, inflated */
#define PB__MAIL_MAX_ZIP_RATIO 200u         /* inflated / compressed, above 1 MiB */
#define PB__MAIL_MAX_ZIP_ENTRIES 1000000u
#define PB__MAIL_MAX_DIR_DEPTH 64u
#define PB__MAIL_MAX_QUERY 8192u            /* bytes of one query */
#define PB__MAIL_MAX_QNODES 1000u           /* nodes of one parsed query */
#define PB__MAIL_MAX_QDEPTH 16u             /* nesting of operators (SQLite's parser
                                             * stack bounds the SQL we make) */

/* ---- a parsed message ------------------------------------------------ */

struct pb__mail_att {
	char *name;  /* file name, "" when the part has none */
	char *type;  /* "application/pdf" */
	uint64_t size;
	char sha256[65];
	bool indexed; /* its text went into the index (plain text only) */
};

struct pb__mail_warn {
	char kind[48];   /* "duplicated-header", "invalid-charset", ... */
	char *detail;
	bool error;      /* true: part of the message could not be read */
	unsigned count;  /* times seen in this message */
};

struct pb__mail_msg {
	const char *kind;    /* "email", "slack", "teams" */
	char *message_id;    /* without angle brackets */
	bool mid_synthetic;  /* the message had none; we made one from its hash */
	int64_t date;
	bool have_date;
	char *date_header;   /* as written, or NULL */
	char *from, *to, *cc, *bcc, *subject;
	char *in_reply_to;   /* the parent's id, or NULL */
	char **refs;         /* In-Reply-To and References ids, deduplicated */
	size_t nrefs;
	char *channel;       /* chat: channel or conversation name */
	struct pb_buf body;  /* the message's text: plain parts, or HTML as text */
	struct pb_buf extra; /* other alternatives, plain-text attachments, inner messages */
	struct pb_buf attach_names;
	struct pb__mail_att *att;
	size_t natt;
	unsigned flags;      /* PB_MAIL_* */
	struct pb__mail_warn *warn;
	size_t nwarn;
	size_t nwarn_dropped;
	size_t nparts;
	char body_sha256[65]; /* dedupe key with message_id; see pb__mail_msg_finish */
	char raw_sha256[65];
	uint64_t raw_len;
};

void pb__mail_msg_init(struct pb__mail_msg *m);
void pb__mail_msg_release(struct pb__mail_msg *m);
/* Records a warning (kept up to PB__MAIL_MAX_WARN; later ones are counted). */
void pb__mail_warn(struct pb__mail_msg *m, bool error, const char *kind, const char *fmt, ...)
	PB_PRINTF(4, 5);
/* Sets *dst to a sanitised copy of s (valid UTF-8, cut at PB__MAIL_MAX_HEADER
 * with a warning naming `what`). s may be NULL. */
enum pb_status pb__mail_set_header(struct pb__mail_msg *m, char **dst, const char *what,
                                   const char *s, size_t n);
/* Adds a reference id (deduplicated, capped). */
enum pb_status pb__mail_add_ref(struct pb__mail_msg *m, const char *id, size_t n);
/* Adds an attachment record; the strings are copied. */
enum pb_status pb__mail_add_att(struct pb__mail_msg *m, const char *name, const char *type,
                                const void *data, size_t size, bool indexed);
/* Appends text to a column buffer: repaired to UTF-8, line ends made LF, a
 * blank line between pieces; over the cap it sets PB_MAIL_TRUNCATED. */
void pb__mail_add_text(struct pb__mail_msg *m, struct pb_buf *col, const char *s, size_t n);
/* Computes raw_sha256 from the raw bytes and body_sha256 from the extracted
 * content, and fills a synthetic Message-ID when there was none. */
enum pb_status pb__mail_msg_finish(struct pb__mail_msg *m, const void *raw, size_t rawlen);

/* ---- text (mail_text.c) --------------------------------------------- */

/* Appends s to out as valid UTF-8: invalid sequences become U+FFFD; CRLF and
 * lone CR become LF; NUL and other C0 controls except TAB and LF become
 * spaces. Returns the number of bytes replaced, or (size_t)-1 when out is full. */
size_t pb__mail_utf8_append(struct pb_buf *out, const char *s, size_t n);
/* HTML to text: tags and comments dropped (attribute values never become
 * text), script and style skipped, block elements as line breaks, entities
 * decoded, white space collapsed. */
enum pb_status pb__mail_html_to_text(const char *html, size_t n, struct pb_buf *out);
/* Converts bytes in `charset` to UTF-8 into out. Unknown charsets and invalid
 * bytes are read as windows-1252 / replaced; *lossy says it happened. */
enum pb_status pb__mail_charset_to_utf8(const char *charset, const char *s, size_t n,
                                        struct pb_buf *out, bool *unknown, bool *lossy);
/* Slack mrkdwn to text: <@U1> mentions through the users lookup, <url|label>,
 * <!channel>, &amp; entities. lookup may be NULL. */
typedef const char *(*pb__mail_user_lookup)(void *ctx, const char *id, size_t n);
enum pb_status pb__mail_mrkdwn_to_text(const char *s, size_t n, pb__mail_user_lookup lookup,
                                       void *ctx, struct pb_buf *out);

/* ---- MIME (mail_mime.c) --------------------------------------------- */

/* g_mime_init(), once per process (GMime's own global state). Every entry
 * into GMime calls it first. */
void pb__mail_gmime_init(void);

/* Parses one message (raw bytes, no mbox From_ line) into m. A message that
 * GMime cannot make sense of is still returned, with warnings; the function
 * fails only on ENOMEM. */
enum pb_status pb__mail_parse_email(const char *data, size_t len, struct pb__mail_msg *m,
                                    struct pb_error *err);

/* ---- mbox and kinds (mail_mbox.c) ------------------------------------ */

enum pb__mail_kind {
	PB__KIND_EML,
	PB__KIND_MBOX,
	PB__KIND_JSON,
	PB__KIND_ZIP,
	PB__KIND_EMPTY,
};
/* Guesses the kind of a file from its first bytes. */
enum pb__mail_kind pb__mail_sniff(const char *data, size_t len);

/* One message of an mbox: [offset, offset+length) are the message bytes
 * after its From_ line. */
struct pb__mbox_msg {
	uint64_t offset;
	uint64_t length;
	uint64_t from_line;     /* offset of the From_ line */
	bool truncated_end;     /* the file ends inside this message (no final newline) */
};
/* Calls fn for each message of the mbox in data. A From_ line counts only
 * when it looks like one ("From <sender> [date]"), so unescaped "From Russia
 * with love" body lines do not split; Content-Length is honoured when it lands
 * on the next From_ line or the end. Returns the number of messages. */
typedef enum pb_status (*pb__mbox_fn)(void *ctx, const struct pb__mbox_msg *m,
                                      struct pb_error *err);
enum pb_status pb__mail_mbox_split(const char *data, size_t len, pb__mbox_fn fn, void *ctx,
                                   struct pb_error *err);

/* ---- zip (mail_zip.c) ------------------------------------------------ */

struct pb__zip_entry {
	char *name;
	uint64_t csize;
	uint64_t usize;
	uint64_t local_offset;
	uint16_t method;
	uint32_t crc;
};
struct pb__zip {
	const unsigned char *data;
	size_t len;
	struct pb__zip_entry *entries;
	size_t nentries;
	uint64_t inflated_total; /* bytes inflated so far, against PB__MAIL_MAX_ZIP_TOTAL */
	uint64_t total_limit;
};
/* Reads the central directory of the zip in data (which must outlive z). */
enum pb_status pb__zip_open(struct pb__zip *z, const void *data, size_t len, const char *path,
                            struct pb_error *err);
void pb__zip_close(struct pb__zip *z);
/* Finds an entry by exact name; NULL when absent. */
const struct pb__zip_entry *pb__zip_find(const struct pb__zip *z, const char *name);
/* Inflates an entry into out (capped by limit and by the zip's running total
 * and ratio checks: a zip bomb fails with PB_ELIMIT). Checks the CRC. */
enum pb_status pb__zip_read(struct pb__zip *z, const struct pb__zip_entry *e, size_t limit,
                            struct pb_buf *out, struct pb_error *err);

/* ---- chat (mail_chat.c) ---------------------------------------------- */

/* A chat message found in a JSON file: the parsed message and where its
 * object's bytes are inside that file. */
typedef enum pb_status (*pb__chat_fn)(void *ctx, struct pb__mail_msg *m, uint64_t offset,
                                      uint64_t length, struct pb_error *err);

struct pb__slack_dir; /* users and channels of one Slack export */
enum pb_status pb__slack_dir_new(struct pb__slack_dir **out);
void pb__slack_dir_free(struct pb__slack_dir *d);
/* Loads users.json / channels.json / groups.json / dms.json / mpims.json
 * content (any may be absent: pass NULL). Bad JSON fails with the name. */
enum pb_status pb__slack_dir_load(struct pb__slack_dir *d, const char *which, const char *json,
                                  size_t len, struct pb_error *err);
/* Parses one Slack day file (a JSON array of messages) of the channel folder
 * `folder`, calling fn for each message. Objects that are not messages are
 * reported through the warnings of an empty message with kind "slack". */
enum pb_status pb__slack_day(struct pb__slack_dir *d, const char *folder, const char *json,
                             size_t len, pb__chat_fn fn, void *ctx, struct pb_error *err);

struct pb__teams_dir;
enum pb_status pb__teams_dir_new(struct pb__teams_dir **out);
void pb__teams_dir_free(struct pb__teams_dir *d);
/* teamsList.json, usersList.json or channels_<id>.json content. */
enum pb_status pb__teams_dir_load(struct pb__teams_dir *d, const char *which, const char *json,
                                  size_t len, struct pb_error *err);
/* One messages_<id>.json file: an array of Graph chatMessage objects. */
enum pb_status pb__teams_messages(struct pb__teams_dir *d, const char *json, size_t len,
                                  pb__chat_fn fn, void *ctx, struct pb_error *err);

/* What a JSON file holds, from its first objects. */
enum pb__json_kind {
	PB__JSON_UNKNOWN,
	PB__JSON_SLACK_MESSAGES,
	PB__JSON_TEAMS_MESSAGES,
	PB__JSON_SLACK_META,  /* channels/users/... lists */
	PB__JSON_TEAMS_META,
};
enum pb__json_kind pb__mail_json_kind(const char *name, const char *json, size_t len);

/* ---- the query language (mail_query.c) -------------------------------- */

struct pb__mail_query;
/* Parses a query; errors name the column (1-based byte offset) in err. */
enum pb_status pb__mail_query_parse(const char *text, struct pb__mail_query **out,
                                    struct pb_error *err);
void pb__mail_query_free(struct pb__mail_query *q);
/* A canonical rendering of the parsed tree, for tests and the log. */
enum pb_status pb__mail_query_render(const struct pb__mail_query *q, struct pb_buf *out);

/* The query as SQL: `SELECT m.id FROM ... WHERE ...` over mail_msg m, with
 * the parameters in binds (text or integer). The case id scopes tag:. */
struct pb__sql_bind {
	bool is_int;
	int64_t i;
	char *s;
};
struct pb__mail_sql {
	struct pb_buf sql;
	struct pb__sql_bind *binds;
	size_t nbinds;
	char *highlight; /* an FTS5 expression of the positive text terms, or NULL */
};
enum pb_status pb__mail_query_sql(const struct pb__mail_query *q, int64_t case_id,
                                  struct pb__mail_sql *out, struct pb_error *err);
void pb__mail_sql_release(struct pb__mail_sql *s);
enum pb_status pb__mail_sql_bind(sqlite3 *db, sqlite3_stmt *st, const struct pb__mail_sql *s,
                                 struct pb_error *err);

/* ---- shared by search and export -------------------------------------- */

/* The hits of a query: message ids in date order (oldest first, ties by id;
 * reversed with newest_first), their threads, and the result hash: SHA-256
 * (hex) of the lines "<message-id>\t<body-sha256>\n", one per hit, sorted
 * bytewise, so anyone holding the export manifest can recompute it. */
struct pb__mail_hits {
	int64_t *ids;
	int64_t *threads;
	char **lines;    /* "<message-id>\t<body-sha256>", in result order */
	size_t n;
	char sha256[65];
	char *highlight; /* FTS5 expression for snippets, or NULL */
};
enum pb_status pb__mail_run(struct pb_ws *ws, const struct pb__mail_query *q, int64_t case_id,
                            bool newest_first, struct pb__mail_hits *out, struct pb_error *err);
void pb__mail_hits_release(struct pb__mail_hits *h);
/* SHA-256 of a list of "<message-id>\t<body-sha256>" lines (sorts lines). */
void pb__mail_hash_lines(char **lines, size_t n, char out[65]);
/* Resolves "123" (a message number) or a Message-ID (with or without <>). */
enum pb_status pb__mail_resolve(struct pb_ws *ws, const char *ref, int64_t *id,
                                struct pb_error *err);
/* The bytes of a location: [offset, offset+length) of the file at path, or
 * of the member of the zip at path. out is reset first. PB_ENOENT when the
 * file is gone, PB_EVERIFY when it is shorter than the range. */
enum pb_status pb__mail_read_location(const char *path, const char *member, uint64_t offset,
                                      uint64_t length, struct pb_buf *out,
                                      struct pb_error *err);
/* Appends ,"parsed":<the parsed query> to a log entry's details, or, for a
 * parse tree over 8 KiB, ,"parsed_sha256":<its hash>, so that an entry stays
 * under the audit log's 60,000-byte limit even for an 8 KiB query. */
void pb__mail_json_parsed(struct pb_buf *b, const char *canon);
/* JSON-escapes into a buffer, tolerating NULL (as null). */
enum pb_status pb__mail_json_str(struct pb_buf *b, const char *s);

#endif /* PB_MAIL_H */
