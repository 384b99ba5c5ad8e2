/* cmd_plan.c - probity plan: enforcement plans, their dry run, approvals,
 * apply and rollback. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help_body[] =
	"\n"
	"An enforcement plan disables a precise set of services for the customer of a\n"
	"review case and keeps others running. Selectors name what to disable and\n"
	"what to keep; keeps are part of the plan and win over its disables. A plan\n"
	"needs at least two distinct approvers (never its authors); an approval binds\n"
	"to the plan's SHA-256, so a changed plan needs new approvals. Applying it\n"
	"publishes entitlements version N+1, which 'probity decide' and 'probity\n"
	"serve' answer from; rolling it back publishes N+2 without its rules. Every\n"
	"step is an entry of the tamper-evident audit log, written in the same\n"
	"transaction as the change. docs/plans.md is the guide.\n"
	"\n"
	"  new       makes a plan on case CASE for its customer (analyst, approver);\n"
	"            prints its number and hash\n"
	"  edit      changes a draft; only the options given change (analyst, approver)\n"
	"  show      the plan, its rules and history, and a dry run: every (account,\n"
	"            sub-account, service, capability, region) of the customer's usage\n"
	"            it would cut, with the last full month's quantity, cost and share of\n"
	"            the customer's spend; what stays on; selectors that match nothing;\n"
	"            keeps that cancel a disable entirely\n"
	"  list      the plans, one a line\n"
	"  approve   approves the plan as it is now (approver; not an author; once)\n"
	"  refuse    refuses it (approver); a refusal blocks apply until the plan changes\n"
	"  apply     puts an approved plan in force (analyst, approver)\n"
	"  rollback  takes an applied plan out of force (approver; two distinct\n"
	"            approvers unless 'plan policy' lowered it)\n"
	"  withdraw  abandons a draft (analyst, approver)\n"
	"  policy    --rollback-approvals N: how many approvers a rollback needs in this\n"
	"            workspace (admin; a log entry, sealed at once; probity.conf can only\n"
	"            raise it); without it, the policy in force and its entry\n";

/* the rest of the help (one literal would be longer than C compilers must take) */
static const char help_more[] =
	"\n"
	"selectors: space-separated KEY=VALUE[,VALUE...] terms, or 'all'. Keys:\n"
	"  account, subaccount   billing accounts / sub-accounts of the case's customer\n"
	"                        (default: all of the customer's)\n"
	"  category, subcategory FOCUS ServiceCategory / ServiceSubcategory\n"
	"  service               a service name the catalog knows (aliases resolve)\n"
	"  capability            speech-to-text, translation, object-storage, ...\n"
	"  region, country       a region (any spelling the catalog knows), or the\n"
	"                        ISO 3166-1 alpha-2 country of regions\n"
	"  Quote values holding spaces: \"category='AI and Machine Learning'\".\n"
	"  Unknown keys or values are refused, naming the selector.\n"
	"\n"
	"options:\n"
	"  --disable SELECTOR   what to cut (repeatable; at least one for new)\n"
	"  --keep SELECTOR      what stays on even where a disable applies (repeatable)\n"
	"  --no-keep            edit: drop every keep\n"
	"  --effective TIME     in force from this ISO 8601 time (default: when applied;\n"
	"                       a time already past when applied means now)\n"
	"  --until TIME         in force until this time (default: until rolled back)\n"
	"  --review-by DATE     the date (YYYY-MM-DD) by which the plan must be reviewed\n"
	"  --clause TEXT        the policy clause invoked, for the notice (default:\n"
	"                       probity.conf's policy_clause)\n"
	"  --approvals N        approvals needed (default: probity.conf's plan_approvals,\n"
	"                       else 2; never fewer than 2)\n"
	"  --appeal-days N      days the customer has to respond (default: probity.conf's\n"
	"                       appeal_days, else 30)\n"
	"  --hash SHA256        approve/refuse: the hash you reviewed; refused if the plan\n"
	"                       has changed since\n"
	"  --comment TEXT       approve: a comment for the record\n"
	"  --reason TEXT        refuse, rollback, withdraw: why (required)\n"
	"  --rollback-approvals N  policy: approvers a rollback needs (1 to 100)\n"
	"  --month YYYY-MM      show: the month of the dry run (default: the last month\n"
	"                       the loaded usage covers in full)\n"
	"  --no-dry-run         show: leave the dry run out\n"
	"  --case ID            list: only the plans of case ID\n"
	"  --json               show: print the plan and its dry run as JSON\n"
	"  --as USER            the acting user (default: 'user = NAME' in probity.conf)\n"
	"  -h, --help           show this help\n"
	"\n"
	"example:\n"
	"  probity plan new review-2025 1 --as alice \\\n"
	"      --disable 'category=Storage country=NL' \\\n"
	"      --disable 'capability=speech-to-text,translation' --keep 'category=Security'\n"
	"  probity plan show review-2025 1\n"
	"  probity plan approve review-2025 1 --as bob --hash 3b1f...\n"
	"  probity plan approve review-2025 1 --as dana\n"
	"  probity plan apply review-2025 1 --as alice\n"
	"  probity plan rollback review-2025 1 --as bob --reason 'appeal upheld'\n";

