/*
 * test_commands.c — slash commands (app/commands.c): parsing into typed
 * arguments, range checks and their one-line messages, what is not a
 * command, prefixes and aliases, Tab completion (names, words, templates,
 * files from a real folder), and the /help table. TAP.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/commands.h"
#include "app/settings.h"
#include "infer/util.h"
#include "tests/tap.h"

static int parse(const char *line, struct command *c, char **cause)
{
	free(*cause);
	*cause = NULL;
	command_free(c);
	return command_parse(line, c, cause);
}

static void test_valid(void)
{
	struct command c = {0};
	char *cause = NULL;

	setenv("HOME", "/home/u", 1);
	TAP_EQ_INT(parse("/help", &c, &cause), 1, "/help");
	TAP_EQ_INT(c.id, COMMAND_HELP, "... id");
	TAP_EQ_INT(parse("  /temp 0.7  ", &c, &cause), 1, "/temp with blanks around");
	tap_ok(c.id == COMMAND_TEMP && c.number == 0.7, "... 0.7");
	TAP_EQ_INT(parse("/temp 0", &c, &cause), 1, "/temp 0 (greedy)");
	TAP_EQ_INT(parse("/temp 5", &c, &cause), 1, "/temp 5 (the top of the range)");
	TAP_EQ_INT(parse("/top-p 1", &c, &cause), 1, "/top-p 1");
	tap_ok(c.id == COMMAND_TOP_P && c.number == 1.0, "... 1");
	TAP_EQ_INT(parse("/seed 18446744073709551615", &c, &cause), 1, "/seed 2^64-1");
	tap_ok(c.seed == UINT64_MAX, "... the value");
	TAP_EQ_INT(parse("/r1 off", &c, &cause), 1, "/r1 off");
	TAP_EQ_INT(c.on, 0, "... off");
	TAP_EQ_INT(parse("/math ON", &c, &cause), 1, "/math ON");
	TAP_EQ_INT(c.on, 1, "... on (case-insensitive)");
	TAP_EQ_INT(parse("/broadcast", &c, &cause), 1, "/broadcast alone");
	TAP_EQ_INT(c.on, -1, "... toggles");
	TAP_EQ_INT(parse("/think fold", &c, &cause), 1, "/think fold");
	TAP_EQ_INT(c.think, SETTINGS_THINK_FOLD, "... fold");
	TAP_EQ_INT(parse("/layout stacked", &c, &cause), 1, "/layout stacked");
	TAP_EQ_INT(c.layout, SETTINGS_LAYOUT_STACKED, "... stacked");
	TAP_EQ_INT(parse("/layout", &c, &cause), 1, "/layout alone");
	TAP_EQ_INT(c.layout, -1, "... cycles");
	TAP_EQ_INT(parse("/focus 2", &c, &cause), 1, "/focus 2");
	TAP_EQ_INT(c.pane, 2, "... pane 2");
	TAP_EQ_INT(parse("/focus", &c, &cause), 1, "/focus alone");
	TAP_EQ_INT(c.pane, 0, "... the other pane");
	TAP_EQ_INT(parse("/model 2 ~/m/x y.gguf", &c, &cause), 1, "/model 2 PATH");
	TAP_EQ_INT(c.pane, 2, "... pane 2");
	TAP_EQ_STR(c.arg, "/home/u/m/x y.gguf", "... ~ expanded, spaces kept");
	TAP_EQ_INT(parse("/model 2", &c, &cause), 1, "/model 2: a model called 2");
	tap_ok(c.pane == 0 && strcmp(c.arg, "2") == 0, "... path '2', no pane");
	TAP_EQ_INT(parse("/model \"/a b/c.gguf\"", &c, &cause), 1, "/model \"quoted\"");
	TAP_EQ_STR(c.arg, "/a b/c.gguf", "... quotes dropped");
	TAP_EQ_INT(parse("/system You are a pirate.  Arr!", &c, &cause), 1, "/system TEXT");
	TAP_EQ_STR(c.arg, "You are a pirate.  Arr!", "... the text as typed");
	TAP_EQ_INT(parse("/system", &c, &cause), 1, "/system alone");
	tap_ok(c.arg == NULL, "... clears");
	TAP_EQ_INT(parse("/template r1-math", &c, &cause), 1, "/template NAME");
	TAP_EQ_STR(c.arg, "r1-math", "... name");
	TAP_EQ_INT(parse("/template none", &c, &cause), 1, "/template none");
	tap_ok(c.arg == NULL, "... no template");
	TAP_EQ_INT(parse("/save", &c, &cause), 1, "/save alone");
	tap_ok(c.arg == NULL, "... the autosave file");
	TAP_EQ_INT(parse("/save ~/chat.json", &c, &cause), 1, "/save FILE");
	TAP_EQ_STR(c.arg, "/home/u/chat.json", "... ~ expanded");
	TAP_EQ_INT(parse("/export notes", &c, &cause), 1, "/export without an extension");
	TAP_EQ_STR(c.arg, "notes.md", "... .md added");
	TAP_EQ_INT(parse("/export out/a.markdown", &c, &cause), 1, "/export with an extension");
	TAP_EQ_STR(c.arg, "out/a.markdown", "... kept");
	TAP_EQ_INT(parse("/load x.json", &c, &cause), 1, "/load FILE");
	TAP_EQ_INT(parse("/retry", &c, &cause), 1, "/retry");
	TAP_EQ_INT(parse("/clear", &c, &cause), 1, "/clear");
	TAP_EQ_INT(parse("/stats", &c, &cause), 1, "/stats");
	TAP_EQ_INT(parse("/templates", &c, &cause), 1, "/templates (not /template s)");
	TAP_EQ_INT(c.id, COMMAND_TEMPLATES, "... id");
	TAP_EQ_INT(parse("/exit", &c, &cause), 1, "/exit");
	TAP_EQ_INT(c.id, COMMAND_QUIT, "... is /quit");
	TAP_EQ_INT(parse("/q", &c, &cause), 1, "/q");
	TAP_EQ_INT(c.id, COMMAND_QUIT, "... is /quit");
	TAP_EQ_INT(parse("/st", &c, &cause), 1, "a unique prefix");
	TAP_EQ_INT(c.id, COMMAND_STATS, "... /stats");
	TAP_EQ_INT(parse("/TEMP 1", &c, &cause), 1, "names are case-insensitive");

	TAP_EQ_INT(parse("hello /temp 1", &c, &cause), 0, "text is not a command");
	TAP_EQ_INT(parse("//not a command", &c, &cause), 0, "'//' starts a message");
	TAP_EQ_INT(parse("", &c, &cause), 0, "an empty line is no command");
	command_free(&c);
	free(cause);
}

static void test_invalid(void)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
	        {"/frob", "unknown command /frob (try /help)"},
	        {"/", "a lone '/' is not a command"},
	        {"/te 1", "/te is ambiguous: /template, /templates, /temp"},
	        {"/temp", "/temp needs a number in 0..5"},
	        {"/temp 9", "/temp: '9' is not a number in 0..5"},
	        {"/temp -0.1", "/temp: '-0.1' is not a number in 0..5"},
	        {"/temp hot", "/temp: 'hot' is not a number"},
	        {"/temp 0.5x", "/temp: '0.5x' is not a number"},
	        {"/temp nan", "/temp: 'nan' is not a number"},
	        {"/top-p 1.5", "/top-p: '1.5' is not a number in 0..1"},
	        {"/seed", "/seed needs a whole number"},
	        {"/seed -1", "/seed: '-1' is not a whole number"},
	        {"/seed 1.5", "/seed: '1.5' is not a whole number"},
	        {"/seed 18446744073709551616", "/seed: '18446744073709551616' is not a whole number"},
	        {"/r1", "/r1 needs on or off"},
	        {"/r1 maybe", "/r1: 'maybe' is not on or off"},
	        {"/think loud", "/think: 'loud' is not show, hide or fold"},
	        {"/think", "/think needs show, hide or fold"},
	        {"/layout diagonal", "/layout: 'diagonal' is not auto, side or stacked"},
	        {"/focus 3", "/focus: '3' is not 1 or 2"},
	        {"/retry now", "/retry takes no arguments"},
	        {"/quit please", "/quit takes no arguments"},
	        {"/load", "/load needs a file"},
	        {"/model", "/model needs a model path"},
	        {"/export", "/export needs a file name"},
	        {"/template ../../etc", "is not a template name"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct command c;
		char *cause = NULL;
		int rc = command_parse(cases[i].line, &c, &cause);
		tap_ok(rc == -1, "refused: %s", cases[i].line);
		TAP_ERR_HAS(cause, cases[i].want, "... with its message");
		tap_ok(cause && !strchr(cause, '\n'), "... on one line");
		tap_ok(c.arg == NULL, "... and nothing allocated");
		free(cause);
	}
}

static void complete(const char *line, size_t cursor, const char *const *tpl, size_t n_tpl,
                     struct command_completion *cc)
{
	command_completion_free(cc);
	command_complete(line, cursor, tpl, n_tpl, cc);
}

static char *joined(const struct command_completion *cc)
{
	struct buf b = {0};
	for (size_t i = 0; i < cc->n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", cc->v[i]);
	buf_cstr(&b);
	return b.data ? b.data : xstrdup("");
}

#define TAP_COMPLETES(line, cursor, tpl, n_tpl, want, want_common, name)                                     \
	do {                                                                                                 \
		complete(line, cursor, tpl, n_tpl, &cc);                                                     \
		char *got_ = joined(&cc);                                                                    \
		TAP_EQ_STR(got_, want, name);                                                                \
		TAP_EQ_STR(cc.common, want_common, "... common prefix");                                     \
		free(got_);                                                                                  \
	} while (0)

static void test_completion(void)
{
	static const char *const tpl[] = {"general", "r1-math", "code-review", "general"};
	struct command_completion cc = {0};
	char dir[] = "/tmp/duet-complete-XXXXXX", *line;

	TAP_COMPLETES("/te", 3, NULL, 0, "/temp /template /templates", "/temp", "command names");
	TAP_EQ_INT(cc.start, 0, "... replacing from the '/'");
	TAP_COMPLETES("/", 1, NULL, 0,
	              "/broadcast /clear /export /focus /help /layout /load /math /model /quit /r1 /retry "
	              "/save /seed /stats "
	              "/system /temp /template /templates /think /top-p",
	              "/", "'/' alone: every command");
	TAP_COMPLETES("  /qu", 5, NULL, 0, "/quit", "/quit", "after leading blanks");
	TAP_EQ_INT(cc.start, 2, "... the word starts after them");
	TAP_COMPLETES("/template ", 10, tpl, 4, "code-review general r1-math", "",
	              "template names, sorted, once each");
	TAP_COMPLETES("/template ge", 12, tpl, 4, "general", "general", "template name prefix");
	TAP_EQ_INT(cc.start, 10, "... the word's start");
	TAP_COMPLETES("/think f", 8, NULL, 0, "fold", "fold", "/think words");
	TAP_COMPLETES("/r1 o", 5, NULL, 0, "off on", "o", "on/off");
	TAP_COMPLETES("/layout ", 8, NULL, 0, "auto side stacked", "", "/layout words");
	TAP_COMPLETES("/focus ", 7, NULL, 0, "1 2", "", "/focus panes");
	TAP_COMPLETES("/think fold ", 12, NULL, 0, "", "", "no second argument");
	TAP_COMPLETES("hello /te", 9, NULL, 0, "", "", "not a command line: nothing");
	TAP_COMPLETES("/temp 0.", 8, NULL, 0, "", "", "numbers: nothing");
	TAP_COMPLETES("/te", 0, NULL, 0, "", "", "cursor before the '/': nothing");

	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	{
		const char *files[] = {"a1.json", "a2.txt", "b.json", ".hidden.json"};
		for (size_t i = 0; i < 4; i++) {
			char *p = path_join(dir, files[i]);
			FILE *f = fopen(p, "w");
			if (f)
				fclose(f);
			free(p);
		}
		char *sub = path_join(dir, "adir");
		mkdir(sub, 0700);
		free(sub);
	}
	{
		char *want = xasprintf("%s/a1.json %s/adir/", dir, dir), *common = xasprintf("%s/a", dir);
		line = xasprintf("/load %s/a", dir);
		TAP_COMPLETES(line, strlen(line), NULL, 0, want, common, "/load: .json files and folders");
		TAP_EQ_INT(cc.start, 6, "... the path's start");
		free(line);
		free(want);
		free(common);
	}
	{
		char *want = xasprintf("%s/a1.json %s/a2.txt %s/adir/", dir, dir, dir),
		     *common = xasprintf("%s/a", dir);
		line = xasprintf("/export %s/a", dir);
		TAP_COMPLETES(line, strlen(line), NULL, 0, want, common, "/export: every file");
		free(line);
		free(want);
		free(common);
	}
	{
		char *want = xasprintf("%s/.hidden.json", dir);
		line = xasprintf("/load %s/.h", dir);
		TAP_COMPLETES(line, strlen(line), NULL, 0, want, want, "hidden files only when asked for");
		free(line);
		free(want);
	}
	{
		char *want = xasprintf("%s/b.json", dir);
		line = xasprintf("/model 2 %s/b", dir);
		TAP_COMPLETES(line, strlen(line), NULL, 0, want, want, "/model after a pane number");
		free(line);
		free(want);
	}
	{
		/* the cursor in the middle of the line completes the word before it */
		line = xasprintf("/think s and more");
		TAP_COMPLETES(line, 8, NULL, 0, "show", "show", "cursor mid-line");
		free(line);
	}
	command_completion_free(&cc);
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("cleanup failed");
		free(cmd);
	}
}

static void test_help(void)
{
	char *all = command_help_text(false), *plain = command_help_text(true);
	const struct command_info *t = command_table();

	for (int i = 0; i < COMMAND_COUNT; i++) {
		char *w = xasprintf("/%s", t[i].name);
		TAP_EQ_INT(t[i].id, i, "table in enum order");
		tap_ok(strstr(all, w) != NULL, "/help lists %s", w);
		free(w);
	}
	tap_ok(strstr(all, "/temp X") && strstr(all, "0..5"), "/help shows arguments and ranges");
	tap_ok(strstr(plain, "/layout") == NULL && strstr(plain, "/focus") == NULL,
	       "plain help leaves out pane commands");
	tap_ok(strstr(plain, "/retry") != NULL, "... keeps the others");
	free(all);
	free(plain);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_completion();
	test_help();
	return tap_done();
}
