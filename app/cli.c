/*
 * cli.c — helpers shared by the subcommands: where models live, human-readable
 * sizes, and safe output of untrusted text. Calls infer/util.h; no curses.
 */
#include "config.h"

#include "app/cli.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/engine.h"
#include "infer/util.h"

#define DEFAULT_MODEL_NAME "SmolLM2-135M-Instruct.Q4_1.gguf"

char *cli_models_dir(void)
{
	const char *d = getenv("DUET_MODELS"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (d && *d)
		return xstrdup(d);
	if (xdg && *xdg)
		return xasprintf("%s/duet/models", xdg);
	return xasprintf("%s/.cache/duet/models", home && *home ? home : ".");
}

char *cli_default_model(void)
{
	char *dir = cli_models_dir();
	char *path = path_join(dir, DEFAULT_MODEL_NAME);
	free(dir);
	return path;
}

char *cli_resolve_model(const char *given)
{
	char *path;

	if (given)
		return xstrdup(given);
	path = cli_default_model();
	if (!path_exists(path)) {
		fprintf(stderr,
			"duet: no model given and the default model %s is not there;\n"
			"      run ./setup.sh to fetch it, or pass a model path\n",
			path);
		free(path);
		return NULL;
	}
	return path;
}

struct engine_model *cli_model_open(const char *path, const struct engine_model_params *p, char **cause)
{
	struct engine_model *m = engine_model_open(path, p, cause);

	if (m && engine_model_fallback_note(m))
		fprintf(stderr, "duet: %s\n", engine_model_fallback_note(m));
	return m;
}

static char *next_slot(void)
{
	static char slots[4][32];
	static unsigned next;
	return slots[next++ % 4];
}

const char *cli_human_bytes(unsigned long long n)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	char *s = next_slot();
	double v = (double)n;
	int u = 0;

	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(s, 32, "%llu B", n);
	else
		snprintf(s, 32, "%.2f %s", v, units[u]);
	return s;
}

const char *cli_human_count(unsigned long long n)
{
	char *s = next_slot();

	if (n >= 1000000000ull)
		snprintf(s, 32, "%.2f G", (double)n / 1e9);
	else if (n >= 1000000ull)
		snprintf(s, 32, "%.1f M", (double)n / 1e6);
	else if (n >= 1000ull)
		snprintf(s, 32, "%.1f k", (double)n / 1e3);
	else
		snprintf(s, 32, "%llu", n);
	return s;
}

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid
 * (overlong forms, surrogates and values past U+10FFFF are invalid).
 */
static size_t utf8_valid_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void cli_write_untrusted(FILE *f, const char *s, size_t n, bool escape)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (!escape) {
		fwrite(s, 1, n, f);
		return;
	}
	while (i < n) {
		uint32_t cp;
		size_t len = utf8_valid_len(p + i, n - i, &cp);
		if (len == 0) {
			fprintf(f, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f)
			fprintf(f, "\\x%02x", (unsigned)cp);
		else if (cp >= 0x80 && cp < 0xa0)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p + i, 1, len, f);
		i += len;
	}
}

void cli_write_json_string(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	fputc('"', f);
	while (i < n) {
		uint32_t cp;
		size_t len = utf8_valid_len(p + i, n - i, &cp);
		if (len == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p + i, 1, len, f);
		i += len;
	}
	fputc('"', f);
}
