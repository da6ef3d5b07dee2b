/*
 * mkmodel.h — write random-weight models of a real configuration (duet
 * mkmodel): a GGUF file, or a Hugging Face folder (config.json,
 * model.safetensors, tokenizer.json, tokenizer_config.json,
 * generation_config.json). Speed does not depend on weight values, so
 * benchmarks of DeepSeek-R1-Distill-Qwen-1.5B or Llama-3-8B shapes run on
 * these where the real weights cannot travel (MODELS.md).
 *
 * Weights: every value is a pure function of (seed, tensor, row, column):
 * matrices and biases ~ std * Irwin-Hall(4) (a bell of standard deviation
 * std, |x| < 3.5 std), norm weights 1 + 0.1 * the same. The value of a
 * Hugging Face tensor element is the same in both formats; GGUF `llama` Q
 * and K rows are permuted as llama.cpp's converter permutes them, so a GGUF
 * and a safetensors model of one seed compute the same function. Data are
 * generated in chunks by a thread pool while being written (nothing the
 * size of the model is held in memory), and the same seed gives the same
 * bytes whatever the thread count.
 *
 * Tokenizer: copied from --vocab-from (a GGUF's tokenizer.* metadata, or a
 * tokenizer.json with its tokenizer_config.json) or synthetic: the 256
 * GPT-2 byte tokens, the family's special tokens at the real ids where the
 * vocabulary is large enough (else at its end), and merged letter tokens
 * ("Ġt", "th", "Ġth", "the", ...) up to the vocabulary size, with the
 * family's pre-tokenizer and a minimal chat template of its format.
 */
#ifndef DUET_INFER_MKMODEL_H
#define DUET_INFER_MKMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/model.h"

struct mkmodel_config {
	char name[64];
	enum model_arch arch;
	uint32_t n_embd, n_layers, n_heads, n_kv_heads, head_dim, n_ff, n_vocab, n_ctx;
	float rope_theta, rms_eps;
	bool qkv_bias;         /* q/k/v projections carry a bias (qwen2) */
	bool tied_output;      /* no output.weight / lm_head */
	char pre[32];          /* synthetic tokenizer's pre-tokenizer: qwen2, llama-bpe, smollm, gpt-2 */
	enum chat_format chat; /* synthetic tokenizer's special tokens and chat template */
};

/* A built-in configuration by name (r1-distill-qwen-1.5b, ...), or NULL. */
const struct mkmodel_config *mkmodel_config_builtin(const char *name);
/* The built-in names, NULL-terminated. */
const char *const *mkmodel_config_names(void);
/* A configuration from a Hugging Face config.json (llama or qwen2). */
int mkmodel_config_from_json(const char *path, struct mkmodel_config *out, char **cause);

enum mkmodel_format {
	MKMODEL_GGUF,
	MKMODEL_SAFETENSORS,
};

struct mkmodel_params {
	enum mkmodel_format format;
	uint32_t type; /* enum dtype of the weight matrices (norms and biases stay F32 in GGUF) */
	uint64_t seed;
	const char *vocab_from; /* tokenizer source, or NULL for the synthetic one */
	int n_threads;          /* 0 = one per core */
	float std;              /* standard deviation of matrix weights; 0 = 0.02 */
};

struct mkmodel_report {
	uint64_t n_params;
	uint64_t bytes; /* the model file(s), tokenizer files excluded */
	double seconds;
	uint32_t n_fallback; /* matrices written as Q8_0 because their rows are not whole blocks of type */
	uint32_t n_vocab_tokens; /* tokens in the tokenizer */
};

/*
 * Write the model to out: a GGUF file path, or a folder for safetensors
 * (created when absent; files in it are replaced). GGUF takes every type
 * quantize_supported() accepts; safetensors F32, F16 and BF16. Files are
 * written beside their final name and renamed when complete. Returns 0, or
 * -1 with *cause.
 */
int mkmodel_write(const struct mkmodel_config *c, const struct mkmodel_params *p, const char *out,
                  struct mkmodel_report *report, char **cause);

#endif
