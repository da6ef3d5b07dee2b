/*
 * settings.c — duet.ini (through app/ini.c) and `duet chat` options: value
 * parsing with ranges, colours, key specs, per-model profiles and their
 * precedence. Calls app/ini.h, app/files.h, infer/ (chat format names,
 * sampler defaults); no curses.
 */
#include "config.h"

#include "app/settings.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/cli.h"
#include "app/files.h"
#include "infer/chat.h"
#include "infer/util.h"

/* ---- words ---------------------------------------------------------------------------------------- */

static const char *const think_names[] = {"show", "hide", "fold"};
static const char *const layout_names[] = {"auto", "side", "stacked"};

static int word_index(const char *word, const char *const *names, size_t n)
{
	for (size_t i = 0; word && i < n; i++)
		if (strcasecmp(word, names[i]) == 0)
			return (int)i;
	return -1;
}

int settings_think_parse(const char *word)
{
	return word_index(word, think_names, 3);
}

const char *settings_think_name(enum settings_think t)
{
	return (unsigned)t < 3 ? think_names[t] : "?";
}

int settings_layout_parse(const char *word)
{
	return word_index(word, layout_names, 3);
}

const char *settings_layout_name(enum settings_layout l)
{
	return (unsigned)l < 3 ? layout_names[l] : "?";
}

/* ---- colours ---------------------------------------------------------------------------------------- */

static const char *const color_slot_names[SETTINGS_COLOR_COUNT] = {
        "think", "answer", "user", "boxed", "agree", "disagree", "status", "error", "note", "border",
};

const char *settings_color_slot_name(enum settings_color_slot slot)
{
	return (unsigned)slot < SETTINGS_COLOR_COUNT ? color_slot_names[slot] : "?";
}

static const char *const basic_colors[8] = {"black", "red",     "green", "yellow",
                                            "blue",  "magenta", "cyan",  "white"};

static int color_word(const char *w)
{
	char *end;
	long v;

	if (strcasecmp(w, "default") == 0)
		return -1;
	if (strcasecmp(w, "grey") == 0 || strcasecmp(w, "gray") == 0)
		return 8;
	for (int i = 0; i < 8; i++) {
		if (strcasecmp(w, basic_colors[i]) == 0)
			return i;
		if (strncasecmp(w, "bright-", 7) == 0 && strcasecmp(w + 7, basic_colors[i]) == 0)
			return 8 + i;
	}
	if (!isdigit((unsigned char)w[0]))
		return -2;
	errno = 0;
	v = strtol(w, &end, 10);
	if (errno || *end || v > 255)
		return -2;
	return (int)v;
}

static const struct {
	const char *name;
	unsigned attr;
} attr_words[] = {
        {"bold", SETTINGS_ATTR_BOLD},
        {"dim", SETTINGS_ATTR_DIM},
        {"underline", SETTINGS_ATTR_UNDERLINE},
        {"reverse", SETTINGS_ATTR_REVERSE},
        {"italic", SETTINGS_ATTR_ITALIC},
        {"normal", 0},
        {"none", 0},
};

int settings_color_parse(const char *spec, struct settings_color *out, char **cause)
{
	struct settings_color c = {-1, -1, 0};
	char *copy = xstrdup(spec), *save = NULL;
	int n_colors = 0;
	bool want_bg = false;

	for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		size_t i;
		int col;

		for (i = 0; i < sizeof attr_words / sizeof attr_words[0]; i++)
			if (strcasecmp(w, attr_words[i].name) == 0)
				break;
		if (i < sizeof attr_words / sizeof attr_words[0] && !want_bg) {
			c.attrs |= attr_words[i].attr;
			continue;
		}
		if (strcasecmp(w, "on") == 0 && !want_bg) {
			want_bg = true;
			continue;
		}
		col = color_word(w);
		if (col == -2) {
			error_set(cause,
			          "unknown colour or attribute '%s' (a name, 0..255, bold, dim, underline, "
			          "reverse, italic, 'on' BACKGROUND)",
			          w);
			goto fail;
		}
		if (want_bg) {
			c.bg = (int16_t)col;
			want_bg = false;
			n_colors = 2;
		} else if (n_colors == 0) {
			c.fg = (int16_t)col;
			n_colors = 1;
		} else {
			error_set(cause, "two foreground colours; write 'FG on BG'");
			goto fail;
		}
	}
	if (want_bg) {
		error_set(cause, "'on' needs a background colour");
		goto fail;
	}
	free(copy);
	*out = c;
	return 0;
fail:
	free(copy);
	return -1;
}