#define LIST_MAX PB_PLAN_SELECTORS_MAX

/* The options of new and edit: the selectors and terms of a plan. */
struct terms_args {
	const char *disable[LIST_MAX], *keep[LIST_MAX];
	size_t ndisable, nkeep;
	bool no_keep;
	const char *effective, *until, *review_by, *clause, *as;
	unsigned long approvals, appeal_days;
};

static int parse_id(const char *what, const char *s, int64_t *id)
{
	unsigned long v = 0;
	if (!cli_parse_uint(cli_cmd_name(), what, s, 0x7fffffffUL, &v))
		return 0;
	if (v == 0) {
		cli_usage(cli_cmd_name(), "%s numbers start at 1, not '%s'", what, s);
		return 0;
	}
	*id = (int64_t)v;
	return 1;
}

static struct pb_catalog *load_catalog(struct pb_error *err)
{
	char dir[4200];
	struct pb_catalog *cat = NULL;
	snprintf(dir, sizeof(dir), "%s/catalog", cli_data_dir());
	if (pb_catalog_load(dir, &cat, err))
		return NULL;
	return cat;
}

/* "1234.5" -> "1234.50"; quantities keep three decimals at most. */
static const char *num(const char *dec, int places, char *buf, size_t cap)
{
	double v = strtod(dec, NULL);
	snprintf(buf, cap, "%.*f", places, v);
	if (places && strchr(buf, '.')) {
		char *e = buf + strlen(buf) - 1;
		while (*e == '0')
			*e-- = '\0';
		if (*e == '.')
			*e = '\0';
	}
	return buf;
}

/* A share for people: never "100.0%" or "0.0%" unless it is exactly that. */
static const char *pct(double share, char *buf, size_t cap)
{
	double v = share * 100;
	if (v > 0 && v < 0.05)
		snprintf(buf, cap, "<0.1%%");
	else if (v < 100 && v >= 99.95)
		snprintf(buf, cap, ">99.9%%");
	else
		snprintf(buf, cap, "%.1f%%", v);
	return buf;
}

static const char *sel_name(const struct pb_plan *p, long i, char *buf, size_t cap)
{
	if (i < 0)
		return "";
	snprintf(buf, cap, "%s %u", p->selectors[i].keep ? "keep" : "disable",
	         p->selectors[i].number);
	return buf;
}

