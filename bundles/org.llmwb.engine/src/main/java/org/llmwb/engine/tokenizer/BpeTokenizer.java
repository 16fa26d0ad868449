package org.llmwb.engine.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Byte-level BPE from a Hugging Face {@code tokenizer.json}, as used by GPT-2, Llama-3 and Qwen: special
 * (added) tokens are split out first; the rest is pre-split by the file's Split regex (GPT-2's when it has
 * none), each piece's UTF-8 bytes are mapped to printable characters (the byte-level alphabet), and merges
 * are applied lowest rank first. Decoding maps the characters back to bytes.
 */
public final class BpeTokenizer {
    /** GPT-2's pre-tokenizer pattern, used when the file names none. */
    public static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private final Map<String, Integer> vocab;
    private final String[] byId;
    private final Map<String, Integer> mergeRank;
    private final Map<String, Integer> special;
    private final Pattern split;
    private final Pattern specialSplit;
    private final Map<String, int[]> cache = new HashMap<>();

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

    static {
        // printable bytes map to themselves; the rest to 256 + n in order (GPT-2's bytes_to_unicode)
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    BpeTokenizer(Map<String, Integer> vocab, List<String[]> merges, Map<String, Integer> special, String pattern) {
        this.vocab = vocab;
        int max = -1;
        for (int id : vocab.values()) {
            max = Math.max(max, id);
        }
        for (int id : special.values()) {
            max = Math.max(max, id);
        }
        byId = new String[max + 1];
        vocab.forEach((t, id) -> byId[id] = t);
        special.forEach((t, id) -> byId[id] = t);
        mergeRank = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            mergeRank.putIfAbsent(merges.get(i)[0] + " " + merges.get(i)[1], i);
        }
        this.special = special;
        this.split = Pattern.compile(pattern);
        List<String> sp = new ArrayList<>(special.keySet());
        sp.sort((a, b) -> b.length() - a.length());
        this.specialSplit = sp.isEmpty() ? null : Pattern.compile(String.join("|", sp.stream().map(Pattern::quote).toList()));
    }

