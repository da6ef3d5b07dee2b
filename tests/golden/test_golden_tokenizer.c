/*
 * test_golden_tokenizer.c — duet's tokenizer against two independent
 * references on the whole tokenizer corpus (tests/golden/corpus/
 * tokenizer_corpus.jsonl): Hugging Face `tokenizers` ids, which duet must
 * reproduce exactly, and llama.cpp ids, whose agreement is only reported.
 * Fixtures: tests/golden/fixtures/tok/NAME.jsonl, written by
 * make_tokenizer_fixtures.py (see tests/golden/README.md).
 *
 * Per tokenizer: user-mode ids (no added token matched) == hf, special-mode
 * ids (TOKENIZE_SPECIAL) == hf_special, decode(hf) == NFC(text) (or text)
 * where HF round-trips, streaming detok == whole decode, BOS/EOS/add_bos and
 * HF's add_special_tokens=True ids for "Hello, world!". The JSON tokenizers
 * are also read through their vocab.gguf twins (duet's GGUF path).
 * Tokenizer files live in the model cache (setup.sh builds them); missing
 * ones skip, or fail under DUET_REQUIRE_MODELS=1.
 */
#include "config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "infer/gguf.h"
#include "infer/model.h"
#include "infer/tokenizer.h"
#include "infer/tokenizer_impl.h" /* tokenizer_from_gguf for tensor-less GGUFs */
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

#define MAX_SHOWN 5 /* failing strings printed per check */

struct corpus_entry {
	char *text; /* may contain NUL: use len */
	size_t len;
	char *cat;
};

struct corpus {
	struct corpus_entry *e;
	size_t n;
};

struct id_list {
	int32_t *ids;
	size_t n;
};

struct fixture_entry {
	struct id_list hf, hf_special, llama, llama_special;
	bool roundtrip;
	bool roundtrip_special;
};

struct fixture {
	json_t *meta;
	struct fixture_entry *e; /* indexed by corpus id */
	size_t n;
};

static char *srcdir_path(const char *rel)
{
	const char *top = getenv("top_srcdir");
	return xasprintf("%s/%s", top && *top ? top : ".", rel);
}

/* Calls line_fn for every non-empty line; returns the number of lines or -1. */
static long jsonl_each(const char *path, int (*line_fn)(json_t *v, void *arg), void *arg)
{
	FILE *f = fopen(path, "rb");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long n = 0, lineno = 0;

	if (!f) {
		tap_diag("%s: cannot open", path);
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		json_error_t err;
		json_t *v;
		lineno++;
		if (len == 1 && line[0] == '\n')
			continue;
		v = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &err);
		if (!v || line_fn(v, arg) < 0) {
			tap_diag("%s:%ld: %s", path, lineno, v ? "unexpected content" : err.text);
			json_decref(v);
			n = -1;
			break;
		}
		json_decref(v);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

static int corpus_line(json_t *v, void *arg)
{
	struct corpus *c = arg;
	json_t *id = json_object_get(v, "id"), *text = json_object_get(v, "text"),
	       *cat = json_object_get(v, "cat");
	struct corpus_entry *e;

	if (!json_is_integer(id) || !json_is_string(text) || !json_is_string(cat) ||
	    json_integer_value(id) != (json_int_t)c->n)
		return -1;
	c->e = xreallocarray(c->e, c->n + 1, sizeof *c->e);
	e = &c->e[c->n++];
	e->len = json_string_length(text);
	e->text = xmalloc(e->len + 1);
	memcpy(e->text, json_string_value(text), e->len + 1);
	e->cat = xstrdup(json_string_value(cat));
	return 0;
}

static int id_list_from_json(const json_t *a, struct id_list *out)
{
	size_t i;
	json_t *x;

	if (!json_is_array(a))
		return -1;
	out->n = json_array_size(a);
	out->ids = xcalloc(out->n ? out->n : 1, sizeof *out->ids);
	json_array_foreach (a, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > INT32_MAX)
			return -1;
		out->ids[i] = (int32_t)json_integer_value(x);
	}
	return 0;
}

struct fixture_load {
	struct fixture *fx;
	size_t n_corpus;
};

