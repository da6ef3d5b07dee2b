/*
 * test_engine.c — the engine's own behaviour on the tiny random models of
 * tests/golden/fixtures (their numbers are checked against transformers in
 * test_golden_logits): device selection, context length, KV-cache prefix
 * reuse and overwrite, stop strings held back and flushed, max tokens, the
 * context limit, cancel (in the callback and from another thread), whole
 * UTF-8 pieces, dropping oldest turns, the sampling defaults read from
 * generation_config.json, and the device-sampling path (ops->sample) driven
 * through a CPU backend wrapped with a host-side sample op.
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/backend.h"
#include "infer/chat.h"
#include "infer/engine.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

static struct engine_model *open_tiny(const char *rel)
{
	struct engine_model_params p = { .device = "cpu", .n_threads = 2 };
	char *cause = NULL;
	struct engine_model *m = engine_model_open(testmodels_fixture(rel), &p, &cause);

	if (!m)
		tap_diag("open %s: %s", rel, cause);
	free(cause);
	return m;
}

static void greedy(struct gen_params *g, uint32_t max_tokens)
{
	memset(g, 0, sizeof *g);
	sampler_params_default(&g->sampling);
	g->sampling.temperature = 0;
	g->sampling.repeat_penalty = 1;
	g->max_tokens = max_tokens;
	g->ignore_stop_ids = true;
}

/* What the callback saw. */
struct collect {
	struct buf text;
	size_t n_pieces;
	size_t bad_utf8;   /* pieces that are not whole, valid UTF-8 */
	size_t cancel_at;  /* session_cancel at this piece (0 = never) */
	struct session *s;
	unsigned sleep_us;
	atomic_bool started;
};

static bool utf8_whole(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3
				 : (p[i] & 0xf8) == 0xf0		 ? 4
									 : 0;
		if (len == 0 || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}

static int on_text(void *user, const char *text, size_t len)
{
	struct collect *c = user;

	buf_append(&c->text, text, len);
	c->n_pieces++;
	if (!utf8_whole((const unsigned char *)text, len) || len == 0)
		c->bad_utf8++;
	atomic_store(&c->started, true);
	if (c->cancel_at && c->n_pieces == c->cancel_at)
		session_cancel(c->s);
	if (c->sleep_us)
		usleep(c->sleep_us);
	return 0;
}

static void collect_reset(struct collect *c)
{
	buf_free(&c->text);
	memset(c, 0, sizeof *c);
}

static void test_devices(void)
{
	struct engine_model_params p = { .device = "tpu" };
	char *cause = NULL;
	struct engine_model *m = engine_model_open(testmodels_fixture("hf/qwen2-f32"), &p, &cause);

	tap_ok(m == NULL, "--device tpu is refused");
	TAP_ERR_HAS(cause, "unknown device 'tpu'", "  and the message names it");
	free(cause);
	cause = NULL;
	p.device = "cuda:x";
	m = engine_model_open(testmodels_fixture("hf/qwen2-f32"), &p, &cause);
	tap_ok(m == NULL, "--device cuda:x is refused");
	free(cause);
	cause = NULL;
	/* CUDA cannot run models yet (with CUDA built: no forward pass; without: not built). */
	p.device = "cuda";
	m = engine_model_open(testmodels_fixture("hf/qwen2-f32"), &p, &cause);
	if (m) {
		tap_ok(strncmp(engine_model_device(m), "cuda", 4) == 0, "--device cuda runs on CUDA when it can");
		engine_model_free(m);
	} else {
		TAP_ERR_HAS(cause, "CUDA", "--device cuda fails with a message about CUDA, no crash");
	}
	free(cause);
	cause = NULL;
	p.device = "auto";
	m = engine_model_open(testmodels_fixture("hf/qwen2-f32"), &p, &cause);
	tap_ok(m != NULL, "--device auto opens the model");
	if (m) {
		tap_ok(strcmp(engine_model_device(m), "cpu") == 0 || strncmp(engine_model_device(m), "cuda", 4) == 0,
		       "  on %s", engine_model_device(m));
		engine_model_free(m);
	}
	free(cause);
}

static void test_ctx(struct engine_model *m)
{
	char *cause = NULL;
	struct session *s = session_new(m, 0, &cause);
	uint32_t train = engine_model_desc(m)->n_ctx_train;

	tap_ok(s != NULL, "session with the default context");
	TAP_EQ_INT(session_n_ctx(s), train < 32768 ? train : 32768, "default context: 32768 capped by n_ctx_train");
	session_free(s);
	s = session_new(m, 100, &cause);
	TAP_EQ_INT(session_n_ctx(s), 100, "an explicit context is kept");
	session_free(s);
	s = session_new(m, train * 4, &cause);
	TAP_EQ_INT(session_n_ctx(s), train, "a context past n_ctx_train is capped");
	session_free(s);
	free(cause);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
	double d = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs((double)a[i] - (double)b[i]) > d)
			d = fabs((double)a[i] - (double)b[i]);
	return d;
}

