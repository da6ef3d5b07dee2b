/*
 * draw.c — the screen from plain data (ui/draw.h). With term.c the only
 * curses code. Every character goes through draw_run, which paints
 * controls as escapes, expands tabs, keeps combining marks with their base
 * and never lets a wide character straddle the edge.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ui/draw.h"
#include "ui/mem.h"
#include "ui/term_impl.h"
#include "ui/text.h"
#include "ui/wrap.h"

#define CLUSTER_MAX 5 /* CCHARW_MAX: a base and four marks */

static void put_cluster(int y, int x, const wchar_t *wc, int n, enum ui_style style)
{
	cchar_t cc;
	wchar_t buf[CLUSTER_MAX + 1];
	attr_t a;
	short pair;

	ui_term_style(style, &a, &pair);
	memcpy(buf, wc, (size_t)n * sizeof *wc);
	buf[n] = L'\0';
	if (setcchar(&cc, buf, a, pair, NULL) == OK)
		mvadd_wch(y, x, &cc);
}

static void put_ascii(int y, int x, const char *s, int w, enum ui_style style)
{
	for (int i = 0; i < w && s[i]; i++) {
		wchar_t c = (wchar_t)(unsigned char)s[i];
		put_cluster(y, x + i, &c, 1, style);
	}
}

/* Fill columns [x, x + w) of row y with spaces of a style. */
static void fill(int y, int x, int w, enum ui_style style)
{
	for (int i = 0; i < w; i++)
		put_ascii(y, x + i, " ", 1, style);
}

/*
 * Paint s[0..n) at row y from column x, at most w columns; bytes [hl_a,
 * hl_b) in hl_style. Tab stops count from col0 (the line's first column).
 * Returns the columns painted.
 */
static int draw_run(int y, int x, int w, const char *s, size_t n, enum ui_style style, size_t hl_a,
                    size_t hl_b, enum ui_style hl_style)
{
	size_t i = 0;
	int col = 0;

	while (i < n && col < w) {
		uint32_t cp;
		size_t at = i, len = ui_text_next(s + i, n - i, &cp);
		enum ui_style st = at >= hl_a && at < hl_b ? hl_style : style;
		int cw;

		i += len;
		if (cp == '\t') {
			cw = ui_text_col_width(cp, (size_t)col);
			for (int k = 0; k < cw && col < w; k++, col++)
				put_ascii(y, x + col, " ", 1, st);
			continue;
		}
		if (ui_text_is_control(cp)) {
			char esc[5];
			ui_text_escape(cp, esc);
			if (col + 4 > w)
				break;
			put_ascii(y, x + col, esc, 4, UI_STYLE_ESCAPE);
			col += 4;
			continue;
		}
		cw = ui_text_char_width(cp);
		if (cw == 0)
			continue; /* a mark with no base before it in this run */
		if (col + cw > w)
			break;
		{
			wchar_t cl[CLUSTER_MAX];
			int nc = 0;
			cl[nc++] = (wchar_t)cp;
			/* Gather the zero-width marks that follow. */
			while (i < n) {
				uint32_t c2;
				size_t l2 = ui_text_next(s + i, n - i, &c2);
				if (ui_text_is_control(c2) || c2 == '\t' || ui_text_char_width(c2) != 0)
					break;
				if (nc < CLUSTER_MAX)
					cl[nc++] = (wchar_t)c2;
				i += l2;
			}
			put_cluster(y, x + col, cl, nc, st);
			col += cw;
		}
	}
	return col;
}

static int draw_str(int y, int x, int w, const char *s, enum ui_style style)
{
	return draw_run(y, x, w, s, strlen(s), style, 0, 0, style);
}

static void draw_title(const struct ui_rect *r, const struct ui_pane_view *p)
{
	enum ui_style st = p->focused ? UI_STYLE_TITLE_FOCUS : UI_STYLE_TITLE;
	char right[96];
	size_t rw;
	int used;

	if (r->h < 1 || r->w < 1)
		return;
	fill(r->y, r->x, r->w, st);
	if (p->view && p->view->scroll > 0)
		snprintf(right, sizeof right, "↓%zu %s", p->view->scroll,
		         p->title_right ? p->title_right : "");
	else
		snprintf(right, sizeof right, "%s", p->title_right ? p->title_right : "");
	rw = ui_text_width(right, strlen(right));
	used = draw_str(r->y, r->x + 1, r->w - 2, p->title ? p->title : "", st);
	if ((int)rw + 2 + used + 1 <= r->w)
		draw_str(r->y, r->x + r->w - 1 - (int)rw, (int)rw, right, st);
}

