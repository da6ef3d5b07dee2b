/*
 * engine.c — models and sessions over a backend (infer/backend.h): opening a
 * model on the device the user asked for, and generating from a session's
 * KV cache with prefix reuse, stop ids / strings / limits / cancel, whole
 * UTF-8 text pieces and the numbers a benchmark reports. Calls the model,
 * tokenizer, chat, sampler and backend modules; nothing of the UI.
 *
 * The backend has no "truncate" operation: a session keeps the ids whose
 * keys and values are in the cache (cached.ids[0..n)), and forward() at
 * pos = n_keep < cached.n simply overwrites positions n_keep.. — the
 * backend attends to positions 0..pos+i only, so stale entries beyond the
 * new end are never read.
 */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "infer/backend.h"
#include "infer/engine.h"
#include "infer/util.h"

#define ENGINE_DEFAULT_CTX 32768u
/* Prompt tokens per forward call: bounds the activations a prefill needs. */
#define ENGINE_PREFILL_CHUNK 512u
/* Room kept for an answer of unlimited length when fitting a conversation. */
#define ENGINE_ANSWER_ROOM_MAX 4096u
/* The smallest top-k cap a backend's sample op may have (backend.h: 1024 for cuda). */
#define ENGINE_DEVICE_TOP_K_MAX 1024

struct engine_model {
	struct model_file *mf;
	struct tokenizer *tok;
	const struct backend_ops *ops;
	struct backend_weights *weights;
	char device[32];    /* "cpu", "cuda:0" */
	char *fallback_note; /* why auto chose the CPU, or NULL */
	int n_threads;
};

struct session {
	struct engine_model *m;
	struct backend_ctx *ctx;
	uint32_t n_ctx;
	uint32_t n_vocab;
	struct tokens cached; /* ids whose keys/values the cache holds, positions 0..n-1 */
	float *logits;        /* n_vocab: the last forward's last row, when logits_on_host */
	bool logits_on_host;  /* false: the last forward left its logits on the device (ops->sample) */
	atomic_bool cancel;
	struct tokens generated; /* by the running (or last) generation, stop id excluded */
};

/* ---- devices -------------------------------------------------------------------------- */

/*
 * Parse "auto" / "cpu" / "cuda" / "cuda:N". *want_cuda: 0 cpu, 1 cuda, -1 auto.
 */
static int device_parse(const char *s, int *want_cuda, int *index, char **cause)
{
	char *end;
	long v;

	*index = 0;
	if (!s || !*s || strcmp(s, "auto") == 0) {
		*want_cuda = -1;
		return 0;
	}
	if (strcmp(s, "cpu") == 0) {
		*want_cuda = 0;
		return 0;
	}
	if (strcmp(s, "cuda") == 0) {
		*want_cuda = 1;
		return 0;
	}
	if (strncmp(s, "cuda:", 5) == 0 && s[5] >= '0' && s[5] <= '9') {
		v = strtol(s + 5, &end, 10);
		if (*end == '\0' && v >= 0 && v < 1024) {
			*want_cuda = 1;
			*index = (int)v;
			return 0;
		}
	}
	return error_set(cause, "unknown device '%s' (auto, cpu, cuda, cuda:N)", s);
}

/*
 * The backend a device request gets. Explicit CUDA requests fail with the
 * reason; auto falls back to the CPU and says why in *note.
 */
