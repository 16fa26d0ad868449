package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.LayersRef;
import org.llmwb.backend.cpu.PrefillAttentionRef;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.CheckpointGenerator;
import org.llmwb.engine.model.LlamaCpu;
import org.llmwb.engine.model.Safetensors;

/** The ND4J forward against a composition of the double-precision references, and paged incremental decoding against one full prefill. */
class LlamaCpuTest {
    @TempDir
    static Path dir;
    static Checkpoint ck;
    static LlamaCpu model;

    @BeforeAll
    static void load() throws Exception {
        CheckpointGenerator.Shape s = new CheckpointGenerator.Shape(64, 96, 2, 4, 2, 16, 60, false, 2048, 500000);
        ck = Checkpoint.open(CheckpointGenerator.generate(dir.resolve("m"), s, 11, Safetensors.Dtype.F32, 1));
        model = new LlamaCpu(ck);
    }

    /** Logits of the last token of a full prefill, computed from the references (double accumulation). */
    static float[] referenceLogits(int[] tokens) {
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
        return lin(ck.floats("lm_head.weight"), fn, 1, c.vocabSize(), h);
    }

    static float[] lin(float[] w, float[] x, int b, int n, int k) {
        return GemvRef.compute((i, j) -> w[i * k + j], x, b, n, k);
    }

    static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    static int[] tokens(int n, int seed) {
        java.util.Random r = new java.util.Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(ck.config().vocabSize());
        }
        return t;
    }

    @Test
    void prefillMatchesTheReferenceForward() {
        for (int n : new int[] {1, 5, 37}) {
            int[] t = tokens(n, n);
            LlamaCpu.KvPool pool = model.newPool(8, 16);
            float[] got = model.forward(List.of(new LlamaCpu.SeqInput(t, 0, new int[] {3, 0, 7})), pool)[0];
            Compare cmp = Compare.of(got, referenceLogits(t));
            assertTrue(cmp.maxRel() < 1e-4, n + " tokens: " + cmp);
        }
    }

    @Test
    void chunkedPrefillAndPagedDecodeInAMixedBatchMatchTheReference() {
        // sequence A: a 21-token prompt in chunks of 8, 8, 5, then decodes; sequence B decodes beside it in the same steps
        int[] a = tokens(26, 1);
        int[] b = tokens(12, 2);
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(i);
        }
        Collections.shuffle(ids, new java.util.Random(3));
        int[] ta = ids.subList(0, 7).stream().mapToInt(Integer::intValue).toArray(); // block size 4: 26 tokens need 7 blocks
        int[] tb = ids.subList(7, 10).stream().mapToInt(Integer::intValue).toArray();
        LlamaCpu.KvPool pool = model.newPool(20, 4);
        model.forward(List.of(new LlamaCpu.SeqInput(java.util.Arrays.copyOfRange(b, 0, 9), 0, tb)), pool);
        int pa = 0;
        int pb = 9;
        for (int chunk : new int[] {8, 8, 5}) {
            float[][] out = model.forward(List.of(new LlamaCpu.SeqInput(java.util.Arrays.copyOfRange(a, pa, pa + chunk), pa, ta),
                    new LlamaCpu.SeqInput(new int[] {b[pb]}, pb, tb)), pool);
            pa += chunk;
            pb++;
            assertClose(out[0], java.util.Arrays.copyOf(a, pa));
            assertClose(out[1], java.util.Arrays.copyOf(b, pb));
        }
        while (pa < a.length) {
            float[][] out = model.forward(List.of(new LlamaCpu.SeqInput(new int[] {a[pa]}, pa, ta)), pool);
            pa++;
            assertClose(out[0], java.util.Arrays.copyOf(a, pa));
        }
    }

    static void assertClose(float[] got, int[] prefix) {
        Compare cmp = Compare.of(got, referenceLogits(prefix));
        assertTrue(cmp.maxRel() < 1e-4, prefix.length + " tokens: " + cmp);
    }
}
