/*
 * transcript.c — the pane's data: turns, the streaming think/answer parser
 * and \boxed{} answers. No curses, no engine: plain data the UI thread owns.
 *
 * The parser never shows a tag: while the text could still turn into
 * "<think>" (at the start) or "</think>" (inside thinking), the bytes that
 * might belong to the tag are held back (think_end stops before them) until
 * the next piece or the end of the answer decides.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/transcript.h"

static const char think_open[] = "<think>";
static const char think_close[] = "</think>";
#define THINK_OPEN_LEN  (sizeof think_open - 1)
#define THINK_CLOSE_LEN (sizeof think_close - 1)

static uint64_t turn_next_id = 1;

static void turn_free(struct transcript_turn *turn)
{
	if (!turn)
		return;
	ui_buf_free(&turn->text);
	free(turn->other_boxed);
	free(turn->error);
	free(turn);
}

void transcript_clear(struct transcript *t)
{
	for (size_t i = 0; i < t->n; i++)
		turn_free(t->turns[i]);
	t->n = 0;
}

void transcript_free(struct transcript *t)
{
	transcript_clear(t);
	free(t->turns);
	t->turns = NULL;
	t->cap = 0;
}

struct transcript_turn *transcript_add(struct transcript *t, enum transcript_role role, uint64_t message,
                                       const char *text, size_t len)
{
	struct transcript_turn *turn = ui_xcalloc(1, sizeof *turn);

	turn->role = role;
	turn->id = turn_next_id++;
	turn->message = message;
	turn->state = TRANSCRIPT_DONE;
	turn->phase = TRANSCRIPT_PHASE_ANSWER;
	ui_buf_append(&turn->text, text ? text : "", text ? len : 0);
	turn->answer_end = turn->text.len;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->turns = ui_xreallocarray(t->turns, t->cap, sizeof *t->turns);
	}
	t->turns[t->n++] = turn;
	return turn;
}

struct transcript_turn *transcript_add_note(struct transcript *t, enum transcript_role role, const char *fmt,
                                            ...)
{
	struct transcript_turn *turn;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = ui_xvasprintf(fmt, ap);
	va_end(ap);
	turn = transcript_add(t, role, 0, s, strlen(s));
	free(s);
	return turn;
}

struct transcript_turn *transcript_begin_answer(struct transcript *t, uint64_t message, bool starts_in_think)
{
	struct transcript_turn *turn = transcript_add(t, TRANSCRIPT_ASSISTANT, message, "", 0);

	turn->state = TRANSCRIPT_WAITING;
	turn->phase = TRANSCRIPT_PHASE_START;
	turn->starts_in_think = starts_in_think;
	turn->answer_end = 0;
	return turn;
}

void transcript_remove(struct transcript *t, size_t i)
{
	if (i >= t->n)
		return;
	turn_free(t->turns[i]);
	memmove(t->turns + i, t->turns + i + 1, (t->n - i - 1) * sizeof *t->turns);
	t->n--;
}

struct transcript_turn *transcript_last(const struct transcript *t, enum transcript_role role)
{
	for (size_t i = t->n; i-- > 0;)
		if (t->turns[i]->role == role)
			return t->turns[i];
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Bytes at the end of s[0..n) that are a proper prefix of tag (they may still become it). */
static size_t partial_tag(const char *s, size_t n, const char *tag, size_t tag_len)
{
	size_t k = tag_len - 1 < n ? tag_len - 1 : n;

	for (; k > 0; k--)
		if (memcmp(s + n - k, tag, k) == 0)
			return k;
	return 0;
}

