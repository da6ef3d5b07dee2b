/*
 * theme.c — default colours (ui/theme.h). Pure data.
 */
#include "config.h"

#include <string.h>

#include "ui/theme.h"

static const char *const style_names[UI_STYLE__COUNT] = {
        [UI_STYLE_TEXT] = "text",
        [UI_STYLE_USER] = "user",
        [UI_STYLE_USER_MARK] = "user-mark",
        [UI_STYLE_THINK] = "think",
        [UI_STYLE_THINK_HEAD] = "think-head",
        [UI_STYLE_BOXED] = "boxed",
        [UI_STYLE_AGREE] = "agree",
        [UI_STYLE_DISAGREE] = "disagree",
        [UI_STYLE_NOTE] = "note",
        [UI_STYLE_ERROR] = "error",
        [UI_STYLE_STOPPED] = "stopped",
        [UI_STYLE_ESCAPE] = "escape",
        [UI_STYLE_TITLE] = "title",
        [UI_STYLE_TITLE_FOCUS] = "title-focus",
        [UI_STYLE_STATUS] = "status",
        [UI_STYLE_BORDER] = "border",
        [UI_STYLE_PROMPT] = "prompt",
        [UI_STYLE_INPUT] = "input",
        [UI_STYLE_MESSAGE] = "message",
        [UI_STYLE_MESSAGE_ERROR] = "message-error",
        [UI_STYLE_PROGRESS] = "progress",
};

int ui_style_parse(const char *name)
{
	for (int i = 0; i < UI_STYLE__COUNT; i++)
		if (name && strcmp(name, style_names[i]) == 0)
			return i;
	return -1;
}

const char *ui_style_name(enum ui_style s)
{
	return (unsigned)s < UI_STYLE__COUNT ? style_names[s] : "?";
}

short ui_theme_colour8(short c)
{
	if (c < 8)
		return c;
	if (c < 16)
		return (short)(c - 8);
	if (c >= 232)
		return c < 244 ? 0 : 7;
	c = (short)(c - 16);
	/* The 6x6x6 cube: a channel counts when it is at least half on. */
	return (short)(((c / 36) >= 3 ? 1 : 0) | (((c / 6) % 6) >= 3 ? 2 : 0) | ((c % 6) >= 3 ? 4 : 0));
}

#define S(f, b, a) ((struct ui_style_spec){(f), (b), (a)})

void ui_theme_default(struct ui_theme *t, int colours)
{
	struct ui_style_spec *s = t->style;

	for (int i = 0; i < UI_STYLE__COUNT; i++)
		s[i] = S(-1, -1, 0);
	if (colours <= 0) {
		s[UI_STYLE_USER] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_USER_MARK] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_THINK] = S(-1, -1, UI_ATTR_DIM);
		s[UI_STYLE_THINK_HEAD] = S(-1, -1, UI_ATTR_DIM);
		s[UI_STYLE_BOXED] = S(-1, -1, UI_ATTR_BOLD | UI_ATTR_UNDERLINE);
		s[UI_STYLE_AGREE] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_DISAGREE] = S(-1, -1, UI_ATTR_BOLD | UI_ATTR_REVERSE);
		s[UI_STYLE_NOTE] = S(-1, -1, UI_ATTR_DIM);
		s[UI_STYLE_ERROR] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_STOPPED] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_ESCAPE] = S(-1, -1, UI_ATTR_REVERSE);
		s[UI_STYLE_TITLE] = S(-1, -1, UI_ATTR_REVERSE);
		s[UI_STYLE_TITLE_FOCUS] = S(-1, -1, UI_ATTR_REVERSE | UI_ATTR_BOLD);
		s[UI_STYLE_STATUS] = S(-1, -1, UI_ATTR_DIM);
		s[UI_STYLE_BORDER] = S(-1, -1, UI_ATTR_DIM);
		s[UI_STYLE_PROMPT] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_MESSAGE_ERROR] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_PROGRESS] = S(-1, -1, UI_ATTR_REVERSE);
		return;
	}
	if (colours < 256) {
		s[UI_STYLE_USER] = S(-1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_USER_MARK] = S(6, -1, UI_ATTR_BOLD);
		s[UI_STYLE_THINK] = S(-1, -1, UI_ATTR_DIM);
		s[UI_STYLE_THINK_HEAD] = S(6, -1, UI_ATTR_DIM);
		s[UI_STYLE_BOXED] = S(3, -1, UI_ATTR_BOLD);
		s[UI_STYLE_AGREE] = S(2, -1, UI_ATTR_BOLD);
		s[UI_STYLE_DISAGREE] = S(1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_NOTE] = S(6, -1, 0);
		s[UI_STYLE_ERROR] = S(1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_STOPPED] = S(3, -1, 0);
		s[UI_STYLE_ESCAPE] = S(5, -1, 0);
		s[UI_STYLE_TITLE] = S(0, 7, 0);
		s[UI_STYLE_TITLE_FOCUS] = S(7, 4, UI_ATTR_BOLD);
		s[UI_STYLE_STATUS] = S(6, -1, 0);
		s[UI_STYLE_BORDER] = S(4, -1, 0);
		s[UI_STYLE_PROMPT] = S(6, -1, UI_ATTR_BOLD);
		s[UI_STYLE_MESSAGE_ERROR] = S(1, -1, UI_ATTR_BOLD);
		s[UI_STYLE_PROGRESS] = S(2, -1, UI_ATTR_REVERSE);
		return;
	}
	s[UI_STYLE_USER] = S(255, -1, UI_ATTR_BOLD);
	s[UI_STYLE_USER_MARK] = S(39, -1, UI_ATTR_BOLD);
	s[UI_STYLE_THINK] = S(245, -1, 0);
	s[UI_STYLE_THINK_HEAD] = S(109, -1, 0);
	s[UI_STYLE_BOXED] = S(220, -1, UI_ATTR_BOLD);
	s[UI_STYLE_AGREE] = S(78, -1, UI_ATTR_BOLD);
	s[UI_STYLE_DISAGREE] = S(203, -1, UI_ATTR_BOLD);
	s[UI_STYLE_NOTE] = S(110, -1, 0);
	s[UI_STYLE_ERROR] = S(203, -1, UI_ATTR_BOLD);
	s[UI_STYLE_STOPPED] = S(214, -1, 0);
	s[UI_STYLE_ESCAPE] = S(170, -1, 0);
	s[UI_STYLE_TITLE] = S(252, 238, 0);
	s[UI_STYLE_TITLE_FOCUS] = S(231, 25, UI_ATTR_BOLD);
	s[UI_STYLE_STATUS] = S(244, -1, 0);
	s[UI_STYLE_BORDER] = S(240, -1, 0);
	s[UI_STYLE_PROMPT] = S(39, -1, UI_ATTR_BOLD);
	s[UI_STYLE_MESSAGE] = S(250, -1, 0);
	s[UI_STYLE_MESSAGE_ERROR] = S(203, -1, UI_ATTR_BOLD);
	s[UI_STYLE_PROGRESS] = S(78, -1, 0);
}
