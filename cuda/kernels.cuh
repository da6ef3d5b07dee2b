/*
 * kernels.cuh — the CUDA backend's kernels, included once by
 * cuda/backend.cu (one translation unit, so that nothing but
 * cuda_backend_get has external linkage). Everything is static: nvcc
 * gives anonymous namespaces external linkage under generated names. Weight
 * decoding is cuda/wformat_host.h's CG_HD code, the attention split
 * arithmetic cuda/plan_host.h's, so the host tests cover both.
 *
 * Numerics follow the CPU backend (infer/backend_cpu.c): RMSNorm sums
 * squares in double, scale = 1 / sqrtf(mean + eps), y = (x * scale) * w;
 * RoPE angles pos * inv_freq in float, rotations without fused multiply-add;
 * SiLU g / (1 + expf(-g)) * u; K and V rounded to f16 (nearest even). Dot
 * products accumulate in f32 in a fixed order (lane-strided chunks, then a
 * butterfly), so results are deterministic run to run.
 */
#ifndef DUET_CUDA_KERNELS_CUH
#define DUET_CUDA_KERNELS_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>

#include "cuda/plan_host.h"
#include "cuda/wformat_host.h"

/* --- a weight matrix as the kernels see it -------------------------------------------------------- */

struct dmat {
	int fmt; /* enum cg_fmt */
	uint32_t rows, k;
	const uint8_t *c[CG_COMP_COUNT_]; /* component bases (device), NULL when absent */
	uint64_t row_bytes[CG_COMP_COUNT_];
};

template <int FMT> struct fmt_chunk {
	static constexpr int value = (FMT == CG_FMT_BF16 || FMT == CG_FMT_F16) ? 8
	                             : FMT == CG_FMT_Q8                        ? 16
	                                                                       : 32;
};

union bytes16 {
	uint4 v;
	uint8_t b[16];
};

union bytes8 {
	uint2 v;
	uint8_t b[8];
};

static __device__ __forceinline__ uint16_t ld_u16(const uint8_t *p)
{
	return __ldg(reinterpret_cast<const unsigned short *>(p));
}

/* Chunk c of row r, decoded (fmt_chunk<FMT> floats). 16-byte loads: components are 16-byte aligned per row.
 */
template <int FMT>
static __device__ __forceinline__ void decode_chunk(const dmat &m, uint32_t r, uint32_t c, float *out)
{
	const uint8_t *q = m.c[CG_COMP_Q] + (uint64_t)r * m.row_bytes[CG_COMP_Q];
	bytes16 u;
	u.v = __ldg(reinterpret_cast<const uint4 *>(q) + c);
	if constexpr (FMT == CG_FMT_BF16) {
		cg_decode_bf16(u.b, out);
	} else if constexpr (FMT == CG_FMT_F16) {
		cg_decode_f16(u.b, out);
	} else if constexpr (FMT == CG_FMT_Q8) {
		const uint8_t *s = m.c[CG_COMP_S] + (uint64_t)r * m.row_bytes[CG_COMP_S];
		cg_decode_q8(u.b, cg_f16_to_f32(ld_u16(s + 2 * (c / 2))), out);
	} else if constexpr (FMT == CG_FMT_Q4) {
		const uint8_t *s = m.c[CG_COMP_S] + (uint64_t)r * m.row_bytes[CG_COMP_S];
		cg_decode_q4(u.b, cg_f16_to_f32(ld_u16(s + 2 * c)), out);
	} else if constexpr (FMT == CG_FMT_Q4K) {
		const uint8_t *s = m.c[CG_COMP_S] + (uint64_t)r * m.row_bytes[CG_COMP_S];
		const uint8_t *d = m.c[CG_COMP_D] + (uint64_t)r * m.row_bytes[CG_COMP_D];
		uint32_t sb = c / 8, j = c % 8;
		float d1, m1;
		cg_q4k_factors(ld_u16(d + 4 * sb), ld_u16(d + 4 * sb + 2), __ldg(s + 16 * sb + j),
		               __ldg(s + 16 * sb + 8 + j), &d1, &m1);
		cg_decode_q4k(u.b, d1, m1, out);
	} else {
		static_assert(FMT == CG_FMT_Q6K, "unknown format");
		const uint8_t *s = m.c[CG_COMP_S] + (uint64_t)r * m.row_bytes[CG_COMP_S];
		const uint8_t *d = m.c[CG_COMP_D] + (uint64_t)r * m.row_bytes[CG_COMP_D];
		const uint8_t *h = m.c[CG_COMP_H] + (uint64_t)r * m.row_bytes[CG_COMP_H];
		bytes8 hb;
		hb.v = __ldg(reinterpret_cast<const uint2 *>(h) + c);
		float dd = cg_f16_to_f32(ld_u16(d + 2 * (c / 8)));
		float dl0 = dd * (float)(int8_t)__ldg(s + 2 * c),
		      dl1 = dd * (float)(int8_t)__ldg(s + 2 * c + 1);
		cg_decode_q6k(u.b, hb.b, dl0, dl1, out);
	}
}

