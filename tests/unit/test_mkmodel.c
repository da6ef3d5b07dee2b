/*
 * test_mkmodel.c — duet mkmodel's files (infer/mkmodel.c): for the tiny
 * configurations in every weight format and both containers, the model
 * opens with model_file_open and passes model_check_tensors with the shape
 * the configuration gives, its tokenizer loads, the same seed gives the
 * same bytes whatever the thread count, the values have the intended
 * spread, a GGUF and a safetensors model of one seed hold the same values
 * (llama Q/K rows in llama.cpp's permuted order, checked with the
 * permutation written out here from convert_hf_to_gguf.py's reshape) and
 * compute the same logits, and a tokenizer copied with --vocab-from
 * encodes as its source does (the real DeepSeek-R1 one, when cached,
 * against DESIGN.md §4's check vector). The synthetic tokenizers, in both
 * containers, encode as Hugging Face `tokenizers` encodes the tokenizer.json
 * mkmodel wrote (fixtures/mkmodel/tokenizers.json, from
 * tests/golden/make_mkmodel_fixtures.py).
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/dtype.h"
#include "infer/engine.h"
#include "infer/mkmodel.h"
#include "infer/model.h"
#include "infer/model_impl.h"
#include "infer/tokenizer.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

static char tmpdir[] = "/tmp/duet-test-mkmodel-XXXXXX";

static char *tmp_path(const char *name)
{
	return path_join(tmpdir, name);
}

static int write_model(const char *config, enum mkmodel_format format, uint32_t type, uint64_t seed,
                       int threads, const char *vocab_from, uint32_t vocab_override, const char *out)
{
	struct mkmodel_config c = *mkmodel_config_builtin(config);
	struct mkmodel_params p = {
	        .format = format, .type = type, .seed = seed, .n_threads = threads, .vocab_from = vocab_from};
	struct mkmodel_report rep;
	char *cause = NULL;
	int rc;

	if (vocab_override)
		c.n_vocab = vocab_override;
	rc = mkmodel_write(&c, &p, out, &rep, &cause);
	if (rc < 0)
		tap_diag("mkmodel %s -> %s: %s", config, out, cause);
	free(cause);
	return rc;
}

static struct model_file *open_checked(const char *path, const char *what)
{
	char *cause = NULL;
	struct model_file *mf = model_file_open(path, &cause);

	if (!tap_ok(mf != NULL, "%s: model_file_open", what))
		tap_diag("  %s", cause);
	else if (!tap_ok(model_check_tensors(mf, &cause) == 0, "%s: model_check_tensors", what))
		tap_diag("  %s", cause);
	free(cause);
	return mf;
}

static int32_t *encode(const struct tokenizer *tok, const char *text, unsigned flags, size_t *n)
{
	struct tokens ids = {0};
	char *cause = NULL;

	if (tokenizer_encode(tok, text, strlen(text), flags, &ids, &cause) < 0) {
		tap_diag("encode: %s", cause);
		free(cause);
		tokens_free(&ids);
		*n = 0;
		return NULL;
	}
	*n = ids.n;
	return ids.ids;
}

static const char SAMPLE[] = "Hello world, the quick brown fox jumps over 12345 lazy dogs! Ünïcödé and 中文.";

/* One model: shape, types, tokenizer. */
static void check_model(const char *config, enum mkmodel_format format, uint32_t type)
{
	const struct mkmodel_config *c = mkmodel_config_builtin(config);
	char name[160], file[96];
	char *path, *cause = NULL;
	struct model_file *mf;
	const struct model_desc *d;
	struct tokenizer *tok;

	snprintf(file, sizeof file, "%s-%s%s", config, dtype_name(type),
	         format == MKMODEL_GGUF ? ".gguf" : "");
	snprintf(name, sizeof name, "%s %s %s", config, format == MKMODEL_GGUF ? "GGUF" : "safetensors",
	         dtype_name(type));
	path = tmp_path(file);
	if (!tap_ok(write_model(config, format, type, 7, 2, NULL, 0, path) == 0, "%s: written", name)) {
		free(path);
		return;
	}
	mf = open_checked(path, name);
	if (!mf) {
		free(path);
		return;
	}
	d = model_file_desc(mf);
	tap_ok(d->arch == c->arch && d->n_embd == c->n_embd && d->n_layers == c->n_layers &&
	               d->n_ff == c->n_ff && d->n_heads == c->n_heads && d->n_kv_heads == c->n_kv_heads &&
	               d->head_dim == c->head_dim && d->n_vocab == c->n_vocab && d->n_ctx_train == c->n_ctx,
	       "%s: description has the configuration's shape", name);
	tap_ok(d->rope_theta == c->rope_theta && d->rms_eps == c->rms_eps && d->qkv_bias == c->qkv_bias &&
	               d->tied_output == c->tied_output,
	       "%s: rope theta %g, eps %g, bias %d, tied %d", name, (double)d->rope_theta, (double)d->rms_eps,
	       d->qkv_bias, d->tied_output);
	TAP_EQ_INT(model_file_find(mf, "blk.1.ffn_down.weight")->type, type, "matrix type as asked");
	TAP_EQ_INT(model_file_find(mf, "blk.0.attn_norm.weight")->type,
	           format == MKMODEL_GGUF ? DTYPE_F32 : type, "norm type (F32 in GGUF)");
	TAP_EQ_INT(d->rope_layout,
	           format == MKMODEL_GGUF && c->arch == MODEL_ARCH_LLAMA ? ROPE_LAYOUT_ADJACENT
	                                                                 : ROPE_LAYOUT_HALF,
	           "rope layout of the container");
	TAP_EQ_INT(d->chat_format, c->chat, "chat format detected from the template");
	tok = tokenizer_from_model(mf, &cause);
	if (tap_ok(tok != NULL, "%s: tokenizer loads", name)) {
		size_t n = 0;
		int32_t *ids = encode(tok, SAMPLE, 0, &n);
		char *back = ids ? tokenizer_decode(tok, ids, n, false, NULL, NULL) : NULL;
		TAP_EQ_INT(tokenizer_n_vocab(tok), c->n_vocab, "tokenizer covers the vocabulary");
		tap_ok(n > 0 && n < strlen(SAMPLE), "%s: text encodes to %zu ids (merges apply)", name, n);
		TAP_EQ_STR(back, SAMPLE, "decode gives the text back");
		tap_ok(tokenizer_bos(tok) >= 0 && tokenizer_eos(tok) >= 0 &&
		               tokenizer_is_special(tok, tokenizer_eos(tok)),
		       "%s: BOS %d and special EOS %d", name, tokenizer_bos(tok), tokenizer_eos(tok));
		free(back);
		free(ids);
	} else {
		tap_diag("  %s", cause);
	}
	tokenizer_free(tok);
	free(cause);
	model_file_close(mf);
	free(path);
}

