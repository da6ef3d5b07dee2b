/*
 * term.c — curses setup and teardown, keys, colours (ui/term.h). The one
 * file besides draw.c that calls curses. Bracketed paste markers are bound
 * to key codes of our own (define_key), Alt-x arrives as Esc then x, and a
 * restore sequence is prepared at start so a crash can give the terminal
 * back with write(2) alone.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ui/mem.h"
#include "ui/term.h"
#include "ui/term_impl.h"

#define KEYCODE_PASTE_BEGIN (KEY_MAX + 1)
#define KEYCODE_PASTE_END   (KEY_MAX + 2)

#define SEQ_PASTE_ON  "\033[?2004h"
#define SEQ_PASTE_OFF "\033[?2004l"
#define SEQ_MOUSE_OFF "\033[?1000l\033[?1002l\033[?1003l\033[?1006l"

static volatile sig_atomic_t term_active;
static SCREEN *term_screen;
static struct termios term_saved;
static bool term_have_saved;
static int term_colours;
static bool term_default_colours;
static bool term_mouse;
static char term_restore[512]; /* written by the emergency restore */
static size_t term_restore_len;
static attr_t style_attrs[UI_STYLE__COUNT];
static short style_pair[UI_STYLE__COUNT];

static void write_all(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void restore_add(const char *s)
{
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (term_restore_len + n < sizeof term_restore) {
		memcpy(term_restore + term_restore_len, s, n);
		term_restore_len += n;
	}
}

bool ui_term_active(void)
{
	return term_active != 0;
}

int ui_term_colours(void)
{
	return term_colours;
}

void ui_term_style(enum ui_style s, attr_t *attrs, short *pair)
{
	if ((unsigned)s >= UI_STYLE__COUNT)
		s = UI_STYLE_TEXT;
	*attrs = style_attrs[s];
	*pair = style_pair[s];
}

static short colour_map(short c, short fallback)
{
	if (c < 0)
		return term_default_colours ? -1 : fallback;
	if (term_colours < 256)
		return ui_theme_colour8(c);
	return c;
}

void ui_term_set_theme(const struct ui_theme *t)
{
	struct ui_theme def;

	if (!t) {
		ui_theme_default(&def, term_colours);
		t = &def;
	}
	for (int i = 0; i < UI_STYLE__COUNT; i++) {
		const struct ui_style_spec *sp = &t->style[i];
		attr_t a = A_NORMAL;
		if (sp->attrs & UI_ATTR_BOLD)
			a |= A_BOLD;
		if (sp->attrs & UI_ATTR_DIM)
			a |= A_DIM;
		if (sp->attrs & UI_ATTR_UNDERLINE)
			a |= A_UNDERLINE;
		if (sp->attrs & UI_ATTR_REVERSE)
			a |= A_REVERSE;
		if (sp->attrs & UI_ATTR_ITALIC)
			a |= A_ITALIC;
		style_attrs[i] = a;
		style_pair[i] = 0;
		if (term_colours > 0 && (sp->fg >= 0 || sp->bg >= 0)) {
			short pair = (short)(i + 1);
			if (init_pair(pair, colour_map(sp->fg, 7), colour_map(sp->bg, 0)) == OK)
				style_pair[i] = pair;
		}
	}
}

void ui_term_set_mouse(bool on)
{
	term_mouse = on;
	if (!term_active)
		return;
	if (on) {
		mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
		mouseinterval(0);
	} else {
		mousemask(0, NULL);
		write_all(SEQ_MOUSE_OFF, sizeof SEQ_MOUSE_OFF - 1);
	}
}

int ui_term_start(const struct ui_term_options *o, char **cause)
{
	const char *term = getenv("TERM");

	if (term_active)
		return 0;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		*cause = ui_xstrdup("standard input and output must be a terminal");
		return -1;
	}
	if (!term || !*term) {
		*cause = ui_xstrdup("TERM is not set: the terminal type is unknown");
		return -1;
	}
	term_have_saved = tcgetattr(STDIN_FILENO, &term_saved) == 0;
	term_screen = newterm(NULL, stdout, stdin);
	if (!term_screen) {
		*cause = ui_xasprintf("cannot drive a terminal of type '%s' (TERM): no terminfo entry", term);
		return -1;
	}
	set_term(term_screen);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	intrflush(stdscr, FALSE);
	set_escdelay(25);
	define_key("\033[200~", KEYCODE_PASTE_BEGIN);
	define_key("\033[201~", KEYCODE_PASTE_END);

	term_colours = 0;
	if (!(o && o->monochrome) && has_colors() && start_color() == OK) {
		term_default_colours = use_default_colors() == OK;
		term_colours = COLORS >= 256 ? 256 : COLORS >= 8 ? 8 : 0;
		if (o && o->max_colours > 0 && term_colours > o->max_colours)
			term_colours = o->max_colours >= 256 ? 256 : o->max_colours >= 8 ? 8 : 0;
	}
	ui_term_set_theme(o ? o->theme : NULL);

	term_restore_len = 0;
	restore_add(SEQ_PASTE_OFF);
	restore_add(SEQ_MOUSE_OFF);
	restore_add(tigetstr("sgr0"));
	restore_add(tigetstr("cnorm"));
	restore_add(tigetstr("rmcup"));
	restore_add("\r\n");

	term_active = 1;
	write_all(SEQ_PASTE_ON, sizeof SEQ_PASTE_ON - 1);
	ui_term_set_mouse(o && o->mouse);
	return 0;
}