static void draw_status(const struct ui_rect *r, const struct ui_pane_view *p)
{
	if (r->h < 1 || r->w < 1)
		return;
	fill(r->y, r->x, r->w, UI_STYLE_STATUS);
	if (p->progress >= 0) {
		char pct[16];
		int bar, done;
		float f = p->progress > 1 ? 1 : p->progress;
		snprintf(pct, sizeof pct, " %3d%%", (int)(f * 100 + 0.5f));
		draw_str(r->y, r->x + 1, r->w - 1, "loading", UI_STYLE_STATUS);
		bar = r->w - 1 - 8 - (int)strlen(pct) - 1;
		if (bar >= 4) {
			done = (int)(f * (float)bar + 0.5f);
			for (int i = 0; i < bar; i++)
				draw_str(r->y, r->x + 9 + i, 1, i < done ? "█" : "░", UI_STYLE_PROGRESS);
			draw_str(r->y, r->x + 9 + bar, (int)strlen(pct), pct, UI_STYLE_STATUS);
		}
		return;
	}
	draw_str(r->y, r->x + 1, r->w - 1, p->status ? p->status : "", UI_STYLE_STATUS);
}

static void draw_body(const struct ui_rect *r, struct ui_pane_view *p, enum ui_think think)
{
	struct ui_view_line *lines;
	size_t n;

	if (r->h < 1 || r->w < 1)
		return;
	for (int y = 0; y < r->h; y++)
		fill(r->y + y, r->x, r->w, UI_STYLE_TEXT);
	if (p->tr->n == 0 && p->empty) {
		struct ui_wrap w = {0};
		ui_wrap_text(p->empty, strlen(p->empty), (size_t)r->w - 1, true, &w);
		for (size_t i = 0; i < w.n && (int)i < r->h; i++)
			draw_run(r->y + (int)i, r->x + 1, r->w - 1, p->empty + w.v[i].start, w.v[i].len,
			         UI_STYLE_NOTE, 0, 0, UI_STYLE_NOTE);
		ui_wrap_free(&w);
	}
	/* One column of margin on the left keeps text off the separator. */
	ui_view_update(p->view, p->tr, (size_t)(r->w > 2 ? r->w - 2 : 1), think);
	lines = ui_xcalloc((size_t)r->h, sizeof *lines);
	n = ui_view_window(p->view, (size_t)r->h, lines, (size_t)r->h);
	for (size_t i = 0; i < n; i++) {
		const struct ui_view_line *l = &lines[i];
		const char *src = ui_view_line_text(l, p->tr);
		int x = r->x + 1, w = r->w - 1;
		size_t hl_a = 0, hl_b = 0;
		if (l->prefix) {
			int pw = draw_str(r->y + (int)i, x, w, l->prefix, l->prefix_style);
			x += pw;
			w -= pw;
		}
		if (!l->own && l->style == UI_STYLE_TEXT && l->turn < p->tr->n) {
			const struct transcript_turn *t = p->tr->turns[l->turn];
			if (t->boxed_end > t->boxed_start && t->boxed_end > l->start &&
			    t->boxed_start < l->start + l->len) {
				hl_a = t->boxed_start > l->start ? t->boxed_start - l->start : 0;
				hl_b = t->boxed_end - l->start;
			}
		}
		if (w > 0)
			draw_run(r->y + (int)i, x, w, src + l->start, l->len, l->style, hl_a, hl_b,
			         UI_STYLE_BOXED);
	}
	free(lines);
}

