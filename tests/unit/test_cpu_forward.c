/*
 * test_cpu_forward.c — the CPU backend's forward pass on tiny random llama
 * and qwen2 models written as GGUF (infer/gguf_write.h), checked for
 * properties that hold whatever the implementation:
 *  - a prefill of n tokens gives the logits of n one-token decode steps
 *    (the KV cache is consistent), and any split into chunks does too;
 *    up to 15 tokens bit for bit, beyond that within the rounding of a
 *    different summation order (see check_close);
 *  - results do not depend on the thread count, bit for bit;
 *  - the logits agree with a naive double-precision forward pass written
 *    here from the architecture's definition (DESIGN.md §3, model.h's RoPE
 *    layouts) over dtype_dequant's weights, within a tolerance stated per
 *    model (see check_reference);
 *  - the portable and SIMD kernel levels agree within that tolerance;
 *  - running past n_ctx and token ids outside the vocabulary are errors.
 * The backend promises bit-identical results across thread counts (every
 * output element is computed by one thread in one fixed order), so they are
 * compared with memcmp. Real-model logits against llama.cpp and transformers
 * are the golden tests' job.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/backend.h"
#include "infer/cpu_kernels.h"
#include "infer/dtype.h"
#include "infer/gguf_write.h"
#include "infer/model.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/tinymodel.h"

/* --- a naive reference forward pass, in double ----------------------------------------------- */

static double *dequant_matrix(const struct model_file *mf, const char *name, uint64_t n)
{
	const struct tensor *t = model_file_find(mf, name);
	float *f = xmalloc(sizeof(float) * n);
	double *d = xmalloc(sizeof(double) * n);
	dtype_dequant(t->type, t->data, f, n);
	for (uint64_t i = 0; i < n; i++)
		d[i] = f[i];
	free(f);
	return d;
}

static double f16_round(double v)
{
	return dtype_f16_to_f32(dtype_f32_to_f16((float)v));
}

/* y[rows] = W[rows][k] x[k] */
static void ref_matvec(const double *w, const double *x, double *y, uint32_t k, uint32_t rows)
{
	for (uint32_t r = 0; r < rows; r++) {
		double s = 0;
		for (uint32_t i = 0; i < k; i++)
			s += w[(size_t)r * k + i] * x[i];
		y[r] = s;
	}
}

static void ref_rmsnorm(const double *x, const double *w, double *y, uint32_t n, double eps)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++)
		ss += x[i] * x[i];
	double scale = 1.0 / sqrt(ss / n + eps);
	for (uint32_t i = 0; i < n; i++)
		y[i] = x[i] * scale * w[i];
}

static void ref_rope(double *v, uint32_t hd, uint32_t pos, double theta, enum rope_layout layout)
{
	for (uint32_t i = 0; i < hd / 2; i++) {
		double ang = pos * pow(theta, -2.0 * i / hd), c = cos(ang), s = sin(ang);
		uint32_t a = layout == ROPE_LAYOUT_HALF ? i : 2 * i,
		         b = layout == ROPE_LAYOUT_HALF ? i + hd / 2 : 2 * i + 1;
		double x0 = v[a], x1 = v[b];
		v[a] = x0 * c - x1 * s;
		v[b] = x0 * s + x1 * c;
	}
}

