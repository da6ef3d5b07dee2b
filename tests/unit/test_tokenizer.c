/*
 * test_tokenizer.c — the tokenizer on tiny hand-made tokenizers (tokenizer.json
 * files in a temporary folder, GGUF files from infer/gguf_write): merge order,
 * ignore_merges, added tokens with and without TOKENIZE_SPECIAL, NFC, BOS,
 * invalid UTF-8, decoding and streaming with partial UTF-8, and the messages
 * for unsupported and malformed files. Every expected id is derived by hand
 * from the tiny vocabulary below (the derivation is in the comment beside
 * the check); real vocabularies are the golden test's business.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/gguf.h"
#include "infer/gguf_write.h"
#include "infer/tokenizer.h"
#include "infer/tokenizer_impl.h"
#include "infer/util.h"
#include "tests/tap.h"

/*
 * The vocabulary, in GPT-2's byte-mapped form (JSON escapes):
 *   0 a  1 b  2 c  3 Ġ (byte 0x20)  4 ab  5 bc  6 abc  7 <  8 >  9 s  10 e
 *   11 Ì (byte 0xCC)  12 ģ (byte 0x81)  13 Ã (byte 0xC3)  14 © (byte 0xA9)
 *   15 Ã© (bytes C3 A9: "é")  16 ðŁ (bytes F0 9F)  17 ĺĢ (bytes 98 80)
 *   18 ÿ (byte 0xFF)  19 aa  20 ð (F0)  21 Ł (9F)  22 ĺ (98)  23 Ģ (80)
 * Added: 24 <s> (special), 25 <s>> (special), 26 <m> (special, lstrip and
 * rstrip), 27 <t> (not special, normalized).
 * Bytes 0x81, 0x9F, 0x98 and 0x80 are not printable, so GPT-2's map sends
 * them to U+0100 + their rank among such bytes (0x00-0x20 are 0-32, 0x7F is
 * 33, 0x80 is 34 -> U+0122 Ģ, 0x81 -> U+0123 ģ, 0x98 -> U+013A ĺ, 0x9F ->
 * U+0141 Ł); printable Latin-1 maps to itself.
 */
#define VOCAB                                                                                                \
	"\"a\":0,\"b\":1,\"c\":2,\"\\u0120\":3,\"ab\":4,\"bc\":5,\"abc\":6,\"<\":7,\">\":8,\"s\":9,"         \
	"\"e\":10,\"\\u00cc\":11,\"\\u0123\":12,\"\\u00c3\":13,\"\\u00a9\":14,\"\\u00c3\\u00a9\":15,"        \
	"\"\\u00f0\\u0141\":16,\"\\u013a\\u0122\":17,\"\\u00ff\":18,\"aa\":19,\"\\u00f0\":20,"               \
	"\"\\u0141\":21,\"\\u013a\":22,\"\\u0122\":23"

#define ADDED_TOKEN(id, content, special, lstrip, rstrip, normalized)                                        \
	"{\"id\":" #id ",\"content\":\"" content "\",\"single_word\":false,\"lstrip\":" #lstrip              \
	",\"rstrip\":" #rstrip ",\"normalized\":" #normalized ",\"special\":" #special "}"
/* clang-format off */
#define ADDED                                                            \
	ADDED_TOKEN(24, "<s>", true, false, false, false) ","            \
	ADDED_TOKEN(25, "<s>>", true, false, false, false) ","           \
	ADDED_TOKEN(26, "<m>", true, true, true, false) ","              \
	ADDED_TOKEN(27, "<t>", false, false, false, true)
/* clang-format on */

#define GPT2_PRE                                                                                             \
	"{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}"
#define BOS_TEMPLATE                                                                                         \
	"{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"    \
	"{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\","          \
	"\"ids\":[24],\"tokens\":[\"<s>\"]}}}"

/* The parts of a tokenizer.json; NULL fields take the defaults above. */
struct tj {
	const char *vocab, *merges, *model_extra, *normalizer, *pre, *added, *post, *model_type;
};

static char tmpdir[64];
static int n_files;

static char *write_text(const char *name, const char *text)
{
	char *path = xasprintf("%s/%d-%s", tmpdir, n_files++, name);
	FILE *f = fopen(path, "wb");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	return path;
}

