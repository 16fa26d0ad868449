package org.llmwb.engine.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.llmwb.core.result.Json;
import org.llmwb.engine.tokenizer.BpeTokenizer;

/**
 * Encode throughput of {@link BpeTokenizer} on one thread: the text's lines are encoded one by one (as a server
 * encodes prompts), after a warm-up pass, five timed passes, median reported, in MB of UTF-8 per second and tokens
 * per second. {@code tools/hf/tokenizer_bench.py} times Hugging Face {@code tokenizers} on the same lines the same
 * way, on the same machine, for the ratio.
 *
 * <pre>java -cp 'lib/*' org.llmwb.engine.bench.TokenizerBench --text FILE NAME=tokenizer.json ... [--out bench.jsonl]</pre>
 */
public final class TokenizerBench {
    private TokenizerBench() {
    }

    public static void main(String[] args) throws Exception {
        Path text = null;
        Path out = null;
        Map<String, Path> toks = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--text" -> text = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> {
                    String[] kv = args[i].split("=", 2);
                    if (kv.length != 2) {
                        throw new IllegalArgumentException("expected NAME=tokenizer.json, got " + args[i]);
                    }
                    toks.put(kv[0], Path.of(kv[1]));
                }
            }
        }
        if (text == null || toks.isEmpty()) {
            throw new IllegalArgumentException("usage: TokenizerBench --text FILE NAME=tokenizer.json ... [--out FILE]");
        }
        List<String> lines = Files.readAllLines(text, StandardCharsets.UTF_8);
        long bytes = Files.size(text);
        StringBuilder records = new StringBuilder();
        for (Map.Entry<String, Path> e : toks.entrySet()) {
            BpeTokenizer tok = BpeTokenizer.load(e.getValue());
            long tokens = 0;
            for (String l : lines) {
                tokens += tok.encode(l).size(); // warm-up (JIT, piece cache)
            }
            double[] s = new double[5];
            for (int r = 0; r < s.length; r++) {
                long t0 = System.nanoTime();
                for (String l : lines) {
                    tok.encode(l);
                }
                s[r] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(s);
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("tokenizer", e.getKey());
            rec.put("implementation", "llmwb BpeTokenizer (Java, one thread)");
            rec.put("lines", lines.size());
            rec.put("bytes", bytes);
            rec.put("tokens", tokens);
            rec.put("secondsMedian", s[2]);
            rec.put("secondsMin", s[0]);
            rec.put("secondsMax", s[4]);
            rec.put("mbPerS", bytes / 1e6 / s[2]);
            rec.put("tokensPerS", tokens / s[2]);
            records.append(Json.line(rec)).append('\n');
            System.out.printf(Locale.ROOT, "%-8s %,d lines, %.1f MB, %,d tokens: %.2f s median (%.2f-%.2f) = %.2f MB/s, %,.0f tokens/s%n", e.getKey(), lines.size(),
                    bytes / 1e6, tokens, s[2], s[0], s[4], bytes / 1e6 / s[2], tokens / s[2]);
        }
        if (out != null) {
            Files.writeString(out, records.toString());
        }
    }
}
