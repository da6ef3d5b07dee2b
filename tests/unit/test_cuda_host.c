/*
 * test_cuda_host.c — the CUDA backend's host-side logic, run on the CPU
 * (cuda/wformat_host.h, cuda/plan_host.h; no GPU, no CUDA headers):
 *  - repacking GGUF blocks into the GPU layouts is lossless: every row
 *    decoded by the same chunk decoders the kernels use equals
 *    dtype_dequant of the original, bit for bit, for every lossless type;
 *    lossy conversions equal their definition (bf16 rounding of
 *    dtype_dequant) and load-time quantisation stays within ggml's bounds;
 *  - the half/bfloat16 decoders equal dtype's for all 65536 patterns;
 *  - format choice, component layouts and the context's memory plan add up
 *    (total = sum of aligned parts, no overlap, overflow refused);
 *  - launch shapes cover every row once, attention splits cover every
 *    position exactly once, GEMM tiles cover every row;
 *  - the sampler's order key is monotone and Philox4x32-10 matches the
 *    Random123 known-answer vectors (checked against randomgen as well).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/plan_host.h"
#include "cuda/wformat_host.h"
#include "infer/dtype.h"
#include "infer/util.h"
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

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A finite half: normal, subnormal, zero or the largest, either sign. */
static uint16_t random_finite_half(void)
{
	uint16_t h;
	switch (rng_u32() % 8) {
	case 0:
		h = (uint16_t)(rng_u32() & 0x03ff);
		break; /* subnormal or zero */
	case 1:
		h = 0x7bff;
		break; /* 65504 */
	case 2:
		h = 0;
		break;
	default:
		h = (uint16_t)(0x2000 + rng_u32() % 0x3000);
		break; /* about 2^-7 .. 2^5 */
	}
	return (uint16_t)(h | (rng_u32() & 1) << 15);
}

/* rows x k elements of `type`: random bytes, every half scale finite. */
static uint8_t *random_tensor(uint32_t type, uint32_t rows, uint32_t k, uint64_t *n_bytes)
{
	const struct dtype_traits *tr = dtype_traits(type);
	dtype_bytes(type, (uint64_t)rows * k, n_bytes);
	uint8_t *x = xmalloc((size_t)*n_bytes);
	for (uint64_t i = 0; i < *n_bytes; i++)
		x[i] = (uint8_t)rng_u32();
	if (type == DTYPE_F32) {
		for (uint64_t i = 0; i < *n_bytes / 4; i++) {
			float f = rng_uniform(-3, 3);
			memcpy(x + 4 * i, &f, 4);
		}
		return x;
	}
	if (tr->block_elems == 1)
		return x; /* F16, BF16: every pattern, NaN and inf included */
	for (uint64_t b = 0; b < *n_bytes / tr->block_bytes; b++) {
		uint8_t *blk = x + b * tr->block_bytes;
		switch (type) {
		case DTYPE_Q8_0:
		case DTYPE_Q4_0:
		case DTYPE_Q5_0:
			put_u16(blk, random_finite_half());
			break;
		case DTYPE_Q4_1:
		case DTYPE_Q5_1:
			put_u16(blk, random_finite_half());
			put_u16(blk + 2, random_finite_half());
			break;
		case DTYPE_Q2_K:
			put_u16(blk + 80, random_finite_half());
			put_u16(blk + 82, random_finite_half());
			break;
		case DTYPE_Q3_K:
			put_u16(blk + 108, random_finite_half());
			break;
		case DTYPE_Q4_K:
		case DTYPE_Q5_K:
			put_u16(blk, random_finite_half());
			put_u16(blk + 2, random_finite_half());
			break;
		case DTYPE_Q6_K:
			put_u16(blk + 208, random_finite_half());
			break;
		}
	}
	return x;
}

/* A repacked matrix on the host. */
struct packed {
	enum cg_fmt fmt;
	struct cg_mat_layout L;
	uint8_t *mem;
	struct cg_rows rows;
};

