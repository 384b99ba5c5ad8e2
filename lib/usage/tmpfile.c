/* tmpfile.c - files an ingest creates unnamed (O_TMPFILE) and links into
 * place only when its transaction is about to commit: the rejects file and
 * the copy of a piped input. A crash in between leaves an orphan named after
 * a SHA-256 no source has; the next ingest removes it. */
#include "usage/usage_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/banned.h"

enum pb_status pb__tmpf_open(struct pb_tmpf *t, const char *dir, struct pb_error *err)
{
	t->fd = -1;
	t->named = NULL;
	t->dir = pb__strndup(dir, strlen(dir));
	if (!t->dir)
		return pb__err(err, PB_ENOMEM, "out of memory");
	t->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (t->fd >= 0)
		return PB_OK;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return pb__err(err, pb__errno_status(errno), "cannot create a file in '%s': %s", dir,
		               pb__errno_text(errno));
	size_t n = strlen(dir) + 64;
	t->named = malloc(n);
	if (!t->named)
		return pb__err(err, PB_ENOMEM, "out of memory");
	uint32_t r;
	pb_random(&r, sizeof(r));
	snprintf(t->named, n, "%s/.tmp-%ld-%08x", dir, (long)getpid(), r);
	t->fd = open(t->named, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (t->fd < 0)
		return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", t->named,
		               pb__errno_text(errno));
	return PB_OK;
}

void pb__tmpf_discard(struct pb_tmpf *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->named)
		unlink(t->named);
	free(t->named);
	free(t->dir);
	t->fd = -1;
	t->named = NULL;
	t->dir = NULL;
}

enum pb_status pb__tmpf_write(struct pb_tmpf *t, const void *p, size_t n, struct pb_error *err)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(t->fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return pb__err(err, PB_EIO, "cannot write in '%s': %s", t->dir,
			               pb__errno_text(errno));
		}
		c += w;
		n -= (size_t)w;
	}
	return PB_OK;
}

enum pb_status pb__tmpf_publish(struct pb_tmpf *t, const char *path, struct pb_error *err)
{
	if (fsync(t->fd) != 0)
		return pb__err(err, PB_EIO, "cannot write '%s': %s", path, pb__errno_text(errno));
	if (t->named) {
		if (rename(t->named, path) != 0)
			return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", path,
			               pb__errno_text(errno));
		free(t->named);
		t->named = NULL;
	} else {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
		unlink(path); /* a leftover from an earlier attempt */
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0)
			return pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", path,
			               pb__errno_text(errno));
	}
	return pb__fsync_dir(t->dir, err);
}

void pb__usage_remove_orphans(struct pb_ws *ws, const char *sub)
{
	char *dir = pb__ws_file(ws, sub);
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d) {
		free(dir);
		return;
	}
	sqlite3_stmt *q = NULL;
	sqlite3_prepare_v2(ws->db, "SELECT 1 FROM source WHERE sha256 = ?1", -1, &q, NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		bool stale = false;
		if (strncmp(n, ".tmp-", 5) == 0) {
			long pid = strtol(n + 5, NULL, 10);
			stale = pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
		} else if (strlen(n) > 64 && q) {
			bool hex = true;
			for (int i = 0; i < 64 && hex; i++)
				hex = (n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f');
			if (hex && n[64] == '.') {
				sqlite3_reset(q);
				sqlite3_bind_text(q, 1, n, 64, SQLITE_STATIC);
				stale = sqlite3_step(q) != SQLITE_ROW;
			}
		}
		if (stale) {
			char *p = pb__path_join(dir, n);
			if (p)
				unlink(p);
			free(p);
		}
	}
	sqlite3_finalize(q);
	closedir(d);
	free(dir);
}
