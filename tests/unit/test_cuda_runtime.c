/*
 * test_cuda_runtime.c — the CUDA backend on a GPU, against plain
 * double-precision references and the CPU backend (skips without a GPU).
 *
 * Per operation (cuda/cuda_debug.h):
 *  - GPU dequantisation of every weight format equals the host's decoding
 *    of the same repacked bytes bit for bit (and so dtype_dequant, by
 *    test_cuda_host, for the lossless formats);
 *  - the decode matvec (staged and unstaged, with and without the fused
 *    RMSNorm) against a double dot product of the same weights, and against
 *    the CPU backend's cpu_matmul within the error bound its activation
 *    quantisation allows (cpu_kernels.h); the prefill GEMM path (bf16
 *    activations, dequantised tiles, cuBLASLt) within bf16 rounding;
 *  - the fused gate/up SiLU kernel, RMSNorm, RoPE + bias + KV write (both
 *    layouts, far positions), attention with 1..128 splits and GQA against
 *    a double softmax, the sampler (greedy = argmax with ties to the lowest
 *    id, top-k membership, top-p / min-p cuts, frequencies, determinism).
 * Whole forward passes on tiny random llama and qwen2 GGUF models in every
 * weight format (and load-time 8/4-bit quantisation): decode steps and
 * prefill against a double reference built from the very weights the GPU
 * holds, against the CPU backend, chunked prefill, graph replay against
 * eager launches (bit for bit), two contexts sharing weights, sampling on
 * the device, memory caps and error messages.
 *
 * Tolerances (relative to the largest |reference|): decode 1e-3 (f32
 * arithmetic; K and V rounded to f16 as the reference does too); prefill
 * 3e-2 (every GEMM input rounded to bf16, 2^-9 relative: 0.4-1.1% seen in
 * a CPU emulation with exact GEMMs, tensor cores add their own rounding),
 * and so decode steps that follow a prefill too; against the CPU
 * backend 2e-2 for float weights and 6e-2 for quantised ones (the CPU
 * rounds activations to 8 bits: up to ~2.5% seen on these models, see
 * test_cpu_forward.c).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda/cuda_debug.h"
#include "cuda/wformat_host.h"
#include "infer/backend.h"
#include "infer/cpu_kernels.h"
#include "infer/dtype.h"
#include "infer/gguf_write.h"
#include "infer/model.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/tinymodel.h"

static const struct backend_ops *cuda;
static const struct cuda_debug_ops *dbg;
static const int dev = 0;


/* The weights exactly as the GPU holds them: repacked and decoded on the host (test_cuda_host checks that
 * path). */
static float *gpu_weights_host(uint32_t type, const void *data, uint32_t rows, uint32_t k, int quant_bits,
                               bool keep8, enum cg_fmt *fmt_out)
{
	enum cg_fmt f;
	struct cg_mat_layout L;
	struct cg_rows m;
	if (cg_fmt_choose(type, quant_bits, keep8, k, &f) < 0 || cg_mat_layout(f, rows, k, &L) < 0)
		return NULL;
	uint8_t *mem = xcalloc(1, (size_t)L.bytes);
	float *tmp = xmalloc(sizeof(float) * k), *out = xmalloc(sizeof(float) * (size_t)rows * k);
	for (int c = 0; c < CG_COMP_COUNT_; c++)
		m.c[c] = L.row_bytes[c] ? mem + L.off[c] : NULL;
	cg_repack_rows(f, type, data, k, rows, &m, tmp);
	for (uint32_t r = 0; r < rows; r++)
		cg_unpack_row(f, &m, &L, r, k, out + (size_t)r * k);
	if (fmt_out)
		*fmt_out = f;
	free(mem);
	free(tmp);
	return out;
}

/* --- per-operation checks ---------------------------------------------------------------------------- */

static void test_dequant(uint32_t type, int quant_bits, bool keep8, uint32_t rows, uint32_t k)
{
	void *w = random_matrix(type, k, rows);
	float *want = gpu_weights_host(type, w, rows, k, quant_bits, keep8, NULL);
	float *got = xmalloc(sizeof(float) * (size_t)rows * k);
	const char *fmt = "?";
	char *cause = NULL;
	int rc = dbg->dequant(dev, type, w, rows, k, quant_bits, keep8, got, &fmt, &cause);
	size_t bad = (size_t)-1;
	if (rc == 0 && want)
		for (size_t i = 0; i < (size_t)rows * k; i++)
			if (memcmp(&got[i], &want[i], 4) != 0) {
				bad = i;
				break;
			}
	if (!tap_ok(rc == 0 && want && bad == (size_t)-1,
	            "dequant %s (quant %d%s) -> %s on the GPU equals the host decoding", dtype_name(type),
	            quant_bits, keep8 ? ", output" : "", fmt)) {
		if (rc < 0)
			tap_diag("  %s", cause);
		else if (bad != (size_t)-1)
			tap_diag("  element %zu (row %zu): GPU %.9g, host %.9g", bad, bad / k, got[bad],
			         want[bad]);
	}
	free(cause);
	free(w);
	free(want);
	free(got);
}

static void rmsnorm_ref(const float *x, const float *w, uint32_t n, double eps, double *y)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	double s = 1.0 / sqrt(ss / n + eps);
	for (uint32_t i = 0; i < n; i++)
		y[i] = x[i] * s * (w ? w[i] : 1.0);
}

/*
 * The CPU backend's kernel on the same weights and (already normalised)
 * inputs, and the bound its activation rounding allows: per 32- or
 * 256-block, |x - d q| <= d (1/2 + 127 * 2^-11) with d = amax / 127
 * (cpu_kernels.h), times the block's sum of |w|; plus the GPU's own bf16
 * rounding of the weights when its format is lossy (2^-9 relative).
 */
static int cpu_compare(uint32_t type, enum cg_fmt fmt, const void *data, const float *wd, uint32_t rows,
                       uint32_t k, const float *x, const float *got, const char *what)
{
	enum cpu_actq form = cpu_actq_for(type);
	struct cpu_act a;
	void *mem = aligned_alloc(64, (cpu_act_bytes(1, k) + 63) / 64 * 64);
	float *cpu = xmalloc(sizeof(float) * rows);
	uint32_t bs = form == CPU_ACTQ_Q8_32 ? 32 : form == CPU_ACTQ_Q8_256 ? 256 : 0;
	int ok = 1;

	cpu_act_init(&a, mem, 1, k, x, k);
	cpu_act_quantize(&a, form, 0, 1);
	cpu_matmul(type, data, k, 0, rows, &a, cpu, rows);
	for (uint32_t r = 0; r < rows && ok; r++) {
		double bound = 0, absdot = 0;
		for (uint32_t i = 0; i < k; i++)
			absdot += fabs((double)wd[(size_t)r * k + i] * x[i]);
		if (bs)
			for (uint32_t b = 0; b < k / bs; b++) {
				double amax = 0, sw = 0;
				for (uint32_t i = b * bs; i < (b + 1) * bs; i++) {
					amax = fmax(amax, fabs(x[i]));
					sw += fabs(wd[(size_t)r * k + i]);
				}
				bound += sw * amax / 127.0 * (0.5 + 127.0 / 2048);
			}
		bound += (cg_fmt_lossless(fmt, type) ? 1e-4 : 1e-4 + 0x1p-8) * absdot + 1e-6;
		if (fabs((double)got[r] - cpu[r]) > bound) {
			ok = 0;
			tap_diag("  %s row %u: GPU %.7g, CPU %.7g, bound %.3g", what, r, got[r], cpu[r],
			         bound);
		}
	}
	free(mem);
	free(cpu);
	return ok;
}

