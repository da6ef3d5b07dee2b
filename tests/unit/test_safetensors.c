/*
 * test_safetensors.c — the safetensors parser and the Hugging Face folder
 * loader on files built here by hand: a valid file read back exactly, then
 * one malformed file (or folder) per known attack shape or user mistake,
 * each of which must fail with a message naming the file and the problem.
 * Expected values come from how the inputs were constructed, not from duet.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/json.h"
#include "infer/model.h"
#include "infer/safetensors.h"
#include "infer/util.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/duet-test-st-XXXXXX";

static char *tmp_path(const char *name)
{
	return path_join(tmpdir, name);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(99);
	}
}

static void write_text(const char *path, const char *text)
{
	write_bytes(path, text, strlen(text));
}

/* A safetensors file: 8-byte LE length, the header text, data_len bytes counting up. */
static void write_st(const char *path, const char *header, size_t data_len)
{
	size_t hlen = strlen(header), i;
	unsigned char *b = xmalloc(8 + hlen + data_len);

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	memcpy(b + 8, header, hlen);
	for (i = 0; i < data_len; i++)
		b[8 + hlen + i] = (unsigned char)i;
	write_bytes(path, b, 8 + hlen + data_len);
	free(b);
}

/* st_open must refuse the file, naming it and saying what is wrong. */
static void expect_st_fail(const char *what, const char *header, size_t data_len, const char *fragment)
{
	char *path = tmp_path("bad.safetensors");
	char *cause = NULL;
	struct st_file *st;

	write_st(path, header, data_len);
	st = st_open(path, &cause);
	tap_ok(st == NULL, "%s: refused", what);
	TAP_ERR_HAS(cause, path, "  message names the file");
	TAP_ERR_HAS(cause, fragment, "  message says what is wrong");
	st_close(st);
	free(cause);
	free(path);
}

static void test_valid_file(void)
{
	/* Header of 93 bytes (odd), so data starts at byte 101: unaligned on purpose. */
	const char *header = "{\"__metadata__\":{\"format\":\"pt\"},"
	                     "\"b\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[8,20]},"
	                     "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	                     "\"s\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[20,22]},"
	                     "\"z\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[22,22]}}";
	char *path = tmp_path("good.safetensors");
	char *cause = NULL;
	const struct tensor *t;
	struct st_file *st;
	uint64_t hlen = strlen(header);

	write_st(path, header, 22);
	st = st_open(path, &cause);
	if (!tap_ok(st != NULL, "a valid file opens")) {
		tap_diag("  %s", cause ? cause : "");
		free(cause);
		free(path);
		return;
	}
	TAP_EQ_INT(st_n_tensors(st), 4, "four tensors (metadata is not one)");
	TAP_EQ_INT(st_data_offset(st), 8 + hlen, "data section follows the header");
	TAP_EQ_INT(st_file_size(st), 8 + hlen + 22, "file size");
	TAP_EQ_STR(st_path(st), path, "path kept");
	TAP_EQ_STR(st_metadata(st, "format"), "pt", "metadata value");
	tap_ok(st_metadata(st, "nope") == NULL, "absent metadata key is NULL");

	/* Data-offset order: a [0,8), b [8,20), s [20,22), z [22,22). */
	TAP_EQ_STR(st_tensor(st, 0)->name, "a", "tensors come in data order (0)");
	TAP_EQ_STR(st_tensor(st, 1)->name, "b", "tensors come in data order (1)");
	TAP_EQ_STR(st_tensor(st, 2)->name, "s", "tensors come in data order (2)");
	tap_ok(st_tensor(st, 4) == NULL, "index past the end is NULL");

	t = st_find(st, "b");
	if (tap_ok(t != NULL, "find by name")) {
		TAP_EQ_INT(t->type, DTYPE_BF16, "BF16 maps to DTYPE_BF16");
		TAP_EQ_INT(t->n_dims, 2, "two dims");
		TAP_EQ_INT(t->ne[0], 2, "ne[0] is the last safetensors dim");
		TAP_EQ_INT(t->ne[1], 3, "ne[1] is the first safetensors dim");
		TAP_EQ_INT(t->ne[2], 1, "unused dims are 1");
		TAP_EQ_INT(t->n_bytes, 12, "3 x 2 BF16 = 12 bytes");
		TAP_EQ_INT(t->file_offset, 8 + hlen + 8, "absolute offset");
		TAP_EQ_INT(((const unsigned char *)t->data)[0], 8, "data points at the tensor's first byte");
	}
	t = st_find(st, "s");
	if (tap_ok(t != NULL, "scalar found")) {
		TAP_EQ_INT(t->n_dims, 1, "a scalar is reported as one dim");
		TAP_EQ_INT(t->ne[0], 1, "of size 1");
		TAP_EQ_INT(t->type, DTYPE_F16, "F16 maps to DTYPE_F16");
	}
	t = st_find(st, "z");
	tap_ok(t && t->n_bytes == 0 && t->ne[1] == 0, "an empty tensor is allowed");
	tap_ok(st_find(st, "c") == NULL && st_find(st, "") == NULL, "absent names are NULL");
	st_close(st);
	st_close(NULL);

	/* The in-memory entry point sees the same thing. */
	{
		size_t len = 0;
		char *img = file_read_all(path, 1 << 20, &len, &cause);
		st = img ? st_open_memory(img, len, "mem", &cause) : NULL;
		tap_ok(st && st_n_tensors(st) == 4 && st_find(st, "a")->type == DTYPE_F32,
		       "st_open_memory parses");
		st_close(st);
		free(img);
	}
	free(path);
}

