package org.llmwb.core.calc;

import static org.llmwb.core.Formula.num;

import java.util.List;

import org.llmwb.core.Formula;
import org.llmwb.core.InputException;

/**
 * The roofline model: attainable = min(peak, AI × bandwidth), ridge = peak ÷ bandwidth, where the
 * arithmetic intensity AI = FLOPs ÷ bytes moved. {@link Op} gives FLOPs and bytes for the
 * kernels of inference, with the counting convention in each factory's formula.
 */
public final class Roofline {
    private Roofline() {
    }

    /** A piece of work: its FLOPs, the bytes it must move to and from memory, and how both were counted. */
    public record Op(String name, double flops, double bytes, String flopFormula, String byteFormula) {
        public double intensity() {
            return flops / bytes;
        }

        /** C[M×N] = A[M×K] · B[K×N]: 2MNK FLOPs; A, B read and C written once. */
        public static Op gemm(long m, long n, long k, double bytesPerElement) {
            requirePositive(m, n, k);
            return new Op("gemm " + m + "x" + n + "x" + k, 2.0 * m * n * k, (m * k + k * n + m * n) * bytesPerElement,
                    "2·M·N·K", "(M·K + K·N + M·N) × bytes");
        }

        /** y[B×N] = x[B×K] · Wᵀ: the decode linear layer; the weight dominates the bytes at small B. */
        public static Op gemv(long batch, long in, long out, double weightBytesPerElement, double actBytesPerElement) {
            requirePositive(batch, in, out);
            return new Op("gemv b" + batch + " " + in + "→" + out, 2.0 * batch * in * out,
                    in * out * weightBytesPerElement + (batch * in + batch * out) * actBytesPerElement, "2·B·K·N",
                    "K·N × weightBytes + (B·K + B·N) × actBytes");
        }

        /** Prefill attention over S tokens: QKᵀ and PV each 2·S²·heads·headDim FLOPs, halved when causal. */
        public static Op attentionPrefill(long batch, long seq, int heads, int kvHeads, int headDim, boolean causal, double bytes) {
            requirePositive(batch, seq, heads);
            double flops = 4.0 * batch * seq * seq * heads * headDim * (causal ? 0.5 : 1);
            double moved = batch * seq * (2.0 * heads * headDim + 2.0 * kvHeads * headDim) * bytes;
            return new Op("attention prefill b" + batch + " s" + seq, flops, moved, "4·B·S²·heads·headDim" + (causal ? " × ½ (causal)" : ""),
                    "B·S·(2·heads + 2·kvHeads)·headDim × bytes (Q, O, K, V once; no S×S matrix)");
        }

        /** Decode attention: one query per sequence against a context of C cached tokens. */
        public static Op attentionDecode(long batch, long context, int heads, int kvHeads, int headDim, double kvBytes, double actBytes) {
            requirePositive(batch, context, heads);
            double flops = 4.0 * batch * context * heads * headDim;
            double moved = batch * context * 2.0 * kvHeads * headDim * kvBytes + batch * 2.0 * heads * headDim * actBytes;
            return new Op("attention decode b" + batch + " ctx" + context, flops, moved, "4·B·C·heads·headDim",
                    "B·C·2·kvHeads·headDim × kvBytes + B·2·heads·headDim × actBytes");
        }

        private static void requirePositive(long... v) {
            for (long x : v) {
                if (x <= 0) {
                    throw new InputException("shape dimensions must be > 0");
                }
            }
        }
    }

    public static double ridge(double peakFlops, double bandwidth) {
        return peakFlops / bandwidth;
    }

    public static double attainable(double intensity, double peakFlops, double bandwidth) {
        return Math.min(peakFlops, intensity * bandwidth);
    }

    /** Lower bound on the time of an op: whichever of compute and memory takes longer. */
    public static double timeBound(Op op, double peakFlops, double bandwidth) {
        return Math.max(op.flops() / peakFlops, op.bytes() / bandwidth);
    }

    public static List<Formula> explain(Op op, double peakFlops, double bandwidth) {
        double ai = op.intensity();
        double r = ridge(peakFlops, bandwidth);
        double att = attainable(ai, peakFlops, bandwidth);
        return List.of(
                new Formula("FLOPs", op.flopFormula(), num(op.flops()), op.flops(), "FLOP"),
                new Formula("bytes", op.byteFormula(), num(op.bytes()), op.bytes(), "B"),
                new Formula("arithmetic intensity", "FLOPs ÷ bytes", num(op.flops()) + " ÷ " + num(op.bytes()), ai, "FLOP/B"),
                new Formula("ridge point", "peak ÷ bandwidth", num(peakFlops) + " ÷ " + num(bandwidth), r, "FLOP/B"),
                new Formula("attainable", "min(peak, AI × bandwidth)", "min(" + num(peakFlops) + ", " + num(ai) + " × " + num(bandwidth) + ")",
                        att, "FLOP/s"),
                new Formula("time lower bound", "max(FLOPs ÷ peak, bytes ÷ bandwidth)",
                        "max(" + num(op.flops()) + " ÷ " + num(peakFlops) + ", " + num(op.bytes()) + " ÷ " + num(bandwidth) + ")",
                        timeBound(op, peakFlops, bandwidth), "s"));
    }
}
