package org.llmwb.core.plot;

import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/** A plot model's markers as CSV: series, label, x, y and every detail key as a column. */
public final class CsvExport {
    private CsvExport() {
    }

    public static String render(PlotModel p) {
        Set<String> keys = new LinkedHashSet<>();
        p.markers().forEach(m -> keys.addAll(m.details().keySet()));
        StringBuilder s = new StringBuilder("series,label,x,y");
        keys.forEach(k -> s.append(',').append(cell(k)));
        s.append('\n');
        for (PlotModel.Marker m : p.markers()) {
            s.append(cell(m.series())).append(',').append(cell(m.label())).append(',')
                    .append(String.format(Locale.ROOT, "%.6g,%.6g", m.x(), m.y()));
            for (String k : keys) {
                s.append(',').append(cell(m.details().getOrDefault(k, "")));
            }
            s.append('\n');
        }
        return s.toString();
    }

    static String cell(String v) {
        if (v.contains(",") || v.contains("\"") || v.contains("\n")) {
            return '"' + v.replace("\"", "\"\"") + '"';
        }
        return v;
    }
}