static void test_matmul(uint32_t type, int quant_bits, uint32_t rows, uint32_t k, uint32_t n_tok, bool norm,
                        bool staged, uint64_t tile_cap)
{
	void *w = random_matrix(type, k, rows);
	enum cg_fmt fmt = CG_FMT_BF16;
	float *wd = gpu_weights_host(type, w, rows, k, quant_bits, false, &fmt);
	float *x = random_floats((size_t)n_tok * k, -1, 1), *nw = norm ? random_floats(k, 0.5f, 1.5f) : NULL;
	float *got = xmalloc(sizeof(float) * (size_t)n_tok * rows);
	double *xn = xmalloc(sizeof(double) * k);
	char *cause = NULL, what[160];
	const float eps = 1e-5f;
	const double tol = n_tok == 1 ? 1e-4 : 5e-3;
	int ok = 1;

	snprintf(what, sizeof what, "%s %s (quant %d) %u x %u, %u token%s%s%s%s",
	         n_tok == 1 ? "matvec" : "GEMM", dtype_name(type), quant_bits, rows, k, n_tok,
	         n_tok == 1 ? "" : "s", norm ? ", fused norm" : "", n_tok == 1 && !staged ? ", unstaged" : "",
	         tile_cap ? ", small tiles" : "");
	if (dbg->matmul(dev, type, w, rows, k, quant_bits, x, n_tok, nw, eps, staged, tile_cap, got, &cause) <
	    0) {
		tap_ok(0, "%s: %s", what, cause);
		goto out;
	}
	for (uint32_t t = 0; t < n_tok && ok; t++) {
		if (nw)
			rmsnorm_ref(x + (size_t)t * k, nw, k, eps, xn);
		else
			for (uint32_t i = 0; i < k; i++)
				xn[i] = x[(size_t)t * k + i];
		for (uint32_t r = 0; r < rows && ok; r++) {
			double s = 0, as = 0;
			for (uint32_t i = 0; i < k; i++) {
				double p = wd[(size_t)r * k + i] * xn[i];
				s += p;
				as += fabs(p);
			}
			double g = got[(size_t)t * rows + r];
			if (!(fabs(g - s) <= tol * as + 1e-6)) {
				ok = 0;
				tap_diag("  token %u row %u: GPU %.9g, reference %.9g (allowed %.3g)", t, r,
				         g, s, tol * as + 1e-6);
			}
		}
	}
	tap_ok(ok, "%s matches a double dot product of the same weights", what);
	if (n_tok == 1 && !norm && quant_bits == 0)
		tap_ok(cpu_compare(type, fmt, w, wd, rows, k, x, got, what),
		       "%s agrees with the CPU backend's cpu_matmul", what);
out:
	free(cause);
	free(w);
	free(wd);
	free(x);
	free(nw);
	free(got);
	free(xn);
}

static void test_glu(uint32_t type, uint32_t rows, uint32_t k)
{
	void *g = random_matrix(type, k, rows), *u = random_matrix(type, k, rows);
	float *gd = gpu_weights_host(type, g, rows, k, 0, false, NULL),
	      *ud = gpu_weights_host(type, u, rows, k, 0, false, NULL);
	float *x = random_floats(k, -1, 1), *got = xmalloc(sizeof(float) * rows);
	char *cause = NULL;
	int ok = 1;

	if (dbg->matvec_glu(dev, type, g, u, rows, k, x, got, &cause) < 0) {
		tap_ok(0, "gate/up SiLU %s: %s", dtype_name(type), cause);
		goto out;
	}
	for (uint32_t r = 0; r < rows && ok; r++) {
		double sg = 0, su = 0, ag = 0, au = 0;
		for (uint32_t i = 0; i < k; i++) {
			sg += (double)gd[(size_t)r * k + i] * x[i];
			su += (double)ud[(size_t)r * k + i] * x[i];
			ag += fabs((double)gd[(size_t)r * k + i] * x[i]);
			au += fabs((double)ud[(size_t)r * k + i] * x[i]);
		}
		double silu = sg / (1 + exp(-sg)), want = silu * su;
		double tol = 1.1 * 1e-4 * ag * fabs(su) + fabs(silu) * 1e-4 * au + 1e-6;
		if (!(fabs(got[r] - want) <= tol)) {
			ok = 0;
			tap_diag("  row %u: GPU %.9g, reference %.9g", r, got[r], want);
		}
	}
	tap_ok(ok, "fused gate/up SiLU (%s, %u x %u) matches silu(g.x) * (u.x)", dtype_name(type), rows, k);
out:
	free(cause);
	free(g);
	free(u);
	free(gd);
	free(ud);
	free(x);
	free(got);
}

static void test_rmsnorm(uint32_t n_rows, uint32_t n)
{
	float *x = random_floats((size_t)n_rows * n, -4, 4), *w = random_floats(n, -2, 2);
	float *got = xmalloc(sizeof(float) * (size_t)n_rows * n);
	double *ref = xmalloc(sizeof(double) * n);
	char *cause = NULL;
	int ok = 1;
	if (dbg->rmsnorm(dev, x, w, n_rows, n, 1e-6f, got, &cause) < 0) {
		tap_ok(0, "rmsnorm: %s", cause);
		goto out;
	}
	for (uint32_t t = 0; t < n_rows && ok; t++) {
		rmsnorm_ref(x + (size_t)t * n, w, n, 1e-6, ref);
		for (uint32_t i = 0; i < n && ok; i++)
			if (!(fabs(got[(size_t)t * n + i] - ref[i]) <= 2e-6 * fabs(ref[i]) + 1e-7)) {
				ok = 0;
				tap_diag("  row %u element %u: GPU %.9g, reference %.9g", t, i,
				         got[(size_t)t * n + i], ref[i]);
			}
	}
	tap_ok(ok, "rmsnorm of %u rows of %u matches the double reference", n_rows, n);
out:
	free(cause);
	free(x);
	free(w);
	free(got);
	free(ref);
}

/* inv_freq as the backends compute it (float), the angle pos * inv_freq in float, then exact trigonometry. */
static void rope_ref(double *v, const float *x, uint32_t hd, uint32_t pos, float theta, int layout)
{
	for (uint32_t i = 0; i < hd; i++)
		v[i] = x[i];
	for (uint32_t i = 0; i < hd / 2; i++) {
		float inv = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
		float ang = (float)pos * inv;
		double c = cos((double)ang), s = sin((double)ang);
		uint32_t a = layout == CUDA_DBG_ROPE_HALF ? i : 2 * i,
		         b = layout == CUDA_DBG_ROPE_HALF ? i + hd / 2 : 2 * i + 1;
		double x0 = v[a], x1 = v[b];
		v[a] = x0 * c - x1 * s;
		v[b] = x0 * s + x1 * c;
	}
}

