package org.llmwb.backend.cuda.bench;

import org.llmwb.core.experiment.KernelRecords;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.DecodeAttentionRef;
import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.Quantize;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.ops.Ceilings;
import org.llmwb.backend.cuda.ops.DecodeAttention;
import org.llmwb.backend.cuda.ops.Fp8Convert;
import org.llmwb.backend.cuda.ops.Gemv;
import org.llmwb.core.InputException;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.core.numeric.Fp8;
import org.llmwb.core.numeric.Half;

/**
 * Runs a {@code kind: kernel-sweep} experiment on the GPU: for every point, seeded random inputs (never
 * zeros), one checked run against the CPU reference, then the median of {@code runs} CUDA-event-timed
 * runs after {@code warmup}; FLOPs and bytes from the launchers' formulas; the fraction of the copy
 * bandwidth measured at the start of the sweep. Ops: copy (v1, v2), gemv (bf16, w8a16, w4a16),
 * decode_attention (contiguous, paged; kvDtype bf16, fp16, fp8).
 */
public final class KernelSweepRun {
    /** Receives records in order. */
    public interface Sink {
        void record(long index, long total, Map<String, Object> record);
    }

    /** References larger than this many multiply-adds are skipped (reported as such) to keep sweeps fast. */
    static final double MAX_REFERENCE_MACS = 2e9;
    private static final long ROTATE_BYTES = 200L << 20;

    private final Gpu gpu;
    private final Experiment.SweepSpec spec;
    private CeilingsBenchmark.Result ceilings;

    public KernelSweepRun(Gpu gpu, Experiment e) {
        if (!"kernel-sweep".equals(e.kind()) || e.sweep() == null) {
            throw new InputException("experiment '" + e.name() + "' is not a kernel sweep");
        }
        this.gpu = gpu;
        this.spec = e.sweep();
    }

    public long total() {
        return spec.points();
    }

    /** The roofs measured at the start of {@link #run} (null before). */
    public CeilingsBenchmark.Result ceilings() {
        return ceilings;
    }

    public long run(Sink sink, BooleanSupplier cancelled) {
        ceilings = CeilingsBenchmark.measure(gpu, 256L << 20, 10);
        return spec.walk(cancelled, (i, p) -> sink.record(i, spec.points(), evaluate(spec.target(), p)));
    }

    Map<String, Object> evaluate(String op, Map<String, Object> p) {
        Random rnd = KernelRecords.random(p);
        int runs = KernelRecords.num(p, "runs", 50);
        int warmup = KernelRecords.num(p, "warmup", 5);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("op", op);
        r.putAll(p);
        r.put("device", gpu.device().name());
        return switch (op) {
            case "copy" -> copy(p, r, runs, warmup);
            case "gemv" -> gemv(p, r, rnd, runs, warmup);
            case "decode_attention" -> attention(p, r, rnd, runs, warmup);
            default -> throw new InputException("unknown op " + op);
        };
    }

    private Map<String, Object> finish(Map<String, Object> r, float[] ms, double flops, double bytes, Double err) {
        double s = KernelRecords.put(r, ms, flops, bytes);
        r.put("backend", "cuda");
        r.put("roof", "measured copy bandwidth");
        r.put("roofBandwidth", ceilings.copyBandwidth());
        r.put("roofPeakFlops", ceilings.bf16MmaSync());
        r.put("roofPeakName", "BF16 mma.sync");
        r.put("roofFraction", bytes / s / ceilings.copyBandwidth());
        r.put("maxRelErr", err);
        return r;
    }

    private Map<String, Object> copy(Map<String, Object> p, Map<String, Object> r, int runs, int warmup) {
        String v = KernelRecords.str(p, "version", "v2");
        if (!v.equals("v1") && !v.equals("v2")) {
            throw new InputException("copy has versions v1 and v2, not '" + v + "'");
        }
        long bytes = (long) KernelRecords.num(p, "sizeMiB", 1024) << 20;
        Ceilings c = new Ceilings(gpu);
        try (DeviceBuffer a = gpu.alloc("copy source", bytes); DeviceBuffer b = gpu.alloc("copy destination", bytes)) {
            gpu.memset(a, (byte) 0x5a);
            float[] ms = gpu.time(warmup, runs, i -> c.copy(v.equals("v1") ? 1 : 2, a, b, bytes));
            r.put("version", v);
            return finish(r, ms, 0, 2.0 * bytes, null);
        }
    }