static char *tj_text(const struct tj *t)
{
	return xasprintf("{\"version\":\"1.0\",\"added_tokens\":[%s],\"normalizer\":%s,\"pre_tokenizer\":%s,"
	                 "\"post_processor\":%s,\"decoder\":{\"type\":\"ByteLevel\"},"
	                 "\"model\":{\"type\":\"%s\",%s\"vocab\":{%s},\"merges\":[%s]}}",
	                 t->added ? t->added : ADDED, t->normalizer ? t->normalizer : "null",
	                 t->pre ? t->pre : GPT2_PRE, t->post ? t->post : "null",
	                 t->model_type ? t->model_type : "BPE", t->model_extra ? t->model_extra : "",
	                 t->vocab ? t->vocab : VOCAB, t->merges ? t->merges : "\"a b\",\"b c\"");
}

/* Load a tokenizer.json built from t (and a tokenizer_config.json when config is set). */
static struct tokenizer *load(const struct tj *t, const char *config, char **cause)
{
	char *text = tj_text(t), *path = write_text("tokenizer.json", text), *cpath = NULL;
	struct tokenizer *tok;

	if (config)
		cpath = write_text("tokenizer_config.json", config);
	free(*cause);
	*cause = NULL;
	tok = tokenizer_from_json_file(path, cpath, cause);
	free(text);
	free(path);
	free(cpath);
	return tok;
}

/* Encode and compare with the expected ids; prints both on a mismatch. */
static void check_ids(const struct tokenizer *tok, const char *text, size_t len, unsigned flags,
                      const int32_t *want, size_t n_want, const char *name)
{
	struct tokens got = {0};
	char *cause = NULL;
	bool same;

	if (!tok) {
		tap_ok(0, "%s (no tokenizer)", name);
		return;
	}
	if (tokenizer_encode(tok, text, len, flags, &got, &cause) != 0) {
		tap_ok(0, "%s", name);
		tap_diag("  encode failed: %s", cause);
		free(cause);
		return;
	}
	same = got.n == n_want && (n_want == 0 || memcmp(got.ids, want, n_want * sizeof *want) == 0);
	if (!tap_ok(same, "%s", name)) {
		struct buf b = {0};
		buf_printf(&b, "  got [");
		for (size_t i = 0; i < got.n; i++)
			buf_printf(&b, "%s%d", i ? " " : "", got.ids[i]);
		buf_printf(&b, "], want [");
		for (size_t i = 0; i < n_want; i++)
			buf_printf(&b, "%s%d", i ? " " : "", want[i]);
		buf_printf(&b, "]");
		tap_diag("%s", buf_cstr(&b));
		buf_free(&b);
	}
	tokens_free(&got);
}

#define IDS(...)                           ((const int32_t[]){__VA_ARGS__}), sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)
#define CHECK(tok, text, flags, name, ...) check_ids(tok, text, strlen(text), flags, IDS(__VA_ARGS__), name)

static void test_merges(void)
{
	char *cause = NULL;
	struct tokenizer *tok;

	/* "abc" is one GPT-2 piece. Ranks (a,b)=0 < (b,c)=1: ab first, then (ab,c) is no merge -> ab c. */
	tok = load(&(struct tj){.merges = "\"a b\",\"b c\""}, NULL, &cause);
	CHECK(tok, "abc", 0, "lowest rank merges first (a b before b c)", 4, 2);
	/* " abc abc": pieces " abc" and " abc"; "Ġ" has no merge with a. */
	CHECK(tok, " abc abc", 0, "each GPT-2 piece merged apart", 3, 4, 2, 3, 4, 2);
	tokenizer_free(tok);

	/* The same merges, ranks swapped: (b,c)=0 first, then (a,bc) is no merge -> a bc. */
	tok = load(&(struct tj){.merges = "[\"b\",\"c\"],[\"a\",\"b\"]"}, NULL, &cause);
	CHECK(tok, "abc", 0, "merges given as arrays, ranks swapped: b c first", 0, 5);
	tokenizer_free(tok);

	/* "aaa": (a,a) at 0 and at 1 have the same rank; the leftmost merges first -> aa a. */
	tok = load(&(struct tj){.merges = "\"a a\""}, NULL, &cause);
	CHECK(tok, "aaa", 0, "equal ranks: leftmost pair first", 19, 0);
	tokenizer_free(tok);

	/* ignore_merges: "abc" is a vocabulary entry, so the piece is that entry whatever the merges say. */
	tok = load(&(struct tj){.merges = "\"a b\"", .model_extra = "\"ignore_merges\":true,"}, NULL, &cause);
	CHECK(tok, "abc", 0, "ignore_merges: a piece in the vocabulary is emitted whole", 6);
	/* "cab" is one piece but not in the vocabulary: c, then (a,b) merges. */
	CHECK(tok, "cab", 0, "ignore_merges: a piece not in the vocabulary is merged", 2, 4);
	tokenizer_free(tok);
	tok = load(&(struct tj){.merges = "\"a b\""}, NULL, &cause);
	CHECK(tok, "abc", 0, "without ignore_merges the same piece is merged: ab c", 4, 2);
	tokenizer_free(tok);
	free(cause);
}

