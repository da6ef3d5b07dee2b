/*
 * sampler.h — picking the next token from logits: greedy, temperature,
 * top-k, top-p, min-p, repetition and presence penalties, seeded. Never
 * sorts the whole vocabulary: top-k / top-p work on a partial selection.
 * A sampler belongs to one session (not thread-safe); same seed and same
 * logits give the same choices.
 */
#ifndef DUET_INFER_SAMPLER_H
#define DUET_INFER_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

struct sampler_params {
	float temperature;      /* 0 = greedy */
	int32_t top_k;          /* 0 = off */
	float top_p;            /* 1 = off */
	float min_p;            /* 0 = off */
	float repeat_penalty;   /* 1 = off; divides positive logits, multiplies negative (CTRL) */
	float presence_penalty; /* 0 = off; subtracted once per token already present */
	uint32_t penalty_last_n; /* how many recent tokens the penalties look at */
	uint64_t seed;
};

/* temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties, last_n 64, seed from the clock. */
void sampler_params_default(struct sampler_params *p);

struct sampler;

struct sampler *sampler_new(const struct sampler_params *p, uint32_t n_vocab);
void sampler_free(struct sampler *s); /* NULL is a no-op */
/* Restart the random sequence (for /retry with the same seed). */
void sampler_reset(struct sampler *s, uint64_t seed);

/*
 * Choose a token. logits (n_vocab floats) may be modified. history holds
 * the ids the penalties consider (the most recent last).
 */
int32_t sampler_sample(struct sampler *s, float *logits, const int32_t *history, size_t n_history);

#endif
