/*
 * test_view.c — laying a transcript out as screen lines (ui/view.c) and
 * the screen geometry (ui/layout.c): user marks, thinking shown / folded /
 * hidden, stopped and failed marks, the agreement line, the scroll window
 * and its anchoring while text streams; side by side versus stacked, the
 * fallbacks and the too-small case. Pure code: no terminal.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tests/tap.h"
#include "ui/layout.h"
#include "ui/view.h"

/* All lines as "prefix+text" joined by '|'. */
static const char *render(struct ui_view *v, const struct transcript *tr, size_t width, enum ui_think think)
{
	static char out[8192];
	struct ui_view_line lines[256];
	size_t n, o = 0;

	ui_view_update(v, tr, width, think);
	v->scroll = 0;
	n = ui_view_window(v, 256, lines, 256);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *src = ui_view_line_text(&lines[i], tr);
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%s%.*s", i ? "|" : "",
		                      lines[i].prefix ? lines[i].prefix : "", (int)lines[i].len,
		                      src + lines[i].start);
	}
	return out;
}

static struct transcript_turn *answer(struct transcript *tr, const char *text, bool r1,
                                      enum transcript_state st)
{
	struct transcript_turn *t = transcript_begin_answer(tr, 1, r1);
	transcript_turn_append(t, text, strlen(text));
	if (st != TRANSCRIPT_STREAMING)
		transcript_turn_finish(t, st, st == TRANSCRIPT_FAILED ? "out of context" : NULL);
	return t;
}

