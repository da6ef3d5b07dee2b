/*
 * gguf.c — the GGUF reader: maps a file read-only and validates its whole
 * header (every count, length, type, dimension and offset, with
 * overflow-checked arithmetic against the file size) before handing out a
 * handle. Untrusted counts are bounded by the bytes left in the file before
 * anything proportional to them is allocated. Calls util and dtype only.
 *
 * Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv;
 * n_kv × (string key, u32 type, value); n_tensors × (string name, u32 n_dims,
 * n_dims × u64 ne, u32 type, u64 offset); padding to the alignment; data.
 * Strings are a u64 byte length and the bytes, without a terminator.
 */
#include "config.h"

#include "infer/gguf.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/util.h"

#define GGUF_HEADER_BYTES 24
/* Smallest encodings, for bounding counts by the bytes left: a key of one
 * byte with a one-byte value; a one-byte name with one dimension. */
#define GGUF_MIN_KV_BYTES (8 + 1 + 4 + 1)
#define GGUF_MIN_TENSOR_INFO_BYTES (8 + 1 + 4 + 8 + 4 + 8)

struct gguf_kv {
	struct gguf_str key;
	enum gguf_vtype type;
	enum gguf_vtype arr_type;  /* GGUF_TYPE_COUNT_ unless type is ARRAY */
	uint64_t arr_len;
	const uint8_t *value;      /* scalar bytes, or the first numeric array element */
	struct gguf_str str;       /* STRING */
	struct gguf_str *arr_strs; /* ARRAY of STRING: arr_len entries, owned */
	uint64_t offset;           /* of the key in the file, for messages */
};

struct gguf {
	char *path;
	const uint8_t *base;
	uint64_t size;
	void *map;      /* our own mapping (gguf_open), NULL for gguf_open_memory */
	size_t map_len;

	uint32_t version;
	uint64_t alignment;
	uint64_t data_offset;

	struct gguf_kv *kvs;
	uint64_t n_kv;
	struct tensor *tensors;
	uint64_t n_tensors;

	/* Open-addressing tables of index + 1 (0 = empty); size a power of two. */
	uint64_t *kv_slots;
	uint64_t kv_mask;
	uint64_t *tensor_slots;
	uint64_t tensor_mask;
};

/* Element sizes of the scalar kinds; 0 for STRING and ARRAY. */
static const uint8_t vtype_size[GGUF_TYPE_COUNT_] = {
	[GGUF_TYPE_UINT8] = 1,  [GGUF_TYPE_INT8] = 1,    [GGUF_TYPE_UINT16] = 2, [GGUF_TYPE_INT16] = 2,
	[GGUF_TYPE_UINT32] = 4, [GGUF_TYPE_INT32] = 4,   [GGUF_TYPE_FLOAT32] = 4, [GGUF_TYPE_BOOL] = 1,
	[GGUF_TYPE_STRING] = 0, [GGUF_TYPE_ARRAY] = 0,   [GGUF_TYPE_UINT64] = 8, [GGUF_TYPE_INT64] = 8,
	[GGUF_TYPE_FLOAT64] = 8,
};

static const char *const vtype_names[GGUF_TYPE_COUNT_] = {
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool",  "string", "array", "uint64", "int64", "float64",
};

const char *gguf_type_name(enum gguf_vtype t)
{
	return (unsigned)t < GGUF_TYPE_COUNT_ ? vtype_names[t] : "?";
}

/* "a" or "an" before a type name: "an int32", "a uint32". */
static const char *article(enum gguf_vtype t)
{
	const char *n = gguf_type_name(t);
	return n[0] == 'i' || n[0] == 'a' ? "an" : "a";
}

/*
 * Names of every tensor type ggml has numbered (gguf-py's GGMLQuantizationType),
 * so that a known type duet cannot read is named rather than called unknown.
 */
static const char *ggml_type_name(uint32_t type)
{
	static const char *const names[] = {
		[0] = "F32",      [1] = "F16",     [2] = "Q4_0",    [3] = "Q4_1",    [6] = "Q5_0",
		[7] = "Q5_1",     [8] = "Q8_0",    [9] = "Q8_1",    [10] = "Q2_K",   [11] = "Q3_K",
		[12] = "Q4_K",    [13] = "Q5_K",   [14] = "Q6_K",   [15] = "Q8_K",   [16] = "IQ2_XXS",
		[17] = "IQ2_XS",  [18] = "IQ3_XXS", [19] = "IQ1_S", [20] = "IQ4_NL", [21] = "IQ3_S",
		[22] = "IQ2_S",   [23] = "IQ4_XS", [24] = "I8",     [25] = "I16",    [26] = "I32",
		[27] = "I64",     [28] = "F64",    [29] = "IQ1_M",  [30] = "BF16",   [31] = "Q4_0_4_4",
		[32] = "Q4_0_4_8", [33] = "Q4_0_8_8", [34] = "TQ1_0", [35] = "TQ2_0", [36] = "IQ4_NL_4_4",
		[37] = "IQ4_NL_4_8", [38] = "IQ4_NL_8_8", [39] = "MXFP4", [40] = "NVFP4", [41] = "Q1_0",
	};
	if (type < sizeof names / sizeof names[0])
		return names[type];
	return NULL;
}

