/*
 * test_sampler.c — the sampler against arithmetic done here in double
 * precision: greedy and top-k 1 pick the argmax, seeds reproduce sequences,
 * penalties move the choice in constructed cases, top-p / min-p keep the
 * candidate sets worked out by hand below, and 100k draws match the softmax
 * under a chi-square bound (fixed seeds: deterministic, and it fails if the
 * probabilities are wrong). Prints how long one sample takes on a 151936-id
 * vocabulary.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/sampler.h"
#include "infer/util.h"
#include "tests/tap.h"

#define BIG_VOCAB 151936

static uint64_t test_rng = 0x1234567887654321ull;

/* xorshift64*, uniform in [0, 1): the test's own source of logits. */
static double test_uniform(void)
{
	test_rng ^= test_rng >> 12;
	test_rng ^= test_rng << 25;
	test_rng ^= test_rng >> 27;
	return (double)((test_rng * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static struct sampler_params params(float temperature, int32_t top_k, float top_p, float min_p, uint64_t seed)
{
	struct sampler_params p;
	sampler_params_default(&p);
	p.temperature = temperature;
	p.top_k = top_k;
	p.top_p = top_p;
	p.min_p = min_p;
	p.seed = seed;
	return p;
}

/* Draw n tokens from fixed logits into counts[n_vocab]. */
static void draw(struct sampler *s, const float *logits, uint32_t n_vocab, int n, long *counts)
{
	float *work = xmalloc(n_vocab * sizeof *work);
	memset(counts, 0, n_vocab * sizeof *counts);
	for (int i = 0; i < n; i++) {
		memcpy(work, logits, n_vocab * sizeof *work);
		int32_t id = sampler_sample(s, work, NULL, 0);
		if (id >= 0 && (uint32_t)id < n_vocab)
			counts[id]++;
	}
	free(work);
}

/*
 * Pearson's chi-square of counts against probabilities expect[] (summing to
 * 1); *outside counts draws where expect is 0, *df the degrees of freedom.
 */
static double chi_square(const long *counts, const double *expect, uint32_t n, long total, long *outside,
                         int *df)
{
	double chi = 0.0;
	*outside = 0;
	*df = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (expect[i] <= 0.0) {
			*outside += counts[i];
			continue;
		}
		double e = expect[i] * (double)total, d = (double)counts[i] - e;
		chi += d * d / e;
		(*df)++;
	}
	return chi;
}

/* Softmax of logits / t over the ids allowed (allowed NULL = all), in double. */
static void softmax_ref(const float *logits, uint32_t n, double t, const bool *allowed, double *out)
{
	double m = -INFINITY, z = 0.0;
	for (uint32_t i = 0; i < n; i++)
		if ((!allowed || allowed[i]) && logits[i] > m)
			m = logits[i];
	for (uint32_t i = 0; i < n; i++) {
		out[i] = (!allowed || allowed[i]) ? exp(((double)logits[i] - m) / t) : 0.0;
		z += out[i];
	}
	for (uint32_t i = 0; i < n; i++)
		out[i] /= z;
}

static void test_greedy(void)
{
	float l[8] = {0.5f, 2.0f, -1.0f, 3.0f, 3.0f, 1.0f, NAN, 2.9f};
	float w[8];
	struct sampler_params p = params(0.0f, 40, 0.95f, 0.05f, 1);
	struct sampler *s = sampler_new(&p, 8);

	memcpy(w, l, sizeof l);
	TAP_EQ_INT(sampler_sample(s, w, NULL, 0), 3,
	           "greedy: argmax, a tie goes to the lower id (3 and 4 tie)");
	sampler_free(s);

	p = params(0.8f, 1, 1.0f, 0.0f, 99);
	s = sampler_new(&p, 8);
	int same = 1;
	for (int i = 0; i < 50; i++) {
		memcpy(w, l, sizeof l);
		same &= sampler_sample(s, w, NULL, 0) == 3;
	}
	tap_ok(same, "top-k 1 at temperature 0.8 picks the argmax every time");
	sampler_free(s);

	float nan_first[3] = {NAN, -5.0f, -7.0f};
	p = params(1.0f, 0, 1.0f, 0.0f, 5);
	s = sampler_new(&p, 3);
	int never_nan = 1;
	for (int i = 0; i < 200; i++) {
		memcpy(w, nan_first, sizeof nan_first);
		never_nan &= sampler_sample(s, w, NULL, 0) != 0;
	}
	tap_ok(never_nan, "a NaN logit is never drawn");
	sampler_free(s);
	sampler_free(NULL);
}

static void test_seeds(void)
{
	enum { N = 1000, DRAWS = 300 };
	float *l = xmalloc(N * sizeof *l), *w = xmalloc(N * sizeof *w);
	int32_t a[DRAWS], b[DRAWS], c[DRAWS], d[DRAWS];
	struct sampler_params p = params(1.0f, 0, 0.95f, 0.0f, 42);
	struct sampler *s1 = sampler_new(&p, N), *s2 = sampler_new(&p, N), *s3;

	for (int i = 0; i < N; i++)
		l[i] = (float)(4.0 * test_uniform());
	p.seed = 43;
	s3 = sampler_new(&p, N);
	for (int i = 0; i < DRAWS; i++) {
		memcpy(w, l, N * sizeof *w);
		a[i] = sampler_sample(s1, w, NULL, 0);
		memcpy(w, l, N * sizeof *w);
		b[i] = sampler_sample(s2, w, NULL, 0);
		memcpy(w, l, N * sizeof *w);
		c[i] = sampler_sample(s3, w, NULL, 0);
	}
	tap_ok(memcmp(a, b, sizeof a) == 0, "same seed, same logits: the same 300 tokens");
	int differ = 0;
	for (int i = 0; i < DRAWS; i++)
		differ += a[i] != c[i];
	tap_ok(differ > DRAWS / 2, "seeds 42 and 43 give different sequences (%d of %d differ)", differ,
	       DRAWS);
	sampler_reset(s1, 42);
	for (int i = 0; i < DRAWS; i++) {
		memcpy(w, l, N * sizeof *w);
		d[i] = sampler_sample(s1, w, NULL, 0);
	}
	tap_ok(memcmp(a, d, sizeof a) == 0, "sampler_reset to the same seed repeats the sequence");
	sampler_free(s1);
	sampler_free(s2);
	sampler_free(s3);
	free(l);
	free(w);
}

static int32_t greedy_with(const float *logits, uint32_t n, float repeat, float presence, uint32_t last_n,
                           const int32_t *hist, size_t n_hist)
{
	float w[8];
	struct sampler_params p = params(0.0f, 0, 1.0f, 0.0f, 1);
	p.repeat_penalty = repeat;
	p.presence_penalty = presence;
	p.penalty_last_n = last_n;
	struct sampler *s = sampler_new(&p, n);
	memcpy(w, logits, n * sizeof *w);
	int32_t id = sampler_sample(s, w, hist, n_hist);
	sampler_free(s);
	return id;
}

static void test_penalties(void)
{
	static const float pos[3] = {2.0f, 1.9f, 0.0f};    /* 2.0 / 1.2 = 1.67 < 1.9 */
	static const float neg[3] = {-1.0f, -1.1f, -5.0f}; /* -1.0 * 1.2 = -1.2 < -1.1 */
	static const float pres[3] = {1.0f, 0.8f, 0.0f};   /* once: 0.85 > 0.8; three times: 0.55 < 0.8 */
	static const int32_t h0[1] = {0}, h000[3] = {0, 0, 0}, hwin[4] = {0, 2, 2, 2}, hbad[3] = {-1, 7, 99};

	TAP_EQ_INT(greedy_with(pos, 3, 1.0f, 0.0f, 64, h0, 1), 0, "no penalty: id 0 wins");
	TAP_EQ_INT(greedy_with(pos, 3, 1.2f, 0.0f, 64, h0, 1), 1,
	           "repeat 1.2 divides a positive logit: 2.0 -> 1.67 loses to 1.9");
	TAP_EQ_INT(greedy_with(neg, 3, 1.2f, 0.0f, 64, h0, 1), 1,
	           "repeat 1.2 multiplies a negative logit: -1.0 -> -1.2 loses to -1.1");
	TAP_EQ_INT(greedy_with(pos, 3, 1.2f, 0.0f, 3, hwin, 4), 0,
	           "penalty_last_n 3: id 0, four tokens back, is not penalised");
	TAP_EQ_INT(greedy_with(pos, 3, 1.2f, 0.0f, 4, hwin, 4), 1, "penalty_last_n 4 reaches it");
	TAP_EQ_INT(greedy_with(pos, 3, 1.2f, 0.0f, 0, h0, 1), 0, "penalty_last_n 0 turns penalties off");
	TAP_EQ_INT(greedy_with(pres, 3, 1.0f, 0.15f, 64, h000, 3), 0,
	           "presence 0.15 is subtracted once for a token seen three times");
	TAP_EQ_INT(greedy_with(pres, 3, 1.0f, 0.25f, 64, h0, 1), 1,
	           "presence 0.25: 1.0 -> 0.75 loses to 0.8");
	TAP_EQ_INT(greedy_with(pos, 3, 1.2f, 0.0f, 64, hbad, 3), 0, "history ids out of range are ignored");
}

/*
 * p = {0.5, 0.25, 0.125, 0.0625, 0.0625}, logits ln p, temperature 1.
 * top-p 0.8: 0.5 + 0.25 = 0.75 < 0.8, + 0.125 = 0.875 >= 0.8 -> {0, 1, 2},
 * renormalised {4/7, 2/7, 1/7}. min-p 0.2: keep p >= 0.2 * 0.5 = 0.1 ->
 * {0, 1, 2}; min-p 0.3: p >= 0.15 -> {0, 1}, {2/3, 1/3}.
 */
static void test_known_sets(void)
{
	static const double prob[5] = {0.5, 0.25, 0.125, 0.0625, 0.0625};
	struct {
		const char *name;
		int32_t top_k;
		float top_p, min_p;
		double expect[5];
	} cases[] = {
	        {"top-p 0.8 keeps {0,1,2} (no top-k: quickselect path)",
	         0,
	         0.8f,
	         0.0f,
	         {4 / 7., 2 / 7., 1 / 7., 0, 0}},
	        {"top-p 0.8 keeps {0,1,2} (top-k 4: sorted path)",
	         4,
	         0.8f,
	         0.0f,
	         {4 / 7., 2 / 7., 1 / 7., 0, 0}},
	        {"min-p 0.2 keeps {0,1,2}", 0, 1.0f, 0.2f, {4 / 7., 2 / 7., 1 / 7., 0, 0}},
	        {"min-p 0.3 keeps {0,1}", 0, 1.0f, 0.3f, {2 / 3., 1 / 3., 0, 0, 0}},
	        {"top-k 2 keeps {0,1}", 2, 1.0f, 0.0f, {2 / 3., 1 / 3., 0, 0, 0}},
	        {"min-p 0.2 then top-p 0.6 of what is left: 4/7 < 0.6 <= 6/7 -> {0,1}",
	         0,
	         0.6f,
	         0.2f,
	         {2 / 3., 1 / 3., 0, 0, 0}},
	};
	float l[5];
	long counts[5], outside;
	int df;

	for (int i = 0; i < 5; i++)
		l[i] = (float)log(prob[i]);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct sampler_params p = params(1.0f, cases[c].top_k, cases[c].top_p, cases[c].min_p, 7 + c);
		struct sampler *s = sampler_new(&p, 5);
		draw(s, l, 5, 20000, counts);
		double chi = chi_square(counts, cases[c].expect, 5, 20000, &outside, &df);
		/* chi-square 0.999 quantiles: df 1 -> 10.83, df 2 -> 13.82 */
		double crit = df == 1 ? 10.83 : 13.82;
		if (!tap_ok(outside == 0 && chi < crit, "%s", cases[c].name))
			tap_diag("  draws outside the set %ld, chi-square %.2f (df %d, limit %.2f); counts "
			         "%ld %ld %ld %ld %ld",
			         outside, chi, df, crit, counts[0], counts[1], counts[2], counts[3],
			         counts[4]);
		sampler_free(s);
	}
}

static void chi_case(const char *name, const float *l, uint32_t n, float t, int32_t top_k, double crit,
                     uint64_t seed)
{
	enum { DRAWS = 100000 };
	long *counts = xcalloc(n, sizeof *counts), outside;
	double *expect = xcalloc(n, sizeof *expect), chi;
	bool *allowed = NULL;
	int df;

	if (top_k > 0) { /* the top_k largest logits (distinct in these cases) */
		allowed = xcalloc(n, sizeof *allowed);
		for (int32_t k = 0; k < top_k; k++) {
			int32_t best = -1;
			for (uint32_t i = 0; i < n; i++)
				if (!allowed[i] && (best < 0 || l[i] > l[best]))
					best = (int32_t)i;
			allowed[best] = true;
		}
	}
	softmax_ref(l, n, t, allowed, expect);
	struct sampler_params p = params(t, top_k, 1.0f, 0.0f, seed);
	struct sampler *s = sampler_new(&p, n);
	draw(s, l, n, DRAWS, counts);
	chi = chi_square(counts, expect, n, DRAWS, &outside, &df);
	if (!tap_ok(outside == 0 && chi < crit, "%s: chi-square %.1f < %.1f (df %d)", name, chi, crit, df))
		tap_diag("  %ld draws outside the allowed set", outside);
	sampler_free(s);
	free(counts);
	free(expect);
	free(allowed);
}

static void test_distribution(void)
{
	float l20[20], l1000[1000];

	for (int i = 0; i < 20; i++)
		l20[i] = (float)(3.0 * sin(1.7 * i) + 0.1 * i); /* distinct, spread over about 6 nats */
	for (int i = 0; i < 1000; i++)
		l1000[i] = (float)(6.0 * test_uniform() - 3.0);
	/* limits: chi-square 0.999 quantiles for df 19, 9, 999 */
	chi_case("20 ids, temperature 1", l20, 20, 1.0f, 0, 43.82, 11);
	chi_case("20 ids, temperature 0.6", l20, 20, 0.6f, 0, 43.82, 12);
	chi_case("20 ids, temperature 0.7, top-k 10", l20, 20, 0.7f, 10, 27.88, 13);
	chi_case("1000 ids, temperature 1", l1000, 1000, 1.0f, 0, 1143.9, 14);
}

static int cmp_double_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x < y) - (x > y);
}

