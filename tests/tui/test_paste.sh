#!/bin/sh
# test_paste.sh — a bracketed paste of several lines arrives as one message
# (Enter inside it does not send), and control characters and escape
# sequences are shown as visible escapes (\x1b), never written raw.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 80 24 -- -m "$MODEL" --temp 0 -n 8
wait_idle
printf 'first pasted line\nsecond pasted line\nthird pasted line' >"$T/paste.txt"
tm load-buffer -b p "$T/paste.txt"
tm paste-buffer -p -d -b p -t duet
check "the paste fills the input, lines and all" wait_until 'screen | grep -q "› first pasted line" && screen | grep -q "^  third pasted line"'
check "... nothing was sent by the Enters inside it" wait_until '! screen | sed -n "2,18p" | grep -q "pasted"' 3
keys Enter
check "Enter sends the three lines as one message" \
    wait_until 'screen | grep -q "^ › first pasted line" && screen | grep -q "^   second pasted line" && screen | grep -q "^   third pasted line"'
wait_idle
check "... one question, one answer" wait_until '[ "$(screen | grep -c "^ › ")" -eq 1 ]' 5

printf 'clear \033[2J\033[31mred\007 bell' >"$T/esc.txt"
tm load-buffer -b e "$T/esc.txt"
tm paste-buffer -p -d -b e -t duet
check "escape sequences in the input show as \\x1b" wait_until 'screen | grep -qF "clear \\x1b[2J\\x1b[31mred\\x07 bell"'
keys Enter
check "... and in the transcript" wait_until 'screen | grep -qF "› clear \\x1b[2J\\x1b[31mred\\x07 bell"'
wait_idle
check "the screen was not cleared by them (the first question is still there)" wait_for "› first pasted line" 5
keys C-d
check "quits" wait_for "DUET-EXIT=0"
done_testing
