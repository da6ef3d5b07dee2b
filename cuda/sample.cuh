/*
 * sample.cuh — the GPU sampler (backend_ops.sample), included once by
 * cuda/backend.cu; everything static. One block of CG_SAMPLE_THREADS
 * threads picks the next token from a row of logits without copying them to
 * the host: greedy is an argmax; otherwise a radix select finds the top-k
 * threshold (four 8-bit passes over order keys, integer counts), a compaction
 * in id order keeps exactly k candidates (ties at the threshold to the
 * lowest ids), a bitonic sort orders them (logit descending, id ascending),
 * then softmax at the temperature, min-p, top-p and one Philox draw. Every
 * step is deterministic: the same logits, seed and counter give the same id.
 *
 * Cost: about six passes over the logits by one multiprocessor (~20-40 us
 * for 150k logits); a multi-block first pass is the next step if it shows.
 */
#ifndef DUET_CUDA_SAMPLE_CUH
#define DUET_CUDA_SAMPLE_CUH

#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>

#include "cuda/plan_host.h"

static_assert(CG_SAMPLE_THREADS == CG_SAMPLE_MAX_K, "the sampler gives each thread one candidate slot");
static_assert(CG_SAMPLE_THREADS % 32 == 0 && CG_SAMPLE_THREADS <= 1024, "block size");

/* Inclusive scan over the block (every thread one value, fixed order); *total gets the block's sum. */
template <typename T> static __device__ T block_scan_incl(T v, T *total)
{
	__shared__ T warp_tot[32];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
	for (int o = 1; o < 32; o <<= 1) {
		T n = __shfl_up_sync(0xffffffffu, v, o);
		if (lane >= o)
			v += n;
	}
	__syncthreads(); /* warp_tot may still be read by a previous call */
	if (lane == 31)
		warp_tot[warp] = v;
	__syncthreads();
	if (warp == 0) {
		T w = lane < nw ? warp_tot[lane] : T(0);
		for (int o = 1; o < 32; o <<= 1) {
			T n = __shfl_up_sync(0xffffffffu, w, o);
			if (lane >= o)
				w += n;
		}
		warp_tot[lane] = w;
	}
	__syncthreads();
	*total = warp_tot[nw - 1];
	return v + (warp > 0 ? warp_tot[warp - 1] : T(0));
}

static __device__ __forceinline__ bool better(float v, uint32_t i, float bv, uint32_t bi)
{
	return v > bv || (v == bv && i < bi); /* NaN is never better */
}

static __device__ __forceinline__ unsigned long long cand_key(uint32_t key, uint32_t id)
{
	return (unsigned long long)key << 32 | (0xffffffffu - id);
}

static __device__ __forceinline__ uint32_t cand_id(unsigned long long k)
{
	return 0xffffffffu - (uint32_t)(k & 0xffffffffu);
}

