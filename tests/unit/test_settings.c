/*
 * test_settings.c — duet.ini and `duet chat` options (app/settings.c):
 * a file with several bad lines reports each with its line number while
 * the rest loads; iniparser's quoting and comments; colours, key specs;
 * per-model profiles and the precedence of the layers; the shared
 * command-line parser. TAP.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/settings.h"
#include "infer/util.h"
#include "tests/tap.h"

/* Whether some message contains every fragment (NULL-terminated). */
static int has_message(const struct ini_messages *m, const char *a, const char *b)
{
	for (size_t i = 0; i < m->n; i++)
		if (strstr(m->v[i], a) && (!b || strstr(m->v[i], b)))
			return 1;
	return 0;
}

static void dump_messages(const struct ini_messages *m)
{
	for (size_t i = 0; i < m->n; i++)
		tap_diag("  message: %s", m->v[i]);
}

static void test_errors_and_rest(void)
{
	/* Lines numbered for the expectations below. */
	static const char text[] = "; duet.ini for the test\n"      /* 1 */
	                           "[general]\n"                    /* 2 */
	                           "layout = side\n"                /* 3 */
	                           "think = loud\n"                 /* 4: bad value */
	                           "frobnicate = 1\n"               /* 5: unknown key */
	                           "this line has no equals sign\n" /* 6: malformed */
	                           "broadcast = off\n"              /* 7 */
	                           "[nonsense]\n"                   /* 8: unknown section */
	                           "x = 1\n"               /* 9: (in the unknown section; not repeated) */
	                           "[colors]\n"            /* 10 */
	                           "think = bold purple\n" /* 11: bad colour */
	                           "user = bold yellow on blue\n"   /* 12 */
	                           "[keys]\n"                       /* 13 */
	                           "fold-think = C-1\n"             /* 14: bad key */
	                           "focus-next = f2\n"              /* 15 */
	                           "[model:*smol*]\n"               /* 16 */
	                           "temperature = 9\n"              /* 17: out of range */
	                           "top_k = 20\n"                   /* 18 */
	                           "colour = red\n"                 /* 19: unknown key in a profile */
	                           "[general] ; trailing comment\n" /* 20: malformed header */
	                           "mouse = yes\n"; /* 21: still [model:*smol*] (20 was dropped) */
	struct settings s;

	settings_load_text(&s, "duet.ini", text, sizeof text - 1);
	TAP_EQ_INT(s.messages.n, 10, "ten bad lines give ten messages");
	tap_ok(has_message(&s.messages, "duet.ini:4:", "think: 'loud' is not show, hide or fold"),
	       "line 4: bad think value");
	tap_ok(has_message(&s.messages, "duet.ini:5:", "unknown key 'frobnicate' in [general]"),
	       "line 5: unknown key");
	tap_ok(has_message(&s.messages, "duet.ini:6:", "expected 'key = value'"), "line 6: malformed line");
	tap_ok(has_message(&s.messages, "duet.ini:8:", "unknown section [nonsense]"),
	       "line 8: unknown section");
	tap_ok(has_message(&s.messages, "duet.ini:11:", "purple"), "line 11: bad colour named");
	tap_ok(has_message(&s.messages, "duet.ini:14:", "fold-think"), "line 14: bad key spec");
	tap_ok(has_message(&s.messages, "duet.ini:17:", "temperature: '9' is not a number in 0..5"),
	       "line 17: range");
	tap_ok(has_message(&s.messages, "duet.ini:19:", "unknown key 'colour' in [model:*smol*]"),
	       "line 19: profile key");
	tap_ok(has_message(&s.messages, "duet.ini:20:", "malformed section header"),
	       "line 20: header with a comment");
	tap_ok(has_message(&s.messages, "duet.ini:21:", "unknown key 'mouse' in [model:*smol*]"),
	       "line 21 belongs to the section before the dropped header");
	if (s.messages.n != 10)
		dump_messages(&s.messages);
	tap_ok(s.messages.n == 10 && strstr(s.messages.v[0], ":4:") && strstr(s.messages.v[9], ":21:"),
	       "messages in line order");

	TAP_EQ_INT(s.layout, SETTINGS_LAYOUT_SIDE, "the good lines load: layout");
	TAP_EQ_INT(s.broadcast, 0, "... broadcast (after the bad lines)");
	TAP_EQ_INT(s.think, SETTINGS_THINK_FOLD, "... a bad value leaves the default");
	TAP_EQ_INT(s.colors[SETTINGS_COLOR_USER].fg, 3, "... user colour: yellow is 3");
	TAP_EQ_INT(s.colors[SETTINGS_COLOR_USER].bg, 4, "... on blue (4)");
	TAP_EQ_INT(s.colors[SETTINGS_COLOR_USER].attrs, SETTINGS_ATTR_BOLD, "... bold");
	TAP_EQ_INT(s.colors[SETTINGS_COLOR_THINK].attrs, SETTINGS_ATTR_DIM,
	           "... a bad colour leaves the default (dim)");
	TAP_EQ_STR(s.keys[SETTINGS_KEY_FOCUS_NEXT], "F2", "... key spec normalised");
	TAP_EQ_STR(s.keys[SETTINGS_KEY_FOLD_THINK], "C-t", "... a bad key leaves the default");
	TAP_EQ_STR(s.keys[SETTINGS_KEY_EDITOR], "C-x C-e", "... the default editor chord");
	TAP_EQ_INT(s.colors_set, 1u << SETTINGS_COLOR_USER, "colors_set: only the slot the file set well");
	TAP_EQ_INT(s.palette_set, 0, "palette not set");
	TAP_EQ_INT(s.n_profiles, 1, "one profile");
	if (s.n_profiles == 1) {
		TAP_EQ_STR(s.profiles[0].pattern, "*smol*", "... its pattern");
		TAP_EQ_INT(s.profiles[0].line, 16, "... its line");
		TAP_EQ_INT(s.profiles[0].set, SETTINGS_SET_TOP_K, "... only top_k set (temperature was bad)");
		TAP_EQ_INT(s.profiles[0].top_k, 20, "... top_k 20");
	}
	settings_free(&s);
}

