/* commands.h - the list of probity commands: CMD(name, one-line help).
 * main.c turns it into the command table; each cli/cmd_<name>.c defines
 * `int cmd_<name>(int argc, char **argv)`. Keep it in alphabetical order. */
CMD(accounts, "list billing accounts and sub-accounts seen in the exports")
CMD(case, "open, document and close review cases")
CMD(customer, "define customers as sets of billing accounts and sub-accounts")
CMD(decide, "allow or deny one request, with the reason")
CMD(detect, "find level shifts and spikes in a series, and their drivers")
CMD(evidence, "verify a finding's figures against the sources it cites")
CMD(ingest, "load billing/usage exports (FOCUS CSV, gzip, zstd)")
CMD(init, "create a workspace")
CMD(log, "the tamper-evident audit log: checkpoints, proofs, export, offline verify")
CMD(policy, "check policy files; compile them to SQL for other engines")
CMD(profile, "what a customer consumes, where, how much, and how it changed")
CMD(scan, "evaluate a policy over the usage: findings with their evidence")
CMD(serve, "serve decisions to API gateways (nginx, Envoy, OPA clients)")
CMD(sources, "list the usage exports loaded")
CMD(user, "add and manage the workspace's users and their roles")
CMD(version, "print the version")