static void pack_init(struct packed *p, enum cg_fmt f, uint32_t rows, uint32_t k)
{
	p->fmt = f;
	if (cg_mat_layout(f, rows, k, &p->L) < 0) {
		p->mem = NULL;
		return;
	}
	p->mem = xcalloc(1, (size_t)p->L.bytes);
	for (int c = 0; c < CG_COMP_COUNT_; c++)
		p->rows.c[c] = p->L.row_bytes[c] ? p->mem + p->L.off[c] : NULL;
}

/* Repack rows [r0, r0 + n) of src (rows of src_row bytes) into p. */
static void pack_rows(struct packed *p, uint32_t type, const uint8_t *src, uint64_t src_row, uint32_t k,
                      uint32_t r0, uint32_t n, float *tmp)
{
	struct cg_rows dst;
	for (int c = 0; c < CG_COMP_COUNT_; c++)
		dst.c[c] = p->rows.c[c] ? p->rows.c[c] + (uint64_t)r0 * p->L.row_bytes[c] : NULL;
	cg_repack_rows(p->fmt, type, src + r0 * src_row, k, n, &dst, tmp);
}

static int same_floats(const float *a, const float *b, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
			*at = i;
			return 0;
		}
	return 1;
}

/* --- half and bfloat16 ---------------------------------------------------------------------------- */

static void test_half_decoders(void)
{
	int bad_h = -1, bad_b = -1;
	for (uint32_t h = 0; h < 65536; h++) {
		float a = cg_f16_to_f32((uint16_t)h), b = dtype_f16_to_f32((uint16_t)h);
		float c = cg_bf16_to_f32((uint16_t)h), d = dtype_bf16_to_f32((uint16_t)h);
		if (bad_h < 0 && memcmp(&a, &b, 4) != 0)
			bad_h = (int)h;
		if (bad_b < 0 && memcmp(&c, &d, 4) != 0)
			bad_b = (int)h;
	}
	if (!tap_ok(bad_h < 0, "cg_f16_to_f32 equals dtype_f16_to_f32 for all 65536 halves"))
		tap_diag("  first difference at 0x%04x", bad_h);
	if (!tap_ok(bad_b < 0, "cg_bf16_to_f32 equals dtype_bf16_to_f32 for all 65536 bfloat16s"))
		tap_diag("  first difference at 0x%04x", bad_b);
}

/* --- format choice and layouts ---------------------------------------------------------------------- */

static void test_fmt_choice(void)
{
	static const struct {
		uint32_t type;
		int quant_bits;
		bool keep8;
		uint32_t k;
		int ok;
		enum cg_fmt want;
	} cases[] = {
	        {DTYPE_BF16, 0, false, 1536, 1, CG_FMT_BF16},
	        {DTYPE_F16, 0, false, 1536, 1, CG_FMT_F16},
	        {DTYPE_F32, 0, false, 64, 1, CG_FMT_BF16},
	        {DTYPE_BF16, 8, false, 1536, 1, CG_FMT_Q8},
	        {DTYPE_F16, 8, false, 1536, 1, CG_FMT_Q8},
	        {DTYPE_BF16, 4, false, 4096, 1, CG_FMT_Q4},
	        {DTYPE_BF16, 4, true, 4096, 1, CG_FMT_Q8},  /* the output projection stays at 8 bits */
	        {DTYPE_BF16, 8, false, 72, 1, CG_FMT_BF16}, /* 72 is no multiple of 32: kept as stored */
	        {DTYPE_Q8_0, 0, false, 64, 1, CG_FMT_Q8},
	        {DTYPE_Q8_0, 4, false, 64, 1, CG_FMT_Q8}, /* never re-quantised */
	        {DTYPE_Q4_0, 0, false, 64, 1, CG_FMT_Q4},
	        {DTYPE_Q4_K, 0, false, 256, 1, CG_FMT_Q4K},
	        {DTYPE_Q6_K, 8, false, 256, 1, CG_FMT_Q6K},
	        {DTYPE_Q5_K, 0, false, 256, 1, CG_FMT_BF16}, /* dequantised on the host */
	        {DTYPE_Q4_1, 0, false, 64, 1, CG_FMT_BF16},
	        {DTYPE_Q2_K, 0, false, 256, 1, CG_FMT_BF16},
	        {DTYPE_BF16, 0, false, 44, 0, CG_FMT_BF16},  /* rows must be a multiple of 8 */
	        {DTYPE_Q8_K, 0, false, 256, 0, CG_FMT_BF16}, /* not a storage type */
	        {77, 0, false, 256, 0, CG_FMT_BF16},         /* unknown id */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum cg_fmt f = CG_FMT_COUNT_;
		int rc = cg_fmt_choose(cases[i].type, cases[i].quant_bits, cases[i].keep8, cases[i].k, &f);
		if (cases[i].ok)
			tap_ok(rc == 0 && f == cases[i].want, "%s, quant %d%s, k %u -> %s (got %s)",
			       dtype_name(cases[i].type), cases[i].quant_bits,
			       cases[i].keep8 ? " (output)" : "", cases[i].k, cg_fmt_name(cases[i].want),
			       rc == 0 ? cg_fmt_name(f) : "refused");
		else
			tap_ok(rc < 0, "%s with k %u is refused", dtype_name(cases[i].type), cases[i].k);
	}
}

