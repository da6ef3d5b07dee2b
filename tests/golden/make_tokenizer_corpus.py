#!/usr/bin/env python3
"""make_tokenizer_corpus.py — writes tests/golden/corpus/tokenizer_corpus.jsonl,
the strings every tokenizer golden fixture is computed on.

Hand-written cases per category plus seeded systematic generation; the output is
committed, rerunning reproduces it byte for byte (stdlib only, fixed seed).
Each line: {"id": N, "cat": "...", "text": "..."}. Texts are valid Unicode
scalar sequences (no surrogates), so every line is valid UTF-8.

    python3 tests/golden/make_tokenizer_corpus.py [OUT.jsonl]
"""
import json
import os
import random
import sys

SEED = 20250101

cases = []


def add(cat, *texts):
    for t in texts:
        cases.append((cat, t))


# --- edge sizes -----------------------------------------------------------------
add("empty", "")
add("single", " ", "\n", "\t", "\r", "a", "Z", "0", "9", ".", "'", "\"", "<", "|", "\\",
    "é", "ß", "中", "あ", "한", "ا", "א", "क", "ก", "€", "😀", "𝐀", "𠀀", "\u00a0",
    "\u3000", "\u200b", "\ufeff", "\ufffd", "\ue000", "~", "`", "_", "-", "@", "#")

# --- English prose --------------------------------------------------------------
add("prose",
    "Hello, world!",
    "Hello world",
    " Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times, it was the age of wisdom.",
    "Mr. O'Neil's dog—a terrier—barked at 3 a.m.; nobody slept.",
    "“Curly quotes” and ‘single ones’ aren't ASCII…",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "What is the capital of France? Answer in one word.",
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    "Once upon a time, in a land far, far away, there lived a small language model.",
    "ALL CAPS SENTENCE WITH SHOUTING!!!",
    "mIxEd CaSe WoRdS aNd NuMbErS 42",
    "  leading spaces and trailing spaces  ",
    "Line one.\nLine two.\nLine three.",
    "Paragraph one.\n\nParagraph two.\n\n\nParagraph three.",
    "A sentence with a very long word: pneumonoultramicroscopicsilicovolcanoconiosis.",
    "e.g. i.e. etc. vs. Dr. St. U.S.A.",
    "Tab\tseparated\tvalues\there",
    "the the the the the the the the the the",
    "Why? Because. How! Like this; or that: maybe.",
    "He said \"hello\" and she said 'goodbye'.",
    "Emails: alice@example.com, bob.smith+tag@sub.example.co.uk",
    "Hashtags #AI #MachineLearning and mentions @user_name",
    "naïve café résumé coöperate façade jalapeño",
    "Straße, Ärger, Öl, Übermut — German umlauts",
    "Ελληνικά: Καλημέρα κόσμε",
    "Русский текст: Привет, мир! Как дела?",
    "Українська: Ґанок, їжак, єнот.",
    "Türkçe: İstanbul ıslak ığdır",
    "Tiếng Việt: Xin chào thế giới",
    "Polski: Zażółć gęślą jaźń",
    "ǅemal ǈubica ǋata (titlecase digraphs)",
)

# --- contractions (the regexes handle 's 't 're 've 'm 'll 'd, some case-insensitively)
add("contraction",
    "it's", "It's", "IT'S", "we'll", "WE'LL", "We'Ll", "they're", "THEY'RE", "They'Re",
    "I'm", "I'M", "you've", "YOU'VE", "he'd", "HE'D", "don't", "DON'T", "can't",
    "'s", " 's", "''s", "'s'", "'S", "'ll've", "o'clock", "rock'n'roll", "y'all",
    "the dog's bone's owner's house", "it'ſ (long s)", "l'homme d'État",
    "I'd've done it", "'twas", "students' papers", "’s curly apostrophe",
)

