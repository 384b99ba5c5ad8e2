/* ngx_http_probity_module.c - probity's decisions inside nginx: each request
 * is answered from libprobity's compiled decision table in the worker that
 * holds it, with no hop to `probity serve`.
 *
 * Tables. The master loads the newest entitlements version that verifies
 * while it reads the configuration (so `nginx -t` says whether one loads)
 * and the workers inherit it through fork: until the first change, the
 * machine holds one copy. Each worker then runs one reloader thread that
 * polls the workspace (pb_entitlements_latest, one SQLite read) every
 * probity_reload_interval, compiles a new version beside the table in
 * service and hands it over through an atomic pointer; the worker takes it
 * at its next decision (or at its next timer tick, when idle). A version that
 * fails to load is logged and the last good one keeps serving. Tables are
 * reference-counted by the worker thread alone (the table in service, and
 * each request that decided on it, so the rule's texts stay valid for the
 * headers and the access log); one no longer used goes back to the reloader,
 * which frees it off the request path. Only the public API of
 * include/probity.h is used.
 *
 * One copy per machine (probity_table). A table built by the library lives
 * in its own heap, so after a change each worker would hold its own copy.
 * With probity_table the table is a compiled entitlements file (pb_etab_*):
 * the master writes it at start, the first worker (ngx_worker 0) on each new
 * version, renamed over the old; every worker maps it read-only, so the page
 * cache holds the one copy. The other workers' reloaders stat the file and
 * map it when it changed, after its own checks and the log's word
 * (pb_etab_verify); a bad or older file is refused and the first worker
 * writes its version again. probity_vkey pins the log's key for every open
 * of the workspace.
 *
 * Requests. The decision is taken once per request, the first time it is
 * needed: by the precontent-phase handler (after access checks such as
 * auth_request, so their variables can name the account) in a location with
 * `probity enforce` or `probity dry-run`, or by the first $probity_*
 * variable read anywhere. It is kept in a pool cleanup so that it survives
 * internal redirects (error_page to a named location reads the same
 * decision).
 *
 * Module-level state is per process (nginx workers are processes and each
 * decides on its own thread); only `pending`, `retired` and the stop flag are
 * shared with the reloader thread.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <probity.h>

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

enum { MODE_OFF = 1, MODE_ENFORCE, MODE_DRY_RUN };
enum { IN_ACCOUNT, IN_SUBACCOUNT, IN_SERVICE, IN_REGION, IN_CAPABILITY, IN_SKU_METER, IN_COUNT };

static const char *const in_names[IN_COUNT] = { "account", "subaccount", "service",
	                                        "region", "capability", "sku_meter" };
/* by default the inputs are read from the headers probity serve reads */
static const char *const in_defaults[IN_COUNT] = {
	"$http_x_probity_account", "$http_x_probity_subaccount", "$http_x_probity_service",
	"$http_x_probity_region", "$http_x_probity_capability", "$http_x_probity_sku_meter"
};

struct table {
	struct pb_entitlements *ents; /* NULL for a mapped file */
	struct pb_etab *etab;         /* the compiled file mapped, or NULL */
	struct pb_decider *dec;       /* the etab's when mapped */
	int64_t version;
	size_t count;                 /* rules */
	ngx_uint_t refs;    /* worker thread only */
	struct table *next; /* on the retired list */
	u_char version_text[24];
	size_t version_len;
};

typedef struct {
	ngx_str_t workspace; /* NUL-terminated; empty when not set */
	ngx_str_t table;     /* the compiled entitlements file; empty: a table per worker */
	ngx_str_t vkey;      /* the log key pinned; empty: the workspace's own */
	ngx_str_t data;      /* probity's data folder (its catalog/) */
	ngx_msec_t reload;
	ngx_uint_t fail;     /* MODE_ENFORCE: closed, MODE_OFF: open */
	ngx_flag_t timing;
	ngx_flag_t decides; /* some `probity enforce` or `dry-run` in this configuration */
	struct pb_catalog *cat;
	struct table *initial; /* loaded by the master; the worker takes it */
	struct stat initial_sb; /* the file it maps, when probity_table is set */
} ngx_http_probity_main_conf_t;

typedef struct {
	ngx_uint_t mode;
	ngx_http_complex_value_t *in[IN_COUNT];
	/* the index of the variable an input is, when it is one alone ("$x"):
	 * read as it is, without the complex value's two passes and copy;
	 * NGX_ERROR otherwise */
	ngx_int_t var[IN_COUNT];
	/* the request header an input is, when it is "$http_<name>" and no
	 * variable of that exact name exists: <name> as the variable spells it
	 * (lower case, '_' for '-'); all of them are found in one walk of the
	 * request's headers instead of one walk each. Empty otherwise. */
	ngx_str_t hdr[IN_COUNT];
	ngx_flag_t any_hdr;
	ngx_uint_t deny_status;
	ngx_flag_t deny_headers;
} ngx_http_probity_loc_conf_t;

typedef struct {
	struct table *t; /* NULL: no table could be loaded */
	struct pb_decide_request q;
	struct pb_decision d;
	const char *bad; /* the input that could not be decided on, or NULL */
	ngx_flag_t bad_long; /* ... because it is too long (else: missing) */
	ngx_uint_t fail_open;
	ngx_flag_t acted; /* the precontent handler answered this request */
} ngx_http_probity_ctx_t;

static ngx_int_t ngx_http_probity_preconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_probity_postconf(ngx_conf_t *cf);
static void *ngx_http_probity_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_probity_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_probity_create_loc_conf(ngx_conf_t *cf);
/* <name> when the variable of index var is nginx's $http_<name> (no
 * variable of that exact name is defined: $http_host, a map or a set would
 * be), else empty. Asked while merging, when every variable is declared. */
static ngx_str_t header_of(ngx_conf_t *cf, ngx_int_t var)
{
	ngx_str_t none = { 0, NULL };
	ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
	if (var == NGX_ERROR || !cmcf->variables_keys)
		return none;
	ngx_http_variable_t *all = cmcf->variables.elts;
	ngx_str_t name = all[var].name;
	size_t pre = sizeof("http_") - 1;
	if (name.len <= pre || ngx_strncmp(name.data, "http_", pre) != 0)
		return none;
	ngx_hash_key_t *key = cmcf->variables_keys->keys.elts;
	for (ngx_uint_t i = 0; i < cmcf->variables_keys->keys.nelts; i++)
		if (key[i].key.len == name.len && ngx_strncasecmp(key[i].key.data, name.data, name.len) == 0)
			return none;
	return (ngx_str_t){ name.len - pre, name.data + pre };
}

