package org.llmwb.engine.run;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Function;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.engine.sim.Traces;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Request streams for engine runs, all seeded. Poisson: exponential gaps at {@code rate} requests/s. Bursty:
 * groups of {@code burst} requests arriving together, groups spaced so the mean rate is the same. Prompt and
 * output lengths come from a distribution with the given mean: fixed, uniform on [1, 2·mean − 1],
 * exponential, or lognormal (σ = 0.8), each capped at 8 × mean. Prompt tokens are random ordinary token ids
 * after an optional shared prefix (the same tokens for every request: a system prompt). A JSONL trace gives
 * each request explicitly.
 */
public final class Workload {
    /** Everything a generated workload needs. {@code vocab} ids below it are ordinary tokens (no specials). */
    public record Spec(String arrivals, int requests, double rate, int burst, int promptTokens, String promptDist, int outputTokens, String outputDist,
            int sharedPrefix, int priorities, long seed, int vocab) {
    }

    private Workload() {
    }

    public static List<Request> generate(Spec s) {
        if (s.requests() < 1 || s.rate() <= 0 || s.promptTokens() < 1 || s.outputTokens() < 1 || s.vocab() < 2) {
            throw new IllegalArgumentException("a workload needs requests, a rate, prompt and output lengths >= 1, and a vocabulary");
        }
        SplittableRandom r = new SplittableRandom(s.seed());
        int[] prefix = new int[s.sharedPrefix()];
        for (int i = 0; i < prefix.length; i++) {
            prefix[i] = r.nextInt(s.vocab());
        }
        List<Request> out = new ArrayList<>();
        double t = 0;
        int burst = s.arrivals().equals("bursty") ? Math.max(1, s.burst()) : 1;
        for (int i = 0; i < s.requests(); i++) {
            if (i > 0 && i % burst == 0) {
                t += -Math.log(1 - r.nextDouble()) * burst / s.rate();
            }
            int own = length(r, s.promptDist(), s.promptTokens());
            int[] prompt = new int[prefix.length + own];
            System.arraycopy(prefix, 0, prompt, 0, prefix.length);
            for (int j = prefix.length; j < prompt.length; j++) {
                prompt[j] = r.nextInt(s.vocab());
            }
            int prio = s.priorities() > 1 ? r.nextInt(s.priorities()) : 0;
            out.add(new Request(i, t, prompt, length(r, s.outputDist(), s.outputTokens()), prio));
        }
        return out;
    }

    static int length(SplittableRandom r, String dist, int mean) {
        double v = switch (dist) {
            case "fixed" -> mean;
            case "uniform" -> 1 + r.nextInt(Math.max(1, 2 * mean - 1));
            case "exponential" -> -Math.log(1 - r.nextDouble()) * mean;
            case "lognormal" -> {
                double sigma = 0.8;
                double mu = Math.log(mean) - sigma * sigma / 2;
                yield Math.exp(mu + sigma * r.nextGaussian(0, 1));
            }
            default -> throw new IllegalArgumentException("unknown length distribution '" + dist + "'");
        };
        return (int) Math.max(1, Math.min(8L * mean, Math.round(v)));
    }

    /**
     * Reads a JSONL trace: one object per line with {@code arrival} (seconds, required), the prompt as
     * {@code prompt} (text, encoded with the model's tokenizer), {@code tokens} (ids) or {@code promptTokens}
     * (a length: random ids), and optional {@code maxTokens} (default {@code defaultOutput}) and {@code priority}.
     * Blank lines and lines starting with '#' are skipped; errors name file:line.
     */
    public static List<Request> readTrace(Path file, Function<String, int[]> encode, int vocab, int defaultOutput, long seed) {
        return readTrace(file, encode, vocab, null, defaultOutput, seed);
    }

