/* cmd_decide.c - probity decide: allow or deny one request, with the reason. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
	"usage: probity decide WS --account A [--subaccount S] --service NAME --region R\n"
	"                      [--capability C] [--sku-meter M] [--at TIME] [--version N]\n"
	"                      [--json]\n"
	"\n"
	"Answers whether billing account A may use service NAME in region R, from the\n"
	"entitlements in force in workspace WS, and says why: the plan, case, selector\n"
	"and entitlements version that decided, and the time that version was in force.\n"
	"The version is the latest; with --at, the one in force at TIME (the newest\n"
	"published at or before it; none before the first: allow); --version N forces\n"
	"one, and --at then only sets the time its rules' windows are evaluated at.\n"
	"It compiles the same decision table that 'probity serve' answers from.\n"
	"Exit status is 0 for allow and for deny; 1 when the question cannot be asked\n"
	"(no workspace, no catalog), 2 for bad usage.\n"
	"\n"
	"Requests the catalog cannot place fail closed: an unknown service or region,\n"
	"a missing sub-account, or a service that offers several capabilities (Azure AI\n"
	"Services) with none named are treated as 'could be anything', so a disable\n"
	"that may apply does apply and a keep applies only when it surely does. See\n"
	"docs/enforcement.md.\n"
	"\n"
	"options:\n"
	"  --account A        billing account id (required; case is ignored)\n"
	"  --subaccount S     sub-account (subscription, member account) id\n"
	"  --service NAME     FOCUS ServiceName or an alias the catalog knows (required)\n"
	"  --region R         region id or any spelling the catalog knows (required)\n"
	"  --capability C     the capability the call exercises (speech-to-text, ...)\n"
	"  --sku-meter M      the SKU meter, to tell capabilities of one service apart\n"
	"  --at TIME          decide at this ISO 8601 time (default: now), from the\n"
	"                     entitlements version in force then and its rules'\n"
	"                     windows at TIME\n"
	"  --version N        use entitlements version N (wins over the version --at\n"
	"                     would choose; the answer says when N was not in force)\n"
	"  --json             print the decision as one JSON object\n"
	"  -h, --help         show this help\n"
	"\n"
	"example:\n"
	"  probity decide review-2025 --account 7f3a-imod --service 'Storage Accounts' \\\n"
	"      --region westeurope --at 2026-03-04T10:00:00Z\n";

static struct pb_str sv(const char *s)
{
	struct pb_str v = { s, s ? strlen(s) : 0 };
	return v;
}

/* "2026-03-01T09:12:00.123Z" for ms since the epoch, as versions record it */
static void ms_text(int64_t ms, char *buf)
{
	char t[32];
	pb_time_format(ms / 1000, t);
	snprintf(buf, 40, "%.19s.%03dZ", t, (int)(ms % 1000));
}

/* The question as the command line asks it. */
struct question {
	const char *ws, *acct, *sub, *svc, *region, *capab, *meter, *at;
	unsigned long version; /* 0: chosen by --at, else the latest */
	bool json;
	int64_t when;          /* --at, or now */
};

/* Which version answered, and when it was in force. */
struct answered {
	int64_t vers, from_ms, until_ms;
	const char *chosen;    /* "version", "at" or "latest" */
	bool in_force;         /* at the question's time */
	char from_s[40], until_s[40], when_s[32];
};