static void when(int64_t t, bool open, const char *open_text, char *buf, size_t cap)
{
	if (open) {
		snprintf(buf, cap, "%s", open_text);
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_plan(const struct pb_plan *p)
{
	char a[40], b[40];
	printf("plan %lld: case %lld, customer '%s'\n", (long long)p->id, (long long)p->case_id,
	       p->customer);
	printf("  state:      %s\n", p->state);
	printf("  sha256:     %s\n", p->sha256);
	printf("  revision:   %d (made %s by %s)\n", p->revision, p->created_at, p->created_by);
	when(p->effective, p->effective == INT64_MIN, "when applied", a, sizeof(a));
	when(p->until, p->until == INT64_MAX, "until rolled back", b, sizeof(b));
	printf("  effective:  %s; until: %s\n", a, b);
	if (p->in_force_from) {
		when(p->in_force_from, false, "", a, sizeof(a));
		printf("  in force:   from %s (entitlements version %lld)\n", a,
		       (long long)p->applied_version);
	}
	if (p->end_version)
		printf("  rolled back: entitlements version %lld\n", (long long)p->end_version);
	printf("  review by:  %s\n", p->review_by ? p->review_by : "(no date set)");
	printf("  policy:     %s\n", p->clause);
	printf("  approvals:  %u of %u needed\n", p->approvals, p->approvals_needed);
	printf("  appeal:     %u days from the notice\n", p->appeal_days);
	printf("\nselectors:\n");
	for (size_t i = 0; i < p->nselectors; i++)
		printf("  %-8s %3u  %s\n", p->selectors[i].keep ? "keep" : "disable",
		       p->selectors[i].number, p->selectors[i].text);
	printf("\nrules (what apply publishes, %zu):\n", p->nrules);
	struct cli_table t;
	cli_table_init(&t, 5, (const char *const[]){ ">#", "effect", "selector", "accounts",
	                                             "sub-accounts" });
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pb_rule *r = &p->rules[i];
		char n[16], sel[32], acc[512] = "", sub[512] = "";
		snprintf(n, sizeof(n), "%zu", i + 1);
		for (size_t k = 0, o = 0; k < r->nvalues[PB_DIM_ACCOUNT] && o < sizeof(acc) - 1; k++)
			o += (size_t)snprintf(acc + o, sizeof(acc) - o, "%s%s", k ? "," : "",
			                      r->values[PB_DIM_ACCOUNT][k]);
		for (size_t k = 0, o = 0; k < r->nvalues[PB_DIM_SUBACCOUNT] && o < sizeof(sub) - 1; k++)
			o += (size_t)snprintf(sub + o, sizeof(sub) - o, "%s%s", k ? "," : "",
			                      r->values[PB_DIM_SUBACCOUNT][k]);
		cli_table_add(&t, (const char *const[]){ n, r->effect == PB_EFFECT_KEEP ? "keep" : "disable",
		                                         sel_name(p, (long)p->rule_selector[i], sel,
		                                                  sizeof(sel)),
		                                         acc, sub[0] ? sub : "(all)" });
	}
	cli_table_print(&t, stdout);
	cli_table_release(&t);
	printf("\nhistory:\n");
	cli_table_init(&t, 7, (const char *const[]){ ">entry", "time", "actor", "step", "plan hash",
	                                             ">version", "note" });
	for (size_t i = 0; i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		char li[24], h[32], v[24];
		snprintf(li, sizeof(li), "%llu", (unsigned long long)e->log_index);
		snprintf(h, sizeof(h), "%.12s%s", e->sha256, e->current ? " (now)" : "");
		snprintf(v, sizeof(v), "%lld", (long long)e->version);
		cli_table_add(&t, (const char *const[]){ li, e->at, e->actor, e->kind, h,
		                                         e->version ? v : "", e->text ? e->text : "" });
	}
	cli_table_print(&t, stdout);
	cli_table_release(&t);
}

static void print_rows(const struct pb_plan *p, const struct pb_plan_dryrun *d, bool cut)
{
	struct cli_table t;
	cli_table_init(&t, 11, (const char *const[]){ "account", "sub-account", "service", "capability",
	                                              "region", ">quantity", "unit", ">cost",
	                                              ">share", "last used",
	                                              cut ? "cut by" : "kept by" });
	for (size_t i = 0; i < d->nrows; i++) {
		const struct pb_plan_usage *u = &d->rows[i];
		if (u->cut != cut)
			continue;
		char q[64], c[64], s[16], by[32], cost[96];
		pct(u->share, s, sizeof(s));
		snprintf(cost, sizeof(cost), "%s%s%s", num(u->cost, 2, c, sizeof(c)),
		         u->currency[0] ? " " : "", u->currency);
		cli_table_add(&t, (const char *const[]){ u->account, u->subaccount, u->service,
		                                         u->capability[0] ? u->capability : "-",
		                                         u->region[0] ? u->region : "-",
		                                         num(u->quantity, 3, q, sizeof(q)), u->unit,
		                                         cost, s, u->last_day,
		                                         cut || u->kept_by >= 0
		                                                 ? sel_name(p, cut ? u->by : u->kept_by,
		                                                            by, sizeof(by))
		                                                 : "-" });
	}
	cli_table_print(&t, stdout);
	cli_table_release(&t);
}

static void print_dryrun(const struct pb_plan *p, const struct pb_plan_dryrun *d)
{
	char a[64], b[64], c[64];
	if (d->month[0])
		printf("\ndry run on the usage of %s (the customer's usage runs %s to %s):\n",
		       d->month, d->first_day[0] ? d->first_day : "-",
		       d->last_day[0] ? d->last_day : "-");
	else
		printf("\ndry run: no usage is loaded in this workspace\n");
	if (d->ncut) {
		printf("\nwould cut (%zu):\n", d->ncut);
		print_rows(p, d, true);
	} else {
		printf("\nwould cut: nothing in the customer's usage\n");
	}
	if (d->nrows > d->ncut) {
		printf("\nstays on (%zu):\n", d->nrows - d->ncut);
		print_rows(p, d, false);
	}
	for (size_t i = 0; i < d->nspend; i++) {
		char sh[16];
		printf("\nspend in %s: %s%s%s, of which cut %s (%s), saved by keeps %s\n", d->month,
		       num(d->spend[i].total, 2, a, sizeof(a)), d->spend[i].currency[0] ? " " : "",
		       d->spend[i].currency, num(d->spend[i].cut, 2, b, sizeof(b)),
		       pct(d->spend[i].cut_share, sh, sizeof(sh)), num(d->spend[i].kept, 2, c, sizeof(c)));
	}
	bool none = false;
	for (size_t i = 0; i < p->nselectors; i++)
		if (!d->matches[i]) {
			if (!none)
				printf("\nselectors that match nothing in the customer's usage:\n");
			none = true;
			printf("  %s %u: %s\n", p->selectors[i].keep ? "keep" : "disable",
			       p->selectors[i].number, p->selectors[i].text);
		}
	if (d->ncancels)
		printf("\nkeeps that cancel a disable entirely:\n");
	for (size_t i = 0; i < d->ncancels; i++) {
		char k[32], x[32];
		printf("  %s cancels %s %s\n", sel_name(p, (long)d->cancels[i][0], k, sizeof(k)),
		       sel_name(p, (long)d->cancels[i][1], x, sizeof(x)),
		       d->cancels_always[i] ? "for every service and region the catalog knows"
		                            : "on every usage key it matches");
	}
	if (d->nnotes)
		printf("\nnotes:\n");
	for (size_t i = 0; i < d->nnotes; i++)
		printf("  - %s\n", d->notes[i]);
}

static bool list_row(void *ctx, const struct pb_plan *p)
{
	char id[24], cs[24], ap[24], eff[40], rb[40];
	snprintf(id, sizeof(id), "%lld", (long long)p->id);
	snprintf(cs, sizeof(cs), "%lld", (long long)p->case_id);
	snprintf(ap, sizeof(ap), "%u/%u", p->approvals, p->approvals_needed);
	if (p->in_force_from)
		when(p->in_force_from, false, "", eff, sizeof(eff));
	else
		when(p->effective, p->effective == INT64_MIN, "when applied", eff, sizeof(eff));
	snprintf(rb, sizeof(rb), "%s", p->review_by ? p->review_by : "-");
	if (p->review_by && !strcmp(p->status, "applied")) {
		char today[16];
		when((int64_t)time(NULL), false, "", today, sizeof(today));
		if (strncmp(today, p->review_by, 10) > 0)
			snprintf(rb, sizeof(rb), "%s OVERDUE", p->review_by);
	}
	cli_table_add(ctx, (const char *const[]){ id, cs, p->customer, p->status, ap, eff, rb,
	                                          p->state });
	return true;
}

static int add_sel(const char **v, size_t *n, const char *s, const char *opt)
{
	if (*n >= LIST_MAX) {
		cli_usage(cli_cmd_name(), "at most %d %s selectors", LIST_MAX, opt);
		return 0;
	}
	v[(*n)++] = s;
	return 1;
}

/* The operands WS and, when what is not NULL, a CASE or PLAN number. */
static int ws_id_args(int argc, char **argv, const char *what, int64_t *id)
{
	if (argc - optind != (what ? 2 : 1))
		return cli_usage(cli_cmd_name(), "expected %s for 'plan %s'",
		                 !what ? "WS" : !strcmp(what, "case") ? "WS CASE" : "WS PLAN", argv[0]);
	return what && !parse_id(what, argv[optind + 1], id) ? 2 : 0;
}

/* Parses the options of new (edit false) or edit, and the operands WS CASE
 * or WS PLAN. Returns 0 to go on, -1 after --help, or an exit code. */
static int terms_opts(int argc, char **argv, bool edit, struct terms_args *A, int64_t *id)
{
	static const struct option opts[] = {
		{ "disable", required_argument, NULL, 'd' },
		{ "keep", required_argument, NULL, 'k' },
		{ "effective", required_argument, NULL, 'e' },
		{ "until", required_argument, NULL, 'u' },
		{ "review-by", required_argument, NULL, 'r' },
		{ "clause", required_argument, NULL, 'C' },
		{ "approvals", required_argument, NULL, 'n' },
		{ "appeal-days", required_argument, NULL, 'D' },
		{ "as", required_argument, NULL, 'a' },
		{ "no-keep", no_argument, NULL, 'K' }, /* edit only: last */
		{ NULL, 0, NULL, 0 },
	};
	struct option mine[CLI_LEN(opts)];
	memcpy(mine, opts, sizeof(opts));
	if (!edit)
		mine[CLI_LEN(opts) - 2] = (struct option){ NULL, 0, NULL, 0 };
	const char *cmd = cli_cmd_name();
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, mine, &rc)) > 0) {
		switch (c) {
		case 'd':
			if (!add_sel(A->disable, &A->ndisable, optarg, "--disable"))
				return 2;
			break;
		case 'k':
			if (!add_sel(A->keep, &A->nkeep, optarg, "--keep"))
				return 2;
			break;
		case 'K': A->no_keep = true; break;
		case 'e': A->effective = optarg; break;
		case 'u': A->until = optarg; break;
		case 'r': A->review_by = optarg; break;
		case 'C': A->clause = optarg; break;
		case 'a': A->as = optarg; break;
		case 'n':
			if (!cli_parse_uint(cmd, "--approvals", optarg, 100, &A->approvals))
				return 2;
			if (A->approvals < 2)
				return cli_usage(cmd, "--approvals is at least 2 (two distinct approvers), "
				                      "not %lu",
				                 A->approvals);
			break;
		case 'D':
			if (!cli_parse_uint(cmd, "--appeal-days", optarg, 3650, &A->appeal_days))
				return 2;
			if (!A->appeal_days)
				return cli_usage(cmd, "--appeal-days is at least 1");
			break;
		}
	}
	if (c < 0)
		return rc ? rc : -1;
	if (!edit && !A->ndisable)
		return cli_usage(cmd, "new needs at least one --disable SELECTOR");
	if ((rc = ws_id_args(argc, argv, edit ? "plan" : "case", id)))
		return rc;
	bool terms = A->ndisable || A->nkeep || A->no_keep || A->effective || A->until ||
	             A->review_by || A->clause || A->approvals || A->appeal_days;
	if (edit && !terms)
		return cli_usage(cmd, "edit needs something to change (see --help)");
	if (A->no_keep && A->nkeep)
		return cli_usage(cmd, "--no-keep and --keep exclude each other");
	return 0;
}

