package org.llmwb.backend.cuda.ops;

import jcuda.Pointer;

import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/**
 * Launchers of kernels/gemm/gemv.cu: y[B, N] = x[B, K] · Wᵀ with W in bf16, INT8 (per-channel) or
 * INT4 (group 128). FLOPs = 2·B·N·K; bytes = weight bytes (values + scales + zeros) + 2·B·(K + N)
 * (x read, y written, bf16).
 */
public final class Gemv {
    public static final String MODULE = "gemm/gemv";
    private static final int WARPS_PER_CTA = 8;
    private final Gpu gpu;
    private final DeviceBuffer skWork;
    private final DeviceBuffer skCounters;
    private final java.util.Set<String> optedIn = new java.util.HashSet<>();
    private boolean splitK = !"false".equals(System.getProperty("llmwb.gemv.splitK"));
    private int skCtas;
    private int wgCtas;
    private long wgMinWeights = Long.getLong("llmwb.gemv.wgMinWeights", WG32_MIN_WEIGHTS);

    public enum Format { BF16, W8A16, W4A16 }

    public Gemv(Gpu gpu) {
        this.gpu = gpu;
        // the split-K kernels' workspace and per-row-group counters: one per context, fixed size (graphs bake the address in)
        this.skWork = gpu.scratch("gemv.sk.workspace", 4L * SK_MAX_SPLIT_CTAS * (SK_ROWS * 32 + 32));
        this.skCounters = gpu.scratch("gemv.sk.counters", 4L * SK_MAX_SPLIT_CTAS);
        int sms = Math.max(1, gpu.device().multiprocessors());
        this.skCtas = Integer.getInteger("llmwb.gemv.skCtas", 2 * sms);
        this.wgCtas = Integer.getInteger("llmwb.gemv.wgCtas", sms);
    }

    /**
     * CTAs the split-K plans aim at: {@code sk} for gemv_bf16_sk* (default two per SM, system property
     * {@code llmwb.gemv.skCtas}), {@code wg} for gemv_bf16_wg32 (default one per SM, {@code llmwb.gemv.wgCtas}).
     * KernelBench sweeps them.
     */
    public Gemv ctaTargets(int sk, int wg) {
        this.skCtas = sk;
        this.wgCtas = wg;
        return this;
    }

    /** Smallest weight (N·K elements) the wgmma GEMV takes (default {@link #WG32_MIN_WEIGHTS}; tests use 0). */
    public Gemv wgMinWeights(long elements) {
        this.wgMinWeights = elements;
        return this;
    }

    /**
     * Whether the tensor-core BF16 GEMVs run v3 (default) or v2 (gemv_bf16_tc*: the A/B of DecodeBench and
     * KernelBench). v3 is the split-K family: gemv_bf16_sk* up to 16 rows (and fused layers), and from 17 to 32
     * rows of a plain GEMV on sm_90 the wgmma kernel gemv_bf16_wg32; elsewhere above 16 rows v2 stays (measured on an
     * H100, sk32 lost to v2 at 32 rows). System property {@code llmwb.gemv.splitK=false} turns v3 off from the start.
     */
    public Gemv splitK(boolean on) {
        this.splitK = on;
        return this;
    }

    public boolean splitK() {
        return splitK;
    }

    /** W rows per CTA of the split-K kernels (gemv.cu SK_ROWS). */
    static final int SK_ROWS = 64;
    /** Most 32-wide K chunks one CTA stages (1024 k: 66 KB of x̂ at 32 rows). */
    static final int SK_MAX_SLICE = 32;
    /** Most CTAs of one split launch (the workspace holds one 64 × 32 block of partial sums per CTA). */
    static final int SK_MAX_SPLIT_CTAS = 1024;
    /**
     * How the split-K kernel covers y[·, N] = x · Wᵀ: {@code groups} CTAs of 64 W rows (32 output columns for
     * SwiGLU) along N, each K split into {@code split} slices of {@code slice} 32-wide chunks. Depends on N, K and
     * the GPU only — never on the batch — so a row's result does not depend on the batch it is in.
     */
    public record SkPlan(int groups, int split, int slice) {
        /** Dynamic shared memory for {@code nt} n8 tiles: the staged x̂ slice, or the partial sums after it. */
        public int sharedBytes(int nt) {
            return Math.max(8 * nt * (slice * 32 + 32) * 2, 2 * SK_ROWS * 8 * nt * 4);
        }
    }

