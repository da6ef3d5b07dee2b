/*
 * text.h — terminal display width of UTF-8 text, the base of word wrapping:
 * CJK and most emoji take two columns, combining marks and zero-width
 * characters none, controls are never drawn raw (they count as the width of
 * their visible escape). Pure functions: no curses state, thread-safe.
 */
#ifndef DUET_UI_TEXT_H
#define DUET_UI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tab stops every UI_TEXT_TAB columns; a tab is drawn as spaces up to the next stop. */
#define UI_TEXT_TAB 4

/*
 * Decode one character at s[0..n): returns its byte length (>= 1) and sets
 * *cp; invalid UTF-8 yields length 1 and *cp = U+FFFD.
 */
size_t ui_text_next(const char *s, size_t n, uint32_t *cp);
/* Columns one character takes: 0, 1 or 2; controls report the width of "\xNN" (4). */
int ui_text_char_width(uint32_t cp);
/* Columns of a whole string. */
size_t ui_text_width(const char *s, size_t n);
/*
 * The longest prefix of s[0..n) that fits in max_cols columns without
 * splitting a character; combining marks stay with their base. Returns bytes.
 */
size_t ui_text_fit(const char *s, size_t n, size_t max_cols, size_t *cols);

/*
 * Whether cp is never drawn raw: C0 controls (tab included: callers that
 * expand tabs check for it first), DEL and C1 controls.
 */
bool ui_text_is_control(uint32_t cp);
/* The visible escape of a control, "\x1b": 4 characters and a NUL. */
void ui_text_escape(uint32_t cp, char out[5]);
/*
 * Columns cp takes when it starts at column col: a tab reaches the next tab
 * stop, anything else is ui_text_char_width.
 */
int ui_text_col_width(uint32_t cp, size_t col);

#endif
