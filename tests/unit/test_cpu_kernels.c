/*
 * test_cpu_kernels.c — the CPU backend's kernels (infer/cpu_kernels.h) at
 * every SIMD level this machine has, against dtype_dequant (checked bit for
 * bit against gguf-py elsewhere) and double-precision dot products.
 *
 * Tolerances, per output element:
 *  - against the activations as the kernels quantised them (x^ = d * q):
 *    only float rounding remains. Every term a kernel accumulates for a
 *    block is at most |scale| * QS * sum |x^| over the block, QS being the
 *    largest integer weight x integer scale product the type can form (the
 *    kernels fold offsets such as Q8_0's +128 bias into such terms), and
 *    each of the at most nb + 16 sequential float operations on the way to
 *    the sum rounds by 2^-24 relative: tol = (nb + 16) 2^-23 sum_b QS
 *    (|d_b| + |m_b|) sum_i |x^_i|.
 *  - against the exact f32 activations: additionally the activation
 *    rounding, |x - x^| <= d_a (1/2 + e) per element with e = 127 * 2^-11
 *    for the 32-blocks (q is rounded with 127 / amax, d to half precision,
 *    as llama.cpp does) and 127 * 2^-23 for the 256-blocks (f32 d), so
 *    sum_i |w_i| d_a(i) (1/2 + e).
 * Q4_1 and Q5_1 multiply their block minimum m by llama.cpp's half-precision
 * s = half(amax / 127 * sum q) rather than by d * sum q: the x^ reference
 * does the same, and the bound against x adds |m| |s - d sum q| per block.
 * Weights sit at odd addresses, activation rows at unaligned strides, and
 * row/token counts are odd so every tile shape and tail runs.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/cpu_kernels.h"
#include "infer/dtype.h"
#include "tests/tap.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_u32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static float rng_uniform(float lo, float hi)
{
	return lo + (hi - lo) * (float)(rng_u32() & 0xffffff) / (float)0x1000000;
}

static void put_f16(uint8_t *p, float f)
{
	uint16_t h = dtype_f32_to_f16(f);
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(h >> 8);
}

static float half(float f)
{
	return dtype_f16_to_f32(dtype_f32_to_f16(f));
}

static float get_f16(const uint8_t *p)
{
	return dtype_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

/* Where a block keeps its half scale d and its half min/dmin (-1: none). */
static void scale_offsets(uint32_t type, int *d_at, int *m_at)
{
	*m_at = -1;
	switch (type) {
	case DTYPE_Q4_1:
	case DTYPE_Q5_1:
	case DTYPE_Q4_K:
	case DTYPE_Q5_K:
		*d_at = 0;
		*m_at = 2;
		break;
	case DTYPE_Q2_K:
		*d_at = 80;
		*m_at = 82;
		break;
	case DTYPE_Q3_K:
		*d_at = 108;
		break;
	case DTYPE_Q6_K:
		*d_at = 208;
		break;
	default:
		*d_at = 0;
		break;
	}
}

/* Largest |integer weight x integer scale| a kernel can form for the type (see the top). */
static double type_qs(uint32_t type)
{
	switch (type) {
	case DTYPE_Q4_0:
		return 15 + 8;
	case DTYPE_Q4_1:
		return 15;
	case DTYPE_Q5_0:
		return 31 + 16;
	case DTYPE_Q5_1:
		return 31;
	case DTYPE_Q8_0:
		return 255 + 128;
	case DTYPE_Q2_K:
		return 3 * 15 + 15;
	case DTYPE_Q3_K:
		return 8 * 32 + 4 * 32;
	case DTYPE_Q4_K:
		return 15 * 63 + 63;
	case DTYPE_Q5_K:
		return 31 * 63 + 63;
	case DTYPE_Q6_K:
		return 64 * 128 + 32 * 128;
	default:
		return 1;
	}
}

