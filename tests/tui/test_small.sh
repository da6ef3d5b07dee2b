#!/bin/sh
# test_small.sh — narrow and tiny terminals: two panes stack when narrow, a
# terminal smaller than usable shows a message (no crash) and the interface
# comes back when it grows; it starts even when tiny.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 44 20 -- -m "$MODEL" -m "$MODEL" --temp 0 --threads 1 -n 16
check "44 columns: two panes stacked" wait_until 'screen | sed -n 1p | grep -q "1 SmolLM2" && screen | grep -q "^ 2 SmolLM2" && ! screen | grep -q "│"'
wait_idle
ask "Hi"
check "... both answer" wait_until '[ "$(screen | grep -c "tok/s")" -eq 2 ]'
resize 30 7
check "30x7: too small for two panes, says so" wait_until 'screen | grep -q "terminal too" && screen | grep -q "41x5 or 20x8"'
type_text "typed while tiny"
resize 44 20
check "enlarged: the panes and the input come back" wait_until 'screen | grep -q "» typed while tiny" && screen | grep -q "2 SmolLM2"'
keys C-u C-d
wait_for "DUET-EXIT=0" >/dev/null

tui_start 12 3 -- -m "$MODEL" --temp 0 -n 8
check "started tiny: a message" wait_for "terminal"
resize 60 12
check "then grown: usable" wait_until 'idle'
ask "Hello"
check "... and it answers" wait_for "tok/s"
keys C-d
check "quits" wait_for "DUET-EXIT=0"
done_testing
