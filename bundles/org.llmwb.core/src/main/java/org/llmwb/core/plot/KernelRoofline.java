package org.llmwb.core.plot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;

/**
 * Kernel timing records (op, intensity, tflops, …) as roofline markers: one colour and marker shape per
 * op in first-seen order, hover details from the record. Shared by {@code llmwb kernel-report}, the result
 * directory of a kernel sweep and the workbench's live roofline, so all three draw the same picture.
 */
public final class KernelRoofline {
    private static final String[] SHAPES = {"circle", "square", "triangle", "diamond"};
    private static final String[] COLOUR_NAMES = {"blue", "red", "green", "orange", "purple", "brown", "pink", "cyan"};
    /** Renderers draw marker colour c in palette colour c + 3; roofs take 0..3, so ops start at 2 (brown, pink, cyan, …). */
    private static final int FIRST_COLOUR = 2;

    private KernelRoofline() {
    }

    /** Ops in first-seen order with their marker colour index. */
    public static Map<String, Integer> colours(List<Map<String, Object>> records) {
        Map<String, Integer> colours = new LinkedHashMap<>();
        for (Map<String, Object> r : records) {
            if (plottable(r)) {
                colours.computeIfAbsent(String.valueOf(r.get("op")), k -> FIRST_COLOUR + colours.size());
            }
        }
        return colours;
    }

    /** A record lands on the roofline when it did work (FLOPs) over counted bytes. */
    public static boolean plottable(Map<String, Object> r) {
        return num(r.get("flops")) > 0 && num(r.get("bytes")) > 0 && num(r.get("tflops")) > 0;
    }

    public static List<PlotModel.Marker> markers(List<Map<String, Object>> records) {
        Map<String, Integer> colours = colours(records);
        List<PlotModel.Marker> markers = new ArrayList<>();
        for (Map<String, Object> r : records) {
            if (!plottable(r)) {
                continue;
            }
            String op = String.valueOf(r.get("op"));
            int colour = colours.get(op);
            Map<String, String> d = new LinkedHashMap<>();
            r.forEach((k, v) -> d.put(k, String.valueOf(v)));
            // no text label: points of one sweep often share an intensity and labels would overlap; hover shows the record
            markers.add(new PlotModel.Marker(op, "", num(r.get("intensity")), num(r.get("tflops")),
                    SHAPES[(colour - FIRST_COLOUR) % SHAPES.length], colour, d));
        }
        return markers;
    }

    /** "kernels: gemv (brown circles), decode_attention (pink squares)". */
    public static String legend(List<Map<String, Object>> records) {
        List<String> parts = new ArrayList<>();
        colours(records).forEach((op, c) -> parts.add(op + " (" + COLOUR_NAMES[(c + 3) % COLOUR_NAMES.length] + " "
                + SHAPES[(c - FIRST_COLOUR) % SHAPES.length] + "s)"));
        return parts.isEmpty() ? "no kernel points yet" : "kernels: " + String.join(", ", parts);
    }

    /**
     * The roofline of kernel records: the datasheet roofs of {@code datasheet} for {@code computeKeys}
     * with the measured roofs dashed beside them, or, for a device without a datasheet entry (the CPU),
     * the measured roofs alone.
     */
    public static PlotModel plot(GpuSpec datasheet, List<String> computeKeys, RooflinePlot.Measured measured, List<Map<String, Object>> records,
            List<String> notes) {
        List<String> allNotes = new ArrayList<>();
        allNotes.add(legend(records));
        allNotes.addAll(notes);
        if (datasheet == null) {
            return RooflinePlot.of(measuredDevice(measured), new ArrayList<>(measured.peaks().keySet()), markers(records), allNotes);
        }
        return RooflinePlot.withMeasured(datasheet, computeKeys, measured, markers(records), allNotes);
    }

    /**
     * The roofline for records of one run, from what the records carry: {@code device}, {@code backend},
     * {@code roofBandwidth} and {@code roofPeakFlops}/{@code roofPeakName} (measured at the start of the
     * run). A GPU the catalog knows also gets its datasheet roofs; a CPU gets its measured roofs alone.
     */
    public static PlotModel forRecords(GpuCatalog gpus, List<Map<String, Object>> records, List<String> notes) {
        if (records.isEmpty()) {
            throw new IllegalArgumentException("no kernel records");
        }
        Map<String, Object> first = records.get(0);
        String device = String.valueOf(first.get("device"));
        Map<String, Double> peaks = new LinkedHashMap<>();
        if (num(first.get("roofPeakFlops")) > 0) {
            peaks.put(String.valueOf(first.getOrDefault("roofPeakName", "peak")), num(first.get("roofPeakFlops")));
        }
        RooflinePlot.Measured m = new RooflinePlot.Measured(num(first.get("roofBandwidth")), peaks, device);
        GpuSpec ds = "cpu".equals(first.get("backend")) ? null : gpus.forDeviceName(device);
        if (ds == null && (m.bandwidth() <= 0 || peaks.isEmpty())) {
            throw new IllegalArgumentException("records carry no measured roofs and '" + device + "' is not in the GPU catalog");
        }
        return plot(ds, List.of("bf16", "fp32"), m, records, notes);
    }

    /** A device known only by its measured roofs, drawn as "measured" rather than "datasheet". */
    public static GpuSpec measuredDevice(RooflinePlot.Measured m) {
        return new GpuSpec("measured", m.source() == null ? "this machine" : m.source(), "", 0, "", m.bandwidth(), new LinkedHashMap<>(m.peaks()), "",
                "", 0, "", 0, "measured by llmwb", "", "measured");
    }

    private static double num(Object o) {
        if (o instanceof Number n) {
            return n.doubleValue();
        }
        if (o instanceof String s) {
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e) {
                return 0;
            }
        }
        return 0;
    }
}