/* rows x k weights of a type: random bytes with sane half scales, or random floats. */
static void fill_weights(uint32_t type, uint8_t *w, uint32_t rows, uint32_t k)
{
	const struct dtype_traits *tr = dtype_traits(type);
	uint64_t n_bytes;
	int d_at, m_at;

	dtype_bytes(type, (uint64_t)rows * k, &n_bytes);
	if (type == DTYPE_F32) {
		for (uint64_t i = 0; i < (uint64_t)rows * k; i++) {
			float f = rng_uniform(-1.0f, 1.0f);
			memcpy(w + 4 * i, &f, 4);
		}
		return;
	}
	if (type == DTYPE_F16 || type == DTYPE_BF16) {
		for (uint64_t i = 0; i < (uint64_t)rows * k; i++) {
			float f = rng_uniform(-1.0f, 1.0f);
			uint16_t h = type == DTYPE_F16 ? dtype_f32_to_f16(f) : dtype_f32_to_bf16(f);
			w[2 * i] = (uint8_t)h;
			w[2 * i + 1] = (uint8_t)(h >> 8);
		}
		return;
	}
	for (uint64_t i = 0; i < n_bytes; i++)
		w[i] = (uint8_t)rng_u32();
	scale_offsets(type, &d_at, &m_at);
	for (uint64_t b = 0; b < n_bytes / tr->block_bytes; b++) {
		uint8_t *blk = w + b * tr->block_bytes;
		put_f16(blk + d_at, rng_uniform(-0.02f, 0.02f));
		if (m_at >= 0)
			put_f16(blk + m_at, rng_uniform(-0.05f, 0.05f));
	}
}

/* Activations in [-2, 2] with a few outliers; block 1 of row 0 all zero (d = 0). */
static void fill_acts(float *x, uint32_t n, uint32_t k, size_t ld)
{
	for (uint32_t t = 0; t < n; t++)
		for (uint32_t i = 0; i < k; i++) {
			float v = rng_uniform(-2.0f, 2.0f);
			if (rng_u32() % 97 == 0)
				v *= 20.0f;
			if (t == 0 && i >= 32 && i < 64)
				v = 0.0f;
			x[t * ld + i] = v;
		}
}

struct setup {
	uint32_t type, k, rows, n;
	uint8_t *w_mem, *w; /* w is at an odd address */
	size_t rb;
	float *x_mem, *x; /* x at a 4-byte (not 32-byte) aligned address */
	size_t ld;
	void *act_mem;
	struct cpu_act act;
	float *wd; /* dequantised weights, rows x k */
};

static void setup_init(struct setup *s, uint32_t type, uint32_t k, uint32_t rows, uint32_t n)
{
	uint64_t rb;

	memset(s, 0, sizeof *s);
	s->type = type;
	s->k = k;
	s->rows = rows;
	s->n = n;
	dtype_bytes(type, k, &rb);
	s->rb = (size_t)rb;
	s->w_mem = malloc(s->rb * rows + 16);
	s->w = s->w_mem + 3;
	fill_weights(type, s->w, rows, k);
	s->ld = k + 3;
	s->x_mem = malloc(sizeof(float) * (s->ld * n + 8));
	s->x = s->x_mem + 1;
	fill_acts(s->x, n, k, s->ld);
	s->act_mem = aligned_alloc(64, (cpu_act_bytes(n, k) + 63) & ~(size_t)63);
	cpu_act_init(&s->act, s->act_mem, n, k, s->x, s->ld);
	s->wd = malloc(sizeof(float) * (size_t)rows * k);
	for (uint32_t r = 0; r < rows; r++)
		dtype_dequant(type, s->w + r * s->rb, s->wd + (size_t)r * k, k);
}

static void setup_free(struct setup *s)
{
	free(s->w_mem);
	free(s->x_mem);
	free(s->act_mem);
	free(s->wd);
}

/* The activation element as the kernel sees it, and its rounding bound d/2. */
static double act_hat(const struct setup *s, enum cpu_actq form, uint32_t t, uint32_t i, double *half_step)
{
	if (form == CPU_ACTQ_Q8_32) {
		double d = s->act.d32[t * (s->k / 32) + i / 32];
		*half_step = d * (0.5 + 127 * ldexp(1.0, -11));
		return d * s->act.q32[(size_t)t * s->k + i];
	}
	if (form == CPU_ACTQ_Q8_256) {
		double d = s->act.d256[t * (s->k / 256) + i / 256];
		*half_step = d * (0.5 + 127 * ldexp(1.0, -23));
		return d * s->act.q256[(size_t)t * s->k + i];
	}
	*half_step = 0;
	return s->x[t * s->ld + i];
}

