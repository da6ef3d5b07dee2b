/*
 * wformat_host.h — the CUDA backend's weight formats on the GPU, and the
 * host-side repacking of GGUF / safetensors tensors into them. Header-only,
 * C-compatible, no CUDA headers: tests/unit/test_cuda_host.c includes it and
 * runs it on the CPU. Functions marked CG_HD are compiled for the device too
 * (cuda/backend.cu includes this file), so the kernels decode weights with
 * exactly the code the host tests check, bit for bit, against dtype_dequant.
 *
 * A matrix of `rows` rows of k elements is stored as up to four components,
 * each row-major with a fixed number of bytes per row, so that a row range
 * is a contiguous byte range of every component (uploads in pieces) and a
 * warp reads a row with 16-byte loads. Elements are decoded in "chunks" of
 * consecutive elements, the unit one lane of a warp handles per load:
 *
 *   BF16  q: bf16[k]                                  chunk 8  (16 bytes)
 *   F16   q: f16[k]                                   chunk 8
 *   Q8    q: int8[k]; s: f16 d per 32                  chunk 16; w = q * d
 *   Q4    q: u8[k/2]; s: f16 d per 32                  chunk 32; w = d * (q - 8)
 *   Q4K   q: u8[k/2]; s: u8 sc[8], m[8] per 256;
 *         d: f16 d, dmin per 256                       chunk 32; w = (d*sc) * q - (dmin*m)
 *   Q6K   q: u8[k/2] (low 4 bits); h: u8[k/4] (high 2 bits);
 *         s: int8 scale per 16; d: f16 per 256         chunk 32; w = (d*sc) * (q - 32)
 *
 * 4-bit chunks (32 elements in 16 bytes) hold element l in the low nibble of
 * byte l and element l + 16 in its high nibble (ggml's Q4_0 order). Q6K's
 * high bits: element i of a chunk in bits 2(i%4) of byte i/4.
 *
 * Which GGUF types map where (cg_fmt_choose): BF16 -> BF16, F16 -> F16,
 * Q8_0 -> Q8, Q4_0 -> Q4, Q4_K -> Q4K, Q6_K -> Q6K, all lossless; F32 and
 * the other quantised types are dequantised on the host and rounded to bf16.
 * With quant_bits 8 or 4, float tensors are quantised at load to Q8 or Q4
 * exactly as ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref do (the
 * output projection stays at 8 bits under 4-bit quantisation).
 */
#ifndef DUET_CUDA_WFORMAT_HOST_H
#define DUET_CUDA_WFORMAT_HOST_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "infer/dtype.h"
#ifdef __cplusplus
}
#endif

#if defined(__CUDACC__)
#define CG_HD __host__ __device__
#else
#define CG_HD
#endif
/* Unrolled in device code (the decoded chunk then stays in registers); plain loops on the host. */
#if defined(__CUDA_ARCH__)
#define CG_UNROLL _Pragma("unroll")
#else
#define CG_UNROLL
#endif

/* Elements per super-block of the K-quants. */
#define CG_QK 256
/* Largest chunk of any format, in elements. */
#define CG_CHUNK_MAX 32

enum cg_fmt { CG_FMT_BF16, CG_FMT_F16, CG_FMT_Q8, CG_FMT_Q4, CG_FMT_Q4K, CG_FMT_Q6K, CG_FMT_COUNT_ };

static inline const char *cg_fmt_name(enum cg_fmt f)
{
	switch (f) {
	case CG_FMT_BF16:
		return "bf16";
	case CG_FMT_F16:
		return "f16";
	case CG_FMT_Q8:
		return "q8";
	case CG_FMT_Q4:
		return "q4";
	case CG_FMT_Q4K:
		return "q4k";
	case CG_FMT_Q6K:
		return "q6k";
	default:
		return "?";
	}
}

/* Elements one lane decodes per step. */
static inline CG_HD uint32_t cg_fmt_chunk(enum cg_fmt f)
{
	switch (f) {
	case CG_FMT_BF16:
	case CG_FMT_F16:
		return 8;
	case CG_FMT_Q8:
		return 16;
	default:
		return 32;
	}
}

