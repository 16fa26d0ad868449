package org.llmwb.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxCreate;
import static jcuda.driver.JCudaDriver.cuCtxDestroy;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

/**
 * One CUDA context on one device, with the kernels of {@code org.llmwb.kernels} loaded on demand,
 * device memory, copies, launches on the context's stream, event timing and CUDA graphs.
 * Not thread-safe: one thread drives a {@code Gpu}.
 */
public final class Gpu implements AutoCloseable {
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final CudaProbe.Result device;
    private final int ordinal;
    private final CUdevice dev = new CUdevice();
    private final Map<String, DeviceBuffer> scratch = new HashMap<>();

    private Gpu(CudaProbe.Result device, int ordinal) {
        this.device = device;
        this.ordinal = ordinal;
    }

    /** Opens device 0; fails with the probe's reason when there is no usable GPU. */
    public static Gpu open() {
        return open(0);
    }

    /**
     * Opens device {@code ordinal} in a context of its own (a second open of the same device is a second
     * context: its work time-slices with the first's).
     */
    public static Gpu open(int ordinal) {
        CudaProbe.Result p = CudaProbe.probe();
        if (!p.available()) {
            throw new CudaException("no usable GPU: " + p.reason());
        }
        JCudaDriver.setExceptionsEnabled(true);
        int count = deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new CudaException("GPU " + ordinal + " asked for; this machine has " + count);
        }
        Gpu g = new Gpu(p, ordinal);
        cuDeviceGet(g.dev, ordinal);
        cuCtxCreate(g.context, 0, g.dev);
        cuStreamCreate(g.stream, 0);
        return g;
    }

    /** GPUs the driver sees (0 when there is no driver). */
    public static int deviceCount() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            jcuda.driver.JCudaDriver.cuInit(0);
            int[] n = new int[1];
            jcuda.driver.JCudaDriver.cuDeviceGetCount(n);
            return n[0];
        } catch (Throwable t) {
            return 0;
        }
    }

    public int ordinal() {
        return ordinal;
    }

    /**
     * Lets this context read and write {@code other}'s memory directly (NVLink or PCIe peer to peer); returns
     * false when the devices cannot (copies between them then go through host memory).
     */
    public boolean enablePeerAccess(Gpu other) {
        if (other.ordinal == ordinal) {
            return true;
        }
        int[] can = new int[1];
        jcuda.driver.JCudaDriver.cuDeviceCanAccessPeer(can, dev, other.dev);
        if (can[0] == 0) {
            return false;
        }
        bind();
        try {
            jcuda.driver.JCudaDriver.cuCtxEnablePeerAccess(other.context, 0);
        } catch (jcuda.CudaException e) {
            if (!e.getMessage().contains("ALREADY_ENABLED")) {
                throw e;
            }
        }
        return true;
    }

    /** A device array of the buffers' addresses (kernels that walk many buffers, e.g. every layer's KV cache); null gives 0. */
    public DeviceBuffer uploadPointers(String what, DeviceBuffer... buffers) {
        jcuda.driver.CUdeviceptr[] ptrs = new jcuda.driver.CUdeviceptr[buffers.length];
        for (int i = 0; i < ptrs.length; i++) {
            ptrs[i] = buffers[i] == null ? new jcuda.driver.CUdeviceptr() : buffers[i].ptr(); // null: a zero address
        }
        DeviceBuffer b = alloc(what, 8L * ptrs.length);
        cuMemcpyHtoD(b.ptr(), Pointer.to(ptrs), 8L * ptrs.length);
        return b;
    }

    /** Copies {@code bytes} from {@code src} (memory of {@code srcGpu}) to {@code dst} (memory of {@code dstGpu}), device to device; returns when done. */
    public static void copyPeer(DeviceBuffer dst, Gpu dstGpu, DeviceBuffer src, Gpu srcGpu, long bytes) {
        // on the destination's stream, then waited for: a plain cuMemcpyPeer may return before the copy is done
        jcuda.driver.JCudaDriver.cuMemcpyPeerAsync(dst.ptr(), dstGpu.context, src.ptr(), srcGpu.context, bytes, dstGpu.stream);
        cuStreamSynchronize(dstGpu.stream);
    }

    /** The fallback without peer access: device → pinned host → device (two copies over PCIe). */
    public static void copyViaHost(DeviceBuffer dst, Gpu dstGpu, DeviceBuffer src, Gpu srcGpu, long bytes, Pointer pinned) {
        srcGpu.bind();
        cuMemcpyDtoH(pinned, src.ptr(), bytes);
        dstGpu.bind();
        cuMemcpyHtoD(dst.ptr(), pinned, bytes);
    }

    /** Page-locked host memory for {@link #copyViaHost} (free with {@link #freeHost}). */
    public static Pointer allocHost(long bytes) {
        Pointer p = new Pointer();
        jcuda.driver.JCudaDriver.cuMemAllocHost(p, bytes);
        return p;
    }

    public static void freeHost(Pointer p) {
        jcuda.driver.JCudaDriver.cuMemFreeHost(p);
    }

    public CudaProbe.Result device() {
        return device;
    }

    public CUstream stream() {
        return stream;
    }

    /** Makes this context current on the calling thread. */
    public void bind() {
        cuCtxSetCurrent(context);
    }

    /** A kernel from {@code kernels/<area>/<op>.cu}, e.g. {@code function("gemm/gemv", "gemv_bf16_b1")}. */
    public CUfunction function(String module, String name) {
        String key = module + "#" + name;
        CUfunction f = functions.get(key);
        if (f == null) {
            CUmodule m = modules.computeIfAbsent(module, this::load);
            f = new CUfunction();
            try {
                cuModuleGetFunction(f, m, name);
            } catch (jcuda.CudaException e) {
                throw new CudaException("kernel " + name + " not found in " + module + ".fatbin", e);
            }
            functions.put(key, f);
        }
        return f;
    }

    private CUmodule load(String module) {
        String res = "/org/llmwb/kernels/" + module + ".fatbin";
        byte[] image;
        try (InputStream in = Gpu.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new CudaException("kernel module " + res + " is not on the classpath (was org.llmwb.kernels built with nvcc?)");
            }
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new CudaException("cannot read " + res, e);
        }
        CUmodule m = new CUmodule();
        cuModuleLoadData(m, image);
        return m;
    }

    /** Allocates {@code bytes}; a failure says what was asked and what is free. */
    public DeviceBuffer alloc(String what, long bytes) {
        bind(); // memory belongs to the current context: make it this GPU's, whichever thread asks (a second GPU's staging was allocated on the first)
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation of " + bytes + " bytes for " + what);
        }
        long[] free = new long[1];
        long[] total = new long[1];
        cuMemGetInfo(free, total);
        if (bytes > free[0]) {
            throw new GpuOutOfMemoryException(what, bytes, free[0], total[0]);
        }
        CUdeviceptr p = new CUdeviceptr();
        try {
            cuMemAlloc(p, bytes);
        } catch (jcuda.CudaException e) {
            cuMemGetInfo(free, total);
            throw new GpuOutOfMemoryException(what, bytes, free[0], total[0]);
        }
        return new DeviceBuffer(p, bytes);
    }

    /**
     * A zero-filled buffer the kernels of this context share under {@code key} (e.g. a split-K workspace and its
     * counters), allocated on first use and freed with the context. Its address never changes, so CUDA graphs may
     * bake it in: asking later for more than the first size is a programming error.
     */
    public DeviceBuffer scratch(String key, long bytes) {
        DeviceBuffer b = scratch.get(key);
        if (b == null) {
            b = alloc(key, bytes);
            memset(b, (byte) 0);
            scratch.put(key, b);
        } else if (b.bytes() < bytes) {
            throw new IllegalStateException("scratch buffer " + key + " has " + b.bytes() + " bytes, " + bytes + " asked");
        }
        return b;
    }

    public long[] memoryInfo() {
        long[] free = new long[1];
        long[] total = new long[1];
        cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    public DeviceBuffer upload(String what, short[] a) {
        DeviceBuffer b = alloc(what, 2L * a.length);
        cuMemcpyHtoD(b.ptr(), Pointer.to(a), b.bytes());
        return b;
    }

    public DeviceBuffer upload(String what, float[] a) {
        DeviceBuffer b = alloc(what, 4L * a.length);
        cuMemcpyHtoD(b.ptr(), Pointer.to(a), b.bytes());
        return b;
    }

    public DeviceBuffer upload(String what, int[] a) {
        DeviceBuffer b = alloc(what, 4L * a.length);
        cuMemcpyHtoD(b.ptr(), Pointer.to(a), b.bytes());
        return b;
    }

    public DeviceBuffer upload(String what, byte[] a) {
        DeviceBuffer b = alloc(what, a.length);
        cuMemcpyHtoD(b.ptr(), Pointer.to(a), b.bytes());
        return b;
    }

    /** Copies {@code a} into the start of an existing buffer (per-step metadata without a new allocation). */
    public void write(DeviceBuffer b, int[] a) {
        if (4L * a.length > b.bytes()) {
            throw new IllegalArgumentException(a.length + " ints do not fit a buffer of " + b.bytes() + " bytes");
        }
        if (a.length > 0) {
            cuMemcpyHtoD(b.ptr(), Pointer.to(a), 4L * a.length);
        }
    }

    /**
     * Copies {@code rows} rows of {@code width} ints from {@code a} (packed) into {@code b}, whose rows are
     * {@code pitch} ints apart: one 2-D copy that moves only the ints asked for.
     */
    public void writePitched(DeviceBuffer b, int pitch, int[] a, int width, int rows) {
        if (width > pitch || (long) width * rows > a.length || 4L * pitch * (rows - 1) + 4L * width > b.bytes()) {
            throw new IllegalArgumentException(rows + " rows of " + width + " ints at a pitch of " + pitch + " do not fit (" + a.length + " ints, "
                    + b.bytes() + " bytes)");
        }
        if (rows == 0 || width == 0) {
            return;
        }
        jcuda.driver.CUDA_MEMCPY2D c = new jcuda.driver.CUDA_MEMCPY2D();
        c.srcMemoryType = jcuda.driver.CUmemorytype.CU_MEMORYTYPE_HOST;
        c.srcHost = Pointer.to(a);
        c.srcPitch = 4L * width;
        c.dstMemoryType = jcuda.driver.CUmemorytype.CU_MEMORYTYPE_DEVICE;
        c.dstDevice = b.ptr();
        c.dstPitch = 4L * pitch;
        c.WidthInBytes = 4L * width;
        c.Height = rows;
        jcuda.driver.JCudaDriver.cuMemcpy2D(c);
    }

    /** Copies {@code a} (bf16 or fp16 bits) into the start of an existing buffer. */
    public void write(DeviceBuffer b, short[] a) {
        if (2L * a.length > b.bytes()) {
            throw new IllegalArgumentException(a.length + " 16-bit values do not fit a buffer of " + b.bytes() + " bytes");
        }
        if (a.length > 0) {
            cuMemcpyHtoD(b.ptr(), Pointer.to(a), 2L * a.length);
        }
    }

    /** Copies {@code n} bf16 values from {@code offset} elements into the buffer (one row of logits, say). */
    public short[] downloadShorts(DeviceBuffer b, long offset, int n) {
        short[] a = new short[n];
        cuStreamSynchronize(stream);
        cuMemcpyDtoH(Pointer.to(a), b.at(2L * offset), 2L * n);
        return a;
    }

    public short[] downloadShorts(DeviceBuffer b, int n) {
        short[] a = new short[n];
        cuStreamSynchronize(stream);
        cuMemcpyDtoH(Pointer.to(a), b.ptr(), 2L * n);
        return a;
    }

    public float[] downloadFloats(DeviceBuffer b, int n) {
        float[] a = new float[n];
        cuStreamSynchronize(stream);
        cuMemcpyDtoH(Pointer.to(a), b.ptr(), 4L * n);
        return a;
    }

    public int[] downloadInts(DeviceBuffer b, int n) {
        int[] a = new int[n];
        cuStreamSynchronize(stream);
        cuMemcpyDtoH(Pointer.to(a), b.ptr(), 4L * n);
        return a;
    }

    public byte[] downloadBytes(DeviceBuffer b, int n) {
        byte[] a = new byte[n];
        cuStreamSynchronize(stream);
        cuMemcpyDtoH(Pointer.to(a), b.ptr(), n);
        return a;
    }

    public void memset(DeviceBuffer b, byte value) {
        cuMemsetD8(b.ptr(), value, b.bytes());
    }

    public void copy(DeviceBuffer dst, DeviceBuffer src, long bytes) {
        cuMemcpyDtoD(dst.ptr(), src.ptr(), bytes);
    }

    /** Launches on this context's stream; {@code args} are the kernel parameters (Pointer.to(...) each). */
    public void launch(CUfunction f, int gx, int gy, int gz, int block, int sharedBytes, Pointer... args) {
        try {
            cuLaunchKernel(f, gx, gy, gz, block, 1, 1, sharedBytes, stream, Pointer.to(args), null);
        } catch (jcuda.CudaException e) {
            throw new CudaException("launch failed (grid " + gx + "×" + gy + "×" + gz + ", block " + block + "): " + e.getMessage(), e);
        }
    }

    /**
     * Launches {@code f} cooperatively (every CTA resident at once, so the kernel may synchronise the whole grid);
     * fails when the grid does not fit on the device at once.
     */
    public void launchCooperative(CUfunction f, int gx, int block, int sharedBytes, Pointer... args) {
        try {
            jcuda.driver.JCudaDriver.cuLaunchCooperativeKernel(f, gx, 1, 1, block, 1, 1, sharedBytes, stream, Pointer.to(args));
        } catch (jcuda.CudaException e) {
            throw new CudaException("cooperative launch failed (grid " + gx + ", block " + block + ", " + sharedBytes + " bytes of shared memory): " + e.getMessage(), e);
        }
    }

    /** How many CTAs of {@code f} fit on one SM at once with this block size and dynamic shared memory. */
    public int residentBlocks(CUfunction f, int block, int sharedBytes) {
        int[] n = new int[1];
        jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, block, sharedBytes);
        return n[0];
    }

    /** A device attribute ({@code CUdevice_attribute}), e.g. the shared memory a block may opt in to. */
    public int attribute(int cuDeviceAttribute) {
        int[] v = new int[1];
        jcuda.driver.JCudaDriver.cuDeviceGetAttribute(v, cuDeviceAttribute, dev);
        return v[0];
    }

    /** Lets {@code f} take more than 48 KB of dynamic shared memory (Hopper: up to 227 KB per block). */
    public void allowDynamicShared(CUfunction f, int bytes) {
        try {
            jcuda.driver.JCudaDriver.cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
        } catch (jcuda.CudaException e) {
            throw new CudaException("cannot give a kernel " + bytes + " bytes of shared memory: " + e.getMessage(), e);
        }
    }

    public void sync() {
        try {
            cuCtxSynchronize();
        } catch (jcuda.CudaException e) {
            throw new CudaException("kernel failed: " + e.getMessage(), e);
        }
    }

    /**
     * Times {@code body} with CUDA events: {@code warmup} untimed calls, then {@code runs} timed ones
     * (each its own event pair, so the median is of single runs). The body gets the run index so it
     * can rotate through input copies larger than L2 together.
     *
     * @return per-run milliseconds, sorted
     */
    public float[] time(int warmup, int runs, IntConsumer body) {
        for (int i = 0; i < warmup; i++) {
            body.accept(i);
        }
        CUevent[] ev = new CUevent[runs + 1];
        for (int i = 0; i <= runs; i++) {
            ev[i] = new CUevent();
            cuEventCreate(ev[i], 0);
        }
        cuEventRecord(ev[0], stream);
        for (int i = 0; i < runs; i++) {
            body.accept(warmup + i);
            cuEventRecord(ev[i + 1], stream);
        }
        cuEventSynchronize(ev[runs]);
        float[] ms = new float[runs];
        float[] t = new float[1];
        for (int i = 0; i < runs; i++) {
            cuEventElapsedTime(t, ev[i], ev[i + 1]);
            ms[i] = t[0];
        }
        for (CUevent e : ev) {
            cuEventDestroy(e);
        }
        Arrays.sort(ms);
        return ms;
    }

    /** A captured sequence of launches, replayed with one call (what decode steps need: ~7 µs per JCuda launch otherwise). */
    public final class Graph implements AutoCloseable {
        private final CUgraph graph = new CUgraph();
        private final CUgraphExec exec = new CUgraphExec();

        private Graph(Runnable launches) {
            cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
            try {
                launches.run();
            } finally {
                cuStreamEndCapture(stream, graph);
            }
            cuGraphInstantiate(exec, graph, 0);
        }

        public void replay() {
            cuGraphLaunch(exec, stream);
        }

        @Override
        public void close() {
            cuGraphExecDestroy(exec);
            cuGraphDestroy(graph);
        }
    }

    /** Captures the launches {@code launches} makes on this context's stream into a graph. */
    public Graph capture(Runnable launches) {
        return new Graph(launches);
    }

    @Override
    public void close() {
        try {
            cuCtxSynchronize();
        } catch (RuntimeException e) {
            // closing after a failed kernel: free what we can
        }
        scratch.values().forEach(DeviceBuffer::close);
        scratch.clear();
        List<CUmodule> ms = new ArrayList<>(modules.values());
        for (CUmodule m : ms) {
            cuModuleUnload(m);
        }
        cuStreamDestroy(stream);
        cuCtxDestroy(context);
    }
}
