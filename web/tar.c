/* tar.c - a folder as a POSIX ustar archive, for downloads of a log export.
 *
 * Only what `probity log export` writes: regular files and folders, names
 * in ASCII, sorted so that one export gives one archive. Mode 0644/0755,
 * owner 0, the files' own mtimes. GNU tar, bsdtar and Python's tarfile read
 * it.
 */
#include "web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool put(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* One header block for name (a folder when dir). */
static bool header(int fd, const char *name, const struct stat *sb, bool dir)
{
	unsigned char h[512] = { 0 };
	size_t n = strlen(name);
	const char *base = name;
	if (n > 100) { /* prefix/name split at a '/' */
		const char *s = name + n - 100;
		while (*s && *s != '/')
			s++;
		if (!*s || (size_t)(s - name) > 155)
			return false;
		memcpy(h + 345, name, (size_t)(s - name));
		base = s + 1;
	}
	memcpy(h, base, strlen(base));
	snprintf((char *)h + 100, 8, "%07o", dir ? 0755 : 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", dir ? 0ULL : (unsigned long long)sb->st_size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)sb->st_mtime);
	h[156] = dir ? '5' : '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	return put(fd, h, sizeof(h));
}

static bool file_body(int fd, const char *path, off_t size)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return false;
	char buf[65536];
	off_t left = size;
	bool ok = true;
	while (ok && left > 0) {
		ssize_t r = read(in, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		ok = r > 0 && put(fd, buf, (size_t)r);
		left -= r > 0 ? r : 0;
	}
	close(in);
	static const char zero[512];
	return ok && put(fd, zero, (512 - (size_t)(size % 512)) % 512);
}

/* Appends folder path as name/ and everything in it, sorted. */
static bool add_tree(int fd, const char *path, const char *name, int depth)
{
	struct stat sb;
	if (depth > 16 || stat(path, &sb) != 0)
		return false;
	char *slashed = malloc(strlen(name) + 2);
	if (!slashed)
		return false;
	snprintf(slashed, strlen(name) + 2, "%s/", name);
	bool ok = header(fd, slashed, &sb, true);
	free(slashed);
	struct dirent **ents = NULL;
	int n = ok ? scandir(path, &ents, NULL, alphasort) : 0;
	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;
		if (ok && strcmp(e, ".") && strcmp(e, "..")) {
			size_t pl = strlen(path) + strlen(e) + 2, nl = strlen(name) + strlen(e) + 2;
			char *p = malloc(pl), *m = malloc(nl);
			ok = p && m;
			if (ok) {
				snprintf(p, pl, "%s/%s", path, e);
				snprintf(m, nl, "%s/%s", name, e);
				struct stat es;
				if (lstat(p, &es) != 0)
					ok = false;
				else if (S_ISDIR(es.st_mode))
					ok = add_tree(fd, p, m, depth + 1);
				else if (S_ISREG(es.st_mode))
					ok = header(fd, m, &es, false) && file_body(fd, p, es.st_size);
				/* anything else: not written by an export, left out */
			}
			free(p);
			free(m);
		}
		free(ents[i]);
	}
	free(ents);
	return ok;
}

enum pb_status web_tar_dir(const char *dir, const char *name, int fd, struct pb_error *err)
{
	static const char end[1024];
	if (!add_tree(fd, dir, name, 0) || !put(fd, end, sizeof(end))) {
		snprintf(err->message, sizeof(err->message), "cannot write the archive of '%s': %s",
		         dir, strerror(errno ? errno : EIO));
		return err->code = PB_EIO;
	}
	return PB_OK;
}
