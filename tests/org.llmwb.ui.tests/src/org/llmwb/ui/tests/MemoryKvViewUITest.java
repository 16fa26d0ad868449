package org.llmwb.ui.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.eclipse.swt.graphics.RGB;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.llmwb.core.calc.KvCapacity;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.plot.Palette;
import org.llmwb.ui.views.MemoryKvView;

class MemoryKvViewUITest {
    private MemoryKvView view;

    @BeforeEach
    void open() throws Exception {
        view = Ui.show(MemoryKvView.ID, MemoryKvView.class);
    }

    private void set(String model, String gpu, String context, String batch) {
        view.modelCombo().setText(model);
        view.gpuCombo().setText(gpu);
        view.contextText().setText(context);
        view.batchText().setText(batch);
        view.recompute();
        Ui.spin(200); // also lets the debounced recompute from the edits run
    }

    @Test
    void showsTheCalculatorsNumbersAndFormulas() {
        set("llama-3.1-8b", "h100-sxm", "8192", "4");
        KvCapacity.Result expected = KvCapacity.compute(ModelPresets.of("llama-3.1-8b"), GpuCatalog.builtIn().get("h100-sxm"), Precision.BF16,
                Precision.BF16, 8192, 0.9);
        assertEquals(56, expected.maxSequences());
        assertTrue(view.summaryText().startsWith("Max concurrency: 56 sequences of 8192 tokens"), view.summaryText());
        assertTrue(view.summaryText().contains("Batch 4 needs 4.00 GiB of KV: fits"), view.summaryText());
        assertTrue(view.formulasText().contains("2 × 32 × 8 × 128 × 2"), view.formulasText());
        assertNotNull(view.bar().getModel());
        assertEquals(8_030_261_248L * 2.0, view.bar().getModel().segments().get(0).value());
        // the weights segment is painted in palette colour 0 near the bar's left end
        int[] c = Palette.rgb(0);
        assertEquals(new RGB(c[0], c[1], c[2]), Ui.pixel(view.bar(), 14, 36));
        assertEquals("", view.errorText());
    }

    @Test
    void badEntriesAreMarkedNotThrown() {
        set("llama-3.1-8b", "h100-sxm", "lots", "4");
        assertTrue(view.errorText().contains("context must be a whole number (got 'lots')"), view.errorText());
        assertTrue(view.summaryText().startsWith("Fix the marked entries"));
        assertNotNull(view.contextText().getBackground());
        assertEquals(255, view.contextText().getBackground().getRed());
        set("no-such-model", "h100-sxm", "8192", "4");
        assertTrue(view.errorText().contains("unknown model 'no-such-model'"), view.errorText());
        set("llama-3-70b", "h100-sxm", "8192", "4");
        assertTrue(view.summaryText().startsWith("Does not fit"), view.summaryText());
        assertTrue(view.bar().getModel().overflow());
    }

    @Test
    void typingUpdatesWithoutAnExplicitRecompute() {
        set("llama-3.1-8b", "h100-sxm", "8192", "4");
        view.contextText().setText("131072");
        Ui.waitFor("the debounced update", 5000, () -> view.summaryText().contains("of 131072 tokens"));
        assertTrue(view.summaryText().startsWith("Max concurrency: 3 sequences"), view.summaryText());
    }
}
