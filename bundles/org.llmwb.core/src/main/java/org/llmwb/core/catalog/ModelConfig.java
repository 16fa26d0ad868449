package org.llmwb.core.catalog;

/**
 * A transformer's shape, as read from a Hugging Face {@code config.json} ({@link HfConfigReader}).
 * Everything else (parameter counts, KV bytes, FLOPs) is derived from these fields.
 *
 * @param headDim per-head dimension of Q/K/V (for MLA: the V head dim; see the mla* fields)
 * @param normsPerLayer RMSNorm/LayerNorm modules per decoder layer (2 for Llama; 1 for Falcon-7B's parallel block)
 * @param numExperts routed experts per MoE layer, 0 for a dense model
 * @param firstDenseLayers leading layers that keep a dense MLP in an MoE model (DeepSeek's first_k_dense_replace)
 * @param qLoraRank MLA query compression rank (0 = queries projected directly)
 * @param kvLoraRank MLA latent KV rank (0 = not MLA)
 */
public record ModelConfig(String name, String modelType, String hfId, int hiddenSize, int intermediateSize, int numLayers,
        int numHeads, int numKvHeads, int headDim, int vocabSize, boolean tieEmbeddings, long maxPositions, double ropeTheta,
        boolean gatedMlp, boolean qkvBias, boolean normBias, int normsPerLayer, int numExperts, int expertsPerToken,
        int moeIntermediateSize, int sharedExperts, int firstDenseLayers, int qLoraRank, int kvLoraRank, int qkNopeHeadDim,
        int qkRopeHeadDim, int vHeadDim) {

    public enum Attention { MHA, GQA, MQA, MLA }

    public Attention attention() {
        if (kvLoraRank > 0) {
            return Attention.MLA;
        }
        if (numKvHeads == numHeads) {
            return Attention.MHA;
        }
        return numKvHeads == 1 ? Attention.MQA : Attention.GQA;
    }

    public boolean isMoe() {
        return numExperts > 0;
    }

    public int numMoeLayers() {
        return isMoe() ? numLayers - firstDenseLayers : 0;
    }

    public int numDenseLayers() {
        return numLayers - numMoeLayers();
    }

    /** Query heads × head dim: the width of the attention output (for MLA, heads × vHeadDim). */
    public int attentionWidth() {
        return kvLoraRank > 0 ? numHeads * vHeadDim : numHeads * headDim;
    }

    /** Q·K head dim used in attention FLOPs (MLA: nope + rope). */
    public int qkHeadDim() {
        return kvLoraRank > 0 ? qkNopeHeadDim + qkRopeHeadDim : headDim;
    }

    // ---- parameter counts (elements), derived from the shapes ----

    /** Attention projections of one layer, biases and MLA's internal norms included. */
    public long attentionParams() {
        long h = hiddenSize;
        if (kvLoraRank > 0) {
            long qk = (long) numHeads * (qkNopeHeadDim + qkRopeHeadDim);
            long q = qLoraRank > 0 ? h * qLoraRank + qLoraRank + (long) qLoraRank * qk : h * qk; // q_a, q_a_norm, q_b | q_proj
            long kvA = h * (kvLoraRank + qkRopeHeadDim) + kvLoraRank; // kv_a_proj_with_mqa + kv_a_layernorm
            long kvB = (long) kvLoraRank * numHeads * (qkNopeHeadDim + vHeadDim);
            long o = (long) numHeads * vHeadDim * h;
            return q + kvA + kvB + o;
        }
        long q = h * numHeads * headDim;
        long kv = 2 * h * numKvHeads * headDim;
        long o = (long) numHeads * headDim * h;
        long bias = qkvBias ? (long) numHeads * headDim + 2L * numKvHeads * headDim : 0;
        return q + kv + o + bias;
    }

    /** The linear-layer (matmul weight) part of {@link #attentionParams()}: what weight quantization applies to. */
    public long attentionLinearParams() {
        long h = hiddenSize;
        if (kvLoraRank > 0) {
            return attentionParams() - (qLoraRank > 0 ? qLoraRank : 0) - kvLoraRank;
        }
        return attentionParams() - (qkvBias ? (long) numHeads * headDim + 2L * numKvHeads * headDim : 0);
    }

    /** One dense MLP: gate+up+down (SwiGLU) or up+down. */
    public long denseMlpParams() {
        return (gatedMlp ? 3L : 2L) * hiddenSize * intermediateSize;
    }

    /** One expert's MLP. */
    public long expertParams() {
        return (gatedMlp ? 3L : 2L) * hiddenSize * moeIntermediateSize;
    }

    /** Router (gate) of one MoE layer; DeepSeek-V3 adds a per-expert score-correction bias. */
    public long routerParams() {
        return (long) hiddenSize * numExperts + ("deepseek_v3".equals(modelType) ? numExperts : 0);
    }

    /** All MLP parameters of one MoE layer: routed experts, shared experts and the router. */
    public long moeLayerMlpParams() {
        return (long) (numExperts + sharedExperts) * expertParams() + routerParams();
    }

    public long normParamsPerLayer() {
        return (long) normsPerLayer * hiddenSize * (normBias ? 2 : 1);
    }

    public long embeddingParams() {
        return (long) vocabSize * hiddenSize;
    }

    public long lmHeadParams() {
        return tieEmbeddings ? 0 : (long) vocabSize * hiddenSize;
    }

    public long finalNormParams() {
        return (long) hiddenSize * (normBias ? 2 : 1);
    }

    public long denseLayerParams() {
        return attentionParams() + denseMlpParams() + normParamsPerLayer();
    }

    public long moeLayerParams() {
        return attentionParams() + moeLayerMlpParams() + normParamsPerLayer();
    }

    public long totalParams() {
        return numDenseLayers() * denseLayerParams() + numMoeLayers() * moeLayerParams() + embeddingParams() + lmHeadParams()
                + finalNormParams();
    }

    /** Parameters touched per token: for MoE only the top-k routed experts (plus shared ones) count. */
    public long activeParams() {
        long moeActive = attentionParams() + (long) (expertsPerToken + sharedExperts) * expertParams() + routerParams()
                + normParamsPerLayer();
        return numDenseLayers() * denseLayerParams() + numMoeLayers() * moeActive + embeddingParams() + lmHeadParams()
                + finalNormParams();
    }

    /** Weights of linear layers in the decoder blocks (the part a weight-quantization scheme stores narrow). */
    public long linearParams() {
        long routed = (long) (numExperts + sharedExperts) * expertParams();
        return numLayers * attentionLinearParams() + numDenseLayers() * denseMlpParams() + numMoeLayers() * routed;
    }

    /** Everything that stays in 16-bit under weight quantization: embeddings, LM head, norms, biases, routers. */
    public long nonLinearParams() {
        return totalParams() - linearParams();
    }

    /** KV-cache elements one token adds in one layer: 2 × kvHeads × headDim, or MLA's latent + RoPE key. */
    public long kvElementsPerTokenPerLayer() {
        return kvLoraRank > 0 ? (long) kvLoraRank + qkRopeHeadDim : 2L * numKvHeads * headDim;
    }

    /** The same model with another KV-head count (a what-if for GQA/MQA); must divide the query heads. */
    public ModelConfig withKvHeads(int kvHeads) {
        if (kvHeads <= 0 || numHeads % kvHeads != 0) {
            throw new org.llmwb.core.InputException("--kv-heads " + kvHeads + " must be > 0 and divide the " + numHeads + " query heads");
        }
        if (kvLoraRank > 0) {
            throw new org.llmwb.core.InputException("--kv-heads does not apply to MLA models (their cache is a shared latent)");
        }
        return new ModelConfig(name + " (kv_heads=" + kvHeads + ")", modelType, hfId, hiddenSize, intermediateSize, numLayers, numHeads,
                kvHeads, headDim, vocabSize, tieEmbeddings, maxPositions, ropeTheta, gatedMlp, qkvBias, normBias, normsPerLayer,
                numExperts, expertsPerToken, moeIntermediateSize, sharedExperts, firstDenseLayers, qLoraRank, kvLoraRank,
                qkNopeHeadDim, qkRopeHeadDim, vHeadDim);
    }

    /** The same model served to at most {@code positions} tokens (e.g. a sliding window the engine does not mask). */
    public ModelConfig withMaxPositions(long positions) {
        return new ModelConfig(name, modelType, hfId, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize,
                tieEmbeddings, positions, ropeTheta, gatedMlp, qkvBias, normBias, normsPerLayer, numExperts, expertsPerToken,
                moeIntermediateSize, sharedExperts, firstDenseLayers, qLoraRank, kvLoraRank, qkNopeHeadDim, qkRopeHeadDim, vHeadDim);
    }
}
