package org.llmwb.core.experiment;

import java.util.Map;

import org.llmwb.core.Units;

/**
 * One-line summaries of result records: kernel-sweep records (they have an "op" and timings) and the
 * records of each calculator.
 */
public final class RecordText {
    private RecordText() {
    }

    private static double num(Map<String, Object> r, String k) {
        return r.get(k) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** A short human line for a record of either kind (logs, the CLI, the Runner view). */
    public static String describe(Map<String, Object> r) {
        if (r.get("op") != null && r.get("medianMs") instanceof Number ms) {
            double tf = ((Number) r.get("tflops")).doubleValue();
            return String.format(java.util.Locale.ROOT, "%s %s: %.1f us, %.3g GB/s, %s (%.1f%% of copy BW), err %s", r.get("op"),
                    r.getOrDefault("version", ""), ms.doubleValue() * 1e3, ((Number) r.get("gbs")).doubleValue(),
                    tf >= 1 ? String.format(java.util.Locale.ROOT, "%.2f TFLOP/s", tf) : String.format(java.util.Locale.ROOT, "%.3g GFLOP/s", tf * 1e3),
                    100 * ((Number) r.get("roofFraction")).doubleValue(),
                    r.get("maxRelErr") == null ? "(no reference)" : String.format(java.util.Locale.ROOT, "%.1e", ((Number) r.get("maxRelErr")).doubleValue()));
        }
        if (r.get("ttft_ms_avg") != null && "bench".equals(r.get("kind"))) { // an endpoint measured by the benchmark client (kind: bench)
            String how = benchLoad(r);
            return String.format(java.util.Locale.ROOT, "bench %s at %s, %s: %s req, %s errors, %.1f tok/s (%.1f per user p50); TTFT p50 %.1f p99 %.1f ms; ITL p50 %.2f p99 %.2f ms",
                    r.get("model"), r.get("url"), how, r.get("requests"), r.get("errors"), num(r, "outputTokensPerS"), num(r, "user_tokens_per_s_p50"),
                    num(r, "ttft_ms_p50"), num(r, "ttft_ms_p99"), num(r, "itl_ms_p50"), num(r, "itl_ms_p99"));
        }
        if (r.get("ttft_ms_avg") != null && r.get("stepModel") != null) { // a simulated cluster (kind: serving-sim)
            return String.format(java.util.Locale.ROOT, "simulated %s on %s GPUs (%s, %s router): %s req in %.1f s, %.1f tok/s/GPU; TTFT p50 %.1f p99 %.1f ms;"
                    + " ITL p50 %.1f p99 %.1f ms; prefix hits %.0f%%", simLayout(r), r.get("gpus"), r.get("mode"), r.getOrDefault("router", "least-outstanding"),
                    r.get("completed"), num(r, "durationS"), num(r, "outputTokensPerSPerGpu"), num(r, "ttft_ms_p50"), num(r, "ttft_ms_p99"), num(r, "itl_ms_p50"),
                    num(r, "itl_ms_p99"), 100 * num(r, "prefixHitRate"));
        }
        if (r.get("ttft_ms_avg") != null && r.get("serving") != null) {
            return String.format(java.util.Locale.ROOT, "%s over %s engine(s)%s: %s req in %.2f s, %.1f tok/s; TTFT avg %.1f p99 %.1f ms; ITL p50 %.1f p99 %.1f std %.1f ms%s",
                    r.get("serving"), r.get("engines"), "disaggregated".equals(r.get("serving")) ? " (" + r.get("prefillWorkers") + "P+" + r.get("decodeWorkers") + "D)" : "",
                    r.get("completed"), num(r, "durationS"), num(r, "outputTokensPerS"), num(r, "ttft_ms_avg"), num(r, "ttft_ms_p99"), num(r, "itl_ms_p50"),
                    num(r, "itl_ms_p99"), num(r, "itl_ms_std"), r.get("transferBytes") == null ? ""
                            : String.format(java.util.Locale.ROOT, "; KV moved %s in %.2f ms per request", Units.bytes(num(r, "transferBytes")), num(r, "transferMsMean")))
                    + extras(r);
        }
        if (r.get("ttft_ms_avg") != null) {
            return extras(r).isEmpty() ? engineLine(r) : engineLine(r) + extras(r);
        }
        return other(r);
    }

    /** Speculation and quantization figures, when the record has them. */
    private static String extras(Map<String, Object> r) {
        StringBuilder sb = new StringBuilder();
        if (r.get("speculative") instanceof Map<?, ?> sp) {
            sb.append(String.format(java.util.Locale.ROOT, "; spec %s k=%s: accept %.2f, %.2f tokens/verify", sp.get("method"), sp.get("k"),
                    ((Number) sp.get("acceptanceRate")).doubleValue(), ((Number) sp.get("tokensPerVerify")).doubleValue()));
        }
        if (r.get("quantization") != null && r.get("accuracy_top1Agreement") != null) {
            sb.append(String.format(java.util.Locale.ROOT, "; %s: top-1 %.3f, max |Δlogit| %.3g, ppl %.2f vs %.2f", r.get("quantization"),
                    num(r, "accuracy_top1Agreement"), num(r, "accuracy_maxAbsLogitError"), num(r, "accuracy_perplexity"), num(r, "accuracy_referencePerplexity")));
        }
        return sb.toString();
    }

    /** How a bench record loaded its endpoint: "trace FILE", "R req/s" or "concurrency N". */
    public static String benchLoad(Map<String, Object> r) {
        Object load = r.get("load");
        if (load != null && load.toString().startsWith("trace")) {
            return load.toString();
        }
        return num(r, "requestRate") > 0 ? String.format(java.util.Locale.ROOT, "%.3g req/s", num(r, "requestRate")) : "concurrency " + r.get("concurrency");
    }

    /** "2 × TP1" or "1P × TP1 + 1D × TP1" for a simulated record. */
    public static String simLayout(Map<String, Object> r) {
        Object p = r.get("prefillReplicas");
        boolean dis = p instanceof Number n && n.intValue() > 0;
        String d = r.getOrDefault("replicas", 1) + (dis ? "D" : "") + " × TP" + r.getOrDefault("tp", 1);
        return dis ? p + "P × TP" + r.getOrDefault("prefillTp", 1) + " + " + d : d;
    }

    private static String engineLine(Map<String, Object> r) {
        {
            return String.format(java.util.Locale.ROOT, "%s %s%s, kv %s%s: %s req in %.2f s, %.1f tok/s; TTFT avg %.1f p99 %.1f ms; ITL avg %.1f p99 %.1f ms;"
                    + " KV waste %.1f%%%s", r.get("batching"), Boolean.TRUE.equals(r.get("chunkedPrefill")) ? "chunked " + r.get("maxBatchedTokens") : "unchunked",
                    "", r.get("kv"), "paged".equals(r.get("kv")) && Boolean.TRUE.equals(r.get("prefixCaching")) ? "+prefix" : "", r.get("completed"),
                    num(r, "durationS"), num(r, "outputTokensPerS"), num(r, "ttft_ms_avg"), num(r, "ttft_ms_p99"), num(r, "itl_ms_avg"), num(r, "itl_ms_p99"),
                    100 * num(r, "kvWasteFraction"), ((Number) r.getOrDefault("preemptions", 0)).intValue() > 0 ? ", " + r.get("preemptions") + " preemptions" : "");
        }
    }

    private static String other(Map<String, Object> r) {
        return switch (String.valueOf(r.get("calculator"))) {
            case "attention" -> r.get("attention") + " attention, " + r.get("model") + " ctx " + r.get("context") + String.format(java.util.Locale.ROOT,
                    ": %.3g FLOP/B, %s-bound, %.3f ms", ((Number) r.get("intensity")).doubleValue(), r.get("bound"), ((Number) r.get("timeBoundMs")).doubleValue());
            case "collective" -> r.get("collective") + " " + r.get("algorithm") + " of " + r.get("bytes") + " B on " + r.get("gpus") + " GPUs over " + r.get("link")
                    + String.format(java.util.Locale.ROOT, ": %.2f µs", ((Number) r.get("timeUs")).doubleValue());
            case "kv" -> r.get("model") + " ctx " + r.get("context") + " × " + r.get("batch") + ": " + Units.bytes(((Number) r.get("bytes")).doubleValue());
            case "memory" -> r.get("model") + " on " + r.get("gpu") + ": weights " + Units.bytes(((Number) r.get("weightBytes")).doubleValue())
                    + ", max " + r.get("maxSequences") + " seqs @ " + r.get("context");
            case "roofline" -> r.get("model") + " b" + r.get("batch") + ": decode " + Units.seconds(((Number) r.get("decodeTimeBound")).doubleValue())
                    + "/step, AI " + String.format(java.util.Locale.ROOT, "%.1f", ((Number) r.get("decodeIntensity")).doubleValue());
            case "plan" -> r.get("model") + " " + r.get("parallel") + ": " + (Boolean.TRUE.equals(r.get("valid")) ? "valid" : "INVALID")
                    + ", " + r.get("maxSequencesPerReplica") + " seqs/replica";
            case "paging" -> "block " + r.get("blockSize") + ": paged waste " + String.format(java.util.Locale.ROOT, "%.1f%%",
                    100 * ((Number) r.get("pagedWaste")).doubleValue()) + ", contiguous " + String.format(java.util.Locale.ROOT, "%.1f%%",
                            100 * ((Number) r.get("contiguousWaste")).doubleValue());
            default -> r.toString();
        };
    }
}
