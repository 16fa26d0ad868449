package org.llmwb.runner;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.llmwb.core.Formula;
import org.llmwb.core.Problem;
import org.llmwb.core.result.Json;

/** Text and JSON rendering shared by the calculator commands. */
final class Output {
    private Output() {
    }

    static List<Map<String, Object>> formulas(List<Formula> fs) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Formula f : fs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", f.name());
            m.put("symbolic", f.symbolic());
            m.put("substituted", f.substituted());
            m.put("value", f.value());
            m.put("unit", f.unit());
            out.add(m);
        }
        return out;
    }

    static void printFormulas(PrintWriter out, List<Formula> fs) {
        for (Formula f : fs) {
            out.println("  " + f.render().replace("\n", "\n  "));
        }
    }

    static List<Map<String, Object>> problems(List<Problem> ps) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Problem p : ps) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("severity", p.severity().name().toLowerCase());
            m.put("code", p.code());
            m.put("message", p.message());
            if (p.hint() != null) {
                m.put("hint", p.hint());
            }
            out.add(m);
        }
        return out;
    }

    static void json(PrintWriter out, Object value) {
        out.print(Json.pretty(value));
        out.flush();
    }
}
