/*
 * model_hf.c — a Hugging Face model folder (or one .safetensors file with
 * config.json beside it) into struct model_file: config.json into the
 * description; the safetensors shards into tensors under GGUF names in GGUF
 * dimension order; tokenizer_config.json, generation_config.json and
 * tokenizer.json's added tokens into special ids, the chat template and
 * default sampling. Shapes are checked afterwards by model_check_tensors
 * (model.c). Calls safetensors, json and util.
 *
 * Everything is built in a private struct hf_load and moved into the
 * model_file only on success: on failure the model_file is left as found.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer/json.h"
#include "infer/model_impl.h"
#include "infer/safetensors.h"
#include "infer/util.h"

/* Caps on the JSON files read whole: generous for real files, small enough
 * that a hostile one cannot take the machine's memory. */
#define HF_CONFIG_MAX_BYTES    (4u << 20)
#define HF_INDEX_MAX_BYTES     (64u << 20)
#define HF_TOKENIZER_MAX_BYTES (256u << 20)
#define HF_TEMPLATE_MAX_BYTES  (4u << 20)

/* More layers than any model of these families has; keeps per-layer loops bounded. */
#define HF_MAX_LAYERS 1024

struct hf_load {
	const char *dir;
	struct model_desc desc;
	bool tie_word_embeddings;
	uint32_t vocab_size; /* config.json's, 0 when absent */
	json_t *config;      /* config.json */
	char *config_path;

	struct st_file **shards;
	size_t n_shards;
	struct tensor *tensors; /* GGUF names, owned */
	size_t n_tensors;
	size_t n_ignored; /* tensors of no use to duet (rotary_emb.inv_freq...) */

	char *tokenizer_json; /* paths, NULL when absent */
	char *tokenizer_config_json;
	json_t *tokenizer; /* tokenizer.json, NULL when absent */
	char *chat_template;
};

/* ---------------------------------------------------------------- config.json */

/* A required positive integer field. */
static int hf_need_u32(struct hf_load *h, const char *key, uint32_t *out, char **cause)
{
	int rc = json_field_u32(h->config, h->config_path, key, 1, out, cause);
	if (rc == 0)
		return json_field_missing(h->config_path, key, cause);
	return rc < 0 ? -1 : 0;
}

static int hf_config_arch(struct hf_load *h, char **cause)
{
	const char *model_type = NULL;
	const json_t *archs;
	int rc = json_field_str(h->config, h->config_path, "model_type", &model_type, cause);

	if (rc < 0)
		return -1;
	if (rc > 0) {
		if (strcmp(model_type, "llama") == 0)
			h->desc.arch = MODEL_ARCH_LLAMA;
		else if (strcmp(model_type, "qwen2") == 0)
			h->desc.arch = MODEL_ARCH_QWEN2;
		else
			return error_set(
			        cause, "%s: model_type '%.64s' is not supported (duet runs llama and qwen2)",
			        h->config_path, model_type);
		return 0;
	}
	archs = json_object_get(h->config, "architectures");
	if (!archs)
		return json_field_missing(h->config_path, "model_type", cause);
	if (!json_is_array(archs) || json_array_size(archs) == 0 || !json_is_string(json_array_get(archs, 0)))
		return error_set(cause, "%s: field 'architectures' must be an array of strings",
		                 h->config_path);
	model_type = json_string_value(json_array_get(archs, 0));
	if (strcmp(model_type, "LlamaForCausalLM") == 0)
		h->desc.arch = MODEL_ARCH_LLAMA;
	else if (strcmp(model_type, "Qwen2ForCausalLM") == 0)
		h->desc.arch = MODEL_ARCH_QWEN2;
	else
		return error_set(cause,
		                 "%s: architecture '%.64s' is not supported (duet runs llama and qwen2)",
		                 h->config_path, model_type);
	return 0;
}

/* rope_scaling / rope_parameters: absent, null or of type "default". */
static int hf_rope_type_ok(struct hf_load *h, const char *key, char **cause)
{
	const json_t *v = json_object_get(h->config, key), *t;
	const char *type;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return error_set(cause, "%s: field '%s' must be an object (it is %s)", h->config_path, key,
		                 json_kind_name(v));
	t = json_object_get(v, "rope_type");
	if (!t)
		t = json_object_get(v, "type");
	if (!t && strcmp(key, "rope_parameters") == 0)
		return 0;
	type = json_string_value(t);
	if (type && strcmp(type, "default") == 0)
		return 0;
	return error_set(cause, "%s: %s of type '%.32s' is not supported yet (only unscaled RoPE)",
	                 h->config_path, key, type ? type : "?");
}

