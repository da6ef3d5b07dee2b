/*
 * safetensors.c — maps a .safetensors file and validates its header before
 * anything reads a tensor (see safetensors.h for the rules). The header
 * parser works on a borrowed memory image (st_open_memory), which is what
 * st_open calls after mmap and what the fuzzer drives. Calls jansson through
 * infer/json, and infer/util.
 */
#include "config.h"

#include "infer/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/json.h"
#include "infer/util.h"

struct st_file {
	char *path;
	void *map; /* the mmap'd file, NULL for st_open_memory */
	size_t map_size;
	const uint8_t *bytes; /* the whole file image */
	uint64_t size;
	uint64_t data_offset; /* 8 + header length */

	struct tensor *tensors; /* data-offset order; names owned */
	size_t n_tensors;
	size_t *by_name;  /* indices into tensors, sorted by name */
	json_t *metadata; /* the __metadata__ object, or NULL */
};

static const struct {
	const char *name;
	uint32_t type;
	uint32_t elem_bytes;
} st_dtypes[] = {
        {"F32", DTYPE_F32, 4},
        {"F16", DTYPE_F16, 2},
        {"BF16", DTYPE_BF16, 2},
};

/* Sorting helpers: qsort has no context pointer, so sort index pairs. */
struct st_order {
	const struct tensor *t;
	size_t index;
};

