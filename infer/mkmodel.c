/*
 * mkmodel.c — random-weight model files of real shapes (infer/mkmodel.h).
 *
 * Three parts: configurations (built-in or from config.json); the
 * tokenizer (a struct mk_vocab from a GGUF, a tokenizer.json or the
 * synthetic generator, written as GGUF tokenizer.* metadata or as
 * tokenizer.json + tokenizer_config.json); and the weights, generated
 * chunk by chunk on a thread pool inside the GGUF writer's fill callback or
 * this file's safetensors writer. Calls util, json (jansson), dtype,
 * quantize, gguf, gguf_write, threadpool, and the tokenizer's internals
 * (tokenizer_impl.h) to read back the merges of a tokenizer.json.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/gguf.h"
#include "infer/gguf_write.h"
#include "infer/json.h"
#include "infer/mkmodel.h"
#include "infer/quantize.h"
#include "infer/threadpool.h"
#include "infer/tokenizer_impl.h"
#include "infer/util.h"

#define MK_DEFAULT_STD 0.02f
/* Elements one thread generates and quantises at a time: a whole number of every block size. */
#define MK_SUB_ELEMS 4096
/* Bytes of one safetensors write (a whole number of 2- and 4-byte elements). */
#define MK_ST_CHUNK (4u << 20)
#define MK_JSON_MAX (64u << 20)

/* ---- configurations ----------------------------------------------------------------- */

static const struct mkmodel_config builtin_configs[] = {
        /* DeepSeek-R1-Distill-Qwen-1.5B's config.json (DESIGN.md §3). */
        {"r1-distill-qwen-1.5b", MODEL_ARCH_QWEN2, 1536, 28, 12, 2, 128, 8960, 151936, 131072, 10000.0f,
         1e-6f, true, false, "deepseek-r1-qwen", CHAT_FORMAT_DEEPSEEK_R1},
        /* Meta-Llama-3-8B-Instruct. */
        {"llama-3-8b-instruct", MODEL_ARCH_LLAMA, 4096, 32, 32, 8, 128, 14336, 128256, 8192, 500000.0f, 1e-5f,
         false, false, "llama-bpe", CHAT_FORMAT_LLAMA3},
        /* SmolLM2-135M-Instruct. */
        {"smollm2-135m", MODEL_ARCH_LLAMA, 576, 30, 9, 3, 64, 1536, 49152, 8192, 100000.0f, 1e-5f, false,
         true, "smollm", CHAT_FORMAT_CHATML},
        /* Test shapes: rows of 256 (every block type fits), GQA, tied output, head dims 64 and 128. */
        {"tiny-llama", MODEL_ARCH_LLAMA, 256, 2, 4, 2, 64, 512, 512, 1024, 500000.0f, 1e-5f, false, true,
         "llama-bpe", CHAT_FORMAT_LLAMA3},
        {"tiny-qwen2", MODEL_ARCH_QWEN2, 256, 2, 2, 1, 128, 768, 1024, 1024, 10000.0f, 1e-6f, true, false,
         "qwen2", CHAT_FORMAT_DEEPSEEK_R1},
};
#define N_BUILTIN (sizeof builtin_configs / sizeof builtin_configs[0])

const struct mkmodel_config *mkmodel_config_builtin(const char *name)
{
	for (size_t i = 0; i < N_BUILTIN; i++)
		if (strcmp(builtin_configs[i].name, name) == 0)
			return &builtin_configs[i];
	return NULL;
}

const char *const *mkmodel_config_names(void)
{
	static const char *names[N_BUILTIN + 1];
	for (size_t i = 0; i < N_BUILTIN; i++)
		names[i] = builtin_configs[i].name;
	names[N_BUILTIN] = NULL;
	return names;
}

static int need_u32(const json_t *o, const char *path, const char *key, uint32_t *out, char **cause)
{
	int rc = json_field_u32(o, path, key, 1, out, cause);
	if (rc == 0)
		return json_field_missing(path, key, cause);
	return rc < 0 ? -1 : 0;
}

int mkmodel_config_from_json(const char *path, struct mkmodel_config *c, char **cause)
{
	json_t *o = json_file_load(path, 1u << 20, 0, cause);
	const char *type = NULL, *base;
	bool tied = false;
	int rc = -1;

	if (!o)
		return -1;
	memset(c, 0, sizeof *c);
	if (!json_is_object(o)) {
		error_set(cause, "%s: must hold a JSON object", path);
		goto out;
	}
	if (json_field_str(o, path, "model_type", &type, cause) < 0)
		goto out;
	if (type && strcmp(type, "llama") == 0) {
		c->arch = MODEL_ARCH_LLAMA;
		snprintf(c->pre, sizeof c->pre, "llama-bpe");
		c->chat = CHAT_FORMAT_LLAMA3;
	} else if (type && strcmp(type, "qwen2") == 0) {
		c->arch = MODEL_ARCH_QWEN2;
		c->qkv_bias = true;
		snprintf(c->pre, sizeof c->pre, "qwen2");
		c->chat = CHAT_FORMAT_CHATML;
	} else {
		error_set(cause, "%s: model_type '%s' is not one duet runs (llama, qwen2)", path,
		          type ? type : "(none)");
		goto out;
	}
	if (need_u32(o, path, "hidden_size", &c->n_embd, cause) < 0 ||
	    need_u32(o, path, "num_hidden_layers", &c->n_layers, cause) < 0 ||
	    need_u32(o, path, "num_attention_heads", &c->n_heads, cause) < 0 ||
	    need_u32(o, path, "intermediate_size", &c->n_ff, cause) < 0 ||
	    need_u32(o, path, "vocab_size", &c->n_vocab, cause) < 0)
		goto out;
	c->n_kv_heads = c->n_heads;
	c->n_ctx = 4096;
	c->rope_theta = 10000.0f;
	c->rms_eps = 1e-6f;
	if (json_field_u32(o, path, "num_key_value_heads", 1, &c->n_kv_heads, cause) < 0 ||
	    json_field_u32(o, path, "max_position_embeddings", 1, &c->n_ctx, cause) < 0 ||
	    json_field_f32(o, path, "rope_theta", &c->rope_theta, cause) < 0 ||
	    json_field_f32(o, path, "rms_norm_eps", &c->rms_eps, cause) < 0 ||
	    json_field_bool(o, path, "tie_word_embeddings", &tied, cause) < 0)
		goto out;
	c->tied_output = tied;
	if (json_is_object(json_object_get(o, "rope_parameters")) &&
	    json_field_f32(json_object_get(o, "rope_parameters"), path, "rope_theta", &c->rope_theta, cause) <
	            0)
		goto out;
	c->head_dim = c->n_embd / c->n_heads;
	if (json_field_u32(o, path, "head_dim", 1, &c->head_dim, cause) < 0)
		goto out;
	if (c->arch == MODEL_ARCH_LLAMA) {
		bool bias = false;
		if (json_field_bool(o, path, "attention_bias", &bias, cause) < 0)
			goto out;
		if (bias) {
			error_set(cause, "%s: attention_bias is true; duet's llama has no attention bias",
			          path);
			goto out;
		}
	}
	if (c->n_heads % c->n_kv_heads != 0 || c->head_dim % 2 != 0) {
		error_set(cause,
		          "%s: %u heads, %u KV heads, head dim %u: heads must be a multiple of KV heads and "
		          "the "
		          "head dim even",
		          path, c->n_heads, c->n_kv_heads, c->head_dim);
		goto out;
	}
	base = strrchr(path, '/');
	snprintf(c->name, sizeof c->name, "%s", base ? base + 1 : path);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* ---- the tokenizer ---------------------------------------------------------------------- */

/* GGUF token types (llama.cpp's enum llama_token_type). */
enum {
	TT_NORMAL = 1,
	TT_UNKNOWN = 2,
	TT_CONTROL = 3,
	TT_USER_DEFINED = 4,
	TT_UNUSED = 5,
};

struct mk_vocab {
	size_t n;
	char **piece;  /* NUL-terminated, owned */
	int32_t *type; /* TT_* */
	size_t n_merges;
	char **merge; /* "left right", owned */
	char pre[48];
	int32_t bos, eos, eot, pad;
	bool add_bos;
	char *chat_template;

	/* Copied through unchanged where the output format is the source's. */
	struct gguf *gguf;      /* tokenizer.* keys */
	char *json_path;        /* tokenizer.json */
	char *json_config_path; /* tokenizer_config.json beside it, or NULL */
};

static void vocab_free(struct mk_vocab *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->piece[i]);
	free(v->piece);
	free(v->type);
	for (size_t i = 0; i < v->n_merges; i++)
		free(v->merge[i]);
	free(v->merge);
	free(v->chat_template);
	gguf_close(v->gguf);
	free(v->json_path);
	free(v->json_config_path);
	memset(v, 0, sizeof *v);
}

