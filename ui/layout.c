/*
 * layout.c — screen geometry (ui/layout.h). Pure.
 */
#include "config.h"

#include <string.h>

#include "ui/layout.h"

int ui_layout_parse(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "auto") == 0)
		return UI_LAYOUT_AUTO;
	if (strcmp(name, "side") == 0)
		return UI_LAYOUT_SIDE;
	if (strcmp(name, "stacked") == 0)
		return UI_LAYOUT_STACKED;
	return -1;
}

const char *ui_layout_name(enum ui_layout_mode mode)
{
	switch (mode) {
	case UI_LAYOUT_SIDE:
		return "side";
	case UI_LAYOUT_STACKED:
		return "stacked";
	default:
		return "auto";
	}
}

static void pane_rects(struct ui_layout *l, int i, int y, int x, int h, int w)
{
	l->title[i] = (struct ui_rect){y, x, 1, w};
	l->body[i] = (struct ui_rect){y + 1, x, h - 2, w};
	l->status[i] = (struct ui_rect){y + h - 1, x, 1, w};
}

void ui_layout_compute(struct ui_layout *l, int rows, int cols, int n_panes, enum ui_layout_mode mode,
                       int input_lines)
{
	bool side_fits, stacked_fits;
	int avail, input_h, max_input;

	memset(l, 0, sizeof *l);
	l->rows = rows;
	l->cols = cols;
	l->n_panes = n_panes = n_panes >= 2 ? 2 : 1;
	/* Rows: panes, at least one input line, the message line. */
	side_fits = cols >= (n_panes == 2 ? 2 * UI_LAYOUT_MIN_COLS + 1 : UI_LAYOUT_MIN_COLS) &&
	            rows >= UI_LAYOUT_PANE_MIN_ROWS + 2;
	stacked_fits = cols >= UI_LAYOUT_MIN_COLS && rows >= n_panes * UI_LAYOUT_PANE_MIN_ROWS + 2;
	if (n_panes == 1) {
		l->side = false;
		if (!stacked_fits)
			goto small;
	} else if (mode == UI_LAYOUT_SIDE || (mode == UI_LAYOUT_AUTO && cols >= UI_LAYOUT_SIDE_COLS)) {
		if (side_fits)
			l->side = true;
		else if (stacked_fits)
			l->side = false;
		else
			goto small;
	} else {
		if (stacked_fits)
			l->side = false;
		else if (side_fits)
			l->side = true;
		else
			goto small;
	}

	max_input = rows / 3;
	if (input_lines < 1)
		input_lines = 1;
	input_h = input_lines < max_input ? input_lines : max_input;
	if (input_h < 1)
		input_h = 1;
	{
		int panes_min =
		        l->side || n_panes == 1 ? UI_LAYOUT_PANE_MIN_ROWS : 2 * UI_LAYOUT_PANE_MIN_ROWS;
		if (rows - input_h - 1 < panes_min)
			input_h = rows - 1 - panes_min;
		if (input_h < 1)
			input_h = 1;
	}
	avail = rows - input_h - 1;
	l->input = (struct ui_rect){avail, 0, input_h, cols};
	l->message = (struct ui_rect){rows - 1, 0, 1, cols};
	if (n_panes == 1) {
		pane_rects(l, 0, 0, 0, avail, cols);
	} else if (l->side) {
		int w1 = (cols - 1) / 2;
		pane_rects(l, 0, 0, 0, avail, w1);
		pane_rects(l, 1, 0, w1 + 1, avail, cols - w1 - 1);
		l->sep = (struct ui_rect){0, w1, avail, 1};
	} else {
		int h1 = avail / 2;
		pane_rects(l, 0, 0, 0, h1, cols);
		pane_rects(l, 1, h1, 0, avail - h1, cols);
	}
	return;
small:
	l->too_small = true;
}
