package org.llmwb.core.experiment;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.yaml.YNode;

/**
 * Parses and validates experiment YAML. Every problem found is reported at once, each with
 * {@code file:line:column}, so an editor can mark them all; nothing is run on an invalid file.
 */
public final class ExperimentParser {
    public static final Set<String> KINDS = Set.of("calculator", "kernel-sweep", "engine-run", "serving-sim", "bench");
    public static final Set<String> RUNNABLE_KINDS = Set.of("calculator", "kernel-sweep", "engine-run", "serving-sim", "bench");
    public static final List<String> CALCULATORS = List.of("kv", "memory", "roofline", "plan", "paging", "collective", "attention");
    public static final List<String> KERNEL_OPS = List.of("copy", "gemv", "decode_attention");
    public static final List<String> WORKLOADS = List.of("poisson", "bursty", "trace");
    static final Set<String> TOP = Set.of("apiVersion", "kind", "metadata", "spec");
    static final Set<String> METADATA = Set.of("name", "description");
    static final long MAX_POINTS = 10_000_000L;

    /**
     * What a runnable kind's spec holds: the key naming its target, the targets, the settings with their types
     * (each may also be swept), and the settings each target needs.
     */
    record KindSchema(String targetKey, List<String> targets, Map<String, String> settings, Map<String, List<String>> required) {
    }

    /** Settings a calculator spec may hold, with their types; each may also be swept. */
    static final Map<String, String> SETTINGS = new LinkedHashMap<>();
    /** Settings of a kernel sweep; "choice:a|b" lists the allowed values. */
    static final Map<String, String> KERNEL_SETTINGS = new LinkedHashMap<>();

    static {
        KERNEL_SETTINGS.put("version", "choice:v1|v2|bf16|w8a16|w4a16|contiguous|paged");
        KERNEL_SETTINGS.put("kvDtype", "choice:bf16|fp16|fp8");
        KERNEL_SETTINGS.put("batch", "int");
        KERNEL_SETTINGS.put("n", "int");
        KERNEL_SETTINGS.put("k", "int");
        KERNEL_SETTINGS.put("context", "int");
        KERNEL_SETTINGS.put("heads", "int");
        KERNEL_SETTINGS.put("kvHeads", "int");
        KERNEL_SETTINGS.put("headDim", "int");
        KERNEL_SETTINGS.put("blockSize", "int");
        KERNEL_SETTINGS.put("partition", "count");
        KERNEL_SETTINGS.put("sizeMiB", "int");
        KERNEL_SETTINGS.put("runs", "int");
        KERNEL_SETTINGS.put("warmup", "count");
        KERNEL_SETTINGS.put("seed", "long");
        KERNEL_SETTINGS.put("backend", "choice:auto|cuda|cpu");
    }

    /** Settings of an engine run: the model, the workload and the engine's switches (each may be swept for A/B runs). */
    static final Map<String, String> ENGINE_SETTINGS = new LinkedHashMap<>();