/* The multiple of k a format needs. */
static inline uint32_t cg_fmt_k_multiple(enum cg_fmt f)
{
	switch (f) {
	case CG_FMT_BF16:
	case CG_FMT_F16:
		return 8;
	case CG_FMT_Q8:
	case CG_FMT_Q4:
		return 32;
	default:
		return CG_QK;
	}
}

/* --- numbers --------------------------------------------------------------------------------- */

static inline CG_HD float cg_bits_f32(uint32_t u)
{
#if defined(__CUDA_ARCH__)
	return __uint_as_float(u);
#else
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
#endif
}

/* Exact IEEE half to float (subnormals, inf and NaN payloads kept), as dtype_f16_to_f32. */
static inline CG_HD float cg_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;

	if (exp == 0x1f)
		return cg_bits_f32(sign | 0x7f800000u | mant << 13);
	if (exp != 0)
		return cg_bits_f32(sign | (exp + 112) << 23 | mant << 13);
	/* Subnormal: mant * 2^-24, exact in float. */
	float v = (float)mant * 5.9604644775390625e-08f;
	return sign ? -v : v;
}

static inline CG_HD float cg_bf16_to_f32(uint16_t h)
{
	return cg_bits_f32((uint32_t)h << 16);
}

static inline CG_HD uint16_t cg_u16_le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* --- chunk decoders (host and device) -------------------------------------------------------- */

static inline CG_HD void cg_decode_bf16(const uint8_t b[16], float out[8])
{
	CG_UNROLL
	for (int i = 0; i < 8; i++)
		out[i] = cg_bf16_to_f32(cg_u16_le(b + 2 * i));
}

static inline CG_HD void cg_decode_f16(const uint8_t b[16], float out[8])
{
	CG_UNROLL
	for (int i = 0; i < 8; i++)
		out[i] = cg_f16_to_f32(cg_u16_le(b + 2 * i));
}

/* Q8_0's (float)q * d: the product is exact (7 + 11 significant bits). */
static inline CG_HD void cg_decode_q8(const uint8_t b[16], float d, float out[16])
{
	CG_UNROLL
	for (int i = 0; i < 16; i++)
		out[i] = (float)(int8_t)b[i] * d;
}

/* Q4_0's d * (q - 8). */
static inline CG_HD void cg_decode_q4(const uint8_t b[16], float d, float out[32])
{
	CG_UNROLL
	for (int i = 0; i < 16; i++) {
		out[i] = d * (float)((b[i] & 0x0f) - 8);
		out[i + 16] = d * (float)((b[i] >> 4) - 8);
	}
}

/* Q4_K's sub-block factors, as dtype.c forms them: d1 = d * sc, m1 = dmin * m (both exact). */
static inline CG_HD void cg_q4k_factors(uint16_t d_bits, uint16_t dmin_bits, uint8_t sc, uint8_t m, float *d1,
                                        float *m1)
{
	*d1 = cg_f16_to_f32(d_bits) * (float)sc;
	*m1 = cg_f16_to_f32(dmin_bits) * (float)m;
}

/* d1 * q - m1: d1 * q is exact, so one rounding whether or not it is fused. */
static inline CG_HD void cg_decode_q4k(const uint8_t b[16], float d1, float m1, float out[32])
{
	CG_UNROLL
	for (int i = 0; i < 16; i++) {
		float p0 = d1 * (float)(b[i] & 0x0f), p1 = d1 * (float)(b[i] >> 4);
		out[i] = p0 - m1;
		out[i + 16] = p1 - m1;
	}
}

/* dl0, dl1: d * scale of the chunk's two 16-element groups (exact products). */
static inline CG_HD void cg_decode_q6k(const uint8_t ql[16], const uint8_t qh[8], float dl0, float dl1,
                                       float out[32])
{
	CG_UNROLL
	for (int i = 0; i < 32; i++) {
		int lo = i < 16 ? ql[i] & 0x0f : ql[i - 16] >> 4;
		int hi = (qh[i / 4] >> (2 * (i % 4))) & 3;
		out[i] = (i < 16 ? dl0 : dl1) * (float)((lo | hi << 4) - 32);
	}
}

