#!/bin/sh
# test_plain.sh — `duet chat --plain` end to end through pipes, with the real
# SmolLM2-135M-Instruct at temperature 0: the first answer equals what
# `duet run --greedy` prints for the same prompt (the REPL sends exactly the
# chat the model should see); a conversation of several turns with /temp,
# /think, /r1, /template, /math, a bad command, /stats, /save, /export,
# /load and --resume; a greedy session gives the same text twice; Ctrl-C
# stops an answer and the session goes on; autosave; bad options. TAP.
set -u
DUET=${DUET:-./duet}
models=${DUET_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/duet/models}
smol="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Keep the user's own files out of it.
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" XDG_STATE_HOME="$tmp/state"
unset DUET_CONFIG
n=0 bad=0
ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); printf 'not ok %d - %s\n' "$n" "$1"; }
check() { # NAME COMMAND... : passes when the command succeeds
    name=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$name"; else notok "$name"; fi
}
rc_is() { [ "$(cat "$tmp/rc")" = "$1" ]; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
out_has() { grep -qF -- "$1" "$tmp/out"; }
# plain INPUT ARGS...: feed INPUT (printf format) to duet chat --plain
plain() {
    input=$1; shift
    printf "$input" | "$DUET" chat --plain "$@" >"$tmp/out" 2>"$tmp/err"
    echo $? >"$tmp/rc"
}

# Without a model: options are checked first.
plain '' --temp 9
check "--temp 9 exits 2" rc_is 2
check "... saying why" err_has "--temp: '9' is not a number in 0..5"
plain '' --frobnicate
check "an unknown option exits 2" rc_is 2
plain '' -m "$tmp/missing.gguf"
check "a missing model exits 1" rc_is 1
check "... naming it" err_has "$tmp/missing.gguf"
plain '' --help
check "--help exits 0" rc_is 0
check "... and shows the options" sh -c "grep -qF -- '--plain' '$tmp/out' && grep -qF -- '--temp X' '$tmp/out'"

if [ ! -r "$smol" ]; then
    if [ "${DUET_REQUIRE_MODELS:-0}" = 1 ]; then notok "model $smol present (./setup.sh fetch)"; else
        n=$((n + 1)); echo "ok $n # SKIP $smol not fetched (./setup.sh fetch)"; fi
    echo "1..$n"; [ "$bad" -eq 0 ]; exit
fi
common="-m $smol --temp 0 -n 24 --no-autosave"

# 1. One question: the same text as `duet run --greedy`.
q1='What is the capital of France?'
plain "$q1\n" $common
check "one question, end of input: exit 0" rc_is 0
"$DUET" run -m "$smol" -p "$q1" --greedy -n 24 >"$tmp/run_out" 2>/dev/null
check "the answer equals duet run --greedy's for the same prompt" cmp -s "$tmp/out" "$tmp/run_out"
check "... and is not empty" test -s "$tmp/out"

# 2. A conversation.
script="$q1\n/temp 0\nAnd what about Germany?\n/frob\n/temp 7\n/think fold\n/r1 on\nHello\n/r1 off\n/stats\n"
script="$script/template summarise\nThe sky is blue. Grass is green.\n/template none\n/math on\nWhat is 2+2?\n"
script="$script/save $tmp/conv.json\n/export $tmp/conv\n/quit\nnever sent\n"
plain "$script" $common
cp "$tmp/out" "$tmp/conv_out"
check "a conversation: exit 0" rc_is 0
check "/temp says what it set" out_has "temperature 0"
check "an unknown command is reported on stderr" err_has "duet: unknown command /frob (try /help)"
check "a bad value is reported with the range" err_has "/temp: '7' is not a number in 0..5"
check "/think fold" out_has "thinking: fold"
check "/r1 on sets R1's sampling" out_has "R1 conventions on (temperature 0,"
check "under r1 and fold the thinking is folded" out_has "[thinking: "
check "/stats shows speed" sh -c "grep -q 'tokens/s' '$tmp/out' && grep -q 'first token' '$tmp/out'"
check "/template prints the template" out_has "template summarise: "
check "/math on" out_has "math on"
check "/math reports the \\boxed{} answer" sh -c "grep -q '^answer: ' '$tmp/out'"
check "/save" out_has "saved $tmp/conv.json"
check "/export adds .md" out_has "exported $tmp/conv.md"
check "the saved file is a duet conversation" grep -qF '"duet_conversation": 1' "$tmp/conv.json"
check "... with every question" sh -c "[ \$(grep -c '\"role\": \"user\"' '$tmp/conv.json') = 5 ]"
check "... and every answer" sh -c "[ \$(grep -c '\"role\": \"assistant\"' '$tmp/conv.json') = 5 ]"
check "... the template's prefix went into the message" grep -qF 'Summarise the following text.' "$tmp/conv.json"
check "... /math appended the R1 instruction" grep -qF 'put your final answer within \\boxed{}' "$tmp/conv.json"
check "... the answers carry their statistics" grep -qF '"decode_tps"' "$tmp/conv.json"
check "nothing after /quit is read" sh -c "! grep -qF 'never sent' '$tmp/conv.json'"
check "the Markdown export has the questions" sh -c "grep -qF '## Question 5' '$tmp/conv.md' && grep -qF '> What is the capital of France?' '$tmp/conv.md'"

# 3. Greedy is repeatable: the same session prints the same text (timings aside).
plain "$script" $common
grep -v 'tokens/s' "$tmp/out" >"$tmp/again"
grep -v 'tokens/s' "$tmp/conv_out" >"$tmp/first"
check "the same greedy session prints the same text" cmp -s "$tmp/again" "$tmp/first"

# 4. --resume continues a saved conversation (the model sees the earlier turns).
plain "/stats\nAnd Italy?\n/save $tmp/resumed.json\n" $common "--resume=$tmp/conv.json"
check "--resume=FILE loads it" out_has "loaded $tmp/conv.json: 10 messages"
check "... and continues it" sh -c "[ \$(grep -c '\"role\": \"user\"' '$tmp/resumed.json') = 6 ]"
plain "/load $tmp/nonexistent.json\n/load $tmp/conv.md\nHi\n" $common
check "/load of a missing file is reported" err_has "$tmp/nonexistent.json"
check "/load of a non-conversation says why" err_has "conv.md: not valid JSON"
check "... and the session goes on" rc_is 0

# 5. Ctrl-C stops a long answer, which stays (marked) and the session goes on.
mkfifo "$tmp/in"
rm -f "$tmp/out"
# (the output is redirected first: opening the fifo blocks until a writer comes)
"$DUET" chat --plain -m "$smol" --temp 0 -n 600 --no-autosave >"$tmp/out" 2>"$tmp/err" <"$tmp/in" &
pid=$!
exec 3>"$tmp/in"
echo "Write a very long story about a dragon, with many chapters." >&3
i=0
while [ ! -s "$tmp/out" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT "$pid"
printf '/save %s\n/quit\n' "$tmp/stopped.json" >&3
exec 3>&-
wait "$pid"
echo $? >"$tmp/rc"
check "Ctrl-C during an answer: the session exits normally afterwards" rc_is 0
check "... the answer is marked as stopped" out_has "[stopped]"
check "... and kept, flagged, in the conversation" grep -qF '"stopped": true' "$tmp/stopped.json"
check "... with the reason in its statistics" grep -qF '"stop": "cancelled"' "$tmp/stopped.json"

# 6. Autosave (on by default) and --resume without a file takes the latest.
plain "$q1\n" -m "$smol" --temp 0 -n 8
check "autosave writes a conversation under \$XDG_DATA_HOME/duet/chats" sh -c "ls '$tmp/data/duet/chats/'*.json"
plain "/stats\n" -m "$smol" --temp 0 -n 8 --resume
check "--resume takes the latest autosave" out_has "messages"

# 7. Two models answer one after the other, labelled; /math compares their answers.
plain "/math on\nWhat is 1+1?\n/save $tmp/two.json\n" -m "$smol" -m "$smol" --temp 0 -n 8 --no-autosave
check "two models: both answer, labelled" sh -c "grep -q '^── 1: ' '$tmp/out' && grep -q '^── 2: ' '$tmp/out'"
check "... the saved conversation has two panes with the question numbered alike" \
    sh -c "[ \$(grep -c '\"question\": 1' '$tmp/two.json') = 4 ]"
check "... the same greedy model gives the same text in both" sh -c \
    "awk '/^── 1: /{p=1;next} /^── 2: /{p=2;next} /^answer/{p=0} p==1{a=a \$0} p==2{b=b \$0} END{exit !(a==b && a!=\"\")}' '$tmp/out'"

# 7. duet.ini: a bad line is reported with its line number; the rest applies.
mkdir -p "$tmp/config/duet"
printf '[general]\nthink = loud\n[model:SmolLM2*]\ntemperature = 0\nmax_tokens = 4\n' >"$tmp/config/duet/duet.ini"
printf '/stats\nHi\n/stats\n' | "$DUET" chat --plain -m "$smol" --no-autosave >"$tmp/out" 2>"$tmp/err"
check "a bad line in duet.ini is reported with file:line" err_has "duet.ini:2: think: 'loud' is not show, hide or fold"
check "... and the profile for the model applies (max_tokens 4, temperature 0)" sh -c "grep -q ' 4 tokens at' '$tmp/out' && grep -q 'temperature 0,' '$tmp/out'"

echo "1..$n"
[ "$bad" -eq 0 ]
