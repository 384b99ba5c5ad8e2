/* cmd_log.c - probity log: the workspace's tamper-evident audit log. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help_body[] =
	"\n"
	"Every change in a workspace is one entry of its audit log, an RFC 6962\n"
	"Merkle tree. A checkpoint signs the tree's size and root with the\n"
	"workspace's Ed25519 key (a C2SP signed note); proofs show that an entry is\n"
	"in a signed tree, or that a later tree extends an earlier one. An export\n"
	"is a folder in the C2SP tlog-tiles layout that an auditor checks offline\n"
	"with nothing but the verifier key. docs/caselog.md describes the formats.\n"
	"\n"
	"  status        size, root, origin, verifier key, last checkpoint\n"
	"  show          the entries, one a line (--json: the entries themselves)\n"
	"  entry         the exact bytes of one entry\n"
	"  statement     what entry INDEX of a signed workspace was signed over (the\n"
	"                statement, on standard output) and, with --sig FILE, its\n"
	"                SSHSIG armoured: 'ssh-keygen -Y verify -f SIGNERS -I USER\n"
	"                -n NAMESPACE -s FILE < statement' checks it by hand, with\n"
	"                SIGNERS from 'probity user export-signers' (the namespace\n"
	"                goes to standard error)\n"
	"  checkpoint    signs the current tree (any user) and prints the checkpoint;\n"
	"                keep it: it is what a later export must be consistent with\n"
	"  prove         an inclusion proof (c2sp.org/tlog-proof@v1) of entry INDEX,\n"
	"                or a consistency proof (the tlog-witness 'old N' form) from\n"
	"                size OLD, against the signed checkpoint of size N / NEW\n"
	"                (default: the latest)\n"
	"  export        writes tiles, entry bundles, checkpoint and vkey into DIR,\n"
	"                and tables.db (a snapshot of the rows the log vouches for)\n"
	"                when the export is the whole log; signs a checkpoint of the\n"
	"                current tree first unless --no-checkpoint or --size is given\n"
	"  check         checks the log stored in the workspace (entries, hashes,\n"
	"                tree head, every signed checkpoint) and names the first bad\n"
	"                row; then replays the log and prints each row of the tables\n"
	"                beside it that differs from it (users and roles, cases,\n"
	"                evidence, findings, plans, approvals, entitlements versions)\n"
	"  verify        checks an exported folder offline: the checkpoint's\n"
	"                signature, every entry, every tile, the root, and, with\n"
	"                --since, that the log extends a checkpoint kept earlier;\n"
	"                names the first bad object; then replays the entries\n"
	"                against the export's tables.db, when it has one, and, in a\n"
	"                signed log, checks every entry's signature against the key\n"
	"                registry at its position and the two-person rule of every\n"
	"                apply and rollback (log check does the same)\n"
	"  verify-proof  checks a proof document from 'log prove' offline\n"
	"\n"
	"options:\n"
	"  --vkey KEY          the log's verifier key, or a file holding it\n"
	"  --since FILE        a signed checkpoint kept from earlier\n"
	"  --origin ORIGIN     require this checkpoint origin\n"
	"  --generic           any C2SP tiled log: do not check that entries are probity\n"
	"                      audit entries (canonical JSON at their own index)\n"
	"  --entry FILE        the entry an inclusion proof is about\n"
	"  --size N            use the signed checkpoint of size N\n"
	"  --case ID           only the entries of case ID\n"
	"  --from INDEX, --count N   a range of entries\n"
	"  --as USER           the acting user (default: 'user = NAME' in probity.conf)\n"
	"  -h, --help          show this help\n"
	"\n"
	"exit status: 0 ok, 1 failed (for verify: the log does not verify), 2 usage\n"
	"\n"
	"example:\n"
	"  probity log checkpoint review-2025 > kept.checkpoint\n"
	"  probity log export review-2025 /media/audit/log\n"
	"  probity log verify /media/audit/log --vkey \"$(cat review.vkey)\" --since kept.checkpoint\n";

/* Reads a small text file fully (NUL-terminated); prints on failure. */
char *cli_slurp(const char *path, size_t cap, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		cli_failf("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(cap + 2);
	size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf) {
		cli_failf("out of memory");
		return NULL;
	}
	if (n > cap) {
		cli_failf("'%s' is larger than %zu bytes", path, cap);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* --vkey: a key string, or a file holding one (first line). */
int cli_load_vkey(const char *arg, struct pb_vkey *k)
{
	char buf[1024];
	const char *s = arg;
	struct stat sb;
	if (stat(arg, &sb) == 0 && S_ISREG(sb.st_mode)) {
		size_t n;
		char *d = cli_slurp(arg, sizeof(buf) - 1, &n);
		if (!d)
			return 1;
		char *nl = strchr(d, '\n');
		if (nl)
			*nl = '\0';
		snprintf(buf, sizeof(buf), "%s", d);
		free(d);
		s = buf;
	}
	struct pb_error err = { 0 };
	if (pb_vkey_parse(s, strlen(s), k, &err) != PB_OK) {
		cli_failf("--vkey: %s", err.message);
		return 1;
	}
	return 0;
}

static bool show_line(void *ctx, const struct pb_audit_entry *e)
{
	bool json = *(bool *)ctx;
	if (json) {
		fwrite(e->data.ptr, 1, e->data.len, stdout);
		putchar('\n');
	} else {
		printf("%llu  %s  %-10s  %-16s  %s\n", (unsigned long long)e->index, e->time, e->actor,
		       e->action, e->subject ? e->subject : "");
	}
	return true;
}

/* One difference between a table and the log, on its own line. */
static bool print_diff(void *ctx, const struct pb_replay_diff *d)
{
	(void)ctx;
	printf("table %s row %s: %s\n", d->table, d->row, d->what);
	return true;
}

static int verify_dir(const char *dir, const char *vkey, const char *since, const char *origin,
                      bool generic)
{
	struct pb_vkey k;
	if (cli_load_vkey(vkey, &k))
		return 1;
	char *old = NULL;
	size_t oldlen = 0;
	if (since && !(old = cli_slurp(since, PB_NOTE_MAX_SIZE, &oldlen)))
		return 1;
	struct pb_tlog_verify_options o = { .keys = &k, .nkeys = 1, .origin = origin,
		                            .since = old, .since_len = oldlen,
		                            .check = generic ? NULL : pb_audit_entry_check };
	/* the export's table snapshot, when it has one, is replayed against
	 * the entries as they are read */
	struct pb_replay *rp = NULL;
	struct pb_error err = { 0 };
	if (!generic && pb_replay_open(dir, &rp, &err) == PB_OK) {
		o.check = pb_replay_entry_check;
		o.check_ctx = rp;
	} else if (!generic && err.code != PB_ENOENT) {
		fprintf(stderr, "probity: verification of '%s' failed: %s\n", dir, err.message);
		free(old);
		return 1;
	}
	bool snapshot = rp != NULL;
	/* without a snapshot, the entries alone: their signatures, when signed */
	if (!generic && !rp) {
		if (pb_replay_new_entries(&rp, &err)) {
			fprintf(stderr, "probity: verification of '%s' failed: %s\n", dir, err.message);
			free(old);
			return 1;
		}
		o.check = pb_replay_entry_check;
		o.check_ctx = rp;
	}
	struct cli_progress *pr = cli_progress_new("verifying");
	o.progress = pr ? cli_progress_cb : NULL;
	o.progress_ctx = pr;
	struct pb_tlog_verify_result res;
	memset(&err, 0, sizeof(err));
	enum pb_status st = pb_tlog_verify_dir(dir, &o, &res, &err);
	cli_progress_done(pr);
	free(old);
	uint64_t ndiff = 0, nsigned = 0;
	if (!st && rp)
		st = pb_replay_finish(rp, res.checkpoint.size, print_diff, NULL, &ndiff, &err);
	if (!st && rp)
		st = pb_replay_checkpoint(rp, dir, &res.checkpoint, &err);
	bool is_signed = pb_replay_signed(rp, &nsigned);
	pb_replay_free(rp);
	if (st) {
		fprintf(stderr, "probity: verification of '%s' failed: %s\n", dir, err.message);
		return 1;
	}
	if (ndiff) {
		fprintf(stderr,
		        "probity: verification of '%s' failed: %llu difference%s between the "
		        "%s and the entries\n",
		        dir, (unsigned long long)ndiff, ndiff == 1 ? "" : "s",
		        snapshot ? "table snapshot" : "signatures");
		return 1;
	}
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", res.checkpoint.root[i]);
	printf("verified '%s': origin %s, %llu entries, root %s\n", dir, res.checkpoint.origin,
	       (unsigned long long)res.checkpoint.size, hex);
	printf("checked %llu entry bundles and %llu hash tiles", (unsigned long long)res.bundles,
	       (unsigned long long)res.tiles);
	if (since)
		printf("; consistent with the earlier checkpoint of size %llu",
		       (unsigned long long)res.since_size);
	printf("\n");
	if (snapshot)
		printf("the table snapshot (tables.db) agrees with the entries\n");
	if (is_signed)
		printf("signed actors: %llu signatures verify against the key registry at their "
		       "position; every apply and rollback holds the two-person rule\n",
		       (unsigned long long)nsigned);
	else if (!generic)
		fprintf(stderr, "probity: the log in '%s' is unsigned: its actors are claimed names, "
		                "not authenticated\n",
		        dir);
	return 0;
}

static int verify_proof(const char *file, const char *vkey, const char *entry, const char *since)
{
	struct pb_vkey k;
	if (cli_load_vkey(vkey, &k))
		return 1;
	size_t n, el = 0, ol = 0;
	char *doc = cli_slurp(file, PB_NOTE_MAX_SIZE + 8192, &n), *e = NULL, *old = NULL;
	if (!doc)
		return 1;
	struct pb_tlog_proof_doc d;
	struct pb_checkpoint cp, oc;
	struct pb_error err = { 0 };
	int rc = 1;
	if (pb_tlog_proof_doc_parse(doc, n, &d, &err) != PB_OK) {
		if (!err.file[0])
			snprintf(err.file, sizeof(err.file), "%s", file);
		cli_fail(&err);
		goto out;
	}
	if (pb_checkpoint_open(d.note.ptr, d.note.len, &k, 1, NULL, &cp, &err) != PB_OK) {
		cli_failf("%s: checkpoint: %s", file, err.message);
		goto out;
	}
	if (!d.consistency) {
		if (!entry) {
			rc = cli_usage(cli_cmd_name(), "an inclusion proof needs --entry FILE");
			goto out;
		}
		if (!(e = cli_slurp(entry, PB_TLOG_ENTRY_MAX, &el)))
			goto out;
		uint8_t leaf[32];
		pb_tlog_leaf_hash(e, el, leaf);
		if (pb_tlog_verify_inclusion(d.index, cp.size, leaf, (const uint8_t(*)[32])d.proof,
		                             d.nproof, cp.root, &err) != PB_OK) {
			cli_failf("%s: %s", file, err.message);
			goto out;
		}
		printf("verified: entry %llu is in the log %s of size %llu\n",
		       (unsigned long long)d.index, cp.origin, (unsigned long long)cp.size);
		rc = 0;
	} else {
		if (!since) {
			rc = cli_usage(cli_cmd_name(), "a consistency proof needs --since CHECKPOINT");
			goto out;
		}
		if (!(old = cli_slurp(since, PB_NOTE_MAX_SIZE, &ol)))
			goto out;
		if (pb_checkpoint_open(old, ol, &k, 1, cp.origin, &oc, &err) != PB_OK) {
			cli_failf("%s: %s", since, err.message);
			goto out;
		}
		if (oc.size != d.index) {
			cli_failf("%s: the proof is from size %llu, the kept checkpoint has size %llu", file,
			          (unsigned long long)d.index, (unsigned long long)oc.size);
			goto out;
		}
		enum pb_status st = PB_OK;
		if (oc.size > 0)
			st = pb_tlog_verify_consistency(oc.size, cp.size, (const uint8_t(*)[32])d.proof,
			                                d.nproof, oc.root, cp.root, &err);
		if (st) {
			cli_failf("%s: %s", file, err.message);
			goto out;
		}
		printf("verified: the log %s of size %llu extends the checkpoint of size %llu\n",
		       cp.origin, (unsigned long long)cp.size, (unsigned long long)oc.size);
		rc = 0;
	}
out:
	free(doc);
	free(e);
	free(old);
	return rc;
}

#define INDEX_MAX 0x7fffffffffffffffUL

/* The operands of a subcommand: exactly n; the first is the workspace. */
static int want_args(int argc, int n, const char *what)
{
	return argc - optind == n ? 0 : cli_usage(cli_cmd_name(), "expected %s", what);
}

/* A subcommand with no options of its own. */
static int no_opts(int argc, char **argv)
{
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, NULL, &rc)) > 0)
		;
	return c < 0 ? (rc ? rc : -1) : 0;
}

