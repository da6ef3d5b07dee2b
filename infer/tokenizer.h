/*
 * tokenizer.h — byte-level BPE exactly as the reference tokenizers produce it
 * (Hugging Face tokenizers, llama.cpp): GPT-2 byte map, merges by rank,
 * pre-tokenisation by the family's regex (llama-bpe, qwen2, deepseek-r1-qwen,
 * smollm, gpt-2), NFC where the tokenizer normalises, ignore_merges for
 * Llama-3. Built from GGUF metadata or from tokenizer.json. SentencePiece and
 * other tokenizer types are refused with a clear message.
 *
 * A tokenizer is immutable after creation: encode/decode are thread-safe.
 * It may borrow strings from the model file; it must not outlive it.
 */
#ifndef DUET_INFER_TOKENIZER_H
#define DUET_INFER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model_file;
struct tokenizer;

struct tokenizer *tokenizer_from_model(const struct model_file *mf, char **cause);
/* tokenizer_config may be NULL. The tokenizer copies what it needs. */
struct tokenizer *tokenizer_from_json_file(const char *tokenizer_json, const char *tokenizer_config,
					   char **cause);
/*
 * A tokenizer alone, without weights: a GGUF (a vocabulary-only one too), a
 * tokenizer.json, or a folder holding tokenizer.json (+ tokenizer_config.json).
 * The tokenizer owns what it opened.
 */
struct tokenizer *tokenizer_open(const char *path, char **cause);
void tokenizer_free(struct tokenizer *tok); /* NULL is a no-op */

enum tokenize_flags {
	/* Match added/special tokens in the text (longest first). Only for text
	 * duet's own chat format produced — never for what the user typed. */
	TOKENIZE_SPECIAL = 1u << 0,
	/* Prepend BOS when the tokenizer asks for it (add_bos_token). */
	TOKENIZE_ADD_BOS = 1u << 1,
};

/* A growable id vector; zero-initialise, free with tokens_free. */
struct tokens {
	int32_t *ids;
	size_t n;
	size_t cap;
};
void tokens_push(struct tokens *t, int32_t id);
void tokens_free(struct tokens *t);

/*
 * Append the ids of text[0..len) to out. Invalid UTF-8 is encoded as its bytes
 * (as the references do). Returns 0, or -1 with *cause (out of range input).
 */
int tokenizer_encode(const struct tokenizer *tok, const char *text, size_t len, unsigned flags,
		     struct tokens *out, char **cause);

size_t tokenizer_n_vocab(const struct tokenizer *tok);
/* The token's text as stored in the vocabulary (byte-mapped form, e.g. "Ġthe"). */
const char *tokenizer_piece(const struct tokenizer *tok, int32_t id, size_t *len);
/* The bytes the token stands for (byte map reversed; special tokens as their text). */
const char *tokenizer_token_bytes(const struct tokenizer *tok, int32_t id, size_t *len);
bool tokenizer_is_special(const struct tokenizer *tok, int32_t id); /* control/added special */
/* The id of an exact vocabulary entry (e.g. "<|im_end|>"), or -1. */
int32_t tokenizer_find(const struct tokenizer *tok, const char *piece, size_t len);

/* Decode a whole id sequence to bytes (caller frees). Unknown ids -> -1. */
char *tokenizer_decode(const struct tokenizer *tok, const int32_t *ids, size_t n, bool special,
		       size_t *out_len, char **cause);

/*
 * Streaming decode for display: push one id at a time; whole UTF-8
 * characters come out, an incomplete multi-byte sequence is held back until
 * the next token completes it. Invalid sequences come out as U+FFFD.
 */
struct detok {
	char pending[8];
	size_t n_pending;
};
void detok_init(struct detok *d);
/* Appends complete characters to out (struct buf from util.h). */
struct buf;
void detok_push(const struct tokenizer *tok, struct detok *d, int32_t id, bool special, struct buf *out);
/* Flush what is held back at end of stream (as U+FFFD). */
void detok_flush(struct detok *d, struct buf *out);

/* Describe the tokenizer: "gpt2", "llama-bpe", special ids (-1 when none). */
const char *tokenizer_type(const struct tokenizer *tok);
const char *tokenizer_pre(const struct tokenizer *tok);
bool tokenizer_normalizes_nfc(const struct tokenizer *tok);
int32_t tokenizer_bos(const struct tokenizer *tok);
int32_t tokenizer_eos(const struct tokenizer *tok);
int32_t tokenizer_eot(const struct tokenizer *tok);
bool tokenizer_add_bos(const struct tokenizer *tok);

#endif
