#!/usr/bin/env python3
"""A gpt-fast-style PyTorch peer for the engine's decode step (issue 21).

A Llama decoder with a static KV cache, compiled with torch.compile(mode="reduce-overhead") so each decode step
replays a CUDA graph, run on the same shape as `DecodeBench --model llama-3.2-1b` (real 128,256-token vocabulary,
tied LM head, Llama-3 RoPE frequencies) with seeded random BF16 weights (normal, std 0.02). One step = embed B
tokens, 16 layers (RMSNorm, fused QKV GEMV, RoPE, KV write at the row's position, SDPA over the cache with a mask,
o_proj, RMSNorm, gate/up GEMV, SiLU*mul, down), final norm, LM head, argmax: the work the engine's greedy step does.

Timing: every step between CUDA events after warm-up (graph capture included in the warm-up), median and p10/p90
of `--steps` steps. Bytes per step = weights (embedding row reads are counted as the tied head's full read once)
+ the KV cache actually attended (B x context x layers x 2 x kv_heads x head_dim x 2 bytes); the roofline fraction
is that over the device-to-device copy bandwidth measured in the same process (read + write of a 1 GiB buffer).

    python3 kernels/bench/decode_peer.py --batches 1,8,16,32 --context 512 --out peer.jsonl
"""
import argparse
import json
import math
import re
import time

import torch
import torch.nn.functional as F

SHAPES = {
    # hidden, intermediate, layers, heads, kv heads, vocab, rope theta, tied head
    "llama-3.2-1b": dict(hidden=2048, inter=8192, layers=16, heads=32, kv=8, vocab=128256, theta=500000.0, tied=True),
    "llama-3.2-1b-generator-vocab": dict(hidden=2048, inter=8192, layers=16, heads=32, kv=8, vocab=1256, theta=500000.0, tied=True),
}


def llama3_inv_freq(head_dim, theta, factor=32.0, low=1.0, high=4.0, original=8192):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    low_wl, high_wl = original / low, original / high
    out = []
    for f in inv.tolist():
        wl = 2 * math.pi / f
        if wl < high_wl:
            out.append(f)
        elif wl > low_wl:
            out.append(f / factor)
        else:
            s = (original / wl - low) / (high - low)
            out.append((1 - s) * f / factor + s * f)
    return torch.tensor(out, dtype=torch.float32)


