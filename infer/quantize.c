/*
 * quantize.c — f32 to F16, BF16 and ggml's block types (infer/quantize.h).
 * Block layouts are ggml-common.h's, as infer/dtype.c reads them. The legacy
 * types follow gguf-py's quants.py line by line: every intermediate is a
 * float32 computed in the order numpy computes it, so the bytes are equal.
 * Calls only dtype.h's half-precision conversions, which are themselves
 * checked against numpy.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "infer/dtype.h"
#include "infer/quantize.h"

#define QK   32  /* elements per legacy block */
#define QK_K 256 /* elements per K-quant super-block */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

static void put_f16(uint8_t *p, float f)
{
	put_u16(p, dtype_f32_to_f16(f));
}

/* ---- legacy blocks, as gguf-py ------------------------------------------------ */

/* Q8_0: d = max|x| / 127, q = np_roundf(x / d) (half away from zero, which roundf is). */
static void q8_0_block(const float *x, uint8_t *y)
{
	float amax = 0, d, id;

	for (int j = 0; j < QK; j++)
		if (fabsf(x[j]) > amax)
			amax = fabsf(x[j]);
	d = amax / 127.0f;
	id = d == 0 ? 0.0f : 1.0f / d;
	put_f16(y, d);
	for (int j = 0; j < QK; j++) {
		float v = x[j] * id;
		y[2 + j] = (uint8_t)(int8_t)roundf(v);
	}
}

/* The element of largest magnitude, the first one on ties (numpy argmax), sign kept. */
static float signed_absmax(const float *x, int n)
{
	float amax = 0, max = 0;

	for (int j = 0; j < n; j++)
		if (fabsf(x[j]) > amax) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	return max;
}

static void min_max(const float *x, int n, float *min, float *max)
{
	*min = *max = x[0];
	for (int j = 1; j < n; j++) {
		if (x[j] < *min)
			*min = x[j];
		if (x[j] > *max)
			*max = x[j];
	}
}

/* np.trunc(v).astype(np.uint8).clip(0, top) for v in [0, top + 1]. */
static uint8_t trunc_clip(float v, uint8_t top)
{
	float t = truncf(v);
	uint8_t q = t <= 0 ? 0 : t >= 255 ? 255 : (uint8_t)t;
	return q > top ? top : q;
}

/* Q4_0: d = max / -8, q = trunc(x / d + 8.5) clipped to 0..15; nibbles j and j + 16 share a byte. */
static void q4_0_block(const float *x, uint8_t *y)
{
	float d = signed_absmax(x, QK) / -8.0f;
	float id = d == 0 ? 0.0f : 1.0f / d;
	uint8_t q[QK];

	for (int j = 0; j < QK; j++) {
		float v = x[j] * id;
		q[j] = trunc_clip(v + 8.5f, 15);
	}
	put_f16(y, d);
	for (int j = 0; j < QK / 2; j++)
		y[2 + j] = (uint8_t)(q[j] | q[j + QK / 2] << 4);
}

/* Q4_1: d = (max - min) / 15, m = min, q = trunc((x - min) / d + 0.5) clipped to 0..15. */
static void q4_1_block(const float *x, uint8_t *y)
{
	float min, max, d, id;
	uint8_t q[QK];

	min_max(x, QK, &min, &max);
	d = (max - min) / 15.0f;
	id = d == 0 ? 0.0f : 1.0f / d;
	for (int j = 0; j < QK; j++) {
		float v = (x[j] - min) * id;
		q[j] = trunc_clip(v + 0.5f, 15);
	}
	put_f16(y, d);
	put_f16(y + 2, min);
	for (int j = 0; j < QK / 2; j++)
		y[4 + j] = (uint8_t)(q[j] | q[j + QK / 2] << 4);
}

/* The fifth bits of 32 five-bit values, as a little-endian u32 (bit j = value j). */
static void put_qh(uint8_t *p, const uint8_t *q)
{
	memset(p, 0, 4);
	for (int j = 0; j < QK; j++)
		p[j / 8] |= (uint8_t)((q[j] >> 4 & 1) << (j % 8));
}

/* Q5_0: d = max / -16, q = trunc(x / d + 16.5) clipped to 0..31. */
static void q5_0_block(const float *x, uint8_t *y)
{
	float d = signed_absmax(x, QK) / -16.0f;
	float id = d == 0 ? 0.0f : 1.0f / d;
	uint8_t q[QK];

	for (int j = 0; j < QK; j++) {
		float v = x[j] * id;
		q[j] = trunc_clip(v + 16.5f, 31);
	}
	put_f16(y, d);
	put_qh(y + 2, q);
	for (int j = 0; j < QK / 2; j++)
		y[6 + j] = (uint8_t)((q[j] & 0x0f) | q[j + QK / 2] << 4);
}

