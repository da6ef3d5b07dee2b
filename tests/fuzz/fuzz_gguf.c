/*
 * fuzz_gguf.c — libFuzzer entry for the GGUF reader and the GGUF model
 * description: every input must either be refused with a message naming the
 * file, or yield a handle whose every pair, string, array element and tensor
 * byte can be read without leaving the input. Accepted inputs then go through
 * model_gguf_load and model_check_tensors. Build and run: tests/fuzz/README.md.
 * Not part of make check.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/gguf.h"
#include "infer/model_impl.h"
#include "infer/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const void *p, uint64_t n)
{
	const uint8_t *b = p;
	if (n == 0)
		return;
	sink ^= b[0];
	sink ^= b[n - 1];
}

static void walk(const struct gguf *g)
{
	for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
		struct gguf_str k = gguf_kv_key(g, i);
		char *d = gguf_kv_describe(g, i, i % 2 ? 0 : 40);
		touch(k.ptr, k.len);
		free(d);
		switch (gguf_kv_type(g, i)) {
		case GGUF_TYPE_STRING: {
			struct gguf_str s = gguf_kv_str(g, i);
			touch(s.ptr, s.len);
			break;
		}
		case GGUF_TYPE_ARRAY:
			if (gguf_arr_type(g, i) == GGUF_TYPE_STRING) {
				for (uint64_t j = 0; j < gguf_arr_len(g, i); j++) {
					struct gguf_str s = gguf_arr_str(g, i, j);
					touch(s.ptr, s.len);
				}
			} else if (gguf_arr_len(g, i) > 0) {
				touch(gguf_arr_data(g, i), gguf_arr_len(g, i));
			}
			break;
		default: touch(gguf_kv_scalar(g, i), 1); break;
		}
	}
	for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct tensor *t = gguf_tensor(g, i);
		touch(t->data, t->n_bytes);
		if (gguf_find_tensor(g, t->name) != t)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL;
	struct gguf *g = gguf_open_memory(data, size, "fuzz.gguf", &cause);
	struct model_file *mf;

	if (!g) {
		/* Every refusal explains itself, naming the file. */
		if (!cause || strncmp(cause, "fuzz.gguf: ", 11) != 0)
			abort();
		free(cause);
		return 0;
	}
	walk(g);

	mf = xcalloc(1, sizeof *mf);
	mf->path = xstrdup("fuzz.gguf");
	mf->gguf = g;
	if (model_gguf_load(mf, &cause) == 0 && model_check_tensors(mf, &cause) == 0) {
		const struct model_desc *d = model_file_desc(mf);
		if (d->n_embd == 0 || d->n_vocab == 0 || d->head_dim == 0)
			abort();
	} else if (!cause || strncmp(cause, "fuzz.gguf: ", 11) != 0) {
		abort();
	}
	model_file_close(mf);
	free(cause);
	return 0;
}
