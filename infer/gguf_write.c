/*
 * gguf_write.c — the GGUF writer (see gguf_write.h). Metadata is encoded into
 * one byte buffer as it is added; tensor infos and data are laid out at write
 * time: infos after the metadata, zeros up to the next multiple of the
 * alignment (even without tensors), then each tensor's data padded with zeros
 * to the alignment — what gguf-py's GGUFWriter writes. Everything is encoded little-endian byte by
 * byte, whatever the host. Calls util and dtype only.
 */
#include "config.h"

#include "infer/gguf_write.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/util.h"

#define FILL_CHUNK_BYTES (1u << 20)

struct wtensor {
	char *name;
	uint32_t type;
	uint32_t n_dims;
	uint64_t ne[TENSOR_MAX_DIMS];
	uint64_t n_bytes;
	const void *data;
	int (*fill)(void *ctx, uint64_t offset, void *dst, size_t n, char **cause);
	void *ctx;
	uint32_t block_bytes; /* fill chunks are multiples of this */
};

struct gguf_writer {
	uint32_t version;
	uint32_t alignment;
	bool unchecked;
	char *error; /* the first problem, reported at write time */

	struct buf kv;       /* encoded pairs, in order */
	size_t *kv_offsets;  /* where each pair starts in kv */
	size_t n_kv;
	int64_t alignment_kv; /* index of the general.alignment pair, -1 */

	struct wtensor *tensors;
	size_t n_tensors;
};

struct gguf_writer *gguf_writer_new(void)
{
	struct gguf_writer *w = xcalloc(1, sizeof *w);
	w->version = 3;
	w->alignment = GGUF_DEFAULT_ALIGNMENT;
	w->alignment_kv = -1;
	return w;
}

void gguf_writer_free(struct gguf_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_tensors; i++)
		free(w->tensors[i].name);
	free(w->tensors);
	free(w->kv_offsets);
	buf_free(&w->kv);
	free(w->error);
	free(w);
}

DUET_PRINTF(2, 3) static void writer_fail(struct gguf_writer *w, const char *fmt, ...)
{
	va_list ap;
	if (w->error)
		return;
	va_start(ap, fmt);
	error_vset(&w->error, fmt, ap);
	va_end(ap);
}

void gguf_writer_set_version(struct gguf_writer *w, uint32_t version)
{
	if (version != 2 && version != 3)
		writer_fail(w, "GGUF version %u cannot be written (2 or 3)", version);
	w->version = version;
}

void gguf_writer_set_unchecked(struct gguf_writer *w)
{
	w->unchecked = true;
}

/* --- encoding -------------------------------------------------------------- */

static void put_le(struct buf *b, uint64_t v, unsigned n)
{
	uint8_t bytes[8];
	for (unsigned i = 0; i < n; i++)
		bytes[i] = (uint8_t)(v >> (8 * i));
	buf_append(b, bytes, n);
}

static void put_str(struct buf *b, const char *s, size_t len)
{
	put_le(b, len, 8);
	buf_append(b, s, len);
}

static const unsigned elem_size[GGUF_TYPE_COUNT_] = {
	[GGUF_TYPE_UINT8] = 1,  [GGUF_TYPE_INT8] = 1,  [GGUF_TYPE_UINT16] = 2,  [GGUF_TYPE_INT16] = 2,
	[GGUF_TYPE_UINT32] = 4, [GGUF_TYPE_INT32] = 4, [GGUF_TYPE_FLOAT32] = 4, [GGUF_TYPE_BOOL] = 1,
	[GGUF_TYPE_UINT64] = 8, [GGUF_TYPE_INT64] = 8, [GGUF_TYPE_FLOAT64] = 8,
};

/* One host-order element of a numeric kind, as its bits. */
static uint64_t host_bits(const void *p, unsigned size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1: memcpy(&u8, p, 1); return u8;
	case 2: memcpy(&u16, p, 2); return u16;
	case 4: memcpy(&u32, p, 4); return u32;
	default: memcpy(&u64, p, 8); return u64;
	}
}