static bool files_equal(const char *a, const char *b)
{
	size_t la, lb;
	char *da = file_read_all(a, 1u << 30, &la, NULL), *db = file_read_all(b, 1u << 30, &lb, NULL);
	bool eq = da && db && la == lb && memcmp(da, db, la) == 0;
	free(da);
	free(db);
	return eq;
}

static void check_determinism(void)
{
	char *a = tmp_path("det-a.gguf"), *b = tmp_path("det-b.gguf"), *c = tmp_path("det-c.gguf");
	write_model("tiny-qwen2", MKMODEL_GGUF, DTYPE_Q4_K, 42, 1, NULL, 0, a);
	write_model("tiny-qwen2", MKMODEL_GGUF, DTYPE_Q4_K, 42, 3, NULL, 0, b);
	write_model("tiny-qwen2", MKMODEL_GGUF, DTYPE_Q4_K, 43, 2, NULL, 0, c);
	tap_ok(files_equal(a, b), "same seed, 1 and 3 threads: the same bytes");
	tap_ok(!files_equal(a, c), "another seed: other bytes");
	free(a);
	free(b);
	free(c);
}

static void tensor_f32(const struct tensor *t, float *out)
{
	dtype_dequant(t->type, t->data, out, (size_t)tensor_n_elems(t));
}

