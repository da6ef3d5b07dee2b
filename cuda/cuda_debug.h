/*
 * cuda_debug.h — single operations of the CUDA backend, for tests
 * (tests/unit/test_cuda_runtime.c) and the device check script: each runs
 * one kernel (or the prefill GEMM path) of the backend on host arrays and
 * copies the result back, so it can be compared with the CPU backend's
 * kernels and with plain references. Reached through
 * cuda_backend_get()->cuda_debug; C-compatible, no CUDA headers.
 *
 * Every function returns 0, or -1 with *cause naming the CUDA call that
 * failed. They allocate and free their own device memory on `device`, use
 * their own stream, and are thread-safe. Not for production paths: they
 * synchronise and copy everything.
 */
#ifndef DUET_CUDA_CUDA_DEBUG_H
#define DUET_CUDA_CUDA_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backend_ctx;
struct backend_weights;
struct backend_sample_params;

enum cuda_rope_layout_dbg { CUDA_DBG_ROPE_HALF = 0, CUDA_DBG_ROPE_ADJACENT = 1 };

struct cuda_debug_ops {
	/*
	 * A rows x k weight stored as GGUF `type` (data: rows back to back as
	 * in the file), repacked as weights_load does (quant_bits 0, 8 or 4,
	 * keep8 for the output projection's rule), dequantised on the GPU into
	 * out (rows * k floats). Lossless formats must equal dtype_dequant bit
	 * for bit. *fmt_name (may be NULL) receives the GPU format's name.
	 */
	int (*dequant)(int device, uint32_t type, const void *data, uint32_t rows, uint32_t k, int quant_bits,
	               bool keep8, float *out, const char **fmt_name, char **cause);
	/*
	 * out[t * rows + r] = dot(row r of the weight, input row t) for
	 * t < n_tok, with the input rows first RMS-normalised by norm_w (k
	 * floats, eps) unless norm_w is NULL. n_tok == 1 runs the decode
	 * matvec kernel (staged = false forces its unstaged variant: input read
	 * from global memory, the norm by a separate kernel); n_tok > 1 the
	 * prefill path: norm to bf16, then dequantise to bf16 tiles of at most
	 * tile_cap elements (0 = the backend's) and cuBLASLt.
	 */
	int (*matmul)(int device, uint32_t type, const void *data, uint32_t rows, uint32_t k, int quant_bits,
	              const float *x, uint32_t n_tok, const float *norm_w, float eps, bool staged,
	              uint64_t tile_cap, float *out, char **cause);
	/* out[r] = silu(gate_r . x) * (up_r . x), the fused decode kernel (both weights of `type`). */
	int (*matvec_glu)(int device, uint32_t type, const void *gate, const void *up, uint32_t rows,
	                  uint32_t k, const float *x, float *out, char **cause);
	/* out = x * (1 / sqrt(mean(x^2) + eps)) * w, per row of n. */
	int (*rmsnorm)(int device, const float *x, const float *w, uint32_t n_rows, uint32_t n, float eps,
	               float *out, char **cause);
	/*
	 * The QKV epilogue of n_tok tokens at positions pos..pos+n_tok-1: bias
	 * (NULL = none) added, RoPE on q (in place) and k, then k and v rounded
	 * to f16 and written to cache rows pos.. of kc and vc (f16 bits,
	 * n_ctx x kv_dim each, other rows left as given).
	 */
	int (*rope_kv)(int device, float *q, const float *k, const float *v, const float *bq, const float *bk,
	               const float *bv, uint32_t n_tok, uint32_t pos, uint32_t n_heads, uint32_t n_kv_heads,
	               uint32_t head_dim, float theta, int layout, uint32_t n_ctx, uint16_t *kc, uint16_t *vc,
	               char **cause);
	/*
	 * Causal attention of n_tok query rows (q: n_tok x n_heads*head_dim,
	 * already rotated) at positions pos.. over f16 caches kc, vc
	 * (n_ctx x n_kv_heads*head_dim, rows 0..pos+n_tok-1 used). n_splits 1
	 * runs the single-pass kernel; more run split-K partials and the
	 * combine (n_tok must then be 1, as in decoding).
	 */
	int (*attention)(int device, const float *q, const uint16_t *kc, const uint16_t *vc, uint32_t n_tok,
	                 uint32_t pos, uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim,
	                 uint32_t n_ctx, uint32_t n_splits, float *out, char **cause);
	/* The GPU sampler on one row of logits. */
	int (*sample)(int device, const float *logits, uint32_t n_vocab,
	              const struct backend_sample_params *sp, int32_t *token, char **cause);
	/*
	 * Decode steps of a context replay a captured CUDA graph unless turned
	 * off (or DUET_CUDA_GRAPHS=0 at ctx_new). set_on 1 or 0 turns graphs
	 * on or off (a new capture at the next decode step), -1 only asks.
	 * Returns 1 when a graph is in use, 0 when off or not captured yet, -1
	 * when capture failed (decode then runs eagerly; *note, if not NULL,
	 * says why; owned by c).
	 */
	int (*ctx_graphs)(struct backend_ctx *c, int set_on, const char **note);
	/* The GPU format ("bf16", "q8", "q4k", ...) of a weight of the model ("blk.0.attn_q.weight"), or
	 * NULL. */
	const char *(*weight_format)(const struct backend_weights *w, const char *name);
};

#endif