static void test_layouts(void)
{
	/* Bytes per row from the format definitions (wformat_host.h's table), for k = 4096. */
	static const struct {
		enum cg_fmt f;
		uint64_t q, s, d, h;
	} want[] = {
	        {CG_FMT_BF16, 8192, 0, 0, 0},   {CG_FMT_F16, 8192, 0, 0, 0},
	        {CG_FMT_Q8, 4096, 256, 0, 0},   {CG_FMT_Q4, 2048, 256, 0, 0},
	        {CG_FMT_Q4K, 2048, 256, 64, 0}, {CG_FMT_Q6K, 2048, 256, 32, 1024},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct cg_mat_layout L;
		uint32_t rows = 1000 + (uint32_t)i * 77;
		int rc = cg_mat_layout(want[i].f, rows, 4096, &L);
		uint64_t sum = 0, end = 0;
		int aligned = 1, ordered = 1;
		for (int c = 0; c < CG_COMP_COUNT_; c++) {
			if (!L.row_bytes[c])
				continue;
			sum += cg_align_up(L.row_bytes[c] * rows);
			aligned &= L.off[c] % CG_ALIGN == 0;
			ordered &= L.off[c] >= end;
			end = L.off[c] + L.row_bytes[c] * rows;
		}
		tap_ok(rc == 0 && L.row_bytes[CG_COMP_Q] == want[i].q &&
		               L.row_bytes[CG_COMP_S] == want[i].s && L.row_bytes[CG_COMP_D] == want[i].d &&
		               L.row_bytes[CG_COMP_H] == want[i].h,
		       "%s layout: bytes per row of each component", cg_fmt_name(want[i].f));
		tap_ok(L.bytes == sum && aligned && ordered && end <= L.bytes,
		       "%s layout: aligned, disjoint components summing to the total (%llu)",
		       cg_fmt_name(want[i].f), (unsigned long long)L.bytes);
		/* 16-byte loads: every component row starts 16-byte aligned (Q6K's high bits 8). */
		tap_ok(L.row_bytes[CG_COMP_Q] % 16 == 0 && L.row_bytes[CG_COMP_H] % 8 == 0,
		       "%s layout: rows allow vector loads", cg_fmt_name(want[i].f));
	}
	struct cg_mat_layout L;
	TAP_EQ_INT(cg_mat_layout(CG_FMT_Q4K, 10, 128, &L), -1,
	           "Q4K with k = 128 (not whole super-blocks) is refused");
	TAP_EQ_INT(cg_mat_layout(CG_FMT_Q8, 10, 48, &L), -1, "Q8 with k = 48 is refused");
	TAP_EQ_INT(cg_mat_layout(CG_FMT_BF16, 0, 64, &L), -1, "no rows is refused");
}

/* --- repacking ---------------------------------------------------------------------------------------- */

