/* cmd_serve.c - probity serve: the decision service for API gateways. */
#include "cli.h"
#include "../server/serve.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: probity serve WS [--listen ADDR] [--workers N] [--decision-log FILE]\n"
	"                     [--log-allows SHARE] [options]\n"
	"\n"
	"Serves allow/deny decisions from the entitlements of workspace WS, held in\n"
	"memory, to API gateways. A newly published version (a plan applied or rolled\n"
	"back) is in force within --reload-ms without a restart or a dropped request;\n"
	"a version that cannot be loaded leaves the last good one serving (logged, and\n"
	"counted in /metrics). An effective time that passes is in force at once.\n"
	"SIGTERM or SIGINT stop accepting, finish requests in flight, and exit 0.\n"
	"\n"
	"endpoints (docs/gateways.md has ready gateway configurations):\n"
	"  GET  /v1/decide?account=&subaccount=&service=&region=[&capability=&sku_meter=]\n"
	"       200 with the decision as JSON (allow or deny), 400 when inputs are missing\n"
	"  POST /v1/data/probity/allow  {\"input\": {...}} -> {\"result\": true|false,\n"
	"       \"decision_id\": ...} (OPA's data API); /v1/data/probity/decision gives the\n"
	"       whole decision as the result\n"
	"  GET  /v1/authz         nginx auth_request: inputs from request headers; 204\n"
	"       allow, 403 deny with X-Probity-Case, X-Probity-Plan, X-Probity-Reason\n"
	"  ANY  /v1/envoy/...     Envoy ext_authz HTTP service: 200 allow, 403 deny with\n"
	"       the decision as a JSON body\n"
	"  GET  /healthz, /readyz (503 while draining), /metrics (Prometheus text)\n"
	"\n"
	"guarding it: with --token-file, every request but /healthz and /readyz must\n"
	"carry 'Authorization: Bearer TOKEN' (401 otherwise); a Unix socket is reached\n"
	"by whoever its mode lets; an address other than loopback is refused unless\n"
	"one of them is used, or --insecure-listen is given.\n"
	"\n"
	"options:\n"
	"  --listen ADDR          127.0.0.1:8181 (default), [::1]:8181, or unix:PATH\n"
	"  --socket PATH          the same as --listen unix:PATH\n"
	"  --socket-mode MODE     Unix sockets' mode in octal, e.g. 0660 for a gateway in\n"
	"                         the socket's group (default 0600), whatever the umask\n"
	"  --token-file FILE      the bearer token (one line, 16 to 256 characters of\n"
	"                         A-Z a-z 0-9 -._~+/=) in a file others cannot read\n"
	"  --metrics-listen ADDR  serve /metrics on its own listener (HOST:PORT or\n"
	"                         unix:PATH); the main listener then answers it 404\n"
	"  --insecure-listen      allow an address other than loopback without a token\n"
	"  --vkey KEY             pin the log's public key (default: PROBITY_VKEY)\n"
	"  --workers N            event-loop threads (default: the number of CPUs)\n"
	"  --header-account H     request header naming the billing account\n"
	"                         (default X-Probity-Account); likewise --header-subaccount\n"
	"                         (X-Probity-Subaccount), --header-service\n"
	"                         (X-Probity-Service), --header-region (X-Probity-Region),\n"
	"                         --header-capability (X-Probity-Capability),\n"
	"                         --header-sku-meter (X-Probity-Sku-Meter)\n"
	"  --decision-log FILE    write every deny and a sample of allows as JSON lines\n"
	"  --log-allows SHARE     share of allows logged, 0 to 1 (default 0.01)\n"
	"  --log-max-mb N         rotate the decision log past N MB (default 64)\n"
	"  --log-keep N           rotated logs kept, FILE.1 .. FILE.N (default 5)\n"
	"  --reload-ms N          poll the workspace for a new version every N ms (default 200)\n"
	"  --idle-timeout S       close keep-alive connections idle S seconds (default 60)\n"
	"  --request-timeout S    close connections whose request is not complete after\n"
	"                         S seconds (slow clients; default 10)\n"
	"  --max-connections N    open connections at most (default 20000); past it the\n"
	"                         longest-idle connection is closed\n"
	"  --drain S              seconds to finish requests in flight on SIGTERM (default 5)\n"
	"  --quiet                no line on stderr for each reload\n"
	"  -h, --help             show this help\n"
	"\n"
	"example:\n"
	"  probity serve review-2025 --listen 127.0.0.1:8181 --decision-log decisions.jsonl\n"
	"  curl '127.0.0.1:8181/v1/decide?account=7f3a-imod&service=Storage%20Accounts&region=westeurope'\n";

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "header-account", required_argument, NULL, 'A' },
		{ "header-subaccount", required_argument, NULL, 'U' },
		{ "header-service", required_argument, NULL, 'S' },
		{ "header-region", required_argument, NULL, 'R' },
		{ "header-capability", required_argument, NULL, 'C' },
		{ "header-sku-meter", required_argument, NULL, 'M' },
		{ "decision-log", required_argument, NULL, 'd' },
		{ "log-allows", required_argument, NULL, 'a' },
		{ "log-max-mb", required_argument, NULL, 'x' },
		{ "log-keep", required_argument, NULL, 'k' },
		{ "reload-ms", required_argument, NULL, 'r' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "request-timeout", required_argument, NULL, 't' },
		{ "max-connections", required_argument, NULL, 'c' },
		{ "drain", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "socket", required_argument, NULL, 'o' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "metrics-listen", required_argument, NULL, 'P' },
		{ "insecure-listen", no_argument, NULL, 'I' },
		{ "vkey", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct serve_options o = {
		.listen = "127.0.0.1:8181",
		.vkey = getenv("PROBITY_VKEY"),
		.header = { "X-Probity-Account", "X-Probity-Subaccount", "X-Probity-Service",
		            "X-Probity-Region", "X-Probity-Capability", "X-Probity-Sku-Meter" },
		.log_allow_sample = 0.01,
		.log_max_bytes = 64ull << 20,
		.log_keep = 5,
		.reload_ms = 200,
		.idle_timeout_s = 60,
		.request_timeout_s = 10,
		.max_conns = 20000,
		.drain_s = 5,
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o.workers = ncpu > 0 ? (unsigned)ncpu : 1;
	unsigned long v;
	char *end;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.listen = optarg; break;
		case 'w':
			if (!cli_parse_uint("serve", "--workers", optarg, 256, &v) || v == 0)
				return v == 0 ? cli_usage("serve", "--workers must be at least 1") : 2;
			o.workers = (unsigned)v;
			break;
		case 'A': o.header[0] = optarg; break;
		case 'U': o.header[1] = optarg; break;
		case 'S': o.header[2] = optarg; break;
		case 'R': o.header[3] = optarg; break;
		case 'C': o.header[4] = optarg; break;
		case 'M': o.header[5] = optarg; break;
		case 'd': o.log_path = optarg; break;
		case 'a':
			o.log_allow_sample = strtod(optarg, &end);
			if (*end || end == optarg || !(o.log_allow_sample >= 0 && o.log_allow_sample <= 1))
				return cli_usage("serve", "--log-allows expects a share from 0 to 1, not '%s'", optarg);
			break;
		case 'x':
			if (!cli_parse_uint("serve", "--log-max-mb", optarg, 1u << 20, &v))
				return 2;
			o.log_max_bytes = (uint64_t)v << 20;
			break;
		case 'k':
			if (!cli_parse_uint("serve", "--log-keep", optarg, 1000, &v))
				return 2;
			o.log_keep = (unsigned)v;
			break;
		case 'r':
			if (!cli_parse_uint("serve", "--reload-ms", optarg, 60000, &v) || v < 10)
				return v < 10 ? cli_usage("serve", "--reload-ms must be at least 10") : 2;
			o.reload_ms = (unsigned)v;
			break;
		case 'i':
			if (!cli_parse_uint("serve", "--idle-timeout", optarg, 86400, &v))
				return 2;
			o.idle_timeout_s = (unsigned)v;
			break;
		case 't':
			if (!cli_parse_uint("serve", "--request-timeout", optarg, 3600, &v) || v == 0)
				return v == 0 ? cli_usage("serve", "--request-timeout must be at least 1") : 2;
			o.request_timeout_s = (unsigned)v;
			break;
		case 'c':
			if (!cli_parse_uint("serve", "--max-connections", optarg, 10000000, &v) || v == 0)
				return v == 0 ? cli_usage("serve", "--max-connections must be at least 1") : 2;
			o.max_conns = (unsigned)v;
			break;
		case 'D':
			if (!cli_parse_uint("serve", "--drain", optarg, 3600, &v))
				return 2;
			o.drain_s = (unsigned)v;
			break;
		case 'q': o.quiet = true; break;
		case 'o':
			if (optarg[0] != '/')
				return cli_usage("serve", "--socket expects an absolute path, not '%s'", optarg);
			o.listen = optarg;
			break;
		case 'm':
			v = strtoul(optarg, &end, 8);
			if (*end || end == optarg || v == 0 || v > 0777)
				return cli_usage("serve", "--socket-mode expects an octal mode such as 0660, not '%s'",
				                 optarg);
			o.socket_mode = (unsigned)v;
			break;
		case 'T': o.token_file = optarg; break;
		case 'V': o.vkey = optarg; break;
		case 'P': o.metrics_listen = optarg; break;
		case 'I': o.insecure_listen = true; break;
		case 'h': return cli_help(usage_text);
		default: return cli_usage("serve", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("serve", "expected one workspace folder");
	for (int i = 0; i < SERVE_IN_COUNT; i++)
		for (const char *p = o.header[i]; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
				return cli_usage("serve", "header name '%s' is not a token", o.header[i]);
	o.ws_path = argv[optind];
	static char catdir[4200];
	snprintf(catdir, sizeof(catdir), "%s/catalog", cli_data_dir());
	o.catalog_dir = catdir;
	struct pb_error err = { 0 };
	if (serve_run(&o, &err))
		return cli_fail(&err);
	return 0;
}