    static {
        ENGINE_SETTINGS.put("model", "engineModel");
        ENGINE_SETTINGS.put("backend", "choice:auto|cuda|cpu");
        ENGINE_SETTINGS.put("seed", "long");
        ENGINE_SETTINGS.put("requests", "int");
        ENGINE_SETTINGS.put("rate", "positive");
        ENGINE_SETTINGS.put("burst", "int");
        ENGINE_SETTINGS.put("promptTokens", "int");
        ENGINE_SETTINGS.put("promptDist", "choice:fixed|uniform|exponential|lognormal");
        ENGINE_SETTINGS.put("outputTokens", "int");
        ENGINE_SETTINGS.put("outputDist", "choice:fixed|uniform|exponential|lognormal");
        ENGINE_SETTINGS.put("sharedPrefix", "count");
        ENGINE_SETTINGS.put("priorities", "int");
        ENGINE_SETTINGS.put("trace", "path");
        ENGINE_SETTINGS.put("kv", "choice:paged|contiguous");
        ENGINE_SETTINGS.put("blockSize", "int");
        ENGINE_SETTINGS.put("kvBlocks", "count");
        ENGINE_SETTINGS.put("prefixCaching", "bool");
        ENGINE_SETTINGS.put("maxModelLen", "int");
        ENGINE_SETTINGS.put("batching", "choice:static|dynamic|continuous");
        ENGINE_SETTINGS.put("batchWindowMs", "nonneg");
        ENGINE_SETTINGS.put("order", "choice:fcfs|shortest|priority");
        ENGINE_SETTINGS.put("chunkedPrefill", "bool");
        ENGINE_SETTINGS.put("maxBatchedTokens", "int");
        ENGINE_SETTINGS.put("maxSeqs", "int");
        ENGINE_SETTINGS.put("temperature", "nonneg");
        ENGINE_SETTINGS.put("topK", "count");
        ENGINE_SETTINGS.put("topP", "fraction");
        ENGINE_SETTINGS.put("sloTtftMs", "nonneg");
        ENGINE_SETTINGS.put("sloTpotMs", "nonneg");
        ENGINE_SETTINGS.put("graphs", "bool");
        ENGINE_SETTINGS.put("warmup", "bool");
        ENGINE_SETTINGS.put("repeats", "int");
        // sections: written as nested mappings (speculative: {method: ngram}), swept by their dotted names
        ENGINE_SETTINGS.put("speculative.method", "choice:none|ngram|layer-skip|draft-model");
        ENGINE_SETTINGS.put("speculative.k", "int");
        ENGINE_SETTINGS.put("speculative.adaptive", "bool");
        ENGINE_SETTINGS.put("speculative.ngramMax", "int");
        ENGINE_SETTINGS.put("speculative.exitLayers", "count");
        ENGINE_SETTINGS.put("speculative.draftModel", "engineModel");
        ENGINE_SETTINGS.put("quantization.weights", "choice:none|int8|int4|int4-awq|fp8|nvfp4");
        ENGINE_SETTINGS.put("quantization.kv", "choice:none|fp8");
        ENGINE_SETTINGS.put("disaggregation.mode", "choice:aggregated|disaggregated");
        ENGINE_SETTINGS.put("disaggregation.prefillWorkers", "int");
        ENGINE_SETTINGS.put("disaggregation.decodeWorkers", "int");
        ENGINE_SETTINGS.put("disaggregation.workers", "int");
        ENGINE_SETTINGS.put("disaggregation.stagingSlots", "int");
    }

    /** Settings written as a nested mapping under their first name (speculative, quantization, disaggregation). */
    static Set<String> sections(Map<String, String> settings) {
        Set<String> out = new java.util.LinkedHashSet<>();
        for (String k : settings.keySet()) {
            int dot = k.indexOf('.');
            if (dot > 0) {
                out.add(k.substring(0, dot));
            }
        }
        return out;
    }

    /** Settings of a serving simulation ({@code llmwb simulate}'s options; docs/simulator.md). */
    static final Map<String, String> SIM_SETTINGS = new LinkedHashMap<>();

    static {
        SIM_SETTINGS.put("model", "model");
        SIM_SETTINGS.put("gpu", "gpu");
        SIM_SETTINGS.put("precision", "precision");
        SIM_SETTINGS.put("kvPrecision", "precision");
        SIM_SETTINGS.put("tp", "int");
        SIM_SETTINGS.put("replicas", "int");
        SIM_SETTINGS.put("prefillReplicas", "count");
        SIM_SETTINGS.put("prefillTp", "int");
        SIM_SETTINGS.put("transferGBps", "nonneg");
        SIM_SETTINGS.put("router", "choice:round-robin|least-outstanding|kv-aware");
        SIM_SETTINGS.put("overlapWeight", "nonneg");
        SIM_SETTINGS.put("requests", "int");
        SIM_SETTINGS.put("rate", "positive");
        SIM_SETTINGS.put("promptTokens", "int");
        SIM_SETTINGS.put("outputTokens", "int");
        SIM_SETTINGS.put("lengthDist", "choice:fixed|uniform|exponential|lognormal");
        SIM_SETTINGS.put("sharedPrefix", "count");
        SIM_SETTINGS.put("users", "int");
        SIM_SETTINGS.put("turns", "int");
        SIM_SETTINGS.put("thinkS", "nonneg");
        SIM_SETTINGS.put("maxSeqs", "int");
        SIM_SETTINGS.put("maxBatchedTokens", "int");
        SIM_SETTINGS.put("prefixCaching", "bool");
        SIM_SETTINGS.put("computeEfficiency", "fraction");
        SIM_SETTINGS.put("memoryEfficiency", "fraction");
        SIM_SETTINGS.put("stepOverheadUs", "nonneg");
        SIM_SETTINGS.put("sloTtftMs", "nonneg");
        SIM_SETTINGS.put("sloTpotMs", "nonneg");
        SIM_SETTINGS.put("seed", "long");
        SIM_SETTINGS.put("trace", "path");
        SIM_SETTINGS.put("stepProfile", "path");
    }

