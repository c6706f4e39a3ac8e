#!/usr/bin/env python3
"""Record reference outputs of llama.cpp (through llama-cpp-python) for llmcpp's tests.

What it records (all committed as small JSON files next to this script; no full logit vectors):

  tests/golden/smollm2-q4_1.llamacpp.json
      The default model models/SmolLM2-135M-Instruct.Q4_1.gguf: provenance (llama-cpp-python
      version, llama.cpp/ggml commit, CPU features, model sha256, context settings: n_ctx, KV
      cache types, flash attention, n_threads, n_batch, logits_all), every tensor of the file
      {name, ggml type, shape, sha256 of its data bytes}, and for 7 prompts (plain text and
      ChatML-rendered chat prompts) the prompt text, the prompt ids from llama.cpp's tokenizer,
      128 greedy ids (pure argmax of the logits, decoding one token at a time with llm.eval;
      generation does NOT stop at EOS, the first EOS step is recorded), the decoded text, the
      top-5 (id, logit) at steps 0, 1, 8, 32, 64, 127 and the top1-top2 logit margin at every
      step. It also records the greedy ids under two other llama.cpp settings (flash attention
      on, as llama-server's default "auto" resolves on CPU; and an f32 KV cache, like llmcpp)
      and where they diverge from the main run.
  tests/golden/smollm2-q8_0.llamacpp.json, tests/golden/smollm2-q4_0.llamacpp.json
      The default model re-quantized by llama.cpp's own quantizer (llama_model_quantize,
      ftype MOSTLY_Q8_0 / MOSTLY_Q4_0, allow_requantize, nthread 2, no imatrix) into /tmp
      (never into the repo): per-tensor {name, type, shape, sha256 of data}, the type llama.cpp
      chose per tensor kind, and for 3 prompts the prompt ids, 64 greedy ids, top-5 after the
      prompt and the margins, run on the quantized file.
  tests/golden/stories260K.llamacpp.json
      /work/shared/models/stories260K-f32.gguf: greedy 256 ids from BOS alone and from
      "Once upon a time", top-5 and margins, the 512 logits after BOS, and whether llama.cpp
      reproduces ../shared/golden/models/stories260K.greedy.json (llama2.c's output).

Conventions. A "step" s is the evaluation that chooses generated token s (0-based): its logits
are computed with len(prompt) + s tokens in the context ("n_past" in the JSON), i.e. step 0 is
the position right after the prompt. The greedy choice is numpy.argmax (lowest id on an exact
tie). Only the last token of each decode batch outputs logits (llama_get_logits_ith(ctx, -1),
logits_all = False), as in llama-server; the prompt is decoded as a single batch. Logits are
the f32 values llama.cpp returned, written as exact decimal doubles.

How to rerun (the engine and its tests never need this script or llama-cpp-python; only the
JSON it writes is committed and read at test time):

    pip install llama-cpp-python==0.3.36   # builds llama.cpp from source (~8 min on 2 cores);
                                           # on an Intel AMX machine first export
                                           # CFLAGS/CXXFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    pip install jinja2                     # usually pulled in by llama-cpp-python
    python3 tests/golden/make_llamacpp_golden.py

Runs with 2 threads; about 1 minute on an idle 2-core machine (up to ~3 minutes when the cores
are shared). Writes the quantized models and llama.cpp's logs to /tmp/llmcpp-golden-*. The
output is deterministic: two runs on the same machine wrote identical ids and logits.
"""

import contextlib
import ctypes
import hashlib
import importlib.metadata
import json
import os
import re
import struct
import sys
import time

import numpy as np
import llama_cpp
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))

