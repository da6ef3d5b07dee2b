/*
 * pretok.c — normalisation (NFC through utf8proc) and pre-tokenisation
 * (regex and literal splits through PCRE2, 8-bit, UTF + UCP, JIT when the
 * platform has it) with the semantics of Hugging Face tokenizers' Split,
 * Digits and ByteLevel pre-tokenizers. Calls PCRE2, utf8proc and infer/util.
 *
 * Hugging Face compiles its patterns with Oniguruma; PCRE2 reads the same
 * syntax except for a few escapes, translated here: Oniguruma's \s is
 * Unicode White_Space (it includes U+0085, which PCRE2 10.42's \s does not),
 * \h is a hexadecimal digit, not horizontal space, and \w (so \b too) is
 * Alphabetic, marks, Nd and Pc plus
 * Latin-1's superscript digits and fractions, where PCRE2's UCP \w is
 * letters and all numbers (checked code point by code point against the
 * tokenizers wheel). \p{L}, \p{N} and
 * (?i:...) (with Unicode case folding: 's also matches 'ſ) agree. The two
 * libraries' Unicode tables may differ in version: characters assigned after
 * PCRE2's Unicode version are not letters to it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "infer/tokenizer_impl.h"

const char PRETOK_RE_GPT2[] =
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const char PRETOK_RE_QWEN2[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                               "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char PRETOK_RE_LLAMA3[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Unicode White_Space as class contents, and its complement (surrogates are never in UTF-8 subjects). */
#define WS_CLASS                                                                                             \
	"\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"        \
	"\\x{205F}\\x{3000}"
#define NOT_WS_CLASS                                                                                         \
	"\\x{00}-\\x{08}\\x{0E}-\\x{1F}\\x{21}-\\x{84}\\x{86}-\\x{9F}\\x{A1}-\\x{167F}\\x{1681}-\\x{1FFF}"   \
	"\\x{200B}-\\x{2027}\\x{202A}-\\x{202E}\\x{2030}-\\x{205E}\\x{2060}-\\x{2FFF}\\x{3001}-\\x{D7FF}"    \
	"\\x{E000}-\\x{10FFFF}"
#define WORD_CLASS    "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}"
#define WORD          "[" WORD_CLASS "]"
#define HEX_CLASS     "0-9A-Fa-f"
#define NOT_HEX_CLASS "\\x{00}-\\x{2F}\\x{3A}-\\x{40}\\x{47}-\\x{60}\\x{67}-\\x{D7FF}\\x{E000}-\\x{10FFFF}"

/* ---- UTF-8 and character classes ------------------------------------------------ */

bool pretok_is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
	       cp == 0x205F || cp == 0x3000;
}

bool pretok_is_word(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       cp == '_';
	if (cp == 0x200C || cp == 0x200D) /* Join_Control */
		return true;
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_PC:
		return true;
	default:
		return false;
	}
}

/* ---- NFC ------------------------------------------------------------------------- */

void pretok_nfc(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t start = i, n;
		bool ascii = true;
		uint32_t cp;

		/* A maximal valid run [start, i). */
		while (i < len && (n = utf8_decode(u + i, len - i, &cp)) > 0) {
			ascii = ascii && cp < 0x80;
			i += n;
		}
		if (i > start) {
			utf8proc_uint8_t *dst = NULL;
			utf8proc_ssize_t m;

			/* ASCII is its own NFC, and the common case. */
			if (ascii) {
				buf_append(out, s + start, i - start);
			} else {
				m = utf8proc_map(u + start, (utf8proc_ssize_t)(i - start), &dst,
				                 UTF8PROC_STABLE | UTF8PROC_COMPOSE);
				if (m == UTF8PROC_ERROR_NOMEM)
					fatal("out of memory normalising %zu bytes", i - start);
				if (m < 0) /* cannot happen on validated input; keep the text */
					buf_append(out, s + start, i - start);
				else
					buf_append(out, dst, (size_t)m);
				free(dst);
			}
		}
		if (i < len) {
			buf_putc(out, s[i]);
			i++;
		}
	}
}

