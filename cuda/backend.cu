/*
 * backend.cu — the CUDA backend. The only symbol with external linkage is
 * cuda_backend_get() (C linkage, declared in infer/backend.h); everything
 * else is static. Calls the CUDA runtime and cuBLAS; never curses or app/.
 *
 * This file starts with device discovery: whether a usable GPU is present,
 * and why not when it isn't (no driver, driver older than the runtime, no
 * device). Kernels and the forward pass arrive with the CUDA engine.
 */
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "infer/backend.h"

static int set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int set_cause(char **cause, const char *fmt, ...)
{
	if (!cause)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *s = nullptr;
	if (vasprintf(&s, fmt, ap) < 0)
		s = nullptr;
	va_end(ap);
	free(*cause);
	*cause = s;
	return -1;
}

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
		cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
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
	if (err != cudaSuccess)
		return set_cause(cause, "cuda:%d: %s", index, cudaGetErrorString(err));
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

static const struct backend_ops cuda_ops = {
	/* .name = */ "cuda",
	/* .device_count = */ cuda_device_count,
	/* .device_info = */ cuda_device_info,
	/* .versions = */ cuda_versions,
};

extern "C" const struct backend_ops *cuda_backend_get(void)
{
	return &cuda_ops;
}
