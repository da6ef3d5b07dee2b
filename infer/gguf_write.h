/*
 * gguf_write.h — a small GGUF writer (version 3 by default): metadata of every
 * kind, tensors from memory or from a fill callback, laid out with the
 * alignment and written atomically to a path (temp file + rename) or
 * serialised into memory. Its output for the same content matches gguf-py's
 * GGUFWriter byte for byte (tests/unit/test_gguf checks it).
 *
 * The add functions never fail on the spot: the first problem (a bad tensor
 * shape, a duplicate key) is remembered and reported by gguf_writer_write /
 * gguf_writer_serialize, so a caller adds everything and checks once.
 *
 * Tests that need malformed files serialise a valid one and patch bytes at
 * the positions the *_pos functions report; gguf_writer_set_unchecked lets
 * duplicate keys and names and a free-form general.alignment through.
 *
 * A writer is not thread-safe. Tensor data handed to gguf_writer_add_tensor
 * is borrowed until the write.
 */
#ifndef DUET_INFER_GGUF_WRITE_H
#define DUET_INFER_GGUF_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/gguf.h"

struct buf;
struct gguf_writer;

struct gguf_writer *gguf_writer_new(void);
void gguf_writer_free(struct gguf_writer *w); /* NULL is a no-op */

/* 2 or 3 (the layouts are identical; 3 is what current tools write). */
void gguf_writer_set_version(struct gguf_writer *w, uint32_t version);
/* A power of two; adds or updates the general.alignment (uint32) pair. Default 32, no pair. */
void gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment);
/* For tests: accept duplicate keys and tensor names; general.alignment is then a plain pair. */
void gguf_writer_set_unchecked(struct gguf_writer *w);

/*
 * Metadata, written in the order added. Keys are NUL-terminated. Adding
 * "general.alignment" as a uint32 is the same as gguf_writer_set_alignment.
 */
void gguf_writer_add_u8(struct gguf_writer *w, const char *key, uint8_t v);
void gguf_writer_add_i8(struct gguf_writer *w, const char *key, int8_t v);
void gguf_writer_add_u16(struct gguf_writer *w, const char *key, uint16_t v);
void gguf_writer_add_i16(struct gguf_writer *w, const char *key, int16_t v);
void gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v);
void gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_add_i64(struct gguf_writer *w, const char *key, int64_t v);
void gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v);
void gguf_writer_add_f64(struct gguf_writer *w, const char *key, double v);
void gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v);
void gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *v);
void gguf_writer_add_strn(struct gguf_writer *w, const char *key, const char *v, size_t len);
/* n numeric elements of elem_type, in host byte order (converted on write). */
void gguf_writer_add_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type, const void *elems,
			 size_t n);
void gguf_writer_add_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, size_t n);

/*
 * A tensor: type is a GGUF type id dtype_traits knows (supported or not),
 * ne fastest-varying first, ne[0] a whole number of blocks. data holds
 * exactly the tensor's bytes in file order and must stay valid until the
 * write; NULL writes zeros.
 */
void gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
			    const uint64_t *ne, const void *data);
/*
 * The same with data produced at write time, for tensors too large to hold:
 * fill(ctx, offset, dst, n, cause) writes bytes [offset, offset + n) of the
 * tensor into dst; chunks are whole blocks of at most about 1 MiB. Returns 0,
 * or -1 with *cause to abandon the write.
 */
void gguf_writer_add_tensor_fill(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
				 const uint64_t *ne,
				 int (*fill)(void *ctx, uint64_t offset, void *dst, size_t n, char **cause),
				 void *ctx);

/* Write to path atomically (a temp file beside it, then rename). 0 or -1 with *cause. */
int gguf_writer_write(struct gguf_writer *w, const char *path, char **cause);
/* Append the whole file to out. 0 or -1 with *cause. */
int gguf_writer_serialize(struct gguf_writer *w, struct buf *out, char **cause);

/*
 * Layout of what would be written, as byte offsets in the file. A pair i
 * starts with its key's u64 length; gguf_writer_kv_value_pos is just past
 * its u32 value type. A tensor info starts with its name's u64 length, then
 * the name, u32 n_dims, n_dims × u64 ne, u32 type, u64 offset.
 */
size_t gguf_writer_n_kv(const struct gguf_writer *w);
size_t gguf_writer_n_tensors(const struct gguf_writer *w);
uint64_t gguf_writer_kv_pos(const struct gguf_writer *w, size_t i);
uint64_t gguf_writer_kv_value_pos(const struct gguf_writer *w, size_t i);
uint64_t gguf_writer_tensor_pos(const struct gguf_writer *w, size_t i);
uint64_t gguf_writer_tensor_type_pos(const struct gguf_writer *w, size_t i);   /* its u32 type */
uint64_t gguf_writer_tensor_offset_pos(const struct gguf_writer *w, size_t i); /* its u64 offset */
uint64_t gguf_writer_data_pos(const struct gguf_writer *w);                    /* data section */
uint64_t gguf_writer_tensor_data_pos(const struct gguf_writer *w, size_t i);   /* absolute */
uint64_t gguf_writer_file_size(const struct gguf_writer *w);

#endif