/* ---- building steps ------------------------------------------------------------- */

static struct pretok_step *step_new(struct pretok *p)
{
	struct pretok_step *st;

	p->steps = xreallocarray(p->steps, p->n_steps + 1, sizeof *p->steps);
	st = &p->steps[p->n_steps++];
	memset(st, 0, sizeof *st);
	return st;
}

static void signature_add(struct pretok *p, const char *kind, int behavior, int invert, const char *arg,
                          size_t arg_len)
{
	struct buf b = {0};

	if (p->signature)
		buf_append(&b, p->signature, strlen(p->signature));
	buf_printf(&b, "%s(%d,%d,%.*s);", kind, behavior, invert, (int)arg_len, arg);
	free(p->signature);
	p->signature = xstrdup(buf_cstr(&b));
	buf_free(&b);
}

/* Oniguruma pattern -> PCRE2 pattern (see the top of the file). */
static int regex_translate(const char *pat, size_t len, struct buf *out, const char *where, char **cause)
{
	bool in_class = false;
	size_t i = 0;

	while (i < len) {
		char c = pat[i];

		if (c == '\\' && i + 1 < len) {
			char e = pat[i + 1];
			const char *body = NULL;
			bool negated = false;

			switch (e) {
			case 's':
				body = WS_CLASS;
				break;
			case 'S':
				body = NOT_WS_CLASS;
				break;
			case 'h':
				body = HEX_CLASS;
				break;
			case 'H':
				body = NOT_HEX_CLASS;
				break;
			case 'w':
				body = WORD_CLASS;
				break;
			case 'W':
				body = WORD_CLASS;
				negated = true;
				break;
			case 'b':
			case 'B':
				if (in_class) /* Oniguruma: a backspace */
					return error_set(cause,
					                 "%s: \\%c inside a character class is not supported",
					                 where, e);
				static const char b[] =
				        "(?:(?<=" WORD ")(?!" WORD ")|(?<!" WORD ")(?=" WORD "))";
				static const char nb[] =
				        "(?:(?<=" WORD ")(?=" WORD ")|(?<!" WORD ")(?!" WORD "))";
				buf_append(out, e == 'b' ? b : nb, strlen(e == 'b' ? b : nb));
				i += 2;
				continue;
			default:
				break;
			}
			if (!body) {
				buf_append(out, pat + i, 2);
			} else if (in_class) {
				if (negated)
					return error_set(cause,
					                 "%s: \\%c inside a character class is not supported",
					                 where, e);
				buf_append(out, body, strlen(body));
			} else {
				buf_append(out, negated ? "[^" : "[", negated ? 2 : 1);
				buf_append(out, body, strlen(body));
				buf_putc(out, ']');
			}
			i += 2;
			continue;
		}
		if (!in_class && c == '[') {
			in_class = true;
			buf_putc(out, c);
			i++;
			/* A ']' right after '[' or '[^' is literal in both dialects. */
			if (i < len && pat[i] == '^') {
				buf_putc(out, '^');
				i++;
			}
			if (i < len && pat[i] == ']') {
				buf_append(out, "\\]", 2);
				i++;
			}
			continue;
		}
		if (in_class && c == '[') {
			/* POSIX [:alpha:] passes; Oniguruma's nested classes and && are not PCRE2's. */
			if (i + 1 < len && pat[i + 1] == ':') {
				const char *end = memchr(pat + i + 2, ']', len - i - 2);
				if (end) {
					buf_append(out, pat + i, (size_t)(end - (pat + i)) + 1);
					i = (size_t)(end - pat) + 1;
					continue;
				}
			}
			return error_set(cause,
			                 "%s: nested character classes in the pattern are not supported",
			                 where);
		}
		if (in_class && c == '&' && i + 1 < len && pat[i + 1] == '&')
			return error_set(cause, "%s: class intersection (&&) in the pattern is not supported",
			                 where);
		if (in_class && c == ']')
			in_class = false;
		buf_putc(out, c);
		i++;
	}
	return 0;
}

