package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Adds an empty pool with a role. */
public class AddPoolCommand extends Command {
    private final Layout layout;
    private final Layout.Role role;
    private Layout.Pool pool;
    private int at;

    public AddPoolCommand(Layout layout, Layout.Role role) {
        super("Add " + role.name().toLowerCase() + " pool");
        this.layout = layout;
        this.role = role;
    }

    @Override
    public void execute() {
        pool = layout.addPool(role.name().toLowerCase(), role);
        at = layout.pools().indexOf(pool);
    }

    @Override
    public void undo() {
        layout.removePool(pool);
    }

    @Override
    public void redo() {
        layout.insertPool(at, pool);
    }

    public Layout.Pool pool() {
        return pool;
    }
}
