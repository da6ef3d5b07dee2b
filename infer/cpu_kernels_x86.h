/*
 * cpu_kernels_x86.h — the body of the x86 kernel levels, compiled twice:
 * by cpu_kernels_avx2.c (AVX2, FMA, F16C; 256-bit vectors) and
 * cpu_kernels_avx512.c (adding AVX-512 F/BW/VL/DQ/VNNI and BMI2: 512-bit
 * vectors for the 32-element types, the K-quant batches and attention, and
 * 32 vector registers, hence larger tiles). Not a general header: the
 * including file sets the target and defines
 *   X86_VNNI     1 to use vpdpbusd/vpdpwssd and AVX-512BW masks
 *   X86_ZMM      1 for the 512-bit kernels
 *   X86_NRB      weight rows per tile when several tokens are multiplied
 *   X86_NTB      tokens per tile
 *   X86_NRD      weight rows per tile for a single token (decode)
 *   X86_SET_NAME the struct cpu_kernel_set it defines
 *
 * Tiles: a tile is NR weight rows times NT tokens with one vector
 * accumulator per output; each weight block is unpacked once per tile and
 * multiplied with NT activation blocks. The accumulation order of an output
 * does not depend on NR, NT or the tile's position (see cpu_kernels.h).
 * With X86_ZMM, whole groups of 16 tokens go instead through matrix-matrix
 * kernels (x86z_*_gemm16) that keep one token per vector lane.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define X86_INLINE static inline __attribute__((always_inline))
/* Loops over a tile's rows and tokens must unroll for the accumulators to live in registers. */
#define X86_UNROLL _Pragma("GCC unroll 8")
/* Tokens per pass over a row range: their quantised activations stay in L2. */
#define X86_TCHUNK 64
/* Blocks per pass of the Q32 offset accumulation (stack arrays of this size). */
#define X86_Q32_CHUNK 128
/*
 * Decode reads NR rows side by side, each only a few cache lines long: too
 * short for the hardware prefetcher to lock onto, so the tiles prefetch this
 * many bytes ahead of each row position themselves (tuned on Zen 5: 2 KiB
 * reached 12 GB/s, 8 KiB the ~35 GB/s a core can read).
 */
#ifndef X86_PF_DIST
#define X86_PF_DIST 8192
#endif
/* Bounds of NR and NT (fixed-size arrays; the tiles index them with constants). */
#define X86_MAXR 4
#define X86_MAXT 4

X86_INLINE float x86_f16(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, sizeof h);
	return _cvtsh_ss(h);
}

/* Sum of 8 floats in a fixed order. */
X86_INLINE float x86_hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

X86_INLINE int x86_hsum_i32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(s);
}

X86_INLINE float x86_hmax(__m256 v)
{
	__m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_max_ps(s, _mm_movehl_ps(s, s));
	s = _mm_max_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Sums of 4 products of unsigned bytes u and signed bytes s, as 8 int32. */
X86_INLINE __m256i x86_dot_us(__m256i u, __m256i s)
{
#if X86_VNNI
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

/* acc + pairwise sums of (u * s as int16 pairs) times int16 scales sc. */
X86_INLINE __m256i x86_dot_us_scaled(__m256i acc, __m256i u, __m256i s, __m256i sc)
{
#if X86_VNNI
	return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(u, s), sc);
#else
	return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), sc));
#endif
}

/* 16 bytes of nibbles -> 32 bytes: the low nibbles, then the high ones. */
X86_INLINE __m256i x86_nibbles(const uint8_t *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)p);
	__m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
	return _mm256_and_si256(x, _mm256_set1_epi8(0x0f));
}

/* Byte j is 0x10 where bit j of the little-endian u32 at p is set. */
X86_INLINE __m256i x86_bits16(const uint8_t *p)
{
	uint32_t b;
	memcpy(&b, p, sizeof b);
#if X86_VNNI
	return _mm256_maskz_mov_epi8((__mmask32)b, _mm256_set1_epi8(0x10));
#else
	const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
	__m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)b), shuf);
	bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
	return _mm256_and_si256(_mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(0x10));
#endif
}

/* --- 32-element block types ------------------------------------------------------------ */

X86_INLINE uint32_t x86_q32_bytes(const uint32_t type)
{
	switch (type) {
	case DTYPE_Q4_0:
		return 18;
	case DTYPE_Q4_1:
		return 20;
	case DTYPE_Q5_0:
		return 22;
	case DTYPE_Q5_1:
		return 24;
	default:
		return 34;
	}
}

/*
 * A block as 32 unsigned bytes u with w = d * u + m per element, except
 * Q8_0 on the AVX2 level, whose bytes stay signed (m = 0). The constant
 * offsets of Q4_0 (-8), Q5_0 (-16) and Q8_0 with VNNI (bytes biased by
 * +128) are folded into m = offset * d.
 */
X86_INLINE __m256i x86_unpack_q32(const uint32_t type, const uint8_t *blk, float *d, float *m)
{
	*d = x86_f16(blk);
	switch (type) {
	case DTYPE_Q4_0:
		*m = -8.0f * *d;
		return x86_nibbles(blk + 2);
	case DTYPE_Q4_1:
		*m = x86_f16(blk + 2);
		return x86_nibbles(blk + 4);
	case DTYPE_Q5_0:
		*m = -16.0f * *d;
		return _mm256_or_si256(x86_nibbles(blk + 6), x86_bits16(blk + 2));
	case DTYPE_Q5_1:
		*m = x86_f16(blk + 2);
		return _mm256_or_si256(x86_nibbles(blk + 8), x86_bits16(blk + 4));
	default:
#if X86_VNNI
		*m = -128.0f * *d;
		return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 2)),
		                        _mm256_set1_epi8(-128));
#else
		*m = 0.0f;
		return _mm256_loadu_si256((const __m256i *)(blk + 2));
#endif
	}
}

/* Whether the type's kernel has a per-block offset term m * s. */
X86_INLINE int x86_q32_has_m(const uint32_t type)
{
	return type != DTYPE_Q8_0 || X86_VNNI;
}

/*
 * NR rows at w (stride rb) times tokens t0..t0+NT-1 of x, into
 * out[(t0 + t) * ldo + r]. Per block: acc += (d * da) * (integer dot); the
 * offsets m * s of a run of blocks are gathered and added to the same
 * accumulator as a dot product over the run.
 */
X86_INLINE void x86_q32_tile(const uint32_t type, const int NR, const int NT, uint32_t k, const uint8_t *w,
                             size_t rb, const struct cpu_act *x, uint32_t t0, float *out, size_t ldo)
{
	const uint32_t nb = k / 32, bb = x86_q32_bytes(type);
	__m256 acc[X86_MAXR][X86_MAXT];
	float mw[X86_MAXR][X86_Q32_CHUNK];
	const int8_t *a[X86_MAXT];
	const float *da[X86_MAXT], *sa[X86_MAXT];

	X86_UNROLL
	for (int t = 0; t < NT; t++) {
		a[t] = x->q32 + (size_t)(t0 + t) * k;
		da[t] = x->d32 + (size_t)(t0 + t) * nb;
		sa[t] = (type == DTYPE_Q4_1 || type == DTYPE_Q5_1 ? x->s32 : x->o32) + (size_t)(t0 + t) * nb;
		X86_UNROLL
		for (int r = 0; r < NR; r++)
			acc[r][t] = _mm256_setzero_ps();
	}
	for (uint32_t b0 = 0; b0 < nb; b0 += X86_Q32_CHUNK) {
		uint32_t b1 = b0 + X86_Q32_CHUNK < nb ? b0 + X86_Q32_CHUNK : nb;
		for (uint32_t b = b0; b < b1; b++) {
			X86_UNROLL
			for (int r = 0; r < NR; r++) {
				float dw;
				if (NT == 1)
					_mm_prefetch((const char *)(w + r * rb + b * bb + X86_PF_DIST),
					             _MM_HINT_T0);
				__m256i q = x86_unpack_q32(type, w + r * rb + b * bb, &dw, &mw[r][b - b0]);
				X86_UNROLL
				for (int t = 0; t < NT; t++) {
					__m256i av = _mm256_loadu_si256((const __m256i *)(a[t] + 32 * b));
					__m256i p;
					if (x86_q32_has_m(type))
						p = x86_dot_us(q, av);
					else
						p = x86_dot_us(_mm256_abs_epi8(q), _mm256_sign_epi8(av, q));
					acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p),
					                            _mm256_set1_ps(dw * da[t][b]), acc[r][t]);
				}
			}
		}
		if (!x86_q32_has_m(type))
			continue;
		uint32_t n = b1 - b0, j = 0;
		for (; j + 8 <= n; j += 8) {
			X86_UNROLL
			for (int r = 0; r < NR; r++) {
				__m256 mv = _mm256_loadu_ps(&mw[r][j]);
				X86_UNROLL
				for (int t = 0; t < NT; t++)
					acc[r][t] = _mm256_fmadd_ps(mv, _mm256_loadu_ps(sa[t] + b0 + j),
					                            acc[r][t]);
			}
		}
		if (j < n) {
			static const int32_t ramp[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
			                                 0,  0,  0,  0,  0,  0,  0,  0};
			__m256i mask = _mm256_loadu_si256((const __m256i *)(ramp + 8 - (n - j)));
			X86_UNROLL
			for (int r = 0; r < NR; r++) {
				__m256 mv = _mm256_maskload_ps(&mw[r][j], mask);
				X86_UNROLL
				for (int t = 0; t < NT; t++)
					acc[r][t] = _mm256_fmadd_ps(
					        mv, _mm256_maskload_ps(sa[t] + b0 + j, mask), acc[r][t]);
			}
		}
	}
	X86_UNROLL
	for (int r = 0; r < NR; r++) {
		X86_UNROLL
		for (int t = 0; t < NT; t++)
			out[(size_t)(t0 + t) * ldo + r] = x86_hsum(acc[r][t]);
	}
}

