/*
 * settings.h — duet.ini, the user's configuration, and the command-line
 * options of `duet chat` (shared by the curses interface and --plain).
 *
 * (Named settings, not config: every .c file in app/ starts with
 * #include "config.h", which must find autoconf's header, and a quoted
 * include looks in the including file's folder first.)
 *
 * The file: $DUET_CONFIG, else $XDG_CONFIG_HOME/duet/duet.ini, else
 * ~/.config/duet/duet.ini. Sections:
 *
 *   [general]  model, model2 (paths), layout = auto|side|stacked,
 *              broadcast, mouse, autosave (booleans), think = show|hide|fold
 *   [colors]   palette = auto|256|8|mono; think, answer, user, boxed, agree,
 *              disagree, status, error, note, border = a colour spec:
 *              "[ATTR...] [FG] [on BG]" with ATTR bold|dim|underline|reverse|
 *              italic, a colour default|black|red|green|yellow|blue|magenta|
 *              cyan|white|bright-black..bright-white|grey|0..255,
 *              e.g. "dim", "bold yellow", "244 on default"
 *   [keys]     fold-think, toggle-broadcast, focus-next, editor = a key spec:
 *              "C-t", "M-f", "M-Enter", "F2", "Tab", "S-Tab", "Esc", "Enter",
 *              a single character, or a chord after a control key: "C-x C-e"
 *   [model:PATTERN]  a profile for models whose path or file name matches
 *              PATTERN (a shell glob, or a plain name: the file name with or
 *              without its extension, or a folder's name): temperature,
 *              top_p, top_k, min_p, repeat_penalty, seed, max_tokens,
 *              r1 = on|off, chat_format = chatml|llama3|deepseek-r1,
 *              device, ctx, threads, gpu_mem = SIZE (bytes, or with K, M, G,
 *              T: "20G"), quant = q8|q4|none (GPU only), system, template
 *
 * Precedence for a pane (lowest first): built-in defaults, the model's own
 * defaults (engine_model_sampling_defaults, which applies the R1
 * conventions), the prompt template's overrides, the matching [model:...]
 * profiles (file order, later wins), the command line; runtime slash
 * commands (/temp ...) go on top. In code:
 *
 *	struct settings_profile p;
 *	settings_profile_for(&cfg, path, &p);           // file profiles
 *	... pick the template: cli > p.template_name ...
 *	struct settings_profile eff = tpl ? tpl->overrides : empty;
 *	settings_profile_merge(&eff, &p);
 *	settings_profile_merge(&eff, &cli.overrides);
 *	// open the model with eff.device / eff.ctx / eff.threads
 *	bool r1 = settings_profile_r1(&eff, engine_model_is_r1(m));
 *	engine_model_sampling_defaults(m, r1, &sp);
 *	settings_profile_sampling(&eff, &sp);
 *
 * A bad line (unknown section or key, bad value, malformed line) adds a
 * message "FILE:LINE: what is wrong" to settings.messages and is ignored;
 * everything else still loads. Plain data, no curses: the UI maps colours
 * and keys. Not thread-safe while loading; read-only afterwards.
 */
#ifndef DUET_APP_SETTINGS_H
#define DUET_APP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/ini.h"
#include "infer/model.h"
#include "infer/sampler.h"

enum settings_think {
	SETTINGS_THINK_SHOW,
	SETTINGS_THINK_HIDE,
	SETTINGS_THINK_FOLD,
};

enum settings_layout {
	SETTINGS_LAYOUT_AUTO,
	SETTINGS_LAYOUT_SIDE,
	SETTINGS_LAYOUT_STACKED,
};

enum settings_palette {
	SETTINGS_PALETTE_AUTO, /* what the terminal reports */
	SETTINGS_PALETTE_256,
	SETTINGS_PALETTE_8,
	SETTINGS_PALETTE_MONO, /* attributes only */
};

