#!/bin/sh
# test_cancel.sh — Esc and Ctrl-C stop generation and keep the partial answer,
# marked stopped; Ctrl-C on an idle prompt asks before quitting and a second
# Ctrl-C quits; SIGTERM saves the conversation and restores the terminal.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 80 24 -- -m "$MODEL" --temp 0 -n 400
wait_idle
send "Write a very long essay about the history of bread."
check "streaming" wait_until 'screen | grep -q "▶ [0-9]* tok"'
keys Escape
check "Esc stops it: marked stopped" wait_for "■ stopped"
check "... and idle again" wait_idle
check "... the partial answer stays" wait_until '[ "$(screen | sed -n "4,19p" | grep -c "[a-z]")" -ge 1 ]'

# The first answer ended at a moment of our choosing: start afresh so the next one is the same every run.
send "/clear"
send "Write a very long essay about the history of cheese."
check "streaming again" wait_until 'screen | grep -q "▶ [0-9]* tok"'
keys C-c
check "Ctrl-C while streaming stops, it does not quit" wait_for "■ stopped"
wait_idle
keys C-c
check "Ctrl-C on an idle prompt asks first" wait_for "Quit duet?"
keys n
check "... n stays" wait_until '! screen | grep -q "Quit duet?"'
type_text "kept"
check "... and typing goes on" wait_for "› kept"
keys C-u C-c
wait_for "Quit duet?" >/dev/null
keys C-c
check "a second Ctrl-C quits" wait_for "DUET-EXIT=0"
check "the conversation was autosaved" sh -c "ls '$HOME_T/.data/duet/chats/'*.json >/dev/null 2>&1"
check "... the stopped answer is in it, marked stopped" sh -c "grep -q '\"stopped\": *true' '$HOME_T/.data/duet/chats/'*.json"

tui_start 80 24 -- -m "$MODEL" --temp 0 -n 400
wait_idle
send "Write a very long essay about the history of the wheel."
wait_for "▶" >/dev/null
pid=$(duet_pid)
[ -n "$pid" ] && kill -TERM "$pid"
check "SIGTERM: duet exits with 128+15" wait_for "DUET-EXIT=143"
check "... and the terminal is back (the shell's output shows, no duet screen)" wait_until '! screen | grep -q "Esc stops"'
check "... the conversation was saved" sh -c "grep -lq 'history of the wheel' '$HOME_T/.data/duet/chats/'*.json"
done_testing
