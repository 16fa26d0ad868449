package org.llmwb.engine.sim;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.JsonFiles;
import org.llmwb.engine.run.Request;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Request traces for the simulator, one JSON object per line, in either form:
 * <ul>
 * <li>Mooncake's published traces: {@code timestamp} (ms), {@code input_length}, {@code output_length}, and
 * {@code hash_ids}, one id per 512-token block of the prompt, equal ids meaning equal blocks;</li>
 * <li>this project's: {@code arrival} (s), {@code promptTokens}, {@code outputTokens}, and optionally {@code hash_ids}
 * with {@code blockTokens} per id.</li>
 * </ul>
 * A prompt is made of token blocks generated from its hash ids (the same id, the same tokens), so requests sharing a
 * prefix of ids share a cached prefix in the engine's block manager; without ids every prompt is fresh. Arrivals are
 * shifted so the first one is at 0.
 */
public final class Traces {
    private Traces() {
    }

    public static List<Request> read(Path file, int vocab) {
        List<JsonFiles.Line> lines = JsonFiles.lines(file);
        if (lines.size() > 10_000_000) {
            throw new InputException(SourceLocation.of(file.toString()), lines.size() + " lines: at most 10,000,000 requests");
        }
        List<Request> out = new ArrayList<>();
        double first = Double.NaN;
        for (JsonFiles.Line l : lines) {
            int i = l.number() - 1;
            String where = file + ":" + l.number();
            JsonNode o = l.object();
            boolean mooncake = o.has("timestamp") || o.has("input_length");
            double arrival = mooncake ? number(o, "timestamp", where) / 1e3 : number(o, "arrival", where);
            int prompt = (int) whole(o, mooncake ? "input_length" : "promptTokens", where, 1, 1 << 24);
            int output = (int) whole(o, mooncake ? "output_length" : "outputTokens", where, 1, 1 << 24);
            int block = o.has("blockTokens") ? (int) whole(o, "blockTokens", where, 1, 1 << 20) : 512;
            int[] tokens = new int[prompt];
            JsonNode ids = o.get("hash_ids");
            int filled = 0;
            if (ids != null && !ids.isNull()) {
                if (!ids.isArray()) {
                    throw new InputException(SourceLocation.of(where), "'hash_ids' must be a list of integers");
                }
                for (JsonNode id : ids) {
                    if (!id.isIntegralNumber()) {
                        throw new InputException(SourceLocation.of(where), "'hash_ids' must be a list of integers, not " + id);
                    }
                    SplittableRandom r = new SplittableRandom(id.asLong() * 0x9E3779B97F4A7C15L + 7);
                    for (int j = 0; j < block && filled < prompt; j++) {
                        tokens[filled++] = 1 + r.nextInt(vocab - 1);
                    }
                }
            }
            SplittableRandom own = new SplittableRandom(i * 0x632BE59BD9B4E019L + 11); // tokens no id covers: this request's own
            while (filled < prompt) {
                tokens[filled++] = 1 + own.nextInt(vocab - 1);
            }
            if (Double.isNaN(first)) {
                first = arrival;
            }
            out.add(new Request(out.size(), arrival, tokens, output, 0));
        }
        if (out.isEmpty()) {
            throw new InputException(SourceLocation.of(file.toString()), "the trace has no requests");
        }
        double t0 = out.stream().mapToDouble(Request::arrival).min().orElse(0);
        List<Request> shifted = new ArrayList<>(out.size());
        for (Request q : out) {
            shifted.add(new Request(q.index(), q.arrival() - t0, q.prompt(), q.maxTokens(), 0));
        }
        return shifted;
    }

    private static double number(JsonNode o, String key, String where) {
        JsonNode n = o.get(key);
        if (n == null || !n.isNumber() || !Double.isFinite(n.asDouble()) || n.asDouble() < 0) {
            throw new InputException(SourceLocation.of(where), "'" + key + "' must be a number >= 0" + (n == null ? " (missing)" : ", not " + n));
        }
        return n.asDouble();
    }

    private static long whole(JsonNode o, String key, String where, long min, long max) {
        JsonNode n = o.get(key);
        if (n == null || !n.isIntegralNumber() || n.asLong() < min || n.asLong() > max) {
            throw new InputException(SourceLocation.of(where), "'" + key + "' must be a whole number in " + min + ".." + max + (n == null ? " (missing)" : ", not " + n));
        }
        return n.asLong();
    }
}
