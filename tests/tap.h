/*
 * tap.h — a tiny TAP producer for duet's C tests (header-only). Each check is
 * one test point; automake's tap-driver counts them, tests/summary.sh adds
 * them up. A failing comparison prints both values as TAP diagnostics.
 */
#ifndef DUET_TESTS_TAP_H
#define DUET_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n_run;
static int tap_n_failed;

__attribute__((format(printf, 2, 3), unused)) static int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_n_run++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_n_failed++;
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void tap_diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((format(printf, 1, 2), unused)) static void tap_skip(const char *fmt, ...)
{
	va_list ap;
	tap_n_run++;
	printf("ok %d # SKIP ", tap_n_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Skip the whole program (no test points emitted yet): TAP "1..0 # SKIP". */
__attribute__((unused, noreturn)) static void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

/* Print the plan and exit with the right status. */
__attribute__((unused)) static int tap_done(void)
{
	printf("1..%d\n", tap_n_run);
	return tap_n_failed ? 1 : 0;
}

#define TAP_EQ_INT(a, b, name)                                                                 \
	do {                                                                                   \
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);                    \
		if (!tap_ok(tap_a_ == tap_b_, "%s", name))                                     \
			tap_diag("  got %lld, want %lld (%s:%d)", tap_a_, tap_b_, __FILE__, __LINE__); \
	} while (0)

#define TAP_EQ_STR(a, b, name)                                                                  \
	do {                                                                                    \
		const char *tap_a_ = (a), *tap_b_ = (b);                                        \
		int tap_eq_ = tap_a_ && tap_b_ && strcmp(tap_a_, tap_b_) == 0;                  \
		if (!tap_ok(tap_eq_, "%s", name))                                               \
			tap_diag("  got \"%s\", want \"%s\" (%s:%d)", tap_a_ ? tap_a_ : "(null)", \
				 tap_b_ ? tap_b_ : "(null)", __FILE__, __LINE__);                \
	} while (0)

/* An error message must exist and contain every given fragment. */
#define TAP_ERR_HAS(cause, frag, name)                                                       \
	do {                                                                                 \
		const char *tap_c_ = (cause);                                                \
		int tap_h_ = tap_c_ && strstr(tap_c_, (frag)) != NULL;                       \
		if (!tap_ok(tap_h_, "%s", name))                                             \
			tap_diag("  message \"%s\" lacks \"%s\" (%s:%d)", tap_c_ ? tap_c_ : "(none)", \
				 (frag), __FILE__, __LINE__);                                 \
	} while (0)

#endif