static char *ngx_http_probity_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static char *ngx_http_probity_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_probity_input(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_probity_fail(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_probity_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_probity_init_process(ngx_cycle_t *cycle);
static void ngx_http_probity_exit_process(ngx_cycle_t *cycle);

static ngx_command_t ngx_http_probity_commands[] = {
	{ ngx_string("probity"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
	  ngx_http_probity_mode, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
	{ ngx_string("probity_workspace"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
	  NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_probity_main_conf_t, workspace), NULL },
	{ ngx_string("probity_table"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
	  NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_probity_main_conf_t, table), NULL },
	{ ngx_string("probity_vkey"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
	  NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_probity_main_conf_t, vkey), NULL },
	{ ngx_string("probity_data"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
	  NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_probity_main_conf_t, data), NULL },
	{ ngx_string("probity_reload_interval"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
	  ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET,
	  offsetof(ngx_http_probity_main_conf_t, reload), NULL },
	{ ngx_string("probity_fail"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_http_probity_fail,
	  NGX_HTTP_MAIN_CONF_OFFSET, 0, NULL },
	{ ngx_string("probity_timing"), NGX_HTTP_MAIN_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot,
	  NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_probity_main_conf_t, timing), NULL },
#define INPUT(name, k)                                                                            \
	{ ngx_string(name), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, \
	  ngx_http_probity_input, NGX_HTTP_LOC_CONF_OFFSET, k, NULL }
	INPUT("probity_account", IN_ACCOUNT),
	INPUT("probity_subaccount", IN_SUBACCOUNT),
	INPUT("probity_service", IN_SERVICE),
	INPUT("probity_region", IN_REGION),
	INPUT("probity_capability", IN_CAPABILITY),
	INPUT("probity_sku_meter", IN_SKU_METER),
#undef INPUT
	{ ngx_string("probity_deny_status"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
	  ngx_http_probity_status, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
	{ ngx_string("probity_deny_headers"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
	  ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET,
	  offsetof(ngx_http_probity_loc_conf_t, deny_headers), NULL },
	ngx_null_command
};

static ngx_http_module_t ngx_http_probity_module_ctx = {
	ngx_http_probity_preconf, ngx_http_probity_postconf,
	ngx_http_probity_create_main_conf, ngx_http_probity_init_main_conf,
	NULL, NULL,
	ngx_http_probity_create_loc_conf, ngx_http_probity_merge_loc_conf,
};

ngx_module_t ngx_http_probity_module = {
	NGX_MODULE_V1,
	&ngx_http_probity_module_ctx,
	ngx_http_probity_commands,
	NGX_HTTP_MODULE,
	NULL, NULL,
	ngx_http_probity_init_process,
	NULL, NULL,
	ngx_http_probity_exit_process,
	NULL,
	NGX_MODULE_V1_PADDING
};

/* ---- tables ------------------------------------------------------------ */

static void table_free(struct table *t)
{
	if (!t)
		return;
	if (t->etab)
		pb_etab_free(t->etab);
	else
		pb_decider_free(t->dec);
	pb_entitlements_free(t->ents);
	free(t);
}

static enum pb_status oom(struct pb_error *err)
{
	err->code = PB_ENOMEM;
	ngx_cpystrn((u_char *)err->message, (u_char *)"out of memory", sizeof(err->message));
	return PB_ENOMEM;
}

static void table_named(struct table *t)
{
	t->version_len = (size_t)(ngx_snprintf(t->version_text, sizeof(t->version_text), "%L",
	                                       (int64_t)t->version) - t->version_text);
}

/* The compiled file at path mapped, checked, and vouched for by ws's log. */
static enum pb_status table_map(struct pb_ws *ws, const char *path, const struct pb_catalog *cat,
                                struct table **out, struct pb_error *err)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return oom(err);
	enum pb_status st = pb_etab_open(path, cat, &t->etab, err);
	if (!st)
		st = pb_etab_verify(t->etab, ws, err);
	if (st) {
		table_free(t);
		return st;
	}
	t->dec = (struct pb_decider *)pb_etab_decider(t->etab);
	t->version = pb_etab_version(t->etab);
	t->count = pb_etab_count(t->etab);
	table_named(t);
	*out = t;
	return PB_OK;
}

/* Version `version` of ws (0: the latest) compiled in this process; with
 * file set (probity_table), written into that file and served from its
 * mapping instead, unless the file holds that version already. */
static enum pb_status table_load(struct pb_ws *ws, int64_t version, const struct pb_catalog *cat,
                                 const char *file, struct table **out, struct pb_error *err)
{
	enum pb_status st;
	if (file) {
		struct pb_error e2 = { 0 };
		int64_t want = version;
		if (!want && (st = pb_entitlements_latest(ws, &want, err)))
			return st;
		if (!table_map(ws, file, cat, out, &e2)) {
			if ((*out)->version == want)
				return PB_OK;
			table_free(*out);
			*out = NULL;
		}
	}
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return oom(err);
	st = pb_entitlements_load(ws, version, &t->ents, err);
	if (!st)
		st = pb_decider_new(t->ents, cat, &t->dec, err);
	if (!st && file)
		st = pb_etab_write(t->dec, file, 0644, err);
	if (st || file) {
		table_free(t);
#ifdef __GLIBC__
		/* the compile's heap goes back to the system: freed, it would stay
		 * in this thread's malloc arena, a private copy after all */
		if (file)
			malloc_trim(0);
#endif
		return st ? st : table_map(ws, file, cat, out, err);
	}
	t->version = pb_entitlements_version(t->ents);
	t->count = pb_entitlements_count(t->ents);
	table_named(t);
	*out = t;
	return PB_OK;
}

/* The newest version that verifies, as probity serve starts: a newer one
 * that fails its check is named in the log and skipped. When none verifies,
 * the newest one's error. */
static enum pb_status table_newest_good(struct pb_ws *ws, const struct pb_catalog *cat,
                                        const char *file, ngx_log_t *log, struct table **out,
                                        struct pb_error *err)
{
	int64_t latest;
	enum pb_status st = pb_entitlements_latest(ws, &latest, err);
	if (st || latest <= 0)
		return st ? st : table_load(ws, 0, cat, file, out, err);
	struct pb_error newest = { 0 };
	for (int64_t v = latest; v > 0; v--) {
		struct pb_error e = { 0 };
		if (!(st = table_load(ws, v, cat, file, out, &e))) {
			if (v != latest)
				ngx_log_error(NGX_LOG_WARN, log, 0,
				              "probity: serving entitlements version %L, the newest that verifies",
				              (int64_t)v);
			return PB_OK;
		}
		if (st == PB_ENOENT && v != latest)
			continue; /* a gap in the numbering */
		if (st != PB_EVERIFY) {
			*err = e;
			return st;
		}
		if (v == latest)
			newest = e;
		ngx_log_error(NGX_LOG_ERR, log, 0, "probity: %s: not served", e.message);
	}
	*err = newest;
	return PB_EVERIFY;
}

/* ---- the worker's table and its reloader thread ------------------------- */

static struct table *cur;                 /* in service: worker thread only */
static _Atomic(struct table *) pending;  /* loaded by the reloader, not yet taken */
static pthread_mutex_t rl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rl_cv;
static struct table *retired;             /* under rl_mu: to free */
static int rl_stop;                       /* under rl_mu */
static pthread_t rl_thread;
static ngx_flag_t rl_started;
static ngx_event_t swap_ev;
static ngx_connection_t swap_dummy;       /* a timer event needs ev->data */

static struct {
	const char *workspace;
	const char *file;   /* probity_table, or NULL */
	const char *vkey;   /* probity_vkey, or NULL */
	ngx_flag_t compiler; /* this worker writes the file (worker 0) */
	struct stat file_sb; /* the file last mapped or refused */
	const struct pb_catalog *cat;
	ngx_msec_t interval;
	ngx_log_t *log;
	int64_t have; /* the version last handed over (-1: none) */
	ngx_uint_t fail_open;
	ngx_flag_t timing;
	uint64_t decisions, ns;
	int64_t failed;   /* the version that failed to load last (-2: the workspace) */
	time_t failed_at;
} rl;

static void table_release(struct table *t)
{
	if (!t || --t->refs > 0)
		return;
	pthread_mutex_lock(&rl_mu);
	t->next = retired;
	retired = t;
	pthread_mutex_unlock(&rl_mu);
}

/* Puts the table the reloader handed over in service. Cheap when there is
 * none: one atomic load. */
static void table_take(void)
{
	if (!atomic_load_explicit(&pending, memory_order_relaxed))
		return;
	struct table *t = atomic_exchange_explicit(&pending, NULL, memory_order_acquire);
	if (!t)
		return;
	t->refs = 1;
	struct table *old = cur;
	cur = t;
	table_release(old);
}

static void swap_tick(ngx_event_t *ev)
{
	table_take();
	if (!ngx_exiting && !ngx_terminate && !ngx_quit)
		ngx_add_timer(ev, rl.interval);
}

/* The workspace, read-only, with the log key pinned when probity_vkey is set:
 * a workspace whose log key differs is refused. */
static enum pb_status ws_open(const char *path, const char *vkey, struct pb_ws **ws,
                              struct pb_error *err)
{
	enum pb_status st = pb_ws_open(path, PB_WS_READONLY, ws, err);
	if (!st && vkey && (st = pb_ws_pin_vkey(*ws, vkey, err))) {
		pb_ws_close(*ws);
		*ws = NULL;
	}
	return st;
}

static ngx_flag_t same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Hands t to the worker thread (which takes it at its next decision). */
static void hand_over(struct table *t, const char *how, const struct timespec *t0)
{
	ngx_log_error(NGX_LOG_NOTICE, rl.log, 0,
	              "probity: serving entitlements version %L (%uz rules), %s in %.1f ms",
	              (int64_t)t->version, t->count, how, ms_since(t0));
	rl.have = t->version;
	table_free(atomic_exchange_explicit(&pending, t, memory_order_acq_rel));
}

/* With probity_table: the file replaced since it was last looked at (by the
 * compiling worker, an nginx reload or `probity entitlements compile`) is
 * mapped, checked and vouched for by the log, and served unless it is older
 * than the version in service (versions only grow: a rollback is a new one).
 * A file that fails is logged and the last good table keeps serving; the
 * compiling worker then writes its version into the file again. */
static void reload_file(struct pb_ws *ws)
{
	struct stat sb;
	if (stat(rl.file, &sb) != 0 || same_file(&sb, &rl.file_sb))
		return;
	rl.file_sb = sb;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct table *t = NULL;
	struct pb_error err = { 0 };
	if (!table_map(ws, rl.file, rl.cat, &t, &err) && t->version >= rl.have) {
		/* the same version written again too: the old file is let go, so
		 * the page cache does not hold two copies */
		hand_over(t, "mapped", &t0);
		return;
	}
	if (t) {
		err.code = PB_EVERIFY;
		ngx_snprintf((u_char *)err.message, sizeof(err.message),
		             "it holds version %L, older than the one in service%Z", (int64_t)t->version);
		table_free(t);
		t = NULL;
	}
	ngx_log_error(NGX_LOG_ERR, rl.log, 0,
	              "probity: compiled table \"%s\" not loaded, still serving version %L: %s",
	              rl.file, (int64_t)rl.have, err.message);
	if (!rl.compiler || rl.have < 0)
		return;
	if (table_load(ws, rl.have, rl.cat, rl.file, &t, &err)) {
		ngx_log_error(NGX_LOG_ERR, rl.log, 0, "probity: cannot write \"%s\" again: %s", rl.file,
		              err.message);
		return;
	}
	if (stat(rl.file, &rl.file_sb) != 0)
		ngx_memzero(&rl.file_sb, sizeof(rl.file_sb));
	hand_over(t, "written again", &t0);
}

/* One poll of the workspace: a new version is compiled and handed over; one
 * that fails leaves the last good one serving, and is retried after 5 s.
 * With probity_table only the compiling worker compiles, into the file; the
 * others map the file when it changes. */
static void reload_once(struct pb_ws **ws)
{
	int64_t *failed = &rl.failed;
	time_t *failed_at = &rl.failed_at;
	struct pb_error err = { 0 };
	time_t now = time(NULL);
	if (!*ws && ws_open(rl.workspace, rl.vkey, ws, &err)) {
		*ws = NULL;
		if (*failed != -2 || now - *failed_at >= 5)
			ngx_log_error(NGX_LOG_ERR, rl.log, 0, "probity: reload failed: %s", err.message);
		*failed = -2;
		*failed_at = now;
		return;
	}
	int64_t latest;
	if (pb_entitlements_latest(*ws, &latest, &err)) {
		ngx_log_error(NGX_LOG_ERR, rl.log, 0, "probity: reload failed: %s", err.message);
		pb_ws_close(*ws);
		*ws = NULL;
		return;
	}
	if (rl.file && !rl.compiler) {
		reload_file(*ws);
		return;
	}
	if (latest == rl.have || (latest == *failed && now - *failed_at < 5)) {
		if (rl.file)
			reload_file(*ws);
		return;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct table *t = NULL;
	enum pb_status st = rl.have < 0 ? table_newest_good(*ws, rl.cat, rl.file, rl.log, &t, &err)
	                                : table_load(*ws, latest, rl.cat, rl.file, &t, &err);
	if (st) {
		if (rl.have < 0) {
			ngx_log_error(NGX_LOG_ERR, rl.log, 0,
			              "probity: no entitlements version loads, still failing %s: %s",
			              rl.fail_open ? "open" : "closed", err.message);
		} else {
			ngx_log_error(NGX_LOG_ERR, rl.log, 0,
			              "probity: reload of entitlements version %L failed, still serving version %L: %s",
			              (int64_t)latest, (int64_t)rl.have, err.message);
		}
		*failed = latest;
		*failed_at = now;
		return;
	}
	if (t->version != latest) { /* the newest did not verify: do not retry it at once */
		*failed = latest;
		*failed_at = now;
	}
	if (rl.file && stat(rl.file, &rl.file_sb) != 0)
		ngx_memzero(&rl.file_sb, sizeof(rl.file_sb));
	hand_over(t, rl.file ? "compiled into the shared file" : "compiled", &t0);
}

static void *reloader_main(void *arg)
{
	struct pb_ws *ws = NULL;
	pthread_mutex_lock(&rl_mu);
	while (!rl_stop) {
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		uint64_t ns = (uint64_t)dl.tv_nsec + (uint64_t)rl.interval * 1000000u;
		dl.tv_sec += (time_t)(ns / 1000000000u);
		dl.tv_nsec = (long)(ns % 1000000000u);
		pthread_cond_timedwait(&rl_cv, &rl_mu, &dl);
		struct table *gone = retired;
		retired = NULL;
		int stop = rl_stop;
		pthread_mutex_unlock(&rl_mu);
		while (gone) {
			struct table *next = gone->next;
			table_free(gone);
			gone = next;
		}
		if (!stop)
			reload_once(&ws);
		pthread_mutex_lock(&rl_mu);
	}
	pthread_mutex_unlock(&rl_mu);
	pb_ws_close(ws);
	return arg;
}

static ngx_int_t ngx_http_probity_init_process(ngx_cycle_t *cycle)
{
	ngx_http_probity_main_conf_t *mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_probity_module);
	if (!mcf || !mcf->workspace.len ||
	    (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE))
		return NGX_OK; /* not the cache manager and loader */
	cur = mcf->initial;
	mcf->initial = NULL; /* this worker's now: the cycle's cleanup leaves it */
	if (cur)
		cur->refs = 1;
	rl.workspace = (const char *)mcf->workspace.data;
	rl.file = mcf->table.len ? (const char *)mcf->table.data : NULL;
	rl.vkey = mcf->vkey.len ? (const char *)mcf->vkey.data : NULL;
	/* one worker writes the file (a respawned worker 0 takes over) */
	rl.compiler = ngx_process == NGX_PROCESS_SINGLE || ngx_worker == 0;
#ifdef __GLIBC__
	/* what a compile allocates in big blocks is mapped and unmapped on its
	 * own, not kept in the heap (glibc would raise the threshold to the
	 * largest block freed, and keep the next compile's blocks) */
	if (rl.file && rl.compiler)
		mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
	rl.file_sb = mcf->initial_sb;
	rl.cat = mcf->cat;
	rl.interval = mcf->reload;
	rl.log = cycle->log;
	rl.have = cur ? cur->version : -1;
	rl.fail_open = mcf->fail == MODE_OFF;
	rl.timing = mcf->timing;
	rl.failed = -1;
	/* a worker started long after the master read its configuration (one
	 * respawned after a crash) must not serve the master's old version
	 * until its thread catches up: look once before serving */
	struct pb_ws *ws = NULL;
	reload_once(&ws);
	pb_ws_close(ws);
	table_take();
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rl_cv, &ca);
	pthread_condattr_destroy(&ca);
	/* the thread takes no signal: nginx's handlers run on the worker thread */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&rl_thread, NULL, reloader_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		ngx_log_error(NGX_LOG_ALERT, cycle->log, rc,
		              "probity: cannot start the reloader thread: no hot reload in this worker");
	} else {
		rl_started = 1;
	}
	swap_dummy.fd = (ngx_socket_t)-1;
	swap_ev.handler = swap_tick;
	swap_ev.log = cycle->log;
	swap_ev.data = &swap_dummy;
	swap_ev.cancelable = 1;
	ngx_add_timer(&swap_ev, rl.interval);
	return NGX_OK;
}

static void ngx_http_probity_exit_process(ngx_cycle_t *cycle)
{
	if (rl_started) {
		pthread_mutex_lock(&rl_mu);
		rl_stop = 1;
		pthread_cond_signal(&rl_cv);
		pthread_mutex_unlock(&rl_mu);
		pthread_join(rl_thread, NULL);
		rl_started = 0;
	}
	if (rl.timing && rl.decisions) {
		/* what the two clock reads around pb_decide cost by themselves */
		struct timespec t0, t1, t2;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 1000; i++)
			clock_gettime(CLOCK_MONOTONIC, &t1);
		clock_gettime(CLOCK_MONOTONIC, &t2);
		double clock_ns = ((double)(t2.tv_sec - t0.tv_sec) * 1e9 + (double)(t2.tv_nsec - t0.tv_nsec)) / 1000;
		ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
		              "probity: %uL decisions in this worker, %.1f ns each on average (pb_decide, "
		              "timed with a clock read of %.1f ns)",
		              rl.decisions, (double)rl.ns / (double)rl.decisions, clock_ns);
	}
	table_free(atomic_exchange(&pending, NULL));
	while (retired) {
		struct table *next = retired->next;
		table_free(retired);
		retired = next;
	}
	/* requests still holding cur (a fast shutdown) end with the process */
	if (cur && cur->refs == 1)
		table_free(cur);
	cur = NULL;
}

/* ---- deciding ------------------------------------------------------------ */

static void ctx_cleanup(void *data)
{
	ngx_http_probity_ctx_t *ctx = data;
	table_release(ctx->t);
	ctx->t = NULL;
}

/* The request's decision, if one was taken; found through the pool cleanup
 * after an internal redirect has cleared the module contexts. */
static ngx_http_probity_ctx_t *ctx_find(ngx_http_request_t *r)
{
	ngx_http_probity_ctx_t *ctx = ngx_http_get_module_ctx(r, ngx_http_probity_module);
	if (ctx)
		return ctx;
	for (ngx_pool_cleanup_t *c = r->pool->cleanup; c; c = c->next)
		if (c->handler == ctx_cleanup) {
			ctx = c->data;
			ngx_http_set_ctx(r, ctx, ngx_http_probity_module);
			return ctx;
		}
	return NULL;
}

/* Does the header name key (as sent) spell the variable name var (lower
 * case, '_' for '-'), as nginx's $http_<name> compares them? */
static ngx_flag_t header_is(const u_char *var, const u_char *key, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		u_char c = key[i];
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		else if (c == '-')
			c = '_';
		if (var[i] != c)
			return 0;
	}
	return 1;
}

/* v[k] = the value of the request header of each input that is one
 * ($http_<name>), in one walk of the headers; empty when absent. Returns the
 * inputs whose header came more than once: those are read through nginx's
 * variable, which knows how this nginx joins them. */
static unsigned headers_read(ngx_http_request_t *r, const ngx_http_probity_loc_conf_t *lcf, ngx_str_t *v)
{
	unsigned twice = 0;
	for (int k = 0; k < IN_COUNT; k++)
		v[k] = (ngx_str_t){ 0, NULL };
	ngx_list_part_t *part = &r->headers_in.headers.part;
	ngx_table_elt_t *h = part->elts;
	for (ngx_uint_t i = 0;; i++) {
		if (i >= part->nelts) {
			if (!part->next)
				break;
			part = part->next;
			h = part->elts;
			i = 0;
			if (!part->nelts)
				continue;
		}
		if (!h[i].hash)
			continue; /* removed */
		for (int k = 0; k < IN_COUNT; k++) {
			if (lcf->hdr[k].len != h[i].key.len || !header_is(lcf->hdr[k].data, h[i].key.data, h[i].key.len))
				continue;
			if (v[k].data)
				twice |= 1u << k;
			else
				v[k] = h[i].value;
		}
	}
	return twice;
}

static ngx_http_probity_ctx_t *decide(ngx_http_request_t *r)
{
	ngx_http_probity_ctx_t *ctx = ctx_find(r);
	if (ctx)
		return ctx;
	ngx_http_probity_loc_conf_t *lcf = ngx_http_get_module_loc_conf(r, ngx_http_probity_module);
	ngx_http_probity_main_conf_t *mcf = ngx_http_get_module_main_conf(r, ngx_http_probity_module);
	/* the decision lives in its cleanup's data: one allocation */
	ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, sizeof(*ctx));
	if (!cln)
		return NULL;
	ctx = cln->data;
	ngx_memzero(ctx, sizeof(*ctx));
	ngx_str_t v[IN_COUNT];
	unsigned twice = lcf->any_hdr ? headers_read(r, lcf, v) : 0;
	for (int k = 0; k < IN_COUNT; k++) {
		if (lcf->hdr[k].len && !(twice & (1u << k))) {
			; /* read by headers_read */
		} else if (lcf->var[k] == NGX_ERROR) {
			if (ngx_http_complex_value(r, lcf->in[k], &v[k]) != NGX_OK)
				return NULL;
		} else {
			/* flushed: a non-cacheable variable is evaluated again, as a
			 * complex value would */
			ngx_http_variable_value_t *vv = ngx_http_get_flushed_variable(r, (ngx_uint_t)lcf->var[k]);
			if (!vv)
				return NULL;
			v[k].len = vv->not_found ? 0 : vv->len;
			v[k].data = vv->data;
		}
		/* as probity serve: no rule can name a longer value */
		if (v[k].len > PB_RULE_VALUE_LEN_MAX && !ctx->bad) {
			ctx->bad = in_names[k];
			ctx->bad_long = 1;
		}
	}
	struct pb_decide_request *q = &ctx->q;
	struct pb_str *field[IN_COUNT] = { &q->account, &q->subaccount, &q->service,
		                           &q->region, &q->capability, &q->sku_meter };
	for (int k = 0; k < IN_COUNT; k++) /* empty is absent, as in probity decide */
		*field[k] = pb_str_of(v[k].len ? (const char *)v[k].data : NULL, v[k].len);
	q->at = (int64_t)ngx_time();
	if (!ctx->bad && (!q->account.len || !q->service.len || !q->region.len))
		ctx->bad = !q->account.len ? "account" : !q->service.len ? "service" : "region";
	ctx->fail_open = mcf->fail == MODE_OFF;
	table_take();
	ctx->t = cur;
	if (cur)
		cur->refs++;
	cln->handler = ctx_cleanup;
	ngx_http_set_ctx(r, ctx, ngx_http_probity_module);
	if (ctx->bad || !cur)
		return ctx;
	if (rl.timing) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pb_decide(cur->dec, q, &ctx->d);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rl.decisions++;
		rl.ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec));
	} else {
		pb_decide(cur->dec, q, &ctx->d);
	}
	return ctx;
}

