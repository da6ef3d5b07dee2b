/*
 * bench_cpu_forward.c — the CPU backend's own timing harness (not a test):
 * prefill and decode tokens/s of a model through backend_ops directly, and
 * optionally a greedy continuation of a prompt as a sanity check.
 *
 *   bench_cpu_forward MODEL [-t THREADS] [-p PROMPT_TOKENS] [-n DECODE_TOKENS]
 *                     [-r REPEATS] [-s portable|avx2|avx512] [-x "prompt text"]
 *
 * Timings are the best of REPEATS runs (the machine is shared). `duet bench`
 * is the user-facing benchmark; this one isolates the backend.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "infer/backend.h"
#include "infer/cpu_kernels.h"
#include "infer/model.h"
#include "infer/tokenizer.h"
#include "infer/util.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int32_t argmax(const float *v, uint32_t n)
{
	int32_t best = 0;
	for (uint32_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = (int32_t)i;
	return best;
}

int main(int argc, char **argv)
{
	const char *text = NULL, *simd = NULL;
	int n_threads = 0, n_prompt = 128, n_decode = 64, repeats = 3, opt;
	char *cause = NULL;

	while ((opt = getopt(argc, argv, "t:p:n:r:s:x:")) != -1) {
		switch (opt) {
		case 't':
			n_threads = atoi(optarg);
			break;
		case 'p':
			n_prompt = atoi(optarg);
			break;
		case 'n':
			n_decode = atoi(optarg);
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 's':
			simd = optarg;
			break;
		case 'x':
			text = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: %s MODEL [-t threads] [-p prompt] [-n decode] [-r repeats] [-s "
			        "level] "
			        "[-x text]\n",
			        argv[0]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: a model path is needed\n", argv[0]);
		return 2;
	}
	if (simd) {
		int ok = -1;
		for (int lv = 0; lv < CPU_SIMD_COUNT_; lv++)
			if (strcmp(simd, cpu_simd_name((enum cpu_simd)lv)) == 0)
				ok = cpu_simd_force((enum cpu_simd)lv);
		if (ok < 0) {
			fprintf(stderr, "%s: SIMD level %s unknown or unsupported here\n", argv[0], simd);
			return 2;
		}
	}

	struct model_file *mf = model_file_open(argv[optind], &cause);
	if (!mf) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	const struct model_desc *d = model_file_desc(mf);
	const struct backend_ops *ops = cpu_backend_get();
	struct backend_params params = {.n_threads = n_threads};
	struct backend_weights *w = ops->weights_load(mf, &params, &cause);
	if (!w) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	uint32_t n_ctx = (uint32_t)(n_prompt + n_decode + 256);
	struct backend_ctx *c = ops->ctx_new(w, n_ctx, &cause);
	if (!c) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	float *logits = xmalloc(sizeof(float) * d->n_vocab);
	char vers[256];
	ops->versions(vers, sizeof vers);
	printf("model %s: %s, %u layers, n_embd %u; %s; threads %d\n", argv[optind], model_arch_name(d->arch),
	       d->n_layers, d->n_embd, vers, n_threads);

	if (text) {
		struct tokenizer *tok = tokenizer_from_model(mf, &cause);
		struct tokens ids = {0};
		if (!tok || tokenizer_encode(tok, text, strlen(text), TOKENIZE_SPECIAL | TOKENIZE_ADD_BOS,
		                             &ids, &cause) < 0) {
			fprintf(stderr, "%s\n", cause);
			return 1;
		}
		if (ops->forward(c, ids.ids, (uint32_t)ids.n, 0, logits, false, &cause) < 0) {
			fprintf(stderr, "%s\n", cause);
			return 1;
		}
		uint32_t pos = (uint32_t)ids.n;
		struct buf out = {0};
		struct detok dt;
		detok_init(&dt);
		for (int i = 0; i < n_decode && pos < n_ctx; i++) {
			int32_t next = argmax(logits, d->n_vocab);
			detok_push(tok, &dt, next, true, &out);
			if (ops->forward(c, &next, 1, pos++, logits, false, &cause) < 0) {
				fprintf(stderr, "%s\n", cause);
				return 1;
			}
		}
		detok_flush(&dt, &out);
		printf("prompt (%zu tokens): %s\ngreedy: %s\n", ids.n, text, buf_cstr(&out));
		buf_free(&out);
		tokens_free(&ids);
		tokenizer_free(tok);
	}

	int32_t *prompt = xmalloc(sizeof(int32_t) * (size_t)(n_prompt > 0 ? n_prompt : 1));
	for (int i = 0; i < n_prompt; i++)
		prompt[i] = (int32_t)((i * 7919 + 13) % d->n_vocab);
	double best_pp = 0, best_tg = 0, best_pp_cpu = 0, best_tg_cpu = 0;
	for (int r = 0; r < repeats; r++) {
		double t0 = time_now(), p0 = cpu_now();
		if (n_prompt > 0 &&
		    ops->forward(c, prompt, (uint32_t)n_prompt, 0, logits, false, &cause) < 0) {
			fprintf(stderr, "%s\n", cause);
			return 1;
		}
		double t1 = time_now(), p1 = cpu_now();
		int32_t next = argmax(logits, d->n_vocab);
		for (int i = 0; i < n_decode; i++) {
			if (ops->forward(c, &next, 1, (uint32_t)(n_prompt + i), logits, false, &cause) < 0) {
				fprintf(stderr, "%s\n", cause);
				return 1;
			}
			next = argmax(logits, d->n_vocab);
		}
		double t2 = time_now(), p2 = cpu_now();
		double pp = n_prompt / (t1 - t0), tg = n_decode / (t2 - t1);
		double pp_cpu = n_prompt / (p1 - p0), tg_cpu = n_decode / (p2 - p1);
		best_pp = pp > best_pp ? pp : best_pp;
		best_tg = tg > best_tg ? tg : best_tg;
		best_pp_cpu = pp_cpu > best_pp_cpu ? pp_cpu : best_pp_cpu;
		best_tg_cpu = tg_cpu > best_tg_cpu ? tg_cpu : best_tg_cpu;
	}
	printf("prefill %d tokens: %.1f tokens/s; decode %d tokens after it: %.1f tokens/s (best of %d, "
	       "wall)\n",
	       n_prompt, best_pp, n_decode, best_tg, repeats);
	printf("per CPU-second of the process (all threads): prefill %.1f tokens, decode %.1f tokens\n",
	       best_pp_cpu, best_tg_cpu);
	printf("weights (own copies) %.1f MiB, context %.1f MiB\n", (double)ops->weights_bytes(w) / 1048576.0,
	       (double)ops->ctx_bytes(c) / 1048576.0);
	free(prompt);
	free(logits);
	ops->ctx_free(c);
	ops->weights_free(w);
	model_file_close(mf);
	return 0;
}
