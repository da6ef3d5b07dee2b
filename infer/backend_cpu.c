/*
 * backend_cpu.c — the CPU backend (backend.h): the forward pass of llama and
 * qwen2 models in f32 over the model file's weights used in place, an f16
 * KV cache, and a persistent thread pool. The reference the CUDA backend is
 * checked against. Calls model, dtype, cpu_kernels, threadpool and util.
 *
 * One forward call runs entirely inside one threadpool_run: every thread
 * walks the same sequence of steps and meets the others at a barrier where
 * a step needs another's output. Work is split so that each output element
 * is computed by one thread in a fixed order (matmul rows, attention heads,
 * whole tokens for norms), so logits do not depend on the thread count; a
 * batch gives the bits of token-by-token decoding up to 15 tokens, and
 * beyond within the rounding of another summation order (cpu_kernels.h).
 *
 * Per layer: norm + quantise (by tokens) | Q, K, V by whole heads, with
 * bias, RoPE and the f16 cache write fused | attention by (token tile, KV
 * head) | output projection + residual (by rows) | norm + quantise |
 * gate and up by rows, SwiGLU and quantising fused | down + residual; a
 * barrier at each |.
 *
 * Numerics follow Hugging Face transformers where the references differ:
 * RoPE inverse frequencies 1 / theta^(2i/d) in float, angles pos * inv_freq
 * in float; RMSNorm as x * (1 / sqrt(mean(x^2) + eps)) then * weight.
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
#include "infer/model.h"
#include "infer/threadpool.h"
#include "infer/util.h"

/* Tokens per internal pass of a long prompt: bounds the activation memory. */
#define CPU_MAX_BATCH 256
/* Query rows (heads x tokens sharing a KV head) per attention call: bounds the per-thread score buffer. */
#define CPU_ATT_ROWS 16

/* A weight matrix in the file: rows of k elements (GGUF ne = {k, rows}). */
struct cpu_matrix {
	uint32_t type;
	const uint8_t *data;
	uint32_t k, rows;
	enum cpu_actq form;
};

struct cpu_layer {
	float *attn_norm, *ffn_norm; /* (n_embd), owned copies in f32 */
	float *bq, *bk, *bv;         /* (q_dim), (kv_dim), (kv_dim); NULL without qkv bias */
	struct cpu_matrix wq, wk, wv, wo, gate, up, down;
	unsigned qkv_forms; /* bit per cpu_actq form the Q, K, V weights need */
	unsigned gate_up_forms;
};

struct backend_weights {
	const struct model_file *mf;
	struct model_desc desc;
	int n_threads;
	uint64_t mem_limit; /* bytes a context may hold; 0 = no cap */
	struct cpu_layer *layers;
	struct cpu_matrix embd, output;
	size_t embd_row_bytes;
	float *output_norm;
	float *inv_freq; /* (head_dim / 2) RoPE inverse frequencies */
	uint64_t owned_bytes;
};

struct backend_ctx {
	struct backend_weights *w;
	uint32_t n_ctx;
	uint32_t n_batch;
	struct threadpool *tp;
	uint16_t *k_cache, *v_cache; /* (n_layers, n_ctx, kv_dim) f16 */
	float *x;                    /* (n_batch, n_embd) residual stream */
	float *xn;                   /* (n_batch, n_embd) normed */
	float *q;                    /* (n_batch, q_dim) */
	float *k, *v;                /* (n_batch, kv_dim) */
	float *att;                  /* (n_batch, q_dim) attention output */
	float *ff_g, *ff_u;          /* (n_batch, n_ff); ff_g becomes silu(g) * u */
	float *tmp;                  /* (n_batch, n_embd) projection before the residual add */
	float *att_scratch;          /* per thread: scores (CPU_ATT_ROWS, n_ctx), query and output rows
	                                (CPU_ATT_ROWS, head_dim) each */
	size_t att_scratch_floats;   /* per thread */
	float *rope_cos, *rope_sin;  /* (n_batch, head_dim / 2) */
	void *actq;                  /* quantised xn or att, cpu_act_bytes(n_batch, max(n_embd, q_dim)) */
	void *actq_ff;               /* quantised silu(g) * u, cpu_act_bytes(n_batch, n_ff): written while
	                                the gate/up matmuls still read actq */
	uint64_t bytes;
};

