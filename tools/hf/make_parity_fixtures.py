"""Parity fixtures for the engine, made with Hugging Face transformers (run on the GPU machine, which has it).

    python3 tools/hf/make_parity_fixtures.py --corpus kjv.txt --out OUTDIR

Writes, under OUTDIR:
  fixtures/<name>/      a checkpoint written by `save_pretrained` (config.json as this transformers writes it,
                        safetensors in the dtype named, sharded where the name says so), a tokenizer.json for
                        the trained ones, and the reference:
                          reference.json         cases: prompt ids, transformers' FP32 greedy continuation,
                                                 versions; for trained models the prompt text and BF16 text
                          reference.safetensors  per case "caseN": FP32 logits [prompt + generated, vocab] of the
                                                 whole sequence in one forward (causal: row i predicts token i+1)
  models/kjv-target/, models/kjv-draft/   the small trained Llama-architecture pair for the lessons (BF16), one
                        byte-level BPE tokenizer, with held-out perplexity in train.json

The random fixtures are small (2 layers, vocabulary 512) and cover what the engine claims: RoPE with and without
Llama-3 scaling (short original context so the scaling changes the first positions), tied and untied heads, GQA
groups 1/2/4/8, head dims 64 and 128, FP32/BF16/FP16 safetensors, a sharded checkpoint, and the older config keys
(rope_theta / rope_scaling at the top level) beside the form this transformers writes. Weights are drawn so that
logits spread (std about 3): norm gains 1 ± 0.2, so a norm bug cannot hide behind unit gains.
"""
import argparse
import inspect
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

DEV = "cuda" if torch.cuda.is_available() else "cpu"
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
                r"\s+(?!\S)|\s+")


def rope_kwargs(theta, scaling):
    """RoPE settings in the form this transformers takes (rope_parameters in 5.x, rope_theta/rope_scaling before)."""
    if "rope_parameters" in inspect.signature(LlamaConfig.__init__).parameters:
        rp = {"rope_type": "default", "rope_theta": theta} if scaling is None else dict(scaling, rope_type="llama3", rope_theta=theta)
        return {"rope_parameters": rp}
    return {"rope_theta": theta, "rope_scaling": None if scaling is None else dict(scaling, rope_type="llama3")}


def config(hidden, layers, heads, kv, head_dim, inter, vocab, tied, theta, scaling, max_pos, bos=None, eos=None):
    return LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                       num_attention_heads=heads, num_key_value_heads=kv, head_dim=head_dim, max_position_embeddings=max_pos,
                       rms_norm_eps=1e-5, tie_word_embeddings=tied, bos_token_id=bos, eos_token_id=eos,
                       attention_bias=False, mlp_bias=False, **rope_kwargs(theta, scaling))


def spread_init(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):  # Qwen2's q/k/v biases: large enough that ignoring them changes the logits
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name or name == "lm_head.weight":
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:  # linear [out, in]: unit-variance outputs for unit-rms inputs
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def save(model, d, dtype, shard=None):
    os.makedirs(d, exist_ok=True)
    m = model.to(dtype)
    kw = {}
    if shard:
        kw["max_shard_size"] = shard
    m.save_pretrained(d, **kw)
    model.to(torch.float32)


@torch.no_grad()
def reference(d, prompts, gen, tok=None, texts=None, tied=None):
    """transformers' FP32 forward of the saved checkpoint (reloaded, so the reference sees the stored rounding)."""
    ref = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    cases, tensors = [], {}
    for i, p in enumerate(prompts):
        seq = list(p)
        for _ in range(gen):
            seq.append(int(ref(input_ids=torch.tensor([seq])).logits[0, -1].argmax()))
        logits = ref(input_ids=torch.tensor([seq])).logits[0].float().contiguous()
        tensors[f"case{i}"] = logits
        top2 = logits.topk(2, dim=-1).values
        c = {"prompt": list(p), "generated": seq[len(p):], "logits": f"case{i}",
             "min_top2_margin_generated": float((top2[len(p) - 1:-1, 0] - top2[len(p) - 1:-1, 1]).min())}
        if texts is not None:
            c["text"] = texts[i]
            c["generated_text_fp32"] = tok.decode(seq[len(p):], skip_special_tokens=False)
        cases.append(c)
    if tok is not None and DEV == "cuda":  # BF16 on the GPU, for information (what a BF16 engine can be expected to say)
        m16 = AutoModelForCausalLM.from_pretrained(d, dtype=torch.bfloat16).to(DEV).eval()
        for c in cases:
            seq = list(c["prompt"])
            for _ in range(gen):
                seq.append(int(m16(input_ids=torch.tensor([seq], device=DEV)).logits[0, -1].argmax()))
            c["generated_bf16"] = seq[len(c["prompt"]):]
            c["generated_text_bf16"] = tok.decode(c["generated_bf16"], skip_special_tokens=False)
        del m16
    save_file(tensors, os.path.join(d, "reference.safetensors"))
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "reference_dtype": "float32",
            "attn_implementation": "eager", "cases": cases}
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return cases


