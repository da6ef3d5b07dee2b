/*
 * tokenizer.c — encoding and decoding with a loaded byte-level BPE
 * tokenizer (tokenizer_load.c builds one; pretok.c splits text into pieces).
 * Calls infer/pretok.c and infer/util only. Everything here reads the
 * tokenizer without changing it; per-call scratch lives on the caller's
 * stack or heap, so encode and decode are thread-safe.
 *
 * Decoding follows Hugging Face's ByteLevel decoder: the byte map is
 * reversed, added tokens give their text as it is, and bytes that are not
 * valid UTF-8 come out as U+FFFD, one per maximal invalid subpart (Unicode's
 * "best practice", which Rust's String::from_utf8_lossy and Python's
 * bytes.decode(errors='replace') also follow).
 *
 * Debugging: DUET_TOKENIZER_DEBUG=1 prints every added-token match and every
 * pre-token with its ids to stderr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/gguf.h"
#include "infer/tokenizer_impl.h"

void tokens_push(struct tokens *t, int32_t id)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->ids = xreallocarray(t->ids, t->cap, sizeof *t->ids);
	}
	t->ids[t->n++] = id;
}

void tokens_free(struct tokens *t)
{
	free(t->ids);
	t->ids = NULL;
	t->n = t->cap = 0;
}

/* ---- look-ups ----------------------------------------------------------------------- */

uint64_t tok_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xC2B2AE3D27D4EB4Full), v;

	while (len >= 8) {
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xFF51AFD7ED558CCDull;
		h ^= h >> 32;
		s += 8;
		len -= 8;
	}
	v = 0;
	memcpy(&v, s, len);
	h = (h ^ v) * 0xFF51AFD7ED558CCDull;
	h ^= h >> 29;
	h *= 0xC4CEB9FE1A85EC53ull;
	h ^= h >> 32;
	return h;
}

int32_t tok_index_find(const struct tokenizer *tok, const char *s, size_t len)
{
	size_t i = (size_t)tok_hash(s, len) & tok->index_mask;

	for (;;) {
		int32_t id = tok->index[i];
		if (id < 0)
			return -1;
		if (tok->piece_len[id] == len && memcmp(tok->piece[id], s, len) == 0)
			return id;
		i = (i + 1) & tok->index_mask;
	}
}

int32_t tok_merge_find(const struct tokenizer *tok, int32_t left, int32_t right, int32_t *result)
{
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
	uint64_t h = key * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h ^ (h >> 29)) & tok->merges_mask;

	for (;;) {
		const struct tok_merge_slot *s = &tok->merges[i];
		if (s->rank < 0)
			return -1;
		if (s->pair == key) {
			*result = s->result;
			return s->rank;
		}
		i = (i + 1) & tok->merges_mask;
	}
}

/* ---- encoding --------------------------------------------------------------------------- */

struct bpe_symbol {
	int32_t id; /* -1 once merged into its left neighbour */
	int32_t prev, next;
};

struct bpe_candidate {
	int32_t rank, pos; /* ordered by rank, then position (HF's Merge ordering) */
	int32_t left, right, result;
};

/* A piece seen earlier in this call: its bytes in cache_text, its ids in cache_ids. */
struct cache_slot {
	uint64_t hash;
	uint32_t text_off, text_len; /* text_len 0: empty slot */
	uint32_t ids_off, n_ids;
};

#define CACHE_MAX_PIECE 64         /* longer pieces are rare and not worth keeping */
#define CACHE_MAX_SLOTS (1u << 18) /* at most half used: ~6 MB of table */

struct encoder {
	const struct tokenizer *tok;
	struct tokens *out;
	char **cause;
	bool debug;
	struct pretok_work pw;
	struct buf norm;   /* a normalised segment */
	struct buf mapped; /* a piece in byte-mapped form, for ignore_merges */
	struct bpe_symbol *sym;
	size_t cap_sym;
	struct bpe_candidate *heap;
	size_t n_heap, cap_heap;
	/* Per-call cache of piece -> ids (HF keeps one too): text repeats its words. */
	struct cache_slot *cache;
	size_t cache_mask, cache_used;
	struct buf cache_text;
	struct tokens cache_ids;
};

