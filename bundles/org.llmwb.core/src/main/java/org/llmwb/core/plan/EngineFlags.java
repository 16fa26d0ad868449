package org.llmwb.core.plan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

/**
 * Command lines for serving engines from a plan. Flags are those of vLLM ({@code vllm serve}),
 * SGLang ({@code sglang.launch_server}) and TensorRT-LLM ({@code trtllm-serve}); where an engine has
 * no flag for part of the plan, a trailing {@code #} comment says so rather than inventing one.
 */
public final class EngineFlags {
    private EngineFlags() {
    }

    /** engine → command line for one plan's input. */
    public static Map<String, String> all(PlanInput in) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("vllm", vllm(in));
        m.put("sglang", sglang(in));
        m.put("trtllm", trtllm(in));
        m.put("llmwb bench", bench(in, in.parallel().worldSize(), "http://HOST:8000/v1"));
        return m;
    }

    /**
     * The {@code llmwb bench} command that measures a deployment of this plan once it serves: the plan's prompt length,
     * a concurrency sweep up to the sequences it plans for, throughput per GPU over {@code gpus}. vLLM and TensorRT-LLM
     * listen on port 8000 by default, SGLang on 30000, Dynamo's frontend on 8000.
     */
    public static String bench(PlanInput in, int gpus, String url) {
        long maxConc = Math.max(1, in.batch() * Math.max(1, in.parallel().dp()));
        List<String> conc = new ArrayList<>();
        for (long c = 1; c < maxConc; c *= 2) {
            conc.add(Long.toString(c));
        }
        conc.add(Long.toString(maxConc));
        long output = Math.max(1, Math.min(256, in.context() - in.promptTokens()));
        return String.join(" ", List.of("llmwb", "bench", "--url", url, "--model", modelArg(in.model()), "--endpoint", "completions", "--input-tokens",
                Long.toString(in.promptTokens()), "--output-tokens", Long.toString(output), "--sweep", "concurrency=" + String.join(",", conc), "--gpus",
                Integer.toString(gpus), "--out", "bench-" + in.model().name()));
    }

    static String modelArg(ModelConfig m) {
        return m.hfId() != null ? m.hfId() : m.name();
    }

    public static String vllm(PlanInput in) {
        ParallelConfig p = in.parallel();
        List<String> a = new ArrayList<>(List.of("vllm", "serve", modelArg(in.model())));
        a.add("--tensor-parallel-size " + p.tp());
        if (p.pp() > 1) {
            a.add("--pipeline-parallel-size " + p.pp());
        }
        if (p.dp() > 1) {
            a.add("--data-parallel-size " + p.dp());
        }
        if (p.ep() > 1) {
            a.add("--enable-expert-parallel");
        }
        a.add("--dtype " + (in.weights() == Precision.FP16 ? "float16" : "bfloat16"));
        List<String> notes = new ArrayList<>();
        switch (in.weights()) {
            case FP8_E4M3, FP8_E5M2 -> a.add("--quantization fp8");
            case INT8, INT4, INT4_ASYM, NVFP4 -> notes.add(in.weights().id() + " weights: serve a pre-quantized checkpoint (AWQ/GPTQ/compressed-tensors/modelopt)");
            default -> { }
        }
        if (in.kv() == Precision.FP8_E4M3 || in.kv() == Precision.FP8_E5M2) {
            a.add("--kv-cache-dtype " + (in.kv() == Precision.FP8_E5M2 ? "fp8_e5m2" : "fp8"));
        }
        a.add("--max-model-len " + in.context());
        a.add("--gpu-memory-utilization " + in.utilization());
        if (p.ep() > 1 && p.ep() != p.tp() * p.dp()) {
            notes.add("vLLM's EP size is always TP×DP = " + p.tp() * p.dp());
        }
        if (p.cp() > 1) {
            notes.add("context parallel " + p.cp() + " has no vllm serve flag here");
        }
        if (p.sp()) {
            notes.add("sequence parallelism is applied by vLLM's compilation passes, not a flag");
        }
        return join(a, notes);
    }

    public static String sglang(PlanInput in) {
        ParallelConfig p = in.parallel();
        List<String> a = new ArrayList<>(List.of("python", "-m", "sglang.launch_server", "--model-path", modelArg(in.model())));
        a.add("--tp " + p.tp() * (p.ep() > 1 ? p.dp() : 1));
        List<String> notes = new ArrayList<>();
        if (p.dp() > 1) {
            a.add("--dp " + p.dp());
            if (p.ep() > 1) {
                a.add("--enable-dp-attention");
            }
        }
        if (p.pp() > 1) {
            a.add("--pp-size " + p.pp());
        }
        if (p.ep() > 1) {
            a.add("--ep-size " + p.ep());
        }
        switch (in.weights()) {
            case FP8_E4M3, FP8_E5M2 -> a.add("--quantization fp8");
            case INT8, INT4, INT4_ASYM, NVFP4 -> notes.add(in.weights().id() + " weights: serve a pre-quantized checkpoint");
            default -> a.add("--dtype " + (in.weights() == Precision.FP16 ? "float16" : "bfloat16"));
        }
        if (in.kv() == Precision.FP8_E4M3 || in.kv() == Precision.FP8_E5M2) {
            a.add("--kv-cache-dtype " + (in.kv() == Precision.FP8_E5M2 ? "fp8_e5m2" : "fp8_e4m3"));
        }
        a.add("--context-length " + in.context());
        a.add("--mem-fraction-static " + in.utilization());
        if (p.cp() > 1) {
            notes.add("context parallel " + p.cp() + " not mapped");
        }
        return join(a, notes);
    }

    public static String trtllm(PlanInput in) {
        ParallelConfig p = in.parallel();
        List<String> a = new ArrayList<>(List.of("trtllm-serve", modelArg(in.model()), "--backend pytorch"));
        a.add("--tp_size " + p.tp() * (p.ep() > 1 ? p.dp() : 1));
        if (p.pp() > 1) {
            a.add("--pp_size " + p.pp());
        }
        if (p.ep() > 1) {
            a.add("--ep_size " + p.ep());
        }
        a.add("--max_seq_len " + in.context());
        a.add("--kv_cache_free_gpu_memory_fraction " + in.utilization());
        List<String> notes = new ArrayList<>();
        if (p.dp() > 1 && p.ep() <= 1) {
            notes.add("data parallel: run " + p.dp() + " replicas behind a router");
        }
        if (in.weights().isQuantized() || in.kv().isQuantized()) {
            notes.add("quantization comes from the checkpoint (ModelOpt) for " + in.weights().id() + " weights / " + in.kv().id() + " KV");
        }
        if (p.cp() > 1) {
            notes.add("context parallel " + p.cp() + " not mapped");
        }
        return join(a, notes);
    }

    private static String join(List<String> args, List<String> notes) {
        String cmd = String.join(" ", args);
        return notes.isEmpty() ? cmd : cmd + "  # " + String.join("; ", notes);
    }
}