static void test_rope_kv(uint32_t n_heads, uint32_t n_kv, uint32_t hd, uint32_t n_tok, uint32_t pos,
                         int layout, bool bias)
{
	const uint32_t qd = n_heads * hd, kvd = n_kv * hd, n_ctx = pos + n_tok + 2;
	const float theta = 500000.0f;
	float *q = random_floats((size_t)n_tok * qd, -2, 2), *k = random_floats((size_t)n_tok * kvd, -2, 2);
	float *v = random_floats((size_t)n_tok * kvd, -2, 2);
	float *bq = bias ? random_floats(qd, -0.5f, 0.5f) : NULL,
	      *bk = bias ? random_floats(kvd, -0.5f, 0.5f) : NULL;
	float *bv = bias ? random_floats(kvd, -0.5f, 0.5f) : NULL;
	float *qo = xmalloc(sizeof(float) * (size_t)n_tok * qd), *tmp = xmalloc(sizeof(float) * hd);
	uint16_t *kc = xmalloc(2 * (size_t)n_ctx * kvd), *vc = xmalloc(2 * (size_t)n_ctx * kvd);
	double *ref = xmalloc(sizeof(double) * hd);
	char *cause = NULL;
	int ok_q = 1, ok_k = 1, ok_v = 1, ok_rest = 1;

	for (size_t i = 0; i < (size_t)n_ctx * kvd; i++)
		kc[i] = vc[i] = 0x1234; /* rows outside pos.. must keep it */
	memcpy(qo, q, sizeof(float) * n_tok * qd);
	if (dbg->rope_kv(dev, qo, k, v, bq, bk, bv, n_tok, pos, n_heads, n_kv, hd, theta, layout, n_ctx, kc,
	                 vc, &cause) < 0) {
		tap_ok(0, "rope_kv: %s", cause);
		goto out;
	}
	for (uint32_t t = 0; t < n_tok; t++) {
		for (uint32_t h = 0; h < n_heads + n_kv; h++) {
			bool isq = h < n_heads;
			const float *src =
			        isq ? q + (size_t)t * qd + h * hd : k + (size_t)t * kvd + (h - n_heads) * hd;
			const float *b =
			        isq ? (bq ? bq + h * hd : NULL) : (bk ? bk + (h - n_heads) * hd : NULL);
			for (uint32_t i = 0; i < hd; i++)
				tmp[i] = b ? src[i] + b[i] : src[i];
			rope_ref(ref, tmp, hd, pos + t, theta, layout);
			for (uint32_t i = 0; i < hd; i++) {
				if (isq) {
					float g = qo[(size_t)t * qd + h * hd + i];
					if (ok_q && !(fabs(g - ref[i]) <= 2e-6 * 4 + 1e-6 * fabs(ref[i]))) {
						ok_q = 0;
						tap_diag("  q token %u head %u dim %u: GPU %.9g, reference "
						         "%.9g",
						         t, h, i, g, ref[i]);
					}
				} else {
					float g = dtype_f16_to_f32(
					        kc[(size_t)(pos + t) * kvd + (h - n_heads) * hd + i]);
					/* One f16 rounding of a value the GPU knows to float precision:
					 * within an f16 ulp. */
					if (ok_k &&
					    !(fabs(g - ref[i]) <= fabs(ref[i]) * 0x1p-10 + 0x1p-24 + 1e-5)) {
						ok_k = 0;
						tap_diag("  k token %u head %u dim %u: GPU %.9g, reference "
						         "%.9g",
						         t, h - n_heads, i, g, ref[i]);
					}
				}
			}
		}
		for (uint32_t i = 0; i < kvd; i++) {
			float want = bv ? v[(size_t)t * kvd + i] + bv[i] : v[(size_t)t * kvd + i];
			if (ok_v && vc[(size_t)(pos + t) * kvd + i] != dtype_f32_to_f16(want)) {
				ok_v = 0;
				tap_diag("  v token %u dim %u: GPU 0x%04x, want 0x%04x", t, i,
				         vc[(size_t)(pos + t) * kvd + i], dtype_f32_to_f16(want));
			}
		}
	}
	for (uint32_t p = 0; p < n_ctx; p++)
		if (p < pos || p >= pos + n_tok)
			for (uint32_t i = 0; i < kvd; i++)
				ok_rest &= kc[(size_t)p * kvd + i] == 0x1234 &&
				           vc[(size_t)p * kvd + i] == 0x1234;
	tap_ok(ok_q && ok_k && ok_v && ok_rest,
	       "RoPE (%s) + %sKV write: %u tokens at %u, %u/%u heads of %u: q, k within an f16 ulp, v exact, "
	       "other rows kept",
	       layout == CUDA_DBG_ROPE_HALF ? "half" : "adjacent", bias ? "bias + " : "", n_tok, pos, n_heads,
	       n_kv, hd);
out:
	free(cause);
	free(q), free(k), free(v), free(bq), free(bk), free(bv), free(qo), free(tmp), free(kc), free(vc),
	        free(ref);
}

static void test_attention(uint32_t n_heads, uint32_t n_kv, uint32_t hd, uint32_t n_tok, uint32_t pos,
                           uint32_t n_splits)
{
	const uint32_t qd = n_heads * hd, kvd = n_kv * hd, n_ctx = pos + n_tok, group = n_heads / n_kv;
	float *q = random_floats((size_t)n_tok * qd, -2, 2),
	      *got = xmalloc(sizeof(float) * (size_t)n_tok * qd);
	uint16_t *kc = xmalloc(2 * (size_t)n_ctx * kvd), *vc = xmalloc(2 * (size_t)n_ctx * kvd);
	double *sc = xmalloc(sizeof(double) * n_ctx);
	char *cause = NULL;
	double max_err = 0;

	for (size_t i = 0; i < (size_t)n_ctx * kvd; i++) {
		kc[i] = dtype_f32_to_f16(rng_uniform(-1, 1));
		vc[i] = dtype_f32_to_f16(rng_uniform(-1, 1));
	}
	if (dbg->attention(dev, q, kc, vc, n_tok, pos, n_heads, n_kv, hd, n_ctx, n_splits, got, &cause) < 0) {
		tap_ok(0, "attention: %s", cause);
		goto out;
	}
	for (uint32_t t = 0; t < n_tok; t++)
		for (uint32_t h = 0; h < n_heads; h++) {
			uint32_t g = h / group, len = pos + t + 1;
			double mx = -INFINITY, sum = 0;
			for (uint32_t j = 0; j < len; j++) {
				double s = 0;
				for (uint32_t i = 0; i < hd; i++)
					s += (double)q[(size_t)t * qd + h * hd + i] *
					     dtype_f16_to_f32(kc[(size_t)j * kvd + g * hd + i]);
				sc[j] = s / sqrt((double)hd);
				mx = fmax(mx, sc[j]);
			}
			for (uint32_t j = 0; j < len; j++)
				sum += sc[j] = exp(sc[j] - mx);
			for (uint32_t i = 0; i < hd; i++) {
				double o = 0;
				for (uint32_t j = 0; j < len; j++)
					o += sc[j] / sum * dtype_f16_to_f32(vc[(size_t)j * kvd + g * hd + i]);
				max_err = fmax(max_err, fabs(o - got[(size_t)t * qd + h * hd + i]));
			}
		}
	tap_ok(max_err <= 2e-5, "attention: %u tokens at %u (%u/%u heads of %u), %u split%s: max error %.3g",
	       n_tok, pos, n_heads, n_kv, hd, n_splits, n_splits == 1 ? "" : "s", max_err);
out:
	free(cause);
	free(q), free(got), free(kc), free(vc), free(sc);
}

