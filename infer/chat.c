/*
 * chat.c — conversations rendered the way each family's chat template does
 * (DESIGN.md §5), plus the R1 conventions and \boxed{} extraction. Calls the
 * tokenizer and infer/util only; pure functions over plain data.
 *
 * A rendering is first built as a list of parts: special tokens of the
 * format (looked up by their exact spelling), and plain text (template text
 * such as "user\n" and message contents). Maximal runs of plain text are
 * tokenized as one string without special-token matching. That is exactly
 * what the reference does — Hugging Face renders the template to a string
 * and its tokenizer splits that string at added tokens, then normalises and
 * pre-tokenizes each stretch between them as a whole — except that text a
 * user or the model wrote is never matched for added tokens (DESIGN.md §4).
 * Tokenizing template text and content separately would not be identical:
 * in chatml "<|im_start|>user\n" + "\n\nHi" the reference pre-tokenizes
 * "\n\n\n" as one piece. None of the supported tokenizers' added tokens
 * strip neighbouring whitespace (lstrip/rstrip), so splitting at them
 * loses nothing.
 *
 * Decisions where the templates leave room (tests/unit/test_chat.c checks them):
 * - deepseek-r1 without r1: the template's behaviour exactly — BOS, the
 *   LAST system message's text raw, per turn "<｜User｜>" + text and
 *   "<｜Assistant｜>" + answer + "<｜end▁of▁sentence｜>", where the answer is
 *   the text after the last "</think>" (content.split('</think>')[-1]),
 *   untrimmed; generation prompt "<｜Assistant｜>".
 * - r1 (any format): system texts are merged into the next user message as
 *   SYSTEM + "\n\n" + USER (DeepSeek: "avoid adding a system prompt; all
 *   instructions should be contained within the user prompt"); several
 *   system texts before one user message are joined by "\n\n"; empty ones
 *   are dropped; a system text with no user message after it becomes a user
 *   message of its own. Earlier answers lose their thinking as above, and an
 *   answer that opens "<think>" but never closes it (stopped while thinking)
 *   is sent as empty. The generation prompt is the format's assistant header
 *   followed by "<think>\n" ("<think>" is one token where the vocabulary has
 *   it, as in R1; plain text otherwise).
 * - chatml under r1 still inserts the model's default system prompt: with no
 *   system message left, that is what the model's own template renders.
 * - llama3 trims contents with Python's str.strip() whitespace (Jinja's
 *   trim filter), and emits BOS with the first message only (as the
 *   template: an empty conversation has none).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer/chat.h"
#include "infer/util.h"

/* DeepSeek's markers: the bars are U+FF5C, the spaces U+2581 (this file is UTF-8). */
#define R1_BOS              "<｜begin▁of▁sentence｜>"
#define R1_EOS              "<｜end▁of▁sentence｜>"
#define R1_USER             "<｜User｜>"
#define R1_ASSISTANT        "<｜Assistant｜>"
#define THINK_OPEN          "<think>"
#define THINK_CLOSE         "</think>"
#define LLAMA3_BOS          "<|begin_of_text|>"
#define LLAMA3_HEADER_START "<|start_header_id|>"
#define LLAMA3_HEADER_END   "<|end_header_id|>"
#define LLAMA3_EOT          "<|eot_id|>"
#define CHATML_START        "<|im_start|>"
#define CHATML_END          "<|im_end|>"

/* ---- conversations --------------------------------------------------------------------- */

void chat_add(struct chat *c, enum chat_role role, const char *text, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 8;
		c->msgs = xreallocarray(c->msgs, c->cap, sizeof *c->msgs);
	}
	c->msgs[c->n].role = role;
	c->msgs[c->n].content = xstrndup(text ? text : "", text ? len : 0);
	c->n++;
}

void chat_drop_front(struct chat *c, size_t n)
{
	if (n > c->n)
		n = c->n;
	for (size_t i = 0; i < n; i++)
		free(c->msgs[i].content);
	memmove(c->msgs, c->msgs + n, (c->n - n) * sizeof *c->msgs);
	c->n -= n;
}

void chat_free(struct chat *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->msgs[i].content);
	free(c->msgs);
	c->msgs = NULL;
	c->n = c->cap = 0;
}

