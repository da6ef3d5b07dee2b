/*
 * commands.h — the slash commands typed in the input line: parsing into a
 * struct with typed, range-checked arguments, one-line error messages,
 * Tab completion and the /help table. No side effects: the caller acts on
 * the parsed command. Pure functions over plain data (completion reads
 * folders); thread-safe.
 */
#ifndef DUET_APP_COMMANDS_H
#define DUET_APP_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum command_id {
	COMMAND_HELP,      /* /help */
	COMMAND_MODEL,     /* /model [1|2] PATH */
	COMMAND_SYSTEM,    /* /system [TEXT]       no TEXT: clear the system prompt */
	COMMAND_TEMPLATE,  /* /template [NAME]     no NAME: back to no template */
	COMMAND_TEMPLATES, /* /templates */
	COMMAND_TEMP,      /* /temp X              0..5 */
	COMMAND_TOP_P,     /* /top-p X             0..1 */
	COMMAND_SEED,      /* /seed N              0..2^64-1 */
	COMMAND_R1,        /* /r1 on|off */
	COMMAND_MATH,      /* /math on|off */
	COMMAND_THINK,     /* /think show|hide|fold */
	COMMAND_RETRY,     /* /retry */
	COMMAND_CLEAR,     /* /clear */
	COMMAND_SAVE,      /* /save [FILE]         no FILE: the autosave file */
	COMMAND_LOAD,      /* /load FILE */
	COMMAND_EXPORT,    /* /export FILE.md */
	COMMAND_STATS,     /* /stats */
	COMMAND_LAYOUT,    /* /layout [auto|side|stacked]   none: cycle */
	COMMAND_FOCUS,     /* /focus [1|2]         none: the other pane */
	COMMAND_BROADCAST, /* /broadcast [on|off]  none: toggle */
	COMMAND_QUIT,      /* /quit (also /exit, /q) */
	COMMAND_COUNT
};

struct command {
	enum command_id id;
	int pane;      /* /model, /focus: 1 or 2; 0 = not given */
	char *arg;     /* owned: PATH, TEXT, NAME or FILE ("~/" expanded for files); NULL when absent */
	double number; /* /temp, /top-p */
	uint64_t seed; /* /seed */
	int on;        /* /r1, /math, /broadcast: 1 on, 0 off, -1 not given */
	int think;     /* /think: an enum settings_think */
	int layout;    /* /layout: an enum settings_layout, -1 not given */
};

/*
 * Parse an input line. Returns 1 and fills *out (free with command_free)
 * when it is a command; 0 when it is a message to send (no leading '/',
 * or "//..." meaning a message that starts with '/': send line + 1);
 * -1 with a one-line *cause for an unknown command or a bad argument
 * ("unknown command /frob (try /help)", "/temp: '9' is not a number in
 * 0..5"). Leading and trailing blanks are ignored; a command may be cut
 * to any unique prefix (/temps is not /temp: whole words only when
 * ambiguous; /te -> ambiguous).
 */
int command_parse(const char *line, struct command *out, char **cause);
void command_free(struct command *c); /* NULL is a no-op; leaves *c zeroed */

struct command_info {
	enum command_id id;
	const char *name; /* "temp" (without the slash) */
	const char *args; /* "X" or "" */
	const char *help; /* one line */
	bool plain;       /* meaningful in --plain (one model, no panes) */
};

/* The table, COMMAND_COUNT entries in enum order. */
const struct command_info *command_table(void);
/* /help's text: one aligned line per command ("/temp X       sampling temperature ..."), plain: only those
 * meaningful without panes. Caller frees. */
char *command_help_text(bool plain);

struct command_completion {
	size_t start; /* byte offset where the word being completed starts; candidates replace [start, cursor)
	               */
	char **v;     /* candidates, sorted; directories end in '/'; owned */
	size_t n;
	char *common; /* the longest common prefix of the candidates ("" when none); owned */
};

/*
 * Candidates for the word before cursor (a byte offset into line):
 * command names after '/', template names (given) for /template, on/off
 * and the mode words for /r1 /math /broadcast /think /layout, pane
 * numbers for /focus, file names (read from the folder) for /load /save
 * /export /model. At most 1000. Returns the number of candidates.
 */
size_t command_complete(const char *line, size_t cursor, const char *const *templates, size_t n_templates,
                        struct command_completion *out);
void command_completion_free(struct command_completion *c);

#endif
