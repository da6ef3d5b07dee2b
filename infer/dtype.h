/*
 * dtype.h — tensor element types, numbered as GGUF (ggml) numbers them, their
 * block layouts and dequantisation to f32. Safetensors dtypes map onto the
 * same enum (F32, F16, BF16). Block layouts follow ggml's ggml-common.h; the
 * results are checked bit for bit against gguf-py's numpy dequantiser.
 */
#ifndef DUET_INFER_DTYPE_H
#define DUET_INFER_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dtype {
	DTYPE_F32 = 0,
	DTYPE_F16 = 1,
	DTYPE_Q4_0 = 2,
	DTYPE_Q4_1 = 3,
	DTYPE_Q5_0 = 6,
	DTYPE_Q5_1 = 7,
	DTYPE_Q8_0 = 8,
	DTYPE_Q8_1 = 9,
	DTYPE_Q2_K = 10,
	DTYPE_Q3_K = 11,
	DTYPE_Q4_K = 12,
	DTYPE_Q5_K = 13,
	DTYPE_Q6_K = 14,
	DTYPE_Q8_K = 15,
	DTYPE_BF16 = 30,
	DTYPE_COUNT_ = 40 /* bound for tables; GGUF ids >= this are unknown */
};

struct dtype_traits {
	const char *name;      /* "Q4_K", as gguf-py spells it */
	uint32_t block_elems;  /* elements per block (1 for plain floats) */
	uint32_t block_bytes;  /* bytes per block */
	bool supported;        /* duet can read (dequantise) it */
};

/* Traits of a GGUF type id, or NULL when the id is unknown to duet. */
const struct dtype_traits *dtype_traits(uint32_t type);
/* "Q4_K", or "type 23" style text for unknown ids (static buffer per thread). */
const char *dtype_name(uint32_t type);

/*
 * Bytes of n_elems elements of a type. Fails (returns -1) when the type is
 * unknown, n_elems is not a whole number of blocks, or the size overflows.
 */
int dtype_bytes(uint32_t type, uint64_t n_elems, uint64_t *bytes);

/*
 * Dequantise n_elems elements (a whole number of blocks) of a supported type
 * to f32. src may be unaligned. Thread-safe.
 */
void dtype_dequant(uint32_t type, const void *src, float *dst, size_t n_elems);

/* IEEE half and bfloat16 conversions (exact; NaN payloads preserved). */
float dtype_f16_to_f32(uint16_t h);
uint16_t dtype_f32_to_f16(float f);
float dtype_bf16_to_f32(uint16_t h);
uint16_t dtype_f32_to_bf16(float f); /* round to nearest even, as torch does */

#endif
