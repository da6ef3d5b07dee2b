/*
 * test_model.c — struct model_file from GGUF: tiny llama and qwen2 models
 * written here with random weights (F32, F16, Q8_0) must load with the
 * description they were written with; each kind of bad model (missing
 * tensor, wrong shape, unsupported architecture, missing or mistyped key,
 * inconsistent head counts, out-of-range ids) must be refused naming the
 * file and the problem; model_file_open's dispatch; chat-format detection;
 * and the real SmolLM2 file against gguf-py's reading of it
 * (tests/golden/fixtures/smollm2_desc.txt, make_model_fixtures.py).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/gguf.h"
#include "infer/gguf_write.h"
#include "infer/model.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

static char tmpdir[] = "/tmp/duet-test-model-XXXXXX";

/* Sizes by ggml's block layouts: Q8_0 is 32 elements in 34 bytes (f16 scale + 32 int8). */
static uint64_t bytes_of(uint32_t type, uint64_t n_elems)
{
	switch (type) {
	case DTYPE_F32: return 4 * n_elems;
	case DTYPE_F16: return 2 * n_elems;
	case DTYPE_Q8_0: return n_elems / 32 * 34;
	}
	abort();
}

/* --- tiny models ------------------------------------------------------------ */

struct spec {
	const char *arch;       /* general.architecture */
	uint32_t n_embd, n_layers, n_ff, n_heads, n_kv_heads, key_length; /* key_length 0: absent */
	uint32_t n_vocab;       /* rows of token_embd */
	uint32_t n_tokens;      /* entries of tokenizer.ggml.tokens */
	bool bias, tied;
	const char *pre;
	const char *template;
	int32_t bos, eos, eot, pad; /* -1: absent */
	int add_bos;            /* -1: absent */
	const char *name;       /* NULL: absent */
	float rope_theta;       /* 0: absent */
	float rms_eps;
	/* Faults. */
	const char *skip_key;
	const char *skip_tensor;
	const char *short_tensor; /* its last dimension is halved */
	bool embd_as_string;
	const char *override_key; /* written with override_value; the tensors keep the spec's sizes */
	uint32_t override_value;
};

static const struct spec llama_spec = {
	.arch = "llama", .n_embd = 64, .n_layers = 2, .n_ff = 96, .n_heads = 4, .n_kv_heads = 2,
	.n_vocab = 128, .n_tokens = 128, .pre = "llama-bpe",
	.template = "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
		    "{{ m.content }}<|eot_id|>{% endfor %}",
	.bos = 0, .eos = 1, .eot = -1, .pad = -1, .add_bos = -1, .name = "Tiny Llama", .rope_theta = 500000.0f,
	.rms_eps = 1e-5f,
};

static const struct spec qwen2_spec = {
	.arch = "qwen2", .n_embd = 64, .n_layers = 2, .n_ff = 96, .n_heads = 4, .n_kv_heads = 1,
	.key_length = 32, .n_vocab = 160, .n_tokens = 151, .bias = true, .tied = true, .pre = "qwen2",
	.template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
	.bos = -1, .eos = 7, .eot = -1, .pad = 7, .add_bos = 0, .name = NULL, .rope_theta = 0, .rms_eps = 1e-6f,
};

/* Special tokens at fixed ids; the rest are "tN". */
static const char *const special_tokens[] = {
	"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
	"<|end_header_id|>", "<|im_start|>",    "<|im_end|>", "<|endoftext|>",
};

struct built {
	char *path;
	void **data;      /* tensor buffers, freed after the write */
	size_t n_data;
	uint64_t n_params;
	uint64_t weight_bytes;
	size_t n_tensors;
	const void *attn_k1; /* blk.1.attn_k.weight's bytes as written */
};

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static float rng_weight(void)
{
	return ((float)(rng() % 2001) - 1000.0f) / 20000.0f;
}

