/*
 * text.c — display width of UTF-8 text by Unicode's East Asian Width and
 * general category, through utf8proc (the same tables the tokenizer's NFC
 * comes from). No curses here: drawing code calls these.
 */
#include "config.h"

#include "ui/text.h"

#include <utf8proc.h>

size_t ui_text_next(const char *s, size_t n, uint32_t *cp)
{
	utf8proc_int32_t c;
	utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &c);

	if (len <= 0 || c < 0) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = (uint32_t)c;
	return (size_t)len;
}

bool ui_text_is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

void ui_text_escape(uint32_t cp, char out[5])
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[(cp >> 4) & 0xf];
	out[3] = hex[cp & 0xf];
	out[4] = '\0';
}

int ui_text_col_width(uint32_t cp, size_t col)
{
	if (cp == '\t')
		return UI_TEXT_TAB - (int)(col % UI_TEXT_TAB);
	return ui_text_char_width(cp);
}

int ui_text_char_width(uint32_t cp)
{
	if (ui_text_is_control(cp))
		return 4; /* shown as "\xNN" */
	int w = utf8proc_charwidth((utf8proc_int32_t)cp);
	return w < 0 ? 1 : w > 2 ? 2 : w;
}

size_t ui_text_width(const char *s, size_t n)
{
	size_t cols = 0, i = 0;

	while (i < n) {
		uint32_t cp;
		i += ui_text_next(s + i, n - i, &cp);
		cols += (size_t)ui_text_char_width(cp);
	}
	return cols;
}

size_t ui_text_fit(const char *s, size_t n, size_t max_cols, size_t *cols)
{
	size_t used = 0, i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len = ui_text_next(s + i, n - i, &cp);
		size_t w = (size_t)ui_text_char_width(cp);
		if (used + w > max_cols)
			break;
		used += w;
		i += len;
	}
	if (cols)
		*cols = used;
	return i;
}