static int fixture_line(json_t *v, void *arg)
{
	struct fixture_load *fl = arg;
	struct fixture *fx = fl->fx;
	json_t *meta = json_object_get(v, "meta"), *id = json_object_get(v, "id");
	struct fixture_entry *e;
	json_int_t i;

	if (meta) {
		if (fx->meta || !json_is_object(meta))
			return -1;
		fx->meta = json_incref(meta);
		return 0;
	}
	if (!json_is_integer(id))
		return -1;
	i = json_integer_value(id);
	if (i < 0 || (size_t)i >= fl->n_corpus || (size_t)i != fx->n)
		return -1;
	e = &fx->e[fx->n++];
	if (id_list_from_json(json_object_get(v, "hf"), &e->hf) < 0 ||
	    id_list_from_json(json_object_get(v, "hf_special"), &e->hf_special) < 0 ||
	    id_list_from_json(json_object_get(v, "llama"), &e->llama) < 0 ||
	    id_list_from_json(json_object_get(v, "llama_special"), &e->llama_special) < 0)
		return -1;
	e->roundtrip = json_is_true(json_object_get(v, "roundtrip"));
	e->roundtrip_special = json_is_true(json_object_get(v, "roundtrip_special"));
	return 0;
}

static void fixture_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->n; i++) {
		free(fx->e[i].hf.ids);
		free(fx->e[i].hf_special.ids);
		free(fx->e[i].llama.ids);
		free(fx->e[i].llama_special.ids);
	}
	free(fx->e);
	json_decref(fx->meta);
	memset(fx, 0, sizeof *fx);
}

/* The text quoted for a diagnostic line: controls and quotes escaped, cut at max bytes. */
static void text_escape(struct buf *b, const char *s, size_t len, size_t max)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			buf_printf(b, "\\n");
		else if (c == '\r')
			buf_printf(b, "\\r");
		else if (c == '\t')
			buf_printf(b, "\\t");
		else if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_printf(b, len > max ? "\"… (%zu bytes)" : "\"", len);
}

static size_t first_difference(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	size_t i = 0;
	while (i < na && i < nb && a[i] == b[i])
		i++;
	return i;
}

/* Ids from `from` to at most 24 past the first difference, "…" where cut. */
static void ids_print(struct buf *b, const int32_t *ids, size_t n, size_t from)
{
	size_t to = from + 24 < n ? from + 24 : n;
	buf_printf(b, "(%zu) [%s", n, from ? "… " : "");
	for (size_t i = from; i < to; i++)
		buf_printf(b, "%s%d", i > from ? " " : "", ids[i]);
	buf_printf(b, "%s]", to < n ? " …" : "");
}

static void show_mismatch(const struct corpus_entry *ce, size_t id, const char *what_a, const int32_t *a,
                          size_t na, const char *what_b, const int32_t *b, size_t nb)
{
	struct buf line = {0};
	size_t d = first_difference(a, na, b, nb), from = d > 4 ? d - 4 : 0;

	buf_printf(&line, "  id %zu (%s) ", id, ce->cat);
	text_escape(&line, ce->text, ce->len, 160);
	tap_diag("%s", buf_cstr(&line));
	line.len = 0;
	buf_printf(&line, "    first difference at token %zu; %s ", d, what_a);
	ids_print(&line, a, na, from);
	tap_diag("%s", buf_cstr(&line));
	line.len = 0;
	buf_printf(&line, "    %*s%s ", (int)strlen(what_a) - (int)strlen(what_b), "", what_b);
	ids_print(&line, b, nb, from);
	tap_diag("%s", buf_cstr(&line));
	buf_free(&line);
}

static bool ids_equal(const struct tokens *t, const struct id_list *l)
{
	return t->n == l->n && (l->n == 0 || memcmp(t->ids, l->ids, l->n * sizeof *l->ids) == 0);
}

static bool lists_equal(const struct id_list *a, const struct id_list *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->ids, b->ids, a->n * sizeof *a->ids) == 0);
}

/* NFC of text (utf8proc, which also backs the tokenizer — but here only to
 * state HF's round-trip contract; the ids themselves come from HF). */
static char *nfc(const char *s, size_t len, size_t *out_len)
{
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &out,
	                                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0)
		return NULL;
	*out_len = (size_t)n;
	return (char *)out;
}

