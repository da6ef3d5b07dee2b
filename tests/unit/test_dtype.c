/*
 * test_dtype.c — infer/dtype.c: type traits and sizes, size arithmetic,
 * half/bfloat16 conversions at their edges, hand-built blocks. The bulk
 * bit-for-bit comparison with gguf-py is tests/golden/test_golden_dequant.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "infer/dtype.h"
#include "tests/tap.h"

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

/*
 * Expected traits. Ids are the GGUF spec's ggml_type enum (ggml/docs/gguf.md);
 * block sizes are the struct sizes of ggml-common.h, written out from the
 * layouts so that they do not come from duet's table. They equal gguf-py's
 * GGML_QUANT_SIZES (gguf/constants.py) except Q8_1, where gguf-py 0.19 keeps
 * the 40 bytes of ggml's old float d, s and ggml-common.h asserts 36.
 * QK_K = 256, K_SCALE_SIZE = 12.
 */
static const struct {
	uint32_t id;
	const char *name;
	uint32_t block_elems, block_bytes;
	bool supported;
} want_traits[] = {
        {0, "F32", 1, 4, true},
        {1, "F16", 1, 2, true},
        {2, "Q4_0", 32, 2 + 32 / 2, true},                         /* d, qs */
        {3, "Q4_1", 32, 2 * 2 + 32 / 2, true},                     /* d, m, qs */
        {6, "Q5_0", 32, 2 + 4 + 32 / 2, true},                     /* d, qh, qs */
        {7, "Q5_1", 32, 2 * 2 + 4 + 32 / 2, true},                 /* d, m, qh, qs */
        {8, "Q8_0", 32, 2 + 32, true},                             /* d, qs */
        {9, "Q8_1", 32, 2 * 2 + 32, false},                        /* d, s, qs; gguf-py's 40 is stale */
        {10, "Q2_K", 256, 256 / 16 + 256 / 4 + 2 * 2, true},       /* scales, qs, d, dmin */
        {11, "Q3_K", 256, 256 / 8 + 256 / 4 + 12 + 2, true},       /* hmask, qs, scales, d */
        {12, "Q4_K", 256, 2 * 2 + 12 + 256 / 2, true},             /* d, dmin, scales, qs */
        {13, "Q5_K", 256, 2 * 2 + 12 + 256 / 8 + 256 / 2, true},   /* d, dmin, scales, qh, qs */
        {14, "Q6_K", 256, 256 / 2 + 256 / 4 + 256 / 16 + 2, true}, /* ql, qh, scales, d */
        {15, "Q8_K", 256, 4 + 256 + 256 / 16 * 2, false},          /* f32 d, qs, i16 bsums */
        {16, "IQ2_XXS", 256, 2 + 256 / 8 * 2, false},
        {17, "IQ2_XS", 256, 2 + 256 / 8 * 2 + 256 / 32, false},
        {18, "IQ3_XXS", 256, 2 + 3 * 256 / 8, false},
        {19, "IQ1_S", 256, 2 + 256 / 8 + 256 / 16, false},
        {20, "IQ4_NL", 32, 2 + 32 / 2, false},
        {21, "IQ3_S", 256, 2 + 256 / 4 + 256 / 32 + 256 / 8 + 256 / 64, false},
        {22, "IQ2_S", 256, 2 + 256 / 4 + 256 / 16, false},
        {23, "IQ4_XS", 256, 2 + 2 + 256 / 64 + 256 / 2, false},
        {24, "I8", 1, 1, false},
        {25, "I16", 1, 2, false},
        {26, "I32", 1, 4, false},
        {27, "I64", 1, 8, false},
        {28, "F64", 1, 8, false},
        {29, "IQ1_M", 256, 256 / 8 + 256 / 16 + 256 / 32, false},
        {30, "BF16", 1, 2, true},
        {34, "TQ1_0", 256, (256 - 4 * 256 / 64) / 5 + 256 / 64 + 2, false},
        {35, "TQ2_0", 256, 256 / 4 + 2, false},
        {39, "MXFP4", 32, 1 + 32 / 2, false},
};

