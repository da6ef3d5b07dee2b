/*
 * files.c — XDG folders, mkdir -p and atomic file replacement for the app
 * layer (history, conversations, exports). POSIX only; calls infer/util.h.
 */
#include "config.h"

#include "app/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/util.h"

char *files_xdg_path(const char *env_name, const char *fallback, const char *sub)
{
	const char *base = getenv(env_name), *home = getenv("HOME");
	char *root;

	/* The XDG spec: a relative value is invalid and must be ignored. */
	if (base && base[0] == '/')
		root = xasprintf("%s/duet", base);
	else
		root = xasprintf("%s/%s/duet", home && *home ? home : ".", fallback);
	if (sub) {
		char *p = path_join(root, sub);
		free(root);
		return p;
	}
	return root;
}

char *files_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int files_mkdir_p(const char *dir, char **cause)
{
	char *p = xstrdup(dir);
	size_t len = strlen(p);
	struct stat st;

	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char saved = p[i];
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			error_set(cause, "%s: cannot create folder: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		p[i] = saved;
	}
	free(p);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return error_set(cause, "%s: not a folder", dir);
	return 0;
}

int files_write_atomic(const char *path, const char *data, size_t len, char **cause)
{
	char *dir = files_dirname(path), *tmp = NULL;
	struct stat st;
	int fd = -1;

	if (files_mkdir_p(dir, cause) != 0)
		goto fail;
	tmp = xasprintf("%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		error_set(cause, "%s: cannot create a temporary file: %s", path, strerror(errno));
		goto fail;
	}
	if (stat(path, &st) == 0)
		(void)fchmod(fd, st.st_mode & 07777);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error_set(cause, "%s: write failed: %s", path,
			          n < 0 ? strerror(errno) : "no progress");
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		error_set(cause, "%s: fsync failed: %s", path, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		error_set(cause, "%s: close failed: %s", path, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		error_set(cause, "%s: cannot replace the file: %s", path, strerror(errno));
		goto fail;
	}
	free(tmp);
	free(dir);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (tmp && access(tmp, F_OK) == 0)
		unlink(tmp);
	free(tmp);
	free(dir);
	return -1;
}

char *files_expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0') && home && *home)
		return xasprintf("%s%s", home, path + 1);
	return xstrdup(path);
}
