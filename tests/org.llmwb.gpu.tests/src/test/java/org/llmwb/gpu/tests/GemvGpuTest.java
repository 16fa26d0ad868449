package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.llmwb.backend.cpu.Compare;
import org.llmwb.backend.cpu.GemvRef;
import org.llmwb.backend.cpu.Quantize;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.ops.Gemv;
import org.llmwb.core.numeric.Half;

/**
 * BF16, W8A16 and W4A16 (symmetric and asymmetric) GEMV against the double reference of the same
 * (de)quantized weights, over odd N, K and batches 1..16. Tolerance 1e-2 of the largest output
 * magnitude (the output is bf16).
 */
class GemvGpuTest extends GpuTestBase {

    @ParameterizedTest(name = "B{0} N{1} K{2}")
    @CsvSource({"1, 1, 384", "3, 19, 384", "5, 257, 1152", "16, 100, 4096", "1, 1000, 640", "7, 33, 3200"})
    void allFormatsMatchTheReference(int batch, int n, int k) {
        Random r = new Random(n * 7L + k + batch);
        float[] w = Half.roundBf16(gaussian(r, n * k, 0.05));
        float[] x = Half.roundBf16(gaussian(r, batch * k, 1));
        Quantize.Int8 q8 = Quantize.int8PerChannel(w, n, k);
        Quantize.Int4 q4 = Quantize.int4Grouped(w, n, k, false);
        Quantize.Int4 q4a = Quantize.int4Grouped(w, n, k, true);
        float[] refBf16 = GemvRef.compute((i, j) -> w[i * k + j], x, batch, n, k);
        float[] ref8 = GemvRef.compute(q8::dequant, x, batch, n, k);
        float[] ref4 = GemvRef.compute(q4::dequant, x, batch, n, k);
        float[] ref4a = GemvRef.compute(q4a::dequant, x, batch, n, k);
        Gemv gemv = new Gemv(gpu);
        try (DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer dx = gpu.upload("x", Half.toBf16(x));
                DeviceBuffer dy = gpu.alloc("y", 2L * batch * n); DeviceBuffer d8 = gpu.upload("w8", q8.q());
                DeviceBuffer s8 = gpu.upload("s8", q8.scales()); DeviceBuffer d4 = gpu.upload("w4", q4.packed());
                DeviceBuffer s4 = gpu.upload("s4", q4.scales()); DeviceBuffer d4a = gpu.upload("w4a", q4a.packed());
                DeviceBuffer s4a = gpu.upload("s4a", q4a.scales()); DeviceBuffer z4a = gpu.upload("z4a", q4a.zeros())) {
            gemv.bf16(dw, dx, dy, batch, n, k);
            check("bf16", Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), refBf16);
            gemv.w8a16(d8, s8, dx, dy, batch, n, k);
            check("w8a16", Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), ref8);
            gemv.w4a16(d4, s4, null, dx, dy, batch, n, k);
            check("w4a16 sym", Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), ref4);
            gemv.w4a16(d4a, s4a, z4a, dx, dy, batch, n, k);
            check("w4a16 asym", Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), ref4a);
        }
    }

    /**
     * BF16 at the tensor-core kernel's edges: batch 2, 8 (one n8 tile), 9 and 12 (two), rows not a multiple of 16,
     * K of one k-step and K slices shorter than the 8-step unroll; K % 16 ≠ 0 falls back to the CUDA-core kernel.
     * Every batch row must equal the same row computed alone (batch 1): one kernel family, batch-invariant.
     */
    @ParameterizedTest(name = "B{0} N{1} K{2}")
    @CsvSource({"2, 16, 16", "8, 40, 48", "9, 31, 1040", "12, 65, 2048", "4, 10, 24", "16, 2048, 8192", "17, 33, 2048", "24, 100, 1024", "32, 2048, 2048"})
    void bf16AtTheTensorCoreKernelsEdges(int batch, int n, int k) {
        Random r = new Random(n * 13L + k + batch);
        float[] w = Half.roundBf16(gaussian(r, n * k, 0.05));
        float[] x = Half.roundBf16(gaussian(r, batch * k, 1));
        float[] ref = GemvRef.compute((i, j) -> w[i * k + j], x, batch, n, k);
        Gemv gemv = new Gemv(gpu);
        try (DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dy = gpu.alloc("y", 2L * batch * n);
                DeviceBuffer dy1 = gpu.alloc("y1", 2L * n)) {
            gemv.bf16(dw, dx, dy, batch, n, k);
            short[] all = gpu.downloadShorts(dy, batch * n);
            check("bf16 edge", Half.bf16ToFloat(all), ref);
            if (batch >= 2 && k % 16 == 0) {
                // the last batch row alone (batch 1 runs the CUDA-core kernel unless llmwb.gemv.tcFrom=1), for the record
                DeviceBuffer xl = dx.view(2L * (batch - 1) * k, 2L * k);
                gemv.bf16(dw, xl, dy1, 1, n, k);
                float[] alone = Half.bf16ToFloat(gpu.downloadShorts(dy1, n));
                float[] inBatch = java.util.Arrays.copyOfRange(Half.bf16ToFloat(all), (batch - 1) * n, batch * n);
                double d = 0;
                for (int i = 0; i < n; i++) {
                    d = Math.max(d, Math.abs(alone[i] - inBatch[i]));
                }
                System.out.println("gemv bf16 B" + batch + ": last row in the batch vs alone, max |diff| " + d);
            }
        }
    }

    /**
     * The fused BF16 GEMVs the engine's decode layers run, against a double reference: RMSNorm prologue (x̂ = x ·
     * rsqrt(mean(x²) + eps) · g) with a store, the residual add into y, and SwiGLU over [gate; up] rows — on both
     * kernel families (CUDA-core below the tensor-core threshold, tensor-core from it), at odd N and K (K % 32 ≠ 0
     * leaves a partial chunk), batches 1 to 32.
     */
    @ParameterizedTest(name = "B{0} N{1} K{2} {3} norm {4}")
    @CsvSource({"1, 40, 2048, STORE, true", "1, 2048, 8192, ADD, false", "1, 68, 1000, SILU, true", "3, 19, 520, STORE, true", "4, 66, 264, SILU, false",
            "5, 33, 1040, ADD, false", "8, 3072, 2048, STORE, true", "12, 98, 2048, SILU, true", "16, 50, 8, STORE, true", "17, 31, 2056, ADD, false",
            "32, 130, 1024, SILU, true", "32, 2048, 4096, STORE, true"})
    void fusedVariantsMatchTheReference(int batch, int n, int k, Gemv.Epilogue epi, boolean norm) {
        FusedCase c = FusedCase.of(new Random(n * 17L + k + batch + epi.ordinal()), batch, n, k, epi, norm);
        float eps = c.eps();
        float[] w = c.w(), x = c.x(), g = c.g(), y0 = c.y0(), ref = c.ref();
        int cols = c.cols();
        Gemv gemv = new Gemv(gpu);
        try (DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dg = gpu.upload("g", Half.toBf16(g));
                DeviceBuffer dy = gpu.upload("y", Half.toBf16(y0))) {
            gemv.bf16Fused(dw, dx, dy, batch, n, k, norm ? dg : null, eps, epi);
            check("fused " + epi + (norm ? " + norm" : ""), Half.bf16ToFloat(gpu.downloadShorts(dy, batch * cols)), ref);
        }
    }

    /**
     * The split-K GEMV v3 (gemv_bf16_sk*) against the same double reference as the fused variants, at its edges:
     * one slice and many (the workspace and the last-CTA reduction), K % 32 ≠ 0, N and SwiGLU widths that leave a
     * partial row group, and the three n8-tile widths (batches 5 to 32). Then what its design promises: a second
     * call gives bit-identical results (the per-group counters were reset), and every batch row is bit-identical to
     * the same row computed in a batch of 5 (the slicing does not depend on the batch); v2 agrees within the
     * tolerance.
     */
    @ParameterizedTest(name = "B{0} N{1} K{2} {3} norm {4}")
    @CsvSource({"5, 40, 2048, STORE, true", "8, 2048, 8192, ADD, false", "9, 68, 1000, SILU, true", "16, 130, 8, STORE, true",
            "17, 3072, 2048, STORE, true", "24, 98, 2056, SILU, false", "32, 2048, 2048, ADD, true", "32, 16384, 2048, SILU, true",
            "32, 100, 520, STORE, false"})
    void splitKMatchesTheReferenceAndIsBatchInvariant(int batch, int n, int k, Gemv.Epilogue epi, boolean norm) {
        FusedCase c = FusedCase.of(new Random(n * 29L + k + batch + epi.ordinal()), batch, n, k, epi, norm);
        float eps = c.eps();
        float[] w = c.w(), x = c.x(), g = c.g(), y0 = c.y0(), ref = c.ref();
        int cols = c.cols();
        Gemv gemv = new Gemv(gpu);
        assertTrue(gemv.splitK(), "split-K is the default");
        try (DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dg = gpu.upload("g", Half.toBf16(g));
                DeviceBuffer dy = gpu.upload("y", Half.toBf16(y0))) {
            gemv.bf16Fused(dw, dx, dy, batch, n, k, norm ? dg : null, eps, epi);
            short[] first = gpu.downloadShorts(dy, batch * cols);
            check("split-K " + epi + (norm ? " + norm" : ""), Half.bf16ToFloat(first), ref);
            gpu.write(dy, Half.toBf16(y0));
            gemv.bf16Fused(dw, dx, dy, batch, n, k, norm ? dg : null, eps, epi);
            assertArrayEquals(first, gpu.downloadShorts(dy, batch * cols), "a second call must give the same bits");
            gpu.write(dy, Half.toBf16(y0));
            gemv.bf16Fused(dw, dx, dy, 5, n, k, norm ? dg : null, eps, epi);
            assertArrayEquals(java.util.Arrays.copyOf(first, 5 * cols), gpu.downloadShorts(dy, 5 * cols), "rows 0-4 alone must give the same bits as in the batch");
            gpu.write(dy, Half.toBf16(y0));
            gemv.splitK(false).bf16Fused(dw, dx, dy, batch, n, k, norm ? dg : null, eps, epi);
            check("v2 " + epi + (norm ? " + norm" : ""), Half.bf16ToFloat(gpu.downloadShorts(dy, batch * cols)), ref);
        }
    }

    /**
     * The plain BF16 GEMV from 17 to 32 rows under v3: on sm_90 the wgmma kernel gemv_bf16_wg32 (elsewhere v2), at one
     * 64-wide K tile and a partial one (K 16, 1040), one slice and many (K 8192), rows not a multiple of 64. A second
     * call gives the same bits, and rows 0-16 computed as a batch of 17 give the same bits as in the batch.
     */
    @ParameterizedTest(name = "B{0} N{1} K{2}")
    @CsvSource({"17, 33, 16", "20, 130, 1040", "32, 2048, 2048", "32, 2048, 8192", "25, 3072, 2048", "32, 16384, 2048"})
    void wgmmaRowsMatchTheReference(int batch, int n, int k) {
        Random r = new Random(n * 31L + k + batch);
        float[] w = Half.roundBf16(gaussian(r, n * k, 0.05));
        float[] x = Half.roundBf16(gaussian(r, batch * k, 1));
        float[] ref = GemvRef.compute((i, j) -> w[i * k + j], x, batch, n, k);
        Gemv gemv = new Gemv(gpu).wgMinWeights(0); // every shape here through the wgmma kernel, small ones included
        try (DeviceBuffer dw = gpu.upload("w", Half.toBf16(w)); DeviceBuffer dx = gpu.upload("x", Half.toBf16(x)); DeviceBuffer dy = gpu.alloc("y", 2L * batch * n)) {
            gemv.bf16(dw, dx, dy, batch, n, k);
            short[] first = gpu.downloadShorts(dy, batch * n);
            check((gpu.device().hasWgmma() ? "wgmma" : "v2") + " B" + batch, Half.bf16ToFloat(first), ref);
            gpu.memset(dy, (byte) 0);
            gemv.bf16(dw, dx, dy, batch, n, k);
            assertArrayEquals(first, gpu.downloadShorts(dy, batch * n), "a second call must give the same bits");
            gpu.memset(dy, (byte) 0);
            gemv.bf16(dw, dx, dy, 17, n, k);
            assertArrayEquals(java.util.Arrays.copyOf(first, 17 * n), gpu.downloadShorts(dy, 17 * n), "rows 0-16 alone must give the same bits");
            gemv.splitK(false).bf16(dw, dx, dy, batch, n, k);
            check("v2 B" + batch, Half.bf16ToFloat(gpu.downloadShorts(dy, batch * n)), ref);
        }
    }

    /** Random weights, inputs, gain and residual for one fused-GEMV case, with its double reference. */
    private record FusedCase(float[] w, float[] x, float[] g, float[] y0, float[] ref, int cols, float eps) {
        static FusedCase of(Random r, int batch, int n, int k, Gemv.Epilogue epi, boolean norm) {
            float eps = 1e-5f;
            float[] w = Half.roundBf16(gaussian(r, n * k, 0.05));
            float[] x = Half.roundBf16(gaussian(r, batch * k, 2));
            float[] g = Half.roundBf16(gaussian(r, k, 1));
            int cols = epi == Gemv.Epilogue.SILU ? n / 2 : n;
            float[] y0 = Half.roundBf16(gaussian(r, batch * cols, 1));
            return new FusedCase(w, x, g, y0, fusedReference(w, x, g, y0, batch, n, k, epi, norm, eps), cols, eps);
        }
    }

    /** The fused GEMVs' double reference: RMSNorm (when {@code norm}) then the product, then the epilogue. */
    private static float[] fusedReference(float[] w, float[] x, float[] g, float[] y0, int batch, int n, int k, Gemv.Epilogue epi, boolean norm, float eps) {
        int cols = epi == Gemv.Epilogue.SILU ? n / 2 : n;
        double[] xh = new double[batch * k];
        for (int b = 0; b < batch; b++) {
            double ss = 0;
            for (int j = 0; j < k; j++) {
                ss += (double) x[b * k + j] * x[b * k + j];
            }
            double inv = norm ? 1 / Math.sqrt(ss / k + eps) : 1;
            for (int j = 0; j < k; j++) {
                xh[b * k + j] = x[b * k + j] * inv * (norm ? g[j] : 1);
            }
        }
        float[] ref = new float[batch * cols];
        for (int b = 0; b < batch; b++) {
            double[] full = new double[n];
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int j = 0; j < k; j++) {
                    s += (double) w[i * k + j] * xh[b * k + j];
                }
                full[i] = s;
            }
            for (int c = 0; c < cols; c++) {
                ref[b * cols + c] = (float) switch (epi) {
                    case STORE -> full[c];
                    case ADD -> y0[b * cols + c] + full[c];
                    case SILU -> full[c] / (1 + Math.exp(-full[c])) * full[cols + c];
                };
            }
        }
        return ref;
    }

    private static void check(String what, float[] got, float[] ref) {
        Compare c = Compare.of(got, ref);
        System.out.println("gemv " + what + ": " + c);
        assertTrue(c.maxRel() <= 1e-2, what + ": " + c);
    }
}
