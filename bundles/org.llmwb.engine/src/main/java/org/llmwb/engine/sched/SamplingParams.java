package org.llmwb.engine.sched;

import java.util.Set;

/**
 * How a sequence picks its tokens and when it stops.
 *
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it before sampling
 * @param topK keep the k most likely tokens (0 = all)
 * @param topP keep the smallest set of most likely tokens whose probability reaches p (1 = all)
 * @param seed seeds the sequence's own random stream, so a run is reproducible whatever else is batched with it
 * @param maxTokens tokens to generate at most
 * @param stopTokens tokens that end the sequence (the stop token is kept in the output)
 * @param ignoreStop keep generating through stop tokens until maxTokens (benchmarks with fixed output lengths)
 */
public record SamplingParams(double temperature, int topK, double topP, long seed, int maxTokens, Set<Integer> stopTokens, boolean ignoreStop) {
    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be >= 1, got " + maxTokens);
        }
        stopTokens = Set.copyOf(stopTokens);
    }

    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 0, 1, 0, maxTokens, Set.of(), false);
    }

    public SamplingParams withStop(Set<Integer> stop, boolean ignore) {
        return new SamplingParams(temperature, topK, topP, seed, maxTokens, stop, ignore);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, s, maxTokens, stopTokens, ignoreStop);
    }

    public boolean isGreedy() {
        return temperature == 0 || topK == 1;
    }
}
