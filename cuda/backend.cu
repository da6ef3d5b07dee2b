/*
 * backend.cu — the CUDA backend (infer/backend.h). The only symbol with
 * external linkage is cuda_backend_get() (C linkage); everything else is
 * static (not in anonymous namespaces, which nvcc makes external), the
 * kernels, sampler and GEMM come in as included .cuh files so that all of it
 * is one translation unit, and the host compiler runs with -fno-exceptions
 * (no C++ runtime symbols: tests/unit/test_layers.sh checks). Calls the
 * CUDA runtime, cuBLAS(Lt), and infer's model and dtype modules; never
 * curses or app/.
 *
 * Weights: one device allocation carved into tensors (cuda/wformat_host.h
 * says which GPU format each GGUF type becomes), uploaded through two pinned
 * staging buffers while the host repacks the next piece. Norm weights,
 * biases and the RoPE inverse frequencies are f32. Contexts share weights
 * read-only; each owns one allocation (cuda/plan_host.h's cg_ctx_plan: f16
 * KV cache, activations, logits, attention partials, the dequantisation
 * scratch, the cuBLASLt workspace, the step parameters), a stream, cuBLAS
 * handles and pinned transfer buffers. backend_params.mem_limit caps the
 * weights and all contexts on them together.
 *
 * A forward call splits the tokens into chunks of at most 512 (64 when all
 * logits are wanted). A chunk of one token is a decode step: fused
 * matrix-vector kernels (RMSNorm staged into the matvec, gate and up in one
 * kernel with SiLU, residual adds as accumulating stores), RoPE with the KV
 * write, flash-decoding attention (split-K partials and a combine), the
 * output projection; it reads the token and position from the device
 * parameter block, so its launches are captured once in a CUDA graph and
 * replayed (DUET_CUDA_GRAPHS=0 at ctx_new turns that off; a failed capture
 * falls back to eager launches for that context). Longer chunks are prefill: RMSNorm to bf16, cuBLASLt bf16
 * GEMMs (quantised weights dequantised to bf16 tiles first), the same RoPE/KV kernel, single-pass causal
 * attention per (token, KV head), then only the last row's logits unless all are wanted.
 *
 * Errors: every CUDA, cuBLAS and cuBLASLt call is checked; failures return
 * -1 with a message naming the call. A kernel fault is sticky on the CUDA
 * context: every later call fails too, each saying so.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

extern "C" {
#include "infer/dtype.h"
#include "infer/model.h"
}
#include "infer/backend.h"

#include "cuda/common.cuh"
#include "cuda/cuda_debug.h"
#include "cuda/gemm.cuh"
#include "cuda/kernels.cuh"
#include "cuda/plan_host.h"
#include "cuda/sample.cuh"
#include "cuda/wformat_host.h"

/* Pinned staging buffer for uploads (two of them). */
constexpr uint64_t STAGE_BYTES = 32ull << 20;
/* Tokens per prefill chunk; logits rows when all logits are wanted. */
constexpr uint32_t MAX_BATCH = 512;
constexpr uint32_t MAX_LOGIT_ROWS = 64;
constexpr uint64_t WORKSPACE_BYTES = 32ull << 20;
/* Largest matvec input staged in shared memory (bytes): 24576 floats. */
constexpr uint64_t STAGE_SMEM_MAX = 96u << 10;
/* Device memory left free for the CUDA context and libraries. */
constexpr uint64_t MEM_RESERVE = 64ull << 20;
/* Bounds the attention kernel's shared memory (cg_attn_smem <= 41 KiB). */
constexpr uint32_t MAX_GROUP = 32, MAX_GROUP_DIMS = 4096, MAX_HEAD_DIM = 256;

/* --- device discovery --------------------------------------------------------------------------------- */

/* Why the runtime cannot be used, in words a user can act on. */
static const char *runtime_problem(cudaError_t err)
{
	switch (err) {
	case cudaErrorNoDevice:
		return "no CUDA-capable GPU was found";
	case cudaErrorInsufficientDriver:
		return "the NVIDIA driver is missing or older than this build's CUDA runtime needs";
	case cudaErrorInitializationError:
		return "the CUDA driver failed to initialise";
	default:
		return cudaGetErrorString(err);
	}
}

static int cuda_device_count(char **cause)
{
	int n = 0;
	cudaError_t err = cudaGetDeviceCount(&n);
	if (err != cudaSuccess) {
		cudaGetLastError(); /* clear it so later calls start clean */
		return set_cause(cause, "CUDA unavailable: %s", runtime_problem(err));
	}
	if (n == 0)
		return set_cause(cause, "CUDA unavailable: %s", runtime_problem(cudaErrorNoDevice));
	return n;
}

static int cuda_device_info(int index, struct backend_device_info *out, char **cause)
{
	cudaDeviceProp prop;
	cudaError_t err = cudaGetDeviceProperties(&prop, index);
	if (err != cudaSuccess) {
		cudaGetLastError();
		return set_cause(cause, "cuda:%d: %s", index, cudaGetErrorString(err));
	}
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", prop.name);
	out->total_mem = prop.totalGlobalMem;
	out->cc_major = prop.major;
	out->cc_minor = prop.minor;
	out->multiprocessors = prop.multiProcessorCount;

	int prev = 0;
	size_t free_b = 0, total_b = 0;
	if (cudaGetDevice(&prev) == cudaSuccess && cudaSetDevice(index) == cudaSuccess &&
	    cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
		out->free_mem = free_b;
	else
		cudaGetLastError();
	cudaSetDevice(prev);
	return 0;
}

static void cuda_versions(char *buf, size_t size)
{
	int rt = 0, drv = 0;
	cudaRuntimeGetVersion(&rt);
	if (cudaDriverGetVersion(&drv) != cudaSuccess)
		drv = 0;
	int cublas_major = 0, cublas_minor = 0;
	cublasGetProperty(MAJOR_VERSION, &cublas_major);
	cublasGetProperty(MINOR_VERSION, &cublas_minor);
	snprintf(buf, size, "CUDA runtime %d.%d, driver %s%d.%d, cuBLAS %d.%d", rt / 1000, (rt % 1000) / 10,
	         drv ? "" : "(none) ", drv / 1000, (drv % 1000) / 10, cublas_major, cublas_minor);
}

/* --- per-device preparation ------------------------------------------------------------------------ */

/* What a stream of work needs to know about its device. */
struct exec_env {
	cudaStream_t stream;
	uint32_t n_sm;
	uint64_t stage_limit; /* bytes of shared memory a matvec may stage its input in */
};

/* The matvec kernels may use more than the default 48 KiB of dynamic shared memory. */
static int kernels_allow_smem(int bytes, char **cause)
{
#define ALLOW(F)                                                                                             \
	CK(cudaFuncSetAttribute(k_matvec<F, false>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));    \
	CK(cudaFuncSetAttribute(k_matvec<F, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes))
	ALLOW(CG_FMT_BF16);
	ALLOW(CG_FMT_F16);
	ALLOW(CG_FMT_Q8);
	ALLOW(CG_FMT_Q4);
	ALLOW(CG_FMT_Q4K);
	ALLOW(CG_FMT_Q6K);
#undef ALLOW
	return 0;
}

/*
 * Select `device` for this thread and read what the launches need; the
 * first time for a device, raise the kernels' shared-memory limits.
 */
static int device_prepare(int device, uint32_t *n_sm, uint64_t *stage_limit, char **cause)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static bool done[64];
	int n = cuda_device_count(cause), sm = 0, optin = 0;

	if (n < 0)
		return -1;
	if (device < 0 || device >= n)
		return set_cause(cause, "CUDA device %d does not exist (%d device%s: 0..%d)", device, n,
		                 n == 1 ? "" : "s", n - 1);
	CK(cudaSetDevice(device));
	CK(cudaDeviceGetAttribute(&sm, cudaDevAttrMultiProcessorCount, device));
	CK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
	uint64_t limit = (uint64_t)(optin > 0 ? optin : 48 << 10);
	if (limit > STAGE_SMEM_MAX)
		limit = STAGE_SMEM_MAX;
	pthread_mutex_lock(&mu);
	int rc = 0;
	if (device >= 64 || !done[device]) {
		rc = kernels_allow_smem((int)limit, cause);
		if (rc == 0 && device < 64)
			done[device] = true;
	}
	pthread_mutex_unlock(&mu);
	if (rc < 0)
		return -1;
	*n_sm = (uint32_t)(sm > 0 ? sm : 1);
	*stage_limit = limit;
	return 0;
}

static uint32_t grid_for(uint64_t n, uint32_t n_sm)
{
	uint64_t b = (n + 255) / 256, cap = (uint64_t)n_sm * 16;
	if (b > cap)
		b = cap;
	return (uint32_t)(b ? b : 1);
}

static dmat dmat_make(enum cg_fmt f, uint32_t rows, uint32_t k, const struct cg_mat_layout &L, uint8_t *base)
{
	dmat m;
	memset(&m, 0, sizeof m);
	m.fmt = f;
	m.rows = rows;
	m.k = k;
	for (int c = 0; c < CG_COMP_COUNT_; c++)
		if (L.row_bytes[c]) {
			m.c[c] = base + L.off[c];
			m.row_bytes[c] = L.row_bytes[c];
		}
	return m;
}

/* --- launches --------------------------------------------------------------------------------------------
 */

/*
 * y (=, or += with accumulate) a . x, or silu(a . x) * (b . x) with b. The
 * input is normalised by norm_w first unless norm_w is NULL; when it cannot
 * be staged in shared memory (or allow_stage is false) the norm goes
 * through xn (a.k floats) by a separate kernel.
 */
