/*
 * test_gguf.c — the GGUF reader and writer. References are independent of
 * duet's code: a file gguf-py wrote (tests/golden/fixtures/gguf_py_small.gguf)
 * that duet's writer must reproduce byte for byte and duet's reader must
 * read back, and the real SmolLM2 file against gguf-py's listing of it
 * (smollm2_tensors.txt, smollm2_desc.txt; tests/golden/make_model_fixtures.py).
 * Then one malformed file per way a header can be wrong: each must be
 * refused with a message naming the file and the problem.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/gguf.h"
#include "infer/gguf_write.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

static char tmpdir[] = "/tmp/duet-test-gguf-XXXXXX";

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(99);
	}
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static void patch_u32(struct buf *b, uint64_t at, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		b->data[at + i] = (char)(uint8_t)(v >> (8 * i));
}

static void patch_u64(struct buf *b, uint64_t at, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		b->data[at + i] = (char)(uint8_t)(v >> (8 * i));
}

/* --- the gguf-py fixture ---------------------------------------------------- */

static const float f32_data[6] = {0, 1, 2, 3, 4, 5};
static const uint16_t f16_data[5] = {0x0000, 0x3800, 0x3c00, 0x3e00, 0x4000}; /* 0, 0.5, 1, 1.5, 2 */
static uint8_t q8_data[68];

/* The content make_model_fixtures.py's small_gguf() writes, in the same order. */
static struct gguf_writer *write_same(void)
{
	struct gguf_writer *w = gguf_writer_new();
	static const uint8_t arr_u8[] = {1, 2, 255};
	static const int32_t arr_i32[] = {-1, 0, 7, 2147483647};
	static const float arr_f32[] = {0.5f, -1.25f};
	static const char *const arr_str[] = {"a", "", "<|im_end|>"};
	const uint64_t ne_f32[] = {3, 2}, ne_f16[] = {5}, ne_q8[] = {32, 2};

	for (unsigned i = 0; i < sizeof q8_data; i++)
		q8_data[i] = (uint8_t)i;
	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_u8(w, "t.u8", 200);
	gguf_writer_add_i8(w, "t.i8", -100);
	gguf_writer_add_u16(w, "t.u16", 60000);
	gguf_writer_add_i16(w, "t.i16", -30000);
	gguf_writer_add_u32(w, "t.u32", 4000000000u);
	gguf_writer_add_i32(w, "t.i32", -2000000000);
	gguf_writer_add_f32(w, "t.f32", 0.15625f);
	gguf_writer_add_bool(w, "t.bool", true);
	gguf_writer_add_str(w, "t.str", "h\xc3\xa9llo\nworld");
	gguf_writer_add_u64(w, "t.u64", 18000000000000000000ull);
	gguf_writer_add_i64(w, "t.i64", -9000000000000000000ll);
	gguf_writer_add_f64(w, "t.f64", -2.5e-300);
	gguf_writer_set_alignment(w, 64);
	gguf_writer_add_arr(w, "t.arr_u8", GGUF_TYPE_UINT8, arr_u8, 3);
	gguf_writer_add_arr(w, "t.arr_i32", GGUF_TYPE_INT32, arr_i32, 4);
	gguf_writer_add_arr(w, "t.arr_f32", GGUF_TYPE_FLOAT32, arr_f32, 2);
	gguf_writer_add_arr_str(w, "t.arr_str", arr_str, 3);
	gguf_writer_add_tensor(w, "a.f32", DTYPE_F32, 2, ne_f32, f32_data);
	gguf_writer_add_tensor(w, "b.f16", DTYPE_F16, 1, ne_f16, f16_data);
	gguf_writer_add_tensor(w, "c.q8_0", DTYPE_Q8_0, 2, ne_q8, q8_data);
	return w;
}

static bool str_is(struct gguf_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static void check_writer_matches_gguf_py(void)
{
	const char *fixture = testmodels_fixture("gguf_py_small.gguf");
	struct gguf_writer *w = write_same();
	struct buf mine = {0};
	char *cause = NULL, *want, *path, *got;
	size_t want_len = 0, got_len = 0;

	want = file_read_all(fixture, 1 << 20, &want_len, &cause);
	tap_ok(want != NULL, "read the gguf-py fixture %s%s%s", fixture, cause ? ": " : "", cause ? cause : "");
	tap_ok(gguf_writer_serialize(w, &mine, &cause) == 0, "serialise the same content");
	TAP_EQ_INT(mine.len, want_len, "same size as gguf-py's file");
	TAP_EQ_INT(gguf_writer_file_size(w), want_len, "gguf_writer_file_size agrees");
	if (want && mine.len == want_len) {
		size_t i = 0;
		while (i < want_len && mine.data[i] == want[i])
			i++;
		if (!tap_ok(i == want_len, "byte-identical to gguf-py's GGUFWriter output"))
			tap_diag("  first difference at byte %zu: 0x%02x vs gguf-py 0x%02x", i,
				 (uint8_t)mine.data[i], (uint8_t)want[i]);
	} else {
		tap_ok(0, "byte-identical to gguf-py's GGUFWriter output");
	}

	/* The atomic write produces the same bytes and leaves no temp file. */
	path = tmp_path("written.gguf");
	tap_ok(gguf_writer_write(w, path, &cause) == 0, "gguf_writer_write %s", path);
	got = file_read_all(path, 1 << 20, &got_len, &cause);
	tap_ok(got && got_len == mine.len && memcmp(got, mine.data, got_len) == 0, "written file equals serialised bytes");
	struct stat st;
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "written file is mode 0644");
	tap_ok(count_entries(tmpdir) == 1, "no temporary file left beside it");
	unlink(path);
	free(path);
	free(got);
	free(want);
	buf_free(&mine);
	gguf_writer_free(w);
	free(cause);
}

