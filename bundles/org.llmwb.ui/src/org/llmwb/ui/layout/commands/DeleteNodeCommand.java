package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Removes a node and its GPUs (from whatever pools held them). */
public class DeleteNodeCommand extends Command {
    private final Layout layout;
    private final Layout.Node node;
    private Layout.NodeRemoval removal;

    public DeleteNodeCommand(Layout layout, Layout.Node node) {
        super("Delete node " + node.name());
        this.layout = layout;
        this.node = node;
    }

    @Override
    public void execute() {
        removal = layout.removeNode(node);
    }

    @Override
    public void undo() {
        layout.restoreNode(removal);
    }
}
