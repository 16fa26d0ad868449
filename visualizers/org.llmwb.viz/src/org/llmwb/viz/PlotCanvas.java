package org.llmwb.viz;

import java.util.List;
import java.util.Locale;

import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.GC;
import org.eclipse.swt.graphics.Point;
import org.eclipse.swt.graphics.Rectangle;
import org.eclipse.swt.widgets.Canvas;
import org.eclipse.swt.widgets.Composite;
import org.llmwb.core.plot.PlotModel;

/**
 * Draws a {@link PlotModel} (log or linear axes, lines, markers, legend) and shows a marker's
 * details as a tooltip on hover. It computes nothing: the model comes from a core-side provider.
 */
public class PlotCanvas extends Canvas {
    static final int LEFT = 70, RIGHT = 16, TOP = 44, BOTTOM = 46;
    private PlotModel model;
    private PlotModel.Marker hovered;

    public PlotCanvas(Composite parent, int style) {
        super(parent, style | SWT.DOUBLE_BUFFERED | SWT.NO_BACKGROUND);
        addPaintListener(e -> paint(e.gc));
        addMouseMoveListener(e -> hover(e.x, e.y));
        addListener(SWT.MouseExit, e -> hover(-1000, -1000));
    }

    public void setModel(PlotModel model) {
        checkWidget();
        this.model = model;
        this.hovered = null;
        redraw();
    }

    public PlotModel getModel() {
        return model;
    }

    /** Legend rows below the plot area. */
    private int legendHeight() {
        return model == null ? 0 : 16 * (model.lines().size() + model.notes().size()) + 4;
    }

    /** The plot area in canvas pixels. */
    public Rectangle plotArea() {
        Rectangle c = getClientArea();
        return new Rectangle(LEFT, TOP, Math.max(10, c.width - LEFT - RIGHT), Math.max(10, c.height - TOP - BOTTOM - legendHeight()));
    }

    /** Canvas pixel of a data point (for tests and hit-testing). */
    public Point toPixel(double x, double y) {
        Rectangle a = plotArea();
        return new Point((int) Math.round(a.x + model.x().fraction(x) * a.width), (int) Math.round(a.y + (1 - model.y().fraction(y)) * a.height));
    }

    /** The marker under a canvas pixel (within 8 px), or null. */
    public PlotModel.Marker markerAt(int px, int py) {
        if (model == null) {
            return null;
        }
        Rectangle a = plotArea();
        return model.nearest(px - a.x, py - a.y, a.width, a.height, 8);
    }

    private void hover(int x, int y) {
        PlotModel.Marker m = markerAt(x, y);
        if (m != hovered) {
            hovered = m;
            setToolTipText(m == null ? null : tooltip(m));
            redraw();
        }
    }

    public static String tooltip(PlotModel.Marker m) {
        StringBuilder s = new StringBuilder(m.label());
        m.details().forEach((k, v) -> s.append('\n').append(k).append(": ").append(v));
        return s.toString();
    }

    private void paint(GC gc) {
        Rectangle c = getClientArea();
        gc.setBackground(getDisplay().getSystemColor(SWT.COLOR_WHITE));
        gc.fillRectangle(c);
        if (model == null) {
            return;
        }
        gc.setAntialias(SWT.ON);
        gc.setTextAntialias(SWT.ON);
        Color fg = getDisplay().getSystemColor(SWT.COLOR_BLACK);
        Color grid = new Color(getDisplay(), 225, 225, 225);
        Color dim = getDisplay().getSystemColor(SWT.COLOR_DARK_GRAY);
        Rectangle a = plotArea();
        gc.setForeground(fg);
        gc.drawText(model.title(), LEFT, 4, true);
        // grid and ticks
        for (double t : model.x().ticks()) {
            int x = toPixel(t, model.y().min()).x;
            gc.setForeground(grid);
            gc.drawLine(x, a.y, x, a.y + a.height);
            gc.setForeground(dim);
            String label = tick(t);
            gc.drawText(label, x - gc.textExtent(label).x / 2, a.y + a.height + 3, true);
        }
        for (double t : model.y().ticks()) {
            int y = toPixel(model.x().min(), t).y;
            gc.setForeground(grid);
            gc.drawLine(a.x, y, a.x + a.width, y);
            gc.setForeground(dim);
            String label = tick(t);
            gc.drawText(label, a.x - gc.textExtent(label).x - 4, y - 7, true);
        }
        gc.setForeground(fg);
        gc.drawRectangle(a);
        String xl = model.x().label();
        gc.drawText(xl, a.x + (a.width - gc.textExtent(xl).x) / 2, a.y + a.height + 20, true);
        gc.setForeground(dim);
        gc.drawText("↑ " + model.y().label(), 4, TOP - 20, true);
        gc.setForeground(fg);
        // lines, clipped to the plot area
        gc.setClipping(a);
        gc.setLineWidth(2);
        for (PlotModel.Line l : model.lines()) {
            gc.setForeground(Colors.of(getDisplay(), l.colorIndex()));
            gc.setLineStyle("dashed".equals(l.style()) ? SWT.LINE_DASH : SWT.LINE_SOLID);
            List<double[]> pts = l.points();
            int[] poly = new int[pts.size() * 2];
            for (int i = 0; i < pts.size(); i++) {
                Point p = toPixel(pts.get(i)[0], pts.get(i)[1]);
                poly[2 * i] = p.x;
                poly[2 * i + 1] = p.y;
            }
            gc.drawPolyline(poly);
        }
        gc.setLineStyle(SWT.LINE_SOLID);
        gc.setLineWidth(1);
        for (PlotModel.Marker m : model.markers()) {
            Point p = toPixel(m.x(), m.y());
            gc.setBackground(Colors.of(getDisplay(), m.colorIndex() + 3));
            int r = m == hovered ? 7 : 5;
            switch (m.shape()) {
                case "square" -> gc.fillRectangle(p.x - r, p.y - r, 2 * r, 2 * r);
                case "triangle" -> gc.fillPolygon(new int[] {p.x, p.y - r, p.x - r, p.y + r, p.x + r, p.y + r});
                case "diamond" -> gc.fillPolygon(new int[] {p.x, p.y - r, p.x + r, p.y, p.x, p.y + r, p.x - r, p.y});
                default -> gc.fillOval(p.x - r, p.y - r, 2 * r, 2 * r);
            }
            gc.setForeground(fg);
            int tw = gc.textExtent(m.label()).x;
            int tx = p.x + 8 + tw > a.x + a.width ? p.x - 8 - tw : p.x + 8; // keep labels inside the plot
            gc.drawText(m.label(), tx, p.y - 16, true);
        }
        gc.setClipping((Rectangle) null);
        // legend and notes
        int ly = a.y + a.height + BOTTOM - 6;
        for (PlotModel.Line l : model.lines()) {
            gc.setForeground(Colors.of(getDisplay(), l.colorIndex()));
            gc.setLineWidth(2);
            gc.drawLine(a.x, ly + 8, a.x + 22, ly + 8);
            gc.setLineWidth(1);
            gc.setForeground(fg);
            gc.drawText(l.label(), a.x + 28, ly, true);
            ly += 16;
        }
        gc.setForeground(dim);
        for (String n : model.notes()) {
            gc.drawText(n, a.x, ly, true);
            ly += 16;
        }
        grid.dispose();
    }

    static String tick(double v) {
        return org.llmwb.core.plot.SvgExport.tickLabel(v); // the exported plots' labels
    }
}
