#!/bin/sh
# test_resize.sh — the terminal changes size while both panes stream: side by
# side becomes stacked, a terminal too small says so instead of drawing, and
# everything comes back when it grows; generation never stops for it.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 120 30 -- -m "$MODEL" -m "$MODEL" --temp 0 --threads 1 -n 200
wait_idle
send "Write a very long essay about the history of bread."
check "streaming starts" wait_for "▶"
resize 60 30
check "narrow: the panes stack (pane 2's title lower down)" \
    wait_until 'screen | sed -n "1p" | grep -q "1 SmolLM2" && screen | sed -n "4,30p" | grep -q "2 SmolLM2" && ! screen | grep -q "│"'
resize 14 4
check "tiny: a message instead of panes" wait_for "terminal too"
resize 100 30
check "enlarged again: side by side" wait_until 'screen | sed -n 1p | grep -q "1 SmolLM2.*│ 2 SmolLM2"'
resize 70 20
resize 110 28
check "several resizes in a row: still drawn" wait_until 'screen | sed -n 1p | grep -q "1 SmolLM2.*│ 2 SmolLM2"'
check "both answers finish after all that" wait_idle 120
check "... with numbers on both sides" wait_until '[ "$(screen | grep -o "tok/s" | wc -l)" -eq 2 ]'
check "the process is still running" wait_until '[ -n "$(duet_pid)" ]' 5
keys C-d
check "quits with status 0" wait_for "DUET-EXIT=0"
done_testing
