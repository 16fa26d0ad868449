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

    static float[] referenceLogits(int[] tokens) {
        return org.llmwb.engine.model.ReferenceForward.lastLogits(ck, tokens);
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
            float[] got = model.forward(List.of(new org.llmwb.engine.model.SeqInput(t, 0, new int[] {3, 0, 7})), pool)[0];
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
        model.forward(List.of(new org.llmwb.engine.model.SeqInput(java.util.Arrays.copyOfRange(b, 0, 9), 0, tb)), pool);
        int pa = 0;
        int pb = 9;
        for (int chunk : new int[] {8, 8, 5}) {
            float[][] out = model.forward(List.of(new org.llmwb.engine.model.SeqInput(java.util.Arrays.copyOfRange(a, pa, pa + chunk), pa, ta),
                    new org.llmwb.engine.model.SeqInput(new int[] {b[pb]}, pb, tb)), pool);
            pa += chunk;
            pb++;
            assertClose(out[0], java.util.Arrays.copyOf(a, pa));
            assertClose(out[1], java.util.Arrays.copyOf(b, pb));
        }
        while (pa < a.length) {
            float[][] out = model.forward(List.of(new org.llmwb.engine.model.SeqInput(new int[] {a[pa]}, pa, ta)), pool);
            pa++;
            assertClose(out[0], java.util.Arrays.copyOf(a, pa));
        }
    }

    static void assertClose(float[] got, int[] prefix) {
        Compare cmp = Compare.of(got, referenceLogits(prefix));
        assertTrue(cmp.maxRel() < 1e-4, prefix.length + " tokens: " + cmp);
    }
}