static bool cand_less(const struct bpe_candidate *a, const struct bpe_candidate *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(struct encoder *e, struct bpe_candidate c)
{
	size_t i;

	if (e->n_heap == e->cap_heap) {
		e->cap_heap = e->cap_heap ? 2 * e->cap_heap : 64;
		e->heap = xreallocarray(e->heap, e->cap_heap, sizeof *e->heap);
	}
	i = e->n_heap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!cand_less(&c, &e->heap[parent]))
			break;
		e->heap[i] = e->heap[parent];
		i = parent;
	}
	e->heap[i] = c;
}

static struct bpe_candidate heap_pop(struct encoder *e)
{
	struct bpe_candidate top = e->heap[0], last = e->heap[--e->n_heap];
	size_t i = 0, n = e->n_heap;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct bpe_candidate *best = &last;
		if (l < n && cand_less(&e->heap[l], best)) {
			m = l;
			best = &e->heap[l];
		}
		if (r < n && cand_less(&e->heap[r], best))
			m = r;
		if (m == i)
			break;
		e->heap[i] = e->heap[m];
		i = m;
	}
	if (n > 0)
		e->heap[i] = last;
	return top;
}

static void candidate_add(struct encoder *e, int32_t pos)
{
	const struct bpe_symbol *s = e->sym;
	int32_t next = s[pos].next, result, rank;

	if (next < 0)
		return;
	rank = tok_merge_find(e->tok, s[pos].id, s[next].id, &result);
	if (rank >= 0)
		heap_push(e, (struct bpe_candidate){rank, pos, s[pos].id, s[next].id, result});
}

static void debug_piece(const struct encoder *e, const unsigned char *w, size_t n, size_t first_id)
{
	fputs("tokenizer: piece \"", stderr);
	for (size_t i = 0; i < n; i++) {
		if (w[i] < 0x20 || w[i] == '"' || w[i] == '\\' || w[i] == 0x7F)
			fprintf(stderr, "\\x%02x", w[i]);
		else
			fputc(w[i], stderr);
	}
	fputs("\" ->", stderr);
	for (size_t i = first_id; i < e->out->n; i++)
		fprintf(stderr, " %d", e->out->ids[i]);
	fputc('\n', stderr);
}

static struct cache_slot *cache_slot_find(struct encoder *e, const unsigned char *w, size_t n, uint64_t h)
{
	size_t i = (size_t)h & e->cache_mask;

	for (;;) {
		struct cache_slot *c = &e->cache[i];
		if (c->text_len == 0 ||
		    (c->hash == h && c->text_len == n && memcmp(e->cache_text.data + c->text_off, w, n) == 0))
			return c;
		i = (i + 1) & e->cache_mask;
	}
}

static void cache_grow(struct encoder *e)
{
	struct cache_slot *old = e->cache;
	size_t old_size = old ? e->cache_mask + 1 : 0, size = old ? 2 * old_size : 4096;

	e->cache = xcalloc(size, sizeof *e->cache);
	e->cache_mask = size - 1;
	for (size_t i = 0; i < old_size; i++) {
		if (old[i].text_len == 0)
			continue;
		size_t j = (size_t)old[i].hash & e->cache_mask;
		while (e->cache[j].text_len != 0)
			j = (j + 1) & e->cache_mask;
		e->cache[j] = old[i];
	}
	free(old);
}

/* Remember that w[0..n) encodes to out->ids[first..]. */
static void cache_put(struct encoder *e, const unsigned char *w, size_t n, uint64_t h, size_t first)
{
	struct cache_slot *c;

	if (e->cache_text.len + n > UINT32_MAX || e->cache_ids.n + (e->out->n - first) > UINT32_MAX)
		return;
	if (!e->cache || 2 * (e->cache_used + 1) > e->cache_mask + 1) {
		if (e->cache && e->cache_mask + 1 >= CACHE_MAX_SLOTS)
			return;
		cache_grow(e);
	}
	c = cache_slot_find(e, w, n, h);
	if (c->text_len != 0)
		return;
	*c = (struct cache_slot){h, (uint32_t)e->cache_text.len, (uint32_t)n, (uint32_t)e->cache_ids.n,
	                         (uint32_t)(e->out->n - first)};
	buf_append(&e->cache_text, w, n);
	for (size_t i = first; i < e->out->n; i++)
		tokens_push(&e->cache_ids, e->out->ids[i]);
	e->cache_used++;
}

