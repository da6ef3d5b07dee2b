/*
 * prompts.c — system-prompt templates: INI files read through app/ini.c,
 * the shipped set and the user's, merged by name. Calls app/ini.h,
 * app/settings.h (override keys), app/files.h; no curses.
 */
#include "config.h"

#include "app/prompts.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "app/files.h"
#include "infer/util.h"

#ifndef DUET_DATADIR
#define DUET_DATADIR "/usr/local/share/duet"
#endif

/* A source tree: prompts/general.ini next to app/main.c. */
static char *source_tree_prompts(const char *root)
{
	char *prompts = path_join(root, "prompts"), *ini = path_join(prompts, "general.ini");
	char *main_c = path_join(root, "app/main.c");
	bool ok = path_exists(ini) && path_exists(main_c);

	free(ini);
	free(main_c);
	if (ok)
		return prompts;
	free(prompts);
	return NULL;
}

char *prompts_shipped_dir(void)
{
	const char *env = getenv("DUET_PROMPTS_DIR"), *top = getenv("top_srcdir");
	char exe[PATH_MAX];
	ssize_t n;
	char *dir;

	if (env && *env)
		return xstrdup(env);
	/* Running from a build folder inside (or next to) the source tree. */
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 4; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash || slash == exe)
				break;
			*slash = '\0';
			if ((dir = source_tree_prompts(exe)))
				return dir;
		}
	}
	if (top && *top && (dir = source_tree_prompts(top)))
		return dir;
	return xstrdup(DUET_DATADIR "/prompts");
}

char *prompts_user_dir(void)
{
	return files_xdg_path("XDG_CONFIG_HOME", ".config", "prompts");
}

static void template_free(struct prompt_template *t)
{
	free(t->name);
	free(t->description);
	free(t->system);
	free(t->user_prefix);
	free(t->user_suffix);
	free(t->path);
	settings_profile_free(&t->overrides);
	memset(t, 0, sizeof *t);
}

void prompts_free(struct prompts *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		template_free(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof *set);
}

