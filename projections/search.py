"""Arabic-aware full-text search over the read model's ``search_index``.

The index holds every quote, translation and note of a claim, every incident
title (English and Arabic) and every report title, in the search form of
:func:`projections.arabic.normalize` (no tashkeel or tatweel; أ إ آ ٱ → ا,
ى → ي, ة → ه; Arabic-Indic and Persian digits → 0–9), tokenized by SQLite's
``unicode61`` with diacritics removed. A query is normalized the same way, so
"قُتِلَ ٢٠" finds "قتل 20" and "الحسكه" finds "الحسكة".

User input never reaches ``MATCH`` as syntax. The query is cut into terms —
each "quoted phrase" (ASCII, “curly” or «guillemet» quotes) and each
whitespace-separated word — and every term is written as an FTS5 string,
``"term"``, which FTS5 only tokenizes: ``*``, ``(``, ``-``, ``:``, ``^``,
``NEAR``, ``AND``/``OR``/``NOT`` are plain text there. A term with no letter or
digit (a lone ``*`` or ``،``) is dropped; a query with no term left is bad input.

Matching and ranking: a hit contains every term (a quoted phrase as a phrase).
Hits that contain the whole query as one contiguous phrase come first, then the
others; within each tier, ``bm25(search_index)``. Two tiers rather than a
weight because bm25 scores are unbounded and depend on the corpus (a short
text repeating the words scattered can outscore a long one holding the exact
phrase): no fixed bonus guarantees that an exact phrase wins, a tier does.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Any

from incident_ledger.ledger.errors import BadInputError
from incident_ledger.projections.arabic import normalize
from incident_ledger.projections.desk_rules import claim_standing
from incident_ledger.projections.incidents import require_incident
from incident_ledger.projections.positions import END_OF_TIME

DEFAULT_LIMIT = 20
_MOST = 2**63 - 1
"""The largest limit SQLite takes: a larger one asks for every hit as well (it was an
``OverflowError`` binding it)."""
SNIPPET_TOKENS = 16
OPEN, CLOSE = "[", "]"

# Typographic quotes people type for a phrase, Arabic guillemets included.
_QUOTES = str.maketrans({q: '"' for q in "“”„«»"})
# Private markers for highlight(): control characters that texts do not hold.
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"
_MARKED = re.compile(f"{_MARK_OPEN}(.*?){_MARK_CLOSE}", re.DOTALL)


@dataclass(frozen=True)
class Query:
    """A parsed search query: its terms and the two safe FTS5 expressions."""

    text: str
    terms: tuple[str, ...]

    @property
    def all_terms(self) -> str:
        """Every term must occur (implicit AND of quoted strings)."""
        return " AND ".join(_fts_string(term) for term in self.terms)

    @property
    def phrase(self) -> str:
        """The whole query as one contiguous phrase."""
        return _fts_string(" ".join(self.terms))


def _fts_string(text: str) -> str:
    """An FTS5 string literal: FTS5 tokenizes it and reads none of it as syntax."""
    return '"' + text.replace('"', '""') + '"'


def _has_word(text: str) -> bool:
    """Does the text hold a character unicode61 makes a token of (a letter, digit or Co)?"""
    return any(
        unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Co" for ch in text
    )


def parse_query(text: str) -> Query:
    """Normalize a user's query and cut it into words and "quoted phrases".

    Raises :class:`BadInputError` when nothing searchable is left.
    """
    # Control characters (NUL ends an SQLite string early) separate words like spaces.
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    pieces = normalize(cleaned).translate(_QUOTES).split('"')
    terms: list[str] = []
    for index, piece in enumerate(pieces):
        # Odd pieces sit between quotes (an unclosed quote runs to the end): phrases.
        chunks = [" ".join(piece.split())] if index % 2 else piece.split()
        terms.extend(chunk for chunk in chunks if _has_word(chunk))
    if not terms:
        raise BadInputError('the search query has no words: give a word or a "quoted phrase"')
    return Query(text, tuple(terms))


def prepare(text: str, limit: int) -> Query:
    """Check a search request before any lookup: the parsed query, or BadInputError."""
    if limit < 1:
        raise BadInputError("{limit} must be at least 1", arguments=("limit",))
    return parse_query(text)


_SEARCH = f"""
WITH top AS MATERIALIZED (
    SELECT s.rowid AS hit,
           {{exact}} AS exact,
           bm25(search_index) AS score
    FROM search_index s
    WHERE search_index MATCH :all
      AND (:incident IS NULL
           OR s.rowid IN (SELECT row FROM search_incidents WHERE incident = :incident)
           -- report titles have no incident: keep those of reports carrying its claims
           OR s.rowid IN (SELECT row FROM search_reports) AND EXISTS (
               SELECT 1 FROM search_reports r JOIN claims c ON c.report = r.report
               WHERE r.row = s.rowid AND c.incident = :incident))
    ORDER BY exact DESC, score, s.rowid
    LIMIT :limit
)
SELECT top.hit, s.kind, s.ref, s.incident, s.field, s.original, top.exact, top.score,
       snippet(search_index, 0, :open, :close, '…', {SNIPPET_TOKENS}) AS snippet,
       highlight(search_index, 0, '{_MARK_OPEN}', '{_MARK_CLOSE}') AS marked,
       c.fact, c.claimant, c.report
