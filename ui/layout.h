/*
 * layout.h — where things go on a screen of rows x cols: one pane or two
 * (side by side, or stacked when the terminal is narrow), each with a title
 * line, its transcript and a numbers line; the input lines and the message
 * line at the bottom. Pure arithmetic, no curses.
 */
#ifndef DUET_UI_LAYOUT_H
#define DUET_UI_LAYOUT_H

#include <stdbool.h>

/* The smallest pane: a title, one line of text, a numbers line, this wide. */
#define UI_LAYOUT_MIN_COLS      20
#define UI_LAYOUT_PANE_MIN_ROWS 3
/* Auto layout puts two panes side by side from this width on. */
#define UI_LAYOUT_SIDE_COLS 80

enum ui_layout_mode {
	UI_LAYOUT_AUTO,
	UI_LAYOUT_SIDE,
	UI_LAYOUT_STACKED,
};

struct ui_rect {
	int y, x, h, w;
};

struct ui_layout {
	int rows, cols;
	bool too_small; /* nothing fits: draw.c says so instead */
	bool side;      /* two panes side by side */
	int n_panes;
	struct ui_rect title[2], body[2], status[2];
	struct ui_rect sep; /* side by side: the column between the panes */
	struct ui_rect input;
	struct ui_rect message;
};

/* "auto" -> UI_LAYOUT_AUTO ...; -1 when not a layout name. */
int ui_layout_parse(const char *name);
const char *ui_layout_name(enum ui_layout_mode mode);

/*
 * Compute the layout. input_lines is how many lines the input wants (at
 * least 1); it gets at most a third of the screen and never squeezes a
 * pane below its minimum. A mode that does not fit falls back to the other.
 */
void ui_layout_compute(struct ui_layout *l, int rows, int cols, int n_panes, enum ui_layout_mode mode,
                       int input_lines);

#endif