static void check_repack(uint32_t type, int quant_bits, bool keep8, uint32_t rows, uint32_t k,
                         const char *what)
{
	uint64_t n_bytes;
	uint8_t *src = random_tensor(type, rows, k, &n_bytes);
	uint64_t src_row = n_bytes / rows;
	enum cg_fmt f;
	float *tmp = xmalloc(sizeof(float) * k), *got = xmalloc(sizeof(float) * k),
	      *ref = xmalloc(sizeof(float) * k);
	struct packed whole, split;
	size_t at = 0;
	int ok = 1, same_split;

	if (cg_fmt_choose(type, quant_bits, keep8, k, &f) < 0) {
		tap_ok(0, "%s: a format for %s", what, dtype_name(type));
		goto out;
	}
	pack_init(&whole, f, rows, k);
	pack_init(&split, f, rows, k);
	pack_rows(&whole, type, src, src_row, k, 0, rows, tmp);
	/* The same matrix in uneven pieces, as the loader streams it. */
	pack_rows(&split, type, src, src_row, k, 0, rows / 3, tmp);
	pack_rows(&split, type, src, src_row, k, rows / 3, 1, tmp);
	pack_rows(&split, type, src, src_row, k, rows / 3 + 1, rows - rows / 3 - 1, tmp);
	same_split = memcmp(whole.mem, split.mem, (size_t)whole.L.bytes) == 0;
	tap_ok(same_split, "%s: repacking in pieces gives the same bytes", what);

	bool lossless = cg_fmt_lossless(f, type);
	double max_err = 0;
	for (uint32_t r = 0; r < rows && ok; r++) {
		cg_unpack_row(f, &whole.rows, &whole.L, r, k, got);
		dtype_dequant(type, src + r * src_row, ref, k);
		if (lossless || f == CG_FMT_BF16 || f == CG_FMT_F16) {
			if (!lossless)
				for (uint32_t i = 0; i < k;
				     i++) /* bf16 rounding (nearest even) of the dequantised value */
					ref[i] = f == CG_FMT_BF16
					                 ? dtype_bf16_to_f32(dtype_f32_to_bf16(ref[i]))
					                 : dtype_f16_to_f32(dtype_f32_to_f16(ref[i]));
			if (!same_floats(got, ref, k, &at)) {
				ok = 0;
				tap_diag("  row %u element %zu: %.9g (0x%08x), dtype_dequant %.9g", r, at,
				         got[at], (unsigned)(*(uint32_t *)&got[at]), ref[at]);
			}
			continue;
		}
		/* Quantised at load: ggml's bounds per block of 32 (Q8: d/2 + 127 |d - half(d)|; Q4: d at the
		 * clamp). */
		for (uint32_t b = 0; b < k / 32; b++) {
			float amax = 0;
			for (int i = 0; i < 32; i++)
				amax = fmaxf(amax, fabsf(ref[32 * b + i]));
			double bound = f == CG_FMT_Q8
			                       ? amax / 127.0 * (0.5 + 127.0 / 2048) * (1 + 1e-5) + 1e-30
			                       : amax / 8.0 * (1 + 1.0 / 256) + 1e-30;
			for (int i = 0; i < 32; i++) {
				double e = fabs((double)got[32 * b + i] - ref[32 * b + i]);
				if (e > max_err)
					max_err = e;
				if (e > bound && ok) {
					ok = 0;
					tap_diag("  row %u element %u: %.9g for %.9g (error %.3g > bound "
					         "%.3g)",
					         r, 32 * b + i, got[32 * b + i], ref[32 * b + i], e, bound);
				}
			}
		}
	}
	if (lossless)
		tap_ok(ok, "%s: %s -> %s decodes to dtype_dequant bit for bit (%u x %u)", what,
		       dtype_name(type), cg_fmt_name(f), rows, k);
	else if (f == CG_FMT_BF16 || f == CG_FMT_F16)
		tap_ok(ok, "%s: %s -> %s equals dtype_dequant rounded to %s (%u x %u)", what,
		       dtype_name(type), cg_fmt_name(f), cg_fmt_name(f), rows, k);
	else
		tap_ok(ok, "%s: %s quantised to %s stays within ggml's bounds (max error %.3g)", what,
		       dtype_name(type), cg_fmt_name(f), max_err);
	free(whole.mem);
	free(split.mem);
out:
	free(src);
	free(tmp);
	free(got);
	free(ref);
}

