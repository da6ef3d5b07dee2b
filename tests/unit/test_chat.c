/*
 * test_chat.c — chat formats and the R1 conventions on hand-made
 * conversations (expected text written out from the templates' rules in
 * DESIGN.md §5; the golden test compares with the real templates), \boxed{}
 * extraction, answer offsets, default system prompts, and chat_tokenize on
 * a tiny byte-level tokenizer written here (id = byte value, no merges), so
 * which text became special tokens is visible id by id.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/chat.h"
#include "infer/util.h"
#include "tests/tap.h"

#define R1_BOS       "<｜begin▁of▁sentence｜>"
#define R1_EOS       "<｜end▁of▁sentence｜>"
#define R1_USER      "<｜User｜>"
#define R1_ASSISTANT "<｜Assistant｜>"

static struct model_desc desc_for(enum chat_format f, const char *template_text)
{
	struct model_desc d;
	memset(&d, 0, sizeof d);
	snprintf(d.name, sizeof d.name, "test");
	d.chat_format = f;
	d.chat_template = template_text;
	return d;
}

static char *render(enum chat_format f, const struct chat *c, bool r1, bool gen, const char *default_system)
{
	struct model_desc d = desc_for(f, NULL);
	struct chat_options o = {CHAT_FORMAT_UNKNOWN, r1, gen, default_system};
	char *cause = NULL, *s = chat_render(&d, c, &o, &cause);
	if (!s) {
		tap_diag("chat_render failed: %s", cause ? cause : "?");
		free(cause);
	}
	return s;
}

#define CHECK_RENDER(f, c, r1, gen, sys, want, name)                                                         \
	do {                                                                                                 \
		char *got_ = render((f), (c), (r1), (gen), (sys));                                           \
		TAP_EQ_STR(got_, (want), name);                                                              \
		free(got_);                                                                                  \
	} while (0)

static void add(struct chat *c, enum chat_role role, const char *text)
{
	chat_add(c, role, text, strlen(text));
}

static void test_basics(void)
{
	struct chat c = {0};

	TAP_EQ_INT(chat_format_parse("deepseek-r1"), CHAT_FORMAT_DEEPSEEK_R1, "parse deepseek-r1");
	TAP_EQ_INT(chat_format_parse("llama3"), CHAT_FORMAT_LLAMA3, "parse llama3");
	TAP_EQ_INT(chat_format_parse("chatml"), CHAT_FORMAT_CHATML, "parse chatml");
	TAP_EQ_INT(chat_format_parse("mistral"), CHAT_FORMAT_UNKNOWN, "an unknown name is UNKNOWN");
	TAP_EQ_INT(chat_format_parse(NULL), CHAT_FORMAT_UNKNOWN, "NULL is UNKNOWN");

	add(&c, CHAT_ROLE_USER, "one");
	add(&c, CHAT_ROLE_ASSISTANT, "two");
	chat_add(&c, CHAT_ROLE_USER, "three and more", 5);
	TAP_EQ_INT(c.n, 3, "chat_add appends");
	TAP_EQ_STR(c.msgs[2].content, "three", "chat_add copies len bytes");
	chat_drop_front(&c, 2);
	TAP_EQ_INT(c.n, 1, "chat_drop_front drops the oldest");
	TAP_EQ_STR(c.msgs[0].content, "three", "... and keeps the rest in order");
	chat_drop_front(&c, 5);
	TAP_EQ_INT(c.n, 0, "dropping more than there is empties it");
	chat_free(&c);
	chat_free(&c);
	chat_free(NULL);

	char *cause = NULL;
	struct model_desc d = desc_for(CHAT_FORMAT_UNKNOWN, NULL);
	struct chat_options o = {CHAT_FORMAT_UNKNOWN, false, true, NULL};
	add(&c, CHAT_ROLE_USER, "x");
	tap_ok(chat_render(&d, &c, &o, &cause) == NULL, "an unknown format is refused");
	TAP_ERR_HAS(cause, "unknown chat format", "... with a message");
	free(cause);
	chat_free(&c);
}

static void test_answer_offset(void)
{
	const char *a = "<think>\nhmm\n</think>\n\nYes.";
	const char *b = "x</think>y</think>z";

	TAP_EQ_INT(chat_answer_offset(a, strlen(a)), strlen(a) - strlen("\n\nYes."),
	           "answer starts after </think>");
	TAP_EQ_INT(chat_answer_offset(b, strlen(b)), strlen(b) - 1, "after the last </think>");
	TAP_EQ_INT(chat_answer_offset("plain", 5), 0, "no </think>: 0");
	TAP_EQ_INT(chat_answer_offset(b, 8), 0, "len bounds the search");
	TAP_EQ_INT(chat_answer_offset("", 0), 0, "empty text");
}

static void boxed(const char *text, const char *want, const char *name)
{
	char *got = chat_extract_boxed(text, strlen(text));
	if (want)
		TAP_EQ_STR(got, want, name);
	else if (!tap_ok(got == NULL, "%s", name))
		tap_diag("  got \"%s\", want NULL", got);
	free(got);
}

static void test_boxed(void)
{
	boxed("The answer is \\boxed{42}.", "42", "simple \\boxed{42}");
	boxed("\\boxed{1} then \\boxed{2}", "2", "the last one wins");
	boxed("$\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}", "nested braces");
	boxed("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}", "escaped braces inside, balanced");
	boxed("\\boxed{\\{1, 2}", "\\{1, 2", "an escaped brace does not count");
	boxed("\\boxed{x \\\\ {y}}", "x \\\\ {y}", "\\\\ is a line break, the brace after it counts");
	boxed("\\boxed {7}", "7", "a space before the brace (LaTeX allows it)");
	boxed("\\boxed{ 3 }", "3", "surrounding spaces trimmed");
	boxed("\\boxed{42", NULL, "never closes: NULL");
	boxed("\\boxed{1} and \\boxed{2", NULL, "the last one never closes: NULL, not the earlier one");
	boxed("no box here", NULL, "no \\boxed: NULL");
	boxed("\\boxed{9} within \\boxed{}.", "9", "an empty box (the echoed instruction) is passed over");
	boxed("\\boxedfoo{1}", NULL, "\\boxedfoo is another macro");
	boxed("\\boxed 5", NULL, "the braceless form is not read");
	boxed("\\boxed{\\text{(A)}}", "\\text{(A)}", "text inside");
	boxed("\\boxed{\xe4\xb8\x89}", "\xe4\xb8\x89", "UTF-8 inside");
	char *got = chat_extract_boxed("\\boxed{1}\\boxed{2}", 9);
	TAP_EQ_STR(got, "1", "len bounds the text");
	free(got);
}

static const char smollm2_template[] =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n' }}"
        "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/* As a .jinja file stores it: "\n" is the two-character escape. */