int pretok_add_regex(struct pretok *p, const char *pattern, size_t len, enum pretok_behavior behavior,
                     bool invert, const char *where, char **cause)
{
	struct buf pcre = {0};
	pcre2_code *re;
	int err;
	PCRE2_SIZE err_off;
	struct pretok_step *st;

	if (regex_translate(pattern, len, &pcre, where, cause) != 0) {
		buf_free(&pcre);
		return -1;
	}
	buf_cstr(&pcre);
	re = pcre2_compile((PCRE2_SPTR)pcre.data, pcre.len, PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
	                   &err, &err_off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		error_set(cause, "%s: regex '%.*s' does not compile: %s (at offset %zu of its PCRE2 form)",
		          where, (int)len, pattern, (const char *)msg, (size_t)err_off);
		buf_free(&pcre);
		return -1;
	}
	buf_free(&pcre);
	/* Without JIT (unsupported platform) the interpreter gives the same matches, slower. */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);

	st = step_new(p);
	st->kind = PRETOK_STEP_REGEX;
	st->behavior = behavior;
	st->invert = invert;
	st->re = re;
	st->desc = xstrndup(pattern, len);
	signature_add(p, "regex", (int)behavior, (int)invert, pattern, len);
	return 0;
}

void pretok_add_string(struct pretok *p, const char *literal, size_t len, enum pretok_behavior behavior,
                       bool invert)
{
	struct pretok_step *st = step_new(p);

	st->kind = PRETOK_STEP_STRING;
	st->behavior = behavior;
	st->invert = invert;
	st->literal = xstrndup(literal, len);
	st->literal_len = len;
	st->desc = xstrndup(literal, len);
	signature_add(p, "string", (int)behavior, (int)invert, literal, len);
}

void pretok_add_prefix_space(struct pretok *p)
{
	struct pretok_step *st = step_new(p);

	st->kind = PRETOK_STEP_PREFIX_SPACE;
	st->desc = xstrdup("prefix space");
	signature_add(p, "prefix_space", 0, 0, "", 0);
}

int pretok_add_digits(struct pretok *p, bool individual, const char *where, char **cause)
{
	/* Rust's char::is_numeric is the N categories; Isolated \p{N}+ equals Contiguous. */
	return pretok_add_regex(p, individual ? "\\p{N}" : "\\p{N}+", individual ? 5 : 6, PRETOK_ISOLATED,
	                        false, where, cause);
}

int pretok_add_byte_level(struct pretok *p, bool add_prefix_space, bool use_regex, const char *where,
                          char **cause)
{
	if (add_prefix_space)
		pretok_add_prefix_space(p);
	if (use_regex)
		return pretok_add_regex(p, PRETOK_RE_GPT2, strlen(PRETOK_RE_GPT2), PRETOK_ISOLATED, false,
		                        where, cause);
	return 0;
}

int pretok_add_known(struct pretok *p, const char *pre, const char *where, char **cause)
{
	/*
	 * llama.cpp's names (llama-vocab.cpp) mapped to the tokenizer.json each
	 * family ships; the patterns are Hugging Face's, so that GGUF and
	 * tokenizer.json give the same ids.
	 */
	if (strcmp(pre, "llama-bpe") == 0 || strcmp(pre, "llama3") == 0 || strcmp(pre, "llama-v3") == 0)
		return pretok_add_regex(p, PRETOK_RE_LLAMA3, strlen(PRETOK_RE_LLAMA3), PRETOK_ISOLATED, false,
		                        where, cause) == 0
		               ? 1
		               : -1;
	if (strcmp(pre, "qwen2") == 0 || strcmp(pre, "deepseek-r1-qwen") == 0)
		return pretok_add_regex(p, PRETOK_RE_QWEN2, strlen(PRETOK_RE_QWEN2), PRETOK_ISOLATED, false,
		                        where, cause) == 0
		               ? 1
		               : -1;
	if (strcmp(pre, "smollm") == 0) {
		if (pretok_add_digits(p, true, where, cause) != 0)
			return -1;
		return pretok_add_byte_level(p, false, true, where, cause) == 0 ? 1 : -1;
	}
	if (strcmp(pre, "gpt-2") == 0 || strcmp(pre, "default") == 0)
		return pretok_add_byte_level(p, false, true, where, cause) == 0 ? 1 : -1;
	return 0;
}

