/*
 * devcheck.c — the comparisons tests/device/run.sh makes on a GPU machine,
 * through the engine's public API (infer/engine.h), so they exercise what
 * `duet` runs:
 *
 *   devcheck compare A B [-n N] [--tol X]
 *       logits at every position of N deterministic ids, model/device A
 *       against B (the reference); per position the relative L2 error
 *       ||a - b|| / ||b||, the largest absolute difference and whether the
 *       argmax agrees. Passes when every value is finite, the worst
 *       relative error is at most X and the argmax agrees at >= 90% of
 *       positions.
 *   devcheck greedy A B [-n N] [-p P]
 *       N greedy tokens after P prompt ids on A and on B: passes when they
 *       are identical, or when they part at a near tie of B's logits (the
 *       top two within 1% of the logits' spread), which rounding decides.
 *   devcheck bytes MODEL
 *       bytes one decoded token reads: every weight, except that the
 *       embedding costs one row unless the output is tied to it
 *       (DESIGN.md §7).
 *   devcheck bench A [-p N] [-n M] [-r R]
 *       duet bench's numbers (TTFT, prefill and decode tokens/s, ITL
 *       P50/P99) as one JSON line, for a machine where the duet program
 *       itself could not be built.
 *
 * A and B are MODEL@DEVICE (device auto, cpu, cuda, cuda:N; cpu when
 * omitted). Output: one human line, then one JSON line; exit 0 pass, 1
 * fail, 2 could not run.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/engine.h"
#include "infer/model.h"
#include "infer/util.h"

struct side {
	char *path;
	const char *device;
	struct engine_model *m;
	struct session *s;
};

static int side_open(struct side *x, const char *spec, uint32_t n_ctx, char **cause)
{
	const char *at = strrchr(spec, '@');
	struct engine_model_params mp = {0};

	x->path = at ? xstrndup(spec, (size_t)(at - spec)) : xstrdup(spec);
	x->device = at ? at + 1 : "cpu";
	mp.device = x->device;
	x->m = engine_model_open(x->path, &mp, cause);
	if (!x->m) {
		error_prefix(cause, "%s@%s", x->path, x->device);
		return -1;
	}
	x->s = session_new(x->m, n_ctx, cause);
	if (!x->s) {
		error_prefix(cause, "%s@%s", x->path, x->device);
		return -1;
	}
	return 0;
}

static void side_close(struct side *x)
{
	session_free(x->s);
	engine_model_free(x->m);
	free(x->path);
}

/* Deterministic ids in [1, n_vocab): the same on every machine. */
static void make_ids(int32_t *ids, uint32_t n, uint32_t n_vocab, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (uint32_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ids[i] = (int32_t)(1 + x % (n_vocab - 1));
	}
}