# --- CJK --------------------------------------------------------------------------
add("zh",
    "你好，世界！",
    "我爱北京天安门。",
    "今天天气很好，我们去公园散步吧。",
    "人工智能是计算机科学的一个分支。",
    "中华人民共和国成立于1949年10月1日。",
    "请一步一步地推理，并把最终答案放在\\boxed{}中。",
    "《红楼梦》是中国古典四大名著之一。",
    "他说：“你好！”她回答：“再见。”",
    "繁體中文：臺灣、香港、澳門",
    "一二三四五六七八九十百千万亿",
    "深度求索（DeepSeek）发布了R1模型。",
    "中文English混合text测试123",
    "Hello! 毕老师！1 + 1 = 2",
    "模型的参数量为15亿。",
    "　全角空格　开头",
    "ＡＢＣ全角字母１２３",
)
add("ja",
    "こんにちは、世界！",
    "カタカナとひらがなと漢字",
    "東京は日本の首都です。",
    "私はコーヒーが好きです。毎朝飲みます。",
    "ｶﾀｶﾅ半角カタカナ",
    "ジャパン・エキスポ２０２４",
    "吾輩は猫である。名前はまだ無い。",
    "ゔ ゕ ゖ ゝ ゞ ヽ ヾ",
    "が ぱ (precomposed) vs か\u3099 は\u309a (combining)",
    "日本語のテキストと English words が混ざっている。",
    "ー〜ッ！？",
    "令和元年五月一日",
)
add("ko",
    "안녕하세요, 세계!",
    "한국어는 한글로 씁니다.",
    "서울은 대한민국의 수도입니다.",
    "저는 학생입니다. 만나서 반갑습니다.",
    "ㄱㄴㄷㄹ ㅏㅑㅓㅕ (compatibility jamo)",
    "\u1100\u1161\u11a8 (conjoining jamo, NFC composes to 각)",
    "\u1112\u1161\u11ab\u1100\u1173\u11af (NFD 한글)",
    "한\u11a8 (precomposed + trailing jamo)",
    "한국어 English 123 섞기",
    "ᄀᄁᄂ old-style leading jamo alone",
)

# --- other scripts ------------------------------------------------------------------
add("rtl",
    "مرحبا بالعالم",
    "اللغة العربية جميلة.",
    "الرقم ١٢٣٤٥ بالأرقام العربية الهندية",
    "שלום עולם",
    "עברית עם ניקוד: שָׁלוֹם",
    "English then עברית then English",
    "فارسی: سلام دنیا ۱۲۳",
    "اردو: ہیلو",
    "\u202eRLO override\u202c and \u200fRLM mark",
)
add("indic",
    "नमस्ते दुनिया",
    "हिन्दी भाषा भारत में बोली जाती है।",
    "संस्कृतम्",
    "देवनागरी अंक: ०१२३४५६७८९",
    "বাংলা ভাষা",
    "தமிழ் மொழி",
    "ગુજરાતી",
    "ਪੰਜਾਬੀ",
    "ಕನ್ನಡ",
    "മലയാളം",
)
add("thai",
    "สวัสดีชาวโลก",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "ตัวเลขไทย ๑๒๓๔๕",
    "ພາສາລາວ",
    "ភាសាខ្មែរ",
    "မြန်မာဘာသာ",
    "ᠮᠣᠩᠭᠣᠯ mongolian",
    "ქართული ენა",
    "Հայերեն լեզու",
    "አማርኛ ቋንቋ",
    "ᏣᎳᎩ cherokee",
)

# --- code -------------------------------------------------------------------------
add("code",
    "#include <stdio.h>\n\nint main(void)\n{\n\tprintf(\"hello\\n\");\n\treturn 0;\n}\n",
    "static inline int max(int a, int b) { return a > b ? a : b; }",
    "for (size_t i = 0; i < n; i++) {\n\t\tsum += x[i] * y[i];\n\t}",
    "struct tokens *t = &out; t->ids[t->n++] = id; /* push */",
    "if (p == NULL || *p == '\\0') return -1;",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "class Foo:\n    def __init__(self, x: int) -> None:\n        self._x = x\n\n    @property\n    def x(self):\n        return self._x\n",
    "print(f\"{name!r:>10} = {value:.3f}\")",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)",
    "lambda x: x**2 if x >= 0 else -x",
    "{\"id\": 1, \"name\": \"duet\", \"tags\": [\"a\", \"b\"], \"ok\": true, \"n\": null}",
    "{\n  \"model\": {\n    \"type\": \"BPE\",\n    \"vocab\": {\"!\": 0}\n  }\n}",
    "[1,2,3,{\"k\":[{}]}]",
    "#!/bin/sh\nset -eu\nfor f in *.txt; do\n\techo \"$f\"\ndone\n",
    "ls -la | grep '^d' | awk '{print $9}' > dirs.txt 2>&1",
    "export PATH=\"$HOME/bin:$PATH\"; cd /tmp && make -j2",
    "\t\tindented\twith\ttabs\t\t",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "<div class=\"main\"><p>Hello &amp; welcome</p></div>",
    "fn main() { let v: Vec<u8> = vec![0; 16]; println!(\"{:?}\", v); }",
    "x = a<<2 | b>>3 & ~c ^ d; y += z /= 2; p->q->r",
    "    four spaces\n        eight spaces\n            twelve",
    "a==b!=c<=d>=e&&f||g::h->i=>j",
    "// comment\n/* block\n   comment */",
    "0xDEADBEEF 0b1010 0o777 1_000_000 3.14f 1e10L",
    "@decorator\ndef f(*args, **kwargs): ...",
)

