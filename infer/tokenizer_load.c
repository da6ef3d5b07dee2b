/*
 * tokenizer_load.c — building a tokenizer from GGUF metadata
 * (tokenizer.ggml.*, through infer/gguf.h) or from tokenizer.json and
 * tokenizer_config.json (through jansson, infer/json.h), and refusing what
 * duet cannot reproduce exactly: SentencePiece, WordPiece, Unigram,
 * byte_fallback BPE, unknown pre-tokenizers and normalizers. Calls
 * infer/gguf, infer/json, infer/model (for where the tokenizer lives),
 * infer/pretok and infer/util.
 *
 * What Hugging Face and llama.cpp disagree on, and what duet does:
 * - NFC: HF's Qwen2 tokenizer.json normalises to NFC; llama.cpp does not
 *   normalise at all. duet follows HF for GGUF pre types qwen2 and
 *   deepseek-r1-qwen too, so both file kinds give HF's ids.
 * - Regexes: HF's patterns (Oniguruma, case-insensitive contractions) for
 *   GGUF too, not llama.cpp's rewritten ones.
 * - Duplicate merges: tokenizer.json keeps the last (HF builds a hash map),
 *   GGUF the first (llama.cpp's emplace). Real files have none.
 * - GGUF token types: control (3) tokens are special; user-defined (4)
 *   tokens are added but not special (HF's special=false); both are matched
 *   with TOKENIZE_SPECIAL only. Unused (5) and unknown (2) tokens are
 *   special for decoding and never matched in text.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "infer/gguf.h"
#include "infer/json.h"
#include "infer/model.h"
#include "infer/tokenizer_impl.h"

#define TOKENIZER_JSON_MAX (512u << 20) /* the largest tokenizer.json read (Llama-3's is 9 MB) */
#define CONFIG_JSON_MAX    (16u << 20)
/* Ids may leave gaps, but not absurd ones: a hostile id must not size an allocation. */
#define ID_SLACK 65536

struct added_spec {
	int32_t id;
	const char *content;
	size_t len;
	bool special, normalized, lstrip, rstrip, single_word;
};

static const char *const SUPPORTED = "duet supports byte-level BPE ('gpt2')";

/* ---- common construction ------------------------------------------------------------ */

static struct tokenizer *tok_alloc(const char *name, size_t n_vocab)
{
	struct tokenizer *tok = xcalloc(1, sizeof *tok);
	int n = 0;

	tok->name = xstrdup(name);
	snprintf(tok->type, sizeof tok->type, "gpt2");
	tok->n_vocab = n_vocab;
	tok->piece = xcalloc(n_vocab, sizeof *tok->piece);
	tok->piece_len = xcalloc(n_vocab, sizeof *tok->piece_len);
	tok->flags = xcalloc(n_vocab, sizeof *tok->flags);
	tok->bos = tok->eos = tok->eot = -1;