static void turn_parse(struct transcript_turn *turn, bool final)
{
	const char *s = turn->text.data ? turn->text.data : "";
	size_t len = turn->text.len;

	for (;;) {
		switch (turn->phase) {
		case TRANSCRIPT_PHASE_START: {
			size_t i = turn->scan, rest;
			while (i < len && is_space(s[i]))
				i++;
			rest = len - i;
			if (rest >= THINK_OPEN_LEN && memcmp(s + i, think_open, THINK_OPEN_LEN) == 0) {
				turn->has_think = true;
				turn->think_start = turn->think_end = turn->scan = i + THINK_OPEN_LEN;
				turn->phase = TRANSCRIPT_PHASE_THINK;
				continue;
			}
			if (!final && rest < THINK_OPEN_LEN && memcmp(s + i, think_open, rest) == 0)
				return; /* whitespace, or the beginning of "<think>": not decided */
			if (turn->starts_in_think) {
				turn->has_think = true;
				turn->think_start = turn->think_end = turn->scan = 0;
				turn->phase = TRANSCRIPT_PHASE_THINK;
			} else {
				turn->answer_start = 0;
				turn->phase = TRANSCRIPT_PHASE_ANSWER;
			}
			continue;
		}
		case TRANSCRIPT_PHASE_THINK: {
			const char *close = NULL;
			if (len >= turn->scan + THINK_CLOSE_LEN)
				close = memmem(s + turn->scan, len - turn->scan, think_close,
				               THINK_CLOSE_LEN);
			if (close) {
				turn->think_end = (size_t)(close - s);
				turn->answer_start = turn->scan = turn->think_end + THINK_CLOSE_LEN;
				turn->phase = TRANSCRIPT_PHASE_ANSWER;
				continue;
			}
			turn->think_end =
			        final ? len : len - partial_tag(s, len, think_close, THINK_CLOSE_LEN);
			if (turn->think_end < turn->think_start)
				turn->think_end = turn->think_start;
			turn->scan = turn->think_end;
			if (final)
				turn->answer_start = len; /* it never left the thinking: no answer */
			return;
		}
		case TRANSCRIPT_PHASE_ANSWER:
			turn->answer_end = len;
			turn->scan = len;
			return;
		}
	}
}

void transcript_turn_append(struct transcript_turn *turn, const char *s, size_t n)
{
	if (n == 0)
		return;
	ui_buf_append(&turn->text, s, n);
	if (turn->state == TRANSCRIPT_WAITING)
		turn->state = TRANSCRIPT_STREAMING;
	turn_parse(turn, false);
	turn->version++;
}

void transcript_turn_finish(struct transcript_turn *turn, enum transcript_state state, const char *error)
{
	size_t a, b, ca, cb;

	turn_parse(turn, true);
	if (turn->phase == TRANSCRIPT_PHASE_THINK)
		turn->answer_start = turn->answer_end = turn->text.len;
	turn->state = state;
	free(turn->error);
	turn->error = error ? ui_xstrdup(error) : NULL;
	turn->boxed_start = turn->boxed_end = 0;
	if (turn->answer_end > turn->answer_start &&
	    transcript_find_boxed(turn->text.data + turn->answer_start, turn->answer_end - turn->answer_start,
	                          &a, &b, &ca, &cb)) {
		turn->boxed_start = turn->answer_start + a;
		turn->boxed_end = turn->answer_start + b;
	}
	turn->version++;
}

bool transcript_turn_busy(const struct transcript_turn *turn)
{
	return turn->role == TRANSCRIPT_ASSISTANT &&
	       (turn->state == TRANSCRIPT_WAITING || turn->state == TRANSCRIPT_STREAMING);
}

char *transcript_turn_boxed(const struct transcript_turn *turn)
{
	size_t a, b, ca, cb;

	if (turn->boxed_end <= turn->boxed_start)
		return NULL;
	if (!transcript_find_boxed(turn->text.data + turn->boxed_start, turn->boxed_end - turn->boxed_start,
	                           &a, &b, &ca, &cb))
		return NULL;
	return ui_xstrndup(turn->text.data + turn->boxed_start + ca, cb - ca);
}

void transcript_turn_set_agreement(struct transcript_turn *turn, const char *other)
{
	char *mine = transcript_turn_boxed(turn);

	free(turn->other_boxed);
	turn->other_boxed = other ? ui_xstrdup(other) : NULL;
	if (!mine && !other)
		turn->agree = 0;
	else
		turn->agree = mine && other && transcript_boxed_agree(mine, other) ? 1 : -1;
	free(mine);
	turn->version++;
}

/* ---- \boxed{} ------------------------------------------------------------------------------- */

static const char *mem_rfind(const char *s, size_t n, const char *pat, size_t m)
{
	if (m > n)
		return NULL;
	for (size_t i = n - m + 1; i-- > 0;)
		if (memcmp(s + i, pat, m) == 0)
			return s + i;
	return NULL;
}

bool transcript_find_boxed(const char *s, size_t n, size_t *start, size_t *end, size_t *cstart, size_t *cend)
{
	static const char macro[] = "\\boxed";
	size_t limit = n;

	for (;;) {
		const char *m = mem_rfind(s, limit, macro, sizeof macro - 1);
		size_t i, depth, a, b;

		if (!m)
			return false;
		limit = (size_t)(m - s);
		i = limit + sizeof macro - 1;
		if (i < n && isalpha((unsigned char)s[i]))
			continue; /* \boxedfoo is another macro */
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i >= n || s[i] != '{')
			continue;
		a = ++i;
		depth = 1;
		for (; i < n; i++) {
			if (s[i] == '\\') {
				i++;
				continue;
			}
			if (s[i] == '{')
				depth++;
			else if (s[i] == '}' && --depth == 0)
				break;
		}
		if (depth != 0)
			return false;
		b = i;
		*start = limit;
		*end = i + 1;
		while (a < b && isspace((unsigned char)s[a]))
			a++;
		while (b > a && isspace((unsigned char)s[b - 1]))
			b--;
		*cstart = a;
		*cend = b;
		return true;
	}
}