/* --- reductions ------------------------------------------------------------------------------------- */

static __device__ __forceinline__ float warp_sum(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

static __device__ __forceinline__ double warp_sum_d(double v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

static __device__ __forceinline__ float warp_max(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

/* Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it. */
static __device__ double block_sum_d(double v)
{
	__shared__ double part[32];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_sum_d(v);
	__syncthreads(); /* part may still be read by a previous call */
	if (lane == 0)
		part[warp] = v;
	__syncthreads();
	double t = 0;
	for (int i = 0; i < nw; i++)
		t += part[i];
	return t;
}

/* 1 / sqrt(mean(x^2) + eps) of n floats (n % 4 == 0, 16-byte aligned), for every thread of the block. */
static __device__ float rms_scale(const float *x, uint32_t n, float eps)
{
	const float4 *x4 = reinterpret_cast<const float4 *>(x);
	double ss = 0;
	for (uint32_t f = threadIdx.x; f < n / 4; f += blockDim.x) {
		float4 v = x4[f];
		ss += (double)v.x * v.x + (double)v.y * v.y + (double)v.z * v.z + (double)v.w * v.w;
	}
	ss = block_sum_d(ss);
	float mean = (float)(ss / n);
	return 1.0f / sqrtf(mean + eps);
}

/* --- stores of the GEMM input type ------------------------------------------------------------------ */

static __device__ __forceinline__ void store_val(float *p, float v)
{
	*p = v;
}

static __device__ __forceinline__ void store_val(__nv_bfloat16 *p, float v)
{
	*p = __float2bfloat16_rn(v);
}

/* --- matrix times vector (decode) ------------------------------------------------------------------- */

/*
 * y[r] (=, or += when accumulate) dot(row r of a, x) for every row; with
 * GLU, y[r] = silu(a_r . x) * (b_r . x). Launch: grid cg_mv_plan's, 256
 * threads, dynamic shared memory cg_mv_smem(k) when staged.
 *
 * Staged: the block first copies x (RMS-normalised by norm_w when given)
 * into shared memory, 16-byte slots XOR-swizzled within each 128-byte row
 * so that the lanes' chunk reads (lane stride = one chunk) spread over all
 * banks. Unstaged (k too large for shared memory): x is read from global
 * memory and must already be normalised (norm_w NULL).
 */
struct mv_args {
	dmat a, b;
	const float *x;
	const float *norm_w;
	float eps;
	int staged;
	int accumulate;
	uint32_t rows_per_warp;
	float *y;
};

template <int FMT, bool GLU> static __global__ void __launch_bounds__(256) k_matvec(const mv_args p)
{
	extern __shared__ float4 xs4[];
	constexpr int CH = fmt_chunk<FMT>::value;
	const uint32_t k = p.a.k, n4 = k / 4, nc = k / CH;
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const float4 *xg4 = reinterpret_cast<const float4 *>(p.x);

	if (p.staged) {
		float scale = p.norm_w ? rms_scale(p.x, k, p.eps) : 1.0f;
		const float4 *w4 = reinterpret_cast<const float4 *>(p.norm_w);
		for (uint32_t f = threadIdx.x; f < n4; f += blockDim.x) {
			float4 v = xg4[f];
			if (p.norm_w) {
				float4 w = w4[f];
				v.x = (v.x * scale) * w.x;
				v.y = (v.y * scale) * w.y;
				v.z = (v.z * scale) * w.z;
				v.w = (v.w * scale) * w.w;
			}
			xs4[cg_swz4(f)] = v;
		}
		__syncthreads();
	}
	for (uint32_t i = 0; i < p.rows_per_warp; i++) {
		const uint32_t r = (blockIdx.x * p.rows_per_warp + i) * CG_MV_WARPS + warp;
		if (r >= p.a.rows)
			break; /* warp-uniform; no barrier follows */
		float acc = 0.0f, acc2 = 0.0f;
#pragma unroll 2
		for (uint32_t c = lane; c < nc; c += 32) {
			float w[CH], x[CH];
			decode_chunk<FMT>(p.a, r, c, w);
#pragma unroll
			for (int j = 0; j < CH / 4; j++) {
				uint32_t f = c * (CH / 4) + j;
				float4 v = p.staged ? xs4[cg_swz4(f)] : xg4[f];
				x[4 * j] = v.x;
				x[4 * j + 1] = v.y;
				x[4 * j + 2] = v.z;
				x[4 * j + 3] = v.w;
			}
#pragma unroll
			for (int j = 0; j < CH; j++)
				acc = fmaf(w[j], x[j], acc);
			if constexpr (GLU) {
				decode_chunk<FMT>(p.b, r, c, w);
#pragma unroll
				for (int j = 0; j < CH; j++)
					acc2 = fmaf(w[j], x[j], acc2);
			}
		}
		acc = warp_sum(acc);
		if constexpr (GLU)
			acc2 = warp_sum(acc2);
		if (lane == 0) {
			float out = acc;
			if constexpr (GLU)
				out = acc / (1.0f + expf(-acc)) * acc2;
			if (p.accumulate)
				p.y[r] += out;
			else
				p.y[r] = out;
		}
	}
}

/* --- dequantisation (embedding rows, GEMM tiles) ---------------------------------------------------- */

/*
 * out[i * ld + e] = element e of row (ids ? ids[i] : r0 + i), i < n_rows.
 * One thread per chunk, grid-stride.
 */
template <int FMT, typename OUT>
static __global__ void __launch_bounds__(256)
        k_dequant(const dmat m, const int32_t *ids, uint32_t r0, uint32_t n_rows, OUT *out, uint64_t ld)
{
	constexpr int CH = fmt_chunk<FMT>::value;
	const uint32_t nc = m.k / CH;
	const uint64_t total = (uint64_t)n_rows * nc;
	for (uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total;
	     t += (uint64_t)gridDim.x * blockDim.x) {
		uint32_t i = (uint32_t)(t / nc), c = (uint32_t)(t % nc);
		uint32_t r = ids ? (uint32_t)ids[i] : r0 + i;
		float w[CH];
		decode_chunk<FMT>(m, r, c, w);
		OUT *o = out + i * ld + (uint64_t)c * CH;
#pragma unroll
		for (int j = 0; j < CH; j++)
			store_val(o + j, w[j]);
	}
}

/* --- RMSNorm of rows (prefill; decode when the matvec cannot stage) --------------------------------- */

/* out row t = rmsnorm(x row t) * w; grid n_rows, 256 threads; n % 4 == 0. */
template <typename OUT>
static __global__ void __launch_bounds__(256)
        k_rmsnorm(const float *x, const float *w, uint32_t n, float eps, OUT *out)
{
	const float *xr = x + (uint64_t)blockIdx.x * n;
	OUT *o = out + (uint64_t)blockIdx.x * n;
	float scale = rms_scale(xr, n, eps);
	for (uint32_t i = threadIdx.x; i < n; i += blockDim.x) {
		float v = xr[i] * scale;
		store_val(o + i, v * w[i]);
	}
}

/* --- elementwise ---------------------------------------------------------------------------------- */

template <typename OUT>
static __global__ void __launch_bounds__(256) k_silu_mul(const float *g, const float *u, uint64_t n, OUT *out)
{
	for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (uint64_t)gridDim.x * blockDim.x) {
		float a = g[i];
		store_val(out + i, a / (1.0f + expf(-a)) * u[i]);
	}
}

static __global__ void __launch_bounds__(256) k_to_bf16(const float *x, uint64_t n, __nv_bfloat16 *out)
{
	for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (uint64_t)gridDim.x * blockDim.x)
		out[i] = __float2bfloat16_rn(x[i]);
}

/* --- bias, RoPE and the KV-cache write ------------------------------------------------------------ */

struct rope_args {
	float *q;                  /* (n_tok, q_dim), rotated in place */
	const float *k, *v;        /* (n_tok, kv_dim) */
	const float *bq, *bk, *bv; /* NULL without qkv bias */
	const float *inv_freq;     /* (head_dim / 2) */
	const int32_t *d_pos;      /* position of token 0 */
	uint32_t n_heads, n_kv, hd, n_ctx;
	int adjacent;    /* ROPE_LAYOUT_ADJACENT: pairs (2i, 2i+1), else (i, i + hd/2) */
	__half *kc, *vc; /* this layer's cache rows (n_ctx, kv_dim) */
};

/* grid n_tok, 128 threads. */
static __global__ void __launch_bounds__(128) k_rope_kv(const rope_args a)
{
	const uint32_t t = blockIdx.x;
	const int32_t pos = *a.d_pos + (int32_t)t;
	if (pos < 0 || (uint32_t)pos >= a.n_ctx)
		return; /* the host checks; never write outside the cache */
	const uint32_t half = a.hd / 2, qd = a.n_heads * a.hd, kvd = a.n_kv * a.hd;
	const float pf = (float)pos;
	float *qrow = a.q + (uint64_t)t * qd;
	const float *krow = a.k + (uint64_t)t * kvd, *vrow = a.v + (uint64_t)t * kvd;
	__half *kout = a.kc + (uint64_t)pos * kvd, *vout = a.vc + (uint64_t)pos * kvd;

	for (uint32_t idx = threadIdx.x; idx < (a.n_heads + a.n_kv) * half; idx += blockDim.x) {
		uint32_t hh = idx / half, i = idx % half;
		bool isq = hh < a.n_heads;
		uint32_t base = (isq ? hh : hh - a.n_heads) * a.hd;
		uint32_t ia = base + (a.adjacent ? 2 * i : i),
		         ib = base + (a.adjacent ? 2 * i + 1 : i + half);
		const float *src = isq ? qrow : krow;
		const float *bias = isq ? a.bq : a.bk;
		float x0 = src[ia], x1 = src[ib];
		if (bias) {
			x0 += bias[ia];
			x1 += bias[ib];
		}
		float ang = __fmul_rn(pf, a.inv_freq[i]);
		float cs = cosf(ang), sn = sinf(ang);
		float r0 = __fsub_rn(__fmul_rn(x0, cs), __fmul_rn(x1, sn));
		float r1 = __fadd_rn(__fmul_rn(x1, cs), __fmul_rn(x0, sn));
		if (isq) {
			qrow[ia] = r0;
			qrow[ib] = r1;
		} else {
			kout[ia] = __float2half_rn(r0);
			kout[ib] = __float2half_rn(r1);
		}
	}
	for (uint32_t i = threadIdx.x; i < kvd; i += blockDim.x) {
		float v = vrow[i];
		if (a.bv)
			v += a.bv[i];
		vout[i] = __float2half_rn(v);
	}
}

/* --- attention -------------------------------------------------------------------------------------- */

struct attn_args {
	const float *q;        /* (n_tok, q_dim), rotated */
	const __half *kc, *vc; /* this layer's cache (n_ctx, kv_dim) */
	const int32_t *d_pos;  /* position of query row 0; row t sees positions 0..pos+t */
	uint32_t n_heads, n_kv, hd, n_ctx;
	uint32_t n_splits; /* gridDim.y */
	float scale;       /* 1 / sqrt(head_dim) */
	float *out;        /* (n_tok, q_dim), when n_splits == 1 */
	float *part_o;     /* (n_tok, n_heads, n_splits, hd), when n_splits > 1 */
	float *part_ml;    /* (n_tok, n_heads, n_splits, 2) */
};

/*
 * One block per (KV head g, split s, query row t), CG_ATTN_THREADS threads,
 * dynamic shared memory cg_attn_smem(group, hd). The block serves the
 * `group` query heads that share KV head g, so each key and value row is
 * read once for all of them. Positions go in tiles of CG_ATTN_TILE: scores
 * (a warp per position, lanes over dimension pairs), an online-softmax
 * update per head, then the weighted values accumulated in shared memory.
 * NP: dimension pairs per lane (head_dim <= 64 * NP).
 */
template <int NP> static __global__ void __launch_bounds__(CG_ATTN_THREADS) k_attn(const attn_args a)
{
	extern __shared__ float sm[];
	const uint32_t G = a.n_heads / a.n_kv, hd = a.hd, hd2 = hd / 2, kvd = a.n_kv * hd,
	               qd = a.n_heads * hd;
	const uint32_t g = blockIdx.x, s = blockIdx.y, t = blockIdx.z, h0 = g * G, S = a.n_splits;
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
	float *qs = sm;                       /* (G, hd), pre-scaled */
	float *acc = qs + G * hd;             /* (G, hd) */
	float *sc = acc + G * hd;             /* (G, TILE) scores, then probabilities */
	float *m_run = sc + G * CG_ATTN_TILE; /* (G) */
	float *l_run = m_run + G;             /* (G) */
	float *alpha = l_run + G;             /* (G) */

	const int32_t len_i = *a.d_pos + (int32_t)t + 1;
	const uint32_t len = len_i < 1 ? 1u : ((uint32_t)len_i > a.n_ctx ? a.n_ctx : (uint32_t)len_i);
	uint32_t L, n_used;
	cg_attn_split(len, S, &L, &n_used);
	const uint32_t p0 = s * L;
	if (s >= n_used)
		return; /* the combine reads splits < n_used only */
	const uint32_t p1 = p0 + L < len ? p0 + L : len;

	const float *qrow = a.q + (uint64_t)t * qd + (uint64_t)h0 * hd;
	for (uint32_t i = threadIdx.x; i < G * hd; i += blockDim.x) {
		qs[i] = qrow[i] * a.scale;
		acc[i] = 0.0f;
	}
	for (uint32_t i = threadIdx.x; i < G; i += blockDim.x) {
		m_run[i] = -INFINITY;
		l_run[i] = 0.0f;
	}
	__syncthreads();

	const __half *kbase = a.kc + (uint64_t)g * hd, *vbase = a.vc + (uint64_t)g * hd;
	for (uint32_t ts = p0; ts < p1; ts += CG_ATTN_TILE) {
		const uint32_t nt = p1 - ts < CG_ATTN_TILE ? p1 - ts : CG_ATTN_TILE;
		for (uint32_t j = warp; j < nt; j += nw) {
			const __half2 *kr =
			        reinterpret_cast<const __half2 *>(kbase + (uint64_t)(ts + j) * kvd);
			float2 kk[NP];
#pragma unroll
			for (int i = 0; i < NP; i++) {
				uint32_t d2 = lane + 32 * i;
				kk[i] = d2 < hd2 ? __half22float2(kr[d2]) : make_float2(0.0f, 0.0f);
			}
			for (uint32_t hh = 0; hh < G; hh++) {
				const float2 *q2 = reinterpret_cast<const float2 *>(qs + hh * hd);
				float part = 0.0f;
#pragma unroll
				for (int i = 0; i < NP; i++) {
					uint32_t d2 = lane + 32 * i;
					if (d2 < hd2) {
						float2 qv = q2[d2];
						part = fmaf(qv.x, kk[i].x, part);
						part = fmaf(qv.y, kk[i].y, part);
					}
				}
				part = warp_sum(part);
				if (lane == 0)
					sc[hh * CG_ATTN_TILE + j] = part;
			}
		}
		__syncthreads();
		for (uint32_t hh = warp; hh < G; hh += nw) {
			float *row = sc + hh * CG_ATTN_TILE;
			float mx = -INFINITY;
			for (uint32_t j = lane; j < nt; j += 32)
				mx = fmaxf(mx, row[j]);
			mx = warp_max(mx);
			float m_old = m_run[hh], m_new = fmaxf(m_old, mx), sum = 0.0f;
			for (uint32_t j = lane; j < nt; j += 32) {
				float pj = expf(row[j] - m_new);
				row[j] = pj;
				sum += pj;
			}
			sum = warp_sum(sum);
			if (lane == 0) {
				float al = expf(m_old - m_new); /* 0 on the first tile (m_old = -inf) */
				alpha[hh] = al;
				l_run[hh] = l_run[hh] * al + sum;
				m_run[hh] = m_new;
			}
		}
		__syncthreads();
		float2 *acc2 = reinterpret_cast<float2 *>(acc);
		for (uint32_t idx = threadIdx.x; idx < G * hd2; idx += blockDim.x) {
			uint32_t hh = idx / hd2, d2 = idx % hd2;
			const float *pr = sc + hh * CG_ATTN_TILE;
			const __half2 *vr =
			        reinterpret_cast<const __half2 *>(vbase + (uint64_t)ts * kvd) + d2;
			float2 o = acc2[idx];
			float al = alpha[hh];
			o.x *= al;
			o.y *= al;
#pragma unroll 4
			for (uint32_t j = 0; j < nt; j++) {
				float2 vv = __half22float2(vr[(uint64_t)j * (kvd / 2)]);
				o.x = fmaf(pr[j], vv.x, o.x);
				o.y = fmaf(pr[j], vv.y, o.y);
			}
			acc2[idx] = o;
		}
		__syncthreads();
	}

	for (uint32_t idx = threadIdx.x; idx < G * hd; idx += blockDim.x) {
		uint32_t hh = idx / hd, d = idx % hd, h = h0 + hh;
		if (S == 1)
			a.out[(uint64_t)t * qd + (uint64_t)h * hd + d] = acc[idx] / l_run[hh];
		else
			a.part_o[(((uint64_t)t * a.n_heads + h) * S + s) * hd + d] = acc[idx];
	}
	if (S > 1)
		for (uint32_t hh = threadIdx.x; hh < G; hh += blockDim.x) {
			float *ml = a.part_ml + (((uint64_t)t * a.n_heads + h0 + hh) * S + s) * 2;
			ml[0] = m_run[hh];
			ml[1] = l_run[hh];
		}
}

/*
 * out (t, h) = sum_s e^(m_s - M) o_s / sum_s e^(m_s - M) l_s over the splits
 * in use. grid (n_heads, n_tok), 128 threads.
 */
static __global__ void __launch_bounds__(128) k_attn_combine(const attn_args a)
{
	__shared__ float wgt[CG_ATTN_MAX_SPLITS];
	__shared__ float inv_total;
	const uint32_t h = blockIdx.x, t = blockIdx.y, S = a.n_splits, hd = a.hd, qd = a.n_heads * hd;
	const int32_t len_i = *a.d_pos + (int32_t)t + 1;
	const uint32_t len = len_i < 1 ? 1u : ((uint32_t)len_i > a.n_ctx ? a.n_ctx : (uint32_t)len_i);
	uint32_t L, n_used;
	cg_attn_split(len, S, &L, &n_used);
	const float *ml = a.part_ml + ((uint64_t)t * a.n_heads + h) * S * 2;
	if (threadIdx.x == 0) {
		float M = -INFINITY, total = 0.0f;
		for (uint32_t s = 0; s < n_used; s++)
			M = fmaxf(M, ml[2 * s]);
		for (uint32_t s = 0; s < n_used; s++) {
			float w = expf(ml[2 * s] - M);
			wgt[s] = w;
			total += w * ml[2 * s + 1];
		}
		inv_total = 1.0f / total;
	}
	__syncthreads();
	const float *po = a.part_o + ((uint64_t)t * a.n_heads + h) * S * hd;
	for (uint32_t d = threadIdx.x; d < hd; d += blockDim.x) {
		float o = 0.0f;
		for (uint32_t s = 0; s < n_used; s++)
			o = fmaf(wgt[s], po[(uint64_t)s * hd + d], o);
		a.out[(uint64_t)t * qd + (uint64_t)h * hd + d] = o * inv_total;
	}
}

#endif