MODEL = os.path.join(REPO, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
STORIES = os.path.join(SHARED, "models", "stories260K-f32.gguf")
STORIES_GOLDEN = os.path.join(SHARED, "golden", "models", "stories260K.greedy.json")
TMP = "/tmp"

N_THREADS = 2
N_CTX = 512
N_BATCH = 512
N_GEN = 128
TOP_STEPS = [0, 1, 8, 32, 64, 127]
N_GEN_QUANT = 64
N_GEN_STORIES = 256
TOP_STEPS_STORIES = [0, 1, 8, 32, 64, 127, 255]

# (name, text, chat?) — chat prompts are rendered with the GGUF's own chat template.
PROMPTS = [
    ("once-upon-a-time", "Once upon a time", False),
    ("capital-of-france-plain", "The capital of France is", False),
    ("pride-and-prejudice", (
        "It is a truth universally acknowledged, that a single man in possession of a good "
        "fortune, must be in want of a wife. However little known the feelings or views of such "
        "a man may be on his first entering a neighbourhood, this truth is so well fixed in the "
        "minds of the surrounding families, that he is considered the rightful property of some "
        "one or other of their daughters. \"My dear Mr. Bennet,\" said his lady to him one day, "
        "\"have you heard that Netherfield Park is let at last?\""), False),
    ("digits-punct-unicode",
     "In 2024, the caf\u00e9 sold 1,234 cr\u00eapes at \u20ac3.50 each (+7.5% VAT) \u2014 "
     "na\u00efve math: 1234 \u00d7 3.5 = 4319?! \u6771\u4eac\u306f\u96e8\u3002 \U0001F680 "
     "<b>x</b> 0x1F; it's 10:45 p.m.", False),
    ("chat-capital-of-germany", "What is the capital of Germany?", True),
    ("chat-capital-of-france", "What is the capital of France?", True),
    ("chat-spider-legs", "How many legs does a spider have?", True),
]
QUANT_PROMPTS = ["once-upon-a-time", "capital-of-france-plain", "chat-capital-of-germany"]

TIMINGS = {}


# ----------------------------------------------------------------------------- utilities

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def lib_path(name):
    return os.path.join(os.path.dirname(llama_cpp.__file__), "lib", name)


_ggml = ctypes.CDLL(lib_path("libggml-base.so"))
for _fn, _res, _args in [("ggml_commit", ctypes.c_char_p, []),
                         ("ggml_version", ctypes.c_char_p, []),
                         ("ggml_type_name", ctypes.c_char_p, [ctypes.c_int]),
                         ("ggml_type_size", ctypes.c_size_t, [ctypes.c_int]),
                         ("ggml_blck_size", ctypes.c_int64, [ctypes.c_int])]:
    getattr(_ggml, _fn).restype = _res
    getattr(_ggml, _fn).argtypes = _args


def type_name(t):
    return _ggml.ggml_type_name(t).decode()


@contextlib.contextmanager
def quiet_stderr(log_path):
    """Send C-level stderr (llama.cpp's log) to a file."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log_path, "wb") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def provenance_common():
    return {
        "generator": "tests/golden/make_llamacpp_golden.py",
        "llama_cpp_python_version": importlib.metadata.version("llama_cpp_python"),
        "llama_cpp_commit": _ggml.ggml_commit().decode(),
        "llama_cpp_commit_source": "ggml_commit() of the vendored libggml-base.so "
                                   "('-dirty': llama-cpp-python patches its vendored tree)",
        "ggml_version": _ggml.ggml_version().decode(),
        "llama_print_system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "cpu_model": cpu_model(),
        "numpy_version": np.__version__,
    }


# ----------------------------------------------------------------------------- GGUF parsing

_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
           10: "<Q", 11: "<q", 12: "<d"}


def parse_gguf(path):
    """Return (version, kv dict (arrays summarized), tensor list with data sha256)."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def rd_str():
        nonlocal pos
        n = rd("<Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    def rd_val(t):
        if t in _SCALAR:
            return rd(_SCALAR[t])
        if t == 8:
            return rd_str()
        if t == 9:
            et = rd("<I")
            n = rd("<Q")
            vals = [rd_val(et) for _ in range(n)]
            return {"array_of": et, "count": n, "values": vals}
        raise ValueError("bad gguf value type %d" % t)

    assert data[:4] == b"GGUF", path
    pos = 4
    version = rd("<I")
    n_tensors = rd("<Q")
    n_kv = rd("<Q")
    kv = {}
    for _ in range(n_kv):
        key = rd_str()
        t = rd("<I")
        kv[key] = rd_val(t)
    infos = []
    for _ in range(n_tensors):
        name = rd_str()
        nd = rd("<I")
        shape = [rd("<Q") for _ in range(nd)]
        t = rd("<I")
        off = rd("<Q")
        infos.append((name, shape, t, off))
    align = kv.get("general.alignment", 32)
    data_start = (pos + align - 1) // align * align
    tensors = []
    for name, shape, t, off in infos:
        nel = 1
        for d in shape:
            nel *= d
        nbytes = nel // _ggml.ggml_blck_size(t) * _ggml.ggml_type_size(t)
        start = data_start + off
        blob = data[start:start + nbytes]
        assert len(blob) == nbytes, name
        tensors.append({"name": name, "type": type_name(t), "type_id": t, "shape": shape,
                        "offset": off, "nbytes": nbytes,
                        "sha256": hashlib.sha256(blob).hexdigest()})
    return version, kv, tensors, align, data_start


def summarize_kv(kv):
    out = {}
    for k, v in kv.items():
        if isinstance(v, dict):
            out[k] = "array[%d]" % v["count"]
        else:
            out[k] = v
    return out


def tensor_kind(name):
    return re.sub(r"^blk\.\d+\.", "blk.N.", name)


def kinds_summary(tensors):
    kinds = {}
    for t in tensors:
        k = tensor_kind(t["name"])
        kinds.setdefault(k, {})
        kinds[k][t["type"]] = kinds[k].get(t["type"], 0) + 1
    return kinds


# ----------------------------------------------------------------------------- running

def load(path, flash_attn=False, type_kv=None, log_name="load"):
    kw = dict(n_ctx=N_CTX, n_batch=N_BATCH, n_threads=N_THREADS, n_threads_batch=N_THREADS,
              logits_all=False, flash_attn=flash_attn, verbose=False, seed=0)
    if type_kv is not None:
        kw["type_k"] = type_kv
        kw["type_v"] = type_kv
    with quiet_stderr(os.path.join(TMP, "llmcpp-golden-%s.log" % log_name)):
        return llama_cpp.Llama(path, **kw)


def context_settings(llm):
    cp = llm.context_params
    fa = {-1: "auto", 0: "disabled", 1: "enabled"}[cp.flash_attn_type]
    return {
        "n_ctx": llm.n_ctx(),
        "n_batch": cp.n_batch,
        "n_ubatch": cp.n_ubatch,
        "n_threads": cp.n_threads,
        "n_threads_batch": cp.n_threads_batch,
        "type_k": type_name(cp.type_k),
        "type_v": type_name(cp.type_v),
        "flash_attn": fa,
        "logits_all": False,
        "logits_read_with": "llama_get_logits_ith(ctx, -1) after each llm.eval()",
        "prompt_decoded_as_one_batch": True,
        "greedy": "numpy.argmax over the raw logits (no sampler), lowest id on exact ties",
    }


def last_logits(llm):
    ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).copy()


def top_k(logits, k=5):
    idx = np.argpartition(-logits, k)[:k]
    idx = sorted(idx.tolist(), key=lambda i: (-float(logits[i]), i))
    return [[int(i), float(logits[i])] for i in idx]


def margin(logits):
    top2 = np.partition(logits, -2)[-2:]
    return float(np.float64(top2.max()) - np.float64(top2.min()))


def greedy(llm, prompt_ids, n_gen, top_steps):
    llm.reset()
    llm.eval(prompt_ids)
    ids, margins, tops = [], [], []
    for s in range(n_gen):
        lg = last_logits(llm)
        tok = int(np.argmax(lg))
        margins.append(margin(lg))
        if s in top_steps:
            tops.append({"step": s, "n_past": len(prompt_ids) + s, "chosen": tok,
                         "top5": top_k(lg)})
        ids.append(tok)
        if s + 1 < n_gen:
            llm.eval([tok])
    return ids, margins, tops


def detok(llm, ids, special):
    return llm.detokenize(ids, special=special).decode("utf-8", errors="replace")


def chat_template_render(template, user_text, bos, eos):
    # As Hugging Face's apply_chat_template (and llama-cpp-python's Jinja2ChatFormatter) do.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(msg):
        raise RuntimeError(msg)

    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(
        messages=[{"role": "user", "content": user_text}], add_generation_prompt=True,
        bos_token=bos, eos_token=eos)


def add_bos_of(llm):
    meta = llm.metadata.get("tokenizer.ggml.add_bos_token")
    vocab_default = bool(llama_cpp.llama_vocab_get_add_bos(llm._model.vocab))
    used = (meta == "true") if meta is not None else vocab_default
    return used, meta, vocab_default


def prompt_record(llm, name, text, chat, template, add_bos, eos_id):
    rendered = chat_template_render(template, text, llm._model.token_get_text(1),
                                    llm._model.token_get_text(eos_id)) if chat else text
    ids = llm.tokenize(rendered.encode("utf-8"), add_bos=add_bos, special=True)
    return {"name": name, "chat": chat, "user_message": text if chat else None,
            "prompt": rendered, "add_bos": add_bos, "prompt_ids": ids}


def run_case(llm, rec, n_gen, top_steps, eos_id):
    ids, margins, tops = greedy(llm, rec["prompt_ids"], n_gen, top_steps)
    first_eos = ids.index(eos_id) if eos_id in ids else None
    out = dict(rec)
    out.update({
        "n_gen": n_gen,
        "greedy_ids": ids,
        "eos_id": eos_id,
        "first_eos_step": first_eos,
        "text_until_eos": detok(llm, ids[:first_eos] if first_eos is not None else ids, False),
        "text_all_with_specials": detok(llm, ids, True),
        "top5": tops,
        "margins": margins,
        "min_margin": min(margins),
        "min_margin_step": int(np.argmin(margins)),
        "min_margin_until_eos": (min(margins[:first_eos + 1]) if first_eos is not None
                                 else min(margins)),
    })
    return out


def first_divergence(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def write_json(name, obj):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def timed(label):
    class T:
        def __enter__(self):
            self.t = time.time()

        def __exit__(self, *a):
            TIMINGS[label] = round(time.time() - self.t, 2)
            print("[%6.2fs] %s" % (TIMINGS[label], label), flush=True)
    return T()


# ----------------------------------------------------------------------------- main parts

def smollm2_main():
    with timed("smollm2 q4_1: parse + hash tensors"):
        version, kv, tensors, align, data_start = parse_gguf(MODEL)
        model_sha = sha256_file(MODEL)
    with timed("smollm2 q4_1: load"):
        llm = load(MODEL, log_name="q4_1")
    add_bos, add_bos_meta, add_bos_vocab = add_bos_of(llm)
    eos_id = int(llm.metadata["tokenizer.ggml.eos_token_id"])
    template = llm.metadata["tokenizer.chat_template"]
    recs = [prompt_record(llm, n, t, c, template, add_bos, eos_id) for n, t, c in PROMPTS]
    cases = []
    with timed("smollm2 q4_1: greedy %d x %d tokens (f16 KV, FA off)" % (len(recs), N_GEN)):
        for r in recs:
            cases.append(run_case(llm, r, N_GEN, TOP_STEPS, eos_id))
    settings = context_settings(llm)
    del llm

    variants = []
    for label, fa, tkv in [("flash_attn_on_f16_kv", True, None),
                           ("flash_attn_off_f32_kv", False, 0)]:
        with timed("smollm2 q4_1: variant %s" % label):
            llm = load(MODEL, flash_attn=fa, type_kv=tkv, log_name=label)
            vs = context_settings(llm)
            res = []
            for r, c in zip(recs, cases):
                ids, margins, tops = greedy(llm, r["prompt_ids"], N_GEN, [0])
                d = first_divergence(ids, c["greedy_ids"])
                llm.reset()
                llm.eval(r["prompt_ids"])
                lg0 = last_logits(llm)
                main_top = c["top5"][0]["top5"]
                diff0 = max(abs(float(lg0[i]) - v) for i, v in main_top)
                res.append({"name": r["name"], "greedy_ids": ids, "identical_to_main": d is None,
                            "step0_top5": tops[0]["top5"],
                            "step0_max_abs_diff_on_main_top5_ids": diff0,
                            "first_divergence_step": d,
                            "main_margin_at_divergence": (c["margins"][d] if d is not None
                                                          else None),
                            "min_margin": min(margins)})
            variants.append({"label": label, "settings": vs, "cases": res})
            del llm

    out = {
        "description": "llama.cpp reference outputs for the default model; see "
                       "tests/golden/make_llamacpp_golden.py for conventions",
        "provenance": dict(provenance_common(), **{
            "model": os.path.relpath(MODEL, REPO),
            "model_sha256": model_sha,
            "model_size": os.path.getsize(MODEL),
            "settings": settings,
            "llama_cpp_defaults_note": (
                "llama_context_default_params() has type_k = type_v = f16 and flash_attn_type = "
                "auto (-1); llama-cpp-python's Llama(flash_attn=False) sets it to disabled, "
                "which the main cases use. 'auto' (llama-server / llama-cli default) enables "
                "flash attention on CPU: see variants['flash_attn_on_f16_kv']."),
            "add_bos_used": add_bos,
            "add_bos_metadata": add_bos_meta,
            "add_bos_vocab_default": add_bos_vocab,
            "chat_template": template,
            "chat_template_rendering": "jinja2 ImmutableSandboxedEnvironment(trim_blocks=True, "
                                       "lstrip_blocks=True), messages=[{role: user, content}], "
                                       "add_generation_prompt=True (as HF apply_chat_template)",
            "tokenize_call": "llm.tokenize(prompt.encode(), add_bos=add_bos_used, special=True)",
            "step_convention": "step s = logits that chose generated token s (0-based), computed "
                               "with n_past = len(prompt_ids) + s tokens in context",
        }),
        "gguf": {"version": version, "alignment": align, "data_offset": data_start,
                 "kv": summarize_kv({k: v for k, v in kv.items()
                                     if k != "tokenizer.chat_template"})},
        "tensor_types_by_kind": kinds_summary(tensors),
        "tensors": tensors,
        "cases": cases,
        "variants": variants,
    }
    write_json("smollm2-q4_1.llamacpp.json", out)
    return recs


def quantized(ftype, tag, recs):
    outp = os.path.join(TMP, "llmcpp-golden-SmolLM2-135M-Instruct.%s.gguf" % tag.upper())
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    params.nthread = N_THREADS
    with timed("quantize q4_1 -> %s" % tag):
        with quiet_stderr(os.path.join(TMP, "llmcpp-golden-quantize-%s.log" % tag)):
            rc = llama_cpp.llama_model_quantize(MODEL.encode(), outp.encode(),
                                                ctypes.byref(params))
        assert rc == 0, "llama_model_quantize failed: %d" % rc
    with timed("%s: parse + hash tensors" % tag):
        version, kv, tensors, align, data_start = parse_gguf(outp)
        file_sha = sha256_file(outp)
    with timed("%s: load + greedy %d x %d" % (tag, len(QUANT_PROMPTS), N_GEN_QUANT)):
        llm = load(outp, log_name=tag)
        eos_id = int(llm.metadata["tokenizer.ggml.eos_token_id"])
        cases = []
        for r in recs:
            if r["name"] not in QUANT_PROMPTS:
                continue
            ids = llm.tokenize(r["prompt"].encode("utf-8"), add_bos=r["add_bos"], special=True)
            assert ids == r["prompt_ids"], "tokenizer changed by quantization?"
            cases.append(run_case(llm, r, N_GEN_QUANT, [0], eos_id))
        settings = context_settings(llm)
        del llm
    kinds = kinds_summary(tensors)
    src = {t["name"]: t for t in parse_gguf(MODEL)[2]}
    for t in tensors:
        st = src.get(t["name"])
        t["source_type"] = st["type"] if st else None
        t["bytes_identical_to_source"] = bool(st and st["sha256"] == t["sha256"])
    out = {
        "description": "The default model re-quantized by llama.cpp's llama_model_quantize; "
                       "see tests/golden/make_llamacpp_golden.py",
        "provenance": dict(provenance_common(), **{
            "source_model": os.path.relpath(MODEL, REPO),
            "source_model_sha256": sha256_file(MODEL),
            "quantize_call": "llama_model_quantize(src, dst, params) with params = "
                             "llama_model_quantize_default_params(), ftype = LLAMA_FTYPE_MOSTLY_%s "
                             "(%d), allow_requantize = True, nthread = %d; no imatrix, pure = "
                             "False, quantize_output_tensor = True" % (tag.upper(), ftype,
                                                                       N_THREADS),
            "output_file": os.path.basename(outp) + " (in /tmp, not committed)",
            "output_sha256": file_sha,
            "output_size": os.path.getsize(outp),
            "settings": settings,
        }),
        "token_embd_type": next(t["type"] for t in tensors if t["name"] == "token_embd.weight"),
        "has_output_weight": any(t["name"] == "output.weight" for t in tensors),
        "tensor_types_by_kind": kinds,
        "tensors_copied_unchanged": [t["name"] for t in tensors if t["bytes_identical_to_source"]],
        "note": "A tensor whose target type equals its source type is copied, not re-quantized "
                "(token_embd.weight is q8_0 in the source); others are dequantized from the "
                "source type (q4_1) to f32 and quantized with llama.cpp's reference quantizer "
                "(no imatrix).",
        "gguf": {"version": version, "alignment": align, "data_offset": data_start,
                 "kv": summarize_kv({k: v for k, v in kv.items()
                                     if k != "tokenizer.chat_template"})},
        "tensors": tensors,
        "cases": cases,
    }
    write_json("smollm2-%s.llamacpp.json" % tag, out)


def stories():
    with open(STORIES_GOLDEN) as f:
        gold = json.load(f)
    with timed("stories260K: load"):
        llm = load(STORIES, log_name="stories")
    add_bos, add_bos_meta, add_bos_vocab = add_bos_of(llm)
    eos_id = int(llm.metadata["tokenizer.ggml.eos_token_id"])
    bos_id = int(llm.metadata["tokenizer.ggml.bos_token_id"])
    cases = []
    with timed("stories260K: greedy 2 x %d" % N_GEN_STORIES):
        r = {"name": "bos", "chat": False, "user_message": None, "prompt": "",
             "add_bos": True, "prompt_ids": [bos_id]}
        cases.append(run_case(llm, r, N_GEN_STORIES, TOP_STEPS_STORIES, eos_id))
        llm.reset()
        llm.eval([bos_id])
        logits_bos = last_logits(llm)
        r = {"name": "once-upon-a-time", "chat": False, "user_message": None,
             "prompt": "Once upon a time", "add_bos": add_bos,
             "prompt_ids": llm.tokenize(b"Once upon a time", add_bos=add_bos, special=True)}
        cases.append(run_case(llm, r, N_GEN_STORIES, TOP_STEPS_STORIES, eos_id))
    settings = context_settings(llm)
    gcases = {c["name"]: c for c in gold["cases"]}
    texts = {c["name"]: detok(llm, c["prompt_ids"][1:] + c["greedy_ids"][:gcases[c["name"]]["n"]],
                              False) for c in cases}
    del llm

    checks = {}
    for c in cases:
        g = gcases[c["name"]]
        n = g["n"]
        checks[c["name"]] = {
            "golden_n": n,
            "prompt_ids_equal": c["prompt_ids"] == g["prompt_ids"],
            "greedy_ids_equal_first_n": c["greedy_ids"][:n] == g["greedy_ids"][:n],
            "first_divergence_step": first_divergence(c["greedy_ids"][:n], g["greedy_ids"][:n]),
        }
        if "text" in g:
            # llama.cpp keeps the space of the first piece ("▁Once"); llama2.c prints none.
            t = texts[c["name"]]
            checks[c["name"]]["text_equal_modulo_leading_space"] = (
                (t[1:] if t.startswith(" ") else t) == g["text"])
    gl = np.array(gold["logits_after_bos"], dtype=np.float64)
    checks["logits_after_bos_max_abs_diff"] = float(np.max(np.abs(gl - logits_bos)))
    checks["logits_after_bos_top5_ids_equal"] = (
        [i for i, _ in top_k(logits_bos)] == gold["logits_after_bos_top5"])
    checks["reproduces_golden"] = all(v["greedy_ids_equal_first_n"] and v["prompt_ids_equal"]
                                      for k, v in checks.items() if isinstance(v, dict))
    out = {
        "description": "llama.cpp on stories260K-f32.gguf, compared with llama2.c's "
                       "../shared/golden/models/stories260K.greedy.json",
        "provenance": dict(provenance_common(), **{
            "model": os.path.relpath(STORIES, REPO),
            "model_sha256": sha256_file(STORIES),
            "settings": settings,
            "add_bos_used": add_bos,
            "add_bos_metadata": add_bos_meta,
            "add_bos_vocab_default": add_bos_vocab,
            "step_convention": "step s = logits that chose generated token s (0-based)",
        }),
        "check_against_llama2c_golden": checks,
        "logits_after_bos": [float(x) for x in logits_bos],
        "cases": cases,
    }
    write_json("stories260K.llamacpp.json", out)
    return checks


def main():
    t0 = time.time()
    for p in (MODEL, STORIES, STORIES_GOLDEN):
        assert os.path.exists(p), p
    recs = smollm2_main()
    quantized(llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "q8_0", recs)
    quantized(llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0, "q4_0", recs)
    checks = stories()
    print("stories260K reproduces llama2.c golden:", checks["reproduces_golden"])
    print("timings (s):", json.dumps(TIMINGS, indent=1))
    print("total %.1fs" % (time.time() - t0))


if __name__ == "__main__":
    main()
