/*
 * quantize.h — f32 to the storage types duet reads, for writing model files
 * (duet mkmodel) and tests.
 *
 * F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 match gguf-py's numpy
 * quantize() bit for bit (tests/golden/test_golden_quant checks it against
 * fixtures that gguf-py wrote): the same float32 arithmetic in the same
 * order, round-half-away-from-zero where gguf-py uses np_roundf, truncation
 * where it uses np.trunc, the first index of the largest magnitude for the
 * Q4_0 / Q5_0 scale. That needs float arithmetic without fused multiply-add
 * contraction: GCC's -std=c11 (ISO mode) implies -ffp-contract=off.
 *
 * Q4_K, Q5_K and Q6_K have no reference quantiser in gguf-py; these are a
 * plain min/max (Q4_K, Q5_K) and max-magnitude (Q6_K) quantiser per
 * sub-block with 6-bit (8-bit for Q6_K) sub-block scales. They write valid
 * blocks that dequantise close to the input (good enough for random-weight
 * benchmark models), but not llama.cpp's iterative error-minimising choice
 * of scales: do not compare their bytes with llama.cpp's.
 *
 * All functions are pure and thread-safe.
 */
#ifndef DUET_INFER_QUANTIZE_H
#define DUET_INFER_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether quantize_row can write this GGUF type id. */
bool quantize_supported(uint32_t type);
/* Whether its output is gguf-py's, bit for bit (false for the K-quants). */
bool quantize_matches_gguf_py(uint32_t type);

/*
 * Quantise n_elems floats (a whole number of the type's blocks) into dst,
 * which receives exactly dtype_bytes(type, n_elems) bytes; dst may be
 * unaligned. Returns 0, or -1 when the type is not supported or n_elems is
 * not a whole number of blocks (nothing written).
 */
int quantize_row(uint32_t type, const float *src, void *dst, size_t n_elems);

#endif
