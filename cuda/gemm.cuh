/*
 * gemm.cuh — the prefill GEMM: Y = X W^T with bf16 operands on the tensor
 * cores through cuBLASLt, f32 accumulation and output, included once by
 * cuda/backend.cu; everything static. Algorithms come from cuBLASLt's
 * heuristic, cached per shape and alignment; when the heuristic has none,
 * cublasGemmEx (same types) runs instead.
 *
 * Shapes in cuBLAS's column-major terms: W is row-major rows x k, i.e.
 * column-major k x rows, used transposed (op T); X is row-major n x k, i.e.
 * column-major k x n (op N); Y is column-major rows x n with leading
 * dimension ldc, i.e. row-major n x ldc, so row t of the output holds token
 * t's outputs.
 */
#ifndef DUET_CUDA_GEMM_CUH
#define DUET_CUDA_GEMM_CUH

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdint.h>
#include <string.h>

#include "cuda/common.cuh"

struct gemm_algo {
	uint64_t m, n, k, ldc;
	uint32_t align[3]; /* A, B, C */
	int accumulate;
	bool have; /* false: the heuristic found none, use cublasGemmEx */
	cublasLtMatmulAlgo_t algo;
};

#define GEMM_CACHE 48

struct gemm_state {
	cublasLtHandle_t lt;
	cublasHandle_t blas;
	cudaStream_t stream;
	void *workspace;
	size_t workspace_bytes;
	gemm_algo cache[GEMM_CACHE];
	int n_cache, next;
};

static int blas_fail(char **cause, const char *call, cublasStatus_t st)
{
	return set_cause(cause, "CUDA: %s failed: %s", call, cublasGetStatusString(st));
}

/* 0, or -1 with *cause. The state is usable (or released by gemm_state_free) either way. */
static int gemm_state_init(gemm_state *g, cudaStream_t stream, void *workspace, size_t workspace_bytes,
                           char **cause)
{
	cublasStatus_t st;
	memset(g, 0, sizeof *g);
	g->stream = stream;
	g->workspace = workspace;
	g->workspace_bytes = workspace_bytes;
	if ((st = cublasLtCreate(&g->lt)) != CUBLAS_STATUS_SUCCESS) {
		g->lt = nullptr;
		return blas_fail(cause, "cublasLtCreate", st);
	}
	if ((st = cublasCreate(&g->blas)) != CUBLAS_STATUS_SUCCESS) {
		g->blas = nullptr;
		return blas_fail(cause, "cublasCreate", st);
	}
	if ((st = cublasSetStream(g->blas, stream)) != CUBLAS_STATUS_SUCCESS)
		return blas_fail(cause, "cublasSetStream", st);
	if ((st = cublasSetWorkspace(g->blas, workspace, workspace_bytes)) != CUBLAS_STATUS_SUCCESS)
		return blas_fail(cause, "cublasSetWorkspace", st);
	return 0;
}

static void gemm_state_free(gemm_state *g)
{
	if (g->blas)
		cublasDestroy(g->blas);
	if (g->lt)
		cublasLtDestroy(g->lt);
	g->blas = nullptr;
	g->lt = nullptr;
}

static uint32_t ptr_align(const void *p)
{
	uintptr_t v = (uintptr_t)p;
	uint32_t a = 256;
	while (a > 1 && v % a != 0)
		a >>= 1;
	return a;
}

/*
 * C (rows m, n tokens, ldc) = W (m x k, bf16) . X (n x k, bf16)^T, added to C
 * when accumulate. Enqueued on g->stream.
 */
static int gemm_bf16(gemm_state *g, const void *W, const void *X, float *C, uint64_t m, uint64_t n,
                     uint64_t k, uint64_t ldc, bool accumulate, char **cause)
{
	const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
	cublasLtMatmulDesc_t op = nullptr;
	cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
	cublasLtMatmulPreference_t pref = nullptr;
	cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
	uint32_t align[3] = {ptr_align(W), ptr_align(X), ptr_align(C)};
	gemm_algo *hit = nullptr;
	cublasStatus_t st;
	const char *call = "";
	int rc = -1;

#define LT(expr)                                                                                             \
	do {                                                                                                 \
		call = #expr;                                                                                \
		if ((st = (expr)) != CUBLAS_STATUS_SUCCESS)                                                  \
			goto fail;                                                                           \
	} while (0)

	LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
	LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
	LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
	LT(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, k, m, (int64_t)k));
	LT(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, k, n, (int64_t)k));
	LT(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, (int64_t)ldc));

	for (int i = 0; i < g->n_cache; i++) {
		gemm_algo *e = &g->cache[i];
		if (e->m == m && e->n == n && e->k == k && e->ldc == ldc &&
		    e->accumulate == (int)accumulate && memcmp(e->align, align, sizeof align) == 0) {
			hit = e;
			break;
		}
	}
	if (!hit) {
		cublasLtMatmulHeuristicResult_t res;
		int n_res = 0;
		uint64_t ws = g->workspace_bytes;
		memset(&res, 0, sizeof res);
		LT(cublasLtMatmulPreferenceCreate(&pref));
		LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
		                                        sizeof ws));
		LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
		                                        &align[0], sizeof align[0]));
		LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
		                                        &align[1], sizeof align[1]));
		LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
		                                        &align[2], sizeof align[2]));
		LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
		                                        &align[2], sizeof align[2]));
		st = cublasLtMatmulAlgoGetHeuristic(g->lt, op, la, lb, lc, lc, pref, 1, &res, &n_res);
		hit = &g->cache[g->n_cache < GEMM_CACHE ? g->n_cache++ : (g->next++ % GEMM_CACHE)];
		hit->m = m;
		hit->n = n;
		hit->k = k;
		hit->ldc = ldc;
		hit->accumulate = accumulate;
		memcpy(hit->align, align, sizeof align);
		hit->have = st == CUBLAS_STATUS_SUCCESS && n_res > 0 && res.state == CUBLAS_STATUS_SUCCESS;
		if (hit->have)
			hit->algo = res.algo;
	}
	if (hit->have) {
		LT(cublasLtMatmul(g->lt, op, &alpha, W, la, X, lb, &beta, C, lc, C, lc, &hit->algo,
		                  g->workspace, g->workspace_bytes, g->stream));
	} else {
		if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || ldc > INT32_MAX) {
			set_cause(cause, "CUDA: GEMM of %llu x %llu x %llu is too large for cublasGemmEx",
			          (unsigned long long)m, (unsigned long long)n, (unsigned long long)k);
			goto out;
		}
		LT(cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)n, (int)k, &alpha, W,
		                CUDA_R_16BF, (int)k, X, CUDA_R_16BF, (int)k, &beta, C, CUDA_R_32F, (int)ldc,
		                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	}
	rc = 0;
	goto out;
#undef LT
fail:
	blas_fail(cause, call, st);
out:
	if (pref)
		cublasLtMatmulPreferenceDestroy(pref);
	if (lc)
		cublasLtMatrixLayoutDestroy(lc);
	if (lb)
		cublasLtMatrixLayoutDestroy(lb);
	if (la)
		cublasLtMatrixLayoutDestroy(la);
	if (op)
		cublasLtMatmulDescDestroy(op);
	return rc;
}

#endif
