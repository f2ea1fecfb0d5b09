"""A deterministic ledger with one hot incident, in the import format, for benchmarks.

    python -m benchmarks.hot 100000 > claims.jsonl

Real coverage is uneven: one breaking incident takes a fifth of all claims,
from 800 claimants over 30 facts, while the rest of the ledger is ordinary
incidents covered as ``benchmarks.synthetic`` covers them (about 500 claims
and twenty claimants each). Reports span 60 days, the hot incident's crowded
into its first days as a story's are. A tenth of the claims carry a
``valid_time`` in one of the EDTF forms the importer accepts (sets, intervals,
open intervals, date-times with offsets, uncertain and approximate dates,
unspecified digits, seasons), in many distinct values; a fifth carry an Arabic
quote composed from varied phrases; 2% of claims are retracted and 2%
corrected (each claim ended at most once, by a report of its own incident at
least as late as its own). Counts carry every qualifier, and there are
ranges, time facts, text facts (in English and Arabic) and booleans.

The same size and seed always give the same bytes.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import synthetic
from benchmarks.synthetic import POOL

HOT = "hot"
"""The hot incident's id."""
SMALL = "inc-0"
"""An ordinary incident of the same ledger, measured beside the hot one."""
HOT_FACT = "killed.total"
"""The hot incident's busiest numeric fact."""
SEARCH_PHRASE = '"سجن غويران"'
"""An Arabic phrase (quoted: searched as a phrase) that many quotes contain."""

HOT_SHARE = 5
"""One claim in HOT_SHARE belongs to the hot incident."""
HOT_CLAIMANTS = 800
HOT_OUTLETS = 200
"""The hot incident's reports come from these many outlets (the first claimants)."""
DAYS = 60
START = datetime(2022, 1, 20, tzinfo=UTC)

COUNT_FACTS = (
    "killed.total",
    "killed.security_forces",
    "killed.isis",
    "killed.civilians",
    "killed.children",
    "injured",
    "injured.security_forces",
    "escaped",
    "recaptured",
    "detained",
    "arrested",
    "missing",
    "displaced",
    "hostages",
    "hostages.freed",
    "surrendered",
    "airstrikes",
    "vehicles.destroyed",
    "bodies.recovered",
    "attackers",
)
TIME_FACTS = ("attack.started", "attack.ended", "control.regained", "curfew.lifted")
TEXT_FACTS: dict[str, tuple[str, ...]] = {
    "control": ("sdf", "isis", "contested", "Coalition", "قسد"),
    "curfew.partial": ("from 18:00 to 06:00", "from 20:00 to 05:00", "lifted", "in force"),
    "perpetrator": ("isis", "sleeper cells", "unknown", "داعش"),
    "breach.location": ("north gate", "east wall", "البوابة الشمالية", "kitchen block"),
}
BOOLEAN_FACTS = ("escape.foiled", "curfew.full")
FACTS = (*COUNT_FACTS, *TIME_FACTS, *TEXT_FACTS, *BOOLEAN_FACTS)
"""The 30 facts; the first is the busiest (a tenth of the claims besides its share)."""
QUALIFIERS = (None, None, None, "exact", "approx", "at_least", "more_than", "at_most", "less_than")

_SPEAKERS = ("المرصد السوري", "مصدر أمني", "قوات سوريا الديمقراطية", "ناشطون", "مسؤول محلي")
_VERBS = ("قال إن", "أفاد بأن", "أكد أن", "ذكر أن", "نفى أن", "رجّح أن")
_SUBJECTS = ("عدد القتلى", "عدد الفارين", "حصيلة الاشتباكات", "عدد المعتقلين", "عدد الجرحى")
_PREDICATES = ("ارتفع إلى", "بلغ", "تجاوز", "لا يقل عن", "وصل إلى نحو")
_PLACES = ("في سجن غويران", "في حي الزهور", "قرب سجن الصناعة", "في الحسكة", "شمال شرق سوريا")
_TAILS = ("", " بحسب مصادر طبية", " حتى مساء اليوم", " وسط استمرار الاشتباكات", "")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _day(offset: int) -> str:
    return (START + timedelta(days=offset)).strftime("%Y-%m-%d")


def _days(rng: random.Random, count: int) -> list[str]:
    first = rng.randrange(-10, DAYS - 10)
    return [_day(first + step) for step in sorted(rng.sample(range(15), count))]


def _datetime(rng: random.Random) -> str:
    moment = START + timedelta(days=rng.randrange(-5, DAYS), seconds=rng.randrange(86_400))
    offset = rng.choice(("Z", "+03:00", "-05:30", "+02", "+05:45", ""))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + offset