static void print_status(const struct pb_audit_status *s)
{
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", s->root[i]);
	printf("origin:      %s\n", s->origin);
	printf("vkey:        %s\n", s->vkey[0] ? s->vkey : "(no signing key yet: sign a checkpoint)");
	printf("entries:     %llu\n", (unsigned long long)s->size);
	printf("root:        %s\n", hex);
	printf("checkpoints: %llu signed", (unsigned long long)s->checkpoints);
	if (s->checkpoints)
		printf(", latest of size %llu%s", (unsigned long long)s->checkpoint_size,
		       s->checkpoint_size < s->size ? " (the log has grown since)" : "");
	printf("\n");
}

/* status and check: read-only, WS only. */
static int log_read(int argc, char **argv, bool check)
{
	int rc = no_opts(argc, argv);
	if (rc || (rc = want_args(argc, 1, "WS")))
		return rc < 0 ? 0 : rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	struct pb_audit_status s;
	char bad[256];
	enum pb_status st = check ? pb_audit_check(ws, bad, sizeof(bad), &err) : PB_OK;
	uint64_t ndiff = 0;
	if (!st && check)
		st = pb_log_replay_check(ws, print_diff, NULL, &ndiff, &err);
	if (!st && !(st = pb_audit_status(ws, &s, &err))) {
		if (check && ndiff)
			fprintf(stderr, "probity: %llu difference%s between the tables and the log\n",
			        (unsigned long long)ndiff, ndiff == 1 ? "" : "s");
		else if (check)
			printf("log ok: %llu entries, %llu signed checkpoints, all consistent; "
			       "the tables agree with the log%s\n",
			       (unsigned long long)s.size, (unsigned long long)s.checkpoints,
			       pb_ws_actors_signed(ws) ? "; every signature verifies against the key "
			                                 "registry at its position" : "");
		else
			print_status(&s);
	}
	rc = cli_close(ws, st, &err);
	return rc ? rc : ndiff ? 1 : 0;
}

