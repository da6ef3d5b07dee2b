#!/usr/bin/env python3
"""Seed corpus for fuzz_gguf: tiny, valid llama and qwen2 GGUF models (one
layer, F32/F16/Q8_0 weights) written with gguf-py, so the fuzzer starts past
the header checks and reaches the model description.

    /tmp/venv/bin/python tests/fuzz/make_gguf_seeds.py DIR
"""
import os
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType


def model(path, arch, bias, tied):
    n_embd, n_ff, n_heads, n_kv, n_vocab = 32, 32, 2, 1, 8
    hd = n_embd // n_heads
    w = GGUFWriter(path, arch)
    w.add_uint32(f"{arch}.embedding_length", n_embd)
    w.add_uint32(f"{arch}.block_count", 1)
    w.add_uint32(f"{arch}.feed_forward_length", n_ff)
    w.add_uint32(f"{arch}.context_length", 64)
    w.add_uint32(f"{arch}.attention.head_count", n_heads)
    w.add_uint32(f"{arch}.attention.head_count_kv", n_kv)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32(f"{arch}.rope.freq_base", 10000.0)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array("tokenizer.ggml.tokens", ["<|im_start|>", "<|im_end|>", "a", "b", "c", "d", "e", "f"])
    w.add_uint32("tokenizer.ggml.eos_token_id", 1)
    w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.add_string("tokenizer.chat_template", "<|im_start|>{{ m }}<|im_end|>")
    rng = np.random.default_rng(0)

    def f32(*shape):
        return rng.standard_normal(shape).astype(np.float32) * 0.02

    def q8(rows, cols):  # numpy shape (rows, cols): ne = {cols, rows}
        return rng.integers(0, 256, size=(rows, cols // 32 * 34), dtype=np.uint8)

    w.add_tensor("token_embd.weight", q8(n_vocab, n_embd), raw_dtype=GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_norm.weight", f32(n_embd))
    w.add_tensor("blk.0.attn_q.weight", f32(n_heads * hd, n_embd).astype(np.float16))
    w.add_tensor("blk.0.attn_k.weight", f32(n_kv * hd, n_embd))
    w.add_tensor("blk.0.attn_v.weight", q8(n_kv * hd, n_embd), raw_dtype=GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_output.weight", f32(n_embd, n_heads * hd))
    if bias:
        w.add_tensor("blk.0.attn_q.bias", f32(n_heads * hd))
        w.add_tensor("blk.0.attn_k.bias", f32(n_kv * hd))
        w.add_tensor("blk.0.attn_v.bias", f32(n_kv * hd))
    w.add_tensor("blk.0.ffn_norm.weight", f32(n_embd))
    w.add_tensor("blk.0.ffn_gate.weight", f32(n_ff, n_embd))
    w.add_tensor("blk.0.ffn_up.weight", f32(n_ff, n_embd).astype(np.float16))
    w.add_tensor("blk.0.ffn_down.weight", q8(n_embd, n_ff), raw_dtype=GGMLQuantizationType.Q8_0)
    w.add_tensor("output_norm.weight", f32(n_embd))
    if not tied:
        w.add_tensor("output.weight", f32(n_vocab, n_embd))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model(os.path.join(out, "tiny-llama.gguf"), "llama", bias=False, tied=False)
    model(os.path.join(out, "tiny-qwen2.gguf"), "qwen2", bias=True, tied=True)


if __name__ == "__main__":
    main()