static void check_read_gguf_py(void)
{
	const char *fixture = testmodels_fixture("gguf_py_small.gguf");
	char *cause = NULL;
	struct gguf *g = gguf_open(fixture, &cause);
	int64_t i;
	uint32_t u32;
	int32_t i32;
	float f;
	bool b;
	struct gguf_str s;

	if (!tap_ok(g != NULL, "open gguf-py's file")) {
		tap_diag("  %s", cause ? cause : "");
		free(cause);
		return;
	}
	TAP_EQ_INT(gguf_version(g), 3, "version 3");
	TAP_EQ_INT(gguf_alignment(g), 64, "alignment 64 from general.alignment");
	TAP_EQ_INT(gguf_n_kv(g), 18, "18 pairs");
	TAP_EQ_INT(gguf_n_tensors(g), 3, "3 tensors");
	TAP_EQ_INT(gguf_data_offset(g) % 64, 0, "data section aligned");
	TAP_EQ_STR(gguf_path(g), fixture, "path kept");

	s = gguf_kv_key(g, 0);
	tap_ok(str_is(s, "general.architecture"), "first key is general.architecture");
	tap_ok(str_is(gguf_kv_str(g, 0), "llama"), "its value is llama");
	TAP_EQ_INT(gguf_find_key(g, "t.u8"), 1, "find t.u8 at index 1");
	TAP_EQ_INT(gguf_find_key(g, "t.nope"), -1, "absent key is -1");
	TAP_EQ_INT(gguf_find_key(g, "t.u"), -1, "a key's prefix is not the key");

	static const struct {
		const char *key;
		enum gguf_vtype type;
	} types[] = {
		{"t.u8", GGUF_TYPE_UINT8},     {"t.i8", GGUF_TYPE_INT8},     {"t.u16", GGUF_TYPE_UINT16},
		{"t.i16", GGUF_TYPE_INT16},    {"t.u32", GGUF_TYPE_UINT32},  {"t.i32", GGUF_TYPE_INT32},
		{"t.f32", GGUF_TYPE_FLOAT32},  {"t.bool", GGUF_TYPE_BOOL},   {"t.str", GGUF_TYPE_STRING},
		{"t.u64", GGUF_TYPE_UINT64},   {"t.i64", GGUF_TYPE_INT64},   {"t.f64", GGUF_TYPE_FLOAT64},
		{"t.arr_u8", GGUF_TYPE_ARRAY}, {"general.alignment", GGUF_TYPE_UINT32},
	};
	for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
		i = gguf_find_key(g, types[k].key);
		tap_ok(i >= 0 && gguf_kv_type(g, (uint64_t)i) == types[k].type, "%s is a %s", types[k].key,
		       gguf_type_name(types[k].type));
	}

	/* Raw scalar bytes, little-endian. */
	uint8_t u8;
	uint16_t u16;
	uint64_t u64;
	int64_t i64;
	int16_t i16;
	int8_t i8;
	double d;
	memcpy(&u8, gguf_kv_scalar(g, (uint64_t)gguf_find_key(g, "t.u8")), 1);
	TAP_EQ_INT(u8, 200, "t.u8 raw");
	memcpy(&i8, gguf_kv_scalar(g, (uint64_t)gguf_find_key(g, "t.i8")), 1);
	TAP_EQ_INT(i8, -100, "t.i8 raw");
	memcpy(&u16, gguf_kv_scalar(g, (uint64_t)gguf_find_key(g, "t.u16")), 2);
	TAP_EQ_INT(u16, 60000, "t.u16 raw");
	memcpy(&i16, gguf_kv_scalar(g, (uint64_t)gguf_find_key(g, "t.i16")), 2);
	TAP_EQ_INT(i16, -30000, "t.i16 raw");
	memcpy(&u64, gguf_kv_scalar(g, (uint64_t)gguf_find_key(g, "t.u64")), 8);
	tap_ok(u64 == 18000000000000000000ull, "t.u64 raw");
	memcpy(&i64, gguf_kv_scalar(g, (uint64_t)gguf_find_key(g, "t.i64")), 8);
	tap_ok(i64 == -9000000000000000000ll, "t.i64 raw");
	memcpy(&d, gguf_kv_scalar(g, (uint64_t)gguf_find_key(g, "t.f64")), 8);
	tap_ok(d == -2.5e-300, "t.f64 raw");

	/* Typed look-ups and their conversions. */
	TAP_EQ_INT(gguf_get_u32(g, "t.u32", &u32, &cause), 1, "get_u32 t.u32");
	tap_ok(u32 == 4000000000u, "t.u32 = 4000000000");
	TAP_EQ_INT(gguf_get_u32(g, "t.u16", &u32, &cause), 1, "get_u32 widens a uint16");
	TAP_EQ_INT(u32, 60000, "t.u16 as u32");
	TAP_EQ_INT(gguf_get_i32(g, "t.i32", &i32, &cause), 1, "get_i32 t.i32");
	TAP_EQ_INT(i32, -2000000000, "t.i32 value");
	TAP_EQ_INT(gguf_get_i32(g, "t.i16", &i32, &cause), 1, "get_i32 widens an int16");
	TAP_EQ_INT(i32, -30000, "t.i16 as i32");
	TAP_EQ_INT(gguf_get_u32(g, "t.i8", &u32, &cause), -1, "get_u32 refuses a negative value");
	TAP_ERR_HAS(cause, "'t.i8' value -100 is out of range for a uint32", "message says so");
	TAP_ERR_HAS(cause, fixture, "message names the file");
	TAP_EQ_INT(gguf_get_i32(g, "t.u32", &i32, &cause), -1, "get_i32 refuses 4000000000");
	TAP_ERR_HAS(cause, "out of range for an int32", "message says so");
	TAP_EQ_INT(gguf_get_u32(g, "t.u64", &u32, &cause), -1, "get_u32 refuses a too large uint64");
	TAP_EQ_INT(gguf_get_u32(g, "t.str", &u32, &cause), -1, "get_u32 refuses a string");
	TAP_ERR_HAS(cause, "key 't.str' is a string, expected an unsigned integer", "message names key and kinds");
	TAP_EQ_INT(gguf_get_u32(g, "t.arr_u8", &u32, &cause), -1, "get_u32 refuses an array");
	TAP_ERR_HAS(cause, "is an array of uint8", "message names the array");
	TAP_EQ_INT(gguf_get_u32(g, "t.absent", &u32, &cause), 0, "absent key: 0");
	TAP_EQ_INT(gguf_get_f32(g, "t.f32", &f, &cause), 1, "get_f32 t.f32");
	tap_ok(f == 0.15625f, "t.f32 = 0.15625");
	TAP_EQ_INT(gguf_get_f32(g, "t.f64", &f, &cause), 1, "get_f32 narrows a float64");
	tap_ok(f == (float)-2.5e-300, "t.f64 as float");
	TAP_EQ_INT(gguf_get_f32(g, "t.u16", &f, &cause), 1, "get_f32 takes an exact integer");
	tap_ok(f == 60000.0f, "t.u16 as float");
	TAP_EQ_INT(gguf_get_f32(g, "t.str", &f, &cause), -1, "get_f32 refuses a string");
	TAP_EQ_INT(gguf_get_bool(g, "t.bool", &b, &cause), 1, "get_bool t.bool");
	tap_ok(b, "t.bool is true");
	TAP_EQ_INT(gguf_get_bool(g, "t.u16", &b, &cause), -1, "get_bool refuses 60000");
	TAP_EQ_INT(gguf_get_str(g, "t.str", &s, &cause), 1, "get_str t.str");
	tap_ok(str_is(s, "h\xc3\xa9llo\nworld"), "t.str value, UTF-8 and newline kept");
	TAP_EQ_INT(gguf_get_str(g, "t.u8", &s, &cause), -1, "get_str refuses a number");
	TAP_ERR_HAS(cause, "key 't.u8' is a uint8, expected a string", "message names key and kinds");

	/* Arrays. */
	i = gguf_find_key(g, "t.arr_i32");
	TAP_EQ_INT(gguf_arr_type(g, (uint64_t)i), GGUF_TYPE_INT32, "t.arr_i32 element type");
	TAP_EQ_INT(gguf_arr_len(g, (uint64_t)i), 4, "t.arr_i32 length");
	int32_t ai[4];
	memcpy(ai, gguf_arr_data(g, (uint64_t)i), sizeof ai);
	tap_ok(ai[0] == -1 && ai[1] == 0 && ai[2] == 7 && ai[3] == 2147483647, "t.arr_i32 elements");
	i = gguf_find_key(g, "t.arr_f32");
	float af[2];
	memcpy(af, gguf_arr_data(g, (uint64_t)i), sizeof af);
	tap_ok(af[0] == 0.5f && af[1] == -1.25f, "t.arr_f32 elements");
	i = gguf_find_key(g, "t.arr_u8");
	tap_ok(memcmp(gguf_arr_data(g, (uint64_t)i), "\x01\x02\xff", 3) == 0, "t.arr_u8 elements");
	i = gguf_find_key(g, "t.arr_str");
	TAP_EQ_INT(gguf_arr_type(g, (uint64_t)i), GGUF_TYPE_STRING, "t.arr_str element type");
	TAP_EQ_INT(gguf_arr_len(g, (uint64_t)i), 3, "t.arr_str length");
	tap_ok(str_is(gguf_arr_str(g, (uint64_t)i, 0), "a") && str_is(gguf_arr_str(g, (uint64_t)i, 1), "") &&
		       str_is(gguf_arr_str(g, (uint64_t)i, 2), "<|im_end|>"),
	       "t.arr_str elements, the empty one included");
	TAP_EQ_INT(gguf_arr_len(g, (uint64_t)gguf_find_key(g, "t.u8")), 0, "a scalar has array length 0");
	TAP_EQ_INT(gguf_arr_type(g, (uint64_t)gguf_find_key(g, "t.u8")), GGUF_TYPE_COUNT_,
		   "a scalar has no element type");

	/* Tensors. */
	const struct tensor *t = gguf_find_tensor(g, "a.f32");
	tap_ok(t == gguf_tensor(g, 0), "find a.f32 = tensor 0");
	tap_ok(t && t->type == DTYPE_F32 && t->n_dims == 2 && t->ne[0] == 3 && t->ne[1] == 2 && t->ne[2] == 1 &&
		       t->ne[3] == 1 && t->n_bytes == 24,
	       "a.f32: F32 [3, 2], 24 bytes, unused dims 1");
	tap_ok(t && t->file_offset == gguf_data_offset(g) && memcmp(t->data, f32_data, sizeof f32_data) == 0,
	       "a.f32 data at the data section start");
	t = gguf_find_tensor(g, "b.f16");
	tap_ok(t && t->type == DTYPE_F16 && t->n_dims == 1 && t->ne[0] == 5 && t->n_bytes == 10 &&
		       t->file_offset == gguf_data_offset(g) + 64 && memcmp(t->data, f16_data, 10) == 0,
	       "b.f16: F16 [5] at data + 64 (24 bytes padded to 64)");
	t = gguf_find_tensor(g, "c.q8_0");
	tap_ok(t && t->type == DTYPE_Q8_0 && t->ne[0] == 32 && t->ne[1] == 2 && t->n_bytes == 68 &&
		       t->file_offset == gguf_data_offset(g) + 128 && memcmp(t->data, q8_data, 68) == 0,
	       "c.q8_0: Q8_0 [32, 2], 68 bytes at data + 128");
	tap_ok(gguf_find_tensor(g, "c.q8") == NULL, "absent tensor is NULL");

	/* Rendering for duet info. */
	char *txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.str"), 0);
	TAP_EQ_STR(txt, "\"h\xc3\xa9llo\\nworld\"", "describe a string: quoted, newline escaped");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.arr_i32"), 0);
	TAP_EQ_STR(txt, "[-1, 0, 7, 2147483647] (4 x int32)", "describe an int array");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.arr_str"), 0);
	TAP_EQ_STR(txt, "[\"a\", \"\", \"<|im_end|>\"] (3 x string)", "describe a string array");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.f32"), 0);
	TAP_EQ_STR(txt, "0.15625", "describe a float32");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.f64"), 0);
	TAP_EQ_STR(txt, "-2.5e-300", "describe a float64, shortest exact text");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.i64"), 0);
	TAP_EQ_STR(txt, "-9000000000000000000", "describe an int64");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.bool"), 0);
	TAP_EQ_STR(txt, "true", "describe a bool");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "t.arr_i32"), 12);
	TAP_EQ_STR(txt, "[-1, 0, 7...", "describe cut at max_chars with ...");
	free(txt);

	gguf_close(g);
	free(cause);
}

