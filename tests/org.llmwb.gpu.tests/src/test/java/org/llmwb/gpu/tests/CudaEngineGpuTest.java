package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.CudaModelRunner;
import org.llmwb.engine.model.ReferenceForward;
import org.llmwb.engine.sched.Sampler;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;

/**
 * The engine on the GPU (our kernels, BF16) against the CPU reference forward (double accumulation, FP32
 * weights) on the tiny model: for every token each request samples, the logits must agree within 3e-2 of
 * their largest magnitude (bf16 weights and activations) and the greedy token must be the reference's argmax.
 * Requests share a prefix (prefix caching), prompts are chunked beside decodes, and later steps are pure
 * decodes, so both attention paths (flash prefill and paged decode) and copy-free block sharing are exercised.
 */
class CudaEngineGpuTest extends GpuTestBase {
    @TempDir
    static Path dir;

    @Test
    void greedyDecodingMatchesTheCpuReferenceTokenForToken() throws Exception {
        Path m = CheckpointGenerator.generate(dir.resolve("tiny"), CheckpointGenerator.Shape.tiny(), 3, org.llmwb.engine.model.Safetensors.Dtype.F32, 1);
        try (Checkpoint ck = Checkpoint.open(m); CudaModelRunner runner = new CudaModelRunner(gpu, ck, 64, 16)) {
            LlmEngine e = new LlmEngine(runner, new BlockManager(64, 16, true), SchedulerConfig.continuous(40, 8));
            int vocab = (int) ck.config().vocabSize() - 2;
            int[] shared = new int[35];
            for (int i = 0; i < shared.length; i++) {
                shared[i] = (i * 37 + 11) % vocab;
            }
            int[][] prompts = {{5}, java.util.Arrays.copyOf(shared, 40), java.util.Arrays.copyOf(shared, 52), {7, 8, 9, 10, 11, 12, 13}, java.util.Arrays.copyOf(shared, 70)};
            for (int p = 1; p < prompts.length; p++) {
                for (int i = shared.length; i < prompts[p].length; i++) {
                    prompts[p][i] = (i * 13 + p * 101) % vocab;
                }
            }
            Map<Integer, List<float[]>> seen = new HashMap<>();
            e.logitsTap((s, l) -> seen.computeIfAbsent(s.id(), x -> new ArrayList<>()).add(l.clone()));
            List<Sequence> seqs = new ArrayList<>();
            int max = 6;
            for (int[] p : prompts) {
                seqs.add(e.add(p, SamplingParams.greedy(max), 0, 0));
            }
            int steps = 0;
            while (e.hasWork()) {
                e.step(false);
                assertTrue(++steps < 500);
            }
            double worst = 0;
            int matches = 0;
            for (int r = 0; r < prompts.length; r++) {
                Sequence s = seqs.get(r);
                int[] out = s.output();
                assertEquals(max, out.length);
                for (int t = 0; t < max; t++) {
                    int[] ctx = new int[prompts[r].length + t];
                    System.arraycopy(prompts[r], 0, ctx, 0, prompts[r].length);
                    System.arraycopy(out, 0, ctx, prompts[r].length, t);
                    float[] ref = ReferenceForward.lastLogits(ck, ctx);
                    float[] got = seen.get(s.id()).get(t);
                    double maxRef = 0;
                    double maxErr = 0;
                    for (int i = 0; i < ref.length; i++) {
                        maxRef = Math.max(maxRef, Math.abs(ref[i]));
                        maxErr = Math.max(maxErr, Math.abs(ref[i] - got[i]));
                    }
                    worst = Math.max(worst, maxErr / maxRef);
                    assertTrue(maxErr / maxRef < 3e-2, "request " + r + " token " + t + ": logits differ by " + maxErr + " of " + maxRef);
                    assertEquals(Sampler.argmax(ref), out[t], "request " + r + " token " + t + ": greedy token differs from the CPU reference");
                    matches++;
                }
            }
            System.out.println("cuda engine: " + matches + " greedy tokens identical to the CPU reference; worst logit error " + worst + " of the largest logit; "
                    + steps + " steps; prefix hit rate " + e.scheduler().kv().hitRate());
            assertTrue(e.scheduler().kv().hitRate() > 0, "the shared prefix should have hit the cache");
        }
    }

