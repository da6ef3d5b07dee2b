#!/bin/sh
# test_commands.sh — slash commands: templates (list, choose, unknown),
# validation (unknown commands and bad arguments give one line and change
# nothing), Tab completion, /think, /layout, /focus with one pane, /help.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 100 30 -- -m "$MODEL" --temp 0 -n 8
wait_idle
type_text "/templates"
keys Enter
check "/templates lists the shipped templates" wait_until 'screen | grep -q "r1-math" && screen | grep -q "general"'
send "/template general"
check "/template general" wait_for "template general: A helpful assistant"
type_text "/template nosuch"
keys Enter
check "an unknown template is refused" wait_for "no template 'nosuch'"
check "... and the line stays to be fixed" wait_for "› /template nosuch"
keys C-u
type_text "/frobnicate"
keys Enter
check "an unknown command: one line" wait_for "unknown command"
keys C-u
type_text "/temp 9"
keys Enter
check "a bad argument: one line" wait_until 'screen | tail -1 | grep -q "/temp"'
check "... the temperature did not change" wait_for "t 0"
keys C-u
type_text "/tem"
keys Tab
check "Tab on an ambiguous prefix lists the candidates" wait_until 'screen | tail -1 | grep -q "temp" && screen | tail -1 | grep -q "templates"'
keys C-u
type_text "/templa"
keys Tab
check "Tab completes as far as the candidates agree" wait_for "› /template"
type_text " r1"
keys Tab
check "Tab completes the command, then the template name" wait_for "› /template r1-math"
keys Enter
check "... which applies" wait_for "template r1-math"
type_text "/think fold"
keys Enter
check "/think fold" wait_for "thinking: fold"
type_text "/layout stacked"
keys Enter
check "/layout stacked" wait_for "layout stacked"
type_text "/focus"
keys Enter
check "/focus with one pane says so" wait_for "only one pane"
keys C-u
type_text "/help"
keys Enter
check "/help lists commands and keys" wait_until 'screen | grep -q "/quit" && screen | grep -q "Ctrl-X Ctrl-E"'
keys PPage
check "PgUp scrolls back: the title counts the lines below" wait_until 'screen | sed -n 1p | grep -q "↓[0-9]"'
keys NPage NPage
check "PgDn comes back to the end" wait_until '! screen | sed -n 1p | grep -q "↓"'
ask "//not a command"
check "//text sends a message starting with /" wait_for "› /not a command"
send "/system You answer in one word."
check "/system sets the system prompt" wait_for "system prompt set"
type_text "/model 2 $T/nothing-here.gguf"
keys Enter
check "/model with a missing file: one line, nothing else changes" \
    wait_until 'screen | tail -1 | grep -q "no such file" && ! screen | grep -q "2 SmolLM2"'
keys C-u
send "/model 2 $MODEL"
check "/model 2 PATH opens a second pane" wait_until 'screen | grep -q "1 SmolLM2" && screen | grep -q "2 SmolLM2"'
check "... which says when its model is ready" wait_for "on cpu"
wait_idle
send "/focus 2"
check "/focus 2" wait_for "pane 2 has the focus"
type_text "/quit"
keys Enter
check "/quit" wait_for "DUET-EXIT=0"
done_testing