	/* GPT-2's bytes_to_unicode: printable Latin-1 is itself, the rest U+0100 + n in byte order. */
	for (int b = 0; b < 256; b++) {
		bool printable =
		        (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
		uint32_t cp = printable ? (uint32_t)b : 0x100u + (uint32_t)n++;
		if (cp < 0x80) {
			tok->byte_utf8[b][0] = (char)cp;
			tok->byte_utf8_len[b] = 1;
		} else {
			tok->byte_utf8[b][0] = (char)(0xC0 | (cp >> 6));
			tok->byte_utf8[b][1] = (char)(0x80 | (cp & 0x3F));
			tok->byte_utf8_len[b] = 2;
		}
	}
	return tok;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;
	while (p < n)
		p *= 2;
	return p;
}

/* Enter id in the piece -> id table. A duplicate piece keeps the earlier id unless last_wins. */
static void index_insert(struct tokenizer *tok, size_t id, bool last_wins)
{
	size_t i = (size_t)tok_hash(tok->piece[id], tok->piece_len[id]) & tok->index_mask;

	for (;;) {
		int32_t other = tok->index[i];
		if (other < 0) {
			tok->index[i] = (int32_t)id;
			return;
		}
		if (tok->piece_len[other] == tok->piece_len[id] &&
		    memcmp(tok->piece[other], tok->piece[id], tok->piece_len[id]) == 0) {
			if (last_wins)
				tok->index[i] = (int32_t)id;
			return;
		}
		i = (i + 1) & tok->index_mask;
	}
}

/* The table sized for every id (load factor at most 1/2), with the ids present now. */
static void index_build(struct tokenizer *tok, bool last_wins)
{
	size_t size = pow2_at_least(tok->n_vocab * 2 + 1);

	tok->index = xreallocarray(NULL, size, sizeof *tok->index);
	memset(tok->index, 0xFF, size * sizeof *tok->index);
	tok->index_mask = size - 1;
	for (size_t id = 0; id < tok->n_vocab; id++)
		if (tok->flags[id] & TOK_PRESENT)
			index_insert(tok, id, last_wins);
}

static void merges_init(struct tokenizer *tok, size_t n)
{
	size_t size = pow2_at_least(n * 2 + 1);

	tok->merges = xreallocarray(NULL, size, sizeof *tok->merges);
	for (size_t i = 0; i < size; i++)
		tok->merges[i].rank = -1;
	tok->merges_mask = size - 1;
}

static int32_t model_find(const struct tokenizer *tok, const char *s, size_t len)
{
	int32_t id = tok_index_find(tok, s, len);
	return id >= 0 && (tok->flags[id] & TOK_MODEL) ? id : -1;
}

/* Merge number rank: a + b -> ab; all three must be BPE vocabulary entries. */
static int merge_add(struct tokenizer *tok, const char *a, size_t alen, const char *b, size_t blen,
                     size_t rank, bool keep_first, struct buf *scratch, const char *vocab_name, char **cause)
{
	int32_t ia = model_find(tok, a, alen), ib = model_find(tok, b, blen), ir;
	uint64_t key, h;
	size_t i;

	if (ia < 0 || ib < 0)
		return error_set(cause, "%s: merge %zu ('%.*s' '%.*s'): '%.*s' is not in %s", tok->name, rank,
		                 (int)alen, a, (int)blen, b, ia < 0 ? (int)alen : (int)blen, ia < 0 ? a : b,
		                 vocab_name);
	scratch->len = 0;
	buf_append(scratch, a, alen);
	buf_append(scratch, b, blen);
	ir = model_find(tok, scratch->data, scratch->len);
	if (ir < 0)
		return error_set(cause, "%s: merge %zu ('%.*s' '%.*s'): the merged token '%.*s' is not in %s",
		                 tok->name, rank, (int)alen, a, (int)blen, b, (int)scratch->len,
		                 scratch->data, vocab_name);
	key = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
	h = key * 0x9E3779B97F4A7C15ull;
	i = (size_t)(h ^ (h >> 29)) & tok->merges_mask;
	while (tok->merges[i].rank >= 0 && tok->merges[i].pair != key)
		i = (i + 1) & tok->merges_mask;
	if (tok->merges[i].rank >= 0 && keep_first)
		return 0;
	if (tok->merges[i].rank < 0)
		tok->n_merges++;
	tok->merges[i] = (struct tok_merge_slot){key, (int32_t)rank, ir};
	return 0;
}

static int byte_ids_build(struct tokenizer *tok)
{
	for (int b = 0; b < 256; b++)
		tok->byte_id[b] = model_find(tok, tok->byte_utf8[b], tok->byte_utf8_len[b]);
	return 0;
}

/* The flat id -> bytes table (the byte map reversed once, here). */
static int token_bytes_build(struct tokenizer *tok, char **cause)
{
	int16_t rev[0x144]; /* code point -> byte; the map's image is below U+0144 */
	struct buf out = {0};

	memset(rev, 0xFF, sizeof rev);
	for (int b = 0; b < 256; b++) {
		uint32_t cp;
		utf8_decode((const unsigned char *)tok->byte_utf8[b], tok->byte_utf8_len[b], &cp);
		rev[cp] = (int16_t)b;
	}
	tok->bytes_off = xreallocarray(NULL, tok->n_vocab + 1, sizeof *tok->bytes_off);
	for (size_t id = 0; id < tok->n_vocab; id++) {
		const unsigned char *p = (const unsigned char *)tok->piece[id];
		size_t len = tok->piece_len[id], start = out.len, i = 0;

		if (out.len > UINT32_MAX - len) {
			buf_free(&out);
			return error_set(cause, "%s: the vocabulary's text is larger than 4 GiB", tok->name);
		}
		tok->bytes_off[id] = (uint32_t)out.len;
		if (!(tok->flags[id] & TOK_PRESENT))
			continue;
		if (!(tok->flags[id] & TOK_RAW)) {
			while (i < len) {
				uint32_t cp;
				size_t n = utf8_decode(p + i, len - i, &cp);
				if (n == 0 || cp >= 0x144 || rev[cp] < 0)
					break;
				buf_putc(&out, (char)rev[cp]);
				i += n;
			}
		}
		/* Added tokens, and pieces outside the byte map (HF's ByteLevel decoder keeps those). */
		if (i < len) {
			out.len = start;
			buf_append(&out, p, len);
		}
	}
	tok->bytes_off[tok->n_vocab] = (uint32_t)out.len;
	buf_cstr(&out);
	tok->bytes = out.data;
	return 0;
}

static int added_cmp(const void *pa, const void *pb)
{
	const struct tok_added *a = pa, *b = pb;
	unsigned char fa = (unsigned char)a->text[0], fb = (unsigned char)b->text[0];

	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static void added_set_finish(struct tok_added_set *set)
{
	size_t k = 0;

	qsort(set->v, set->n, sizeof *set->v, added_cmp);
	for (int b = 0; b <= 256; b++) {
		while (k < set->n && (unsigned char)set->v[k].text[0] < b)
			k++;
		set->first[b] = (uint32_t)k;
	}
}

/* Split the added tokens into the raw and normalised matchers (HF refresh_added_tokens). */
static void added_sets_build(struct tokenizer *tok, const struct added_spec *specs, size_t n)
{
	struct buf norm = {0};
	size_t *norm_off = xcalloc(n, sizeof *norm_off);

	tok->added_raw.v = xcalloc(n, sizeof *tok->added_raw.v);
	tok->added_norm.v = xcalloc(n, sizeof *tok->added_norm.v);
	for (size_t i = 0; i < n; i++) {
		const struct added_spec *s = &specs[i];
		struct tok_added a = {.text = tok->piece[s->id],
		                      .len = tok->piece_len[s->id],
		                      .id = s->id,
		                      .lstrip = s->lstrip,
		                      .rstrip = s->rstrip,
		                      .single_word = s->single_word};
		if (s->len == 0)
			continue;
		if (!s->normalized) {
			tok->added_raw.v[tok->added_raw.n++] = a;
			continue;
		}
		/* Matched against normalised text, so normalised itself. */
		norm_off[tok->added_norm.n] = norm.len;
		if (tok->nfc)
			pretok_nfc(a.text, a.len, &norm);
		else
			buf_append(&norm, a.text, a.len);
		a.len = norm.len - norm_off[tok->added_norm.n];
		if (a.len == 0)
			continue;
		tok->added_norm.v[tok->added_norm.n++] = a;
	}
	buf_cstr(&norm);
	tok->added_norm_text = norm.data;
	for (size_t i = 0; i < tok->added_norm.n; i++)
		tok->added_norm.v[i].text = norm.data + norm_off[i];
	free(norm_off);
	added_set_finish(&tok->added_raw);
	added_set_finish(&tok->added_norm);
}

static int32_t find_by_name(const struct tokenizer *tok, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int32_t id = tok_index_find(tok, names[i], strlen(names[i]));
		if (id >= 0)
			return id;
	}
	return -1;
}

/* When the file names no end-of-turn token: the chat formats' (llama.cpp guesses from the same names). */
static int32_t guess_eot(const struct tokenizer *tok)
{
	static const char *const names[] = {
	        "<|eot_id|>",
	        "<|im_end|>",
	        "<|end|>",
	        "<end_of_turn>",
	        /* <｜end▁of▁sentence｜> (DeepSeek) */
	        "<\xEF\xBD\x9C"
	        "end\xE2\x96\x81"
	        "of\xE2\x96\x81"
	        "sentence\xEF\xBD\x9C>",
	};
	return find_by_name(tok, names, sizeof names / sizeof names[0]);
}

/* Everything after the pieces and flags are set: tables, merges come separately. */
static int tok_finish(struct tokenizer *tok, const struct added_spec *added, size_t n_added, char **cause)
{
	byte_ids_build(tok);
	if (token_bytes_build(tok, cause) != 0)
		return -1;
	added_sets_build(tok, added, n_added);
	if (tok->bos < 0)
		tok->add_bos = false;
	return 0;
}

/* ---- GGUF ---------------------------------------------------------------------------------- */

static const char *gguf_model_kind(const char *model)
{
	if (strcmp(model, "llama") == 0)
		return " (SentencePiece)";
	if (strcmp(model, "t5") == 0)
		return " (T5 Unigram)";
	if (strcmp(model, "bert") == 0)
		return " (WordPiece)";
	if (strcmp(model, "rwkv") == 0)
		return " (RWKV)";
	if (strcmp(model, "none") == 0 || strcmp(model, "no_vocab") == 0)
		return " (no vocabulary)";
	return "";
}

static int gguf_array_key(const struct gguf *g, const char *key, enum gguf_vtype elem, bool required,
                          int64_t *out, char **cause)
{
	int64_t k = gguf_find_key(g, key);

	*out = -1;
	if (k < 0) {
		if (required)
			return error_set(cause, "%s: %s is missing", gguf_path(g), key);
		return 0;
	}
	if (gguf_kv_type(g, (uint64_t)k) != GGUF_TYPE_ARRAY || gguf_arr_type(g, (uint64_t)k) != elem)
		return error_set(cause, "%s: %s must be an array of %s", gguf_path(g), key,
		                 elem == GGUF_TYPE_STRING ? "strings" : "32-bit integers");
	*out = k;
	return 0;
}

static int gguf_token_id(const struct gguf *g, const char *key, size_t n_vocab, int32_t *out, char **cause)
{
	uint32_t v;
	int r = gguf_get_u32(g, key, &v, cause);

	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	if (v >= n_vocab)
		return error_set(cause, "%s: %s %u is past the vocabulary (%zu tokens)", gguf_path(g), key, v,
		                 n_vocab);
	*out = (int32_t)v;
	return 0;
}

struct tokenizer *tokenizer_from_gguf(const struct gguf *g, char **cause)
{
	const char *path = gguf_path(g);
	struct tokenizer *tok = NULL;
	struct added_spec *added = NULL;
	struct gguf_str model, pre_s;
	struct buf scratch = {0};
	char pre[48], where[600];
	int64_t k_tokens, k_types, k_merges;
	uint64_t n, n_merges;
	size_t n_added = 0;
	int r;