static void test_special(void)
{
	char *cause = NULL;
	struct tokenizer *tok = load(&(struct tj){0}, NULL, &cause);

	/* With the flag <s> is id 24; around it "a" and "b" are pieces of their own. */
	CHECK(tok, "a<s>b", TOKENIZE_SPECIAL, "special: <s> matched", 0, 24, 1);
	/* Without it the text is plain: GPT-2 pieces a, <, s, >, b. */
	CHECK(tok, "a<s>b", 0, "user text: <s> is characters", 0, 7, 9, 8, 1);
	/* <s>> and <s> both start at 0: the longer wins. */
	CHECK(tok, "<s>>b", TOKENIZE_SPECIAL, "special: longest match first", 25, 1);
	/* Non-special added tokens are matched too (as HF's added vocabulary does). */
	CHECK(tok, "a<t>", TOKENIZE_SPECIAL, "special: non-special added token matched", 0, 27);
	/* <m> strips the spaces on both sides: "a", <m>, "b" (no Ġ). */
	CHECK(tok, "a <m> b", TOKENIZE_SPECIAL, "special: lstrip and rstrip take the spaces", 0, 26, 1);
	/* <s> has no strip: " " before it is a piece of its own (Ġ), " b" is Ġ b. */
	CHECK(tok, "a <s> b", TOKENIZE_SPECIAL, "special: no strip keeps the spaces", 0, 3, 24, 3, 1);
	/* Bytes missing from the vocabulary ('t', 'm') are left out, as HF does. */
	CHECK(tok, "<t>", 0, "user text: bytes without a token are left out", 7, 8);
	tokenizer_free(tok);
	free(cause);
}

static void test_nfc_and_bytes(void)
{
	char *cause = NULL;
	struct tokenizer *tok;
	const char nfd[] = "e\xCC\x81"; /* e + U+0301 */

	/* NFC composes e + U+0301 into é (C3 A9): one letter piece, Ã+© merged by "Ã ©". */
	tok = load(&(struct tj){.merges = "\"a b\",\"\\u00c3 \\u00a9\"", .normalizer = "{\"type\":\"NFC\"}"},
	           NULL, &cause);
	TAP_EQ_INT(tok && tokenizer_normalizes_nfc(tok), 1, "normalizer NFC read");
	CHECK(tok, nfd, 0, "NFC: e + U+0301 becomes one token for é", 15);
	tokenizer_free(tok);
	tok = load(&(struct tj){.merges = "\"a b\",\"\\u00c3 \\u00a9\"",
	                        .normalizer = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"}]}"},
	           NULL, &cause);
	CHECK(tok, nfd, 0, "NFC inside a Sequence", 15);
	tokenizer_free(tok);

	/* No normaliser: pieces "e" (letter) and U+0301 (a mark: bytes CC 81 -> Ì ģ). */
	tok = load(&(struct tj){.merges = "\"a b\",\"\\u00c3 \\u00a9\""}, NULL, &cause);
	TAP_EQ_INT(tok && tokenizer_normalizes_nfc(tok), 0, "no normalizer: no NFC");
	CHECK(tok, nfd, 0, "no NFC: e and the combining mark apart", 10, 11, 12);
	/* Invalid UTF-8 is encoded as its bytes: 0xFF maps to ÿ (18). */
	check_ids(tok,
	          "a\xFF"
	          "b",
	          3, 0, IDS(0, 18, 1), "invalid UTF-8 encoded as bytes");
	tokenizer_free(tok);
	free(cause);
}

