#!/usr/bin/env python3
"""Write the fixtures that tests/unit/test_gguf.c and tests/unit/test_model.c
check duet's GGUF reader, GGUF writer and model description against. The
reference is gguf-py (the `gguf` package from the llama.cpp project),
independent of duet's C code.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install gguf numpy
    /tmp/venv/bin/python tests/golden/make_model_fixtures.py [--model PATH]

PATH defaults to ~/.cache/duet/models/SmolLM2-135M-Instruct.Q4_1.gguf.
Rerunnable; the output changes only when gguf-py's does.

Writes, under tests/golden/fixtures/:

smollm2_desc.txt: key=value lines read with gguf-py's GGUFReader from the
    SmolLM2 GGUF: the hyperparameters (n_embd, n_layers, n_ff, n_heads,
    n_kv_heads, n_vocab = token_embd's second dimension, ctx, rope_theta,
    rms_eps as float32 printed with 9 significant digits), special ids (-1
    when absent), add_bos, tokenizer model/pre, general.name, version,
    alignment, data_offset, n_kv, n_tensors, n_params, weight_bytes, the ids
    of "<|im_end|>" and "<|endoftext|>" in the vocabulary, and n_type_TYPE
    per tensor type.

smollm2_tensors.txt: one line per tensor in file order:
    NAME TYPE NE0,NE1,... ABS_OFFSET N_BYTES
    (ABS_OFFSET = gguf-py's data_offset, i.e. from the start of the file).

gguf_py_small.gguf: a small file written by gguf-py's GGUFWriter with one
    pair of every value type, arrays, a custom alignment (64) and F32, F16
    and Q8_0 tensors. test_gguf.c writes the same content with duet's writer
    and compares the bytes, and reads this file with duet's reader. The
    content below and write_same() in test_gguf.c must stay in step.
"""
import argparse
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter, GGMLQuantizationType

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")


def field_value(reader, key, default=None):
    f = reader.get_field(key)
    if f is None:
        return default
    return f.contents()


def smollm2(model):
    r = GGUFReader(model)
    arch = field_value(r, "general.architecture")
    assert arch == "llama", arch

    def a(suffix, default=None):
        return field_value(r, f"{arch}.{suffix}", default)

    tensors = {t.name: t for t in r.tensors}
    embd = tensors["token_embd.weight"]
    n_heads = a("attention.head_count")
    desc = {
        "arch": arch,
        "n_embd": a("embedding_length"),
        "n_layers": a("block_count"),
        "n_ff": a("feed_forward_length"),
        "n_heads": n_heads,
        "n_kv_heads": a("attention.head_count_kv", n_heads),
        "head_dim": a("attention.key_length", a("embedding_length") // n_heads),
        "n_vocab": int(embd.shape[1]),
        "ctx": a("context_length"),
        "rope_theta": "%.9g" % np.float32(a("rope.freq_base", 10000.0)),
        "rms_eps": "%.9g" % np.float32(a("attention.layer_norm_rms_epsilon")),
        "bos": field_value(r, "tokenizer.ggml.bos_token_id", -1),
        "eos": field_value(r, "tokenizer.ggml.eos_token_id", -1),
        "eot": field_value(r, "tokenizer.ggml.eot_token_id", -1),
        "pad": field_value(r, "tokenizer.ggml.padding_token_id", -1),
        "add_bos": int(bool(field_value(r, "tokenizer.ggml.add_bos_token", False))),
        "tokenizer_model": field_value(r, "tokenizer.ggml.model", ""),
        "tokenizer_pre": field_value(r, "tokenizer.ggml.pre", ""),
        "tied_output": int("output.weight" not in tensors),
        "qkv_bias": int("blk.0.attn_q.bias" in tensors),
        "name": field_value(r, "general.name", ""),
        "version": field_value(r, "GGUF.version"),
        "alignment": r.alignment,
        "data_offset": r.data_offset,
        # gguf-py lists the three header counts as pseudo-fields named GGUF.*
        "n_kv": len([k for k in r.fields if not k.startswith("GGUF.")]),
        "n_tensors": len(r.tensors),
        "n_params": int(sum(int(t.n_elements) for t in r.tensors)),
        "weight_bytes": int(sum(int(t.n_bytes) for t in r.tensors)),
    }
    tokens = field_value(r, "tokenizer.ggml.tokens", [])
    for text, key in (("<|im_end|>", "tok_im_end"), ("<|endoftext|>", "tok_endoftext")):
        desc[key] = tokens.index(text) if text in tokens else -1
    types = {}
    for t in r.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    for name in sorted(types):
        desc[f"n_type_{name}"] = types[name]

    with open(os.path.join(FIXTURES, "smollm2_desc.txt"), "w") as f:
        f.write("# SmolLM2-135M-Instruct.Q4_1.gguf as gguf-py reads it (make_model_fixtures.py)\n")
        for k, v in desc.items():
            f.write(f"{k}={v}\n")

    with open(os.path.join(FIXTURES, "smollm2_tensors.txt"), "w") as f:
        f.write("# NAME TYPE NE ABS_OFFSET N_BYTES, as gguf-py reads them (make_model_fixtures.py)\n")
        for t in r.tensors:
            ne = ",".join(str(int(x)) for x in t.shape)
            f.write(f"{t.name} {t.tensor_type.name} {ne} {int(t.data_offset)} {int(t.n_bytes)}\n")


def small_gguf():
    path = os.path.join(FIXTURES, "gguf_py_small.gguf")
    w = GGUFWriter(path, "llama")  # writes general.architecture = "llama" first
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.15625)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo\nworld")
    w.add_uint64("t.u64", 18000000000000000000)
    w.add_int64("t.i64", -9000000000000000000)
    w.add_float64("t.f64", -2.5e-300)
    w.add_custom_alignment(64)
    w.add_key_value("t.arr_u8", [1, 2, 255], GGUFValueType.ARRAY, sub_type=GGUFValueType.UINT8)
    w.add_key_value("t.arr_i32", [-1, 0, 7, 2147483647], GGUFValueType.ARRAY, sub_type=GGUFValueType.INT32)
    w.add_key_value("t.arr_f32", [0.5, -1.25], GGUFValueType.ARRAY, sub_type=GGUFValueType.FLOAT32)
    w.add_key_value("t.arr_str", ["a", "", "<|im_end|>"], GGUFValueType.ARRAY, sub_type=GGUFValueType.STRING)

    # Data: F32 ne {3, 2} = 0..5; F16 ne {5} = 0.5 * (0..4); Q8_0 ne {32, 2} = bytes 0..67.
    w.add_tensor("a.f32", np.arange(6, dtype=np.float32).reshape(2, 3))
    w.add_tensor("b.f16", (np.arange(5, dtype=np.float32) * 0.5).astype(np.float16))
    q8 = np.arange(68, dtype=np.uint8).reshape(2, 34)
    w.add_tensor("c.q8_0", q8, raw_dtype=GGMLQuantizationType.Q8_0)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Sanity: gguf-py reads back what it wrote.
    r = GGUFReader(path)
    assert r.alignment == 64
    assert [t.name for t in r.tensors] == ["a.f32", "b.f16", "c.q8_0"]
    assert list(r.tensors[2].shape) == [32, 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/duet/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    os.makedirs(FIXTURES, exist_ok=True)
    small_gguf()
    if os.path.exists(args.model):
        smollm2(args.model)
    else:
        print(f"{args.model}: missing; SmolLM2 fixtures not rewritten", file=sys.stderr)


if __name__ == "__main__":
    main()