static size_t argmax(const float *v, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

static int cmd_compare(const char *a_spec, const char *b_spec, uint32_t n, double tol)
{
	struct side a = {0}, b = {0};
	char *cause = NULL;
	float *la = NULL, *lb = NULL;
	int32_t *ids = NULL;
	uint32_t nv;
	double worst = 0, worst_abs = 0;
	size_t worst_pos = 0, agree = 0, nonfinite = 0;
	int rc = 2;

	if (side_open(&a, a_spec, n, &cause) < 0 || side_open(&b, b_spec, n, &cause) < 0)
		goto out;
	nv = engine_model_desc(a.m)->n_vocab;
	if (engine_model_desc(b.m)->n_vocab != nv) {
		cause = xasprintf("vocabularies differ: %u and %u", nv, engine_model_desc(b.m)->n_vocab);
		goto out;
	}
	ids = xcalloc(n, sizeof *ids);
	make_ids(ids, n, nv, 1);
	la = session_logits(a.s, ids, n, &cause);
	if (!la)
		goto out;
	lb = session_logits(b.s, ids, n, &cause);
	if (!lb)
		goto out;
	for (uint32_t p = 0; p < n; p++) {
		const float *x = la + (size_t)p * nv, *y = lb + (size_t)p * nv;
		double num = 0, den = 0, rel;
		for (uint32_t i = 0; i < nv; i++) {
			double d = (double)x[i] - (double)y[i];
			if (!isfinite(x[i]) || !isfinite(y[i]))
				nonfinite++;
			num += d * d;
			den += (double)y[i] * y[i];
			if (fabs(d) > worst_abs)
				worst_abs = fabs(d);
		}
		rel = den > 0 ? sqrt(num / den) : sqrt(num);
		if (!(rel <= worst)) {
			worst = rel;
			worst_pos = p;
		}
		agree += argmax(x, nv) == argmax(y, nv);
	}
	rc = nonfinite == 0 && worst <= tol && agree * 10 >= (size_t)n * 9 ? 0 : 1;
	printf("%s: %s@%s vs %s@%s, %u positions: worst rel L2 %.3e (pos %zu, tol %.1e), max |diff| %.3e, "
	       "argmax agrees "
	       "%zu/%u%s\n",
	       rc == 0 ? "PASS" : "FAIL", a.path, a.device, b.path, b.device, n, worst, worst_pos, tol,
	       worst_abs, agree, n, nonfinite ? ", NON-FINITE VALUES" : "");
	printf("{\"check\": \"compare\", \"a\": \"%s@%s\", \"b\": \"%s@%s\", \"positions\": %u, \"rel_l2\": "
	       "%.6e, "
	       "\"max_abs\": %.6e, \"argmax_agree\": %zu, \"nonfinite\": %zu, \"tol\": %.3e, \"pass\": %s}\n",
	       a.path, a.device, b.path, b.device, n, worst, worst_abs, agree, nonfinite, tol,
	       rc == 0 ? "true" : "false");
out:
	if (rc == 2)
		printf("ERROR: %s\n", cause ? cause : "failed");
	free(cause);
	free(la);
	free(lb);
	free(ids);
	side_close(&a);
	side_close(&b);
	return rc;
}

static void greedy_params(struct gen_params *g, uint32_t n)
{
	memset(g, 0, sizeof *g);
	sampler_params_default(&g->sampling);
	g->sampling.temperature = 0;
	g->sampling.top_p = 1;
	g->sampling.repeat_penalty = 1;
	g->max_tokens = n;
	g->ignore_stop_ids = true;
}

static int cmd_greedy(const char *a_spec, const char *b_spec, uint32_t n_gen, uint32_t n_prompt)
{
	struct side a = {0}, b = {0};
	char *cause = NULL;
	int32_t *prompt = NULL, *gen_a = NULL, *gen_b = NULL, *ctx_ids = NULL;
	size_t na = 0, nb = 0, same = 0;
	struct gen_params g;
	struct gen_stats st;
	const int32_t *p;
	float *l = NULL;
	uint32_t nv;
	double gap = -1, spread = 0;
	int rc = 2;

	if (side_open(&a, a_spec, n_prompt + n_gen + 1, &cause) < 0 ||
	    side_open(&b, b_spec, n_prompt + n_gen + 1, &cause) < 0)
		goto out;
	nv = engine_model_desc(a.m)->n_vocab;
	prompt = xcalloc(n_prompt, sizeof *prompt);
	make_ids(prompt, n_prompt, nv, 2);
	greedy_params(&g, n_gen);
	if (session_generate_ids(a.s, prompt, n_prompt, &g, NULL, NULL, &st, &cause) < 0)
		goto out;
	p = session_gen_ids(a.s, &na);
	gen_a = xcalloc(na + 1, sizeof *gen_a);
	memcpy(gen_a, p, na * sizeof *p);
	if (session_generate_ids(b.s, prompt, n_prompt, &g, NULL, NULL, &st, &cause) < 0)
		goto out;
	p = session_gen_ids(b.s, &nb);
	gen_b = xcalloc(nb + 1, sizeof *gen_b);
	memcpy(gen_b, p, nb * sizeof *p);
	while (same < na && same < nb && gen_a[same] == gen_b[same])
		same++;
	rc = same == na && na == nb && na == n_gen ? 0 : 1;
	if (rc == 1 && same < na && same < nb) {
		/* B's logits where the two part: a near tie is rounding's choice, not a bug. */
		size_t n_ctx = n_prompt + same, i1, i2 = 0;
		const float *last;
		float lo, hi;
		ctx_ids = xcalloc(n_ctx, sizeof *ctx_ids);
		memcpy(ctx_ids, prompt, n_prompt * sizeof *prompt);
		memcpy(ctx_ids + n_prompt, gen_b, same * sizeof *gen_b);
		l = session_logits(b.s, ctx_ids, n_ctx, &cause);
		if (!l) {
			rc = 2;
			goto out;
		}
		last = l + (n_ctx - 1) * (size_t)nv;
		i1 = argmax(last, nv);
		lo = hi = last[0];
		for (size_t i = 0; i < nv; i++) {
			if (i != i1 && (i2 == i1 || last[i] > last[i2]))
				i2 = i;
			lo = last[i] < lo ? last[i] : lo;
			hi = last[i] > hi ? last[i] : hi;
		}
		gap = (double)last[i1] - (double)last[i2];
		spread = (double)hi - (double)lo;
		if (gap <= 0.01 * spread)
			rc = 0;
	}
	printf("%s: greedy %u tokens after %u prompt ids, %s@%s vs %s@%s: %zu identical%s",
	       rc == 0 ? "PASS" : "FAIL", n_gen, n_prompt, a.path, a.device, b.path, b.device, same,
	       same == na && na == nb ? "" : " before they part");
	if (gap >= 0)
		printf(" (top-2 gap there %.3g of a spread %.3g: %s)", gap, spread,
		       gap <= 0.01 * spread ? "a near tie" : "not a tie");
	printf("\n{\"check\": \"greedy\", \"a\": \"%s@%s\", \"b\": \"%s@%s\", \"n_gen\": %u, \"identical\": "
	       "%zu, "
	       "\"tie_gap\": %.4g, \"pass\": %s}\n",
	       a.path, a.device, b.path, b.device, n_gen, same, gap, rc == 0 ? "true" : "false");
out:
	if (rc == 2)
		printf("ERROR: %s\n", cause ? cause : "failed");
	free(cause);
	free(l);
	free(ctx_ids);
	free(prompt);
	free(gen_a);
	free(gen_b);
	side_close(&a);
	side_close(&b);
	return rc;
}

static int cmd_bytes(const char *path)
{
	char *cause = NULL;
	struct model_file *mf = model_file_open(path, &cause);
	const struct tensor *embd;
	uint64_t total, per_token;

	if (!mf) {
		printf("ERROR: %s\n", cause);
		free(cause);
		return 2;
	}
	total = model_file_weight_bytes(mf);
	embd = model_file_find(mf, "token_embd.weight");
	per_token = total;
	if (embd && !model_file_desc(mf)->tied_output)
		per_token = total - embd->n_bytes + embd->n_bytes / embd->ne[1];
	printf("%s: %llu weight bytes, %llu read per decoded token\n", path, (unsigned long long)total,
	       (unsigned long long)per_token);
	printf("{\"model\": \"%s\", \"weight_bytes\": %llu, \"bytes_per_token\": %llu, \"n_params\": %llu}\n",
	       path, (unsigned long long)total, (unsigned long long)per_token,
	       (unsigned long long)model_file_n_params(mf));
	model_file_close(mf);
	return 0;
}

static int cmd_bench(const char *spec, uint32_t n_prompt, uint32_t n_gen, uint32_t reps)
{
	struct side a = {0};
	char *cause = NULL;
	int32_t *ids = NULL;
	struct gen_params g;
	struct gen_stats st;
	double t_load = time_now(), sum[5] = {0};
	int rc = 2;

	if (side_open(&a, spec, n_prompt + n_gen, &cause) < 0)
		goto out;
	t_load = time_now() - t_load;
	ids = xcalloc(n_prompt, sizeof *ids);
	make_ids(ids, n_prompt, engine_model_desc(a.m)->n_vocab, 3);
	greedy_params(&g, n_gen);
	for (uint32_t r = 0; r <= reps; r++) {
		session_reset(a.s);
		if (session_generate_ids(a.s, ids, n_prompt, &g, NULL, NULL, &st, &cause) < 0)
			goto out;
		if (r == 0)
			continue; /* warm-up */
		sum[0] += st.ttft_ms;
		sum[1] += st.prefill_tps;
		sum[2] += st.decode_tps;
		sum[3] += st.itl_p50_ms;
		sum[4] += st.itl_p99_ms;
	}
	printf("bench %s@%s: ttft %.1f ms, prefill %.1f t/s, decode %.2f t/s, itl p50 %.3f p99 %.3f ms\n",
	       a.path, a.device, sum[0] / reps, sum[1] / reps, sum[2] / reps, sum[3] / reps, sum[4] / reps);
	printf("{\"model\": \"%s\", \"backend\": \"%s\", \"n_prompt\": %u, \"n_gen\": %u, \"reps\": %u, "
	       "\"ttft_ms\": {\"mean\": %.3f}, \"prefill_tps\": {\"mean\": %.3f}, \"decode_tps\": {\"mean\": "
	       "%.3f}, "
	       "\"itl_p50_ms\": {\"mean\": %.4f}, \"itl_p99_ms\": {\"mean\": %.4f}, \"peak_rss\": %llu, "
	       "\"device_bytes\": %llu, \"weight_bytes\": %llu, \"load_s\": %.3f}\n",
	       a.path, engine_model_device(a.m), n_prompt, n_gen, reps, sum[0] / reps, sum[1] / reps,
	       sum[2] / reps, sum[3] / reps, sum[4] / reps, (unsigned long long)st.peak_rss,
	       (unsigned long long)st.device_bytes, (unsigned long long)engine_model_weight_bytes(a.m),
	       t_load);
	rc = 0;
out:
	if (rc == 2)
		printf("ERROR: %s\n", cause ? cause : "failed");
	free(cause);
	free(ids);
	side_close(&a);
	return rc;
}

static int usage(void)
{
	fputs("usage: devcheck compare A B [-n N] [--tol X]\n"
	      "       devcheck greedy A B [-n N] [-p P]\n"
	      "       devcheck bytes MODEL\n"
	      "       devcheck bench A [-p N] [-n M] [-r R]\n"
	      "A, B: MODEL@DEVICE (auto, cpu, cuda, cuda:N; cpu when omitted)\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *pos[2] = {NULL, NULL};
	uint32_t n = 0, p = 0, r = 3;
	double tol = 1e-2;
	int n_pos = 0;

	if (argc < 3)
		return usage();
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
			p = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			r = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--tol") == 0 && i + 1 < argc)
			tol = strtod(argv[++i], NULL);
		else if (n_pos < 2 && argv[i][0] != '-')
			pos[n_pos++] = argv[i];
		else
			return usage();
	}
	if (strcmp(argv[1], "compare") == 0 && n_pos == 2)
		return cmd_compare(pos[0], pos[1], n ? n : 16, tol);
	if (strcmp(argv[1], "greedy") == 0 && n_pos == 2)
		return cmd_greedy(pos[0], pos[1], n ? n : 64, p ? p : 8);
	if (strcmp(argv[1], "bytes") == 0 && n_pos == 1)
		return cmd_bytes(pos[0]);
	if (strcmp(argv[1], "bench") == 0 && n_pos == 1)
		return cmd_bench(pos[0], p ? p : 512, n ? n : 128, r ? r : 1);
	return usage();
}