static void test_prefix_reuse(struct engine_model *m)
{
	uint32_t n_vocab = engine_model_desc(m)->n_vocab;
	int32_t a[40], b[40];
	struct gen_params g;
	struct gen_stats st;
	char *cause = NULL;
	struct session *s = session_new(m, 256, &cause), *fresh = session_new(m, 256, &cause);
	float *want;

	for (int i = 0; i < 40; i++) {
		a[i] = (int32_t)(3 + (i * 37) % 280);
		b[i] = i < 12 ? a[i] : (int32_t)(3 + (i * 53 + 7) % 280);
	}
	greedy(&g, 1);
	tap_ok(session_generate_ids(s, a, 30, &g, NULL, NULL, &st, &cause) == 0, "generate from 30 ids");
	TAP_EQ_INT(st.prompt_tokens, 30, "  all 30 prefilled");
	TAP_EQ_INT(st.cached_tokens, 0, "  nothing cached before");
	TAP_EQ_INT(session_n_cached(s), 30, "  the cache holds the 30 (the sampled token is not run)");

	/* Same prefix, longer: only the suffix runs, and the logits equal a fresh full prefill. */
	tap_ok(session_generate_ids(s, a, 40, &g, NULL, NULL, &st, &cause) == 0, "extend to 40 ids");
	TAP_EQ_INT(st.cached_tokens, 30, "  30 reused from the cache");
	TAP_EQ_INT(st.prompt_tokens, 10, "  10 prefilled");
	want = session_logits(fresh, a, 40, &cause);
	tap_ok(want && max_abs_diff(session_last_logits(s), want + 39 * n_vocab, n_vocab) <= 1e-5,
	       "  last logits equal a fresh prefill of all 40 (max diff %.3g)",
	       want ? max_abs_diff(session_last_logits(s), want + 39 * n_vocab, n_vocab) : -1.0);
	free(want);

	/* Diverging after 12: positions 12.. are overwritten, stale entries never read. */
	tap_ok(session_generate_ids(s, b, 40, &g, NULL, NULL, &st, &cause) == 0, "a prompt sharing 12 ids");
	TAP_EQ_INT(st.cached_tokens, 12, "  12 reused");
	TAP_EQ_INT(st.prompt_tokens, 28, "  28 prefilled over the old entries");
	want = session_logits(fresh, b, 40, &cause);
	tap_ok(want && max_abs_diff(session_last_logits(s), want + 39 * n_vocab, n_vocab) <= 1e-5,
	       "  last logits equal a fresh prefill (overwrite is clean; max diff %.3g)",
	       want ? max_abs_diff(session_last_logits(s), want + 39 * n_vocab, n_vocab) : -1.0);
	free(want);

	/* The identical prompt again: the last token is re-run for its logits. */
	tap_ok(session_generate_ids(s, b, 40, &g, NULL, NULL, &st, &cause) == 0, "the same prompt again");
	TAP_EQ_INT(st.cached_tokens, 39, "  39 reused");
	TAP_EQ_INT(st.prompt_tokens, 1, "  the last one re-run");

	/* Token-by-token decode equals the batch: greedy ids vs argmax of all-position logits. */
	{
		const int32_t *gen;
		size_t n_gen;
		int32_t seq[56];
		float *all;
		size_t ok = 0;

		greedy(&g, 16);
		session_reset(s);
		tap_ok(session_generate_ids(s, a, 40, &g, NULL, NULL, &st, &cause) == 0, "16 greedy tokens");
		gen = session_gen_ids(s, &n_gen);
		TAP_EQ_INT(n_gen, 16, "  16 ids generated");
		memcpy(seq, a, sizeof a);
		memcpy(seq + 40, gen, 16 * sizeof *gen);
		all = session_logits(fresh, seq, 55, &cause);
		for (size_t i = 0; all && i < 16; i++) {
			const float *row = all + (39 + i) * n_vocab;
			int32_t best = 0;
			for (uint32_t v = 1; v < n_vocab; v++)
				if (row[v] > row[best])
					best = (int32_t)v;
			ok += best == seq[40 + i];
		}
		TAP_EQ_INT(ok, 16, "  each is the argmax of a one-batch forward over the same ids");
		free(all);
	}

	/* Bad ids are refused with a message. */
	{
		int32_t bad[2] = { 5, (int32_t)n_vocab };
		free(cause);
		cause = NULL;
		tap_ok(session_generate_ids(s, bad, 2, &g, NULL, NULL, &st, &cause) < 0, "an id past the vocabulary fails");
		TAP_ERR_HAS(cause, "outside the vocabulary", "  with a message");
		free(cause);
		cause = NULL;
		tap_ok(session_logits(s, bad, 2, &cause) == NULL, "  also for session_logits");
	}
	free(cause);
	session_free(s);
	session_free(fresh);
}