/*
 * One matmul at the active level checked element by element; worst[0] and
 * worst[1] receive the largest error / tolerance against x^ and against x.
 */
static int check_matmul(struct setup *s, const char *level, double worst[2])
{
	enum cpu_actq form = cpu_actq_for(s->type);
	const struct dtype_traits *tr = dtype_traits(s->type);
	size_t ldo = s->rows + 2;
	float *out = malloc(sizeof(float) * ldo * s->n);
	int ok = 1, d_at = 0, m_at = -1;
	uint32_t be = tr->block_elems > 1 ? tr->block_elems : 8;
	double qs = type_qs(s->type);

	scale_offsets(s->type, &d_at, &m_at);
	cpu_act_quantize(&s->act, form, 0, 1);
	cpu_matmul(s->type, s->w, s->k, 0, s->rows, &s->act, out, ldo);
	worst[0] = worst[1] = 0;
	for (uint32_t t = 0; t < s->n && ok; t++)
		for (uint32_t r = 0; r < s->rows && ok; r++) {
			const float *wr = s->wd + (size_t)r * s->k;
			double ref_hat = 0, ref_x = 0, tol_f = 0, tol_q = 0, sum_wx = 0;
			uint32_t nb = (s->k + be - 1) / be;
			for (uint32_t b = 0; b < nb; b++) {
				double sum_abs_xh = 0, scale = 1;
				if (tr->block_elems > 1) {
					const uint8_t *blk = s->w + r * s->rb + (size_t)b * tr->block_bytes;
					scale = fabs(get_f16(blk + d_at)) +
					        (m_at >= 0 ? fabs(get_f16(blk + m_at)) : 0);
				}
				for (uint32_t i = b * be; i < (b + 1) * be && i < s->k; i++) {
					double hs, xh = act_hat(s, form, t, i, &hs), xv = s->x[t * s->ld + i];
					ref_hat += (double)wr[i] * xh;
					ref_x += (double)wr[i] * xv;
					sum_abs_xh += fabs(xh);
					sum_wx += fabs((double)wr[i] * xv);
					tol_q += fabs(wr[i]) * hs * (1 + 1e-6);
				}
				tol_f += tr->block_elems > 1 ? qs * scale * sum_abs_xh : 0;
				if (s->type == DTYPE_Q4_1 || s->type == DTYPE_Q5_1) {
					const uint8_t *blk = s->w + r * s->rb + (size_t)b * tr->block_bytes;
					size_t bi = t * (s->k / 32) + b;
					double m = get_f16(blk + 2),
					       ds = (double)s->act.s32[bi] - s->act.o32[bi];
					ref_hat += m * ds;
					tol_q += fabs(m * ds);
				}
			}
			if (tr->block_elems == 1)
				tol_f = sum_wx;
			tol_f *= (nb + 16) * ldexp(1.0, -23);
			tol_f += 1e-30;
			double got = out[t * ldo + r], e1 = fabs(got - ref_hat), e2 = fabs(got - ref_x);
			if (e1 / tol_f > worst[0])
				worst[0] = e1 / tol_f;
			if (e2 / (tol_f + tol_q) > worst[1])
				worst[1] = e2 / (tol_f + tol_q);
			if (!(e1 <= tol_f && e2 <= tol_f + tol_q)) {
				tap_diag("  %s %s k=%u row %u token %u: got %.9g, want %.9g (exact x: %.9g), "
				         "tolerance %.3g (+%.3g)",
				         level, tr->name, s->k, r, t, got, ref_hat, ref_x, tol_f, tol_q);
				ok = 0;
			}
		}
	free(out);
	return ok;
}

/*
 * Splitting the rows differently (as threads do) must not change a single
 * bit; nor, when by_token, multiplying the tokens one at a time (decode)
 * rather than together: promised below 16 tokens (cpu_kernels.h).
 */
