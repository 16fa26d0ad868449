package org.llmwb.engine.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.llmwb.core.result.Json;
import org.llmwb.engine.tokenizer.ChatTemplate;
import org.llmwb.engine.tokenizer.ChatTemplate.ChatTemplateException;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Chat prompts against transformers: {@code tests/parity/chat/expected.json} holds what transformers'
 * {@code apply_chat_template} renderer made of every template in {@code templates.json} (three real ones from the
 * Llama-3, Qwen3 and Gemma-3 tokenizer packages, two written for the test) for every conversation in
 * {@code conversations.json}, with and without the generation prompt ({@code tools/hf/chat_template_reference.py},
 * on the GPU machine). Each case must come out identical, or — where the template itself raised — be refused too.
 */
class ChatTemplateParityTest {
    static final Path DIR = TransformersParity.parityRoot().resolve("tests/parity/chat");
    /**
     * Templates Jinjava cannot render, with the reason; every case of them must be refused with a located error
     * (never a different prompt), and the test fails when one starts to render so the entry is taken out.
     */
    static final Map<String, String> UNSUPPORTED = Map.of();

    @Test
    void everyTemplateRendersEveryConversationAsTransformersDoes() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(DIR.resolve("expected.json")),
                "tests/parity/chat/expected.json is not recorded yet: run tools/hf/chat_template_reference.py on a machine with transformers");
        JsonNode templates = Json.parse(Files.readString(DIR.resolve("templates.json")));
        JsonNode convs = Json.parse(Files.readString(DIR.resolve("conversations.json")));
        JsonNode expected = Json.parse(Files.readString(DIR.resolve("expected.json")));
        Map<String, JsonNode> byName = new LinkedHashMap<>();
        convs.get("conversations").forEach(c -> byName.put(c.get("name").asText(), c.get("messages")));
        int same = 0;
        int refused = 0;
        int unsupported = 0;
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : expected.get("cases")) {
            JsonNode t = templates.get(c.get("template").asText());
            ChatTemplate ct = ChatTemplate.of(t.get("chat_template").asText(), text(t.get("bos_token")), text(t.get("eos_token")));
            boolean known = UNSUPPORTED.containsKey(c.get("template").asText());
            String label = c.get("template").asText() + " / " + c.get("conversation").asText() + " / gen=" + c.get("add_generation_prompt").asBoolean();
            try {
                String got = ct.render(messages(byName.get(c.get("conversation").asText())), c.get("add_generation_prompt").asBoolean(), Map.of());
                if (known) {
                    wrong.add(label + ": listed as unsupported (" + UNSUPPORTED.get(c.get("template").asText()) + ") but rendered; compare and take it out of the list");
                } else if (c.has("error")) {
                    wrong.add(label + ": transformers refused (" + c.get("error").asText() + ") but we rendered " + Json.MAPPER.writeValueAsString(got));
                } else if (!got.equals(c.get("prompt").asText())) {
                    wrong.add(label + ":\n   transformers " + Json.MAPPER.writeValueAsString(c.get("prompt").asText()) + "\n   llmwb        " + Json.MAPPER.writeValueAsString(got));
                } else {
                    same++;
                }
            } catch (ChatTemplateException e) {
                if (c.has("error") && e.refusedByTemplate()) {
                    refused++;
                } else if (UNSUPPORTED.containsKey(c.get("template").asText()) && !e.refusedByTemplate() && e.getMessage().contains("line ")) {
                    unsupported++;
                } else {
                    wrong.add(label + ": " + e.getMessage());
                }
            }
        }
        System.out.printf("chat templates (transformers %s): %d identical prompts, %d refused by the template as transformers refused them, "
                + "%d refused as unsupported (%s), %d wrong%n", expected.get("transformers").asText(), same, refused, unsupported, UNSUPPORTED.keySet(), wrong.size());
        wrong.forEach(w -> System.out.println("  " + w));
        assertTrue(wrong.isEmpty(), wrong.size() + " case(s) differ from transformers:\n" + String.join("\n", wrong));
        assertTrue(refused > 0, "the reference has conversations the templates refuse (two users in a row)");
    }

    @Test
    void messageTextIsNeverReinterpretedAndTheSandboxHolds() {
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}{{ m.content }}{% endfor %}", "<s>", "</s>");
        String tricky = "{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %} {{ bos_token }}";
        assertEquals(tricky, t.render(List.of(Map.of("role", "user", "content", tricky)), false, Map.of()));
        for (String src : List.of("{% include '/etc/passwd' %}", "{% import 'x.j2' as x %}{{ x }}", "{% extends 'base.j2' %}")) {
            ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of(src, null, null).render(List.of(), false, Map.of()), src);
            assertFalse(e.getMessage().contains("root:"), e.getMessage());
        }
        for (String src : List.of("{{ messages.getClass() }}", "{{ ''.getClass().forName('java.lang.Runtime') }}", "{{ bos_token.getClass().getClassLoader() }}")) {
            ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of(src, "<s>", null).render(List.of(), false, Map.of()), src);
            assertTrue(e.getMessage().contains("getClass"), e.getMessage());
        }
    }

    @Test
    void loadsFromACheckpointFolder(@TempDir Path dir) throws Exception {
        assertNull(ChatTemplate.load(dir), "no tokenizer_config.json: no template");
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false}, \"eos_token\": \"</s>\", \"chat_template\": "
                        + "[{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"{{ bos_token }}{{ messages[0].content }}{{ eos_token }}\"}]}");
        assertEquals("<s>hi</s>", ChatTemplate.load(dir).render(List.of(Map.of("role", "user", "content", "hi")), true, Map.of()));
        Files.writeString(dir.resolve("chat_template.jinja"), "[{{ messages | length }}]");
        assertEquals("[1]", ChatTemplate.load(dir).render(List.of(Map.of("role", "user", "content", "hi")), true, Map.of()), "chat_template.jinja wins");
        Files.delete(dir.resolve("chat_template.jinja"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": 7}");
        assertTrue(assertThrows(org.llmwb.core.InputException.class, () -> ChatTemplate.load(dir)).getMessage().contains("tokenizer_config.json"));
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("line one\n{{ raise_exception('roles must alternate') }}", null, null).render(List.of(), false, Map.of()));
        assertTrue(e.refusedByTemplate() && e.getMessage().contains("roles must alternate"), e.getMessage());
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> messages(JsonNode arr) {
        List<Map<String, Object>> out = new ArrayList<>();
        arr.forEach(m -> out.add(Json.MAPPER.convertValue(m, Map.class)));
        return out;
    }
}
