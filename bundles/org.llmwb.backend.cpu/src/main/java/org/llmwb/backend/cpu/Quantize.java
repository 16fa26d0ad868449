package org.llmwb.backend.cpu;

/**
 * Weight quantizers for W8A16 and W4A16, producing exactly the layouts the GEMV kernels read, and
 * their dequantization (the reference the kernels are checked against).
 */
public final class Quantize {
    public static final int INT4_GROUP = 128;

    private Quantize() {
    }

    /** Symmetric per-output-channel INT8: scale = max|w_row| / 127, q = round(w / scale). */
    public record Int8(byte[] q, float[] scales, int n, int k) {
        public float dequant(int row, int col) {
            return q[row * k + col] * scales[row];
        }
    }

    /**
     * Group-wise INT4 along K (group 128), two values per byte (element 2i in the low nibble).
     * Symmetric: q = clamp(round(w / s), −8, 7) + 8 with s = max|w| / 7, zeros null.
     * Asymmetric: s = (max − min) / 15, z = round(−min / s), q = clamp(round(w / s) + z, 0, 15).
     */
    public record Int4(byte[] packed, float[] scales, byte[] zeros, int n, int k) {
        public int nibble(int row, int col) {
            int b = packed[(row * k + col) >> 1] & 0xff;
            return (col & 1) == 0 ? b & 0xf : b >>> 4;
        }

        public float dequant(int row, int col) {
            int g = row * (k / INT4_GROUP) + col / INT4_GROUP;
            float z = zeros == null ? 8 : zeros[g] & 0xff;
            return (nibble(row, col) - z) * scales[g];
        }
    }

    public static Int8 int8PerChannel(float[] w, int n, int k) {
        byte[] q = new byte[n * k];
        float[] s = new float[n];
        for (int r = 0; r < n; r++) {
            float max = 0;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, Math.abs(w[r * k + c]));
            }
            s[r] = max == 0 ? 1 : max / 127f;
            for (int c = 0; c < k; c++) {
                q[r * k + c] = (byte) Math.max(-127, Math.min(127, Math.round(w[r * k + c] / s[r])));
            }
        }
        return new Int8(q, s, n, k);
    }

    public static Int4 int4Grouped(float[] w, int n, int k, boolean asymmetric) {
        if (k % INT4_GROUP != 0) {
            throw new IllegalArgumentException("K = " + k + " must be a multiple of the group size " + INT4_GROUP);
        }
        int groups = k / INT4_GROUP;
        byte[] packed = new byte[n * k / 2];
        float[] scales = new float[n * groups];
        byte[] zeros = asymmetric ? new byte[n * groups] : null;
        for (int r = 0; r < n; r++) {
            for (int g = 0; g < groups; g++) {
                float min = Float.MAX_VALUE;
                float max = -Float.MAX_VALUE;
                for (int c = g * INT4_GROUP; c < (g + 1) * INT4_GROUP; c++) {
                    min = Math.min(min, w[r * k + c]);
                    max = Math.max(max, w[r * k + c]);
                }
                float s;
                int z;
                if (asymmetric) {
                    s = max > min ? (max - min) / 15f : 1f;
                    z = Math.max(0, Math.min(15, Math.round(-min / s)));
                    zeros[r * groups + g] = (byte) z;
                } else {
                    float a = Math.max(Math.abs(min), Math.abs(max));
                    s = a == 0 ? 1f : a / 7f;
                    z = 8;
                }
                scales[r * groups + g] = s;
                for (int c = g * INT4_GROUP; c < (g + 1) * INT4_GROUP; c++) {
                    int q = asymmetric ? Math.max(0, Math.min(15, Math.round(w[r * k + c] / s) + z))
                            : Math.max(-8, Math.min(7, Math.round(w[r * k + c] / s))) + 8;
                    int idx = (r * k + c) >> 1;
                    packed[idx] = (byte) ((c & 1) == 0 ? (packed[idx] & 0xf0) | q : (packed[idx] & 0x0f) | (q << 4));
                }
            }
        }
        return new Int4(packed, scales, zeros, n, k);
    }

    /** E2M1 magnitudes by code 0..7 (bit 3 is the sign). */
    public static final float[] E2M1 = {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f};

    /**
     * NVFP4 (emulated on GPUs without FP4 units): blocks of 16 values share an E4M3 scale, the tensor an
     * FP32 scale g = absmax / (6 · 448); values are E2M1 codes, two per byte (element 2i in the low nibble).
     */
    public record Nvfp4(byte[] packed, byte[] blockScales, float globalScale, int n) {
        public float dequant(int i) {
            int c = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
            float mag = E2M1[c & 7];
            float sb = org.llmwb.core.numeric.Fp8.decode(org.llmwb.core.numeric.Fp8.Format.E4M3, blockScales[i / 16]) * globalScale;
            return ((c & 8) != 0 ? -mag : mag) * sb;
        }
    }

    public static float nvfp4GlobalScale(float[] x) {
        float a = 0;
        for (float v : x) {
            a = Math.max(a, Math.abs(v));
        }
        return a == 0 ? 1f : a / (6f * 448f);
    }

    /** Same float operations, in the same order, as kernels/quant/quantize.cu's nvfp4_quant. */
    public static Nvfp4 nvfp4(float[] x, float globalScale) {
        if (x.length % 16 != 0) {
            throw new IllegalArgumentException("NVFP4 needs a multiple of 16 values, got " + x.length);
        }
        int blocks = x.length / 16;
        byte[] packed = new byte[x.length / 2];
        byte[] scales = new byte[blocks];
        for (int b = 0; b < blocks; b++) {
            float a = 0;
            for (int j = 0; j < 16; j++) {
                a = Math.max(a, Math.abs(x[b * 16 + j]));
            }
            byte sc = org.llmwb.core.numeric.Fp8.encode(org.llmwb.core.numeric.Fp8.Format.E4M3, a / (6f * globalScale));
            scales[b] = sc;
            float sb = org.llmwb.core.numeric.Fp8.decode(org.llmwb.core.numeric.Fp8.Format.E4M3, sc) * globalScale;
            for (int j = 0; j < 16; j += 2) {
                int lo = sb == 0 ? 0 : e2m1(x[b * 16 + j] / sb);
                int hi = sb == 0 ? 0 : e2m1(x[b * 16 + j + 1] / sb);
                packed[b * 8 + j / 2] = (byte) (lo | (hi << 4));
            }
        }
        return new Nvfp4(packed, scales, globalScale, x.length);
    }

    /** Nearest E2M1 code, ties to the even code, saturating at ±6. */
    static int e2m1(float x) {
        int sign = x < 0 ? 8 : 0;
        float a = Math.abs(x);
        int best = 0;
        float bestD = a;
        for (int c = 1; c < 8; c++) {
            float d = Math.abs(a - E2M1[c]);
            if (d < bestD || (d == bestD && (c & 1) == 0)) {
                bestD = d;
                best = c;
            }
        }
        return sign | best;
    }
}
