/*
 * main.c — duet's entry point: picks the subcommand and hands over. The
 * subcommands live in app/cmd_*.c; the chat interface (no subcommand) arrives
 * with ui/.
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/cli.h"

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	setlocale(LC_ALL, "");
	if (!cmd || strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(DUET_USAGE, cmd ? stdout : stderr);
		if (!cmd)
			fputs("\nThe chat interface is not built yet: start with `duet info`.\n", stderr);
		return cmd ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("duet %s\n", PACKAGE_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "info") == 0)
		return cmd_info(argc - 1, argv + 1);
	if (strcmp(cmd, "tokenize") == 0)
		return cmd_tokenize(argc - 1, argv + 1);
	fprintf(stderr, "duet: unknown command '%s'\n\n%s", cmd, DUET_USAGE);
	return CLI_EXIT_USAGE;
}
