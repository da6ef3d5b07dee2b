/*
 * prompts.h — system-prompt templates: INI files with one [template]
 * section:
 *
 *   [template]
 *   name = r1-math               (default: the file name without ".ini")
 *   description = one line for /templates
 *   system = the system prompt   (may be absent)
 *   user_prefix = text put before each user message
 *   user_suffix = text put after it ("\n" spells a newline)
 *   temperature, top_p, top_k, min_p, repeat_penalty, seed, max_tokens,
 *   r1 = on|off                  (overrides: see settings.h for precedence)
 *
 * Shipped templates live in prompts/ (installed under DUET_DATADIR/prompts);
 * the user's (*.ini in $XDG_CONFIG_HOME/duet/prompts) replace shipped ones of
 * the same name. A bad file or line adds "FILE:LINE: message" and the
 * others still load. Plain data; read-only after loading.
 */
#ifndef DUET_APP_PROMPTS_H
#define DUET_APP_PROMPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "app/ini.h"
#include "app/settings.h"

struct prompt_template {
	char *name;
	char *description; /* "" when none */
	char *system;      /* NULL when the template sets none */
	char *user_prefix; /* "" when none */
	char *user_suffix; /* "" when none */
	/*
	 * Sampling and r1 overrides (SETTINGS_SET_TEMPERATURE ... _MAX_TOKENS,
	 * SETTINGS_SET_R1); nothing else is ever set here.
	 */
	struct settings_profile overrides;
	char *path; /* the file it came from */
	bool user;  /* from the user's folder, not shipped */
};

/* Templates sorted by name; zero-initialise, prompts_free releases. */
struct prompts {
	struct prompt_template *v;
	size_t n;
};

/*
 * Where the shipped templates are: $DUET_PROMPTS_DIR; else "prompts" next
 * to the source tree when running uninstalled ($top_srcdir/prompts, then
 * ../prompts and ../../prompts relative to the executable, the first that
 * holds general.ini); else DUET_DATADIR/prompts. Caller frees.
 */
char *prompts_shipped_dir(void);
/* $XDG_CONFIG_HOME/duet/prompts, else $HOME/.config/duet/prompts. Caller frees. */
char *prompts_user_dir(void);

/*
 * Load every *.ini of shipped_dir, then of user_dir (either may be NULL or
 * missing). Messages for bad files and lines go to msgs (may be NULL).
 * Never fails; an empty set is possible.
 */
void prompts_load(struct prompts *set, const char *shipped_dir, const char *user_dir,
                  struct ini_messages *msgs);
/* One file; -1 with *cause when it cannot be read or has no usable [template]. */
int prompts_load_file(struct prompts *set, const char *path, bool user, struct ini_messages *msgs,
                      char **cause);
/* The same from text (tests, fuzzing). */
int prompts_load_text(struct prompts *set, const char *path, const char *text, size_t len, bool user,
                      struct ini_messages *msgs, char **cause);
void prompts_free(struct prompts *set);

/* By exact name; NULL when none. Valid until the set changes. */
const struct prompt_template *prompts_find(const struct prompts *set, const char *name);

/* The user's text wrapped in the template's prefix and suffix (t may be NULL). Caller frees. */
char *prompts_wrap_user(const struct prompt_template *t, const char *text);

#endif
