package org.llmwb.core.plot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.Units;
import org.llmwb.core.calc.InferenceCost;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

/**
 * Builds roofline charts: x = arithmetic intensity (FLOP/B), y = attainable TFLOP/s, both log.
 * Each roof is the line min(peak, AI × bandwidth) for one compute precision of the GPU
 * (datasheet figures); measured roofs are added by the kernel lab when it has them.
 */
public final class RooflinePlot {
    private RooflinePlot() {
    }

    /** A roofline of a GPU's datasheet roofs for the given compute keys, and markers to place on it. */
    public static PlotModel of(GpuSpec gpu, List<String> computeKeys, List<PlotModel.Marker> markers, List<String> notes) {
        double bw = gpu.memoryBandwidth();
        double maxPeak = 0;
        double minRidge = Double.MAX_VALUE;
        double maxRidge = 0;
        for (String k : computeKeys) {
            double p = gpu.peak(k);
            if (p > 0) {
                maxPeak = Math.max(maxPeak, p);
                minRidge = Math.min(minRidge, p / bw);
                maxRidge = Math.max(maxRidge, p / bw);
            }
        }
        double xmin = Math.min(0.1, minRidge / 100);
        double xmax = maxRidge * 30;
        double ymax = maxPeak / Units.TFLOPS * 3;
        double ymin = xmin * bw / Units.TFLOPS;
        for (PlotModel.Marker m : markers) {
            xmin = Math.min(xmin, m.x() / 3);
            xmax = Math.max(xmax, m.x() * 3);
            ymin = Math.min(ymin, m.y() / 3);
        }
        xmin = Math.pow(10, Math.floor(Math.log10(xmin)));
        xmax = Math.pow(10, Math.ceil(Math.log10(xmax)));
        ymin = Math.pow(10, Math.floor(Math.log10(ymin)));
        ymax = Math.pow(10, Math.ceil(Math.log10(ymax)));
        List<PlotModel.Line> lines = new ArrayList<>();
        int color = 0;
        for (String k : computeKeys) {
            double p = gpu.peak(k);
            if (p <= 0) {
                continue;
            }
            double ridge = p / bw;
            List<double[]> pts = List.of(new double[] {xmin, xmin * bw / Units.TFLOPS}, new double[] {ridge, p / Units.TFLOPS},
                    new double[] {xmax, p / Units.TFLOPS});
            String kind = "measured".equals(gpu.origin()) ? "measured" : gpu.isUserDefined() ? "user-defined" : "datasheet";
            String label = String.format(Locale.ROOT, "%s %s TFLOP/s · %s TB/s · ridge %.0f FLOP/B (%s)", k.toUpperCase(Locale.ROOT),
                    tflops(p), tb(bw), ridge, kind);
            lines.add(new PlotModel.Line(label, kind, "solid", color++, pts));
        }
        return new PlotModel("Roofline · " + gpu.name(), new PlotModel.Axis("arithmetic intensity (FLOP/byte)", xmin, xmax, true),
                new PlotModel.Axis("attainable TFLOP/s", ymin, ymax, true), lines, markers, notes);
    }

    /**
     * Roofs measured on the user's GPU (e.g. by {@code llmwb ceilings}): copy bandwidth in B/s and peaks in
     * FLOP/s by name (e.g. "fp32 FMA", "bf16 mma.sync").
     */
    public record Measured(double bandwidth, Map<String, Double> peaks, String source) {
    }