/* Random data of a type: F32/F16 small values, Q8_0 blocks of a half scale and int8 quants. */
static void *random_data(uint32_t type, uint64_t n_elems)
{
	uint64_t n_bytes = bytes_of(type, n_elems);
	uint8_t *p = xmalloc((size_t)n_bytes);

	if (type == DTYPE_F32) {
		for (uint64_t i = 0; i < n_elems; i++) {
			float f = rng_weight();
			memcpy(p + 4 * i, &f, 4);
		}
	} else if (type == DTYPE_F16) {
		for (uint64_t i = 0; i < n_elems; i++) {
			uint16_t h = dtype_f32_to_f16(rng_weight());
			memcpy(p + 2 * i, &h, 2);
		}
	} else {
		for (uint64_t b = 0; b < n_elems / 32; b++) {
			uint16_t d = dtype_f32_to_f16(0.001f * (float)(1 + rng() % 10));
			memcpy(p + 34 * b, &d, 2);
			for (int j = 0; j < 32; j++)
				p[34 * b + 2 + j] = (uint8_t)rng();
		}
	}
	return p;
}

static void add_t(struct gguf_writer *w, struct built *bt, const struct spec *s, const char *name, uint32_t type,
		  uint64_t ne0, uint64_t ne1)
{
	uint64_t ne[2] = {ne0, ne1};
	uint32_t n_dims = ne1 ? 2 : 1;
	void *data;

	if (s->skip_tensor && strcmp(s->skip_tensor, name) == 0)
		return;
	if (s->short_tensor && strcmp(s->short_tensor, name) == 0)
		ne[n_dims - 1] /= 2;
	uint64_t n_elems = ne[0] * (ne1 ? ne[1] : 1);
	data = random_data(type, n_elems);
	gguf_writer_add_tensor(w, name, type, n_dims, ne, data);
	bt->data = xreallocarray(bt->data, bt->n_data + 1, sizeof *bt->data);
	bt->data[bt->n_data++] = data;
	bt->n_params += n_elems;
	bt->weight_bytes += bytes_of(type, n_elems);
	bt->n_tensors++;
	if (strcmp(name, "blk.1.attn_k.weight") == 0)
		bt->attn_k1 = data;
}

static bool skip(const struct spec *s, const char *key)
{
	return s->skip_key && strcmp(s->skip_key, key) == 0;
}

static void add_u32(struct gguf_writer *w, const struct spec *s, const char *suffix, uint32_t v)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", s->arch, suffix);
	if (s->override_key && strcmp(s->override_key, key) == 0)
		v = s->override_value;
	if (!skip(s, key))
		gguf_writer_add_u32(w, key, v);
}

static void add_f32(struct gguf_writer *w, const struct spec *s, const char *suffix, float v)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", s->arch, suffix);
	if (!skip(s, key))
		gguf_writer_add_f32(w, key, v);
}

/* Write the model a spec describes to tmpdir/file. bt->path is NULL when the write failed. */
static struct built build(const struct spec *s, const char *file)
{
	struct gguf_writer *w = gguf_writer_new();
	struct built bt = {0};
	const char **tokens = xcalloc(s->n_tokens, sizeof *tokens);
	char **owned = xcalloc(s->n_tokens, sizeof *owned);
	uint64_t q_dim, kv_dim;
	char *cause = NULL, name[64], key[128];

