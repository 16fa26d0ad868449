package org.llmwb.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llmwb.core.numeric.Fp8;
import org.llmwb.core.numeric.Fp8.Format;

class Fp8Test {

    @Test
    void e4m3KnownCodes() {
        assertEquals(448f, Format.E4M3.max());
        assertEquals((byte) 0x7e, Fp8.encode(Format.E4M3, 448f));
        assertEquals((byte) 0x7e, Fp8.encode(Format.E4M3, 1e6f)); // saturates, no infinity
        assertEquals((byte) 0x38, Fp8.encode(Format.E4M3, 1f)); // exponent 7 = bias, mantissa 0
        assertEquals((byte) 0xb8, Fp8.encode(Format.E4M3, -1f));
        assertEquals((byte) 0x01, Fp8.encode(Format.E4M3, 0.001953125f)); // smallest subnormal 2^-9
        assertEquals(0.001953125f, Fp8.decode(Format.E4M3, (byte) 0x01));
        assertTrue(Float.isNaN(Fp8.decode(Format.E4M3, (byte) 0x7f)));
        // 1.0625 lies halfway between 1.0 (code 0x38, even) and 1.125 (0x39): ties go to even
        assertEquals((byte) 0x38, Fp8.encode(Format.E4M3, 1.0625f));
        assertEquals((byte) 0x3a, Fp8.encode(Format.E4M3, 1.1875f)); // between 0x39 and 0x3a: to 0x3a (even)
    }

    @Test
    void e5m2KnownCodes() {
        assertEquals(57344f, Format.E5M2.max());
        assertEquals((byte) 0x7b, Fp8.encode(Format.E5M2, 1e9f));
        assertEquals((byte) 0x3c, Fp8.encode(Format.E5M2, 1f));
        assertTrue(Float.isInfinite(Fp8.decode(Format.E5M2, (byte) 0x7c)));
    }

    @Test
    void everyFiniteCodeRoundTrips() {
        for (Format f : Format.values()) {
            for (int c = 0; c < 256; c++) {
                float v = Fp8.decode(f, (byte) c);
                if (Float.isFinite(v) && !(v == 0 && c == 0x80)) {
                    assertEquals(c, Fp8.encode(f, v) & 0xff, f + " code " + c);
                }
            }
        }
    }
}
