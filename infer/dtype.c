/*
 * dtype.c — GGUF/ggml tensor element types: names, block sizes and
 * dequantisation to f32. Calls nothing but util.h (fatal on misuse).
 *
 * Block layouts follow ggml's ggml-common.h (block_q4_0 ... block_q6_K) and
 * dequantize_row_* in ggml-quants.c. Results are bit-identical to gguf-py's
 * numpy dequantiser (gguf/quants.py), which computes in float32 with one
 * rounding per operation; each function below repeats its association, e.g.
 * Q4_K: (d * sc) * q - (dmin * m), every intermediate a float.
 *
 * Exactness needs float (never double) arithmetic. Every product here is
 * exact in float (a half scale has 11 significant bits, a sub-block scale at
 * most 7, a quant at most 5, or 7 in Q8_0 with no sub-block scale: at most
 * 23 < 24 bits, and never below 2^-24), so the only rounding is
 * the final add or subtract, and fusing a * b + c into fma(a, b, c) could not
 * change a result either; the pragmas below still forbid contraction (clang's
 * default is "on", GCC's GNU modes "fast") so that no later edit relies on
 * that. tests/golden/test_golden_dequant checks every type bit for bit.
 * x87 excess precision (FLT_EVAL_METHOD != 0) would round differently; the
 * #error below refuses such a target.
 */
#include "config.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "infer/dtype.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

#include "infer/util.h"

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != -1
#error "dtype.c needs float arithmetic evaluated in float (FLT_EVAL_METHOD 0)"
#endif

/* Elements per super-block of the K-quants (ggml's QK_K). */
#define QK_K 256

/*
 * Indexed by GGUF type id. Sizes are ggml's type_traits (ggml.c, the block
 * structs of ggml-common.h), the same as gguf-py's GGML_QUANT_SIZES
 * (gguf/constants.py) except Q8_1. Gaps (31-33, 36-38) are ids ggml has
 * retired; they stay unknown, as do ids past MXFP4.
 */
static const struct dtype_traits dtype_table[DTYPE_COUNT_] = {
        [DTYPE_F32] = {"F32", 1, 4, true},
        [DTYPE_F16] = {"F16", 1, 2, true},
        [DTYPE_Q4_0] = {"Q4_0", 32, 18, true},
        [DTYPE_Q4_1] = {"Q4_1", 32, 20, true},
        [DTYPE_Q5_0] = {"Q5_0", 32, 22, true},
        [DTYPE_Q5_1] = {"Q5_1", 32, 24, true},
        [DTYPE_Q8_0] = {"Q8_0", 32, 34, true},
        /* ggml's dot-product operand, not a storage type. 36 bytes (half d, s;
         * i8 qs[32]) per ggml-common.h's static_assert; gguf-py 0.19 still
         * lists 40, from when d and s were floats. */
        [DTYPE_Q8_1] = {"Q8_1", 32, 36, false},
        [DTYPE_Q2_K] = {"Q2_K", QK_K, 84, true},
        [DTYPE_Q3_K] = {"Q3_K", QK_K, 110, true},
        [DTYPE_Q4_K] = {"Q4_K", QK_K, 144, true},
        [DTYPE_Q5_K] = {"Q5_K", QK_K, 176, true},
        [DTYPE_Q6_K] = {"Q6_K", QK_K, 210, true},
        [DTYPE_Q8_K] = {"Q8_K", QK_K, 292, false}, /* likewise */
        [16] = {"IQ2_XXS", QK_K, 66, false},
        [17] = {"IQ2_XS", QK_K, 74, false},
        [18] = {"IQ3_XXS", QK_K, 98, false},
        [19] = {"IQ1_S", QK_K, 50, false},
        [20] = {"IQ4_NL", 32, 18, false},
        [21] = {"IQ3_S", QK_K, 110, false},
        [22] = {"IQ2_S", QK_K, 82, false},
        [23] = {"IQ4_XS", QK_K, 136, false},
        [24] = {"I8", 1, 1, false},
        [25] = {"I16", 1, 2, false},
        [26] = {"I32", 1, 4, false},
        [27] = {"I64", 1, 8, false},
        [28] = {"F64", 1, 8, false},
        [29] = {"IQ1_M", QK_K, 56, false},
        [DTYPE_BF16] = {"BF16", 1, 2, true},
        [34] = {"TQ1_0", QK_K, 54, false},
        [35] = {"TQ2_0", QK_K, 66, false},
        [39] = {"MXFP4", 32, 17, false},
};

const struct dtype_traits *dtype_traits(uint32_t type)
{
	if (type >= DTYPE_COUNT_ || dtype_table[type].name == NULL)
		return NULL;
	return &dtype_table[type];
}