/* Mean and standard deviation of a tensor's values. */
static void stats(const struct tensor *t, double *mean, double *sd)
{
	size_t n = (size_t)tensor_n_elems(t);
	float *v = xmalloc(n * sizeof *v);
	double s = 0, q = 0;

	tensor_f32(t, v);
	for (size_t i = 0; i < n; i++)
		s += v[i];
	*mean = s / (double)n;
	for (size_t i = 0; i < n; i++)
		q += (v[i] - *mean) * (v[i] - *mean);
	*sd = sqrt(q / (double)n);
	free(v);
}

/*
 * convert_hf_to_gguf.py's LlamaModel.permute: w.reshape(n_head, 2, d/2, cols)
 * .swapaxes(1, 2).reshape(...). GGUF row h*d + 2i + s is HF row h*d + s*d/2 + i.
 */
static size_t llama_cpp_permuted_source(size_t gguf_row, size_t head_dim)
{
	size_t h = gguf_row / head_dim, w = gguf_row % head_dim;
	return h * head_dim + (w % 2) * (head_dim / 2) + w / 2;
}

static void check_same_values(const char *config)
{
	const struct mkmodel_config *c = mkmodel_config_builtin(config);
	char g_name[64], s_name[64];
	char *g_path, *s_path;
	struct model_file *g = NULL, *s = NULL;

	snprintf(g_name, sizeof g_name, "same-%s.gguf", config);
	snprintf(s_name, sizeof s_name, "same-%s", config);
	g_path = tmp_path(g_name);
	s_path = tmp_path(s_name);
	if (write_model(config, MKMODEL_GGUF, DTYPE_F32, 5, 2, NULL, 0, g_path) < 0 ||
	    write_model(config, MKMODEL_SAFETENSORS, DTYPE_F32, 5, 2, NULL, 0, s_path) < 0)
		goto out;
	g = model_file_open(g_path, NULL);
	s = model_file_open(s_path, NULL);
	if (!tap_ok(g && s, "%s: GGUF and safetensors F32 open", config))
		goto out;
	for (size_t i = 0; i < model_file_n_tensors(g); i++) {
		const struct tensor *tg = model_file_tensor(g, i), *ts = model_file_find(s, tg->name);
		size_t rows = tg->n_dims > 1 ? (size_t)tg->ne[1] : 1, cols = (size_t)tg->ne[0], bad = 0,
		       heads = 0;
		const float *fg = tg->data;
		float row[4096];

		if (!ts || ts->n_bytes != tg->n_bytes || cols > 4096) {
			tap_ok(0, "%s: tensor %s in both with one size", config, tg->name);
			continue;
		}
		if (c->arch == MODEL_ARCH_LLAMA && strstr(tg->name, "attn_q.weight"))
			heads = c->n_heads;
		if (c->arch == MODEL_ARCH_LLAMA && strstr(tg->name, "attn_k.weight"))
			heads = c->n_kv_heads;
		for (size_t r = 0; r < rows; r++) {
			size_t src = heads ? llama_cpp_permuted_source(r, rows / heads) : r;
			/* safetensors data may be unaligned */
			memcpy(row, (const char *)ts->data + src * cols * 4, cols * 4);
			if (memcmp(row, fg + r * cols, cols * 4) != 0)
				bad++;
		}
		if (bad || heads || i == 0)
			tap_ok(bad == 0, "%s: %s rows equal in both files%s (%zu differ)", config, tg->name,
			       heads ? " after llama.cpp's permutation" : "", bad);
	}
out:
	model_file_close(g);
	model_file_close(s);
	free(g_path);
	free(s_path);
}

/* Logits of a short id sequence on the CPU backend; NULL when it cannot run. */
static float *cpu_logits(const char *path, const int32_t *ids, size_t n, uint32_t *n_vocab)
{
	struct engine_model_params mp = {.device = "cpu", .n_threads = 2};
	char *cause = NULL;
	struct engine_model *m = engine_model_open(path, &mp, &cause);
	struct session *s = NULL;
	float *logits = NULL;

	if (m)
		s = session_new(m, 64, &cause);
	if (s)
		logits = session_logits(s, ids, n, &cause);
	if (!logits)
		tap_diag("logits of %s: %s", path, cause ? cause : "?");
	if (m)
		*n_vocab = engine_model_desc(m)->n_vocab;
	session_free(s);
	engine_model_free(m);
	free(cause);
	return logits;
}

