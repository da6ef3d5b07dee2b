/*
 * model.c — struct model_file: which loader a path goes to (GGUF file, HF
 * folder, single .safetensors file), the architecture's tensor check shared
 * by both sources, the accessors, and chat-format detection. Calls gguf,
 * safetensors (to close shards), dtype, the loaders and util.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/gguf.h"
#include "infer/model_impl.h"
#include "infer/safetensors.h"
#include "infer/util.h"

/* --- opening ----------------------------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The folder part of a file path: "." for a bare name, "/" for a file in the root. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Reads up to 8 leading bytes of a file; returns how many, or -1 with *cause. */
static int read_head(const char *path, unsigned char *head, char **cause)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return error_set(cause, "%s: %s", path, strerror(errno));
	do
		n = read(fd, head, 8);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		error_set(cause, "%s: %s", path, strerror(errno));
	close(fd);
	return (int)n;
}

static int open_file(struct model_file *mf, const char *path, char **cause)
{
	unsigned char head[8];
	int n = read_head(path, head, cause);
	char *dir;
	int rc;

	if (n < 0)
		return -1;
	if (n >= 4 && memcmp(head, "GGUF", 4) == 0) {
		mf->source = MODEL_SOURCE_GGUF;
		mf->gguf = gguf_open(path, cause);
		if (!mf->gguf)
			return -1;
		return model_gguf_load(mf, cause);
	}
	if (has_suffix(path, ".safetensors")) {
		dir = dir_of(path);
		rc = model_hf_load(mf, dir, path, cause);
		free(dir);
		return rc;
	}
	if (n == 0)
		return error_set(cause, "%s: not a GGUF file, safetensors file or model folder (the file is empty)", path);
	char hex[8 * 3 + 1];
	size_t o = 0;
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(hex + o, sizeof hex - o, "%s%02x", i ? " " : "", head[i]);
	return error_set(cause, "%s: not a GGUF file, safetensors file or model folder (first bytes: %s)", path,
			 hex);
}

struct model_file *model_file_open(const char *path, char **cause)
{
	struct model_file *mf = xcalloc(1, sizeof *mf);
	struct stat st;