/* --- layouts ---------------------------------------------------------------------------------- */

/* Every component (and every tensor in an arena) starts on this boundary. */
#define CG_ALIGN 256u

static inline uint64_t cg_align_up(uint64_t n)
{
	return (n + (CG_ALIGN - 1)) & ~(uint64_t)(CG_ALIGN - 1);
}

enum cg_comp { CG_COMP_Q, CG_COMP_S, CG_COMP_D, CG_COMP_H, CG_COMP_COUNT_ };

/* A matrix's components: bytes per row, offsets from the matrix's base (aligned), total bytes. */
struct cg_mat_layout {
	uint64_t row_bytes[CG_COMP_COUNT_]; /* 0 for a component the format lacks */
	uint64_t off[CG_COMP_COUNT_];
	uint64_t bytes;
};

/* 0, or -1 when k is not a multiple the format needs or the size overflows. */
static inline int cg_mat_layout(enum cg_fmt f, uint32_t rows, uint32_t k, struct cg_mat_layout *L)
{
	uint64_t kk = k;

	memset(L, 0, sizeof *L);
	if ((unsigned)f >= CG_FMT_COUNT_ || k == 0 || rows == 0 || k % cg_fmt_k_multiple(f) != 0)
		return -1;
	switch (f) {
	case CG_FMT_BF16:
	case CG_FMT_F16:
		L->row_bytes[CG_COMP_Q] = 2 * kk;
		break;
	case CG_FMT_Q8:
		L->row_bytes[CG_COMP_Q] = kk;
		L->row_bytes[CG_COMP_S] = kk / 32 * 2;
		break;
	case CG_FMT_Q4:
		L->row_bytes[CG_COMP_Q] = kk / 2;
		L->row_bytes[CG_COMP_S] = kk / 32 * 2;
		break;
	case CG_FMT_Q4K:
		L->row_bytes[CG_COMP_Q] = kk / 2;
		L->row_bytes[CG_COMP_S] = kk / CG_QK * 16;
		L->row_bytes[CG_COMP_D] = kk / CG_QK * 4;
		break;
	case CG_FMT_Q6K:
		L->row_bytes[CG_COMP_Q] = kk / 2;
		L->row_bytes[CG_COMP_S] = kk / 16;
		L->row_bytes[CG_COMP_D] = kk / CG_QK * 2;
		L->row_bytes[CG_COMP_H] = kk / 4;
		break;
	default:
		return -1;
	}
	uint64_t at = 0;
	for (int c = 0; c < CG_COMP_COUNT_; c++) {
		uint64_t n = L->row_bytes[c] * rows; /* rows < 2^32, row_bytes < 2^34: no overflow */
		if (n == 0)
			continue;
		L->off[c] = at;
		at += cg_align_up(n);
	}
	L->bytes = at;
	return 0;
}

/*
 * The GPU format of a matrix stored as `type` with rows of k elements.
 * quant_bits 8 or 4 quantises float tensors (4 -> 8 when keep8: the output
 * projection). 0, or -1 when the type cannot be used (unknown or
 * unsupported, or k not a multiple of 8).
 */
static inline int cg_fmt_choose(uint32_t type, int quant_bits, bool keep8, uint32_t k, enum cg_fmt *fmt)
{
	const struct dtype_traits *tr = dtype_traits(type);

	if (!tr || !tr->supported || k == 0 || k % 8 != 0 || k % tr->block_elems != 0)
		return -1;
	switch (type) {
	case DTYPE_F32:
	case DTYPE_F16:
	case DTYPE_BF16:
		if ((quant_bits == 8 || (quant_bits == 4 && keep8)) && k % 32 == 0)
			*fmt = CG_FMT_Q8;
		else if (quant_bits == 4 && k % 32 == 0)
			*fmt = CG_FMT_Q4;
		else
			*fmt = type == DTYPE_F16 ? CG_FMT_F16 : CG_FMT_BF16;
		return 0;
	case DTYPE_Q8_0:
		*fmt = CG_FMT_Q8;
		return 0;
	case DTYPE_Q4_0:
		*fmt = CG_FMT_Q4;
		return 0;
	case DTYPE_Q4_K:
		*fmt = CG_FMT_Q4K;
		return 0;
	case DTYPE_Q6_K:
		*fmt = CG_FMT_Q6K;
		return 0;
	default:
		*fmt = CG_FMT_BF16; /* dequantised on the host */
		return 0;
	}
}

