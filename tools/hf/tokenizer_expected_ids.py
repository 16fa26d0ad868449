"""Expected token ids from Hugging Face `tokenizers` (the reference), for the tokenizer parity tests.

    python3 tools/hf/tokenizer_expected_ids.py --strings tests/parity/tokenizers/strings.jsonl \
        --tokenizer llama3=PATH/tokenizer.json [--tokenizer NAME=PATH ...] --out DIR

For each tokenizer NAME writes DIR/NAME.jsonl: one JSON object per input string, in order, with the ids without
special tokens ("ids"), with them as the file's post-processor adds them ("ids_special"), and the decoded text of
"ids" ("decoded", special tokens kept). Also DIR/versions.json (tokenizers version and each file's sha256).
"""
import argparse
import hashlib
import json
import os

import tokenizers
from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strings", required=True)
    ap.add_argument("--tokenizer", action="append", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.strings, encoding="utf-8") as f:
        strings = [json.loads(ln) for ln in f if ln.strip()]
    os.makedirs(a.out, exist_ok=True)
    versions = {"tokenizers": tokenizers.__version__, "files": {}}
    for spec in a.tokenizer:
        name, path = spec.split("=", 1)
        with open(path, "rb") as f:
            versions["files"][name] = hashlib.sha256(f.read()).hexdigest()
        tok = Tokenizer.from_file(path)
        with open(os.path.join(a.out, name + ".jsonl"), "w", encoding="utf-8") as f:
            for s in strings:
                ids = tok.encode(s, add_special_tokens=False).ids
                rec = {"ids": ids, "ids_special": tok.encode(s, add_special_tokens=True).ids,
                       "decoded": tok.decode(ids, skip_special_tokens=False)}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"{name}: {len(strings)} strings", flush=True)
    with open(os.path.join(a.out, "versions.json"), "w") as f:
        json.dump(versions, f, indent=1)


if __name__ == "__main__":
    main()
