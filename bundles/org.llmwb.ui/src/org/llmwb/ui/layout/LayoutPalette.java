package org.llmwb.ui.layout;

import org.eclipse.gef.palette.CreationToolEntry;
import org.eclipse.gef.palette.MarqueeToolEntry;
import org.eclipse.gef.palette.PaletteDrawer;
import org.eclipse.gef.palette.PaletteRoot;
import org.eclipse.gef.palette.PanningSelectionToolEntry;
import org.eclipse.gef.palette.ToolEntry;
import org.eclipse.gef.requests.CreationFactory;

/** The layout editor's palette: select, marquee, and tools that add a node, a GPU or a pool. */
public final class LayoutPalette {
    /** Object types the creation tools carry; the edit policies turn them into commands. */
    public static final Object NODE = "llmwb.node";
    public static final Object GPU = "llmwb.gpu";
    public static final Object POOL = "llmwb.pool";

    private LayoutPalette() {
    }

    public static PaletteRoot create() {
        PaletteRoot root = new PaletteRoot();
        PaletteDrawer tools = new PaletteDrawer("Tools");
        ToolEntry select = new PanningSelectionToolEntry();
        tools.add(select);
        tools.add(new MarqueeToolEntry());
        root.add(tools);
        root.setDefaultEntry(select);
        PaletteDrawer cluster = new PaletteDrawer("Cluster");
        cluster.add(new CreationToolEntry("Node (8 GPUs)", "Add a node of 8 GPUs of the last node's type; its GPUs start idle", factory(NODE), null, null));
        cluster.add(new CreationToolEntry("GPU", "Drop on a pool: adds a GPU to that pool's node and to the pool", factory(GPU), null, null));
        root.add(cluster);
        PaletteDrawer deploy = new PaletteDrawer("Deployment");
        deploy.add(new CreationToolEntry("Pool", "Add an empty pool (set its role and parallelism in Properties)", factory(POOL), null, null));
        root.add(deploy);
        return root;
    }

    private static CreationFactory factory(Object type) {
        return new CreationFactory() {
            @Override
            public Object getNewObject() {
                return type;
            }

            @Override
            public Object getObjectType() {
                return type;
            }
        };
    }
}
