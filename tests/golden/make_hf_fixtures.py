#!/usr/bin/env python3
"""make_hf_fixtures.py — tiny random Hugging Face model folders for duet's
safetensors / config.json loader, and what the reference stack says about them.

Writes tests/golden/fixtures/hf/<name>/ (a model folder as save_pretrained
writes it, plus a small byte-level BPE tokenizer) and <name>/expected.txt:
every value in expected.txt comes from reading the folder back with
transformers (AutoConfig, AutoTokenizer, GenerationConfig, the model object)
and safetensors + torch, never from duet.

Models (seeded, so reruns give the same weights):
  qwen2-f32          Qwen2, q/k/v bias, untied lm_head, F32, one model.safetensors,
                     vocab 320 rows (tokenizer has 288), template in tokenizer_config.json
  llama-bf16         Llama, tied output (no lm_head in the file), BF16, a
                     transformers-4-style config.json (top-level rope_theta,
                     torch_dtype), BOS added by tokenizer.json's post-processor,
                     chat_template.jinja beside tokenizer_config.json
  qwen2-f16-sharded  the Qwen2 model in F16, split into shards with
                     model.safetensors.index.json

expected.txt lines (space separated, '#' starts a comment):
  desc KEY VALUE                 config values duet's model_desc must hold
  stop ID                        one id that must be among desc.stop_ids
  template_sha256 HEX            SHA-256 of the chat template text (UTF-8)
  tensor HF_NAME GGUF_NAME DTYPE SHAPE SHA256 SUM ABS_SUM
      SHAPE is the safetensors (PyTorch) shape joined by 'x' ("256x64");
      SHA256 is of the tensor's raw little-endian bytes as torch saved them;
      SUM and ABS_SUM are float64 sums of the values widened to float64.
  n_tensors N                    tensors duet must expose (GGUF names)

Usage: /tmp/venv/bin/python tests/golden/make_hf_fixtures.py
(needs: pip install torch transformers safetensors numpy tokenizers)
"""

import hashlib
import json
import os
import re
import shutil
import sys

import torch
import transformers
from safetensors import safe_open
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig,
                          LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config,
                          Qwen2ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "hf")

TRAIN_TEXT = [
    "The quick brown fox jumps over the lazy dog. " * 4,
    "Hello, world! Hello there; how are you today? 12345 67890",
    "Please reason step by step, and put your final answer within \\boxed{}.",
]

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
          "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
LLAMA3 = ("{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
          "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")

# HF -> GGUF tensor names, as DESIGN.md section 3 and llama.cpp's converter name them.
LAYER_MAP = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
GLOBAL_MAP = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def gguf_name(hf):
    if hf in GLOBAL_MAP:
        return GLOBAL_MAP[hf]
    m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", hf)
    if m and m.group(2) in LAYER_MAP:
        return "blk.%s.%s" % (m.group(1), LAYER_MAP[m.group(2)])
    return None


def make_tokenizer(specials_first, specials_last, vocab_before_last):
    """A small byte-level BPE: specials_first get ids 0.., specials_last are appended."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_before_last, special_tokens=specials_first,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(TRAIN_TEXT, trainer)
    if specials_last:
        tok.add_special_tokens(specials_last)
    return tok


def randomise(model, seed):
    """Replace every parameter with seeded noise (norm weights around 1), so a
    swapped or transposed tensor cannot go unnoticed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if "norm" in name:
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(0.05 * noise)


def edit_json(path, fn):
    with open(path) as f:
        data = json.load(f)
    fn(data)
    with open(path, "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def build_qwen2(out, dtype, shard_size):
    tok = make_tokenizer(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], [], 288)
    cfg = Qwen2Config(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      intermediate_size=128, vocab_size=320, max_position_embeddings=1024,
                      rms_norm_eps=1e-6, tie_word_embeddings=False, bos_token_id=None, eos_token_id=2,
                      rope_theta=1000000.0)
    model = Qwen2ForCausalLM(cfg)
    randomise(model, 1234)
    model = model.to(dtype)
    kwargs = {"max_shard_size": shard_size} if shard_size else {}
    model.save_pretrained(out, **kwargs)
    t = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    t.chat_template = CHATML
    t.save_pretrained(out)
    # transformers-4 style: the template inside tokenizer_config.json.
    tmpl_path = os.path.join(out, "chat_template.jinja")
    if os.path.exists(tmpl_path):
        os.remove(tmpl_path)
    edit_json(os.path.join(out, "tokenizer_config.json"),
              lambda d: d.update({"chat_template": CHATML, "add_bos_token": False,
                                  "tokenizer_class": "PreTrainedTokenizerFast"}))
    GenerationConfig(eos_token_id=[2, 0], pad_token_id=0, do_sample=True, temperature=0.7, top_p=0.8,
                     top_k=20, repetition_penalty=1.05).save_pretrained(out)


