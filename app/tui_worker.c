/*
 * tui_worker.c — pane worker threads, the shared model table and the event
 * queue (app/tui_worker.h). Calls infer/engine.h; never curses.
 *
 * Jobs run in order on the pane's thread. A cancel marks the queued answers
 * cancelled (they end at once, as stopped) and asks the running session to
 * stop after its current step; the session pointer is only replaced by the
 * worker itself, under w->mu, so session_cancel never sees a freed session.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/tui_worker.h"
#include "infer/util.h"

/* ---- the event queue ------------------------------------------------------------------------ */

void tui_event_free(struct tui_event *ev)
{
	if (!ev)
		return;
	free(ev->text);
	free(ev);
}

int tui_queue_init(struct tui_queue *q, char **cause)
{
	memset(q, 0, sizeof *q);
	if (pipe(q->wake) != 0)
		return error_set(cause, "cannot create a pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(q->wake[i], F_SETFL, fcntl(q->wake[i], F_GETFL) | O_NONBLOCK);
		fcntl(q->wake[i], F_SETFD, FD_CLOEXEC);
	}
	pthread_mutex_init(&q->mu, NULL);
	return 0;
}

void tui_queue_free(struct tui_queue *q)
{
	struct tui_event *ev = q->head;

	while (ev) {
		struct tui_event *next = ev->next;
		tui_event_free(ev);
		ev = next;
	}
	close(q->wake[0]);
	close(q->wake[1]);
	pthread_mutex_destroy(&q->mu);
	memset(q, 0, sizeof *q);
}

static void queue_wake(struct tui_queue *q)
{
	char c = 1;
	/* A full pipe already wakes the reader: EAGAIN is fine. */
	if (write(q->wake[1], &c, 1) < 0 && errno != EAGAIN)
		return;
}

static void queue_push(struct tui_queue *q, struct tui_event *ev)
{
	bool was_empty;

	pthread_mutex_lock(&q->mu);
	was_empty = q->head == NULL;
	/* Text pieces of one answer merge while the UI has not taken them yet. */
	if (ev->type == TUI_EV_TEXT && q->tail && q->tail->type == TUI_EV_TEXT && q->tail->pane == ev->pane &&
	    q->tail->job == ev->job) {
		struct tui_event *t = q->tail;
		t->text = xrealloc(t->text, t->len + ev->len + 1);
		memcpy(t->text + t->len, ev->text, ev->len);
		t->len += ev->len;
		t->text[t->len] = '\0';
		t->tokens = ev->tokens;
		t->elapsed_s = ev->elapsed_s;
		pthread_mutex_unlock(&q->mu);
		tui_event_free(ev);
		return;
	}
	ev->next = NULL;
	if (q->tail)
		q->tail->next = ev;
	else
		q->head = ev;
	q->tail = ev;
	pthread_mutex_unlock(&q->mu);
	if (was_empty)
		queue_wake(q);
}

struct tui_event *tui_queue_take(struct tui_queue *q)
{
	struct tui_event *ev;
	char drain[64];

	while (read(q->wake[0], drain, sizeof drain) > 0)
		;
	pthread_mutex_lock(&q->mu);
	ev = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	return ev;
}

static struct tui_event *event_new(enum tui_event_type type, int pane, uint64_t job)
{
	struct tui_event *ev = xcalloc(1, sizeof *ev);
	ev->type = type;
	ev->pane = pane;
	ev->job = job;
	return ev;
}

/* ---- shared models -------------------------------------------------------------------------- */

struct model_entry {
	struct model_entry *next;
	char *key;              /* real path + device + threads + gpu_mem + quant_bits */
	struct engine_model *m; /* NULL while loading */
	bool loading;
	int refs;
};

struct tui_models {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct model_entry *head;
};