static void check_encode(const struct tokenizer *tok, const char *name, const struct corpus *c,
                         const struct fixture *fx, bool special)
{
	size_t bad = 0, agree_llama = 0, ref_agree = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct corpus_entry *ce = &c->e[i];
		const struct fixture_entry *fe = &fx->e[i];
		const struct id_list *want = special ? &fe->hf_special : &fe->hf;
		const struct id_list *ll = special ? &fe->llama_special : &fe->llama;
		struct tokens got = {0};
		char *cause = NULL;

		if (tokenizer_encode(tok, ce->text, ce->len, special ? TOKENIZE_SPECIAL : 0, &got, &cause) <
		    0) {
			if (++bad <= MAX_SHOWN)
				tap_diag("  id %zu: encode failed: %s", i, cause ? cause : "(no message)");
			free(cause);
			tokens_free(&got);
			continue;
		}
		if (!ids_equal(&got, want) && ++bad <= MAX_SHOWN)
			show_mismatch(ce, i, "duet", got.ids, got.n, "hf", want->ids, want->n);
		agree_llama += ids_equal(&got, ll);
		ref_agree += lists_equal(want, ll);
		tokens_free(&got);
	}
	tap_ok(bad == 0, "%s: %s-mode ids equal Hugging Face's on %zu/%zu strings", name,
	       special ? "special" : "user", c->n - bad, c->n);
	tap_diag("%s %s mode: duet agrees with llama.cpp on %zu/%zu strings (HF and llama.cpp agree on %zu; "
	         "see fixtures/tok/DISAGREEMENTS.md)",
	         name, special ? "special" : "user", agree_llama, c->n, ref_agree);
}

static void check_decode(const struct tokenizer *tok, const char *name, const struct corpus *c,
                         const struct fixture *fx, bool nfc_norm, bool special)
{
	size_t bad = 0, bad_stream = 0, n_checked = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct corpus_entry *ce = &c->e[i];
		const struct fixture_entry *fe = &fx->e[i];
		const struct id_list *ids = special ? &fe->hf_special : &fe->hf;
		struct buf stream = {0};
		struct detok d;
		char *cause = NULL, *want = NULL, *got;
		size_t got_len = 0, want_len = ce->len;

		got = tokenizer_decode(tok, ids->ids, ids->n, special, &got_len, &cause);
		if (!got) {
			if (++bad <= MAX_SHOWN)
				tap_diag("  id %zu: decode failed: %s", i, cause ? cause : "(no message)");
			free(cause);
			continue;
		}
		if (special ? fe->roundtrip_special : fe->roundtrip) {
			n_checked++;
			want = nfc_norm ? nfc(ce->text, ce->len, &want_len) : ce->text;
			if (!want || got_len != want_len || memcmp(got, want, want_len) != 0) {
				if (++bad <= MAX_SHOWN) {
					struct buf line = {0};
					buf_printf(&line, "  id %zu (%s): decoded ", i, ce->cat);
					text_escape(&line, got, got_len, 160);
					buf_printf(&line, ", want ");
					text_escape(&line, want ? want : "", want ? want_len : 0, 160);
					tap_diag("%s", buf_cstr(&line));
					buf_free(&line);
				}
			}
			if (want != ce->text)
				free(want);
		}

		detok_init(&d);
		for (size_t k = 0; k < ids->n; k++)
			detok_push(tok, &d, ids->ids[k], special, &stream);
		detok_flush(&d, &stream);
		if ((stream.len != got_len || (got_len && memcmp(stream.data, got, got_len) != 0)) &&
		    ++bad_stream <= MAX_SHOWN) {
			struct buf line = {0};
			buf_printf(&line, "  id %zu (%s): streamed ", i, ce->cat);
			text_escape(&line, stream.data ? stream.data : "", stream.len, 160);
			buf_printf(&line, ", decode ");
			text_escape(&line, got, got_len, 160);
			tap_diag("%s", buf_cstr(&line));
			buf_free(&line);
		}
		buf_free(&stream);
		free(got);
	}
	tap_ok(bad == 0, "%s: decode(%s ids) == %s on %zu/%zu strings where HF round-trips", name,
	       special ? "hf_special" : "hf", nfc_norm ? "NFC(text)" : "text",
	       bad < n_checked ? n_checked - bad : 0, n_checked);
	tap_ok(bad_stream == 0, "%s: streaming detok of %s ids equals whole decode on %zu/%zu strings", name,
	       special ? "hf_special" : "hf", c->n - bad_stream, c->n);
}

