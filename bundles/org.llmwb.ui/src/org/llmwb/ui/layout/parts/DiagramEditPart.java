package org.llmwb.ui.layout.parts;

import java.util.ArrayList;
import java.util.List;

import org.eclipse.draw2d.FreeformLayout;
import org.eclipse.draw2d.FreeformLayer;
import org.eclipse.draw2d.IFigure;
import org.eclipse.draw2d.geometry.Rectangle;
import org.eclipse.gef.GraphicalEditPart;
import org.eclipse.gef.EditPart;
import org.eclipse.gef.EditPolicy;
import org.eclipse.gef.commands.Command;
import org.eclipse.gef.editparts.AbstractGraphicalEditPart;
import org.eclipse.gef.editpolicies.FlowLayoutEditPolicy;
import org.eclipse.gef.editpolicies.RootComponentEditPolicy;
import org.eclipse.gef.requests.CreateRequest;
import org.llmwb.core.layout.Layout;
import org.llmwb.ui.layout.LayoutPalette;
import org.llmwb.ui.layout.commands.AddNodeCommand;
import org.llmwb.ui.layout.commands.AddPoolCommand;

/** The diagram: pools side by side, then the idle GPUs. Nodes and pools are created by dropping on it. */
public class DiagramEditPart extends AbstractGraphicalEditPart {
    private static final int GAP = 16;
    private final LayoutContext context;

    DiagramEditPart(LayoutContext context) {
        this.context = context;
    }

    @Override
    protected IFigure createFigure() {
        FreeformLayer f = new FreeformLayer();
        f.setLayoutManager(new FreeformLayout());
        return f;
    }

    /**
     * Pools stacked top to bottom at their preferred size (a flow layout would squeeze a wide pool
     * into a narrow editor and clip its GPUs); the canvas scrolls instead.
     */
    private void layoutPools() {
        int y = GAP;
        for (Object c : getChildren()) {
            IFigure f = ((GraphicalEditPart) c).getFigure();
            setLayoutConstraint((GraphicalEditPart) c, f, new Rectangle(GAP, y, -1, -1));
            y += f.getPreferredSize().height + GAP;
        }
    }

    @Override
    protected void refreshChildren() {
        super.refreshChildren();
        layoutPools();
    }

    @Override
    protected List<Object> getModelChildren() {
        Layout l = context.layout();
        List<Object> c = new ArrayList<>(l.pools());
        c.add(new LayoutContext.Unassigned(l));
        return c;
    }

    @Override
    protected void createEditPolicies() {
        installEditPolicy(EditPolicy.COMPONENT_ROLE, new RootComponentEditPolicy());
        installEditPolicy(EditPolicy.LAYOUT_ROLE, new FlowLayoutEditPolicy() {
            @Override
            protected boolean isHorizontal() {
                return true;
            }

            @Override
            protected Command createAddCommand(EditPart child, EditPart after) {
                return null;
            }

            @Override
            protected Command createMoveChildCommand(EditPart child, EditPart after) {
                return null;
            }

            @Override
            protected Command getCreateCommand(CreateRequest request) {
                return createOnDiagram(context.layout(), request);
            }
        });
    }

    static Command createOnDiagram(Layout l, CreateRequest request) {
        Object type = request.getNewObjectType();
        if (type == LayoutPalette.NODE) {
            String gpu = l.nodes().isEmpty() ? "h100-sxm" : l.nodes().getLast().gpuType();
            return new AddNodeCommand(l, gpu, Layout.Fabric.NVSWITCH, 8);
        }
        if (type == LayoutPalette.POOL) {
            return new AddPoolCommand(l, l.mode() == Layout.Mode.DISAGGREGATED ? Layout.Role.DECODE : Layout.Role.AGGREGATED);
        }
        return null;
    }

    /** Rebuilds children and repaints every box from the context's current analysis. */
    public void refreshAll() {
        super.refreshChildren();
        for (Object c : getChildren()) {
            PoolEditPart p = (PoolEditPart) c;
            p.refreshAll();
        }
        layoutPools();
        refreshVisuals();
    }

    /** The edit part of a pool by name (tests and the panel). */
    public PoolEditPart pool(String name) {
        for (Object c : getChildren()) {
            PoolEditPart p = (PoolEditPart) c;
            if (p.getModel() instanceof Layout.Pool pool && pool.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    public PoolEditPart unassigned() {
        return (PoolEditPart) getChildren().get(getChildren().size() - 1);
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Object getAdapter(Class key) {
        if (key == org.eclipse.ui.views.properties.IPropertySource.class) {
            return new org.llmwb.ui.layout.LayoutProperties.Diagram(context.layout(), getViewer().getEditDomain().getCommandStack());
        }
        return super.getAdapter(key);
    }
}