def time_value(rng: random.Random) -> str:
    """An EDTF value that reads as a time (it starts with a digit, ``[``, ``{`` or ``..``)."""
    a, b, c = _days(rng, 3)
    month = a[:7]
    choices = (
        a,  # a plain day (the importer's fast path)
        f"{a}/{c}",
        f"[{a},{c}]",
        f"[{a},{b},{c}]",
        f"[{a}..{c}]",
        f"[{a},{b}..{c}]",
        f"{{{a},{c}}}",
        f"[..{c}]",
        f"[{a}..]",
        f"{a}/..",
        f"../{c}",
        f"{a}/",
        _datetime(rng),
        _datetime(rng),
        f"{a}?",
        f"{a}~",
        f"{a}%",
        f"{month}~",
        f"{month}?",
        f"{a[:4]}-?{a[5:]}",
        f"{a}?/{c}~",
        f"{month}/{c[:7]}",
        f"{month}-XX",
        f"{a[:4]}-XX",
        f"{a[:4]}-XX-XX",
        f"{a[:3]}X",
        f"{a[:4]}-{rng.choice(('21', '22', '23', '24'))}",  # a season
    )
    return rng.choice(choices)


def valid_time(rng: random.Random) -> str:
    """An EDTF ``valid_time``: every time form, and two that only a valid time accepts."""
    if rng.random() < 0.06:
        a = _days(rng, 1)[0]
        return rng.choice((f"/{a}", f"?{a}"))  # valid EDTF, read as text if given as a value
    return time_value(rng)


def quote(rng: random.Random, number: int) -> str:
    """An Arabic sentence of varied wording, sometimes with Arabic-Indic digits."""
    figure = str(number).translate(_ARABIC_DIGITS) if rng.random() < 0.3 else str(number)
    return (
        f"{rng.choice(_SPEAKERS)} {rng.choice(_VERBS)} {rng.choice(_SUBJECTS)} "
        f"{rng.choice(_PREDICATES)} {figure} {rng.choice(_PLACES)}{rng.choice(_TAILS)}"
    )


