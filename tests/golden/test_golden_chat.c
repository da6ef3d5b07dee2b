/*
 * test_golden_chat.c — duet's chat formats against each model's own chat
 * template run by transformers (apply_chat_template) and tokenized by
 * Hugging Face `tokenizers`. Fixtures: tests/golden/fixtures/chat/NAME.json
 * from make_chat_fixtures.py (how the ids were made is described there).
 *
 * Per case: chat_render == the template's text, byte for byte (always run:
 * it needs only the template text, which the fixture carries), and
 * chat_tokenize == the reference ids (needs the tokenizer: the SmolLM2 GGUF
 * or the tokenizer.json files in the model cache; absent ones skip, or fail
 * under DUET_REQUIRE_MODELS=1). Also: the format detected from each
 * template, the default system prompt read from it, and for SmolLM2 that
 * the GGUF's template is the one the fixture was made from.
 */
#include "config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/chat.h"
#include "infer/json.h"
#include "infer/model.h"
#include "infer/tokenizer.h"
#include "infer/util.h"
#include "tests/tap.h"
#include "tests/testmodels.h"

static const struct {
	const char *name;
	enum chat_format format;
	const char *default_system; /* NULL: the template inserts none */
} models[] = {
        {"smollm2", CHAT_FORMAT_CHATML,
         "You are a helpful AI assistant named SmolLM, trained by Hugging Face"},
        {"deepseek-r1-qwen", CHAT_FORMAT_DEEPSEEK_R1, NULL},
        {"llama3", CHAT_FORMAT_LLAMA3, NULL},
        {"qwen25", CHAT_FORMAT_CHATML,
         "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."},
};

/* Text around byte i of s, escaped, for a failure message. */
static void show_context(const char *label, const char *s, size_t len, size_t i)
{
	struct buf b = {0};
	size_t from = i > 30 ? i - 30 : 0, to = i + 30 < len ? i + 30 : len;

	for (size_t k = from; k < to; k++) {
		unsigned char c = (unsigned char)s[k];
		if (k == i)
			buf_append(&b, "[", 1);
		if (c == '\n')
			buf_append(&b, "\\n", 2);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(&b, "\\x%02x", c);
		else
			buf_putc(&b, (char)c);
		if (k == i)
			buf_append(&b, "]", 1);
	}
	tap_diag("  %s: \"%s\"", label, buf_cstr(&b));
	buf_free(&b);
}

static void check_text(const char *got, const char *want, const char *name)
{
	size_t i = 0, gl = got ? strlen(got) : 0, wl = strlen(want);

	if (!got) {
		tap_ok(0, "%s: render", name);
		return;
	}
	while (i < gl && i < wl && got[i] == want[i])
		i++;
	if (!tap_ok(i == gl && i == wl, "%s: text", name)) {
		tap_diag("  first difference at byte %zu (lengths %zu, %zu)", i, gl, wl);
		show_context("got ", got, gl, i);
		show_context("want", want, wl, i);
	}
}

static void show_ids(const struct tokenizer *tok, const char *label, const int32_t *ids, size_t n, size_t i)
{
	struct buf b = {0};
	size_t from = i > 4 ? i - 4 : 0, to = i + 5 < n ? i + 5 : n;

	for (size_t k = from; k < to; k++) {
		size_t len = 0;
		const char *t = tokenizer_token_bytes(tok, ids[k], &len);
		buf_printf(&b, "%s%d", k == i ? " [" : " ", ids[k]);
		buf_append(&b, "'", 1);
		for (size_t j = 0; t && j < len; j++)
			if ((unsigned char)t[j] < 0x20)
				buf_printf(&b, "\\x%02x", (unsigned char)t[j]);
			else
				buf_putc(&b, t[j]);
		buf_append(&b, "'", 1);
		if (k == i)
			buf_append(&b, "]", 1);
	}
	tap_diag("  %s:%s", label, buf_cstr(&b));
	buf_free(&b);
}

static void check_ids(const struct tokenizer *tok, const struct tokens *got, const json_t *want,
                      const char *name)
{
	size_t n = json_array_size(want), i = 0;
	int32_t *w = xcalloc(n ? n : 1, sizeof *w);

	for (size_t k = 0; k < n; k++)
		w[k] = (int32_t)json_integer_value(json_array_get(want, k));
	while (i < got->n && i < n && got->ids[i] == w[i])
		i++;
	if (!tap_ok(i == got->n && i == n, "%s: ids", name)) {
		tap_diag("  first difference at id %zu (lengths %zu, %zu)", i, got->n, n);
		show_ids(tok, "got ", got->ids, got->n, i);
		show_ids(tok, "want", w, n, i);
	}
	free(w);
}

