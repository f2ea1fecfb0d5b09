"""Which ids a large import may find in the store, without asking it: a Bloom filter.

An import checks each page's ids and references against the store (``LogView.existing``).
While the ids it knows are few it keeps them all (``Checks.known``), and a store that was
small when the import began is then known whole, so the store need not be asked at all
(``recording.Stream.known_is_all``). Past ``KNOWN_LIMIT`` ids that set is dropped, to
bound memory; from then on this filter stands in for it: it holds every id of the store
as the import began and every id the import has appended since, in a fixed number of
bits. An id it does not hold is surely not in the store; the few it holds by chance (one in
sixty at a million ids) are asked of the store as before, so the answers are the store's.

Written here because the standard library has no Bloom filter, and the packages that do
are either pure Python with several hash functions a probe (slower than asking the store)
or compiled extensions this project would depend on for one set of bits. One probe a
key, on the hash Python keeps on every string, is all this needs.
"""

from __future__ import annotations

from collections.abc import Iterable

BITS = 1 << 26
"""Bits of the filter (8 MiB): about one chance in sixty that an id is held by chance
at a million ids, one in thirty at two million."""


class IdFilter:
    """A set of ids that may answer "perhaps" for one it was never given, never "no" for
    one it was."""

    def __init__(self, ids: Iterable[str] = (), bits: int | None = None) -> None:
        bits = BITS if bits is None else bits
        if bits < 8 or bits & (bits - 1):
            raise ValueError("the filter's size must be a power of two, at least 8")
        self._bits = bytearray(bits >> 3)
        self._mask = bits - 1
        self.add_all(ids)

    def add_all(self, ids: Iterable[str]) -> None:
        """Hold these ids."""
        bits, mask = self._bits, self._mask
        for key in ids:
            at = hash(key) & mask
            bits[at >> 3] |= 1 << (at & 7)

    def perhaps(self, ids: Iterable[str]) -> list[str]:
        """Those of these ids the filter may hold: every one it was given, and a few more."""
        bits, mask = self._bits, self._mask
        held = []
        for key in ids:
            at = hash(key) & mask
            if bits[at >> 3] & (1 << (at & 7)):
                held.append(key)
        return held
