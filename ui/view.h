/*
 * view.h — a transcript laid out as screen lines at a width: user messages
 * marked, thinking dimmed and shown, folded or hidden, \boxed{} answers and
 * the agreement line, stopped and failed marks, notes; plus the pane's
 * scroll position. Pure: the lines name bytes of the transcript's turns and
 * draw.c paints them. Lines are cached per turn (by id, version, width and
 * think mode), so a streaming answer re-wraps only itself.
 */
#ifndef DUET_UI_VIEW_H
#define DUET_UI_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/transcript.h"

/* What a piece of screen is; ui/term.c maps styles to colours and attributes. */
enum ui_style {
	UI_STYLE_TEXT,       /* the model's answer */
	UI_STYLE_USER,       /* the user's message */
	UI_STYLE_USER_MARK,  /* the "›" before it */
	UI_STYLE_THINK,      /* thinking text (dim) */
	UI_STYLE_THINK_HEAD, /* "▾ thinking" / the folded line */
	UI_STYLE_BOXED,      /* \boxed{} answers */
	UI_STYLE_AGREE,
	UI_STYLE_DISAGREE,
	UI_STYLE_NOTE,
	UI_STYLE_ERROR,
	UI_STYLE_STOPPED,
	UI_STYLE_ESCAPE, /* a control character shown as \x1b */
	UI_STYLE_TITLE,  /* pane title, unfocused */
	UI_STYLE_TITLE_FOCUS,
	UI_STYLE_STATUS, /* pane numbers line */
	UI_STYLE_BORDER,
	UI_STYLE_PROMPT,
	UI_STYLE_INPUT,
	UI_STYLE_MESSAGE, /* the bottom line */
	UI_STYLE_MESSAGE_ERROR,
	UI_STYLE_PROGRESS,
	UI_STYLE__COUNT
};

enum ui_think {
	UI_THINK_SHOW,
	UI_THINK_FOLD,
	UI_THINK_HIDE,
};

/*
 * One screen line. Its text is src[start, start + len) where src is the
 * view's own string when own is set, else the turn's text at drawing time.
 * prefix (a static string) comes first, in prefix_style.
 */
struct ui_view_line {
	size_t turn;
	enum ui_style style;
	const char *own;
	size_t start, len;
	const char *prefix;
	enum ui_style prefix_style;
};

struct ui_view_cache; /* per turn */

struct ui_view {
	struct ui_view_cache *cache; /* parallel to the transcript's turns */
	size_t n_cache, cap_cache;
	size_t width;
	enum ui_think think;
	size_t total;  /* lines of the whole transcript at width */
	size_t scroll; /* lines between the bottom of the view and the end; 0 follows new text */
};

void ui_view_free(struct ui_view *v);
/*
 * Lay out t at width (the pane's columns) and think mode; keeps the reading
 * position when text arrives below a scrolled view. Call before drawing.
 */
void ui_view_update(struct ui_view *v, const struct transcript *t, size_t width, enum ui_think think);
/*
 * The lines of the window of height rows ending scroll lines before the end:
 * *first is the index of lines[0] in the whole, n the count (<= height).
 * The array stays valid until the next ui_view_update.
 */
size_t ui_view_window(struct ui_view *v, size_t height, struct ui_view_line *lines, size_t max);
/* Scroll by delta lines (positive = back in time), clamped for a window of height rows. */
void ui_view_scroll(struct ui_view *v, long delta, size_t height);
/* The text of a line (the turn's or the view's own). */
const char *ui_view_line_text(const struct ui_view_line *l, const struct transcript *t);

#endif
