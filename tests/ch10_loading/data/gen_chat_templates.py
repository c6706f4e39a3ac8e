#!/usr/bin/env python3
# Writes chat_templates.json: chat templates, conversations and the text Python jinja2 renders
# for them under Hugging Face's settings (ImmutableSandboxedEnvironment, trim_blocks,
# lstrip_blocks) — the expected outputs of tests/ch10_loading/chat_template_test.cpp.
# Needs `pip install jinja2` once, to regenerate; the test itself reads only the JSON.
#   python3 gen_chat_templates.py chat_templates.json
SMOLLM2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
MISTRAL = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
GEMMA = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
PHI3 = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}"
# A multi-line template with indentation, comments, namespace, filters, tests and methods.
FANCY = """{#- A made-up template exercising the subset -#}
{%- set ns = namespace(system='', n=0) -%}
{%- for m in messages -%}
    {%- if m.role == 'system' -%}
        {%- set ns.system = m.content | trim -%}
    {%- else -%}
        {%- set ns.n = ns.n + 1 -%}
    {%- endif -%}
{%- endfor %}
{% if ns.system %}
    [SYSTEM] {{ ns.system | upper }}
{% endif %}
{% for m in messages if true is true %}{% endfor %}
"""
FANCY = FANCY.replace("{% for m in messages if true is true %}{% endfor %}\n", "")
FANCY += """{% for m in messages %}
  {% if m.role != 'system' %}
    {{ loop.index }}/{{ loop.length }} {{ m['role'] ~ ': ' ~ m.content.strip() }}{% if not loop.last %},{% endif %}

  {% endif %}
{% endfor %}
{{- 'turns=' ~ ns.n ~ ' rev=' ~ messages[-1].role[1:] if false else '' -}}
{{ '' if messages|length > 3 else 'short' }} {{ messages | length }} {{ 'yes' if 'user' in messages[0]['role'] else 'no' }}
{% if bos_token is defined and bos_token is string %}bos={{ bos_token }}{% endif %} {{ undefined_var }}|{{ undefined_var is defined }}|{{ none_thing is none }}
{{ messages[0].content[:5] }}|{{ messages[0].content[-3:] }}|{{ messages[1:2] | length }}|{{ (messages|last).role }}|{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 * 3 + 1 }} {{ 'ab' * 2 }}
{{ 'a' ~ 1 ~ true ~ none }} {{ [1, 2, 'x'] }} {{ "it's" }} {{ 'say "hi"' }} {{ ['a', "b'c"] | join('-') }}
{% for c in 'héllo' %}{{ c }}.{% endfor %} {{ 'héllo' | length }} {{ 'Hello World'.lower() }} {{ 'hello'.startswith('he') }} {{ 'a,b'.replace(',', ';') }}
{%+ if true %}  kept{% endif %}
   {%- if true %} stripped-left{% endif %}
{{ "tab\\there" }} {{ '\\u00e9\\x41' }} {{ 'x' 'y' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 4 }} {{ not 0 and 1 or 5 }}
{{ messages[0].get('role') }} {{ messages[0].get('missing', 'dflt') }} {{ messages[0].missing | default('D') }} {{ '' | default('E', true) }}
{% for k in messages[0] %}{{ k }} {% endfor %}{% for m in [] %}x{% else %}empty-loop{% endfor %}
"""
# Whitespace-control corner cases (render under both settings).
WS = """a
  {% if true %}
    b
  {% endif %}
c {# comment #}
  {#- c2 -#}
d {{- ' e ' -}} f
   {%- for i in [1,2] %}
 i={{ i }}
{%- endfor %}
{% if true -%}
   g
{%- endif %}
{%+ if true %}h{% endif %}
{% if true +%}
i
{% endif %}
end
"""
TEMPLATES = {"smollm2": SMOLLM2, "chatml": CHATML, "llama2": LLAMA2, "zephyr": ZEPHYR,
             "mistral": MISTRAL, "gemma": GEMMA, "llama3": LLAMA3, "phi3": PHI3, "fancy": FANCY,
             "whitespace": WS}