const char *dtype_name(uint32_t type)
{
	static _Thread_local char unknown[24];
	const struct dtype_traits *tr = dtype_traits(type);

	if (tr != NULL)
		return tr->name;
	snprintf(unknown, sizeof unknown, "type %u", (unsigned)type);
	return unknown;
}

int dtype_bytes(uint32_t type, uint64_t n_elems, uint64_t *bytes)
{
	const struct dtype_traits *tr = dtype_traits(type);

	if (tr == NULL || n_elems % tr->block_elems != 0)
		return -1;
	if (!u64_mul(n_elems / tr->block_elems, tr->block_bytes, bytes))
		return -1;
	return 0;
}

/* --- half and bfloat16 ------------------------------------------------------ */

static inline float f32_from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static inline uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

/*
 * Every half is exactly representable as a float. Branch-free (selects by
 * mask), so loops over F16 tensors do not mispredict and can vectorise at
 * -O3. A subnormal is
 * mant * 2^-24, exact in float and normal there, so flush-to-zero modes
 * cannot touch it. Inf and NaN keep their payload, as numpy and F16C do.
 */
static inline float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t em = (uint32_t)(h & 0x7fff) << 13; /* exponent and mantissa in float position */
	uint32_t exp = em & 0x0f800000;
	uint32_t normal = em + ((uint32_t)(127 - 15) << 23);
	uint32_t inf_nan = em + ((uint32_t)(255 - 31) << 23);
	uint32_t subnormal = f32_bits((float)(int32_t)(h & 0x3ff) * 0x1p-24f);
	uint32_t is_inf_nan = -(uint32_t)(exp == 0x0f800000), is_sub = -(uint32_t)(exp == 0);
	uint32_t bits = (normal & ~(is_inf_nan | is_sub)) | (inf_nan & is_inf_nan) | (subnormal & is_sub);
	return f32_from_bits(sign | bits);
}

/* Little-endian half at p (possibly unaligned). */
static inline float f16_load(const uint8_t *p)
{
	return f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

float dtype_f16_to_f32(uint16_t h)
{
	return f16_to_f32(h);
}

/* Round to nearest, ties to even; NaN keeps its top payload bits (as numpy). */
uint16_t dtype_f32_to_f16(float f)
{
	uint32_t x = f32_bits(f);
	uint16_t sign = (uint16_t)(x >> 16 & 0x8000);

	x &= 0x7fffffff;
	if (x > 0x7f800000) {
		uint16_t m = (uint16_t)(x >> 13 & 0x3ff);
		return (uint16_t)(sign | 0x7c00 | (m ? m : 1));
	}
	if (x >= 0x38800000) { /* >= 2^-14: a normal half, or overflow to inf */
		uint32_t r = x - ((uint32_t)(127 - 15) << 23);
		r = (r + 0xfff + (r >> 13 & 1)) >> 13; /* carries into the exponent */
		return (uint16_t)(sign | (r >= 0x7c00 ? 0x7c00 : r));
	}
	if (x <= 0x33000000) /* <= 2^-25: rounds (ties to even) to zero */
		return sign;
	/* Subnormal: m = round(value * 2^24) with value = mant * 2^(e - 150). */
	uint32_t e = x >> 23, mant = (x & 0x7fffff) | 0x800000;
	uint32_t shift = 126 - e; /* 14..24 */
	uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
	if (rem > half || (rem == half && (q & 1)))
		q++; /* q == 0x400 is the smallest normal: the encoding carries */
	return (uint16_t)(sign | q);
}

static inline float bf16_to_f32(uint16_t h)
{
	return f32_from_bits((uint32_t)h << 16);
}

float dtype_bf16_to_f32(uint16_t h)
{
	return bf16_to_f32(h);
}

/* ggml_compute_fp32_to_bf16: NaN made quiet, else round to nearest even. */
uint16_t dtype_f32_to_bf16(float f)
{
	uint32_t u = f32_bits(f);

	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((u >> 16) | 0x40);
	return (uint16_t)((u + (0x7fff + (u >> 16 & 1))) >> 16);
}

/* --- block dequantisers ------------------------------------------------------
 * Each handles n_blocks consecutive blocks; x points at the first block. */

static void dequant_f16(const uint8_t *restrict x, float *restrict y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = f16_load(x + 2 * i);
}

static void dequant_bf16(const uint8_t *restrict x, float *restrict y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = bf16_to_f32((uint16_t)(x[2 * i] | x[2 * i + 1] << 8));
}

/* block_q4_0: half d; u8 qs[16]. Element j: low nibble of qs[j], j+16: high. */
static void dequant_q4_0(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 18, y += 32) {
		float d = f16_load(x);
		const uint8_t *qs = x + 2;
		for (int j = 0; j < 16; j++) {
			y[j] = d * (float)((qs[j] & 0x0f) - 8);
			y[j + 16] = d * (float)((qs[j] >> 4) - 8);
		}
	}
}

