package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Adds a node of GPUs (not in any pool yet) to the cluster. */
public class AddNodeCommand extends Command {
    private final Layout layout;
    private final String gpuType;
    private final Layout.Fabric fabric;
    private final int gpus;
    private Layout.Node node;
    private Layout.NodeRemoval removal;

    public AddNodeCommand(Layout layout, String gpuType, Layout.Fabric fabric, int gpus) {
        super("Add node of " + gpus + " × " + gpuType);
        this.layout = layout;
        this.gpuType = gpuType;
        this.fabric = fabric;
        this.gpus = gpus;
    }

    @Override
    public void execute() {
        node = layout.addNode(layout.nextNodeName(), gpuType, fabric, gpus);
    }

    @Override
    public void undo() {
        removal = layout.removeNode(node);
    }

    @Override
    public void redo() {
        layout.restoreNode(removal);
    }

    public Layout.Node node() {
        return node;
    }
}