/* Parses the command line into q; returns -1 to go on, else the exit code. */
static int parse_question(int argc, char **argv, struct question *q)
{
	static const struct option opts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "subaccount", required_argument, NULL, 'u' },
		{ "service", required_argument, NULL, 's' },
		{ "region", required_argument, NULL, 'r' },
		{ "capability", required_argument, NULL, 'c' },
		{ "sku-meter", required_argument, NULL, 'm' },
		{ "at", required_argument, NULL, 't' },
		{ "version", required_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(q, 0, sizeof(*q));
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': q->acct = optarg; break;
		case 'u': q->sub = optarg; break;
		case 's': q->svc = optarg; break;
		case 'r': q->region = optarg; break;
		case 'c': q->capab = optarg; break;
		case 'm': q->meter = optarg; break;
		case 't': q->at = optarg; break;
		case 'v':
			if (!cli_parse_uint("decide", "--version", optarg, 1000000000UL, &q->version))
				return 2;
			break;
		case 'j': q->json = true; break;
		case 'h': return cli_help(usage_text);
		default: return cli_usage("decide", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("decide", "expected one workspace folder");
	if (!q->acct || !*q->acct)
		return cli_usage("decide", "--account is required");
	if (!q->svc || !*q->svc)
		return cli_usage("decide", "--service is required");
	if (!q->region || !*q->region)
		return cli_usage("decide", "--region is required");
	q->when = (int64_t)time(NULL);
	if (q->at && !pb_time_parse(q->at, strlen(q->at), &q->when, NULL))
		return cli_usage("decide", "--at expects an ISO 8601 time like 2025-09-25T12:00:00Z, not '%s'",
		                 q->at);
	q->ws = argv[optind];
	return -1;
}

/* The server's JSON object, plus which version answered and why. */
static int print_json(const struct pb_decision *r, const struct pb_decide_request *dq,
                      const struct answered *a)
{
	char buf[8192];
	size_t n = pb_decision_json(r, dq, NULL, buf, sizeof(buf));
	char ent[320];
	int m = snprintf(ent, sizeof(ent),
	                 ",\"entitlements\":{\"version\":%lld,\"chosen_by\":\"%s\","
	                 "\"in_force_from\":%s%s%s,\"in_force_until\":%s%s%s,\"in_force_at\":%s}}",
	                 (long long)a->vers, a->chosen, a->vers ? "\"" : "",
	                 a->vers ? a->from_s : "null", a->vers ? "\"" : "", a->until_ms ? "\"" : "",
	                 a->until_ms ? a->until_s : "null", a->until_ms ? "\"" : "",
	                 a->in_force ? "true" : "false");
	if (!n || buf[n - 1] != '}' || m < 0 || (size_t)m >= sizeof(ent) ||
	    n - 1 + (size_t)m >= sizeof(buf))
		return cli_failf("decision too large to print");
	memcpy(buf + n - 1, ent, (size_t)m + 1);
	printf("%s\n", buf);
	return 0;
}

/* The "reason:" line. */
static void print_reason(const struct pb_decision *r, const struct question *q,
                         const struct answered *a)
{
	char sel[512];
	switch (r->why) {
	case PB_WHY_NO_RULES:
		if (a->vers == 0 && q->at && a->until_ms)
			printf("reason: no entitlements were in force at %s (the first version was "
			       "published at %s)\n", a->when_s, a->until_s);
		else if (a->vers == 0 && q->at)
			printf("reason: no entitlements were in force at %s (none has been "
			       "published)\n", a->when_s);
		else
			printf("reason: no rule in force names account '%s'\n", q->acct);
		break;
	case PB_WHY_NO_MATCH:
		printf("reason: no rule in force for account '%s' applies to this request\n", q->acct);
		break;
	case PB_WHY_KEPT:
	case PB_WHY_DISABLED:
		pb_rule_selector(r->rule, false, sel, sizeof(sel));
		printf("reason: %s by plan %s (case %s), rule %zu: %s %s\n",
		       r->why == PB_WHY_KEPT ? "kept" : "disabled", r->rule->plan, r->rule->case_ref,
		       r->rule_index + 1, r->rule->effect == PB_EFFECT_KEEP ? "keep" : "disable", sel);
		break;
	}
}

static void print_text(const struct pb_decision *r, const struct question *q,
                       const struct answered *a)
{
	char fl[160];
	printf("%s\n", r->allow ? "allow" : "deny");
	print_reason(r, q, a);
	/* capability-ignored is not an unknown the rules treat as anything:
	 * the named capability is dropped and the service alone decides */
	pb_decide_flags(r->flags & ~(unsigned)PB_DECIDE_CAP_IGNORED, ", ", fl, sizeof(fl));
	if (fl[0])
		printf("unknown: %s (treated as could be anything)\n", fl);
	if (r->flags & PB_DECIDE_CAP_IGNORED) {
		if (q->capab && *q->capab)
			printf("ignored: capability '%s' is not offered by service '%s' "
			       "(capability-ignored); decided on the service alone\n", q->capab, q->svc);
		else
			printf("ignored: SKU meter '%s' names no capability of service '%s' "
			       "(capability-ignored); decided on the service alone\n", q->meter, q->svc);
	}
	printf("entitlements: version %lld", (long long)a->vers);
	if (a->vers == 0)
		printf(", none published %s%s", a->until_ms ? "before " : "yet",
		       a->until_ms ? a->until_s : "");
	else
		printf(", in force from %s %s%s", a->from_s,
		       a->until_ms ? "to " : "until now (the latest)", a->until_ms ? a->until_s : "");
	if (!strcmp(a->chosen, "at"))
		printf("; the version in force at %s\n", a->when_s);
	else if (!strcmp(a->chosen, "version"))
		printf("; chosen by --version%s%s\n", a->in_force ? "" : ", not the version in force at ",
		       a->in_force ? "" : a->when_s);
	else
		printf("; the latest%s%s\n", a->in_force ? "" : ", not the version in force at ",
		       a->in_force ? "" : a->when_s);
}

int cmd_decide(int argc, char **argv)
{
	struct question q;
	int rc = parse_question(argc, argv, &q);
	if (rc >= 0)
		return rc;
	struct pb_ws *ws = NULL;
	struct pb_catalog *cat = NULL;
	struct pb_entitlements *e = NULL;
	struct pb_decider *d = NULL;
	struct pb_error err = { 0 };
	if ((rc = cli_open_ws(q.ws, PB_WS_READONLY, &ws)))
		return rc;
	rc = 1;
	char catdir[4200];
	snprintf(catdir, sizeof(catdir), "%s/catalog", cli_data_dir());
	/* which version: --version forces one; else the one in force at --at;
	 * else the latest */
	enum pb_status st = q.version ? pb_entitlements_load(ws, (int64_t)q.version, &e, &err)
	                    : q.at    ? pb_entitlements_load_at(ws, q.when, &e, &err)
	                              : pb_entitlements_load(ws, 0, &e, &err);
	struct answered a = { 0 };
	if (st || pb_entitlements_superseded_ms(ws, pb_entitlements_version(e), &a.until_ms, &err) ||
	    pb_catalog_load(catdir, &cat, &err) || pb_decider_new(e, cat, &d, &err)) {
		cli_fail(&err);
		goto out;
	}
	a.vers = pb_entitlements_version(e);
	a.from_ms = pb_entitlements_created_ms(e);
	a.chosen = q.version ? "version" : q.at ? "at" : "latest";
	/* in force at the request's time: published by the end of its second
	 * and not superseded by then (version 0 from always) */
	a.in_force = (a.vers == 0 || a.from_ms / 1000 <= q.when) &&
	             (a.until_ms == 0 || a.until_ms / 1000 > q.when);
	ms_text(a.from_ms, a.from_s);
	ms_text(a.until_ms, a.until_s);
	pb_time_format(q.when, a.when_s);
	struct pb_decide_request dq = {
		sv(q.acct), sv(q.sub), sv(q.svc), sv(q.region), sv(q.capab), sv(q.meter), q.when,
	};
	struct pb_decision r;
	pb_decide(d, &dq, &r);
	if (q.json) {
		rc = print_json(&r, &dq, &a);
	} else {
		print_text(&r, &q, &a);
		rc = 0;
	}
out:
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_catalog_free(cat);
	cli_ws_close(ws);
	return rc;
}
