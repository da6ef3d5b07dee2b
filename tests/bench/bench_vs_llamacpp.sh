#!/bin/sh
# bench_vs_llamacpp.sh — duet's CPU speed against llama.cpp's own llama-bench on
# the same GGUF, thread count, prompt and generation length, in the same run
# (DESIGN.md §7: peers measured together, ratios quoted).
#
#   tests/bench/bench_vs_llamacpp.sh [-m MODEL.gguf] [-t THREADS] [-p N] [-n M] [-r REPS]
#                                    [--rounds K] [--q8]
#
# MODEL defaults to SmolLM2-135M-Instruct.Q4_1.gguf in the models cache; --q8
# also runs SmolLM2 in Q8_0 (made once with llama-quantize --allow-requantize
# from the Q4_1 file into the models cache). Prefill is compared with
# llama-bench's ppN (empty cache); decode with its tgM at depth N (-d N), which
# is what `duet bench` measures: M tokens generated after an N-token prompt.
#
# llama-bench and llama-quantize are built on first use from the llama.cpp
# source vendored in llama-cpp-python's sdist (pip download, cmake, ninja or
# make) into $DUET_PEERS (default ~/.cache/duet/peers); nothing of it lands in
# the repository. Needs: python3 with pip, cmake, a C++ compiler. Set
# LLAMA_BENCH=/path/to/llama-bench to use another build.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
models=${DUET_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/duet/models}
peers=${DUET_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/duet/peers}
duet=${DUET:-}
llcpp_version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}

model=$models/SmolLM2-135M-Instruct.Q4_1.gguf
threads=2
n_prompt=512
n_gen=128
reps=3
rounds=2
q8=no
while [ $# -gt 0 ]; do
	case $1 in
	-m) model=$2; shift 2 ;;
	-t) threads=$2; shift 2 ;;
	-p) n_prompt=$2; shift 2 ;;
	-n) n_gen=$2; shift 2 ;;
	-r) reps=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--q8) q8=yes; shift ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_vs_llamacpp.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done

die() { echo "bench_vs_llamacpp.sh: $*" >&2; exit 1; }

[ -r "$model" ] || die "no model at $model (./setup.sh fetches SmolLM2)"
if [ -z "$duet" ]; then
	for d in "$top/duet" "$top"/build*/duet; do
		[ -x "$d" ] && { duet=$d; break; }
	done
fi
if [ -z "$duet" ] || [ ! -x "$duet" ]; then
	die "no duet binary found: build it, or set DUET=/path/to/duet"
fi

build_peers() {
	src=$peers/src
	mkdir -p "$src" "$peers/bin"
	if [ ! -d "$src/llama_cpp_python-$llcpp_version" ]; then
		echo "fetching llama-cpp-python $llcpp_version sources (for llama.cpp) ..." >&2
		python3 -m pip download --quiet --no-deps --no-binary :all: -d "$src" \
			"llama-cpp-python==$llcpp_version" >&2
		tar -xzf "$src/llama_cpp_python-$llcpp_version.tar.gz" -C "$src"
	fi
	gen=""
	command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
	echo "building llama-bench and llama-quantize (several minutes) ..." >&2
	# shellcheck disable=SC2086
	cmake -S "$src/llama_cpp_python-$llcpp_version/vendor/llama.cpp" -B "$src/build" $gen \
		-DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
		-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >&2
	cmake --build "$src/build" --target llama-bench llama-quantize -j "$(nproc)" >&2
	cp "$src/build/bin/llama-bench" "$src/build/bin/llama-quantize" "$peers/bin/"
}

llama_bench=${LLAMA_BENCH:-$peers/bin/llama-bench}
[ -x "$llama_bench" ] || build_peers
llama_quantize=$(dirname "$llama_bench")/llama-quantize

# One round: llama-bench pp, llama-bench tg, duet bench, each -r REPS. Rounds
# alternate the tools so that load from elsewhere on a shared machine hits
# both alike; the summary takes every repetition of every round.
run_one() {
	m=$1
	echo "== $(basename "$m"): $threads threads, prompt $n_prompt, generate $n_gen, $rounds rounds x $reps repetitions"
	dir=$(mktemp -d)
	r=1
	while [ "$r" -le "$rounds" ]; do
		"$llama_bench" -m "$m" -t "$threads" -p "$n_prompt" -n 0 -r "$reps" -o json >"$dir/pp.$r" 2>/dev/null ||
			die "llama-bench (pp) failed on $m"
		"$llama_bench" -m "$m" -t "$threads" -p 0 -n "$n_gen" -d "$n_prompt" -r "$reps" -o json >"$dir/tg.$r" 2>/dev/null ||
			die "llama-bench (tg) failed on $m"
		"$duet" bench -m "$m" -t "$threads" -p "$n_prompt" -n "$n_gen" -r "$reps" --json >"$dir/duet.$r" ||
			die "duet bench failed on $m"
		r=$((r + 1))
	done
	python3 "$here/bench_summary.py" "$dir" "$rounds" "$n_prompt" "$n_gen"
	rm -rf "$dir"
}

echo "duet: $duet"
echo "llama-bench: $llama_bench"
q8flag=""
[ "$q8" = yes ] && q8flag=" --q8"
echo "command: $0 -m $model -t $threads -p $n_prompt -n $n_gen -r $reps --rounds $rounds$q8flag"
run_one "$model"
if [ "$q8" = yes ]; then
	q8model=$models/SmolLM2-135M-Instruct.Q8_0.gguf
	if [ ! -r "$q8model" ]; then
		[ -x "$llama_quantize" ] || die "no llama-quantize next to $llama_bench"
		src_model=$models/SmolLM2-135M-Instruct.Q4_1.gguf
		echo "making $q8model from $src_model (llama-quantize --allow-requantize) ..." >&2
		"$llama_quantize" --allow-requantize "$src_model" "$q8model.tmp" Q8_0 >/dev/null 2>&1 ||
			die "llama-quantize failed"
		mv "$q8model.tmp" "$q8model"
	fi
	run_one "$q8model"
fi
