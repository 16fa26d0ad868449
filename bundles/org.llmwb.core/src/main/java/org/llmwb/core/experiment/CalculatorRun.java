package org.llmwb.core.experiment;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;

import org.llmwb.core.Formula;
import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.calc.InferenceCost;
import org.llmwb.core.calc.KvCache;
import org.llmwb.core.calc.KvCapacity;
import org.llmwb.core.calc.PagingWaste;
import org.llmwb.core.calc.WeightMemory;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.plan.ParallelConfig;
import org.llmwb.core.plan.PlanInput;
import org.llmwb.core.plan.PlanResult;
import org.llmwb.core.plan.Planner;

/**
 * Runs a {@code kind: calculator} experiment: walks the sweep's cross product and hands one record
 * per point to a sink, checking for cancellation between points.
 */
public final class CalculatorRun {
    /** Receives records in order; {@code index} counts from 0. */
    public interface Sink {
        void record(long index, long total, Map<String, Object> record);
    }

    private final Experiment.SweepSpec spec;
    private final GpuCatalog gpus;

    public CalculatorRun(Experiment e, GpuCatalog gpus) {
        if (!"calculator".equals(e.kind()) || e.sweep() == null) {
            throw new InputException("experiment '" + e.name() + "' is not a calculator experiment");
        }
        this.spec = e.sweep();
        this.gpus = gpus;
    }

    public long total() {
        return spec.points();
    }

    /** @return the number of records produced; fewer than {@link #total()} when cancelled */
    public long run(Sink sink, BooleanSupplier cancelled) {
        return spec.walk(cancelled, (i, point) -> sink.record(i, spec.points(), evaluate(spec.target(), point)));
    }