static void draw_input(const struct ui_rect *r, struct ui_screen *s)
{
	struct ui_input *in = s->input;
	char *search = ui_input_search_prompt(in);
	const char *prompt = search ? search : s->prompt ? s->prompt : "› ";
	int pw = (int)ui_text_width(prompt, strlen(prompt));
	struct ui_wrap w = {0};
	size_t line, col, n_lines, top = 0;
	const char *text = ui_editor_text(&in->ed);
	int tw;

	if (pw > r->w / 2)
		pw = r->w / 2;
	tw = r->w - pw > 1 ? r->w - pw : 1;
	in->width = (size_t)tw;
	for (int y = 0; y < r->h; y++)
		fill(r->y + y, r->x, r->w, UI_STYLE_INPUT);
	draw_str(r->y, r->x, pw, prompt, search ? UI_STYLE_NOTE : UI_STYLE_PROMPT);
	ui_editor_cursor_pos(&in->ed, (size_t)tw, &line, &col, &n_lines);
	if (line >= (size_t)r->h)
		top = line - (size_t)r->h + 1;
	ui_wrap_text(text, ui_editor_len(&in->ed), (size_t)tw, false, &w);
	for (size_t i = top; i < w.n && i < top + (size_t)r->h; i++)
		draw_run(r->y + (int)(i - top), r->x + pw, tw, text + w.v[i].start, w.v[i].len,
		         UI_STYLE_INPUT, 0, 0, UI_STYLE_INPUT);
	ui_wrap_free(&w);
	move(r->y + (int)(line - top), r->x + pw + (int)col);
	free(search);
}

static void draw_message(const struct ui_rect *r, const struct ui_screen *s)
{
	int used = 0;

	fill(r->y, r->x, r->w, UI_STYLE_MESSAGE);
	if (s->message)
		used = draw_str(r->y, r->x, r->w, s->message,
		                s->message_error ? UI_STYLE_MESSAGE_ERROR : UI_STYLE_MESSAGE);
	if (s->hint) {
		int hw = (int)ui_text_width(s->hint, strlen(s->hint));
		if (used + 2 + hw <= r->w)
			draw_str(r->y, r->x + r->w - hw, hw, s->hint, UI_STYLE_STATUS);
	}
}

static void draw_too_small(int rows, int cols, int n_panes)
{
	char a[64], b[64];

	snprintf(a, sizeof a, "terminal too small (%dx%d)", cols, rows);
	if (n_panes > 1)
		snprintf(b, sizeof b, "duet needs %dx%d or %dx%d", 2 * UI_LAYOUT_MIN_COLS + 1,
		         UI_LAYOUT_PANE_MIN_ROWS + 2, UI_LAYOUT_MIN_COLS, 2 * UI_LAYOUT_PANE_MIN_ROWS + 2);
	else
		snprintf(b, sizeof b, "duet needs %dx%d", UI_LAYOUT_MIN_COLS, UI_LAYOUT_PANE_MIN_ROWS + 2);
	if (rows > 0)
		draw_str(0, 0, cols, a, UI_STYLE_MESSAGE_ERROR);
	if (rows > 1)
		draw_str(1, 0, cols, b, UI_STYLE_MESSAGE);
	curs_set(0);
}

void ui_draw(struct ui_screen *s, struct ui_layout *out)
{
	struct ui_layout l;
	int rows, cols, input_lines;
	size_t line, col, n_lines;

	getmaxyx(stdscr, rows, cols);
	erase();
	/* The input's height depends on its wrapped text, which depends on the width. */
	{
		char *search = ui_input_search_prompt(s->input);
		const char *prompt = search ? search : s->prompt ? s->prompt : "› ";
		int pw = (int)ui_text_width(prompt, strlen(prompt));
		if (pw > cols / 2)
			pw = cols / 2;
		ui_editor_cursor_pos(&s->input->ed, (size_t)(cols - pw > 1 ? cols - pw : 1), &line, &col,
		                     &n_lines);
		input_lines = (int)n_lines;
		free(search);
	}
	ui_layout_compute(&l, rows, cols, s->n_panes, s->layout, input_lines);
	if (out)
		*out = l;
	if (l.too_small) {
		draw_too_small(rows, cols, s->n_panes);
		refresh();
		return;
	}
	for (int i = 0; i < l.n_panes; i++) {
		draw_title(&l.title[i], &s->pane[i]);
		draw_body(&l.body[i], &s->pane[i], s->think);
		draw_status(&l.status[i], &s->pane[i]);
	}
	if (l.side)
		for (int y = 0; y < l.sep.h; y++)
			draw_str(l.sep.y + y, l.sep.x, 1, "│", UI_STYLE_BORDER);
	draw_message(&l.message, s);
	curs_set(1);
	draw_input(&l.input, s);
	refresh();
}
