"""Expected output of small Jinja templates for ChatTemplateSyntaxTest, rendered by Jinja2 in the environment
transformers' apply_chat_template uses (sandboxed, trim_blocks, lstrip_blocks, loop controls). Needs only jinja2
(transformers is not imported, so it runs wherever jinja2 is installed).

    python3 tools/hf/jinja_syntax_reference.py tests/parity/chat/syntax.json

Each case: whitespace control (lstrip_blocks / trim_blocks in and out of mid-line, +/- marks, comments, CRLF, a
trailing newline), keyword arguments with filters and arithmetic, reversed slices, and Python string methods.
"""
import json
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

CASES = [
    ("{% for x in xs %}{{ x }}{% if not loop.last %} {% endif %}{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("  {% if true %}\n  a\n  {% endif %}\nb", {}),
    ("{% if true %}  {% endif %}x", {}),
    ("a\n    {%+ if true %}b{% endif +%}\nc", {}),
    ("a\n  {# note #}\nb\n", {}),
    ("{%- if true -%}\n  x  \n{%- endif -%}\n", {}),
    ("line\r\n  {% if true %}\r\nx\r\n{% endif %}\r\n", {}),
    ("{{ 'a' }}\n  {{ 'b' }}\n", {}),
    ("x {% set y = 1 %}\n{{ y }}", {}),
    ("\t{% if true %}\tx{% endif %}\n\n", {}),
    ("a  {%- if true %} b {% endif -%}  c", {}),
    ("{% for x in xs %}\n    {{ x }}\n{% endfor %}\n", {"xs": [1, 2]}),
    ("{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{{ x }};{% endfor %}", {"xs": [1, 2, 3]}),
    ("{% for m in ms[::-1] %}{{ m }}{% endfor %}", {"ms": ["a", "b", "c"]}),
    ("{% set ns = namespace(k=ms|length - 1, f=false) %}{{ ns.k }}", {"ms": ["a", "b", "c"]}),
    ("{% set ns = namespace(i=ms|length - 1) %}{% for m in ms[::-1] %}{% set idx = (ms|length - 1) - loop.index0 %}"
     "{% if ns.i == idx and m.startswith('b') %}{% set ns.i = idx %}{% endif %}{% endfor %}{{ ns.i }}", {"ms": ["a", "b", "c"]}),
    ("{{ s.split('</think>')[-1].lstrip('\\n') }}", {"s": "<think>\nx</think>\n\nanswer"}),
    ("[{{ s.strip() }}|{{ s.rstrip() }}|{{ s.lstrip() }}]", {"s": " \u00a0x\u2028 "}),
    ("{{ 'a,b,,c'.split(',')|length }} {{ '  a  b '.split()|join('-') }} {{ 'a b c'.split(' ', 1)|join('|') }}", {}),
    ("{% if s.startswith(('<a', '<b')) %}y{% else %}n{% endif %}{% if s.endswith('>') %}!{% endif %}", {"s": "<b>"}),
    ("{{ s.upper() }} {{ s.lower() }}", {"s": "MiXed"}),
]


def main(path):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    cases = []
    for template, vars in CASES:
        out = env.from_string(template).render(messages=[], add_generation_prompt=False, **vars)
        cases.append({"template": template, "vars": vars, "expected": out})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "environment": "ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols)",
                   "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(cases)} cases written to {path} (jinja2 {jinja2.__version__})")


if __name__ == "__main__":
    main(sys.argv[1])