static void test_generation(struct engine_model *m)
{
	const struct tokenizer *tok = engine_model_tokenizer(m);
	int32_t ids[8] = { 40, 41, 42, 43, 44, 45, 46, 47 };
	struct collect col = { 0 };
	struct gen_params g;
	struct gen_stats st;
	char *cause = NULL;
	struct session *s = session_new(m, 512, &cause);
	const int32_t *gen;
	size_t n_gen;

	/* Max tokens, stats, whole-UTF-8 pieces that add up to the decoded ids. */
	greedy(&g, 48);
	tap_ok(session_generate_ids(s, ids, 8, &g, on_text, &col, &st, &cause) == 0, "48 greedy tokens");
	TAP_EQ_INT(st.stop, GEN_STOP_MAX_TOKENS, "  stop: max tokens");
	TAP_EQ_INT(st.gen_tokens, 48, "  48 counted");
	tap_ok(st.ttft_ms > 0 && st.prefill_tps > 0 && st.decode_tps > 0, "  ttft %.3f ms, prefill %.0f t/s, decode %.0f t/s",
	       st.ttft_ms, st.prefill_tps, st.decode_tps);
	tap_ok(st.itl_p50_ms > 0 && st.itl_p50_ms <= st.itl_p99_ms, "  itl p50 %.3f <= p99 %.3f ms", st.itl_p50_ms,
	       st.itl_p99_ms);
	tap_ok(st.peak_rss > 0 && st.device_bytes > 0, "  peak rss %llu, device bytes %llu",
	       (unsigned long long)st.peak_rss, (unsigned long long)st.device_bytes);
	TAP_EQ_INT(col.bad_utf8, 0, "  every piece is whole, valid UTF-8");
	gen = session_gen_ids(s, &n_gen);
	{
		/* The stream is the streaming detokenizer's output over the generated ids, nothing lost or doubled. */
		struct detok dt;
		struct buf want = { 0 };
		detok_init(&dt);
		for (size_t i = 0; i < n_gen; i++)
			detok_push(tok, &dt, gen[i], true, &want);
		detok_flush(&dt, &want);
		tap_ok(want.len == col.text.len && memcmp(want.data, col.text.data, want.len) == 0,
		       "  the pieces concatenate to the detokenized ids (%zu bytes, got %zu)", want.len, col.text.len);
		buf_free(&want);
	}

	/* Stop strings: a piece of that text, from the middle. */
	{
		struct buf full = { 0 };
		const char *stop_list[2];
		size_t at = 0, first;
		char stop[8];

		buf_append(&full, col.text.data, col.text.len);
		for (size_t i = 6; i + 3 <= full.len; i++) {
			if ((unsigned char)full.data[i] >= 0x20 && (unsigned char)full.data[i] < 0x7f &&
			    (unsigned char)full.data[i + 1] >= 0x20 && (unsigned char)full.data[i + 1] < 0x7f &&
			    (unsigned char)full.data[i + 2] >= 0x20 && (unsigned char)full.data[i + 2] < 0x7f) {
				at = i;
				break;
			}
		}
		if (at == 0 || full.len == 0) {
			tap_skip("no ASCII run in the greedy text to use as a stop string");
		} else {
			memcpy(stop, full.data + at, 3);
			stop[3] = '\0';
			first = (size_t)((const char *)memmem(full.data, full.len, stop, 3) - full.data);
			stop_list[0] = stop;
			g.stop = stop_list;
			g.n_stop = 1;
			collect_reset(&col);
			tap_ok(session_generate_ids(s, ids, 8, &g, on_text, &col, &st, &cause) == 0, "stop string '%s'", stop);
			TAP_EQ_INT(st.stop, GEN_STOP_STRING, "  stop: stop string");
			tap_ok(col.text.len == first && memcmp(col.text.data, full.data, first) == 0,
			       "  the text up to it, without it (%zu bytes, got %zu)", first, col.text.len);

			/* A stop string whose start appears at the very end is held back, then flushed. */
			collect_reset(&col);
			snprintf(stop, sizeof stop, "%c\x01\x02", full.data[full.len - 1]);
			tap_ok(session_generate_ids(s, ids, 8, &g, on_text, &col, &st, &cause) == 0, "a stop string that never matches");
			TAP_EQ_INT(st.stop, GEN_STOP_MAX_TOKENS, "  stop: max tokens");
			tap_ok(col.text.len == full.len && memcmp(col.text.data, full.data, full.len) == 0,
			       "  the held-back tail is flushed at the end (%zu of %zu bytes)", col.text.len, full.len);
		}
		g.stop = NULL;
		g.n_stop = 0;
		buf_free(&full);
	}

	/* Cancel inside the callback: stops after that step. */
	collect_reset(&col);
	col.s = s;
	col.cancel_at = 3;
	greedy(&g, 0);
	tap_ok(session_generate_ids(s, ids, 8, &g, on_text, &col, &st, &cause) == 0, "cancel from the callback");
	TAP_EQ_INT(st.stop, GEN_STOP_CANCELLED, "  stop: cancelled");
	tap_ok(st.gen_tokens >= 3 && st.gen_tokens <= 4, "  after the 3rd piece (%u tokens)", st.gen_tokens);

	/* A new generation clears the request. */
	collect_reset(&col);
	greedy(&g, 5);
	tap_ok(session_generate_ids(s, ids, 8, &g, on_text, &col, &st, &cause) == 0 && st.stop == GEN_STOP_MAX_TOKENS,
	       "the next generation runs normally");

	/* The context's end. */
	{
		struct session *small = session_new(m, 16, &cause);
		greedy(&g, 0);
		tap_ok(session_generate_ids(small, ids, 8, &g, NULL, NULL, &st, &cause) == 0, "generate in a 16-token context");
		TAP_EQ_INT(st.stop, GEN_STOP_CONTEXT, "  stop: context full");
		TAP_EQ_INT(st.gen_tokens, 16 - 8 + 1, "  every position used, plus the last sampled token");
		free(cause);
		cause = NULL;
		{
			int32_t many[20] = { 0 };
			tap_ok(session_generate_ids(small, many, 20, &g, NULL, NULL, &st, &cause) < 0, "a 20-token prompt in 16 fails");
			TAP_ERR_HAS(cause, "more than the context", "  with a message");
		}
		session_free(small);
	}
	collect_reset(&col);
	free(cause);
	session_free(s);
}

