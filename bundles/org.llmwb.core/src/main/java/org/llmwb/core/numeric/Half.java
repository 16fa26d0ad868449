package org.llmwb.core.numeric;

/**
 * 16-bit float formats as raw bits in {@code short}s: bfloat16 (FP32's top 16 bits, rounded to nearest
 * even) and IEEE half. Arrays of these are what the GPU kernels read and write.
 */
public final class Half {
    private Half() {
    }

    /** float → bfloat16 bits, round to nearest even; NaN stays NaN. */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // quiet NaN
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    public static short toFp16(float f) {
        return Float.floatToFloat16(f);
    }

    public static float fp16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    public static short[] toBf16(float[] a) {
        short[] out = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = toBf16(a[i]);
        }
        return out;
    }

    public static float[] bf16ToFloat(short[] a) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = bf16ToFloat(a[i]);
        }
        return out;
    }

    /** Rounds every value through bfloat16 (what the GPU will actually see). */
    public static float[] roundBf16(float[] a) {
        return bf16ToFloat(toBf16(a));
    }
}
