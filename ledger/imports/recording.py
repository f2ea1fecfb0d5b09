"""Recording an import's records, a page at a time, inside its one write transaction.

Two ways, one set of rules: ``Batch`` records a spooled input in dependency order
(``Ledger.record_input``, ``Ledger.record_spooled``), ``Stream`` records validated
pages as they arrive. Each checks its records with the rules of ``imports.rules``
(``Checks``) and turns them into events; a page none of whose records a rule could
refuse or change goes in straight from its columns (``_all_new``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING

from incident_ledger.ledger.domain import creation_leaf
from incident_ledger.ledger.errors import BadInputError, ConflictError
from incident_ledger.ledger.imports.preparing import PreparedPage, column_events, creation_place
from incident_ledger.ledger.imports.preparing import pages as prepared_pages
from incident_ledger.ledger.imports.rules import KNOWN_LIMIT, SMALL_STORE, Checks, Outcome, queue
from incident_ledger.ledger.imports.spool import Spool, Spooled
from incident_ledger.ledger.incident_chains import Concerns
from incident_ledger.ledger.merkle import leaf_hash
from incident_ledger.ledger.stores.recorder import Appender, NewRow

if TYPE_CHECKING:
    from incident_ledger.ledger.application import Ledger
    from incident_ledger.ledger.imports.kinds import NewEvents
    from incident_ledger.ledger.imports.streaming import ValidatedPage

__all__ = ["KNOWN_LIMIT", "Batch", "Outcome", "Stream"]


class Batch(Checks):
    """Checks spooled records against the input and the store, a page at a time, in
    dependency order (``Spool.in_order``).

    For each page the store is asked once which of its ids and references exist;
    new records become creation events directly (no aggregate is loaded or
    built), so a page costs the same whatever the ledger's size.
    """

    def __init__(
        self,
        ledger: Ledger,
        spool: Spool,
        appender: Appender,
        timestamp: datetime,
        locate: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__(ledger, appender, timestamp, locate=locate)
        self.spool = spool
        self.done = 0
        self.stored_creations: dict[str, tuple[str, bytes]] = {}
        """The page's records already in the store: aggregate id → creation (topic, state)."""

    def record(self, progress: Callable[[int, int], None] | None = None) -> Outcome:
        """Record every record of the spool; ``progress(done, total)`` after each page."""
        for page in prepared_pages(self.spool, self.recorded):
            self.add_page(page)
            if progress is not None:
                progress(self.done, self.spool.count)
        self.outcome.events += self.facts.backfilled
        self.facts.backfilled = 0
        return self.outcome

    def add_page(self, page: list[Spooled] | PreparedPage) -> None:
        """Check a page of records, then append their events."""
        if not len(page):
            return
        if isinstance(page, PreparedPage):
            ids, kinds, ref_lists = page.aggregate_ids, page.kinds, page.ref_lists
        else:
            ids, kinds = [s.aggregate_id for s in page], [s.kind for s in page]
            ref_lists = [s.ref_ids for s in page]
        self._read_corrected_claims(kinds, ref_lists)
        refs = set(chain.from_iterable(ref_lists))
        stored = self.appender.view.existing(sorted(refs.union(ids) - self.known))
        self.known.update(stored)
        present = [aggregate_id for aggregate_id in ids if aggregate_id in stored]
        self.stored_creations = self.appender.view.creation_states(present) if present else {}
        events: list[NewRow] = []
        digests: list[bytes] = []
        if isinstance(page, PreparedPage):
            if not present and self._all_new(page, refs):
                seqs = page.seqs
                first = self.facts.check_page(
                    kinds,
                    page.fact_ids,
                    page.sigs,
                    ids,
                    lambda i: self.spool.get(seqs[i]).where,
                )
                events, digests, _ = column_events(self.ledger, page, first)
                self.done += len(page)
                self._count_all(page.kinds)
            else:
                self._add_prepared(page, stored, events, digests)
        else:
            for spooled in page:
                self._add(spooled, stored, events, digests)
        self._append(events, digests)

    def _all_new(self, page: PreparedPage, refs: set[str]) -> bool:
        """Whether every record of a page (none of them in the store) goes in from its
        columns: none is a correction or a fact's declaration, none has an id used twice
        in this input, and everything they reference is in the store."""
        return (
            "correction" not in page.kinds
            and "retraction" not in page.kinds
            and "fact" not in page.kinds
            and self.spool.repeated.isdisjoint(page.aggregate_ids)
            and self.known.issuperset(refs)
        )

    def _add_prepared(
        self, page: PreparedPage, stored: set[str], events: list[NewRow], digests: list[bytes]
    ) -> None:
        """A prepared page: new records go in from the columns (a reference the store
        lacks must be in this input); a record already stored, used twice or correcting
        a claim is read from the spool and goes the usual way (``_add``)."""
        row_from_leaf = self.ledger.leaf_mapper.row_from_leaf
        repeated, known, ref_lists = self.spool.repeated, self.known, page.ref_lists
        leaves, ends, all_digests = page.leaves, page.ends, page.digests
        start = 0
        for i, aggregate_id in enumerate(page.aggregate_ids):
            kind, end = page.kinds[i], ends[i]
            special = kind in {"correction", "retraction", "fact"}
            if aggregate_id in stored or aggregate_id in repeated or special:
                self._add(self.spool.get(page.seqs[i]), stored, events, digests)
            else:
                if not known.issuperset(ref_lists[i]):
                    self._require_in_input(ref_lists[i], page.seqs[i])
                fact, sig = page.fact_ids[i], page.sigs[i]
                if fact and (fact, sig) not in self.facts.fitting:
                    where = self.spool.get(page.seqs[i]).where  # read only when checked
                    record_id = aggregate_id.split(":", 1)[1]
                    queue(self.facts.check(fact, sig, where, record_id), events, digests)
                self.done += 1
                events.append(row_from_leaf(aggregate_id, 1, page.topics[i], leaves[start:end]))
                digests.append(all_digests[32 * i : 32 * i + 32])
                self._count(kind)
            start = end

    def _add(
        self, spooled: Spooled, stored: set[str], events: list[NewRow], digests: list[bytes]
    ) -> None:
        """Check one record against the input and the store; queue its events."""
        self.done += 1
        if spooled.kind != "fact" and self._is_repeat(spooled, stored):
            return
        if not self.known.issuperset(spooled.ref_ids):
            self._require_in_input(spooled.ref_ids, spooled)
        if self.check_kind(spooled, events, digests):
            return
        aggregate_id, topic, leaf = creation_leaf(
            spooled.kind, spooled.record_id, spooled.data, self.recorded
        )
        events.append(self.ledger.leaf_mapper.row_from_leaf(aggregate_id, 1, topic, leaf))
        digests.append(leaf_hash(leaf))
        if spooled.kind == "correction":
            self.correct(spooled, events, digests)
        elif spooled.kind == "retraction":
            self.retract(spooled, events, digests)
        self._count(spooled.kind)

    def _is_repeat(self, spooled: Spooled, stored: set[str]) -> bool:
        """Whether a record's id is already used, earlier in this input or in the store
        (``check_reuse`` then says whether it may be)."""
        aggregate_id = spooled.aggregate_id
        earlier = None
        if aggregate_id in self.spool.repeated:
            first = self.spool.first(aggregate_id)
            if first is not None and first.seq != spooled.seq:
                earlier = first
        if earlier is None and aggregate_id not in stored:
            return False
        self.check_reuse(spooled, earlier, self.stored_creations.get(aggregate_id))
        return True

    def _require_in_input(self, ref_ids: list[str], spooled: Spooled | int) -> None:
        """``require_references`` of a spooled record (or its number in the spool)."""
        spool = self.spool
        self.require_references(
            ref_ids,
            spool.holds,
            lambda: spool.get(spooled) if isinstance(spooled, int) else spooled,
        )

    def _in_input(self, aggregate_id: str) -> Spooled | None:
        return self.spool.first(aggregate_id)


