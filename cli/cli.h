/* cli.h - what the command handlers share: the handler type, error and usage
 * printing, output tables, workspace opening, progress on a terminal. */
#ifndef PB_CLI_H
#define PB_CLI_H

#include "probity.h"

#include <getopt.h>
#include <stdio.h>

/* Every command: argv[0] is the command name; returns the exit code
 * (0 ok, 1 failed, 2 usage). */
typedef int cli_handler(int argc, char **argv);
#define CMD(name, help) int cmd_##name(int argc, char **argv);
#include "commands.h"
#undef CMD

/* Prints "probity: <formatted error>" to stderr; returns 1. */
int cli_fail(const struct pb_error *err);
/* Prints "probity: <message>" to stderr; returns 1. */
int cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "probity <cmd>: <message>" and a hint to run --help; returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints text (the command's usage) to stdout; returns 0. */
int cli_help(const char *text);

/* Opens a workspace or prints why not. Returns 0 or an exit code. */
int cli_open_ws(const char *path, unsigned flags, struct pb_ws **ws);

/* The folder of data files (catalogs): $PROBITY_DATA, else beside the binary
 * (../share/probity/data when installed, the source tree's data/ when built). */
const char *cli_data_dir(void);

/* Parses the options of a command that has only --json, --help and, when
 * as is not NULL, --as USER. Returns 0 to go on (optind at the operands), -1
 * when the usage was printed (exit 0), or an exit code (2) on a bad option. */
int cli_basic_opts(int argc, char **argv, const char *cmd, const char *usage_text, bool *json,
                   const char **as);

/* The acting user: as, else the workspace's default user; prints why not
 * and returns NULL when there is none. The name lives until the next call. */
const char *cli_actor(struct pb_ws *ws, const char *as);

/* Writes s to f as a JSON string, quoted and escaped; NULL writes "". */
void cli_json_str(FILE *f, const char *s);

/* Resets getopt for a (sub)command's own option parsing. */
void cli_getopt_reset(void);

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

/* Progress on stderr when it is a terminal: returns a pb_progress_fn context
 * to pass to the library, or NULL when stderr is not a terminal. */
struct cli_progress;
struct cli_progress *cli_progress_new(const char *label);
bool cli_progress_cb(void *ctx, const struct pb_progress *p);
void cli_progress_done(struct cli_progress *p);

/* Human-readable byte count ("1.2 GB") into buf. */
const char *cli_bytes(uint64_t n, char *buf, size_t cap);

#endif