/* Byte-level BPE of one pre-token. */
static int bpe_piece(struct encoder *e, const unsigned char *w, size_t n)
{
	const struct tokenizer *tok = e->tok;
	size_t first_id = e->out->n;
	struct bpe_symbol *s;
	int32_t m;
	uint64_t h = 0;

	if (n == 0)
		return 0;
	if (n > INT32_MAX)
		return error_set(e->cause, "%s: a pre-token of %zu bytes is too long to encode", tok->name,
		                 n);
	if (n <= CACHE_MAX_PIECE) {
		h = tok_hash(w, n);
		if (e->cache) {
			const struct cache_slot *c = cache_slot_find(e, w, n, h);
			if (c->text_len != 0) {
				for (uint32_t i = 0; i < c->n_ids; i++)
					tokens_push(e->out, e->cache_ids.ids[c->ids_off + i]);
				goto done;
			}
		}
	}
	/* ignore_merges (Llama-3): a piece that is a vocabulary entry is that entry. */
	if (tok->ignore_merges && n > 1) {
		int32_t id;
		e->mapped.len = 0;
		for (size_t i = 0; i < n; i++)
			buf_append(&e->mapped, tok->byte_utf8[w[i]], tok->byte_utf8_len[w[i]]);
		id = tok_index_find(tok, e->mapped.data, e->mapped.len);
		if (id >= 0 && (tok->flags[id] & TOK_MODEL)) {
			tokens_push(e->out, id);
			goto done;
		}
	}
	if (n > e->cap_sym) {
		e->cap_sym = n > 2 * e->cap_sym ? n : 2 * e->cap_sym;
		e->sym = xreallocarray(e->sym, e->cap_sym, sizeof *e->sym);
	}
	/*
	 * A byte without a single-byte token (SmolLM2 has none for six control
	 * characters and for 0xF1 and 0xF2, lead bytes of planes 4-11) is left
	 * out and its neighbours become adjacent, as HF's BPE does when there is
	 * no unk token.
	 */
	s = e->sym;
	m = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t id = tok->byte_id[w[i]];
		if (id < 0) {
			if (e->debug)
				fprintf(stderr, "tokenizer: byte 0x%02x has no token; left out\n", w[i]);
			continue;
		}
		s[m] = (struct bpe_symbol){id, m - 1, -1};
		if (m > 0)
			s[m - 1].next = m;
		m++;
	}
	if (m == 0)
		goto done;
	e->n_heap = 0;
	for (int32_t i = 0; i + 1 < m; i++)
		candidate_add(e, i);
	while (e->n_heap > 0) {
		struct bpe_candidate c = heap_pop(e);
		int32_t next = s[c.pos].next;

		/* Stale: one side has merged since the candidate was queued. */
		if (s[c.pos].id != c.left || next < 0 || s[next].id != c.right)
			continue;
		s[c.pos].id = c.result;
		s[c.pos].next = s[next].next;
		if (s[next].next >= 0)
			s[s[next].next].prev = c.pos;
		s[next].id = -1;
		if (s[c.pos].prev >= 0)
			candidate_add(e, s[c.pos].prev);
		candidate_add(e, c.pos);
	}
	for (int32_t i = 0; i >= 0; i = s[i].next)
		tokens_push(e->out, s[i].id);
	if (n <= CACHE_MAX_PIECE)
		cache_put(e, w, n, h, first_id);
done:
	if (e->debug)
		debug_piece(e, w, n, first_id);
	return 0;
}

