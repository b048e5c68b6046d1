#!/usr/bin/env python3
"""Generate tests/chat/renderings.json: the expected output of every shared
chat template (../shared/data/chat_templates) for a set of conversations, as
rendered by HF transformers' apply_chat_template environment, reproduced here
with plain Jinja2 (no transformers, no network):

  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[loopcontrols])
  filters["tojson"]  = json.dumps(ensure_ascii=False, ...) (keys not sorted)
  globals["raise_exception"], globals["strftime_now"]
  render(messages=..., tools=None, documents=None,
         add_generation_prompt=..., bos_token=..., eos_token=..., **extra)

strftime_now uses FWINFER_FIXED_DATE (YYYY-MM-DD) as "now" (midnight), as the
library does.  Usage: tools/gen_chat_renderings.py [DATA_DIR] [OUT_JSON]
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_DATE = "2024-09-05"


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                      separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.strptime(FIXED_DATE, "%Y-%m-%d").strftime(fmt)


class AssistantTracker(Extension):
    """HF's {% generation %} ... {% endgeneration %} block: renders its body
    (HF also records the character span, for assistant masks)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# Special tokens of each model's tokenizer (what HF passes as bos_token etc.).
TOKENS = {
    "HuggingFaceTB-SmolLM3-3B": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "Qwen-Qwen2.5-7B-Instruct": {"eos_token": "<|im_end|>"},
    "Qwen-Qwen3-0.6B": {"eos_token": "<|im_end|>"},
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "google-gemma-2-2b-it": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "meta-llama-Llama-3.1-8B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "meta-llama-Llama-3.2-3B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "microsoft-Phi-3.5-mini-instruct": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "mistralai-Mistral-Nemo-Instruct-2407": {"bos_token": "<s>", "eos_token": "</s>"},
}

S = {"role": "system", "content": "You are a helpful assistant."}
U1 = {"role": "user", "content": "Hello! What is 2+2?"}
A1 = {"role": "assistant", "content": "2+2 is 4."}
U2 = {"role": "user", "content": "And 3*3?"}
A2 = {"role": "assistant", "content": "<think>\nmultiply\n</think>\n\n3*3 is 9."}

CONVERSATIONS = [
    ("system_user", [S, U1], {}),
    ("user_only", [U1], {}),
    ("multi_turn", [S, U1, A1, U2], {}),
    ("multi_turn_no_system", [U1, A1, U2], {}),
    ("think_history", [U1, A2, U2], {}),
    ("unicode_quotes", [
        {"role": "system", "content": "  Réponds en français, s'il te plaît: \"citations\" \\ et 'apostrophes'.  "},
        {"role": "user", "content": "Ünïcödé ✓ 日本語 🤖 \u3000 tab\there\r\nline"},
        {"role": "assistant", "content": "Ça va — «bien» 😀 {{ not a tag }} {% neither %}"},
        {"role": "user", "content": "  \n'single' \"double\" </s> <|im_end|>\n  "},
    ], {}),
    ("assistant_prefill", [U1, {"role": "assistant", "content": "Sure, the answer is"}], {}),
    ("empty_content", [{"role": "system", "content": ""}, {"role": "user", "content": ""},
                       {"role": "assistant", "content": ""}, {"role": "user", "content": "x"}], {}),
    ("empty_user", [{"role": "user", "content": ""}], {}),
    ("thinking_off", [S, U1], {"enable_thinking": False}),
    ("system_think_flag", [{"role": "system", "content": "Be brief. /no_think"}, U1], {}),
    ("tools", [U1], {"tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Get the weather «now»",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}}]}),
    ("date_string", [S, U1], {"date_string": "01 Jan 2025"}),
    ("non_alternating", [U1, U2], {}),
]


