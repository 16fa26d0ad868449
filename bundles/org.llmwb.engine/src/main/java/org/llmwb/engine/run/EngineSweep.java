package org.llmwb.engine.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import org.llmwb.core.InputException;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.experiment.Experiment;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.kv.ContiguousKvManager;
import org.llmwb.engine.kv.KvCacheManager;
import org.llmwb.engine.metrics.RequestMetrics;
import org.llmwb.engine.metrics.Stats;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.LlamaCpu;
import org.llmwb.engine.model.Safetensors;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.tokenizer.BpeTokenizer;

/**
 * Runs a {@code kind: engine-run} experiment: every point of its sweep is one whole engine run of the workload
 * (same seed, so A/B points see the same requests), and yields one record with the run's latency table,
 * throughput, goodput and KV figures. Steps are streamed as they happen; each point's requests and steps are
 * kept for the result folder.
 */
public final class EngineSweep implements AutoCloseable {
    /** Receives each point's record. */
    public interface Sink {
        void record(long index, long total, Map<String, Object> record);
    }

    /** Receives engine steps as they happen (point index, event). */
    public interface StepSink {
        void step(long point, StepEvent e);
    }

    /** What a finished point leaves for the result folder. */
    public record PointFiles(long index, List<RequestMetrics> requests, List<StepEvent> steps, String latencyTable) {
    }

