package org.llmwb.core.calc;

import static org.llmwb.core.Formula.num;

import java.util.List;

import org.llmwb.core.Formula;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

/**
 * KV-cache size. Per token and layer a standard attention layer stores K and V for each KV head:
 * 2 × kvHeads × headDim elements (MHA: kvHeads = heads; GQA: fewer; MQA: one). MLA (DeepSeek)
 * stores one compressed latent of kvLoraRank elements plus the shared RoPE key of qkRopeHeadDim.
 */
public final class KvCache {
    public record Result(double bytesPerToken, double bytesPerSequence, double totalBytes, long context, long batch,
            ModelConfig.Attention attention, List<Formula> formulas) {
    }

    private KvCache() {
    }

    public static double bytesPerToken(ModelConfig m, Precision kv) {
        return m.numLayers() * m.kvElementsPerTokenPerLayer() * kv.bytesPerValue();
    }

    public static Result compute(ModelConfig m, Precision kv, long context, long batch) {
        if (context <= 0 || batch <= 0) {
            throw new InputException("context and batch must be > 0 (got context " + context + ", batch " + batch + ")");
        }
        double perToken = bytesPerToken(m, kv);
        Formula f1;
        if (m.attention() == ModelConfig.Attention.MLA) {
            f1 = new Formula("KV bytes per token", "layers × (kvLoraRank + qkRopeHeadDim) × bytes",
                    m.numLayers() + " × (" + m.kvLoraRank() + " + " + m.qkRopeHeadDim() + ") × " + num(kv.bytesPerValue()), perToken, "B");
        } else {
            f1 = new Formula("KV bytes per token", "2 × layers × kvHeads × headDim × bytes",
                    "2 × " + m.numLayers() + " × " + m.numKvHeads() + " × " + m.headDim() + " × " + num(kv.bytesPerValue()), perToken, "B");
        }
        double perSeq = perToken * context;
        Formula f2 = new Formula("KV bytes per sequence", "bytesPerToken × context", num(perToken) + " × " + num(context), perSeq, "B");
        double total = perSeq * batch;
        Formula f3 = new Formula("KV bytes for the batch", "bytesPerSequence × batch", num(perSeq) + " × " + num(batch), total, "B");
        return new Result(perToken, perSeq, total, context, batch, m.attention(), List.of(f1, f2, f3));
    }
}
