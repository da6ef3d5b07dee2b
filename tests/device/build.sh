#!/bin/bash
# build.sh — build duet's core, the CUDA backend and the device-check programs
# WITHOUT autotools, for a GPU machine that lacks them (tests/device/run.sh
# calls it when no prebuilt tree was carried). Source lists come from
# Makefile.am, so this stays in step with the real build.
#
# Usage: tests/device/build.sh [OUTDIR]   (from the repository root; default build-device)
# Env:   CC (gcc), NVCC (nvcc, else /usr/local/cuda/bin/nvcc), CUDA_ARCHS ("90"), JOBS (nproc)
#
# Needs the headers of jansson, pcre2 (8-bit) and utf8proc for the core; when
# the system lacks them it uses OUTDIR/dev/include + OUTDIR/dev/lib (static
# libraries tests/device/prepare.sh copies from a machine that has them). The
# duet program itself also needs ncursesw, libedit and iniparser headers; when
# those are missing only the core programs are built (devcheck covers bench).
# Never installs or downloads anything. Prints what it built and what is
# missing; exit 0 when at least the core programs (devcheck) were built.
set -u
out=${1:-build-device}
CC=${CC:-gcc}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
CUDA_ARCHS=${CUDA_ARCHS:-90}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
obj=$out/obj
mkdir -p "$obj" "$out/bin" "$out/gen"
log=$out/build.log
: >"$log"
missing=()

say() { echo "build.sh: $*"; }

# The .c/.cu files of an automake _SOURCES variable (continuation lines joined).
sources_of() {
    awk -v var="$1" '
        $0 ~ "^"var"[ \t]*=" { on = 1; sub("^[^=]*=", "") }
        on { line = $0; cont = sub(/\\[ \t]*$/, "", line); print line; if (!cont) on = 0 }' Makefile.am |
        tr ' \t' '\n\n' | grep -E '\.(c|cu)$' || true
}

has_header() { # HEADER [extra cflags]
    printf '#include <%s>\n' "$1" | $CC -E -x c - ${2:-} >/dev/null 2>&1
}

# --- headers and libraries ------------------------------------------------------------
core_inc="" core_libs="-ljansson -lpcre2-8 -lutf8proc"
for h in jansson.h "pcre2.h -DPCRE2_CODE_UNIT_WIDTH=8" utf8proc.h; do
    set -- $h
    if ! has_header "$1" "${2:-}"; then
        if [ -f "$out/dev/include/$1" ]; then
            core_inc="-I$out/dev/include"
        else
            missing+=("$1")
        fi
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    say "MISSING core headers: ${missing[*]} (Debian/Ubuntu: libjansson-dev libpcre2-dev libutf8proc-dev;"
    say "  or run tests/device/prepare.sh where they exist and carry $out)"
    exit 1
fi
if [ -n "$core_inc" ]; then
    core_libs="$out/dev/lib/libjansson.a $out/dev/lib/libpcre2-8.a $out/dev/lib/libutf8proc.a"
    say "using carried headers and static libraries from $out/dev"
fi

cuda_root=$(dirname "$(dirname "$NVCC")")
cuda_lib=""
for d in "$cuda_root/lib64" "$cuda_root/lib" "$cuda_root/targets/x86_64-linux/lib"; do
    [ -z "$cuda_lib" ] && [ -e "$d/libcublasLt.so" ] && cuda_lib=$d
done
have_cuda=0
if [ -x "$NVCC" ] && [ -n "$cuda_lib" ] && [ -e "$cuda_root/include/cuda_runtime.h" ]; then
    have_cuda=1
else
    say "no usable CUDA toolkit (nvcc '$NVCC', cuBLAS under '$cuda_root'): building the CPU backend only"
fi

# config.h: the one prepare.sh carried, else a minimal one with what the sources read.
if [ -f "$out/dev/config.h" ]; then
    cp "$out/dev/config.h" "$out/gen/config.h"
else
    {
        echo '#define PACKAGE "duet"'
        echo '#define PACKAGE_VERSION "0.1.0-device"'
        echo '#define PACKAGE_STRING "duet 0.1.0-device"'
        echo '#ifndef _GNU_SOURCE'
        echo '# define _GNU_SOURCE 1'
        echo '#endif'
    } >"$out/gen/config.h"
fi
sed -i '/HAVE_CUDA/d' "$out/gen/config.h"
[ $have_cuda = 1 ] && echo '#define HAVE_CUDA 1' >>"$out/gen/config.h"

gencode=""
last=""
for a in $CUDA_ARCHS; do gencode="$gencode -gencode arch=compute_$a,code=sm_$a"; last=$a; done
gencode="$gencode -gencode arch=compute_$last,code=compute_$last"
WARN="-Wall -W -Wno-unused-parameter"
CFLAGS="-std=c11 -O2 -g -pthread $WARN -I. -I$out/gen $core_inc"
NVCCFLAGS="-std=c++17 -O2 -g $gencode -I. -I$out/gen -Xcompiler -fno-exceptions,-Wall"

