package org.llmwb.engine.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.result.Json;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.StepEvent;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.model.SeqInput;
import org.llmwb.engine.run.EngineSweep;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;
import org.llmwb.engine.spec.ModelDrafter;
import org.llmwb.engine.spec.NgramDrafter;
import org.llmwb.engine.spec.SpecConfig;
import org.llmwb.engine.spec.Speculator;

/**
 * Speculative decoding against plain decoding on the same requests: greedy, repetitive prompts (a phrase
 * repeated, then the model continues), at several batch sizes, for the n-gram and early-exit drafters. Per
 * point: output tokens/s (wall clock over the decode phase), whether every output equals plain decoding's,
 * acceptance rate by position, mean accepted length, draft and verify time per step. Also the time of one
 * verify forward with K drafts against one decode forward at batch 1 (median of runner calls, CUDA graphs off
 * for both so the kernels are compared, and the engine-step medians with graphs on for plain decode).
 *
 * A preset model has seeded random weights: its greedy output is not text, and acceptance measures how often the
 * drafter guessed what this model emits (random-weight models tend to fall into loops, which n-gram lookup
 * finds). A trained checkpoint folder with {@code --text} gives real acceptance rates: each request's prompt is a
 * different stretch of that text (tokenized by the model's tokenizer), and {@code --draft DIR} adds a draft model
 * (same tokenizer) to the drafters.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.SpecBench --model llama-3.2-1b --backend cuda --out spec.jsonl
 * java -cp 'lib/*' org.llmwb.engine.bench.SpecBench --model models/kjv-target --draft models/kjv-draft \
 *     --text models/kjv-heldout.txt --backend cuda --out spec-kjv.jsonl</pre>
 */
public final class SpecBench {
    private SpecBench() {
    }

