/*
 * mem.h — allocation for ui/ that never returns NULL, and a growable byte
 * buffer; ui/ stays free of infer/ (DESIGN.md §1). Out of memory restores
 * the terminal (ui_term_emergency_restore) before it aborts.
 */
#ifndef DUET_UI_MEM_H
#define DUET_UI_MEM_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define UI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define UI_PRINTF(f, a)
#endif

void *ui_xmalloc(size_t n);
void *ui_xcalloc(size_t n, size_t size);
void *ui_xreallocarray(void *p, size_t n, size_t size);
char *ui_xstrdup(const char *s);
char *ui_xstrndup(const char *s, size_t n);
char *ui_xasprintf(const char *fmt, ...) UI_PRINTF(1, 2);
char *ui_xvasprintf(const char *fmt, va_list ap) UI_PRINTF(1, 0);

/* Bytes; data is NUL-terminated whenever it is not NULL. Zero-initialise; ui_buf_free releases. */
struct ui_buf {
	char *data;
	size_t len, cap;
};
void ui_buf_append(struct ui_buf *b, const char *s, size_t n);
void ui_buf_insert(struct ui_buf *b, size_t at, const char *s, size_t n);
void ui_buf_erase(struct ui_buf *b, size_t at, size_t n);
void ui_buf_set(struct ui_buf *b, const char *s, size_t n);
void ui_buf_free(struct ui_buf *b);

#endif