static int32_t sample_once(const float *logits, uint32_t n, float temp, int32_t top_k, float top_p,
                           float min_p, uint64_t seed, uint64_t counter)
{
	struct backend_sample_params sp = {temp, top_k, top_p, min_p, seed, counter};
	int32_t tok = -1;
	char *cause = NULL;
	if (dbg->sample(dev, logits, n, &sp, &tok, &cause) < 0) {
		tap_diag("  sample: %s", cause);
		tok = -2;
	}
	free(cause);
	return tok;
}

static void test_sampler(void)
{
	enum { V = 151936 };
	float *lg = random_floats(V, -10, 10);
	lg[0] = NAN;
	lg[777] = 11.0f;
	lg[90001] = 11.0f; /* a tie: the lower id wins */
	TAP_EQ_INT(sample_once(lg, V, 0.0f, 40, 0.95f, 0.05f, 1, 0), 777,
	           "greedy: argmax of 152k logits, ties to the lowest id, NaN skipped");
	TAP_EQ_INT(sample_once(lg, V, 0.7f, 1, 1.0f, 0.0f, 1, 0), 777, "top-k 1 is greedy");
	int32_t first = sample_once(lg, V, 0.8f, 40, 0.95f, 0.05f, 1234, 7), same = 1;
	for (int i = 0; i < 5; i++)
		same &= sample_once(lg, V, 0.8f, 40, 0.95f, 0.05f, 1234, 7) == first;
	tap_ok(first > 0 && same, "the same seed and counter give the same token (%d)", first);

	/* Top-k membership: the 5 largest of 1000 distinct logits. */
	float small[1000];
	int ok = 1;
	for (int i = 0; i < 1000; i++)
		small[i] = (float)((i * 7919) % 1000) / 100.0f;
	for (uint64_t c = 0; c < 200 && ok; c++) {
		int32_t t = sample_once(small, 1000, 2.0f, 5, 1.0f, 0.0f, 99, c);
		ok = t >= 0 && small[t] >= 9.95f;
		if (!ok)
			tap_diag("  draw %llu gave %d (logit %g)", (unsigned long long)c, t,
			         t >= 0 ? small[t] : 0);
	}
	tap_ok(ok, "top-k 5: 200 draws all among the 5 largest");

	/* Frequencies: p = 0.5, 0.25, 0.15, 0.1 at temperature 1, then 0.5 (p^2 renormalised). */
	float four[4] = {logf(0.5f), logf(0.25f), logf(0.15f), logf(0.1f)};
	const double p1[4] = {0.5, 0.25, 0.15, 0.1};
	const double z2 = 0.25 + 0.0625 + 0.0225 + 0.01,
	             p2[4] = {0.25 / z2, 0.0625 / z2, 0.0225 / z2, 0.01 / z2};
	for (int pass = 0; pass < 2; pass++) {
		int count[4] = {0, 0, 0, 0}, n = 4000, fine = 1;
		for (int c = 0; c < n; c++) {
			int32_t t =
			        sample_once(four, 4, pass ? 0.5f : 1.0f, 0, 1.0f, 0.0f, 2024, (uint64_t)c);
			if (t >= 0 && t < 4)
				count[t]++;
		}
		const double *p = pass ? p2 : p1;
		for (int i = 0; i < 4; i++) {
			double sd = sqrt(n * p[i] * (1 - p[i]));
			if (fabs(count[i] - n * p[i]) > 4.5 * sd) {
				fine = 0;
				tap_diag("  id %d: %d of %d, expected %.0f", i, count[i], n, n * p[i]);
			}
		}
		tap_ok(fine, "frequencies follow the softmax at temperature %s (%d %d %d %d of 4000)",
		       pass ? "0.5" : "1", count[0], count[1], count[2], count[3]);
	}
	int only01 = 1;
	for (uint64_t c = 0; c < 300; c++) {
		int32_t a = sample_once(four, 4, 1.0f, 0, 0.6f, 0.0f, 5, c),
		        b = sample_once(four, 4, 1.0f, 0, 1.0f, 0.45f, 5, c);
		only01 &= (a == 0 || a == 1) && (b == 0 || b == 1);
	}
	tap_ok(only01, "top-p 0.6 and min-p 0.45 keep only the two most probable ids of 0.5/0.25/0.15/0.1");
	free(lg);
}

/* --- whole models --------------------------------------------------------------------------------------- */

struct spec {
	const char *name;
	const char *arch; /* "llama" or "qwen2" */
	uint32_t n_embd, n_layers, n_ff, n_heads, n_kv_heads, n_vocab;
	bool bias, tied;
	uint32_t t_embd, t_output, t_qkv, t_o, t_gate_up, t_down;
	int quant_bits; /* load-time quantisation to test */
	bool is_float;  /* every matrix float-typed (tighter CPU comparison) */
};

/* The shape and types of a test model, as tinymodel.h writes it. */
static struct tiny_spec tiny_of(const struct spec *s)
{
	struct tiny_spec t = {s->arch, s->n_embd, s->n_layers, s->n_ff, s->n_heads, s->n_kv_heads, s->n_vocab,
			      s->bias, s->tied, s->t_embd, s->t_output, s->t_qkv, s->t_o, s->t_gate_up, s->t_down};
	return t;
}

static int write_model(const struct spec *s, const char *path, char **cause)
{
	struct tiny_spec t = tiny_of(s);
	return tiny_model_write(&t, 4096, path, cause);
}

/* A weight of the model as doubles, as the GPU holds it under quant_bits (or as the file has it: quant_bits <
 * 0). */
static double *ref_weight(const struct model_file *mf, const char *name, uint64_t n, uint32_t k,
                          int quant_bits, bool keep8)
{
	const struct tensor *t = model_file_find(mf, name);
	double *d = xmalloc(sizeof(double) * n);
	float *f;
	if (quant_bits >= 0 && t->n_dims == 2) {
		f = gpu_weights_host(t->type, t->data, (uint32_t)(n / k), k, quant_bits, keep8, NULL);
	} else {
		f = xmalloc(sizeof(float) * n);
		dtype_dequant(t->type, t->data, f, n);
	}
	for (uint64_t i = 0; i < n; i++)
		d[i] = f[i];
	free(f);
	return d;
}

static double f16_round(double v)
{
	return dtype_f16_to_f32(dtype_f32_to_f16((float)v));
}

static void ref_matvec(const double *w, const double *x, double *y, uint32_t k, uint32_t rows)
{
	for (uint32_t r = 0; r < rows; r++) {
		double s = 0;
		for (uint32_t i = 0; i < k; i++)
			s += w[(size_t)r * k + i] * x[i];
		y[r] = s;
	}
}

static void ref_rmsnorm(const double *x, const double *w, double *y, uint32_t n, double eps)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++)
		ss += x[i] * x[i];
	double scale = 1.0 / sqrt(ss / n + eps);
	for (uint32_t i = 0; i < n; i++)
		y[i] = x[i] * scale * w[i];
}