# Engine features beyond the shared templates: (name, template, messages, vars).
M2 = [{"role": "user", "content": "  Hi «there» \"q\" 'a'  "}, {"role": "assistant", "content": None}]
INLINE = [
    ("loop_vars", "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.cycle('a','b') }}|{% endfor %}", M2, {}),
    ("loop_else_filter", "{% for x in [1,2,3,4] if x is even %}{{ x }}{% else %}none{% endfor %}{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", [], {}),
    ("loop_controls", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", [], {}),
    ("filters", "{{ messages[0].content|trim }}|{{ messages[0].content|upper }}|{{ 'ABC Déjà'|lower }}|{{ messages|length }}|{{ 'héllo'|length }}|{{ [3,1]|first }}{{ [3,1]|last }}|{{ none|default('d') }}{{ undefined_var|default('u') }}|{{ '' | default('e', true) }}|{{ 'a-b c'|title }}|{{ 'hello world'|capitalize }}|{{ [1,'a',none]|join(', ') }}|{{ 'x y'|replace(' ', '_') }}|{{ '42'|int + 1 }}|{{ '2.5'|float }}|{{ -3|abs }}|{{ [1,2,3]|reverse|list }}|{{ 'abc'|reverse }}", M2, {}),
    ("tojson", "{{ messages|tojson }}|{{ tools|tojson(indent=2) }}|{{ {'b': 1, 'a': [1.5, true, none, 'é\\n\\t\\u0001<>&']}|tojson }}|{{ {}|tojson }}{{ []|tojson(indent=4) }}|{{ 1e20|tojson }}{{ 0.1|tojson }}{{ 100.0|tojson }}{{ 1e-7|tojson }}", M2,
     {"tools": [{"name": "f", "args": {"x": [1, 2], "y": {}}}]}),
    ("string_methods", "{% set s = messages[0].content %}{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ s.startswith('  Hi') }}{{ s.endswith(('z', '  ')) }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'aXbXc'.replace('X', '--') }}|{{ 'Hello'.upper() }}{{ 'Hello'.lower() }}|{{ 'hello wORLD'.title() }}|{{ 'abc'.find('c') }}{{ 'abcabc'.count('b') }}|{{ '-'.join(['a','b']) }}", M2, {}),
    ("slices", "{{ 'héllo'[1:3] }}|{{ 'héllo'[-2:] }}|{{ 'héllo'[::-1] }}|{{ [1,2,3,4,5][1:4] }}|{{ [1,2,3,4,5][::2] }}|{{ [1,2,3][::-1] }}|{{ [1,2,3][-1] }}|{{ 'abc'[0] }}|{{ [1,2,3][5] is defined }}", [], {}),
    ("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 - 4 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 3 }} {{ 1.5 + 1 }} {{ 3 - 5 }} {{ -(2) }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 10 / 4 }} {{ 0.1 + 0.2 }}", [], {}),
    ("tests", "{{ x is defined }}{{ messages is iterable }}{{ 'a' is string }}{{ 1 is number }}{{ 1 is integer }}{{ 1.0 is float }}{{ none is none }}{{ {} is mapping }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 'a' is in 'abc' }}{{ false is false }}{{ true is true }}{{ 1 is not string }}{{ 5 is gt 3 }}{{ 'x' is equalto 'x' }}{{ true is boolean }}{{ 1 is sameas 1 }}", [], {}),
    ("namespace_scope", "{% set ns = namespace(n=0, items=[]) %}{% set x = 1 %}{% for m in [1,2,3] %}{% set x = m %}{% set ns.n = ns.n + m %}{% endfor %}{{ x }} {{ ns.n }}{% set a, b = 1, 2 %} {{ a }}{{ b }}{% set blk %}inner {{ a }}{% endset %} {{ blk }}", [], {}),
    ("macro", "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}", [], {}),
    ("dicts_items", "{% set d = {'b': 1, 'a': 2} %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{{ d|items|list }}{{ d.keys()|list }}{{ d.values()|list }}{{ d.get('a') }}{{ d.get('z', 'no') }}{{ d['b'] }}{{ 'a' in d }}{{ d }}", [], {}),
    ("select_map", "{{ messages|selectattr('role', 'equalto', 'user')|list|length }}{{ messages|rejectattr('role', 'equalto', 'user')|map(attribute='role')|join }}{{ [1,2,3,4]|select('odd')|list }}{{ [1,2,3]|reject('equalto', 2)|list }}{{ ['a','b']|map('upper')|join }}", M2, {}),
    ("repr_output", "{{ none }} {{ true }} {{ [1, 'a', \"it's\", none, 1.0, [true]] }} {{ ('x',) }} {{ {'k': 'v'} }} {{ 1e16 }} {{ 123456789.125 }} {{ 1.5e-5 }} {{ messages[1].content }} {{ messages[1] }}", M2, {}),
    ("whitespace", "a  \n  {%- if true -%}  \n b \n  {%- endif %}\n  c\n  {% if true %}\n    d\n  {% endif %}\n{# comment #}\n  {#- c2 -#}  e {{- ' f ' -}} g\n{%+ if true %}h{% endif +%}\n{{ 'i' }}\n\n", [], {}),
    ("lstrip_line_start", "    {% if true %}x{% endif %}\n\t{{ 'y' }}\n  {# c #}z\n", [], {}),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n", [], {}),
    ("string_escapes", "{{ 'a\\tb\\\\c\\'d\\x41\\u00e9\\U0001F600\\q' }}|{{ \"x\" 'y' }}|{{ 'multi\nline' }}", [], {}),
    ("undefined_ops", "{{ nothing }}[{{ nothing|length }}]{{ nothing|trim }}{% for x in nothing %}no{% endfor %}{{ nothing is defined }}{{ messages[0].missing is defined }}{{ messages[0].missing }}|{{ not nothing }}{{ nothing == nothing }}{{ 'x' if nothing else 'y' }}{{ 'z' if nothing }}", M2, {}),
    ("strftime", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %A %B %j %H:%M:%S %%') }}", [], {}),
    ("raise_inline", "{% if messages|length > 1 %}{{ raise_exception('Too many: ' ~ messages|length) }}{% endif %}", M2, {}),
    ("ws_unicode", "a\u3000 {%- if true -%} \u00a0\n b {{- ' c ' }}\n{#- x #}\n\td {%- for i in [1] %}\n  {{ i }}\n  {%- endfor %}\n\t {% if true -%}\n e\n{%- endif %}  \n{% endif %}", [], {}),
    ("ws_blocks", "<\n{% for m in messages %}\n  {% if m.role == 'user' %}\n    U: {{ m.content }}\n  {% else %}\n    A\n  {% endif %}\n{% endfor %}\n>\n  {%- set x = 1 -%}\n  [{{ x }}]\n  {# c #}\n{%+ if true %} keep {% endif %}\n", M2, {}),
    ("floats", "{{ 0.5 }} {{ 2.0 }} {{ 1e15 }} {{ 1e16 }} {{ 12345678901234567.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }} {{ 1/3 }} {{ 2/3 }} {{ 100/7 }} {{ 3.0 * 1.1 }} {{ [0.1, 1e100, -2.5e-8]|tojson }} {{ 7.0 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -1 }} {{ 2 ** 0.5 }}", [], {}),
    ("repr_strings", "{{ [\"a'b\", 'a\"b', 'a\\'b\"c', 'back\\\\slash', 'nl\\n', 'tab\\t', '\\x01', 'é日🤖', ''] }} {{ {'k\\'': none, 1: 2, none: true} }} {{ messages }}", M2, {}),
    ("nested_loops", "{% for a in [1,2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }}{{ loop.previtem }}{{ loop.nextitem }},{% endfor %}{{ loop.index }};{% endfor %}{{ a is defined }}", [], {}),
    ("macro_scope", "{% set g = 'G' %}{% macro m(x, y=x ~ '!') %}{{ g }}{{ x }}{{ y }}{% set g = 'L' %}{{ g }}{% endmacro %}{{ m(1) }}{{ m(2, 3) }}{{ g }}{% for i in [1] %}{{ m(i) }}{% endfor %}", [], {}),
    ("list_ops", "{{ [1,2] + [3] }} {{ [1] * 3 }} {{ [[1,2],[3]]|length }} {{ messages|map(attribute='role')|list }} {{ {'role': 'user', 'content': messages[0].content} in messages }} {{ messages[0] == messages[0] }} {{ [1,2] == [1,2] }} {{ (1,2) == [1,2] }} {{ [1,2,3]|join }} {{ [3,2]|first }} {{ 'abc'|first }} {{ 'abc'|list }}", M2, {}),
    ("str_edge", "{{ ''.split(',') }} {{ ''.split() }} {{ 'a,b'.split(',', 0) }} {{ '  a b  '.split(None, 1) }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'abc'.replace('', '-') }} {{ 'ab'.strip('') }} {{ 'xAx'.lstrip('x') }}{{ 'xAx'.rstrip('x') }} {{ 'ß'.upper() }} {{ 'Straße'|length }} {{ 'a\\tb  c'.split() }} {{ 'x'.startswith('') }} {{ 'abc'.endswith('bc') }} {{ '日本語'[1] }} {{ '日本語'[-1:] }} {{ 'abc'[5:] }}|{{ 'abc'[:-5] }}|", [], {}),
    ("conditions", "{% if messages %}A{% elif false %}B{% else %}C{% endif %}{% if not messages %}A{% elif messages|length == 2 %}B{% else %}C{% endif %}{% if none %}{% elif 0 %}{% elif '' %}{% elif [] %}{% elif {} %}{% else %}E{% endif %}{{ 0 or 'x' }}{{ 1 and 'y' }}{{ '' and 'z' }}{{ none or none }}", M2, {}),
    ("set_ns_in_if", "{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'assistant' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}{% if true %}{% set top = 'T' %}{% endif %}{{ top }}{{ ns }}", M2, {}),
    ("tojson_args", "{{ {'b': [1, {'c': 'é'}], 'a': none}|tojson(indent=2) }}|{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ 'x\\u2028y\\\\\"'|tojson }}|{{ 5|tojson }}{{ true|tojson }}{{ none|tojson }}{{ 'a'|tojson }}", [], {}),
    ("items_filter", "{% for k, v in messages[0]|items %}{{ k }}:{{ v|trim }};{% endfor %}{% for k, v in {}|items %}x{% else %}none{% endfor %}", M2, {}),
    ("generation_block", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}\n  A: {{ m.content }}\n{% endgeneration %}{% else %}U: {{ m.content }}\n{% endif %}{% endfor %}", M2, {}),
    ("loop_scope", "{% set count = 0 %}{% for m in messages %}{{ count }}{% set count = count + 1 %}{{ count }}{% endfor %}{{ count }}|{% for m in messages %}{% if loop.first %}{% set first = m.role %}{% endif %}{{ first }}{% endfor %}|{% set x = 'outer' %}{% for m in messages %}{{ x }}{% set x = m.role %}{{ x }}{% endfor %}{{ x }}", M2, {}),
    ("macro_closure", "{% for m in messages %}{% macro f() %}{{ m.role }}{% endmacro %}{{ f() }}{% endfor %}|{% macro g() %}{{ messages|length }}{% endmacro %}{% set messages = [1] %}{{ g() }}", M2, {}),
    ("cond_expr_nested", "{{ 'a' if false else 'b' if true else 'c' }}{{ 1 if messages else 2 }}{{ (messages|length) - 1 }}{{ not true or true }}{{ not (true and false) }}{{ 'x' in ['x'] and 'y' not in ['x'] }}", M2, {}),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "shared", "data")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "tests", "chat", "renderings.json")
    tdir = os.path.join(data, "chat_templates")
    env = make_env()
    cases = []
    for fname in sorted(os.listdir(tdir)):
        if not fname.endswith(".jinja"):
            continue
        name = fname[:-len(".jinja")]
        with open(os.path.join(tdir, fname), encoding="utf-8") as f:
            source = f.read()
        tmpl = env.from_string(source)
        for cname, msgs, extra in CONVERSATIONS:
            for agp in (False, True):
                if cname == "assistant_prefill" and agp:
                    continue
                variables = dict(TOKENS[name])
                variables.update(extra)
                case = {"template": fname, "conversation": cname,
                        "add_generation_prompt": agp,
                        "messages": json.dumps(msgs, ensure_ascii=False),
                        "vars": json.dumps(variables, ensure_ascii=False)}
                ctx = {"tools": None, "documents": None}
                ctx.update(variables)
                try:
                    case["expected"] = tmpl.render(messages=msgs, add_generation_prompt=agp,
                                                   **ctx)
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    for name, source, msgs, extra in INLINE:
        for agp in (False, True):
            variables = dict(extra)
            case = {"inline": source, "conversation": name, "add_generation_prompt": agp,
                    "messages": json.dumps(msgs, ensure_ascii=False),
                    "vars": json.dumps(variables, ensure_ascii=False)}
            ctx = {"tools": None, "documents": None}
            ctx.update(variables)
            try:
                case["expected"] = env.from_string(source).render(
                    messages=msgs, add_generation_prompt=agp, **ctx)
            except jinja2.exceptions.TemplateError as e:
                case["error"] = str(e)
            cases.append(case)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/gen_chat_renderings.py", "jinja2": jinja2.__version__,
                   "fixed_date": FIXED_DATE, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("%d cases -> %s" % (len(cases), out))


if __name__ == "__main__":
    main()
