package org.llmwb.backend.cuda;

import static jcuda.driver.JCudaDriver.cuMemFree;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/** Device memory of a known size, freed by {@link #close()}. */
public final class DeviceBuffer implements AutoCloseable {
    private final CUdeviceptr ptr;
    private final long bytes;
    private final boolean owner;
    private boolean freed;

    DeviceBuffer(CUdeviceptr ptr, long bytes) {
        this(ptr, bytes, true);
    }

    private DeviceBuffer(CUdeviceptr ptr, long bytes, boolean owner) {
        this.ptr = ptr;
        this.bytes = bytes;
        this.owner = owner;
    }

    /** A window of this buffer (closing it frees nothing; it must not outlive this buffer). */
    public DeviceBuffer view(long offsetBytes, long viewBytes) {
        if (offsetBytes < 0 || viewBytes < 0 || offsetBytes + viewBytes > bytes) {
            throw new IndexOutOfBoundsException("view " + offsetBytes + "+" + viewBytes + " outside 0.." + bytes);
        }
        return new DeviceBuffer(at(offsetBytes), viewBytes, false);
    }

    public CUdeviceptr ptr() {
        if (freed) {
            throw new IllegalStateException("buffer already freed");
        }
        return ptr;
    }

    /** A device pointer {@code offsetBytes} into this buffer. */
    public CUdeviceptr at(long offsetBytes) {
        if (offsetBytes < 0 || offsetBytes > bytes) {
            throw new IndexOutOfBoundsException(offsetBytes + " outside 0.." + bytes);
        }
        return ptr().withByteOffset(offsetBytes);
    }

    public long bytes() {
        return bytes;
    }

    /** The kernel-parameter form of this pointer. */
    public Pointer param() {
        return Pointer.to(ptr());
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            if (owner) {
                cuMemFree(ptr);
            }
        }
    }
}