/* The UTF-8 of GPT-2's printable stand-in for byte b (bytes_to_unicode). */
static size_t byte_char(int b, char *out)
{
	static int n_unprintable_before[256];
	static bool init;
	uint32_t cp;

	if (!init) {
		int n = 0;
		for (int i = 0; i < 256; i++) {
			bool printable = (i >= 0x21 && i <= 0x7e) || (i >= 0xa1 && i <= 0xac) ||
			                 (i >= 0xae && i <= 0xff);
			n_unprintable_before[i] = printable ? -1 : n++;
		}
		init = true;
	}
	cp = n_unprintable_before[b] < 0 ? (uint32_t)b : 0x100u + (uint32_t)n_unprintable_before[b];
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	out[0] = (char)(0xc0 | cp >> 6);
	out[1] = (char)(0x80 | (cp & 0x3f));
	return 2;
}

/* GPT-2's vocabulary order of the byte tokens: the printable bytes first, then the rest. */
static int byte_order(int k)
{
	static int order[256];
	static bool init;
	if (!init) {
		int n = 0;
		for (int pass = 0; pass < 2; pass++)
			for (int b = 0; b < 256; b++) {
				bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) ||
				                 (b >= 0xae && b <= 0xff);
				if (printable == (pass == 0))
					order[n++] = b;
			}
		init = true;
	}
	return order[k];
}

#define G_SPACE "\xc4\xa0" /* Ġ: GPT-2's stand-in for ' ' */

/* Levels of generated merges: letters, whether they follow a space. Each level's left part is two levels
 * back. */
static const struct {
	int letters;
	bool space;
} merge_levels[] = {{1, true}, {2, false}, {2, true}, {3, false}, {3, true}, {4, false}};

/* Merged token number m: its piece and its merge ("left right"); false past the generator's end. */
static bool synthetic_merge(size_t m, char **piece, char **merge)
{
	size_t level_size = 26, base = 0;
	char letters[8];

	for (size_t l = 0; l < sizeof merge_levels / sizeof merge_levels[0]; l++) {
		size_t n = 1;
		for (int k = 0; k < merge_levels[l].letters; k++)
			n *= 26;
		level_size = n;
		if (m < base + level_size) {
			size_t idx = m - base;
			int nl = merge_levels[l].letters;
			const char *sp = merge_levels[l].space ? G_SPACE : "";
			for (int k = nl - 1; k >= 0; k--) {
				letters[k] = (char)('a' + idx % 26);
				idx /= 26;
			}
			letters[nl] = '\0';
			*piece = xasprintf("%s%s", sp, letters);
			*merge = xasprintf("%s%.*s %c", sp, nl - 1, letters, letters[nl - 1]);
			return true;
		}
		base += level_size;
	}
	return false;
}

struct special_token {
	const char *text;
	int32_t type;
};

/* Each chat family's special tokens at the real vocabulary's ids, and which are BOS / EOS. */
static const struct special_token r1_specials[] = {
        {"<\xef\xbd\x9c"
         "end\xe2\x96\x81"
         "of\xe2\x96\x81"
         "sentence\xef\xbd\x9c>",
         TT_CONTROL},
        {"<\xef\xbd\x9c"
         "User\xef\xbd\x9c>",
         TT_USER_DEFINED},
        {"<\xef\xbd\x9c"
         "Assistant\xef\xbd\x9c>",
         TT_USER_DEFINED},
        {"<\xef\xbd\x9c"
         "begin\xe2\x96\x81"
         "of\xe2\x96\x81"
         "sentence\xef\xbd\x9c>",
         TT_CONTROL},
        {"<|EOT|>", TT_USER_DEFINED},
        {"<think>", TT_USER_DEFINED},
        {"</think>", TT_USER_DEFINED},
};
static const struct special_token llama3_specials[] = {
        {"<|begin_of_text|>", TT_CONTROL},
        {"<|end_of_text|>", TT_CONTROL},
        {"<|reserved_special_token_0|>", TT_CONTROL},
        {"<|reserved_special_token_1|>", TT_CONTROL},
        {"<|reserved_special_token_2|>", TT_CONTROL},
        {"<|reserved_special_token_3|>", TT_CONTROL},
        {"<|start_header_id|>", TT_CONTROL},
        {"<|end_header_id|>", TT_CONTROL},
        {"<|reserved_special_token_4|>", TT_CONTROL},
        {"<|eot_id|>", TT_CONTROL},
};
static const struct special_token chatml_specials[] = {
        {"<|endoftext|>", TT_CONTROL},
        {"<|im_start|>", TT_CONTROL},
        {"<|im_end|>", TT_CONTROL},
};

static const char R1_TEMPLATE[] =
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}"
        "{% elif m['role'] == 'user' %}<\xef\xbd\x9cUser\xef\xbd\x9c>{{ m['content'] }}"
        "{% elif m['role'] == 'assistant' %}<\xef\xbd\x9c"
        "Assistant\xef\xbd\x9c>{{ m['content'] }}"
        "<\xef\xbd\x9c"
        "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<\xef\xbd\x9c"
        "Assistant\xef\xbd\x9c><think>\\n{% endif %}";
static const char LLAMA3_TEMPLATE[] =
        "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
        "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif "
        "%}";
static const char CHATML_TEMPLATE[] =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
        "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% "
        "endif %}";