/* A version-2 file, a fill callback, and the writer's own refusals. */
static int fill_counting(void *ctx, uint64_t offset, void *dst, size_t n, char **cause)
{
	int *calls = ctx;
	(*calls)++;
	for (size_t i = 0; i < n; i++)
		((uint8_t *)dst)[i] = (uint8_t)((offset + i) * 7);
	return 0;
}

static int fill_failing(void *ctx, uint64_t offset, void *dst, size_t n, char **cause)
{
	return error_set(cause, "no more random numbers");
}

static void check_writer_more(void)
{
	struct gguf_writer *w = gguf_writer_new();
	const uint64_t ne_big[] = {1024, 1024}; /* 4 MiB of F32: several fill chunks */
	char *path = tmp_path("fill.gguf"), *cause = NULL;
	int calls = 0;
	struct gguf *g;

	gguf_writer_set_version(w, 2);
	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_tensor_fill(w, "big", DTYPE_F32, 2, ne_big, fill_counting, &calls);
	gguf_writer_add_tensor(w, "zeros", DTYPE_F32, 1, (const uint64_t[]){8}, NULL);
	tap_ok(gguf_writer_write(w, path, &cause) == 0, "write a version-2 file with a filled tensor");
	gguf_writer_free(w);
	tap_ok(calls >= 4, "fill called in chunks (%d calls)", calls);
	g = gguf_open(path, &cause);
	tap_ok(g != NULL, "read it back%s%s", cause ? ": " : "", cause ? cause : "");
	if (g) {
		const struct tensor *t = gguf_find_tensor(g, "big");
		const uint8_t *p = t->data;
		bool ok = t->n_bytes == 4u << 20;
		for (uint64_t i = 0; ok && i < t->n_bytes; i++)
			ok = p[i] == (uint8_t)(i * 7);
		TAP_EQ_INT(gguf_version(g), 2, "version 2");
		tap_ok(ok, "filled bytes in order");
		t = gguf_find_tensor(g, "zeros");
		tap_ok(t && memcmp(t->data, (const char[32]){0}, 32) == 0, "NULL data writes zeros");
		gguf_close(g);
	}
	unlink(path);

	w = gguf_writer_new();
	gguf_writer_add_tensor_fill(w, "x", DTYPE_F32, 1, (const uint64_t[]){4}, fill_failing, NULL);
	tap_ok(gguf_writer_write(w, path, &cause) < 0, "a failing fill abandons the write");
	TAP_ERR_HAS(cause, "no more random numbers", "with the callback's message");
	tap_ok(access(path, F_OK) != 0, "and leaves no file behind");
	gguf_writer_free(w);

	static const struct {
		const char *what;
		int kind;
		const char *frag;
	} bad[] = {
		{"duplicate key", 0, "metadata key 'k' added twice"},
		{"duplicate tensor", 1, "tensor 'w' added twice"},
		{"alignment 48", 2, "alignment 48 is not a power of two"},
		{"Q8_0 row of 33", 3, "first dimension 33 is not a multiple of the Q8_0 block size (32)"},
		{"unknown type", 4, "unknown type id 99"},
		{"string general.alignment", 5, "general.alignment must be a uint32"},
		{"five dims", 6, "n_dims 5 is out of range"},
		{"version 1", 7, "GGUF version 1 cannot be written"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct buf out = {0};
		const uint64_t ne[] = {33, 1, 1, 1, 1};
		w = gguf_writer_new();
		switch (bad[k].kind) {
		case 0: gguf_writer_add_u8(w, "k", 1); gguf_writer_add_u8(w, "k", 2); break;
		case 1:
			gguf_writer_add_tensor(w, "w", DTYPE_F32, 1, ne, NULL);
			gguf_writer_add_tensor(w, "w", DTYPE_F32, 1, ne, NULL);
			break;
		case 2: gguf_writer_set_alignment(w, 48); break;
		case 3: gguf_writer_add_tensor(w, "w", DTYPE_Q8_0, 1, ne, NULL); break;
		case 4: gguf_writer_add_tensor(w, "w", 99, 1, ne, NULL); break;
		case 5: gguf_writer_add_str(w, "general.alignment", "32"); break;
		case 6: gguf_writer_add_tensor(w, "w", DTYPE_F32, 5, ne, NULL); break;
		case 7: gguf_writer_set_version(w, 1); break;
		}
		tap_ok(gguf_writer_serialize(w, &out, &cause) < 0 && out.len == 0, "writer refuses: %s", bad[k].what);
		TAP_ERR_HAS(cause, bad[k].frag, "  with the reason");
		buf_free(&out);
		gguf_writer_free(w);
	}
	free(path);
	free(cause);
}

/* --- malformed files ----------------------------------------------------------- */

/*
 * The base every malformed case starts from:
 *   pairs 0 general.architecture="llama", 1 t.name="hello", 2 t.u32=7,
 *   3 t.arr=[1,2,3] (int32), 4 t.strs=["ab","cd"], 5 t.key_a=1, 6 t.key_b=2,
 *   7 general.alignment=32;
 *   tensors 0 w.f32 F32 [8, 2], 1 w.q8 Q8_0 [32, 2], 2 w.f16 F16 [16].
 */
static struct gguf_writer *base_writer(void)
{
	struct gguf_writer *w = gguf_writer_new();
	static const int32_t arr[] = {1, 2, 3};
	static const char *const strs[] = {"ab", "cd"};

	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_str(w, "t.name", "hello");
	gguf_writer_add_u32(w, "t.u32", 7);
	gguf_writer_add_arr(w, "t.arr", GGUF_TYPE_INT32, arr, 3);
	gguf_writer_add_arr_str(w, "t.strs", strs, 2);
	gguf_writer_add_u8(w, "t.key_a", 1);
	gguf_writer_add_u8(w, "t.key_b", 2);
	gguf_writer_set_alignment(w, 32);
	gguf_writer_add_tensor(w, "w.f32", DTYPE_F32, 2, (const uint64_t[]){8, 2}, NULL);
	gguf_writer_add_tensor(w, "w.q8", DTYPE_Q8_0, 2, (const uint64_t[]){32, 2}, NULL);
	gguf_writer_add_tensor(w, "w.f16", DTYPE_F16, 1, (const uint64_t[]){16}, NULL);
	return w;
}

static void expect_refused(const char *name, const void *data, size_t len, const char *frag)
{
	char *file = xasprintf("%s.gguf", name), *path = tmp_path(file), *cause = NULL;
	struct gguf *g;

	write_file(path, data, len);
	g = gguf_open(path, &cause);
	if (tap_ok(g == NULL, "%s: refused", name))
		tap_diag("  %s", cause ? cause : "(no message)");
	TAP_ERR_HAS(cause, path, "  message names the file");
	TAP_ERR_HAS(cause, frag, "  message names the problem");
	gguf_close(g);
	unlink(path);
	free(cause);
	free(path);
	free(file);
}

static void check_malformed(void)
{
	struct gguf_writer *w = base_writer();
	struct buf base = {0}, b = {0};
	char *cause = NULL, *frag;
	uint64_t at;

	if (!tap_ok(gguf_writer_serialize(w, &base, &cause) == 0, "serialise the base file")) {
		tap_diag("  %s", cause);
		return;
	}
	{
		struct gguf *g = gguf_open_memory(base.data, base.len, "base", &cause);
		tap_ok(g != NULL, "the base file itself is valid%s%s", cause && !g ? ": " : "", cause && !g ? cause : "");
		gguf_close(g);
	}
#define RESET() (b.len = 0, buf_append(&b, base.data, base.len))

	expect_refused("empty", "", 0, "not a GGUF file: only 0 bytes long");
	RESET();
	memcpy(b.data, "GGUX", 4);
	expect_refused("bad-magic", b.data, b.len, "not a GGUF file (first bytes 47 47 55 58");
	expect_refused("truncated-header", base.data, 16, "truncated header: the file is 16 bytes");
	RESET();
	patch_u32(&b, 4, 1);
	expect_refused("version-1", b.data, b.len, "GGUF version 1 is not supported");
	RESET();
	patch_u32(&b, 4, 0x03000000u);
	expect_refused("big-endian", b.data, b.len, "big-endian GGUF (version 3 written big-endian) is not supported");
	RESET();
	patch_u32(&b, 4, 7);
	expect_refused("version-7", b.data, b.len, "GGUF version 7 is not supported");
	RESET();
	patch_u64(&b, 16, UINT64_MAX);
	expect_refused("n-kv-2^64", b.data, b.len, "18446744073709551615 metadata pairs, more than the file's");
	RESET();
	patch_u64(&b, 8, 1ull << 63);
	expect_refused("n-tensors-2^63", b.data, b.len, "header claims 9223372036854775808 tensors");
	RESET();
	patch_u64(&b, 16, GGUF_MAX_KV + 1ull);
	{
		/* Enough bytes that the count passes the size bound and meets the cap. */
		size_t pad = (GGUF_MAX_KV + 1u) * 14u;
		char *zeros = xcalloc(pad, 1);
		buf_append(&b, zeros, pad);
		free(zeros);
	}
	expect_refused("n-kv-over-cap", b.data, b.len, "65537 metadata pairs, more than duet accepts (65536)");

	/* Metadata. */
	RESET();
	patch_u64(&b, gguf_writer_kv_pos(w, 1), UINT64_MAX);
	frag = xasprintf("metadata 1: key length 18446744073709551615 at offset %llu runs past the end of the file (%zu bytes)",
			 (unsigned long long)gguf_writer_kv_pos(w, 1), base.len);
	expect_refused("key-length-past-eof", b.data, b.len, frag);
	free(frag);
	RESET();
	patch_u64(&b, gguf_writer_kv_pos(w, 1), 0);
	frag = xasprintf("metadata 1: empty key (offset %llu)", (unsigned long long)gguf_writer_kv_pos(w, 1));
	expect_refused("empty-key", b.data, b.len, frag);
	free(frag);
	RESET();
	patch_u64(&b, gguf_writer_kv_value_pos(w, 1), 1ull << 40);
	expect_refused("string-value-past-eof", b.data, b.len,
		       "metadata 1 't.name': string value length 1099511627776");
	RESET();
	patch_u32(&b, gguf_writer_kv_value_pos(w, 2) - 4, 13);
	expect_refused("unknown-value-type", b.data, b.len, "metadata 2 't.u32': unknown value type 13");
	RESET();
	patch_u32(&b, gguf_writer_kv_value_pos(w, 3), GGUF_TYPE_ARRAY);
	expect_refused("nested-array", b.data, b.len, "metadata 3 't.arr': arrays of arrays are not supported");
	RESET();
	patch_u32(&b, gguf_writer_kv_value_pos(w, 3), 20);
	expect_refused("unknown-array-type", b.data, b.len, "metadata 3 't.arr': unknown array element type 20");
	RESET();
	patch_u64(&b, gguf_writer_kv_value_pos(w, 3) + 4, 1ull << 62);
	expect_refused("array-past-eof", b.data, b.len,
		       "metadata 3 't.arr': array of 4611686018427387904 int32 at offset");
	RESET();
	patch_u64(&b, gguf_writer_kv_value_pos(w, 4) + 4, UINT64_MAX / 2);
	expect_refused("string-array-count", b.data, b.len,
		       "metadata 4 't.strs': array of 9223372036854775807 strings at offset");
	RESET();
	patch_u64(&b, gguf_writer_kv_value_pos(w, 4) + 12 + 8 + 2, 1ull << 33);
	expect_refused("string-array-element-past-eof", b.data, b.len,
		       "metadata 4 't.strs': string 1 of the array length 8589934592");
	RESET();
	b.data[gguf_writer_kv_pos(w, 6) + 8 + 6] = 'a'; /* t.key_b -> t.key_a */
	expect_refused("duplicate-key", b.data, b.len, "metadata 6: key 't.key_a' appears twice");
	RESET();
	patch_u32(&b, gguf_writer_kv_value_pos(w, 7), 48);
	expect_refused("alignment-48", b.data, b.len, "general.alignment 48 is not a power of two");
	RESET();
	patch_u32(&b, gguf_writer_kv_value_pos(w, 7), 0);
	expect_refused("alignment-0", b.data, b.len, "general.alignment 0 is not a power of two");
	RESET();
	patch_u32(&b, gguf_writer_kv_value_pos(w, 7) - 4, GGUF_TYPE_INT32);
	expect_refused("alignment-int32", b.data, b.len, "general.alignment is an int32, must be a uint32");
	{
		/* A uint64 alignment changes the layout, so write it unchecked. */
		struct gguf_writer *u = gguf_writer_new();
		struct buf ub = {0};
		gguf_writer_set_unchecked(u);
		gguf_writer_add_u64(u, "general.alignment", 32);
		gguf_writer_serialize(u, &ub, &cause);
		expect_refused("alignment-uint64", ub.data, ub.len, "general.alignment is a uint64, must be a uint32");
		buf_free(&ub);
		gguf_writer_free(u);
	}

	/* Tensor infos. */
	RESET();
	patch_u64(&b, gguf_writer_tensor_pos(w, 1), 0);
	expect_refused("empty-tensor-name", b.data, b.len, "tensor 1: empty name");
	RESET();
	patch_u64(&b, gguf_writer_tensor_pos(w, 1), 257);
	expect_refused("long-tensor-name", b.data, b.len, "tensor 1: name of 257 bytes is longer than 256");
	RESET();
	b.data[gguf_writer_tensor_pos(w, 1) + 8 + 1] = '\0';
	expect_refused("nul-in-name", b.data, b.len, "tensor 1: name 'w\\x00q8' contains a NUL byte");
	RESET();
	patch_u64(&b, gguf_writer_tensor_pos(w, 2), UINT64_MAX - 3);
	expect_refused("tensor-name-past-eof", b.data, b.len, "tensor 2: name length 18446744073709551612");
	at = gguf_writer_tensor_pos(w, 0) + 8 + 5; /* n_dims of w.f32 */
	RESET();
	patch_u32(&b, at, 0);
	expect_refused("n-dims-0", b.data, b.len, "tensor 0 'w.f32': n_dims 0 is out of range (1..4)");
	RESET();
	patch_u32(&b, at, 5);
	expect_refused("n-dims-5", b.data, b.len, "tensor 0 'w.f32': n_dims 5 is out of range (1..4)");
	RESET();
	patch_u64(&b, at + 4 + 8, 0);
	expect_refused("zero-dim", b.data, b.len, "tensor 0 'w.f32': dimension 1 of [8, 0] is 0");
	RESET();
	patch_u64(&b, at + 4, 1ull << 32);
	patch_u64(&b, at + 4 + 8, 1ull << 32);
	expect_refused("dims-overflow", b.data, b.len,
		       "tensor 0 'w.f32': dimensions [4294967296, 4294967296] hold more than 2^63 elements");
	RESET();
	patch_u64(&b, at + 4, 1ull << 61);
	expect_refused("size-overflow", b.data, b.len,
		       "tensor 0 'w.f32': size of 4611686018427387904 F32 elements overflows");
	RESET();
	patch_u64(&b, at + 4, 1ull << 40);
	frag = xasprintf("tensor 0 'w.f32': data [offset %llu, 8796093022208 bytes) runs past the end of the file (%zu bytes)",
			 (unsigned long long)gguf_writer_data_pos(w), base.len);
	expect_refused("huge-tensor-past-eof", b.data, b.len, frag);
	free(frag);
	RESET();
	patch_u32(&b, gguf_writer_tensor_type_pos(w, 0), 99);
	expect_refused("unknown-type", b.data, b.len, "tensor 0 'w.f32': unknown type id 99");
	RESET();
	patch_u32(&b, gguf_writer_tensor_type_pos(w, 0), 16);
	expect_refused("iq2-xxs", b.data, b.len, "tensor 0 'w.f32': type IQ2_XXS is not supported");
	RESET();
	patch_u32(&b, gguf_writer_tensor_type_pos(w, 0), 4); /* a retired ggml id */
	expect_refused("retired-type", b.data, b.len, "unknown type id 4");
	RESET();
	patch_u64(&b, gguf_writer_tensor_pos(w, 1) + 8 + 4 + 4, 33);
	expect_refused("q8-row-not-blocks", b.data, b.len,
		       "tensor 1 'w.q8': first dimension 33 is not a multiple of the Q8_0 block size (32)");
	RESET();
	patch_u64(&b, gguf_writer_tensor_offset_pos(w, 2), 200);
	expect_refused("misaligned-offset", b.data, b.len,
		       "tensor 2 'w.f16': data offset 200 is not a multiple of the alignment (32)");
	RESET();
	patch_u64(&b, gguf_writer_tensor_offset_pos(w, 2), 1ull << 20);
	expect_refused("offset-past-eof", b.data, b.len, "tensor 2 'w.f16': data [offset ");
	RESET();
	patch_u64(&b, gguf_writer_tensor_offset_pos(w, 2), UINT64_MAX - 31);
	expect_refused("offset-wraps", b.data, b.len, "tensor 2 'w.f16': data [offset data section + 18446744073709551584");
	RESET();
	patch_u64(&b, gguf_writer_tensor_offset_pos(w, 2), 96); /* w.q8 holds [64, 132) */
	frag = xasprintf("tensors 'w.q8' [offset %llu, 68 bytes) and 'w.f16' [offset %llu, 32 bytes) overlap",
			 (unsigned long long)gguf_writer_data_pos(w) + 64, (unsigned long long)gguf_writer_data_pos(w) + 96);
	expect_refused("overlap", b.data, b.len, frag);
	free(frag);
	RESET();
	b.data[gguf_writer_tensor_pos(w, 2) + 8 + 3] = '3';
	b.data[gguf_writer_tensor_pos(w, 2) + 8 + 4] = '2';
	expect_refused("duplicate-tensor-name", b.data, b.len, "tensors 0 and 2 are both named 'w.f32'");

	/* Truncations. */
	expect_refused("cut-in-tensor-info", base.data, (size_t)gguf_writer_tensor_pos(w, 1) + 10,
		       "tensor 1: name length 4 at offset");
	at = gguf_writer_tensor_offset_pos(w, 2) + 8; /* end of the tensor infos */
	if (at < gguf_writer_data_pos(w))
		expect_refused("cut-before-data", base.data, (size_t)at, "the tensor data section would start at offset");
	else
		tap_skip("the base file needs no padding before its data");
	expect_refused("cut-in-data", base.data, (size_t)gguf_writer_tensor_data_pos(w, 2) + 5,
		       "tensor 2 'w.f16': data [offset");

	/* Every shorter prefix of the file is refused with a message, never a crash. */
	{
		uint64_t need_all = gguf_writer_tensor_data_pos(w, 2) + 32;
		size_t refused = 0, named = 0;
		for (size_t n = 0; n < need_all; n++) {
			struct gguf *g = gguf_open_memory(base.data, n, "prefix", &cause);
			refused += g == NULL;
			named += g == NULL && cause && strncmp(cause, "prefix: ", 8) == 0;
			gguf_close(g);
		}
		TAP_EQ_INT(refused, need_all, "every prefix short of the last tensor's data is refused");
		TAP_EQ_INT(named, need_all, "  each with a message naming the file");
	}

	buf_free(&b);
	buf_free(&base);
	gguf_writer_free(w);
	free(cause);
#undef RESET
}

static void check_open_errors(void)
{
	char *cause = NULL, *missing = tmp_path("missing.gguf");

	tap_ok(gguf_open(missing, &cause) == NULL, "a missing file is refused");
	TAP_ERR_HAS(cause, "missing.gguf: No such file or directory", "  with the system's reason");
	tap_ok(gguf_open(tmpdir, &cause) == NULL, "a folder is refused");
	TAP_ERR_HAS(cause, "not a regular file", "  as not a regular file");
	free(missing);
	free(cause);
}

/* --- the real SmolLM2 file against gguf-py's listing -------------------------- */

static void check_smollm2(void)
{
	const char *model = testmodels_path("SmolLM2-135M-Instruct.Q4_1.gguf");
	const char *listing = testmodels_fixture("smollm2_tensors.txt");
	char *cause = NULL, line[512];
	struct gguf *g;
	FILE *f;
	uint64_t n = 0, bad = 0;

	if (!model)
		return;
	g = gguf_open(model, &cause);
	if (!tap_ok(g != NULL, "open SmolLM2")) {
		tap_diag("  %s", cause);
		free(cause);
		return;
	}
	f = fopen(listing, "r");
	tap_ok(f != NULL, "read %s", listing);
	while (f && fgets(line, sizeof line, f)) {
		char name[300], type[32], ne[128];
		unsigned long long off, bytes;
		if (line[0] == '#' || sscanf(line, "%299s %31s %127s %llu %llu", name, type, ne, &off, &bytes) != 5)
			continue;
		const struct tensor *t = n < gguf_n_tensors(g) ? gguf_tensor(g, n) : NULL;
		char mine[128] = "";
		size_t o = 0;
		for (uint32_t d = 0; t && d < t->n_dims; d++)
			o += (size_t)snprintf(mine + o, sizeof mine - o, "%s%llu", d ? "," : "", (unsigned long long)t->ne[d]);
		if (!t || strcmp(t->name, name) != 0 || strcmp(dtype_name(t->type), type) != 0 || strcmp(mine, ne) != 0 ||
		    t->file_offset != off || t->n_bytes != bytes ||
		    t->data != (const void *)((const char *)gguf_tensor(g, 0)->data + (off - gguf_tensor(g, 0)->file_offset))) {
			if (bad++ < 3)
				tap_diag("  tensor %llu: got %s %s %s %llu %llu, gguf-py %s %s %s %llu %llu",
					 (unsigned long long)n, t ? t->name : "(none)", t ? dtype_name(t->type) : "",
					 mine, t ? (unsigned long long)t->file_offset : 0ull,
					 t ? (unsigned long long)t->n_bytes : 0ull, name, type, ne, off, bytes);
		}
		n++;
	}
	if (f)
		fclose(f);
	TAP_EQ_INT(n, gguf_n_tensors(g), "as many tensors as gguf-py lists");
	TAP_EQ_INT(bad, 0, "every tensor's name, type, dims, offset and size as gguf-py reads them");
	TAP_EQ_INT(gguf_n_kv(g), 33, "33 pairs (smollm2_desc.txt n_kv)");
	TAP_EQ_INT(gguf_data_offset(g), 1785664, "data section at 1785664 (smollm2_desc.txt data_offset)");

	int64_t tok = gguf_find_key(g, "tokenizer.ggml.tokens");
	tap_ok(tok >= 0 && gguf_arr_len(g, (uint64_t)tok) == 49152, "49152 tokens");
	tap_ok(tok >= 0 && str_is(gguf_arr_str(g, (uint64_t)tok, 2), "<|im_end|>"), "token 2 is <|im_end|>");
	char *txt = gguf_kv_describe(g, (uint64_t)gguf_find_key(g, "llama.attention.layer_norm_rms_epsilon"), 0);
	TAP_EQ_STR(txt, "1e-05", "describe rms eps as 1e-05");
	free(txt);
	txt = gguf_kv_describe(g, (uint64_t)tok, 60);
	tap_ok(strlen(txt) <= 60 && strncmp(txt, "[\"<|endoftext|>\", \"<|im_start|>\"", 30) == 0,
	       "describe the vocabulary, cut to 60 bytes: %s", txt);
	free(txt);
	gguf_close(g);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	check_writer_matches_gguf_py();
	check_read_gguf_py();
	check_writer_more();
	check_malformed();
	check_open_errors();
	check_smollm2();
	rmdir(tmpdir);
	return tap_done();
}