static void test_syntax(void)
{
	static const char text[] = "# comments with '#' too\n"
	                           "[General]\n"
	                           "Model = ~/models/a.gguf ; inline comment\n"
	                           "model2 = \"/m/b c.gguf\"\n"
	                           "[model:*Qwen*[12]*]\n"
	                           "system = \"You are terse; answer in one line.\\nNo lists.\"\n"
	                           "temperature = 0.25 # comment\n"
	                           "top-p = 0.5\n"
	                           "template = r1-math\n"
	                           "chat_format = chatml\n"
	                           "device = cuda:1\n"
	                           "r1 = on\n"
	                           "seed = 18446744073709551615\n"
	                           "ctx = 4096\n"
	                           "threads = 3\n"
	                           "max_tokens = 100\n"
	                           "min_p = 0.1\n"
	                           "repeat_penalty = 1.1\n"
	                           "[model:long]\n"
	                           "system = a \\\n"
	                           "continued line\n";
	struct settings s;
	char *home_a;

	setenv("HOME", "/home/tester", 1);
	settings_load_text(&s, "syntax.ini", text, sizeof text - 1);
	TAP_EQ_INT(s.messages.n, 0, "a clean file gives no messages");
	dump_messages(&s.messages);
	home_a = xstrdup("/home/tester/models/a.gguf");
	TAP_EQ_STR(s.model, home_a, "section and key names are case-insensitive; ~ expanded; comment cut");
	free(home_a);
	TAP_EQ_STR(s.model2, "/m/b c.gguf", "a quoted value");
	TAP_EQ_INT(s.n_profiles, 2, "two profiles");
	if (s.n_profiles == 2) {
		const struct settings_profile *p = &s.profiles[0];
		TAP_EQ_STR(p->pattern, "*Qwen*[12]*", "the pattern keeps its case and its brackets");
		TAP_EQ_STR(p->system, "You are terse; answer in one line.\nNo lists.",
		           "quoted ';' kept, \\n unescaped");
		tap_ok(p->temperature == 0.25f, "temperature 0.25 with a '#' comment after it");
		tap_ok(p->top_p == 0.5f, "top-p spelt with '-'");
		TAP_EQ_STR(p->template_name, "r1-math", "template");
		TAP_EQ_INT(p->chat_format, CHAT_FORMAT_CHATML, "chat_format");
		TAP_EQ_STR(p->device, "cuda:1", "device");
		TAP_EQ_INT(p->r1, 1, "r1");
		tap_ok(p->seed == UINT64_MAX, "seed up to 2^64-1");
		TAP_EQ_INT(p->ctx, 4096, "ctx");
		TAP_EQ_INT(p->threads, 3, "threads");
		TAP_EQ_INT(p->max_tokens, 100, "max_tokens");
		TAP_EQ_INT(__builtin_popcount(p->set), 13, "thirteen fields set");
		TAP_EQ_STR(s.profiles[1].system, "a continued line", "a line ending in '\\' continues");
	}
	settings_free(&s);
}

