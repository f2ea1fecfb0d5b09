"""The HTML report's filters write what the template's macros wrote, for any text.

``bidi`` and ``leaf_cell`` were Jinja macros; as Python filters they cost the report of a
hot incident far less (a million macro calls). The macros are kept here as the reference.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import jinja2
from hypothesis import given
from hypothesis import strategies as st

from incident_ledger.projections.arabic import is_arabic
from incident_ledger.projections.exports.html_template import bidi, leaf_cell

MACROS = """\
{%- macro bidi(text, tag=none) -%}
{%- if tag and text is arabic -%}
<{{ tag }} lang="ar" dir="rtl"><bdi>{{ text }}</bdi></{{ tag }}>
{%- elif tag -%}
<{{ tag }} dir="auto"><bdi>{{ text }}</bdi></{{ tag }}>
{%- elif text is arabic -%}
<bdi lang="ar" dir="rtl">{{ text }}</bdi>
{%- else -%}
<bdi>{{ text }}</bdi>
{%- endif -%}
{%- endmacro -%}
{%- macro leaf_cell(leaf) -%}
{% if signed %}<td class="leaf">{% if leaf %}<code>{{ leaf.index }}</code>
<code class="hash">{{ leaf.hash }}</code>{% endif %}</td>{% endif %}
{%- endmacro -%}
"""


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.tests["arabic"] = is_arabic
    environment.filters["bidi"] = bidi
    environment.filters["leaf_cell"] = leaf_cell
    return environment


ENVIRONMENT = _environment()
BY_MACRO = ENVIRONMENT.from_string(MACROS + "{{ bidi(text, tag) }}|{{ leaf_cell(leaf) }}")
BY_FILTER = ENVIRONMENT.from_string(
    "{% if tag %}{{ text|bidi(tag) }}{% else %}{{ text|bidi }}{% endif %}|"
    "{{ leaf|leaf_cell(signed) }}"
)

texts = st.one_of(
    st.text(),
    st.text(alphabet="<>&\"'َُِ ابتسجن غويران\u202e\u2066x0"),
    st.none(),
    st.integers(),
)
leaves = st.one_of(
    st.none(),
    st.builds(
        SimpleNamespace, index=st.integers(0, 10**9), hash=st.text(alphabet="0123456789abcdef<")
    ),
)


@given(
    text=texts,
    tag=st.sampled_from([None, "div", "blockquote"]),
    leaf=leaves,
    signed=st.sampled_from([None, {"size": 3}]),
)
def test_the_filters_write_what_the_macros_wrote(
    text: Any, tag: str | None, leaf: Any, signed: Any
) -> None:
    given = {"text": text, "tag": tag, "leaf": leaf, "signed": signed}
    assert BY_FILTER.render(given) == BY_MACRO.render(given)


def test_text_is_escaped_and_set_by_its_script() -> None:
    assert str(bidi("<b>&")) == "<bdi>&lt;b&gt;&amp;</bdi>"
    assert str(bidi("سجن غويران", "div")) == (
        '<div lang="ar" dir="rtl"><bdi>سجن غويران</bdi></div>'
    )
    assert str(bidi("x", "blockquote")) == '<blockquote dir="auto"><bdi>x</bdi></blockquote>'