#if X86_ZMM
/*
 * The 32-element block types on 512-bit vectors: two blocks per vector.
 * A pair of nibble blocks unpacks to the 16-byte lanes [b0 low nibbles,
 * b1 low, b0 high, b1 high]; the activation pair is loaded with its lanes
 * permuted to match. Q8_0 pairs are [b0, b1] as stored. The block scales
 * of a pair are spread over the lanes they belong to, so one multiply-add
 * per pair and token accumulates both blocks. An odd last block is a pair
 * whose second half is zero. The offsets m * s go through the same
 * gathered dot product as in x86_q32_tile.
 */
X86_INLINE uint32_t x86_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Float lanes 0 and 1 (the scales of blocks 2p and 2p+1) spread over the lanes each block's products occupy.
 */
X86_INLINE __m512i x86z_scale_idx(const uint32_t type)
{
	if (type == DTYPE_Q8_0)
		return _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
	return _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1);
}

/* Activation bytes of blocks 2p, 2p+1 (only 2p when single) in the weights' lane order. */
X86_INLINE __m512i x86z_act(const uint32_t type, const int8_t *a, int single)
{
	__m512i v = single ? _mm512_maskz_loadu_epi8(0xffffffffull, a) : _mm512_loadu_si512(a);
	if (type == DTYPE_Q8_0)
		return v;
	return _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
}

/* 16 bytes of nibbles of each block -> [b0 low, b1 low, b0 high, b1 high]. */
X86_INLINE __m512i x86z_nibbles(const uint8_t *p0, const uint8_t *p1, int single)
{
	__m128i x0 = _mm_loadu_si128((const __m128i *)p0);
	__m128i x1 = single ? _mm_setzero_si128() : _mm_loadu_si128((const __m128i *)p1);
	__m256i y = _mm256_inserti128_si256(_mm256_castsi128_si256(x0), x1, 1);
	__m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(y), _mm256_srli_epi16(y, 4), 1);
	return _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
}

/* The fifth bits of a Q5 pair (u32 bit masks h0, h1) as 0x10 bytes in the nibble lane order. */
X86_INLINE __m512i x86z_bits16(uint32_t h0, uint32_t h1)
{
	/* Bit i of the mask belongs to byte i: [h0 bits 0-15, h1 0-15, h0 16-31, h1 16-31]. */
	uint64_t m = _pdep_u64(h0, 0x0000ffff0000ffffull) | _pdep_u64(h1, 0xffff0000ffff0000ull);
	return _mm512_maskz_mov_epi8((__mmask64)m, _mm512_set1_epi8(0x10));
}

/*
 * Blocks b0 and b1 (b1 ignored when single): the unpacked bytes, the half
 * scales as floats [d0, x, d1, x] in *dm (x: m for Q4_1/Q5_1), and the
 * offsets m of both blocks into mo[0..1].
 */
X86_INLINE __m512i x86z_unpack(const uint32_t type, const uint8_t *b0, const uint8_t *b1, int single,
                               __m128 *dm, float *mo)
{
	uint32_t w0 = x86_u32(b0), w1 = single ? 0 : x86_u32(b1);
	__m128 f = _mm_cvtph_ps(_mm_setr_epi32((int)w0, (int)w1, 0, 0)); /* [d0, m0, d1, m1] as halves */
	__m512i q;

	f = _mm_shuffle_ps(f, f, _MM_SHUFFLE(3, 1, 2, 0)); /* -> lanes of the u32 words: [d0, d1, m0, m1] */
	*dm = f;
	switch (type) {
	case DTYPE_Q4_0:
		q = x86z_nibbles(b0 + 2, b1 + 2, single);
		break;
	case DTYPE_Q4_1:
		q = x86z_nibbles(b0 + 4, b1 + 4, single);
		break;
	case DTYPE_Q5_0:
		q = _mm512_or_si512(x86z_nibbles(b0 + 6, b1 + 6, single),
		                    x86z_bits16(x86_u32(b0 + 2), single ? 0 : x86_u32(b1 + 2)));
		break;
	case DTYPE_Q5_1:
		q = _mm512_or_si512(x86z_nibbles(b0 + 8, b1 + 8, single),
		                    x86z_bits16(x86_u32(b0 + 4), single ? 0 : x86_u32(b1 + 4)));
		break;
	default: {
		__m256i lo = _mm256_loadu_si256((const __m256i *)(b0 + 2));
		__m256i hi = single ? _mm256_setzero_si256() : _mm256_loadu_si256((const __m256i *)(b1 + 2));
		q = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1),
		                     _mm512_set1_epi8(-128));
		break;
	}
	}
	__m128 m;
	switch (type) {
	case DTYPE_Q4_1:
	case DTYPE_Q5_1:
		m = _mm_movehl_ps(f, f);
		break;
	case DTYPE_Q4_0:
		m = _mm_mul_ps(f, _mm_set1_ps(-8.0f));
		break;
	case DTYPE_Q5_0:
		m = _mm_mul_ps(f, _mm_set1_ps(-16.0f));
		break;
	default:
		m = _mm_mul_ps(f, _mm_set1_ps(-128.0f));
		break;
	}
	_mm_storel_pi((__m64 *)mo, m);
	return q;
}

X86_INLINE void x86z_q32_tile(const uint32_t type, const int NR, const int NT, uint32_t k, const uint8_t *w,
                              size_t rb, const struct cpu_act *x, uint32_t t0, float *out, size_t ldo)
{
	const uint32_t nb = k / 32, bb = x86_q32_bytes(type);
	const __m512i didx = x86z_scale_idx(type);
	__m512 acc[X86_MAXR][X86_MAXT];
	/* +1: a single last block still stores a pair of offsets. */
	float mw[X86_MAXR][X86_Q32_CHUNK + 2];
	const int8_t *a[X86_MAXT];
	const float *da[X86_MAXT], *sa[X86_MAXT];

	X86_UNROLL
	for (int t = 0; t < NT; t++) {
		a[t] = x->q32 + (size_t)(t0 + t) * k;
		da[t] = x->d32 + (size_t)(t0 + t) * nb;
		sa[t] = (type == DTYPE_Q4_1 || type == DTYPE_Q5_1 ? x->s32 : x->o32) + (size_t)(t0 + t) * nb;
		X86_UNROLL
		for (int r = 0; r < NR; r++)
			acc[r][t] = _mm512_setzero_ps();
	}
	for (uint32_t b0 = 0; b0 < nb; b0 += X86_Q32_CHUNK) {
		uint32_t b1 = b0 + X86_Q32_CHUNK < nb ? b0 + X86_Q32_CHUNK : nb;
		for (uint32_t b = b0; b < b1; b += 2) {
			const int single = b + 1 == b1;
			__m512i av[X86_MAXT];
			__m512 dav[X86_MAXT];
			X86_UNROLL
			for (int t = 0; t < NT; t++) {
				av[t] = x86z_act(type, a[t] + 32 * b, single);
				__m128 d2 = single ? _mm_load_ss(da[t] + b)
				                   : _mm_castsi128_ps(
				                             _mm_loadl_epi64((const __m128i *)(da[t] + b)));
				dav[t] = _mm512_permutexvar_ps(didx, _mm512_castps128_ps512(d2));
			}
			X86_UNROLL
			for (int r = 0; r < NR; r++) {
				const uint8_t *blk = w + r * rb + (size_t)b * bb;
				__m128 dm;
				if (NT == 1) {
					/* A pair of Q8_0 blocks spans more than a cache line. */
					_mm_prefetch((const char *)(blk + X86_PF_DIST), _MM_HINT_T0);
					if (2 * bb > 64)
						_mm_prefetch((const char *)(blk + X86_PF_DIST + 64),
						             _MM_HINT_T0);
				}
				__m512i q = x86z_unpack(type, blk, blk + bb, single, &dm, &mw[r][b - b0]);
				__m512 dw = _mm512_permutexvar_ps(didx, _mm512_castps128_ps512(dm));
				X86_UNROLL
				for (int t = 0; t < NT; t++) {
					__m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, av[t]);
					acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p),
					                            _mm512_mul_ps(dw, dav[t]), acc[r][t]);
				}
			}
		}
		uint32_t n = b1 - b0, j = 0;
		for (; j + 16 <= n; j += 16) {
			X86_UNROLL
			for (int r = 0; r < NR; r++) {
				__m512 mv = _mm512_loadu_ps(&mw[r][j]);
				X86_UNROLL
				for (int t = 0; t < NT; t++)
					acc[r][t] = _mm512_fmadd_ps(mv, _mm512_loadu_ps(sa[t] + b0 + j),
					                            acc[r][t]);
			}
		}
		if (j < n) {
			__mmask16 mask = (__mmask16)((1u << (n - j)) - 1);
			X86_UNROLL
			for (int r = 0; r < NR; r++) {
				__m512 mv = _mm512_maskz_loadu_ps(mask, &mw[r][j]);
				X86_UNROLL
				for (int t = 0; t < NT; t++)
					acc[r][t] = _mm512_fmadd_ps(
					        mv, _mm512_maskz_loadu_ps(mask, sa[t] + b0 + j), acc[r][t]);
			}
		}
	}
	X86_UNROLL
	for (int r = 0; r < NR; r++) {
		X86_UNROLL
		for (int t = 0; t < NT; t++) {
			__m256 h = _mm256_add_ps(
			        _mm512_castps512_ps256(acc[r][t]),
			        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][t]), 1)));
			out[(size_t)(t0 + t) * ldo + r] = x86_hsum(h);
		}
	}
}