/* ggml's reference quantisers' defining properties, on blocks built to show them. */
static void test_quantisers(void)
{
	float x[32];
	uint8_t q[32], d[2];
	for (int i = 0; i < 32; i++)
		x[i] = (float)(i - 16) / 4.0f; /* -4 .. 3.75 */
	cg_quant_q8_block(x, q, d);
	float dd = dtype_f16_to_f32((uint16_t)(d[0] | d[1] << 8));
	tap_ok((int8_t)q[0] == -127 && q[16] == 0 && fabsf(dd - 4.0f / 127.0f) <= 4.0f / 127.0f / 1024,
	       "q8: the largest magnitude maps to -127, zero to 0, d = amax / 127 (as a half)");
	cg_quant_q4_block(x, q, d);
	dd = dtype_f16_to_f32((uint16_t)(d[0] | d[1] << 8));
	/* max (signed) = -4: d = 0.5, and -4 * (1 / 0.5) + 8.5 = 0.5 -> 0; x = 3.75 -> 7.5 + 8.5 = 16 ->
	 * clamped 15. */
	tap_ok(dd == 0.5f && (q[0] & 0x0f) == 0 && (q[15] >> 4) == 15 && (q[8] & 0x0f) == 4,
	       "q4: d = max / -8, nibbles round half up from 8.5 and clamp at 15");
	memset(x, 0, sizeof x);
	cg_quant_q8_block(x, q, d);
	tap_ok(d[0] == 0 && d[1] == 0 && q[5] == 0, "q8: an all-zero block has d = 0 and zero quants");
}

/* --- plans -----------------------------------------------------------------------------------------------
 */

static void test_mv_plan(void)
{
	static const uint32_t sms[] = {1, 108, 132};
	int ok = 1;
	for (size_t s = 0; s < 3 && ok; s++)
		for (uint32_t rows = 1; rows < 200000 && ok; rows += rows < 2000 ? 1 : 997) {
			struct cg_mv_plan p;
			cg_mv_plan(rows, sms[s], &p);
			uint64_t per = (uint64_t)CG_MV_WARPS * p.rows_per_warp;
			if (!(p.rows_per_warp == 1 || p.rows_per_warp == 2 || p.rows_per_warp == 4) ||
			    p.grid == 0 || (uint64_t)p.grid * per < rows ||
			    (uint64_t)(p.grid - 1) * per >= rows) {
				ok = 0;
				tap_diag("  rows %u, %u SMs: %u rows per warp, grid %u", rows, sms[s],
				         p.rows_per_warp, p.grid);
			}
		}
	tap_ok(ok, "matvec launch: the blocks cover every row once, with no empty block");
	struct cg_mv_plan p;
	cg_mv_plan(151936, 132, &p);
	tap_ok(p.rows_per_warp == 4 && p.grid >= 264,
	       "matvec launch: a 152k-row output projection takes 4 rows per warp");
	cg_mv_plan(256, 132, &p);
	tap_ok(p.rows_per_warp == 1 && p.grid == 32,
	       "matvec launch: a 256-row projection spreads over 32 blocks");
}

static void test_swizzle(void)
{
	int ok = 1;
	for (uint32_t k = 8; k <= 8192 && ok; k += 8) {
		uint32_t n4 = k / 4, slots = (uint32_t)(cg_mv_smem(k) / 16);
		unsigned char *seen = xcalloc(slots, 1);
		for (uint32_t f = 0; f < n4 && ok; f++) {
			uint32_t s = cg_swz4(f);
			if (s >= slots || seen[s]++ || s / 8 != f / 8) {
				ok = 0;
				tap_diag("  k %u: slot %u -> %u of %u", k, f, s, slots);
			}
		}
		free(seen);
	}
	tap_ok(ok,
	       "matvec staging: the swizzle maps the input's slots one to one into cg_mv_smem (k 8..8192)");
	/* Lanes 0..31 reading piece j of their chunks (stride CH/4 slots) hit each slot position 4 times. */
	static const uint32_t per_chunk[] = {2, 4, 8};
	for (int i = 0; i < 3; i++) {
		int spread = 1;
		for (uint32_t j = 0; j < per_chunk[i]; j++) {
			int hits[8] = {0};
			for (uint32_t lane = 0; lane < 32; lane++)
				hits[cg_swz4(lane * per_chunk[i] + j) % 8]++;
			for (int b = 0; b < 8; b++)
				spread &= hits[b] == 4;
		}
		tap_ok(spread,
		       "matvec staging: a warp's reads of %u-slot chunks spread evenly over the 8 slot "
		       "positions",
		       per_chunk[i]);
	}
}