static ngx_flag_t ctx_allow(const ngx_http_probity_ctx_t *ctx)
{
	if (ctx->bad)
		return 0;
	return ctx->t ? ctx->d.allow : ctx->fail_open;
}

static const char *ctx_reason(const ngx_http_probity_ctx_t *ctx)
{
	if (ctx->bad)
		return "bad-request";
	return ctx->t ? pb_why_name(ctx->d.why) : "no-table";
}

/* The selector of the rule that decided, into the request's pool. */
static ngx_int_t ctx_selector(ngx_http_request_t *r, const ngx_http_probity_ctx_t *ctx, ngx_str_t *out)
{
	out->len = 0;
	if (!ctx->t || ctx->bad || !ctx->d.rule)
		return NGX_DECLINED;
	char *buf = ngx_pnalloc(r->pool, 300);
	if (!buf)
		return NGX_ERROR;
	pb_rule_selector(ctx->d.rule, false, buf, 300);
	out->data = (u_char *)buf;
	out->len = ngx_strlen(buf);
	return NGX_OK;
}

static ngx_int_t add_header(ngx_http_request_t *r, const char *key, u_char *val, size_t len)
{
	ngx_table_elt_t *h = ngx_list_push(&r->headers_out.headers);
	if (!h)
		return NGX_ERROR;
	h->hash = 1;
	h->key.data = (u_char *)key;
	h->key.len = ngx_strlen(key);
	h->value.data = val;
	h->value.len = len;
	h->lowcase_key = NULL;
	return NGX_OK;
}

