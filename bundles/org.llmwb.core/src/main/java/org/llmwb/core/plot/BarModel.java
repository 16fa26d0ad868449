package org.llmwb.core.plot;

import java.util.ArrayList;
import java.util.List;

import org.llmwb.core.Units;
import org.llmwb.core.calc.KvCapacity;

/**
 * A stacked horizontal bar (e.g. one GPU's memory): segments in order, each with its value and
 * the text a renderer prints. {@code overflow} is true when the segments exceed the total.
 */
public record BarModel(String title, double total, List<Segment> segments, boolean overflow) {

    /** @param colorIndex palette index; -1 for "free" (drawn unfilled) */
    public record Segment(String label, double value, int colorIndex, String valueText) {
    }

    /** One GPU's memory for a capacity result with {@code batch} sequences active: weights, activations, KV in use, KV free, reserve. */
    public static BarModel gpuMemory(String title, KvCapacity.Result r, long batch) {
        List<Segment> s = new ArrayList<>();
        s.add(new Segment("weights", r.weightBytes(), 0, Units.gib(r.weightBytes())));
        s.add(new Segment("activations", r.activationBytes(), 3, Units.gib(r.activationBytes())));
        double kvUsed = Math.max(0, Math.min(batch, r.maxSequences()) * r.kvBytesPerSequence());
        double kvFree = Math.max(0, r.kvBudgetBytes() - kvUsed);
        s.add(new Segment("KV in use (" + Math.min(batch, r.maxSequences()) + " seq)", kvUsed, 2, Units.gib(kvUsed)));
        s.add(new Segment("KV free", kvFree, 4, Units.gib(kvFree)));
        double reserve = r.gpuBytes() - r.usableBytes();
        s.add(new Segment("reserve", reserve, -1, Units.gib(reserve)));
        boolean overflow = r.weightBytes() + r.activationBytes() > r.usableBytes();
        return new BarModel(title, r.gpuBytes(), s, overflow);
    }
}