    /** The split-K plan for N rows (SwiGLU: N = 2·I) and K, or null where it does not apply (too many CTAs for the workspace). */
    public static SkPlan skPlan(int n, int k, boolean silu, int targetCtas) {
        int groups = silu ? ((n / 2) + SK_ROWS / 2 - 1) / (SK_ROWS / 2) : (n + SK_ROWS - 1) / SK_ROWS;
        int chunks = (k + 31) / 32;
        int minSplit = (chunks + SK_MAX_SLICE - 1) / SK_MAX_SLICE;
        int want = (targetCtas + groups - 1) / groups;
        int split = Math.max(minSplit, Math.min(want, Math.max(1, chunks / 4))); // at least 4 chunks a CTA
        int slice = (chunks + split - 1) / split;
        split = (chunks + slice - 1) / slice;
        if (split > 1 && (long) groups * split > SK_MAX_SPLIT_CTAS) {
            return null;
        }
        return new SkPlan(groups, split, slice);
    }

    /**
     * The plan of the wgmma GEMV (gemv_bf16_wg32, 17 to 32 rows on sm_90): {@code groups} CTAs of 64 W rows, K split
     * into {@code split} slices of {@code slice} 64-wide tiles, aiming at {@code targetCtas}; never more split CTAs
     * than the workspace holds. Depends on N, K and the GPU only.
     */
    public static SkPlan wgPlan(int n, int k, int targetCtas) {
        int groups = (n + 63) / 64;
        int tiles = (k + 63) / 64;
        int split = Math.max(1, Math.min((targetCtas + groups - 1) / groups, tiles / 2)); // at least 2 tiles a CTA
        if ((long) groups * split > SK_MAX_SPLIT_CTAS) {
            split = Math.max(1, SK_MAX_SPLIT_CTAS / groups);
        }
        int slice = (tiles + split - 1) / split;
        return new SkPlan(groups, (tiles + slice - 1) / slice, slice);
    }

    /**
     * Smallest weight (N·K elements) the wgmma GEMV takes; below it v2 stays. Measured on an H100 at 32 rows
     * (results/h100/run19-splitk-gemv/wg32): the 1B model's gate/up (16384 × 2048) 28 µs against v2's 45 and down
     * (2048 × 8192) 24 against 31, but Q/K/V (3072 × 2048) 24 against 17 and the output projection 21 against 16 —
     * at 8-12 MB the kernel's fixed costs (the pipeline's fill, the slices' reduction) outweigh its bandwidth. Its
     * plan aims at one CTA per SM ({@link #ctaTargets}): at two, gate/up split in 2 and took 44 µs (512 CTAs for 396
     * slots: a second, mostly empty wave). System property {@code llmwb.gemv.wgMinWeights} or {@link #wgMinWeights}
     * moves the threshold.
     */
    static final long WG32_MIN_WEIGHTS = 1L << 24;

    /** Dynamic shared memory of gemv_bf16_wg32: 6 stages of a 64-row W tile and a 32-row x tile (64 k each), 1 KB for alignment. */
    static final int WG32_SHARED = 6 * (64 + 32) * 128 + 1024;

    /** Runs the wgmma GEMV when it applies (v3, 9 to 32 rows, a large weight, sm_90); false when the caller should run v2. */
    private boolean wgmmaLaunch(DeviceBuffer w, DeviceBuffer x, DeviceBuffer y, int batch, int n, int k) {
        if (!splitK || batch <= 8 || batch > 32 || k % 8 != 0 || (long) n * k < wgMinWeights || !gpu.device().hasWgmma()) {
            return false;
        }
        SkPlan plan = wgPlan(n, k, wgCtas);
        jcuda.driver.CUfunction f = gpu.function(MODULE, "gemv_bf16_wg32");
        if (optedIn.add("gemv_bf16_wg32")) {
            gpu.allowDynamicShared(f, WG32_SHARED);
        }
        gpu.launch(f, plan.groups(), plan.split(), 1, 128, WG32_SHARED, w.param(), x.param(), y.param(), ints(n), ints(k), ints(batch),
                ints(plan.slice()), skWork.param(), skCounters.param());
        return true;
    }

    /** Runs the split-K kernel when it applies; false when the caller should run v2. */
    private boolean splitKLaunch(DeviceBuffer w, DeviceBuffer x, DeviceBuffer y, int batch, int n, int k, DeviceBuffer norm, float eps, Epilogue epi,
            boolean fused) {
        if (!splitK || batch > 32) {
            return false;
        }
        SkPlan plan = skPlan(n, k, epi == Epilogue.SILU, skCtas);
        if (plan == null) {
            return false;
        }
        int nt = batch <= 8 ? 1 : batch <= 16 ? 2 : 4;
        String name = "gemv_bf16_sk" + 8 * nt + (fused ? "_fused" : "");
        jcuda.driver.CUfunction f = gpu.function(MODULE, name);
        int shared = plan.sharedBytes(nt);
        int most = new SkPlan(1, 1, SK_MAX_SLICE).sharedBytes(nt);
        if (most > 48 * 1024 && optedIn.add(name)) {
            gpu.allowDynamicShared(f, most); // once per kernel, for the largest slice any plan uses
        }
        if (fused) {
            gpu.launch(f, plan.groups(), plan.split(), 1, 256, shared, w.param(), x.param(), y.param(), ints(n), ints(k), ints(batch),
                    norm == null ? Pointer.to(new long[] {0}) : norm.param(), Pointer.to(new float[] {eps}), ints(epi.ordinal()), ints(plan.slice()),
                    skWork.param(), skCounters.param());
        } else {
            gpu.launch(f, plan.groups(), plan.split(), 1, 256, shared, w.param(), x.param(), y.param(), ints(n), ints(k), ints(batch), ints(plan.slice()),
                    skWork.param(), skCounters.param());
        }
        return true;
    }

