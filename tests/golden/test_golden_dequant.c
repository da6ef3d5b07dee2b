/*
 * test_golden_dequant.c — infer/dtype.c's dequantisation against gguf-py's
 * numpy dequantiser, bit for bit. Fixtures come from
 * tests/golden/make_dequant_fixtures.py (format documented there):
 *   dequant/TYPE.bin         raw blocks and gguf-py's f32 values, per type;
 *   dequant/conversions.txt  SHA-256 of exhaustive f16/bf16 conversions;
 *   smollm2_dequant.sha256   SHA-256 of every dequantised tensor of the
 *                            real SmolLM2 GGUF (skipped when not fetched).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/dtype.h"
#include "infer/gguf.h"
#include "infer/util.h"
#include "tests/sha256.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

/* Elements dequantised at once for a model tensor: bounds memory at 16 MiB. */
#define CHUNK_ELEMS ((size_t)4 << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static float f32_from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Feed floats to a hash as little-endian bytes, whatever the host order. */
static void sha256_floats(struct sha256 *s, const float *x, size_t n)
{
	uint8_t buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t u = f32_bits(x[i]);
		buf[len++] = (uint8_t)u;
		buf[len++] = (uint8_t)(u >> 8);
		buf[len++] = (uint8_t)(u >> 16);
		buf[len++] = (uint8_t)(u >> 24);
		if (len == sizeof buf) {
			sha256_update(s, buf, len);
			len = 0;
		}
	}
	sha256_update(s, buf, len);
}

static void sha256_u16s(struct sha256 *s, const uint16_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b[2] = {(uint8_t)x[i], (uint8_t)(x[i] >> 8)};
		sha256_update(s, b, 2);
	}
}

static void check_sha256_vectors(void)
{
	/* FIPS 180-4 / NIST CSRC example digests. */
	static const struct {
		const char *msg;
		const char *hex;
	} vec[] = {
	        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	struct sha256 s;
	uint8_t d[32];
	char hex[65];

	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		sha256_init(&s);
		sha256_update(&s, vec[i].msg, strlen(vec[i].msg));
		sha256_final(&s, d);
		sha256_hex(d, hex);
		TAP_EQ_STR(hex, vec[i].hex, "sha256 test vector");
	}
	/* One million 'a', fed in uneven pieces to exercise the buffering. */
	char a[1000];
	memset(a, 'a', sizeof a);
	sha256_init(&s);
	for (size_t done = 0, step = 1; done < 1000000; done += step, step = step % 997 + 1) {
		if (step > 1000000 - done)
			step = 1000000 - done;
		sha256_update(&s, a, step);
	}
	sha256_final(&s, d);
	sha256_hex(d, hex);
	TAP_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	           "sha256 of a million 'a' in uneven pieces");
}

/*
 * Count elements whose bit patterns differ; with a name, also print the
 * first few differences (call it again after the failing test point).
 */
static size_t bits_differ(const float *got, const float *want, size_t n, const char *what)
{
	size_t n_diff = 0;

	for (size_t i = 0; i < n; i++) {
		if (f32_bits(got[i]) == f32_bits(want[i]))
			continue;
		if (what != NULL && n_diff < 8)
			tap_diag("  %s[%zu]: got 0x%08" PRIx32 " (%.9g), want 0x%08" PRIx32 " (%.9g)", what,
			         i, f32_bits(got[i]), (double)got[i], f32_bits(want[i]), (double)want[i]);
		n_diff++;
	}
	if (what != NULL && n_diff > 0)
		tap_diag("  %s: %zu of %zu elements differ", what, n_diff, n);
	return n_diff;
}

static void check_same_bits(const float *got, const float *want, size_t n, const char *what,
                            const char *point)
{
	if (!tap_ok(bits_differ(got, want, n, NULL) == 0, "%s: %zu elements %s", what, n, point))
		bits_differ(got, want, n, what);
}

