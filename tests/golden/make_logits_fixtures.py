#!/usr/bin/env python3
"""make_logits_fixtures.py — what independent implementations compute for a
forward pass, for tests/golden/test_golden_logits.c.

Three parts, each rerunnable on its own (--part NAME, default all):

smollm2   llama.cpp (llama-cpp-python, CPU, n_threads=2) on the real
          SmolLM2-135M-Instruct.Q4_1.gguf from the models cache:
          - "logits": prompts in English and Chinese, chat-rendered (the GGUF's
            own Jinja template rendered by jinja2, as transformers renders it)
            and raw; the ids llama.cpp tokenised them to and the top-20 logits
            at every position (logits_all=True, one batch);
          - "greedy": 20 prompts (English + Chinese, chat and raw), 64 greedy
            tokens each with EOS ignored (prefill in one batch, then one token
            a step, as duet does); per step the top-2 ids and their margin,
            so the test can tell a near-tie from a real disagreement.
          -> fixtures/logits/smollm2_llamacpp.json
smollm2-f32  the same prompts on SmolLM2 with every tensor dequantised to F32
          (gguf-py): without 8-bit activation rounding neither side amplifies
          float-order noise into rounding flips, so logits agree tightly and
          greedy text must match -> fixtures/logits/smollm2_f32_llamacpp.json
          (Each llama.cpp part also records llama.cpp against itself: the
          prompt one token per call instead of one batch — how far its own
          logits move and how many greedy continuations stay identical.)
qwen25    the same (fewer prompts, 32 tokens) on the opt-in
          qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (skipped when absent)
          -> fixtures/logits/qwen25coder_llamacpp.json
tiny      the tiny random models of fixtures/hf/ (made by make_hf_fixtures.py)
          run in transformers (torch, float32) on a few id sequences: full
          logits at every position. Each model is also converted to GGUF in
          F32 and F16 with gguf-py's GGUFWriter the way llama.cpp's
          convert_hf_to_gguf.py does it: for `llama`, the Q and K rows are
          permuted (LlamaModel.permute), which is what makes GGUF llama
          rotate adjacent pairs; `qwen2` is written unpermuted. 1-D tensors
          (norms, biases) stay F32 in the F16 file, as the converter keeps them.
          The reference for each GGUF is transformers with the weights exactly
          as the GGUF stores them (F16 rounding included). As a check of the
          conversion itself, llama.cpp is run on the F32 GGUFs and must agree
          with transformers.
          -> fixtures/logits/hf-FOLDER.json (the safetensors folders),
             fixtures/logits/tiny-ARCH-FTYPE.gguf and .json (the conversions)

Usage: /tmp/venv/bin/python tests/golden/make_logits_fixtures.py [--part smollm2|qwen25|tiny]
(needs: pip install llama-cpp-python gguf numpy jinja2 torch transformers safetensors)
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "logits")
HF = os.path.join(HERE, "fixtures", "hf")
TOP_K = 20
N_THREADS = 2


def models_dir():
    d = os.environ.get("DUET_MODELS")
    if d:
        return d
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "duet", "models")


def f32(x):
    """A float32 value as the shortest text that reads back to the same float32."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-"))


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)
    print("wrote %s (%d bytes)" % (os.path.relpath(path), os.path.getsize(path)))


# --- chat rendering: the model's own template, rendered as transformers does -------