    static int bucket(int b) {
        if (b < 1 || b > 16) {
            throw new IllegalArgumentException("batch " + b + " is outside 1..16 (the GEMV kernels serve decode batches)");
        }
        return b <= 1 ? 1 : b <= 2 ? 2 : b <= 4 ? 4 : b <= 8 ? 8 : 16;
    }

    public static void validate(Format f, int batch, int n, int k) {
        bucket(batch);
        int mult = switch (f) {
            case BF16 -> 8;
            case W8A16 -> 16;
            case W4A16 -> 128;
        };
        if (n <= 0 || k <= 0 || k % mult != 0) {
            throw new IllegalArgumentException(f + " GEMV needs K a positive multiple of " + mult + " (got N " + n + ", K " + k + ")");
        }
    }

    public static double weightBytes(Format f, long n, long k, boolean zeros) {
        return switch (f) {
            case BF16 -> 2.0 * n * k;
            case W8A16 -> n * k + 4.0 * n;
            case W4A16 -> n * k / 2.0 + 4.0 * n * (k / 128) + (zeros ? n * (k / 128) : 0);
        };
    }

    public static double bytes(Format f, int batch, long n, long k, boolean zeros) {
        return weightBytes(f, n, k, zeros) + 2.0 * batch * (k + n);
    }

    public static double flops(int batch, long n, long k) {
        return 2.0 * batch * n * k;
    }

    /**
     * From how many rows the tensor-core kernel (gemv_bf16_tc) serves BF16. Measured on an H200 (N 14336, K 4096):
     * at 4 rows the CUDA-core kernel is faster (51 vs 67 µs), at 16 the tensor-core one (99 vs 159 µs); a 1B-shaped
     * decode step of 8 rows went from 4.0 to 2.1 ms. Default 5 (a K = 4 verify step lands on it). 1 makes every BF16
     * GEMV the same kernel — batch-invariant numerics, so GPU speculative decoding matches plain decoding bit for
     * bit, at the cost of batch-1 decode (1.94 vs 1.36 ms a step); 17 turns it off. System property
     * {@code llmwb.gemv.tcFrom}.
     */
    static final int TC_FROM = Integer.getInteger("llmwb.gemv.tcFrom", 5);

    /** What a fused BF16 GEMV does with its result (gemv.cu, EPI_*). */
    public enum Epilogue {
        /** y = x̂ · Wᵀ */
        STORE,
        /** y += x̂ · Wᵀ (a residual add into y) */
        ADD,
        /** W is [gate; up] (N = 2·I rows) and y [B, I] = silu(x̂ · Wgᵀ) · (x̂ · Wuᵀ) */
        SILU
    }

    /** Whether {@link #bf16Fused} serves {@code batch} rows of K {@code k}. */
    public static boolean fusedServes(int batch, int k) {
        return batch >= 1 && k > 0 && k % 8 == 0 && (batch <= 16 || batch <= TC_MAX_ROWS && batch >= TC_FROM);
    }