CONVERSATIONS = {
    "user_only": [{"role": "user", "content": "Hello!"}],
    "system_user": [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [{"role": "user", "content": " Hi there "}, {"role": "assistant", "content": "Hello! How can I help?\n"},
                   {"role": "user", "content": "Tell me a joke about “unicode” – é 中文 🙂"}],
    "system_multi": [{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "Arr!"}, {"role": "user", "content": "Where is the treasure?\n\n"}],
    "bad_order": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
}

# Small templates, each rendered with one conversation (system_multi).
MISC = [
    "{% set x = 1 %}{% for m in messages %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
    "{% for m in messages %}{% for c in m.role %}{{ loop.index }}{% endfor %}:{{ loop.index }} {% endfor %}",
    "{{ messages[5] }}|{{ messages[5] is defined }}|{{ messages[0]['nope'] }}",
    "{{ messages[5].role }}",
    "{% macro f() %}x{% endmacro %}",
    "{{ 1 / 2 }}",
    "{{ 'a' + 1 }}",
    "{% if %}{% endif %}",
    "{% for m in messages %}",
    "{{ 'unterminated }}",
    "{{ foo(1) }}",
    "{{ messages | tojson }}",
    "{{ raise_exception('boom: ' ~ messages|length) }}",
    "{%- for m in messages -%}\n  {{- m.role | capitalize }}{{ ', ' if not loop.last }}\n{%- endfor -%}",
    "{% if messages|length is odd %}odd{% elif messages|length is even %}even{% else %}?{% endif %}",
    "{{ messages[0].content.split() if false else messages[0].content.lstrip('You ').rstrip('.') }}",
    "{{ messages|map(attribute='role')|join(',') }}",
    "{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ loop.nextitem.role if loop.nextitem is defined else '-' }} {% endfor %}",
    "{% set ns = namespace(a=[]) %}{% set ns.a = ns.a + [1] %}{{ ns.a }}{% set d = messages[0] %}{% set d.x = 1 %}",
    "{{ 'x' if messages else 'y' }}{{ 'z' if [] }}!{{ none }}{{ true }}{{ -(3) }}{{ - 3 + + 4 }}",
    "{{ messages[1:][0].role }} {{ messages[:-2]|length }} {{ messages[-99:99]|length }} {{ 'abc'[1] }}{{ 'abc'[-1] }}{{ 'abc'[5] }}",
    "{{ 'a' < 'b' }} {{ 2 >= 2 }} {{ 'x' in ['x', 'y'] }} {{ 'q' not in 'abc' }} {{ 'role' in messages[0] }} {{ none == none }} {{ 1 == true }} {{ [1] == [1] }}",
    "line1\r\nline2\r\n{% if true %}\r\nline3\r\n{% endif %}\r\n",
    "  {% if true %}x{% endif %}   {%- if true %}y{% endif %} \n\t{%+ if true %}z{% endif %}",
    "{{ \"\\x41\\101\\q\\'\" }}",
]


# ---------------------------------------------------------------------------------------------
# Constructs outside the interpreter's subset: the C++ side must refuse them with llm::Error.
UNSUPPORTED = {"{% macro f() %}x{% endmacro %}", "{{ 1 / 2 }}", "{{ messages | tojson }}",
               "{{ messages|map(attribute='role')|join(',') }}"}

import json
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(msg):
    raise jinja2.exceptions.TemplateError(msg)


def render(tmpl, msgs, agp, hf, bos="<s>", eos="</s>"):
    env = (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) if hf
           else ImmutableSandboxedEnvironment())
    env.globals["raise_exception"] = raise_exception
    try:
        return {"ok": env.from_string(tmpl).render(messages=msgs, add_generation_prompt=agp,
                                                   bos_token=bos, eos_token=eos)}
    except Exception as e:  # the C++ side must throw llm::Error too
        return {"error": type(e).__name__ + ": " + str(e)}


def case(tn, cn, agp, hf):
    tmpl = TEMPLATES[tn]
    exp = ({"unsupported": True} if tmpl in UNSUPPORTED
           else render(tmpl, CONVERSATIONS[cn], agp, hf))
    return {"template": tn, "conversation": cn, "add_generation_prompt": agp, "hf": hf,
            "expected": exp}


def main():
    for i, t in enumerate(MISC):
        TEMPLATES[f"misc{i}"] = t
    cases = []
    for tn in TEMPLATES:
        convs = ["system_multi"] if tn.startswith("misc") else list(CONVERSATIONS)
        for cn in convs:
            for agp in (True, False) if not tn.startswith("misc") else (True,):
                for hf in ((True, False) if tn in ("whitespace", "zephyr", "fancy") else (True,)):
                    cases.append(case(tn, cn, agp, hf))
    doc = {"bos_token": "<s>", "eos_token": "</s>", "templates": TEMPLATES,
           "conversations": CONVERSATIONS, "cases": cases}
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(len(cases), "cases written to", sys.argv[1], "with jinja2", jinja2.__version__)


if __name__ == "__main__":
    main()
