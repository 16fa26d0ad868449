package org.llmwb.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A Hugging Face {@code tokenizer.json} with a BPE model, run through the same pipeline as the {@code tokenizers}
 * library, so that ids match it: added tokens are split out of the text first (longest match, with their
 * {@code lstrip}/{@code rstrip}/{@code single_word}; those marked {@code normalized} are matched in the normalized
 * text); the rest is normalized (NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace, Strip, Sequence), pre-tokenized
 * (Split with its five behaviours and invert, ByteLevel with or without its regex, Metaspace, Digits, Punctuation,
 * Whitespace, WhitespaceSplit, Sequence) and each piece encoded by BPE (merges lowest rank first, leftmost on ties;
 * {@code byte_fallback} to {@code <0xXX>} tokens, {@code unk_token} with {@code fuse_unk}, {@code ignore_merges}).
 * The post-processor (TemplateProcessing, ByteLevel, Sequence, Roberta/Bert) adds BOS/EOS when asked; decoding runs
 * the file's decoders (ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence). GPT-2, Llama-2/3,
 * Mistral, Qwen and Gemma files load; a piece the file uses that is not implemented is a located error, never a
 * silent difference. Parity with {@code tokenizers} is tested on four families ({@code TokenizerParityTest}).
 */
public final class BpeTokenizer {
    /** GPT-2's pre-tokenizer pattern, used when the file names none. */
    public static final String GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Regex flags of every pattern: Unicode classes and case folding, as the library's Oniguruma patterns have. */
    static final int FLAGS = Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNICODE_CASE;

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

    /** An added token: matched in the text before anything else. */
    record Added(String content, int id, boolean special, boolean lstrip, boolean rstrip, boolean normalized, boolean singleWord) {
    }

    /** One step of pre-tokenization: a piece in, pieces out. */
    interface PreTok {
        void split(String piece, boolean first, List<String> out);
    }

    private final Map<String, Integer> vocab;
    private final String[] byId;
    /** (left id, right id) → {rank, merged id}. */
    private final Map<Long, int[]> merges;
    private final Map<String, Integer> special = new LinkedHashMap<>();
    private final boolean[] isSpecial;
    private final List<Added> added;
    private final AddedTrie rawAdded;
    private final AddedTrie normAdded;
    private final UnaryOperator<String> normalizer;
    private final List<PreTok> pre;
    private final boolean byteLevel;
    private final boolean byteFallback;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final int unk;
    private final int[] bosIds;
    private final int[] eosIds;
    private final List<UnaryOperator<List<String>>> decoders;
    private final Map<String, int[]> cache = new java.util.concurrent.ConcurrentHashMap<>();
    /** The byte-fallback token {@code <0xXX>} of each byte, or −1 where the vocabulary has none. */
    private final int[] byteTokens = new int[256];