struct canceller {
	struct collect *col;
	struct session *s;
};

static void *cancel_thread(void *arg)
{
	struct canceller *c = arg;

	while (!atomic_load(&c->col->started))
		usleep(100);
	usleep(20000);
	session_cancel(c->s);
	return NULL;
}

static void test_cancel_thread(struct engine_model *m)
{
	int32_t ids[4] = { 50, 60, 70, 80 };
	struct collect col = { 0 };
	struct canceller cc;
	struct gen_params g;
	struct gen_stats st;
	char *cause = NULL;
	struct session *s = session_new(m, 1024, &cause);
	pthread_t th;

	greedy(&g, 0);
	col.sleep_us = 2000; /* ~2 s for the whole context if nothing stopped it */
	cc.col = &col;
	cc.s = s;
	pthread_create(&th, NULL, cancel_thread, &cc);
	tap_ok(session_generate_ids(s, ids, 4, &g, on_text, &col, &st, &cause) == 0, "generation cancelled from another thread");
	pthread_join(th, NULL);
	TAP_EQ_INT(st.stop, GEN_STOP_CANCELLED, "  stop: cancelled");
	tap_ok(st.gen_tokens > 0 && st.gen_tokens < 1000, "  after %u tokens, well before the context's end", st.gen_tokens);
	collect_reset(&col);
	free(cause);
	session_free(s);
}

