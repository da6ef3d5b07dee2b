/*
 * backend.h — the contract between the core and a compute backend (CPU, CUDA).
 * A backend is a table of function pointers; the CPU backend is always built
 * and is the reference the CUDA backend is checked against. cuda/ exports one
 * C-linkage function, cuda_backend_get(), declared here; everything else in
 * cuda/ is static. This header must not include CUDA headers.
 *
 * Lifetimes: a backend_weights is a model's weights prepared for the device
 * (repacked, uploaded); it borrows from the model_file, which must outlive
 * it, and may be shared read-only by several contexts. A backend_ctx is one
 * session's state (KV cache, activations, a stream); one thread at a time.
 */
#ifndef DUET_INFER_BACKEND_H
#define DUET_INFER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model_file;
struct backend_weights;
struct backend_ctx;

struct backend_params {
	int n_threads;       /* CPU worker threads; 0 = one per core */
	int device;          /* GPU index for cuda */
	uint64_t mem_limit;  /* bytes the backend may allocate on the device; 0 = no cap */
	/* Loading progress in [0, 1]; may be NULL. Called from the loading thread. */
	void (*progress)(float done, void *user);
	void *progress_user;
	/*
	 * cuda: 8 or 4 quantises float weights (F32/F16/BF16) at load to 8-bit
	 * or 4-bit blocks of 32 with f16 scales (the output projection stays at
	 * 8 bits under 4); 0 keeps them as stored. Already-quantised GGUF
	 * tensors are never re-quantised. The CPU backend ignores it.
	 */
	int quant_bits;
};

/*
 * Sampling done by the backend (ops->sample), same rules and order as
 * infer/sampler.h without the penalties: temperature 0 or top_k 1 is
 * greedy (argmax, ties to the lowest id, NaN never chosen); otherwise the
 * top_k most probable ids (capped at the backend's limit, 1024 for cuda;
 * top_k 0 means that limit), softmax at the temperature, min-p, top-p, one
 * draw. Random numbers come from Philox4x32-10 keyed by seed at counter:
 * the same seed, counter and logits give the same id.
 */
struct backend_sample_params {
	float temperature;
	int32_t top_k;
	float top_p;     /* 1 = off */
	float min_p;     /* 0 = off */
	uint64_t seed;
	uint64_t counter; /* the draw's index, e.g. tokens generated so far */
};

struct cuda_debug_ops;

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

	/* Prepare a model's weights. NULL with *cause when it cannot (memory, types). */
	struct backend_weights *(*weights_load)(const struct model_file *mf, const struct backend_params *p,
						char **cause);
	void (*weights_free)(struct backend_weights *w);
	/* Bytes the weights occupy on the device (host memory for the CPU backend's copies). */
	uint64_t (*weights_bytes)(const struct backend_weights *w);

	/* A session's state for up to n_ctx positions. */
	struct backend_ctx *(*ctx_new)(struct backend_weights *w, uint32_t n_ctx, char **cause);
	void (*ctx_free)(struct backend_ctx *c);
	/*
	 * Run tokens[0..n) at positions pos..pos+n-1 (pos = tokens already in the
	 * cache), appending their keys and values. logits receives n_vocab floats
	 * for the last token, or n * n_vocab (row-major by position) when
	 * all_logits. Fails when pos + n exceeds n_ctx.
	 */
	int (*forward)(struct backend_ctx *c, const int32_t *tokens, uint32_t n, uint32_t pos, float *logits,
		       bool all_logits, char **cause);
	/* Bytes of KV cache and activations this context holds. */
	uint64_t (*ctx_bytes)(const struct backend_ctx *c);

	/*
	 * Optional (NULL when the backend has none). Choose the next token from
	 * the logits of the last position the last forward call ran, kept on
	 * the device. When sample is not NULL, forward accepts logits == NULL
	 * (with all_logits false): the logits then stay on the device, and the
	 * call may return before the device has finished (a failure then
	 * surfaces from the next call). Returns 0, or -1 with *cause.
	 */
	int (*sample)(struct backend_ctx *c, const struct backend_sample_params *sp, int32_t *token, char **cause);
	/* cuda only: single operations for tests (cuda/cuda_debug.h); NULL elsewhere. */
	const struct cuda_debug_ops *cuda_debug;
};

#ifdef __cplusplus
extern "C" {
#endif
/* The CPU backend: always built, the reference. Never NULL. */
const struct backend_ops *cpu_backend_get(void);
/* Defined in cuda/backend.cu when built with CUDA (HAVE_CUDA). Never NULL. */
const struct backend_ops *cuda_backend_get(void);
#ifdef __cplusplus
}
#endif

#endif