/* block_q4_1: half d, m; u8 qs[16]. y = d * q + m. */
static void dequant_q4_1(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 20, y += 32) {
		float d = f16_load(x), m = f16_load(x + 2);
		const uint8_t *qs = x + 4;
		for (int j = 0; j < 16; j++) {
			float p0 = d * (float)(qs[j] & 0x0f);
			float p1 = d * (float)(qs[j] >> 4);
			y[j] = p0 + m;
			y[j + 16] = p1 + m;
		}
	}
}

/* Little-endian u32 at p (possibly unaligned). */
static inline uint32_t u32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* block_q5_0: half d; u32 qh (bit j = 5th bit of element j); u8 qs[16]. */
static void dequant_q5_0(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 22, y += 32) {
		float d = f16_load(x);
		uint32_t qh = u32_load(x + 2);
		const uint8_t *qs = x + 6;
		for (int j = 0; j < 16; j++) {
			int q0 = (qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
			int q1 = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
			y[j] = d * (float)(q0 - 16);
			y[j + 16] = d * (float)(q1 - 16);
		}
	}
}

/* block_q5_1: half d, m; u32 qh; u8 qs[16]. y = d * q + m. */
static void dequant_q5_1(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 24, y += 32) {
		float d = f16_load(x), m = f16_load(x + 2);
		uint32_t qh = u32_load(x + 4);
		const uint8_t *qs = x + 8;
		for (int j = 0; j < 16; j++) {
			int q0 = (qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
			int q1 = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
			float p0 = d * (float)q0;
			float p1 = d * (float)q1;
			y[j] = p0 + m;
			y[j + 16] = p1 + m;
		}
	}
}

/* block_q8_0: half d; i8 qs[32]. */
static void dequant_q8_0(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 34, y += 32) {
		float d = f16_load(x);
		for (int j = 0; j < 32; j++)
			y[j] = (float)(int8_t)x[2 + j] * d;
	}
}

/*
 * block_q2_K: u8 scales[16] (low nibble scale, high nibble min, per 16
 * elements); u8 qs[64] (2 bits each); half d, dmin. Element 128h + 32k + l
 * is bits 2k..2k+1 of qs[32h + l]. y = (d * sc) * q - (dmin * m).
 */
static void dequant_q2_k(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 84, y += QK_K) {
		const uint8_t *scales = x, *qs = x + 16;
		float d = f16_load(x + 80), dmin = f16_load(x + 82);
		for (int e = 0; e < QK_K; e += 16) {
			uint8_t sc = scales[e / 16];
			float dl = d * (float)(sc & 0x0f);
			float ml = dmin * (float)(sc >> 4);
			int h = e / 128, k = (e / 32) % 4, l0 = e % 32;
			for (int l = l0; l < l0 + 16; l++) {
				float p = dl * (float)((qs[32 * h + l] >> (2 * k)) & 3);
				y[128 * h + 32 * k + l] = p - ml;
			}
		}
	}
}

/*
 * block_q3_K: u8 hmask[32]; u8 qs[64]; u8 scales[12] (16 six-bit scales,
 * offset 32); half d. Element 128h + 32k + l: low 2 bits from bits 2k of
 * qs[32h + l], and 4 is subtracted when bit 4h + k of hmask[l] is clear.
 */
static void dequant_q3_k(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 110, y += QK_K) {
		const uint8_t *hmask = x, *qs = x + 32, *sb = x + 96;
		float d = f16_load(x + 108);
		for (int s = 0; s < 16; s++) {
			int lo = (s < 8 ? sb[s] : sb[s - 8] >> 4) & 0x0f;
			int hi = (sb[8 + s % 4] >> (2 * (s / 4))) & 3;
			float dl = d * (float)((lo | hi << 4) - 32);
			int h = s / 8, k = (s / 2) % 4, l0 = (s % 2) * 16;
			for (int l = l0; l < l0 + 16; l++) {
				int q = (qs[32 * h + l] >> (2 * k)) & 3;
				if (!((hmask[l] >> (4 * h + k)) & 1))
					q -= 4;
				y[16 * s + l - l0] = dl * (float)q;
			}
		}
	}
}

/* The 6-bit scale and min of sub-block j (0..7): ggml's get_scale_min_k4. */
static inline void scale_min_k4(const uint8_t *q, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0x0f) | (q[j - 4] >> 6) << 4;
		*m = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
	}
}

/*
 * block_q4_K: half d, dmin; u8 scales[12]; u8 qs[128]. Sub-block 2c (32
 * elements) is the low nibbles of qs[32c..32c+31], 2c+1 the high nibbles.
 */
