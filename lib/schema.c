/* schema.c - the workspace database schema, as a list of migrations.
 *
 * Each entry takes a database from version-1 to version. Released entries are
 * never edited: a change is a new entry. docs/internals.md describes the tables.
 */
#include "store.h"

static const char schema_v1[] =
	/* settings whose change must be on record (e.g. keep_names) */
	"CREATE TABLE setting_change ("
	"  id INTEGER PRIMARY KEY,"
	"  at TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT,"
	"  actor TEXT"
	");"
	/* dictionary of the strings that aggregates refer to */
	"CREATE TABLE dim ("
	"  id INTEGER PRIMARY KEY,"
	"  value TEXT NOT NULL UNIQUE"
	");"
	/* every usage export ever loaded, by the SHA-256 of its bytes */
	"CREATE TABLE source ("
	"  id INTEGER PRIMARY KEY,"
	"  sha256 TEXT NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"           /* as given on the command line, '-' for stdin */
	"  path TEXT,"                    /* absolute path read, or the copy in sources/ */
	"  compression TEXT NOT NULL,"    /* none, gzip, zstd */
	"  format TEXT NOT NULL,"         /* focus, azure-ea, aws-cur */
	"  focus_version TEXT,"           /* 1.0, 1.1, 1.2, 1.3 */
	"  ingested_at TEXT NOT NULL,"
	"  rows_read INTEGER NOT NULL,"
	"  rows_accepted INTEGER NOT NULL,"
	"  rows_rejected INTEGER NOT NULL,"
	"  rows_with_warnings INTEGER NOT NULL,"
	"  columns INTEGER NOT NULL,"
	"  columns_ignored INTEGER NOT NULL," /* unknown x_ and non-FOCUS columns */
	"  names TEXT NOT NULL,"          /* pseudonymised or clear */
	"  catalog_sha256 TEXT NOT NULL," /* the catalog the mapping used */
	"  first_day INTEGER,"
	"  last_day INTEGER,"
	"  rejects_file TEXT,"
	"  report TEXT NOT NULL,"         /* the ingest report, JSON */
	"  CHECK (rows_read = rows_accepted + rows_rejected)"
	");"
	/* conformance warnings, counted by kind and column */
	"CREATE TABLE source_warning ("
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  kind TEXT NOT NULL,"
	"  column_name TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  first_line INTEGER,"
	"  example TEXT,"
	"  PRIMARY KEY (source_id, kind, column_name)"
	");"
	/* rejected rows: the reason and the original bytes of the record */
	"CREATE TABLE source_reject ("
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  line INTEGER NOT NULL,"
	"  column_name TEXT,"
	"  reason TEXT NOT NULL,"
	"  raw BLOB NOT NULL,"
	"  PRIMARY KEY (source_id, line)"
	") WITHOUT ROWID;"
	/* accepted rows, aggregated per day and key; dims are ids into dim */
	"CREATE TABLE usage_day ("
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  day INTEGER NOT NULL,"           /* days since 1970-01-01 of ChargePeriodStart (UTC) */
	"  account INTEGER NOT NULL,"       /* BillingAccountId */
	"  subaccount INTEGER,"             /* SubAccountId */
	"  provider INTEGER,"
	"  category INTEGER,"               /* ServiceCategory */
	"  subcategory INTEGER,"            /* ServiceSubcategory */
	"  service INTEGER NOT NULL,"       /* ServiceName */
	"  sku_meter INTEGER,"              /* SkuMeter */
	"  capability INTEGER,"             /* from the catalog: object-storage, ... */
	"  region INTEGER,"                 /* canonical region id from the catalog, or as given */
	"  country INTEGER,"                /* ISO 3166-1 alpha-2, from the catalog */
	"  unit INTEGER,"                   /* normalised consumed unit */
	"  charge_category INTEGER NOT NULL,"
	"  currency INTEGER,"               /* BillingCurrency */
	"  quantity TEXT NOT NULL,"         /* exact decimal, in unit */
	"  billed_cost TEXT NOT NULL,"
	"  effective_cost TEXT NOT NULL,"
	"  list_cost TEXT NOT NULL,"
	"  rows INTEGER NOT NULL,"
	"  first_line INTEGER NOT NULL,"
	"  last_line INTEGER NOT NULL"
	");"
	"CREATE INDEX usage_day_account ON usage_day(account, day);"
	"CREATE INDEX usage_day_subaccount ON usage_day(subaccount, day);"
	"CREATE INDEX usage_day_source ON usage_day(source_id);"
	/* billing accounts and sub-accounts seen in the exports */
	"CREATE TABLE account ("
	"  kind TEXT NOT NULL CHECK (kind IN ('billing', 'sub')),"
	"  account_id TEXT NOT NULL,"
	"  billing_account_id TEXT,"        /* for a sub-account: its billing account */
	"  name TEXT,"                      /* pseudonym (ps:...) or clear, per the source */
	"  provider TEXT,"
	"  first_day INTEGER,"
	"  last_day INTEGER,"
	"  PRIMARY KEY (kind, account_id, billing_account_id)"
	");"
	/* customers: named sets of billing accounts and sub-accounts; an account
	 * or sub-account belongs to at most one customer */
	"CREATE TABLE customer ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_at TEXT NOT NULL,"
	"  note TEXT"
	");"
	"CREATE TABLE customer_account ("
	"  customer_id INTEGER NOT NULL REFERENCES customer(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL CHECK (kind IN ('billing', 'sub')),"
	"  account_id TEXT NOT NULL,"
	"  UNIQUE (kind, account_id)"
	");"
	/* readable form of usage_day */
	"CREATE VIEW usage AS SELECT"
	"  u.source_id, u.day, pb_day(u.day) AS date,"
	"  a.value AS account, s.value AS subaccount, p.value AS provider,"
	"  c.value AS category, sc.value AS subcategory, sv.value AS service,"
	"  m.value AS sku_meter, cap.value AS capability, r.value AS region,"
	"  co.value AS country, un.value AS unit, cc.value AS charge_category,"
	"  cu.value AS currency, u.quantity, u.billed_cost, u.effective_cost, u.list_cost,"
	"  u.rows, u.first_line, u.last_line"
	" FROM usage_day u"
	" JOIN dim a ON a.id = u.account"
	" LEFT JOIN dim s ON s.id = u.subaccount"
	" LEFT JOIN dim p ON p.id = u.provider"
	" LEFT JOIN dim c ON c.id = u.category"
	" LEFT JOIN dim sc ON sc.id = u.subcategory"
	" JOIN dim sv ON sv.id = u.service"
	" LEFT JOIN dim m ON m.id = u.sku_meter"
	" LEFT JOIN dim cap ON cap.id = u.capability"
	" LEFT JOIN dim r ON r.id = u.region"
	" LEFT JOIN dim co ON co.id = u.country"
	" LEFT JOIN dim un ON un.id = u.unit"
	" JOIN dim cc ON cc.id = u.charge_category"
	" LEFT JOIN dim cu ON cu.id = u.currency;";

