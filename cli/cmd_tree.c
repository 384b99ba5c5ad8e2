/* cmd_tree.c - probity tree: the tree hash of files, without a workspace. */
#include "cli.h"

#include <string.h>

static const char usage_text[] =
	"usage: probity tree [--chunk N] FILE...\n"
	"\n"
	"Prints the tree hash of each FILE as 'probity ingest' registers it: the RFC 6962\n"
	"Merkle tree hash (SHA-256) over the file's bytes cut into chunks of N bytes,\n"
	"written mth-sha256:N:<root> (docs/ingest.md defines it). For a gzip or zstd\n"
	"file a second line gives the tree of its decompressed bytes, which line\n"
	"proofs ('probity evidence prove') refer to. Nothing else is read or written.\n"
	"\n"
	"options:\n"
	"      --chunk N   bytes a leaf (default 1048576; 64 to 16777216)\n"
	"  -h, --help      show this help\n"
	"\n"
	"example:\n"
	"  probity tree usage.csv.gz\n";

int cmd_tree(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chunk", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long chunk = 0;
	int c, rc = 0;
	cli_command("tree", usage_text);
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		if (!cli_parse_uint("tree", "--chunk", optarg, 16ul << 20, &chunk) || chunk < 64)
			return cli_usage("tree", "--chunk must be from 64 to 16777216");
	if (c < 0)
		return rc;
	if (argc - optind < 1)
		return cli_usage("tree", "expected at least one file");
	for (int i = optind; i < argc; i++) {
		char id[PB_TREE_ID_LEN], data[PB_TREE_ID_LEN];
		struct pb_error err = { 0 };
		if (pb_tree_file(argv[i], chunk, id, data, &err) != PB_OK) {
			rc = cli_fail(&err);
			continue;
		}
		printf("%s  %s\n", id, argv[i]);
		if (strcmp(id, data) != 0)
			printf("%s  %s (decompressed)\n", data, argv[i]);
	}
	return rc;
}