static void test_bad_files(void)
{
	char *path = tmp_path("raw.safetensors");
	char *cause = NULL;
	unsigned char b[16];
	struct st_file *st;
	int fd;

	/* Shorter than the length field. */
	write_bytes(path, "\x05\0\0", 3);
	st = st_open(path, &cause);
	tap_ok(st == NULL, "a 3-byte file is refused");
	TAP_ERR_HAS(cause, path, "  message names the file");
	TAP_ERR_HAS(cause, "too short", "  message says it is too short");
	free(cause);
	cause = NULL;

	write_bytes(path, "", 0);
	st = st_open(path, &cause);
	tap_ok(st == NULL, "an empty file is refused");
	TAP_ERR_HAS(cause, "too short", "  message says it is too short");
	free(cause);
	cause = NULL;

	/* Header length past EOF, and near 2^64 (overflow bait for 8 + N). */
	memcpy(b, "\x20\0\0\0\0\0\0\0{}      ", 16);
	write_bytes(path, b, 16);
	st = st_open(path, &cause);
	tap_ok(st == NULL, "header length past the end is refused");
	TAP_ERR_HAS(cause, "header length 32 runs past the end of the file (16 bytes)",
	            "  message gives both sizes");
	free(cause);
	cause = NULL;
	memcpy(b, "\xf9\xff\xff\xff\xff\xff\xff\xff{}      ", 16);
	write_bytes(path, b, 16);
	st = st_open(path, &cause);
	tap_ok(st == NULL, "header length 2^64 - 7 is refused");
	TAP_ERR_HAS(cause, "runs past the end", "  message says it runs past the end");
	free(cause);
	cause = NULL;

	/* A header over the format's 100 MB cap, in a sparse file large enough to hold it. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
	memcpy(b, "\x01\xe1\xf5\x05\0\0\0\0", 8); /* 100000001 */
	if (fd >= 0 && write(fd, b, 8) == 8 && ftruncate(fd, 8 + 100000001 + 8) == 0) {
		close(fd);
		st = st_open(path, &cause);
		tap_ok(st == NULL, "a 100 MB + 1 header is refused");
		TAP_ERR_HAS(cause, "more than the 100000000 bytes", "  message names the cap");
		free(cause);
		cause = NULL;
	} else {
		tap_ok(0, "could not write the sparse file");
		if (fd >= 0)
			close(fd);
	}
	unlink(path);

	st = st_open(path, &cause);
	tap_ok(st == NULL, "a missing file is refused");
	TAP_ERR_HAS(cause, "No such file", "  message says so");
	free(cause);
	cause = NULL;
	st = st_open(tmpdir, &cause);
	tap_ok(st == NULL, "a directory is refused");
	TAP_ERR_HAS(cause, "not a regular file", "  message says so");
	free(cause);
	free(path);

	expect_st_fail("non-JSON header", "{\"a\": nope}", 0, "JSON syntax error at line 1, column");
	expect_st_fail("syntax error on line 3", "{\n\"a\":\n{,}}", 0, "line 3");
	expect_st_fail("header not an object", "[1, 2]", 0, "header must be a JSON object (it is an array)");
	expect_st_fail("entry not an object", "{\"t\": 5}", 0, "tensor 't': header entry must be an object");
	expect_st_fail("I64 dtype", "{\"pos\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
	               "tensor 'pos': dtype 'I64' is not supported");
	expect_st_fail("F8_E4M3 dtype",
	               "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	               "dtype 'F8_E4M3' is not supported");
	expect_st_fail("U8 dtype", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
	               "dtype 'U8'");
	expect_st_fail("dtype not a string", "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
	               "dtype must be a string");
	expect_st_fail("missing dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
	               "tensor 'w': field 'dtype' is missing");
	expect_st_fail("missing data_offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
	               "field 'data_offsets' is missing");
	expect_st_fail("negative dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
	               "tensor 'w': shape[0] must be a non-negative integer");
	expect_st_fail("non-integer dim",
	               "{\"w\":{\"dtype\":\"F32\",\"shape\":[1, 2.5],\"data_offsets\":[0,4]}}", 4,
	               "shape[1] must be a non-negative integer");
	expect_st_fail("string dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}",
	               8, "shape[0] must be a non-negative integer");
	expect_st_fail("shape not an array",
	               "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16,
	               "shape must be an array");
	expect_st_fail("5 dims", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}",
	               4, "shape has 5 dimensions, more than the 4");
	expect_st_fail(
	        "element count overflow",
	        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[0,4]}}", 4,
	        "element count of its shape overflows");
	expect_st_fail("byte size overflow",
	               "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,2],\"data_offsets\":[0,4]}}",
	               4, "overflows 64 bits");
	expect_st_fail("offsets past the end",
	               "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12,
	               "tensor 'w': data_offsets [0, 16) run past the end of the data section (12 bytes)");
	expect_st_fail("huge offsets",
	               "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775800,"
	               "9223372036854775804]}}",
	               4, "run past the end");
	expect_st_fail("end before begin", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
	               8, "data_offsets [8, 4) end before they begin");
	expect_st_fail("negative offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
	               8, "data_offsets must be non-negative integers");
	expect_st_fail("three offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
	               8, "data_offsets must be an array of two integers");
	expect_st_fail("size != shape x dtype",
	               "{\"w\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
	               "tensor 'w': data_offsets [0, 8) hold 8 bytes, but shape and dtype F16 need 6");
	expect_st_fail("overlapping tensors",
	               "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
	               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
	               20, "tensors 'a' and 'b' overlap");
	expect_st_fail("one tensor inside another",
	               "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
	               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
	               "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[20,24]}}",
	               32, "overlap");
	expect_st_fail("two tensors on the same bytes",
	               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
	               8, "overlap");
	expect_st_fail("duplicate names",
	               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
	               8, "duplicate object key");
	expect_st_fail("metadata not an object", "{\"__metadata__\":[1]}", 0,
	               "__metadata__ must be an object");
	expect_st_fail("metadata value not a string", "{\"__metadata__\":{\"format\":1}}", 0,
	               "__metadata__ field 'format' must be a string");
}