static void test_chat(struct engine_model *m)
{
	struct chat conv = { 0 };
	struct chat_options o = { .format = CHAT_FORMAT_UNKNOWN, .add_generation_prompt = true };
	struct collect col = { 0 };
	struct gen_params g;
	struct gen_stats st;
	char *cause = NULL;
	struct session *s = session_new(m, 128, &cause);
	const char *turn = "Hello there, how are you today? The quick brown fox.";
	struct tokens ids = { 0 };
	bool merged;

	greedy(&g, 8);
	g.ignore_stop_ids = false;
	chat_add(&conv, CHAT_ROLE_SYSTEM, "Be brief.", 9);
	chat_add(&conv, CHAT_ROLE_USER, turn, strlen(turn));
	tap_ok(session_chat(s, &conv, &o, &g, on_text, &col, &st, &cause) == 0, "a first chat turn");
	TAP_EQ_INT(st.dropped_turns, 0, "  nothing dropped");
	chat_add(&conv, CHAT_ROLE_ASSISTANT, col.text.data ? col.text.data : "", col.text.len);
	chat_add(&conv, CHAT_ROLE_USER, "And then?", 9);
	collect_reset(&col);
	tap_ok(session_chat(s, &conv, &o, &g, on_text, &col, &st, &cause) == 0, "a second turn");
	tap_ok(st.cached_tokens > 10, "  reuses the first turn's cache (%u cached, %u prefilled)", st.cached_tokens,
	       st.prompt_tokens);

	for (int i = 0; i < 6; i++) {
		chat_add(&conv, CHAT_ROLE_ASSISTANT, turn, strlen(turn));
		chat_add(&conv, CHAT_ROLE_USER, turn, strlen(turn));
	}
	collect_reset(&col);
	tap_ok(session_chat(s, &conv, &o, &g, on_text, &col, &st, &cause) == 0, "a conversation longer than the context");
	tap_ok(st.dropped_turns > 0, "  dropped %u oldest turns", st.dropped_turns);
	tap_ok(conv.n > 0 && conv.msgs[0].role == CHAT_ROLE_SYSTEM && strcmp(conv.msgs[0].content, "Be brief.") == 0,
	       "  the system message stays");
	tap_ok(conv.n > 1 && conv.msgs[1].role == CHAT_ROLE_USER, "  a user message follows it (whole turns dropped)");
	tap_ok(conv.msgs[conv.n - 1].role == CHAT_ROLE_USER, "  the message answered is still last");
	chat_tokenize(engine_model_tokenizer(m), engine_model_desc(m), &conv, &o, &ids, &merged, &cause);
	tap_ok(ids.n + 8 <= 128, "  what is left fits with room for the answer (%zu + 8 <= 128)", ids.n);

	/* One message larger than the context: a clear error, not a truncation. */
	{
		struct buf big = { 0 };
		chat_free(&conv);
		for (int i = 0; i < 40; i++)
			buf_printf(&big, "word%d ", i);
		chat_add(&conv, CHAT_ROLE_USER, big.data, big.len);
		free(cause);
		cause = NULL;
		tap_ok(session_chat(s, &conv, &o, &g, on_text, &col, &st, &cause) < 0, "a message larger than the context fails");
		TAP_ERR_HAS(cause, "context", "  and says the context is too small");
		buf_free(&big);
	}
	tokens_free(&ids);
	collect_reset(&col);
	chat_free(&conv);
	free(cause);
	session_free(s);
}

