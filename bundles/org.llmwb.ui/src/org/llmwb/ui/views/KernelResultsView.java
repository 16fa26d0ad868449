package org.llmwb.ui.views;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.eclipse.swt.SWT;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.swt.widgets.Text;
import org.eclipse.ui.part.ViewPart;

/**
 * The records of the latest kernel sweep as a table that sorts (click a header; again to reverse)
 * and filters (any text of a row). Fed by {@link LiveKernelRun} like the Roofline view, so both
 * fill while the sweep streams.
 */
public class KernelResultsView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.kernelresults";
    static final String[] COLUMNS = {"#", "op", "version", "shape", "median µs", "GB/s", "TFLOP/s", "FLOP/B", "% of roof", "max rel err"};
    private static final Set<String> KNOWN = Set.of("op", "version", "medianMs", "minMs", "runs", "flops", "bytes", "tflops", "gbs", "intensity",
            "roofFraction", "maxRelErr", "maxAbsErr", "backend", "device", "roof", "roofName", "type", "id", "seed", "warmup", "iters");

    private Table table;
    private Text filter;
    private Label status;
    private int sortColumn = 0;
    private boolean ascending = true;
    private Runnable listener;

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(3, false));
        new Label(parent, SWT.NONE).setText("Filter");
        filter = new Text(parent, SWT.BORDER | SWT.SEARCH);
        filter.setMessage("op, version or shape text");
        filter.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));
        filter.addListener(SWT.Modify, e -> refresh());
        status = new Label(parent, SWT.NONE);
        status.setLayoutData(new GridData(SWT.RIGHT, SWT.CENTER, false, false));
        table = new Table(parent, SWT.BORDER | SWT.FULL_SELECTION | SWT.VIRTUAL);
        table.setHeaderVisible(true);
        table.setLinesVisible(true);
        GridData gd = new GridData(SWT.FILL, SWT.FILL, true, true);
        gd.horizontalSpan = 3;
        table.setLayoutData(gd);
        for (int i = 0; i < COLUMNS.length; i++) {
            TableColumn c = new TableColumn(table, i >= 4 || i == 0 ? SWT.RIGHT : SWT.LEFT);
            c.setText(COLUMNS[i]);
            c.setWidth(i == 3 ? 220 : 80);
            int col = i;
            c.addListener(SWT.Selection, e -> sortBy(col));
        }
        listener = LiveData.coalesced(table, 150, this::refresh);
        LiveKernelRun.get().addListener(listener);
        refresh();
    }

    /** Sorts by a column; the same column again reverses the order. */
    public void sortBy(int col) {
        ascending = col != sortColumn || !ascending;
        sortColumn = col;
        table.setSortColumn(table.getColumn(col));
        table.setSortDirection(ascending ? SWT.UP : SWT.DOWN);
        refresh();
    }


    /** One record as the table's cells and the values they sort by. */
    record Row(String[] cells, Object[] keys) {
    }

    static Row row(int index, Map<String, Object> r) {
        Map<String, Object> shape = new TreeMap<>();
        r.forEach((k, v) -> {
            if (!KNOWN.contains(k) && (v instanceof Number || v instanceof String)) {
                shape.put(k, v);
            }
        });
        StringBuilder sh = new StringBuilder();
        shape.forEach((k, v) -> sh.append(sh.isEmpty() ? "" : " ").append(k).append('=').append(v));
        double ms = num(r, "medianMs");
        Object[] keys = {index, str(r, "op"), str(r, "version"), sh.toString(), ms, num(r, "gbs"), num(r, "tflops"), num(r, "intensity"),
            num(r, "roofFraction"), num(r, "maxRelErr")};
        String[] cells = {Integer.toString(index), str(r, "op"), str(r, "version"), sh.toString(), f("%.2f", ms * 1e3), f("%.1f", num(r, "gbs")),
            f("%.3f", num(r, "tflops")), f("%.2f", num(r, "intensity")), r.get("roofFraction") == null ? "" : f("%.1f", 100 * num(r, "roofFraction")),
            r.get("maxRelErr") == null ? "" : f("%.1e", num(r, "maxRelErr"))};
        return new Row(cells, keys);
    }

    private static String f(String fmt, double v) {
        return String.format(Locale.ROOT, fmt, v);
    }

    private static double num(Map<String, Object> r, String k) {
        return r.get(k) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static String str(Map<String, Object> r, String k) {
        return r.get(k) == null ? "" : r.get(k).toString();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public void refresh() {
        if (table.isDisposed()) {
            return;
        }
        List<Map<String, Object>> recs = LiveKernelRun.get().records();
        List<Row> rows = new ArrayList<>();
        String q = filter.getText().trim().toLowerCase(Locale.ROOT);
        for (int i = 0; i < recs.size(); i++) {
            Row r = row(i + 1, recs.get(i));
            if (q.isEmpty() || String.join(" ", r.cells()).toLowerCase(Locale.ROOT).contains(q)) {
                rows.add(r);
            }
        }
        rows.sort((a, b) -> {
            Comparable x = (Comparable) a.keys()[sortColumn];
            Comparable y = (Comparable) b.keys()[sortColumn];
            int c = x instanceof Double dx && y instanceof Double dy ? Double.compare(dx.isNaN() ? Double.MAX_VALUE : dx, dy.isNaN() ? Double.MAX_VALUE : dy)
                    : x.compareTo(y);
            return ascending ? c : -c;
        });
        table.setRedraw(false);
        table.removeAll();
        for (Row r : rows) {
            new TableItem(table, SWT.NONE).setText(r.cells());
        }
        table.setRedraw(true);
        status.setText(rows.size() + " of " + recs.size() + " records · " + LiveKernelRun.get().status());
        status.getParent().layout();
    }

    public Table table() {
        return table;
    }

    public Text filterText() {
        return filter;
    }

    @Override
    public void setFocus() {
        table.setFocus();
    }

    @Override
    public void dispose() {
        LiveKernelRun.get().removeListener(listener);
        super.dispose();
    }
}