    /**
     * As above, with the ids random prompt tokens are drawn from: {@code ordinary} (the tokenizer's non-special ids,
     * wherever it puts its special ones), or every id below {@code vocab} when null. Explicit {@code tokens} are
     * checked against {@code vocab}.
     */
    public static List<Request> readTrace(Path file, Function<String, int[]> encode, int vocab, int[] ordinary, int defaultOutput, long seed) {
        int draw = ordinary == null ? vocab : ordinary.length;
        if (draw < 2) {
            throw new InputException(SourceLocation.of(file.toString()), "the model has " + draw + " ordinary token id(s): too few to draw prompts from");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new InputException(SourceLocation.of(file.toString()), "cannot read the trace: " + e.getMessage());
        }
        ObjectMapper m = new ObjectMapper();
        SplittableRandom r = new SplittableRandom(seed);
        List<Request> out = new ArrayList<>();
        for (int ln = 0; ln < lines.size(); ln++) {
            String line = lines.get(ln).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            SourceLocation at = new SourceLocation(file.toString(), ln + 1, 1);
            JsonNode o;
            try {
                o = m.readTree(line);
            } catch (IOException e) {
                throw new InputException(at, "not JSON: " + firstLine(e.getMessage()));
            }
            if (o == null || !o.isObject()) {
                throw new InputException(at, "each line must be a JSON object");
            }
            if (out.isEmpty() && (o.has("timestamp") || o.has("input_length") || o.has("hash_ids") || o.has("outputTokens"))) {
                // the simulator's and the benchmark client's trace forms (Mooncake's, or arrival/promptTokens/outputTokens
                // with hash_ids): read as they read it, so one trace file drives the engine, the simulator and llmwb bench
                List<Request> t = new ArrayList<>();
                for (Request q : Traces.read(file, draw)) {
                    t.add(ordinary == null ? q : new Request(q.index(), q.arrival(), java.util.Arrays.stream(q.prompt()).map(x -> ordinary[x]).toArray(), q.maxTokens(), q.priority()));
                }
                t.sort(Comparator.comparingDouble(Request::arrival));
                return t;
            }
            if (!o.path("arrival").isNumber() || o.get("arrival").asDouble() < 0) {
                throw new InputException(at, "needs 'arrival': seconds >= 0 from the start of the run");
            }
            int[] prompt;
            if (o.path("prompt").isTextual()) {
                prompt = encode.apply(o.get("prompt").asText());
            } else if (o.path("tokens").isArray()) {
                prompt = new int[o.get("tokens").size()];
                for (int i = 0; i < prompt.length; i++) {
                    JsonNode t = o.get("tokens").get(i);
                    if (!t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                        throw new InputException(at, "tokens[" + i + "] is not a token id in 0.." + (vocab - 1));
                    }
                    prompt[i] = t.asInt();
                }
            } else if (o.path("promptTokens").canConvertToInt() && o.get("promptTokens").asInt() > 0) {
                prompt = new int[o.get("promptTokens").asInt()];
                for (int i = 0; i < prompt.length; i++) {
                    prompt[i] = ordinary == null ? r.nextInt(vocab) : ordinary[r.nextInt(ordinary.length)];
                }
            } else {
                throw new InputException(at, "needs the prompt as 'prompt' (text), 'tokens' (ids) or 'promptTokens' (a length > 0)");
            }
            if (prompt.length == 0) {
                throw new InputException(at, "the prompt is empty");
            }
            int max = defaultOutput;
            if (o.has("maxTokens")) {
                if (!o.get("maxTokens").canConvertToInt() || o.get("maxTokens").asInt() < 1) {
                    throw new InputException(at, "'maxTokens' must be a whole number >= 1");
                }
                max = o.get("maxTokens").asInt();
            }
            int prio = o.path("priority").asInt(0);
            out.add(new Request(out.size(), o.get("arrival").asDouble(), prompt, max, prio));
        }
        if (out.isEmpty()) {
            throw new InputException(SourceLocation.of(file.toString()), "the trace has no requests");
        }
        out.sort(Comparator.comparingDouble(Request::arrival));
        return out;
    }

    private static String firstLine(String m) {
        int i = m == null ? -1 : m.indexOf('\n');
        return i < 0 ? String.valueOf(m) : m.substring(0, i);
    }

    public static String describe(Spec s) {
        return String.format(Locale.ROOT, "%d requests, %s arrivals at %.2f req/s%s, prompts %s mean %d%s, outputs %s mean %d", s.requests(), s.arrivals(), s.rate(),
                s.arrivals().equals("bursty") ? " in bursts of " + s.burst() : "", s.promptDist(), s.promptTokens(),
                s.sharedPrefix() > 0 ? " after a shared " + s.sharedPrefix() + "-token prefix" : "", s.outputDist(), s.outputTokens());
    }
}