/*
 * 16 tokens at once (the interleaved activations of cpu_act.q32i): each
 * vector lane is one token, so a block's 32 products accumulate inside the
 * lanes over 8 multiply-adds of 4 bytes each, and one float multiply-add
 * per block and row covers 16 tokens. The 4 weight bytes of an element
 * group are broadcast to every lane. NR rows share the activation loads.
 */
X86_INLINE void x86z_q32_gemm16(const uint32_t type, const int NR, uint32_t k, const uint8_t *w, size_t rb,
                                const struct cpu_act *x, uint32_t g, float *out, size_t ldo)
{
	const uint32_t nb = k / 32, bb = x86_q32_bytes(type);
	const int8_t *A = x->q32i + (size_t)g * nb * 512;
	const float *DA = x->d32i + (size_t)g * nb * 16;
	const float *SA =
	        (type == DTYPE_Q4_1 || type == DTYPE_Q5_1 ? x->s32i : x->o32i) + (size_t)g * nb * 16;
	const __m128i m4 = _mm_set1_epi8(0x0f);
	__m512 acc[X86_MAXR];

	X86_UNROLL
	for (int r = 0; r < NR; r++)
		acc[r] = _mm512_setzero_ps();
	for (uint32_t b = 0; b < nb; b++) {
		__m512i av[8];
		X86_UNROLL
		for (int e = 0; e < 8; e++)
			av[e] = _mm512_load_si512((const void *)(A + (size_t)b * 512 + e * 64));
		__m512 da = _mm512_load_ps(DA + (size_t)b * 16), sa = _mm512_load_ps(SA + (size_t)b * 16);
		X86_UNROLL
		for (int r = 0; r < NR; r++) {
			const uint8_t *blk = w + r * rb + (size_t)b * bb;
			__m128i lo, hi, v;
			uint32_t qh;
			switch (type) {
			case DTYPE_Q4_0:
			case DTYPE_Q4_1:
				v = _mm_loadu_si128((const __m128i *)(blk + (type == DTYPE_Q4_0 ? 2 : 4)));
				lo = _mm_and_si128(v, m4);
				hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
				break;
			case DTYPE_Q5_0:
			case DTYPE_Q5_1:
				v = _mm_loadu_si128((const __m128i *)(blk + (type == DTYPE_Q5_0 ? 6 : 8)));
				qh = x86_u32(blk + (type == DTYPE_Q5_0 ? 2 : 4));
				lo = _mm_or_si128(
				        _mm_and_si128(v, m4),
				        _mm_maskz_mov_epi8((__mmask16)(qh & 0xffff), _mm_set1_epi8(0x10)));
				hi = _mm_or_si128(
				        _mm_and_si128(_mm_srli_epi16(v, 4), m4),
				        _mm_maskz_mov_epi8((__mmask16)(qh >> 16), _mm_set1_epi8(0x10)));
				break;
			default:
				lo = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(blk + 2)),
				                   _mm_set1_epi8(-128));
				hi = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(blk + 18)),
				                   _mm_set1_epi8(-128));
				break;
			}
			__m512i L = _mm512_broadcast_i32x4(lo), H = _mm512_broadcast_i32x4(hi);
			__m512i is = _mm512_dpbusd_epi32(_mm512_setzero_si512(),
			                                 _mm512_shuffle_epi32(L, 0x00), av[0]);
			is = _mm512_dpbusd_epi32(is, _mm512_shuffle_epi32(L, 0x55), av[1]);
			is = _mm512_dpbusd_epi32(is, _mm512_shuffle_epi32(L, 0xaa), av[2]);
			is = _mm512_dpbusd_epi32(is, _mm512_shuffle_epi32(L, 0xff), av[3]);
			is = _mm512_dpbusd_epi32(is, _mm512_shuffle_epi32(H, 0x00), av[4]);
			is = _mm512_dpbusd_epi32(is, _mm512_shuffle_epi32(H, 0x55), av[5]);
			is = _mm512_dpbusd_epi32(is, _mm512_shuffle_epi32(H, 0xaa), av[6]);
			is = _mm512_dpbusd_epi32(is, _mm512_shuffle_epi32(H, 0xff), av[7]);
			uint16_t hd, hm;
			memcpy(&hd, blk, 2);
			__m512 dw = _mm512_cvtph_ps(_mm256_set1_epi16((short)hd)), mw;
			switch (type) {
			case DTYPE_Q4_1:
			case DTYPE_Q5_1:
				memcpy(&hm, blk + 2, 2);
				mw = _mm512_cvtph_ps(_mm256_set1_epi16((short)hm));
				break;
			case DTYPE_Q4_0:
				mw = _mm512_mul_ps(dw, _mm512_set1_ps(-8.0f));
				break;
			case DTYPE_Q5_0:
				mw = _mm512_mul_ps(dw, _mm512_set1_ps(-16.0f));
				break;
			default:
				mw = _mm512_mul_ps(dw, _mm512_set1_ps(-128.0f));
				break;
			}
			acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(dw, da), acc[r]);
			acc[r] = _mm512_fmadd_ps(mw, sa, acc[r]);
		}
	}
	X86_UNROLL
	for (int r = 0; r < NR; r++) {
		float lanes[16];
		_mm512_storeu_ps(lanes, acc[r]);
		for (int t = 0; t < 16; t++)
			out[(size_t)(16 * g + t) * ldo + r] = lanes[t];
	}
}
#define X86_Q32_TILE x86z_q32_tile
#else
#define X86_Q32_TILE x86_q32_tile
#endif

/* --- K-quants ------------------------------------------------------------------------------ */

/*
 * A super-block unpacked for NT tokens: eight 32-byte runs of unsigned
 * quants, the int16 scale of each byte pair (per 16 elements), and the
 * int16 coefficients c of the 16 group sums: w = d * sc * q + coef * c,
 * summed over a group: d * sc * (q . a) + coef * c * (sum of a).
 */
struct x86_kq {
	__m256i q[8];
	__m256i sc[8];
	__m256i s16; /* the 16 group scales */
	__m256i c;
	float d, coef;
};

/*
 * From 16 int16 group scales (group g = elements 16g..16g+15), the scale
 * vector of 32-byte run j for the maddubs lanes: [s[2j] x 8, s[2j+1] x 8].
 */
X86_INLINE __m256i x86_sc_run(__m256i s16, int j)
{
	__m256i pair = _mm256_permutevar8x32_epi32(s16, _mm256_set1_epi32(j));
	const __m256i dup = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3,
	                                     2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
	return _mm256_shuffle_epi8(pair, dup);
}