static int check_tiling_invariance(struct setup *s, bool by_token)
{
	enum cpu_actq form = cpu_actq_for(s->type);
	size_t ldo = s->rows;
	float *full = malloc(sizeof(float) * ldo * s->n), *part = malloc(sizeof(float) * ldo * s->n);
	uint32_t split = s->rows / 2 + 1;
	int ok = 1;

	cpu_act_quantize(&s->act, form, 0, 1);
	cpu_matmul(s->type, s->w, s->k, 0, s->rows, &s->act, full, ldo);
	if (!by_token) {
		cpu_matmul(s->type, s->w, s->k, 0, split, &s->act, part, ldo);
		cpu_matmul(s->type, s->w, s->k, split, s->rows, &s->act, part, ldo);
	}
	/* Rows in two uneven parts, each token alone (as decode runs). */
	for (uint32_t t = 0; by_token && t < s->n; t++) {
		struct cpu_act one = s->act;
		one.n = 1;
		one.f32 = s->act.f32 + t * s->act.f32_ld;
		one.q32 = s->act.q32 + (size_t)t * s->k;
		one.d32 = s->act.d32 + t * (s->k / 32);
		one.s32 = s->act.s32 + t * (s->k / 32);
		one.o32 = s->act.o32 + t * (s->k / 32);
		one.q256 = s->act.q256 + (size_t)t * s->k;
		one.d256 = s->act.d256 + t * (s->k / 256);
		one.bs256 = s->act.bs256 + t * (s->k / 16);
		cpu_matmul(s->type, s->w, s->k, 0, split, &one, part + t * ldo, ldo);
		cpu_matmul(s->type, s->w, s->k, split, s->rows, &one, part + t * ldo, ldo);
	}
	if (memcmp(full, part, sizeof(float) * ldo * s->n) != 0) {
		for (size_t i = 0; i < ldo * s->n; i++)
			if (memcmp(&full[i], &part[i], sizeof(float)) != 0) {
				tap_diag("  element %zu: batch %.9g, token by token %.9g", i, full[i],
				         part[i]);
				break;
			}
		ok = 0;
	}
	free(full);
	free(part);
	return ok;
}

static const uint32_t all_types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q4_0, DTYPE_Q4_1,
                                     DTYPE_Q5_0, DTYPE_Q5_1, DTYPE_Q8_0, DTYPE_Q2_K, DTYPE_Q3_K,
                                     DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};

static void test_matmuls(enum cpu_simd level)
{
	const char *name = cpu_simd_name(level);
	static const uint32_t k32[] = {32, 96, 4224}, k256[] = {256, 768}, kf[] = {13, 64, 203};
	/* 17 and 37 tokens: whole groups of 16 through a level's batch kernel plus a remainder. */
	static const uint32_t rows[] = {1, 7, 13}, toks[] = {1, 2, 5, 9, 17, 37};

	for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++) {
		uint32_t type = all_types[ti];
		const struct dtype_traits *tr = dtype_traits(type);
		const uint32_t *ks = tr->block_elems == 32 ? k32 : tr->block_elems == 256 ? k256 : kf;
		size_t nk = tr->block_elems == 32 ? 3 : tr->block_elems == 256 ? 2 : 3;
		int n_ok = 0, n_all = 0;
		double worst[2] = {0, 0};

		for (size_t a = 0; a < nk; a++)
			for (size_t b = 0; b < 3; b++)
				for (size_t c = 0; c < 6; c++) {
					struct setup s;
					double w[2];
					if (ks[a] > 1000 && (rows[b] > 7 || toks[c] > 5))
						continue; /* keep the long rows cheap at -O0 */
					setup_init(&s, type, ks[a], rows[b], toks[c]);
					n_all++;
					n_ok += check_matmul(&s, name, w);
					worst[0] = fmax(worst[0], w[0]);
					worst[1] = fmax(worst[1], w[1]);
					setup_free(&s);
				}
		if (!tap_ok(n_ok == n_all,
		            "%s %s: %d shapes within tolerance (worst error / tolerance: %.3g vs x^, %.3g vs "
		            "x)",
		            name, tr->name, n_all, worst[0], worst[1]))
			tap_diag("  %d of %d shapes failed", n_all - n_ok, n_all);

		struct setup s;
		setup_init(&s, type, ks[nk > 1 ? 1 : 0], 13, 9);
		tap_ok(check_tiling_invariance(&s, true),
		       "%s %s: 9 tokens give the bits of 9 single-token products", name, tr->name);
		setup_free(&s);
		setup_init(&s, type, ks[nk > 1 ? 1 : 0], 13, 37);
		tap_ok(check_tiling_invariance(&s, false),
		       "%s %s: rows split anywhere give the same bits (37 tokens)", name, tr->name);
		setup_free(&s);
	}
}

