/*
 * main.c — duet's entry point: picks the subcommand and hands over. The
 * subcommands live in app/cmd_*.c; without one (or with options only) duet
 * opens the chat interface (app/chat_tui.c, or the plain REPL off a terminal).
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/chat_tui.h"
#include "app/cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{"chat", cmd_chat},
	{"info", cmd_info},
	{"tokenize", cmd_tokenize},
	{"run", cmd_run},
	{"logits", cmd_logits},
	{"bench", cmd_bench},
	{"mkmodel", cmd_mkmodel},
};

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	setlocale(LC_ALL, "");
	if (!cmd) {
		char *chat_argv[] = {"chat", NULL};
		return cmd_chat(1, chat_argv);
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(DUET_USAGE, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("duet %s\n", PACKAGE_VERSION);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (cmd[0] == '-') /* `duet -m MODEL ...`: options of the chat interface */
		return cmd_chat(argc, argv);
	fprintf(stderr, "duet: unknown command '%s'\n\n%s", cmd, DUET_USAGE);
	return CLI_EXIT_USAGE;
}