RANDOM = [
    # name, hidden, layers, heads, kv, head_dim, inter, tied, theta, scaling, max_pos, dtype, shard
    # (the GPU's persistent decode kernel takes hidden, heads x head_dim and intermediate sizes that are multiples
    # of 256: the second and third fixtures; the others exercise its fallback)
    ("rope-mha-d64-untied-f32", 128, 2, 2, 2, 64, 256, False, 10000.0, None, 2048, torch.float32, None),
    ("llama3-gqa2-d64-tied-bf16", 256, 2, 4, 2, 64, 256, True, 10000.0,
     {"factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}, 4096, torch.bfloat16, None),
    ("rope-gqa4-d128-tied-f16", 256, 2, 4, 1, 128, 256, True, 500000.0, None, 8192, torch.float16, None),
    ("llama3-gqa8-d128-untied-sharded", 128, 2, 8, 1, 128, 256, False, 500000.0,
     {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}, 2048, torch.bfloat16, "300KB"),
]
VOCAB = 256


def random_fixtures(out):
    rng = random.Random(7)
    for (name, hidden, layers, heads, kv, hd, inter, tied, theta, scaling, max_pos, dtype, shard) in RANDOM:
        torch.manual_seed(1)
        cfg = config(hidden, layers, heads, kv, hd, inter, VOCAB, tied, theta, scaling, max_pos, bos=1, eos=2)
        model = LlamaForCausalLM(cfg).eval()
        spread_init(model, seed=len(name))
        d = os.path.join(out, "fixtures", name)
        save(model, d, dtype, shard)
        # prompts: one token, a short one, one past the scaled RoPE's original context (32), and a long one
        prompts = [[1], [1] + [rng.randrange(3, VOCAB) for _ in range(6)], [1] + [rng.randrange(3, VOCAB) for _ in range(40)],
                   [1] + [rng.randrange(3, VOCAB) for _ in range(70)]]
        cases = reference(d, prompts, gen=8)
        print(f"{name}: {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes, "
              f"min top-2 margin on the greedy path {min(c['min_top2_margin_generated'] for c in cases):.3f}", flush=True)
    # the older config form (rope_theta and rope_scaling at the top level) for the same weights: config.legacy.json
    # beside the transformers-5 one; the parity test runs the fixture with each
    d = os.path.join(out, "fixtures", "llama3-gqa2-d64-tied-bf16")
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    rp = c.pop("rope_parameters", None)
    if rp is not None:
        c["rope_theta"] = rp.pop("rope_theta")
        c["rope_scaling"] = None if rp.get("rope_type") == "default" else dict(rp, type=rp["rope_type"])
    with open(os.path.join(d, "config.legacy.json"), "w") as f:
        json.dump(c, f, indent=2)


def family_config(family, **kw):
    """A small config of another Llama-like family, as its own transformers class writes it."""
    from transformers import MistralConfig, Qwen2Config, Qwen3Config
    common = dict(vocab_size=VOCAB, num_hidden_layers=2, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2, **rope_kwargs(kw.pop("theta"), None))
    common.update(kw)
    if family == "mistral":
        return MistralConfig(**common)
    if family == "qwen2":
        return Qwen2Config(**common)
    if family == "qwen3":
        return Qwen3Config(**common)
    return LlamaConfig(**common)


FAMILIES = [
    # name, family, config fields, dtype: each adds what the engine must read beyond plain Llama
    ("mistral-gqa4-window", "mistral", dict(hidden_size=256, intermediate_size=512, num_attention_heads=4, num_key_value_heads=1, head_dim=64,
                                             max_position_embeddings=32768, sliding_window=4096, tie_word_embeddings=False, theta=1000000.0), torch.bfloat16),
    ("qwen2-bias-tied", "qwen2", dict(hidden_size=256, intermediate_size=512, num_attention_heads=4, num_key_value_heads=2,
                                      max_position_embeddings=4096, tie_word_embeddings=True, theta=1000000.0), torch.bfloat16),
    ("qwen3-qknorm-d128", "qwen3", dict(hidden_size=256, intermediate_size=512, num_attention_heads=4, num_key_value_heads=2, head_dim=128,
                                        max_position_embeddings=4096, tie_word_embeddings=True, theta=1000000.0), torch.bfloat16),
    # TinyLlama / SmolLM-style Llamas: 32K-vocabulary-style eps 1e-5 untied, and a tied MHA-free small model in FP32
    ("tinyllama-style", "llama", dict(hidden_size=256, intermediate_size=704, num_attention_heads=8, num_key_value_heads=2, head_dim=32 * 2,
                                      max_position_embeddings=2048, tie_word_embeddings=False, theta=10000.0, rms_norm_eps=1e-5), torch.float32),
    ("smollm-style", "llama", dict(hidden_size=192, intermediate_size=512, num_attention_heads=3, num_key_value_heads=1, head_dim=64,
                                   max_position_embeddings=2048, tie_word_embeddings=True, theta=10000.0), torch.bfloat16),
]


def family_fixtures(out):
    rng = random.Random(11)
    for name, family, fields, dtype in FAMILIES:
        torch.manual_seed(2)
        cfg = family_config(family, **dict(fields))
        model = AutoModelForCausalLM.from_config(cfg).eval()
        spread_init(model, seed=len(name))
        d = os.path.join(out, "fixtures", name)
        save(model, d, dtype)
        prompts = [[1], [1] + [rng.randrange(3, VOCAB) for _ in range(9)], [1] + [rng.randrange(3, VOCAB) for _ in range(50)]]
        cases = reference(d, prompts, gen=8)
        print(f"{name} ({type(model).__name__}): {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes, "
              f"min top-2 margin on the greedy path {min(c['min_top2_margin_generated'] for c in cases):.3f}", flush=True)


def train_tokenizer(text_lines, vocab):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[BOS, EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)
    tok.train_from_iterator(text_lines, trainer)
    bos = tok.token_to_id(BOS)
    tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                              processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                                                            special_tokens=[(BOS, bos)])])
    return tok


