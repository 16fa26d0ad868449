package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Sets one pool property: name, role, tp, pp, ep, cp or sp. */
public class SetPoolPropertyCommand extends Command {
    private final Layout layout;
    private final Layout.Pool pool;
    private final String key;
    private final Object value;
    private Object old;

    public SetPoolPropertyCommand(Layout layout, Layout.Pool pool, String key, Object value) {
        super("Set " + pool.name() + " " + key + " = " + value);
        this.layout = layout;
        this.pool = pool;
        this.key = key;
        this.value = value;
    }

    @Override
    public boolean canExecute() {
        return !(value instanceof Integer i) || i >= 1;
    }

    @Override
    public void execute() {
        old = layout.setPoolProperty(pool, key, value);
    }

    @Override
    public void undo() {
        layout.setPoolProperty(pool, key, old);
    }
}
