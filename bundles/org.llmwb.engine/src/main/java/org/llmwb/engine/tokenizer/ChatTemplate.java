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
 * Jinja2 would, rendering fails with the template's line rather than producing a different prompt.
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
    private final String where;
    private final Map<String, Object> specialTokens;
    private final Jinjava jinja;

    private ChatTemplate(String source, String where, Map<String, Object> specialTokens) {
        this.source = source;
        this.where = where;
        this.specialTokens = specialTokens;
        JinjavaConfig cfg = JinjavaConfig.newBuilder()
                .withTrimBlocks(true).withLstripBlocks(true) // as transformers' environment
                .withNestedInterpretationEnabled(false) // "{{ x }}" inside a message stays text
                .withFailOnUnknownTokens(false)
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
            r = jinja.renderForResult(source, ctx);
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
