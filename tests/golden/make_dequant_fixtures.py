#!/usr/bin/env python3
"""Write the dequantisation fixtures that tests/golden/test_golden_dequant.c
checks duet's infer/dtype.c against, bit for bit. The reference is gguf-py's
numpy dequantiser (gguf.quants.dequantize), independent of duet's C code.

Needs only the `gguf` and `numpy` packages:
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install gguf numpy
    /tmp/venv/bin/python tests/golden/make_dequant_fixtures.py [--model PATH]

Rerunnable: every random choice comes from a fixed seed, so the output only
changes when gguf-py's results do.

Writes, under tests/golden/fixtures/:

dequant/TYPE.bin, one per type duet dequantises. Little-endian:
    char[4]  magic "DQF1"
    u32      GGUF type id
    u32      n_elems
    u32      n_bytes           raw size (n_elems / block_elems * block_bytes)
    u8       raw[n_bytes]      the encoded blocks
    f32      want[n_elems]     gguf-py's dequantisation of raw
  Quantised types: 64 blocks of random bytes, then special blocks (all-zero
  bytes; every quant bit set; scales at the smallest and largest subnormal,
  -0, +-65504). In the random blocks the fp16 scale fields (d, and m/dmin
  where the type has them) are replaced by finite halves of realistic size:
  random bytes there would give NaN and Inf, which propagate through every
  element and compare nothing. F32/F16/BF16: random bit patterns (NaN and Inf
  included: a conversion must keep them) and hand-picked edge values.

dequant/conversions.txt: SHA-256 of exhaustive or large conversion sets:
    f16_to_f32  all 65536 halves, in order       -> f32 bytes (numpy astype)
    bf16_to_f32 all 65536 bfloat16s, in order    -> f32 bytes (gguf-py BF16)
    f32_to_f16  the inputs of f32_inputs() below -> f16 bytes (numpy astype)
    f32_to_bf16 the same inputs                  -> bf16 bytes (gguf-py BF16)
  The C test regenerates the same inputs by the same rule.

smollm2_dequant.sha256: for every tensor of SmolLM2-135M-Instruct.Q4_1.gguf,
    "NAME TYPE N_ELEMS SHA256" of its dequantised f32 bytes in GGUF element
    order (gguf-py's GGUFReader + dequantize).
"""

import argparse
import hashlib
import os
import struct
import sys

import numpy as np
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize
import gguf.quants

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
N_RANDOM_BLOCKS = 64

# Byte offsets of the fp16 scale fields in one block (ggml-common.h):
# d first, then m / dmin where the type has one.
SCALE_FIELDS = {
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q5_0: [0],
    T.Q5_1: [0, 2],
    T.Q8_0: [0],
    T.Q2_K: [80, 82],
    T.Q3_K: [108],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
}

# fp16 bit patterns for the special blocks.
H_ONE = 0x3C00
H_MIN_SUB = 0x0001   # 2^-24
H_MAX_SUB = 0x03FF   # largest subnormal
H_MAX = 0x7BFF       # 65504
H_NEG_MAX = 0xFBFF   # -65504
H_NEG_ZERO = 0x8000
H_NEG_HALF = 0xB800  # -0.5


def reasonable_halves(rng, n):
    """Finite fp16 values of the size real scales have: sign random,
    magnitude log-uniform in [1e-5, 3]."""
    mag = 10.0 ** rng.uniform(-5.0, 0.5, size=n)
    sign = np.where(rng.integers(0, 2, size=n) == 1, -1.0, 1.0)
    h = (sign * mag).astype(np.float16)
    assert np.all(np.isfinite(h))
    return h.view(np.uint16)


def set_half(block, off, bits):
    block[off] = bits & 0xFF
    block[off + 1] = bits >> 8


def quant_blocks(qtype, rng):
    _, type_size = GGML_QUANT_SIZES[qtype]
    fields = SCALE_FIELDS[qtype]
    blocks = []
    for _ in range(N_RANDOM_BLOCKS):
        b = bytearray(rng.integers(0, 256, size=type_size, dtype=np.uint8).tobytes())
        for off, h in zip(fields, reasonable_halves(rng, len(fields))):
            set_half(b, off, int(h))
        blocks.append(b)

    def special(fill, halves):
        if fill is None:
            b = bytearray(rng.integers(0, 256, size=type_size, dtype=np.uint8).tobytes())
        else:
            b = bytearray([fill]) * type_size
        for i, off in enumerate(fields):
            set_half(b, off, halves[i % len(halves)])
        return b

    blocks.append(bytearray(type_size))                       # all zero: d = 0
    blocks.append(special(0xFF, [H_ONE, H_NEG_HALF]))         # every quant bit set
    blocks.append(special(0xFF, [H_MAX, H_NEG_MAX]))          # largest scales
    blocks.append(special(0x00, [H_MAX, H_MAX]))              # smallest quants, large scales
    blocks.append(special(None, [H_MIN_SUB, H_MAX_SUB]))      # subnormal scales
    blocks.append(special(None, [H_MAX_SUB, H_MIN_SUB]))
    blocks.append(special(0xFF, [H_MIN_SUB, H_MIN_SUB]))
    blocks.append(special(None, [H_NEG_ZERO, H_NEG_ZERO]))    # -0 scales
    blocks.append(special(None, [H_NEG_MAX, H_MAX]))
    return b"".join(blocks)


F16_SPECIAL = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x83FF, 0x0400, 0x8400,
               0x3C00, 0xBC00, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7C01, 0xFC01,
               0x7DFF, 0x7E00, 0xFE00, 0x7FFF, 0xFFFF, 0x3555, 0x0200, 0x0155]
