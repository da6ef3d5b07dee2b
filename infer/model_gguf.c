/*
 * model_gguf.c — GGUF metadata into struct model_desc (DESIGN.md §3): the
 * architecture and its hyperparameters under "ARCH.", the tokenizer's
 * special ids and the chat template, and copies of the tensor table.
 * Shapes are checked afterwards by model_check_tensors (model.c). Every key
 * is checked for presence, type and a sane range, so a corrupt or foreign
 * file is refused with the key named. Calls gguf and util.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/gguf.h"
#include "infer/model_impl.h"
#include "infer/util.h"

/* Bounds well beyond any model of these families (Llama-3.1-405B: 16384 wide,
 * 126 layers, 53248 FFN, 128 heads), so that corrupt values are caught
 * before they size an allocation or a loop. */
#define MAX_EMBD (1u << 17)
#define MAX_LAYERS 1024u
#define MAX_FF (1u << 20)
#define MAX_HEADS 1024u
#define MAX_HEAD_DIM 1024u
#define MAX_CTX (1u << 30)
#define MAX_VOCAB (1u << 24)

/* Untrusted text for a message: printable ASCII kept, other bytes as \xNN, cut at 48. */
static const char *printable(char *buf, size_t size, const char *s, uint64_t len)
{
	size_t o = 0;
	uint64_t i;

	for (i = 0; i < len && i < 48 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\'')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (i < len && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static bool str_eq(struct gguf_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* ARCH.suffix as a uint32 in [lo, hi]; def when absent and not required. */
static int arch_u32(const struct gguf *g, const char *arch, const char *suffix, bool required, uint32_t def,
		    uint32_t lo, uint32_t hi, uint32_t *out, char **cause)
{
	char key[128];
	int rc;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	rc = gguf_get_u32(g, key, out, cause);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (required)
			return error_set(cause, "%s: key '%s' is missing", gguf_path(g), key);
		*out = def;
		return 0;
	}
	if (*out < lo || *out > hi)
		return error_set(cause, "%s: %s is %u, outside the range duet accepts (%u..%u)", gguf_path(g), key,
				 *out, lo, hi);
	return 0;
}

/* ARCH.suffix as a positive finite float32; def when absent and not required. */
static int arch_f32(const struct gguf *g, const char *arch, const char *suffix, bool required, float def,
		    float *out, char **cause)
{
	char key[128];
	int rc;

	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	rc = gguf_get_f32(g, key, out, cause);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (required)
			return error_set(cause, "%s: key '%s' is missing", gguf_path(g), key);
		*out = def;
	}
	if (!isfinite(*out) || *out <= 0)
		return error_set(cause, "%s: %s is %g, must be a positive number", gguf_path(g), key, (double)*out);
	return 0;
}

static int load_arch(struct model_file *mf, const char **arch, char **cause)
{
	const struct gguf *g = mf->gguf;
	struct gguf_str s;
	char buf[256];
	int rc = gguf_get_str(g, "general.architecture", &s, cause);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return error_set(cause, "%s: key 'general.architecture' is missing", gguf_path(g));
	if (str_eq(s, "llama")) {
		mf->desc.arch = MODEL_ARCH_LLAMA;
		mf->desc.rope_layout = ROPE_LAYOUT_ADJACENT; /* llama.cpp's converter permutes Q and K */
		*arch = "llama";
	} else if (str_eq(s, "qwen2")) {
		mf->desc.arch = MODEL_ARCH_QWEN2;
		mf->desc.rope_layout = ROPE_LAYOUT_HALF;
		*arch = "qwen2";
	} else {
		return error_set(cause, "%s: architecture '%s' is not supported (duet supports llama, qwen2)",
				 gguf_path(g), printable(buf, sizeof buf, s.ptr, s.len));
	}
	return 0;
}

static int load_hparams(struct model_file *mf, const char *arch, char **cause)
{
	const struct gguf *g = mf->gguf;
	struct model_desc *d = &mf->desc;
	const char *path = gguf_path(g);
	uint32_t key_length, value_length;

	if (arch_u32(g, arch, "embedding_length", true, 0, 1, MAX_EMBD, &d->n_embd, cause) < 0 ||
	    arch_u32(g, arch, "block_count", true, 0, 1, MAX_LAYERS, &d->n_layers, cause) < 0 ||
	    arch_u32(g, arch, "feed_forward_length", true, 0, 1, MAX_FF, &d->n_ff, cause) < 0 ||
	    arch_u32(g, arch, "attention.head_count", true, 0, 1, MAX_HEADS, &d->n_heads, cause) < 0 ||
	    arch_u32(g, arch, "attention.head_count_kv", false, d->n_heads, 1, MAX_HEADS, &d->n_kv_heads, cause) < 0 ||
	    arch_u32(g, arch, "context_length", true, 0, 1, MAX_CTX, &d->n_ctx_train, cause) < 0 ||
	    arch_u32(g, arch, "attention.key_length", false, 0, 2, MAX_HEAD_DIM, &key_length, cause) < 0 ||
	    arch_u32(g, arch, "attention.value_length", false, 0, 2, MAX_HEAD_DIM, &value_length, cause) < 0 ||
	    arch_f32(g, arch, "attention.layer_norm_rms_epsilon", true, 0, &d->rms_eps, cause) < 0 ||
	    arch_f32(g, arch, "rope.freq_base", false, 10000.0f, &d->rope_theta, cause) < 0)
		return -1;

	if (key_length != 0) {
		d->head_dim = key_length;
	} else {
		if (d->n_embd % d->n_heads != 0)
			return error_set(cause,
					 "%s: %s.attention.head_count %u does not divide %s.embedding_length %u "
					 "(and there is no %s.attention.key_length)",
					 path, arch, d->n_heads, arch, d->n_embd, arch);
		d->head_dim = d->n_embd / d->n_heads;
	}
	if (value_length != 0 && value_length != d->head_dim)
		return error_set(cause, "%s: %s.attention.value_length %u differs from the key length %u; duet needs them equal",
				 path, arch, value_length, d->head_dim);
	if (d->head_dim % 2 != 0 || d->head_dim > MAX_HEAD_DIM)
		return error_set(cause, "%s: head dimension %u must be even and at most %u (rotary positions rotate pairs)",
				 path, d->head_dim, MAX_HEAD_DIM);
	if (d->n_kv_heads > d->n_heads || d->n_heads % d->n_kv_heads != 0)
		return error_set(cause, "%s: %s.attention.head_count_kv %u does not divide %s.attention.head_count %u", path,
				 arch, d->n_kv_heads, arch, d->n_heads);
	if (d->rms_eps >= 1.0f)
		return error_set(cause, "%s: %s.attention.layer_norm_rms_epsilon %g is not a small positive number", path,
				 arch, (double)d->rms_eps);
	return 0;
}

/* A fixed-size string field of the description from a string key; absent leaves "". */
static int load_str_field(const struct gguf *g, const char *key, char *out, size_t size, char **cause)
{
	struct gguf_str s;
	char buf[256];
	int rc = gguf_get_str(g, key, &s, cause);

	out[0] = '\0';
	if (rc <= 0)
		return rc;
	if (s.len >= size || memchr(s.ptr, '\0', s.len))
		return error_set(cause, "%s: %s '%s' is not a name duet knows", gguf_path(g), key,
				 printable(buf, sizeof buf, s.ptr, s.len));
	memcpy(out, s.ptr, s.len);
	out[s.len] = '\0';
	return 0;
}

/* A token id key: -1 when absent; otherwise it must name a token. */
static int load_id(const struct gguf *g, const char *key, uint32_t n_vocab, int32_t *out, char **cause)
{
	uint32_t id;
	int rc = gguf_get_u32(g, key, &id, cause);

	*out = -1;
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	if (id >= n_vocab)
		return error_set(cause, "%s: %s %u is outside the vocabulary (%u tokens)", gguf_path(g), key, id,
				 n_vocab);
	*out = (int32_t)id;
	return 0;
}

static void add_stop(struct model_desc *d, int32_t id)
{
	if (id < 0 || d->n_stop_ids >= MODEL_MAX_EOS)
		return;
	for (uint32_t i = 0; i < d->n_stop_ids; i++)
		if (d->stop_ids[i] == id)
			return;
	d->stop_ids[d->n_stop_ids++] = id;
}

/* The id of the vocabulary entry spelled exactly text, or -1. */
static int32_t find_token(const struct gguf *g, int64_t tokens_kv, const char *text)
{
	if (tokens_kv < 0)
		return -1;
	uint64_t n = gguf_arr_len(g, (uint64_t)tokens_kv);
	for (uint64_t i = 0; i < n && i <= INT32_MAX; i++)
		if (str_eq(gguf_arr_str(g, (uint64_t)tokens_kv, i), text))
			return (int32_t)i;
	return -1;
}

static int load_tokenizer(struct model_file *mf, char **cause)
{
	const struct gguf *g = mf->gguf;
	struct model_desc *d = &mf->desc;
	const char *path = gguf_path(g);
	int64_t tokens = gguf_find_key(g, "tokenizer.ggml.tokens");
	struct gguf_str s;
	int rc;

	if (load_str_field(g, "tokenizer.ggml.model", d->tokenizer_model, sizeof d->tokenizer_model, cause) < 0 ||
	    load_str_field(g, "tokenizer.ggml.pre", d->tokenizer_pre, sizeof d->tokenizer_pre, cause) < 0)
		return -1;
	if (tokens >= 0) {
		if (gguf_kv_type(g, (uint64_t)tokens) != GGUF_TYPE_ARRAY ||
		    gguf_arr_type(g, (uint64_t)tokens) != GGUF_TYPE_STRING)
			return error_set(cause, "%s: tokenizer.ggml.tokens must be an array of strings", path);
		if (gguf_arr_len(g, (uint64_t)tokens) > d->n_vocab)
			return error_set(cause, "%s: tokenizer.ggml.tokens has %llu entries, more than token_embd.weight's %u rows",
					 path, (unsigned long long)gguf_arr_len(g, (uint64_t)tokens), d->n_vocab);
	}
	if (load_id(g, "tokenizer.ggml.bos_token_id", d->n_vocab, &d->bos_id, cause) < 0 ||
	    load_id(g, "tokenizer.ggml.eos_token_id", d->n_vocab, &d->eos_id, cause) < 0 ||
	    load_id(g, "tokenizer.ggml.eot_token_id", d->n_vocab, &d->eot_id, cause) < 0 ||
	    load_id(g, "tokenizer.ggml.padding_token_id", d->n_vocab, &d->pad_id, cause) < 0)
		return -1;

	/* llama.cpp's defaults when the key is absent: BOS for SentencePiece and
	 * for the Llama-3 pre-tokenizer, none otherwise (llama-vocab.cpp). */
	d->add_bos = strcmp(d->tokenizer_model, "llama") == 0 || strcmp(d->tokenizer_pre, "llama-bpe") == 0 ||
		     strcmp(d->tokenizer_pre, "llama3") == 0 || strcmp(d->tokenizer_pre, "llama-v3") == 0;
	if (gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &d->add_bos, cause) < 0)
		return -1;

	rc = gguf_get_str(g, "tokenizer.chat_template", &s, cause);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		mf->chat_template = xstrndup(s.ptr, (size_t)s.len);
		d->chat_template = mf->chat_template;
	}

	/* What ends a turn: eos and eot, and the chat format's own end markers
	 * (DESIGN.md §5), which GGUF files do not always mark as eos. */
	add_stop(d, d->eos_id);
	add_stop(d, d->eot_id);
	switch (chat_format_detect(mf->chat_template)) {
	case CHAT_FORMAT_CHATML:
		add_stop(d, find_token(g, tokens, "<|im_end|>"));
		add_stop(d, find_token(g, tokens, "<|endoftext|>"));
		break;
	case CHAT_FORMAT_LLAMA3:
		add_stop(d, find_token(g, tokens, "<|eot_id|>"));
		add_stop(d, find_token(g, tokens, "<|end_of_text|>"));
		break;
	case CHAT_FORMAT_DEEPSEEK_R1:
		add_stop(d, find_token(g, tokens, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"));
		break;
	case CHAT_FORMAT_UNKNOWN: break;
	}
	return 0;
}

/* general.name, else the file's name without folder and ".gguf"; control bytes become '?'. */
static int load_name(struct model_file *mf, char **cause)
{
	struct model_desc *d = &mf->desc;
	struct gguf_str s;
	int rc = gguf_get_str(mf->gguf, "general.name", &s, cause);
	size_t n;

	if (rc < 0)
		return -1;
	if (rc == 0) {
		const char *base = strrchr(mf->path, '/');
		base = base ? base + 1 : mf->path;
		s.ptr = base;
		s.len = strlen(base);
		if (s.len > 5 && strcmp(base + s.len - 5, ".gguf") == 0)
			s.len -= 5;
	}
	n = s.len < sizeof d->name - 1 ? (size_t)s.len : sizeof d->name - 1;
	/* Do not cut a UTF-8 sequence in half. */
	if (n < s.len)
		while (n > 0 && ((unsigned char)s.ptr[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		d->name[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	d->name[n] = '\0';
	return 0;
}

int model_gguf_load(struct model_file *mf, char **cause)
{
	const struct gguf *g = mf->gguf;
	struct model_desc *d = &mf->desc;
	const struct tensor *embd;
	const char *arch;

	memset(d, 0, sizeof *d);
	d->bos_id = d->eos_id = d->eot_id = d->pad_id = -1;
	d->temperature = NAN; /* GGUF carries no generation_config */
	d->top_p = NAN;
	d->top_k = -1;
	mf->source = MODEL_SOURCE_GGUF;

	if (load_arch(mf, &arch, cause) < 0 || load_hparams(mf, arch, cause) < 0)
		return -1;

	embd = gguf_find_tensor(g, "token_embd.weight");
	if (!embd)
		return error_set(cause, "%s: tensor 'token_embd.weight' is missing", gguf_path(g));
	if (embd->n_dims != 2 || embd->ne[1] == 0 || embd->ne[1] > MAX_VOCAB)
		return error_set(cause, "%s: tensor 'token_embd.weight' has %u dimensions and %llu rows; expected 2 and 1..%u",
				 gguf_path(g), embd->n_dims, (unsigned long long)embd->ne[1], MAX_VOCAB);
	d->n_vocab = (uint32_t)embd->ne[1];
	d->qkv_bias = gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
	d->tied_output = gguf_find_tensor(g, "output.weight") == NULL;

	if (load_tokenizer(mf, cause) < 0 || load_name(mf, cause) < 0)
		return -1;

	mf->n_tensors = (size_t)gguf_n_tensors(g);
	mf->tensors = xcalloc(mf->n_tensors ? mf->n_tensors : 1, sizeof *mf->tensors);
	for (size_t i = 0; i < mf->n_tensors; i++)
		mf->tensors[i] = *gguf_tensor(g, i); /* names stay in the gguf handle */
	mf->names_owned = false;
	return 0;
}
