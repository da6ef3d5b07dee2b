/*
 * input.c — keys to edits and actions (ui/input.h). Pure: the key codes are
 * duet's own, ui/term.c decodes the terminal's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ui/input.h"
#include "ui/text.h"

#define CTRL(c) ((c)&0x1f)

void ui_input_free(struct ui_input *in)
{
	ui_editor_free(&in->ed);
	ui_buf_free(&in->typed);
	ui_buf_free(&in->query);
	ui_buf_free(&in->search_saved);
}

void ui_input_reset(struct ui_input *in)
{
	ui_editor_clear(&in->ed);
	in->browsing = false;
	in->searching = false;
	in->paste = false;
	in->ctrl_x = false;
}

static size_t hist_count(const struct ui_input *in)
{
	return in->hist.count ? in->hist.count(in->hist.user) : 0;
}

static const char *hist_get(const struct ui_input *in, size_t i)
{
	const char *s = in->hist.get ? in->hist.get(in->hist.user, i) : NULL;
	return s ? s : "";
}

static bool history_prev(struct ui_input *in)
{
	size_t n = hist_count(in);

	if (!in->browsing) {
		if (n == 0)
			return false;
		ui_buf_set(&in->typed, ui_editor_text(&in->ed), ui_editor_len(&in->ed));
		in->browsing = true;
		in->hist_pos = n;
	}
	if (in->hist_pos == 0)
		return false;
	in->hist_pos--;
	ui_editor_set(&in->ed, hist_get(in, in->hist_pos), strlen(hist_get(in, in->hist_pos)));
	return true;
}

static bool history_next(struct ui_input *in)
{
	size_t n = hist_count(in);

	if (!in->browsing)
		return false;
	if (in->hist_pos + 1 >= n) {
		in->browsing = false;
		ui_editor_set(&in->ed, in->typed.data ? in->typed.data : "", in->typed.len);
		return true;
	}
	in->hist_pos++;
	ui_editor_set(&in->ed, hist_get(in, in->hist_pos), strlen(hist_get(in, in->hist_pos)));
	return true;
}

/* Search entries older than `before` (exclusive) for the query; show the newest that holds it. */
static void search_from(struct ui_input *in, size_t before)
{
	const char *q = in->query.data ? in->query.data : "";

	for (size_t i = before; i-- > 0;) {
		const char *e = hist_get(in, i);
		const char *hit = strstr(e, q);
		if (hit) {
			in->match = i;
			in->have_match = true;
			ui_editor_set(&in->ed, e, strlen(e));
			in->ed.cursor = (size_t)(hit - e);
			return;
		}
	}
	/* No (further) match: keep what is shown; the prompt says so. */
	if (!in->have_match)
		ui_editor_set(&in->ed, in->search_saved.data ? in->search_saved.data : "",
		              in->search_saved.len);
}

static void search_start(struct ui_input *in)
{
	in->searching = true;
	in->have_match = false;
	ui_buf_set(&in->query, "", 0);
	ui_buf_set(&in->search_saved, ui_editor_text(&in->ed), ui_editor_len(&in->ed));
}

static void search_end(struct ui_input *in, bool keep)
{
	in->searching = false;
	in->browsing = false;
	if (!keep)
		ui_editor_set(&in->ed, in->search_saved.data ? in->search_saved.data : "",
		              in->search_saved.len);
}

char *ui_input_search_prompt(const struct ui_input *in)
{
	if (!in->searching)
		return NULL;
	return ui_xasprintf("(%ssearch)'%s': ", in->have_match || !in->query.len ? "" : "failed ",
	                    in->query.data ? in->query.data : "");
}

/* UTF-8 of cp into u; returns the length (0 for a value past U+10FFFF). */
static size_t utf8_encode(uint32_t cp, char u[4])
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp < 0x110000) {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		return 4;
	}
	return 0;
}

static void insert_char(struct ui_editor *ed, uint32_t cp)
{
	char u[4];
	size_t n = utf8_encode(cp, u);

	if (n)
		ui_editor_insert(ed, u, n);
}