	if (!skip(s, "general.architecture"))
		gguf_writer_add_str(w, "general.architecture", s->arch);
	if (s->name)
		gguf_writer_add_str(w, "general.name", s->name);
	snprintf(key, sizeof key, "%s.embedding_length", s->arch);
	if (s->embd_as_string)
		gguf_writer_add_str(w, key, "64");
	else
		add_u32(w, s, "embedding_length", s->n_embd);
	add_u32(w, s, "block_count", s->n_layers);
	add_u32(w, s, "feed_forward_length", s->n_ff);
	add_u32(w, s, "context_length", 256);
	add_u32(w, s, "attention.head_count", s->n_heads);
	add_u32(w, s, "attention.head_count_kv", s->n_kv_heads);
	if (s->key_length) {
		add_u32(w, s, "attention.key_length", s->key_length);
		add_u32(w, s, "attention.value_length", s->key_length);
	}
	if (s->rope_theta != 0)
		add_f32(w, s, "rope.freq_base", s->rope_theta);
	add_f32(w, s, "attention.layer_norm_rms_epsilon", s->rms_eps);
	gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
	gguf_writer_add_str(w, "tokenizer.ggml.pre", s->pre);
	for (uint32_t i = 0; i < s->n_tokens; i++) {
		if (i < sizeof special_tokens / sizeof special_tokens[0]) {
			tokens[i] = special_tokens[i];
		} else {
			owned[i] = xasprintf("t%u", i);
			tokens[i] = owned[i];
		}
	}
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", tokens, s->n_tokens);
	if (s->bos >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)s->bos);
	if (s->eos >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)s->eos);
	if (s->eot >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)s->eot);
	if (s->pad >= 0)
		gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)s->pad);
	if (s->add_bos >= 0)
		gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", s->add_bos != 0);
	if (s->template)
		gguf_writer_add_str(w, "tokenizer.chat_template", s->template);

	q_dim = (uint64_t)s->n_heads * (s->key_length ? s->key_length : s->n_embd / s->n_heads);
	kv_dim = (uint64_t)s->n_kv_heads * (s->key_length ? s->key_length : s->n_embd / s->n_heads);
	add_t(w, &bt, s, "token_embd.weight", DTYPE_Q8_0, s->n_embd, s->n_vocab);
	for (uint32_t l = 0; l < s->n_layers; l++) {
#define T(suffix, type, a, b)                                             \
	do {                                                              \
		snprintf(name, sizeof name, "blk.%u." suffix, l);        \
		add_t(w, &bt, s, name, type, a, b);                       \
	} while (0)
		T("attn_norm.weight", DTYPE_F32, s->n_embd, 0);
		T("attn_q.weight", DTYPE_F16, s->n_embd, q_dim);
		T("attn_k.weight", DTYPE_Q8_0, s->n_embd, kv_dim);
		T("attn_v.weight", DTYPE_F32, s->n_embd, kv_dim);
		T("attn_output.weight", DTYPE_Q8_0, q_dim, s->n_embd);
		T("ffn_norm.weight", DTYPE_F32, s->n_embd, 0);
		T("ffn_gate.weight", DTYPE_Q8_0, s->n_embd, s->n_ff);
		T("ffn_up.weight", DTYPE_F16, s->n_embd, s->n_ff);
		T("ffn_down.weight", DTYPE_Q8_0, s->n_ff, s->n_embd);
		if (s->bias) {
			T("attn_q.bias", DTYPE_F32, q_dim, 0);
			T("attn_k.bias", DTYPE_F32, kv_dim, 0);
			T("attn_v.bias", DTYPE_F32, kv_dim, 0);
		}
#undef T
	}
	add_t(w, &bt, s, "output_norm.weight", DTYPE_F32, s->n_embd, 0);
	if (!s->tied)
		add_t(w, &bt, s, "output.weight", DTYPE_F16, s->n_embd, s->n_vocab);

	bt.path = xasprintf("%s/%s", tmpdir, file);
	if (gguf_writer_write(w, bt.path, &cause) < 0) {
		tap_ok(0, "write %s: %s", file, cause);
		free(bt.path);
		bt.path = NULL;
	}
	for (uint32_t i = 0; i < s->n_tokens; i++)
		free(owned[i]);
	free(owned);
	free(tokens);
	free(cause);
	gguf_writer_free(w);
	return bt;
}

static void built_free(struct built *bt)
{
	if (bt->path)
		unlink(bt->path);
	for (size_t i = 0; i < bt->n_data; i++)
		free(bt->data[i]);
	free(bt->data);
	free(bt->path);
}

static bool has_stop(const struct model_desc *d, int32_t id)
{
	for (uint32_t i = 0; i < d->n_stop_ids; i++)
		if (d->stop_ids[i] == id)
			return true;
	return false;
}

