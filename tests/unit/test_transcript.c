/*
 * test_transcript.c — the transcript model (ui/transcript.c): the
 * streaming think/answer parser (tags split across pieces, R1 output that
 * starts inside thinking, thinking that never closes), stopped and failed
 * answers, \boxed{} extraction and agreement. The boxed extraction is also
 * held against the inference core's chat_extract_boxed, written
 * independently.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "infer/chat.h"
#include "tests/tap.h"
#include "ui/transcript.h"

static char buf[4096];

static const char *think_of(const struct transcript_turn *t)
{
	snprintf(buf, sizeof buf, "%.*s", (int)(t->think_end - t->think_start),
	         t->text.data + t->think_start);
	return buf;
}

static const char *answer_of(const struct transcript_turn *t)
{
	snprintf(buf, sizeof buf, "%.*s", (int)(t->answer_end - t->answer_start),
	         t->text.data + t->answer_start);
	return buf;
}

static struct transcript_turn *feed(struct transcript *tr, bool r1, const char *const *pieces)
{
	struct transcript_turn *t = transcript_begin_answer(tr, 1, r1);
	for (size_t i = 0; pieces[i]; i++)
		transcript_turn_append(t, pieces[i], strlen(pieces[i]));
	return t;
}

static const char *boxed(const char *s)
{
	size_t a, b, ca, cb;
	if (!transcript_find_boxed(s, strlen(s), &a, &b, &ca, &cb))
		return "(none)";
	snprintf(buf, sizeof buf, "%.*s", (int)(cb - ca), s + ca);
	return buf;
}

int main(void)
{
	struct transcript tr = {0};
	struct transcript_turn *t, *u;
	unsigned v;

	/* ---- turns ---- */
	u = transcript_add(&tr, TRANSCRIPT_USER, 7, "hello", 5);
	TAP_EQ_STR(u->text.data, "hello", "a user turn holds its text");
	TAP_EQ_INT(u->message, 7, "... and its message number");
	TAP_EQ_INT(transcript_turn_busy(u), 0, "a user turn is never busy");
	t = transcript_begin_answer(&tr, 7, false);
	TAP_EQ_INT(t->state, TRANSCRIPT_WAITING, "an answer starts waiting");
	TAP_EQ_INT(transcript_turn_busy(t), 1, "... and busy");
	tap_ok(t->id != u->id, "turn ids are unique");
	v = t->version;
	transcript_turn_append(t, "Hi", 2);
	TAP_EQ_INT(t->state, TRANSCRIPT_STREAMING, "text makes it streaming");
	tap_ok(t->version != v, "every change bumps the version");
	TAP_EQ_INT(t->phase, TRANSCRIPT_PHASE_ANSWER, "text that is not <think> is the answer at once");
	TAP_EQ_STR(answer_of(t), "Hi", "... all of it");
	transcript_turn_finish(t, TRANSCRIPT_STOPPED, NULL);
	TAP_EQ_INT(t->state, TRANSCRIPT_STOPPED, "a stopped answer keeps its text, marked stopped");
	TAP_EQ_STR(t->text.data, "Hi", "... the partial text stays");
	TAP_EQ_INT(transcript_turn_busy(t), 0, "... and is no longer busy");
	tap_ok(transcript_last(&tr, TRANSCRIPT_USER) == u, "transcript_last finds the last user turn");
	transcript_add_note(&tr, TRANSCRIPT_NOTE, "temperature %d", 0);
	TAP_EQ_STR(tr.turns[2]->text.data, "temperature 0", "notes are formatted");
	transcript_remove(&tr, 1);
	TAP_EQ_INT(tr.n, 2, "remove drops one turn");
	tap_ok(tr.turns[1]->role == TRANSCRIPT_NOTE, "... the later ones move up");
	transcript_clear(&tr);
	TAP_EQ_INT(tr.n, 0, "clear empties the transcript");

	/* ---- the think/answer parser ---- */
	t = transcript_begin_answer(&tr, 1, false);
	transcript_turn_append(t, "<th", 3);
	TAP_EQ_INT(t->phase, TRANSCRIPT_PHASE_START, "\"<th\" could still become <think>: undecided");
	transcript_turn_append(t, "ink>\nLet me", 11);
	TAP_EQ_INT(t->phase, TRANSCRIPT_PHASE_THINK, "<think> split over two pieces opens thinking");
	TAP_EQ_STR(think_of(t), "\nLet me", "... the tag itself is not shown");
	transcript_turn_append(t, " think</th", 10);
	TAP_EQ_INT(t->phase, TRANSCRIPT_PHASE_THINK, "a partial </think> keeps thinking");
	TAP_EQ_STR(think_of(t), "\nLet me think", "... and is held back from the thinking text");
	transcript_turn_append(t, "ink>\n\nThe answer", 16);
	TAP_EQ_INT(t->phase, TRANSCRIPT_PHASE_ANSWER, "</think> split over pieces ends thinking");
	TAP_EQ_STR(think_of(t), "\nLet me think", "... thinking is what came before it");
	TAP_EQ_STR(answer_of(t), "\n\nThe answer", "... the answer what follows");
	transcript_turn_append(t, " </think> again", 15);
	TAP_EQ_STR(answer_of(t), "\n\nThe answer </think> again", "a second </think> is answer text");
	transcript_turn_finish(t, TRANSCRIPT_DONE, NULL);
	TAP_EQ_INT(t->has_think, 1, "has_think");

	{
		static const char *const p[] = {"  \n", "<think>", "x</think>y", NULL};
		t = feed(&tr, false, p);
		TAP_EQ_INT(t->phase, TRANSCRIPT_PHASE_ANSWER, "whitespace before <think> is allowed");
		TAP_EQ_STR(think_of(t), "x", "... thinking x");
		TAP_EQ_STR(answer_of(t), "y", "... answer y");
	}
	{
		static const char *const p[] = {"<b>bold</b>", NULL};
		t = feed(&tr, false, p);
		TAP_EQ_INT(t->has_think, 0, "<b> is not <think>");
		TAP_EQ_STR(answer_of(t), "<b>bold</b>", "... it is all answer");
	}
	{
		static const char *const p[] = {"Okay, so the user", " wants", NULL};
		t = feed(&tr, true, p);
		TAP_EQ_INT(t->phase, TRANSCRIPT_PHASE_THINK, "R1: output starts inside thinking");
		TAP_EQ_STR(think_of(t), "Okay, so the user wants", "... all of it is thinking");
		transcript_turn_finish(t, TRANSCRIPT_DONE, NULL);
		TAP_EQ_STR(think_of(t), "Okay, so the user wants",
		           "thinking that never closes stays thinking");
		TAP_EQ_STR(answer_of(t), "", "... with no answer");
		TAP_EQ_INT(t->state, TRANSCRIPT_DONE, "... and the turn is done");
	}
	{
		/* R1 with the closing tag arriving one byte at a time. */
		const char *s = "Hmm.\n</think>\n\nFour.";
		t = transcript_begin_answer(&tr, 1, true);
		for (size_t i = 0; s[i]; i++) {
			transcript_turn_append(t, s + i, 1);
			if (strstr(t->text.data + t->think_start, "</") && t->phase == TRANSCRIPT_PHASE_THINK)
				tap_ok(strstr(think_of(t), "<") == NULL,
				       "a partial tag is never shown (%zu bytes in)", t->text.len);
		}
		TAP_EQ_STR(think_of(t), "Hmm.\n", "R1 byte by byte: the thinking");
		TAP_EQ_STR(answer_of(t), "\n\nFour.", "R1 byte by byte: the answer");
	}
	{
		static const char *const p[] = {"<think>", NULL};
		t = feed(&tr, true, p);
		TAP_EQ_INT(t->think_start, 7, "R1 output that repeats <think> skips it");
	}
	{
		static const char *const p[] = {"still thinking </", NULL};
		t = feed(&tr, true, p);
		TAP_EQ_STR(think_of(t), "still thinking ", "a stream ending in \"</\" holds it back...");
		transcript_turn_finish(t, TRANSCRIPT_STOPPED, NULL);
		TAP_EQ_STR(think_of(t), "still thinking </", "... until the end decides it was text");
		TAP_EQ_INT(t->state, TRANSCRIPT_STOPPED, "... a stop inside thinking is marked stopped");
	}
	{
		static const char *const p[] = {"<thi", NULL};
		t = feed(&tr, false, p);
		transcript_turn_finish(t, TRANSCRIPT_DONE, NULL);
		TAP_EQ_STR(answer_of(t), "<thi",
		           "an answer that is only \"<thi\" is shown as text at the end");
	}
	t = transcript_begin_answer(&tr, 1, false);
	transcript_turn_finish(t, TRANSCRIPT_FAILED, "the context is full");
	TAP_EQ_STR(t->error, "the context is full", "a failed answer keeps its error");

	/* ---- \boxed{} ---- */
	TAP_EQ_STR(boxed("so \\boxed{42}."), "42", "boxed: plain");
	TAP_EQ_STR(boxed("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}", "boxed: nested braces");
	TAP_EQ_STR(boxed("\\boxed{1} then \\boxed{2}"), "2", "boxed: the last one");
	TAP_EQ_STR(boxed("\\boxed{1} then \\boxed{2"), "(none)", "boxed: the last never closes: none");
	TAP_EQ_STR(boxed("\\boxed {7}"), "7", "boxed: spaces before the brace");
	TAP_EQ_STR(boxed("\\boxedx{1}"), "(none)", "boxed: another macro is not \\boxed");
	TAP_EQ_STR(boxed("\\boxed{ a\\}b }"), "a\\}b",
	           "boxed: an escaped brace does not close it; content trimmed");
	{
		static const char *const corpus[] = {
		        "x \\boxed{42} y",
		        "\\boxed{\\frac{1}{2}}",
		        "\\boxed{1} \\boxed{2}",
		        "\\boxed{1} \\boxed{2",
		        "\\boxed {7}",
		        "\\boxedx{1}",
		        "\\boxed{ a\\}b }",
		        "no box",
		        "\\boxed{}",
		        "\\boxed{{}}",
		        "\\boxed{ }",
		        "\\boxed{a}\\boxed",
		        "}{\\boxed{\\{}",
		        "\\boxed{x^{2}+1}\n",
		};
		int same = 0;
		for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++) {
			char *ref = chat_extract_boxed(corpus[i], strlen(corpus[i]));
			const char *mine = boxed(corpus[i]);
			int eq = ref ? strcmp(ref, mine) == 0
			             : strcmp(mine, "(none)") == 0 || strcmp(mine, "") == 0;
			if (!eq)
				tap_diag("  \"%s\": ui %s, infer %s", corpus[i], mine, ref ? ref : "(null)");
			same += eq;
			free(ref);
		}
		TAP_EQ_INT(same, (int)(sizeof corpus / sizeof *corpus),
		           "boxed agrees with infer's chat_extract_boxed");
	}
	tap_ok(transcript_boxed_agree("42", " 42 "), "agree: spaces");
	tap_ok(transcript_boxed_agree("\\frac{1}{2}", "0.5"), "agree: \\frac{1}{2} = 0.5");
	tap_ok(transcript_boxed_agree("1/2", "\\dfrac{1}{2}"), "agree: 1/2 = \\dfrac{1}{2}");
	tap_ok(transcript_boxed_agree("1,000", "1000"), "agree: a thousands separator");
	tap_ok(transcript_boxed_agree("\\text{Paris}", "Paris"), "agree: \\text{} unwrapped");
	tap_ok(transcript_boxed_agree("x + 1", "x+1"), "agree: spacing in expressions");
	tap_ok(transcript_boxed_agree("\\left(1,2\\right)", "(1,2)"), "agree: \\left \\right dropped");
	tap_ok(transcript_boxed_agree("3.", "3"), "agree: a final period");
	tap_ok(transcript_boxed_agree("$5$", "5"), "agree: dollar signs");
	tap_ok(!transcript_boxed_agree("5", "6"), "disagree: 5 vs 6");
	tap_ok(!transcript_boxed_agree("1,2", "12"), "disagree: 1,2 is a pair, not twelve");
	tap_ok(!transcript_boxed_agree("\\leftarrow", "arrow"),
	       "disagree: \\left is not eaten from \\leftarrow");
	tap_ok(!transcript_boxed_agree("x", "y"), "disagree: x vs y");

	{
		struct transcript_turn *a = transcript_begin_answer(&tr, 9, false),
		                       *b = transcript_begin_answer(&tr, 9, false);
		transcript_turn_append(a, "so \\boxed{4}", 12);
		transcript_turn_finish(a, TRANSCRIPT_DONE, NULL);
		transcript_turn_append(b, "thus \\boxed{ 4 }", 16);
		transcript_turn_finish(b, TRANSCRIPT_DONE, NULL);
		transcript_turn_set_agreement(a, "4");
		TAP_EQ_INT(a->agree, 1, "two panes with the same boxed answer agree");
		transcript_turn_set_agreement(a, "5");
		TAP_EQ_INT(a->agree, -1, "... with another they disagree");
		TAP_EQ_STR(a->other_boxed, "5", "... and the other answer is kept for display");
		transcript_turn_set_agreement(a, NULL);
		TAP_EQ_INT(a->agree, -1, "a boxed answer against none disagrees");
		{
			char *bx = transcript_turn_boxed(b);
			TAP_EQ_STR(bx, "4", "turn_boxed trims the content");
			free(bx);
		}
		t = transcript_begin_answer(&tr, 9, true);
		transcript_turn_append(t, "\\boxed{3} maybe", 15);
		transcript_turn_finish(t, TRANSCRIPT_DONE, NULL);
		tap_ok(transcript_turn_boxed(t) == NULL,
		       "a box inside never-closed thinking is not the answer");
	}
	transcript_free(&tr);
	return tap_done();
}
