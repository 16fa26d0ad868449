package org.llmwb.core.calc;

import static org.llmwb.core.Formula.num;

import java.util.List;

import org.llmwb.core.Formula;
import org.llmwb.core.catalog.ModelConfig;
import org.llmwb.core.catalog.Precision;

/**
 * Bytes of a model's weights at a precision. 16/32-bit formats store every parameter at that
 * width. Narrower formats (FP8, INT8, INT4, NVFP4) store the decoder's linear-layer weights narrow
 * (with their block scales) and keep embeddings, LM head, norms, biases and routers in BF16, as
 * weight-quantized checkpoints do. Per-channel INT8 scales (one per output row) are not counted.
 */
public final class WeightMemory {
    public record Result(long params, long linearParams, double linearBytes, double otherBytes, double totalBytes,
            List<Formula> formulas) {
    }

    private WeightMemory() {
    }

    public static Result compute(ModelConfig m, Precision p) {
        long params = m.totalParams();
        if (!p.isQuantized()) {
            double bytes = params * p.bytesPerValue();
            Formula f = new Formula("weight bytes", "params × bytes/param",
                    num(params) + " × " + num(p.bytesPerValue()) + " (" + p.id() + ")", bytes, "B");
            return new Result(params, m.linearParams(), m.linearParams() * p.bytesPerValue(),
                    m.nonLinearParams() * p.bytesPerValue(), bytes, List.of(paramFormula(m), f));
        }
        long lin = m.linearParams();
        long other = m.nonLinearParams();
        double linBytes = lin * p.bytesPerValue();
        double otherBytes = other * 2.0;
        Formula f = new Formula("weight bytes",
                "linear params × bits/value ÷ 8 + other params × 2 (BF16 embeddings, head, norms)",
                num(lin) + " × " + num(p.bitsPerValue()) + " ÷ 8 + " + num(other) + " × 2", linBytes + otherBytes, "B");
        return new Result(params, lin, linBytes, otherBytes, linBytes + otherBytes, List.of(paramFormula(m), f));
    }

    /** How the parameter count was derived from the architecture. */
    public static Formula paramFormula(ModelConfig m) {
        String sym;
        String sub;
        if (m.isMoe()) {
            sym = "denseLayers × (attn + mlp + norms) + moeLayers × (attn + (experts + shared) × expert + router + norms) + embed + head + norm";
            sub = m.numDenseLayers() + " × (" + num(m.attentionParams()) + " + " + num(m.denseMlpParams()) + " + " + num(m.normParamsPerLayer())
                    + ") + " + m.numMoeLayers() + " × (" + num(m.attentionParams()) + " + (" + m.numExperts() + " + " + m.sharedExperts()
                    + ") × " + num(m.expertParams()) + " + " + num(m.routerParams()) + " + " + num(m.normParamsPerLayer()) + ") + "
                    + num(m.embeddingParams()) + " + " + num(m.lmHeadParams()) + " + " + num(m.finalNormParams());
        } else {
            sym = "layers × (attn + mlp + norms) + embed + head + norm";
            sub = m.numLayers() + " × (" + num(m.attentionParams()) + " + " + num(m.denseMlpParams()) + " + " + num(m.normParamsPerLayer())
                    + ") + " + num(m.embeddingParams()) + " + " + num(m.lmHeadParams()) + " + " + num(m.finalNormParams());
        }
        return new Formula("parameters", sym, sub, m.totalParams(), "params");
    }
}
