package org.llmwb.engine.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.llmwb.core.InputException;
import org.llmwb.core.SourceLocation;
import org.llmwb.core.result.Json;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

/**
 * A checkpoint's chat template — the Jinja program in {@code tokenizer_config.json}'s {@code chat_template} (or a
 * {@code chat_template.jinja} beside it) that turns OpenAI-style messages into the prompt text — rendered as
 * transformers' {@code apply_chat_template(..., tokenize=False)} does: Jinja with {@code trim_blocks} and
 * {@code lstrip_blocks}, the variables {@code messages}, {@code add_generation_prompt}, {@code bos_token},
 * {@code eos_token} and the other special tokens of the config, and the helpers {@code raise_exception} and
 * {@code strftime_now}. The prompt is then tokenized without adding special tokens (the template writes them).
 *
 * <p>The engine is HubSpot's Jinjava, configured as a sandbox: message text is never re-interpreted as a template
 * (nested interpretation off),
 * templates cannot include, import or extend files, {@code getClass} and the other reflective methods Jinjava
 * restricts stay blocked, and output, string, list and recursion sizes are capped. Where Jinjava cannot render a template the way Python's
 * Jinja2 would, rendering fails with the template's line rather than producing a different prompt. Jinja2's whitespace
 * rules and two forms Jinjava misreads are applied before parsing ({@link #forJinjava}), and Python's string methods
 * ({@code startswith}, {@code split}, {@code strip}...) resolve with Python's meaning ({@link PyStrMethods}). One
 * difference is known and not rewritten: a boolean printed by {@code {{ }}} reads {@code true}, where Jinja2 prints
 * {@code True} (none of the parity-tested templates prints one).
 */
public final class ChatTemplate {
    /** What the template refused (its own {@code raise_exception}) or could not render; the message says which. */
    public static final class ChatTemplateException extends InputException {
        private static final long serialVersionUID = 1L;
        private final boolean refused;

        ChatTemplateException(SourceLocation at, String message, boolean refused) {
            super(at, message);
            this.refused = refused;
        }

        /** True when the template itself rejected the conversation (e.g. roles that do not alternate). */
        public boolean refusedByTemplate() {
            return refused;
        }
    }

    private static final long MAX_OUTPUT_CHARS = 8L << 20;
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    private final String source;
    /** The source as Jinjava reads it ({@link #forJinjava}). */
    private final String parsed;
    private final String where;
    private final Map<String, Object> specialTokens;
    private final Jinjava jinja;