static void test_attn_split(void)
{
	int ok = 1;
	for (uint32_t S = 1; S <= 130 && ok; S++)
		for (uint32_t len = 1; len <= 5000 && ok; len += len < 300 ? 1 : 37) {
			uint32_t L, n_used;
			cg_attn_split(len, S, &L, &n_used);
			/* Every position in exactly one split: [s L, min((s + 1) L, len)) for s < n_used. */
			uint64_t covered = 0;
			for (uint32_t s = 0; s < n_used; s++) {
				uint64_t b = (uint64_t)s * L, e = b + L < len ? b + L : len;
				covered += e > b ? e - b : 0;
				if (b >= len) {
					ok = 0;
					break;
				}
			}
			if (!ok || covered != len || n_used == 0 || n_used > S || L % CG_ATTN_TILE != 0 ||
			    (uint64_t)n_used * L < len) {
				ok = 0;
				tap_diag("  len %u, %u splits: L %u, %u used, %llu covered", len, S, L,
				         n_used, (unsigned long long)covered);
			}
		}
	tap_ok(ok, "attention splits cover every position exactly once (len 1..5000, 1..130 splits)");
	uint32_t L, n_used;
	cg_attn_split(32768, 132, &L, &n_used);
	tap_ok(L == 256 && n_used == 128, "32768 positions over 132 splits: 128 splits of 256 (got %u of %u)",
	       n_used, L);
	cg_attn_split(100, 132, &L, &n_used);
	tap_ok(L == 64 && n_used == 2, "100 positions: 2 splits of a tile (got %u of %u)", n_used, L);
	cg_attn_split(4000000, 128, &L, &n_used);
	tap_ok(n_used <= 128 && (uint64_t)n_used * L >= 4000000, "4M positions still fit 128 splits");

	TAP_EQ_INT(cg_attn_max_splits(32768, 2, 132), 128,
	           "splits for Qwen2-1.5B's 2 KV heads on 132 SMs: capped at 128");
	TAP_EQ_INT(cg_attn_max_splits(32768, 8, 132), 33,
	           "splits for Llama-3-8B's 8 KV heads: 2 * 132 / 8 rounded up");
	TAP_EQ_INT(cg_attn_max_splits(100, 2, 132), 2, "a 100-token context has only 2 tiles to split");
	TAP_EQ_INT(cg_attn_max_splits(1, 64, 1), 1, "at least one split");
	tap_ok(cg_attn_smem(32, 128) <= 48 * 1024 && cg_attn_smem(6, 128) == 4 * (2 * 6 * 128 + 6 * 64 + 18),
	       "attention shared memory: within 48 KiB at the backend's limits (32 heads x 128 per KV head)");
}

static void test_gemm_tiles(void)
{
	static const uint32_t shapes[][2] = {{14336, 4096}, {128256, 4096}, {151936, 1536}, {8960, 1536},
	                                     {256, 64},     {100, 1000000}, {1, 64},        {65, 4096}};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		uint32_t rows = shapes[i][0], k = shapes[i][1];
		uint32_t R = cg_gemm_tile_rows(rows, k, CG_GEMM_SCRATCH_CAP);
		uint64_t covered = 0;
		for (uint64_t r0 = 0; r0 < rows; r0 += R)
			covered += rows - r0 < R ? rows - r0 : R;
		int fits = (uint64_t)R * k <= CG_GEMM_SCRATCH_CAP || R == CG_GEMM_TILE_ALIGN || R == rows;
		tap_ok(R >= 1 && covered == rows && fits && (R == rows || R % CG_GEMM_TILE_ALIGN == 0),
		       "GEMM tiles of a %u x %u weight: %u rows each, covering it once", rows, k, R);
	}
}

