package org.llmwb.core.calc;

import java.util.List;

import org.llmwb.core.InputException;

/**
 * Collective communication time in the α-β (latency-bandwidth) model: a collective of {@code n} GPUs on an
 * {@code M}-byte buffer takes {@code steps × α + bytes × 1/β}, where {@code steps} are its sequential communication
 * rounds, {@code bytes} what the busiest GPU sends (or reads) over its link, α the start-up latency of a round and β
 * the link's bandwidth in one direction. The step and byte counts per algorithm are the standard ones (Thakur,
 * Rabenseifner and Gropp, "Optimization of Collective Communication Operations in MPICH", 2005; NCCL's ring and
 * tree; TensorRT-LLM's one-shot and two-shot all-reduce that read peers' buffers directly over NVLink):
 *
 * <pre>
 * all-reduce      ring      2(n−1) steps   2(n−1)/n · M     (reduce-scatter + all-gather around the ring)
 *                 tree      2⌈log₂n⌉       2⌈log₂n⌉ · M     (binomial reduce to a root, then broadcast)
 *                 two-shot  2              2(n−1)/n · M     (each GPU reduces its 1/n reading all peers, then all read the results)
 *                 one-shot  1              (n−1) · M        (each GPU reads every peer's whole buffer and reduces locally)
 * all-gather,     ring      n−1            (n−1)/n · M      (M = the gathered, i.e. full, buffer)
 * reduce-scatter  tree      ⌈log₂n⌉        (n−1)/n · M      (recursive doubling / halving)
 *                 one-shot  1              (n−1)/n · M      (direct peer reads)
 * all-to-all      ring      n−1            (n−1)/n · M      (pairwise exchange)
 *                 one-shot  1              (n−1)/n · M      (direct)
 * broadcast       ring      n−1            M                (pipelined in chunks: latency grows with n, bytes do not)
 *                 tree      ⌈log₂n⌉        ⌈log₂n⌉ · M
 *                 one-shot  1              (n−1) · M        (the root writes to every peer)
 * </pre>
 *
 * The model ignores the reduction's arithmetic, congestion, and the pipelining that lets NCCL's tree approach
 * bandwidth-optimal at large sizes; it is what the planner uses, and the collectives lab measures against.
 */
public final class Collectives {
    public static final List<String> OPS = List.of("all-reduce", "all-gather", "reduce-scatter", "all-to-all", "broadcast");
    public static final List<String> ALGORITHMS = List.of("ring", "tree", "two-shot", "one-shot");

    /** Steps, bytes over the busiest GPU's link, and the time in seconds. */
    public record Cost(String op, String algorithm, int gpus, double messageBytes, int steps, double linkBytes, double alpha, double bandwidth,
            double seconds) {
        /** Bytes per second of the buffer (M / time): NCCL's "algorithm bandwidth". */
        public double algBandwidth() {
            return messageBytes / seconds;
        }

        /** The share of the time spent on start-up latency (α terms). */
        public double latencyShare() {
            return steps * alpha / seconds;
        }
    }

    private Collectives() {
    }

    /**
     * @param alpha start-up latency of one step, seconds
     * @param bandwidth link bandwidth per direction, bytes/s
     */
    public static Cost cost(String op, String algorithm, int n, double messageBytes, double alpha, double bandwidth) {
        if (n < 2) {
            throw new InputException("a collective needs at least 2 GPUs, not " + n);
        }
        if (!(messageBytes > 0) || !(alpha >= 0) || !(bandwidth > 0)) {
            throw new InputException("message size and bandwidth must be > 0 and α >= 0");
        }
        int log = 32 - Integer.numberOfLeadingZeros(n - 1); // ⌈log₂ n⌉
        double frac = (double) (n - 1) / n;
        int steps;
        double bytes;
        switch (op + "/" + algorithm) {
            case "all-reduce/ring" -> {
                steps = 2 * (n - 1);
                bytes = 2 * frac * messageBytes;
            }
            case "all-reduce/tree" -> {
                steps = 2 * log;
                bytes = 2.0 * log * messageBytes;
            }
            case "all-reduce/two-shot" -> {
                steps = 2;
                bytes = 2 * frac * messageBytes;
            }
            case "all-reduce/one-shot" -> {
                steps = 1;
                bytes = (n - 1) * messageBytes;
            }
            case "all-gather/ring", "reduce-scatter/ring", "all-to-all/ring" -> {
                steps = n - 1;
                bytes = frac * messageBytes;
            }
            case "all-gather/tree", "reduce-scatter/tree" -> {
                steps = log;
                bytes = frac * messageBytes;
            }
            case "all-gather/one-shot", "reduce-scatter/one-shot", "all-to-all/one-shot" -> {
                steps = 1;
                bytes = frac * messageBytes;
            }
            case "broadcast/ring" -> {
                steps = n - 1;
                bytes = messageBytes;
            }
            case "broadcast/tree" -> {
                steps = log;
                bytes = (double) log * messageBytes;
            }
            case "broadcast/one-shot" -> {
                steps = 1;
                bytes = (n - 1) * messageBytes;
            }
            default -> throw new InputException(OPS.contains(op) && ALGORITHMS.contains(algorithm)
                    ? algorithm + " is not an algorithm for " + op + " (two-shot is an all-reduce; all-to-all has ring and one-shot)"
                    : "collective is one of " + OPS + " and algorithm one of " + ALGORITHMS + ", not " + op + " / " + algorithm);
        }
        return new Cost(op, algorithm, n, messageBytes, steps, bytes, alpha, bandwidth, steps * alpha + bytes / bandwidth);
    }
}
