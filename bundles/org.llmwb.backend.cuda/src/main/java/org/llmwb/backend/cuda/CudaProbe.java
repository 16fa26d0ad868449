package org.llmwb.backend.cuda;

import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;

/**
 * Finds out, once, whether a CUDA GPU can be used. Never throws and never crashes the JVM: without
 * a driver, loading JCuda's native library fails with an {@link UnsatisfiedLinkError}, which is
 * caught and reported as "no GPU" with the reason.
 */
public final class CudaProbe {
    /** What was found; {@code available == false} carries the reason. */
    public record Result(boolean available, String reason, String name, int computeMajor, int computeMinor, int multiprocessors,
            long memoryBytes, int driverVersion) {
        /** The device as env.json records it (kind "cuda", or "none" with the reason). */
        public java.util.Map<String, Object> describe() {
            java.util.Map<String, Object> d = new java.util.LinkedHashMap<>();
            if (!available) {
                d.put("kind", "none");
                d.put("reason", reason);
                return d;
            }
            d.put("kind", "cuda");
            d.put("name", name);
            d.put("computeCapability", computeMajor + "." + computeMinor);
            d.put("multiprocessors", multiprocessors);
            d.put("memoryBytes", memoryBytes);
            d.put("driverVersion", driverVersion);
            return d;
        }

        /** Hopper (compute capability 9.0): the fatbins carry sm_90a code with wgmma for it. */
        public boolean hasWgmma() {
            return available && computeMajor == 9 && computeMinor == 0;
        }

        @Override
        public String toString() {
            return available ? name + " (sm_" + computeMajor + computeMinor + ", " + multiprocessors + " SMs, "
                    + memoryBytes / (1L << 20) + " MiB, driver " + driverVersion + ")" : "no GPU: " + reason;
        }
    }

    private static volatile Result cached;

    private CudaProbe() {
    }

    public static Result probe() {
        Result r = cached;
        if (r == null) {
            synchronized (CudaProbe.class) {
                if (cached == null) {
                    cached = doProbe();
                }
                r = cached;
            }
        }
        return r;
    }

    private static Result doProbe() {
        try {
            int rc = cuInit(0);
            if (rc != 0) {
                return none("cuInit failed: " + jcuda.driver.CUresult.stringFor(rc));
            }
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (count[0] == 0) {
                return none("the CUDA driver sees no device");
            }
            CUdevice dev = new CUdevice();
            cuDeviceGet(dev, 0);
            byte[] name = new byte[256];
            cuDeviceGetName(name, name.length, dev);
            int[] major = new int[1];
            int[] minor = new int[1];
            int[] sms = new int[1];
            cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
            cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
            cuDeviceGetAttribute(sms, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
            long[] mem = new long[1];
            cuDeviceTotalMem(mem, dev);
            int[] drv = new int[1];
            cuDriverGetVersion(drv);
            String n = new String(name, java.nio.charset.StandardCharsets.US_ASCII).trim().replace("\0", "");
            return new Result(true, null, n, major[0], minor[0], sms[0], mem[0], drv[0]);
        } catch (Throwable t) { // UnsatisfiedLinkError without libcuda, NoClassDefFoundError after it
            return none(summarize(t));
        }
    }

    /** One line: JCuda's load errors carry pages of nested stack traces. */
    static String summarize(Throwable t) {
        String m = String.valueOf(t.getMessage());
        if (m.contains("libcuda.so")) {
            return "the NVIDIA driver library libcuda.so.1 is not installed (no GPU driver on this machine)";
        }
        if (t instanceof NoClassDefFoundError) {
            return "JCuda failed to initialise earlier in this process";
        }
        return t.getClass().getSimpleName() + ": " + m.lines().findFirst().orElse("");
    }

    private static Result none(String reason) {
        return new Result(false, reason, null, 0, 0, 0, 0, 0);
    }
}
