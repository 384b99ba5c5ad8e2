/* cmd_customer.c - probity customer: define customers as sets of accounts. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char help_body[] =
	"\n"
	"A customer is a named set of billing accounts and sub-accounts, the unit a\n"
	"review is about. A billing account brings every sub-account under it. An\n"
	"account or sub-account belongs to one customer at most: a clash is refused and\n"
	"names the customer that owns it already (directly, or through its billing\n"
	"account or one of its sub-accounts, as the exports map them).\n"
	"\n"
	"  add      define NAME with one or more --account (billing account id) and\n"
	"           --subaccount (sub-account id) options; ids not yet seen in usage are\n"
	"           accepted and shown as not seen\n"
	"  list     every customer with its accounts, billed cost and period covered\n"
	"  show     one customer's accounts, with their names as stored\n"
	"  remove   forget a customer (its usage stays)\n"
	"\n"
	"options:\n"
	"  -a, --account ID      a billing account (repeatable)\n"
	"  -s, --subaccount ID   a sub-account (repeatable)\n"
	"      --as USER         the acting user, an analyst or admin (default: probity.conf's\n"
	"                        user); adding and removing are entries in the audit log\n"
	"      --json            machine-readable output (list, show)\n"
	"  -h, --help            show this help\n"
	"\n"
	"example:\n"
	"  probity customer add ws 'Varnia Interior Ministry' --account EA-880412\n";

static int customer_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "subaccount", required_argument, NULL, 's' },
		{ "as", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL;
	const char **acc = calloc((size_t)argc, sizeof(char *));
	const char **sub = calloc((size_t)argc, sizeof(char *));
	size_t na = 0, ns = 0;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, "a:s:", opts, &rc)) > 0) {
		if (c == 'a')
			acc[na++] = optarg;
		else if (c == 's')
			sub[ns++] = optarg;
		else
			as = optarg;
	}
	if (c < 0)
		goto out;
	if (argc - optind != 2) {
		rc = cli_usage(cli_cmd_name(), "expected a workspace and a customer name");
		goto out;
	}
	if (na + ns == 0) {
		rc = cli_usage(cli_cmd_name(), "needs at least one --account or --subaccount");
		goto out;
	}
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], 0, &ws)))
		goto out;
	struct pb_error err = { 0 };
	if (pb_customer_add(ws, as, argv[optind + 1], acc, na, sub, ns, &err) != PB_OK)
		rc = cli_fail(&err);
	else
		printf("added customer '%s' (%zu account%s, %zu sub-account%s)\n", argv[optind + 1], na,
		       na == 1 ? "" : "s", ns, ns == 1 ? "" : "s");
	cli_ws_close(ws);
out:
	free(acc);
	free(sub);
	return rc;
}

/* Parses the options of list, show (--json) and remove (--as) and checks
 * that nargs operands follow. Returns 0 to go on, else the exit code, -1
 * meaning 0 (help was printed). */
static int simple_args(int argc, char **argv, int nargs, bool *json, const char **as)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "as", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, json ? opts : opts + 1, &rc)) > 0) {
		if (c == 'J')
			*json = true;
		else
			*as = optarg;
	}
	if (c < 0)
		return rc ? rc : -1;
	if (argc - optind != nargs)
		return cli_usage(cli_cmd_name(), nargs == 1 ? "expected a workspace"
		                                            : "expected a workspace and a customer name");
	return 0;
}

static json_t *info_json(const struct pb_customer_info *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", cli_json_text(c->name));
	json_object_set_new(o, "created_at", cli_json_text(c->created_at));
	json_object_set_new(o, "billing_accounts", json_integer((json_int_t)c->naccounts));
	json_object_set_new(o, "subaccounts", json_integer((json_int_t)c->nsubaccounts));
	json_object_set_new(o, "billed_cost", cli_json_text(c->billed_cost));
	json_object_set_new(o, "currency", cli_json_text(c->currency));
	json_object_set_new(o, "first_day", cli_json_text(c->first_day));
	json_object_set_new(o, "last_day", cli_json_text(c->last_day));
	return o;
}

