package org.llmwb.backend.cpu.nd4j;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;

import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.DecodeAttentionRef;
import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.Quantize;
import org.llmwb.core.InputException;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.core.experiment.KernelRecords;
import org.llmwb.core.numeric.Fp8;
import org.llmwb.core.numeric.Half;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs a {@code kind: kernel-sweep} experiment on the CPU through ND4J: the same ops, parameters and
 * record fields as the GPU sweep, so a kernel lab runs on any laptop and its points land on the CPU's
 * measured roofline. What differs is said in each record's {@code storage} field: ND4J computes in FP32,
 * so BF16/FP16/FP8 values are rounded to their format but stored as FP32 (bytes counted as stored), and
 * quantized weights are INT8 codes (one per byte) dequantized on every call before the GEMM.
 */
public final class CpuKernelSweep {
    /** Receives records in order. */
    public interface Sink {
        void record(long index, long total, Map<String, Object> record);
    }

    static final double MAX_REFERENCE_MACS = 2e8;

    private final Experiment.SweepSpec spec;
    private CpuCeilings.Result ceilings;

    public CpuKernelSweep(Experiment e) {
        if (!"kernel-sweep".equals(e.kind()) || e.sweep() == null) {
            throw new InputException("experiment '" + e.name() + "' is not a kernel sweep");
        }
        this.spec = e.sweep();
    }

    public long total() {
        return spec.points();
    }

    /** The roofs measured at the start of {@link #run} (null before). */
    public CpuCeilings.Result ceilings() {
        return ceilings;
    }

    public long run(Sink sink, BooleanSupplier cancelled) {
        ceilings = CpuCeilings.measure(128L << 20, 1024, 6);
        return spec.walk(cancelled, (i, p) -> sink.record(i, spec.points(), evaluate(spec.target(), p)));
    }

    Map<String, Object> evaluate(String op, Map<String, Object> p) {
        Random rnd = KernelRecords.random(p);
        int runs = Math.max(1, Math.min(KernelRecords.num(p, "runs", 10), 20));
        int warmup = Math.min(KernelRecords.num(p, "warmup", 2), 3);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("op", op);
        r.putAll(p);
        r.put("runs", runs);
        r.put("device", ceilings.device());
        r.put("backend", "cpu");
        return switch (op) {
            case "copy" -> copy(p, r, runs, warmup);
            case "gemv" -> gemv(p, r, rnd, runs, warmup);
            case "decode_attention" -> attention(p, r, rnd, runs, warmup);
            default -> throw new InputException("unknown op " + op + " (the CPU backend runs copy, gemv and decode_attention)");
        };
    }

    private Map<String, Object> finish(Map<String, Object> r, float[] ms, double flops, double bytes, Double err) {
        double s = KernelRecords.put(r, ms, flops, bytes);
        r.put("roof", "measured CPU copy bandwidth (ND4J)");
        r.put("roofBandwidth", ceilings.copyBandwidth());
        r.put("roofPeakFlops", ceilings.fp32Gemm());
        r.put("roofPeakName", "FP32 GEMM (ND4J)");
        r.put("roofFraction", bytes / s / ceilings.copyBandwidth());
        r.put("maxRelErr", err);
        return r;
    }

    private Map<String, Object> copy(Map<String, Object> p, Map<String, Object> r, int runs, int warmup) {
        long bytes = (long) Math.min(KernelRecords.num(p, "sizeMiB", 256), 1024) << 20;
        INDArray a = Nd4j.rand(DataType.FLOAT, bytes / 4);
        INDArray b = Nd4j.create(DataType.FLOAT, bytes / 4);
        r.put("sizeMiB", bytes >> 20);
        r.put("storage", "fp32 (ND4J assign)");
        return finish(r, CpuCeilings.time(warmup, runs, () -> b.assign(a)), 0, 2.0 * bytes, null);
    }

