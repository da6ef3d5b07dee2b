#!/bin/sh
# test_think.sh — R1 conventions on a model that does not think: the prompt
# opens the thinking block, so the output starts as thinking (dimmed), and as
# it never closes it stays thinking and says so; Ctrl-T folds and unfolds it;
# /think hide hides it; /r1 off brings plain answers back.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 90 28 -- -m "$MODEL" --r1 on --temp 0 -n 24 --think show
wait_idle
check "the title says R1" wait_for "R1"
ask "What is 7 times 6?"
check "the output is shown as thinking" wait_for "▾ thinking"
check "... it never closed, and the pane says so" wait_for "the thinking never closed"
keys C-t
check "Ctrl-T folds it to one line" wait_until 'screen | grep -q "▸ thinking ([0-9]* lines*, Ctrl-T shows)" && ! screen | grep -q "▾ thinking"'
keys C-t
check "Ctrl-T again shows it" wait_for "▾ thinking"
send "/think hide"
check "/think hide hides it" wait_until '! screen | grep -q "thinking (" && ! screen | grep -q "▾ thinking"'
send "/think show"
send "/r1 off"
check "/r1 off" wait_for "R1 conventions off"
ask "What is 7 times 6?"
check "without R1 the answer is an answer (two questions, one thinking block)" \
    wait_until '[ "$(screen | grep -c "▾ thinking")" -eq 1 ] && [ "$(screen | grep -c "› What is 7 times 6?")" -eq 2 ]'
send "/math on"
check "/math on" wait_for "math on"
ask "What is 2+3?"
check "math appends the \\boxed{} instruction to the question" wait_for "put your final answer within"
keys C-d
check "quits" wait_for "DUET-EXIT=0"
done_testing