static void check_logits(const char *config)
{
	static const int32_t ids[] = {3, 77, 190, 260, 301, 5, 99, 400};
	size_t n = sizeof ids / sizeof ids[0];
	char g_name[64], s_name[64];
	char *g_path, *s_path;
	float *lg = NULL, *ls = NULL;
	uint32_t nv = 0;
	double sum = 0, sq = 0, max_diff = 0, max_abs = 0;
	bool finite = true;

	snprintf(g_name, sizeof g_name, "same-%s.gguf", config);
	snprintf(s_name, sizeof s_name, "same-%s", config);
	g_path = tmp_path(g_name);
	s_path = tmp_path(s_name);
	lg = cpu_logits(g_path, ids, n, &nv);
	ls = cpu_logits(s_path, ids, n, &nv);
	if (!tap_ok(lg && ls, "%s: CPU logits of both files", config))
		goto out;
	for (size_t i = 0; i < n * nv; i++) {
		finite = finite && isfinite(lg[i]);
		sum += lg[i];
		sq += (double)lg[i] * lg[i];
		if (fabs(lg[i] - ls[i]) > max_diff)
			max_diff = fabs(lg[i] - ls[i]);
		if (fabs(lg[i]) > max_abs)
			max_abs = fabs(lg[i]);
	}
	{
		double mean = sum / (double)(n * nv), sd = sqrt(sq / (double)(n * nv) - mean * mean);
		tap_ok(finite && sd > 0.1 && sd < 10, "%s: logits finite and varied (sd %.3f, max |x| %.2f)",
		       config, sd, max_abs);
	}
	tap_ok(max_diff <= 1e-3 * (max_abs > 1 ? max_abs : 1),
	       "%s: GGUF and safetensors of one seed give the same logits (max diff %.2e)", config, max_diff);
out:
	free(lg);
	free(ls);
	free(g_path);
	free(s_path);
}

static void check_spread(void)
{
	char *path = tmp_path("same-tiny-qwen2.gguf");
	struct model_file *mf = model_file_open(path, NULL);
	double mean, sd;

	if (!tap_ok(mf != NULL, "spread: model opens")) {
		free(path);
		return;
	}
	stats(model_file_find(mf, "blk.0.ffn_up.weight"), &mean, &sd);
	tap_ok(fabs(mean) < 1e-3 && fabs(sd - 0.02) < 0.001,
	       "matrix weights: mean %.2e, sd %.5f (want 0, 0.02)", mean, sd);
	stats(model_file_find(mf, "blk.1.ffn_norm.weight"), &mean, &sd);
	tap_ok(fabs(mean - 1) < 0.02 && fabs(sd - 0.1) < 0.02,
	       "norm weights: mean %.3f, sd %.3f (want 1, 0.1)", mean, sd);
	stats(model_file_find(mf, "blk.0.attn_k.bias"), &mean, &sd);
	tap_ok(sd > 0.01 && sd < 0.03, "biases: sd %.4f", sd);
	model_file_close(mf);
	free(path);
}

/* The same text through a model's tokenizer and through the source tokenizer. */
static void check_same_ids(const char *model_path, const char *source, const char *text, unsigned flags,
                           const char *what)
{
	char *cause = NULL;
	struct model_file *mf = model_file_open(model_path, &cause);
	struct tokenizer *a = mf ? tokenizer_from_model(mf, &cause) : NULL,
	                 *b = a ? tokenizer_open(source, &cause) : NULL;
	size_t na = 0, nb = 0;
	int32_t *ia = NULL, *ib = NULL;

	if (!tap_ok(a && b, "%s: both tokenizers load", what)) {
		tap_diag("  %s", cause);
		goto out;
	}
	ia = encode(a, text, flags, &na);
	ib = encode(b, text, flags, &nb);
	if (!tap_ok(ia && ib && na == nb && memcmp(ia, ib, na * sizeof *ia) == 0,
	            "%s: same ids as the source (%zu)", what, na))
		tap_diag("  %zu ids vs %zu", na, nb);
	TAP_EQ_STR(tokenizer_pre(a), tokenizer_pre(b), "the same pre-tokenizer family");
out:
	free(ia);
	free(ib);
	tokenizer_free(a);
	tokenizer_free(b);
	model_file_close(mf);
	free(cause);
}