/* Pre-tokenise a normalised segment and BPE every piece. */
static int encode_plain(struct encoder *e, const char *s, size_t len)
{
	if (len == 0)
		return 0;
	if (pretok_run(&e->tok->pretok, s, len, &e->pw, e->cause) != 0) {
		error_prefix(e->cause, "%s", e->tok->name);
		return -1;
	}
	for (size_t i = 0; i < e->pw.n_spans; i++) {
		struct pretok_span sp = e->pw.spans[i];
		if (bpe_piece(e, (const unsigned char *)e->pw.text.data + sp.off, sp.len) != 0)
			return -1;
	}
	return 0;
}

/* Length of the character that ends s[0..n), or 0 when it is not valid UTF-8. */
static size_t utf8_last(const char *s, size_t n, uint32_t *cp)
{
	for (size_t k = 1; k <= 4 && k <= n; k++) {
		unsigned char c = (unsigned char)s[n - k];
		if ((c & 0xC0) != 0x80)
			return utf8_decode((const unsigned char *)s + n - k, k, cp) == k ? k : 0;
	}
	return 0;
}

/* HF's added-vocabulary helpers: Rust regex \w$, ^\w, \s*$, ^\s*. */
static bool ends_with_word(const char *s, size_t n)
{
	uint32_t cp;
	return n > 0 && utf8_last(s, n, &cp) > 0 && pretok_is_word(cp);
}

static bool starts_with_word(const char *s, size_t n)
{
	uint32_t cp;
	return n > 0 && utf8_decode((const unsigned char *)s, n, &cp) > 0 && pretok_is_word(cp);
}

static size_t space_leftmost_at_end(const char *s, size_t n)
{
	uint32_t cp;
	size_t k;

	while (n > 0 && (k = utf8_last(s, n, &cp)) > 0 && pretok_is_space(cp))
		n -= k;
	return n;
}

static size_t space_rightmost_at_start(const char *s, size_t n)
{
	uint32_t cp;
	size_t i = 0, k;

	while (i < n && (k = utf8_decode((const unsigned char *)s + i, n - i, &cp)) > 0 &&
	       pretok_is_space(cp))
		i += k;
	return i;
}

/* Leftmost-longest match of an added token in s[from..len): its index, *at its start; -1 if none. */
static long added_find(const struct tok_added_set *set, const char *s, size_t len, size_t from, size_t *at)
{
	if (set->n == 0)
		return -1;
	for (size_t i = from; i < len; i++) {
		unsigned char b = (unsigned char)s[i];
		for (uint32_t k = set->first[b]; k < set->first[b + 1]; k++) {
			const struct tok_added *a = &set->v[k];
			if (a->len <= len - i && memcmp(s + i, a->text, a->len) == 0) {
				*at = i;
				return (long)k;
			}
		}
	}
	return -1;
}

typedef int (*segment_fn)(struct encoder *e, const char *s, size_t len);

/*
 * HF AddedVocabulary::find_matches: split s on the set's tokens, honouring
 * single_word, lstrip and rstrip; the text between matches goes to rest.
 */
static int split_added(struct encoder *e, const struct tok_added_set *set, const char *s, size_t len,
                       segment_fn rest)
{
	size_t pos = 0, start_offset = 0, at;
	long k;

	while ((k = added_find(set, s, len, pos, &at)) >= 0) {
		const struct tok_added *a = &set->v[k];
		size_t start = at, stop = at + a->len;

		pos = stop;
		if (a->single_word && !((start == 0 || !ends_with_word(s, start)) &&
		                        (stop == len || !starts_with_word(s + stop, len - stop))))
			continue;
		if (a->lstrip) {
			size_t ls = space_leftmost_at_end(s, start);
			start = ls > start_offset ? ls : start_offset;
		}
		if (a->rstrip) {
			stop += space_rightmost_at_start(s + stop, len - stop);
			pos = stop;
		}
		if (start_offset < start && rest(e, s + start_offset, start - start_offset) != 0)
			return -1;
		tokens_push(e->out, a->id);
		if (e->debug)
			fprintf(stderr, "tokenizer: added token %d \"%.*s\"\n", a->id, (int)a->len, a->text);
		start_offset = stop;
	}
	if (start_offset < len)
		return rest(e, s + start_offset, len - start_offset);
	return 0;
}