static ngx_int_t deny_headers(ngx_http_request_t *r, const ngx_http_probity_ctx_t *ctx)
{
	if (!ctx->t)
		return NGX_OK;
	if (add_header(r, "X-Probity-Version", ctx->t->version_text, ctx->t->version_len) != NGX_OK)
		return NGX_ERROR;
	ngx_str_t sel;
	if (ctx->bad || !ctx->d.rule)
		return NGX_OK;
	const struct pb_rule *rule = ctx->d.rule;
	if (add_header(r, "X-Probity-Case", (u_char *)rule->case_ref, ngx_strlen(rule->case_ref)) != NGX_OK ||
	    add_header(r, "X-Probity-Plan", (u_char *)rule->plan, ngx_strlen(rule->plan)) != NGX_OK ||
	    ctx_selector(r, ctx, &sel) == NGX_ERROR ||
	    add_header(r, "X-Probity-Reason", sel.data, sel.len) != NGX_OK)
		return NGX_ERROR;
	return NGX_OK;
}

static void log_deny(ngx_http_request_t *r, const ngx_http_probity_ctx_t *ctx, ngx_uint_t mode)
{
	const char *what = mode == MODE_DRY_RUN ? "dry-run, not enforced" : "denied";
	/* a dry run is there to be read; enforced denies are in the access log
	 * ($probity_*) and, at info, here */
	ngx_uint_t level = mode == MODE_DRY_RUN ? NGX_LOG_NOTICE : NGX_LOG_INFO;
	if (r->connection->log->log_level < level)
		return;
	const struct pb_decide_request *q = &ctx->q;
	if (ctx->bad) {
		ngx_log_error(level, r->connection->log, 0,
		              "probity: %s: %s %s", what, ctx->bad_long ? "over-long" : "missing", ctx->bad);
		return;
	}
	if (!ctx->t) {
		ngx_log_error(level, r->connection->log, 0,
		              "probity: %s: no entitlements table loaded (failing closed)", what);
		return;
	}
	const struct pb_rule *rule = ctx->d.rule;
	ngx_log_error(level, r->connection->log, 0,
	              "probity: %s: account \"%*s\" service \"%*s\" region \"%*s\" by plan %s (case %s), "
	              "entitlements version %L",
	              what, q->account.len, q->account.ptr, q->service.len, q->service.ptr,
	              q->region.len, q->region.ptr, rule ? rule->plan : "-", rule ? rule->case_ref : "-",
	              (int64_t)ctx->t->version);
}

