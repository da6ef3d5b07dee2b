/*
 * util.h — small shared pieces of the core: error messages handed back to the
 * caller, overflow-checked size arithmetic, growable buffers, file helpers.
 * Plain C11 + POSIX; no other dependency.
 */
#ifndef DUET_INFER_UTIL_H
#define DUET_INFER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define DUET_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DUET_PRINTF(f, a)
#endif

/*
 * Recoverable errors: a function that fails returns -1 (or NULL) and, when
 * cause is not NULL, stores a malloc'd message the caller owns and frees.
 * error_set never fails: out of memory while formatting is fatal.
 * Always returns -1, so `return error_set(cause, ...)` reads naturally.
 */
int error_set(char **cause, const char *fmt, ...) DUET_PRINTF(2, 3);
int error_vset(char **cause, const char *fmt, va_list ap) DUET_PRINTF(2, 0);
/* Prefix an existing message: "PREFIX: old". No-op when cause or *cause is NULL. */
void error_prefix(char **cause, const char *fmt, ...) DUET_PRINTF(2, 3);

/* Out of memory or a broken invariant with nothing to continue with. */
_Noreturn void fatal(const char *fmt, ...) DUET_PRINTF(1, 2);
/* The hook fatal() calls first (the UI restores the terminal there). */
void fatal_set_hook(void (*hook)(void));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) DUET_PRINTF(1, 2);

/* Overflow-checked arithmetic: return false (and leave *out unspecified) on overflow. */
static inline bool u64_add(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool u64_mul(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* A growable byte buffer. Zero-initialise to start; buf_free releases. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) DUET_PRINTF(2, 3);
/* NUL-terminates (not counted in len) and returns data. */
const char *buf_cstr(struct buf *b);
void buf_free(struct buf *b);

/*
 * Read a whole file into memory (NUL-terminated, *len excludes the NUL).
 * Refuses files larger than max_bytes. Returns NULL with *cause naming the file.
 */
char *file_read_all(const char *path, size_t max_bytes, size_t *len, char **cause);
/* Join a directory and a name into a new string. */
char *path_join(const char *dir, const char *name);
bool path_is_dir(const char *path);
bool path_exists(const char *path);

/*
 * Decode one UTF-8 character at s[0..n) (n >= 1): its length 1..4 and *cp,
 * or 0 when the bytes there are not a valid, complete, shortest-form
 * sequence (surrogates and values past U+10FFFF are invalid).
 */
size_t utf8_decode(const void *s, size_t n, uint32_t *cp);

/* Monotonic clock in seconds. */
double time_now(void);

#endif
