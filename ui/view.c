/*
 * view.c — transcript turns laid out as screen lines (ui/view.h). Pure:
 * wrapping by display width through ui/wrap.c, no curses.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/mem.h"
#include "ui/text.h"
#include "ui/view.h"
#include "ui/wrap.h"

struct ui_view_cache {
	uint64_t id;
	unsigned version;
	size_t width;
	enum ui_think think;
	bool valid;
	bool sep; /* starts with the blank line that separates it from the turn before */
	struct ui_view_line *lines;
	size_t n, cap;
	char **own; /* strings the lines point into */
	size_t n_own, cap_own;
};

static void cache_reset(struct ui_view_cache *c)
{
	for (size_t i = 0; i < c->n_own; i++)
		free(c->own[i]);
	c->n_own = 0;
	c->n = 0;
	c->valid = false;
}

static void cache_free(struct ui_view_cache *c)
{
	cache_reset(c);
	free(c->own);
	free(c->lines);
	memset(c, 0, sizeof *c);
}

void ui_view_free(struct ui_view *v)
{
	for (size_t i = 0; i < v->n_cache; i++)
		cache_free(&v->cache[i]);
	free(v->cache);
	memset(v, 0, sizeof *v);
}

static struct ui_view_line *line_push(struct ui_view_cache *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->lines = ui_xreallocarray(c->lines, c->cap, sizeof *c->lines);
	}
	memset(&c->lines[c->n], 0, sizeof c->lines[c->n]);
	return &c->lines[c->n++];
}

static const char *own_push(struct ui_view_cache *c, char *s)
{
	if (c->n_own == c->cap_own) {
		c->cap_own = c->cap_own ? c->cap_own * 2 : 4;
		c->own = ui_xreallocarray(c->own, c->cap_own, sizeof *c->own);
	}
	c->own[c->n_own++] = s;
	return s;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r';
}

static void trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && is_space(s[*a]))
		(*a)++;
	while (*b > *a && is_space(s[*b - 1]))
		(*b)--;
}

/*
 * Wrap src[a, b) at width less the prefix's columns, one line each; prefix
 * on the first line, cont on the others.
 */
static void lines_wrap(struct ui_view_cache *c, size_t turn, const char *own, const char *src, size_t a,
                       size_t b, enum ui_style style, const char *prefix, const char *cont,
                       enum ui_style prefix_style, size_t width)
{
	struct ui_wrap w = {0};
	size_t pw = prefix ? ui_text_width(prefix, strlen(prefix)) : 0;

	ui_wrap_text(src + a, b - a, width > pw ? width - pw : 1, true, &w);
	for (size_t i = 0; i < w.n; i++) {
		struct ui_view_line *l = line_push(c);
		l->turn = turn;
		l->style = style;
		l->own = own;
		l->start = a + w.v[i].start;
		l->len = w.v[i].len;
		l->prefix = i == 0 ? prefix : cont;
		l->prefix_style = prefix_style;
	}
	ui_wrap_free(&w);
}

static void lines_own(struct ui_view_cache *c, size_t turn, char *s, enum ui_style style, const char *prefix,
                      const char *cont, enum ui_style prefix_style, size_t width)
{
	const char *own = own_push(c, s);
	lines_wrap(c, turn, own, own, 0, strlen(own), style, prefix, cont, prefix_style, width);
}