static void check_vocab_from(void)
{
	const char *hf = testmodels_fixture("hf/qwen2-f32");
	char *hf_tok = path_join(hf, "tokenizer.json");
	char *st = tmp_path("vf-json-st"), *gg = tmp_path("vf-json.gguf"), *st2 = tmp_path("vf-gguf-st");
	const char *r1 = NULL;
	char dir[3800];
	char *r1_vocab;

	/* tokenizer.json -> copied (safetensors) and converted (GGUF); GGUF -> tokenizer.json. */
	if (tap_ok(write_model("tiny-qwen2", MKMODEL_SAFETENSORS, DTYPE_BF16, 1, 2, hf, 320, st) == 0,
	           "--vocab-from an HF folder, safetensors"))
		check_same_ids(st, hf_tok, SAMPLE, 0, "HF tokenizer copied");
	if (tap_ok(write_model("tiny-qwen2", MKMODEL_GGUF, DTYPE_Q8_0, 1, 2, hf_tok, 320, gg) == 0,
	           "--vocab-from a tokenizer.json, GGUF"))
		check_same_ids(gg, hf_tok, SAMPLE, TOKENIZE_SPECIAL, "tokenizer.json converted to GGUF");
	if (tap_ok(write_model("tiny-qwen2", MKMODEL_SAFETENSORS, DTYPE_F16, 1, 2, gg, 320, st2) == 0,
	           "--vocab-from a GGUF, safetensors"))
		check_same_ids(st2, hf_tok, SAMPLE, TOKENIZE_SPECIAL,
		               "GGUF tokenizer written as tokenizer.json");

	/* The real DeepSeek-R1 vocabulary, when setup.sh cached it: DESIGN.md §4's check vector. */
	testmodels_dir(dir, sizeof dir);
	r1_vocab = xasprintf("%s/tokenizers/deepseek-r1-qwen/vocab.gguf", dir);
	if (access(r1_vocab, R_OK) == 0)
		r1 = r1_vocab;
	else
		tap_skip("%s not cached", r1_vocab);
	if (r1) {
		static const int32_t want[] = {151646, 151644, 9707, 11, 1879, 0, 151645};
		static const char text[] = "<\xef\xbd\x9c"
		                           "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c><\xef\xbd\x9c"
		                           "User\xef\xbd\x9c>Hello, world!<\xef\xbd\x9c"
		                           "Assistant\xef\xbd\x9c>";
		char *r1_gguf = tmp_path("r1.gguf"), *r1_st = tmp_path("r1-st");
		const char *paths[] = {r1_gguf, r1_st};
		bool ok =
		        write_model("tiny-llama", MKMODEL_GGUF, DTYPE_Q4_0, 1, 2, r1, 151936, r1_gguf) == 0 &&
		        write_model("tiny-llama", MKMODEL_SAFETENSORS, DTYPE_BF16, 1, 2, r1, 151936, r1_st) ==
		                0;
		if (tap_ok(ok, "R1 vocabulary copied into GGUF and written as tokenizer.json")) {
			for (int k = 0; k < 2; k++) {
				char *cause = NULL;
				struct model_file *mf = model_file_open(paths[k], &cause);
				struct tokenizer *tok = mf ? tokenizer_from_model(mf, &cause) : NULL;
				size_t n = 0;
				int32_t *ids = tok ? encode(tok, text, TOKENIZE_SPECIAL, &n) : NULL;
				if (!tap_ok(ids && n == 7 && memcmp(ids, want, sizeof want) == 0,
				            "%s: DESIGN.md's R1 check vector", k ? "safetensors" : "GGUF")) {
					tap_diag("  %s; %zu ids:", cause ? cause : "", n);
					for (size_t i = 0; i < n && i < 10; i++)
						tap_diag("   %d", ids[i]);
				}
				free(ids);
				tokenizer_free(tok);
				model_file_close(mf);
				free(cause);
			}
		}
		free(r1_gguf);
		free(r1_st);
	}
	free(r1_vocab);
	free(hf_tok);
	free(st);
	free(gg);
	free(st2);
}