static void dequant_q4_k(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 144, y += QK_K) {
		float d = f16_load(x), dmin = f16_load(x + 2);
		const uint8_t *scales = x + 4, *qs = x + 16;
		for (int j = 0; j < 8; j++) {
			int sc, m;
			scale_min_k4(scales, j, &sc, &m);
			float d1 = d * (float)sc, m1 = dmin * (float)m;
			const uint8_t *q = qs + 32 * (j / 2);
			int shift = 4 * (j % 2);
			for (int l = 0; l < 32; l++) {
				float p = d1 * (float)((q[l] >> shift) & 0x0f);
				y[32 * j + l] = p - m1;
			}
		}
	}
}

/* block_q5_K: as Q4_K plus u8 qh[32]: bit j of qh[l] is the 5th bit of 32j + l. */
static void dequant_q5_k(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 176, y += QK_K) {
		float d = f16_load(x), dmin = f16_load(x + 2);
		const uint8_t *scales = x + 4, *qh = x + 16, *qs = x + 48;
		for (int j = 0; j < 8; j++) {
			int sc, m;
			scale_min_k4(scales, j, &sc, &m);
			float d1 = d * (float)sc, m1 = dmin * (float)m;
			const uint8_t *q = qs + 32 * (j / 2);
			int shift = 4 * (j % 2);
			for (int l = 0; l < 32; l++) {
				int v = ((q[l] >> shift) & 0x0f) | ((qh[l] >> j) & 1) << 4;
				float p = d1 * (float)v;
				y[32 * j + l] = p - m1;
			}
		}
	}
}

/*
 * block_q6_K: u8 ql[128]; u8 qh[64]; i8 scales[16]; half d. Element
 * 128h + 32k + l: low 4 bits from ql[64h + 32(k%2) + l] (low nibble for
 * k < 2, high for k >= 2), high 2 bits from bits 2k of qh[32h + l], offset
 * 32. y = (d * scale) * q, scale per 16 elements.
 */
static void dequant_q6_k(const uint8_t *restrict x, float *restrict y, size_t n_blocks)
{
	for (size_t i = 0; i < n_blocks; i++, x += 210, y += QK_K) {
		const uint8_t *ql = x, *qh = x + 128;
		const int8_t *scales = (const int8_t *)(x + 192);
		float d = f16_load(x + 208);
		for (int s = 0; s < 16; s++) {
			float dl = d * (float)scales[s];
			int h = s / 8, k = (s / 2) % 4, l0 = (s % 2) * 16;
			for (int l = l0; l < l0 + 16; l++) {
				int lo = (ql[64 * h + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0x0f;
				int hi = (qh[32 * h + l] >> (2 * k)) & 3;
				y[16 * s + l - l0] = dl * (float)((lo | hi << 4) - 32);
			}
		}
	}
}

void dtype_dequant(uint32_t type, const void *src, float *dst, size_t n_elems)
{
	const struct dtype_traits *tr = dtype_traits(type);
	const uint8_t *x = src;

	if (tr == NULL || !tr->supported || n_elems % tr->block_elems != 0)
		fatal("dtype_dequant: %s with %zu elements", dtype_name(type), n_elems);
	size_t n_blocks = n_elems / tr->block_elems;

	switch (type) {
	case DTYPE_F32:
		memcpy(dst, src, n_elems * sizeof(float));
		break;
	case DTYPE_F16:
		dequant_f16(x, dst, n_elems);
		break;
	case DTYPE_BF16:
		dequant_bf16(x, dst, n_elems);
		break;
	case DTYPE_Q4_0:
		dequant_q4_0(x, dst, n_blocks);
		break;
	case DTYPE_Q4_1:
		dequant_q4_1(x, dst, n_blocks);
		break;
	case DTYPE_Q5_0:
		dequant_q5_0(x, dst, n_blocks);
		break;
	case DTYPE_Q5_1:
		dequant_q5_1(x, dst, n_blocks);
		break;
	case DTYPE_Q8_0:
		dequant_q8_0(x, dst, n_blocks);
		break;
	case DTYPE_Q2_K:
		dequant_q2_k(x, dst, n_blocks);
		break;
	case DTYPE_Q3_K:
		dequant_q3_k(x, dst, n_blocks);
		break;
	case DTYPE_Q4_K:
		dequant_q4_k(x, dst, n_blocks);
		break;
	case DTYPE_Q5_K:
		dequant_q5_k(x, dst, n_blocks);
		break;
	case DTYPE_Q6_K:
		dequant_q6_k(x, dst, n_blocks);
		break;
	default:
		fatal("dtype_dequant: %s marked supported without a dequantiser", tr->name);
	}
}
