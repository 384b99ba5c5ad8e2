/* commands.h - the list of probity commands: CMD(name, one-line help).
 * main.c turns it into the command table; each cli/cmd_<name>.c defines
 * `int cmd_<name>(int argc, char **argv)`. Keep it in alphabetical order. */
CMD(case, "open, document and close review cases")
CMD(init, "create a workspace")
CMD(log, "the tamper-evident audit log: checkpoints, proofs, export, offline verify")
CMD(user, "add and manage the workspace's users and their roles")
CMD(version, "print the version")
