#!/bin/bash
# run.sh — duet's GPU checks, one prepared script for a lent GPU machine
# (DESIGN.md §8; tests/device/README.md says how to call it). Builds or takes
# the prebuilt tree, checks the CUDA backend against the CPU backend and
# against transformers, and benchmarks full-size random-weight models; one
# summary line per check, then "N passed, N failed, N skipped".
#
# Every step has a time limit and the whole run a budget (DEVICE_BUDGET_S,
# default 510 s: under 9 minutes); a failed step never stops the others. On
# a machine without a GPU (a dry run) everything that needs none still runs
# and the GPU checks say "skipped: no GPU".
#
# Usage: tests/device/run.sh          (from the repository root)
# Env:   OUT               where summary.txt, bench.json, details.jsonl, env.txt,
#                          run.log go (the device tool sets it; default build-device-out)
#        DEVICE_BUDGET_S   the whole run's budget in seconds (510)
#        DEVICE_WORK       scratch for generated models (default /dev/shm/duet-device when
#                          /dev/shm has 16 GB free, else /tmp/duet-device; up to ~5 GB at once)
#        DEVICE_BIG=0      skip the full-size models (mkmodel and bench)
#        DEVICE_KEEP=1     keep the generated models
set -u
start=$(date +%s)
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
export top_srcdir="$root" # where tests find tests/golden/fixtures
OUT=${OUT:-$root/build-device-out}
BUDGET=${DEVICE_BUDGET_S:-510}
# Generated models go to RAM when /dev/shm has room for the largest (about 5 GB) and its neighbours.
shm_free_gb=$(df -BG --output=avail /dev/shm 2>/dev/null | tail -1 | tr -dc 0-9)
if [ "${shm_free_gb:-0}" -ge 16 ]; then WORK=${DEVICE_WORK:-/dev/shm/duet-device}; else WORK=${DEVICE_WORK:-/tmp/duet-device}; fi
BIG=${DEVICE_BIG:-1}
SCR=$WORK/.scratch # step outputs: $OUT keeps only what must come back (at most 8 files)
mkdir -p "$OUT" "$WORK" "$SCR"
summary=$OUT/summary.txt details=$OUT/details.jsonl log=$OUT/run.log benchjson=$OUT/bench.json
: >"$summary"; : >"$details"; : >"$log"
n_pass=0 n_fail=0 n_skip=0

elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((BUDGET - $(elapsed))); }

# record STATUS NAME DETAIL: one summary line.
record() {
    local line
    line=$(printf '%-5s %-44s %s' "$1" "$2" "$3")
    echo "$line" | tee -a "$summary"
    case $1 in PASS) n_pass=$((n_pass + 1)) ;; FAIL) n_fail=$((n_fail + 1)) ;; SKIP) n_skip=$((n_skip + 1)) ;; esac
}

# run_step LIMIT NAME CMD...: runs CMD with a timeout inside the budget; output to $log and $SCR/step.out.
# Returns CMD's status, 124 on timeout, 125 when the budget has no room for it.
run_step() {
    local limit=$1 name=$2 room rc
    shift 2
    room=$(($(left) - 15))
    if [ "$room" -lt 5 ]; then
        return 125
    fi
    [ "$limit" -gt "$room" ] && limit=$room
    {
        echo
        echo "=== [$(elapsed) s] $name (limit $limit s): $*"
    } >>"$log"
    timeout -k 5 "$limit" "$@" >"$SCR/step.out" 2>&1
    rc=$?
    cat "$SCR/step.out" >>"$log"
    echo "=== rc $rc" >>"$log"
    grep '^{' "$SCR/step.out" >>"$details" || true
    return $rc
}

# why RC: a short reason for a failed step.
why() {
    case $1 in
    124 | 137) echo "timed out" ;;
    125) echo "no time left in the budget" ;;
    *) grep -m1 -E 'ERROR|error|FAIL|not ok' "$SCR/step.out" | cut -c1-150 || echo "exit $1" ;;
    esac
}