# --- numbers --------------------------------------------------------------------------
digits = "31415926535897932384626433832795"
for n in range(0, 21):
    add("number", digits[:n])
for n in range(1, 21):
    add("number", "x" + "7" * n + "y")
for n in (1, 2, 3, 4, 5, 6, 7):
    add("number", " " + "1234567"[:n])
add("number",
    "1,234.56", "1.234,56", "1 234 567", "1e-9", "6.022e23", "-0.5", "+42", "3.14159",
    "+1 (555) 123-4567", "555-0100", "+44 20 7946 0958", "2024-01-15", "12:30:45",
    "100%", "$1,000,000.00", "€5", "¥100", "v1.2.3", "192.168.0.1", "1/2", "½ ¼ ¾",
    "x² + y³ = z⁴", "H₂O", "①②③", "Ⅰ Ⅱ Ⅲ Ⅻ", "１２３４５", "٠١٢٣٤٥٦٧٨٩", "०१२", "๑๒๓",
    "1st 2nd 3rd 4th", "3.0e+8m/s", "0.000001", "007", "0", "00", "10000000000000000000000",
    "1" * 50, "9" * 100, "123abc456def789", "a1b2c3d4", "pi=3.14159265358979",
)

# --- emoji and astral -----------------------------------------------------------------
add("emoji",
    "😀😃😄😁", "Hello 👋 world 🌍", "👍🏻👍🏼👍🏽👍🏾👍🏿",
    "👨‍👩‍👧‍👦 family (ZWJ)", "👩🏽‍💻 technologist", "🏳️‍🌈 🏴‍☠️",
    "🇺🇸🇬🇧🇯🇵🇨🇳🇰🇷", "🇺", "❤️ ❤ ☺️ ☺", "1️⃣ #️⃣ *️⃣", "🤷‍♂️🤦‍♀️",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿 (tag sequence)", "🧑‍🤝‍🧑", "emoji🙂inside🙃words", "🫠🫡🫶 newer emoji",
)
add("astral",
    "𝐀𝐁𝐂 𝑎𝑏𝑐 𝔸𝔹ℂ 𝟘𝟙𝟚", "𝕳𝖊𝖑𝖑𝖔", "𠀀𠀁𠀂 CJK ext B", "𪚥 𩸽 𠮷野家", "𐌰𐌱𐌲 gothic",
    "𝄞 music 𝅘𝅥𝅮", "𓀀𓀁 hieroglyphs", "🀄🃏", "𐐷 deseret", "\U0010fffd supplementary PUA",
    "𝟏𝟐𝟑 math digits", "\U0001d7ce\U0001d7cf",
)

# --- whitespace ---------------------------------------------------------------------------
for n in (1, 2, 3, 4, 5, 8, 16, 17, 33):
    add("space", " " * n, "a" + " " * n + "b")
add("space",
    "\t", "\t\t", "\t\t\t\t", " \t \t", "\t \t ", "a\tb", "a \tb", "a\t b",
    "trailing   ", "trailing\t", "trailing\n", "trailing \n", "trailing\n\n",
    "   leading", "\nleading newline", "\n", "\n\n", "\n\n\n\n", " \n", "\n ", " \n ",
    "a\n\nb", "a \n\n b", "a  \n  b", "\n\t\n\t", "  \n\n  \n",
    "\u000b vertical tab \u000c form feed", "nbsp\u00a0here", "\u00a0\u00a0lead",
    "ideographic\u3000space", "em\u2003space en\u2002space thin\u2009space",
    "narrow\u202fnbsp", "line\u2028sep para\u2029sep", "next\u0085line",
    "\u001c\u001d\u001e\u001f separators", "ogham\u1680space", "a\u205fb",
    " " * 200, "\n" * 50, "x" + " \t" * 20 + "y",
)
add("newline",
    "a\r\nb", "\r\n", "\r\n\r\n", "a\rb", "\r", "\r\r\n", "line1\r\nline2\r\n",
    "mixed\n\r\n\r", " \r\n ", "\r \n", "x\r\r\ry", "crlf at end\r\n",
)