static int vocab_synthetic(const struct mkmodel_config *c, struct mk_vocab *v, char **cause)
{
	const struct special_token *sp;
	size_t n_sp, start, m = 0, byte = 0;
	int32_t bos = -1, eos = -1, eot = -1;

	switch (c->chat) {
	case CHAT_FORMAT_DEEPSEEK_R1:
		sp = r1_specials, n_sp = sizeof r1_specials / sizeof r1_specials[0], start = 151643;
		bos = 3, eos = 0;
		v->add_bos = true;
		v->chat_template = xstrdup(R1_TEMPLATE);
		break;
	case CHAT_FORMAT_LLAMA3:
		sp = llama3_specials, n_sp = sizeof llama3_specials / sizeof llama3_specials[0],
		start = 128000;
		bos = 0, eos = 9, eot = 9; /* the Instruct model ends turns with <|eot_id|> */
		v->add_bos = true;
		v->chat_template = xstrdup(LLAMA3_TEMPLATE);
		break;
	default:
		sp = chatml_specials, n_sp = sizeof chatml_specials / sizeof chatml_specials[0], start = 0;
		bos = 1, eos = 2; /* SmolLM2's choice */
		v->add_bos = false;
		v->chat_template = xstrdup(CHATML_TEMPLATE);
		break;
	}
	if (c->n_vocab < 256 + n_sp)
		return error_set(
		        cause,
		        "a byte-level vocabulary needs at least %zu tokens (256 bytes and %zu special); "
		        "the configuration has %u",
		        256 + n_sp, n_sp, c->n_vocab);
	if (start + n_sp > c->n_vocab)
		start = c->n_vocab - n_sp;
	v->n = c->n_vocab;
	v->piece = xcalloc(v->n, sizeof *v->piece);
	v->type = xcalloc(v->n, sizeof *v->type);
	v->merge = xcalloc(v->n, sizeof *v->merge);
	for (size_t id = 0; id < v->n; id++) {
		if (id >= start && id < start + n_sp) {
			v->piece[id] = xstrdup(sp[id - start].text);
			v->type[id] = sp[id - start].type;
			continue;
		}
		v->type[id] = TT_NORMAL;
		if (byte < 256) {
			char s[3] = {0};
			byte_char(byte_order((int)byte++), s);
			v->piece[id] = xstrdup(s);
			continue;
		}
		if (!synthetic_merge(m++, &v->piece[id], &v->merge[v->n_merges])) {
			v->piece[id] = xasprintf("[PAD%zu]", id);
			v->type[id] = TT_UNUSED;
			continue;
		}
		v->n_merges++;
	}
	v->bos = (int32_t)start + bos;
	v->eos = (int32_t)start + eos;
	v->eot = eot >= 0 ? (int32_t)start + eot : -1;
	v->pad = -1;
	snprintf(v->pre, sizeof v->pre, "%s", c->pre);
	return 0;
}

static char *gguf_str_dup(struct gguf_str s)
{
	return xstrndup(s.ptr, (size_t)s.len);
}

static int gguf_id(const struct gguf *g, const char *key, int32_t *out, char **cause)
{
	uint32_t id;
	int rc = gguf_get_u32(g, key, &id, cause);
	*out = -1;
	if (rc < 0)
		return -1;
	if (rc > 0)
		*out = (int32_t)id;
	return 0;
}

static int vocab_from_gguf(const char *path, struct mk_vocab *v, char **cause)
{
	struct gguf_str s;
	int64_t k_tok, k_type, k_merge;
	uint64_t n;
	int rc;

	v->gguf = gguf_open(path, cause);
	if (!v->gguf)
		return -1;
	rc = gguf_get_str(v->gguf, "tokenizer.ggml.model", &s, cause);
	if (rc < 0)
		return -1;
	if (rc == 0 || s.len != 4 || memcmp(s.ptr, "gpt2", 4) != 0)
		return error_set(cause, "%s: not a byte-level BPE tokenizer (tokenizer.ggml.model is %s)",
		                 path, rc == 0 ? "missing" : "not 'gpt2'");
	k_tok = gguf_find_key(v->gguf, "tokenizer.ggml.tokens");
	k_merge = gguf_find_key(v->gguf, "tokenizer.ggml.merges");
	k_type = gguf_find_key(v->gguf, "tokenizer.ggml.token_type");
	if (k_tok < 0 || gguf_arr_type(v->gguf, (uint64_t)k_tok) != GGUF_TYPE_STRING || k_merge < 0 ||
	    gguf_arr_type(v->gguf, (uint64_t)k_merge) != GGUF_TYPE_STRING)
		return error_set(cause,
		                 "%s: tokenizer.ggml.tokens and tokenizer.ggml.merges must be string arrays",
		                 path);
	if (k_type >= 0 &&
	    (gguf_arr_len(v->gguf, (uint64_t)k_type) != gguf_arr_len(v->gguf, (uint64_t)k_tok) ||
	     (gguf_arr_type(v->gguf, (uint64_t)k_type) != GGUF_TYPE_INT32 &&
	      gguf_arr_type(v->gguf, (uint64_t)k_type) != GGUF_TYPE_UINT32)))
		return error_set(cause,
		                 "%s: tokenizer.ggml.token_type must be an int32 array as long as the tokens",
		                 path);
	n = gguf_arr_len(v->gguf, (uint64_t)k_tok);
	v->n = (size_t)n;
	v->piece = xcalloc(v->n, sizeof *v->piece);
	v->type = xcalloc(v->n, sizeof *v->type);
	for (size_t i = 0; i < v->n; i++) {
		struct gguf_str p = gguf_arr_str(v->gguf, (uint64_t)k_tok, i);
		if (memchr(p.ptr, '\0', (size_t)p.len))
			return error_set(cause, "%s: token %zu contains a NUL byte", path, i);
		v->piece[i] = gguf_str_dup(p);
		v->type[i] = TT_NORMAL;
		if (k_type >= 0)
			memcpy(&v->type[i], (const char *)gguf_arr_data(v->gguf, (uint64_t)k_type) + 4 * i,
			       4);
	}
	v->n_merges = (size_t)gguf_arr_len(v->gguf, (uint64_t)k_merge);
	v->merge = xcalloc(v->n_merges ? v->n_merges : 1, sizeof *v->merge);
	for (size_t i = 0; i < v->n_merges; i++)
		v->merge[i] = gguf_str_dup(gguf_arr_str(v->gguf, (uint64_t)k_merge, i));
	rc = gguf_get_str(v->gguf, "tokenizer.ggml.pre", &s, cause);
	if (rc < 0)
		return -1;
	if (rc == 0) /* llama.cpp's choice for files that predate the key */
		snprintf(v->pre, sizeof v->pre, "default");
	else if (s.len >= sizeof v->pre)
		return error_set(cause, "%s: tokenizer.ggml.pre is too long", path);
	else
		snprintf(v->pre, sizeof v->pre, "%.*s", (int)s.len, s.ptr);
	if (gguf_id(v->gguf, "tokenizer.ggml.bos_token_id", &v->bos, cause) < 0 ||
	    gguf_id(v->gguf, "tokenizer.ggml.eos_token_id", &v->eos, cause) < 0 ||
	    gguf_id(v->gguf, "tokenizer.ggml.eot_token_id", &v->eot, cause) < 0 ||
	    gguf_id(v->gguf, "tokenizer.ggml.padding_token_id", &v->pad, cause) < 0)
		return -1;
	v->add_bos = false;
	if (gguf_get_bool(v->gguf, "tokenizer.ggml.add_bos_token", &v->add_bos, cause) < 0)
		return -1;
	rc = gguf_get_str(v->gguf, "tokenizer.chat_template", &s, cause);
	if (rc < 0)
		return -1;
	if (rc > 0)
		v->chat_template = gguf_str_dup(s);
	return 0;
}

struct rank_pair {
	int32_t rank;
	uint64_t pair;
};

