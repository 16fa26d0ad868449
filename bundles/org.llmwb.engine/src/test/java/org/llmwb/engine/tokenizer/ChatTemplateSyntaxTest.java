package org.llmwb.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The source rewrites and the Python string methods that let Jinjava render templates as Jinja2 does. The outside
 * reference is {@code tests/parity/chat/syntax.json}: small templates (whitespace control, keyword arguments, reversed
 * slices, string methods) rendered by Jinja2 in transformers' environment ({@code tools/hf/jinja_syntax_reference.py});
 * the whole-template check against transformers is {@code ChatTemplateParityTest}.
 */
class ChatTemplateSyntaxTest {
    @Test
    void smallTemplatesRenderAsJinja2RendersThem() throws Exception {
        var ref = org.llmwb.core.result.Json.parse(java.nio.file.Files.readString(
                org.llmwb.engine.parity.TransformersParity.parityRoot().resolve("tests/parity/chat/syntax.json")));
        java.util.List<String> wrong = new java.util.ArrayList<>();
        for (var c : ref.get("cases")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> vars = org.llmwb.core.result.Json.MAPPER.convertValue(c.get("vars"), Map.class);
            String got;
            try {
                got = render(c.get("template").asText(), vars);
            } catch (RuntimeException e) {
                got = "error: " + e.getMessage();
            }
            if (!got.equals(c.get("expected").asText())) {
                wrong.add(org.llmwb.core.result.Json.MAPPER.writeValueAsString(c.get("template").asText()) + "\n   jinja2 "
                        + org.llmwb.core.result.Json.MAPPER.writeValueAsString(c.get("expected").asText()) + "\n   llmwb  "
                        + org.llmwb.core.result.Json.MAPPER.writeValueAsString(got));
            }
        }
        org.junit.jupiter.api.Assertions.assertTrue(ref.get("cases").size() >= 20 && wrong.isEmpty(), wrong.size() + " of " + ref.get("cases").size()
                + " templates render differently from Jinja2 " + ref.get("jinja2").asText() + ":\n" + String.join("\n", wrong));
    }

    @Test
    void keywordArgumentValuesAreParenthesizedInsideTagsOnly() {
        assertEquals("{%- set ns = namespace(multi=(true), last=(messages|length - 1)) %}",
                ChatTemplate.forJinjava("{%- set ns = namespace(multi=true, last=messages|length - 1) %}"));
        assertEquals("{{ f(a=(g(b=(1), c=([1, 2]))), d=(x == y)) }}", ChatTemplate.forJinjava("{{ f(a=g(b=1, c=[1, 2]), d=x == y) }}"));
        for (String same : new String[] {"f(a=1) as text", "{% if a == b and c != d and e <= f %}", "{% macro m(x=1, y='a') %}{% endmacro %}",
                "{{ '(a=1)' ~ \"(b=2)\" }}", "{# f(a=1) #}", "{% set x = 3 %}"}) {
            assertEquals(same, ChatTemplate.forJinjava(same), same);
        }
        assertEquals("{% for m in (messages|reverse|list) %}", ChatTemplate.forJinjava("{% for m in messages[::-1] %}"));
    }

    private static String render(String template, Map<String, ?> vars) {
        return ChatTemplate.of(template, null, null).render(List.of(), false, vars);
    }

    @Test
    void pythonStringMethodsBehaveAsInPython() {
        // '  a \t b\n'.split() == ['a', 'b'];  'a,,b'.split(',') == ['a', '', 'b'];  'a,b,c'.split(',', 1) == ['a', 'b,c']
        assertEquals(List.of("a", "b"), PyStrMethods.split("  a \t b\n", null, -1));
        assertEquals(List.of("a", "", "b"), PyStrMethods.split("a,,b", ",", -1));
        assertEquals(List.of("a", "b,c"), PyStrMethods.split("a,b,c", ",", 1));
        assertEquals(List.of("a", "b  c "), PyStrMethods.split(" a b  c ", null, 1)); // ' a b  c '.split(None, 1)
        assertEquals(List.of(), PyStrMethods.split("   ", null, -1));
        // '\xa0 x \u2028'.strip() == 'x' (Python's isspace includes no-break space and line separator)
        assertEquals("x", PyStrMethods.strip("\u00a0 x \u2028", null, true, true));
        assertEquals("x\n", PyStrMethods.strip("\n\nx\n", "\n", true, false)); // '\n\nx\n'.lstrip('\n')
    }
}