int settings_color_degrade(int color, int n_colors)
{
	if (color < 0 || n_colors < 8)
		return -1;
	if (n_colors >= 256 || color < 8)
		return color;
	if (color < 16)
		return n_colors >= 16 ? color : color - 8;
	if (color >= 232) /* grey ramp: 8 + 10 * i */
		return 8 + 10 * (color - 232) >= 128 ? 7 : 0;
	/* 6x6x6 cube: a channel counts when it is at least half of the brightest one. */
	int v = color - 16, r = v / 36, g = (v / 6) % 6, b = v % 6;
	int max = r > g ? (r > b ? r : b) : (g > b ? g : b);
	if (max == 0)
		return 0;
	if (r == g && g == b)
		return max >= 2 ? 7 : 0;
	int half = (max + 1) / 2;
	return (r >= half ? 1 : 0) | (g >= half ? 2 : 0) | (b >= half ? 4 : 0);
}

/* ---- keys -----------------------------------------------------------------------------------------------
 */

static const char *const key_action_names[SETTINGS_KEY_COUNT] = {
        "fold-think",
        "toggle-broadcast",
        "focus-next",
        "editor",
};

const char *settings_key_action_name(enum settings_key_action a)
{
	return (unsigned)a < SETTINGS_KEY_COUNT ? key_action_names[a] : "?";
}

static const struct {
	const char *alias, *name;
} key_names[] = {
        {"tab", "Tab"},       {"enter", "Enter"},   {"return", "Enter"},        {"esc", "Esc"},
        {"escape", "Esc"},    {"space", "Space"},   {"backspace", "Backspace"}, {"up", "Up"},
        {"down", "Down"},     {"left", "Left"},     {"right", "Right"},         {"home", "Home"},
        {"end", "End"},       {"pgup", "PgUp"},     {"pageup", "PgUp"},         {"pgdn", "PgDn"},
        {"pagedown", "PgDn"}, {"insert", "Insert"}, {"ins", "Insert"},          {"delete", "Delete"},
        {"del", "Delete"},
};

