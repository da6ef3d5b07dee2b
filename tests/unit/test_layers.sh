#!/bin/sh
# test_layers.sh — the layer rules of DESIGN.md §1, checked on the sources:
# curses only under ui/, CUDA headers only under cuda/, libedit and iniparser
# never in infer/ or cuda/, ui/ never reaches into the backend, and cuda/
# exports exactly one symbol. TAP output.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

inc() { # PATTERN DIRS... : files (outside the allowed dirs) that include PATTERN
    pat=$1; shift
    for d in "$@"; do
        [ -d "$src/$d" ] || continue
        grep -rlE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pat)" "$src/$d" \
            --include='*.c' --include='*.h' --include='*.cu' --include='*.cuh' 2>/dev/null
    done
}

hits=$(inc 'n?curses(w)?/?[a-z]*\.h|ncursesw/' app infer cuda)
[ -z "$hits" ] && ok "curses appears only under ui/" || notok "curses appears only under ui/" $hits

hits=$(inc 'cuda[a-zA-Z_]*\.h|cublas[a-zA-Z_]*\.h|cuda_bf16\.h|cuda_fp16\.h' app ui infer)
[ -z "$hits" ] && ok "CUDA headers appear only under cuda/" || notok "CUDA headers appear only under cuda/" $hits

hits=$(inc 'histedit\.h|editline/|iniparser|dictionary\.h' infer cuda)
[ -z "$hits" ] && ok "infer/ and cuda/ use neither libedit nor iniparser" || notok "infer/ and cuda/ use neither libedit nor iniparser" $hits

hits=$(grep -rlE '#[[:space:]]*include[[:space:]]*"infer/(backend|model_impl|tokenizer_impl)\.h"' "$src/ui" 2>/dev/null)
[ -z "$hits" ] && ok "ui/ does not include backend internals" || notok "ui/ does not include backend internals" $hits

hits=$(grep -rlE '#[[:space:]]*include[[:space:]]*"(app|ui)/' "$src/infer" "$src/cuda" 2>/dev/null)
[ -z "$hits" ] && ok "infer/ and cuda/ do not depend on app/ or ui/" || notok "infer/ and cuda/ do not depend on app/ or ui/" $hits

if [ -f "$build/cuda/libduetcuda.a" ]; then
    # Defined, externally visible text/data symbols of our own (not CUDA's generated stubs).
    syms=$(nm -g --defined-only "$build/cuda/libduetcuda.a" 2>/dev/null | awk 'NF == 3 {print $3}' \
        | grep -v -E '^(__cuda|__nv|__fatbinwrap|_Z.*__cuda|__sti____cudaRegisterAll)' | sort -u)
    [ "$syms" = "cuda_backend_get" ] && ok "cuda/ exports exactly cuda_backend_get" \
        || notok "cuda/ exports exactly cuda_backend_get" "exported: $(echo $syms)"
else
    n=$((n + 1)); echo "ok $n # SKIP cuda/ not built (no CUDA toolkit or --without-cuda)"
fi

echo "1..$n"
[ "$bad" -eq 0 ]