def train(cfg, data, held, steps, batch, seqlen, lr, bos, seed):
    """AdamW with warm-up and cosine decay; every 250 steps the held-out perplexity (first 16K held-out tokens) is
    measured and the best weights are kept (the corpus is small: a larger model overfits it within a few epochs)."""
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).to(DEV).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    n = data.numel()
    t0 = time.time()
    best, best_state, best_step = float("inf"), None, -1
    for step in range(steps):
        frac = step / steps
        for gparam in opt.param_groups:
            gparam["lr"] = lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        idx = torch.randint(0, n - seqlen, (batch,), device=DEV)
        x = torch.stack([data[i:i + seqlen - 1] for i in idx.tolist()])
        x = torch.cat([torch.full((batch, 1), bos, device=DEV, dtype=torch.long), x], dim=1)
        with torch.autocast(DEV, dtype=torch.bfloat16):
            loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % 250 == 0 or step == steps - 1:
            model.eval()
            ppl, _ = perplexity(model, held[:16384], seqlen, bos)
            model.train()
            if ppl < best:
                best, best_step = ppl, step + 1
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            print(f"  step {step + 1} loss {loss.item():.3f} held-out ppl {ppl:.2f} ({time.time() - t0:.0f} s)", flush=True)
    model.load_state_dict(best_state)
    print(f"  kept step {best_step} (held-out ppl {best:.2f})", flush=True)
    return model.float().eval(), best_step


@torch.no_grad()
def perplexity(model, data, seqlen, bos):
    nll, count = 0.0, 0
    for s in range(0, data.numel() - seqlen, seqlen - 1):
        x = torch.cat([torch.tensor([bos], device=DEV), data[s:s + seqlen - 1]]).unsqueeze(0)
        logits = model(input_ids=x).logits[0, :-1].float()
        nll += torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum").item()
        count += x.shape[1] - 1
    return math.exp(nll / count), count


PROMPTS = ["In the beginning", "And the LORD said unto Moses,", "Blessed are the", "The king of Babylon",
           "And it came to pass, when", "Then Jesus answered and said"]


