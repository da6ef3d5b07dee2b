/*
 * cmd_bench.c — `duet bench`: prefill and decode speed of one model on one
 * backend, in the terms DESIGN.md §7 asks every benchmark to state: model,
 * weight format, backend, threads, prompt length, context, TTFT, prefill
 * and decode tokens/s, inter-token latency P50/P99, peak memory. Each
 * repetition starts from an empty cache, prefills N deterministic token ids
 * and generates M tokens greedily with the model's end-of-turn ids ignored
 * (so every repetition does the same work); one unmeasured warm-up run
 * first, as llama-bench does. Results: mean ± sample standard deviation.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "infer/dtype.h"
#include "infer/engine.h"
#include "infer/util.h"

#define BENCH_USAGE                                                                                   \
	"usage: duet bench [-m MODEL] [-p N] [-n M] [-t THREADS] [-r REPS] [--ctx C] [--device D] [--json]\n" \
	"       [--gpu-mem SIZE] [--quant q8|q4|none]\n"                                                 \
	"  -p N        prompt tokens (deterministic ids; default 512)\n"                                    \
	"  -n M        tokens generated greedily, end-of-turn ignored (default 128)\n"                      \
	"  -t THREADS  CPU threads (default: one per core)\n"                                                \
	"  -r REPS     measured repetitions (default 3), after one warm-up run (--no-warmup skips it)\n"    \
	"  --ctx C     context length (default N + M)\n"                                                   \
	"  --json      one JSON object (device_bytes: weights + context where the backend keeps them)\n"  \
	CLI_GPU_USAGE

struct bench_rep {
	double ttft_ms, prefill_tps, decode_tps, itl_p50_ms, itl_p99_ms;
	uint32_t gen_tokens;
};

struct mean_sd {
	double mean, sd;
	double min, max; /* over the repetitions: on a shared machine the best run is the least disturbed */
};

static struct mean_sd mean_sd(const struct bench_rep *r, size_t n, size_t offset)
{
	struct mean_sd out = { 0, 0, 0, 0 };
	double sum = 0, sq = 0;

	for (size_t i = 0; i < n; i++) {
		double v = *(const double *)((const char *)&r[i] + offset);
		sum += v;
		if (i == 0 || v < out.min)
			out.min = v;
		if (i == 0 || v > out.max)
			out.max = v;
	}
	out.mean = n ? sum / (double)n : 0;
	for (size_t i = 0; i < n; i++) {
		double d = *(const double *)((const char *)&r[i] + offset) - out.mean;
		sq += d * d;
	}
	out.sd = n > 1 ? sqrt(sq / (double)(n - 1)) : 0;
	return out;
}

/* The storage type holding most of the weight bytes ("Q4_1"), and its share. */
static const char *weight_format(const struct model_file *mf, double *share)
{
	uint64_t by_type[DTYPE_COUNT_] = { 0 }, total = 0;
	uint32_t best = 0;

	for (size_t i = 0; i < model_file_n_tensors(mf); i++) {
		const struct tensor *t = model_file_tensor(mf, i);
		if (t->type < DTYPE_COUNT_) {
			by_type[t->type] += t->n_bytes;
			total += t->n_bytes;
		}
	}
	for (uint32_t t = 0; t < DTYPE_COUNT_; t++)
		if (by_type[t] > by_type[best])
			best = t;
	*share = total ? (double)by_type[best] / (double)total : 0;
	return dtype_name(best);
}

/* Deterministic "random" ids in [0, n_vocab): the same prompt on every run and machine. */
static void bench_prompt(int32_t *ids, uint32_t n, uint32_t n_vocab)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (uint32_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ids[i] = (int32_t)(x % n_vocab);
	}
}