struct tui_models *tui_models_new(void)
{
	struct tui_models *r = xcalloc(1, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	return r;
}

void tui_models_free(struct tui_models *r)
{
	if (!r)
		return;
	while (r->head) {
		struct model_entry *e = r->head;
		r->head = e->next;
		engine_model_free(e->m);
		free(e->key);
		free(e);
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/*
 * The model for key, loading it (outside the lock) when nobody has; a
 * second pane asking for the same file waits for the first load.
 */
static struct engine_model *models_acquire(struct tui_models *r, const char *key, const char *path,
                                           const struct engine_model_params *p, char **cause)
{
	struct model_entry *e;
	struct engine_model *m;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		for (e = r->head; e; e = e->next)
			if (strcmp(e->key, key) == 0)
				break;
		if (!e || !e->loading)
			break;
		pthread_cond_wait(&r->cv, &r->mu);
	}
	if (e) {
		e->refs++;
		m = e->m;
		pthread_mutex_unlock(&r->mu);
		return m;
	}
	e = xcalloc(1, sizeof *e);
	e->key = xstrdup(key);
	e->loading = true;
	e->refs = 1;
	e->next = r->head;
	r->head = e;
	pthread_mutex_unlock(&r->mu);

	m = engine_model_open(path, p, cause);

	pthread_mutex_lock(&r->mu);
	e->loading = false;
	e->m = m;
	if (!m) {
		struct model_entry **pp = &r->head;
		while (*pp != e)
			pp = &(*pp)->next;
		*pp = e->next;
		free(e->key);
		free(e);
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return m;
}

static void models_release(struct tui_models *r, struct engine_model *m)
{
	struct model_entry **pp, *e = NULL;

	if (!m)
		return;
	pthread_mutex_lock(&r->mu);
	for (pp = &r->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->m == m) {
			e = *pp;
			if (--e->refs == 0)
				*pp = e->next;
			else
				e = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (e) {
		engine_model_free(e->m);
		free(e->key);
		free(e);
	}
}

/* ---- workers -------------------------------------------------------------------------------- */

enum job_type {
	JOB_LOAD,
	JOB_CHAT,
};

struct job {
	struct job *next;
	enum job_type type;
	uint64_t id;
	bool cancelled;
	/* load */
	char *path, *device;
	int n_threads;
	uint64_t gpu_mem;
	int quant_bits;
	uint32_t n_ctx;
	/* chat */
	struct chat chat;
	struct chat_options opts;
	struct gen_params gen;
};

struct tui_worker {
	int pane;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	struct job *running;
	bool quit;
	struct tui_queue *q;
	struct tui_models *models;
	struct engine_model *model; /* worker thread only */
	struct session *session;    /* replaced by the worker under mu */
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->path);
	free(j->device);
	chat_free(&j->chat);
	free(j);
}

/* Per-generation state of the text callback. */
struct gen_ctx {
	struct tui_worker *w;
	struct job *job;
	double t0, t_first;
	bool have_first;
};

static int on_text(void *user, const char *text, size_t len)
{
	struct gen_ctx *g = user;
	struct tui_event *ev = event_new(TUI_EV_TEXT, g->w->pane, g->job->id);
	double now = time_now();

	if (!g->have_first) {
		g->have_first = true;
		g->t_first = now;
	}
	ev->text = xstrndup(text, len);
	ev->len = len;
	ev->tokens = session_gen_tokens(g->w->session);
	ev->ttft_ms = (g->t_first - g->t0) * 1000.0;
	ev->elapsed_s = now - g->t_first;
	queue_push(g->w->q, ev);
	return 0;
}

static void on_progress(float done, void *user)
{
	struct gen_ctx *g = user;
	struct tui_event *ev = event_new(TUI_EV_PROGRESS, g->w->pane, g->job->id);

	ev->progress = done;
	queue_push(g->w->q, ev);
}

static void run_load(struct tui_worker *w, struct job *j)
{
	struct engine_model_params p = {0};
	struct gen_ctx g = {.w = w, .job = j};
	struct engine_model *m;
	struct session *s = NULL;
	struct tui_event *ev;
	char *cause = NULL, *real, *key;
	const char *note;

	/* Drop the old model first: two large models need not fit at once. */
	pthread_mutex_lock(&w->mu);
	s = w->session;
	w->session = NULL;
	pthread_mutex_unlock(&w->mu);
	session_free(s);
	models_release(w->models, w->model);
	w->model = NULL;

	p.device = j->device;
	p.n_threads = j->n_threads;
	p.gpu_mem = j->gpu_mem;
	p.quant_bits = j->quant_bits;
	p.progress = on_progress;
	p.progress_user = &g;
	real = realpath(j->path, NULL);
	/* Loads that differ in anything the weights depend on are different models. */
	key = xasprintf("%s\n%s\n%d\n%llu\n%d", real ? real : j->path, j->device ? j->device : "auto", j->n_threads,
	                (unsigned long long)j->gpu_mem, j->quant_bits);
	free(real);
	m = models_acquire(w->models, key, j->path, &p, &cause);
	free(key);
	if (!m)
		goto fail;
	s = session_new(m, j->n_ctx, &cause);
	if (!s) {
		models_release(w->models, m);
		goto fail;
	}
	w->model = m;
	pthread_mutex_lock(&w->mu);
	w->session = s;
	pthread_mutex_unlock(&w->mu);

	ev = event_new(TUI_EV_LOADED, w->pane, j->id);
	snprintf(ev->info.name, sizeof ev->info.name, "%s", engine_model_desc(m)->name);
	snprintf(ev->info.device, sizeof ev->info.device, "%s", engine_model_device(m));
	note = engine_model_fallback_note(m);
	snprintf(ev->info.note, sizeof ev->info.note, "%s", note ? note : "");
	/* The CPU backend maps most weights from the file: count what the file holds too. */
	ev->info.weight_bytes = engine_model_weight_bytes(m);
	if (model_file_weight_bytes(engine_model_file(m)) > ev->info.weight_bytes)
		ev->info.weight_bytes = model_file_weight_bytes(engine_model_file(m));
	ev->info.n_ctx = session_n_ctx(s);
	ev->info.n_threads = engine_model_n_threads(m);
	ev->info.is_r1 = engine_model_is_r1(m);
	ev->info.format = engine_model_desc(m)->chat_format;
	engine_model_sampling_defaults(m, true, &ev->info.sampling_r1);
	engine_model_sampling_defaults(m, false, &ev->info.sampling_plain);
	queue_push(w->q, ev);
	return;
fail:
	ev = event_new(TUI_EV_LOAD_FAILED, w->pane, j->id);
	ev->text = cause ? cause : xstrdup("the model could not be loaded");
	ev->len = strlen(ev->text);
	queue_push(w->q, ev);
}

static void run_chat(struct tui_worker *w, struct job *j)
{
	struct gen_ctx g = {.w = w, .job = j};
	struct tui_event *ev;
	struct gen_stats st;
	char *cause = NULL;
	bool cancelled;

	pthread_mutex_lock(&w->mu);
	cancelled = j->cancelled;
	pthread_mutex_unlock(&w->mu);
	if (cancelled || !w->session) {
		if (!w->session && !cancelled) {
			ev = event_new(TUI_EV_FAILED, w->pane, j->id);
			ev->text = xstrdup("no model is loaded in this pane (/model PATH loads one)");
			ev->len = strlen(ev->text);
		} else {
			ev = event_new(TUI_EV_DONE, w->pane, j->id);
			memset(&ev->stats, 0, sizeof ev->stats);
			ev->stats.stop = GEN_STOP_CANCELLED;
		}
		queue_push(w->q, ev);
		return;
	}
	g.t0 = time_now();
	if (session_chat(w->session, &j->chat, &j->opts, &j->gen, on_text, &g, &st, &cause) != 0) {
		ev = event_new(TUI_EV_FAILED, w->pane, j->id);
		ev->text = cause ? cause : xstrdup("generation failed");
		ev->len = strlen(ev->text);
		queue_push(w->q, ev);
		return;
	}
	ev = event_new(TUI_EV_DONE, w->pane, j->id);
	ev->stats = st;
	ev->n_cached = session_n_cached(w->session);
	ev->n_ctx = session_n_ctx(w->session);
	queue_push(w->q, ev);
}

static void *worker_main(void *arg)
{
	struct tui_worker *w = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->running = j;
		pthread_mutex_unlock(&w->mu);

		if (j->type == JOB_LOAD)
			run_load(w, j);
		else
			run_chat(w, j);

		pthread_mutex_lock(&w->mu);
		w->running = NULL;
		pthread_mutex_unlock(&w->mu);
		job_free(j);
	}
	return NULL;
}

struct tui_worker *tui_worker_start(int pane, struct tui_queue *q, struct tui_models *models, char **cause)
{
	struct tui_worker *w = xcalloc(1, sizeof *w);
	int rc;

	w->pane = pane;
	w->q = q;
	w->models = models;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		error_set(cause, "cannot start a worker thread: %s", strerror(rc));
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

static void worker_push(struct tui_worker *w, struct job *j)
{
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void tui_worker_load(struct tui_worker *w, uint64_t job, const char *path, const char *device, int n_threads,
                     uint64_t gpu_mem, int quant_bits, uint32_t n_ctx)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->type = JOB_LOAD;
	j->id = job;
	j->path = xstrdup(path);
	j->device = device ? xstrdup(device) : NULL;
	j->n_threads = n_threads;
	j->gpu_mem = gpu_mem;
	j->quant_bits = quant_bits;
	j->n_ctx = n_ctx;
	worker_push(w, j);
}

void tui_worker_chat(struct tui_worker *w, uint64_t job, struct chat *chat, const struct chat_options *opts,
                     const struct gen_params *gen)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->type = JOB_CHAT;
	j->id = job;
	j->chat = *chat;
	memset(chat, 0, sizeof *chat);
	j->opts = *opts;
	j->opts.default_system = NULL; /* the model's own; a borrowed string would not outlive the caller */
	j->gen = *gen;
	j->gen.stop = NULL;
	j->gen.n_stop = 0;
	worker_push(w, j);
}

void tui_worker_cancel(struct tui_worker *w)
{
	pthread_mutex_lock(&w->mu);
	for (struct job *j = w->head; j; j = j->next)
		if (j->type == JOB_CHAT)
			j->cancelled = true;
	if (w->running && w->running->type == JOB_CHAT) {
		w->running->cancelled = true;
		if (w->session)
			session_cancel(w->session);
	}
	pthread_mutex_unlock(&w->mu);
}

bool tui_worker_loading(struct tui_worker *w)
{
	bool loading = false;

	pthread_mutex_lock(&w->mu);
	if (w->running && w->running->type == JOB_LOAD)
		loading = true;
	for (struct job *j = w->head; j && !loading; j = j->next)
		if (j->type == JOB_LOAD)
			loading = true;
	pthread_mutex_unlock(&w->mu);
	return loading;
}

bool tui_worker_stop(struct tui_worker *w, bool wait)
{
	bool loading;

	if (!w)
		return true;
	tui_worker_cancel(w);
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	loading = w->running && w->running->type == JOB_LOAD;
	/* Queued jobs will not run. */
	while (w->head) {
		struct job *j = w->head;
		w->head = j->next;
		job_free(j);
	}
	w->tail = NULL;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (loading && !wait) {
		pthread_detach(w->thread);
		return false;
	}
	pthread_join(w->thread, NULL);
	session_free(w->session);
	models_release(w->models, w->model);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return true;
}