/* The synthetic tokenizers against the ids HF tokenizers gave for them. */
static void check_hf_tokenizer_fixture(void)
{
	json_error_t jerr;
	json_t *root = json_load_file(testmodels_fixture("mkmodel/tokenizers.json"), 0, &jerr), *entry;
	size_t i;

	if (!tap_ok(json_is_array(root), "fixture mkmodel/tokenizers.json loads")) {
		tap_diag("  %s", jerr.text);
		return;
	}
	json_array_foreach (root, i, entry) {
		const char *config = json_string_value(json_object_get(entry, "config"));
		const struct mkmodel_config *base = config ? mkmodel_config_builtin(config) : NULL;
		const json_t *texts = json_object_get(entry, "texts"), *t;
		size_t k;

		if (!base) {
			tap_ok(0, "fixture entry %zu names a built-in configuration", i);
			continue;
		}
		for (int fmt = 0; fmt < 2; fmt++) {
			struct mkmodel_config c = *base;
			struct mkmodel_params p = {.format = fmt ? MKMODEL_SAFETENSORS : MKMODEL_GGUF,
			                           .type = DTYPE_F16,
			                           .seed = 1,
			                           .n_threads = 2};
			struct mkmodel_report rep;
			char *cause = NULL, name[96], *path;
			struct model_file *mf = NULL;
			struct tokenizer *tok = NULL;
			size_t n_bad = 0, n_texts = 0;

			c.n_layers = 1;
			c.n_vocab = (uint32_t)json_integer_value(json_object_get(entry, "vocab"));
			snprintf(name, sizeof name, "hftok-%s%s", config, fmt ? "" : ".gguf");
			path = tmp_path(name);
			if (mkmodel_write(&c, &p, path, &rep, &cause) == 0 &&
			    (mf = model_file_open(path, &cause)))
				tok = tokenizer_from_model(mf, &cause);
			if (!tap_ok(tok != NULL, "%s synthetic tokenizer (%s) loads", config,
			            fmt ? "safetensors" : "GGUF")) {
				tap_diag("  %s", cause ? cause : "?");
			} else {
				json_array_foreach (texts, k, t) {
					const char *text = json_string_value(json_object_get(t, "text"));
					const json_t *want = json_object_get(t, "ids");
					size_t n = 0;
					int32_t *ids = encode(tok, text, TOKENIZE_SPECIAL, &n);
					bool same = ids && n == json_array_size(want);
					for (size_t j = 0; same && j < n; j++)
						same = ids[j] == json_integer_value(json_array_get(want, j));
					if (!same) {
						n_bad++;
						tap_diag("  '%s': %zu ids, HF %zu", text, n,
						         json_array_size(want));
					}
					n_texts++;
					free(ids);
				}
				tap_ok(n_bad == 0 && n_texts > 0,
				       "%s synthetic tokenizer (%s): HF tokenizers' ids for %zu texts",
				       config, fmt ? "safetensors" : "GGUF", n_texts);
			}
			tokenizer_free(tok);
			model_file_close(mf);
			free(cause);
			free(path);
		}
	}
	json_decref(root);
}