static void ref_rope(double *v, uint32_t hd, uint32_t pos, double theta, enum rope_layout layout)
{
	for (uint32_t i = 0; i < hd / 2; i++) {
		double ang = pos * pow(theta, -2.0 * i / hd), c = cos(ang), s = sin(ang);
		uint32_t a = layout == ROPE_LAYOUT_HALF ? i : 2 * i,
		         b = layout == ROPE_LAYOUT_HALF ? i + hd / 2 : 2 * i + 1;
		double x0 = v[a], x1 = v[b];
		v[a] = x0 * c - x1 * s;
		v[b] = x0 * s + x1 * c;
	}
}

/* Logits (n, n_vocab) at positions 0..n-1 (test_cpu_forward.c's reference, on the GPU's weights). */
static double *ref_forward(const struct model_file *mf, const int32_t *tokens, uint32_t n, int quant_bits)
{
	const struct model_desc *d = model_file_desc(mf);
	uint32_t E = d->n_embd, hd = d->head_dim, qd = d->n_heads * hd, kvd = d->n_kv_heads * hd, F = d->n_ff;
	uint32_t V = d->n_vocab, group = d->n_heads / d->n_kv_heads;
	double *logits = xcalloc((size_t)n * V, sizeof(double));
	double *x = xcalloc((size_t)n * E, sizeof(double)), *xn = xmalloc(sizeof(double) * E);
	double *kc = xmalloc(sizeof(double) * (size_t)n * kvd),
	       *vc = xmalloc(sizeof(double) * (size_t)n * kvd);
	double *q = xmalloc(sizeof(double) * qd), *att = xmalloc(sizeof(double) * qd);
	double *g = xmalloc(sizeof(double) * F), *u = xmalloc(sizeof(double) * F),
	       *tmp = xmalloc(sizeof(double) * E);
	double *sc = xmalloc(sizeof(double) * n);
	char name[96];

	double *embd = ref_weight(mf, "token_embd.weight", (uint64_t)E * V, E, quant_bits,
	                          quant_bits == 4 && d->tied_output);
	for (uint32_t t = 0; t < n; t++)
		memcpy(x + (size_t)t * E, embd + (size_t)tokens[t] * E, sizeof(double) * E);
	for (uint32_t l = 0; l < d->n_layers; l++) {
#define W(suffix, count, k)                                                                                  \
	(snprintf(name, sizeof name, "blk.%u." suffix, l), ref_weight(mf, name, count, k, quant_bits, false))
		double *an = W("attn_norm.weight", E, E), *fn = W("ffn_norm.weight", E, E);
		double *wq = W("attn_q.weight", (uint64_t)E * qd, E),
		       *wk = W("attn_k.weight", (uint64_t)E * kvd, E);
		double *wv = W("attn_v.weight", (uint64_t)E * kvd, E),
		       *wo = W("attn_output.weight", (uint64_t)qd * E, qd);
		double *wg = W("ffn_gate.weight", (uint64_t)E * F, E),
		       *wu = W("ffn_up.weight", (uint64_t)E * F, E);
		double *wd = W("ffn_down.weight", (uint64_t)F * E, F);
		double *bq = d->qkv_bias ? W("attn_q.bias", qd, qd) : NULL,
		       *bk = d->qkv_bias ? W("attn_k.bias", kvd, kvd) : NULL;
		double *bv = d->qkv_bias ? W("attn_v.bias", kvd, kvd) : NULL;
#undef W
		for (uint32_t t = 0; t < n; t++) {
			ref_rmsnorm(x + (size_t)t * E, an, xn, E, d->rms_eps);
			ref_matvec(wk, xn, kc + (size_t)t * kvd, E, kvd);
			ref_matvec(wv, xn, vc + (size_t)t * kvd, E, kvd);
			for (uint32_t i = 0; i < kvd; i++)
				if (bk) {
					kc[(size_t)t * kvd + i] += bk[i];
					vc[(size_t)t * kvd + i] += bv[i];
				}
			for (uint32_t h = 0; h < d->n_kv_heads; h++)
				ref_rope(kc + (size_t)t * kvd + h * hd, hd, t, d->rope_theta, d->rope_layout);
			for (uint32_t i = 0; i < kvd; i++) {
				kc[(size_t)t * kvd + i] = f16_round(kc[(size_t)t * kvd + i]);
				vc[(size_t)t * kvd + i] = f16_round(vc[(size_t)t * kvd + i]);
			}
		}
		for (uint32_t t = 0; t < n; t++) {
			ref_rmsnorm(x + (size_t)t * E, an, xn, E, d->rms_eps);
			ref_matvec(wq, xn, q, E, qd);
			for (uint32_t h = 0; h < d->n_heads; h++) {
				double *qh = q + h * hd, mx = -INFINITY, sum = 0;
				if (bq)
					for (uint32_t i = 0; i < hd; i++)
						qh[i] += bq[h * hd + i];
				ref_rope(qh, hd, t, d->rope_theta, d->rope_layout);
				uint32_t kvh = h / group;
				for (uint32_t j = 0; j <= t; j++) {
					double s = 0;
					for (uint32_t i = 0; i < hd; i++)
						s += qh[i] * kc[(size_t)j * kvd + kvh * hd + i];
					sc[j] = s / sqrt((double)hd);
					mx = fmax(mx, sc[j]);
				}
				for (uint32_t j = 0; j <= t; j++)
					sum += sc[j] = exp(sc[j] - mx);
				for (uint32_t i = 0; i < hd; i++) {
					double o = 0;
					for (uint32_t j = 0; j <= t; j++)
						o += sc[j] / sum * vc[(size_t)j * kvd + kvh * hd + i];
					att[h * hd + i] = o;
				}
			}
			ref_matvec(wo, att, tmp, qd, E);
			for (uint32_t i = 0; i < E; i++)
				x[(size_t)t * E + i] += tmp[i];
			ref_rmsnorm(x + (size_t)t * E, fn, xn, E, d->rms_eps);
			ref_matvec(wg, xn, g, E, F);
			ref_matvec(wu, xn, u, E, F);
			for (uint32_t i = 0; i < F; i++)
				g[i] = g[i] / (1 + exp(-g[i])) * u[i];
			ref_matvec(wd, g, tmp, F, E);
			for (uint32_t i = 0; i < E; i++)
				x[(size_t)t * E + i] += tmp[i];
		}
		free(an), free(fn), free(wq), free(wk), free(wv), free(wo), free(wg), free(wu), free(wd);
		free(bq), free(bk), free(bv);
	}
	double *on = ref_weight(mf, "output_norm.weight", E, E, quant_bits, false);
	double *wout =
	        d->tied_output ? embd : ref_weight(mf, "output.weight", (uint64_t)E * V, E, quant_bits, true);
	for (uint32_t t = 0; t < n; t++) {
		ref_rmsnorm(x + (size_t)t * E, on, xn, E, d->rms_eps);
		ref_matvec(wout, xn, logits + (size_t)t * V, E, V);
	}
	if (wout != embd)
		free(wout);
	free(embd), free(on), free(x), free(xn), free(kc), free(vc), free(q), free(att), free(g), free(u);
	free(tmp), free(sc);
	return logits;
}