static void test_long_and_nul(void)
{
	struct buf b = {0};
	struct settings s;

	buf_printf(&b, "[general]\nlayout = stacked\nmodel = ");
	for (int i = 0; i < 1100; i++)
		buf_putc(&b, 'x');
	buf_printf(&b, "\nmouse = on\n");
	buf_append(&b, "think = hi\0de\n", 14);
	buf_printf(&b, "autosave = off\n");
	settings_load_text(&s, "long.ini", b.data, b.len);
	tap_ok(has_message(&s.messages, "long.ini:3:", "too long"),
	       "an over-long line is reported with its number");
	tap_ok(has_message(&s.messages, "long.ini:5:", "NUL"), "a NUL byte is reported");
	TAP_EQ_INT(s.messages.n, 2, "... and nothing else");
	tap_ok(s.model == NULL, "the long value is not used");
	TAP_EQ_INT(s.layout, SETTINGS_LAYOUT_STACKED, "lines before still load");
	TAP_EQ_INT(s.mouse, 1, "lines after still load");
	TAP_EQ_INT(s.autosave, 0, "... past the NUL line too");
	settings_free(&s);
	buf_free(&b);
}

static void test_colors_keys(void)
{
	struct settings_color c;
	char key[32], *cause = NULL;

	tap_ok(settings_color_parse("244", &c, NULL) == 0 && c.fg == 244 && c.bg == -1 && c.attrs == 0,
	       "colour 244");
	tap_ok(settings_color_parse("dim, underline bright-red on default", &c, NULL) == 0 && c.fg == 9 &&
	               c.bg == -1 && c.attrs == (SETTINGS_ATTR_DIM | SETTINGS_ATTR_UNDERLINE),
	       "attributes, bright-red = 9, background default");
	tap_ok(settings_color_parse("grey", &c, NULL) == 0 && c.fg == 8, "grey = 8");
	tap_ok(settings_color_parse("256", &c, &cause) < 0, "256 is out of range");
	TAP_ERR_HAS(cause, "256", "... the message names it");
	free(cause);
	cause = NULL;
	tap_ok(settings_color_parse("red green", &c, NULL) < 0, "two foregrounds refused");
	tap_ok(settings_color_parse("red on", &c, NULL) < 0, "'on' without a colour refused");

	/* xterm's palette: 196 is pure red, 21 pure blue, 46 pure green, 226 yellow; 232..255 greys. */
	TAP_EQ_INT(settings_color_degrade(196, 8), 1, "196 -> red on 8 colours");
	TAP_EQ_INT(settings_color_degrade(21, 8), 4, "21 -> blue");
	TAP_EQ_INT(settings_color_degrade(46, 8), 2, "46 -> green");
	TAP_EQ_INT(settings_color_degrade(226, 8), 3, "226 -> yellow");
	TAP_EQ_INT(settings_color_degrade(16, 8), 0, "16 -> black");
	TAP_EQ_INT(settings_color_degrade(232, 8), 0, "232 (dark grey) -> black");
	TAP_EQ_INT(settings_color_degrade(255, 8), 7, "255 (light grey) -> white");
	TAP_EQ_INT(settings_color_degrade(9, 8), 1, "bright red -> red on 8 colours");
	TAP_EQ_INT(settings_color_degrade(9, 16), 9, "bright red stays on 16");
	TAP_EQ_INT(settings_color_degrade(196, 256), 196, "unchanged on 256");
	TAP_EQ_INT(settings_color_degrade(3, 2), -1, "mono: no colour");
	TAP_EQ_INT(settings_color_degrade(-1, 256), -1, "default stays default");

	tap_ok(settings_key_normalise("c-T", key, sizeof key, NULL) == 0 && strcmp(key, "C-t") == 0,
	       "c-T -> C-t");
	tap_ok(settings_key_normalise("m-return", key, sizeof key, NULL) == 0 && strcmp(key, "M-Enter") == 0,
	       "m-return -> M-Enter");
	tap_ok(settings_key_normalise("s-tab", key, sizeof key, NULL) == 0 && strcmp(key, "S-Tab") == 0,
	       "S-Tab");
	tap_ok(settings_key_normalise("F12", key, sizeof key, NULL) == 0 && strcmp(key, "F12") == 0, "F12");
	tap_ok(settings_key_normalise("é", key, sizeof key, NULL) == 0 && strcmp(key, "é") == 0,
	       "one UTF-8 character");
	tap_ok(settings_key_normalise("F13", key, sizeof key, &cause) < 0, "F13 refused");
	TAP_ERR_HAS(cause, "F1..F12", "... the message gives the range");
	free(cause);
	cause = NULL;
	tap_ok(settings_key_normalise("ab", key, sizeof key, NULL) < 0, "two characters refused");
	tap_ok(settings_key_normalise("\x01", key, sizeof key, NULL) < 0, "a control character refused");
	tap_ok(settings_key_normalise("S-x", key, sizeof key, NULL) < 0, "S- only with Tab");
	tap_ok(settings_key_normalise("c-X c-E", key, sizeof key, NULL) == 0 && strcmp(key, "C-x C-e") == 0,
	       "a chord: c-X c-E -> C-x C-e");
	tap_ok(settings_key_normalise("C-x b", key, sizeof key, NULL) == 0 && strcmp(key, "C-x b") == 0,
	       "a chord C-x b");
	tap_ok(settings_key_normalise("x C-e", key, sizeof key, &cause) < 0,
	       "a chord must start with a control key");
	TAP_ERR_HAS(cause, "starts with a control key", "... said so");
	free(cause);
	cause = NULL;
	tap_ok(settings_key_normalise("C-x  C-e", key, sizeof key, NULL) < 0, "two spaces refused");
	tap_ok(settings_key_normalise("C-x C-e C-f", key, sizeof key, NULL) < 0, "three keys refused");
	tap_ok(settings_key_normalise("C-x ", key, sizeof key, NULL) < 0, "a trailing space refused");
}