/* logits: rows of n_vocab; prm says which row and how to sample; *out gets the id. */
static __global__ void __launch_bounds__(CG_SAMPLE_THREADS)
        k_sample(const float *logits_base, uint32_t n_vocab, const cg_step_params *prm, int32_t *out)
{
	__shared__ unsigned long long cand[CG_SAMPLE_MAX_K];
	__shared__ float cum[CG_SAMPLE_MAX_K];
	__shared__ uint32_t hist[256];
	__shared__ float red_v[32];
	__shared__ uint32_t red_i[32];
	__shared__ uint32_t s_prefix, s_remaining, s_n1, s_n2, s_pick;
	const uint32_t tid = threadIdx.x, nt = blockDim.x, V = n_vocab;
	const float *logits = logits_base + (uint64_t)prm->logits_row * V;
	const float T = prm->temperature;
	const int32_t top_k = prm->top_k;

	if (!(T > 0.0f) || top_k == 1) {
		float bv = -INFINITY;
		uint32_t bi = V;
		for (uint32_t i = tid; i < V; i += nt)
			if (better(logits[i], i, bv, bi)) {
				bv = logits[i];
				bi = i;
			}
		for (int o = 16; o > 0; o >>= 1) {
			float ov = __shfl_xor_sync(0xffffffffu, bv, o);
			uint32_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
			if (better(ov, oi, bv, bi)) {
				bv = ov;
				bi = oi;
			}
		}
		if ((tid & 31) == 0) {
			red_v[tid >> 5] = bv;
			red_i[tid >> 5] = bi;
		}
		__syncthreads();
		if (tid == 0) {
			for (uint32_t w = 1; w < nt / 32; w++)
				if (better(red_v[w], red_i[w], bv, bi)) {
					bv = red_v[w];
					bi = red_i[w];
				}
			*out = bi < V ? (int32_t)bi : 0;
		}
		return;
	}

	uint32_t K = (top_k <= 0 || (uint32_t)top_k > CG_SAMPLE_MAX_K) ? CG_SAMPLE_MAX_K : (uint32_t)top_k;
	uint32_t n_valid = 0, local = 0;
	for (uint32_t i = tid; i < V; i += nt)
		local += cg_float_key(logits[i]) != 0;
	block_scan_incl(local, &n_valid);
	if (n_valid == 0) {
		if (tid == 0)
			*out = 0;
		return;
	}
	if (K > n_valid)
		K = n_valid;

	/* The K-th largest key, 8 bits at a time; `remaining` = how many equal to it are taken. */
	uint32_t prefix = 0, mask = 0, remaining = K;
	for (int shift = 24; shift >= 0; shift -= 8) {
		for (uint32_t i = tid; i < 256; i += nt)
			hist[i] = 0;
		__syncthreads();
		for (uint32_t i = tid; i < V; i += nt) {
			uint32_t key = cg_float_key(logits[i]);
			if (key != 0 && (key & mask) == prefix)
				atomicAdd(&hist[(key >> shift) & 255u], 1u);
		}
		__syncthreads();
		if (tid == 0) {
			uint32_t above = 0;
			int b = 255;
			for (; b > 0; b--) {
				if (above + hist[b] >= remaining)
					break;
				above += hist[b];
			}
			s_prefix = prefix | (uint32_t)b << shift;
			s_remaining = remaining - above;
		}
		__syncthreads();
		prefix = s_prefix;
		remaining = s_remaining;
		mask |= 255u << shift;
		__syncthreads();
	}
	const uint32_t thr = prefix, n_gt = K - remaining, n_eq = remaining;

	/* Compaction in id order: thread tid owns ids [b0, b1). */
	cand[tid] = 0; /* sorts last */
	const uint32_t per = (V + nt - 1) / nt;
	const uint32_t b0 = tid * per < V ? tid * per : V, b1 = b0 + per < V ? b0 + per : V;
	uint32_t c_gt = 0, c_eq = 0, tot;
	for (uint32_t i = b0; i < b1; i++) {
		uint32_t key = cg_float_key(logits[i]);
		c_gt += key > thr;
		c_eq += key == thr;
	}
	uint32_t gt_at = block_scan_incl(c_gt, &tot) - c_gt;
	uint32_t eq_at = block_scan_incl(c_eq, &tot) - c_eq;
	for (uint32_t i = b0; i < b1; i++) {
		uint32_t key = cg_float_key(logits[i]);
		if (key > thr) {
			if (gt_at < n_gt)
				cand[gt_at] = cand_key(key, i);
			gt_at++;
		} else if (key == thr) {
			if (eq_at < n_eq)
				cand[n_gt + eq_at] = cand_key(key, i);
			eq_at++;
		}
	}
	__syncthreads();

	/* Bitonic sort, descending (larger logit first, then lower id). */
	for (uint32_t size = 2; size <= CG_SAMPLE_MAX_K; size <<= 1)
		for (uint32_t stride = size / 2; stride > 0; stride >>= 1) {
			uint32_t j = tid ^ stride;
			if (j > tid) {
				unsigned long long x = cand[tid], y = cand[j];
				bool desc = (tid & size) == 0;
				if (desc ? x < y : x > y) {
					cand[tid] = y;
					cand[j] = x;
				}
			}
			__syncthreads();
		}

	const float v0 = logits[cand_id(cand[0])];
	if (!isfinite(v0)) {
		if (tid == 0)
			*out = (int32_t)cand_id(cand[0]);
		return;
	}
	float p = 0.0f;
	if (tid < K)
		p = expf((logits[cand_id(cand[tid])] - v0) / T);
	float z;
	float c = block_scan_incl(p, &z);
	cum[tid] = c;
	if (tid == 0) {
		s_n1 = K;
		s_n2 = 0xffffffffu;
		s_pick = 0xffffffffu;
	}
	__syncthreads();
	/* min-p: the probabilities fall with the index, so the kept ones are a prefix. */
	if (prm->min_p > 0.0f && tid < K && p < prm->min_p)
		atomicMin(&s_n1, tid);
	__syncthreads();
	const uint32_t n1 = s_n1 > 0 ? s_n1 : 1;
	uint32_t n2 = n1;
	if (prm->top_p < 1.0f) {
		float want = prm->top_p * cum[n1 - 1];
		if (tid < n1 && cum[tid] >= want)
			atomicMin(&s_n2, tid);
		__syncthreads();
		n2 = s_n2 < n1 ? s_n2 + 1 : n1;
	}
	uint64_t seed = (uint64_t)prm->seed_hi << 32 | prm->seed_lo;
	uint64_t counter = (uint64_t)prm->counter_hi << 32 | prm->counter_lo;
	double r = cg_sample_uniform(seed, counter) * (double)cum[n2 - 1];
	if (tid < n2 && (double)cum[tid] > r)
		atomicMin(&s_pick, tid);
	__syncthreads();
	if (tid == 0) {
		uint32_t pick = s_pick < n2 ? s_pick : n2 - 1;
		*out = (int32_t)cand_id(cand[pick]);
	}
}

#endif
