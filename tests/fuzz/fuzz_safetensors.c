/*
 * fuzz_safetensors.c — libFuzzer harness for the safetensors header parser
 * (st_open_memory, what st_open runs after mmap). Every input must either be
 * refused with a message or yield a handle whose every tensor lies inside
 * the input: the harness touches each tensor's first and last byte so that
 * AddressSanitizer sees any escape. Build and run: see tests/fuzz/README.md.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy of exactly size bytes, so reads past it are heap overflows. */
	uint8_t *copy = malloc(size ? size : 1);
	char *cause = NULL;
	struct st_file *st;
	volatile uint8_t sink = 0;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	st = st_open_memory(copy, size, "fuzz.safetensors", &cause);
	if (st) {
		for (size_t i = 0; i < st_n_tensors(st); i++) {
			const struct tensor *t = st_tensor(st, i);
			const uint8_t *p = t->data;
			if (t->n_bytes) {
				sink ^= p[0];
				sink ^= p[t->n_bytes - 1];
			}
			if (st_find(st, t->name) != t)
				abort(); /* the by-name index must find every tensor */
			if (t->n_dims < 1 || t->n_dims > TENSOR_MAX_DIMS)
				abort();
		}
		(void)st_metadata(st, "format");
		st_close(st);
	} else if (!cause || !*cause) {
		abort(); /* a refusal must say why */
	}
	free(cause);
	free(copy);
	return 0;
}