/* ---------------------------------------------------------------- HF folders */

/*
 * A tiny Llama folder: hidden 8, 1 layer, 2 heads, 1 KV head (head dim 4),
 * FFN 16, vocab 16, F32 zeros. Tensors are spread over n_files files:
 * with an index when indexed, else model.safetensors (n_files 1) or
 * plain part-N.safetensors files.
 */
static const struct {
	const char *name;
	unsigned rows, cols; /* PyTorch [rows, cols]; cols 0 = 1-D */
} tiny_tensors[] = {
        {"model.embed_tokens.weight", 16, 8},
        {"model.norm.weight", 8, 0},
        {"model.layers.0.input_layernorm.weight", 8, 0},
        {"model.layers.0.post_attention_layernorm.weight", 8, 0},
        {"model.layers.0.self_attn.q_proj.weight", 8, 8},
        {"model.layers.0.self_attn.k_proj.weight", 4, 8},
        {"model.layers.0.self_attn.v_proj.weight", 4, 8},
        {"model.layers.0.self_attn.o_proj.weight", 8, 8},
        {"model.layers.0.mlp.gate_proj.weight", 16, 8},
        {"model.layers.0.mlp.up_proj.weight", 16, 8},
        {"model.layers.0.mlp.down_proj.weight", 8, 16},
        {"model.layers.0.self_attn.rotary_emb.inv_freq", 2, 0},
};
#define N_TINY (sizeof tiny_tensors / sizeof tiny_tensors[0])