    private BpeTokenizer(Map<String, Integer> vocab, Map<Long, int[]> merges, List<Added> added, UnaryOperator<String> normalizer, List<PreTok> pre,
            boolean byteLevel, boolean byteFallback, boolean fuseUnk, boolean ignoreMerges, int unk, int[] bosIds, int[] eosIds,
            List<UnaryOperator<List<String>>> decoders) {
        this.vocab = vocab;
        int max = -1;
        for (int id : vocab.values()) {
            max = Math.max(max, id);
        }
        for (Added a : added) {
            max = Math.max(max, a.id());
        }
        byId = new String[max + 1];
        isSpecial = new boolean[max + 1];
        vocab.forEach((t, id) -> byId[id] = t);
        for (Added a : added) {
            byId[a.id()] = a.content();
            if (a.special()) {
                special.put(a.content(), a.id());
                isSpecial[a.id()] = true;
            }
        }
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
        }
        this.merges = merges;
        this.added = added;
        this.rawAdded = AddedTrie.of(added, false);
        this.normAdded = AddedTrie.of(added, true);
        this.normalizer = normalizer;
        this.pre = pre;
        this.byteLevel = byteLevel;
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        this.unk = unk;
        this.bosIds = bosIds;
        this.eosIds = eosIds;
        this.decoders = decoders;
    }

    /** The added tokens of one kind (matched in raw or in normalized text) as a trie: leftmost-longest matching. */
    static final class AddedTrie {
        private final Map<Character, AddedTrie> next = new HashMap<>();
        private Added token;

        static AddedTrie of(List<Added> added, boolean normalized) {
            AddedTrie root = new AddedTrie();
            boolean any = false;
            for (Added a : added) {
                if (a.normalized() != normalized || a.content().isEmpty()) {
                    continue;
                }
                AddedTrie t = root;
                for (char c : a.content().toCharArray()) {
                    t = t.next.computeIfAbsent(c, k -> new AddedTrie());
                }
                t.token = a;
                any = true;
            }
            return any ? root : null;
        }

        /** The longest token starting at {@code i}, or null. */
        Added longest(String s, int i) {
            AddedTrie t = this;
            Added best = null;
            for (int j = i; j < s.length() && (t = t.next.get(s.charAt(j))) != null; j++) {
                if (t.token != null) {
                    best = t.token;
                }
            }
            return best;
        }
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
        try {
            return parse(root, at);
        } catch (PatternSyntaxException e) {
            throw new InputException(at, "a regex in the file does not compile: " + e.getDescription());
        }
    }

    private static BpeTokenizer parse(JsonNode root, SourceLocation at) {
        JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asText("BPE")) || !model.path("vocab").isObject()) {
            throw new InputException(at, "model: expected a BPE model with a 'vocab' object (got type '" + model.path("type").asText("?")
                    + "'; WordPiece, Unigram and WordLevel models are not supported)");
        }
        if (!model.path("continuing_subword_prefix").asText("").isEmpty() || !model.path("end_of_word_suffix").asText("").isEmpty()) {
            throw new InputException(at, "model: continuing_subword_prefix / end_of_word_suffix are not supported");
        }
        if (!model.path("dropout").isNull() && !model.path("dropout").isMissingNode() && model.path("dropout").asDouble() > 0) {
            throw new InputException(at, "model: BPE dropout is for training; a tokenizer with dropout > 0 is not supported");
        }
        Map<String, Integer> vocab = new HashMap<>();
        int[] maxId = {-1};
        model.get("vocab").fields().forEachRemaining(f -> {
            if (!f.getValue().canConvertToInt() || f.getValue().asInt() < 0 || f.getValue().asInt() > 10_000_000) {
                throw new InputException(at, "model.vocab: entry '" + f.getKey() + "' has id " + f.getValue() + ", not an integer in 0..10000000");
            }
            vocab.put(f.getKey(), f.getValue().asInt());
            maxId[0] = Math.max(maxId[0], f.getValue().asInt());
        });
        Map<Long, int[]> merges = new HashMap<>();
        int rank = 0;
        for (JsonNode m : model.path("merges")) {
            String[] pair = m.isArray() && m.size() == 2 ? new String[] {m.get(0).asText(), m.get(1).asText()} : m.isTextual() ? m.asText().split(" ", 2) : null;
            if (pair == null || pair.length != 2) {
                throw new InputException(at, "model.merges[" + rank + "] is " + m + ", expected \"a b\" or [\"a\", \"b\"]");
            }
            Integer a = vocab.get(pair[0]);
            Integer b = vocab.get(pair[1]);
            Integer ab = vocab.get(pair[0] + pair[1]);
            if (a == null || b == null || ab == null) {
                throw new InputException(at, "model.merges[" + rank + "] (" + pair[0] + " + " + pair[1] + ") uses tokens that are not in the vocab");
            }
            merges.putIfAbsent(key(a, b), new int[] {rank, ab});
            rank++;
        }
        List<Added> added = new ArrayList<>();
        int i = 0;
        for (JsonNode a : root.path("added_tokens")) {
            if (!a.path("content").isTextual() || !a.path("id").canConvertToInt() || a.path("id").asInt() < 0 || a.path("id").asInt() > 10_000_000) {
                throw new InputException(at, "added_tokens[" + i + "] needs a 'content' string and an 'id' in 0..10000000");
            }
            added.add(new Added(a.get("content").asText(), a.get("id").asInt(), a.path("special").asBoolean(false), a.path("lstrip").asBoolean(false),
                    a.path("rstrip").asBoolean(false), a.path("normalized").asBoolean(!a.path("special").asBoolean(false)), a.path("single_word").asBoolean(false)));
            i++;
        }
        String unkToken = model.path("unk_token").isTextual() ? model.get("unk_token").asText() : null;
        int unk = unkToken == null ? -1 : vocab.getOrDefault(unkToken, added.stream().filter(x -> x.content().equals(unkToken)).mapToInt(Added::id).findFirst().orElse(-1));
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        List<PreTok> pre = new ArrayList<>();
        boolean[] byteLevel = {false};
        preTokenizer(root.path("pre_tokenizer"), "pre_tokenizer", at, pre, byteLevel);
        Map<String, Integer> ids = new HashMap<>(vocab);
        added.forEach(a -> ids.put(a.content(), a.id()));
        int[][] template = postProcessor(root.path("post_processor"), "post_processor", at, ids);
        return new BpeTokenizer(vocab, merges, added, normalizer(root.path("normalizer"), "normalizer", at), pre, byteLevel[0], byteFallback,
                model.path("fuse_unk").asBoolean(false), model.path("ignore_merges").asBoolean(false), unk, template[0], template[1],
                decoders(root.path("decoder"), "decoder", at));
    }

    private static long key(int a, int b) {
        return (long) a << 32 | (b & 0xffffffffL);
    }

    // ---- normalizers

    private static UnaryOperator<String> normalizer(JsonNode n, String where, SourceLocation at) {
        if (n.isNull() || n.isMissingNode()) {
            return null;
        }
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                List<UnaryOperator<String>> all = new ArrayList<>();
                int i = 0;
                for (JsonNode c : n.path("normalizers")) {
                    UnaryOperator<String> f = normalizer(c, where + ".normalizers[" + i++ + "]", at);
                    if (f != null) {
                        all.add(f);
                    }
                }
                return s -> {
                    for (UnaryOperator<String> f : all) {
                        s = f.apply(s);
                    }
                    return s;
                };
            }
            case "NFC" -> {
                return s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            }
            case "NFD" -> {
                return s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            }
            case "NFKC" -> {
                return s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            }
            case "NFKD" -> {
                return s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            }
            case "Lowercase" -> {
                return s -> s.toLowerCase(java.util.Locale.ROOT);
            }
            case "Prepend" -> {
                String p = n.path("prepend").asText();
                return s -> s.isEmpty() ? s : p + s;
            }
            case "Replace" -> {
                UnaryOperator<String> r = replacer(n, where, at);
                return r;
            }
            case "Strip" -> {
                boolean left = n.path("strip_left").asBoolean(true);
                boolean right = n.path("strip_right").asBoolean(true);
                return s -> right ? (left ? s.strip() : s.stripTrailing()) : left ? s.stripLeading() : s;
            }
            default -> throw new InputException(at, where + ": normalizer type '" + type + "' is not supported (NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence are)");
        }
    }

    private static UnaryOperator<String> replacer(JsonNode n, String where, SourceLocation at) {
        String content = n.path("content").asText();
        JsonNode pat = n.path("pattern");
        if (pat.path("String").isTextual()) {
            String lit = pat.get("String").asText();
            return s -> s.replace(lit, content);
        }
        if (pat.path("Regex").isTextual()) {
            Pattern p = Pattern.compile(pat.get("Regex").asText(), FLAGS);
            String rep = Matcher.quoteReplacement(content);
            return s -> p.matcher(s).replaceAll(rep);
        }
        throw new InputException(at, where + ": Replace needs a pattern with 'String' or 'Regex'");
    }

    // ---- pre-tokenizers

    private static void preTokenizer(JsonNode n, String where, SourceLocation at, List<PreTok> out, boolean[] byteLevel) {
        if (n.isNull() || n.isMissingNode()) {
            return;
        }
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                int i = 0;
                for (JsonNode c : n.path("pretokenizers")) {
                    preTokenizer(c, where + ".pretokenizers[" + i++ + "]", at, out, byteLevel);
                }
            }
            case "Split" -> {
                JsonNode pat = n.path("pattern");
                Pattern p = pat.path("Regex").isTextual() ? Pattern.compile(pat.get("Regex").asText(), FLAGS)
                        : pat.path("String").isTextual() ? Pattern.compile(Pattern.quote(pat.get("String").asText())) : null;
                if (p == null) {
                    throw new InputException(at, where + ": Split needs a pattern with 'String' or 'Regex'");
                }
                out.add(splitter(p, behavior(n.path("behavior").asText("Isolated"), where, at), n.path("invert").asBoolean(false)));
            }
            case "ByteLevel" -> {
                out.add(byteLevelPre(n.path("use_regex").asBoolean(true), n.path("add_prefix_space").asBoolean(true)));
                byteLevel[0] = true;
            }
            case "Metaspace" -> {
                String rep = n.path("replacement").asText("\u2581");
                String scheme = n.has("prepend_scheme") ? n.path("prepend_scheme").asText("always") : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                boolean split = n.path("split").asBoolean(true);
                PreTok merged = splitter(Pattern.compile(Pattern.quote(rep)), "MergedWithNext", false);
                out.add((piece, first, o) -> {
                    String s = piece.replace(" ", rep);
                    if (!s.startsWith(rep) && (scheme.equals("always") || (scheme.equals("first") && first))) {
                        s = rep + s;
                    }
                    if (split) {
                        merged.split(s, first, o);
                    } else {
                        o.add(s);
                    }
                });
            }
            case "Digits" -> out.add(splitter(Pattern.compile(n.path("individual_digits").asBoolean(false) ? "\\p{Nd}" : "\\p{Nd}+", FLAGS), "Isolated", false));
            case "Punctuation" -> out.add(splitter(Pattern.compile("\\p{P}", FLAGS), behavior(n.path("behavior").asText("Isolated"), where, at), false));
            case "Whitespace" -> out.add(splitter(Pattern.compile("\\w+|[^\\w\\s]+", FLAGS), "Isolated", true));
            case "WhitespaceSplit" -> out.add(splitter(Pattern.compile("\\s+", FLAGS), "Removed", false));
            default -> throw new InputException(at, where + ": pre-tokenizer type '" + type
                    + "' is not supported (Split, ByteLevel, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, Sequence are)");
        }
    }

    private static String behavior(String b, String where, SourceLocation at) {
        return switch (b) {
            case "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous" -> b;
            default -> throw new InputException(at, where + ": split behavior '" + b + "' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
        };
    }

    /** Splits a piece at the pattern's matches (or, inverted, keeps the matches as the content) the way the library does. */
    static PreTok splitter(Pattern p, String behavior, boolean invert) {
        return (piece, first, out) -> {
            // segments covering the piece: [start, end, isDelimiter]
            List<int[]> seg = new ArrayList<>();
            Matcher m = p.matcher(piece);
            int last = 0;
            while (m.find()) {
                if (m.end() == m.start()) {
                    continue;
                }
                if (m.start() > last) {
                    seg.add(new int[] {last, m.start(), invert ? 1 : 0});
                }
                seg.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
                last = m.end();
            }
            if (last < piece.length()) {
                seg.add(new int[] {last, piece.length(), invert ? 1 : 0});
            }
            switch (behavior) {
                case "Removed" -> seg.stream().filter(x -> x[2] == 0).forEach(x -> out.add(piece.substring(x[0], x[1])));
                case "Isolated" -> seg.forEach(x -> out.add(piece.substring(x[0], x[1])));
                case "MergedWithPrevious" -> {
                    StringBuilder cur = null;
                    for (int[] x : seg) {
                        if (x[2] == 1 && cur != null) {
                            cur.append(piece, x[0], x[1]);
                        } else {
                            if (cur != null) {
                                out.add(cur.toString());
                            }
                            cur = new StringBuilder(piece.substring(x[0], x[1]));
                        }
                    }
                    if (cur != null) {
                        out.add(cur.toString());
                    }
                }
                case "MergedWithNext" -> {
                    // a delimiter starts a piece and takes the content after it along
                    StringBuilder cur = null;
                    boolean prevDelimiter = false;
                    for (int[] x : seg) {
                        if (cur != null && x[2] == 0 && prevDelimiter) {
                            cur.append(piece, x[0], x[1]);
                        } else {
                            if (cur != null) {
                                out.add(cur.toString());
                            }
                            cur = new StringBuilder(piece.substring(x[0], x[1]));
                        }
                        prevDelimiter = x[2] == 1;
                    }
                    if (cur != null) {
                        out.add(cur.toString());
                    }
                }
                default -> { // Contiguous: runs of delimiters become one piece
                    int i = 0;
                    while (i < seg.size()) {
                        int j = i + 1;
                        while (seg.get(i)[2] == 1 && j < seg.size() && seg.get(j)[2] == 1) {
                            j++;
                        }
                        out.add(piece.substring(seg.get(i)[0], seg.get(j - 1)[1]));
                        i = j;
                    }
                }
            }
        };
    }

    private static PreTok byteLevelPre(boolean useRegex, boolean addPrefixSpace) {
        PreTok regex = useRegex ? splitter(Pattern.compile(GPT2_PATTERN, FLAGS), "Isolated", false) : null;
        return (piece, first, out) -> {
            String s = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
            List<String> parts = new ArrayList<>();
            if (regex != null) {
                regex.split(s, first, parts);
            } else {
                parts.add(s);
            }
            for (String part : parts) {
                byte[] b = part.getBytes(StandardCharsets.UTF_8);
                char[] c = new char[b.length];
                for (int i = 0; i < b.length; i++) {
                    c[i] = BYTE_TO_CHAR[b[i] & 0xff];
                }
                out.add(new String(c));
            }
        };
    }

    // ---- post-processor: ids before and after the sequence (single input)

    private static int[][] postProcessor(JsonNode n, String where, SourceLocation at, Map<String, Integer> ids) {
        int[][] none = {new int[0], new int[0]};
        if (n.isNull() || n.isMissingNode()) {
            return none;
        }
        String type = n.path("type").asText();
        switch (type) {
            case "ByteLevel" -> {
                return none; // offsets only
            }
            case "Sequence" -> {
                List<Integer> pre = new ArrayList<>();
                List<Integer> post = new ArrayList<>();
                int i = 0;
                for (JsonNode c : n.path("processors")) {
                    int[][] t = postProcessor(c, where + ".processors[" + i++ + "]", at, ids);
                    for (int k = t[0].length - 1; k >= 0; k--) {
                        pre.add(0, t[0][k]);
                    }
                    for (int v : t[1]) {
                        post.add(v);
                    }
                }
                return new int[][] {pre.stream().mapToInt(Integer::intValue).toArray(), post.stream().mapToInt(Integer::intValue).toArray()};
            }
            case "TemplateProcessing" -> {
                List<Integer> pre = new ArrayList<>();
                List<Integer> post = new ArrayList<>();
                boolean seen = false;
                for (JsonNode item : n.path("single")) {
                    if (item.has("Sequence")) {
                        if (!"A".equals(item.get("Sequence").path("id").asText())) {
                            throw new InputException(at, where + ".single: a single-input template may only hold sequence A");
                        }
                        seen = true;
                        continue;
                    }
                    String tokName = item.path("SpecialToken").path("id").asText(null);
                    JsonNode spec = n.path("special_tokens").path(tokName == null ? "" : tokName);
                    if (tokName == null || !spec.path("ids").isArray()) {
                        throw new InputException(at, where + ".single: special token '" + tokName + "' is not listed in special_tokens");
                    }
                    for (JsonNode id : spec.get("ids")) {
                        (seen ? post : pre).add(id.asInt());
                    }
                }
                return new int[][] {pre.stream().mapToInt(Integer::intValue).toArray(), post.stream().mapToInt(Integer::intValue).toArray()};
            }
            case "RobertaProcessing", "BertProcessing" -> {
                JsonNode cls = n.path("cls");
                JsonNode sep = n.path("sep");
                return new int[][] {{cls.path(1).asInt()}, {sep.path(1).asInt()}};
            }
            default -> throw new InputException(at, where + ": post-processor type '" + type
                    + "' is not supported (TemplateProcessing, ByteLevel, Sequence, RobertaProcessing, BertProcessing are)");
        }
    }

    // ---- decoders: token strings in, token strings out; joined at the end

    private static List<UnaryOperator<List<String>>> decoders(JsonNode n, String where, SourceLocation at) {
        List<UnaryOperator<List<String>>> out = new ArrayList<>();
        if (n.isNull() || n.isMissingNode()) {
            return out;
        }
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                int i = 0;
                for (JsonNode c : n.path("decoders")) {
                    out.addAll(decoders(c, where + ".decoders[" + i++ + "]", at));
                }
            }
            case "ByteLevel" -> out.add(toks -> {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                for (String t : toks) {
                    byte[] mapped = new byte[t.length()];
                    boolean ok = true;
                    for (int i = 0; i < t.length() && ok; i++) {
                        Integer v = CHAR_TO_BYTE.get(t.charAt(i));
                        ok = v != null;
                        if (ok) {
                            mapped[i] = (byte) (int) v;
                        }
                    }
                    b.writeBytes(ok ? mapped : t.getBytes(StandardCharsets.UTF_8));
                }
                return List.of(b.toString(StandardCharsets.UTF_8));
            });
            case "Metaspace" -> {
                String rep = n.path("replacement").asText("\u2581");
                String scheme = n.has("prepend_scheme") ? n.path("prepend_scheme").asText("always") : n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                out.add(toks -> {
                    // as the library: the replacement becomes a space, except in the first token, where it is dropped
                    List<String> o = new ArrayList<>();
                    for (int i = 0; i < toks.size(); i++) {
                        o.add(toks.get(i).replace(rep, i == 0 && !scheme.equals("never") ? "" : " "));
                    }
                    return o;
                });
            }
            case "ByteFallback" -> out.add(toks -> {
                List<String> o = new ArrayList<>();
                ByteArrayOutputStream pending = new ByteArrayOutputStream();
                int count = 0;
                for (String t : toks) {
                    if (t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                        try {
                            pending.write(Integer.parseInt(t.substring(3, 5), 16));
                            count++;
                            continue;
                        } catch (NumberFormatException e) {
                            // not a byte token: falls through
                        }
                    }
                    flushBytes(pending, count, o);
                    count = 0;
                    o.add(t);
                }
                flushBytes(pending, count, o);
                return o;
            });
            case "Fuse" -> out.add(toks -> List.of(String.join("", toks)));
            case "Strip" -> {
                String c = n.path("content").asText(" ");
                int start = n.path("start").asInt(0);
                int stop = n.path("stop").asInt(0);
                out.add(toks -> {
                    List<String> o = new ArrayList<>();
                    for (String t : toks) {
                        int a = 0;
                        for (int k = 0; k < start && t.startsWith(c, a); k++) {
                            a += c.length();
                        }
                        int z = t.length();
                        for (int k = 0; k < stop && z - c.length() >= a && t.startsWith(c, z - c.length()); k++) {
                            z -= c.length();
                        }
                        o.add(t.substring(a, z));
                    }
                    return o;
                });
            }
            case "Replace" -> {
                UnaryOperator<String> r = replacer(n, where, at);
                out.add(toks -> toks.stream().map(r).toList());
            }
            default -> throw new InputException(at, where + ": decoder type '" + type + "' is not supported (ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence are)");
        }
        return out;
    }

    /** Byte tokens collected so far: valid UTF-8 becomes its text, else one U+FFFD per byte (as the library does). */
    private static void flushBytes(ByteArrayOutputStream pending, int count, List<String> out) {
        if (count == 0) {
            return;
        }
        byte[] b = pending.toByteArray();
        pending.reset();
        try {
            out.add(StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString());
        } catch (java.nio.charset.CharacterCodingException e) {
            out.add("\uFFFD".repeat(count));
        }
    }

    // ---- encoding

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

    /**
     * The ids that are not special tokens, in order (trained tokenizers often put their special tokens first, so
     * "below the smallest special id" is not the ordinary range).
     */
    public int[] ordinaryIds() {
        int[] out = new int[byId.length];
        int n = 0;
        for (int id = 0; id < byId.length; id++) {
            if (byId[id] != null && !isSpecial[id]) {
                out[n++] = id;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** The id of a special token, or -1. */
    public int specialId(String token) {
        return special.getOrDefault(token, -1);
    }

    /** Ids of the text, without the post-processor's special tokens (special tokens written in the text are kept). */
    public List<Integer> encode(String text) {
        return encode(text, false);
    }

    /** Ids of the text; with {@code addSpecialTokens} the post-processor's tokens (BOS and/or EOS) around them. */
    public List<Integer> encode(String text, boolean addSpecialTokens) {
        List<Integer> out = new ArrayList<>();
        if (addSpecialTokens) {
            for (int id : bosIds) {
                out.add(id);
            }
        }
        splitAdded(text, rawAdded, out, (seg, atStart) -> {
            String norm = normalizer == null ? seg : normalizer.apply(seg);
            splitAdded(norm, normAdded, out, (piece, atStart2) -> encodePiece(piece, atStart && atStart2, out));
        });
        if (addSpecialTokens) {
            for (int id : eosIds) {
                out.add(id);
            }
        }
        return out;
    }

    /**
     * Added tokens out of {@code text} (their ids into {@code out}, leftmost-longest, with lstrip/rstrip taking the
     * whitespace beside them and single_word ones only between word boundaries); the text between them goes to
     * {@code rest} with whether it starts the text.
     */
    private static void splitAdded(String text, AddedTrie trie, List<Integer> out, java.util.function.BiConsumer<String, Boolean> rest) {
        int last = 0;
        if (trie != null) {
            for (int i = 0; i < text.length(); i++) {
                Added a = trie.longest(text, i);
                if (a == null) {
                    continue;
                }
                int s = i;
                int e = i + a.content().length();
                if (a.singleWord() && ((s > 0 && isWordChar(text.codePointBefore(s))) || (e < text.length() && isWordChar(text.codePointAt(e))))) {
                    continue;
                }
                if (a.lstrip()) {
                    while (s > last && Character.isWhitespace(text.charAt(s - 1))) {
                        s--;
                    }
                }
                if (a.rstrip()) {
                    while (e < text.length() && Character.isWhitespace(text.charAt(e))) {
                        e++;
                    }
                }
                if (s > last) {
                    rest.accept(text.substring(last, s), last == 0);
                }
                out.add(a.id());
                last = e;
                i = e - 1;
            }
        }
        if (last < text.length()) {
            rest.accept(text.substring(last), last == 0);
        }
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }

    private void encodePiece(String text, boolean atStart, List<Integer> out) {
        List<String> pieces = new ArrayList<>();
        pieces.add(text);
        for (PreTok t : pre) {
            List<String> next = new ArrayList<>();
            for (String piece : pieces) {
                t.split(piece, atStart && next.isEmpty(), next);
            }
            pieces = next;
        }
        for (String piece : pieces) {
            if (piece.isEmpty()) {
                continue;
            }
            int[] hit = cache.get(piece);
            if (hit == null) {
                hit = bpe(piece);
                if (cache.size() < 100_000 && piece.length() < 256) {
                    cache.put(piece, hit);
                }
            }
            for (int id : hit) {
                out.add(id);
            }
        }
    }

    /** BPE of one piece: merges lowest rank first, leftmost on ties, over a linked list with a heap (n log n). */
    private int[] bpe(String piece) {
        Integer whole = ignoreMerges ? vocab.get(piece) : null;
        if (whole != null) {
            return new int[] {whole};
        }
        // initial symbols: one per code point (a byte-level piece has one char per byte)
        List<Integer> sym = new ArrayList<>();
        for (int i = 0; i < piece.length();) {
            int cp = piece.codePointAt(i);
            String ch = piece.substring(i, i + Character.charCount(cp));
            i += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                sym.add(id);
            } else if (byteFallback && allBytesKnown(ch)) {
                for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
                    sym.add(byteTokens[b & 0xff]);
                }
            } else if (unk >= 0) {
                if (!(fuseUnk && !sym.isEmpty() && sym.get(sym.size() - 1) == unk)) {
                    sym.add(unk);
                }
            } else {
                throw new InputException("text holds '" + ch + "' (U+" + Integer.toHexString(cp).toUpperCase() + "), which this tokenizer cannot encode (no byte fallback, no unk token)");
            }
        }
        int n = sym.size();
        int[] id = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            id[i] = sym.get(i);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // candidates {rank, left position, left id, right id}; stale ones are skipped when popped
        PriorityQueue<int[]> heap = new PriorityQueue<>((x, y) -> x[0] != y[0] ? Integer.compare(x[0], y[0]) : Integer.compare(x[1], y[1]));
        for (int i = 0; i + 1 < n; i++) {
            push(heap, i, id[i], id[i + 1]);
        }
        boolean[] dead = new boolean[n];
        while (!heap.isEmpty()) {
            int[] c = heap.poll();
            int l = c[1];
            int r = dead[l] ? -1 : next[l];
            if (r < 0 || id[l] != c[2] || id[r] != c[3]) {
                continue;
            }
            id[l] = merges.get(key(c[2], c[3]))[1];
            dead[r] = true;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
                push(heap, l, id[l], id[next[l]]);
            }
            if (prev[l] >= 0) {
                push(heap, prev[l], id[prev[l]], id[l]);
            }
        }
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i >= 0; i = next[i]) {
            ids.add(id[i]);
            if (next[i] < 0) {
                break;
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private void push(PriorityQueue<int[]> heap, int left, int a, int b) {
        int[] m = merges.get(key(a, b));
        if (m != null) {
            heap.add(new int[] {m[0], left, a, b});
        }
    }

    private boolean allBytesKnown(String ch) {
        for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
            if (byteTokens[b & 0xff] < 0) {
                return false;
            }
        }
        return true;
    }

    // ---- decoding

    /** Text of token ids, special tokens kept. Ids outside the vocabulary are an error. */
    public String decode(List<Integer> ids) {
        return decode(ids, false);
    }

    /** Text of token ids through the file's decoders; {@code skipSpecial} drops special tokens first. */
    public String decode(List<Integer> ids, boolean skipSpecial) {
        List<String> toks = new ArrayList<>();
        for (int id : ids) {
            if (id < 0 || id >= byId.length || byId[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is not in the vocabulary of " + byId.length);
            }
            if (!(skipSpecial && isSpecial[id])) {
                toks.add(byId[id]);
            }
        }
        if (decoders.isEmpty()) {
            return String.join(" ", toks); // what the library does without a decoder
        }
        for (UnaryOperator<List<String>> d : decoders) {
            toks = d.apply(toks);
        }
        return String.join("", toks);
    }

    /**
     * Learns {@code merges} byte-level BPE merges from text (most frequent adjacent pair first, ties by
     * first occurrence) and returns the tokenizer.json: what the checkpoint generator ships with a model.
     */
    public static String train(String text, int merges, List<String> specialTokens) {
        Pattern p = Pattern.compile(GPT2_PATTERN, FLAGS);
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