	r = gguf_get_str(g, "tokenizer.ggml.model", &model, cause);
	if (r < 0)
		return NULL;
	if (r == 0) {
		error_set(cause, "%s: the file has no tokenizer (tokenizer.ggml.model is missing)", path);
		return NULL;
	}
	if (model.len != 4 || memcmp(model.ptr, "gpt2", 4) != 0) {
		char name[64];
		snprintf(name, sizeof name, "%.*s", model.len < 40 ? (int)model.len : 40, model.ptr);
		error_set(cause, "%s: tokenizer type '%s'%s is not supported; %s", path, name,
		          gguf_model_kind(name), SUPPORTED);
		return NULL;
	}
	r = gguf_get_str(g, "tokenizer.ggml.pre", &pre_s, cause);
	if (r < 0)
		return NULL;
	/* llama.cpp's choice for files that predate the key. */
	if (r == 0)
		snprintf(pre, sizeof pre, "default");
	else
		snprintf(pre, sizeof pre, "%.*s",
		         pre_s.len < sizeof pre - 1 ? (int)pre_s.len : (int)sizeof pre - 1, pre_s.ptr);

	if (gguf_array_key(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, true, &k_tokens, cause) != 0)
		return NULL;
	n = gguf_arr_len(g, (uint64_t)k_tokens);
	if (n == 0 || n > INT32_MAX) {
		error_set(cause, "%s: tokenizer.ggml.tokens has %llu entries", path, (unsigned long long)n);
		return NULL;
	}
	/* Token types: llama.cpp writes int32; unsigned has the same values. */
	k_types = gguf_find_key(g, "tokenizer.ggml.token_type");
	if (k_types >= 0 &&
	    !(gguf_kv_type(g, (uint64_t)k_types) == GGUF_TYPE_ARRAY &&
	      gguf_arr_type(g, (uint64_t)k_types) == GGUF_TYPE_UINT32) &&
	    gguf_array_key(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, false, &k_types, cause) != 0)
		return NULL;
	if (k_types >= 0 && gguf_arr_len(g, (uint64_t)k_types) != n) {
		error_set(cause, "%s: tokenizer.ggml.token_type has %llu entries for %llu tokens", path,
		          (unsigned long long)gguf_arr_len(g, (uint64_t)k_types), (unsigned long long)n);
		return NULL;
	}
	if (gguf_array_key(g, "tokenizer.ggml.merges", GGUF_TYPE_STRING, true, &k_merges, cause) != 0)
		return NULL;