static int log_status(int argc, char **argv)
{
	return log_read(argc, argv, false);
}

static int log_check(int argc, char **argv)
{
	return log_read(argc, argv, true);
}

static int log_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "case", required_argument, NULL, 'C' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long case_id = 0, from = 0, count = 0;
	bool json = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'j')
			json = true;
		else if (!cli_parse_uint(cli_cmd_name(), c == 'C' ? "--case" : c == 'f' ? "--from" : "--count",
		                         optarg, INDEX_MAX,
		                         c == 'C' ? &case_id : c == 'f' ? &from : &count))
			return 2;
	}
	if (c < 0)
		return rc;
	if ((rc = want_args(argc, 1, "WS")))
		return rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	enum pb_status st = pb_audit_list(ws, (int64_t)case_id, from, count, show_line, &json, &err);
	return cli_close(ws, st, &err);
}

static int log_entry(int argc, char **argv)
{
	int rc = no_opts(argc, argv);
	if (rc || (rc = want_args(argc, 2, "WS INDEX")))
		return rc < 0 ? 0 : rc;
	unsigned long idx;
	if (!cli_parse_uint(cli_cmd_name(), "INDEX", argv[optind + 1], INDEX_MAX, &idx))
		return 2;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	char *out = NULL;
	size_t len;
	enum pb_status st = pb_audit_entry_data(ws, idx, &out, &len, &err);
	if (!st)
		fwrite(out, 1, len, stdout);
	free(out);
	return cli_close(ws, st, &err);
}