/* One UTF-8 character that is not a control; its length or 0. */
static size_t utf8_one_printable(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;
	uint32_t cp;

	if (u[0] < 0x20 || u[0] == 0x7f)
		return 0;
	if (u[0] < 0x80)
		return u[1] ? 0 : 1;
	if ((u[0] & 0xe0) == 0xc0)
		n = 2, cp = u[0] & 0x1f;
	else if ((u[0] & 0xf0) == 0xe0)
		n = 3, cp = u[0] & 0x0f;
	else if ((u[0] & 0xf8) == 0xf0)
		n = 4, cp = u[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if (u[n] || cp < 0xa0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	return n;
}

static int key_one(const char *spec, const char *s, char *out, size_t size, char **cause);

int settings_key_normalise(const char *spec, char *out, size_t size, char **cause)
{
	const char *sp = strchr(spec, ' ');
	char first[32], second[32];

	if (!sp)
		return key_one(spec, spec, out, size, cause);
	/* a chord: "C-x C-e" (a space as a key is spelt "Space") */
	if (sp == spec || !sp[1] || strchr(sp + 1, ' ') || (size_t)(sp - spec) >= sizeof first)
		return error_set(cause, "'%s' is not a key: a chord is two keys with one space between",
		                 spec);
	memcpy(first, spec, (size_t)(sp - spec));
	first[sp - spec] = '\0';
	if (key_one(spec, first, first, sizeof first, cause) != 0 ||
	    key_one(spec, sp + 1, second, sizeof second, cause) != 0)
		return -1;
	if (strncmp(first, "C-", 2) != 0 && strncmp(first, "M-C-", 4) != 0)
		return error_set(cause, "'%s' is not a key: a chord starts with a control key (C-x C-e)",
		                 spec);
	if (strlen(first) + 1 + strlen(second) + 1 > size)
		return error_set(cause, "'%s': key name too long", spec);
	snprintf(out, size, "%s %s", first, second);
	return 0;
}

/* One key; spec is the whole text for messages. */
static int key_one(const char *spec, const char *s, char *out, size_t size, char **cause)
{
	bool meta = false;
	char body[32];

	if (strncasecmp(s, "M-", 2) == 0 && s[2]) {
		meta = true;
		s += 2;
	}
	if (strncasecmp(s, "C-", 2) == 0 && s[2]) {
		if (!isalpha((unsigned char)s[2]) || s[3])
			return error_set(cause, "'%s' is not a key: C- takes one letter", spec);
		snprintf(body, sizeof body, "C-%c", tolower((unsigned char)s[2]));
	} else if (strncasecmp(s, "S-", 2) == 0 && s[2]) {
		if (strcasecmp(s + 2, "Tab") != 0)
			return error_set(cause, "'%s' is not a key: S- only goes with Tab", spec);
		snprintf(body, sizeof body, "S-Tab");
	} else if ((s[0] == 'F' || s[0] == 'f') && isdigit((unsigned char)s[1])) {
		char *end;
		long n = strtol(s + 1, &end, 10);
		if (*end || n < 1 || n > 12)
			return error_set(cause, "'%s' is not a key: function keys are F1..F12", spec);
		snprintf(body, sizeof body, "F%ld", n);
	} else {
		size_t i;
		for (i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
			if (strcasecmp(s, key_names[i].alias) == 0)
				break;
		if (i < sizeof key_names / sizeof key_names[0])
			snprintf(body, sizeof body, "%s", key_names[i].name);
		else if (utf8_one_printable(s) && strlen(s) < sizeof body)
			snprintf(body, sizeof body, "%s", s);
		else
			return error_set(
			        cause,
			        "'%s' is not a key (C-x, M-x, F1..F12, Tab, S-Tab, Enter, Esc, "
			        "Space, arrows, Home, End, PgUp, PgDn, Insert, Delete, or one character)",
			        spec);
	}
	if (strlen(body) + (meta ? 2 : 0) + 1 > size)
		return error_set(cause, "'%s': key name too long", spec);
	snprintf(out, size, "%s%s", meta ? "M-" : "", body);
	return 0;
}

/* ---- values -----------------------------------------------------------------------------------------------
 */

static int parse_float(const char *key, const char *v, double min, double max, float *out, char **cause)
{
	char *end;
	double d;

	errno = 0;
	d = *v ? strtod(v, &end) : NAN;
	if (!*v || errno || *end || !isfinite(d) || d < min || d > max)
		return error_set(cause, "%s: '%s' is not a number in %g..%g", key, v, min, max);
	*out = (float)d;
	return 0;
}

static int parse_u64(const char *key, const char *v, uint64_t max, uint64_t *out, char **cause)
{
	char *end;
	unsigned long long u;

	errno = 0;
	if (!isdigit((unsigned char)v[0]))
		return error_set(cause, "%s: '%s' is not a whole number in 0..%llu", key, v,
		                 (unsigned long long)max);
	u = strtoull(v, &end, 10);
	if (errno || *end || u > max)
		return error_set(cause, "%s: '%s' is not a whole number in 0..%llu", key, v,
		                 (unsigned long long)max);
	*out = u;
	return 0;
}

static bool device_valid(const char *v)
{
	if (strcmp(v, "auto") == 0 || strcmp(v, "cpu") == 0 || strcmp(v, "cuda") == 0)
		return true;
	if (strncmp(v, "cuda:", 5) != 0 || !v[5] || strlen(v + 5) > 3)
		return false;
	for (const char *p = v + 5; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static bool template_name_valid(const char *v)
{
	if (!*v || strlen(v) > 64)
		return false;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

int settings_profile_set(struct settings_profile *p, const char *key_in, const char *v, char **cause)
{
	char key[32];
	uint64_t u;
	float f;
	size_t i;

	for (i = 0; key_in[i] && i + 1 < sizeof key; i++)
		key[i] = key_in[i] == '-' ? '_' : (char)tolower((unsigned char)key_in[i]);
	key[i] = '\0';
	if (key_in[i])
		return error_set(cause, "unknown key '%s'", key_in);

#define FLOAT_KEY(name, field, lo, hi, bit)                                                                  \
	if (strcmp(key, name) == 0) {                                                                        \
		if (parse_float(name, v, lo, hi, &f, cause) != 0)                                            \
			return -1;                                                                           \
		p->field = f;                                                                                \
		p->set |= bit;                                                                               \
		return 0;                                                                                    \
	}
	FLOAT_KEY("temperature", temperature, 0, 5, SETTINGS_SET_TEMPERATURE)
	FLOAT_KEY("top_p", top_p, 0, 1, SETTINGS_SET_TOP_P)
	FLOAT_KEY("min_p", min_p, 0, 1, SETTINGS_SET_MIN_P)
	FLOAT_KEY("repeat_penalty", repeat_penalty, 0.1, 10, SETTINGS_SET_REPEAT_PENALTY)
#undef FLOAT_KEY
	if (strcmp(key, "top_k") == 0) {
		if (parse_u64("top_k", v, 100000, &u, cause) != 0)
			return -1;
		p->top_k = (int32_t)u;
		p->set |= SETTINGS_SET_TOP_K;
		return 0;
	}
	if (strcmp(key, "seed") == 0) {
		if (parse_u64("seed", v, UINT64_MAX, &u, cause) != 0)
			return -1;
		p->seed = u;
		p->set |= SETTINGS_SET_SEED;
		return 0;
	}
	if (strcmp(key, "max_tokens") == 0) {
		if (parse_u64("max_tokens", v, 10000000, &u, cause) != 0)
			return -1;
		p->max_tokens = (uint32_t)u;
		p->set |= SETTINGS_SET_MAX_TOKENS;
		return 0;
	}
	if (strcmp(key, "ctx") == 0) {
		if (parse_u64("ctx", v, 10000000, &u, cause) != 0)
			return -1;
		if (u != 0 && u < 64)
			return error_set(cause, "ctx: '%s' is too small (0 = the default, else at least 64)",
			                 v);
		p->ctx = (uint32_t)u;
		p->set |= SETTINGS_SET_CTX;
		return 0;
	}
	if (strcmp(key, "threads") == 0) {
		if (parse_u64("threads", v, 1024, &u, cause) != 0)
			return -1;
		p->threads = (int)u;
		p->set |= SETTINGS_SET_THREADS;
		return 0;
	}
	if (strcmp(key, "gpu_mem") == 0) {
		if (cli_parse_size(v, &u) != 0)
			return error_set(cause, "gpu_mem: '%s' is not a size (bytes, or with K, M, G, T: 20G, 512M)",
			                 v);
		p->gpu_mem = u;
		p->set |= SETTINGS_SET_GPU_MEM;
		return 0;
	}
	if (strcmp(key, "quant") == 0) {
		if (cli_parse_quant(v, &p->quant_bits) != 0)
			return error_set(cause, "quant: '%s' is not q8, q4 or none", v);
		p->set |= SETTINGS_SET_QUANT;
		return 0;
	}
	if (strcmp(key, "r1") == 0) {
		int b = ini_parse_bool(v);
		if (b < 0)
			return error_set(cause, "r1: '%s' is not on or off", v);
		p->r1 = b;
		p->set |= SETTINGS_SET_R1;
		return 0;
	}
	if (strcmp(key, "chat_format") == 0) {
		enum chat_format cf = strcmp(v, "auto") == 0 ? CHAT_FORMAT_UNKNOWN : chat_format_parse(v);
		if (cf == CHAT_FORMAT_UNKNOWN && strcmp(v, "auto") != 0)
			return error_set(cause,
			                 "chat_format: '%s' is not auto, chatml, llama3 or deepseek-r1", v);
		p->chat_format = cf;
		p->set |= SETTINGS_SET_CHAT_FORMAT;
		return 0;
	}
	if (strcmp(key, "device") == 0) {
		if (!device_valid(v))
			return error_set(cause, "device: '%s' is not auto, cpu, cuda or cuda:N", v);
		free(p->device);
		p->device = xstrdup(v);
		p->set |= SETTINGS_SET_DEVICE;
		return 0;
	}
	if (strcmp(key, "system") == 0) {
		free(p->system);
		p->system = ini_unescape(v);
		p->set |= SETTINGS_SET_SYSTEM;
		return 0;
	}
	if (strcmp(key, "template") == 0) {
		if (!template_name_valid(v))
			return error_set(
			        cause,
			        "template: '%s' is not a template name (letters, digits, '-', '_', '.')", v);
		free(p->template_name);
		p->template_name = xstrdup(v);
		p->set |= SETTINGS_SET_TEMPLATE;
		return 0;
	}
	return error_set(cause, "unknown key '%s'", key_in);
}

void settings_profile_merge(struct settings_profile *base, const struct settings_profile *top)
{
	unsigned s = top->set;

	if (s & SETTINGS_SET_TEMPERATURE)
		base->temperature = top->temperature;
	if (s & SETTINGS_SET_TOP_P)
		base->top_p = top->top_p;
	if (s & SETTINGS_SET_TOP_K)
		base->top_k = top->top_k;
	if (s & SETTINGS_SET_MIN_P)
		base->min_p = top->min_p;
	if (s & SETTINGS_SET_REPEAT_PENALTY)
		base->repeat_penalty = top->repeat_penalty;
	if (s & SETTINGS_SET_SEED)
		base->seed = top->seed;
	if (s & SETTINGS_SET_MAX_TOKENS)
		base->max_tokens = top->max_tokens;
	if (s & SETTINGS_SET_R1)
		base->r1 = top->r1;
	if (s & SETTINGS_SET_CHAT_FORMAT)
		base->chat_format = top->chat_format;
	if (s & SETTINGS_SET_CTX)
		base->ctx = top->ctx;
	if (s & SETTINGS_SET_THREADS)
		base->threads = top->threads;
	if (s & SETTINGS_SET_GPU_MEM)
		base->gpu_mem = top->gpu_mem;
	if (s & SETTINGS_SET_QUANT)
		base->quant_bits = top->quant_bits;
	if (s & SETTINGS_SET_DEVICE) {
		free(base->device);
		base->device = xstrdup(top->device);
	}
	if (s & SETTINGS_SET_SYSTEM) {
		free(base->system);
		base->system = xstrdup(top->system);
	}
	if (s & SETTINGS_SET_TEMPLATE) {
		free(base->template_name);
		base->template_name = xstrdup(top->template_name);
	}
	base->set |= s;
}

bool settings_profile_r1(const struct settings_profile *p, bool model_r1)
{
	return p && (p->set & SETTINGS_SET_R1) ? p->r1 : model_r1;
}

void settings_profile_sampling(const struct settings_profile *p, struct sampler_params *sp)
{
	if (!p)
		return;
	if (p->set & SETTINGS_SET_TEMPERATURE)
		sp->temperature = p->temperature;
	if (p->set & SETTINGS_SET_TOP_P)
		sp->top_p = p->top_p;
	if (p->set & SETTINGS_SET_TOP_K)
		sp->top_k = p->top_k;
	if (p->set & SETTINGS_SET_MIN_P)
		sp->min_p = p->min_p;
	if (p->set & SETTINGS_SET_REPEAT_PENALTY)
		sp->repeat_penalty = p->repeat_penalty;
	if (p->set & SETTINGS_SET_SEED)
		sp->seed = p->seed;
}

void settings_profile_free(struct settings_profile *p)
{
	if (!p)
		return;
	free(p->pattern);
	free(p->device);
	free(p->system);
	free(p->template_name);
	memset(p, 0, sizeof *p);
}

/* ---- the file
 * ------------------------------------------------------------------------------------------------- */

void settings_init(struct settings *s)
{
	static const struct settings_color defaults[SETTINGS_COLOR_COUNT] = {
	        [SETTINGS_COLOR_THINK] = {-1, -1, SETTINGS_ATTR_DIM},
	        [SETTINGS_COLOR_ANSWER] = {-1, -1, 0},
	        [SETTINGS_COLOR_USER] = {-1, -1, SETTINGS_ATTR_BOLD},
	        [SETTINGS_COLOR_BOXED] = {2, -1, SETTINGS_ATTR_BOLD},
	        [SETTINGS_COLOR_AGREE] = {2, -1, 0},
	        [SETTINGS_COLOR_DISAGREE] = {1, -1, SETTINGS_ATTR_BOLD},
	        [SETTINGS_COLOR_STATUS] = {-1, -1, SETTINGS_ATTR_REVERSE},
	        [SETTINGS_COLOR_ERROR] = {1, -1, SETTINGS_ATTR_BOLD},
	        [SETTINGS_COLOR_NOTE] = {6, -1, SETTINGS_ATTR_DIM},
	        [SETTINGS_COLOR_BORDER] = {-1, -1, 0},
	};
	static const char *const default_keys[SETTINGS_KEY_COUNT] = {"C-t", "F3", "C-o", "C-x C-e"};

	memset(s, 0, sizeof *s);
	s->layout = SETTINGS_LAYOUT_AUTO;
	s->broadcast = true;
	s->autosave = true;
	s->think = SETTINGS_THINK_FOLD;
	s->palette = SETTINGS_PALETTE_AUTO;
	memcpy(s->colors, defaults, sizeof defaults);
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++)
		snprintf(s->keys[i], sizeof s->keys[i], "%s", default_keys[i]);
}

void settings_free(struct settings *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->model);
	free(s->model2);
	for (size_t i = 0; i < s->n_profiles; i++)
		settings_profile_free(&s->profiles[i]);
	free(s->profiles);
	ini_messages_free(&s->messages);
	memset(s, 0, sizeof *s);
}

char *settings_default_path(void)
{
	const char *env = getenv("DUET_CONFIG");

	if (env && *env)
		return xstrdup(env);
	return files_xdg_path("XDG_CONFIG_HOME", ".config", "duet.ini");
}

enum section_kind { SECTION_UNKNOWN, SECTION_GENERAL, SECTION_COLORS, SECTION_KEYS, SECTION_MODEL };

static enum section_kind section_kind(const char *name)
{
	if (strcasecmp(name, "general") == 0)
		return SECTION_GENERAL;
	if (strcasecmp(name, "colors") == 0 || strcasecmp(name, "colours") == 0)
		return SECTION_COLORS;
	if (strcasecmp(name, "keys") == 0)
		return SECTION_KEYS;
	if (strncasecmp(name, "model:", 6) == 0)
		return SECTION_MODEL;
	return SECTION_UNKNOWN;
}

static int general_set(struct settings *s, const char *key, const char *v, char **cause)
{
	int b;

	if (strcmp(key, "model") == 0 || strcmp(key, "model2") == 0) {
		char **dst = key[5] ? &s->model2 : &s->model;
		if (!*v)
			return error_set(cause, "%s: empty path", key);
		free(*dst);
		*dst = files_expand_home(v);
		return 0;
	}
	if (strcmp(key, "layout") == 0) {
		int l = settings_layout_parse(v);
		if (l < 0)
			return error_set(cause, "layout: '%s' is not auto, side or stacked", v);
		s->layout = (enum settings_layout)l;
		return 0;
	}
	if (strcmp(key, "think") == 0) {
		int t = settings_think_parse(v);
		if (t < 0)
			return error_set(cause, "think: '%s' is not show, hide or fold", v);
		s->think = (enum settings_think)t;
		return 0;
	}
	if (strcmp(key, "broadcast") == 0 || strcmp(key, "mouse") == 0 || strcmp(key, "autosave") == 0) {
		b = ini_parse_bool(v);
		if (b < 0)
			return error_set(cause, "%s: '%s' is not on or off", key, v);
		*(key[0] == 'b' ? &s->broadcast : key[0] == 'm' ? &s->mouse : &s->autosave) = b;
		return 0;
	}
	return error_set(cause, "unknown key '%s' in [general]", key);
}

static int colors_set(struct settings *s, const char *key, const char *v, char **cause)
{
	static const char *const palettes[] = {"auto", "256", "8", "mono"};

	if (strcmp(key, "palette") == 0) {
		int p = word_index(v, palettes, 4);
		if (p < 0)
			return error_set(cause, "palette: '%s' is not auto, 256, 8 or mono", v);
		s->palette = (enum settings_palette)p;
		s->palette_set = true;
		return 0;
	}
	for (int i = 0; i < SETTINGS_COLOR_COUNT; i++) {
		if (strcmp(key, color_slot_names[i]) == 0 ||
		    (i == SETTINGS_COLOR_ANSWER && strcmp(key, "assistant") == 0)) {
			if (settings_color_parse(v, &s->colors[i], cause) != 0) {
				error_prefix(cause, "%s", key);
				return -1;
			}
			s->colors_set |= 1u << i;
			return 0;
		}
	}
	return error_set(cause, "unknown key '%s' in [colors]", key);
}

static int keys_set(struct settings *s, const char *key, const char *v, char **cause)
{
	for (int i = 0; i < SETTINGS_KEY_COUNT; i++) {
		char name[32];
		snprintf(name, sizeof name, "%s", key_action_names[i]);
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		if (strcmp(key, name) == 0) {
			if (settings_key_normalise(v, s->keys[i], sizeof s->keys[i], cause) != 0) {
				error_prefix(cause, "%s", key_action_names[i]);
				return -1;
			}
			return 0;
		}
	}
	return error_set(
	        cause, "unknown key '%s' in [keys] (fold-think, toggle-broadcast, focus-next, editor)", key);
}

static void settings_apply(struct settings *s, const struct ini_file *f)
{
	long *profile_of = xcalloc(f->n_sections ? f->n_sections : 1, sizeof *profile_of);

	for (size_t i = 0; i < f->n_sections; i++) {
		const struct ini_section *sec = &f->sections[i];
		enum section_kind kind = section_kind(sec->name);

		profile_of[i] = -1;
		if (kind == SECTION_UNKNOWN)
			ini_messages_add(&s->messages,
			                 "%s:%d: unknown section [%s] (general, colors, keys, model:PATTERN)",
			                 f->name, sec->line, sec->name);
		if (kind != SECTION_MODEL)
			continue;
		const char *pat = sec->name + 6;
		while (*pat == ' ' || *pat == '\t')
			pat++;
		if (!*pat) {
			ini_messages_add(&s->messages, "%s:%d: [model:] needs a name or a path pattern",
			                 f->name, sec->line);
			continue;
		}
		s->profiles = xreallocarray(s->profiles, s->n_profiles + 1, sizeof *s->profiles);
		s->profiles[s->n_profiles] =
		        (struct settings_profile){.pattern = xstrdup(pat), .line = sec->line};
		profile_of[i] = (long)s->n_profiles++;
	}
	for (size_t i = 0; i < f->n_entries; i++) {
		const struct ini_entry *e = &f->entries[i];
		long profile = profile_of[e->section_index];
		char *cause = NULL;
		int rc = 0;

		switch (section_kind(e->section)) {
		case SECTION_UNKNOWN:
			continue; /* reported once for the section */
		case SECTION_GENERAL:
			rc = general_set(s, e->key, e->value, &cause);
			break;
		case SECTION_COLORS:
			rc = colors_set(s, e->key, e->value, &cause);
			break;
		case SECTION_KEYS:
			rc = keys_set(s, e->key, e->value, &cause);
			break;
		case SECTION_MODEL:
			if (profile < 0)
				continue;
			rc = settings_profile_set(&s->profiles[profile], e->key, e->value, &cause);
			if (rc != 0 && strncmp(cause, "unknown key", 11) == 0) {
				free(cause);
				cause = NULL;
				error_set(&cause, "unknown key '%s' in [%s]", e->key, e->section);
			}
			break;
		}
		if (rc != 0) {
			ini_messages_add(&s->messages, "%s:%d: %s", f->name, e->line, cause);
			free(cause);
		}
	}
	free(profile_of);
}

void settings_load_text(struct settings *s, const char *name, const char *text, size_t len)
{
	struct ini_file f;
	char *cause = NULL;

	settings_init(s);
	if (ini_file_parse(&f, name, text, len, &s->messages, &cause) != 0) {
		ini_messages_add(&s->messages, "%s", cause);
		free(cause);
		return;
	}
	s->path = xstrdup(name);
	settings_apply(s, &f);
	ini_messages_sort(&s->messages, name);
	ini_file_free(&f);
}

int settings_load(struct settings *s, const char *path, char **cause)
{
	const char *env = getenv("DUET_CONFIG");
	bool explicit_path = path || (env && *env);
	char *p = path ? xstrdup(path) : settings_default_path();
	size_t len;
	char *text, *why = NULL;

	settings_init(s);
	if (!explicit_path && !path_exists(p)) {
		free(p);
		return 0;
	}
	text = file_read_all(p, INI_MAX_FILE, &len, &why);
	if (!text) {
		ini_messages_add(&s->messages, "%s", why);
		if (explicit_path) {
			if (cause)
				*cause = why;
			else
				free(why);
			free(p);
			return -1;
		}
		free(why);
		free(p);
		return 0;
	}
	settings_free(s); /* settings_load_text starts afresh */
	settings_load_text(s, p, text, len);
	free(text);
	free(p);
	return 0;
}

/* ---- profile lookup
 * -------------------------------------------------------------------------------------------- */

static bool has_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

static bool profile_matches(const char *pattern, const char *path)
{
	char *copy = xstrdup(path);
	size_t n = strlen(copy);
	const char *base;
	bool hit;

	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	base = strrchr(copy, '/');
	base = base ? base + 1 : copy;
	if (has_glob(pattern)) {
		hit = fnmatch(pattern, copy, FNM_CASEFOLD) == 0 || fnmatch(pattern, base, FNM_CASEFOLD) == 0;
	} else {
		const char *dot = strrchr(base, '.');
		hit = strcasecmp(pattern, base) == 0 ||
		      (dot && dot != base && strlen(pattern) == (size_t)(dot - base) &&
		       strncasecmp(pattern, base, (size_t)(dot - base)) == 0);
	}
	free(copy);
	return hit;
}

size_t settings_profile_for(const struct settings *s, const char *model_path, struct settings_profile *out)
{
	size_t n = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; model_path && i < s->n_profiles; i++) {
		if (profile_matches(s->profiles[i].pattern, model_path)) {
			settings_profile_merge(out, &s->profiles[i]);
			n++;
		}
	}
	return n;
}

/* ---- the command line
 * ------------------------------------------------------------------------------------------------ */

enum {
	OPT_PLAIN = 1000,
	OPT_RESUME,
	OPT_CONFIG,
	OPT_LAYOUT,
	OPT_MOUSE,
	OPT_BROADCAST,
	OPT_NO_AUTOSAVE,
	OPT_THINK,
	OPT_SYSTEM,
	OPT_TEMPLATE,
	OPT_TEMP,
	OPT_TOP_P,
	OPT_TOP_K,
	OPT_MIN_P,
	OPT_REPEAT_PENALTY,
	OPT_SEED,
	OPT_R1,
	OPT_CHAT_FORMAT,
	OPT_DEVICE,
	OPT_CTX,
	OPT_THREADS,
	OPT_GPU_MEM,
	OPT_QUANT,
};

int settings_cli_parse(int argc, char **argv, struct settings_cli *out, char **cause)
{
	static const struct option longopts[] = {
	        {"model", required_argument, NULL, 'm'},
	        {"max-tokens", required_argument, NULL, 'n'},
	        {"help", no_argument, NULL, 'h'},
	        {"plain", no_argument, NULL, OPT_PLAIN},
	        {"resume", optional_argument, NULL, OPT_RESUME},
	        {"config", required_argument, NULL, OPT_CONFIG},
	        {"layout", required_argument, NULL, OPT_LAYOUT},
	        {"mouse", no_argument, NULL, OPT_MOUSE},
	        {"broadcast", required_argument, NULL, OPT_BROADCAST},
	        {"no-autosave", no_argument, NULL, OPT_NO_AUTOSAVE},
	        {"think", required_argument, NULL, OPT_THINK},
	        {"system", required_argument, NULL, OPT_SYSTEM},
	        {"template", required_argument, NULL, OPT_TEMPLATE},
	        {"temp", required_argument, NULL, OPT_TEMP},
	        {"temperature", required_argument, NULL, OPT_TEMP},
	        {"top-p", required_argument, NULL, OPT_TOP_P},
	        {"top-k", required_argument, NULL, OPT_TOP_K},
	        {"min-p", required_argument, NULL, OPT_MIN_P},
	        {"repeat-penalty", required_argument, NULL, OPT_REPEAT_PENALTY},
	        {"seed", required_argument, NULL, OPT_SEED},
	        {"r1", required_argument, NULL, OPT_R1},
	        {"chat-format", required_argument, NULL, OPT_CHAT_FORMAT},
	        {"device", required_argument, NULL, OPT_DEVICE},
	        {"ctx", required_argument, NULL, OPT_CTX},
	        {"threads", required_argument, NULL, OPT_THREADS},
	        {"gpu-mem", required_argument, NULL, OPT_GPU_MEM},
	        {"quant", required_argument, NULL, OPT_QUANT},
	        {NULL, 0, NULL, 0},
	};
	static const char *const profile_keys[] = {
	        [OPT_SYSTEM - OPT_SYSTEM] = "system",
	        [OPT_TEMPLATE - OPT_SYSTEM] = "template",
	        [OPT_TEMP - OPT_SYSTEM] = "temperature",
	        [OPT_TOP_P - OPT_SYSTEM] = "top_p",
	        [OPT_TOP_K - OPT_SYSTEM] = "top_k",
	        [OPT_MIN_P - OPT_SYSTEM] = "min_p",
	        [OPT_REPEAT_PENALTY - OPT_SYSTEM] = "repeat_penalty",
	        [OPT_SEED - OPT_SYSTEM] = "seed",
	        [OPT_R1 - OPT_SYSTEM] = "r1",
	        [OPT_CHAT_FORMAT - OPT_SYSTEM] = "chat_format",
	        [OPT_DEVICE - OPT_SYSTEM] = "device",
	        [OPT_CTX - OPT_SYSTEM] = "ctx",
	        [OPT_THREADS - OPT_SYSTEM] = "threads",
	        [OPT_GPU_MEM - OPT_SYSTEM] = "gpu_mem",
	        [OPT_QUANT - OPT_SYSTEM] = "quant",
	};
	int c, longindex;

	memset(out, 0, sizeof *out);
	out->layout = out->think = out->broadcast = -1;
	optind = 0; /* GNU: restart scanning (the caller may have parsed argv already) */
	opterr = 0;
	while ((longindex = -1, c = getopt_long(argc, argv, ":m:n:h", longopts, &longindex)) != -1) {
		char opt[40];
		char *why = NULL;
		int v;

		if (longindex >= 0)
			snprintf(opt, sizeof opt, "--%s", longopts[longindex].name);
		else if (c != '?' && c != ':')
			snprintf(opt, sizeof opt, "-%c", c);
		else if (optopt > 0 && optopt < 256)
			snprintf(opt, sizeof opt, "-%c", optopt);
		else
			snprintf(opt, sizeof opt, "%.39s", argv[optind - 1]);

		switch (c) {
		case 'm':
			if (out->n_models == 2) {
				error_set(cause, "-m/--model given more than twice");
				goto fail;
			}
			out->models[out->n_models++] = optarg;
			break;
		case 'n':
			if (settings_profile_set(&out->overrides, "max_tokens", optarg, &why) != 0)
				goto bad_value;
			break;
		case 'h':
			out->help = true;
			break;
		case OPT_PLAIN:
			out->plain = true;
			break;
		case OPT_RESUME:
			out->resume = optarg ? optarg : "";
			break;
		case OPT_CONFIG:
			out->config_path = optarg;
			break;
		case OPT_LAYOUT:
			if ((v = settings_layout_parse(optarg)) < 0) {
				error_set(cause, "--layout: '%s' is not auto, side or stacked", optarg);
				goto fail;
			}
			out->layout = v;
			break;
		case OPT_THINK:
			if ((v = settings_think_parse(optarg)) < 0) {
				error_set(cause, "--think: '%s' is not show, hide or fold", optarg);
				goto fail;
			}
			out->think = v;
			break;
		case OPT_MOUSE:
			out->mouse = true;
			break;
		case OPT_BROADCAST:
			if ((v = ini_parse_bool(optarg)) < 0) {
				error_set(cause, "--broadcast: '%s' is not on or off", optarg);
				goto fail;
			}
			out->broadcast = v;
			break;
		case OPT_NO_AUTOSAVE:
			out->no_autosave = true;
			break;
		case ':':
			error_set(cause, "%s needs a value", opt);
			goto fail;
		case '?':
			error_set(cause, "unknown option '%s'", opt);
			goto fail;
		default:
			if (c >= OPT_SYSTEM && c <= OPT_QUANT) {
				if (settings_profile_set(&out->overrides, profile_keys[c - OPT_SYSTEM],
				                         optarg, &why) != 0)
					goto bad_value;
				break;
			}
			error_set(cause, "unexpected option '%s'", opt);
			goto fail;
		bad_value : {
			/* why is "KEY: what"; name the option instead of the file's key */
			const char *what = strstr(why, ": ");
			error_set(cause, "%s: %s", opt, what ? what + 2 : why);
			free(why);
			goto fail;
		}
		}
	}
	for (; optind < argc; optind++) {
		if (out->n_models == 2) {
			error_set(cause, "stray argument '%s' (two models are the most)", argv[optind]);
			goto fail;
		}
		out->models[out->n_models++] = argv[optind];
	}
	return 0;
fail:
	settings_profile_free(&out->overrides);
	return -1;
}
