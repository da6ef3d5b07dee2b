/*
 * cpu_kernels.c — the CPU kernels' run-time dispatch, activation buffers,
 * and the portable C level that every CPU can run (cpu_kernels.h). The x86
 * levels live in cpu_kernels_avx2.c and cpu_kernels_avx512.c; a level that
 * lacks a kernel falls back to the portable one. Calls dtype and util.
 *
 * The portable level is the plain statement of each product: a weight
 * block unpacked to its integer values and scales, integer dot products
 * with the quantised activations, one float accumulator per output element.
 */
#include "config.h"

#include "infer/cpu_kernels.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

#include "infer/cpu_kernels_impl.h"
#include "infer/util.h"

/* --- activations ---------------------------------------------------------------- */

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static size_t div_up(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

size_t cpu_act_bytes(uint32_t n, uint32_t k)
{
	size_t nb32 = (size_t)n * div_up(k, 32), nb256 = (size_t)n * div_up(k, 256);
	return align64((size_t)n * k) * 4 + align64(nb32 * sizeof(float)) * 6 +
	       align64(nb256 * sizeof(float)) * 2 + align64((size_t)n * div_up(k, 16) * sizeof(int16_t)) * 2;
}

static const struct cpu_kernel_set *kernels(void);

void cpu_act_init(struct cpu_act *a, void *mem, uint32_t n, uint32_t k, const float *f32, size_t ld)
{
	size_t nb32 = (size_t)n * div_up(k, 32), nb256 = (size_t)n * div_up(k, 256);
	char *p = mem;

	a->k = k;
	a->n = n;
	a->f32 = f32;
	a->f32_ld = ld;
	a->q32 = (int8_t *)p;
	p += align64((size_t)n * k);
	a->q256 = (int8_t *)p;
	p += align64((size_t)n * k);
	a->d32 = (float *)p;
	p += align64(nb32 * sizeof(float));
	a->s32 = (float *)p;
	p += align64(nb32 * sizeof(float));
	a->o32 = (float *)p;
	p += align64(nb32 * sizeof(float));
	a->d256 = (float *)p;
	p += align64(nb256 * sizeof(float));
	a->bs256 = (int16_t *)p;
	p += align64((size_t)n * div_up(k, 16) * sizeof(int16_t));
	a->q32i = (int8_t *)p;
	p += align64((size_t)n * k);
	a->d32i = (float *)p;
	p += align64(nb32 * sizeof(float));
	a->s32i = (float *)p;
	p += align64(nb32 * sizeof(float));
	a->o32i = (float *)p;
	p += align64(nb32 * sizeof(float));
	a->q256i = (int8_t *)p;
	p += align64((size_t)n * k);
	a->d256i = (float *)p;
	p += align64(nb256 * sizeof(float));
	a->bs256i = (int16_t *)p;
	a->n16 = kernels()->interleave16 ? n / 16 : 0;
}

/* --- portable level --------------------------------------------------------------- */

static inline float f16_at(const uint8_t *p)
{
	return dtype_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

static inline float bf16_at(const uint8_t *p)
{
	return dtype_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

static inline uint32_t u32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline float half_round(float f)
{
	return dtype_f16_to_f32(dtype_f32_to_f16(f));
}

/*
 * llama.cpp's quantize_row_q8_1 (AVX2 path): q = x * (127 / amax) rounded
 * to nearest even (the current rounding mode), d = half(amax / 127),
 * s = half(amax / 127 * sum q). The SIMD levels compute the same float
 * operations and produce identical bytes.
 */
static void quant_q8_32_portable(const float *x, int8_t *q, float *d, float *s, float *o, uint32_t nb)
{
	for (uint32_t b = 0; b < nb; b++, x += 32, q += 32) {
		float amax = 0.0f;
		for (int i = 0; i < 32; i++)
			amax = fmaxf(amax, fabsf(x[i]));
		float dfull = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
		int sum = 0;
		for (int i = 0; i < 32; i++) {
			int v = (int)nearbyintf(x[i] * id);
			q[i] = (int8_t)v;
			sum += v;
		}
		d[b] = half_round(dfull);
		s[b] = half_round(dfull * (float)sum);
		o[b] = d[b] * (float)sum;
	}
}

static void quant_q8_256_portable(const float *x, int8_t *q, float *d, int16_t *bs, uint32_t nb)
{
	for (uint32_t b = 0; b < nb; b++, x += CPU_QK, q += CPU_QK, bs += 16) {
		float amax = 0.0f;
		for (int i = 0; i < CPU_QK; i++)
			amax = fmaxf(amax, fabsf(x[i]));
		/* llama.cpp's quantize_row_q8_K_ref: d = 1 / iscale (its sign flip does not change d * q). */
		float id = amax != 0.0f ? 127.0f / amax : 0.0f, db = amax != 0.0f ? 1.0f / id : 0.0f;
		for (int j = 0; j < 16; j++) {
			int sum = 0;
			for (int i = 16 * j; i < 16 * j + 16; i++) {
				int v = (int)nearbyintf(x[i] * id);
				q[i] = (int8_t)v;
				sum += v;
			}
			bs[j] = (int16_t)sum;
		}
		d[b] = db;
	}
}

/*
 * A 32-element block as integers: w = d * q + m. For the symmetric types
 * q carries the offset (Q4_0: nibble - 8) and m = 0.
 */
static void unpack_q32(uint32_t type, const uint8_t *x, int8_t q[32], float *d, float *m)
{
	uint32_t qh;

	*d = 0.0f;
	*m = 0.0f;
	switch (type) {
	case DTYPE_Q4_0:
		*d = f16_at(x);
		for (int j = 0; j < 16; j++) {
			q[j] = (int8_t)((x[2 + j] & 0x0f) - 8);
			q[j + 16] = (int8_t)((x[2 + j] >> 4) - 8);
		}
		break;
	case DTYPE_Q4_1:
		*d = f16_at(x);
		*m = f16_at(x + 2);
		for (int j = 0; j < 16; j++) {
			q[j] = (int8_t)(x[4 + j] & 0x0f);
			q[j + 16] = (int8_t)(x[4 + j] >> 4);
		}
		break;
	case DTYPE_Q5_0:
		*d = f16_at(x);
		qh = u32_at(x + 2);
		for (int j = 0; j < 16; j++) {
			q[j] = (int8_t)(((x[6 + j] & 0x0f) | ((qh >> j) & 1) << 4) - 16);
			q[j + 16] = (int8_t)(((x[6 + j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16);
		}
		break;
	case DTYPE_Q5_1:
		*d = f16_at(x);
		*m = f16_at(x + 2);
		qh = u32_at(x + 4);
		for (int j = 0; j < 16; j++) {
			q[j] = (int8_t)((x[8 + j] & 0x0f) | ((qh >> j) & 1) << 4);
			q[j + 16] = (int8_t)((x[8 + j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
		}
		break;
	case DTYPE_Q8_0:
		*d = f16_at(x);
		memcpy(q, x + 2, 32);
		break;
	}
}

static void matmul_q32_portable(uint32_t type, uint32_t k, const uint8_t *w, size_t rb, uint32_t r0,
                                uint32_t r1, const struct cpu_act *x, float *out, size_t ldo)
{
	uint32_t nb = k / 32, bb = dtype_traits(type)->block_bytes;
	int8_t q[32];
	float d, m;

	for (uint32_t r = r0; r < r1; r++)
		for (uint32_t t = 0; t < x->n; t++) {
			const int8_t *a = x->q32 + (size_t)t * k;
			const float *da = x->d32 + (size_t)t * nb, *sa = x->s32 + (size_t)t * nb;
			float acc = 0.0f;
			for (uint32_t b = 0; b < nb; b++) {
				unpack_q32(type, w + r * rb + b * bb, q, &d, &m);
				int32_t isum = 0;
				for (int i = 0; i < 32; i++)
					isum += q[i] * a[32 * b + i];
				acc += (d * da[b]) * (float)isum;
				acc += m * sa[b];
			}
			out[(size_t)t * ldo + r] = acc;
		}
}

/*
 * A K-quant super-block as integers: w = d * sc[s] * q - dmin * m[s] for
 * element i in 16-element group s = i / 16 (m = 0 for Q3_K and Q6_K, whose
 * q carry their offset).
 */
struct kq_block {
	int8_t q[CPU_QK];
	int sc[16], m[16];
	float d, dmin;
};

static void unpack_kq(uint32_t type, const uint8_t *x, struct kq_block *b)
{
	memset(b->m, 0, sizeof b->m);
	b->dmin = 0.0f;
	switch (type) {
	case DTYPE_Q2_K: {
		const uint8_t *qs = x + 16;
		b->d = f16_at(x + 80);
		b->dmin = f16_at(x + 82);
		for (int s = 0; s < 16; s++) {
			b->sc[s] = x[s] & 0x0f;
			b->m[s] = x[s] >> 4;
		}
		for (int h = 0; h < 2; h++)
			for (int k = 0; k < 4; k++)
				for (int l = 0; l < 32; l++)
					b->q[128 * h + 32 * k + l] =
					        (int8_t)((qs[32 * h + l] >> (2 * k)) & 3);
		break;
	}
	case DTYPE_Q3_K: {
		const uint8_t *hmask = x, *qs = x + 32;
		b->d = f16_at(x + 108);
		cpu_scales_q3_k(x + 96, b->sc);
		for (int h = 0; h < 2; h++)
			for (int k = 0; k < 4; k++)
				for (int l = 0; l < 32; l++) {
					int q = (qs[32 * h + l] >> (2 * k)) & 3;
					if (!((hmask[l] >> (4 * h + k)) & 1))
						q -= 4;
					b->q[128 * h + 32 * k + l] = (int8_t)q;
				}
		break;
	}
	case DTYPE_Q4_K:
	case DTYPE_Q5_K: {
		const uint8_t *qh = x + 16, *qs = x + (type == DTYPE_Q4_K ? 16 : 48);
		b->d = f16_at(x);
		b->dmin = f16_at(x + 2);
		for (int j = 0; j < 8; j++) {
			int sc, m;
			cpu_scale_min_k4(x + 4, j, &sc, &m);
			b->sc[2 * j] = b->sc[2 * j + 1] = sc;
			b->m[2 * j] = b->m[2 * j + 1] = m;
			for (int l = 0; l < 32; l++) {
				int v = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0x0f;
				if (type == DTYPE_Q5_K)
					v |= ((qh[l] >> j) & 1) << 4;
				b->q[32 * j + l] = (int8_t)v;
			}
		}
		break;
	}
	case DTYPE_Q6_K: {
		const uint8_t *ql = x, *qh = x + 128;
		b->d = f16_at(x + 208);
		for (int s = 0; s < 16; s++)
			b->sc[s] = (int8_t)x[192 + s];
		for (int h = 0; h < 2; h++)
			for (int k = 0; k < 4; k++)
				for (int l = 0; l < 32; l++) {
					int lo = (ql[64 * h + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0x0f;
					int hi = (qh[32 * h + l] >> (2 * k)) & 3;
					b->q[128 * h + 32 * k + l] = (int8_t)((lo | hi << 4) - 32);
				}
		break;
	}
	}
}

static void matmul_kq_portable(uint32_t type, uint32_t k, const uint8_t *w, size_t rb, uint32_t r0,
                               uint32_t r1, const struct cpu_act *x, float *out, size_t ldo)
{
	uint32_t nb = k / CPU_QK, bb = dtype_traits(type)->block_bytes;
	struct kq_block blk;

	for (uint32_t r = r0; r < r1; r++)
		for (uint32_t t = 0; t < x->n; t++) {
			const int8_t *a = x->q256 + (size_t)t * k;
			const float *da = x->d256 + (size_t)t * nb;
			const int16_t *bs = x->bs256 + (size_t)t * (k / 16);
			float acc = 0.0f;
			for (uint32_t b = 0; b < nb; b++) {
				unpack_kq(type, w + r * rb + b * bb, &blk);
				int32_t isum = 0, imin = 0;
				for (int s = 0; s < 16; s++) {
					int32_t p = 0;
					for (int i = 16 * s; i < 16 * s + 16; i++)
						p += blk.q[i] * a[CPU_QK * b + i];
					isum += blk.sc[s] * p;
					imin += blk.m[s] * bs[16 * b + s];
				}
				acc += (blk.d * da[b]) * (float)isum;
				acc -= (blk.dmin * da[b]) * (float)imin;
			}
			out[(size_t)t * ldo + r] = acc;
		}
}

static void matmul_float_portable(uint32_t type, uint32_t k, const uint8_t *w, size_t rb, uint32_t r0,
                                  uint32_t r1, const struct cpu_act *x, float *out, size_t ldo)
{
	for (uint32_t r = r0; r < r1; r++) {
		const uint8_t *row = w + r * rb;
		for (uint32_t t = 0; t < x->n; t++) {
			const float *a = x->f32 + (size_t)t * x->f32_ld;
			float acc = 0.0f;
			for (uint32_t i = 0; i < k; i++) {
				float v;
				if (type == DTYPE_F32)
					memcpy(&v, row + 4 * i, sizeof v);
				else if (type == DTYPE_F16)
					v = f16_at(row + 2 * i);
				else
					v = bf16_at(row + 2 * i);
				acc += v * a[i];
			}
			out[(size_t)t * ldo + r] = acc;
		}
	}
}

#define PORTABLE_MATMUL(name, impl, type)                                                                    \
	static void name(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,                  \
	                 const struct cpu_act *x, float *out, size_t ldo)                                    \
	{                                                                                                    \
		impl(type, k, w, rb, r0, r1, x, out, ldo);                                                   \
	}
PORTABLE_MATMUL(matmul_f32_portable, matmul_float_portable, DTYPE_F32)
PORTABLE_MATMUL(matmul_f16_portable, matmul_float_portable, DTYPE_F16)
PORTABLE_MATMUL(matmul_bf16_portable, matmul_float_portable, DTYPE_BF16)
PORTABLE_MATMUL(matmul_q4_0_portable, matmul_q32_portable, DTYPE_Q4_0)
PORTABLE_MATMUL(matmul_q4_1_portable, matmul_q32_portable, DTYPE_Q4_1)
PORTABLE_MATMUL(matmul_q5_0_portable, matmul_q32_portable, DTYPE_Q5_0)
PORTABLE_MATMUL(matmul_q5_1_portable, matmul_q32_portable, DTYPE_Q5_1)
PORTABLE_MATMUL(matmul_q8_0_portable, matmul_q32_portable, DTYPE_Q8_0)
PORTABLE_MATMUL(matmul_q2_k_portable, matmul_kq_portable, DTYPE_Q2_K)
PORTABLE_MATMUL(matmul_q3_k_portable, matmul_kq_portable, DTYPE_Q3_K)
PORTABLE_MATMUL(matmul_q4_k_portable, matmul_kq_portable, DTYPE_Q4_K)
PORTABLE_MATMUL(matmul_q5_k_portable, matmul_kq_portable, DTYPE_Q5_K)
PORTABLE_MATMUL(matmul_q6_k_portable, matmul_kq_portable, DTYPE_Q6_K)

static float dot_f32_f16_portable(uint32_t n, const float *x, const uint16_t *y)
{
	float acc = 0.0f;
	for (uint32_t i = 0; i < n; i++)
		acc += x[i] * dtype_f16_to_f32(y[i]);
	return acc;
}

static void axpy_f16_portable(uint32_t n, float a, const uint16_t *x, float *y)
{
	for (uint32_t i = 0; i < n; i++)
		y[i] += a * dtype_f16_to_f32(x[i]);
}

void cpu_attention_portable(uint32_t nq, uint32_t hd, const float *q, size_t ldq, const uint32_t *lim,
                            const uint16_t *k, const uint16_t *v, size_t ldkv, float scale, float *out,
                            size_t ldo, float *scratch)
{
	for (uint32_t a = 0; a < nq; a++) {
		const float *qa = q + a * ldq;
		float *o = out + a * ldo, mx = -INFINITY, sum = 0.0f;
		for (uint32_t j = 0; j <= lim[a]; j++) {
			float s = dot_f32_f16_portable(hd, qa, k + j * ldkv) * scale;
			scratch[j] = s;
			mx = fmaxf(mx, s);
		}
		for (uint32_t j = 0; j <= lim[a]; j++) {
			scratch[j] = expf(scratch[j] - mx);
			sum += scratch[j];
		}
		memset(o, 0, sizeof(float) * hd);
		for (uint32_t j = 0; j <= lim[a]; j++)
			axpy_f16_portable(hd, scratch[j], v + j * ldkv, o);
		float inv = 1.0f / sum;
		for (uint32_t i = 0; i < hd; i++)
			o[i] *= inv;
	}
}

static void rmsnorm_portable(uint32_t n, const float *x, const float *weight, float eps, float *y)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	float scale = 1.0f / sqrtf((float)(ss / n) + eps);
	for (uint32_t i = 0; i < n; i++) {
		float v = x[i] * scale;
		y[i] = v * weight[i];
	}
}

static void silu_mul_portable(uint32_t n, float *g, const float *u)
{
	for (uint32_t i = 0; i < n; i++)
		g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

static void f32_to_f16_portable(uint32_t n, const float *x, uint16_t *y)
{
	for (uint32_t i = 0; i < n; i++)
		y[i] = dtype_f32_to_f16(x[i]);
}

static const struct cpu_kernel_set kernels_portable = {
        .matmul =
                {
                        [DTYPE_F32] = matmul_f32_portable,
                        [DTYPE_F16] = matmul_f16_portable,
                        [DTYPE_BF16] = matmul_bf16_portable,
                        [DTYPE_Q4_0] = matmul_q4_0_portable,
                        [DTYPE_Q4_1] = matmul_q4_1_portable,
                        [DTYPE_Q5_0] = matmul_q5_0_portable,
                        [DTYPE_Q5_1] = matmul_q5_1_portable,
                        [DTYPE_Q8_0] = matmul_q8_0_portable,
                        [DTYPE_Q2_K] = matmul_q2_k_portable,
                        [DTYPE_Q3_K] = matmul_q3_k_portable,
                        [DTYPE_Q4_K] = matmul_q4_k_portable,
                        [DTYPE_Q5_K] = matmul_q5_k_portable,
                        [DTYPE_Q6_K] = matmul_q6_k_portable,
                },
        .quant_q8_32 = quant_q8_32_portable,
        .quant_q8_256 = quant_q8_256_portable,
        .attention = cpu_attention_portable,
        .silu_mul = silu_mul_portable,
        .rmsnorm = rmsnorm_portable,
        .dot_f32_f16 = dot_f32_f16_portable,
        .axpy_f16 = axpy_f16_portable,
        .f32_to_f16 = f32_to_f16_portable,
};

/* --- dispatch ------------------------------------------------------------------------ */

static const struct cpu_kernel_set *active_set;
static enum cpu_simd active_level, best_level;
static pthread_once_t dispatch_once = PTHREAD_ONCE_INIT;

static const struct cpu_kernel_set *level_set(enum cpu_simd level)
{
	switch (level) {
	case CPU_SIMD_AVX512:
		return cpu_kernels_avx512;
	case CPU_SIMD_AVX2:
		return cpu_kernels_avx2;
	default:
		return &kernels_portable;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
/* CPUID.1:ECX.F16C[bit 29]; not every compiler's __builtin_cpu_supports knows "f16c". */
static bool cpu_has_f16c(void)
{
	unsigned a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

static void dispatch_init(void)
{
	best_level = CPU_SIMD_PORTABLE;
#if defined(__x86_64__) && defined(__GNUC__)
	/* The builtins check the OS saves the vector state too (XGETBV). */
	__builtin_cpu_init();
	if (cpu_kernels_avx2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
	    cpu_has_f16c()) {
		best_level = CPU_SIMD_AVX2;
		if (cpu_kernels_avx512 && __builtin_cpu_supports("avx512f") &&
		    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") &&
		    __builtin_cpu_supports("bmi2"))
			best_level = CPU_SIMD_AVX512;
	}
#endif
	active_level = best_level;
	active_set = level_set(best_level);
}

static inline const struct cpu_kernel_set *kernels(void)
{
	pthread_once(&dispatch_once, dispatch_init);
	return active_set;
}

enum cpu_simd cpu_simd_best(void)
{
	pthread_once(&dispatch_once, dispatch_init);
	return best_level;
}

enum cpu_simd cpu_simd_active(void)
{
	pthread_once(&dispatch_once, dispatch_init);
	return active_level;
}

int cpu_simd_force(enum cpu_simd level)
{
	pthread_once(&dispatch_once, dispatch_init);
	if ((int)level < 0 || level > best_level)
		return -1;
	active_level = level;
	active_set = level_set(level);
	return 0;
}

const char *cpu_simd_name(enum cpu_simd level)
{
	switch (level) {
	case CPU_SIMD_PORTABLE:
		return "portable";
	case CPU_SIMD_AVX2:
		return "avx2";
	case CPU_SIMD_AVX512:
		return "avx512";
	default:
		return "?";
	}
}

/* --- public entry points -------------------------------------------------------------- */

enum cpu_actq cpu_actq_for(uint32_t type)
{
	switch (type) {
	case DTYPE_F32:
	case DTYPE_F16:
	case DTYPE_BF16:
		return CPU_ACTQ_F32;
	case DTYPE_Q4_0:
	case DTYPE_Q4_1:
	case DTYPE_Q5_0:
	case DTYPE_Q5_1:
	case DTYPE_Q8_0:
		return CPU_ACTQ_Q8_32;
	case DTYPE_Q2_K:
	case DTYPE_Q3_K:
	case DTYPE_Q4_K:
	case DTYPE_Q5_K:
	case DTYPE_Q6_K:
		return CPU_ACTQ_Q8_256;
	default:
		return CPU_ACTQ_NONE_;
	}
}

bool cpu_matmul_supports(uint32_t type)
{
	return cpu_actq_for(type) != CPU_ACTQ_NONE_;
}

/* Blocks [b, b + cnt) of row t, all inside the row. */
static void quantize_run(const struct cpu_kernel_set *ks, struct cpu_act *a, enum cpu_actq form, uint64_t t,
                         uint64_t b, uint64_t cnt)
{
	uint32_t bsize = form == CPU_ACTQ_Q8_32 ? 32 : CPU_QK;
	uint64_t nbr = a->k / bsize;
	const float *src = a->f32 + t * a->f32_ld + b * bsize;
	size_t qo = (size_t)(t * a->k + b * bsize);

	if (form == CPU_ACTQ_Q8_32) {
		ks->quant_q8_32(src, a->q32 + qo, a->d32 + t * nbr + b, a->s32 + t * nbr + b,
		                a->o32 + t * nbr + b, (uint32_t)cnt);
		if (t < 16 * (uint64_t)a->n16) {
			uint64_t g = t / 16, lane = t % 16;
			for (uint64_t j = b; j < b + cnt; j++) {
				size_t gi = (size_t)((g * nbr + j) * 16 + lane);
				for (int e = 0; e < 8; e++)
					memcpy(a->q32i + (g * nbr + j) * 512 + (size_t)e * 64 + 4 * lane,
					       a->q32 + t * a->k + j * 32 + (size_t)e * 4, 4);
				a->d32i[gi] = a->d32[t * nbr + j];
				a->s32i[gi] = a->s32[t * nbr + j];
				a->o32i[gi] = a->o32[t * nbr + j];
			}
		}
	} else {
		ks->quant_q8_256(src, a->q256 + qo, a->d256 + t * nbr + b, a->bs256 + (t * nbr + b) * 16,
		                 (uint32_t)cnt);
		if (t < 16 * (uint64_t)a->n16) {
			uint64_t g = t / 16, lane = t % 16;
			for (uint64_t j = b; j < b + cnt; j++) {
				size_t gb = (size_t)(g * nbr + j);
				for (int e = 0; e < 64; e++)
					memcpy(a->q256i + (gb * 64 + (size_t)e) * 64 + 4 * lane,
					       a->q256 + t * a->k + j * CPU_QK + (size_t)e * 4, 4);
				a->d256i[gb * 16 + lane] = a->d256[t * nbr + j];
				for (int p = 0; p < 8; p++)
					memcpy(a->bs256i + ((gb * 8 + (size_t)p) * 16 + lane) * 2,
					       a->bs256 + (t * nbr + j) * 16 + 2 * (size_t)p,
					       2 * sizeof(int16_t));
			}
		}
	}
}

static uint32_t form_block(struct cpu_act *a, enum cpu_actq form)
{
	uint32_t bsize = form == CPU_ACTQ_Q8_32 ? 32 : CPU_QK;
	if (a->k % bsize != 0)
		fatal("cpu_act_quantize: %u activations are not whole blocks of %u", a->k, bsize);
	return bsize;
}

void cpu_act_quantize(struct cpu_act *a, enum cpu_actq form, int ith, int nth)
{
	const struct cpu_kernel_set *ks = kernels();

	if (form != CPU_ACTQ_Q8_32 && form != CPU_ACTQ_Q8_256)
		return;
	uint64_t nbr = a->k / form_block(a, form), total = nbr * a->n;
	uint64_t b0 = total * (uint64_t)ith / (uint64_t)nth, b1 = total * (uint64_t)(ith + 1) / (uint64_t)nth;
	while (b0 < b1) {
		uint64_t t = b0 / nbr, b = b0 % nbr, cnt = nbr - b;
		if (cnt > b1 - b0)
			cnt = b1 - b0;
		quantize_run(ks, a, form, t, b, cnt);
		b0 += cnt;
	}
}

void cpu_act_quantize_part(struct cpu_act *a, enum cpu_actq form, uint32_t t0, uint32_t t1, uint32_t c0,
                           uint32_t c1)
{
	const struct cpu_kernel_set *ks = kernels();

	if (form != CPU_ACTQ_Q8_32 && form != CPU_ACTQ_Q8_256)
		return;
	uint32_t bsize = form_block(a, form);
	if (c0 % bsize != 0 || c1 % bsize != 0 || c1 > a->k || t1 > a->n)
		fatal("cpu_act_quantize_part: columns %u..%u of %u, rows ..%u of %u", c0, c1, a->k, t1, a->n);
	if (c0 >= c1)
		return;
	for (uint32_t t = t0; t < t1; t++)
		quantize_run(ks, a, form, t, c0 / bsize, (c1 - c0) / bsize);
}

void cpu_matmul(uint32_t type, const void *w, uint32_t k, uint32_t r0, uint32_t r1, const struct cpu_act *x,
                float *out, size_t ldo)
{
	const struct cpu_kernel_set *ks = kernels();
	uint64_t rb;
	cpu_matmul_fn fn;

	if (type >= DTYPE_COUNT_ || !cpu_matmul_supports(type) || dtype_bytes(type, k, &rb) < 0)
		fatal("cpu_matmul: %s rows of %u elements", dtype_name(type), k);
	if (r0 >= r1 || x->n == 0)
		return;
	fn = ks->matmul[type] ? ks->matmul[type] : kernels_portable.matmul[type];
	fn(k, w, (size_t)rb, r0, r1, x, out, ldo);
}

void cpu_attention(uint32_t nq, uint32_t hd, const float *q, size_t ldq, const uint32_t *lim,
                   const uint16_t *k, const uint16_t *v, size_t ldkv, float scale, float *out, size_t ldo,
                   float *scratch)
{
	const struct cpu_kernel_set *ks = kernels();
	(ks->attention ? ks->attention : cpu_attention_portable)(nq, hd, q, ldq, lim, k, v, ldkv, scale, out,
	                                                         ldo, scratch);
}

void cpu_rmsnorm(uint32_t n, const float *x, const float *weight, float eps, float *y)
{
	const struct cpu_kernel_set *ks = kernels();
	(ks->rmsnorm ? ks->rmsnorm : rmsnorm_portable)(n, x, weight, eps, y);
}

void cpu_silu_mul(uint32_t n, float *g, const float *u)
{
	const struct cpu_kernel_set *ks = kernels();
	(ks->silu_mul ? ks->silu_mul : silu_mul_portable)(n, g, u);
}

float cpu_dot_f32_f16(uint32_t n, const float *x, const uint16_t *y)
{
	return kernels()->dot_f32_f16(n, x, y);
}

void cpu_axpy_f16(uint32_t n, float a, const uint16_t *x, float *y)
{
	kernels()->axpy_f16(n, a, x, y);
}

void cpu_f32_to_f16(uint32_t n, const float *x, uint16_t *y)
{
	kernels()->f32_to_f16(n, x, y);
}