static ngx_int_t ngx_http_probity_handler(ngx_http_request_t *r)
{
	ngx_http_probity_loc_conf_t *lcf = ngx_http_get_module_loc_conf(r, ngx_http_probity_module);
	if (lcf->mode != MODE_ENFORCE && lcf->mode != MODE_DRY_RUN)
		return NGX_DECLINED;
	ngx_http_probity_ctx_t *ctx = decide(r);
	if (!ctx)
		return NGX_HTTP_INTERNAL_SERVER_ERROR;
	if (ctx->acted || ctx_allow(ctx))
		return NGX_DECLINED; /* after an internal redirect (error_page) it answered already */
	ctx->acted = 1;
	log_deny(r, ctx, lcf->mode);
	if (lcf->mode == MODE_DRY_RUN)
		return NGX_DECLINED;
	if (lcf->deny_headers && deny_headers(r, ctx) != NGX_OK)
		return NGX_HTTP_INTERNAL_SERVER_ERROR;
	if (ctx->bad)
		return NGX_HTTP_BAD_REQUEST;
	return ctx->t ? (ngx_int_t)lcf->deny_status : NGX_HTTP_SERVICE_UNAVAILABLE;
}

/* ---- variables ------------------------------------------------------------ */

enum { VAR_DECISION, VAR_REASON, VAR_VERSION, VAR_CASE, VAR_PLAN, VAR_SELECTOR, VAR_JSON };

