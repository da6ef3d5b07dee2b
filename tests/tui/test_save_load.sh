#!/bin/sh
# test_save_load.sh — /save, /clear, /load, /export, and `duet --resume`
# bringing back the last conversation after a restart.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 90 28 -- -m "$MODEL" --temp 0 -n 24
wait_idle
ask "What is the capital of France?"
check "answered" wait_for "Paris"
send "/save $T/saved.json"
check "/save FILE says where" wait_for "saved to $T/saved.json"
check "... the file holds the question" grep -q "What is the capital of France" "$T/saved.json"
send "/clear"
check "/clear empties the transcript" wait_until '! screen | grep -q "capital of France"'
send "/load $T/saved.json"
check "/load brings the conversation back" wait_until 'screen | grep -q "› What is the capital of France?" && screen | grep -q "Paris"'
type_text "/load $T/missing.json"
keys Enter
check "/load of a missing file: a message" wait_until 'screen | tail -1 | grep -q "/load"'
keys C-u
send "/export $T/chat.md"
check "/export FILE.md" wait_for "exported to $T/chat.md"
check "... Markdown with the question and the answer" sh -c "grep -q 'capital of France' '$T/chat.md' && grep -q 'Paris' '$T/chat.md'"
ask "And of Germany?"
check "a follow-up uses the loaded context" wait_for "Berlin"
keys C-d
check "quit" wait_for "DUET-EXIT=0"
check "... says where the conversation was saved" wait_for "duet --resume continues it"

tui_start 90 28 -- --resume -m "$MODEL" --temp 0 -n 24
check "--resume: the last conversation is back" wait_until 'screen | grep -q "› And of Germany?" && screen | grep -q "› What is the capital of France?"'
check "... and says so" wait_for "resumed"
wait_idle
keys C-d
wait_for "DUET-EXIT=0" >/dev/null
tui_start 90 28 -- --resume="$T/missing.json"
check "--resume of a missing file: a clear message, exit 1" wait_until 'screen | grep -q "resume" && screen | grep -q "DUET-EXIT=1"'
done_testing
