package org.llmwb.engine.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.backend.cuda.Gpu;
import org.llmwb.backend.cuda.bench.CeilingsBenchmark;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.result.EnvFingerprint;
import org.llmwb.core.result.Json;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CudaModelRunner;
import org.llmwb.engine.model.Safetensors;

/**
 * Decode speed of the engine on the GPU for a catalog model's shape (seeded random BF16 weights; the vocabulary
 * is the generator's small BPE, so the LM head is far smaller than the real model's): batches 1, 8 and 32 (contexts
 * of 32 to 232 tokens), launched one by one, and replayed from CUDA graphs with the separate layer kernels and
 * with the fused decode layers ({@link CudaModelRunner#useFusedDecode}) on the v2 and the split-K v3 tensor-core GEMV
 * ({@link CudaModelRunner#useSplitKGemv}). Per step: the engine's whole step (schedule, metadata upload, kernels, logits download,
 * sampling), wall-clock. Weight-bandwidth roofline fraction = tokens/s per sequence × weight bytes one step
 * reads ÷ the copy bandwidth measured in the same run.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.DecodeBench --model llama-3.2-1b --out decode.jsonl --env env.json</pre>
 */
public final class DecodeBench {
    private DecodeBench() {
    }

    public static void main(String[] args) throws Exception {
        String preset = "llama-3.2-1b";
        Path out = Path.of("decode.jsonl");
        Path env = Path.of("env.json");
        int steps = 200;
        int[] batches = {1, 8, 32};
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> preset = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--env" -> env = Path.of(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--batches" -> batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("llmwb-decode-bench").resolve("m");
        long g0 = System.nanoTime();
        CheckpointGenerator.generate(dir, CheckpointGenerator.Shape.like(ModelPresets.of(preset)), 1, Safetensors.Dtype.BF16, 1);
        System.out.printf(Locale.ROOT, "generated %s-shaped weights in %.1f s%n", preset, (System.nanoTime() - g0) / 1e9);
        List<Map<String, Object>> records = new ArrayList<>();
        try (Gpu gpu = Gpu.open(); Checkpoint ck = Checkpoint.open(dir)) {
            CeilingsBenchmark.Result roofs = CeilingsBenchmark.measure(gpu, 1L << 30, 20);
            int blocks = 1024;
            int bs = 16;
            // launched kernels once for scale, then graphs: the separate kernels, the fused layers on the v2
            // tensor-core GEMV, and the fused layers on the split-K GEMV v3 (the default), measured in the same run
            boolean[][] configs = {{false, true, true}, {true, false, true}, {true, true, false}, {true, true, true}}; // {graphs, fused layers, split-K GEMV}
            try (CudaModelRunner runner = new CudaModelRunner(gpu, ck, blocks, bs)) {
                for (boolean[] c : configs) {
                    boolean graphs = c[0];
                    runner.useGraphs(graphs).useFusedDecode(c[1]).useSplitKGemv(c[2]);
                    for (int batch : batches) {
                        boolean fused = runner.runsFused(CudaModelRunner.bucketOf(batch));
                        double[] t = QuantBench.decodeStepTimes(runner, blocks, bs, batch, steps);
                        double med = t[t.length / 2];
                        double tokS = 1 / med;
                        double frac = tokS * runner.decodeWeightBytes() / roofs.copyBandwidth();
                        Map<String, Object> r = new LinkedHashMap<>();
                        r.put("model", preset + "-shaped (random BF16 weights, small BPE vocabulary " + ck.config().vocabSize() + ")");
                        r.put("batch", batch);
                        r.put("graphs", graphs);
                        r.put("fusedDecodeLayers", fused);
                        r.put("splitKGemv", c[2]);
                        r.put("decodeSteps", t.length);
                        r.put("stepMsMedian", med * 1e3);
                        r.put("stepMsP90", t[(int) (t.length * 0.9)] * 1e3);
                        r.put("tokensPerSecondPerSequence", tokS);
                        r.put("tokensPerSecond", tokS * batch);
                        r.put("decodeWeightBytes", runner.decodeWeightBytes());
                        r.put("measuredCopyBandwidth", roofs.copyBandwidth());
                        r.put("weightRooflineFraction", frac);
                        System.out.printf(Locale.ROOT, "batch %d graphs %-5s fused %-5s split-K %-5s: step %.3f ms median (p90 %.3f), %.1f tok/s per sequence, %.1f%% of the weight-bandwidth roofline%n",
                                batch, graphs, fused, c[2], med * 1e3, t[(int) (t.length * 0.9)] * 1e3, tokS, 100 * frac);
                        if (graphs) {
                            float[] g = runner.timeGraphReplay(batch, 5, 50);
                            double gpuMs = g[g.length / 2];
                            r.put("graphReplayMsMedian", gpuMs);
                            r.put("hostMsPerStep", med * 1e3 - gpuMs);
                            r.put("graphReplayRooflineFraction", runner.decodeWeightBytes() / (gpuMs / 1e3) / roofs.copyBandwidth());
                            // printed under the step line it belongs to
                            System.out.printf(Locale.ROOT, "  graph replay alone %.3f ms (%.1f%% of the weight roofline); host work %.3f ms per step%n", gpuMs,
                                    100 * runner.decodeWeightBytes() / (gpuMs / 1e3) / roofs.copyBandwidth(), med * 1e3 - gpuMs);
                        }
                        records.add(r);
                    }
                }
            }
            StringBuilder sb = new StringBuilder();
            for (Map<String, Object> r : records) {
                sb.append(Json.line(r)).append('\n');
            }
            Files.writeString(out, sb.toString());
            Map<String, Object> device = gpu.device().describe();
            device.put("measuredCopyBandwidth", roofs.copyBandwidth());
            device.put("measuredBf16MmaSync", roofs.bf16MmaSync());
            if (!Double.isNaN(roofs.bf16Wgmma())) {
                device.put("measuredBf16Wgmma", roofs.bf16Wgmma());
            }
            Files.writeString(env, Json.pretty(EnvFingerprint.capture(device)));
        }
        System.out.println(Arrays.toString(new String[] {out.toString(), env.toString()}));
    }
}
