#!/usr/bin/env python3
"""Compare two activation dumps layer by layer and report the first difference.

    python3 tests/golden/compare_dumps.py OURS_DIR LLAMACPP_DIR [STEP]

OURS_DIR is written by ch10_dump_activations (names such as s0_layer3.q.bin), LLAMACPP_DIR by
tests/golden/dump_llamacpp_tensors.cpp (llama.cpp's graph names, such as s0_Qcur-3.bin). Both
hold raw f32 rows in the same order (token-major). llama.cpp's last layer keeps only the rows
that output logits after attention, so where the row counts differ the last rows are compared.
Prints, in forward order, the max |difference| of each pair and marks the first that is not 0.
"""
import os
import sys

import numpy as np

# ours -> llama.cpp, per layer L (llama.cpp names a tensor before and after RoPE alike; its dump
# keeps the later one).
PAIRS = [("layer{L}.q", "Qcur-{L}"), ("layer{L}.k", "Kcur-{L}"), ("layer{L}.attn", "kqv_out-{L}"),
         ("layer{L}.attn_out", "ffn_inp-{L}"), ("layer{L}.ffn_out", "l_out-{L}")]


def load(directory, step, name):
    path = os.path.join(directory, f"s{step}_{name}.bin")
    return np.fromfile(path, dtype=np.float32) if os.path.exists(path) else None


def main():
    ours_dir, ref_dir = sys.argv[1], sys.argv[2]
    step = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    names = []
    layer = 0
    while load(ours_dir, step, f"layer{layer}.q") is not None:
        names += [(o.format(L=layer), r.format(L=layer)) for o, r in PAIRS]
        layer += 1
    names += [(f"layer{layer}.final_norm", "result_norm"), ("logits", "result_output")]
    first = None
    for ours_name, ref_name in names:
        a, b = load(ours_dir, step, ours_name), load(ref_dir, step, ref_name)
        if a is None or b is None:
            print(f"{ours_name:22s} {ref_name:16s} missing")
            continue
        n = min(a.size, b.size)
        diff = float(np.max(np.abs(a[-n:] - b[-n:]))) if n else 0.0
        mark = ""
        if diff != 0 and first is None:
            first, mark = ours_name, "   <- first difference"
        print(f"{ours_name:22s} {ref_name:16s} max|diff| {diff:.3g}{mark}")
    print("identical" if first is None else f"first difference: {first}")


if __name__ == "__main__":
    main()
