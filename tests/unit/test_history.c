/*
 * test_history.c — the persistent input history (app/history.c over
 * libedit): dedupe, size cap, multi-line and UTF-8 entries surviving a
 * save/load round trip, the file format being libedit's, atomic saving
 * (rename, never rewriting in place), navigation and substring search,
 * and a foreign file refused. TAP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/history.h"
#include "infer/util.h"
#include "tests/tap.h"

static char *read_all(const char *path)
{
	size_t len;
	return file_read_all(path, 1 << 20, &len, NULL);
}

/* Files in dir other than the ones named. */
static int stray_files(const char *dir)
{
	char *cmd = xasprintf("ls -A '%s' | grep -c -v -e '^history$' -e '^history.link$' -e '^sub$'", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	free(cmd);
	return n;
}

int main(void)
{
	char dir[] = "/tmp/duet-history-XXXXXX";
	static const char *const entries[] = {
	        "one",
	        "two",
	        "multi\nline\n  entry",
	        "héllo 世界",
	        "tab\there \\n not a newline, a backslash",
	        "trailing",
	};
	struct history_file *h;
	char *path, *cause = NULL, *text;

	if (!mkdtemp(dir))
		return tap_ok(0, "mkdtemp"), tap_done();
	path = xasprintf("%s/sub/deeper/history", dir);

	h = history_file_open(path, 0, &cause);
	tap_ok(h != NULL, "a missing file opens as an empty history");
	if (!h)
		return tap_done();
	TAP_EQ_INT(history_file_count(h), 0, "... empty");
	history_file_add(h, "one");
	history_file_add(h, "two");
	history_file_add(h, "two");
	history_file_add(h, "two\n");
	history_file_add(h, "   ");
	history_file_add(h, "");
	history_file_add(h, "multi\nline\n  entry");
	history_file_add(h, "héllo 世界");
	history_file_add(h, "tab\there \\n not a newline, a backslash");
	history_file_add(h, "trailing\n");
	TAP_EQ_INT(history_file_count(h), 6, "repeats of the newest and blank entries are dropped");
	for (size_t i = 0; i < 6; i++)
		TAP_EQ_STR(history_file_get(h, i), entries[i], "entry in order, oldest first");
	tap_ok(history_file_get(h, 6) == NULL, "out of range is NULL");

	TAP_EQ_INT(history_file_save(h, &cause), 0, "save creates the folders and the file");
	if (cause)
		tap_diag("%s", cause);
	history_file_free(h);

	text = read_all(path);
	tap_ok(text && strncmp(text, "_HiStOrY_V2_\n", 13) == 0,
	       "the file is libedit's format (its _HiStOrY_V2_ cookie)");
	{
		/* one physical line per entry: newlines are encoded, not written */
		int lines = 0;
		for (const char *p = text; p && *p; p++)
			lines += *p == '\n';
		TAP_EQ_INT(lines, 7, "cookie + six lines: a multi-line entry takes one line");
	}
	free(text);
	{
		struct stat st;
		tap_ok(stat(path, &st) == 0 && (st.st_mode & 077) == 0, "the file is private (0600)");
	}

	h = history_file_open(path, 0, &cause);
	tap_ok(h != NULL, "reopen");
	if (!h)
		return tap_done();
	TAP_EQ_INT(history_file_count(h), 6, "six entries after the round trip");
	for (size_t i = 0; i < 6; i++)
		TAP_EQ_STR(history_file_get(h, i), entries[i],
		           "entry survives the round trip (multi-line, UTF-8, tab, backslash)");

	/* navigation */
	TAP_EQ_STR(history_file_prev(h), "trailing", "prev: the newest");
	TAP_EQ_STR(history_file_prev(h), entries[4], "prev: older");
	TAP_EQ_STR(history_file_next(h), "trailing", "next: newer");
	tap_ok(history_file_next(h) == NULL, "next past the newest: back to the draft");
	for (int i = 0; i < 6; i++)
		history_file_prev(h);
	tap_ok(history_file_prev(h) == NULL, "prev past the oldest: NULL");
	history_file_reset(h);
	TAP_EQ_STR(history_file_prev(h), "trailing", "reset: back after the newest");

	/* search */
	TAP_EQ_INT(history_file_search(h, "ne", 5, true), 4, "search backward from the newest");
	TAP_EQ_INT(history_file_search(h, "ne", 3, true), 2, "... the next older hit");
	TAP_EQ_INT(history_file_search(h, "line\n  en", 5, true), 2, "a substring across lines");
	TAP_EQ_INT(history_file_search(h, "o", 0, false), 0, "search forward");
	TAP_EQ_INT(history_file_search(h, "o", 1, false), 1, "... from 1");
	TAP_EQ_INT(history_file_search(h, "zzz", 5, true), -1, "no hit");
	TAP_EQ_INT(history_file_search(h, "one", -1, true), -1, "from before the start");

	/* atomic: the new file replaces the old by rename, so a hard link keeps the old text */
	{
		char *link_path = xasprintf("%s/sub/deeper/history.link", dir), *old = read_all(path), *kept;
		tap_ok(link(path, link_path) == 0, "hard link to the saved file");
		history_file_add(h, "after the link");
		TAP_EQ_INT(history_file_save(h, &cause), 0, "save again");
		kept = read_all(link_path);
		tap_ok(old && kept && strcmp(old, kept) == 0,
		       "the old inode is untouched: saved by rename, not in place");
		{
			struct history_file *again = history_file_open(path, 0, NULL);
			tap_ok(again && history_file_count(again) == 7 &&
			               strcmp(history_file_get(again, 6), "after the link") == 0,
			       "the path holds the new history");
			history_file_free(again);
		}
		text = NULL;
		{
			char *d = xasprintf("%s/sub/deeper", dir);
			TAP_EQ_INT(stray_files(d), 0, "no temporary file left behind");
			free(d);
		}
		unlink(link_path);
		free(link_path);
		free(old);
		free(kept);
		free(text);
	}
	history_file_free(h);

	/* the size cap drops the oldest */
	{
		char *p2 = xasprintf("%s/capped", dir);
		struct history_file *c = history_file_open(p2, 5, NULL);
		char e[16];
		for (int i = 0; i < 8; i++) {
			snprintf(e, sizeof e, "e%d", i);
			history_file_add(c, e);
		}
		TAP_EQ_INT(history_file_count(c), 5, "capped at 5");
		TAP_EQ_STR(history_file_get(c, 0), "e3", "the oldest went");
		TAP_EQ_STR(history_file_get(c, 4), "e7", "the newest stays");
		history_file_free(c);
		free(p2);
	}
	{
		setenv("XDG_STATE_HOME", "/xdg/state", 1);
		char *d = history_file_default_path();
		TAP_EQ_STR(d, "/xdg/state/duet/history", "default path under $XDG_STATE_HOME");
		free(d);
		setenv("XDG_STATE_HOME", "relative/ignored", 1);
		setenv("HOME", "/home/h", 1);
		d = history_file_default_path();
		TAP_EQ_STR(d, "/home/h/.local/state/duet/history",
		           "a relative $XDG_STATE_HOME is ignored (XDG spec)");
		free(d);
	}

	/* a file that is not a history */
	{
		char *p3 = xasprintf("%s/foreign", dir);
		FILE *f = fopen(p3, "w");
		fputs("just some text\n", f);
		fclose(f);
		cause = NULL;
		tap_ok(history_file_open(p3, 0, &cause) == NULL,
		       "a foreign file is refused (and so not overwritten)");
		TAP_ERR_HAS(cause, p3, "... the message names it");
		free(cause);
		unlink(p3);
		free(p3);
	}
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("cleanup failed");
		free(cmd);
	}
	free(path);
	return tap_done();
}
