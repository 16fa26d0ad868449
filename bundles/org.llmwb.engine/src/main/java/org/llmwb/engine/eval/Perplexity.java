package org.llmwb.engine.eval;

import java.util.List;

import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.model.SeqInput;

/**
 * Perplexity of a model on a token stream, as {@code tools/hf/make_parity_fixtures.py} measures it with transformers
 * (so the figures compare): windows of {@code window} tokens, each the BOS token followed by the next
 * {@code window − 1} tokens of the stream, windows starting every {@code window − 1} tokens while a whole window fits;
 * every token after the BOS is predicted from the ones before it in its window (one prefill step with logits for
 * every row). Perplexity = exp(mean negative log-likelihood) over the predicted tokens.
 */
public final class Perplexity {
    /** The result: perplexity, the mean negative log-likelihood (nats) and how many tokens were predicted. */
    public record Result(double perplexity, double meanNll, long tokens, int windows) {
    }

    /** Called after each window: windows done and the windows in all. */
    public interface Progress {
        void done(int windows, int of);
    }

    private Perplexity() {
    }

    public static Result of(ModelRunner runner, List<Integer> stream, int bos, int window, Progress progress) {
        if (window < 2) {
            throw new IllegalArgumentException("window must be at least 2 tokens");
        }
        int stride = window - 1;
        int n = stream.size();
        int windows = n - window > 0 ? (n - window - 1) / stride + 1 : 0;
        if (windows == 0) {
            throw new IllegalArgumentException("the text is " + n + " tokens: shorter than one window of " + window);
        }
        int blocksPer = (window + runner.blockSize() - 1) / runner.blockSize();
        if (blocksPer > runner.kvBlocks()) {
            throw new IllegalArgumentException("a window of " + window + " tokens needs " + blocksPer + " KV blocks; the runner has " + runner.kvBlocks());
        }
        int[] table = new int[blocksPer];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        double nll = 0;
        long count = 0;
        int done = 0;
        for (int s = 0; s < n - window; s += stride) {
            int[] x = new int[window];
            x[0] = bos;
            for (int i = 1; i < window; i++) {
                x[i] = stream.get(s + i - 1);
            }
            float[][] logits = runner.run(List.of(new SeqInput(x, 0, table, window)));
            for (int i = 0; i + 1 < window; i++) {
                nll -= logSoftmax(logits[i], x[i + 1]);
                count++;
            }
            done++;
            if (progress != null) {
                progress.done(done, windows);
            }
        }
        return new Result(Math.exp(nll / count), nll / count, count, done);
    }

    /** log p(target) under softmax(logits), in double. */
    public static double logSoftmax(float[] logits, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double z = 0;
        for (float v : logits) {
            z += Math.exp(v - max);
        }
        return logits[target] - max - Math.log(z);
    }
}