/* 8 bytes (little-endian in v) -> 16 int16 [b0, b0, b1, b1, ..., b7, b7] (one value per 32-element
 * sub-block). */
X86_INLINE __m256i x86_dup8(uint64_t v)
{
	__m256i w = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)v));
	return _mm256_or_si256(w, _mm256_slli_epi32(w, 16));
}

/*
 * Q4_K/Q5_K's twelve scale bytes -> sc[0..7] in the low 8 bytes of *sc and
 * m[0..7] in those of *m (ggml's kmask unpacking of get_scale_min_k4).
 */
X86_INLINE void x86_scales_k4(const uint8_t *p, uint64_t *sc, uint64_t *m)
{
	uint32_t u[3];
	memcpy(u, p, 12);
	const uint32_t km1 = 0x3f3f3f3f, km2 = 0x0f0f0f0f, km3 = 0x03030303;
	uint32_t m_hi = ((u[2] >> 4) & km2) | (((u[1] >> 6) & km3) << 4);
	uint32_t m_lo = u[1] & km1;
	uint32_t s_hi = (u[2] & km2) | (((u[0] >> 6) & km3) << 4);
	uint32_t s_lo = u[0] & km1;
	*sc = (uint64_t)s_lo | (uint64_t)s_hi << 32;
	*m = (uint64_t)m_lo | (uint64_t)m_hi << 32;
}

X86_INLINE void x86_unpack_kq(const uint32_t type, const uint8_t *x, struct x86_kq *u)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(3), m1 = _mm256_set1_epi8(1);
	__m256i s16;

	switch (type) {
	case DTYPE_Q2_K: {
		__m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)x));
		u->d = x86_f16(x + 80);
		u->coef = -x86_f16(x + 82);
		s16 = _mm256_and_si256(b, _mm256_set1_epi16(0x0f));
		u->c = _mm256_srli_epi16(b, 4);
		for (int h = 0; h < 2; h++) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(x + 16 + 32 * h));
			X86_UNROLL
			for (int k = 0; k < 4; k++)
				u->q[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), m2);
		}
		break;
	}
	case DTYPE_Q3_K: {
		float d = x86_f16(x + 108);
		uint32_t a[4], t;
		u->d = d;
		u->coef = -4.0f * d;
		/* The 16 six-bit scales: low nibbles from bytes 0-7, top two bits from bytes 8-11 (ggml's
		 * kmask unpacking of cpu_scales_q3_k). */
		memcpy(a, x + 96, 12);
		t = a[2];
		a[2] = ((a[0] >> 4) & 0x0f0f0f0f) | (((t >> 4) & 0x03030303) << 4);
		a[3] = ((a[1] >> 4) & 0x0f0f0f0f) | (((t >> 6) & 0x03030303) << 4);
		a[0] = (a[0] & 0x0f0f0f0f) | ((t & 0x03030303) << 4);
		a[1] = (a[1] & 0x0f0f0f0f) | (((t >> 2) & 0x03030303) << 4);
		__m128i b = _mm_setr_epi32((int)a[0], (int)a[1], (int)a[2], (int)a[3]);
		s16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(b), _mm256_set1_epi16(32));
		u->c = s16;
		__m256i hm = _mm256_loadu_si256((const __m256i *)x);
		for (int h = 0; h < 2; h++) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(x + 32 + 32 * h));
			X86_UNROLL
			for (int k = 0; k < 4; k++) {
				__m256i lo = _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), m2);
				__m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + k), m1);
				u->q[4 * h + k] = _mm256_or_si256(lo, _mm256_slli_epi16(hb, 2));
			}
		}
		break;
	}
	case DTYPE_Q4_K:
	case DTYPE_Q5_K: {
		const uint8_t *qs = x + (type == DTYPE_Q4_K ? 16 : 48);
		uint64_t sc, mn;
		u->d = x86_f16(x);
		u->coef = -x86_f16(x + 2);
		x86_scales_k4(x + 4, &sc, &mn);
		s16 = x86_dup8(sc);
		u->c = x86_dup8(mn);
		__m256i hb = type == DTYPE_Q5_K ? _mm256_loadu_si256((const __m256i *)(x + 16))
		                                : _mm256_setzero_si256();
		X86_UNROLL
		for (int j = 0; j < 4; j++) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
			__m256i lo = _mm256_and_si256(v, m4),
			        hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
			if (type == DTYPE_Q5_K) {
				__m256i b0 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * j), m1);
				__m256i b1 = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * j + 1), m1);
				lo = _mm256_or_si256(lo, _mm256_slli_epi16(b0, 4));
				hi = _mm256_or_si256(hi, _mm256_slli_epi16(b1, 4));
			}
			u->q[2 * j] = lo;
			u->q[2 * j + 1] = hi;
		}
		break;
	}
	default: { /* Q6_K */
		float d = x86_f16(x + 208);
		u->d = d;
		u->coef = -32.0f * d;
		s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 192)));
		u->c = s16;
		for (int h = 0; h < 2; h++) {
			__m256i l0 = _mm256_loadu_si256((const __m256i *)(x + 64 * h));
			__m256i l1 = _mm256_loadu_si256((const __m256i *)(x + 64 * h + 32));
			__m256i qh = _mm256_loadu_si256((const __m256i *)(x + 128 + 32 * h));
			__m256i lo[4] = {_mm256_and_si256(l0, m4), _mm256_and_si256(l1, m4),
			                 _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
			                 _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4)};
			X86_UNROLL
			for (int k = 0; k < 4; k++) {
				__m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
				u->q[4 * h + k] = _mm256_or_si256(lo[k], _mm256_slli_epi16(hi, 4));
			}
		}
		break;
	}
	}
	u->s16 = s16;
	X86_UNROLL
	for (int j = 0; j < 8; j++)
		u->sc[j] = x86_sc_run(s16, j);
}

X86_INLINE uint32_t x86_kq_bytes(const uint32_t type)
{
	switch (type) {
	case DTYPE_Q2_K:
		return 84;
	case DTYPE_Q3_K:
		return 110;
	case DTYPE_Q4_K:
		return 144;
	case DTYPE_Q5_K:
		return 176;
	default:
		return 210;
	}
}

X86_INLINE void x86_kq_tile(const uint32_t type, const int NR, const int NT, uint32_t k, const uint8_t *w,
                            size_t rb, const struct cpu_act *x, uint32_t t0, float *out, size_t ldo)
{
	const uint32_t nb = k / CPU_QK, bb = x86_kq_bytes(type);
	__m256 acc[X86_MAXR][X86_MAXT];
	struct x86_kq u;

	X86_UNROLL
	for (int r = 0; r < NR; r++) {
		X86_UNROLL
		for (int t = 0; t < NT; t++)
			acc[r][t] = _mm256_setzero_ps();
	}
	for (uint32_t b = 0; b < nb; b++) {
		X86_UNROLL
		for (int r = 0; r < NR; r++) {
			if (NT == 1)
				for (uint32_t o = 0; o < bb; o += 64)
					_mm_prefetch((const char *)(w + r * rb + b * bb + o + X86_PF_DIST),
					             _MM_HINT_T0);
			x86_unpack_kq(type, w + r * rb + b * bb, &u);
			X86_UNROLL
			for (int t = 0; t < NT; t++) {
				size_t row = (size_t)(t0 + t);
				const int8_t *a = x->q256 + row * k + (size_t)b * CPU_QK;
				float da = x->d256[row * nb + b];
				__m256i is = _mm256_setzero_si256();
				X86_UNROLL
				for (int j = 0; j < 8; j++)
					is = x86_dot_us_scaled(
					        is, u.q[j], _mm256_loadu_si256((const __m256i *)(a + 32 * j)),
					        u.sc[j]);
				__m256i bs =
				        _mm256_loadu_si256((const __m256i *)(x->bs256 + (row * nb + b) * 16));
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_set1_ps(u.d * da),
				                            acc[r][t]);
				acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(u.c, bs)),
				                            _mm256_set1_ps(u.coef * da), acc[r][t]);
			}
		}
	}
	X86_UNROLL
	for (int r = 0; r < NR; r++) {
		X86_UNROLL
		for (int t = 0; t < NT; t++)
			out[(size_t)(t0 + t) * ldo + r] = x86_hsum(acc[r][t]);
	}
}

#if X86_ZMM
/*
 * K-quants, 16 tokens at once (cpu_act.q256i): as x86z_q32_gemm16, each
 * lane one token; a 32-element run of the unpacked super-block is 8
 * multiply-adds of 4 bytes, its two 16-element halves scaled in integers by
 * their group scales, the group sums' term (mins, or the quants' offsets)
 * by int16 pair products with the interleaved sums.
 */
