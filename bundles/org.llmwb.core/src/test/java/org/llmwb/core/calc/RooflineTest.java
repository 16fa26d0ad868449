package org.llmwb.core.calc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;

class RooflineTest {
    private final GpuSpec h100 = GpuCatalog.builtIn().get("h100-sxm");

    @Test
    void ridgeOfH100() {
        // 989.4 TFLOP/s ÷ 3.35 TB/s = 295.3 FLOP/B
        assertEquals(989.4 / 3.35, Roofline.ridge(h100.peak("bf16"), h100.memoryBandwidth()), 1e-9);
        assertEquals(3.35e12 * 10, Roofline.attainable(10, h100.peak("bf16"), h100.memoryBandwidth()), 1);
        assertEquals(989.4e12, Roofline.attainable(1000, h100.peak("bf16"), h100.memoryBandwidth()), 1);
    }

    @Test
    void opIntensities() {
        // square GEMM n=4096 in bf16: 2n³ / (3n² × 2) = n/3
        assertEquals(4096.0 / 3, Roofline.Op.gemm(4096, 4096, 4096, 2).intensity(), 1e-9);
        // GEMV 4096→14336 batch 1: 2·K·N / (K·N·2 + (K + N)·2) just under 1 FLOP/B
        Roofline.Op g = Roofline.Op.gemv(1, 4096, 14336, 2, 2);
        assertEquals(117_440_512.0, g.flops());
        assertEquals(4096.0 * 14336 * 2 + (4096 + 14336) * 2, g.bytes());
        // W4A16: the weight costs 4.125/8 bytes per value → ~3.9× the intensity of bf16
        Roofline.Op q = Roofline.Op.gemv(1, 4096, 14336, 4.125 / 8, 2);
        assertEquals(3.87, q.intensity() / g.intensity(), 0.02);
        // causal prefill: half of 4·S²·h·d
        assertEquals(0.5 * 4.0 * 4096 * 4096 * 32 * 128, Roofline.Op.attentionPrefill(1, 4096, 32, 8, 128, true, 2).flops());
    }

    @Test
    void decodeIsMemoryBoundPrefillComputeBound() {
        ModelConfig m = ModelPresets.of("llama-3.1-8b");
        InferenceCost.Step d = InferenceCost.decode(m, h100, Precision.BF16, Precision.BF16, 1, 1024);
        assertTrue(d.memoryBound());
        assertTrue(d.intensity() > 0.9 && d.intensity() < 1.1, "decode AI ≈ 1 FLOP/B at batch 1: " + d.intensity());
        // bytes = all weights but the (untied) embedding table + KV read + KV write
        double weights = (8_030_261_248L - 128256L * 4096) * 2.0;
        assertEquals(weights + 1024 * 131_072.0 + 131_072.0, d.bytes(), 1);
        assertEquals(d.bytes() / h100.memoryBandwidth(), d.timeBound(), 1e-12);
        InferenceCost.Step p = InferenceCost.prefill(m, h100, Precision.BF16, Precision.BF16, 1, 4096);
        assertFalse(p.memoryBound());
        assertEquals(p.flops() / h100.peak("bf16"), p.timeBound(), 1e-12);
    }

    @Test
    void batchingRaisesDecodeIntensityRoughlyLinearly() {
        ModelConfig m = ModelPresets.of("llama-3.1-8b");
        double ai1 = InferenceCost.decode(m, h100, Precision.BF16, Precision.BF16, 1, 128).intensity();
        double ai64 = InferenceCost.decode(m, h100, Precision.BF16, Precision.BF16, 64, 128).intensity();
        assertTrue(ai64 / ai1 > 40 && ai64 / ai1 < 64, "ratio " + ai64 / ai1);
    }

    @Test
    void moeDecodeTouchesFewExpertsAtBatchOne() {
        ModelConfig m = ModelPresets.of("mixtral-8x7b");
        // batch 1 top-2 of 8: exactly 2 experts per layer are read
        assertEquals(2.0, InferenceCost.expectedExpertsTouched(m, 1), 1e-12);
        assertEquals(8 * (1 - Math.pow(0.75, 4)), InferenceCost.expectedExpertsTouched(m, 4), 1e-12);
        InferenceCost.Step d = InferenceCost.decode(m, h100, Precision.BF16, Precision.BF16, 1, 1);
        assertTrue(d.bytes() < 0.35 * 46.7e9 * 2, "reads ~13B params, not 47B: " + d.bytes());
    }

    @Test
    void fp4FallsBackWhereNotNative() {
        assertEquals("fp8", h100.computeKeyFor(Precision.NVFP4));
        assertEquals("fp4", GpuCatalog.builtIn().get("b200").computeKeyFor(Precision.NVFP4));
        assertEquals("bf16", GpuCatalog.builtIn().get("a100-80gb").computeKeyFor(Precision.FP8_E4M3));
    }
}