/* --- helpers ----------------------------------------------------------------------------------- */

static void split_range(uint32_t n, int ith, int nth, uint32_t *b, uint32_t *e)
{
	*b = (uint32_t)((uint64_t)n * (uint64_t)ith / (uint64_t)nth);
	*e = (uint32_t)((uint64_t)n * (uint64_t)(ith + 1) / (uint64_t)nth);
}

static unsigned form_bit(enum cpu_actq f)
{
	return f == CPU_ACTQ_NONE_ ? 0u : 1u << f;
}

static void *alloc_aligned(size_t n)
{
	n = (n + 63) & ~(size_t)63;
	return aligned_alloc(64, n ? n : 64);
}

/* --- weights ------------------------------------------------------------------------------------- */

static int matrix_get(const struct model_file *mf, const char *name, uint32_t k, uint32_t rows,
                      struct cpu_matrix *m, char **cause)
{
	const struct tensor *t = model_file_find(mf, name);

	if (!t)
		return error_set(cause, "%s: tensor '%s' is missing", model_file_path(mf), name);
	if (t->ne[0] != k || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
		return error_set(cause, "%s: tensor '%s' is not a %u x %u matrix", model_file_path(mf), name,
		                 rows, k);
	if (!cpu_matmul_supports(t->type))
		return error_set(cause, "%s: tensor '%s' has type %s, which the CPU backend cannot multiply",
		                 model_file_path(mf), name, dtype_name(t->type));
	m->type = t->type;
	m->data = t->data;
	m->k = k;
	m->rows = rows;
	m->form = cpu_actq_for(t->type);
	return 0;
}

/* A 1-D tensor of n elements as an owned f32 array. */
static float *vector_get(struct backend_weights *w, const char *name, uint32_t n, char **cause)
{
	const struct tensor *t = model_file_find(w->mf, name);
	const struct dtype_traits *tr;
	float *v;

	if (!t) {
		error_set(cause, "%s: tensor '%s' is missing", model_file_path(w->mf), name);
		return NULL;
	}
	tr = dtype_traits(t->type);
	if (tensor_n_elems(t) != n || !tr || !tr->supported || n % tr->block_elems != 0) {
		error_set(cause, "%s: tensor '%s' is not a vector of %u elements of a readable type",
		          model_file_path(w->mf), name, n);
		return NULL;
	}
	v = alloc_aligned(sizeof(float) * n);
	if (!v) {
		error_set(cause, "%s: out of memory for tensor '%s'", model_file_path(w->mf), name);
		return NULL;
	}
	dtype_dequant(t->type, t->data, v, n);
	w->owned_bytes += sizeof(float) * n;
	return v;
}

static void cpu_weights_free(struct backend_weights *w)
{
	if (!w)
		return;
	if (w->layers)
		for (uint32_t l = 0; l < w->desc.n_layers; l++) {
			struct cpu_layer *ly = &w->layers[l];
			free(ly->attn_norm);
			free(ly->ffn_norm);
			free(ly->bq);
			free(ly->bk);
			free(ly->bv);
		}
	free(w->layers);
	free(w->output_norm);
	free(w->inv_freq);
	free(w);
}

static struct backend_weights *cpu_weights_load(const struct model_file *mf, const struct backend_params *p,
                                                char **cause)
{
	struct backend_weights *w = xcalloc(1, sizeof *w);
	const struct model_desc *d = model_file_desc(mf);
	const char *path = model_file_path(mf);
	char name[96];

	w->mf = mf;
	w->desc = *d;
	w->n_threads = p && p->n_threads > 0 ? p->n_threads : threadpool_n_cores();
	w->mem_limit = p ? p->mem_limit : 0;
	uint32_t E = d->n_embd, hd = d->head_dim, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd;
	if (d->n_heads == 0 || d->n_kv_heads == 0 || d->n_heads % d->n_kv_heads != 0) {
		error_set(cause, "%s: %u attention heads cannot share %u KV heads", path, d->n_heads,
		          d->n_kv_heads);
		goto fail;
	}
	if (hd == 0 || hd % 2 != 0) {
		error_set(cause, "%s: head dimension %u is not even", path, hd);
		goto fail;
	}

	if (matrix_get(mf, "token_embd.weight", E, d->n_vocab, &w->embd, cause) < 0)
		goto fail;
	uint64_t rb;
	if (dtype_bytes(w->embd.type, E, &rb) < 0) {
		error_set(cause, "%s: token_embd rows of %u elements are not whole %s blocks", path, E,
		          dtype_name(w->embd.type));
		goto fail;
	}
	w->embd_row_bytes = (size_t)rb;
	if (d->tied_output)
		w->output = w->embd;
	else if (matrix_get(mf, "output.weight", E, d->n_vocab, &w->output, cause) < 0)
		goto fail;
	if (!(w->output_norm = vector_get(w, "output_norm.weight", E, cause)))
		goto fail;

	w->layers = xcalloc(d->n_layers, sizeof *w->layers);
	for (uint32_t l = 0; l < d->n_layers; l++) {
		struct cpu_layer *ly = &w->layers[l];
#define MAT(field, suffix, k, rows)                                                                          \
	do {                                                                                                 \
		snprintf(name, sizeof name, "blk.%u." suffix, l);                                            \
		if (matrix_get(mf, name, k, rows, &ly->field, cause) < 0)                                    \
			goto fail;                                                                           \
	} while (0)
#define VEC(field, suffix, n)                                                                                \
	do {                                                                                                 \
		snprintf(name, sizeof name, "blk.%u." suffix, l);                                            \
		if (!(ly->field = vector_get(w, name, n, cause)))                                            \
			goto fail;                                                                           \
	} while (0)
		MAT(wq, "attn_q.weight", E, qd);
		MAT(wk, "attn_k.weight", E, kvd);
		MAT(wv, "attn_v.weight", E, kvd);
		MAT(wo, "attn_output.weight", qd, E);
		MAT(gate, "ffn_gate.weight", E, d->n_ff);
		MAT(up, "ffn_up.weight", E, d->n_ff);
		MAT(down, "ffn_down.weight", d->n_ff, E);
		VEC(attn_norm, "attn_norm.weight", E);
		VEC(ffn_norm, "ffn_norm.weight", E);
		if (d->qkv_bias) {
			VEC(bq, "attn_q.bias", qd);
			VEC(bk, "attn_k.bias", kvd);
			VEC(bv, "attn_v.bias", kvd);
		}
#undef MAT
#undef VEC
		ly->qkv_forms = form_bit(ly->wq.form) | form_bit(ly->wk.form) | form_bit(ly->wv.form);
		ly->gate_up_forms = form_bit(ly->gate.form) | form_bit(ly->up.form);
		if (p && p->progress)
			p->progress((float)(l + 1) / (float)d->n_layers, p->progress_user);
	}

	/* transformers: inv_freq = 1 / base ** (arange(0, d, 2).float() / d), all float32. */
	w->inv_freq = xcalloc(hd / 2, sizeof(float));
	for (uint32_t i = 0; i < hd / 2; i++)
		w->inv_freq[i] = 1.0f / powf(d->rope_theta, (float)(2 * i) / (float)hd);
	w->owned_bytes += sizeof(float) * (hd / 2) + sizeof(struct cpu_layer) * d->n_layers + sizeof *w;
	return w;
fail:
	cpu_weights_free(w);
	return NULL;
}

static uint64_t cpu_weights_bytes(const struct backend_weights *w)
{
	return w->owned_bytes;
}

/* --- contexts -------------------------------------------------------------------------------------- */

static void cpu_ctx_free(struct backend_ctx *c)
{
	if (!c)
		return;
	threadpool_free(c->tp);
	free(c->k_cache);
	free(c->v_cache);
	free(c->x);
	free(c->xn);
	free(c->q);
	free(c->k);
	free(c->v);
	free(c->att);
	free(c->ff_g);
	free(c->ff_u);
	free(c->tmp);
	free(c->att_scratch);
	free(c->rope_cos);
	free(c->rope_sin);
	free(c->actq);
	free(c->actq_ff);
	free(c);
}

static struct backend_ctx *cpu_ctx_new(struct backend_weights *w, uint32_t n_ctx, char **cause)
{
	const struct model_desc *d = &w->desc;
	struct backend_ctx *c = xcalloc(1, sizeof *c);
	uint32_t E = d->n_embd, hd = d->head_dim, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd;
	uint64_t kv_elems, kv_bytes;