static const char *tiny_config =
        "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
        " \"intermediate_size\": 16, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
        " \"rms_norm_eps\": 1e-5, \"vocab_size\": 16, \"max_position_embeddings\": 64,"
        " \"tie_word_embeddings\": true}";

/* Writes the tensors [from, to) of tiny_tensors, plus an optional extra entry, to path. */
static void write_tiny_part(const char *path, size_t from, size_t to, const char *extra)
{
	struct buf h = {0};
	size_t i, off = 0;

	buf_putc(&h, '{');
	for (i = from; i < to; i++) {
		unsigned n = tiny_tensors[i].rows * (tiny_tensors[i].cols ? tiny_tensors[i].cols : 1);
		if (tiny_tensors[i].cols)
			buf_printf(&h,
			           "\"%s\":{\"dtype\":\"F32\",\"shape\":[%u,%u],\"data_offsets\":[%zu,%zu]},",
			           tiny_tensors[i].name, tiny_tensors[i].rows, tiny_tensors[i].cols, off,
			           off + 4 * n);
		else
			buf_printf(&h,
			           "\"%s\":{\"dtype\":\"F32\",\"shape\":[%u],\"data_offsets\":[%zu,%zu]},",
			           tiny_tensors[i].name, tiny_tensors[i].rows, off, off + 4 * n);
		off += 4 * n;
	}
	if (extra)
		buf_printf(&h, "%s,", extra);
	buf_printf(&h, "\"__metadata__\":{\"format\":\"pt\"}}");
	write_st(path, buf_cstr(&h), off + 64);
	buf_free(&h);
}

static char *make_folder(const char *name, const char *config)
{
	char *dir = tmp_path(name), *p;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %s\n", dir, strerror(errno));
		exit(99);
	}
	if (config) {
		p = path_join(dir, "config.json");
		write_text(p, config);
		free(p);
	}
	return dir;
}

static void folder_file(const char *dir, const char *name, const char *text)
{
	char *p = path_join(dir, name);
	write_text(p, text);
	free(p);
}

static char *tiny_folder(const char *name, const char *config)
{
	char *dir = make_folder(name, config);
	char *p = path_join(dir, "model.safetensors");
	write_tiny_part(p, 0, N_TINY, NULL);
	free(p);
	return dir;
}

/* model_file_open on the folder must fail naming `file` (in the folder) and the fragment. */
static void expect_open_fail(const char *what, const char *dir, const char *file, const char *fragment)
{
	char *cause = NULL;
	struct model_file *mf = model_file_open(dir, &cause);
	char *path = file ? path_join(dir, file) : xstrdup(dir);

	tap_ok(mf == NULL, "%s: refused", what);
	TAP_ERR_HAS(cause, path, "  message names the file");
	TAP_ERR_HAS(cause, fragment, "  message says what is wrong");
	model_file_close(mf);
	free(cause);
	free(path);
}

