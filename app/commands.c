/*
 * commands.c — slash commands: the table, parsing with typed and
 * range-checked arguments, /help text and Tab completion (command names,
 * fixed words, template names, file names read with readdir). No side
 * effects besides reading folders. Calls app/settings.h (word lists),
 * app/files.h.
 */
#include "config.h"

#include "app/commands.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app/files.h"
#include "app/settings.h"
#include "infer/util.h"

#define COMPLETE_MAX 1000

static const struct command_info table[COMMAND_COUNT] = {
        {COMMAND_HELP, "help", "", "this list", true},
        {COMMAND_MODEL, "model", "[1|2] PATH", "load another model into a pane", true},
        {COMMAND_SYSTEM, "system", "[TEXT]", "set the system prompt (none: clear it)", true},
        {COMMAND_TEMPLATE, "template", "[NAME]", "use a prompt template (none: stop using one)", true},
        {COMMAND_TEMPLATES, "templates", "", "list the prompt templates", true},
        {COMMAND_TEMP, "temp", "X", "sampling temperature, 0..5 (0 = greedy)", true},
        {COMMAND_TOP_P, "top-p", "X", "nucleus sampling, 0..1 (1 = off)", true},
        {COMMAND_SEED, "seed", "N", "random seed (same seed, same answer)", true},
        {COMMAND_R1, "r1", "on|off", "the DeepSeek-R1 conventions", true},
        {COMMAND_MATH, "math", "on|off", "ask for step-by-step maths with a \\boxed{} answer", true},
        {COMMAND_THINK, "think", "show|hide|fold", "how the model's thinking is shown", true},
        {COMMAND_RETRY, "retry", "", "answer the last question again", true},
        {COMMAND_CLEAR, "clear", "", "start a new conversation", true},
        {COMMAND_SAVE, "save", "[FILE]", "save the conversation (none: the autosave file)", true},
        {COMMAND_LOAD, "load", "FILE", "load a saved conversation", true},
        {COMMAND_EXPORT, "export", "FILE.md", "write the conversation as Markdown", true},
        {COMMAND_STATS, "stats", "", "speed and memory of the last answers", true},
        {COMMAND_LAYOUT, "layout", "[auto|side|stacked]", "arrange the two panes", false},
        {COMMAND_FOCUS, "focus", "[1|2]", "the pane that gets the keys", false},
        {COMMAND_BROADCAST, "broadcast", "[on|off]", "send questions to both panes", false},
        {COMMAND_QUIT, "quit", "", "leave duet (also /exit)", true},
};

const struct command_info *command_table(void)
{
	return table;
}

char *command_help_text(bool plain)
{
	struct buf b = {0};
	size_t width = 0;

	for (int i = 0; i < COMMAND_COUNT; i++) {
		size_t w = strlen(table[i].name) + (table[i].args[0] ? strlen(table[i].args) + 1 : 0);
		if (w > width)
			width = w;
	}
	for (int i = 0; i < COMMAND_COUNT; i++) {
		char left[64];
		if (plain && !table[i].plain)
			continue;
		snprintf(left, sizeof left, "%s%s%s", table[i].name, table[i].args[0] ? " " : "",
		         table[i].args);
		buf_printf(&b, "/%-*s  %s\n", (int)width, left, table[i].help);
	}
	buf_printf(&b, "//TEXT sends a message that starts with '/'.\n");
	buf_cstr(&b);
	return b.data;
}

void command_free(struct command *c)
{
	if (!c)
		return;
	free(c->arg);
	memset(c, 0, sizeof *c);
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/*
 * The command named by word (n bytes, without '/'): exact names and
 * aliases first, then a unique prefix. -1 unknown, -2 ambiguous.
 */
static int command_lookup(const char *word, size_t n, char **cause)
{
	static const struct {
		const char *alias;
		enum command_id id;
	} aliases[] = {{"exit", COMMAND_QUIT},
	               {"q", COMMAND_QUIT},
	               {"?", COMMAND_HELP},
	               {"top_p", COMMAND_TOP_P},
	               {"temperature", COMMAND_TEMP}};
	int hit = -1, hits = 0;
	struct buf names = {0};

	if (n == 0) {
		error_set(cause, "a lone '/' is not a command (try /help; '//' sends a '/')");
		return -1;
	}
	for (int i = 0; i < COMMAND_COUNT; i++)
		if (strlen(table[i].name) == n && strncasecmp(table[i].name, word, n) == 0)
			return i;
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strlen(aliases[i].alias) == n && strncasecmp(aliases[i].alias, word, n) == 0)
			return (int)aliases[i].id;
	for (int i = 0; i < COMMAND_COUNT; i++) {
		if (strncasecmp(table[i].name, word, n) == 0) {
			buf_printf(&names, "%s/%s", hits ? ", " : "", table[i].name);
			hit = i;
			hits++;
		}
	}
	if (hits == 1) {
		buf_free(&names);
		return hit;
	}
	if (hits > 1)
		error_set(cause, "/%.*s is ambiguous: %s", (int)(n > 40 ? 40 : n), word, buf_cstr(&names));
	else
		error_set(cause, "unknown command /%.*s (try /help)", (int)(n > 40 ? 40 : n), word);
	buf_free(&names);
	return hits > 1 ? -2 : -1;
}