/* Whether format f keeps the values of `type` exactly (else they are rounded at load). */
static inline bool cg_fmt_lossless(enum cg_fmt f, uint32_t type)
{
	return (f == CG_FMT_BF16 && type == DTYPE_BF16) || (f == CG_FMT_F16 && type == DTYPE_F16) ||
	       (f == CG_FMT_Q8 && type == DTYPE_Q8_0) || (f == CG_FMT_Q4 && type == DTYPE_Q4_0) ||
	       (f == CG_FMT_Q4K && type == DTYPE_Q4_K) || (f == CG_FMT_Q6K && type == DTYPE_Q6_K);
}

/* --- load-time quantisation (ggml's reference quantisers) -------------------------------------- */

static inline void cg_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* quantize_row_q8_0_ref: d = amax / 127, q = round(x / d); 32 elements -> q[32], d (f16 bits). */
static inline void cg_quant_q8_block(const float *x, uint8_t *q, uint8_t *d_out)
{
	float amax = 0.0f;
	for (int i = 0; i < 32; i++)
		amax = fmaxf(amax, fabsf(x[i]));
	float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
	cg_put_u16(d_out, dtype_f32_to_f16(d));
	for (int i = 0; i < 32; i++)
		q[i] = (uint8_t)(int8_t)roundf(x[i] * id);
}

/* quantize_row_q4_0_ref: d = (signed value of largest magnitude) / -8; 32 elements -> q[16], d. */
static inline void cg_quant_q4_block(const float *x, uint8_t *q, uint8_t *d_out)
{
	float amax = 0.0f, max = 0.0f;
	for (int i = 0; i < 32; i++)
		if (amax < fabsf(x[i])) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
	cg_put_u16(d_out, dtype_f32_to_f16(d));
	for (int i = 0; i < 16; i++) {
		int q0 = (int)(int8_t)(x[i] * id + 8.5f), q1 = (int)(int8_t)(x[i + 16] * id + 8.5f);
		q0 = q0 < 15 ? q0 : 15;
		q1 = q1 < 15 ? q1 : 15;
		q[i] = (uint8_t)(q0 | q1 << 4);
	}
}

/* --- repacking (host) ------------------------------------------------------------------------- */

/* Row 0 of each component of a row range (NULL for components the format lacks). */
struct cg_rows {
	uint8_t *c[CG_COMP_COUNT_];
};

/* The 6-bit scale and min of sub-block j of a Q4_K super-block (ggml's get_scale_min_k4). */
static inline void cg_q4k_scale_min(const uint8_t *q, int j, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (uint8_t)((q[j + 4] & 0x0f) | (q[j - 4] >> 6) << 4);
		*m = (uint8_t)((q[j + 4] >> 4) | (q[j] >> 6) << 4);
	}
}

/* One Q4_K super-block (144 bytes) into 128 bytes of nibbles, 16 bytes of sc/m and 4 of d/dmin. */
static inline void cg_repack_q4k_block(const uint8_t *x, uint8_t *q, uint8_t *s, uint8_t *d)
{
	const uint8_t *qs = x + 16;
	memcpy(d, x, 4);
	for (int j = 0; j < 8; j++) {
		cg_q4k_scale_min(x + 4, j, &s[j], &s[8 + j]);
		/* ggml: element 32j + l is nibble j%2 of qs[32(j/2) + l]. */
		const uint8_t *src = qs + 32 * (j / 2);
		int shift = 4 * (j % 2);
		for (int l = 0; l < 16; l++) {
			int lo = (src[l] >> shift) & 0x0f, hi = (src[l + 16] >> shift) & 0x0f;
			q[16 * j + l] = (uint8_t)(lo | hi << 4);
		}
	}
}