    public static final Map<String, Object> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("model", "tiny");
        DEFAULTS.put("backend", "auto");
        DEFAULTS.put("seed", 1L);
        DEFAULTS.put("requests", 16);
        DEFAULTS.put("rate", 8.0);
        DEFAULTS.put("burst", 8);
        DEFAULTS.put("promptTokens", 64);
        DEFAULTS.put("promptDist", "fixed");
        DEFAULTS.put("outputTokens", 32);
        DEFAULTS.put("outputDist", "fixed");
        DEFAULTS.put("sharedPrefix", 0);
        DEFAULTS.put("priorities", 1);
        DEFAULTS.put("kv", "paged");
        DEFAULTS.put("blockSize", 16);
        DEFAULTS.put("kvBlocks", 0);
        DEFAULTS.put("prefixCaching", true);
        DEFAULTS.put("maxModelLen", 0);
        DEFAULTS.put("batching", "continuous");
        DEFAULTS.put("batchWindowMs", 50.0);
        DEFAULTS.put("order", "fcfs");
        DEFAULTS.put("chunkedPrefill", true);
        DEFAULTS.put("maxBatchedTokens", 512);
        DEFAULTS.put("maxSeqs", 16);
        DEFAULTS.put("temperature", 0.0);
        DEFAULTS.put("topK", 0);
        DEFAULTS.put("topP", 1.0);
        DEFAULTS.put("sloTtftMs", 0.0);
        DEFAULTS.put("sloTpotMs", 0.0);
        DEFAULTS.put("graphs", false);
        DEFAULTS.put("warmup", true);
        DEFAULTS.put("repeats", 1);
        DEFAULTS.put("speculative.method", "none");
        DEFAULTS.put("speculative.k", 4);
        DEFAULTS.put("speculative.adaptive", false);
        DEFAULTS.put("speculative.ngramMax", 3);
        DEFAULTS.put("speculative.exitLayers", 0);
        DEFAULTS.put("speculative.draftModel", "");
        DEFAULTS.put("quantization.weights", "none");
        DEFAULTS.put("quantization.kv", "none");
        DEFAULTS.put("disaggregation.mode", "aggregated");
        DEFAULTS.put("disaggregation.workers", 1);
        DEFAULTS.put("disaggregation.prefillWorkers", 1);
        DEFAULTS.put("disaggregation.decodeWorkers", 1);
        DEFAULTS.put("disaggregation.stagingSlots", 2);
    }

    /** Note attached to speculative records of generated (random-weight) models. */
    public static final String RANDOM_WEIGHTS_NOTE = "seeded random weights: acceptance measures how often the drafter guessed this model's own "
            + "(meaningless) output — random models fall into loops that n-gram lookup finds, and their residual stream barely changes across "
            + "layers so an early exit agrees with the full model; between two unrelated random models (draft-model) it is near chance. "
            + "Point 'model' at a real checkpoint folder for real acceptance rates.";

    private final Experiment e;
    /** A model as loaded for this sweep: its folder, shape and tokenizer, and the ND4J model on the CPU backend. */
    record Loaded(Path dir, org.llmwb.core.catalog.ModelConfig config, LlamaCpu cpu, BpeTokenizer tokenizer) {
    }

    private final Map<String, Loaded> models = new LinkedHashMap<>();
    private final boolean cuda;
    private org.llmwb.backend.cuda.Gpu gpu;
    private final List<PointFiles> files = new java.util.ArrayList<>();
    private String device = "CPU";

    /** @param backend "cpu" (ND4J) or "cuda" (our kernels; the caller has checked that there is a GPU) */
    public EngineSweep(Experiment e, String backend) {
        if (!"engine-run".equals(e.kind())) {
            throw new IllegalArgumentException("not an engine run: " + e.kind());
        }
        if (e.sweep().sweep().containsKey("backend")) {
            throw new InputException(e.location(), "'backend' cannot be swept: run the experiment once per backend");
        }
        if (e.sweep().sweep().containsKey("repeats")) {
            throw new InputException(e.location(), "'repeats' cannot be swept: it is how many times every point runs");
        }
        this.e = e;
        this.cuda = "cuda".equals(backend);
    }

    public long total() {
        return e.sweep().points();
    }

    public String device() {
        return device;
    }

    public List<PointFiles> files() {
        return files;
    }

    static Object get(Map<String, Object> p, String k) {
        Object v = p.get(k);
        return v != null ? v : DEFAULTS.get(k);
    }

    static int i(Map<String, Object> p, String k) {
        return ((Number) get(p, k)).intValue();
    }

    static double d(Map<String, Object> p, String k) {
        return ((Number) get(p, k)).doubleValue();
    }

    static String s(Map<String, Object> p, String k) {
        return String.valueOf(get(p, k));
    }

    static boolean b(Map<String, Object> p, String k) {
        return (Boolean) get(p, k);
    }

    public long run(Sink sink, StepSink steps, BooleanSupplier cancelled) {
        long total = total();
        int repeats = ((Number) get(e.sweep().base(), "repeats")).intValue();
        if (repeats < 1 || repeats > 50) {
            throw new InputException(e.location(), "repeats must be in 1..50, not " + repeats);
        }
        if (repeats == 1) {
            return e.sweep().walk(cancelled, (index, point) -> {
                Map<String, Object> rec = runPoint(index, point, steps, cancelled);
                if (rec != null) {
                    sink.record(index, total, rec);
                }
            });
        }
        return runRepeated(sink, steps, cancelled, total, repeats);
    }

    /**
     * Every point {@code repeats} times in interleaved rounds (round 1 in sweep order, round 2 reversed, ...), so no
     * point runs only cold or only after the others; each point's record is its median run by output tokens/s, with
     * every run's figure, the min, max and spread added. Its step and request files are the median run's.
     */
    private long runRepeated(Sink sink, StepSink steps, BooleanSupplier cancelled, long total, int repeats) {
        List<Map<String, Object>> points = new java.util.ArrayList<>();
        e.sweep().walk(cancelled, (index, point) -> points.add(point));
        int n = points.size();
        List<List<Map<String, Object>>> runs = new java.util.ArrayList<>();
        List<List<PointFiles>> runFiles = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            runs.add(new java.util.ArrayList<>());
            runFiles.add(new java.util.ArrayList<>());
        }
        for (int round = 0; round < repeats; round++) {
            for (int k = 0; k < n; k++) {
                int i = round % 2 == 0 ? k : n - 1 - k;
                if (cancelled.getAsBoolean()) {
                    return 0;
                }
                int before = files.size();
                Map<String, Object> rec = runPoint(i, points.get(i), steps, cancelled);
                if (rec == null) {
                    return 0;
                }
                runs.get(i).add(rec);
                runFiles.get(i).add(files.size() > before ? files.remove(files.size() - 1) : null);
            }
        }
        for (int i = 0; i < n; i++) {
            List<Map<String, Object>> rs = runs.get(i);
            List<Integer> order = new java.util.ArrayList<>();
            for (int j = 0; j < rs.size(); j++) {
                order.add(j);
            }
            order.sort(java.util.Comparator.comparingDouble(j -> ((Number) rs.get(j).getOrDefault("outputTokensPerS", 0.0)).doubleValue()));
            int med = order.get(order.size() / 2);
            Map<String, Object> rec = new LinkedHashMap<>(rs.get(med));
            List<Double> thr = new java.util.ArrayList<>();
            for (Map<String, Object> r : rs) {
                thr.add(((Number) r.getOrDefault("outputTokensPerS", 0.0)).doubleValue());
            }
            double lo = java.util.Collections.min(thr);
            double hi = java.util.Collections.max(thr);
            double mid = ((Number) rec.getOrDefault("outputTokensPerS", 0.0)).doubleValue();
            rec.put("repeats", repeats);
            rec.put("outputTokensPerS_runs", thr);
            rec.put("outputTokensPerS_min", lo);
            rec.put("outputTokensPerS_max", hi);
            rec.put("outputTokensPerS_spreadPct", mid > 0 ? 100 * (hi - lo) / mid : 0.0);
            if (runFiles.get(i).get(med) != null) {
                files.add(runFiles.get(i).get(med));
            }
            sink.record(i, total, rec);
        }
        return n;
    }

    /** Whether a model setting names a generated (seeded random-weight) checkpoint rather than a folder. */
    static boolean generated(String model) {
        return model.equals("tiny") || ModelPresets.ids().contains(model);
    }

    /** Where generated checkpoints are kept between runs ({@code LLMWB_CACHE}, else ~/.cache/llmwb). */
    public static Path cacheDir() {
        String env = System.getenv("LLMWB_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "llmwb");
    }

    /** The checkpoint folder for a model setting: a folder as given, or a generated one for 'tiny' and catalog shapes. */
    public static Path checkpointFor(String model, long seed) {
        if (!model.equals("tiny") && !ModelPresets.ids().contains(model)) {
            return Path.of(model);
        }
        // "tiny-v2": the tiny shape changed (head dim 16 → 64); a folder of the old shape is never reused
        Path dir = cacheDir().resolve("checkpoints").resolve((model.equals("tiny") ? "tiny-v2" : model) + "-seed" + seed);
        if (Files.isRegularFile(dir.resolve("config.json"))) {
            return dir;
        }
        CheckpointGenerator.Shape shape = model.equals("tiny") ? CheckpointGenerator.Shape.tiny() : CheckpointGenerator.Shape.like(ModelPresets.of(model));
        try {
            return CheckpointGenerator.generate(dir, shape, seed, model.equals("tiny") ? Safetensors.Dtype.F32 : Safetensors.Dtype.BF16, 1);
        } catch (java.nio.file.FileSystemException raced) {
            if (Files.isRegularFile(dir.resolve("config.json"))) {
                return dir; // another run generated it at the same time
            }
            throw new UncheckedIOException(raced);
        } catch (IOException io) {
            throw new UncheckedIOException(io);
        }
    }

    private Map<String, Object> runPoint(long index, Map<String, Object> p, StepSink steps, BooleanSupplier cancelled) {
        String model = s(p, "model");
        long seed = ((Number) get(p, "seed")).longValue();
        org.llmwb.engine.quant.Quantization quant = new org.llmwb.engine.quant.Quantization(
                org.llmwb.engine.quant.Quantization.weights(s(p, "quantization.weights")), org.llmwb.engine.quant.Quantization.kv(s(p, "quantization.kv")));
        if (cuda && quant.kv() != org.llmwb.engine.quant.Quantization.Kv.NONE) {
            throw new InputException(e.location(), "point " + (index + 1) + ": quantization.kv fp8 runs on the CPU backend only for now (set backend: cpu)");
        }
        Loaded m = load(model, quant);
        BpeTokenizer tok = m.tokenizer();
        int vocab = (int) m.config().vocabSize();
        // random prompts draw from the ordinary (non-special) ids, wherever the tokenizer puts its special ones
        int[] ordinaryIds = tok == null ? null : java.util.Arrays.stream(tok.ordinaryIds()).filter(x -> x < vocab).toArray();
        List<Request> reqs;
        String arrivals = e.sweep().target();
        if (arrivals.equals("trace")) {
            BpeTokenizer t = tok;
            reqs = Workload.readTrace(Path.of(s(p, "trace")), text -> {
                if (t == null) {
                    throw new InputException("the trace has text prompts but the model has no tokenizer.json");
                }
                return t.encode(text).stream().mapToInt(Integer::intValue).toArray();
            }, vocab, ordinaryIds, i(p, "outputTokens"), seed);
        } else {
            reqs = Workload.generate(new Workload.Spec(arrivals, i(p, "requests"), d(p, "rate"), i(p, "burst"), i(p, "promptTokens"), s(p, "promptDist"),
                    i(p, "outputTokens"), s(p, "outputDist"), i(p, "sharedPrefix"), i(p, "priorities"), seed, ordinaryIds == null ? vocab : ordinaryIds.length));
            if (ordinaryIds != null) {
                reqs = reqs.stream().map(q -> new Request(q.index(), q.arrival(), java.util.Arrays.stream(q.prompt()).map(x -> ordinaryIds[x]).toArray(), q.maxTokens(),
                        q.priority())).toList();
            }
        }
        int modelMax = (int) Math.min(Integer.MAX_VALUE, m.config().maxPositions());
        int maxLen = i(p, "maxModelLen") > 0 ? Math.min(i(p, "maxModelLen"), modelMax) : Math.min(modelMax, 4096);
        int bs = i(p, "blockSize");
        int maxSeqs = i(p, "maxSeqs");
        int perSeq = (maxLen + bs - 1) / bs;
        int blocks = i(p, "kvBlocks") > 0 ? i(p, "kvBlocks") : maxSeqs * perSeq;
        boolean contiguous = s(p, "kv").equals("contiguous");
        KvCacheManager kv;
        try {
            kv = contiguous ? new ContiguousKvManager(blocks, bs, maxLen) : new BlockManager(blocks, bs, b(p, "prefixCaching"));
        } catch (IllegalArgumentException ex) {
            throw new InputException(e.location(), "point " + (index + 1) + ": " + ex.getMessage() + " (raise kvBlocks or lower maxModelLen)");
        }
        SchedulerConfig cfg = new SchedulerConfig(SchedulerConfig.parse(SchedulerConfig.Batching.class, s(p, "batching")),
                SchedulerConfig.parse(SchedulerConfig.Order.class, s(p, "order")), b(p, "chunkedPrefill"), i(p, "maxBatchedTokens"), maxSeqs,
                d(p, "batchWindowMs") / 1e3);
        if (!cfg.chunkedPrefill()) {
            int longest = reqs.stream().mapToInt(r -> r.prompt().length).max().orElse(0);
            if (longest > cfg.maxBatchedTokens()) {
                throw new InputException(e.location(), "point " + (index + 1) + ": a prompt of " + longest + " tokens exceeds maxBatchedTokens "
                        + cfg.maxBatchedTokens() + " with chunkedPrefill off; raise maxBatchedTokens");
            }
        }
        boolean disagg = s(p, "disaggregation.mode").equals("disaggregated");
        if (disagg || i(p, "disaggregation.workers") > 1) {
            if (!s(p, "speculative.method").equals("none")) {
                throw new InputException(e.location(), "point " + (index + 1) + ": speculative decoding runs on one engine; turn disaggregation off or speculation off");
            }
            return ServingPoint.run(this, index, p, steps, cancelled, m, quant, reqs, arrivals, maxLen, blocks, bs, cfg, tok, seed, disagg);
        }
        org.llmwb.engine.model.ModelRunner runner;
        if (cuda) {
            if (gpu == null) {
                gpu = org.llmwb.backend.cuda.Gpu.open();
            }
            try (Checkpoint ck = Checkpoint.open(m.dir())) {
                runner = new org.llmwb.engine.model.CudaModelRunner(gpu, ck, blocks, bs, quant).useGraphs(b(p, "graphs"));
            }
        } else {
            runner = new CpuModelRunner(m.cpu(), blocks, bs);
        }
        try (org.llmwb.engine.model.ModelRunner owned = runner) {
            return runPoint(index, p, steps, cancelled, runner, kv, cfg, reqs, arrivals, maxLen, blocks, bs, tok, seed, m, quant);
        }
    }

    private Map<String, Object> runPoint(long index, Map<String, Object> p, StepSink steps, BooleanSupplier cancelled,
            org.llmwb.engine.model.ModelRunner runner, KvCacheManager kv, SchedulerConfig cfg, List<Request> reqs, String arrivals, int maxLen, int blocks,
            int bs, BpeTokenizer tok, long seed, Loaded m, org.llmwb.engine.quant.Quantization quant) {
        device = runner.device();
        if (b(p, "warmup")) {
            warmUp(runner);
        }
        LlmEngine engine = new LlmEngine(runner, kv, cfg, maxLen, LlmEngine.wallClock()).recordBlockMaps(true);
        org.llmwb.engine.spec.Speculator spec;
        try {
            spec = speculator(p, runner, blocks, bs);
        } catch (IllegalArgumentException ex) {
            throw new InputException(e.location(), "point " + (index + 1) + ": " + ex.getMessage());
        }
        if (spec != null) {
            engine.speculate(spec);
        }
        try (AutoCloseable closeSpec = spec == null ? () -> { } : spec) {
            return finishPoint(index, p, steps, cancelled, runner, engine, spec, reqs, arrivals, blocks, bs, tok, seed, m, quant);
        } catch (InputException | IllegalStateException | UncheckedIOException ex) {
            throw ex;
        } catch (Exception ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** A model as this sweep loaded it (per quantization on the CPU, where the weights are transformed at load). */
    Loaded load(String model, org.llmwb.engine.quant.Quantization quant) {
        String key = model + "|" + quant.label();
        Loaded m = models.get(key);
        if (m == null) {
            Path dir = checkpointFor(model, 1);
            try (Checkpoint ck = Checkpoint.open(dir)) {
                m = new Loaded(dir, ck.config(), cuda ? null : new LlamaCpu(ck, quant),
                        Files.isRegularFile(ck.tokenizerFile()) ? BpeTokenizer.load(ck.tokenizerFile()) : null);
            }
            models.put(key, m);
        }
        return m;
    }

    boolean cuda() {
        return cuda;
    }

    List<PointFiles> pointFiles() {
        return files;
    }

    void device(String d) {
        device = d;
    }

    /**
     * Error of a quantized point against the model as loaded, on the first 128 tokens of the repository's corpus:
     * max/mean |logit error|, top-1 agreement, perplexity (both models'). Runs after the point, in its pool.
     */
    private void quantAccuracy(Map<String, Object> rec, Map<String, Object> p, org.llmwb.engine.model.ModelRunner runner, Loaded m, int bs) {
        if (m.tokenizer() == null) {
            return;
        }
        List<Integer> ids = m.tokenizer().encode(CheckpointGenerator.corpus());
        int n = Math.min(128, Math.min(ids.size(), runner.kvBlocks() * bs - 1));
        int[] text = ids.subList(0, n).stream().mapToInt(Integer::intValue).toArray();
        float[][] got = org.llmwb.engine.bench.QuantBench.textLogits(runner, text, bs);
        float[][] ref;
        int blocks = (n + bs - 1) / bs + 1;
        if (cuda) {
            try (Checkpoint ck = Checkpoint.open(m.dir());
                    org.llmwb.engine.model.CudaModelRunner r = new org.llmwb.engine.model.CudaModelRunner(gpu, ck, blocks, bs)) {
                ref = org.llmwb.engine.bench.QuantBench.textLogits(r, text, bs);
            }
        } else {
            ref = org.llmwb.engine.bench.QuantBench.textLogits(new CpuModelRunner(load(s(p, "model"), org.llmwb.engine.quant.Quantization.NONE).cpu(), blocks, bs),
                    text, bs);
        }
        Map<String, Object> acc = new LinkedHashMap<>();
        org.llmwb.engine.bench.QuantBench.accuracy(acc, ref, got, text);
        acc.forEach((k, v) -> rec.put("accuracy_" + k, v));
    }

    /** The point's speculative decoding, or null when off. */
    private org.llmwb.engine.spec.Speculator speculator(Map<String, Object> p, org.llmwb.engine.model.ModelRunner runner, int blocks, int bs) {
        org.llmwb.engine.spec.SpecConfig.Method method = org.llmwb.engine.spec.SpecConfig.Method.parse(s(p, "speculative.method"));
        if (method == org.llmwb.engine.spec.SpecConfig.Method.NONE) {
            return null;
        }
        int layers = runner.config().numLayers();
        int exit = i(p, "speculative.exitLayers") > 0 ? i(p, "speculative.exitLayers") : Math.max(1, layers / 2);
        String draftModel = s(p, "speculative.draftModel");
        org.llmwb.engine.spec.SpecConfig cfg = new org.llmwb.engine.spec.SpecConfig(method, i(p, "speculative.k"), b(p, "speculative.adaptive"), 1,
                i(p, "speculative.ngramMax"), exit, draftModel.isEmpty() ? null : draftModel);
        org.llmwb.engine.spec.Drafter d = switch (method) {
            case NGRAM -> new org.llmwb.engine.spec.NgramDrafter(1, cfg.ngramMax());
            case LAYER_SKIP -> org.llmwb.engine.spec.ModelDrafter.layerSkip(runner, exit);
            case DRAFT_MODEL -> {
                Loaded dm = load(draftModel, org.llmwb.engine.quant.Quantization.NONE);
                org.llmwb.engine.model.ModelRunner dr;
                if (cuda) {
                    try (Checkpoint ck = Checkpoint.open(dm.dir())) {
                        dr = new org.llmwb.engine.model.CudaModelRunner(gpu, ck, blocks, bs);
                    }
                } else {
                    dr = new CpuModelRunner(dm.cpu(), blocks, bs);
                }
                yield org.llmwb.engine.spec.ModelDrafter.draftModel(dr, runner);
            }
            case NONE -> throw new IllegalStateException();
        };
        return new org.llmwb.engine.spec.Speculator(cfg, d);
    }

    private Map<String, Object> finishPoint(long index, Map<String, Object> p, StepSink steps, BooleanSupplier cancelled, org.llmwb.engine.model.ModelRunner runner,
            LlmEngine engine, org.llmwb.engine.spec.Speculator spec, List<Request> reqs, String arrivals, int blocks, int bs, BpeTokenizer tok, long seed,
            Loaded m, org.llmwb.engine.quant.Quantization quant) {
        Set<Integer> stops = tok == null ? Set.of() : Set.of(tok.specialId("<|end_of_text|>"));
        SamplingParams sp = new SamplingParams(d(p, "temperature"), i(p, "topK"), d(p, "topP"), seed, 1, stops, true);
        EngineRun.Result r;
        try {
            r = EngineRun.run(engine, reqs, sp, d(p, "sloTtftMs") / 1e3, d(p, "sloTpotMs") / 1e3, new EngineRun.Listener() {
                @Override
                public void step(StepEvent ev) {
                    steps.step(index, ev);
                }
            }, cancelled, 20_000);
        } catch (IllegalArgumentException ex) {
            throw new InputException(e.location(), "point " + (index + 1) + ": " + ex.getMessage());
        }
        if (r.cancelled()) {
            return null;
        }
        files.add(new PointFiles(index, r.requests(), r.stepEvents(), r.metrics().text()));
        Map<String, Object> rec = new LinkedHashMap<>();
        for (String k : List.of("model", "batching", "chunkedPrefill", "maxBatchedTokens", "maxSeqs", "kv", "prefixCaching", "blockSize", "order",
                "requests", "rate", "promptTokens", "outputTokens", "sharedPrefix")) {
            rec.put(k, get(p, k));
        }
        p.forEach(rec::putIfAbsent);
        rec.put("workload", arrivals);
        rec.put("backend", runner.backend());
        rec.put("device", runner.device());
        if (b(p, "graphs") && !cuda) {
            rec.put("graphsNote", "CUDA graphs apply to the GPU runner; the CPU runner ignores them");
        }
        putLatency(rec, r.requests(), r.metrics());
        rec.put("steps", r.steps());
        rec.put("preemptions", r.preemptions());
        rec.put("prefixHitRate", r.prefixHitRate());
        rec.put("kvBlocks", blocks);
        rec.put("kvPoolBytes", (long) blocks * bs * runner.kvBytesPerToken());
        rec.put("peakKvAllocatedBytes", r.peakKvAllocatedBytes());
        rec.put("kvWasteFraction", r.kvWasteFraction());
        rec.put("weightBytes", runner.weightBytes());
        rec.put("quantization", quant.label());
        if (quant.any()) {
            quantAccuracy(rec, p, runner, m, bs);
        }
        if (spec != null) {
            rec.put("speculative", spec.summary());
            if (generated(s(p, "model"))) {
                rec.put("speculativeNote", RANDOM_WEIGHTS_NOTE);
            }
        }
        return rec;
    }

    @Override
    public void close() {
        if (gpu != null) {
            gpu.close();
            gpu = null;
        }
    }

    /** A few throwaway steps so JIT compilation and ND4J's first calls are not counted in the run. */
    static void warmUp(org.llmwb.engine.model.ModelRunner runner) {
        LlmEngine w = new LlmEngine(runner, new BlockManager(Math.min(runner.kvBlocks(), 8), runner.blockSize(), false), SchedulerConfig.continuous(64, 4),
                64, LlmEngine.wallClock());
        for (int i = 0; i < 2; i++) {
            w.add(new int[] {1, 2, 3, 4, 5, 6, 7 + i}, SamplingParams.greedy(4), 0, 0);
        }
        while (w.hasWork()) {
            w.step(false);
        }
    }

    /** A run's completion counts, throughputs, flattened latency table (k_avg, k_p50, ... k_std) and CDFs into a record. */
    public static void putLatency(Map<String, Object> rec, List<RequestMetrics> requests, org.llmwb.engine.metrics.RunMetrics m) {
        rec.put("completed", requests.size());
        rec.put("outputTokens", m.outputTokens());
        rec.put("durationS", m.durationS());
        rec.put("outputTokensPerS", m.outputTokensPerS());
        rec.put("requestsPerS", m.requestsPerS());
        rec.put("goodputPerS", m.goodputPerS());
        for (Map.Entry<String, Stats> t : m.table().entrySet()) {
            Stats st = t.getValue();
            String k = t.getKey();
            rec.put(k + "_avg", st.avg());
            rec.put(k + "_p50", st.p50());
            rec.put(k + "_p90", st.p90());
            rec.put(k + "_p99", st.p99());
            rec.put(k + "_max", st.max());
            rec.put(k + "_std", st.std());
        }
        rec.put("cdf", org.llmwb.engine.metrics.RunMetrics.cdfs(requests));
    }
}