static int rank_cmp(const void *a, const void *b)
{
	const struct rank_pair *x = a, *y = b;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* A tokenizer.json read by duet's own loader; its merges come back out of the merge table by rank. */
static int vocab_from_json(const char *json_path, struct mk_vocab *v, char **cause)
{
	char *dir = xstrdup(json_path), *slash = strrchr(dir, '/'), *cfg;
	struct tokenizer *tok;
	struct rank_pair *ranks;
	size_t n = 0;
	int rc = -1;

	if (slash)
		*slash = '\0';
	cfg = path_join(slash ? dir : ".", "tokenizer_config.json");
	v->json_path = xstrdup(json_path);
	if (path_exists(cfg)) {
		v->json_config_path = cfg;
		cfg = NULL;
	}
	tok = tokenizer_from_json_file(json_path, v->json_config_path, cause);
	if (!tok)
		goto out;
	if (strcmp(tok->pre, "custom") == 0) {
		error_set(cause, "%s: its pre-tokenizer is none of the families a GGUF can name", json_path);
		goto out;
	}
	v->n = tok->n_vocab;
	v->piece = xcalloc(v->n, sizeof *v->piece);
	v->type = xcalloc(v->n, sizeof *v->type);
	for (size_t id = 0; id < v->n; id++) {
		uint8_t f = tok->flags[id];
		if (!(f & TOK_PRESENT)) {
			v->piece[id] = xasprintf("[PAD%zu]", id);
			v->type[id] = TT_UNUSED;
			continue;
		}
		v->piece[id] = xstrndup(tok->piece[id], tok->piece_len[id]);
		v->type[id] =
		        (f & TOK_ADDED) ? ((f & TOK_SPECIAL) ? TT_CONTROL : TT_USER_DEFINED) : TT_NORMAL;
	}
	ranks = xcalloc(tok->n_merges ? tok->n_merges : 1, sizeof *ranks);
	for (size_t i = 0; i <= tok->merges_mask; i++)
		if (tok->merges[i].rank >= 0 && n < tok->n_merges)
			ranks[n++] = (struct rank_pair){tok->merges[i].rank, tok->merges[i].pair};
	qsort(ranks, n, sizeof *ranks, rank_cmp);
	v->merge = xcalloc(n ? n : 1, sizeof *v->merge);
	for (size_t i = 0; i < n; i++) {
		uint32_t a = (uint32_t)(ranks[i].pair >> 32), b = (uint32_t)ranks[i].pair;
		v->merge[i] = xasprintf("%.*s %.*s", (int)tok->piece_len[a], tok->piece[a],
		                        (int)tok->piece_len[b], tok->piece[b]);
	}
	v->n_merges = n;
	free(ranks);
	snprintf(v->pre, sizeof v->pre, "%s", tok->pre);
	v->bos = tok->bos;
	v->eos = tok->eos;
	v->eot = tok->eot;
	v->pad = -1;
	v->add_bos = tok->add_bos;
	if (v->json_config_path) {
		json_t *tc = json_file_load(v->json_config_path, MK_JSON_MAX, JSON_DECODE_INT_AS_REAL, cause);
		const json_t *t;
		if (!tc)
			goto out;
		t = json_object_get(tc, "chat_template");
		if (json_is_string(t))
			v->chat_template = xstrdup(json_string_value(t));
		json_decref(tc);
	}
	rc = 0;
out:
	tokenizer_free(tok);
	free(cfg);
	free(dir);
	return rc;
}

/*
 * The tokenizer source: a GGUF file, a tokenizer.json, or a folder holding
 * them (for a GGUF output its vocab.gguf / *.gguf is preferred, for
 * safetensors its tokenizer.json, so each copies through unchanged).
 */
static int vocab_open(const char *from, enum mkmodel_format format, struct mk_vocab *v, char **cause)
{
	char *gguf_path = NULL, *json_path = NULL;
	int rc;

	if (path_is_dir(from)) {
		char *g = path_join(from, "vocab.gguf"), *j = path_join(from, "tokenizer.json");
		if (path_exists(g))
			gguf_path = g;
		else
			free(g);
		if (path_exists(j))
			json_path = j;
		else
			free(j);
		if (!gguf_path && !json_path)
			return error_set(cause, "%s: no vocab.gguf or tokenizer.json in the folder", from);
		if (gguf_path && json_path) {
			if (format == MKMODEL_GGUF) {
				free(json_path);
				json_path = NULL;
			} else {
				free(gguf_path);
				gguf_path = NULL;
			}
		}
	} else {
		size_t len = strlen(from);
		if (len >= 5 && strcmp(from + len - 5, ".json") == 0)
			json_path = xstrdup(from);
		else
			gguf_path = xstrdup(from);
	}
	rc = gguf_path ? vocab_from_gguf(gguf_path, v, cause) : vocab_from_json(json_path, v, cause);
	free(gguf_path);
	free(json_path);
	return rc;
}

/* tokenizer.* pairs of a GGUF, copied one for one. */
static int vocab_copy_gguf_keys(const struct gguf *g, struct gguf_writer *w, char **cause)
{
	for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
		struct gguf_str k = gguf_kv_key(g, i);
		char *key;
		enum gguf_vtype t = gguf_kv_type(g, i);
		const void *p;

		if (k.len < 10 || memcmp(k.ptr, "tokenizer.", 10) != 0)
			continue;
		key = gguf_str_dup(k);
		p = t == GGUF_TYPE_ARRAY || t == GGUF_TYPE_STRING ? NULL : gguf_kv_scalar(g, i);
		switch (t) {
		case GGUF_TYPE_UINT8:
			gguf_writer_add_u8(w, key, *(const uint8_t *)p);
			break;
		case GGUF_TYPE_INT8:
			gguf_writer_add_i8(w, key, *(const int8_t *)p);
			break;
		case GGUF_TYPE_BOOL:
			gguf_writer_add_bool(w, key, *(const uint8_t *)p != 0);
			break;
		case GGUF_TYPE_UINT16: {
			uint16_t x;
			memcpy(&x, p, 2);
			gguf_writer_add_u16(w, key, x);
			break;
		}
		case GGUF_TYPE_INT16: {
			int16_t x;
			memcpy(&x, p, 2);
			gguf_writer_add_i16(w, key, x);
			break;
		}
		case GGUF_TYPE_UINT32: {
			uint32_t x;
			memcpy(&x, p, 4);
			gguf_writer_add_u32(w, key, x);
			break;
		}
		case GGUF_TYPE_INT32: {
			int32_t x;
			memcpy(&x, p, 4);
			gguf_writer_add_i32(w, key, x);
			break;
		}
		case GGUF_TYPE_FLOAT32: {
			float x;
			memcpy(&x, p, 4);
			gguf_writer_add_f32(w, key, x);
			break;
		}
		case GGUF_TYPE_UINT64: {
			uint64_t x;
			memcpy(&x, p, 8);
			gguf_writer_add_u64(w, key, x);
			break;
		}
		case GGUF_TYPE_INT64: {
			int64_t x;
			memcpy(&x, p, 8);
			gguf_writer_add_i64(w, key, x);
			break;
		}
		case GGUF_TYPE_FLOAT64: {
			double x;
			memcpy(&x, p, 8);
			gguf_writer_add_f64(w, key, x);
			break;
		}
		case GGUF_TYPE_STRING: {
			struct gguf_str s = gguf_kv_str(g, i);
			gguf_writer_add_strn(w, key, s.ptr, (size_t)s.len);
			break;
		}
		case GGUF_TYPE_ARRAY: {
			enum gguf_vtype et = gguf_arr_type(g, i);
			size_t n = (size_t)gguf_arr_len(g, i);
			if (et == GGUF_TYPE_STRING) {
				char **strs = xcalloc(n ? n : 1, sizeof *strs);
				for (size_t j = 0; j < n; j++)
					strs[j] = gguf_str_dup(gguf_arr_str(g, i, j));
				gguf_writer_add_arr_str(w, key, (const char *const *)strs, n);
				for (size_t j = 0; j < n; j++)
					free(strs[j]);
				free(strs);
			} else if (et == GGUF_TYPE_ARRAY) {
				free(key);
				return error_set(cause, "%s: %.*s: nested arrays are not copied",
				                 gguf_path(g), (int)k.len, k.ptr);
			} else {
				/* Numeric elements are little-endian in the file, as on the hosts duet runs
				 * on. */
				static const size_t size[GGUF_TYPE_COUNT_] = {1, 1, 2, 2, 4, 4, 4,
				                                              1, 0, 0, 8, 8, 8};
				void *copy = xmalloc(n * size[et] + 1);
				memcpy(copy, gguf_arr_data(g, i), n * size[et]);
				gguf_writer_add_arr(w, key, et, copy, n);
				free(copy);
			}
			break;
		}
		default:
			free(key);
			return error_set(cause, "%s: %.*s has an unknown type", gguf_path(g), (int)k.len,
			                 k.ptr);
		}
		free(key);
	}
	return 0;
}