/*
 * Top-p on a flat 151936-id distribution (as from a random-weight model):
 * the nucleus is tens of thousands of ids, chosen by quickselect. Expected
 * set: sort here in double, cumulative mass to 0.5. Allow two ranks of slack
 * at the boundary for float rounding.
 */
static void test_big_top_p(void)
{
	enum { DRAWS = 2000 };
	float *l = xmalloc(BIG_VOCAB * sizeof *l), *w = xmalloc(BIG_VOCAB * sizeof *w);
	double *pr = xmalloc(BIG_VOCAB * sizeof *pr), z = 0.0, acc = 0.0, cut_p;
	size_t k = 0;
	int bad = 0, beyond_90 = 0;

	for (int i = 0; i < BIG_VOCAB; i++) {
		l[i] = (float)(2.0 * test_uniform());
		pr[i] = exp((double)l[i]);
		z += pr[i];
	}
	qsort(pr, BIG_VOCAB, sizeof *pr, cmp_double_desc);
	while (acc < 0.5 * z)
		acc += pr[k++];
	cut_p = pr[k + 1 < BIG_VOCAB ? k + 1 : k]; /* the probability two ranks past the boundary */
	double p90 = pr[(size_t)(0.9 * (double)k)];

	struct sampler_params p = params(1.0f, 0, 0.5f, 0.0f, 2024);
	struct sampler *s = sampler_new(&p, BIG_VOCAB);
	for (int i = 0; i < DRAWS; i++) {
		memcpy(w, l, BIG_VOCAB * sizeof *w);
		int32_t id = sampler_sample(s, w, NULL, 0);
		double q = exp((double)l[id]);
		bad += q < cut_p;
		beyond_90 += q <= p90;
	}
	if (!tap_ok(bad == 0, "top-p 0.5 over 151936 flat logits: every draw is in the nucleus (%zu ids)", k))
		tap_diag("  %d of %d draws fell outside", bad, DRAWS);
	/* the last 10% of the nucleus's ids hold about 6% of its mass: expect ~120 */
	tap_ok(beyond_90 > DRAWS / 40, "... and the nucleus is not cut short (%d draws past its 90%% rank)",
	       beyond_90);
	sampler_free(s);

	/* all logits equal (a zero-weight model): top-p 0.25 of 151936 equal
	 * probabilities is 37984 ids; ties keep the lowest ids */
	for (int i = 0; i < BIG_VOCAB; i++)
		l[i] = 0.5f;
	p = params(1.0f, 0, 0.25f, 0.0f, 77);
	s = sampler_new(&p, BIG_VOCAB);
	int32_t hi_id = 0;
	bad = 0;
	for (int i = 0; i < 500; i++) {
		memcpy(w, l, BIG_VOCAB * sizeof *w);
		int32_t id = sampler_sample(s, w, NULL, 0);
		bad += id >= 37984;
		hi_id = id > hi_id ? id : hi_id;
	}
	tap_ok(bad == 0 && hi_id > 30000,
	       "equal logits: top-p 0.25 keeps ids 0..37983 (%d outside, highest drawn %d)", bad, (int)hi_id);
	sampler_free(s);
	free(l);
	free(w);
	free(pr);
}

