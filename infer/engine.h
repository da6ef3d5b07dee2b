/*
 * engine.h — the public face of the inference core: a model (weights,
 * description, tokenizer, on a backend) and sessions that hold a
 * conversation's KV cache and generate from it.
 *
 * An engine_model is read-only after open and may be shared by several
 * sessions on several threads; it must outlive them. A session is used by
 * one thread at a time, except session_cancel, which any thread may call.
 * Generation streams whole UTF-8 text pieces through a callback.
 */
#ifndef DUET_INFER_ENGINE_H
#define DUET_INFER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/chat.h"
#include "infer/model.h"
#include "infer/sampler.h"
#include "infer/tokenizer.h"

struct engine_model_params {
	const char *device;  /* "auto", "cpu", "cuda", "cuda:N"; NULL = auto */
	int n_threads;       /* CPU threads; 0 = one per core */
	uint64_t gpu_mem;    /* cap on GPU memory in bytes; 0 = no cap */
	/*
	 * 8 or 4: the GPU quantises float weights at load (backend_params.
	 * quant_bits); 0 keeps the file's types. The CPU always runs the
	 * file's own types: there it only adds a line to the device note.
	 */
	int quant_bits;
	void (*progress)(float done, void *user);
	void *progress_user;
};

struct engine_model;

struct engine_model *engine_model_open(const char *path, const struct engine_model_params *p, char **cause);
void engine_model_free(struct engine_model *m); /* NULL is a no-op */
const struct model_desc *engine_model_desc(const struct engine_model *m);
const struct tokenizer *engine_model_tokenizer(const struct engine_model *m);
const struct model_file *engine_model_file(const struct engine_model *m);
/*
 * "cpu" or "cuda:0"; and a note when auto fell back to the CPU or a GPU-only
 * setting (quant_bits) does not apply on the CPU (NULL otherwise).
 */
const char *engine_model_device(const struct engine_model *m);
const char *engine_model_fallback_note(const struct engine_model *m);
/* CPU threads the model's backend runs with (params' 0 resolved to the core count). */
int engine_model_n_threads(const struct engine_model *m);
/* Bytes the weights take where the backend keeps them (host memory for the CPU). */
uint64_t engine_model_weight_bytes(const struct engine_model *m);

/*
 * The model's default sampling: sampler_params_default, then what the model
 * ships (generation_config.json: temperature, top-p, top-k), then, under the
 * R1 conventions, temperature 0.6 and top-p 0.95 (DESIGN.md §5).
 */
void engine_model_sampling_defaults(const struct engine_model *m, bool r1, struct sampler_params *p);
/* Whether the R1 conventions apply by default: the model's chat format is deepseek-r1. */
bool engine_model_is_r1(const struct engine_model *m);

enum gen_stop {
	GEN_STOP_EOS,        /* the model ended its turn */
	GEN_STOP_MAX_TOKENS,
	GEN_STOP_STRING,     /* a stop string appeared (not emitted) */
	GEN_STOP_CANCELLED,
	GEN_STOP_CONTEXT,    /* the context filled up */
};

struct gen_params {
	struct sampler_params sampling;
	uint32_t max_tokens;     /* 0 = until the context is full */
	const char *const *stop; /* stop strings */
	size_t n_stop;
	bool ignore_stop_ids;    /* go on past the model's end-of-turn ids (benchmarks, golden tests) */
};

struct gen_stats {
	uint32_t prompt_tokens;  /* tokens prefilled this turn (after reuse of the cache) */
	uint32_t cached_tokens;  /* prompt tokens reused from the cache */
	uint32_t gen_tokens;
	double ttft_ms;          /* request to first token */
	double prefill_tps;
	double decode_tps;
	double itl_p50_ms, itl_p99_ms; /* inter-token latency */
	uint64_t peak_rss;       /* bytes, process peak */
	uint64_t device_bytes;   /* weights + context on the device */
	uint32_t dropped_turns;  /* oldest turns (a user message and its answers) dropped to fit the context */
	bool merged_system;      /* r1: the system text went into the first user message */
	enum gen_stop stop;
};