static void vocab_add_gguf_keys(const struct mk_vocab *v, struct gguf_writer *w)
{
	gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
	gguf_writer_add_str(w, "tokenizer.ggml.pre", v->pre);
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->piece, v->n);
	gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v->type, v->n);
	gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v->merge, v->n_merges);
	if (v->bos >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos);
	if (v->eos >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos);
	if (v->eot >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)v->eot);
	if (v->pad >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)v->pad);
	gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos);
	if (v->chat_template)
		gguf_writer_add_str(w, "tokenizer.chat_template", v->chat_template);
}

/* ---- small files --------------------------------------------------------------------------- */

/* Write data to path through a temporary file beside it and a rename. */
static int write_file_atomic(const char *path, const void *data, size_t len, char **cause)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	FILE *f;

	if (fd < 0) {
		error_set(cause, "%s: cannot create a file beside it: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	f = fdopen(fd, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fchmod(fd, 0644) != 0 || fclose(f) != 0) {
		error_set(cause, "%s: write failed: %s", path, strerror(errno));
		if (f)
			fclose(f);
		else
			close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		error_set(cause, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static int write_json(const char *dir, const char *name, json_t *o, char **cause)
{
	char *path = path_join(dir, name);
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
	int rc;

	json_decref(o);
	if (!text)
		fatal("out of memory writing %s", path);
	text = xrealloc(text, strlen(text) + 2);
	strcat(text, "\n");
	rc = write_file_atomic(path, text, strlen(text), cause);
	free(text);
	free(path);
	return rc;
}

static int copy_file(const char *from, const char *dir, const char *name, char **cause)
{
	size_t len;
	char *data = file_read_all(from, MK_JSON_MAX, &len, cause), *to;
	int rc;

	if (!data)
		return -1;
	to = path_join(dir, name);
	rc = write_file_atomic(to, data, len, cause);
	free(to);
	free(data);
	return rc;
}

static json_t *json_str_checked(const char *s, const char *what, char **cause)
{
	json_t *j = json_string(s);
	if (!j)
		error_set(cause, "%s '%.40s' is not valid UTF-8", what, s);
	return j;
}

/* The pre_tokenizer and normalizer of tokenizer.json for a GGUF pre-tokenizer name. */
static int pre_tokenizer_json(const char *pre, json_t **pre_out, json_t **norm_out, bool *ignore_merges,
                              char **cause)
{
	const char *re = NULL;

	*norm_out = json_null();
	*ignore_merges = false;
	if (strcmp(pre, "qwen2") == 0 || strcmp(pre, "deepseek-r1-qwen") == 0) {
		re = PRETOK_RE_QWEN2;
		json_decref(*norm_out);
		*norm_out = json_pack("{s:s}", "type", "NFC");
	} else if (strcmp(pre, "llama-bpe") == 0 || strcmp(pre, "llama3") == 0 ||
	           strcmp(pre, "llama-v3") == 0) {
		re = PRETOK_RE_LLAMA3;
		*ignore_merges = true;
	}
	if (re) {
		*pre_out = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, {s:s, s:b, s:b, s:b}]}", "type",
		                     "Sequence", "pretokenizers", "type", "Split", "pattern", "Regex", re,
		                     "behavior", "Isolated", "invert", 0, "type", "ByteLevel",
		                     "add_prefix_space", 0, "trim_offsets", 0, "use_regex", 0);
	} else if (strcmp(pre, "smollm") == 0) {
		*pre_out = json_pack("{s:s, s:[{s:s, s:b}, {s:s, s:b, s:b, s:b}]}", "type", "Sequence",
		                     "pretokenizers", "type", "Digits", "individual_digits", 1, "type",
		                     "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1);
	} else if (strcmp(pre, "gpt-2") == 0 || strcmp(pre, "default") == 0) {
		*pre_out = json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
		                     "trim_offsets", 1, "use_regex", 1);
	} else {
		json_decref(*norm_out);
		*norm_out = NULL;
		return error_set(cause, "pre-tokenizer '%s' has no tokenizer.json form here", pre);
	}
	return 0;
}

static const char *vocab_text(const struct mk_vocab *v, int32_t id)
{
	return id >= 0 && (size_t)id < v->n ? v->piece[id] : NULL;
}

static int vocab_write_json(const struct mk_vocab *v, const char *dir, uint32_t n_ctx, char **cause)
{
	json_t *root = NULL, *added = json_array(), *vocab = json_object(), *merges = json_array(),
	       *pre = NULL, *norm = NULL, *post, *tc;
	bool ignore_merges;

	if (pre_tokenizer_json(v->pre, &pre, &norm, &ignore_merges, cause) < 0)
		goto fail;
	for (size_t id = 0; id < v->n; id++) {
		json_t *s = json_str_checked(v->piece[id], "token", cause);
		if (!s)
			goto fail;
		/*
		 * Every token goes into model.vocab, the added ones too (as SmolLM2's
		 * tokenizer.json has them): HF tokenizers gives an added token that
		 * is not in model.vocab the next free id, whatever its "id" says.
		 */
		if (!json_object_get(vocab, v->piece[id]))
			json_object_set_new(vocab, v->piece[id], json_integer((json_int_t)id));
		if (v->type[id] == TT_NORMAL) {
			json_decref(s);
		} else {
			json_array_append_new(added, json_pack("{s:I, s:o, s:b, s:b, s:b, s:b, s:b}", "id",
			                                       (json_int_t)id, "content", s, "single_word", 0,
			                                       "lstrip", 0, "rstrip", 0, "normalized",
			                                       v->type[id] == TT_USER_DEFINED, "special",
			                                       v->type[id] != TT_USER_DEFINED));
		}
	}
	for (size_t i = 0; i < v->n_merges; i++) {
		json_t *s = json_str_checked(v->merge[i], "merge", cause);
		if (!s)
			goto fail;
		json_array_append_new(merges, s);
	}
	if (v->add_bos && vocab_text(v, v->bos))
		post = json_pack(
		        "{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}, "
		        "{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:{s:{s:s, s:[I], s:[s]}}}",
		        "type", "TemplateProcessing", "single", "SpecialToken", "id", vocab_text(v, v->bos),
		        "type_id", 0, "Sequence", "id", "A", "type_id", 0, "pair", "SpecialToken", "id",
		        vocab_text(v, v->bos), "type_id", 0, "Sequence", "id", "A", "type_id", 0,
		        "SpecialToken", "id", vocab_text(v, v->bos), "type_id", 1, "Sequence", "id", "B",
		        "type_id", 1, "special_tokens", vocab_text(v, v->bos), "id", vocab_text(v, v->bos),
		        "ids", (json_int_t)v->bos, "tokens", vocab_text(v, v->bos));
	else
		post = json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
		                 "trim_offsets", 0, "use_regex", 0);
	root = json_pack(
	        "{s:s, s:n, s:n, s:o, s:o, s:o, s:o, s:{s:s, s:b, s:b, s:b}, s:{s:s, s:n, s:n, s:n, s:n, "
	        "s:b, s:b, s:b, s:o, s:o}}",
	        "version", "1.0", "truncation", "padding", "added_tokens", added, "normalizer", norm,
	        "pre_tokenizer", pre, "post_processor", post, "decoder", "type", "ByteLevel",
	        "add_prefix_space", 1, "trim_offsets", 1, "use_regex", 1, "model", "type", "BPE", "dropout",
	        "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
	        "byte_fallback", 0, "ignore_merges", ignore_merges, "vocab", vocab, "merges", merges);
	added = vocab = merges = pre = norm = NULL;
	if (!root)
		fatal("out of memory building tokenizer.json");
	if (write_json(dir, "tokenizer.json", root, cause) < 0)
		return -1;

	tc = json_pack("{s:b, s:s?, s:s?, s:n, s:I, s:s}", "add_bos_token", v->add_bos, "bos_token",
	               vocab_text(v, v->bos), "eos_token", vocab_text(v, v->eos), "pad_token",
	               "model_max_length", (json_int_t)n_ctx, "tokenizer_class", "PreTrainedTokenizerFast");
	if (!tc)
		fatal("out of memory building tokenizer_config.json");
	if (v->chat_template)
		json_object_set_new(tc, "chat_template", json_string(v->chat_template));
	return write_json(dir, "tokenizer_config.json", tc, cause);