static void check_meta(const struct tokenizer *tok, const char *name, const struct fixture *fx)
{
	json_t *m = fx->meta;
	struct tokens got = {0};
	struct id_list want = {0};
	const char *hello = json_string_value(json_object_get(m, "hello"));
	char *cause = NULL;
	int32_t bos = (int32_t)json_integer_value(json_object_get(m, "bos"));
	int32_t eos = (int32_t)json_integer_value(json_object_get(m, "eos"));
	bool add_bos = json_is_true(json_object_get(m, "add_bos"));

	if (!tap_ok(tokenizer_bos(tok) == bos && tokenizer_eos(tok) == eos &&
	                    tokenizer_add_bos(tok) == add_bos,
	            "%s: bos %d eos %d add_bos %d as the reference says", name, bos, eos, add_bos))
		tap_diag("  got bos %d eos %d add_bos %d", tokenizer_bos(tok), tokenizer_eos(tok),
		         tokenizer_add_bos(tok));
	if (!hello || id_list_from_json(json_object_get(m, "hello_add_special"), &want) < 0) {
		tap_ok(0, "%s: fixture meta has hello/hello_add_special", name);
		free(want.ids);
		return;
	}
	if (tokenizer_encode(tok, hello, strlen(hello), TOKENIZE_ADD_BOS, &got, &cause) < 0) {
		tap_ok(0, "%s: encode \"%s\" with TOKENIZE_ADD_BOS: %s", name, hello, cause);
		free(cause);
	} else if (!tap_ok(ids_equal(&got, &want),
	                   "%s: \"%s\" with TOKENIZE_ADD_BOS equals HF's add_special_tokens=True", name,
	                   hello)) {
		struct corpus_entry ce = {(char *)hello, strlen(hello), (char *)"meta"};
		show_mismatch(&ce, 0, "duet", got.ids, got.n, "hf", want.ids, want.n);
	}
	tokens_free(&got);
	free(want.ids);
}

/* DESIGN.md §4's check vector for DeepSeek-R1-Distill-Qwen. */
static void check_design_vector(const struct tokenizer *tok, const char *name)
{
	static const char text[] = "<｜begin▁of▁sentence｜><｜User｜>Hello, world!<｜Assistant｜>";
	static const int32_t want[] = {151646, 151644, 9707, 11, 1879, 0, 151645};
	struct id_list w = {(int32_t *)want, sizeof want / sizeof want[0]};
	struct tokens got = {0};
	char *cause = NULL;

	if (tokenizer_encode(tok, text, strlen(text), TOKENIZE_SPECIAL, &got, &cause) < 0) {
		tap_ok(0, "%s: DESIGN.md check vector encodes: %s", name, cause);
		free(cause);
		return;
	}
	if (!tap_ok(ids_equal(&got, &w), "%s: DESIGN.md check vector", name)) {
		struct corpus_entry ce = {(char *)text, strlen(text), (char *)"design"};
		show_mismatch(&ce, 0, "duet", got.ids, got.n, "want", want, w.n);
	}
	tokens_free(&got);
}

struct tok_case {
	const char *name;       /* for messages */
	const char *fixture;    /* fixtures/tok/FIXTURE.jsonl */
	const char *model;      /* a model file in the cache (model_file_open), or NULL */
	const char *vocab_gguf; /* a tensor-less GGUF in the cache (gguf_open), or NULL */
	const char *json;       /* tokenizer.json in the cache, or NULL */
	const char *config;     /* tokenizer_config.json beside it */
};

/*
 * The JSON tokenizers' vocab.gguf twins (build_tokenizers.py) carry the same
 * vocabulary as GGUF metadata, so duet's GGUF path for the qwen2,
 * deepseek-r1-qwen and llama-bpe pre-tokenizers is held to the same ids.
 */