/* Logits (n, n_vocab) of tokens at positions 0..n-1; K and V rounded to f16 as a cache would. */
static double *ref_forward(const struct model_file *mf, const int32_t *tokens, uint32_t n)
{
	const struct model_desc *d = model_file_desc(mf);
	uint32_t E = d->n_embd, hd = d->head_dim, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd, F = d->n_ff;
	uint32_t V = d->n_vocab, group = d->n_heads / d->n_kv_heads;
	double *logits = xcalloc((size_t)n * V, sizeof(double));
	double *x = xcalloc((size_t)n * E, sizeof(double)), *xn = xmalloc(sizeof(double) * E);
	double *kc = xmalloc(sizeof(double) * (size_t)n * kvd),
	       *vc = xmalloc(sizeof(double) * (size_t)n * kvd);
	double *q = xmalloc(sizeof(double) * qd), *att = xmalloc(sizeof(double) * qd);
	double *g = xmalloc(sizeof(double) * F), *u = xmalloc(sizeof(double) * F),
	       *tmp = xmalloc(sizeof(double) * E);
	double *sc = xmalloc(sizeof(double) * n);
	char name[96];

	double *embd = dequant_matrix(mf, "token_embd.weight", (uint64_t)E * V);
	for (uint32_t t = 0; t < n; t++)
		memcpy(x + (size_t)t * E, embd + (size_t)tokens[t] * E, sizeof(double) * E);
	for (uint32_t l = 0; l < d->n_layers; l++) {
#define W(suffix, count) (snprintf(name, sizeof name, "blk.%u." suffix, l), dequant_matrix(mf, name, count))
		double *an = W("attn_norm.weight", E), *fn = W("ffn_norm.weight", E);
		double *wq = W("attn_q.weight", (uint64_t)E * qd),
		       *wk = W("attn_k.weight", (uint64_t)E * kvd);
		double *wv = W("attn_v.weight", (uint64_t)E * kvd),
		       *wo = W("attn_output.weight", (uint64_t)qd * E);
		double *wg = W("ffn_gate.weight", (uint64_t)E * F), *wu = W("ffn_up.weight", (uint64_t)E * F);
		double *wd = W("ffn_down.weight", (uint64_t)F * E);
		double *bq = d->qkv_bias ? W("attn_q.bias", qd) : NULL,
		       *bk = d->qkv_bias ? W("attn_k.bias", kvd) : NULL;
		double *bv = d->qkv_bias ? W("attn_v.bias", kvd) : NULL;
#undef W
		/* Keys and values of every position first: causal attention reads only earlier ones. */
		for (uint32_t t = 0; t < n; t++) {
			ref_rmsnorm(x + (size_t)t * E, an, xn, E, d->rms_eps);
			ref_matvec(wk, xn, kc + (size_t)t * kvd, E, kvd);
			ref_matvec(wv, xn, vc + (size_t)t * kvd, E, kvd);
			for (uint32_t i = 0; i < kvd; i++) {
				if (bk) {
					kc[(size_t)t * kvd + i] += bk[i];
					vc[(size_t)t * kvd + i] += bv[i];
				}
			}
			for (uint32_t h = 0; h < d->n_kv_heads; h++)
				ref_rope(kc + (size_t)t * kvd + h * hd, hd, t, d->rope_theta, d->rope_layout);
			for (uint32_t i = 0; i < kvd; i++) {
				kc[(size_t)t * kvd + i] = f16_round(kc[(size_t)t * kvd + i]);
				vc[(size_t)t * kvd + i] = f16_round(vc[(size_t)t * kvd + i]);
			}
		}
		for (uint32_t t = 0; t < n; t++) {
			ref_rmsnorm(x + (size_t)t * E, an, xn, E, d->rms_eps);
			ref_matvec(wq, xn, q, E, qd);
			for (uint32_t h = 0; h < d->n_heads; h++) {
				double *qh = q + h * hd, mx = -INFINITY, sum = 0;
				if (bq)
					for (uint32_t i = 0; i < hd; i++)
						qh[i] += bq[h * hd + i];
				ref_rope(qh, hd, t, d->rope_theta, d->rope_layout);
				uint32_t kvh = h / group;
				for (uint32_t j = 0; j <= t; j++) {
					double s = 0;
					for (uint32_t i = 0; i < hd; i++)
						s += qh[i] * kc[(size_t)j * kvd + kvh * hd + i];
					sc[j] = s / sqrt((double)hd);
					mx = fmax(mx, sc[j]);
				}
				for (uint32_t j = 0; j <= t; j++)
					sum += sc[j] = exp(sc[j] - mx);
				for (uint32_t i = 0; i < hd; i++) {
					double o = 0;
					for (uint32_t j = 0; j <= t; j++)
						o += sc[j] / sum * vc[(size_t)j * kvd + kvh * hd + i];
					att[h * hd + i] = o;
				}
			}
			ref_matvec(wo, att, tmp, qd, E);
			for (uint32_t i = 0; i < E; i++)
				x[(size_t)t * E + i] += tmp[i];
			ref_rmsnorm(x + (size_t)t * E, fn, xn, E, d->rms_eps);
			ref_matvec(wg, xn, g, E, F);
			ref_matvec(wu, xn, u, E, F);
			for (uint32_t i = 0; i < F; i++)
				g[i] = g[i] / (1 + exp(-g[i])) * u[i];
			ref_matvec(wd, g, tmp, F, E);
			for (uint32_t i = 0; i < E; i++)
				x[(size_t)t * E + i] += tmp[i];
		}
		free(an), free(fn), free(wq), free(wk), free(wv), free(wo), free(wg), free(wu), free(wd);
		free(bq), free(bk), free(bv);
	}
	double *on = dequant_matrix(mf, "output_norm.weight", E);
	double *wout = d->tied_output ? embd : dequant_matrix(mf, "output.weight", (uint64_t)E * V);
	for (uint32_t t = 0; t < n; t++) {
		ref_rmsnorm(x + (size_t)t * E, on, xn, E, d->rms_eps);
		ref_matvec(wout, xn, logits + (size_t)t * V, E, V);
	}
	if (wout != embd)
		free(wout);
	free(embd), free(on), free(x), free(xn), free(kc), free(vc), free(q), free(att), free(g), free(u);
	free(tmp), free(sc);
	return logits;
}

