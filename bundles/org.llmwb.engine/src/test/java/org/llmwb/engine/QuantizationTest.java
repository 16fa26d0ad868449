package org.llmwb.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.llmwb.backend.cpu.Quantize;
import org.llmwb.engine.bench.QuantBench;
import org.llmwb.engine.quant.Quantization;
import org.llmwb.engine.quant.WeightQuant;

/** Load-time quantization on the CPU: the same rules as the GPU quantizers, and errors that order as the bits do. */
class QuantizationTest {
    static float[] weights(int n, int k, long seed) {
        Random r = new Random(seed);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.02);
        }
        return w;
    }

    @Test
    void fakeQuantMatchesTheKernelLabsQuantizers() {
        int n = 24;
        int k = 256;
        float[] w = weights(n, k, 3);
        float[] i8 = WeightQuant.fakeQuant(Quantization.Weights.INT8, w, n, k);
        float[] i4 = WeightQuant.fakeQuant(Quantization.Weights.INT4, w, n, k);
        float[] f4 = WeightQuant.fakeQuant(Quantization.Weights.NVFP4, w, n, k);
        Quantize.Int8 q8 = Quantize.int8PerChannel(w, n, k);
        Quantize.Int4 q4 = Quantize.int4Grouped(w, n, k, false);
        Quantize.Nvfp4 qf = Quantize.nvfp4(w, Quantize.nvfp4GlobalScale(w));
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                assertEquals(q8.dequant(r, c), i8[r * k + c], 0f);
                assertEquals(q4.dequant(r, c), i4[r * k + c], 0f);
                assertEquals(qf.dequant(r * k + c), f4[r * k + c], 0f);
            }
        }
        double e8 = err(w, i8);
        double e4 = err(w, i4);
        double efp8 = err(w, WeightQuant.fakeQuant(Quantization.Weights.FP8, w, n, k));
        assertTrue(e8 < efp8 && efp8 < e4, "INT8 per channel < FP8 per tensor < INT4 in error: " + e8 + ", " + efp8 + ", " + e4);
        assertTrue(WeightQuant.bytes(Quantization.Weights.INT4, n, k, 2) * 3 < WeightQuant.bytes(Quantization.Weights.NONE, n, k, 2));
    }

    static double err(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return s / a.length;
    }

    @Test
    void quantizedTinyModelStaysCloseAndReportsItsError() throws Exception {
        List<Map<String, Object>> rows = QuantBench.run("tiny", "cpu", List.of(Quantization.NONE, new Quantization(Quantization.Weights.INT8, Quantization.Kv.NONE),
                new Quantization(Quantization.Weights.INT4, Quantization.Kv.NONE), new Quantization(Quantization.Weights.NONE, Quantization.Kv.FP8)), 4, 96,
                new int[] {1}, null);
        assertEquals(0.0, (Double) rows.get(0).get("maxAbsLogitError"), "the reference against itself");
        double e8 = (Double) rows.get(1).get("meanAbsLogitError");
        double e4 = (Double) rows.get(2).get("meanAbsLogitError");
        assertTrue(e8 > 0 && e8 < e4, "INT8 error " + e8 + " below INT4's " + e4);
        assertTrue((Double) rows.get(1).get("top1Agreement") > 0.95);
        assertTrue((Double) rows.get(3).get("maxAbsLogitError") > 0, "an FP8 KV cache changes the logits a little");
        assertTrue((Long) rows.get(2).get("linearWeightBytesAsStored") * 3 < (Long) rows.get(0).get("linearWeightBytesAsStored"));
    }

    @Test
    void awqSearchesItsScaleAndNeverDoesWorseThanRoundToNearestOnItsCalibration() {
        int n = 16;
        int k = 256;
        float[] w = weights(n, k, 5);
        // activations with a few large channels (the outliers AWQ protects)
        Random r = new Random(6);
        float[][] x = new float[48][k];
        for (float[] row : x) {
            for (int c = 0; c < k; c++) {
                row[c] = (float) (r.nextGaussian() * (c % 37 == 0 ? 20 : 1));
            }
        }
        WeightQuant.Awq a = WeightQuant.awq(w, n, k, x);
        assertTrue(a.error() <= a.rtnError(), a.error() + " vs RTN " + a.rtnError());
        assertTrue(a.alpha() > 0, "with outlier channels a positive α wins: " + a.alpha());
        assertTrue(a.error() < 0.8 * a.rtnError(), "and it pays: " + a.error() + " vs " + a.rtnError());
    }

    @Test
    void awqModelLoadsWithAnAlphaPerLayerGroupAndReportsItsError() throws Exception {
        List<Map<String, Object>> rows = QuantBench.run("tiny", "cpu", List.of(Quantization.NONE, new Quantization(Quantization.Weights.INT4, Quantization.Kv.NONE),
                new Quantization(Quantization.Weights.INT4_AWQ, Quantization.Kv.NONE)), 4, 96, new int[] {1}, null);
        double rtn = (Double) rows.get(1).get("meanAbsLogitError");
        double awq = (Double) rows.get(2).get("meanAbsLogitError");
        assertTrue(awq > 0 && rtn > 0, awq + ", " + rtn);
        System.out.printf("tiny model, 96 corpus tokens: mean |logit error| INT4 RTN %.4f, AWQ %.4f%n", rtn, awq);
    }
}