fail:
	json_decref(added);
	json_decref(vocab);
	json_decref(merges);
	json_decref(pre);
	json_decref(norm);
	return -1;
}

/* ---- the weights ---------------------------------------------------------------------------------- */

enum mk_kind {
	MK_MATRIX,
	MK_NORM,
	MK_BIAS,
};

struct mk_tensor {
	char gguf_name[64];
	char hf_name[96];
	enum mk_kind kind;
	uint64_t rows, cols; /* PyTorch shape [rows, cols]; a 1-D tensor has rows = 1 */
	bool one_d;
	uint32_t type;
	uint32_t permute_heads; /* GGUF llama Q/K: rows are llama.cpp-permuted over this many heads */
	uint64_t key;           /* of the HF name and the seed: the same values in both formats */
	uint64_t n_bytes;
};

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t name_key(uint64_t seed, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ mix64(seed);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return mix64(h);
}

/* The HF row a GGUF row holds: llama.cpp's permute() reversed. */
static uint64_t hf_row(const struct mk_tensor *t, uint64_t row)
{
	uint64_t hd, h, w;

	if (!t->permute_heads)
		return row;
	hd = t->rows / t->permute_heads;
	h = row / hd;
	w = row % hd;
	return h * hd + (w % 2) * (hd / 2) + w / 2;
}

/*
 * Values of elements [e0, e0 + n) in file order. Irwin-Hall(4) of four
 * 16-bit fields of one hash: mean 2 * 65535 / 2, standard deviation
 * 65536 / sqrt(3) (four uniforms of variance 65536^2 / 12).
 */
static void gen_values(const struct mk_tensor *t, float std, uint64_t e0, size_t n, float *out)
{
	const float inv_sd = 1.0f / 37837.23f;
	float scale = t->kind == MK_NORM ? 0.1f : std, offset = t->kind == MK_NORM ? 1.0f : 0.0f;
	uint64_t row = e0 / t->cols, col = e0 % t->cols;
	size_t i = 0;

	while (i < n) {
		uint64_t rk = mix64(t->key ^ (hf_row(t, row) + 1) * 0x9e3779b97f4a7c15ull);
		for (; col < t->cols && i < n; col++, i++) {
			uint64_t h = mix64(rk + col * 0x9e3779b97f4a7c15ull);
			float s =
			        (float)((h & 0xffff) + (h >> 16 & 0xffff) + (h >> 32 & 0xffff) + (h >> 48)) -
			        131070.0f;
			out[i] = offset + scale * (s * inv_sd);
		}
		row++;
		col = 0;
	}
}

struct mk_fill {
	const struct mk_tensor *t;
	float std;
	struct threadpool *pool;
	/* the current chunk */
	uint64_t e0;
	size_t n_blocks;
	uint8_t *dst;
};

static void fill_worker(void *arg, int ith, int nth)
{
	struct mk_fill *f = arg;
	const struct dtype_traits *tr = dtype_traits(f->t->type);
	size_t per = (f->n_blocks + (size_t)nth - 1) / (size_t)nth;
	size_t b0 = per * (size_t)ith, b1 = b0 + per < f->n_blocks ? b0 + per : f->n_blocks;
	size_t sub = MK_SUB_ELEMS / tr->block_elems;
	float buf[MK_SUB_ELEMS];

	for (size_t b = b0; b < b1; b += sub) {
		size_t nb = b1 - b < sub ? b1 - b : sub;
		gen_values(f->t, f->std, f->e0 + b * tr->block_elems, nb * tr->block_elems, buf);
		quantize_row(f->t->type, buf, f->dst + b * tr->block_bytes, nb * tr->block_elems);
	}
}

/* Bytes [offset, offset + n) of the tensor: whole blocks. */
static int fill_bytes(void *ctx, uint64_t offset, void *dst, size_t n, char **cause)
{
	struct mk_fill *f = ctx;
	const struct dtype_traits *tr = dtype_traits(f->t->type);

	if (offset % tr->block_bytes || n % tr->block_bytes)
		return error_set(cause, "fill of %zu bytes at %llu is not whole blocks", n,
		                 (unsigned long long)offset);
	f->e0 = offset / tr->block_bytes * tr->block_elems;
	f->n_blocks = n / tr->block_bytes;
	f->dst = dst;
	threadpool_run(f->pool, fill_worker, f);
	return 0;
}

static void tensor_add(struct mk_tensor **ts, size_t *n, const char *gguf, const char *hf, enum mk_kind kind,
                       uint64_t rows, uint64_t cols, bool one_d)
{
	struct mk_tensor *t;

	*ts = xreallocarray(*ts, *n + 1, sizeof **ts);
	t = &(*ts)[(*n)++];
	memset(t, 0, sizeof *t);
	snprintf(t->gguf_name, sizeof t->gguf_name, "%s", gguf);
	snprintf(t->hf_name, sizeof t->hf_name, "%s", hf);
	t->kind = kind;
	t->rows = rows;
	t->cols = cols;
	t->one_d = one_d;
}

