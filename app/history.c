/*
 * history.c — the persistent input history over libedit's history API.
 * libedit keeps the list (H_ENTER with H_SETUNIQUE and H_SETSIZE) and its
 * file format (strvis-encoded, so newlines and non-ASCII survive); this
 * file adds atomic saving, a mirror array for O(1) access by index, the
 * navigation cursor and substring search. Calls libedit, app/files.h.
 */
#include "config.h"

#include "app/history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <histedit.h>

#include "app/files.h"
#include "infer/util.h"

struct history_file {
	History *hist;
	char *path;
	int max;
	char **entries; /* mirror of libedit's list, oldest first; borrowed from libedit */
	size_t n;
	size_t cursor; /* navigation: 0..n, n = past the newest (the draft) */
};

char *history_file_default_path(void)
{
	return files_xdg_path("XDG_STATE_HOME", ".local/state", "history");
}

/* Rebuild the mirror from libedit's list (H_LAST is the oldest, H_PREV steps to newer). */
static void mirror_rebuild(struct history_file *h)
{
	HistEvent ev;
	size_t n = 0;

	free(h->entries);
	h->entries = NULL;
	h->n = 0;
	if (history(h->hist, &ev, H_GETSIZE) == 0)
		n = (size_t)ev.num;
	h->entries = xcalloc(n ? n : 1, sizeof *h->entries);
	if (n && history(h->hist, &ev, H_LAST) == 0) {
		do {
			if (h->n == n)
				break;
			h->entries[h->n++] = (char *)ev.str;
		} while (history(h->hist, &ev, H_PREV) == 0);
	}
	h->cursor = h->n;
}

struct history_file *history_file_open(const char *path, int max, char **cause)
{
	struct history_file *h = xcalloc(1, sizeof *h);
	HistEvent ev;

	h->path = path ? xstrdup(path) : history_file_default_path();
	h->max = max > 0 ? max : HISTORY_FILE_MAX;
	h->hist = history_init();
	if (!h->hist) {
		error_set(cause, "%s: libedit's history_init failed", h->path);
		goto fail;
	}
	history(h->hist, &ev, H_SETSIZE, h->max);
	history(h->hist, &ev, H_SETUNIQUE, 1);
	if (access(h->path, F_OK) == 0) {
		struct stat st;
		if (stat(h->path, &st) != 0 || !S_ISREG(st.st_mode)) {
			error_set(cause, "%s: not a regular file", h->path);
			goto fail;
		}
		if (access(h->path, R_OK) != 0) {
			error_set(cause, "%s: cannot read: %s", h->path, strerror(errno));
			goto fail;
		}
		/* An empty file (a crash before the first save) is an empty history. */
		if (st.st_size > 0 && history(h->hist, &ev, H_LOAD, h->path) < 0) {
			error_set(cause,
			          "%s: not a history file duet (libedit) wrote; move it away to start afresh",
			          h->path);
			goto fail;
		}
	}
	mirror_rebuild(h);
	return h;
fail:
	history_file_free(h);
	return NULL;
}

void history_file_free(struct history_file *h)
{
	if (!h)
		return;
	if (h->hist)
		history_end(h->hist);
	free(h->entries);
	free(h->path);
	free(h);
}

void history_file_add(struct history_file *h, const char *entry)
{
	size_t len = strlen(entry);
	HistEvent ev;
	char *copy;
	bool blank = true;

	if (len && entry[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if (entry[i] != ' ' && entry[i] != '\t' && entry[i] != '\n' && entry[i] != '\r')
			blank = false;
	if (blank) {
		h->cursor = h->n;
		return;
	}
	copy = xstrndup(entry, len);
	/* H_SETUNIQUE drops a repeat of the newest entry. */
	history(h->hist, &ev, H_ENTER, copy);
	free(copy);
	mirror_rebuild(h);
}

int history_file_save(struct history_file *h, char **cause)
{
	char *dir = files_dirname(h->path), *tmp = NULL;
	HistEvent ev;
	FILE *fp = NULL;
	int fd = -1;

	if (files_mkdir_p(dir, cause) != 0)
		goto fail;
	tmp = xasprintf("%s.tmp.XXXXXX", h->path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		error_set(cause, "%s: cannot create a temporary file: %s", h->path, strerror(errno));
		goto fail;
	}
	fp = fdopen(fd, "w");
	if (!fp) {
		error_set(cause, "%s: fdopen: %s", h->path, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (history(h->hist, &ev, H_SAVE_FP, fp) < 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		error_set(cause, "%s: cannot write the history: %s", h->path, strerror(errno));
		goto fail;
	}
	if (fclose(fp) != 0) {
		fp = NULL;
		error_set(cause, "%s: close: %s", h->path, strerror(errno));
		goto fail;
	}
	fp = NULL;
	if (rename(tmp, h->path) != 0) {
		error_set(cause, "%s: cannot replace the file: %s", h->path, strerror(errno));
		goto fail;
	}
	/* libedit's iteration during H_SAVE_FP moved its cursor: the mirror is unaffected. */
	free(tmp);
	free(dir);
	return 0;
fail:
	if (fp)
		fclose(fp);
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	return -1;
}

size_t history_file_count(const struct history_file *h)
{
	return h->n;
}

const char *history_file_get(const struct history_file *h, size_t i)
{
	return i < h->n ? h->entries[i] : NULL;
}

const char *history_file_prev(struct history_file *h)
{
	if (h->cursor == 0)
		return NULL;
	return h->entries[--h->cursor];
}

const char *history_file_next(struct history_file *h)
{
	if (h->cursor + 1 >= h->n) {
		h->cursor = h->n;
		return NULL;
	}
	return h->entries[++h->cursor];
}

void history_file_reset(struct history_file *h)
{
	h->cursor = h->n;
}

long history_file_search(const struct history_file *h, const char *needle, long from, bool backward)
{
	if (!needle || h->n == 0)
		return -1;
	if (backward) {
		if (from < 0)
			return -1;
		for (long i = from >= (long)h->n ? (long)h->n - 1 : from; i >= 0; i--)
			if (strstr(h->entries[i], needle))
				return i;
	} else {
		for (long i = from < 0 ? 0 : from; i < (long)h->n; i++)
			if (strstr(h->entries[i], needle))
				return i;
	}
	return -1;
}

struct history *history_file_libedit(struct history_file *h)
{
	return h->hist;
}
