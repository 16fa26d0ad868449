package org.llmwb.core.calc;

import static org.llmwb.core.Formula.num;

import java.util.ArrayList;
import java.util.List;

import org.llmwb.core.Formula;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

/**
 * How many sequences of a given context fit on one GPU: the memory a serving engine may use
 * (memory × utilization, as vLLM's gpu_memory_utilization) minus weights minus an activation
 * reserve, divided by the KV bytes of one full-length sequence.
 */
public final class KvCapacity {
    /** Default share of device memory the engine may use (vLLM's default). */
    public static final double DEFAULT_UTILIZATION = 0.90;
    /** Default tokens per forward pass the activation reserve is sized for (a typical max-num-batched-tokens). */
    public static final int DEFAULT_BATCH_TOKENS = 8192;

    public record Result(double gpuBytes, double usableBytes, double weightBytes, double activationBytes, double kvBudgetBytes,
            double kvBytesPerSequence, long maxSequences, long maxTokens, double freeBytes, boolean weightsFit,
            List<Formula> formulas) {
    }

    private KvCapacity() {
    }

    /** Peak activation bytes of one forward pass over {@code tokens} tokens (BF16), see the formula text. */
    public static Formula activations(ModelConfig m, long tokens, int tp) {
        // residual + normed input + attention output (3h), the MLP's gate/up/act (3 × I / tp), and the logits of
        // the last token per sequence bounded by tokens × vocab / tp in FP32 for the sampler.
        long inter = m.isMoe() ? (long) m.moeIntermediateSize() * m.expertsPerToken() : m.intermediateSize();
        double perToken = (3.0 * m.hiddenSize() + 3.0 * inter / tp) * 2;
        double bytes = tokens * perToken + Math.min(tokens, 256) * (double) m.vocabSize() / tp * 4;
        return new Formula("activation reserve", "tokens × (3·hidden + 3·intermediate/tp) × 2 + min(tokens, 256) × vocab/tp × 4",
                num(tokens) + " × (3·" + m.hiddenSize() + " + 3·" + inter + "/" + tp + ") × 2 + " + Math.min(tokens, 256) + " × "
                        + m.vocabSize() + "/" + tp + " × 4", bytes, "B");
    }

    public static Result compute(ModelConfig m, GpuSpec gpu, Precision weights, Precision kv, long context, double utilization) {
        if (utilization <= 0 || utilization > 1) {
            throw new InputException("memory utilization must be in (0, 1], got " + utilization);
        }
        if (context <= 0) {
            throw new InputException("context must be > 0, got " + context);
        }
        List<Formula> fs = new ArrayList<>();
        WeightMemory.Result w = WeightMemory.compute(m, weights);
        fs.addAll(w.formulas());
        double usable = gpu.memoryBytes() * utilization;
        fs.add(new Formula("usable memory", "GPU memory × utilization", num(gpu.memoryBytes()) + " × " + utilization, usable, "B"));
        Formula act = activations(m, DEFAULT_BATCH_TOKENS, 1);
        fs.add(act);
        double budget = usable - w.totalBytes() - act.value();
        fs.add(new Formula("KV budget", "usable − weights − activations",
                num(usable) + " − " + num(w.totalBytes()) + " − " + num(act.value()), budget, "B"));
        KvCache.Result kvr = KvCache.compute(m, kv, context, 1);
        fs.add(kvr.formulas().get(0));
        fs.add(kvr.formulas().get(1));
        long maxSeq = budget <= 0 ? 0 : (long) Math.floor(budget / kvr.bytesPerSequence());
        long maxTok = budget <= 0 ? 0 : (long) Math.floor(budget / kvr.bytesPerToken());
        fs.add(new Formula("max concurrent sequences", "floor(KV budget ÷ bytesPerSequence)",
                "floor(" + num(Math.max(budget, 0)) + " ÷ " + num(kvr.bytesPerSequence()) + ")", maxSeq, "sequences"));
        double free = gpu.memoryBytes() - w.totalBytes() - act.value() - maxSeq * kvr.bytesPerSequence();
        return new Result(gpu.memoryBytes(), usable, w.totalBytes(), act.value(), budget, kvr.bytesPerSequence(), maxSeq, maxTok,
                free, w.totalBytes() + act.value() <= usable, fs);
    }
}
