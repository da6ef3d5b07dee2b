/*
 * mem.c — checked allocation and the byte buffer of ui/.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/mem.h"
#include "ui/term.h"

static _Noreturn void ui_oom(size_t n)
{
	ui_term_emergency_restore();
	fprintf(stderr, "duet: fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *ui_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		ui_oom(n);
	return p;
}

void *ui_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		ui_oom(n * size);
	return p;
}

void *ui_xreallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		ui_oom(SIZE_MAX);
	p = realloc(p, bytes ? bytes : 1);
	if (!p)
		ui_oom(bytes);
	return p;
}

char *ui_xstrdup(const char *s)
{
	return ui_xstrndup(s, strlen(s));
}

char *ui_xstrndup(const char *s, size_t n)
{
	char *p = ui_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ui_xvasprintf(const char *fmt, va_list ap)
{
	char *p;
	if (vasprintf(&p, fmt, ap) < 0)
		ui_oom(strlen(fmt));
	return p;
}

char *ui_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = ui_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

static void buf_grow(struct ui_buf *b, size_t extra)
{
	size_t need;

	if (__builtin_add_overflow(b->len, extra + 1, &need))
		ui_oom(SIZE_MAX);
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = ui_xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

void ui_buf_append(struct ui_buf *b, const char *s, size_t n)
{
	ui_buf_insert(b, b->len, s, n);
}

void ui_buf_insert(struct ui_buf *b, size_t at, const char *s, size_t n)
{
	buf_grow(b, n);
	if (at > b->len)
		at = b->len;
	memmove(b->data + at + n, b->data + at, b->len - at);
	if (n)
		memcpy(b->data + at, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void ui_buf_erase(struct ui_buf *b, size_t at, size_t n)
{
	if (at >= b->len)
		return;
	if (n > b->len - at)
		n = b->len - at;
	memmove(b->data + at, b->data + at + n, b->len - at - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void ui_buf_set(struct ui_buf *b, const char *s, size_t n)
{
	b->len = 0;
	ui_buf_append(b, s, n);
}

void ui_buf_free(struct ui_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
