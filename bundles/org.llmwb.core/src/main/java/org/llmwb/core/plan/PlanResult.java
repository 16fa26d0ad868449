package org.llmwb.core.plan;

import java.util.List;
import java.util.Map;

import org.llmwb.core.Formula;
import org.llmwb.core.Problem;

/**
 * What the planner found for one deployment.
 *
 * @param memory the most loaded GPU's memory (the first or last pipeline stage)
 * @param maxSequencesPerReplica full-context sequences one replica's KV budget holds
 * @param commands engine → command line (vllm, sglang, trtllm), and the {@code llmwb bench} line that measures the deployment
 */
public record PlanResult(PlanInput input, List<Problem> problems, GpuMemory memory, double kvBytesPerTokenPerGpu,
        long maxSequencesPerReplica, List<Collective> collectives, double decodeStepBound, double prefillBound, Map<String, String> commands,
        List<Formula> formulas) {

    /**
     * Per-GPU memory of the most loaded GPU, bytes.
     *
     * @param kvBudget what is left for the KV cache after weights and activations (negative: does not fit)
     */
    public record GpuMemory(double total, double usable, double weights, double activations, double kvBudget, double kvUsed,
            double free) {
    }

    /**
     * One kind of collective in one step.
     *
     * @param phase "decode" or "prefill"
     * @param perStep how many times per step (e.g. 2 per layer for TP all-reduces)
     * @param messageBytes size of one message
     * @param bytesPerGpu what each GPU sends per step over all calls (ring algorithms: 2(n−1)/n of the message)
     * @param seconds estimated time per step (α-β model over the link)
     */
    public record Collective(String phase, String type, String group, int groupSize, int perStep, double messageBytes,
            double bytesPerGpu, String link, double linkBandwidth, double seconds) {
    }

    public boolean valid() {
        return problems.stream().noneMatch(Problem::isError);
    }
}
