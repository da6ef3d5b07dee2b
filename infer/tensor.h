/*
 * tensor.h — a weight tensor as the model file holds it. Dimensions are listed
 * fastest-varying first (GGUF order): a PyTorch [out, in] weight has
 * ne = {in, out}. The data points into the file's read-only mapping and lives
 * as long as the model file that handed it out.
 */
#ifndef DUET_INFER_TENSOR_H
#define DUET_INFER_TENSOR_H

#include <stdint.h>

#define TENSOR_MAX_DIMS 4

struct tensor {
	const char *name;           /* NUL-terminated, owned by the file object */
	uint32_t type;              /* enum dtype */
	uint32_t n_dims;            /* 1..TENSOR_MAX_DIMS */
	uint64_t ne[TENSOR_MAX_DIMS]; /* unused dims are 1 */
	const void *data;           /* read-only, in the mapping */
	uint64_t n_bytes;           /* exactly what ne and type require */
	uint64_t file_offset;       /* absolute offset in its file, for messages */
};

static inline uint64_t tensor_n_elems(const struct tensor *t)
{
	return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; /* checked at load */
}

#endif
