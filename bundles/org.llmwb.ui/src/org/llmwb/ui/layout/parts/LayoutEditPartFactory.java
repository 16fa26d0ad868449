package org.llmwb.ui.layout.parts;

import org.eclipse.gef.EditPart;
import org.eclipse.gef.EditPartFactory;
import org.llmwb.core.layout.Layout;

/** Layout → diagram, pools (and the idle box) → pool boxes, GPUs → GPU boxes. */
public class LayoutEditPartFactory implements EditPartFactory {
    private final LayoutContext context;

    public LayoutEditPartFactory(LayoutContext context) {
        this.context = context;
    }

    @Override
    public EditPart createEditPart(EditPart parent, Object model) {
        EditPart p;
        if (model instanceof Layout) {
            p = new DiagramEditPart(context);
        } else if (model instanceof Layout.Pool || model instanceof LayoutContext.Unassigned) {
            p = new PoolEditPart(context);
        } else if (model instanceof Layout.Gpu) {
            p = new GpuEditPart(context);
        } else {
            throw new IllegalArgumentException("no edit part for " + model);
        }
        p.setModel(model);
        return p;
    }
}
