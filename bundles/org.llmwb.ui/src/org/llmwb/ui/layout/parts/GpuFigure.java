package org.llmwb.ui.layout.parts;

import org.eclipse.draw2d.Figure;
import org.eclipse.draw2d.Graphics;
import org.eclipse.draw2d.Label;
import org.eclipse.draw2d.geometry.Dimension;
import org.eclipse.draw2d.geometry.Rectangle;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.widgets.Display;
import org.llmwb.core.layout.LayoutSvg;

/** One GPU: its overlay colour, id, ranks and a memory bar (weights, activations, KV budget, free). */
public class GpuFigure extends Figure {
    public static final int W = 118;
    public static final int H = 76;
    private int[] rgb = {205, 205, 205};
    private String id = "";
    private String ranks = "";
    private String memory = "";
    private double[] fractions = {0, 0, 0, 1};
    private boolean selected;

    public GpuFigure() {
        setOpaque(false);
        setPreferredSize(new Dimension(W, H));
    }

    public void update(int[] rgb, String id, String ranks, String memory, double[] fractions, String tooltip) {
        this.rgb = rgb;
        this.id = id;
        this.ranks = ranks;
        this.memory = memory;
        this.fractions = fractions;
        setToolTip(new Label(tooltip));
        repaint();
    }

    public void setSelected(boolean s) {
        selected = s;
        repaint();
    }

    public String idText() {
        return id;
    }

    public String memoryText() {
        return memory;
    }

    public String ranksText() {
        return ranks;
    }

    public int[] rgb() {
        return rgb;
    }

    @Override
    protected void paintFigure(Graphics g) {
        Display d = Display.getCurrent();
        Rectangle r = getBounds().getCopy().shrink(2, 2);
        Color fill = new Color(d, rgb[0], rgb[1], rgb[2]);
        g.setBackgroundColor(fill);
        g.fillRoundRectangle(r, 8, 8);
        g.setForegroundColor(selected ? d.getSystemColor(org.eclipse.swt.SWT.COLOR_RED) : d.getSystemColor(org.eclipse.swt.SWT.COLOR_DARK_GRAY));
        g.setLineWidth(selected ? 3 : 1);
        g.drawRoundRectangle(r, 8, 8);
        g.setLineWidth(1);
        boolean dark = rgb[0] * 0.299 + rgb[1] * 0.587 + rgb[2] * 0.114 < 140;
        g.setForegroundColor(d.getSystemColor(dark ? org.eclipse.swt.SWT.COLOR_WHITE : org.eclipse.swt.SWT.COLOR_BLACK));
        g.drawText(id, r.x + 6, r.y + 3);
        g.drawText(ranks, r.x + 6, r.y + 19);
        // memory bar
        int bx = r.x + 6;
        int by = r.y + 38;
        int bw = r.width - 12;
        int bh = 12;
        double at = bx;
        for (int i = 0; i < 4; i++) {
            int[] c = LayoutSvg.MEMORY_COLORS[i];
            int w = (int) Math.round(fractions[i] * bw);
            if (w > 0) {
                g.setBackgroundColor(new Color(d, c[0], c[1], c[2]));
                g.fillRectangle((int) at, by, Math.min(w, bx + bw - (int) at), bh);
            }
            at += fractions[i] * bw;
        }
        g.setForegroundColor(d.getSystemColor(org.eclipse.swt.SWT.COLOR_BLACK));
        g.drawRectangle(bx, by, bw, bh);
        g.setForegroundColor(d.getSystemColor(dark ? org.eclipse.swt.SWT.COLOR_WHITE : org.eclipse.swt.SWT.COLOR_BLACK));
        g.drawText(memory, r.x + 6, r.y + 53);
    }
}
