#!/bin/sh
# test_terminal.sh — terminal kinds: 256 colours, 8 colours, monochrome
# (colours seen through capture-pane -e), no UTF-8 locale (a clear message and
# exit before curses), the terminal restored after quitting, and $EDITOR on
# Ctrl-X Ctrl-E.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 80 24 TERM=tmux-256color -- -m "$MODEL" --temp 0 -n 8
wait_idle
check "256 colours: 256-colour cells on screen" sh -c "tmux -S '$T/tmux.sock' capture-pane -e -p -t duet | grep -q '38;5;'"
keys C-d
wait_for "DUET-EXIT=0" >/dev/null
check "after quitting the terminal is back: no duet screen, the cursor visible" \
    wait_until '! screen | grep -q "/help" && [ "$(tm display-message -p -t duet "#{cursor_flag}")" = 1 ]'

tui_start 80 24 TERM=screen -- -m "$MODEL" --temp 0 -n 8
wait_idle
check "8 colours: coloured cells, none from the 256 palette" \
    sh -c "c=\$(tmux -S '$T/tmux.sock' capture-pane -e -p -t duet); echo \"\$c\" | grep -qE '[[;](3[0-7]|4[0-7])[m;]' && ! echo \"\$c\" | grep -q '38;5;'"
ask "Hi"
check "... and it works" wait_for "tok/s"
keys C-d
wait_for "DUET-EXIT=0" >/dev/null

tui_start 80 24 TERM=vt100 -- -m "$MODEL" --temp 0 -n 8
wait_idle
check "monochrome (vt100): no colour at all, attributes only" \
    sh -c "c=\$(tmux -S '$T/tmux.sock' capture-pane -e -p -t duet); ! echo \"\$c\" | grep -qE '[[;](3[0-8]|4[0-8])[m;]' && echo \"\$c\" | grep -q '\[7m'"
ask "Hi"
check "... and it works" wait_for "tok/s"
keys C-d
wait_for "DUET-EXIT=0" >/dev/null

tui_start 80 24 LANG=C LC_ALL=C -- -m "$MODEL"
check "no UTF-8 locale: a clear message, exit 1" wait_until 'screen | grep -q "needs a UTF-8 locale" && screen | grep -q "DUET-EXIT=1"'

cat >"$T/editor.sh" <<'ED'
#!/bin/sh
# a stand-in for $EDITOR: appends a line to the file it is given
printf ' and a line from the editor\n' >>"$1"
ED
chmod +x "$T/editor.sh"
tui_start 80 24 "EDITOR=$T/editor.sh" -- -m "$MODEL" --temp 0 -n 8
wait_idle
type_text "typed first"
keys C-x C-e
check "Ctrl-X Ctrl-E: the text comes back from \$EDITOR" wait_for "› typed first and a line from the editor"
check "... the screen is redrawn" wait_for "SmolLM2"
keys C-u C-d
check "quits" wait_for "DUET-EXIT=0"

tui_start 80 24 -- -m "$MODEL" --temp 0 -n 8
wait_idle
pid=$(duet_pid)
[ -n "$pid" ] && kill -SEGV "$pid"
check "a crash (SIGSEGV) restores the terminal and says so" \
    wait_until 'screen | grep -q "crashed; the terminal was restored" && screen | grep -q "DUET-EXIT=139"'
check "... no duet screen left, the cursor visible" \
    wait_until '! screen | grep -q "/help" && [ "$(tm display-message -p -t duet "#{cursor_flag}")" = 1 ]'
done_testing
