"""Damaging SQLite files the way disks and careless copies do, for the fault tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_INTERIOR_TABLE, _LEAF_TABLE = 0x05, 0x0D


def leaf_page_in_the_middle(path: Path, table: str) -> tuple[int, int]:
    """(page number, first rowid) of the leaf page of ``table`` that holds the rows in the
    middle of its b-tree, found by walking the b-tree from its root page (SQLite's file
    format, section 1.6) so the test needs no ``dbstat`` table."""
    with sqlite3.connect(path) as connection:
        root = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    data = path.read_bytes()
    page = root
    while True:
        offset = (page - 1) * page_size
        header = offset + (100 if page == 1 else 0)
        kind = data[header]
        cells = int.from_bytes(data[header + 3 : header + 5], "big")
        if kind == _LEAF_TABLE:
            first_cell = offset + int.from_bytes(data[header + 8 : header + 10], "big")
            _, size_length = _varint(data, first_cell)
            rowid, _ = _varint(data, first_cell + size_length)
            return page, rowid
        if kind != _INTERIOR_TABLE or cells == 0:
            raise ValueError(f"page {page} of {path} is not a table b-tree page")
        pointer = header + 12 + 2 * (cells // 2)
        cell = offset + int.from_bytes(data[pointer : pointer + 2], "big")
        page = int.from_bytes(data[cell : cell + 4], "big")


def overwrite_page(path: Path, page: int, fill: bytes = b"\x00") -> None:
    """Overwrite one page of a database file, as a bad sector or a torn write would."""
    with sqlite3.connect(path) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(fill * page_size)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian variable-length integer at ``at``: (value, bytes used)."""
    value = 0
    for used in range(8):
        byte = data[at + used]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, used + 1
    return (value << 8) | data[at + 8], 9
