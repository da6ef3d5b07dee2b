/*
 * plan_host.h — the CUDA backend's pure arithmetic: device-memory arenas and
 * the context's buffer plan, launch shapes of the matrix-vector kernel,
 * split-K partitions of decode attention (flash-decoding), row tiles of the
 * dequantise-then-GEMM prefill path, the per-step parameter block, and the
 * sampler's order key and Philox4x32-10 generator. Header-only,
 * C-compatible, no CUDA headers: tests/unit/test_cuda_host.c runs it on the
 * CPU; functions marked CG_HD also run on the device (cuda/backend.cu).
 */
#ifndef DUET_CUDA_PLAN_HOST_H
#define DUET_CUDA_PLAN_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cuda/wformat_host.h"

/* --- arenas: one allocation carved into aligned pieces ---------------------------------------- */

struct cg_arena {
	uint64_t used; /* bytes so far, a multiple of CG_ALIGN */
	bool overflow; /* a size did not fit in 64 bits */
};

/* Offset of a new piece of `bytes` (rounded up to CG_ALIGN); 0-byte pieces take no room. */
static inline uint64_t cg_arena_take(struct cg_arena *a, uint64_t bytes)
{
	uint64_t at = a->used, r = cg_align_up(bytes);
	if (bytes > UINT64_MAX - CG_ALIGN || at > UINT64_MAX - r) {
		a->overflow = true;
		return 0;
	}
	a->used = at + r;
	return at;
}

/* Checked a * b for sizes; sets overflow and returns 0 when it does not fit. */
static inline uint64_t cg_mul(struct cg_arena *a, uint64_t x, uint64_t y)
{
	if (x != 0 && y > UINT64_MAX / x) {
		a->overflow = true;
		return 0;
	}
	return x * y;
}

/* --- fitting in device memory ------------------------------------------------------------------ */

/*
 * Whether `need` more bytes fit next to `in_use` bytes already taken, given
 * the device's free bytes and a cap on the backend's total (0 = none). The
 * free memory must also keep `reserve` bytes for the CUDA context's own needs.
 */
static inline bool cg_fits(uint64_t need, uint64_t in_use, uint64_t free_b, uint64_t cap, uint64_t reserve)
{
	if (need > free_b || free_b - need < reserve)
		return false;
	if (cap && (in_use > cap || need > cap - in_use))
		return false;
	return true;
}

/* "WHAT needs X GiB of GPU memory, Y GiB free / cap Z GiB" (or "/ no cap"). */
static inline void cg_fit_message(char *buf, size_t size, const char *what, uint64_t need, uint64_t in_use,
                                  uint64_t free_b, uint64_t cap)
{
	const double gib = 1024.0 * 1024.0 * 1024.0;
	char capbuf[64];
	if (cap)
		snprintf(capbuf, sizeof capbuf, "cap %.2f GiB (%.2f GiB of it in use)", (double)cap / gib,
		         (double)in_use / gib);
	else
		snprintf(capbuf, sizeof capbuf, "no cap");
	snprintf(buf, size, "%s needs %.2f GiB of GPU memory, %.2f GiB free / %s", what, (double)need / gib,
	         (double)free_b / gib, capbuf);
}

/* --- matrix-vector launch shape ------------------------------------------------------------------- */

/* Warps per block of the matvec kernel (256 threads). */
#define CG_MV_WARPS 8u

struct cg_mv_plan {
	uint32_t rows_per_warp; /* 1, 2 or 4 */
	uint32_t grid;          /* blocks; block b has rows [b * 8 * rows_per_warp, +8 * rows_per_warp) */
};

/*
 * A warp per row; more rows per warp only while the grid still has two
 * blocks per multiprocessor (fewer, fatter blocks stage the input once for
 * more rows).
 */
