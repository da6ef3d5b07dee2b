#!/bin/sh
# test_history.sh — the input history survives a restart: ↑ brings back what was
# sent last time (multi-line entries whole), Ctrl-R finds older entries.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 80 24 -- -m "$MODEL" --temp 0 -n 4
wait_idle
ask "first remembered line"
type_text "second one"
keys M-Enter
type_text "with a second line"
check "Alt-Enter adds a line to the input" wait_until 'screen | grep -q "› second one" && screen | grep -q "^  with a second line"'
keys Enter
wait_until input_empty
wait_idle
keys C-d
check "quit" wait_for "DUET-EXIT=0"
check "the history file exists" test -s "$HOME_T/.state/duet/history"

tui_start 80 24 -- -m "$MODEL" --temp 0 -n 4
wait_idle
keys Up
check "after a restart ↑ shows the last entry, both lines" wait_until 'screen | grep -q "› second one" && screen | grep -q "with a second line"'
keys Up Up
check "↑ again: the entry before" wait_for "› first remembered line"
keys C-u C-r
type_text "remem"
check "Ctrl-R finds an entry by a piece of it" wait_until 'screen | grep -q "search)'"'"'remem'"'"'" && screen | grep -q "first remembered line"'
keys Escape
check "Esc leaves the search" wait_until '! screen | grep -q "search)"'
keys C-d
check "quit" wait_for "DUET-EXIT=0"
done_testing