/* statement WS INDEX [--sig FILE]: an entry's statement and signature, for
 * ssh-keygen -Y verify (docs/identity.md). */
static int log_statement(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sig", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sigpath = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		sigpath = optarg;
	if (c < 0)
		return rc;
	if ((rc = want_args(argc, 2, "WS INDEX")))
		return rc < 0 ? 0 : rc;
	unsigned long idx;
	if (!cli_parse_uint(cli_cmd_name(), "INDEX", argv[optind + 1], INDEX_MAX, &idx))
		return 2;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	char *stmt = NULL, *sig = NULL;
	const char *ns = NULL;
	enum pb_status st = pb_log_statement(ws, idx, &stmt, sigpath ? &sig : NULL, &ns, &err);
	if (!st && sigpath && cli_write_text(sigpath, sig))
		rc = 1;
	else if (!st) {
		fputs(stmt, stdout);
		fprintf(stderr, "namespace: %s\n", ns);
	}
	free(stmt);
	free(sig);
	return rc ? (cli_ws_close(ws), rc) : cli_close(ws, st, &err);
}

/* The end of checkpoint and prove: out (the library's text) when st is ok. */
static int print_out(struct pb_ws *ws, enum pb_status st, char *out, const struct pb_error *err)
{
	if (!st)
		fputs(out, stdout);
	free(out);
	return cli_close(ws, st, err);
}