# --- Unicode normalisation (Qwen normalises NFC; the others do not) -------------------------
add("combining",
    "e\u0301", "\u00e9", "cafe\u0301", "caf\u00e9", "A\u030a", "\u00c5", "\u212b (angstrom sign)",
    "\u2126 (ohm sign)", "K (kelvin sign \u212a)", "a\u0323\u0302", "a\u0302\u0323",
    "\u1ead", "o\u0308\u0301", "n\u0303", "\u0344", "\u0340\u0341", "\u0958 (devanagari qa)",
    "\uf900 \uf901 (CJK compatibility)", "\ufb01 ligature fi", "\u1e9b\u0323",
    "\u0041\u0301\u0301\u0301\u0301", "x\u0336\u0336 strike", "Z\u0351\u0311\u0302\u0364\u0325\u0318 zalgo",
    "\u0301 leading combining mark", "a\u20dd enclosing", "ǖ vs u\u0308\u0304",
    "\u05e9\u05c1\u05b8 hebrew points", "\u0627\u0653 arabic madda", "\u0e01\u0e34\u0e4a thai marks",
    "Vie\u0323\u0302t Nam", "\u00c7a va", "C\u0327a va",
)

# --- punctuation, markup ------------------------------------------------------------------------
add("punct",
    "!!!", "???", "?!?!", "...", "…", "---", "—–-", "***", "(((", ")))", "[[]]", "{{}}",
    "«»", "„“", "''", "\"\"", "#####", "@@@", "\\\\\\", "////", "~~~", "^^^", "___",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?", "。、，！？", "「」『』【】", ":-) ;-) :-(", "<<<>>>",
    "-> => <- <=> |> <|", "a...b", "a--b", "!!!\n\n", "?\r\n", "..\n..",
)
add("url",
    "https://www.example.com/path/to/page?query=1&lang=en#section",
    "http://localhost:8080/api/v1/users/42",
    "ftp://ftp.example.org/pub/file.tar.gz",
    "See https://github.com/ggerganov/llama.cpp/blob/master/src/llama-vocab.cpp#L123 for details.",
    "file:///home/user/.cache/duet/models/SmolLM2-135M-Instruct.Q4_1.gguf",
    "mailto:someone@example.com?subject=Hi%20there",
    "https://zh.wikipedia.org/wiki/中文",
)
add("markdown",
    "# Title\n\n## Subtitle\n\n- item one\n- item two\n\n1. first\n2. second\n",
    "**bold** *italic* `code` ~~strike~~ [link](http://x.y)",
    "```python\nprint('hi')\n```",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "> quoted text\n> more quote",
    "![alt text](image.png \"title\")",
    "- [ ] todo\n- [x] done",
    "---\ntitle: front matter\n---",
)
add("latex",
    "\\boxed{42}",
    "The answer is \\boxed{\\frac{1}{2}}.",
    "$x^2 + y^2 = z^2$",
    "$$\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}$$",
    "\\begin{align}a &= b \\\\ c &= d\\end{align}",
    "\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}",
    "Therefore, the final answer is $\\boxed{\\dfrac{3\\sqrt{2}}{4}}$.",
    "\\boxed{x = \\{1, 2, 3\\}}",
    "\\(\\alpha + \\beta = \\gamma\\)",
    "\\mathbb{R}^n \\to \\mathbb{R}",
)

# --- special-token spellings (user text must not turn into these tokens) ---------------------
add("special",
    "<|im_end|>",
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "text<|endoftext|>more",
    "<｜begin▁of▁sentence｜><｜User｜>Hello, world!<｜Assistant｜>",
    "<｜User｜>What is 1+1?<｜Assistant｜><think>\n",
    "<｜end▁of▁sentence｜>",
    "<think>",
    "</think>",
    "<think>\nLet me think.\n</think>\n\nThe answer is 2.",
    "a<think>b</think>c",
    " <think> </think> ",
    "<think></think>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello, world!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|reserved_special_token_5|>",
    "<|EOT|>",
    "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "<repo_name>duet<file_sep>main.c",
    "<|im_",
    "<|im_end",
    "im_end|>",
    "<｜User",
    "<｜User｜",
    "｜User｜>",
    "<|eot_id",
    "<think",
    "think>",
    "<<think>>",
    "<|im_end|><|im_end|>",
    "<|im_start|><|im_end|>",
    "< think >",
    "<THINK>",
    "<|IM_END|>",
    "<|im_end|>\u0301 (mark after special)",
    "e<|im_end|>\u0301",
    "<|endoftext|>".join(["a", "b", "c"]),
    "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>Bye<｜Assistant｜>",
    "▁ U+2581 lower one eighth block and ｜ fullwidth bar",
)

