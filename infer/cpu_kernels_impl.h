/*
 * cpu_kernels_impl.h — the table of kernels one SIMD level provides, shared
 * by cpu_kernels.c (the portable level and the dispatch) and the x86 level
 * files (cpu_kernels_avx2.c, cpu_kernels_avx512.c). Not for other callers.
 */
#ifndef DUET_INFER_CPU_KERNELS_IMPL_H
#define DUET_INFER_CPU_KERNELS_IMPL_H

#include "infer/cpu_kernels.h"
#include "infer/dtype.h"

/*
 * out[t * ldo + r] for r in [r0, r1), t in [0, x->n); w is the matrix start,
 * rb the bytes of one row.
 */
typedef void (*cpu_matmul_fn)(uint32_t k, const uint8_t *w, size_t rb, uint32_t r0, uint32_t r1,
                              const struct cpu_act *x, float *out, size_t ldo);

struct cpu_kernel_set {
	cpu_matmul_fn matmul[DTYPE_COUNT_];
	/* Whether the matmuls read cpu_act's 16-token interleaved copy (q32i ...). */
	bool interleave16;
	/* nb consecutive blocks of one row: x (nb * 32 floats) -> q, d[nb], s[nb], o[nb]. */
	void (*quant_q8_32)(const float *x, int8_t *q, float *d, float *s, float *o, uint32_t nb);
	/* nb consecutive 256-blocks: x -> q, d[nb], bs[16 * nb]. */
	void (*quant_q8_256)(const float *x, int8_t *q, float *d, int16_t *bs, uint32_t nb);
	/* NULL entries fall back to the portable level's. */
	void (*attention)(uint32_t nq, uint32_t hd, const float *q, size_t ldq, const uint32_t *lim,
	                  const uint16_t *k, const uint16_t *v, size_t ldkv, float scale, float *out,
	                  size_t ldo, float *scratch);
	void (*silu_mul)(uint32_t n, float *g, const float *u);
	void (*rmsnorm)(uint32_t n, const float *x, const float *weight, float eps, float *y);
	float (*dot_f32_f16)(uint32_t n, const float *x, const uint16_t *y);
	void (*axpy_f16)(uint32_t n, float a, const uint16_t *x, float *y);
	void (*f32_to_f16)(uint32_t n, const float *x, uint16_t *y);
};

/* The portable attention, for levels whose vectors do not fit a head size. */
void cpu_attention_portable(uint32_t nq, uint32_t hd, const float *q, size_t ldq, const uint32_t *lim,
                            const uint16_t *k, const uint16_t *v, size_t ldkv, float scale, float *out,
                            size_t ldo, float *scratch);

/* Non-NULL only where built (x86-64 with a GCC-compatible compiler). */
extern const struct cpu_kernel_set *const cpu_kernels_avx2;
extern const struct cpu_kernel_set *const cpu_kernels_avx512;

/* Elements per K-quant super-block (ggml's QK_K). */
#define CPU_QK 256

/* The 6-bit scale and min of Q4_K/Q5_K sub-block j (ggml's get_scale_min_k4). */
static inline void cpu_scale_min_k4(const uint8_t *q, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0x0f) | (q[j - 4] >> 6) << 4;
		*m = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
	}
}

/* Q3_K's 16 six-bit scales, offset removed (-32..31). */
static inline void cpu_scales_q3_k(const uint8_t *sb, int sc[16])
{
	for (int s = 0; s < 16; s++) {
		int lo = (s < 8 ? sb[s] : sb[s - 8] >> 4) & 0x0f;
		int hi = (sb[8 + s % 4] >> (2 * (s / 4))) & 3;
		sc[s] = (lo | hi << 4) - 32;
	}
}

#endif