X86_INLINE void x86z_kq_gemm16(const uint32_t type, const int NR, uint32_t k, const uint8_t *w, size_t rb,
                               const struct cpu_act *x, uint32_t g, float *out, size_t ldo)
{
	const uint32_t nb = k / CPU_QK, bb = x86_kq_bytes(type);
	const int8_t *A = x->q256i + (size_t)g * nb * 4096;
	const float *DA = x->d256i + (size_t)g * nb * 16;
	const int16_t *BS = x->bs256i + (size_t)g * nb * 8 * 32;
	__m512 acc[X86_MAXR];
	struct x86_kq u;

	X86_UNROLL
	for (int r = 0; r < NR; r++)
		acc[r] = _mm512_setzero_ps();
	for (uint32_t b = 0; b < nb; b++) {
		__m512 da = _mm512_load_ps(DA + (size_t)b * 16);
		const int8_t *Ab = A + (size_t)b * 4096;
		const int16_t *Bb = BS + (size_t)b * 256;
		X86_UNROLL
		for (int r = 0; r < NR; r++) {
			int16_t s[16] __attribute__((aligned(32))), c[16] __attribute__((aligned(32)));
			x86_unpack_kq(type, w + r * rb + (size_t)b * bb, &u);
			_mm256_store_si256((__m256i *)s, u.s16);
			_mm256_store_si256((__m256i *)c, u.c);
			__m512i ai = _mm512_setzero_si512(), mi = _mm512_setzero_si512();
			X86_UNROLL
			for (int j = 0; j < 8; j++) {
				const int8_t *Aj = Ab + (size_t)j * 512;
				__m512i L = _mm512_broadcast_i32x4(_mm256_castsi256_si128(u.q[j]));
				__m512i H = _mm512_broadcast_i32x4(_mm256_extracti128_si256(u.q[j], 1));
				__m512i i0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(),
				                                 _mm512_shuffle_epi32(L, 0x00),
				                                 _mm512_load_si512((const void *)Aj));
				i0 = _mm512_dpbusd_epi32(i0, _mm512_shuffle_epi32(L, 0x55),
				                         _mm512_load_si512((const void *)(Aj + 64)));
				i0 = _mm512_dpbusd_epi32(i0, _mm512_shuffle_epi32(L, 0xaa),
				                         _mm512_load_si512((const void *)(Aj + 128)));
				i0 = _mm512_dpbusd_epi32(i0, _mm512_shuffle_epi32(L, 0xff),
				                         _mm512_load_si512((const void *)(Aj + 192)));
				__m512i i1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(),
				                                 _mm512_shuffle_epi32(H, 0x00),
				                                 _mm512_load_si512((const void *)(Aj + 256)));
				i1 = _mm512_dpbusd_epi32(i1, _mm512_shuffle_epi32(H, 0x55),
				                         _mm512_load_si512((const void *)(Aj + 320)));
				i1 = _mm512_dpbusd_epi32(i1, _mm512_shuffle_epi32(H, 0xaa),
				                         _mm512_load_si512((const void *)(Aj + 384)));
				i1 = _mm512_dpbusd_epi32(i1, _mm512_shuffle_epi32(H, 0xff),
				                         _mm512_load_si512((const void *)(Aj + 448)));
				ai = _mm512_add_epi32(ai,
				                      _mm512_mullo_epi32(i0, _mm512_set1_epi32(s[2 * j])));
				ai = _mm512_add_epi32(
				        ai, _mm512_mullo_epi32(i1, _mm512_set1_epi32(s[2 * j + 1])));
				int32_t cp;
				memcpy(&cp, c + 2 * j, sizeof cp);
				mi = _mm512_dpwssd_epi32(mi, _mm512_set1_epi32(cp),
				                         _mm512_load_si512((const void *)(Bb + j * 32)));
			}
			acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai),
			                         _mm512_mul_ps(_mm512_set1_ps(u.d), da), acc[r]);
			acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(mi),
			                         _mm512_mul_ps(_mm512_set1_ps(u.coef), da), acc[r]);
		}
	}
	X86_UNROLL
	for (int r = 0; r < NR; r++) {
		float lanes[16];
		_mm512_storeu_ps(lanes, acc[r]);
		for (int t = 0; t < 16; t++)
			out[(size_t)(16 * g + t) * ldo + r] = lanes[t];
	}
}
#endif

/* --- F32, F16, BF16 ---------------------------------------------------------------------------- */

X86_INLINE __m256 x86_load8(const uint32_t type, const uint8_t *row, uint32_t i)
{
	switch (type) {
	case DTYPE_F32:
		return _mm256_loadu_ps((const float *)(row + 4 * (size_t)i));
	case DTYPE_F16:
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * (size_t)i)));
	default: {
		__m128i h = _mm_loadu_si128((const __m128i *)(row + 2 * (size_t)i));
		return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
	}
	}
}

X86_INLINE float x86_load1(const uint32_t type, const uint8_t *row, uint32_t i)
{
	uint16_t h;
	float f;
	switch (type) {
	case DTYPE_F32:
		memcpy(&f, row + 4 * (size_t)i, sizeof f);
		return f;
	case DTYPE_F16:
		return x86_f16(row + 2 * (size_t)i);
	default:
		memcpy(&h, row + 2 * (size_t)i, sizeof h);
		return dtype_bf16_to_f32(h);
	}
}

X86_INLINE void x86_f_tile(const uint32_t type, const int NR, const int NT, uint32_t k, const uint8_t *w,
                           size_t rb, const struct cpu_act *x, uint32_t t0, float *out, size_t ldo)
{
	__m256 acc[X86_MAXR][X86_MAXT];
	const float *a[X86_MAXT];
	uint32_t i = 0;

	X86_UNROLL
	for (int t = 0; t < NT; t++) {
		a[t] = x->f32 + (size_t)(t0 + t) * x->f32_ld;
		X86_UNROLL
		for (int r = 0; r < NR; r++)
			acc[r][t] = _mm256_setzero_ps();
	}
	for (; i + 8 <= k; i += 8) {
		X86_UNROLL
		for (int r = 0; r < NR; r++) {
			if (NT == 1 && (i * (type == DTYPE_F32 ? 4 : 2)) % 64 == 0)
				_mm_prefetch((const char *)(w + r * rb + i * (type == DTYPE_F32 ? 4 : 2) +
				                            X86_PF_DIST),
				             _MM_HINT_T0);
			__m256 wv = x86_load8(type, w + r * rb, i);
			X86_UNROLL
			for (int t = 0; t < NT; t++)
				acc[r][t] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(a[t] + i), acc[r][t]);
		}
	}
	X86_UNROLL
	for (int r = 0; r < NR; r++) {
		X86_UNROLL
		for (int t = 0; t < NT; t++) {
			float s = x86_hsum(acc[r][t]);
			for (uint32_t j = i; j < k; j++)
				s = __builtin_fmaf(x86_load1(type, w + r * rb, j), a[t][j], s);
			out[(size_t)(t0 + t) * ldo + r] = s;
		}
	}
}

/* --- attention and SwiGLU ------------------------------------------------------------------------ */

