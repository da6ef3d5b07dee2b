#!/bin/bash
# prepare.sh — runs HERE (a machine with the CUDA toolkit but no GPU): builds
# what the GPU machine's checks run, for sm_90 only, into build-device/, the
# one folder the device call carries (see tests/device/README.md):
#
#   build-device/bin/   duet, devcheck, bwprobe, test_cuda_runtime (when the
#                       CUDA engineer's test exists), stripped of debug info
#   build-device/lib/   the shared libraries they need that a bare CUDA image
#                       may lack (ldd, minus glibc, libstdc++/libgcc and CUDA's
#                       own), run there with LD_LIBRARY_PATH
#   build-device/dev/   headers + static libraries of jansson, pcre2, utf8proc
#                       and config.h, for tests/device/build.sh should the
#                       binaries not run there
#   build-device/MANIFEST  revision, toolchain, glibc versions required, sizes
#
# The autotools build itself goes to build-device-obj/ (not carried).
# Usage: tests/device/prepare.sh   (from the repository root)
# Env: CUDA_ARCHS (default 90), JOBS (default 2: the shared build machine)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
obj=$root/build-device-obj
out=$root/build-device
CUDA_ARCHS=${CUDA_ARCHS:-90}
JOBS=${JOBS:-2}
LIMIT_MIB=64

say() { echo "prepare.sh: $*"; }
fail() { say "FAILED: $*"; exit 1; }

command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || fail "no nvcc here: prepare needs the CUDA toolkit (not a GPU)"
[ -x configure ] || autoreconf -fi >/dev/null || fail "autoreconf"
mkdir -p "$obj"
if [ ! -f "$obj/Makefile" ] || [ "$obj/Makefile" -ot Makefile.am ] || [ "$obj/Makefile" -ot configure ]; then
    (cd "$obj" && ../configure --with-cuda CUDA_ARCHS="$CUDA_ARCHS" >configure.log 2>&1) ||
        fail "configure --with-cuda (see $obj/configure.log)"
fi
grep -q '^#define HAVE_CUDA 1' "$obj/config.h" || fail "configure did not enable CUDA (see $obj/configure.log)"

targets="duet tests/device/devcheck"
grep -q 'tests/unit/test_cuda_runtime' Makefile.am && targets="$targets tests/unit/test_cuda_runtime"
say "building $targets for sm_$CUDA_ARCHS in $obj"
if ! make -C "$obj" -j"$JOBS" $targets >"$obj/make.log" 2>&1; then
    grep -E 'error|Error' "$obj/make.log" | head -20
    fail "make (see $obj/make.log)"
fi
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
"$nvcc_bin" -std=c++17 -O2 -gencode arch=compute_$CUDA_ARCHS,code=sm_$CUDA_ARCHS -o "$obj/bwprobe" \
    tests/device/bwprobe.cu || fail "bwprobe"

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/dev/include" "$out/dev/lib"
for t in $targets bwprobe; do
    src=$obj/$t
    [ -x "$src" ] || continue
    strip --strip-debug -o "$out/bin/$(basename "$t")" "$src"
done

# Shared libraries a bare CUDA image may lack. glibc, the compiler runtime and
# CUDA's libraries are the GPU machine's own.
system_re='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libgcc_s|libstdc\+\+|libcuda\.so|libcudart|libcublas|libcublasLt|libnvrtc|libnvJitLink)'
for b in "$out"/bin/*; do
    ldd "$b" | awk '$3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r soname path; do
    echo "$soname" | grep -qE "$system_re" && continue
    cp -L "$path" "$out/lib/$soname"
done

# For build.sh: the core's headers and static libraries, and this config.h.
for h in jansson.h jansson_config.h pcre2.h utf8proc.h; do
    f=$(printf '#include <%s>\n' "$h" | gcc -M -x c - -DPCRE2_CODE_UNIT_WIDTH=8 2>/dev/null | tr ' \\' '\n\n' | grep "/$h\$" | head -1)
    [ -n "$f" ] && cp "$f" "$out/dev/include/"
done
for l in jansson pcre2-8 utf8proc; do
    f=$(gcc -print-file-name="lib$l.a")
    [ -f "$f" ] && cp "$f" "$out/dev/lib/"
done
cp "$obj/config.h" "$out/dev/config.h"

glibc_need=$(for b in "$out"/bin/* "$out"/lib/*; do objdump -T "$b" 2>/dev/null; done |
    grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -k3,3n -u | tail -1)
{
    echo "built:      $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n)"
    echo "revision:   $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' + uncommitted changes')"
    echo "toolchain:  $(gcc --version | head -1); $("$nvcc_bin" --version | grep release)"
    echo "cuda archs: $CUDA_ARCHS"
    echo "glibc:      built on $(ldd --version | head -1 | awk '{print $NF}'), needs at most $glibc_need"
    echo "binaries:   $(cd "$out/bin" && ls | tr '\n' ' ')"
    echo "libraries:  $(cd "$out/lib" && ls | tr '\n' ' ')"
} >"$out/MANIFEST"

# The 64 MiB limit covers everything that travels: tracked and untracked-not-ignored files plus carried paths.
carried=$(du -sk "$out" | awk '{print $1}')
tree=$(git ls-files -z --cached --others --exclude-standard 2>/dev/null | xargs -0 du -ck 2>/dev/null | tail -1 | awk '{print $1}')
total=$(((carried + tree) / 1024))
echo "size:       build-device $((carried / 1024)) MiB + working tree $((tree / 1024)) MiB = $total MiB of $LIMIT_MIB" >>"$out/MANIFEST"
cat "$out/MANIFEST"
[ "$total" -lt "$LIMIT_MIB" ] || fail "what would travel is $total MiB, over the $LIMIT_MIB MiB limit"
say "ready: carry build-device (run tests/device/run.sh there)"
