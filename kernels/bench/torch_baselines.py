"""PyTorch timings of the ops the kernel benchmarks measure, on the same GPU in the same call.

    python3 kernels/bench/torch_baselines.py > torch.json

Each figure is the median of CUDA-event-timed runs after warm-up, in milliseconds, on random
(never zero) inputs; weights are rotated through copies that together exceed L2 like the Java
benchmark does. An op PyTorch cannot run here is reported with its error instead of a number.
"""
import json
import sys

import torch
import torch.nn.functional as F

ROTATE_BYTES = 200 << 20


def median_ms(fn, runs=100, warmup=10):
    for i in range(warmup):
        fn(i)
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    for i in range(runs):
        starts[i].record()
        fn(warmup + i)
        ends[i].record()
    torch.cuda.synchronize()
    t = sorted(s.elapsed_time(e) for s, e in zip(starts, ends))
    return t[len(t) // 2]


def copies(make, nbytes):
    n = max(2, -(-ROTATE_BYTES // nbytes))
    return [make() for _ in range(n)]


def main():
    dev = torch.device("cuda")
    res = {}
    # copy: 1 GiB read + 1 GiB written
    src = torch.randn(1 << 28, device=dev)  # 2^28 floats = 1 GiB
    dst = torch.empty_like(src)
    res["copy_1GiB"] = median_ms(lambda i: dst.copy_(src), runs=30, warmup=3)
    del src, dst
    # decode linear 4096 -> 14336, bf16
    n, k = 14336, 4096
    ws = copies(lambda: torch.randn(n, k, device=dev, dtype=torch.bfloat16) * 0.02, 2 * n * k)
    for b in (1, 4, 16):
        x = torch.randn(b, k, device=dev, dtype=torch.bfloat16)
        res[f"linear_bf16_b{b}"] = median_ms(lambda i: F.linear(x, ws[i % len(ws)]))
    # the 1B model's decode linear layers at 8, 16, 32 rows (KernelBench decode-gemv)
    for n, k in ((3072, 2048), (2048, 2048), (16384, 2048), (2048, 8192)):
        ws1 = copies(lambda: torch.randn(n, k, device=dev, dtype=torch.bfloat16) * 0.02, 2 * n * k)
        for b in (8, 16, 32):
            x = torch.randn(b, k, device=dev, dtype=torch.bfloat16)
            res[f"linear_n{n}_k{k}_b{b}"] = median_ms(lambda i: F.linear(x, ws1[i % len(ws1)]))
        del ws1
    n, k = 14336, 4096
    # int4 weight-only (group 128), PyTorch's tinygemm kernel
    try:
        w_int = torch.randint(0, 16, (n, k), device=dev, dtype=torch.int32)
        packed_u8 = (w_int[:, ::2] << 4 | w_int[:, 1::2]).to(torch.uint8)
        w4 = copies(lambda: torch._convert_weight_to_int4pack(packed_u8, 8), n * k // 2)
        sz = torch.rand(k // 128, n, 2, device=dev, dtype=torch.bfloat16)
        for b in (1, 4, 16):
            x = torch.randn(b, k, device=dev, dtype=torch.bfloat16)
            res[f"int4_b{b}"] = median_ms(lambda i: torch._weight_int4pack_mm(x, w4[i % len(w4)], 128, sz))
    except Exception as e:  # noqa: BLE001 - report, do not fail the whole baseline
        res["int4_error"] = f"{type(e).__name__}: {e}"
    del ws
    # decode attention: SDPA on the contiguous cache, 32 query / 8 KV heads, head dim 128
    for b, c in ((32, 4096), (4, 32768)):
        q = torch.randn(b, 32, 1, 128, device=dev, dtype=torch.bfloat16)
        kk = torch.randn(b, 8, c, 128, device=dev, dtype=torch.bfloat16)
        vv = torch.randn(b, 8, c, 128, device=dev, dtype=torch.bfloat16)
        res[f"sdpa_b{b}_c{c}"] = median_ms(lambda i: F.scaled_dot_product_attention(q, kk, vv, enable_gqa=True), runs=50, warmup=5)
        del q, kk, vv
    # prefill attention: causal SDPA over one 4K / 8K sequence, 32 query / 8 KV heads, head dim 128
    for n in (4096, 8192):
        q = torch.randn(1, 32, n, 128, device=dev, dtype=torch.bfloat16)
        kk = torch.randn(1, 8, n, 128, device=dev, dtype=torch.bfloat16)
        vv = torch.randn(1, 8, n, 128, device=dev, dtype=torch.bfloat16)
        res[f"sdpa_causal_{n}"] = median_ms(lambda i: F.scaled_dot_product_attention(q, kk, vv, is_causal=True, enable_gqa=True), runs=20, warmup=3)
        del q, kk, vv
    # prefill linear layers: x[M, K] · W[N, K]^T
    for m, n, k in ((4096, 4096, 4096), (4096, 14336, 4096), (512, 2048, 2048), (512, 8192, 2048)):
        x = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        w = torch.randn(n, k, device=dev, dtype=torch.bfloat16) * 0.02
        res[f"linear_m{m}_n{n}_k{k}"] = median_ms(lambda i: F.linear(x, w), runs=30, warmup=5)
        del x, w
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "unit": "ms (median)", "results": res}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