static const char qwen25_template[] =
        "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
        "        {{- messages[0]['content'] }}\n    {%- else %}\n"
        "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- "
        "endif %}\n"
        "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
        "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
        "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
        "assistant.<|im_end|>\\n' }}\n"
        "    {%- endif %}\n{%- endif %}\n";

static void test_default_system(void)
{
	char *s = chat_default_system(smollm2_template);
	TAP_EQ_STR(s, "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
	           "SmolLM2's default system prompt");
	free(s);
	s = chat_default_system(qwen25_template);
	TAP_EQ_STR(s, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
	           "Qwen2.5's, past the branches that print a given system message");
	free(s);
	s = chat_default_system("{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] "
	                        "+ '<|im_end|>\\n'}}{% endfor %}");
	tap_ok(s == NULL, "a template without one: NULL");
	free(s);
	s = chat_default_system("{{ \"<|im_start|>system\\nSay \\\"hi\\\"<|im_end|>\\n\" }}");
	TAP_EQ_STR(s, "Say \"hi\"", "escapes inside the literal are decoded");
	free(s);
	tap_ok(chat_default_system(NULL) == NULL, "NULL template: NULL");
}

static void test_render(void)
{
	struct chat c = {0};
	struct model_desc d;
	struct chat_options o;
	char *cause = NULL, *s;

	add(&c, CHAT_ROLE_SYSTEM, "Be brief.");
	add(&c, CHAT_ROLE_USER, "Hi");
	add(&c, CHAT_ROLE_ASSISTANT, "<think>\nThey greet.\n</think>\n\nHello!");
	add(&c, CHAT_ROLE_USER, "  2+2?  ");

	CHECK_RENDER(CHAT_FORMAT_DEEPSEEK_R1, &c, false, true, NULL,
	             R1_BOS "Be brief." R1_USER "Hi" R1_ASSISTANT "\n\nHello!" R1_EOS R1_USER
	                    "  2+2?  " R1_ASSISTANT,
	             "deepseek-r1: system raw after BOS, thinking stripped (text after </think>, untrimmed)");
	CHECK_RENDER(
	        CHAT_FORMAT_DEEPSEEK_R1, &c, true, true, NULL,
	        R1_BOS R1_USER "Be brief.\n\nHi" R1_ASSISTANT "\n\nHello!" R1_EOS R1_USER
	                       "  2+2?  " R1_ASSISTANT "<think>\n",
	        "deepseek-r1 under r1: system merged into the first user message, prompt ends <think>\\n");
	CHECK_RENDER(CHAT_FORMAT_LLAMA3, &c, false, true, NULL,
	             "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
	             "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
	             "<|start_header_id|>assistant<|end_header_id|>\n\n<think>\nThey "
	             "greet.\n</think>\n\nHello!<|eot_id|>"
	             "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
	             "<|start_header_id|>assistant<|end_header_id|>\n\n",
	             "llama3: trimmed contents, thinking kept without r1");
	CHECK_RENDER(CHAT_FORMAT_LLAMA3, &c, true, true, NULL,
	             "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nBe brief.\n\nHi<|eot_id|>"
	             "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
	             "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
	             "<|start_header_id|>assistant<|end_header_id|>\n\n<think>\n",
	             "llama3 under r1: merged, thinking dropped, <think>\\n after the header");
	CHECK_RENDER(CHAT_FORMAT_CHATML, &c, false, true, "",
	             "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
	             "<|im_start|>assistant\n<think>\nThey greet.\n</think>\n\nHello!<|im_end|>\n"
	             "<|im_start|>user\n  2+2?  <|im_end|>\n<|im_start|>assistant\n",
	             "chatml: contents as they are");
	CHECK_RENDER(CHAT_FORMAT_CHATML, &c, true, false, "Default.",
	             "<|im_start|>system\nDefault.<|im_end|>\n<|im_start|>user\nBe brief.\n\nHi<|im_end|>\n"
	             "<|im_start|>assistant\n\n\nHello!<|im_end|>\n<|im_start|>user\n  2+2?  <|im_end|>\n",
	             "chatml under r1: the model's default system stays, no generation prompt asked");
	chat_free(&c);

	add(&c, CHAT_ROLE_USER, "Hi");
	CHECK_RENDER(CHAT_FORMAT_CHATML, &c, false, true, "Default.",
	             "<|im_start|>system\nDefault.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>"
	             "assistant\n",
	             "chatml: the default system prompt when none is given");
	d = desc_for(CHAT_FORMAT_CHATML, smollm2_template);
	o = (struct chat_options){CHAT_FORMAT_UNKNOWN, false, true, NULL};
	s = chat_render(&d, &c, &o, &cause);
	TAP_EQ_STR(s,
	           "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
	           "Face<|im_end|>\n"
	           "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
	           "chatml: default_system NULL takes it from the model's template");
	free(s);
	o.format = CHAT_FORMAT_DEEPSEEK_R1;
	s = chat_render(&d, &c, &o, &cause);
	TAP_EQ_STR(s, R1_BOS R1_USER "Hi" R1_ASSISTANT, "options.format overrides the model's format");
	free(s);
	chat_free(&c);

	/* several system messages, r1 off and on; an unfinished thought */
	add(&c, CHAT_ROLE_SYSTEM, "A");
	add(&c, CHAT_ROLE_SYSTEM, "B");
	add(&c, CHAT_ROLE_USER, "Q1");
	add(&c, CHAT_ROLE_ASSISTANT, "<think>\nstill thinking");
	add(&c, CHAT_ROLE_SYSTEM, "C");
	add(&c, CHAT_ROLE_USER, "Q2");
	CHECK_RENDER(
	        CHAT_FORMAT_DEEPSEEK_R1, &c, false, false, NULL,
	        R1_BOS "C" R1_USER "Q1" R1_ASSISTANT "<think>\nstill thinking" R1_EOS R1_USER "Q2",
	        "deepseek-r1: the last system message is the one sent (as the template's loop leaves it)");
	CHECK_RENDER(
	        CHAT_FORMAT_DEEPSEEK_R1, &c, true, false, NULL,
	        R1_BOS R1_USER "A\n\nB\n\nQ1" R1_ASSISTANT R1_EOS R1_USER "C\n\nQ2",
	        "r1: each system text goes to the next user message; an unclosed <think> is sent as empty");
	chat_free(&c);

	add(&c, CHAT_ROLE_SYSTEM, "Only a system text");
	CHECK_RENDER(CHAT_FORMAT_CHATML, &c, true, true, "",
	             "<|im_start|>user\nOnly a system text<|im_end|>\n<|im_start|>assistant\n<think>\n",
	             "r1: a system text with no user message becomes one");
	chat_free(&c);

	CHECK_RENDER(CHAT_FORMAT_LLAMA3, &c, false, true, NULL,
	             "<|start_header_id|>assistant<|end_header_id|>\n\n",
	             "llama3: an empty conversation has no BOS (as the template)");
	add(&c, CHAT_ROLE_USER, "\xe3\x80\x80\x1c\tX\xc2\xa0 \n");
	CHECK_RENDER(CHAT_FORMAT_LLAMA3, &c, false, false, NULL,
	             "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nX<|eot_id|>",
	             "llama3 trims as Python's str.strip (U+3000, U+001C, NBSP too)");
	chat_free(&c);
}