static void test_sampling_defaults(struct engine_model *m)
{
	/* The reference: generation_config.json as transformers wrote it. */
	json_t *gc = json_load_file(testmodels_fixture("hf/qwen2-f32/generation_config.json"), 0, NULL);
	struct sampler_params p;

	if (!tap_ok(gc != NULL, "generation_config.json readable"))
		return;
	engine_model_sampling_defaults(m, false, &p);
	tap_ok(fabs(p.temperature - json_number_value(json_object_get(gc, "temperature"))) < 1e-6,
	       "temperature from generation_config (%g)", (double)p.temperature);
	tap_ok(fabs(p.top_p - json_number_value(json_object_get(gc, "top_p"))) < 1e-6, "top_p from generation_config (%g)",
	       (double)p.top_p);
	TAP_EQ_INT(p.top_k, json_integer_value(json_object_get(gc, "top_k")), "top_k from generation_config");
	engine_model_sampling_defaults(m, true, &p);
	tap_ok(fabs(p.temperature - 0.6) < 1e-6 && fabs(p.top_p - 0.95) < 1e-6, "R1 conventions: temperature 0.6, top-p 0.95");
	tap_ok(!engine_model_is_r1(m), "a chatml model is not R1 by default");
	json_decref(gc);
}

/*
 * The CPU backend with a sample op, as a GPU backend has: forward with
 * logits == NULL keeps the last row here instead of handing it out, and
 * sample picks the argmax of it (ties to the lowest id, NaN never) — the
 * same rule as the host sampler's greedy path, written independently.
 */
static struct {
	struct backend_ops ops;
	const struct backend_ops *base;
	float *logits; /* n_vocab: the last NULL forward's last row */
	uint32_t n_vocab;
	bool have_logits;
	unsigned null_forwards, host_forwards, samples;
	bool counters_in_order; /* each sample's counter is the number of samples before it in its generation */
	uint64_t next_counter;
	struct backend_sample_params last;
} fake;

static int fake_forward(struct backend_ctx *c, const int32_t *tokens, uint32_t n, uint32_t pos, float *logits,
			bool all_logits, char **cause)
{
	if (logits) {
		fake.host_forwards++;
		fake.have_logits = false;
		return fake.base->forward(c, tokens, n, pos, logits, all_logits, cause);
	}
	fake.null_forwards++;
	if (all_logits)
		return error_set(cause, "fake backend: logits == NULL with all_logits");
	fake.have_logits = true;
	return fake.base->forward(c, tokens, n, pos, fake.logits, false, cause);
}

static int fake_sample(struct backend_ctx *c, const struct backend_sample_params *sp, int32_t *token, char **cause)
{
	int32_t best = -1;

	(void)c;
	if (!fake.have_logits)
		return error_set(cause, "fake backend: sample without a forward(logits = NULL) before it");
	if (sp->counter == 0)
		fake.next_counter = 0;
	if (sp->counter != fake.next_counter)
		fake.counters_in_order = false;
	fake.next_counter = sp->counter + 1;
	fake.samples++;
	fake.last = *sp;
	for (uint32_t i = 0; i < fake.n_vocab; i++)
		if (!isnan(fake.logits[i]) && (best < 0 || fake.logits[i] > fake.logits[best]))
			best = (int32_t)i;
	*token = best < 0 ? 0 : best;
	return 0;
}

static void fake_counts_reset(void)
{
	fake.null_forwards = fake.host_forwards = fake.samples = 0;
	fake.counters_in_order = true;
	memset(&fake.last, 0, sizeof fake.last);
}

