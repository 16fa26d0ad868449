package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;

import org.eclipse.gef.commands.Command;
import org.junit.jupiter.api.Test;
import org.llmwb.core.layout.Layout;
import org.llmwb.core.layout.LayoutPresets;
import org.llmwb.core.layout.LayoutYaml;
import org.llmwb.ui.layout.commands.AddGpuCommand;
import org.llmwb.ui.layout.commands.AddNodeCommand;
import org.llmwb.ui.layout.commands.AddPoolCommand;
import org.llmwb.ui.layout.commands.DeleteGpuCommand;
import org.llmwb.ui.layout.commands.DeleteNodeCommand;
import org.llmwb.ui.layout.commands.DeletePoolCommand;
import org.llmwb.ui.layout.commands.MoveGpuCommand;
import org.llmwb.ui.layout.commands.SetLayoutSettingCommand;
import org.llmwb.ui.layout.commands.SetPoolPropertyCommand;

/**
 * Every layout command, headless: execute changes the model, undo gives back exactly the YAML it
 * started from, redo gives exactly the YAML after execute (the file is the model's full state).
 */
class LayoutCommandsTest {

    private static Layout preset() {
        return LayoutPresets.get("llama3-70b-disagg-2node").load();
    }

    private static void roundTrip(Layout l, Command c, Function<Layout, Boolean> changed) {
        String before = LayoutYaml.write(l);
        assertTrue(c.canExecute(), c.getLabel());
        c.execute();
        String after = LayoutYaml.write(l);
        assertFalse(before.equals(after), c.getLabel() + " changed nothing");
        assertTrue(changed.apply(l), c.getLabel() + ": not the expected change\n" + after);
        c.undo();
        assertEquals(before, LayoutYaml.write(l), c.getLabel() + " undo");
        c.redo();
        assertEquals(after, LayoutYaml.write(l), c.getLabel() + " redo");
        c.undo();
        assertEquals(before, LayoutYaml.write(l), c.getLabel() + " second undo");
    }

    @Test
    void moveGpuBetweenPoolsAndOutOfAllPools() {
        Layout l = preset();
        roundTrip(l, new MoveGpuCommand(l, l.gpu("node1/7"), l.poolNamed("prefill"), 3),
                x -> x.poolNamed("prefill").gpus().get(3).id().equals("node1/7") && x.poolNamed("decode").gpus().size() == 7);
        roundTrip(l, new MoveGpuCommand(l, l.gpu("node0/0"), null, 0), x -> x.poolOf(x.gpu("node0/0")) == null);
        // reorder inside one pool: rank order is part of the layout
        roundTrip(l, new MoveGpuCommand(l, l.gpu("node0/0"), l.poolNamed("prefill"), 7), x -> x.poolNamed("prefill").gpus().get(7).id().equals("node0/0"));
    }

    @Test
    void addAndDeleteNodes() {
        Layout l = preset();
        roundTrip(l, new AddNodeCommand(l, "h200", Layout.Fabric.NVSWITCH, 4), x -> x.nodes().size() == 3 && x.unassigned().size() == 4
                && x.nodes().get(2).gpuType().equals("h200"));
        roundTrip(l, new DeleteNodeCommand(l, l.nodeNamed("node1")), x -> x.nodes().size() == 1 && x.poolNamed("decode").gpus().isEmpty());
    }

    @Test
    void addAndDeleteGpus() {
        Layout l = preset();
        roundTrip(l, new AddGpuCommand(l, l.nodeNamed("node1"), l.poolNamed("decode")),
                x -> x.nodeNamed("node1").gpus().size() == 9 && x.poolNamed("decode").gpus().size() == 9);
        roundTrip(l, new AddGpuCommand(l, l.nodeNamed("node0"), null), x -> x.unassigned().size() == 1);
        roundTrip(l, new DeleteGpuCommand(l, l.gpu("node0/3")), x -> x.gpu("node0/3") == null && x.poolNamed("prefill").gpus().size() == 7);
    }

    @Test
    void addAndDeletePools() {
        Layout l = preset();
        roundTrip(l, new AddPoolCommand(l, Layout.Role.DECODE), x -> x.pools().size() == 3 && x.pools().get(2).role() == Layout.Role.DECODE);
        roundTrip(l, new DeletePoolCommand(l, l.poolNamed("prefill")), x -> x.poolNamed("prefill") == null && x.unassigned().size() == 8);
    }

    @Test
    void deletedPoolComesBackWithItsRanksEvenAfterLaterMoves() {
        Layout l = preset();
        DeletePoolCommand del = new DeletePoolCommand(l, l.poolNamed("decode"));
        del.execute();
        assertNull(l.poolNamed("decode"));
        del.undo();
        assertEquals("node1/0", l.poolNamed("decode").gpus().get(0).id());
        assertEquals(8, l.poolNamed("decode").gpus().size());
    }

    @Test
    void setPoolPropertiesAndSettings() {
        Layout l = preset();
        roundTrip(l, new SetPoolPropertyCommand(l, l.poolNamed("decode"), "tp", 4), x -> x.poolNamed("decode").tp() == 4);
        roundTrip(l, new SetPoolPropertyCommand(l, l.poolNamed("decode"), "role", Layout.Role.AGGREGATED),
                x -> x.poolNamed("decode").role() == Layout.Role.AGGREGATED);
        roundTrip(l, new SetPoolPropertyCommand(l, l.poolNamed("decode"), "sp", true), x -> x.poolNamed("decode").sp());
        assertFalse(new SetPoolPropertyCommand(l, l.poolNamed("decode"), "tp", 0).canExecute());
        roundTrip(l, new SetLayoutSettingCommand(l, "model", "llama-3.1-8b"), x -> x.model().equals("llama-3.1-8b"));
        roundTrip(l, new SetLayoutSettingCommand(l, "mode", Layout.Mode.AGGREGATED), x -> x.mode() == Layout.Mode.AGGREGATED);
        roundTrip(l, new SetLayoutSettingCommand(l, "context", 32768L), x -> x.context() == 32768L);
    }
}