/* A file argument: surrounding quotes dropped, "~/" expanded. */
static char *file_arg(const char *s)
{
	size_t n = strlen(s);
	char *inner, *out;

	if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\'')))
		inner = xstrndup(s + 1, n - 2);
	else
		inner = xstrdup(s);
	out = files_expand_home(inner);
	free(inner);
	return out;
}

static int parse_on_off(const char *name, const char *args, bool required, int *out, char **cause)
{
	if (!*args) {
		if (required)
			return error_set(cause, "/%s needs on or off", name);
		*out = -1;
		return 0;
	}
	if (strcasecmp(args, "on") == 0 || strcasecmp(args, "yes") == 0 || strcmp(args, "1") == 0)
		*out = 1;
	else if (strcasecmp(args, "off") == 0 || strcasecmp(args, "no") == 0 || strcmp(args, "0") == 0)
		*out = 0;
	else
		return error_set(cause, "/%s: '%.40s' is not on or off", name, args);
	return 0;
}

static int parse_number(const char *name, const char *args, double lo, double hi, double *out, char **cause)
{
	char *end;
	double v;

	if (!*args)
		return error_set(cause, "/%s needs a number in %g..%g", name, lo, hi);
	errno = 0;
	v = strtod(args, &end);
	if (errno || *end || end == args || !isfinite(v) || v < lo || v > hi)
		return error_set(cause, "/%s: '%.40s' is not a number in %g..%g", name, args, lo, hi);
	*out = v;
	return 0;
}