static bool name_valid(const char *v)
{
	if (!*v || strlen(v) > 64)
		return false;
	for (const char *p = v; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
		    *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

/* Keys a template may override (the rest of a profile's keys make no sense per template). */
static bool override_key(const char *key)
{
	static const char *const keys[] = {"temperature",    "top_p", "top_k",      "min_p",
	                                   "repeat_penalty", "seed",  "max_tokens", "r1"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/* Insert t sorted by name; a user template replaces a shipped one of the same name. Takes t. */
static void set_insert(struct prompts *set, struct prompt_template *t, struct ini_messages *msgs)
{
	size_t i = 0;

	while (i < set->n && strcmp(set->v[i].name, t->name) < 0)
		i++;
	if (i < set->n && strcmp(set->v[i].name, t->name) == 0) {
		struct prompt_template *old = &set->v[i];
		if (old->user == t->user)
			ini_messages_add(msgs, "%s: template '%s' is also defined in %s; this one wins",
			                 t->path, t->name, old->path);
		template_free(old);
		*old = *t;
		return;
	}
	set->v = xreallocarray(set->v, set->n + 1, sizeof *set->v);
	memmove(&set->v[i + 1], &set->v[i], (set->n - i) * sizeof *set->v);
	set->v[i] = *t;
	set->n++;
}

static int load_text(struct prompts *set, const char *path, const char *text, size_t len, bool user,
                     struct ini_messages *msgs, char **cause)
{
	struct prompt_template t = {0};
	struct ini_file f;
	long section = -1;

	if (ini_file_parse(&f, path, text, len, msgs, cause) != 0)
		return -1;
	for (size_t i = 0; i < f.n_sections; i++) {
		if (strcasecmp(f.sections[i].name, "template") != 0)
			ini_messages_add(msgs,
			                 "%s:%d: unknown section [%s] (a template file has one [template])",
			                 path, f.sections[i].line, f.sections[i].name);
		else if (section < 0)
			section = (long)i;
		else
			ini_messages_add(msgs, "%s:%d: a second [template] section; ignored", path,
			                 f.sections[i].line);
	}
	if (section < 0) {
		error_set(cause, "%s: no [template] section", path);
		goto fail;
	}
	for (size_t i = 0; i < f.n_entries; i++) {
		const struct ini_entry *e = &f.entries[i];
		char **dst = NULL;
		char *why = NULL;

		if (e->section_index != (size_t)section)
			continue;
		if (strcmp(e->key, "name") == 0) {
			if (!name_valid(e->value)) {
				ini_messages_add(
				        msgs,
				        "%s:%d: name: '%s' is not a template name (letters, digits, '-', "
				        "'_', '.')",
				        path, e->line, e->value);
				continue;
			}
			dst = &t.name;
		} else if (strcmp(e->key, "description") == 0)
			dst = &t.description;
		else if (strcmp(e->key, "system") == 0)
			dst = &t.system;
		else if (strcmp(e->key, "user_prefix") == 0)
			dst = &t.user_prefix;
		else if (strcmp(e->key, "user_suffix") == 0)
			dst = &t.user_suffix;
		if (dst) {
			free(*dst);
			*dst = strcmp(e->key, "name") == 0 ? xstrdup(e->value) : ini_unescape(e->value);
			continue;
		}
		if (!override_key(e->key)) {
			ini_messages_add(msgs, "%s:%d: unknown key '%s' in [template]", path, e->line,
			                 e->key);
			continue;
		}
		if (settings_profile_set(&t.overrides, e->key, e->value, &why) != 0) {
			ini_messages_add(msgs, "%s:%d: %s", path, e->line, why);
			free(why);
		}
	}
	if (!t.name) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		size_t n = strlen(base);
		if (n > 4 && strcmp(base + n - 4, ".ini") == 0)
			n -= 4;
		t.name = xstrndup(base, n);
		if (!name_valid(t.name)) {
			error_set(cause, "%s: no usable name: set name = ... in [template]", path);
			goto fail;
		}
	}
	if (!t.description)
		t.description = xstrdup("");
	if (!t.user_prefix)
		t.user_prefix = xstrdup("");
	if (!t.user_suffix)
		t.user_suffix = xstrdup("");
	t.path = xstrdup(path);
	t.user = user;
	ini_file_free(&f);
	set_insert(set, &t, msgs);
	return 0;
fail:
	template_free(&t);
	ini_file_free(&f);
	return -1;
}

int prompts_load_text(struct prompts *set, const char *path, const char *text, size_t len, bool user,
                      struct ini_messages *msgs, char **cause)
{
	struct ini_messages mine = {0};
	int rc = load_text(set, path, text, len, user, &mine, cause);

	/* this file's messages in line order, after what msgs already holds */
	ini_messages_sort(&mine, path);
	for (size_t i = 0; i < mine.n; i++)
		ini_messages_add(msgs, "%s", mine.v[i]);
	ini_messages_free(&mine);
	return rc;
}

int prompts_load_file(struct prompts *set, const char *path, bool user, struct ini_messages *msgs,
                      char **cause)
{
	size_t len;
	char *text = file_read_all(path, INI_MAX_FILE, &len, cause);
	int rc;

	if (!text)
		return -1;
	rc = prompts_load_text(set, path, text, len, user, msgs, cause);
	free(text);
	return rc;
}

static int ini_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".ini") == 0;
}

static void load_dir(struct prompts *set, const char *dir, bool user, struct ini_messages *msgs)
{
	struct dirent **names = NULL;
	int n;

	if (!dir || !path_is_dir(dir))
		return;
	n = scandir(dir, &names, ini_filter, alphasort);
	if (n < 0) {
		ini_messages_add(msgs, "%s: cannot list the folder", dir);
		return;
	}
	for (int i = 0; i < n; i++) {
		char *path = path_join(dir, names[i]->d_name), *cause = NULL;
		if (!path_is_dir(path) && prompts_load_file(set, path, user, msgs, &cause) != 0) {
			ini_messages_add(msgs, "%s", cause);
			free(cause);
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

void prompts_load(struct prompts *set, const char *shipped_dir, const char *user_dir,
                  struct ini_messages *msgs)
{
	load_dir(set, shipped_dir, false, msgs);
	load_dir(set, user_dir, true, msgs);
}

const struct prompt_template *prompts_find(const struct prompts *set, const char *name)
{
	for (size_t i = 0; name && i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

char *prompts_wrap_user(const struct prompt_template *t, const char *text)
{
	if (!t)
		return xstrdup(text);
	return xasprintf("%s%s%s", t->user_prefix, text, t->user_suffix);
}