static inline void cg_mv_plan(uint32_t rows, uint32_t n_sm, struct cg_mv_plan *p)
{
	uint32_t rpw = 4;
	uint64_t want = 2 * (uint64_t)(n_sm ? n_sm : 1);
	while (rpw > 1 && ((uint64_t)rows + CG_MV_WARPS * rpw - 1) / (CG_MV_WARPS * rpw) < want)
		rpw /= 2;
	p->rows_per_warp = rpw;
	p->grid = (uint32_t)(((uint64_t)rows + CG_MV_WARPS * rpw - 1) / (CG_MV_WARPS * rpw));
}

/*
 * Shared memory of a staged matvec input of k floats: whole 128-byte rows,
 * because the XOR swizzle permutes the 16-byte slots within each row and
 * may move a slot of a partial last row past k.
 */
static inline uint64_t cg_mv_smem(uint32_t k)
{
	return ((uint64_t)k + 31) / 32 * 128;
}

/*
 * The shared-memory slot of 16-byte slot f of the staged input: lane l
 * reads slot (l + 32i) * chunk/4 + j, so without the swizzle a warp's reads
 * would all hit the same banks; XORing the slot's index within its
 * 128-byte row with the row number spreads them over all 8 slot positions.
 */
static inline CG_HD uint32_t cg_swz4(uint32_t f)
{
	return f ^ ((f >> 3) & 7u);
}

/* --- attention split-K (flash-decoding) ------------------------------------------------------------ */

/* Positions per tile of the attention kernel; split lengths are multiples of it. */
#define CG_ATTN_TILE       64u
#define CG_ATTN_MAX_SPLITS 128u
/* Threads of the attention kernel. */
#define CG_ATTN_THREADS 128u

/*
 * Splits per KV head for decoding (the grid's y): enough blocks to fill the
 * GPU twice over, never more than the context has tiles.
 */
static inline uint32_t cg_attn_max_splits(uint32_t n_ctx, uint32_t n_kv_heads, uint32_t n_sm)
{
	uint32_t kv = n_kv_heads ? n_kv_heads : 1;
	uint32_t s = (2 * (n_sm ? n_sm : 1) + kv - 1) / kv;
	uint32_t tiles = (n_ctx + CG_ATTN_TILE - 1) / CG_ATTN_TILE;
	if (s > CG_ATTN_MAX_SPLITS)
		s = CG_ATTN_MAX_SPLITS;
	if (s > tiles)
		s = tiles;
	return s ? s : 1;
}

/*
 * The split of `len` positions (len >= 1) among at most n_splits blocks:
 * split s covers [s * L, min((s + 1) * L, len)) for s < n_used; L is a
 * multiple of the tile; blocks s >= n_used have nothing. Computed on the
 * device from the current length, so one captured graph serves every step.
 */
static inline CG_HD void cg_attn_split(uint32_t len, uint32_t n_splits, uint32_t *L, uint32_t *n_used)
{
	uint32_t s = n_splits ? n_splits : 1;
	uint32_t per = (len + s - 1) / s;
	uint32_t l = (per + CG_ATTN_TILE - 1) / CG_ATTN_TILE * CG_ATTN_TILE;
	if (l == 0)
		l = CG_ATTN_TILE;
	*L = l;
	*n_used = (len + l - 1) / l;
}

/* Dynamic shared memory of the attention kernel for `group` query heads per KV head. */
static inline uint64_t cg_attn_smem(uint32_t group, uint32_t head_dim)
{
	return 4ull * (2ull * group * head_dim + (uint64_t)group * CG_ATTN_TILE + 3ull * group);
}

/* --- prefill GEMM tiles ---------------------------------------------------------------------------- */

/* Elements of the bf16 scratch a quantised matrix is dequantised into per GEMM (64 MiB). */
#define CG_GEMM_SCRATCH_CAP (32ull << 20)
/* Row tiles are multiples of this (keeps the output pointer 256-byte aligned). */
#define CG_GEMM_TILE_ALIGN 64u

