package org.llmwb.core.plot;

import java.util.List;
import java.util.Map;

/**
 * What a chart shows, independent of any toolkit: axes, lines (e.g. roofs) and point markers with
 * the details a hover shows. Built by core-side providers ({@link RooflinePlot}); the SWT viewer
 * and the headless exporters ({@link SvgExport}, {@link CsvExport}) only render it.
 */
public record PlotModel(String title, Axis x, Axis y, List<Line> lines, List<Marker> markers, List<String> notes) {

    /** An axis; with {@code log} the range must be positive. */
    public record Axis(String label, double min, double max, boolean log) {
        /** Position of v in [0, 1] along the axis (may fall outside when v is out of range). */
        public double fraction(double v) {
            if (log) {
                return (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min));
            }
            return (v - min) / (max - min);
        }

        /** Tick values: each decade for log axes, about six round steps for linear ones. */
        public List<Double> ticks() {
            java.util.ArrayList<Double> t = new java.util.ArrayList<>();
            if (log) {
                for (int e = (int) Math.ceil(Math.log10(min) - 1e-9); e <= Math.floor(Math.log10(max) + 1e-9); e++) {
                    t.add(Math.pow(10, e));
                }
            } else {
                // a round step (1, 2 or 5 × 10^n) giving at most 8 ticks; each tick a whole multiple of it (no drift)
                double raw = (max - min) / 8;
                double mag = Math.pow(10, Math.floor(Math.log10(raw)));
                double step = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
                for (long k = (long) Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
                    t.add(k * step);
                }
            }
            return t;
        }
    }

    /**
     * A polyline in data coordinates.
     *
     * @param kind "datasheet" or "measured" (the legend says which)
     * @param style "solid" or "dashed"
     * @param colorIndex index into the renderer's palette
     */
    public record Line(String label, String kind, String style, int colorIndex, List<double[]> points) {
    }

    /**
     * A point with what hovering over it shows.
     *
     * @param series legend group (e.g. "decode", "prefill", an op name)
     * @param shape "circle", "square", "triangle", "diamond"
     */
    public record Marker(String series, String label, double x, double y, String shape, int colorIndex, Map<String, String> details) {
    }

    /** The marker nearest to a pixel within {@code radius} pixels, or null; pixel space is [0,w]×[0,h] with y down. */
    public Marker nearest(double px, double py, double w, double h, double radius) {
        Marker best = null;
        double bestD = radius * radius;
        for (Marker m : markers) {
            double mx = x.fraction(m.x()) * w;
            double my = (1 - y.fraction(m.y())) * h;
            double d = (mx - px) * (mx - px) + (my - py) * (my - py);
            if (d <= bestD) {
                bestD = d;
                best = m;
            }
        }
        return best;
    }
}
