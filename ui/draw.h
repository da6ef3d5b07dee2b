/*
 * draw.h — painting the screen from plain data: each pane's title, its
 * transcript (through ui/view.h) and its numbers line, the input lines and
 * the message line. Model output is untrusted: controls are painted as
 * visible escapes (\x1b), never sent to the terminal. UI thread only.
 */
#ifndef DUET_UI_DRAW_H
#define DUET_UI_DRAW_H

#include <stdbool.h>

#include "ui/input.h"
#include "ui/layout.h"
#include "ui/transcript.h"
#include "ui/view.h"

struct ui_pane_view {
	const struct transcript *tr;
	struct ui_view *view;    /* the pane's layout cache and scroll position */
	const char *title;       /* left of the title line */
	const char *title_right; /* right of it (device, state) */
	const char *status;      /* the numbers line */
	bool focused;
	float progress;    /* >= 0: loading; the numbers line becomes a bar */
	const char *empty; /* shown in place of an empty transcript */
};

struct ui_screen {
	int n_panes;
	struct ui_pane_view pane[2];
	enum ui_layout_mode layout;
	enum ui_think think;
	struct ui_input *input; /* its width is set to the columns its text wraps at */
	const char *prompt;     /* before the input, e.g. "› " */
	const char *message;    /* the bottom line */
	bool message_error;
	const char *hint; /* right of the bottom line */
};

/*
 * Paint everything and place the cursor in the input; *layout (may be NULL)
 * receives where things went, for paging and mouse hits.
 */
void ui_draw(struct ui_screen *s, struct ui_layout *layout);

#endif
