/*
 * bench_tokenize.c — tokenizer throughput: encode a text (a file, or 1 MB of
 * generated mixed-language text) several times and report the best run in
 * MB/s and tokens/s, then decode the ids back and check the round trip.
 * Not a test (not in TESTS); run by hand:
 *
 *   tests/bench/bench_tokenize MODEL|tokenizer.json [TEXT_FILE] [--special] [--runs N]
 *
 * MODEL is anything model_file_open takes (GGUF, HF folder).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/model.h"
#include "infer/tokenizer.h"
#include "infer/util.h"

/* Pieces of the generated text: prose, code, numbers, CJK, Cyrillic, Arabic, emoji, whitespace. */
static const char *const SAMPLES[] = {
        "The quick brown fox jumps over the lazy dog. ",
        "It's a truth universally acknowledged, that a single man in possession of a good fortune... ",
        "int main(void) {\n\treturn printf(\"%d\\n\", 42) < 0;\n}\n",
        "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text]\n\n",
        "In 2024, 1,234,567 people paid $89.99 for 3.14159 units. ",
        "我们今天去哪里吃饭？北京的天气很好，适合出去走走。",
        "日本語のテキストです。カタカナとひらがな、そして漢字。",
        "Привет, мир! Как дела? Всё хорошо. ",
        "مرحبا بالعالم، كيف حالك اليوم؟ ",
        "한국어 텍스트입니다. 안녕하세요! ",
        "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️ ",
        "    indented line with trailing spaces   \n\n",
        "Ünïcödé àccénts — “quotes” and ‘apostrophes’ … ",
};

static void generate(struct buf *text, size_t size)
{
	unsigned state = 12345;

	while (text->len < size) {
		state = state * 1103515245u + 12345u;
		const char *s = SAMPLES[(state >> 16) % (sizeof SAMPLES / sizeof SAMPLES[0])];
		buf_append(text, s, strlen(s));
	}
}

int main(int argc, char **argv)
{
	const char *model_path = NULL, *text_path = NULL;
	unsigned flags = 0;
	int runs = 5;
	char *cause = NULL, *decoded = NULL;
	struct model_file *mf = NULL;
	struct tokenizer *tok = NULL;
	struct buf text = {0};
	struct tokens ids = {0};
	double best = 1e30, t0, load_s, dec_s;
	size_t dec_len, len;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--special") == 0)
			flags |= TOKENIZE_SPECIAL;
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!model_path)
			model_path = argv[i];
		else
			text_path = argv[i];
	}
	if (!model_path || runs < 1) {
		fprintf(stderr,
		        "usage: bench_tokenize MODEL|tokenizer.json [TEXT_FILE] [--special] [--runs N]\n");
		return 2;
	}

	t0 = time_now();
	len = strlen(model_path);
	if (len >= 5 && strcmp(model_path + len - 5, ".json") == 0) {
		tok = tokenizer_from_json_file(model_path, NULL, &cause);
	} else {
		mf = model_file_open(model_path, &cause);
		if (mf)
			tok = tokenizer_from_model(mf, &cause);
	}
	if (!tok)
		goto fail;
	load_s = time_now() - t0;

	if (text_path) {
		char *data = file_read_all(text_path, (size_t)1 << 30, &len, &cause);
		if (!data)
			goto fail;
		buf_append(&text, data, len);
		free(data);
	} else {
		generate(&text, (size_t)1 << 20);
	}

	for (int r = 0; r < runs; r++) {
		ids.n = 0;
		t0 = time_now();
		if (tokenizer_encode(tok, text.data, text.len, flags, &ids, &cause) != 0)
			goto fail;
		t0 = time_now() - t0;
		if (t0 < best)
			best = t0;
	}
	t0 = time_now();
	decoded = tokenizer_decode(tok, ids.ids, ids.n, true, &dec_len, &cause);
	if (!decoded)
		goto fail;
	dec_s = time_now() - t0;

	printf("tokenizer   %s (%s, pre %s, %zu ids), loaded in %.3f s\n", model_path, tokenizer_type(tok),
	       tokenizer_pre(tok), tokenizer_n_vocab(tok), load_s);
	printf("text        %s: %zu bytes\n", text_path ? text_path : "generated mixed-language text",
	       text.len);
	printf("encode      %zu tokens, best of %d: %.4f s = %.2f MB/s, %.0f tokens/s\n", ids.n, runs, best,
	       (double)text.len / 1e6 / best, (double)ids.n / best);
	printf("decode      %.4f s = %.2f MB/s; round trip %s\n", dec_s, (double)dec_len / 1e6 / dec_s,
	       dec_len == text.len && memcmp(decoded, text.data, text.len) == 0
	               ? "exact"
	               : "differs (normalisation or invalid UTF-8 in the input)");
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "bench_tokenize: %s\n", cause ? cause : "failed");
done:
	free(cause);
	free(decoded);
	tokens_free(&ids);
	buf_free(&text);
	tokenizer_free(tok);
	model_file_close(mf);
	return rc;
}