static void check_type_fixture(const char *name)
{
	char rel[64], *cause = NULL;
	size_t len;

	snprintf(rel, sizeof rel, "dequant/%s.bin", name);
	const char *path = testmodels_fixture(rel);
	uint8_t *file = (uint8_t *)file_read_all(path, (size_t)16 << 20, &len, &cause);
	if (file == NULL) {
		tap_ok(0, "%s: fixture readable", name);
		tap_diag("  %s", cause);
		free(cause);
		return;
	}
	uint32_t type = len >= 16 ? le32(file + 4) : 0;
	uint32_t n_elems = len >= 16 ? le32(file + 8) : 0;
	uint32_t n_bytes = len >= 16 ? le32(file + 12) : 0;
	uint64_t want_bytes = 0;
	bool ok = len >= 16 && memcmp(file, "DQF1", 4) == 0 && dtype_traits(type) != NULL &&
	          dtype_bytes(type, n_elems, &want_bytes) == 0 && want_bytes == n_bytes &&
	          len == 16 + (size_t)n_bytes + 4 * (size_t)n_elems;
	if (!tap_ok(ok, "%s: fixture header consistent (%" PRIu32 " elements, %" PRIu32 " bytes)", name,
	            n_elems, n_bytes)) {
		free(file);
		return;
	}
	char point[64];
	snprintf(point, sizeof point, "%s: the fixture's type id has this name", name);
	TAP_EQ_STR(dtype_name(type), name, point);

	const uint8_t *raw = file + 16;
	float *want = xmalloc((size_t)n_elems * sizeof(float));
	float *got = xmalloc((size_t)n_elems * sizeof(float));
	for (size_t i = 0; i < n_elems; i++)
		want[i] = f32_from_bits(le32(raw + n_bytes + 4 * i));

	dtype_dequant(type, raw, got, n_elems);
	check_same_bits(got, want, n_elems, name, "bit-identical to gguf-py");

	/* The mapping hands out tensors at any offset: dequantise from an odd address. */
	uint8_t *odd = xmalloc((size_t)n_bytes + 1);
	memcpy(odd + 1, raw, n_bytes);
	memset(got, 0, (size_t)n_elems * sizeof(float));
	dtype_dequant(type, odd + 1, got, n_elems);
	check_same_bits(got, want, n_elems, name, "same from an unaligned source");

	/* Block by block equals all at once (no state carried between blocks). */
	const struct dtype_traits *tr = dtype_traits(type);
	size_t be = tr->block_elems, bb = tr->block_bytes;
	memset(got, 0, (size_t)n_elems * sizeof(float));
	for (size_t b = 0; b < n_elems / be; b++)
		dtype_dequant(type, raw + b * bb, got + b * be, be);
	check_same_bits(got, want, n_elems, name, "one block at a time gives the same");

	free(odd);
	free(got);
	free(want);
	free(file);
}

/* The f32 inputs of make_dequant_fixtures.py's f32_inputs(), in its order. */
static uint32_t *f32_inputs(size_t *n)
{
	size_t n_hash = (size_t)1 << 20, n_mants = 23 * 3 * 2 + 1;
	uint32_t mants[23 * 3 * 2 + 1], *x;
	size_t k = 0;

	for (int s = 0; s < 23; s++) {
		for (int d = -1; d <= 1; d++) {
			uint32_t m = ((1u << s) + (uint32_t)d) & 0x7fffff;
			mants[k++] = m;
			mants[k++] = m | 0x2000;
		}
	}
	mants[k++] = 0x7fffff;
	*n = n_hash + 512 * n_mants;
	x = xmalloc(*n * sizeof *x);
	for (size_t i = 0; i < n_hash; i++)
		x[i] = (uint32_t)(i * 2654435761u);
	k = n_hash;
	for (uint32_t se = 0; se < 512; se++)
		for (size_t j = 0; j < n_mants; j++)
			x[k++] = se << 23 | mants[j];
	return x;
}

/* "NAME N SHA256" lines of conversions.txt; returns false when absent. */
static bool conversion_want(const char *text, const char *name, size_t *n, char hex[65])
{
	size_t name_len = strlen(name);
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long nn;
		if (strncmp(line, name, name_len) == 0 && line[name_len] == ' ' &&
		    sscanf(line + name_len, " %llu %64s", &nn, hex) == 2) {
			*n = (size_t)nn;
			return true;
		}
	}
	return false;
}

static void check_conversion(const char *text, const char *name, size_t n, const char *got_hex)
{
	char want_hex[65] = "";
	size_t want_n = 0;

	if (!conversion_want(text, name, &want_n, want_hex)) {
		tap_ok(0, "%s: listed in conversions.txt", name);
		return;
	}
	TAP_EQ_INT(n, want_n, name);
	TAP_EQ_STR(got_hex, want_hex, name);
}