/* --- little-endian decoding, independent of the host's byte order --------- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* --- the parser ------------------------------------------------------------ */

struct parser {
	struct gguf *g;
	uint64_t pos;
	char **cause;
};

DUET_PRINTF(2, 3) static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("out of memory formatting a message");
	va_end(ap);
	error_set(p->cause, "%s: %s", p->g->path, msg);
	free(msg);
	return -1;
}

static uint64_t left(const struct parser *p)
{
	return p->g->size - p->pos;
}

/*
 * Render untrusted bytes (a key, a tensor name) for a message: printable
 * ASCII as is, everything else as \xNN, cut after 64 bytes. Returns buf.
 */
static char *safe_name(char *buf, size_t size, const char *s, uint64_t len)
{
	size_t o = 0;
	uint64_t i;

	for (i = 0; i < len && i < 64 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
			buf[o++] = (char)c;
		} else {
			snprintf(buf + o, size - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (i < len && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

#define SAFE_NAME_MAX (64 * 4 + 4)

static int need(struct parser *p, uint64_t n, const char *what, const char *where)
{
	if (n <= left(p))
		return 0;
	return perr(p, "%s%s%s at offset %llu needs %llu bytes, but the file ends after %llu (%llu bytes)", where,
		    *where ? ": " : "", what, (unsigned long long)p->pos, (unsigned long long)n,
		    (unsigned long long)left(p), (unsigned long long)p->g->size);
}

static int read_u32(struct parser *p, uint32_t *v, const char *what, const char *where)
{
	if (need(p, 4, what, where) < 0)
		return -1;
	*v = le32(p->g->base + p->pos);
	p->pos += 4;
	return 0;
}

static int read_u64(struct parser *p, uint64_t *v, const char *what, const char *where)
{
	if (need(p, 8, what, where) < 0)
		return -1;
	*v = le64(p->g->base + p->pos);
	p->pos += 8;
	return 0;
}

static int read_str(struct parser *p, struct gguf_str *s, const char *what, const char *where)
{
	uint64_t at = p->pos, len;

	if (read_u64(p, &len, what, where) < 0)
		return -1;
	if (len > left(p))
		return perr(p, "%s%s%s length %llu at offset %llu runs past the end of the file (%llu bytes)", where,
			    *where ? ": " : "", what, (unsigned long long)len, (unsigned long long)at,
			    (unsigned long long)p->g->size);
	s->ptr = (const char *)p->g->base + p->pos;
	s->len = len;
	p->pos += len;
	return 0;
}

static uint64_t hash_bytes(const char *s, uint64_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (uint64_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static uint64_t *slots_new(uint64_t n, uint64_t *mask)
{
	uint64_t size = 16;
	while (size < 2 * n)
		size *= 2;
	*mask = size - 1;
	return xcalloc(size, sizeof(uint64_t));
}

static int parse_value(struct parser *p, struct gguf_kv *kv, const char *where)
{
	uint64_t at = p->pos;

	if (kv->type == GGUF_TYPE_STRING)
		return read_str(p, &kv->str, "string value", where);
	if (kv->type != GGUF_TYPE_ARRAY) {
		if (need(p, vtype_size[kv->type], "value", where) < 0)
			return -1;
		kv->value = p->g->base + p->pos;
		p->pos += vtype_size[kv->type];
		return 0;
	}

	uint32_t et;
	uint64_t n, bytes;
	if (read_u32(p, &et, "array element type", where) < 0 || read_u64(p, &n, "array length", where) < 0)
		return -1;
	if (et == GGUF_TYPE_ARRAY)
		return perr(p, "%s: arrays of arrays are not supported (offset %llu)", where, (unsigned long long)at);
	if (et >= GGUF_TYPE_COUNT_)
		return perr(p, "%s: unknown array element type %u (offset %llu)", where, et, (unsigned long long)at);
	kv->arr_type = et;
	kv->arr_len = n;
	if (et != GGUF_TYPE_STRING) {
		if (!u64_mul(n, vtype_size[et], &bytes) || bytes > left(p))
			return perr(p, "%s: array of %llu %s at offset %llu runs past the end of the file (%llu bytes)",
				    where, (unsigned long long)n, vtype_names[et], (unsigned long long)at,
				    (unsigned long long)p->g->size);
		kv->value = p->g->base + p->pos;
		p->pos += bytes;
		return 0;
	}
	/* Each string takes at least its 8-byte length: bound n before allocating. */
	if (n > left(p) / 8)
		return perr(p, "%s: array of %llu strings at offset %llu cannot fit in the file (%llu bytes)", where,
			    (unsigned long long)n, (unsigned long long)at, (unsigned long long)p->g->size);
	if (n > GGUF_MAX_STR_ARRAY)
		return perr(p, "%s: array of %llu strings is more than duet accepts (%u)", where,
			    (unsigned long long)n, GGUF_MAX_STR_ARRAY);
	kv->arr_strs = xcalloc(n ? (size_t)n : 1, sizeof(struct gguf_str));
	for (uint64_t j = 0; j < n; j++) {
		char what[64];
		snprintf(what, sizeof what, "string %llu of the array", (unsigned long long)j);
		if (read_str(p, &kv->arr_strs[j], what, where) < 0)
			return -1;
	}
	return 0;
}

static int parse_kvs(struct parser *p)
{
	struct gguf *g = p->g;
	char where[SAFE_NAME_MAX + 64], nm[SAFE_NAME_MAX];

	g->kvs = xcalloc(g->n_kv ? (size_t)g->n_kv : 1, sizeof(struct gguf_kv));
	for (uint64_t i = 0; i < g->n_kv; i++) {
		struct gguf_kv *kv = &g->kvs[i];
		uint32_t type;

		kv->offset = p->pos;
		kv->arr_type = GGUF_TYPE_COUNT_;
		snprintf(where, sizeof where, "metadata %llu", (unsigned long long)i);
		if (read_str(p, &kv->key, "key", where) < 0)
			return -1;
		if (kv->key.len == 0)
			return perr(p, "metadata %llu: empty key (offset %llu)", (unsigned long long)i,
				    (unsigned long long)kv->offset);
		snprintf(where, sizeof where, "metadata %llu '%s'", (unsigned long long)i,
			 safe_name(nm, sizeof nm, kv->key.ptr, kv->key.len));
		if (read_u32(p, &type, "value type", where) < 0)
			return -1;
		if (type >= GGUF_TYPE_COUNT_)
			return perr(p, "%s: unknown value type %u (offset %llu)", where, type,
				    (unsigned long long)(p->pos - 4));
		kv->type = type;
		if (parse_value(p, kv, where) < 0)
			return -1;
	}

	g->kv_slots = slots_new(g->n_kv, &g->kv_mask);
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *kv = &g->kvs[i];
		uint64_t h = hash_bytes(kv->key.ptr, kv->key.len) & g->kv_mask;
		for (; g->kv_slots[h]; h = (h + 1) & g->kv_mask) {
			const struct gguf_kv *o = &g->kvs[g->kv_slots[h] - 1];
			if (o->key.len == kv->key.len && memcmp(o->key.ptr, kv->key.ptr, kv->key.len) == 0)
				return perr(p, "metadata %llu: key '%s' appears twice (offsets %llu and %llu)",
					    (unsigned long long)i, safe_name(nm, sizeof nm, kv->key.ptr, kv->key.len),
					    (unsigned long long)o->offset, (unsigned long long)kv->offset);
		}
		g->kv_slots[h] = i + 1;
	}
	return 0;
}

static int parse_alignment(struct parser *p)
{
	struct gguf *g = p->g;
	int64_t i = gguf_find_key(g, "general.alignment");
	uint32_t a;

	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	if (i < 0)
		return 0;
	if (g->kvs[i].type != GGUF_TYPE_UINT32)
		return perr(p, "general.alignment is %s %s, must be a uint32 (offset %llu)", article(g->kvs[i].type),
			    gguf_type_name(g->kvs[i].type), (unsigned long long)g->kvs[i].offset);
	a = le32(g->kvs[i].value);
	if (a == 0 || (a & (a - 1)) != 0)
		return perr(p, "general.alignment %u is not a power of two (offset %llu)", a,
			    (unsigned long long)g->kvs[i].offset);
	g->alignment = a;
	return 0;
}

static void format_dims(char *buf, size_t size, const uint64_t *ne, uint32_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (uint32_t d = 0; d < n && o < size; d++)
		o += (size_t)snprintf(buf + o, size - o, "%s%llu", d ? ", " : "[", (unsigned long long)ne[d]);
	if (o < size)
		snprintf(buf + o, size - o, "]");
}

/* Type, block and size checks of one tensor whose dims are already read. */
static int check_tensor_type(struct parser *p, struct tensor *t, const char *where)
{
	const struct dtype_traits *tr = dtype_traits(t->type);
	const char *name = ggml_type_name(t->type);

	if (!tr || !tr->supported) {
		if (tr && tr->name)
			name = tr->name;
		if (name)
			return perr(p, "%s: type %s is not supported", where, name);
		return perr(p, "%s: unknown type id %u", where, t->type);
	}
	if (tr->block_elems == 0 || tr->block_bytes == 0)
		return perr(p, "%s: type %s has no known size", where, tr->name);
	/* Rows are whole blocks (ggml's rule), which also makes the total whole blocks. */
	if (t->ne[0] % tr->block_elems != 0)
		return perr(p, "%s: first dimension %llu is not a multiple of the %s block size (%u)", where,
			    (unsigned long long)t->ne[0], tr->name, tr->block_elems);
	uint64_t n_elems = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
	if (!u64_mul(n_elems / tr->block_elems, tr->block_bytes, &t->n_bytes))
		return perr(p, "%s: size of %llu %s elements overflows", where, (unsigned long long)n_elems,
			    tr->name);
	return 0;
}

static int parse_tensor_infos(struct parser *p)
{
	struct gguf *g = p->g;
	char where[SAFE_NAME_MAX + 64], nm[SAFE_NAME_MAX], dims[160];

	g->tensors = xcalloc(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof(struct tensor));
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct tensor *t = &g->tensors[i];
		struct gguf_str name;
		uint64_t at = p->pos, prod = 1;

		snprintf(where, sizeof where, "tensor %llu", (unsigned long long)i);
		if (read_str(p, &name, "name", where) < 0)
			return -1;
		if (name.len == 0)
			return perr(p, "tensor %llu: empty name (offset %llu)", (unsigned long long)i,
				    (unsigned long long)at);
		if (name.len > GGUF_MAX_TENSOR_NAME)
			return perr(p, "tensor %llu: name of %llu bytes is longer than %d (offset %llu)",
				    (unsigned long long)i, (unsigned long long)name.len, GGUF_MAX_TENSOR_NAME,
				    (unsigned long long)at);
		if (memchr(name.ptr, '\0', name.len))
			return perr(p, "tensor %llu: name '%s' contains a NUL byte (offset %llu)", (unsigned long long)i,
				    safe_name(nm, sizeof nm, name.ptr, name.len), (unsigned long long)at);
		t->name = xstrndup(name.ptr, name.len);
		snprintf(where, sizeof where, "tensor %llu '%s'", (unsigned long long)i,
			 safe_name(nm, sizeof nm, name.ptr, name.len));

		if (read_u32(p, &t->n_dims, "n_dims", where) < 0)
			return -1;
		if (t->n_dims == 0 || t->n_dims > TENSOR_MAX_DIMS)
			return perr(p, "%s: n_dims %u is out of range (1..%d) (offset %llu)", where, t->n_dims,
				    TENSOR_MAX_DIMS, (unsigned long long)(p->pos - 4));
		for (uint32_t d = 0; d < TENSOR_MAX_DIMS; d++)
			t->ne[d] = 1;
		for (uint32_t d = 0; d < t->n_dims; d++)
			if (read_u64(p, &t->ne[d], "dimension", where) < 0)
				return -1;
		format_dims(dims, sizeof dims, t->ne, t->n_dims);
		for (uint32_t d = 0; d < t->n_dims; d++) {
			if (t->ne[d] == 0)
				return perr(p, "%s: dimension %u of %s is 0", where, d, dims);
			if (!u64_mul(prod, t->ne[d], &prod) || prod > INT64_MAX)
				return perr(p, "%s: dimensions %s hold more than 2^63 elements", where, dims);
		}
		if (read_u32(p, &t->type, "type", where) < 0 || check_tensor_type(p, t, where) < 0)
			return -1;
		if (read_u64(p, &t->file_offset, "data offset", where) < 0)
			return -1;
		/* file_offset holds the offset relative to the data section until parse_data. */
		if (t->file_offset % g->alignment != 0)
			return perr(p, "%s: data offset %llu is not a multiple of the alignment (%llu)", where,
				    (unsigned long long)t->file_offset, (unsigned long long)g->alignment);
	}

	g->tensor_slots = slots_new(g->n_tensors, &g->tensor_mask);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const struct tensor *t = &g->tensors[i];
		uint64_t len = strlen(t->name), h = hash_bytes(t->name, len) & g->tensor_mask;
		for (; g->tensor_slots[h]; h = (h + 1) & g->tensor_mask) {
			uint64_t j = g->tensor_slots[h] - 1;
			if (strcmp(g->tensors[j].name, t->name) == 0)
				return perr(p, "tensors %llu and %llu are both named '%s'", (unsigned long long)j,
					    (unsigned long long)i, safe_name(nm, sizeof nm, t->name, len));
		}
		g->tensor_slots[h] = i + 1;
	}
	return 0;
}

static int cmp_by_offset(const void *a, const void *b)
{
	const struct tensor *x = *(const struct tensor *const *)a, *y = *(const struct tensor *const *)b;
	return x->file_offset < y->file_offset ? -1 : x->file_offset > y->file_offset;
}

static int parse_data(struct parser *p)
{
	struct gguf *g = p->g;
	struct tensor **sorted = NULL;
	char nm[SAFE_NAME_MAX], nm2[SAFE_NAME_MAX];
	uint64_t pad = (g->alignment - p->pos % g->alignment) % g->alignment;

	/* pos <= size and alignment <= 2^31, so this cannot overflow. */
	g->data_offset = p->pos + pad;
	if (g->n_tensors == 0)
		return 0;
	if (g->data_offset > g->size)
		return perr(p, "the tensor data section would start at offset %llu, past the end of the file (%llu bytes)",
			    (unsigned long long)g->data_offset, (unsigned long long)g->size);

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct tensor *t = &g->tensors[i];
		uint64_t rel = t->file_offset, abs, end;
		bool abs_ok = u64_add(g->data_offset, rel, &abs);
		if (!abs_ok || !u64_add(abs, t->n_bytes, &end) || end > g->size)
			return perr(p,
				    "tensor %llu '%s': data [offset %s%llu, %llu bytes) runs past the end of the file (%llu bytes)",
				    (unsigned long long)i, safe_name(nm, sizeof nm, t->name, strlen(t->name)),
				    abs_ok ? "" : "data section + ", (unsigned long long)(abs_ok ? abs : rel),
				    (unsigned long long)t->n_bytes, (unsigned long long)g->size);
		t->file_offset = abs;
		t->data = g->base + abs;
	}

	sorted = xcalloc((size_t)g->n_tensors, sizeof *sorted);
	for (uint64_t i = 0; i < g->n_tensors; i++)
		sorted[i] = &g->tensors[i];
	qsort(sorted, (size_t)g->n_tensors, sizeof *sorted, cmp_by_offset);
	for (uint64_t i = 0; i + 1 < g->n_tensors; i++) {
		const struct tensor *a = sorted[i], *b = sorted[i + 1];
		if (a->file_offset + a->n_bytes > b->file_offset) {
			perr(p, "tensors '%s' [offset %llu, %llu bytes) and '%s' [offset %llu, %llu bytes) overlap",
			     safe_name(nm, sizeof nm, a->name, strlen(a->name)), (unsigned long long)a->file_offset,
			     (unsigned long long)a->n_bytes, safe_name(nm2, sizeof nm2, b->name, strlen(b->name)),
			     (unsigned long long)b->file_offset, (unsigned long long)b->n_bytes);
			free(sorted);
			return -1;
		}
	}
	free(sorted);
	return 0;
}

static int parse_header(struct parser *p)
{
	struct gguf *g = p->g;
	const uint8_t *b = g->base;
	uint64_t kv_min, ti_min, total;

	if (g->size < 4)
		return perr(p, "not a GGUF file: only %llu bytes long", (unsigned long long)g->size);
	if (memcmp(b, "GGUF", 4) != 0)
		return perr(p, "not a GGUF file (first bytes %02x %02x %02x %02x, expected \"GGUF\")", b[0], b[1], b[2],
			    b[3]);
	if (g->size < GGUF_HEADER_BYTES)
		return perr(p, "truncated header: the file is %llu bytes, a GGUF header needs %d",
			    (unsigned long long)g->size, GGUF_HEADER_BYTES);
	g->version = le32(b + 4);
	if (g->version == 1)
		return perr(p, "GGUF version 1 is not supported (versions 2 and 3 are)");
	if (g->version != 2 && g->version != 3) {
		uint32_t swapped = __builtin_bswap32(g->version);
		if (swapped >= 1 && swapped <= 3)
			return perr(p, "big-endian GGUF (version %u written big-endian) is not supported; "
				       "duet reads little-endian files only",
				    swapped);
		return perr(p, "GGUF version %u is not supported (versions 2 and 3 are)", g->version);
	}
	g->n_tensors = le64(b + 8);
	g->n_kv = le64(b + 16);
	p->pos = GGUF_HEADER_BYTES;

	if (!u64_mul(g->n_kv, GGUF_MIN_KV_BYTES, &kv_min) ||
	    !u64_mul(g->n_tensors, GGUF_MIN_TENSOR_INFO_BYTES, &ti_min) || !u64_add(kv_min, ti_min, &total) ||
	    total > left(p))
		return perr(p, "header claims %llu tensors and %llu metadata pairs, more than the file's %llu bytes can hold",
			    (unsigned long long)g->n_tensors, (unsigned long long)g->n_kv,
			    (unsigned long long)g->size);
	if (g->n_kv > GGUF_MAX_KV)
		return perr(p, "header claims %llu metadata pairs, more than duet accepts (%u)",
			    (unsigned long long)g->n_kv, GGUF_MAX_KV);
	if (g->n_tensors > GGUF_MAX_TENSORS)
		return perr(p, "header claims %llu tensors, more than duet accepts (%u)",
			    (unsigned long long)g->n_tensors, GGUF_MAX_TENSORS);
	return 0;
}

static struct gguf *gguf_parse(const uint8_t *base, uint64_t size, const char *name, void *map, size_t map_len,
			       char **cause)
{
	struct gguf *g = xcalloc(1, sizeof *g);
	struct parser p = {.g = g, .pos = 0, .cause = cause};

	g->path = xstrdup(name);
	g->base = base;
	g->size = size;
	g->map = map;
	g->map_len = map_len;
	if (parse_header(&p) < 0 || parse_kvs(&p) < 0 || parse_alignment(&p) < 0 || parse_tensor_infos(&p) < 0 ||
	    parse_data(&p) < 0)
		goto fail;
	return g;
fail:
	gguf_close(g);
	return NULL;
}

struct gguf *gguf_open_memory(const void *data, size_t size, const char *name, char **cause)
{
	static const uint8_t empty[1];
	return gguf_parse(data ? data : empty, data ? size : 0, name, NULL, 0, cause);
}

struct gguf *gguf_open(const char *path, char **cause)
{
	static const uint8_t empty[1];
	struct stat st;
	void *map = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		error_set(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		error_set(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(cause, "%s: not a regular file", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		error_set(cause, "%s: file of %llu bytes is too large to map", path, (unsigned long long)st.st_size);
		goto fail;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			error_set(cause, "%s: cannot map %llu bytes: %s", path, (unsigned long long)st.st_size,
				  strerror(errno));
			goto fail;
		}
	}
	close(fd);
	return gguf_parse(map ? map : empty, (uint64_t)st.st_size, path, map, (size_t)st.st_size, cause);
fail:
	close(fd);
	return NULL;
}

void gguf_close(struct gguf *g)
{
	if (!g)
		return;
	if (g->kvs)
		for (uint64_t i = 0; i < g->n_kv; i++)
			free(g->kvs[i].arr_strs);
	free(g->kvs);
	if (g->tensors)
		for (uint64_t i = 0; i < g->n_tensors; i++)
			free((char *)g->tensors[i].name);
	free(g->tensors);
	free(g->kv_slots);
	free(g->tensor_slots);
	if (g->map)
		munmap(g->map, g->map_len);
	free(g->path);
	free(g);
}

/* --- accessors ------------------------------------------------------------- */

const char *gguf_path(const struct gguf *g)
{
	return g->path;
}

uint32_t gguf_version(const struct gguf *g)
{
	return g->version;
}

uint64_t gguf_file_size(const struct gguf *g)
{
	return g->size;
}

uint64_t gguf_alignment(const struct gguf *g)
{
	return g->alignment;
}

uint64_t gguf_data_offset(const struct gguf *g)
{
	return g->data_offset;
}

uint64_t gguf_n_kv(const struct gguf *g)
{
	return g->n_kv;
}

int64_t gguf_find_key(const struct gguf *g, const char *key)
{
	size_t len = strlen(key);
	uint64_t h;

	if (!g->kv_slots)
		return -1;
	for (h = hash_bytes(key, len) & g->kv_mask; g->kv_slots[h]; h = (h + 1) & g->kv_mask) {
		const struct gguf_kv *kv = &g->kvs[g->kv_slots[h] - 1];
		if (kv->key.len == len && memcmp(kv->key.ptr, key, len) == 0)
			return (int64_t)(g->kv_slots[h] - 1);
	}
	return -1;
}

struct gguf_str gguf_kv_key(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_kv);
	return g->kvs[i].key;
}

enum gguf_vtype gguf_kv_type(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_kv);
	return g->kvs[i].type;
}

enum gguf_vtype gguf_arr_type(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_kv);
	return g->kvs[i].arr_type;
}