static void test_ctx_plan(void)
{
	/* R1-Distill-Qwen-1.5B (DESIGN.md §3) at 32768 tokens, 512-token batches. */
	struct cg_ctx_dims d = {
	        .n_embd = 1536,
	        .q_dim = 1536,
	        .kv_dim = 256,
	        .n_ff = 8960,
	        .n_vocab = 151936,
	        .n_layers = 28,
	        .n_heads = 12,
	        .head_dim = 128,
	        .n_ctx = 32768,
	        .n_batch = 512,
	        .n_logit_rows = 64,
	        .n_splits = 128,
	        .scratch_elems = 8960ull * 1536,
	        .workspace_bytes = 32ull << 20,
	};
	struct cg_ctx_plan p;
	TAP_EQ_INT(cg_ctx_plan(&d, &p), 0, "context plan for Qwen2-1.5B at 32k");
	/* 28 layers x 32768 positions x 256 (2 KV heads x 128) x 2 bytes, for K and for V. */
	TAP_EQ_INT(p.size[CG_BUF_KCACHE], 469762048, "K cache: 28 x 32768 x 256 halves");
	TAP_EQ_INT(p.size[CG_BUF_VCACHE], 469762048, "V cache: the same");
	TAP_EQ_INT(p.size[CG_BUF_LOGITS], 64ull * 151936 * 4, "logits: 64 rows of 151936 floats");
	TAP_EQ_INT(p.size[CG_BUF_XB], 512ull * 8960 * 2, "bf16 GEMM input: 512 rows of the widest (8960)");
	TAP_EQ_INT(p.size[CG_BUF_PART_O], 12ull * 128 * 128 * 4,
	           "attention partials: 12 heads x 128 splits x 128");
	TAP_EQ_INT(p.size[CG_BUF_PARAMS], 64 + 4 * 512, "step parameters: 64 bytes and 512 token ids");
	uint64_t sum = 0, end = 0;
	int ok = 1;
	for (int b = 0; b < CG_BUF_COUNT_; b++) {
		sum += cg_align_up(p.size[b]);
		ok &= p.off[b] % CG_ALIGN == 0 && p.off[b] >= end;
		end = p.off[b] + p.size[b];
	}
	tap_ok(ok && end <= p.total, "context buffers: aligned, in order, disjoint");
	TAP_EQ_INT(p.total, sum, "context total = the sum of its aligned buffers");
	d.n_ctx = 0xffffffffu;
	d.n_layers = 0xffffffffu;
	d.kv_dim = 0xffffffffu;
	TAP_EQ_INT(cg_ctx_plan(&d, &p), -1, "a plan whose size overflows 64 bits is refused");
	TAP_EQ_INT(sizeof(struct cg_step_params), 64, "the step parameter block is 64 bytes");

	struct cg_arena a = {0, false};
	uint64_t o1 = cg_arena_take(&a, 1), o2 = cg_arena_take(&a, 0), o3 = cg_arena_take(&a, 257),
	         o4 = cg_arena_take(&a, 5);
	tap_ok(o1 == 0 && o2 == 256 && o3 == 256 && o4 == 768 && a.used == 1024 && !a.overflow,
	       "arena: pieces rounded up to 256 bytes, empty pieces take no room");
	cg_arena_take(&a, UINT64_MAX - 10);
	tap_ok(a.overflow, "arena: a piece past 2^64 sets overflow");
}

static void test_fits(void)
{
	const uint64_t G = 1ull << 30;
	char msg[256];
	tap_ok(cg_fits(3 * G, 0, 10 * G, 0, 64 << 20), "3 GiB fit in 10 GiB free without a cap");
	tap_ok(!cg_fits(3 * G, 0, 3 * G, 0, 64 << 20), "3 GiB do not fit in 3 GiB free (the reserve)");
	tap_ok(!cg_fits(3 * G, 2 * G, 10 * G, 4 * G, 0), "3 GiB do not fit a 4 GiB cap with 2 GiB in use");
	tap_ok(cg_fits(2 * G, 2 * G, 10 * G, 4 * G, 0), "2 GiB fit a 4 GiB cap with 2 GiB in use");
	tap_ok(!cg_fits(1, 5 * G, 10 * G, 4 * G, 0), "nothing fits once the use exceeds the cap");
	cg_fit_message(msg, sizeof msg, "the model", 3 * G + G / 2, 0, 2 * G, 4 * G);
	TAP_ERR_HAS(msg, "the model needs 3.50 GiB of GPU memory, 2.00 GiB free / cap 4.00 GiB",
	            "the memory message");
	cg_fit_message(msg, sizeof msg, "a context of 32768 tokens", G, 0, 10 * G, 0);
	TAP_ERR_HAS(msg, "/ no cap", "the memory message without a cap");
}

