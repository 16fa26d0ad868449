package org.llmwb.ui.layout.parts;

import org.eclipse.draw2d.IFigure;
import org.eclipse.gef.EditPart;
import org.eclipse.gef.EditPolicy;
import org.eclipse.gef.commands.Command;
import org.eclipse.gef.editparts.AbstractGraphicalEditPart;
import org.eclipse.gef.editpolicies.ComponentEditPolicy;
import org.eclipse.gef.editpolicies.NonResizableEditPolicy;
import org.eclipse.gef.requests.GroupRequest;
import org.llmwb.core.Units;
import org.llmwb.core.layout.Layout;
import org.llmwb.core.layout.LayoutAnalysis;
import org.llmwb.core.layout.LayoutColors;
import org.llmwb.core.layout.LayoutSvg;
import org.llmwb.ui.layout.commands.DeleteGpuCommand;

/** A GPU box: draggable between pools, deletable; shows its overlay colour, ranks and memory. */
public class GpuEditPart extends AbstractGraphicalEditPart {
    private final LayoutContext context;

    GpuEditPart(LayoutContext context) {
        this.context = context;
    }

    public Layout.Gpu gpu() {
        return (Layout.Gpu) getModel();
    }

    @Override
    protected IFigure createFigure() {
        return new GpuFigure();
    }

    @Override
    protected void createEditPolicies() {
        installEditPolicy(EditPolicy.COMPONENT_ROLE, new ComponentEditPolicy() {
            @Override
            protected Command createDeleteCommand(GroupRequest r) {
                return new DeleteGpuCommand(context.layout(), gpu());
            }
        });
        installEditPolicy(EditPolicy.PRIMARY_DRAG_ROLE, new NonResizableEditPolicy());
    }

    @Override
    public void setSelected(int value) {
        super.setSelected(value);
        ((GpuFigure) getFigure()).setSelected(value != EditPart.SELECTED_NONE);
    }

    @Override
    protected void refreshVisuals() {
        LayoutAnalysis.GpuReport g = context.report().gpu(gpu().id());
        if (g == null) {
            return;
        }
        String tip = gpu().id() + " (" + gpu().node().gpuType() + ", " + gpu().node().fabric().name().toLowerCase() + ")\n" + LayoutSvg.ranks(g);
        if (g.memory() != null) {
            tip += "\nweights " + Units.gib(g.memory().weights()) + ", activations " + Units.gib(g.memory().activations()) + ", KV budget "
                    + Units.gib(g.memory().kvBudget()) + " of " + Units.gib(g.memory().total());
        }
        ((GpuFigure) getFigure()).update(LayoutColors.rgb(context.layout(), g, context.colorBy()), gpu().id(), LayoutSvg.ranks(g),
                LayoutSvg.memoryLine(g), LayoutSvg.memoryFractions(g), tip);
    }

    public GpuFigure gpuFigure() {
        return (GpuFigure) getFigure();
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Object getAdapter(Class key) {
        if (key == org.eclipse.ui.views.properties.IPropertySource.class) {
            return new org.llmwb.ui.layout.LayoutProperties.Gpu(context.layout(), getViewer().getEditDomain().getCommandStack(), gpu());
        }
        return super.getAdapter(key);
    }
}
