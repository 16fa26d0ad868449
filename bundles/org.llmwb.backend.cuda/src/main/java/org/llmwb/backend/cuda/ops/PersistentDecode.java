package org.llmwb.backend.cuda.ops;

import java.util.ArrayList;
import java.util.List;

import jcuda.Pointer;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;

import org.llmwb.backend.cuda.CudaProbe;
import org.llmwb.backend.cuda.DeviceBuffer;
import org.llmwb.backend.cuda.Gpu;

/**
 * Launcher of kernels/layers/decode_persistent.cu: a whole batch-1 decode step of a Llama-family model (embedding,
 * every layer, final norm, LM head) in one cooperative launch of one CTA per SM, whose producer thread streams the
 * weights through a shared-memory ring while the consumers compute (see the kernel's header for why). One instance
 * is bound to one set of buffers: the runner makes a new one when it reallocates any of them.
 */
public final class PersistentDecode implements AutoCloseable {
    public static final String MODULE = "layers/decode_persistent";
    static final int CONSUMER_WARPS = 15;
    static final int THREADS = 32 * CONSUMER_WARPS + 32;
    static final int STAGE_BYTES = 8192;
    static final int MAX_STAGES = 32;
    /** Shared memory the kernel declares statically (parameters, mbarriers, a reduction), rounded up. */
    static final int STATIC_SHARED = 1024;

    /** The model's shape as the kernel needs it. */
    public record Shape(int layers, int hidden, int heads, int kvHeads, int headDim, int inter, int vocabPadded, float eps, int blockSize) {
        int qkvRows() {
            return (heads + 2 * kvHeads) * headDim;
        }
    }

    /**
     * The tensors: per layer, in order, Q/K/V weight [(hq + 2·hkv)·d, h], O [h, hq·d], gate/up [2·I, h], down [h, I],
     * attention norm, MLP norm, K cache, V cache; then the model's and the step's buffers (BF16 activations, int32
     * metadata of one sequence).
     */
    public record Tensors(DeviceBuffer[][] layers, DeviceBuffer embed, DeviceBuffer lmHead, DeviceBuffer finalNorm, DeviceBuffer x, DeviceBuffer qkv,
            DeviceBuffer attn, DeviceBuffer act, DeviceBuffer logits, DeviceBuffer ids, DeviceBuffer positions, DeviceBuffer slots, DeviceBuffer table,
            DeviceBuffer lens, DeviceBuffer invFreq) {
    }

    /**
     * Shared memory per CTA: the phase input (BF16, two per float) or attention's FP32 scratch (q, k, v and each
     * warp's partial result), the per-warp row sums and the CTA's residual rows ({@code fixed} bytes), and the ring's
     * 8 KB stages in what is left (at most {@link #MAX_STAGES}).
     */
    record Layout(int xsFloats, int accRows, int fixed, int stages) {
        static Layout of(Shape s, int grid, int optinShared) {
            int xs = Math.max(Math.max(s.hidden(), Math.max(s.heads() * s.headDim(), s.inter())) / 2, 3 * s.headDim() + CONSUMER_WARPS * (s.headDim() + 2));
            xs = (xs + 3) / 4 * 4;
            int acc = Math.max(Math.max(ceil(s.qkvRows(), grid), ceil(s.hidden(), grid)), Math.max(2 * ceil(s.inter(), grid), ceil(s.vocabPadded(), grid)));
            int fixed = 4 * xs + 4 * (CONSUMER_WARPS + 1) * acc;
            return new Layout(xs, acc, fixed, Math.min(MAX_STAGES, Math.max(0, optinShared - STATIC_SHARED - fixed) / STAGE_BYTES));
        }

        int sharedBytes() {
            return stages * STAGE_BYTES + fixed;
        }
    }

    /** Why the kernel cannot serve this model on this GPU, or null when it can. */
    public static String unsupported(Gpu gpu, Shape s) {
        String why = unsupported(gpu.device(), s);
        if (why != null) {
            return why;
        }
        int optin = gpu.attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        Layout l = Layout.of(s, gpu.device().multiprocessors(), optin);
        if (l.stages() <= CONSUMER_WARPS) {
            // a consumer warp waits for piece i + 15 right after piece i: the stage it waits on must not be one whose
            // previous piece may still be in flight (a parity wait one phase behind would pass at once)
            return "the persistent decode kernel's ring needs more than " + CONSUMER_WARPS + " stages of " + STAGE_BYTES / 1024 + " KB, but this model's widths take "
                    + l.fixed() + " of the " + optin + " bytes of shared memory per block, leaving " + l.stages();
        }
        return null;
    }

