package org.llmwb.core;

import java.util.Locale;

/**
 * A calculation shown to the user: its name, the symbolic formula, the same formula with the
 * numbers substituted, and the result with its unit. Every calculator returns the formulas it used.
 */
public record Formula(String name, String symbolic, String substituted, double value, String unit) {

    /** {@code name = symbolic = substituted = value unit}. */
    public String render() {
        return name + " = " + symbolic + "\n    = " + substituted + "\n    = " + Units.format(value, unit);
    }

    public static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return String.format(Locale.ROOT, "%,d", (long) v);
        }
        return String.format(Locale.ROOT, "%.4g", v);
    }
}
