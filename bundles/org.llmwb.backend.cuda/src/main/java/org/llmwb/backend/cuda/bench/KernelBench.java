package org.llmwb.backend.cuda.bench;

import org.llmwb.core.experiment.KernelRecords;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.IntConsumer;

import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.DecodeAttentionRef;
import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.Quantize;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.ops.Ceilings;
import org.llmwb.backend.cuda.ops.DecodeAttention;
import org.llmwb.backend.cuda.ops.Gemm;
import org.llmwb.backend.cuda.ops.Gemv;
import org.llmwb.backend.cuda.ops.PrefillAttention;
import org.llmwb.backend.cuda.ops.KvCacheOps;
import org.llmwb.core.numeric.Half;
import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The kernel benchmarks behind the issue's targets, on the GPU this runs on. Every record has the
 * median of many CUDA-event-timed runs after warm-up, FLOPs and bytes from the formulas in the op
 * launchers, the fraction of the ceiling measured here in the same run, the error against the CPU
 * reference, and, given PyTorch's timings of the same op from the same machine (torch_baselines.py),
 * the speedup over PyTorch. Inputs are random (never zeros) and rotated through copies larger than
 * L2 where one copy would fit in it.
 *
 * <pre>java -cp 'lib/*' org.llmwb.backend.cuda.bench.KernelBench --out bench.jsonl --env env.json [--torch torch.json]</pre>
 */
public final class KernelBench {
    private static final long L2_ROTATE_BYTES = 200L << 20; // rotate through >= 200 MiB: 4× the 50 MB L2
    private final Gpu gpu;
    private final JsonNode torch;
    private final List<Map<String, Object>> records = new ArrayList<>();
    private double copyBandwidth;
    private double mmaPeak;
    private double wgmmaPeak = Double.NaN;
    private double fmaPeak;
    private final Random rnd = new Random(42);

    /** One kernel version of an op in a benchmark: its record name, the roof it is measured against, one launch. */
    private record Version(String name, String roof, Runnable launch) {
    }

    KernelBench(Gpu gpu, JsonNode torch) {
        this.gpu = gpu;
        this.torch = torch;
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of("bench.jsonl");
        Path env = Path.of("env.json");
        JsonNode torch = null;
        java.util.Set<String> only = java.util.Set.of("gemv", "decode-gemv", "attention", "kvcache", "layers", "prefill", "gemm");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--only" -> only = java.util.Set.of(args[++i].split(","));
                case "--out" -> out = Path.of(args[++i]);
                case "--env" -> env = Path.of(args[++i]);
                case "--torch" -> torch = Json.parse(Files.readString(Path.of(args[++i])));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        try (Gpu gpu = Gpu.open()) {
            KernelBench b = new KernelBench(gpu, torch);
            b.ceilings();
            if (only.contains("gemv")) {
                b.gemvs();
            }
            if (only.contains("decode-gemv")) {
                b.decodeGemvs();
            }
            if (only.contains("attention")) {
                b.attention();
            }
            if (only.contains("kvcache")) {
                b.kvCache();
            }
            if (only.contains("layers")) {
                b.layersAndQuant();
            }
            if (only.contains("prefill")) {
                b.prefill();
            }
            if (only.contains("gemm")) {
                b.gemm();
            }
            StringBuilder s = new StringBuilder();
            for (Map<String, Object> r : b.records) {
                s.append(Json.line(r)).append('\n');
            }
            Files.writeString(out, s.toString());
            Map<String, Object> device = gpu.device().describe();
            device.put("measuredCopyBandwidth", b.copyBandwidth);
            device.put("measuredFp32Fma", b.fmaPeak);
            device.put("measuredBf16MmaSync", b.mmaPeak);
            if (!Double.isNaN(b.wgmmaPeak)) {
                device.put("measuredBf16Wgmma", b.wgmmaPeak);
            }
            if (torch != null) {
                device.put("torch", torch.path("torch").asText());
            }
            Files.writeString(env, Json.pretty(EnvFingerprint.capture(device)));
        }
    }

    private double torchMs(String key) {
        if (torch == null || !torch.path("results").has(key) || !torch.path("results").get(key).isNumber()) {
            return Double.NaN;
        }
        return torch.path("results").get(key).asDouble();
    }