# json_get FILE KEY: a number from a one-line JSON object (the first occurrence; nested "mean" allowed).
json_get() {
    grep -o "\"$2\": *{\?\"\?[a-z]*\"\?:\? *[-0-9.e+]*" "$1" | head -1 | grep -o '[-0-9.e+]*$'
}

# --- a. the environment ----------------------------------------------------------------
{
    echo "date: $(date -u)"; uname -a; echo "cores: $(nproc)"; free -g; df -h "$WORK" .
    echo; nvidia-smi 2>&1; echo; nvcc --version 2>&1 || /usr/local/cuda/bin/nvcc --version 2>&1
    echo; ldd --version 2>&1 | head -1
    python3 -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__)' 2>&1
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt" >>"$log"
have_gpu=0
gpu_name=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu_name" ] && have_gpu=1
nvcc_v=$( (nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version 2>/dev/null) | grep -o 'release [0-9.]*' | head -1)
record INFO "environment" "GPU: ${gpu_name:-none}; nvcc ${nvcc_v:-none}; $(nproc) cores; $(free -g | awk '/Mem:/ {print $2}') GiB; glibc $(ldd --version | head -1 | awk '{print $NF}')"
NOGPU="skipped: no GPU"

# --- b. the build: the carried prebuilt tree, else build.sh -------------------------------
BIN=""
lib_path="$root/build-device/lib"
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 \
    /usr/local/nvidia/lib64 $(python3 -c 'import nvidia, os; p = list(nvidia.__path__)[0]; print(p + "/cu13/lib", p + "/cublas/lib", p + "/cuda_runtime/lib")' 2>/dev/null); do
    [ -d "$d" ] && lib_path="$lib_path:$d"