BF16_SPECIAL = [0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x3F80, 0xBF80,
                0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x7F81, 0xFF81, 0x7FC0, 0xFFC0,
                0x7FFF, 0xFFFF, 0x3EAB, 0x4049]
F32_SPECIAL = [0x00000000, 0x80000000, 0x00000001, 0x007FFFFF, 0x00800000,
               0x3F800000, 0x7F7FFFFF, 0x7F800000, 0xFF800000, 0x7F800001,
               0x7FC00000, 0xFFC00001, 0x7FFFFFFF, 0xFFFFFFFF]


def float_blocks(qtype, rng):
    if qtype == T.F32:
        words = np.concatenate([rng.integers(0, 2**32, size=1024, dtype=np.uint32),
                                np.array(F32_SPECIAL, dtype=np.uint32)])
        return words.astype("<u4").tobytes()
    special = F16_SPECIAL if qtype == T.F16 else BF16_SPECIAL
    halves = np.concatenate([rng.integers(0, 2**16, size=2048, dtype=np.uint16),
                             np.array(special, dtype=np.uint16)])
    return halves.astype("<u2").tobytes()


def write_type_fixture(qtype):
    rng = np.random.default_rng(0xD0E7 + int(qtype))
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if qtype in SCALE_FIELDS:
        raw = quant_blocks(qtype, rng)
    else:
        raw = float_blocks(qtype, rng)
    assert len(raw) % type_size == 0
    n_elems = len(raw) // type_size * block_size
    arr = np.frombuffer(raw, dtype=np.uint8)
    if qtype in (T.F32, T.F16):
        arr = arr.view(np.float32 if qtype == T.F32 else np.float16)
    want = np.asarray(dequantize(arr, qtype), dtype=np.float32).reshape(-1)
    assert want.size == n_elems
    path = os.path.join(FIXTURES, "dequant", qtype.name + ".bin")
    with open(path, "wb") as f:
        f.write(b"DQF1" + struct.pack("<III", int(qtype), n_elems, len(raw)))
        f.write(raw)
        f.write(want.astype("<f4").tobytes())
    size = os.path.getsize(path)
    assert size < 200 * 1024, (path, size)
    print(f"{path}: {n_elems} elements, {size} bytes")


def f32_inputs():
    """The f32 bit patterns whose f16/bf16 rounding is checked. The C test
    (tests/golden/test_golden_dequant.c, f32_inputs) builds the same list:
    1. i * 2654435761 mod 2^32 for i in [0, 2^20): spread over every pattern;
    2. for each sign and biased exponent (0..255), mantissas near every
       rounding boundary: (1 << s) + k for s in 0..22, k in {-1, 0, 1},
       each also with bit 13 set (odd f16 mantissa), plus 0x7FFFFF."""
    a = (np.arange(1 << 20, dtype=np.uint64) * 2654435761) & 0xFFFFFFFF
    mants = []
    for s in range(23):
        for k in (-1, 0, 1):
            m = ((1 << s) + k) & 0x7FFFFF
            mants += [m, m | 0x2000]
    mants.append(0x7FFFFF)
    mants = np.array(mants, dtype=np.uint64)
    se = np.arange(512, dtype=np.uint64) << np.uint64(23)  # sign and exponent
    b = (se.reshape(-1, 1) | mants.reshape(1, -1)).reshape(-1)
    return np.concatenate([a, b]).astype(np.uint32)


def sha(arr):
    return hashlib.sha256(arr.tobytes()).hexdigest()


def write_conversions():
    all16 = np.arange(1 << 16, dtype=np.uint16).astype("<u2")
    x = f32_inputs().astype("<u4")
    with np.errstate(over="ignore", invalid="ignore"):
        lines = [
            ("f16_to_f32", all16.size, sha(all16.view(np.float16).astype("<f4"))),
            ("bf16_to_f32", all16.size,
             sha(np.asarray(dequantize(all16.view(np.uint8), T.BF16), dtype="<f4"))),
            ("f32_to_f16", x.size, sha(x.view(np.float32).astype("<f2"))),
            ("f32_to_bf16", x.size,
             sha(gguf.quants.BF16.quantize_blocks(x.view(np.float32).reshape(1, -1)))),
        ]
    path = os.path.join(FIXTURES, "dequant", "conversions.txt")
    with open(path, "w") as f:
        f.write("# NAME N_INPUTS SHA256 (see tests/golden/make_dequant_fixtures.py)\n")
        for name, n, digest in lines:
            f.write(f"{name} {n} {digest}\n")
    print(f"{path}: {len(lines)} lines")


def write_model_hashes(model):
    reader = GGUFReader(model)
    path = os.path.join(FIXTURES, "smollm2_dequant.sha256")
    with open(path, "w") as f:
        for t in reader.tensors:
            values = dequantize(t.data, t.tensor_type)
            values = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
            assert values.size == t.n_elements
            f.write(f"{t.name} {t.tensor_type.name} {t.n_elements} {sha(values)}\n")
    print(f"{path}: {len(reader.tensors)} tensors")


def main():
    cache = os.environ.get("DUET_MODELS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "duet", "models")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(cache, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()

    os.makedirs(os.path.join(FIXTURES, "dequant"), exist_ok=True)
    for qtype in (T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
                  T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K):
        write_type_fixture(qtype)
    write_conversions()
    if os.path.exists(args.model):
        write_model_hashes(args.model)
    else:
        print(f"{args.model} not found: smollm2_dequant.sha256 not rewritten", file=sys.stderr)


if __name__ == "__main__":
    main()
