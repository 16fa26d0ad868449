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
 * FLOPs and bytes of a whole model's prefill and decode steps, and the lower bounds on their time
 * on one GPU (roofline: max of compute time and memory time; communication and kernel overheads
 * excluded, so real steps are slower).
 *
 * <p>Counting convention. Matmul FLOPs: 2 × (active parameters that take part in matmuls) per
 * token; the embedding lookup is not a matmul, the LM head is (tied or not). Attention FLOPs:
 * 4 × heads × qkHeadDim per (query, key) pair, causal prefill counts half the pairs. Bytes: every
 * weight that the step touches once, KV read for decode, KV written for new tokens. For MoE decode
 * at batch B the expected number of distinct routed experts per layer is E·(1 − (1 − k/E)^B).
 */
public final class InferenceCost {
    public record Step(String phase, long batch, long tokens, long context, double flops, double bytes, double peak, double bandwidth,
            String computeKey, List<Formula> formulas) {
        public double intensity() {
            return flops / bytes;
        }

        public double computeTime() {
            return flops / peak;
        }

        public double memoryTime() {
            return bytes / bandwidth;
        }

        public double timeBound() {
            return Math.max(computeTime(), memoryTime());
        }

        public boolean memoryBound() {
            return memoryTime() >= computeTime();
        }

        public double attainable() {
            return Roofline.attainable(intensity(), peak, bandwidth);
        }
    }

    private InferenceCost() {
    }

    /** Parameters per token that take part in matmuls (active experts only; LM head included). */
    public static long matmulParamsPerToken(ModelConfig m) {
        return m.activeParams() - m.embeddingParams() + (m.tieEmbeddings() ? (long) m.vocabSize() * m.hiddenSize() : 0);
    }

    /** Expected distinct routed experts touched per MoE layer by {@code tokens} tokens choosing top-k uniformly. */
    public static double expectedExpertsTouched(ModelConfig m, long tokens) {
        double e = m.numExperts();
        double k = m.expertsPerToken();
        return e * (1 - Math.pow(1 - k / e, tokens));
    }

    /** Weight bytes one step touches for {@code tokens} tokens (all weights for a dense model). */
    public static double weightBytesTouched(ModelConfig m, Precision w, long tokens) {
        WeightMemory.Result all = WeightMemory.compute(m, w);
        // the embedding table is only gathered (a few rows), unless it doubles as the LM head
        double embedding = m.tieEmbeddings() ? 0 : m.embeddingParams() * (w.isQuantized() ? 2.0 : w.bytesPerValue());
        double touched = all.totalBytes() - embedding;
        if (m.isMoe()) {
            double expertBytes = m.expertParams() * w.bytesPerValue();
            touched -= (m.numExperts() - expectedExpertsTouched(m, tokens)) * expertBytes * m.numMoeLayers();
        }
        return touched;
    }

    /** One decode step: {@code batch} sequences each with {@code context} cached tokens produce one token. */
    public static Step decode(ModelConfig m, GpuSpec gpu, Precision w, Precision kv, long batch, long context) {
        if (batch <= 0 || context <= 0) {
            throw new InputException("batch and context must be > 0");
        }
        List<Formula> fs = new ArrayList<>();
        long p = matmulParamsPerToken(m);
        double attnFlops = 4.0 * batch * context * m.numLayers() * m.numHeads() * m.qkHeadDim();
        double flops = 2.0 * p * batch + attnFlops;
        fs.add(new Formula("decode FLOPs", "2 × matmulParams × B + 4 × B × C × layers × heads × qkHeadDim",
                "2 × " + num(p) + " × " + batch + " + 4 × " + batch + " × " + context + " × " + m.numLayers() + " × " + m.numHeads()
                        + " × " + m.qkHeadDim(), flops, "FLOP"));
        double wBytes = weightBytesTouched(m, w, batch);
        double kvTok = KvCache.bytesPerToken(m, kv);
        double bytes = wBytes + batch * context * kvTok + batch * kvTok;
        fs.add(new Formula("decode bytes", "weights touched + B × C × kvBytesPerToken (read) + B × kvBytesPerToken (write)",
                num(wBytes) + " + " + batch + " × " + context + " × " + num(kvTok) + " + " + batch + " × " + num(kvTok), bytes, "B"));
        return finish("decode", m, gpu, w, batch, batch, context, flops, bytes, fs);
    }

    /** Prefill of {@code batch} prompts of {@code promptLength} tokens each (causal attention). */
    public static Step prefill(ModelConfig m, GpuSpec gpu, Precision w, Precision kv, long batch, long promptLength) {
        if (batch <= 0 || promptLength <= 0) {
            throw new InputException("batch and prompt length must be > 0");
        }
        List<Formula> fs = new ArrayList<>();
        long tokens = batch * promptLength;
        long p = matmulParamsPerToken(m);
        double attnFlops = 2.0 * batch * promptLength * promptLength * m.numLayers() * m.numHeads() * m.qkHeadDim();
        double flops = 2.0 * p * tokens + attnFlops;
        fs.add(new Formula("prefill FLOPs", "2 × matmulParams × B·S + 4 × B × S² × layers × heads × qkHeadDim × ½",
                "2 × " + num(p) + " × " + num(tokens) + " + 2 × " + batch + " × " + promptLength + "² × " + m.numLayers() + " × "
                        + m.numHeads() + " × " + m.qkHeadDim(), flops, "FLOP"));
        double wBytes = weightBytesTouched(m, w, tokens);
        double kvTok = KvCache.bytesPerToken(m, kv);
        double bytes = wBytes + tokens * kvTok;
        fs.add(new Formula("prefill bytes", "weights touched + B·S × kvBytesPerToken (write)",
                num(wBytes) + " + " + num(tokens) + " × " + num(kvTok), bytes, "B"));
        return finish("prefill", m, gpu, w, batch, tokens, promptLength, flops, bytes, fs);
    }

    private static Step finish(String phase, ModelConfig m, GpuSpec gpu, Precision w, long batch, long tokens, long context, double flops,
            double bytes, List<Formula> fs) {
        double peak = gpu.peakFor(w);
        String key = gpu.computeKeyFor(w);
        double bw = gpu.memoryBandwidth();
        double ai = flops / bytes;
        fs.add(new Formula("arithmetic intensity", "FLOPs ÷ bytes", num(flops) + " ÷ " + num(bytes), ai, "FLOP/B"));
        fs.add(new Formula("ridge point (" + key + ")", "peak ÷ bandwidth", num(peak) + " ÷ " + num(bw), peak / bw, "FLOP/B"));
        double t = Math.max(flops / peak, bytes / bw);
        fs.add(new Formula(phase + " time lower bound", "max(FLOPs ÷ peak, bytes ÷ bandwidth)",
                "max(" + num(flops) + " ÷ " + num(peak) + ", " + num(bytes) + " ÷ " + num(bw) + ")", t, "s"));
        if ("decode".equals(phase)) {
            fs.add(new Formula("decode throughput upper bound", "B ÷ step time", batch + " ÷ " + num(t), batch / t, "tokens/s"));
        }
        return new Step(phase, batch, tokens, context, flops, bytes, peak, bw, key, List.copyOf(fs));
    }
}
