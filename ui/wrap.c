/*
 * wrap.c — word and character wrapping by display width. Columns come from
 * ui_text_col_width, so tabs and escaped controls measure what draw.c
 * paints. No curses here.
 */
#include "config.h"

#include "ui/wrap.h"

#include <stdlib.h>

#include "ui/mem.h"
#include "ui/text.h"

static void wrap_push(struct ui_wrap *w, size_t start, size_t len, size_t cols)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->v = ui_xreallocarray(w->v, w->cap, sizeof *w->v);
	}
	w->v[w->n].start = start;
	w->v[w->n].len = len;
	w->v[w->n].cols = cols;
	w->n++;
}

/* Wrap one paragraph s[start, end) (no newline inside). */
static void wrap_paragraph(const char *s, size_t start, size_t end, size_t width, bool words,
                           struct ui_wrap *out)
{
	size_t line = start;

	for (;;) {
		size_t i = line, col = 0;
		/* The last break: the line's content ends at brk_end (cols brk_cols), the next starts at
		 * brk_next. */
		size_t brk_end = 0, brk_next = 0, brk_cols = 0;
		bool have_brk = false, in_space = false;

		for (;;) {
			uint32_t cp;
			size_t len, w;

			if (i >= end) {
				wrap_push(out, line, i - line, col);
				return;
			}
			len = ui_text_next(s + i, end - i, &cp);
			w = (size_t)ui_text_col_width(cp, col);
			if (col + w > width && w > 0) {
				if (words && cp == ' ') {
					/* Break at this space; the run of spaces belongs to no line. */
					size_t content = in_space ? brk_end : i,
					       cols = in_space ? brk_cols : col;
					wrap_push(out, line, content - line, cols);
					while (i < end && s[i] == ' ')
						i++;
					line = i;
				} else if (words && have_brk && brk_end > line) {
					wrap_push(out, line, brk_end - line, brk_cols);
					line = brk_next;
				} else if (i == line) {
					/* Wider than the whole line: it goes alone. */
					size_t j = i + len;
					while (j < end) {
						uint32_t c2;
						size_t l2 = ui_text_next(s + j, end - j, &c2);
						if (ui_text_col_width(c2, col + w) != 0)
							break;
						j += l2;
					}
					wrap_push(out, line, j - line, w);
					line = j;
				} else {
					wrap_push(out, line, i - line, col);
					line = i;
				}
				if (line >= end) {
					/* The text ended at a break: no empty line follows. */
					return;
				}
				break;
			}
			if (words && cp == ' ') {
				if (!in_space) {
					brk_end = i;
					brk_cols = col;
				}
				in_space = true;
				brk_next = i + len;
				have_brk = true;
			} else {
				in_space = false;
			}
			col += w;
			i += len;
		}
	}
}

void ui_wrap_text(const char *s, size_t n, size_t width, bool words, struct ui_wrap *out)
{
	size_t start = 0;

	if (width < 1)
		width = 1;
	for (;;) {
		size_t end = start;
		while (end < n && s[end] != '\n')
			end++;
		wrap_paragraph(s, start, end, width, words, out);
		if (end >= n)
			return;
		start = end + 1;
	}
}

void ui_wrap_free(struct ui_wrap *w)
{
	free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
}