/* Starts pair i: checks the key and writes it and the value type. */
static bool kv_begin(struct gguf_writer *w, const char *key, enum gguf_vtype type)
{
	size_t len = strlen(key);

	if (len == 0) {
		writer_fail(w, "empty metadata key");
		return false;
	}
	if (!w->unchecked) {
		for (size_t i = 0; i < w->n_kv; i++) {
			const char *k = w->kv.data + w->kv_offsets[i] + 8;
			uint64_t klen = 0;
			for (unsigned j = 0; j < 8; j++)
				klen |= (uint64_t)(uint8_t)w->kv.data[w->kv_offsets[i] + j] << (8 * j);
			if (klen == len && memcmp(k, key, len) == 0) {
				writer_fail(w, "metadata key '%s' added twice", key);
				return false;
			}
		}
	}
	w->kv_offsets = xreallocarray(w->kv_offsets, w->n_kv + 1, sizeof *w->kv_offsets);
	w->kv_offsets[w->n_kv++] = w->kv.len;
	put_str(&w->kv, key, len);
	put_le(&w->kv, (uint64_t)type, 4);
	return true;
}

static void add_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype type, uint64_t bits)
{
	if (!w->unchecked && strcmp(key, "general.alignment") == 0) {
		if (type != GGUF_TYPE_UINT32) {
			writer_fail(w, "general.alignment must be a uint32, not a %s", gguf_type_name(type));
			return;
		}
		gguf_writer_set_alignment(w, (uint32_t)bits);
		return;
	}
	if (kv_begin(w, key, type))
		put_le(&w->kv, bits, elem_size[type]);
}

void gguf_writer_set_alignment(struct gguf_writer *w, uint32_t alignment)
{
	if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
		writer_fail(w, "alignment %u is not a power of two", alignment);
		return;
	}
	w->alignment = alignment;
	if (w->alignment_kv >= 0) {
		/* Update the value in place: key length, key, type, then the u32. */
		size_t at = w->kv_offsets[w->alignment_kv] + 8 + strlen("general.alignment") + 4;
		for (unsigned j = 0; j < 4; j++)
			w->kv.data[at + j] = (char)(uint8_t)(alignment >> (8 * j));
		return;
	}
	if (kv_begin(w, "general.alignment", GGUF_TYPE_UINT32)) {
		w->alignment_kv = (int64_t)w->n_kv - 1;
		put_le(&w->kv, alignment, 4);
	}
}

void gguf_writer_add_u8(struct gguf_writer *w, const char *key, uint8_t v)
{
	add_scalar(w, key, GGUF_TYPE_UINT8, v);
}

void gguf_writer_add_i8(struct gguf_writer *w, const char *key, int8_t v)
{
	add_scalar(w, key, GGUF_TYPE_INT8, (uint8_t)v);
}

void gguf_writer_add_u16(struct gguf_writer *w, const char *key, uint16_t v)
{
	add_scalar(w, key, GGUF_TYPE_UINT16, v);
}

void gguf_writer_add_i16(struct gguf_writer *w, const char *key, int16_t v)
{
	add_scalar(w, key, GGUF_TYPE_INT16, (uint16_t)v);
}

void gguf_writer_add_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
	add_scalar(w, key, GGUF_TYPE_UINT32, v);
}

void gguf_writer_add_i32(struct gguf_writer *w, const char *key, int32_t v)
{
	add_scalar(w, key, GGUF_TYPE_INT32, (uint32_t)v);
}

void gguf_writer_add_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
	add_scalar(w, key, GGUF_TYPE_UINT64, v);
}

void gguf_writer_add_i64(struct gguf_writer *w, const char *key, int64_t v)
{
	add_scalar(w, key, GGUF_TYPE_INT64, (uint64_t)v);
}

void gguf_writer_add_f32(struct gguf_writer *w, const char *key, float v)
{
	add_scalar(w, key, GGUF_TYPE_FLOAT32, host_bits(&v, 4));
}

void gguf_writer_add_f64(struct gguf_writer *w, const char *key, double v)
{
	add_scalar(w, key, GGUF_TYPE_FLOAT64, host_bits(&v, 8));
}