/* Generate n tokens from ids with g on a fresh session of m; text into *col. */
static int gen_fresh(struct engine_model *m, const int32_t *ids, size_t n_ids, const struct gen_params *g,
		     struct collect *col, struct tokens *out_ids, struct session **keep)
{
	char *cause = NULL;
	struct session *s = session_new(m, 256, &cause);
	struct gen_stats st;
	const int32_t *gen;
	size_t n_gen;
	int rc = -1;

	if (!s || session_generate_ids(s, ids, n_ids, g, on_text, col, &st, &cause) < 0) {
		tap_diag("generate: %s", cause ? cause : "?");
		goto done;
	}
	gen = session_gen_ids(s, &n_gen);
	out_ids->n = 0;
	for (size_t i = 0; i < n_gen; i++)
		tokens_push(out_ids, gen[i]);
	rc = 0;
done:
	free(cause);
	if (keep && rc == 0)
		*keep = s;
	else
		session_free(s);
	return rc;
}

static bool same_ids(const struct tokens *a, const struct tokens *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->ids, b->ids, a->n * sizeof *a->ids) == 0);
}

static void test_device_sampling(struct engine_model *host)
{
	/* 40 prompt tokens, some repeated, so a repeat penalty changes the greedy path. */
	int32_t ids[40];
	struct engine_model *m = open_tiny("hf/qwen2-f32");
	struct collect want = { 0 }, got = { 0 };
	struct tokens want_ids = { 0 }, got_ids = { 0 };
	struct session *s = NULL;
	struct gen_params g;
	char *cause = NULL;
	float *all;

	if (!tap_ok(m != NULL, "device sampling: a second tiny qwen2 opens"))
		return;
	for (int i = 0; i < 40; i++)
		ids[i] = 40 + (i * 7) % 23;
	fake.base = cpu_backend_get();
	fake.ops = *fake.base;
	fake.ops.forward = fake_forward;
	fake.ops.sample = fake_sample;
	fake.n_vocab = engine_model_desc(m)->n_vocab;
	fake.logits = xcalloc(fake.n_vocab, sizeof *fake.logits);
	engine_model_set_ops(m, &fake.ops);

	/* Greedy: the backend samples; the text and ids are the host path's. */
	greedy(&g, 24);
	fake_counts_reset();
	tap_ok(gen_fresh(host, ids, 40, &g, &want, &want_ids, NULL) == 0, "host path: 24 greedy tokens");
	tap_ok(gen_fresh(m, ids, 40, &g, &got, &got_ids, &s) == 0, "device path: 24 greedy tokens");
	TAP_EQ_INT(fake.host_forwards, 0, "  every forward left the logits on the device (logits == NULL)");
	TAP_EQ_INT(fake.null_forwards, 24, "  one prefill call and 23 decode steps");
	TAP_EQ_INT(fake.samples, 24, "  ops->sample chose each of the 24 tokens");
	tap_ok(fake.counters_in_order, "  the sample counter counts the draws from 0");
	tap_ok(fake.last.temperature == 0, "  greedy parameters reach the backend (temperature %g)",
	       (double)fake.last.temperature);
	tap_ok(same_ids(&want_ids, &got_ids), "  the same %zu ids as the host sampler", got_ids.n);
	tap_ok(want.text.len == got.text.len && memcmp(want.text.data, got.text.data, want.text.len) == 0,
	       "  the same text (%zu bytes)", got.text.len);
	tap_ok(s && session_last_logits(s) == NULL, "  session_last_logits is NULL: the logits never reached the host");
	if (s) {
		all = session_logits(s, ids, 40, &cause);
		tap_ok(all != NULL && fake.host_forwards > 0, "  session_logits still brings logits to the host");
		tap_ok(all && session_last_logits(s) &&
			       memcmp(session_last_logits(s), all + 39 * (size_t)fake.n_vocab,
				      fake.n_vocab * sizeof *all) == 0,
		       "  and session_last_logits is its last row again");
		free(all);
	}
	session_free(s);
	s = NULL;

	/* A repeat penalty: the backend has none, so the host samples (same result as the CPU model). */
	collect_reset(&want);
	collect_reset(&got);
	g.sampling.repeat_penalty = 1.5f;
	fake_counts_reset();
	tap_ok(gen_fresh(host, ids, 40, &g, &want, &want_ids, NULL) == 0 &&
		       gen_fresh(m, ids, 40, &g, &got, &got_ids, &s) == 0,
	       "a repeat penalty: both generate");
	TAP_EQ_INT(fake.samples, 0, "  ops->sample is not used");
	TAP_EQ_INT(fake.null_forwards, 0, "  no forward left its logits on the device");
	tap_ok(same_ids(&want_ids, &got_ids), "  the host sampler's ids (%zu)", got_ids.n);
	tap_ok(s && session_last_logits(s) != NULL, "  session_last_logits is there");
	session_free(s);
	s = NULL;

	/* Sampling from the whole vocabulary (no top-k, top-p or min-p cut): the host, as backend.h asks. */
	g.sampling.repeat_penalty = 1;
	g.sampling.temperature = 0.7f;
	g.sampling.top_k = 0;
	g.sampling.top_p = 1;
	g.sampling.min_p = 0;
	g.sampling.seed = 7;
	g.max_tokens = 4;
	fake_counts_reset();
	tap_ok(gen_fresh(m, ids, 40, &g, &got, &got_ids, NULL) == 0, "full-vocabulary sampling generates");
	TAP_EQ_INT(fake.samples, 0, "  on the host (no sample op call)");

	/* With a cut, the backend samples and gets the parameters as given. */
	g.sampling.top_k = 40;
	g.sampling.top_p = 0.9f;
	g.sampling.min_p = 0.05f;
	fake_counts_reset();
	tap_ok(gen_fresh(m, ids, 40, &g, &got, &got_ids, NULL) == 0, "top-k 40 sampling generates");
	TAP_EQ_INT(fake.samples, 4, "  on the device: 4 sample calls");
	tap_ok(fake.last.temperature == 0.7f && fake.last.top_k == 40 && fake.last.top_p == 0.9f &&
		       fake.last.min_p == 0.05f && fake.last.seed == 7 && fake.last.counter == 3,
	       "  temperature, top-k, top-p, min-p, seed and counter passed through (counter %llu)",
	       (unsigned long long)fake.last.counter);

	collect_reset(&want);
	collect_reset(&got);
	tokens_free(&want_ids);
	tokens_free(&got_ids);
	free(cause);
	engine_model_free(m);
	free(fake.logits);
}