static int log_checkpoint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		as = optarg;
	if (c < 0)
		return rc;
	if ((rc = want_args(argc, 1, "WS")))
		return rc;
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	char *out = NULL;
	enum pb_status st = pb_audit_checkpoint(ws, actor, &out, &err);
	return print_out(ws, st, out, &err);
}

static int log_prove(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "inclusion", required_argument, NULL, 'i' },
		{ "consistency", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long incl = 0, old = 0, size = 0, new = 0;
	bool have_incl = false, have_cons = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		const char *opt = c == 'i' ? "--inclusion" : c == 'c' ? "--consistency" : "--size";
		if (!cli_parse_uint(cli_cmd_name(), opt, optarg, INDEX_MAX,
		                    c == 'i' ? &incl : c == 'c' ? &old : &size))
			return 2;
		have_incl |= c == 'i';
		have_cons |= c == 'c';
	}
	if (c < 0)
		return rc;
	if ((rc = want_args(argc, have_cons ? 2 : 1, have_cons ? "WS NEW" : "WS")))
		return rc;
	if (have_incl == have_cons)
		return cli_usage(cli_cmd_name(), "prove needs exactly one of --inclusion INDEX, "
		                                 "--consistency OLD NEW");
	if (have_cons && !cli_parse_uint(cli_cmd_name(), "NEW", argv[optind + 1], INDEX_MAX, &new))
		return 2;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	char *out = NULL;
	enum pb_status st = have_incl ? pb_audit_prove_inclusion(ws, incl, size, &out, &err)
	                              : pb_audit_prove_consistency(ws, old, new, &out, &err);
	return print_out(ws, st, out, &err);
}

