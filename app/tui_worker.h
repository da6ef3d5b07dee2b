/*
 * tui_worker.h — the threads behind the chat interface's panes (DESIGN.md
 * §2): one worker per pane owns that pane's engine session; models of the
 * same file on the same device are loaded once and shared; everything a
 * worker has to say (load progress, text pieces, the numbers, errors) goes
 * into one mutex-protected queue, and a byte on a wake-up pipe tells the UI
 * thread's poll loop to drain it. The UI thread never waits for a worker
 * except when quitting.
 *
 * Calls: infer/engine.h. Thread-safety: every function here is called by
 * the UI thread; the workers only touch their own job queue (under its
 * mutex), the model table (under its mutex) and the event queue.
 */
#ifndef DUET_APP_TUI_WORKER_H
#define DUET_APP_TUI_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/chat.h"
#include "infer/engine.h"

enum tui_event_type {
	TUI_EV_PROGRESS,    /* progress: weights loaded so far, 0..1 */
	TUI_EV_LOADED,      /* info: the model is ready */
	TUI_EV_LOAD_FAILED, /* text: why */
	TUI_EV_TEXT,        /* text, len: answer text (whole UTF-8 characters); tokens, ttft_ms, elapsed_s */
	TUI_EV_DONE,        /* stats, n_cached: the answer ended (stats.stop says how) */
	TUI_EV_FAILED,      /* text: why generation could not run */
};

/* What the UI shows of a loaded model; copied so the UI never touches the model. */
struct tui_model_info {
	char name[128];
	char device[32];
	char note[256]; /* the engine's fallback note ("" when none) */
	uint64_t weight_bytes;
	uint32_t n_ctx;
	int n_threads;
	bool is_r1; /* the model's format is deepseek-r1 */
	enum chat_format format;
	struct sampler_params sampling_r1, sampling_plain; /* the model's defaults with and without R1 */
};

struct tui_event {
	struct tui_event *next;
	enum tui_event_type type;
	int pane;
	uint64_t job; /* the request that caused it; the UI ignores events of requests it dropped */
	float progress;
	char *text; /* owned */
	size_t len;
	uint32_t tokens;  /* TEXT: tokens generated so far */
	double ttft_ms;   /* TEXT: request to first piece */
	double elapsed_s; /* TEXT: first piece to this one */
	struct gen_stats stats;
	uint32_t n_cached; /* DONE: tokens in the KV cache */
	uint32_t n_ctx;
	struct tui_model_info info;
};

void tui_event_free(struct tui_event *ev);

struct tui_queue {
	pthread_mutex_t mu;
	struct tui_event *head, *tail;
	int wake[2]; /* [0] for poll, [1] written by workers; both non-blocking */
};

int tui_queue_init(struct tui_queue *q, char **cause);
void tui_queue_free(struct tui_queue *q);
/* All queued events, oldest first (the caller frees each); empties the pipe. */
struct tui_event *tui_queue_take(struct tui_queue *q);

/* Models shared between the panes' workers. */
struct tui_models;
struct tui_models *tui_models_new(void);
void tui_models_free(struct tui_models *r); /* after every worker stopped */

struct tui_worker;

struct tui_worker *tui_worker_start(int pane, struct tui_queue *q, struct tui_models *models, char **cause);
/*
 * Load a model (replacing the pane's current one) with a fresh session of
 * n_ctx tokens (0 = the engine's default). gpu_mem and quant_bits as in
 * engine_model_params. Queued behind any running job.
 */
void tui_worker_load(struct tui_worker *w, uint64_t job, const char *path, const char *device, int n_threads,
                     uint64_t gpu_mem, int quant_bits, uint32_t n_ctx);
/*
 * Answer the last user message of chat (taken over: the worker frees it).
 * opts and gen are copied (gen->stop must be NULL).
 */
void tui_worker_chat(struct tui_worker *w, uint64_t job, struct chat *chat, const struct chat_options *opts,
                     const struct gen_params *gen);
/* Stop the running generation (it ends with GEN_STOP_CANCELLED) and drop queued answers. */
void tui_worker_cancel(struct tui_worker *w);
/* Whether a model load is running or queued (it cannot be interrupted). */
bool tui_worker_loading(struct tui_worker *w);
/*
 * Stop the thread: cancel, then join it, unless it is loading a model and
 * wait is false (then it is left to finish or die with the process).
 * Returns whether it was joined (and freed).
 */
bool tui_worker_stop(struct tui_worker *w, bool wait);

#endif