static void test_config_errors(void)
{
	char *dir;

	dir = tiny_folder("noconfig", NULL);
	expect_open_fail("no config.json", dir, "config.json", "no config.json");
	free(dir);

	dir = tiny_folder("badjson", "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 8,,\n}");
	expect_open_fail("config.json syntax error", dir, "config.json", "line 3");
	free(dir);

	dir = tiny_folder("notobject", "[]");
	expect_open_fail("config.json not an object", dir, "config.json", "must hold a JSON object");
	free(dir);

	dir = tiny_folder("gemma", "{\"model_type\": \"gemma\", \"hidden_size\": 8}");
	expect_open_fail("unsupported model_type", dir, "config.json", "model_type 'gemma' is not supported");
	free(dir);

	dir = tiny_folder("noarch", "{\"hidden_size\": 8}");
	expect_open_fail("no model_type", dir, "config.json", "field 'model_type' is missing");
	free(dir);

	dir = tiny_folder("archs", "{\"architectures\": [\"MistralForCausalLM\"], \"hidden_size\": 8}");
	expect_open_fail("unsupported architectures[0]", dir, "config.json",
	                 "architecture 'MistralForCausalLM' is not supported");
	free(dir);

	dir = tiny_folder("nohidden", "{\"model_type\": \"llama\", \"num_hidden_layers\": 1}");
	expect_open_fail("missing hidden_size", dir, "config.json", "field 'hidden_size' is missing");
	free(dir);

	dir = tiny_folder("strhidden", "{\"model_type\": \"qwen2\", \"hidden_size\": \"8\"}");
	expect_open_fail("hidden_size a string", dir, "config.json",
	                 "field 'hidden_size' must be a positive integer (it is a string)");
	free(dir);

	dir = tiny_folder("zerolayers",
	                  "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 0}");
	expect_open_fail("zero layers", dir, "config.json",
	                 "field 'num_hidden_layers' must be a positive integer");
	free(dir);

	dir = tiny_folder("realheads",
	                  "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	                  " \"intermediate_size\": 16, \"num_attention_heads\": 2.0}");
	expect_open_fail("heads a real number", dir, "config.json",
	                 "field 'num_attention_heads' must be a positive integer (it is a real number)");
	free(dir);

	dir = tiny_folder(
	        "kvheads",
	        "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	        " \"intermediate_size\": 16, \"num_attention_heads\": 2, \"num_key_value_heads\": 3}");
	expect_open_fail("heads not a multiple of KV heads", dir, "config.json",
	                 "num_attention_heads (2) is not a multiple of num_key_value_heads (3)");
	free(dir);

	dir = tiny_folder(
	        "epsstr",
	        "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	        " \"intermediate_size\": 16, \"num_attention_heads\": 2, \"rms_norm_eps\": \"tiny\"}");
	expect_open_fail("rms_norm_eps a string", dir, "config.json",
	                 "field 'rms_norm_eps' must be a number");
	free(dir);

	dir = tiny_folder(
	        "tiestr",
	        "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	        " \"intermediate_size\": 16, \"num_attention_heads\": 2, \"tie_word_embeddings\": 1}");
	expect_open_fail("tie_word_embeddings not a boolean", dir, "config.json",
	                 "field 'tie_word_embeddings' must be true or false");
	free(dir);

	dir = tiny_folder("llama31",
	                  "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	                  " \"intermediate_size\": 16, \"num_attention_heads\": 2,"
	                  " \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"llama3\"}}");
	expect_open_fail("llama3 rope scaling", dir, "config.json",
	                 "rope_scaling of type 'llama3' is not supported");
	free(dir);

	dir = tiny_folder("yarn5", "{\"model_type\": \"qwen2\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	                           " \"intermediate_size\": 16, \"num_attention_heads\": 2,"
	                           " \"rope_parameters\": {\"rope_theta\": 10000, \"rope_type\": \"yarn\"}}");
	expect_open_fail("transformers-5 rope_parameters of type yarn", dir, "config.json",
	                 "rope_parameters of type 'yarn' is not supported");
	free(dir);

	dir = tiny_folder(
	        "sliding",
	        "{\"model_type\": \"qwen2\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	        " \"intermediate_size\": 16, \"num_attention_heads\": 2, \"use_sliding_window\": true}");
	expect_open_fail("sliding window", dir, "config.json", "use_sliding_window is true");
	free(dir);

	dir = tiny_folder(
	        "gelu", "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	                " \"intermediate_size\": 16, \"num_attention_heads\": 2, \"hidden_act\": \"gelu\"}");
	expect_open_fail("gelu activation", dir, "config.json", "hidden_act 'gelu' is not supported");
	free(dir);

	dir = tiny_folder("vocab",
	                  "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
	                  " \"intermediate_size\": 16, \"num_attention_heads\": 2, \"vocab_size\": 17}");
	expect_open_fail("vocab_size differs from the embedding", dir, "config.json",
	                 "vocab_size is 17 but model.embed_tokens.weight has 16 rows");
	free(dir);

	dir = tiny_folder("layers",
	                  "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 5000,"
	                  " \"intermediate_size\": 16, \"num_attention_heads\": 2}");
	expect_open_fail("absurd layer count", dir, "config.json", "more than the 1024 duet supports");
	free(dir);
}