static enum pb_status fetch(struct pb_ws *ws, void **rows, size_t *n, struct pb_error *err)
{
	return pb_customer_list(ws, (struct pb_customer_info **)rows, n, err);
}

static json_t *list_json(const void *row)
{
	return info_json(row);
}

static void list_cells(const void *row, const char **c, char (*buf)[32])
{
	const struct pb_customer_info *v = row;
	snprintf(buf[0], sizeof(buf[0]), "%zu", v->naccounts);
	snprintf(buf[1], sizeof(buf[1]), "%zu", v->nsubaccounts);
	const char *cells[] = { v->name,     buf[0],      buf[1],     v->billed_cost,
		                v->currency, v->first_day, v->last_day };
	memcpy(c, cells, sizeof(cells));
}

static int customer_list(int argc, char **argv)
{
	static const char *const h[] = { "CUSTOMER", ">ACCOUNTS", ">SUB-ACCOUNTS", ">BILLED",
		                         "CUR",      "FROM",      "TO" };
	static const struct cli_list list = {
		fetch, sizeof(struct pb_customer_info), list_json, CLI_LEN(h), h, list_cells,
		"no customers yet; define one with 'probity customer add'",
	};
	bool json = false;
	int rc = simple_args(argc, argv, 1, &json, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	return cli_list_print(&list, argv[optind], json);
}

static int customer_show(int argc, char **argv)
{
	bool json = false;
	int rc = simple_args(argc, argv, 2, &json, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_customer_info info;
	struct pb_customer_account *v;
	size_t n;
	struct pb_error err = { 0 };
	if (pb_customer_show(ws, argv[optind + 1], &info, &v, &n, &err) != PB_OK) {
		cli_ws_close(ws);
		return cli_fail(&err);
	}
	if (json) {
		json_t *o = info_json(&info);
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *x = json_object();
			json_object_set_new(x, "kind", cli_json_text(v[i].kind));
			json_object_set_new(x, "account_id", cli_json_text(v[i].account_id));
			json_object_set_new(x, "name", cli_json_text(v[i].name));
			json_object_set_new(x, "seen_in_usage", json_boolean(v[i].seen));
			json_array_append_new(a, x);
		}
		json_object_set_new(o, "accounts", a);
		cli_json_print(o);
	} else {
		printf("customer '%s' (since %s)\n", info.name, info.created_at);
		if (info.first_day[0])
			printf("  usage %s to %s, billed %s %s\n", info.first_day, info.last_day,
			       info.billed_cost, info.currency);
		else
			printf("  no usage loaded for its accounts yet\n");
		static const char *const h[] = { "KIND", "ACCOUNT", "NAME", "SEEN" };
		struct cli_table t;
		cli_table_init(&t, 4, h);
		for (size_t i = 0; i < n; i++) {
			const char *cells[] = { v[i].kind, v[i].account_id, v[i].name,
				                v[i].seen ? "yes" : "not yet" };
			cli_table_add(&t, cells);
		}
		cli_table_print(&t, stdout);
		cli_table_release(&t);
	}
	free(v);
	cli_ws_close(ws);
	return 0;
}

static int customer_remove(int argc, char **argv)
{
	const char *as = NULL;
	int rc = simple_args(argc, argv, 2, NULL, &as);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], 0, &ws)))
		return rc;
	struct pb_error err = { 0 };
	if (pb_customer_remove(ws, as, argv[optind + 1], &err) != PB_OK)
		rc = cli_fail(&err);
	else
		printf("removed customer '%s'\n", argv[optind + 1]);
	cli_ws_close(ws);
	return rc;
}

static const struct cli_sub customer_subs[] = {
	{ "add", customer_add, "[--as USER] WS NAME (--account ID | --subaccount ID)..." },
	{ "list", customer_list, "[--json] WS" },
	{ "show", customer_show, "[--json] WS NAME" },
	{ "remove", customer_remove, "[--as USER] WS NAME" },
};

int cmd_customer(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "customer", .subs = customer_subs, .nsubs = CLI_LEN(customer_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
