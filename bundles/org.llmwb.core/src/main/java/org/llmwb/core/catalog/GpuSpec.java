package org.llmwb.core.catalog;

import java.util.Map;

import org.llmwb.core.Units;

/**
 * One accelerator as its datasheet describes it. All compute figures are DENSE (no 2:4 sparsity);
 * interconnect figures are the vendor's aggregate bidirectional numbers, so one direction gets
 * half ({@link #linkBandwidthPerDirection()}).
 *
 * @param memoryBytes device memory in bytes (datasheet GB taken as GiB: HBM stacks are binary-sized)
 * @param memoryBandwidth bytes/s
 * @param denseFlops FLOP/s (or OP/s for int8) by compute key: fp64, fp32, tf32, bf16, fp16, fp8, int8, fp4
 * @param linkBandwidth scale-up link (NVLink, Infinity Fabric), bytes/s bidirectional aggregate; 0 if none
 * @param pcieBandwidth host link, bytes/s bidirectional
 * @param origin "built-in" or the file a user entry came from
 */
public record GpuSpec(String id, String name, String vendor, double memoryBytes, String memoryType, double memoryBandwidth,
        Map<String, Double> denseFlops, String sparsityNote, String linkName, double linkBandwidth, String pcieName,
        double pcieBandwidth, String source, String notes, String origin) {

    public boolean isUserDefined() {
        return !"built-in".equals(origin);
    }

    /** Dense peak for a compute key, or 0 when the GPU has no native support. */
    public double peak(String computeKey) {
        Double v = denseFlops.get(computeKey);
        return v == null ? 0 : v;
    }

    /** The peak the math of a precision runs at, falling back (fp4 → fp8 → bf16 → fp16 → fp32) when not native. */
    public double peakFor(Precision p) {
        for (String k : fallbacks(p.computeKey())) {
            if (peak(k) > 0) {
                return peak(k);
            }
        }
        return 0;
    }

    /** The compute key {@link #peakFor} actually used, to say so in formulas ("fp4 not native: fp8 peak"). */
    public String computeKeyFor(Precision p) {
        for (String k : fallbacks(p.computeKey())) {
            if (peak(k) > 0) {
                return k;
            }
        }
        return p.computeKey();
    }

    private static String[] fallbacks(String key) {
        return switch (key) {
            case "fp4" -> new String[] {"fp4", "fp8", "bf16", "fp16", "fp32"};
            case "fp8" -> new String[] {"fp8", "bf16", "fp16", "fp32"};
            case "int8" -> new String[] {"int8", "fp16", "bf16", "fp32"};
            case "bf16" -> new String[] {"bf16", "fp16", "fp32"};
            case "fp16" -> new String[] {"fp16", "bf16", "fp32"};
            default -> new String[] {key, "fp32"};
        };
    }

    /** One direction of the scale-up link (half the bidirectional aggregate), bytes/s. */
    public double linkBandwidthPerDirection() {
        return linkBandwidth / 2;
    }

    public double pcieBandwidthPerDirection() {
        return pcieBandwidth / 2;
    }

    public String summary() {
        return String.format(java.util.Locale.ROOT, "%s: %.0f GiB %s, %.2f TB/s, %.0f dense BF16 TFLOP/s", name,
                memoryBytes / Units.GIB, memoryType, memoryBandwidth / Units.TB, peak("bf16") / Units.TFLOPS);
    }
}