static void check_decode(const struct tokenizer *tok, const int32_t *ids, size_t n, bool special,
                         const char *want, const char *name)
{
	char *cause = NULL, *got = tok ? tokenizer_decode(tok, ids, n, special, NULL, &cause) : NULL;

	TAP_EQ_STR(got, want, name);
	free(got);
	free(cause);
}

static void test_decode(void)
{
	char *cause = NULL;
	struct tokenizer *tok = load(&(struct tj){0}, NULL, &cause);
	struct detok d;
	struct buf out = {0};
	const char *bytes;
	size_t len;

	if (!tok) {
		tap_ok(0, "decode tokenizer loads: %s", cause);
		free(cause);
		return;
	}
	/* 16 = F0 9F, 17 = 98 80: together U+1F600. */
	check_decode(tok, IDS(16, 17), true, "\xF0\x9F\x98\x80", "decode joins a split emoji");
	check_decode(tok, IDS(16), true, "\xEF\xBF\xBD", "decode: a truncated sequence is one U+FFFD");
	/* F0 9F then 'a': F0 9F is one maximal invalid subpart. */
	check_decode(tok, IDS(20, 21, 0), true,
	             "\xEF\xBF\xBD"
	             "a",
	             "decode: one U+FFFD per invalid subpart");
	/* Two lone continuation bytes (80, 80): two replacements. */
	check_decode(tok, IDS(23, 23), true, "\xEF\xBF\xBD\xEF\xBF\xBD",
	             "decode: each stray continuation byte");
	check_decode(tok, IDS(24, 0, 27), false, "a<t>", "decode without special: <s> left out, <t> kept");
	check_decode(tok, IDS(24, 0, 27), true, "<s>a<t>", "decode with special: <s> as its text");
	check_decode(tok, IDS(3, 0), true, " a", "decode: Ġ is a space");
	{
		char *s = tokenizer_decode(tok, IDS(0, 99), true, NULL, &cause);
		TAP_ERR_HAS(cause, "token id 99", "decode: an unknown id is an error");
		free(s);
	}

	detok_init(&d);
	detok_push(tok, &d, 16, true, &out);
	TAP_EQ_INT(out.len, 0, "detok holds back the first half of an emoji");
	detok_push(tok, &d, 17, true, &out);
	TAP_EQ_STR(buf_cstr(&out), "\xF0\x9F\x98\x80", "detok emits it whole with the second half");
	out.len = 0;
	detok_push(tok, &d, 20, true, &out); /* F0 */
	detok_push(tok, &d, 21, true, &out); /* 9F */
	detok_push(tok, &d, 22, true, &out); /* 98 */
	TAP_EQ_INT(out.len, 0, "detok holds three bytes of a four-byte character");
	detok_push(tok, &d, 24, false, &out); /* special, skipped: the character stays pending */
	detok_push(tok, &d, 23, true, &out);  /* 80 */
	TAP_EQ_STR(buf_cstr(&out), "\xF0\x9F\x98\x80",
	           "detok: four one-byte tokens, a skipped special between");
	out.len = 0;
	detok_push(tok, &d, 16, true, &out);
	detok_push(tok, &d, 0, true, &out);
	TAP_EQ_STR(buf_cstr(&out),
	           "\xEF\xBF\xBD"
	           "a",
	           "detok: an interrupted sequence becomes U+FFFD");
	out.len = 0;
	detok_push(tok, &d, 16, true, &out);
	detok_flush(&d, &out);
	TAP_EQ_STR(buf_cstr(&out), "\xEF\xBF\xBD", "detok_flush: what is held back comes out as U+FFFD");
	buf_free(&out);

	bytes = tokenizer_token_bytes(tok, 3, &len);
	TAP_EQ_INT(len == 1 && bytes[0] == ' ', 1, "token_bytes(Ġ) is a space");
	bytes = tokenizer_piece(tok, 3, &len);
	TAP_EQ_INT(len == 2 && memcmp(bytes, "\xC4\xA0", 2) == 0, 1, "piece(3) is Ġ as stored");
	bytes = tokenizer_token_bytes(tok, 26, &len);
	TAP_EQ_INT(len == 3 && memcmp(bytes, "<m>", 3) == 0, 1, "token_bytes of an added token is its text");
	TAP_EQ_INT(tokenizer_is_special(tok, 24), 1, "<s> is special");
	TAP_EQ_INT(tokenizer_is_special(tok, 27), 0, "<t> is not special");
	TAP_EQ_INT(tokenizer_find(tok, "<t>", 3), 27, "find an added token");
	TAP_EQ_INT(tokenizer_find(tok, "\xC3\x83\xC2\xA9", 4), 15, "find a byte-mapped piece");
	TAP_EQ_INT(tokenizer_find(tok, "zz", 2), -1, "find: absent");
	TAP_EQ_INT(tokenizer_n_vocab(tok), 28, "n_vocab is the highest id + 1");
	TAP_EQ_STR(tokenizer_type(tok), "gpt2", "type gpt2");
	TAP_EQ_STR(tokenizer_pre(tok), "gpt-2", "a lone ByteLevel with its regex is the gpt-2 pre-tokenizer");
	tokenizer_free(tok);
	free(cause);
}

