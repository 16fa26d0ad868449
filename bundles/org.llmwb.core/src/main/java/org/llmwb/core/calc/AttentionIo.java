package org.llmwb.core.calc;

import org.llmwb.core.InputException;

/**
 * FLOPs, HBM bytes and extra memory of one attention layer's prefill over {@code N} tokens, done the standard way
 * (materialize the score matrix) or the FlashAttention way (tiles in on-chip memory, online softmax), per
 * sequence and query head, with {@code d} the head dimension and {@code e} bytes per element:
 *
 * <pre>
 * naive  S = QKᵀ written to HBM, read back for softmax, P written, read back for PV:
 *        bytes  = (4·N·d + 4·N²) · e            (Q, K, V read, O written; S and P each written once and read once)
 *        FLOPs  = 4·N²·d                        (the full N×N products; a causal mask is applied after computing them)
 *        extra  = N² · e                        (the score matrix that must exist at once, per head)
 * flash  Q read once, O written once; each query tile of Br rows streams every K/V tile through on-chip memory:
 *        bytes  = (2·N·d + 2·N·d) · e           when the head's K and V (2·N·d·e) fit in the L2 cache (re-reads hit it)
 *               = (2·N·d + ⌈N/Br⌉·2·N·d) · e    otherwise (each query tile re-reads K and V from HBM)
 *        FLOPs  = 4·N²·d, halved when causal     (tiles above the diagonal are skipped)
 *        extra  = N · 4 bytes                   (the log-sum-exp per row, kept for the backward pass)
 * </pre>
 *
 * Both run the same softmax arithmetic; what differs is whether the N² intermediates travel through HBM. The model
 * leaves out the softmax's exponentials (on the special-function units) and, for the naive kernel, the extra passes
 * a framework adds for masking or dropout, so it is a lower bound on the naive kernel's traffic.
 */
public final class AttentionIo {
    /** The query-tile height FlashAttention-2 uses for head dims up to 128. */
    public static final int BLOCK_ROWS = 128;

    public record Cost(String algorithm, long tokens, int headDim, double flops, double bytes, double extraBytes, boolean kvInL2) {
        public double intensity() {
            return flops / bytes;
        }
    }

    private AttentionIo() {
    }

    /**
     * @param l2Bytes the GPU's L2 cache (K/V re-reads of a head that fits are served from it)
     */
    public static Cost cost(String algorithm, long n, int d, double e, boolean causal, double l2Bytes) {
        if (n < 1 || d < 1 || !(e > 0)) {
            throw new InputException("attention needs a context >= 1, a head dim >= 1 and a positive element size");
        }
        double nn = (double) n * n;
        double nd = (double) n * d;
        return switch (algorithm) {
            case "naive" -> new Cost("naive", n, d, 4 * nn * d, (4 * nd + 4 * nn) * e, nn * e, false);
            case "flash" -> {
                boolean fits = 2 * nd * e <= l2Bytes;
                double kvPasses = fits ? 1 : Math.ceil((double) n / BLOCK_ROWS);
                yield new Cost("flash", n, d, (causal ? 2 : 4) * nn * d, (2 * nd + kvPasses * 2 * nd) * e, n * 4.0, fits);
            }
            default -> throw new InputException("attention algorithm is naive or flash, not '" + algorithm + "'");
        };
    }
}