/* What config.json says; what the weights say comes in hf_desc_from_tensors. */
static int hf_config(struct hf_load *h, char **cause)
{
	struct model_desc *d = &h->desc;
	const json_t *rope, *types, *e;
	const char *act = NULL;
	size_t i;
	bool sliding = false;
	int rc;

	h->config_path = path_join(h->dir, "config.json");
	if (!path_exists(h->config_path))
		return error_set(cause, "%s: no config.json in the model folder", h->config_path);
	h->config = json_file_load(h->config_path, HF_CONFIG_MAX_BYTES, 0, cause);
	if (!h->config)
		return -1;
	if (!json_is_object(h->config))
		return error_set(cause, "%s: must hold a JSON object (it holds %s)", h->config_path,
		                 json_kind_name(h->config));
	if (hf_config_arch(h, cause) < 0)
		return -1;

	if (hf_need_u32(h, "hidden_size", &d->n_embd, cause) < 0 ||
	    hf_need_u32(h, "num_hidden_layers", &d->n_layers, cause) < 0 ||
	    hf_need_u32(h, "intermediate_size", &d->n_ff, cause) < 0 ||
	    hf_need_u32(h, "num_attention_heads", &d->n_heads, cause) < 0)
		return -1;
	if (d->n_layers > HF_MAX_LAYERS)
		return error_set(cause, "%s: field 'num_hidden_layers' is %u, more than the %u duet supports",
		                 h->config_path, d->n_layers, HF_MAX_LAYERS);

	d->n_kv_heads = d->n_heads;
	if (json_field_u32(h->config, h->config_path, "num_key_value_heads", 1, &d->n_kv_heads, cause) < 0)
		return -1;
	if (d->n_kv_heads > d->n_heads || d->n_heads % d->n_kv_heads != 0)
		return error_set(cause,
		                 "%s: num_attention_heads (%u) is not a multiple of num_key_value_heads (%u)",
		                 h->config_path, d->n_heads, d->n_kv_heads);

	rc = json_field_u32(h->config, h->config_path, "head_dim", 1, &d->head_dim, cause);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (d->n_embd % d->n_heads != 0)
			return error_set(cause,
			                 "%s: hidden_size (%u) is not a multiple of num_attention_heads (%u) "
			                 "and head_dim is not given",
			                 h->config_path, d->n_embd, d->n_heads);
		d->head_dim = d->n_embd / d->n_heads;
	}
	if (d->head_dim % 2 != 0)
		return error_set(cause, "%s: head dimension %u is odd; rotary embeddings need it even",
		                 h->config_path, d->head_dim);

	/* Defaults are transformers' LlamaConfig / Qwen2Config defaults. */
	d->rms_eps = 1e-6f;
	if (json_field_f32(h->config, h->config_path, "rms_norm_eps", &d->rms_eps, cause) < 0)
		return -1;
	if (!(d->rms_eps > 0))
		return error_set(cause, "%s: field 'rms_norm_eps' must be positive", h->config_path);
	d->rope_theta = 10000.0f;
	if (json_field_f32(h->config, h->config_path, "rope_theta", &d->rope_theta, cause) < 0)
		return -1;
	d->n_ctx_train = d->arch == MODEL_ARCH_QWEN2 ? 32768 : 2048;
	if (json_field_u32(h->config, h->config_path, "max_position_embeddings", 1, &d->n_ctx_train, cause) <
	    0)
		return -1;
	if (json_field_u32(h->config, h->config_path, "vocab_size", 1, &h->vocab_size, cause) < 0)
		return -1;
	if (json_field_bool(h->config, h->config_path, "tie_word_embeddings", &h->tie_word_embeddings,
	                    cause) < 0)
		return -1;

	/*
	 * transformers 5 writes rope_parameters {rope_type, rope_theta, ...}
	 * where 4 wrote a top-level rope_theta and rope_scaling. Any type but
	 * "default" changes the frequencies (llama3, yarn, linear, dynamic...):
	 * refused rather than run wrong.
	 */
	if (hf_rope_type_ok(h, "rope_scaling", cause) < 0 || hf_rope_type_ok(h, "rope_parameters", cause) < 0)
		return -1;
	rope = json_object_get(h->config, "rope_parameters");
	if (json_is_object(rope) &&
	    json_field_f32(rope, h->config_path, "rope_theta", &d->rope_theta, cause) < 0)
		return -1;
	if (!(d->rope_theta > 0))
		return error_set(cause, "%s: field 'rope_theta' must be positive", h->config_path);
	if (json_field_str(h->config, h->config_path, "hidden_act", &act, cause) < 0)
		return -1;
	if (act && strcmp(act, "silu") != 0)
		return error_set(cause,
		                 "%s: hidden_act '%.32s' is not supported (duet's MLP is SwiGLU with silu)",
		                 h->config_path, act);
	if (json_field_bool(h->config, h->config_path, "use_sliding_window", &sliding, cause) < 0)
		return -1;
	if (sliding)
		return error_set(cause,
		                 "%s: use_sliding_window is true; sliding-window attention is not supported",
		                 h->config_path);
	types = json_object_get(h->config, "layer_types");
	json_array_foreach (types, i, e) {
		if (!json_is_string(e) || strcmp(json_string_value(e), "full_attention") != 0)
			return error_set(cause,
			                 "%s: layer_types[%zu] is not \"full_attention\"; only full "
			                 "attention is supported",
			                 h->config_path, i);
	}
	return 0;
}