/* --- running the backend ------------------------------------------------------------------------- */

struct run {
	const struct backend_ops *ops;
	struct backend_weights *w;
	struct backend_ctx *c;
	uint32_t n_vocab;
};

static int run_open(struct run *r, const struct model_file *mf, int n_threads, uint32_t n_ctx)
{
	struct backend_params p = {.n_threads = n_threads};
	char *cause = NULL;

	r->ops = cpu_backend_get();
	r->n_vocab = model_file_desc(mf)->n_vocab;
	r->w = r->ops->weights_load(mf, &p, &cause);
	r->c = r->w ? r->ops->ctx_new(r->w, n_ctx, &cause) : NULL;
	if (!r->c) {
		tap_diag("  backend: %s", cause ? cause : "?");
		free(cause);
		return -1;
	}
	return 0;
}

static void run_close(struct run *r)
{
	if (r->ops) {
		r->ops->ctx_free(r->c);
		r->ops->weights_free(r->w);
	}
}

/* Logits (n, n_vocab) of tokens run in chunks of the given sizes (summing to n), every position kept. */
static float *run_chunks(const struct model_file *mf, int n_threads, const int32_t *tokens, uint32_t n,
                         const uint32_t *chunks, size_t n_chunks)
{
	struct run r = {0};
	char *cause = NULL;
	float *logits, *one;
	uint32_t pos = 0;

	if (run_open(&r, mf, n_threads, 64) < 0)
		return NULL;
	logits = xcalloc((size_t)n * r.n_vocab, sizeof(float));
	one = xmalloc(sizeof(float) * r.n_vocab);
	for (size_t i = 0; i < n_chunks; i++) {
		/* Single tokens exercise the "last token only" path: it must equal that row of all_logits. */
		bool all = chunks[i] > 1;
		if (r.ops->forward(r.c, tokens + pos, chunks[i], pos,
		                   all ? logits + (size_t)pos * r.n_vocab : one, all, &cause) < 0) {
			tap_diag("  forward: %s", cause);
			free(cause);
			free(logits);
			logits = NULL;
			break;
		}
		if (!all)
			memcpy(logits + (size_t)pos * r.n_vocab, one, sizeof(float) * r.n_vocab);
		pos += chunks[i];
	}
	free(one);
	run_close(&r);
	return logits;
}

static int same_bits(const float *a, const float *b, size_t n, const char *what)
{
	if (!a || !b)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
			tap_diag("  %s: first difference at %zu: %.9g vs %.9g", what, i, a[i], b[i]);
			return 0;
		}
	return 1;
}

/*
 * Against the reference: the largest |difference| over all logits must be
 * below tol * (largest |reference logit|). Float weights: only float
 * rounding separates the two (tol 1e-4). Quantised weights: the backend
 * rounds every matmul input to 8 bits (relative error up to ~0.5% of each
 * block's largest element, see cpu_kernels.h), a few such errors per layer
 * add up through the layers: tol 5e-2 for these 2-layer models (errors
 * seen: 2-2.5%). Bugs injected on purpose (RoPE pairs of the wrong layout,
 * query heads mapped to the wrong KV head, a dropped qkv bias) gave errors
 * of 10-30x this tolerance on quantised models and 1000x+ on float ones; an
 * attention scale 10% off, 1.1-2.6x (quantised) and 100x+ (float).
 */