static void test_weight_errors(void)
{
	char *dir, *p, *q;

	dir = make_folder("noweights", tiny_config);
	expect_open_fail("no weights at all", dir, NULL, "no model weights");
	free(dir);

	/* A tensor for layer 3 in a 1-layer model. */
	dir = make_folder("layer3", tiny_config);
	p = path_join(dir, "model.safetensors");
	write_tiny_part(p, 0, N_TINY,
	                "\"model.layers.3.mlp.up_proj.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_"
	                "offsets\":[0,0]}");
	free(p);
	expect_open_fail("a layer past num_hidden_layers", dir, "model.safetensors",
	                 "belongs to layer 3, but config.json's num_hidden_layers is 1");
	free(dir);

	dir = make_folder("obias", tiny_config);
	p = path_join(dir, "model.safetensors");
	write_tiny_part(p, 0, N_TINY,
	                "\"model.layers.0.self_attn.o_proj.bias\":{\"dtype\":\"F32\",\"shape\":[0],\"data_"
	                "offsets\":[0,0]}");
	free(p);
	expect_open_fail("an output-projection bias", dir, "model.safetensors",
	                 "o_proj.bias': this bias is not supported");
	free(dir);

	dir = make_folder("badshard", tiny_config);
	p = path_join(dir, "model.safetensors");
	write_text(p, "short");
	free(p);
	expect_open_fail("a corrupt model.safetensors", dir, "model.safetensors", "too short");
	free(dir);

	/* Index naming a shard that is not there. */
	dir = make_folder("missingshard", tiny_config);
	p = path_join(dir, "model-00001-of-00002.safetensors");
	write_tiny_part(p, 0, 6, NULL);
	free(p);
	folder_file(dir, "model.safetensors.index.json",
	            "{\"metadata\": {}, \"weight_map\": {\"model.embed_tokens.weight\": "
	            "\"model-00001-of-00002.safetensors\","
	            " \"model.layers.0.mlp.up_proj.weight\": \"model-00002-of-00002.safetensors\"}}");
	expect_open_fail("index names a missing shard", dir, "model-00002-of-00002.safetensors",
	                 "no such file, though");
	free(dir);

	/* Index listing a tensor in a shard that does not hold it. */
	dir = make_folder("wrongshard", tiny_config);
	p = path_join(dir, "a.safetensors");
	write_tiny_part(p, 0, 6, NULL);
	free(p);
	p = path_join(dir, "b.safetensors");
	write_tiny_part(p, 6, N_TINY, NULL);
	free(p);
	folder_file(dir, "model.safetensors.index.json",
	            "{\"weight_map\": {\"model.embed_tokens.weight\": \"b.safetensors\","
	            " \"model.layers.0.mlp.up_proj.weight\": \"b.safetensors\"}}");
	expect_open_fail(
	        "index lists a tensor in the wrong shard", dir, "model.safetensors.index.json",
	        "lists tensor 'model.embed_tokens.weight' in 'b.safetensors', which does not hold it");
	free(dir);

	/* The same tensor in two shards. */
	dir = make_folder("twice", tiny_config);
	p = path_join(dir, "a.safetensors");
	write_tiny_part(p, 0, 6, NULL);
	free(p);
	p = path_join(dir, "b.safetensors");
	write_tiny_part(p, 5, N_TINY, NULL);
	free(p);
	folder_file(dir, "model.safetensors.index.json",
	            "{\"weight_map\": {\"model.embed_tokens.weight\": \"a.safetensors\","
	            " \"model.layers.0.mlp.up_proj.weight\": \"b.safetensors\"}}");
	p = path_join(dir, "a.safetensors");
	q = path_join(dir, "b.safetensors");
	{
		char *cause = NULL;
		struct model_file *mf = model_file_open(dir, &cause);
		tap_ok(mf == NULL, "a tensor in two shards: refused");
		TAP_ERR_HAS(cause, "model.layers.0.self_attn.k_proj.weight", "  message names the tensor");
		TAP_ERR_HAS(cause, p, "  message names one shard");
		TAP_ERR_HAS(cause, q, "  message names the other");
		model_file_close(mf);
		free(cause);
	}
	free(p);
	free(q);
	free(dir);

	dir = make_folder("escape", tiny_config);
	folder_file(dir, "model.safetensors.index.json",
	            "{\"weight_map\": {\"model.embed_tokens.weight\": \"../x.safetensors\"}}");
	expect_open_fail("index pointing outside the folder", dir, "model.safetensors.index.json",
	                 "must name a file inside the model folder");
	free(dir);

	dir = make_folder("nomap", tiny_config);
	folder_file(dir, "model.safetensors.index.json", "{\"metadata\": {}}");
	expect_open_fail("index without weight_map", dir, "model.safetensors.index.json",
	                 "field 'weight_map' is missing");
	free(dir);

	dir = make_folder("dupindex", tiny_config);
	folder_file(dir, "model.safetensors.index.json",
	            "{\"weight_map\": {\"a\": \"x.safetensors\",\n \"a\": \"y.safetensors\"}}");
	expect_open_fail("index with a duplicate key", dir, "model.safetensors.index.json", "duplicate");
	free(dir);
}