    private ChatTemplate(String source, String where, Map<String, Object> specialTokens) {
        this.source = source;
        this.parsed = forJinjava(source);
        this.where = where;
        this.specialTokens = specialTokens;
        JinjavaConfig cfg = JinjavaConfig.newBuilder()
                .withTrimBlocks(false).withLstripBlocks(false) // transformers' trim_blocks and lstrip_blocks: applied by forJinjava
                .withNestedInterpretationEnabled(false) // "{{ x }}" inside a message stays text
                .withFailOnUnknownTokens(false)
                .withElResolver(resolver())
                .withMaxOutputSize(MAX_OUTPUT_CHARS).withMaxStringLength(MAX_OUTPUT_CHARS).withMaxListSize(1_000_000).withMaxMapSize(100_000)
                .withMaxRenderDepth(10).withMaxMacroRecursionDepth(20).withRangeLimit(100_000)
                .withLegacyOverrides(LegacyOverrides.newBuilder().withUseTrimmingForNotesAndExpressions(true).withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true).withKeepNullableLoopValues(true).withEvaluateMapKeys(true).build())
                .build();
        jinja = new Jinjava(cfg);
        // include / import / extends / from read nothing: a template is one self-contained string
        jinja.setResourceLocator((name, encoding, interpreter) -> {
            throw new IOException("a chat template cannot include, import or extend other files ('" + name + "')");
        });
        // Python's len() counts code points; Jinjava's length counts UTF-16 units (an emoji would count 2)
        for (String name : new String[] {"length", "count"}) {
            jinja.getGlobalContext().registerFilter(new com.hubspot.jinjava.lib.filter.Filter() {
                @Override
                public String getName() {
                    return name;
                }

                @Override
                public Object filter(Object var, com.hubspot.jinjava.interpret.JinjavaInterpreter interpreter, String... args) {
                    if (var instanceof CharSequence cs) {
                        return (long) cs.toString().codePointCount(0, cs.length());
                    }
                    return new com.hubspot.jinjava.lib.filter.LengthFilter().filter(var, interpreter, args);
                }
            });
        }
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", Object.class));
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    }

    /** Python's string methods first ({@link PyStrMethods}), then Jinjava's own read-only resolvers (its sandbox). */
    private static jinjava.javax.el.ELResolver resolver() {
        jinjava.javax.el.CompositeELResolver r = new jinjava.javax.el.CompositeELResolver();
        r.add(new PyStrMethods());
        r.add(com.hubspot.jinjava.el.JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return r;
    }

    /** A template from its source; {@code bos}/{@code eos} may be null (the template then sees them undefined). */
    public static ChatTemplate of(String source, String bos, String eos) {
        Map<String, Object> sp = new LinkedHashMap<>();
        sp.put("bos_token", bos);
        sp.put("eos_token", eos);
        return new ChatTemplate(source, "chat_template", sp);
    }

    /**
     * The checkpoint folder's chat template: {@code chat_template.jinja} if present, else {@code tokenizer_config.json}'s
     * {@code chat_template} (a string, or a list of named templates: the one named {@code default}). Null when the
     * folder has none.
     */
    public static ChatTemplate load(Path dir) {
        Path cfgFile = dir.resolve("tokenizer_config.json");
        JsonNode cfg = null;
        if (Files.isRegularFile(cfgFile)) {
            try {
                cfg = Json.parse(Files.readString(cfgFile));
            } catch (IOException | RuntimeException e) {
                throw new InputException(SourceLocation.of(cfgFile.toString()), "not a valid tokenizer_config.json: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
            }
        }
        Map<String, Object> sp = new LinkedHashMap<>();
        if (cfg != null) {
            for (String k : List.of("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token")) {
                JsonNode n = cfg.get(k);
                if (n != null && n.isTextual()) {
                    sp.put(k, n.asText());
                } else if (n != null && n.isObject() && n.path("content").isTextual()) {
                    sp.put(k, n.get("content").asText()); // an AddedToken written out
                }
            }
        }
        Path jinjaFile = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinjaFile)) {
            try {
                return new ChatTemplate(Files.readString(jinjaFile), jinjaFile.toString(), sp);
            } catch (IOException e) {
                throw new InputException(SourceLocation.of(jinjaFile.toString()), "cannot read: " + e.getMessage());
            }
        }
        if (cfg == null || cfg.get("chat_template") == null || cfg.get("chat_template").isNull()) {
            return null;
        }
        JsonNode t = cfg.get("chat_template");
        if (t.isTextual()) {
            return new ChatTemplate(t.asText(), cfgFile + ": chat_template", sp);
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                    return new ChatTemplate(named.get("template").asText(), cfgFile + ": chat_template[default]", sp);
                }
            }
            throw new InputException(SourceLocation.of(cfgFile.toString()), "chat_template is a list without a template named 'default'");
        }
        throw new InputException(SourceLocation.of(cfgFile.toString()), "chat_template must be a string or a list of {name, template}");
    }

    /**
     * The template as Jinjava should read it to render what Jinja2 renders, in transformers' environment
     * ({@code trim_blocks}, {@code lstrip_blocks}, trailing newline dropped):
     * <ul>
     * <li>newlines read as Jinja2's lexer reads them ({@code \r\n} and {@code \r} become {@code \n}; one final
     * newline of the template is dropped);</li>
     * <li>{@code lstrip_blocks} and {@code trim_blocks} applied here, by Jinja2's rules, instead of by Jinjava (which
     * strips spaces before a block tag in mid-line too): spaces and tabs between a line's start and a block or comment
     * tag go, and the newline right after one; {@code {%+} and {@code +%}} turn that off;</li>
     * <li>every keyword argument's value of a call inside a tag wrapped in parentheses:
     * {@code namespace(i=messages|length - 1)} becomes {@code namespace(i=(messages|length - 1))} (parentheses do not
     * change an expression in Jinja2, but Jinjava reads an unwrapped {@code k=a|f - 1} as {@code (k=a|f) - 1}, and
     * Qwen3's template has exactly this);</li>
     * <li>{@code name[::-1]}, a slice Jinjava cannot parse, becomes {@code (name|reverse|list)}, the same list reversed.</li>
     * </ul>
     * Strings, comments and the insides of {@code macro}/{@code call}/{@code raw} tags are not rewritten.
     */
    static String forJinjava(String template) {
        String[] lines = template.split("\r\n|\r|\n", -1);
        int count = lines.length > 1 && lines[lines.length - 1].isEmpty() ? lines.length - 1 : lines.length;
        String src = String.join("\n", java.util.Arrays.asList(lines).subList(0, count));
        StringBuilder out = new StringBuilder(src.length() + 16);
        int n = src.length();
        int i = 0;
        boolean lineStarting = true; // whether the last tag's match ended with a newline (Jinja2's lexer state)
        while (i < n) {
            int open = indexOfTag(src, i);
            String text = src.substring(i, open < 0 ? n : open);
            if (open < 0) {
                out.append(text);
                break;
            }
            char kind = src.charAt(open + 1);
            int body = open + 2;
            char mark = body < n ? src.charAt(body) : ' ';
            if (kind != '{' && mark != '+' && mark != '-') { // lstrip_blocks
                int l = text.lastIndexOf('\n') + 1;
                if ((l > 0 || lineStarting) && l < text.length() && text.substring(l).isBlank()) {
                    text = text.substring(0, l);
                }
            }
            out.append(text);
            if (mark == '+') {
                body++; // Jinjava does not know the mark; its effect (no lstrip) is had
            }
            String close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            String head = src.substring(body, Math.min(n, body + 16)).replaceFirst("^[-\\s]+", "");
            boolean skip = kind == '#' || kind == '%' && (head.startsWith("macro") || head.startsWith("call") || head.startsWith("raw"));
            int end = kind == '#' ? (src.indexOf("#}", body) < 0 ? n : src.indexOf("#}", body)) : tagEnd(src, body, close);
            String inner = src.substring(body, end);
            boolean keep = inner.endsWith("+");
            if (keep) {
                inner = inner.substring(0, inner.length() - 1);
            }
            out.append(src, open, open + 2).append(skip ? inner : rewriteTag(inner));
            i = Math.min(n, end + 2);
            out.append(src, Math.min(n, end), i);
            lineStarting = false;
            if (kind != '{' && !keep && !inner.endsWith("-") && i < n && src.charAt(i) == '\n') { // trim_blocks
                i++;
                lineStarting = true;
            }
            if (kind == '%' && head.startsWith("raw")) { // the raw block's text as it is, up to its end tag
                java.util.regex.Matcher m = ENDRAW.matcher(src);
                int stop = m.find(i) ? m.start() : n;
                out.append(src, i, stop);
                i = stop;
            }
        }
        return out.toString();
    }

    private static int indexOfTag(String s, int from) {
        for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    /** Where the tag's closing delimiter starts (strings skipped), or the end of the text. */
    private static int tagEnd(String s, int from, String close) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i);
            } else if (s.startsWith(close, i)) {
                return i;
            }
        }
        return s.length();
    }

    /** The index of the quote closing the string that starts at {@code at}. */
    private static int stringEnd(String s, int at) {
        char q = s.charAt(at);
        for (int i = at + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == q) {
                return i;
            }
        }
        return s.length() - 1;
    }

    private static final java.util.regex.Pattern ENDRAW = java.util.regex.Pattern.compile("\\{%[-+]?\\s*endraw");
    private static final java.util.regex.Pattern REVERSED = java.util.regex.Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*)\\[\\s*:\\s*:\\s*-1\\s*\\]");

    private static String rewriteTag(String t) {
        StringBuilder out = new StringBuilder(t.length() + 8);
        java.util.ArrayDeque<Character> brackets = new java.util.ArrayDeque<>();
        java.util.ArrayDeque<Integer> openValues = new java.util.ArrayDeque<>(); // bracket depths of values still to close
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\'' || c == '"') {
                int e = stringEnd(t, i);
                out.append(t, i, Math.min(t.length(), e + 1));
                i = e;
                continue;
            }
            if ((Character.isLetter(c) || c == '_') && (i == 0 || !(Character.isLetterOrDigit(t.charAt(i - 1)) || t.charAt(i - 1) == '_' || t.charAt(i - 1) == '.'))) {
                java.util.regex.Matcher m = REVERSED.matcher(t).region(i, t.length());
                if (m.lookingAt()) { // x[::-1], which Jinjava cannot parse: the same list reversed
                    out.append('(').append(m.group(1)).append("|reverse|list)");
                    i = m.end() - 1;
                    continue;
                }
            }
            if (c == ',' || c == ')' || c == ']' || c == '}') {
                while (!openValues.isEmpty() && openValues.peek() == brackets.size()) {
                    out.append(')');
                    openValues.pop();
                }
            }
            if (c == '(' || c == '[' || c == '{') {
                brackets.push(c);
            } else if ((c == ')' || c == ']' || c == '}') && !brackets.isEmpty()) {
                brackets.pop();
            }
            out.append(c);
            if (c == '=' && !brackets.isEmpty() && brackets.peek() == '(' && isKeyword(t, i)) {
                out.append('(');
                openValues.push(brackets.size());
            }
        }
        while (!openValues.isEmpty()) { // an unbalanced tag: Jinjava reports it
            out.append(')');
            openValues.pop();
        }
        return out.toString();
    }

    /** Whether the {@code =} at {@code eq} follows "( name" or ", name" and is not part of ==, !=, <=, >=. */
    private static boolean isKeyword(String t, int eq) {
        if (eq + 1 < t.length() && t.charAt(eq + 1) == '=') {
            return false;
        }
        int j = eq - 1;
        while (j >= 0 && Character.isWhitespace(t.charAt(j))) {
            j--;
        }
        int nameEnd = j;
        while (j >= 0 && (Character.isLetterOrDigit(t.charAt(j)) || t.charAt(j) == '_')) {
            j--;
        }
        if (j == nameEnd || Character.isDigit(t.charAt(j + 1))) {
            return false;
        }
        while (j >= 0 && Character.isWhitespace(t.charAt(j))) {
            j--;
        }
        return j >= 0 && (t.charAt(j) == '(' || t.charAt(j) == ',');
    }

    public String source() {
        return source;
    }

    /** The special-token strings the template sees ({@code bos_token}, {@code eos_token}, ...). */
    public Map<String, Object> specialTokens() {
        return java.util.Collections.unmodifiableMap(specialTokens);
    }

    /**
     * The prompt text for these messages (each a map with {@code role} and {@code content}, as the OpenAI API sends
     * them); {@code extra} adds template variables (e.g. {@code enable_thinking}, {@code tools}).
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        Map<String, Object> ctx = new HashMap<>(specialTokens);
        if (extra != null) {
            for (Map.Entry<String, ?> e : extra.entrySet()) {
                if (Set.of("messages", "add_generation_prompt").contains(e.getKey())) {
                    throw new IllegalArgumentException(e.getKey() + " is set by render itself");
                }
                ctx.put(e.getKey(), e.getValue());
            }
        }
        List<Object> msgs = new ArrayList<>();
        for (Map<String, ?> m : messages) {
            msgs.add(new LinkedHashMap<>(m));
        }
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        RAISED.remove();
        RenderResult r;
        try {
            r = jinja.renderForResult(parsed, ctx);
        } catch (RuntimeException e) {
            throw failure(e.getMessage(), -1);
        }
        // raise_exception's message, if the template called it (Jinjava records the throw as a render error)
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) {
            throw new ChatTemplateException(SourceLocation.of(where), "the chat template refused the conversation: " + raised, true);
        }
        List<TemplateError> fatal = r.getErrors().stream().filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            TemplateError e = fatal.get(0);
            throw failure(e.getMessage(), e.getLineno());
        }
        return r.getOutput();
    }

    private ChatTemplateException failure(String message, int line) {
        String at = line > 0 ? where + " line " + line : where;
        return new ChatTemplateException(SourceLocation.of(at), "the chat template cannot be rendered here: " + message
                + " (llmwb renders chat templates with Jinjava; a construct it reads differently from Python's Jinja2 is refused, not guessed)", false);
    }

    /** {@code raise_exception(msg)}: what transformers' templates call to reject a conversation. */
    public static Object raiseException(Object message) {
        RAISED.set(String.valueOf(message));
        throw new IllegalStateException(String.valueOf(message));
    }

    /** {@code strftime_now(format)}: the local time in a C strftime format (the directives templates use). */
    public static String strftimeNow(String format) {
        LocalDateTime now = LocalDateTime.now();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            sb.append(switch (d) {
                case 'd' -> String.format(Locale.ROOT, "%02d", now.getDayOfMonth());
                case 'm' -> String.format(Locale.ROOT, "%02d", now.getMonthValue());
                case 'Y' -> String.valueOf(now.getYear());
                case 'y' -> String.format(Locale.ROOT, "%02d", now.getYear() % 100);
                case 'H' -> String.format(Locale.ROOT, "%02d", now.getHour());
                case 'M' -> String.format(Locale.ROOT, "%02d", now.getMinute());
                case 'S' -> String.format(Locale.ROOT, "%02d", now.getSecond());
                case 'b' -> now.format(DateTimeFormatter.ofPattern("MMM", Locale.ENGLISH));
                case 'B' -> now.format(DateTimeFormatter.ofPattern("MMMM", Locale.ENGLISH));
                case 'a' -> now.format(DateTimeFormatter.ofPattern("EEE", Locale.ENGLISH));
                case 'A' -> now.format(DateTimeFormatter.ofPattern("EEEE", Locale.ENGLISH));
                case 'j' -> String.format(Locale.ROOT, "%03d", now.getDayOfYear());
                case '%' -> "%";
                default -> "%" + d;
            });
        }
        return sb.toString();
    }
}
