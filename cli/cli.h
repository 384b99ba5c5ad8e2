/* cli.h - what the command handlers share: the handler type, error and usage
 * printing, output tables, workspace opening, progress on a terminal. */
#ifndef PB_CLI_H
#define PB_CLI_H

#include "probity.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

/* The number of elements of an array. */
#define CLI_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every command: argv[0] is the command name; returns the exit code
 * (0 ok, 1 failed, 2 usage). */
typedef int cli_handler(int argc, char **argv);
#define CMD(name, help) int cmd_##name(int argc, char **argv);
#include "commands.h"
#undef CMD

/* Prints "probity: <formatted error>" to stderr; returns 1. PB_ESTATEMENT
 * (--statement) is no error: prints the statement kept by cli_ws_close and
 * returns 0. */
int cli_fail(const struct pb_error *err);
/* The command-line word for an argument the library names in a pb_error's
 * field ("actor" -> "--as USER", "max_record" -> "--max-record") into out. */
void cli_field_flag(const char *field, char *out, size_t cap);
/* Prints "probity: <message>" to stderr; returns 1. */
int cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Opens path for writing, created or truncated, mode 0600 whatever the
 * umask; NULL with errno on failure. */
FILE *cli_open_private(const char *path);
/* Writes text to path through cli_open_private; returns 1 after printing
 * the error. */
int cli_write_text(const char *path, const char *text);
/* Reads a file ("-": standard input) of at most cap bytes, NUL-terminated
 * (cmd_log.c); prints the error and returns NULL on failure. */
char *cli_slurp(const char *path, size_t cap, size_t *len);
/* --vkey: a key string, or a file holding one (first line), into k (cmd_log.c);
 * returns 1 after printing the error. */
int cli_load_vkey(const char *arg, struct pb_vkey *k);
/* --key LINE or --key-file FILE.pub (its first line): an OpenSSH public
 * key line, heap; NULL after printing why (both given, unreadable file)
 * (cmd_user.c). */
char *cli_key_line(const char *line, const char *file);
/* probity user passkey (cmd_passkey.c): origin, add, revoke, list. */
int cli_user_passkey(int argc, char **argv);
/* Prints "probity <cmd>: <message>" and a hint to run --help; returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints text (the command's usage) to stdout; returns 0. */
int cli_help(const char *text);

/* Opens a workspace or prints why not. Returns 0 or an exit code. */
int cli_open_ws(const char *path, unsigned flags, struct pb_ws **ws);

/* Closes ws (NULL: nothing), keeping the statement a --statement run
 * stopped for (PB_ESTATEMENT), which cli_fail then prints. Commands close
 * workspaces with this, never pb_ws_close. */
void cli_ws_close(struct pb_ws *ws);

/* Closes ws (NULL: nothing) and gives the exit code of st: 0, or 1 after
 * printing err (PB_ESTATEMENT: 0 after printing the statement). The common
 * end of a command's work. */
int cli_close(struct pb_ws *ws, enum pb_status st, const struct pb_error *err);

/* Opens a workspace to change it and finds the acting user (as, else the
 * workspace's default) into actor; prints why not. Returns 0 or an exit code
 * (then *ws is closed and NULL). */
int cli_open_ws_as(const char *path, const char *as, struct pb_ws **ws,
                   char actor[PB_USER_NAME_MAX + 1]);

/* The folder of data files (catalogs): $PROBITY_DATA, else beside the binary
 * (../share/probity/data when installed, the source tree's data/ when built). */
const char *cli_data_dir(void);

/* Parses the options of a command that has only --json and --help. Returns
 * 0 to go on (optind at the operands), -1 when the usage was printed (exit
 * 0), or an exit code (2) on a bad option. */
int cli_basic_opts(int argc, char **argv, const char *cmd, const char *usage_text, bool *json);

/* ---- --json output ---------------------------------------------------------
 * Every command's --json output is a jansson value printed by cli_json_print:
 * indented by two spaces, keys in the order they were set (the order the
 * docs list them), reals with 10 significant digits. JSON text the library
 * builds (plan show, mail show, evidence verify, scan) is printed as it is. */

/* Prints v and a newline to stdout and releases v. Returns 0, or 1 (after
 * saying why) when v is NULL (out of memory) or cannot be written. */
int cli_json_print(json_t *v);

/* A JSON string of text that may not be valid UTF-8 (mail headers, file
 * names): each byte of an invalid sequence becomes U+FFFD, as pb_json_escape
 * does. NULL gives "". */
json_t *cli_json_text(const char *s);

/* Resets getopt, for a command that runs getopt_long itself (cli_getopt's
 * callers need not: cli_dispatch and cli_command reset it). */
void cli_getopt_reset(void);

