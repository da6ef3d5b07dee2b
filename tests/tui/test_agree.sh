#!/bin/sh
# test_agree.sh — what a loaded two-pane conversation shows: \boxed{} answers
# highlighted, the agree / disagree marker under each pane's answer (42 and
# 42.0 agree, \frac{1}{2} and 0.6 do not), R1 thinking dimmed under its head and
# foldable, and a stopped answer marked. The conversation file is written here,
# so the test does not depend on what a small model happens to box.
. "${top_srcdir:-.}/tests/tui/lib.sh"

cat >"$T/two.json" <<'JSON'
{
 "duet_conversation": 1,
 "panes": [
  {"messages": [
   {"role": "user", "text": "What is 6 times 7?", "question": 1},
   {"role": "assistant", "think_open": true, "question": 1,
    "text": "Six sevens are forty-two.\n</think>\n\nThe answer is \\boxed{42}."},
   {"role": "user", "text": "What is 1/2 as a decimal?", "question": 2},
   {"role": "assistant", "question": 2, "text": "It is \\boxed{\\frac{1}{2}}"},
   {"role": "user", "text": "Count to ten.", "question": 3},
   {"role": "assistant", "question": 3, "stopped": true, "text": "One, two, three"}
  ]},
  {"messages": [
   {"role": "user", "text": "What is 6 times 7?", "question": 1},
   {"role": "assistant", "question": 1, "text": "6 x 7 = \\boxed{42.0}"},
   {"role": "user", "text": "What is 1/2 as a decimal?", "question": 2},
   {"role": "assistant", "question": 2, "text": "\\boxed{0.6}"},
   {"role": "user", "text": "Count to ten.", "question": 3},
   {"role": "assistant", "question": 3, "text": "1 2 3 4 5 6 7 8 9 10"}
  ]}
 ]
}
JSON
tui_start 120 36 -- -m "$MODEL" -m "$MODEL" --temp 0 --threads 1 -n 8 --think show
wait_idle
send "/load $T/two.json"
check "loaded" wait_for "loaded $T/two.json"
check "42 and 42.0 agree, on both sides" wait_until 'left | grep -q "✓ both panes answer 42$" && right | grep -q "✓ both panes answer 42.0"'
check "\\frac{1}{2} and 0.6 disagree, each pane naming the other's answer" \
    wait_until 'left | grep -qF "✗ the panes differ: \\frac{1}{2} vs 0.6" && right | grep -qF "✗ the panes differ: 0.6 vs \\frac{1}{2}"'
check "the \\boxed{} answer is highlighted (bold)" \
    sh -c "tmux -S '$T/tmux.sock' capture-pane -e -p -t duet | grep -q '\[1m[^ ]*\\\\boxed{42}'"
check "R1 thinking is shown under its head" wait_until 'left | grep -q "▾ thinking" && left | grep -q "┊ Six sevens are forty-two."'
check "... dimmed (a grey, not the answer's colour)" \
    sh -c "tmux -S '$T/tmux.sock' capture-pane -e -p -t duet | grep -q '38;5;245m┊ Six sevens'"
keys C-t
check "Ctrl-T folds it" wait_until 'left | grep -q "▸ thinking (1 line, Ctrl-T shows)" && ! left | grep -q "Six sevens"'
check "the stopped answer is marked" wait_until 'left | grep -q "■ stopped"'
ask "Thanks!"
check "the conversation goes on from there in both panes" wait_until '[ "$(screen | grep -o "› Thanks!" | wc -l)" -eq 2 ]'
keys C-d
check "quits" wait_for "DUET-EXIT=0"
done_testing