static int check_reference(const float *got, const double *ref, size_t n, double tol, const char *what)
{
	double max_ref = 0, max_err = 0;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		max_ref = fmax(max_ref, fabs(ref[i]));
		if (fabs(got[i] - ref[i]) > max_err) {
			max_err = fabs(got[i] - ref[i]);
			at = i;
		}
	}
	int ok = max_err <= tol * max_ref;
	if (!tap_ok(ok, "%s: logits match the double-precision reference (max error %.3g of %.3g allowed)",
	            what, max_err, tol * max_ref))
		tap_diag("  at %zu: got %.9g, reference %.9g", at, got[at], ref[at]);
	return ok;
}

/*
 * A batch of 16 or more tokens may sum a matmul row's blocks in another
 * order than single tokens do (cpu_kernels.h). For float weights that is
 * float rounding: 1e-5 of the largest logit. For quantised weights a
 * rounding difference can also move activations across 8-bit rounding
 * boundaries, which re-rolls part of the quantisation noise: bounded by
 * the same 5e-2 as the comparison with the exact reference (seen: up to
 * 1.5%). A KV-cache or position bug moves logits by O(1).
 */
static int check_close(const float *a, const float *b, size_t n, double tol, const char *what)
{
	double max_ref = 0, max_err = 0;
	if (!a || !b)
		return 0;
	for (size_t i = 0; i < n; i++) {
		max_ref = fmax(max_ref, fabs(a[i]));
		max_err = fmax(max_err, fabs((double)a[i] - b[i]));
	}
	if (max_err > tol * max_ref) {
		tap_diag("  %s: max difference %.3g, allowed %.3g", what, max_err, tol * max_ref);
		return 0;
	}
	return 1;
}