static int launch_matvec(const exec_env &e, const dmat &a, const dmat *b, const float *x, const float *norm_w,
                         float eps, float *xn, bool allow_stage, float *y, bool accumulate, char **cause)
{
	mv_args p;
	struct cg_mv_plan plan;
	const uint64_t smem_need = cg_mv_smem(a.k);
	const bool staged = allow_stage && smem_need <= e.stage_limit;

	if (!staged && norm_w) {
		k_rmsnorm<float><<<1, 256, 0, e.stream>>>(x, norm_w, a.k, eps, xn);
		CK_LAUNCH("k_rmsnorm");
		x = xn;
		norm_w = nullptr;
	}
	memset(&p, 0, sizeof p);
	p.a = a;
	if (b)
		p.b = *b;
	p.x = x;
	p.norm_w = norm_w;
	p.eps = eps;
	p.staged = staged;
	p.accumulate = accumulate;
	p.y = y;
	cg_mv_plan(a.rows, e.n_sm, &plan);
	p.rows_per_warp = plan.rows_per_warp;
	const size_t smem = staged ? (size_t)smem_need : 0;
#define MV_CASE(F)                                                                                           \
	case F:                                                                                              \
		if (b)                                                                                       \
			k_matvec<F, true><<<plan.grid, 256, smem, e.stream>>>(p);                            \
		else                                                                                         \
			k_matvec<F, false><<<plan.grid, 256, smem, e.stream>>>(p);                           \
		break
	switch (a.fmt) {
		MV_CASE(CG_FMT_BF16);
		MV_CASE(CG_FMT_F16);
		MV_CASE(CG_FMT_Q8);
		MV_CASE(CG_FMT_Q4);
		MV_CASE(CG_FMT_Q4K);
		MV_CASE(CG_FMT_Q6K);
	default:
		return set_cause(cause, "CUDA: matvec of unknown format %d", a.fmt);
	}
#undef MV_CASE
	CK_LAUNCH("k_matvec");
	return 0;
}

/* out row i = row (ids ? ids[i] : r0 + i) of m, decoded; ld elements between output rows. */
template <typename OUT>
static int launch_dequant(const exec_env &e, const dmat &m, const int32_t *ids, uint32_t r0, uint32_t n_rows,
                          OUT *out, uint64_t ld, char **cause)
{
	if (n_rows == 0)
		return 0;
	const uint32_t grid = grid_for((uint64_t)n_rows * (m.k / cg_fmt_chunk((enum cg_fmt)m.fmt)), e.n_sm);
#define DQ_CASE(F)                                                                                           \
	case F:                                                                                              \
		k_dequant<F, OUT><<<grid, 256, 0, e.stream>>>(m, ids, r0, n_rows, out, ld);                  \
		break
	switch (m.fmt) {
		DQ_CASE(CG_FMT_BF16);
		DQ_CASE(CG_FMT_F16);
		DQ_CASE(CG_FMT_Q8);
		DQ_CASE(CG_FMT_Q4);
		DQ_CASE(CG_FMT_Q4K);
		DQ_CASE(CG_FMT_Q6K);
	default:
		return set_cause(cause, "CUDA: dequantisation of unknown format %d", m.fmt);
	}
#undef DQ_CASE
	CK_LAUNCH("k_dequant");
	return 0;
}

template <typename OUT>
static int launch_rmsnorm(const exec_env &e, const float *x, const float *w, uint32_t n_rows, uint32_t n,
                          float eps, OUT *out, char **cause)
{
	if (n_rows == 0)
		return 0;
	k_rmsnorm<OUT><<<n_rows, 256, 0, e.stream>>>(x, w, n, eps, out);
	CK_LAUNCH("k_rmsnorm");
	return 0;
}

template <typename OUT>
static int launch_silu_mul(const exec_env &e, const float *g, const float *u, uint64_t n, OUT *out,
                           char **cause)
{
	k_silu_mul<OUT><<<grid_for(n, e.n_sm), 256, 0, e.stream>>>(g, u, n, out);
	CK_LAUNCH("k_silu_mul");
	return 0;
}

static int launch_to_bf16(const exec_env &e, const float *x, uint64_t n, __nv_bfloat16 *out, char **cause)
{
	k_to_bf16<<<grid_for(n, e.n_sm), 256, 0, e.stream>>>(x, n, out);
	CK_LAUNCH("k_to_bf16");
	return 0;
}

static int launch_rope_kv(const exec_env &e, const rope_args &a, uint32_t n_tok, char **cause)
{
	k_rope_kv<<<n_tok, 128, 0, e.stream>>>(a);
	CK_LAUNCH("k_rope_kv");
	return 0;
}

/* a.n_splits 1: out directly; more: partials, then the combine into a.out. */
static int launch_attention(const exec_env &e, const attn_args &a, uint32_t n_tok, char **cause)
{
	const uint32_t group = a.n_heads / a.n_kv;
	const size_t smem = (size_t)cg_attn_smem(group, a.hd);
	const dim3 grid(a.n_kv, a.n_splits, n_tok);

	if (a.hd <= 64)
		k_attn<1><<<grid, CG_ATTN_THREADS, smem, e.stream>>>(a);
	else if (a.hd <= 128)
		k_attn<2><<<grid, CG_ATTN_THREADS, smem, e.stream>>>(a);
	else
		k_attn<4><<<grid, CG_ATTN_THREADS, smem, e.stream>>>(a);
	CK_LAUNCH("k_attn");
	if (a.n_splits > 1) {
		k_attn_combine<<<dim3(a.n_heads, n_tok), 128, 0, e.stream>>>(a);
		CK_LAUNCH("k_attn_combine");
	}
	return 0;
}

static int launch_sample(const exec_env &e, const float *logits, uint32_t n_vocab, const cg_step_params *prm,
                         int32_t *out, char **cause)
{
	k_sample<<<1, CG_SAMPLE_THREADS, 0, e.stream>>>(logits, n_vocab, prm, out);
	CK_LAUNCH("k_sample");
	return 0;
}

/*
 * Y (n rows of W.rows, f32) = X (n rows of W.k, bf16) . W^T, added to Y with
 * accumulate. bf16 weights go straight to cuBLASLt; other formats are
 * dequantised to bf16 in row tiles that fit scratch (scratch_elems).
 */
static int gemm_weight(const exec_env &e, gemm_state *g, const dmat &W, const __nv_bfloat16 *X, uint32_t n,
                       float *Y, bool accumulate, __nv_bfloat16 *scratch, uint64_t scratch_elems,
                       char **cause)
{
	if (W.fmt == CG_FMT_BF16)
		return gemm_bf16(g, W.c[CG_COMP_Q], X, Y, W.rows, n, W.k, W.rows, accumulate, cause);
	uint64_t R = cg_gemm_tile_rows(W.rows, W.k, scratch_elems);
	if (R * W.k > scratch_elems)
		R = scratch_elems / W.k;
	if (R == 0)
		return set_cause(cause, "CUDA: no scratch for a %u x %u weight tile", W.rows, W.k);
	for (uint64_t r0 = 0; r0 < W.rows; r0 += R) {
		uint32_t nr = (uint32_t)(W.rows - r0 < R ? W.rows - r0 : R);
		if (launch_dequant<__nv_bfloat16>(e, W, nullptr, (uint32_t)r0, nr, scratch, W.k, cause) < 0 ||
		    gemm_bf16(g, scratch, X, Y + r0, nr, n, W.k, W.rows, accumulate, cause) < 0)
			return -1;
	}
	return 0;
}

/* --- uploads ----------------------------------------------------------------------------------------------
 */

/* Two pinned buffers: the host fills one while the other's copies run. */
struct stager {
	cudaStream_t stream;
	uint8_t *buf[2];
	cudaEvent_t ev[2];
	size_t size;
	int cur;
	float *tmp; /* host scratch of tmp_n floats for dequantising a row */
	size_t tmp_n;
};

static void stager_close(stager *s)
{
	if (s->stream)
		cudaStreamSynchronize(s->stream);
	for (int i = 0; i < 2; i++) {
		if (s->ev[i])
			cudaEventDestroy(s->ev[i]);
		if (s->buf[i])
			cudaFreeHost(s->buf[i]);
	}
	if (s->stream)
		cudaStreamDestroy(s->stream);
	free(s->tmp);
	cudaGetLastError();
	memset(s, 0, sizeof *s);
}