static const char *normalize(struct encoder *e, const char *s, size_t *len)
{
	if (!e->tok->nfc)
		return s;
	e->norm.len = 0;
	pretok_nfc(s, *len, &e->norm);
	*len = e->norm.len;
	return e->norm.data ? e->norm.data : "";
}

/* Phase 2 of the special-token split: normalise, then match normalized added tokens. */
static int encode_normalized_segment(struct encoder *e, const char *s, size_t len)
{
	const char *ns = normalize(e, s, &len);
	return split_added(e, &e->tok->added_norm, ns, len, encode_plain);
}

int tokenizer_encode(const struct tokenizer *tok, const char *text, size_t len, unsigned flags,
                     struct tokens *out, char **cause)
{
	struct encoder e = {.tok = tok, .out = out, .cause = cause};
	const char *dbg = getenv("DUET_TOKENIZER_DEBUG");
	size_t n_before = out->n;
	int rc;

	e.debug = dbg && *dbg && strcmp(dbg, "0") != 0;
	if ((flags & TOKENIZE_ADD_BOS) && tok->add_bos && tok->bos >= 0)
		tokens_push(out, tok->bos);
	if (flags & TOKENIZE_SPECIAL) {
		rc = split_added(&e, &tok->added_raw, text, len, encode_normalized_segment);
	} else {
		const char *ns = normalize(&e, text, &len);
		rc = encode_plain(&e, ns, len);
	}
	if (rc != 0)
		out->n = n_before;
	pretok_work_free(&e.pw);
	buf_free(&e.norm);
	buf_free(&e.mapped);
	free(e.sym);
	free(e.heap);
	free(e.cache);
	buf_free(&e.cache_text);
	tokens_free(&e.cache_ids);
	return rc;
}

/* ---- decoding ------------------------------------------------------------------------- */

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/*
 * Append s[0..n) to out, each maximal invalid subpart replaced by U+FFFD.
 * Unless final, an incomplete but so-far valid sequence at the end is not
 * consumed: the return value is its length (0..3).
 */
static size_t utf8_append_lossy(const unsigned char *s, size_t n, bool final, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t run = i, need, k;
		unsigned char c, lo = 0x80, hi = 0xBF;

		while (run < n && s[run] < 0x80)
			run++;
		if (run > i) {
			buf_append(out, s + i, run - i);
			i = run;
			if (i == n)
				break;
		}
		c = s[i];
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			buf_append(out, REPLACEMENT, 3);
			i++;
			continue;
		}
		for (k = 1; k <= need; k++) {
			if (i + k >= n) {
				if (!final)
					return n - i;
				buf_append(out, REPLACEMENT, 3);
				return 0;
			}
			if (s[i + k] < lo || s[i + k] > hi)
				break;
			lo = 0x80;
			hi = 0xBF;
		}
		if (k <= need) {
			buf_append(out, REPLACEMENT, 3);
			i += k;
		} else {
			buf_append(out, s + i, need + 1);
			i += need + 1;
		}
	}
	return 0;
}

static bool id_valid(const struct tokenizer *tok, int32_t id)
{
	return id >= 0 && (size_t)id < tok->n_vocab && (tok->flags[id] & TOK_PRESENT);
}

char *tokenizer_decode(const struct tokenizer *tok, const int32_t *ids, size_t n, bool special,
                       size_t *out_len, char **cause)
{
	struct buf raw = {0}, out = {0};

	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *b;
		if (!id_valid(tok, ids[i])) {
			buf_free(&raw);
			error_set(cause, "%s: token id %d (at %zu) is not in the vocabulary (0..%zu)",
			          tok->name, ids[i], i, tok->n_vocab - 1);
			return NULL;
		}
		if ((tok->flags[ids[i]] & TOK_SPECIAL) && !special)
			continue;
		b = tokenizer_token_bytes(tok, ids[i], &len);
		buf_append(&raw, b, len);
	}
	utf8_append_lossy((const unsigned char *)raw.data, raw.len, true, &out);
	buf_free(&raw);
	buf_cstr(&out);
	if (out_len)
		*out_len = out.len;
	return out.data;
}

