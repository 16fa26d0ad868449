package org.llmwb.core.layout;

import java.util.List;
import java.util.Locale;

import org.llmwb.core.Units;

/**
 * The layout diagram as SVG, drawn from the model and its analysis the way the editor draws it:
 * one box per pool (and one for idle GPUs), GPUs in rows of four with their overlay colour, rank
 * labels and a memory bar (weights, activations, KV budget, free), and the overlay's legend.
 */
public final class LayoutSvg {
    static final int GPU_W = 130;
    static final int GPU_H = 74;
    static final int GAP = 8;
    static final int COLS = 4;

    private LayoutSvg() {
    }

    public static String render(Layout l, LayoutAnalysis.Report r, LayoutColors.ColorBy by) {
        StringBuilder body = new StringBuilder();
        int x = 16;
        int maxH = 0;
        for (Layout.Pool p : l.pools()) {
            int[] wh = group(body, l, r, by, x, 40, title(p), p.gpus());
            x += wh[0] + 16;
            maxH = Math.max(maxH, wh[1]);
        }
        List<Layout.Gpu> idle = l.unassigned();
        if (!idle.isEmpty()) {
            int[] wh = group(body, l, r, by, x, 40, "unassigned", idle);
            x += wh[0] + 16;
            maxH = Math.max(maxH, wh[1]);
        }
        int y = 40 + maxH + 24;
        int lx = 16;
        for (LayoutColors.Entry e : LayoutColors.legend(l, r, by)) {
            body.append(rect(lx, y, 12, 12, hex(e.rgb()), "#555"));
            body.append(text(lx + 16, y + 10, 11, esc(e.label()), "start"));
            lx += 30 + 7 * e.label().length();
        }
        int w = Math.max(x, lx) + 16;
        int h = y + 32;
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h + "\" font-family=\"sans-serif\">\n"
                + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + text(16, 24, 14, esc(l.name()), "start") + body + "</svg>\n";
    }

    private static int[] group(StringBuilder s, Layout l, LayoutAnalysis.Report r, LayoutColors.ColorBy by, int x, int y, String title,
            List<Layout.Gpu> gpus) {
        int cols = Math.max(1, Math.min(COLS, gpus.size()));
        int rows = Math.max(1, (gpus.size() + cols - 1) / cols);
        int w = cols * (GPU_W + GAP) + GAP;
        int h = 24 + rows * (GPU_H + GAP) + GAP;
        s.append(rect(x, y, w, h, "#f7f7f7", "#888"));
        s.append(text(x + 8, y + 16, 12, esc(title), "start"));
        for (int i = 0; i < gpus.size(); i++) {
            LayoutAnalysis.GpuReport g = r.gpu(gpus.get(i).id());
            int gx = x + GAP + (i % cols) * (GPU_W + GAP);
            int gy = y + 24 + (i / cols) * (GPU_H + GAP);
            s.append(rect(gx, gy, GPU_W, GPU_H, hex(LayoutColors.rgb(l, g, by)), "#333"));
            s.append(text(gx + 6, gy + 15, 11, esc(g.gpu().id()), "start"));
            s.append(text(gx + 6, gy + 30, 10, esc(ranks(g)), "start"));
            bar(s, g, gx + 6, gy + 44, GPU_W - 12, 12);
            s.append(text(gx + 6, gy + 68, 9, esc(memoryLine(g)), "start"));
        }
        return new int[] {w, h};
    }

    /** "TP 1.3 · PP 0 · EP 2" style rank label, or "idle". */
    public static String ranks(LayoutAnalysis.GpuReport g) {
        if (g.idle()) {
            return "idle";
        }
        StringBuilder b = new StringBuilder("rank " + g.rank() + " · TP " + g.tpGroup() + "." + g.tpRank());
        if (g.pool().pp() > 1) {
            b.append(" · PP ").append(g.ppStage());
        }
        if (g.epGroup() >= 0) {
            b.append(" · EP ").append(g.epGroup());
        }
        return b.toString();
    }

    public static String memoryLine(LayoutAnalysis.GpuReport g) {
        if (g.memory() == null) {
            return g.idle() ? Units.gib(g.memoryBytes()) + " free" : "not planned";
        }
        return String.format(Locale.ROOT, "W %.1f · KV %.1f", g.memory().weights() / Units.GIB, Math.max(0, g.memory().kvBudget()) / Units.GIB);
    }

    /** The memory line's numbers are GiB: weights and KV budget of this GPU. */
    public static final String MEMORY_LINE_UNITS = "W = weights, KV = KV budget, GiB per GPU";

    /** Fractions of the GPU's memory: weights, activations, KV budget, and the rest. */
    public static double[] memoryFractions(LayoutAnalysis.GpuReport g) {
        if (g.memory() == null || g.memoryBytes() <= 0) {
            return new double[] {0, 0, 0, 1};
        }
        double t = g.memoryBytes();
        double w = Math.min(1, g.memory().weights() / t);
        double a = Math.min(1 - w, g.memory().activations() / t);
        double kv = Math.min(1 - w - a, Math.max(0, g.memory().kvBudget()) / t);
        return new double[] {w, a, kv, Math.max(0, 1 - w - a - kv)};
    }

    public static final int[][] MEMORY_COLORS = {{70, 80, 100}, {255, 127, 14}, {23, 190, 207}, {240, 240, 240}};

    private static void bar(StringBuilder s, LayoutAnalysis.GpuReport g, int x, int y, int w, int h) {
        double[] f = memoryFractions(g);
        double at = x;
        for (int i = 0; i < 4; i++) {
            double ww = f[i] * w;
            if (ww > 0.1) {
                s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n", at, y, ww, h,
                        hex(MEMORY_COLORS[i])));
            }
            at += ww;
        }
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>%n", x, y, w, h));
    }

    /** "decode · TP8 · 1 replica", with the role named when the pool's name does not say it. */
    public static String title(Layout.Pool p) {
        String role = p.role().name().toLowerCase(Locale.ROOT);
        return p.name() + (p.name().toLowerCase(Locale.ROOT).contains(role) ? "" : " · " + role) + " · " + parallel(p);
    }

    private static String parallel(Layout.Pool p) {
        return "TP" + p.tp() + (p.pp() > 1 ? "×PP" + p.pp() : "") + (p.ep() > 1 ? "×EP" + p.ep() : "") + (p.cp() > 1 ? "×CP" + p.cp() : "")
                + " · " + p.replicas() + " replica" + (p.replicas() == 1 ? "" : "s");
    }

    private static String rect(int x, int y, int w, int h, String fill, String stroke) {
        return String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"%s\" stroke=\"%s\"/>%n", x, y, w, h, fill,
                stroke);
    }

    private static String text(int x, int y, int size, String t, String anchor) {
        return String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"%d\" text-anchor=\"%s\">%s</text>%n", x, y, size, anchor, t);
    }

    static String hex(int[] c) {
        return String.format("#%02x%02x%02x", c[0], c[1], c[2]);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
