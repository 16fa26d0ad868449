package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Removes a GPU from its pool and its node. */
public class DeleteGpuCommand extends Command {
    private final Layout layout;
    private final Layout.Gpu gpu;
    private Layout.PoolSlot slot;
    private int nodeIndex;

    public DeleteGpuCommand(Layout layout, Layout.Gpu gpu) {
        super("Delete GPU " + gpu.id());
        this.layout = layout;
        this.gpu = gpu;
    }

    @Override
    public void execute() {
        nodeIndex = gpu.node().gpus().indexOf(gpu);
        slot = layout.moveGpu(gpu, null, 0);
        layout.removeGpu(gpu);
    }

    @Override
    public void undo() {
        layout.restoreGpu(gpu, nodeIndex);
        if (slot != null) {
            layout.moveGpu(gpu, slot.pool(), slot.index());
        }
    }
}