static void layout_answer(struct ui_view_cache *c, size_t idx, const struct transcript_turn *turn,
                          size_t width, enum ui_think think)
{
	const char *s = turn->text.data ? turn->text.data : "";
	bool busy = transcript_turn_busy(turn);
	size_t a, b;

	if (turn->phase == TRANSCRIPT_PHASE_START && busy) {
		lines_own(c, idx, ui_xstrdup("…"), UI_STYLE_THINK, NULL, NULL, UI_STYLE_THINK, width);
		goto tail;
	}
	if (turn->has_think) {
		bool thinking = turn->phase == TRANSCRIPT_PHASE_THINK && busy;
		a = turn->think_start;
		b = turn->think_end;
		trim(s, &a, &b);
		if (think == UI_THINK_SHOW) {
			lines_own(c, idx, ui_xstrdup(thinking ? "▾ thinking…" : "▾ thinking"),
			          UI_STYLE_THINK_HEAD, NULL, NULL, UI_STYLE_THINK_HEAD, width);
			if (b > a)
				lines_wrap(c, idx, NULL, s, a, b, UI_STYLE_THINK, "┊ ", "┊ ", UI_STYLE_THINK,
				           width);
		} else if (think == UI_THINK_FOLD || thinking) {
			struct ui_wrap w = {0};
			size_t n = 0;
			if (b > a) {
				ui_wrap_text(s + a, b - a, width > 2 ? width - 2 : 1, true, &w);
				n = w.n;
				ui_wrap_free(&w);
			}
			lines_own(c, idx,
			          ui_xasprintf("▸ thinking%s (%zu line%s, Ctrl-T shows)", thinking ? "…" : "",
			                       n, n == 1 ? "" : "s"),
			          UI_STYLE_THINK_HEAD, NULL, NULL, UI_STYLE_THINK_HEAD, width);
		}
		if (turn->phase == TRANSCRIPT_PHASE_THINK && !busy && turn->state != TRANSCRIPT_FAILED)
			lines_own(c, idx, ui_xstrdup("(the thinking never closed: no answer)"), UI_STYLE_NOTE,
			          NULL, NULL, UI_STYLE_NOTE, width);
	}
	a = turn->answer_start;
	b = turn->answer_end;
	trim(s, &a, &b);
	if (b > a)
		lines_wrap(c, idx, NULL, s, a, b, UI_STYLE_TEXT, NULL, NULL, UI_STYLE_TEXT, width);
tail:
	if (turn->state == TRANSCRIPT_STOPPED)
		lines_own(c, idx, ui_xstrdup("■ stopped"), UI_STYLE_STOPPED, NULL, NULL, UI_STYLE_STOPPED,
		          width);
	else if (turn->state == TRANSCRIPT_DONE && strcmp(turn->stats.stop, "max-tokens") == 0)
		lines_own(c, idx, ui_xstrdup("… cut at the token limit"), UI_STYLE_STOPPED, NULL, NULL,
		          UI_STYLE_STOPPED, width);
	else if (turn->state == TRANSCRIPT_DONE && strcmp(turn->stats.stop, "context") == 0)
		lines_own(c, idx, ui_xstrdup("… cut: the context is full"), UI_STYLE_STOPPED, NULL, NULL,
		          UI_STYLE_STOPPED, width);
	if (turn->state == TRANSCRIPT_FAILED)
		lines_own(c, idx, ui_xstrdup(turn->error ? turn->error : "generation failed"), UI_STYLE_ERROR,
		          "✗ ", "  ", UI_STYLE_ERROR, width);
	if (!busy && turn->boxed_end > turn->boxed_start) {
		char *mine = transcript_turn_boxed(turn);
		if (mine && turn->agree > 0)
			lines_own(c, idx, ui_xasprintf("✓ both panes answer %s", mine), UI_STYLE_AGREE, NULL,
			          NULL, UI_STYLE_AGREE, width);
		else if (mine && turn->agree < 0)
			lines_own(c, idx,
			          ui_xasprintf("✗ the panes differ: %s vs %s", mine,
			                       turn->other_boxed ? turn->other_boxed : "(none)"),
			          UI_STYLE_DISAGREE, NULL, NULL, UI_STYLE_DISAGREE, width);
		else if (mine)
			lines_own(c, idx, ui_xasprintf("answer: %s", mine), UI_STYLE_BOXED, NULL, NULL,
			          UI_STYLE_BOXED, width);
		free(mine);
	} else if (!busy && turn->agree < 0 && turn->other_boxed) {
		lines_own(c, idx,
		          ui_xasprintf("✗ no boxed answer here; the other pane says %s", turn->other_boxed),
		          UI_STYLE_DISAGREE, NULL, NULL, UI_STYLE_DISAGREE, width);
	}
}

