package org.llmwb.viz;

import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.GC;
import org.eclipse.swt.graphics.Rectangle;
import org.eclipse.swt.widgets.Canvas;
import org.eclipse.swt.widgets.Composite;
import org.llmwb.core.plot.BarModel;

/** Draws a {@link BarModel}: a stacked bar scaled to its total, with a legend of values below. */
public class BarCanvas extends Canvas {
    private BarModel model;

    public BarCanvas(Composite parent, int style) {
        super(parent, style | SWT.DOUBLE_BUFFERED);
        addPaintListener(e -> paint(e.gc));
    }

    public void setModel(BarModel model) {
        checkWidget();
        this.model = model;
        redraw();
    }

    public BarModel getModel() {
        return model;
    }

    private void paint(GC gc) {
        Rectangle c = getClientArea();
        gc.setBackground(getDisplay().getSystemColor(SWT.COLOR_WHITE));
        gc.fillRectangle(c);
        if (model == null) {
            return;
        }
        Color fg = getDisplay().getSystemColor(SWT.COLOR_BLACK);
        gc.setForeground(fg);
        gc.drawText(model.title(), 8, 4, true);
        int x0 = 8, y0 = 24, w = Math.max(10, c.width - 16), h = 28;
        double sum = model.segments().stream().mapToDouble(BarModel.Segment::value).sum();
        double scale = Math.max(model.total(), sum);
        int x = x0;
        for (BarModel.Segment s : model.segments()) {
            int sw = (int) Math.round(w * s.value() / scale);
            if (s.colorIndex() >= 0) {
                gc.setBackground(Colors.of(getDisplay(), s.colorIndex()));
                gc.fillRectangle(x, y0, sw, h);
            }
            x += sw;
        }
        gc.setForeground(fg);
        gc.drawRectangle(x0, y0, (int) Math.round(w * model.total() / scale), h);
        if (model.overflow()) {
            gc.setForeground(getDisplay().getSystemColor(SWT.COLOR_RED));
            gc.drawText("does not fit: weights and activations exceed usable memory", x0, y0 + h + 4, true);
        }
        int ly = y0 + h + (model.overflow() ? 22 : 6);
        int lx = x0;
        for (BarModel.Segment s : model.segments()) {
            String t = s.label() + " " + s.valueText();
            int tw = gc.textExtent(t).x + 30;
            if (lx + tw > c.width) {
                lx = x0;
                ly += 18;
            }
            if (s.colorIndex() >= 0) {
                gc.setBackground(Colors.of(getDisplay(), s.colorIndex()));
                gc.fillRectangle(lx, ly + 3, 12, 12);
            } else {
                gc.setForeground(fg);
                gc.drawRectangle(lx, ly + 3, 11, 11);
            }
            gc.setForeground(fg);
            gc.drawText(t, lx + 16, ly, true);
            lx += tw;
        }
    }
}
