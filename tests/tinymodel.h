/*
 * tinymodel.h — tiny random-weight llama/qwen2 GGUF models for the backend
 * tests (test_cpu_forward, test_cuda_runtime), header-only: a seeded
 * xorshift, random weights of about uniform(-1/sqrt(k), 1/sqrt(k)) in any
 * weight type (random quant bytes with scales chosen to give that size),
 * and a writer through infer/gguf_write.h. Different per-tensor-group types
 * let one model mix formats. Includers need infer/dtype.h, gguf_write.h and
 * util.h, which this header includes.
 */
#ifndef DUET_TESTS_TINYMODEL_H
#define DUET_TESTS_TINYMODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "infer/dtype.h"
#include "infer/gguf_write.h"
#include "infer/util.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

/* Restart the xorshift sequence (each test program picks its own seed). */
__attribute__((unused)) static void tiny_rng_seed(uint64_t seed)
{
	rng_state = seed;
}

__attribute__((unused)) static uint32_t rng_u32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

__attribute__((unused)) static float rng_uniform(float lo, float hi)
{
	return lo + (hi - lo) * (float)(rng_u32() & 0xffffff) / (float)0x1000000;
}

struct tiny_spec {
	const char *arch; /* "llama" or "qwen2" */
	uint32_t n_embd, n_layers, n_ff, n_heads, n_kv_heads, n_vocab;
	bool bias, tied;
	uint32_t t_embd, t_output, t_qkv, t_o, t_gate_up, t_down;
};

__attribute__((unused)) static void put_f16(uint8_t *p, float f)
{
	uint16_t h = dtype_f32_to_f16(f);
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(h >> 8);
}

/*
 * Random weights of about uniform(-a, a), a = 1 / sqrt(k): random quant
 * bytes with scales chosen so the dequantised values have that size.
 */
__attribute__((unused)) static void *random_matrix(uint32_t type, uint32_t k, uint32_t rows)
{
	const struct dtype_traits *tr = dtype_traits(type);
	uint64_t n_bytes;
	float a = 1.0f / sqrtf((float)k);

	dtype_bytes(type, (uint64_t)k * rows, &n_bytes);
	uint8_t *w = xmalloc((size_t)n_bytes);
	if (tr->block_elems == 1) {
		for (uint64_t i = 0; i < (uint64_t)k * rows; i++) {
			float f = rng_uniform(-a, a);
			uint16_t h = type == DTYPE_F16 ? dtype_f32_to_f16(f) : dtype_f32_to_bf16(f);
			if (type == DTYPE_F32)
				memcpy(w + 4 * i, &f, 4);
			else
				memcpy(w + 2 * i, &h, 2);
		}
		return w;
	}
	for (uint64_t i = 0; i < n_bytes; i++)
		w[i] = (uint8_t)rng_u32();
	for (uint64_t b = 0; b < n_bytes / tr->block_bytes; b++) {
		uint8_t *blk = w + b * tr->block_bytes;
		switch (type) {
		case DTYPE_Q4_0:
			put_f16(blk, a / 4);
			break;
		case DTYPE_Q4_1:
			put_f16(blk, a / 8);
			put_f16(blk + 2, -a);
			break;
		case DTYPE_Q5_0:
			put_f16(blk, a / 8);
			break;
		case DTYPE_Q5_1:
			put_f16(blk, a / 16);
			put_f16(blk + 2, -a);
			break;
		case DTYPE_Q8_0:
			put_f16(blk, a / 64);
			break;
		case DTYPE_Q2_K:
			put_f16(blk + 80, a / 12);
			put_f16(blk + 82, a / 8);
			break;
		case DTYPE_Q3_K:
			put_f16(blk + 108, a / 64);
			break;
		case DTYPE_Q4_K:
			put_f16(blk, a / 240);
			put_f16(blk + 2, a / 32);
			break;
		case DTYPE_Q5_K:
			put_f16(blk, a / 480);
			put_f16(blk + 2, a / 32);
			break;
		case DTYPE_Q6_K:
			put_f16(blk + 208, a / 1024);
			break;
		}
	}
	return w;
}

