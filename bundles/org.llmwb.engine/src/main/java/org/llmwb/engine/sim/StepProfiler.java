package org.llmwb.engine.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;

/**
 * Measures the engine's steps on one runner to calibrate the simulator ({@link CalibratedStepModel}): for every batch
 * size and prompt length of a grid, a batch of requests is prefilled (in chunks of the step budget) and decoded a few
 * tokens through {@link LlmEngine}, and every step it ran — its shape and its wall time, scheduling and sampling
 * included, as the simulator's step stands for — becomes one sample. A first configuration runs unrecorded (warm-up).
 */
public final class StepProfiler {
    /** What to run: batch sizes × prompt lengths, decoded {@code decodeTokens} tokens each, chunked at {@code stepTokens}. */
    public record Grid(int[] batches, int[] prompts, int decodeTokens, int stepTokens) {
        public long configurations() {
            return (long) batches.length * prompts.length;
        }
    }

    public record Samples(List<double[]> features, double[] seconds) {
    }

    public interface Progress {
        void done(int configuration, int of);
    }

    private StepProfiler() {
    }

    public static Samples run(ModelRunner runner, Grid g, Progress progress, BooleanSupplier cancelled) {
        int vocab = (int) Math.min(runner.config().vocabSize(), 200); // ordinary ids of any tokenizer the generator or training wrote
        int maxPrompt = java.util.Arrays.stream(g.prompts()).max().orElse(1);
        int maxBatch = java.util.Arrays.stream(g.batches()).max().orElse(1);
        if (maxPrompt + g.decodeTokens() + 1 > runner.config().maxPositions()) {
            throw new IllegalArgumentException("prompts of " + maxPrompt + " and " + g.decodeTokens() + " decoded tokens exceed the model's "
                    + runner.config().maxPositions() + " positions");
        }
        int bs = runner.blockSize();
        int need = maxBatch * ((maxPrompt + g.decodeTokens() + bs) / bs + 1);
        if (need > runner.kvBlocks()) {
            throw new IllegalArgumentException("the grid needs " + need + " KV blocks; the runner has " + runner.kvBlocks());
        }
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(7);
        runConfig(runner, Math.min(2, maxBatch), Math.min(32, maxPrompt), g, vocab, rng, null, null); // warm-up
        int done = 0;
        int total = (int) g.configurations();
        for (int b : g.batches()) {
            for (int p : g.prompts()) {
                if (cancelled.getAsBoolean()) {
                    break;
                }
                runConfig(runner, b, p, g, vocab, rng, x, y);
                progress.done(++done, total);
            }
        }
        return new Samples(x, y.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** A fitted model with the samples it was fitted to (what a profile file holds). */
    public record Profile(CalibratedStepModel model, Samples samples) {
        public java.util.Map<String, Object> toJson() {
            return model.toJson(samples.features(), samples.seconds());
        }
    }

    /** Profiles the runner over the grid and fits the calibrated step model (what {@code llmwb profile} writes). */
    public static Profile calibrate(ModelRunner runner, String modelName, Grid g, Progress progress, BooleanSupplier cancelled) {
        Samples s = run(runner, g, progress, cancelled);
        return new Profile(CalibratedStepModel.fit(s.features(), s.seconds(), runner.device(), modelName), s);
    }

    private static void runConfig(ModelRunner runner, int batch, int prompt, Grid g, int vocab, SplittableRandom rng, List<double[]> x, List<Double> y) {
        LlmEngine e = new LlmEngine(runner, new BlockManager(runner.kvBlocks(), runner.blockSize(), false),
                SchedulerConfig.continuous(Math.max(g.stepTokens(), batch), batch));
        for (int s = 0; s < batch; s++) {
            int[] ids = new int[prompt];
            for (int i = 0; i < prompt; i++) {
                ids[i] = 3 + rng.nextInt(vocab - 3);
            }
            e.add(ids, SamplingParams.greedy(g.decodeTokens()).withStop(java.util.Set.of(), true), 0, 0);
        }
        while (e.hasWork()) {
            StepEvent ev = e.step(false);
            if (ev == null || x == null) {
                continue;
            }
            x.add(CalibratedStepModel.features(ev));
            y.add(ev.seconds());
        }
    }
}
