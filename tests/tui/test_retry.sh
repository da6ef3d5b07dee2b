#!/bin/sh
# test_retry.sh — /retry regenerates the last answer in place (greedy: the same
# text again, one answer, not two), and the model's own context carries over to
# a follow-up question.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 80 30 -- -m "$MODEL" --temp 0 -n 32
wait_idle
send "Name three colours."
check "the first answer finishes" wait_until 'idle && screen | grep -q "tok/s"'
screen | sed -n '2,26p' >"$T/first"
send "/retry"
check "/retry starts again" wait_for "retrying"
check "... and finishes" wait_until 'idle && screen | grep -q "tok/s"'
screen | sed -n '2,26p' >"$T/second"
check "the question is shown once" wait_until '[ "$(screen | grep -c "› Name three colours.")" -eq 1 ]' 5
if cmp -s "$T/first" "$T/second"; then ok "greedy: the regenerated answer is the same, in the same place"; else
    notok "greedy: the regenerated answer is the same"; diff "$T/first" "$T/second" | sed 's/^/# /'; fi
type_text "/temp 0.9"
keys Enter
check "/temp 0.9" wait_for "temperature 0.9"
check "... shown in the title" wait_for "t 0.9"
type_text "/seed 7"
keys Enter
check "/seed 7" wait_for "seed 7"
send "/retry"
check "retry with sampling finishes" wait_until 'idle && screen | grep -q "tok/s"'
check "still one question, one answer" wait_until '[ "$(screen | grep -c "› Name three colours.")" -eq 1 ]' 5
type_text "/stats"
keys Enter
check "/stats shows the sampling and the last answer's numbers" wait_for "temperature 0.9, top-p"
check "... decode speed and context" wait_until 'flat | grep -q "decode [0-9.]* tok/s" && flat | grep -q "context [0-9]*/8192"'
keys C-d
check "quits" wait_for "DUET-EXIT=0"
done_testing
