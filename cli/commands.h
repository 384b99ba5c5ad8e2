/* commands.h - the list of probity commands: CMD(name, one-line help).
 * main.c turns it into the command table; each cli/cmd_<name>.c defines
 * `int cmd_<name>(int argc, char **argv)`. Keep it in alphabetical order. */
CMD(export, "verify an export of search hits against its hashes and the archive")
CMD(init, "create a workspace")
CMD(mail, "ingest mail and chat archives; tag, show, list exceptions")
CMD(search, "search mail and chat inside a case; hit reports; export hits")
CMD(version, "print the version")
