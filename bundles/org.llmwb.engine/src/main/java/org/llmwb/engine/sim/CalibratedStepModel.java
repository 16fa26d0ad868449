package org.llmwb.engine.sim;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.engine.model.SeqInput;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A step-time model fitted to steps the engine really ran on one device ({@code llmwb profile}): step seconds as a
 * non-negative combination of what the step holds —
 * <ul>
 * <li>{@code step}: 1 (what every step pays: weights streamed once, launches, scheduling, sampling);</li>
 * <li>{@code newTokens}: the tokens computed (the linear layers' work per token);</li>
 * <li>{@code sequences}: the rows (per-sequence metadata, logits, sampling);</li>
 * <li>{@code decodeContextK}: thousands of context tokens the decode rows attend to (KV reads);</li>
 * <li>{@code prefillAttentionM}: millions of query·key pairs of the prompt chunks (new · (past + new / 2));</li>
 * <li>{@code prefillStep}: 1 when the step holds a prompt chunk (more than one new token for a sequence). On the GPU a
 * decode step replays a CUDA graph while a prefill step launches its kernels one by one: the H100 profile of the
 * trained model put ~1.6 ms on every prefill step whatever its length, which the other features cannot express.</li>
 * </ul>
 * The fit is least squares with every coefficient kept ≥ 0 (a feature whose coefficient comes out negative is dropped
 * and the rest refitted), so the model never predicts that more work takes less time. Steps measured at more than 3×
 * the first fit's prediction — one-off costs such as capturing a CUDA graph for a new batch size, which a steady
 * serving run does not pay again — are left out of a second fit (at most a tenth of the steps; the count is kept).
 */
public final class CalibratedStepModel implements StepTimeModel {
    public static final List<String> FEATURES = List.of("step", "newTokens", "sequences", "decodeContextK", "prefillAttentionM", "prefillStep");

    private final double[] coef;
    private final String device;
    private final String model;
    private final double rmsRelError;
    private final int samples;
    private int outliers;

    public CalibratedStepModel(double[] coef, String device, String model, double rmsRelError, int samples) {
        if (coef.length != FEATURES.size()) {
            throw new IllegalArgumentException(FEATURES.size() + " coefficients, got " + coef.length);
        }
        this.coef = coef.clone();
        this.device = device;
        this.model = model;
        this.rmsRelError = rmsRelError;
        this.samples = samples;
    }

    /** The features of one step: per sequence, {@code counts[i]} new tokens after {@code past[i]} cached ones. */
    public static double[] features(int[] counts, int[] past) {
        double newTokens = 0;
        double decodeCtx = 0;
        double prefillAttn = 0;
        boolean prefill = false;
        for (int i = 0; i < counts.length; i++) {
            newTokens += counts[i];
            if (counts[i] == 1) {
                decodeCtx += past[i] + 1;
            } else {
                prefillAttn += counts[i] * (past[i] + counts[i] / 2.0);
                prefill = true;
            }
        }
        return new double[] {1, newTokens, counts.length, decodeCtx / 1e3, prefillAttn / 1e6, prefill ? 1 : 0};
    }

    /** The features of a step the engine ran, from its parts (each part's new tokens after its start). */
    public static double[] features(org.llmwb.engine.StepEvent ev) {
        int[] counts = new int[ev.parts().size()];
        int[] past = new int[counts.length];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = ev.parts().get(i).count();
            past[i] = ev.parts().get(i).start();
        }
        return features(counts, past);
    }

    public static double[] features(List<SeqInput> inputs) {
        int[] counts = new int[inputs.size()];
        int[] past = new int[inputs.size()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = inputs.get(i).tokens().length;
            past[i] = inputs.get(i).past();
        }
        return features(counts, past);
    }

    @Override
    public double seconds(List<SeqInput> inputs) {
        return predict(features(inputs));
    }

    public double predict(double[] f) {
        double s = 0;
        for (int i = 0; i < coef.length; i++) {
            s += coef[i] * f[i];
        }
        return Math.max(0, s);
    }

    public double[] coefficients() {
        return coef.clone();
    }

    public double rmsRelError() {
        return rmsRelError;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "calibrated on %s (%s, %d steps%s, rms error %.1f%%): %.3g ms/step + %.3g us/token + %.3g us/sequence + %.3g us/1K decode context"
                + " + %.3g us/M prefill attention pairs + %.3g ms/prefill step", device, model, samples, outliers > 0 ? ", " + outliers + " one-off steps left out" : "",
                100 * rmsRelError, coef[0] * 1e3, coef[1] * 1e6, coef[2] * 1e6, coef[3] * 1e6, coef[4] * 1e6, coef[5] * 1e3);
    }

    /** Steps the fit left out as one-off costs (measured above 3× the first fit's prediction). */
    public int outliers() {
        return outliers;
    }

    /**
     * Fits the model to measured steps: {@code x[i]} the features of step i, {@code seconds[i]} its time. Least squares
     * on relative error (each row weighted by 1 / its time, so short decode steps count as much as long prefills), with
     * non-negative coefficients.
     */
    public static CalibratedStepModel fit(List<double[]> x, double[] seconds, String device, String model) {
        int n = x.size();
        int k = FEATURES.size();
        if (n < k) {
            throw new IllegalArgumentException("a fit of " + k + " coefficients needs at least " + k + " steps, got " + n);
        }
        double[] first = nonNegative(x, seconds);
        CalibratedStepModel m1 = new CalibratedStepModel(first, device, model, 0, n);
        List<double[]> kx = new ArrayList<>();
        List<Double> ky = new ArrayList<>();
        int dropped = 0;
        double[] ratio = new double[n]; // measured / first fit
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            ratio[i] = seconds[i] / Math.max(1e-12, m1.predict(x.get(i)));
            order[i] = i;
        }
        // the largest ratios first, so at most a tenth of the steps (the worst) are left out
        java.util.Arrays.sort(order, (a, b) -> Double.compare(ratio[b], ratio[a]));
        boolean[] out = new boolean[n];
        for (int r = 0; r < n && dropped < n / 10 && ratio[order[r]] > 3; r++) {
            out[order[r]] = true;
            dropped++;
        }
        for (int i = 0; i < n; i++) {
            if (!out[i]) {
                kx.add(x.get(i));
                ky.add(seconds[i]);
            }
        }
        double[] coef = dropped == 0 || kx.size() < k ? first : nonNegative(kx, ky.stream().mapToDouble(Double::doubleValue).toArray());
        double se = 0;
        CalibratedStepModel m0 = new CalibratedStepModel(coef, device, model, 0, n);
        for (int i = 0; i < kx.size(); i++) {
            double r = (m0.predict(kx.get(i)) - ky.get(i)) / ky.get(i);
            se += r * r;
        }
        CalibratedStepModel m = new CalibratedStepModel(coef, device, model, Math.sqrt(se / kx.size()), n);
        m.outliers = kx.size() < k ? 0 : dropped;
        return m;
    }

    /** Least squares on relative error with every coefficient kept ≥ 0: a negative one is dropped and the rest refitted. */
    private static double[] nonNegative(List<double[]> x, double[] seconds) {
        int k = FEATURES.size();
        boolean[] active = new boolean[k];
        java.util.Arrays.fill(active, true);
        double[] coef = new double[k];
        for (int round = 0; round < k; round++) {
            coef = solve(x, seconds, active);
            int worst = -1;
            for (int j = 0; j < k; j++) {
                if (active[j] && coef[j] < 0 && (worst < 0 || coef[j] < coef[worst])) {
                    worst = j;
                }
            }
            if (worst < 0) {
                break;
            }
            active[worst] = false;
        }
        for (int j = 0; j < k; j++) {
            coef[j] = active[j] ? Math.max(0, coef[j]) : 0;
        }
        return coef;
    }

    /** Weighted least squares over the active columns by the normal equations (a tiny ridge keeps them solvable). */
    private static double[] solve(List<double[]> x, double[] y, boolean[] active) {
        int k = active.length;
        double[][] a = new double[k][k + 1];
        for (int i = 0; i < x.size(); i++) {
            double w = 1 / (y[i] * y[i]);
            double[] f = x.get(i);
            for (int p = 0; p < k; p++) {
                if (!active[p]) {
                    continue;
                }
                for (int q = 0; q < k; q++) {
                    if (active[q]) {
                        a[p][q] += w * f[p] * f[q];
                    }
                }
                a[p][k] += w * f[p] * y[i];
            }
        }
        for (int p = 0; p < k; p++) {
            if (!active[p]) {
                a[p][p] = 1;
                a[p][k] = 0;
            } else {
                a[p][p] += 1e-12 * (1 + a[p][p]);
            }
        }
        // Gauss-Jordan with partial pivoting
        for (int c = 0; c < k; c++) {
            int piv = c;
            for (int r = c + 1; r < k; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) {
                    piv = r;
                }
            }
            double[] t = a[c];
            a[c] = a[piv];
            a[piv] = t;
            double d = a[c][c];
            if (d == 0) {
                continue;
            }
            for (int j = c; j <= k; j++) {
                a[c][j] /= d;
            }
            for (int r = 0; r < k; r++) {
                if (r != c && a[r][c] != 0) {
                    double f = a[r][c];
                    for (int j = c; j <= k; j++) {
                        a[r][j] -= f * a[c][j];
                    }
                }
            }
        }
        double[] out = new double[k];
        for (int p = 0; p < k; p++) {
            out[p] = a[p][k];
        }
        return out;
    }

    /** The profile file's JSON: what was measured where, the fitted coefficients, and the samples. */
    public Map<String, Object> toJson(List<double[]> x, double[] seconds) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("kind", "step-profile");
        o.put("device", device);
        o.put("model", model);
        o.put("tp", 1); // the engine runs one GPU: the simulator refuses to rescale a profile to another TP
        o.put("features", FEATURES);
        Map<String, Object> c = new LinkedHashMap<>();
        for (int i = 0; i < coef.length; i++) {
            c.put(FEATURES.get(i), coef[i]);
        }
        o.put("secondsPer", c);
        o.put("steps", samples);
        o.put("oneOffStepsLeftOut", outliers);
        o.put("rmsRelError", rmsRelError);
        if (x != null) {
            List<Object> rows = new ArrayList<>();
            for (int i = 0; i < x.size(); i++) {
                Map<String, Object> r = new LinkedHashMap<>();
                for (int j = 0; j < FEATURES.size(); j++) {
                    r.put(FEATURES.get(j), x.get(i)[j]);
                }
                r.put("seconds", seconds[i]);
                rows.add(r);
            }
            o.put("samples", rows);
        }
        return o;
    }

    /** Reads a profile written by {@code llmwb profile}; a missing or malformed part is a located error. */
    public static CalibratedStepModel read(Path file) {
        JsonNode o;
        try {
            o = Json.parse(java.nio.file.Files.readString(file));
        } catch (IOException | RuntimeException e) {
            throw new InputException(SourceLocation.of(file.toString()), "not a step profile (JSON written by llmwb profile): "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
        if (!"step-profile".equals(o.path("kind").asText())) {
            throw new InputException(SourceLocation.of(file.toString()), "not a step profile: 'kind' must be \"step-profile\"");
        }
        JsonNode c = o.path("secondsPer");
        double[] coef = new double[FEATURES.size()];
        for (int i = 0; i < coef.length; i++) {
            JsonNode v = c.get(FEATURES.get(i));
            if (v == null && FEATURES.get(i).equals("prefillStep")) {
                continue; // a profile written before this feature existed: no per-prefill-step cost
            }
            if (v == null || !v.isNumber() || v.asDouble() < 0 || !Double.isFinite(v.asDouble())) {
                throw new InputException(SourceLocation.of(file.toString()), "secondsPer." + FEATURES.get(i) + " must be a number >= 0");
            }
            coef[i] = v.asDouble();
        }
        return new CalibratedStepModel(coef, o.path("device").asText("?"), o.path("model").asText("?"), o.path("rmsRelError").asDouble(Double.NaN),
                o.path("steps").asInt(0));
    }
}
