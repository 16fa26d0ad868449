package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Moves a GPU into a pool at a rank, out of every pool ({@code to == null}), or to another rank of its pool. */
public class MoveGpuCommand extends Command {
    private final Layout layout;
    private final Layout.Gpu gpu;
    private final Layout.Pool to;
    private final int index;
    private Layout.PoolSlot from;

    public MoveGpuCommand(Layout layout, Layout.Gpu gpu, Layout.Pool to, int index) {
        super(to == null ? "Unassign " + gpu.id() : "Move " + gpu.id() + " to " + to.name());
        this.layout = layout;
        this.gpu = gpu;
        this.to = to;
        this.index = index;
    }

    @Override
    public void execute() {
        from = layout.moveGpu(gpu, to, index);
    }

    @Override
    public void undo() {
        layout.moveGpu(gpu, from == null ? null : from.pool(), from == null ? 0 : from.index());
    }

    @Override
    public void redo() {
        layout.moveGpu(gpu, to, index);
    }
}