    /** Why the kernel cannot serve this model on this device (shape rules alone), or null when it can. */
    static String unsupported(CudaProbe.Result dev, Shape s) {
        if (!dev.hasWgmma()) {
            return "the persistent decode kernel is built for compute capability 9.0 (bulk copies and mbarriers); this GPU is " + dev.computeMajor() + "."
                    + dev.computeMinor();
        }
        if (s.hidden() % 256 != 0 || (s.heads() * s.headDim()) % 256 != 0 || s.inter() % 256 != 0) {
            return "hidden (" + s.hidden() + "), query width (" + s.heads() * s.headDim() + ") and intermediate (" + s.inter()
                    + ") sizes must be multiples of 256 for the persistent decode kernel";
        }
        if (s.hidden() > 8 * 4 * 32 * CONSUMER_WARPS) {
            return "hidden size " + s.hidden() + " is above the persistent decode kernel's " + 8 * 4 * 32 * CONSUMER_WARPS + " (its norm holds the input in registers)";
        }
        if ((s.headDim() != 64 && s.headDim() != 128) || s.heads() % s.kvHeads() != 0) {
            return "the persistent decode kernel needs head dim 64 or 128 and query heads a multiple of KV heads";
        }
        if (Integer.bitCount(s.blockSize()) != 1) {
            return "KV block size " + s.blockSize() + " is not a power of two";
        }
        return null;
    }

    private final Gpu gpu;
    private final CUfunction f;
    private final int grid;
    private final int stages;
    private final int shared;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private final DeviceBuffer addrs;
    private final DeviceBuffer profiledAddrs;
    private final DeviceBuffer profile;
    private final DeviceBuffer ints;
    private final int[] sizes;
    /**
     * 8 KB pieces the kernel's L2 prefetcher runs ahead of the ring's producer (system property
     * {@code llmwb.decode.prefetchPieces}; 0 turns it off).
     */
    static final int DEFAULT_PREFETCH = Integer.getInteger("llmwb.decode.prefetchPieces", 12);

