package org.llmwb.ui.layout;

import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.ScrolledComposite;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Canvas;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.TableItem;
import org.llmwb.core.Problem;
import org.llmwb.core.Units;
import org.llmwb.core.layout.Layout;
import org.llmwb.core.layout.LayoutAnalysis;
import org.llmwb.core.layout.LayoutColors;
import org.llmwb.core.plan.PlanResult;

/**
 * The live side panel of the layout editor: overlay and export controls, a summary, the legend,
 * per-GPU memory, per-step communication by collective and link, step-time lower bounds, the P→D
 * KV transfer, and the problems with what to change. It only renders a {@link LayoutAnalysis.Report}.
 */
public class LayoutPanel {
    /** What the buttons do; the editor supplies them. */
    public record Actions(Consumer<LayoutColors.ColorBy> colorBy, Runnable zoomIn, Runnable zoomOut, Runnable exportFlags, Runnable exportPng,
            Runnable exportSvg) {
    }

    private final ScrolledComposite scroll;
    private final Composite body;
    private final Combo colorBy;
    private final Label summary;
    private final Canvas legend;
    private final Table memory;
    private final Table comm;
    private final Label bounds;
    private final Table problems;
    private List<LayoutColors.Entry> legendEntries = List.of();

    public LayoutPanel(Composite parent, Actions actions) {
        scroll = new ScrolledComposite(parent, SWT.V_SCROLL | SWT.H_SCROLL);
        body = new Composite(scroll, SWT.NONE);
        body.setLayout(new GridLayout(1, false));
        scroll.setContent(body);
        scroll.setExpandHorizontal(true);
        scroll.setExpandVertical(true);
        scroll.addListener(SWT.Resize, e -> fit());

        Composite bar = new Composite(body, SWT.NONE);
        bar.setLayout(new org.eclipse.swt.layout.RowLayout());
        bar.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        Label cl = new Label(bar, SWT.NONE);
        cl.setText("Colour by");
        colorBy = new Combo(bar, SWT.READ_ONLY);
        for (LayoutColors.ColorBy c : LayoutColors.ColorBy.values()) {
            colorBy.add(c.label());
        }
        colorBy.select(0);
        colorBy.addListener(SWT.Selection, e -> actions.colorBy().accept(LayoutColors.ColorBy.values()[colorBy.getSelectionIndex()]));
        button(bar, "−", "Zoom out", actions.zoomOut());
        button(bar, "+", "Zoom in", actions.zoomIn());
        button(bar, "Engine flags…", "vLLM, SGLang, TensorRT-LLM and Dynamo", actions.exportFlags());
        button(bar, "PNG…", "Save the diagram as PNG", actions.exportPng());
        button(bar, "SVG…", "Save the diagram as SVG", actions.exportSvg());

        summary = new Label(body, SWT.WRAP);
        summary.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        legend = new Canvas(body, SWT.NONE);
        GridData lg = new GridData(SWT.FILL, SWT.TOP, true, false);
        lg.heightHint = 44;
        legend.setLayoutData(lg);
        legend.addPaintListener(e -> {
            int x = 2;
            int y = 2;
            for (LayoutColors.Entry en : legendEntries) {
                int w = e.gc.textExtent(en.label()).x + 26;
                if (x + w > legend.getSize().x && x > 2) {
                    x = 2;
                    y += 20;
                }
                e.gc.setBackground(new Color(e.display, en.rgb()[0], en.rgb()[1], en.rgb()[2]));
                e.gc.fillRectangle(x, y + 2, 14, 14);
                e.gc.drawRectangle(x, y + 2, 14, 14);
                e.gc.drawText(en.label(), x + 18, y + 1, true);
                x += w;
            }
        });

        Label bars = new Label(body, SWT.WRAP);
        bars.setText("GPU boxes: memory bar = weights (dark) · activations (orange) · KV budget (teal) · free; "
                + org.llmwb.core.layout.LayoutSvg.MEMORY_LINE_UNITS);
        bars.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        section("Memory per GPU (most loaded pipeline stage of each pool)");
        memory = table(new String[] {"GPU", "pool", "weights", "activations", "KV budget", "free", "of"}, 8);
        section("Communication per step (α-β estimate over the link each group uses)");
        comm = table(new String[] {"pool", "phase", "collective", "group", "link", "per GPU", "time"}, 8);
        section("Bounds and transfers");
        bounds = new Label(body, SWT.WRAP);
        bounds.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        section("Problems (also in the Problems view)");
        problems = table(new String[] {"", "what", "what to change"}, 6);
    }

    private void button(Composite bar, String text, String tip, Runnable r) {
        Button b = new Button(bar, SWT.PUSH);
        b.setText(text);
        b.setToolTipText(tip);
        b.addListener(SWT.Selection, e -> r.run());
    }

    private void section(String title) {
        Label l = new Label(body, SWT.NONE);
        l.setText(title);
        l.setFont(org.eclipse.jface.resource.JFaceResources.getBannerFont());
    }

    private Table table(String[] cols, int rows) {
        Table t = new Table(body, SWT.BORDER | SWT.FULL_SELECTION);
        t.setHeaderVisible(true);
        t.setLinesVisible(true);
        for (String c : cols) {
            new TableColumn(t, SWT.LEFT).setText(c);
        }
        GridData gd = new GridData(SWT.FILL, SWT.TOP, true, false);
        gd.heightHint = t.getItemHeight() * rows + t.getHeaderHeight();
        t.setLayoutData(gd);
        return t;
    }