static void check_traits(void)
{
	char what[96];

	for (size_t i = 0; i < sizeof want_traits / sizeof want_traits[0]; i++) {
		const struct dtype_traits *tr = dtype_traits(want_traits[i].id);
		snprintf(what, sizeof what,
		         "type %" PRIu32 " is %s (%" PRIu32 " elements in %" PRIu32 " bytes, %s)",
		         want_traits[i].id, want_traits[i].name, want_traits[i].block_elems,
		         want_traits[i].block_bytes,
		         want_traits[i].supported ? "supported" : "not supported");
		if (!tap_ok(tr != NULL && strcmp(tr->name, want_traits[i].name) == 0 &&
		                    tr->block_elems == want_traits[i].block_elems &&
		                    tr->block_bytes == want_traits[i].block_bytes &&
		                    tr->supported == want_traits[i].supported,
		            "%s", what)) {
			if (tr == NULL)
				tap_diag("  got no traits");
			else
				tap_diag("  got %s, %" PRIu32 " elements in %" PRIu32 " bytes, supported %d",
				         tr->name, tr->block_elems, tr->block_bytes, tr->supported);
		}
		TAP_EQ_STR(dtype_name(want_traits[i].id), want_traits[i].name, "dtype_name of a known id");
	}

	/* Retired ids (31-33, 36-38), ids past the table, the largest u32. */
	static const uint32_t unknown[] = {4, 5, 31, 32, 33, 36, 37, 38, DTYPE_COUNT_, 41, 1000, UINT32_MAX};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		char want[32];
		snprintf(want, sizeof want, "type %" PRIu32, unknown[i]);
		tap_ok(dtype_traits(unknown[i]) == NULL, "%s has no traits", want);
		TAP_EQ_STR(dtype_name(unknown[i]), want, "dtype_name of an unknown id");
	}
	TAP_EQ_STR(dtype_name(16), "IQ2_XXS", "an unsupported type still has its name for messages");
	tap_ok(!dtype_traits(16)->supported, "IQ2_XXS is not supported");
}

static void *name_in_thread(void *arg)
{
	(void)arg;
	return (void *)dtype_name(77);
}

static void check_name_thread_local(void)
{
	pthread_t th;
	void *other = NULL;
	const char *mine = dtype_name(78);

	if (!tap_ok(pthread_create(&th, NULL, name_in_thread, NULL) == 0, "thread started"))
		return;
	pthread_join(th, &other);
	tap_ok(other != (void *)mine, "each thread has its own unknown-type buffer");
	TAP_EQ_STR(mine, "type 78", "another thread's dtype_name leaves this thread's text alone");
}

static void check_bytes(void)
{
	uint64_t b = 12345;

	TAP_EQ_INT(dtype_bytes(DTYPE_F32, 0, &b), 0, "F32 zero elements");
	TAP_EQ_INT(b, 0, "F32 zero elements take 0 bytes");
	TAP_EQ_INT(dtype_bytes(DTYPE_F32, 576, &b), 0, "F32 576 elements");
	TAP_EQ_INT(b, 2304, "F32 576 elements take 2304 bytes");
	TAP_EQ_INT(dtype_bytes(DTYPE_BF16, 3, &b), 0, "BF16 3 elements");
	TAP_EQ_INT(b, 6, "BF16 3 elements take 6 bytes");
	TAP_EQ_INT(dtype_bytes(DTYPE_Q4_1, 576 * 1536, &b), 0, "Q4_1 576x1536");
	TAP_EQ_INT(b, 576 * 1536 / 32 * 20, "Q4_1 576x1536 takes 552960 bytes");
	TAP_EQ_INT(dtype_bytes(DTYPE_Q6_K, 256 * 3, &b), 0, "Q6_K 3 blocks");
	TAP_EQ_INT(b, 630, "Q6_K 3 blocks take 630 bytes");
	TAP_EQ_INT(dtype_bytes(16, 512, &b), 0, "IQ2_XXS sizes are known though not supported");
	TAP_EQ_INT(b, 132, "IQ2_XXS 2 blocks take 132 bytes");

	TAP_EQ_INT(dtype_bytes(DTYPE_Q4_0, 33, &b), -1, "Q4_0: 33 elements is not whole blocks");
	TAP_EQ_INT(dtype_bytes(DTYPE_Q4_K, 128, &b), -1, "Q4_K: half a super-block refused");
	TAP_EQ_INT(dtype_bytes(DTYPE_Q4_K, UINT64_MAX, &b), -1, "Q4_K: 2^64-1 elements refused");
	TAP_EQ_INT(dtype_bytes(31, 32, &b), -1, "unknown type refused");
	TAP_EQ_INT(dtype_bytes(UINT32_MAX, 1, &b), -1, "type 2^32-1 refused");

	/* Overflow edges: the largest count that fits and the next block. */
	TAP_EQ_INT(dtype_bytes(DTYPE_F32, UINT64_MAX / 4, &b), 0, "F32 (2^64-1)/4 elements fit");
	TAP_EQ_INT(b, UINT64_MAX / 4 * 4, "F32 (2^64-1)/4 elements take 2^64-4 bytes");
	TAP_EQ_INT(dtype_bytes(DTYPE_F32, UINT64_MAX / 4 + 1, &b), -1, "F32 2^62 elements overflow");
	TAP_EQ_INT(dtype_bytes(DTYPE_F16, (uint64_t)1 << 63, &b), -1, "F16 2^63 elements overflow");
	/* Q8_0 is the quantised type with more bytes than elements (34 per 32). */
	uint64_t max_blocks = UINT64_MAX / 34;
	TAP_EQ_INT(dtype_bytes(DTYPE_Q8_0, max_blocks * 32, &b), 0,
	           "Q8_0 largest whole-block count that fits");
	TAP_EQ_INT(b, max_blocks * 34, "Q8_0 size at the limit");
	TAP_EQ_INT(dtype_bytes(DTYPE_Q8_0, (max_blocks + 1) * 32, &b), -1, "Q8_0 one block more overflows");
	/* Q6_K packs 256 elements in 210 bytes: no element count overflows. */
	TAP_EQ_INT(dtype_bytes(DTYPE_Q6_K, UINT64_MAX - 255, &b), 0, "Q6_K 2^64-256 elements fit");
	TAP_EQ_INT(b, (UINT64_MAX / 256) * 210, "Q6_K 2^56-1 blocks take their size");
}