/* The quantised activations: the stated rounding, the sums, and the same bytes at every level. */
static void test_act_quantize(enum cpu_simd level, const struct setup *ref32, const struct setup *ref256)
{
	const char *name = cpu_simd_name(level);
	struct setup s;
	int ok = 1;

	setup_init(&s, DTYPE_Q8_0, 512, 1, 5);
	memcpy(s.x_mem, ref32->x_mem, sizeof(float) * (s.ld * s.n + 8));
	/* Split across three "threads" to exercise the block ranges. */
	for (int i = 0; i < 3; i++) {
		cpu_act_quantize(&s.act, CPU_ACTQ_Q8_32, i, 3);
		cpu_act_quantize(&s.act, CPU_ACTQ_Q8_256, i, 3);
	}
	for (uint32_t t = 0; t < s.n && ok; t++)
		for (uint32_t b = 0; b < s.k / 32 && ok; b++) {
			float amax = 0;
			int sum = 0;
			for (int i = 0; i < 32; i++)
				amax = fmaxf(amax, fabsf(s.x[t * s.ld + 32 * b + i]));
			float d = s.act.d32[t * (s.k / 32) + b], want_d = half(amax / 127.0f);
			if (d != want_d) {
				tap_diag("  row %u block %u: d %.9g, want %.9g", t, b, d, want_d);
				ok = 0;
			}
			for (int i = 0; i < 32; i++) {
				int q = s.act.q32[(size_t)t * s.k + 32 * b + i];
				double err = fabs((double)s.x[t * s.ld + 32 * b + i] - (double)d * q);
				sum += q;
				if (err > d * (0.5 + 127 * ldexp(1.0, -11)) || q < -127 || q > 127) {
					tap_diag("  row %u elem %u: q %d d %.9g x %.9g", t, 32 * b + i, q, d,
					         s.x[t * s.ld + 32 * b + i]);
					ok = 0;
				}
			}
			float want_s = half(amax / 127.0f * (float)sum);
			if (s.act.s32[t * (s.k / 32) + b] != want_s ||
			    s.act.o32[t * (s.k / 32) + b] != d * (float)sum) {
				tap_diag("  row %u block %u: s %.9g o %.9g, want %.9g, %.9g", t, b,
				         s.act.s32[t * (s.k / 32) + b], s.act.o32[t * (s.k / 32) + b], want_s,
				         d * (float)sum);
				ok = 0;
			}
		}
	for (uint32_t t = 0; t < s.n && ok; t++)
		for (uint32_t g = 0; g < s.k / 16 && ok; g++) {
			float d = s.act.d256[t * (s.k / 256) + g / 16], amax = 0;
			int sum = 0;
			for (int i = 0; i < 256; i++)
				amax = fmaxf(amax, fabsf(s.x[t * s.ld + 256 * (g / 16) + i]));
			if (d != (amax != 0 ? 1.0f / (127.0f / amax) : 0.0f))
				ok = 0;
			for (int i = 0; i < 16; i++) {
				int q = s.act.q256[(size_t)t * s.k + 16 * g + i];
				double err = fabs((double)s.x[t * s.ld + 16 * g + i] - (double)d * q);
				sum += q;
				if (err > d * (0.5 + 127 * ldexp(1.0, -23)) || q < -127 || q > 127)
					ok = 0;
			}
			if (sum != s.act.bs256[t * (s.k / 16) + g])
				ok = 0;
		}
	tap_ok(ok, "%s: activations quantised as llama.cpp does, within the stated bound, sums consistent",
	       name);
	if (ref256) {
		int same = memcmp(s.act.q32, ref32->act.q32, s.n * s.k) == 0 &&
		           memcmp(s.act.d32, ref32->act.d32, sizeof(float) * s.n * (s.k / 32)) == 0 &&
		           memcmp(s.act.s32, ref32->act.s32, sizeof(float) * s.n * (s.k / 32)) == 0 &&
		           memcmp(s.act.o32, ref32->act.o32, sizeof(float) * s.n * (s.k / 32)) == 0 &&
		           memcmp(s.act.q256, ref256->act.q256, s.n * s.k) == 0 &&
		           memcmp(s.act.d256, ref256->act.d256, sizeof(float) * s.n * (s.k / 256)) == 0 &&
		           memcmp(s.act.bs256, ref256->act.bs256, sizeof(int16_t) * s.n * (s.k / 16)) == 0;
		tap_ok(same, "%s: quantised activations identical to the portable level's", name);
	}
	setup_free(&s);
}