/* Largest |got - ref| over rows [r0, r0 + n) must be <= tol * largest |ref| there. */
static int close_to(const float *got, const double *ref, size_t n, double tol, const char *what)
{
	double max_ref = 0, max_err = 0;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		max_ref = fmax(max_ref, fabs(ref[i]));
		double e = fabs(got[i] - ref[i]);
		if (!(e <= max_err)) {
			max_err = e;
			at = i;
		}
	}
	int ok = max_err <= tol * max_ref;
	if (!tap_ok(ok, "%s (max error %.3g of %.3g allowed)", what, max_err, tol * max_ref))
		tap_diag("  at %zu: got %.9g, reference %.9g", at, got[at], ref[at]);
	return ok;
}

static int close_to_f(const float *got, const float *ref, size_t n, double tol, const char *what)
{
	double *r = xmalloc(sizeof(double) * n);
	for (size_t i = 0; i < n; i++)
		r[i] = ref[i];
	int ok = close_to(got, r, n, tol, what);
	free(r);
	return ok;
}

struct run {
	const struct backend_ops *ops;
	struct backend_weights *w;
	struct backend_ctx *c;
	uint32_t V;
};

static int run_open(struct run *r, const struct backend_ops *ops, const struct model_file *mf, int quant_bits,
                    uint32_t n_ctx)
{
	struct backend_params p;
	char *cause = NULL;
	memset(&p, 0, sizeof p);
	p.n_threads = 2;
	p.device = dev;
	p.quant_bits = quant_bits;
	r->ops = ops;
	r->V = model_file_desc(mf)->n_vocab;
	r->w = ops->weights_load(mf, &p, &cause);
	r->c = r->w ? ops->ctx_new(r->w, n_ctx, &cause) : NULL;
	if (!r->c) {
		tap_diag("  %s backend: %s", ops->name, cause ? cause : "?");
		free(cause);
		if (r->w)
			ops->weights_free(r->w);
		r->w = NULL;
		return -1;
	}
	return 0;
}

static void run_close(struct run *r)
{
	if (r->c)
		r->ops->ctx_free(r->c);
	if (r->w)
		r->ops->weights_free(r->w);
	r->c = NULL;
	r->w = NULL;
}

/* Logits (n, V) of tokens run in chunks (every position kept: single tokens take the last-only path). */
static float *run_chunks(struct run *r, const int32_t *tokens, uint32_t n, const uint32_t *chunks,
                         size_t n_chunks)
{
	float *logits = xcalloc((size_t)n * r->V, sizeof(float));
	uint32_t pos = 0;
	char *cause = NULL;
	for (size_t i = 0; i < n_chunks; i++) {
		bool all = chunks[i] > 1;
		if (r->ops->forward(r->c, tokens + pos, chunks[i], pos,
		                    all ? logits + (size_t)pos * r->V
		                        : logits + (size_t)(pos + chunks[i] - 1) * r->V,
		                    all, &cause) < 0) {
			tap_diag("  %s forward: %s", r->ops->name, cause);
			free(cause);
			free(logits);
			return NULL;
		}
		pos += chunks[i];
	}
	return logits;
}

static void test_model(const struct spec *s, const char *dir)
{
	char path[4096], *cause = NULL, what[200];
	struct model_file *mf;
	enum { N = 13 };
	int32_t tokens[N];
	uint32_t ones[N], split[] = {5, 1, 7}, whole[] = {N};
	struct run g = {0}, cpu = {0};

	snprintf(path, sizeof path, "%s/%s.gguf", dir, s->name);
	if (write_model(s, path, &cause) < 0 || !(mf = model_file_open(path, &cause))) {
		tap_ok(0, "%s: write and open: %s", s->name, cause);
		free(cause);
		return;
	}
	const struct model_desc *d = model_file_desc(mf);
	const size_t nl = (size_t)N * d->n_vocab;
	for (int i = 0; i < N; i++) {
		tokens[i] = (int32_t)(rng_u32() % d->n_vocab);
		ones[i] = 1;
	}
	double *ref = ref_forward(mf, tokens, N, s->quant_bits);
	if (run_open(&g, cuda, mf, s->quant_bits, 256) < 0) {
		tap_ok(0, "%s: load on the GPU", s->name);
		goto out;
	}
	dbg->ctx_graphs(g.c, 1, NULL); /* whatever DUET_CUDA_GRAPHS says */
	snprintf(what, sizeof what, "%s: %s", s->name, "decode steps match the reference");
	float *steps = run_chunks(&g, tokens, N, ones, N);
	if (steps)
		close_to(steps, ref, nl, 1e-3, what);
	else
		tap_ok(0, "%s", what);
	float *batch = run_chunks(&g, tokens, N, whole, 1);
	snprintf(what, sizeof what, "%s: a %d-token prefill matches the reference", s->name, N);
	if (batch)
		close_to(batch, ref, nl, 3e-2, what);
	else
		tap_ok(0, "%s", what);
	float *mixed = run_chunks(&g, tokens, N, split, 3);
	snprintf(what, sizeof what, "%s: chunks of 5, 1 and 7 match the reference", s->name);
	if (mixed)
		close_to(mixed, ref, nl, 3e-2, what);
	else
		tap_ok(0, "%s", what);

	/* Graph replay against eager launches: the same kernels, so the same bits. */
	const char *note = NULL;
	int state = dbg->ctx_graphs(g.c, -1, &note);
	tap_ok(state == 1, "%s: decode steps replay a captured CUDA graph (state %d%s%s)", s->name, state,
	       note ? ": " : "", note ? note : "");
	dbg->ctx_graphs(g.c, 0, NULL);
	float *eager = run_chunks(&g, tokens, N, ones, N);
	dbg->ctx_graphs(g.c, 1, NULL);
	tap_ok(steps && eager && memcmp(steps, eager, sizeof(float) * nl) == 0,
	       "%s: graph replay and eager decode give identical logits", s->name);

	/* The CPU backend on the same file (its weights as stored: only without load-time quantisation). */
	if (s->quant_bits == 0 && run_open(&cpu, cpu_backend_get(), mf, 0, 256) == 0) {
		float *cpu_batch = run_chunks(&cpu, tokens, N, whole, 1);
		snprintf(what, sizeof what, "%s: GPU decode agrees with the CPU backend", s->name);
		if (cpu_batch && steps)
			close_to_f(steps, cpu_batch, nl, s->is_float ? 2e-2 : 6e-2, what);
		else
			tap_ok(0, "%s", what);
		snprintf(what, sizeof what, "%s: GPU prefill agrees with the CPU backend", s->name);
		if (cpu_batch && batch)
			close_to_f(batch, cpu_batch, nl, s->is_float ? 3e-2 : 6e-2, what);
		else
			tap_ok(0, "%s", what);
		free(cpu_batch);
		run_close(&cpu);
	}

	/* Sampling on the device: greedy is the argmax of the logits forward returned. */
	{
		float *lg = xmalloc(sizeof(float) * d->n_vocab);
		struct backend_sample_params sp = {0.0f, 0, 1.0f, 0.0f, 1, 0};
		int32_t tok = -1, tok2 = -1, best = 0;
		int rc1 = g.ops->forward(g.c, tokens, 4, 0, lg, false, &cause);
		int rc2 = rc1 == 0 ? g.ops->sample(g.c, &sp, &tok, &cause) : -1;
		for (uint32_t i = 1; i < d->n_vocab; i++)
			if (lg[i] > lg[best])
				best = (int32_t)i;
		int rc3 = rc2 == 0 ? g.ops->forward(g.c, tokens, 4, 0, NULL, false, &cause) : -1;
		int rc4 = rc3 == 0 ? g.ops->sample(g.c, &sp, &tok2, &cause) : -1;
		if (!tap_ok(rc4 == 0 && tok == best && tok2 == best,
		            "%s: greedy sampling on the device picks the argmax (%d), also with the logits "
		            "left on the device",
		            s->name, best))
			tap_diag("  got %d and %d; %s", tok, tok2, cause ? cause : "");
		free(cause);
		cause = NULL;
		free(lg);
	}

	/* Errors. */
	{
		float *lg = xmalloc(sizeof(float) * d->n_vocab);
		int32_t bad = (int32_t)d->n_vocab;
		TAP_EQ_INT(g.ops->forward(g.c, tokens, 2, 255, lg, false, &cause), -1,
		           "2 tokens at position 255 of 256 fail");
		TAP_ERR_HAS(cause, "context", "the message says the context is full");
		free(cause);
		cause = NULL;
		TAP_EQ_INT(g.ops->forward(g.c, &bad, 1, 0, lg, false, &cause), -1,
		           "a token id past the vocabulary fails");
		TAP_ERR_HAS(cause, "vocabulary", "the message names the vocabulary");
		free(cause);
		cause = NULL;
		tap_ok(g.ops->ctx_bytes(g.c) >=
		               (uint64_t)256 * d->n_layers * d->n_kv_heads * d->head_dim * 2 * 2,
		       "%s: ctx_bytes counts at least the KV cache", s->name);
		free(lg);
	}
	free(steps), free(batch), free(mixed), free(eager);
out:
	run_close(&g);
	free(ref);
	model_file_close(mf);
	unlink(path);
}