/* The catalog the selectors resolve against; prints why not. */
static struct pb_catalog *catalog(void)
{
	struct pb_error err = { 0 };
	struct pb_catalog *cat = load_catalog(&err);
	if (!cat)
		cli_fail(&err);
	return cat;
}

/* new (edit false) and edit. */
static int plan_terms(int argc, char **argv, bool edit)
{
	static struct terms_args A;
	memset(&A, 0, sizeof(A));
	int64_t id = 0;
	int rc = terms_opts(argc, argv, edit, &A, &id);
	if (rc)
		return rc < 0 ? 0 : rc;
	const char *wsp = argv[optind];
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(wsp, A.as, &ws, actor)))
		return rc;
	struct pb_catalog *cat = catalog();
	if (!cat) {
		cli_ws_close(ws);
		return 1;
	}
	struct pb_plan_terms t = { A.disable, A.ndisable, A.keep, A.nkeep, A.effective, A.until,
		                   A.review_by, A.clause, (unsigned)A.approvals,
		                   (unsigned)A.appeal_days };
	struct pb_error err = { 0 };
	struct pb_plan *p = NULL;
	uint64_t index = 0;
	int64_t pid = id;
	enum pb_status st = edit ? pb_plan_edit(ws, cat, actor, id, &t, A.no_keep, &index, &err)
	                         : pb_plan_new(ws, cat, actor, id, &t, &pid, &index, &err);
	if (!st)
		st = pb_plan_get(ws, pid, &p, &err);
	if (!st && edit) {
		printf("plan %lld changed (revision %d): %zu rules; earlier approvals no longer count; "
		       "log entry %llu\nsha256 %s\n",
		       (long long)id, p->revision, p->nrules, (unsigned long long)index, p->sha256);
	} else if (!st) {
		printf("plan %lld (draft) on case %lld for customer '%s': %zu rules; log entry %llu\n",
		       (long long)pid, (long long)id, p->customer, p->nrules,
		       (unsigned long long)index);
		printf("sha256 %s\n", p->sha256);
		printf("next: 'probity plan show %s %lld' (dry run), then %u approvers: 'probity plan "
		       "approve %s %lld --hash %.16s --as USER'\n",
		       wsp, (long long)pid, p->approvals_needed, wsp, (long long)pid, p->sha256);
	}
	pb_plan_free(p);
	pb_catalog_free(cat);
	return cli_close(ws, st, &err);
}