static void test_bos(void)
{
	char *cause = NULL;
	struct tokenizer *tok;

	tok = load(&(struct tj){.post = BOS_TEMPLATE}, NULL, &cause);
	TAP_EQ_INT(tok ? tokenizer_add_bos(tok) : -1, 1, "TemplateProcessing with <s> first: add_bos");
	TAP_EQ_INT(tok ? tokenizer_bos(tok) : -9, 24, "BOS from the template");
	CHECK(tok, "a", TOKENIZE_ADD_BOS, "ADD_BOS prepends it", 24, 0);
	CHECK(tok, "a", 0, "no BOS without the flag", 0);
	tokenizer_free(tok);

	tok = load(&(struct tj){.post = BOS_TEMPLATE}, "{\"add_bos_token\":false,\"model_max_length\":1e30}",
	           &cause);
	TAP_EQ_INT(tok ? tokenizer_add_bos(tok) : -1, 0, "tokenizer_config add_bos_token false overrides");
	CHECK(tok, "a", TOKENIZE_ADD_BOS, "no BOS then, even with the flag", 0);
	tokenizer_free(tok);

	tok = load(&(struct tj){0},
	           "{\"add_bos_token\":true,\"bos_token\":{\"content\":\"<s>>\"},\"eos_token\":\"<m>\","
	           "\"model_max_length\":1000000000000000019884624838656}",
	           &cause);
	TAP_EQ_INT(tok ? tokenizer_bos(tok) : -9, 25, "bos_token from tokenizer_config");
	TAP_EQ_INT(tok ? tokenizer_eos(tok) : -9, 26, "eos_token from tokenizer_config");
	CHECK(tok, "a", TOKENIZE_ADD_BOS | TOKENIZE_SPECIAL, "add_bos_token true: BOS 25", 25, 0);
	tokenizer_free(tok);

	tok = load(&(struct tj){0}, NULL, &cause);
	TAP_EQ_INT(tok ? tokenizer_add_bos(tok) : -1, 0, "no template, no config: no BOS");
	tokenizer_free(tok);
	free(cause);
}

static void expect_error(const struct tj *t, const char *frag, const char *name)
{
	char *cause = NULL;
	struct tokenizer *tok = load(t, NULL, &cause);

	TAP_ERR_HAS(tok ? NULL : cause, frag, name);
	if (cause && !strstr(cause, tmpdir))
		tap_diag("  (the message does not name the file: %s)", cause);
	tokenizer_free(tok);
	free(cause);
}