static void test_precedence(void)
{
	static const char text[] = "[model:*smol*]\n"
	                           "temperature = 0.3\n"
	                           "device = cpu\n"
	                           "[model:SmolLM2-135M-Instruct.Q4_1]\n"
	                           "top_k = 20\n"
	                           "r1 = off\n"
	                           "[model:*.GGUF]\n"
	                           "temperature = 0.5\n"
	                           "[model:other]\n"
	                           "temperature = 1.5\n";
	struct settings s;
	struct settings_profile prof, tpl = {0}, eff = {0}, cli = {0};
	struct sampler_params sp;
	size_t n;

	settings_load_text(&s, "prec.ini", text, sizeof text - 1);
	TAP_EQ_INT(s.messages.n, 0, "profiles file is clean");
	n = settings_profile_for(&s, "/models/SmolLM2-135M-Instruct.Q4_1.gguf", &prof);
	TAP_EQ_INT(n, 3, "three profiles match (glob, name without extension, case-insensitive glob)");
	tap_ok(prof.temperature == 0.5f, "the later profile wins (0.5 over 0.3)");
	TAP_EQ_INT(prof.top_k, 20, "top_k from the name profile");
	TAP_EQ_STR(prof.device, "cpu", "device from the first");
	settings_profile_free(&prof);
	n = settings_profile_for(&s, "/models/other/", &prof);
	TAP_EQ_INT(n, 1, "a folder's name matches a plain pattern");
	settings_profile_free(&prof);
	n = settings_profile_for(&s, "/models/qwen.safetensors", &prof);
	TAP_EQ_INT(n, 0, "no match for another model");
	TAP_EQ_INT(prof.set, 0, "... an empty profile");
	settings_profile_free(&prof);

	/* Layers: model defaults < template < profile < command line. */
	settings_profile_for(&s, "/models/SmolLM2-135M-Instruct.Q4_1.gguf", &prof);
	settings_profile_set(&tpl, "temperature", "0.7", NULL);
	settings_profile_set(&tpl, "top_p", "0.9", NULL);
	settings_profile_set(&tpl, "r1", "on", NULL);
	settings_profile_set(&cli, "temperature", "0.1", NULL);
	settings_profile_merge(&eff, &tpl);
	settings_profile_merge(&eff, &prof);
	settings_profile_merge(&eff, &cli);
	memset(&sp, 0, sizeof sp);
	sp.temperature = 0.6f; /* stands for what the model ships */
	sp.top_p = 0.95f;
	sp.top_k = 40;
	sp.min_p = 0.05f;
	sp.seed = 7;
	settings_profile_sampling(&eff, &sp);
	tap_ok(sp.temperature == 0.1f, "temperature: the command line beats profile and template");
	tap_ok(sp.top_p == 0.9f, "top-p: the template beats the model's default");
	TAP_EQ_INT(sp.top_k, 20, "top-k: the profile's");
	tap_ok(sp.min_p == 0.05f, "min-p: the model's default stays");
	TAP_EQ_INT(sp.seed, 7, "seed: unset everywhere, the default stays");
	TAP_EQ_INT(settings_profile_r1(&eff, true), 0, "r1: the profile's off beats the template's on");
	TAP_EQ_INT(settings_profile_r1(&tpl, false), 1, "r1: a layer's on beats the model's default");
	TAP_EQ_INT(settings_profile_r1(&cli, true), 1, "r1: unset -> the model's default");
	settings_profile_free(&prof);
	settings_profile_free(&tpl);
	settings_profile_free(&cli);
	settings_profile_free(&eff);
	settings_free(&s);
}