static ngx_int_t var_get(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
	ngx_http_probity_ctx_t *ctx = decide(r);
	if (!ctx)
		return NGX_ERROR;
	v->valid = 1;
	v->no_cacheable = 0;
	v->not_found = 0;
	const char *s = NULL;
	ngx_str_t str = { 0, NULL };
	const struct pb_rule *rule = ctx->t && !ctx->bad ? ctx->d.rule : NULL;
	switch (data) {
	case VAR_DECISION: s = ctx_allow(ctx) ? "allow" : "deny"; break;
	case VAR_REASON: s = ctx_reason(ctx); break;
	case VAR_VERSION:
		if (ctx->t) {
			str.data = ctx->t->version_text;
			str.len = ctx->t->version_len;
		}
		break;
	case VAR_CASE: s = rule ? rule->case_ref : NULL; break;
	case VAR_PLAN: s = rule ? rule->plan : NULL; break;
	case VAR_SELECTOR:
		if (ctx_selector(r, ctx, &str) == NGX_ERROR)
			return NGX_ERROR;
		break;
	case VAR_JSON:
		if (ctx->t && !ctx->bad) {
			size_t cap = 8 * 1024;
			char *buf = ngx_pnalloc(r->pool, cap);
			if (!buf)
				return NGX_ERROR;
			str.len = pb_decision_json(&ctx->d, &ctx->q, NULL, buf, cap);
			str.data = (u_char *)buf;
		}
		break;
	}
	if (s) {
		str.data = (u_char *)s;
		str.len = ngx_strlen(s);
	}
	if (!str.len && data != VAR_DECISION) {
		v->not_found = 1;
		return NGX_OK;
	}
	v->data = str.data;
	v->len = str.len;
	return NGX_OK;
}

