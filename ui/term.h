/*
 * term.h — the terminal under curses: start and stop (restoring it on
 * every exit path, crashes included), keys decoded into struct ui_key,
 * resize, handing the terminal to another program ($EDITOR, Ctrl-Z), mouse
 * and bracketed paste. The only state is the one terminal; call from the UI
 * thread, except ui_term_emergency_restore (any thread, signal handlers).
 */
#ifndef DUET_UI_TERM_H
#define DUET_UI_TERM_H

#include <stdbool.h>

#include "ui/input.h"
#include "ui/theme.h"

struct ui_term_options {
	bool mouse;      /* report the wheel and clicks (terminal selection then needs Shift) */
	bool monochrome; /* ignore colours even when the terminal has them */
	int max_colours; /* use at most this many (8 = the basic eight); 0 = what the terminal has */
	const struct ui_theme *theme; /* NULL: ui_theme_default for the terminal's colours */
};

/*
 * Take the terminal: curses on stdin/stdout, raw keys, no echo, bracketed
 * paste on. Returns -1 with *cause (caller frees) when the terminal cannot
 * be used (unknown TERM, not a terminal).
 */
int ui_term_start(const struct ui_term_options *o, char **cause);
/* Give the terminal back as it was. Idempotent; a no-op when not started. */
void ui_term_stop(void);
/*
 * Last-resort restore for crashes and fatal errors: only write(2) and
 * tcsetattr(3), so a signal handler may call it. Idempotent.
 */
void ui_term_emergency_restore(void);
bool ui_term_active(void);
/* 0 (monochrome), 8 or 256: what the theme was chosen for. */
int ui_term_colours(void);
/* Install a theme (colours the terminal lacks are mapped down). */
void ui_term_set_theme(const struct ui_theme *t);
void ui_term_set_mouse(bool on);

/* One key if one is waiting (never blocks): 1 and *k set, or 0. */
int ui_term_get_key(struct ui_key *k);
/* Adopt the terminal's new size (after SIGWINCH). */
void ui_term_resize(void);
void ui_term_size(int *rows, int *cols);
/* Hand the terminal to another program and take it back. */
void ui_term_suspend(void);
void ui_term_resume(void);
/* Repaint everything on the next refresh (Ctrl-L). */
void ui_term_invalidate(void);

#endif