static int plan_new(int argc, char **argv)
{
	return plan_terms(argc, argv, false);
}

static int plan_edit(int argc, char **argv)
{
	return plan_terms(argc, argv, true);
}

/* The plan, and its dry run unless no_dry. */
static enum pb_status show_plan(struct pb_ws *ws, int64_t id, const char *month, bool no_dry,
                                bool json, struct pb_error *err)
{
	struct pb_catalog *cat = NULL;
	struct pb_plan *p = NULL;
	struct pb_plan_dryrun *d = NULL;
	char *js = NULL;
	enum pb_status st;
	if (!no_dry && !(cat = load_catalog(err)))
		return err->code ? err->code : PB_EIO;
	if ((st = pb_plan_get(ws, id, &p, err)) ||
	    (!no_dry && (st = pb_plan_dryrun(ws, cat, p, month, &d, err))))
		goto done;
	if (json) {
		if (!(st = pb_plan_json(p, d, &js, err)))
			printf("%s\n", js);
	} else {
		print_plan(p);
		if (d)
			print_dryrun(p, d);
	}
done:
	free(js);
	pb_plan_dryrun_free(d);
	pb_plan_free(p);
	pb_catalog_free(cat);
	return st;
}

static int plan_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "month", required_argument, NULL, 'm' },
		{ "no-dry-run", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *month = NULL;
	bool no_dry = false, json = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'm')
			month = optarg;
		no_dry |= c == 'N';
		json |= c == 'j';
	}
	if (c < 0)
		return rc;
	int64_t id;
	if ((rc = ws_id_args(argc, argv, "plan", &id)))
		return rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	enum pb_status st = show_plan(ws, id, month, no_dry, json, &err);
	return cli_close(ws, st, &err);
}

