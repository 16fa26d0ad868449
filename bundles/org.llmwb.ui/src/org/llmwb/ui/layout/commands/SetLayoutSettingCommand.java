package org.llmwb.ui.layout.commands;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Sets one deployment setting (model, weights, kv, context, batch, mode, network ...). */
public class SetLayoutSettingCommand extends Command {
    private final Layout layout;
    private final String key;
    private final Object value;
    private Object old;

    public SetLayoutSettingCommand(Layout layout, String key, Object value) {
        super("Set " + key + " = " + value);
        this.layout = layout;
        this.key = key;
        this.value = value;
    }

    @Override
    public void execute() {
        old = layout.setSetting(key, value);
    }

    @Override
    public void undo() {
        layout.setSetting(key, old);
    }
}