    /** Settings of a benchmark of an OpenAI-compatible endpoint ({@code llmwb bench}'s options; docs/bench.md). */
    static final Map<String, String> BENCH_SETTINGS = new LinkedHashMap<>();

    static {
        BENCH_SETTINGS.put("url", "url");
        BENCH_SETTINGS.put("model", "text");
        BENCH_SETTINGS.put("endpoint", "choice:chat|completions");
        BENCH_SETTINGS.put("stream", "bool");
        BENCH_SETTINGS.put("concurrency", "count");
        BENCH_SETTINGS.put("rate", "positive");
        BENCH_SETTINGS.put("burstiness", "positive");
        BENCH_SETTINGS.put("requests", "int");
        BENCH_SETTINGS.put("durationS", "nonneg");
        BENCH_SETTINGS.put("warmup", "count");
        BENCH_SETTINGS.put("inputTokens", "int");
        BENCH_SETTINGS.put("outputTokens", "int");
        BENCH_SETTINGS.put("ignoreEos", "bool");
        BENCH_SETTINGS.put("tokenizer", "path");
        BENCH_SETTINGS.put("trace", "path");
        BENCH_SETTINGS.put("gpus", "positive");
        BENCH_SETTINGS.put("sloTtftMs", "nonneg");
        BENCH_SETTINGS.put("sloTpotMs", "nonneg");
        BENCH_SETTINGS.put("seed", "long");
        BENCH_SETTINGS.put("timeoutS", "positive");
        BENCH_SETTINGS.put("rampTo", "positive");
        BENCH_SETTINGS.put("sharedPrefix", "count");
        BENCH_SETTINGS.put("promptFile", "path");
        BENCH_SETTINGS.put("turns", "int");
        BENCH_SETTINGS.put("thinkS", "nonneg");
    }

    /** load: concurrency (closed loop), rate (open loop, capped by concurrency when given) or trace (its own clock). */
    static final KindSchema BENCH_SCHEMA = new KindSchema("load", List.of("concurrency", "rate", "trace"), BENCH_SETTINGS,
            Map.of("concurrency", List.of("url", "model"), "rate", List.of("url", "model", "rate"), "trace", List.of("url", "model", "trace")));

    static final KindSchema SIM_SCHEMA = new KindSchema("workload", List.of("poisson", "bursty", "sessions", "trace"), SIM_SETTINGS,
            Map.of("poisson", List.of("model", "gpu"), "bursty", List.of("model", "gpu"), "sessions", List.of("model", "gpu"), "trace", List.of("model", "gpu", "trace")));

    static final KindSchema ENGINE_SCHEMA = new KindSchema("workload", WORKLOADS, ENGINE_SETTINGS,
            Map.of("poisson", List.of(), "bursty", List.of(), "trace", List.of("trace")));

    static final KindSchema CALCULATOR_SCHEMA;
    static final KindSchema KERNEL_SCHEMA = new KindSchema("op", KERNEL_OPS, KERNEL_SETTINGS,
            Map.of("copy", List.of(), "gemv", List.of("n", "k"), "decode_attention", List.of("context")));