/* Q5_1: d = (max - min) / 31, m = min, q = trunc((x - min) / d + 0.5) clipped to 0..31. */
static void q5_1_block(const float *x, uint8_t *y)
{
	float min, max, d, id;
	uint8_t q[QK];

	min_max(x, QK, &min, &max);
	d = (max - min) / 31.0f;
	id = d == 0 ? 0.0f : 1.0f / d;
	for (int j = 0; j < QK; j++) {
		float v = (x[j] - min) * id;
		q[j] = trunc_clip(v + 0.5f, 31);
	}
	put_f16(y, d);
	put_f16(y + 2, min);
	put_qh(y + 4, q);
	for (int j = 0; j < QK / 2; j++)
		y[8 + j] = (uint8_t)((q[j] & 0x0f) | q[j + QK / 2] << 4);
}

/* ---- K-quants: valid blocks, not llama.cpp's choice of scales --------------------- */

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int nearest(float v)
{
	return (int)lrintf(v);
}

/*
 * Q4_K and Q5_K share their scales: eight sub-blocks of 32, each with a
 * 6-bit scale and a 6-bit min (value = d * sc * q - dmin * m), packed as
 * ggml's get_scale_min_k4 unpacks them. Fills L[256] with 0..top.
 */
static void qk_scale_min(const float *x, int top, uint8_t *y_d, uint8_t *y_scales, uint8_t *L)
{
	float scales[8], mins[8], max_scale = 0, max_min = 0, dq, mq;
	uint8_t ls[8], lm[8];

	for (int j = 0; j < 8; j++) {
		float mn, mx;
		min_max(x + 32 * j, 32, &mn, &mx);
		if (mn > 0)
			mn = 0;
		scales[j] = (mx - mn) / (float)top;
		mins[j] = -mn;
		if (scales[j] > max_scale)
			max_scale = scales[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}
	put_f16(y_d, max_scale / 63.0f);
	put_f16(y_d + 2, max_min / 63.0f);
	dq = dtype_f16_to_f32(dtype_f32_to_f16(max_scale / 63.0f));
	mq = dtype_f16_to_f32(dtype_f32_to_f16(max_min / 63.0f));
	for (int j = 0; j < 8; j++) {
		ls[j] = (uint8_t)(dq > 0 ? clamp_int(nearest(scales[j] / dq), 0, 63) : 0);
		lm[j] = (uint8_t)(mq > 0 ? clamp_int(nearest(mins[j] / mq), 0, 63) : 0);
	}
	memset(y_scales, 0, 12);
	for (int j = 0; j < 8; j++) {
		if (j < 4) {
			y_scales[j] = ls[j];
			y_scales[j + 4] = lm[j];
		} else {
			y_scales[j + 4] = (uint8_t)((ls[j] & 0xf) | (lm[j] & 0xf) << 4);
			y_scales[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
			y_scales[j] |= (uint8_t)((lm[j] >> 4) << 6);
		}
	}
	for (int j = 0; j < 8; j++) {
		float sc = dq * ls[j], m = mq * lm[j];
		for (int l = 0; l < 32; l++)
			L[32 * j + l] =
			        (uint8_t)(sc > 0 ? clamp_int(nearest((x[32 * j + l] + m) / sc), 0, top) : 0);
	}
}

/* block_q4_K: d, dmin (f16), scales[12], qs[128]. */
static void q4_k_block(const float *x, uint8_t *y)
{
	uint8_t L[QK_K];

	qk_scale_min(x, 15, y, y + 4, L);
	for (int n = 0; n < QK_K; n += 64)
		for (int l = 0; l < 32; l++)
			y[16 + n / 2 + l] = (uint8_t)(L[n + l] | L[n + l + 32] << 4);
}

/* block_q5_K: d, dmin (f16), scales[12], qh[32], qs[128]. */
static void q5_k_block(const float *x, uint8_t *y)
{
	uint8_t L[QK_K], *qh = y + 16, *ql = y + 48, m1 = 1, m2 = 2;

	qk_scale_min(x, 31, y, y + 4, L);
	memset(qh, 0, 32);
	for (int n = 0; n < QK_K; n += 64) {
		for (int j = 0; j < 32; j++) {
			int l1 = L[n + j], l2 = L[n + j + 32];
			if (l1 > 15) {
				l1 -= 16;
				qh[j] |= m1;
			}
			if (l2 > 15) {
				l2 -= 16;
				qh[j] |= m2;
			}
			ql[j] = (uint8_t)(l1 | l2 << 4);
		}
		m1 = (uint8_t)(m1 << 2);
		m2 = (uint8_t)(m2 << 2);
		ql += 32;
	}
}

/* block_q6_K: ql[128], qh[64], scales[16] (int8), d (f16); value = d * scale * (q - 32). */
static void q6_k_block(const float *x, uint8_t *y)
{
	float scales[16], max_scale = 0, iscale, dq;
	uint8_t L[QK_K], *ql = y, *qh = y + 128;
	int8_t *sc = (int8_t *)(y + 192);

	for (int ib = 0; ib < 16; ib++) {
		scales[ib] = signed_absmax(x + 16 * ib, 16) / -32.0f;
		if (fabsf(scales[ib]) > fabsf(max_scale))
			max_scale = scales[ib];
	}
	iscale = max_scale == 0 ? 0.0f : -128.0f / max_scale;
	for (int ib = 0; ib < 16; ib++)
		sc[ib] = (int8_t)clamp_int(nearest(iscale * scales[ib]), -128, 127);
	put_f16(y + 208, iscale == 0 ? 0.0f : 1.0f / iscale);
	dq = dtype_f16_to_f32(dtype_f32_to_f16(iscale == 0 ? 0.0f : 1.0f / iscale));
	for (int ib = 0; ib < 16; ib++) {
		float d = dq * sc[ib];
		for (int i = 0; i < 16; i++)
			L[16 * ib + i] =
			        (uint8_t)(d != 0 ? clamp_int(nearest(x[16 * ib + i] / d), -32, 31) + 32 : 32);
	}
	for (int j = 0; j < QK_K; j += 128) {
		for (int l = 0; l < 32; l++) {
			ql[l] = (uint8_t)((L[j + l] & 0xf) | (L[j + l + 64] & 0xf) << 4);
			ql[l + 32] = (uint8_t)((L[j + l + 32] & 0xf) | (L[j + l + 96] & 0xf) << 4);
			qh[l] = (uint8_t)((L[j + l] >> 4) | (L[j + l + 32] >> 4) << 2 |
			                  (L[j + l + 64] >> 4) << 4 | (L[j + l + 96] >> 4) << 6);
		}
		ql += 64;
		qh += 32;
	}
}

/* ---- dispatch ------------------------------------------------------------------ */

typedef void (*block_fn)(const float *x, uint8_t *y);

static block_fn block_quantizer(uint32_t type)
{
	switch (type) {
	case DTYPE_Q8_0:
		return q8_0_block;
	case DTYPE_Q4_0:
		return q4_0_block;
	case DTYPE_Q4_1:
		return q4_1_block;
	case DTYPE_Q5_0:
		return q5_0_block;
	case DTYPE_Q5_1:
		return q5_1_block;
	case DTYPE_Q4_K:
		return q4_k_block;
	case DTYPE_Q5_K:
		return q5_k_block;
	case DTYPE_Q6_K:
		return q6_k_block;
	default:
		return NULL;
	}
}

bool quantize_supported(uint32_t type)
{
	return type == DTYPE_F32 || type == DTYPE_F16 || type == DTYPE_BF16 || block_quantizer(type) != NULL;
}

bool quantize_matches_gguf_py(uint32_t type)
{
	return quantize_supported(type) && type != DTYPE_Q4_K && type != DTYPE_Q5_K && type != DTYPE_Q6_K;
}

int quantize_row(uint32_t type, const float *src, void *dst, size_t n_elems)
{
	const struct dtype_traits *tr = dtype_traits(type);
	uint8_t *out = dst;
	block_fn fn;

	if (!tr || !quantize_supported(type) || n_elems % tr->block_elems != 0)
		return -1;
	switch (type) {
	case DTYPE_F32:
		memcpy(dst, src, n_elems * sizeof *src);
		return 0;
	case DTYPE_F16:
		for (size_t i = 0; i < n_elems; i++)
			put_u16(out + 2 * i, dtype_f32_to_f16(src[i]));
		return 0;
	case DTYPE_BF16:
		for (size_t i = 0; i < n_elems; i++)
			put_u16(out + 2 * i, dtype_f32_to_bf16(src[i]));
		return 0;
	default:
		break;
	}
	fn = block_quantizer(type);
	for (size_t b = 0; b < n_elems / tr->block_elems; b++)
		fn(src + b * tr->block_elems, out + b * tr->block_bytes);
	return 0;
}
