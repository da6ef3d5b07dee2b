/*
 * test_input.c — the input line (ui/editor.c) and keys to actions
 * (ui/input.c): emacs editing over UTF-8 (combining marks move with their
 * base, CJK words), vertical moves over wrapped lines, Enter / Alt-Enter /
 * Ctrl-J, bracketed paste, Ctrl-D, Esc, Ctrl-C, history ↑/↓ and Ctrl-R
 * search, Ctrl-X chords. Pure code: keys are made up, no terminal.
 */
#include "config.h"

#include <string.h>

#include "tests/tap.h"
#include "ui/editor.h"
#include "ui/input.h"

static const char *const hist_entries[] = {"first question", "/temp 0", "second question\nwith two lines",
                                           "third"};

static size_t h_count(void *user)
{
	(void)user;
	return sizeof hist_entries / sizeof *hist_entries;
}

static const char *h_get(void *user, size_t i)
{
	(void)user;
	return i < h_count(NULL) ? hist_entries[i] : NULL;
}

static enum ui_action key(struct ui_input *in, enum ui_key_code code, uint32_t ch, bool alt)
{
	struct ui_key k = {.code = code, .ch = ch, .alt = alt};
	return ui_input_key(in, &k);
}

static enum ui_action ch(struct ui_input *in, uint32_t c)
{
	return key(in, UI_KEY_CHAR, c, false);
}

static void type(struct ui_input *in, const char *s)
{
	for (size_t i = 0; s[i]; i++)
		ch(in, (unsigned char)s[i]);
}

#define CTRL(c) ((c)&0x1f)

