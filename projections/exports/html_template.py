"""The Jinja2 template of the HTML report, kept in code so no package data is needed.

Rendered with autoescaping on. Data from the ledger appears only as escaped text
content: never in a ``<style>`` or an attribute (``lang``/``dir`` and the CSS classes
come from fixed tables in ``html_export``), but for the ``href`` of a report's,
an archived copy's or an assessment's address, which ``html_export.link`` admits
only when it is an http(s) URL (no ``javascript:``), escaped like any attribute.
No script, no external resource; the Content-Security-Policy forbids both anyway. Free text from the
ledger (names, titles, quotes, values, addresses) is set in a ``<bdi>`` element
(the ``bidi`` filter), so that its direction, or a bidi override hidden in it, never
reorders the text around it; in the ``<title>`` and the charts' SVG text, where no
such element may go, between FSI and PDI, Unicode's plain-text isolates. Ids and
fact keys are restricted to ASCII letters, digits and ``._:-`` when imported and
need neither.
"""

from __future__ import annotations

from typing import Any, Final

from markupsafe import Markup, escape

from incident_ledger.projections.arabic import is_arabic

CONTENT_SECURITY_POLICY: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def bidi(text: object, tag: str | None = None) -> Markup:
    """Free text in a ``<bdi>`` element, escaped, set right to left as Arabic when it
    holds Arabic script (else its direction is the browser's to find); inside ``tag``, a
    block element named by the template, when given. The template's ``bidi`` filter:
    as a macro, it was most of a million calls of Jinja's macro machinery in the report
    of a 200,000-claim incident."""
    shown = escape(text)
    arabic = is_arabic(text)
    if tag:
        direction = 'lang="ar" dir="rtl"' if arabic else 'dir="auto"'
        return Markup(f"<{tag} {direction}><bdi>{shown}</bdi></{tag}>")
    return Markup(f'<bdi lang="ar" dir="rtl">{shown}</bdi>' if arabic else f"<bdi>{shown}</bdi>")


def leaf_cell(leaf: Any, signed: object) -> Markup:
    """A record's leaf cell (its index and hash) in a signed report; nothing otherwise.
    The template's ``leaf_cell`` filter, for the same reason as ``bidi``."""
    if not signed:
        return Markup("")
    if not leaf:
        return Markup('<td class="leaf"></td>')
    return Markup(
        f'<td class="leaf"><code>{escape(leaf.index)}</code>\n'
        f'<code class="hash">{escape(leaf.hash)}</code></td>'
    )