	tok = tok_alloc(path, (size_t)n);
	snprintf(tok->pre, sizeof tok->pre, "%s", pre);
	snprintf(where, sizeof where, "%s: tokenizer.ggml.pre '%s'", path, pre);
	r = pretok_add_known(&tok->pretok, pre, where, cause);
	if (r < 0)
		goto fail;
	if (r == 0) {
		error_set(cause,
		          "%s: pre-tokenizer '%s' (tokenizer.ggml.pre) is not supported; duet supports "
		          "llama-bpe, "
		          "qwen2, deepseek-r1-qwen, smollm and gpt-2",
		          path, pre);
		goto fail;
	}
	tok->nfc = strcmp(pre, "qwen2") == 0 || strcmp(pre, "deepseek-r1-qwen") == 0;
	/* llama.cpp sets ignore_merges for the Llama-3 pre-tokenizer, as its tokenizer.json does. */
	tok->ignore_merges =
	        strcmp(pre, "llama-bpe") == 0 || strcmp(pre, "llama3") == 0 || strcmp(pre, "llama-v3") == 0;

	added = xcalloc((size_t)n, sizeof *added);
	for (uint64_t id = 0; id < n; id++) {
		struct gguf_str s = gguf_arr_str(g, (uint64_t)k_tokens, id);
		int32_t type = 1;
		uint8_t f = TOK_PRESENT | TOK_MODEL;

		if (s.len > UINT32_MAX) {
			error_set(cause, "%s: token %llu is %llu bytes long", path, (unsigned long long)id,
			          (unsigned long long)s.len);
			goto fail;
		}
		tok->piece[id] = s.ptr;
		tok->piece_len[id] = (uint32_t)s.len;
		if (k_types >= 0)
			memcpy(&type, (const char *)gguf_arr_data(g, (uint64_t)k_types) + 4 * id, 4);
		switch (type) {
		case 2: /* unknown */
		case 5: /* unused */
			f |= TOK_SPECIAL | TOK_RAW;
			break;
		case 3: /* control */
			f |= TOK_SPECIAL | TOK_RAW | TOK_ADDED;
			break;
		case 4: /* user-defined */
			f |= TOK_RAW | TOK_ADDED;
			break;
		default: /* 1 normal, 6 byte (SentencePiece only), 0 undefined */
			break;
		}
		tok->flags[id] = f;
		if (f & TOK_ADDED)
			added[n_added++] = (struct added_spec){.id = (int32_t)id,
			                                       .content = s.ptr,
			                                       .len = (size_t)s.len,
			                                       .special = type == 3,
			                                       .normalized = type == 4};
	}
	index_build(tok, true);

	n_merges = gguf_arr_len(g, (uint64_t)k_merges);
	merges_init(tok, (size_t)n_merges);
	for (uint64_t i = 0; i < n_merges; i++) {
		struct gguf_str m = gguf_arr_str(g, (uint64_t)k_merges, i);
		/* llama.cpp splits at the first space after the first byte. */
		const char *sp = m.len > 1 ? memchr(m.ptr + 1, ' ', m.len - 1) : NULL;
		size_t alen;
		if (!sp) {
			error_set(cause,
			          "%s: tokenizer.ggml.merges[%llu] '%.*s' is not two tokens separated by a "
			          "space",
			          path, (unsigned long long)i, m.len < 80 ? (int)m.len : 80, m.ptr);
			goto fail;
		}
		alen = (size_t)(sp - m.ptr);
		if (merge_add(tok, m.ptr, alen, sp + 1, m.len - alen - 1, (size_t)i, true, &scratch,
		              "the vocabulary", cause) != 0)
			goto fail;
	}