def _published(rng: random.Random, offset: float) -> str:
    """A ``published_at``: mostly UTC, some with an offset, a few dates alone."""
    moment = START + timedelta(days=offset)
    roll = rng.random()
    if roll < 0.04:
        return moment.strftime("%Y-%m-%d")
    if roll < 0.12:
        return (moment + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S") + "+03:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Plan:
    """The ledger's shape at one size: incidents, sources and each incident's reports."""

    def __init__(self, claims: int, rng: random.Random) -> None:
        self.rng = rng
        hot = -(-claims // HOT_SHARE)
        ordinary = claims - hot
        self.incidents = max(10, ordinary // 500)
        self.other_sources = max(20, claims // 2_000)
        self.sources = HOT_CLAIMANTS + self.other_sources
        per_incident = max(5, ordinary // 20 // self.incidents)
        self.reports: dict[str, list[dict[str, Any]]] = {HOT: []}
        for n, offset in enumerate(sorted(DAYS * rng.random() ** 2 for _ in range(hot // 10 + 5))):
            source = f"src-{int(HOT_OUTLETS * rng.random() ** 1.5)}"
            self.reports[HOT].append(self._report(f"hot-r{n}", source, offset))
        for i in range(self.incidents):
            start = rng.uniform(0, DAYS - 6)
            offsets = sorted(start + 6 * rng.random() ** 2 for _ in range(per_incident))
            self.reports[f"inc-{i}"] = [
                self._report(f"rep-{i}-{n}", self.covering(i, rng.randrange(POOL)), offset)
                for n, offset in enumerate(offsets)
            ]

    def _report(self, report: str, source: str, offset: float) -> dict[str, Any]:
        return {
            "type": "report",
            "id": report,
            "source": source,
            "published_at": _published(self.rng, offset),
            "language": "ar" if self.rng.random() < 0.5 else "en",
        }

    def covering(self, incident: int, member: int) -> str:
        """Member ``member`` (< 2 * POOL) of the sources covering an ordinary incident."""
        return f"src-{HOT_CLAIMANTS + (incident * 2 * POOL + member) % self.other_sources}"

    def claimant(self, incident: str) -> str | None:
        """Who a claim names as its claimant (None: the report's source speaks)."""
        rng = self.rng
        if incident == HOT:
            return f"src-{int(HOT_CLAIMANTS * rng.random() ** 2)}" if rng.random() < 0.7 else None
        if rng.random() < 0.5:
            return self.covering(int(incident[4:]), POOL + rng.randrange(POOL))
        return None


def _setup(plan: _Plan) -> Iterator[dict[str, Any]]:
    yield {"type": "incident", "id": HOT, "title": "Hot incident", "title_ar": "سجن غويران"}
    for i in range(plan.incidents):
        yield {"type": "incident", "id": f"inc-{i}", "title": f"Incident {i}", "place": f"P{i}"}
    for number in range(plan.sources):
        yield synthetic.source(number)
    for reports in plan.reports.values():
        yield from reports


def _value(rng: random.Random, fact: str) -> dict[str, Any]:
    """The value fields of a claim on ``fact``."""
    if fact in TIME_FACTS:
        return {"value": time_value(rng)}
    if fact in TEXT_FACTS:
        return {"value": rng.choice(TEXT_FACTS[fact])}
    if fact in BOOLEAN_FACTS:
        return {"value": rng.random() < 0.5}
    low = rng.randrange(1, 500)
    if rng.random() < 0.15:
        return {"value": {"min": low, "max": low + rng.randrange(0, 100)}}
    qualifier = rng.choice(QUALIFIERS)
    return {"value": low} if qualifier is None else {"value": low, "qualifier": qualifier}


def _claim(plan: _Plan, incident: str, fact: str, report: str) -> dict[str, Any]:
    """The fields of a claim (without type and id)."""
    rng = plan.rng
    record: dict[str, Any] = {"incident": incident, "fact": fact, **_value(rng, fact)}
    record["report"] = report
    if rng.random() < 0.1:
        record["valid_time"] = valid_time(rng)
    claimant = plan.claimant(incident)
    if claimant is not None:
        record["claimant"] = claimant
        if incident == HOT and rng.random() < 0.15:
            record["via"] = [f"src-{rng.randrange(HOT_CLAIMANTS, plan.sources)}"]
    if rng.random() < 0.2:
        number = record["value"] if type(record["value"]) is int else rng.randrange(1, 500)
        record["quote"] = quote(rng, number)
        if rng.random() < 0.5:
            record["translation"] = f"Sources said the toll reached {number}"
    if rng.random() < 0.05:
        record["credibility"] = rng.randrange(1, 7)
    return record


def records(claims: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Yield incidents, sources, reports, then claims, retractions and corrections.

    ``claims`` counts claims, retractions and corrections together, as in
    ``benchmarks.synthetic``; every fifth of them concerns the hot incident.
    """
    rng = random.Random(seed)
    plan = _Plan(claims, rng)
    yield from _setup(plan)
    ordinary = [f"inc-{i}" for i in range(plan.incidents)]
    # (claim number, incident, fact, index of its report): claims that may still be ended.
    open_claims: list[tuple[int, str, str, int]] = []
    for c in range(claims):
        incident = HOT if c % HOT_SHARE == 0 else rng.choice(ordinary)
        roll = rng.random()
        if open_claims and (roll < 0.02 or roll > 0.98):
            pick = rng.randrange(len(open_claims))
            ended, incident, fact, first = open_claims[pick]
            open_claims[pick] = open_claims[-1]  # remove in O(1): each claim ends once
            open_claims.pop()
            reports = plan.reports[incident]
            report = reports[rng.randrange(first, len(reports))]["id"]
            if roll < 0.02:
                yield {
                    "type": "retraction",
                    "id": f"ret-{c}",
                    "claim": f"clm-{ended}",
                    "report": report,
                }
                continue
            fields = _claim(plan, incident, fact, report)
            yield {"type": "correction", "id": f"cor-{c}", "claim": f"clm-{ended}", **fields}
            continue
        fact = HOT_FACT if rng.random() < 0.1 else rng.choice(FACTS)
        index = rng.randrange(len(plan.reports[incident]))
        record = _claim(plan, incident, fact, plan.reports[incident][index]["id"])
        open_claims.append((c, incident, fact, index))
        yield {"type": "claim", "id": f"clm-{c}", **record}


def write(claims: int, path: Path, seed: int = 7) -> tuple[int, int]:
    """Write the ledger of ``claims`` claims to ``path``; return (records, claims + corrections)."""
    count = claimed = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records(claims, seed):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            claimed += record["type"] in ("claim", "correction")
    return count, claimed


def main(argv: list[str]) -> int:
    return synthetic.write_records(argv, "benchmarks.hot", __doc__ or "", records)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
