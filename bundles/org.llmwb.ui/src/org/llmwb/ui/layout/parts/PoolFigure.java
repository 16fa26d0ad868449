package org.llmwb.ui.layout.parts;

import org.eclipse.draw2d.Figure;
import org.eclipse.draw2d.GridLayout;
import org.eclipse.draw2d.Label;
import org.eclipse.draw2d.LineBorder;
import org.eclipse.draw2d.MarginBorder;
import org.eclipse.draw2d.PositionConstants;
import org.eclipse.draw2d.ToolbarLayout;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.widgets.Display;

/** A pool (or the idle GPUs): a titled box whose content pane lays GPUs out four to a row. */
public class PoolFigure extends Figure {
    private final Label title = new Label();
    private final Figure contents = new Figure();
    private final GridLayout grid = new GridLayout(4, true);

    public PoolFigure() {
        ToolbarLayout tl = new ToolbarLayout(false);
        tl.setSpacing(4);
        tl.setStretchMinorAxis(true);
        setLayoutManager(tl);
        setBorder(new LineBorder(1));
        setOpaque(true);
        setBackgroundColor(new Color(Display.getCurrent(), 248, 248, 248));
        title.setLabelAlignment(PositionConstants.LEFT);
        title.setBorder(new MarginBorder(4, 6, 0, 6));
        add(title);
        grid.horizontalSpacing = 6;
        grid.verticalSpacing = 6;
        contents.setLayoutManager(grid);
        contents.setBorder(new MarginBorder(4, 6, 8, 6));
        add(contents);
    }

    public Figure contents() {
        return contents;
    }

    public void update(String text, int[] rgb, int gpus) {
        title.setText(text);
        title.setForegroundColor(new Color(Display.getCurrent(), rgb[0] * 2 / 3, rgb[1] * 2 / 3, rgb[2] * 2 / 3));
        setBorder(new LineBorder(new Color(Display.getCurrent(), rgb[0], rgb[1], rgb[2]), 2));
        grid.numColumns = Math.max(1, Math.min(4, gpus));
        contents.setPreferredSize(gpus == 0 ? new org.eclipse.draw2d.geometry.Dimension(GpuFigure.W + 12, 40) : null);
        contents.revalidate();
    }

    public String titleText() {
        return title.getText();
    }
}