static void check_llama(void)
{
	struct built bt = build(&llama_spec, "tiny-llama.gguf");
	char *cause = NULL;
	struct model_file *mf = bt.path ? model_file_open(bt.path, &cause) : NULL;
	const struct model_desc *d;
	const struct tensor *t;

	if (!tap_ok(mf != NULL, "tiny llama loads")) {
		tap_diag("  %s", cause ? cause : "");
		goto out;
	}
	d = model_file_desc(mf);
	TAP_EQ_INT(d->arch, MODEL_ARCH_LLAMA, "arch llama");
	TAP_EQ_STR(model_arch_name(d->arch), "llama", "arch name");
	TAP_EQ_STR(d->name, "Tiny Llama", "name from general.name");
	TAP_EQ_INT(d->n_embd, 64, "n_embd");
	TAP_EQ_INT(d->n_layers, 2, "n_layers");
	TAP_EQ_INT(d->n_ff, 96, "n_ff");
	TAP_EQ_INT(d->n_heads, 4, "n_heads");
	TAP_EQ_INT(d->n_kv_heads, 2, "n_kv_heads");
	TAP_EQ_INT(d->head_dim, 16, "head_dim = n_embd / n_heads");
	TAP_EQ_INT(d->n_vocab, 128, "n_vocab = token_embd rows");
	TAP_EQ_INT(d->n_ctx_train, 256, "context length");
	tap_ok(d->rope_theta == 500000.0f, "rope theta 500000");
	tap_ok(d->rms_eps == 1e-5f, "rms eps 1e-5");
	TAP_EQ_INT(d->rope_layout, ROPE_LAYOUT_ADJACENT, "GGUF llama rotates adjacent pairs");
	tap_ok(!d->qkv_bias, "no qkv bias");
	tap_ok(!d->tied_output, "output.weight present: not tied");
	TAP_EQ_STR(d->tokenizer_model, "gpt2", "tokenizer model");
	TAP_EQ_STR(d->tokenizer_pre, "llama-bpe", "tokenizer pre");
	TAP_EQ_INT(d->bos_id, 0, "bos");
	TAP_EQ_INT(d->eos_id, 1, "eos");
	TAP_EQ_INT(d->eot_id, -1, "eot absent");
	TAP_EQ_INT(d->pad_id, -1, "pad absent");
	tap_ok(d->add_bos, "add_bos defaults to true for llama-bpe (as llama.cpp)");
	tap_ok(d->chat_template && strstr(d->chat_template, "<|start_header_id|>"), "chat template copied");
	TAP_EQ_INT(d->chat_format, CHAT_FORMAT_LLAMA3, "llama3 chat format detected");
	tap_ok(has_stop(d, 1) && has_stop(d, 2) && d->n_stop_ids == 2, "stops: eos and <|eot_id|> (%u ids)",
	       d->n_stop_ids);
	tap_ok(isnan(d->temperature) && isnan(d->top_p) && d->top_k == -1, "no default sampling in GGUF");
	TAP_EQ_INT(model_file_source(mf), MODEL_SOURCE_GGUF, "source GGUF");
	tap_ok(model_file_gguf(mf) != NULL, "GGUF handle for the tokenizer");
	tap_ok(model_file_tokenizer_json(mf) == NULL && model_file_tokenizer_config_json(mf) == NULL,
	       "no tokenizer.json");
	TAP_EQ_STR(model_file_path(mf), bt.path, "path");
	TAP_EQ_INT(model_file_n_tensors(mf), bt.n_tensors, "tensor count");
	TAP_EQ_INT(model_file_n_params(mf), bt.n_params, "parameter count");
	TAP_EQ_INT(model_file_weight_bytes(mf), bt.weight_bytes, "weight bytes");
	TAP_EQ_STR(model_file_tensor(mf, 0)->name, "token_embd.weight", "tensor 0 in file order");
	tap_ok(model_file_tensor(mf, bt.n_tensors) == NULL, "tensor past the end is NULL");
	t = model_file_find(mf, "blk.1.attn_k.weight");
	tap_ok(t && t->type == DTYPE_Q8_0 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 32 && t->n_bytes == 68 * 32,
	       "blk.1.attn_k.weight: Q8_0 [64, 32]");
	tap_ok(t && memcmp(t->data, bt.attn_k1, (size_t)t->n_bytes) == 0, "  its data as written");
	tap_ok(t && t >= model_file_tensor(mf, 0) && t < model_file_tensor(mf, 0) + model_file_n_tensors(mf),
	       "  found in the model's own table");
	tap_ok(model_file_find(mf, "blk.2.attn_k.weight") == NULL, "absent tensor is NULL");
out:
	model_file_close(mf);
	built_free(&bt);
	free(cause);
}