# --- unusual code points ---------------------------------------------------------------------------
add("unusual",
    "\ufffd", "replacement \ufffd char", "zero\u200bwidth\u200bspace", "\ufeffBOM at start",
    "BOM\ufeffinside", "private \ue000\ue001\uf8ff use", "soft\u00adhyphen", "zwj\u200dalone",
    "zwnj\u200cpersian", "variation\ufe0fselector", "\ufe0e\ufe0f", "tag\U000e0041chars",
    "non\ufdd0character", "\uffff\ufffe", "a\u0000b (NUL)", "\u0001\u0002\u0003\u007f",
    "\u0080\u009f C1 controls", "\u2060word joiner", "\u2061\u2062\u2063\u2064 invisible math",
    "\u00b7 middle dot \u0387 greek ano teleia", "\u2800 braille blank", "\u115f\u1160 hangul fillers",
    "\u3164 hangul filler", "\U000f0000 plane 15 PUA",
)

# --- very long strings ---------------------------------------------------------------------------
add("long",
    "a" * 300,
    "supercalifragilisticexpialidocious" * 10,
    "0123456789abcdef" * 40,
    "中文" * 250,
    "https://example.com/" + "very/long/path/" * 30,
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 15,
    "ab" * 400,
    "\u00e9" * 200,
    "e\u0301" * 100,
    "😀" * 120,
    "A" * 257,
)

# --- systematic generation (seeded) -----------------------------------------------------------------
rng = random.Random(SEED)
POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    " \t\n\r",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "éèêëàâäôöùûüçñßøåæœÀÉÖÜ",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "あいうえおかきくけこアイウエオカキクケコ漢字",
    "가나다라마바사아자차카타파하한국어",
    "абвгдежзийклмнопрстуфхцчшщъыьэюя",
    "αβγδεζηθικλμνξοπρστυφχψω",
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "אבגדהוזחטיכלמנסעפצקרשת",
    "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह\u093e\u093f\u0940\u094d",
    "กขคงจฉชซญดตถทนบปผพฟภมยรลวสหอฮ\u0e31\u0e34\u0e35",
    "\u0301\u0300\u0308\u0323\u0327\u0303",
    "😀😂🥲👍🏽🇫🇷❤️✨🔥",
    "𝐀𝐁𝑎𝑏𠀀𠀁",
    "\u00a0\u3000\u2003\u200b\ufeff\u0085",
    "'sStTlLdDmMrReEvV",
    "٠١٢٣४५६७¹²³½Ⅻ①",
]
for i in range(120):
    n = rng.randrange(1, 48)
    k = rng.randrange(1, 5)
    pools = rng.sample(POOLS, k)
    add("random", "".join(rng.choice(rng.choice(pools)) for _ in range(n)))

WORDS = ("the of and to in is you that it he was for on are as with his they at be this have "
         "from or one had by word but not what all were we when your can said there use an each "
         "which she do how their if will up other about out many then them these so some her would "
         "make like him into time has look two more write go see number no way could people my than "
         "first water been call who oil its now find long down day did get come made may part").split()
for i in range(40):
    parts = []
    for _ in range(rng.randrange(1, 16)):
        r = rng.random()
        if r < 0.6:
            w = rng.choice(WORDS)
            c = rng.random()
            parts.append(w.upper() if c < 0.1 else w.capitalize() if c < 0.25 else w)
        elif r < 0.75:
            parts.append(str(rng.randrange(0, 10 ** rng.randrange(1, 12))))
        elif r < 0.9:
            parts.append(rng.choice(["'s", "'ll", "'RE", "n't", "'d", "'M", "'ve"]))
        else:
            parts.append(rng.choice([",", ".", "!", "?", ";", ":", " -", "(", ")", "\"", "..."]))
    seps = [rng.choice([" ", " ", " ", "", "  ", "\n", "\t"]) for _ in parts]
    add("wordmix", "".join(s + p for s, p in zip(seps, parts)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "tokenizer_corpus.jsonl")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    seen = set()
    n = 0
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for cat, text in cases:
            if text in seen:
                continue
            seen.add(text)
            text.encode("utf-8")  # raises on surrogates
            f.write(json.dumps({"id": n, "cat": cat, "text": text}, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, out)
    print(f"{out}: {n} strings")


if __name__ == "__main__":
    main()
