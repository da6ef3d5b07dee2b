/*
 * editor.c — text editing of the input line (ui/editor.h). Pure; positions
 * are bytes on character boundaries, columns come from ui/text.c.
 */
#include "config.h"

#include <string.h>

#include "ui/editor.h"
#include "ui/text.h"
#include "ui/wrap.h"

void ui_editor_free(struct ui_editor *e)
{
	ui_buf_free(&e->text);
	ui_buf_free(&e->kill);
	e->cursor = 0;
	e->have_goal = false;
}

const char *ui_editor_text(const struct ui_editor *e)
{
	return e->text.data ? e->text.data : "";
}

size_t ui_editor_len(const struct ui_editor *e)
{
	return e->text.len;
}

void ui_editor_set(struct ui_editor *e, const char *s, size_t n)
{
	ui_buf_set(&e->text, s, n);
	e->cursor = e->text.len;
	e->have_goal = false;
}

void ui_editor_clear(struct ui_editor *e)
{
	ui_editor_set(e, "", 0);
}

void ui_editor_insert(struct ui_editor *e, const char *s, size_t n)
{
	ui_buf_insert(&e->text, e->cursor, s, n);
	e->cursor += n;
	e->have_goal = false;
}

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Start of the character before byte i. */
static size_t char_before(const char *s, size_t i)
{
	if (i == 0)
		return 0;
	i--;
	while (i > 0 && is_cont((unsigned char)s[i]))
		i--;
	return i;
}

static bool zero_width_at(const char *s, size_t n, size_t i)
{
	uint32_t cp;

	if (i >= n)
		return false;
	ui_text_next(s + i, n - i, &cp);
	return cp != '\n' && ui_text_char_width(cp) == 0;
}

/* The cluster (a character and the zero-width marks after it) ending at i starts where? */
static size_t cluster_before(const char *s, size_t n, size_t i)
{
	size_t j = char_before(s, i);
	while (j > 0 && zero_width_at(s, n, j))
		j = char_before(s, j);
	return j;
}

static size_t cluster_after(const char *s, size_t n, size_t i)
{
	uint32_t cp;

	if (i >= n)
		return n;
	i += ui_text_next(s + i, n - i, &cp);
	while (i < n && zero_width_at(s, n, i))
		i += ui_text_next(s + i, n - i, &cp);
	return i;
}

static bool is_word_byte(unsigned char c)
{
	/* Letters, digits, and every non-ASCII byte (so CJK and accented words hold together). */
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

static size_t word_left(const char *s, size_t i)
{
	while (i > 0 && !is_word_byte((unsigned char)s[i - 1]))
		i--;
	while (i > 0 && is_word_byte((unsigned char)s[i - 1]))
		i--;
	return i;
}

static size_t word_right(const char *s, size_t n, size_t i)
{
	while (i < n && !is_word_byte((unsigned char)s[i]))
		i++;
	while (i < n && is_word_byte((unsigned char)s[i]))
		i++;
	return i;
}

static bool move_to(struct ui_editor *e, size_t pos)
{
	e->have_goal = false;
	if (pos == e->cursor)
		return false;
	e->cursor = pos;
	return true;
}

static void kill_range(struct ui_editor *e, size_t a, size_t b)
{
	ui_buf_set(&e->kill, e->text.data + a, b - a);
	ui_buf_erase(&e->text, a, b - a);
	e->cursor = a;
	e->have_goal = false;
}

bool ui_editor_backspace(struct ui_editor *e)
{
	size_t a;

	if (e->cursor == 0)
		return false;
	/* One character back: a combining mark is removed on its own, as terminals do. */
	a = char_before(e->text.data, e->cursor);
	ui_buf_erase(&e->text, a, e->cursor - a);
	e->cursor = a;
	e->have_goal = false;
	return true;
}

bool ui_editor_delete(struct ui_editor *e)
{
	size_t b;

	if (e->cursor >= e->text.len)
		return false;
	b = cluster_after(e->text.data, e->text.len, e->cursor);
	ui_buf_erase(&e->text, e->cursor, b - e->cursor);
	e->have_goal = false;
	return true;
}

bool ui_editor_left(struct ui_editor *e)
{
	return move_to(e, e->cursor ? cluster_before(e->text.data, e->text.len, e->cursor) : 0);
}

bool ui_editor_right(struct ui_editor *e)
{
	return move_to(e, cluster_after(ui_editor_text(e), e->text.len, e->cursor));
}

bool ui_editor_word_left(struct ui_editor *e)
{
	return move_to(e, word_left(ui_editor_text(e), e->cursor));
}

bool ui_editor_word_right(struct ui_editor *e)
{
	return move_to(e, word_right(ui_editor_text(e), e->text.len, e->cursor));
}

static size_t line_start(const char *s, size_t i)
{
	while (i > 0 && s[i - 1] != '\n')
		i--;
	return i;
}

static size_t line_end(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] != '\n')
		i++;
	return i;
}