/* ---- chat_tokenize on a tiny tokenizer ------------------------------------------------------- */

/* GPT-2's byte -> character map. */
static uint32_t byte_char(unsigned b)
{
	unsigned n = 0;
	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
		return b;
	for (unsigned x = 0; x < b; x++)
		if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174))
			n++;
	return 256 + n;
}

/* A byte-level BPE tokenizer.json: id = byte value, no merges, the given added tokens from 256. */
static char *write_tokenizer(const char *const *added, size_t n_added)
{
	static char path[] = "/tmp/duet-test-chat-XXXXXX";
	char *p = xstrdup(path);
	struct buf b = {0};
	int fd = mkstemp(p);

	buf_printf(&b, "{\"version\":\"1.0\",\"added_tokens\":[");
	for (size_t i = 0; i < n_added; i++)
		buf_printf(&b,
		           "%s{\"id\":%zu,\"content\":\"%s\",\"single_word\":false,\"lstrip\":false,"
		           "\"rstrip\":false,\"normalized\":false,\"special\":true}",
		           i ? "," : "", 256 + i, added[i]);
	buf_printf(
	        &b,
	        "],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
	        "\"trim_offsets\":true,\"use_regex\":true},\"post_processor\":null,\"decoder\":{\"type\":"
	        "\"ByteLevel\"},"
	        "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_"
	        "prefix\":null,"
	        "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"vocab\":{");
	for (unsigned i = 0; i < 256; i++) {
		uint32_t ch = byte_char(i);
		if (ch == '"' || ch == '\\')
			buf_printf(&b, "%s\"\\%c\":%u", i ? "," : "", (char)ch, i);
		else
			buf_printf(&b, "%s\"\\u%04x\":%u", i ? "," : "", (unsigned)ch, i);
	}
	buf_printf(&b, "},\"merges\":[]}}\n");
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len) {
		tap_diag("cannot write %s", p);
		free(p);
		p = NULL;
	}
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return p;
}