static void test_attention_pieces(enum cpu_simd level)
{
	const char *name = cpu_simd_name(level);
	static const uint32_t ns[] = {1, 7, 64, 77, 128};
	int ok_dot = 1, ok_axpy = 1, ok_cvt = 1;

	for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) {
		uint32_t n = ns[j];
		float *x = malloc(sizeof(float) * (n + 1)), *y = malloc(sizeof(float) * (n + 1));
		uint16_t *h = malloc(sizeof(uint16_t) * (n + 1)), *h2 = malloc(sizeof(uint16_t) * (n + 1));
		double ref = 0, sum_abs = 0;
		float a = rng_uniform(-1, 1);

		for (uint32_t i = 0; i < n + 1; i++) {
			x[i] = rng_uniform(-3, 3);
			y[i] = rng_uniform(-3, 3);
			h[i] = dtype_f32_to_f16(rng_uniform(-3, 3));
		}
		/* Unaligned starts: element 1. */
		for (uint32_t i = 1; i <= n; i++) {
			ref += (double)x[i] * dtype_f16_to_f32(h[i]);
			sum_abs += fabs((double)x[i] * dtype_f16_to_f32(h[i]));
		}
		double got = cpu_dot_f32_f16(n, x + 1, h + 1);
		if (fabs(got - ref) > (n / 8 + 16) * ldexp(1.0, -23) * sum_abs) {
			tap_diag("  dot n=%u: got %.9g want %.9g", n, got, ref);
			ok_dot = 0;
		}
		float *y0 = malloc(sizeof(float) * (n + 1));
		memcpy(y0, y, sizeof(float) * (n + 1));
		cpu_axpy_f16(n, a, h + 1, y + 1);
		for (uint32_t i = 1; i <= n; i++) {
			double want = y0[i] + (double)a * dtype_f16_to_f32(h[i]);
			if (fabs(y[i] - want) >
			    ldexp(1.0, -23) * (fabs(y0[i]) + fabs(a * dtype_f16_to_f32(h[i])))) {
				tap_diag("  axpy n=%u i=%u: got %.9g want %.9g", n, i, y[i], want);
				ok_axpy = 0;
				break;
			}
		}
		cpu_f32_to_f16(n, x + 1, h2 + 1);
		for (uint32_t i = 1; i <= n; i++)
			if (h2[i] != dtype_f32_to_f16(x[i])) {
				tap_diag("  f32_to_f16 %.9g: got %04x want %04x", x[i], h2[i],
				         dtype_f32_to_f16(x[i]));
				ok_cvt = 0;
				break;
			}
		free(x);
		free(y);
		free(y0);
		free(h);
		free(h2);
	}
	tap_ok(ok_dot, "%s: dot of f32 and f16 rows", name);
	tap_ok(ok_axpy, "%s: y += a * f16 row", name);
	tap_ok(ok_cvt, "%s: f32 to f16 rounds to nearest even", name);
}

