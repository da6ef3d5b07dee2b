/*
 * transcript.h — what a pane shows, as plain data: turns (the user's
 * messages, the model's answers, notes and errors), each answer split into
 * its thinking and its answer as the text streams in, the stopped / failed
 * state, the numbers of the generation, and the \boxed{} answer with its
 * agreement with the other pane. No curses: ui/view.c lays it out, the app
 * fills it from engine events. Not thread-safe: one thread (the UI's) owns a
 * transcript.
 */
#ifndef DUET_UI_TRANSCRIPT_H
#define DUET_UI_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/mem.h"

enum transcript_role {
	TRANSCRIPT_USER,
	TRANSCRIPT_ASSISTANT,
	TRANSCRIPT_NOTE,  /* duet speaking: command results, model changes */
	TRANSCRIPT_ERROR, /* a failure the user should read */
};

enum transcript_state {
	TRANSCRIPT_WAITING,   /* asked; nothing back yet */
	TRANSCRIPT_STREAMING, /* text arriving */
	TRANSCRIPT_DONE,
	TRANSCRIPT_STOPPED, /* cancelled by the user: the partial answer stays */
	TRANSCRIPT_FAILED,  /* the engine failed; error says why */
};

/* Where the answer's parser is: before knowing whether it thinks, inside the thinking, after it. */
enum transcript_phase {
	TRANSCRIPT_PHASE_START,
	TRANSCRIPT_PHASE_THINK,
	TRANSCRIPT_PHASE_ANSWER,
};

/* The numbers of one generation, copied from the engine's gen_stats by the app. */
struct transcript_stats {
	bool valid;
	double ttft_ms;
	double prefill_tps, decode_tps;
	double itl_p50_ms, itl_p99_ms;
	uint32_t prompt_tokens, cached_tokens, gen_tokens;
	uint32_t ctx_used, ctx_size; /* tokens in the KV cache after the answer, of the context */
	uint64_t peak_rss, device_bytes;
	char stop[16]; /* "eos", "max-tokens", "cancelled", ... */
};

struct transcript_turn {
	enum transcript_role role;
	uint64_t id;        /* unique in the process; views key their caches by it */
	uint64_t message;   /* the user message a user turn is, or an answer answers (pairs panes) */
	unsigned version;   /* bumped on every change of what is shown */
	struct ui_buf text; /* raw UTF-8 as received (answers: tags included); NUL-terminated */

	/* answers only */
	enum transcript_state state;
	enum transcript_phase phase;
	bool starts_in_think; /* R1: the prompt opened the thinking block */
	bool has_think;
	size_t scan;         /* parser position */
	size_t think_start;  /* thinking text, tags excluded: [think_start, think_end) */
	size_t think_end;    /* grows while thinking; a partial "</think>" is held back */
	size_t answer_start; /* the answer: [answer_start, answer_end) */
	size_t answer_end;
	size_t boxed_start, boxed_end; /* the last whole \boxed{...} in the answer; equal when none */
	int agree;         /* with the other pane's boxed answer: 0 not compared, 1 same, -1 different */
	char *other_boxed; /* the other pane's boxed answer when compared */
	char *error;       /* TRANSCRIPT_FAILED: why */
	struct transcript_stats stats;
};

/* Zero-initialise; transcript_free releases. */
struct transcript {
	struct transcript_turn **turns;
	size_t n, cap;
};

void transcript_free(struct transcript *t);
void transcript_clear(struct transcript *t);

/* Append a turn holding text (a copy). Returns it; valid until it is removed or the transcript cleared. */
struct transcript_turn *transcript_add(struct transcript *t, enum transcript_role role, uint64_t message,
                                       const char *text, size_t len);
struct transcript_turn *transcript_add_note(struct transcript *t, enum transcript_role role, const char *fmt,
                                            ...) UI_PRINTF(3, 4);
/*
 * Start an answer to message. starts_in_think: the generation prompt already
 * opened the thinking block (R1), so the text is thinking until "</think>".
 */
struct transcript_turn *transcript_begin_answer(struct transcript *t, uint64_t message, bool starts_in_think);
/* Remove turn i (e.g. the answer /retry replaces). */
void transcript_remove(struct transcript *t, size_t i);
/* The last turn of a role, or NULL. */
struct transcript_turn *transcript_last(const struct transcript *t, enum transcript_role role);

/* Append streamed text to an answer and advance the think/answer parser. */
void transcript_turn_append(struct transcript_turn *turn, const char *s, size_t n);
/*
 * End an answer: DONE, STOPPED or FAILED (error copied, may be NULL).
 * Whatever the parser held back is decided (an answer that never closed
 * its thinking is all thinking) and the boxed answer is found.
 */
void transcript_turn_finish(struct transcript_turn *turn, enum transcript_state state, const char *error);
/* Whether an answer is still coming. */
bool transcript_turn_busy(const struct transcript_turn *turn);
/* The boxed answer's content (trimmed) as a new string, or NULL. */
char *transcript_turn_boxed(const struct transcript_turn *turn);
/* Record the comparison with the other pane's boxed answer (NULL: the other has none). */
void transcript_turn_set_agreement(struct transcript_turn *turn, const char *other);

/*
 * The last \boxed{...} of s[0..n) with balanced braces ("\{" does not
 * count): [*start, *end) covers "\boxed{...}" whole, [*cstart, *cend) the
 * content trimmed of spaces. False when there is none, or the last one
 * never closes.
 */
bool transcript_find_boxed(const char *s, size_t n, size_t *start, size_t *end, size_t *cstart, size_t *cend);
/*
 * Whether two boxed answers say the same: equal after dropping spaces, "$",
 * \left \right, spacing commands, \text{} and a final period, or the same
 * number (0.5 = \frac{1}{2} = 1/2, 1,000 = 1000).
 */
bool transcript_boxed_agree(const char *a, const char *b);

#endif