static const struct backend_ops *device_choose(int want_cuda, int index, char **note, char **cause)
{
	*note = NULL;
	if (want_cuda == 0)
		return cpu_backend_get();
#ifdef HAVE_CUDA
	{
		const struct backend_ops *cuda = cuda_backend_get();
		char *why = NULL;
		int n = cuda->device_count(&why);

		if (n <= 0) {
			if (want_cuda == 1) {
				error_set(cause, "no usable CUDA device: %s", why ? why : "none found");
				free(why);
				return NULL;
			}
			*note = xasprintf("no usable CUDA device (%s); running on the CPU", why ? why : "none found");
			free(why);
			return cpu_backend_get();
		}
		free(why);
		if (want_cuda == 1 && index >= n) {
			error_set(cause, "CUDA device %d does not exist (%d device%s: 0..%d)", index, n, n == 1 ? "" : "s",
				  n - 1);
			return NULL;
		}
		if (!cuda->weights_load || !cuda->forward) {
			if (want_cuda == 1) {
				error_set(cause, "the CUDA backend cannot run models yet (it only lists devices); use --device cpu");
				return NULL;
			}
			*note = xstrdup("the CUDA backend cannot run models yet; running on the CPU");
			return cpu_backend_get();
		}
		return cuda;
	}
#else
	(void)index;
	if (want_cuda == 1) {
		error_set(cause, "this duet was built without CUDA (configure found no CUDA toolkit); use --device cpu");
		return NULL;
	}
	return cpu_backend_get();
#endif
}

/* ---- models ----------------------------------------------------------------------------- */

struct engine_model *engine_model_open(const char *path, const struct engine_model_params *p, char **cause)
{
	struct engine_model *m = xcalloc(1, sizeof *m);
	struct backend_params bp;
	int want_cuda, index;
	long cores;

	if (device_parse(p ? p->device : NULL, &want_cuda, &index, cause) < 0)
		goto fail;
	m->ops = device_choose(want_cuda, index, &m->fallback_note, cause);
	if (!m->ops)
		goto fail;
	if (strcmp(m->ops->name, "cpu") == 0)
		snprintf(m->device, sizeof m->device, "cpu");
	else
		snprintf(m->device, sizeof m->device, "%s:%d", m->ops->name, index);

	m->n_threads = p ? p->n_threads : 0;
	if (m->n_threads <= 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		m->n_threads = cores > 0 ? (int)(cores < 512 ? cores : 512) : 1;
	}

	if (!m->ops->weights_load || !m->ops->forward) {
		error_set(cause, "the %s backend cannot run models in this build", m->ops->name);
		goto fail;
	}
	m->mf = model_file_open(path, cause);
	if (!m->mf)
		goto fail;
	m->tok = tokenizer_from_model(m->mf, cause);
	if (!m->tok)
		goto fail;
	memset(&bp, 0, sizeof bp);
	bp.n_threads = m->n_threads;
	bp.device = index;
	bp.mem_limit = p ? p->gpu_mem : 0;
	bp.progress = p ? p->progress : NULL;
	bp.progress_user = p ? p->progress_user : NULL;
	bp.quant_bits = p ? p->quant_bits : 0;
	if (bp.quant_bits != 0 && bp.quant_bits != 8 && bp.quant_bits != 4) {
		error_set(cause, "quantisation to %d bits is not supported (8, 4, or 0 for none)", bp.quant_bits);
		goto fail;
	}
	if (bp.quant_bits && strcmp(m->ops->name, "cpu") == 0) {
		/* The CPU backend ignores quant_bits: say so rather than let the user believe it applied. */
		char *note = xasprintf("%s%s%d-bit quantisation applies to the GPU only; the CPU runs the file's own weight "
				       "types",
				       m->fallback_note ? m->fallback_note : "", m->fallback_note ? "; " : "",
				       bp.quant_bits);
		free(m->fallback_note);
		m->fallback_note = note;
	}
	m->weights = m->ops->weights_load(m->mf, &bp, cause);
	if (!m->weights)
		goto fail;
	return m;
fail:
	engine_model_free(m);
	return NULL;
}

void engine_model_free(struct engine_model *m)
{
	if (!m)
		return;
	if (m->weights)
		m->ops->weights_free(m->weights);
	tokenizer_free(m->tok);
	model_file_close(m->mf);
	free(m->fallback_note);
	free(m);
}

void engine_model_set_ops(struct engine_model *m, const struct backend_ops *ops)
{
	m->ops = ops;
}

const struct model_desc *engine_model_desc(const struct engine_model *m)
{
	return model_file_desc(m->mf);
}