static void check_builtins(void)
{
	const struct mkmodel_config *r1 = mkmodel_config_builtin("r1-distill-qwen-1.5b");
	const struct mkmodel_config *l3 = mkmodel_config_builtin("llama-3-8b-instruct");
	const struct mkmodel_config *sm = mkmodel_config_builtin("smollm2-135m");
	char *cause = NULL;
	struct mkmodel_config c;
	struct mkmodel_params p = {.format = MKMODEL_SAFETENSORS, .type = DTYPE_Q4_0};
	struct mkmodel_report rep;
	char *path = tmp_path("refused");

	/* DESIGN.md §3's table. */
	tap_ok(r1 && r1->arch == MODEL_ARCH_QWEN2 && r1->n_embd == 1536 && r1->n_layers == 28 &&
	               r1->n_heads == 12 && r1->n_kv_heads == 2 && r1->head_dim == 128 && r1->n_ff == 8960 &&
	               r1->n_vocab == 151936 && r1->rope_theta == 10000.0f && r1->rms_eps == 1e-6f &&
	               r1->qkv_bias && !r1->tied_output,
	       "r1-distill-qwen-1.5b has DESIGN.md's shape");
	tap_ok(l3 && l3->arch == MODEL_ARCH_LLAMA && l3->n_embd == 4096 && l3->n_layers == 32 &&
	               l3->n_heads == 32 && l3->n_kv_heads == 8 && l3->n_ff == 14336 &&
	               l3->n_vocab == 128256 && l3->rope_theta == 500000.0f && l3->rms_eps == 1e-5f &&
	               !l3->qkv_bias && !l3->tied_output,
	       "llama-3-8b-instruct has DESIGN.md's shape");
	tap_ok(sm && sm->n_embd == 576 && sm->n_layers == 30 && sm->n_heads == 9 && sm->n_kv_heads == 3 &&
	               sm->head_dim == 64 && sm->n_ff == 1536 && sm->n_vocab == 49152 &&
	               sm->rope_theta == 100000.0f && sm->tied_output,
	       "smollm2-135m has DESIGN.md's shape");
	tap_ok(!mkmodel_config_builtin("gpt-5"), "an unknown name is not a configuration");

	c = *mkmodel_config_builtin("tiny-llama");
	TAP_EQ_INT(mkmodel_write(&c, &p, path, &rep, &cause), -1, "safetensors refuses Q4_0");
	TAP_ERR_HAS(cause, "safetensors", "the message says why");
	free(cause);
	cause = NULL;
	c.n_vocab = 100;
	p.type = DTYPE_F16;
	TAP_EQ_INT(mkmodel_write(&c, &p, path, &rep, &cause), -1,
	           "a vocabulary below 256 + specials is refused");
	TAP_ERR_HAS(cause, "at least", "the message gives the minimum");
	free(cause);
	free(path);
}

static void check_config_json(void)
{
	char *cause = NULL;
	struct mkmodel_config c;
	char *path = path_join(testmodels_fixture("hf/llama-bf16"), "config.json");

	if (tap_ok(mkmodel_config_from_json(path, &c, &cause) == 0,
	           "config.json of the llama fixture reads")) {
		tap_ok(c.arch == MODEL_ARCH_LLAMA && c.n_embd == 64 && c.n_layers == 2 && c.tied_output,
		       "its shape: llama, hidden %u, %u layers, tied %d", c.n_embd, c.n_layers,
		       c.tied_output);
	} else {
		tap_diag("  %s", cause);
	}
	free(cause);
	free(path);
}

int main(void)
{
	static const uint32_t gguf_types[] = {DTYPE_F32,  DTYPE_F16,  DTYPE_BF16, DTYPE_Q8_0,
	                                      DTYPE_Q4_0, DTYPE_Q4_1, DTYPE_Q5_0, DTYPE_Q5_1,
	                                      DTYPE_Q4_K, DTYPE_Q5_K, DTYPE_Q6_K};
	static const uint32_t st_types[] = {DTYPE_F32, DTYPE_F16, DTYPE_BF16};
	static const char *const configs[] = {"tiny-llama", "tiny-qwen2"};

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	check_builtins();
	check_config_json();
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof gguf_types / sizeof gguf_types[0]; i++)
			check_model(configs[k], MKMODEL_GGUF, gguf_types[i]);
		for (size_t i = 0; i < sizeof st_types / sizeof st_types[0]; i++)
			check_model(configs[k], MKMODEL_SAFETENSORS, st_types[i]);
		check_same_values(configs[k]);
		check_logits(configs[k]);
	}
	check_spread();
	check_determinism();
	check_vocab_from();
	check_hf_tokenizer_fixture();

	if (!getenv("DUET_KEEP_TMP")) {
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", tmpdir);
		free(cmd);
	}
	return tap_done();
}
