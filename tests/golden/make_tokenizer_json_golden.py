#!/usr/bin/env python3
"""Reference ids for chapter 2 from Hugging Face `tokenizers`, on vocabularies taken from GGUF files.

For each GGUF vocabulary below, this builds a Hugging Face tokenizer (BPE model with the GGUF's
tokens and merges, the pre-tokenizer its `tokenizer.ggml.pre` stands for, control tokens as
special added tokens, user-defined tokens as plain added tokens), encodes a varied set of texts
with it, and writes everything to tokenizer_gguf_hf.json beside this script. The C++ test
(tests/ch02_tokenizer/tokenizer_json_test.cpp) loads the same GGUF files with our loader and must
produce the same ids. So two independent implementations, reading the vocabulary from the same
file, agree; the Python package is needed only to regenerate the JSON.

    pip install tokenizers          # 0.23.3 was used
    python3 tests/golden/make_tokenizer_json_golden.py [--shared DIR] [--default-model FILE]
"""
import argparse
import json
import os
import struct
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def read_gguf_metadata(path):
    """The key/value section of a GGUF file (v2/v3), enough to get the tokenizer."""
    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    with open(path, "rb") as f:
        def rd(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))

        def rstr():
            (n,) = rd("Q")
            return f.read(n).decode("utf-8")

        def rval(t):
            if t == 8:
                return rstr()
            if t == 9:
                (et,) = rd("I")
                (n,) = rd("Q")
                return [rval(et) for _ in range(n)]
            return rd(scalar[t])[0]

        if f.read(4) != b"GGUF":
            raise SystemExit(path + ": not a GGUF file")
        rd("I")
        _, n_kv = rd("QQ")
        kv = {}
        for _ in range(n_kv):
            key = rstr()
            (t,) = rd("I")
            kv[key] = rval(t)
        return kv


def hf_tokenizer_from_gguf(path):
    kv = read_gguf_metadata(path)
    assert kv["tokenizer.ggml.model"] == "gpt2", "only byte-level vocabularies are converted"
    tokens = kv["tokenizer.ggml.tokens"]
    types = kv.get("tokenizer.ggml.token_type", [1] * len(tokens))
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == len(tokens), "duplicate tokens"
    # Split as llama.cpp does: at the first space after the first byte.
    merges = []
    for m in kv["tokenizer.ggml.merges"]:
        k = m.index(" ", 1)
        merges.append((m[:k], m[k + 1:]))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    pre = kv.get("tokenizer.ggml.pre", "default")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in ("gpt-2", "mpt"):
        tok.pre_tokenizer = byte_level
    elif pre in ("smollm", "starcoder", "refact"):
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        raise SystemExit(path + ": no Hugging Face equivalent written for pre-tokenizer " + pre)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == 3])
    tok.add_tokens([AddedToken(t, special=False, normalized=False)
                    for t, ty in zip(tokens, types) if ty == 4])
    return tok, pre


def texts(shared):
    t = {
        "empty": "",
        "hello": "Hello world",
        "contractions": "I'm sure you'll see they've done it, she'd said; it's HE'S and we're 'quoted'.",
        "code": "def f(x):\n    return x**2 + 3.14159  # comment\n\tif (a<=b && c!=d) { y = [1,2,3]; }\n",
        "numbers": "In 1813, 12345678 people paid $3.50 or 1,000,000.25 each; 2nd 3rd 0x1F 1e-9 ½ ² ٣ 四",
        "whitespace": "  two  spaces   three\t\ttabs\n\nnewlines \r\n crlf   \n   trailing   ",
        "spaces_only": "                                  ",
        "newlines_only": "\n\n\n\n",
        "multilingual": "Ελληνικά, русский язык, 中文字符, 日本語のテキスト, 한국어, العربية, עברית, हिन्दी, ไทย",
        "combining": "e\u0301 a\u0308 n\u0303 Cafe\u0301 Zalgo: Z\u0351\u036b\u0343a\u0352l\u0357g\u0311o",
        "emoji": "🦙 👨‍👩‍👧‍👦 👍🏽 🇫🇷 ❤️ 🏳️‍🌈 😀😃😄",
        "unicode_spaces": "non\u00a0breaking\u2003em\u3000ideographic\u2028line\u200bzero\u200dzwj",
        "punctuation": "!!! ??? ... --- *** ((())) «quotes» “smart” ‘single’ — – …",
        "fullwidth": "ＡＢＣ１２３！？　ｆｕｌｌ",
        "special_tokens": "<|im_start|>user\nHi there<|im_end|>\n<|endoftext|> after <|endoftext|>",
        "almost_special": "<|im_start|| <|endoftext <|im_end|x <s> </s> [INST]",
        "urls": "https://example.com/path?q=1&r=two#frag mail@example.org C:\\Users\\x",
    }
    novel = os.path.join(shared, "texts", "pride-and-prejudice.txt")
    with open(novel, encoding="utf-8", newline="") as f:
        prose = f.read()
    start = prose.index("Chapter I.]")
    t["pg1342_prose3000"] = prose[start:start + 3000]
    t["pg1342_head1000"] = prose[:1000]  # byte-order mark and CRLF line ends, as stored
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared"))
    ap.add_argument("--default-model", default=os.path.join(REPO, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=os.path.join(HERE, "tokenizer_gguf_hf.json"))
    args = ap.parse_args()

    golden = os.path.join(args.shared, "golden", "tokenizer")
    sources = {  # name -> (how the C++ test finds the file, path here)
        "gpt-2": ("shared:golden/tokenizer/ggml-vocab-gpt-2.gguf", os.path.join(golden, "ggml-vocab-gpt-2.gguf")),
        "starcoder": ("shared:golden/tokenizer/ggml-vocab-starcoder.gguf", os.path.join(golden, "ggml-vocab-starcoder.gguf")),
        "mpt": ("shared:golden/tokenizer/ggml-vocab-mpt.gguf", os.path.join(golden, "ggml-vocab-mpt.gguf")),
        "smollm2-135m-instruct": ("default_model", args.default_model),
    }
    all_texts = texts(args.shared)
    out = {
        "generator": {
            "script": "tests/golden/make_tokenizer_json_golden.py",
            "library": "tokenizers (Hugging Face, Python) " + tokenizers.__version__,
            "call": "tok.encode(text, add_special_tokens=False).ids (added tokens are matched in raw text)",
            "compare_with": "our encode(text, {.add_bos = false, .parse_special = true}) on the same GGUF",
        },
        "texts": all_texts,
        "vocabularies": {},
    }
    for name, (where, path) in sources.items():
        if not os.path.exists(path):
            print("skipping", name, "(", path, "is absent )", file=sys.stderr)
            continue
        tok, pre = hf_tokenizer_from_gguf(path)
        ids = {k: tok.encode(v, add_special_tokens=False).ids for k, v in all_texts.items()}
        for k, v in all_texts.items():
            assert tok.decode(ids[k], skip_special_tokens=False) == v, (name, k)
        out["vocabularies"][name] = {"gguf": where, "pre": pre, "ids": ids}
        print(name, sum(len(x) for x in ids.values()), "ids", file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