/* Loads that succeed: sharding without an index, special tokens, templates. */
static void test_good_folders(void)
{
	char *dir, *p, *cause = NULL;
	struct model_file *mf;
	const struct model_desc *d;

	/* Plain *.safetensors files, no index: all are read, in name order. */
	dir = make_folder("parts", tiny_config);
	p = path_join(dir, "part-2.safetensors");
	write_tiny_part(p, 6, N_TINY, NULL);
	free(p);
	p = path_join(dir, "part-1.safetensors");
	write_tiny_part(p, 0, 6, NULL);
	free(p);
	folder_file(dir, "tokenizer.json",
	            "{\"added_tokens\": [{\"id\": 14, \"content\": \"<|im_start|>\", \"special\": true},"
	            " {\"id\": 15, \"content\": \"<|im_end|>\", \"special\": true}],"
	            " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"<s>\": 1, \"</s>\": 2}, "
	            "\"merges\": []},"
	            " \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\"},"
	            " {\"type\": \"ByteLevel\"}]}}");
	folder_file(
	        dir, "tokenizer_config.json",
	        "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false}, \"eos_token\": \"<|im_end|>\","
	        " \"pad_token\": null, \"add_bos_token\": true, \"model_max_length\": "
	        "1000000000000000019884624838656,"
	        " \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"},"
	        " {\"name\": \"default\", \"template\": \"D\"}]}");
	folder_file(dir, "generation_config.json",
	            "{\"eos_token_id\": [2, 15], \"do_sample\": false, \"temperature\": 0.6, \"top_k\": 0}");
	mf = model_file_open(dir, &cause);
	if (tap_ok(mf != NULL, "a folder of unindexed parts opens")) {
		d = model_file_desc(mf);
		TAP_EQ_INT(d->arch, MODEL_ARCH_LLAMA, "arch llama");
		TAP_EQ_STR(d->name, "parts", "name is the folder's");
		TAP_EQ_INT(d->n_embd, 8, "hidden size");
		TAP_EQ_INT(d->head_dim, 4, "head dim = hidden / heads");
		TAP_EQ_INT(d->n_kv_heads, 1, "KV heads");
		TAP_EQ_INT(d->n_vocab, 16, "vocab from the embedding rows");
		TAP_EQ_INT(d->n_ctx_train, 64, "context length");
		tap_ok(d->rope_theta == 10000.0f, "rope_theta defaults to 10000");
		tap_ok(d->rms_eps == 1e-5f, "rms eps");
		tap_ok(d->tied_output, "tied output (no lm_head, tie_word_embeddings)");
		tap_ok(!d->qkv_bias, "no q/k/v bias");
		TAP_EQ_INT(d->rope_layout, ROPE_LAYOUT_HALF, "HF checkpoints rotate half");
		TAP_EQ_INT(model_file_source(mf), MODEL_SOURCE_SAFETENSORS, "source safetensors");
		/* 11 mapped tensors; rotary_emb.inv_freq is ignored. */
		TAP_EQ_INT(model_file_n_tensors(mf), N_TINY - 1,
		           "every known tensor exposed, inv_freq ignored");
		tap_ok(model_file_find(mf, "blk.0.ffn_down.weight") != NULL, "GGUF names");
		tap_ok(model_file_find(mf, "model.layers.0.mlp.down_proj.weight") == NULL, "no HF names");
		{
			const struct tensor *t = model_file_find(mf, "blk.0.ffn_down.weight");
			tap_ok(t && t->ne[0] == 16 && t->ne[1] == 8, "shape reversed: [8, 16] -> ne {16, 8}");
		}
		TAP_EQ_STR(d->tokenizer_model, "gpt2", "BPE + ByteLevel is gpt2");
		TAP_EQ_INT(d->bos_id, 1, "bos from {content: ...} via the model vocabulary");
		TAP_EQ_INT(d->eos_id, 15, "eos from added_tokens");
		TAP_EQ_INT(d->eot_id, 15, "<|im_end|> is the turn end");
		TAP_EQ_INT(d->pad_id, -1, "pad null");
		tap_ok(d->add_bos, "add_bos_token");
		TAP_EQ_INT(d->n_stop_ids, 2, "stop ids: 15 and 2 (deduplicated)");
		TAP_EQ_STR(d->chat_template, "D", "the template named 'default' of a list");
		tap_ok(d->temperature == 0.0f, "do_sample false means greedy");
		tap_ok(isnan(d->top_p), "top_p unset is NaN");
		TAP_EQ_INT(d->top_k, 0, "top_k as given");
		tap_ok(model_file_tokenizer_json(mf) &&
		               strstr(model_file_tokenizer_json(mf), "parts/tokenizer.json"),
		       "tokenizer.json path");
	} else {
		tap_diag("  %s", cause);
	}
	model_file_close(mf);
	free(cause);
	cause = NULL;

	/* Token texts the tokenizer does not know. */
	folder_file(dir, "tokenizer_config.json", "{\"eos_token\": \"<|nope|>\"}");
	expect_open_fail("eos_token not in tokenizer.json", dir, "tokenizer_config.json",
	                 "eos_token '<|nope|>' is not a token of");
	folder_file(dir, "tokenizer_config.json", "{\"chat_template\": 7}");
	expect_open_fail("chat_template a number", dir, "tokenizer_config.json",
	                 "field 'chat_template' must be a string or a list");
	folder_file(dir, "tokenizer_config.json", "{}");
	folder_file(dir, "generation_config.json", "{\"eos_token_id\": [2, 99]}");
	expect_open_fail("stop id past the vocabulary", dir, NULL,
	                 "token id 99 is outside the vocabulary (16 tokens)");
	folder_file(dir, "generation_config.json", "{\"eos_token_id\": \"2\"}");
	expect_open_fail("eos_token_id a string", dir, "generation_config.json",
	                 "field 'eos_token_id' must be an integer or a list of integers");
	folder_file(dir, "generation_config.json", "{\"temperature\": 0.6,\n\"top_p\": 0.9\n\"top_k\": 3}");
	expect_open_fail("generation_config.json syntax error", dir, "generation_config.json", "line 3");
	free(dir);

	/* lm_head present: a separate output unless tie_word_embeddings says otherwise. */
	for (int tie = 0; tie < 2; tie++) {
		char *cfg =
		        xasprintf("{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_hidden_layers\": 1,"
		                  " \"intermediate_size\": 16, \"num_attention_heads\": 2,"
		                  " \"num_key_value_heads\": 1, \"tie_word_embeddings\": %s}",
		                  tie ? "true" : "false");
		dir = make_folder(tie ? "lmhead-tied" : "lmhead", cfg);
		p = path_join(dir, "a.safetensors");
		write_tiny_part(p, 0, N_TINY, NULL);
		free(p);
		p = path_join(dir, "b.safetensors");
		write_st(p,
		         "{\"lm_head.weight\":{\"dtype\":\"F32\",\"shape\":[16,8],\"data_offsets\":[0,512]}}",
		         512);
		free(p);
		mf = model_file_open(dir, &cause);
		if (tap_ok(mf != NULL, "lm_head with tie_word_embeddings %s opens", tie ? "true" : "false")) {
			tap_ok(model_file_desc(mf)->tied_output == (tie == 1),
			       "  tied_output follows the config");
			tap_ok((model_file_find(mf, "output.weight") != NULL) == (tie == 0),
			       "  output.weight exposed only when untied");
		} else {
			tap_diag("  %s", cause);
		}
		model_file_close(mf);
		free(cause);
		cause = NULL;
		free(cfg);
		free(dir);
	}

	/* One file given directly, with a sibling that must not be read. */
	dir = make_folder("single", tiny_config);
	p = path_join(dir, "model.safetensors");
	write_tiny_part(p, 0, N_TINY, NULL);
	free(p);
	p = path_join(dir, "broken.safetensors");
	write_text(p, "garbage!garbage!");
	free(p);
	p = path_join(dir, "model.safetensors");
	mf = model_file_open(p, &cause);
	tap_ok(mf != NULL, "a single .safetensors file with config.json beside it opens");
	if (!mf)
		tap_diag("  %s", cause);
	else
		TAP_EQ_INT(model_file_desc(mf)->n_layers, 1, "  its config is read");
	model_file_close(mf);
	free(cause);
	cause = NULL;
	free(p);
	free(dir);
}

static void rm_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	free(cmd);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		tap_ok(0, "temporary directory");
		return tap_done();
	}
	test_valid_file();
	test_bad_files();
	test_config_errors();
	test_weight_errors();
	test_good_folders();
	rm_tree(tmpdir);
	return tap_done();
}