	c->w = w;
	c->n_ctx = n_ctx;
	if (n_ctx == 0) {
		error_set(cause, "%s: a context of 0 tokens", model_file_path(w->mf));
		goto fail;
	}
	if (!u64_mul((uint64_t)n_ctx, (uint64_t)d->n_layers * kvd, &kv_elems) ||
	    !u64_mul(kv_elems, 2 * sizeof(uint16_t), &kv_bytes) || kv_bytes > SIZE_MAX / 2) {
		error_set(cause, "%s: a KV cache for %u tokens is too large", model_file_path(w->mf), n_ctx);
		goto fail;
	}
	c->n_batch = n_ctx < CPU_MAX_BATCH ? n_ctx : CPU_MAX_BATCH;
	size_t B = c->n_batch;
	size_t act_bytes = cpu_act_bytes((uint32_t)B, E > qd ? E : qd),
	       act_ff_bytes = cpu_act_bytes((uint32_t)B, d->n_ff);
	c->att_scratch_floats = ((size_t)CPU_ATT_ROWS * (n_ctx + 2 * (size_t)hd) + 15) & ~(size_t)15;
	c->bytes = kv_bytes +
	           sizeof(float) * (B * (3 * (uint64_t)E + 2 * (uint64_t)qd + 2 * (uint64_t)kvd +
	                                 2 * (uint64_t)d->n_ff + hd) +
	                            (uint64_t)w->n_threads * c->att_scratch_floats) +
	           act_bytes + act_ff_bytes;
	if (w->mem_limit && c->bytes > w->mem_limit) {
		error_set(cause,
		          "%s: a context of %u tokens needs %.1f MiB (KV cache %.1f MiB), over the limit of "
		          "%.1f MiB",
		          model_file_path(w->mf), n_ctx, (double)c->bytes / 1048576.0,
		          (double)kv_bytes / 1048576.0, (double)w->mem_limit / 1048576.0);
		goto fail;
	}
	c->k_cache = malloc(kv_elems * sizeof(uint16_t));
	c->v_cache = malloc(kv_elems * sizeof(uint16_t));
	if (!c->k_cache || !c->v_cache) {
		error_set(
		        cause,
		        "%s: cannot allocate the KV cache for %u tokens (%.1f MiB: %u layers x %u x 2 x f16)",
		        model_file_path(w->mf), n_ctx, (double)kv_bytes / 1048576.0, d->n_layers, kvd);
		goto fail;
	}
	c->x = alloc_aligned(sizeof(float) * B * E);
	c->xn = alloc_aligned(sizeof(float) * B * E);
	c->q = alloc_aligned(sizeof(float) * B * qd);
	c->k = alloc_aligned(sizeof(float) * B * kvd);
	c->v = alloc_aligned(sizeof(float) * B * kvd);
	c->att = alloc_aligned(sizeof(float) * B * qd);
	c->ff_g = alloc_aligned(sizeof(float) * B * d->n_ff);
	c->ff_u = alloc_aligned(sizeof(float) * B * d->n_ff);
	c->tmp = alloc_aligned(sizeof(float) * B * E);
	c->att_scratch = alloc_aligned(sizeof(float) * (size_t)w->n_threads * c->att_scratch_floats);
	c->rope_cos = alloc_aligned(sizeof(float) * B * (hd / 2));
	c->rope_sin = alloc_aligned(sizeof(float) * B * (hd / 2));
	c->actq = alloc_aligned(act_bytes);
	c->actq_ff = alloc_aligned(act_ff_bytes);
	if (!c->x || !c->xn || !c->q || !c->k || !c->v || !c->att || !c->ff_g || !c->ff_u || !c->tmp ||
	    !c->att_scratch || !c->rope_cos || !c->rope_sin || !c->actq || !c->actq_ff) {
		error_set(cause, "%s: cannot allocate activations for %zu tokens", model_file_path(w->mf), B);
		goto fail;
	}
	if (!(c->tp = threadpool_new(w->n_threads, cause)))
		goto fail;
	return c;
fail:
	cpu_ctx_free(c);
	return NULL;
}

static uint64_t cpu_ctx_bytes(const struct backend_ctx *c)
{
	return c->bytes;
}

/* --- the forward pass ----------------------------------------------------------------------------- */

struct fwd_job {
	struct backend_ctx *c;
	const int32_t *tokens;
	uint32_t n, pos;
	float *logits;
	bool all_logits;
};

/* One head's vector rotated in place; cs and sn hold head_dim / 2 values. */
static void rope_apply(float *v, const float *cs, const float *sn, uint32_t hd, enum rope_layout layout)
{
	uint32_t half = hd / 2;
	if (layout == ROPE_LAYOUT_HALF)
		for (uint32_t i = 0; i < half; i++) {
			float x0 = v[i], x1 = v[i + half];
			float a = x0 * cs[i], b = x1 * sn[i], e = x1 * cs[i], f = x0 * sn[i];
			v[i] = a - b;
			v[i + half] = e + f;
		}
	else
		for (uint32_t i = 0; i < half; i++) {
			float x0 = v[2 * i], x1 = v[2 * i + 1];
			float a = x0 * cs[i], b = x1 * sn[i], e = x1 * cs[i], f = x0 * sn[i];
			v[2 * i] = a - b;
			v[2 * i + 1] = e + f;
		}
}

static void quantize_rows(struct cpu_act *a, unsigned forms, uint32_t t0, uint32_t t1)
{
	for (int f = CPU_ACTQ_Q8_32; f <= CPU_ACTQ_Q8_256; f++)
		if (forms & (1u << f))
			cpu_act_quantize_part(a, (enum cpu_actq)f, t0, t1, 0, a->k);
}

static void quantize_split(struct cpu_act *a, unsigned forms, int ith, int nth)
{
	for (int f = CPU_ACTQ_Q8_32; f <= CPU_ACTQ_Q8_256; f++)
		if (forms & (1u << f))
			cpu_act_quantize(a, (enum cpu_actq)f, ith, nth);
}

/*
 * Attention of tokens [t0, t1) of the chunk, query heads [h0, h1) (all
 * sharing one KV head) of layer l: their query rows are gathered so that
 * the key and value rows are read once for all of them.
 */
static void attend(struct backend_ctx *c, uint32_t l, uint32_t pos0, uint32_t t0, uint32_t t1, uint32_t h0,
                   uint32_t h1, float *scratch)
{
	const struct model_desc *d = &c->w->desc;
	uint32_t hd = d->head_dim, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd, nh = h1 - h0;
	uint32_t g = h0 / (d->n_heads / d->n_kv_heads), nq = (t1 - t0) * nh, lim[CPU_ATT_ROWS];
	float *qrows = scratch + (size_t)CPU_ATT_ROWS * c->n_ctx, *orows = qrows + (size_t)CPU_ATT_ROWS * hd;
	size_t layer_off = (size_t)l * c->n_ctx * kvd + (size_t)g * hd;

	for (uint32_t t = t0; t < t1; t++)
		for (uint32_t h = h0; h < h1; h++) {
			uint32_t a = (t - t0) * nh + (h - h0);
			memcpy(qrows + (size_t)a * hd, c->q + (size_t)t * qd + (size_t)h * hd,
			       sizeof(float) * hd);
			lim[a] = pos0 + t;
		}
	cpu_attention(nq, hd, qrows, hd, lim, c->k_cache + layer_off, c->v_cache + layer_off, kvd,
	              (float)(1.0 / sqrt((double)hd)), orows, hd, scratch);
	for (uint32_t t = t0; t < t1; t++)
		memcpy(c->att + (size_t)t * qd + (size_t)h0 * hd, orows + (size_t)(t - t0) * nh * hd,
		       sizeof(float) * nh * hd);
}

/*
 * Columns [r0, r1) of a (B, ld) output, split across threads in units of
 * `unit` columns so a thread's part covers whole quantisation blocks.
 */
static void split_units(uint32_t n, uint32_t unit, int ith, int nth, uint32_t *b, uint32_t *e)
{
	uint32_t nu = (n + unit - 1) / unit, ub, ue;
	split_range(nu, ith, nth, &ub, &ue);
	*b = ub * unit < n ? ub * unit : n;
	*e = ue * unit < n ? ue * unit : n;
}

/* The block size a form needs (1 for f32), as the unit of a fused quantisation. */
static uint32_t forms_unit(unsigned forms)
{
	if (forms & form_bit(CPU_ACTQ_Q8_256))
		return 256;
	if (forms & form_bit(CPU_ACTQ_Q8_32))
		return 32;
	return 1;
}

static void forward_chunk(struct fwd_job *job, uint32_t c0, uint32_t B, int ith, int nth)
{
	struct backend_ctx *c = job->c;
	const struct backend_weights *w = c->w;
	const struct model_desc *d = &w->desc;
	struct threadpool *tp = c->tp;
	const uint32_t E = d->n_embd, hd = d->head_dim, half = hd / 2, qd = d->n_heads * hd,
	               kvd = d->n_kv_heads * hd, F = d->n_ff;
	const uint32_t pos0 = job->pos + c0;
	float *att_scratch = c->att_scratch + (size_t)ith * c->att_scratch_floats;
	struct cpu_act a_x, a_att, a_ff;
	uint32_t t0, t1, r0, r1;

	cpu_act_init(&a_x, c->actq, B, E, c->xn, E);
	cpu_act_init(&a_att, c->actq, B, qd, c->att, qd);
	cpu_act_init(&a_ff, c->actq_ff, B, F, c->ff_g, F);

	/* Embedding rows and RoPE tables of this thread's tokens. */
	split_range(B, ith, nth, &t0, &t1);
	for (uint32_t t = t0; t < t1; t++) {
		int32_t tok = job->tokens[c0 + t];
		dtype_dequant(w->embd.type, w->embd.data + (size_t)tok * w->embd_row_bytes,
		              c->x + (size_t)t * E, E);
		float pf = (float)(pos0 + t);
		for (uint32_t i = 0; i < half; i++) {
			float ang = pf * w->inv_freq[i];
			c->rope_cos[(size_t)t * half + i] = cosf(ang);
			c->rope_sin[(size_t)t * half + i] = sinf(ang);
		}
	}

	for (uint32_t l = 0; l < d->n_layers; l++) {
		const struct cpu_layer *ly = &w->layers[l];
		uint16_t *kc = c->k_cache + (size_t)l * c->n_ctx * kvd,
		         *vc = c->v_cache + (size_t)l * c->n_ctx * kvd;

		/* Attention norm of this thread's tokens (it owns them since the last barrier). */
		for (uint32_t t = t0; t < t1; t++)
			cpu_rmsnorm(E, c->x + (size_t)t * E, ly->attn_norm, d->rms_eps,
			            c->xn + (size_t)t * E);
		quantize_rows(&a_x, ly->qkv_forms, t0, t1);
		threadpool_barrier(tp);

		/* Q, K, V by whole heads: each thread ropes and caches the heads it computed. */
		uint32_t n_units = d->n_heads + 2 * d->n_kv_heads, u0, u1;
		split_range(n_units, ith, nth, &u0, &u1);
		for (uint32_t u = u0; u < u1; u++) {
			const struct cpu_matrix *m;
			const float *bias;
			float *dst;
			uint32_t ld, r;
			int kind; /* 0 q, 1 k, 2 v */
			if (u < d->n_heads) {
				m = &ly->wq, bias = ly->bq, dst = c->q, ld = qd, r = u * hd, kind = 0;
			} else if (u < d->n_heads + d->n_kv_heads) {
				m = &ly->wk, bias = ly->bk, dst = c->k, ld = kvd, r = (u - d->n_heads) * hd,
				kind = 1;
			} else {
				m = &ly->wv, bias = ly->bv, dst = c->v, ld = kvd;
				r = (u - d->n_heads - d->n_kv_heads) * hd, kind = 2;
			}
			cpu_matmul(m->type, m->data, E, r, r + hd, &a_x, dst, ld);
			for (uint32_t t = 0; t < B; t++) {
				float *v = dst + (size_t)t * ld + r;
				if (bias)
					for (uint32_t i = 0; i < hd; i++)
						v[i] += bias[r + i];
				if (kind < 2)
					rope_apply(v, c->rope_cos + (size_t)t * half,
					           c->rope_sin + (size_t)t * half, hd, d->rope_layout);
				if (kind > 0)
					cpu_f32_to_f16(hd, v,
					               (kind == 1 ? kc : vc) + (size_t)(pos0 + t) * kvd + r);
			}
		}
		threadpool_barrier(tp);

		/*
		 * Attention in units of (token tile, KV head, subgroup of its query heads): a tile's rows
		 * share the key and value reads; subgroups split a KV head's queries when there are too few
		 * units to keep the threads busy (decode). The output projection's blocks are quantised by
		 * their producer when the heads cover whole blocks.
		 */
		uint32_t G = d->n_heads / d->n_kv_heads, n_sub = 1, sub = G;
		uint32_t tt = G >= CPU_ATT_ROWS ? 1 : CPU_ATT_ROWS / G;
		if (sub > CPU_ATT_ROWS) {
			n_sub = (G + CPU_ATT_ROWS - 1) / CPU_ATT_ROWS;
			sub = (G + n_sub - 1) / n_sub;
		}
		uint32_t n_tiles = (B + tt - 1) / tt;
		while ((uint64_t)n_tiles * d->n_kv_heads * n_sub < 2 * (uint64_t)nth && sub > 1) {
			n_sub++;
			sub = (G + n_sub - 1) / n_sub;
		}
		bool fuse_att = ly->wo.form != CPU_ACTQ_Q8_256 && hd % 32 == 0;
		split_range(n_tiles * d->n_kv_heads * n_sub, ith, nth, &u0, &u1);
		for (uint32_t u = u0; u < u1; u++) {
			uint32_t tile = u / (d->n_kv_heads * n_sub), rest = u % (d->n_kv_heads * n_sub);
			uint32_t g = rest / n_sub, sg = rest % n_sub;
			uint32_t ta = tile * tt, tb = ta + tt < B ? ta + tt : B;
			uint32_t ha = g * G + sg * sub, hb = ha + sub < (g + 1) * G ? ha + sub : (g + 1) * G;
			if (ha >= hb)
				continue;
			attend(c, l, pos0, ta, tb, ha, hb, att_scratch);
			if (fuse_att)
				cpu_act_quantize_part(&a_att, ly->wo.form, ta, tb, ha * hd, hb * hd);
		}
		threadpool_barrier(tp);
		if (!fuse_att) {
			quantize_split(&a_att, form_bit(ly->wo.form), ith, nth);
			threadpool_barrier(tp);
		}

		/* Output projection and residual, by rows. */
		split_units(E, 4, ith, nth, &r0, &r1);
		cpu_matmul(ly->wo.type, ly->wo.data, qd, r0, r1, &a_att, c->tmp, E);
		for (uint32_t t = 0; t < B; t++)
			for (uint32_t r = r0; r < r1; r++)
				c->x[(size_t)t * E + r] += c->tmp[(size_t)t * E + r];
		threadpool_barrier(tp);

		for (uint32_t t = t0; t < t1; t++)
			cpu_rmsnorm(E, c->x + (size_t)t * E, ly->ffn_norm, d->rms_eps, c->xn + (size_t)t * E);
		quantize_rows(&a_x, ly->gate_up_forms, t0, t1);
		threadpool_barrier(tp);

		/* Gate and up by rows in units of the down projection's blocks, which this thread then
		 * quantises. */
		uint32_t unit = forms_unit(form_bit(ly->down.form));
		bool fuse_ff = F % unit == 0;
		split_units(F, fuse_ff ? unit : 4, ith, nth, &r0, &r1);
		cpu_matmul(ly->gate.type, ly->gate.data, E, r0, r1, &a_x, c->ff_g, F);
		cpu_matmul(ly->up.type, ly->up.data, E, r0, r1, &a_x, c->ff_u, F);
		for (uint32_t t = 0; t < B && r0 < r1; t++)
			cpu_silu_mul(r1 - r0, c->ff_g + (size_t)t * F + r0, c->ff_u + (size_t)t * F + r0);
		if (fuse_ff)
			cpu_act_quantize_part(&a_ff, ly->down.form, 0, B, r0, r1);
		threadpool_barrier(tp);
		if (!fuse_ff) {
			quantize_split(&a_ff, form_bit(ly->down.form), ith, nth);
			threadpool_barrier(tp);
		}

		split_units(E, 4, ith, nth, &r0, &r1);
		cpu_matmul(ly->down.type, ly->down.data, F, r0, r1, &a_ff, c->tmp, E);
		for (uint32_t t = 0; t < B; t++)
			for (uint32_t r = r0; r < r1; r++)
				c->x[(size_t)t * E + r] += c->tmp[(size_t)t * E + r];
		threadpool_barrier(tp);
	}

	/* Logits: every token of the chunk, or only the prompt's last. */
	bool last_chunk = c0 + B == job->n;
	if (!job->all_logits && !last_chunk)
		return;
	uint32_t first = job->all_logits ? 0 : B - 1, n_out = B - first;
	struct cpu_act a_out;
	cpu_act_init(&a_out, c->actq, n_out, E, c->xn, E);
	split_range(n_out, ith, nth, &t0, &t1);
	for (uint32_t t = t0; t < t1; t++)
		cpu_rmsnorm(E, c->x + (size_t)(first + t) * E, w->output_norm, d->rms_eps,
		            c->xn + (size_t)t * E);
	quantize_rows(&a_out, form_bit(w->output.form), t0, t1);
	threadpool_barrier(tp);
	split_units(d->n_vocab, 4, ith, nth, &r0, &r1);
	float *dst = job->all_logits ? job->logits + (size_t)c0 * d->n_vocab : job->logits;
	cpu_matmul(w->output.type, w->output.data, E, r0, r1, &a_out, dst, d->n_vocab);
	/* The next chunk overwrites the activations the output matmul reads. */
	threadpool_barrier(tp);
}

static void forward_thread(void *arg, int ith, int nth)
{
	struct fwd_job *job = arg;
	uint32_t nb = job->c->n_batch;

	for (uint32_t c0 = 0; c0 < job->n; c0 += nb)
		forward_chunk(job, c0, job->n - c0 < nb ? job->n - c0 : nb, ith, nth);
}

static int cpu_forward(struct backend_ctx *c, const int32_t *tokens, uint32_t n, uint32_t pos, float *logits,
                       bool all_logits, char **cause)
{
	const struct model_desc *d = &c->w->desc;
	struct fwd_job job = {c, tokens, n, pos, logits, all_logits};

	if (n == 0)
		return error_set(cause, "forward: no tokens to run");
	if ((uint64_t)pos + n > c->n_ctx)
		return error_set(cause,
		                 "context full: %u tokens at position %u exceed the context of %u tokens", n,
		                 pos, c->n_ctx);
	for (uint32_t i = 0; i < n; i++)
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= d->n_vocab)
			return error_set(cause,
			                 "forward: token id %d (at %u) is outside the vocabulary of %u",
			                 tokens[i], i, d->n_vocab);
	threadpool_run(c->tp, forward_thread, &job);
	return 0;
}