static void test_files(void)
{
	char dir[] = "/tmp/duet-settings-XXXXXX", *path, *cause = NULL;
	struct settings s;
	FILE *f;

	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	unsetenv("DUET_CONFIG");
	setenv("XDG_CONFIG_HOME", dir, 1);
	path = settings_default_path();
	{
		char *want = xasprintf("%s/duet/duet.ini", dir);
		TAP_EQ_STR(path, want, "default path under $XDG_CONFIG_HOME");
		free(want);
	}
	TAP_EQ_INT(settings_load(&s, NULL, &cause), 0, "a missing default file is no error");
	TAP_EQ_INT(s.messages.n, 0, "... and no message");
	tap_ok(s.path == NULL, "... no file read");
	settings_free(&s);

	{
		char *missing = xasprintf("%s/nope.ini", dir);
		TAP_EQ_INT(settings_load(&s, missing, &cause), -1, "an explicit missing file fails");
		TAP_ERR_HAS(cause, missing, "... naming it");
		TAP_EQ_INT(s.messages.n, 1, "... and the message is in the list too");
		settings_free(&s);
		free(cause);
		cause = NULL;
		setenv("DUET_CONFIG", missing, 1);
		TAP_EQ_INT(settings_load(&s, NULL, &cause), -1, "$DUET_CONFIG names the file");
		settings_free(&s);
		free(cause);
		cause = NULL;
		f = fopen(missing, "w");
		fputs("[general]\nlayout = stacked\nbogus\n", f);
		fclose(f);
		TAP_EQ_INT(settings_load(&s, NULL, &cause), 0, "$DUET_CONFIG file loads");
		TAP_EQ_INT(s.layout, SETTINGS_LAYOUT_STACKED, "... its values");
		tap_ok(s.messages.n == 1 && strstr(s.messages.v[0], missing) &&
		               strstr(s.messages.v[0], ":3:"),
		       "... messages carry the real path and line");
		settings_free(&s);
		unlink(missing);
		free(missing);
		unsetenv("DUET_CONFIG");
	}
	free(path);
	rmdir(dir);
}