#if X86_ZMM
#define XV             __m512
#define XV_N           16
#define XV_REGS        24 /* accumulators an output tile may hold (of 32 registers) */
#define xv_zero        _mm512_setzero_ps
#define xv_set1        _mm512_set1_ps
#define xv_load        _mm512_loadu_ps
#define xv_store       _mm512_storeu_ps
#define xv_add         _mm512_add_ps
#define xv_mul         _mm512_mul_ps
#define xv_div         _mm512_div_ps
#define xv_max         _mm512_max_ps
#define xv_min         _mm512_min_ps
#define xv_fmadd       _mm512_fmadd_ps
#define xv_fnmadd      _mm512_fnmadd_ps
#define xv_floor(x)    _mm512_roundscale_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)
#define xv_load_f16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define xv_hsum        _mm512_reduce_add_ps
#define xv_hmax        _mm512_reduce_max_ps
X86_INLINE XV xv_pow2i(XV n)
{
	return _mm512_castsi512_ps(
	        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23));
}
/* The first n (< 16) lanes loaded, the others `fill`. */
X86_INLINE XV xv_load_n(const float *p, uint32_t n, float fill)
{
	return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << n) - 1), p);
}
X86_INLINE void xv_store_n(float *p, XV v, uint32_t n)
{
	_mm512_mask_storeu_ps(p, (__mmask16)((1ul << n) - 1), v);
}
#else
#define XV             __m256
#define XV_N           8
#define XV_REGS        12
#define xv_zero        _mm256_setzero_ps
#define xv_set1        _mm256_set1_ps
#define xv_load        _mm256_loadu_ps
#define xv_store       _mm256_storeu_ps
#define xv_add         _mm256_add_ps
#define xv_mul         _mm256_mul_ps
#define xv_div         _mm256_div_ps
#define xv_max         _mm256_max_ps
#define xv_min         _mm256_min_ps
#define xv_fmadd       _mm256_fmadd_ps
#define xv_fnmadd      _mm256_fnmadd_ps
#define xv_floor       _mm256_floor_ps
#define xv_load_f16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define xv_hsum        x86_hsum
#define xv_hmax        x86_hmax
X86_INLINE XV xv_pow2i(XV n)
{
	return _mm256_castsi256_ps(
	        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23));
}
X86_INLINE __m256i xv_mask_n(uint32_t n)
{
	static const int32_t ramp[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
	return _mm256_loadu_si256((const __m256i *)(ramp + 8 - n));
}
X86_INLINE XV xv_load_n(const float *p, uint32_t n, float fill)
{
	__m256i m = xv_mask_n(n);
	return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
X86_INLINE void xv_store_n(float *p, XV v, uint32_t n)
{
	_mm256_maskstore_ps(p, xv_mask_n(n), v);
}
#endif

/*
 * exp(x) as Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-7
 * polynomial, times 2^n; about 1 ulp over the clamped range (inputs below
 * -87.3 give 2^-126, above 88.37 give the largest value).
 */
X86_INLINE XV xv_exp(XV x)
{
	x = xv_min(xv_max(x, xv_set1(-87.3365478515625f)), xv_set1(88.3762626647949f));
	XV n = xv_floor(xv_fmadd(x, xv_set1(1.44269504088896341f), xv_set1(0.5f)));
	XV r = xv_fnmadd(n, xv_set1(0.693359375f), x);
	r = xv_fnmadd(n, xv_set1(-2.12194440e-4f), r);
	XV y = xv_set1(1.9875691500e-4f);
	y = xv_fmadd(y, r, xv_set1(1.3981999507e-3f));
	y = xv_fmadd(y, r, xv_set1(8.3334519073e-3f));
	y = xv_fmadd(y, r, xv_set1(4.1665795894e-2f));
	y = xv_fmadd(y, r, xv_set1(1.6666665459e-1f));
	y = xv_fmadd(y, r, xv_set1(5.0000001201e-1f));
	y = xv_fmadd(y, xv_mul(r, r), xv_add(r, xv_set1(1.0f)));
	return xv_mul(y, xv_pow2i(n));
}

/* s[0..n) = exp(s - max s) in place; returns 1 / their sum. */
X86_INLINE float x86_softmax(float *s, uint32_t n)
{
	XV m = xv_set1(-INFINITY), sum = xv_zero();
	uint32_t j = 0;
	for (; j + XV_N <= n; j += XV_N)
		m = xv_max(m, xv_load(s + j));
	if (j < n)
		m = xv_max(m, xv_load_n(s + j, n - j, -INFINITY));
	XV neg_mx = xv_set1(-xv_hmax(m));
	for (j = 0; j + XV_N <= n; j += XV_N) {
		XV e = xv_exp(xv_add(xv_load(s + j), neg_mx));
		xv_store(s + j, e);
		sum = xv_add(sum, e);
	}
	if (j < n) {
		xv_store_n(s + j, xv_exp(xv_add(xv_load_n(s + j, n - j, 0.0f), neg_mx)), n - j);
		sum = xv_add(sum, xv_load_n(s + j, n - j, 0.0f));
	}
	return 1.0f / xv_hsum(sum);
}

/*
 * Attention for head size NC * XV_N (see cpu_attention): scores of every
 * row against each key converted once; then, per block of QB rows, the
 * softmax and the weighted sum of values with the block's outputs in
 * registers, each value row converted once per block.
 */
#define X86_ATTN_MAXNC 16
X86_INLINE void x86_attn_nc(const uint32_t NC, uint32_t nq, const float *q, size_t ldq, const uint32_t *lim,
                            const uint16_t *k, const uint16_t *v, size_t ldkv, float scale, float *out,
                            size_t ldo, float *s)
{
	const uint32_t QB = XV_REGS / NC > 0 ? XV_REGS / NC : 1;
	uint32_t nj = 0;

	for (uint32_t a = 0; a < nq; a++)
		nj = lim[a] + 1 > nj ? lim[a] + 1 : nj;
	const size_t lds = nj;
#if X86_ZMM
	/*
	 * Scores 16 positions at a time: the tile's keys converted to f32 once
	 * for all rows, 16 dot products per row as vectors, then summed across
	 * their lanes together by a transposing tree (45 operations for 16
	 * sums instead of a reduction each).
	 */
	float kt[16 * 16 * X86_ATTN_MAXNC] __attribute__((aligned(64)));
	for (uint32_t j0 = 0; j0 < nj; j0 += 16) {
		uint32_t jn = nj - j0 < 16 ? nj - j0 : 16;
		for (uint32_t jj = 0; jj < jn; jj++)
			_Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++) _mm512_store_ps(
			        kt + (jj * NC + c) * 16, xv_load_f16(k + (j0 + jj) * ldkv + c * XV_N));
		for (uint32_t a = 0; a < nq; a++) {
			if (j0 > lim[a])
				continue;
			uint32_t valid = lim[a] - j0 + 1 < jn ? lim[a] - j0 + 1 : jn;
			const float *qa = q + a * ldq;
			XV qv[X86_ATTN_MAXNC], acc[16];
			_Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++) qv[c] =
			        xv_load(qa + c * XV_N);
			_Pragma("GCC unroll 16") for (uint32_t jj = 0; jj < 16; jj++)
			{
				acc[jj] = xv_zero();
				if (jj < valid)
					_Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++) acc[jj] =
					        xv_fmadd(qv[c], _mm512_load_ps(kt + (jj * NC + c) * 16),
					                 acc[jj]);
			}
			__m512 t8[8], t4[4], t2[2];
			_Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) t8[i] =
			        _mm512_add_ps(_mm512_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
			                      _mm512_unpackhi_ps(acc[2 * i], acc[2 * i + 1]));
			_Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) t4[i] = _mm512_add_ps(
			        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t8[2 * i]),
			                                            _mm512_castps_pd(t8[2 * i + 1]))),
			        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t8[2 * i]),
			                                            _mm512_castps_pd(t8[2 * i + 1]))));
			_Pragma("GCC unroll 2") for (int i = 0; i < 2; i++) t2[i] = _mm512_add_ps(
			        _mm512_shuffle_f32x4(t4[2 * i], t4[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
			        _mm512_shuffle_f32x4(t4[2 * i], t4[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
			__m512 sums =
			        _mm512_add_ps(_mm512_shuffle_f32x4(t2[0], t2[1], _MM_SHUFFLE(2, 0, 2, 0)),
			                      _mm512_shuffle_f32x4(t2[0], t2[1], _MM_SHUFFLE(3, 1, 3, 1)));
			xv_store_n(s + a * lds + j0, _mm512_mul_ps(sums, _mm512_set1_ps(scale)),
			           valid == 16 ? 16 : valid);
		}
	}
#else
	for (uint32_t j = 0; j < nj; j++) {
		XV kv[X86_ATTN_MAXNC];
		_Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++) kv[c] =
		        xv_load_f16(k + j * ldkv + c * XV_N);
		for (uint32_t a = 0; a < nq; a++) {
			if (j > lim[a])
				continue;
			const float *qa = q + a * ldq;
			XV acc = xv_mul(xv_load(qa), kv[0]);
			_Pragma("GCC unroll 16") for (uint32_t c = 1; c < NC; c++) acc =
			        xv_fmadd(xv_load(qa + c * XV_N), kv[c], acc);
			s[a * lds + j] = xv_hsum(acc) * scale;
		}
	}
#endif
	for (uint32_t a0 = 0; a0 < nq; a0 += QB) {
		uint32_t qb = nq - a0 < QB ? nq - a0 : QB, jn = 0;
		float inv[XV_REGS];
		XV acc[XV_REGS][X86_ATTN_MAXNC];
		for (uint32_t r = 0; r < qb; r++) {
			inv[r] = x86_softmax(s + (a0 + r) * lds, lim[a0 + r] + 1);
			jn = lim[a0 + r] + 1 > jn ? lim[a0 + r] + 1 : jn;
		}
		_Pragma("GCC unroll 16") for (uint32_t r = 0; r < QB; r++)
		        _Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++) acc[r][c] = xv_zero();
		for (uint32_t j = 0; j < jn; j++) {
			XV vv[X86_ATTN_MAXNC];
			_Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++) vv[c] =
			        xv_load_f16(v + j * ldkv + c * XV_N);
			_Pragma("GCC unroll 16") for (uint32_t r = 0; r < QB; r++)
			{
				if (r >= qb || j > lim[a0 + r])
					continue;
				XV p = xv_set1(s[(a0 + r) * lds + j]);
				_Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++) acc[r][c] =
				        xv_fmadd(p, vv[c], acc[r][c]);
			}
		}
		_Pragma("GCC unroll 16") for (uint32_t r = 0; r < QB; r++)
		{
			if (r >= qb)
				continue;
			XV iv = xv_set1(inv[r]);
			_Pragma("GCC unroll 16") for (uint32_t c = 0; c < NC; c++)
			        xv_store(out + (a0 + r) * ldo + c * XV_N, xv_mul(acc[r][c], iv));
		}
	}
}

