package org.llmwb.backend.cpu.nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.llmwb.core.experiment.KernelRecords;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The CPU's own roofs as ND4J reaches them: copy bandwidth (an {@code assign} between two arrays far
 * larger than the caches, read + write counted) and the FP32 GEMM rate (square {@code mmul}), each the
 * median of timed runs after warm-up. These are what ND4J attains, not the CPU's datasheet peaks.
 */
public final class CpuCeilings {
    /** Bytes/s and FLOP/s measured on {@code device}. */
    public record Result(String device, double copyBandwidth, double fp32Gemm) {
    }

    private CpuCeilings() {
    }

    /** @param copyBytes bytes per copy buffer; @param gemmN side of the square GEMM */
    public static Result measure(long copyBytes, int gemmN, int runs) {
        Nd4jOps.warmUp();
        long n = copyBytes / 4;
        INDArray a = Nd4j.rand(DataType.FLOAT, n);
        INDArray b = Nd4j.create(DataType.FLOAT, n);
        float[] ms = time(2, runs, () -> b.assign(a));
        double copy = 2.0 * copyBytes / (KernelRecords.median(ms) / 1e3);
        INDArray x = Nd4j.rand(DataType.FLOAT, gemmN, gemmN);
        INDArray y = Nd4j.rand(DataType.FLOAT, gemmN, gemmN);
        INDArray z = Nd4j.create(DataType.FLOAT, gemmN, gemmN);
        float[] gm = time(1, Math.max(3, runs / 2), () -> x.mmul(y, z));
        double gemm = 2.0 * gemmN * gemmN * (double) gemmN / (KernelRecords.median(gm) / 1e3);
        return new Result(cpuName(), copy, gemm);
    }

    /** Sorted wall-clock times in ms of {@code runs} calls after {@code warmup}. */
    public static float[] time(int warmup, int runs, Runnable call) {
        for (int i = 0; i < warmup; i++) {
            call.run();
        }
        float[] ms = new float[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            call.run();
            ms[i] = (System.nanoTime() - t0) / 1e6f;
        }
        Arrays.sort(ms);
        return ms;
    }

    /** "model name" from /proc/cpuinfo with the thread count, or the OS architecture where that is not readable. */
    public static String cpuName() {
        String name = System.getProperty("os.arch");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    name = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: keep the architecture
        }
        return "CPU " + name + " (" + Runtime.getRuntime().availableProcessors() + " threads, ND4J)";
    }
}