    /**
     * A BF16 GEMV with what surrounds it in a decode step: when {@code norm} is given the input rows are
     * RMS-normalised on the fly (x̂ = x · rsqrt(mean(x²) + eps) · norm; no normalised copy is written), and the
     * epilogue stores, adds into y, or applies SwiGLU to gate/up row pairs. Same kernels as {@link #bf16}
     * (CUDA-core below {@code llmwb.gemv.tcFrom} rows, tensor-core from there up to 32).
     */
    public void bf16Fused(DeviceBuffer w, DeviceBuffer x, DeviceBuffer y, int batch, int n, int k, DeviceBuffer norm, float eps, Epilogue epi) {
        if (!fusedServes(batch, k) || n <= 0) {
            throw new IllegalArgumentException("fused BF16 GEMV: batch " + batch + ", N " + n + ", K " + k + " (needs 1..32 rows, K a multiple of 8)");
        }
        if (epi == Epilogue.SILU && n % 2 != 0) {
            throw new IllegalArgumentException("SwiGLU GEMV needs an even N (gate rows then up rows), got " + n);
        }
        long yCols = epi == Epilogue.SILU ? n / 2 : n;
        if (w.bytes() < 2L * n * k || x.bytes() < 2L * batch * k || y.bytes() < 2L * batch * yCols || norm != null && norm.bytes() < 2L * k) {
            throw new IllegalArgumentException("fused BF16 GEMV shapes do not match the buffers (batch " + batch + ", N " + n + ", K " + k + ")");
        }
        boolean tc = batch >= TC_FROM;
        if (tc && splitKLaunch(w, x, y, batch, n, k, norm, eps, epi, true)) {
            return;
        }
        int rowsPerCta = tc ? 16 : WARPS_PER_CTA;
        int grid = epi == Epilogue.SILU ? (int) ((yCols + rowsPerCta / 2 - 1) / (rowsPerCta / 2)) : (n + rowsPerCta - 1) / rowsPerCta;
        String name = tc ? (batch <= 16 ? "gemv_bf16_tc_fused" : "gemv_bf16_tc32_fused") : "gemv_bf16_fused_b" + bucket(batch);
        gpu.launch(gpu.function(MODULE, name), grid, 1, 1, 256, 0, w.param(), x.param(), y.param(), ints(n), ints(k), ints(batch),
                norm == null ? Pointer.to(new long[] {0}) : norm.param(), Pointer.to(new float[] {eps}), ints(epi.ordinal()));
    }

    /** Most rows the tensor-core BF16 kernels take (gemv_bf16_tc32); the CUDA-core kernels stop at 16. */
    public static final int TC_MAX_ROWS = 32;

    /** Whether {@link #bf16} serves {@code batch} rows of K {@code k} (the tensor-core kernels go past 16 rows). */
    public static boolean bf16Serves(int batch, int k) {
        return batch <= 16 || batch <= TC_MAX_ROWS && batch >= TC_FROM && k % 16 == 0;
    }

    public void bf16(DeviceBuffer w, DeviceBuffer x, DeviceBuffer y, int batch, int n, int k) {
        if (batch >= TC_FROM && k % 16 == 0 && batch <= TC_MAX_ROWS && n > 0 && k > 0) {
            if (wgmmaLaunch(w, x, y, batch, n, k) || batch <= 16 && splitKLaunch(w, x, y, batch, n, k, null, 0f, Epilogue.STORE, false)) {
                return;
            }
            gpu.launch(gpu.function(MODULE, batch <= 16 ? "gemv_bf16_tc" : "gemv_bf16_tc32"), (n + 15) / 16, 1, 1, 256, 0, w.param(), x.param(), y.param(),
                    ints(n), ints(k), ints(batch));
            return;
        }
        validate(Format.BF16, batch, n, k);
        gpu.launch(gpu.function(MODULE, "gemv_bf16_b" + bucket(batch)), grid(n, 1), 1, 1, 256, 0, w.param(), x.param(),
                y.param(), ints(n), ints(k), ints(batch));
    }

    public void w8a16(DeviceBuffer w, DeviceBuffer scales, DeviceBuffer x, DeviceBuffer y, int batch, int n, int k) {
        validate(Format.W8A16, batch, n, k);
        gpu.launch(gpu.function(MODULE, "gemv_w8a16_b" + bucket(batch)), grid(n, 2), 1, 1, 256, 0, w.param(),
                scales.param(), x.param(), y.param(), ints(n), ints(k), ints(batch));
    }

    /** @param zeros per-group zero points (asymmetric), or null for symmetric */
    public void w4a16(DeviceBuffer w, DeviceBuffer scales, DeviceBuffer zeros, DeviceBuffer x, DeviceBuffer y, int batch, int n, int k) {
        validate(Format.W4A16, batch, n, k);
        gpu.launch(gpu.function(MODULE, "gemv_w4a16_b" + bucket(batch)), grid(n, 4), 1, 1, 256, 0, w.param(),
                scales.param(), zeros == null ? Pointer.to(new long[] {0}) : zeros.param(), x.param(), y.param(), ints(n), ints(k), ints(batch));
    }

    /** CTAs for N rows at {@code rowsPerWarp} rows per warp (gemv.cu: 1 bf16, 2 w8a16, 4 w4a16), 8 warps per CTA. */
    private static int grid(int n, int rowsPerWarp) {
        int rowsPerCta = WARPS_PER_CTA * rowsPerWarp;
        return (n + rowsPerCta - 1) / rowsPerCta;
    }

    private static Pointer ints(int v) {
        return Pointer.to(new int[] {v});
    }
}
