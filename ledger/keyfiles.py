"""Reading a key file — the ledger's signing key, or a verifier key given to check an
export — with one line for whatever is wrong with it."""

from __future__ import annotations

from pathlib import Path

from incident_ledger.ledger.errors import LedgerError, NotFoundError


def read_key_file(path: Path, what: str, failure: type[LedgerError], missing: str) -> str:
    """The text of a key file, stripped (keys are ASCII). A missing file raises
    ``NotFoundError(missing)``; one that cannot be read (a folder, no permission) or holds
    something else than text (random bytes) raises ``failure``, naming it as ``what``."""
    try:
        return path.read_bytes().decode("ascii").strip()
    except FileNotFoundError:
        raise NotFoundError(missing) from None
    except OSError as error:
        raise failure(f"cannot read {what} {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise failure(f"{what} {path} is not a key: it is not text") from None
