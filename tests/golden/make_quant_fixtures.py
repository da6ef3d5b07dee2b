#!/usr/bin/env python3
"""make_quant_fixtures.py — what gguf-py's quantize() makes of chosen float32
inputs, for duet's quantisers (infer/quantize.c) to match bit for bit.

Writes tests/golden/fixtures/quant/:
  general.f32             float32 little-endian input, 64 x 256 values: normal
                          data at scales 1e-7 .. 1e7, ties of the largest
                          magnitude, zero and constant blocks, all-positive and
                          all-negative blocks, values that land on .5 after
                          scaling, f16-subnormal and f16-overflowing scales
  general.TYPE.bin        gguf.quants.quantize(general, TYPE) bytes, for
                          F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1
  special.f32             float32 edge values for the element-wise types:
                          infinities, quiet NaNs, f16/bf16 rounding ties,
                          subnormals, overflow boundaries, signed zeros
  special.f16.bin / special.bf16.bin

Every expected byte comes from gguf-py (numpy), never from duet. Signalling
NaNs are left out of the F16 input: numpy converts through the CPU's F16C
instruction where it can, which quiets them, and in software where it
cannot, which keeps them; gguf-py's BF16 path is integer arithmetic and
gets them too.

Usage: /tmp/venv/bin/python tests/golden/make_quant_fixtures.py
(needs: pip install gguf numpy)
"""

import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "quant")

EXACT_TYPES = [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]


def general_input() -> np.ndarray:
    rng = np.random.default_rng(20241129)
    blocks = []
    # Normal data at many scales, 32-value blocks.
    for e in range(-7, 8):
        for _ in range(12):
            blocks.append(rng.standard_normal(32) * 10.0**e)
    # Largest magnitude tied between signs, in both orders (Q4_0 / Q5_0 take the first).
    b = rng.standard_normal(32) * 0.1
    b[3], b[17] = 1.0, -1.0
    blocks.append(b.copy())
    b[3], b[17] = -1.0, 1.0
    blocks.append(b.copy())
    # Zeros, constants, one-sided blocks.
    blocks.append(np.zeros(32))
    blocks.append(np.full(32, 0.75))
    blocks.append(np.full(32, -3.0))
    blocks.append(np.abs(rng.standard_normal(32)) + 0.5)
    blocks.append(-np.abs(rng.standard_normal(32)) - 0.5)
    # Values that scale to exact halves: max 127 -> d = 1 for Q8_0.
    b = np.arange(32, dtype=np.float64) * 4.0 - 62.5
    b[0] = 127.0
    blocks.append(b)
    b = (np.arange(32, dtype=np.float64) - 16.0) / 2.0 + 0.25
    b[5] = -8.0
    blocks.append(b)
    # f16-subnormal and f16-overflowing block scales.
    blocks.append(rng.standard_normal(32) * 1e-6)
    blocks.append(rng.standard_normal(32) * 3e-8)
    blocks.append(rng.standard_normal(32) * 1e7)
    blocks.append(np.full(32, 65504.0 * 200))
    # Sparse blocks: one non-zero value.
    for k in range(4):
        b = np.zeros(32)
        b[k * 9] = (-1) ** k * (k + 1) * 0.37
        blocks.append(b)
    # Pad to whole 256-value rows with more normal data.
    while len(blocks) % 8:
        blocks.append(rng.standard_normal(32))
    while len(blocks) < 64 * 8:
        blocks.append(rng.standard_normal(32) * rng.uniform(0.001, 10))
    return np.concatenate(blocks).astype(np.float32)


def special_input() -> np.ndarray:
    bits = [
        0x7F800000, 0xFF800000,              # +-inf
        0x7FC00000, 0xFFC12345, 0x7FFFFFFF,  # quiet NaNs with payloads
        0x00000000, 0x80000000,              # +-0
        0x00000001, 0x807FFFFF,              # f32 subnormals
        0x7F7FFFFF, 0xFF7FFFFF,              # f32 max
        0x477FE000, 0x477FEFFF, 0x477FF000,  # 65504, just below / at the f16 overflow tie
        0x47800000,                          # 65536
        0x38800000, 0x387FFFFF, 0x38000000,  # f16 min normal, below it, half of it
        0x33000000, 0x33000001, 0x33800000,  # 2^-25 (tie to 0), just above, 2^-24
        0x33C00000, 0x34200000, 0x34300000,  # 1.5 * 2^-24 (tie), 2.5 * 2^-24, 2.75 * 2^-24
        0x3F801000, 0x3F803000, 0x3F801001,  # f16 ties near 1 (even down, odd up, above)
        0x3F808000, 0x3F818000, 0x3F808001,  # bf16 ties near 1
        0x3F7FFFFF, 0xBF7FFFFF, 0x7F7F8000,  # carries into the exponent, bf16 overflow tie
        0x3EAAAAAB, 0xC0490FDB, 0x42F6E979,  # 1/3, -pi, 123.456
    ]
    while len(bits) % 32:
        bits.append(0x3F800000 + 0x1000 * len(bits))
    return np.array(bits, dtype=np.uint32).view(np.float32)


def special_bf16_extra() -> np.ndarray:
    # Signalling NaNs: BF16 only (see the docstring).
    return np.array([0x7F800001, 0xFF800001, 0x7FA00000] + [0x3F800000] * 29, dtype=np.uint32).view(np.float32)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    general = general_input()
    assert general.size % 256 == 0
    general.tofile(os.path.join(OUT, "general.f32"))
    for t in EXACT_TYPES:
        with np.errstate(over="ignore"):  # the 1e7 blocks' scales overflow f16, as intended
            q = quants.quantize(general.reshape(-1, 256), t)
        np.ascontiguousarray(q).view(np.uint8).tofile(os.path.join(OUT, f"general.{t.name.lower()}.bin"))

    special = special_input()
    special.tofile(os.path.join(OUT, "special.f32"))
    with np.errstate(over="ignore", invalid="ignore"):
        quants.quantize(special, T.F16).view(np.uint8).tofile(os.path.join(OUT, "special.f16.bin"))
    special_bf = np.concatenate([special, special_bf16_extra()])
    special_bf.tofile(os.path.join(OUT, "special_bf16.f32"))
    quants.quantize(special_bf, T.BF16).view(np.uint8).tofile(os.path.join(OUT, "special_bf16.bf16.bin"))
    print(f"wrote {OUT}: {general.size} general values, {special.size} + {special_bf.size} special")


if __name__ == "__main__":
    main()