    public PersistentDecode(Gpu gpu, Shape s, Tensors t) {
        String why = unsupported(gpu, s);
        if (why != null) {
            throw new IllegalArgumentException(why);
        }
        if (t.layers().length != s.layers() || java.util.Arrays.stream(t.layers()).anyMatch(l -> l.length != 8)) {
            throw new IllegalArgumentException("persistent decode: 8 tensors per layer for " + s.layers() + " layers");
        }
        this.gpu = gpu;
        f = gpu.function(MODULE, "decode_persistent_bf16");
        grid = gpu.device().multiprocessors();
        Layout layout = Layout.of(s, grid, gpu.attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN));
        int xsFloats = layout.xsFloats();
        int accRows = layout.accRows();
        stages = layout.stages();
        shared = layout.sharedBytes();
        gpu.allowDynamicShared(f, shared);
        if (gpu.residentBlocks(f, THREADS, shared) < 1) {
            throw new IllegalArgumentException("persistent decode: a CTA with " + shared + " bytes of shared memory does not fit on an SM");
        }
        int maxParts = Math.max(1, grid / s.heads());
        DeviceBuffer[] perLayer = new DeviceBuffer[8 * s.layers()];
        for (int l = 0; l < s.layers(); l++) {
            System.arraycopy(t.layers()[l], 0, perLayer, 8 * l, 8);
        }
        DeviceBuffer layerTable = own(gpu.uploadPointers("persistent decode: layer tensors", perLayer));
        DeviceBuffer ws = own(gpu.alloc("persistent decode: attention partials", 4L * s.heads() * maxParts * (s.headDim() + 2)));
        DeviceBuffer counters = own(gpu.alloc("persistent decode: attention counters", 4L * s.heads()));
        DeviceBuffer barrier = own(gpu.alloc("persistent decode: grid barrier", 8));
        gpu.memset(counters, (byte) 0);
        gpu.memset(barrier, (byte) 0);
        profile = own(gpu.alloc("persistent decode: profile counters", 8L * PROFILE_COUNTERS * grid));
        DeviceBuffer[] a = {layerTable, t.embed(), t.lmHead(), t.finalNorm(), t.x(), t.qkv(), t.attn(), t.act(), t.logits(), t.ids(), t.positions(), t.slots(),
                t.table(), t.lens(), t.invFreq(), ws, counters, barrier, null};
        addrs = own(gpu.uploadPointers("persistent decode: addresses", a));
        a[a.length - 1] = profile;
        profiledAddrs = own(gpu.uploadPointers("persistent decode: addresses (profiled)", a));
        int[] v = {s.layers(), s.vocabPadded(), s.hidden(), s.heads(), s.kvHeads(), s.headDim(), s.inter(), Integer.numberOfTrailingZeros(s.blockSize()),
                Float.floatToRawIntBits(s.eps()), Float.floatToRawIntBits((float) (1 / Math.sqrt(s.headDim()))), stages, accRows, xsFloats, maxParts,
                DEFAULT_PREFETCH, initialFlags()};
        sizes = v;
        ints = own(gpu.upload("persistent decode: sizes", v));
    }

    /**
     * The kernel's A/B switch as a new instance starts with it: system property {@code llmwb.decode.kvPrefetch}
     * (default true), read when the instance is made.
     */
    private static int initialFlags() {
        return Boolean.parseBoolean(System.getProperty("llmwb.decode.kvPrefetch", "true")) ? 0 : FLAG_NO_KV_PREFETCH;
    }

    private static int ceil(int n, int d) {
        return (n + d - 1) / d;
    }

    private DeviceBuffer own(DeviceBuffer b) {
        owned.add(b);
        return b;
    }

    /** One decode step on the stream, reading the token, position, slot, block table and length already on the GPU. */
    public void launch() {
        gpu.launchCooperative(f, grid, THREADS, shared, addrs.param(), ints.param());
    }

    /** Cycle counters per CTA of a profiled launch, in the kernel's PROF_* order. */
    public static final String[] PROFILE_NAMES = {"consumer wait for weights", "consumer dot products", "grid barriers", "attention", "phase inputs",
            "epilogues", "producer wait for free stages", "whole kernel"};
    static final int PROFILE_COUNTERS = 8;

    /**
     * One launch with the kernel's clock64 counters on (a branch per piece and phase when off): per CTA, cycles
     * spent in each of {@link #PROFILE_NAMES}. Synchronises.
     */
    public long[][] profile() {
        gpu.launchCooperative(f, grid, THREADS, shared, profiledAddrs.param(), ints.param());
        gpu.sync();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(gpu.downloadBytes(profile, 8 * PROFILE_COUNTERS * grid)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long[][] out = new long[grid][PROFILE_COUNTERS];
        for (int c = 0; c < grid; c++) {
            for (int i = 0; i < PROFILE_COUNTERS; i++) {
                out[c][i] = b.getLong();
            }
        }
        return out;
    }

    /** Sets how many pieces the L2 prefetcher runs ahead of the producer (0: off); for the benchmark's sweep. */
    public void prefetch(int pieces) {
        if (pieces < 0) {
            throw new IllegalArgumentException("prefetch distance " + pieces);
        }
        sizes[INT_PREFETCH] = pieces;
        gpu.write(ints, sizes);
    }

    /** Positions of Params.prefetch and Params.flags among the kernel's four-byte fields. */
    private static final int INT_PREFETCH = 14;
    private static final int INT_FLAGS = 15;

    /** The kernel's Params.flags bit that turns the L2 prefetch of the cached K/V (a phase ahead of attention) off. */
    static final int FLAG_NO_KV_PREFETCH = 1;

    /** Prefetches the cached K/V into L2 a phase before attention reads it (the default), or not; for the benchmark's A/B. */
    public void kvPrefetch(boolean on) {
        sizes[INT_FLAGS] = on ? sizes[INT_FLAGS] & ~FLAG_NO_KV_PREFETCH : sizes[INT_FLAGS] | FLAG_NO_KV_PREFETCH;
        gpu.write(ints, sizes);
    }

    /** Shared-memory ring stages of 8 KB per CTA. */
    public int stages() {
        return stages;
    }

    public int ctas() {
        return grid;
    }

    @Override
    public void close() {
        owned.forEach(DeviceBuffer::close);
        owned.clear();
    }
}
