/*
 * cli.c — helpers shared by the subcommands: where models live, human-readable
 * sizes, and safe output of untrusted text. Calls infer/util.h; no curses.
 */
#include "config.h"

#include "app/cli.h"

#include <stdbool.h>
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

int cli_parse_size(const char *s, uint64_t *out)
{
	uint64_t whole = 0, num = 0, den = 1, mult = 1, v, f;
	const char *p = s;
	bool frac = false;

	if (!s || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if (!u64_mul(whole, 10, &whole) || whole > UINT64_MAX - (uint64_t)(*p - '0'))
			return -1;
		else
			whole += (uint64_t)(*p - '0');
	if (*p == '.') {
		frac = true;
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (den < 1000000000u) { /* digits past the ninth do not change a byte count */
				num = num * 10 + (uint64_t)(*p - '0');
				den *= 10;
			}
	}
	switch (*p) {
	case 'k': case 'K': mult = 1ull << 10; break;
	case 'm': case 'M': mult = 1ull << 20; break;
	case 'g': case 'G': mult = 1ull << 30; break;
	case 't': case 'T': mult = 1ull << 40; break;
	case '\0': break;
	default: return -1;
	}
	if (*p) {
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
		if (*p == 'b' || *p == 'B')
			p++;
		else if (p[-1] == 'i' || p[-1] == 'I')
			return -1; /* "Gi" */
	}
	if (*p || (frac && mult == 1))
		return -1;
	/* num / den of mult, without num * mult (up to 2^70): num < den <= 1e9, so each product fits. */
	f = num * (mult / den) + num * (mult % den) / den;
	if (!u64_mul(whole, mult, &v) || v > UINT64_MAX - f)
		return -1;
	*out = v + f;
	return 0;
}

int cli_parse_quant(const char *s, int *bits)
{
	if (!s)
		return -1;
	if (strcmp(s, "q8") == 0)
		*bits = 8;
	else if (strcmp(s, "q4") == 0)
		*bits = 4;
	else if (strcmp(s, "none") == 0)
		*bits = 0;
	else
		return -1;
	return 0;
}

int cli_opt_gpu_mem(const char *cmd, const char *arg, uint64_t *out)
{
	if (cli_parse_size(arg, out) == 0)
		return 0;
	fprintf(stderr, "duet %s: --gpu-mem '%s' is not a size (bytes, or with K, M, G, T: 20G, 512M)\n", cmd, arg);
	return -1;
}

int cli_opt_quant(const char *cmd, const char *arg, int *bits)
{
	if (cli_parse_quant(arg, bits) == 0)
		return 0;
	fprintf(stderr, "duet %s: --quant is q8, q4 or none, not '%s'\n", cmd, arg);
	return -1;
}

int cli_engine_option(const char *cmd, int opt, const char *arg, struct engine_model_params *mp, uint32_t *n_ctx)
{
	uint32_t threads;

	switch (opt) {
	case CLI_OPT_CTX:
		return run_parse_u32(cmd, "--ctx", arg, 1u << 24, n_ctx) < 0 ? -1 : 1;
	case 't':
		if (run_parse_u32(cmd, "-t", arg, 1024, &threads) < 0)
			return -1;
		mp->n_threads = (int)threads;
		return 1;
	case CLI_OPT_DEVICE:
		mp->device = arg;
		return 1;
	case CLI_OPT_GPU_MEM:
		return cli_opt_gpu_mem(cmd, arg, &mp->gpu_mem) < 0 ? -1 : 1;
	case CLI_OPT_QUANT:
		return cli_opt_quant(cmd, arg, &mp->quant_bits) < 0 ? -1 : 1;
	default:
		return 0;
	}
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
		size_t len = utf8_decode(p + i, n - i, &cp);
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
		size_t len = utf8_decode(p + i, n - i, &cp);
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
