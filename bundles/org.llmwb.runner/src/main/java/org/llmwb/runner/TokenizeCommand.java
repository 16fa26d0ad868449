package org.llmwb.runner;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;
import org.llmwb.engine.tokenizer.BpeTokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "tokenize", description = {"Token ids of a text through a tokenizer.json (the same ids as Hugging Face tokenizers),",
        "or, with --jsonl FILE, of each line of FILE (a JSON string per line in, a JSON array of ids per line out)."})
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-t", "--tokenizer"}, required = true, paramLabel = "FILE", description = "a tokenizer.json (or a checkpoint folder holding one)")
    Path tokenizer;
    @Option(names = "--jsonl", paramLabel = "FILE", description = "one JSON string per line; '-' reads standard input")
    String jsonl;
    @Option(names = "--add-special-tokens", description = "add the post-processor's special tokens (BOS/EOS) as the file defines them")
    boolean addSpecial;
    @Option(names = "--decode", description = "the reverse: TEXT (or each --jsonl line) is a JSON array of ids; prints the text as a JSON string")
    boolean decode;
    @Parameters(arity = "0..1", paramLabel = "TEXT", description = "the text (without --jsonl)")
    String text;

    @Override
    public Integer call() throws IOException {
        Path file = Files.isDirectory(tokenizer) ? tokenizer.resolve("tokenizer.json") : tokenizer;
        BpeTokenizer tok = BpeTokenizer.load(file);
        PrintWriter out = spec.commandLine().getOut();
        if ((jsonl == null) == (text == null)) {
            throw new InputException("give either TEXT or --jsonl FILE");
        }
        if (text != null) {
            out.println(decode ? Json.line(decodeChecked(tok, ids(text, SourceLocation.of("TEXT")), SourceLocation.of("TEXT"))) : Json.line(tok.encode(text, addSpecial)));
            return 0;
        }
        try (BufferedReader r = jsonl.equals("-") ? new BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(Path.of(jsonl), StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                SourceLocation at = SourceLocation.of(jsonl + ":" + n);
                if (line.isBlank()) {
                    continue;
                }
                if (decode) {
                    out.println(Json.line(decodeChecked(tok, ids(line, at), at)));
                    continue;
                }
                JsonNode s = parse(line, at);
                if (!s.isTextual()) {
                    throw new InputException(at, "expected a JSON string, got " + s.getNodeType().toString().toLowerCase());
                }
                out.println(Json.line(tok.encode(s.asText(), addSpecial)));
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InputException(SourceLocation.of(jsonl), "file not found");
        }
        return 0;
    }

    private static JsonNode parse(String s, SourceLocation at) {
        try {
            return Json.parse(s);
        } catch (IOException e) {
            throw new InputException(at, "not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static List<Integer> ids(String s, SourceLocation at) {
        JsonNode a = parse(s, at);
        if (!a.isArray()) {
            throw new InputException(at, "expected a JSON array of token ids");
        }
        List<Integer> ids = new java.util.ArrayList<>();
        for (JsonNode x : a) {
            if (!x.canConvertToInt()) {
                throw new InputException(at, "token id " + x + " is not an integer");
            }
            ids.add(x.asInt());
        }
        return ids;
    }

    private static String decodeChecked(BpeTokenizer tok, List<Integer> ids, SourceLocation at) {
        try {
            return tok.decode(ids, false);
        } catch (IllegalArgumentException e) {
            throw new InputException(at, e.getMessage());
        }
    }
}
