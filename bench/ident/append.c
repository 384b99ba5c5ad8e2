/* append.c - what signing costs one write, inside the process: N case notes
 * (one log entry each, in its own transaction) in a signed workspace,
 * signed through the ssh-agent at $SSH_AUTH_SOCK, and N in an unsigned one,
 * interleaved; prints the median and p99 ms of each. Run by append.sh.
 *
 *   append SIGNED_WS UNSIGNED_WS N
 * Both workspaces hold case 1 and the analyst "bench". */
#include "probity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int n = atoi(argv[3]);
	struct pb_ws *ws[2];
	struct pb_error err = { 0 };
	for (int w = 0; w < 2; w++)
		if (pb_ws_open(argv[1 + w], 0, &ws[w], &err)) {
			fprintf(stderr, "%s\n", err.message);
			return 1;
		}
	struct pb_sign_opts o = { .agent_socket = getenv("SSH_AUTH_SOCK") };
	if (pb_ws_set_signing(ws[0], &o, &err)) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	double *t[2] = { calloc((size_t)n, sizeof(double)), calloc((size_t)n, sizeof(double)) };
	char text[64];
	for (int i = 0; i < n; i++)
		for (int w = 0; w < 2; w++) {
			snprintf(text, sizeof(text), "note %d", i);
			double a = now_ms();
			if (pb_case_note(ws[w], "bench", 1, text, strlen(text), NULL, &err)) {
				fprintf(stderr, "%s\n", err.message);
				return 1;
			}
			t[w][i] = now_ms() - a;
		}
	for (int w = 0; w < 2; w++) {
		qsort(t[w], (size_t)n, sizeof(double), cmp);
		printf("%s %.3f %.3f\n", w ? "unsigned" : "signed", t[w][n / 2], t[w][n * 99 / 100]);
		pb_ws_close(ws[w]);
		free(t[w]);
	}
	return 0;
}
