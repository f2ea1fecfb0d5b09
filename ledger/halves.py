"""Validating a large import file on two cores.

Validation — strict JSON, then the pydantic models — is about half of an
import's time, and each line is validated on its own. So a large file is split
at the line break nearest its middle: a forked child validates the second half
into a spool file of its own while this process validates the first half into
the import's spool, and the child's rows are then appended in one
``INSERT … SELECT``. Line numbers are the file's, and the first bad line of the
file is still the one reported: an error in the first half wins over one in
the second. Should the helper fail, this process validates the second half
itself. Where fork is unavailable, on one core, for small files, and for
files with carriage returns (whose line breaks text mode counts differently),
the file is validated in one pass as before.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ledger.errors import BadInputError
from ledger.forking import Helper, two_cores
from ledger.importing import spool_lines
from ledger.spool import Spool

SPLIT_MIN_BYTES = 8_000_000
"""Files smaller than this are validated in one process: a fork would not pay for itself."""

_CHUNK = 1 << 20


def spool_file(path: Path, spool: Spool, progress: Callable[[int], None] | None = None) -> None:
    """Validate a JSON Lines file into the spool, in two halves at once when it pays.

    Raises what one pass would: ``BadInputError`` for the first bad line,
    ``UnicodeDecodeError`` for text that is not UTF-8.
    """
    split = _split_point(path) if two_cores() else None
    if split is None:
        with path.open(encoding="utf-8") as handle:
            spool_lines(handle, spool, progress=progress)
        return
    offset, first_line = split
    with tempfile.TemporaryDirectory(prefix="ledger-import-") as scratch:
        half = Path(scratch) / "second-half.db"
        with Helper(_validate_second_half, path, offset, first_line, half) as helper:
            scaled = _scaled(progress, path.stat().st_size / offset)
            spool_lines(_first_half(path, offset), spool, progress=scaled)  # its error wins
            done, outcome = helper.result()
        kind, message, count = outcome if done else ("stopped", "", 0)
        if kind == "input":
            raise BadInputError(message)
        if kind == "encoding":
            raise UnicodeDecodeError("utf-8", b"", 0, 1, message)
        if kind == "ok":
            spool.append_spool(half, count)
            return
    # The helper stopped or failed unexpectedly: validate the second half here.
    spool_lines(_second_half(path, offset), spool, first_line=first_line)


def _split_point(path: Path) -> tuple[int, int] | None:
    """(byte offset of the second half, its first line number), or None to use one pass."""
    try:
        size = path.stat().st_size
    except OSError:
        return None  # reported when the file is opened
    if size < SPLIT_MIN_BYTES:
        return None
    lines_before = 0
    with path.open("rb") as handle:
        while handle.tell() < size // 2:
            chunk = handle.read(min(_CHUNK, size // 2 - handle.tell()))
            if not chunk or b"\r" in chunk:  # shrunk since measured, or carriage returns
                return None
            lines_before += chunk.count(b"\n")
        rest = handle.read(_CHUNK)
        if b"\r" in rest:
            return None
        newline = rest.find(b"\n")
        if newline < 0 or size // 2 + newline + 1 >= size:
            return None
    return size // 2 + newline + 1, lines_before + 2


def _first_half(path: Path, end: int) -> Iterator[str]:
    """The lines before byte ``end``, decoded (the half holds no carriage return)."""
    with path.open("rb") as handle:
        position = 0
        for raw in handle:
            if position >= end:
                return
            position += len(raw)
            yield raw.decode("utf-8")


def _second_half(path: Path, offset: int) -> Iterator[str]:
    """The lines from byte ``offset`` on, decoded as a text file's are."""
    with path.open("rb") as raw:
        raw.seek(offset)
        yield from io.TextIOWrapper(raw, encoding="utf-8")


def _validate_second_half(
    path: Path, offset: int, first_line: int, half: Path
) -> tuple[str, str, int]:
    """The helper's work: validate from ``offset`` into its own spool; say how it went."""
    try:
        spool = Spool(path=half)
        spool_lines(_second_half(path, offset), spool, first_line=first_line)
        spool.commit()
        spool.close()
        return ("ok", "", spool.count)
    except BadInputError as error:
        return ("input", str(error), 0)
    except UnicodeDecodeError as error:
        return ("encoding", str(error), 0)
    except Exception as error:  # the parent then validates this half itself
        return ("error", f"cannot validate the import: {error}", 0)


def _scaled(progress: Callable[[int], None] | None, factor: float) -> Callable[[int], None] | None:
    """Report one half's progress as the whole file's: the halves run side by side."""
    if progress is None:
        return None
    report = progress

    def advance(size: int) -> None:
        report(int(size * factor))

    return advance