/* ---- subcommands ----------------------------------------------------------
 * A command with subcommands (log, case, plan, ...) is a table of them and
 * one function each that parses only its own options:
 *
 *   static int log_show(int argc, char **argv)      argv[0] is "show"
 *   {
 *       static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, ... };
 *       int c, rc = 0;
 *       while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
 *           ...;
 *       if (c < 0)
 *           return rc;                               --help, or a bad option
 *       ... the operands are argv[optind..argc) ...
 *   }
 *   static const struct cli_sub log_subs[] = { { "show", log_show, "WS [--json]" }, ... };
 *   int cmd_log(int argc, char **argv)
 *   {
 *       static const struct cli_cmd cmd = { .name = "log", .subs = log_subs,
 *                                           .nsubs = CLI_LEN(log_subs), .body = help_body };
 *       return cli_dispatch(&cmd, argc, argv);
 *   }
 *
 * cli_getopt() refuses, by name, any option that is not the subcommand's and
 * answers --help with the subcommand's own usage line and the command's
 * help. */
struct cli_sub {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
	/* its usage after "probity CMD NAME ": operands and options; further lines
	 * start with "\n" and the indentation of the first ("usage: " is 7 wide) */
	const char *usage;
};
struct cli_cmd {
	const char *name;
	const struct cli_sub *subs;
	size_t nsubs;
	/* the first lines of the command's --help; NULL: "usage: probity CMD SUB
	 * USAGE" for every subcommand, from the table */
	const char *usage;
	/* the rest of the --help text (what the command is, its subcommands,
	 * options, examples); every subcommand's --help ends with it too */
	const char *body;
	const char *more; /* NULL, or more of it (a C literal has at most 4095 bytes) */
};

/* Runs the subcommand argv[1] of cmd (argv[0] is the command's name): --help,
 * -h and "help" print the command's help; no or an unknown subcommand is a
 * usage error naming the valid ones. Returns the exit code. */
int cli_dispatch(const struct cli_cmd *cmd, int argc, char **argv);

/* getopt_long over the running subcommand's own options, with --help/-h
 * added; shorts lists its short options beyond -h in getopt's form ("a:s:",
 * or NULL). Returns the option's val (never 0: give every option a nonzero
 * val), 0 after the last option (optind at the operands), or -1 when the
 * subcommand must stop now with *rc as its exit code: 0 after printing its
 * help, 2 after an unknown option or a missing argument (named, with the
 * hint to run --help). */
int cli_getopt(int argc, char **argv, const char *shorts, const struct option *opts, int *rc);

/* For a command without subcommands that reads its options with
 * cli_getopt(): names it in messages and gives the text --help prints. */
void cli_command(const char *name, const char *help);

/* "CMD SUB" of the running subcommand (or the command), for cli_usage(). */
const char *cli_cmd_name(void);

/* Parses a non-negative integer option; returns false (and prints) on error. */
int cli_parse_uint(const char *cmd, const char *opt, const char *s, unsigned long max,
                   unsigned long *out);

/* An aligned text table. Cells are copied. Columns whose header starts with
 * '>' are right-aligned (the '>' is not printed). */
struct cli_table {
	size_t ncols;
	size_t nrows;
	char **cells; /* nrows+1 rows of ncols cells, headers first */
	size_t cap;
};
void cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers);
void cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(const struct cli_table *t, FILE *f);
void cli_table_release(struct cli_table *t);

/* A list command (accounts, sources, customer list): one workspace opened
 * read-only, its rows fetched, printed as a table or (--json) as an array of
 * objects, released. */
#define CLI_LIST_BUFS 8
struct cli_list {
	/* fetches the rows: *n elements of size bytes each, released with free() */
	enum pb_status (*fetch)(struct pb_ws *ws, void **rows, size_t *n, struct pb_error *err);
	size_t size;
	json_t *(*json)(const void *row);
	size_t ncols;
	const char *const *headers; /* the table's (see cli_table_init) */
	/* fills the table cells of row; buf is room for cells that are made up */
	void (*cells)(const void *row, const char **cells, char (*buf)[32]);
	const char *empty; /* said instead of an empty table; %s is the workspace */
};
/* Prints the list of the workspace at path. Returns the exit code. */
int cli_list_print(const struct cli_list *l, const char *path, bool json);

/* Progress on stderr when it is a terminal: returns a pb_progress_fn context
 * to pass to the library, or NULL when stderr is not a terminal. */
struct cli_progress;
struct cli_progress *cli_progress_new(const char *label);
bool cli_progress_cb(void *ctx, const struct pb_progress *p);
void cli_progress_done(struct cli_progress *p);

/* Human-readable byte count ("1.2 GB") into buf. */
const char *cli_bytes(uint64_t n, char *buf, size_t cap);

#endif
