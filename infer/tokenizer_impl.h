/*
 * tokenizer_impl.h — the inside of struct tokenizer, shared by tokenizer.c
 * (encode, decode, look-ups), tokenizer_load.c (building one from GGUF
 * metadata or tokenizer.json) and pretok.c (normalisation and
 * pre-tokenisation). Not for other callers, except tests.
 *
 * Pipeline of tokenizer_encode, as Hugging Face tokenizers runs it:
 *   1. with TOKENIZE_SPECIAL, split off added tokens that match the raw text
 *      (added_raw: tokens with normalized=false, leftmost-longest);
 *   2. normalise each remaining segment (NFC or nothing);
 *   3. with TOKENIZE_SPECIAL, split off added tokens that match the
 *      normalised text (added_norm: normalized=true, content normalised too);
 *   4. pre-tokenise each remaining segment (struct pretok: regex splits,
 *      digit splits, ByteLevel's prefix space and GPT-2 regex);
 *   5. byte-level BPE on each piece: bytes -> single-byte tokens -> merge
 *      the lowest-ranked adjacent pair until none applies.
 */
#ifndef DUET_INFER_TOKENIZER_IMPL_H
#define DUET_INFER_TOKENIZER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "infer/tokenizer.h"
#include "infer/util.h"

struct gguf;

/* ---- pre-tokenisation (pretok.c) ------------------------------------------- */

/* The regexes of the known families, in the Oniguruma syntax tokenizer.json uses. */
extern const char PRETOK_RE_GPT2[];   /* GPT-2 / ByteLevel use_regex=true */
extern const char PRETOK_RE_QWEN2[];  /* Qwen2, DeepSeek-R1-Distill-Qwen: one digit at a time */
extern const char PRETOK_RE_LLAMA3[]; /* Llama-3: digits in runs of up to three */

/* HF SplitDelimiterBehavior. */
enum pretok_behavior {
	PRETOK_REMOVED,
	PRETOK_ISOLATED,
	PRETOK_MERGED_WITH_PREVIOUS,
	PRETOK_MERGED_WITH_NEXT,
	PRETOK_CONTIGUOUS,
};

enum pretok_step_kind {
	PRETOK_STEP_REGEX,        /* Split{Regex}, Digits, ByteLevel{use_regex} */
	PRETOK_STEP_STRING,       /* Split{String}: a literal delimiter */
	PRETOK_STEP_PREFIX_SPACE, /* ByteLevel{add_prefix_space}: " " before pieces not starting with one */
};

struct pretok_step {
	enum pretok_step_kind kind;
	enum pretok_behavior behavior;
	bool invert;    /* Split{invert}: the matches are the pieces' complement */
	pcre2_code *re; /* PRETOK_STEP_REGEX */
	char *literal;  /* PRETOK_STEP_STRING, literal_len bytes */
	size_t literal_len;
	char *desc; /* for debug output: the pattern as the file gave it */
};

struct pretok {
	struct pretok_step *steps;
	size_t n_steps;
	char *signature; /* canonical text of the steps, to recognise known families */
};

/* A piece of a pretok_work's text. */
struct pretok_span {
	size_t off, len;
};

/* Scratch for one tokenizer_encode call (a tokenizer is shared between threads). */
struct pretok_work {
	struct buf text; /* the segment, then prefixed copies of pieces */
	struct pretok_span *spans, *next;
	size_t n_spans, cap_spans, n_next, cap_next;
	struct pretok_span *marks; /* matches and gaps of one piece: off, len; flag in is_match */
	bool *is_match;
	size_t n_marks, cap_marks;
	pcre2_match_data *md;
};

/*
 * Add a step. pattern is in Oniguruma syntax (tokenizer.json); it is
 * translated where PCRE2 means something else (\s, \S, \h, \H). where names
 * the step in messages ("PATH: pre_tokenizer 1").
 */
int pretok_add_regex(struct pretok *p, const char *pattern, size_t len, enum pretok_behavior behavior,
                     bool invert, const char *where, char **cause);
void pretok_add_string(struct pretok *p, const char *literal, size_t len, enum pretok_behavior behavior,
                       bool invert);
void pretok_add_prefix_space(struct pretok *p);
/* Digits{individual_digits}: every digit alone, or runs of digits. */
int pretok_add_digits(struct pretok *p, bool individual, const char *where, char **cause);
/* ByteLevel{add_prefix_space, use_regex}. */
int pretok_add_byte_level(struct pretok *p, bool add_prefix_space, bool use_regex, const char *where,
                          char **cause);