    public static void main(String[] args) throws Exception {
        String model = "tiny";
        String backend = "cpu";
        Path out = Path.of("spec.jsonl");
        int[] batches = {1, 4, 16, 32};
        int tokens = 128;
        int k = 4;
        Path draft = null;
        Path text = null;
        int promptLen = 64;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--backend" -> backend = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--batches" -> batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--tokens" -> tokens = Integer.parseInt(args[++i]);
                case "--k" -> k = Integer.parseInt(args[++i]);
                case "--draft" -> draft = Path.of(args[++i]);
                case "--text" -> text = Path.of(args[++i]);
                case "--prompt-tokens" -> promptLen = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--model --draft --text --prompt-tokens --backend --out --batches --tokens --k)");
            }
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        boolean cuda = backend.equals("cuda");
        org.llmwb.backend.cuda.Gpu gpu = cuda ? org.llmwb.backend.cuda.Gpu.open() : null;
        try (Checkpoint ck = Checkpoint.open(EngineSweep.checkpointFor(model, 1))) {
            int bs = 16;
            int maxB = java.util.Arrays.stream(batches).max().orElse(1);
            int[][] prompts = text == null ? null : textPrompts(ck, text, maxB, promptLen);
            int longest = prompts == null ? 96 : promptLen;
            int blocks = Math.max(maxB * ((longest + tokens + 2 * k + bs) / bs + 1), (512 + 2 * k + bs) / bs + 1);
            try (ModelRunner r = cuda ? new org.llmwb.engine.model.CudaModelRunner(gpu, ck, blocks, bs).useGraphs(true)
                    : QuantBench.cpuRunner(ck, org.llmwb.engine.quant.Quantization.NONE, blocks, bs);
                    Checkpoint dck = draft == null ? null : Checkpoint.open(draft);
                    ModelRunner dr = dck == null ? null : cuda ? new org.llmwb.engine.model.CudaModelRunner(gpu, dck, blocks, bs).useGraphs(true)
                            : QuantBench.cpuRunner(dck, org.llmwb.engine.quant.Quantization.NONE, blocks, bs)) {
                if (dck != null && dck.config().vocabSize() != ck.config().vocabSize()) {
                    throw new IllegalArgumentException("--draft " + draft + ": vocabulary " + dck.config().vocabSize() + " is not the target's " + ck.config().vocabSize());
                }
                String label = prompts == null ? model + " (seeded random weights)" : model + " (prompts from " + text.getFileName() + ")";
                rows.add(verifyVsDecode(r, k, label, cuda));
                int layers = ck.config().numLayers();
                List<String> methods = new ArrayList<>(List.of("ngram", "layer-skip"));
                if (dr != null) {
                    methods.add(0, "draft-model");
                }
                for (int b : batches) {
                    Point plain = point(r, blocks, bs, b, tokens, null, prompts);
                    for (String method : methods) {
                        Speculator sp = switch (method) {
                            case "ngram" -> new Speculator(SpecConfig.ngram(k), new NgramDrafter(1, 3));
                            case "layer-skip" -> new Speculator(new SpecConfig(SpecConfig.Method.LAYER_SKIP, k, true, 1, 3, layers / 2, null), ModelDrafter.layerSkip(r, layers / 2));
                            default -> new Speculator(new SpecConfig(SpecConfig.Method.DRAFT_MODEL, k, true, 1, 3, 0, draft.toString()), ModelDrafter.draftModel(dr, r));
                        };
                        Point s = point(r, blocks, bs, b, tokens, sp, prompts);
                        Map<String, Object> row = new LinkedHashMap<>();
                        row.put("bench", "speculative-vs-plain");
                        row.put("model", label);
                        row.put("device", r.device());
                        row.put("batch", b);
                        row.put("method", method);
                        row.put("k", k);
                        if (dr != null && method.equals("draft-model")) {
                            row.put("draftModel", draft.toString());
                        }
                        row.put("plainTokPerS", plain.tokS);
                        row.put("specTokPerS", s.tokS);
                        row.put("speedup", s.tokS / plain.tokS);
                        row.put("identicalOutput", same(plain.outputs, s.outputs));
                        row.put("identicalRequests", identicalCount(plain.outputs, s.outputs));
                        List<Map<String, Object>> div = divergences(r, blocks, bs, b, prompts, plain.outputs, s.outputs);
                        if (!div.isEmpty()) {
                            row.put("divergences", div);
                        }
                        row.putAll(sp.summary());
                        rows.add(row);
                        System.out.printf(Locale.ROOT, "batch %2d %-10s plain %8.1f tok/s  spec %8.1f tok/s  ×%.2f  accept %.2f  mean accepted %.2f  identical %d/%d%s%n", b,
                                method, plain.tokS, s.tokS, s.tokS / plain.tokS, sp.acceptanceRate(), sp.meanAccepted(), row.get("identicalRequests"), b,
                                div.isEmpty() ? "" : "; first divergences: " + describe(div));
                    }
                }
            }
        } finally {
            if (gpu != null) {
                gpu.close();
            }
        }
        StringBuilder sb = new StringBuilder();
        rows.forEach(r -> sb.append(Json.line(r)).append('\n'));
        org.llmwb.core.result.AtomicFiles.write(out, sb.toString());
        System.out.println("wrote " + out);
    }

    record Point(double tokS, List<int[]> outputs) {
    }

    static boolean same(List<int[]> a, List<int[]> b) {
        for (int i = 0; i < a.size(); i++) {
            if (!java.util.Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    static int identicalCount(List<int[]> a, List<int[]> b) {
        int n = 0;
        for (int i = 0; i < a.size(); i++) {
            n += java.util.Arrays.equals(a.get(i), b.get(i)) ? 1 : 0;
        }
        return n;
    }

    /**
     * Where a speculative output leaves plain decoding's: for each differing request, the first differing position and
     * the target's own logits there, from one full prefill of the prompt and plain decoding's tokens before it (the
     * runner's prefill path, neither decode's nor verify's): the two tokens' logit gap, as a fraction of the row's
     * largest |logit|. A gap within the runner's measured BF16 error (about 1-2% of the largest logit against
     * transformers, {@code TransformersParityGpuTest}) is a near-tie that two kernel paths may break differently; a wide
     * gap would be a bug. At most 8 requests.
     */
    static List<Map<String, Object>> divergences(ModelRunner r, int blocks, int bs, int batch, int[][] prompts, List<int[]> plain, List<int[]> spec) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int q = 0; q < plain.size() && out.size() < 8; q++) {
            int[] a = plain.get(q);
            int[] b = spec.get(q);
            int at = 0;
            while (at < Math.min(a.length, b.length) && a[at] == b[at]) {
                at++;
            }
            if (at == a.length && at == b.length) {
                continue;
            }
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("request", q);
            d.put("position", at);
            if (at < a.length && at < b.length) {
                int[] p = prompts == null ? prompt(q) : prompts[q];
                int[] ctx = java.util.Arrays.copyOf(p, p.length + at);
                System.arraycopy(a, 0, ctx, p.length, at);
                int[] table = new int[(ctx.length + bs - 1) / bs];
                if (table.length > blocks) {
                    continue;
                }
                for (int i = 0; i < table.length; i++) {
                    table[i] = i;
                }
                float[] row = r.run(List.of(new SeqInput(ctx, 0, table)))[0];
                float max = 0;
                int arg = 0;
                for (int i = 0; i < row.length; i++) {
                    max = Math.max(max, Math.abs(row[i]));
                    arg = row[i] > row[arg] ? i : arg;
                }
                d.put("plainToken", a[at]);
                d.put("specToken", b[at]);
                d.put("prefillArgmax", arg);
                d.put("logitGap", (double) Math.abs(row[a[at]] - row[b[at]]));
                d.put("logitGapOfLargest", (double) Math.abs(row[a[at]] - row[b[at]]) / max);
            } else {
                d.put("lengthsDiffer", a.length + " vs " + b.length);
            }
            out.add(d);
        }
        return out;
    }

    static String describe(List<Map<String, Object>> div) {
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> d : div) {
            sb.append(sb.isEmpty() ? "" : ", ").append("#").append(d.get("request")).append("@").append(d.get("position"));
            if (d.containsKey("logitGapOfLargest")) {
                sb.append(String.format(Locale.ROOT, " gap %.1e", (Double) d.get("logitGapOfLargest")));
            }
        }
        return sb.toString();
    }

    /** Repetitive prompts: a 12-token phrase repeated to 96 tokens, a different phrase per request. */
    static int[] prompt(int s) {
        int[] p = new int[96];
        for (int j = 0; j < p.length; j++) {
            p[j] = (31 * (j % 12) + 7 * s + 5) % 200;
        }
        return p;
    }

    /**
     * Prompts of {@code len} tokens from a text, request s's starting {@code s · len} tokens in (a new stretch each),
     * BOS first where config.json names one.
     */
    static int[][] textPrompts(Checkpoint ck, Path text, int n, int len) throws java.io.IOException {
        org.llmwb.engine.tokenizer.BpeTokenizer tok = org.llmwb.engine.tokenizer.BpeTokenizer.load(ck.tokenizerFile());
        int[] ids = tok.encode(java.nio.file.Files.readString(text, java.nio.charset.StandardCharsets.UTF_8)).stream().mapToInt(Integer::intValue).toArray();
        if ((long) n * len > ids.length) {
            throw new IllegalArgumentException(text + ": " + ids.length + " tokens, too few for " + n + " prompts of " + len);
        }
        var cfg = Json.parse(java.nio.file.Files.readString(ck.dir().resolve("config.json")));
        int bos = cfg.path("bos_token_id").canConvertToInt() ? cfg.get("bos_token_id").asInt() : -1;
        int[][] out = new int[n][];
        for (int s = 0; s < n; s++) {
            int[] p = new int[len];
            int at = 0;
            if (bos >= 0) {
                p[at++] = bos;
            }
            System.arraycopy(ids, s * len, p, at, len - at);
            out[s] = p;
        }
        return out;
    }

    /** Output tokens/s over the steps after the prompts were prefilled (wall clock). */
    static Point point(ModelRunner r, int blocks, int bs, int batch, int tokens, Speculator sp) {
        return point(r, blocks, bs, batch, tokens, sp, null);
    }

    static Point point(ModelRunner r, int blocks, int bs, int batch, int tokens, Speculator sp, int[][] prompts) {
        LlmEngine e = new LlmEngine(r, new BlockManager(blocks, bs, false), SchedulerConfig.continuous(8192, batch));
        if (sp != null) {
            e.speculate(sp);
        }
        List<Sequence> seqs = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            seqs.add(e.add(prompts == null ? prompt(s) : prompts[s], SamplingParams.greedy(tokens).withStop(java.util.Set.of(), true), 0, 0));
        }
        StepEvent first = e.step(false); // the prefill (one step: the budget holds every prompt)
        int before = seqs.stream().mapToInt(Sequence::outputLength).sum();
        long t0 = System.nanoTime();
        while (e.hasWork()) {
            e.step(false);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        int after = seqs.stream().mapToInt(Sequence::outputLength).sum();
        List<int[]> outs = new ArrayList<>();
        seqs.forEach(q -> outs.add(q.output()));
        if (first == null) {
            throw new IllegalStateException("no prefill step");
        }
        return new Point((after - before) / s, outs);
    }

    /** One verify forward (1 + k tokens, 1 + k logits rows) against one decode forward, batch 1, same context length. */
    static Map<String, Object> verifyVsDecode(ModelRunner r, int k, String label, boolean cuda) {
        int ctx = 512;
        int bs = r.blockSize();
        int[] table = new int[(ctx + k + 1 + bs - 1) / bs];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        int[] prompt = new int[ctx];
        for (int i = 0; i < ctx; i++) {
            prompt[i] = (i * 13) % 200;
        }
        r.run(List.of(new SeqInput(prompt, 0, table)));
        int[] one = {5};
        int[] many = new int[k + 1];
        java.util.Arrays.fill(many, 5);
        int runs = cuda ? 200 : 20;
        double[] plainMs = new double[2];
        double[] verifyMs = new double[2];
        for (int graphs = 0; graphs < (cuda ? 2 : 1); graphs++) {
            if (r instanceof org.llmwb.engine.model.CudaModelRunner c) {
                c.useGraphs(graphs == 1);
            }
            double[] dec = new double[runs];
            double[] ver = new double[runs];
            for (int i = 0; i < runs + 10; i++) {
                long a = System.nanoTime();
                r.run(List.of(new SeqInput(one, ctx, table)));
                long b = System.nanoTime();
                r.run(List.of(new SeqInput(many, ctx, table, k + 1)));
                long c = System.nanoTime();
                if (i >= 10) {
                    dec[i - 10] = (b - a) / 1e6;
                    ver[i - 10] = (c - b) / 1e6;
                }
            }
            java.util.Arrays.sort(dec);
            java.util.Arrays.sort(ver);
            plainMs[graphs] = dec[runs / 2];
            verifyMs[graphs] = ver[runs / 2];
        }
        if (r instanceof org.llmwb.engine.model.CudaModelRunner c) {
            c.useGraphs(true);
        }
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("bench", "verify-vs-decode");
        row.put("model", label);
        row.put("device", r.device());
        row.put("k", k);
        row.put("context", ctx);
        row.put("decodeForwardMsMedian", plainMs[0]);
        row.put("verifyForwardMsMedian", verifyMs[0]);
        row.put("ratio", verifyMs[0] / plainMs[0]);
        if (cuda) {
            row.put("decodeForwardWithGraphMsMedian", plainMs[1]);
            row.put("verifyForwardWithGraphMsMedian", verifyMs[1]);
            row.put("ratioWithGraphs", verifyMs[1] / plainMs[1]);
        }
        System.out.printf(Locale.ROOT, "verify (K=%d) %.3f ms vs decode %.3f ms: ×%.2f%s%n", k, verifyMs[0], plainMs[0], verifyMs[0] / plainMs[0],
                cuda ? String.format(Locale.ROOT, "; with CUDA graphs %.3f vs %.3f ms: ×%.2f", verifyMs[1], plainMs[1], verifyMs[1] / plainMs[1]) : "");
        return row;
    }
}