/*
 * Attention against a double-precision softmax. Per output element the
 * error is bounded by (2 E + 2^-19) max|v|: E bounds a score's error (the
 * dot product's float rounding, (hd + 16) 2^-24 scale sum |q k|), which
 * moves each weight by a factor up to e^(2E); 2^-19 covers exp's few ulp
 * and the float sums over up to a few hundred positions.
 */
static void test_attention(enum cpu_simd level)
{
	const char *name = cpu_simd_name(level);
	static const uint32_t hds[] = {16, 32, 64, 80, 128};
	int ok = 1, ok_rows = 1;
	double worst = 0;

	for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++) {
		uint32_t hd = hds[hi], nq = 11, n = 300, ldkv = hd * 3 + 5, ldq = hd + 3, ldo = hd + 1;
		uint16_t *k = malloc(sizeof(uint16_t) * ldkv * n), *v = malloc(sizeof(uint16_t) * ldkv * n);
		float *q = malloc(sizeof(float) * ldq * nq), *out = malloc(sizeof(float) * ldo * nq);
		float *one = malloc(sizeof(float) * hd), *scratch = malloc(sizeof(float) * nq * n);
		uint32_t lim[11];
		float scale = 1.0f / sqrtf((float)hd);

		for (size_t i = 0; i < (size_t)ldkv * n; i++) {
			k[i] = dtype_f32_to_f16(rng_uniform(-2, 2));
			v[i] = dtype_f32_to_f16(rng_uniform(-2, 2));
		}
		for (size_t i = 0; i < (size_t)ldq * nq; i++)
			q[i] = rng_uniform(-2, 2);
		for (uint32_t a = 0; a < nq; a++)
			lim[a] = a == 0 ? 0 : a == 1 ? n - 1 : rng_u32() % n;
		/* Query row 10 is scaled up: a wide spread of scores must not overflow the softmax. */
		for (uint32_t i = 0; i < hd; i++)
			q[10 * ldq + i] *= 30;
		cpu_attention(nq, hd, q, ldq, lim, k, v, ldkv, scale, out, ldo, scratch);
		for (uint32_t a = 0; a < nq; a++) {
			double *p = malloc(sizeof(double) * (lim[a] + 1)), mx = -INFINITY, sum = 0, e_s = 0;
			for (uint32_t j = 0; j <= lim[a]; j++) {
				double sc = 0, sa = 0;
				for (uint32_t i = 0; i < hd; i++) {
					double kv = dtype_f16_to_f32(k[j * ldkv + i]);
					sc += q[a * ldq + i] * kv;
					sa += fabs(q[a * ldq + i] * kv);
				}
				p[j] = sc * scale;
				e_s = fmax(e_s, (hd + 16) * ldexp(1.0, -24) * scale * sa);
				mx = fmax(mx, p[j]);
			}
			for (uint32_t j = 0; j <= lim[a]; j++)
				sum += p[j] = exp(p[j] - mx);
			for (uint32_t i = 0; i < hd; i++) {
				double ref = 0, vmax = 0;
				for (uint32_t j = 0; j <= lim[a]; j++) {
					double vv = dtype_f16_to_f32(v[j * ldkv + i]);
					ref += p[j] / sum * vv;
					vmax = fmax(vmax, fabs(vv));
				}
				double tol = (2 * e_s + ldexp(1.0, -19)) * vmax,
				       err = fabs(out[a * ldo + i] - ref);
				worst = fmax(worst, err / tol);
				if (err > tol && ok) {
					tap_diag("  %s hd %u row %u (lim %u) elem %u: got %.9g want %.9g tol "
					         "%.3g",
					         name, hd, a, lim[a], i, out[a * ldo + i], ref, tol);
					ok = 0;
				}
			}
			free(p);
			/* The same row alone: the same bits. */
			cpu_attention(1, hd, q + a * ldq, ldq, &lim[a], k, v, ldkv, scale, one, hd, scratch);
			if (memcmp(one, out + a * ldo, sizeof(float) * hd) != 0)
				ok_rows = 0;
		}
		free(k), free(v), free(q), free(out), free(one), free(scratch);
	}
	tap_ok(ok, "%s: attention matches a double-precision softmax (worst error / tolerance %.3g)", name,
	       worst);
	tap_ok(ok_rows, "%s: an attention row gives the same bits alone as among others", name);

	/* SwiGLU gate: exp within a few ulp, one division and two products: 2^-20 relative. */
	float g[77], u[77], g0[77];
	int ok_silu = 1;
	for (int i = 0; i < 77; i++) {
		g0[i] = g[i] = i == 0 ? -100.0f : i == 1 ? 100.0f : rng_uniform(-12, 12);
		u[i] = rng_uniform(-3, 3);
	}
	cpu_silu_mul(77, g, u);
	for (int i = 0; i < 77; i++) {
		double want = g0[i] / (1 + exp(-(double)g0[i])) * u[i];
		if (fabs(g[i] - want) > ldexp(1.0, -20) * fabs(want) + 1e-30) {
			tap_diag("  silu(%.9g) * %.9g: got %.9g want %.9g", g0[i], u[i], g[i], want);
			ok_silu = 0;
			break;
		}
	}
	tap_ok(ok_silu, "%s: silu(g) * u", name);

	/* RMSNorm: the mean of squares in double; then a float sqrt, division and two products: 2^-20
	 * relative. */
	float xs[203], wt[203], y[203];
	int ok_norm = 1;
	for (int i = 0; i < 203; i++) {
		xs[i] = rng_uniform(-4, 4);
		wt[i] = rng_uniform(0.5f, 1.5f);
	}
	for (uint32_t n = 1; n <= 203 && ok_norm; n += 29) {
		double ss = 0;
		for (uint32_t i = 0; i < n; i++)
			ss += (double)xs[i] * xs[i];
		double scale = 1 / sqrt(ss / n + 1e-5);
		cpu_rmsnorm(n, xs, wt, 1e-5f, y);
		for (uint32_t i = 0; i < n; i++) {
			double want = xs[i] * scale * wt[i];
			if (fabs(y[i] - want) > ldexp(1.0, -20) * fabs(want)) {
				tap_diag("  rmsnorm n=%u i=%u: got %.9g want %.9g", n, i, y[i], want);
				ok_norm = 0;
				break;
			}
		}
	}
	tap_ok(ok_norm, "%s: rmsnorm", name);
}

