/*
 * convo.h — conversations as plain data, saved and loaded as JSON, and
 * exported as Markdown. UI-independent: the curses interface converts its
 * transcript to and from struct convo; --plain uses it directly.
 *
 * The file ({"duet_conversation": 1, ...}) holds both panes: per pane the
 * model (path, name, device), the parameters (sampling, r1, math, template,
 * chat format, system prompt) and every message with its timestamp; per
 * answer the stopped flag, the sampling it ran with and the generation
 * statistics. Loading checks everything (version, types, ranges, sizes)
 * and refuses a bad file with a message naming it and the field; it never
 * crashes on any input. Saving replaces the file atomically.
 *
 * Autosaves go to $XDG_DATA_HOME/duet/chats (else ~/.local/share/duet/chats)
 * as YYYY-MM-DD_HH-MM-SS.json (local time the conversation started).
 * Not thread-safe; a struct convo belongs to one thread.
 */
#ifndef DUET_APP_CONVO_H
#define DUET_APP_CONVO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/chat.h"
#include "infer/engine.h"
#include "infer/sampler.h"

#define CONVO_VERSION      1
#define CONVO_MAX_PANES    2
#define CONVO_MAX_FILE     (64u << 20) /* bytes of a conversation file */
#define CONVO_MAX_MESSAGES 100000      /* per pane */
#define CONVO_MAX_TEXT     (16u << 20) /* bytes of one string */

enum convo_role {
	CONVO_ROLE_SYSTEM,
	CONVO_ROLE_USER,
	CONVO_ROLE_ASSISTANT,
};

/* What a pane runs with (the current settings; answers keep their own copy). */
struct convo_params {
	struct sampler_params sampling;
	uint32_t max_tokens;          /* 0 = until the context fills */
	bool r1;                      /* the R1 conventions */
	bool math;                    /* the R1 math instruction and \boxed{} answers */
	enum chat_format chat_format; /* CHAT_FORMAT_UNKNOWN = the model's own */
	char *template_name;          /* NULL = none */
	char *system;                 /* NULL = none */
};

struct convo_msg {
	enum convo_role role;
	char *text;      /* owned; an answer is the raw text as generated, thinking and tags included */
	int64_t time_ms; /* Unix time in ms: when sent, or when the answer ended; 0 = unknown */
	/*
	 * The question this message belongs to, 1-based; a question broadcast
	 * to both panes has the same number in each. 0 = not numbered (the
	 * Markdown export then pairs the panes' user messages by order).
	 */
	uint32_t question;

	/* Answers only: */
	bool think_open;   /* generation started inside thinking (R1's prompt ends in "<think>\n") */
	bool stopped;      /* cancelled by the user before the model ended it */
	bool has_sampling; /* the sampling and r1 the answer was generated with */
	struct sampler_params sampling;
	bool r1;
	bool has_stats;
	struct gen_stats stats;
};

struct convo_pane {
	char *model_path; /* as given (NULL when none) */
	char *model_name; /* the model's own name (general.name), NULL when unknown */
	char *device;     /* "cpu", "cuda:0", NULL when unknown */
	struct convo_params params;
	struct convo_msg *msgs;
	size_t n_msgs, cap_msgs;
};

/* Zero-initialise (or convo_init); convo_free releases. */
struct convo {
	int64_t created_ms; /* Unix time in ms */
	int layout;         /* enum settings_layout */
	bool broadcast;
	int focus;      /* 0-based focused pane */
	size_t n_panes; /* 1 or 2 (0 only before anything is set) */
	struct convo_pane panes[CONVO_MAX_PANES];
};

/* Zero c, set created_ms to now, one pane with sampler_params_default. */
void convo_init(struct convo *c);
void convo_free(struct convo *c); /* leaves *c zeroed */
/* Replace *dst with a copy of src (NULL allowed). */
void convo_str_set(char **dst, const char *src);

/* Append a message (text copied; len bytes). The pointer is valid until the next append. time_ms = now. */
struct convo_msg *convo_pane_add(struct convo_pane *p, enum convo_role role, const char *text, size_t len);
/* Forget the pane's messages (model and parameters stay). */
void convo_pane_clear(struct convo_pane *p);
/* The largest question number in any pane. */
uint32_t convo_last_question(const struct convo *c);

/*
 * Split an answer into thinking and answer: with "</think>", thinking is
 * what precedes the last one (less a leading "<think>"), the answer what
 * follows (leading blank lines dropped); without, an answer that starts
 * with "<think>" or is think_open is all thinking (unfinished), any other
 * is all answer. Pointers into m->text; *think_len 0 when there is none.
 */
void convo_msg_split(const struct convo_msg *m, const char **think, size_t *think_len, const char **answer,
                     size_t *answer_len);

/*
 * The pane's messages as a chat for session_chat: the system prompt
 * (params.system, when set and non-empty) first, then each message; an
 * answer goes in whole (the chat format drops thinking where R1 says so).
 * Appends to *out.
 */
void convo_pane_to_chat(const struct convo_pane *p, struct chat *out);

/* JSON text of the conversation (caller frees). */
char *convo_to_json(const struct convo *c);
/* Parse JSON text; name is used in messages. On failure *c is left zeroed. */
int convo_from_json(struct convo *c, const char *name, const char *text, size_t len, char **cause);
/* Atomic save; -1 with *cause. */
int convo_save(const struct convo *c, const char *path, char **cause);
/* Load a file written by convo_save; -1 with *cause ("PATH: panes[0].messages[3].text: not a string"). */
int convo_load(struct convo *c, const char *path, char **cause);

/* A readable Markdown document: per question the user's text, then each pane's answer
 * (thinking in <details>, stopped answers marked, statistics). Caller frees. */
char *convo_markdown(const struct convo *c);
int convo_export_markdown(const struct convo *c, const char *path, char **cause);

/* $XDG_DATA_HOME/duet/chats, else $HOME/.local/share/duet/chats. Caller frees. */
char *convo_autosave_dir(void);
/* The autosave file for a conversation started at created_ms. Caller frees. */
char *convo_autosave_path(int64_t created_ms);
/* The most recently modified *.json in the autosave folder; NULL with *cause when none. Caller frees. */
char *convo_latest(char **cause);

#endif