int command_parse(const char *line, struct command *out, char **cause)
{
	const char *s = line, *word, *args;
	size_t n, len;
	char *rest = NULL;
	const char *name;
	int id;

	memset(out, 0, sizeof *out);
	out->on = -1;
	out->layout = -1;
	while (blank(*s))
		s++;
	if (s[0] != '/' || s[1] == '/')
		return 0;
	word = s + 1;
	for (n = 0; word[n] && !blank(word[n]); n++)
		;
	id = command_lookup(word, n, cause);
	if (id < 0)
		return -1;
	name = table[id].name;
	args = word + n;
	while (blank(*args))
		args++;
	len = strlen(args);
	while (len && blank(args[len - 1]))
		len--;
	rest = xstrndup(args, len);
	out->id = (enum command_id)id;

	switch (out->id) {
	case COMMAND_HELP:
		if (*rest)
			out->arg = xstrdup(rest[0] == '/' ? rest + 1 : rest);
		break;
	case COMMAND_TEMPLATES:
	case COMMAND_RETRY:
	case COMMAND_CLEAR:
	case COMMAND_STATS:
	case COMMAND_QUIT:
		if (*rest) {
			error_set(cause, "/%s takes no arguments", name);
			goto fail;
		}
		break;
	case COMMAND_MODEL: {
		const char *path = rest;
		if ((rest[0] == '1' || rest[0] == '2') && blank(rest[1])) {
			out->pane = rest[0] - '0';
			path = rest + 2;
			while (blank(*path))
				path++;
		}
		if (!*path) {
			error_set(cause, "/model needs a model path (a .gguf file or a model folder)");
			goto fail;
		}
		out->arg = file_arg(path);
		break;
	}
	case COMMAND_SYSTEM:
		if (*rest)
			out->arg = xstrdup(rest);
		break;
	case COMMAND_TEMPLATE:
		if (*rest && strcasecmp(rest, "none") != 0 && strcasecmp(rest, "off") != 0) {
			for (const char *p = rest; *p; p++)
				if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
					error_set(
					        cause,
					        "/template: '%.40s' is not a template name (see /templates)",
					        rest);
					goto fail;
				}
			out->arg = xstrdup(rest);
		}
		break;
	case COMMAND_TEMP:
		if (parse_number(name, rest, 0, 5, &out->number, cause) != 0)
			goto fail;
		break;
	case COMMAND_TOP_P:
		if (parse_number(name, rest, 0, 1, &out->number, cause) != 0)
			goto fail;
		break;
	case COMMAND_SEED: {
		char *end;
		unsigned long long v;
		errno = 0;
		if (!isdigit((unsigned char)rest[0])) {
			error_set(cause,
			          *rest ? "/seed: '%.40s' is not a whole number in 0..18446744073709551615"
			                : "/seed needs a whole number%.0s",
			          rest);
			goto fail;
		}
		v = strtoull(rest, &end, 10);
		if (errno || *end) {
			error_set(cause, "/seed: '%.40s' is not a whole number in 0..18446744073709551615",
			          rest);
			goto fail;
		}
		out->seed = v;
		break;
	}
	case COMMAND_R1:
	case COMMAND_MATH:
		if (parse_on_off(name, rest, true, &out->on, cause) != 0)
			goto fail;
		break;
	case COMMAND_BROADCAST:
		if (parse_on_off(name, rest, false, &out->on, cause) != 0)
			goto fail;
		break;
	case COMMAND_THINK:
		out->think = settings_think_parse(rest);
		if (out->think < 0) {
			error_set(cause,
			          *rest ? "/think: '%.40s' is not show, hide or fold"
			                : "/think needs show, hide or fold%.0s",
			          rest);
			goto fail;
		}
		break;
	case COMMAND_LAYOUT:
		if (*rest) {
			out->layout = settings_layout_parse(rest);
			if (out->layout < 0) {
				error_set(cause, "/layout: '%.40s' is not auto, side or stacked", rest);
				goto fail;
			}
		}
		break;
	case COMMAND_FOCUS:
		if (*rest) {
			if ((rest[0] != '1' && rest[0] != '2') || rest[1]) {
				error_set(cause, "/focus: '%.40s' is not 1 or 2", rest);
				goto fail;
			}
			out->pane = rest[0] - '0';
		}
		break;
	case COMMAND_SAVE:
		if (*rest)
			out->arg = file_arg(rest);
		break;
	case COMMAND_LOAD:
		if (!*rest) {
			error_set(cause, "/load needs a file (a conversation saved with /save)");
			goto fail;
		}
		out->arg = file_arg(rest);
		break;
	case COMMAND_EXPORT: {
		if (!*rest) {
			error_set(cause, "/export needs a file name, such as chat.md");
			goto fail;
		}
		out->arg = file_arg(rest);
		const char *base = strrchr(out->arg, '/');
		base = base ? base + 1 : out->arg;
		if (!*base) {
			error_set(cause, "/export: '%.40s' is a folder, not a file name", rest);
			goto fail;
		}
		if (!strchr(base, '.')) {
			char *with = xasprintf("%s.md", out->arg);
			free(out->arg);
			out->arg = with;
		}
		break;
	}
	case COMMAND_COUNT:
		break;
	}
	free(rest);
	return 1;
fail:
	free(rest);
	command_free(out);
	return -1;
}

/* ---- completion
 * ---------------------------------------------------------------------------------------------- */

static void cand_add(struct command_completion *c, const char *s)
{
	if (c->n >= COMPLETE_MAX)
		return;
	c->v = xreallocarray(c->v, c->n + 1, sizeof *c->v);
	c->v[c->n++] = xstrdup(s);
}

static int cand_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cand_words(struct command_completion *c, const char *prefix, size_t n, const char *const *words,
                       size_t n_words)
{
	for (size_t i = 0; i < n_words; i++)
		if (strncmp(words[i], prefix, n) == 0)
			cand_add(c, words[i]);
}

/* Files: the typed word is DIR/PREFIX; candidates keep DIR as typed. */
static void cand_files(struct command_completion *c, const char *word, size_t n, const char *want_ext)
{
	char *typed = xstrndup(word, n), *slash = strrchr(typed, '/'), *dir_typed, *dir;
	const char *prefix;
	DIR *d;
	struct dirent *e;

	if (slash) {
		dir_typed = xstrndup(typed, (size_t)(slash - typed) + 1);
		prefix = slash + 1;
	} else {
		dir_typed = xstrdup("");
		prefix = typed;
	}
	dir = files_expand_home(*dir_typed ? dir_typed : ".");
	if (typed[0] == '~' && !slash) {
		/* "~" alone: offer the home folder */
		if (strcmp(typed, "~") == 0)
			cand_add(c, "~/");
		goto done;
	}
	d = opendir(dir);
	if (!d)
		goto done;
	while ((e = readdir(d)) != NULL && c->n < COMPLETE_MAX) {
		const char *nm = e->d_name;
		size_t len = strlen(nm);
		char *full, *cand;
		bool is_dir;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (nm[0] == '.' && prefix[0] != '.')
			continue;
		if (strncmp(nm, prefix, strlen(prefix)) != 0)
			continue;
		full = path_join(dir, nm);
		is_dir = path_is_dir(full);
		free(full);
		if (!is_dir && want_ext &&
		    (len < strlen(want_ext) || strcmp(nm + len - strlen(want_ext), want_ext) != 0))
			continue;
		cand = xasprintf("%s%s%s", dir_typed, nm, is_dir ? "/" : "");
		cand_add(c, cand);
		free(cand);
	}
	closedir(d);
done:
	free(dir);
	free(dir_typed);
	free(typed);
}