/* --- sampling helpers --------------------------------------------------------------------------------- */

static void test_float_key(void)
{
	const float v[] = {-INFINITY, -3e38f, -1.0f, -1e-30f, -1e-45f, -0.0f,   0.0f,
	                   1e-45f,    1e-30f, 0.5f,  1.0f,    3e38f,   INFINITY};
	int ok = 1;
	for (size_t i = 1; i < sizeof v / sizeof v[0]; i++)
		ok &= cg_float_key(v[i - 1]) < cg_float_key(v[i]);
	tap_ok(ok, "order key: strictly increasing over -inf .. -0, +0 .. inf");
	tap_ok(cg_float_key(NAN) == 0 && cg_float_key(-NAN) == 0 && cg_float_key(-INFINITY) > 0,
	       "order key: NaN is 0, below every number");
}

static void test_philox(void)
{
	/* Random123's kat_vectors for philox4x32_10 (confirmed with randomgen's Philox(number=4, width=32)).
	 */
	static const uint32_t kat[3][10] = {
	        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
	        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
	         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
	        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
	         0x94fdcceb, 0x5001e420, 0x24126ea1},
	};
	for (int i = 0; i < 3; i++) {
		uint32_t out[4];
		cg_philox4x32_10(kat[i], kat[i] + 4, out);
		if (!tap_ok(memcmp(out, kat[i] + 6, sizeof out) == 0, "Philox4x32-10 known-answer vector %d",
		            i + 1))
			tap_diag("  got %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
	}
	double lo = 1, hi = 0, sum = 0;
	for (uint64_t c = 0; c < 20000; c++) {
		double u = cg_sample_uniform(42, c);
		lo = fmin(lo, u);
		hi = fmax(hi, u);
		sum += u;
	}
	tap_ok(lo >= 0 && hi < 1 && fabs(sum / 20000 - 0.5) < 0.01,
	       "uniform draws lie in [0, 1) with mean %.4f", sum / 20000);
	tap_ok(cg_sample_uniform(7, 3) == cg_sample_uniform(7, 3) &&
	               cg_sample_uniform(7, 3) != cg_sample_uniform(8, 3),
	       "the same seed and counter give the same draw; another seed another");
}

int main(void)
{
	test_half_decoders();
	test_fmt_choice();
	test_layouts();
	check_repack(DTYPE_BF16, 0, false, 37, 64, "bf16");
	check_repack(DTYPE_F16, 0, false, 37, 48, "f16");
	check_repack(DTYPE_Q8_0, 0, false, 33, 256, "q8_0");
	check_repack(DTYPE_Q4_0, 0, false, 33, 96, "q4_0");
	check_repack(DTYPE_Q4_K, 0, false, 21, 768, "q4_k");
	check_repack(DTYPE_Q6_K, 0, false, 21, 512, "q6_k");
	check_repack(DTYPE_F32, 0, false, 17, 40, "f32 to bf16");
	check_repack(DTYPE_Q5_K, 0, false, 9, 256, "q5_k to bf16");
	check_repack(DTYPE_Q4_1, 0, false, 9, 64, "q4_1 to bf16");
	check_repack(DTYPE_Q3_K, 0, false, 9, 256, "q3_k to bf16");
	check_repack(DTYPE_F32, 8, false, 19, 128, "f32 quantised");
	check_repack(DTYPE_F32, 4, false, 19, 128, "f32 quantised");
	check_repack(DTYPE_F32, 4, true, 19, 128, "f32 quantised (output)");
	test_quantisers();
	test_mv_plan();
	test_swizzle();
	test_attn_split();
	test_gemm_tiles();
	test_ctx_plan();
	test_fits();
	test_float_key();
	test_philox();
	return tap_done();
}
