/*
 * cpu_kernels.h — the CPU backend's numeric kernels: matrix times activations
 * for every weight type a model file can hold, used in place on the file's
 * bytes (unaligned is fine), plus the small vector pieces attention needs.
 *
 * Quantised weights are multiplied with activations quantised once per
 * matmul to 8 bits exactly as llama.cpp quantises them (its Q8_0/Q8_1 and
 * Q8_K, so that logits compare closely): blocks of 32 for the 32-element
 * types (Q4_0 ... Q8_0), q = round(x * 127 / amax) with the scale
 * d = amax / 127 rounded to half precision; blocks of 256 with sums of each
 * 16 for the K-quants, d = 1 / (127 / amax) in f32. The block products are
 * then exact integer sums; the only approximation is the activation
 * rounding, |x - d*q| <= d * (1/2 + 127 * 2^-11) (the second term from the
 * half-precision d of the 32-blocks; 127 * 2^-23 instead for the f32 d of
 * the 256-blocks).
 *
 * Every kernel exists in a portable C version and, on x86-64, AVX2 (+FMA,
 * F16C) and AVX-512 (F, BW, VL, VNNI) versions chosen at run time. Within one
 * level an output element's value does not depend on how rows and tokens are
 * split into tiles or threads (one accumulator per element, blocks in
 * order), so results are bit-identical across thread counts. Up to 15
 * tokens also give the bits of token-by-token evaluation; from 16 tokens a
 * level may use a matrix-matrix kernel that sums a row's blocks in another
 * order (the AVX-512 level does for the quantised types), which differs
 * from decoding the same tokens one by one only by float rounding.
 *
 * All functions are thread-safe given disjoint outputs, except
 * cpu_simd_force.
 */
#ifndef DUET_INFER_CPU_KERNELS_H
#define DUET_INFER_CPU_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cpu_simd {
	CPU_SIMD_PORTABLE, /* plain C, any CPU */
	CPU_SIMD_AVX2,     /* AVX2, FMA, F16C */
	CPU_SIMD_AVX512,   /* AVX2 level + AVX-512 F, BW, VL, DQ, VNNI and BMI2 */
	CPU_SIMD_COUNT_
};

/* The best level this CPU (and its OS) supports. */
enum cpu_simd cpu_simd_best(void);
/* The level the kernels use now (cpu_simd_best unless forced). */
enum cpu_simd cpu_simd_active(void);
/*
 * Use this level from now on (tests and benchmarks). Returns 0, or -1 when
 * the CPU lacks it. Not thread-safe: call while no kernel runs.
 */
int cpu_simd_force(enum cpu_simd level);
const char *cpu_simd_name(enum cpu_simd level);

/* The activation form a weight type multiplies with. */
enum cpu_actq {
	CPU_ACTQ_F32,    /* F32, F16, BF16 weights read f32 activations */
	CPU_ACTQ_Q8_32,  /* Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 */
	CPU_ACTQ_Q8_256, /* Q2_K ... Q6_K */
	CPU_ACTQ_NONE_ = -1
};

/* CPU_ACTQ_NONE_ for a type the kernels do not handle. */
enum cpu_actq cpu_actq_for(uint32_t type);
/* Whether cpu_matmul handles this type (every type dtype_dequant supports). */
bool cpu_matmul_supports(uint32_t type);

/*
 * n rows (tokens) of k activations. f32 always; the quantised forms are
 * filled by cpu_act_quantize before a matmul whose weights need them.
 * Layouts (row t, block b):
 *   q32[t*k + i], d32[t*(k/32) + b]; with S the sum of the block's q:
 *   s32 = half(amax / 127 * S) (llama.cpp's Q8_1 s, for the Q4_1/Q5_1 min
 *   term) and o32 = d32 * S (for offsets folded into a product), for k a
 *   multiple of 32;
 *   q256[t*k + i], d256[t*(k/256) + b], bs256[t*(k/16) + j] = sum of the q
 *   values of 16-element group j, for k a multiple of 256.
 */
