/*
 * bench_kernels.c — throughput of the CPU matmul kernels (not a test), one
 * thread: GB/s of weights streamed by a matrix-vector product (decode) and
 * GFLOP/s of a 64-token matrix-matrix product (prefill), for each weight
 * type on SmolLM2-135M and R1-Distill-Qwen-1.5B shapes. Matrices rotate
 * through copies larger than the last-level cache, so decode numbers are
 * memory numbers as in a real forward pass.
 *
 *   bench_kernels [-s portable|avx2|avx512] [-t TYPE] [-q]   (-q: SmolLM2 shapes only)
 *
 * Times are thread CPU time (the machine is shared; wall time is printed too).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "infer/cpu_kernels.h"
#include "infer/dtype.h"
#include "infer/util.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;

static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

/* Random bytes with every half-precision field made finite and small: good enough for timing. */
static void fill(uint32_t type, uint8_t *w, uint64_t n_bytes)
{
	const struct dtype_traits *tr = dtype_traits(type);
	for (uint64_t i = 0; i < n_bytes; i++)
		w[i] = rnd8();
	if (type == DTYPE_F32) {
		for (uint64_t i = 0; i + 4 <= n_bytes; i += 4) {
			float f = (float)(rnd8() - 128) / 128.0f;
			memcpy(w + i, &f, 4);
		}
		return;
	}
	if (type == DTYPE_F16 || type == DTYPE_BF16 || tr->block_elems == 1) {
		for (uint64_t i = 1; i < n_bytes; i += 2)
			w[i] &= 0x3b; /* exponent well below inf/nan for both */
		return;
	}
	(void)tr;
}

struct shape {
	const char *name;
	uint32_t k, rows;
};

int main(int argc, char **argv)
{
	static const uint32_t types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q8_0, DTYPE_Q4_0,
	                                 DTYPE_Q4_1, DTYPE_Q5_0, DTYPE_Q5_1, DTYPE_Q2_K, DTYPE_Q3_K,
	                                 DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
	static const struct shape shapes[] = {
	        {"smollm2 ffn_up   1536x576", 576, 1536},    {"smollm2 ffn_down 576x1536", 1536, 576},
	        {"smollm2 output   49152x576", 576, 49152},  {"qwen1.5b ffn_up   8960x1536", 1536, 8960},
	        {"qwen1.5b ffn_down 1536x8960", 8960, 1536},
	};
	const char *only = NULL;
	int quick = 0, opt;

	while ((opt = getopt(argc, argv, "s:t:q")) != -1) {
		if (opt == 's') {
			int ok = -1;
			for (int lv = 0; lv < CPU_SIMD_COUNT_; lv++)
				if (strcmp(optarg, cpu_simd_name((enum cpu_simd)lv)) == 0)
					ok = cpu_simd_force((enum cpu_simd)lv);
			if (ok < 0) {
				fprintf(stderr, "unknown or unsupported level %s\n", optarg);
				return 2;
			}
		} else if (opt == 't') {
			only = optarg;
		} else if (opt == 'q') {
			quick = 1;
		} else {
			fprintf(stderr, "usage: %s [-s level] [-t type] [-q]\n", argv[0]);
			return 2;
		}
	}
	printf("level %s; decode = 1 token (GB/s of weights), prefill = 64 tokens (GFLOP/s)\n",
	       cpu_simd_name(cpu_simd_active()));
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
		uint32_t type = types[ti];
		const struct dtype_traits *tr = dtype_traits(type);
		if (only && strcmp(only, tr->name) != 0)
			continue;
		for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
			const struct shape *sh = &shapes[si];
			uint64_t rb, bytes;
			if (quick && si >= 3)
				break;
			if (dtype_bytes(type, sh->k, &rb) < 0)
				continue; /* e.g. K-quants need k a multiple of 256 */
			bytes = rb * sh->rows;
			/* Enough copies to exceed the last-level cache twice over. */
			size_t n_copies = (size_t)((96ull << 20) / bytes + 1);
			uint8_t *w = xmalloc(bytes * n_copies);
			fill(type, w, bytes);
			for (size_t c = 1; c < n_copies; c++)
				memcpy(w + c * bytes, w, bytes);

			uint32_t nt = 64;
			float *x = xmalloc(sizeof(float) * sh->k * nt),
			      *out = xmalloc(sizeof(float) * sh->rows * nt);
			for (size_t i = 0; i < (size_t)sh->k * nt; i++)
				x[i] = (float)(rnd8() - 128) / 64.0f;
			void *mem = aligned_alloc(64, (cpu_act_bytes(nt, sh->k) + 63) & ~(size_t)63);
			struct cpu_act a1, a64;
			cpu_act_init(&a1, mem, 1, sh->k, x, sh->k);
			cpu_act_quantize(&a1, cpu_actq_for(type), 0, 1);

			double c0 = cpu_now(), w0 = time_now();
			size_t it = 0;
			do {
				cpu_matmul(type, w + (it % n_copies) * bytes, sh->k, 0, sh->rows, &a1, out,
				           sh->rows);
				it++;
			} while (cpu_now() - c0 < 0.3);
			double dec_cpu = (cpu_now() - c0) / (double)it,
			       dec_wall = (time_now() - w0) / (double)it;

			cpu_act_init(&a64, mem, nt, sh->k, x, sh->k);
			cpu_act_quantize(&a64, cpu_actq_for(type), 0, 1);
			c0 = cpu_now();
			it = 0;
			do {
				cpu_matmul(type, w + (it % n_copies) * bytes, sh->k, 0, sh->rows, &a64, out,
				           sh->rows);
				it++;
			} while (cpu_now() - c0 < 0.3);
			double pre_cpu = (cpu_now() - c0) / (double)it;
			printf("%-5s %-28s decode %6.1f GB/s (wall %6.1f)  %7.1f us | prefill %6.1f "
			       "GFLOP/s\n",
			       tr->name, sh->name, (double)bytes / dec_cpu * 1e-9,
			       (double)bytes / dec_wall * 1e-9, dec_cpu * 1e6,
			       2.0 * sh->k * sh->rows * nt / pre_cpu * 1e-9);
			fflush(stdout);
			free(mem);
			free(x);
			free(out);
			free(w);
		}
	}
	return 0;
}