static void test_errors(void)
{
	char *cause = NULL, *path;
	struct tokenizer *tok;

	expect_error(&(struct tj){.model_type = "WordPiece"},
	             "tokenizer type 'WordPiece' (model.type) is not supported; duet supports byte-level BPE "
	             "('gpt2')",
	             "WordPiece refused");
	expect_error(&(struct tj){.model_type = "Unigram"}, "tokenizer type 'Unigram'", "Unigram refused");
	expect_error(&(struct tj){.model_extra = "\"byte_fallback\":true,"},
	             "byte_fallback (SentencePiece-style)", "byte_fallback BPE refused");
	expect_error(&(struct tj){.pre = "{\"type\":\"Metaspace\",\"replacement\":\"_\"}"},
	             "pre-tokenizer 'Metaspace' is not supported", "Metaspace refused");
	expect_error(&(struct tj){.pre = "{\"type\":\"Split\",\"pattern\":{\"String\":\" "
	                                 "\"},\"behavior\":\"Isolated\"}"},
	             "no ByteLevel step", "BPE without ByteLevel refused");
	expect_error(&(struct tj){.pre = "{\"type\":\"Sequence\",\"pretokenizers\":[" GPT2_PRE
	                                 ",{\"type\":\"Digits\",\"individual_digits\":true}]}"},
	             "comes after ByteLevel", "a step after ByteLevel refused");
	expect_error(&(struct tj){.pre = "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":"
	                                 "\"Isolated\"}"},
	             "does not compile", "a bad regex named");
	expect_error(&(struct tj){.normalizer = "{\"type\":\"NFKC\"}"}, "normalizer 'NFKC' is not supported",
	             "NFKC refused");
	expect_error(&(struct tj){.merges = "\"a x\""}, "merge 0 ('a' 'x'): 'x' is not in model.vocab",
	             "merge with an unknown token");
	expect_error(&(struct tj){.merges = "\"a b\",\"b a\""}, "merge 1 ('b' 'a'): the merged token 'ba'",
	             "merge whose result is not in the vocabulary");
	expect_error(&(struct tj){.merges = "\"a b c\""}, "is not two tokens separated by one space",
	             "merge that is not two tokens");
	expect_error(&(struct tj){.merges = "7"}, "model.merges[0] must be", "merge of the wrong kind");
	expect_error(&(struct tj){.vocab = "\"a\":0,\"b\":0", .merges = "", .added = ""},
	             "gives id 0 to both", "duplicate ids");
	expect_error(&(struct tj){.vocab = "\"a\":-1", .merges = "", .added = ""}, "non-negative integer id",
	             "negative id");
	expect_error(&(struct tj){.vocab = "\"a\":0,\"b\":99999999", .merges = "", .added = ""},
	             "far past the vocabulary", "absurd id refused before allocating");
	expect_error(&(struct tj){.added = ADDED_TOKEN(5, "a", true, false, false, false)}, "already id 0",
	             "added token contradicting the vocabulary");
	expect_error(&(struct tj){.added = ADDED_TOKEN(5, "<q>", true, false, false, false)},
	             "which is already 'bc'", "added token on a taken id");

	path = write_text("tokenizer.json", "{\"version\":\"1.0\",\"normalizer\":null}");
	tok = tokenizer_from_json_file(path, NULL, &cause);
	TAP_ERR_HAS(tok ? NULL : cause, "field 'model' is missing", "missing model");
	TAP_ERR_HAS(cause, path, "the message names the file");
	free(path);
	free(cause);
	cause = NULL;
	path = write_text("tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
	tok = tokenizer_from_json_file(path, NULL, &cause);
	TAP_ERR_HAS(tok ? NULL : cause, "JSON syntax error", "truncated JSON");
	free(path);
	free(cause);
}

/* A tokenizer-only GGUF: tokens a b ab <s> <u> (types 1 1 1 3 4), merge "a b". */
static char *write_gguf(const char *model, const char *pre, bool with_merges)
{
	static const char *const tokens[] = {"a", "b", "ab", "<s>", "<u>"};
	static const int32_t types[] = {1, 1, 1, 3, 4};
	static const char *const merges[] = {"a b"};
	struct gguf_writer *w = gguf_writer_new();
	char *path = xasprintf("%s/%d.gguf", tmpdir, n_files++), *cause = NULL;

	gguf_writer_add_str(w, "general.architecture", "llama");
	gguf_writer_add_str(w, "tokenizer.ggml.model", model);
	if (pre)
		gguf_writer_add_str(w, "tokenizer.ggml.pre", pre);
	gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", tokens, 5);
	gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 5);
	if (with_merges)
		gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", merges, 1);
	gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 3);
	gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true);
	if (gguf_writer_write(w, path, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		exit(1);
	}
	gguf_writer_free(w);
	return path;
}