/* Rows per dequantise-then-GEMM tile of a rows x k matrix. */
static inline uint32_t cg_gemm_tile_rows(uint32_t rows, uint32_t k, uint64_t cap_elems)
{
	if (k == 0 || (uint64_t)rows * k <= cap_elems)
		return rows;
	uint64_t r = cap_elems / k / CG_GEMM_TILE_ALIGN * CG_GEMM_TILE_ALIGN;
	if (r < CG_GEMM_TILE_ALIGN)
		r = CG_GEMM_TILE_ALIGN;
	return r < rows ? (uint32_t)r : rows;
}

/* --- the per-step parameter block (device memory, filled from pinned host memory) ----------------- */

/*
 * What one forward step or one sampling call reads on the device: copied
 * in one transfer before the kernels run, so a captured decode graph reads
 * the new position and token each replay. 64 bytes, then tokens[n_batch].
 */
struct cg_step_params {
	int32_t pos; /* position of tokens[0] = tokens already in the cache */
	int32_t n_tok;
	int32_t top_k;     /* sampling: 0 = off */
	float temperature; /* 0 = greedy */
	float top_p;
	float min_p;
	uint32_t seed_lo, seed_hi;
	uint32_t counter_lo, counter_hi;
	uint32_t logits_row; /* which row of the logits buffer sampling reads */
	uint32_t reserved[5];
};

/* --- the context's device memory ------------------------------------------------------------------- */

enum cg_buf {
	CG_BUF_KCACHE,    /* f16 (n_layers, n_ctx, kv_dim) */
	CG_BUF_VCACHE,    /* f16 (n_layers, n_ctx, kv_dim) */
	CG_BUF_X,         /* f32 (n_batch, n_embd) residual stream */
	CG_BUF_XN,        /* f32 (n_embd) normed row, when the matvec cannot stage its input */
	CG_BUF_XB,        /* bf16 (n_batch, max(n_embd, q_dim, n_ff)) GEMM input */
	CG_BUF_Q,         /* f32 (n_batch, q_dim) */
	CG_BUF_K,         /* f32 (n_batch, kv_dim) */
	CG_BUF_V,         /* f32 (n_batch, kv_dim) */
	CG_BUF_ATT,       /* f32 (n_batch, q_dim) */
	CG_BUF_G,         /* f32 (n_batch, n_ff) gate, then silu(gate) * up */
	CG_BUF_U,         /* f32 (n_batch, n_ff) up */
	CG_BUF_LOGITS,    /* f32 (n_logit_rows, n_vocab) */
	CG_BUF_PART_O,    /* f32 (n_heads, n_splits, head_dim) attention partials */
	CG_BUF_PART_ML,   /* f32 (n_heads, n_splits, 2) their max and sum */
	CG_BUF_SCRATCH,   /* bf16 (scratch_elems) dequantised weight tile */
	CG_BUF_WORKSPACE, /* cuBLASLt workspace */
	CG_BUF_PARAMS,    /* struct cg_step_params + int32 tokens[n_batch] */
	CG_BUF_SAMPLE,    /* int32 sampled token (+ padding) */
	CG_BUF_COUNT_
};

struct cg_ctx_dims {
	uint32_t n_embd, q_dim, kv_dim, n_ff, n_vocab, n_layers, n_heads, head_dim;
	uint32_t n_ctx, n_batch, n_logit_rows, n_splits;
	uint64_t scratch_elems, workspace_bytes;
};

struct cg_ctx_plan {
	uint64_t off[CG_BUF_COUNT_];
	uint64_t size[CG_BUF_COUNT_];
	uint64_t total;
};

static inline uint64_t cg_params_bytes(uint32_t n_batch)
{
	return sizeof(struct cg_step_params) + 4ull * n_batch;
}