void pretok_free(struct pretok *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		pcre2_code_free(p->steps[i].re);
		free(p->steps[i].literal);
		free(p->steps[i].desc);
	}
	free(p->steps);
	free(p->signature);
	memset(p, 0, sizeof *p);
}

/* ---- running ---------------------------------------------------------------------- */

static void mark_push(struct pretok_work *w, size_t off, size_t len, bool is_match)
{
	if (w->n_marks == w->cap_marks) {
		w->cap_marks = w->cap_marks ? 2 * w->cap_marks : 64;
		w->marks = xreallocarray(w->marks, w->cap_marks, sizeof *w->marks);
		w->is_match = xreallocarray(w->is_match, w->cap_marks, sizeof *w->is_match);
	}
	w->marks[w->n_marks] = (struct pretok_span){off, len};
	w->is_match[w->n_marks] = is_match;
	w->n_marks++;
}

static void next_push(struct pretok_work *w, size_t off, size_t len)
{
	if (len == 0) /* HF drops empty splits */
		return;
	if (w->n_next == w->cap_next) {
		w->cap_next = w->cap_next ? 2 * w->cap_next : 256;
		w->next = xreallocarray(w->next, w->cap_next, sizeof *w->next);
	}
	w->next[w->n_next++] = (struct pretok_span){off, len};
}

static size_t utf8_char_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t l = utf8_decode(s, n, &cp);
	return l ? l : 1;
}

/*
 * Matches of the step in s[0..len), as HF's Pattern::find_matches gives them:
 * consecutive (offset, length, is_match) covering the piece, with empty
 * matches right after a match skipped (the Rust regex iterator's rule).
 * Offsets are relative to s.
 */
static int find_matches(const struct pretok_step *st, const char *s, size_t len, struct pretok_work *w,
                        char **cause)
{
	size_t pos = 0, prev = 0;
	size_t last_end = (size_t)-1;

	w->n_marks = 0;
	while (pos <= len) {
		size_t ms, me;

		if (st->kind == PRETOK_STEP_STRING) {
			const char *hit;
			if (st->literal_len == 0 || len - pos < st->literal_len)
				break;
			hit = memmem(s + pos, len - pos, st->literal, st->literal_len);
			if (!hit)
				break;
			ms = (size_t)(hit - s);
			me = ms + st->literal_len;
		} else {
			int rc = pcre2_match(st->re, (PCRE2_SPTR)s, len, pos, 0, w->md, NULL);
			if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
				rc = pcre2_match(st->re, (PCRE2_SPTR)s, len, pos, PCRE2_NO_JIT, w->md, NULL);
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0) {
				PCRE2_UCHAR msg[256];
				pcre2_get_error_message(rc, msg, sizeof msg);
				return error_set(cause, "pre-tokenizer regex '%s' failed: %s", st->desc,
				                 (const char *)msg);
			}
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
			ms = ov[0];
			me = ov[1];
		}
		if (ms == me && last_end == me) {
			if (me >= len)
				break;
			pos = me + utf8_char_len((const unsigned char *)s + me, len - me);
			continue;
		}
		if (prev != ms)
			mark_push(w, prev, ms - prev, false);
		mark_push(w, ms, me - ms, true);
		prev = me;
		last_end = me;
		pos = me;
		if (pos >= len && ms != me)
			break;
	}
	if (prev != len)
		mark_push(w, prev, len - prev, false);
	return 0;
}