static void check_qwen2(void)
{
	struct built bt = build(&qwen2_spec, "tiny-qwen2.gguf");
	char *cause = NULL;
	struct model_file *mf = bt.path ? model_file_open(bt.path, &cause) : NULL;
	const struct model_desc *d;

	if (!tap_ok(mf != NULL, "tiny qwen2 loads")) {
		tap_diag("  %s", cause ? cause : "");
		goto out;
	}
	d = model_file_desc(mf);
	TAP_EQ_INT(d->arch, MODEL_ARCH_QWEN2, "arch qwen2");
	TAP_EQ_STR(d->name, "tiny-qwen2", "name from the file name without general.name");
	TAP_EQ_INT(d->n_kv_heads, 1, "n_kv_heads");
	TAP_EQ_INT(d->head_dim, 32, "head_dim from attention.key_length");
	TAP_EQ_INT(d->n_vocab, 160, "n_vocab = token_embd rows (more than the 151 tokens)");
	tap_ok(d->rope_theta == 10000.0f, "rope theta defaults to 10000");
	tap_ok(d->rms_eps == 1e-6f, "rms eps 1e-6");
	TAP_EQ_INT(d->rope_layout, ROPE_LAYOUT_HALF, "GGUF qwen2 rotates halves");
	tap_ok(d->qkv_bias, "qkv bias");
	tap_ok(d->tied_output, "no output.weight: tied");
	TAP_EQ_INT(d->bos_id, -1, "bos absent");
	TAP_EQ_INT(d->eos_id, 7, "eos");
	TAP_EQ_INT(d->pad_id, 7, "pad");
	tap_ok(!d->add_bos, "add_bos false from the key");
	TAP_EQ_INT(d->chat_format, CHAT_FORMAT_CHATML, "chatml detected");
	tap_ok(has_stop(d, 7) && has_stop(d, 6) && d->n_stop_ids == 2, "stops: eos and <|im_end|> (%u ids)",
	       d->n_stop_ids);
	TAP_EQ_INT(model_file_n_params(mf), bt.n_params, "parameter count");
	TAP_EQ_INT(model_file_weight_bytes(mf), bt.weight_bytes, "weight bytes");
	tap_ok(model_file_find(mf, "blk.1.attn_v.bias") != NULL, "biases present");
out:
	model_file_close(mf);
	built_free(&bt);
	free(cause);
}

/* --- refusals ------------------------------------------------------------------ */

static void expect_refused(const char *what, const struct spec *s, const char *frag)
{
	char *file = xasprintf("bad-%s.gguf", what), *cause = NULL;
	struct built bt = build(s, file);
	struct model_file *mf = bt.path ? model_file_open(bt.path, &cause) : NULL;

	if (tap_ok(mf == NULL, "%s: refused", what))
		tap_diag("  %s", cause ? cause : "(no message)");
	TAP_ERR_HAS(cause, bt.path ? bt.path : "(no path)", "  message names the file");
	TAP_ERR_HAS(cause, frag, "  message names the problem");
	model_file_close(mf);
	built_free(&bt);
	free(cause);
	free(file);
}