static bool starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The canonical spelling of a boxed answer (caller frees). */
static char *boxed_normalise(const char *s)
{
	static const char *const dropped[] = {
	        "\\left", "\\right", "\\displaystyle", "\\!", "\\,", "\\;", "\\:", "\\ ", "$"};
	static const char *const unwrapped[] = {"\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{", "\\mbox{"};
	size_t n = strlen(s), o = 0;
	char *out = ui_xmalloc(n + 1);
	int skip_close = 0; /* closing braces of unwrapped macros still to drop */
	int depth = 0, close_at[16];

	for (size_t i = 0; i < n;) {
		bool hit = false;
		if (isspace((unsigned char)s[i])) {
			i++;
			continue;
		}
		for (size_t k = 0; k < sizeof dropped / sizeof *dropped && !hit; k++) {
			size_t l = strlen(dropped[k]);
			/* "\left" must not eat "\leftarrow" */
			if (starts(s + i, dropped[k]) && !(isalpha((unsigned char)dropped[k][l - 1]) &&
			                                   isalpha((unsigned char)s[i + l]))) {
				i += l;
				hit = true;
			}
		}
		for (size_t k = 0; k < sizeof unwrapped / sizeof *unwrapped && !hit; k++) {
			if (starts(s + i, unwrapped[k]) && skip_close < 16) {
				i += strlen(unwrapped[k]);
				close_at[skip_close++] = depth;
				depth++;
				hit = true;
			}
		}
		if (hit)
			continue;
		if (starts(s + i, "\\dfrac") || starts(s + i, "\\tfrac")) {
			memcpy(out + o, "\\frac", 5);
			o += 5;
			i += 6;
			continue;
		}
		if (s[i] == '{')
			depth++;
		if (s[i] == '}') {
			depth--;
			if (skip_close > 0 && close_at[skip_close - 1] == depth) {
				skip_close--;
				i++;
				continue;
			}
		}
		out[o++] = s[i++];
	}
	while (o > 0 && out[o - 1] == '.')
		o--;
	out[o] = '\0';
	return out;
}

/* s as a number: decimals, "1,000", "a/b", "\frac{a}{b}", a leading sign. */
static bool boxed_number(const char *s, double *v)
{
	char digits[128];
	size_t o = 0;
	char *end;
	double num, den;
	const char *p;

	int k = -1;

	if (sscanf(s, "\\frac{%lf}{%lf}%n", &num, &den, &k) == 2 && k > 0 && s[k] == '\0' && den != 0) {
		*v = num / den;
		return isfinite(*v);
	}
	k = -1;
	if (sscanf(s, "-\\frac{%lf}{%lf}%n", &num, &den, &k) == 2 && k > 0 && s[k] == '\0' && den != 0) {
		*v = -num / den;
		return isfinite(*v);
	}
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == ',') {
			/* a thousands separator: exactly three digits follow */
			if (!(isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) &&
			      isdigit((unsigned char)s[i + 3]) && !isdigit((unsigned char)s[i + 4])))
				return false;
			continue;
		}
		if (o + 1 >= sizeof digits)
			return false;
		digits[o++] = s[i];
	}
	digits[o] = '\0';
	if (!o)
		return false;
	if ((p = strchr(digits, '/'))) {
		num = strtod(digits, &end);
		if (end != p)
			return false;
		den = strtod(p + 1, &end);
		if (*end || p[1] == '\0' || den == 0)
			return false;
		*v = num / den;
		return isfinite(*v);
	}
	if (!(isdigit((unsigned char)digits[0]) || digits[0] == '-' || digits[0] == '+' || digits[0] == '.'))
		return false;
	*v = strtod(digits, &end);
	return *end == '\0' && isfinite(*v);
}

bool transcript_boxed_agree(const char *a, const char *b)
{
	char *na = boxed_normalise(a), *nb = boxed_normalise(b);
	double va, vb;
	bool same = strcmp(na, nb) == 0;

	if (!same && boxed_number(na, &va) && boxed_number(nb, &vb))
		same = fabs(va - vb) <= 1e-9 * fmax(1.0, fmax(fabs(va), fabs(vb)));
	free(na);
	free(nb);
	return same;
}
