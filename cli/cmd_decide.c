/* cmd_decide.c - probity decide: allow or deny one request, with the reason. */
#include "cli.h"
#include "util.h" /* pb__time_parse */

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
	"usage: probity decide WS --account A [--subaccount S] --service NAME --region R\n"
	"                      [--capability C] [--sku-meter M] [--at TIME] [--version N]\n"
	"                      [--json]\n"
	"\n"
	"Answers whether billing account A may use service NAME in region R, from the\n"
	"entitlements in force in workspace WS (the latest version unless --version),\n"
	"and says why: the plan, case, selector and entitlements version that decided.\n"
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
	"  --at TIME          decide at this ISO 8601 time (default: now); rules'\n"
	"                     effective windows are evaluated at TIME\n"
	"  --version N        use entitlements version N instead of the latest\n"
	"  --json             print the decision as one JSON object\n"
	"  -h, --help         show this help\n"
	"\n"
	"example:\n"
	"  probity decide review-2025 --account 7f3a-imod --service 'Storage Accounts' \\\n"
	"      --region westeurope\n";

static struct pb_str sv(const char *s)
{
	struct pb_str v = { s, s ? strlen(s) : 0 };
	return v;
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
	if (at && !pb__time_parse(at, strlen(at), &when, NULL))
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
	if (pb_catalog_load(catdir, &cat, &err) || pb_entitlements_load(ws, (int64_t)version, &e, &err) ||
	    pb_decider_new(e, cat, &d, &err)) {
		cli_fail(&err);
		goto out;
	}
	struct pb_decide_request q = {
		sv(acct), sv(sub), sv(svc), sv(region),
		sv(capab), sv(meter), when,
	};
	struct pb_decision r;
	pb_decide(d, &q, &r);
	if (json) {
		char buf[8192];
		if (!pb_decision_json(&r, &q, NULL, buf, sizeof(buf))) {
			cli_failf("decision too large to print");
			goto out;
		}
		printf("%s\n", buf);
	} else {
		char fl[160], sel[512];
		printf("%s\n", r.allow ? "allow" : "deny");
		switch (r.why) {
		case PB_WHY_NO_RULES:
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
		printf("entitlements: version %lld\n", (long long)r.version);
	}
	rc = 0;
out:
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_catalog_free(cat);
	pb_ws_close(ws);
	return rc;
}