# --- compile (in parallel) -------------------------------------------------------------
compile_list() { # LABEL FILES...: compiles each to $obj/<path>.o; prints failures
    echo "--- $1" >>"$log"; shift
    printf '%s\n' "$@" | xargs -P "$JOBS" -I{} sh -c '
        f={}; o="'"$obj"'/${f%.*}.o"; mkdir -p "$(dirname "$o")"
        case $f in
        *.cu) '"$NVCC"' '"$NVCCFLAGS"' -c "$f" -o "$o" ;;
        *) '"$CC"' '"$CFLAGS"' '"${EXTRA_CFLAGS:-}"' -c "$f" -o "$o" ;;
        esac >>"'"$log"'" 2>&1 || echo "FAILED $f"' | tee -a "$log"
}

t0=$(date +%s)
infer_src=$(sources_of infer_libinfer_a_SOURCES)
fails=$(compile_list infer $infer_src)
if [ -n "$fails" ]; then
    say "the core failed to compile: $fails (see $log)"
    tail -20 "$log"
    exit 1
fi
infer_obj=$(for f in $infer_src; do echo "$obj/${f%.*}.o"; done)
cuda_obj="" cuda_libs=""
if [ $have_cuda = 1 ]; then
    cuda_src=$(sources_of cuda_libduetcuda_a_SOURCES)
    fails=$(compile_list cuda $cuda_src)
    if [ -n "$fails" ]; then
        say "the CUDA backend failed to compile: $fails (see $log)"
        tail -30 "$log"
        exit 1
    fi
    cuda_obj=$(for f in $cuda_src; do echo "$obj/${f%.*}.o"; done)
    cuda_libs="-L$cuda_lib -Wl,-rpath,$cuda_lib -lcublasLt -lcublas -lcudart -lstdc++"
fi
LIBS="$core_libs -lm -pthread $cuda_libs"

link() { # OUT OBJS...
    o=$1; shift
    # shellcheck disable=SC2086
    $CC -o "$o" "$@" $LIBS >>"$log" 2>&1
}

built=()
fails=$(compile_list tools tests/device/devcheck.c)
if [ -z "$fails" ] && link "$out/bin/devcheck" "$obj/tests/device/devcheck.o" $infer_obj $cuda_obj; then
    built+=(devcheck)
else
    say "devcheck failed to build (see $log)"
    tail -20 "$log"
    exit 1
fi
if [ $have_cuda = 1 ]; then
    if $NVCC -std=c++17 -O2 $gencode -o "$out/bin/bwprobe" tests/device/bwprobe.cu >>"$log" 2>&1; then
        built+=(bwprobe)
    else
        say "bwprobe failed to build (see $log)"
    fi
fi
t=tests/unit/test_cuda_runtime
for ext in c cu; do
    [ -f "$t.$ext" ] || continue
    fails=$(compile_list test "$t.$ext")
    if [ -z "$fails" ] && link "$out/bin/$(basename "$t")" "$obj/$t.o" $infer_obj $cuda_obj; then
        built+=("$(basename "$t")")
    else
        say "$t.$ext failed to build (see $log)"
    fi
done

# duet itself: app/ + ui/, which need the interface libraries.
ui_missing=()
has_header curses.h || has_header ncursesw/curses.h || ui_missing+=(ncursesw)
has_header histedit.h || ui_missing+=(libedit)
has_header iniparser.h || has_header iniparser/iniparser.h || ui_missing+=(iniparser)
if [ ${#ui_missing[@]} -eq 0 ]; then
    ini_inc=""
    has_header iniparser/iniparser.h && ini_inc="-I/usr/include/iniparser"
    ncw_inc=""
    [ -d /usr/include/ncursesw ] && ncw_inc="-I/usr/include/ncursesw"
    app_src="$(sources_of app_libapp_a_SOURCES) $(sources_of ui_libui_a_SOURCES) $(sources_of duet_SOURCES)"
    fails=$(EXTRA_CFLAGS="$ini_inc $ncw_inc" compile_list app $app_src)
    app_obj=$(for f in $app_src; do echo "$obj/${f%.*}.o"; done)
    # shellcheck disable=SC2086
    if [ -z "$fails" ] && link "$out/bin/duet" $app_obj $infer_obj $cuda_obj -lncursesw -ltinfo -ledit -liniparser; then
        built+=(duet)
    else
        say "duet failed to build: $fails (see $log)"
    fi
else
    say "duet not built: missing headers of ${ui_missing[*]} (devcheck stands in for duet bench)"
fi
say "built ${built[*]} in $(($(date +%s) - t0)) s into $out/bin (CUDA: $([ $have_cuda = 1 ] && echo "yes, sm_$CUDA_ARCHS" || echo no))"
exit 0