int main(void)
{
	struct transcript tr = {0};
	struct ui_view v = {0};
	struct ui_layout l;

	transcript_add(&tr, TRANSCRIPT_USER, 1, "hi there", 8);
	answer(&tr, "<think>a b c</think>\n\nanswer text", false, TRANSCRIPT_DONE);
	TAP_EQ_STR(render(&v, &tr, 20, UI_THINK_SHOW), "› hi there||▾ thinking|┊ a b c|answer text",
	           "show: user mark, a blank line, the thinking under its head, the answer");
	TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_FOLD),
	           "› hi there||▸ thinking (1 line, Ctrl-T shows)|answer text",
	           "fold: one line says how much thinking there is");
	TAP_EQ_STR(render(&v, &tr, 20, UI_THINK_HIDE), "› hi there||answer text", "hide: no thinking at all");
	TAP_EQ_STR(render(&v, &tr, 7, UI_THINK_HIDE), "› hi|  there||answer|text",
	           "narrow: user text wraps under its mark");

	transcript_clear(&tr);
	answer(&tr, "Okay, thinking", true, TRANSCRIPT_STREAMING);
	TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_HIDE), "▸ thinking… (1 line, Ctrl-T shows)",
	           "hide still shows that an answer is thinking while it streams");
	TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "▾ thinking…|┊ Okay, thinking",
	           "show: streaming thinking");
	transcript_turn_finish(tr.turns[0], TRANSCRIPT_DONE, NULL);
	TAP_EQ_STR(render(&v, &tr, 60, UI_THINK_SHOW),
	           "▾ thinking|┊ Okay, thinking|(the thinking never closed: no answer)",
	           "thinking that never closed says so");

	transcript_clear(&tr);
	answer(&tr, "", false, TRANSCRIPT_STREAMING);
	TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "…", "a waiting answer shows an ellipsis");
	transcript_clear(&tr);
	answer(&tr, "partial", false, TRANSCRIPT_STOPPED);
	TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "partial|■ stopped", "a stopped answer is marked");
	transcript_clear(&tr);
	{
		struct transcript_turn *a = transcript_begin_answer(&tr, 1, false);
		transcript_turn_append(a, "long", 4);
		snprintf(a->stats.stop, sizeof a->stats.stop, "max-tokens");
		transcript_turn_finish(a, TRANSCRIPT_DONE, NULL);
		TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "long|… cut at the token limit",
		           "an answer cut by the token limit says so");
	}
	transcript_clear(&tr);
	answer(&tr, "", false, TRANSCRIPT_FAILED);
	TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "✗ out of context", "a failed answer shows its error");
	transcript_clear(&tr);
	{
		struct transcript_turn *a = answer(&tr, "so \\boxed{4}", false, TRANSCRIPT_DONE);
		TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "so \\boxed{4}|answer: 4",
		           "a boxed answer is repeated");
		transcript_turn_set_agreement(a, "4");
		TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "so \\boxed{4}|✓ both panes answer 4",
		           "agreement");
		transcript_turn_set_agreement(a, "5");
		TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "so \\boxed{4}|✗ the panes differ: 4 vs 5",
		           "disagreement");
	}
	transcript_clear(&tr);
	transcript_add(&tr, TRANSCRIPT_USER, 1, "a\x1b[2Jb", 6);
	TAP_EQ_STR(render(&v, &tr, 40, UI_THINK_SHOW), "› a\x1b[2Jb",
	           "control bytes stay in the text (draw.c escapes them)");

	/* Scrolling: 30 one-line notes, a window of 10. */
	transcript_clear(&tr);
	for (int i = 0; i < 30; i++)
		transcript_add_note(&tr, TRANSCRIPT_NOTE, "note %d", i);
	{
		struct ui_view_line lines[10];
		size_t n;
		ui_view_update(&v, &tr, 40, UI_THINK_SHOW);
		TAP_EQ_INT(v.total, 59, "30 notes and 29 blank lines between them");
		v.scroll = 0;
		n = ui_view_window(&v, 10, lines, 10);
		TAP_EQ_INT(n, 10, "a full window");
		TAP_EQ_STR(ui_view_line_text(&lines[9], &tr) + lines[9].start, "note 29",
		           "following: the last line at the bottom");
		ui_view_scroll(&v, 4, 10);
		n = ui_view_window(&v, 10, lines, 10);
		TAP_EQ_STR(ui_view_line_text(&lines[9], &tr) + lines[9].start, "note 27",
		           "scrolled 4 lines back (blank lines count)");
		transcript_add_note(&tr, TRANSCRIPT_NOTE, "new");
		ui_view_update(&v, &tr, 40, UI_THINK_SHOW);
		n = ui_view_window(&v, 10, lines, 10);
		TAP_EQ_STR(ui_view_line_text(&lines[9], &tr) + lines[9].start, "note 27",
		           "new text below a scrolled view does not move it");
		ui_view_scroll(&v, 1000, 10);
		TAP_EQ_INT(v.scroll, 61 - 10, "scrolling stops at the top");
		n = ui_view_window(&v, 10, lines, 10);
		TAP_EQ_STR(ui_view_line_text(&lines[0], &tr) + lines[0].start, "note 0",
		           "... which shows the first line");
		ui_view_scroll(&v, -1000, 10);
		TAP_EQ_INT(v.scroll, 0, "and at the bottom");
	}
	ui_view_free(&v);
	transcript_free(&tr);

	/* ---- layout ---- */
	ui_layout_compute(&l, 24, 80, 2, UI_LAYOUT_AUTO, 1);
	tap_ok(!l.too_small && l.side, "80x24, two panes, auto: side by side");
	TAP_EQ_INT(l.body[0].w + l.body[1].w + 1, 80, "... the panes and the separator fill the width");
	TAP_EQ_INT(l.input.y, 22, "... input above the message line");
	TAP_EQ_INT(l.status[0].y, 21, "... numbers line above the input");
	TAP_EQ_INT(l.body[0].h, 20, "... the body between title and numbers");
	ui_layout_compute(&l, 24, 79, 2, UI_LAYOUT_AUTO, 1);
	tap_ok(!l.too_small && !l.side, "79 columns, auto: stacked");
	TAP_EQ_INT(l.title[1].y, l.status[0].y + 1, "... pane 2 starts below pane 1");
	ui_layout_compute(&l, 24, 200, 2, UI_LAYOUT_STACKED, 1);
	tap_ok(!l.side, "stacked when asked, however wide");
	ui_layout_compute(&l, 24, 60, 2, UI_LAYOUT_SIDE, 1);
	tap_ok(l.side, "side when asked and it fits");
	ui_layout_compute(&l, 6, 100, 2, UI_LAYOUT_STACKED, 1);
	tap_ok(!l.too_small && l.side, "stacked does not fit 6 rows: side instead");
	ui_layout_compute(&l, 24, 30, 2, UI_LAYOUT_SIDE, 1);
	tap_ok(!l.too_small && !l.side, "side does not fit 30 columns: stacked instead");
	ui_layout_compute(&l, 7, 30, 2, UI_LAYOUT_AUTO, 1);
	tap_ok(l.too_small, "30x7 holds neither arrangement of two panes: too small");
	ui_layout_compute(&l, 5, 20, 1, UI_LAYOUT_AUTO, 1);
	tap_ok(!l.too_small, "one pane fits 20x5");
	ui_layout_compute(&l, 4, 80, 1, UI_LAYOUT_AUTO, 1);
	tap_ok(l.too_small, "4 rows are too few");
	ui_layout_compute(&l, 5, 19, 1, UI_LAYOUT_AUTO, 1);
	tap_ok(l.too_small, "19 columns are too few");
	ui_layout_compute(&l, 30, 80, 1, UI_LAYOUT_AUTO, 50);
	TAP_EQ_INT(l.input.h, 10, "a long input gets at most a third of the screen");
	ui_layout_compute(&l, 8, 80, 2, UI_LAYOUT_STACKED, 5);
	TAP_EQ_INT(l.input.h, 1, "... and never squeezes the panes below their minimum");
	tap_ok(l.body[0].h >= 1 && l.body[1].h >= 1, "... both bodies keep a line");
	TAP_EQ_INT(ui_layout_parse("stacked"), UI_LAYOUT_STACKED, "layout names parse");
	TAP_EQ_INT(ui_layout_parse("diagonal"), -1, "... unknown names do not");
	return tap_done();
}