void gguf_writer_add_bool(struct gguf_writer *w, const char *key, bool v)
{
	add_scalar(w, key, GGUF_TYPE_BOOL, v ? 1 : 0);
}

void gguf_writer_add_strn(struct gguf_writer *w, const char *key, const char *v, size_t len)
{
	if (!w->unchecked && strcmp(key, "general.alignment") == 0) {
		writer_fail(w, "general.alignment must be a uint32, not a string");
		return;
	}
	if (kv_begin(w, key, GGUF_TYPE_STRING))
		put_str(&w->kv, v, len);
}

void gguf_writer_add_str(struct gguf_writer *w, const char *key, const char *v)
{
	gguf_writer_add_strn(w, key, v, strlen(v));
}

void gguf_writer_add_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type, const void *elems,
			 size_t n)
{
	unsigned size;

	if ((unsigned)elem_type >= GGUF_TYPE_COUNT_ || elem_size[elem_type] == 0) {
		writer_fail(w, "metadata '%s': gguf_writer_add_arr takes numeric elements, not %s", key,
			    gguf_type_name(elem_type));
		return;
	}
	if (!w->unchecked && strcmp(key, "general.alignment") == 0) {
		writer_fail(w, "general.alignment must be a uint32, not an array");
		return;
	}
	if (!kv_begin(w, key, GGUF_TYPE_ARRAY))
		return;
	size = elem_size[elem_type];
	put_le(&w->kv, (uint64_t)elem_type, 4);
	put_le(&w->kv, n, 8);
	for (size_t i = 0; i < n; i++)
		put_le(&w->kv, host_bits((const char *)elems + i * size, size), size);
}

void gguf_writer_add_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, size_t n)
{
	if (!w->unchecked && strcmp(key, "general.alignment") == 0) {
		writer_fail(w, "general.alignment must be a uint32, not an array");
		return;
	}
	if (!kv_begin(w, key, GGUF_TYPE_ARRAY))
		return;
	put_le(&w->kv, GGUF_TYPE_STRING, 4);
	put_le(&w->kv, n, 8);
	for (size_t i = 0; i < n; i++)
		put_str(&w->kv, strs[i], strlen(strs[i]));
}

/* --- tensors --------------------------------------------------------------- */

static struct wtensor *tensor_add(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
				  const uint64_t *ne)
{
	const struct dtype_traits *tr = dtype_traits(type);
	size_t len = strlen(name);
	uint64_t n_elems = 1;
	struct wtensor *t;

	if (len == 0 || len > GGUF_MAX_TENSOR_NAME) {
		writer_fail(w, "tensor name '%s' must be 1..%d bytes", name, GGUF_MAX_TENSOR_NAME);
		return NULL;
	}
	if (!tr || tr->block_elems == 0) {
		writer_fail(w, "tensor '%s': unknown type id %u", name, type);
		return NULL;
	}
	if (n_dims == 0 || n_dims > TENSOR_MAX_DIMS) {
		writer_fail(w, "tensor '%s': n_dims %u is out of range (1..%d)", name, n_dims, TENSOR_MAX_DIMS);
		return NULL;
	}
	for (uint32_t d = 0; d < n_dims; d++) {
		if (ne[d] == 0 || !u64_mul(n_elems, ne[d], &n_elems) || n_elems > INT64_MAX) {
			writer_fail(w, "tensor '%s': dimension %u (%llu) is zero or overflows", name, d,
				    (unsigned long long)ne[d]);
			return NULL;
		}
	}
	if (ne[0] % tr->block_elems != 0) {
		writer_fail(w, "tensor '%s': first dimension %llu is not a multiple of the %s block size (%u)", name,
			    (unsigned long long)ne[0], tr->name, tr->block_elems);
		return NULL;
	}
	if (!w->unchecked)
		for (size_t i = 0; i < w->n_tensors; i++)
			if (strcmp(w->tensors[i].name, name) == 0) {
				writer_fail(w, "tensor '%s' added twice", name);
				return NULL;
			}

	w->tensors = xreallocarray(w->tensors, w->n_tensors + 1, sizeof *w->tensors);
	t = &w->tensors[w->n_tensors++];
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	t->type = type;
	t->n_dims = n_dims;
	for (uint32_t d = 0; d < TENSOR_MAX_DIMS; d++)
		t->ne[d] = d < n_dims ? ne[d] : 1;
	t->n_bytes = n_elems / tr->block_elems * tr->block_bytes;
	t->block_bytes = tr->block_bytes;
	return t;
}

void gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
			    const uint64_t *ne, const void *data)
{
	struct wtensor *t = tensor_add(w, name, type, n_dims, ne);
	if (t)
		t->data = data;
}

void gguf_writer_add_tensor_fill(struct gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
				 const uint64_t *ne,
				 int (*fill)(void *ctx, uint64_t offset, void *dst, size_t n, char **cause),
				 void *ctx)
{
	struct wtensor *t = tensor_add(w, name, type, n_dims, ne);
	if (t) {
		t->fill = fill;
		t->ctx = ctx;
	}
}

/* --- layout ---------------------------------------------------------------- */

static uint64_t pad_to(uint64_t n, uint64_t align)
{
	return (n + align - 1) / align * align;
}

size_t gguf_writer_n_kv(const struct gguf_writer *w)
{
	return w->n_kv;
}

size_t gguf_writer_n_tensors(const struct gguf_writer *w)
{
	return w->n_tensors;
}

uint64_t gguf_writer_kv_pos(const struct gguf_writer *w, size_t i)
{
	assert(i < w->n_kv);
	return 24 + w->kv_offsets[i];
}

uint64_t gguf_writer_kv_value_pos(const struct gguf_writer *w, size_t i)
{
	uint64_t at = gguf_writer_kv_pos(w, i), klen = 0;
	for (unsigned j = 0; j < 8; j++)
		klen |= (uint64_t)(uint8_t)w->kv.data[w->kv_offsets[i] + j] << (8 * j);
	return at + 8 + klen + 4;
}

static uint64_t tensor_info_bytes(const struct wtensor *t)
{
	return 8 + strlen(t->name) + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
}

uint64_t gguf_writer_tensor_pos(const struct gguf_writer *w, size_t i)
{
	uint64_t at = 24 + w->kv.len;
	assert(i < w->n_tensors);
	for (size_t j = 0; j < i; j++)
		at += tensor_info_bytes(&w->tensors[j]);
	return at;
}

uint64_t gguf_writer_tensor_type_pos(const struct gguf_writer *w, size_t i)
{
	return gguf_writer_tensor_pos(w, i) + tensor_info_bytes(&w->tensors[i]) - 12;
}

uint64_t gguf_writer_tensor_offset_pos(const struct gguf_writer *w, size_t i)
{
	return gguf_writer_tensor_pos(w, i) + tensor_info_bytes(&w->tensors[i]) - 8;
}

uint64_t gguf_writer_data_pos(const struct gguf_writer *w)
{
	uint64_t at = 24 + w->kv.len;
	for (size_t j = 0; j < w->n_tensors; j++)
		at += tensor_info_bytes(&w->tensors[j]);
	return pad_to(at, w->alignment);
}

/* Offset of tensor i relative to the data section. */
static uint64_t tensor_rel_offset(const struct gguf_writer *w, size_t i)
{
	uint64_t off = 0;
	for (size_t j = 0; j < i; j++)
		off += pad_to(w->tensors[j].n_bytes, w->alignment);
	return off;
}

uint64_t gguf_writer_tensor_data_pos(const struct gguf_writer *w, size_t i)
{
	assert(i < w->n_tensors);
	return gguf_writer_data_pos(w) + tensor_rel_offset(w, i);
}

uint64_t gguf_writer_file_size(const struct gguf_writer *w)
{
	return gguf_writer_data_pos(w) + tensor_rel_offset(w, w->n_tensors);
}

/* --- output ---------------------------------------------------------------- */

/* Where bytes go: a memory buffer or a stdio stream. */
struct sink {
	struct buf *mem;
	FILE *f;
	const char *name;
	char **cause;
};

static int sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->mem) {
		buf_append(s->mem, p, n);
		return 0;
	}
	if (n && fwrite(p, 1, n, s->f) != n)
		return error_set(s->cause, "%s: write failed: %s", s->name, strerror(errno));
	return 0;
}