static int plan_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "case", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long case_id = 0;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		if (!cli_parse_uint(cli_cmd_name(), "--case", optarg, 0x7fffffffUL, &case_id))
			return 2;
	if (c < 0)
		return rc;
	if ((rc = ws_id_args(argc, argv, NULL, NULL)))
		return rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	struct cli_table tb;
	cli_table_init(&tb, 8, (const char *const[]){ ">plan", ">case", "customer", "status",
	                                              "approvals", "effective", "review by",
	                                              "state" });
	enum pb_status st = pb_plan_list(ws, (int64_t)case_id, list_row, &tb, &err);
	if (!st)
		cli_table_print(&tb, stdout);
	cli_table_release(&tb);
	return cli_close(ws, st, &err);
}

/* The steps of a plan's life after new: approve, refuse, apply, rollback,
 * withdraw, each with the options it takes. */
enum step { APPROVE, REFUSE, APPLY, ROLLBACK, WITHDRAW };

struct step_args {
	const char *as, *hash, *comment, *reason;
};

static int step_opts(int argc, char **argv, enum step step, struct step_args *a, int64_t *id)
{
	static const struct option as_opt = { "as", required_argument, NULL, 'a' },
	                           hash = { "hash", required_argument, NULL, 'H' },
	                           comment = { "comment", required_argument, NULL, 'c' },
	                           reason = { "reason", required_argument, NULL, 'R' };
	struct option opts[5] = { as_opt };
	size_t n = 1;
	if (step == APPROVE || step == REFUSE)
		opts[n++] = hash;
	if (step == APPROVE)
		opts[n++] = comment;
	if (step == REFUSE || step == ROLLBACK || step == WITHDRAW)
		opts[n++] = reason;
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'a': a->as = optarg; break;
		case 'H': a->hash = optarg; break;
		case 'c': a->comment = optarg; break;
		case 'R': a->reason = optarg; break;
		}
	}
	if (c < 0)
		return rc ? rc : -1;
	if ((rc = ws_id_args(argc, argv, "plan", id)))
		return rc;
	if (n > 1 && opts[n - 1].val == 'R' && (!a->reason || !*a->reason))
		return cli_usage(cli_cmd_name(), "%s needs --reason TEXT", argv[0]);
	return 0;
}