/* --- device description ------------------------------------------------------------------------------ */

static int cpu_device_count(char **cause)
{
	(void)cause;
	return 1;
}

static int cpu_device_info(int index, struct backend_device_info *out, char **cause)
{
	FILE *f;
	char line[512];
	long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES),
	     psize = sysconf(_SC_PAGESIZE);

	if (index != 0)
		return error_set(cause, "cpu: no device %d (there is one, 0)", index);
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "CPU");
	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof line, f))
			if (strncmp(line, "model name", 10) == 0) {
				char *v = strchr(line, ':');
				if (v) {
					v += 1 + strspn(v + 1, " \t");
					v[strcspn(v, "\n")] = '\0';
					snprintf(out->name, sizeof out->name, "%s", v);
				}
				break;
			}
		fclose(f);
	}
	out->total_mem = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	out->free_mem = avail > 0 && psize > 0 ? (uint64_t)avail * (uint64_t)psize : 0;
	out->multiprocessors = threadpool_n_cores();
	return 0;
}

static void cpu_versions(char *buf, size_t size)
{
	snprintf(buf, size, "cpu kernels: %s (best here: %s), %d cores", cpu_simd_name(cpu_simd_active()),
	         cpu_simd_name(cpu_simd_best()), threadpool_n_cores());
}

static const struct backend_ops cpu_ops = {
        .name = "cpu",
        .device_count = cpu_device_count,
        .device_info = cpu_device_info,
        .versions = cpu_versions,
        .weights_load = cpu_weights_load,
        .weights_free = cpu_weights_free,
        .weights_bytes = cpu_weights_bytes,
        .ctx_new = cpu_ctx_new,
        .ctx_free = cpu_ctx_free,
        .forward = cpu_forward,
        .ctx_bytes = cpu_ctx_bytes,
};

const struct backend_ops *cpu_backend_get(void)
{
	return &cpu_ops;
}