const struct tokenizer *engine_model_tokenizer(const struct engine_model *m)
{
	return m->tok;
}

const struct model_file *engine_model_file(const struct engine_model *m)
{
	return m->mf;
}

const char *engine_model_device(const struct engine_model *m)
{
	return m->device;
}

const char *engine_model_fallback_note(const struct engine_model *m)
{
	return m->fallback_note;
}

int engine_model_n_threads(const struct engine_model *m)
{
	return m->n_threads;
}

uint64_t engine_model_weight_bytes(const struct engine_model *m)
{
	return m->ops->weights_bytes(m->weights);
}

bool engine_model_is_r1(const struct engine_model *m)
{
	return engine_model_desc(m)->chat_format == CHAT_FORMAT_DEEPSEEK_R1;
}

void engine_model_sampling_defaults(const struct engine_model *m, bool r1, struct sampler_params *p)
{
	const struct model_desc *d = engine_model_desc(m);

	sampler_params_default(p);
	if (isfinite(d->temperature) && d->temperature >= 0)
		p->temperature = d->temperature;
	if (isfinite(d->top_p) && d->top_p > 0 && d->top_p <= 1)
		p->top_p = d->top_p;
	if (d->top_k > 0)
		p->top_k = d->top_k;
	if (r1) {
		/* DeepSeek-R1's generation_config.json and model card. */
		p->temperature = 0.6f;
		p->top_p = 0.95f;
	}
}

/* ---- sessions --------------------------------------------------------------------------- */

struct session *session_new(struct engine_model *m, uint32_t n_ctx, char **cause)
{
	const struct model_desc *d = engine_model_desc(m);
	struct session *s = xcalloc(1, sizeof *s);

	if (n_ctx == 0)
		n_ctx = ENGINE_DEFAULT_CTX;
	/* Positions past the trained length give garbage: cap there. */
	if (d->n_ctx_train > 0 && n_ctx > d->n_ctx_train)
		n_ctx = d->n_ctx_train;
	s->m = m;
	s->n_ctx = n_ctx;
	s->n_vocab = d->n_vocab;
	atomic_init(&s->cancel, false);
	s->logits = xcalloc(d->n_vocab, sizeof *s->logits);
	s->logits_on_host = true;
	s->ctx = m->ops->ctx_new(m->weights, n_ctx, cause);
	if (!s->ctx)
		goto fail;
	return s;
fail:
	session_free(s);
	return NULL;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	if (s->ctx)
		s->m->ops->ctx_free(s->ctx);
	tokens_free(&s->cached);
	tokens_free(&s->generated);
	free(s->logits);
	free(s);
}

uint32_t session_n_ctx(const struct session *s)
{
	return s->n_ctx;
}

uint32_t session_n_cached(const struct session *s)
{
	return (uint32_t)s->cached.n;
}

void session_reset(struct session *s)
{
	s->cached.n = 0;
}

uint32_t session_gen_tokens(const struct session *s)
{
	return (uint32_t)s->generated.n;
}

const int32_t *session_gen_ids(const struct session *s, size_t *n)
{
	*n = s->generated.n;
	return s->generated.ids;
}

const float *session_last_logits(const struct session *s)
{
	return s->logits_on_host ? s->logits : NULL;
}

void session_cancel(struct session *s)
{
	atomic_store(&s->cancel, true);
}

const char *gen_stop_name(enum gen_stop stop)
{
	switch (stop) {
	case GEN_STOP_EOS:
		return "eos";
	case GEN_STOP_MAX_TOKENS:
		return "max-tokens";
	case GEN_STOP_STRING:
		return "stop-string";
	case GEN_STOP_CANCELLED:
		return "cancelled";
	case GEN_STOP_CONTEXT:
		return "context";
	}
	return "?";
}

static int ids_check(const struct session *s, const int32_t *ids, size_t n, char **cause)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || (uint32_t)ids[i] >= s->n_vocab)
			return error_set(cause, "token id %d at position %zu is outside the vocabulary (0..%u)", ids[i],
					 i, s->n_vocab - 1);
	return 0;
}