/*
 * Conversion edge cases. Expected bit patterns were produced once with numpy
 * 2.4 (numpy.float16 <-> numpy.float32 astype) and gguf-py 0.19
 * (gguf.quants.BF16.quantize_blocks / dequantize, ggml's rounding), e.g.
 *   np.array(h, np.uint16).view(np.float16).astype(np.float32).view(np.uint32)
 * They are an independent reference, not duet's output.
 */
static const struct {
	uint16_t h;
	uint32_t f;
} f16_to_f32_cases[] = {
        {0x0000, 0x00000000}, /* +0 */
        {0x8000, 0x80000000}, /* -0 */
        {0x0001, 0x33800000}, /* smallest subnormal, 2^-24 */
        {0x8001, 0xb3800000}, {0x0002, 0x34000000}, {0x0155, 0x37aa8000}, {0x0200, 0x38000000},
        {0x03ff, 0x387fc000}, /* largest subnormal */
        {0x0400, 0x38800000}, /* smallest normal, 2^-14 */
        {0x0401, 0x38802000}, {0x3555, 0x3eaaa000}, {0x3bff, 0x3f7fe000}, {0x3c00, 0x3f800000}, /* 1 */
        {0x3c01, 0x3f802000}, {0xbc00, 0xbf800000}, {0x4000, 0x40000000}, {0x7bff, 0x477fe000}, /* 65504 */
        {0xfbff, 0xc77fe000}, {0x7c00, 0x7f800000},                                             /* inf */
        {0xfc00, 0xff800000}, {0x7c01, 0x7f802000}, /* signalling NaN: payload kept */
        {0x7d00, 0x7fa00000}, {0x7e00, 0x7fc00000}, /* quiet NaN */
        {0x7fff, 0x7fffe000}, {0xfe01, 0xffc02000},
};