	if (gguf_token_id(g, "tokenizer.ggml.bos_token_id", tok->n_vocab, &tok->bos, cause) != 0 ||
	    gguf_token_id(g, "tokenizer.ggml.eos_token_id", tok->n_vocab, &tok->eos, cause) != 0 ||
	    gguf_token_id(g, "tokenizer.ggml.eot_token_id", tok->n_vocab, &tok->eot, cause) != 0)
		goto fail;
	if (tok->eot < 0)
		tok->eot = guess_eot(tok);
	r = gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &tok->add_bos, cause);
	if (r < 0)
		goto fail;
	if (tok_finish(tok, added, n_added, cause) != 0)
		goto fail;
	free(added);
	buf_free(&scratch);
	return tok;
fail:
	free(added);
	buf_free(&scratch);
	tokenizer_free(tok);
	return NULL;
}

/* ---- tokenizer.json ---------------------------------------------------------------------------- */

static int parse_normalizer(const json_t *nz, const char *path, bool *nfc, char **cause)
{
	const char *type;

	if (!nz || json_is_null(nz))
		return 0;
	type = json_string_value(json_object_get(nz, "type"));
	if (!type)
		return error_set(cause, "%s: normalizer has no type", path);
	if (strcmp(type, "NFC") == 0) {
		*nfc = true;
		return 0;
	}
	if (strcmp(type, "Sequence") == 0) {
		const json_t *list = json_object_get(nz, "normalizers"), *v;
		size_t i;
		if (!json_is_array(list))
			return error_set(cause, "%s: normalizer Sequence has no 'normalizers' array", path);
		json_array_foreach (list, i, v) {
			if (parse_normalizer(v, path, nfc, cause) != 0)
				return -1;
		}
		return 0;
	}
	return error_set(cause, "%s: normalizer '%s' is not supported (duet supports NFC or none)", path,
	                 type);
}

static int json_opt_bool(const json_t *obj, const char *key, bool dflt, bool *out, const char *path,
                         const char *what, char **cause)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		*out = dflt;
		return 0;
	}
	if (!json_is_boolean(v))
		return error_set(cause, "%s: %s: '%s' must be true or false", path, what, key);
	*out = json_is_true(v);
	return 0;
}

static int parse_behavior(const char *s, enum pretok_behavior *out)
{
	static const struct {
		const char *name;
		enum pretok_behavior b;
	} names[] = {
	        {"Removed", PRETOK_REMOVED},
	        {"Isolated", PRETOK_ISOLATED},
	        {"MergedWithPrevious", PRETOK_MERGED_WITH_PREVIOUS},
	        {"MergedWithNext", PRETOK_MERGED_WITH_NEXT},
	        {"Contiguous", PRETOK_CONTIGUOUS},
	};
	for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].b;
			return 0;
		}
	}
	return -1;
}

/* One pre_tokenizer (recursing into Sequence). *byte_level: a ByteLevel step was seen (it must be last). */
static int parse_pre_tokenizer(const json_t *pt, const char *path, const char *where, struct pretok *p,
                               bool *byte_level, char **cause)
{
	const char *type = json_string_value(json_object_get(pt, "type"));
	char sub[256];

	if (!type)
		return error_set(cause, "%s: %s has no type", path, where);
	if (*byte_level)
		return error_set(cause, "%s: %s ('%s') comes after ByteLevel, which duet requires to be last",
		                 path, where, type);
	snprintf(sub, sizeof sub, "%s: %s", path, where);
	if (strcmp(type, "Sequence") == 0) {
		const json_t *list = json_object_get(pt, "pretokenizers"), *v;
		size_t i;
		if (!json_is_array(list))
			return error_set(cause, "%s: %s: Sequence has no 'pretokenizers' array", path, where);
		json_array_foreach (list, i, v) {
			char w[200];
			snprintf(w, sizeof w, "%s step %zu", where, i);
			if (parse_pre_tokenizer(v, path, w, p, byte_level, cause) != 0)
				return -1;
		}
		return 0;
	}
	if (strcmp(type, "Split") == 0) {
		const json_t *pat = json_object_get(pt, "pattern"), *re, *str;
		const char *bname = json_string_value(json_object_get(pt, "behavior"));
		enum pretok_behavior b;
		bool invert = false;

		if (parse_behavior(bname, &b) != 0)
			return error_set(cause, "%s: %s: Split behavior '%s' is not one HF defines", path,
			                 where, bname ? bname : "(missing)");
		if (json_opt_bool(pt, "invert", false, &invert, path, where, cause) != 0)
			return -1;
		re = json_object_get(pat, "Regex");
		str = json_object_get(pat, "String");
		if (json_is_string(re))
			return pretok_add_regex(p, json_string_value(re), json_string_length(re), b, invert,
			                        sub, cause);
		if (json_is_string(str)) {
			pretok_add_string(p, json_string_value(str), json_string_length(str), b, invert);
			return 0;
		}
		return error_set(cause, "%s: %s: Split pattern must be {\"Regex\": ...} or {\"String\": ...}",
		                 path, where);
	}
	if (strcmp(type, "Digits") == 0) {
		bool individual = false;
		if (json_opt_bool(pt, "individual_digits", false, &individual, path, where, cause) != 0)
			return -1;
		return pretok_add_digits(p, individual, sub, cause);
	}
	if (strcmp(type, "ByteLevel") == 0) {
		bool aps = true, use_regex = true;
		/* HF's ByteLevel defaults. */
		if (json_opt_bool(pt, "add_prefix_space", true, &aps, path, where, cause) != 0 ||
		    json_opt_bool(pt, "use_regex", true, &use_regex, path, where, cause) != 0)
			return -1;
		*byte_level = true;
		return pretok_add_byte_level(p, aps, use_regex, sub, cause);
	}
	return error_set(
	        cause,
	        "%s: %s: pre-tokenizer '%s' is not supported (duet supports Split, Digits, ByteLevel and "
	        "Sequence: byte-level BPE)",
	        path, where, type);
}

