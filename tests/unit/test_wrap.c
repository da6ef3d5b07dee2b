/*
 * test_wrap.c — wrapping by display width (ui/wrap.c). Expected lines are
 * worked out by hand from Unicode's East Asian Width (CJK and emoji two
 * columns, combining marks none) and the rules in ui/wrap.h; a randomised
 * check then holds every line of mixed scripts to the width and to the
 * text it came from.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "ui/text.h"
#include "ui/wrap.h"

/* The lines of s at width as "a|b|c". */
static const char *lines(const char *s, size_t width, bool words)
{
	static char out[4096];
	struct ui_wrap w = {0};
	size_t o = 0;

	ui_wrap_text(s, strlen(s), width, words, &w);
	out[0] = '\0';
	for (size_t i = 0; i < w.n; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s", i ? "|" : "", (int)w.v[i].len,
		                      s + w.v[i].start);
	ui_wrap_free(&w);
	return out;
}

static size_t max_cols(const char *s, size_t width, bool words)
{
	struct ui_wrap w = {0};
	size_t m = 0;

	ui_wrap_text(s, strlen(s), width, words, &w);
	for (size_t i = 0; i < w.n; i++)
		if (w.v[i].cols > m)
			m = w.v[i].cols;
	ui_wrap_free(&w);
	return m;
}

/* A random mix of scripts, spaces and newlines. */
static void random_text(char *buf, size_t size, unsigned *seed)
{
	static const char *const atoms[] = {"a",        "b",  "word", " ",    " ", "  ",
	                                    "\n",       "你", "好",   "世界", "😀", "e\xcc\x81",
	                                    "\xcc\x81", "\t", "\x1b", "x-y",  "ü"};
	size_t o = 0, n = (size_t)(rand_r(seed) % 40);

	for (size_t i = 0; i < n; i++) {
		const char *a = atoms[rand_r(seed) % (sizeof atoms / sizeof *atoms)];
		size_t l = strlen(a);
		if (o + l + 1 >= size)
			break;
		memcpy(buf + o, a, l);
		o += l;
	}
	buf[o] = '\0';
}

int main(void)
{
	unsigned seed = 12345;
	int bad_width = 0, bad_cover = 0, bad_cols = 0;

	TAP_EQ_STR(lines("hello world", 11, true), "hello world", "a line that fits stays whole");
	TAP_EQ_STR(lines("hello world", 5, true), "hello|world",
	           "words break at the space, which belongs to no line");
	TAP_EQ_STR(lines("hello   world", 8, true), "hello|world", "a run of spaces at a break disappears");
	TAP_EQ_STR(lines("one two three four", 9, true), "one two|three|four",
	           "several words fill each line");
	TAP_EQ_STR(lines("abcdefghij", 4, true), "abcd|efgh|ij",
	           "a word longer than the line breaks at characters");
	TAP_EQ_STR(lines("你好世界", 5, true), "你好|世界", "CJK breaks between characters, 2 columns each");
	TAP_EQ_STR(lines("你好世界", 4, true), "你好|世界", "four columns hold two ideographs");
	TAP_EQ_STR(lines("你好", 1, true), "你|好", "an ideograph wider than the line takes a line alone");
	TAP_EQ_STR(lines("Hello 世界 and more", 8, true), "Hello|世界 and|more", "mixed Latin and CJK");
	TAP_EQ_STR(lines("e\xcc\x81"
	                 "e\xcc\x81"
	                 "e\xcc\x81",
	                 2, true),
	           "e\xcc\x81"
	           "e\xcc\x81|e\xcc\x81",
	           "a combining mark stays with its base and takes no column");
	TAP_EQ_STR(lines("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 4, true),
	           "\xf0\x9f\x98\x80\xf0\x9f\x98\x80|\xf0\x9f\x98\x80", "emoji are two columns");
	TAP_EQ_STR(lines("a\n\nb", 10, true), "a||b", "newlines end lines; an empty line stays");
	TAP_EQ_STR(lines("abc\n", 10, true), "abc|", "a trailing newline gives an empty last line");
	TAP_EQ_STR(lines("", 10, true), "", "empty text is one empty line");
	{
		struct ui_wrap w = {0};
		ui_wrap_text("", 0, 10, true, &w);
		TAP_EQ_INT(w.n, 1, "... exactly one");
		ui_wrap_free(&w);
	}
	TAP_EQ_STR(lines("\x1b[31mred", 6, true), "\x1b[3|1mred",
	           "ESC measures as its 4-column escape \\x1b and is never split");
	TAP_EQ_INT(max_cols("a\tb", 20, true), 5, "a tab reaches the next stop of 4 (a=1, tab=3, b=1)");
	TAP_EQ_STR(lines("abc def", 3, false), "abc| de|f", "character wrapping keeps every space");
	TAP_EQ_STR(lines("abcdef", 3, false), "abc|def", "character wrapping at the exact width");
	TAP_EQ_STR(lines("ab 你好", 4, false), "ab |你好", "a wide character that does not fit moves down");
	TAP_EQ_STR(lines("word", 0, true), "w|o|r|d", "width 0 is taken as 1");

	/* Randomised: every line fits (or is a single cluster), the columns are right, and the text is
	 * covered. */
	for (int iter = 0; iter < 3000; iter++) {
		char text[512];
		size_t width = 1 + (size_t)(rand_r(&seed) % 12);
		bool words = rand_r(&seed) % 2;
		struct ui_wrap w = {0};
		size_t pos = 0;

		random_text(text, sizeof text, &seed);
		ui_wrap_text(text, strlen(text), width, words, &w);
		for (size_t i = 0; i < w.n; i++) {
			const struct ui_wrap_line *l = &w.v[i];
			size_t c = 0;
			uint32_t cp;
			size_t first = l->len ? ui_text_next(text + l->start, l->len, &cp) : 0;
			/* columns as drawn: tabs from the line's start */
			for (size_t j = 0; j < l->len;) {
				j += ui_text_next(text + l->start + j, l->len - j, &cp);
				c += (size_t)ui_text_col_width(cp, c);
			}
			if (c != l->cols)
				bad_cols++;
			if (l->cols > width) {
				/* only a single character (with its marks) may exceed */
				size_t rest = first;
				while (rest < l->len) {
					size_t k = ui_text_next(text + l->start + rest, l->len - rest, &cp);
					if (ui_text_char_width(cp) != 0 || cp == '\t' ||
					    ui_text_is_control(cp))
						break;
					rest += k;
				}
				if (rest != l->len)
					bad_width++;
			}
			/* Between lines only spaces (word mode) or one newline may be skipped. */
			for (size_t j = pos; j < l->start; j++)
				if (!(text[j] == '\n' || (words && text[j] == ' ')))
					bad_cover++;
			if (l->start < pos)
				bad_cover++;
			pos = l->start + l->len;
		}
		for (size_t j = pos; j < strlen(text); j++)
			if (!(text[j] == '\n' || (words && text[j] == ' ')))
				bad_cover++;
		ui_wrap_free(&w);
	}
	TAP_EQ_INT(bad_width, 0, "random text: no line wider than the width but a lone wide character");
	TAP_EQ_INT(bad_cols, 0, "random text: each line's cols is its drawn width");
	TAP_EQ_INT(bad_cover, 0, "random text: lines cover the text in order, skipping only breaks");
	return tap_done();
}
