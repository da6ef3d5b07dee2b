/*
 * test_golden_hf.c — duet's Hugging Face folder loader against the reference
 * stack. The tiny random models under tests/golden/fixtures/hf/ were written
 * by transformers, and each folder's expected.txt records what transformers,
 * safetensors and torch read back from it (make_hf_fixtures.py): config
 * values, special ids, default sampling, the chat template's hash, and for
 * every tensor its HF and GGUF names, dtype, shape and the SHA-256 and sums
 * of its bytes. model_file_open must agree on all of it.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/dtype.h"
#include "infer/model.h"
#include "infer/util.h"
#include "tests/sha256.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

static const char *const folders[] = {"qwen2-f32", "llama-bf16", "qwen2-f16-sharded"};

static void hex_of(const void *data, size_t len, char hex[65])
{
	struct sha256 s;
	uint8_t digest[32];

	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, digest);
	sha256_hex(digest, hex);
}

/* The value as f64, from bytes that may be unaligned. */
static double elem_f64(uint32_t type, const unsigned char *p)
{
	float f;
	uint16_t h;

	if (type == DTYPE_F32) {
		memcpy(&f, p, 4);
		return f;
	}
	memcpy(&h, p, 2);
	return type == DTYPE_F16 ? dtype_f16_to_f32(h) : dtype_bf16_to_f32(h);
}

static const char *dtype_st_name(uint32_t type)
{
	return type == DTYPE_F32 ? "F32" : type == DTYPE_F16 ? "F16" : type == DTYPE_BF16 ? "BF16" : "?";
}

static void check_desc(const struct model_desc *d, const char *key, const char *want, const char *folder)
{
	char got[160];
	char name[200];

	snprintf(name, sizeof name, "%s: desc.%s", folder, key);
	if (strcmp(key, "rope_theta") == 0 || strcmp(key, "rms_eps") == 0 ||
	    strcmp(key, "temperature") == 0 || strcmp(key, "top_p") == 0) {
		float v = strcmp(key, "rope_theta") == 0    ? d->rope_theta
		          : strcmp(key, "rms_eps") == 0     ? d->rms_eps
		          : strcmp(key, "temperature") == 0 ? d->temperature
		                                            : d->top_p;
		/* The reference writes Python's float repr; duet holds a float. */
		if (!tap_ok(v == (float)strtod(want, NULL), "%s", name))
			tap_diag("  got %.9g, want %s", v, want);
		return;
	}
	if (strcmp(key, "arch") == 0)
		snprintf(got, sizeof got, "%s", model_arch_name(d->arch));
	else if (strcmp(key, "name") == 0)
		snprintf(got, sizeof got, "%s", d->name);
	else if (strcmp(key, "tokenizer_model") == 0)
		snprintf(got, sizeof got, "%s", d->tokenizer_model);
	else if (strcmp(key, "n_embd") == 0)
		snprintf(got, sizeof got, "%u", d->n_embd);
	else if (strcmp(key, "n_layers") == 0)
		snprintf(got, sizeof got, "%u", d->n_layers);
	else if (strcmp(key, "n_ff") == 0)
		snprintf(got, sizeof got, "%u", d->n_ff);
	else if (strcmp(key, "n_heads") == 0)
		snprintf(got, sizeof got, "%u", d->n_heads);
	else if (strcmp(key, "n_kv_heads") == 0)
		snprintf(got, sizeof got, "%u", d->n_kv_heads);
	else if (strcmp(key, "head_dim") == 0)
		snprintf(got, sizeof got, "%u", d->head_dim);
	else if (strcmp(key, "n_vocab") == 0)
		snprintf(got, sizeof got, "%u", d->n_vocab);
	else if (strcmp(key, "n_ctx_train") == 0)
		snprintf(got, sizeof got, "%u", d->n_ctx_train);
	else if (strcmp(key, "qkv_bias") == 0)
		snprintf(got, sizeof got, "%d", d->qkv_bias);
	else if (strcmp(key, "tied_output") == 0)
		snprintf(got, sizeof got, "%d", d->tied_output);
	else if (strcmp(key, "add_bos") == 0)
		snprintf(got, sizeof got, "%d", d->add_bos);
	else if (strcmp(key, "bos_id") == 0)
		snprintf(got, sizeof got, "%d", d->bos_id);
	else if (strcmp(key, "eos_id") == 0)
		snprintf(got, sizeof got, "%d", d->eos_id);
	else if (strcmp(key, "pad_id") == 0)
		snprintf(got, sizeof got, "%d", d->pad_id);
	else if (strcmp(key, "top_k") == 0)
		snprintf(got, sizeof got, "%d", d->top_k);
	else {
		tap_ok(0, "%s: unknown key in expected.txt", name);
		return;
	}
	TAP_EQ_STR(got, want, name);
}