/* HF NormalizedString::split: matches of one piece -> pieces, by the step's behaviour. */
static void apply_behavior(const struct pretok_step *st, size_t base, struct pretok_work *w)
{
	size_t n = w->n_marks, i;
	bool prev_match = false;

	if (st->invert)
		for (i = 0; i < n; i++)
			w->is_match[i] = !w->is_match[i];
	switch (st->behavior) {
	case PRETOK_ISOLATED:
		for (i = 0; i < n; i++)
			next_push(w, base + w->marks[i].off, w->marks[i].len);
		break;
	case PRETOK_REMOVED:
		for (i = 0; i < n; i++)
			if (!w->is_match[i])
				next_push(w, base + w->marks[i].off, w->marks[i].len);
		break;
	case PRETOK_CONTIGUOUS:
	case PRETOK_MERGED_WITH_PREVIOUS: {
		/* Build merged spans in marks[] in place, then emit. */
		size_t m = 0;
		for (i = 0; i < n; i++) {
			bool is_match = w->is_match[i];
			bool merge = st->behavior == PRETOK_CONTIGUOUS ? is_match == prev_match
			                                               : (is_match && !prev_match);
			if (merge && m > 0) {
				struct pretok_span *last = &w->marks[m - 1];
				last->len = w->marks[i].off + w->marks[i].len - last->off;
			} else {
				w->marks[m++] = w->marks[i];
			}
			prev_match = is_match;
		}
		for (i = 0; i < m; i++)
			next_push(w, base + w->marks[i].off, w->marks[i].len);
		break;
	}
	case PRETOK_MERGED_WITH_NEXT: {
		/* The same from the right: a match joins the piece after it. */
		size_t m = n; /* merged spans fill marks[m..n) */
		for (i = n; i-- > 0;) {
			bool is_match = w->is_match[i];
			if (is_match && !prev_match && m < n) {
				struct pretok_span *first = &w->marks[m];
				first->len = first->off + first->len - w->marks[i].off;
				first->off = w->marks[i].off;
			} else {
				w->marks[--m] = w->marks[i];
			}
			prev_match = is_match;
		}
		for (i = m; i < n; i++)
			next_push(w, base + w->marks[i].off, w->marks[i].len);
		break;
	}
	}
}

int pretok_run(const struct pretok *p, const char *text, size_t len, struct pretok_work *w, char **cause)
{
	w->text.len = 0;
	buf_append(&w->text, text, len);
	w->n_spans = 0;
	if (len > 0) {
		if (w->cap_spans == 0) {
			w->cap_spans = 256;
			w->spans = xreallocarray(w->spans, w->cap_spans, sizeof *w->spans);
		}
		w->spans[w->n_spans++] = (struct pretok_span){0, len};
	}
	if (!w->md) {
		w->md = pcre2_match_data_create(1, NULL);
		if (!w->md)
			fatal("out of memory creating PCRE2 match data");
	}
	/* One step over every piece, then the next step (HF's PreTokenizer Sequence). */
	for (size_t k = 0; k < p->n_steps; k++) {
		const struct pretok_step *st = &p->steps[k];
		struct pretok_span *tmp;
		size_t tmp_cap;

		w->n_next = 0;
		for (size_t i = 0; i < w->n_spans; i++) {
			struct pretok_span sp = w->spans[i];

			if (st->kind == PRETOK_STEP_PREFIX_SPACE) {
				if (w->text.data[sp.off] == ' ') {
					next_push(w, sp.off, sp.len);
				} else {
					size_t off = w->text.len;
					/* Reserve first: the copy's source is the buffer itself. */
					buf_reserve(&w->text, sp.len + 1);
					buf_putc(&w->text, ' ');
					buf_append(&w->text, w->text.data + sp.off, sp.len);
					next_push(w, off, sp.len + 1);
				}
				continue;
			}
			if (find_matches(st, w->text.data + sp.off, sp.len, w, cause) != 0)
				return -1;
			apply_behavior(st, sp.off, w);
		}
		tmp = w->spans;
		w->spans = w->next;
		w->next = tmp;
		tmp_cap = w->cap_spans;
		w->cap_spans = w->cap_next;
		w->cap_next = tmp_cap;
		w->n_spans = w->n_next;
	}
	return 0;
}

void pretok_work_free(struct pretok_work *w)
{
	buf_free(&w->text);
	free(w->spans);
	free(w->next);
	free(w->marks);
	free(w->is_match);
	pcre2_match_data_free(w->md);
	memset(w, 0, sizeof *w);
}