size_t command_complete(const char *line, size_t cursor, const char *const *templates, size_t n_templates,
                        struct command_completion *out)
{
	static const char *const on_off[] = {"off", "on"}, *const think[] = {"fold", "hide", "show"},
	                         *const layout[] = {"auto", "side", "stacked"}, *const panes[] = {"1", "2"};
	size_t len = strlen(line), start, lead = 0, n_word, argno = 0;
	const char *cmd;
	int id;

	memset(out, 0, sizeof *out);
	if (cursor > len)
		cursor = len;
	start = cursor;
	while (start > 0 && !blank(line[start - 1]))
		start--;
	out->start = start;
	while (lead < cursor && blank(line[lead]))
		lead++;
	if (lead >= cursor || line[lead] != '/' || line[lead + 1] == '/')
		goto finish;
	cmd = line + lead + 1;
	for (n_word = 0; cmd[n_word] && !blank(cmd[n_word]); n_word++)
		;
	if (start <= lead) {
		/* completing the command name itself */
		size_t typed = cursor - (lead + 1);
		for (int i = 0; i < COMMAND_COUNT; i++) {
			if (strncasecmp(table[i].name, cmd, typed) == 0) {
				char *s = xasprintf("/%s", table[i].name);
				cand_add(out, s);
				free(s);
			}
		}
		goto finish;
	}
	id = command_lookup(cmd, n_word, NULL);
	if (id < 0)
		goto finish;
	/* which argument: count the words between the command and the cursor's word */
	for (size_t i = lead + 1 + n_word; i < start;) {
		while (i < start && blank(line[i]))
			i++;
		if (i >= start)
			break;
		argno++;
		while (i < start && !blank(line[i]))
			i++;
	}
	{
		const char *word = line + start;
		size_t n = cursor - start;

		switch ((enum command_id)id) {
		case COMMAND_TEMPLATE:
			if (argno == 0)
				for (size_t i = 0; i < n_templates; i++)
					if (strncmp(templates[i], word, n) == 0)
						cand_add(out, templates[i]);
			break;
		case COMMAND_R1:
		case COMMAND_MATH:
		case COMMAND_BROADCAST:
			if (argno == 0)
				cand_words(out, word, n, on_off, 2);
			break;
		case COMMAND_THINK:
			if (argno == 0)
				cand_words(out, word, n, think, 3);
			break;
		case COMMAND_LAYOUT:
			if (argno == 0)
				cand_words(out, word, n, layout, 3);
			break;
		case COMMAND_FOCUS:
			if (argno == 0)
				cand_words(out, word, n, panes, 2);
			break;
		case COMMAND_LOAD:
			if (argno == 0)
				cand_files(out, word, n, ".json");
			break;
		case COMMAND_SAVE:
		case COMMAND_EXPORT:
			if (argno == 0)
				cand_files(out, word, n, NULL);
			break;
		case COMMAND_MODEL: {
			/* a pane number may come first */
			const char *a = line + lead + 1 + n_word;
			while (*a && blank(*a))
				a++;
			bool after_pane = (a[0] == '1' || a[0] == '2') && blank(a[1]) && argno == 1;
			if (argno == 0 || after_pane)
				cand_files(out, word, n, NULL);
			break;
		}
		default:
			break;
		}
	}
finish:
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cand_cmp);
	/* drop duplicates (templates may repeat a name) */
	for (size_t i = 1; i < out->n;) {
		if (strcmp(out->v[i], out->v[i - 1]) == 0) {
			free(out->v[i]);
			memmove(&out->v[i], &out->v[i + 1], (out->n - i - 1) * sizeof *out->v);
			out->n--;
		} else
			i++;
	}
	if (out->n) {
		size_t k = strlen(out->v[0]);
		for (size_t i = 1; i < out->n; i++) {
			size_t j = 0;
			while (j < k && out->v[i][j] == out->v[0][j])
				j++;
			k = j;
		}
		out->common = xstrndup(out->v[0], k);
	} else
		out->common = xstrdup("");
	return out->n;
}

void command_completion_free(struct command_completion *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	free(c->common);
	memset(c, 0, sizeof *c);
}