/* Long context: splits in use (several 64-position tiles), two contexts on one set of weights. */
static void test_long_and_shared(const struct spec *s, const char *dir)
{
	char path[4096], *cause = NULL, what[200];
	struct model_file *mf;
	enum { N = 150, P = 140 };
	int32_t tokens[N];
	struct run g = {0};

	snprintf(path, sizeof path, "%s/%s-long.gguf", dir, s->name);
	if (write_model(s, path, &cause) < 0 || !(mf = model_file_open(path, &cause))) {
		tap_ok(0, "%s: write and open: %s", s->name, cause);
		free(cause);
		return;
	}
	const struct model_desc *d = model_file_desc(mf);
	const uint32_t V = d->n_vocab;
	for (int i = 0; i < N; i++)
		tokens[i] = (int32_t)(rng_u32() % V);
	double *ref = ref_forward(mf, tokens, N, 0);
	if (run_open(&g, cuda, mf, 0, 1024) < 0) {
		tap_ok(0, "%s: load on the GPU", s->name);
		goto out;
	}
	struct backend_ctx *c2 = g.ops->ctx_new(g.w, 1024, &cause);
	float *a = xcalloc((size_t)N * V, sizeof(float)), *b = xcalloc((size_t)N * V, sizeof(float));
	int ok = c2 != NULL;
	if (!c2)
		tap_diag("  second context: %s", cause);
	/* Both contexts: a 140-token prompt, then 10 decode steps, interleaved. */
	ok = ok && g.ops->forward(g.c, tokens, P, 0, a + (size_t)(P - 1) * V, false, &cause) == 0;
	ok = ok && g.ops->forward(c2, tokens, P, 0, b + (size_t)(P - 1) * V, false, &cause) == 0;
	for (uint32_t t = P; t < N && ok; t++) {
		ok = g.ops->forward(g.c, tokens + t, 1, t, a + (size_t)t * V, false, &cause) == 0 &&
		     g.ops->forward(c2, tokens + t, 1, t, b + (size_t)t * V, false, &cause) == 0;
	}
	if (!ok)
		tap_diag("  %s", cause ? cause : "?");
	/* Decode after a prefill attends over keys and values the prefill computed from bf16 GEMM inputs. */
	snprintf(what, sizeof what,
	         "%s: a 140-token prefill, then decode steps with split attention, match the reference",
	         s->name);
	if (ok)
		close_to(a + (size_t)(P - 1) * V, ref + (size_t)(P - 1) * V, (size_t)(N - P + 1) * V, 3e-2,
		         what);
	else
		tap_ok(0, "%s", what);
	tap_ok(ok && memcmp(a + (size_t)(P - 1) * V, b + (size_t)(P - 1) * V,
	                    sizeof(float) * (size_t)(N - P + 1) * V) == 0,
	       "%s: two contexts on shared weights give identical logits", s->name);
	/* All 150 positions as decode steps (f32 throughout): splits of 64 positions, up to 3 in use. */
	for (uint32_t t = 0; t < N && ok; t++)
		ok = g.ops->forward(g.c, tokens + t, 1, t, a + (size_t)t * V, false, &cause) == 0;
	snprintf(what, sizeof what,
	         "%s: 150 decode steps (split attention from position 64 on) match the reference", s->name);
	if (ok)
		close_to(a, ref, (size_t)N * V, 1e-3, what);
	else
		tap_ok(0, "%s: %s", what, cause ? cause : "?");
	free(a);
	free(b);
	g.ops->ctx_free(c2);
	free(cause);
	cause = NULL;

	/* Memory caps: the model alone, then a context that does not fit next to it. */
	{
		uint64_t wbytes = g.ops->weights_bytes(g.w);
		struct backend_params p;
		memset(&p, 0, sizeof p);
		p.device = dev;
		p.mem_limit = 1 << 20;
		struct backend_weights *w2 = wbytes > (1 << 20) ? g.ops->weights_load(mf, &p, &cause) : NULL;
		if (wbytes > (1 << 20)) {
			tap_ok(w2 == NULL, "a 1 MiB cap refuses the %.1f MiB model",
			       (double)wbytes / 1048576);
			TAP_ERR_HAS(cause, "needs", "the message says what the model needs");
			TAP_ERR_HAS(cause, "GiB free / cap", "and what is free and the cap");
		}
		if (w2)
			g.ops->weights_free(w2);
		free(cause);
		cause = NULL;
		p.mem_limit = wbytes + (1 << 20);
		w2 = g.ops->weights_load(mf, &p, &cause);
		struct backend_ctx *c3 = w2 ? g.ops->ctx_new(w2, 4096, &cause) : NULL;
		tap_ok(w2 && !c3, "a 4096-token context does not fit 1 MiB above the weights");
		TAP_ERR_HAS(cause, "a context of 4096 tokens needs", "the message names the context");
		if (c3)
			g.ops->ctx_free(c3);
		if (w2)
			g.ops->weights_free(w2);
		free(cause);
		cause = NULL;
	}
out:
	run_close(&g);
	free(ref);
	model_file_close(mf);
	unlink(path);
}

