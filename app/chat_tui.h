/*
 * chat_tui.h — `duet`, `duet chat`: the full-screen chat interface (one or
 * two panes, each answered by its own model on its own worker thread).
 * Falls back to the line interface (cmd_chat_plain) with --plain or when
 * standard input or output is not a terminal.
 */
#ifndef DUET_APP_CHAT_TUI_H
#define DUET_APP_CHAT_TUI_H

/* argv[0] is the command name ("chat"); options as SETTINGS_CLI_USAGE. Returns the exit status. */
int cmd_chat(int argc, char **argv);

#endif
