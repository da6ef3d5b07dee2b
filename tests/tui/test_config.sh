#!/bin/sh
# test_config.sh — a duet.ini with mistakes: each bad line is named in the
# interface (file and line), everything else in the file still applies, and
# duet works. A --config file that cannot be read stops duet before curses
# with a message.
. "${top_srcdir:-.}/tests/tui/lib.sh"

cat >"$HOME_T/.config/duet/duet.ini" <<'INI'
[general]
layout = diagonal
think = fold
frobnicate = 1
[colors]
think = purple-ish
user = bold yellow
[model:SmolLM2*]
temperature = 0
max_tokens = 12
top_p = 7
[nonsense
INI
tui_start 100 30 -- -m "$MODEL"
check "the bad lines are shown with file and line" \
    wait_until 'screen | grep -q "duet.ini:2" && screen | grep -q "duet.ini:4" && screen | grep -q "duet.ini:6"'
check "... and counted on the message line" wait_for "problems in"
check "the good lines apply: the profile's temperature 0" wait_for "t 0"
wait_idle
ask "Say hello."
check "duet still answers (max_tokens 12 from the profile)" wait_until 'flat | grep -q "ctx [0-9]*/8192"'
keys C-d
wait_for "DUET-EXIT=0" >/dev/null

tui_start 100 30 -- --config "$T/nonexistent.ini" -m "$MODEL"
check "an unreadable --config: a message and exit 1" wait_until 'screen | grep -q "nonexistent.ini" && screen | grep -q "DUET-EXIT=1"'

printf '[colors]\npalette = mono\n' >"$HOME_T/.config/duet/duet.ini"
tui_start 80 24 -- -m "$MODEL" --temp 0 -n 8
wait_idle
check "palette = mono: no colours on screen" sh -c "! tmux -S '$T/tmux.sock' capture-pane -e -p -t duet | grep -qE '[[;](3[0-8]|4[0-8])[m;]'"
keys C-d
wait_for "DUET-EXIT=0" >/dev/null
done_testing