done
export LD_LIBRARY_PATH="$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
runs() { [ -x "$1" ] && "$1" "${@:2}" >/dev/null 2>&1; }
chmod +x build-device/bin/* 2>/dev/null # in case the copy lost the modes
if [ -f build-device/MANIFEST ] && runs build-device/bin/devcheck bytes tests/golden/fixtures/logits/tiny-llama-f32.gguf; then
    BIN=$root/build-device/bin
    record PASS "build (prebuilt tree)" "$(grep -E '^(revision|glibc)' build-device/MANIFEST | tr -s ' ' | tr '\n' ';' | cut -c1-150)"
else
    if [ -f build-device/MANIFEST ]; then
        echo "prebuilt tree does not run here:" >>"$log"
        ldd build-device/bin/devcheck >>"$log" 2>&1
        build-device/bin/devcheck bytes tests/golden/fixtures/logits/tiny-llama-f32.gguf >>"$log" 2>&1
    fi
    run_step 300 "build.sh" bash tests/device/build.sh build-device-local
    rc=$?
    if [ $rc = 0 ]; then
        BIN=$root/build-device-local/bin
        record PASS "build (build.sh here)" "$(tail -1 "$SCR/step.out" | cut -c1-150)"
    else
        record FAIL "build (build.sh here)" "$(grep -m1 -E 'MISSING|FAILED|failed' "$SCR/step.out" | cut -c1-150)"
        # The CPU-side checks still run on a CPU-only build.
        if NVCC=/nonexistent run_step 200 "build.sh (CPU only)" bash tests/device/build.sh build-device-cpu; then
            BIN=$root/build-device-cpu/bin
            record INFO "build (CPU only, for CPU-side checks)" "$(tail -1 "$SCR/step.out" | cut -c1-120)"
        fi
    fi
fi
DUET=${BIN:+$BIN/duet}
DEVCHECK=${BIN:+$BIN/devcheck}
[ -n "$DUET" ] && [ ! -x "$DUET" ] && DUET=""
if [ -z "$BIN" ]; then
    record FAIL "everything else" "skipped: nothing was built"
    echo "$n_pass passed, $n_fail failed, $n_skip skipped" | tee -a "$summary"
    exit 1
fi
if [ $have_gpu = 1 ] && ! "$DEVCHECK" compare tests/golden/fixtures/logits/tiny-llama-f32.gguf@cuda \
    tests/golden/fixtures/logits/tiny-llama-f32.gguf@cpu -n 2 --tol 1 >/dev/null 2>&1; then
    gpu_usable=0
    record FAIL "CUDA backend usable" "$("$DEVCHECK" compare tests/golden/fixtures/logits/tiny-llama-f32.gguf@cuda \
        tests/golden/fixtures/logits/tiny-llama-f32.gguf@cpu -n 2 2>&1 | grep -m1 ERROR | cut -c1-150)"
    NOGPU="skipped: the CUDA backend cannot run here"
else
    gpu_usable=$have_gpu
fi

# --- c1. the CUDA engineer's per-operation and forward tests (TAP) ------------------------
if [ -x "$BIN/test_cuda_runtime" ]; then
    run_step 150 "test_cuda_runtime" "$BIN/test_cuda_runtime"
    rc=$?
    cp "$SCR/step.out" "$OUT/test_cuda_runtime.tap"
    n_ok=$(grep -c '^ok' "$SCR/step.out") n_bad=$(grep -c '^not ok' "$SCR/step.out")
    n_sk=$(grep -c '^ok.*# SKIP' "$SCR/step.out")
    if grep -q '^1\.\.0 # SKIP' "$SCR/step.out"; then
        record SKIP "test_cuda_runtime (TAP)" "$(grep -m1 '^1\.\.0 # SKIP' "$SCR/step.out" | cut -c12-130)"
    elif [ $rc = 0 ] && [ "$n_bad" = 0 ] && [ "$n_ok" -gt 0 ]; then
        if [ "$n_ok" = "$n_sk" ]; then
            record SKIP "test_cuda_runtime (TAP)" "all $n_sk points skipped$([ $have_gpu = 0 ] && echo ": no GPU")"
        else
            record PASS "test_cuda_runtime (TAP)" "$((n_ok - n_sk)) ok, $n_sk skipped"
        fi
    elif [ $rc = 77 ]; then
        record SKIP "test_cuda_runtime (TAP)" "exit 77: $(head -1 "$SCR/step.out" | cut -c1-100)"
    else
        record FAIL "test_cuda_runtime (TAP)" "$n_bad not ok of $((n_ok + n_bad)); $(why $rc)"
    fi
else
    record SKIP "test_cuda_runtime (TAP)" "not built (tests/unit/test_cuda_runtime absent from this tree)"
fi

# --- c2. measured device bandwidth ---------------------------------------------------------
bw_gbs=""
if [ $have_gpu = 1 ] && [ -x "$BIN/bwprobe" ]; then
    if run_step 60 "bwprobe" "$BIN/bwprobe" 2048; then
        bw_gbs=$(grep '"gbs_median"' "$SCR/step.out" | grep -o '"gbs_median": [0-9.]*' | grep -o '[0-9.]*$')
        record PASS "device bandwidth (D2D copy, 2 GiB)" "$(head -1 "$SCR/step.out" | cut -c1-120)"
    else
        record FAIL "device bandwidth (D2D copy, 2 GiB)" "$(why $?)"
    fi
else
    record SKIP "device bandwidth (D2D copy, 2 GiB)" "$([ $have_gpu = 0 ] && echo "$NOGPU" || echo "bwprobe not built")"
fi

# --- c3. tiny random-weight models in every weight format ----------------------------------
gguf_types="f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k"
st_types="f32 bf16"
tiny_models=()
if [ -n "$DUET" ]; then
    t0=$(date +%s)
    mk() { "$DUET" mkmodel "$@"; }
    ok=0 bad=0
    for c in tiny-llama tiny-qwen2; do
        for t in $gguf_types; do
            m=$WORK/$c-$t.gguf
            if mk --config "$c" --quant "$t" --seed 11 --out "$m" >>"$log" 2>&1; then tiny_models+=("$m"); ok=$((ok + 1)); else bad=$((bad + 1)); fi
        done
        for t in $st_types; do
            m=$WORK/$c-$t-st
            if mk --config "$c" --quant "$t" --seed 11 --out "$m" >>"$log" 2>&1; then tiny_models+=("$m"); ok=$((ok + 1)); else bad=$((bad + 1)); fi
        done
    done
    if [ $bad = 0 ]; then
        record PASS "mkmodel tiny models" "$ok models (2 configs x ${gguf_types// /,} GGUF, ${st_types// /,} safetensors) in $(($(date +%s) - t0)) s"
    else
        record FAIL "mkmodel tiny models" "$bad of $((ok + bad)) failed (see run.log)"
    fi
else
    record SKIP "mkmodel tiny models" "duet not built"
fi

# Tolerance of CUDA vs CPU by weight type: the CPU backend is the reference; the
# CUDA one may use tensor cores (bf16/tf32) and quantised activations.
tol_for() {
    case $1 in
    *-f32.gguf | *-f32-st) echo 5e-3 ;;
    *-f16.gguf | *-bf16.gguf | *-bf16-st) echo 2e-2 ;;
    *) echo 4e-2 ;;
    esac
}

# --- c4. whole forward passes, CUDA against CPU -------------------------------------------
n_timeouts=0
for m in "${tiny_models[@]}"; do
    name="forward cuda=cpu $(basename "$m")"
    if [ $gpu_usable = 0 ]; then record SKIP "$name" "$NOGPU"; continue; fi
    # A backend that hangs must not eat the benchmarks' time.
    if [ $n_timeouts -ge 2 ]; then record SKIP "$name" "skipped: two earlier comparisons timed out"; continue; fi
    run_step 40 "$name" "$DEVCHECK" compare "$m@cuda" "$m@cpu" -n 24 --tol "$(tol_for "$m")"
    rc=$?
    [ $rc -ge 124 ] && n_timeouts=$((n_timeouts + 1))
    case $rc in
    0) record PASS "$name" "$(head -1 "$SCR/step.out" | grep -o 'worst rel.*' | cut -c1-110)" ;;
    *) record FAIL "$name" "$(head -1 "$SCR/step.out" | grep -o 'worst rel.*\|ERROR.*' | cut -c1-110)$([ $rc -ge 124 ] && why $rc)" ;;
    esac
done

# --- c5. GGUF (llama.cpp-permuted Q/K) and safetensors of one seed: the same function -----
for c in tiny-llama tiny-qwen2; do
    g=$WORK/$c-f32.gguf s=$WORK/$c-f32-st
    for dev in cuda cpu; do
        name="gguf=safetensors $c on $dev"
        if [ ! -e "$g" ] || [ ! -e "$s" ]; then record SKIP "$name" "models missing"; continue; fi
        if [ $dev = cuda ] && [ $gpu_usable = 0 ]; then record SKIP "$name" "$NOGPU"; continue; fi
        if run_step 40 "$name" "$DEVCHECK" compare "$g@$dev" "$s@$dev" -n 24 --tol 2e-3; then
            record PASS "$name" "$(head -1 "$SCR/step.out" | grep -o 'worst rel.*' | cut -c1-110)"
        else
            record FAIL "$name" "$(head -1 "$SCR/step.out" | grep -o 'worst rel.*\|ERROR.*' | cut -c1-110)"
        fi
    done
done

# --- c6. greedy text, 64 tokens, CUDA against CPU -------------------------------------------
for m in tests/golden/fixtures/hf/qwen2-f32 tests/golden/fixtures/hf/llama-bf16 \
    tests/golden/fixtures/logits/tiny-qwen2-f16.gguf "$WORK/tiny-qwen2-q8_0.gguf" "$WORK/tiny-llama-q4_k.gguf" \
    "$WORK/tiny-llama-bf16-st"; do
    name="greedy 64 cuda=cpu $(basename "$m")"
    if [ $gpu_usable = 0 ]; then record SKIP "$name" "$NOGPU"; continue; fi
    if [ ! -e "$m" ]; then record SKIP "$name" "model missing"; continue; fi
    if run_step 60 "$name" "$DEVCHECK" greedy "$m@cuda" "$m@cpu" -n 64 -p 8; then
        record PASS "$name" "$(head -1 "$SCR/step.out" | grep -o '[0-9]* identical.*' | cut -c1-110)"
    else
        record FAIL "$name" "$(head -1 "$SCR/step.out" | grep -o '[0-9]* identical.*\|ERROR.*' | cut -c1-110)"
    fi
done

# --- c7. logits against transformers (PyTorch on the GPU) ------------------------------------
hf_models="tests/golden/fixtures/hf/qwen2-f32 tests/golden/fixtures/hf/llama-bf16 tests/golden/fixtures/hf/qwen2-f16-sharded"
for m in tiny-qwen2-f32-st tiny-qwen2-bf16-st tiny-llama-f32-st; do [ -e "$WORK/$m" ] && hf_models="$hf_models $WORK/$m"; done
PY=python3
python3 -c 'import torch, transformers, numpy' 2>/dev/null || { [ -x /tmp/venv/bin/python ] && PY=/tmp/venv/bin/python; }
hf_check() { # DEVICE LABEL
    local dev=$1 label=$2 rc line
    if [ -z "$DUET" ]; then record SKIP "transformers=duet ($label)" "duet not built"; return; fi
    HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 \
        run_step 150 "hf_compare $label" "$PY" tests/device/hf_compare.py --duet "$DUET" --device "$dev" \
        --torch-device "$dev" --tol "$([ "$dev" = cuda ] && echo 2e-2 || echo 2e-3)" $hf_models
    rc=$?
    if grep -q '^PASS\|^FAIL' "$SCR/step.out"; then
        grep '^PASS\|^FAIL' "$SCR/step.out" | while read -r st model rest; do
            echo "$st|${model%:}|$(echo "$rest" | grep -o 'worst rel.*' | cut -c1-100)"
        done >"$SCR/hf.lines"
        while IFS='|' read -r st model rest; do record "$st" "transformers=duet $model ($label)" "$rest"; done <"$SCR/hf.lines"
        rm -f "$SCR/hf.lines"
    else
        record FAIL "transformers=duet ($label)" "$(why $rc)"
    fi
}
if [ $gpu_usable = 1 ]; then
    hf_check cuda "cuda"
else
    record SKIP "transformers=duet on the GPU" "$NOGPU"
    [ $have_gpu = 0 ] && hf_check cpu "cpu rehearsal"
fi

# --- c8. full-size random-weight models: generate, check, benchmark -----------------------------
big=(
    "r1-distill-qwen-1.5b bf16 safetensors $WORK/r1-1.5b-bf16"
    "r1-distill-qwen-1.5b q8_0 gguf $WORK/r1-1.5b-q8_0.gguf"
    "llama-3-8b-instruct q4_0 gguf $WORK/llama3-8b-q4_0.gguf"
    "llama-3-8b-instruct q4_k gguf $WORK/llama3-8b-q4_k.gguf"
)
echo "[" >"$benchjson"
first_bench=1
bench_args="-p 512 -n 128 -r 3"
for spec in "${big[@]}"; do
    set -- $spec
    cfg=$1 q=$2 fmt=$3 m=$4 label="$1 ${2^^} $3"
    if [ "$BIG" = 0 ]; then record SKIP "mkmodel $label" "DEVICE_BIG=0"; continue; fi
    if [ -z "$DUET" ]; then record SKIP "mkmodel $label" "duet not built"; continue; fi
    # The last model only when time is plentiful: the three DESIGN.md asks for come first.
    if [ "$q" = q4_k ] && [ "$(left)" -lt 150 ]; then record SKIP "mkmodel + bench $label" "budget kept for the summary"; continue; fi
    if [ $have_gpu = 0 ] && [ "$q" = q4_k ]; then record SKIP "mkmodel $label" "dry run: one 8B model is enough"; continue; fi
    if run_step 150 "mkmodel $label" "$DUET" mkmodel --config "$cfg" --quant "$q" --format "$fmt" --seed 3 --out "$m"; then
        record PASS "mkmodel $label" "$(grep -o '[0-9.]* [GM]iB in [0-9.]* s ([0-9]* MB/s)' "$SCR/step.out")"
    else
        record FAIL "mkmodel $label" "$(why $?)"
        continue
    fi
    "$DEVCHECK" bytes "$m" >"$SCR/bytes.out" 2>&1
    bpt=$(json_get "$SCR/bytes.out" bytes_per_token)
    name="bench cuda $label"
    if [ $gpu_usable = 0 ]; then
        record SKIP "$name" "$NOGPU ($(( ${bpt:-0} / 1000000 )) MB read per token)"
        [ "${DEVICE_KEEP:-0}" = 1 ] || rm -rf "$m"
        continue
    fi
    base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1)
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$SCR/mem.trace" 2>/dev/null &
    smi=$!
    if [ -x "$DUET" ]; then
        run_step 120 "$name" "$DUET" bench -m "$m" --device cuda $bench_args --json
    else
        run_step 120 "$name" "$DEVCHECK" bench "$m@cuda" $bench_args
    fi
    rc=$?
    # A slow backend: smaller benchmarks for the models still to come.
    [ $rc -ge 124 ] && bench_args="-p 128 -n 32 -r 1"
    kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null
    peak=$(sort -n "$SCR/mem.trace" | tail -1)
    peak_mib=$(( ${peak:-0} - ${base:-0} ))
    line=$(grep '^{' "$SCR/step.out" | tail -1)
    if [ $rc = 0 ] && [ -n "$line" ]; then
        echo "$line" >"$SCR/bench.one"
        ttft=$(json_get "$SCR/bench.one" ttft_ms) pp=$(json_get "$SCR/bench.one" prefill_tps)
        tg=$(json_get "$SCR/bench.one" decode_tps) p50=$(json_get "$SCR/bench.one" itl_p50_ms)
        p99=$(json_get "$SCR/bench.one" itl_p99_ms)
        pct=$(awk -v tg="$tg" -v b="${bpt:-0}" -v bw="${bw_gbs:-0}" 'BEGIN { if (bw > 0) printf "%.1f", 100 * tg * b / (bw * 1e9); else print "?" }')
        record PASS "$name" "$(printf 'TTFT %.1f ms, prefill %.0f t/s, decode %.1f t/s, ITL p50 %.2f p99 %.2f ms, peak dev mem %d MiB, %s%% of %s GB/s' \
            "$ttft" "$pp" "$tg" "$p50" "$p99" "$peak_mib" "$pct" "${bw_gbs:-?}")$([ "$bench_args" = "-p 512 -n 128 -r 3" ] || echo " ($bench_args)")"
        [ $first_bench = 1 ] || echo "," >>"$benchjson"
        first_bench=0
        printf '{"config": "%s", "quant": "%s", "format": "%s", "bytes_per_token": %s, "device_bw_gbs": %s, "decode_bw_pct": "%s", "peak_device_mib": %s, "bench": %s}\n' \
            "$cfg" "$q" "$fmt" "${bpt:-null}" "${bw_gbs:-null}" "$pct" "$peak_mib" "$line" >>"$benchjson"
    else
        record FAIL "$name" "$(why $rc)"
    fi
    # One full-size forward against the CPU (the reference) on the model DESIGN.md names first.
    if [ "$cfg" = r1-distill-qwen-1.5b ] && [ "$q" = q8_0 ]; then
        if run_step 120 "forward cuda=cpu full-size r1 q8_0" "$DEVCHECK" compare "$m@cuda" "$m@cpu" -n 8 --tol 4e-2; then
            record PASS "forward cuda=cpu $label" "$(head -1 "$SCR/step.out" | grep -o 'worst rel.*' | cut -c1-110)"
        else
            record FAIL "forward cuda=cpu $label" "$(head -1 "$SCR/step.out" | grep -o 'worst rel.*\|ERROR.*' | cut -c1-100) $(why $?)"
        fi
    fi
    [ "${DEVICE_KEEP:-0}" = 1 ] || rm -rf "$m"
done
echo "]" >>"$benchjson"

[ "${DEVICE_KEEP:-0}" = 1 ] || rm -rf "$WORK"
echo "run time $(elapsed) s of a $BUDGET s budget" | tee -a "$summary"
echo "$n_pass passed, $n_fail failed, $n_skip skipped" | tee -a "$summary"
[ $n_fail = 0 ]