static int st_order_by_offset(const void *a, const void *b)
{
	const struct tensor *x = ((const struct st_order *)a)->t, *y = ((const struct st_order *)b)->t;
	if (x->file_offset != y->file_offset)
		return x->file_offset < y->file_offset ? -1 : 1;
	if (x->n_bytes != y->n_bytes)
		return x->n_bytes < y->n_bytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int st_order_by_name(const void *a, const void *b)
{
	return strcmp(((const struct st_order *)a)->t->name, ((const struct st_order *)b)->t->name);
}

/* Reads a JSON integer in [0, 2^63) into *out; false for anything else. */
static bool st_json_u64(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/*
 * One header entry into t (name already set). data_size is the length of the
 * data section; t->file_offset is set to the absolute offset.
 */
static int st_parse_entry(struct st_file *st, const char *name, const json_t *e, uint64_t data_size,
                          struct tensor *t, char **cause)
{
	const json_t *dtype, *shape, *offs;
	const char *dt;
	uint32_t elem_bytes = 0;
	uint64_t n_elems = 1, n_bytes, begin, end;
	size_t i, n_dims;

	if (!json_is_object(e))
		return error_set(cause, "%s: tensor '%s': header entry must be an object (it is %s)",
		                 st->path, name, json_kind_name(e));
	dtype = json_object_get(e, "dtype");
	shape = json_object_get(e, "shape");
	offs = json_object_get(e, "data_offsets");
	if (!dtype || !shape || !offs)
		return error_set(cause, "%s: tensor '%s': field '%s' is missing", st->path, name,
		                 !dtype   ? "dtype"
		                 : !shape ? "shape"
		                          : "data_offsets");

	if (!json_is_string(dtype))
		return error_set(cause, "%s: tensor '%s': dtype must be a string (it is %s)", st->path, name,
		                 json_kind_name(dtype));
	dt = json_string_value(dtype);
	for (i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++) {
		if (strcmp(dt, st_dtypes[i].name) == 0) {
			t->type = st_dtypes[i].type;
			elem_bytes = st_dtypes[i].elem_bytes;
		}
	}
	if (elem_bytes == 0)
		return error_set(
		        cause,
		        "%s: tensor '%s': dtype '%.32s' is not supported (duet reads F32, F16 and BF16)",
		        st->path, name, dt);

	if (!json_is_array(shape))
		return error_set(cause, "%s: tensor '%s': shape must be an array (it is %s)", st->path, name,
		                 json_kind_name(shape));
	n_dims = json_array_size(shape);
	if (n_dims > TENSOR_MAX_DIMS)
		return error_set(cause,
		                 "%s: tensor '%s': shape has %zu dimensions, more than the %d duet supports",
		                 st->path, name, n_dims, TENSOR_MAX_DIMS);
	for (i = 0; i < TENSOR_MAX_DIMS; i++)
		t->ne[i] = 1;
	/* GGUF order: the last (fastest-varying) safetensors dim comes first. */
	for (i = 0; i < n_dims; i++) {
		uint64_t d;
		if (!st_json_u64(json_array_get(shape, i), &d))
			return error_set(cause, "%s: tensor '%s': shape[%zu] must be a non-negative integer",
			                 st->path, name, i);
		if (!u64_mul(n_elems, d, &n_elems))
			return error_set(cause,
			                 "%s: tensor '%s': the element count of its shape overflows 64 bits",
			                 st->path, name);
		t->ne[n_dims - 1 - i] = d;
	}
	t->n_dims = n_dims ? (uint32_t)n_dims : 1;
	if (!u64_mul(n_elems, elem_bytes, &n_bytes))
		return error_set(cause, "%s: tensor '%s': its size in bytes overflows 64 bits", st->path,
		                 name);

	if (!json_is_array(offs) || json_array_size(offs) != 2)
		return error_set(cause, "%s: tensor '%s': data_offsets must be an array of two integers",
		                 st->path, name);
	if (!st_json_u64(json_array_get(offs, 0), &begin) || !st_json_u64(json_array_get(offs, 1), &end))
		return error_set(cause, "%s: tensor '%s': data_offsets must be non-negative integers",
		                 st->path, name);
	if (end < begin)
		return error_set(cause, "%s: tensor '%s': data_offsets [%llu, %llu) end before they begin",
		                 st->path, name, (unsigned long long)begin, (unsigned long long)end);
	if (end > data_size)
		return error_set(cause,
		                 "%s: tensor '%s': data_offsets [%llu, %llu) run past the end of the data "
		                 "section (%llu bytes)",
		                 st->path, name, (unsigned long long)begin, (unsigned long long)end,
		                 (unsigned long long)data_size);
	if (end - begin != n_bytes)
		return error_set(cause,
		                 "%s: tensor '%s': data_offsets [%llu, %llu) hold %llu bytes, but shape and "
		                 "dtype %s need %llu",
		                 st->path, name, (unsigned long long)begin, (unsigned long long)end,
		                 (unsigned long long)(end - begin), dt, (unsigned long long)n_bytes);

	t->n_bytes = n_bytes;
	t->file_offset = st->data_offset + begin;
	t->data = st->bytes + t->file_offset;
	return 0;
}

static int st_parse_metadata(struct st_file *st, json_t *meta, char **cause)
{
	const char *key;
	json_t *v;

	if (!json_is_object(meta))
		return error_set(cause, "%s: __metadata__ must be an object (it is %s)", st->path,
		                 json_kind_name(meta));
	json_object_foreach (meta, key, v) {
		if (!json_is_string(v))
			return error_set(cause, "%s: __metadata__ field '%s' must be a string (it is %s)",
			                 st->path, key, json_kind_name(v));
	}
	st->metadata = json_incref(meta);
	return 0;
}

/* Sort by offset, refuse overlaps, build the by-name index, refuse duplicates. */
static int st_index(struct st_file *st, char **cause)
{
	struct st_order *ord = xcalloc(st->n_tensors ? st->n_tensors : 1, sizeof *ord);
	struct tensor *sorted = xcalloc(st->n_tensors ? st->n_tensors : 1, sizeof *sorted);
	const struct tensor *reach = NULL; /* the non-empty tensor ending furthest so far */
	size_t i;
	int rc = -1;

	for (i = 0; i < st->n_tensors; i++) {
		ord[i].t = &st->tensors[i];
		ord[i].index = i;
	}
	qsort(ord, st->n_tensors, sizeof *ord, st_order_by_offset);
	for (i = 0; i < st->n_tensors; i++) {
		const struct tensor *t = ord[i].t;
		if (t->n_bytes == 0)
			continue;
		if (reach && t->file_offset < reach->file_offset + reach->n_bytes) {
			error_set(cause,
			          "%s: tensors '%s' and '%s' overlap (data_offsets [%llu, %llu) and [%llu, "
			          "%llu))",
			          st->path, reach->name, t->name,
			          (unsigned long long)(reach->file_offset - st->data_offset),
			          (unsigned long long)(reach->file_offset - st->data_offset + reach->n_bytes),
			          (unsigned long long)(t->file_offset - st->data_offset),
			          (unsigned long long)(t->file_offset - st->data_offset + t->n_bytes));
			goto fail;
		}
		if (!reach || t->file_offset + t->n_bytes > reach->file_offset + reach->n_bytes)
			reach = t;
	}
	for (i = 0; i < st->n_tensors; i++)
		sorted[i] = *ord[i].t;
	free(st->tensors);
	st->tensors = sorted;
	sorted = NULL;

	for (i = 0; i < st->n_tensors; i++) {
		ord[i].t = &st->tensors[i];
		ord[i].index = i;
	}
	qsort(ord, st->n_tensors, sizeof *ord, st_order_by_name);
	st->by_name = xcalloc(st->n_tensors ? st->n_tensors : 1, sizeof *st->by_name);
	for (i = 0; i < st->n_tensors; i++) {
		/* jansson already refused duplicate keys; this guards the invariant bsearch needs. */
		if (i > 0 && strcmp(ord[i - 1].t->name, ord[i].t->name) == 0) {
			error_set(cause, "%s: tensor '%s' appears twice", st->path, ord[i].t->name);
			goto fail;
		}
		st->by_name[i] = ord[i].index;
	}
	rc = 0;
fail:
	free(sorted);
	free(ord);
	return rc;
}

static int st_parse(struct st_file *st, char **cause)
{
	uint64_t hlen = 0, data_size;
	json_t *root = NULL, *v;
	const char *key;
	size_t i, n;

	if (st->size < 8)
		return error_set(cause, "%s: file is %llu bytes, too short for a safetensors header",
		                 st->path, (unsigned long long)st->size);
	for (i = 0; i < 8; i++)
		hlen |= (uint64_t)st->bytes[i] << (8 * i);
	if (hlen > st->size - 8)
		return error_set(cause, "%s: header length %llu runs past the end of the file (%llu bytes)",
		                 st->path, (unsigned long long)hlen, (unsigned long long)st->size);
	if (hlen > ST_MAX_HEADER_BYTES)
		return error_set(cause,
		                 "%s: header length %llu is more than the %llu bytes the format allows",
		                 st->path, (unsigned long long)hlen, ST_MAX_HEADER_BYTES);
	st->data_offset = 8 + hlen;
	data_size = st->size - st->data_offset;

	root = json_mem_load(st->bytes + 8, (size_t)hlen, st->path, 0, cause);
	if (!root)
		return -1;
	if (!json_is_object(root)) {
		error_set(cause, "%s: header must be a JSON object (it is %s)", st->path,
		          json_kind_name(root));
		goto fail;
	}

	n = json_object_size(root);
	st->tensors = xcalloc(n ? n : 1, sizeof *st->tensors);
	json_object_foreach (root, key, v) {
		struct tensor *t;
		if (strcmp(key, "__metadata__") == 0) {
			if (st_parse_metadata(st, v, cause) < 0)
				goto fail;
			continue;
		}
		t = &st->tensors[st->n_tensors++];
		t->name = xstrdup(key);
		if (st_parse_entry(st, key, v, data_size, t, cause) < 0)
			goto fail;
	}
	json_decref(root);
	return st_index(st, cause);
fail:
	json_decref(root);
	return -1;
}

static struct st_file *st_new(const char *name)
{
	struct st_file *st = xcalloc(1, sizeof *st);
	st->path = xstrdup(name);
	return st;
}

struct st_file *st_open_memory(const void *data, size_t size, const char *name, char **cause)
{
	struct st_file *st = st_new(name);

	st->bytes = data;
	st->size = size;
	if (st_parse(st, cause) < 0) {
		st_close(st);
		return NULL;
	}
	return st;
}

struct st_file *st_open(const char *path, char **cause)
{
	struct st_file *st = st_new(path);
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		error_set(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &sb) != 0) {
		error_set(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		error_set(cause, "%s: not a regular file", path);
		goto fail;
	}
	if ((uint64_t)sb.st_size > SIZE_MAX) {
		error_set(cause, "%s: file too large to map", path);
		goto fail;
	}
	st->size = (uint64_t)sb.st_size;
	/* mmap refuses length 0; st_parse reports short files itself. */
	if (st->size >= 8) {
		st->map = mmap(NULL, (size_t)st->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (st->map == MAP_FAILED) {
			st->map = NULL;
			error_set(cause, "%s: mmap: %s", path, strerror(errno));
			goto fail;
		}
		st->map_size = (size_t)st->size;
		st->bytes = st->map;
	} else {
		st->bytes = (const uint8_t *)"";
	}
	close(fd);
	fd = -1;
	if (st_parse(st, cause) < 0)
		goto fail;
	return st;
fail:
	if (fd >= 0)
		close(fd);
	st_close(st);
	return NULL;
}

void st_close(struct st_file *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n_tensors; i++)
		free((char *)st->tensors[i].name);
	free(st->tensors);
	free(st->by_name);
	json_decref(st->metadata);
	if (st->map)
		munmap(st->map, st->map_size);
	free(st->path);
	free(st);
}

const char *st_path(const struct st_file *st)
{
	return st->path;
}

uint64_t st_file_size(const struct st_file *st)
{
	return st->size;
}

uint64_t st_data_offset(const struct st_file *st)
{
	return st->data_offset;
}

size_t st_n_tensors(const struct st_file *st)
{
	return st->n_tensors;
}

const struct tensor *st_tensor(const struct st_file *st, size_t i)
{
	return i < st->n_tensors ? &st->tensors[i] : NULL;
}

const struct tensor *st_find(const struct st_file *st, const char *name)
{
	size_t lo = 0, hi = st->n_tensors;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tensor *t = &st->tensors[st->by_name[mid]];
		int c = strcmp(name, t->name);
		if (c == 0)
			return t;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *st_metadata(const struct st_file *st, const char *key)
{
	const json_t *v = st->metadata ? json_object_get(st->metadata, key) : NULL;
	return v ? json_string_value(v) : NULL;
}