static void layout_turn(struct ui_view_cache *c, size_t idx, const struct transcript_turn *turn, size_t width,
                        enum ui_think think)
{
	const char *s = turn->text.data ? turn->text.data : "";
	size_t a = 0, b = turn->text.len;

	cache_reset(c);
	if (idx > 0) {
		struct ui_view_line *l = line_push(c); /* a blank line between turns */
		l->turn = idx;
		l->style = UI_STYLE_TEXT;
		l->own = "";
	}
	switch (turn->role) {
	case TRANSCRIPT_USER:
		trim(s, &a, &b);
		lines_wrap(c, idx, NULL, s, a, b, UI_STYLE_USER, "› ", "  ", UI_STYLE_USER_MARK, width);
		break;
	case TRANSCRIPT_ASSISTANT:
		layout_answer(c, idx, turn, width, think);
		break;
	case TRANSCRIPT_NOTE:
		lines_wrap(c, idx, NULL, s, a, b, UI_STYLE_NOTE, NULL, NULL, UI_STYLE_NOTE, width);
		break;
	case TRANSCRIPT_ERROR:
		lines_wrap(c, idx, NULL, s, a, b, UI_STYLE_ERROR, "✗ ", "  ", UI_STYLE_ERROR, width);
		break;
	}
	c->id = turn->id;
	c->version = turn->version;
	c->width = width;
	c->think = think;
	c->sep = idx > 0;
	c->valid = true;
}

void ui_view_update(struct ui_view *v, const struct transcript *t, size_t width, enum ui_think think)
{
	struct ui_view_cache *old = v->cache;
	size_t n_old = v->n_cache, hint = 0, total = 0;
	bool same_shape = width == v->width && think == v->think;

	if (width < 1)
		width = 1;
	/* Match caches to turns by id: turns are only appended, removed or cleared, so order holds. */
	v->cache = ui_xcalloc(t->n ? t->n : 1, sizeof *v->cache);
	v->n_cache = v->cap_cache = t->n;
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = hint; j < n_old; j++) {
			if (old[j].id == t->turns[i]->id && old[j].valid) {
				v->cache[i] = old[j];
				memset(&old[j], 0, sizeof old[j]);
				hint = j + 1;
				break;
			}
		}
	}
	for (size_t j = 0; j < n_old; j++)
		cache_free(&old[j]);
	free(old);

	for (size_t i = 0; i < t->n; i++) {
		struct ui_view_cache *c = &v->cache[i];
		const struct transcript_turn *turn = t->turns[i];
		if (!c->valid || c->version != turn->version || c->width != width || c->think != think ||
		    c->id != turn->id || c->sep != (i > 0))
			layout_turn(c, i, turn, width, think);
		for (size_t k = 0; k < c->n; k++)
			c->lines[k].turn = i;
		total += c->n;
	}
	if (v->scroll > 0 && same_shape && total > v->total)
		v->scroll += total - v->total; /* keep what the reader looks at in place */
	v->total = total;
	v->width = width;
	v->think = think;
}

void ui_view_scroll(struct ui_view *v, long delta, size_t height)
{
	long max = v->total > height ? (long)(v->total - height) : 0;
	long s = (long)v->scroll + delta;

	v->scroll = (size_t)(s < 0 ? 0 : s > max ? max : s);
}

size_t ui_view_window(struct ui_view *v, size_t height, struct ui_view_line *lines, size_t max)
{
	size_t end, begin, n = 0, pos = 0;

	ui_view_scroll(v, 0, height);
	end = v->total - v->scroll;
	begin = end > height ? end - height : 0;
	for (size_t i = 0; i < v->n_cache && pos < end; i++) {
		const struct ui_view_cache *c = &v->cache[i];
		if (pos + c->n <= begin) {
			pos += c->n;
			continue;
		}
		for (size_t k = 0; k < c->n && pos < end; k++, pos++)
			if (pos >= begin && n < max)
				lines[n++] = c->lines[k];
	}
	return n;
}

const char *ui_view_line_text(const struct ui_view_line *l, const struct transcript *t)
{
	if (l->own)
		return l->own;
	if (l->turn < t->n && t->turns[l->turn]->text.data)
		return t->turns[l->turn]->text.data;
	return "";
}