static const struct {
	uint32_t f;
	uint16_t h;
} f32_to_f16_cases[] = {
        {0x00000000, 0x0000}, {0x80000000, 0x8000}, {0x00000001, 0x0000}, /* f32 subnormal underflows */
        {0x33000000, 0x0000},                                             /* 2^-25: tie, to even (0) */
        {0x33000001, 0x0001},                                             /* just above the tie */
        {0x337fffff, 0x0001}, {0x33800000, 0x0001}, {0x33c00000, 0x0002}, /* 1.5 * 2^-24: tie, to even (2) */
        {0x33c00001, 0x0002}, {0x34200000, 0x0002},                       /* 2.5 * 2^-24: tie, to even (2) */
        {0x387fc000, 0x03ff}, {0x387fe000, 0x0400}, /* rounds up out of the subnormals */
        {0x387ff000, 0x0400}, {0x387fffff, 0x0400}, {0x38800000, 0x0400}, {0x3f800000, 0x3c00},
        {0x3f801000, 0x3c00},                                             /* 1 + 2^-11: tie, to even */
        {0x3f801001, 0x3c01}, {0x3f802000, 0x3c01}, {0x3f803000, 0x3c02}, /* tie, to even (up) */
        {0x3f7ff000, 0x3c00}, {0x3f7ff001, 0x3c00}, {0x477fe000, 0x7bff}, /* 65504 */
        {0x477fefff, 0x7bff},                                             /* just below 65520 */
        {0x477ff000, 0x7c00},                                             /* 65520 rounds to inf */
        {0x47800000, 0x7c00}, {0x7f7fffff, 0x7c00}, {0x7f800000, 0x7c00}, {0xff800000, 0xfc00},
        {0x7f800001, 0x7c01}, /* NaN whose kept payload bits are 0 stays NaN */
        {0x7f802000, 0x7c01}, {0x7fc00000, 0x7e00}, {0xffc00001, 0xfe00}, {0x7fffffff, 0x7fff},
        {0x3eaaaaab, 0x3555}, {0xbdcccccd, 0xae66}, {0x00800000, 0x0000}, {0x0001ffff, 0x0000},
};

