/*
 * history.h — the input line history that survives between runs, kept
 * through libedit's history API (so the --plain line editor shares it) in
 * $XDG_STATE_HOME/duet/history (else ~/.local/state/duet/history).
 *
 * Consecutive duplicates are dropped, at most HISTORY_FILE_MAX entries are
 * kept (the oldest go), entries may span several lines, and saving writes
 * a temporary file in the same folder and renames it over the old one, so
 * a crash never leaves a half-written history.
 *
 * Named history_file_* because libedit already exports history_get,
 * history_search and friends. One thread at a time.
 */
#ifndef DUET_APP_HISTORY_H
#define DUET_APP_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#define HISTORY_FILE_MAX 1000

struct history_file;
struct history; /* libedit's History */

/* $XDG_STATE_HOME/duet/history, else $HOME/.local/state/duet/history. Caller frees. */
char *history_file_default_path(void);

/*
 * Open the history at path (NULL = the default) and load it when it exists;
 * a missing file is an empty history. max 0 = HISTORY_FILE_MAX. NULL with
 * *cause when the file exists but cannot be read.
 */
struct history_file *history_file_open(const char *path, int max, char **cause);
void history_file_free(struct history_file *h); /* NULL is a no-op; does not save */

/*
 * Add an entry (one trailing newline is dropped; empty and all-blank
 * entries and a repeat of the newest are ignored). Resets the navigation
 * cursor. Does not save.
 */
void history_file_add(struct history_file *h, const char *entry);
/* Write the file atomically (creating its folder). -1 with *cause on failure. */
int history_file_save(struct history_file *h, char **cause);

size_t history_file_count(const struct history_file *h);
/* Entry i, 0 = the oldest; NULL when out of range. Valid until the next add. */
const char *history_file_get(const struct history_file *h, size_t i);

/*
 * ↑/↓ navigation for an editor: prev steps to an older entry, next to a
 * newer one; NULL at either end (next past the newest means "back to the
 * draft the user was typing"). history_file_reset puts the cursor after
 * the newest entry.
 */
const char *history_file_prev(struct history_file *h);
const char *history_file_next(struct history_file *h);
void history_file_reset(struct history_file *h);

/*
 * Search for an entry containing needle (case-sensitive substring),
 * starting at index from and going towards older entries (backward) or
 * newer ones. Returns the index, or -1 when none. For Ctrl-R: start at
 * count - 1, then at the last hit - 1 for the next older match.
 */
long history_file_search(const struct history_file *h, const char *needle, long from, bool backward);

/* libedit's handle, for el_set(el, EL_HIST, history, handle). Owned by h. */
struct history *history_file_libedit(struct history_file *h);

#endif
