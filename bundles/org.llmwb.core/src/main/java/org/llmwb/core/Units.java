package org.llmwb.core;

import java.util.Locale;

/**
 * Unit conventions used everywhere in llmwb: memory sizes in GiB (2^30 bytes, as HBM is sized and
 * as serving engines report it), bandwidth in GB/s or TB/s (10^9, 10^12 bytes/s, as datasheets
 * state it), compute in TFLOP/s (10^12 FLOP/s), times in seconds unless a unit says otherwise.
 */
public final class Units {
    public static final double GIB = 1024.0 * 1024 * 1024;
    public static final double GB = 1e9;
    public static final double TB = 1e12;
    public static final double TFLOPS = 1e12;

    private Units() {
    }

    public static String gib(double bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB);
    }

    public static String bytes(double b) {
        double a = Math.abs(b);
        if (a >= GIB) {
            return String.format(Locale.ROOT, "%.2f GiB", b / GIB);
        }
        if (a >= 1024 * 1024) {
            return String.format(Locale.ROOT, "%.2f MiB", b / (1024 * 1024));
        }
        if (a >= 1024) {
            return String.format(Locale.ROOT, "%.2f KiB", b / 1024);
        }
        return String.format(Locale.ROOT, "%.0f B", b);
    }

    public static String seconds(double s) {
        double a = Math.abs(s);
        if (a >= 1) {
            return String.format(Locale.ROOT, "%.3f s", s);
        }
        if (a >= 1e-3) {
            return String.format(Locale.ROOT, "%.3f ms", s * 1e3);
        }
        return String.format(Locale.ROOT, "%.2f us", s * 1e6);
    }

    /** Formats a value with a unit code: B (bytes), s, FLOP/s, B/s, FLOP/B, or anything else verbatim. */
    public static String format(double v, String unit) {
        return switch (unit) {
            case "B" -> bytes(v) + " (" + Formula.num(v) + " B)";
            case "s" -> seconds(v);
            case "FLOP/s" -> String.format(Locale.ROOT, "%.1f TFLOP/s", v / TFLOPS);
            case "B/s" -> String.format(Locale.ROOT, "%.1f GB/s", v / GB);
            case "FLOP" -> String.format(Locale.ROOT, "%.4g FLOP", v);
            default -> Formula.num(v) + (unit.isEmpty() ? "" : " " + unit);
        };
    }
}
