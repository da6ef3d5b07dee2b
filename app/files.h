/*
 * files.h — file helpers of the app layer: the XDG folders duet keeps its
 * files in, creating folders, and atomic replacement of a file (write a
 * temporary file in the same folder, fsync, rename), so a crash leaves the
 * old file or the new one, never a torn one. Thread-safe.
 */
#ifndef DUET_APP_FILES_H
#define DUET_APP_FILES_H

#include <stddef.h>

/*
 * $ENV_NAME/duet[/SUB] when the variable is set to an absolute path, else
 * $HOME/FALLBACK/duet[/SUB] (FALLBACK e.g. ".config"); SUB may be NULL.
 * Caller frees.
 */
char *files_xdg_path(const char *env_name, const char *fallback, const char *sub);

/* mkdir -p with mode 0700 for what it creates. -1 with *cause naming the folder. */
int files_mkdir_p(const char *dir, char **cause);
/* The folder part of a path ("." when none). Caller frees. */
char *files_dirname(const char *path);

/*
 * Replace path with data atomically (mode 0600 for a new file, the old
 * file's mode otherwise), creating its folder. -1 with *cause naming the
 * file.
 */
int files_write_atomic(const char *path, const char *data, size_t len, char **cause);

/* "~/x" -> "$HOME/x"; other paths copied. Caller frees. */
char *files_expand_home(const char *path);

#endif