static void test_model(const struct tiny_spec *s, const char *dir, double tol, double tol_order)
{
	char path[4096], *cause = NULL;
	struct model_file *mf;
	enum { N = 40, N_SHORT = 13 };
	int32_t tokens[N];
	uint32_t ones[N], split[] = {17, 1, 22}, whole[] = {N}, whole_short[] = {N_SHORT};

	snprintf(path, sizeof path, "%s/tiny-%s-%s.gguf", dir, s->arch, dtype_name(s->t_qkv));
	if (tiny_model_write(s, 256, path, &cause) < 0 || !(mf = model_file_open(path, &cause))) {
		tap_ok(0, "%s: write and open a tiny model: %s", s->arch, cause);
		free(cause);
		return;
	}
	const struct model_desc *d = model_file_desc(mf);
	size_t n_logits = (size_t)N * d->n_vocab;
	char what[160];
	snprintf(what, sizeof what, "%s (%s/%s/%s)", s->arch, dtype_name(s->t_qkv), dtype_name(s->t_o),
	         dtype_name(s->t_down));
	for (int i = 0; i < N; i++) {
		tokens[i] = (int32_t)(rng_u32() % d->n_vocab);
		ones[i] = 1;
	}

	float *batch = run_chunks(mf, 2, tokens, N, whole, 1);
	float *steps = run_chunks(mf, 2, tokens, N, ones, N);
	float *mixed = run_chunks(mf, 2, tokens, N, split, 3);
	float *t1 = run_chunks(mf, 1, tokens, N, whole, 1);
	float *t3 = run_chunks(mf, 3, tokens, N, whole, 1);
	float *t3s = run_chunks(mf, 3, tokens, N, ones, N);
	float *short_batch = run_chunks(mf, 3, tokens, N_SHORT, whole_short, 1);
	tap_ok(same_bits(short_batch, steps, (size_t)N_SHORT * d->n_vocab, "batch vs steps"),
	       "%s: a %d-token prefill gives the logits of %d decode steps, bit for bit", what, N_SHORT,
	       N_SHORT);
	tap_ok(check_close(steps, batch, n_logits, tol_order, "steps vs batch"),
	       "%s: a %d-token prefill gives the logits of %d decode steps, up to summation order", what, N,
	       N);
	tap_ok(check_close(steps, mixed, n_logits, tol_order, "steps vs 17+1+22"),
	       "%s: chunks of 17, 1 and 22 tokens give those logits too", what);
	tap_ok(same_bits(batch, t1, n_logits, "2 vs 1 threads") &&
	               same_bits(batch, t3, n_logits, "2 vs 3 threads") &&
	               same_bits(steps, t3s, n_logits, "steps on 2 vs 3 threads"),
	       "%s: 1, 2 and 3 threads give identical logits", what);

	double *ref = ref_forward(mf, tokens, N);
	if (batch)
		check_reference(batch, ref, n_logits, tol, what);
	else
		tap_ok(0, "%s: reference comparison (no logits)", what);

	/* Every kernel level this CPU has, against the same reference. */
	enum cpu_simd best = cpu_simd_best();
	for (int lv = CPU_SIMD_PORTABLE; lv <= (int)best; lv++) {
		char lvwhat[200];
		cpu_simd_force((enum cpu_simd)lv);
		float *l = run_chunks(mf, 2, tokens, N, whole, 1);
		snprintf(lvwhat, sizeof lvwhat, "%s at the %s level", what, cpu_simd_name((enum cpu_simd)lv));
		if (l)
			check_reference(l, ref, n_logits, tol, lvwhat);
		else
			tap_ok(0, "%s: ran", lvwhat);
		free(l);
	}
	cpu_simd_force(best);

	/* The context limit and token ids. */
	struct run r = {0};
	if (run_open(&r, mf, 2, 8) == 0) {
		float *lg = xmalloc(sizeof(float) * d->n_vocab);
		int32_t bad = (int32_t)d->n_vocab;
		TAP_EQ_INT(r.ops->forward(r.c, tokens, 9, 0, lg, false, &cause), -1,
		           "9 tokens into a context of 8 fail");
		TAP_ERR_HAS(cause, "context", "the message says the context is full");
		free(cause);
		cause = NULL;
		TAP_EQ_INT(r.ops->forward(r.c, tokens, 6, 0, lg, false, &cause), 0, "6 tokens fit");
		TAP_EQ_INT(r.ops->forward(r.c, tokens, 3, 6, lg, false, &cause), -1,
		           "3 more at position 6 do not");
		free(cause);
		cause = NULL;
		TAP_EQ_INT(r.ops->forward(r.c, tokens, 2, 6, lg, false, &cause), 0, "2 more fill it exactly");
		TAP_EQ_INT(r.ops->forward(r.c, &bad, 1, 0, lg, false, &cause), -1,
		           "a token id past the vocabulary fails");
		TAP_ERR_HAS(cause, "vocabulary", "the message names the vocabulary");
		free(cause);
		cause = NULL;
		tap_ok(r.ops->ctx_bytes(r.c) >=
		               (uint64_t)8 * d->n_layers * d->n_kv_heads * d->head_dim * 2 * 2,
		       "ctx_bytes counts at least the KV cache");
		/* A memory cap below a context's needs is refused up front, with the sizes. */
		struct backend_params p = {.n_threads = 1, .mem_limit = r.ops->ctx_bytes(r.c) / 2};
		struct backend_weights *wl = r.ops->weights_load(mf, &p, &cause);
		struct backend_ctx *cl = wl ? r.ops->ctx_new(wl, 8, &cause) : NULL;
		tap_ok(wl && !cl, "a context over the memory limit is refused");
		TAP_ERR_HAS(cause, "over the limit", "the message names the limit");
		free(cause);
		cause = NULL;
		r.ops->weights_free(wl);
		free(lg);
	} else {
		tap_ok(0, "open a context of 8");
	}
	run_close(&r);

	free(batch), free(steps), free(mixed), free(t1), free(t3), free(t3s), free(short_batch), free(ref);
	model_file_close(mf);
	unlink(path);
}

/*
 * A prompt longer than the backend's internal batch (it runs long prompts
 * in passes of a few hundred tokens): the same logits as decoding token by
 * token, and the last-token-only logits equal the last row of all_logits.
 */