uint64_t gguf_arr_len(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_kv);
	return g->kvs[i].type == GGUF_TYPE_ARRAY ? g->kvs[i].arr_len : 0;
}

const void *gguf_arr_data(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_kv && g->kvs[i].type == GGUF_TYPE_ARRAY && g->kvs[i].arr_type != GGUF_TYPE_STRING);
	return g->kvs[i].value;
}

struct gguf_str gguf_arr_str(const struct gguf *g, uint64_t i, uint64_t idx)
{
	assert(i < g->n_kv && g->kvs[i].arr_type == GGUF_TYPE_STRING && idx < g->kvs[i].arr_len);
	return g->kvs[i].arr_strs[idx];
}

const void *gguf_kv_scalar(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_kv && g->kvs[i].type != GGUF_TYPE_STRING && g->kvs[i].type != GGUF_TYPE_ARRAY);
	return g->kvs[i].value;
}

struct gguf_str gguf_kv_str(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_kv && g->kvs[i].type == GGUF_TYPE_STRING);
	return g->kvs[i].str;
}

uint64_t gguf_n_tensors(const struct gguf *g)
{
	return g->n_tensors;
}

const struct tensor *gguf_tensor(const struct gguf *g, uint64_t i)
{
	assert(i < g->n_tensors);
	return &g->tensors[i];
}