/* "show", "hide", "fold" ...; -1 when the word is not one of them. */
int settings_think_parse(const char *word);
const char *settings_think_name(enum settings_think t);
int settings_layout_parse(const char *word);
const char *settings_layout_name(enum settings_layout l);

/* ---- colours ---------------------------------------------------------------------------------- */

enum settings_color_slot {
	SETTINGS_COLOR_THINK,
	SETTINGS_COLOR_ANSWER,
	SETTINGS_COLOR_USER,
	SETTINGS_COLOR_BOXED,
	SETTINGS_COLOR_AGREE,
	SETTINGS_COLOR_DISAGREE,
	SETTINGS_COLOR_STATUS,
	SETTINGS_COLOR_ERROR,
	SETTINGS_COLOR_NOTE,
	SETTINGS_COLOR_BORDER,
	SETTINGS_COLOR_COUNT
};

#define SETTINGS_ATTR_BOLD      0x01u
#define SETTINGS_ATTR_DIM       0x02u
#define SETTINGS_ATTR_UNDERLINE 0x04u
#define SETTINGS_ATTR_REVERSE   0x08u
#define SETTINGS_ATTR_ITALIC    0x10u

struct settings_color {
	int16_t fg, bg; /* 0..255 (0..7 the basic eight, 8..15 bright), -1 = the terminal's default */
	unsigned attrs; /* SETTINGS_ATTR_* */
};

/* The slot's name in [colors] ("think", ...). */
const char *settings_color_slot_name(enum settings_color_slot slot);
/* Parse a colour spec; -1 with *cause ("unknown colour 'x'") when bad. */
int settings_color_parse(const char *spec, struct settings_color *out, char **cause);
/*
 * A colour number for a terminal with n_colors colours (8, 16, 256...):
 * 256-colour cube and grey entries map to the nearest of the basic eight
 * when n_colors < 256, bright ones (8..15) to their basic colour when
 * n_colors < 16. -1 stays -1; n_colors < 8 (mono) gives -1.
 */
int settings_color_degrade(int color, int n_colors);

/* ---- keys ---------------------------------------------------------------------------------------- */

enum settings_key_action {
	SETTINGS_KEY_FOLD_THINK,
	SETTINGS_KEY_TOGGLE_BROADCAST,
	SETTINGS_KEY_FOCUS_NEXT,
	SETTINGS_KEY_EDITOR,
	SETTINGS_KEY_COUNT
};

/* The action's name in [keys] ("fold-think", ...). */
const char *settings_key_action_name(enum settings_key_action a);

/*
 * Key specs, normalised: "C-t" (a control letter), "M-x" / "M-Enter" (Alt),
 * "F1".."F12", "Tab", "S-Tab", "Enter", "Esc", "Space", "Backspace",
 * "Up", "Down", "Left", "Right", "Home", "End", "PgUp", "PgDn", "Insert",
 * "Delete", or one printable character (UTF-8); or a chord of two such
 * keys separated by a space whose first is a control key ("C-x C-e",
 * "C-x b"). settings_key_normalise checks a spec and writes its canonical
 * spelling (case of names fixed: "c-T" -> "C-t", "f2" -> "F2", one space
 * in a chord) into out (size >= 32); -1 with *cause when it is not a key.
 */
int settings_key_normalise(const char *spec, char *out, size_t size, char **cause);

/* ---- per-model profiles and the command line ----------------------------------------------------- */

