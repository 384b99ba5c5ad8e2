/* schema.c - the workspace database schema, as a list of migrations.
 *
 * Each entry takes a database from version-1 to version. Released entries are
 * never edited: a change is a new entry. docs/internals.md describes the tables.
 */
#include "store/store.h"

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
	"  compression TEXT NOT NULL,"    /* none, gzip, zstd, parquet */
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
	"  u.source_id, u.day, date(u.day * 86400, 'unixepoch') AS date,"
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

/* Users, cases and the tamper-evident audit log (lib/case.c, lib/audit.c;
 * docs/caselog.md). The audit tables are append-only: triggers refuse
 * updates and deletes, and lib/audit.c is the only writer. */
static const char schema_v2[] =
	"CREATE TABLE app_user ("
	"  name TEXT PRIMARY KEY,"
	"  role TEXT NOT NULL CHECK (role IN ('analyst', 'approver', 'auditor', 'admin')),"
	"  created_at TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  disabled INTEGER NOT NULL DEFAULT 0"
	");"
	/* one row per log entry: data is the exact leaf (canonical JSON);
	 * the other columns repeat fields of data for queries */
	"CREATE TABLE audit_entry ("
	"  idx INTEGER PRIMARY KEY,"         /* leaf index, from 0 */
	"  data BLOB NOT NULL,"
	"  leaf_hash BLOB NOT NULL,"
	"  at TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  case_id INTEGER,"
	"  subject TEXT"
	");"
	"CREATE INDEX audit_entry_case ON audit_entry(case_id, idx);"
	/* hashes of the perfect subtrees, levels >= 1 (level 0 is leaf_hash) */
	"CREATE TABLE audit_node ("
	"  level INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  PRIMARY KEY (level, idx)"
	") WITHOUT ROWID;"
	/* the tree head: size, root and compact range after the last entry */
	"CREATE TABLE audit_state ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  origin TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  root BLOB NOT NULL,"
	"  range BLOB NOT NULL"
	");"
	/* every checkpoint ever signed: never two for one size */
	"CREATE TABLE audit_checkpoint ("
	"  size INTEGER PRIMARY KEY,"
	"  root BLOB NOT NULL,"
	"  note TEXT NOT NULL,"
	"  signed_at TEXT NOT NULL,"
	"  signed_by TEXT NOT NULL"
	");"
	"CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_entry"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_node_append_only BEFORE UPDATE ON audit_node"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_node_no_delete BEFORE DELETE ON audit_node"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE ON audit_checkpoint"
	" BEGIN SELECT RAISE(ABORT, 'signed checkpoints are never changed'); END;"
	"CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint"
	" BEGIN SELECT RAISE(ABORT, 'signed checkpoints are never changed'); END;"
	/* review cases */
	"CREATE TABLE review_case ("
	"  id INTEGER PRIMARY KEY,"
	"  customer_id INTEGER NOT NULL REFERENCES customer(id),"
	"  title TEXT NOT NULL,"
	"  trigger_text TEXT NOT NULL,"
	"  trigger_url TEXT,"
	"  trigger_date TEXT,"              /* YYYY-MM-DD */
	"  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
	"  opened_at TEXT NOT NULL,"
	"  opened_by TEXT NOT NULL,"
	"  closed_at TEXT,"
	"  closed_by TEXT,"
	"  decision TEXT"
	");"
	/* evidence of a case: findings, searches, notes, documents, plans ...;
	 * log_index is the audit entry that recorded it */
	"CREATE TABLE case_evidence ("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES review_case(id),"
	"  kind TEXT NOT NULL,"
	"  ref TEXT,"
	"  sha256 TEXT,"
	"  summary TEXT,"                   /* JSON object */
	"  added_at TEXT NOT NULL,"
	"  added_by TEXT NOT NULL,"
	"  log_index INTEGER NOT NULL"
	");"
	"CREATE INDEX case_evidence_case ON case_evidence(case_id, id);"
	/* documents kept in documents/<sha256> */
	"CREATE TABLE case_document ("
	"  sha256 TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  stored_at TEXT NOT NULL"
	");";

/* Entitlements (decide module): immutable numbered versions of the rules in
 * force. Written only by pb__entitlements_publish; triggers refuse any change
 * to a written version. */
