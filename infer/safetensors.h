/*
 * safetensors.h — a read-only, memory-mapped .safetensors file.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON (an object of
 * tensor name -> {"dtype", "shape", "data_offsets": [begin, end)} plus an
 * optional "__metadata__" object of string -> string), then the data section;
 * offsets are relative to the start of the data section (8 + N).
 *
 * st_open validates the whole header before returning: N against the file
 * size and the format's 100 MB cap, JSON syntax with duplicate keys refused,
 * dtypes (F32, F16, BF16; anything else is refused naming the tensor), at
 * most 4 non-negative dims whose element count times the element size,
 * computed without overflow, equals end - begin, offsets inside the data
 * section, and no two tensors overlapping.
 *
 * Alignment: the format does not align anything, and N is often not a
 * multiple of 8, so tensor data may start at any byte address. Readers must
 * use memcpy (or unaligned loads) on it, never cast it to float * or
 * uint16_t * and dereference. st_data_offset() tells where the section starts.
 *
 * A handle is immutable after open and safe to read from any thread. Tensors
 * and strings it hands out live until st_close.
 */
#ifndef DUET_INFER_SAFETENSORS_H
#define DUET_INFER_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "infer/tensor.h"

/* The format's own cap on the header (safetensors' MAX_HEADER_SIZE). */
#define ST_MAX_HEADER_BYTES 100000000ULL

struct st_file;

/* Open, map and validate. NULL on failure, *cause = "PATH: what is wrong". */
struct st_file *st_open(const char *path, char **cause);
/*
 * Validate a file image already in memory (st_open's parser; the fuzzing
 * entry point). data is borrowed and must outlive the handle; name is what
 * messages and st_path call it (copied).
 */
struct st_file *st_open_memory(const void *data, size_t size, const char *name, char **cause);
void st_close(struct st_file *st); /* NULL is a no-op */

const char *st_path(const struct st_file *st);
uint64_t st_file_size(const struct st_file *st);
uint64_t st_data_offset(const struct st_file *st); /* 8 + header length */

/*
 * Tensors in data-offset order (the order of the bytes in the file), under
 * their names in the file. ne is in GGUF order (the reversed shape; a
 * 0-dimensional tensor is reported as n_dims 1, ne[0] 1); type is an
 * enum dtype value; data may be unaligned (see above).
 */
size_t st_n_tensors(const struct st_file *st);
const struct tensor *st_tensor(const struct st_file *st, size_t i);
const struct tensor *st_find(const struct st_file *st, const char *name); /* NULL when absent */

/* A __metadata__ value, or NULL when absent. */
const char *st_metadata(const struct st_file *st, const char *key);

#endif