/* Which fields of a profile are set. */
enum {
	SETTINGS_SET_TEMPERATURE = 1u << 0,
	SETTINGS_SET_TOP_P = 1u << 1,
	SETTINGS_SET_TOP_K = 1u << 2,
	SETTINGS_SET_MIN_P = 1u << 3,
	SETTINGS_SET_REPEAT_PENALTY = 1u << 4,
	SETTINGS_SET_SEED = 1u << 5,
	SETTINGS_SET_MAX_TOKENS = 1u << 6,
	SETTINGS_SET_R1 = 1u << 7,
	SETTINGS_SET_CHAT_FORMAT = 1u << 8,
	SETTINGS_SET_DEVICE = 1u << 9,
	SETTINGS_SET_CTX = 1u << 10,
	SETTINGS_SET_THREADS = 1u << 11,
	SETTINGS_SET_SYSTEM = 1u << 12,
	SETTINGS_SET_TEMPLATE = 1u << 13,
	SETTINGS_SET_GPU_MEM = 1u << 14,
	SETTINGS_SET_QUANT = 1u << 15,
};

/*
 * A layer of settings for a pane: a [model:...] section, a template's
 * overrides, the command line. Only fields whose bit is in `set` mean
 * anything. Zero-initialise; settings_profile_free releases the strings.
 */
struct settings_profile {
	char *pattern; /* the section's PATTERN; NULL for other layers */
	int line;      /* the section's line; 0 for other layers */
	unsigned set;  /* SETTINGS_SET_* */
	float temperature, top_p, min_p, repeat_penalty;
	int32_t top_k;
	uint64_t seed;
	uint32_t max_tokens;
	bool r1;
	enum chat_format chat_format;
	char *device; /* "auto", "cpu", "cuda", "cuda:N" */
	uint32_t ctx; /* context tokens */
	int threads;
	uint64_t gpu_mem; /* bytes of GPU memory the model may use; 0 = no cap */
	int quant_bits;   /* 8, 4: quantise float weights at load (GPU only); 0 = as stored */
	char *system; /* the system prompt ("" = none) */
	char *template_name;
};

/*
 * Set one key of a profile from its text (key as in the file, lowercase,
 * '_' or '-'). Ranges: temperature 0..5, top_p 0..1, min_p 0..1, top_k
 * 0..100000, repeat_penalty 0.1..10, seed 0..2^64-1, max_tokens 0..10^7,
 * ctx 0 or 64..10^7, threads 0..1024. Returns 0, or -1 with *cause ("bad
 * value 'x' for temperature: not a number in 0..5" / "unknown key 'x'").
 */
int settings_profile_set(struct settings_profile *p, const char *key, const char *value, char **cause);
/* Layer top over base: each field set in top replaces base's (strings copied). */
void settings_profile_merge(struct settings_profile *base, const struct settings_profile *top);
/* The r1 decision: the profile's when set, else the model's default. */
bool settings_profile_r1(const struct settings_profile *p, bool model_r1);
/* Overwrite the sampling fields the profile sets. */
void settings_profile_sampling(const struct settings_profile *p, struct sampler_params *sp);
void settings_profile_free(struct settings_profile *p); /* NULL is a no-op */

/* ---- the whole file -------------------------------------------------------------------------------- */

struct settings {
	char *path; /* the file read; NULL when none was */

	/* [general] */
	char *model, *model2; /* NULL when not set */
	enum settings_layout layout;
	bool broadcast, mouse, autosave;
	enum settings_think think;

	/* [colors] */
	enum settings_palette palette;
	bool palette_set; /* the file set palette */
	struct settings_color colors[SETTINGS_COLOR_COUNT];
	unsigned colors_set; /* 1u << slot for each slot the file set */

	/* [keys]: normalised key specs (see settings_key_normalise) */
	char keys[SETTINGS_KEY_COUNT][32];

	/* [model:...] in file order */
	struct settings_profile *profiles;
	size_t n_profiles;

	/* "FILE:LINE: message" for everything that was ignored */
	struct ini_messages messages;
};

/*
 * Built-in defaults: layout auto, broadcast on, mouse off, autosave on,
 * think fold; palette auto; think dim, user bold, boxed bold green, agree
 * green, disagree bold red, status reverse, error bold red, note dim cyan,
 * border default; keys fold-think C-t, toggle-broadcast F3, focus-next
 * C-o, editor C-x C-e.
 */
