package org.llmwb.ui.layout.parts;

import java.util.ArrayList;
import java.util.List;

import org.eclipse.draw2d.IFigure;
import org.eclipse.gef.EditPart;
import org.eclipse.gef.EditPolicy;
import org.eclipse.gef.commands.Command;
import org.eclipse.gef.editparts.AbstractGraphicalEditPart;
import org.eclipse.gef.editpolicies.ComponentEditPolicy;
import org.eclipse.gef.editpolicies.FlowLayoutEditPolicy;
import org.eclipse.gef.requests.CreateRequest;
import org.eclipse.gef.requests.GroupRequest;
import org.llmwb.core.layout.Layout;
import org.llmwb.core.layout.LayoutSvg;
import org.llmwb.core.layout.LayoutColors;
import org.llmwb.ui.layout.LayoutPalette;
import org.llmwb.ui.layout.commands.AddGpuCommand;
import org.llmwb.ui.layout.commands.DeletePoolCommand;
import org.llmwb.ui.layout.commands.MoveGpuCommand;

/**
 * A pool box (or the idle box). Dropping a GPU here moves it into the pool at the drop position
 * (its rank); dropping the GPU tool adds a new GPU to the pool; Delete removes the pool.
 */
public class PoolEditPart extends AbstractGraphicalEditPart {
    private final LayoutContext context;

    PoolEditPart(LayoutContext context) {
        this.context = context;
    }

    /** The pool, or null for the idle box. */
    public Layout.Pool pool() {
        return getModel() instanceof Layout.Pool p ? p : null;
    }

    @Override
    protected IFigure createFigure() {
        return new PoolFigure();
    }

    @Override
    public IFigure getContentPane() {
        return ((PoolFigure) getFigure()).contents();
    }

    @Override
    protected List<Layout.Gpu> getModelChildren() {
        Layout.Pool p = pool();
        return p != null ? new ArrayList<>(p.gpus()) : context.layout().unassigned();
    }

    @Override
    protected void createEditPolicies() {
        if (pool() != null) {
            installEditPolicy(EditPolicy.COMPONENT_ROLE, new ComponentEditPolicy() {
                @Override
                protected Command createDeleteCommand(GroupRequest r) {
                    return new DeletePoolCommand(context.layout(), pool());
                }
            });
        }
        installEditPolicy(EditPolicy.LAYOUT_ROLE, new FlowLayoutEditPolicy() {
            @Override
            protected boolean isHorizontal() {
                return true;
            }

            @Override
            protected Command createAddCommand(EditPart child, EditPart after) {
                Layout.Gpu g = (Layout.Gpu) child.getModel();
                return new MoveGpuCommand(context.layout(), g, pool(), indexOf(after));
            }

            @Override
            protected Command createMoveChildCommand(EditPart child, EditPart after) {
                if (pool() == null) {
                    return null; // the idle box has no order
                }
                Layout.Gpu g = (Layout.Gpu) child.getModel();
                int to = indexOf(after);
                int from = pool().gpus().indexOf(g);
                return new MoveGpuCommand(context.layout(), g, pool(), to > from ? to - 1 : to);
            }

            @Override
            protected Command getCreateCommand(CreateRequest request) {
                if (request.getNewObjectType() == LayoutPalette.GPU) {
                    Layout l = context.layout();
                    Layout.Node node = pool() != null && !pool().gpus().isEmpty() ? pool().gpus().getLast().node()
                            : l.nodes().isEmpty() ? null : l.nodes().getLast();
                    return node == null ? null : new AddGpuCommand(l, node, pool());
                }
                return DiagramEditPart.createOnDiagram(context.layout(), request);
            }
        });
    }

    private int indexOf(EditPart after) {
        if (after == null) {
            return pool() == null ? 0 : pool().gpus().size();
        }
        return pool() == null ? 0 : pool().gpus().indexOf(after.getModel());
    }

    @Override
    protected void refreshVisuals() {
        PoolFigure f = (PoolFigure) getFigure();
        Layout.Pool p = pool();
        if (p == null) {
            f.update("idle GPUs (in no pool): " + context.layout().unassigned().size(), LayoutColors.IDLE, context.layout().unassigned().size());
            return;
        }
        int bad = (int) context.report().problems().stream().filter(q -> q.isError() && q.message().startsWith("pool '" + p.name() + "'")).count();
        f.update(LayoutSvg.title(p) + " · " + p.gpus().size() + " GPUs"
                + (bad > 0 ? "  ⚠ " + bad + " error" + (bad > 1 ? "s" : "") : ""), LayoutColors.role(p.role()), p.gpus().size());
    }

    void refreshAll() {
        refreshChildren();
        refreshVisuals();
        for (Object c : getChildren()) {
            ((GpuEditPart) c).refreshVisuals();
        }
    }

    public PoolFigure poolFigure() {
        return (PoolFigure) getFigure();
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Object getAdapter(Class key) {
        if (key == org.eclipse.ui.views.properties.IPropertySource.class) {
            return pool() == null ? null
                    : new org.llmwb.ui.layout.LayoutProperties.Pool(context.layout(), getViewer().getEditDomain().getCommandStack(), pool());
        }
        return super.getAdapter(key);
    }
}