def trained(out, corpus):
    with open(corpus, encoding="utf-8") as f:
        lines = [ln.split(" ", 1)[1] if " " in ln else ln for ln in f.read().splitlines() if ln.strip()]
    cut = int(len(lines) * 0.95)
    train_lines, held = lines[:cut], lines[cut:]
    tok = train_tokenizer(train_lines, 4096)
    bos, eos = tok.token_to_id(BOS), tok.token_to_id(EOS)
    enc = lambda ls: torch.tensor(tok.encode("\n".join(ls) + "\n", add_special_tokens=False).ids, device=DEV)
    tr, ho = enc(train_lines), enc(held)
    print(f"corpus: {len(lines)} verses, train {tr.numel()} tokens, held-out {ho.numel()} tokens (last 5% of verses)", flush=True)
    scaling = {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    specs = {  # name: hidden, layers, heads, kv, inter, steps
        "kjv-target": (256, 8, 4, 2, 768, 3000),
        "kjv-draft": (128, 2, 2, 1, 384, 3000),
    }
    os.makedirs(os.path.join(out, "models"), exist_ok=True)
    with open(os.path.join(out, "models", "kjv-heldout.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(held) + "\n")  # exactly the text the held-out perplexity is measured on
    report = {"corpus": os.path.basename(corpus), "train_tokens": tr.numel(), "heldout_tokens": ho.numel(), "models": {}}
    for name, (hidden, layers, heads, kv, inter, steps) in specs.items():
        cfg = config(hidden, layers, heads, kv, 64, inter, tok.get_vocab_size(), True, 500000.0, scaling, 131072, bos=bos, eos=eos)
        print(f"training {name}", flush=True)
        t0 = time.time()
        model, kept = train(cfg, tr, ho, steps, 64, 256, 3e-3 if hidden <= 128 else 2e-3, bos, seed=3)
        ppl, n = perplexity(model, ho, 256, bos)
        secs = time.time() - t0
        d = os.path.join(out, "models", name)
        model.to("cpu")
        save(model, d, torch.bfloat16)
        tok.save(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": bos, "eos_token_id": eos, "do_sample": False}, f, indent=2)
        # the reference figure for our engine: the checkpoint as saved (BF16 weights), computed in FP32 by transformers
        saved = LlamaForCausalLM.from_pretrained(d, dtype=torch.float32).to(DEV).eval()
        ppl_saved, _ = perplexity(saved, ho, 256, bos)
        del saved
        print(f"{name}: held-out perplexity of the saved BF16 weights (FP32 compute) {ppl_saved:.3f}", flush=True)
        report["models"][name] = {"heldout_ppl_saved_bf16_weights": ppl_saved, "window": 256,
                                  "params": sum(p.numel() for p in model.parameters()), "steps": steps, "kept_step": kept, "batch": 64, "seq": 256,
                                  "train_seconds": round(secs, 1), "heldout_ppl_fp32": ppl, "heldout_tokens": n}
        print(f"{name}: held-out perplexity {ppl:.2f} over {n} tokens, {secs:.0f} s", flush=True)
        # greedy samples of every prompt for the log; the stored reference keeps three (its FP32 logits are 0.5 MB each)
        prompts = [tok.encode(p).ids for p in PROMPTS[:3]]
        cases = reference(d, prompts, gen=24, tok=tok, texts=PROMPTS[:3])
        for c in cases:
            print(f"  {c['text']!r} -> {c['generated_text_fp32']!r}", flush=True)
        with torch.no_grad():
            m = model.to(DEV)
            for ptxt in PROMPTS[3:]:
                ids = torch.tensor([tok.encode(ptxt).ids], device=DEV)
                gen = m.generate(ids, max_new_tokens=32, do_sample=False)
                print(f"  {ptxt!r} -> {tok.decode(gen[0, ids.shape[1]:].tolist())!r}", flush=True)
    with open(os.path.join(out, "models", "train.json"), "w") as f:
        json.dump(report, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus")
    ap.add_argument("--skip-random", action="store_true", help="only the trained models")
    ap.add_argument("--families-only", action="store_true", help="only the other families' fixtures (Mistral, Qwen2, Qwen3, TinyLlama/SmolLM-style)")
    a = ap.parse_args()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, device {DEV}", flush=True)
    if a.families_only:
        family_fixtures(a.out)
        return
    if not a.corpus:
        ap.error("--corpus is required (except with --families-only)")
    if not a.skip_random:
        random_fixtures(a.out)
        with open(os.path.join(a.out, "fixtures", "llama3-gqa2-d64-tied-bf16", "config.json")) as f:
            print("config.json as this transformers writes it:\n" + f.read())
        family_fixtures(a.out)
    trained(a.out, a.corpus)


if __name__ == "__main__":
    main()