static enum ui_action key_search(struct ui_input *in, const struct ui_key *k)
{
	if (k->code == UI_KEY_CHAR && !k->alt && k->ch >= 0x20 && k->ch != 0x7f) {
		char u[4];
		ui_buf_append(&in->query, u, utf8_encode(k->ch, u));
		/* A longer query may still match the current entry. */
		search_from(in, in->have_match ? in->match + 1 : hist_count(in));
		return UI_ACTION_REDRAW;
	}
	if (k->code == UI_KEY_CHAR && k->ch == CTRL('r')) {
		search_from(in, in->have_match ? in->match : hist_count(in));
		return UI_ACTION_REDRAW;
	}
	if (k->code == UI_KEY_BACKSPACE) {
		size_t n = in->query.len;
		while (n > 0 && (in->query.data[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;
		ui_buf_erase(&in->query, n, in->query.len - n);
		in->have_match = false;
		search_from(in, hist_count(in));
		return UI_ACTION_REDRAW;
	}
	if (k->code == UI_KEY_ESC || (k->code == UI_KEY_CHAR && (k->ch == CTRL('g') || k->ch == CTRL('c')))) {
		search_end(in, false);
		return UI_ACTION_REDRAW;
	}
	if (k->code == UI_KEY_ENTER) {
		search_end(in, true);
		return UI_ACTION_SEND;
	}
	/* Any other key accepts the match and then does its usual job. */
	search_end(in, true);
	return UI_ACTION_REDRAW;
}

static enum ui_action key_ctrl(struct ui_input *in, uint32_t c)
{
	struct ui_editor *ed = &in->ed;

	switch (c) {
	case CTRL('a'):
		return ui_editor_line_start(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('e'):
		return ui_editor_line_end(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('b'):
		return ui_editor_left(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('f'):
		return ui_editor_right(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('d'):
		if (ui_editor_len(ed) == 0)
			return UI_ACTION_QUIT;
		return ui_editor_delete(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('h'):
		return ui_editor_backspace(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('k'):
		return ui_editor_kill_line_end(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('u'):
		return ui_editor_kill_line_start(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('w'):
		return ui_editor_kill_word_left(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('y'):
		return ui_editor_yank(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('j'):
		ui_editor_insert(ed, "\n", 1);
		return UI_ACTION_REDRAW;
	case CTRL('l'):
		return UI_ACTION_REFRESH;
	case CTRL('p'):
		return history_prev(in) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('n'):
		return history_next(in) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case CTRL('r'):
		search_start(in);
		return UI_ACTION_REDRAW;
	case CTRL('c'):
		return UI_ACTION_INTERRUPT;
	case CTRL('t'):
		return UI_ACTION_THINK_TOGGLE;
	case CTRL('o'):
		return UI_ACTION_FOCUS_NEXT;
	case CTRL('x'):
		in->ctrl_x = true;
		return UI_ACTION_NONE;
	case CTRL('z'):
		return UI_ACTION_SUSPEND;
	default:
		return UI_ACTION_NONE; /* other controls are not text */
	}
}

static enum ui_action key_chord(struct ui_input *in, const struct ui_key *k)
{
	in->ctrl_x = false;
	if (k->code != UI_KEY_CHAR)
		return UI_ACTION_NONE;
	if (k->ch == CTRL('e'))
		return UI_ACTION_EXT_EDITOR;
	if (k->ch == 'b')
		return UI_ACTION_BROADCAST_TOGGLE;
	if (k->ch == 'o')
		return UI_ACTION_FOCUS_NEXT;
	return UI_ACTION_NONE;
}

static enum ui_action key_paste(struct ui_input *in, const struct ui_key *k)
{
	/* Pasted text is text: an Esc (which the decoder reads as an Alt prefix) stays in it. */
	if (k->alt)
		ui_editor_insert(&in->ed, "\x1b", 1);
	switch (k->code) {
	case UI_KEY_ESC:
		ui_editor_insert(&in->ed, "\x1b", 1);
		return UI_ACTION_REDRAW;
	case UI_KEY_PASTE_END:
		in->paste = false;
		return UI_ACTION_REDRAW;
	case UI_KEY_ENTER:
		ui_editor_insert(&in->ed, "\n", 1);
		return UI_ACTION_REDRAW;
	case UI_KEY_TAB:
		ui_editor_insert(&in->ed, "\t", 1);
		return UI_ACTION_REDRAW;
	case UI_KEY_CHAR:
		if (k->ch == '\r')
			ui_editor_insert(&in->ed, "\n", 1);
		else
			insert_char(&in->ed, k->ch);
		return UI_ACTION_REDRAW;
	default:
		return UI_ACTION_NONE;
	}
}

enum ui_action ui_input_key(struct ui_input *in, const struct ui_key *k)
{
	struct ui_editor *ed = &in->ed;
	enum ui_action act;

	if (k->code == UI_KEY_RESIZE)
		return UI_ACTION_RESIZE;
	if (k->code == UI_KEY_PASTE_BEGIN) {
		in->paste = true;
		in->ctrl_x = false;
		if (in->searching)
			search_end(in, true);
		return UI_ACTION_NONE;
	}
	if (in->paste)
		return key_paste(in, k);
	if (in->ctrl_x)
		return key_chord(in, k);
	if (in->searching && k->code != UI_KEY_PGUP && k->code != UI_KEY_PGDN && k->code != UI_KEY_WHEEL_UP &&
	    k->code != UI_KEY_WHEEL_DOWN) {
		act = key_search(in, k);
		if (in->searching || act == UI_ACTION_SEND || k->code == UI_KEY_ESC ||
		    (k->code == UI_KEY_CHAR && (k->ch == CTRL('g') || k->ch == CTRL('c'))))
			return act;
		/* The search ended by this key: it now does its usual job. */
	}

	switch (k->code) {
	case UI_KEY_ENTER:
		if (k->alt) {
			ui_editor_insert(ed, "\n", 1);
			return UI_ACTION_REDRAW;
		}
		return UI_ACTION_SEND;
	case UI_KEY_CHAR:
		if (k->alt) {
			switch (k->ch) {
			case 'b':
				return ui_editor_word_left(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
			case 'f':
				return ui_editor_word_right(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
			case 'd':
				return ui_editor_kill_word_right(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
			case '\r':
			case '\n':
				ui_editor_insert(ed, "\n", 1);
				return UI_ACTION_REDRAW;
			case '<':
				ed->cursor = 0;
				return UI_ACTION_REDRAW;
			case '>':
				ed->cursor = ui_editor_len(ed);
				return UI_ACTION_REDRAW;
			default:
				return UI_ACTION_NONE;
			}
		}
		if (k->ch < 0x20)
			return key_ctrl(in, k->ch);
		if (k->ch == 0x7f || (k->ch >= 0x80 && k->ch < 0xa0))
			return UI_ACTION_NONE;
		insert_char(ed, k->ch);
		return UI_ACTION_REDRAW;
	case UI_KEY_TAB:
		return UI_ACTION_COMPLETE;
	case UI_KEY_BACKSPACE:
		if (k->alt)
			return ui_editor_kill_word_left(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
		return ui_editor_backspace(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case UI_KEY_DELETE:
		return ui_editor_delete(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case UI_KEY_LEFT:
		return (k->alt ? ui_editor_word_left(ed) : ui_editor_left(ed)) ? UI_ACTION_REDRAW
		                                                               : UI_ACTION_NONE;
	case UI_KEY_RIGHT:
		return (k->alt ? ui_editor_word_right(ed) : ui_editor_right(ed)) ? UI_ACTION_REDRAW
		                                                                 : UI_ACTION_NONE;
	case UI_KEY_HOME:
		return ui_editor_line_start(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case UI_KEY_END:
		return ui_editor_line_end(ed) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case UI_KEY_UP:
		if (ui_editor_up(ed, in->width))
			return UI_ACTION_REDRAW;
		return history_prev(in) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case UI_KEY_DOWN:
		if (ui_editor_down(ed, in->width))
			return UI_ACTION_REDRAW;
		return history_next(in) ? UI_ACTION_REDRAW : UI_ACTION_NONE;
	case UI_KEY_PGUP:
		return UI_ACTION_PAGE_UP;
	case UI_KEY_PGDN:
		return UI_ACTION_PAGE_DOWN;
	case UI_KEY_WHEEL_UP:
		return UI_ACTION_WHEEL_UP;
	case UI_KEY_WHEEL_DOWN:
		return UI_ACTION_WHEEL_DOWN;
	case UI_KEY_CLICK:
		return UI_ACTION_CLICK;
	case UI_KEY_ESC:
		return UI_ACTION_CANCEL;
	default:
		return UI_ACTION_NONE;
	}
}