/* The family name tokenizer_pre() reports: the GGUF name whose steps are the same. */
static void recognise_pre(struct tokenizer *tok)
{
	static const char *const known[] = {"llama-bpe", "qwen2", "smollm", "gpt-2"};

	snprintf(tok->pre, sizeof tok->pre, "custom");
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		struct pretok p = {0};
		bool same = pretok_add_known(&p, known[i], "", NULL) == 1 && p.signature &&
		            tok->pretok.signature && strcmp(p.signature, tok->pretok.signature) == 0;
		pretok_free(&p);
		if (same) {
			snprintf(tok->pre, sizeof tok->pre, "%s", known[i]);
			return;
		}
	}
}

/* A token given as "text" or {"content": "text"} (tokenizer_config.json). */
static const char *config_token(const json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "content");
	return json_string_value(v);
}

/* TemplateProcessing whose single-sequence template starts with a special token: that token. */
static int32_t template_bos(const struct tokenizer *tok, const json_t *pp)
{
	const char *type = json_string_value(json_object_get(pp, "type"));
	const json_t *first, *st, *ids;
	const char *name;

	if (!type)
		return -1;
	if (strcmp(type, "Sequence") == 0) {
		const json_t *list = json_object_get(pp, "processors"), *v;
		size_t i;
		json_array_foreach (list, i, v) {
			int32_t id = template_bos(tok, v);
			if (id >= 0)
				return id;
		}
		return -1;
	}
	if (strcmp(type, "TemplateProcessing") != 0)
		return -1;
	first = json_array_get(json_object_get(pp, "single"), 0);
	name = json_string_value(json_object_get(json_object_get(first, "SpecialToken"), "id"));
	if (!name)
		return -1;
	ids = json_object_get(json_object_get(json_object_get(pp, "special_tokens"), name), "ids");
	st = json_array_get(ids, 0);
	if (json_is_integer(st) && json_integer_value(st) >= 0 &&
	    (json_int_t)json_integer_value(st) < (json_int_t)tok->n_vocab)
		return (int32_t)json_integer_value(st);
	return tok_index_find(tok, name, strlen(name));
}

static int parse_added(const json_t *list, const char *path, struct added_spec **out, size_t *n_out,
                       char **cause)
{
	const json_t *v;
	size_t i;

	*out = NULL;
	*n_out = 0;
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return error_set(cause, "%s: added_tokens must be an array", path);
	*out = xcalloc(json_array_size(list) + 1, sizeof **out);
	json_array_foreach (list, i, v) {
		struct added_spec *s = &(*out)[i];
		const json_t *id = json_object_get(v, "id"), *content = json_object_get(v, "content");
		char what[64];

		snprintf(what, sizeof what, "added_tokens[%zu]", i);
		if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= INT32_MAX)
			return error_set(cause, "%s: %s: 'id' must be a non-negative integer", path, what);
		if (!json_is_string(content))
			return error_set(cause, "%s: %s: 'content' must be a string", path, what);
		s->id = (int32_t)json_integer_value(id);
		s->content = json_string_value(content);
		s->len = json_string_length(content);
		if (json_opt_bool(v, "special", false, &s->special, path, what, cause) != 0 ||
		    json_opt_bool(v, "normalized", !s->special, &s->normalized, path, what, cause) != 0 ||
		    json_opt_bool(v, "lstrip", false, &s->lstrip, path, what, cause) != 0 ||
		    json_opt_bool(v, "rstrip", false, &s->rstrip, path, what, cause) != 0 ||
		    json_opt_bool(v, "single_word", false, &s->single_word, path, what, cause) != 0)
			return -1;
		(*n_out)++;
	}
	return 0;
}