FROM top
CROSS JOIN search_index s ON s.rowid = top.hit
LEFT JOIN claims c ON s.kind = 'claim' AND c.id = s.ref
WHERE search_index MATCH :all
ORDER BY top.exact DESC, top.score, top.hit
"""
"""The hits are ranked first, then only those shown get their snippet and highlights
(each a look-up of the full-text index by rowid): a phrase common in a hot incident
matched 39,000 texts, and making a snippet of each before keeping twenty cost most of
the search. Within one incident, the texts are those the index of its rows names
(``views.SEARCH_SCOPES``), not read one by one; the titles of reports are few, and
each is looked up by its row (the plain ``IN`` over ``search_reports`` reads that
table's own key)."""

_EXACT = "s.rowid IN (SELECT rowid FROM search_index WHERE search_index MATCH :phrase)"
"""Whether a hit holds the whole query as one phrase. A query of one term (a word or one
quoted phrase) is its own phrase: every hit holds it, and matching it again for each of
thousands of hits would be wasted."""
_SEARCHES = {True: _SEARCH.format(exact="1"), False: _SEARCH.format(exact=_EXACT)}


def search(
    db: sqlite3.Connection,
    text: str,
    *,
    incident: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Search the read model; returns the parsed query and its ranked hits.

    Each hit has its rank, kind (claim, incident, report), ref (that record's
    id), incident, field, ``exact_phrase``, the FTS5 snippet of the normalized
    text with ``[``/``]`` around matches, the ``original`` text and the
    ``highlights`` — ``[start, end)`` character offsets of the matches in
    ``original``. Claim hits add fact, claimant and report, and how the claim stands
    (``desk_rules.claim_standing``: voided, ended, or a proposal waiting).
    """
    query = prepare(text, limit)
    if incident is not None:
        require_incident(db, incident)
    params = {
        "all": query.all_terms,
        "phrase": query.phrase,
        "incident": incident,
        "limit": min(limit, _MOST),
        "open": OPEN,
        "close": CLOSE,
    }
    cursor = db.execute(_SEARCHES[len(query.terms) == 1], params)
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, values, strict=True)) for values in cursor]
    hits = [_hit(rank, row) for rank, row in enumerate(rows, start=1)]
    # A claim is found by its words whatever became of it: how it stands goes with it.
    claims = [hit for hit in hits if hit["kind"] == "claim"]
    standing = claim_standing(db, (hit["ref"] for hit in claims), END_OF_TIME)
    for hit in claims:
        hit.update(standing.get(hit["ref"], {}))
    return {"query": text, "terms": list(query.terms), "incident": incident, "hits": hits}


def _hit(rank: int, row: dict[str, Any]) -> dict[str, Any]:
    hit: dict[str, Any] = {
        "rank": rank,
        "kind": row["kind"],
        "ref": row["ref"],
        "incident": row["incident"],
        "field": row["field"],
        "exact_phrase": bool(row["exact"]),
        "snippet": row["snippet"],
        "original": row["original"],
        "highlights": original_spans(row["original"], row["marked"]),
    }
    if row["kind"] == "claim":
        hit |= {"fact": row["fact"], "claimant": row["claimant"], "report": row["report"]}
    return hit


def original_spans(original: str, marked: str) -> list[list[int]]:
    """Where the matches marked in the normalized body fall in the original text.

    Normalization only drops characters (tashkeel, tatweel) and maps the others
    one to one, so each kept character has an offset in the original; a match
    ends after the diacritics of its last letter. Returns ``[]`` if the
    original's normalized form is not the marked body (nothing to map safely).
    """
    offsets: list[int] = []  # offsets[i] = where body character i sits in the original
    for index, char in enumerate(original):
        offsets.extend([index] * len(normalize(char)))
    body = marked.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")
    if len(offsets) != len(body) or normalize(original) != body:
        return []
    spans: list[list[int]] = []
    removed = 0  # marker characters before the current match
    for match in _MARKED.finditer(marked):
        start = match.start() - removed
        end = start + len(match.group(1))
        removed += 2
        if end == start:
            continue
        stop = offsets[end - 1] + 1
        while stop < len(original) and not normalize(original[stop]):
            stop += 1
        spans.append([offsets[start], stop])
    return spans