    private Map<String, Object> record(String op, String version, String shape, float[] sorted, double flops, double bytes, String roof,
            Double relErr, String torchKey) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("op", op);
        r.put("version", version);
        r.put("shape", shape);
        double s = KernelRecords.put(r, sorted, flops, bytes);
        double ms = s * 1e3;
        double frac = switch (roof) {
            case "copy" -> copyBandwidth > 0 ? bytes / s / copyBandwidth : Double.NaN;
            case "mma" -> mmaPeak > 0 ? flops / s / mmaPeak : Double.NaN;
            case "wgmma" -> wgmmaPeak > 0 ? flops / s / wgmmaPeak : Double.NaN;
            default -> Double.NaN;
        };
        r.put("roof", roof);
        r.put("roofFraction", frac);
        r.put("maxRelErr", relErr);
        if (torchKey != null) {
            double t = torchMs(torchKey);
            r.put("torchOp", torchKey);
            r.put("torchMs", Double.isNaN(t) ? null : t);
            r.put("speedupVsTorch", Double.isNaN(t) ? null : t / ms);
        }
        records.add(r);
        System.out.println(String.format(Locale.ROOT, "%-22s %-16s %-34s %9.4f ms %8.1f GB/s %8.2f TFLOP/s roof %5.1f%% err %s torch %s",
                op, version, shape, ms, bytes / s / 1e9, flops / s / 1e12, 100 * frac, relErr, r.get("speedupVsTorch")));
        return r;
    }

    // ---- ceilings ----
    void ceilings() {
        // the copy kernels are also recorded one by one (with PyTorch's copy in the same run); the roofs come
        // from CeilingsBenchmark, the code `llmwb ceilings` runs
        Ceilings c = new Ceilings(gpu);
        long bytes = 1L << 30; // 1 GiB each way
        try (DeviceBuffer a = gpu.alloc("copy src", bytes); DeviceBuffer b = gpu.alloc("copy dst", bytes)) {
            gpu.memset(a, (byte) 0x5a); // the copy kernel's speed does not depend on the values
            for (int v = 1; v <= 2; v++) {
                int version = v;
                float[] ms = gpu.time(3, 30, i -> c.copy(version, a, b, bytes));
                record("copy", "v" + v, "1 GiB", ms, 0, 2.0 * bytes, "none", null, "copy_1GiB").put("note", "bytes = 2 × size (read + write)");
            }
        }
        CeilingsBenchmark.Result r = CeilingsBenchmark.measure(gpu, bytes, 30);
        copyBandwidth = r.copyBandwidth();
        fmaPeak = r.fp32Fma();
        mmaPeak = r.bf16MmaSync();
        wgmmaPeak = r.bf16Wgmma();
        System.out.printf(Locale.ROOT, "measured: copy %.1f GB/s, FP32 FMA %.1f TFLOP/s, BF16 mma.sync %.1f TFLOP/s, BF16 wgmma %.1f TFLOP/s%n",
                copyBandwidth / 1e9, fmaPeak / 1e12, mmaPeak / 1e12, wgmmaPeak / 1e12);
    }

    // ---- GEMV 4096 → 14336 ----
    void gemvs() {
        int n = 14336;
        int k = 4096;
        float[] w = Half.roundBf16(gaussian(n * k, 0.02));
        Quantize.Int8 q8 = Quantize.int8PerChannel(w, n, k);
        Quantize.Int4 q4 = Quantize.int4Grouped(w, n, k, false);
        Gemv g = new Gemv(gpu);
        for (int batch : new int[] {1, 4, 16}) {
            float[] x = Half.roundBf16(gaussian(batch * k, 1));
            String shape = "B" + batch + " " + k + "→" + n;
            try (DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dy = gpu.alloc("y", 2L * batch * n)) {
                // bf16
                try (Rotation rw = new Rotation(Half.toBf16(w), null, null)) {
                    g.bf16(rw.w[0], dx, dy, batch, n, k);
                    double err = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)),
                            GemvRef.compute((i, j) -> w[i * k + j], x, batch, n, k)).maxRel();
                    float[] ms = gpu.time(10, 100, i -> g.bf16(rw.w[i % rw.copies], dx, dy, batch, n, k));
                    record("gemv", "bf16", shape, ms, Gemv.flops(batch, n, k), Gemv.bytes(Gemv.Format.BF16, batch, n, k, false), "copy", err,
                            "linear_bf16_b" + batch);
                }
                try (Rotation rw = new Rotation(null, q8.q(), q8.scales())) {
                    g.w8a16(rw.w[0], rw.s[0], dx, dy, batch, n, k);
                    double err = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), GemvRef.compute(q8::dequant, x, batch, n, k)).maxRel();
                    float[] ms = gpu.time(10, 100, i -> g.w8a16(rw.w[i % rw.copies], rw.s[i % rw.copies], dx, dy, batch, n, k));
                    record("gemv", "w8a16", shape, ms, Gemv.flops(batch, n, k), Gemv.bytes(Gemv.Format.W8A16, batch, n, k, false), "copy", err,
                            "linear_bf16_b" + batch);
                }
                try (Rotation rw = new Rotation(null, q4.packed(), q4.scales())) {
                    g.w4a16(rw.w[0], rw.s[0], null, dx, dy, batch, n, k);
                    double err = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), GemvRef.compute(q4::dequant, x, batch, n, k)).maxRel();
                    float[] ms = gpu.time(10, 100, i -> g.w4a16(rw.w[i % rw.copies], rw.s[i % rw.copies], null, dx, dy, batch, n, k));
                    record("gemv", "w4a16-g128", shape, ms, Gemv.flops(batch, n, k), Gemv.bytes(Gemv.Format.W4A16, batch, n, k, false), "copy", err,
                            "int4_b" + batch);
                }
            }
        }
    }

    // ---- the 1B model's decode linear layers at 8, 16 and 32 rows: tensor-core GEMV v2 against split-K v3 ----
    void decodeGemvs() {
        int[][] shapes = {{3072, 2048}, {2048, 2048}, {16384, 2048}, {2048, 8192}}; // Q/K/V, output, gate/up, down
        Gemv g = new Gemv(gpu);
        for (int[] nk : shapes) {
            int n = nk[0];
            int k = nk[1];
            float[] w = Half.roundBf16(gaussian(n * k, 0.02));
            try (Rotation rw = new Rotation(Half.toBf16(w), null, null)) {
                for (int batch : new int[] {8, 16, 32}) {
                    float[] x = Half.roundBf16(gaussian(batch * k, 1));
                    float[] ref = GemvRef.compute((i, j) -> w[i * k + j], x, batch, n, k);
                    String shape = "B" + batch + " " + k + "→" + n;
                    try (DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dy = gpu.alloc("y", 2L * batch * n)) {
                        // v2, then v3 aiming at 1, 2 (the default) and 4 CTAs per SM (llmwb.gemv.skCtas)
                        for (int perSm : new int[] {0, 1, 2, 4}) {
                            boolean sk = perSm > 0;
                            if (sk) {
                                g.ctaTargets(perSm * gpu.device().multiprocessors(), perSm * gpu.device().multiprocessors());
                            }
                            g.splitK(sk).bf16(rw.w[0], dx, dy, batch, n, k);
                            double err = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), ref).maxRel();
                            float[] ms = gpu.time(10, 100, i -> g.bf16(rw.w[i % rw.copies], dx, dy, batch, n, k));
                            String v3 = batch > 16 && gpu.device().hasWgmma() && (long) n * k >= (1L << 24) ? "v3 wgmma " : batch > 16 ? "v3 (v2) " : "v3 split-K ";
                            record("decode-gemv", sk ? v3 + perSm + "/SM" : "v2 tensor-core", shape, ms, Gemv.flops(batch, n, k),
                                    Gemv.bytes(Gemv.Format.BF16, batch, n, k, false), "copy", err, "linear_n" + n + "_k" + k + "_b" + batch);
                        }
                    }
                }
            }
        }
        g.splitK(true);
    }

    /** Copies of one weight (and its scales) on the GPU, enough to exceed L2 together. */
    private final class Rotation implements AutoCloseable {
        final DeviceBuffer[] w;
        final DeviceBuffer[] s;
        final int copies;

        Rotation(short[] bf16, byte[] q, float[] scales) {
            long bytes = bf16 != null ? 2L * bf16.length : q.length;
            copies = (int) Math.max(2, (L2_ROTATE_BYTES + bytes - 1) / bytes);
            w = new DeviceBuffer[copies];
            s = new DeviceBuffer[copies];
            for (int i = 0; i < copies; i++) {
                w[i] = bf16 != null ? gpu.upload("weight copy", bf16) : gpu.upload("weight copy", q);
                s[i] = scales != null ? gpu.upload("scales copy", scales) : null;
            }
        }

        @Override
        public void close() {
            for (int i = 0; i < copies; i++) {
                w[i].close();
                if (s[i] != null) {
                    s[i].close();
                }
            }
        }
    }

    // ---- decode attention ----
    void attention() {
        attentionCase(32, 4096, new int[] {0, 256, 512});
        attentionCase(4, 32768, new int[] {0, 512, 1024, 2048});
        fp8KvCase(8, 16384, new int[] {0, 1024, 2048});
    }

    /** Paged decode over an FP8 E4M3 cache vs the same over bf16 (same values, same tables), batch × ctx. */
    private void fp8KvCase(int batch, int ctx, int[] partitions) {
        int heads = 32;
        int kvh = 8;
        int d = 128;
        int bs = 16;
        int row = kvh * d;
        int[] lens = new int[batch];
        java.util.Arrays.fill(lens, ctx);
        int maxBlocks = ctx / bs;
        int pool = batch * maxBlocks;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < pool; i++) {
            ids.add(i);
        }
        java.util.Collections.shuffle(ids, rnd);
        int[] flat = ids.stream().mapToInt(Integer::intValue).toArray();
        int elems = pool * bs * row;
        float[] q = Half.roundBf16(gaussian(batch * heads * d, 1));
        float[] k = gaussian(elems, 1);
        float[] v = gaussian(elems, 1);
        float ks = org.llmwb.backend.cuda.ops.Fp8Convert.scaleFor(k, org.llmwb.core.numeric.Fp8.Format.E4M3);
        float vs = org.llmwb.backend.cuda.ops.Fp8Convert.scaleFor(v, org.llmwb.core.numeric.Fp8.Format.E4M3);
        byte[] kq = new byte[elems];
        byte[] vq = new byte[elems];
        float[] kd = new float[elems];
        float[] vd = new float[elems];
        for (int i = 0; i < elems; i++) {
            kq[i] = org.llmwb.core.numeric.Fp8.encode(org.llmwb.core.numeric.Fp8.Format.E4M3, k[i] / ks);
            vq[i] = org.llmwb.core.numeric.Fp8.encode(org.llmwb.core.numeric.Fp8.Format.E4M3, v[i] / vs);
            kd[i] = org.llmwb.core.numeric.Fp8.decode(org.llmwb.core.numeric.Fp8.Format.E4M3, kq[i]) * ks;
            vd[i] = org.llmwb.core.numeric.Fp8.decode(org.llmwb.core.numeric.Fp8.Format.E4M3, vq[i]) * vs;
        }
        // the reference reads the pool through the tables: build the contiguous view of the dequantized values
        float[] kc = new float[batch * ctx * row];
        float[] vc = new float[kc.length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < ctx; t++) {
                int prow = flat[b * maxBlocks + t / bs] * bs + t % bs;
                System.arraycopy(kd, prow * row, kc, (b * ctx + t) * row, row);
                System.arraycopy(vd, prow * row, vc, (b * ctx + t) * row, row);
            }
        }
        float[] ref = DecodeAttentionRef.compute(q, kc, vc, null, lens, batch, heads, kvh, d, ctx, 1);
        DecodeAttention attn = new DecodeAttention(gpu);
        String shape = "B" + batch + " ctx" + ctx + " H32/8 D128";
        int maxParts = DecodeAttention.partitions(ctx, 256);
        DecodeAttention.Shape s8 = new DecodeAttention.Shape(batch, heads, kvh, d, DecodeAttention.Dtype.BF16_KV_FP8);
        DecodeAttention.Shape s16 = new DecodeAttention.Shape(batch, heads, kvh, d, DecodeAttention.Dtype.BF16);
        try (DeviceBuffer dq = gpu.upload("q", Half.toBf16(q)); DeviceBuffer k8 = gpu.upload("k fp8", kq); DeviceBuffer v8 = gpu.upload("v fp8", vq);
                DeviceBuffer k16 = gpu.upload("k bf16", Half.toBf16(kd)); DeviceBuffer v16 = gpu.upload("v bf16", Half.toBf16(vd));
                DeviceBuffer dbt = gpu.upload("tables", flat); DeviceBuffer dl = gpu.upload("lens", lens);
                DeviceBuffer out = gpu.alloc("out", 2L * batch * heads * d); DeviceBuffer ws = gpu.alloc("ws", 4L * DecodeAttention.workspaceFloats(s16, maxParts))) {
            for (int p : partitions) {
                for (boolean fp8 : new boolean[] {false, true}) {
                    DecodeAttention.Shape s = fp8 ? s8 : s16;
                    IntConsumer run = i -> attn.run(s, dq, fp8 ? k8 : k16, fp8 ? v8 : v16, dbt, maxBlocks, bs, dl, ctx, ctx, out, p, ws, fp8 ? ks : 1f,
                            fp8 ? vs : 1f);
                    run.accept(0);
                    double err = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(out, batch * heads * d)), ref).maxRel();
                    float[] ms = gpu.time(5, 50, run);
                    record("decode_attention", (fp8 ? "paged fp8-KV" : "paged bf16-KV") + (p == 0 ? " single-pass" : " split-K " + p), shape, ms,
                            DecodeAttention.flops(s, lens), DecodeAttention.bytes(s, lens), "copy", err, null);
                }
            }
        }
    }


    private void attentionCase(int batch, int ctx, int[] partitions) {
        int heads = 32;
        int kvh = 8;
        int d = 128;
        int bs = 16;
        int row = kvh * d;
        DecodeAttention.Shape s = new DecodeAttention.Shape(batch, heads, kvh, d, DecodeAttention.Dtype.BF16);
        int[] lens = new int[batch];
        java.util.Arrays.fill(lens, ctx);
        int maxBlocks = ctx / bs;
        int poolBlocks = batch * maxBlocks;
        // block tables: a random permutation of the pool (a fragmented, realistic paged layout)
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < poolBlocks; i++) {
            ids.add(i);
        }
        java.util.Collections.shuffle(ids, rnd);
        int[] flat = new int[poolBlocks];
        int[][] tables = new int[batch][maxBlocks];
        for (int i = 0; i < poolBlocks; i++) {
            flat[i] = ids.get(i);
            tables[i / maxBlocks][i % maxBlocks] = flat[i];
        }
        long elems = (long) batch * ctx * row;
        float[] q = Half.roundBf16(gaussian(batch * heads * d, 1));
        // values live in the contiguous layout; the paged pool holds the same rows at the table's places
        float[] kc = Half.roundBf16(gaussian((int) elems, 1));
        float[] vc = Half.roundBf16(gaussian((int) elems, 1));
        short[] kcb = Half.toBf16(kc);
        short[] vcb = Half.toBf16(vc);
        short[] kpb = new short[(int) elems];
        short[] vpb = new short[(int) elems];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < ctx; t++) {
                int prow = tables[b][t / bs] * bs + t % bs;
                System.arraycopy(kcb, (b * ctx + t) * row, kpb, prow * row, row);
                System.arraycopy(vcb, (b * ctx + t) * row, vpb, prow * row, row);
            }
        }
        float[] ref = DecodeAttentionRef.compute(q, kc, vc, null, lens, batch, heads, kvh, d, ctx, 1);
        DecodeAttention attn = new DecodeAttention(gpu);
        String shape = "B" + batch + " ctx" + ctx + " H32/8 D128";
        String torchKey = "sdpa_b" + batch + "_c" + ctx;
        int maxParts = DecodeAttention.partitions(ctx, 256);
        try (DeviceBuffer dq = gpu.upload("q", Half.toBf16(q)); DeviceBuffer dkc = gpu.upload("kc", kcb); DeviceBuffer dvc = gpu.upload("vc", vcb);
                DeviceBuffer dkp = gpu.upload("kp", kpb); DeviceBuffer dvp = gpu.upload("vp", vpb); DeviceBuffer dbt = gpu.upload("tables", flat);
                DeviceBuffer dl = gpu.upload("lens", lens); DeviceBuffer out = gpu.alloc("out", 2L * batch * heads * d);
                DeviceBuffer ws = gpu.alloc("ws", 4L * DecodeAttention.workspaceFloats(s, maxParts))) {
            for (boolean paged : new boolean[] {false, true}) {
                for (int p : partitions) {
                    IntConsumer run = i -> attn.run(s, dq, paged ? dkp : dkc, paged ? dvp : dvc, paged ? dbt : null, maxBlocks, bs, dl, ctx, ctx, out, p,
                            ws);
                    run.accept(0);
                    double err = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(out, batch * heads * d)), ref).maxRel();
                    float[] ms = gpu.time(5, 50, run);
                    String version = (paged ? "paged-bs16" : "contiguous") + (p == 0 ? " single-pass" : " split-K " + p);
                    record("decode_attention", version, shape, ms, DecodeAttention.flops(s, lens), DecodeAttention.bytes(s, lens), "copy", err,
                            torchKey);
                }
            }
        }
    }

    // ---- KV cache movement ----
    void kvCache() {
        KvCacheOps ops = new KvCacheOps(gpu);
        int rowBytes = 8 * 128 * 2; // Llama-3 8B-shaped row: 8 KV heads × 128 × bf16
        int tokens = 65536;
        int blockSize = 16;
        int poolBlocks = tokens / blockSize * 2;
        byte[] fresh = new byte[tokens * rowBytes];
        rnd.nextBytes(fresh);
        int[] slots = new int[tokens];
        List<Integer> perm = new ArrayList<>();
        for (int i = 0; i < poolBlocks * blockSize; i++) {
            perm.add(i);
        }
        java.util.Collections.shuffle(perm, rnd);
        for (int t = 0; t < tokens; t++) {
            slots[t] = perm.get(t);
        }
        long blockBytes = (long) blockSize * rowBytes;
        try (DeviceBuffer k = gpu.upload("k new", fresh); DeviceBuffer v = gpu.upload("v new", fresh);
                DeviceBuffer kc = gpu.alloc("k cache", poolBlocks * blockBytes); DeviceBuffer vc = gpu.alloc("v cache", poolBlocks * blockBytes);
                DeviceBuffer ds = gpu.upload("slots", slots)) {
            float[] ms = gpu.time(3, 30, i -> ops.writePaged(k, v, kc, vc, slots, ds, rowBytes));
            record("kv_write_paged", "v1", tokens + " tokens × 2 KiB rows (K and V)", ms, 0, 4.0 * tokens * rowBytes, "copy", null, null);
            int n = tokens / blockSize;
            int[] blocks = new int[n];
            for (int i = 0; i < n; i++) {
                blocks[i] = (i * 7919) % poolBlocks;
            }
            try (DeviceBuffer st = gpu.alloc("staging", n * blockBytes); DeviceBuffer db = gpu.upload("blocks", blocks)) {
                float[] g = gpu.time(3, 30, i -> ops.gather(kc, st, blocks, db, blockBytes));
                record("kv_gather_blocks", "v1", n + " blocks of 16 tokens", g, 0, 2.0 * n * blockBytes, "copy", null, null);
            }
        }
    }

    /**
     * The forward pass's building blocks, quantizers, FP8 conversion and sampling at Llama-3-8B-like shapes.
     * Bytes count every tensor read or written once (formulas beside each call); all are memory-bound, so the
     * roof is the measured copy bandwidth. Errors are covered by the GPU tests; these records time only.
     */
    void layersAndQuant() {
        org.llmwb.backend.cuda.ops.Layers layers = new org.llmwb.backend.cuda.ops.Layers(gpu);
        org.llmwb.backend.cuda.ops.Quantizers qz = new org.llmwb.backend.cuda.ops.Quantizers(gpu);
        int tokens = 4096;
        int hidden = 4096;
        int inter = 14336;
        try (DeviceBuffer x = gpu.upload("x", Half.toBf16(gaussian(tokens * hidden, 1))); DeviceBuffer w = gpu.upload("w", Half.toBf16(gaussian(hidden, 1)));
                DeviceBuffer y = gpu.alloc("y", 2L * tokens * hidden)) {
            // rmsnorm: read x and w, write y: (2·T·H + H) × 2 bytes; ~4 FLOPs per element
            float[] ms = gpu.time(5, 50, i -> layers.rmsnorm(x, w, y, tokens, hidden, 1e-5f));
            record("rmsnorm", "v1", tokens + "x" + hidden, ms, 4.0 * tokens * hidden, (2.0 * tokens * hidden + hidden) * 2, "copy", null, null);
        }
        int heads = 32;
        int hd = 128;
        int[] pos = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            pos[i] = i;
        }
        try (DeviceBuffer q = gpu.upload("q", Half.toBf16(gaussian(tokens * heads * hd, 1))); DeviceBuffer dp = gpu.upload("pos", pos);
                DeviceBuffer f = gpu.upload("inv", org.llmwb.backend.cpu.LayersRef.ropeInvFreq(hd, 500000, 8, 1, 4, 8192))) {
            // rope in place: read and write q once: 2 · T·heads·D × 2 bytes; 6 FLOPs per pair (sincos not counted)
            float[] ms = gpu.time(5, 50, i -> layers.rope(q, dp, f, tokens, heads, hd));
            record("rope", "v1", tokens + " tok x " + heads + " x " + hd, ms, 3.0 * tokens * heads * hd, 4.0 * tokens * heads * hd, "copy", null, null);
        }
        try (DeviceBuffer gu = gpu.upload("gate_up", Half.toBf16(gaussian(tokens * 2 * inter, 1))); DeviceBuffer o = gpu.alloc("out", 2L * tokens * inter)) {
            // silu·mul: read 2·T·I, write T·I, bf16
            float[] ms = gpu.time(5, 50, i -> layers.siluMul(gu, o, tokens, inter));
            record("silu_mul", "v1", tokens + "x" + inter, ms, 5.0 * tokens * inter, 3.0 * tokens * inter * 2, "copy", null, null);
        }
        int vocab = 128256;
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = rnd.nextInt(vocab);
        }
        try (DeviceBuffer table = gpu.alloc("table", 2L * vocab * hidden); DeviceBuffer di = gpu.upload("ids", ids);
                DeviceBuffer o = gpu.alloc("emb", 2L * tokens * hidden)) {
            gpu.memset(table, (byte) 0x3c);
            // embedding: read and write T·H bf16
            float[] ms = gpu.time(5, 50, i -> layers.embedding(table, vocab, hidden, ids, di, o));
            record("embedding", "v1", tokens + " ids x " + hidden, ms, 0, 2.0 * tokens * hidden * 2, "copy", null, null);
        }
        int rows = 32;
        try (DeviceBuffer logits = gpu.upload("logits", gaussian(rows * vocab, 2)); DeviceBuffer u = gpu.upload("u", gaussian(rows, 0.1));
                DeviceBuffer out = gpu.alloc("tokens", 4L * rows)) {
            float[] uniforms = new float[rows];
            for (int i = 0; i < rows; i++) {
                uniforms[i] = rnd.nextFloat();
            }
            try (DeviceBuffer du = gpu.upload("uniforms", uniforms)) {
                // argmax reads the logits once; sampling with top-p makes ~34 passes (max, 32 bisection steps, draw)
                float[] a = gpu.time(5, 50, i -> layers.argmax(logits, out, rows, vocab));
                record("argmax", "v1", rows + "x" + vocab, a, 0, 4.0 * rows * vocab, "copy", null, null);
                org.llmwb.backend.cuda.ops.Sampling smp = new org.llmwb.backend.cuda.ops.Sampling(gpu);
                float[] sk = gpu.time(3, 20, i -> smp.sample(logits, du, out, rows, vocab, 0.8f, 50, 1f));
                record("sample", "top-k 50", rows + "x" + vocab, sk, 0, 4.0 * rows * vocab, "copy", null, null)
                        .put("note", "bytes count one read of the logits; the kernel makes ~34 passes (L2-resident)");
                float[] sp = gpu.time(3, 20, i -> smp.sample(logits, du, out, rows, vocab, 0.8f, 0, 0.9f));
                record("sample", "top-p 0.9", rows + "x" + vocab, sp, 0, 4.0 * rows * vocab, "copy", null, null)
                        .put("note", "bytes count one read of the logits; the kernel makes ~34 passes (L2-resident)");
            }
        }
        int n = 14336;
        int k = 4096;
        try (DeviceBuffer wq = gpu.upload("w", Half.toBf16(gaussian(n * k, 0.02))); DeviceBuffer q8 = gpu.alloc("q8", (long) n * k);
                DeviceBuffer s8 = gpu.alloc("s8", 4L * n); DeviceBuffer q4 = gpu.alloc("q4", (long) n * k / 2); DeviceBuffer s4 = gpu.alloc("s4", 4L * n * k / 128);
                DeviceBuffer f8 = gpu.alloc("fp8", (long) n * k); DeviceBuffer p4 = gpu.alloc("nvfp4", (long) n * k / 2);
                DeviceBuffer sc4 = gpu.alloc("nvfp4 scales", (long) n * k / 16)) {
            long e = (long) n * k;
            float[] a = gpu.time(3, 20, i -> qz.int8Rows(wq, q8, s8, n, k));
            record("quant_int8_rows", "v1", n + "x" + k, a, 0, e * 2.0 + e + 4.0 * n, "copy", null, null);
            float[] b = gpu.time(3, 20, i -> qz.int4Groups(wq, q4, s4, null, n, k));
            record("quant_int4_groups", "sym", n + "x" + k, b, 0, e * 2.0 + e / 2.0 + 4.0 * e / 128, "copy", null, null);
            float[] c = gpu.time(3, 20, i -> qz.nvfp4(wq, p4, sc4, e, 1e-3f));
            record("nvfp4_quant", "emulated", n + "x" + k, c, 0, e * 2.0 + e / 2.0 + e / 16.0, "copy", null, null);
            org.llmwb.backend.cuda.ops.Fp8Convert conv = new org.llmwb.backend.cuda.ops.Fp8Convert(gpu);
            float[] d = gpu.time(3, 20, i -> conv.fromBf16(org.llmwb.core.numeric.Fp8.Format.E4M3, wq, f8, e, 0.01f));
            record("fp8_from_bf16", "e4m3", n + "x" + k, d, 0, e * 3.0, "copy", null, null);
        }
    }

    /**
     * Prefill attention, one sequence of n new tokens (no past), 32 query / 8 KV heads, head dim 128, paged
     * blocks of 16: flash at 4K and 8K against PyTorch's SDPA (is_causal) in the same run, and the naive
     * three-kernel version at 8K with the score matrix it has to hold.
     */
    void prefill() {
        int heads = 32;
        int kvHeads = 8;
        int d = 128;
        int bs = 16;
        for (int n : new int[] {4096, 8192}) {
            int blocks = n / bs;
            int[] table = new int[blocks];
            for (int i = 0; i < blocks; i++) {
                table[i] = (i * 7919) % blocks; // scattered, as a block manager leaves them
            }
            float[] q = Half.roundBf16(gaussian(n * heads * d, 1));
            float[] k = Half.roundBf16(gaussian(n * kvHeads * d, 1));
            float[] v = Half.roundBf16(gaussian(n * kvHeads * d, 1));
            try (PrefillAttention pa = new PrefillAttention(gpu, heads, kvHeads, d, bs, blocks, new int[] {n}, new int[] {0}, new int[][] {table});
                    DeviceBuffer dq = gpu.upload("q", Half.toBf16(q)); DeviceBuffer dk = gpu.upload("k", Half.toBf16(k));
                    DeviceBuffer dv = gpu.upload("v", Half.toBf16(v)); DeviceBuffer out = gpu.alloc("out", 2L * q.length)) {
                String shape = "n " + n + " H32/KVH8 D128 causal";
                // each flash version: one run for its output (checked against the double reference over a slice
                // of rows at 4K: the whole matrix is ~10^12 operations), then the timed runs
                List<Version> versions = new ArrayList<>();
                versions.add(new Version("v2 flash (mma.sync)", "mma", () -> pa.flash(dq, out, dk, dv)));
                versions.add(new Version("v3 flash (cp.async 2-stage, 128 rows)", "mma", () -> pa.flash3(dq, out, dk, dv)));
                if (pa.hasFlash4()) {
                    versions.add(new Version("v4 flash (wgmma, 2 warpgroups)", "wgmma", () -> pa.flash4(dq, out, dk, dv)));
                }
                float[] flashOut = null;
                for (Version ver : versions) {
                    Runnable launch = ver.launch();
                    launch.run();
                    gpu.sync();
                    float[] got = Half.bf16ToFloat(gpu.downloadShorts(out, q.length));
                    flashOut = flashOut == null ? got : flashOut;
                    Double err = n == 4096 ? sampledPrefillError(q, k, v, got, table, n, heads, kvHeads, d, bs) : null;
                    float[] ms = gpu.time(3, 20, i -> launch.run());
                    record("prefill_attention", ver.name(), shape, ms, pa.flops(), pa.bytes(), ver.roof(), err, "sdpa_causal_" + n)
                            .put("workspaceBytes", 0L);
                }
                if (n == 8192) {
                    long wsBytes = pa.naiveWorkspaceBytes();
                    try (DeviceBuffer ws = gpu.alloc("naive scores", wsBytes)) {
                        pa.naive(dq, out, dk, dv, ws);
                        gpu.sync();
                        Compare c = Compare.of(Half.bf16ToFloat(gpu.downloadShorts(out, q.length)), flashOut);
                        float[] nm = gpu.time(1, 3, i -> pa.naive(dq, out, dk, dv, ws));
                        Map<String, Object> rec = record("prefill_attention", "v1 naive (S in HBM)", shape, nm, pa.flops(), pa.bytes() + 4.0 * wsBytes, "copy",
                                null, "sdpa_causal_" + n);
                        rec.put("workspaceBytes", wsBytes);
                        rec.put("naiveVsFlashMaxRel", c.maxRel());
                        rec.put("note", "bytes include the fp32 score matrix: written, read and rewritten by softmax, read by PV");
                    } catch (RuntimeException oom) {
                        System.out.println("naive prefill at " + n + " could not run: " + oom.getMessage());
                    }
                }
            }
        }
    }

    private static double sampledPrefillError(float[] q, float[] k, float[] v, float[] got, int[] table, int n, int heads, int kvHeads, int d, int bs) {
        // the paged pool holds token j at slot table[j / bs] * bs + j % bs; the reference wants tokens in order
        float[] kk = new float[k.length];
        float[] vv = new float[v.length];
        int row = kvHeads * d;
        for (int j = 0; j < n; j++) {
            int slot = table[j / bs] * bs + j % bs;
            System.arraycopy(k, slot * row, kk, j * row, row);
            System.arraycopy(v, slot * row, vv, j * row, row);
        }
        double maxErr = 0;
        double maxRef = 0;
        for (int i = 63; i < n; i += 64) {
            float[] qi = java.util.Arrays.copyOfRange(q, i * heads * d, (i + 1) * heads * d);
            float[] ref = org.llmwb.backend.cpu.PrefillAttentionRef.compute(qi, kk, vv, i, 1, heads, kvHeads, d);
            for (int e = 0; e < ref.length; e++) {
                maxErr = Math.max(maxErr, Math.abs(ref[e] - got[i * heads * d + e]));
                maxRef = Math.max(maxRef, Math.abs(ref[e]));
            }
        }
        return maxErr / maxRef;
    }

    /**
     * The tensor-core GEMMs at 4096³, at a prefill MLP shape (4096 tokens, 4096 → 14336) and at two 1B-model prefill
     * chunk shapes (512 tokens), against torch's F.linear.
     */
    void gemm() {
        int[][] shapes = {{4096, 4096, 4096}, {4096, 14336, 4096}, {512, 2048, 2048}, {512, 8192, 2048}};
        Gemm g = new Gemm(gpu);
        for (int[] sh : shapes) {
            int m = sh[0];
            int n = sh[1];
            int k = sh[2];
            float[] a = Half.roundBf16(gaussian(m * k, 1));
            float[] w = Half.roundBf16(gaussian(n * k, 0.02));
            try (DeviceBuffer da = gpu.upload("a", Half.toBf16(a)); DeviceBuffer dw = gpu.upload("w", Half.toBf16(w));
                    DeviceBuffer dc = gpu.alloc("c", 2L * m * n)) {
                String shape = "M" + m + " N" + n + " K" + k;
                List<Version> versions = new ArrayList<>();
                versions.add(new Version("v1 mma.sync", "mma", () -> g.bf16(da, dw, dc, m, n, k)));
                versions.add(new Version("v2 mma.sync 4-stage", "mma", () -> g.bf16v2(da, dw, dc, m, n, k)));
                if (g.hasWgmma()) {
                    versions.add(new Version("v3 wgmma 128x256 (cp.async ring)", "wgmma", () -> g.bf16Wgmma(da, dw, dc, m, n, k)));
                }
                for (Version ver : versions) {
                    Runnable launch = ver.launch();
                    gpu.memset(dc, (byte) 0);
                    launch.run();
                    gpu.sync();
                    double err = sampledGemmError(a, w, Half.bf16ToFloat(gpu.downloadShorts(dc, m * n)), m, n, k);
                    float[] ms = gpu.time(5, 30, i -> launch.run());
                    record("gemm", ver.name(), shape, ms, Gemm.flops(m, n, k), Gemm.bytes(m, n, k), ver.roof(), err, "linear_m" + m + "_n" + n + "_k" + k);
                }
            }
        }
    }

    /** Largest error of 256 sampled outputs against the double reference, relative to the largest sampled reference value. */
    private static double sampledGemmError(float[] a, float[] w, float[] c, int m, int n, int k) {
        Random r = new Random(5);
        double maxErr = 0;
        double maxRef = 0;
        for (int s = 0; s < 256; s++) {
            int i = r.nextInt(m);
            int j = r.nextInt(n);
            double ref = 0;
            for (int t = 0; t < k; t++) {
                ref += (double) a[i * k + t] * w[j * k + t];
            }
            maxErr = Math.max(maxErr, Math.abs(ref - c[i * n + j]));
            maxRef = Math.max(maxRef, Math.abs(ref));
        }
        return maxErr / maxRef;
    }

    private float[] gaussian(int n, double sigma) {
        return KernelRecords.gaussian(rnd, n, sigma);
    }
}
