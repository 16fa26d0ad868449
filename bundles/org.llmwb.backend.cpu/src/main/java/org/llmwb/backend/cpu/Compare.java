package org.llmwb.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Compares a kernel's output with a reference: max absolute error, max relative error (relative to
 * the reference's largest magnitude, so near-zero elements do not dominate), and the worst elements.
 */
public record Compare(double maxAbs, double maxRel, double refScale, List<String> worst) {

    public static Compare of(float[] got, float[] ref) {
        if (got.length != ref.length) {
            throw new IllegalArgumentException("length " + got.length + " vs " + ref.length);
        }
        double scale = 0;
        for (float r : ref) {
            scale = Math.max(scale, Math.abs(r));
        }
        double maxAbs = 0;
        int[] idx = new int[5];
        double[] err = new double[5];
        for (int i = 0; i < got.length; i++) {
            double e = Float.isFinite(got[i]) ? Math.abs(got[i] - ref[i]) : Double.POSITIVE_INFINITY;
            maxAbs = Math.max(maxAbs, e);
            for (int j = 0; j < 5; j++) {
                if (e > err[j]) {
                    System.arraycopy(err, j, err, j + 1, 4 - j);
                    System.arraycopy(idx, j, idx, j + 1, 4 - j);
                    err[j] = e;
                    idx[j] = i;
                    break;
                }
            }
        }
        List<String> worst = new ArrayList<>();
        for (int j = 0; j < 5 && err[j] > 0; j++) {
            worst.add(String.format(Locale.ROOT, "[%d] got %.6g want %.6g (|err| %.3g)", idx[j], got[idx[j]], ref[idx[j]], err[j]));
        }
        return new Compare(maxAbs, scale == 0 ? maxAbs : maxAbs / scale, scale, worst);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "max abs %.3g, max rel %.3g (of max |ref| %.3g); worst: %s", maxAbs, maxRel, refScale, worst);
    }
}