def gguf_chat_template(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    f = r.fields["tokenizer.chat_template"]
    return bytes(f.parts[f.data[0]]).decode("utf-8")


def render_chat(template, messages):
    """transformers' apply_chat_template environment: sandboxed, trim_blocks,
    lstrip_blocks, loop controls, raise_exception."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                            bos_token="", eos_token="")


# --- llama.cpp parts -------------------------------------------------------------------


def topk(row, k):
    idx = np.argpartition(-row, k)[:k]
    idx = idx[np.lexsort((idx, -row[idx]))]  # by logit, then id, descending logit
    return [[int(i), f32(row[i])] for i in idx]


def prompt_case(llm, template, case):
    """Ids of one prompt as llama.cpp tokenises it: chat text with special
    tokens recognised, raw (user) text without."""
    if case["mode"] == "chat":
        text = render_chat(template, case["messages"])
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    else:
        text = case["text"]
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    return text, ids


def run_logits(llm, template, cases):
    out = []
    for case in cases:
        text, ids = prompt_case(llm, template, case)
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[:len(ids)], dtype=np.float32)
        positions = [{"pos": p, "top": topk(scores[p], TOP_K)} for p in range(len(ids))]
        # llama.cpp against itself: the same ids one token per call (its decode
        # kernels instead of its batch kernels), over the same top-20.
        llm.reset()
        self_diff = 0.0
        for p, t in enumerate(ids):
            llm.eval([t])
            row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            for i, v in positions[p]["top"]:
                self_diff = max(self_diff, abs(float(row[i]) - v))
        out.append({"name": case["name"], "mode": case["mode"], "messages": case.get("messages"),
                    "text": text, "ids": ids, "positions": positions, "self_max_diff": f32(self_diff)})
        print("  logits %-14s %4d tokens, llama.cpp batch vs token by token: max |diff| %.4f" %
              (case["name"], len(ids), self_diff))
    return out


def run_greedy(llm, template, cases, n_gen):
    out = []
    for case in cases:
        text, ids = prompt_case(llm, template, case)
        llm.reset()
        llm.eval(ids)
        gen, top2, margins = [], [], []
        for _ in range(n_gen):
            row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            t = topk(row, 2)
            gen.append(t[0][0])
            top2.append([t[0][0], t[1][0]])
            margins.append(f32(t[0][1] - t[1][1]))
            llm.eval([t[0][0]])  # EOS ignored: always n_gen tokens
        gen_text = llm.detokenize(gen, special=True).decode("utf-8", errors="replace")
        # llama.cpp against itself: the prompt one token per call, then the same greedy loop.
        llm.reset()
        for t in ids:
            llm.eval([t])
        self_div = -1
        for k in range(n_gen):
            t = int(np.argmax(np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)))
            if t != gen[k]:
                self_div = k
                break
            llm.eval([t])
        out.append({"name": case["name"], "mode": case["mode"], "messages": case.get("messages"),
                    "text": text, "ids": ids, "gen_ids": gen, "gen_text": gen_text, "top2": top2,
                    "margins": margins, "self_diverges_at": self_div})
        print("  greedy %-14s %4d + %d tokens, min margin %.4f, self %s: %r" %
              (case["name"], len(ids), n_gen, min(margins),
               "identical" if self_div < 0 else "diverges at %d" % self_div, gen_text[:50]))
    return out


def chat(name, user, system=None):
    msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return {"name": name, "mode": "chat", "messages": msgs}


def raw(name, text):
    return {"name": name, "mode": "raw", "text": text}


SMOL_LOGITS = [
    chat("chat-en", "What is the capital of France?"),
    chat("chat-zh", "请用一句话介绍一下长城。"),
    chat("chat-system", "Tell me about the sea in two sentences.", system="You are a pirate. Answer like one."),
    raw("raw-en", "The quick brown fox jumps over the lazy dog. Once upon a time, in a small village,"),
    raw("raw-zh", "从前有一座山，山里有一座庙，庙里有一个老和尚在给小和尚讲故事。"),
    raw("raw-code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n"),
    raw("raw-long", ("Photosynthesis is the process by which green plants, algae and some bacteria turn "
                     "light energy into chemical energy. During this process, carbon dioxide and water are "
                     "converted into glucose and oxygen. The light-dependent reactions take place in the "
                     "thylakoid membranes of the chloroplasts, where chlorophyll absorbs light. The Calvin "
                     "cycle, which does not need light directly, happens in the stroma. Together these "
                     "reactions sustain almost all life on Earth, because they provide both the oxygen we "
                     "breathe and the food at the base of every food chain. In summary,")),
]

SMOL_GREEDY = [
    chat("g-chat-en-1", "What is the capital of France?"),
    chat("g-chat-en-2", "Write a haiku about autumn leaves."),
    chat("g-chat-en-3", "Explain what a binary search does."),
    chat("g-chat-en-4", "Give me three tips for better sleep."),
    chat("g-chat-en-5", "What is 12 times 7?"),
    chat("g-chat-en-6", "Translate 'good morning' into French and Spanish."),
    chat("g-chat-sys", "Who are you?", system="You are a helpful assistant who answers briefly."),
    chat("g-chat-zh-1", "你好！请介绍一下你自己。"),
    chat("g-chat-zh-2", "中国的首都是哪里？"),
    chat("g-chat-zh-3", "写一首关于月亮的短诗。"),
    raw("g-raw-en-1", "The capital of France is"),
    raw("g-raw-en-2", "Once upon a time, there was a little robot who"),
    raw("g-raw-en-3", "The three primary colors are"),
    raw("g-raw-en-4", "In computer science, a linked list is"),
    raw("g-raw-en-5", "import numpy as np\n\ndef softmax(x):\n"),
    raw("g-raw-en-6", "Q: What is the largest planet in our solar system?\nA:"),
    raw("g-raw-en-7", "1, 2, 3, 5, 8, 13,"),
    raw("g-raw-zh-1", "北京是中国的首都，"),
    raw("g-raw-zh-2", "今天天气很好，我们去"),
    raw("g-raw-zh-3", "人工智能是"),
]

QWEN_LOGITS = [
    chat("chat-en", "Write a Python function that reverses a string."),
    chat("chat-zh", "用一句话解释什么是递归。"),
    raw("raw-code", "def quicksort(arr):\n    if len(arr) <= 1:\n        return arr\n"),
    raw("raw-zh", "北京是中国的首都，"),
]

QWEN_GREEDY = [
    chat("g-chat-en-1", "What is the capital of France?"),
    chat("g-chat-en-2", "Write a Python function that checks whether a number is prime."),
    chat("g-chat-zh-1", "中国的首都是哪里？"),
    raw("g-raw-code", "# Print the numbers from 1 to 10\nfor i in range("),
    raw("g-raw-en", "The capital of France is"),
    raw("g-raw-zh", "人工智能是"),
]


def part_llamacpp(model_name, logit_cases, greedy_cases, n_gen, out_name, path=None, note=""):
    import llama_cpp
    path = path or os.path.join(models_dir(), model_name)
    if not os.path.exists(path):
        print("skip %s: %s not in the models cache" % (out_name, path))
        return
    llm = llama_cpp.Llama(model_path=path, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=N_THREADS,
                          n_threads_batch=N_THREADS, logits_all=True, verbose=False)
    template = gguf_chat_template(path)
    print("%s (llama-cpp-python %s)" % (model_name, llama_cpp.__version__))
    data = {
        "meta": {
            "model": model_name,
            "model_sha256": file_sha256(path),
            "reference": "llama-cpp-python %s (llama.cpp CPU), n_threads %d, n_batch 512, logits_all" %
                         (llama_cpp.__version__, N_THREADS),
            "top_k": TOP_K,
            "n_gen": n_gen,
            "written": datetime.date.today().isoformat(),
            "note": "chat prompts: the GGUF's chat template rendered by jinja2 (trim_blocks, "
                    "lstrip_blocks) and tokenised with special tokens; raw prompts without. "
                    "greedy: prompt in one batch, then one token per step, EOS ignored.",
        },
        "logits": run_logits(llm, template, logit_cases),
        "greedy": run_greedy(llm, template, greedy_cases, n_gen),
    }
    data["meta"]["self_consistency"] = {
        "note": "llama.cpp against itself when the prompt runs one token per call instead of in one "
                "batch: how far its own logits move, and how many greedy continuations stay identical",
        "logits_max_diff": max(c["self_max_diff"] for c in data["logits"]),
        "greedy_identical": sum(1 for c in data["greedy"] if c["self_diverges_at"] < 0),
        "greedy_total": len(data["greedy"]),
    }
    if note:
        data["meta"]["model_note"] = note
    print("  self-consistency: %r" % data["meta"]["self_consistency"])
    os.makedirs(OUT, exist_ok=True)
    write_json(os.path.join(OUT, out_name), data)


def dequantize_gguf(src, dst):
    """A copy of src with every tensor dequantised to F32 by gguf-py (bit-identical to
    ggml's own dequantisation) and general.file_type 0 (ALL_F32): the same model with no
    8-bit activation rounding in either implementation, so the comparison is not chaotic."""
    import gguf
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        vtype = f.types[0]
        sub = f.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(name, f.contents(), vtype, sub_type=sub)
    w.add_file_type(0)
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w.add_tensor(t.name, np.ascontiguousarray(a.reshape([int(d) for d in reversed(t.shape)])))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def part_smollm2_f32():
    import tempfile
    src = os.path.join(models_dir(), "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(src):
        print("skip smollm2-f32: %s absent" % src)
        return
    with tempfile.TemporaryDirectory() as tmp:
        dst = os.path.join(tmp, "SmolLM2-135M-Instruct.F32.gguf")
        dequantize_gguf(src, dst)
        part_llamacpp("SmolLM2-135M-Instruct.Q4_1.gguf dequantised to F32", SMOL_LOGITS, SMOL_GREEDY, 64,
                      "smollm2_f32_llamacpp.json", path=dst,
                      note="every tensor of SmolLM2-135M-Instruct.Q4_1.gguf dequantised to F32 (gguf-py), "
                           "metadata copied, general.file_type 0; test_golden_logits makes the same file "
                           "with duet's dequantiser and GGUF writer")


# --- tiny random models: transformers and GGUF conversions ------------------------------------

TINY = [
    # fixture folder, arch, GGUF base name
    ("qwen2-f32", "qwen2", "tiny-qwen2"),
    ("llama-bf16", "llama", "tiny-llama"),
    ("qwen2-f16-sharded", "qwen2", None),
]

HF_TO_GGUF = {
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


def gguf_tensor_name(hf):
    import re
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    m = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", hf)
    return "blk.%s.%s" % (m.group(1), HF_TO_GGUF[m.group(2)])


def llama_permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf.py, LlamaModel.permute (verbatim logic)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def tiny_sequences(n_tok, bos):
    rng = random.Random(20241129)
    seqs = [[rng.randrange(3, n_tok)], [rng.randrange(3, n_tok) for _ in range(9)],
            [rng.randrange(3, n_tok) for _ in range(40)]]
    if bos is not None:
        seqs[1][0] = bos
        seqs[2][0] = bos
    return seqs


def tf_logits(model, seqs):
    import torch
    out = []
    with torch.no_grad():
        for s in seqs:
            x = torch.tensor([s], dtype=torch.long)
            out.append(model(input_ids=x).logits[0].float().numpy())
    return out


def write_tiny_gguf(path, arch, cfg, tok_json, tok_cfg, tensors, ftype):
    """tensors: GGUF name -> float32 numpy array (PyTorch shape). ftype 0 = F32, 1 = F16."""
    import gguf
    w = gguf.GGUFWriter(path, arch)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    rope = getattr(cfg, "rope_parameters", None) or {}
    theta = rope.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))
    w.add_name("tiny random " + arch)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(float(theta))
    w.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    w.add_rope_dimension_count(head_dim)
    w.add_file_type(ftype)
    if arch == "llama":
        w.add_vocab_size(cfg.vocab_size)

    # Tokenizer, padded to the embedding's rows as convert_hf_to_gguf does ([PADn], UNUSED).
    vocab = tok_json["model"]["vocab"]
    added = {a["id"]: a for a in tok_json["added_tokens"]}
    n_vocab = cfg.vocab_size
    by_id = {i: t for t, i in vocab.items()}
    for i, a in added.items():
        by_id[i] = a["content"]
    tokens, types = [], []
    for i in range(n_vocab):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in added and added[i]["special"] else gguf.TokenType.NORMAL)
        else:
            tokens.append("[PAD%d]" % i)
            types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok_json["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2" if arch == "qwen2" else "llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    ids = {t: i for i, t in enumerate(tokens)}
    for key, fn in (("bos_token", w.add_bos_token_id), ("eos_token", w.add_eos_token_id),
                    ("pad_token", w.add_pad_token_id)):
        t = tok_cfg.get(key)
        if isinstance(t, dict):
            t = t.get("content")
        if t in ids:
            fn(ids[t])
    w.add_add_bos_token(arch == "llama")
    if tok_cfg.get("chat_template"):
        w.add_chat_template(tok_cfg["chat_template"])

    for name, a in tensors.items():
        if ftype == 1 and a.ndim == 2:
            a = a.astype(np.float16)
        else:
            a = a.astype(np.float32)
        w.add_tensor(name, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logits_record(source, seqs, logits, note):
    return {
        "source": source,
        "note": note,
        "n_vocab": int(logits[0].shape[1]),
        "sequences": [{"ids": s, "logits": [[f32(v) for v in row] for row in lg]} for s, lg in zip(seqs, logits)],
    }


def part_tiny():
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    ref = "transformers %s, torch %s, float32, CPU" % (transformers.__version__, torch.__version__)
    for folder_name, arch, base in TINY:
        folder = os.path.join(HF, folder_name)
        cfg = AutoConfig.from_pretrained(folder)
        with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
            tok_json = json.load(f)
        with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
            tok_cfg = json.load(f)
        tmpl = os.path.join(folder, "chat_template.jinja")
        if "chat_template" not in tok_cfg and os.path.exists(tmpl):
            with open(tmpl, encoding="utf-8") as f:
                tok_cfg["chat_template"] = f.read()
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        n_tok = len(tok_json["model"]["vocab"])
        bos = tok_cfg.get("bos_token")
        bos_id = None
        if bos:
            bos_id = {a["content"]: a["id"] for a in tok_json["added_tokens"]}.get(bos)
        seqs = tiny_sequences(n_tok, bos_id)

        # The safetensors folder as it is.
        files = {"hf/" + folder_name: tf_logits(model, seqs)}
        write_json(os.path.join(OUT, "hf-%s.json" % folder_name),
                   logits_record("hf/" + folder_name, seqs, files["hf/" + folder_name],
                                 "reference: %s, the folder loaded with dtype float32" % ref))

        if base is None:
            continue
        # GGUF conversions: the weights as the file stores them.
        sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
        if cfg.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        for ftype, suffix in ((0, "f32"), (1, "f16")):
            tensors = {}
            stored = {}
            for hf_name, a in sd.items():
                if arch == "llama" and hf_name.endswith("self_attn.q_proj.weight"):
                    g = llama_permute(a, cfg.num_attention_heads, cfg.num_attention_heads)
                elif arch == "llama" and hf_name.endswith("self_attn.k_proj.weight"):
                    g = llama_permute(a, cfg.num_attention_heads, cfg.num_key_value_heads)
                else:
                    g = a
                tensors[gguf_tensor_name(hf_name)] = np.ascontiguousarray(g)
                # What the file holds, in HF order, for the reference run.
                stored[hf_name] = a.astype(np.float16).astype(np.float32) if (ftype == 1 and a.ndim == 2) else a
            path = os.path.join(OUT, "%s-%s.gguf" % (base, suffix))
            write_tiny_gguf(path, arch, cfg, tok_json, tok_cfg, tensors, ftype)
            print("wrote %s (%d bytes)" % (os.path.relpath(path), os.path.getsize(path)))
            m2 = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
            with torch.no_grad():
                m2.load_state_dict({k: torch.from_numpy(v) for k, v in stored.items()}, strict=False)
                if cfg.tie_word_embeddings:
                    m2.tie_weights()
            lg = tf_logits(m2, seqs)
            write_json(os.path.join(OUT, "%s-%s.json" % (base, suffix)),
                       logits_record("logits/%s-%s.gguf" % (base, suffix), seqs, lg,
                                     "reference: %s, with the weights as the GGUF stores them "
                                     "(F16 rounding of 2-D tensors in the F16 file)" % ref))
            if ftype == 0:
                check_llamacpp_tiny(path, seqs, lg)


def check_llamacpp_tiny(path, seqs, want):
    """llama.cpp on the converted F32 GGUF must agree with transformers: proof that the
    conversion (and its Q/K permutation) is what llama.cpp expects."""
    try:
        import llama_cpp
    except ImportError:
        print("  (llama-cpp-python absent: conversion not cross-checked)")
        return
    llm = llama_cpp.Llama(model_path=path, n_ctx=128, n_threads=N_THREADS, logits_all=True, verbose=False)
    worst = 0.0
    for s, w in zip(seqs, want):
        llm.reset()
        llm.eval(s)
        got = np.array(llm.scores[:len(s)], dtype=np.float32)[:, :w.shape[1]]
        worst = max(worst, float(np.max(np.abs(got - w))))
    scale = max(float(np.max(np.abs(w))) for w in want)
    print("  llama.cpp vs transformers on %s: max |diff| %.3g (logits up to %.3g)" %
          (os.path.basename(path), worst, scale))
    if worst > 2e-2 * max(scale, 1.0):
        sys.exit("llama.cpp disagrees with transformers on %s: the conversion is wrong" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["smollm2", "smollm2-f32", "qwen25", "tiny", "all"], default="all")
    args = ap.parse_args()
    if args.part in ("smollm2", "all"):
        part_llamacpp("SmolLM2-135M-Instruct.Q4_1.gguf", SMOL_LOGITS, SMOL_GREEDY, 64, "smollm2_llamacpp.json")
    if args.part in ("smollm2-f32", "all"):
        part_smollm2_f32()
    if args.part in ("qwen25", "all"):
        part_llamacpp("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", QWEN_LOGITS, QWEN_GREEDY, 32,
                      "qwen25coder_llamacpp.json")
    if args.part in ("tiny", "all"):
        part_tiny()
    return 0


if __name__ == "__main__":
    sys.exit(main())
