package org.llmwb.core.numeric;

import java.util.Arrays;

/**
 * OCP 8-bit floats, bit-exact: E4M3 (bias 7, no infinities, 0x7F/0xFF are NaN, max 448) and E5M2
 * (bias 15, IEEE-like with infinities, max finite 57344). Encoding rounds to nearest, ties to even,
 * and saturates to the largest finite value (what GPUs do with the "satfinite" conversion mode).
 */
public final class Fp8 {
    public enum Format {
        E4M3(4, 3, 7),
        E5M2(5, 2, 15);

        final int exp;
        final int man;
        final int bias;
        final float[] decode = new float[256];
        final float[] positive; // finite non-negative values by code 0..maxCode
        final int maxCode;

        Format(int exp, int man, int bias) {
            this.exp = exp;
            this.man = man;
            this.bias = bias;
            for (int c = 0; c < 256; c++) {
                decode[c] = value(c);
            }
            int max = 0;
            for (int c = 0; c < 128; c++) {
                if (Float.isFinite(decode[c])) {
                    max = c;
                }
            }
            maxCode = max;
            positive = Arrays.copyOf(decode, max + 1);
        }

        private float value(int code) {
            int sign = (code >> 7) & 1;
            int e = (code >> man) & ((1 << exp) - 1);
            int m = code & ((1 << man) - 1);
            float v;
            if (this.exp == 4 && e == 15 && m == 7) {
                v = Float.NaN; // E4M3 has no infinities; S.1111.111 is NaN
            } else if (this.exp == 5 && e == 31) {
                v = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
            } else if (e == 0) {
                v = (float) (m / (double) (1 << man) * Math.pow(2, 1 - bias));
            } else {
                v = (float) ((1 + m / (double) (1 << man)) * Math.pow(2, e - bias));
            }
            return sign == 1 ? -v : v;
        }

        public float max() {
            return positive[maxCode];
        }
    }

    private Fp8() {
    }

    public static float decode(Format f, byte code) {
        return f.decode[code & 0xff];
    }

    /** Nearest code (ties to the even code), saturating at the largest finite value; NaN → the NaN code. */
    public static byte encode(Format f, float x) {
        if (Float.isNaN(x)) {
            return (byte) 0x7f; // a NaN code in both formats
        }
        int sign = Math.copySign(1f, x) < 0 ? 0x80 : 0;
        float a = Math.abs(x);
        int code;
        if (a >= f.positive[f.maxCode]) {
            code = f.maxCode;
        } else {
            int i = Arrays.binarySearch(f.positive, a);
            if (i >= 0) {
                code = i;
            } else {
                int hi = -i - 1;
                int lo = hi - 1;
                float dl = a - f.positive[lo];
                float dh = f.positive[hi] - a;
                code = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi);
            }
        }
        return (byte) (sign | code);
    }
}
