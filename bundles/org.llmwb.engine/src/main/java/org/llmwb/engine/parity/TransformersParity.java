package org.llmwb.engine.parity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.engine.LlmEngine;
import org.llmwb.engine.kv.BlockManager;
import org.llmwb.engine.model.Checkpoint;
import org.llmwb.engine.model.ModelRunner;
import org.llmwb.engine.model.Safetensors;
import org.llmwb.engine.model.SeqInput;
import org.llmwb.engine.sched.SamplingParams;
import org.llmwb.engine.sched.SchedulerConfig;
import org.llmwb.engine.sched.Sequence;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Holds a model runner against Hugging Face transformers: a fixture folder (made by
 * {@code tools/hf/make_parity_fixtures.py}) is a checkpoint written by {@code save_pretrained} plus
 * {@code reference.json} (per case: prompt ids and transformers' FP32 greedy continuation) and
 * {@code reference.safetensors} (per case: transformers' FP32 logits of the whole sequence, row i predicting token
 * i + 1). Each case runs through the runner in five ways, and every logits row it produces is compared with the
 * reference row for the same position:
 * <ul>
 * <li>{@code full-prefill}: the whole sequence in one step, logits of every row;</li>
 * <li>{@code decode}: the prompt's prefill, then one decode step per reference token (teacher forcing, so the
 * contexts stay the reference's);</li>
 * <li>{@code chunked}: the sequence in chunks of 5 tokens, each chunk over the cache the earlier ones wrote;</li>
 * <li>{@code prefix-cached}: after the full sequence, a second sequence whose full blocks are the first one's
 * (shared block-table entries) prefills only the rest;</li>
 * <li>{@code engine}: the engine itself (continuous batching, chunked prefill of 16 tokens, prefix caching): every case
 * at once, then every case again (served from the prefix cache), greedy; rows compared while the engine's tokens
 * are transformers' greedy tokens.</li>
 * </ul>
 */
public final class TransformersParity {
    /** One reference case: the prompt, transformers' greedy continuation and its FP32 logits [prompt + generated][vocab]. */
    public record Case(int[] prompt, int[] generated, float[][] logits) {
        int[] sequence() {
            int[] s = Arrays.copyOf(prompt, prompt.length + generated.length);
            System.arraycopy(generated, 0, s, prompt.length, generated.length);
            return s;
        }
    }

    /** What one way of running one case gave: the largest logit difference relative to the row's largest |logit|. */
    public record Check(String mode, int caseIndex, int rows, double maxRelErr, double maxAbsErr, int tokens, int tokensEqual) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%-13s case %d: %3d rows, max |Δlogit| %.2e (%.2e of the row's largest)%s", mode, caseIndex, rows,
                    maxAbsErr, maxRelErr, tokens > 0 ? ", greedy tokens " + tokensEqual + "/" + tokens + " equal" : "");
        }
    }

    /** Opens a runner over a checkpoint with a KV pool of {@code blocks} blocks of {@code blockSize} tokens. */
    public interface RunnerFactory {
        ModelRunner open(Checkpoint ck, int blocks, int blockSize);
    }

    public static final int BLOCK_SIZE = 16;

    private TransformersParity() {
    }

    /**
     * The fixtures of this checkout: folders with a {@code reference.json} under {@code tests/parity/fixtures/} and
     * {@code models/}, found from the working directory upwards (or under {@code -Dllmwb.parity.root}).
     */
    public static List<Path> fixtures() throws IOException {
        Path root = parityRoot();
        List<Path> out = new ArrayList<>();
        for (String sub : new String[] {"tests/parity/fixtures", "models"}) {
            Path d = root.resolve(sub);
            if (Files.isDirectory(d)) {
                try (var s = Files.list(d)) {
                    s.filter(f -> Files.isRegularFile(f.resolve("reference.json"))).sorted().forEach(out::add);
                }
            }
        }
        return out;
    }

    /** The checkout holding {@code tests/parity}: from the working directory upwards, or {@code -Dllmwb.parity.root}. */
    public static Path parityRoot() {
        String prop = System.getProperty("llmwb.parity.root");
        if (prop != null) {
            return Path.of(prop);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("tests/parity"))) {
                return p;
            }
        }
        throw new IllegalStateException("no tests/parity above " + Path.of("").toAbsolutePath());
    }

    /**
     * A copy of the fixture with {@code config.legacy.json} (the same model in the older config keys) as its
     * config.json, in {@code tmp}; null when the fixture has none.
     */
    public static Path legacyVariant(Path fixture, Path tmp) throws IOException {
        Path legacy = fixture.resolve("config.legacy.json");
        if (!Files.isRegularFile(legacy)) {
            return null;
        }
        Path d = Files.createDirectories(tmp.resolve(fixture.getFileName() + "-legacy-keys"));
        try (var s = Files.list(fixture)) {
            for (Path f : s.toList()) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, d.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Files.copy(legacy, d.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return d;
    }

    /** The fixture's cases. */
    public static List<Case> cases(Path fixture) {
        Path json = fixture.resolve("reference.json");
        JsonNode root;
        try {
            root = Json.parse(Files.readString(json));
        } catch (IOException e) {
            throw new InputException(SourceLocation.of(json.toString()), "cannot read the reference: " + e.getMessage());
        }
        List<Case> out = new ArrayList<>();
        try (Safetensors st = Safetensors.open(fixture.resolve("reference.safetensors"))) {
            for (JsonNode c : root.path("cases")) {
                int[] prompt = ints(c.path("prompt"));
                int[] gen = ints(c.path("generated"));
                Safetensors.Entry e = st.entry(c.path("logits").asText());
                int rows = (int) e.shape()[0];
                int vocab = (int) e.shape()[1];
                if (rows != prompt.length + gen.length) {
                    throw new InputException(SourceLocation.of(json.toString()), "case logits have " + rows + " rows for " + (prompt.length + gen.length) + " tokens");
                }
                float[] flat = st.floats(e.name(), rows, vocab);
                float[][] logits = new float[rows][];
                for (int r = 0; r < rows; r++) {
                    logits[r] = Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
                }
                out.add(new Case(prompt, gen, logits));
            }
        }
        return out;
    }

    private static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).asInt();
        }
        return v;
    }

    /** Runs every case of the fixture every way (see the class comment) on runners from {@code factory}. */
    public static List<Check> run(Path fixture, RunnerFactory factory) {
        List<Case> cases = cases(fixture);
        int maxLen = cases.stream().mapToInt(c -> c.prompt.length + c.generated.length).max().orElse(1);
        int perSeq = (maxLen + BLOCK_SIZE - 1) / BLOCK_SIZE + 1;
        int blocks = 2 * perSeq * cases.size() + 8;
        List<Check> out = new ArrayList<>();
        try (Checkpoint ck = Checkpoint.open(fixture)) {
            try (ModelRunner r = factory.open(ck, blocks, BLOCK_SIZE)) {
                for (int i = 0; i < cases.size(); i++) {
                    Case c = cases.get(i);
                    int[] seq = c.sequence();
                    int[] table = table(0, seq.length + 1);
                    // full prefill: every row's logits
                    out.add(compare("full-prefill", i, c, 0, r.run(List.of(new SeqInput(seq, 0, table, seq.length)), r.config().numLayers())));
                    // prefix-cached: the full blocks just written, shared; the rest prefilled into fresh blocks
                    int cached = (seq.length - 1) / BLOCK_SIZE * BLOCK_SIZE;
                    if (cached > 0) {
                        int[] t2 = table(perSeq, seq.length + 1);
                        System.arraycopy(table, 0, t2, 0, cached / BLOCK_SIZE);
                        int[] rest = Arrays.copyOfRange(seq, cached, seq.length);
                        out.add(compare("prefix-cached", i, c, cached, r.run(List.of(new SeqInput(rest, cached, t2, rest.length)), r.config().numLayers())));
                    }
                    // prefill of the prompt, then decode steps on the reference's tokens
                    List<float[]> rows = new ArrayList<>();
                    rows.add(r.run(List.of(new SeqInput(c.prompt, 0, table)), r.config().numLayers())[0]);
                    for (int g = 0; g < c.generated.length; g++) {
                        rows.add(r.run(List.of(new SeqInput(new int[] {c.generated[g]}, c.prompt.length + g, table)), r.config().numLayers())[0]);
                    }
                    out.add(compare("decode", i, c, c.prompt.length - 1, rows.toArray(float[][]::new)));
                    // chunks of 5 over the cache written so far
                    List<float[]> chunked = new ArrayList<>();
                    for (int at = 0; at < seq.length; at += 5) {
                        int[] chunk = Arrays.copyOfRange(seq, at, Math.min(seq.length, at + 5));
                        chunked.addAll(Arrays.asList(r.run(List.of(new SeqInput(chunk, at, table, chunk.length)), r.config().numLayers())));
                    }
                    out.add(compare("chunked", i, c, 0, chunked.toArray(float[][]::new)));
                }
            }
            try (ModelRunner r = factory.open(ck, blocks, BLOCK_SIZE)) {
                out.addAll(engine(r, cases, blocks));
            }
        }
        return out;
    }

    /** The engine (continuous batching, chunked prefill, prefix caching): every case twice, greedy. */
    private static List<Check> engine(ModelRunner r, List<Case> cases, int blocks) {
        LlmEngine e = new LlmEngine(r, new BlockManager(blocks, BLOCK_SIZE, true), SchedulerConfig.continuous(16, cases.size()));
        Map<Sequence, List<float[]>> rows = new HashMap<>();
        e.logitsTap((s, l) -> rows.computeIfAbsent(s, k -> new ArrayList<>()).add(l.clone()));
        List<Check> out = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            List<Sequence> seqs = new ArrayList<>();
            for (Case c : cases) {
                seqs.add(e.add(c.prompt, SamplingParams.greedy(c.generated.length).withStop(Set.of(), true), 0, e.now()));
            }
            while (e.hasWork()) {
                e.step(false);
            }
            for (int i = 0; i < cases.size(); i++) {
                Case c = cases.get(i);
                int[] got = seqs.get(i).output();
                // rows are comparable while the engine's context is the reference's: up to its first different token
                int equal = 0;
                while (equal < got.length && equal < c.generated.length && got[equal] == c.generated[equal]) {
                    equal++;
                }
                List<float[]> l = rows.get(seqs.get(i));
                Check k = compare(round == 0 ? "engine" : "engine-cached", i, c, c.prompt.length - 1,
                        l.subList(0, Math.min(l.size(), equal + 1)).toArray(float[][]::new));
                out.add(new Check(k.mode(), i, k.rows(), k.maxRelErr(), k.maxAbsErr(), c.generated.length, equal));
            }
        }
        return out;
    }

    private static int[] table(int first, int tokens) {
        int[] t = new int[(tokens + BLOCK_SIZE - 1) / BLOCK_SIZE];
        for (int i = 0; i < t.length; i++) {
            t[i] = first + i;
        }
        return t;
    }

    /** Rows {@code got} against reference rows from {@code firstRow} on. */
    private static Check compare(String mode, int caseIndex, Case c, int firstRow, float[][] got) {
        double rel = 0;
        double abs = 0;
        for (int i = 0; i < got.length; i++) {
            float[] ref = c.logits[firstRow + i];
            double maxRef = 0;
            double maxErr = 0;
            for (int j = 0; j < ref.length; j++) {
                maxRef = Math.max(maxRef, Math.abs(ref[j]));
                maxErr = Math.max(maxErr, Math.abs(ref[j] - got[i][j]));
            }
            abs = Math.max(abs, maxErr);
            rel = Math.max(rel, maxErr / maxRef);
        }
        return new Check(mode, caseIndex, got.length, rel, abs, 0, 0);
    }

    /** The reference's top-1 minus top-2 logit where it chose generated token {@code g} (how near a tie that choice was). */
    public static double marginAt(Case c, int g) {
        float[] row = c.logits[c.prompt.length - 1 + g];
        float a = Float.NEGATIVE_INFINITY;
        float b = Float.NEGATIVE_INFINITY;
        for (float v : row) {
            if (v > a) {
                b = a;
                a = v;
            } else if (v > b) {
                b = v;
            }
        }
        return a - b;
    }
}