int main(void)
{
	enum cpu_simd best = cpu_simd_best();
	struct setup ref32, ref256;

	tap_diag("best SIMD level here: %s", cpu_simd_name(best));
	TAP_EQ_INT(cpu_simd_force(CPU_SIMD_COUNT_), -1, "forcing a level past the CPU's is refused");
	for (int lv = CPU_SIMD_PORTABLE; lv < CPU_SIMD_COUNT_; lv++) {
		if (lv > (int)best) {
			tap_skip("%s: this CPU lacks it", cpu_simd_name((enum cpu_simd)lv));
			continue;
		}
		TAP_EQ_INT(cpu_simd_force((enum cpu_simd)lv), 0, "force a level");
		if (lv == CPU_SIMD_PORTABLE) {
			rng_state = 12345;
			setup_init(&ref32, DTYPE_Q8_0, 512, 1, 5);
			setup_init(&ref256, DTYPE_Q8_0, 512, 1, 5);
			memcpy(ref256.x_mem, ref32.x_mem, sizeof(float) * (ref32.ld * ref32.n + 8));
			cpu_act_quantize(&ref32.act, CPU_ACTQ_Q8_32, 0, 1);
			cpu_act_quantize(&ref256.act, CPU_ACTQ_Q8_256, 0, 1);
			test_act_quantize((enum cpu_simd)lv, &ref32, NULL);
		} else {
			test_act_quantize((enum cpu_simd)lv, &ref32, &ref256);
		}
		test_matmuls((enum cpu_simd)lv);
		test_attention_pieces((enum cpu_simd)lv);
		test_attention((enum cpu_simd)lv);
	}
	setup_free(&ref32);
	setup_free(&ref256);
	return tap_done();
}