    static {
        SETTINGS.put("model", "model");
        SETTINGS.put("gpu", "gpu");
        SETTINGS.put("precision", "precision");
        SETTINGS.put("kvPrecision", "precision");
        SETTINGS.put("context", "long");
        SETTINGS.put("batch", "long");
        SETTINGS.put("prompt", "long");
        SETTINGS.put("utilization", "fraction");
        SETTINGS.put("tp", "int");
        SETTINGS.put("pp", "int");
        SETTINGS.put("dp", "int");
        SETTINGS.put("ep", "int");
        SETTINGS.put("cp", "int");
        SETTINGS.put("sp", "bool");
        SETTINGS.put("gpusPerNode", "int");
        SETTINGS.put("blockSize", "int");
        SETTINGS.put("sequences", "int");
        SETTINGS.put("seed", "long");
        SETTINGS.put("meanLength", "long");
        SETTINGS.put("collective", "choice:all-reduce|all-gather|reduce-scatter|all-to-all|broadcast");
        SETTINGS.put("algorithm", "choice:ring|tree|two-shot|one-shot");
        SETTINGS.put("gpus", "int");
        SETTINGS.put("bytes", "long");
        SETTINGS.put("link", "choice:nvlink|pcie|network");
        SETTINGS.put("attention", "choice:naive|flash");
        SETTINGS.put("causal", "bool");
        SETTINGS.put("l2MiB", "int");
        CALCULATOR_SCHEMA = new KindSchema("calculator", CALCULATORS, SETTINGS, Map.of("kv", List.of("model", "context"),
                "memory", List.of("model", "gpu"), "roofline", List.of("model", "gpu"), "plan", List.of("model", "gpu"), "paging", List.of("context"),
                "collective", List.of("collective", "algorithm", "gpus", "bytes"), "attention", List.of("model", "gpu", "context", "attention", "l2MiB")));
    }

    private final String source;
    private final Path baseDir;
    private final GpuCatalog gpus;
    private final List<Problem> problems = new ArrayList<>();
    private Map<String, String> settings = SETTINGS;

    private ExperimentParser(String source, Path baseDir, GpuCatalog gpus) {
        this.source = source;
        this.baseDir = baseDir;
        this.gpus = gpus;
    }

    public static Experiment parseFile(Path file, GpuCatalog gpus) {
        YNode root = YNode.read(file);
        Path dir = file.toAbsolutePath().getParent();
        return new ExperimentParser(file.toString(), dir, gpus).parse(root);
    }

    public static Experiment parse(String text, String source, Path baseDir, GpuCatalog gpus) {
        return new ExperimentParser(source, baseDir, gpus).parse(YNode.parse(text, source));
    }

