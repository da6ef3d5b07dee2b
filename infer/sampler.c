/*
 * sampler.c — the next token from a row of logits, on the host. Calls only
 * libc and infer/util.
 *
 * Order (HF's logits warpers, with min-p before top-p):
 *   1. penalties over the last penalty_last_n history ids, each distinct id
 *      once: repeat (CTRL: positive logits divided, negative multiplied),
 *      then presence (subtracted);
 *   2. temperature 0 (or top-k 1) = greedy: argmax, ties to the lowest id
 *      (as llama.cpp's greedy sampler);
 *   3. a candidate set without sorting the vocabulary: with top-k, the k best
 *      by a min-heap (one pass, O(n log k), almost always one comparison per
 *      logit), then the k sorted; without top-k, every id whose probability
 *      at this temperature is at least 1e-12 of the best one's (what is
 *      left out weighs at most n_vocab * 1e-12 in all);
 *   4. softmax at the temperature over the candidates;
 *   5. min-p: drop candidates below min_p times the best probability;
 *   6. top-p: the smallest set of most probable candidates whose mass reaches
 *      top_p of what is left (sorted candidates: a prefix; otherwise rounds
 *      of bucketing by logit, each a few linear passes, so even a flat
 *      distribution over 150k ids — random-weight models — is never sorted
 *      whole; ties at the boundary keep the lower ids);
 *   7. one draw, proportional to probability, from xoshiro256** seeded by
 *      splitmix64(seed). Every step is deterministic, so the same seed and
 *      logits give the same token.
 * NaN logits are never chosen; if nothing is finite the lowest id comes back.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer/sampler.h"
#include "infer/util.h"

/* ln(1e12): candidates farther than this below the best (after temperature) are dropped. */
#define SAMPLER_CUTOFF 27.631021f
/* Ranges at most this long are finished by sorting in the top-p selection. */
#define SAMPLER_SMALL 48

struct cand {
	int32_t id;
	float logit;
	float p;         /* unnormalised probability, exp((logit - max) / T) */
	uint16_t bucket; /* select_nucleus scratch */
};

struct sampler {
	struct sampler_params p;
	uint32_t n_vocab;
	uint64_t rng[4];    /* xoshiro256** state */
	struct cand *cands; /* (n_vocab) scratch */
	struct cand *tmp;   /* (n_vocab) scratch of select_nucleus */
	uint32_t *seen;     /* (n_vocab) penalty marks: seen[id] == stamp */
	uint32_t stamp;
};

void sampler_params_default(struct sampler_params *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*p = (struct sampler_params){
	        .temperature = 0.8f,
	        .top_k = 40,
	        .top_p = 0.95f,
	        .min_p = 0.05f,
	        .repeat_penalty = 1.0f,
	        .presence_penalty = 0.0f,
	        .penalty_last_n = 64,
	        .seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
	                (uint64_t)(time_now() * 1e9),
	};
}

/* ---- random numbers ---------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4])
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* Uniform in [0, 1), 53 bits. */
static double rng_uniform(uint64_t s[4])
{
	return (double)(xoshiro_next(s) >> 11) * 0x1.0p-53;
}

void sampler_reset(struct sampler *s, uint64_t seed)
{
	uint64_t x = seed;

	s->p.seed = seed;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
}

struct sampler *sampler_new(const struct sampler_params *p, uint32_t n_vocab)
{
	struct sampler *s = xcalloc(1, sizeof *s);

	s->p = *p;
	s->n_vocab = n_vocab;
	s->cands = xcalloc(n_vocab ? n_vocab : 1, sizeof *s->cands);
	s->tmp = xcalloc(n_vocab ? n_vocab : 1, sizeof *s->tmp);
	s->seen = xcalloc(n_vocab ? n_vocab : 1, sizeof *s->seen);
	sampler_reset(s, p->seed);
	return s;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	free(s->cands);
	free(s->tmp);
	free(s->seen);
	free(s);
}

/* ---- steps ---------------------------------------------------------------------------------- */