static int log_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 'n' },
		{ "no-checkpoint", no_argument, NULL, 'x' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long size = 0;
	bool sign = true;
	const char *as = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'n' && !cli_parse_uint(cli_cmd_name(), "--size", optarg, INDEX_MAX, &size))
			return 2;
		if (c == 'a')
			as = optarg;
		else
			sign = false; /* --size and --no-checkpoint sign nothing */
	}
	if (c < 0)
		return rc;
	if ((rc = want_args(argc, 2, "WS DIR")))
		return rc;
	const char *dir = argv[optind + 1];
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = sign ? cli_open_ws_as(argv[optind], as, &ws, actor)
	               : cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	char *out = NULL;
	struct pb_checkpoint cp;
	enum pb_status st = sign ? pb_audit_checkpoint(ws, actor, &out, &err) : PB_OK;
	if (!st && !(st = pb_audit_export(ws, dir, size, &cp, &err))) {
		/* the rows beside the log, for 'log verify' to compare with the
		 * entries: only when the export is the whole log */
		struct pb_error e2 = { 0 };
		enum pb_status ss = pb_log_snapshot_write(ws, dir, cp.size, &e2);
		if (ss && ss != PB_ESTATE) {
			st = ss;
			err = e2;
		} else {
			printf("exported %llu entries of %s to '%s' (checkpoint, tile/, vkey%s)\n",
			       (unsigned long long)cp.size, cp.origin, dir, ss ? "" : ", tables.db");
		}
	}
	free(out);
	return cli_close(ws, st, &err);
}

/* The options of verify and verify-proof. */
struct verify_args {
	const char *vkey, *since, *origin, *entry;
	bool generic;
};

static int verify_opts(int argc, char **argv, bool proof, struct verify_args *a)
{
	static const struct option opts[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "since", required_argument, NULL, 's' },
		{ "entry", required_argument, NULL, 'e' },
		{ "origin", required_argument, NULL, 'o' },
		{ "generic", no_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	/* verify-proof: --vkey, --since, --entry; verify: --vkey, --since, --origin, --generic */
	static const struct option dir_opts[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "since", required_argument, NULL, 's' },
		{ "origin", required_argument, NULL, 'o' },
		{ "generic", no_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, proof ? opts : dir_opts, &rc)) > 0) {
		switch (c) {
		case 'k': a->vkey = optarg; break;
		case 's': a->since = optarg; break;
		case 'e': a->entry = optarg; break;
		case 'o': a->origin = optarg; break;
		case 'G': a->generic = true; break;
		}
	}
	if (c < 0)
		return rc ? rc : -1;
	if (argc - optind != 1 || !a->vkey)
		return cli_usage(cli_cmd_name(), proof ? "expected: log verify-proof PROOF --vkey KEY "
		                                         "(--entry FILE | --since CHECKPOINT)"
		                                       : "expected: log verify DIR --vkey KEY "
		                                         "[--since CHECKPOINT]");
	return 0;
}

static int log_verify(int argc, char **argv)
{
	struct verify_args a = { 0 };
	int rc = verify_opts(argc, argv, false, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	return verify_dir(argv[optind], a.vkey, a.since, a.origin, a.generic);
}

static int log_verify_proof(int argc, char **argv)
{
	struct verify_args a = { 0 };
	int rc = verify_opts(argc, argv, true, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	return verify_proof(argv[optind], a.vkey, a.entry, a.since);
}

static const struct cli_sub log_subs[] = {
	{ "status", log_status, "WS" },
	{ "show", log_show, "WS [--case ID] [--from INDEX] [--count N] [--json]" },
	{ "entry", log_entry, "WS INDEX" },
	{ "statement", log_statement, "WS INDEX [--sig FILE]" },
	{ "checkpoint", log_checkpoint, "WS [--as USER]" },
	{ "prove", log_prove,
	  "WS --inclusion INDEX [--size N]\n"
	  "       probity log prove WS --consistency OLD NEW" },
	{ "export", log_export, "WS DIR [--size N] [--no-checkpoint] [--as USER]" },
	{ "check", log_check, "WS" },
	{ "verify", log_verify,
	  "DIR --vkey KEY [--since CHECKPOINT] [--origin ORIGIN] [--generic]" },
	{ "verify-proof", log_verify_proof, "PROOF --vkey KEY (--entry FILE | --since CHECKPOINT)" },
};

int cmd_log(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "log", .subs = log_subs, .nsubs = CLI_LEN(log_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