static void check_refusals(void)
{
	struct spec s;

	s = llama_spec, s.skip_tensor = "blk.1.ffn_up.weight";
	expect_refused("missing-tensor", &s, "tensor 'blk.1.ffn_up.weight' is missing (a llama model needs it)");
	s = llama_spec, s.skip_tensor = "output_norm.weight";
	expect_refused("missing-output-norm", &s, "tensor 'output_norm.weight' is missing");
	s = llama_spec, s.skip_tensor = "token_embd.weight";
	expect_refused("missing-embedding", &s, "tensor 'token_embd.weight' is missing");
	s = llama_spec, s.short_tensor = "blk.0.attn_k.weight";
	expect_refused("shape-k", &s, "tensor 'blk.0.attn_k.weight' has shape [64, 16], expected [64, 32]");
	s = llama_spec, s.short_tensor = "blk.1.ffn_down.weight";
	expect_refused("shape-down", &s, "tensor 'blk.1.ffn_down.weight' has shape [96, 32], expected [96, 64]");
	s = llama_spec, s.short_tensor = "output.weight";
	expect_refused("shape-output", &s, "tensor 'output.weight' has shape [64, 64], expected [64, 128]");
	s = llama_spec, s.short_tensor = "blk.0.ffn_norm.weight";
	expect_refused("shape-norm", &s, "tensor 'blk.0.ffn_norm.weight' has shape [32], expected [64]");
	s = qwen2_spec, s.skip_tensor = "blk.1.attn_v.bias";
	expect_refused("missing-bias", &s, "tensor 'blk.1.attn_v.bias' is missing (a qwen2 model needs it)");
	s = qwen2_spec, s.short_tensor = "blk.0.attn_q.bias";
	expect_refused("shape-bias", &s, "tensor 'blk.0.attn_q.bias' has shape [64], expected [128]");
	s = llama_spec, s.arch = "phi3";
	expect_refused("arch-phi3", &s, "architecture 'phi3' is not supported (duet supports llama, qwen2)");
	s = llama_spec, s.skip_key = "general.architecture";
	expect_refused("no-arch", &s, "key 'general.architecture' is missing");
	s = llama_spec, s.skip_key = "llama.block_count";
	expect_refused("no-block-count", &s, "key 'llama.block_count' is missing");
	s = llama_spec, s.skip_key = "llama.attention.layer_norm_rms_epsilon";
	expect_refused("no-rms-eps", &s, "key 'llama.attention.layer_norm_rms_epsilon' is missing");
	s = llama_spec, s.skip_key = "llama.context_length";
	expect_refused("no-context-length", &s, "key 'llama.context_length' is missing");
	s = llama_spec, s.embd_as_string = true;
	expect_refused("embd-string", &s, "key 'llama.embedding_length' is a string, expected an unsigned integer");
	s = llama_spec, s.override_key = "llama.attention.head_count", s.override_value = 5;
	expect_refused("heads-5", &s, "llama.attention.head_count 5 does not divide llama.embedding_length 64");
	s = llama_spec, s.n_kv_heads = 3;
	expect_refused("kv-heads-3", &s, "llama.attention.head_count_kv 3 does not divide llama.attention.head_count 4");
	s = llama_spec, s.n_kv_heads = 8;
	expect_refused("kv-heads-8", &s, "llama.attention.head_count_kv 8 does not divide");
	s = llama_spec, s.override_key = "llama.block_count", s.override_value = 1u << 20;
	expect_refused("layers-2^20", &s, "llama.block_count is 1048576, outside the range duet accepts (1..1024)");
	s = llama_spec, s.override_key = "llama.embedding_length", s.override_value = 0;
	expect_refused("embd-0", &s, "llama.embedding_length is 0, outside the range");
	s = llama_spec, s.rms_eps = -1e-5f;
	expect_refused("eps-negative", &s, "llama.attention.layer_norm_rms_epsilon is -1e-05, must be a positive number");
	s = llama_spec, s.bos = 5000;
	expect_refused("bos-5000", &s, "tokenizer.ggml.bos_token_id 5000 is outside the vocabulary (128 tokens)");
	s = llama_spec, s.n_tokens = 200;
	expect_refused("tokens-200", &s, "tokenizer.ggml.tokens has 200 entries, more than token_embd.weight's 128 rows");
}

/* --- model_file_open's dispatch ----------------------------------------------- */

/* named: what the message must name (the path, or for the HF loader's messages its folder). */
static void expect_open_fails_naming(const char *path, const char *named, const char *frag, const char *what)
{
	char *cause = NULL;
	struct model_file *mf = model_file_open(path, &cause);
	if (tap_ok(mf == NULL, "%s: refused", what))
		tap_diag("  %s", cause ? cause : "(no message)");
	TAP_ERR_HAS(cause, named, "  message names the path");
	if (frag)
		TAP_ERR_HAS(cause, frag, "  message says why");
	model_file_close(mf);
	free(cause);
}

static void expect_open_fails(const char *path, const char *frag, const char *what)
{
	expect_open_fails_naming(path, path, frag, what);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		exit(99);
}