    private Map<String, Object> gemv(Map<String, Object> p, Map<String, Object> r, Random rnd, int runs, int warmup) {
        String v = KernelRecords.str(p, "version", "bf16");
        int batch = KernelRecords.num(p, "batch", 1);
        int n = KernelRecords.num(p, "n", 0);
        int k = KernelRecords.num(p, "k", 0);
        Gemv.Format f = switch (v) {
            case "bf16" -> Gemv.Format.BF16;
            case "w8a16" -> Gemv.Format.W8A16;
            case "w4a16" -> Gemv.Format.W4A16;
            default -> throw new InputException("gemv has versions bf16, w8a16 and w4a16, not '" + v + "'");
        };
        try {
            Gemv.validate(f, batch, n, k);
        } catch (IllegalArgumentException e) {
            throw new InputException(e.getMessage());
        }
        float[] w = Half.roundBf16(gaussian(rnd, n * k, 0.02));
        float[] x = Half.roundBf16(gaussian(rnd, batch * k, 1));
        Gemv g = new Gemv(gpu);
        GemvRef.Weight ref;
        byte[] q = null;
        float[] sc = null;
        switch (f) {
            case W8A16 -> {
                Quantize.Int8 q8 = Quantize.int8PerChannel(w, n, k);
                q = q8.q();
                sc = q8.scales();
                ref = q8::dequant;
            }
            case W4A16 -> {
                Quantize.Int4 q4 = Quantize.int4Grouped(w, n, k, false);
                q = q4.packed();
                sc = q4.scales();
                ref = q4::dequant;
            }
            default -> ref = (i, j) -> w[i * k + j];
        }
        long wBytes = f == Gemv.Format.BF16 ? 2L * n * k : q.length;
        int copies = (int) Math.max(2, (ROTATE_BYTES + wBytes - 1) / wBytes);
        List<DeviceBuffer> ws = new ArrayList<>();
        List<DeviceBuffer> ss = new ArrayList<>();
        try (DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dy = gpu.alloc("y", 2L * batch * n)) {
            short[] wb = f == Gemv.Format.BF16 ? Half.toBf16(w) : null;
            for (int i = 0; i < copies; i++) {
                ws.add(wb != null ? gpu.upload("weights", wb) : gpu.upload("weights", q));
                ss.add(sc != null ? gpu.upload("scales", sc) : null);
            }
            IntConsumer call = i -> {
                int c = i % copies;
                switch (f) {
                    case BF16 -> g.bf16(ws.get(c), dx, dy, batch, n, k);
                    case W8A16 -> g.w8a16(ws.get(c), ss.get(c), dx, dy, batch, n, k);
                    default -> g.w4a16(ws.get(c), ss.get(c), null, dx, dy, batch, n, k);
                }
            };
            call.accept(0);
            Double err = (double) batch * n * k <= MAX_REFERENCE_MACS
                    ? Compare.of(Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), GemvRef.compute(ref, x, batch, n, k)).maxRel() : null;
            float[] ms = gpu.time(warmup, runs, call);
            return finish(r, ms, Gemv.flops(batch, n, k), Gemv.bytes(f, batch, n, k, false), err);
        } finally {
            ws.forEach(DeviceBuffer::close);
            ss.forEach(b -> {
                if (b != null) {
                    b.close();
                }
            });
        }
    }

    private Map<String, Object> attention(Map<String, Object> p, Map<String, Object> r, Random rnd, int runs, int warmup) {
        String layout = KernelRecords.str(p, "version", "paged");
        if (!layout.equals("paged") && !layout.equals("contiguous")) {
            throw new InputException("decode_attention has versions contiguous and paged, not '" + layout + "'");
        }
        boolean paged = layout.equals("paged");
        String kv = KernelRecords.str(p, "kvDtype", "bf16");
        DecodeAttention.Dtype dt = switch (kv) {
            case "fp16" -> DecodeAttention.Dtype.FP16;
            case "fp8" -> DecodeAttention.Dtype.BF16_KV_FP8;
            default -> DecodeAttention.Dtype.BF16;
        };
        int batch = KernelRecords.num(p, "batch", 1);
        int ctx = KernelRecords.num(p, "context", 0);
        int heads = KernelRecords.num(p, "heads", 32);
        int kvh = KernelRecords.num(p, "kvHeads", 8);
        int d = KernelRecords.num(p, "headDim", 128);
        int bs = KernelRecords.num(p, "blockSize", 16);
        int partition = KernelRecords.num(p, "partition", 0);
        DecodeAttention.Shape s = new DecodeAttention.Shape(batch, heads, kvh, d, dt);
        try {
            DecodeAttention.validate(s);
        } catch (IllegalArgumentException e) {
            throw new InputException(e.getMessage());
        }
        if (paged && Integer.bitCount(bs) != 1) {
            throw new InputException("blockSize " + bs + " must be a power of two");
        }
        int row = kvh * d;
        long elems = (long) batch * ctx * row;
        if (elems > Integer.MAX_VALUE / 2) {
            throw new InputException("batch × context × kvHeads × headDim = " + elems + " is too large for one sweep point");
        }
        float[] q = Half.roundBf16(gaussian(rnd, batch * heads * d, 1));
        float[] k = gaussian(rnd, (int) elems, 1);
        float[] v = gaussian(rnd, (int) elems, 1);
        float ks = 1f;
        float vs = 1f;
        byte[] kq = null;
        byte[] vq = null;
        if (dt == DecodeAttention.Dtype.BF16_KV_FP8) {
            ks = Fp8Convert.scaleFor(k, Fp8.Format.E4M3);
            vs = Fp8Convert.scaleFor(v, Fp8.Format.E4M3);
            kq = new byte[k.length];
            vq = new byte[v.length];
            for (int i = 0; i < k.length; i++) {
                kq[i] = Fp8.encode(Fp8.Format.E4M3, k[i] / ks);
                vq[i] = Fp8.encode(Fp8.Format.E4M3, v[i] / vs);
                k[i] = Fp8.decode(Fp8.Format.E4M3, kq[i]) * ks;
                v[i] = Fp8.decode(Fp8.Format.E4M3, vq[i]) * vs;
            }
        } else {
            for (int i = 0; i < k.length; i++) {
                k[i] = dt == DecodeAttention.Dtype.FP16 ? Half.fp16ToFloat(Half.toFp16(k[i])) : Half.bf16ToFloat(Half.toBf16(k[i]));
                v[i] = dt == DecodeAttention.Dtype.FP16 ? Half.fp16ToFloat(Half.toFp16(v[i])) : Half.bf16ToFloat(Half.toBf16(v[i]));
            }
        }
        int[] lens = new int[batch];
        java.util.Arrays.fill(lens, ctx);
        int maxBlocks = (ctx + bs - 1) / bs;
        int pool = batch * maxBlocks;
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < pool; i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, rnd);
        int[] flat = ids.stream().mapToInt(Integer::intValue).toArray();
        // the cache as the kernel reads it: contiguous rows, or the same rows at the table's places in the pool
        int eb = dt.kvBytes();
        byte[] kc = new byte[(int) ((paged ? (long) pool * bs * row : elems) * eb)];
        byte[] vc = new byte[kc.length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < ctx; t++) {
                long src = ((long) b * ctx + t) * row;
                long dst = paged ? ((long) flat[b * maxBlocks + t / bs] * bs + t % bs) * row : src;
                for (int j = 0; j < row; j++) {
                    int si = (int) (src + j);
                    int di = (int) ((dst + j) * eb);
                    if (eb == 1) {
                        kc[di] = kq[si];
                        vc[di] = vq[si];
                    } else {
                        short ksh = dt == DecodeAttention.Dtype.FP16 ? Half.toFp16(k[si]) : Half.toBf16(k[si]);
                        short vsh = dt == DecodeAttention.Dtype.FP16 ? Half.toFp16(v[si]) : Half.toBf16(v[si]);
                        kc[di] = (byte) ksh;
                        kc[di + 1] = (byte) (ksh >> 8);
                        vc[di] = (byte) vsh;
                        vc[di + 1] = (byte) (vsh >> 8);
                    }
                }
            }
        }
        short[] qh = dt == DecodeAttention.Dtype.FP16 ? toFp16(q) : Half.toBf16(q);
        float[] qRef = dt == DecodeAttention.Dtype.FP16 ? fp16Round(q) : q;
        double macs = 2.0 * batch * heads * (double) ctx * d;
        float[] ref = macs <= MAX_REFERENCE_MACS ? DecodeAttentionRef.compute(qRef, k, v, null, lens, batch, heads, kvh, d, ctx, 1) : null;
        DecodeAttention attn = new DecodeAttention(gpu);
        int parts = DecodeAttention.partitions(ctx, partition);
        float fks = ks;
        float fvs = vs;
        try (DeviceBuffer dq = gpu.upload("q", qh); DeviceBuffer dk = gpu.upload("k cache", kc); DeviceBuffer dv = gpu.upload("v cache", vc);
                DeviceBuffer dbt = gpu.upload("block tables", flat); DeviceBuffer dl = gpu.upload("lengths", lens);
                DeviceBuffer out = gpu.alloc("out", 2L * batch * heads * d);
                DeviceBuffer ws = gpu.alloc("workspace", 4L * Math.max(1, DecodeAttention.workspaceFloats(s, parts)))) {
            IntConsumer call = i -> attn.run(s, dq, dk, dv, paged ? dbt : null, maxBlocks, bs, dl, ctx, ctx, out, partition, ws, fks, fvs);
            call.accept(0);
            Double err = null;
            if (ref != null) {
                short[] o = gpu.downloadShorts(out, batch * heads * d);
                float[] got = new float[o.length];
                for (int i = 0; i < o.length; i++) {
                    got[i] = dt == DecodeAttention.Dtype.FP16 ? Half.fp16ToFloat(o[i]) : Half.bf16ToFloat(o[i]);
                }
                err = Compare.of(got, ref).maxRel();
            }
            float[] ms = gpu.time(warmup, runs, call);
            return finish(r, ms, DecodeAttention.flops(s, lens), DecodeAttention.bytes(s, lens), err);
        }
    }

    private static short[] toFp16(float[] a) {
        short[] s = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = Half.toFp16(a[i]);
        }
        return s;
    }

    private static float[] fp16Round(float[] a) {
        float[] s = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = Half.fp16ToFloat(Half.toFp16(a[i]));
        }
        return s;
    }

    private static float[] gaussian(Random r, int n, double sigma) {
        return KernelRecords.gaussian(r, n, sigma);
    }
}
