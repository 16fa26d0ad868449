package org.llmwb.core.layout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.llmwb.core.plot.Palette;

/**
 * Which colour each GPU gets under an overlay (pool role, TP group, PP stage, EP group or node), and
 * the legend that explains it. Core-side so the editor, the SVG export and tests agree.
 */
public final class LayoutColors {
    public enum ColorBy {
        ROLE("pool role"), TP_GROUP("TP group"), PP_STAGE("PP stage"), EP_GROUP("EP group"), NODE("node");

        private final String label;

        ColorBy(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public static final int[] IDLE = {205, 205, 205};
    public static final int[] AGGREGATED = {148, 103, 189};
    public static final int[] PREFILL = {31, 119, 180};
    public static final int[] DECODE = {44, 160, 44};

    /** A legend entry: colour and what it means. */
    public record Entry(int[] rgb, String label) {
    }

    private LayoutColors() {
    }

    public static int[] rgb(Layout l, LayoutAnalysis.GpuReport g, ColorBy by) {
        if (g.idle() && by != ColorBy.NODE) {
            return IDLE;
        }
        return switch (by) {
            case ROLE -> role(g.pool().role());
            case TP_GROUP -> Palette.rgb(tpGroupIndex(l, g));
            case PP_STAGE -> Palette.rgb(g.ppStage());
            case EP_GROUP -> g.epGroup() < 0 ? IDLE : Palette.rgb(g.epGroup());
            case NODE -> Palette.rgb(l.nodes().indexOf(g.gpu().node()));
        };
    }

    public static int[] role(Layout.Role r) {
        return switch (r) {
            case PREFILL -> PREFILL;
            case DECODE -> DECODE;
            default -> AGGREGATED;
        };
    }

    /** TP groups numbered across pools, so two pools' groups get different colours. */
    private static int tpGroupIndex(Layout l, LayoutAnalysis.GpuReport g) {
        int base = 0;
        for (Layout.Pool p : l.pools()) {
            if (p == g.pool()) {
                return base + g.tpGroup();
            }
            base += (p.gpus().size() + p.tp() - 1) / p.tp();
        }
        return 0;
    }

    public static List<Entry> legend(Layout l, LayoutAnalysis.Report r, ColorBy by) {
        Map<String, int[]> m = new LinkedHashMap<>();
        for (LayoutAnalysis.GpuReport g : r.gpus()) {
            String label;
            if (g.idle() && by != ColorBy.NODE) {
                label = "idle (no pool)";
            } else {
                label = switch (by) {
                    case ROLE -> g.pool().role().name().toLowerCase() + " pool";
                    case TP_GROUP -> g.pool().name() + " TP group " + g.tpGroup();
                    case PP_STAGE -> "PP stage " + g.ppStage();
                    case EP_GROUP -> g.epGroup() < 0 ? "no EP" : "EP group " + g.epGroup();
                    case NODE -> g.gpu().node().name();
                };
            }
            m.putIfAbsent(label, rgb(l, g, by));
        }
        List<Entry> out = new ArrayList<>();
        m.forEach((k, v) -> out.add(new Entry(v, k)));
        return out;
    }
}
