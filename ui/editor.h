/*
 * editor.h — the input line's text and cursor, with emacs-style editing:
 * characters (a base with its combining marks moves as one), words, lines
 * of a multi-line message, a kill buffer, and vertical movement over the
 * lines as wrapped on screen. Pure data: ui/input.c maps keys to these
 * calls, ui/draw.c paints the result.
 */
#ifndef DUET_UI_EDITOR_H
#define DUET_UI_EDITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "ui/mem.h"

struct ui_editor {
	struct ui_buf text; /* UTF-8, NUL-terminated when data is set */
	size_t cursor;      /* byte offset on a character boundary, <= text.len */
	struct ui_buf kill; /* the last killed text, for Ctrl-Y */
	size_t goal_col;    /* column vertical moves aim for */
	bool have_goal;
};

void ui_editor_free(struct ui_editor *e);
const char *ui_editor_text(const struct ui_editor *e); /* never NULL */
size_t ui_editor_len(const struct ui_editor *e);
/* Replace the text; the cursor goes to the end. */
void ui_editor_set(struct ui_editor *e, const char *s, size_t n);
void ui_editor_clear(struct ui_editor *e);
void ui_editor_insert(struct ui_editor *e, const char *s, size_t n);

/* Each returns whether anything changed. */
bool ui_editor_backspace(struct ui_editor *e);
bool ui_editor_delete(struct ui_editor *e);
bool ui_editor_left(struct ui_editor *e);
bool ui_editor_right(struct ui_editor *e);
bool ui_editor_word_left(struct ui_editor *e);
bool ui_editor_word_right(struct ui_editor *e);
bool ui_editor_line_start(struct ui_editor *e); /* of the current logical line */
bool ui_editor_line_end(struct ui_editor *e);
bool ui_editor_kill_line_end(struct ui_editor *e); /* Ctrl-K: to the end of the line, or the newline there */
bool ui_editor_kill_line_start(struct ui_editor *e); /* Ctrl-U */
bool ui_editor_kill_word_left(struct ui_editor *e);  /* Ctrl-W, Alt-Backspace */
bool ui_editor_kill_word_right(struct ui_editor *e); /* Alt-D */
bool ui_editor_yank(struct ui_editor *e);            /* Ctrl-Y */

/*
 * Screen position of the cursor with the text wrapped by characters at
 * width columns (ui_wrap_text without words): a cursor right after a full
 * line sits at the start of the next one. *n_lines counts the lines
 * including the cursor's.
 */
void ui_editor_cursor_pos(const struct ui_editor *e, size_t width, size_t *line, size_t *col,
                          size_t *n_lines);
/* Move to the screen line above / below at the goal column; false on the first / last line. */
bool ui_editor_up(struct ui_editor *e, size_t width);
bool ui_editor_down(struct ui_editor *e, size_t width);

#endif