/* "eos", "max-tokens", "stop-string", "cancelled", "context". */
const char *gen_stop_name(enum gen_stop stop);

/*
 * Called with each whole-UTF-8 piece of generated text (never a partial
 * character). Return non-zero to stop generation.
 */
typedef int (*gen_text_fn)(void *user, const char *text, size_t len);

struct session;

/* n_ctx 0 = the default (32768) capped by the model's context length. */
struct session *session_new(struct engine_model *m, uint32_t n_ctx, char **cause);
void session_free(struct session *s); /* NULL is a no-op */
uint32_t session_n_ctx(const struct session *s);
uint32_t session_n_cached(const struct session *s);
/* Forget the cache (the next generation prefills everything). */
void session_reset(struct session *s);
/* Tokens generated so far by the running generation (for a gen_text_fn). */
uint32_t session_gen_tokens(const struct session *s);
/*
 * The ids the last (or running) generation produced, a stop id excluded;
 * valid until the next generating call.
 */
const int32_t *session_gen_ids(const struct session *s, size_t *n);
/*
 * The n_vocab logits of the last position the last forward pass ran; valid
 * until the next call. After a generation, the sampler may have changed
 * them in place (penalties, temperature); greedy sampling leaves them as
 * they were. NULL after a generation that sampled on the device (a backend
 * with ops->sample, sampling without penalties): its logits never reached
 * the host; session_logits always brings them back.
 */
const float *session_last_logits(const struct session *s);

/*
 * Answer the conversation's last user message (o->add_generation_prompt is
 * implied). The KV cache keeps the longest prefix it shares with the
 * rendered conversation, so a follow-up turn only prefills the new part.
 * When the conversation and room for the answer (max_tokens, or a quarter of
 * the context when unlimited, at most half of it) do not fit, whole oldest
 * turns are dropped from *c (never a system message; stats->dropped_turns
 * says how many); when even the last turn alone does not fit, it fails.
 * The answer is not added to *c: the caller adds what it was shown.
 *
 * For all three generating calls: returns 0 when generation ran (the reason
 * it ended in stats->stop, stats filled), -1 with *cause when it could not
 * (bad input, the prompt exceeds the context, a backend failure). The cache
 * keeps every token whose keys and values were computed, so a following
 * call reuses them.
 */
int session_chat(struct session *s, struct chat *c, const struct chat_options *o, const struct gen_params *g,
		 gen_text_fn on_text, void *user, struct gen_stats *stats, char **cause);
/* Continue raw text (no chat format). */
int session_complete(struct session *s, const char *text, size_t len, const struct gen_params *g,
		     gen_text_fn on_text, void *user, struct gen_stats *stats, char **cause);
/* Continue from ids (tests, benchmarks). */
int session_generate_ids(struct session *s, const int32_t *ids, size_t n, const struct gen_params *g,
			 gen_text_fn on_text, void *user, struct gen_stats *stats, char **cause);
/*
 * Logits for every position of ids (n * n_vocab floats, caller frees), from
 * an empty cache. For `duet logits` and golden checks.
 */
float *session_logits(struct session *s, const int32_t *ids, size_t n, char **cause);

/*
 * Ask a running generation to stop after the current step (prefill chunk or
 * decode step); it ends with GEN_STOP_CANCELLED and keeps what it produced.
 * Each generation clears the request when it starts. Any thread;
 * async-signal-safe (a lock-free atomic store).
 */
void session_cancel(struct session *s);

struct backend_ops;
/*
 * Tests only: run m's sessions through ops, a table that wraps the backend
 * m was opened on (same weights and contexts, e.g. with a sample op added).
 * Call before any session of m exists.
 */
void engine_model_set_ops(struct engine_model *m, const struct backend_ops *ops);

#endif
