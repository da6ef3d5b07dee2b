/*
 * wrap.h — breaking UTF-8 text into screen lines by display width (ui/text.h):
 * at spaces for prose, at any character for the input editor; CJK text,
 * which has no spaces, breaks between characters; a combining mark never
 * starts a line. Pure: no curses, thread-safe.
 */
#ifndef DUET_UI_WRAP_H
#define DUET_UI_WRAP_H

#include <stdbool.h>
#include <stddef.h>

/* One screen line: bytes [start, start + len) of the text, cols columns wide. */
struct ui_wrap_line {
	size_t start, len;
	size_t cols;
};

/* A growable list of lines; zero-initialise, ui_wrap_free releases. */
struct ui_wrap {
	struct ui_wrap_line *v;
	size_t n, cap;
};

/*
 * Append the lines of s[0..n) at width columns (at least 1) to out. Every
 * '\n' ends a line and is in no line, so k newlines give at least k + 1
 * lines and empty text one empty line. With words set, a line breaks after
 * its last space run that fits and the spaces at a break belong to no line;
 * a word longer than the width breaks at a character. Without words, lines
 * break at the last character that fits and every byte but the newlines is
 * in exactly one line (the editor's cursor can sit anywhere). A character
 * wider than the whole width still takes a line of its own.
 */
void ui_wrap_text(const char *s, size_t n, size_t width, bool words, struct ui_wrap *out);
void ui_wrap_free(struct ui_wrap *w);

#endif