/* One "tensor HF GGUF DTYPE SHAPE SHA SUM ABS" line. */
static void check_tensor(const struct model_file *mf, const char *folder, char *line)
{
	char hf[256], gguf[256], dt[16], shape[64], sha[80], hex[65];
	double want_sum, want_abs, sum = 0, abs_sum = 0;
	uint64_t dims[TENSOR_MAX_DIMS];
	const struct tensor *t;
	unsigned n_dims = 0, i;
	uint64_t n, es;
	char *tok, *save = NULL;
	bool shape_ok;

	if (sscanf(line, "tensor %255s %255s %15s %63s %79s %lf %lf", hf, gguf, dt, shape, sha, &want_sum,
	           &want_abs) != 7) {
		tap_ok(0, "%s: malformed line in expected.txt: %s", folder, line);
		return;
	}
	for (tok = strtok_r(shape, "x", &save); tok && n_dims < TENSOR_MAX_DIMS;
	     tok = strtok_r(NULL, "x", &save))
		dims[n_dims++] = strtoull(tok, NULL, 10);

	t = model_file_find(mf, gguf);
	if (!tap_ok(t != NULL, "%s: %s is exposed as %s", folder, hf, gguf))
		return;
	TAP_EQ_STR(dtype_st_name(t->type), dt, "  dtype");
	shape_ok = t->n_dims == n_dims;
	for (i = 0; shape_ok && i < n_dims; i++)
		shape_ok = t->ne[i] == dims[n_dims - 1 - i];
	if (!tap_ok(shape_ok, "  ne is the reversed shape"))
		tap_diag("  got n_dims %u ne {%llu, %llu, %llu, %llu}", t->n_dims,
		         (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
		         (unsigned long long)t->ne[2], (unsigned long long)t->ne[3]);
	hex_of(t->data, t->n_bytes, hex);
	TAP_EQ_STR(hex, sha, "  bytes' SHA-256");

	es = t->type == DTYPE_F32 ? 4 : 2;
	n = t->n_bytes / es;
	for (uint64_t k = 0; k < n; k++) {
		double v = elem_f64(t->type, (const unsigned char *)t->data + k * es);
		sum += v;
		abs_sum += fabs(v);
	}
	if (!tap_ok(fabs(sum - want_sum) <= 1e-9 * (want_abs + 1) &&
	                    fabs(abs_sum - want_abs) <= 1e-9 * (want_abs + 1),
	            "  sums of the values as f32"))
		tap_diag("  got sum %.17g abs %.17g, want %.17g %.17g", sum, abs_sum, want_sum, want_abs);
}

static void check_folder(const char *folder)
{
	char rel[128], *dir, *exp_path, *text, *line, *save = NULL, *cause = NULL;
	struct model_file *mf;
	const struct model_desc *d;
	size_t len;

	snprintf(rel, sizeof rel, "hf/%s", folder);
	dir = xstrdup(testmodels_fixture(rel));
	exp_path = path_join(dir, "expected.txt");
	text = file_read_all(exp_path, 1 << 20, &len, &cause);
	if (!tap_ok(text != NULL, "%s: expected.txt readable", folder)) {
		tap_diag("  %s", cause);
		goto out;
	}
	mf = model_file_open(dir, &cause);
	if (!tap_ok(mf != NULL, "%s: model_file_open", folder)) {
		tap_diag("  %s", cause);
		goto out;
	}
	d = model_file_desc(mf);
	TAP_EQ_INT(model_file_source(mf), MODEL_SOURCE_SAFETENSORS, "  source is safetensors");
	TAP_EQ_INT(d->rope_layout, ROPE_LAYOUT_HALF, "  HF weights rotate half");
	tap_ok(model_file_tokenizer_json(mf) != NULL, "  tokenizer.json found");

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64], val[160];
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "desc ", 5) == 0 && sscanf(line, "desc %63s %159s", key, val) == 2) {
			check_desc(d, key, val, folder);
		} else if (strncmp(line, "stop ", 5) == 0) {
			int32_t id = (int32_t)strtol(line + 5, NULL, 10);
			bool found = false;
			for (uint32_t i = 0; i < d->n_stop_ids; i++)
				found = found || d->stop_ids[i] == id;
			tap_ok(found, "%s: %d is a stop id", folder, id);
		} else if (strncmp(line, "template_sha256 ", 16) == 0) {
			char hex[65] = "(none)";
			if (d->chat_template)
				hex_of(d->chat_template, strlen(d->chat_template), hex);
			TAP_EQ_STR(hex, line + 16, "  chat template text");
		} else if (strncmp(line, "tensor ", 7) == 0) {
			check_tensor(mf, folder, line);
		} else if (strncmp(line, "n_tensors ", 10) == 0) {
			TAP_EQ_INT(model_file_n_tensors(mf), strtol(line + 10, NULL, 10),
			           "  no tensors beyond the reference's");
		} else {
			tap_ok(0, "%s: unknown line in expected.txt: %s", folder, line);
		}
	}
	model_file_close(mf);
out:
	free(cause);
	free(text);
	free(exp_path);
	free(dir);
}

int main(void)
{
	for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
		check_folder(folders[i]);
	return tap_done();
}
