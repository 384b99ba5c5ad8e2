/* commands.h - the list of probity commands: CMD(name, one-line help).
 * main.c turns it into the command table; each cli/cmd_<name>.c defines
 * `int cmd_<name>(int argc, char **argv)`. Keep it in alphabetical order. */
CMD(accounts, "list billing accounts and sub-accounts seen in the exports")
CMD(case, "open, document and close review cases")
CMD(customer, "define customers as sets of billing accounts and sub-accounts")
CMD(decide, "allow or deny one request, with the reason")
CMD(ingest, "load billing/usage exports (FOCUS CSV, gzip, zstd)")
CMD(init, "create a workspace")
CMD(log, "the tamper-evident audit log: checkpoints, proofs, export, offline verify")
CMD(notice, "the notice of an enforcement plan to its customer (text, markdown, html)")
CMD(plan, "enforcement plans: dry run, two approvers, apply, roll back")
CMD(serve, "serve decisions to API gateways (nginx, Envoy, OPA clients)")
CMD(sources, "list the usage exports loaded")
CMD(user, "add and manage the workspace's users and their roles")
CMD(version, "print the version")
