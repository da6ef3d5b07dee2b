/*
 * gguf.h — a read-only, memory-mapped GGUF file (versions 2 and 3).
 *
 * gguf_open validates the whole header before returning: every count, string
 * length, array length, dimension and offset is checked against the file size
 * with overflow-safe arithmetic, so a returned handle is safe to walk. Strings
 * are borrowed from the mapping (not NUL-terminated) and live as long as the
 * handle. Tensor names are copied (NUL-terminated) and also live as long as
 * the handle. A handle is immutable after open: safe to read from any thread.
 */
#ifndef DUET_INFER_GGUF_H
#define DUET_INFER_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/tensor.h"

enum gguf_vtype {
	GGUF_TYPE_UINT8 = 0,
	GGUF_TYPE_INT8 = 1,
	GGUF_TYPE_UINT16 = 2,
	GGUF_TYPE_INT16 = 3,
	GGUF_TYPE_UINT32 = 4,
	GGUF_TYPE_INT32 = 5,
	GGUF_TYPE_FLOAT32 = 6,
	GGUF_TYPE_BOOL = 7,
	GGUF_TYPE_STRING = 8,
	GGUF_TYPE_ARRAY = 9,
	GGUF_TYPE_UINT64 = 10,
	GGUF_TYPE_INT64 = 11,
	GGUF_TYPE_FLOAT64 = 12,
	GGUF_TYPE_COUNT_
};

/* A string in the mapping: ptr[0..len), not NUL-terminated. */
struct gguf_str {
	const char *ptr;
	uint64_t len;
};

struct gguf;

/* Limits beyond the format's own, so hostile counts cannot exhaust memory. */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_TENSOR_NAME 256       /* bytes, as ggml-derived tools keep them short */
#define GGUF_MAX_KV (1u << 16)         /* metadata pairs; real files have < 100 */
#define GGUF_MAX_TENSORS (1u << 20)
#define GGUF_MAX_STR_ARRAY (1u << 24)  /* elements of one string array (vocabularies ~256k) */

/* Open and validate. NULL on failure, *cause = "PATH: what is wrong (where)". */
struct gguf *gguf_open(const char *path, char **cause);
/*
 * The same over bytes already in memory (fuzzing, tests). The handle borrows
 * data, which must stay unchanged until gguf_close; name is used in messages.
 */
struct gguf *gguf_open_memory(const void *data, size_t size, const char *name, char **cause);
void gguf_close(struct gguf *g); /* NULL is a no-op */

const char *gguf_path(const struct gguf *g);
uint32_t gguf_version(const struct gguf *g);
uint64_t gguf_file_size(const struct gguf *g);
uint64_t gguf_alignment(const struct gguf *g);
uint64_t gguf_data_offset(const struct gguf *g); /* start of the tensor data section */

/* Metadata: key/value pairs, indices 0..gguf_n_kv()-1, in file order. */
uint64_t gguf_n_kv(const struct gguf *g);
int64_t gguf_find_key(const struct gguf *g, const char *key); /* -1 when absent */
struct gguf_str gguf_kv_key(const struct gguf *g, uint64_t i);
enum gguf_vtype gguf_kv_type(const struct gguf *g, uint64_t i);
/* For arrays: the element type and count (0 and GGUF_TYPE_COUNT_ for non-arrays). */
enum gguf_vtype gguf_arr_type(const struct gguf *g, uint64_t i);
uint64_t gguf_arr_len(const struct gguf *g, uint64_t i);
/* Numeric array elements, packed little-endian in the mapping (may be unaligned; use memcpy). */
const void *gguf_arr_data(const struct gguf *g, uint64_t i);
/* String array elements; the table is built at open, so access is O(1). */
struct gguf_str gguf_arr_str(const struct gguf *g, uint64_t i, uint64_t idx);
/* Scalar value bytes (may be unaligned) for non-string, non-array kinds. */
const void *gguf_kv_scalar(const struct gguf *g, uint64_t i);
struct gguf_str gguf_kv_str(const struct gguf *g, uint64_t i); /* GGUF_TYPE_STRING only */

/*
 * Typed look-ups by key: return 1 and set *out when present, 0 when absent,
 * -1 (with *cause naming the file and key) when present with a type that
 * cannot convert exactly (e.g. a string where a number is expected, a
 * negative value for an unsigned field, a value out of range).
 */
int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, char **cause);
int gguf_get_i32(const struct gguf *g, const char *key, int32_t *out, char **cause);
int gguf_get_f32(const struct gguf *g, const char *key, float *out, char **cause);
int gguf_get_bool(const struct gguf *g, const char *key, bool *out, char **cause);
int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out, char **cause);

/* Tensors, in file order. Every tensor's data lies inside the file, aligned. */
uint64_t gguf_n_tensors(const struct gguf *g);
const struct tensor *gguf_tensor(const struct gguf *g, uint64_t i);
const struct tensor *gguf_find_tensor(const struct gguf *g, const char *name); /* NULL when absent */

/* "uint32", "string", "array", ... (for messages and `duet info`); "?" out of range. */
const char *gguf_type_name(enum gguf_vtype t);

/*
 * A readable rendering of a value for `duet info`: numbers as text, strings
 * quoted with control bytes escaped, arrays as "[a, b, ...] (N x type)".
 * At most max_chars bytes (cut with "..."); 0 means no cap, though arrays
 * still show only their first elements. Caller frees.
 */
char *gguf_kv_describe(const struct gguf *g, uint64_t i, size_t max_chars);

#endif
