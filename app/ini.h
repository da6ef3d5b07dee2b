/*
 * ini.h — INI files for settings.c and prompts.c: a line-by-line pre-scan
 * (sections, keys and the line each sits on; malformed and over-long lines)
 * and then iniparser for the values. iniparser 4.1 refuses a whole file for
 * one bad line and reports no line numbers for values, so the pre-scan
 * blanks bad lines, hands iniparser the clean copy, and keeps the map from
 * keys to lines that messages need ("FILE:LINE: message").
 *
 * Syntax (iniparser's): "[section]", "key = value", "key = \"quoted value\"",
 * comments start a line with ';' or '#', and an unquoted value ends at ';'
 * or '#'. A line ending in '\' continues on the next. Section names keep
 * their case here (iniparser lowercases them); keys are lowercased, with
 * '-' read as '_'. A logical line may hold at most INI_MAX_LINE bytes.
 *
 * Not thread-safe while loading (iniparser's error callback is global);
 * a loaded struct ini_file is plain read-only data.
 */
#ifndef DUET_APP_INI_H
#define DUET_APP_INI_H

#include <stdarg.h>
#include <stddef.h>

#include "infer/util.h"

#define INI_MAX_LINE 1000 /* iniparser 4.1 reads lines into a 1024-byte buffer */
#define INI_MAX_FILE (1u << 20)

/* One-line messages ("FILE:LINE: what is wrong") collected while loading. */
struct ini_messages {
	char **v; /* owned */
	size_t n, cap;
};

void ini_messages_add(struct ini_messages *m, const char *fmt, ...) DUET_PRINTF(2, 3);
void ini_messages_free(struct ini_messages *m);
/* Order messages "NAME:LINE: ..." by line (stable; others keep their place at the end). */
void ini_messages_sort(struct ini_messages *m, const char *name);

struct ini_entry {
	const char *section;  /* as written, e.g. "model:*Qwen*"; borrowed from the ini_file */
	size_t section_index; /* into ini_file.sections */
	char *key;            /* lowercased, '-' -> '_' */
	char *value;          /* iniparser's value: unquoted, trimmed */
	int line;             /* 1-based line of the key */
};

struct ini_section {
	char *name; /* as written */
	int line;
};

struct ini_file {
	char *name; /* the path (or name) messages use */
	struct ini_section *sections;
	size_t n_sections;
	struct ini_entry *entries; /* file order; a key repeated in a section keeps its last value */
	size_t n_entries;
};

/*
 * Parse text (len bytes, may hold NULs: such lines are malformed). Bad lines
 * add messages to msgs (when not NULL) and are skipped; a key outside any
 * section likewise. Returns 0, or -1 with *cause only when nothing could be
 * parsed at all (iniparser failed). Leaves *f empty on failure.
 */
int ini_file_parse(struct ini_file *f, const char *name, const char *text, size_t len,
                   struct ini_messages *msgs, char **cause);
/* Read and parse a file (at most INI_MAX_FILE bytes). -1 with *cause when it cannot be read. */
int ini_file_load(struct ini_file *f, const char *path, struct ini_messages *msgs, char **cause);
void ini_file_free(struct ini_file *f);

/*
 * Text values may spell a newline "\n", a tab "\t" and a backslash "\\";
 * any other backslash stays as it is (so "\boxed{}" needs no doubling).
 * Returns a new string.
 */
char *ini_unescape(const char *value);

/* Boolean words: on/off, yes/no, true/false, 1/0. Returns 1, 0, or -1 when none. */
int ini_parse_bool(const char *value);

#endif
