/* metrics.c - /metrics: the workers' counters as Prometheus text.
 *
 * Each worker counts into its own struct counters (relaxed atomics only it
 * writes); an answer sums them, so counting takes no lock.
 */
#include "server.h"

static const double bucket_le[NBUCKETS] = { 1e-6,   2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5,
	                                    1e-4,   2.5e-4, 5e-4, 1e-3, 1e-2,   1e-1 };

void metrics_observe(struct worker *w, uint64_t ns)
{
	int b = 0;
	double secs = (double)ns * 1e-9;
	while (b < NBUCKETS && secs > bucket_le[b])
		b++;
	inc(&w->c.hist[b], 1);
	inc(&w->c.hist_sum_ns, ns);
}

void metrics_answer(struct worker *w, struct conn *c, bool head_only)
{
	struct server *s = w->s;
	struct counters sum;
	memset(&sum, 0, sizeof(sum));
	uint64_t open_conns = 0;
	for (unsigned i = 0; i < s->nw; i++) {
		struct counters *k = &s->w[i].c;
#define ADD(f) atomic_store_explicit(&sum.f, atomic_load_explicit(&sum.f, memory_order_relaxed) + atomic_load_explicit(&k->f, memory_order_relaxed), memory_order_relaxed)
		ADD(allow);
		ADD(deny);
		ADD(bad_request);
		ADD(ambiguous);
		ADD(not_found);
		ADD(bad_method);
		ADD(other_error);
		ADD(hist_sum_ns);
		ADD(requests);
		ADD(accepted);
		ADD(closed_timeout);
		ADD(refused);
		ADD(unauthorized);
		for (int b = 0; b <= NBUCKETS; b++)
			ADD(hist[b]);
#undef ADD
		open_conns += s->w[i].nconns;
	}
	struct pb_buf b;
	pb_buf_init(&b, 1 << 20);
	pb_buf_printf(&b,
	               "# HELP probity_decisions_total Decisions answered, by result.\n"
	               "# TYPE probity_decisions_total counter\n"
	               "probity_decisions_total{result=\"allow\"} %llu\n"
	               "probity_decisions_total{result=\"deny\"} %llu\n",
	               (unsigned long long)sum.allow, (unsigned long long)sum.deny);
	pb_buf_printf(&b,
	               "# HELP probity_decision_duration_seconds Time from a parsed request to its "
	               "composed answer.\n# TYPE probity_decision_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (int i = 0; i < NBUCKETS; i++) {
		cum += sum.hist[i];
		pb_buf_printf(&b, "probity_decision_duration_seconds_bucket{le=\"%g\"} %llu\n",
		               bucket_le[i], (unsigned long long)cum);
	}
	cum += sum.hist[NBUCKETS];
	pb_buf_printf(&b,
	               "probity_decision_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	               "probity_decision_duration_seconds_sum %.9f\n"
	               "probity_decision_duration_seconds_count %llu\n",
	               (unsigned long long)cum, (double)sum.hist_sum_ns * 1e-9,
	               (unsigned long long)cum);
	pb_buf_printf(&b,
	               "# HELP probity_entitlements_version Entitlements version in service.\n"
	               "# TYPE probity_entitlements_version gauge\n"
	               "probity_entitlements_version %lld\n"
	               "# HELP probity_entitlements_loaded_timestamp_seconds When it was loaded.\n"
	               "# TYPE probity_entitlements_loaded_timestamp_seconds gauge\n"
	               "probity_entitlements_loaded_timestamp_seconds %lld\n"
	               "# HELP probity_reloads_total Entitlement versions loaded after start.\n"
	               "# TYPE probity_reloads_total counter\n"
	               "probity_reloads_total %llu\n"
	               "# HELP probity_reload_failures_total Versions that could not be loaded "
	               "(the last good one kept serving).\n"
	               "# TYPE probity_reload_failures_total counter\n"
	               "probity_reload_failures_total %llu\n"
	               "# HELP probity_entitlements_refused_total Versions refused because they do "
	               "not verify: no verified plan.apply or plan.rollback log entry names them, "
	               "or their rules do not match their hash.\n"
	               "# TYPE probity_entitlements_refused_total counter\n"
	               "probity_entitlements_refused_total %llu\n",
	               (long long)atomic_load(&s->version), (long long)atomic_load(&s->loaded_at),
	               (unsigned long long)atomic_load(&s->reloads),
	               (unsigned long long)atomic_load(&s->reload_failures),
	               (unsigned long long)atomic_load(&s->refused_versions));
	pb_buf_printf(&b,
	               "# HELP probity_http_requests_total HTTP requests answered.\n"
	               "# TYPE probity_http_requests_total counter\n"
	               "probity_http_requests_total %llu\n"
	               "# HELP probity_http_errors_total Requests refused, by kind.\n"
	               "# TYPE probity_http_errors_total counter\n"
	               "probity_http_errors_total{kind=\"bad-request\"} %llu\n"
	               "probity_http_errors_total{kind=\"ambiguous\"} %llu\n"
	               "probity_http_errors_total{kind=\"not-found\"} %llu\n"
	               "probity_http_errors_total{kind=\"method-not-allowed\"} %llu\n"
	               "probity_http_errors_total{kind=\"server\"} %llu\n"
	               "# HELP probity_connections Open client connections.\n"
	               "# TYPE probity_connections gauge\n"
	               "probity_connections %llu\n"
	               "# HELP probity_connections_accepted_total Connections accepted.\n"
	               "# TYPE probity_connections_accepted_total counter\n"
	               "probity_connections_accepted_total %llu\n"
	               "# HELP probity_connections_closed_total Connections closed by the server, by why.\n"
	               "# TYPE probity_connections_closed_total counter\n"
	               "probity_connections_closed_total{why=\"timeout\"} %llu\n"
	               "probity_connections_closed_total{why=\"limit\"} %llu\n",
	               (unsigned long long)sum.requests, (unsigned long long)sum.bad_request,
	               (unsigned long long)sum.ambiguous,
	               (unsigned long long)sum.not_found, (unsigned long long)sum.bad_method,
	               (unsigned long long)sum.other_error,
	               (unsigned long long)open_conns, (unsigned long long)sum.accepted,
	               (unsigned long long)sum.closed_timeout, (unsigned long long)sum.refused);
	pb_buf_printf(&b,
	               "# HELP probity_http_unauthorized_total Requests refused with 401 (no or a "
	               "wrong bearer token).\n"
	               "# TYPE probity_http_unauthorized_total counter\n"
	               "probity_http_unauthorized_total %llu\n",
	               (unsigned long long)sum.unauthorized);
	respond(w, c, 200, "text/plain; version=0.0.4", NULL, b.data ? b.data : "", b.len, head_only);
	pb_buf_release(&b);
}
