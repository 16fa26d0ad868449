package org.llmwb.ui.views;

import java.util.List;

import org.eclipse.jface.resource.JFaceResources;
import org.eclipse.swt.SWT;
import org.eclipse.swt.layout.GridData;
import org.eclipse.swt.layout.GridLayout;
import org.eclipse.swt.widgets.Combo;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.Label;
import org.eclipse.swt.widgets.Text;
import org.eclipse.ui.part.ViewPart;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.plot.PlotModel;
import org.llmwb.core.plot.RooflinePlot;
import org.llmwb.viz.PlotCanvas;

/**
 * Roofline: the selected GPU's datasheet roofs (log-log) with the model's decode and prefill steps
 * at a chosen batch; hover a point for its numbers. The chart renders the plot model that
 * {@link RooflinePlot} computes in core, the same one {@code llmwb roofline --svg} exports.
 */
public class RooflineView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.roofline";

    private final Catalogs.Loaded loaded = Catalogs.load();
    private final GpuCatalog gpus = loaded.catalog();
    private Inputs inputs;
    private Combo gpu;
    private Combo model;
    private Combo precision;
    private Text batch;
    private Text context;
    private Text prompt;
    private Label error;
    private PlotCanvas plot;
    private Text details;
    private Combo show;
    private final Runnable liveListener = this::kernelRecordsChanged;
    private Runnable replot;
    private String lastRun;
    static final int REPLOT_MS = 60;
    static final String SHOW_MODEL = "Model steps";
    static final String SHOW_KERNELS = "Kernel run (live)";

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        Composite form = new Composite(parent, SWT.NONE);
        form.setLayout(new GridLayout(6, false));
        form.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        inputs = new Inputs(form, this::recompute);
        gpu = inputs.combo("GPU", gpus.ids(), "h100-sxm", false);
        model = inputs.combo("Model", ModelPresets.ids(), "llama-3.1-8b", true);
        precision = inputs.combo("Weights", Inputs.precisionIds(), "bf16", false);
        batch = inputs.text("Batch", "8");
        context = inputs.text("Context", "2048");
        prompt = inputs.text("Prompt", "2048");
        show = inputs.combo("Show", List.of(SHOW_MODEL, SHOW_KERNELS), SHOW_MODEL, false);
        org.eclipse.swt.widgets.Button export = new org.eclipse.swt.widgets.Button(form, SWT.PUSH);
        export.setText("Export…");
        export.setToolTipText("Save the plot as PNG, SVG or CSV");
        export.addListener(SWT.Selection, e -> PlotExports.ask(plot.getShell(), plot.getModel(), "roofline"));
        error = new Label(parent, SWT.WRAP);
        error.setForeground(parent.getDisplay().getSystemColor(SWT.COLOR_RED));
        error.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        plot = new PlotCanvas(parent, SWT.BORDER);
        plot.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        details = new Text(parent, SWT.MULTI | SWT.READ_ONLY | SWT.WRAP | SWT.V_SCROLL);
        details.setFont(JFaceResources.getTextFont());
        GridData dd = new GridData(SWT.FILL, SWT.BOTTOM, true, false);
        dd.heightHint = 70;
        details.setLayoutData(dd);
        replot = LiveData.coalesced(plot, REPLOT_MS, this::recompute);
        LiveKernelRun.get().addListener(liveListener);
        recompute();
    }

    /**
     * Records stream in batches; coalesce redraws to at most one per {@link #REPLOT_MS} (at most 16.7 updates/s,
     * measured by RooflineRefreshBench). A new kernel run switches the view to it.
     */
    private void kernelRecordsChanged() {
        LiveKernelRun live = LiveKernelRun.get();
        if (live.runId() != null && !live.runId().equals(lastRun)) {
            lastRun = live.runId();
            show.setText(SHOW_KERNELS);
        }
        replot.run();
    }

    private void showKernels() {
        LiveKernelRun live = LiveKernelRun.get();
        List<java.util.Map<String, Object>> recs = live.records();
        if (recs.isEmpty()) {
            error.setText("No kernel run yet: run a kind: kernel-sweep experiment in the Runner view (on the GPU, or on the CPU through ND4J)"
                    + " and its records land here as they arrive.");
            error.getParent().layout(true, true);
            return;
        }
        try {
            PlotModel pm = org.llmwb.core.plot.KernelRoofline.forRecords(gpus, recs, List.of(live.status()));
            plot.setModel(pm);
            StringBuilder s = new StringBuilder(live.status()).append('\n');
            s.append("last: ").append(org.llmwb.core.experiment.RecordText.describe(recs.get(recs.size() - 1))).append('\n');
            for (PlotModel.Line l : pm.lines()) {
                s.append(l.label()).append('\n');
            }
            details.setText(s.toString());
            error.setText("");
        } catch (RuntimeException e) {
            error.setText("Cannot draw the kernel run: " + e.getMessage());
        }
        error.getParent().layout(true, true);
    }

    public void recompute() {
        if (plot.isDisposed()) {
            return;
        }
        if (SHOW_KERNELS.equals(show.getText())) {
            showKernels();
            return;
        }
        inputs.beginValidation();
        GpuSpec g = inputs.gpu(gpu, gpus);
        ModelConfig m = inputs.model(model);
        Precision w = inputs.precision(precision, "weights");
        Long b = inputs.positive(batch, "batch", 1_000_000L);
        Long c = inputs.positive(context, "context", 100_000_000L);
        Long p = inputs.positive(prompt, "prompt", 10_000_000L);
        List<String> errs = inputs.errors();
        if (!errs.isEmpty()) {
            error.setText(String.join("\n", errs));
            error.getParent().layout(true, true);
            return;
        }
        try {
            Precision kv = w.defaultKv();
            PlotModel pm = RooflinePlot.forModel(m, g, w, kv, b, c, p);
            plot.setModel(pm);
            StringBuilder s = new StringBuilder();
            for (PlotModel.Marker mk : pm.markers()) {
                s.append(mk.label()).append(": ").append(mk.details().get("attainable")).append(", bound ")
                        .append(mk.details().get("time lower bound")).append(" (").append(mk.details().get("bound by")).append(")\n");
            }
            s.append(g.name()).append(": ").append(Catalogs.provenance(g)).append('\n');
            details.setText(s.toString());
            error.setText(loaded.problem() == null ? "" : loaded.problem());
        } catch (InputException e) {
            error.setText(e.getMessage());
        }
        error.getParent().layout(true, true);
    }

    @Override
    public void dispose() {
        LiveKernelRun.get().removeListener(liveListener);
        super.dispose();
    }

    @Override
    public void setFocus() {
        plot.setFocus();
    }

    public PlotCanvas plot() {
        return plot;
    }

    public Text batchText() {
        return batch;
    }

    public Combo gpuCombo() {
        return gpu;
    }

    public Combo showCombo() {
        return show;
    }

    public Text detailsText() {
        return details;
    }

    public String errorText() {
        return error.getText();
    }
}
