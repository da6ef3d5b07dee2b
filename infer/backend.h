/*
 * backend.h — the contract between the core and a compute backend (CPU, CUDA).
 * A backend is a table of function pointers; the CPU backend is always built
 * and is the reference the CUDA backend is checked against. cuda/ exports one
 * C-linkage function, cuda_backend_get(), declared here; everything else in
 * cuda/ is static. This header must not include CUDA headers.
 *
 * Issue #2 lays down the device-discovery part; the forward-pass entry points
 * are added with the CPU engine.
 */
#ifndef DUET_INFER_BACKEND_H
#define DUET_INFER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct backend_device_info {
	char name[256];
	uint64_t total_mem;   /* bytes */
	uint64_t free_mem;    /* bytes */
	int cc_major, cc_minor; /* compute capability (0 for the CPU) */
	int multiprocessors;
};

struct backend_ops {
	const char *name; /* "cpu", "cuda" */
	/*
	 * Number of usable devices (>= 0), or -1 with *cause saying why none can
	 * be used (no driver, driver too old, no device). Thread-safe.
	 */
	int (*device_count)(char **cause);
	int (*device_info)(int index, struct backend_device_info *out, char **cause);
	/* Runtime and driver versions as text, for `duet info --devices`. */
	void (*versions)(char *buf, size_t size);
};

#ifdef __cplusplus
extern "C" {
#endif
/* Defined in cuda/backend.cu when built with CUDA (HAVE_CUDA). Never NULL. */
const struct backend_ops *cuda_backend_get(void);
#ifdef __cplusplus
}
#endif

#endif