static const struct tok_case cases[] = {
        {"smollm2", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", NULL, NULL, NULL},
        {"qwen2", "qwen2", NULL, NULL, "tokenizers/qwen2/tokenizer.json",
         "tokenizers/qwen2/tokenizer_config.json"},
        {"qwen2.gguf", "qwen2", NULL, "tokenizers/qwen2/vocab.gguf", NULL, NULL},
        {"deepseek-r1-qwen", "deepseek-r1-qwen", NULL, NULL, "tokenizers/deepseek-r1-qwen/tokenizer.json",
         "tokenizers/deepseek-r1-qwen/tokenizer_config.json"},
        {"deepseek-r1-qwen.gguf", "deepseek-r1-qwen", NULL, "tokenizers/deepseek-r1-qwen/vocab.gguf", NULL,
         NULL},
        {"llama3", "llama3", NULL, NULL, "tokenizers/llama3/tokenizer.json",
         "tokenizers/llama3/tokenizer_config.json"},
        {"llama3.gguf", "llama3", NULL, "tokenizers/llama3/vocab.gguf", NULL, NULL},
};

static void run_case(const struct tok_case *tc, const struct corpus *c)
{
	struct fixture fx = {0};
	struct fixture_load fl = {&fx, c->n};
	struct model_file *mf = NULL;
	struct gguf *g = NULL;
	struct tokenizer *tok = NULL;
	char *fixture_path, *rel, *cause = NULL, *config = NULL;
	const char *path;
	long n_lines;
	bool nfc_norm;

	path = testmodels_path(tc->model ? tc->model : tc->vocab_gguf ? tc->vocab_gguf : tc->json);
	if (!path)
		return;
	if (tc->config) {
		char dir[3800];
		testmodels_dir(dir, sizeof dir);
		config = xasprintf("%s/%s", dir, tc->config);
	}
	rel = xasprintf("tests/golden/fixtures/tok/%s.jsonl", tc->fixture);
	fixture_path = srcdir_path(rel);
	free(rel);
	fx.e = xcalloc(c->n ? c->n : 1, sizeof *fx.e);
	n_lines = jsonl_each(fixture_path, fixture_line, &fl);
	if (!tap_ok(n_lines >= 0 && fx.meta && fx.n == c->n &&
	                    json_integer_value(json_object_get(fx.meta, "n")) == (json_int_t)c->n,
	            "%s: fixture %s covers the %zu corpus strings", tc->name, fixture_path, c->n))
		goto done;

	if (tc->model) {
		mf = model_file_open(path, &cause);
		if (mf)
			tok = tokenizer_from_model(mf, &cause);
	} else if (tc->vocab_gguf) {
		g = gguf_open(path, &cause);
		if (g)
			tok = tokenizer_from_gguf(g, &cause);
	} else {
		tok = tokenizer_from_json_file(path, config, &cause);
	}
	if (!tap_ok(tok != NULL, "%s: tokenizer loads from %s", tc->name, path)) {
		tap_diag("  %s", cause ? cause : "(no message)");
		goto done;
	}
	nfc_norm = json_is_true(json_object_get(fx.meta, "nfc"));
	if (!tap_ok(tokenizer_normalizes_nfc(tok) == nfc_norm,
	            "%s: normalises NFC: %s, as the reference does", tc->name, nfc_norm ? "yes" : "no"))
		tap_diag("  got %s", tokenizer_normalizes_nfc(tok) ? "yes" : "no");

	check_encode(tok, tc->name, c, &fx, false);
	check_encode(tok, tc->name, c, &fx, true);
	check_decode(tok, tc->name, c, &fx, nfc_norm, false);
	check_decode(tok, tc->name, c, &fx, nfc_norm, true);
	check_meta(tok, tc->name, &fx);
	if (strcmp(tc->fixture, "deepseek-r1-qwen") == 0)
		check_design_vector(tok, tc->name);
done:
	free(cause);
	tokenizer_free(tok); /* before the files whose strings it borrows */
	model_file_close(mf);
	gguf_close(g);
	fixture_free(&fx);
	free(fixture_path);
	free(config);
}

int main(void)
{
	struct corpus c = {0};
	char *corpus_path = srcdir_path("tests/golden/corpus/tokenizer_corpus.jsonl");
	long n = jsonl_each(corpus_path, corpus_line, &c);

	if (!tap_ok(n > 0 && (size_t)n == c.n, "corpus %s reads (%zu strings)", corpus_path, c.n))
		return tap_done();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i], &c);
	for (size_t i = 0; i < c.n; i++) {
		free(c.e[i].text);
		free(c.e[i].cat);
	}
	free(c.e);
	free(corpus_path);
	return tap_done();
}
