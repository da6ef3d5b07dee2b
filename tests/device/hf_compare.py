#!/usr/bin/env python3
"""hf_compare.py — duet's logits against Hugging Face transformers on the
same safetensors model folders, both on the GPU (or both on the CPU for a
rehearsal where there is none).

For each model folder: 16 deterministic token ids; transformers runs the
model in float32 (weights upcast from their stored type, TF32 off) on
--torch-device; duet runs `duet logits --ids ... --all-positions --top
N_VOCAB --json --device D`. Per position: relative L2 error
||duet - hf|| / ||hf|| and argmax agreement. A model passes when every
value is finite, the worst relative error is at most --tol and the argmax
agrees at every position where transformers' top two differ by more than
1% of the logits' spread.

Prints one line per model ("PASS name: ...") and one JSON line per model;
exit 0 when all pass, 1 when one fails, 2 when nothing could run.

Usage: hf_compare.py --duet PATH [--device cuda] [--torch-device cuda] [--tol 2e-2] DIR...
(needs torch, transformers, numpy: the GPU machine has them; here /tmp/venv)
"""

import argparse
import json
import os
import subprocess
import sys
import time


def ids_for(n_vocab: int, n: int = 16) -> list[int]:
    x, out = 0x9E3779B97F4A7C15, []
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        out.append(1 + x % (n_vocab - 1))
    return out


def duet_logits(duet: str, model: str, ids: list[int], n_vocab: int, device: str, timeout: float):
    import numpy as np

    cmd = [duet, "logits", "-m", model, "--ids", ",".join(map(str, ids)), "--all-positions", "--top", str(n_vocab),
           "--json", "--device", device]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"duet logits exited {r.returncode}: {r.stderr.strip()[:300]}")
    j = json.loads(r.stdout)
    out = np.full((len(ids), n_vocab), np.nan, dtype=np.float64)
    for p in j["positions"]:
        for t in p["top"]:
            out[p["pos"], t["id"]] = t["logit"]
    return out, j.get("device", "?")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duet", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--torch-device", default="cuda")
    ap.add_argument("--tol", type=float, default=2e-2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()

    t0 = time.time()
    try:
        import numpy as np
        import torch
        import transformers
        from transformers import AutoConfig, AutoModelForCausalLM
    except Exception as e:  # noqa: BLE001 - report whatever stops the import
        print(f"ERROR: cannot import torch/transformers/numpy: {e}")
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if a.torch_device.startswith("cuda") and not torch.cuda.is_available():
        print("ERROR: torch sees no CUDA device")
        return 2
    print(f"# torch {torch.__version__}, transformers {transformers.__version__}, import {time.time() - t0:.1f} s")

    failed = ran = 0
    for model in a.models:
        name = os.path.basename(model.rstrip("/"))
        try:
            cfg = AutoConfig.from_pretrained(model)
            n_vocab = cfg.vocab_size
            ids = ids_for(min(n_vocab, 4096))
            m = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).to(a.torch_device).eval()
            with torch.no_grad():
                ref = m(torch.tensor([ids], device=a.torch_device)).logits[0].double().cpu().numpy()
            del m
            got, dev = duet_logits(a.duet, model, ids, n_vocab, a.device, a.timeout)
        except Exception as e:  # noqa: BLE001 - one model's failure must not stop the others
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {str(e)[:300]}")
            print(json.dumps({"check": "hf_compare", "model": name, "error": str(e)[:300], "pass": False}))
            continue
        ran += 1
        worst, agree, ties, finite = 0.0, 0, 0, bool(np.isfinite(got).all() and np.isfinite(ref).all())
        for p in range(len(ids)):
            d = got[p] - ref[p]
            rel = float(np.linalg.norm(d) / max(np.linalg.norm(ref[p]), 1e-30))
            worst = max(worst, rel) if np.isfinite(rel) else float("inf")
            top2 = np.sort(ref[p])[-2:]
            near_tie = (top2[1] - top2[0]) <= 0.01 * (ref[p].max() - ref[p].min())
            if int(np.argmax(got[p])) == int(np.argmax(ref[p])):
                agree += 1
            elif near_tie:
                ties += 1
        ok = finite and worst <= a.tol and agree + ties == len(ids)
        failed += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'} {name}: duet@{dev} vs transformers@{a.torch_device} (float32), "
              f"{len(ids)} positions: worst rel L2 {worst:.3e} (tol {a.tol:.0e}), argmax agrees {agree}/{len(ids)}"
              f"{f' (+{ties} near ties)' if ties else ''}{'' if finite else ', NON-FINITE'}")
        print(json.dumps({"check": "hf_compare", "model": name, "device": dev, "torch_device": a.torch_device,
                          "positions": len(ids), "rel_l2": worst, "argmax_agree": agree, "near_ties": ties,
                          "finite": finite, "tol": a.tol, "pass": ok}))
    if ran == 0:
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