__attribute__((unused)) static float *random_floats(size_t n, float lo, float hi)
{
	float *v = xmalloc(sizeof(float) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		v[i] = rng_uniform(lo, hi);
	return v;
}

/* Every buffer handed to the writer, freed after the write. */
struct keep {
	void *p[256];
	int n;
};

__attribute__((unused)) static void *kept(struct keep *k, void *p)
{
	k->p[k->n++] = p;
	return p;
}

__attribute__((unused)) static void add_matrix(struct gguf_writer *g, struct keep *kp, const char *name, uint32_t type, uint32_t k,
                       uint32_t rows)
{
	uint64_t ne[2] = {k, rows};
	gguf_writer_add_tensor(g, name, type, 2, ne, kept(kp, random_matrix(type, k, rows)));
}

__attribute__((unused)) static void add_vector(struct gguf_writer *g, struct keep *kp, const char *name, uint32_t n, float lo,
                       float hi)
{
	uint64_t ne[1] = {n};
	gguf_writer_add_tensor(g, name, DTYPE_F32, 1, ne, kept(kp, random_floats(n, lo, hi)));
}

__attribute__((unused)) static int tiny_model_write(const struct tiny_spec *s, uint32_t n_ctx, const char *path, char **cause)
{
	struct gguf_writer *g = gguf_writer_new();
	struct keep kp = {.n = 0};
	char key[128];
	uint32_t hd = s->n_embd / s->n_heads, kvd = s->n_kv_heads * hd;
	int rc;

	gguf_writer_add_str(g, "general.architecture", s->arch);
	gguf_writer_add_str(g, "general.name", "tiny random");
#define ARCH_KEY(suffix) (snprintf(key, sizeof key, "%s.%s", s->arch, suffix), key)
	gguf_writer_add_u32(g, ARCH_KEY("embedding_length"), s->n_embd);
	gguf_writer_add_u32(g, ARCH_KEY("block_count"), s->n_layers);
	gguf_writer_add_u32(g, ARCH_KEY("feed_forward_length"), s->n_ff);
	gguf_writer_add_u32(g, ARCH_KEY("attention.head_count"), s->n_heads);
	gguf_writer_add_u32(g, ARCH_KEY("attention.head_count_kv"), s->n_kv_heads);
	gguf_writer_add_u32(g, ARCH_KEY("context_length"), n_ctx);
	gguf_writer_add_f32(g, ARCH_KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
	gguf_writer_add_f32(g, ARCH_KEY("rope.freq_base"), 10000.0f);
#undef ARCH_KEY
	add_matrix(g, &kp, "token_embd.weight", s->t_embd, s->n_embd, s->n_vocab);
	add_vector(g, &kp, "output_norm.weight", s->n_embd, 0.8f, 1.2f);
	if (!s->tied)
		add_matrix(g, &kp, "output.weight", s->t_output, s->n_embd, s->n_vocab);
	for (uint32_t l = 0; l < s->n_layers; l++) {
#define NAME(suffix) (snprintf(key, sizeof key, "blk.%u.%s", l, suffix), key)
		add_vector(g, &kp, NAME("attn_norm.weight"), s->n_embd, 0.8f, 1.2f);
		add_matrix(g, &kp, NAME("attn_q.weight"), s->t_qkv, s->n_embd, s->n_embd);
		add_matrix(g, &kp, NAME("attn_k.weight"), s->t_qkv, s->n_embd, kvd);
		add_matrix(g, &kp, NAME("attn_v.weight"), s->t_qkv, s->n_embd, kvd);
		if (s->bias) {
			add_vector(g, &kp, NAME("attn_q.bias"), s->n_embd, -0.5f, 0.5f);
			add_vector(g, &kp, NAME("attn_k.bias"), kvd, -0.5f, 0.5f);
			add_vector(g, &kp, NAME("attn_v.bias"), kvd, -0.5f, 0.5f);
		}
		add_matrix(g, &kp, NAME("attn_output.weight"), s->t_o, s->n_embd, s->n_embd);
		add_vector(g, &kp, NAME("ffn_norm.weight"), s->n_embd, 0.8f, 1.2f);
		add_matrix(g, &kp, NAME("ffn_gate.weight"), s->t_gate_up, s->n_embd, s->n_ff);
		add_matrix(g, &kp, NAME("ffn_up.weight"), s->t_gate_up, s->n_embd, s->n_ff);
		add_matrix(g, &kp, NAME("ffn_down.weight"), s->t_down, s->n_ff, s->n_embd);
#undef NAME
	}
	rc = gguf_writer_write(g, path, cause);
	gguf_writer_free(g);
	for (int i = 0; i < kp.n; i++)
		free(kp.p[i]);
	return rc;
}

#endif
