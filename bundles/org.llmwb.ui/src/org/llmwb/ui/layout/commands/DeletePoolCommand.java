package org.llmwb.ui.layout.commands;

import java.util.ArrayList;
import java.util.List;

import org.eclipse.gef.commands.Command;
import org.llmwb.core.layout.Layout;

/** Deletes a pool; its GPUs become unassigned. Undo puts the pool and its GPUs back in rank order. */
public class DeletePoolCommand extends Command {
    private final Layout layout;
    private final Layout.Pool pool;
    private final List<Layout.Gpu> gpus = new ArrayList<>();
    private int at;

    public DeletePoolCommand(Layout layout, Layout.Pool pool) {
        super("Delete pool " + pool.name());
        this.layout = layout;
        this.pool = pool;
    }

    @Override
    public void execute() {
        gpus.clear();
        gpus.addAll(pool.gpus());
        at = layout.removePool(pool);
    }

    @Override
    public void undo() {
        layout.insertPool(at, pool);
        // the pool kept its GPU list; GPUs moved into other pools since then were taken back by insertPool
        for (int i = 0; i < gpus.size(); i++) {
            if (!pool.gpus().contains(gpus.get(i))) {
                layout.moveGpu(gpus.get(i), pool, i);
            }
        }
    }
}