/* The steps of a GGUF tokenizer.ggml.pre; 0 when the name is unknown (nothing added). */
int pretok_add_known(struct pretok *p, const char *pre, const char *where, char **cause);
void pretok_free(struct pretok *p);

/* Split text[0..len) into w->spans (offsets into w->text). */
int pretok_run(const struct pretok *p, const char *text, size_t len, struct pretok_work *w, char **cause);
void pretok_work_free(struct pretok_work *w);

/*
 * Append the NFC form of s[0..len) to out. Invalid UTF-8 is copied as it is
 * (NFC applies to the valid runs around it).
 */
void pretok_nfc(const char *s, size_t len, struct buf *out);

/* Unicode White_Space (Rust char::is_whitespace, Oniguruma \s). */
bool pretok_is_space(uint32_t cp);
/* Rust regex \w: letters, marks, decimal digits, letter numbers, connector punctuation. */
bool pretok_is_word(uint32_t cp);

/* ---- the tokenizer ------------------------------------------------------------ */

enum tok_flag {
	TOK_PRESENT = 1 << 0, /* the id has a piece (ids may have gaps in tokenizer.json) */
	TOK_MODEL = 1 << 1,   /* in the BPE vocabulary: merges and ignore_merges may produce it */
	TOK_ADDED = 1 << 2,   /* matched in the text with TOKENIZE_SPECIAL */
	TOK_SPECIAL = 1 << 3, /* left out of decoding unless special is asked for */
	TOK_RAW = 1 << 4,     /* its bytes are its text (not byte-mapped) */
};

/* An added token as the special-token splitter matches it. */
struct tok_added {
	const char *text; /* content (normalised for added_norm) */
	size_t len;
	int32_t id;
	bool lstrip, rstrip, single_word;
};

/* Sorted by first byte, then longest first; first[b]..first[b+1] start with byte b. */
struct tok_added_set {
	struct tok_added *v;
	size_t n;
	uint32_t first[257];
};

struct tok_merge_slot {
	uint64_t pair;  /* left id << 32 | right id */
	int32_t rank;   /* -1: empty slot */
	int32_t result; /* id of the merged token */
};

struct tokenizer {
	char *name;    /* the file, for messages */
	char type[16]; /* "gpt2" */
	char pre[48];  /* GGUF tokenizer.ggml.pre, or the family recognised in tokenizer.json */

	size_t n_vocab;     /* highest id + 1 */
	const char **piece; /* id -> piece as stored; GGUF: borrowed from the mapping */
	uint32_t *piece_len;
	uint8_t *flags; /* enum tok_flag */
	char *arena;    /* owned piece text (tokenizer.json), NULL for GGUF */

	int32_t *index; /* open addressing: piece -> id, -1 empty */
	size_t index_mask;

	struct tok_merge_slot *merges; /* open addressing: pair -> rank, result */
	size_t merges_mask;
	size_t n_merges;

	int32_t byte_id[256];   /* the single-byte token of each byte, -1 if missing */
	char byte_utf8[256][2]; /* GPT-2 byte map: byte -> printable char (UTF-8) */
	uint8_t byte_utf8_len[256];

	char *bytes; /* flat table: token_bytes(id) = bytes[bytes_off[id] .. bytes_off[id+1]) */
	uint32_t *bytes_off;

	struct pretok pretok;
	bool nfc;
	bool ignore_merges;
	struct tok_added_set added_raw, added_norm;
	char *added_norm_text; /* NFC'd contents of added_norm */

	int32_t bos, eos, eot;
	bool add_bos;

	struct gguf *owned_gguf; /* tokenizer_open of a GGUF: the mapping the pieces borrow from */
};

/* Build from an opened GGUF (borrows its strings: free the tokenizer first). */
struct tokenizer *tokenizer_from_gguf(const struct gguf *g, char **cause);

/* piece -> id among all entries; -1 when absent. */
int32_t tok_index_find(const struct tokenizer *tok, const char *s, size_t len);
uint64_t tok_hash(const void *p, size_t len);
/* Merge of (left, right): rank and result, or -1. */
int32_t tok_merge_find(const struct tokenizer *tok, int32_t left, int32_t right, int32_t *result);

#endif