const struct tensor *gguf_find_tensor(const struct gguf *g, const char *name)
{
	uint64_t h;

	if (!g->tensor_slots)
		return NULL;
	for (h = hash_bytes(name, strlen(name)) & g->tensor_mask; g->tensor_slots[h]; h = (h + 1) & g->tensor_mask) {
		const struct tensor *t = &g->tensors[g->tensor_slots[h] - 1];
		if (strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

/* --- typed look-ups -------------------------------------------------------- */

/* An integer-kind value widened: *neg set for negative signed values. */
static bool kv_int(const struct gguf_kv *kv, uint64_t *mag, bool *neg)
{
	const uint8_t *v = kv->value;
	int64_t s;

	*neg = false;
	switch (kv->type) {
	case GGUF_TYPE_UINT8: *mag = v[0]; return true;
	case GGUF_TYPE_UINT16: *mag = le16(v); return true;
	case GGUF_TYPE_UINT32: *mag = le32(v); return true;
	case GGUF_TYPE_UINT64: *mag = le64(v); return true;
	case GGUF_TYPE_INT8: s = (int8_t)v[0]; break;
	case GGUF_TYPE_INT16: s = (int16_t)le16(v); break;
	case GGUF_TYPE_INT32: s = (int32_t)le32(v); break;
	case GGUF_TYPE_INT64: s = (int64_t)le64(v); break;
	default: return false;
	}
	*neg = s < 0;
	*mag = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
	return true;
}

static int type_error(const struct gguf *g, const char *key, const struct gguf_kv *kv, const char *want,
		      char **cause)
{
	if (kv->type == GGUF_TYPE_ARRAY)
		return error_set(cause, "%s: key '%s' is an array of %s, expected %s", g->path, key,
				 gguf_type_name(kv->arr_type), want);
	return error_set(cause, "%s: key '%s' is %s %s, expected %s", g->path, key, article(kv->type),
			 gguf_type_name(kv->type), want);
}

static const struct gguf_kv *lookup(const struct gguf *g, const char *key)
{
	int64_t i = gguf_find_key(g, key);
	return i < 0 ? NULL : &g->kvs[i];
}

int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, char **cause)
{
	const struct gguf_kv *kv = lookup(g, key);
	uint64_t mag;
	bool neg;

	if (!kv)
		return 0;
	if (!kv_int(kv, &mag, &neg))
		return type_error(g, key, kv, "an unsigned integer", cause);
	if (neg || mag > UINT32_MAX)
		return error_set(cause, "%s: key '%s' value %s%llu is out of range for a uint32", g->path, key,
				 neg ? "-" : "", (unsigned long long)mag);
	*out = (uint32_t)mag;
	return 1;
}

int gguf_get_i32(const struct gguf *g, const char *key, int32_t *out, char **cause)
{
	const struct gguf_kv *kv = lookup(g, key);
	uint64_t mag;
	bool neg;

	if (!kv)
		return 0;
	if (!kv_int(kv, &mag, &neg))
		return type_error(g, key, kv, "an integer", cause);
	if ((!neg && mag > INT32_MAX) || (neg && mag > (uint64_t)INT32_MAX + 1))
		return error_set(cause, "%s: key '%s' value %s%llu is out of range for an int32", g->path, key,
				 neg ? "-" : "", (unsigned long long)mag);
	*out = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
	return 1;
}

int gguf_get_f32(const struct gguf *g, const char *key, float *out, char **cause)
{
	const struct gguf_kv *kv = lookup(g, key);
	uint64_t mag;
	bool neg;

	if (!kv)
		return 0;
	if (kv->type == GGUF_TYPE_FLOAT32) {
		uint32_t bits = le32(kv->value);
		memcpy(out, &bits, sizeof *out);
		return 1;
	}
	if (kv->type == GGUF_TYPE_FLOAT64) {
		uint64_t bits = le64(kv->value);
		double d;
		memcpy(&d, &bits, sizeof d);
		if (isfinite(d) && fabs(d) > 3.4028234663852886e38)
			return error_set(cause, "%s: key '%s' value %g is out of range for a float32", g->path, key, d);
		*out = (float)d;
		return 1;
	}
	/* Integers convert when a float32 holds them exactly (rope.freq_base 10000 written as an int). */
	if (kv_int(kv, &mag, &neg)) {
		float f = (float)mag;
		if (f >= 18446744073709551616.0f || (uint64_t)f != mag)
			return error_set(cause, "%s: key '%s' value %s%llu has no exact float32 value", g->path, key,
					 neg ? "-" : "", (unsigned long long)mag);
		*out = neg ? -f : f;
		return 1;
	}
	return type_error(g, key, kv, "a number", cause);
}

int gguf_get_bool(const struct gguf *g, const char *key, bool *out, char **cause)
{
	const struct gguf_kv *kv = lookup(g, key);
	uint64_t mag;
	bool neg;

	if (!kv)
		return 0;
	if (kv->type == GGUF_TYPE_BOOL) {
		*out = kv->value[0] != 0;
		return 1;
	}
	if (kv_int(kv, &mag, &neg) && !neg && mag <= 1) {
		*out = mag == 1;
		return 1;
	}
	return type_error(g, key, kv, "a bool", cause);
}

int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out, char **cause)
{
	const struct gguf_kv *kv = lookup(g, key);

	if (!kv)
		return 0;
	if (kv->type != GGUF_TYPE_STRING)
		return type_error(g, key, kv, "a string", cause);
	*out = kv->str;
	return 1;
}

/* --- describe -------------------------------------------------------------- */

/* The shortest %g text that reads back as the same value (1e-05, not 9.99999975e-06). */
static void describe_float(struct buf *b, double v, bool single)
{
	char text[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(text, sizeof text, "%.*g", prec, v);
		if (!isfinite(v) || (single ? strtof(text, NULL) == (float)v : strtod(text, NULL) == v))
			break;
	}
	buf_printf(b, "%s", text);
}

static void describe_scalar(struct buf *b, enum gguf_vtype type, const uint8_t *v)
{
	uint32_t b32;
	uint64_t b64;
	float f;
	double d;

	switch (type) {
	case GGUF_TYPE_UINT8: buf_printf(b, "%u", v[0]); break;
	case GGUF_TYPE_INT8: buf_printf(b, "%d", (int8_t)v[0]); break;
	case GGUF_TYPE_UINT16: buf_printf(b, "%u", le16(v)); break;
	case GGUF_TYPE_INT16: buf_printf(b, "%d", (int16_t)le16(v)); break;
	case GGUF_TYPE_UINT32: buf_printf(b, "%u", le32(v)); break;
	case GGUF_TYPE_INT32: buf_printf(b, "%d", (int32_t)le32(v)); break;
	case GGUF_TYPE_UINT64: buf_printf(b, "%llu", (unsigned long long)le64(v)); break;
	case GGUF_TYPE_INT64: buf_printf(b, "%lld", (long long)(int64_t)le64(v)); break;
	case GGUF_TYPE_BOOL: buf_printf(b, "%s", v[0] ? "true" : "false"); break;
	case GGUF_TYPE_FLOAT32:
		b32 = le32(v);
		memcpy(&f, &b32, sizeof f);
		describe_float(b, f, true);
		break;
	case GGUF_TYPE_FLOAT64:
		b64 = le64(v);
		memcpy(&d, &b64, sizeof d);
		describe_float(b, d, false);
		break;
	default: buf_printf(b, "?"); break;
	}
}

/* A quoted string with control bytes, quotes and backslashes escaped; stops once b holds limit bytes. */
static void describe_str(struct buf *b, struct gguf_str s, size_t limit)
{
	buf_putc(b, '"');
	for (uint64_t i = 0; i < s.len && b->len < limit; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_printf(b, "\\n");
		else if (c == '\t')
			buf_printf(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

char *gguf_kv_describe(const struct gguf *g, uint64_t i, size_t max_chars)
{
	const struct gguf_kv *kv;
	struct buf b = {0};
	/* Stop rendering somewhat past the cap; the cut below makes it exact. */
	size_t limit = max_chars ? max_chars + 4 : SIZE_MAX;
	enum { MAX_ARRAY_SHOWN = 16 };

	assert(i < g->n_kv);
	kv = &g->kvs[i];
	if (kv->type == GGUF_TYPE_STRING) {
		describe_str(&b, kv->str, limit);
	} else if (kv->type != GGUF_TYPE_ARRAY) {
		describe_scalar(&b, kv->type, kv->value);
	} else {
		uint64_t j, n = kv->arr_len;
		buf_putc(&b, '[');
		for (j = 0; j < n && j < MAX_ARRAY_SHOWN && b.len < limit; j++) {
			if (j)
				buf_printf(&b, ", ");
			if (kv->arr_type == GGUF_TYPE_STRING)
				describe_str(&b, kv->arr_strs[j], limit);
			else
				describe_scalar(&b, kv->arr_type, kv->value + j * vtype_size[kv->arr_type]);
		}
		buf_printf(&b, "%s] (%llu x %s)", j < n ? ", ..." : "", (unsigned long long)n,
			   gguf_type_name(kv->arr_type));
	}
	if (max_chars && b.len > max_chars) {
		size_t keep = max_chars > 3 ? max_chars - 3 : 0;
		/* Do not cut a UTF-8 sequence in half. */
		while (keep > 0 && ((unsigned char)b.data[keep] & 0xc0) == 0x80)
			keep--;
		b.len = keep;
		buf_append(&b, "...", max_chars > 3 ? 3 : max_chars);
	}
	buf_cstr(&b);
	return b.data;
}
