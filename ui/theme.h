/*
 * theme.h — colours and attributes of each ui_style, for 256-colour,
 * 8-colour and monochrome terminals. Plain data: ui/term.c turns it into
 * curses pairs; the app lays the user's configured colours over it.
 */
#ifndef DUET_UI_THEME_H
#define DUET_UI_THEME_H

#include "ui/view.h"

enum ui_attr {
	UI_ATTR_BOLD = 1 << 0,
	UI_ATTR_DIM = 1 << 1,
	UI_ATTR_UNDERLINE = 1 << 2,
	UI_ATTR_REVERSE = 1 << 3,
	UI_ATTR_ITALIC = 1 << 4,
};

struct ui_style_spec {
	short fg, bg;   /* 0..255, or -1 for the terminal's default */
	unsigned attrs; /* enum ui_attr bits */
};

struct ui_theme {
	struct ui_style_spec style[UI_STYLE__COUNT];
};

/* Defaults for a terminal of `colours` colours: 0 (monochrome), 8 or 256 (anything >= 256). */
void ui_theme_default(struct ui_theme *t, int colours);
/* Style names as configuration files spell them ("user", "think", "boxed", ...); -1 when unknown. */
int ui_style_parse(const char *name);
const char *ui_style_name(enum ui_style s);
/* The nearest of the 8 basic colours to a 256-colour index. */
short ui_theme_colour8(short c);

#endif