	mf->path = xstrdup(path);
	if (stat(path, &st) != 0) {
		error_set(cause, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		if (model_hf_load(mf, path, NULL, cause) < 0)
			goto fail;
	} else if (!S_ISREG(st.st_mode)) {
		error_set(cause, "%s: not a GGUF file, safetensors file or model folder (not a regular file)", path);
		goto fail;
	} else if (open_file(mf, path, cause) < 0) {
		goto fail;
	}
	if (model_check_tensors(mf, cause) < 0)
		goto fail;
	mf->desc.chat_template = mf->chat_template;
	mf->desc.chat_format = chat_format_detect(mf->chat_template);
	return mf;
fail:
	model_file_close(mf);
	return NULL;
}

void model_file_close(struct model_file *mf)
{
	if (!mf)
		return;
	if (mf->names_owned)
		for (size_t i = 0; i < mf->n_tensors; i++)
			free((char *)mf->tensors[i].name);
	free(mf->tensors);
	gguf_close(mf->gguf);
	for (size_t i = 0; i < mf->n_shards; i++)
		st_close(mf->shards[i]);
	free(mf->shards);
	free(mf->tokenizer_json);
	free(mf->tokenizer_config_json);
	free(mf->chat_template);
	free(mf->path);
	free(mf);
}

/* --- the architecture's tensors ------------------------------------------- */

static void format_shape(char *buf, size_t size, const uint64_t *ne, uint32_t n_dims)
{
	size_t o = 0;
	buf[0] = '\0';
	for (uint32_t d = 0; d < n_dims && o < size; d++)
		o += (size_t)snprintf(buf + o, size - o, "%s%llu", d ? ", " : "[", (unsigned long long)ne[d]);
	if (o < size)
		snprintf(buf + o, size - o, "]");
}

/* One expected tensor: present, of a readable type, shaped {ne0} or {ne0, ne1} (ne1 = 0: 1-D). */
static int expect(const struct model_file *mf, const char *name, uint64_t ne0, uint64_t ne1, char **cause)
{
	const struct tensor *t = model_file_find(mf, name);
	const struct dtype_traits *tr;
	uint64_t want[TENSOR_MAX_DIMS] = {ne0, ne1 ? ne1 : 1, 1, 1};
	char got_s[128], want_s[128];

	if (!t)
		return error_set(cause, "%s: tensor '%s' is missing (a %s model needs it)", mf->path, name,
				 model_arch_name(mf->desc.arch));
	if (memcmp(t->ne, want, sizeof want) != 0) {
		format_shape(got_s, sizeof got_s, t->ne, t->n_dims);
		format_shape(want_s, sizeof want_s, want, ne1 ? 2 : 1);
		return error_set(cause, "%s: tensor '%s' has shape %s, expected %s", mf->path, name, got_s, want_s);
	}
	tr = dtype_traits(t->type);
	if (!tr || !tr->supported)
		return error_set(cause, "%s: tensor '%s' has type %s, which duet cannot read", mf->path, name,
				 dtype_name(t->type));
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp((*(const struct tensor *const *)a)->name, (*(const struct tensor *const *)b)->name);
}

static int check_duplicates(const struct model_file *mf, char **cause)
{
	const struct tensor **by_name;
	int rc = 0;

	if (mf->n_tensors < 2)
		return 0;
	by_name = xcalloc(mf->n_tensors, sizeof *by_name);
	for (size_t i = 0; i < mf->n_tensors; i++)
		by_name[i] = &mf->tensors[i];
	qsort(by_name, mf->n_tensors, sizeof *by_name, cmp_names);
	for (size_t i = 0; i + 1 < mf->n_tensors; i++)
		if (strcmp(by_name[i]->name, by_name[i + 1]->name) == 0) {
			rc = error_set(cause, "%s: tensor '%s' appears twice", mf->path, by_name[i]->name);
			break;
		}
	free(by_name);
	return rc;
}

int model_check_tensors(struct model_file *mf, char **cause)
{
	const struct model_desc *d = &mf->desc;
	uint64_t q_dim = (uint64_t)d->n_heads * d->head_dim, kv_dim = (uint64_t)d->n_kv_heads * d->head_dim;
	char name[96];

	if (check_duplicates(mf, cause) < 0)
		return -1;
	if (d->n_embd == 0 || d->n_layers == 0 || d->n_ff == 0 || d->n_heads == 0 || d->n_kv_heads == 0 ||
	    d->head_dim == 0 || d->n_vocab == 0)
		return error_set(cause, "%s: the model description has a zero size (embedding %u, layers %u, ffn %u, "
					"heads %u/%u, head dim %u, vocabulary %u)",
				 mf->path, d->n_embd, d->n_layers, d->n_ff, d->n_heads, d->n_kv_heads, d->head_dim,
				 d->n_vocab);
	if (expect(mf, "token_embd.weight", d->n_embd, d->n_vocab, cause) < 0 ||
	    expect(mf, "output_norm.weight", d->n_embd, 0, cause) < 0)
		return -1;
	if (!d->tied_output && expect(mf, "output.weight", d->n_embd, d->n_vocab, cause) < 0)
		return -1;

	for (uint32_t l = 0; l < d->n_layers; l++) {
		static const struct {
			const char *suffix;
			int ne0, ne1; /* 1 n_embd, 2 q_dim, 3 kv_dim, 4 n_ff, 0 none */
		} layer[] = {
			{"attn_norm.weight", 1, 0}, {"attn_q.weight", 1, 2},      {"attn_k.weight", 1, 3},
			{"attn_v.weight", 1, 3},    {"attn_output.weight", 2, 1}, {"ffn_norm.weight", 1, 0},
			{"ffn_gate.weight", 1, 4},  {"ffn_up.weight", 1, 4},      {"ffn_down.weight", 4, 1},
			{"attn_q.bias", 2, 0},      {"attn_k.bias", 3, 0},        {"attn_v.bias", 3, 0},
		};
		const uint64_t dims[] = {0, d->n_embd, q_dim, kv_dim, d->n_ff};
		size_t n = sizeof layer / sizeof layer[0] - (d->qkv_bias ? 0 : 3);

		for (size_t k = 0; k < n; k++) {
			snprintf(name, sizeof name, "blk.%u.%s", l, layer[k].suffix);
			if (expect(mf, name, dims[layer[k].ne0], dims[layer[k].ne1], cause) < 0)
				return -1;
		}
	}
	return 0;
}

/* --- accessors ------------------------------------------------------------- */

const char *model_file_path(const struct model_file *mf)
{
	return mf->path;
}

enum model_source model_file_source(const struct model_file *mf)
{
	return mf->source;
}

const struct model_desc *model_file_desc(const struct model_file *mf)
{
	return &mf->desc;
}

size_t model_file_n_tensors(const struct model_file *mf)
{
	return mf->n_tensors;
}

const struct tensor *model_file_tensor(const struct model_file *mf, size_t i)
{
	return i < mf->n_tensors ? &mf->tensors[i] : NULL;
}

const struct tensor *model_file_find(const struct model_file *mf, const char *name)
{
	if (mf->gguf) {
		/* mf->tensors is a copy of the gguf table in the same order: use its hash. */
		const struct tensor *t = gguf_find_tensor(mf->gguf, name);
		if (!t)
			return NULL;
		size_t i = (size_t)(t - gguf_tensor(mf->gguf, 0));
		return i < mf->n_tensors ? &mf->tensors[i] : NULL;
	}
	for (size_t i = 0; i < mf->n_tensors; i++)
		if (strcmp(mf->tensors[i].name, name) == 0)
			return &mf->tensors[i];
	return NULL;
}

uint64_t model_file_n_params(const struct model_file *mf)
{
	uint64_t n = 0;
	for (size_t i = 0; i < mf->n_tensors; i++)
		n += tensor_n_elems(&mf->tensors[i]);
	return n;
}

uint64_t model_file_weight_bytes(const struct model_file *mf)
{
	uint64_t n = 0;
	for (size_t i = 0; i < mf->n_tensors; i++)
		n += mf->tensors[i].n_bytes;
	return n;
}

const struct gguf *model_file_gguf(const struct model_file *mf)
{
	return mf->gguf;
}

const char *model_file_tokenizer_json(const struct model_file *mf)
{
	return mf->tokenizer_json;
}

const char *model_file_tokenizer_config_json(const struct model_file *mf)
{
	return mf->tokenizer_config_json;
}

const char *model_arch_name(enum model_arch arch)
{
	switch (arch) {
	case MODEL_ARCH_LLAMA: return "llama";
	case MODEL_ARCH_QWEN2: return "qwen2";
	}
	return "?";
}

const char *chat_format_name(enum chat_format f)
{
	switch (f) {
	case CHAT_FORMAT_UNKNOWN: return "unknown";
	case CHAT_FORMAT_DEEPSEEK_R1: return "deepseek-r1";
	case CHAT_FORMAT_LLAMA3: return "llama3";
	case CHAT_FORMAT_CHATML: return "chatml";
	}
	return "?";
}

enum chat_format chat_format_detect(const char *template_text)
{
	if (!template_text)
		return CHAT_FORMAT_UNKNOWN;
	if (strstr(template_text, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>")) /* <｜Assistant｜>, U+FF5C bars */
		return CHAT_FORMAT_DEEPSEEK_R1;
	if (strstr(template_text, "<|start_header_id|>"))
		return CHAT_FORMAT_LLAMA3;
	if (strstr(template_text, "<|im_start|>"))
		return CHAT_FORMAT_CHATML;
	return CHAT_FORMAT_UNKNOWN;
}