static void x86_attention(uint32_t nq, uint32_t hd, const float *q, size_t ldq, const uint32_t *lim,
                          const uint16_t *k, const uint16_t *v, size_t ldkv, float scale, float *out,
                          size_t ldo, float *scratch)
{
	switch (hd % XV_N == 0 ? hd / XV_N : 0) {
	case 2:
		x86_attn_nc(2, nq, q, ldq, lim, k, v, ldkv, scale, out, ldo, scratch);
		break;
	case 4:
		x86_attn_nc(4, nq, q, ldq, lim, k, v, ldkv, scale, out, ldo, scratch);
		break;
	case 8:
		x86_attn_nc(8, nq, q, ldq, lim, k, v, ldkv, scale, out, ldo, scratch);
		break;
	case 16:
		x86_attn_nc(16, nq, q, ldq, lim, k, v, ldkv, scale, out, ldo, scratch);
		break;
	default:
		cpu_attention_portable(nq, hd, q, ldq, lim, k, v, ldkv, scale, out, ldo, scratch);
		break;
	}
}

static void x86_rmsnorm(uint32_t n, const float *x, const float *weight, float eps, float *y)
{
	__m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		__m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)),
		        hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
		s0 = _mm256_fmadd_pd(lo, lo, s0);
		s1 = _mm256_fmadd_pd(hi, hi, s1);
	}
	__m256d s = _mm256_add_pd(s0, s1);
	__m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
	double ss = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
	for (; i < n; i++)
		ss += (double)x[i] * x[i];
	float scale = 1.0f / sqrtf((float)(ss / n) + eps);
	__m256 sv = _mm256_set1_ps(scale);
	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv),
		                                      _mm256_loadu_ps(weight + i)));
	for (; i < n; i++) {
		float v = x[i] * scale;
		y[i] = v * weight[i];
	}
}

static void x86_silu_mul(uint32_t n, float *g, const float *u)
{
	uint32_t i = 0;
	for (; i + XV_N <= n; i += XV_N) {
		XV x = xv_load(g + i);
		XV e = xv_exp(xv_mul(x, xv_set1(-1.0f)));
		xv_store(g + i, xv_mul(xv_div(x, xv_add(xv_set1(1.0f), e)), xv_load(u + i)));
	}
	if (i < n) {
		XV x = xv_load_n(g + i, n - i, 0.0f);
		XV e = xv_exp(xv_mul(x, xv_set1(-1.0f)));
		xv_store_n(g + i, xv_mul(xv_div(x, xv_add(xv_set1(1.0f), e)), xv_load_n(u + i, n - i, 0.0f)),
		           n - i);
	}
}

/* --- drivers: rows and tokens into tiles --------------------------------------------------------- */

/*
 * Tokens [tb, n) of a matmul with n > 1, in chunks whose activations stay
 * in L2; the weight rows of a tile stay in L1 across a chunk's tokens.
 */
#define X86_DRIVER_BATCH(NAME, TILE, TYPE, NRB, NTB)                                                         \
	static void NAME(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,                  \
	                 const struct cpu_act *x, uint32_t tb, float *out, size_t ldo)                       \
	{                                                                                                    \
		uint32_t r, t;                                                                               \
		for (uint32_t tc = tb; tc < x->n; tc += X86_TCHUNK) {                                        \
			uint32_t te = tc + X86_TCHUNK < x->n ? tc + X86_TCHUNK : x->n;                       \
			for (r = r0; r + (NRB) <= r1; r += (NRB)) {                                          \
				for (t = tc; t + (NTB) <= te; t += (NTB))                                    \
					TILE(TYPE, NRB, NTB, k, w + r * rb, rb, x, t, out + r, ldo);         \
				for (; t < te; t++)                                                          \
					TILE(TYPE, NRB, 1, k, w + r * rb, rb, x, t, out + r, ldo);           \
			}                                                                                    \
			for (; r < r1; r++) {                                                                \
				for (t = tc; t + (NTB) <= te; t += (NTB))                                    \
					TILE(TYPE, 1, NTB, k, w + r * rb, rb, x, t, out + r, ldo);           \
				for (; t < te; t++)                                                          \
					TILE(TYPE, 1, 1, k, w + r * rb, rb, x, t, out + r, ldo);             \
			}                                                                                    \
		}                                                                                            \
	}

#if X86_ZMM
/* The 32-block types: whole groups of 16 tokens through the GEMM, the rest through the tiles. */
#define X86_Q32_GEMM_PART(NAME, TYPE)                                                                        \
	static uint32_t NAME##_gemm16(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,     \
	                              const struct cpu_act *x, float *out, size_t ldo)                       \
	{                                                                                                    \
		uint32_t r;                                                                                  \
		for (r = r0; r + 4 <= r1; r += 4)                                                            \
			for (uint32_t g = 0; g < x->n16; g++)                                                \
				x86z_q32_gemm16(TYPE, 4, k, w + r * rb, rb, x, g, out + r, ldo);             \
		for (; r < r1; r++)                                                                          \
			for (uint32_t g = 0; g < x->n16; g++)                                                \
				x86z_q32_gemm16(TYPE, 1, k, w + r * rb, rb, x, g, out + r, ldo);             \
		return 16 * x->n16;                                                                          \
	}
#else
#define X86_Q32_GEMM_PART(NAME, TYPE)                                                                        \
	static uint32_t NAME##_gemm16(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,     \
	                              const struct cpu_act *x, float *out, size_t ldo)                       \
	{                                                                                                    \
		(void)k, (void)w, (void)rb, (void)r0, (void)r1, (void)x, (void)out, (void)ldo;               \
		return 0;                                                                                    \
	}
#endif

#define X86_DRIVER(NAME, TILE, TYPE, NRD, NRB, NTB, GEMM16)                                                  \
	X86_DRIVER_BATCH(NAME##_batch, TILE, TYPE, NRB, NTB)                                                 \
	static void NAME(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,                  \
	                 const struct cpu_act *x, float *out, size_t ldo)                                    \
	{                                                                                                    \
		uint32_t r;                                                                                  \
		if (x->n == 1) {                                                                             \
			/* Short rows side by side for parallel work; long rows one at a time: NRD streams   \
			 * each prefetching X86_PF_DIST ahead would flood L1. */                             \
			for (r = r0; r + (NRD) <= r1 && rb * (NRD) <= X86_PF_DIST; r += (NRD))               \
				TILE(TYPE, NRD, 1, k, w + r * rb, rb, x, 0, out + r, ldo);                   \
			for (; r < r1; r++)                                                                  \
				TILE(TYPE, 1, 1, k, w + r * rb, rb, x, 0, out + r, ldo);                     \
			return;                                                                              \
		}                                                                                            \
		uint32_t tb = GEMM16(k, w, rb, r0, r1, x, out, ldo);                                         \
		NAME##_batch(k, w, rb, r0, r1, x, tb, out, ldo);                                             \
	}

#if X86_ZMM
#define X86_KQ_GEMM_PART(NAME, TYPE)                                                                         \
	static uint32_t NAME##_gemm16(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,     \
	                              const struct cpu_act *x, float *out, size_t ldo)                       \
	{                                                                                                    \
		uint32_t r;                                                                                  \
		for (r = r0; r + 2 <= r1; r += 2)                                                            \
			for (uint32_t g = 0; g < x->n16; g++)                                                \
				x86z_kq_gemm16(TYPE, 2, k, w + r * rb, rb, x, g, out + r, ldo);              \
		for (; r < r1; r++)                                                                          \
			for (uint32_t g = 0; g < x->n16; g++)                                                \
				x86z_kq_gemm16(TYPE, 1, k, w + r * rb, rb, x, g, out + r, ldo);              \
		return 16 * x->n16;                                                                          \
	}
#else
#define X86_KQ_GEMM_PART X86_Q32_GEMM_PART
#endif

static uint32_t x86_no_gemm16(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,
                              const struct cpu_act *x, float *out, size_t ldo)
{
	(void)k, (void)w, (void)rb, (void)r0, (void)r1, (void)x, (void)out, (void)ldo;
	return 0;
}