static void bench(const char *name, const float *l, struct sampler_params *p)
{
	enum { N = 200 };
	float *w = xmalloc(BIG_VOCAB * sizeof *w);
	struct sampler *s = sampler_new(p, BIG_VOCAB);
	double best = 1e9;

	for (int i = 0; i < N; i++) {
		memcpy(w, l, BIG_VOCAB * sizeof *w);
		double t0 = time_now();
		sampler_sample(s, w, NULL, 0);
		double dt = time_now() - t0;
		if (dt < best)
			best = dt;
	}
	tap_diag("sample() on %d logits, %s: best of %d %.1f us", BIG_VOCAB, name, N, best * 1e6);
	sampler_free(s);
	free(w);
}

static void test_timing(void)
{
	float *peaked = xmalloc(BIG_VOCAB * sizeof *peaked), *flat = xmalloc(BIG_VOCAB * sizeof *flat);
	struct sampler_params p;

	/* a language model's shape: most logits near 0, a few tens of ids far above */
	for (int i = 0; i < BIG_VOCAB; i++) {
		peaked[i] = (float)(3.0 * (test_uniform() + test_uniform() + test_uniform() - 1.5));
		flat[i] = (float)(0.1 * test_uniform());
	}
	for (int i = 0; i < 30; i++)
		peaked[(i * 7919) % BIG_VOCAB] = (float)(15.0 + i * 0.3);
	sampler_params_default(&p);
	p.seed = 1;
	bench("defaults (T 0.8, top-k 40, top-p 0.95, min-p 0.05)", peaked, &p);
	p.top_k = 0;
	p.temperature = 0.6f;
	p.min_p = 0.0f;
	bench("R1 (T 0.6, top-p 0.95, no top-k), peaked logits", peaked, &p);
	bench("R1 (T 0.6, top-p 0.95, no top-k), flat logits", flat, &p);
	free(peaked);
	free(flat);
}

int main(void)
{
	test_greedy();
	test_seeds();
	test_penalties();
	test_known_sets();
	test_distribution();
	test_big_top_p();
	test_timing();
	return tap_done();
}
