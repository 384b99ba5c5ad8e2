/* pcache.c - probity web's cache of customer profile pages.
 *
 * A profile page costs a profile build and its SVG charts (about 0.2 s on
 * the demo workspace, far more under 50 clients on two cores), and its body
 * is the same for every user: it depends only on the customer, the pickers
 * and the usage data. So the body (what goes between web_page_begin and
 * web_page_end: no CSP nonce, no CSRF token) is kept here, keyed by those
 * and by the data version: the index of the last log entry that changed
 * usage or customers (pb_profile_data_version), read incrementally from the
 * log size seen last. An ingest, from the app or the command line, makes a
 * new version, so every older body is dropped at the next store and never
 * served again. A body built after reading version V holds data at least as
 * new as V, so a page is never older than the data version its request saw.
 *
 * Bounded: PCACHE_ENTRIES bodies and PCACHE_BYTES in all, least recently
 * used first out. One mutex guards the list (a hit copies its body out
 * after letting go of it: bodies are reference-counted); a second one lets a single
 * thread build at a time, so 50 clients asking for the same new page make
 * one build, not 50 (the others wait and then find it).
 */
#include "web.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PCACHE_ENTRIES 64
#define PCACHE_BYTES ((size_t)32 << 20)

/* A body, shared by the cache and the readers copying it out: readers
 * copy outside the lock, so a body dropped meanwhile lives until the last
 * of them lets go. */
struct body {
	atomic_uint refs;
	size_t len;
	char data[];
};

struct entry {
	struct entry *prev, *next; /* most recently used first */
	int64_t version;
	char *key;
	struct body *body;
	size_t len;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t build_mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *head, *tail;
static size_t count, bytes;
/* the data version: the log scanned up to seen_size, last change at version */
static uint64_t seen_size;
static int64_t version = -1;

static void unlink_entry(struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		tail = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(struct entry *e)
{
	e->next = head;
	if (head)
		head->prev = e;
	head = e;
	if (!tail)
		tail = e;
}

static void body_release(struct body *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}

static void drop(struct entry *e)
{
	unlink_entry(e);
	count--;
	bytes -= e->len;
	free(e->key);
	body_release(e->body);
	free(e);
}

enum pb_status web_pcache_version(struct pb_ws *ws, int64_t *out, struct pb_error *err)
{
	pthread_mutex_lock(&mu);
	uint64_t from = seen_size;
	pthread_mutex_unlock(&mu);
	uint64_t size;
	int64_t last;
	enum pb_status st = pb_profile_data_version(ws, from, &size, &last, err);
	if (st)
		return st;
	pthread_mutex_lock(&mu);
	/* versions only grow: another thread may have read a newer snapshot */
	if (size > seen_size)
		seen_size = size;
	if (last > version)
		version = last;
	*out = version;
	pthread_mutex_unlock(&mu);
	return PB_OK;
}

/* Appends the body stored under (v, key) to c->out; false when none. */
static bool lookup(struct web_ctx *c, int64_t v, const char *key)
{
	struct body *b = NULL;
	pthread_mutex_lock(&mu);
	for (struct entry *e = head; e; e = e->next) {
		if (e->version == v && !strcmp(e->key, key)) {
			unlink_entry(e);
			push_front(e);
			b = e->body;
			atomic_fetch_add(&b->refs, 1);
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	bool hit = b && pb_buf_reserve(&c->out, b->len + 4096) == PB_OK &&
	           pb_buf_add(&c->out, b->data, b->len) == PB_OK;
	body_release(b);
	return hit;
}

bool web_pcache_get(struct web_ctx *c, int64_t v, const char *key)
{
	if (lookup(c, v, key))
		return true;
	/* a miss: wait for a build of the same page in flight, then look again;
	 * web_pcache_put or web_pcache_done releases the build lock */
	pthread_mutex_lock(&build_mu);
	if (lookup(c, v, key)) {
		pthread_mutex_unlock(&build_mu);
		return true;
	}
	return false;
}

void web_pcache_done(void)
{
	pthread_mutex_unlock(&build_mu);
}

void web_pcache_put(int64_t v, const char *key, const char *body, size_t len)
{
	struct entry *e = NULL;
	if (len > PCACHE_BYTES / 4)
		goto out;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key)) || !(e->body = malloc(sizeof(struct body) + len)))
		goto fail;
	atomic_init(&e->body->refs, 1);
	e->body->len = len;
	memcpy(e->body->data, body, len);
	e->len = len;
	e->version = v;
	pthread_mutex_lock(&mu);
	/* older data versions are never asked for again; the same key is
	 * there already when a build raced one without the build lock */
	for (struct entry *o = head, *next; o; o = next) {
		next = o->next;
		if (o->version < version || (o->version == v && !strcmp(o->key, key)))
			drop(o);
	}
	while (tail && (count >= PCACHE_ENTRIES || bytes + len > PCACHE_BYTES))
		drop(tail);
	push_front(e);
	count++;
	bytes += len;
	pthread_mutex_unlock(&mu);
	goto out;
fail:
	if (e) {
		free(e->key);
		free(e);
	}
out:
	web_pcache_done();
}