bool ui_editor_line_start(struct ui_editor *e)
{
	return move_to(e, line_start(ui_editor_text(e), e->cursor));
}

bool ui_editor_line_end(struct ui_editor *e)
{
	return move_to(e, line_end(ui_editor_text(e), e->text.len, e->cursor));
}

bool ui_editor_kill_line_end(struct ui_editor *e)
{
	size_t b = line_end(ui_editor_text(e), e->text.len, e->cursor);

	if (b == e->cursor && b < e->text.len)
		b++; /* at the end of a line: join the next one */
	if (b == e->cursor)
		return false;
	kill_range(e, e->cursor, b);
	return true;
}

bool ui_editor_kill_line_start(struct ui_editor *e)
{
	size_t a = line_start(ui_editor_text(e), e->cursor);

	if (a == e->cursor)
		return false;
	kill_range(e, a, e->cursor);
	return true;
}

bool ui_editor_kill_word_left(struct ui_editor *e)
{
	size_t a = word_left(ui_editor_text(e), e->cursor);

	if (a == e->cursor)
		return false;
	kill_range(e, a, e->cursor);
	return true;
}

bool ui_editor_kill_word_right(struct ui_editor *e)
{
	size_t b = word_right(ui_editor_text(e), e->text.len, e->cursor);

	if (b == e->cursor)
		return false;
	kill_range(e, e->cursor, b);
	return true;
}

bool ui_editor_yank(struct ui_editor *e)
{
	if (!e->kill.len)
		return false;
	ui_editor_insert(e, e->kill.data, e->kill.len);
	return true;
}

/* The wrapped lines and the index of the cursor's line (col too). */
static void cursor_locate(const struct ui_editor *e, size_t width, struct ui_wrap *w, size_t *line,
                          size_t *col)
{
	const char *s = ui_editor_text(e);
	size_t i;

	ui_wrap_text(s, e->text.len, width, false, w);
	for (i = 0; i < w->n; i++) {
		const struct ui_wrap_line *l = &w->v[i];
		bool last = i + 1 == w->n;
		/* A cursor at a soft break belongs to the next line. */
		bool soft_next = !last && w->v[i + 1].start == l->start + l->len;
		if (e->cursor >= l->start &&
		    (e->cursor < l->start + l->len || (e->cursor == l->start + l->len && !soft_next)))
			break;
	}
	if (i == w->n)
		i = w->n - 1;
	*line = i;
	/* Columns as drawn: tabs reach their stop. */
	{
		size_t c = 0, j = w->v[i].start;
		while (j < e->cursor) {
			uint32_t cp;
			size_t len = ui_text_next(s + j, e->cursor - j, &cp);
			c += (size_t)ui_text_col_width(cp, c);
			j += len;
		}
		*col = c;
	}
}

void ui_editor_cursor_pos(const struct ui_editor *e, size_t width, size_t *line, size_t *col, size_t *n_lines)
{
	struct ui_wrap w = {0};

	if (width < 1)
		width = 1;
	cursor_locate(e, width, &w, line, col);
	*n_lines = w.n;
	if (*col >= width) {
		/* Right after a full line: the cursor wraps onto a line of its own. */
		(*line)++;
		*col = 0;
		if (*line >= *n_lines)
			*n_lines = *line + 1;
	}
	ui_wrap_free(&w);
}

/* Byte offset in line l closest to column goal (never past the line's end). */
static size_t offset_at_col(const char *s, const struct ui_wrap_line *l, size_t goal)
{
	size_t c = 0, j = l->start, end = l->start + l->len;

	while (j < end) {
		uint32_t cp;
		size_t len = ui_text_next(s + j, end - j, &cp);
		size_t w = (size_t)ui_text_col_width(cp, c);
		if (c + w > goal)
			break;
		c += w;
		j += len;
	}
	return j;
}

static bool editor_vertical(struct ui_editor *e, size_t width, int dir)
{
	struct ui_wrap w = {0};
	size_t line, col;
	bool moved = false;

	if (width < 1)
		width = 1;
	cursor_locate(e, width, &w, &line, &col);
	if (!e->have_goal) {
		e->goal_col = col;
		e->have_goal = true;
	}
	if ((dir < 0 && line > 0) || (dir > 0 && line + 1 < w.n)) {
		size_t target = dir < 0 ? line - 1 : line + 1;
		size_t pos = offset_at_col(ui_editor_text(e), &w.v[target], e->goal_col);
		/* Stay inside the target line: its end is the next line's start after a soft break. */
		if (target + 1 < w.n && pos == w.v[target].start + w.v[target].len &&
		    w.v[target + 1].start == pos && pos > w.v[target].start)
			pos = char_before(e->text.data, pos);
		e->cursor = pos;
		moved = true;
	}
	ui_wrap_free(&w);
	return moved;
}

bool ui_editor_up(struct ui_editor *e, size_t width)
{
	return editor_vertical(e, width, -1);
}

bool ui_editor_down(struct ui_editor *e, size_t width)
{
	return editor_vertical(e, width, 1);
}
