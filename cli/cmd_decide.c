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

int cmd_decide(int argc, char **argv)
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
	const char *acct = NULL, *sub = NULL, *svc = NULL, *region = NULL, *capab = NULL,
	           *meter = NULL, *at = NULL;
	unsigned long version = 0;
	bool json = false;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': acct = optarg; break;
		case 'u': sub = optarg; break;
		case 's': svc = optarg; break;
		case 'r': region = optarg; break;
		case 'c': capab = optarg; break;
		case 'm': meter = optarg; break;
		case 't': at = optarg; break;
		case 'v':
			if (!cli_parse_uint("decide", "--version", optarg, 1000000000UL, &version))
				return 2;
			break;
		case 'j': json = true; break;
		case 'h': return cli_help(usage_text);
		default: return cli_usage("decide", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("decide", "expected one workspace folder");
	if (!acct || !*acct)
		return cli_usage("decide", "--account is required");
	if (!svc || !*svc)
		return cli_usage("decide", "--service is required");
	if (!region || !*region)
		return cli_usage("decide", "--region is required");
	int64_t when = (int64_t)time(NULL);
	if (at && !pb_time_parse(at, strlen(at), &when, NULL))
		return cli_usage("decide", "--at expects an ISO 8601 time like 2025-09-25T12:00:00Z, not '%s'", at);

	struct pb_ws *ws = NULL;
	struct pb_catalog *cat = NULL;
	struct pb_entitlements *e = NULL;
	struct pb_decider *d = NULL;
	struct pb_error err = { 0 };
	int rc = 1;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	rc = 1;
	char catdir[4200];
	snprintf(catdir, sizeof(catdir), "%s/catalog", cli_data_dir());
	/* which version: --version forces one; else the one in force at --at;
	 * else the latest */
	enum pb_status st = version ? pb_entitlements_load(ws, (int64_t)version, &e, &err)
	                    : at   ? pb_entitlements_load_at(ws, when, &e, &err)
	                           : pb_entitlements_load(ws, 0, &e, &err);
	int64_t until_ms = 0;
	if (st || pb_entitlements_superseded_ms(ws, pb_entitlements_version(e), &until_ms, &err) ||
	    pb_catalog_load(catdir, &cat, &err) || pb_decider_new(e, cat, &d, &err)) {
		cli_fail(&err);
		goto out;
	}
	int64_t vers = pb_entitlements_version(e), from_ms = pb_entitlements_created_ms(e);
	const char *chosen = version ? "version" : at ? "at" : "latest";
	/* in force at the request's time: published by the end of its second
	 * and not superseded by then (version 0 from always) */
	bool in_force = (vers == 0 || from_ms / 1000 <= when) && (until_ms == 0 || until_ms / 1000 > when);
	char from_s[40], until_s[40], when_s[32];
	ms_text(from_ms, from_s);
	ms_text(until_ms, until_s);
	pb_time_format(when, when_s);
	struct pb_decide_request q = {
		sv(acct), sv(sub), sv(svc), sv(region),
		sv(capab), sv(meter), when,
	};
	struct pb_decision r;
	pb_decide(d, &q, &r);
	if (json) {
		char buf[8192];
		size_t n = pb_decision_json(&r, &q, NULL, buf, sizeof(buf));
		/* the server's object, plus which version answered and why */
		char ent[320];
		int m = snprintf(ent, sizeof(ent),
		                 ",\"entitlements\":{\"version\":%lld,\"chosen_by\":\"%s\","
		                 "\"in_force_from\":%s%s%s,\"in_force_until\":%s%s%s,\"in_force_at\":%s}}",
		                 (long long)vers, chosen, vers ? "\"" : "", vers ? from_s : "null",
		                 vers ? "\"" : "", until_ms ? "\"" : "", until_ms ? until_s : "null",
		                 until_ms ? "\"" : "", in_force ? "true" : "false");
		if (!n || buf[n - 1] != '}' || m < 0 || (size_t)m >= sizeof(ent) ||
		    n - 1 + (size_t)m >= sizeof(buf)) {
			cli_failf("decision too large to print");
			goto out;
		}
		memcpy(buf + n - 1, ent, (size_t)m + 1);
		printf("%s\n", buf);
	} else {
		char fl[160], sel[512];
		printf("%s\n", r.allow ? "allow" : "deny");
		switch (r.why) {
		case PB_WHY_NO_RULES:
			if (vers == 0 && at && until_ms)
				printf("reason: no entitlements were in force at %s (the first version was "
				       "published at %s)\n", when_s, until_s);
			else if (vers == 0 && at)
				printf("reason: no entitlements were in force at %s (none has been "
				       "published)\n", when_s);
			else
				printf("reason: no rule in force names account '%s'\n", acct);
			break;
		case PB_WHY_NO_MATCH:
			printf("reason: no rule in force for account '%s' applies to this request\n", acct);
			break;
		case PB_WHY_KEPT:
		case PB_WHY_DISABLED:
			pb_rule_selector(r.rule, false, sel, sizeof(sel));
			printf("reason: %s by plan %s (case %s), rule %zu: %s %s\n",
			       r.why == PB_WHY_KEPT ? "kept" : "disabled", r.rule->plan, r.rule->case_ref,
			       r.rule_index + 1, r.rule->effect == PB_EFFECT_KEEP ? "keep" : "disable", sel);
			break;
		}
		/* capability-ignored is not an unknown the rules treat as anything:
		 * the named capability is dropped and the service alone decides */
		pb_decide_flags(r.flags & ~(unsigned)PB_DECIDE_CAP_IGNORED, ", ", fl, sizeof(fl));
		if (fl[0])
			printf("unknown: %s (treated as could be anything)\n", fl);
		if (r.flags & PB_DECIDE_CAP_IGNORED) {
			if (capab && *capab)
				printf("ignored: capability '%s' is not offered by service '%s' "
				       "(capability-ignored); decided on the service alone\n", capab, svc);
			else
				printf("ignored: SKU meter '%s' names no capability of service '%s' "
				       "(capability-ignored); decided on the service alone\n", meter, svc);
		}
		printf("entitlements: version %lld", (long long)vers);
		if (vers == 0)
			printf(", none published %s%s", until_ms ? "before " : "yet",
			       until_ms ? until_s : "");
		else
			printf(", in force from %s %s%s", from_s, until_ms ? "to " : "until now (the latest)",
			       until_ms ? until_s : "");
		if (!strcmp(chosen, "at"))
			printf("; the version in force at %s\n", when_s);
		else if (!strcmp(chosen, "version"))
			printf("; chosen by --version%s%s\n", in_force ? "" : ", not the version in force at ",
			       in_force ? "" : when_s);
		else
			printf("; the latest%s%s\n", in_force ? "" : ", not the version in force at ",
			       in_force ? "" : when_s);
	}
	rc = 0;
out:
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_catalog_free(cat);
	pb_ws_close(ws);
	return rc;
}