static enum pb_status step_run(struct pb_ws *ws, const char *actor, int64_t id, enum step step,
                               const struct step_args *a, struct pb_error *err)
{
	struct pb_plan *p = NULL;
	uint64_t index = 0;
	int64_t v = 0;
	unsigned have = 0, need = 0;
	char from[40];
	enum pb_status st = PB_OK;
	switch (step) {
	case APPROVE:
		if ((st = pb_plan_approve(ws, actor, id, a->hash, a->comment, &have, &index, err)) ||
		    (st = pb_plan_get(ws, id, &p, err)))
			break;
		printf("%s approved plan %lld (sha256 %.12s...): %u of %u approvals%s; log entry %llu\n",
		       actor, (long long)id, p->sha256, have, p->approvals_needed,
		       have >= p->approvals_needed ? ", ready to apply" : "",
		       (unsigned long long)index);
		break;
	case REFUSE:
		if (!(st = pb_plan_refuse(ws, actor, id, a->hash, a->reason, &index, err)))
			printf("%s refused plan %lld; it cannot be applied unless it changes; log entry "
			       "%llu\n",
			       actor, (long long)id, (unsigned long long)index);
		break;
	case APPLY:
		if ((st = pb_plan_apply(ws, actor, id, &v, &index, err)) ||
		    (st = pb_plan_get(ws, id, &p, err)))
			break;
		when(p->in_force_from, false, "", from, sizeof(from));
		printf("applied plan %lld: entitlements version %lld, in force from %s; log entry "
		       "%llu\n",
		       (long long)id, (long long)v, from, (unsigned long long)index);
		break;
	case ROLLBACK:
		if ((st = pb_plan_rollback(ws, actor, id, a->reason, &v, &have, &need, &index, err)))
			break;
		if (v)
			printf("rolled back plan %lld: entitlements version %lld; log entry %llu\n",
			       (long long)id, (long long)v, (unsigned long long)index);
		else
			printf("rollback of plan %lld asked by %s: %u of %u approvers; it stays in force "
			       "until the last one asks; log entry %llu\n",
			       (long long)id, actor, have, need, (unsigned long long)index);
		break;
	case WITHDRAW:
		if (!(st = pb_plan_withdraw(ws, actor, id, a->reason, &index, err)))
			printf("withdrew plan %lld; log entry %llu\n", (long long)id,
			       (unsigned long long)index);
		break;
	}
	pb_plan_free(p);
	return st;
}

