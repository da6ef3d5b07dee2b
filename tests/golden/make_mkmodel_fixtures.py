#!/usr/bin/env python3
"""make_mkmodel_fixtures.py — what Hugging Face `tokenizers` makes of the
synthetic tokenizers `duet mkmodel` writes, so test_mkmodel can check that
duet encodes them the same way (and that the tokenizer.json mkmodel writes
is one the reference accepts).

For each configuration below, `duet mkmodel ... --format safetensors` writes a
folder; tokenizers.Tokenizer.from_file(folder/tokenizer.json) encodes the
texts (no special tokens added, and special tokens matched, as duet's
TOKENIZE_SPECIAL does). The ids come from the reference, never from duet.

Writes tests/golden/fixtures/mkmodel/tokenizers.json:
  [{"config": NAME, "vocab": N, "pre": ..., "texts": [{"text": T, "ids": [...]}]}]

Usage: DUET=build/duet /tmp/venv/bin/python tests/golden/make_mkmodel_fixtures.py
(needs: pip install tokenizers; and a built duet)
"""

import json
import os
import subprocess
import sys
import tempfile

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "mkmodel")

# (config, vocabulary override): small vocabularies keep the weights tiny.
CONFIGS = [("tiny-qwen2", 1024), ("tiny-llama", 512), ("smollm2-135m", 2048), ("r1-distill-qwen-1.5b", 4096),
           ("llama-3-8b-instruct", 4096),
           # special tokens amid normal ones (Llama-3 ids 128000..128009 of 128300)
           ("tiny-llama", 128300)]

TEXTS = [
    "Hello world, the quick brown fox jumps over the lazy dog.",
    "  leading spaces\tand\ttabs\nnew lines\r\n and 1234567 digits 3.14159",
    "Ünïcödé: naïve café, 中文字符, emoji 🎉 and e\u0301 combining",
    "don't can't I'm we'll they've you'd it's",
    "<|im_start|>user\nhi<|im_end|> <｜User｜>x<｜Assistant｜> <|eot_id|>",
    "thequickbrownfoxjumpsoverthelazydog zzzz qqqq aaaa",
]


def main() -> int:
    duet = os.environ.get("DUET", "build/duet")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for cfg, vocab in CONFIGS:
            folder = os.path.join(tmp, cfg)
            cmd = [duet, "mkmodel", "--config", cfg, "--layers", "1", "--vocab", str(vocab), "--quant", "f16",
                   "--format", "safetensors", "--out", folder]
            subprocess.run(cmd, check=True, capture_output=True)
            tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
            entry = {"config": cfg, "vocab": vocab, "texts": []}
            for t in TEXTS:
                ids = tok.encode(t, add_special_tokens=False).ids
                entry["texts"].append({"text": t, "ids": ids})
            out.append(entry)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tokenizers.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {OUT}/tokenizers.json: {len(out)} configurations x {len(TEXTS)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
