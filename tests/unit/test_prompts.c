/*
 * test_prompts.c — prompt templates (app/prompts.c): the shipped set loads
 * cleanly with the R1 maths instruction from infer/chat.h, the user's
 * folder overrides by name, bad files and lines are reported with
 * file:line while the rest loads. TAP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/prompts.h"
#include "infer/chat.h"
#include "infer/util.h"
#include "tests/tap.h"

static int has_message(const struct ini_messages *m, const char *a, const char *b)
{
	for (size_t i = 0; i < m->n; i++)
		if (strstr(m->v[i], a) && (!b || strstr(m->v[i], b)))
			return 1;
	return 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = path_join(dir, name);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_shipped(void)
{
	static const char *const names[] = {"code-review", "general",   "medical-qa",
	                                    "r1-math",     "summarise", "translate-zh-en"};
	struct prompts set = {0};
	struct ini_messages msgs = {0};
	char *dir = prompts_shipped_dir();
	const struct prompt_template *t;

	tap_diag("shipped templates from %s", dir);
	prompts_load(&set, dir, NULL, &msgs);
	TAP_EQ_INT(msgs.n, 0, "the shipped templates load without a message");
	for (size_t i = 0; i < msgs.n; i++)
		tap_diag("  %s", msgs.v[i]);
	TAP_EQ_INT(set.n, 6, "six shipped templates");
	for (size_t i = 0; i < 6 && i < set.n; i++)
		TAP_EQ_STR(set.v[i].name, names[i], "sorted by name");
	for (size_t i = 0; i < set.n; i++) {
		tap_ok(set.v[i].description[0] != '\0', "%s has a description", set.v[i].name);
		tap_ok(!set.v[i].user, "%s is shipped", set.v[i].name);
	}
	t = prompts_find(&set, "r1-math");
	tap_ok(t != NULL, "r1-math found by name");
	if (t) {
		tap_ok(ends_with(t->user_suffix, CHAT_R1_MATH_SUFFIX),
		       "r1-math's suffix is chat.h's R1 maths instruction");
		tap_ok(t->user_suffix[0] == '\n', "... after a newline");
		tap_ok(t->system == NULL, "r1-math sets no system prompt (R1 convention)");
		tap_ok((t->overrides.set & SETTINGS_SET_R1) && t->overrides.r1,
		       "r1-math turns the R1 conventions on");
		char *w = prompts_wrap_user(t, "What is 1+1?");
		tap_ok(strncmp(w, "What is 1+1?\n", 13) == 0 && ends_with(w, CHAT_R1_MATH_SUFFIX),
		       "wrap: text then suffix");
		free(w);
	}
	t = prompts_find(&set, "code-review");
	tap_ok(t && t->system && strstr(t->system, "; do not invent problems"),
	       "a quoted ';' survives in a system prompt");
	tap_ok(t && (t->overrides.set & SETTINGS_SET_TEMPERATURE) && t->overrides.temperature == 0.2f,
	       "code-review sets temperature 0.2");
	t = prompts_find(&set, "summarise");
	tap_ok(t && strcmp(t->user_prefix, "Summarise the following text.\n\n") == 0,
	       "summarise's prefix unescaped");
	t = prompts_find(&set, "medical-qa");
	tap_ok(t && t->system && strstr(t->system, "not a substitute for professional medical advice"),
	       "medical-qa says it is not medical advice");
	tap_ok(prompts_find(&set, "nope") == NULL, "an unknown name is NULL");
	prompts_free(&set);
	ini_messages_free(&msgs);
	free(dir);
}

static void test_user_override(void)
{
	char dir[] = "/tmp/duet-prompts-XXXXXX";
	struct prompts set = {0};
	struct ini_messages msgs = {0};
	char *shipped = prompts_shipped_dir(), *cause = NULL;
	const struct prompt_template *t;

	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	write_file(dir, "general.ini", "[template]\nname = general\nsystem = Mine.\ntemperature = 1.25\n");
	write_file(dir, "mine.ini",
	           "; no name: the file name\n"  /* 1 */
	           "[template]\n"                /* 2 */
	           "description = with errors\n" /* 3 */
	           "device = cpu\n"              /* 4: not a template key */
	           "top_p = 2\n"                 /* 5: out of range */
	           "garbage line\n"              /* 6 */
	           "[extra]\n"                   /* 7 */
	           "user_prefix = \"Q: \"\n");   /* 8 */
	write_file(dir, "broken.ini", "no section here\n");
	write_file(dir, "bad name.ini", "[template]\n");
	write_file(dir, "notes.txt", "[template]\nname = txt\n");

	prompts_load(&set, shipped, dir, &msgs);
	TAP_EQ_INT(set.n, 7, "six shipped + one of the user's (others broken, .txt ignored)");
	t = prompts_find(&set, "general");
	tap_ok(t && t->user && strcmp(t->system, "Mine.") == 0,
	       "the user's general replaces the shipped one");
	tap_ok(t && t->overrides.temperature == 1.25f, "... with its overrides");
	t = prompts_find(&set, "mine");
	tap_ok(t != NULL, "a template without name takes the file's name");
	tap_ok(t && strcmp(t->description, "with errors") == 0, "... its good keys load");
	tap_ok(t && t->user_prefix[0] == '\0', "... keys in another section are not its own");
	tap_ok(t && t->overrides.set == 0, "... bad overrides are not set");
	tap_ok(has_message(&msgs, "mine.ini:4:", "unknown key 'device' in [template]"),
	       "line 4: not a template key");
	tap_ok(has_message(&msgs, "mine.ini:5:", "top_p: '2' is not a number in 0..1"),
	       "line 5: out of range");
	tap_ok(has_message(&msgs, "mine.ini:6:", "expected 'key = value'"), "line 6: malformed");
	tap_ok(has_message(&msgs, "mine.ini:7:", "unknown section [extra]"), "line 7: unknown section");
	tap_ok(has_message(&msgs, "broken.ini:1:", "expected 'key = value'"), "broken.ini:1 malformed");
	tap_ok(has_message(&msgs, "broken.ini", "no [template] section"),
	       "a file without [template] is reported");
	tap_ok(has_message(&msgs, "bad name.ini", "no usable name"), "a file name that is no template name");
	TAP_EQ_INT(msgs.n, 7, "seven messages, no more");
	tap_ok(msgs.n == 7 && strstr(msgs.v[3], "mine.ini:4:") && strstr(msgs.v[6], "mine.ini:7:"),
	       "a file's messages in line order");
	for (size_t i = 0; i < msgs.n; i++)
		tap_diag("  %s", msgs.v[i]);

	ini_messages_free(&msgs);
	TAP_EQ_INT(
	        prompts_load_text(&set, "/d/x.ini", "[template]\nname = bad/name\n", 26, true, &msgs, &cause),
	        0, "a bad name= is reported and the file's name used");
	tap_ok(has_message(&msgs, "/d/x.ini:2:", "not a template name"), "... the message");
	tap_ok(prompts_find(&set, "x") != NULL, "... named x");

	/* $DUET_PROMPTS_DIR and $XDG_CONFIG_HOME decide the folders. */
	setenv("DUET_PROMPTS_DIR", dir, 1);
	{
		char *d = prompts_shipped_dir();
		TAP_EQ_STR(d, dir, "$DUET_PROMPTS_DIR names the shipped folder");
		free(d);
	}
	unsetenv("DUET_PROMPTS_DIR");
	setenv("XDG_CONFIG_HOME", dir, 1);
	{
		char *d = prompts_user_dir(), *want = xasprintf("%s/duet/prompts", dir);
		TAP_EQ_STR(d, want, "the user's folder under $XDG_CONFIG_HOME");
		free(d);
		free(want);
	}
	prompts_free(&set);
	ini_messages_free(&msgs);
	free(shipped);
	{
		const char *files[] = {"general.ini", "mine.ini", "broken.ini", "bad name.ini", "notes.txt"};
		for (size_t i = 0; i < 5; i++) {
			char *p = path_join(dir, files[i]);
			unlink(p);
			free(p);
		}
		rmdir(dir);
	}
}

int main(void)
{
	test_shipped();
	test_user_override();
	return tap_done();
}
