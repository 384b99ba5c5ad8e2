/* cmd_web.c - probity web: the review team's web app (docs/web.md). */
#include "cli.h"
#include "../web/web.h"

#include <string.h>

static const char usage_text[] =
	"usage: probity web WS [--listen ADDR] [--tls-cert FILE --tls-key FILE] [options]\n"
	"\n"
	"Serves the web app of workspace WS: each person signs in with the password\n"
	"set through a one-time link ('probity user invite WS NAME'), sees what the\n"
	"role allows (cases, customers and their profiles, the log; users for an\n"
	"admin) and every action is an entry in the workspace's log, as on the\n"
	"command line. The command line may work on WS at the same time.\n"
	"SIGTERM or SIGINT stop it.\n"
	"\n"
	"options:\n"
	"  --listen ADDR          127.0.0.1:8443 (default), [::1]:8443, or unix:PATH\n"
	"  --idle-minutes N       a session unused this long ends (default 30)\n"
	"  --session-hours N      a session ends this long after sign-in (default 12)\n"
	"  --max-connections N    open connections at most (default 64)\n"
	"  --tls-cert FILE        serve HTTPS with this PEM certificate chain (OpenSSL);\n"
	"  --tls-key FILE         ... and its private key. Cookies are then Secure\n"
	"  --trusted-proxy ADDR   believe X-Forwarded-For (the client's address, for the\n"
	"                         sign-in throttle) and X-Forwarded-Proto: https (Secure\n"
	"                         cookies) from this peer only: 127.0.0.1, or unix\n"
	"  --policies DIR         the policies the scans page offers (default: the\n"
	"                         policies folder beside the data folder)\n"
	"  --quiet                no lines on stderr when starting and stopping\n"
	"  -h, --help             show this help\n"
	"\n"
	"example:\n"
	"  probity user invite review-2025 alice --as root\n"
	"  probity web review-2025 --listen 127.0.0.1:8443\n";

int cmd_web(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "idle-minutes", required_argument, NULL, 'i' },
		{ "session-hours", required_argument, NULL, 's' },
		{ "max-connections", required_argument, NULL, 'c' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "trusted-proxy", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "policies", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct web_options o = {
		.listen = "127.0.0.1:8443",
		.max_conns = 64,
		.idle_s = 30 * 60,
		.absolute_s = 12 * 3600,
		.timeout_s = 10,
	};
	unsigned long v;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.listen = optarg; break;
		case 'i':
			if (!cli_parse_uint("web", "--idle-minutes", optarg, 7 * 24 * 60, &v) || !v)
				return v ? 2 : cli_usage("web", "--idle-minutes must be at least 1");
			o.idle_s = (int64_t)v * 60;
			break;
		case 's':
			if (!cli_parse_uint("web", "--session-hours", optarg, 30 * 24, &v) || !v)
				return v ? 2 : cli_usage("web", "--session-hours must be at least 1");
			o.absolute_s = (int64_t)v * 3600;
			break;
		case 'c':
			if (!cli_parse_uint("web", "--max-connections", optarg, 4096, &v) || !v)
				return v ? 2 : cli_usage("web", "--max-connections must be at least 1");
			o.max_conns = (unsigned)v;
			break;
		case 'C': o.tls_cert = optarg; break;
		case 'K': o.tls_key = optarg; break;
		case 'P': o.trusted_proxy = optarg; break;
		case 'q': o.quiet = true; break;
		case 'p': o.policies_dir = optarg; break;
		case 'h': return cli_help(usage_text);
		default: return cli_usage("web", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("web", "expected one workspace folder");
	if (!o.tls_cert != !o.tls_key)
		return cli_usage("web", "--tls-cert and --tls-key go together");
	o.ws_path = argv[optind];
	struct pb_error err = { 0 };
	/* scans need the catalog; without it the app runs and the scans page
	 * says why it cannot */
	char catdir[4096], pol[4096];
	struct pb_catalog *cat = NULL;
	snprintf(catdir, sizeof(catdir), "%s/catalog", cli_data_dir());
	if (pb_catalog_load(catdir, &cat, NULL))
		cat = NULL;
	o.cat = cat;
	if (!o.policies_dir) {
		snprintf(pol, sizeof(pol), "%s/../policies", cli_data_dir());
		o.policies_dir = pol;
	}
	int rc = web_run(&o, &err) ? cli_fail(&err) : 0;
	pb_catalog_free(cat);
	return rc;
}