class Peer(torch.nn.Module):
    def __init__(self, s, batch, max_len, device):
        super().__init__()
        g = torch.Generator(device="cpu").manual_seed(1234)
        d, hd = s["hidden"], s["hidden"] // s["heads"]
        self.s, self.hd = s, hd

        def w(name, *shape):
            self.register_buffer(name, (torch.randn(*shape, generator=g) * 0.02).to(torch.bfloat16).to(device))

        def ones(name):
            self.register_buffer(name, torch.ones(d, dtype=torch.bfloat16, device=device))

        # registered buffers: torch.compile treats them as static, so the CUDA graph reads them in place and the
        # in-place KV writes stay inside the graph
        w("embed", s["vocab"], d)
        if not s["tied"]:
            w("head_w", s["vocab"], d)
        for l in range(s["layers"]):
            w(f"qkv{l}", (s["heads"] + 2 * s["kv"]) * hd, d)
            w(f"o{l}", d, s["heads"] * hd)
            w(f"gu{l}", 2 * s["inter"], d)
            w(f"down{l}", d, s["inter"])
            ones(f"n1_{l}")
            ones(f"n2_{l}")
            self.register_buffer(f"k{l}", torch.zeros(batch, s["kv"], max_len, hd, dtype=torch.bfloat16, device=device))
            self.register_buffer(f"v{l}", torch.zeros(batch, s["kv"], max_len, hd, dtype=torch.bfloat16, device=device))
        ones("nf")
        inv = llama3_inv_freq(hd, s["theta"]).to(device)
        t = torch.arange(max_len, device=device, dtype=torch.float32)
        ang = torch.outer(t, inv)
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())
        self.max_len = max_len

    def weight_bytes(self):
        # every bf16 buffer but the KV cache and the RoPE tables (fp32): what one step streams from HBM
        return sum(2 * b.numel() for n, b in self.named_buffers() if b.dtype == torch.bfloat16 and not re.fullmatch(r"[kv]\d+", n))

    @staticmethod
    def rms(x, wt, eps=1e-5):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * wt

    def rope(self, x, pos):
        # x [B, H, 1, hd], rotate-half convention as transformers' Llama
        c = self.cos[pos].view(-1, 1, 1, self.hd // 2)
        sn = self.sin[pos].view(-1, 1, 1, self.hd // 2)
        x1, x2 = x[..., : self.hd // 2].float(), x[..., self.hd // 2:].float()
        return torch.cat([x1 * c - x2 * sn, x2 * c + x1 * sn], -1).to(x.dtype)

    def forward(self, tokens, pos):
        # tokens [B], pos [B] (each row's position; the KV slot it writes)
        s, hd, b = self.s, self.hd, tokens.shape[0]
        x = F.embedding(tokens, self.embed)
        mask = (torch.arange(self.max_len, device=tokens.device).view(1, 1, 1, -1) <= pos.view(-1, 1, 1, 1))
        rows = torch.arange(b, device=tokens.device)
        for l in range(s["layers"]):
            kc, vc = getattr(self, f"k{l}"), getattr(self, f"v{l}")
            h = self.rms(x, getattr(self, f"n1_{l}"))
            qkv = F.linear(h, getattr(self, f"qkv{l}"))
            q = qkv[:, : s["heads"] * hd].view(b, s["heads"], 1, hd)
            k = qkv[:, s["heads"] * hd: (s["heads"] + s["kv"]) * hd].view(b, s["kv"], 1, hd)
            v = qkv[:, (s["heads"] + s["kv"]) * hd:].view(b, s["kv"], 1, hd)
            q, k = self.rope(q, pos), self.rope(k, pos)
            kc[rows, :, pos] = k[:, :, 0]
            vc[rows, :, pos] = v[:, :, 0]
            a = F.scaled_dot_product_attention(q, kc, vc, attn_mask=mask, enable_gqa=True)
            x = x + F.linear(a.reshape(b, s["heads"] * hd), getattr(self, f"o{l}"))
            h = self.rms(x, getattr(self, f"n2_{l}"))
            gu = F.linear(h, getattr(self, f"gu{l}"))
            x = x + F.linear(F.silu(gu[:, : s["inter"]]) * gu[:, s["inter"]:], getattr(self, f"down{l}"))
        head = self.embed if s["tied"] else self.head_w
        logits = F.linear(self.rms(x, self.nf), head)
        return logits.argmax(-1)


def copy_bandwidth(device):
    a = torch.empty(1 << 29, dtype=torch.bfloat16, device=device).normal_()
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    ts = []
    for _ in range(20):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        b.copy_(a)
        e1.record()
        torch.cuda.synchronize()
        ts.append(e0.elapsed_time(e1) / 1e3)
    ts.sort()
    return 2 * a.numel() * 2 / ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="llama-3.2-1b", choices=sorted(SHAPES))
    ap.add_argument("--batches", default="1,8,16,32")
    ap.add_argument("--context", type=int, default=512, help="tokens already in each row's cache when timing starts")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--no-compile", action="store_true", help="eager PyTorch (no CUDA graphs)")
    ap.add_argument("--out", default="peer.jsonl")
    a = ap.parse_args()
    dev = torch.device("cuda")
    torch.manual_seed(0)
    bw = copy_bandwidth(dev)
    s = SHAPES[a.shape]
    with open(a.out, "w") as out:
        for batch in [int(x) for x in a.batches.split(",")]:
            max_len = a.context + a.steps + 64
            m = Peer(s, batch, max_len, dev)
            step = m if a.no_compile else torch.compile(m, mode="reduce-overhead", fullgraph=True)
            tok = torch.randint(0, s["vocab"], (batch,), device=dev)
            t0 = time.time()
            with torch.no_grad():
                for i in range(5):  # warm-up: compile, capture the graph
                    tok = step(tok, torch.full((batch,), a.context - 5 + i, device=dev, dtype=torch.long)).clone()
                torch.cuda.synchronize()
                compile_s = time.time() - t0
                ts = []
                for i in range(a.steps):
                    pos = torch.full((batch,), a.context + i, device=dev, dtype=torch.long)
                    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    e0.record()
                    tok = step(tok, pos).clone()
                    e1.record()
                    e1.synchronize()
                    ts.append(e0.elapsed_time(e1) / 1e3)
            ts.sort()
            med = ts[len(ts) // 2]
            kv_bytes = batch * (a.context + a.steps // 2) * s["layers"] * 2 * s["kv"] * (s["hidden"] // s["heads"]) * 2
            wb = m.weight_bytes()
            rec = dict(peer="torch.compile(reduce-overhead)" if not a.no_compile else "torch eager", shape=a.shape, batch=batch,
                       context=a.context, steps=a.steps, stepMsMedian=med * 1e3, stepMsP10=ts[len(ts) // 10] * 1e3,
                       stepMsP90=ts[len(ts) * 9 // 10] * 1e3, tokensPerSecond=batch / med, weightBytes=wb, kvBytes=kv_bytes,
                       copyBandwidthGBps=bw / 1e9, rooflineFraction=(wb + kv_bytes) / med / bw, warmupS=compile_s,
                       device=torch.cuda.get_device_name(), torch=torch.__version__)
            print(json.dumps(rec), flush=True)
            out.write(json.dumps(rec) + "\n")
            del m, step
            torch.cuda.empty_cache()
            torch._dynamo.reset()


if __name__ == "__main__":
    main()
