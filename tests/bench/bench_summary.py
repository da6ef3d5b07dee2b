#!/usr/bin/env python3
"""bench_summary.py DIR ROUNDS N_PROMPT N_GEN — the comparison table of
bench_vs_llamacpp.sh from its raw results: DIR/pp.K and DIR/tg.K (llama-bench
-o json) and DIR/duet.K (duet bench --json) for rounds K = 1..ROUNDS.
Prints mean ± sample standard deviation over all repetitions, the best
repetition (the least disturbed on a shared machine), and the ratios
duet / llama.cpp of both. Standard library only."""

import json
import os
import statistics
import sys


def stats(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0), max(xs)


def main():
    d, rounds, n_prompt, n_gen = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    pp, tg, du_pp, du_tg, ttft, p50, p99, rss = [], [], [], [], [], [], [], []
    info = None
    for k in range(1, rounds + 1):
        with open(os.path.join(d, "pp.%d" % k)) as f:
            a = json.load(f)[0]
        with open(os.path.join(d, "tg.%d" % k)) as f:
            b = json.load(f)[0]
        with open(os.path.join(d, "duet.%d" % k)) as f:
            c = json.load(f)
        info = info or (a, c)
        pp += a["samples_ts"]
        tg += b["samples_ts"]
        for run in c["runs"]:
            du_pp.append(run["prefill_tps"])
            du_tg.append(run["decode_tps"])
            ttft.append(run["ttft_ms"])
            p50.append(run["itl_p50_ms"])
            p99.append(run["itl_p99_ms"])
        rss.append(c["peak_rss"])
    a, c = info
    lpp, ltg, dpp, dtg = stats(pp), stats(tg), stats(du_pp), stats(du_tg)
    print("  llama.cpp %s (%s, %s), llama-bench, %d runs each:" % (
        a.get("build_commit", "?"), a.get("backends", "?"), a.get("cpu_info", "?").strip(), len(pp)))
    print("    pp%-5s           %9.2f ± %6.2f t/s  (best %.2f)" % ((n_prompt,) + lpp))
    print("    tg%-5s @ d%-5s   %9.2f ± %6.2f t/s  (best %.2f)" % ((n_gen, n_prompt) + ltg))
    print("  duet bench (%s, %s, %d threads):" % (c["weight_format"], c["backend"], c["threads"]))
    print("    prefill %-5s       %9.2f ± %6.2f t/s  (best %.2f)   ttft %.1f ms" % (
        (n_prompt,) + dpp + (statistics.mean(ttft),)))
    print("    decode %-5s        %9.2f ± %6.2f t/s  (best %.2f)   itl p50 %.2f ms p99 %.2f ms, peak rss %.0f MiB" % (
        (n_gen,) + dtg + (statistics.mean(p50), statistics.mean(p99), max(rss) / 2**20)))
    print("  ratio duet / llama.cpp: prefill %.2f (best %.2f), decode %.2f (best %.2f)" % (
        dpp[0] / lpp[0], dpp[2] / lpp[2], dtg[0] / ltg[0], dtg[2] / ltg[2]))


if __name__ == "__main__":
    sys.exit(main())
