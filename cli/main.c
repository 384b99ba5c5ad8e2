/* main.c - the probity command: finds the subcommand in the table and runs it.
 *
 * Adding a command takes:
 *  1. cli/cmd_<name>.c with `int cmd_<name>(int argc, char **argv)`, which
 *     calls cli_command(name, usage) and reads its options with cli_getopt()
 *     (--help prints the usage; a bad option is a usage error naming it).
 *     A command with subcommands (log, case, plan, ...) is instead a table:
 *     one function per subcommand, each reading only its own options with
 *     cli_getopt() (which adds --help, printing that subcommand's usage, and
 *     refuses any other option by name); a `struct cli_sub` table {name,
 *     function, usage line}; a `struct cli_cmd` with the help text; and
 *     cmd_<name> is `return cli_dispatch(&cmd, argc, argv);` (cli.h shows
 *     the whole shape; cli/cmd_user.c is a small example). A new subcommand
 *     of an existing command is one function and one table line;
 *  2. a line CMD(name, help) in cli/commands.h (the table below is built from it);
 *  3. its page in docs/ (or a section of the page of its area), and a line
 *     in README.md's tour when it is part of the everyday flow;
 *  4. end-to-end cases in tests/e2e/cases/; for each subcommand, its --help
 *     and a refused foreign option in tests/e2e/cases/cli-subcommands.case.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	cli_handler *handler;
	const char *help;
};

static const struct command commands[] = {
#define CMD(name, help) { #name, cmd_##name, help },
#include "commands.h"
#undef CMD
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: probity <command> [<args>]\n"
	        "\n"
	        "probity reviews how a customer uses a provider's cloud from the provider's own\n"
	        "records, keeps the case on a tamper-evident log, and enforces precise cut-offs.\n"
	        "\n"
	        "commands:\n");
	for (size_t i = 0; i < CLI_LEN(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'probity <command> --help' shows a command's options; docs/ has the guide.\n");
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("probity %s (schema %d)\n", PB_VERSION, pb_schema_version_current());
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		if (argc > 2 && strcmp(name, "help") == 0) {
			for (size_t i = 0; i < CLI_LEN(commands); i++)
				if (!strcmp(commands[i].name, argv[2])) {
					char *hargv[] = { argv[2], (char *)"--help", NULL };
					return commands[i].handler(2, hargv);
				}
		}
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "--version"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < CLI_LEN(commands); i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].handler(argc - 1, argv + 1);
	fprintf(stderr, "probity: '%s' is not a probity command; see 'probity --help'\n", name);
	return 2;
}
