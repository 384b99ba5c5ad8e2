/* cmd_accounts.c - probity accounts: billing accounts and sub-accounts seen. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: probity accounts [--json] WS\n"
	"\n"
	"Lists the billing accounts and sub-accounts found in the usage exports of WS:\n"
	"their ids, names (keyed pseudonyms 'ps:...' unless the workspace keeps names),\n"
	"provider, the days they appear, their billed cost summed exactly over every\n"
	"source, and the customer they belong to.\n"
	"\n"
	"options:\n"
	"  --json       an array of objects with every field\n"
	"  -h, --help   show this help\n";

static enum pb_status fetch(struct pb_ws *ws, void **rows, size_t *n, struct pb_error *err)
{
	return pb_usage_accounts(ws, (struct pb_account_info **)rows, n, err);
}

static json_t *account_json(const void *row)
{
	const struct pb_account_info *x = row;
	json_t *o = json_object();
	json_object_set_new(o, "kind", cli_json_text(x->kind));
	json_object_set_new(o, "account_id", cli_json_text(x->account_id));
	if (x->billing_account_id[0])
		json_object_set_new(o, "billing_account_id", cli_json_text(x->billing_account_id));
	json_object_set_new(o, "name", cli_json_text(x->name));
	json_object_set_new(o, "provider", cli_json_text(x->provider));
	json_object_set_new(o, "first_day", cli_json_text(x->first_day));
	json_object_set_new(o, "last_day", cli_json_text(x->last_day));
	json_object_set_new(o, "billed_cost", cli_json_text(x->billed_cost));
	json_object_set_new(o, "currency", cli_json_text(x->currency));
	json_object_set_new(o, "rows", json_integer((json_int_t)x->rows));
	json_object_set_new(o, "customer", x->customer[0] ? cli_json_text(x->customer) : json_null());
	return o;
}

static void account_cells(const void *row, const char **c, char (*buf)[32])
{
	const struct pb_account_info *x = row;
	(void)buf;
	const char *cells[] = { x->kind,      x->account_id, x->billing_account_id, x->name,
		                x->provider,  x->first_day,  x->last_day,           x->billed_cost,
		                x->currency,  x->customer };
	memcpy(c, cells, sizeof(cells));
}

int cmd_accounts(int argc, char **argv)
{
	static const char *const h[] = { "KIND", "ACCOUNT", "BILLING ACCOUNT", "NAME", "PROVIDER",
		                         "FROM",  "TO",      ">BILLED",         "CUR",  "CUSTOMER" };
	static const struct cli_list list = {
		fetch, sizeof(struct pb_account_info), account_json, CLI_LEN(h), h, account_cells,
		"no accounts yet; load usage with 'probity ingest %s FILE'",
	};
	bool json;
	int rc = cli_basic_opts(argc, argv, "accounts", usage_text, &json);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc - optind != 1)
		return cli_usage("accounts", "expected one workspace");
	return cli_list_print(&list, argv[optind], json);
}