/* ---------------------------------------------------------------- weights */

static int hf_add_shard(struct hf_load *h, const char *path, char **cause)
{
	struct st_file *st = st_open(path, cause);
	if (!st)
		return -1;
	h->shards = xreallocarray(h->shards, h->n_shards + 1, sizeof *h->shards);
	h->shards[h->n_shards++] = st;
	return 0;
}

static int hf_strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A shard name from the index must stay inside the folder. */
static bool hf_shard_name_ok(const char *s)
{
	const char *p;

	if (*s == '\0' || *s == '/')
		return false;
	for (p = s; *p; p++) {
		if ((p == s || p[-1] == '/') && p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return false;
	}
	return true;
}

/* model.safetensors.index.json: open each shard once, then check the map against the shards. */
static int hf_open_index(struct hf_load *h, const char *index_path, char **cause)
{
	json_t *index = json_file_load(index_path, HF_INDEX_MAX_BYTES, 0, cause);
	const json_t *map, *v;
	const char *name;
	char **files = NULL;
	size_t n_files = 0, first, i, j;
	int rc = -1;

	if (!index)
		return -1;
	map = json_is_object(index) ? json_object_get(index, "weight_map") : NULL;
	if (!json_is_object(map)) {
		error_set(cause, "%s: field 'weight_map' %s", index_path,
		          map ? "must be an object" : "is missing");
		goto fail;
	}
	if (json_object_size(map) == 0) {
		error_set(cause, "%s: weight_map is empty", index_path);
		goto fail;
	}
	files = xcalloc(json_object_size(map), sizeof *files);
	json_object_foreach ((json_t *)map, name, v) {
		if (!json_is_string(v) || !hf_shard_name_ok(json_string_value(v))) {
			error_set(cause, "%s: weight_map entry '%s' must name a file inside the model folder",
			          index_path, name);
			goto fail;
		}
		files[n_files++] = (char *)json_string_value(v);
	}
	qsort(files, n_files, sizeof *files, hf_strcmp_ptr);
	for (i = j = 0; i < n_files; i++) {
		if (j == 0 || strcmp(files[i], files[j - 1]) != 0)
			files[j++] = files[i];
	}
	n_files = j;
	/* shards[first + k] holds files[k] */
	first = h->n_shards;
	for (i = 0; i < n_files; i++) {
		char *path = path_join(h->dir, files[i]);
		if (!path_exists(path)) {
			error_set(cause, "%s: no such file, though %s names it as a shard", path, index_path);
			free(path);
			goto fail;
		}
		rc = hf_add_shard(h, path, cause);
		free(path);
		if (rc < 0)
			goto fail;
		rc = -1;
	}
	json_object_foreach ((json_t *)map, name, v) {
		const char *file = json_string_value(v);
		char **at = bsearch(&file, files, n_files, sizeof *files, hf_strcmp_ptr);
		if (!at || !st_find(h->shards[first + (size_t)(at - files)], name)) {
			error_set(cause, "%s: the index lists tensor '%s' in '%s', which does not hold it",
			          index_path, name, file);
			goto fail;
		}
	}
	rc = 0;
fail:
	free(files);
	json_decref(index);
	return rc;
}

/* Every *.safetensors file in the folder, by name. */
static int hf_open_all(struct hf_load *h, char **cause)
{
	DIR *dp = opendir(h->dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (!dp)
		return error_set(cause, "%s: cannot list the folder", h->dir);
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 12 || strcmp(de->d_name + len - 12, ".safetensors") != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dp);
	if (n == 0) {
		error_set(cause,
		          "%s: no model weights (no model.safetensors.index.json, model.safetensors or other "
		          "*.safetensors file)",
		          h->dir);
		goto fail;
	}
	qsort(names, n, sizeof *names, hf_strcmp_ptr);
	for (i = 0; i < n; i++) {
		char *path = path_join(h->dir, names[i]);
		int r = hf_add_shard(h, path, cause);
		free(path);
		if (r < 0)
			goto fail;
	}
	rc = 0;
fail:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int hf_open_weights(struct hf_load *h, const char *single_file, char **cause)
{
	char *path;
	int rc;

	if (single_file)
		return hf_add_shard(h, single_file, cause);
	path = path_join(h->dir, "model.safetensors.index.json");
	if (path_exists(path)) {
		rc = hf_open_index(h, path, cause);
		free(path);
		return rc;
	}
	free(path);
	path = path_join(h->dir, "model.safetensors");
	if (path_exists(path)) {
		rc = hf_add_shard(h, path, cause);
		free(path);
		return rc;
	}
	free(path);
	return hf_open_all(h, cause);
}

/* HF name -> GGUF name, for names under model.layers.N. */
static const struct {
	const char *hf;
	const char *gguf; /* NULL: a weight duet does not implement (refused, not ignored) */
} hf_layer_names[] = {
        {"input_layernorm.weight", "attn_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.bias", "attn_v.bias"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
        {"self_attn.o_proj.bias", NULL},
        {"mlp.gate_proj.bias", NULL},
        {"mlp.up_proj.bias", NULL},
        {"mlp.down_proj.bias", NULL},
};

static const struct {
	const char *hf;
	const char *gguf;
} hf_global_names[] = {
        {"model.embed_tokens.weight", "token_embd.weight"},
        {"model.norm.weight", "output_norm.weight"},
        {"lm_head.weight", "output.weight"},
};

/*
 * Map one HF tensor name. Returns 1 with *gguf set (malloc'd), 0 for a name
 * duet has no use for, -1 for a weight it would have to implement or a layer
 * index past num_hidden_layers.
 */
static int hf_map_name(const struct hf_load *h, const char *file, const char *hf, char **gguf, char **cause)
{
	const char *p;
	unsigned long layer = 0;
	size_t i, n_digits = 0;

	for (i = 0; i < sizeof hf_global_names / sizeof hf_global_names[0]; i++) {
		if (strcmp(hf, hf_global_names[i].hf) == 0) {
			*gguf = xstrdup(hf_global_names[i].gguf);
			return 1;
		}
	}
	if (strncmp(hf, "model.layers.", 13) != 0)
		return 0;
	/* Plain decimal, no sign or leading zero, as transformers writes it. */
	for (p = hf + 13; *p >= '0' && *p <= '9' && n_digits < 10; p++, n_digits++)
		layer = layer * 10 + (unsigned long)(*p - '0');
	if (n_digits == 0 || n_digits >= 10 || *p != '.' || (n_digits > 1 && hf[13] == '0'))
		return 0;
	p++;
	for (i = 0; i < sizeof hf_layer_names / sizeof hf_layer_names[0]; i++) {
		if (strcmp(p, hf_layer_names[i].hf) != 0)
			continue;
		if (!hf_layer_names[i].gguf)
			return error_set(cause, "%s: tensor '%s': this bias is not supported by duet's %s",
			                 file, hf, model_arch_name(h->desc.arch));
		if (layer >= h->desc.n_layers)
			return error_set(cause,
			                 "%s: tensor '%s' belongs to layer %lu, but config.json's "
			                 "num_hidden_layers is %u",
			                 file, hf, layer, h->desc.n_layers);
		*gguf = xasprintf("blk.%lu.%s", layer, hf_layer_names[i].gguf);
		return 1;
	}
	return 0;
}

struct hf_name_ref {
	const char *name;
	size_t shard;
};

static int hf_name_ref_cmp(const void *a, const void *b)
{
	const struct hf_name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	return x->shard < y->shard ? -1 : x->shard > y->shard;
}

/* All shards' tensors under GGUF names; a name in two shards is refused. */
static int hf_collect_tensors(struct hf_load *h, char **cause)
{
	struct hf_name_ref *refs;
	size_t total = 0, n = 0, s, i;
	int rc = -1;

	for (s = 0; s < h->n_shards; s++)
		total += st_n_tensors(h->shards[s]);
	refs = xcalloc(total ? total : 1, sizeof *refs);
	for (s = 0; s < h->n_shards; s++) {
		for (i = 0; i < st_n_tensors(h->shards[s]); i++) {
			refs[n].name = st_tensor(h->shards[s], i)->name;
			refs[n++].shard = s;
		}
	}
	qsort(refs, n, sizeof *refs, hf_name_ref_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(refs[i - 1].name, refs[i].name) == 0) {
			error_set(cause, "%s: tensor '%s' is also in %s", st_path(h->shards[refs[i].shard]),
			          refs[i].name, st_path(h->shards[refs[i - 1].shard]));
			goto fail;
		}
	}

	h->tensors = xcalloc(total ? total : 1, sizeof *h->tensors);
	for (s = 0; s < h->n_shards; s++) {
		for (i = 0; i < st_n_tensors(h->shards[s]); i++) {
			const struct tensor *t = st_tensor(h->shards[s], i);
			char *gguf = NULL;
			int r = hf_map_name(h, st_path(h->shards[s]), t->name, &gguf, cause);
			if (r < 0)
				goto fail;
			if (r == 0) {
				h->n_ignored++;
				continue;
			}
			h->tensors[h->n_tensors] = *t;
			h->tensors[h->n_tensors++].name = gguf;
		}
	}
	rc = 0;
fail:
	free(refs);
	return rc;
}

static struct tensor *hf_find(struct hf_load *h, const char *gguf_name)
{
	size_t i;
	for (i = 0; i < h->n_tensors; i++) {
		if (strcmp(h->tensors[i].name, gguf_name) == 0)
			return &h->tensors[i];
	}
	return NULL;
}

/* What only the weights tell: vocabulary size, biases, a separate output matrix. */
static int hf_desc_from_tensors(struct hf_load *h, char **cause)
{
	struct model_desc *d = &h->desc;
	const struct tensor *embd = hf_find(h, "token_embd.weight");
	struct tensor *output = hf_find(h, "output.weight");
	size_t i;

	if (!embd)
		return error_set(cause, "%s: the weights have no tensor 'model.embed_tokens.weight'", h->dir);
	if (embd->n_dims != 2 || embd->ne[1] == 0 || embd->ne[1] > INT32_MAX)
		return error_set(cause, "%s: tensor 'model.embed_tokens.weight' has an unusable shape",
		                 h->dir);
	d->n_vocab = (uint32_t)embd->ne[1];
	if (h->vocab_size && h->vocab_size != d->n_vocab)
		return error_set(cause, "%s: vocab_size is %u but model.embed_tokens.weight has %u rows",
		                 h->config_path, h->vocab_size, d->n_vocab);

	for (i = 0; i < h->n_tensors; i++) {
		const char *dot = strchr(h->tensors[i].name + 4, '.');
		if (strncmp(h->tensors[i].name, "blk.", 4) == 0 && dot && strcmp(dot, ".attn_q.bias") == 0)
			d->qkv_bias = true;
	}

	/* transformers ties lm_head to the embedding when asked, whatever the file holds. */
	if (h->tie_word_embeddings && output) {
		free((char *)output->name);
		*output = h->tensors[--h->n_tensors];
		h->n_ignored++;
		output = NULL;
	}
	d->tied_output = output == NULL;
	d->rope_layout = ROPE_LAYOUT_HALF; /* HF checkpoints are never permuted */
	return 0;
}

/* ---------------------------------------------------------------- tokenizer files */

/* The id of a token text: tokenizer.json's added_tokens, then its model vocabulary. */
static int32_t hf_token_id(const struct hf_load *h, const char *text)
{
	const json_t *added, *e, *vocab, *id;
	size_t i;

	if (!h->tokenizer || !text)
		return -1;
	added = json_object_get(h->tokenizer, "added_tokens");
	json_array_foreach (added, i, e) {
		const json_t *content = json_object_get(e, "content");
		id = json_object_get(e, "id");
		if (json_is_string(content) && json_is_integer(id) &&
		    strcmp(json_string_value(content), text) == 0)
			return json_integer_value(id) >= 0 && json_integer_value(id) <= INT32_MAX
			               ? (int32_t)json_integer_value(id)
			               : -1;
	}
	vocab = json_object_get(json_object_get(h->tokenizer, "model"), "vocab");
	id = json_is_object(vocab) ? json_object_get(vocab, text) : NULL;
	if (json_is_integer(id) && json_integer_value(id) >= 0 && json_integer_value(id) <= INT32_MAX)
		return (int32_t)json_integer_value(id);
	return -1;
}

/*
 * A special token field of tokenizer_config.json ("eos_token": "<x>" or
 * {"content": "<x>", ...}) as an id. Returns 0 with *id unchanged when the
 * field is absent or null, or there is no tokenizer.json to resolve it.
 */
static int hf_config_token(struct hf_load *h, const json_t *tc, const char *key, int32_t *id, char **cause)
{
	const json_t *v = json_object_get(tc, key);
	const char *text;
	int32_t found;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_object(v))
		v = json_object_get(v, "content");
	if (!json_is_string(v))
		return error_set(cause,
		                 "%s: field '%s' must be a string or an object with a 'content' string",
		                 h->tokenizer_config_json, key);
	text = json_string_value(v);
	if (!h->tokenizer)
		return 0;
	found = hf_token_id(h, text);
	if (found < 0)
		return error_set(cause, "%s: %s '%.64s' is not a token of %s", h->tokenizer_config_json, key,
		                 text, h->tokenizer_json);
	*id = found;
	return 0;
}

/* A BOS that tokenizer.json's post-processor prepends (Llama-3 style), or NULL. */
static const char *hf_post_processor_bos(const json_t *pp)
{
	const json_t *procs, *p, *first, *special;
	const char *type;
	size_t i;

	type = json_string_value(json_object_get(pp, "type"));
	if (!type)
		return NULL;
	if (strcmp(type, "Sequence") == 0) {
		procs = json_object_get(pp, "processors");
		json_array_foreach (procs, i, p) {
			const char *bos = hf_post_processor_bos(p);
			if (bos)
				return bos;
		}
		return NULL;
	}
	if (strcmp(type, "TemplateProcessing") != 0)
		return NULL;
	first = json_array_get(json_object_get(pp, "single"), 0);
	special = json_object_get(first, "SpecialToken");
	return json_string_value(json_object_get(special, "id"));
}

static bool hf_has_byte_level(const json_t *pre)
{
	const json_t *p;
	const char *type = json_string_value(json_object_get(pre, "type"));
	size_t i;

	if (!type)
		return false;
	if (strcmp(type, "ByteLevel") == 0)
		return true;
	if (strcmp(type, "Sequence") == 0) {
		json_array_foreach (json_object_get(pre, "pretokenizers"), i, p) {
			if (hf_has_byte_level(p))
				return true;
		}
	}
	return false;
}

/* The turn-end tokens of the chat formats duet knows (what GGUF calls eot_token_id). */
static const char *const eot_names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>"};

static int hf_tokenizer_json(struct hf_load *h, char **cause)
{
	const char *type;
	char *path = path_join(h->dir, "tokenizer.json");
	const char *bos;
	int32_t id;
	size_t i;

	if (!path_exists(path)) {
		free(path);
		return 0;
	}
	h->tokenizer_json = path;
	h->tokenizer = json_file_load(path, HF_TOKENIZER_MAX_BYTES, 0, cause);
	if (!h->tokenizer)
		return -1;
	if (!json_is_object(h->tokenizer))
		return error_set(cause, "%s: must hold a JSON object (it holds %s)", path,
		                 json_kind_name(h->tokenizer));
	type = json_string_value(json_object_get(json_object_get(h->tokenizer, "model"), "type"));
	if (type && strcmp(type, "BPE") == 0 &&
	    hf_has_byte_level(json_object_get(h->tokenizer, "pre_tokenizer")))
		snprintf(h->desc.tokenizer_model, sizeof h->desc.tokenizer_model, "gpt2");
	else if (type)
		snprintf(h->desc.tokenizer_model, sizeof h->desc.tokenizer_model, "%s", type);

	/* tokenizer_config.json's add_bos_token, read later, overrides this. */
	bos = hf_post_processor_bos(json_object_get(h->tokenizer, "post_processor"));
	if (bos && (id = hf_token_id(h, bos)) >= 0) {
		h->desc.add_bos = true;
		h->desc.bos_id = id;
	}

	for (i = 0; i < sizeof eot_names / sizeof eot_names[0] && h->desc.eot_id < 0; i++)
		h->desc.eot_id = hf_token_id(h, eot_names[i]);
	return 0;
}

static int hf_tokenizer_config(struct hf_load *h, char **cause)
{
	json_t *tc;
	const json_t *tmpl, *e;
	char *path = path_join(h->dir, "tokenizer_config.json");
	size_t i;
	int rc = -1;

	if (!path_exists(path)) {
		free(path);
		return 0;
	}
	h->tokenizer_config_json = path;
	tc = json_file_load(path, HF_TOKENIZER_MAX_BYTES, JSON_DECODE_INT_AS_REAL, cause);
	if (!tc)
		return -1;
	if (!json_is_object(tc)) {
		error_set(cause, "%s: must hold a JSON object (it holds %s)", path, json_kind_name(tc));
		goto fail;
	}
	if (json_field_bool(tc, path, "add_bos_token", &h->desc.add_bos, cause) < 0)
		goto fail;
	if (hf_config_token(h, tc, "bos_token", &h->desc.bos_id, cause) < 0 ||
	    hf_config_token(h, tc, "eos_token", &h->desc.eos_id, cause) < 0 ||
	    hf_config_token(h, tc, "pad_token", &h->desc.pad_id, cause) < 0)
		goto fail;

	tmpl = json_object_get(tc, "chat_template");
	if (json_is_string(tmpl)) {
		h->chat_template = xstrdup(json_string_value(tmpl));
	} else if (json_is_array(tmpl)) {
		json_array_foreach (tmpl, i, e) {
			const char *name = json_string_value(json_object_get(e, "name"));
			const char *text = json_string_value(json_object_get(e, "template"));
			if (name && text && strcmp(name, "default") == 0 && !h->chat_template)
				h->chat_template = xstrdup(text);
		}
		if (!h->chat_template) {
			error_set(cause, "%s: chat_template lists no template named 'default'", path);
			goto fail;
		}
	} else if (tmpl && !json_is_null(tmpl)) {
		error_set(cause, "%s: field 'chat_template' must be a string or a list of {name, template}",
		          path);
		goto fail;
	}
	rc = 0;
fail:
	json_decref(tc);
	return rc;
}

/* Newer transformers save the template beside tokenizer_config.json instead of in it. */
static int hf_chat_template_file(struct hf_load *h, char **cause)
{
	char *path;

	if (h->chat_template)
		return 0;
	path = path_join(h->dir, "chat_template.jinja");
	if (path_exists(path) &&
	    !(h->chat_template = file_read_all(path, HF_TEMPLATE_MAX_BYTES, NULL, cause))) {
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static void hf_add_stop(struct model_desc *d, int32_t id)
{
	uint32_t i;

	if (id < 0 || d->n_stop_ids >= MODEL_MAX_EOS)
		return;
	for (i = 0; i < d->n_stop_ids; i++) {
		if (d->stop_ids[i] == id)
			return;
	}
	d->stop_ids[d->n_stop_ids++] = id;
}

/* "eos_token_id": 7 or [7, 9] (config.json, generation_config.json). */
static int hf_id_list(const json_t *obj, const char *file, const char *key, int32_t *ids, size_t max,
                      size_t *n, char **cause)
{
	const json_t *v = json_object_get(obj, key), *e;
	size_t i;

	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		return json_field_i32(obj, file, key, &ids[(*n)++], cause) < 0 ? -1 : 0;
	if (!json_is_array(v))
		return error_set(cause, "%s: field '%s' must be an integer or a list of integers (it is %s)",
		                 file, key, json_kind_name(v));
	json_array_foreach (v, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > INT32_MAX)
			return error_set(cause, "%s: field '%s' must list non-negative integers", file, key);
		if (*n < max)
			ids[(*n)++] = (int32_t)json_integer_value(e);
	}
	return 0;
}

static int hf_generation_config(struct hf_load *h, int32_t *gen_eos, size_t *n_gen_eos, char **cause)
{
	struct model_desc *d = &h->desc;
	char *path = path_join(h->dir, "generation_config.json");
	json_t *gc = NULL;
	bool do_sample = true;
	int32_t id;
	int rc = -1, r;

	*n_gen_eos = 0;
	if (!path_exists(path)) {
		free(path);
		return 0;
	}
	gc = json_file_load(path, HF_CONFIG_MAX_BYTES, 0, cause);
	if (!gc)
		goto fail;
	if (!json_is_object(gc)) {
		error_set(cause, "%s: must hold a JSON object (it holds %s)", path, json_kind_name(gc));
		goto fail;
	}
	if (json_field_f32(gc, path, "temperature", &d->temperature, cause) < 0 ||
	    json_field_f32(gc, path, "top_p", &d->top_p, cause) < 0 ||
	    json_field_i32(gc, path, "top_k", &d->top_k, cause) < 0 ||
	    json_field_bool(gc, path, "do_sample", &do_sample, cause) < 0)
		goto fail;
	if (d->temperature < 0 || d->top_p < 0 || d->top_p > 1 || d->top_k < -1) {
		error_set(cause, "%s: temperature, top_p or top_k out of range", path);
		goto fail;
	}
	/* transformers decodes greedily when do_sample is false, whatever the temperature. */
	if (!do_sample)
		d->temperature = 0;
	if (hf_id_list(gc, path, "eos_token_id", gen_eos, MODEL_MAX_EOS, n_gen_eos, cause) < 0)
		goto fail;
	if ((r = json_field_i32(gc, path, "bos_token_id", &id, cause)) < 0)
		goto fail;
	if (r > 0 && d->bos_id < 0)
		d->bos_id = id;
	if ((r = json_field_i32(gc, path, "pad_token_id", &id, cause)) < 0)
		goto fail;
	if (r > 0 && d->pad_id < 0)
		d->pad_id = id;
	rc = 0;
fail:
	json_decref(gc);
	free(path);
	return rc;
}

/* Special ids from every source, by precedence, then checked against the vocabulary. */
static int hf_special_ids(struct hf_load *h, char **cause)
{
	struct model_desc *d = &h->desc;
	int32_t gen_eos[MODEL_MAX_EOS], cfg_eos[MODEL_MAX_EOS], id;
	size_t n_gen_eos = 0, n_cfg_eos = 0, i;
	int r;
	const int32_t *ids[4] = {&d->bos_id, &d->eos_id, &d->eot_id, &d->pad_id};
	static const char *const id_names[4] = {"bos", "eos", "eot", "pad"};

	if (hf_tokenizer_json(h, cause) < 0 || hf_tokenizer_config(h, cause) < 0 ||
	    hf_chat_template_file(h, cause) < 0 || hf_generation_config(h, gen_eos, &n_gen_eos, cause) < 0)
		return -1;
	if (hf_id_list(h->config, h->config_path, "eos_token_id", cfg_eos, MODEL_MAX_EOS, &n_cfg_eos, cause) <
	    0)
		return -1;
	r = json_field_i32(h->config, h->config_path, "bos_token_id", &id, cause);
	if (r < 0)
		return -1;
	if (r > 0 && d->bos_id < 0)
		d->bos_id = id;
	if (d->eos_id < 0 && n_gen_eos > 0)
		d->eos_id = gen_eos[0];
	if (d->eos_id < 0 && n_cfg_eos > 0)
		d->eos_id = cfg_eos[0];

	hf_add_stop(d, d->eos_id);
	hf_add_stop(d, d->eot_id);
	for (i = 0; i < n_gen_eos; i++)
		hf_add_stop(d, gen_eos[i]);
	for (i = 0; i < n_cfg_eos; i++)
		hf_add_stop(d, cfg_eos[i]);
	/* The chat format's own end markers (DESIGN.md section 5), as model_gguf.c adds them. */
	switch (chat_format_detect(h->chat_template)) {
	case CHAT_FORMAT_CHATML:
		hf_add_stop(d, hf_token_id(h, "<|im_end|>"));
		hf_add_stop(d, hf_token_id(h, "<|endoftext|>"));
		break;
	case CHAT_FORMAT_LLAMA3:
		hf_add_stop(d, hf_token_id(h, "<|eot_id|>"));
		hf_add_stop(d, hf_token_id(h, "<|end_of_text|>"));
		break;
	case CHAT_FORMAT_DEEPSEEK_R1:
		hf_add_stop(d, hf_token_id(h, "<\xef\xbd\x9c"
		                              "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"));
		break;
	case CHAT_FORMAT_UNKNOWN:
		break;
	}

	for (i = 0; i < 4; i++) {
		if (*ids[i] >= (int32_t)d->n_vocab)
			return error_set(cause, "%s: %s token id %d is outside the vocabulary (%u tokens)",
			                 h->dir, id_names[i], *ids[i], d->n_vocab);
	}
	for (i = 0; i < d->n_stop_ids; i++) {
		if (d->stop_ids[i] < 0 || d->stop_ids[i] >= (int32_t)d->n_vocab)
			return error_set(
			        cause,
			        "%s: end-of-sequence token id %d is outside the vocabulary (%u tokens)",
			        h->dir, d->stop_ids[i], d->n_vocab);
	}
	return 0;
}

/* ---------------------------------------------------------------- entry point */

/* The folder's own name ("DeepSeek-R1-Distill-Qwen-1.5B"), even for "." or "dir/". */
static void hf_folder_name(const char *dir, char *out, size_t size)
{
	char *real = realpath(dir, NULL);
	const char *d = real ? real : dir;
	size_t len = strlen(d);
	const char *base;

	while (len > 1 && d[len - 1] == '/')
		len--;
	base = d + len;
	while (base > d && base[-1] != '/')
		base--;
	snprintf(out, size, "%.*s", (int)(d + len - base), base);
	free(real);
}

static void hf_load_free(struct hf_load *h)
{
	size_t i;

	for (i = 0; i < h->n_shards; i++)
		st_close(h->shards[i]);
	free(h->shards);
	for (i = 0; i < h->n_tensors; i++)
		free((char *)h->tensors[i].name);
	free(h->tensors);
	free(h->tokenizer_json);
	free(h->tokenizer_config_json);
	json_decref(h->tokenizer);
	json_decref(h->config);
	free(h->config_path);
	free(h->chat_template);
}

int model_hf_load(struct model_file *mf, const char *dir, const char *single_file, char **cause)
{
	struct hf_load h;
	struct model_desc *d = &h.desc;

	memset(&h, 0, sizeof h);
	h.dir = dir;
	d->bos_id = d->eos_id = d->eot_id = d->pad_id = -1;
	d->temperature = NAN;
	d->top_p = NAN;
	d->top_k = -1;
	hf_folder_name(dir, d->name, sizeof d->name);

	if (hf_config(&h, cause) < 0 || hf_open_weights(&h, single_file, cause) < 0 ||
	    hf_collect_tensors(&h, cause) < 0 || hf_desc_from_tensors(&h, cause) < 0 ||
	    hf_special_ids(&h, cause) < 0)
		goto fail;
	d->chat_template = h.chat_template;
	d->chat_format = h.chat_template ? chat_format_detect(h.chat_template) : CHAT_FORMAT_UNKNOWN;

	mf->source = MODEL_SOURCE_SAFETENSORS;
	mf->desc = h.desc;
	mf->chat_template = h.chat_template;
	mf->tensors = h.tensors;
	mf->n_tensors = h.n_tensors;
	mf->names_owned = true;
	mf->shards = h.shards;
	mf->n_shards = h.n_shards;
	mf->tokenizer_json = h.tokenizer_json;
	mf->tokenizer_config_json = h.tokenizer_config_json;
	json_decref(h.tokenizer);
	json_decref(h.config);
	free(h.config_path);
	return 0;
fail:
	hf_load_free(&h);
	return -1;
}
