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
import org.llmwb.core.Formula;
import org.llmwb.core.InputException;
import org.llmwb.core.Units;
import org.llmwb.core.calc.KvCache;
import org.llmwb.core.calc.KvCapacity;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.plot.BarModel;
import org.llmwb.viz.BarCanvas;

/**
 * Memory & KV: pick a model, GPU, precisions, context and batch; see weights, KV and free memory
 * as a bar, the maximum concurrency, and every formula with its numbers. Recomputed (in-process,
 * core calculators) as you type; bad entries are marked in place.
 */
public class MemoryKvView extends ViewPart {
    public static final String ID = "org.llmwb.ui.views.memory";

    private final Catalogs.Loaded loaded = Catalogs.load();
    private final GpuCatalog gpus = loaded.catalog();
    private Inputs inputs;
    private Combo model;
    private Combo gpu;
    private Combo precision;
    private Combo kvPrecision;
    private Text context;
    private Text batch;
    private Label summary;
    private Label error;
    private BarCanvas bar;
    private Text formulas;

    @Override
    public void createPartControl(Composite parent) {
        parent.setLayout(new GridLayout(1, false));
        Composite form = new Composite(parent, SWT.NONE);
        form.setLayout(new GridLayout(6, false));
        form.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        inputs = new Inputs(form, this::recompute);
        model = inputs.combo("Model", ModelPresets.ids(), "llama-3.1-8b", true);
        model.setToolTipText("a preset, or the path of a Hugging Face config.json");
        gpu = inputs.combo("GPU", gpus.ids(), "h100-sxm", false);
        precision = inputs.combo("Weights", Inputs.precisionIds(), "bf16", false);
        kvPrecision = inputs.combo("KV", Inputs.precisionIds(), "bf16", false);
        context = inputs.text("Context", "8192");
        batch = inputs.text("Batch", "16");
        summary = new Label(parent, SWT.WRAP);
        summary.setFont(JFaceResources.getBannerFont());
        summary.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        error = new Label(parent, SWT.WRAP);
        error.setForeground(parent.getDisplay().getSystemColor(SWT.COLOR_RED));
        error.setLayoutData(new GridData(SWT.FILL, SWT.TOP, true, false));
        bar = new BarCanvas(parent, SWT.NONE);
        GridData bd = new GridData(SWT.FILL, SWT.TOP, true, false);
        bd.heightHint = 100;
        bar.setLayoutData(bd);
        formulas = new Text(parent, SWT.MULTI | SWT.READ_ONLY | SWT.V_SCROLL | SWT.H_SCROLL | SWT.BORDER);
        formulas.setFont(JFaceResources.getTextFont());
        formulas.setLayoutData(new GridData(SWT.FILL, SWT.FILL, true, true));
        recompute();
    }

    /** Recomputes everything from the current entries (called 120 ms after the last edit). */
    public void recompute() {
        if (summary.isDisposed()) {
            return;
        }
        inputs.beginValidation();
        ModelConfig m = inputs.model(model);
        GpuSpec g = inputs.gpu(gpu, gpus);
        Precision w = inputs.precision(precision, "weights");
        Precision kv = inputs.precision(kvPrecision, "KV");
        Long ctx = inputs.positive(context, "context", 100_000_000L);
        Long b = inputs.positive(batch, "batch", 1_000_000L);
        List<String> errs = inputs.errors();
        if (!errs.isEmpty()) {
            error.setText(String.join("\n", errs));
            summary.setText("Fix the marked entries to see the numbers.");
            relayout();
            return;
        }
        try {
            KvCapacity.Result r = KvCapacity.compute(m, g, w, kv, ctx, KvCapacity.DEFAULT_UTILIZATION);
            KvCache.Result batchKv = KvCache.compute(m, kv, ctx, b);
            String fit = batchKv.totalBytes() <= Math.max(0, r.kvBudgetBytes()) ? "fits" : "does NOT fit";
            summary.setText(r.weightsFit()
                    ? "Max concurrency: " + r.maxSequences() + " sequences of " + ctx + " tokens on one " + g.id() + ".  Batch " + b + " needs "
                            + Units.gib(batchKv.totalBytes()) + " of KV: " + fit + "."
                    : "Does not fit: weights " + Units.gib(r.weightBytes()) + " exceed the usable " + Units.gib(r.usableBytes()) + " of one " + g.id()
                            + ". Use more GPUs (Plan) or narrower weights.");
            error.setText(loaded.problem() == null ? "" : loaded.problem());
            bar.setModel(BarModel.gpuMemory(m.name() + " on " + g.name() + (g.isUserDefined() ? " [user-defined GPU]" : "") + " ("
                    + m.attention() + ", " + String.format(java.util.Locale.ROOT, "%.2fB params", m.totalParams() / 1e9) + ")", r, b));
            bar.setToolTipText(Catalogs.provenance(g));
            StringBuilder s = new StringBuilder();
            for (Formula f : r.formulas()) {
                s.append(f.render()).append("\n\n");
            }
            s.append(batchKv.formulas().get(2).render()).append('\n');
            formulas.setText(s.toString());
        } catch (InputException e) {
            error.setText(e.getMessage());
            summary.setText("Cannot compute: see the message below.");
        }
        relayout();
    }

    private void relayout() {
        summary.getParent().layout(true, true);
    }

    @Override
    public void setFocus() {
        model.setFocus();
    }

    // --- for tests and the smoke report ---
    public String summaryText() {
        return summary.getText();
    }

    public String errorText() {
        return error.getText();
    }

    public String formulasText() {
        return formulas.getText();
    }

    public BarCanvas bar() {
        return bar;
    }

    public Combo modelCombo() {
        return model;
    }

    public Combo gpuCombo() {
        return gpu;
    }

    public Text contextText() {
        return context;
    }

    public Text batchText() {
        return batch;
    }
}
