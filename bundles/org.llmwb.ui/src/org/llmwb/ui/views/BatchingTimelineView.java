package org.llmwb.ui.views;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

import org.eclipse.jface.dialogs.MessageDialog;
import org.eclipse.swt.SWT;
import org.eclipse.swt.graphics.Color;
import org.eclipse.swt.graphics.GC;
import org.eclipse.swt.graphics.Rectangle;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Button;
import org.eclipse.swt.widgets.Canvas;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.swt.widgets.Label;
import org.eclipse.ui.part.ViewPart;
import org.llmwb.core.engineview.ChromeTrace;
import org.llmwb.core.engineview.EngineStep;

/**
 * Batching Timeline: one lane per sequence, time across; each step's prefill chunks (blue) and
 * decode tokens (green) drawn where they ran, the first token (TTFT, black tick), finish (red) and
 * preemption (×) marked; hover a bar for its step. Exports the run as a Chrome trace that Perfetto
 * and Trace Compass open.
 */
public class BatchingTimelineView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.timeline";
    private static final int LEFT = 56;
    private static final int BOTTOM = 22;

    private Combo point;
    private Label info;
    private Canvas canvas;
    private List<EngineStep> steps = List.of();
    /** One lane per sequence; with several engines a sequence id is per worker, so the worker is part of the lane. */
    public record Lane(String pool, int seq) {
        public String label() {
            return pool == null ? "seq " + seq : pool + " · " + seq;
        }
    }

    private List<Lane> lanes = List.of();
    private double t0;
    private double span = 1;
    private Runnable listener;

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        Composite bar = new Composite(parent, SWT.NONE);
        bar.setLayout(new GridLayout(4, false));
        bar.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        new Label(bar, SWT.NONE).setText("Point");
        point = new Combo(bar, SWT.READ_ONLY);
        point.addListener(SWT.Selection, e -> refresh());
        info = new Label(bar, SWT.NONE);
        info.setLayoutData(new GridData(SWT.FILL, SWT.CENTER, true, false));
        Button export = new Button(bar, SWT.PUSH);
        export.setText("Chrome trace…");
        export.setToolTipText("Save the run's steps as Chrome trace JSON (Perfetto, chrome://tracing, Trace Compass)");
        export.addListener(SWT.Selection, e -> exportTrace());
        canvas = new Canvas(parent, SWT.DOUBLE_BUFFERED | SWT.BORDER);
        canvas.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        canvas.addPaintListener(e -> paint(e.gc));
        canvas.addListener(SWT.MouseMove, e -> canvas.setToolTipText(tooltip(e.x, e.y)));
        listener = LiveData.coalesced(canvas, 150, this::refresh);
        LiveEngineRun.get().addListener(listener);
        refresh();
    }


    public void refresh() {
        if (canvas.isDisposed()) {
            return;
        }
        List<EngineStep> all = LiveEngineRun.get().steps();
        int points = all.isEmpty() ? 0 : all.stream().mapToInt(EngineStep::point).max().getAsInt() + 1;
        if (point.getItemCount() != points) {
            point.removeAll();
            for (int i = 0; i < points; i++) {
                point.add("#" + (i + 1));
            }
            point.select(Math.max(0, points - 1));
        }
        steps = points == 0 ? List.of() : LiveEngineRun.get().steps(Math.max(0, point.getSelectionIndex()));
        TreeSet<Lane> seqs = new TreeSet<>(java.util.Comparator.comparing((Lane l) -> l.pool() == null ? "" : l.pool()).thenComparingInt(Lane::seq));
        steps.forEach(s -> s.parts().forEach(p -> seqs.add(new Lane(s.pool(), p.seq()))));
        lanes = List.copyOf(seqs);
        // several engines interleave their steps: the time axis spans all of them
        t0 = steps.stream().mapToDouble(EngineStep::t).min().orElse(0);
        span = Math.max(1e-6, steps.stream().mapToDouble(s -> s.t() + s.seconds()).max().orElse(t0 + 1) - t0);
        long prefill = steps.stream().mapToLong(EngineStep::prefillTokens).sum();
        long decode = steps.stream().mapToLong(EngineStep::decodeTokens).sum();
        long drafted = steps.stream().mapToLong(EngineStep::drafted).sum();
        long accepted = steps.stream().mapToLong(EngineStep::accepted).sum();
        java.util.Set<String> pools = new java.util.TreeSet<>();
        steps.forEach(s -> {
            if (s.pool() != null) {
                pools.add(s.pool());
            }
        });
        info.setText(steps.isEmpty() ? "no engine run yet" : String.format(Locale.ROOT, "%d steps, %d sequences, %d prefill and %d decode tokens over %.3f s%s%s",
                steps.size(), lanes.size(), prefill, decode, span, pools.isEmpty() ? "" : "; workers " + String.join(", ", pools),
                drafted == 0 ? "" : String.format(Locale.ROOT, "; speculative: %d of %d drafts accepted (%.0f%%)", accepted, drafted, 100.0 * accepted / drafted)));
        info.getParent().layout();
        canvas.redraw();
    }

    private int xOf(double t, Rectangle r) {
        return LEFT + (int) Math.round((t - t0) / span * (r.width - LEFT - 8));
    }

    private double laneH(Rectangle r) {
        return Math.max(1.0, (r.height - BOTTOM) / (double) Math.max(1, lanes.size()));
    }

    private void paint(GC gc) {
        Rectangle r = canvas.getClientArea();
        if (steps.isEmpty()) {
            gc.drawText("Run a kind: engine-run experiment: each step lands here as the runner streams it.", 8, 8, true);
            return;
        }
        double lh = laneH(r);
        Color pre = new Color(canvas.getDisplay(), 31, 119, 180);
        Color dec = new Color(canvas.getDisplay(), 44, 160, 44);
        Color ver = new Color(canvas.getDisplay(), 255, 127, 14);
        java.util.Set<Lane> started = new java.util.HashSet<>();
        for (EngineStep s : steps) {
            int x0 = xOf(s.t(), r);
            int x1 = Math.max(x0 + 1, xOf(s.t() + s.seconds(), r));
            for (EngineStep.Part p : s.parts()) {
                Lane key = new Lane(s.pool(), p.seq());
                int lane = lanes.indexOf(key);
                int y = (int) (lane * lh);
                boolean verify = p.decode() && p.count() > 1; // a decode that verified drafts
                gc.setBackground(verify ? ver : p.decode() ? dec : pre);
                int h = Math.max(1, (int) lh - (lh > 4 ? 1 : 0));
                gc.fillRectangle(x0, y + (p.decode() ? h / 4 : 0), x1 - x0, p.decode() ? Math.max(1, h / 2) : h);
                if (p.decode() && started.add(key)) {
                    gc.setForeground(canvas.getDisplay().getSystemColor(SWT.COLOR_BLACK));
                    gc.drawLine(x0, y, x0, y + h); // first token out: TTFT
                }
            }
            gc.setForeground(canvas.getDisplay().getSystemColor(SWT.COLOR_RED));
            for (int f : s.finished()) {
                int y = (int) (lanes.indexOf(new Lane(s.pool(), f)) * lh);
                gc.drawLine(x1, y, x1, y + (int) Math.max(1, lh));
            }
            gc.setForeground(canvas.getDisplay().getSystemColor(SWT.COLOR_BLACK));
            for (int f : s.preempted()) {
                int y = (int) (lanes.indexOf(new Lane(s.pool(), f)) * lh);
                gc.drawText("×", x0, y - 4, true);
            }
        }
        gc.setForeground(canvas.getDisplay().getSystemColor(SWT.COLOR_DARK_GRAY));
        int every = Math.max(1, (int) Math.ceil(14 / lh));
        for (int i = 0; i < lanes.size(); i += every) {
            gc.drawText(lanes.get(i).label(), 2, (int) (i * lh), true);
        }
        int yAxis = r.height - BOTTOM + 2;
        for (int i = 0; i <= 5; i++) {
            double t = span * i / 5;
            int x = LEFT + (int) Math.round(i / 5.0 * (r.width - LEFT - 8));
            gc.drawText(String.format(Locale.ROOT, "%.2f s", t), Math.min(x, r.width - 50), yAxis, true);
        }
    }

    /** The step and part under a pixel, for the hover text. */
    String tooltip(int px, int py) {
        Rectangle r = canvas.getClientArea();
        if (steps.isEmpty() || px < LEFT) {
            return null;
        }
        int lane = (int) (py / laneH(r));
        if (lane < 0 || lane >= lanes.size()) {
            return null;
        }
        Lane want = lanes.get(lane);
        for (EngineStep s : steps) {
            if (!java.util.Objects.equals(s.pool(), want.pool())) {
                continue;
            }
            if (px >= xOf(s.t(), r) && px <= Math.max(xOf(s.t(), r) + 1, xOf(s.t() + s.seconds(), r))) {
                for (EngineStep.Part p : s.parts()) {
                    if (p.seq() == want.seq()) {
                        String what = !p.decode() ? "prefilled tokens " + p.start() + "–" + (p.start() + p.count())
                                : p.count() > 1 ? "verified token " + p.start() + " and " + (p.count() - 1) + " drafts" : "decoded token " + p.start();
                        return String.format(Locale.ROOT, "%s, step %d (%.2f ms): %s; batch of %d prefill + %d decode tokens", want.label(), s.index(),
                                s.seconds() * 1e3, what, s.prefillTokens(), s.decodeTokens())
                                + (s.drafted() > 0 ? String.format(Locale.ROOT, "; step accepted %d of %d drafts", s.accepted(), s.drafted()) : "");
                    }
                }
                return "step " + s.index() + ": " + want.label() + " not in this batch";
            }
        }
        return null;
    }

    private void exportTrace() {
        FileDialog d = new FileDialog(canvas.getShell(), SWT.SAVE);
        d.setFilterExtensions(new String[] {"*.json"});
        d.setFileName("engine-trace.json");
        d.setOverwrite(true);
        String f = d.open();
        if (f == null) {
            return;
        }
        try {
            org.llmwb.core.result.AtomicFiles.write(Path.of(f), traceJson());
        } catch (Exception e) {
            MessageDialog.openError(canvas.getShell(), "Export failed", e.getMessage());
        }
    }

    /** The whole run (all points) as Chrome trace JSON. */
    public String traceJson() {
        return ChromeTrace.of(LiveEngineRun.get().steps(), "llmwb " + LiveEngineRun.get().runId());
    }

    /** Shows sweep point {@code index} (0-based). */
    public void showPoint(int index) {
        point.select(index);
        refresh();
    }

    public List<Lane> lanes() {
        return lanes;
    }

    public Canvas canvas() {
        return canvas;
    }

    public String infoText() {
        return info.getText();
    }

    @Override
    public void setFocus() {
        canvas.setFocus();
    }

    @Override
    public void dispose() {
        LiveEngineRun.get().removeListener(listener);
        super.dispose();
    }
}