static ngx_http_variable_t ngx_http_probity_vars[] = {
	{ ngx_string("probity_decision"), NULL, var_get, VAR_DECISION, 0, 0 },
	{ ngx_string("probity_reason"), NULL, var_get, VAR_REASON, 0, 0 },
	{ ngx_string("probity_version"), NULL, var_get, VAR_VERSION, 0, 0 },
	{ ngx_string("probity_case"), NULL, var_get, VAR_CASE, 0, 0 },
	{ ngx_string("probity_plan"), NULL, var_get, VAR_PLAN, 0, 0 },
	{ ngx_string("probity_selector"), NULL, var_get, VAR_SELECTOR, 0, 0 },
	{ ngx_string("probity_json"), NULL, var_get, VAR_JSON, 0, 0 },
	ngx_http_null_variable
};

static ngx_int_t ngx_http_probity_preconf(ngx_conf_t *cf)
{
	for (ngx_http_variable_t *v = ngx_http_probity_vars; v->name.len; v++) {
		ngx_http_variable_t *var = ngx_http_add_variable(cf, &v->name, v->flags);
		if (!var)
			return NGX_ERROR;
		var->get_handler = v->get_handler;
		var->data = v->data;
	}
	return NGX_OK;
}

/* ---- configuration ------------------------------------------------------- */

static void *ngx_http_probity_create_main_conf(ngx_conf_t *cf)
{
	ngx_http_probity_main_conf_t *mcf = ngx_pcalloc(cf->pool, sizeof(*mcf));
	if (!mcf)
		return NULL;
	mcf->reload = NGX_CONF_UNSET_MSEC;
	mcf->fail = NGX_CONF_UNSET_UINT;
	mcf->timing = NGX_CONF_UNSET;
	return mcf;
}

static char *ngx_http_probity_init_main_conf(ngx_conf_t *cf, void *conf)
{
	ngx_http_probity_main_conf_t *mcf = conf;
	ngx_conf_init_msec_value(mcf->reload, 200);
	ngx_conf_init_uint_value(mcf->fail, MODE_ENFORCE);
	ngx_conf_init_value(mcf->timing, 0);
	if (mcf->reload < 10)
		return "probity_reload_interval must be 10ms or more";
	if (!mcf->data.len) {
		ngx_str_set(&mcf->data, "/usr/local/share/probity/data");
	}
	/* relative paths are under nginx's prefix, like other paths nginx reads */
	if (mcf->workspace.len && ngx_conf_full_name(cf->cycle, &mcf->workspace, 0) != NGX_OK)
		return NGX_CONF_ERROR;
	if (mcf->table.len && ngx_conf_full_name(cf->cycle, &mcf->table, 0) != NGX_OK)
		return NGX_CONF_ERROR;
	if (ngx_conf_full_name(cf->cycle, &mcf->data, 0) != NGX_OK)
		return NGX_CONF_ERROR;
	return NGX_CONF_OK;
}

static void *ngx_http_probity_create_loc_conf(ngx_conf_t *cf)
{
	ngx_http_probity_loc_conf_t *lcf = ngx_pcalloc(cf->pool, sizeof(*lcf));
	if (!lcf)
		return NULL;
	lcf->mode = NGX_CONF_UNSET_UINT;
	for (int k = 0; k < IN_COUNT; k++)
		lcf->var[k] = NGX_ERROR;
	lcf->deny_status = NGX_CONF_UNSET_UINT;
	lcf->deny_headers = NGX_CONF_UNSET;
	return lcf;
}

static ngx_int_t compile(ngx_conf_t *cf, ngx_str_t *value, ngx_http_complex_value_t **out)
{
	ngx_http_complex_value_t *cv = ngx_palloc(cf->pool, sizeof(*cv));
	if (!cv)
		return NGX_ERROR;
	ngx_http_compile_complex_value_t ccv;
	ngx_memzero(&ccv, sizeof(ccv));
	ccv.cf = cf;
	ccv.value = value;
	ccv.complex_value = cv;
	if (ngx_http_compile_complex_value(&ccv) != NGX_OK)
		return NGX_ERROR;
	*out = cv;
	return NGX_OK;
}

/* The index of the variable value names when it is one variable alone
 * ("$name" or "${name}"), else NGX_ERROR (a capture such as "$1" too). */
static ngx_int_t one_variable(ngx_conf_t *cf, const ngx_str_t *value)
{
	ngx_str_t name = { value->len, value->data };
	if (name.len < 2 || name.data[0] != '$')
		return NGX_ERROR;
	name.data++;
	name.len--;
	if (name.data[0] == '{') {
		if (name.len < 3 || name.data[name.len - 1] != '}')
			return NGX_ERROR;
		name.data++;
		name.len -= 2;
	}
	if (name.data[0] >= '0' && name.data[0] <= '9')
		return NGX_ERROR; /* a regex capture ($1), not a variable */
	for (size_t i = 0; i < name.len; i++) {
		u_char c = name.data[i];
		if (!(c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
			return NGX_ERROR;
	}
	return ngx_http_get_variable_index(cf, &name);
}

static char *ngx_http_probity_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
	ngx_http_probity_loc_conf_t *prev = parent, *conf = child;
	ngx_conf_merge_uint_value(conf->mode, prev->mode, MODE_OFF);
	for (int k = 0; k < IN_COUNT; k++) {
		if (!conf->in[k]) {
			conf->in[k] = prev->in[k];
			conf->var[k] = prev->var[k];
		}
		if (!conf->in[k]) {
			ngx_str_t def = { ngx_strlen(in_defaults[k]), (u_char *)in_defaults[k] };
			if (compile(cf, &def, &prev->in[k]) != NGX_OK)
				return NGX_CONF_ERROR;
			prev->var[k] = one_variable(cf, &def);
			conf->in[k] = prev->in[k];
			conf->var[k] = prev->var[k];
		}
	}
	conf->any_hdr = 0;
	for (int k = 0; k < IN_COUNT; k++) {
		conf->hdr[k] = header_of(cf, conf->var[k]);
		conf->any_hdr |= conf->hdr[k].len > 0;
	}
	ngx_conf_merge_uint_value(conf->deny_status, prev->deny_status, NGX_HTTP_FORBIDDEN);
	ngx_conf_merge_value(conf->deny_headers, prev->deny_headers, 1);
	return NGX_CONF_OK;
}

/* *out = values[i] for the directive's argument words[i] (words ends with
 * NULL); another word is refused, naming the ones expected. */
static char *one_of(ngx_conf_t *cf, const char *const *words, const ngx_uint_t *values,
                    const char *expected, ngx_uint_t *out)
{
	ngx_str_t *value = cf->args->elts;
	if (*out != NGX_CONF_UNSET_UINT)
		return "is duplicate";
	for (ngx_uint_t i = 0; words[i]; i++)
		if (ngx_strcmp(value[1].data, words[i]) == 0) {
			*out = values[i];
			return NGX_CONF_OK;
		}
	ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid value \"%V\" in \"%V\": expected %s",
	                   &value[1], &value[0], expected);
	return NGX_CONF_ERROR;
}