static void check_conversions(void)
{
	char *cause = NULL, hex[65];
	size_t len, n;
	uint8_t d[32];
	struct sha256 s;

	char *text = file_read_all(testmodels_fixture("dequant/conversions.txt"), 1 << 16, &len, &cause);
	if (text == NULL) {
		tap_ok(0, "conversions.txt readable");
		tap_diag("  %s", cause);
		free(cause);
		return;
	}

	float *f = xmalloc(65536 * sizeof *f);
	for (uint32_t h = 0; h < 65536; h++)
		f[h] = dtype_f16_to_f32((uint16_t)h);
	sha256_init(&s);
	sha256_floats(&s, f, 65536);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	check_conversion(text, "f16_to_f32", 65536, hex);

	for (uint32_t h = 0; h < 65536; h++)
		f[h] = dtype_bf16_to_f32((uint16_t)h);
	sha256_init(&s);
	sha256_floats(&s, f, 65536);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	check_conversion(text, "bf16_to_f32", 65536, hex);
	free(f);

	uint32_t *x = f32_inputs(&n);
	uint16_t *h = xmalloc(n * sizeof *h);
	for (size_t i = 0; i < n; i++)
		h[i] = dtype_f32_to_f16(f32_from_bits(x[i]));
	sha256_init(&s);
	sha256_u16s(&s, h, n);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	check_conversion(text, "f32_to_f16", n, hex);

	for (size_t i = 0; i < n; i++)
		h[i] = dtype_f32_to_bf16(f32_from_bits(x[i]));
	sha256_init(&s);
	sha256_u16s(&s, h, n);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	check_conversion(text, "f32_to_bf16", n, hex);

	free(h);
	free(x);
	free(text);
}

/* Dequantise a tensor in row chunks and hash its f32 bytes. */
static void tensor_sha256(const struct tensor *t, float *buf, char hex[65])
{
	const struct dtype_traits *tr = dtype_traits(t->type);
	uint64_t n = tensor_n_elems(t), row = t->ne[0];
	size_t rows_per_chunk = row >= CHUNK_ELEMS ? 1 : CHUNK_ELEMS / row;
	const uint8_t *src = t->data;
	struct sha256 s;
	uint8_t d[32];

	sha256_init(&s);
	for (uint64_t done = 0; done < n;) {
		size_t take = (size_t)(n - done < rows_per_chunk * row ? n - done : rows_per_chunk * row);
		dtype_dequant(t->type, src + done / tr->block_elems * tr->block_bytes, buf, take);
		sha256_floats(&s, buf, take);
		done += take;
	}
	sha256_final(&s, d);
	sha256_hex(d, hex);
}

static void check_model(void)
{
	const char *path = testmodels_path("SmolLM2-135M-Instruct.Q4_1.gguf");
	char *cause = NULL, *text = NULL;
	struct gguf *g = NULL;
	float *buf = NULL;
	size_t len, n_lines = 0;

	if (path == NULL)
		return;
	g = gguf_open(path, &cause);
	if (!tap_ok(g != NULL, "gguf_open SmolLM2")) {
		tap_diag("  %s", cause);
		goto out;
	}
	text = file_read_all(testmodels_fixture("smollm2_dequant.sha256"), 1 << 20, &len, &cause);
	if (!tap_ok(text != NULL, "smollm2_dequant.sha256 readable")) {
		tap_diag("  %s", cause);
		goto out;
	}

	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char name[256], type[16], want_hex[65], got_hex[65];
		unsigned long long n_elems;

		if (sscanf(line, "%255s %15s %llu %64s", name, type, &n_elems, want_hex) != 4) {
			tap_ok(0, "fixture line parses: %s", line);
			continue;
		}
		n_lines++;
		const struct tensor *t = gguf_find_tensor(g, name);
		if (t == NULL) {
			tap_ok(0, "%s: present in the model", name);
			continue;
		}
		if (strcmp(dtype_name(t->type), type) != 0 || tensor_n_elems(t) != n_elems ||
		    !dtype_traits(t->type)->supported || t->ne[0] % dtype_traits(t->type)->block_elems != 0) {
			tap_ok(0, "%s: %s, %llu elements", name, type, n_elems);
			tap_diag("  model says %s, %" PRIu64 " elements", dtype_name(t->type),
			         tensor_n_elems(t));
			continue;
		}
		if (buf == NULL)
			buf = xmalloc(CHUNK_ELEMS * sizeof(float));
		if (t->ne[0] > CHUNK_ELEMS) {
			tap_ok(0, "%s: row of %" PRIu64 " elements fits the chunk", name, t->ne[0]);
			continue;
		}
		tensor_sha256(t, buf, got_hex);
		if (!tap_ok(strcmp(got_hex, want_hex) == 0, "%s (%s, %llu elements) matches gguf-py", name,
		            type, n_elems))
			tap_diag("  sha256 got %s, want %s", got_hex, want_hex);
	}
	TAP_EQ_INT(n_lines, gguf_n_tensors(g), "every tensor of the model is in the fixture");
out:
	free(buf);
	free(text);
	free(cause);
	gguf_close(g);
}

int main(void)
{
	static const char *const types[] = {"F32",  "F16",  "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
	                                    "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};

	check_sha256_vectors();
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		check_type_fixture(types[i]);
	check_conversions();
	check_model();
	return tap_done();
}
