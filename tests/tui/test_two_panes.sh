#!/bin/sh
# test_two_panes.sh — two panes side by side answer one broadcast question at
# the same time, each from its own worker; with the same model and greedy
# sampling they write the same answer. Then the focus mode sends to one pane.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 120 32 -- -m "$MODEL" -m "$MODEL" --temp 0 --threads 1 -n 600 --layout side
check "both panes show the model" wait_until '[ "$(screen | grep -o "SmolLM2-135M-Instruct.Q4_1" | wc -l)" -eq 2 ]'
wait_idle
check "broadcast is the default" wait_for "to both"
send "Write a very long essay about the history of bread."
check "the question appears in both panes" wait_until '[ "$(screen | grep -o "› Write a very long essay about the history of bread." | wc -l)" -eq 2 ]'
# Both numbers lines streaming at once: "▶ N tok" on the left and on the right.
check "both panes stream at the same time" wait_until 'left | grep -q "▶ [0-9]* tok" && right | grep -q "▶ [0-9]* tok"'
type_text "typed while they stream"
check "the input works while the models compute" wait_until 'screen | grep -q "» typed while they stream" && screen | grep -q "▶"'
keys C-u
check "both answers finish" wait_idle
check "... with their numbers (tok/s, TTFT, context, memory)" \
    wait_until '[ "$(screen | grep -c "tok/s · ttft [0-9]* ms · ctx [0-9]*/8192 · [0-9.]* MiB")" -ge 1 ]'
left | sed -n '2,28p' | sed 's/[[:space:]]*$//' >"$T/left"
right | sed -n '2,28p' | sed 's/[[:space:]]*$//' >"$T/right"
if cmp -s "$T/left" "$T/right" && [ "$(grep -c . "$T/left")" -ge 3 ]; then
    ok "greedy: the same model writes the same answer in both panes"
else
    notok "greedy: the same model writes the same answer in both panes"
    diff "$T/left" "$T/right" | sed 's/^/# /'
fi

keys C-x b
check "Ctrl-X b turns broadcast off" wait_for "to pane 1"
keys C-o
check "Ctrl-O moves the focus to pane 2" wait_for "to pane 2"
send "Hello"
check "a focused message goes to pane 2 only" wait_until 'right | grep -q "› Hello" && ! left | grep -q "› Hello"'
wait_idle
type_text "/broadcast on"
keys Enter
check "/broadcast on" wait_for "messages go to both panes"
keys F3
check "F3 ([keys] toggle-broadcast's default) toggles it too" wait_for "to pane 2"
keys F3
wait_for "to both" >/dev/null
keys C-d
check "Ctrl-D on an empty line quits" wait_for "DUET-EXIT=0"
done_testing