enum chat_format chat_format_parse(const char *name)
{
	if (!name)
		return CHAT_FORMAT_UNKNOWN;
	if (strcmp(name, "deepseek-r1") == 0)
		return CHAT_FORMAT_DEEPSEEK_R1;
	if (strcmp(name, "llama3") == 0)
		return CHAT_FORMAT_LLAMA3;
	if (strcmp(name, "chatml") == 0)
		return CHAT_FORMAT_CHATML;
	return CHAT_FORMAT_UNKNOWN;
}

/* ---- text helpers ------------------------------------------------------------------------- */

/* Last occurrence of needle in s[0..len), or NULL. */
static const char *mem_rfind(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0 || n > len)
		return NULL;
	for (size_t i = len - n + 1; i-- > 0;)
		if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

size_t chat_answer_offset(const char *text, size_t len)
{
	const char *p = text ? mem_rfind(text, len, THINK_CLOSE) : NULL;

	return p ? (size_t)(p - text) + strlen(THINK_CLOSE) : 0;
}

/*
 * One UTF-8 character at s[0..n): its length, and its code point in *cp; an
 * invalid or cut sequence counts as one byte with *cp = UINT32_MAX.
 */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	*cp = UINT32_MAX;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, c &= 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, c &= 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 1;
	}
	if (len > n)
		return 1;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 1;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 1;
	*cp = c;
	return len;
}