    /** One point: the settings, then the calculator's outputs. */
    public Map<String, Object> evaluate(String calculator, Map<String, Object> s) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("calculator", calculator);
        switch (calculator) {
            case "kv" -> kv(s, r);
            case "memory" -> memory(s, r);
            case "roofline" -> roofline(s, r);
            case "plan" -> plan(s, r);
            case "paging" -> paging(s, r);
            case "collective" -> collective(s, r);
            case "attention" -> attention(s, r);
            default -> throw new InputException("unknown calculator " + calculator);
        }
        return r;
    }

    private static ModelConfig model(Map<String, Object> s) {
        return ModelPresets.resolve((String) s.get("model"));
    }

    private static Precision prec(Map<String, Object> s, String key, String dflt) {
        return Precision.parse((String) s.getOrDefault(key, dflt));
    }

    private static long num(Map<String, Object> s, String key, long dflt) {
        Object v = s.get(key);
        return v == null ? dflt : ((Number) v).longValue();
    }

    private GpuSpec gpu(Map<String, Object> s) {
        return gpus.get((String) s.get("gpu"));
    }

    private static void formula(Map<String, Object> r, List<Formula> fs) {
        List<String> lines = new ArrayList<>();
        for (Formula f : fs) {
            lines.add(f.name() + " = " + f.symbolic() + " = " + f.substituted());
        }
        r.put("formulas", lines);
    }

    private void kv(Map<String, Object> s, Map<String, Object> r) {
        ModelConfig m = model(s);
        Precision kv = prec(s, "kvPrecision", "bf16");
        long ctx = num(s, "context", 4096);
        long batch = num(s, "batch", 1);
        KvCache.Result res = KvCache.compute(m, kv, ctx, batch);
        r.put("model", m.name());
        r.put("kvPrecision", kv.id());
        r.put("context", ctx);
        r.put("batch", batch);
        r.put("attention", res.attention().name());
        r.put("bytesPerToken", res.bytesPerToken());
        r.put("bytesPerSequence", res.bytesPerSequence());
        r.put("bytes", res.totalBytes());
        formula(r, res.formulas());
    }

    private void memory(Map<String, Object> s, Map<String, Object> r) {
        ModelConfig m = model(s);
        GpuSpec g = gpu(s);
        Precision w = prec(s, "precision", "bf16");
        Precision kv = Precision.kvOrDefault((String) s.get("kvPrecision"), w);
        long ctx = num(s, "context", 4096);
        double util = ((Number) s.getOrDefault("utilization", KvCapacity.DEFAULT_UTILIZATION)).doubleValue();
        KvCapacity.Result c = KvCapacity.compute(m, g, w, kv, ctx, util);
        r.put("model", m.name());
        r.put("gpu", g.id());
        r.put("precision", w.id());
        r.put("kvPrecision", kv.id());
        r.put("context", ctx);
        r.put("params", WeightMemory.compute(m, w).params());
        r.put("weightBytes", c.weightBytes());
        r.put("activationBytes", c.activationBytes());
        r.put("kvBudgetBytes", c.kvBudgetBytes());
        r.put("kvBytesPerSequence", c.kvBytesPerSequence());
        r.put("maxSequences", c.maxSequences());
        r.put("weightsFit", c.weightsFit());
        formula(r, c.formulas());
    }

    private void roofline(Map<String, Object> s, Map<String, Object> r) {
        ModelConfig m = model(s);
        GpuSpec g = gpu(s);
        Precision w = prec(s, "precision", "bf16");
        Precision kv = Precision.kvOrDefault((String) s.get("kvPrecision"), w);
        long batch = num(s, "batch", 1);
        long ctx = num(s, "context", 4096);
        long prompt = num(s, "prompt", 2048);
        InferenceCost.Step d = InferenceCost.decode(m, g, w, kv, batch, ctx);
        InferenceCost.Step p = InferenceCost.prefill(m, g, w, kv, batch, prompt);
        r.put("model", m.name());
        r.put("gpu", g.id());
        r.put("precision", w.id());
        r.put("batch", batch);
        r.put("context", ctx);
        r.put("prompt", prompt);
        r.put("peakFlops", d.peak());
        r.put("bandwidth", d.bandwidth());
        r.put("ridge", d.peak() / d.bandwidth());
        put(r, "decode", d);
        put(r, "prefill", p);
        r.put("decodeTokensPerSecond", batch / d.timeBound());
        List<Formula> fs = new ArrayList<>(d.formulas());
        fs.addAll(p.formulas());
        formula(r, fs);
    }

    private static void put(Map<String, Object> r, String prefix, InferenceCost.Step st) {
        r.put(prefix + "Flops", st.flops());
        r.put(prefix + "Bytes", st.bytes());
        r.put(prefix + "Intensity", st.intensity());
        r.put(prefix + "AttainableFlops", st.attainable());
        r.put(prefix + "TimeBound", st.timeBound());
        r.put(prefix + "MemoryBound", st.memoryBound());
    }

    /** One layer's prefill attention, naive or FlashAttention, on a GPU's roofs (see {@link org.llmwb.core.calc.AttentionIo}). */
    private void attention(Map<String, Object> s, Map<String, Object> r) {
        ModelConfig m = model(s);
        GpuSpec g = gpu(s);
        Precision w = prec(s, "precision", "bf16");
        long n = num(s, "context", 4096);
        long batch = num(s, "batch", 1);
        boolean causal = !Boolean.FALSE.equals(s.get("causal"));
        double l2 = ((Number) s.get("l2MiB")).doubleValue() * (1 << 20);
        String alg = (String) s.get("attention");
        org.llmwb.core.calc.AttentionIo.Cost c = org.llmwb.core.calc.AttentionIo.cost(alg, n, m.headDim(), w.bytesPerValue(), causal, l2);
        double heads = (double) batch * m.numHeads();
        double flops = c.flops() * heads;
        double bytes = c.bytes() * heads;
        double peak = g.peakFor(w);
        double tMem = bytes / g.memoryBandwidth();
        double tCompute = flops / peak;
        r.put("model", m.name());
        r.put("gpu", g.id());
        r.put("attention", alg);
        r.put("context", n);
        r.put("batch", batch);
        r.put("heads", m.numHeads());
        r.put("headDim", m.headDim());
        r.put("causal", causal);
        r.put("flops", flops);
        r.put("hbmBytes", bytes);
        r.put("intensity", flops / bytes);
        r.put("ridge", peak / g.memoryBandwidth());
        r.put("extraBytes", c.extraBytes() * heads);
        r.put("extraGiB", c.extraBytes() * heads / (1L << 30));
        r.put("extraMiB", c.extraBytes() * heads / (1L << 20));
        r.put("kvInL2", c.kvInL2());
        r.put("memoryTimeMs", tMem * 1e3);
        r.put("computeTimeMs", tCompute * 1e3);
        r.put("timeBoundMs", Math.max(tMem, tCompute) * 1e3);
        r.put("bound", tMem >= tCompute ? "memory" : "compute");
        r.put("formulas", List.of(alg.equals("naive") ? "bytes = (4·N·d + 4·N²)·e per head; FLOPs = 4·N²·d; extra = N²·e"
                : "bytes = (2·N·d + passes·2·N·d)·e per head (passes = 1 when K,V fit in L2, else ⌈N/128⌉); FLOPs = " + (causal ? "2" : "4") + "·N²·d; extra = 4·N bytes",
                "time bound = max(bytes ÷ bandwidth, FLOPs ÷ peak)"));
    }

    /** One collective's time in the α-β model over a GPU's link (the planner's α and link bandwidths). */
    private void collective(Map<String, Object> s, Map<String, Object> r) {
        GpuSpec g = gpus.get((String) s.getOrDefault("gpu", "h100-sxm"));
        String link = (String) s.getOrDefault("link", g.linkBandwidth() > 0 ? "nvlink" : "pcie");
        if (link.equals("nvlink") && g.linkBandwidth() <= 0) {
            throw new InputException(g.id() + " has no NVLink; link is pcie or network");
        }
        double bw = switch (link) {
            case "nvlink" -> g.linkBandwidthPerDirection();
            case "pcie" -> g.pcieBandwidthPerDirection();
            default -> PlanInput.DEFAULT_INTER_NODE;
        };
        double alpha = Planner.alpha(link);
        int n = ((Number) s.get("gpus")).intValue();
        long bytes = ((Number) s.get("bytes")).longValue();
        org.llmwb.core.calc.Collectives.Cost c = org.llmwb.core.calc.Collectives.cost((String) s.get("collective"), (String) s.get("algorithm"), n, bytes, alpha, bw);
        r.put("gpu", g.id());
        r.put("link", link);
        r.put("collective", c.op());
        r.put("algorithm", c.algorithm());
        r.put("gpus", n);
        r.put("bytes", bytes);
        r.put("steps", c.steps());
        r.put("linkBytes", c.linkBytes());
        r.put("alphaUs", alpha * 1e6);
        r.put("bandwidthGBs", bw / 1e9);
        r.put("timeUs", c.seconds() * 1e6);
        r.put("algBandwidthGBs", c.algBandwidth() / 1e9);
        r.put("latencyShare", c.latencyShare());
        r.put("formulas", List.of("time = steps × α + link bytes ÷ β = " + c.steps() + " × " + String.format(java.util.Locale.ROOT, "%.1f µs", alpha * 1e6)
                + " + " + String.format(java.util.Locale.ROOT, "%.0f B ÷ %.0f GB/s", c.linkBytes(), bw / 1e9) + " = "
                + String.format(java.util.Locale.ROOT, "%.2f µs", c.seconds() * 1e6)));
    }

    private void plan(Map<String, Object> s, Map<String, Object> r) {
        ModelConfig m = model(s);
        GpuSpec g = gpu(s);
        Precision w = prec(s, "precision", "bf16");
        Precision kv = Precision.kvOrDefault((String) s.get("kvPrecision"), w);
        ParallelConfig p = new ParallelConfig((int) num(s, "tp", 1), (int) num(s, "pp", 1), (int) num(s, "dp", 1), (int) num(s, "ep", 1),
                (int) num(s, "cp", 1), Boolean.TRUE.equals(s.get("sp")));
        long ctx = num(s, "context", 4096);
        long batch = num(s, "batch", 32);
        PlanInput base = PlanInput.of(m, g, w, kv, p, ctx, batch);
        PlanInput in = new PlanInput(m, g, w, kv, p, ctx, batch, num(s, "prompt", base.promptTokens()), (int) num(s, "gpusPerNode", 8),
                base.interNodeBandwidth(), ((Number) s.getOrDefault("utilization", base.utilization())).doubleValue(), base.maxBatchTokens());
        PlanResult res = Planner.plan(in);
        r.put("model", m.name());
        r.put("gpu", g.id());
        r.put("precision", w.id());
        r.put("kvPrecision", kv.id());
        r.put("parallel", p.toString());
        r.put("tp", p.tp());
        r.put("pp", p.pp());
        r.put("dp", p.dp());
        r.put("ep", p.ep());
        r.put("cp", p.cp());
        r.put("gpus", p.worldSize());
        r.put("context", ctx);
        r.put("batch", batch);
        r.put("valid", res.valid());
        r.put("problems", res.problems().stream().filter(x -> x.severity() != Problem.Severity.INFO).map(Problem::toString).toList());
        r.put("weightBytesPerGpu", res.memory().weights());
        r.put("kvBudgetBytesPerGpu", res.memory().kvBudget());
        r.put("maxSequencesPerReplica", res.maxSequencesPerReplica());
        r.put("decodeStepBound", res.decodeStepBound());
        r.put("prefillBound", res.prefillBound());
        r.put("decodeCommSeconds", res.collectives().stream().filter(c -> c.phase().equals("decode")).mapToDouble(PlanResult.Collective::seconds).sum());
        r.put("vllm", res.commands().get("vllm"));
        formula(r, res.formulas());
    }

    private static void paging(Map<String, Object> s, Map<String, Object> r) {
        long ctx = num(s, "context", 4096);
        int block = (int) num(s, "blockSize", 16);
        int n = (int) num(s, "sequences", 1000);
        long seed = num(s, "seed", 1);
        long mean = num(s, "meanLength", Math.max(1, ctx / 4));
        // lengths ~ exponential with the given mean, clipped to [1, context]: many short, a few long
        Random rnd = new Random(seed);
        long[] lengths = new long[n];
        for (int i = 0; i < n; i++) {
            long len = Math.round(-Math.log(1 - rnd.nextDouble()) * mean);
            lengths[i] = Math.max(1, Math.min(ctx, len));
        }
        PagingWaste.Result res = PagingWaste.compute(lengths, ctx, block);
        r.put("context", ctx);
        r.put("blockSize", block);
        r.put("sequences", n);
        r.put("meanLength", mean);
        r.put("seed", seed);
        r.put("usedTokens", res.usedTokens());
        r.put("contiguousAllocated", res.contiguousAllocated());
        r.put("pagedAllocated", res.pagedAllocated());
        r.put("contiguousWaste", res.contiguousWaste());
        r.put("pagedWaste", res.pagedWaste());
        formula(r, res.formulas());
    }
}
