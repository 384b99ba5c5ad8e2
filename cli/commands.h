/* commands.h - the list of probity commands: CMD(name, one-line help).
 * main.c turns it into the command table; each cli/cmd_<name>.c defines
 * `int cmd_<name>(int argc, char **argv)`. Keep it in alphabetical order. */
CMD(detect, "find level shifts and spikes in a series, and their drivers")
CMD(init, "create a workspace")
CMD(version, "print the version")
