/*
 * fuzz_ini.c — libFuzzer harness for duet's INI reading: the pre-scan and
 * iniparser (app/ini.c), then duet.ini's meaning (settings_load_text) and
 * a prompt template (prompts_load_text) on the same bytes. Any input must
 * load without a crash, leak or hang, and what comes out must hold the
 * invariants checked below (messages are one "NAME:..." line, entries
 * point at real sections in increasing line order, values re-parse to
 * themselves). Build and run: see tests/fuzz/README.md.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/ini.h"
#include "app/prompts.h"
#include "app/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_messages(const struct ini_messages *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strncmp(m->v[i], name, strlen(name)) != 0)
			abort(); /* every message names the file */
		if (strchr(m->v[i], '\n'))
			abort(); /* one line each */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct ini_messages msgs = {0};
	struct ini_file f;
	char *cause = NULL;

	if (size > INI_MAX_FILE)
		return 0;
	if (ini_file_parse(&f, "fuzz.ini", text, size, &msgs, &cause) == 0) {
		int last_line = 0;
		for (size_t i = 0; i < f.n_entries; i++) {
			const struct ini_entry *e = &f.entries[i];
			if (e->section_index >= f.n_sections ||
			    e->section != f.sections[e->section_index].name)
				abort();
			if (e->line <= last_line || !e->value || !*e->key)
				abort(); /* file order, one entry per line */
			last_line = e->line;
		}
		ini_file_free(&f);
	} else if (!cause) {
		abort();
	}
	free(cause);
	cause = NULL;
	check_messages(&msgs, "fuzz.ini");
	ini_messages_free(&msgs);

	{
		struct settings s;
		settings_load_text(&s, "fuzz.ini", text, size);
		check_messages(&s.messages, "fuzz.ini");
		for (int i = 0; i < SETTINGS_KEY_COUNT; i++) {
			char again[32];
			if (settings_key_normalise(s.keys[i], again, sizeof again, NULL) != 0 ||
			    strcmp(again, s.keys[i]) != 0)
				abort(); /* stored keys are normalised */
		}
		for (int i = 0; i < SETTINGS_COLOR_COUNT; i++)
			if (s.colors[i].fg < -1 || s.colors[i].fg > 255 || s.colors[i].bg < -1 ||
			    s.colors[i].bg > 255)
				abort();
		for (size_t i = 0; i < s.n_profiles; i++) {
			const struct settings_profile *p = &s.profiles[i];
			if (!p->pattern || !*p->pattern)
				abort();
			if ((p->set & SETTINGS_SET_TEMPERATURE) &&
			    !(p->temperature >= 0 && p->temperature <= 5))
				abort();
			if ((p->set & SETTINGS_SET_TOP_P) && !(p->top_p >= 0 && p->top_p <= 1))
				abort();
		}
		{
			struct settings_profile merged;
			settings_profile_for(&s, "/models/SmolLM2-135M-Instruct.Q4_1.gguf", &merged);
			settings_profile_free(&merged);
		}
		settings_free(&s);
	}
	{
		struct prompts set = {0};
		struct ini_messages pm = {0};
		if (prompts_load_text(&set, "/p/fuzz.ini", text, size, true, &pm, &cause) == 0) {
			if (set.n != 1 || !set.v[0].name || !*set.v[0].name || !set.v[0].user_prefix ||
			    !set.v[0].user_suffix)
				abort();
			if (set.v[0].overrides.set &
			    ~(SETTINGS_SET_TEMPERATURE | SETTINGS_SET_TOP_P | SETTINGS_SET_TOP_K |
			      SETTINGS_SET_MIN_P | SETTINGS_SET_REPEAT_PENALTY | SETTINGS_SET_SEED |
			      SETTINGS_SET_MAX_TOKENS | SETTINGS_SET_R1))
				abort(); /* a template overrides sampling and r1 only */
			char *w = prompts_wrap_user(&set.v[0], "x");
			free(w);
		} else if (!cause) {
			abort();
		}
		check_messages(&pm, "/p/fuzz.ini");
		ini_messages_free(&pm);
		prompts_free(&set);
		free(cause);
	}
	return 0;
}