class Stream(Checks):
    """Records an input's validated pages in file order as they arrive.

    Each page is checked against the store once, as a spooled page is (``Batch``).
    A record whose references are not recorded yet waits in a spool, and so does
    every later record under its id; ``finish`` records those in dependency order.
    A record the ledger refuses stops the recording, but not the validation: a
    bad line later in the input is the error reported, as it would be had every
    line been validated first.
    """

    def __init__(
        self,
        ledger: Ledger,
        appender: Appender,
        locate: Callable[[str], str | None] | None = None,
    ) -> None:
        size = appender.view.size()
        empty = size == 0
        super().__init__(ledger, appender, ledger.clock(), store_empty=empty, locate=locate)
        self.waiting: Spool | None = None
        """The records that wait, in a scratch spool made when the first one does."""
        self.waiting_ids: set[str] = set()
        self.failure: BadInputError | ConflictError | None = None
        self._page: ValidatedPage | None = None
        self._in_page: dict[str, int] = {}
        self.known_is_all = size <= SMALL_STORE
        if self.known_is_all and size:  # a new ledger holds its first member: read its ids
            self.known.update(row[1] for row in appender.view.event_rows(0, size))

    def add_page(self, page: ValidatedPage) -> None:
        """Check a page of records, then append their events (unless recording stopped)."""
        if self.failure is not None or not len(page):
            return
        try:
            self._add_page(page.stamped(self.recorded))
        except (BadInputError, ConflictError) as error:
            self.failure = error
        finally:
            self._page, self._in_page = None, {}

    def finish(self, progress: Callable[[int, int], None] | None = None) -> Outcome:
        """Record the records that waited, or raise why recording stopped."""
        if self.failure is not None:
            raise self.failure
        if self.waiting is not None:
            batch = Batch(self.ledger, self.waiting, self.appender, self.timestamp, self.locate)
            batch.corrected, batch.outcome, batch.facts = self.corrected, self.outcome, self.facts
            batch.retracted = self.retracted
            batch.record(progress)
        self.outcome.events += self.facts.backfilled
        self.facts.backfilled = 0
        return self.outcome

    def close(self) -> None:
        """Drop the spool of waiting records."""
        if self.waiting is not None:
            self.waiting.close()

    def _add_page(self, page: ValidatedPage) -> None:
        ids = page.aggregate_ids
        joined = ";".join(page.ref_ids)
        refs = set(joined.split(";"))
        refs.discard("")
        view, known = self.appender.view, self.known
        if not self.known_is_all:
            known.update(self.stored_among(refs.union(ids) - known))
        present = [] if known.isdisjoint(ids) else [i for i in ids if i in known]
        self.page_claims = {}
        ending = [i for i, kind in enumerate(page.kinds) if kind in ("correction", "retraction")]
        if ending:  # the references of its ends only: splitting every record's costs more
            self._read_corrected_claims(
                [page.kinds[i] for i in ending], [page.ref_ids[i].split(";") for i in ending]
            )
        events: list[NewRow] = []
        digests: list[bytes] = []
        if self._all_new(page, refs, present, joined):
            wheres = page.wheres
            first = self.facts.check_page(
                page.kinds, page.fact_ids, page.sigs, ids, lambda i: wheres[i], page.sig_places
            )
            events, digests, concerns = column_events(self.ledger, page, first)
            known.update(ids)
            self.remember_published(page.kinds, page.record_ids, page.datas)
            self._count_all(page.kinds)
            if ending:
                events, digests, concerns = self._with_supersedes(
                    page, (events, digests, concerns), first
                )
            made = {**self.ended_incidents, **page.claims_made}  # claims the ends name too
            self._append(events, digests, (concerns, made))
            return
        creations = view.creation_states(present) if present else {}
        self._add_records(page, creations, events, digests)
        self._append(events, digests)

    def _all_new(
        self, page: ValidatedPage, refs: set[str], present: list[str], joined: str
    ) -> bool:
        """Whether every record of a page goes in from its columns: none is a fact's
        declaration or under an id already recorded, waiting, or used twice in the page,
        and each references only what is recorded or comes earlier in the page
        (``refs``: all they reference; ``joined``: each record's ``ref_ids`` joined by
        ``;``, in page order)."""
        ids = page.aggregate_ids
        if present or len(set(ids)) != len(ids) or not self.waiting_ids.isdisjoint(ids):
            return False
        if "fact" in page.kinds:
            return False
        unknown = refs.difference(self.known)
        if not unknown:
            return True
        position = {aggregate_id: i for i, aggregate_id in enumerate(ids)}
        return unknown.issubset(position) and page.made_before_cited(unknown, position, joined)

    def _with_supersedes(
        self,
        page: ValidatedPage,
        made: tuple[list[NewRow], list[bytes], Concerns],
        before: list[tuple[int, NewEvents]],
    ) -> tuple[list[NewRow], list[bytes], Concerns]:
        """A page's creation events (``made`` by ``column_events`` with ``before``) with,
        after each correction's or retraction's, the event by which it ends its claim."""
        events, digests, concerns = made
        self._page = page
        self._in_page = {aggregate_id: i for i, aggregate_id in enumerate(page.aggregate_ids)}
        merged: list[NewRow] = []
        merged_digests: list[bytes] = []
        merged_concerns: Concerns = []
        start, kinds, place = 0, page.kinds, creation_place(before)
        for i in [i for i, kind in enumerate(kinds) if kind in ("correction", "retraction")]:
            at = place(i)
            merged += events[start : at + 1]
            merged_digests += digests[start : at + 1]
            merged_concerns += concerns[start : at + 1]
            end = self.correct if kinds[i] == "correction" else self.retract
            end(page.spooled(i), merged, merged_digests)
            merged_concerns += [None] * (len(merged) - len(merged_concerns))
            start = at + 1
        return (
            merged + events[start:],
            merged_digests + digests[start:],
            merged_concerns + concerns[start:],
        )

    def _add_records(
        self,
        page: ValidatedPage,
        creations: dict[str, tuple[str, bytes]],
        events: list[NewRow],
        digests: list[bytes],
    ) -> None:
        """A page record by record: each new one goes in from the columns unless it must
        wait; one under an id already recorded must be that very record."""
        row_from_leaf = self.ledger.leaf_mapper.row_from_leaf
        known, waiting, in_page, ref_lists = (
            self.known,
            self.waiting_ids,
            self._in_page,
            page.ref_lists,
        )
        self._page = page
        leaves, ends, all_digests = page.leaves, page.ends, page.digests
        start = 0
        for i, aggregate_id in enumerate(page.aggregate_ids):
            end = ends[i]
            kind = page.kinds[i]
            if aggregate_id in waiting:
                self._wait(page, i)
            elif aggregate_id in known and kind != "fact":
                self._repeat(page, i, creations.get(aggregate_id))
            elif not known.issuperset(ref_lists[i]):
                self._wait(page, i)
            elif self.check_kind(page.spooled(i), events, digests):
                pass
            else:
                events.append(row_from_leaf(aggregate_id, 1, page.topics[i], leaves[start:end]))
                digests.append(all_digests[32 * i : 32 * i + 32])
                if kind == "correction":
                    self.correct(page.spooled(i), events, digests)
                elif kind == "retraction":
                    self.retract(page.spooled(i), events, digests)
                known.add(aggregate_id)
                in_page[aggregate_id] = i
                self._count(kind)
            start = end

    def _wait(self, page: ValidatedPage, i: int) -> None:
        if self.waiting is None:
            self.waiting = Spool()
        self.waiting.add_row(page.row(i))
        self.waiting_ids.add(page.aggregate_ids[i])

    def _repeat(self, page: ValidatedPage, i: int, found: tuple[str, bytes] | None) -> None:
        """A record under an id already recorded: ``check_reuse`` against the record of
        the page that used it first, else the store's."""
        spooled = page.spooled(i)
        earlier = self._in_page.get(spooled.aggregate_id)
        self.check_reuse(spooled, None if earlier is None else page.spooled(earlier), found)

    def _in_input(self, aggregate_id: str) -> Spooled | None:
        j = self._in_page.get(aggregate_id)
        return None if j is None or self._page is None else self._page.spooled(j)
