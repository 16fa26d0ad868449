package org.llmwb.engine.tokenizer;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods that chat templates call ({@code content.startswith('<tool_response>')},
 * {@code content.split('</think>')[-1].lstrip('\n')}): Jinja2 runs templates on Python strings, Jinjava on Java
 * ones, which have none of these names (or, like {@code split}, a different meaning). Resolves only calls on a
 * string whose name is listed here, with Python's semantics; everything else falls through to Jinjava's resolvers.
 */
final class PyStrMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof CharSequence cs) || method == null) {
            return null;
        }
        String s = cs.toString();
        Object[] a = params == null ? new Object[0] : params;
        Object r = switch (method.toString()) {
            case "startswith" -> a.length == 1 ? affix(s, a[0], true) : null;
            case "endswith" -> a.length == 1 ? affix(s, a[0], false) : null;
            case "strip" -> a.length <= 1 ? strip(s, chars(a), true, true) : null;
            case "lstrip" -> a.length <= 1 ? strip(s, chars(a), true, false) : null;
            case "rstrip" -> a.length <= 1 ? strip(s, chars(a), false, true) : null;
            case "split" -> a.length <= 2 ? split(s, a.length > 0 ? a[0] : null, a.length > 1 ? ((Number) a[1]).intValue() : -1) : null;
            case "upper" -> a.length == 0 ? s.toUpperCase(java.util.Locale.ROOT) : null;
            case "lower" -> a.length == 0 ? s.toLowerCase(java.util.Locale.ROOT) : null;
            default -> null;
        };
        if (r != null) {
            context.setPropertyResolved(true);
        }
        return r;
    }

    private static Boolean affix(String s, Object what, boolean start) {
        if (what instanceof List<?> options) { // str.startswith(tuple)
            for (Object o : options) {
                if (start ? s.startsWith(String.valueOf(o)) : s.endsWith(String.valueOf(o))) {
                    return true;
                }
            }
            return false;
        }
        return start ? s.startsWith(String.valueOf(what)) : s.endsWith(String.valueOf(what));
    }

    private static String chars(Object[] a) {
        return a.length == 0 || a[0] == null ? null : String.valueOf(a[0]);
    }

    /** Python's str.isspace for one code point. */
    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0;
        int e = s.length();
        while (left && b < e && stripped(s.codePointAt(b), chars)) {
            b += Character.charCount(s.codePointAt(b));
        }
        while (right && e > b && stripped(s.codePointBefore(e), chars)) {
            e -= Character.charCount(s.codePointBefore(e));
        }
        return s.substring(b, e);
    }

    private static boolean stripped(int cp, String chars) {
        return chars == null ? isSpace(cp) : chars.codePoints().anyMatch(c -> c == cp);
    }

    static List<String> split(String s, Object sepArg, int max) {
        List<String> out = new ArrayList<>();
        if (sepArg == null) { // runs of whitespace, no empty strings
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                if (i >= n) {
                    return out;
                }
                if (max >= 0 && out.size() == max) {
                    out.add(s.substring(i)); // the rest as it is, trailing whitespace included
                    return out;
                }
                int j = i;
                while (j < n && !isSpace(s.codePointAt(j))) {
                    j += Character.charCount(s.codePointAt(j));
                }
                out.add(s.substring(i, j));
                i = j;
            }
        }
        String sep = String.valueOf(sepArg);
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        for (int at = s.indexOf(sep); at >= 0 && (max < 0 || out.size() < max); at = s.indexOf(sep, from)) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