static void test_formats_chosen(const char *dir)
{
	const struct spec s = {"formats",  "llama",    256,        1,         256,        4,
	                       2,          64,         false,      false,     DTYPE_Q4_K, DTYPE_Q6_K,
	                       DTYPE_Q5_K, DTYPE_BF16, DTYPE_Q4_1, DTYPE_F16, 0,          false};
	char path[4096], *cause = NULL;
	struct model_file *mf;
	snprintf(path, sizeof path, "%s/formats.gguf", dir);
	if (write_model(&s, path, &cause) < 0 || !(mf = model_file_open(path, &cause))) {
		tap_ok(0, "formats: %s", cause);
		free(cause);
		return;
	}
	static const struct {
		int quant_bits;
		const char *name, *want;
	} cases[] = {
	        {0, "token_embd.weight", "q4k"},       {0, "output.weight", "q6k"},
	        {0, "blk.0.attn_q.weight", "bf16"},    {0, "blk.0.attn_output.weight", "bf16"},
	        {0, "blk.0.ffn_up.weight", "bf16"},    {0, "blk.0.ffn_down.weight", "f16"},
	        {8, "blk.0.attn_output.weight", "q8"}, {8, "blk.0.ffn_down.weight", "q8"},
	        {8, "output.weight", "q6k"},           {4, "blk.0.attn_output.weight", "q4"},
	        {4, "token_embd.weight", "q4k"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct backend_params p;
		memset(&p, 0, sizeof p);
		p.device = dev;
		p.quant_bits = cases[i].quant_bits;
		struct backend_weights *w = cuda->weights_load(mf, &p, &cause);
		const char *got = w ? dbg->weight_format(w, cases[i].name) : NULL;
		if (!w)
			tap_diag("  %s", cause);
		TAP_EQ_STR(got, cases[i].want, cases[i].name);
		if (w)
			cuda->weights_free(w);
		free(cause);
		cause = NULL;
	}
	model_file_close(mf);
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/duet-test-cuda-runtime-XXXXXX", *why = NULL;

	tiny_rng_seed(0x853c49e6748fea9bull); /* this program's own sequence */

	cuda = cuda_backend_get();
	dbg = cuda->cuda_debug;
	if (cuda->device_count(&why) <= 0) {
		char msg[512];
		snprintf(msg, sizeof msg, "no GPU: %s", why ? why : "none");
		free(why);
		tap_skip_all(msg);
	}
	if (!dbg)
		tap_skip_all("the CUDA backend has no debug operations");
	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary folder");

	static const uint32_t types[] = {DTYPE_BF16, DTYPE_F16,  DTYPE_Q8_0,
	                                 DTYPE_Q4_0, DTYPE_Q4_K, DTYPE_Q6_K};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		test_dequant(types[i], 0, false, 37, 512);
	test_dequant(DTYPE_F32, 0, false, 19, 96);
	test_dequant(DTYPE_Q5_K, 0, false, 19, 256);
	test_dequant(DTYPE_Q3_K, 0, false, 19, 256);
	test_dequant(DTYPE_BF16, 8, false, 19, 256);
	test_dequant(DTYPE_BF16, 4, false, 19, 256);
	test_dequant(DTYPE_F32, 4, true, 19, 256);

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		test_matmul(types[i], 0, 300, 1536, 1, false, true, 0);
		test_matmul(types[i], 0, 70, 512, 1, true, true, 0);
		test_matmul(types[i], 0, 70, 512, 1, true, false, 0);
		test_matmul(types[i], 0, 130, 768, 5, true, true, 0);
		test_matmul(types[i], 0, 200, 512, 33, false, true, 64ull * 512);
	}
	test_matmul(DTYPE_BF16, 0, 64, 32768, 1, true, true,
	            0); /* too wide to stage: the unstaged path with the norm kernel */
	test_matmul(DTYPE_F32, 8, 100, 512, 1, true, true, 0);
	test_matmul(DTYPE_F32, 4, 100, 512, 3, true, true, 0);
	test_matmul(DTYPE_Q5_K, 0, 50, 512, 1, false, true, 0);
	test_glu(DTYPE_BF16, 200, 1536);
	test_glu(DTYPE_Q8_0, 100, 512);
	test_glu(DTYPE_Q4_K, 100, 512);
	test_glu(DTYPE_Q6_K, 100, 512);
	test_rmsnorm(3, 1536);
	test_rmsnorm(2, 64);

	test_rope_kv(4, 2, 64, 3, 0, CUDA_DBG_ROPE_HALF, false);
	test_rope_kv(12, 2, 128, 2, 30000, CUDA_DBG_ROPE_HALF, true);
	test_rope_kv(8, 8, 64, 5, 17, CUDA_DBG_ROPE_ADJACENT, false);
	test_rope_kv(4, 1, 256, 1, 4095, CUDA_DBG_ROPE_ADJACENT, true);

	static const uint32_t lens[] = {1, 2, 64, 65, 300, 2000};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		test_attention(12, 2, 128, 1, lens[i] - 1, 1);
		test_attention(12, 2, 128, 1, lens[i] - 1, 16);
	}
	test_attention(4, 2, 64, 1, 999, 3);
	test_attention(8, 8, 32, 1, 4999, 128);
	test_attention(4, 1, 256, 1, 700, 7);
	test_attention(32, 8, 128, 1, 1500, 33);
	test_attention(6, 3, 64, 7, 60, 1);
	test_attention(6, 3, 64, 7, 200, 4);
	test_sampler();

	/* name, arch, n_embd, layers, n_ff, heads, kv heads, vocab, bias, tied, embd, output, qkv, o,
	 * gate/up, down, quant, float */
	const struct spec models[] = {
	        {"llama-f", "llama", 256, 2, 512, 4, 2, 300, false, false, DTYPE_BF16, DTYPE_F16, DTYPE_BF16,
	         DTYPE_F16, DTYPE_BF16, DTYPE_BF16, 0, true},
	        {"qwen2-f16", "qwen2", 256, 2, 384, 2, 1, 200, true, true, DTYPE_F16, 0, DTYPE_F16, DTYPE_F16,
	         DTYPE_F16, DTYPE_F16, 0, true},
	        {"llama-q8-q4", "llama", 128, 2, 256, 4, 2, 250, false, false, DTYPE_Q8_0, DTYPE_Q8_0,
	         DTYPE_Q8_0, DTYPE_Q4_0, DTYPE_Q4_0, DTYPE_Q8_0, 0, false},
	        {"qwen2-kquant", "qwen2", 256, 2, 512, 4, 1, 260, true, false, DTYPE_Q4_K, DTYPE_Q6_K,
	         DTYPE_Q4_K, DTYPE_Q6_K, DTYPE_Q4_K, DTYPE_Q6_K, 0, false},
	        {"llama-mixed", "llama", 256, 2, 512, 2, 2, 120, false, true, DTYPE_Q5_K, 0, DTYPE_Q4_1,
	         DTYPE_F32, DTYPE_Q4_K, DTYPE_Q6_K, 0, false},
	        {"llama-bf16-as-q8", "llama", 256, 2, 512, 4, 2, 300, false, false, DTYPE_BF16, DTYPE_BF16,
	         DTYPE_BF16, DTYPE_BF16, DTYPE_BF16, DTYPE_BF16, 8, true},
	        {"qwen2-f32-as-q4", "qwen2", 256, 2, 512, 4, 2, 200, true, false, DTYPE_F32, DTYPE_F32,
	         DTYPE_F32, DTYPE_F32, DTYPE_F32, DTYPE_F32, 4, true},
	};
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
		test_model(&models[i], dir);
	test_long_and_shared(&models[0], dir);
	test_formats_chosen(dir);
	rmdir(dir);
	return tap_done();
}