def build_llama(out):
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eot_id|>"]
    tok = make_tokenizer([], specials, 288 - len(specials))
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)])
    eot = tok.token_to_id("<|eot_id|>")
    eos = tok.token_to_id("<|end_of_text|>")
    cfg = LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      intermediate_size=160, vocab_size=288, max_position_embeddings=2048,
                      rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=bos, eos_token_id=eot,
                      rope_theta=500000.0)
    model = LlamaForCausalLM(cfg)
    randomise(model, 5678)
    model = model.to(torch.bfloat16)
    model.save_pretrained(out)

    # Rewrite config.json the way transformers 4 wrote it (most checkpoints in
    # the wild): top-level rope_theta and rope_scaling null, torch_dtype.
    def v4(d):
        rp = d.pop("rope_parameters", None) or {}
        d["rope_theta"] = rp.get("rope_theta", 500000.0)
        d["rope_scaling"] = None
        d["torch_dtype"] = d.pop("dtype", "bfloat16")
        d.pop("layer_types", None)
    edit_json(os.path.join(out, "config.json"), v4)

    t = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    t.chat_template = LLAMA3
    t.save_pretrained(out)
    GenerationConfig(bos_token_id=bos, eos_token_id=[eos, eot], do_sample=True, temperature=0.6,
                     top_p=0.9).save_pretrained(out)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def fmt_float(x):
    return repr(float(x))


def describe(folder, arch):
    """expected.txt from the reference stack's view of the folder."""
    cfg = AutoConfig.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    tok = AutoTokenizer.from_pretrained(folder)
    gen = GenerationConfig.from_pretrained(folder)
    embed = model.get_input_embeddings().weight
    lm_head = model.get_output_embeddings().weight
    attn0 = model.model.layers[0].self_attn
    rope = getattr(cfg, "rope_parameters", None) or {}
    rope_theta = rope.get("rope_theta", getattr(cfg, "rope_theta", None))
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    ids = tok("hello world").input_ids
    add_bos = tok.bos_token_id is not None and len(ids) > 0 and ids[0] == tok.bos_token_id

    lines = ["# written by tests/golden/make_hf_fixtures.py from transformers %s, torch %s; do not edit"
             % (transformers.__version__, torch.__version__)]
    desc = [
        ("arch", arch),
        ("name", os.path.basename(folder)),
        ("n_embd", cfg.hidden_size),
        ("n_layers", cfg.num_hidden_layers),
        ("n_ff", cfg.intermediate_size),
        ("n_heads", cfg.num_attention_heads),
        ("n_kv_heads", cfg.num_key_value_heads),
        ("head_dim", head_dim),
        ("n_vocab", embed.shape[0]),
        ("n_ctx_train", cfg.max_position_embeddings),
        ("rope_theta", fmt_float(rope_theta)),
        ("rms_eps", fmt_float(cfg.rms_norm_eps)),
        ("qkv_bias", int(attn0.q_proj.bias is not None)),
        ("tied_output", int(lm_head.data_ptr() == embed.data_ptr())),
        ("tokenizer_model", "gpt2"),
        ("bos_id", tok.bos_token_id if tok.bos_token_id is not None else -1),
        ("eos_id", tok.eos_token_id if tok.eos_token_id is not None else -1),
        ("pad_id", tok.pad_token_id if tok.pad_token_id is not None else -1),
        ("add_bos", int(add_bos)),
        ("temperature", fmt_float(gen.temperature)),
        ("top_p", fmt_float(gen.top_p)),
        ("top_k", gen.top_k if gen.top_k is not None else -1),
    ]
    for k, v in desc:
        lines.append("desc %s %s" % (k, v))
    stops = set()
    for src in (gen.eos_token_id, tok.eos_token_id):
        if src is None:
            continue
        stops.update(src if isinstance(src, list) else [src])
    for s in sorted(stops):
        lines.append("stop %d" % s)
    lines.append("template_sha256 %s" % sha256(tok.chat_template.encode("utf-8")))

    files = sorted(f for f in os.listdir(folder) if f.endswith(".safetensors"))
    n = 0
    for fname in files:
        with safe_open(os.path.join(folder, fname), framework="pt") as f:
            for hf in sorted(f.keys()):
                t = f.get_tensor(hf)
                g = gguf_name(hf)
                if g is None:
                    continue
                raw = t.contiguous().view(torch.uint8).numpy().tobytes()
                wide = t.to(torch.float64)
                dt = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[t.dtype]
                lines.append("tensor %s %s %s %s %s %s %s" % (
                    hf, g, dt, "x".join(str(d) for d in t.shape), sha256(raw),
                    fmt_float(wide.sum().item()), fmt_float(wide.abs().sum().item())))
                n += 1
    lines.append("n_tensors %d" % n)
    with open(os.path.join(folder, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    builds = [
        ("qwen2-f32", "qwen2", lambda d: build_qwen2(d, torch.float32, None)),
        ("llama-bf16", "llama", build_llama),
        ("qwen2-f16-sharded", "qwen2", lambda d: build_qwen2(d, torch.float16, "64KB")),
    ]
    for name, arch, build in builds:
        folder = os.path.join(OUT, name)
        build(folder)
        describe(folder, arch)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print("%-20s %7d bytes  %s" % (name, size, " ".join(sorted(os.listdir(folder)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