static const char schema_v3[] =
	"CREATE TABLE entitlement_version ("
	"  version INTEGER PRIMARY KEY,"
	"  created_at TEXT NOT NULL,"       /* ISO 8601 UTC */
	"  created_ms INTEGER NOT NULL,"    /* ms since the epoch, for decision-log checks */
	"  reason TEXT NOT NULL,"
	"  nrules INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL"            /* of the canonical JSON of the rules */
	");"
	"CREATE TABLE entitlement_rule ("
	"  version INTEGER NOT NULL REFERENCES entitlement_version(version),"
	"  idx INTEGER NOT NULL,"           /* 0-based order within the version */
	"  plan TEXT NOT NULL,"
	"  case_ref TEXT NOT NULL,"
	"  effect TEXT NOT NULL CHECK (effect IN ('disable', 'keep')),"
	"  valid_from INTEGER,"             /* NULL: open */
	"  valid_until INTEGER,"            /* NULL: open */
	"  selector TEXT NOT NULL,"         /* JSON object: dimension -> array of values */
	"  PRIMARY KEY (version, idx)"
	") WITHOUT ROWID;"
	"CREATE TRIGGER entitlement_version_no_update BEFORE UPDATE ON entitlement_version"
	" BEGIN SELECT RAISE(ABORT, 'entitlement versions are immutable'); END;"
	"CREATE TRIGGER entitlement_version_no_delete BEFORE DELETE ON entitlement_version"
	" BEGIN SELECT RAISE(ABORT, 'entitlement versions are immutable'); END;"
	"CREATE TRIGGER entitlement_rule_no_update BEFORE UPDATE ON entitlement_rule"
	" BEGIN SELECT RAISE(ABORT, 'entitlement versions are immutable'); END;"
	"CREATE TRIGGER entitlement_rule_no_delete BEFORE DELETE ON entitlement_rule"
	" BEGIN SELECT RAISE(ABORT, 'entitlement versions are immutable'); END;";

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

/* Policy scans and their findings (policy module). A finding keeps the whole
 * result it was drawn from, with its citations, as JSON (detail), so that
 * evidence verify and the case file need nothing else. */
static const char schema_v5[] =
	"CREATE TABLE policy_scan ("
	"  id INTEGER PRIMARY KEY,"
	"  policy TEXT NOT NULL,"
	"  policy_sha256 TEXT NOT NULL,"
	"  policy_text TEXT NOT NULL,"      /* the policy file as scanned */
	"  at_day INTEGER NOT NULL,"        /* the scan's day (windows end before it) */
	"  scope TEXT NOT NULL,"            /* customers, customer, accounts */
	"  started_at TEXT NOT NULL,"
	"  entities INTEGER NOT NULL,"
	"  findings INTEGER NOT NULL"
	");"
	"CREATE TABLE finding ("
	"  id INTEGER PRIMARY KEY,"         /* what users type: 12 or F12 */
	"  scan_id INTEGER NOT NULL REFERENCES policy_scan(id),"
	"  policy TEXT NOT NULL,"
	"  policy_sha256 TEXT NOT NULL,"
	"  rule TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  entity_kind TEXT NOT NULL,"      /* customer or account */
	"  entity TEXT NOT NULL,"
	"  at_day INTEGER NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  detail TEXT NOT NULL"            /* JSON: figures, thresholds, citations */
	");"
	"CREATE INDEX finding_entity ON finding(entity);";

/* Enforcement plans (lib/plan.c; docs/plans.md). A plan's body is the
 * canonical JSON of exactly what it would put in force; approvals bind to its
 * SHA-256. plan_event is append-only: every step (new, edit, approve, refuse,
 * apply, rollback, withdraw, notice) with the log entry that recorded it.
 * Both tables stay small (a few rows a plan), so they have no index beyond
 * the unique ones: every table and index costs a page in every workspace. */
static const char schema_v7[] =
	"CREATE TABLE plan ("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES review_case(id),"
	"  customer_id INTEGER NOT NULL REFERENCES customer(id),"
	"  status TEXT NOT NULL CHECK (status IN ('draft', 'applied', 'rolled-back', 'withdrawn')),"
	"  revision INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"             /* canonical JSON */
	"  sha256 TEXT NOT NULL,"           /* of body: what approvals bind to */
	"  created_at TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  applied_version INTEGER,"        /* entitlements version that put it in force */
	"  in_force_from INTEGER,"          /* seconds; the rules' start */
	"  end_version INTEGER"             /* version that rolled it back */
	");"
	"CREATE TABLE plan_event ("
	"  id INTEGER PRIMARY KEY,"
	"  plan_id INTEGER NOT NULL REFERENCES plan(id),"
	"  kind TEXT NOT NULL CHECK (kind IN ('new', 'edit', 'approve', 'refuse', 'apply',"
	"    'rollback-approve', 'rollback', 'withdraw', 'notice')),"
	"  actor TEXT NOT NULL,"
	"  at TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"           /* the plan hash the step binds to */
	"  text TEXT,"                      /* comment or reason */
	"  version INTEGER,"                /* entitlements version written (apply, rollback) */
	"  detail TEXT,"                    /* JSON object */
	"  log_index INTEGER NOT NULL"
	");"
	/* one vote per approver on one exact plan; one rollback approval each */
	"CREATE UNIQUE INDEX plan_event_vote ON plan_event(plan_id, sha256, actor)"
	"  WHERE kind IN ('approve', 'refuse');"
	"CREATE UNIQUE INDEX plan_event_rollback ON plan_event(plan_id, actor)"
	"  WHERE kind = 'rollback-approve';"
	"CREATE TRIGGER plan_event_no_update BEFORE UPDATE ON plan_event"
	" BEGIN SELECT RAISE(ABORT, 'plan events are append-only'); END;"
	"CREATE TRIGGER plan_event_no_delete BEFORE DELETE ON plan_event"
	" BEGIN SELECT RAISE(ABORT, 'plan events are append-only'); END;"
	"CREATE TRIGGER plan_no_delete BEFORE DELETE ON plan"
	" BEGIN SELECT RAISE(ABORT, 'plans are never deleted'); END;";

