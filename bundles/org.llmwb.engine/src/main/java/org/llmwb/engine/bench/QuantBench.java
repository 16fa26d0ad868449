package org.llmwb.engine.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.Json;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CpuModelRunner;
import org.llmwb.engine.model.LlamaCpu;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.model.SeqInput;
import org.llmwb.engine.quant.Quantization;
import org.llmwb.engine.run.EngineSweep;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.tokenizer.BpeTokenizer;

/**
 * Quantized models side by side on one workload: per format, the weight bytes as stored and KV bytes per token,
 * decode tokens/s at batch 1 and 32 (median engine step, wall clock), and accuracy against the unquantized model
 * on the text the repository ships (the generator's corpus): max and mean |logit error|, top-1 agreement and
 * the perplexity of the text. Speed is never reported without its error.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.QuantBench --model llama-3.2-1b --backend cuda --out quant.jsonl --env env.json</pre>
 */
public final class QuantBench {
    private QuantBench() {
    }

    public static void main(String[] args) throws Exception {
        String model = "tiny";
        String backend = "cpu";
        Path out = Path.of("quant.jsonl");
        Path env = null;
        int steps = 64;
        int evalTokens = 256;
        int[] batches = {1, 32};
        List<Quantization> formats = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--backend" -> backend = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--env" -> env = Path.of(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--eval-tokens" -> evalTokens = Integer.parseInt(args[++i]);
                case "--batches" -> batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--formats" -> {
                    for (String f : args[++i].split(",")) {
                        String[] wk = f.split("\\+");
                        formats.add(new Quantization(Quantization.weights(wk[0]), wk.length > 1 ? Quantization.kv(wk[1]) : Quantization.Kv.NONE));
                    }
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--model --backend cpu|cuda --formats none,int8,int4,fp8,nvfp4,none+fp8 "
                        + "--steps --eval-tokens --batches --out --env)");
            }
        }
        if (formats.isEmpty()) {
            formats = backend.equals("cuda")
                    ? List.of(Quantization.NONE, q("int8"), q("int4"), q("fp8"), q("nvfp4"))
                    : List.of(Quantization.NONE, q("int8"), q("int4"), q("int4-awq"), q("fp8"), q("nvfp4"), new Quantization(Quantization.Weights.NONE, Quantization.Kv.FP8));
        }
        List<Map<String, Object>> rows = run(model, backend, formats, steps, evalTokens, batches, env);
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> r : rows) {
            sb.append(Json.line(r)).append('\n');
        }
        org.llmwb.core.result.AtomicFiles.write(out, sb.toString());
        System.out.println("wrote " + out);
    }

    private static Quantization q(String w) {
        return new Quantization(Quantization.weights(w), Quantization.Kv.NONE);
    }

    public static List<Map<String, Object>> run(String model, String backend, List<Quantization> formats, int steps, int evalTokens, int[] batches, Path env)
            throws Exception {
        Path dir = EngineSweep.checkpointFor(model, 1);
        boolean cuda = backend.equals("cuda");
        org.llmwb.backend.cuda.Gpu gpu = cuda ? org.llmwb.backend.cuda.Gpu.open() : null;
        List<Map<String, Object>> rows = new ArrayList<>();
        try (Checkpoint ck = Checkpoint.open(dir)) {
            BpeTokenizer tok = BpeTokenizer.load(ck.tokenizerFile());
            List<Integer> ids = tok.encode(CheckpointGenerator.corpus());
            int n = Math.min(evalTokens, ids.size());
            int[] text = ids.subList(0, n).stream().mapToInt(Integer::intValue).toArray();
            int bs = 16;
            int maxBatch = java.util.Arrays.stream(batches).max().orElse(1);
            int blocks = Math.max((n + bs) / bs + 1, maxBatch * ((32 + steps + 1 + bs - 1) / bs + 1));
            float[][] ref = null;
            for (Quantization qz : formats) {
                long t0 = System.nanoTime();
                try (ModelRunner runner = cuda ? new org.llmwb.engine.model.CudaModelRunner(gpu, ck, blocks, bs, qz).useGraphs(true)
                        : cpuRunner(ck, qz, blocks, bs)) {
                    double loadS = (System.nanoTime() - t0) / 1e9;
                    float[][] logits = textLogits(runner, text, bs);
                    if (ref == null) {
                        if (qz.any()) {
                            throw new IllegalArgumentException("the first format must be none (the reference)");
                        }
                        ref = logits;
                    }
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("model", model + (model.equals("tiny") || !Files.isDirectory(Path.of(model)) ? " (seeded random weights)" : ""));
                    r.put("device", runner.device());
                    r.put("weights", qz.weights().id);
                    r.put("kv", qz.kv().id);
                    r.put("emulated", !cuda && qz.any() || qz.weights() == Quantization.Weights.NVFP4 || cuda && qz.weights() == Quantization.Weights.FP8);
                    r.put("loadSeconds", loadS);
                    r.put("weightBytes", runner.weightBytes());
                    r.put("linearWeightBytesAsStored", linearBytes(ck.config(), qz.weights()));
                    r.put("kvBytesPerTokenAsStored", 2L * ck.config().numLayers() * ck.config().numKvHeads() * ck.config().headDim()
                            * (qz.kv() == Quantization.Kv.FP8 ? 1 : cuda ? 2 : 4));
                    accuracy(r, ref, logits, text);
                    for (int b : batches) {
                        double step = decodeStep(runner, blocks, bs, b, steps);
                        r.put("decodeStepMs_b" + b, step * 1e3);
                        r.put("decodeTokPerS_b" + b, b / step);
                        if (runner instanceof org.llmwb.engine.model.CudaModelRunner c) {
                            // the GPU's share of a step: the captured decode graph replayed alone (no host work)
                            float[] g = c.timeGraphReplay(org.llmwb.engine.model.CudaModelRunner.bucketOf(b), 5, 50);
                            r.put("graphReplayMs_b" + b, (double) g[g.length / 2]);
                        }
                    }
                    rows.add(r);
                    System.out.printf(Locale.ROOT, "%-6s kv %-4s  linear weights %8.1f MB  decode b1 %8.1f tok/s  b%d %9.1f tok/s  top-1 %.4f  max|dlogit| %.4f  ppl %.3f (ref %.3f)%n",
                            qz.weights().id, qz.kv().id, ((Number) r.get("linearWeightBytesAsStored")).longValue() / 1e6, r.get("decodeTokPerS_b" + batches[0]),
                            maxBatch, r.get("decodeTokPerS_b" + maxBatch), r.get("top1Agreement"), r.get("maxAbsLogitError"), r.get("perplexity"),
                            r.get("referencePerplexity"));
                }
            }
            if (env != null) {
                Map<String, Object> device = cuda ? gpu.device().describe() : new LinkedHashMap<>(Map.of("cpu", Runtime.getRuntime().availableProcessors() + " cores"));
                org.llmwb.core.result.AtomicFiles.write(env, Json.pretty(EnvFingerprint.capture(device)));
            }
        } finally {
            if (gpu != null) {
                gpu.close();
            }
        }
        return rows;
    }

    /** The CPU model in a method of its own: the GPU machine runs this class without ND4J on its class path. */
    static ModelRunner cpuRunner(Checkpoint ck, Quantization qz, int blocks, int bs) {
        return new CpuModelRunner(new LlamaCpu(ck, qz), blocks, bs);
    }

    /** Linear-layer bytes of the whole model in a format (what quantization shrinks). */
    static long linearBytes(org.llmwb.core.catalog.ModelConfig c, Quantization.Weights f) {
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long inter = c.intermediateSize();
        long per = org.llmwb.engine.quant.WeightQuant.bytes(f, q + 2 * kv, h, 2) + org.llmwb.engine.quant.WeightQuant.bytes(f, h, q, 2)
                + org.llmwb.engine.quant.WeightQuant.bytes(f, 2 * inter, h, 2) + org.llmwb.engine.quant.WeightQuant.bytes(f, h, inter, 2);
        return per * c.numLayers();
    }

    /** Logits at every position of the text (one prefill of it). */
    public static float[][] textLogits(ModelRunner runner, int[] text, int bs) {
        int[] table = new int[(text.length + bs - 1) / bs];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        return runner.run(List.of(new SeqInput(text, 0, table, text.length)));
    }

    public static void accuracy(Map<String, Object> r, float[][] ref, float[][] got, int[] text) {
        double max = 0;
        double sum = 0;
        long count = 0;
        int agree = 0;
        double nll = 0;
        double refNll = 0;
        for (int i = 0; i < ref.length; i++) {
            for (int v = 0; v < ref[i].length; v++) {
                double e = Math.abs(ref[i][v] - got[i][v]);
                max = Math.max(max, e);
                sum += e;
                count++;
            }
            if (org.llmwb.engine.sched.Sampler.argmax(ref[i]) == org.llmwb.engine.sched.Sampler.argmax(got[i])) {
                agree++;
            }
            if (i + 1 < text.length) {
                nll -= org.llmwb.engine.eval.Perplexity.logSoftmax(got[i], text[i + 1]);
                refNll -= org.llmwb.engine.eval.Perplexity.logSoftmax(ref[i], text[i + 1]);
            }
        }
        r.put("evalTokens", text.length);
        r.put("maxAbsLogitError", max);
        r.put("meanAbsLogitError", sum / count);
        r.put("top1Agreement", (double) agree / ref.length);
        r.put("perplexity", Math.exp(nll / (text.length - 1)));
        r.put("referencePerplexity", Math.exp(refNll / (text.length - 1)));
    }

    /** Median wall-clock engine step over pure decode steps of {@code batch} sequences. */
    static double decodeStep(ModelRunner runner, int blocks, int bs, int batch, int steps) {
        double[] t = decodeStepTimes(runner, blocks, bs, batch, steps);
        return t[t.length / 2];
    }

    /**
     * Wall-clock times of an engine's pure decode steps (sorted): {@code batch} sequences of 32-token prompts, each
     * generating {@code steps} tokens, prefills left out.
     */
    static double[] decodeStepTimes(ModelRunner runner, int blocks, int bs, int batch, int steps) {
        LlmEngine e = new LlmEngine(runner, new BlockManager(blocks, bs, false), SchedulerConfig.continuous(4096, batch));
        for (int s = 0; s < batch; s++) {
            int[] prompt = new int[32];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = (j * 31 + s * 7) % 200;
            }
            e.add(prompt, SamplingParams.greedy(steps).withStop(java.util.Set.of(), true), 0, 0);
        }
        List<Double> times = new ArrayList<>();
        while (e.hasWork()) {
            StepEvent ev = e.step(false);
            if (ev != null && ev.prefillTokens() == 0 && ev.decodeTokens() == batch) {
                times.add(ev.seconds());
            }
        }
        return times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }
}