    /** Decode steps replayed from CUDA graphs (3 sequences padded to the bucket of 4) give the same logits as launched ones. */
    @Test
    void graphReplayGivesTheSameLogitsAsLaunches() throws Exception {
        Path m = dir.resolve("tiny-graphs");
        if (!java.nio.file.Files.exists(m)) {
            CheckpointGenerator.generate(m, CheckpointGenerator.Shape.tiny(), 4, org.llmwb.engine.model.Safetensors.Dtype.F32, 1);
        }
        List<List<float[]>> runs = new ArrayList<>();
        for (boolean graphs : new boolean[] {false, true}) {
            try (Checkpoint ck = Checkpoint.open(m); CudaModelRunner runner = new CudaModelRunner(gpu, ck, 64, 16).useGraphs(graphs)) {
                LlmEngine e = new LlmEngine(runner, new BlockManager(64, 16, false), SchedulerConfig.continuous(256, 8));
                List<float[]> all = new ArrayList<>();
                e.logitsTap((s, l) -> all.add(l.clone()));
                for (int r = 0; r < 3; r++) {
                    e.add(new int[] {1 + r, 20 + r, 33, 40 + r * 3, 5}, SamplingParams.greedy(12), 0, 0);
                }
                while (e.hasWork()) {
                    e.step(false);
                }
                runs.add(all);
            }
        }
        assertEquals(runs.get(0).size(), runs.get(1).size());
        double worst = 0;
        for (int i = 0; i < runs.get(0).size(); i++) {
            float[] a = runs.get(0).get(i);
            float[] b = runs.get(1).get(i);
            for (int j = 0; j < a.length; j++) {
                worst = Math.max(worst, Math.abs(a[j] - b[j]));
            }
        }
        System.out.println("graphs vs launches: " + runs.get(0).size() + " sampled rows, max logit difference " + worst);
        assertEquals(0.0, worst, 1e-6);
    }

    /**
     * Greedy steps that take their tokens from the GPU's argmax ({@code runGreedy}: ids downloaded, not logits) emit the
     * same tokens as steps whose logits come to the host's sampler, on every path: graphs, prefill chunks, a batch of 5
     * padded to 8, and the real 1,000-merge vocabulary whose padded row width differs from the vocabulary.
     */
    @Test
    void greedyTokensChosenOnTheGpuEqualTheHostSamplers() throws Exception {
        Path m = dir.resolve("tiny-greedy");
        CheckpointGenerator.generate(m, CheckpointGenerator.Shape.tiny(), 9, org.llmwb.engine.model.Safetensors.Dtype.BF16, 1);
        List<int[]> outs = new ArrayList<>();
        for (boolean onGpu : new boolean[] {false, true}) {
            try (Checkpoint ck = Checkpoint.open(m); CudaModelRunner runner = new CudaModelRunner(gpu, ck, 128, 16).useGraphs(true)) {
                LlmEngine e = new LlmEngine(runner, new BlockManager(128, 16, false), SchedulerConfig.continuous(24, 8)).greedyOnRunner(onGpu);
                List<Sequence> seqs = new ArrayList<>();
                for (int r = 0; r < 5; r++) {
                    int[] p = new int[7 + 9 * r];
                    for (int i = 0; i < p.length; i++) {
                        p[i] = (i * 31 + r * 7 + 3) % 200;
                    }
                    seqs.add(e.add(p, SamplingParams.greedy(20).withStop(java.util.Set.of(), true), 0, 0));
                }
                while (e.hasWork()) {
                    e.step(false);
                }
                seqs.forEach(q -> outs.add(q.output()));
            }
        }
        for (int r = 0; r < 5; r++) {
            assertEquals(20, outs.get(r).length);
            org.junit.jupiter.api.Assertions.assertArrayEquals(outs.get(r), outs.get(5 + r), "request " + r);
        }
    }
}