/* One Q6_K super-block (210 bytes) into 128 bytes of low nibbles, 64 of high bits, 16 scales, d. */
static inline void cg_repack_q6k_block(const uint8_t *x, uint8_t *q, uint8_t *h, uint8_t *s, uint8_t *d)
{
	const uint8_t *ql = x, *qh = x + 128;
	uint8_t v[CG_QK];
	for (int hh = 0; hh < 2; hh++)
		for (int k = 0; k < 4; k++)
			for (int l = 0; l < 32; l++) {
				int lo = (ql[64 * hh + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0x0f;
				int hi = (qh[32 * hh + l] >> (2 * k)) & 3;
				v[128 * hh + 32 * k + l] = (uint8_t)(lo | hi << 4);
			}
	for (int c = 0; c < CG_QK / 32; c++) {
		const uint8_t *vc = v + 32 * c;
		for (int l = 0; l < 16; l++)
			q[16 * c + l] = (uint8_t)((vc[l] & 0x0f) | (vc[l + 16] & 0x0f) << 4);
		for (int b = 0; b < 8; b++)
			h[8 * c + b] = (uint8_t)((vc[4 * b] >> 4) | (vc[4 * b + 1] >> 4) << 2 |
			                         (vc[4 * b + 2] >> 4) << 4 | (vc[4 * b + 3] >> 4) << 6);
	}
	memcpy(s, x + 192, 16);
	memcpy(d, x + 208, 2);
}

/*
 * Convert n rows of k elements stored as `type` (src at the first row's
 * bytes, rows back to back as in the file) into format f, writing the rows
 * at dst (each component's first row of the range). tmp holds k floats of
 * scratch. The pair (f, type) must come from cg_fmt_choose.
 */
static inline void cg_repack_rows(enum cg_fmt f, uint32_t type, const uint8_t *src, uint32_t k, uint32_t n,
                                  const struct cg_rows *dst, float *tmp)
{
	const struct dtype_traits *tr = dtype_traits(type);
	struct cg_mat_layout L;
	uint64_t src_row = (uint64_t)k / tr->block_elems * tr->block_bytes;

	cg_mat_layout(f, 1, k, &L);
	for (uint32_t r = 0; r < n; r++) {
		const uint8_t *x = src + r * src_row;
		uint8_t *q = dst->c[CG_COMP_Q] + r * L.row_bytes[CG_COMP_Q];
		uint8_t *s = dst->c[CG_COMP_S] ? dst->c[CG_COMP_S] + r * L.row_bytes[CG_COMP_S] : NULL;
		uint8_t *d = dst->c[CG_COMP_D] ? dst->c[CG_COMP_D] + r * L.row_bytes[CG_COMP_D] : NULL;
		uint8_t *h = dst->c[CG_COMP_H] ? dst->c[CG_COMP_H] + r * L.row_bytes[CG_COMP_H] : NULL;

		if (cg_fmt_lossless(f, type)) {
			switch (f) {
			case CG_FMT_BF16:
			case CG_FMT_F16:
				memcpy(q, x, (size_t)k * 2);
				break;
			case CG_FMT_Q8: /* block_q8_0: f16 d, int8 qs[32] */
				for (uint32_t b = 0; b < k / 32; b++) {
					memcpy(s + 2 * b, x + 34 * b, 2);
					memcpy(q + 32 * b, x + 34 * b + 2, 32);
				}
				break;
			case CG_FMT_Q4: /* block_q4_0: f16 d, u8 qs[16] */
				for (uint32_t b = 0; b < k / 32; b++) {
					memcpy(s + 2 * b, x + 18 * b, 2);
					memcpy(q + 16 * b, x + 18 * b + 2, 16);
				}
				break;
			case CG_FMT_Q4K:
				for (uint32_t b = 0; b < k / CG_QK; b++)
					cg_repack_q4k_block(x + 144 * b, q + 128 * b, s + 16 * b, d + 4 * b);
				break;
			case CG_FMT_Q6K:
				for (uint32_t b = 0; b < k / CG_QK; b++)
					cg_repack_q6k_block(x + 210 * b, q + 128 * b, h + 64 * b, s + 16 * b,
					                    d + 2 * b);
				break;
			default:
				break;
			}
			continue;
		}
		dtype_dequant(type, x, tmp, k);
		switch (f) {
		case CG_FMT_Q8:
			for (uint32_t b = 0; b < k / 32; b++)
				cg_quant_q8_block(tmp + 32 * b, q + 32 * b, s + 2 * b);
			break;
		case CG_FMT_Q4:
			for (uint32_t b = 0; b < k / 32; b++)
				cg_quant_q4_block(tmp + 32 * b, q + 16 * b, s + 2 * b);
			break;
		case CG_FMT_F16:
			for (uint32_t i = 0; i < k; i++)
				cg_put_u16(q + 2 * i, dtype_f32_to_f16(tmp[i]));
			break;
		default: /* BF16: round to nearest even, as torch */
			for (uint32_t i = 0; i < k; i++)
				cg_put_u16(q + 2 * i, dtype_f32_to_bf16(tmp[i]));
			break;
		}
	}
}

/*
 * Chunk c of row r of a matrix in format f, decoded to floats (cg_fmt_chunk
 * elements, in element order). rows: component row-0 pointers of the whole
 * matrix; L its layout. The device kernels do the same with vector loads.
 */
static inline void cg_decode_chunk_host(enum cg_fmt f, const struct cg_rows *m, const struct cg_mat_layout *L,
                                        uint32_t r, uint32_t c, float *out)
{
	const uint8_t *q = m->c[CG_COMP_Q] + r * L->row_bytes[CG_COMP_Q];
	const uint8_t *s = m->c[CG_COMP_S] ? m->c[CG_COMP_S] + r * L->row_bytes[CG_COMP_S] : NULL;
	const uint8_t *d = m->c[CG_COMP_D] ? m->c[CG_COMP_D] + r * L->row_bytes[CG_COMP_D] : NULL;
	const uint8_t *h = m->c[CG_COMP_H] ? m->c[CG_COMP_H] + r * L->row_bytes[CG_COMP_H] : NULL;

	switch (f) {
	case CG_FMT_BF16:
		cg_decode_bf16(q + 16 * c, out);
		break;
	case CG_FMT_F16:
		cg_decode_f16(q + 16 * c, out);
		break;
	case CG_FMT_Q8:
		cg_decode_q8(q + 16 * c, cg_f16_to_f32(cg_u16_le(s + 2 * (c / 2))), out);
		break;
	case CG_FMT_Q4:
		cg_decode_q4(q + 16 * c, cg_f16_to_f32(cg_u16_le(s + 2 * c)), out);
		break;
	case CG_FMT_Q4K: {
		uint32_t sb = c / 8, j = c % 8;
		float d1, m1;
		cg_q4k_factors(cg_u16_le(d + 4 * sb), cg_u16_le(d + 4 * sb + 2), s[16 * sb + j],
		               s[16 * sb + 8 + j], &d1, &m1);
		cg_decode_q4k(q + 16 * c, d1, m1, out);
		break;
	}
	case CG_FMT_Q6K: {
		float dd = cg_f16_to_f32(cg_u16_le(d + 2 * (c / 8)));
		float dl0 = dd * (float)(int8_t)s[2 * c], dl1 = dd * (float)(int8_t)s[2 * c + 1];
		cg_decode_q6k(q + 16 * c, h + 8 * c, dl0, dl1, out);
		break;
	}
	default:
		break;
	}
}

/* Row r decoded to k floats. */
static inline void cg_unpack_row(enum cg_fmt f, const struct cg_rows *m, const struct cg_mat_layout *L,
                                 uint32_t r, uint32_t k, float *out)
{
	uint32_t ch = cg_fmt_chunk(f);
	for (uint32_t c = 0; c < k / ch; c++)
		cg_decode_chunk_host(f, m, L, r, c, out + (size_t)c * ch);
}

#endif