static const struct {
	uint32_t f;
	uint16_t b;
} f32_to_bf16_cases[] = {
        {0x00000000, 0x0000}, {0x80000000, 0x8000}, {0x00000001, 0x0000},
        {0x0001ffff, 0x0002}, /* subnormals round too (no flush to zero) */
        {0x00800000, 0x0080}, {0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, /* tie, to even (down) */
        {0x3f818000, 0x3f82},                                             /* tie, to even (up) */
        {0x3f808001, 0x3f81}, {0x3eaaaaab, 0x3eab}, {0xbdcccccd, 0xbdcd},
        {0x7f7f8000, 0x7f80}, /* rounds to inf */
        {0x7f7fffff, 0x7f80}, {0xff7f8000, 0xff80}, {0x7f800000, 0x7f80},
        {0xff800000, 0xff80}, {0x7f800001, 0x7fc0}, /* NaN made quiet, never rounded into inf */
        {0x7fa00000, 0x7fe0}, {0xffa00001, 0xffe0}, {0x7fc00000, 0x7fc0},
        {0xffc00001, 0xffc0}, {0x7fffffff, 0x7fff},
};

static const struct {
	uint16_t b;
	uint32_t f;
} bf16_to_f32_cases[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x0001, 0x00010000},
        {0x3f80, 0x3f800000}, {0x7f80, 0x7f800000}, {0xff80, 0xff800000},
        {0x7f81, 0x7f810000}, {0x7fc0, 0x7fc00000}, {0xffff, 0xffff0000},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void check_conversions(void)
{
	for (size_t i = 0; i < N_OF(f16_to_f32_cases); i++) {
		uint32_t got = f32_bits(dtype_f16_to_f32(f16_to_f32_cases[i].h));
		if (!tap_ok(got == f16_to_f32_cases[i].f, "f16 0x%04x -> f32 0x%08" PRIx32,
		            f16_to_f32_cases[i].h, f16_to_f32_cases[i].f))
			tap_diag("  got 0x%08" PRIx32, got);
	}
	for (size_t i = 0; i < N_OF(f32_to_f16_cases); i++) {
		uint16_t got = dtype_f32_to_f16(f32_from_bits(f32_to_f16_cases[i].f));
		if (!tap_ok(got == f32_to_f16_cases[i].h, "f32 0x%08" PRIx32 " -> f16 0x%04x",
		            f32_to_f16_cases[i].f, f32_to_f16_cases[i].h))
			tap_diag("  got 0x%04x", got);
	}
	for (size_t i = 0; i < N_OF(f32_to_bf16_cases); i++) {
		uint16_t got = dtype_f32_to_bf16(f32_from_bits(f32_to_bf16_cases[i].f));
		if (!tap_ok(got == f32_to_bf16_cases[i].b, "f32 0x%08" PRIx32 " -> bf16 0x%04x",
		            f32_to_bf16_cases[i].f, f32_to_bf16_cases[i].b))
			tap_diag("  got 0x%04x", got);
	}
	for (size_t i = 0; i < N_OF(bf16_to_f32_cases); i++) {
		uint32_t got = f32_bits(dtype_bf16_to_f32(bf16_to_f32_cases[i].b));
		if (!tap_ok(got == bf16_to_f32_cases[i].f, "bf16 0x%04x -> f32 0x%08" PRIx32,
		            bf16_to_f32_cases[i].b, bf16_to_f32_cases[i].f))
			tap_diag("  got 0x%08" PRIx32, got);
	}

	/* Every finite half survives f16 -> f32 -> f16 (a property, not a reference). */
	int bad = -1;
	for (uint32_t h = 0; h < 0x10000 && bad < 0; h++)
		if ((h & 0x7c00) != 0x7c00 && dtype_f32_to_f16(dtype_f16_to_f32((uint16_t)h)) != h)
			bad = (int)h;
	if (!tap_ok(bad < 0, "every finite half round-trips through f32"))
		tap_diag("  0x%04x does not", bad);
}

/* Compare a dequantised block with values read off ggml-common.h's layout. */
static void check_block(uint32_t type, const uint8_t *block, const float *want, size_t n, const char *what)
{
	float got[256];
	size_t bad = n;

	dtype_dequant(type, block, got, n);
	for (size_t i = 0; i < n && bad == n; i++)
		if (f32_bits(got[i]) != f32_bits(want[i]))
			bad = i;
	if (!tap_ok(bad == n, "%s", what))
		tap_diag("  element %zu: got %.9g, want %.9g", bad, (double)got[bad], (double)want[bad]);
}

static void check_hand_blocks(void)
{
	uint8_t b[256];
	float want[256];

	/* Q4_0: d = 1.0 (0x3c00); element j is the low nibble of qs[j], j+16 the high; value q - 8. */
	memset(b, 0, sizeof b);
	b[0] = 0x00, b[1] = 0x3c;
	for (int j = 0; j < 16; j++) {
		b[2 + j] = (uint8_t)(j | (15 - j) << 4);
		want[j] = (float)(j - 8);
		want[j + 16] = (float)(7 - j);
	}
	check_block(DTYPE_Q4_0, b, want, 32, "Q4_0 hand-built block: nibble order and offset 8");

	/* Q4_1: d = 2.0, m = -1.0; low nibbles 15, high nibbles 0. */
	memset(b, 0, sizeof b);
	b[1] = 0x40, b[3] = 0xbc;
	for (int j = 0; j < 16; j++) {
		b[4 + j] = 0x0f;
		want[j] = 29.0f;
		want[j + 16] = -1.0f;
	}
	check_block(DTYPE_Q4_1, b, want, 32, "Q4_1 hand-built block: d * q + m");

	/* Q5_0: d = 0.5; qh has the 5th bit of elements 16..31 only; qs = 0. */
	memset(b, 0, sizeof b);
	b[1] = 0x38;
	b[4] = 0xff, b[5] = 0xff; /* qh little-endian: bits 16..31 */
	for (int j = 0; j < 16; j++) {
		want[j] = -8.0f;
		want[j + 16] = 0.0f;
	}
	check_block(DTYPE_Q5_0, b, want, 32, "Q5_0 hand-built block: qh bit j is element j");

	/* Q8_0: d = 0.5; signed bytes j - 16. */
	memset(b, 0, sizeof b);
	b[1] = 0x38;
	for (int j = 0; j < 32; j++) {
		b[2 + j] = (uint8_t)(int8_t)(j - 16);
		want[j] = (float)(j - 16) * 0.5f;
	}
	check_block(DTYPE_Q8_0, b, want, 32, "Q8_0 hand-built block: signed quants");

	/* Q6_K: d = 1.0 at byte 208, scale s = s + 1 for each 16 elements; ql = 0,
	 * qh = 0xff: every quant is (3 << 4) - 32 = 16. */
	memset(b, 0, 210);
	memset(b + 128, 0xff, 64);
	for (int s = 0; s < 16; s++) {
		b[192 + s] = (uint8_t)(s + 1);
		for (int l = 0; l < 16; l++)
			want[16 * s + l] = (float)(16 * (s + 1));
	}
	b[209] = 0x3c;
	check_block(DTYPE_Q6_K, b, want, 256, "Q6_K hand-built block: one scale per 16 elements");
}

int main(void)
{
	check_traits();
	check_name_thread_local();
	check_bytes();
	check_conversions();
	check_hand_blocks();
	return tap_done();
}