/* The tensors in the order llama.cpp's converter writes them, with their types and value keys. */
static struct mk_tensor *plan_tensors(const struct mkmodel_config *c, const struct mkmodel_params *p,
                                      size_t *n_out, uint32_t *n_fallback)
{
	struct mk_tensor *ts = NULL;
	size_t n = 0;
	uint64_t q_dim = (uint64_t)c->n_heads * c->head_dim, kv_dim = (uint64_t)c->n_kv_heads * c->head_dim;
	char g[64], h[96];

	tensor_add(&ts, &n, "token_embd.weight", "model.embed_tokens.weight", MK_MATRIX, c->n_vocab,
	           c->n_embd, false);
	for (uint32_t l = 0; l < c->n_layers; l++) {
		static const struct {
			const char *gguf, *hf;
			enum mk_kind kind;
			int rows, cols; /* 1 n_embd, 2 q_dim, 3 kv_dim, 4 n_ff; rows 0: 1-D */
			bool bias;
		} layer[] = {
		        {"attn_norm.weight", "input_layernorm.weight", MK_NORM, 0, 1, false},
		        {"attn_q.weight", "self_attn.q_proj.weight", MK_MATRIX, 2, 1, false},
		        {"attn_q.bias", "self_attn.q_proj.bias", MK_BIAS, 0, 2, true},
		        {"attn_k.weight", "self_attn.k_proj.weight", MK_MATRIX, 3, 1, false},
		        {"attn_k.bias", "self_attn.k_proj.bias", MK_BIAS, 0, 3, true},
		        {"attn_v.weight", "self_attn.v_proj.weight", MK_MATRIX, 3, 1, false},
		        {"attn_v.bias", "self_attn.v_proj.bias", MK_BIAS, 0, 3, true},
		        {"attn_output.weight", "self_attn.o_proj.weight", MK_MATRIX, 1, 2, false},
		        {"ffn_norm.weight", "post_attention_layernorm.weight", MK_NORM, 0, 1, false},
		        {"ffn_gate.weight", "mlp.gate_proj.weight", MK_MATRIX, 4, 1, false},
		        {"ffn_up.weight", "mlp.up_proj.weight", MK_MATRIX, 4, 1, false},
		        {"ffn_down.weight", "mlp.down_proj.weight", MK_MATRIX, 1, 4, false},
		};
		const uint64_t dims[] = {1, c->n_embd, q_dim, kv_dim, c->n_ff};
		for (size_t k = 0; k < sizeof layer / sizeof layer[0]; k++) {
			if (layer[k].bias && !c->qkv_bias)
				continue;
			snprintf(g, sizeof g, "blk.%u.%s", l, layer[k].gguf);
			snprintf(h, sizeof h, "model.layers.%u.%s", l, layer[k].hf);
			tensor_add(&ts, &n, g, h, layer[k].kind, dims[layer[k].rows], dims[layer[k].cols],
			           layer[k].rows == 0);
			/* llama.cpp permutes llama Q and K rows so RoPE pairs are adjacent. */
			if (p->format == MKMODEL_GGUF && c->arch == MODEL_ARCH_LLAMA &&
			    layer[k].kind == MK_MATRIX) {
				if (strcmp(layer[k].gguf, "attn_q.weight") == 0)
					ts[n - 1].permute_heads = c->n_heads;
				else if (strcmp(layer[k].gguf, "attn_k.weight") == 0)
					ts[n - 1].permute_heads = c->n_kv_heads;
			}
		}
	}
	tensor_add(&ts, &n, "output_norm.weight", "model.norm.weight", MK_NORM, 1, c->n_embd, true);
	if (!c->tied_output)
		tensor_add(&ts, &n, "output.weight", "lm_head.weight", MK_MATRIX, c->n_vocab, c->n_embd,
		           false);

	*n_fallback = 0;
	for (size_t i = 0; i < n; i++) {
		struct mk_tensor *t = &ts[i];
		const struct dtype_traits *tr;
		t->key = name_key(p->seed, t->hf_name);
		if (p->format == MKMODEL_SAFETENSORS)
			t->type = p->type;
		else if (t->kind != MK_MATRIX)
			t->type = DTYPE_F32; /* as llama.cpp keeps norms and biases */
		else {
			t->type = p->type;
			tr = dtype_traits(t->type);
			if (t->cols % tr->block_elems != 0) {
				t->type = t->cols % 32 == 0 ? DTYPE_Q8_0 : DTYPE_F16;
				(*n_fallback)++;
			}
		}
		tr = dtype_traits(t->type);
		t->n_bytes = t->rows * t->cols / tr->block_elems * tr->block_bytes;
	}
	*n_out = n;
	return ts;
}

/* ---- writers ------------------------------------------------------------------------------------ */

static const char *arch_prefix(enum model_arch a)
{
	return a == MODEL_ARCH_QWEN2 ? "qwen2" : "llama";
}

static int write_gguf(const struct mkmodel_config *c, const struct mkmodel_params *p,
                      const struct mk_vocab *v, const struct mk_tensor *ts, size_t n_ts,
                      struct threadpool *pool, const char *out, char **cause)
{
	struct gguf_writer *w = gguf_writer_new();
	struct mk_fill *fills = xcalloc(n_ts, sizeof *fills);
	const char *a = arch_prefix(c->arch);
	char key[96];
	int rc;

	gguf_writer_add_str(w, "general.architecture", a);
	gguf_writer_add_str(w, "general.name", c->name);
	gguf_writer_add_str(w, "general.description", "random weights written by duet mkmodel");
	gguf_writer_add_u32(w, "general.quantization_version", 2);
#define ARCH_U32(suffix, val)                                                                                \
	do {                                                                                                 \
		snprintf(key, sizeof key, "%s.%s", a, suffix);                                               \
		gguf_writer_add_u32(w, key, (val));                                                          \
	} while (0)
	ARCH_U32("context_length", c->n_ctx);
	ARCH_U32("embedding_length", c->n_embd);
	ARCH_U32("block_count", c->n_layers);
	ARCH_U32("feed_forward_length", c->n_ff);
	ARCH_U32("attention.head_count", c->n_heads);
	ARCH_U32("attention.head_count_kv", c->n_kv_heads);
	ARCH_U32("rope.dimension_count", c->head_dim);
	ARCH_U32("vocab_size", c->n_vocab);
	if (c->head_dim * c->n_heads != c->n_embd) {
		ARCH_U32("attention.key_length", c->head_dim);
		ARCH_U32("attention.value_length", c->head_dim);
	}
#undef ARCH_U32
	snprintf(key, sizeof key, "%s.rope.freq_base", a);
	gguf_writer_add_f32(w, key, c->rope_theta);
	snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", a);
	gguf_writer_add_f32(w, key, c->rms_eps);

	if (v->gguf) {
		if (vocab_copy_gguf_keys(v->gguf, w, cause) < 0) {
			rc = -1;
			goto out;
		}
	} else {
		vocab_add_gguf_keys(v, w);
	}
	for (size_t i = 0; i < n_ts; i++) {
		uint64_t ne[2] = {ts[i].cols, ts[i].rows};
		fills[i] = (struct mk_fill){.t = &ts[i], .std = p->std, .pool = pool};
		gguf_writer_add_tensor_fill(w, ts[i].gguf_name, ts[i].type, ts[i].one_d ? 1 : 2, ne,
		                            fill_bytes, &fills[i]);
	}
	rc = gguf_writer_write(w, out, cause);
out:
	gguf_writer_free(w);
	free(fills);
	return rc;
}

static const char *st_dtype(uint32_t type)
{
	return type == DTYPE_F32 ? "F32" : type == DTYPE_F16 ? "F16" : "BF16";
}

static const char *torch_dtype(uint32_t type)
{
	return type == DTYPE_F32 ? "float32" : type == DTYPE_F16 ? "float16" : "bfloat16";
}

static int write_safetensors(const struct mkmodel_params *p, const struct mk_tensor *ts, size_t n_ts,
                             struct threadpool *pool, const char *path, char **cause)
{
	struct buf head = {0};
	uint64_t off = 0, hlen;
	uint8_t *chunk = NULL, len8[8];
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	FILE *f = NULL;