static char *ngx_http_probity_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
	static const char *const words[] = { "enforce", "on", "dry-run", "off", NULL };
	static const ngx_uint_t values[] = { MODE_ENFORCE, MODE_ENFORCE, MODE_DRY_RUN, MODE_OFF };
	ngx_http_probity_loc_conf_t *lcf = conf;
	char *rc = one_of(cf, words, values, "enforce, dry-run or off", &lcf->mode);
	if (rc == NGX_CONF_OK && lcf->mode != MODE_OFF) {
		ngx_http_probity_main_conf_t *mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_probity_module);
		mcf->decides = 1;
	}
	return rc;
}

static char *ngx_http_probity_input(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
	ngx_http_probity_loc_conf_t *lcf = conf;
	ngx_str_t *value = cf->args->elts;
	ngx_http_complex_value_t **cv = &lcf->in[cmd->offset];
	if (*cv)
		return "is duplicate";
	if (compile(cf, &value[1], cv) != NGX_OK)
		return NGX_CONF_ERROR;
	lcf->var[cmd->offset] = one_variable(cf, &value[1]);
	return NGX_CONF_OK;
}

static char *ngx_http_probity_fail(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
	static const char *const words[] = { "closed", "open", NULL };
	static const ngx_uint_t values[] = { MODE_ENFORCE, MODE_OFF };
	ngx_http_probity_main_conf_t *mcf = conf;
	return one_of(cf, words, values, "closed or open", &mcf->fail);
}

static char *ngx_http_probity_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
	ngx_http_probity_loc_conf_t *lcf = conf;
	ngx_str_t *value = cf->args->elts;
	if (lcf->deny_status != NGX_CONF_UNSET_UINT)
		return "is duplicate";
	ngx_int_t n = ngx_atoi(value[1].data, value[1].len);
	if (n < 400 || n > 599) {
		ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
		                   "invalid status \"%V\" in \"probity_deny_status\": expected 400 to 599",
		                   &value[1]);
		return NGX_CONF_ERROR;
	}
	lcf->deny_status = (ngx_uint_t)n;
	return NGX_CONF_OK;
}

/* ---- start: the master's table ------------------------------------------ */

static void main_conf_cleanup(void *data)
{
	ngx_http_probity_main_conf_t *mcf = data;
	table_free(mcf->initial);
	mcf->initial = NULL;
	pb_catalog_free(mcf->cat);
	mcf->cat = NULL;
}

static ngx_int_t ngx_http_probity_postconf(ngx_conf_t *cf)
{
	ngx_http_probity_main_conf_t *mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_probity_module);
	if (ngx_process == NGX_PROCESS_SIGNALLER)
		return NGX_OK; /* nginx -s: it only sends a signal */
	/* only when some location decides: the phase handler is called in every
	 * location of every server. Such a location with no table fails closed
	 * (or open), in the handler. */
	if (mcf->decides) {
		ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
		ngx_http_handler_pt *h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
		if (!h)
			return NGX_ERROR;
		*h = ngx_http_probity_handler;
	}
	if (!mcf->workspace.len) {
		if (mcf->table.len || mcf->vkey.len) {
			ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
			              "probity: \"%s\" needs \"probity_workspace\": the workspace whose log "
			              "vouches for the table", mcf->table.len ? "probity_table" : "probity_vkey");
			return NGX_ERROR;
		}
		if (mcf->decides) {
			ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
			              "probity: \"probity enforce\" or \"dry-run\" is set but \"probity_workspace\" "
			              "is not: name the workspace to serve in the http block");
			return NGX_ERROR;
		}
		return NGX_OK;
	}

	ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(cf->cycle->pool, 0);
	if (!cln)
		return NGX_ERROR;
	cln->handler = main_conf_cleanup;
	cln->data = mcf;
	struct stat sb;
	if (stat((const char *)mcf->workspace.data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
		              "probity: probity_workspace \"%V\" is not a folder", &mcf->workspace);
		return NGX_ERROR;
	}
	struct pb_error err = { 0 };
	char catdir[4200];
	ngx_snprintf((u_char *)catdir, sizeof(catdir), "%V/catalog%Z", &mcf->data);
	if (pb_catalog_load(catdir, &mcf->cat, &err)) {
		ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
		              "probity: cannot load the catalog (probity_data \"%V\"): %s", &mcf->data,
		              err.message);
		return NGX_ERROR;
	}
	struct pb_ws *ws = NULL;
	const char *how = mcf->fail == MODE_OFF ? "open: every request is allowed"
	                                        : "closed: enforcing locations answer 503";
	const char *vkey = mcf->vkey.len ? (const char *)mcf->vkey.data : NULL;
	if (!pb_ws_open((const char *)mcf->workspace.data, PB_WS_READONLY, &ws, &err) && vkey &&
	    pb_ws_pin_vkey(ws, vkey, &err)) {
		ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "probity: probity_vkey: workspace \"%V\" refused: %s",
		              &mcf->workspace, err.message);
		pb_ws_close(ws);
		return NGX_ERROR;
	}
	/* nginx -t compiles in memory: only a running nginx writes probity_table */
	const char *file = mcf->table.len && !ngx_test_config ? (const char *)mcf->table.data : NULL;
	if (!ws || table_newest_good(ws, mcf->cat, file, cf->log, &mcf->initial, &err)) {
		ngx_log_error(NGX_LOG_WARN, cf->log, 0,
		              "probity: no entitlements table loads from \"%V\": %s; failing %s until one does",
		              &mcf->workspace, err.message, how);
		mcf->initial = NULL;
	} else {
		ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
		              "probity: entitlements version %L (%uz rules) from \"%V\"%s%s%s; if none "
		              "loads: fail %s",
		              (int64_t)mcf->initial->version, mcf->initial->count, &mcf->workspace,
		              file ? ", mapped from \"" : "", file ? file : "", file ? "\"" : "",
		              mcf->fail == MODE_OFF ? "open" : "closed");
		if (file && stat(file, &mcf->initial_sb) != 0)
			ngx_memzero(&mcf->initial_sb, sizeof(mcf->initial_sb));
	}
	pb_ws_close(ws); /* before the workers fork: each opens its own */
	return NGX_OK;
}
