/*
 * test_golden_quant.c — duet's quantisers (infer/quantize.c) against the
 * bytes gguf-py's quantize() wrote (tests/golden/make_quant_fixtures.py):
 * equal bit for bit for every type quantize_matches_gguf_py() claims. The
 * K-quants, which have no reference quantiser, are checked for validity
 * instead: dtype_dequant (itself checked against gguf-py by
 * test_golden_dequant) must give back values within a bound of the input
 * that follows from the block format.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/dtype.h"
#include "infer/quantize.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

static void *load(const char *name, size_t *len)
{
	char *cause = NULL;
	char *data = file_read_all(testmodels_fixture(name), 1u << 24, len, &cause);
	if (!data) {
		tap_diag("%s", cause);
		free(cause);
	}
	return data;
}

/* Compare quantize_row(type, input) with the fixture's bytes; report the first differing block. */
static void check_exact(const char *input_name, const char *expect_name, uint32_t type)
{
	size_t in_len = 0, want_len = 0;
	float *in = load(input_name, &in_len);
	uint8_t *want = load(expect_name, &want_len), *got = NULL;
	const struct dtype_traits *tr = dtype_traits(type);
	uint64_t bytes = 0;
	char name[128];

	snprintf(name, sizeof name, "%s of %s equals gguf-py's %s", dtype_name(type), input_name,
	         expect_name);
	if (!in || !want || !tr || in_len % 4 != 0 || dtype_bytes(type, in_len / 4, &bytes) < 0) {
		tap_ok(0, "%s (fixture unreadable or of the wrong size)", name);
		goto done;
	}
	if (bytes != want_len) {
		tap_ok(0, "%s", name);
		tap_diag("  expected %zu bytes for %zu values, the fixture has %zu", (size_t)bytes,
		         in_len / 4, want_len);
		goto done;
	}
	got = xmalloc(want_len);
	memset(got, 0xA5, want_len);
	if (quantize_row(type, in, got, in_len / 4) < 0) {
		tap_ok(0, "%s (quantize_row refused)", name);
		goto done;
	}
	if (tap_ok(memcmp(got, want, want_len) == 0, "%s", name))
		goto done;
	for (size_t off = 0, shown = 0; off < want_len && shown < 3; off += tr->block_bytes) {
		if (memcmp(got + off, want + off, tr->block_bytes) == 0)
			continue;
		size_t b = off / tr->block_bytes;
		tap_diag("  block %zu (values %zu..%zu, first %.9g):", b, b * tr->block_elems,
		         (b + 1) * tr->block_elems - 1, (double)in[b * tr->block_elems]);
		for (uint32_t k = 0; k < tr->block_bytes; k++)
			if (got[off + k] != want[off + k]) {
				tap_diag("    byte %u: got 0x%02x, want 0x%02x", k, got[off + k],
				         want[off + k]);
				break;
			}
		shown++;
	}
done:
	free(in);
	free(want);
	free(got);
}

/* Rows of normal-ish data at several scales: the K-quant error bound per super-block. */
static void check_k_quant(uint32_t type, int levels)
{
	enum { N = 256 * 48 };
	const struct dtype_traits *tr = dtype_traits(type);
	float *x = xmalloc(N * sizeof *x), *back = xmalloc(N * sizeof *back);
	uint8_t *q = xmalloc((size_t)N / tr->block_elems * tr->block_bytes);
	uint64_t s = 0x243f6a8885a308d3ull;
	double worst = 0;
	int bad_block = -1;

	for (size_t i = 0; i < N; i++) {
		double u = 0;
		for (int k = 0; k < 4; k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			u += (double)(s >> 40) / (double)(1ull << 24);
		}
		/* Irwin-Hall(4), centred, at 1e-2 .. 1e3 (smaller scales underflow the f16 super-block
		 * scale). */
		x[i] = (float)((u - 2.0) * pow(10.0, (double)(i / 256 % 6) - 2.0));
	}
	x[5] = 0; /* a zero and a constant sub-block */
	for (int i = 256; i < 288; i++)
		x[i] = 0.5f;
	TAP_EQ_INT(quantize_row(type, x, q, N), 0, "K-quant rows quantise");
	dtype_dequant(type, q, back, N);
	for (size_t b = 0; b < N / 256; b++) {
		float amax = 0;
		for (int i = 0; i < 256; i++)
			if (fabsf(x[b * 256 + i]) > amax)
				amax = fabsf(x[b * 256 + i]);
		for (int i = 0; i < 256; i++) {
			/*
			 * A sub-block's step is at most its range over `levels`, and its
			 * 6/8-bit scale rounds to within half a scale step of the
			 * super-block's largest: 2 * amax / levels per element is loose
			 * but catches any misplaced bit or nibble.
			 */
			double err = fabs((double)back[b * 256 + i] - (double)x[b * 256 + i]) /
			             (2.0 * amax / levels);
			if (amax > 0 && err > worst) {
				worst = err;
				if (err > 1)
					bad_block = (int)b;
			}
		}
	}
	tap_ok(bad_block < 0, "%s round trip stays within 2 * max / %d per super-block", dtype_name(type),
	       levels);
	tap_diag("  worst error: %.3f of the bound%s", worst, bad_block >= 0 ? " (over it)" : "");
	free(x);
	free(back);
	free(q);
}

int main(void)
{
	static const struct {
		uint32_t type;
		const char *file;
	} exact[] = {
	        {DTYPE_F16, "quant/general.f16.bin"},   {DTYPE_BF16, "quant/general.bf16.bin"},
	        {DTYPE_Q8_0, "quant/general.q8_0.bin"}, {DTYPE_Q4_0, "quant/general.q4_0.bin"},
	        {DTYPE_Q4_1, "quant/general.q4_1.bin"}, {DTYPE_Q5_0, "quant/general.q5_0.bin"},
	        {DTYPE_Q5_1, "quant/general.q5_1.bin"},
	};
	size_t n_exact = sizeof exact / sizeof exact[0];
	float x[32] = {0};
	uint8_t out[64];

	for (size_t i = 0; i < n_exact; i++) {
		tap_ok(quantize_matches_gguf_py(exact[i].type), "%s claims gguf-py's bytes",
		       dtype_name(exact[i].type));
		check_exact("quant/general.f32", exact[i].file, exact[i].type);
	}
	check_exact("quant/special.f32", "quant/special.f16.bin", DTYPE_F16);
	check_exact("quant/special_bf16.f32", "quant/special_bf16.bf16.bin", DTYPE_BF16);

	check_k_quant(DTYPE_Q4_K, 15);
	check_k_quant(DTYPE_Q5_K, 31);
	check_k_quant(DTYPE_Q6_K, 63);
	tap_ok(!quantize_matches_gguf_py(DTYPE_Q4_K), "Q4_K does not claim gguf-py's bytes");

	TAP_EQ_INT(quantize_row(DTYPE_Q8_0, x, out, 31), -1, "a partial block is refused");
	TAP_EQ_INT(quantize_row(DTYPE_Q2_K, x, out, 256), -1, "an unsupported type is refused");
	TAP_EQ_INT(quantize_row(77, x, out, 32), -1, "an unknown type id is refused");
	tap_ok(!quantize_supported(DTYPE_Q8_1), "Q8_1 is not offered");
	return tap_done();
}
