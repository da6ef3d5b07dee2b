#!/bin/sh
# test_run.sh — `duet run`, `duet logits` and `duet bench` end to end: exit
# statuses, option errors, device selection, stdin prompts, determinism,
# stop strings, the context limit, JSON output, and Ctrl-C (exit 130 with
# stats). Uses the tiny random model committed under tests/golden/fixtures
# (always there) and, for Ctrl-C, the real SmolLM2 when it is fetched. TAP.
set -u
DUET=${DUET:-./duet}
top=${top_srcdir:-.}
tiny="$top/tests/golden/fixtures/hf/qwen2-f32"
models=${DUET_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/duet/models}
smol="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
check() { # NAME COMMAND... : passes when the command succeeds
	name=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else notok "$name"; fi
}
run_duet() { "$DUET" "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc_is() { [ "$(cat "$tmp/rc")" = "$1" ]; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
# json_ok FILE PYTHON-EXPR: the last line of FILE parses as JSON and EXPR (over j) holds
json_ok() {
	python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
# json_file_ok FILE PYTHON-EXPR: the whole of FILE is one JSON value and EXPR holds
json_file_ok() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

run_duet run -m "$tiny"
check "run without -p exits 2" rc_is 2
check "... and says -p is needed" err_has "-p TEXT is required"
run_duet run -m "$tiny" -p hi --temp hot
check "a bad --temp exits 2" rc_is 2
run_duet run -m "$tiny" -p hi --device tpu
check "--device tpu exits 1" rc_is 1
check "... naming the device" err_has "unknown device 'tpu'"
run_duet run -m "$tiny" -p hi --device cuda -n 2
if rc_is 0; then
	ok "--device cuda runs (a CUDA backend that can run models)"
else
	check "--device cuda exits 1 where CUDA cannot run models" rc_is 1
	check "... with a message about CUDA" err_has "CUDA"
fi

run_duet run -m "$tiny" --raw -p "Hello there" --greedy -n 12
check "run --raw --greedy exits 0" rc_is 0
cp "$tmp/out" "$tmp/greedy1"
run_duet run -m "$tiny" --raw -p "Hello there" --greedy -n 12
check "greedy output is the same twice" cmp -s "$tmp/out" "$tmp/greedy1"
printf 'Hello there' | "$DUET" run -m "$tiny" --raw -p - --greedy -n 12 >"$tmp/out" 2>"$tmp/err"
check "-p - reads the prompt from stdin" cmp -s "$tmp/out" "$tmp/greedy1"
run_duet run -m "$tiny" --raw -p "Hello there" --temp 1 --seed 7 -n 12
cp "$tmp/out" "$tmp/seed1"
run_duet run -m "$tiny" --raw -p "Hello there" --temp 1 --seed 7 -n 12
check "the same seed gives the same text" cmp -s "$tmp/out" "$tmp/seed1"

run_duet run -m "$tiny" --raw -p "Hello there" --greedy -n 12 --stats=json
check "--stats=json: one JSON object on stderr" json_ok "$tmp/err" 'j["gen_tokens"] == 12 and j["stop"] == "max-tokens" and j["prompt_tokens"] > 0 and j["decode_tps"] > 0'
run_duet run -m "$tiny" --raw -p "Hello there" --greedy -n 12 --stats
check "--stats: one line on stderr" sh -c "grep -c '^stats: prompt' '$tmp/err' | grep -qx 1"

# A stop string: three characters from the middle of a greedy text (the
# tiny random model writes byte soup, so this needs SmolLM2).
if [ -r "$smol" ]; then
	"$DUET" run -m "$smol" --raw -p "The capital of France is" --greedy -n 16 >"$tmp/smol1" 2>/dev/null
	stop=$(python3 -c 'import sys; t=open(sys.argv[1], encoding="utf-8", errors="replace").read(); s=[t[i:i+3] for i in range(4, len(t)-3) if t[i:i+3].isascii() and t[i:i+3].isprintable()]; print(s[0] if s else "")' "$tmp/smol1")
else
	stop=""
fi
if [ -n "$stop" ]; then
	run_duet run -m "$smol" --raw -p "The capital of France is" --greedy -n 16 --stop "$stop" --stats=json
	check "--stop '$stop' ends with stop-string" json_ok "$tmp/err" 'j["stop"] == "stop-string"'
	check "... printing the text before it, without it" python3 -c 'import sys; a=open(sys.argv[1],"rb").read(); b=open(sys.argv[2],"rb").read(); s=sys.argv[3].encode(); sys.exit(0 if a.rstrip(b"\n") == b[:b.index(s)] else 1)' "$tmp/out" "$tmp/smol1" "$stop"
else
	skip "no SmolLM2 (or no ASCII run in its text) for a stop string"
fi

# --gpu-mem and --quant: checked without a GPU; the CPU runs the file's own types and says so.
run_duet run -m "$tiny" -p hi --gpu-mem 12X
check "--gpu-mem 12X exits 2" rc_is 2
check "... naming the value" err_has "--gpu-mem '12X' is not a size"
run_duet run -m "$tiny" -p hi --gpu-mem 1.5
check "--gpu-mem 1.5 (a fraction of a byte) exits 2" rc_is 2
run_duet run -m "$tiny" -p hi --quant q3
check "--quant q3 exits 2" rc_is 2
check "... saying what --quant takes" err_has "--quant is q8, q4 or none"
run_duet run -m "$tiny" --raw -p "Hello there" --greedy -n 12 --device cpu --gpu-mem 1.5G --quant q8
check "--quant q8 --gpu-mem 1.5G --device cpu runs" rc_is 0
check "... with the same greedy text" cmp -s "$tmp/out" "$tmp/greedy1"
check "... and a note that --quant is for the GPU" err_has "applies to the GPU only"
run_duet logits -m "$tiny" --raw -p "Hello there" --gpu-mem 0x10
check "logits --gpu-mem 0x10 exits 2" rc_is 2
run_duet logits -m "$tiny" --raw -p "Hello there" --quant q4 --gpu-mem 512M --device cpu --top 1
check "logits --quant q4 --gpu-mem 512M --device cpu exits 0" rc_is 0
run_duet bench -m "$tiny" -p 8 -n 2 -r 1 --quant none --gpu-mem 20g
check "bench --quant none --gpu-mem 20g exits 0" rc_is 0
run_duet bench -m "$tiny" --quant 8
check "bench --quant 8 exits 2" rc_is 2
run_duet chat --plain -m "$tiny" --gpu-mem 12X </dev/null
check "chat --gpu-mem 12X exits 2" rc_is 2
check "... naming the option" err_has "--gpu-mem"
run_duet chat --plain -m "$tiny" --quant q5 </dev/null
check "chat --quant q5 exits 2" rc_is 2

long=$(python3 -c 'print(" ".join("word%d" % i for i in range(200)))')
run_duet run -m "$tiny" --ctx 64 -p "$long"
check "a message larger than the context exits 1" rc_is 1
check "... saying so" err_has "context"

run_duet logits -m "$tiny" --raw -p "Hello there" --top 3 --json
check "logits --json exits 0" rc_is 0
check "... with 3 entries at the last position" json_file_ok "$tmp/out" 'len(j["positions"]) == 1 and len(j["positions"][0]["top"]) == 3 and j["positions"][0]["top"][0]["logit"] >= j["positions"][0]["top"][1]["logit"]'
"$DUET" logits -m "$tiny" --raw -p "Hello there" --top 2 --all-positions --json >"$tmp/out" 2>"$tmp/err"
check "logits --all-positions: one entry per token" python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if len(j["positions"]) == len(j["ids"]) > 1 else 1)' "$tmp/out"
run_duet logits -m "$tiny" --ids 5,6,400000
check "logits --ids with an id past the vocabulary exits non-zero" sh -c "! grep -qx 0 '$tmp/rc'"

run_duet bench -m "$tiny" -p 16 -n 8 -r 2 --json
check "bench --json exits 0" rc_is 0
check "... with 2 runs and the lengths asked for" json_ok "$tmp/out" 'len(j["runs"]) == 2 and j["n_prompt"] == 16 and j["n_gen"] == 8 and j["prefill_tps"]["mean"] > 0 and j["decode_tps"]["mean"] > 0'
check "... and the device bytes (weights + context; host memory on the CPU)" json_ok "$tmp/out" 'j["device_bytes"] >= j["weight_bytes"] > 0 and j["quant_bits"] == 0'
run_duet bench -m "$tiny" -p 2000 -n 8
check "bench past the model's context exits 1" rc_is 1

# Ctrl-C: needs a generation long enough to interrupt.
if [ -r "$smol" ]; then
	"$DUET" run -m "$smol" --raw -p "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12," --greedy -n 4000 --ctx 8192 --stats=json \
		>"$tmp/out" 2>"$tmp/err" &
	pid=$!
	sleep 2
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	echo $? >"$tmp/rc"
	if json_ok "$tmp/err" 'j["stop"] == "eos"'; then
		skip "the model ended its text before Ctrl-C"
	else
		check "Ctrl-C exits 130" rc_is 130
		check "... after printing stats that say cancelled" json_ok "$tmp/err" 'j["stop"] == "cancelled" and j["gen_tokens"] > 0'
	fi
else
	skip "$smol not fetched: Ctrl-C not tried"
fi

# An answer cut short by -n in the middle of a multi-byte character ends at the
# last whole character: the cut is ours, not the model's, so no U+FFFD. Greedy
# SmolLM2 answers this prompt in Chinese, and some of these cuts fall inside a
# character (each CJK character takes two or three byte-level tokens).
if [ -r "$smol" ]; then
	cut_bad=""
	for k in 1 2 3 4 5 6 7 8 9 10 11 12; do
		"$DUET" run -m "$smol" --greedy -n "$k" --device cpu -p "请用中文介绍一下北京。" >"$tmp/cut" 2>/dev/null
		if LC_ALL=C grep -q "$(printf '\357\277\275')" "$tmp/cut"; then cut_bad="$cut_bad $k"; fi
	done
	check "answers cut by -n 1..12 hold no U+FFFD${cut_bad:+ (U+FFFD at -n$cut_bad)}" test -z "$cut_bad"
else
	skip "$smol not fetched: cut answers not tried"
fi

echo "1..$n"
[ "$bad" -eq 0 ]
