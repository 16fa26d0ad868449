package org.llmwb.ui.views;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.ui.part.ViewPart;
import org.llmwb.core.engineview.LatencyCdf;
import org.llmwb.viz.PlotCanvas;

/**
 * Latency: the AIPerf-style table (avg, p50, p90, p99, max, std of TTFT, time to second token, ITL,
 * TPOT, request latency and per-user tokens/s, plus throughput and goodput) for every point of the
 * latest engine run side by side, and the CDF of a chosen metric with one curve per point — an A/B
 * run reads as two curves.
 */
public class LatencyView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.latency";
    static final String[] STATS = {"avg", "p50", "p90", "p99", "max", "std"};
    static final String[] METRICS = {"ttft_ms", "time_to_second_token_ms", "itl_ms", "tpot_ms", "request_latency_ms", "user_tokens_per_s"};

    private Table table;
    private Combo metric;
    private PlotCanvas plot;
    private final Runnable listener = this::refresh;

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        SashForm sash = new SashForm(parent, SWT.HORIZONTAL);
        sash.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        table = new Table(sash, SWT.BORDER | SWT.FULL_SELECTION);
        table.setHeaderVisible(true);
        table.setLinesVisible(true);
        new TableColumn(table, SWT.LEFT).setText("point");
        new TableColumn(table, SWT.LEFT).setText("metric");
        for (String s : STATS) {
            new TableColumn(table, SWT.RIGHT).setText(s);
        }
        Composite right = new Composite(sash, SWT.NONE);
        right.setLayout(new GridLayout(3, false));
        new Label(right, SWT.NONE).setText("CDF of");
        metric = new Combo(right, SWT.READ_ONLY);
        LatencyCdf.METRICS.forEach(metric::add);
        metric.select(1);
        metric.addListener(SWT.Selection, e -> refresh());
        org.eclipse.swt.widgets.Button export = new org.eclipse.swt.widgets.Button(right, SWT.PUSH);
        export.setText("Export…");
        export.addListener(SWT.Selection, e -> PlotExports.ask(plot.getShell(), plot.getModel(), metric.getText() + "-cdf"));
        plot = new PlotCanvas(right, SWT.BORDER);
        GridData pd = new GridData(SWT.FILL, SWT.FILL, true, true);
        pd.horizontalSpan = 3;
        plot.setLayoutData(pd);
        sash.setWeights(55, 45);
        LiveEngineRun.get().addListener(listener);
        refresh();
    }

    public void refresh() {
        if (table.isDisposed()) {
            return;
        }
        List<Map<String, Object>> recs = LiveEngineRun.get().records();
        table.setRedraw(false);
        table.removeAll();
        for (int i = 0; i < recs.size(); i++) {
            Map<String, Object> r = recs.get(i);
            String label = "#" + (i + 1); // the CDF legend spells out each point's settings
            for (String m : METRICS) {
                String[] cells = new String[2 + STATS.length];
                cells[0] = label;
                cells[1] = m;
                for (int k = 0; k < STATS.length; k++) {
                    cells[2 + k] = r.get(m + "_" + STATS[k]) instanceof Number n ? String.format(Locale.ROOT, "%.2f", n.doubleValue()) : "";
                }
                new TableItem(table, SWT.NONE).setText(cells);
            }
            new TableItem(table, SWT.NONE).setText(new String[] {label, "throughput", String.format(Locale.ROOT, "%.1f tok/s",
                    num(r, "outputTokensPerS")), String.format(Locale.ROOT, "%.2f req/s", num(r, "requestsPerS")),
                String.format(Locale.ROOT, "goodput %.2f req/s", num(r, "goodputPerS")), "", "", ""});
        }
        for (TableColumn c : table.getColumns()) {
            c.pack();
        }
        table.setToolTipText(recs.isEmpty() ? null : String.join("\n", java.util.stream.IntStream.range(0, recs.size())
                .mapToObj(i -> LatencyCdf.label(i, recs.get(i))).toList()));
        table.setRedraw(true);
        plot.setModel(LatencyCdf.plot(recs, metric.getText()));
    }

    private static double num(Map<String, Object> r, String k) {
        return r.get(k) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    public Table table() {
        return table;
    }

    public PlotCanvas plot() {
        return plot;
    }

    public Combo metricCombo() {
        return metric;
    }

    @Override
    public void setFocus() {
        table.setFocus();
    }

    @Override
    public void dispose() {
        LiveEngineRun.get().removeListener(listener);
        super.dispose();
    }
}
