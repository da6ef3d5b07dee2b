/*
 * term_impl.h — what ui/draw.c needs of ui/term.c: curses itself and the
 * attributes of each style. Private to ui/.
 */
#ifndef DUET_UI_TERM_IMPL_H
#define DUET_UI_TERM_IMPL_H

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "ui/view.h"

/* Attributes (colour excluded) and colour pair of a style. */
void ui_term_style(enum ui_style s, attr_t *attrs, short *pair);

#endif