int cmd_bench(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_NO_WARMUP };
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"prompt", required_argument, NULL, 'p'},
		{"gen", required_argument, NULL, 'n'},
		{"reps", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, OPT_JSON},
		{"no-warmup", no_argument, NULL, OPT_NO_WARMUP},
		CLI_ENGINE_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *given = NULL;
	uint32_t n_prompt = 512, n_gen = 128, reps = 3, n_ctx = 0;
	bool json = false, warmup = true;
	char *path = NULL, *cause = NULL;
	struct engine_model *m = NULL;
	struct engine_model_params mp = { 0 };
	struct session *s = NULL;
	struct gen_params g = { 0 };
	struct gen_stats st = { 0 };
	struct bench_rep *rep = NULL;
	int32_t *ids = NULL;
	const struct model_desc *d;
	const char *fmt;
	double share, t_load;
	uint64_t peak = 0;
	int c, rc = CLI_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "m:p:n:t:r:h", opts, NULL)) != -1) {
		int shared = cli_engine_option("bench", c, optarg, &mp, &n_ctx);

		if (shared < 0)
			return CLI_EXIT_USAGE;
		if (shared > 0)
			continue;
		switch (c) {
		case 'm':
			given = optarg;
			break;
		case 'p':
			if (run_parse_u32("bench", "-p", optarg, 1u << 20, &n_prompt) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'n':
			if (run_parse_u32("bench", "-n", optarg, 1u << 20, &n_gen) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'r':
			if (run_parse_u32("bench", "-r", optarg, 10000, &reps) < 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_NO_WARMUP:
			warmup = false;
			break;
		case 'h':
			fputs(BENCH_USAGE, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(BENCH_USAGE, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "duet bench: unexpected argument '%s'\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (n_prompt == 0 || reps == 0) {
		fprintf(stderr, "duet bench: -p and -r must be at least 1\n");
		return CLI_EXIT_USAGE;
	}
	path = cli_resolve_model(given);
	if (!path)
		goto done;
	t_load = time_now();
	m = cli_model_open(path, &mp, &cause);
	if (!m)
		goto fail;
	t_load = time_now() - t_load;
	d = engine_model_desc(m);
	if (n_ctx == 0)
		n_ctx = n_prompt + n_gen;
	s = session_new(m, n_ctx, &cause);
	if (!s)
		goto fail;
	if (session_n_ctx(s) < n_prompt + n_gen) {
		cause = xasprintf("-p %u plus -n %u need a context of %u tokens; this session has %u (the model's limit "
				  "is %u)",
				  n_prompt, n_gen, n_prompt + n_gen, session_n_ctx(s), d->n_ctx_train);
		goto fail;
	}
	ids = xcalloc(n_prompt, sizeof *ids);
	bench_prompt(ids, n_prompt, d->n_vocab);
	g.sampling.temperature = 0;
	g.sampling.top_p = 1;
	g.sampling.repeat_penalty = 1;
	g.max_tokens = n_gen;
	g.ignore_stop_ids = true;
	rep = xcalloc(reps, sizeof *rep);
	fmt = weight_format(engine_model_file(m), &share);

	if (!json) {
		printf("model:         %s (%s, %s parameters)\n", d->name, path,
		       cli_human_count(model_file_n_params(engine_model_file(m))));
		printf("weight format: %s (%.0f%% of %s)\n", fmt, share * 100,
		       cli_human_bytes(model_file_weight_bytes(engine_model_file(m))));
		printf("backend:       %s, %d threads\n", engine_model_device(m), engine_model_n_threads(m));
		printf("prompt:        %u tokens, generate %u (greedy, end-of-turn ignored), context %u\n", n_prompt,
		       n_gen, session_n_ctx(s));
		printf("load:          %.2f s\n", t_load);
		fflush(stdout);
	}
	for (uint32_t r = 0; r < reps + (warmup ? 1 : 0); r++) {
		bool measured = !warmup || r > 0;
		struct bench_rep *x;

		session_reset(s);
		/* Warm-up: a short run touches every weight page and spins the threads up. */
		g.max_tokens = measured ? n_gen : (n_gen < 4 ? n_gen : 4);
		if (session_generate_ids(s, ids, n_prompt, &g, NULL, NULL, &st, &cause) < 0)
			goto fail;
		if (!measured)
			continue;
		x = &rep[warmup ? r - 1 : r];
		x->ttft_ms = st.ttft_ms;
		x->prefill_tps = st.prefill_tps;
		x->decode_tps = st.decode_tps;
		x->itl_p50_ms = st.itl_p50_ms;
		x->itl_p99_ms = st.itl_p99_ms;
		x->gen_tokens = st.gen_tokens;
		if (!json) {
			printf("run %u:         ttft %.1f ms, prefill %.1f t/s, decode %.2f t/s, itl p50 %.2f ms p99 %.2f ms\n",
			       (unsigned)(x - rep) + 1, x->ttft_ms, x->prefill_tps, x->decode_tps, x->itl_p50_ms,
			       x->itl_p99_ms);
			fflush(stdout);
		}
	}
	peak = st.peak_rss;
	{
		struct mean_sd ttft = mean_sd(rep, reps, offsetof(struct bench_rep, ttft_ms));
		struct mean_sd pp = mean_sd(rep, reps, offsetof(struct bench_rep, prefill_tps));
		struct mean_sd tg = mean_sd(rep, reps, offsetof(struct bench_rep, decode_tps));
		struct mean_sd p50 = mean_sd(rep, reps, offsetof(struct bench_rep, itl_p50_ms));
		struct mean_sd p99 = mean_sd(rep, reps, offsetof(struct bench_rep, itl_p99_ms));

		if (json) {
			printf("{\"model\": ");
			cli_write_json_string(stdout, path, strlen(path));
			printf(", \"name\": ");
			cli_write_json_string(stdout, d->name, strlen(d->name));
			printf(", \"weight_format\": \"%s\", \"backend\": \"%s\", \"threads\": %d, \"n_prompt\": %u, "
			       "\"n_gen\": %u, \"n_ctx\": %u, \"reps\": %u, "
			       "\"ttft_ms\": {\"mean\": %.3f, \"sd\": %.3f, \"min\": %.3f}, "
			       "\"prefill_tps\": {\"mean\": %.3f, \"sd\": %.3f, \"max\": %.3f}, "
			       "\"decode_tps\": {\"mean\": %.3f, \"sd\": %.3f, \"max\": %.3f}, "
			       "\"itl_p50_ms\": {\"mean\": %.4f, \"sd\": %.4f, \"min\": %.4f}, "
			       "\"itl_p99_ms\": {\"mean\": %.4f, \"sd\": %.4f, \"min\": %.4f}, "
			       "\"peak_rss\": %llu, \"weight_bytes\": %llu, \"device_bytes\": %llu, \"quant_bits\": %d, "
			       "\"load_s\": %.3f, \"runs\": [",
			       fmt, engine_model_device(m), engine_model_n_threads(m), n_prompt, n_gen, session_n_ctx(s),
			       reps, ttft.mean, ttft.sd, ttft.min, pp.mean, pp.sd, pp.max, tg.mean, tg.sd, tg.max, p50.mean,
			       p50.sd, p50.min, p99.mean, p99.sd, p99.min, (unsigned long long)peak,
			       (unsigned long long)engine_model_weight_bytes(m), (unsigned long long)st.device_bytes,
			       mp.quant_bits, t_load);
			/* Every repetition too, for tools that pool runs (tests/bench/bench_summary.py). */
			for (uint32_t r = 0; r < reps; r++)
				printf("%s{\"ttft_ms\": %.3f, \"prefill_tps\": %.3f, \"decode_tps\": %.3f, \"itl_p50_ms\": %.4f, "
				       "\"itl_p99_ms\": %.4f}",
				       r ? ", " : "", rep[r].ttft_ms, rep[r].prefill_tps, rep[r].decode_tps, rep[r].itl_p50_ms,
				       rep[r].itl_p99_ms);
			printf("]}\n");
		} else {
			printf("ttft:          %.1f ± %.1f ms (best %.1f)\n", ttft.mean, ttft.sd, ttft.min);
			printf("prefill:       %.1f ± %.1f tokens/s (best %.1f)\n", pp.mean, pp.sd, pp.max);
			printf("decode:        %.2f ± %.2f tokens/s (best %.2f)\n", tg.mean, tg.sd, tg.max);
			printf("itl:           p50 %.2f ± %.2f ms, p99 %.2f ± %.2f ms\n", p50.mean, p50.sd, p99.mean,
			       p99.sd);
			printf("peak rss:      %s\n", cli_human_bytes(peak));
			printf("device memory: %s (weights %s)\n", cli_human_bytes(st.device_bytes),
			       cli_human_bytes(engine_model_weight_bytes(m)));
		}
	}
	rc = CLI_EXIT_OK;
	goto done;
fail:
	fprintf(stderr, "duet bench: %s\n", cause ? cause : "failed");
	rc = CLI_EXIT_FAIL;
done:
	free(rep);
	free(ids);
	free(cause);
	session_free(s);
	engine_model_free(m);
	free(path);
	return rc;
}
