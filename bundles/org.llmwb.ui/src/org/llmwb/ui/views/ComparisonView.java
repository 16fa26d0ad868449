package org.llmwb.ui.views;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.DirectoryDialog;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Spinner;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.ui.part.ViewPart;
import org.llmwb.core.InputException;
import org.llmwb.core.engineview.ServingComparison;
import org.llmwb.core.engineview.ServingSources;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.viz.PlotCanvas;

/**
 * Predicted against measured: serving results of one workload side by side — a benchmark of a live endpoint
 * ({@code llmwb bench}), engine runs and simulations — as the {@link ServingComparison} table (each metric with its
 * difference from the reference, red beyond the tolerance) and TTFT/ITL CDFs with one curve per source. What
 * {@code llmwb compare} prints, in the workbench.
 */
public class ComparisonView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.comparison";

    private final List<ServingComparison.Source> sources = new ArrayList<>();
    private final List<String> from = new ArrayList<>();
    private Table sourceTable;
    private Combo reference;
    private Spinner tolerance;
    private Table table;
    private Label differences;
    private Label status;
    private Combo metric;
    private PlotCanvas plot;
    private ServingComparison comparison;

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        Composite bar = new Composite(parent, SWT.NONE);
        bar.setLayout(new GridLayout(9, false));
        bar.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        Button addDir = new Button(bar, SWT.PUSH);
        addDir.setText("Add result folder…");
        addDir.addListener(SWT.Selection, e -> {
            String d = new DirectoryDialog(getSite().getShell()).open();
            if (d != null) {
                add(d);
            }
        });
        Button addFile = new Button(bar, SWT.PUSH);
        addFile.setText("Add file…");
        addFile.addListener(SWT.Selection, e -> {
            FileDialog fd = new FileDialog(getSite().getShell(), SWT.OPEN);
            fd.setFilterExtensions(new String[] {"*.json;*.jsonl", "*"});
            String f = fd.open();
            if (f != null) {
                add(f);
            }
        });
        Button remove = new Button(bar, SWT.PUSH);
        remove.setText("Remove");
        remove.addListener(SWT.Selection, e -> {
            int i = sourceTable.getSelectionIndex();
            if (i >= 0) {
                sources.remove(i);
                from.remove(i);
                refresh();
            }
        });
        new Label(bar, SWT.NONE).setText("  Reference:");
        reference = new Combo(bar, SWT.READ_ONLY);
        GridData rd = new GridData(SWT.LEFT, SWT.CENTER, false, false);
        rd.widthHint = 220;
        reference.setLayoutData(rd);
        reference.addListener(SWT.Selection, e -> refresh());
        new Label(bar, SWT.NONE).setText("  Agreement within ±");
        tolerance = new Spinner(bar, SWT.BORDER);
        tolerance.setValues(5, 0, 100, 0, 1, 5);
        tolerance.addListener(SWT.Selection, e -> refresh());
        new Label(bar, SWT.NONE).setText("%");
        status = new Label(bar, SWT.WRAP);
        status.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));
        SashForm sash = new SashForm(parent, SWT.HORIZONTAL);
        sash.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        Composite left = new Composite(sash, SWT.NONE);
        left.setLayout(new GridLayout(1, false));
        sourceTable = new Table(left, SWT.BORDER | SWT.FULL_SELECTION | SWT.SINGLE);
        sourceTable.setHeaderVisible(true);
        GridData sd = new GridData(SWT.FILL, SWT.TOP, true, false);
        sd.heightHint = 90;
        sourceTable.setLayoutData(sd);
        for (String[] c : new String[][] {{"#", "30"}, {"source", "220"}, {"kind", "80"}, {"from", "300"}}) {
            TableColumn col = new TableColumn(sourceTable, SWT.LEFT);
            col.setText(c[0]);
            col.setWidth(Integer.parseInt(c[1]));
        }
        table = new Table(left, SWT.BORDER | SWT.FULL_SELECTION);
        table.setHeaderVisible(true);
        table.setLinesVisible(true);
        table.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        differences = new Label(left, SWT.WRAP);
        GridData dd = new GridData(SWT.FILL, SWT.TOP, true, false);
        dd.widthHint = 400;
        differences.setLayoutData(dd);
        Composite right = new Composite(sash, SWT.NONE);
        right.setLayout(new GridLayout(3, false));
        new Label(right, SWT.NONE).setText("CDF of");
        metric = new Combo(right, SWT.READ_ONLY);
        metric.setItems("ttft_ms", "itl_ms", "tpot_ms", "request_latency_ms");
        metric.select(0);
        metric.addListener(SWT.Selection, e -> refresh());
        Button export = new Button(right, SWT.PUSH);
        export.setText("Export…");
        export.addListener(SWT.Selection, e -> PlotExports.ask(plot.getShell(), plot.getModel(), "comparison-" + metric.getText() + "-cdf"));
        plot = new PlotCanvas(right, SWT.BORDER);
        GridData pd = new GridData(SWT.FILL, SWT.FILL, true, true);
        pd.horizontalSpan = 3;
        plot.setLayoutData(pd);
        sash.setWeights(60, 40);
        refresh();
    }

    /**
     * Adds the serving records of a result folder or file ({@code [LABEL=]PATH}, as {@code llmwb compare} takes them);
     * a path without serving records is reported in the view, not thrown.
     */
    public boolean add(String arg) {
        try {
            List<ServingComparison.Source> got = ServingSources.load(arg);
            sources.addAll(got);
            for (int i = 0; i < got.size(); i++) {
                from.add(arg);
            }
            status.setText("added " + got.size() + " source" + (got.size() == 1 ? "" : "s"));
            refresh();
            return true;
        } catch (InputException e) {
            status.setText(e.getMessage());
            status.getParent().layout();
            return false;
        }
    }

    public void refresh() {
        if (table == null || table.isDisposed()) {
            return;
        }
        int ref = Math.max(0, reference.getSelectionIndex());
        reference.removeAll();
        sourceTable.removeAll();
        for (int i = 0; i < sources.size(); i++) {
            ServingComparison.Source s = sources.get(i);
            reference.add((i + 1) + " " + s.label());
            new TableItem(sourceTable, SWT.NONE).setText(new String[] {String.valueOf(i + 1), s.label(), s.kind(), from.get(i)});
        }
        ref = Math.min(ref, Math.max(0, sources.size() - 1));
        if (!sources.isEmpty()) {
            reference.select(ref);
        }
        table.setRedraw(false);
        table.removeAll();
        for (TableColumn c : table.getColumns()) {
            c.dispose();
        }
        comparison = null;
        if (sources.size() < 2) {
            new TableColumn(table, SWT.LEFT).setText("metric");
            table.getColumn(0).setWidth(500);
            new TableItem(table, SWT.NONE).setText(sources.isEmpty() ? "Add two or more results of one workload: a bench folder, an engine run, a simulation."
                    : "Add another result to compare with " + sources.get(0).label() + ".");
            differences.setText("");
            plot.setModel(null);
            table.setRedraw(true);
            return;
        }
        comparison = new ServingComparison(sources, ref, tolerance.getSelection() / 100.0);
        TableColumn m = new TableColumn(table, SWT.LEFT);
        m.setText("metric");
        m.setWidth(170);
        for (int i = 0; i < sources.size(); i++) {
            TableColumn c = new TableColumn(table, SWT.RIGHT);
            c.setText((i + 1) + " " + sources.get(i).kind() + (i == ref ? " (reference)" : ""));
            c.setWidth(150);
        }
        Color red = table.getDisplay().getSystemColor(SWT.COLOR_DARK_RED);
        Color green = table.getDisplay().getSystemColor(SWT.COLOR_DARK_GREEN);
        for (ServingComparison.Row r : comparison.rows()) {
            TableItem it = new TableItem(table, SWT.NONE);
            it.setText(0, r.metric().label() + " (" + r.metric().unit() + ")");
            for (int i = 0; i < sources.size(); i++) {
                double v = r.values()[i];
                double d = r.diff()[i];
                it.setText(i + 1, Double.isNaN(v) ? "—" : ServingComparison.fmt(v) + (Double.isNaN(d) ? "" : String.format(Locale.ROOT, "  %+.1f%%", 100 * d)));
                if (!Double.isNaN(d)) {
                    it.setForeground(i + 1, Math.abs(d) <= tolerance.getSelection() / 100.0 ? green : red);
                }
            }
        }
        for (TableColumn c : table.getColumns()) {
            c.pack();
            c.setWidth(Math.max(c.getWidth() + 12, 110));
        }
        table.setRedraw(true);
        differences.setText(String.join("\n", comparison.differences()));
        differences.getParent().layout();
        PlotModel p = comparison.cdf(metric.getText());
        plot.setModel(p);
    }

    /** The comparison shown, or null with fewer than two sources (tests read it). */
    public ServingComparison comparison() {
        return comparison;
    }

    public Table table() {
        return table;
    }

    public String status() {
        return status.getText();
    }

    public String differencesText() {
        return differences.getText();
    }

    @Override
    public void setFocus() {
        table.setFocus();
    }
}