    /**
     * The experiment with settings fixed from the command line ({@code KEY=VALUE}, e.g. {@code speculative.method=ngram}):
     * each value is checked as the file's would be, and replaces the setting in the base and in the sweep.
     */
    public static Experiment override(Experiment e, List<String> assignments, GpuCatalog gpus) {
        if (assignments == null || assignments.isEmpty()) {
            return e;
        }
        KindSchema schema = switch (e.kind()) {
            case "calculator" -> CALCULATOR_SCHEMA;
            case "kernel-sweep" -> KERNEL_SCHEMA;
            case "serving-sim" -> SIM_SCHEMA;
            case "bench" -> BENCH_SCHEMA;
            default -> ENGINE_SCHEMA;
        };
        ExperimentParser p = new ExperimentParser("--set", e.baseDir(), gpus);
        p.settings = schema.settings();
        Map<String, Object> base = new LinkedHashMap<>(e.sweep().base());
        Map<String, List<Object>> sweep = new LinkedHashMap<>(e.sweep().sweep());
        for (String a : assignments) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new InputException("--set takes KEY=VALUE, got '" + a + "'");
            }
            String k = a.substring(0, eq).trim();
            if (!schema.settings().containsKey(k)) {
                throw new InputException("--set: '" + k + "' is not a setting of a " + e.kind() + didYouMean(k, schema.settings().keySet()));
            }
            Object v = p.value(k, YNode.parse(a.substring(eq + 1), "--set " + k));
            if (!p.problems.isEmpty() || v == null) {
                throw p.problems.isEmpty() ? new InputException("--set " + k + ": invalid value") : new InputException(p.problems);
            }
            base.put(k, v);
            sweep.remove(k);
        }
        long points = 1;
        for (List<Object> vals : sweep.values()) {
            points *= Math.max(1, vals.size());
        }
        return new Experiment(e.apiVersion(), e.kind(), e.name(), e.description(), e.location(), e.baseDir(),
                new Experiment.SweepSpec(e.sweep().target(), base, sweep, points));
    }

    /** Every problem of a text, empty when valid (for editors). Never throws for bad input. */
    public static List<Problem> validate(String text, String source, Path baseDir, GpuCatalog gpus) {
        try {
            parse(text, source, baseDir, gpus);
            return List.of();
        } catch (InputException e) {
            return e.problems();
        }
    }

    private Experiment parse(YNode root) {
        if (!root.isMap()) {
            throw new InputException(root.location(), "an experiment must be a mapping with apiVersion, kind, metadata and spec");
        }
        unknownKeys(root, TOP);
        YNode api = root.get("apiVersion");
        if (api == null) {
            err(root, "missing 'apiVersion'", "add 'apiVersion: " + Experiment.API_VERSION + "'");
        } else if (!Experiment.API_VERSION.equals(safeText(api))) {
            err(api, "unsupported apiVersion '" + safeText(api) + "'", "this llmwb reads " + Experiment.API_VERSION);
        }
        YNode kindNode = root.get("kind");
        String kind = null;
        if (kindNode == null) {
            err(root, "missing 'kind'", "one of " + KINDS);
        } else {
            kind = safeText(kindNode);
            if (!KINDS.contains(kind)) {
                err(kindNode, "unknown kind '" + kind + "'" + didYouMean(kind, KINDS), "one of " + KINDS);
                kind = null;
            } else if (!RUNNABLE_KINDS.contains(kind)) {
                err(kindNode, "kind '" + kind + "' is not supported by this version of llmwb yet", "runnable kinds: " + RUNNABLE_KINDS);
            }
        }
        String name = "experiment";
        String description = "";
        YNode meta = root.get("metadata");
        if (meta != null) {
            if (!meta.isMap()) {
                err(meta, "'metadata' must be a mapping", null);
            } else {
                unknownKeys(meta, METADATA);
                if (meta.has("name")) {
                    name = safeText(meta.get("name"));
                    if (name != null && !name.matches("[A-Za-z0-9._-]+")) {
                        err(meta.get("name"), "metadata.name '" + name + "' may only hold letters, digits, '.', '_' and '-'", "it names the result folder");
                    }
                }
                if (meta.has("description")) {
                    description = safeText(meta.get("description"));
                }
            }
        }
        YNode spec = root.get("spec");
        Experiment.SweepSpec sweepSpec = null;
        if (spec == null) {
            err(root, "missing 'spec'", null);
        } else if ("calculator".equals(kind)) {
            sweepSpec = sweepSpec(spec, CALCULATOR_SCHEMA);
        } else if ("kernel-sweep".equals(kind)) {
            sweepSpec = sweepSpec(spec, KERNEL_SCHEMA);
        } else if ("engine-run".equals(kind)) {
            sweepSpec = sweepSpec(spec, ENGINE_SCHEMA);
        } else if ("serving-sim".equals(kind)) {
            sweepSpec = sweepSpec(spec, SIM_SCHEMA);
        } else if ("bench".equals(kind)) {
            sweepSpec = sweepSpec(spec, BENCH_SCHEMA);
        }
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
        return new Experiment(Experiment.API_VERSION, kind, name == null ? "experiment" : name, description, root.location(), baseDir, sweepSpec);
    }

    private Experiment.SweepSpec sweepSpec(YNode spec, KindSchema schema) {
        if (!spec.isMap()) {
            err(spec, "'spec' must be a mapping", null);
            return null;
        }
        this.settings = schema.settings();
        Set<String> allowed = new java.util.HashSet<>(schema.settings().keySet());
        allowed.add(schema.targetKey());
        allowed.add("sweep");
        Set<String> sections = sections(schema.settings());
        allowed.addAll(sections);
        unknownKeys(spec, allowed);
        YNode c = spec.get(schema.targetKey());
        String target = null;
        if (c == null) {
            err(spec, "missing '" + schema.targetKey() + "'", "one of " + schema.targets());
        } else {
            target = safeText(c);
            if (!schema.targets().contains(target)) {
                err(c, "unknown " + schema.targetKey() + " '" + target + "'" + didYouMean(target, schema.targets()), "one of " + schema.targets());
                target = null;
            }
        }
        Map<String, Object> base = new LinkedHashMap<>();
        for (Map.Entry<String, YNode> e : spec.entries().entrySet()) {
            if (schema.settings().containsKey(e.getKey())) {
                Object v = value(e.getKey(), e.getValue());
                if (v != null) {
                    base.put(e.getKey(), v);
                }
            } else if (sections.contains(e.getKey())) {
                YNode sec = e.getValue();
                if (!sec.isMap()) {
                    err(sec, "'" + e.getKey() + "' must be a mapping of its settings", "e.g. " + e.getKey() + ": {" + firstOf(schema.settings(), e.getKey()) + ": ...}");
                    continue;
                }
                Set<String> inner = new java.util.LinkedHashSet<>();
                for (String k : schema.settings().keySet()) {
                    if (k.startsWith(e.getKey() + ".")) {
                        inner.add(k.substring(e.getKey().length() + 1));
                    }
                }
                unknownKeys(sec, inner);
                for (Map.Entry<String, YNode> f : sec.entries().entrySet()) {
                    String full = e.getKey() + "." + f.getKey();
                    if (schema.settings().containsKey(full)) {
                        Object v = value(full, f.getValue());
                        if (v != null) {
                            base.put(full, v);
                        }
                    }
                }
            }
        }
        Map<String, List<Object>> sweep = new LinkedHashMap<>();
        long points = 1;
        YNode sw = spec.get("sweep");
        if (sw != null) {
            if (!sw.isMap()) {
                err(sw, "'sweep' must map settings to lists of values", "e.g. sweep: {context: [1024, 4096]}");
            } else {
                unknownKeys(sw, schema.settings().keySet());
                for (Map.Entry<String, YNode> e : sw.entries().entrySet()) {
                    if (!schema.settings().containsKey(e.getKey())) {
                        continue;
                    }
                    List<Object> vals = sweepValues(e.getKey(), e.getValue());
                    if (vals != null) {
                        sweep.put(e.getKey(), vals);
                        points = Math.multiplyExact(points, Math.max(1, vals.size()));
                        if (points > MAX_POINTS) {
                            err(e.getValue(), "the sweep has more than " + MAX_POINTS + " points", "narrow the ranges");
                            return null;
                        }
                    }
                }
            }
        }
        if (target != null) {
            requireFor(schema, target, spec);
        }
        return new Experiment.SweepSpec(target, base, sweep, points);
    }

    private static String firstOf(Map<String, String> settings, String section) {
        return settings.keySet().stream().filter(k -> k.startsWith(section + ".")).map(k -> k.substring(section.length() + 1)).findFirst().orElse("");
    }

    private void requireFor(KindSchema schema, String target, YNode spec) {
        for (String k : schema.required().getOrDefault(target, List.of())) {
            YNode sw = spec.get("sweep");
            boolean written = spec.has(k) || (sw != null && sw.isMap() && sw.has(k)); // present, even if invalid (reported there)
            if (!written) {
                err(spec, schema.targetKey() + " '" + target + "' needs '" + k + "'", "set spec." + k + " or sweep it");
            }
        }
    }

    private List<Object> sweepValues(String key, YNode n) {
        List<Object> out = new ArrayList<>();
        if (n.isList()) {
            if (n.items().isEmpty()) {
                err(n, "sweep of '" + key + "' is empty", null);
                return null;
            }
            for (YNode item : n.items()) {
                Object v = value(key, item);
                if (v != null) {
                    out.add(v);
                }
            }
            return out;
        }
        if (n.isMap()) {
            unknownKeys(n, Set.of("from", "to", "step", "factor"));
            String type = settings.get(key);
            if (!type.equals("long") && !type.equals("int") && !type.equals("count")) {
                err(n, "a {from, to} range only works for numbers; list the values of '" + key + "'", null);
                return null;
            }
            try {
                long from = n.get("from") == null ? fail(n, "range needs 'from'") : n.get("from").asLong();
                long to = n.get("to") == null ? fail(n, "range needs 'to'") : n.get("to").asLong();
                if (from <= 0 || to < from) {
                    err(n, "range must have 0 < from <= to (got " + from + ".." + to + ")", null);
                    return null;
                }
                if (n.has("factor")) {
                    long f = n.get("factor").asLong();
                    if (f < 2) {
                        err(n.get("factor"), "factor must be >= 2", null);
                        return null;
                    }
                    for (long v = from; v <= to && out.size() <= MAX_POINTS; v *= f) {
                        out.add(v);
                    }
                } else {
                    long step = n.has("step") ? n.get("step").asLong() : 1;
                    if (step <= 0) {
                        err(n.get("step"), "step must be > 0", null);
                        return null;
                    }
                    if ((to - from) / step + 1 > MAX_POINTS) {
                        err(n, "the range has more than " + MAX_POINTS + " values", "use a larger step or a factor");
                        return null;
                    }
                    for (long v = from; v <= to; v += step) {
                        out.add(type.equals("long") ? (Object) v : (Object) (int) v);
                    }
                }
            } catch (InputException e) {
                problems.addAll(e.problems());
                return null;
            }
            return out;
        }
        err(n, "sweep of '" + key + "' must be a list or a {from, to, step|factor} range", null);
        return null;
    }

    private long fail(YNode at, String message) {
        throw new InputException(at.location(), message);
    }

    /** Converts and checks one setting value; records a problem and returns null when invalid. */
    private Object value(String key, YNode n) {
        try {
            String type = settings.get(key);
            if (type.startsWith("choice:")) {
                List<String> choices = List.of(type.substring(7).split("\\|"));
                String v = n.text();
                if (!choices.contains(v)) {
                    throw new InputException(n.location(), "'" + key + "' must be one of " + choices + " but is '" + v + "'" + didYouMean(v, choices));
                }
                return v;
            }
            return switch (type) {
                case "model" -> {
                    String s = n.text();
                    String resolved = s;
                    if (!ModelPresets.ids().contains(s.toLowerCase(java.util.Locale.ROOT)) && baseDir != null && !Path.of(s).isAbsolute()) {
                        resolved = baseDir.resolve(s).toString();
                    }
                    try {
                        ModelPresets.resolve(resolved);
                    } catch (InputException e) {
                        // a broken config.json has its own locations; an unknown name is reported here
                        if (e.problems().stream().anyMatch(p -> p.location() != null && p.location().line() > 0)) {
                            problems.addAll(e.problems());
                        } else {
                            err(n, e.getMessage(), null);
                        }
                        yield null;
                    }
                    yield resolved;
                }
                case "gpu" -> {
                    gpus.get(n.text());
                    yield n.text();
                }
                case "precision" -> Precision.parse(n.text()).id();
                case "long" -> positiveLong(n);
                case "int" -> (int) Math.min(Integer.MAX_VALUE, positiveLong(n));
                case "count" -> {
                    long v = n.asLong();
                    if (v < 0 || v > Integer.MAX_VALUE) {
                        throw new InputException(n.location(), "'" + key + "' must be a whole number >= 0 but is " + v);
                    }
                    yield (int) v;
                }
                case "fraction" -> {
                    double d = n.asDouble();
                    if (d <= 0 || d > 1) {
                        throw new InputException(n.location(), "'" + key + "' must be in (0, 1] but is " + d);
                    }
                    yield d;
                }
                case "bool" -> n.asBoolean();
                case "positive", "nonneg" -> {
                    double d = n.asDouble();
                    if (!Double.isFinite(d) || d < 0 || (type.equals("positive") && d == 0)) {
                        throw new InputException(n.location(), "'" + key + "' must be " + (type.equals("positive") ? "> 0" : ">= 0") + " but is " + n.text());
                    }
                    yield d;
                }
                case "path" -> {
                    String t = n.text();
                    Path f = baseDir == null || Path.of(t).isAbsolute() ? Path.of(t) : baseDir.resolve(t);
                    if (!java.nio.file.Files.isRegularFile(f)) {
                        throw new InputException(n.location(), "'" + key + "': no file " + f);
                    }
                    yield f.toString();
                }
                case "text" -> {
                    String t = n.text();
                    if (t == null || t.isBlank()) {
                        throw new InputException(n.location(), "'" + key + "' must not be empty");
                    }
                    yield t;
                }
                case "url" -> {
                    String t = n.text();
                    java.net.URI u;
                    try {
                        u = java.net.URI.create(t);
                    } catch (IllegalArgumentException e) {
                        throw new InputException(n.location(), "'" + key + "': '" + t + "' is not a URL");
                    }
                    if (u.getScheme() == null || !List.of("http", "https").contains(u.getScheme()) || u.getHost() == null) {
                        throw new InputException(n.location(), "'" + key + "' must be http:// or https:// with a host, e.g. http://localhost:8000/v1 (got '" + t + "')");
                    }
                    yield t;
                }
                case "engineModel" -> {
                    String t = n.text();
                    String id = t.toLowerCase(java.util.Locale.ROOT);
                    if (id.equals("tiny") || ModelPresets.ids().contains(id)) {
                        yield id;
                    }
                    Path dir = baseDir == null || Path.of(t).isAbsolute() ? Path.of(t) : baseDir.resolve(t);
                    if (!java.nio.file.Files.isRegularFile(dir.resolve("config.json"))) {
                        throw new InputException(n.location(), "'model' is 'tiny', a catalog preset (" + String.join(", ", ModelPresets.ids())
                                + ") or a checkpoint folder with config.json; " + dir + " has no config.json");
                    }
                    yield dir.toString();
                }
                default -> throw new IllegalStateException(key);
            };
        } catch (InputException e) {
            for (Problem p : e.problems()) {
                problems.add(p.location() == null || p.location().line() == 0
                        ? Problem.error(n.location(), p.code(), p.message(), p.hint()) : p);
            }
            return null;
        }
    }

    private static long positiveLong(YNode n) {
        long v = n.asLong();
        if (v <= 0) {
            throw new InputException(n.location(), "must be > 0 but is " + v);
        }
        return v;
    }

    private void unknownKeys(YNode map, Set<String> allowed) {
        for (Map.Entry<String, YNode> e : map.entries().entrySet()) {
            if (!allowed.contains(e.getKey())) {
                problems.add(Problem.error(keyLocation(map, e.getKey()), "unknown-field", "unknown field '" + e.getKey() + "'"
                        + didYouMean(e.getKey(), allowed), "known: " + String.join(", ", new java.util.TreeSet<>(allowed))));
            }
        }
    }

    private static org.llmwb.core.SourceLocation keyLocation(YNode map, String key) {
        org.llmwb.core.SourceLocation v = map.get(key).location();
        return new org.llmwb.core.SourceLocation(v.source(), v.line(), Math.max(1, v.column() - key.length() - 2));
    }

    private String safeText(YNode n) {
        try {
            return n.text();
        } catch (InputException e) {
            problems.addAll(e.problems());
            return null;
        }
    }

    private void err(YNode at, String message, String hint) {
        problems.add(Problem.error(at.location(), "schema", message, hint));
    }

    /** " (did you mean 'x'?)" for a near miss (edit distance <= 2), else "". */
    static String didYouMean(String s, java.util.Collection<String> known) {
        if (s == null) {
            return "";
        }
        String best = null;
        int bestD = 3;
        for (String k : known) {
            int d = distance(s.toLowerCase(java.util.Locale.ROOT), k.toLowerCase(java.util.Locale.ROOT));
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