/* Python's str.isspace(), which Jinja's trim filter (str.strip) uses. */
static bool py_isspace(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

/* Narrow s[*off, *off + *len) to drop leading and trailing Python whitespace. */
static void py_strip(const char *s, size_t *off, size_t *len)
{
	const unsigned char *u = (const unsigned char *)s + *off;
	size_t i = 0, n = *len, start = n, end = 0;
	uint32_t cp;

	while (i < n) {
		size_t k = utf8_next(u + i, n - i, &cp);
		if (!py_isspace(cp)) {
			if (start == n)
				start = i;
			end = i + k;
		}
		i += k;
	}
	if (start == n) {
		*len = 0;
		return;
	}
	*off += start;
	*len = end - start;
}

/* ---- rendering to parts ----------------------------------------------------------------- */

enum part_kind {
	PART_TEXT,        /* plain text: never matched for added tokens */
	PART_SPECIAL,     /* a token of the format; the tokenizer must have it */
	PART_SPECIAL_OPT, /* a token where the vocabulary has it, else plain text ("<think>") */
};

struct part {
	enum part_kind kind;
	const char *s;
	size_t len;
};

/* A conversation after the R1 conventions; texts borrow from the chat or from owned. */
struct eff_msg {
	enum chat_role role;
	const char *s;
	size_t len;
};

struct render {
	enum chat_format format;
	bool r1, gen;
	struct eff_msg *msgs;
	size_t n_msgs;
	struct part *parts;
	size_t n_parts, cap_parts;
	char **owned;
	size_t n_owned;
	char *default_system; /* owned; NULL = none */
	bool merged_system;
};

static void render_free(struct render *r)
{
	for (size_t i = 0; i < r->n_owned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r->msgs);
	free(r->parts);
	free(r->default_system);
}

static void part_add(struct render *r, enum part_kind kind, const char *s, size_t len)
{
	if (len == 0)
		return;
	if (r->n_parts == r->cap_parts) {
		r->cap_parts = r->cap_parts ? 2 * r->cap_parts : 32;
		r->parts = xreallocarray(r->parts, r->cap_parts, sizeof *r->parts);
	}
	r->parts[r->n_parts++] = (struct part){kind, s, len};
}

static void part_text(struct render *r, const char *s)
{
	part_add(r, PART_TEXT, s, strlen(s));
}

static void part_special(struct render *r, const char *s)
{
	part_add(r, PART_SPECIAL, s, strlen(s));
}

static char *render_own(struct render *r, char *s)
{
	r->owned = xreallocarray(r->owned, r->n_owned + 1, sizeof *r->owned);
	r->owned[r->n_owned++] = s;
	return s;
}

/*
 * What an earlier answer sends back: the text after the last "</think>";
 * under r1, nothing of an answer still inside an unclosed "<think>".
 */
static void answer_span(const char *s, size_t len, bool r1, size_t *off, size_t *n)
{
	size_t a = chat_answer_offset(s, len);

	*off = a;
	*n = len - a;
	if (r1 && a == 0 && len >= strlen(THINK_OPEN) && memcmp(s, THINK_OPEN, strlen(THINK_OPEN)) == 0)
		*n = 0;
}

/* Apply the R1 system merge and the thinking strip: r->msgs from c. */
static void render_messages(struct render *r, const struct chat *c)
{
	bool strip = r->r1 || r->format == CHAT_FORMAT_DEEPSEEK_R1;
	struct buf pending = {0}; /* r1: system texts waiting for the next user message */

	/* every message out stands for at least one message in: n is enough */
	r->msgs = xcalloc(c->n ? c->n : 1, sizeof *r->msgs);
	for (size_t i = 0; i < c->n; i++) {
		const struct chat_message *m = &c->msgs[i];
		struct eff_msg *e = &r->msgs[r->n_msgs];
		size_t len = strlen(m->content), off = 0;

		if (r->r1 && m->role == CHAT_ROLE_SYSTEM) {
			if (len == 0)
				continue;
			if (pending.len)
				buf_append(&pending, "\n\n", 2);
			buf_append(&pending, m->content, len);
			continue;
		}
		if (r->r1 && pending.len && m->role == CHAT_ROLE_USER) {
			buf_append(&pending, "\n\n", 2);
			buf_append(&pending, m->content, len);
			*e = (struct eff_msg){CHAT_ROLE_USER,
			                      render_own(r, xstrndup(pending.data, pending.len)),
			                      pending.len};
			pending.len = 0;
			r->n_msgs++;
			r->merged_system = true;
			continue;
		}
		/* an answer with no user message between it and the system text */
		if (r->r1 && pending.len) {
			*e = (struct eff_msg){CHAT_ROLE_USER,
			                      render_own(r, xstrndup(pending.data, pending.len)),
			                      pending.len};
			pending.len = 0;
			r->merged_system = true;
			e = &r->msgs[++r->n_msgs];
		}
		if (m->role == CHAT_ROLE_ASSISTANT && strip)
			answer_span(m->content, len, r->r1, &off, &len);
		*e = (struct eff_msg){m->role, m->content + off, len};
		r->n_msgs++;
	}
	if (pending.len) {
		r->msgs[r->n_msgs++] = (struct eff_msg){
		        CHAT_ROLE_USER, render_own(r, xstrndup(pending.data, pending.len)), pending.len};
		r->merged_system = true;
	}
	buf_free(&pending);
}

static const char *role_name(enum chat_role role)
{
	switch (role) {
	case CHAT_ROLE_SYSTEM:
		return "system";
	case CHAT_ROLE_USER:
		return "user";
	case CHAT_ROLE_ASSISTANT:
		return "assistant";
	}
	return "user";
}

static void render_think(struct render *r)
{
	if (r->r1) {
		part_add(r, PART_SPECIAL_OPT, THINK_OPEN, strlen(THINK_OPEN));
		part_text(r, "\n");
	}
}

static void render_deepseek_r1(struct render *r)
{
	const struct eff_msg *system = NULL;

	part_special(r, R1_BOS);
	for (size_t i = 0; i < r->n_msgs; i++)
		if (r->msgs[i].role == CHAT_ROLE_SYSTEM)
			system = &r->msgs[i];
	if (system)
		part_add(r, PART_TEXT, system->s, system->len);
	for (size_t i = 0; i < r->n_msgs; i++) {
		const struct eff_msg *m = &r->msgs[i];
		if (m->role == CHAT_ROLE_USER) {
			part_special(r, R1_USER);
			part_add(r, PART_TEXT, m->s, m->len);
		} else if (m->role == CHAT_ROLE_ASSISTANT) {
			part_special(r, R1_ASSISTANT);
			part_add(r, PART_TEXT, m->s, m->len);
			part_special(r, R1_EOS);
		}
	}
	if (r->gen) {
		part_special(r, R1_ASSISTANT);
		render_think(r);
	}
}

static void render_llama3(struct render *r)
{
	for (size_t i = 0; i < r->n_msgs; i++) {
		const struct eff_msg *m = &r->msgs[i];
		size_t off = 0, len = m->len;

		if (i == 0)
			part_special(r, LLAMA3_BOS);
		part_special(r, LLAMA3_HEADER_START);
		part_text(r, role_name(m->role));
		part_special(r, LLAMA3_HEADER_END);
		part_text(r, "\n\n");
		py_strip(m->s, &off, &len);
		part_add(r, PART_TEXT, m->s + off, len);
		part_special(r, LLAMA3_EOT);
	}
	if (r->gen) {
		part_special(r, LLAMA3_HEADER_START);
		part_text(r, "assistant");
		part_special(r, LLAMA3_HEADER_END);
		part_text(r, "\n\n");
		render_think(r);
	}
}

static void render_chatml(struct render *r)
{
	if (r->n_msgs > 0 && r->msgs[0].role != CHAT_ROLE_SYSTEM && r->default_system && *r->default_system) {
		part_special(r, CHATML_START);
		part_text(r, "system\n");
		part_text(r, r->default_system);
		part_special(r, CHATML_END);
		part_text(r, "\n");
	}
	for (size_t i = 0; i < r->n_msgs; i++) {
		const struct eff_msg *m = &r->msgs[i];
		part_special(r, CHATML_START);
		part_text(r, role_name(m->role));
		part_text(r, "\n");
		part_add(r, PART_TEXT, m->s, m->len);
		part_special(r, CHATML_END);
		part_text(r, "\n");
	}
	if (r->gen) {
		part_special(r, CHATML_START);
		part_text(r, "assistant\n");
		render_think(r);
	}
}

static int render_build(struct render *r, const struct model_desc *desc, const struct chat *c,
                        const struct chat_options *o, char **cause)
{
	memset(r, 0, sizeof *r);
	r->format = o->format != CHAT_FORMAT_UNKNOWN ? o->format
	            : desc                           ? desc->chat_format
	                                             : CHAT_FORMAT_UNKNOWN;
	r->r1 = o->r1;
	r->gen = o->add_generation_prompt;
	if (r->format == CHAT_FORMAT_UNKNOWN)
		return error_set(cause, "%s: unknown chat format (choose one of deepseek-r1, llama3, chatml)",
		                 desc && desc->name[0] ? desc->name : "model");
	if (r->format == CHAT_FORMAT_CHATML) {
		if (o->default_system)
			r->default_system = xstrdup(o->default_system);
		else if (desc && desc->chat_template)
			r->default_system = chat_default_system(desc->chat_template);
	}
	render_messages(r, c);
	switch (r->format) {
	case CHAT_FORMAT_DEEPSEEK_R1:
		render_deepseek_r1(r);
		break;
	case CHAT_FORMAT_LLAMA3:
		render_llama3(r);
		break;
	case CHAT_FORMAT_CHATML:
		render_chatml(r);
		break;
	case CHAT_FORMAT_UNKNOWN:
		break;
	}
	return 0;
}

/* ---- to ids and to text ------------------------------------------------------------------ */

int chat_tokenize(const struct tokenizer *tok, const struct model_desc *desc, const struct chat *c,
                  const struct chat_options *o, struct tokens *out, bool *merged_system, char **cause)
{
	struct render r;
	struct buf run = {0}; /* plain text since the last special token */
	size_t n0 = out->n;

	if (merged_system)
		*merged_system = false;
	if (render_build(&r, desc, c, o, cause) < 0)
		goto fail;
	for (size_t i = 0; i <= r.n_parts; i++) {
		const struct part *p = i < r.n_parts ? &r.parts[i] : NULL;
		int32_t id = -1;

		if (p && p->kind != PART_TEXT)
			id = tokenizer_find(tok, p->s, p->len);
		if (p && p->kind == PART_SPECIAL && id < 0) {
			error_set(cause, "the tokenizer has no token '%.*s', which the %s chat format needs",
			          (int)p->len, p->s, chat_format_name(r.format));
			goto fail;
		}
		if (p && id < 0) {
			buf_append(&run, p->s, p->len);
			continue;
		}
		if (run.len && tokenizer_encode(tok, run.data, run.len, 0, out, cause) < 0)
			goto fail;
		run.len = 0;
		if (p)
			tokens_push(out, id);
	}
	if (merged_system)
		*merged_system = r.merged_system;
	buf_free(&run);
	render_free(&r);
	return 0;
fail:
	out->n = n0;
	buf_free(&run);
	render_free(&r);
	return -1;
}

char *chat_render(const struct model_desc *desc, const struct chat *c, const struct chat_options *o,
                  char **cause)
{
	struct render r;
	struct buf b = {0};

	if (render_build(&r, desc, c, o, cause) < 0) {
		render_free(&r);
		return NULL;
	}
	for (size_t i = 0; i < r.n_parts; i++)
		buf_append(&b, r.parts[i].s, r.parts[i].len);
	render_free(&r);
	buf_cstr(&b);
	return b.data;
}

/* ---- the default system prompt of a chatml template ----------------------------------------- */

/*
 * Templates insert it as one Jinja string literal, e.g. SmolLM2's
 * '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained
 * by Hugging Face<|im_end|>\n' and Qwen2.5's '...system\nYou are Qwen,
 * created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' (the
 * "\n" as a newline or as the escape, depending on how the template was
 * stored). The default is the text between "<|im_start|>system\n" and
 * "<|im_end|>" inside one literal; literals where the system header is
 * followed by an expression (the branch with a system message) hold none.
 */
char *chat_default_system(const char *template_text)
{
	static const char header[] = CHATML_START "system";
	const char *p = template_text;

	if (!p)
		return NULL;
	while ((p = strstr(p, header))) {
		const char *q = p + strlen(header), *s;
		char quote = 0;
		struct buf b = {0};

		p = q;
		if (*q == '\n')
			q++;
		else if (q[0] == '\\' && q[1] == 'n')
			q += 2;
		else
			continue;
		/* the literal's quote: the nearest quote character before the header */
		for (s = p - strlen(header); s > template_text; s--)
			if (s[-1] == '\'' || s[-1] == '"') {
				quote = s[-1];
				break;
			}
		if (!quote)
			continue;
		for (s = q; *s && *s != quote; s++) {
			if (strncmp(s, CHATML_END, strlen(CHATML_END)) == 0)
				break;
			if (*s == '\\' && s[1]) {
				s++;
				switch (*s) {
				case 'n':
					buf_putc(&b, '\n');
					break;
				case 't':
					buf_putc(&b, '\t');
					break;
				case 'r':
					buf_putc(&b, '\r');
					break;
				default:
					buf_putc(&b, *s);
					break; /* \\ \' \" */
				}
				continue;
			}
			buf_putc(&b, *s);
		}
		if (strncmp(s, CHATML_END, strlen(CHATML_END)) == 0 && b.len > 0) {
			buf_cstr(&b);
			return b.data;
		}
		buf_free(&b);
	}
	return NULL;
}

/* ---- \boxed{} ------------------------------------------------------------------------------ */

static bool is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * As the MATH evaluation scripts (last_boxed_only_string) and the
 * Qwen2.5-Math ones used for R1 read answers: the last "\boxed", its brace
 * group matched by nesting depth. Differences, each as LaTeX reads it:
 * spaces between "\boxed" and "{" are allowed; "\{" and "\}" (and any other
 * backslash pair, such as "\\") are literal and do not count; "\boxedfoo" is
 * another macro. The braceless form "\boxed 5" is not read. The answer is
 * returned without surrounding whitespace. If the last group never closes,
 * the answer is unknown (NULL: a cut-off answer has no final value); an
 * empty group (the instruction's own "\boxed{}" echoed) is passed over for
 * an earlier one.
 */
char *chat_extract_boxed(const char *text, size_t len)
{
	static const char macro[] = "\\boxed";
	size_t end = len;

	if (!text)
		return NULL;
	for (;;) {
		const char *m = mem_rfind(text, end, macro);
		size_t i, depth = 0, start, stop;

		if (!m)
			return NULL;
		end = (size_t)(m - text);
		i = end + strlen(macro);
		if (i < len && is_ascii_alpha(text[i]))
			continue;
		while (i < len && is_ascii_space(text[i]))
			i++;
		if (i >= len || text[i] != '{')
			continue;
		start = ++i;
		depth = 1;
		for (; i < len; i++) {
			if (text[i] == '\\') {
				i++;
				continue;
			}
			if (text[i] == '{')
				depth++;
			else if (text[i] == '}' && --depth == 0)
				break;
		}
		if (depth != 0)
			return NULL;
		stop = i;
		while (start < stop && is_ascii_space(text[start]))
			start++;
		while (stop > start && is_ascii_space(text[stop - 1]))
			stop--;
		if (stop > start)
			return xstrndup(text + start, stop - start);
	}
}
