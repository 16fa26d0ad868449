package org.llmwb.ui.views;

import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.GC;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Canvas;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Scale;
import org.eclipse.swt.widgets.Table;
import org.eclipse.swt.widgets.TableColumn;
import org.eclipse.swt.widgets.TableItem;
import org.eclipse.ui.part.ViewPart;
import org.llmwb.core.Units;
import org.llmwb.core.engineview.EngineStep;

/**
 * KV Cache: the paged pool's block map after any step of the latest engine run (free, cached-free
 * prefix, held by one sequence, shared by several with the count, reserved-but-empty under
 * contiguous reservations), each running sequence's block table, and allocated vs used bytes.
 * Follows the run live; the slider scrubs back through its steps; selecting a sequence outlines
 * its blocks.
 */
public class KvCacheView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.kvcache";
    static final int[] FREE = {250, 250, 250};
    static final int[] CACHED = {158, 202, 225};
    static final int[] HELD = {44, 160, 44};
    static final int[] SHARED = {255, 127, 14};
    static final int[] RESERVED = {255, 230, 140};

    private Combo point;
    private Scale slider;
    private Button follow;
    private Label stats;
    private Canvas map;
    private Table tables;
    private EngineStep shown;
    private int selectedSeq = -1;
    private Runnable listener;

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        Composite bar = new Composite(parent, SWT.NONE);
        bar.setLayout(new GridLayout(5, false));
        bar.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        new Label(bar, SWT.NONE).setText("Point");
        point = new Combo(bar, SWT.READ_ONLY);
        point.addListener(SWT.Selection, e -> {
            follow.setSelection(false);
            refresh();
        });
        slider = new Scale(bar, SWT.HORIZONTAL);
        slider.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));
        slider.addListener(SWT.Selection, e -> {
            follow.setSelection(false);
            refresh();
        });
        follow = new Button(bar, SWT.CHECK);
        follow.setText("follow live");
        follow.setSelection(true);
        follow.addListener(SWT.Selection, e -> refresh());
        stats = new Label(parent, SWT.WRAP);
        stats.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        SashForm sash = new SashForm(parent, SWT.VERTICAL);
        sash.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        map = new Canvas(sash, SWT.DOUBLE_BUFFERED | SWT.BORDER);
        map.addPaintListener(e -> paint(e.gc));
        tables = new Table(sash, SWT.BORDER | SWT.FULL_SELECTION);
        tables.setHeaderVisible(true);
        for (String c : new String[] {"seq", "blocks", "block table"}) {
            new TableColumn(tables, SWT.LEFT).setText(c);
        }
        tables.getColumn(0).setWidth(50);
        tables.getColumn(1).setWidth(60);
        tables.getColumn(2).setWidth(500);
        tables.addListener(SWT.Selection, e -> {
            selectedSeq = tables.getSelectionIndex() < 0 ? -1 : Integer.parseInt(tables.getItem(tables.getSelectionIndex()).getText(0));
            map.redraw();
        });
        sash.setWeights(65, 35);
        listener = LiveData.coalesced(map, 100, this::refresh);
        LiveEngineRun.get().addListener(listener);
        refresh();
    }


    /** Redraws from the live run: the newest step when following, else the slider's step of the chosen point. */
    public void refresh() {
        if (map.isDisposed()) {
            return;
        }
        LiveEngineRun live = LiveEngineRun.get();
        List<EngineStep> all = live.steps();
        int points = all.isEmpty() ? 0 : all.stream().mapToInt(EngineStep::point).max().getAsInt() + 1;
        if (point.getItemCount() != points) {
            int keep = point.getSelectionIndex();
            point.removeAll();
            for (int i = 0; i < points; i++) {
                point.add("#" + (i + 1));
            }
            point.select(Math.max(0, Math.min(keep, points - 1)));
        }
        if (follow.getSelection() && points > 0) {
            point.select(all.get(all.size() - 1).point());
        }
        List<EngineStep> steps = points == 0 ? List.of() : live.steps(Math.max(0, point.getSelectionIndex()));
        slider.setMaximum(Math.max(1, steps.size() - 1));
        if (follow.getSelection()) {
            slider.setSelection(Math.max(0, steps.size() - 1));
        }
        shown = steps.isEmpty() ? null : steps.get(Math.min(slider.getSelection(), steps.size() - 1));
        tables.removeAll();
        if (shown == null) {
            stats.setText("No engine run yet: run a kind: engine-run experiment (e.g. lessons/05-prefix-caching/engine.llmwb.yaml) in the Runner view.");
        } else if (shown.blocks() == null) {
            String who = shown.pool() == null ? "" : " (" + shown.pool() + ")";
            stats.setText(shown.totalBlocks() > 4096
                    ? String.format(Locale.ROOT, "step %d%s: %d of %d blocks used — the pool is larger than %d blocks, so no block map was sent", shown.index(), who,
                            shown.usedBlocks(), shown.totalBlocks(), 4096)
                    : String.format(Locale.ROOT, "step %d%s: %d of %d blocks used — a run served by several engines sends each worker's totals, not its block map",
                            shown.index(), who, shown.usedBlocks(), shown.totalBlocks()));
        } else {
            double waste = shown.allocatedBytes() == 0 ? 0 : 1 - (double) shown.usedBytes() / shown.allocatedBytes();
            stats.setText(String.format(Locale.ROOT,
                    "%s · point #%d step %d (t = %.3f s): %d/%d blocks held (%d shared), %d cached-free · allocated %s, used %s (%.1f%% waste) · %d running, %d waiting",
                    live.status(), shown.point() + 1, shown.index(), shown.t(), shown.usedBlocks(), shown.totalBlocks(), shown.sharedBlocks(),
                    shown.cachedFreeBlocks(), Units.bytes(shown.allocatedBytes()), Units.bytes(shown.usedBytes()), 100 * waste, shown.running(),
                    shown.waiting()));
            for (Map.Entry<Integer, int[]> t : shown.tables().entrySet()) {
                StringBuilder b = new StringBuilder();
                for (int id : t.getValue()) {
                    b.append(b.isEmpty() ? "" : " ").append(id).append(shown.blocks()[id] >= 2 ? "×" + shown.blocks()[id] : "");
                }
                new TableItem(tables, SWT.NONE).setText(new String[] {Integer.toString(t.getKey()), Integer.toString(t.getValue().length), b.toString()});
            }
        }
        stats.getParent().layout(true, true);
        map.redraw();
    }

    private void paint(GC gc) {
        var size = map.getClientArea();
        if (shown == null || shown.blocks() == null) {
            return;
        }
        int[] b = shown.blocks();
        int legendH = 22;
        int cols = Math.max(1, (int) Math.ceil(Math.sqrt(b.length * (double) size.width / Math.max(1, size.height - legendH))));
        int cell = Math.max(3, Math.min(28, Math.min(size.width / cols, (size.height - legendH) / Math.max(1, (b.length + cols - 1) / cols))));
        cols = Math.max(1, size.width / cell);
        java.util.Set<Integer> mine = new java.util.HashSet<>();
        if (selectedSeq >= 0 && shown.tables().containsKey(selectedSeq)) {
            for (int id : shown.tables().get(selectedSeq)) {
                mine.add(id);
            }
        }
        for (int i = 0; i < b.length; i++) {
            int x = (i % cols) * cell;
            int y = (i / cols) * cell;
            gc.setBackground(color(colorOf(b[i])));
            gc.fillRectangle(x, y, cell - 1, cell - 1);
            if (b[i] >= 2 && cell >= 14) {
                gc.drawText(Integer.toString(b[i]), x + 2, y, true);
            }
            if (mine.contains(i)) {
                gc.setForeground(map.getDisplay().getSystemColor(SWT.COLOR_RED));
                gc.setLineWidth(2);
                gc.drawRectangle(x + 1, y + 1, cell - 3, cell - 3);
                gc.setLineWidth(1);
                gc.setForeground(map.getDisplay().getSystemColor(SWT.COLOR_BLACK));
            }
        }
        int y = size.height - legendH + 4;
        int x = 2;
        String[] names = {"free", "cached prefix (free)", "held", "shared (count)", "reserved, empty"};
        int[][] cs = {FREE, CACHED, HELD, SHARED, RESERVED};
        for (int i = 0; i < names.length; i++) {
            gc.setBackground(color(cs[i]));
            gc.fillRectangle(x, y, 12, 12);
            gc.drawRectangle(x, y, 12, 12);
            gc.drawText(names[i], x + 16, y - 2, true);
            x += gc.textExtent(names[i]).x + 30;
        }
    }

    static int[] colorOf(int state) {
        return switch (state) {
            case EngineStep.FREE -> FREE;
            case EngineStep.CACHED_FREE -> CACHED;
            case EngineStep.RESERVED_EMPTY -> RESERVED;
            case 1 -> HELD;
            default -> SHARED;
        };
    }

    private Color color(int[] c) {
        return new Color(map.getDisplay(), c[0], c[1], c[2]);
    }

    public EngineStep shownStep() {
        return shown;
    }

    public Table tablesTable() {
        return tables;
    }

    public Canvas mapCanvas() {
        return map;
    }

    public String statsText() {
        return stats.getText();
    }

    public Scale slider() {
        return slider;
    }

    public Button followButton() {
        return follow;
    }

    @Override
    public void setFocus() {
        map.setFocus();
    }

    @Override
    public void dispose() {
        LiveEngineRun.get().removeListener(listener);
        super.dispose();
    }
}
