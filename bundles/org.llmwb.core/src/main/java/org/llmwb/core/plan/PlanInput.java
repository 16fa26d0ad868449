package org.llmwb.core.plan;

import org.llmwb.core.Units;
import org.llmwb.core.calc.KvCapacity;
import org.llmwb.core.catalog.GpuSpec;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

/**
 * Everything the planner needs.
 *
 * @param context max model length each sequence may reach (KV capacity is sized for it)
 * @param batch concurrent sequences per replica in a decode step (sizes the per-step messages)
 * @param promptTokens tokens of one prefill (sizes prefill messages and the prefill bound)
 * @param interNodeBandwidth per-GPU network bandwidth per direction between nodes, bytes/s
 */
public record PlanInput(ModelConfig model, GpuSpec gpu, Precision weights, Precision kv, ParallelConfig parallel, long context,
        long batch, long promptTokens, int gpusPerNode, double interNodeBandwidth, double utilization, int maxBatchTokens) {

    /** 400 Gb/s per GPU (one NDR InfiniBand / RoCE NIC per GPU, as on DGX/HGX H100). */
    public static final double DEFAULT_INTER_NODE = 50 * Units.GB;

    public static PlanInput of(ModelConfig model, GpuSpec gpu, Precision weights, Precision kv, ParallelConfig parallel, long context,
            long batch) {
        return new PlanInput(model, gpu, weights, kv, parallel, context, batch, Math.min(context, 4096), 8, DEFAULT_INTER_NODE,
                KvCapacity.DEFAULT_UTILIZATION, KvCapacity.DEFAULT_BATCH_TOKENS);
    }
}