    private Map<String, Object> gemv(Map<String, Object> p, Map<String, Object> r, Random rnd, int runs, int warmup) {
        String v = KernelRecords.str(p, "version", "bf16");
        int batch = KernelRecords.num(p, "batch", 1);
        int n = KernelRecords.num(p, "n", 0);
        int k = KernelRecords.num(p, "k", 0);
        if (batch < 1 || n < 1 || k < 1) {
            throw new InputException("gemv needs batch, n and k ≥ 1 (got " + batch + ", " + n + ", " + k + ")");
        }
        float[] w = Half.roundBf16(KernelRecords.gaussian(rnd, n * k, 0.02));
        float[] x = Half.roundBf16(KernelRecords.gaussian(rnd, batch * k, 1));
        INDArray xa = Nd4jOps.matrix(x, batch, k);
        GemvRef.Weight ref;
        Runnable call;
        INDArray[] out = new INDArray[1];
        double bytes;
        switch (v) {
            case "bf16" -> {
                INDArray wT = Nd4jOps.matrix(w, n, k).transpose().dup('c');
                ref = (i, j) -> w[i * k + j];
                call = () -> out[0] = Nd4jOps.linear(xa, wT);
                bytes = 4.0 * n * k;
                r.put("storage", "fp32 weights holding bf16-rounded values");
            }
            case "w8a16" -> {
                Quantize.Int8 q = Quantize.int8PerChannel(w, n, k);
                INDArray codes = Nd4j.createFromArray(q.q()).reshape(n, k);
                INDArray scales = Nd4j.createFromArray(q.scales()).reshape(n, 1);
                ref = q::dequant;
                INDArray xT = xa.transpose().dup('c');
                call = () -> out[0] = codes.castTo(DataType.FLOAT).muliColumnVector(scales).mmul(xT).transpose();
                bytes = 1.0 * n * k + 4.0 * n;
                r.put("storage", "int8 codes, dequantized to fp32 on every call before the GEMM");
            }
            case "w4a16" -> {
                if (k % Quantize.INT4_GROUP != 0) {
                    throw new InputException("w4a16 needs k divisible by " + Quantize.INT4_GROUP + " (got " + k + ")");
                }
                Quantize.Int4 q = Quantize.int4Grouped(w, n, k, false);
                byte[] codes = new byte[n * k];
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < k; j++) {
                        codes[i * k + j] = (byte) (q.nibble(i, j) - 8);
                    }
                }
                int groups = n * k / Quantize.INT4_GROUP;
                INDArray ca = Nd4j.createFromArray(codes).reshape(groups, Quantize.INT4_GROUP);
                INDArray scales = Nd4j.createFromArray(q.scales()).reshape(groups, 1);
                ref = q::dequant;
                INDArray xT = xa.transpose().dup('c');
                call = () -> out[0] = ca.castTo(DataType.FLOAT).muliColumnVector(scales).reshape(n, k).mmul(xT).transpose();
                bytes = 1.0 * n * k + 4.0 * groups;
                r.put("storage", "int4 codes one per byte (not packed), dequantized to fp32 on every call before the GEMM");
            }
            default -> throw new InputException("gemv has versions bf16, w8a16 and w4a16, not '" + v + "'");
        }
        bytes += 4.0 * batch * (k + n);
        call.run();
        Double err = (double) batch * n * k <= MAX_REFERENCE_MACS
                ? Compare.of(Nd4jOps.floats(out[0]), GemvRef.compute(ref, x, batch, n, k)).maxRel() : null;
        return finish(r, CpuCeilings.time(warmup, runs, call), 2.0 * batch * n * k, bytes, err);
    }

    private Map<String, Object> attention(Map<String, Object> p, Map<String, Object> r, Random rnd, int runs, int warmup) {
        String layout = KernelRecords.str(p, "version", "paged");
        if (!layout.equals("paged") && !layout.equals("contiguous")) {
            throw new InputException("decode_attention has versions contiguous and paged, not '" + layout + "'");
        }
        boolean paged = layout.equals("paged");
        String kv = KernelRecords.str(p, "kvDtype", "bf16");
        int batch = KernelRecords.num(p, "batch", 1);
        int ctx = KernelRecords.num(p, "context", 0);
        int heads = KernelRecords.num(p, "heads", 32);
        int kvh = KernelRecords.num(p, "kvHeads", 8);
        int d = KernelRecords.num(p, "headDim", 128);
        int bs = paged ? KernelRecords.num(p, "blockSize", 16) : 1;
        if (batch < 1 || ctx < 1 || kvh < 1 || heads % kvh != 0 || d < 2 || d % 2 != 0) {
            throw new InputException("decode_attention needs batch, context ≥ 1, heads divisible by kvHeads and an even headDim (got batch "
                    + batch + ", context " + ctx + ", heads " + heads + ", kvHeads " + kvh + ", headDim " + d + ")");
        }
        if (bs < 1 || Integer.bitCount(bs) != 1) {
            throw new InputException("blockSize " + bs + " must be a power of two");
        }
        int row = kvh * d;
        long elems = (long) batch * ctx * row;
        if (elems > (1L << 28)) {
            throw new InputException("batch × context × kvHeads × headDim = " + elems + " is too large for a CPU sweep point (at most 2^28)");
        }
        float[] q = Half.roundBf16(KernelRecords.gaussian(rnd, batch * heads * d, 1));
        float[] k = KernelRecords.gaussian(rnd, (int) elems, 1);
        float[] v = KernelRecords.gaussian(rnd, (int) elems, 1);
        for (float[] a : List.of(k, v)) {
            round(a, kv);
        }
        r.put("storage", "fp32 KV holding " + kv + "-rounded values");
        int[] lens = new int[batch];
        java.util.Arrays.fill(lens, ctx);
        int maxBlocks = (ctx + bs - 1) / bs;
        int pool = batch * maxBlocks;
        int[][] tables = null;
        float[] kc = k;
        float[] vc = v;
        if (paged) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < pool; i++) {
                ids.add(i);
            }
            Collections.shuffle(ids, rnd);
            tables = new int[batch][maxBlocks];
            kc = new float[pool * bs * row];
            vc = new float[kc.length];
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < maxBlocks; j++) {
                    tables[b][j] = ids.get(b * maxBlocks + j);
                }
                for (int t = 0; t < ctx; t++) {
                    int dst = (tables[b][t / bs] * bs + t % bs) * row;
                    System.arraycopy(k, (b * ctx + t) * row, kc, dst, row);
                    System.arraycopy(v, (b * ctx + t) * row, vc, dst, row);
                }
            }
        }
        INDArray qa = Nd4jOps.matrix(q, batch, heads * d);
        INDArray ka = Nd4jOps.matrix(kc, kc.length / row, row);
        INDArray va = Nd4jOps.matrix(vc, vc.length / row, row);
        int[][] t = tables;
        int ml = paged ? maxBlocks * bs : ctx;
        INDArray[] out = new INDArray[1];
        Runnable call = () -> out[0] = Nd4jOps.decodeAttention(qa, ka, va, t, lens, heads, kvh, d, ml, bs);
        call.run();
        double macs = 2.0 * batch * heads * (double) ctx * d;
        Double err = macs <= MAX_REFERENCE_MACS
                ? Compare.of(Nd4jOps.floats(out[0]), DecodeAttentionRef.compute(q, kc, vc, tables, lens, batch, heads, kvh, d, ml, bs)).maxRel() : null;
        double tokens = (double) batch * ctx;
        double flops = 4.0 * tokens * heads * d;
        double bytes = tokens * 2.0 * row * 4 + 2.0 * batch * heads * d * 4;
        return finish(r, CpuCeilings.time(warmup, runs, call), flops, bytes, err);
    }

    private static void round(float[] a, String dtype) {
        for (int i = 0; i < a.length; i++) {
            a[i] = switch (dtype) {
                case "fp16" -> Half.fp16ToFloat(Half.toFp16(a[i]));
                case "fp8" -> Fp8.decode(Fp8.Format.E4M3, Fp8.encode(Fp8.Format.E4M3, a[i]));
                case "bf16" -> Half.bf16ToFloat(Half.toBf16(a[i]));
                default -> throw new InputException("kvDtype is bf16, fp16 or fp8, not '" + dtype + "'");
            };
        }
    }
}