static void check_dispatch(void)
{
	char *p;

	p = xasprintf("%s/nope.gguf", tmpdir);
	expect_open_fails(p, "nope.gguf: No such file or directory", "missing path");
	free(p);
	p = xasprintf("%s/notes.txt", tmpdir);
	write_text(p, "hello world");
	expect_open_fails(p, "not a GGUF file, safetensors file or model folder (first bytes: 68 65 6c 6c 6f 20 77 6f)",
			  "a text file");
	unlink(p);
	free(p);
	p = xasprintf("%s/empty.bin", tmpdir);
	write_text(p, "");
	expect_open_fails(p, "not a GGUF file, safetensors file or model folder (the file is empty)", "an empty file");
	unlink(p);
	free(p);
	p = xasprintf("%s/v9.gguf", tmpdir);
	write_text(p, "GGUF\x09");
	expect_open_fails(p, "truncated header", "a GGUF file cut short (gguf's own message)");
	unlink(p);
	free(p);
	/* Folders and .safetensors files go to the HF loader; only that they fail naming the path here. */
	p = xasprintf("%s/empty-folder", tmpdir);
	mkdir(p, 0755);
	expect_open_fails(p, NULL, "a folder without config.json");
	rmdir(p);
	free(p);
	p = xasprintf("%s/lone.safetensors", tmpdir);
	write_text(p, "not really");
	expect_open_fails_naming(p, tmpdir, NULL, "a .safetensors file without config.json");
	unlink(p);
	free(p);
}

static void check_chat_formats(void)
{
	TAP_EQ_INT(chat_format_detect("{{ bos_token }}{% if m.role == 'user' %}<\xef\xbd\x9cUser\xef\xbd\x9c>{% endif %}"
				      "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"),
		   CHAT_FORMAT_DEEPSEEK_R1, "R1 template (<｜Assistant｜>)");
	TAP_EQ_INT(chat_format_detect("<|start_header_id|>user<|end_header_id|>"), CHAT_FORMAT_LLAMA3, "llama3 template");
	TAP_EQ_INT(chat_format_detect("<|im_start|>system\n"), CHAT_FORMAT_CHATML, "chatml template");
	TAP_EQ_INT(chat_format_detect("<|Assistant|>"), CHAT_FORMAT_UNKNOWN, "ASCII bars are not R1's");
	TAP_EQ_INT(chat_format_detect("[INST] {{ m }} [/INST]"), CHAT_FORMAT_UNKNOWN, "other templates: unknown");
	TAP_EQ_INT(chat_format_detect(NULL), CHAT_FORMAT_UNKNOWN, "no template: unknown");
	TAP_EQ_STR(chat_format_name(CHAT_FORMAT_DEEPSEEK_R1), "deepseek-r1", "name deepseek-r1");
	TAP_EQ_STR(chat_format_name(CHAT_FORMAT_LLAMA3), "llama3", "name llama3");
	TAP_EQ_STR(chat_format_name(CHAT_FORMAT_CHATML), "chatml", "name chatml");
	TAP_EQ_STR(chat_format_name(CHAT_FORMAT_UNKNOWN), "unknown", "name unknown");
	TAP_EQ_STR(model_arch_name(MODEL_ARCH_QWEN2), "qwen2", "arch name qwen2");
}

/* --- SmolLM2 against gguf-py --------------------------------------------------- */