/* 0, or -1 when a size overflows. */
static inline int cg_ctx_plan(const struct cg_ctx_dims *d, struct cg_ctx_plan *p)
{
	struct cg_arena a = {0, false};
	uint64_t nb = d->n_batch, wide = d->n_embd;

	if (d->q_dim > wide)
		wide = d->q_dim;
	if (d->n_ff > wide)
		wide = d->n_ff;
	uint64_t kv = cg_mul(&a, cg_mul(&a, (uint64_t)d->n_layers * d->n_ctx, d->kv_dim), 2);
	p->size[CG_BUF_KCACHE] = kv;
	p->size[CG_BUF_VCACHE] = kv;
	p->size[CG_BUF_X] = 4 * nb * d->n_embd;
	p->size[CG_BUF_XN] = 4ull * d->n_embd;
	p->size[CG_BUF_XB] = 2 * nb * wide;
	p->size[CG_BUF_Q] = 4 * nb * d->q_dim;
	p->size[CG_BUF_K] = 4 * nb * d->kv_dim;
	p->size[CG_BUF_V] = 4 * nb * d->kv_dim;
	p->size[CG_BUF_ATT] = 4 * nb * d->q_dim;
	p->size[CG_BUF_G] = 4 * nb * d->n_ff;
	p->size[CG_BUF_U] = 4 * nb * d->n_ff;
	p->size[CG_BUF_LOGITS] = cg_mul(&a, 4ull * d->n_logit_rows, d->n_vocab);
	p->size[CG_BUF_PART_O] = 4ull * d->n_heads * d->n_splits * d->head_dim;
	p->size[CG_BUF_PART_ML] = 4ull * d->n_heads * d->n_splits * 2;
	p->size[CG_BUF_SCRATCH] = cg_mul(&a, 2, d->scratch_elems);
	p->size[CG_BUF_WORKSPACE] = d->workspace_bytes;
	p->size[CG_BUF_PARAMS] = cg_params_bytes(d->n_batch);
	p->size[CG_BUF_SAMPLE] = 16;
	for (int b = 0; b < CG_BUF_COUNT_; b++)
		p->off[b] = cg_arena_take(&a, p->size[b]);
	p->total = a.used;
	return a.overflow ? -1 : 0;
}

/* --- sampling ---------------------------------------------------------------------------------------- */

/* Candidates the GPU sampler considers at most (top-k is capped here; 0 = this many). */
#define CG_SAMPLE_MAX_K   1024u
#define CG_SAMPLE_THREADS 1024u

/*
 * An order-preserving key of a float: larger float, larger key; NaN -> 0,
 * which no number has (-inf is 0x007fffff), so NaN is never a candidate.
 */
static inline CG_HD uint32_t cg_float_key(float f)
{
	uint32_t u;
#if defined(__CUDA_ARCH__)
	u = __float_as_uint(f);
#else
	memcpy(&u, &f, sizeof u);
#endif
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return 0;
	return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* Philox4x32-10 (Salmon et al., Random123): ctr and key in, 4 words out. */
static inline CG_HD void cg_philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4])
{
	uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
	uint32_t k0 = key_in[0], k1 = key_in[1];
	for (int round = 0; round < 10; round++) {
		if (round > 0) {
			k0 += 0x9E3779B9u;
			k1 += 0xBB67AE85u;
		}
		uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
		uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0, hi1 = (uint32_t)(p1 >> 32),
		         lo1 = (uint32_t)p1;
		uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
		c0 = n0;
		c1 = lo1;
		c2 = n2;
		c3 = lo0;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

/* The uniform double in [0, 1) (53 bits) of draw `counter` under `seed`. */
static inline CG_HD double cg_sample_uniform(uint64_t seed, uint64_t counter)
{
	uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
	uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
	uint32_t o[4];
	cg_philox4x32_10(ctr, key, o);
	uint64_t bits = ((uint64_t)(o[0] >> 5) << 26) | (o[1] >> 6);
	return (double)bits * (1.0 / 9007199254740992.0);
}

#endif