static void test_long_prompt(const struct tiny_spec *s, const char *dir, double tol_order)
{
	enum { N = 600 };
	char path[4096], *cause = NULL;
	struct model_file *mf;
	int32_t tokens[N];
	struct run r = {0};

	snprintf(path, sizeof path, "%s/long-%s.gguf", dir, s->arch);
	if (tiny_model_write(s, 256, path, &cause) < 0 || !(mf = model_file_open(path, &cause))) {
		tap_ok(0, "%s: write and open a tiny model: %s", s->arch, cause);
		free(cause);
		return;
	}
	uint32_t V = model_file_desc(mf)->n_vocab;
	for (int i = 0; i < N; i++)
		tokens[i] = (int32_t)(rng_u32() % V);
	float *all = xmalloc(sizeof(float) * N * V), *last = xmalloc(sizeof(float) * V);
	float *step = xmalloc(sizeof(float) * N * V);
	int ok = run_open(&r, mf, 2, N) == 0;
	ok = ok && r.ops->forward(r.c, tokens, N, 0, all, true, &cause) == 0;
	run_close(&r);
	memset(&r, 0, sizeof r);
	ok = ok && run_open(&r, mf, 2, N) == 0 && r.ops->forward(r.c, tokens, N, 0, last, false, &cause) == 0;
	run_close(&r);
	memset(&r, 0, sizeof r);
	ok = ok && run_open(&r, mf, 3, N) == 0;
	for (int i = 0; ok && i < N; i++)
		ok = r.ops->forward(r.c, tokens + i, 1, (uint32_t)i, step + (size_t)i * V, false, &cause) ==
		     0;
	run_close(&r);
	if (!tap_ok(ok, "%s: a %d-token prompt runs", s->arch, N))
		tap_diag("  %s", cause ? cause : "?");
	tap_ok(ok && check_close(step, all, (size_t)N * V, tol_order, "long prompt vs steps"),
	       "%s: a %d-token prompt (several internal passes) gives the logits of %d decode steps", s->arch,
	       N, N);
	tap_ok(ok && same_bits(last, all + (size_t)(N - 1) * V, V, "last-only vs all"),
	       "%s: its last-token logits equal the last row of all_logits", s->arch);
	free(cause);
	free(all), free(last), free(step);
	model_file_close(mf);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/duet-test-cpu-forward-XXXXXX";
	const struct tiny_spec llama_q = {"llama",   64,         2,          96,         4,
	                             2,         50,         false,      false,      DTYPE_F16,
	                             DTYPE_F32, DTYPE_Q8_0, DTYPE_Q4_1, DTYPE_Q4_0, DTYPE_Q5_1};
	const struct tiny_spec llama_q5 = {"llama", 64,         2,          128,        2,
	                              1,       40,         false,      true,       DTYPE_Q5_0,
	                              0,       DTYPE_Q5_0, DTYPE_Q8_0, DTYPE_Q4_1, DTYPE_Q4_0};
	const struct tiny_spec qwen_k = {"qwen2", 256,        2,          512,        8,
	                            2,       60,         true,       true,       DTYPE_Q8_0,
	                            0,       DTYPE_Q4_K, DTYPE_Q6_K, DTYPE_Q5_K, DTYPE_Q3_K};
	const struct tiny_spec qwen_k2 = {"qwen2",    256,        2,          256,        4,
	                             4,          30,         true,       false,      DTYPE_Q6_K,
	                             DTYPE_Q2_K, DTYPE_Q2_K, DTYPE_Q4_K, DTYPE_Q3_K, DTYPE_Q6_K};
	const struct tiny_spec llama_f = {"llama",   48,         2,         72,        6,
	                             3,         30,         false,     false,     DTYPE_BF16,
	                             DTYPE_F16, DTYPE_BF16, DTYPE_F32, DTYPE_F16, DTYPE_BF16};
	const struct tiny_spec qwen_f = {"qwen2", 64,        2, 80,        4,          1,         30,       true,
	                            true,    DTYPE_F32, 0, DTYPE_F16, DTYPE_BF16, DTYPE_F32, DTYPE_F16};

	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary folder");
	test_model(&llama_f, dir, 1e-4, 1e-5);
	test_model(&qwen_f, dir, 1e-4, 1e-5);
	test_model(&llama_q, dir, 5e-2, 5e-2);
	test_model(&llama_q5, dir, 5e-2, 5e-2);
	test_model(&qwen_k, dir, 5e-2, 5e-2);
	test_model(&qwen_k2, dir, 5e-2, 5e-2);
	test_long_prompt(&qwen_f, dir, 1e-5);
	test_long_prompt(&llama_q, dir, 5e-2);
	rmdir(dir);
	return tap_done();
}
