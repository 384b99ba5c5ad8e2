/* reload.c - decision tables: loading one, choosing the first, and the reloader.
 *
 * The reloader thread polls the workspace for a new entitlements version,
 * compiles it beside the table in service and swaps a pointer. Reload never
 * blocks a request: workers read the current table pointer once per request
 * and never lock. An old table is freed only after every worker has passed
 * the top of its loop since the swap (a quiescent-state scheme: each worker
 * bumps its qs counter there, and holds no table across it). Workers wake at
 * least every TICK_MS, so a grace period is that long at most.
 */
#include "server.h"

#include <stdlib.h>

void table_free(struct table *t)
{
	if (!t)
		return;
	if (t->rule_hdr) {
		for (size_t i = 0; i < pb_entitlements_count(t->ents); i++)
			free(atomic_load_explicit(&t->rule_hdr[i], memory_order_relaxed));
		free(t->rule_hdr);
	}
	pb_decider_free(t->dec);
	pb_entitlements_free(t->ents);
	free(t);
}

/* A version that does not verify (PB_EVERIFY from the loader: no verified
 * log entry names it, or its rules are not what was logged) is refused:
 * counted apart in /metrics as well as a reload failure. */
static void count_refusal(struct server *s, const struct pb_error *e)
{
	inc(&s->reload_failures, 1);
	if (e->code == PB_EVERIFY)
		inc(&s->refused_versions, 1);
}

static enum pb_status table_load(struct server *s, struct pb_ws *ws, int64_t version,
                                 struct table **out, struct pb_error *err)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return serve_fail(err, PB_ENOMEM, "out of memory");
	enum pb_status st = pb_entitlements_load(ws, version, &t->ents, err);
	if (!st)
		st = pb_decider_new(t->ents, s->cat, &t->dec, err);
	if (st) {
		table_free(t);
		return st;
	}
	t->version = pb_entitlements_version(t->ents);
	t->version_hdr_len = (size_t)snprintf(t->version_hdr, sizeof(t->version_hdr),
	                                      "X-Probity-Version: %lld\r\n", (long long)t->version);
	size_t n = pb_entitlements_count(t->ents);
	t->rule_hdr = calloc(n ? n : 1, sizeof(*t->rule_hdr));
	if (!t->rule_hdr) {
		table_free(t);
		return serve_fail(err, PB_ENOMEM, "out of memory");
	}
	*out = t;
	return PB_OK;
}

/* The table to start with: the newest version that verifies. A newer one
 * that fails its check is named on stderr and counted as a reload failure,
 * and the last good one serves, as a failed reload would leave it (the
 * reloader keeps retrying the newest). When none verifies, the newest one's
 * error. */
enum pb_status table_first(struct server *s, struct pb_ws *ws, struct table **out,
                           struct pb_error *err)
{
	int64_t latest;
	enum pb_status st = pb_entitlements_latest(ws, &latest, err);
	if (st || latest <= 0)
		return st ? st : table_load(s, ws, 0, out, err);
	struct pb_error newest = { 0 };
	for (int64_t v = latest; v > 0; v--) {
		struct pb_error e = { 0 };
		if (!(st = table_load(s, ws, v, out, &e))) {
			if (v != latest)
				serve_logf("serving entitlements version %lld, the newest that verifies",
				           (long long)v);
			return PB_OK;
		}
		if (st == PB_ENOENT && v != latest)
			continue; /* a gap in the numbering */
		if (st != PB_EVERIFY) {
			if (err)
				*err = e;
			return st;
		}
		if (v == latest)
			newest = e;
		serve_logf("%s: not served%s", e.message, v > 1 ? ", trying the version before it" : "");
		count_refusal(s, &e);
	}
	if (err)
		*err = newest;
	return PB_EVERIFY;
}

struct retired {
	struct table *t;
	uint64_t *snap;
	struct retired *next;
};

static bool grace_passed(struct server *s, const struct retired *r)
{
	for (unsigned i = 0; i < s->nw; i++)
		if (atomic_load(&s->w[i].qs) == r->snap[i])
			return false;
	return true;
}

void *reloader_main(void *arg)
{
	struct server *s = arg;
	struct pb_ws *ws = NULL;
	struct retired *retired = NULL;
	struct pb_error err = { 0 };
	int64_t failed_version = -1;
	double failed_at = 0;
	while (!atomic_load(&s->stop)) {
		pthread_mutex_lock(&s->rl_mu);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		uint64_t ns = (uint64_t)dl.tv_nsec + (uint64_t)s->o->reload_ms * 1000000ull;
		dl.tv_sec += (time_t)(ns / 1000000000ull);
		dl.tv_nsec = (long)(ns % 1000000000ull);
		if (!atomic_load(&s->stop))
			pthread_cond_timedwait(&s->rl_cv, &s->rl_mu, &dl);
		pthread_mutex_unlock(&s->rl_mu);
		/* free what every worker has let go of */
		for (struct retired **pp = &retired; *pp;) {
			struct retired *r = *pp;
			if (grace_passed(s, r)) {
				*pp = r->next;
				table_free(r->t);
				free(r->snap);
				free(r);
			} else {
				pp = &r->next;
			}
		}
		if (atomic_load(&s->stop))
			break;
		if (!ws && server_ws_open(s->o, &ws, &err)) {
			ws = NULL;
			if (failed_version != -2 || mono() - failed_at > 5) {
				serve_logf("reload failed: %s", err.message);
				inc(&s->reload_failures, 1);
				failed_version = -2;
				failed_at = mono();
			}
			continue;
		}
		int64_t latest;
		if (pb_entitlements_latest(ws, &latest, &err)) {
			serve_logf("reload failed: %s", err.message);
			inc(&s->reload_failures, 1);
			pb_ws_close(ws);
			ws = NULL;
			continue;
		}
		if (latest == atomic_load(&s->version))
			continue;
		if (latest == failed_version && mono() - failed_at < 5)
			continue;
		double t0 = mono();
		struct table *t = NULL;
		if (table_load(s, ws, latest, &t, &err)) {
			serve_logf("reload of entitlements version %lld failed, still serving version %lld: %s",
			           (long long)latest, (long long)atomic_load(&s->version), err.message);
			count_refusal(s, &err);
			failed_version = latest;
			failed_at = mono();
			continue;
		}
		struct table *old = atomic_exchange(&s->cur, t);
		atomic_store(&s->version, t->version);
		atomic_store(&s->loaded_at, (int64_t)time(NULL));
		inc(&s->reloads, 1);
		if (!s->o->quiet)
			serve_logf("serving entitlements version %lld (%zu rules), compiled in %.1f ms",
			           (long long)t->version, pb_entitlements_count(t->ents), (mono() - t0) * 1e3);
		struct retired *r = calloc(1, sizeof(*r));
		uint64_t *snap = calloc(s->nw, sizeof(uint64_t));
		if (!r || !snap) { /* cannot track it: leak rather than free too early */
			free(r);
			free(snap);
			continue;
		}
		for (unsigned i = 0; i < s->nw; i++)
			snap[i] = atomic_load(&s->w[i].qs);
		r->t = old;
		r->snap = snap;
		r->next = retired;
		retired = r;
	}
	/* workers have stopped (main joins them before us) */
	while (retired) {
		struct retired *r = retired;
		retired = r->next;
		table_free(r->t);
		free(r->snap);
		free(r);
	}
	pb_ws_close(ws);
	return NULL;
}
