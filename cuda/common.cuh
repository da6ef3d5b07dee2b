/*
 * common.cuh — error messages of the CUDA backend, shared by the files
 * cuda/backend.cu includes (one translation unit; everything static).
 * Every failing CUDA, cuBLAS or cuBLASLt call becomes -1 and a message that
 * names the call; the caller owns the message (backend.h's char **cause).
 */
#ifndef DUET_CUDA_COMMON_CUH
#define DUET_CUDA_COMMON_CUH

#include <cuda_runtime.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Always -1. A NULL cause discards the message. */
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

static void cause_prefix(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "PREFIX: old message"; a no-op without a message. */
static void cause_prefix(char **cause, const char *fmt, ...)
{
	if (!cause || !*cause)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *pre = nullptr, *s = nullptr;
	if (vasprintf(&pre, fmt, ap) < 0)
		pre = nullptr;
	va_end(ap);
	if (pre && asprintf(&s, "%s: %s", pre, *cause) >= 0) {
		free(*cause);
		*cause = s;
	}
	free(pre);
}

/*
 * "CUDA: CALL failed: NAME (text)". Clears the runtime's last error so that
 * a non-sticky failure does not poison the next call; a sticky one (an
 * illegal address in a kernel) keeps failing every later call, each with
 * its own message.
 */
static int cuda_fail(char **cause, cudaError_t err, const char *call)
{
	cudaGetLastError();
	return set_cause(cause, "CUDA: %s failed: %s (%s)", call, cudaGetErrorName(err),
	                 cudaGetErrorString(err));
}

/* Return -1 from the current function when a CUDA runtime call fails. */
#define CK(call)                                                                                             \
	do {                                                                                                 \
		cudaError_t ck_err_ = (call);                                                                \
		if (ck_err_ != cudaSuccess)                                                                  \
			return cuda_fail(cause, ck_err_, #call);                                             \
	} while (0)

/* After a kernel launch: a bad configuration shows up here, a fault in the kernel later. */
#define CK_LAUNCH(name)                                                                                      \
	do {                                                                                                 \
		cudaError_t ck_err_ = cudaGetLastError();                                                    \
		if (ck_err_ != cudaSuccess)                                                                  \
			return cuda_fail(cause, ck_err_, "launching " name);                                 \
	} while (0)

#endif