X86_Q32_GEMM_PART(x86_matmul_q4_0, DTYPE_Q4_0)
X86_Q32_GEMM_PART(x86_matmul_q4_1, DTYPE_Q4_1)
X86_Q32_GEMM_PART(x86_matmul_q5_0, DTYPE_Q5_0)
X86_Q32_GEMM_PART(x86_matmul_q5_1, DTYPE_Q5_1)
X86_Q32_GEMM_PART(x86_matmul_q8_0, DTYPE_Q8_0)
X86_KQ_GEMM_PART(x86_matmul_q2_k, DTYPE_Q2_K)
X86_KQ_GEMM_PART(x86_matmul_q3_k, DTYPE_Q3_K)
X86_KQ_GEMM_PART(x86_matmul_q4_k, DTYPE_Q4_K)
X86_KQ_GEMM_PART(x86_matmul_q5_k, DTYPE_Q5_K)
X86_KQ_GEMM_PART(x86_matmul_q6_k, DTYPE_Q6_K)

X86_DRIVER(x86_matmul_q4_0, X86_Q32_TILE, DTYPE_Q4_0, X86_NRD, X86_NRB, X86_NTB, x86_matmul_q4_0_gemm16)
X86_DRIVER(x86_matmul_q4_1, X86_Q32_TILE, DTYPE_Q4_1, X86_NRD, X86_NRB, X86_NTB, x86_matmul_q4_1_gemm16)
X86_DRIVER(x86_matmul_q5_0, X86_Q32_TILE, DTYPE_Q5_0, X86_NRD, X86_NRB, X86_NTB, x86_matmul_q5_0_gemm16)
X86_DRIVER(x86_matmul_q5_1, X86_Q32_TILE, DTYPE_Q5_1, X86_NRD, X86_NRB, X86_NTB, x86_matmul_q5_1_gemm16)
X86_DRIVER(x86_matmul_q8_0, X86_Q32_TILE, DTYPE_Q8_0, X86_NRD, X86_NRB, X86_NTB, x86_matmul_q8_0_gemm16)
X86_DRIVER(x86_matmul_q2_k, x86_kq_tile, DTYPE_Q2_K, 1, 1, X86_NTB, x86_matmul_q2_k_gemm16)
X86_DRIVER(x86_matmul_q3_k, x86_kq_tile, DTYPE_Q3_K, 1, 1, X86_NTB, x86_matmul_q3_k_gemm16)
X86_DRIVER(x86_matmul_q4_k, x86_kq_tile, DTYPE_Q4_K, 1, 1, X86_NTB, x86_matmul_q4_k_gemm16)
X86_DRIVER(x86_matmul_q5_k, x86_kq_tile, DTYPE_Q5_K, 1, 1, X86_NTB, x86_matmul_q5_k_gemm16)
X86_DRIVER(x86_matmul_q6_k, x86_kq_tile, DTYPE_Q6_K, 1, 1, X86_NTB, x86_matmul_q6_k_gemm16)
X86_DRIVER(x86_matmul_f32, x86_f_tile, DTYPE_F32, X86_NRD, X86_NRB, X86_NTB, x86_no_gemm16)
X86_DRIVER(x86_matmul_f16, x86_f_tile, DTYPE_F16, X86_NRD, X86_NRB, X86_NTB, x86_no_gemm16)
X86_DRIVER(x86_matmul_bf16, x86_f_tile, DTYPE_BF16, X86_NRD, X86_NRB, X86_NTB, x86_no_gemm16)

/* --- activation quantisation (same float operations as the portable level) ---------------------- */

/* 32 floats -> 32 bytes q (order kept); the 4 vectors' int32 values summed by pairs in *s01, *s23. */
X86_INLINE void x86_quant32(const float *x, __m256 id, int8_t *q, __m256i *s01, __m256i *s23)
{
	__m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id));
	__m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id));
	__m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id));
	__m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id));
	*s01 = _mm256_add_epi32(i0, i1);
	*s23 = _mm256_add_epi32(i2, i3);
	__m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
	p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
	_mm256_storeu_si256((__m256i *)q, p);
}

X86_INLINE __m256 x86_abs(__m256 v)
{
	return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

X86_INLINE float x86_half_round(float f)
{
	return _cvtsh_ss(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

static void x86_quant_q8_32(const float *x, int8_t *q, float *d, float *s, float *o, uint32_t nb)
{
	for (uint32_t b = 0; b < nb; b++, x += 32, q += 32) {
		__m256 m = _mm256_max_ps(
		        _mm256_max_ps(x86_abs(_mm256_loadu_ps(x)), x86_abs(_mm256_loadu_ps(x + 8))),
		        _mm256_max_ps(x86_abs(_mm256_loadu_ps(x + 16)), x86_abs(_mm256_loadu_ps(x + 24))));
		float amax = x86_hmax(m);
		float dfull = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
		__m256i s01, s23;
		x86_quant32(x, _mm256_set1_ps(id), q, &s01, &s23);
		float sum = (float)x86_hsum_i32(_mm256_add_epi32(s01, s23));
		d[b] = x86_half_round(dfull);
		s[b] = x86_half_round(dfull * sum);
		o[b] = d[b] * sum;
	}
}

static void x86_quant_q8_256(const float *x, int8_t *q, float *d, int16_t *bs, uint32_t nb)
{
	for (uint32_t b = 0; b < nb; b++, x += CPU_QK, q += CPU_QK, bs += 16) {
		__m256 m = _mm256_setzero_ps();
		for (int i = 0; i < CPU_QK; i += 8)
			m = _mm256_max_ps(m, x86_abs(_mm256_loadu_ps(x + i)));
		float amax = x86_hmax(m);
		float id = amax != 0.0f ? 127.0f / amax : 0.0f, db = amax != 0.0f ? 1.0f / id : 0.0f;
		__m256 idv = _mm256_set1_ps(id);
		for (int j = 0; j < 8; j++) {
			__m256i s01, s23;
			x86_quant32(x + 32 * j, idv, q + 32 * j, &s01, &s23);
			bs[2 * j] = (int16_t)x86_hsum_i32(s01);
			bs[2 * j + 1] = (int16_t)x86_hsum_i32(s23);
		}
		d[b] = db;
	}
}

/* --- f16 vector pieces ---------------------------------------------------------------------------------- */

static float x86_dot_f32_f16(uint32_t n, const float *x, const uint16_t *y)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	uint32_t i = 0;
	for (; i + 16 <= n; i += 16) {
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i),
		                     _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i))), a0);
		a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8),
		                     _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i + 8))), a1);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i),
		                     _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i))), a0);
	float s = x86_hsum(_mm256_add_ps(a0, a1));
	for (; i < n; i++)
		s = __builtin_fmaf(x[i], _cvtsh_ss(y[i]), s);
	return s;
}

static void x86_axpy_f16(uint32_t n, float a, const uint16_t *x, float *y)
{
	__m256 av = _mm256_set1_ps(a);
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(
		        y + i, _mm256_fmadd_ps(av, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))),
		                               _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] = __builtin_fmaf(a, _cvtsh_ss(x[i]), y[i]);
}

static void x86_f32_to_f16(uint32_t n, const float *x, uint16_t *y)
{
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(y + i),
		                 _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		y[i] = dtype_f32_to_f16(x[i]);
}

static const struct cpu_kernel_set X86_SET_NAME = {
        .matmul =
                {
                        [DTYPE_F32] = x86_matmul_f32,
                        [DTYPE_F16] = x86_matmul_f16,
                        [DTYPE_BF16] = x86_matmul_bf16,
                        [DTYPE_Q4_0] = x86_matmul_q4_0,
                        [DTYPE_Q4_1] = x86_matmul_q4_1,
                        [DTYPE_Q5_0] = x86_matmul_q5_0,
                        [DTYPE_Q5_1] = x86_matmul_q5_1,
                        [DTYPE_Q8_0] = x86_matmul_q8_0,
                        [DTYPE_Q2_K] = x86_matmul_q2_k,
                        [DTYPE_Q3_K] = x86_matmul_q3_k,
                        [DTYPE_Q4_K] = x86_matmul_q4_k,
                        [DTYPE_Q5_K] = x86_matmul_q5_k,
                        [DTYPE_Q6_K] = x86_matmul_q6_k,
                },
        .interleave16 = X86_ZMM,
        .quant_q8_32 = x86_quant_q8_32,
        .quant_q8_256 = x86_quant_q8_256,
        .attention = x86_attention,
        .silu_mul = x86_silu_mul,
        .rmsnorm = x86_rmsnorm,
        .dot_f32_f16 = x86_dot_f32_f16,
        .axpy_f16 = x86_axpy_f16,
        .f32_to_f16 = x86_f32_to_f16,
};
