"""Expected chat prompts for the chat-template parity test, rendered by transformers (run on the GPU machine).

    python3 tools/hf/chat_template_reference.py tests/parity/chat

Reads templates.json (chat_template, bos_token, eos_token per template) and conversations.json, renders every
template x conversation x add_generation_prompt with transformers' own chat-template renderer (the sandboxed Jinja2
environment apply_chat_template uses, with its raise_exception, tojson and strftime_now), and writes expected.json:
the prompt string, or the error text where the template refuses the conversation (raise_exception).
"""
import json
import os
import sys

import transformers

try:
    from transformers.utils.chat_template_utils import render_jinja_template
except ImportError:  # older transformers
    render_jinja_template = None
from transformers.utils.chat_template_utils import _compile_jinja_template


def render(tpl, messages, add_gen):
    kw = {"bos_token": tpl["bos_token"], "eos_token": tpl["eos_token"]}
    if render_jinja_template is not None:
        out, _ = render_jinja_template(conversations=[messages], chat_template=tpl["chat_template"], add_generation_prompt=add_gen, **kw)
        return out[0]
    return _compile_jinja_template(tpl["chat_template"]).render(messages=messages, add_generation_prompt=add_gen, **kw)


def main(d):
    with open(os.path.join(d, "templates.json"), encoding="utf-8") as f:
        templates = json.load(f)
    with open(os.path.join(d, "conversations.json"), encoding="utf-8") as f:
        convs = json.load(f)
    cases = []
    for tname, tpl in templates.items():
        for c in convs["conversations"]:
            for add_gen in convs["add_generation_prompt"]:
                case = {"template": tname, "conversation": c["name"], "add_generation_prompt": add_gen}
                try:
                    case["prompt"] = render(tpl, c["messages"], add_gen)
                except Exception as e:  # the template's own refusal (raise_exception) is part of the reference
                    case["error"] = f"{type(e).__name__}: {e}"
                cases.append(case)
    import jinja2
    out = {"transformers": transformers.__version__, "jinja2": jinja2.__version__, "cases": cases}
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    print(f"{len(cases)} cases, {sum('error' in c for c in cases)} refused by their template")


if __name__ == "__main__":
    main(sys.argv[1])
