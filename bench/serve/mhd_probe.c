/* mhd_probe.c - the measurement behind server/: how fast libmicrohttpd (Debian
 * 0.9.75) answers an empty 204, with N threads, for comparison with nginx
 * `return 204` at the same worker count. Built and run by bench/serve/mhd.sh. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **state)
{
	(void)cls; (void)url; (void)method; (void)version; (void)data; (void)size;
	static int marker;
	if (*state == NULL) { /* first call: headers only */
		*state = &marker;
		return MHD_YES;
	}
	struct MHD_Response *r;
	enum MHD_Result ret;
	if (strcmp(url, "/v1/decide") == 0) {
		/* the shape of a real answer: four inputs, a JSON body, three headers */
		const char *a = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "account");
		const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "service");
		const char *g = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "region");
		const char *u = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Probity-Subaccount");
		char body[512];
		int n = snprintf(body, sizeof(body),
		                 "{\"decision_id\":\"%016x\",\"result\":\"allow\",\"input\":{\"account\":\"%s\",\"service\":\"%s\",\"region\":\"%s\",\"subaccount\":\"%s\"}}\n",
		                 (unsigned)(size_t)c, a ? a : "", s ? s : "", g ? g : "", u ? u : "");
		r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
		MHD_add_response_header(r, "Content-Type", "application/json");
		MHD_add_response_header(r, "X-Probity-Decision-Id", "0123456789abcdef");
		ret = MHD_queue_response(c, 200, r);
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, 204, r);
	}
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8282;
	unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO, (uint16_t)port,
		NULL, NULL, answer, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "cannot start libmicrohttpd on port %d\n", port);
		return 1;
	}
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int sig;
	sigwait(&s, &sig);
	MHD_stop_daemon(d);
	return 0;
}
