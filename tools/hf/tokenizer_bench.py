"""Encode throughput of Hugging Face `tokenizers` on one thread, the way TokenizerBench times ours: the text's lines
encoded one by one (no batching), a warm-up pass, five timed passes, the median.

    python3 tools/hf/tokenizer_bench.py --text FILE NAME=tokenizer.json ... > hf-bench.jsonl
"""
import argparse
import json
import os
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # one thread, as ours
from tokenizers import Tokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", required=True)
    ap.add_argument("tokenizers", nargs="+")
    a = ap.parse_args()
    with open(a.text, encoding="utf-8") as f:
        lines = f.read().splitlines()
    nbytes = os.path.getsize(a.text)
    for spec in a.tokenizers:
        name, path = spec.split("=", 1)
        tok = Tokenizer.from_file(path)
        tokens = sum(len(tok.encode(l, add_special_tokens=False).ids) for l in lines)
        s = []
        for _ in range(5):
            t0 = time.perf_counter()
            for l in lines:
                tok.encode(l, add_special_tokens=False)
            s.append(time.perf_counter() - t0)
        s.sort()
        print(json.dumps({"tokenizer": name, "implementation": "HF tokenizers (Rust via Python, one thread)", "lines": len(lines), "bytes": nbytes,
                          "tokens": tokens, "secondsMedian": s[2], "secondsMin": s[0], "secondsMax": s[4], "mbPerS": nbytes / 1e6 / s[2],
                          "tokensPerS": tokens / s[2]}), flush=True)


if __name__ == "__main__":
    main()