    /** {@link #of} plus dashed measured roofs, labelled as measured, next to the datasheet ones. */
    public static PlotModel withMeasured(GpuSpec gpu, List<String> computeKeys, Measured measured, List<PlotModel.Marker> markers,
            List<String> notes) {
        PlotModel base = of(gpu, computeKeys, markers, notes);
        List<PlotModel.Line> lines = new ArrayList<>(base.lines());
        double xmin = base.x().min();
        double xmax = base.x().max();
        double ymax = base.y().max();
        int color = lines.size();
        for (Map.Entry<String, Double> e : measured.peaks().entrySet()) {
            double p = e.getValue();
            double ridge = p / measured.bandwidth();
            List<double[]> pts = List.of(new double[] {xmin, xmin * measured.bandwidth() / Units.TFLOPS}, new double[] {ridge, p / Units.TFLOPS},
                    new double[] {xmax, p / Units.TFLOPS});
            lines.add(new PlotModel.Line(String.format(Locale.ROOT, "%s %s TFLOP/s · copy %s TB/s · ridge %.0f FLOP/B (measured%s)", e.getKey(),
                    tflops(p), tb(measured.bandwidth()), ridge, measured.source() == null ? "" : ", " + measured.source()), "measured",
                    "dashed", color++, pts));
            ymax = Math.max(ymax, p / Units.TFLOPS * 3);
        }
        return new PlotModel(base.title(), base.x(), new PlotModel.Axis(base.y().label(), base.y().min(), Math.pow(10, Math.ceil(Math.log10(ymax))), true),
                lines, base.markers(), base.notes());
    }

    /** The roofline of a GPU with a model's decode and prefill steps at a batch size as points. */
    public static PlotModel forModel(ModelConfig m, GpuSpec gpu, Precision w, Precision kv, long batch, long context, long promptLength) {
        InferenceCost.Step dec = InferenceCost.decode(m, gpu, w, kv, batch, context);
        InferenceCost.Step pre = InferenceCost.prefill(m, gpu, w, kv, batch, promptLength);
        List<PlotModel.Marker> markers = List.of(marker(dec, "decode", "circle", 0), marker(pre, "prefill", "square", 1));
        List<String> keys = new ArrayList<>();
        keys.add(gpu.computeKeyFor(w));
        if (!keys.contains("fp32")) {
            keys.add("fp32");
        }
        List<String> notes = List.of(m.name() + " · weights " + w.id() + " · KV " + kv.id() + " · batch " + batch + " · context " + context
                + " · prompt " + promptLength, "points sit at attainable = min(peak, AI × bandwidth): the best the step can do on this GPU");
        return of(gpu, keys, markers, notes);
    }

    /** A marker for a model step at its attainable throughput, with the numbers a hover shows. */
    public static PlotModel.Marker marker(InferenceCost.Step s, String series, String shape, int color) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("phase", s.phase());
        d.put("batch", Long.toString(s.batch()));
        d.put("tokens", Long.toString(s.tokens()));
        d.put("FLOPs", String.format(Locale.ROOT, "%.4g", s.flops()));
        d.put("bytes", Units.bytes(s.bytes()));
        d.put("intensity", String.format(Locale.ROOT, "%.2f FLOP/B", s.intensity()));
        d.put("attainable", String.format(Locale.ROOT, "%.1f TFLOP/s", s.attainable() / Units.TFLOPS));
        d.put("time lower bound", Units.seconds(s.timeBound()));
        d.put("bound by", s.memoryBound() ? "memory bandwidth" : "compute (" + s.computeKey() + ")");
        String label = String.format(Locale.ROOT, "%s b=%d (%.1f FLOP/B)", s.phase(), s.batch(), s.intensity());
        return new PlotModel.Marker(series, label, s.intensity(), s.attainable() / Units.TFLOPS, shape, color, d);
    }

    /** Whole TFLOP/s for GPUs, three significant digits for the small roofs of a CPU. */
    static String tflops(double flops) {
        double t = flops / Units.TFLOPS;
        return t >= 10 ? String.format(Locale.ROOT, "%.0f", t) : String.format(Locale.ROOT, "%.3g", t);
    }

    static String tb(double bytesPerSecond) {
        double t = bytesPerSecond / Units.TB;
        return t >= 0.1 ? String.format(Locale.ROOT, "%.2f", t) : String.format(Locale.ROOT, "%.3g", t);
    }
}