    public static BpeTokenizer load(Path file) {
        SourceLocation at = SourceLocation.of(file.toString());
        JsonNode root;
        try {
            root = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InputException(at, "file not found");
        } catch (IOException e) {
            throw new InputException(at, "not a valid tokenizer.json: " + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asText("BPE")) || !model.path("vocab").isObject()) {
            throw new InputException(at, "expected a BPE model with a 'vocab' object (got type '" + model.path("type").asText("?") + "')");
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        model.get("vocab").fields().forEachRemaining(f -> {
            if (!f.getValue().canConvertToInt() || f.getValue().asInt() < 0) {
                throw new InputException(at, "vocab entry '" + f.getKey() + "' has id " + f.getValue() + ", not a non-negative integer");
            }
            vocab.put(f.getKey(), f.getValue().asInt());
        });
        List<String[]> merges = new ArrayList<>();
        int i = 0;
        for (JsonNode m : model.path("merges")) {
            String[] pair = m.isArray() && m.size() == 2 ? new String[] {m.get(0).asText(), m.get(1).asText()}
                    : m.isTextual() ? m.asText().split(" ", 2) : null;
            if (pair == null || pair.length != 2) {
                throw new InputException(at, "merge " + i + " is " + m + ", expected \"a b\" or [\"a\", \"b\"]");
            }
            if (!vocab.containsKey(pair[0]) || !vocab.containsKey(pair[1]) || !vocab.containsKey(pair[0] + pair[1])) {
                throw new InputException(at, "merge " + i + " (" + pair[0] + " + " + pair[1] + ") uses tokens that are not in the vocab");
            }
            merges.add(pair);
            i++;
        }
        for (int b = 0; b < 256; b++) {
            if (!vocab.containsKey(String.valueOf(BYTE_TO_CHAR[b]))) {
                throw new InputException(at, "not a byte-level BPE: byte " + b + " has no token, so some text could not be encoded");
            }
        }
        Map<String, Integer> special = new LinkedHashMap<>();
        for (JsonNode a : root.path("added_tokens")) {
            special.put(a.path("content").asText(), a.path("id").asInt());
        }
        String pattern = findSplitPattern(root.path("pre_tokenizer"));
        try {
            return new BpeTokenizer(vocab, merges, special, pattern == null ? GPT2_PATTERN : pattern);
        } catch (PatternSyntaxException e) {
            throw new InputException(at, "pre-tokenizer regex does not compile: " + e.getDescription());
        }
    }

    private static String findSplitPattern(JsonNode pre) {
        if ("Split".equals(pre.path("type").asText()) && pre.path("pattern").path("Regex").isTextual()) {
            return pre.get("pattern").get("Regex").asText();
        }
        for (JsonNode p : pre.path("pretokenizers")) {
            String s = findSplitPattern(p);
            if (s != null) {
                return s;
            }
        }
        return null;
    }

    public int vocabSize() {
        return byId.length;
    }

    /** Ids below this are ordinary tokens: the smallest special token id (or the vocabulary size when there is none). */
    public int ordinaryVocabSize() {
        int min = byId.length;
        for (int id : special.values()) {
            min = Math.min(min, id);
        }
        return min;
    }

    /** The id of a special token, or -1. */
    public int specialId(String token) {
        return special.getOrDefault(token, -1);
    }

    public List<Integer> encode(String text) {
        List<Integer> out = new ArrayList<>();
        if (specialSplit == null) {
            encodeOrdinary(text, out);
            return out;
        }
        Matcher m = specialSplit.matcher(text);
        int last = 0;
        while (m.find()) {
            encodeOrdinary(text.substring(last, m.start()), out);
            out.add(special.get(m.group()));
            last = m.end();
        }
        encodeOrdinary(text.substring(last), out);
        return out;
    }

    private void encodeOrdinary(String text, List<Integer> out) {
        Matcher m = split.matcher(text);
        while (m.find()) {
            for (int id : bpe(m.group())) {
                out.add(id);
            }
        }
    }

    private int[] bpe(String piece) {
        int[] hit = cache.get(piece);
        if (hit != null) {
            return hit;
        }
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        List<String> parts = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            parts.add(String.valueOf(BYTE_TO_CHAR[b & 0xff]));
        }
        while (parts.size() > 1) {
            int best = Integer.MAX_VALUE;
            int at = -1;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = mergeRank.get(parts.get(i) + " " + parts.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    at = i;
                }
            }
            if (at < 0) {
                break;
            }
            parts.set(at, parts.get(at) + parts.get(at + 1));
            parts.remove(at + 1);
        }
        int[] ids = new int[parts.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = vocab.get(parts.get(i));
        }
        if (cache.size() < 100_000) {
            cache.put(piece, ids);
        }
        return ids;
    }

    /** Text of token ids; bytes that do not form valid UTF-8 become U+FFFD. Ids outside the vocabulary are an error. */
    public String decode(List<Integer> ids) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 0 || id >= byId.length || byId[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is not in the vocabulary of " + byId.length);
            }
            String t = byId[id];
            if (special.containsKey(t)) {
                b.writeBytes(t.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (int i = 0; i < t.length(); i++) {
                Integer v = CHAR_TO_BYTE.get(t.charAt(i));
                b.write(v == null ? '?' : v);
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    /**
     * Learns {@code merges} byte-level BPE merges from text (most frequent adjacent pair first, ties by
     * first occurrence) and returns the tokenizer.json: what the checkpoint generator ships with a model.
     */
    public static String train(String text, int merges, List<String> specialTokens) {
        Pattern p = Pattern.compile(GPT2_PATTERN);
        Matcher m = p.matcher(text);
        Map<String, Integer> wordFreq = new LinkedHashMap<>();
        while (m.find()) {
            wordFreq.merge(m.group(), 1, Integer::sum);
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> freqs = new ArrayList<>();
        wordFreq.forEach((w, f) -> {
            List<String> parts = new ArrayList<>();
            for (byte b : w.getBytes(StandardCharsets.UTF_8)) {
                parts.add(String.valueOf(BYTE_TO_CHAR[b & 0xff]));
            }
            words.add(parts);
            freqs.add(f);
        });
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(BYTE_TO_CHAR[b]), b);
        }
        List<String[]> learned = new ArrayList<>();
        for (int k = 0; k < merges; k++) {
            Map<String, Integer> pairs = new LinkedHashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> parts = words.get(w);
                for (int i = 0; i + 1 < parts.size(); i++) {
                    pairs.merge(parts.get(i) + "\u0000" + parts.get(i + 1), freqs.get(w), Integer::sum);
                }
            }
            String best = null;
            int bestF = 1;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                if (e.getValue() > bestF) {
                    best = e.getKey();
                    bestF = e.getValue();
                }
            }
            if (best == null) {
                break;
            }
            String[] pair = best.split("\u0000", 2);
            learned.add(pair);
            vocab.putIfAbsent(pair[0] + pair[1], vocab.size());
            for (List<String> parts : words) {
                for (int i = 0; i + 1 < parts.size(); i++) {
                    if (parts.get(i).equals(pair[0]) && parts.get(i + 1).equals(pair[1])) {
                        parts.set(i, pair[0] + pair[1]);
                        parts.remove(i + 1);
                    }
                }
            }
        }
        var root = Json.object();
        root.put("version", "1.0");
        var added = root.putArray("added_tokens");
        int id = vocab.size();
        for (String s : specialTokens) {
            added.addObject().put("id", id++).put("content", s).put("special", true);
        }
        var pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        var list = pre.putArray("pretokenizers");
        list.addObject().put("type", "Split").put("behavior", "Isolated").putObject("pattern").put("Regex", GPT2_PATTERN);
        list.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
        root.putObject("decoder").put("type", "ByteLevel");
        var model = root.putObject("model");
        model.put("type", "BPE");
        var v = model.putObject("vocab");
        vocab.forEach(v::put);
        var ms = model.putArray("merges");
        for (String[] pr : learned) {
            ms.addArray().add(pr[0]).add(pr[1]);
        }
        try {
            return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Unmodifiable view of the special tokens and their ids. */
    public Map<String, Integer> specialTokens() {
        return Collections.unmodifiableMap(special);
    }
}