/* Monthly totals of usage_day, for policy scans over many accounts: a scan
 * reads whole months here and only the days at the edges of its windows from
 * usage_day (through usage_day_day). Derived data, rebuilt from usage_day:
 * an ingest writes a source's totals in its transaction (lib/usage/commit.c,
 * from the aggregates in memory), and pb_ws_open fills them from the stored
 * days for any source without them (pb__usage_rollup; usage_month_source
 * lists the sources done). Sums are exact decimals, as in usage_day. */
static const char schema_v8[] =
	"CREATE TABLE usage_month ("
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  month INTEGER NOT NULL,"         /* year * 12 + month - 1 */
	"  account INTEGER NOT NULL,"
	"  subaccount INTEGER,"
	"  provider INTEGER,"
	"  category INTEGER,"
	"  subcategory INTEGER,"
	"  service INTEGER NOT NULL,"
	"  capability INTEGER,"
	"  region INTEGER,"
	"  country INTEGER,"
	"  unit INTEGER,"
	"  charge_category INTEGER NOT NULL,"
	"  currency INTEGER,"
	"  quantity TEXT NOT NULL,"
	"  billed_cost TEXT NOT NULL,"
	"  effective_cost TEXT NOT NULL,"
	"  list_cost TEXT NOT NULL,"
	"  rows INTEGER NOT NULL"
	");"
	"CREATE INDEX usage_month_source_month ON usage_month(source_id, month);"
	"CREATE TABLE usage_month_source ("
	"  source_id INTEGER PRIMARY KEY REFERENCES source(id)"
	");"
	"CREATE INDEX usage_day_day ON usage_day(day);";

/* The log entries enforcement reads: those that name entitlement versions
 * (plan.apply, plan.rollback; the entitlements loader finds the one naming a
 * version here and verifies it, lib/decide/entitlements.c) and the rollback
 * policy (plan.policy, lib/plan/plan.c), without a scan of the log. Queries
 * repeat the IN list so that SQLite uses this partial index. */
static const char schema_v9[] =
	"CREATE INDEX audit_entry_enforce ON audit_entry(action, idx)"
	"  WHERE action IN ('plan.apply', 'plan.rollback', 'plan.policy');";

/* Web sign-in (lib/auth/session.c, docs/web.md): a password per user
 * (Argon2id string from libsodium), one-time enrolment tokens and sessions,
 * both stored only as the SHA-256 of the secret the browser holds, and the
 * failed sign-ins of the last minutes (per name and per address). */
static const char schema_v10[] =
	"CREATE TABLE web_password ("
	"  user TEXT PRIMARY KEY REFERENCES app_user(name),"
	"  hash TEXT NOT NULL,"              /* crypto_pwhash_str, $argon2id$ */
	"  set_at TEXT NOT NULL"
	");"
	"CREATE TABLE web_invite ("
	"  token_sha256 TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL REFERENCES app_user(name),"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER"
	");"
	"CREATE TABLE web_session ("
	"  id_sha256 TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL REFERENCES app_user(name),"
	"  csrf TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  ended_at INTEGER"
	");"
	"CREATE INDEX web_session_user ON web_session(user);"
	"CREATE TABLE web_signin_fail ("
	"  at INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  addr TEXT NOT NULL"
	");"
	"CREATE INDEX web_signin_fail_at ON web_signin_fail(at);";

/* Tree hashes of sources (docs/ingest.md, "The tree hash"). A source
 * ingested from now on is keyed (source.sha256, which citations, rejects
 * files and the audit log use) by the root of tree, the RFC 6962 tree hash of
 * its raw bytes; data_tree is the tree of its decompressed bytes (the same
 * for a plain file) and data_leaves its leaf hashes, 32 bytes each, which
 * line proofs are cut from. file_sha256 is the plain SHA-256, computed on
 * demand (probity sources --sha256). Older sources keep the file SHA-256 as
 * their key, and so have it as file_sha256 too; their tree is NULL. */
