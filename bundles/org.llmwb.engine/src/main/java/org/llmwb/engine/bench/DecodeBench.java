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
 * Decode speed of the engine on the GPU for a catalog model's real shape (seeded random BF16 weights, the full
 * vocabulary and LM head; {@code --generator-vocab} for the generator's small BPE instead): batches 1, 8 and 32 (contexts
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
        boolean realVocab = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> preset = args[++i];
                case "--generator-vocab" -> realVocab = false;
                case "--out" -> out = Path.of(args[++i]);
                case "--env" -> env = Path.of(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--batches" -> batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("llmwb-decode-bench").resolve("m");
        long g0 = System.nanoTime();
        // the real shape: the full vocabulary with its LM head (128,256 tokens for Llama-3; --generator-vocab keeps the
        // generator's small BPE, as the figures before issue 18 did) and the model's RoPE scaling
        CheckpointGenerator.generate(dir, realVocab ? CheckpointGenerator.Shape.real(ModelPresets.of(preset)) : CheckpointGenerator.Shape.like(ModelPresets.of(preset)), 1,
                Safetensors.Dtype.BF16, 1);
        System.out.printf(Locale.ROOT, "generated %s-shaped weights in %.1f s%n", preset, (System.nanoTime() - g0) / 1e9);
        List<Map<String, Object>> records = new ArrayList<>();
        try (Gpu gpu = Gpu.open(); Checkpoint ck = Checkpoint.open(dir)) {
            CeilingsBenchmark.Result roofs = CeilingsBenchmark.measure(gpu, 1L << 30, 20);
            int blocks = 1024;
            int bs = 16;
            // launched kernels once for scale, then graphs: the separate kernels, the fused layers on the v2
            // tensor-core GEMV, the fused layers on the split-K GEMV v3, and last the default, where a single
            // sequence's step is the persistent kernel (other batches as the config before), measured in the same run
            boolean[][] configs = {{false, true, true, false}, {true, false, true, false}, {true, true, false, false}, {true, true, true, false},
                    {true, true, true, true}}; // {graphs, fused layers, split-K GEMV, persistent batch-1 kernel}
            try (CudaModelRunner runner = new CudaModelRunner(gpu, ck, blocks, bs)) {
                for (boolean[] c : configs) {
                    boolean graphs = c[0];
                    runner.useGraphs(graphs).useFusedDecode(c[1]).useSplitKGemv(c[2]).usePersistentDecode(c[3]);
                    for (int batch : batches) {
                        boolean persistent = runner.runsPersistent(batch);
                        if (c[3] && !persistent) {
                            if (batch == 1) {
                                System.out.println("persistent decode kernel not used: " + runner.persistentUnsupported());
                            }
                            continue; // the same configuration as the one before
                        }
                        boolean fused = runner.runsFused(CudaModelRunner.bucketOf(batch));
                        double[] t = QuantBench.decodeStepTimes(runner, blocks, bs, batch, steps);
                        double med = t[t.length / 2];
                        double tokS = 1 / med;
                        double frac = tokS * runner.decodeWeightBytes() / roofs.copyBandwidth();
                        Map<String, Object> r = new LinkedHashMap<>();
                        r.put("model", preset + "-shaped (random BF16 weights, " + (realVocab ? "its full vocabulary " : "the generator's small BPE vocabulary ") + ck.config().vocabSize()
                                + (ck.config().tieEmbeddings() ? ", tied LM head" : "") + ")");
                        r.put("batch", batch);
                        r.put("graphs", graphs);
                        r.put("fusedDecodeLayers", fused);
                        r.put("splitKGemv", c[2]);
                        r.put("persistentKernel", persistent);
                        r.put("decodeSteps", t.length);
                        r.put("stepMsMedian", med * 1e3);
                        r.put("stepMsP90", t[(int) (t.length * 0.9)] * 1e3);
                        r.put("tokensPerSecondPerSequence", tokS);
                        r.put("tokensPerSecond", tokS * batch);
                        r.put("decodeWeightBytes", runner.decodeWeightBytes());
                        r.put("measuredCopyBandwidth", roofs.copyBandwidth());
                        r.put("weightRooflineFraction", frac);
                        System.out.printf(Locale.ROOT, "batch %d graphs %-5s fused %-5s split-K %-5s persistent %-5s: step %.3f ms median (p90 %.3f), %.1f tok/s per sequence, %.1f%% of the weight-bandwidth roofline%n",
                                batch, graphs, fused, c[2], persistent, med * 1e3, t[(int) (t.length * 0.9)] * 1e3, tokS, 100 * frac);
                        if (graphs) {
                            // the GPU time of the step alone: the graph, or the persistent kernel (one launch, no graph)
                            float[] g = persistent ? gpu.time(5, 50, i -> runner.persistentDecode().launch()) : runner.timeGraphReplay(batch, 5, 50);
                            double gpuMs = g[g.length / 2];
                            r.put("gpuTimeOf", persistent ? "persistent kernel" : "graph replay");
                            r.put("graphReplayMsMedian", gpuMs);
                            r.put("hostMsPerStep", med * 1e3 - gpuMs);
                            r.put("graphReplayRooflineFraction", runner.decodeWeightBytes() / (gpuMs / 1e3) / roofs.copyBandwidth());
                            // printed under the step line it belongs to
                            System.out.printf(Locale.ROOT, "  %s alone %.3f ms (%.1f%% of the weight roofline); host work %.3f ms per step%n", persistent ? "persistent kernel" : "graph replay", gpuMs,
                                    100 * runner.decodeWeightBytes() / (gpuMs / 1e3) / roofs.copyBandwidth(), med * 1e3 - gpuMs);
                        }
                        if (persistent) {
                            // the L2 prefetcher's distance, swept on the same inputs (kernel alone)
                            Map<String, Object> sweep = new LinkedHashMap<>();
                            for (int pf : new int[] {0, 8, 12, 16}) {
                                runner.persistentDecode().prefetch(pf);
                                float[] k = gpu.time(5, 50, i -> runner.persistentDecode().launch());
                                sweep.put(Integer.toString(pf), k[k.length / 2]);
                                System.out.printf(Locale.ROOT, "    L2 prefetch %3d pieces ahead: kernel %.3f ms%n", pf, k[k.length / 2]);
                            }
                            runner.persistentDecode().prefetch(Integer.getInteger("llmwb.decode.prefetchPieces", 12));
                            r.put("persistentKernelMsByPrefetchPieces", sweep);
                            r.put("persistentRingStages", runner.persistentDecode().stages());
                            System.out.printf(Locale.ROOT, "    ring: %d stages of 8 KB per CTA%n", runner.persistentDecode().stages());
                            // the cached K/V pulled into L2 a phase before attention reads it, or not
                            runner.persistentDecode().kvPrefetch(false);
                            float[] noKv = gpu.time(5, 50, i -> runner.persistentDecode().launch());
                            runner.persistentDecode().kvPrefetch(true);
                            float[] kv = gpu.time(5, 50, i -> runner.persistentDecode().launch());
                            r.put("persistentKernelMsWithoutKvPrefetch", noKv[noKv.length / 2]);
                            r.put("persistentKernelMsWithKvPrefetch", kv[kv.length / 2]);
                            System.out.printf(Locale.ROOT, "    cached K/V into L2 a phase ahead: kernel %.3f ms; without %.3f ms%n", kv[kv.length / 2], noKv[noKv.length / 2]);
                            // where the CTAs' time goes (clock64 cycles at the SM clock, mean and max over CTAs)
                            long[][] prof = runner.persistentDecode().profile();
                            double khz = gpu.attribute(jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
                            Map<String, Object> pr = new LinkedHashMap<>();
                            for (int i = 0; i < org.llmwb.backend.cuda.ops.PersistentDecode.PROFILE_NAMES.length; i++) {
                                final int k = i;
                                double mean = Arrays.stream(prof).mapToLong(p -> p[k]).average().orElse(0) / khz * 1e3;
                                double max = Arrays.stream(prof).mapToLong(p -> p[k]).max().orElse(0) / khz * 1e3;
                                pr.put(org.llmwb.backend.cuda.ops.PersistentDecode.PROFILE_NAMES[i], Map.of("meanUs", mean, "maxUs", max));
                                System.out.printf(Locale.ROOT, "    %-30s mean %8.1f µs  max %8.1f µs%n", org.llmwb.backend.cuda.ops.PersistentDecode.PROFILE_NAMES[i], mean, max);
                            }
                            r.put("persistentProfileAtMaxClock", pr);
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
