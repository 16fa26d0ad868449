package org.llmwb.engine.model;

import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.LayersRef;
import org.llmwb.backend.cpu.PrefillAttentionRef;
import org.llmwb.core.catalog.ModelConfig;

/**
 * The Llama forward pass composed from the double-accumulation references (no ND4J, no GPU): the yardstick
 * both model runners are tested against. Slow (plain loops), meant for tiny models and short sequences.
 */
public final class ReferenceForward {
    private ReferenceForward() {
    }

    /** Logits of the last token after a full prefill of {@code tokens}. */
    public static float[] lastLogits(Checkpoint ck, int[] tokens) {
        ModelConfig c = ck.config();
        int h = c.hiddenSize();
        int t = tokens.length;
        int d = c.headDim();
        int q = c.numHeads() * d;
        int kv = c.numKvHeads() * d;
        float[] emb = ck.floats("model.embed_tokens.weight");
        float[] x = new float[t * h];
        for (int i = 0; i < t; i++) {
            System.arraycopy(emb, tokens[i] * h, x, i * h, h);
        }
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = i;
        }
        Checkpoint.Numerics n = ck.numerics();
        float[] inv = LayersRef.ropeInvFreq(d, n.ropeTheta(), n.ropeFactor(), n.lowFreqFactor(), n.highFreqFactor(), n.originalMaxPositions());
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            float[] xn = LayersRef.rmsnorm(x, ck.floats(p + "input_layernorm.weight"), h, n.rmsEps());
            float[] qs = LayersRef.rope(lin(ck.floats(p + "self_attn.q_proj.weight"), xn, t, q, h), pos, inv, c.numHeads(), d);
            float[] ks = LayersRef.rope(lin(ck.floats(p + "self_attn.k_proj.weight"), xn, t, kv, h), pos, inv, c.numKvHeads(), d);
            float[] vs = lin(ck.floats(p + "self_attn.v_proj.weight"), xn, t, kv, h);
            float[] a = PrefillAttentionRef.compute(qs, ks, vs, 0, t, c.numHeads(), c.numKvHeads(), d);
            add(x, lin(ck.floats(p + "self_attn.o_proj.weight"), a, t, h, q));
            float[] hn = LayersRef.rmsnorm(x, ck.floats(p + "post_attention_layernorm.weight"), h, n.rmsEps());
            int in = c.intermediateSize();
            float[] g = lin(ck.floats(p + "mlp.gate_proj.weight"), hn, t, in, h);
            float[] u = lin(ck.floats(p + "mlp.up_proj.weight"), hn, t, in, h);
            float[] gu = new float[t * 2 * in];
            for (int i = 0; i < t; i++) {
                System.arraycopy(g, i * in, gu, i * 2 * in, in);
                System.arraycopy(u, i * in, gu, i * 2 * in + in, in);
            }
            add(x, lin(ck.floats(p + "mlp.down_proj.weight"), LayersRef.siluMul(gu, t, in), t, h, in));
        }
        float[] last = java.util.Arrays.copyOfRange(x, (t - 1) * h, t * h);
        float[] fn = LayersRef.rmsnorm(last, ck.floats("model.norm.weight"), h, n.rmsEps());
        String head = ck.has("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight";
        return lin(ck.floats(head), fn, 1, (int) c.vocabSize(), h);
    }

    static float[] lin(float[] w, float[] x, int b, int n, int k) {
        return GemvRef.compute((i, j) -> w[i * k + j], x, b, n, k);
    }

    static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