void detok_init(struct detok *d)
{
	memset(d, 0, sizeof *d);
}

void detok_push(const struct tokenizer *tok, struct detok *d, int32_t id, bool special, struct buf *out)
{
	unsigned char small[64];
	unsigned char *joined = small;
	const char *b;
	size_t len, total;

	if (!id_valid(tok, id)) {
		/* Not produced by this vocabulary: show that something was there. */
		detok_flush(d, out);
		buf_append(out, REPLACEMENT, 3);
		return;
	}
	if ((tok->flags[id] & TOK_SPECIAL) && !special)
		return;
	b = tokenizer_token_bytes(tok, id, &len);
	if (d->n_pending == 0) {
		d->n_pending = utf8_append_lossy((const unsigned char *)b, len, false, out);
		memcpy(d->pending, b + len - d->n_pending, d->n_pending);
		return;
	}
	total = d->n_pending + len;
	if (total > sizeof small)
		joined = xmalloc(total);
	memcpy(joined, d->pending, d->n_pending);
	memcpy(joined + d->n_pending, b, len);
	d->n_pending = utf8_append_lossy(joined, total, false, out);
	memcpy(d->pending, joined + total - d->n_pending, d->n_pending);
	if (joined != small)
		free(joined);
}

void detok_flush(struct detok *d, struct buf *out)
{
	/* A held-back prefix is one maximal invalid subpart: one U+FFFD. */
	if (d->n_pending > 0)
		buf_append(out, REPLACEMENT, 3);
	d->n_pending = 0;
}

/* ---- accessors -------------------------------------------------------------------------- */

size_t tokenizer_n_vocab(const struct tokenizer *tok)
{
	return tok->n_vocab;
}

const char *tokenizer_piece(const struct tokenizer *tok, int32_t id, size_t *len)
{
	if (!id_valid(tok, id)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = tok->piece_len[id];
	return tok->piece[id];
}

const char *tokenizer_token_bytes(const struct tokenizer *tok, int32_t id, size_t *len)
{
	if (!id_valid(tok, id)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = tok->bytes_off[id + 1] - tok->bytes_off[id];
	return tok->bytes + tok->bytes_off[id];
}

bool tokenizer_is_special(const struct tokenizer *tok, int32_t id)
{
	return id_valid(tok, id) && (tok->flags[id] & TOK_SPECIAL);
}

int32_t tokenizer_find(const struct tokenizer *tok, const char *piece, size_t len)
{
	return tok_index_find(tok, piece, len);
}

const char *tokenizer_type(const struct tokenizer *tok)
{
	return tok->type;
}

const char *tokenizer_pre(const struct tokenizer *tok)
{
	return tok->pre;
}

bool tokenizer_normalizes_nfc(const struct tokenizer *tok)
{
	return tok->nfc;
}

int32_t tokenizer_bos(const struct tokenizer *tok)
{
	return tok->bos;
}

int32_t tokenizer_eos(const struct tokenizer *tok)
{
	return tok->eos;
}

int32_t tokenizer_eot(const struct tokenizer *tok)
{
	return tok->eot;
}

bool tokenizer_add_bos(const struct tokenizer *tok)
{
	return tok->add_bos;
}

void tokenizer_free(struct tokenizer *tok)
{
	if (!tok)
		return;
	pretok_free(&tok->pretok);
	free(tok->name);
	free(tok->piece);
	free(tok->piece_len);
	free(tok->flags);
	free(tok->arena);
	free(tok->index);
	free(tok->merges);
	free(tok->bytes);
	free(tok->bytes_off);
	free(tok->added_raw.v);
	free(tok->added_norm.v);
	free(tok->added_norm_text);
	gguf_close(tok->owned_gguf);
	free(tok);
}