void settings_init(struct settings *s);
void settings_free(struct settings *s);

/* $DUET_CONFIG, else $XDG_CONFIG_HOME/duet/duet.ini, else $HOME/.config/duet/duet.ini. Caller frees. */
char *settings_default_path(void);

/*
 * settings_init, then read path (NULL = settings_default_path()). A missing
 * default file is no error (the defaults stand). Returns 0; -1 when an
 * explicitly given file (path or $DUET_CONFIG) cannot be read, with the
 * reason in *cause (also added to messages). Bad lines never fail the load.
 */
int settings_load(struct settings *s, const char *path, char **cause);
/* The same from text (tests, fuzzing); name is used in messages. */
void settings_load_text(struct settings *s, const char *name, const char *text, size_t len);

/*
 * The profiles matching a model path, merged in file order into *out
 * (zeroed first; free with settings_profile_free). A PATTERN with glob
 * characters is matched against the whole path and against its last
 * component; a plain PATTERN equals the last component, with or without
 * its extension (".gguf", ".safetensors"). Returns how many matched.
 */
size_t settings_profile_for(const struct settings *s, const char *model_path, struct settings_profile *out);

/* ---- `duet chat` options (the curses interface and --plain share them) ------------------------- */

struct settings_cli {
	const char *models[2]; /* -m/--model, up to twice; borrowed from argv */
	size_t n_models;
	struct settings_profile overrides; /* --temp --top-p --top-k --min-p --seed -n/--max-tokens
	                                      --r1 on|off --chat-format --device --ctx --threads
	                                      --gpu-mem --quant
	                                      --system --template */
	const char *config_path;           /* --config FILE */
	const char *resume;                /* --resume[=FILE]: "" = the latest autosave; NULL = not given */
	bool plain;                        /* --plain */
	bool mouse;                        /* --mouse */
	int layout;                        /* --layout: an enum settings_layout, -1 = not given */
	int think;        /* --think show|hide|fold: an enum settings_think, -1 = not given */
	int broadcast;    /* --broadcast on|off: 1/0, -1 = not given */
	bool no_autosave; /* --no-autosave */
	bool help;        /* -h/--help */
};

#define SETTINGS_CLI_USAGE                                                                                   \
	"usage: duet [chat] [options]\n"                                                                     \
	"  -m, --model PATH      a model (twice: two panes side by side)\n"                                  \
	"  --plain               a line interface instead of the full screen one\n"                          \
	"  --resume[=FILE]       continue the last (or the given) saved conversation\n"                      \
	"  --config FILE         read FILE instead of duet.ini\n"                                            \
	"  --layout auto|side|stacked   --mouse   --broadcast on|off   --no-autosave\n"                      \
	"  --think show|hide|fold  how thinking is shown\n"                                                  \
	"  --system TEXT         system prompt          --template NAME  a prompt template\n"                \
	"  --temp X  --top-p X  --top-k N  --min-p X  --seed N  -n, --max-tokens N\n"                        \
	"  --r1 on|off           the R1 conventions     --chat-format chatml|llama3|deepseek-r1\n"           \
	"  --device auto|cpu|cuda[:N]  --ctx N  --threads N\n"                                              \
	"  --gpu-mem SIZE        GPU memory cap (e.g. 20G)  --quant q8|q4|none  quantise on the GPU at load\n"

/*
 * Parse `duet chat` options: argv[0] is the command name ("chat"), parsing
 * starts at argv[1]. Values are checked as in the file (same ranges).
 * Returns 0, or -1 with *cause ("--temp: bad value 'x' ...", "unknown option
 * '--frob'", "stray argument 'x'"). Uses getopt_long (resets optind).
 * Free out->overrides with settings_profile_free.
 */
int settings_cli_parse(int argc, char **argv, struct settings_cli *out, char **cause);

#endif