static int stager_open(stager *s, size_t size, char **cause)
{
	memset(s, 0, sizeof *s);
	s->size = size;
	CK(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
	for (int i = 0; i < 2; i++) {
		CK(cudaMallocHost((void **)&s->buf[i], size));
		CK(cudaEventCreateWithFlags(&s->ev[i], cudaEventDisableTiming));
	}
	return 0;
}

/* The next buffer, once the copies out of it have finished. */
static int stager_take(stager *s, uint8_t **buf, char **cause)
{
	s->cur ^= 1;
	CK(cudaEventSynchronize(s->ev[s->cur]));
	*buf = s->buf[s->cur];
	return 0;
}

static int stager_tmp(stager *s, size_t n, char **cause)
{
	if (n <= s->tmp_n)
		return 0;
	float *t = (float *)realloc(s->tmp, n * sizeof(float));
	if (!t)
		return set_cause(cause, "out of host memory for a staging row of %zu floats", n);
	s->tmp = t;
	s->tmp_n = n;
	return 0;
}

/* Repack a rows x k matrix stored as `type` into format f (layout L) at dev. */
static int upload_matrix(stager *st, uint32_t type, const uint8_t *data, uint32_t rows, uint32_t k,
                         enum cg_fmt f, const struct cg_mat_layout &L, uint8_t *dev, char **cause)
{
	const struct dtype_traits *tr = dtype_traits(type);
	uint64_t per_row = 0;
	for (int c = 0; c < CG_COMP_COUNT_; c++)
		per_row += L.row_bytes[c];
	if (!tr || per_row == 0 || per_row > st->size)
		return set_cause(cause, "CUDA: a row of %u elements does not fit the staging buffer", k);
	const uint64_t src_row = (uint64_t)k / tr->block_elems * tr->block_bytes;
	const uint32_t piece = (uint32_t)(st->size / per_row < rows ? st->size / per_row : rows);
	if (stager_tmp(st, k, cause) < 0)
		return -1;
	for (uint32_t r0 = 0; r0 < rows; r0 += piece) {
		uint32_t n = rows - r0 < piece ? rows - r0 : piece;
		uint8_t *buf = nullptr, *at;
		struct cg_rows dst;
		if (stager_take(st, &buf, cause) < 0)
			return -1;
		memset(&dst, 0, sizeof dst);
		at = buf;
		for (int c = 0; c < CG_COMP_COUNT_; c++)
			if (L.row_bytes[c]) {
				dst.c[c] = at;
				at += L.row_bytes[c] * n;
			}
		cg_repack_rows(f, type, data + r0 * src_row, k, n, &dst, st->tmp);
		for (int c = 0; c < CG_COMP_COUNT_; c++)
			if (L.row_bytes[c])
				CK(cudaMemcpyAsync(dev + L.off[c] + r0 * L.row_bytes[c], dst.c[c],
				                   L.row_bytes[c] * n, cudaMemcpyHostToDevice, st->stream));
		CK(cudaEventRecord(st->ev[st->cur], st->stream));
	}
	return 0;
}

/* n floats (from a tensor of a readable type, or from host floats when t is NULL) to dev. */
static int upload_floats(stager *st, const struct tensor *t, const float *host, uint32_t n, float *dev,
                         char **cause)
{
	uint8_t *buf = nullptr;
	if ((uint64_t)n * 4 > st->size)
		return set_cause(cause, "CUDA: a vector of %u floats does not fit the staging buffer", n);
	if (stager_take(st, &buf, cause) < 0)
		return -1;
	if (t)
		dtype_dequant(t->type, t->data, (float *)buf, n);
	else
		memcpy(buf, host, (size_t)n * 4);
	CK(cudaMemcpyAsync(dev, buf, (size_t)n * 4, cudaMemcpyHostToDevice, st->stream));
	CK(cudaEventRecord(st->ev[st->cur], st->stream));
	return 0;
}

/* transformers: inv_freq = 1 / base ** (arange(0, d, 2).float() / d), all float32 (as the CPU backend). */
static void rope_inv_freq(float theta, uint32_t hd, float *out)
{
	for (uint32_t i = 0; i < hd / 2; i++)
		out[i] = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
}

/* --- weights -------------------------------------------------------------------------------------------- */

struct glayer {
	const float *attn_norm, *ffn_norm; /* (n_embd) */
	const float *bq, *bk, *bv;         /* NULL without qkv bias */
	dmat wq, wk, wv, wo, gate, up, down;
};

struct weight_fmt_rec {
	const char *name; /* the model file's */
	enum cg_fmt fmt;
};

struct mat_item {
	const struct tensor *t;
	dmat *dst;
	uint32_t rows, k;
	enum cg_fmt fmt;
	struct cg_mat_layout L;
	uint64_t off;
	bool gemm; /* multiplied by the prefill GEMM (sizes the dequantisation scratch) */
};

struct vec_item {
	const struct tensor *t; /* NULL: host floats */
	const float *host;
	const float **dst;
	uint32_t n;
	uint64_t off;
};

struct backend_weights {
	const struct model_file *mf;
	struct model_desc desc;
	int device;
	int quant_bits;
	uint32_t n_sm;
	uint64_t stage_limit;
	uint8_t *dev;
	uint64_t dev_bytes;
	glayer *layers; /* (n_layers) */
	dmat embd, output;
	const float *output_norm;
	const float *inv_freq;
	uint64_t scratch_elems;  /* dequantisation tile a context needs for the GEMM path */
	weight_fmt_rec *formats; /* n_formats of them, one per matrix */
	uint32_t n_formats;
	uint64_t mem_limit;
	pthread_mutex_t mu; /* guards ctx_in_use */
	bool mu_ready;
	uint64_t ctx_in_use;
};

static void cuda_weights_free(struct backend_weights *w)
{
	if (!w)
		return;
	if (w->dev) {
		cudaSetDevice(w->device);
		cudaFree(w->dev);
		cudaGetLastError();
	}
	if (w->mu_ready)
		pthread_mutex_destroy(&w->mu);
	free(w->layers);
	free(w->formats);
	free(w);
}

static uint64_t cuda_weights_bytes(const struct backend_weights *w)
{
	return w->dev_bytes;
}

/* The growing lists of a load plan; arrays sized for the model's tensor count up front. */
struct load_plan {
	mat_item *mats;
	uint32_t n_mats, cap_mats;
	vec_item *vecs;
	uint32_t n_vecs, cap_vecs;
	struct cg_arena arena;
};

static int plan_matrix(struct backend_weights *w, const char *name, uint32_t k, uint32_t rows, bool keep8,
                       bool gemm, dmat *dst, struct load_plan *lp, char **cause)
{
	const char *path = model_file_path(w->mf);
	const struct tensor *t = model_file_find(w->mf, name);
	mat_item it;

	if (!t)
		return set_cause(cause, "%s: tensor '%s' is missing", path, name);
	if (t->ne[0] != k || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
		return set_cause(cause, "%s: tensor '%s' is not a %u x %u matrix", path, name, rows, k);
	memset(&it, 0, sizeof it);
	if (cg_fmt_choose(t->type, w->quant_bits, keep8, k, &it.fmt) < 0 ||
	    cg_mat_layout(it.fmt, rows, k, &it.L) < 0)
		return set_cause(cause,
		                 "%s: tensor '%s' (%s, rows of %u elements) cannot be used by the CUDA "
		                 "backend: it needs "
		                 "a supported type and rows of a multiple of 8 elements",
		                 path, name, dtype_name(t->type), k);
	it.t = t;
	it.dst = dst;
	it.rows = rows;
	it.k = k;
	it.gemm = gemm;
	it.off = cg_arena_take(&lp->arena, it.L.bytes);
	if (lp->n_mats == lp->cap_mats)
		return set_cause(cause, "%s: more matrices than planned", path);
	lp->mats[lp->n_mats++] = it;
	w->formats[w->n_formats].name = t->name;
	w->formats[w->n_formats].fmt = it.fmt;
	w->n_formats++;
	return 0;
}

static int plan_vector(struct backend_weights *w, const char *name, uint32_t n, const float **dst,
                       struct load_plan *lp, char **cause)
{
	const struct tensor *t = model_file_find(w->mf, name);
	const struct dtype_traits *tr = t ? dtype_traits(t->type) : nullptr;
	vec_item it;

	if (!t)
		return set_cause(cause, "%s: tensor '%s' is missing", model_file_path(w->mf), name);
	if (tensor_n_elems(t) != n || !tr || !tr->supported || n % tr->block_elems != 0)
		return set_cause(cause, "%s: tensor '%s' is not a vector of %u elements of a readable type",
		                 model_file_path(w->mf), name, n);
	memset(&it, 0, sizeof it);
	it.t = t;
	it.dst = dst;
	it.n = n;
	it.off = cg_arena_take(&lp->arena, 4ull * n);
	if (lp->n_vecs == lp->cap_vecs)
		return set_cause(cause, "%s: more vectors than planned", model_file_path(w->mf));
	lp->vecs[lp->n_vecs++] = it;
	return 0;
}

/* The model's shape, checked against what the kernels handle. */
static int check_desc(const struct model_file *mf, const struct model_desc *d, char **cause)
{
	const char *path = model_file_path(mf);
	if (d->n_layers == 0 || d->n_vocab == 0 || d->n_embd == 0 || d->n_ff == 0)
		return set_cause(cause, "%s: a model with no layers, vocabulary or width", path);
	if (d->n_heads == 0 || d->n_kv_heads == 0 || d->n_heads % d->n_kv_heads != 0)
		return set_cause(cause, "%s: %u attention heads cannot share %u KV heads", path, d->n_heads,
		                 d->n_kv_heads);
	if (d->head_dim == 0 || d->head_dim % 2 != 0 || d->head_dim > MAX_HEAD_DIM)
		return set_cause(cause,
		                 "%s: head dimension %u is not an even number up to %u (the CUDA attention "
		                 "kernel's limit)",
		                 path, d->head_dim, MAX_HEAD_DIM);
	uint32_t group = d->n_heads / d->n_kv_heads;
	if (group > MAX_GROUP || group * d->head_dim > MAX_GROUP_DIMS)
		return set_cause(
		        cause,
		        "%s: %u query heads of %u per KV head exceed the CUDA attention kernel's limits",
		        path, group, d->head_dim);
	if ((uint64_t)d->n_heads * d->head_dim > UINT32_MAX / 4)
		return set_cause(cause, "%s: %u heads of %u are too wide", path, d->n_heads, d->head_dim);
	return 0;
}

static struct backend_weights *cuda_weights_load(const struct model_file *mf, const struct backend_params *p,
                                                 char **cause)
{
	struct backend_weights *w = (struct backend_weights *)calloc(1, sizeof *w);
	const struct model_desc *d = model_file_desc(mf);
	const char *path = model_file_path(mf);
	struct load_plan lp;
	float *inv_freq = nullptr;
	stager st;
	char name[96], msg[256];
	size_t free_b = 0, total_b = 0;
	uint64_t done = 0, all = 0;
	uint32_t E, hd, qd, kvd;
	cudaError_t err;

	memset(&st, 0, sizeof st);
	memset(&lp, 0, sizeof lp);
	if (!w) {
		set_cause(cause, "%s: out of host memory", path);
		return nullptr;
	}
	w->mf = mf;
	w->desc = *d;
	w->device = p ? p->device : 0;
	w->quant_bits = p ? p->quant_bits : 0;
	w->mem_limit = p ? p->mem_limit : 0;
	if (pthread_mutex_init(&w->mu, nullptr) != 0) {
		set_cause(cause, "%s: cannot create a mutex", path);
		goto fail;
	}
	w->mu_ready = true;
	if (w->quant_bits != 0 && w->quant_bits != 8 && w->quant_bits != 4) {
		set_cause(cause, "load-time quantisation to %d bits is not offered (8 or 4)", w->quant_bits);
		goto fail;
	}
	if (check_desc(mf, d, cause) < 0)
		goto fail;
	if (device_prepare(w->device, &w->n_sm, &w->stage_limit, cause) < 0)
		goto fail;
	E = d->n_embd;
	hd = d->head_dim;
	qd = d->n_heads * hd;
	kvd = d->n_kv_heads * hd;

	/* The plan: every tensor's place in one allocation. */
	lp.cap_mats = 2 + 7 * d->n_layers;
	lp.cap_vecs = 2 + 5 * d->n_layers;
	lp.mats = (mat_item *)calloc(lp.cap_mats, sizeof *lp.mats);
	lp.vecs = (vec_item *)calloc(lp.cap_vecs, sizeof *lp.vecs);
	w->layers = (glayer *)calloc(d->n_layers, sizeof *w->layers);
	w->formats = (weight_fmt_rec *)calloc(lp.cap_mats, sizeof *w->formats);
	inv_freq = (float *)calloc(hd / 2, sizeof *inv_freq);
	if (!lp.mats || !lp.vecs || !w->layers || !w->formats || !inv_freq) {
		set_cause(cause, "%s: out of host memory", path);
		goto fail;
	}
	if (plan_matrix(w, "token_embd.weight", E, d->n_vocab, w->quant_bits == 4 && d->tied_output,
	                d->tied_output, &w->embd, &lp, cause) < 0)
		goto fail;
	if (!d->tied_output &&
	    plan_matrix(w, "output.weight", E, d->n_vocab, true, true, &w->output, &lp, cause) < 0)
		goto fail;
	if (plan_vector(w, "output_norm.weight", E, &w->output_norm, &lp, cause) < 0)
		goto fail;
	for (uint32_t l = 0; l < d->n_layers; l++) {
		glayer *ly = &w->layers[l];
#define MAT(field, suffix, k, rows)                                                                          \
	do {                                                                                                 \
		snprintf(name, sizeof name, "blk.%u." suffix, l);                                            \
		if (plan_matrix(w, name, k, rows, false, true, &ly->field, &lp, cause) < 0)                  \
			goto fail;                                                                           \
	} while (0)
#define VEC(field, suffix, n)                                                                                \
	do {                                                                                                 \
		snprintf(name, sizeof name, "blk.%u." suffix, l);                                            \
		if (plan_vector(w, name, n, &ly->field, &lp, cause) < 0)                                     \
			goto fail;                                                                           \
	} while (0)
		MAT(wq, "attn_q.weight", E, qd);
		MAT(wk, "attn_k.weight", E, kvd);
		MAT(wv, "attn_v.weight", E, kvd);
		MAT(wo, "attn_output.weight", qd, E);
		MAT(gate, "ffn_gate.weight", E, d->n_ff);
		MAT(up, "ffn_up.weight", E, d->n_ff);
		MAT(down, "ffn_down.weight", d->n_ff, E);
		VEC(attn_norm, "attn_norm.weight", E);
		VEC(ffn_norm, "ffn_norm.weight", E);
		if (d->qkv_bias) {
			VEC(bq, "attn_q.bias", qd);
			VEC(bk, "attn_k.bias", kvd);
			VEC(bv, "attn_v.bias", kvd);
		}
#undef MAT
#undef VEC
	}
	rope_inv_freq(d->rope_theta, hd, inv_freq);
	if (lp.n_vecs == lp.cap_vecs) {
		set_cause(cause, "%s: more vectors than planned", path);
		goto fail;
	}
	{
		vec_item *it = &lp.vecs[lp.n_vecs++];
		memset(it, 0, sizeof *it);
		it->host = inv_freq;
		it->dst = &w->inv_freq;
		it->n = hd / 2;
		it->off = cg_arena_take(&lp.arena, 4ull * it->n);
	}
	if (lp.arena.overflow) {
		set_cause(cause, "%s: the weights' size overflows", path);
		goto fail;
	}
	for (uint32_t i = 0; i < lp.n_mats; i++) {
		const mat_item *it = &lp.mats[i];
		all += it->L.bytes;
		if (it->gemm && it->fmt != CG_FMT_BF16) {
			uint64_t tile =
			        (uint64_t)cg_gemm_tile_rows(it->rows, it->k, CG_GEMM_SCRATCH_CAP) * it->k;
			if (tile > w->scratch_elems)
				w->scratch_elems = tile;
		}
	}

	/* Room on the device. */
	err = cudaMemGetInfo(&free_b, &total_b);
	if (err != cudaSuccess) {
		cuda_fail(cause, err, "cudaMemGetInfo");
		goto fail;
	}
	if (!cg_fits(lp.arena.used, 0, free_b, w->mem_limit, MEM_RESERVE)) {
		cg_fit_message(msg, sizeof msg, "the model", lp.arena.used, 0, free_b, w->mem_limit);
		set_cause(cause, "%s: %s", path, msg);
		goto fail;
	}
	err = cudaMalloc((void **)&w->dev, lp.arena.used);
	if (err != cudaSuccess) {
		w->dev = nullptr;
		cuda_fail(cause, err, "cudaMalloc (weights)");
		cause_prefix(cause, "%s", path);
		goto fail;
	}
	w->dev_bytes = lp.arena.used;

	/* Upload. */
	if (stager_open(&st, STAGE_BYTES, cause) < 0)
		goto fail;
	for (uint32_t i = 0; i < lp.n_mats; i++) {
		const mat_item *it = &lp.mats[i];
		*it->dst = dmat_make(it->fmt, it->rows, it->k, it->L, w->dev + it->off);
		if (upload_matrix(&st, it->t->type, (const uint8_t *)it->t->data, it->rows, it->k, it->fmt,
		                  it->L, w->dev + it->off, cause) < 0) {
			cause_prefix(cause, "%s: tensor '%s'", path, it->t->name);
			goto fail;
		}
		done += it->L.bytes;
		if (p && p->progress)
			p->progress(all ? (float)((double)done / (double)all) : 1.0f, p->progress_user);
	}
	for (uint32_t i = 0; i < lp.n_vecs; i++) {
		const vec_item *it = &lp.vecs[i];
		*it->dst = (const float *)(w->dev + it->off);
		if (upload_floats(&st, it->t, it->host, it->n, (float *)(w->dev + it->off), cause) < 0)
			goto fail;
	}
	err = cudaStreamSynchronize(st.stream);
	if (err != cudaSuccess) {
		cuda_fail(cause, err, "cudaStreamSynchronize (weight upload)");
		cause_prefix(cause, "%s", path);
		goto fail;
	}
	stager_close(&st);
	if (d->tied_output)
		w->output = w->embd;
	free(lp.mats);
	free(lp.vecs);
	free(inv_freq);
	return w;
fail:
	stager_close(&st);
	free(lp.mats);
	free(lp.vecs);
	free(inv_freq);
	cuda_weights_free(w);
	return nullptr;
}

/* --- contexts ----------------------------------------------------------------------------------------------
 */

struct backend_ctx {
	struct backend_weights *w;
	uint32_t n_ctx, n_batch, n_logit_rows, n_splits;
	struct cg_ctx_plan plan;
	uint8_t *dev;
	__half *kc, *vc; /* (n_layers, n_ctx, kv_dim) */
	float *x, *xn, *q, *k, *v, *att, *g, *u, *logits, *part_o, *part_ml;
	__nv_bfloat16 *xb, *scratch;
	void *ws;
	cg_step_params *d_params; /* followed by int32 tokens[n_batch] */
	int32_t *d_tokens, *d_sample;
	cg_step_params *h_params;     /* pinned mirror of d_params + tokens */
	int32_t *h_tokens, *h_sample; /* h_sample pinned */
	uint64_t scratch_elems;
	exec_env env;
	gemm_state gemm;
	cudaEvent_t ev_params; /* the last copy out of h_params has been made */
	bool reserved;         /* plan.total counted in w->ctx_in_use */
	bool graphs_on;
	int graph_state; /* 1 captured, 0 not yet, -1 capture failed (eager from then on) */
	cudaGraphExec_t gexec;
	char *graph_note;
	bool have_logits;  /* the logits buffer holds the last forward's */
	uint32_t last_row; /* row of the last position's logits */
};

static void cuda_ctx_free(struct backend_ctx *c)
{
	if (!c)
		return;
	cudaSetDevice(c->w->device);
	if (c->env.stream)
		cudaStreamSynchronize(c->env.stream);
	if (c->gexec)
		cudaGraphExecDestroy(c->gexec);
	gemm_state_free(&c->gemm);
	if (c->ev_params)
		cudaEventDestroy(c->ev_params);
	if (c->env.stream)
		cudaStreamDestroy(c->env.stream);
	if (c->h_params)
		cudaFreeHost(c->h_params);
	if (c->h_sample)
		cudaFreeHost(c->h_sample);
	if (c->dev)
		cudaFree(c->dev);
	cudaGetLastError();
	if (c->reserved) {
		pthread_mutex_lock(&c->w->mu);
		c->w->ctx_in_use -= c->plan.total;
		pthread_mutex_unlock(&c->w->mu);
	}
	free(c->graph_note);
	free(c);
}

template <typename T> static T *carve(struct backend_ctx *c, enum cg_buf b)
{
	return reinterpret_cast<T *>(c->dev + c->plan.off[b]);
}

static struct backend_ctx *cuda_ctx_new(struct backend_weights *w, uint32_t n_ctx, char **cause)
{
	const struct model_desc *d = &w->desc;
	const char *path = model_file_path(w->mf);
	struct backend_ctx *c = (struct backend_ctx *)calloc(1, sizeof *c);
	struct cg_ctx_dims dims;
	size_t free_b = 0, total_b = 0;
	uint64_t in_use = 0;
	cudaError_t err;
	char msg[256], what[64];
	const char *env_graphs = getenv("DUET_CUDA_GRAPHS");

	if (!c) {
		set_cause(cause, "%s: out of host memory", path);
		return nullptr;
	}
	c->w = w;
	c->n_ctx = n_ctx;
	if (n_ctx == 0) {
		set_cause(cause, "%s: a context of 0 tokens", path);
		goto fail;
	}
	if (n_ctx > INT32_MAX / 2) {
		set_cause(cause, "%s: a context of %u tokens is too large", path, n_ctx);
		goto fail;
	}
	err = cudaSetDevice(w->device);
	if (err != cudaSuccess) {
		cuda_fail(cause, err, "cudaSetDevice");
		goto fail;
	}
	c->n_batch = n_ctx < MAX_BATCH ? n_ctx : MAX_BATCH;
	c->n_logit_rows = c->n_batch < MAX_LOGIT_ROWS ? c->n_batch : MAX_LOGIT_ROWS;
	c->n_splits = cg_attn_max_splits(n_ctx, d->n_kv_heads, w->n_sm);
	c->scratch_elems = w->scratch_elems;
	memset(&dims, 0, sizeof dims);
	dims.n_embd = d->n_embd;
	dims.q_dim = d->n_heads * d->head_dim;
	dims.kv_dim = d->n_kv_heads * d->head_dim;
	dims.n_ff = d->n_ff;
	dims.n_vocab = d->n_vocab;
	dims.n_layers = d->n_layers;
	dims.n_heads = d->n_heads;
	dims.head_dim = d->head_dim;
	dims.n_ctx = n_ctx;
	dims.n_batch = c->n_batch;
	dims.n_logit_rows = c->n_logit_rows;
	dims.n_splits = c->n_splits;
	dims.scratch_elems = c->scratch_elems;
	dims.workspace_bytes = WORKSPACE_BYTES;
	if (cg_ctx_plan(&dims, &c->plan) < 0) {
		set_cause(cause, "%s: a context of %u tokens is too large", path, n_ctx);
		goto fail;
	}

	/* Reserve the bytes under the cap before allocating, so two contexts cannot both squeeze in. */
	pthread_mutex_lock(&w->mu);
	err = cudaMemGetInfo(&free_b, &total_b);
	if (err == cudaSuccess &&
	    cg_fits(c->plan.total, w->dev_bytes + w->ctx_in_use, free_b, w->mem_limit, MEM_RESERVE)) {
		w->ctx_in_use += c->plan.total;
		c->reserved = true;
	}
	in_use = w->dev_bytes + w->ctx_in_use;
	pthread_mutex_unlock(&w->mu);
	if (err != cudaSuccess) {
		cuda_fail(cause, err, "cudaMemGetInfo");
		goto fail;
	}
	if (!c->reserved) {
		snprintf(what, sizeof what, "a context of %u tokens", n_ctx);
		cg_fit_message(msg, sizeof msg, what, c->plan.total, in_use, free_b, w->mem_limit);
		set_cause(cause, "%s: %s", path, msg);
		goto fail;
	}
	err = cudaMalloc((void **)&c->dev, c->plan.total);
	if (err != cudaSuccess) {
		c->dev = nullptr;
		cuda_fail(cause, err, "cudaMalloc (context)");
		cause_prefix(cause, "%s: a context of %u tokens", path, n_ctx);
		goto fail;
	}
	c->kc = carve<__half>(c, CG_BUF_KCACHE);
	c->vc = carve<__half>(c, CG_BUF_VCACHE);
	c->x = carve<float>(c, CG_BUF_X);
	c->xn = carve<float>(c, CG_BUF_XN);
	c->xb = carve<__nv_bfloat16>(c, CG_BUF_XB);
	c->q = carve<float>(c, CG_BUF_Q);
	c->k = carve<float>(c, CG_BUF_K);
	c->v = carve<float>(c, CG_BUF_V);
	c->att = carve<float>(c, CG_BUF_ATT);
	c->g = carve<float>(c, CG_BUF_G);
	c->u = carve<float>(c, CG_BUF_U);
	c->logits = carve<float>(c, CG_BUF_LOGITS);
	c->part_o = carve<float>(c, CG_BUF_PART_O);
	c->part_ml = carve<float>(c, CG_BUF_PART_ML);
	c->scratch = carve<__nv_bfloat16>(c, CG_BUF_SCRATCH);
	c->ws = carve<void>(c, CG_BUF_WORKSPACE);
	c->d_params = carve<cg_step_params>(c, CG_BUF_PARAMS);
	c->d_tokens = reinterpret_cast<int32_t *>(c->d_params + 1);
	c->d_sample = carve<int32_t>(c, CG_BUF_SAMPLE);

	err = cudaStreamCreateWithFlags(&c->env.stream, cudaStreamNonBlocking);
	if (err != cudaSuccess) {
		c->env.stream = nullptr;
		cuda_fail(cause, err, "cudaStreamCreateWithFlags");
		goto fail;
	}
	c->env.n_sm = w->n_sm;
	c->env.stage_limit = w->stage_limit;
	err = cudaEventCreateWithFlags(&c->ev_params, cudaEventDisableTiming);
	if (err != cudaSuccess) {
		c->ev_params = nullptr;
		cuda_fail(cause, err, "cudaEventCreateWithFlags");
		goto fail;
	}
	err = cudaMallocHost((void **)&c->h_params, cg_params_bytes(c->n_batch));
	if (err != cudaSuccess) {
		c->h_params = nullptr;
		cuda_fail(cause, err, "cudaMallocHost (step parameters)");
		goto fail;
	}
	memset(c->h_params, 0, cg_params_bytes(c->n_batch));
	c->h_tokens = reinterpret_cast<int32_t *>(c->h_params + 1);
	err = cudaMallocHost((void **)&c->h_sample, 16);
	if (err != cudaSuccess) {
		c->h_sample = nullptr;
		cuda_fail(cause, err, "cudaMallocHost (sample)");
		goto fail;
	}
	err = cudaMemsetAsync(c->dev + c->plan.off[CG_BUF_PARAMS], 0, c->plan.size[CG_BUF_PARAMS],
	                      c->env.stream);
	if (err == cudaSuccess)
		err = cudaStreamSynchronize(c->env.stream);
	if (err != cudaSuccess) {
		cuda_fail(cause, err, "cudaMemsetAsync (step parameters)");
		goto fail;
	}
	if (gemm_state_init(&c->gemm, c->env.stream, c->ws, WORKSPACE_BYTES, cause) < 0)
		goto fail;
	c->graphs_on = !(env_graphs && strcmp(env_graphs, "0") == 0);
	return c;
fail:
	cuda_ctx_free(c);
	return nullptr;
}

static uint64_t cuda_ctx_bytes(const struct backend_ctx *c)
{
	return c->plan.total;
}

/* --- the forward pass ------------------------------------------------------------------------------------
 */

static rope_args rope_for(const struct backend_ctx *c, uint32_t l)
{
	const struct backend_weights *w = c->w;
	const struct model_desc *d = &w->desc;
	const glayer &ly = w->layers[l];
	const uint64_t kvd = (uint64_t)d->n_kv_heads * d->head_dim;
	rope_args a;

	memset(&a, 0, sizeof a);
	a.q = c->q;
	a.k = c->k;
	a.v = c->v;
	a.bq = ly.bq;
	a.bk = ly.bk;
	a.bv = ly.bv;
	a.inv_freq = w->inv_freq;
	a.d_pos = &c->d_params->pos;
	a.n_heads = d->n_heads;
	a.n_kv = d->n_kv_heads;
	a.hd = d->head_dim;
	a.n_ctx = c->n_ctx;
	a.adjacent = d->rope_layout == ROPE_LAYOUT_ADJACENT;
	a.kc = c->kc + (uint64_t)l * c->n_ctx * kvd;
	a.vc = c->vc + (uint64_t)l * c->n_ctx * kvd;
	return a;
}

static attn_args attn_for(const struct backend_ctx *c, uint32_t l, uint32_t n_splits)
{
	const struct model_desc *d = &c->w->desc;
	const uint64_t kvd = (uint64_t)d->n_kv_heads * d->head_dim;
	attn_args a;

	memset(&a, 0, sizeof a);
	a.q = c->q;
	a.kc = c->kc + (uint64_t)l * c->n_ctx * kvd;
	a.vc = c->vc + (uint64_t)l * c->n_ctx * kvd;
	a.d_pos = &c->d_params->pos;
	a.n_heads = d->n_heads;
	a.n_kv = d->n_kv_heads;
	a.hd = d->head_dim;
	a.n_ctx = c->n_ctx;
	a.n_splits = n_splits;
	a.scale = (float)(1.0 / sqrt((double)d->head_dim));
	a.out = c->att;
	a.part_o = c->part_o;
	a.part_ml = c->part_ml;
	return a;
}

/* One token (tokens[0] at pos, both read from d_params): kernels only, capturable. Logits in row 0. */
static int fwd_decode(struct backend_ctx *c, char **cause)
{
	const struct backend_weights *w = c->w;
	const struct model_desc *d = &w->desc;
	const exec_env &e = c->env;
	const float eps = d->rms_eps;

	if (launch_dequant<float>(e, w->embd, c->d_tokens, 0, 1, c->x, d->n_embd, cause) < 0)
		return -1;
	for (uint32_t l = 0; l < d->n_layers; l++) {
		const glayer &ly = w->layers[l];
		if (launch_matvec(e, ly.wq, nullptr, c->x, ly.attn_norm, eps, c->xn, true, c->q, false,
		                  cause) < 0 ||
		    launch_matvec(e, ly.wk, nullptr, c->x, ly.attn_norm, eps, c->xn, true, c->k, false,
		                  cause) < 0 ||
		    launch_matvec(e, ly.wv, nullptr, c->x, ly.attn_norm, eps, c->xn, true, c->v, false,
		                  cause) < 0 ||
		    launch_rope_kv(e, rope_for(c, l), 1, cause) < 0 ||
		    launch_attention(e, attn_for(c, l, c->n_splits), 1, cause) < 0 ||
		    launch_matvec(e, ly.wo, nullptr, c->att, nullptr, eps, c->xn, true, c->x, true, cause) <
		            0)
			return -1;
		if (ly.gate.fmt == ly.up.fmt) {
			if (launch_matvec(e, ly.gate, &ly.up, c->x, ly.ffn_norm, eps, c->xn, true, c->g,
			                  false, cause) < 0)
				return -1;
		} else if (launch_matvec(e, ly.gate, nullptr, c->x, ly.ffn_norm, eps, c->xn, true, c->g,
		                         false, cause) < 0 ||
		           launch_matvec(e, ly.up, nullptr, c->x, ly.ffn_norm, eps, c->xn, true, c->u, false,
		                         cause) < 0 ||
		           launch_silu_mul<float>(e, c->g, c->u, d->n_ff, c->g, cause) < 0) {
			return -1;
		}
		if (launch_matvec(e, ly.down, nullptr, c->g, nullptr, eps, c->xn, true, c->x, true, cause) <
		    0)
			return -1;
	}
	return launch_matvec(e, w->output, nullptr, c->x, w->output_norm, eps, c->xn, true, c->logits, false,
	                     cause);
}

/*
 * B > 1 tokens from d_params. Logits: all rows (all), only the last row's
 * (last, in row 0), or none.
 */
static int fwd_prefill(struct backend_ctx *c, uint32_t B, bool last, bool all, char **cause)
{
	const struct backend_weights *w = c->w;
	const struct model_desc *d = &w->desc;
	const exec_env &e = c->env;
	const float eps = d->rms_eps;
	const uint32_t E = d->n_embd, qd = d->n_heads * d->head_dim, F = d->n_ff;
	gemm_state *g = &c->gemm;

	if (launch_dequant<float>(e, w->embd, c->d_tokens, 0, B, c->x, E, cause) < 0)
		return -1;
	for (uint32_t l = 0; l < d->n_layers; l++) {
		const glayer &ly = w->layers[l];
		if (launch_rmsnorm<__nv_bfloat16>(e, c->x, ly.attn_norm, B, E, eps, c->xb, cause) < 0 ||
		    gemm_weight(e, g, ly.wq, c->xb, B, c->q, false, c->scratch, c->scratch_elems, cause) <
		            0 ||
		    gemm_weight(e, g, ly.wk, c->xb, B, c->k, false, c->scratch, c->scratch_elems, cause) <
		            0 ||
		    gemm_weight(e, g, ly.wv, c->xb, B, c->v, false, c->scratch, c->scratch_elems, cause) <
		            0 ||
		    launch_rope_kv(e, rope_for(c, l), B, cause) < 0 ||
		    launch_attention(e, attn_for(c, l, 1), B, cause) < 0 ||
		    launch_to_bf16(e, c->att, (uint64_t)B * qd, c->xb, cause) < 0 ||
		    gemm_weight(e, g, ly.wo, c->xb, B, c->x, true, c->scratch, c->scratch_elems, cause) < 0 ||
		    launch_rmsnorm<__nv_bfloat16>(e, c->x, ly.ffn_norm, B, E, eps, c->xb, cause) < 0 ||
		    gemm_weight(e, g, ly.gate, c->xb, B, c->g, false, c->scratch, c->scratch_elems, cause) <
		            0 ||
		    gemm_weight(e, g, ly.up, c->xb, B, c->u, false, c->scratch, c->scratch_elems, cause) <
		            0 ||
		    launch_silu_mul<__nv_bfloat16>(e, c->g, c->u, (uint64_t)B * F, c->xb, cause) < 0 ||
		    gemm_weight(e, g, ly.down, c->xb, B, c->x, true, c->scratch, c->scratch_elems, cause) < 0)
			return -1;
	}
	if (all)
		return launch_rmsnorm<__nv_bfloat16>(e, c->x, w->output_norm, B, E, eps, c->xb, cause) < 0 ||
		                       gemm_weight(e, g, w->output, c->xb, B, c->logits, false, c->scratch,
		                                   c->scratch_elems, cause) < 0
		               ? -1
		               : 0;
	if (last)
		return launch_matvec(e, w->output, nullptr, c->x + (uint64_t)(B - 1) * E, w->output_norm, eps,
		                     c->xn, true, c->logits, false, cause);
	return 0;
}

/* Copy the step parameters (and n_tok tokens) to the device. */
static int params_upload(struct backend_ctx *c, uint32_t n_tok, bool record, char **cause)
{
	CK(cudaMemcpyAsync(c->d_params, c->h_params, cg_params_bytes(n_tok), cudaMemcpyHostToDevice,
	                   c->env.stream));
	if (record)
		CK(cudaEventRecord(c->ev_params, c->env.stream));
	return 0;
}

/* Capture the decode step (parameter copy + kernels) once; on failure decode runs eagerly. */
static void graph_capture(struct backend_ctx *c)
{
	cudaGraph_t graph = nullptr;
	char *why = nullptr;
	cudaError_t err = cudaStreamBeginCapture(c->env.stream, cudaStreamCaptureModeThreadLocal);

	if (err != cudaSuccess) {
		cuda_fail(&why, err, "cudaStreamBeginCapture");
		goto failed;
	}
	{
		int rc = params_upload(c, 1, false, &why);
		if (rc == 0)
			rc = fwd_decode(c, &why);
		err = cudaStreamEndCapture(c->env.stream, &graph);
		if (rc < 0)
			goto failed;
		if (err != cudaSuccess || !graph) {
			cuda_fail(&why, err, "cudaStreamEndCapture");
			goto failed;
		}
	}
	err = cudaGraphInstantiate(&c->gexec, graph, 0);
	if (err != cudaSuccess) {
		c->gexec = nullptr;
		cuda_fail(&why, err, "cudaGraphInstantiate");
		goto failed;
	}
	cudaGraphDestroy(graph);
	c->graph_state = 1;
	return;
failed:
	if (graph)
		cudaGraphDestroy(graph);
	cudaGetLastError();
	free(c->graph_note);
	c->graph_note = why ? why : strdup("CUDA graph capture failed");
	c->graph_state = -1;
}

/* One decode step with h_params filled: a graph replay, or the same launches eagerly. */
static int decode_step(struct backend_ctx *c, char **cause)
{
	if (c->graphs_on && c->graph_state == 0)
		graph_capture(c);
	if (c->graphs_on && c->graph_state == 1) {
		CK(cudaGraphLaunch(c->gexec, c->env.stream));
		CK(cudaEventRecord(c->ev_params, c->env.stream));
		return 0;
	}
	if (params_upload(c, 1, true, cause) < 0)
		return -1;
	return fwd_decode(c, cause);
}

static int cuda_forward(struct backend_ctx *c, const int32_t *tokens, uint32_t n, uint32_t pos, float *logits,
                        bool all_logits, char **cause)
{
	const struct model_desc *d = &c->w->desc;
	const uint32_t V = d->n_vocab;

	if (n == 0 || !tokens)
		return set_cause(cause, "forward: no tokens to run");
	if ((uint64_t)pos + n > c->n_ctx)
		return set_cause(cause,
		                 "context full: %u tokens at position %u exceed the context of %u tokens", n,
		                 pos, c->n_ctx);
	for (uint32_t i = 0; i < n; i++)
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= V)
			return set_cause(cause,
			                 "forward: token id %d (at %u) is outside the vocabulary of %u",
			                 tokens[i], i, V);
	if (!logits && all_logits)
		return set_cause(cause, "forward: all_logits needs a logits buffer");
	CK(cudaSetDevice(c->w->device));
	c->have_logits = false;
	const uint32_t step = all_logits ? c->n_logit_rows : c->n_batch;
	for (uint32_t c0 = 0; c0 < n;) {
		const uint32_t B = n - c0 < step ? n - c0 : step;
		const bool last = c0 + B == n;
		CK(cudaEventSynchronize(c->ev_params)); /* h_params is free to rewrite */
		c->h_params->pos = (int32_t)(pos + c0);
		c->h_params->n_tok = (int32_t)B;
		memcpy(c->h_tokens, tokens + c0, sizeof(int32_t) * B);
		if (B == 1) {
			if (decode_step(c, cause) < 0)
				return -1;
		} else if (params_upload(c, B, true, cause) < 0 ||
		           fwd_prefill(c, B, last, all_logits, cause) < 0) {
			return -1;
		}
		if (all_logits)
			CK(cudaMemcpyAsync(logits + (uint64_t)c0 * V, c->logits,
			                   sizeof(float) * (uint64_t)B * V, cudaMemcpyDeviceToHost,
			                   c->env.stream));
		else if (last && logits)
			CK(cudaMemcpyAsync(logits, c->logits, sizeof(float) * (uint64_t)V,
			                   cudaMemcpyDeviceToHost, c->env.stream));
		c->last_row = all_logits ? B - 1 : 0;
		c0 += B;
	}
	if (logits)
		CK(cudaStreamSynchronize(c->env.stream));
	c->have_logits = true;
	return 0;
}

static int cuda_sample(struct backend_ctx *c, const struct backend_sample_params *sp, int32_t *token,
                       char **cause)
{
	const uint32_t V = c->w->desc.n_vocab;

	if (!sp || !token)
		return set_cause(cause, "sample: no parameters or output");
	if (!c->have_logits)
		return set_cause(cause, "sample: no logits yet (run forward first)");
	if (!(sp->temperature >= 0.0f) || isinf(sp->temperature) || isnan(sp->top_p) || isnan(sp->min_p))
		return set_cause(cause, "sample: temperature %g, top-p %g, min-p %g are not usable",
		                 (double)sp->temperature, (double)sp->top_p, (double)sp->min_p);
	CK(cudaSetDevice(c->w->device));
	CK(cudaEventSynchronize(c->ev_params));
	cg_step_params *h = c->h_params;
	h->temperature = sp->temperature;
	h->top_k = sp->top_k;
	h->top_p = sp->top_p;
	h->min_p = sp->min_p;
	h->seed_lo = (uint32_t)sp->seed;
	h->seed_hi = (uint32_t)(sp->seed >> 32);
	h->counter_lo = (uint32_t)sp->counter;
	h->counter_hi = (uint32_t)(sp->counter >> 32);
	h->logits_row = c->last_row;
	CK(cudaMemcpyAsync(c->d_params, h, sizeof *h, cudaMemcpyHostToDevice, c->env.stream));
	CK(cudaEventRecord(c->ev_params, c->env.stream));
	if (launch_sample(c->env, c->logits, V, c->d_params, c->d_sample, cause) < 0)
		return -1;
	CK(cudaMemcpyAsync(c->h_sample, c->d_sample, sizeof(int32_t), cudaMemcpyDeviceToHost, c->env.stream));
	CK(cudaStreamSynchronize(c->env.stream));
	if (*c->h_sample < 0 || (uint32_t)*c->h_sample >= V)
		return set_cause(cause, "sample: the GPU sampler returned id %d outside the vocabulary of %u",
		                 *c->h_sample, V);
	*token = *c->h_sample;
	return 0;
}

/* --- single operations for tests (cuda/cuda_debug.h) ------------------------------------------------------
 */

#define DBG_MAX_ALLOCS 32

struct dbg {
	exec_env e;
	void *allocs[DBG_MAX_ALLOCS];
	int n_allocs;
	gemm_state g;
	bool g_open;
	stager st;
	bool st_open;
};

static int dbg_open(dbg *d, int device, char **cause)
{
	memset(d, 0, sizeof *d);
	if (device_prepare(device, &d->e.n_sm, &d->e.stage_limit, cause) < 0)
		return -1;
	cudaError_t err = cudaStreamCreateWithFlags(&d->e.stream, cudaStreamNonBlocking);
	if (err != cudaSuccess) {
		d->e.stream = nullptr;
		return cuda_fail(cause, err, "cudaStreamCreateWithFlags");
	}
	return 0;
}

static void dbg_close(dbg *d)
{
	if (d->e.stream)
		cudaStreamSynchronize(d->e.stream);
	if (d->g_open)
		gemm_state_free(&d->g);
	if (d->st_open)
		stager_close(&d->st);
	for (int i = 0; i < d->n_allocs; i++)
		cudaFree(d->allocs[i]);
	d->n_allocs = 0;
	if (d->e.stream)
		cudaStreamDestroy(d->e.stream);
	d->e.stream = nullptr;
	cudaGetLastError();
}

static void *dbg_alloc(dbg *d, size_t n, char **cause)
{
	void *p = nullptr;
	if (d->n_allocs == DBG_MAX_ALLOCS) {
		set_cause(cause, "debug: too many buffers");
		return nullptr;
	}
	cudaError_t err = cudaMalloc(&p, n ? n : 16);
	if (err != cudaSuccess) {
		cuda_fail(cause, err, "cudaMalloc");
		return nullptr;
	}
	d->allocs[d->n_allocs++] = p;
	return p;
}

static void *dbg_upload(dbg *d, const void *host, size_t n, char **cause)
{
	void *p = dbg_alloc(d, n, cause);
	if (!p)
		return nullptr;
	cudaError_t err = cudaMemcpyAsync(p, host, n, cudaMemcpyHostToDevice, d->e.stream);
	if (err == cudaSuccess)
		err = cudaStreamSynchronize(d->e.stream);
	if (err != cudaSuccess) {
		cuda_fail(cause, err, "cudaMemcpyAsync (upload)");
		return nullptr;
	}
	return p;
}

static int dbg_download(dbg *d, void *host, const void *dev, size_t n, char **cause)
{
	CK(cudaStreamSynchronize(d->e.stream));
	CK(cudaMemcpyAsync(host, dev, n, cudaMemcpyDeviceToHost, d->e.stream));
	CK(cudaStreamSynchronize(d->e.stream));
	return 0;
}

static int dbg_matrix(dbg *d, uint32_t type, const void *data, uint32_t rows, uint32_t k, int quant_bits,
                      bool keep8, dmat *out, char **cause)
{
	enum cg_fmt f;
	struct cg_mat_layout L;
	uint8_t *dev;

	if (!data || cg_fmt_choose(type, quant_bits, keep8, k, &f) < 0 || cg_mat_layout(f, rows, k, &L) < 0)
		return set_cause(cause, "debug: a %u x %u %s matrix is not usable", rows, k,
		                 dtype_name(type));
	if (!d->st_open) {
		if (stager_open(&d->st, 4u << 20, cause) < 0) {
			stager_close(&d->st);
			return -1;
		}
		d->st_open = true;
	}
	if (!(dev = (uint8_t *)dbg_alloc(d, L.bytes, cause)))
		return -1;
	if (upload_matrix(&d->st, type, (const uint8_t *)data, rows, k, f, L, dev, cause) < 0)
		return -1;
	CK(cudaStreamSynchronize(d->st.stream));
	*out = dmat_make(f, rows, k, L, dev);
	return 0;
}

static int dbg_dequant(int device, uint32_t type, const void *data, uint32_t rows, uint32_t k, int quant_bits,
                       bool keep8, float *out, const char **fmt_name, char **cause)
{
	dbg d;
	dmat m;
	float *dout;
	int rc = -1;

	if (dbg_open(&d, device, cause) < 0 ||
	    dbg_matrix(&d, type, data, rows, k, quant_bits, keep8, &m, cause) < 0)
		goto done;
	if (fmt_name)
		*fmt_name = cg_fmt_name((enum cg_fmt)m.fmt);
	if (!(dout = (float *)dbg_alloc(&d, 4ull * rows * k, cause)) ||
	    launch_dequant<float>(d.e, m, nullptr, 0, rows, dout, k, cause) < 0 ||
	    dbg_download(&d, out, dout, 4ull * rows * k, cause) < 0)
		goto done;
	rc = 0;
done:
	dbg_close(&d);
	return rc;
}

static int dbg_matmul(int device, uint32_t type, const void *data, uint32_t rows, uint32_t k, int quant_bits,
                      const float *x, uint32_t n_tok, const float *norm_w, float eps, bool staged,
                      uint64_t tile_cap, float *out, char **cause)
{
	dbg d;
	dmat m;
	float *dx, *dnw = nullptr, *dy, *dxn;
	__nv_bfloat16 *xb, *scratch = nullptr;
	void *ws;
	uint64_t scratch_elems = 0;
	int rc = -1;

	if (n_tok == 0)
		return set_cause(cause, "debug: matmul of no rows");
	if (dbg_open(&d, device, cause) < 0 ||
	    dbg_matrix(&d, type, data, rows, k, quant_bits, false, &m, cause) < 0)
		goto done;
	if (!(dx = (float *)dbg_upload(&d, x, 4ull * n_tok * k, cause)) ||
	    (norm_w && !(dnw = (float *)dbg_upload(&d, norm_w, 4ull * k, cause))) ||
	    !(dy = (float *)dbg_alloc(&d, 4ull * n_tok * rows, cause)))
		goto done;
	if (n_tok == 1) {
		if (!(dxn = (float *)dbg_alloc(&d, 4ull * k, cause)) ||
		    launch_matvec(d.e, m, nullptr, dx, dnw, eps, dxn, staged, dy, false, cause) < 0)
			goto done;
	} else {
		if (!(xb = (__nv_bfloat16 *)dbg_alloc(&d, 2ull * n_tok * k, cause)))
			goto done;
		if (dnw ? launch_rmsnorm<__nv_bfloat16>(d.e, dx, dnw, n_tok, k, eps, xb, cause) < 0
		        : launch_to_bf16(d.e, dx, (uint64_t)n_tok * k, xb, cause) < 0)
			goto done;
		if (m.fmt != CG_FMT_BF16) {
			scratch_elems = (uint64_t)cg_gemm_tile_rows(
			                        rows, k, tile_cap ? tile_cap : CG_GEMM_SCRATCH_CAP) *
			                k;
			if (!(scratch = (__nv_bfloat16 *)dbg_alloc(&d, 2 * scratch_elems, cause)))
				goto done;
		}
		if (!(ws = dbg_alloc(&d, WORKSPACE_BYTES, cause)))
			goto done;
		d.g_open = true;
		if (gemm_state_init(&d.g, d.e.stream, ws, WORKSPACE_BYTES, cause) < 0 ||
		    gemm_weight(d.e, &d.g, m, xb, n_tok, dy, false, scratch, scratch_elems, cause) < 0)
			goto done;
	}
	if (dbg_download(&d, out, dy, 4ull * n_tok * rows, cause) < 0)
		goto done;
	rc = 0;
done:
	dbg_close(&d);
	return rc;
}

static int dbg_matvec_glu(int device, uint32_t type, const void *gate, const void *up, uint32_t rows,
                          uint32_t k, const float *x, float *out, char **cause)
{
	dbg d;
	dmat mg, mu;
	float *dx, *dy, *dxn;
	int rc = -1;

	if (dbg_open(&d, device, cause) < 0 ||
	    dbg_matrix(&d, type, gate, rows, k, 0, false, &mg, cause) < 0 ||
	    dbg_matrix(&d, type, up, rows, k, 0, false, &mu, cause) < 0)
		goto done;
	if (!(dx = (float *)dbg_upload(&d, x, 4ull * k, cause)) ||
	    !(dy = (float *)dbg_alloc(&d, 4ull * rows, cause)) ||
	    !(dxn = (float *)dbg_alloc(&d, 4ull * k, cause)) ||
	    launch_matvec(d.e, mg, &mu, dx, nullptr, 0.0f, dxn, true, dy, false, cause) < 0 ||
	    dbg_download(&d, out, dy, 4ull * rows, cause) < 0)
		goto done;
	rc = 0;
done:
	dbg_close(&d);
	return rc;
}

static int dbg_rmsnorm(int device, const float *x, const float *w, uint32_t n_rows, uint32_t n, float eps,
                       float *out, char **cause)
{
	dbg d;
	float *dx, *dw, *dy;
	int rc = -1;

	if (n % 4 != 0)
		return set_cause(cause, "debug: rmsnorm of rows of %u (a multiple of 4 is needed)", n);
	if (dbg_open(&d, device, cause) < 0)
		goto done;
	if (!(dx = (float *)dbg_upload(&d, x, 4ull * n_rows * n, cause)) ||
	    !(dw = (float *)dbg_upload(&d, w, 4ull * n, cause)) ||
	    !(dy = (float *)dbg_alloc(&d, 4ull * n_rows * n, cause)) ||
	    launch_rmsnorm<float>(d.e, dx, dw, n_rows, n, eps, dy, cause) < 0 ||
	    dbg_download(&d, out, dy, 4ull * n_rows * n, cause) < 0)
		goto done;
	rc = 0;
done:
	dbg_close(&d);
	return rc;
}

/* A parameter block on the device holding pos. */
static cg_step_params *dbg_params(dbg *d, uint32_t pos, char **cause)
{
	cg_step_params h;
	memset(&h, 0, sizeof h);
	h.pos = (int32_t)pos;
	return (cg_step_params *)dbg_upload(d, &h, sizeof h, cause);
}

static int dbg_rope_kv(int device, float *q, const float *k, const float *v, const float *bq, const float *bk,
                       const float *bv, uint32_t n_tok, uint32_t pos, uint32_t n_heads, uint32_t n_kv_heads,
                       uint32_t head_dim, float theta, int layout, uint32_t n_ctx, uint16_t *kc, uint16_t *vc,
                       char **cause)
{
	dbg d;
	rope_args a;
	float inv[MAX_HEAD_DIM / 2];
	cg_step_params *prm;
	const uint64_t qd = (uint64_t)n_heads * head_dim, kvd = (uint64_t)n_kv_heads * head_dim;
	int rc = -1;

	if (head_dim == 0 || head_dim % 2 || head_dim > MAX_HEAD_DIM || n_kv_heads == 0 || n_tok == 0 ||
	    (uint64_t)pos + n_tok > n_ctx)
		return set_cause(cause, "debug: rope_kv arguments out of range");
	rope_inv_freq(theta, head_dim, inv);
	memset(&a, 0, sizeof a);
	if (dbg_open(&d, device, cause) < 0)
		goto done;
	if (!(a.q = (float *)dbg_upload(&d, q, 4 * n_tok * qd, cause)) ||
	    !(a.k = (const float *)dbg_upload(&d, k, 4 * n_tok * kvd, cause)) ||
	    !(a.v = (const float *)dbg_upload(&d, v, 4 * n_tok * kvd, cause)) ||
	    (bq && !(a.bq = (const float *)dbg_upload(&d, bq, 4 * qd, cause))) ||
	    (bk && !(a.bk = (const float *)dbg_upload(&d, bk, 4 * kvd, cause))) ||
	    (bv && !(a.bv = (const float *)dbg_upload(&d, bv, 4 * kvd, cause))) ||
	    !(a.inv_freq = (const float *)dbg_upload(&d, inv, 4ull * (head_dim / 2), cause)) ||
	    !(a.kc = (__half *)dbg_upload(&d, kc, 2 * n_ctx * kvd, cause)) ||
	    !(a.vc = (__half *)dbg_upload(&d, vc, 2 * n_ctx * kvd, cause)) ||
	    !(prm = dbg_params(&d, pos, cause)))
		goto done;
	a.d_pos = &prm->pos;
	a.n_heads = n_heads;
	a.n_kv = n_kv_heads;
	a.hd = head_dim;
	a.n_ctx = n_ctx;
	a.adjacent = layout == CUDA_DBG_ROPE_ADJACENT;
	if (launch_rope_kv(d.e, a, n_tok, cause) < 0 || dbg_download(&d, q, a.q, 4 * n_tok * qd, cause) < 0 ||
	    dbg_download(&d, kc, a.kc, 2 * n_ctx * kvd, cause) < 0 ||
	    dbg_download(&d, vc, a.vc, 2 * n_ctx * kvd, cause) < 0)
		goto done;
	rc = 0;
done:
	dbg_close(&d);
	return rc;
}

static int dbg_attention(int device, const float *q, const uint16_t *kc, const uint16_t *vc, uint32_t n_tok,
                         uint32_t pos, uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim,
                         uint32_t n_ctx, uint32_t n_splits, float *out, char **cause)
{
	dbg d;
	attn_args a;
	cg_step_params *prm;
	const uint64_t qd = (uint64_t)n_heads * head_dim, kvd = (uint64_t)n_kv_heads * head_dim;
	int rc = -1;

	if (head_dim == 0 || head_dim % 2 || head_dim > MAX_HEAD_DIM || n_kv_heads == 0 ||
	    n_heads % n_kv_heads || n_heads / n_kv_heads > MAX_GROUP ||
	    n_heads / n_kv_heads * head_dim > MAX_GROUP_DIMS || n_tok == 0 || (uint64_t)pos + n_tok > n_ctx ||
	    n_splits == 0 || n_splits > CG_ATTN_MAX_SPLITS)
		return set_cause(cause, "debug: attention arguments out of range");
	memset(&a, 0, sizeof a);
	if (dbg_open(&d, device, cause) < 0)
		goto done;
	if (!(a.q = (const float *)dbg_upload(&d, q, 4 * n_tok * qd, cause)) ||
	    !(a.kc = (const __half *)dbg_upload(&d, kc, 2 * n_ctx * kvd, cause)) ||
	    !(a.vc = (const __half *)dbg_upload(&d, vc, 2 * n_ctx * kvd, cause)) ||
	    !(a.out = (float *)dbg_alloc(&d, 4 * n_tok * qd, cause)) ||
	    !(a.part_o = (float *)dbg_alloc(&d, 4ull * n_tok * n_heads * n_splits * head_dim, cause)) ||
	    !(a.part_ml = (float *)dbg_alloc(&d, 8ull * n_tok * n_heads * n_splits, cause)) ||
	    !(prm = dbg_params(&d, pos, cause)))
		goto done;
	a.d_pos = &prm->pos;
	a.n_heads = n_heads;
	a.n_kv = n_kv_heads;
	a.hd = head_dim;
	a.n_ctx = n_ctx;
	a.n_splits = n_splits;
	a.scale = (float)(1.0 / sqrt((double)head_dim));
	if (launch_attention(d.e, a, n_tok, cause) < 0 ||
	    dbg_download(&d, out, a.out, 4 * n_tok * qd, cause) < 0)
		goto done;
	rc = 0;
done:
	dbg_close(&d);
	return rc;
}

static int dbg_sample(int device, const float *logits, uint32_t n_vocab,
                      const struct backend_sample_params *sp, int32_t *token, char **cause)
{
	dbg d;
	cg_step_params h;
	float *dl;
	cg_step_params *prm;
	int32_t *dout;
	int rc = -1;

	if (!sp || n_vocab == 0)
		return set_cause(cause, "debug: sample arguments out of range");
	memset(&h, 0, sizeof h);
	h.temperature = sp->temperature;
	h.top_k = sp->top_k;
	h.top_p = sp->top_p;
	h.min_p = sp->min_p;
	h.seed_lo = (uint32_t)sp->seed;
	h.seed_hi = (uint32_t)(sp->seed >> 32);
	h.counter_lo = (uint32_t)sp->counter;
	h.counter_hi = (uint32_t)(sp->counter >> 32);
	if (dbg_open(&d, device, cause) < 0)
		goto done;
	if (!(dl = (float *)dbg_upload(&d, logits, 4ull * n_vocab, cause)) ||
	    !(prm = (cg_step_params *)dbg_upload(&d, &h, sizeof h, cause)) ||
	    !(dout = (int32_t *)dbg_alloc(&d, 16, cause)) ||
	    launch_sample(d.e, dl, n_vocab, prm, dout, cause) < 0 ||
	    dbg_download(&d, token, dout, sizeof(int32_t), cause) < 0)
		goto done;
	rc = 0;
done:
	dbg_close(&d);
	return rc;
}

static int dbg_ctx_graphs(struct backend_ctx *c, int set_on, const char **note)
{
	if (set_on == 0 || set_on == 1) {
		cudaSetDevice(c->w->device);
		cudaStreamSynchronize(c->env.stream);
		if (c->gexec)
			cudaGraphExecDestroy(c->gexec);
		c->gexec = nullptr;
		c->graph_state = 0;
		c->graphs_on = set_on == 1;
		cudaGetLastError();
	}
	if (note)
		*note = c->graph_note;
	return c->graphs_on ? c->graph_state : 0;
}

static const char *dbg_weight_format(const struct backend_weights *w, const char *name)
{
	for (uint32_t i = 0; i < w->n_formats; i++)
		if (strcmp(w->formats[i].name, name) == 0)
			return cg_fmt_name(w->formats[i].fmt);
	return nullptr;
}

static const struct cuda_debug_ops debug_ops = {
        dbg_dequant,   dbg_matmul, dbg_matvec_glu, dbg_rmsnorm,       dbg_rope_kv,
        dbg_attention, dbg_sample, dbg_ctx_graphs, dbg_weight_format,
};

/* Every field in declaration order (infer/backend.h). */
static const struct backend_ops cuda_ops = {
        "cuda",
        cuda_device_count,
        cuda_device_info,
        cuda_versions,
        cuda_weights_load,
        cuda_weights_free,
        cuda_weights_bytes,
        cuda_ctx_new,
        cuda_ctx_free,
        cuda_forward,
        cuda_ctx_bytes,
        cuda_sample,
        &debug_ops,
};

extern "C" const struct backend_ops *cuda_backend_get(void)
{
	return &cuda_ops;
}