    public void show(Layout l, LayoutAnalysis.Report r, LayoutColors.ColorBy by) {
        long gpus = l.allGpus().size();
        long errors = r.problems().stream().filter(Problem::isError).count();
        long warnings = r.problems().stream().filter(p -> p.severity() == Problem.Severity.WARNING).count();
        summary.setText((r.model() == null ? l.model() : r.model().name()) + " · weights " + l.weights() + " · KV "
                + (r.kv() == null ? "?" : r.kv().id()) + " · context " + l.context() + " · batch " + l.batch() + "\n" + l.nodes().size() + " node"
                + (l.nodes().size() == 1 ? "" : "s") + ", " + gpus + " GPUs, " + l.pools().size() + " pool" + (l.pools().size() == 1 ? "" : "s") + ", "
                + l.mode().name().toLowerCase(Locale.ROOT) + " — " + (errors == 0 ? "valid" : errors + " error" + (errors > 1 ? "s" : ""))
                + (warnings > 0 ? ", " + warnings + " warning" + (warnings > 1 ? "s" : "") : ""));
        legendEntries = LayoutColors.legend(l, r, by);
        legend.redraw();

        memory.removeAll();
        for (LayoutAnalysis.GpuReport g : r.gpus()) {
            TableItem it = new TableItem(memory, SWT.NONE);
            PlanResult.GpuMemory m = g.memory();
            String pool = g.idle() ? "(idle)" : g.pool().name();
            if (m == null) {
                it.setText(new String[] {g.gpu().id(), pool, "", "", "", Units.gib(g.memoryBytes()), Units.gib(g.memoryBytes())});
            } else {
                it.setText(new String[] {g.gpu().id(), pool, Units.gib(m.weights()), Units.gib(m.activations()), Units.gib(m.kvBudget()),
                        Units.gib(Math.max(0, m.free())), Units.gib(m.total())});
                if (m.kvBudget() <= 0) {
                    it.setForeground(memory.getDisplay().getSystemColor(SWT.COLOR_RED));
                }
            }
        }
        comm.removeAll();
        StringBuilder b = new StringBuilder();
        for (LayoutAnalysis.PoolReport p : r.pools()) {
            if (p.plan() == null) {
                continue;
            }
            for (PlanResult.Collective c : p.plan().collectives()) {
                new TableItem(comm, SWT.NONE).setText(new String[] {p.pool().name(), c.phase(), c.type() + " ×" + c.perStep(), c.group() + " (" + c.groupSize()
                        + ")", c.link(), Units.bytes(c.bytesPerGpu()), Units.seconds(c.seconds())});
            }
            b.append(p.pool().name()).append(": decode step ≥ ").append(Units.seconds(p.plan().decodeStepBound())).append(", prefill of ")
                    .append(Math.min(l.promptTokens(), l.context())).append(" tokens ≥ ").append(Units.seconds(p.plan().prefillBound()))
                    .append(", ").append(p.plan().maxSequencesPerReplica()).append(" full-context sequences per replica\n");
        }
        if (comm.getItemCount() == 0) {
            new TableItem(comm, SWT.NONE).setText(new String[] {"", "", "no collectives (TP = PP = EP = CP = 1)", "", "", "", ""});
        }
        for (LayoutAnalysis.Transfer t : r.transfers()) {
            b.append("KV transfer ").append(t.from()).append(" → ").append(t.to()).append(": ").append(Units.bytes(t.bytes())).append(" per ")
                    .append(Math.min(l.promptTokens(), l.context())).append("-token prompt over ").append(t.link()).append(" ≈ ")
                    .append(Units.seconds(t.seconds())).append('\n');
        }
        bounds.setText(b.toString().strip());
        problems.removeAll();
        for (Problem p : r.problems()) {
            TableItem it = new TableItem(problems, SWT.NONE);
            it.setText(new String[] {p.severity().name().toLowerCase(Locale.ROOT), p.message(), p.hint() == null ? "" : p.hint()});
            if (p.isError()) {
                it.setForeground(problems.getDisplay().getSystemColor(SWT.COLOR_RED));
            }
        }
        for (Table t : new Table[] {memory, comm, problems}) {
            for (TableColumn c : t.getColumns()) {
                c.pack();
            }
        }
        body.layout(true, true);
        fit();
    }

    /** Wrap text to the panel's width; only what cannot wrap (tables) scrolls sideways. */
    private void fit() {
        int w = Math.max(300, scroll.getClientArea().width);
        scroll.setMinSize(body.computeSize(w, SWT.DEFAULT));
    }

    public Composite control() {
        return scroll;
    }

    public Table memoryTable() {
        return memory;
    }

    public Table commTable() {
        return comm;
    }

    public Table problemsTable() {
        return problems;
    }

    public String summaryText() {
        return summary.getText();
    }

    public String boundsText() {
        return bounds.getText();
    }

    public Combo colorByCombo() {
        return colorBy;
    }

    public List<LayoutColors.Entry> legendEntries() {
        return legendEntries;
    }
}