struct cpu_act {
	uint32_t k;
	uint32_t n;
	const float *f32; /* row t at f32 + t * f32_ld */
	size_t f32_ld;
	int8_t *q32;
	float *d32, *s32, *o32;
	int8_t *q256;
	float *d256;
	int16_t *bs256;
	/*
	 * For levels with 16-token matrix-matrix kernels (n16 > 0 then): the
	 * blocks of tokens 16g..16g+15 (g < n16) interleaved so that one
	 * vector holds the same 4 elements of 16 tokens:
	 * q32i[((g*nb + b)*8 + e)*64 + 4*t + i] = element 4e+i of 32-block b
	 * of token 16g+t (nb = k/32); d32i, s32i, o32i[(g*nb + b)*16 + t]
	 * likewise; q256i[((g*nb + b)*64 + e)*64 + 4*t + i] for 256-block b
	 * (nb = k/256), d256i[(g*nb + b)*16 + t], and the group sums in pairs,
	 * bs256i[((g*nb + b)*8 + j)*16 + t] = {bs[2j], bs[2j+1]} of token 16g+t.
	 * Written by cpu_act_quantize along with the plain forms.
	 */
	uint32_t n16;
	int8_t *q32i;
	float *d32i, *s32i, *o32i;
	int8_t *q256i;
	float *d256i;
	int16_t *bs256i;
};

/* Bytes cpu_act_init needs for n rows of at most k (64-aligned). */
size_t cpu_act_bytes(uint32_t n, uint32_t k);
/*
 * Point a's quantised forms into mem (cpu_act_bytes(n_max, k_max) bytes,
 * 64-byte aligned) for n <= n_max rows of k <= k_max, f32 rows at f32 with
 * stride ld.
 */
void cpu_act_init(struct cpu_act *a, void *mem, uint32_t n, uint32_t k, const float *f32, size_t ld);
/*
 * Quantise to the given form; the n * (k / block) blocks are split into nth
 * contiguous parts and part ith done here (call with 0, 1 for all). A no-op
 * for CPU_ACTQ_F32.
 */
void cpu_act_quantize(struct cpu_act *a, enum cpu_actq form, int ith, int nth);
/*
 * Quantise rows [t0, t1), columns [c0, c1) only (c0 and c1 multiples of the
 * form's block), for a thread that produced exactly that part.
 */
void cpu_act_quantize_part(struct cpu_act *a, enum cpu_actq form, uint32_t t0, uint32_t t1, uint32_t c0,
                           uint32_t c1);

/*
 * out[t * ldo + r] = dot(row r of W, activation row t) for r in [r0, r1),
 * t in [0, x->n). W is rows of k elements of type `type`, row r starting
 * at w + r * (row bytes), stored exactly as in the file (k a whole number
 * of blocks). x must hold the form cpu_actq_for(type) names.
 */
void cpu_matmul(uint32_t type, const void *w, uint32_t k, uint32_t r0, uint32_t r1, const struct cpu_act *x,
                float *out, size_t ldo);

/*
 * Causal softmax attention of nq query rows against one KV head:
 * out[a] = sum over j <= lim[a] of softmax_j(scale * q[a] . k[j]) * v[j].
 * Query rows (hd f32 each) at q + a * ldq, outputs at out + a * ldo; key
 * and value rows (hd f16 each) at k + j * ldkv and v + j * ldkv. scratch
 * holds at least nq * (max lim + 1) floats. A row's result depends only on
 * its own inputs, never on nq or the other rows, so attention of one token
 * gives the same bits alone (decode) as in a batch (prefill).
 */
void cpu_attention(uint32_t nq, uint32_t hd, const float *q, size_t ldq, const uint32_t *lim,
                   const uint16_t *k, const uint16_t *v, size_t ldkv, float scale, float *out, size_t ldo,
                   float *scratch);
/*
 * y = x * (1 / sqrt(mean(x^2) + eps)) * weight, the mean of squares summed
 * in double (as llama.cpp), the rest in float. y may be x.
 */
void cpu_rmsnorm(uint32_t n, const float *x, const float *weight, float eps, float *y);
/* g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]: SwiGLU's gate. */
void cpu_silu_mul(uint32_t n, float *g, const float *u);

/* Vector pieces over f16 KV-cache rows. */
float cpu_dot_f32_f16(uint32_t n, const float *x, const uint16_t *y);
void cpu_axpy_f16(uint32_t n, float a, const uint16_t *x, float *y); /* y += a * x */
void cpu_f32_to_f16(uint32_t n, const float *x, uint16_t *y);        /* round to nearest even */

#endif