static int sink_zeros(struct sink *s, uint64_t n)
{
	static const uint8_t zeros[4096];
	while (n > 0) {
		size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
		if (sink_put(s, zeros, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static int put_tensor_data(struct sink *s, const struct wtensor *t)
{
	if (t->data)
		return sink_put(s, t->data, (size_t)t->n_bytes);
	if (!t->fill)
		return sink_zeros(s, t->n_bytes);

	size_t chunk = FILL_CHUNK_BYTES / t->block_bytes * t->block_bytes;
	if (chunk == 0)
		chunk = t->block_bytes;
	uint8_t *tmp = xmalloc(chunk);
	for (uint64_t off = 0; off < t->n_bytes; off += chunk) {
		size_t n = t->n_bytes - off < chunk ? (size_t)(t->n_bytes - off) : chunk;
		if (t->fill(t->ctx, off, tmp, n, s->cause) < 0) {
			error_prefix(s->cause, "%s: tensor '%s'", s->name, t->name);
			free(tmp);
			return -1;
		}
		if (sink_put(s, tmp, n) < 0) {
			free(tmp);
			return -1;
		}
	}
	free(tmp);
	return 0;
}

static int emit(struct gguf_writer *w, struct sink *s)
{
	struct buf head = {0};
	uint64_t rel = 0;
	int rc = -1;

	if (w->error)
		return error_set(s->cause, "%s: %s", s->name, w->error);
	if (sizeof(size_t) < 8)
		for (size_t i = 0; i < w->n_tensors; i++)
			if (w->tensors[i].n_bytes > SIZE_MAX)
				return error_set(s->cause, "%s: tensor '%s' is too large for this machine", s->name,
						 w->tensors[i].name);

	buf_append(&head, "GGUF", 4);
	put_le(&head, w->version, 4);
	put_le(&head, w->n_tensors, 8);
	put_le(&head, w->n_kv, 8);
	buf_append(&head, w->kv.data, w->kv.len);
	for (size_t i = 0; i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];
		put_str(&head, t->name, strlen(t->name));
		put_le(&head, t->n_dims, 4);
		for (uint32_t d = 0; d < t->n_dims; d++)
			put_le(&head, t->ne[d], 8);
		put_le(&head, t->type, 4);
		put_le(&head, rel, 8);
		rel += pad_to(t->n_bytes, w->alignment);
	}
	if (sink_put(s, head.data, head.len) < 0)
		goto out;
	if (sink_zeros(s, pad_to(head.len, w->alignment) - head.len) < 0)
		goto out;
	for (size_t i = 0; i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];
		if (put_tensor_data(s, t) < 0 || sink_zeros(s, pad_to(t->n_bytes, w->alignment) - t->n_bytes) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_free(&head);
	return rc;
}

int gguf_writer_serialize(struct gguf_writer *w, struct buf *out, char **cause)
{
	struct sink s = {.mem = out, .name = "gguf writer", .cause = cause};
	size_t start = out->len;

	if (emit(w, &s) < 0) {
		out->len = start;
		return -1;
	}
	return 0;
}

int gguf_writer_write(struct gguf_writer *w, const char *path, char **cause)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	struct sink s = {.name = path, .cause = cause};
	int fd = mkstemp(tmp);

	if (fd < 0) {
		error_set(cause, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	s.f = fdopen(fd, "wb");
	if (!s.f) {
		error_set(cause, "%s: %s", path, strerror(errno));
		close(fd);
		goto fail;
	}
	if (emit(w, &s) < 0)
		goto fail;
	/* mkstemp creates 0600; a model file is as readable as any other. */
	if (fflush(s.f) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		error_set(cause, "%s: write failed: %s", path, strerror(errno));
		goto fail;
	}
	if (fclose(s.f) != 0) {
		s.f = NULL;
		error_set(cause, "%s: write failed: %s", path, strerror(errno));
		goto fail;
	}
	s.f = NULL;
	if (rename(tmp, path) != 0) {
		error_set(cause, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	if (s.f)
		fclose(s.f);
	unlink(tmp);
	free(tmp);
	return -1;
}
