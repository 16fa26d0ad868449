package org.llmwb.backend.cuda;

/** An allocation did not fit: says what was asked and what was free. */
public class GpuOutOfMemoryException extends CudaException {
    private static final long serialVersionUID = 1L;
    private final long requested;
    private final long free;
    private final long total;

    public GpuOutOfMemoryException(String what, long requested, long free, long total) {
        super(String.format(java.util.Locale.ROOT, "GPU out of memory allocating %s: asked for %.2f MiB, %.2f MiB free of %.2f MiB",
                what, requested / 1048576.0, free / 1048576.0, total / 1048576.0));
        this.requested = requested;
        this.free = free;
        this.total = total;
    }

    public long requested() {
        return requested;
    }

    public long free() {
        return free;
    }

    public long total() {
        return total;
    }
}