static void apply_penalties(struct sampler *s, float *logits, const int32_t *history, size_t n_history)
{
	float repeat = s->p.repeat_penalty, presence = s->p.presence_penalty;
	size_t start;

	if ((repeat == 1.0f && presence == 0.0f) || s->p.penalty_last_n == 0 || !history || n_history == 0)
		return;
	if (repeat <= 0.0f)
		repeat = 1.0f;
	start = n_history > s->p.penalty_last_n ? n_history - s->p.penalty_last_n : 0;
	if (++s->stamp == 0) {
		memset(s->seen, 0, (size_t)s->n_vocab * sizeof *s->seen);
		s->stamp = 1;
	}
	for (size_t i = start; i < n_history; i++) {
		int32_t id = history[i];
		float l;

		if (id < 0 || (uint32_t)id >= s->n_vocab || s->seen[id] == s->stamp)
			continue;
		s->seen[id] = s->stamp;
		l = logits[id];
		l = l > 0.0f ? l / repeat : l * repeat;
		logits[id] = l - presence;
	}
}

/* Lowest id of the largest non-NaN logit; 0 when all are NaN. */
static int32_t argmax(const float *logits, uint32_t n)
{
	int32_t best = -1;
	float m = 0.0f;

	for (uint32_t i = 0; i < n; i++)
		if (!isnan(logits[i]) && (best < 0 || logits[i] > m)) {
			m = logits[i];
			best = (int32_t)i;
		}
	return best < 0 ? 0 : best;
}

/* a ranks before b: higher logit, then lower id. */
static bool cand_better(const struct cand *a, const struct cand *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cand_cmp_logit(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	return cand_better(a, b) ? -1 : cand_better(b, a) ? 1 : 0;
}

static int cand_cmp_p(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->p != b->p)
		return a->p > b->p ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Min-heap (root = the worst kept) sift-down from i over h[0..n). */
static void heap_down(struct cand *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && cand_better(&h[w], &h[l]))
			w = l;
		if (r < n && cand_better(&h[w], &h[r]))
			w = r;
		if (w == i)
			return;
		struct cand t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

static void heap_up(struct cand *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!cand_better(&h[parent], &h[i]))
			return;
		struct cand t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

/* The k best logits, sorted best first. Ids are scanned in order, so a tie keeps the lower id. */
static size_t select_top_k(struct cand *c, const float *logits, uint32_t n, size_t k)
{
	size_t m = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct cand x = {(int32_t)i, logits[i], 0.0f, 0};
		if (isnan(x.logit))
			continue;
		if (m < k) {
			c[m] = x;
			heap_up(c, m++);
		} else if (x.logit > c[0].logit) {
			c[0] = x;
			heap_down(c, m, 0);
		}
	}
	qsort(c, m, sizeof *c, cand_cmp_logit);
	return m;
}

/* Every id within cutoff of the best logit, in id order; *max = the best. */
static size_t select_threshold(struct cand *c, const float *logits, uint32_t n, float cutoff, float *max)
{
	float m = -INFINITY, floor_;
	size_t k = 0;

	for (uint32_t i = 0; i < n; i++)
		if (logits[i] > m)
			m = logits[i];
	*max = m;
	floor_ = m - cutoff;
	for (uint32_t i = 0; i < n; i++)
		if (logits[i] >= floor_)
			c[k++] = (struct cand){(int32_t)i, logits[i], 0.0f, 0};
	return k;
}

/*
 * Reorder c[0..n) (in id order) so that c[0..k) is the smallest set of most
 * probable candidates whose mass reaches target (> 0), and return k.
 * Each round buckets the logits of [lo, hi) linearly between their least
 * and greatest (logits order probabilities, and bucketing is monotone, so
 * every bucket holds a contiguous stretch of the ranking), finds the bucket
 * where the mass crosses target, takes the buckets above it and keeps only
 * that bucket's candidates, in id order, for the next round. Invariant:
 * c[0..lo) are in the set with mass acc < target, the rest of the set is
 * in [lo, hi). A round costs three passes over [lo, hi) and shrinks the
 * logit range 256-fold, so a few rounds reach equal logits or a small range.
 */