	if (fd < 0) {
		error_set(cause, "%s: cannot create a file beside it: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		error_set(cause, "%s: %s", path, strerror(errno));
		close(fd);
		goto fail;
	}
	buf_printf(&head, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (size_t i = 0; i < n_ts; i++) {
		if (ts[i].one_d)
			buf_printf(&head, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu],", ts[i].hf_name,
			           st_dtype(ts[i].type), (unsigned long long)ts[i].cols);
		else
			buf_printf(&head, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu,%llu],", ts[i].hf_name,
			           st_dtype(ts[i].type), (unsigned long long)ts[i].rows,
			           (unsigned long long)ts[i].cols);
		buf_printf(&head, "\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
		           (unsigned long long)(off + ts[i].n_bytes));
		off += ts[i].n_bytes;
	}
	buf_putc(&head, '}');
	while (head.len % 8) /* the safetensors library pads the header with spaces to 8 bytes */
		buf_putc(&head, ' ');
	hlen = head.len;
	for (int i = 0; i < 8; i++)
		len8[i] = (uint8_t)(hlen >> (8 * i));
	if (fwrite(len8, 1, 8, f) != 8 || fwrite(head.data, 1, head.len, f) != head.len)
		goto io_fail;
	chunk = xmalloc(MK_ST_CHUNK);
	for (size_t i = 0; i < n_ts; i++) {
		struct mk_fill fill = {.t = &ts[i], .std = p->std, .pool = pool};
		for (uint64_t o = 0; o < ts[i].n_bytes; o += MK_ST_CHUNK) {
			size_t n =
			        ts[i].n_bytes - o < MK_ST_CHUNK ? (size_t)(ts[i].n_bytes - o) : MK_ST_CHUNK;
			if (fill_bytes(&fill, o, chunk, n, cause) < 0)
				goto fail;
			if (fwrite(chunk, 1, n, f) != n)
				goto io_fail;
		}
	}
	if (fflush(f) != 0 || fchmod(fd, 0644) != 0)
		goto io_fail;
	if (fclose(f) != 0) {
		f = NULL;
		goto io_fail;
	}
	f = NULL;
	if (rename(tmp, path) != 0) {
		error_set(cause, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
		goto fail;
	}
	free(tmp);
	free(chunk);
	buf_free(&head);
	return 0;
io_fail:
	error_set(cause, "%s: write failed: %s", path, strerror(errno));
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	free(tmp);
	free(chunk);
	buf_free(&head);
	return -1;
}

static int write_hf_json(const struct mkmodel_config *c, const struct mkmodel_params *p,
                         const struct mk_vocab *v, const char *dir, char **cause)
{
	bool qwen = c->arch == MODEL_ARCH_QWEN2;
	json_t *cfg = json_pack(
	        "{s:[s], s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:s, s:b, s:s, s:f, "
	        "s:f, s:b, s:n}",
	        "architectures", qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM", "model_type",
	        qwen ? "qwen2" : "llama", "hidden_size", (json_int_t)c->n_embd, "intermediate_size",
	        (json_int_t)c->n_ff, "num_hidden_layers", (json_int_t)c->n_layers, "num_attention_heads",
	        (json_int_t)c->n_heads, "num_key_value_heads", (json_int_t)c->n_kv_heads, "head_dim",
	        (json_int_t)c->head_dim, "vocab_size", (json_int_t)c->n_vocab, "max_position_embeddings",
	        (json_int_t)c->n_ctx, "rms_norm_eps", (double)c->rms_eps, "rope_theta", (double)c->rope_theta,
	        "hidden_act", "silu", "tie_word_embeddings", c->tied_output, "torch_dtype",
	        torch_dtype(p->type), "initializer_range", (double)p->std, "attention_dropout", 0.0,
	        "use_cache", 1, "rope_scaling");
	json_t *gen;

	if (!cfg)
		fatal("out of memory building config.json");
	if (qwen)
		json_object_set_new(cfg, "use_sliding_window", json_false());
	else {
		json_object_set_new(cfg, "attention_bias", json_false());
		json_object_set_new(cfg, "mlp_bias", json_false());
	}
	json_object_set_new(cfg, "bos_token_id", v->bos >= 0 ? json_integer(v->bos) : json_null());
	json_object_set_new(cfg, "eos_token_id", v->eos >= 0 ? json_integer(v->eos) : json_null());
	if (write_json(dir, "config.json", cfg, cause) < 0)
		return -1;
	gen = json_object();
	if (v->bos >= 0)
		json_object_set_new(gen, "bos_token_id", json_integer(v->bos));
	if (v->eos >= 0)
		json_object_set_new(gen, "eos_token_id", json_integer(v->eos));
	return write_json(dir, "generation_config.json", gen, cause);
}

int mkmodel_write(const struct mkmodel_config *c, const struct mkmodel_params *params, const char *out,
                  struct mkmodel_report *report, char **cause)
{
	struct mkmodel_params p = *params;
	struct mk_vocab v = {0};
	struct mk_tensor *ts = NULL;
	struct threadpool *pool = NULL;
	size_t n_ts = 0;
	uint32_t n_fallback = 0;
	double t0 = time_now();
	int rc = -1;

	memset(report, 0, sizeof *report);
	if (p.std <= 0)
		p.std = MK_DEFAULT_STD;
	if (!c->n_embd || !c->n_layers || !c->n_heads || !c->n_kv_heads || !c->head_dim || !c->n_ff ||
	    !c->n_vocab || !c->n_ctx || c->n_heads % c->n_kv_heads || c->head_dim % 2)
		return error_set(cause,
		                 "configuration '%s' is not a model duet can run (a zero size, heads not a "
		                 "multiple of KV heads, or an odd head dimension)",
		                 c->name);
	if (p.format == MKMODEL_SAFETENSORS && p.type != DTYPE_F32 && p.type != DTYPE_F16 &&
	    p.type != DTYPE_BF16)
		return error_set(
		        cause, "safetensors holds F32, F16 or BF16, not %s (write GGUF for quantised types)",
		        dtype_name(p.type));
	if (!quantize_supported(p.type))
		return error_set(cause, "mkmodel cannot write %s", dtype_name(p.type));

	if ((p.vocab_from ? vocab_open(p.vocab_from, p.format, &v, cause) : vocab_synthetic(c, &v, cause)) <
	    0)
		goto out;
	if (v.n > c->n_vocab) {
		error_set(cause,
		          "%s: the tokenizer has %zu tokens, more than the configuration's vocabulary of %u",
		          p.vocab_from ? p.vocab_from : c->name, v.n, c->n_vocab);
		goto out;
	}
	ts = plan_tensors(c, &p, &n_ts, &n_fallback);
	pool = threadpool_new(p.n_threads, cause);
	if (!pool)
		goto out;

	if (p.format == MKMODEL_GGUF) {
		if (write_gguf(c, &p, &v, ts, n_ts, pool, out, cause) < 0)
			goto out;
	} else {
		char *st = path_join(out, "model.safetensors");
		int st_rc;
		if (!path_is_dir(out) && mkdir(out, 0755) != 0) {
			error_set(cause, "%s: cannot create the folder: %s", out, strerror(errno));
			free(st);
			goto out;
		}
		st_rc = write_safetensors(&p, ts, n_ts, pool, st, cause);
		free(st);
		if (st_rc < 0 || write_hf_json(c, &p, &v, out, cause) < 0)
			goto out;
		if (v.json_path) {
			if (copy_file(v.json_path, out, "tokenizer.json", cause) < 0 ||
			    (v.json_config_path &&
			     copy_file(v.json_config_path, out, "tokenizer_config.json", cause) < 0))
				goto out;
		} else if (vocab_write_json(&v, out, c->n_ctx, cause) < 0) {
			goto out;
		}
	}
	for (size_t i = 0; i < n_ts; i++) {
		report->n_params += ts[i].rows * ts[i].cols;
		report->bytes += ts[i].n_bytes;
	}
	report->n_fallback = n_fallback;
	report->n_vocab_tokens = (uint32_t)v.n;
	report->seconds = time_now() - t0;
	rc = 0;
out:
	threadpool_free(pool);
	free(ts);
	vocab_free(&v);
	return rc;
}