static struct tokenizer *load_gguf(const char *path, struct gguf **g, char **cause)
{
	*g = gguf_open(path, cause);
	return *g ? tokenizer_from_gguf(*g, cause) : NULL;
}

static void test_gguf(void)
{
	char *cause = NULL, *path;
	struct gguf *g;
	struct tokenizer *tok;

	path = write_gguf("gpt2", "gpt-2", true);
	tok = load_gguf(path, &g, &cause);
	if (!tap_ok(tok != NULL, "tokenizer-only GGUF loads"))
		tap_diag("  %s", cause ? cause : "");
	/* "ab" merges to 2; <s> (control) and <u> (user-defined) are matched with the flag. */
	CHECK(tok, "ab<s><u>", TOKENIZE_SPECIAL | TOKENIZE_ADD_BOS,
	      "GGUF: BOS, merge, control and user tokens", 3, 2, 3, 4);
	TAP_EQ_INT(tok && tokenizer_is_special(tok, 3), 1, "GGUF control token is special");
	TAP_EQ_INT(tok && tokenizer_is_special(tok, 4), 0, "GGUF user-defined token is not special");
	TAP_EQ_STR(tok ? tokenizer_pre(tok) : NULL, "gpt-2", "GGUF pre name kept");
	tokenizer_free(tok);
	gguf_close(g);
	free(path);

	path = write_gguf("llama", "default", true);
	tok = load_gguf(path, &g, &cause);
	TAP_ERR_HAS(tok ? NULL : cause,
	            "tokenizer type 'llama' (SentencePiece) is not supported; duet supports byte-level BPE "
	            "('gpt2')",
	            "GGUF SentencePiece refused");
	TAP_ERR_HAS(cause, path, "GGUF message names the file");
	tokenizer_free(tok);
	gguf_close(g);
	free(path);

	path = write_gguf("bert", NULL, true);
	tok = load_gguf(path, &g, &cause);
	TAP_ERR_HAS(tok ? NULL : cause, "tokenizer type 'bert' (WordPiece)", "GGUF WordPiece refused");
	tokenizer_free(tok);
	gguf_close(g);
	free(path);

	path = write_gguf("gpt2", "mystery-pre", true);
	tok = load_gguf(path, &g, &cause);
	TAP_ERR_HAS(tok ? NULL : cause, "pre-tokenizer 'mystery-pre' (tokenizer.ggml.pre) is not supported",
	            "GGUF unknown pre named");
	tokenizer_free(tok);
	gguf_close(g);
	free(path);

	path = write_gguf("gpt2", "qwen2", false);
	tok = load_gguf(path, &g, &cause);
	TAP_ERR_HAS(tok ? NULL : cause, "tokenizer.ggml.merges is missing", "GGUF without merges");
	tokenizer_free(tok);
	gguf_close(g);
	free(path);
	free(cause);
}

static void test_pre_names(void)
{
	char *cause = NULL;
	struct tokenizer *tok;
	char pre[600];

	/* The families' tokenizer.json pre_tokenizers are recognised by name. */
	snprintf(pre, sizeof pre,
	         "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},"
	         "%s]}",
	         GPT2_PRE);
	tok = load(&(struct tj){.pre = pre}, NULL, &cause);
	TAP_EQ_STR(tok ? tokenizer_pre(tok) : NULL, "smollm", "Digits + ByteLevel is smollm");
	tokenizer_free(tok);
	free(cause);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/duet-test-tokenizer-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_merges();
	test_special();
	test_nfc_and_bytes();
	test_decode();
	test_bos();
	test_errors();
	test_gguf();
	test_pre_names();

	for (int i = 0; i < n_files; i++) {
		char *p1 = xasprintf("%s/%d-tokenizer.json", tmpdir, i),
		     *p2 = xasprintf("%s/%d-tokenizer_config.json", tmpdir, i),
		     *p3 = xasprintf("%s/%d.gguf", tmpdir, i);
		unlink(p1);
		unlink(p2);
		unlink(p3);
		free(p1);
		free(p2);
		free(p3);
	}
	rmdir(tmpdir);
	return tap_done();
}