/*
 * Whether the backend chooses the tokens (ops->sample) for these
 * parameters. It has no penalties, and its top-k is capped, so sampling
 * from (nearly) the whole vocabulary — no top-k within the cap, no top-p,
 * no min-p — stays on the host, as backend.h asks. Greedy always can.
 */
static bool sample_on_device(const struct session *s, const struct sampler_params *p)
{
	bool penalties = (p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f) && p->penalty_last_n > 0;

	if (!s->m->ops->sample || penalties)
		return false;
	if (!(p->temperature > 0) || p->top_k == 1)
		return true;
	if ((p->top_k <= 0 || p->top_k > ENGINE_DEVICE_TOP_K_MAX) && !(p->top_p < 1) && !(p->min_p > 0))
		return false;
	return true;
}

/*
 * One forward call whose last row's logits either come to s->logits (host
 * sampling) or stay on the device for ops->sample (on_device).
 */
static int forward_last(struct session *s, const int32_t *ids, uint32_t n, uint32_t pos, bool on_device,
			char **cause)
{
	s->logits_on_host = !on_device;
	return s->m->ops->forward(s->ctx, ids, n, pos, on_device ? NULL : s->logits, false, cause);
}

/*
 * Bring the cache to ids[0..n): keep the common prefix, run the rest in
 * chunks. The last row's logits end in s->logits, or stay on the device when
 * on_device. At least the last token is always run (its logits are
 * needed). *n_run = tokens run.
 */
static int prefill(struct session *s, const int32_t *ids, size_t n, bool on_device, uint32_t *n_run, char **cause)
{
	size_t keep = 0, pos;

	while (keep < n && keep < s->cached.n && s->cached.ids[keep] == ids[keep])
		keep++;
	if (keep == n)
		keep = n - 1;
	s->cached.n = keep;
	*n_run = (uint32_t)(n - keep);
	for (pos = keep; pos < n;) {
		uint32_t k = (uint32_t)(n - pos < ENGINE_PREFILL_CHUNK ? n - pos : ENGINE_PREFILL_CHUNK);

		if (atomic_load(&s->cancel))
			return 1;
		if (forward_last(s, ids + pos, k, (uint32_t)pos, on_device, cause) < 0)
			return -1;
		for (uint32_t i = 0; i < k; i++)
			tokens_push(&s->cached, ids[pos + i]);
		pos += k;
	}
	return 0;
}

static bool is_stop_id(const struct model_desc *d, int32_t id)
{
	for (uint32_t i = 0; i < d->n_stop_ids; i++)
		if (d->stop_ids[i] == id)
			return true;
	return false;
}