/* internal mail and chat (docs/mail.md) */
static const char schema_v4[] =
	/* one run of 'mail ingest'; the counts reconcile */
	"CREATE TABLE mail_batch ("
	"  id INTEGER PRIMARY KEY,"
	"  started_at TEXT NOT NULL,"
	"  actor TEXT,"
	"  custodian TEXT,"
	"  paths TEXT NOT NULL,"            /* JSON array, as given */
	"  files_seen INTEGER NOT NULL,"
	"  files_ingested INTEGER NOT NULL,"
	"  files_skipped INTEGER NOT NULL," /* same SHA-256 and custodian held already */
	"  files_failed INTEGER NOT NULL,"
	"  messages_seen INTEGER NOT NULL,"
	"  messages_new INTEGER NOT NULL,"
	"  duplicates INTEGER NOT NULL,"
	"  exceptions INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  seconds REAL,"
	"  CHECK (files_seen = files_ingested + files_skipped + files_failed),"
	"  CHECK (messages_seen = messages_new + duplicates)"
	");"
	/* every archive file read, by the SHA-256 of its bytes */
	"CREATE TABLE mail_file ("
	"  id INTEGER PRIMARY KEY,"
	"  batch_id INTEGER NOT NULL REFERENCES mail_batch(id),"
	"  path TEXT NOT NULL,"             /* absolute */
	"  sha256 TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"             /* eml mbox slack slack-meta teams teams-meta zip */
	"  custodian TEXT,"
	"  messages INTEGER NOT NULL"
	");"
	"CREATE INDEX mail_file_sha ON mail_file(sha256);"
	/* one row per distinct message: Message-ID plus the hash of its content */
	"CREATE TABLE mail_msg ("
	"  id INTEGER PRIMARY KEY,"
	"  message_id TEXT NOT NULL,"
	"  body_sha256 TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"             /* email slack teams */
	"  raw_sha256 TEXT NOT NULL,"       /* bytes of the first copy found */
	"  raw_size INTEGER NOT NULL,"
	"  date INTEGER,"                   /* Unix seconds, NULL when unknown */
	"  date_header TEXT,"
	"  from_addr TEXT, to_addr TEXT, cc_addr TEXT, bcc_addr TEXT,"
	"  subject TEXT,"
	"  channel TEXT,"
	"  in_reply_to TEXT,"
	"  refs TEXT,"                      /* ids, one a line */
	"  thread_id INTEGER NOT NULL,"
	"  flags INTEGER NOT NULL,"         /* PB_MAIL_* bits */
	"  n_attach INTEGER NOT NULL,"
	"  mid_synthetic INTEGER NOT NULL,"
	"  batch_id INTEGER NOT NULL REFERENCES mail_batch(id),"
	"  UNIQUE (message_id, body_sha256)"
	");"
	"CREATE INDEX mail_msg_date ON mail_msg(date);"
	"CREATE INDEX mail_msg_thread ON mail_msg(thread_id);"
	/* the indexed text (the content table of mail_fts) */
	"CREATE TABLE mail_doc ("
	"  id INTEGER PRIMARY KEY,"
	"  subject TEXT, sender TEXT, recipients TEXT, body TEXT, extra TEXT, attach TEXT"
	");"
	"CREATE VIRTUAL TABLE mail_fts USING fts5("
	"  subject, sender, recipients, body, extra, attach,"
	"  content='mail_doc', content_rowid='id',"
	"  tokenize='unicode61 remove_diacritics 2 tokenchars _', prefix='2 3'"
	");"
	/* every place a message was found */
	"CREATE TABLE mail_loc ("
	"  id INTEGER PRIMARY KEY,"
	"  msg_id INTEGER NOT NULL REFERENCES mail_msg(id),"
	"  file_id INTEGER NOT NULL REFERENCES mail_file(id),"
	"  member TEXT NOT NULL,"           /* path inside a zip, or '' */
	"  offset INTEGER NOT NULL,"
	"  length INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"           /* of those bytes */
	"  custodian TEXT,"
	"  folder TEXT NOT NULL,"           /* maildir folder under the path given, or '' */
	"  UNIQUE (file_id, member, offset)"
	");"
	"CREATE INDEX mail_loc_msg ON mail_loc(msg_id);"
	"CREATE INDEX mail_loc_custodian ON mail_loc(custodian);"
	"CREATE TABLE mail_attach ("
	"  msg_id INTEGER NOT NULL REFERENCES mail_msg(id),"
	"  seq INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  sha256 TEXT,"                    /* NULL for chat files (bytes not in the export) */
	"  indexed INTEGER NOT NULL,"
	"  PRIMARY KEY (msg_id, seq)"
	");"
	/* threads: every Message-ID seen or referenced (missing parents too) */
	"CREATE TABLE mail_mid ("
	"  mid TEXT PRIMARY KEY,"
	"  thread_id INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX mail_mid_thread ON mail_mid(thread_id);"
	/* processing exceptions: what could not be read cleanly, and why */
	"CREATE TABLE mail_exception ("
	"  id INTEGER PRIMARY KEY,"
	"  batch_id INTEGER NOT NULL REFERENCES mail_batch(id),"
	"  file_id INTEGER,"
	"  msg_id INTEGER,"
	"  path TEXT NOT NULL,"
	"  member TEXT NOT NULL,"
	"  offset INTEGER,"
	"  length INTEGER,"
	"  severity TEXT NOT NULL,"         /* warning (kept) or error (not readable) */
	"  kind TEXT NOT NULL,"
	"  detail TEXT NOT NULL"
	");"
	"CREATE INDEX mail_exception_batch ON mail_exception(batch_id);"
	"CREATE INDEX mail_exception_msg ON mail_exception(msg_id);"
	/* reviewers' tags, per case */
	"CREATE TABLE mail_tag ("
	"  case_id INTEGER NOT NULL,"
	"  msg_id INTEGER NOT NULL REFERENCES mail_msg(id),"
	"  tag TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  at TEXT NOT NULL,"
	"  PRIMARY KEY (case_id, msg_id, tag)"
	");"
	"CREATE INDEX mail_tag_tag ON mail_tag(case_id, tag);";

const struct pb__migration pb__migrations[] = {
	{ 1, "usage evidence: sources, aggregates, accounts", schema_v1 },
	{ 4, "internal mail and chat: messages, locations, index, tags", schema_v4 },
};
const size_t pb__migrations_count = sizeof(pb__migrations) / sizeof(pb__migrations[0]);