/* The value of key in the fixture (static buffer), or NULL. */
static const char *fixture_get(const char *fixture_text, const char *key)
{
	static char value[256];
	size_t klen = strlen(key);
	const char *p = fixture_text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			const char *v = p + klen + 1, *e = strchr(v, '\n');
			size_t n = e ? (size_t)(e - v) : strlen(v);
			if (n >= sizeof value)
				n = sizeof value - 1;
			memcpy(value, v, n);
			value[n] = '\0';
			return value;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static long long fixture_int(const char *text, const char *key)
{
	const char *v = fixture_get(text, key);
	if (!v) {
		tap_diag("  fixture lacks %s", key);
		return -999;
	}
	return strtoll(v, NULL, 10);
}

static void check_smollm2(void)
{
	const char *model = testmodels_path("SmolLM2-135M-Instruct.Q4_1.gguf");
	char *cause = NULL, *text;
	struct model_file *mf;
	const struct model_desc *d;
	const char *v;

	if (!model)
		return;
	text = file_read_all(testmodels_fixture("smollm2_desc.txt"), 1 << 20, NULL, &cause);
	if (!tap_ok(text != NULL, "read smollm2_desc.txt")) {
		tap_diag("  %s", cause);
		free(cause);
		return;
	}
	mf = model_file_open(model, &cause);
	if (!tap_ok(mf != NULL, "SmolLM2 loads")) {
		tap_diag("  %s", cause);
		free(cause);
		free(text);
		return;
	}
	d = model_file_desc(mf);
	TAP_EQ_STR(model_arch_name(d->arch), fixture_get(text, "arch"), "arch");
	TAP_EQ_INT(d->n_embd, fixture_int(text, "n_embd"), "n_embd");
	TAP_EQ_INT(d->n_layers, fixture_int(text, "n_layers"), "n_layers");
	TAP_EQ_INT(d->n_ff, fixture_int(text, "n_ff"), "n_ff");
	TAP_EQ_INT(d->n_heads, fixture_int(text, "n_heads"), "n_heads");
	TAP_EQ_INT(d->n_kv_heads, fixture_int(text, "n_kv_heads"), "n_kv_heads");
	TAP_EQ_INT(d->head_dim, fixture_int(text, "head_dim"), "head_dim");
	TAP_EQ_INT(d->n_vocab, fixture_int(text, "n_vocab"), "n_vocab");
	TAP_EQ_INT(d->n_ctx_train, fixture_int(text, "ctx"), "ctx");
	v = fixture_get(text, "rope_theta");
	tap_ok(v && d->rope_theta == strtof(v, NULL), "rope_theta %g (gguf-py %s)", (double)d->rope_theta, v ? v : "?");
	v = fixture_get(text, "rms_eps");
	tap_ok(v && d->rms_eps == strtof(v, NULL), "rms_eps %.9g (gguf-py %s)", (double)d->rms_eps, v ? v : "?");
	TAP_EQ_INT(d->bos_id, fixture_int(text, "bos"), "bos");
	TAP_EQ_INT(d->eos_id, fixture_int(text, "eos"), "eos");
	TAP_EQ_INT(d->eot_id, fixture_int(text, "eot"), "eot");
	TAP_EQ_INT(d->pad_id, fixture_int(text, "pad"), "pad");
	TAP_EQ_INT(d->add_bos, fixture_int(text, "add_bos"), "add_bos");
	TAP_EQ_STR(d->tokenizer_model, fixture_get(text, "tokenizer_model"), "tokenizer model");
	TAP_EQ_STR(d->tokenizer_pre, fixture_get(text, "tokenizer_pre"), "tokenizer pre");
	TAP_EQ_INT(d->tied_output, fixture_int(text, "tied_output"), "tied output");
	TAP_EQ_INT(d->qkv_bias, fixture_int(text, "qkv_bias"), "qkv bias");
	TAP_EQ_STR(d->name, fixture_get(text, "name"), "name");
	TAP_EQ_INT(d->rope_layout, ROPE_LAYOUT_ADJACENT, "GGUF llama: adjacent RoPE pairs");
	TAP_EQ_INT(d->chat_format, CHAT_FORMAT_CHATML, "SmolLM2 speaks chatml (DESIGN.md §5)");
	tap_ok(has_stop(d, (int32_t)fixture_int(text, "tok_im_end")), "<|im_end|> stops");
	tap_ok(has_stop(d, (int32_t)fixture_int(text, "tok_endoftext")), "<|endoftext|> stops");
	TAP_EQ_INT(model_file_n_tensors(mf), fixture_int(text, "n_tensors"), "tensor count");
	TAP_EQ_INT(model_file_n_params(mf), fixture_int(text, "n_params"), "parameter count");
	TAP_EQ_INT(model_file_weight_bytes(mf), fixture_int(text, "weight_bytes"), "weight bytes");
	{
		static const char *const types[] = {"F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q5_K", "Q6_K"};
		for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
			char key[32];
			long long want, got = 0;
			snprintf(key, sizeof key, "n_type_%s", types[k]);
			want = fixture_get(text, key) ? fixture_int(text, key) : 0;
			for (size_t i = 0; i < model_file_n_tensors(mf); i++)
				got += strcmp(dtype_name(model_file_tensor(mf, i)->type), types[k]) == 0;
			char name[48];
			snprintf(name, sizeof name, "%s tensors", types[k]);
			TAP_EQ_INT(got, want, name);
		}
	}
	model_file_close(mf);
	free(text);
	free(cause);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	check_llama();
	check_qwen2();
	check_refusals();
	check_dispatch();
	check_chat_formats();
	check_smollm2();
	rmdir(tmpdir);
	return tap_done();
}