static uint64_t peak_rss_bytes(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024u; /* Linux: KiB */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), n > 0. */
static double percentile(const double *v, size_t n, double pct)
{
	size_t rank = (size_t)ceil(pct / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

/*
 * Text on its way out: whole characters from the detokenizer wait here while
 * their end could be the start of a stop string.
 */
struct text_out {
	struct buf pending;
	const struct gen_params *g;
	gen_text_fn on_text;
	void *user;
	bool stopped_by_callback;
};

static void text_emit(struct text_out *t, size_t n)
{
	if (n == 0)
		return;
	if (!t->stopped_by_callback && t->on_text && t->on_text(t->user, t->pending.data, n) != 0)
		t->stopped_by_callback = true;
	memmove(t->pending.data, t->pending.data + n, t->pending.len - n);
	t->pending.len -= n;
}

/* Emit what can no longer be part of a stop string; true when one matched (text before it emitted). */
static bool text_advance(struct text_out *t)
{
	const char *p = t->pending.data;
	size_t len = t->pending.len, first = len, hold = 0;
	bool matched = false;

	for (size_t i = 0; i < t->g->n_stop; i++) {
		const char *stop = t->g->stop[i];
		size_t slen = stop ? strlen(stop) : 0;
		const char *at;

		if (slen == 0)
			continue;
		at = len >= slen ? memmem(p, len, stop, slen) : NULL;
		if (at && (size_t)(at - p) < first) {
			first = (size_t)(at - p);
			matched = true;
		}
		for (size_t k = slen - 1 < len ? slen - 1 : len; k > hold; k--)
			if (memcmp(p + len - k, stop, k) == 0) {
				hold = k;
				break;
			}
	}
	if (matched) {
		text_emit(t, first);
		t->pending.len = 0;
		return true;
	}
	/* A stop string need not be valid UTF-8: never split a character. */
	while (hold < len && ((unsigned char)p[len - hold] & 0xc0) == 0x80)
		hold++;
	text_emit(t, len - hold);
	return false;
}

/*
 * The decode loop over a prompt already tokenized: prefill (reusing the
 * cache), then sample / emit / forward one token at a time. t_request is
 * when the caller's request started (for TTFT).
 */
static int generate(struct session *s, const int32_t *prompt, size_t n_prompt, const struct gen_params *g,
		    gen_text_fn on_text, void *user, struct gen_stats *st, double t_request, char **cause)
{
	const struct model_desc *d = engine_model_desc(s->m);
	const struct tokenizer *tok = s->m->tok;
	struct text_out out = { .g = g, .on_text = on_text, .user = user };
	struct sampler *smp = NULL;
	struct detok dt;
	double *itl = NULL, t_prefill, t_first = 0, t_prev = 0, t_last = 0;
	size_t n_itl = 0, cap_itl = 0;
	uint32_t n_run = 0;
	int rc = -1, pr;
	bool on_device = sample_on_device(s, &g->sampling);

	s->generated.n = 0;
	if (n_prompt == 0) {
		error_set(cause, "nothing to continue: the prompt has no tokens");
		goto done;
	}
	if (n_prompt > s->n_ctx) {
		error_set(cause, "the prompt is %zu tokens, more than the context of %u tokens", n_prompt, s->n_ctx);
		goto done;
	}
	if (ids_check(s, prompt, n_prompt, cause) < 0)
		goto done;

	t_prefill = time_now();
	pr = prefill(s, prompt, n_prompt, on_device, &n_run, cause);
	if (pr < 0)
		goto done;
	st->prompt_tokens = n_run;
	st->cached_tokens = (uint32_t)(n_prompt - n_run);
	if (pr > 0) {
		st->stop = GEN_STOP_CANCELLED;
		rc = 0;
		goto done;
	}
	t_first = time_now();
	st->prefill_tps = t_first > t_prefill ? n_run / (t_first - t_prefill) : 0;

	smp = sampler_new(&g->sampling, s->n_vocab);
	detok_init(&dt);
	for (;;) {
		int32_t id;
		double now;

		if (atomic_load(&s->cancel)) {
			st->stop = GEN_STOP_CANCELLED;
			break;
		}
		if (on_device) {
			/* Same rules as the host sampler without penalties; the counter makes each draw distinct. */
			struct backend_sample_params sp = {
				.temperature = g->sampling.temperature,
				.top_k = g->sampling.top_k > 0 ? g->sampling.top_k : 0,
				.top_p = g->sampling.top_p,
				.min_p = g->sampling.min_p,
				.seed = g->sampling.seed,
				.counter = s->generated.n,
			};
			if (s->m->ops->sample(s->ctx, &sp, &id, cause) < 0)
				goto done;
		} else {
			id = sampler_sample(smp, s->logits, s->cached.ids, s->cached.n);
		}
		now = time_now();
		if (t_prev == 0) {
			st->ttft_ms = (now - t_request) * 1e3;
			t_first = now;
		} else {
			if (n_itl == cap_itl) {
				cap_itl = cap_itl ? 2 * cap_itl : 256;
				itl = xreallocarray(itl, cap_itl, sizeof *itl);
			}
			itl[n_itl++] = (now - t_prev) * 1e3;
		}
		t_prev = t_last = now;
		if (!g->ignore_stop_ids && is_stop_id(d, id)) {
			st->stop = GEN_STOP_EOS;
			break;
		}
		tokens_push(&s->generated, id);
		detok_push(tok, &dt, id, true, &out.pending);
		if (text_advance(&out)) {
			st->stop = GEN_STOP_STRING;
			break;
		}
		if (out.stopped_by_callback) {
			st->stop = GEN_STOP_CANCELLED;
			break;
		}
		if (g->max_tokens && s->generated.n >= g->max_tokens) {
			st->stop = GEN_STOP_MAX_TOKENS;
			break;
		}
		if (s->cached.n >= s->n_ctx) {
			st->stop = GEN_STOP_CONTEXT;
			break;
		}
		if (forward_last(s, &id, 1, (uint32_t)s->cached.n, on_device, cause) < 0)
			goto done;
		tokens_push(&s->cached, id);
	}
	if (st->stop != GEN_STOP_STRING) {
		/*
		 * A held-back stop-string prefix: the stream ends, it is text. A
		 * partial character held back when the model ended its turn is
		 * invalid output (one U+FFFD); when we cut the answer short (max
		 * tokens, full context, cancel) it is only the cut: drop it.
		 */
		if (st->stop != GEN_STOP_EOS)
			dt.n_pending = 0;
		detok_flush(&dt, &out.pending);
		text_emit(&out, out.pending.len);
	}
	rc = 0;
done:
	st->gen_tokens = (uint32_t)s->generated.n;
	if (n_itl > 0) {
		st->decode_tps = t_last > t_first ? (double)n_itl / (t_last - t_first) : 0;
		qsort(itl, n_itl, sizeof *itl, cmp_double);
		st->itl_p50_ms = percentile(itl, n_itl, 50);
		st->itl_p99_ms = percentile(itl, n_itl, 99);
	}
	st->peak_rss = peak_rss_bytes();
	st->device_bytes = s->m->ops->weights_bytes(s->m->weights) + s->m->ops->ctx_bytes(s->ctx);
	sampler_free(smp);
	buf_free(&out.pending);
	free(itl);
	return rc;
}

static void stats_init(struct gen_stats *st)
{
	memset(st, 0, sizeof *st);
	st->stop = GEN_STOP_EOS;
}

int session_generate_ids(struct session *s, const int32_t *ids, size_t n, const struct gen_params *g,
			 gen_text_fn on_text, void *user, struct gen_stats *stats, char **cause)
{
	struct gen_stats local;
	double t0 = time_now();

	if (!stats)
		stats = &local;
	stats_init(stats);
	atomic_store(&s->cancel, false);
	return generate(s, ids, n, g, on_text, user, stats, t0, cause);
}

int session_complete(struct session *s, const char *text, size_t len, const struct gen_params *g,
		     gen_text_fn on_text, void *user, struct gen_stats *stats, char **cause)
{
	struct gen_stats local;
	struct tokens ids = { 0 };
	double t0 = time_now();
	int rc;

	if (!stats)
		stats = &local;
	stats_init(stats);
	atomic_store(&s->cancel, false);
	if (tokenizer_encode(s->m->tok, text, len, TOKENIZE_ADD_BOS, &ids, cause) < 0) {
		tokens_free(&ids);
		return -1;
	}
	rc = generate(s, ids.ids, ids.n, g, on_text, user, stats, t0, cause);
	tokens_free(&ids);
	return rc;
}

/* Index of the last user message, or c->n when there is none. */
static size_t last_user(const struct chat *c)
{
	for (size_t i = c->n; i-- > 0;)
		if (c->msgs[i].role == CHAT_ROLE_USER)
			return i;
	return c->n;
}

/*
 * Drop the oldest turn: the first non-system message and what follows it up
 * to the next user message, keeping system messages. False when the oldest
 * turn is the one being answered.
 */
static bool drop_oldest_turn(struct chat *c)
{
	size_t first = 0, end, answered = last_user(c);

	while (first < c->n && c->msgs[first].role == CHAT_ROLE_SYSTEM)
		first++;
	if (first >= answered)
		return false;
	end = first + 1;
	while (end < c->n && c->msgs[end].role != CHAT_ROLE_USER)
		end++;
	for (size_t i = first; i < end; i++)
		free(c->msgs[i].content);
	memmove(c->msgs + first, c->msgs + end, (c->n - end) * sizeof *c->msgs);
	c->n -= end - first;
	return true;
}

int session_chat(struct session *s, struct chat *c, const struct chat_options *o, const struct gen_params *g,
		 gen_text_fn on_text, void *user, struct gen_stats *stats, char **cause)
{
	struct gen_stats local;
	struct chat_options opt = *o;
	struct tokens ids = { 0 };
	uint32_t room;
	double t0 = time_now();
	int rc = -1;

	if (!stats)
		stats = &local;
	stats_init(stats);
	atomic_store(&s->cancel, false);
	if (last_user(c) == c->n) {
		error_set(cause, "the conversation has no user message to answer");
		goto done;
	}
	opt.add_generation_prompt = true;

	room = g->max_tokens ? g->max_tokens : s->n_ctx / 4;
	if (room > ENGINE_ANSWER_ROOM_MAX && !g->max_tokens)
		room = ENGINE_ANSWER_ROOM_MAX;
	if (room > s->n_ctx / 2)
		room = s->n_ctx / 2;
	for (;;) {
		ids.n = 0;
		if (chat_tokenize(s->m->tok, engine_model_desc(s->m), c, &opt, &ids, &stats->merged_system, cause) < 0)
			goto done;
		if (ids.n + room <= s->n_ctx)
			break;
		if (!drop_oldest_turn(c)) {
			if (ids.n < s->n_ctx)
				break; /* no room for a full answer; it may stop at the context's end */
			error_set(cause,
				  "the message needs %zu tokens with the chat format%s, more than the context of %u tokens "
				  "(--ctx); shorten it",
				  ids.n, stats->dropped_turns ? " even after dropping every earlier turn" : "", s->n_ctx);
			goto done;
		}
		stats->dropped_turns++;
	}
	rc = generate(s, ids.ids, ids.n, g, on_text, user, stats, t0, cause);
done:
	tokens_free(&ids);
	return rc;
}

float *session_logits(struct session *s, const int32_t *ids, size_t n, char **cause)
{
	float *out = NULL;
	uint64_t bytes;

	if (n == 0) {
		error_set(cause, "no tokens to compute logits for");
		return NULL;
	}
	if (n > s->n_ctx) {
		error_set(cause, "%zu tokens are more than the context of %u tokens", n, s->n_ctx);
		return NULL;
	}
	if (ids_check(s, ids, n, cause) < 0)
		return NULL;
	if (!u64_mul(n, s->n_vocab, &bytes) || !u64_mul(bytes, sizeof *out, &bytes) || bytes > SIZE_MAX) {
		error_set(cause, "%zu positions of %u logits do not fit in memory", n, s->n_vocab);
		return NULL;
	}
	out = xmalloc((size_t)bytes);
	s->cached.n = 0;
	for (size_t pos = 0; pos < n;) {
		uint32_t k = (uint32_t)(n - pos < ENGINE_PREFILL_CHUNK ? n - pos : ENGINE_PREFILL_CHUNK);

		if (s->m->ops->forward(s->ctx, ids + pos, k, (uint32_t)pos, out + pos * s->n_vocab, true, cause) < 0) {
			free(out);
			return NULL;
		}
		for (uint32_t i = 0; i < k; i++)
			tokens_push(&s->cached, ids[pos + i]);
		pos += k;
	}
	memcpy(s->logits, out + (n - 1) * s->n_vocab, s->n_vocab * sizeof *out);
	s->logits_on_host = true;
	return out;
}