static size_t select_nucleus(struct cand *c, struct cand *tmp, size_t n, double target)
{
	enum { NB = 256 };
	double mass[NB];
	size_t count[NB];
	size_t lo = 0, hi = n;
	double acc = 0.0;

	while (hi - lo > SAMPLER_SMALL) {
		float lmax = c[lo].logit, lmin = c[lo].logit, scale;
		size_t b = 0, n_b = 0, w;

		for (size_t i = lo; i < hi; i++) {
			lmax = c[i].logit > lmax ? c[i].logit : lmax;
			lmin = c[i].logit < lmin ? c[i].logit : lmin;
		}
		if (!(lmax > lmin)) { /* all equal: the lowest ids, as a stable sort would keep */
			if (!(c[lo].p > 0.0f))
				return hi;
			size_t need = (size_t)ceil((target - acc) / c[lo].p);
			return lo + (need < 1 ? 1 : need > hi - lo ? hi - lo : need);
		}
		scale = (float)NB / (lmax - lmin);
		memset(mass, 0, sizeof mass);
		memset(count, 0, sizeof count);
		for (size_t i = lo; i < hi; i++) {
			size_t k = (size_t)((lmax - c[i].logit) * scale);
			k = k < NB ? k : NB - 1;
			c[i].bucket = (uint16_t)k;
			mass[k] += c[i].p;
			count[k]++;
		}
		while (b < NB - 1 && acc + mass[b] < target) {
			acc += mass[b];
			b++;
		}
		/* stable split: buckets above b to the front, bucket b after them */
		w = lo;
		for (size_t i = lo; i < hi; i++) { /* branch-free: the tests are coin flips on flat logits */
			struct cand x = c[i];
			c[w] = x;
			w += x.bucket < b;
			tmp[n_b] = x;
			n_b += x.bucket == b;
		}
		memcpy(c + w, tmp, n_b * sizeof *c);
		lo = w;
		hi = w + n_b;
	}
	qsort(c + lo, hi - lo, sizeof *c, cand_cmp_p);
	for (size_t i = lo; i < hi; i++) {
		acc += c[i].p;
		if (acc >= target)
			return i + 1;
	}
	return hi;
}

/* Sum of c[0..n).p; four accumulators, as a serial sum waits on each add. */
static double mass_sum(const struct cand *c, size_t n)
{
	double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		a0 += c[i].p;
		a1 += c[i + 1].p;
		a2 += c[i + 2].p;
		a3 += c[i + 3].p;
	}
	for (; i < n; i++)
		a0 += c[i].p;
	return (a0 + a1) + (a2 + a3);
}

/* The candidate where u (in [0, mass of c[0..n))) falls, walking blocks of 64 first. */
static int32_t draw_at(const struct cand *c, size_t n, double u)
{
	enum { BLOCK = 64 };
	size_t i = 0;

	for (; i + BLOCK <= n; i += BLOCK) {
		double m[4] = {0.0, 0.0, 0.0, 0.0};
		for (size_t j = 0; j < BLOCK; j++)
			m[j % 4] += c[i + j].p;
		if (u < (m[0] + m[1]) + (m[2] + m[3]))
			break;
		u -= (m[0] + m[1]) + (m[2] + m[3]);
	}
	for (; i < n; i++) {
		u -= c[i].p;
		if (u < 0.0)
			return c[i].id;
	}
	for (size_t j = n; j-- > 0;) /* rounding left u past the end */
		if (c[j].p > 0.0f)
			return c[j].id;
	return c[0].id;
}

int32_t sampler_sample(struct sampler *s, float *logits, const int32_t *history, size_t n_history)
{
	const struct sampler_params *p = &s->p;
	float t = p->temperature, max;
	size_t n;
	bool sorted;
	double total;

	apply_penalties(s, logits, history, n_history);
	if (!(t > 0.0f) || p->top_k == 1 || !(p->top_p > 0.0f) || s->n_vocab == 0)
		return argmax(logits, s->n_vocab);

	if (p->top_k > 0 && (uint32_t)p->top_k < s->n_vocab) {
		n = select_top_k(s->cands, logits, s->n_vocab, (size_t)p->top_k);
		max = n ? s->cands[0].logit : -INFINITY;
		sorted = true;
	} else {
		n = select_threshold(s->cands, logits, s->n_vocab, SAMPLER_CUTOFF * t, &max);
		sorted = false;
	}
	if (n == 0 || !isfinite(max))
		return argmax(logits, s->n_vocab);

	for (size_t i = 0; i < n; i++)
		s->cands[i].p = expf((s->cands[i].logit - max) / t);

	if (p->min_p > 0.0f) { /* the best has p = 1 */
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (s->cands[i].p >= p->min_p)
				s->cands[k++] = s->cands[i];
		n = k;
	}
	total = mass_sum(s->cands, n);

	if (p->top_p < 1.0f) {
		double target = (double)p->top_p * total, acc = 0.0;
		if (sorted) {
			size_t k = 0;
			while (k < n && acc < target)
				acc += s->cands[k++].p;
			n = k;
		} else {
			n = select_nucleus(s->cands, s->tmp, n, target);
		}
		total = mass_sum(s->cands, n);
	}
	return draw_at(s->cands, n, rng_uniform(s->rng) * total);
}