static const char schema_v11[] =
	"ALTER TABLE source ADD COLUMN tree TEXT;"
	"ALTER TABLE source ADD COLUMN data_tree TEXT;"
	"ALTER TABLE source ADD COLUMN data_leaves BLOB;"
	"ALTER TABLE source ADD COLUMN file_sha256 TEXT;"
	"UPDATE source SET file_sha256 = sha256;";

/* Signed actors (issue 12, docs/identity.md): the key registry, which the
 * log holds (user.add with a key, user.key-add, user.key-revoke) and this
 * table mirrors for the write-time check (a key is one user's, ever: fp is
 * the key), and the nonce of every signed statement, so none is used twice.
 * added_idx/revoked_idx are the log indexes of the registering and revoking
 * entries; log check rebuilds both tables from the log. */
static const char schema_v12[] =
	"CREATE TABLE user_key ("
	"  user TEXT NOT NULL REFERENCES app_user(name),"
	"  fp TEXT NOT NULL,"                /* SHA256:... as ssh-keygen -l prints */
	"  key TEXT NOT NULL,"               /* TYPE BASE64, no comment */
	"  comment TEXT,"
	"  added_idx INTEGER NOT NULL,"
	"  revoked_idx INTEGER,"
	"  revoke_reason TEXT,"
	"  PRIMARY KEY(fp)"
	");"
	"CREATE INDEX user_key_user ON user_key(user);"
	"CREATE TABLE sig_nonce ("
	"  nonce TEXT PRIMARY KEY,"          /* 32 hex */
	"  idx INTEGER NOT NULL"             /* the entry that used it */
	");";

/* A checkpoint signed on its own (`log checkpoint`) in a signed workspace:
 * its actor's "sig" over the checkpoint's statement (docs/identity.md). */
static const char schema_v13[] =
	"ALTER TABLE audit_checkpoint ADD COLUMN actor_sig TEXT;";

/* Passkeys (issue 14, docs/identity.md "Passkeys"): the WebAuthn
 * credentials the log registers (user.passkey-add, user.passkey-revoke),
 * mirrored for the write-time check as user_key is (a credential is one
 * user's, ever: fp is the key); sign_count is the largest authenticator
 * counter seen (registration, signatures, sign-ins), which must grow. An
 * invitation records the passkey-add entry that used its token (one per
 * invitation). The partial index finds the origin declaration in force
 * (web.origin) without reading the whole log. */
static const char schema_v14[] =
	"CREATE TABLE user_passkey ("
	"  fp TEXT PRIMARY KEY,"             /* webauthn:<base64url SHA-256(cred id)> */
	"  user TEXT NOT NULL REFERENCES app_user(name),"
	"  cred_id TEXT NOT NULL,"           /* base64url */
	"  cose TEXT NOT NULL,"              /* COSE_Key, base64url */
	"  alg INTEGER NOT NULL,"            /* -7 ES256, -8 EdDSA */
	"  rp_id TEXT NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  name TEXT,"
	"  added_idx INTEGER NOT NULL,"
	"  revoked_idx INTEGER,"
	"  revoke_reason TEXT,"
	"  sign_count INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX user_passkey_user ON user_passkey(user);"
	"ALTER TABLE web_invite ADD COLUMN passkey_idx INTEGER;"
	"CREATE INDEX audit_entry_web_origin ON audit_entry(idx) WHERE action = 'web.origin';";

const struct pb__migration pb__migrations[] = {
	{ 1, "usage evidence: sources, aggregates, accounts", schema_v1 },
	{ 2, "users, cases and the tamper-evident audit log", schema_v2 },
	{ 3, "entitlement versions", schema_v3 },
	{ 4, "internal mail and chat: messages, locations, index, tags", schema_v4 },
	{ 5, "policy scans and findings", schema_v5 },
	{ 7, "enforcement plans, approvals, notices", schema_v7 },
	{ 8, "monthly usage totals for policy scans", schema_v8 },
	{ 9, "an index of the log entries that name entitlement versions", schema_v9 },
	{ 10, "web sign-in: passwords, invitations, sessions", schema_v10 },
	{ 11, "tree hashes of sources", schema_v11 },
	{ 12, "signed actors: the key registry and used statement nonces", schema_v12 },
	{ 13, "checkpoints signed by their actor", schema_v13 },
	{ 14, "passkeys: the registry and the invitation each used", schema_v14 },
};
const size_t pb__migrations_count = sizeof(pb__migrations) / sizeof(pb__migrations[0]);