int main(void)
{
	struct ui_editor e = {0};
	struct ui_input in = {0};
	size_t line, col, n;

	/* ---- editor ---- */
	ui_editor_set(&e, "héllo wörld", strlen("héllo wörld"));
	TAP_EQ_INT(e.cursor, strlen("héllo wörld"), "set puts the cursor at the end");
	ui_editor_word_left(&e);
	TAP_EQ_INT(e.cursor, strlen("héllo "),
	           "word left stops at the start of a word with non-ASCII letters");
	ui_editor_kill_word_left(&e);
	TAP_EQ_STR(ui_editor_text(&e), "wörld", "kill word left removes \"héllo \"");
	ui_editor_line_end(&e);
	ui_editor_yank(&e);
	TAP_EQ_STR(ui_editor_text(&e), "wörldhéllo ", "yank inserts what was killed");
	ui_editor_set(&e, "ae\xcc\x81", 4);
	ui_editor_left(&e);
	TAP_EQ_INT(e.cursor, 1, "left moves over a letter and its combining mark together");
	ui_editor_right(&e);
	TAP_EQ_INT(e.cursor, 4, "right too");
	ui_editor_backspace(&e);
	TAP_EQ_STR(ui_editor_text(&e), "ae", "backspace removes one code point (the mark)");
	ui_editor_set(&e, "你好世界", strlen("你好世界"));
	ui_editor_left(&e);
	TAP_EQ_INT(e.cursor, 9, "left over a 3-byte ideograph");
	ui_editor_delete(&e);
	TAP_EQ_STR(ui_editor_text(&e), "你好世", "delete removes the ideograph after the cursor");
	ui_editor_set(&e, "one\ntwo", 7);
	e.cursor = 3;
	ui_editor_kill_line_end(&e);
	TAP_EQ_STR(ui_editor_text(&e), "onetwo", "Ctrl-K at a line's end joins the next line");
	ui_editor_set(&e, "one\ntwo", 7);
	ui_editor_line_start(&e);
	TAP_EQ_INT(e.cursor, 4, "line start is the start of the logical line");
	ui_editor_kill_line_start(&e);
	ui_editor_kill_line_start(&e);
	TAP_EQ_STR(ui_editor_text(&e), "one\ntwo", "Ctrl-U at a line's start changes nothing");

	ui_editor_set(&e, "abcdef", 6);
	ui_editor_cursor_pos(&e, 3, &line, &col, &n);
	TAP_EQ_INT(line, 2, "after a full last line the cursor goes to a new line");
	TAP_EQ_INT(col, 0, "... at column 0");
	TAP_EQ_INT(n, 3, "... which counts as a line");
	e.cursor = 3;
	ui_editor_cursor_pos(&e, 3, &line, &col, &n);
	TAP_EQ_INT(line, 1, "a cursor at a soft break sits at the next line's start");
	ui_editor_set(&e, "你好世界ab", strlen("你好世界ab"));
	e.cursor = strlen("你好世界a"); /* line 1 ("世界ab" at width 4? no: lines 你好 | 世界 | ab) */
	ui_editor_cursor_pos(&e, 4, &line, &col, &n);
	TAP_EQ_INT(line, 2, "CJK wraps two ideographs a line at width 4");
	TAP_EQ_INT(col, 1, "... the cursor after 'a' is at column 1");
	tap_ok(ui_editor_up(&e, 4), "up moves to the line above");
	TAP_EQ_INT(e.cursor, strlen("你好"), "... to the column before the ideograph that covers column 1");
	tap_ok(ui_editor_up(&e, 4), "up again");
	TAP_EQ_INT(e.cursor, 0, "... first line");
	tap_ok(!ui_editor_up(&e, 4), "up on the first line reports it (the caller walks the history)");
	tap_ok(ui_editor_down(&e, 4) && ui_editor_down(&e, 4), "down twice");
	TAP_EQ_INT(e.cursor, strlen("你好世界a"), "... comes back to the goal column");
	ui_editor_free(&e);

	/* ---- keys ---- */
	in.width = 40;
	in.hist = (struct ui_history){h_count, h_get, NULL};
	type(&in, "hello");
	TAP_EQ_INT(key(&in, UI_KEY_ENTER, 0, false), UI_ACTION_SEND, "Enter sends");
	TAP_EQ_STR(ui_editor_text(&in.ed), "hello", "... the text stays for the app to take");
	ui_input_reset(&in);
	TAP_EQ_STR(ui_editor_text(&in.ed), "", "reset empties the line");
	type(&in, "a");
	TAP_EQ_INT(key(&in, UI_KEY_ENTER, 0, true), UI_ACTION_REDRAW, "Alt-Enter does not send");
	ch(&in, CTRL('j'));
	type(&in, "b");
	TAP_EQ_STR(ui_editor_text(&in.ed), "a\n\nb", "Alt-Enter and Ctrl-J insert newlines");
	ui_input_reset(&in);

	key(&in, UI_KEY_PASTE_BEGIN, 0, false);
	type(&in, "line 1");
	TAP_EQ_INT(key(&in, UI_KEY_ENTER, 0, false), UI_ACTION_REDRAW, "Enter inside a paste does not send");
	type(&in, "line 2\r");
	ch(&in, CTRL('d'));
	key(&in, UI_KEY_PASTE_END, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "line 1\nline 2\n\x04",
	           "a paste arrives as text, CR as newline, controls kept");
	TAP_EQ_INT(key(&in, UI_KEY_ENTER, 0, false), UI_ACTION_SEND,
	           "after the paste Enter sends it as one message");
	ui_input_reset(&in);

	TAP_EQ_INT(ch(&in, CTRL('d')), UI_ACTION_QUIT, "Ctrl-D on an empty line quits");
	type(&in, "xy");
	ch(&in, CTRL('a'));
	TAP_EQ_INT(ch(&in, CTRL('d')), UI_ACTION_REDRAW, "Ctrl-D on text deletes");
	TAP_EQ_STR(ui_editor_text(&in.ed), "y", "... the character under the cursor");
	TAP_EQ_INT(key(&in, UI_KEY_ESC, 0, false), UI_ACTION_CANCEL, "Esc asks to stop generation");
	TAP_EQ_INT(ch(&in, CTRL('c')), UI_ACTION_INTERRUPT, "Ctrl-C interrupts (the app decides what)");
	TAP_EQ_INT(ch(&in, CTRL('t')), UI_ACTION_THINK_TOGGLE, "Ctrl-T folds thinking");
	TAP_EQ_INT(ch(&in, CTRL('o')), UI_ACTION_FOCUS_NEXT, "Ctrl-O moves the focus");
	TAP_EQ_INT(ch(&in, CTRL('x')), UI_ACTION_NONE, "Ctrl-X waits for the chord");
	TAP_EQ_INT(ch(&in, CTRL('e')), UI_ACTION_EXT_EDITOR, "Ctrl-X Ctrl-E opens $EDITOR");
	ch(&in, CTRL('x'));
	TAP_EQ_INT(ch(&in, 'b'), UI_ACTION_BROADCAST_TOGGLE, "Ctrl-X b toggles broadcast");
	TAP_EQ_STR(ui_editor_text(&in.ed), "y", "chords insert nothing");
	TAP_EQ_INT(key(&in, UI_KEY_TAB, 0, false), UI_ACTION_COMPLETE, "Tab completes");
	TAP_EQ_INT(key(&in, UI_KEY_PGUP, 0, false), UI_ACTION_PAGE_UP, "PgUp scrolls");
	TAP_EQ_INT(ch(&in, 0x9b), UI_ACTION_NONE, "a C1 control is not inserted");
	TAP_EQ_INT(ch(&in, CTRL('q')), UI_ACTION_NONE, "an unbound control is not inserted");
	TAP_EQ_STR(ui_editor_text(&in.ed), "y", "... the line is unchanged");

	/* history */
	ui_input_reset(&in);
	type(&in, "draft");
	key(&in, UI_KEY_UP, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "third", "↑ shows the newest entry");
	key(&in, UI_KEY_UP, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "second question\nwith two lines",
	           "↑ again: the one before (multi-line)");
	key(&in, UI_KEY_UP, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "second question\nwith two lines",
	           "↑ inside a multi-line entry moves up a line first");
	key(&in, UI_KEY_UP, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "/temp 0", "... then to the older entry");
	key(&in, UI_KEY_DOWN, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "second question\nwith two lines",
	           "↓ walks back (cursor at its end)");
	key(&in, UI_KEY_DOWN, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "third", "↓ from an entry's last line goes to the newer entry");
	key(&in, UI_KEY_DOWN, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "draft", "↓ past the newest restores the draft");

	/* Ctrl-R */
	ui_input_reset(&in);
	ch(&in, CTRL('r'));
	tap_ok(in.searching, "Ctrl-R starts a search");
	type(&in, "question");
	TAP_EQ_STR(ui_editor_text(&in.ed), "second question\nwith two lines",
	           "the newest entry holding the text");
	ch(&in, CTRL('r'));
	TAP_EQ_STR(ui_editor_text(&in.ed), "first question", "Ctrl-R again: an older one");
	{
		char *p = ui_input_search_prompt(&in);
		TAP_EQ_STR(p, "(search)'question': ", "the search prompt shows the query");
		free(p);
	}
	TAP_EQ_INT(key(&in, UI_KEY_ENTER, 0, false), UI_ACTION_SEND, "Enter accepts and sends the match");
	tap_ok(!in.searching, "... and ends the search");
	ui_input_reset(&in);
	type(&in, "keep");
	ch(&in, CTRL('r'));
	type(&in, "zzz");
	{
		char *p = ui_input_search_prompt(&in);
		TAP_EQ_STR(p, "(failed search)'zzz': ", "a search without a match says so");
		free(p);
	}
	key(&in, UI_KEY_ESC, 0, false);
	TAP_EQ_STR(ui_editor_text(&in.ed), "keep", "Esc ends the search and restores the line");
	ch(&in, CTRL('r'));
	type(&in, "thi");
	key(&in, UI_KEY_LEFT, 0, false);
	tap_ok(!in.searching, "a movement key accepts the match");
	TAP_EQ_STR(ui_editor_text(&in.ed), "third", "... keeping it to edit");
	ui_input_free(&in);
	return tap_done();
}
