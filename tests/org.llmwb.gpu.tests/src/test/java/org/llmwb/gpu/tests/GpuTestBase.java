package org.llmwb.gpu.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.llmwb.backend.cuda.CudaProbe;
import org.llmwb.backend.cuda.Gpu;

/** Opens the GPU once per class; every test skips (with the probe's reason) where there is none. */
abstract class GpuTestBase {
    static Gpu gpu;

    @BeforeAll
    static void open() {
        CudaProbe.Result p = CudaProbe.probe();
        assumeTrue(p.available(), "no GPU: " + p.reason());
        gpu = Gpu.open();
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
            gpu = null;
        }
    }

    /** Gaussian values, never all zero (a kernel that writes nothing must not pass). */
    static float[] gaussian(Random r, int n, double sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * sigma);
        }
        return a;
    }
}