static void test_cli(void)
{
	char *argv1[] = {
	        "chat",    "-m",   "a.gguf",   "--model=b.gguf", "--temp",   "0.5",     "--r1",        "off",
	        "--think", "hide", "--layout", "side",           "--resume", "--plain", "--top-k",     "5",
	        "-n",      "64",   "--system", "be brief",       "--device", "cpu",     "--broadcast", "off",
	        NULL};
	char *argv2[] = {"chat", "--temp", "9", NULL};
	char *argv3[] = {"chat", "--frob", NULL};
	char *argv4[] = {"chat", "-m", "a", "-m", "b", "-m", "c", NULL};
	char *argv5[] = {"chat",    "--resume=/x/y.json", "--config", "/c.ini",
	                 "--mouse", "--no-autosave",      "m.gguf",   NULL};
	char *argv6[] = {"chat", "--seed", NULL};
	struct settings_cli cli;
	char *cause = NULL;

	TAP_EQ_INT(settings_cli_parse(24, argv1, &cli, &cause), 0, "a full command line parses");
	TAP_EQ_INT(cli.n_models, 2, "two models");
	TAP_EQ_STR(cli.models[1], "b.gguf", "--model=PATH");
	tap_ok(cli.overrides.temperature == 0.5f && (cli.overrides.set & SETTINGS_SET_TEMPERATURE), "--temp");
	tap_ok((cli.overrides.set & SETTINGS_SET_R1) && !cli.overrides.r1, "--r1 off");
	TAP_EQ_INT(cli.think, SETTINGS_THINK_HIDE, "--think hide");
	TAP_EQ_INT(cli.layout, SETTINGS_LAYOUT_SIDE, "--layout side");
	TAP_EQ_STR(cli.resume, "", "--resume without a file");
	TAP_EQ_INT(cli.plain, 1, "--plain");
	TAP_EQ_INT(cli.overrides.top_k, 5, "--top-k");
	TAP_EQ_INT(cli.overrides.max_tokens, 64, "-n");
	TAP_EQ_STR(cli.overrides.system, "be brief", "--system");
	TAP_EQ_STR(cli.overrides.device, "cpu", "--device");
	TAP_EQ_INT(cli.broadcast, 0, "--broadcast off");
	settings_profile_free(&cli.overrides);

	TAP_EQ_INT(settings_cli_parse(3, argv2, &cli, &cause), -1, "--temp 9 refused");
	TAP_ERR_HAS(cause, "--temp: '9' is not a number in 0..5", "... with the option's name and the range");
	free(cause);
	cause = NULL;
	TAP_EQ_INT(settings_cli_parse(2, argv3, &cli, &cause), -1, "unknown option refused");
	TAP_ERR_HAS(cause, "unknown option '--frob'", "... named");
	free(cause);
	cause = NULL;
	TAP_EQ_INT(settings_cli_parse(7, argv4, &cli, &cause), -1, "three models refused");
	TAP_ERR_HAS(cause, "more than twice", "... said so");
	free(cause);
	cause = NULL;
	TAP_EQ_INT(settings_cli_parse(7, argv5, &cli, &cause), 0,
	           "--resume=FILE, --config, a model as an argument");
	TAP_EQ_STR(cli.resume, "/x/y.json", "... resume file");
	TAP_EQ_STR(cli.config_path, "/c.ini", "... config");
	TAP_EQ_STR(cli.models[0], "m.gguf", "... model");
	tap_ok(cli.mouse && cli.no_autosave, "... flags");
	settings_profile_free(&cli.overrides);
	TAP_EQ_INT(settings_cli_parse(2, argv6, &cli, &cause), -1, "a missing value refused");
	TAP_ERR_HAS(cause, "--seed needs a value", "... said so");
	free(cause);
}

int main(void)
{
	test_errors_and_rest();
	test_syntax();
	test_long_and_nul();
	test_colors_keys();
	test_precedence();
	test_files();
	test_cli();
	return tap_done();
}