void ui_term_stop(void)
{
	if (!term_active)
		return;
	if (term_mouse)
		mousemask(0, NULL);
	write_all(SEQ_PASTE_OFF, sizeof SEQ_PASTE_OFF - 1);
	write_all(SEQ_MOUSE_OFF, sizeof SEQ_MOUSE_OFF - 1);
	endwin();
	if (term_have_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &term_saved);
	term_active = 0;
}

void ui_term_emergency_restore(void)
{
	if (!term_active)
		return;
	term_active = 0;
	write_all(term_restore, term_restore_len);
	if (term_have_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &term_saved);
}

static void decode_char(wint_t wc, struct ui_key *k)
{
	switch (wc) {
	case '\r':
		k->code = UI_KEY_ENTER;
		break;
	case '\t':
		k->code = UI_KEY_TAB;
		break;
	case 0x7f:
	case 0x08:
		k->code = UI_KEY_BACKSPACE;
		break;
	case 0x1b:
		k->code = UI_KEY_ESC;
		break;
	default:
		k->code = UI_KEY_CHAR;
		k->ch = (uint32_t)wc;
		break;
	}
}

static void decode_code(wint_t code, struct ui_key *k)
{
	MEVENT ev;

	switch (code) {
	case KEY_UP:
		k->code = UI_KEY_UP;
		break;
	case KEY_DOWN:
		k->code = UI_KEY_DOWN;
		break;
	case KEY_LEFT:
		k->code = UI_KEY_LEFT;
		break;
	case KEY_RIGHT:
		k->code = UI_KEY_RIGHT;
		break;
	case KEY_HOME:
		k->code = UI_KEY_HOME;
		break;
	case KEY_END:
		k->code = UI_KEY_END;
		break;
	case KEY_PPAGE:
		k->code = UI_KEY_PGUP;
		break;
	case KEY_NPAGE:
		k->code = UI_KEY_PGDN;
		break;
	case KEY_BACKSPACE:
		k->code = UI_KEY_BACKSPACE;
		break;
	case KEY_DC:
		k->code = UI_KEY_DELETE;
		break;
	case KEY_BTAB:
		k->code = UI_KEY_BACKTAB;
		break;
	case KEY_ENTER:
		k->code = UI_KEY_ENTER;
		break;
	case KEY_RESIZE:
		k->code = UI_KEY_RESIZE;
		break;
	case KEYCODE_PASTE_BEGIN:
		k->code = UI_KEY_PASTE_BEGIN;
		break;
	case KEYCODE_PASTE_END:
		k->code = UI_KEY_PASTE_END;
		break;
	case KEY_MOUSE:
		if (getmouse(&ev) != OK)
			break;
		k->y = ev.y;
		k->x = ev.x;
		if (ev.bstate & BUTTON4_PRESSED)
			k->code = UI_KEY_WHEEL_UP;
		else if (ev.bstate & BUTTON5_PRESSED)
			k->code = UI_KEY_WHEEL_DOWN;
		else if (ev.bstate & BUTTON1_PRESSED)
			k->code = UI_KEY_CLICK;
		break;
	default:
		if (code >= KEY_F(1) && code <= KEY_F(24)) {
			k->code = UI_KEY_FN;
			k->ch = (uint32_t)(code - KEY_F0);
		}
		break;
	}
}

int ui_term_get_key(struct ui_key *k)
{
	wint_t wc, w2;
	int r, r2;

	if (!term_active)
		return 0;
	r = wget_wch(stdscr, &wc);
	if (r == ERR)
		return 0;
	memset(k, 0, sizeof *k);
	if (r == KEY_CODE_YES) {
		decode_code(wc, k);
		return 1;
	}
	if (wc != 0x1b) {
		decode_char(wc, k);
		return 1;
	}
	/* Esc: alone, or the Alt prefix of what arrived with it. */
	r2 = wget_wch(stdscr, &w2);
	if (r2 == ERR) {
		k->code = UI_KEY_ESC;
		return 1;
	}
	if (r2 == KEY_CODE_YES)
		decode_code(w2, k);
	else if (w2 == 0x1b) {
		unget_wch(w2);
		k->code = UI_KEY_ESC;
		return 1;
	} else
		decode_char(w2, k);
	k->alt = true;
	return 1;
}

void ui_term_resize(void)
{
	struct winsize ws;

	if (!term_active)
		return;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

void ui_term_size(int *rows, int *cols)
{
	if (!term_active) {
		*rows = *cols = 0;
		return;
	}
	getmaxyx(stdscr, *rows, *cols);
}

void ui_term_suspend(void)
{
	if (!term_active)
		return;
	def_prog_mode();
	write_all(SEQ_PASTE_OFF, sizeof SEQ_PASTE_OFF - 1);
	if (term_mouse)
		write_all(SEQ_MOUSE_OFF, sizeof SEQ_MOUSE_OFF - 1);
	endwin();
}

void ui_term_resume(void)
{
	if (!term_active)
		return;
	reset_prog_mode();
	write_all(SEQ_PASTE_ON, sizeof SEQ_PASTE_ON - 1);
	if (term_mouse)
		ui_term_set_mouse(true);
	ui_term_resize();
	clearok(curscr, TRUE);
	refresh();
}

void ui_term_invalidate(void)
{
	if (term_active)
		clearok(curscr, TRUE);
}
