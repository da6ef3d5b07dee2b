/*
 * model.h — one description of a model, whatever file it came from.
 *
 * model_file_open accepts a GGUF file, a Hugging Face model folder
 * (config.json + *.safetensors [+ index] + tokenizer.json + ...), or a single
 * .safetensors file with config.json beside it. It validates everything a
 * forward pass will touch: the architecture is supported, every expected
 * tensor is present with the expected shape and a supported type, and the
 * data lies inside the file. Tensors are exposed under GGUF names
 * ("blk.3.attn_q.weight") in GGUF dimension order for both sources.
 *
 * A model_file is immutable after open and may be shared read-only by several
 * sessions and threads; tensors and strings it hands out live until
 * model_file_close.
 */
#ifndef DUET_INFER_MODEL_H
#define DUET_INFER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infer/tensor.h"

enum model_arch {
	MODEL_ARCH_LLAMA,
	MODEL_ARCH_QWEN2,
};

enum model_source {
	MODEL_SOURCE_GGUF,
	MODEL_SOURCE_SAFETENSORS, /* HF folder or single file */
};

/*
 * Which pairs of a head's dimensions RoPE rotates. HF checkpoints rotate
 * (i, i + head_dim/2) for both families; llama.cpp's converter permutes the Q
 * and K rows of `llama` models, so GGUF llama rotates adjacent pairs (2i, 2i+1),
 * while GGUF qwen2 is not permuted and keeps the half split.
 */
enum rope_layout {
	ROPE_LAYOUT_HALF,     /* (i, i + d/2) */
	ROPE_LAYOUT_ADJACENT, /* (2i, 2i + 1) */
};

enum chat_format {
	CHAT_FORMAT_UNKNOWN,
	CHAT_FORMAT_DEEPSEEK_R1,
	CHAT_FORMAT_LLAMA3,
	CHAT_FORMAT_CHATML,
};

#define MODEL_MAX_EOS 8

struct model_desc {
	enum model_arch arch;
	char name[128];           /* general.name or the folder's name */

	uint32_t n_embd;          /* hidden size */
	uint32_t n_layers;
	uint32_t n_ff;            /* feed-forward (intermediate) size */
	uint32_t n_heads;
	uint32_t n_kv_heads;      /* = n_heads when the file omits it */
	uint32_t head_dim;        /* n_embd / n_heads unless the file says otherwise */
	uint32_t n_vocab;         /* rows of token_embd */
	uint32_t n_ctx_train;     /* the model's context length */
	float rope_theta;         /* 10000 when absent */
	float rms_eps;
	enum rope_layout rope_layout;
	bool qkv_bias;            /* qwen2: attn_{q,k,v}.bias present */
	bool tied_output;         /* no output.weight: logits use token_embd */

	/* Tokenizer and chat: ids are -1 when the model has none. */
	char tokenizer_model[32]; /* "gpt2" (byte-level BPE), "llama" (SentencePiece), ... */
	char tokenizer_pre[48];   /* "llama-bpe", "qwen2", "smollm", ... */
	int32_t bos_id, eos_id, eot_id, pad_id;
	bool add_bos;
	int32_t stop_ids[MODEL_MAX_EOS]; /* every id that ends a turn (eos, eot, generation_config) */
	uint32_t n_stop_ids;
	const char *chat_template; /* Jinja text or NULL; owned by the model file */
	enum chat_format chat_format; /* detected from the template and tokens */

	/* Default sampling (generation_config.json); NaN / -1 / 0 when unset. */
	float temperature;
	float top_p;
	int32_t top_k;
};

struct model_file;

struct model_file *model_file_open(const char *path, char **cause);
void model_file_close(struct model_file *mf); /* NULL is a no-op */

const char *model_file_path(const struct model_file *mf);
enum model_source model_file_source(const struct model_file *mf);
const struct model_desc *model_file_desc(const struct model_file *mf);

size_t model_file_n_tensors(const struct model_file *mf);
const struct tensor *model_file_tensor(const struct model_file *mf, size_t i);
/* By GGUF name; NULL when absent. */
const struct tensor *model_file_find(const struct model_file *mf, const char *name);

/* Totals over all tensors. */
uint64_t model_file_n_params(const struct model_file *mf);
uint64_t model_file_weight_bytes(const struct model_file *mf);

/* Where the tokenizer lives: the GGUF handle, or tokenizer.json paths (others NULL). */
const struct gguf *model_file_gguf(const struct model_file *mf);
const char *model_file_tokenizer_json(const struct model_file *mf);
const char *model_file_tokenizer_config_json(const struct model_file *mf);

const char *model_arch_name(enum model_arch arch);
const char *chat_format_name(enum chat_format f);
/* Detect the chat format from a template text and the vocabulary's special tokens. */
enum chat_format chat_format_detect(const char *template_text);

#endif