struct tokenizer *tokenizer_from_json_file(const char *tokenizer_json, const char *tokenizer_config,
                                           char **cause)
{
	const char *path = tokenizer_json;
	json_t *root = NULL, *config = NULL;
	const json_t *model, *vocab, *merges, *v, *dropout;
	const char *type, *key;
	struct tokenizer *tok = NULL;
	struct added_spec *added = NULL;
	size_t n_added = 0, n_entries, max_id = 0, total = 0, i;
	struct buf scratch = {0};
	bool byte_fallback = false, ignore_merges = false, byte_level = false;
	char *arena_at;
	int32_t tmpl_bos;

	root = json_file_load(path, TOKENIZER_JSON_MAX, 0, cause);
	if (!root)
		return NULL;
	if (!json_is_object(root)) {
		error_set(cause, "%s: not a JSON object", path);
		goto fail;
	}
	model = json_object_get(root, "model");
	if (!json_is_object(model)) {
		if (!model || json_is_null(model))
			json_field_missing(path, "model", cause);
		else
			error_set(cause, "%s: field 'model' must be an object", path);
		goto fail;
	}
	type = json_string_value(json_object_get(model, "type"));
	if (type && strcmp(type, "BPE") != 0) {
		error_set(cause, "%s: tokenizer type '%s' (model.type) is not supported; %s", path, type,
		          SUPPORTED);
		goto fail;
	}
	vocab = json_object_get(model, "vocab");
	merges = json_object_get(model, "merges");
	if (!type && !json_is_array(merges)) {
		error_set(cause,
		          "%s: model.type is missing and the model has no merges: not a BPE tokenizer; %s",
		          path, SUPPORTED);
		goto fail;
	}
	if (json_opt_bool(model, "byte_fallback", false, &byte_fallback, path, "model", cause) != 0 ||
	    json_opt_bool(model, "ignore_merges", false, &ignore_merges, path, "model", cause) != 0)
		goto fail;
	if (byte_fallback) {
		error_set(cause, "%s: BPE with byte_fallback (SentencePiece-style) is not supported; %s",
		          path, SUPPORTED);
		goto fail;
	}
	dropout = json_object_get(model, "dropout");
	if (dropout && !json_is_null(dropout) &&
	    !(json_is_number(dropout) && json_number_value(dropout) == 0)) {
		error_set(cause, "%s: BPE dropout is not supported (model.dropout is set)", path);
		goto fail;
	}
	for (i = 0; i < 2; i++) {
		const char *k = i ? "end_of_word_suffix" : "continuing_subword_prefix";
		const char *sv = json_string_value(json_object_get(model, k));
		if (sv && *sv) {
			error_set(cause, "%s: model.%s '%s' is not supported; %s", path, k, sv, SUPPORTED);
			goto fail;
		}
	}
	if (!json_is_object(vocab)) {
		error_set(cause, "%s: field 'model.vocab' is %s", path, vocab ? "not an object" : "missing");
		goto fail;
	}
	if (!json_is_array(merges)) {
		error_set(cause, "%s: field 'model.merges' is %s", path, merges ? "not an array" : "missing");
		goto fail;
	}

	/* Sizes first: every id, to size the tables; every string, for one arena. */
	n_entries = json_object_size(vocab);
	json_object_foreach ((json_t *)vocab, key, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= INT32_MAX) {
			error_set(cause, "%s: model.vocab['%s'] must be a non-negative integer id", path,
			          key);
			goto fail;
		}
		if ((size_t)json_integer_value(v) > max_id)
			max_id = (size_t)json_integer_value(v);
		total += strlen(key) + 1;
	}
	if (parse_added(json_object_get(root, "added_tokens"), path, &added, &n_added, cause) != 0)
		goto fail;
	for (i = 0; i < n_added; i++) {
		if ((size_t)added[i].id > max_id)
			max_id = (size_t)added[i].id;
		total += added[i].len + 1;
	}
	if (n_entries + n_added == 0) {
		error_set(cause, "%s: model.vocab is empty", path);
		goto fail;
	}
	if (max_id >= n_entries + n_added + ID_SLACK) {
		error_set(cause, "%s: token id %zu is far past the vocabulary's %zu entries", path, max_id,
		          n_entries + n_added);
		goto fail;
	}

	tok = tok_alloc(path, max_id + 1);
	tok->arena = xmalloc(total + 1);
	arena_at = tok->arena;
	json_object_foreach ((json_t *)vocab, key, v) {
		size_t id = (size_t)json_integer_value(v), len = strlen(key);
		if (tok->flags[id] & TOK_PRESENT) {
			error_set(cause, "%s: model.vocab gives id %zu to both '%s' and '%.*s'", path, id,
			          key, (int)tok->piece_len[id], tok->piece[id]);
			goto fail;
		}
		memcpy(arena_at, key, len + 1);
		tok->piece[id] = arena_at;
		tok->piece_len[id] = (uint32_t)len;
		tok->flags[id] = TOK_PRESENT | TOK_MODEL;
		arena_at += len + 1;
	}
	/* Model entries first, so that added tokens can be checked against them. */
	index_build(tok, false);
	for (i = 0; i < n_added; i++) {
		struct added_spec *s = &added[i];
		int32_t known = tok_index_find(tok, s->content, s->len);
		size_t id = (size_t)s->id;

		if (known >= 0 && known != s->id) {
			error_set(cause, "%s: added token '%s' has id %d, but it is already id %d", path,
			          s->content, s->id, known);
			goto fail;
		}
		if (known < 0 && (tok->flags[id] & TOK_PRESENT)) {
			error_set(cause, "%s: added token '%s' has id %d, which is already '%.*s'", path,
			          s->content, s->id, (int)tok->piece_len[id], tok->piece[id]);
			goto fail;
		}
		if (known < 0) {
			memcpy(arena_at, s->content, s->len);
			arena_at[s->len] = '\0';
			tok->piece[id] = arena_at;
			tok->piece_len[id] = (uint32_t)s->len;
			arena_at += s->len + 1;
			tok->flags[id] = TOK_PRESENT;
			/* Later added tokens are checked against this one. */
			index_insert(tok, id, false);
		}
		tok->flags[id] |= TOK_ADDED | TOK_RAW | (s->special ? TOK_SPECIAL : 0);
	}

	if (parse_normalizer(json_object_get(root, "normalizer"), path, &tok->nfc, cause) != 0)
		goto fail;
	v = json_object_get(root, "pre_tokenizer");
	if (v && !json_is_null(v) &&
	    parse_pre_tokenizer(v, path, "pre_tokenizer", &tok->pretok, &byte_level, cause) != 0)
		goto fail;
	if (!byte_level) {
		error_set(cause,
		          "%s: the pre_tokenizer has no ByteLevel step: not a byte-level BPE tokenizer; %s",
		          path, SUPPORTED);
		goto fail;
	}
	tok->ignore_merges = ignore_merges;
	recognise_pre(tok);

	merges_init(tok, json_array_size(merges));
	json_array_foreach (merges, i, v) {
		const char *a, *b;
		size_t alen, blen;
		if (json_is_string(v)) {
			const char *s = json_string_value(v), *sp;
			size_t len = json_string_length(v);
			/* HF: split on ' ', exactly two parts. */
			sp = memchr(s, ' ', len);
			if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp - s) - 1)) {
				error_set(
				        cause,
				        "%s: model.merges[%zu] '%s' is not two tokens separated by one space",
				        path, i, s);
				goto fail;
			}
			a = s;
			alen = (size_t)(sp - s);
			b = sp + 1;
			blen = len - alen - 1;
		} else if (json_is_array(v) && json_array_size(v) == 2 &&
		           json_is_string(json_array_get(v, 0)) && json_is_string(json_array_get(v, 1))) {
			a = json_string_value(json_array_get(v, 0));
			alen = json_string_length(json_array_get(v, 0));
			b = json_string_value(json_array_get(v, 1));
			blen = json_string_length(json_array_get(v, 1));
		} else {
			error_set(cause, "%s: model.merges[%zu] must be \"a b\" or [\"a\", \"b\"]", path, i);
			goto fail;
		}
		if (merge_add(tok, a, alen, b, blen, i, false, &scratch, "model.vocab", cause) != 0)
			goto fail;
	}

	/* BOS: tokenizer_config.json decides when it says; else the post-processor's template. */
	tmpl_bos = template_bos(tok, json_object_get(root, "post_processor"));
	tok->bos = tmpl_bos;
	tok->add_bos = tmpl_bos >= 0;
	if (tokenizer_config) {
		const char *name;
		/* Integers there (model_max_length: 1e30) may not fit 64 bits; none is read. */
		config = json_file_load(tokenizer_config, CONFIG_JSON_MAX, JSON_DECODE_INT_AS_REAL, cause);
		if (!config)
			goto fail;
		v = json_object_get(config, "add_bos_token");
		if (v && !json_is_null(v)) {
			if (!json_is_boolean(v)) {
				error_set(cause, "%s: field 'add_bos_token' must be true or false",
				          tokenizer_config);
				goto fail;
			}
			tok->add_bos = json_is_true(v);
		}
		name = config_token(json_object_get(config, "bos_token"));
		if (name && tok_index_find(tok, name, strlen(name)) >= 0)
			tok->bos = tok_index_find(tok, name, strlen(name));
		name = config_token(json_object_get(config, "eos_token"));
		if (name)
			tok->eos = tok_index_find(tok, name, strlen(name));
	}
	tok->eot = guess_eot(tok);
	if (tok_finish(tok, added, n_added, cause) != 0)
		goto fail;
	free(added);
	buf_free(&scratch);
	json_decref(root);
	json_decref(config);
	return tok;