static int plan_step(int argc, char **argv, enum step step)
{
	struct step_args a = { 0 };
	int64_t id = 0;
	int rc = step_opts(argc, argv, step, &a, &id);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], a.as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	enum pb_status st = step_run(ws, actor, id, step, &a, &err);
	return cli_close(ws, st, &err);
}

static int plan_approve(int argc, char **argv)
{
	return plan_step(argc, argv, APPROVE);
}

static int plan_refuse(int argc, char **argv)
{
	return plan_step(argc, argv, REFUSE);
}

static int plan_apply(int argc, char **argv)
{
	return plan_step(argc, argv, APPLY);
}

static int plan_rollback(int argc, char **argv)
{
	return plan_step(argc, argv, ROLLBACK);
}

static int plan_withdraw(int argc, char **argv)
{
	return plan_step(argc, argv, WITHDRAW);
}

/* probity plan policy WS [--rollback-approvals N --as ADMIN]: the workspace's
 * rollback policy, set on the log (an admin's plan.policy entry, sealed at
 * once); without an option, the policy in force and the entry it is from. */
static int plan_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rollback-approvals", required_argument, NULL, 'r' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long n = 0;
	const char *as = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'a')
			as = optarg;
		else if (!cli_parse_uint(cli_cmd_name(), "--rollback-approvals", optarg, 100, &n))
			return 2;
		else if (!n)
			return cli_usage(cli_cmd_name(), "--rollback-approvals N is 1 to 100");
	}
	if (c < 0)
		return rc;
	if ((rc = ws_id_args(argc, argv, NULL, NULL)))
		return rc;
	struct pb_ws *ws;
	if (!n) { /* no option: show the policy and where it comes from */
		if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
			return rc;
		struct pb_error err = { 0 };
		struct pb_plan_rollback_policy rp;
		enum pb_status st = pb_plan_rollback_policy(ws, &rp, &err);
		if (!st) {
			printf("a rollback needs %u distinct approver%s\n", rp.need,
			       rp.need == 1 ? "" : "s");
			if (rp.from_entry)
				printf("  the log says %u: plan.policy entry %llu (sealed)\n", rp.logged,
				       (unsigned long long)rp.index);
			else
				printf("  the log says %u: the default (no sealed plan.policy entry)\n",
				       rp.logged);
			if (rp.conf > rp.logged)
				printf("  probity.conf rollback_approvals raises it to %u\n", rp.conf);
			if (rp.pending)
				printf("  plan.policy entry %llu is not sealed by a signed checkpoint: not in "
				       "force\n",
				       (unsigned long long)rp.pending_index);
		}
		return cli_close(ws, st, &err);
	}
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	enum pb_status st = pb_plan_set_rollback_approvals(ws, actor, (unsigned)n, &index, &err);
	if (!st)
		printf("a rollback now needs %lu distinct approver%s; log entry %llu\n", n,
		       n == 1 ? "" : "s", (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static const struct cli_sub plan_subs[] = {
	{ "new", plan_new,
	  "WS CASE --disable SELECTOR... [--keep SELECTOR...]\n"
	  "                        [--effective TIME] [--until TIME] [--review-by DATE]\n"
	  "                        [--clause TEXT] [--approvals N] [--appeal-days N]" },
	{ "edit", plan_edit, "WS PLAN [the options of new] [--no-keep]" },
	{ "show", plan_show, "WS PLAN [--month YYYY-MM] [--no-dry-run] [--json]" },
	{ "list", plan_list, "WS [--case ID]" },
	{ "approve", plan_approve, "WS PLAN [--hash SHA256] [--comment TEXT]" },
	{ "refuse", plan_refuse, "WS PLAN --reason TEXT [--hash SHA256]" },
	{ "apply", plan_apply, "WS PLAN" },
	{ "rollback", plan_rollback, "WS PLAN --reason TEXT" },
	{ "withdraw", plan_withdraw, "WS PLAN --reason TEXT" },
	{ "policy", plan_policy, "WS [--rollback-approvals N]" },
};

int cmd_plan(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "plan", .subs = plan_subs, .nsubs = CLI_LEN(plan_subs),
		.body = help_body, .more = help_more,
	};
	return cli_dispatch(&cmd, argc, argv);
}
