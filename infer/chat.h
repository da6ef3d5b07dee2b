/*
 * chat.h — conversations and how each model family wants them rendered
 * (DESIGN.md §5), without a Jinja engine: deepseek-r1, llama3 and chatml,
 * plus the R1 conventions (no system prompt, generation prompt ending in
 * "<think>\n", earlier thinking dropped) and \boxed{} extraction.
 *
 * Rendering goes straight to token ids: the template's own text is tokenized
 * with special tokens recognised, the user's and the model's text never is.
 * Pure functions over plain data; thread-safe.
 */
#ifndef DUET_INFER_CHAT_H
#define DUET_INFER_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "infer/model.h"
#include "infer/tokenizer.h"

enum chat_role {
	CHAT_ROLE_SYSTEM,
	CHAT_ROLE_USER,
	CHAT_ROLE_ASSISTANT,
};

struct chat_message {
	enum chat_role role;
	char *content; /* owned; an assistant's content is the whole answer, thinking included */
};

/* A conversation; zero-initialise, chat_free releases. */
struct chat {
	struct chat_message *msgs;
	size_t n, cap;
};

void chat_add(struct chat *c, enum chat_role role, const char *text, size_t len);
/* Drop messages [0, n) (oldest first). */
void chat_drop_front(struct chat *c, size_t n);
void chat_free(struct chat *c);

struct chat_options {
	enum chat_format format;    /* CHAT_FORMAT_UNKNOWN = the model's detected format */
	bool r1;                    /* the R1 conventions (DESIGN.md §5) */
	bool add_generation_prompt; /* end with the assistant's header (and "<think>\n" under r1) */
	/*
	 * chatml models (Qwen2.5, SmolLM2) insert their own system prompt when
	 * the conversation has none; NULL = take it from the model's template
	 * (chat_default_system), "" = none.
	 */
	const char *default_system;
};

/*
 * Render the conversation to ids, appended to out. Under r1, a system
 * message is merged into the user message that follows it (*merged_system set true so
 * the caller can say so once). Fails when the format is unknown or the
 * tokenizer lacks a token the format needs.
 */
int chat_tokenize(const struct tokenizer *tok, const struct model_desc *desc, const struct chat *c,
		  const struct chat_options *o, struct tokens *out, bool *merged_system, char **cause);

/* The same rendering as text (special tokens spelled out), for --verbose and tests. Caller frees. */
char *chat_render(const struct model_desc *desc, const struct chat *c, const struct chat_options *o,
		  char **cause);

/* The default system prompt a chatml template inserts, read from its text; NULL when none. Caller frees. */
char *chat_default_system(const char *template_text);

/* Byte offset of the answer after thinking: just past the last "</think>", or 0 when none. */
size_t chat_answer_offset(const char *text, size_t len);

/*
 * The last \boxed{...} in text, with balanced braces, as a new string
 * (caller frees); NULL when there is none or it never closes.
 */
char *chat_extract_boxed(const char *text, size_t len);

/* The R1 math template's instruction (DESIGN.md §5). */
#define CHAT_R1_MATH_SUFFIX "Please reason step by step, and put your final answer within \\boxed{}."

enum chat_format chat_format_parse(const char *name); /* "chatml" -> ...; UNKNOWN when not a name */

#endif