fail:
	free(added);
	buf_free(&scratch);
	json_decref(root);
	json_decref(config);
	tokenizer_free(tok);
	return NULL;
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

struct tokenizer *tokenizer_from_model(const struct model_file *mf, char **cause)
{
	const struct gguf *g = model_file_gguf(mf);
	const char *json;

	if (g)
		return tokenizer_from_gguf(g, cause);
	json = model_file_tokenizer_json(mf);
	if (!json) {
		error_set(cause, "%s: no tokenizer.json next to the model", model_file_path(mf));
		return NULL;
	}
	return tokenizer_from_json_file(json, model_file_tokenizer_config_json(mf), cause);
}

struct tokenizer *tokenizer_open(const char *path, char **cause)
{
	struct tokenizer *tok;
	struct gguf *g;
	char *json, *config;
	size_t n = strlen(path);

	if (n >= 12 && strcmp(path + n - 12, ".safetensors") == 0) {
		/* A single weights file: its tokenizer lives in the same folder. */
		const char *slash = strrchr(path, '/');
		char *dir = slash ? xstrndup(path, (size_t)(slash - path) + 1) : xstrdup(".");
		tok = tokenizer_open(dir, cause);
		free(dir);
		return tok;
	}
	if (path_is_dir(path)) {
		json = path_join(path, "tokenizer.json");
		config = path_join(path, "tokenizer_config.json");
		if (!path_exists(json)) {
			error_set(cause, "%s: no tokenizer.json in this folder", path);
			tok = NULL;
		} else {
			tok = tokenizer_from_json_file(json, path_exists(config) ? config : NULL, cause);
		}
		free(json);
		free(config);
		return tok;
	}
	if (n >= 5 && strcmp(path + n - 5, ".json") == 0)
		return tokenizer_from_json_file(path, NULL, cause);
	g = gguf_open(path, cause);
	if (!g)
		return NULL;
	tok = tokenizer_from_gguf(g, cause);
	if (!tok) {
		gguf_close(g);
		return NULL;
	}
	tok->owned_gguf = g;
	return tok;
}