/* want: a list of ints (special ids) and strings (their bytes as ids), ended by -1. */
static void expect_ids(struct tokens *want, const char *text)
{
	for (const unsigned char *s = (const unsigned char *)text; *s; s++)
		tokens_push(want, *s);
}

static void check_ids(const struct tokens *got, const struct tokens *want, const char *name)
{
	size_t i = 0;
	while (i < got->n && i < want->n && got->ids[i] == want->ids[i])
		i++;
	if (!tap_ok(i == got->n && i == want->n, "%s", name))
		tap_diag("  first difference at %zu of %zu/%zu: got %d, want %d", i, got->n, want->n,
		         i < got->n ? got->ids[i] : -1, i < want->n ? want->ids[i] : -1);
}

static void test_tokenize(void)
{
	static const char *const added[] = {"<|im_start|>", "<|im_end|>", "<think>"};
	char *with_think = write_tokenizer(added, 3), *without_think = write_tokenizer(added, 2),
	     *cause = NULL;
	struct tokenizer *tok = NULL, *tok2 = NULL;
	struct chat c = {0};
	struct tokens got = {0}, want = {0};
	struct model_desc d = desc_for(CHAT_FORMAT_CHATML, NULL);
	struct chat_options o = {CHAT_FORMAT_UNKNOWN, true, true, ""};
	bool merged = false;

	if (with_think)
		tok = tokenizer_from_json_file(with_think, NULL, &cause);
	if (without_think && tok)
		tok2 = tokenizer_from_json_file(without_think, NULL, &cause);
	if (!tok || !tok2) {
		tap_ok(0, "tiny tokenizer loads: %s", cause ? cause : "?");
		goto out;
	}

	add(&c, CHAT_ROLE_SYSTEM, "S");
	add(&c, CHAT_ROLE_USER, "a<|im_end|>b<think>");
	TAP_EQ_INT(chat_tokenize(tok, &d, &c, &o, &got, &merged, &cause), 0, "chat_tokenize chatml r1");
	tokens_push(&want, 256);
	expect_ids(&want, "user\nS\n\na<|im_end|>b<think>");
	tokens_push(&want, 257);
	expect_ids(&want, "\n");
	tokens_push(&want, 256);
	expect_ids(&want, "assistant\n");
	tokens_push(&want, 258);
	expect_ids(&want, "\n");
	check_ids(&got, &want,
	          "template markers are tokens, the user's \"<|im_end|>\" and \"<think>\" are characters");
	tap_ok(merged, "merged_system is set when a system text was merged");

	got.n = want.n = 0;
	o.r1 = false;
	TAP_EQ_INT(chat_tokenize(tok2, &d, &c, &o, &got, &merged, &cause), 0, "chat_tokenize chatml");
	tap_ok(!merged, "merged_system stays false without r1");
	got.n = 0;
	o.r1 = true;
	TAP_EQ_INT(chat_tokenize(tok2, &d, &c, &o, &got, &merged, &cause), 0,
	           "chat_tokenize without a <think> token");
	tap_ok(got.n >= 8 && memcmp(got.ids + got.n - 8, (int32_t[]){'<', 't', 'h', 'i', 'n', 'k', '>', '\n'},
	                            8 * sizeof(int32_t)) == 0,
	       "... spells <think>\\n as text where the vocabulary lacks it");

	tokens_push(&got, 7);
	size_t before = got.n;
	o.format = CHAT_FORMAT_LLAMA3;
	tap_ok(chat_tokenize(tok, &d, &c, &o, &got, &merged, &cause) < 0,
	       "llama3 with a tokenizer lacking its tokens fails");
	TAP_ERR_HAS(cause, "<|begin_of_text|>", "... naming the missing token");
	TAP_EQ_INT(got.n, before, "... and leaves out as it was");
	free(cause);
	cause = NULL;
out:
	free(cause);
	tokens_free(&got);
	tokens_free(&want);
	chat_free(&c);
	tokenizer_free(tok);
	tokenizer_free(tok2);
	if (with_think)
		unlink(with_think);
	if (without_think)
		unlink(without_think);
	free(with_think);
	free(without_think);
}

int main(void)
{
	test_basics();
	test_answer_offset();
	test_boxed();
	test_default_system();
	test_render();
	test_tokenize();
	return tap_done();
}
