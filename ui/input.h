/*
 * input.h — keys as the terminal reports them (decoded by ui/term.c) turned
 * into edits of the input line and actions for the app: Enter sends, Alt-Enter
 * and Ctrl-J insert a newline, a bracketed paste arrives as text (newlines
 * included), emacs keys edit, ↑/↓ and Ctrl-P/Ctrl-N walk the history, Ctrl-R
 * searches it. Pure: no curses; the history is read through callbacks so
 * ui/ does not depend on the module that stores it.
 */
#ifndef DUET_UI_INPUT_H
#define DUET_UI_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/editor.h"
#include "ui/mem.h"

enum ui_key_code {
	UI_KEY_NONE,
	UI_KEY_CHAR, /* ch: a character; 0x01..0x1f are Ctrl-letters (0x0a is Ctrl-J) */
	UI_KEY_ENTER,
	UI_KEY_TAB,
	UI_KEY_BACKTAB,
	UI_KEY_BACKSPACE,
	UI_KEY_DELETE,
	UI_KEY_ESC,
	UI_KEY_UP,
	UI_KEY_DOWN,
	UI_KEY_LEFT,
	UI_KEY_RIGHT,
	UI_KEY_HOME,
	UI_KEY_END,
	UI_KEY_PGUP,
	UI_KEY_PGDN,
	UI_KEY_PASTE_BEGIN,
	UI_KEY_PASTE_END,
	UI_KEY_WHEEL_UP, /* y, x: where */
	UI_KEY_WHEEL_DOWN,
	UI_KEY_CLICK, /* y, x: where (mouse enabled) */
	UI_KEY_FN,    /* ch: the function key's number */
	UI_KEY_RESIZE,
};

struct ui_key {
	enum ui_key_code code;
	uint32_t ch;
	bool alt;
	int y, x;
};

/* What a key means for the app. The input line itself has already changed. */
enum ui_action {
	UI_ACTION_NONE,       /* nothing visible changed */
	UI_ACTION_REDRAW,     /* the input line changed */
	UI_ACTION_SEND,       /* Enter: the input is a message or a command */
	UI_ACTION_CANCEL,     /* Esc: stop generation */
	UI_ACTION_INTERRUPT,  /* Ctrl-C: stop generation, or ask before quitting */
	UI_ACTION_QUIT,       /* Ctrl-D on an empty line */
	UI_ACTION_COMPLETE,   /* Tab */
	UI_ACTION_EXT_EDITOR, /* Ctrl-X Ctrl-E */
	UI_ACTION_PAGE_UP,
	UI_ACTION_PAGE_DOWN,
	UI_ACTION_WHEEL_UP,
	UI_ACTION_WHEEL_DOWN,
	UI_ACTION_CLICK,
	UI_ACTION_THINK_TOGGLE,     /* Ctrl-T */
	UI_ACTION_FOCUS_NEXT,       /* Ctrl-O, Ctrl-X o */
	UI_ACTION_BROADCAST_TOGGLE, /* Ctrl-X b */
	UI_ACTION_REFRESH,          /* Ctrl-L */
	UI_ACTION_SUSPEND,          /* Ctrl-Z */
	UI_ACTION_RESIZE,
};

/* Read access to the history: entries 0 (oldest) .. count-1 (newest); strings valid until the next add. */
struct ui_history {
	size_t (*count)(void *user);
	const char *(*get)(void *user, size_t i);
	void *user;
};

struct ui_input {
	struct ui_editor ed;
	size_t width; /* columns the input wraps at; the drawing code sets it */
	bool paste;   /* inside a bracketed paste */
	bool ctrl_x;  /* Ctrl-X waits for the rest of its chord */
	struct ui_history hist;
	bool browsing; /* showing history entry hist_pos */
	size_t hist_pos;
	struct ui_buf typed; /* the line being typed before browsing began */
	bool searching;      /* Ctrl-R */
	struct ui_buf query;
	size_t match; /* entry of the current match; valid when have_match */
	bool have_match;
	struct ui_buf search_saved;
};

void ui_input_free(struct ui_input *in);
/* Apply one key. */
enum ui_action ui_input_key(struct ui_input *in, const struct ui_key *k);
/* After a message is sent: leave history browsing and empty the line. */
void ui_input_reset(struct ui_input *in);
/* The prompt of a running search, "(search)'QUERY': ", or NULL. Caller frees. */
char *ui_input_search_prompt(const struct ui_input *in);

#endif