REPORT_TEMPLATE: Final = """\
{%- macro leaf_head() -%}{% if signed %}<th>Leaf</th>{% endif %}{%- endmacro -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Incident ledger report: \u2068{{ title }}\u2069</title>
<style>
body { font: 15px/1.45 system-ui, "Noto Sans", "Noto Naskh Arabic", sans-serif;
       margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem; color: #1b1b1b; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 2px solid #1b1b1b; margin-top: 2.5rem; }
h3 { margin-top: 1.8rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
/* Words are never broken: a column is as wide as its longest word, and a table wider
   than the page scrolls sideways in its own box. */
th, td { border: 1px solid #c8c8c8; padding: .3rem .45rem; text-align: start;
         vertical-align: top; overflow-wrap: normal; word-break: normal; hyphens: manual; }
.wide { overflow-x: auto; }
th { background: #f0f0f0; }
tr.contested td { background: #fff3e0; }
.status { font-weight: 600; white-space: nowrap; }
.status-contested { color: #a33b00; }
.status-corroborated { color: #00663d; }
.status-withdrawn { color: #6b6b6b; text-decoration: line-through; }
.claim-retracted, .claim-corrected, .claim-superseded { color: #6b6b6b; }
.muted { color: #5c5c5c; }
ul.positions { margin: 0; padding-inline-start: 1.1rem; }
[lang="ar"] { font-size: 1.08em; }
blockquote { margin: .3rem 0; padding: .3rem .6rem; border-inline-start: 4px solid #c77800;
             background: #fafafa; }
article.contested { border: 2px solid #c77800; border-radius: 6px; padding: .4rem 1rem;
                    margin: .8rem 0; }
figure { margin: 1rem 0 2rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg { max-width: 100%; height: auto; }
svg text { font-family: system-ui, "Noto Sans", "Noto Naskh Arabic", sans-serif !important; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
code { font-size: .9em; }
code.hash { display: block; font-size: .7em; color: #5c5c5c; }
td.leaf { min-width: 7rem; }
/* Ids and dates are never split (a browser breaks "report-000" at its hyphen);
   quotes get room enough to be read in lines, not a word a line. */
td code, .when { white-space: nowrap; }
td.quote { min-width: 24rem; }
</style>
</head>
<body>
<header>
<h1>Incident ledger report</h1>
<p>Understanding as known at <strong>{{ known_at }}</strong> (claims from reports published by
then; retractions, corrections and assessments likewise).
{%- if reviewed_only %} The reviewed view: a reporter's proposals count only once an editor
approved them.{% elif proposals %} The desk's current work: a reporter's
proposals still waiting for review count too, marked <em>proposed</em>.{% endif %} Entry errors
{%- if proposals %} and rejected proposals{% endif %} count nowhere.</p>
</header>
{% for incident in incidents %}
<section class="incident">
<h2>{{ incident.title|bidi }}</h2>
{% if incident.title_ar %}<p>{{ incident.title_ar|bidi }}</p>{% endif %}
<dl>
<dt>Incident</dt><dd><code>{{ incident.id }}</code></dd>
{% if incident.leaf %}<dt>Leaf</dt><dd><code>{{ incident.leaf.index }}</code>
<code class="hash">{{ incident.leaf.hash }}</code></dd>{% endif %}
{% if incident.place %}<dt>Place</dt><dd>{{ incident.place|bidi }}</dd>{% endif %}
{% for relation in incident.related %}
<dt>Related</dt><dd>{{ relation.relation|bidi }}: <code>{{ relation.related }}</code></dd>
{% endfor %}
<dt>Claims known</dt><dd>{{ incident.claims_known }}</dd>
</dl>

<h3>Contested facts</h3>
{% for fact in incident.facts if fact.contested %}
<article class="contested">
<h4><code>{{ fact.fact }}</code>: {{ fact.value|bidi }}</h4>
{%- if fact.status_review %}
<p class="status {{ fact.status_class }}">{{ fact.status }} <em>({{ fact.status_review }})</em></p>
{%- endif %}
{% if fact.summary %}<p>{{ fact.reason|bidi }}</p>
<p class="muted">{{ fact.summary|bidi }}; the {{ fact.positions|length }}
below first, those in conflict leading.</p>{% endif %}
<ul>
{% for position in fact.positions %}
<li><strong>{{ position.claimant|bidi }}</strong> says {{ position.value|bidi }}
<span class="muted">({{ position.outlet|bidi }}, <span class="when">{{ position.published }}</span>
{%- if position.via %}, via {{ position.via|bidi }}{% endif %}; claim
<code>{{ position.claim }}</code>
{%- if position.review %}, <em>{{ position.review }}</em>{% endif %})</span>
{% if position.quote %}{{ position.quote|bidi("blockquote") }}{% endif %}
{% if position.translation %}<p class="muted">{{ position.translation|bidi }}</p>{% endif %}
</li>
{% endfor %}
{%- for line in fact.ended %}
<li><em>{{ line|bidi }}</em></li>
{%- endfor %}
{% if fact.more %}<li class="muted">and {{ fact.more }} more position{{ "s" if fact.more > 1 }}
(the appendix lists every claim)</li>{% endif %}
</ul>
</article>
{% else %}
<p class="muted">No fact is contested at this time.</p>
{% endfor %}

<h3>State at {{ known_at }}</h3>
{% if incident.facts %}
<div class="wide"><table class="state">
<thead><tr><th>Fact</th><th>Status</th><th>Value</th><th>Who says what</th></tr></thead>
<tbody>
{% for fact in incident.facts %}
<tr class="{{ fact.row_class }}">
<td><code>{{ fact.fact }}</code></td>
<td class="status {{ fact.status_class }}">{{ fact.status }}
{%- if fact.status_review %} <em>({{ fact.status_review }})</em>{% endif %}
{%- if fact.summary %}<br><span class="muted">{{ fact.reason|bidi }}</span>{% endif %}</td>
<td>{{ fact.value|bidi }}</td>
<td>{% if not fact.positions
    and not fact.ended %}<span class="muted">no active claim: every claim was
retracted or corrected</span>{% endif %}
{% if fact.summary %}{{ fact.summary|bidi }}{% if not fact.contested %}
<span class="muted">(the appendix lists every claim)</span>{% else %}
<span class="muted">(listed under Contested facts)</span>{% endif %}
{% else %}<ul class="positions">
{% for position in fact.positions %}
<li><strong>{{ position.claimant|bidi }}</strong>: {{ position.value|bidi }}
{%- if position.via %} <span class="muted">(via {{ position.via|bidi }})</span>{% endif %}
<span class="muted">· {{ position.outlet|bidi }},
<span class="when">{{ position.published }}</span>
{%- if position.review %}, <em>{{ position.review }}</em>{% endif %}</span></li>
{% endfor %}
</ul>{% endif %}
{%- for line in fact.ended %}<div><em>{{ line|bidi }}</em></div>{% endfor %}</td>
</tr>
{% endfor %}
</tbody>
</table></div>
{% else %}
<p class="muted">No claims were known at this time.</p>
{% endif %}

{% if incident.desk %}
<h3>The desk's notes, reviews and entry errors</h3>
<ul class="desk">
{% for entry in incident.desk %}
<li><code>{{ entry.record }}</code>: {{ entry.words|bidi }}
<span class="muted">(recorded <span class="when">{{ entry.recorded }}</span>)</span></li>
{% endfor %}
</ul>
{% endif %}

<h3>Numeric facts over known time</h3>
<p class="muted">One chart per numeric fact: each claimant's position from the moment it was
published, as it stood whenever a claim, retraction or correction became known. A line is the
lower bound of a claimant's position, shaded up to its upper bound; a triangle marks a claim
with no upper bound ("at least", "more than"); the grey band is the range of all positions.
When many sources claimed a fact, the {{ top }} with the most claims on it have a line each and
the others share one hatched band, from the lowest to the highest of their positions. A source
has the same colour and line in every chart.</p>
{% for chart in incident.charts %}
<figure>
<figcaption><code>{{ chart.fact }}</code>{% if chart.unit %} ({{ chart.unit }}){% endif %}
</figcaption>
{{ chart.svg }}
</figure>
{% else %}
<p class="muted">No numeric facts.</p>
{% endfor %}

</section>
{% endfor %}

<section>
<h2>Sources</h2>
<div class="wide"><table class="sources">
<thead><tr><th>Source</th><th>Arabic name</th><th>Kind</th><th>Grade</th>
<th>Claims made</th>{{ leaf_head() }}</tr></thead>
<tbody>
{% for source in sources %}
<tr>
<td>{{ source.name|bidi }} <span class="muted">(<code>{{ source.id }}</code>)</span></td>
<td>{% if source.name_ar %}{{ source.name_ar|bidi }}{% endif %}</td>
<td>{{ source.kind }}</td>
<td>{{ source.grade }}</td>
<td>{{ source.claims }}</td>
{{ source.leaf|leaf_cell(signed) }}
</tr>
{% endfor %}
</tbody>
</table></div>
<p class="muted">Grade: Admiralty source reliability, A (reliable) to F (cannot be judged);
"claims made" counts the claims known at this time with the source as claimant.</p>
</section>

<section>
<h2>Reports</h2>
<div class="wide"><table class="reports">
<thead><tr><th>Report</th><th>Outlet</th><th>Published</th><th>Title</th><th>Address</th>
<th>SHA-256</th>{{ leaf_head() }}</tr></thead>
<tbody>
{% for report in reports %}
<tr>
<td><code>{{ report.id }}</code></td>
<td>{{ report.outlet|bidi }}</td>
<td class="when">{{ report.published }}</td>
<td>{% if report.title %}{{ report.title|bidi }}{% endif %}</td>
<td>{% if report.link %}<a href="{{ report.link }}" rel="noopener noreferrer nofollow">
{{- report.url|bidi }}</a>
{%- elif report.url %}<code>{{ report.url|bidi }}</code>{% endif %}
{%- if report.archive %}<br><a href="{{ report.archive }}"
 rel="noopener noreferrer nofollow">archived copy</a>{% endif %}
{%- for c in report.captures %}<br><a href="evidence/{{ c.sha256 }}">captured copy
 ({{ c.kind }})</a>{% endfor %}</td>
<td>{% if report.sha256 %}<code class="sha">{{ report.sha256 }}</code>{% endif %}</td>
{{ report.leaf|leaf_cell(signed) }}
</tr>
{% endfor %}
</tbody>
</table></div>
{% if reports|selectattr("captures")|list %}<p class="muted">A captured copy opens only when
this page is inside a bundle exported with its captured files (beside it,
<code>evidence/</code>).</p>{% endif %}
</section>

{% if assessments %}
<section>
<h2>Assessments</h2>
<div class="wide"><table class="assessments">
<thead><tr><th>Claim</th><th>Verdict</th><th>By</th><th>Published</th><th>Address</th>
<th>Note</th>{{ leaf_head() }}</tr></thead>
<tbody>
{% for assessment in assessments %}
<tr>
<td><code>{{ assessment.claim }}</code>
{%- if assessment.claim_review %}<br><em>claim {{ assessment.claim_review }}</em>{% endif %}</td>
<td>{{ assessment.verdict }}
{%- if assessment.review %}<br><em>{{ assessment.review }}</em>{% endif %}</td>
<td>{{ assessment.by|bidi }}</td>
<td class="when">{{ assessment.published }}</td>
<td>{% if assessment.link %}<a href="{{ assessment.link }}" rel="noopener noreferrer nofollow">
{{- assessment.url|bidi }}</a>
{%- elif assessment.url %}<code>{{ assessment.url|bidi }}</code>{% endif %}</td>
<td>{% if assessment.note %}{{ assessment.note|bidi }}{% endif %}</td>
{{ assessment.leaf|leaf_cell(signed) }}
</tr>
{% endfor %}
</tbody>
</table></div>
</section>
{% endif %}

<section class="appendix">
<h2>Appendix: every claim known at {{ known_at }}</h2>
{% for incident in incidents %}
<h3>{{ incident.title|bidi }}</h3>
<div class="wide"><table class="claims">
<thead><tr><th>Claim</th><th>Fact</th><th>Claimant</th><th>Value</th><th>Status</th>
<th>Published</th><th>Quote</th><th>Recorded by</th>{{ leaf_head() }}</tr></thead>
<tbody>
{% for claim in incident.claims %}
<tr class="claim-{{ claim.status_class }}">
<td><code>{{ claim.id }}</code></td>
<td><code>{{ claim.fact }}</code></td>
<td>{{ claim.claimant|bidi }}
{%- if claim.via %} <span class="muted">via {{ claim.via|bidi }}</span>{% endif %}</td>
<td>{{ claim.value|bidi }}</td>
<td>{{ claim.status }}{% if claim.end_review %} (<em>{{ claim.end_review }}</em>){% endif %}
{%- if claim.review %}<br><em>{{ claim.review }}</em>{% endif %}</td>
<td class="when">{{ claim.published }}</td>
<td class="quote">{% if claim.quote %}{{ claim.quote|bidi("div") }}{% endif %}
{% if claim.translation %}<div class="muted">{{ claim.translation|bidi }}</div>{% endif %}</td>
<td>{{ claim.recorded_by|bidi }}</td>
{{ claim.leaf|leaf_cell(signed) }}
</tr>
{% endfor %}
</tbody>
</table></div>
{% endfor %}
</section>

<section>
<h2>Checkpoint</h2>
{% if signed %}
<p>The signed tree head this export was made against: log <code>{{ signed.origin }}</code>
at size {{ signed.size }}, root <code>{{ signed.root }}</code>.</p>
<pre>{{ signed.note }}</pre>
<p>Each record's <em>Leaf</em> is where the event that created it is in that log: its
index and its leaf hash (hex), SHA-256 of a zero byte followed by the event's line in the
JSONL bundle of the same ledger. A status, a grade or a value shown here is worked out from
the events; the leaf names only the record's own event.</p>
{% if signed.verifier %}<p>Verifier key: <code>{{ signed.verifier }}</code></p>{% endif %}
<p>To check this report, with the JSONL bundle of the same checkpoint (the desk's
<code>ledger export --format jsonl --out bundle</code>) and incident-ledger installed:</p>
<pre>ledger verify --export bundle --key '{{ signed.verifier or "VERIFIER KEY" }}'
sed -n "$((LEAF + 1))p" bundle/leaves.jsonl | head -c -1 > event  # LEAF: a record's leaf index
(head -c 1 /dev/zero; cat event) | sha256sum    # its leaf hash, as shown beside it</pre>
{% else %}
<p class="muted">No checkpoint was supplied with this export.</p>
{% endif %}
</section>
</body>
</html>
"""
