package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Adds a GPU to a node and, when a pool is given, puts it at the end of that pool. */
public class AddGpuCommand extends Command {
    private final Layout layout;
    private final Layout.Node node;
    private final Layout.Pool pool;
    private Layout.Gpu gpu;

    public AddGpuCommand(Layout layout, Layout.Node node, Layout.Pool pool) {
        super("Add GPU to " + node.name());
        this.layout = layout;
        this.node = node;
        this.pool = pool;
    }

    @Override
    public boolean canExecute() {
        return node != null;
    }

    @Override
    public void execute() {
        if (gpu == null) {
            gpu = layout.addGpu(node);
        } else {
            layout.restoreGpu(gpu, node.gpus().size());
        }
        if (pool != null) {
            layout.moveGpu(gpu, pool, pool.gpus().size());
        }
    }

    @Override
    public void undo() {
        layout.moveGpu(gpu, null, 0);
        layout.removeGpu(gpu);
    }

    public Layout.Gpu gpu() {
        return gpu;
    }
}
