/* declog.c - the decision log: every deny and a sample of allows, as JSON lines.
 *
 * Each worker appends lines to its own buffer (no lock on the request path)
 * and writes it out past LOG_FLUSH bytes or on its tick, under one mutex that
 * also guards rotation: past log_max_bytes, PATH becomes PATH.1, PATH.1
 * PATH.2 ... up to log_keep, and a new PATH is opened.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum pb_status declog_open(struct server *s, struct pb_error *err)
{
	const char *p = s->o->log_path;
	s->log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (s->log_fd < 0)
		return serve_fail(err, PB_EIO, "cannot open decision log '%s': %s", p, strerror(errno));
	struct stat sb;
	if (fstat(s->log_fd, &sb) == 0)
		s->log_size = (uint64_t)sb.st_size;
	return PB_OK;
}

void declog_close(struct server *s)
{
	if (s->log_fd >= 0)
		close(s->log_fd);
	s->log_fd = -1;
}

static void rotate_locked(struct server *s)
{
	const char *p = s->o->log_path;
	char from[4200], to[4200];
	for (unsigned k = s->o->log_keep; k >= 1; k--) {
		if (k == 1)
			snprintf(from, sizeof(from), "%s", p);
		else
			snprintf(from, sizeof(from), "%s.%u", p, k - 1);
		snprintf(to, sizeof(to), "%s.%u", p, k);
		rename(from, to);
	}
	if (!s->o->log_keep)
		unlink(p);
	close(s->log_fd);
	s->log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	s->log_size = 0;
	if (s->log_fd < 0)
		serve_logf("cannot reopen decision log '%s': %s", p, strerror(errno));
}

void declog_flush(struct worker *w)
{
	struct server *s = w->s;
	if (!w->log.len)
		return;
	pthread_mutex_lock(&s->log_mu);
	if (s->log_fd >= 0) {
		size_t off = 0;
		while (off < w->log.len) {
			ssize_t n = write(s->log_fd, w->log.data + off, w->log.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				serve_logf("decision log write failed: %s", strerror(errno));
				break;
			}
			off += (size_t)n;
		}
		s->log_size += w->log.len;
		if (s->o->log_max_bytes && s->log_size >= s->o->log_max_bytes)
			rotate_locked(s);
	}
	pthread_mutex_unlock(&s->log_mu);
	pb_buf_reset(&w->log);
}

void declog_write(struct worker *w, const struct decided *r)
{
	char line[2600], head[48];
	size_t n = decision_json(w, r, r->id, false, line, sizeof(line));
	if (!n)
		return;
	char *p = PUT(head, "{\"time_ms\":");
	p = put_size(p, (size_t)real_ms());
	*p++ = ',';
	pb_buf_add(&w->log, head, (size_t)(p - head));
	pb_buf_add(&w->log, line + 1, n - 1); /* the decision's fields after its '{' */
	pb_buf_addc(&w->log, '\n');
	if (w->log.len >= LOG_FLUSH)
		declog_flush(w);
}
