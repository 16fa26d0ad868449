package org.llmwb.core.plot;

import java.util.Locale;

/** Renders a {@link PlotModel} to a standalone SVG document (headless; no toolkit needed). */
public final class SvgExport {
    private SvgExport() {
    }

    public static String render(PlotModel p, int width, int height) {
        int left = 80, right = 20, top = 40, bottom = 60 + 16 * (p.lines().size() + 1);
        double w = width - left - right;
        double h = height - top - bottom;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n", width, height));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", left, esc(p.title())));
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>%n", left, top, w, h));
        for (double t : p.x().ticks()) {
            double x = left + p.x().fraction(t) * w;
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", x, top, x, top + h));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n", x, top + h + 16, tickLabel(t)));
        }
        for (double t : p.y().ticks()) {
            double y = top + (1 - p.y().fraction(t)) * h;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", left, y, left + w, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", left - 6, y + 4, tickLabel(t)));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n", left + w / 2, top + h + 36, esc(p.x().label())));
        s.append(String.format(Locale.ROOT, "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>%n", top + h / 2, esc(p.y().label())));
        s.append(String.format(Locale.ROOT, "<clipPath id=\"plot\"><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\"/></clipPath>%n", left, top, w, h));
        int legendY = (int) (top + h + 56);
        for (PlotModel.Line l : p.lines()) {
            StringBuilder pts = new StringBuilder();
            for (double[] pt : l.points()) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", left + p.x().fraction(pt[0]) * w, top + (1 - p.y().fraction(pt[1])) * h));
            }
            String dash = "dashed".equals(l.style()) ? " stroke-dasharray=\"6,4\"" : "";
            s.append(String.format(Locale.ROOT, "<polyline clip-path=\"url(#plot)\" points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s/>%n", pts.toString().trim(),
                    Palette.hex(l.colorIndex()), dash));
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/><text x=\"%d\" y=\"%d\">%s</text>%n", left, legendY - 4,
                    left + 24, legendY - 4, Palette.hex(l.colorIndex()), dash, left + 30, legendY, esc(l.label())));
            legendY += 16;
        }
        for (PlotModel.Marker m : p.markers()) {
            double x = left + p.x().fraction(m.x()) * w;
            double y = top + (1 - p.y().fraction(m.y())) * h;
            String c = Palette.hex(m.colorIndex() + 3);
            String shape = switch (m.shape()) {
                case "square" -> String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"", x - 5, y - 5, c);
                case "triangle" -> String.format(Locale.ROOT, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"", x, y - 6, x - 6, y + 5, x + 6, y + 5, c);
                case "diamond" -> String.format(Locale.ROOT, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"", x, y - 6, x + 6, y, x, y + 6, x - 6, y, c);
                default -> String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"", x, y, c);
            };
            StringBuilder title = new StringBuilder(m.label());
            m.details().forEach((k, v) -> title.append('\n').append(k).append(": ").append(v));
            s.append(shape).append("><title>").append(esc(title.toString())).append("</title></").append(shape.substring(1, shape.indexOf(' '))).append(">\n");
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>%n", x + 8, y - 8, esc(m.label())));
        }
        for (String n : p.notes()) {
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#555\">%s</text>%n", left, legendY, esc(n)));
            legendY += 16;
        }
        s.append("</svg>\n");
        return s.toString();
    }

    /** A tick's label: decades of a log axis as 1eN, round values without float noise (0.30000000000000004 reads 0.3). */
    public static String tickLabel(double v) {
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        if (a >= 1e4 || a < 0.01) {
            double e = Math.log10(a);
            if (Math.abs(e - Math.rint(e)) < 1e-9) {
                return (v < 0 ? "-" : "") + String.format(Locale.ROOT, "1e%d", (int) Math.rint(e)); // a decade of a log axis
            }
            if (a >= 1e4 && a < 1e6) {
                return String.format(Locale.ROOT, "%.0f", v);
            }
            return a < 0.01 ? java.math.BigDecimal.valueOf(v).round(new java.math.MathContext(2)).stripTrailingZeros().toPlainString()
                    : String.format(Locale.ROOT, "%.2g", v);
        }
        // up to 4 significant digits, no trailing zeros: 1.5 stays 1.5 (a 0.5 step), 1000 stays 1000 on a linear axis
        return java.math.BigDecimal.valueOf(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