static void test_quant_on_cpu(void)
{
	struct engine_model_params p = { .device = "cpu", .n_threads = 1, .quant_bits = 8 };
	char *cause = NULL;
	struct engine_model *m = engine_model_open(testmodels_fixture("hf/qwen2-f32"), &p, &cause);
	const char *note = m ? engine_model_fallback_note(m) : NULL;

	tap_ok(m != NULL, "quant_bits 8 on the CPU opens the model (%s)", cause ? cause : "ok");
	tap_ok(note && strstr(note, "GPU only"), "  with a note that quantisation is for the GPU only (%s)",
	       note ? note : "no note");
	engine_model_free(m);
	free(cause);
	cause = NULL;
	p.quant_bits = 5;
	m = engine_model_open(testmodels_fixture("hf/qwen2-f32"), &p, &cause);
	tap_ok(m == NULL, "quant_bits 5 is refused");
	TAP_ERR_HAS(cause, "5 bits", "  and the message names it");
	engine_model_free(m);
	free(cause);
}

int main(void)
{
	struct engine_model *m;

	test_devices();
	m = open_tiny("hf/qwen2-f32");
	if (!tap_ok(m != NULL, "tiny qwen2 opens"))
		return tap_done();
	test_ctx(m);
	test_prefix_reuse(m);
	test_generation(m);
	test_cancel_thread(m);
	test_chat(m);
	test_sampling_defaults(m);
	test_device_sampling(m);
	test_quant_on_cpu();
	engine_model_free(m);
	return tap_done();
}