/* The tokenizer a fixture names, with the model file when it is a GGUF; NULL after a skip. */
static struct tokenizer *load_tokenizer(const json_t *spec, struct model_file **mf)
{
	const char *kind = json_string_value(json_object_get(spec, "kind"));
	const char *file = json_string_value(json_object_get(spec, "file"));
	const char *config = json_string_value(json_object_get(spec, "config"));
	const char *path;
	char *json_path = NULL, *cause = NULL;
	struct tokenizer *tok = NULL;

	*mf = NULL;
	if (!kind || !file || !(path = testmodels_path(file)))
		return NULL;
	if (strcmp(kind, "gguf") == 0) {
		*mf = model_file_open(path, &cause);
		if (*mf)
			tok = tokenizer_from_model(*mf, &cause);
	} else {
		json_path = xstrdup(path);
		const char *cfg = config ? testmodels_path(config) : NULL;
		tok = tokenizer_from_json_file(json_path, cfg, &cause);
	}
	if (!tok)
		tap_ok(0, "%s loads: %s", file, cause ? cause : "?");
	free(json_path);
	free(cause);
	return tok;
}

static void run_fixture(size_t m)
{
	char rel[256], *cause = NULL, *ds;
	json_t *doc, *cases;
	struct model_file *mf = NULL;
	struct tokenizer *tok;
	struct model_desc desc;
	const char *tmpl;

	snprintf(rel, sizeof rel, "chat/%s.json", models[m].name);
	doc = json_file_load(testmodels_fixture(rel), 4 << 20, 0, &cause);
	if (!doc) {
		tap_ok(0, "fixture %s: %s", rel, cause);
		free(cause);
		return;
	}
	tmpl = json_string_value(json_object_get(doc, "template"));
	cases = json_object_get(doc, "cases");
	if (!tmpl || !json_is_array(cases)) {
		tap_ok(0, "fixture %s has a template and cases", rel);
		json_decref(doc);
		return;
	}
	snprintf(rel, sizeof rel, "%s: the chat format detected from its template", models[m].name);
	TAP_EQ_STR(chat_format_name(chat_format_detect(tmpl)), chat_format_name(models[m].format), rel);
	ds = chat_default_system(tmpl);
	if (models[m].default_system)
		TAP_EQ_STR(ds, models[m].default_system,
		           "... its default system prompt, read from the template");
	else
		tap_ok(ds == NULL, "... it inserts no default system prompt");
	free(ds);

	memset(&desc, 0, sizeof desc);
	snprintf(desc.name, sizeof desc.name, "%s", models[m].name);
	desc.chat_template = tmpl;
	desc.chat_format = chat_format_detect(tmpl);

	tok = load_tokenizer(json_object_get(doc, "tokenizer"), &mf);
	if (mf) {
		const struct model_desc *d = model_file_desc(mf);
		TAP_EQ_STR(d->chat_template, tmpl, "the GGUF's chat template is the fixture's");
		TAP_EQ_INT(d->chat_format, models[m].format, "the GGUF's chat format is detected");
	}

	for (size_t i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i), *msgs = json_object_get(c, "messages");
		const char *cname = json_string_value(json_object_get(c, "name"));
		const char *text = json_string_value(json_object_get(c, "text"));
		struct chat_options o = {CHAT_FORMAT_UNKNOWN, json_is_true(json_object_get(c, "r1")),
		                         json_is_true(json_object_get(c, "add_generation_prompt")), NULL};
		struct chat chat = {0};
		char name[300], *got;
		bool merged = false;

		snprintf(name, sizeof name, "%s: %s", models[m].name, cname ? cname : "?");
		for (size_t k = 0; k < json_array_size(msgs); k++) {
			json_t *msg = json_array_get(msgs, k);
			const char *role = json_string_value(json_object_get(msg, "role"));
			json_t *content = json_object_get(msg, "content");
			enum chat_role r = strcmp(role, "system") == 0      ? CHAT_ROLE_SYSTEM
			                   : strcmp(role, "assistant") == 0 ? CHAT_ROLE_ASSISTANT
			                                                    : CHAT_ROLE_USER;
			chat_add(&chat, r, json_string_value(content), json_string_length(content));
		}
		got = chat_render(mf ? model_file_desc(mf) : &desc, &chat, &o, &cause);
		check_text(got, text ? text : "", name);
		free(got);
		if (tok) {
			struct tokens ids = {0};
			if (chat_tokenize(tok, mf ? model_file_desc(mf) : &desc, &chat, &o, &ids, &merged,
			                  &cause) < 0) {
				tap_ok(0, "%s: chat_tokenize: %s", name, cause);
				free(cause);
				cause = NULL;
			} else {
				check_ids(tok, &ids, json_object_get(c, "ids"), name);
			}
			tokens_free(&ids);
		}
		free(cause);
		cause = NULL;
		chat_free(&chat);
	}
	tokenizer_free(tok);
	model_file_close(mf);
	json_decref(doc);
}

int main(void)
{
	for (size_t m = 0; m < sizeof models / sizeof models[0]; m++)
		run_fixture(m);
	return tap_done();
}
